"""The domain screen: one guest's state, its recent CPU/net/disk history and its bindings."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from hvdeck.backends.model import Bindings, Domain, HostSnapshot, HostStatus
from hvdeck.backends.store import DomainHistory
from hvdeck.widgets import format as fmt
from hvdeck.widgets.bindings_view import BindingsView

from .actions import ACTION_BINDINGS, DomainActions
from .base import HvdeckFooter, HvdeckScreen

HISTORY_WIDTH = 30


def title_text(domain: Domain) -> Text:
    text = Text()
    text.append(f"{fmt.visible(domain.host)} / ", style="dim")
    text.append(fmt.visible(domain.name), style="bold")
    text.append("   ")
    text.append(domain.state.value, style=f"bold {fmt.STATE_COLOURS.get(domain.state.value, '')}")
    if domain.native_state != domain.state.value:
        text.append(f" ({fmt.visible(domain.native_state)})", style="dim")
    text.append(f"   id {domain.id if domain.id is not None else '-'}", style="dim")
    if domain.uuid:
        text.append(f"   uuid {fmt.visible(domain.uuid)}", style="dim")
    return text


def summary_text(domain: Domain) -> Text:
    memory = fmt.size(domain.memory_bytes)
    if domain.max_memory_bytes and domain.max_memory_bytes != domain.memory_bytes:
        memory += f" of {fmt.size(domain.max_memory_bytes)}"
    uptime = fmt.age(domain.uptime_s) if domain.uptime_s is not None else "-"
    extras: dict[str, str] = {}
    if domain.flags:  # "flags -n-cv- (normal, control, vio-service)"
        extras["flags"] = domain.flags + (f" ({domain.flags_meaning})" if domain.flags_meaning else "")
    extras.update(domain.extra)
    extra = "".join(f" · {label} {value}" for label, value in extras.items())
    return fmt.host_text(f"{domain.vcpus if domain.vcpus is not None else '-'} vCPU · {memory} memory · "
                         f"console {domain.console or '-'} · uptime {uptime}{extra}")


def history_lines(domain: Domain, history: DomainHistory) -> list[str]:
    if not any(v is not None for v in history.cpu + history.net + history.disk):
        return ["CPU, NET, DISK history: no samples yet (rates need two polls)"]
    return [
        f"CPU  {fmt.sparkline(history.cpu, HISTORY_WIDTH, top=100.0)} {fmt.percent(domain.cpu_percent):>6}%",
        f"NET  {fmt.sparkline(history.net, HISTORY_WIDTH)} {fmt.pair(domain.net_rx_bps, domain.net_tx_bps):>13}/s",
        f"DISK {fmt.sparkline(history.disk, HISTORY_WIDTH)} "
        f"{fmt.pair(domain.disk_rd_bps, domain.disk_wr_bps):>13}/s",
    ]


class DomainScreen(DomainActions, HvdeckScreen):
    """One domain. While its host is not up (stale, down, error) or read-only, a notice under the head
    says so, with the age of the data, and that actions are unavailable and why (`HvdeckApp.why_not`,
    the one gate); the live figures are then drawn in the stale colour."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="domain.back"),
        *ACTION_BINDINGS,
        Binding("ctrl+r", "reload", "Reload", id="domain.reload", tooltip="Read the bindings again"),
        Binding("C", "clone", "Clone", id="domain.clone", show=False,
                tooltip="Clone this domain from a snapshot of its disk"),
        Binding("S", "snapshots", "Snapshots", id="domain.snapshots", show=False,
                tooltip="The snapshots of this domain's disks: take, roll back, destroy"),
    ]

    DEFAULT_CSS = """
    DomainScreen #domain-head { height: auto; padding: 0 1; background: $panel; }
    DomainScreen #domain-title { height: 1; }
    DomainScreen #domain-summary { height: 1; color: $foreground-muted; }
    DomainScreen #domain-notice { height: auto; padding: 0 1; color: $warning; display: none; }
    DomainScreen #domain-notice.-shown { display: block; }
    DomainScreen #domain-notice.-error { color: $error; }
    DomainScreen #domain-history { height: 3; padding: 0 1; margin-bottom: 1; }
    DomainScreen.-stale #domain-summary, DomainScreen.-stale #domain-history { color: $stale; text-style: italic; }
    DomainScreen BindingsView { height: 1fr; }
    """

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self._state: str | None = None
        #: the last failure to read the bindings, shown on the notice line (None: the last read worked)
        self._bindings_error: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="domain-head"):
            yield Static(id="domain-title")
        yield Static(id="domain-summary")
        yield Static(id="domain-notice")
        yield Static(id="domain-history")
        yield BindingsView(id="bindings")
        yield HvdeckFooter()

    def current_domain(self) -> Domain | None:
        return self.hvdeck.domain(self.key)

    def on_mount(self) -> None:
        self.hvdeck.fleet_changed.subscribe(self, self._on_fleet_changed)
        self._show_domain()
        self.query_one(BindingsView).show_message("reading bindings…")
        self.action_reload()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """The age of stale data grows while nothing is polled: redraw the notice."""
        if self.has_class("-stale"):
            self._show_notice()

    def _on_fleet_changed(self, snapshot: HostSnapshot) -> None:
        domain = self.current_domain()
        if domain is None or snapshot.host != domain.host:
            return
        state_changed = self._state is not None and self._state != domain.native_state
        self._show_domain()
        if state_changed:  # a started guest gets its console pty, a stopped one loses it
            self.action_reload()

    def _show_domain(self) -> None:
        domain = self.current_domain()
        if domain is None:
            self.query_one("#domain-title", Static).update(
                fmt.host_text(f"{self.key.replace(chr(31), ' / ')} is gone from its host", style="bold red"))
            return
        self._state = domain.native_state
        snapshot = self.hvdeck.snapshots.get(domain.host)
        stale = snapshot is not None and snapshot.status is not HostStatus.UP
        self.set_class(stale, "-stale")
        title = title_text(domain)
        if stale:  # the state and its colour are from the last good poll, not live
            title.stylize(f"italic not dim {self.hvdeck.get_css_variables().get('stale', '')}".strip())
        self.query_one("#domain-title", Static).update(title)
        self.query_one("#domain-summary", Static).update(summary_text(domain))
        history = self.hvdeck.store.history(self.key)
        self.query_one("#domain-history", Static).update(Text("\n".join(history_lines(domain, history))))
        self._show_notice()

    def _show_notice(self) -> None:
        """Why nothing can be done now (host stale/down/read-only, with the data's age), and the last
        failure to read the bindings."""
        domain = self.current_domain()
        lines: list[str] = []
        reason = self.hvdeck.host_reason(domain.host) if domain is not None else None
        if reason is not None:
            snapshot = self.hvdeck.snapshots.get(domain.host) if domain is not None else None
            if snapshot is not None and snapshot.status is not HostStatus.UP and snapshot.last_ok is not None:
                lines.append(f"Not live: data from {fmt.age(self.hvdeck.clock() - snapshot.last_ok)} ago.")
            lines.append(f"Actions unavailable: {reason}")
        if self._bindings_error is not None:
            lines.append(f"Cannot read the bindings again: {self._bindings_error}")
        notice = self.query_one("#domain-notice", Static)
        notice.update(fmt.host_text("\n".join(lines), newlines=True))
        notice.set_class(bool(lines), "-shown")
        notice.set_class(reason is None and self._bindings_error is not None, "-error")

    def action_clone(self) -> None:
        self.hvdeck.open_clone(self.current_domain())

    def action_snapshots(self) -> None:
        self.hvdeck.open_snapshots(self.current_domain())

    def action_reload(self) -> None:
        domain = self.current_domain()
        if domain is not None:
            self._load(domain)

    @work(group="bindings", exclusive=True, exit_on_error=False)
    async def _load(self, domain: Domain) -> Bindings:
        return await self.hvdeck.load_bindings(domain)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "bindings" and event.state is WorkerState.SUCCESS \
                and event.worker.result is not None:
            self._bindings_error = None
            self.query_one(BindingsView).show(event.worker.result)
            self._show_notice()

    def worker_failed(self, worker: Worker, text: str) -> bool:
        """The bindings could not be read: keep the last ones shown (if any) and say why."""
        if worker.group != "bindings":
            return False
        view = self.query_one(BindingsView)
        if view.showing_sections:
            self._bindings_error = text
            self._show_notice()
        else:
            view.show_message(fmt.host_text(f"cannot read the bindings: {text}", newlines=True), error=True)
        return True
