"""The host status strip: one chip per control host — status, kind, domain count, stale age."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rich.text import Text
from textual.widgets import Static

from hvdeck.backends.model import DomainState, HostSnapshot, HostStatus

from . import format as fmt

#: lines the strip takes at most, and the cells kept on the last for "+480 more: 478 up, 2 stale"
LINES = 3
MORE_CELLS = 32
_MARK = {
    HostStatus.CONNECTING: "◌",
    HostStatus.UP: "●",
    HostStatus.STALE: "◐",
    HostStatus.DOWN: "○",
    HostStatus.ERROR: "✖",
}
_COMPONENT = {
    HostStatus.CONNECTING: "host-strip--connecting",
    HostStatus.UP: "host-strip--up",
    HostStatus.STALE: "host-strip--stale",
    HostStatus.DOWN: "host-strip--down",
    HostStatus.ERROR: "host-strip--error",
}


def chip(snapshot: HostSnapshot, now: float, running: int) -> str:
    """The words of one host's chip, e.g. ``kvm-a libvirt 6 (3 run)`` or ``lab2 stale 42s``, with any
    control character in the host's name or kind made visible (`format.visible`)."""
    if snapshot.status is HostStatus.UP:
        text = f"{snapshot.host} {snapshot.kind} {len(snapshot.domains)} ({running} run)"
    elif snapshot.status is HostStatus.STALE:
        since = fmt.age(now - snapshot.last_ok) if snapshot.last_ok is not None else "?"
        text = f"{snapshot.host} stale {since}"
    else:
        text = f"{snapshot.host} {snapshot.status.value}"
    if snapshot.read_only:
        text += " ro"
    return fmt.visible(text)


class HostStrip(Static):
    """Hosts in inventory order; problem hosts stand out. Call `show` with the latest snapshots."""

    COMPONENT_CLASSES = {
        "host-strip--up",
        "host-strip--stale",
        "host-strip--down",
        "host-strip--error",
        "host-strip--connecting",
    }
    """
    | Class | Description |
    | :- | :- |
    | `host-strip--<status>` | A host chip in that status. |
    """

    DEFAULT_CSS = """
    HostStrip {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $panel;
        & > .host-strip--up { color: $success; }
        & > .host-strip--stale { color: $warning; text-style: italic; }
        & > .host-strip--down { color: $error; }
        & > .host-strip--error { color: $error; text-style: bold; }
        & > .host-strip--connecting { color: $foreground-muted; }
    }
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        #: host -> (the snapshot counted, its running domains): recounted only for a new snapshot
        self._running_counts: dict[str, tuple[HostSnapshot, int]] = {}
        self._last_text: Text | None = None
        self._last_tooltip: str | None = None

    def _running_count(self, snapshot: HostSnapshot) -> int:
        cached = self._running_counts.get(snapshot.host)
        if cached is None or cached[0] is not snapshot:
            cached = (snapshot, sum(1 for d in snapshot.domains if d.state is DomainState.RUNNING))
            self._running_counts[snapshot.host] = cached
        return cached[1]

    def show(self, snapshots: Iterable[HostSnapshot], now: float) -> None:
        """Draw the chips that fit in the strip's three lines: hosts in trouble first (error, down, stale,
        connecting), then the others, each group in inventory order; the hosts left over are counted at
        the end ("+480 more: 478 up, 2 stale"). The cost follows what is shown, not the fleet's size: a
        fleet of 500 hosts draws the ~20 chips that fit."""
        width = max(20, (self.content_region.width or self.app.size.width or 80))
        styles = {status: self.get_component_rich_style(name, partial=True) for status, name in _COMPONENT.items()}
        counts: dict[HostStatus, int] = {}
        trouble: list[HostSnapshot] = []
        fine: list[HostSnapshot] = []
        for snapshot in snapshots:
            counts[snapshot.status] = counts.get(snapshot.status, 0) + 1
            (fine if snapshot.status is HostStatus.UP else trouble).append(snapshot)
        # laid out here, line by line: Rich would wrap at the spaces inside a chip ("kvm-a libvirt" / "6 (3 run)")
        text = Text(no_wrap=True, overflow="ellipsis")
        line, column, shown, total = 0, 0, 0, len(trouble) + len(fine)
        for snapshot in (*trouble, *fine):
            words = f"{_MARK[snapshot.status]} {fmt.visible(chip(snapshot, now, self._running_count(snapshot)))}"
            if fmt.cells(words) > width:
                words = fmt.fit(words, width).rstrip()
            need = fmt.cells(words) + (2 if column else 0)
            if column and column + need > width:
                if line == LINES - 1:
                    break
                line, column, need = line + 1, 0, fmt.cells(words)
                text.append("\n")
            # on the last line, keep room for the count of the hosts not shown, unless this is the last one
            reserve = 0 if shown == total - 1 or line < LINES - 1 else MORE_CELLS
            if line == LINES - 1 and column + need + reserve > width:
                break
            if column:
                text.append("  ")
            text.append(words, styles[snapshot.status])
            column += need
            shown += 1
        summary = ", ".join(f"{n} {status.value}" for status, n in counts.items())
        if shown < total:
            rest = Counter(s.status.value for s in (*trouble, *fine)[shown:])
            more = f"+{total - shown} more: " + ", ".join(f"{n} {k}" for k, n in rest.items())
            if column and column + 2 + fmt.cells(more) > width and line < LINES - 1:
                text.append("\n")
            elif column:
                text.append("  ")
            text.append(more, styles[HostStatus.CONNECTING])
        tooltip = f"hosts: {summary}" if summary else None
        if tooltip != self._last_tooltip:
            self._last_tooltip = tooltip
            self.tooltip = Text(tooltip) if tooltip else None
        if text != self._last_text:  # nothing to redraw when nothing changed
            self._last_text = text
            self.update(text)
