"""Asks where to log a console session, and whether as plain text or raw bytes."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Static

from hvdeck.widgets.format import visible

from .base import GuardedModal


class ConsoleLogScreen(GuardedModal[tuple[Path, bool] | None]):
    """Dismisses with (file, raw) or None. The file is appended to (created 0600)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="console-log.cancel")]
    AUTO_FOCUS = "Input"

    DEFAULT_CSS = """
    ConsoleLogScreen { align: center middle; }
    ConsoleLogScreen > #console-log-box {
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ConsoleLogScreen #console-log-title { text-style: bold; padding: 1 0; width: 100%; }
    ConsoleLogScreen #console-log-hint { color: $text-muted; }
    ConsoleLogScreen #console-log-error { color: $error; height: auto; }
    ConsoleLogScreen #console-log-buttons { height: 3; align-horizontal: right; }
    ConsoleLogScreen #console-log-buttons Button { margin-left: 2; }
    """

    def __init__(self, what: str, default: Path) -> None:
        super().__init__()
        self.what = what
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="console-log-box"):
            yield Label(Text(f"Log the console of {visible(self.what)} to a file"), id="console-log-title")
            yield Input(str(self.default), id="console-log-path")
            yield Checkbox("raw: every byte as received (escape sequences kept); else plain text", id="console-log-raw")
            yield Static("The file is created readable by you only and appended to. F2 again stops logging.",
                         id="console-log-hint")
            yield Static("", id="console-log-error")
            with Horizontal(id="console-log-buttons"):
                yield Button("Cancel", id="console-log-cancel")
                yield Button("Log", id="console-log-ok", variant="primary")

    @on(Input.Submitted)
    @on(Button.Pressed, "#console-log-ok")
    def _ok(self) -> None:
        text = self.query_one("#console-log-path", Input).value.strip()
        if not text:
            self.query_one("#console-log-error", Static).update("name a file")
            return
        path = Path(text).expanduser()
        if path.is_dir():
            self.query_one("#console-log-error", Static).update(Text(f"{visible(str(path))} is a directory"))
            return
        self.dismiss((path, self.query_one("#console-log-raw", Checkbox).value))

    @on(Button.Pressed, "#console-log-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
