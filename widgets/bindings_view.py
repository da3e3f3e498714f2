"""A domain's bindings laid out like `ldm list-bindings`: CPU, MEMORY, DISK, NETWORK, CONSOLE.

Each section is a bold title over an indented table, the way ldm prints them, so an operator who
reads `ldm list-bindings` every day finds things where they expect them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.console import RenderableType
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from hvdeck.backends.model import Bindings, Section

from . import format as fmt


def section(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Text:
    """A bold title over a table indented by four, columns three apart, as `ldm list-bindings` prints.

    Laid out here rather than by a rich Table so that a wide table keeps its full width (the view
    scrolls sideways) instead of being squeezed into the screen with ellipses. Every value is host text:
    it goes into a `Text` (never parsed as markup) with its controls made visible, and is padded by
    terminal cells, so that a CJK path keeps the columns after it aligned.
    """
    text = Text(no_wrap=True, end="")
    text.append(fmt.visible(title), style="bold")
    if not rows:
        text.append("\n    (none)\n", style="dim")
        return text
    header = [fmt.visible(c) for c in columns]
    cells = [[fmt.visible(str(c)) for c in row] + [""] * (len(columns) - len(row)) for row in rows]
    widths = [max([fmt.cells(col)] + [fmt.cells(row[i]) for row in cells]) for i, col in enumerate(header)]

    def line(values: Sequence[str]) -> str:
        return ("    " + "   ".join(fmt.pad(v, w) for v, w in zip(values, widths))).rstrip()

    text.append("\n" + line(header), style="bold")
    for row in cells:
        text.append("\n" + line(row))
    text.append("\n")
    return text


def _id(title: str) -> str:
    """A widget id from a section title: `DOMAIN INFO` -> `domain-info`."""
    return re.sub(r"[^a-z0-9_-]+", "-", title.lower()).strip("-") or "section"


def sections(b: Bindings) -> list[tuple[str, RenderableType]]:
    """(section id, renderable) for every section of a domain's bindings.

    A backend's own table with the same title as a common one (LDoms' MEMORY with RA/PA, NETWORK with
    the vnet's service and id) replaces the common one, in the backend's order, as its tool prints it.
    """
    native = {extra.title for extra in b.extra}
    out: list[tuple[str, RenderableType]] = []
    pins = {p.vcpu: p.cpuset for p in b.cpu.pinning}
    cpu_rows = [("VCPUS", "-" if b.cpu.vcpus is None else str(b.cpu.vcpus),
                 "-" if b.cpu.max_vcpus is None else str(b.cpu.max_vcpus),
                 "pinned" if pins else "floating")]
    out.append(("cpu", section("CPU", ("", "CURRENT", "MAX", "PLACEMENT"), cpu_rows)))
    if pins:
        out.append(("pinning", section("VCPU PINNING", ("VID", "CPUSET"),
                                       [(str(v), c) for v, c in sorted(pins.items())])))
    out.append(("memory", section("MEMORY", ("CURRENT", "MAX"),
                                  [(fmt.size(b.memory.current_bytes), fmt.size(b.memory.max_bytes))])))
    out.append(("disk", section("DISK", ("TARGET", "DEVICE", "BUS", "TYPE", "SOURCE", "FORMAT", "MODE"), [
        (d.target, d.device, d.bus or "-", d.source_type or "-", d.source or "-", d.format or "-",
         "ro" if d.read_only else "rw") for d in b.disks])))
    out.append(("network", section("NETWORK", ("MAC", "TYPE", "SOURCE", "MODEL", "TARGET"), [
        (n.mac or "-", n.source_type or "-", n.source or "-", n.model or "-", n.target or "-")
        for n in b.nics])))
    out.append(("console", section("CONSOLE", ("DEVICE", "TYPE", "TARGET", "PATH"), [
        (c.kind, c.type or "-", c.target or "-", c.path or "-") for c in b.consoles])))
    overridden = {t.lower().replace(" ", "-") for t in native}
    if "vcpu" in overridden:  # a native per-vCPU table (LDoms VID/PID/CID) says more than the pinning
        overridden.add("pinning")
    out = [(sid, r) for sid, r in out if sid not in overridden]
    out += tables(b.extra)
    return out


def tables(extra: tuple[Section, ...]) -> list[tuple[str, RenderableType]]:
    return [(_id(t.title), section(t.title, t.columns, t.rows)) for t in extra]


class BindingsView(VerticalScroll, can_focus=True):
    """Shows one `Bindings`; `show_message` replaces it with a line of text (loading, an error)."""

    DEFAULT_CSS = """
    BindingsView {
        padding: 0 1;
        overflow-x: auto;
        & > Static { width: auto; }
        & > .bindings--message { color: $foreground-muted; }
        & > .bindings--error { color: $error; }
    }
    """

    def show(self, bindings: Bindings) -> None:
        self._show(sections(bindings))

    def show_tables(self, extra: tuple[Section, ...]) -> None:
        """Any tables (a host's services, free resources) in the same layout."""
        self._show(tables(extra) or [("empty", Text("(nothing to show)", style="dim"))])

    def _show(self, parts: list[tuple[str, RenderableType]]) -> None:
        with self.app.batch_update():
            self.remove_children()
            seen: dict[str, int] = {}
            widgets = []
            for sid, renderable in parts:
                seen[sid] = seen.get(sid, 0) + 1
                unique = sid if seen[sid] == 1 else f"{sid}-{seen[sid]}"
                widget = Static(renderable, id=f"section-{unique}", classes="bindings--section")
                if isinstance(renderable, Text):  # as wide as its longest line: the view scrolls sideways
                    widget.styles.width = max((len(line) for line in renderable.plain.split("\n")), default=1)
                widgets.append(widget)
            self.mount_all(widgets)

    def show_message(self, text: str, *, error: bool = False) -> None:
        with self.app.batch_update():
            self.remove_children()
            self.mount(Static(text, classes="bindings--error" if error else "bindings--message"))
