"""The fleet screen: host strip, the live domain table of every host, filter, sort, group."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Input, Label, Static

from hvdeck.backends.inventory import ConfigFileError
from hvdeck.backends.model import Domain, HostSnapshot, HostStatus
from hvdeck.backends.settings import save_view_state
from hvdeck.widgets import format as fmt
from hvdeck.widgets.console_pane import ConsolePane, ConsoleTab, key_label
from hvdeck.widgets.fleet_table import COLUMN_KEYS, COLUMNS, FleetTable
from hvdeck.widgets.host_strip import HostStrip
from hvdeck.widgets.terminal import Terminal

from ..console import log_path
from ..wizards.evacuate import open_evacuation
from .actions import ACTION_BINDINGS, DomainActions
from .base import HvdeckFooter, HvdeckScreen
from .console_log import ConsoleLogScreen


class FilterBox(Input):
    """The filter box. Its editing keys (Backspace, ctrl+u, ctrl+w, ...) act in order with the characters
    around them: as bindings they went up to the app and back, while the characters typed right after
    them were inserted by the box at once; when the app was busy (snapshots at fleet size), a ctrl+u
    followed at once by ``web`` inserted ``web`` and then wiped it."""

    async def _on_key(self, event: events.Key) -> None:
        bindings = None if event.is_printable else self._bindings.key_to_bindings.get(event.key)
        if bindings:
            event.stop()
            event.prevent_default()
            await self.run_action(bindings[0].action)
            return
        await super()._on_key(event)

    def action_delete_left_word(self) -> None:
        """ctrl+w as in a shell: back to the space before the word (``host:kvm-a`` goes whole; Textual's
        Input stops at punctuation)."""
        value, end = self.value, self.cursor_position
        start = len(value[:end].rstrip(" "))
        start = value.rfind(" ", 0, start) + 1
        self.delete(start, end)


#: cells of the status line's error of the first host in trouble (a longer one is cut)
PROBLEM_CELLS = 60
#: seconds: the host strip and the status line follow the polls at most this often
STRIP_S = 0.25
#: seconds without a new sort or grouping before the settings file remembers them
REMEMBER_S = 1.0

#: the console pane's keys: priority bindings (they work while a terminal has the focus, so they are not
#: sent to the guest), enabled only while a console is open; rebind them in the settings' keymap
CONSOLE_BINDINGS = [
    Binding("f6", "console_focus", "Table/console", id="console.focus", priority=True,
            tooltip="Move the focus between the table and the console pane"),
    Binding("f11", "console_maximize", "Split/full", id="console.maximize", priority=True, show=False,
            tooltip="The console pane under the table, or full screen"),
    Binding("ctrl+pagedown", "console_step(1)", "Next console", id="console.next", priority=True, show=False,
            tooltip="The next console tab"),
    Binding("ctrl+pageup", "console_step(-1)", "Previous console", id="console.previous", priority=True,
            show=False, tooltip="The previous console tab"),
    Binding("f2", "console_log", "Log", id="console.log", priority=True, show=False,
            tooltip="Log this console to a file (plain text or raw), or stop logging it"),
]
CONSOLE_ACTIONS = {"console_focus", "console_maximize", "console_step", "console_log"}


class FleetScreen(DomainActions, HvdeckScreen):
    """Every domain of every host. Enter opens a domain; the action keys act on the highlighted one."""

    BINDINGS = [
        # priority: handled as the key arrives, before the keys typed after it are routed (to the box)
        Binding("slash", "filter", "Filter", id="fleet.filter", tooltip="Filter rows: words, or field:value",
                priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="fleet.clear-filter"),
        Binding("g", "toggle_group", "Group", id="fleet.group", tooltip="Group rows by host"),
        Binding("o", "next_sort", "Sort", id="fleet.sort", tooltip="Sort by the next column"),
        Binding("O", "reverse_sort", "Reverse", show=False, id="fleet.reverse", tooltip="Reverse the sort"),
        *ACTION_BINDINGS,
        Binding("H", "host", "Host", id="fleet.host", tooltip="The highlighted domain's host: services, resources"),
        Binding("E", "evacuate", "Evacuate", show=False, id="fleet.evacuate",
                tooltip="Evacuate: move the marked domains, or the host's running ones"),
        Binding("n", "create", "New guest", id="fleet.create", show=False,
                tooltip="Create a guest on the highlighted domain's host (the plan is shown first)"),
        Binding("C", "clone", "Clone", show=False, id="fleet.clone",
                tooltip="Clone the highlighted domain from a snapshot of its disk"),
        Binding("S", "snapshots", "Snapshots", show=False, id="fleet.snapshots",
                tooltip="The snapshots of the highlighted domain's disks: take, roll back, destroy"),
        Binding("X", "xentop", "xentop", show=False, id="fleet.xentop",
                tooltip="The highlighted domain's Xen dom0, as xentop shows it, live"),
        Binding("ctrl+r", "refresh_all", "Refresh", show=False, id="fleet.refresh",
                tooltip="Poll every host now"),
        *CONSOLE_BINDINGS,
    ]

    DEFAULT_CSS = """
    /* Textual takes a widget's layers from its outermost ancestor that names any: the console tabs'
       own (screen, notice: the notice line over the terminal) must be named here too */
    FleetScreen { layers: default screen notice prompt; }
    FleetScreen #filter-bar { layer: prompt; dock: bottom; display: none; height: 1; background: $panel; }
    FleetScreen #filter-bar > Label { width: auto; padding: 0 1; text-style: bold; color: $accent; }
    FleetScreen #filter { width: 1fr; height: 1; border: none; padding: 0; background: $panel; }
    FleetScreen #filter:focus { border: none; }
    FleetScreen FleetTable { height: 1fr; }
    FleetScreen #fleet-status { height: auto; max-height: 6; padding: 0 1; background: $panel;
                                color: $foreground-muted; }
    FleetScreen #console-pane { display: none; }
    FleetScreen.-console #console-pane { display: block; }
    FleetScreen.-console-full #hosts, FleetScreen.-console-full FleetTable,
    FleetScreen.-console-full #fleet-status { display: none; }
    """

    _tick_pending = False
    _ticked = 0.0  # time.monotonic() of the last `_tick`
    _counts: tuple[int, int] = (-1, -1)  # the rows shown and all rows, as the status line says
    _tick_timer: Timer | None = None
    _view_timer: Timer | None = None  # the settings file is written when it fires
    _view: tuple[str, bool, bool] | None = None  # the sort, its direction and the grouping to write
    _written: tuple[str, bool, bool] | None = None  # ... as the settings file has them
    _status_one_line = False
    _status_head = Text()
    _status_shown: Text | None = None

    def compose(self) -> ComposeResult:
        # the filter's prompt takes the footer's line while it is open, like a search in less or vim: a box
        # that pushed the table down made every `/` and Escape lay out and repaint the whole screen. It comes
        # first: Textual numbers the widgets from the last one, and one that comes and goes before the others
        # renumbers them all (each counts as moved, and the whole screen is drawn again)
        with Horizontal(id="filter-bar"):
            yield Label("Filter")
            # `/` edits the filter kept: the cursor at its end, nothing selected (a selection made the next
            # key replace it all)
            yield FilterBox(placeholder="web state:running !host:kvm-b cpu:>50 memory:>=2G tags:prod · Esc clears",
                            id="filter", select_on_focus=False)
        yield HostStrip(id="hosts")
        yield FleetTable(id="fleet-table")
        yield Static("", id="fleet-status")
        yield ConsolePane(id="console-pane")
        yield HvdeckFooter()

    @property
    def table(self) -> FleetTable:
        return self.query_one(FleetTable)

    def on_mount(self) -> None:
        self._statuses: dict[str, HostStatus] = {}  # each host's status as the strip last heard it
        view = self.hvdeck.settings.table  # the sort and grouping the user left the table in
        self._written = (view.sort, view.reverse, view.group_by_host)
        self.table.sort_by(view.sort, reverse=view.reverse)
        self.table.group_by_host = view.group_by_host
        self.watch(self.table, "group_by_host", self._remember_view, init=False)
        self.watch(self.query_one("#filter", Input), "value", self._filter_changed, init=False)
        self.table.set_hosts(self.hvdeck.host_names)
        self.table.set_history_source(self.hvdeck.store.cpu)
        self.table.set_host_tags({spec.name: spec.tags for spec in self.hvdeck.inventory.hosts})
        self.table.focus()
        self.refresh_from(self.hvdeck.snapshots.values())
        self.hvdeck.fleet_changed.subscribe(self, self._on_fleet_changed)
        self.set_interval(1.0, self._tick)
        self.console_pane.set_keys(self._console_keys())

    # -- data ---------------------------------------------------------------------------------------

    def _on_fleet_changed(self, snapshot: HostSnapshot) -> None:
        self.refresh_from([snapshot])

    def refresh_from(self, snapshots: Iterable[HostSnapshot]) -> None:
        table = self.table
        news = False  # a host's status changed: the strip says so at once
        for snapshot in snapshots:
            table.set_host_kind(snapshot.host, snapshot.kind)
            table.set_host_domains(snapshot.host, snapshot.domains, stale=snapshot.status is HostStatus.STALE)
            table.set_host_title(snapshot.host, self._host_title(snapshot))
            if self._statuses.get(snapshot.host) is not snapshot.status:
                self._statuses[snapshot.host] = snapshot.status
                news = True
        # otherwise the strip and the status line follow the polls at most every STRIP_S (keys redraw the
        # status at once, and so do rows that came or went): at 500 hosts snapshots land every few ms
        if (table.row_count, table.total_count) != self._counts:
            self._update_status()
        if news and self._tick_timer is not None:
            self._tick_timer.stop()
            self._tick_timer, self._tick_pending = None, False
        if not self._tick_pending:
            self._tick_pending = True
            delay = 0.0 if news else self._ticked + STRIP_S - time.monotonic()
            if delay > 0:
                self._tick_timer = self.set_timer(delay, self._tick, name="host strip")
            else:
                self.call_later(self._tick)

    def _host_title(self, snapshot: HostSnapshot) -> str:
        info = snapshot.info
        kind = f"{snapshot.kind} {info.version}" if info is not None and info.version else snapshot.kind
        parts = [kind]
        if info is not None and info.hypervisor:
            parts.append(info.hypervisor)
        parts += [snapshot.status.value, f"{len(snapshot.domains)} domains"]
        if info is not None:
            parts += list(info.notes)
        if snapshot.error:
            parts.append(snapshot.error)
        return " · ".join(parts)

    def _tick(self) -> None:
        self._tick_pending = False
        self._tick_timer = None
        self._ticked = time.monotonic()
        self.query_one(HostStrip).show(self.hvdeck.snapshots.values(), self.hvdeck.clock())
        self._update_status()

    def _update_status(self) -> None:
        """Counts, sort, filter (and what in it was not understood), the first host in trouble; then
        the highlighted domain (`_show_status`)."""
        table = self.table
        label = next(c.label for c in COLUMNS if c.key == table.sort_column)
        self._counts = (table.row_count, table.total_count)
        text = Text(f"{table.row_count} of {table.total_count} domains · sort {label} "
                    f"{'▼' if table.sort_reverse else '▲'}")
        if table.group_by_host:
            text.append(" · grouped by host")
        # the filter and what in it was not understood get what is left of the line (at least 10 cells
        # each), cut at their end: a status that wraps as keys change the filter pushes the table up and
        # down (the prompt shows the whole filter)
        width = self.query_one("#fleet-status").content_region.width
        if table.filter_text:
            text.append(" · filter: ")
            shown = fmt.visible(table.filter_text)
            room = max(10, width - text.cell_len - (23 if table.filter_error else 0))
            text.append(fmt.fit(shown, room) if fmt.cells(shown) > room else shown)
        if table.filter_error:
            error = fmt.visible(table.filter_error)
            room = max(10, width - text.cell_len - 3)
            text.append(f" · {fmt.fit(error, room) if fmt.cells(error) > room else error}", style="bold")
        if table.marked_keys:
            text.append(f" · {len(table.marked_keys)} marked (E evacuates them)")
        problems = [s for s in self.hvdeck.snapshots.values() if s.status in (HostStatus.ERROR, HostStatus.DOWN)]
        if problems:
            # the first host in trouble, its error cut to keep the line short (the host screen has it whole)
            first = problems[0]
            error = fmt.visible(first.error or first.status.value)
            if fmt.cells(error) > PROBLEM_CELLS:
                error = fmt.fit(error, PROBLEM_CELLS)
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            text.append(f" · {fmt.visible(first.host)}{more}: {error}")
        self._status_head = text
        self._show_status()

    @on(FleetTable.Highlighted)
    def _show_status(self) -> None:
        """The status line, with the highlighted domain's full name at its end when the table shows it
        cut: all that can change when the cursor moves (and, most often, nothing does)."""
        text = self._status_head
        table = self.table
        key = table.cursor_key
        if key is not None and table.is_cut(key):
            domain = table.domain(key)
            assert domain is not None
            text = text.copy()
            text.append(" · ")
            text.append(f"{fmt.visible(domain.host)} / ")
            text.append(fmt.visible(domain.name), style="bold")
        if text is self._status_shown:
            return
        self._status_shown = text
        status = self.query_one("#fleet-status", Static)
        # one line (the common case) stays one line: no layout of the screen at every cursor move
        one_line = text.cell_len <= status.content_region.width
        status.update(text, layout=not (one_line and self._status_one_line))
        self._status_one_line = one_line

    # -- domain actions ----------------------------------------------------------------------------

    def current_domain(self) -> Domain | None:
        return self.table.cursor_domain

    @on(FleetTable.MarksChanged)
    def _marks_changed(self) -> None:
        self._update_status()

    def action_evacuate(self) -> None:
        domain = self.table.cursor_domain
        open_evacuation(self.hvdeck, domain.host if domain is not None else None, self.table.marked_domains)

    @on(FleetTable.Selected)
    def _open(self, event: FleetTable.Selected) -> None:
        self.hvdeck.open_domain(event.key)

    # -- filter, sort, group -----------------------------------------------------------------------

    def action_filter(self) -> None:
        """Open the filter box and focus it at once, not after a refresh (`Widget.focus` defers): keys
        typed in the same burst as `/` are already queued behind it and must reach the box, not the
        table, where s, h, r, p and u are lifecycle keys. In the box, `/` is a character like any other
        (`check_action` lets it through)."""
        self.query_one("#filter-bar").display = True
        self.query_one(HvdeckFooter).hold(True)  # under the prompt: not recomposed for the box's keys
        self.set_focus(self.query_one("#filter", Input))

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        self._close_filter()

    def _close_filter(self) -> None:
        """Put the box away; the filter stays (the status line shows it, ``/`` edits it again)."""
        self.set_focus(self.table)
        self._hide_filter_bar()  # after the focus moved: the footer's keys are the ones it shows

    @on(events.DescendantBlur, "#filter")
    def _filter_left(self) -> None:
        if self.is_current:  # a click elsewhere closes it; a dialog over the screen does not
            self._hide_filter_bar()

    def _hide_filter_bar(self) -> None:
        self.query_one("#filter-bar").display = False
        self.query_one(HvdeckFooter).hold(False)

    def _filter_changed(self, value: str) -> None:
        """The box's text, as it changes (a watcher: in the same frame as the key that typed it, where
        `Input.Changed` would come a frame later: 20,000 rows are filtered before either is drawn)."""
        self.table.filter_text = value
        self._update_status()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self._close_filter()

    def set_filter(self, text: str) -> None:
        self.query_one("#filter", Input).value = text
        self.table.filter_text = text
        self._close_filter()
        self._update_status()

    @on(FleetTable.Sorted)
    def _sorted(self) -> None:
        self._remember_view()
        self._update_status()

    def _remember_view(self) -> None:
        """Write the table's sort and grouping back to the settings file (when hvdeck read one), once the
        user has stopped changing them for `REMEMBER_S` (``o`` pressed five times writes the file once,
        not in the middle of each keystroke), and at the latest when the screen goes."""
        table = self.table
        view = (table.sort_column, table.sort_reverse, table.group_by_host)
        if view == self._written:
            return
        self._view = view
        if self._view_timer is not None:
            self._view_timer.stop()
        self._view_timer = self.set_timer(REMEMBER_S, self._write_view, name="remember the table's view")

    def on_unmount(self) -> None:
        self._write_view()  # the table may be gone already: what to write was taken when it changed

    def _write_view(self) -> None:
        view, self._view = self._view, None
        if self._view_timer is not None:
            self._view_timer.stop()
            self._view_timer = None
        path = self.hvdeck.settings.path
        if path is None or view is None:
            return
        self._written = view
        try:
            save_view_state(path, *view)
        except (OSError, ValueError, ConfigFileError) as exc:
            self.notify(fmt.visible(f"could not remember the table's view in {path}: {exc}"), severity="warning",
                        markup=False)

    def action_toggle_group(self) -> None:
        self.table.group_by_host = not self.table.group_by_host
        self._update_status()

    def action_next_sort(self) -> None:
        table = self.table
        keys = COLUMN_KEYS
        table.sort_by(keys[(keys.index(table.sort_column) + 1) % len(keys)], reverse=False)
        self._update_status()

    def action_reverse_sort(self) -> None:
        self.table.sort_by(self.table.sort_column, reverse=not self.table.sort_reverse)
        self._update_status()

    def sort_by(self, column: str) -> None:
        self.table.sort_by(column, reverse=False)
        self._update_status()

    def action_host(self) -> None:
        domain = self.table.cursor_domain
        if domain is not None:
            self.hvdeck.open_host(domain.host)

    def action_create(self) -> None:
        domain = self.table.cursor_domain
        self.hvdeck.open_create(domain.host if domain is not None else None)

    def action_clone(self) -> None:
        self.hvdeck.open_clone(self.table.cursor_domain)

    def action_snapshots(self) -> None:
        self.hvdeck.open_snapshots(self.table.cursor_domain)
    def action_xentop(self) -> None:
        domain = self.table.cursor_domain
        if domain is not None:
            self.hvdeck.open_xentop(domain.host)

    def action_refresh_all(self) -> None:
        self.hvdeck.refresh_hosts()

    # -- the console pane: consoles as tabs under the table (`hvdeck.tui.console`) ------------------------

    @property
    def console_pane(self) -> ConsolePane:
        return self.query_one("#console-pane", ConsolePane)

    def in_console(self) -> bool:
        """Is the focus in the console pane (a terminal, or a tab's notice)?"""
        focused = self.focused
        return focused is not None and any(isinstance(node, ConsolePane) for node in focused.ancestors_with_self)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The console keys exist while a console is open; the table's keys (and the filter's `/`, a
        priority binding) do nothing while the focus is in the console pane: keys go to the guest there."""
        if action in CONSOLE_ACTIONS:
            pane = self.console_pane
            if not pane.tabs:
                return False
            if action == "console_log":
                tab = pane.active_tab
                return tab is not None and tab.state == "attached"
            return True
        if action == "filter" and self.focused is not None and self.focused.id == "filter":
            return False  # in the box `/` is a character: it reaches the box in order with the keys around it
        return not self.in_console()

    def open_console(self, domain: Domain, *, force: bool = False) -> None:
        """Show the pane and ``domain``'s console in it (its tab if open, else a new one), focused."""
        self.add_class("-console")
        self.run_worker(self.hvdeck.consoles.attach(self.console_pane, domain, force=force),
                        group="console", exit_on_error=False)
        self.refresh_bindings()

    def _console_keys(self) -> list[tuple[str, str]]:
        """The pane's keys for its border, as the settings bind them: the detach key first."""
        keymap = self.hvdeck.settings.keymap

        def key(binding_id: str, default: str) -> str:
            keys = keymap.get(binding_id)
            first = (keys if isinstance(keys, str) else ",".join(keys or ())).split(",")[0].strip()
            return key_label(first or default)

        return [(self.hvdeck.settings.console.detach_key, "detach"), (key("console.focus", "f6"), "table"),
                (key("console.maximize", "f11"), "split/full"),
                (f"{key('console.previous', 'ctrl+pageup')}/{key('console.next', 'ctrl+pagedown')}", "tabs"),
                (key("console.log", "f2"), "log")]

    def _tab_of(self, terminal: Terminal) -> ConsoleTab | None:
        return self.console_pane.tab_of(terminal)

    @on(Terminal.Output)
    def _console_input(self, event: Terminal.Output) -> None:
        event.stop()
        tab = self._tab_of(event.terminal)
        if tab is not None:
            self.hvdeck.consoles.write(tab.key, event.data)

    @on(Terminal.Resized)
    def _console_resized(self, event: Terminal.Resized) -> None:
        event.stop()
        tab = self._tab_of(event.terminal)
        if tab is not None:
            self.hvdeck.consoles.resize(tab.key, event.columns, event.rows)

    @on(Terminal.Detach)
    def _console_detach(self, event: Terminal.Detach) -> None:
        event.stop()
        tab = self._tab_of(event.terminal)
        if tab is not None:
            self._close_console(tab.key, "detached")

    @on(ConsolePane.Requested)
    def _console_request(self, event: ConsolePane.Requested) -> None:
        event.stop()
        tab = event.tab
        if event.action in ("reconnect", "force"):
            tab.clear_notice()
            tab.terminal.focus()
            self.hvdeck.consoles.connect(tab, force=event.action == "force")
        elif event.action == "close":
            self._close_console(tab.key, "closed")

    @on(ConsolePane.Switched)
    def _console_switched(self, event: ConsolePane.Switched) -> None:
        event.stop()
        if event.tab is None:
            self.remove_class("-console", "-console-full")
            self.table.focus()
        self.refresh_bindings()

    def _close_console(self, key: str, how: str) -> None:
        pane = self.console_pane
        tab = pane.tab(key)
        if tab is not None and tab.has_focus_within:
            self.table.focus()
        self.run_worker(self.hvdeck.consoles.close(pane, key, how), group="console", exit_on_error=False)

    def action_console_focus(self) -> None:
        """F6: between the table and the console pane."""
        tab = self.console_pane.active_tab
        if self.in_console() or tab is None:
            # to the table: out of a full-screen console first (the keys would act on a hidden table)
            self.remove_class("-console-full")
            self.table.focus()
        else:
            tab.focus_console()

    def action_console_maximize(self) -> None:
        """F11: the pane under the table, or the whole screen."""
        self.toggle_class("-console-full")
        if self.has_class("-console-full"):
            self._hide_filter_bar()
        tab = self.console_pane.active_tab
        if self.has_class("-console-full") and tab is not None and not self.in_console():
            tab.focus_console()

    def action_console_step(self, offset: int) -> None:
        tab = self.console_pane.step(offset)
        if tab is not None and self.in_console():
            tab.focus_console()

    def action_console_log(self) -> None:
        """F2: log the active console to a file (plain or raw), or stop logging it."""
        tab = self.console_pane.active_tab
        if tab is None:
            return
        consoles = self.hvdeck.consoles
        current = consoles.logging(tab.key)
        if current is not None:
            consoles.stop_log(tab.key)
            self.notify(fmt.visible(f"Stopped logging {tab.domain} to {current}"), markup=False)
            return
        session = consoles.sessions.get(tab.key)
        if session is None:
            return
        directory = self.hvdeck.settings.console.log_dir or Path("~/hvdeck-consoles")
        default = log_path(directory, session.domain)

        def chosen(answer: tuple[Path, bool] | None) -> None:
            if answer is not None:
                consoles.start_log(tab.key, answer[0], raw=answer[1])
            tab.focus_console()

        self.app.push_screen(ConsoleLogScreen(f"{tab.host} / {tab.domain}", default), chosen)

