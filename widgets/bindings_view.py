"""A domain's bindings laid out like `ldm list-bindings`: CPU, MEMORY, DISK, NETWORK, CONSOLE.

Each section is a bold title over an indented table, the way ldm prints them, so an operator who
reads `ldm list-bindings` every day finds things where they expect them.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from hvdeck.backends.model import Bindings

from . import format as fmt


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, padding=(0, 3, 0, 0),
                  show_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for row in rows:
        table.add_row(*row)
    return table


def section(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> RenderableType:
    body: RenderableType = _table(columns, rows) if rows else Text("(none)", style="dim")
    return Group(Text(title, style="bold"), Padding(body, (0, 0, 1, 4)))


def sections(b: Bindings) -> list[tuple[str, RenderableType]]:
    """(section id, renderable) for every section of a domain's bindings."""
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
    for extra in b.extra:
        out.append((extra.title.lower().replace(" ", "-"), section(extra.title, extra.columns, extra.rows)))
    return out


class BindingsView(VerticalScroll, can_focus=True):
    """Shows one `Bindings`; `show_message` replaces it with a line of text (loading, an error)."""

    DEFAULT_CSS = """
    BindingsView {
        padding: 0 1;
        & > Static { width: auto; min-width: 100%; }
        & > .bindings--message { color: $foreground-muted; }
        & > .bindings--error { color: $error; }
    }
    """

    def show(self, bindings: Bindings) -> None:
        with self.app.batch_update():
            self.remove_children()
            self.mount_all(Static(r, id=f"section-{sid}", classes="bindings--section")
                           for sid, r in sections(bindings))

    def show_message(self, text: str, *, error: bool = False) -> None:
        with self.app.batch_update():
            self.remove_children()
            self.mount(Static(text, classes="bindings--error" if error else "bindings--message"))
