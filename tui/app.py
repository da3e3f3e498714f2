"""HvdeckApp: wires the fleet (backends) to the screens (tui) and the widgets.

The pollers are plain coroutines from `hvdeck.backends.fleet`, run here as async workers on the app's
loop (asyncssh needs that loop). Each new snapshot arrives as a `FleetUpdated` message; the app keeps
the latest snapshot per host and broadcasts it through the `fleet_changed` signal that screens
subscribe to. Every change to a host goes through `request_action` → `PlanScreen` → the `Executor`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import App
from textual.binding import Binding
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from hvdeck import themes
from hvdeck.backends import policy
from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action, ExtraAction
from hvdeck.backends.errors import HostKeyUnknown, HostUnreachable, HvdeckError
from hvdeck.backends.fleet import DomainHistory, Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import Bindings, Domain, HostSnapshot, HostStatus, Section
from hvdeck.backends.plan import Executor, Plan
from hvdeck.backends.settings import Settings
from hvdeck.backends.transport.ssh import trust_host_key
from hvdeck.widgets.format import visible

from .commands import HvdeckCommands
from .messages import FleetUpdated
from .screens.action_menu import ActionMenuScreen, MenuItem, ParamsScreen
from .screens.actions import ACTION_KEYS
from .screens.domain import DomainScreen
from .screens.fleet import FleetScreen
from .screens.host import HostScreen
from .screens.host_key import HostKeyScreen
from .screens.plan import PlanScreen


class HvdeckApp(App[None]):
    TITLE = "hvdeck"
    CSS_PATH = themes.STYLESHEET
    COMMANDS = App.COMMANDS | {HvdeckCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+t", "toggle_theme", "Light/dark", show=False, id="app.theme"),
    ]

    def __init__(self, inventory: Inventory, *, fleet: Fleet | None = None, audit: AuditLog | None = None,
                 theme: str | None = None, start_pollers: bool = True,
                 clock: Callable[[], float] = time.monotonic, settings: Settings | None = None) -> None:
        super().__init__()
        self.inventory = inventory
        self.clock = clock
        self.fleet = fleet or Fleet(inventory, clock=clock)
        self.fleet.on_update = self._fleet_update
        self.executor = Executor(self.fleet.target, audit)
        self.audit = audit
        self.start_pollers = start_pollers
        self.snapshots: dict[str, HostSnapshot] = dict(self.fleet.store.snapshots)
        self.histories: dict[str, DomainHistory] = {}
        self.fleet_changed: Signal[HostSnapshot] = Signal(self, "fleet-changed")
        self._asked_keys: set[tuple[str, str | None]] = set()
        self._key_queue: list[HostKeyUnknown] = []
        for theme_object in themes.THEMES:
            self.register_theme(theme_object)
        self.settings = settings or Settings()  # theme and keymap applied here; the rest is read where used
        self.theme = theme or self.settings.theme
        self.set_keymap(self.settings.keymap)

    @property
    def host_names(self) -> list[str]:
        return [spec.name for spec in self.inventory.hosts]

    def get_css_variables(self) -> dict[str, str]:
        variables = super().get_css_variables()
        for name, fallback in themes.VARIABLE_FALLBACKS.items():
            if name not in variables and fallback in variables:
                variables[name] = variables[fallback]
        return variables

    def get_default_screen(self) -> FleetScreen:
        return FleetScreen()

    def on_mount(self) -> None:
        if self.start_pollers:
            for name in self.host_names:
                self.run_worker(self.fleet.run_host(name), name=f"poll:{name}", group="poll",
                                exit_on_error=False)

    async def on_unmount(self) -> None:
        await self.fleet.close()

    # -- data from the pollers ----------------------------------------------------------------------

    def _fleet_update(self, snapshot: HostSnapshot) -> None:
        """Called by the fleet (on this loop) after each poll: post it as a message."""
        histories = {d.key: self.fleet.store.history(d.key) for d in snapshot.domains}
        self.post_message(FleetUpdated(snapshot, histories))

    def on_fleet_updated(self, message: FleetUpdated) -> None:
        snapshot = message.snapshot
        previous = self.snapshots.get(snapshot.host)
        if previous is not None:
            for domain in previous.domains:
                if domain.key not in message.histories:
                    self.histories.pop(domain.key, None)
        self.snapshots[snapshot.host] = snapshot
        self.histories.update(message.histories)
        self.fleet_changed.publish(snapshot)
        if snapshot.status is HostStatus.ERROR:
            problem = self.fleet.host_key_problem(snapshot.host)
            if isinstance(problem, HostKeyUnknown):
                self._ask_host_key(problem)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A poller died of a bug: say so on that host, keep the app running."""
        if event.worker.group == "poll" and event.state is WorkerState.ERROR:
            host = (event.worker.name or "").removeprefix("poll:")
            self.notify(visible(f"{host}: poller stopped: {event.worker.error}"), title="hvdeck bug",
                        severity="error", timeout=30, markup=False)

    def domain(self, key: str) -> Domain | None:
        host = key.split("\x1f", 1)[0]
        snapshot = self.snapshots.get(host)
        if snapshot is None:
            return None
        return next((d for d in snapshot.domains if d.key == key), None)

    async def load_bindings(self, domain: Domain) -> Bindings:
        return await self.fleet.bindings(domain)

    def refresh_hosts(self, host: str | None = None) -> None:
        for name in [host] if host else self.host_names:
            self.fleet.poke(name)
        self.notify(visible("polling " + (host or "all hosts") + " now"), timeout=2, markup=False)

    # -- host keys ----------------------------------------------------------------------------------

    def _ask_host_key(self, problem: HostKeyUnknown) -> None:
        marker = (problem.host, problem.fingerprint)
        if marker in self._asked_keys:
            return
        self._asked_keys.add(marker)
        self._key_queue.append(problem)
        if len(self._key_queue) == 1:
            self._next_host_key()

    def _next_host_key(self) -> None:
        if not self._key_queue:
            return
        problem = self._key_queue[0]

        def answered(trust: bool | None) -> None:
            self._key_queue.pop(0)
            if trust and problem.key_line:
                trust_host_key(problem.known_hosts, problem.pattern, problem.key_line)
                self.notify(visible(f"{problem.host}: key {problem.fingerprint} added to {problem.known_hosts}"),
                            markup=False)
                self.fleet.poke(problem.host)
            else:
                self.notify(visible(f"{problem.host}: host key not trusted; the host stays disconnected. "
                                    f"`hvdeck trust {problem.host}` trusts it later."), severity="warning",
                            markup=False)
            self._next_host_key()

        self.push_screen(HostKeyScreen(problem), answered)

    # -- actions ------------------------------------------------------------------------------------

    def request_action(self, domain: Domain | None, action: Action) -> None:
        if domain is None:
            self.notify("No domain selected", severity="warning")
            return
        backend = self.fleet.backend(domain.host)
        reason = self.why_not(action, domain)
        if reason is not None or backend is None:
            self.notify(visible(f"Cannot {action.label.lower()} {domain.name}: {reason}"), severity="warning",
                        markup=False)
            return
        try:
            plan = backend.plan_action(action, domain)
        except HvdeckError as exc:
            self.notify(visible(exc.message, newlines=True), title=exc.title, severity="error", markup=False)
            return
        self.show_plan(plan)

    def why_not(self, action: Action | ExtraAction, domain: Domain) -> str | None:
        """The one gate (`hvdeck.backends.policy`): None if ``action`` may be planned for ``domain``."""
        return policy.why_not(self.fleet.backend(domain.host), action, domain, self.snapshots.get(domain.host),
                              self.clock())

    def open_action_menu(self, domain: Domain | None) -> None:
        if domain is None:
            self.notify("No domain selected", severity="warning")
            return
        backend = self.fleet.backend(domain.host)
        keys = {action: key for key, action, _label in ACTION_KEYS}
        items = []
        for action in Action:
            items.append(MenuItem(action.value, action.label, keys.get(action), self.why_not(action, domain)))
        extras = {}
        if backend is not None:
            for extra in backend.extra_actions():
                extras[extra.id] = extra
                items.append(MenuItem(f"extra:{extra.id}", extra.label + ("…" if extra.params else ""), None,
                                      self.why_not(extra, domain)))

        def chosen(item: str | None) -> None:
            if item is None:
                return
            if item.startswith("extra:"):
                self.request_extra(domain, extras[item.removeprefix("extra:")])
            else:
                self.request_action(domain, Action(item))

        self.push_screen(ActionMenuScreen(f"{domain.name} on {domain.host}", items), chosen)

    def request_extra(self, domain: Domain, action: ExtraAction, values: dict[str, str] | None = None) -> None:
        """A backend-specific action: ask for its inputs (if any), then show its plan."""
        backend = self.fleet.backend(domain.host)
        reason = self.why_not(action, domain)
        if reason is not None or backend is None:
            self.notify(visible(f"Cannot {action.label.lower()} {domain.name}: {reason}"), severity="warning",
                        markup=False)
            return
        if action.params and values is None:
            def entered(values: dict[str, str] | None) -> None:
                if values is not None:
                    self.request_extra(domain, action, values)

            self.push_screen(ParamsScreen(f"{action.label}: {domain.name} on {domain.host}", action), entered)
            return

        async def build() -> None:  # the backend may read the host (free resources) before a plan exists
            try:
                plan = await backend.plan_extra(action, domain, values or {}, self.snapshots.get(domain.host))
            except HvdeckError as exc:
                self.notify(visible(exc.message, newlines=True), title=exc.title, severity="error", markup=False)
                return
            self.show_plan(plan)

        self.run_worker(build(), name=f"plan:{domain.host}", group="plan", exit_on_error=False)

    def open_host(self, host: str) -> None:
        if host in self.snapshots:
            self.push_screen(HostScreen(host))

    async def load_host_detail(self, host: str) -> tuple[Section, ...]:
        backend = self.fleet.backend(host)
        if backend is None:
            raise HostUnreachable(f"{host} is not connected")
        return await backend.host_detail()

    def show_plan(self, plan: Plan) -> None:
        self.push_screen(PlanScreen(plan, self.executor), lambda _result: self.fleet.poke(plan.host))

    def open_domain(self, key: str) -> None:
        if self.domain(key) is not None:
            self.push_screen(DomainScreen(key))

    def show_host(self, host: str) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, FleetScreen):
            self.pop_screen()
        if isinstance(self.screen, FleetScreen):
            self.screen.set_filter(f"host:{host}")

    def action_toggle_theme(self) -> None:
        self.theme = "hvdeck-light" if self.theme == "hvdeck-dark" else "hvdeck-dark"

