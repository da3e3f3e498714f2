"""The host screen: what a control host is and what it offers — its services and free resources."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from hvdeck.backends.model import HostSnapshot, HostStatus, Section
from hvdeck.widgets import format as fmt
from hvdeck.widgets.bindings_view import BindingsView

from .base import HvdeckFooter, HvdeckScreen


def host_text(snapshot: HostSnapshot, now: float) -> Text:
    info = snapshot.info
    v = fmt.visible  # every name, version, error and note here is host text
    text = Text()
    text.append(v(snapshot.host), style="bold")
    text.append(f"   {v(snapshot.kind)}")
    if info is not None and info.version:
        text.append(f" {v(info.version)}")
    if info is not None and info.hypervisor:
        text.append(f" · {v(info.hypervisor)}", style="dim")
    status_style = {HostStatus.UP: "green", HostStatus.STALE: "yellow"}.get(snapshot.status, "bold red")
    text.append(f"   {snapshot.status.value}", style=status_style)
    if snapshot.last_ok is not None:
        text.append(f" (last good poll {fmt.age(now - snapshot.last_ok)} ago)", style="dim")
    if snapshot.read_only:
        text.append("   read-only", style="yellow")
    states = Counter(d.state.value for d in snapshot.domains)
    text.append("\n" + (", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no domains"), style="dim")
    if info is not None and (info.cpus or info.memory_bytes):
        text.append(f" · {info.cpus or '?'} CPUs, {fmt.size(info.memory_bytes)} memory", style="dim")
    if snapshot.error:
        text.append(f"\n{v(snapshot.error, newlines=True)}", style="red")
    for note in info.notes if info is not None else ():
        text.append(f"\nnote: {v(note, newlines=True)}", style="yellow")
    return text


class HostScreen(HvdeckScreen):
    """One control host: what it is, its status (with the age of stale data and the error of a down
    one), and its services and free resources. An unknown host key declined earlier can be trusted
    from here (t)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="host.back"),
        Binding("ctrl+r", "reload", "Reload", id="host.reload", tooltip="Read the host's services again"),
        Binding("t", "trust", "Trust key", id="host.trust",
                tooltip="Show the host's unknown SSH key again, to trust it or not"),
        Binding("n", "create", "New guest", id="host.create",
                tooltip="Create a guest on this host (the plan is shown first)"),
        Binding("X", "xentop", "xentop", id="host.xentop", tooltip="This Xen dom0 as xentop shows it, live"),
    ]

    DEFAULT_CSS = """
    HostScreen #host-head { height: auto; padding: 0 1; background: $panel; }
    HostScreen #host-notice { height: auto; padding: 0 1; color: $error; display: none; }
    HostScreen #host-notice.-shown { display: block; }
    HostScreen BindingsView { height: 1fr; }
    """

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def compose(self) -> ComposeResult:
        yield Static(id="host-head")
        yield Static(id="host-notice")
        yield BindingsView(id="host-detail")
        yield HvdeckFooter()

    def on_mount(self) -> None:
        self.hvdeck.fleet_changed.subscribe(self, self._on_fleet_changed)
        self._show_head()
        self.query_one(BindingsView).show_message("reading the host's services and resources…")
        self.action_reload()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        snapshot = self.hvdeck.snapshots.get(self.host)
        if snapshot is not None and snapshot.status is not HostStatus.UP:  # the age of the data grows
            self._show_head()

    def _on_fleet_changed(self, snapshot: HostSnapshot) -> None:
        if snapshot.host == self.host:
            self._show_head()
            self.refresh_bindings()  # the trust key comes and goes with the host's key problem

    def _show_head(self) -> None:
        snapshot = self.hvdeck.snapshots.get(self.host)
        if snapshot is not None:
            self.query_one("#host-head", Static).update(host_text(snapshot, self.hvdeck.clock()))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "trust":
            return self.host in self.hvdeck.untrusted_hosts()
        if action == "xentop":
            snapshot = self.hvdeck.snapshots.get(self.host)
            return snapshot is not None and snapshot.kind == "xen"
        return True

    def action_xentop(self) -> None:
        self.hvdeck.open_xentop(self.host)

    def action_trust(self) -> None:
        self.hvdeck.ask_host_key(self.host)

    def action_create(self) -> None:
        self.hvdeck.open_create(self.host)

    def action_reload(self) -> None:
        self._load()

    @work(group="host-detail", exclusive=True, exit_on_error=False)
    async def _load(self) -> tuple[Section, ...]:
        return await self.hvdeck.load_host_detail(self.host)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "host-detail" and event.state is WorkerState.SUCCESS:
            self.query_one("#host-notice", Static).set_class(False, "-shown")
            self.query_one(BindingsView).show_tables(event.worker.result or ())

    def worker_failed(self, worker: Worker, text: str) -> bool:
        """The services could not be read: keep the last tables shown (if any) and say why."""
        if worker.group != "host-detail":
            return False
        view = self.query_one(BindingsView)
        if view.showing_sections:
            notice = self.query_one("#host-notice", Static)
            notice.update(fmt.host_text(f"Cannot read {self.host} again: {text}", newlines=True))
            notice.set_class(True, "-shown")
        else:
            view.show_message(fmt.host_text(f"cannot read {self.host}: {text}", newlines=True), error=True)
        return True
