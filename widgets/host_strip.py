"""The host status strip: one chip per control host — status, kind, domain count, stale age."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import Static

from hvdeck.backends.model import DomainState, HostSnapshot, HostStatus

from . import format as fmt

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

    def _running_count(self, snapshot: HostSnapshot) -> int:
        cached = self._running_counts.get(snapshot.host)
        if cached is None or cached[0] is not snapshot:
            cached = (snapshot, sum(1 for d in snapshot.domains if d.state is DomainState.RUNNING))
            self._running_counts[snapshot.host] = cached
        return cached[1]

    def show(self, snapshots: Iterable[HostSnapshot], now: float) -> None:
        text = Text(no_wrap=False, overflow="fold")
        counts: dict[HostStatus, int] = {}
        styles = {status: self.get_component_rich_style(name, partial=True) for status, name in _COMPONENT.items()}
        for snapshot in snapshots:
            counts[snapshot.status] = counts.get(snapshot.status, 0) + 1
            if len(text):
                text.append("  ")
            text.append(f"{_MARK[snapshot.status]} {chip(snapshot, now, self._running_count(snapshot))}",
                        styles[snapshot.status])
        summary = ", ".join(f"{n} {status.value}" for status, n in counts.items())
        self.tooltip = Text(f"hosts: {summary}") if summary else None
        self.update(text)
