"""The fleet table: every domain of every host in one sortable, filterable, live table.

Built for fleets of tens of thousands of domains: a line-API `ScrollView` over a plain row store and an
index (a list of row keys after filter, sort and grouping). Only visible lines are rendered, each row's
strip is cached by ``(key, version, cursor)``, and a refresh touches only the rows whose `Domain`
changed. Textual's `DataTable` takes seconds to load or filter 20,000 rows; this takes tens of
milliseconds (see benchmarks/table_scale.py).

Filter syntax: words match anywhere in a row (case-insensitive, all must match); ``field:value``
matches one field, e.g. ``host:kvm-a state:running``. Fields: host, name, id, state, native, console.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from hvdeck.backends.model import Domain, DomainState

from . import format as fmt


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    align: str = "left"  # left | right
    #: the sort value for a domain; None sorts last whichever the direction
    value: Callable[[Domain], object] | None = None


_STATE_ORDER = {s: i for i, s in enumerate(DomainState)}

# widths fit 120 columns (with the scrollbar gutter) until names get long; then the table scrolls sideways
COLUMNS: tuple[Column, ...] = (
    Column("host", "HOST", 8, value=lambda d: d.host.lower()),
    Column("name", "NAME", 10, value=lambda d: d.name.lower()),
    Column("id", "ID", 4, "right", value=lambda d: d.id),
    Column("state", "STATE", 10, value=lambda d: _STATE_ORDER[d.state]),
    Column("native", "NATIVE", 11, value=lambda d: d.native_state),
    Column("vcpus", "VCPU", 4, "right", value=lambda d: d.vcpus),
    Column("memory", "MEMORY", 6, "right", value=lambda d: d.memory_bytes),
    Column("cpu", "CPU%", 5, "right", value=lambda d: d.cpu_percent),
    Column("history", "CPU HIST", 10, value=lambda d: d.cpu_percent),
    Column("net", "NET RX/TX", 11, "right", value=lambda d: _sum(d.net_rx_bps, d.net_tx_bps)),
    Column("disk", "DISK RD/WR", 11, "right", value=lambda d: _sum(d.disk_rd_bps, d.disk_wr_bps)),
    Column("console", "CONS", 6, value=lambda d: d.console),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
_BY_KEY = {c.key: c for c in COLUMNS}
_FIELDS = {"host": "host", "name": "name", "id": "id", "state": "state", "native": "native_state",
           "console": "console"}
_GAP = 2


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None and b is None else (a or 0.0) + (b or 0.0)


def native(domain: Domain) -> str:
    """The host's own word for the state, with its flags where it has them (`active -n-cv-` on LDoms)."""
    flags = next((value for label, value in domain.extra if label == "flags"), None)
    return f"{domain.native_state} {flags}" if flags else domain.native_state


def cells(domain: Domain) -> tuple[str, ...]:
    """The text of each column for one domain (in COLUMNS order); the history is drawn at render time."""
    return (
        domain.host,
        domain.name,
        "-" if domain.id is None else str(domain.id),
        domain.state.value,
        native(domain),
        "-" if domain.vcpus is None else str(domain.vcpus),
        fmt.size(domain.memory_bytes),
        fmt.percent(domain.cpu_percent),
        "",
        fmt.pair(domain.net_rx_bps, domain.net_tx_bps),
        fmt.pair(domain.disk_rd_bps, domain.disk_wr_bps),
        domain.console or "-",
    )


class _Row:
    __slots__ = ("domain", "cells", "hay", "sort_values", "name", "history", "version")

    def __init__(self, domain: Domain, history: tuple[float | None, ...], version: int) -> None:
        self.domain = domain
        self.cells = cells(domain)
        self.hay = "\x00".join(self.cells).lower()
        # every column's sort value, once per change of the row rather than once per sort
        self.sort_values = tuple(c.value(domain) if c.value is not None else None for c in COLUMNS)
        self.name = domain.name.lower()
        self.history = history
        self.version = version


@dataclass(frozen=True, slots=True)
class _Group:
    host: str


class FleetTable(ScrollView, can_focus=True):
    """Domains of the whole fleet. The screen feeds it with `set_host_domains`.

    | Key | Action |
    | :- | :- |
    | up / k, down / j | Move the cursor. |
    | pageup / pagedown, home / end | Move by a page, to the top, to the bottom. |
    | enter | Open the domain (posts `FleetTable.Selected`). |
    """

    BINDINGS: list[BindingType] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(-1)", "Top", show=False),
        Binding("end", "edge(1)", "Bottom", show=False),
        Binding("G", "edge(1)", "Bottom", show=False),
        Binding("enter", "select", "Open", id="fleet-table.open", tooltip="Open the domain's screen"),
    ]

    COMPONENT_CLASSES = {
        "fleet-table--header",
        "fleet-table--cursor",
        "fleet-table--group",
        "fleet-table--stale",
        "fleet-table--sorted",
        "fleet-table--state-running",
        "fleet-table--state-paused",
        "fleet-table--state-stopped",
        "fleet-table--state-transition",
        "fleet-table--state-crashed",
        "fleet-table--state-unknown",
    }
    """
    | Class | Description |
    | :- | :- |
    | `fleet-table--header` | The column header line. |
    | `fleet-table--cursor` | The highlighted row. |
    | `fleet-table--group` | A host's group line when grouped by host. |
    | `fleet-table--stale` | Rows of a host whose data is stale (link lost, retrying). |
    | `fleet-table--sorted` | The header of the sort column. |
    | `fleet-table--state-*` | The STATE cell, per normalised state. |
    """

    DEFAULT_CSS = """
    FleetTable {
        background: $surface;
        scrollbar-gutter: stable;
        & > .fleet-table--header { background: $panel; color: $foreground; text-style: bold; }
        & > .fleet-table--sorted { color: $accent; text-style: bold underline; }
        & > .fleet-table--cursor { background: $block-cursor-blurred-background; }
        &:focus > .fleet-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
        & > .fleet-table--group { background: $boost; color: $primary; text-style: bold; }
        & > .fleet-table--stale { color: $warning-muted; text-style: italic; }
        & > .fleet-table--state-running { color: $success; }
        & > .fleet-table--state-paused { color: $warning; }
        & > .fleet-table--state-stopped { color: $foreground-muted; }
        & > .fleet-table--state-transition { color: $accent; }
        & > .fleet-table--state-crashed { color: $error; text-style: bold; }
        & > .fleet-table--state-unknown { color: $foreground-muted; text-style: italic; }
    }
    """

    class Selected(Message):
        """Enter (or a double click) on a row. Handler: ``on_fleet_table_selected``."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    class Highlighted(Message):
        """The cursor moved to another domain (key None: nothing to show). Handler:
        ``on_fleet_table_highlighted``."""

        def __init__(self, key: str | None) -> None:
            super().__init__()
            self.key = key

    sort_column: reactive[str] = reactive("host", init=False)
    """The column the rows are sorted by (one of COLUMN_KEYS)."""
    sort_reverse: reactive[bool] = reactive(False, init=False)
    """Descending order."""
    group_by_host: reactive[bool] = reactive(False, init=False)
    """Rows under a line per host, hosts in inventory order."""
    filter_text: reactive[str] = reactive("", init=False)
    """The filter (see the module docstring)."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: dict[str, _Row] = {}
        self._host_keys: dict[str, list[str]] = {}
        self._host_order: list[str] = []
        self._host_titles: dict[str, str] = {}
        self._name_width: dict[str, int] = {}
        self._native_width: dict[str, int] = {}
        self._stale: set[str] = set()
        # sort entries, kept sorted ascending: (value, host rank, name, key) for rows whose sort value is
        # known, (host rank, name, key) for the others, which always come last
        self._present: list[tuple] = []
        self._absent: list[tuple] = []
        self._entries: dict[str, tuple] = {}
        self._dirty = False
        self._resort = False
        self._host_rank: dict[str, int] = {}
        self._index: list[str | _Group] = []
        self._position: dict[str, int] = {}
        self._cursor = 0
        self._cursor_key: str | None = None
        self._version = 0
        self._widths = [c.width for c in COLUMNS]
        self._layout = 0
        self._strips: LRUCache[tuple, Strip] = LRUCache(2048)
        self._styles: dict[str, Style] = {}

    # -- data ---------------------------------------------------------------------------------------

    def set_hosts(self, hosts: Iterable[str]) -> None:
        """The inventory order of hosts (for grouping and the host sort)."""
        self._host_order = list(hosts)
        self._invalidate(resort=True)

    def set_host_title(self, host: str, title: str) -> None:
        """The text of a host's group line (status, kind, counts)."""
        if self._host_titles.get(host) != title:
            self._host_titles[host] = title
            self._strips.clear()
            self.refresh()

    def set_host_domains(self, host: str, domains: Iterable[Domain],
                         histories: dict[str, tuple[float | None, ...]] | None = None, *, stale: bool = False) -> int:
        """Replace one host's rows; only rows whose domain (or CPU history) changed get a new version.

        The index is rebuilt once, after the current batch of messages (many hosts reporting in one go
        cost one sort). Returns the number of rows added, changed or removed.
        """
        histories = histories or {}
        rows = self._rows
        old_keys = set(self._host_keys.get(host, ()))
        new_keys: list[str] = []
        changed = 0
        for domain in domains:
            key = domain.key
            new_keys.append(key)
            history = histories.get(key, ())
            row = rows.get(key)
            if row is not None and row.domain == domain and row.history == history:
                continue
            self._version += 1
            old = rows.get(key)
            rows[key] = _Row(domain, history, self._version)
            if old is None or old.domain != domain:
                self._place(key)
            changed += 1
        gone = old_keys.difference(new_keys)
        for key in gone:
            del rows[key]
            self._unplace(key)
        changed += len(gone)
        self._host_keys[host] = new_keys
        if changed:
            self._name_width[host] = max((len(rows[k].domain.name) for k in new_keys), default=0)
            self._native_width[host] = max((len(rows[k].cells[4]) for k in new_keys), default=0)
        if host not in self._host_order:
            self._host_order.append(host)
            self._invalidate(resort=True)  # host ranks changed
        if (host in self._stale) != stale:
            self._stale.symmetric_difference_update({host})
            changed += 1
            for key in new_keys:
                self._version += 1
                rows[key].version = self._version
        if changed:
            self._invalidate()
        return changed

    def remove_host(self, host: str) -> None:
        for key in self._host_keys.pop(host, []):
            self._rows.pop(key, None)
            self._unplace(key)
        self._name_width.pop(host, None)
        self._native_width.pop(host, None)
        self._invalidate()

    @property
    def row_count(self) -> int:
        """Rows shown (after the filter)."""
        self._flush()
        return len(self._position)

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def cursor_key(self) -> str | None:
        self._flush()
        return self._cursor_key

    @property
    def cursor_domain(self) -> Domain | None:
        key = self.cursor_key
        row = self._rows.get(key) if key else None
        return row.domain if row else None

    def domain(self, key: str) -> Domain | None:
        row = self._rows.get(key)
        return row.domain if row else None

    def visible_keys(self) -> list[str]:
        """Row keys in display order (for tests and exports)."""
        self._flush()
        return [e for e in self._index if isinstance(e, str)]

    def move_to(self, key: str) -> bool:
        """Put the cursor on a domain (if it is shown)."""
        self._flush()
        position = self._position.get(key)
        if position is None:
            return False
        self._set_cursor(position)
        return True

    # -- index: sort, filter, group -----------------------------------------------------------------
    #
    # The sort entries are kept sorted as rows change (a poll that changes a few rows moves only those
    # rows, by bisection); a new sort column re-sorts once. The index is the sorted keys, filtered (so
    # typing in the filter never sorts) and grouped, rebuilt once per batch of changes.

    def _invalidate(self, *, resort: bool = False) -> None:
        self._resort = self._resort or resort
        if not self._dirty:
            self._dirty = True
            self.call_later(self._flush)

    def _flush(self) -> None:
        if not self._dirty and not self._resort:
            return
        self._dirty = False
        if self._resort:
            self._resort = False
            self._sort()
        self._reindex()

    def _entry(self, key: str, column: Column) -> tuple[bool, tuple]:
        """(known, entry) of one row for a sort column (`_sort` does the same for every row at once)."""
        row = self._rows[key]
        tie = (self._host_rank.get(row.domain.host, 1 << 30), row.name, key)
        if column.key == "host":
            return True, tie
        value = row.sort_values[COLUMN_KEYS.index(column.key)]
        return (False, tie) if value is None else (True, (value, *tie))

    def _place(self, key: str) -> None:
        """Put a new or changed row where it sorts (unless a full sort is due anyway)."""
        if self._resort:
            return
        self._unplace(key)
        known, entry = self._entry(key, _BY_KEY[self.sort_column])
        bisect.insort(self._present if known else self._absent, entry)
        self._entries[key] = (known, entry)

    def _unplace(self, key: str) -> None:
        placed = self._entries.pop(key, None)
        if placed is None or self._resort:
            return
        known, entry = placed
        entries = self._present if known else self._absent
        i = bisect.bisect_left(entries, entry)
        if i < len(entries) and entries[i] == entry:
            del entries[i]

    def _sort(self) -> None:
        """Every row's entry for the sort column, sorted: `_entry` inlined, as this is the one loop over
        all rows that a keystroke (a new sort column) pays for."""
        rank = self._host_rank = {h: i for i, h in enumerate(self._host_order)}
        by_host = self.sort_column == "host"
        index = COLUMN_KEYS.index(self.sort_column)
        far = 1 << 30
        present, absent, entries = [], [], {}
        for key, row in self._rows.items():
            r = rank.get(row.domain.host, far)
            v = None if by_host else row.sort_values[index]
            if by_host or v is None:
                entry = (r, row.name, key)
                (present if by_host else absent).append(entry)
                entries[key] = (by_host, entry)
            else:
                entry = (v, r, row.name, key)
                present.append(entry)
                entries[key] = (True, entry)
        present.sort()
        absent.sort()
        self._present, self._absent, self._entries = present, absent, entries

    def _ordered(self) -> list[str]:
        present = reversed(self._present) if self.sort_reverse else self._present
        return [e[-1] for e in present] + [e[-1] for e in self._absent]

    def _filtered(self) -> list[str]:
        terms = self.filter_text.lower().split()
        rows = self._rows
        if not terms:
            return self._ordered()
        plain = [t for t in terms if ":" not in t or t.split(":", 1)[0] not in _FIELDS]
        fields = [(_FIELDS[t.split(":", 1)[0]], t.split(":", 1)[1]) for t in terms if t not in plain]
        keys = self._ordered()
        for term in plain:
            keys = [k for k in keys if term in rows[k].hay]
        for attr, wanted in fields:
            if attr == "state":
                keys = [k for k in keys if wanted in rows[k].domain.state.value]
            else:
                keys = [k for k in keys if wanted in str(getattr(rows[k].domain, attr) or "").lower()]
        return keys

    def _reindex(self) -> None:
        keys = self._filtered()
        index: list[str | _Group]
        if self.group_by_host:
            by_host: dict[str, list[str]] = {}
            for key in keys:
                by_host.setdefault(self._rows[key].domain.host, []).append(key)
            index = []
            for host in self._host_order:
                if host in by_host or (not self.filter_text.strip() and host in self._host_keys):
                    index.append(_Group(host))
                    index.extend(by_host.get(host, ()))
        else:
            index = list(keys)
        self._index = index
        self._position = {e: i for i, e in enumerate(index) if isinstance(e, str)}
        self._update_widths()
        self.virtual_size = Size(sum(self._widths) + _GAP * (len(COLUMNS) - 1), len(index) + 1)
        # keep the cursor on the same domain when rows move
        if self._cursor_key is not None and self._cursor_key in self._position:
            self._cursor = self._position[self._cursor_key]
        else:
            self._cursor = min(self._cursor, max(0, len(index) - 1))
            self._cursor = self._nearest_row(self._cursor, 1)
            self._emit_highlight()
        self.refresh()

    def _update_widths(self) -> None:
        widths = [c.width for c in COLUMNS]
        host_w = max((len(h) for h in self._host_keys), default=4)
        name_w = max(self._name_width.values(), default=4)
        widths[4] = max(widths[4], min(max(self._native_width.values(), default=0), 18))
        widths[0] = max(widths[0], min(host_w, 20))
        widths[1] = max(widths[1], min(name_w, 32))
        if widths != self._widths:
            self._widths = widths
            self._layout += 1
            self._strips.clear()

    def _nearest_row(self, position: int, step: int) -> int:
        """The nearest position at or after ``position`` (in direction ``step``) that is a row."""
        index = self._index
        p = position
        while 0 <= p < len(index) and not isinstance(index[p], str):
            p += step
        if 0 <= p < len(index):
            return p
        p = position
        while 0 <= p < len(index) and not isinstance(index[p], str):
            p -= step
        return p if 0 <= p < len(index) else 0

    def watch_sort_column(self) -> None:
        # row strips do not depend on the sort (the header's cache key has the column and direction)
        self._invalidate(resort=True)
        self._flush()

    def watch_sort_reverse(self) -> None:
        self._invalidate()
        self._flush()

    def watch_group_by_host(self) -> None:
        self._invalidate()
        self._flush()

    def watch_filter_text(self) -> None:
        self._invalidate()
        self._flush()
        self._scroll_cursor_visible()

    def sort_by(self, column: str, *, reverse: bool | None = None) -> None:
        if column not in _BY_KEY:
            raise ValueError(f"no column {column!r}")
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        same_column = column == self.sort_column
        self.set_reactive(FleetTable.sort_reverse, reverse)
        if same_column:  # assigning the same value would not fire the watcher
            self.watch_sort_reverse()
        else:
            self.sort_column = column

    # -- cursor -------------------------------------------------------------------------------------

    def _set_cursor(self, position: int) -> None:
        if not self._index:
            return
        position = max(0, min(position, len(self._index) - 1))
        old = self._cursor
        self._cursor = position
        entry = self._index[position]
        if isinstance(entry, str) and entry != self._cursor_key:
            self._cursor_key = entry
            self._emit_highlight()
        self._scroll_cursor_visible()
        self.refresh_line(old - self.scroll_offset.y + 1)
        self.refresh_line(position - self.scroll_offset.y + 1)

    def _emit_highlight(self) -> None:
        entry = self._index[self._cursor] if 0 <= self._cursor < len(self._index) else None
        key = entry if isinstance(entry, str) else None
        self._cursor_key = key
        self.post_message(self.Highlighted(key))

    def _scroll_cursor_visible(self) -> None:
        rows = max(1, self.scrollable_content_region.height - 1)
        top = self.scroll_offset.y
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + rows:
            self.scroll_to(y=self._cursor - rows + 1, animate=False)

    def action_cursor(self, step: int) -> None:
        self._flush()
        target = self._cursor + step
        if 0 <= target < len(self._index) and not isinstance(self._index[target], str):
            target += step
        if 0 <= target < len(self._index):
            self._set_cursor(target)

    def action_page(self, direction: int) -> None:
        self._flush()
        rows = max(1, self.scrollable_content_region.height - 1)
        target = max(0, min(len(self._index) - 1, self._cursor + direction * rows))
        self._set_cursor(self._nearest_row(target, direction))

    def action_edge(self, direction: int) -> None:
        self._flush()
        target = 0 if direction < 0 else len(self._index) - 1
        self._set_cursor(self._nearest_row(target, -direction if direction > 0 else 1))

    def action_select(self) -> None:
        self._flush()
        if self._cursor_key is not None:
            self.post_message(self.Selected(self._cursor_key))

    def on_click(self, event: events.Click) -> None:
        self._flush()
        if event.y == 0:
            column = self._column_at(event.x + self.scroll_offset.x)
            if column is not None:
                self.sort_by(column)
            return
        position = self.scroll_offset.y + event.y - 1
        if 0 <= position < len(self._index) and isinstance(self._index[position], str):
            self._set_cursor(position)
            if event.chain >= 2:
                self.action_select()

    def _column_at(self, x: int) -> str | None:
        left = 0
        for column, width in zip(COLUMNS, self._widths):
            if left <= x < left + width + _GAP:
                return column.key
            left += width + _GAP
        return None

    # -- rendering ----------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name, partial=True)
        return style

    def render_line(self, y: int) -> Strip:
        self._flush()
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self._base_style()
        fill = base
        if y == 0:
            strip = self._header()
            fill = base + self._style("fleet-table--header")
        else:
            position = scroll_y + y - 1
            if position >= len(self._index):
                return Strip.blank(width, base)
            entry = self._index[position]
            if isinstance(entry, _Group):
                strip = self._group_line(entry)
                fill = base + self._style("fleet-table--group")
            else:
                strip = self._row_line(entry, position == self._cursor)
                if position == self._cursor:
                    fill = base + self._style("fleet-table--cursor")
        return strip.crop_extend(scroll_x, scroll_x + width, fill)

    def _fit(self, text: str, width: int, align: str) -> str:
        if len(text) > width:
            return text[: max(0, width - 1)] + "…" if width > 1 else text[:width]
        return text.rjust(width) if align == "right" else text.ljust(width)

    def _header(self) -> Strip:
        key = ("header", self._layout, self.sort_column, self.sort_reverse)
        strip = self._strips.get(key)
        if strip is None:
            header = self._base_style() + self._style("fleet-table--header")
            sorted_style = header + self._style("fleet-table--sorted")
            segments = []
            for i, (column, width) in enumerate(zip(COLUMNS, self._widths)):
                label = column.label
                if column.key == self.sort_column:
                    label += " ▼" if self.sort_reverse else " ▲"
                style = sorted_style if column.key == self.sort_column else header
                segments.append(Segment(self._fit(label, width, column.align), style))
                if i < len(COLUMNS) - 1:
                    segments.append(Segment(" " * _GAP, header))
            strip = Strip(segments).extend_cell_length(self.virtual_size.width, header)
            self._strips[key] = strip
        return strip

    def _group_line(self, group: _Group) -> Strip:
        key = ("group", group.host, self._layout, self._host_titles.get(group.host, ""))
        strip = self._strips.get(key)
        if strip is None:
            style = self._base_style() + self._style("fleet-table--group")
            count = len(self._host_keys.get(group.host, ()))
            title = self._host_titles.get(group.host) or f"{count} domains"
            strip = Strip([Segment(f"▾ {group.host}  {title}", style)]).extend_cell_length(
                self.virtual_size.width, style)
            self._strips[key] = strip
        return strip

    def _row_line(self, key: str, is_cursor: bool) -> Strip:
        row = self._rows[key]
        cache_key = (key, row.version, is_cursor, self._layout)
        strip = self._strips.get(cache_key)
        if strip is not None:
            return strip
        base = self._base_style()
        if row.domain.host in self._stale:
            base = base + self._style("fleet-table--stale")
        state_style = base + self._style(f"fleet-table--state-{row.domain.state.value}")
        if is_cursor:  # the cursor's colours win, for contrast; the state keeps its weight (bold crashed)
            cursor = self._style("fleet-table--cursor")
            base, state_style = base + cursor, state_style + cursor
        # one segment per run of one style (five, not two dozen): strips are built for every newly
        # visible row after a sort or a filter
        gap = " " * _GAP
        segments: list[Segment] = []
        run: list[str] = []
        run_style = base
        for i, (column, width) in enumerate(zip(COLUMNS, self._widths)):
            text = row.cells[i] if column.key != "history" else fmt.sparkline(row.history, width, top=100.0)
            style = state_style if column.key in ("state", "history") else base
            if style is not run_style and run:
                segments.append(Segment("".join(run), run_style))
                run = []
            run_style = style
            run.append(self._fit(text, width, column.align))
            if i < len(COLUMNS) - 1:
                if style is not base:
                    segments.append(Segment("".join(run), run_style))
                    run, run_style = [], base
                run.append(gap)
        segments.append(Segment("".join(run), run_style))
        strip = Strip(segments).extend_cell_length(self.virtual_size.width, base)
        self._strips[cache_key] = strip
        return strip

    def _base_style(self) -> Style:
        style = self._styles.get("")
        if style is None:
            style = self._styles[""] = self.rich_style
        return style

    def on_focus(self) -> None:
        self.notify_style_update()
        self.refresh()

    def on_blur(self) -> None:
        self.notify_style_update()
        self.refresh()

