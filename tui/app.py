"""HvdeckApp: wires the fleet (backends) to the screens (tui) and the widgets.

The pollers are plain coroutines from `hvdeck.backends.fleet`, run here as async workers on the app's
loop (asyncssh needs that loop). New snapshots wait in the app's arrivals, taken in slices between keys
(one `FleetArrived` message for all of them; tests post single snapshots as `FleetUpdated`); the app puts each
in its one `Store` (latest snapshots, compact histories) and broadcasts it through the `fleet_changed`
signal that screens subscribe to. The app reaches hosts only through `Fleet`'s public methods, which
take and return immutable data. Every change to a host goes through `request_action` → `PlanScreen` →
`Fleet.run_plan` (the executor, the one gate).
"""

from __future__ import annotations

import math
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from hvdeck import themes
from hvdeck.backends import policy
from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action, ExtraAction
from hvdeck.backends.errors import HvdeckError, describe
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import Bindings, Domain, HostSnapshot, KeyProblem, Section
from hvdeck.backends.plan import Plan
from hvdeck.backends.remote import EngineGone
from hvdeck.backends.settings import Settings
from hvdeck.backends.store import Store
from hvdeck.backends.transport.base import Limits
from hvdeck.backends.transport.ssh import trust_host_key
from hvdeck.widgets import format as fmt
from hvdeck.widgets.format import visible
from hvdeck.widgets.terminal import Terminal

from .collector import QuietCollector
from .commands import HvdeckCommands
from .console import ConsoleManager
from .messages import FleetArrived, FleetUpdated
from .screens.action_menu import ActionMenuScreen, MenuItem, ParamsScreen
from .screens.actions import ACTION_KEYS
from .screens.base import GLOBAL_BINDINGS, GuardedModal
from .screens.domain import DomainScreen
from .screens.fleet import FleetScreen
from .screens.help import HelpScreen
from .screens.host import HostScreen
from .screens.host_key import HostKeyScreen
from .screens.plan import PlanScreen
from .screens.xentop import XentopScreen

#: the longest run of snapshots taken in one go before keys waiting behind them get their turn (s)
ARRIVALS_SLICE_S = 0.008

#: what counts as the user at work, for `QuietCollector`
_INPUT = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)


class HvdeckApp(App[None]):
    TITLE = "hvdeck"
    CSS_PATH = themes.STYLESHEET
    COMMANDS = App.COMMANDS | {HvdeckCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit hvdeck (nothing running on a host stops)"),
        *GLOBAL_BINDINGS,
    ]

    def __init__(self, inventory: Inventory, *, fleet: Fleet | None = None, audit: AuditLog | None = None,
                 theme: str | None = None, start_pollers: bool = True,
                 clock: Callable[[], float] = time.monotonic, settings: Settings | None = None,
                 quiet_gc: bool = False) -> None:
        super().__init__()
        self.inventory = inventory
        self.clock = clock
        self.settings = settings or Settings()
        self.fleet = fleet or Fleet(inventory, clock=clock, audit=audit, limits=Limits(
            self.settings.ssh.max_command_channels, self.settings.ssh.max_long_channels,
            self.settings.output_limit_bytes))
        self.fleet.on_update = self._fleet_update
        self.audit = audit
        self.start_pollers = start_pollers
        #: the one store of snapshots and histories; screens read it, nothing keeps another copy
        self.store = Store(self.fleet.initial_snapshots())
        self.fleet_changed: Signal[HostSnapshot] = Signal(self, "fleet-changed")
        #: snapshots not yet taken, newest per host, in order of arrival (see `_fleet_update`)
        self._arrivals: dict[str, HostSnapshot] = {}
        self._arrivals_posted = False
        self._asked_keys: set[tuple[str, str | None]] = set()
        self._engine_gone_told = False  # the engine process's end was notified
        self._key_queue: list[KeyProblem] = []
        #: where the traceback of the crash that stopped the app was saved (see `crash_dir`)
        self.crash_report: Path | None = None
        for theme_object in themes.THEMES:
            self.register_theme(theme_object)
        self.theme = theme or self.settings.theme
        self.set_keymap(self.settings.keymap)
        self.ansi_theme_dark = themes.ANSI_DARK
        self.ansi_theme_light = themes.ANSI_LIGHT
        #: the console pane's sessions (`hvdeck.tui.console`)
        self.consoles = ConsoleManager(self)
        #: full garbage collections between keys (`hvdeck.tui.collector`); process wide, so only the
        #: console that owns its process turns it on (``quiet_gc``), not an app in a test run
        self.collector = QuietCollector(time.monotonic) if quiet_gc else None

    @property
    def snapshots(self) -> dict[str, HostSnapshot]:
        """The latest snapshot of every host (the store's)."""
        return self.store.snapshots

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
        if self.collector is not None:
            self.call_after_refresh(self.collector.start)  # after the first frame: start-up is done
            self.set_interval(1.0, self.collector.tick, name="quiet garbage collection")
        if self.start_pollers:
            for name in self.host_names:
                self.run_worker(self.fleet.run_host(name), name=f"poll:{name}", group="poll",
                                exit_on_error=False)

    async def on_unmount(self) -> None:
        if self.collector is not None:
            self.collector.stop()
        await self.consoles.close_all()  # each console's detach line is written before the links close
        await self.fleet.close()

    # -- data from the pollers ----------------------------------------------------------------------

    def _fleet_update(self, snapshot: HostSnapshot) -> None:
        """Called by the fleet (on this loop) for each new snapshot. At 500 hosts some 250 arrive a second,
        each between two keys: a message each would queue every key behind all of them. They wait here
        instead (a host's newer snapshot replaces one not yet taken), with one `FleetArrived` message
        queued for all of them."""
        self._arrivals.pop(snapshot.host, None)  # to the end: in order of arrival
        self._arrivals[snapshot.host] = snapshot
        if not self._arrivals_posted:
            self._arrivals_posted = True
            self.post_message(FleetArrived())

    def on_fleet_arrived(self, message: FleetArrived) -> None:
        self._arrivals_posted = False
        self.take_arrivals(ARRIVALS_SLICE_S)

    def take_arrivals(self, budget_s: float) -> int:
        """Take waiting snapshots for at most ``budget_s`` seconds (at least one); what is left waits behind
        the messages queued meanwhile (keys first). Returns how many were taken."""
        deadline = time.perf_counter() + budget_s
        taken = 0
        arrivals = self._arrivals
        while arrivals:
            host = next(iter(arrivals))
            self._take(arrivals.pop(host))
            taken += 1
            if time.perf_counter() >= deadline:
                break
        if arrivals and not self._arrivals_posted:
            self._arrivals_posted = True
            self.post_message(FleetArrived())
        return taken

    def on_fleet_updated(self, message: FleetUpdated) -> None:
        """One snapshot posted as a message (tests, tools): it lands after every snapshot that arrived
        before it, as messages keep their order."""
        self.take_arrivals(math.inf)
        self._take(message.snapshot)

    def _take(self, snapshot: HostSnapshot) -> None:
        self.store.update(snapshot)
        self.fleet_changed.publish(snapshot)
        problem = snapshot.key_problem
        if problem is not None and problem.can_trust:
            self._ask_host_key(problem)

    # -- failures: one place for every worker, and a crash that says where its traceback is ----------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers (the pollers); screens route theirs through `WorkerErrors`."""
        if event.state is WorkerState.ERROR:
            self.worker_failed(self, event.worker)

    def worker_failed(self, node: DOMNode, worker: Worker) -> None:
        """The one handler of a worker that raised: the screen shows it in its own place if it can
        (`WorkerErrors.worker_failed`), else a notification on the current screen. The app keeps running.

        Workers are started with ``exit_on_error=False``; their errors arrive here and nowhere else.
        """
        error = worker.error
        text = describe(error) if error is not None else "failed"
        self.log.error(f"worker {worker.name or worker.group} of {node!r} failed", error)
        if worker.group == "poll" and isinstance(error, EngineGone):
            # every host's poller ends with it: one notice (each host's line already says so)
            if not self._engine_gone_told:
                self._engine_gone_told = True
                self.notify(f"{fmt.visible(text)}: no host is watched any more; restart hvdeck",
                            title=error.title, severity="error", timeout=60, markup=False)
            return
        if worker.group == "poll":
            host = (worker.name or "").removeprefix("poll:")
            self.notify(f"{host}: poller stopped: {fmt.visible(text)}", title="hvdeck bug", severity="error",
                        timeout=30, markup=False)
            return
        shown = getattr(node, "worker_failed", None)
        if callable(shown) and node is not self and shown(worker, text):
            return
        what = worker.name or worker.group
        self.notify(f"{what} failed: {fmt.visible(text)}", title="Error", severity="error", timeout=15,
                    markup=False)

    def _handle_exception(self, error: Exception) -> None:
        """An exception nothing handled: save the full traceback (`crash_report`), then let Textual stop
        the app (return code 1, terminal restored). What is printed on exit is one line, not the traceback."""
        first = self._exception is None
        super()._handle_exception(error)
        if not first:
            return
        self.crash_report = write_crash_report(error, self)
        # the path of the report follows on its own line (`cli.console`), where a terminal can select it
        self._exit_renderables[:] = [
            Text(f"hvdeck stopped on an internal error: {fmt.visible(describe(error))}", style="bold red")]

    def domain(self, key: str) -> Domain | None:
        return self.store.domain(key)

    async def load_bindings(self, domain: Domain) -> Bindings:
        return await self.fleet.bindings(domain)

    def refresh_hosts(self, host: str | None = None) -> None:
        if self._engine_gone_told:
            self.notify("Cannot poll: the engine process stopped; restart hvdeck", severity="error", timeout=10,
                        markup=False)
            return
        for name in [host] if host else self.host_names:
            self.fleet.poke(name)
        self.notify(visible("polling " + (host or "all hosts") + " now"), timeout=2, markup=False)

    # -- host keys ----------------------------------------------------------------------------------

    def _ask_host_key(self, problem: KeyProblem) -> None:
        """Ask about an unknown key once per (host, fingerprint) on its own; `ask_host_key` asks again."""
        marker = (problem.host, problem.fingerprint)
        if marker in self._asked_keys:
            return
        self._asked_keys.add(marker)
        self._queue_host_key(problem)

    def _queue_host_key(self, problem: KeyProblem) -> None:
        if any(queued.host == problem.host for queued in self._key_queue):
            return
        self._key_queue.append(problem)
        if len(self._key_queue) == 1:
            self._next_host_key()

    def untrusted_hosts(self) -> list[str]:
        """Hosts whose unknown key the user has not trusted (e.g. answered "Not now"): they can be asked again."""
        return [name for name in self.host_names if (p := self._key_problem(name)) is not None and p.can_trust]

    def _key_problem(self, host: str) -> KeyProblem | None:
        snapshot = self.snapshots.get(host)
        return snapshot.key_problem if snapshot is not None else None

    def ask_host_key(self, host: str) -> None:
        """Ask again about ``host``'s unknown key (after "Not now"): from its host screen or the palette."""
        problem = self._key_problem(host)
        if problem is None or not problem.can_trust:
            self.notify(f"{host}: no unknown host key to trust", severity="warning", markup=False)
            return
        self._queue_host_key(problem)

    def _next_host_key(self) -> None:
        if not self._key_queue:
            return
        problem = self._key_queue[0]

        def answered(trust: bool | None) -> None:
            self._key_queue.pop(0)
            if trust and problem.can_trust and problem.key_line:
                trust_host_key(problem.known_hosts, problem.pattern, problem.key_line)
                self.notify(visible(f"{problem.host}: key {problem.fingerprint} added to {problem.known_hosts}"),
                            markup=False)
                self.fleet.poke(problem.host)
            else:
                self.notify(visible(f"{problem.host}: host key not trusted; the host stays disconnected. Trust it later "
                            f"from its host screen (H, then t), the palette, or `hvdeck trust {problem.host}`."),
                            severity="warning", markup=False)
            self._next_host_key()

        self.push_screen(HostKeyScreen(problem), answered)

    # -- actions ------------------------------------------------------------------------------------

    def request_action(self, domain: Domain | None, action: Action) -> None:
        if domain is None:
            self.notify("No domain selected", severity="warning")
            return
        reason = self.why_not(action, domain)
        if reason is not None:
            self.notify(visible(f"Cannot {action.label.lower()} {domain.name}: {reason}"), severity="warning",
                        markup=False)
            return
        try:
            plan = self.fleet.plan_action(action, domain, self.snapshots.get(domain.host), self.snapshots.values())
        except HvdeckError as exc:
            self.notify(visible(exc.message, newlines=True), title=exc.title, severity="error", markup=False)
            return
        self.show_plan(plan)

    def why_not(self, action: Action | ExtraAction, domain: Domain) -> str | None:
        """The one gate (`hvdeck.backends.policy`): None if ``action`` may be planned for ``domain``."""
        return self.fleet.why_not(action, domain, self.snapshots.get(domain.host), self.clock(),
                                  self.snapshots.values())

    def open_action_menu(self, domain: Domain | None) -> None:
        if domain is None:
            self.notify("No domain selected", severity="warning")
            return
        items = self.action_items(domain)
        extras = {extra.id: extra for extra in self._extras(domain)}

        def chosen(item: str | None) -> None:
            if item is None:
                return
            if item.startswith("extra:"):
                self.request_extra(domain, extras[item.removeprefix("extra:")])
            else:
                self.request_action(domain, Action(item))

        notice = self.host_reason(domain.host)
        if notice is not None:
            notice = f"No action can be planned now: {notice}"
        self.push_screen(ActionMenuScreen(f"{domain.name} on {domain.host}", items, notice), chosen)

    def _extras(self, domain: Domain) -> tuple[ExtraAction, ...]:
        return self.fleet.extra_actions(domain.host)

    def action_items(self, domain: Domain) -> list[MenuItem]:
        """Every action for ``domain``, each with `why_not` (None: available): the menu and the palette."""
        keys = {action: key for key, action, _label in ACTION_KEYS}
        items = [MenuItem(action.value, action.label, keys.get(action), self.why_not(action, domain))
                 for action in Action]
        items += [MenuItem(f"extra:{extra.id}", extra.label.rstrip("…") + ("…" if extra.params else ""), None,
                           self.why_not(extra, domain)) for extra in self._extras(domain)]
        return items

    def run_item(self, domain: Domain, item: str) -> None:
        """Do one of `action_items` (the palette): plan it, or say why it cannot be done."""
        if item.startswith("extra:"):
            extra = next((e for e in self._extras(domain) if e.id == item.removeprefix("extra:")), None)
            if extra is not None:
                self.request_extra(domain, extra)
        else:
            self.request_action(domain, Action(item))

    def host_reason(self, host: str) -> str | None:
        """Why nothing may be done on ``host`` now (stale, down, read-only...), or None."""
        return policy.host_reason(self.snapshots.get(host), self.clock())

    def request_extra(self, domain: Domain, action: ExtraAction, values: dict[str, str] | None = None) -> None:
        """A backend-specific action: ask for its inputs (if any), then show its plan.

        The inputs dialog builds the plan itself and stays open with the error while the backend refuses
        the input (`ValidationError`); with ``values`` given, a refused input is a notification."""
        reason = self.why_not(action, domain)
        if reason is not None:
            self.notify(visible(f"Cannot {action.label.lower()} {domain.name}: {reason}"), severity="warning",
                        markup=False)
            return
        if action.params and values is None:
            def entered(plan: Plan | None) -> None:
                if plan is not None:
                    self.show_plan(plan)

            self.push_screen(ParamsScreen(f"{action.label}: {domain.name} on {domain.host}", action,
                                          lambda entered: self.fleet.plan_extra(action, domain, entered,
                                                                                self.snapshots.get(domain.host)),
                                          current_values(domain)), entered)
            return

        async def build() -> None:  # the backend may read the host (free resources) before a plan exists
            try:
                plan = await self.fleet.plan_extra(action, domain, values or {}, self.snapshots.get(domain.host))
            except HvdeckError as exc:
                self.notify(visible(exc.message, newlines=True), title=exc.title, severity="error", markup=False)
                return
            self.show_plan(plan)

        self.run_worker(build(), name=f"plan:{domain.host}", group="plan", exit_on_error=False)

    # -- wizards: create, clone, snapshots (each asks the gate first) -------------------------------------

    def why_not_create(self, host: str) -> str | None:
        """None when a guest can be created on ``host`` now, else why not (read-only, stale, no wizard)."""
        from .wizards.create import why_not_create

        return why_not_create(self, host)

    def why_not_clone(self, domain: Domain) -> str | None:
        from .wizards.clone import why_not_clone

        return why_not_clone(self, domain)

    def open_create(self, host: str | None) -> None:
        """The create wizard for ``host`` (None: the only host, if there is one), or why there is none."""
        from .wizards.create import create_wizard

        if host is None:
            if len(self.host_names) != 1:
                self.notify("Highlight a domain of the host first (or: palette, Create a guest on HOST…)",
                            severity="warning")
                return
            host = self.host_names[0]
        reason = self.why_not_create(host)
        if reason is not None:
            self.notify(visible(f"Cannot create a guest on {host}: {reason}"), severity="warning", markup=False)
            return
        self.push_screen(create_wizard(self, host))

    def open_clone(self, domain: Domain | None) -> None:
        """The clone wizard for ``domain``, or why there is none."""
        from .wizards.clone import clone_wizard

        if domain is None:
            self.notify("No domain selected", severity="warning")
            return
        reason = self.why_not_clone(domain)
        if reason is not None:
            self.notify(visible(f"Cannot clone {domain.name}: {reason}"), severity="warning", markup=False)
            return
        self.push_screen(clone_wizard(self, domain))

    def open_snapshots(self, domain: Domain | None) -> None:
        """The snapshot browser of ``domain``'s disks."""
        from .wizards.snapshots import SnapshotScreen, why_not_snapshots

        if domain is None:
            self.notify("No domain selected", severity="warning")
            return
        reason = why_not_snapshots(self, domain)
        if reason is not None:
            self.notify(visible(f"Cannot read the snapshots of {domain.name}: {reason}"), severity="warning",
                        markup=False)
            return
        self.push_screen(SnapshotScreen(domain))

    def open_host(self, host: str) -> None:
        if host in self.snapshots:
            self.push_screen(HostScreen(host))

    def open_xentop(self, host: str) -> None:
        """The xentop screen of a Xen dom0 (`X` on the fleet and host screens); other kinds say what they are."""
        snapshot = self.snapshots.get(host)
        if snapshot is None:
            return
        if snapshot.kind != "xen":
            self.notify(visible(f"X shows xentop for Xen dom0s; {host} is a {snapshot.kind} host"), severity="warning",
                        markup=False)
            return
        self.push_screen(XentopScreen(host))

    async def load_host_detail(self, host: str) -> tuple[Section, ...]:
        return await self.fleet.host_detail(host)

    def show_plan(self, plan: Plan) -> None:
        self.push_screen(PlanScreen(plan, self.fleet))

    def open_domain(self, key: str) -> None:
        if self.domain(key) is not None:
            self.push_screen(DomainScreen(key))

    def show_host(self, host: str) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, FleetScreen):
            self.pop_screen()
        if isinstance(self.screen, FleetScreen):
            self.screen.set_filter(f"host:{host}")

    # -- keys --------------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Drop keys typed before the dialog on top was drawn (`GuardedModal`): both on their way in and
        when one comes back up from a widget that had it queued (its bindings are checked here, against
        the screen on top *now*)."""
        if self.collector is not None and isinstance(event, _INPUT):
            self.collector.input_seen()
        if (isinstance(event, events.Key) and isinstance(self.screen, GuardedModal)
                and not self.screen.accepts_key(event)):
            self.log.info(f"key {event.key!r} typed before {type(self.screen).__name__} was drawn: dropped")
            return
        await super().on_event(event)

    def action_help(self) -> None:
        """The keys of the current screen, from its active bindings; on an open help, close it."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        self.push_screen(HelpScreen(self.screen))

    def action_toggle_theme(self) -> None:
        self.theme = "hvdeck-light" if self.theme == "hvdeck-dark" else "hvdeck-dark"

    # -- consoles ------------------------------------------------------------------------------------

    def attach_console(self, domain: Domain | None, *, force: bool = False) -> None:
        """Open ``domain``'s console in the pane under the fleet table (from any screen: the others are
        closed first). Why it cannot be attached is said in its tab."""
        if domain is None:
            self.notify("No domain selected", severity="warning")
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, FleetScreen):
            self.pop_screen()
        if isinstance(self.screen, FleetScreen):
            self.screen.open_console(domain, force=force)

    async def action_quit(self) -> None:
        """Quit: the open consoles end first (their detach lines say so), then the app."""
        await self.consoles.close_all()
        self.exit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a console's terminal has the focus, the app's own keys go to the guest: Textual's
        priority ctrl+q and ctrl+p too."""
        if action in _APP_KEYS_IN_A_CONSOLE and isinstance(self.focused, Terminal):
            return False
        return super().check_action(action, parameters)



#: app actions whose keys reach the guest while a console's terminal has the focus
_APP_KEYS_IN_A_CONSOLE = frozenset({"quit", "command_palette", "help", "toggle_theme"})


def current_values(domain: Domain) -> dict[str, str]:
    """A domain's values now, by the name of the action input they belong to (shown beside it)."""
    values = {}
    if domain.vcpus is not None:
        values["count"] = f"{domain.vcpus} vCPUs"
    if domain.memory_bytes is not None:
        values["size"] = fmt.size(domain.memory_bytes)
    return values


def crash_dir() -> Path:
    """Where crash reports go: ``$XDG_STATE_HOME/hvdeck`` (platformdirs' user state dir), like the audit log."""
    import platformdirs

    return Path(platformdirs.user_state_dir("hvdeck"))


def write_crash_report(error: BaseException, app: App[Any] | None = None) -> Path | None:
    """Save the full traceback of ``error`` to ``crash-<time>-<pid>.txt`` (mode 0600: it may name hosts
    and domains). Returns the path, or None if it could not be written; never raises."""
    from . import __version__

    try:
        directory = crash_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        screens = " > ".join(type(s).__name__ for s in app.screen_stack) if app is not None else "-"
        lines = [f"hvdeck {__version__} crashed at {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
                 f"screens: {screens}", "",
                 *traceback.format_exception(type(error), error, error.__traceback__)]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as out:
            out.write("\n".join(line.rstrip("\n") for line in lines) + "\n")
        return path
    except Exception:  # noqa: BLE001 - a crash report must never hide the crash
        return None
