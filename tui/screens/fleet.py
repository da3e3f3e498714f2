"""The fleet screen: host strip, the live domain table of every host, filter, sort, group."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from hvdeck.backends.inventory import ConfigFileError
from hvdeck.backends.model import Domain, HostSnapshot, HostStatus
from hvdeck.backends.settings import save_view_state
from hvdeck.widgets import format as fmt
from hvdeck.widgets.fleet_table import COLUMN_KEYS, COLUMNS, FleetTable
from hvdeck.widgets.host_strip import HostStrip

from .actions import ACTION_BINDINGS, DomainActions
from .base import HvdeckFooter, HvdeckScreen


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
        Binding("X", "xentop", "xentop", show=False, id="fleet.xentop",
                tooltip="The highlighted domain's Xen dom0, as xentop shows it, live"),
        Binding("ctrl+r", "refresh_all", "Refresh", show=False, id="fleet.refresh",
                tooltip="Poll every host now"),
    ]

    DEFAULT_CSS = """
    FleetScreen #filter { dock: top; display: none; height: 3; }
    FleetScreen #filter.-active { display: block; }
    FleetScreen FleetTable { height: 1fr; }
    FleetScreen #fleet-status { height: auto; max-height: 6; padding: 0 1; background: $panel;
                                color: $foreground-muted; }
    """

    _tick_pending = False
    _status_one_line = False
    _status_head = Text()
    _status_shown: Text | None = None

    def compose(self) -> ComposeResult:
        yield HostStrip(id="hosts")
        yield Input(placeholder="web state:running !host:kvm-b cpu:>50 memory:>=2G tags:prod · Esc clears",
                    id="filter")
        yield FleetTable(id="fleet-table")
        yield Static("", id="fleet-status")
        yield HvdeckFooter()

    @property
    def table(self) -> FleetTable:
        return self.query_one(FleetTable)

    def on_mount(self) -> None:
        view = self.hvdeck.settings.table  # the sort and grouping the user left the table in
        self.table.sort_by(view.sort, reverse=view.reverse)
        self.table.group_by_host = view.group_by_host
        for attribute in ("sort_column", "sort_reverse", "group_by_host"):
            self.watch(self.table, attribute, self._remember_view, init=False)
        self.table.set_hosts(self.hvdeck.host_names)
        self.table.set_history_source(self.hvdeck.store.cpu)
        self.table.set_host_tags({spec.name: spec.tags for spec in self.hvdeck.inventory.hosts})
        self.table.focus()
        self.refresh_from(self.hvdeck.snapshots.values())
        self.hvdeck.fleet_changed.subscribe(self, self._on_fleet_changed)
        self.set_interval(1.0, self._tick)

    # -- data ---------------------------------------------------------------------------------------

    def _on_fleet_changed(self, snapshot: HostSnapshot) -> None:
        self.refresh_from([snapshot])

    def refresh_from(self, snapshots: Iterable[HostSnapshot]) -> None:
        table = self.table
        for snapshot in snapshots:
            table.set_host_kind(snapshot.host, snapshot.kind)
            table.set_host_domains(snapshot.host, snapshot.domains, stale=snapshot.status is HostStatus.STALE)
            table.set_host_title(snapshot.host, self._host_title(snapshot))
        # the strip and the status line are redrawn once per batch of snapshots, not once per host
        if not self._tick_pending:
            self._tick_pending = True
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
        self.query_one(HostStrip).show(self.hvdeck.snapshots.values(), self.hvdeck.clock())
        self._update_status()

    def _update_status(self) -> None:
        """Counts, sort, filter (and what in it was not understood), the first host in trouble; then
        the highlighted domain (`_show_status`)."""
        table = self.table
        label = next(c.label for c in COLUMNS if c.key == table.sort_column)
        text = Text(f"{table.row_count} of {table.total_count} domains · sort {label} "
                    f"{'▼' if table.sort_reverse else '▲'}")
        if table.group_by_host:
            text.append(" · grouped by host")
        if table.filter_text:
            text.append(" · filter: ")
            text.append(fmt.visible(table.filter_text))
        if table.filter_error:
            text.append(f" · {table.filter_error}", style="bold")
        problems = [s for s in self.hvdeck.snapshots.values() if s.status in (HostStatus.ERROR, HostStatus.DOWN)]
        if problems:
            first = problems[0]
            text.append(f" · {fmt.visible(first.host)}: {fmt.visible(first.error or first.status.value)}")
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

    @on(FleetTable.Selected)
    def _open(self, event: FleetTable.Selected) -> None:
        self.hvdeck.open_domain(event.key)

    # -- filter, sort, group -----------------------------------------------------------------------

    def action_filter(self) -> None:
        """Open the filter box and focus it at once, not after a refresh (`Widget.focus` defers): keys
        typed in the same burst as `/` are already queued behind it and must reach the box, not the
        table, where s, h, r, p and u are lifecycle keys."""
        box = self.query_one("#filter", Input)
        box.add_class("-active")
        box.display = True
        self.set_focus(box)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-active")
        box.display = False
        self.set_focus(self.table)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.filter_text = event.value
        self._update_status()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.value:
            box.remove_class("-active")
            box.display = False
        self.set_focus(self.table)

    def set_filter(self, text: str) -> None:
        box = self.query_one("#filter", Input)
        box.value = text
        box.set_class(bool(text), "-active")
        box.display = bool(text)
        self.table.filter_text = text
        self.set_focus(self.table)
        self._update_status()

    def _remember_view(self) -> None:
        """Write the table's sort and grouping back to the settings file (when hvdeck read one)."""
        path = self.hvdeck.settings.path
        if path is None:
            return
        table = self.table
        try:
            save_view_state(path, table.sort_column, table.sort_reverse, table.group_by_host)
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

    def action_xentop(self) -> None:
        domain = self.table.cursor_domain
        if domain is not None:
            self.hvdeck.open_xentop(domain.host)

    def action_refresh_all(self) -> None:
        self.hvdeck.refresh_hosts()
