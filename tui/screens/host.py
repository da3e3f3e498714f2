"""The host screen: what a control host is and what it offers — its services and free resources."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from hvdeck.backends.errors import describe
from hvdeck.backends.model import HostSnapshot, HostStatus, Section
from hvdeck.widgets import format as fmt
from hvdeck.widgets.bindings_view import BindingsView


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


class HostScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="host.back"),
        Binding("ctrl+r", "reload", "Reload", id="host.reload", tooltip="Read the host's services again"),
    ]

    DEFAULT_CSS = """
    HostScreen #host-head { height: auto; padding: 0 1; background: $panel; }
    HostScreen BindingsView { height: 1fr; }
    """

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def compose(self) -> ComposeResult:
        yield Static(id="host-head")
        yield BindingsView(id="host-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.app.fleet_changed.subscribe(self, self._on_fleet_changed)
        self._show_head()
        self.action_reload()

    def _on_fleet_changed(self, snapshot: HostSnapshot) -> None:
        if snapshot.host == self.host:
            self._show_head()

    def _show_head(self) -> None:
        snapshot = self.app.snapshots.get(self.host)
        if snapshot is not None:
            self.query_one("#host-head", Static).update(host_text(snapshot, self.app.clock()))

    def action_reload(self) -> None:
        self.query_one(BindingsView).show_message("reading the host's services and resources…")
        self._load()

    @work(group="host-detail", exclusive=True, exit_on_error=False)
    async def _load(self) -> tuple[Section, ...]:
        return await self.app.load_host_detail(self.host)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "host-detail":
            return
        view = self.query_one(BindingsView)
        if event.state is WorkerState.SUCCESS:
            view.show_tables(event.worker.result or ())
        elif event.state is WorkerState.ERROR:
            text = describe(event.worker.error)
            message = fmt.host_text(f"cannot read {self.host}: {text}", newlines=True)
            view.show_message(message, error=True)  # type: ignore[arg-type]  # a Text: never markup
