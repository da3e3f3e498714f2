"""The keys of the screen underneath, built from its active bindings (`?` or F1 anywhere).

Nothing here is a hard-coded list: the rows come from `Screen.active_bindings` of the screen the help
was opened on (the focused widget's keys, the screen's, the app's), so a key added to any BINDINGS, or
remapped through a keymap, shows up as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, Static

from .base import GuardedModal


@dataclass(frozen=True, slots=True)
class KeyRow:
    key: str  # as the footer shows it: "ctrl+r", "?", "F"
    description: str
    detail: str  # the binding's tooltip, or ""
    enabled: bool
    where: str  # the screen's name, the focused widget's ("fleet table"), or "everywhere"


def screen_name(screen: Screen) -> str:
    """``FleetScreen`` -> ``fleet``: how the help names the screen's own keys."""
    return type(screen).__name__.removesuffix("Screen").lower() or "screen"


def _words(name: str) -> str:
    """``FleetTable`` -> ``fleet table``."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def key_rows(screen: Screen) -> list[KeyRow]:
    """One row per key bound on ``screen`` now: the screen's own keys first, then those of the focused
    widget (its cursor keys), then the app's, which work everywhere; hvdeck's before Textual's generic ones.

    Keys that share an action and a description (``up`` and ``k``) are listed on one row; bindings
    without a description, and Textual's system bindings, are left out.
    """
    app = screen.app
    rows: dict[tuple[str, str, str], list[str]] = {}
    meta: dict[tuple[str, str, str], tuple[str, bool, int]] = {}
    for _key, active in screen.active_bindings.items():
        binding: Binding = active.binding
        if not binding.description or binding.system:
            continue
        node = active.node
        if node is app:
            where, rank = "everywhere", 2
        elif node is screen:
            where, rank = screen_name(screen), 0
        else:
            where, rank = _words(type(node).__name__), 1
        group = (where, binding.action, binding.description)
        keys = rows.setdefault(group, [])
        shown = app.get_key_display(binding)
        if shown not in keys:
            keys.append(shown)
        detail, enabled, _ = meta.get(group, ("", True, 0))
        meta[group] = (detail or active.tooltip or binding.tooltip, enabled and active.enabled,
                       rank * 2 + (binding.id is None))
    out = [(meta[group][2], KeyRow(" ".join(keys), group[2], meta[group][0], meta[group][1], group[0]))
           for group, keys in rows.items()]
    return [row for _rank, row in sorted(out, key=lambda pair: pair[0])]


def key_table(rows: list[KeyRow]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    table.add_column("KEY", no_wrap=True)
    table.add_column("DOES", ratio=1)
    where = None
    for row in rows:
        if row.where != where:
            where = row.where
            table.add_row(Text(where.upper(), style="bold"), "")
        does = Text(row.detail or row.description)
        if not row.enabled:
            does.append("  (not now)", style="italic")
        table.add_row(Text(row.key, style="bold"), does)
    return table


class HelpScreen(GuardedModal[None]):
    """The keys of ``screen`` (the one it was opened on). Esc, q, ? or F1 close it (`HvdeckApp.action_help`
    closes an open help instead of opening another)."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="help.close"),
        Binding("q", "dismiss(None)", "Close", show=False, id="help.close-q"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > #help-box {
        width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen #help-title { dock: top; text-style: bold; padding: 1 0; width: 100%; }
    HelpScreen #help-foot { dock: bottom; color: $text-muted; width: 100%; }
    """

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.rows = key_rows(screen)
        self.screen_name = screen_name(screen)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Label(f"Keys of the {self.screen_name} screen", id="help-title")
            yield Static(key_table(self.rows), id="help-keys")
            yield Label("↑↓ scroll · Esc close · Ctrl+P: every command", id="help-foot")

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()
