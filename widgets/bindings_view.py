"""A domain's bindings laid out like `ldm list-bindings`: CPU, MEMORY, DISK, NETWORK, CONSOLE.

Each section is a bold title over an indented table, the way ldm prints them, so an operator who
reads `ldm list-bindings` every day finds things where they expect them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.cells import cell_len
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
    overridden.update(r for extra in b.extra for r in extra.replaces)
    out = [(sid, r) for sid, r in out if sid not in overridden]
    out += tables(b.extra)
    return out


def tables(extra: tuple[Section, ...]) -> list[tuple[str, RenderableType]]:
    return [(_id(t.title), section(t.title, t.columns, t.rows)) for t in extra]


class BindingsView(VerticalScroll, can_focus=True):
    """Shows one `Bindings` (or any tables), one Static per section; `show_message` shows a line of text
    (loading, an error) instead.

    Every call updates the view in place, keyed by section id (``#section-cpu``): the Static of a section
    that is still there is updated, new sections are mounted where they belong, gone ones removed.
    Textual removes widgets asynchronously, so the changes are applied by one task at a time, each
    waiting for its removals before it mounts: reloads in quick succession (Ctrl+R held down, an
    action's refresh meeting a poll) never mount an id whose old widget is still being removed. The last
    call wins; the ones in between are skipped.
    """

    DEFAULT_CSS = """
    BindingsView {
        padding: 0 1;
        overflow-x: auto;
        & > Static { width: auto; }
        & > .bindings--message { color: $foreground-muted; }
        & > .bindings--error { color: $error; }
    }
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        #: the newest content asked for and not yet applied: (widget id, renderable, classes) per part
        self._wanted: list[tuple[str, RenderableType, str]] | None = None
        self._applying = False

    @property
    def showing_sections(self) -> bool:
        """Does the view show sections now (not a message, and nothing newer waiting)?"""
        return self._wanted is None and any(child.has_class("bindings--section") for child in self.children)

    def show(self, bindings: Bindings) -> None:
        self._show(sections(bindings))

    def show_tables(self, extra: tuple[Section, ...]) -> None:
        """Any tables (a host's services, free resources) in the same layout."""
        self._show(tables(extra) or [("empty", Text("(nothing to show)", style="dim"))])

    def show_message(self, text: str | Text, *, error: bool = False) -> None:
        """One line instead of the sections. A `str` is shown as it is (controls made visible), never
        parsed as markup: it may carry a host's error text."""
        body = text if isinstance(text, Text) else fmt.host_text(text, newlines=True)
        self._request([("bindings-message", body, "bindings--error" if error else "bindings--message")])

    def _show(self, parts: list[tuple[str, RenderableType]]) -> None:
        seen: dict[str, int] = {}
        wanted = []
        for sid, renderable in parts:
            seen[sid] = seen.get(sid, 0) + 1
            unique = sid if seen[sid] == 1 else f"{sid}-{seen[sid]}"
            wanted.append((f"section-{unique}", renderable, "bindings--section"))
        self._request(wanted)

    def _request(self, wanted: list[tuple[str, RenderableType, str]]) -> None:
        self._wanted = wanted
        if not self._applying:
            self._applying = True
            self.call_later(self._apply)

    async def _apply(self) -> None:
        try:
            while self._wanted is not None and self.is_attached:
                wanted, self._wanted = self._wanted, None
                await self._update(wanted)
        finally:
            self._applying = False

    async def _update(self, wanted: list[tuple[str, RenderableType, str]]) -> None:
        ids = {wid for wid, _, _ in wanted}
        current = {child.id: child for child in self.children if isinstance(child, Static)}
        gone = [child for wid, child in current.items() if wid not in ids]
        with self.app.batch_update():
            if gone:
                await self.remove_children(gone)
            previous: Static | None = None
            for wid, renderable, classes in wanted:
                widget = current.get(wid)
                if widget is None or widget in gone:
                    widget = Static(renderable, id=wid, classes=classes)
                    _fit_width(widget, renderable)
                    if previous is not None:
                        await self.mount(widget, after=previous)
                    elif self.children:
                        await self.mount(widget, before=0)
                    else:
                        await self.mount(widget)
                else:
                    widget.update(renderable)
                    widget.set_classes(classes)
                    _fit_width(widget, renderable)
                    siblings = list(self.children)
                    position = siblings.index(widget)
                    if previous is None and position != 0:
                        self.move_child(widget, before=0)
                    elif previous is not None and siblings.index(previous) != position - 1:
                        self.move_child(widget, after=previous)
                previous = widget


def _fit_width(widget: Static, renderable: RenderableType) -> None:
    """A section is as wide as its longest line (in terminal cells): the view scrolls sideways."""
    if isinstance(renderable, Text) and widget.has_class("bindings--section"):
        widget.styles.width = max((cell_len(line) for line in renderable.plain.split("\n")), default=1)
    else:
        widget.styles.width = None
