"""The fleet table: every domain of every host in one sortable, filterable, live table.

Built for fleets of tens of thousands of domains: a line-API `ScrollView` over a plain row store and an
index (a list of row keys after filter, sort and grouping). Only visible lines are rendered, each row's
strip is cached by ``(key, version, cursor, layout)``, and a refresh touches only the rows whose `Domain`
changed. Textual's `DataTable` takes seconds to load or filter 20,000 rows; this takes tens of
milliseconds (see benchmarks/table_scale.py).

Layout: columns are measured in terminal cells (a CJK name takes two cells a character). HOST and NAME
stay put when the table scrolls sideways; when the table is narrow, the other columns give way in
`PRIORITY` order (CPU HIST first, STATE last) and move to the right, past the screen's edge, where
scrolling sideways shows them. NAME widens while there is room; a name that must be cut is cut so that
no two names look alike (`format.distinct_cuts`).

Filter syntax (`Filter`): words match anywhere in a row (case-insensitive; every word must match, and
the host's kind and inventory tags count as part of the row); ``field:value`` matches one field;
``!`` before a word or a field negates it. Text fields match a part of the value: host, name, state,
native, cons, flags, kind, tags. Number fields take a value, or a comparison: id, vcpus, cpu (``cpu:>50``),
memory, net, disk (bytes, or with a binary unit K M G T: ``memory:>=2G``, ``net:>1M`` for bytes per
second). An unknown field is named in `FleetTable.filter_error` and the rest of the filter applies.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import gc
import operator
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, cast

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

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

# the widths are the least each column takes; HOST, NAME and NATIVE grow with their text
COLUMNS: tuple[Column, ...] = (
    Column("host", "HOST", 4, value=lambda d: d.host.lower()),
    Column("name", "NAME", 4, value=lambda d: d.name.lower()),
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
_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
_HOST, _NAME, _STATE, _NATIVE, _HISTORY = (_INDEX[k] for k in ("host", "name", "state", "native", "history"))
_GAP = 2
_FAR = 1 << 30  # the rank of a host the inventory order has not named yet

#: The columns besides HOST and NAME, most useful first: a narrow table shows a prefix of this list and
#: moves the rest past its right edge. ``+name`` is where NAME widens to `NAME_ROOMY` (before NATIVE and
#: CPU HIST get room), after which NAME takes whatever room is left, up to its longest name.
PRIORITY = ("state", "cpu", "memory", "vcpus", "console", "id", "net", "disk", "+name", "native", "history")
NAME_MIN = 10
#: seconds: rows that polls move (a new CPU % under a CPU sort, a row that now passes the filter) take
#: their new places at most this often; keys, new rows and rows gone rebuild the index at once
REINDEX_S = 0.5
NAME_ROOMY = 24
HOST_MAX = 20
NATIVE_MAX = 18


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None and b is None else (a or 0.0) + (b or 0.0)


def flags(domain: Domain) -> str | None:
    """The domain's flags as its host prints them (LDoms ``-n-cv-``), if it has any."""
    return domain.flags


native = fmt.native  # the NATIVE column, as `hvdeck ls` prints it too


def cells(domain: Domain) -> tuple[str, ...]:
    """The text of each column for one domain (in COLUMNS order), host text made visible
    (`format.visible`); the history is drawn at render time."""
    return (
        _shown(domain.host)[0],
        _shown(domain.name)[0],
        "-" if domain.id is None else str(domain.id),
        domain.state.value,
        _shown(native(domain))[0],
        "-" if domain.vcpus is None else str(domain.vcpus),
        _size(domain.memory_bytes),
        fmt.percent(domain.cpu_percent),
        "",
        fmt.pair(domain.net_rx_bps, domain.net_tx_bps),
        fmt.pair(domain.disk_rd_bps, domain.disk_wr_bps),
        _shown(domain.console or "-")[0],
    )


#: memory sizes repeat from poll to poll too
_size = functools.lru_cache(maxsize=1 << 12)(fmt.size)


def plan_columns(available: int, widths: Mapping[str, int]) -> tuple[tuple[str, ...], int, int, int]:
    """Which columns a table ``available`` cells wide shows, and how wide NAME is.

    ``widths`` is each column's natural width (NAME's is its longest name). Returns ``(order, shown,
    name, spare)``: every column key, the shown ones first (in COLUMNS order), then those past the right
    edge; how many are shown; NAME's width; the cells left over after the shown columns. HOST and NAME
    are always shown.
    """
    name_full = widths["name"]
    name = min(name_full, NAME_MIN)
    used = widths["host"] + _GAP + name
    shown = {"host", "name"}
    for key in PRIORITY:
        if key == "+name":
            grow = min(max(0, min(name_full, NAME_ROOMY) - name), max(0, available - used))
            name += grow
            used += grow
            continue
        need = _GAP + widths[key]
        if used + need > available:
            break
        shown.add(key)
        used += need
    grow = min(max(0, name_full - name), max(0, available - used))
    name += grow
    used += grow
    order = tuple(k for k in COLUMN_KEYS if k in shown) + tuple(k for k in COLUMN_KEYS if k not in shown)
    return order, len(shown), name, max(0, available - used)


@functools.lru_cache(maxsize=1 << 16)
def _shown(text: str) -> tuple[str, int]:
    """Host text as a cell shows it (`format.visible`) and its width in terminal cells: names and native
    states repeat from poll to poll, so each is worked out once."""
    shown = fmt.visible(text)
    return shown, fmt.cells(shown)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold Python's cycle collector while a loop makes 20,000 tuples: it would otherwise run some thirty
    young collections in the middle of the keystroke (5-10 ms each for the middle generation in a console
    at fleet size); one runs after, over tuples that it then stops tracking (they hold no containers)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _find(index: list[str | _Group], key: str | None) -> int:
    """The position of ``key`` in ``index``, or -1."""
    try:
        return index.index(key) if key is not None else -1
    except ValueError:
        return -1


def _sorted_label(label: str, arrow: str, width: int, gap: str, align: str) -> tuple[str, str]:
    """The sorted column's header, with its arrow, as (text, rest of the gap): the arrow may take the
    first cell of the gap after the column, so that sorting never widens a column (the columns would
    shift as the sort moves, and the whole table would be laid out again)."""
    if gap and align == "right":  # the label stays over the figures' last digits
        return fmt.fit(label, width, "right") + arrow, gap[1:]
    room = width + (len(gap) - 1 if gap else 0)  # one space is left before the next column
    spaced = f"{label} {arrow}"
    text = fmt.pad(spaced, room) if fmt.cells(spaced) <= room else fmt.fit(label, room - 1) + arrow
    return text, gap[-1:]


class _Row:
    """One domain's row: its texts and filter text, made when a poll brings a changed domain (some
    10,000 a second at 500 hosts, so kept cheap), and its sort values, worked out when sorted by."""

    __slots__ = ("cells", "domain", "hay", "host", "name", "name_width", "version")

    def __init__(self, domain: Domain, version: int) -> None:
        self.domain = domain
        self.host = domain.host
        self.cells = cells(domain)
        self.hay = "\x00".join(self.cells).lower()
        self.name = domain.name.lower()
        self.name_width = _shown(domain.name)[1]  # the cells that set NAME's width
        self.version = version

    @property
    def native_width(self) -> int:
        return _shown(native(self.domain))[1]

    def value(self, i: int) -> object:
        """Column ``i``'s sort value (None sorts last)."""
        get = COLUMNS[i].value
        return None if get is None else get(self.domain)


@dataclass(frozen=True, slots=True)
class _Group:
    host: str


# -- the filter -----------------------------------------------------------------------------------------

_TEXT_FIELDS = {"host": _HOST, "name": _NAME, "state": _STATE, "native": _NATIVE, "cons": _INDEX["console"]}
_SIZED = {"memory", "net", "disk"}  # number fields that take a unit (id, vcpus and cpu do not)
#: every field, in the order the table shows them (for the error that names them)
FIELDS = ("host", "name", "id", "state", "native", "flags", "vcpus", "memory", "cpu", "net", "disk", "cons",
          "kind", "tags")
_ALIASES = {"console": "cons", "vcpu": "vcpus", "mem": "memory", "cpu%": "cpu", "tag": "tags", "flag": "flags"}
_FIELD_TERM = re.compile(r"([a-z%]+):(.*)", re.S)
_COMPARISON = re.compile(r"(>=|<=|>|<|=)?\s*([0-9]*\.?[0-9]+)\s*([kmgtp]?)(i?b)?%?", re.I)
_OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "=": operator.eq,
              None: operator.eq}
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}

#: a test on one row
Test = Callable[[_Row], bool]


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter: the words and field tests every shown row passes, and what was not understood
    (or None). Host facts (kind, tags) are read through the mappings given to `parse`, so that the filter
    sees later changes to them."""

    words: tuple[tuple[bool, str], ...] = ()  # (negated, word)
    tests: tuple[tuple[bool, Test], ...] = ()  # (negated, test)
    error: str | None = None
    host_hay: Mapping[str, str] = field(default_factory=dict)  # host -> its kind and tags, for plain words
    #: word -> the hosts whose kind or tags have it; cleared when ``host_hay`` changes (`FleetTable`)
    word_hosts: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, host_kinds: Mapping[str, str], host_tags: Mapping[str, tuple[str, ...]],
              host_hay: Mapping[str, str]) -> "Filter":
        """``text`` as typed (see the module docstring)."""
        words: list[tuple[bool, str]] = []
        tests: list[tuple[bool, Test]] = []
        errors: list[str] = []
        for term in text.lower().split():
            negated = term.startswith("!")
            term = term[1:] if negated else term
            if not term:
                continue
            match = _FIELD_TERM.fullmatch(term)
            if match is None:
                words.append((negated, term))
                continue
            name, value = match.groups()
            name = _ALIASES.get(name, name)
            if name not in FIELDS:
                errors.append(f"unknown field {name}: (fields: {', '.join(FIELDS)})")
                continue
            if not value:
                continue  # still being typed
            test = _field_test(name, value, host_kinds, host_tags)
            if isinstance(test, str):
                errors.append(test)
            else:
                tests.append((negated, test))
        return cls(tuple(words), tuple(tests), "; ".join(errors) or None, host_hay)

    def apply(self, keys: list[str], rows: Mapping[str, _Row]) -> list[str]:
        """The ``keys`` whose rows pass, in the same order. Words are matched inline: this is the loop
        over every row that a keystroke in the filter pays for."""
        for negated, word in self.words:
            hosts = self.word_hosts.get(word)
            if hosts is None:  # once per word, not once per poll: a poll filters its 40 rows, not 500 hosts
                hosts = self.word_hosts[word] = frozenset(h for h, hay in self.host_hay.items() if word in hay)
            if hosts:
                keys = [k for k in keys if (word in rows[k].hay or rows[k].host in hosts) is not negated]
            elif negated:
                keys = [k for k in keys if word not in rows[k].hay]
            else:
                keys = [k for k in keys if word in rows[k].hay]
        for negated, test in self.tests:
            keys = [k for k in keys if test(rows[k]) is not negated]
        return keys


def _field_test(name: str, value: str, host_kinds: Mapping[str, str],
                host_tags: Mapping[str, tuple[str, ...]]) -> Test | str:
    """The test for ``name:value``, or the error text if ``value`` does not suit the field."""
    if name in _TEXT_FIELDS:
        i = _TEXT_FIELDS[name]
        return lambda r: value in r.cells[i].lower()
    if name == "flags":
        return lambda r: value in fmt.visible(flags(r.domain) or "").lower()
    if name == "kind":
        return lambda r: value in host_kinds.get(r.host, "")
    if name == "tags":
        return lambda r: any(value in t for t in host_tags.get(r.host, ()))
    match = _COMPARISON.fullmatch(value)
    if match is None or ((match.group(3) or match.group(4)) and name not in _SIZED):
        example = {"cpu": "cpu:>50", "memory": "memory:>=2G", "net": "net:>1M", "disk": "disk:>1M"}.get(
            name, f"{name}:>2")
        return f"{name}:{value} is not a number to compare (e.g. {example})"
    op, number, unit, _bytes = match.groups()
    wanted = float(number) * _UNITS[unit.lower()]
    compare = _OPERATORS[op]
    i = _INDEX[name]
    if name == "cpu" and op in (None, "="):  # as the table shows it, to one decimal
        return lambda r: (v := r.value(i)) is not None and round(cast(float, v), 1) == wanted
    return lambda r: (v := r.value(i)) is not None and compare(cast(float, v), wanted)


class FleetTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Domains of the whole fleet. The screen feeds it with `set_host_domains`.

    | Key | Action |
    | :- | :- |
    | up / k, down / j | Move the cursor. |
    | pageup / pagedown, home / end | Move by a page, to the top, to the bottom. |
    | left / right | Scroll sideways (HOST and NAME stay put). |
    | enter | Open the domain (posts `FleetTable.Selected`). |
    | space | Mark or unmark the domain (posts `FleetTable.MarksChanged`), as k9s marks rows. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("right", "columns(1)", "Scroll right", show=False),
        Binding("left", "columns(-1)", "Scroll left", show=False),
        Binding("home", "edge(-1)", "Top", show=False),
        Binding("end", "edge(1)", "Bottom", show=False),
        Binding("G", "edge(1)", "Bottom", show=False),
        Binding("enter", "select", "Open", id="fleet-table.open", tooltip="Open the domain's screen"),
        Binding("space", "toggle_mark", "Mark", id="fleet-table.mark", show=False,
                tooltip="Mark or unmark the domain (E evacuates the marked ones)"),
    ]

    COMPONENT_CLASSES = {
        "fleet-table--header",
        "fleet-table--cursor",
        "fleet-table--marked",
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
    | `fleet-table--marked` | A marked row (Space). |
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
        & > .fleet-table--marked { background: $accent-muted; text-style: bold; }
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

    class MarksChanged(Message):
        """Domains were marked or unmarked; ``keys`` are the marked rows' keys in the order they were
        marked. Handler: ``on_fleet_table_marks_changed``."""

        def __init__(self, keys: tuple[str, ...]) -> None:
            super().__init__()
            self.keys = keys

    class Sorted(Message):
        """The sort column or its direction changed, by key, click or call (``sort_by``). Handler:
        ``on_fleet_table_sorted``."""

    class Highlighted(Message):
        """The cursor moved to another domain (key None: nothing to show), or the columns changed and
        with them how the domain's row is shown (`is_cut`). Handler: ``on_fleet_table_highlighted``."""

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
        self._host_kinds: dict[str, str] = {}
        self._host_tags: dict[str, tuple[str, ...]] = {}
        self._host_hay: dict[str, str] = {}  # kind and tags, lower case: plain words match them too
        self._name_width: dict[str, int] = {}  # host -> cells of its longest name
        self._native_width: dict[str, int] = {}
        # every name shown (visible form) -> how many rows have it; the cuts are recomputed when it changes
        self._names: dict[str, int] = {}
        self._names_version = 0
        self._stale: set[str] = set()
        # every row's tie, (host rank, name, key), kept sorted: the order of the HOST sort, and the order
        # of equal values in any other (a new sort column sorts values alone, stably, in this order)
        self._tie: list[tuple[int, str, str]] = []
        self._retie = False  # host ranks changed: the ties are rebuilt at the next sort
        # sort entries, kept sorted ascending: (value, tie) for rows whose sort value is known, the tie
        # alone for the others, which always come last
        self._present: list[tuple] = []
        self._absent: list[tuple] = []
        self._dirty = False
        self._resort = False
        self._later: Timer | None = None  # the rebuild that rows moved by polls are waiting for
        self._reindexed = 0.0  # monotonic time of the last rebuild of the index
        self._host_rank: dict[str, int] = {}  # host -> its place in ``_host_order``
        self._index: list[str | _Group] = []
        self._rows_shown = 0  # rows in the index (after the filter)
        self._position: dict[str, int] | None = None  # key -> index position, worked out when asked for
        self._filter = Filter()
        self._filter_source: str | None = None
        self._cursor = 0
        self._cursor_key: str | None = None
        # until the user moves the cursor it stays on the first row, whatever arrives and re-sorts
        self._cursor_moved = False
        self._highlighted: str | None = None  # the key last posted in `Highlighted`
        self._wanted: str | None = None  # the domain the user last put the cursor on
        self._refiltered = False  # the filter changed since the index was last rebuilt
        self._version = 0
        # the layout: column indexes in display order, each column's width, how many fit on the screen
        self._order: tuple[int, ...] = tuple(range(len(COLUMNS)))
        self._widths = [c.width for c in COLUMNS]
        self._shown = len(COLUMNS)
        self._gaps: tuple[str, ...] = (" " * _GAP,) * (len(COLUMNS) - 1) + ("",)
        self._fixed = 0  # cells of HOST and NAME (with their gaps), which stay put when scrolling sideways
        self._cuts: dict[str, str] = {}  # name -> how it is shown in a NAME column too narrow for it
        self._host_cuts: dict[str, str] = {}
        self._cuts_for: tuple = ()  # (NAME width planned, names version, width the cuts are for)
        self._layout = 0
        self._layout_for: tuple = ()
        self._strips: LRUCache[tuple, Strip] = LRUCache(2048)
        self._ticks: dict[str, int] = {}  # polls seen per host: the CPU HIST column's version
        self._history: Callable[[str, int], Sequence[float | None]] = lambda key, last: ()
        self._styles: dict[str, Style] = {}
        self._styles_for: tuple[Style, ...] = ()  # the styles the cached lines were drawn with (not the cursor's)
        #: marked row keys, in the order they were marked (a dict as an ordered set); a mark outlives
        #: polls and filters, and a row that goes away keeps its mark until it is cleared
        self._marked: dict[str, None] = {}

    # -- data ---------------------------------------------------------------------------------------

    def set_hosts(self, hosts: Iterable[str]) -> None:
        """The inventory order of hosts (for grouping and the host sort)."""
        self._host_order = list(hosts)
        self._host_rank = {h: i for i, h in enumerate(self._host_order)}
        self._retie = True
        self._invalidate(resort=True)

    def set_host_tags(self, tags: Mapping[str, Iterable[str]]) -> None:
        """Each host's inventory tags (for ``tags:`` in the filter and plain words)."""
        old = set(self._host_tags)
        self._host_tags.clear()  # in place: a parsed filter holds on to this mapping
        self._host_tags.update({host: tuple(fmt.visible(t).lower() for t in ts) for host, ts in tags.items()})
        for host in old | set(self._host_tags):
            self._update_host_hay(host)
        self._refilter()

    def set_host_kind(self, host: str, kind: str) -> None:
        """A host's kind as its snapshot says (``libvirt``, ``ldoms``: for ``kind:`` in the filter)."""
        kind = fmt.visible(kind).lower()
        if self._host_kinds.get(host) != kind:
            self._host_kinds[host] = kind
            self._update_host_hay(host)
            self._refilter()

    def _update_host_hay(self, host: str) -> None:
        self._host_hay[host] = "\x00".join((self._host_kinds.get(host, ""), *self._host_tags.get(host, ())))
        self._filter.word_hosts.clear()

    def set_host_title(self, host: str, title: str) -> None:
        """The text of a host's group line (status, kind, counts); host text, shown as it is, never as
        markup, with its controls made visible."""
        if self._host_titles.get(host) != title:
            self._host_titles[host] = title
            self._strips.clear()
            self.refresh()

    def set_history_source(self, source: Callable[[str, int], Sequence[float | None]]) -> None:
        """Where the CPU HIST column reads a domain's last samples (``source(row key, how many)``), at render
        time and for the rows on screen only: the table keeps no copy of any history."""
        self._history = source

    def set_host_domains(self, host: str, domains: Iterable[Domain], *, stale: bool = False) -> int:
        """Replace one host's rows after a poll; only rows whose domain changed get a new version (and
        the host's rows on screen redraw their CPU history).

        The index is rebuilt once, after the current batch of messages (many hosts reporting in one go
        cost one sort), and only when a row came, went or moved (a new sort value, a wider name) or a
        filter is set: figures that change in place (CPU % under a HOST sort) redraw their rows and
        nothing else. Returns the number of rows added, changed or removed.
        """
        self._ticks[host] = self._ticks.get(host, 0) + 1
        if host not in self._host_rank:  # a host the inventory order did not name goes last
            self._host_order.append(host)
            self._host_rank[host] = len(self._host_order) - 1
        rows = self._rows
        old_keys = set(self._host_keys.get(host, ()))
        new_keys: list[str] = []
        changed = 0
        moved = False  # the index (which rows, where) or the layout (column widths) must be rebuilt now
        resorted = False  # a row's sort value moved it: the index follows within REINDEX_S
        changed_keys: list[str] = []
        for domain in domains:
            key = domain.key
            new_keys.append(key)
            row = rows.get(key)
            if row is not None and row.domain == domain:
                continue
            self._version += 1
            new = rows[key] = _Row(domain, self._version)
            changed_keys.append(key)
            resorted = self._place(key, row) or resorted
            if row is None or row.cells[_NAME] != new.cells[_NAME]:
                moved = True
                self._count_name(new.cells[_NAME], 1)
                if row is not None:
                    self._count_name(row.cells[_NAME], -1)
            changed += 1
        gone = old_keys.difference(new_keys)
        for key in gone:
            row = rows.pop(key)
            self._count_name(row.cells[_NAME], -1)
            self._unplace(key, row)
        changed += len(gone)
        moved = moved or bool(gone) or len(new_keys) != len(old_keys) or host not in self._host_keys
        self._host_keys[host] = new_keys
        if changed:
            widths = (max((rows[k].name_width for k in new_keys), default=0),
                      max((rows[k].native_width for k in new_keys), default=0))
            if widths != (self._name_width.get(host), self._native_width.get(host)):
                moved = True
                self._name_width[host], self._native_width[host] = widths
        if (host in self._stale) != stale:
            self._stale.symmetric_difference_update({host})
            changed += 1
            for key in new_keys:
                self._version += 1
                rows[key].version = self._version
        if changed and moved:
            self._invalidate()
        elif changed and (resorted or self._filter_moves(changed_keys)):
            self._invalidate(later=True)
            self._refresh_rows(new_keys)  # in their old places until then
        elif changed or _HISTORY in self._order[:self._shown]:
            self._refresh_rows(new_keys)  # the figures changed in place, or the sparklines moved on
        return changed

    def _filter_moves(self, keys: list[str]) -> bool:
        """Does a filter take in or leave out any of ``keys`` (changed rows) unlike the index does?"""
        if not self.filter_text.strip() or not keys:
            return False
        if self._filter_source != self.filter_text:
            return True  # the index is about to be rebuilt for a new filter anyway
        passing = set(self._filter.apply(keys, self._rows))
        position = self._positions()
        return any((key in passing) != (key in position) for key in keys)

    def _positions(self) -> dict[str, int]:
        """Each shown row's index position (worked out once per index, when first asked for: a new sort or
        filter key need not pay for it)."""
        if self._position is None:
            self._position = {e: i for i, e in enumerate(self._index) if isinstance(e, str)}
        return self._position

    def _refresh_rows(self, keys: Iterable[str]) -> None:
        """Repaint the lines of ``keys`` that are on screen, and nothing when none is: at 500 hosts a
        poll lands every few milliseconds, mostly for rows scrolled out of sight."""
        if self._dirty or self._resort:
            return  # the whole table is redrawn after the index is rebuilt
        top = self.scroll_offset.y
        changed = set(keys)
        on_screen = self._index[top:top + self.size.height - 1]
        self._refresh_positions([top + i for i, e in enumerate(on_screen) if e in changed])

    def _refresh_positions(self, positions: Iterable[int]) -> None:
        """Repaint the lines of these index positions that are on screen. (`ScrollView.refresh_line`
        takes a line of the virtual view; ours has a fixed header, so the lines are placed here.)"""
        top = self.scroll_offset.y
        height = self.size.height - 1  # the lines under the header
        width = max(self.virtual_size.width, self.size.width)
        lines = [Region(0, at - top + 1, width, 1) for at in positions if top <= at < top + height]
        if lines:
            self.refresh(*lines)

    def _count_name(self, name: str, delta: int) -> None:
        count = self._names.get(name, 0) + delta
        if count > 0:
            self._names[name] = count
            if count == delta:  # a new name
                self._names_version += 1
        else:
            self._names.pop(name, None)
            self._names_version += 1

    def remove_host(self, host: str) -> None:
        for key in self._host_keys.pop(host, []):
            row = self._rows.pop(key, None)
            if row is not None:
                self._count_name(row.cells[_NAME], -1)
            self._unplace(key, row)
        self._name_width.pop(host, None)
        self._native_width.pop(host, None)
        self._invalidate()

    @property
    def row_count(self) -> int:
        """Rows shown (after the filter)."""
        self._flush()
        return self._rows_shown

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def filter_error(self) -> str | None:
        """What in the filter was not understood (an unknown field, a value that is not a number), or
        None. The rest of the filter applies."""
        self._flush()
        return self._filter.error

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
        """Row keys in display order (for tests and exports), with the moves polls made so far."""
        if self._later is not None:
            self._dirty = True
        self._flush()
        return [e for e in self._index if isinstance(e, str)]

    def is_cut(self, key: str) -> bool:
        """Whether the row's host or name is shown cut (its full text is then worth showing elsewhere)."""
        self._flush()
        row = self._rows[key]
        return row.cells[_NAME] in self._cuts or row.cells[_HOST] in self._host_cuts

    def shown_text(self, key: str, column: str) -> str:
        """The text a row shows in a column, as drawn (cut, padded), for tests and exports."""
        self._flush()
        row = self._rows[key]
        i = _INDEX[column]
        return self._cell(row, i, self._widths[i])

    @property
    def shown_columns(self) -> tuple[str, ...]:
        """The columns that fit on the screen, in display order (the others are past its right edge)."""
        self._flush()
        return tuple(COLUMNS[i].key for i in self._order[:self._shown])

    # -- marks ----------------------------------------------------------------------------------------

    @property
    def marked_keys(self) -> tuple[str, ...]:
        return tuple(self._marked)

    @property
    def marked_domains(self) -> tuple[Domain, ...]:
        """The marked domains the table still has, in the order they were marked."""
        return tuple(self._rows[k].domain for k in self._marked if k in self._rows)

    def is_marked(self, key: str) -> bool:
        return key in self._marked

    def set_marks(self, keys: Iterable[str]) -> None:
        """Mark exactly ``keys``."""
        wanted = dict.fromkeys(keys)
        if list(wanted) == list(self._marked):
            return
        self._marked = wanted
        self._strips.clear()
        self.refresh()
        self.post_message(self.MarksChanged(self.marked_keys))

    def clear_marks(self) -> None:
        self.set_marks(())

    def action_toggle_mark(self) -> None:
        key = self.cursor_key
        if key is None:
            return
        if key in self._marked:
            del self._marked[key]
        else:
            self._marked[key] = None
        self._refresh_positions((self._cursor,))
        self.post_message(self.MarksChanged(self.marked_keys))

    def move_to(self, key: str) -> bool:
        """Put the cursor on a domain (if it is shown)."""
        self._flush()
        position = self._positions().get(key)
        if position is None:
            return False
        self._cursor_moved = True
        self._set_cursor(position)
        return True

    # -- index: sort, filter, group -----------------------------------------------------------------
    #
    # The sort entries are kept sorted as rows change (a poll that changes a few rows moves only those
    # rows, by bisection); a new sort column re-sorts once. The index is the sorted keys, filtered (so
    # typing in the filter never sorts) and grouped, rebuilt once per batch of changes.

    def _invalidate(self, *, resort: bool = False, later: bool = False) -> None:
        """Rebuild the index after the current batch of messages (a key, a row that came or went), or
        with ``later`` at most every `REINDEX_S` (rows that a poll moved under the sort or across the
        filter: 20,000 rows re-sorting ten times a second cost keys their frame, and could not be read)."""
        self._resort = self._resort or resort
        if later and not self._dirty:
            if self._later is None:
                delay = max(0.01, self._reindexed + REINDEX_S - time.monotonic())  # a Timer needs > 0
                self._later = self.set_timer(delay, self._flush_later, name="fleet-table reindex")
            return
        if not self._dirty:
            self._dirty = True
            self.call_later(self._flush)

    def _flush_later(self) -> None:
        self._later = None
        self._dirty = True
        self._flush()

    def _refilter(self) -> None:
        if self.filter_text.strip():
            self._invalidate()

    def _flush(self) -> None:
        if not self._dirty and not self._resort:
            return
        self._dirty = False
        if self._resort:
            self._resort = False
            self._sort()
        self._reindex()

    def _entry(self, row: _Row, key: str) -> tuple[bool, tuple]:
        """(known, entry) of one row for the sort column (`_sort` does the same for every row at once)."""
        tie = (self._host_rank.get(row.host, _FAR), row.name, key)
        if self.sort_column == "host":
            return True, (tie[0], tie)
        value = row.value(_INDEX[self.sort_column])
        return (False, tie) if value is None else (True, (value, tie))

    def _place(self, key: str, old: _Row | None) -> bool:
        """Put a new or changed row where it sorts (unless a full sort is due anyway), taking out the entry
        of the row it replaces (``old``); False when its place is the one it had."""
        row = self._rows[key]
        if not self._retie and (old is None or old.name != row.name):  # a domain can be renamed in place
            rank = self._host_rank.get(row.host, _FAR)
            if old is not None:
                self._take(self._tie, (rank, old.name, key))
            bisect.insort(self._tie, (rank, row.name, key))
        if self._resort:
            return True
        placed = self._entry(row, key)
        if old is not None:
            before = self._entry(old, key)  # as it was placed: the sort column and host ranks are the same
            if before == placed:
                return False
            self._remove(before)
        known, entry = placed
        bisect.insort(self._present if known else self._absent, entry)
        return True

    def _unplace(self, key: str, row: _Row | None) -> None:
        """Take out the tie and the entry of ``row`` (the row of ``key`` that is going)."""
        if row is None:
            return
        if not self._retie:
            self._take(self._tie, (self._host_rank.get(row.host, _FAR), row.name, key))
        if not self._resort:
            self._remove(self._entry(row, key))

    @staticmethod
    def _take(entries: list, entry: tuple) -> None:
        i = bisect.bisect_left(entries, entry)
        if i < len(entries) and entries[i] == entry:
            del entries[i]

    def _remove(self, placed: tuple[bool, tuple]) -> None:
        known, entry = placed
        self._take(self._present if known else self._absent, entry)

    def _sort(self) -> None:
        """Every row's entry for the sort column, sorted. This is the one loop over all rows that a
        keystroke (a new sort column) pays for, so it compares values alone: the ties are kept sorted as
        rows come and go, and a stable sort of the values, taken in tie order, is the order of the
        entries. (Comparing whole tuples, and building them in a scattered heap, took three times as
        long at 20,000 rows.) No map from row to entry is kept: a row's entry is worked out again from
        the row when it changes or goes."""
        with _collector_paused():
            self._sort_all()

    def _sort_all(self) -> None:
        rows = self._rows
        if self._retie:
            rank = self._host_rank
            self._tie = sorted((rank.get(row.host, _FAR), row.name, key) for key, row in rows.items())
            self._retie = False
        tie = self._tie
        absent: list[tuple] = []
        if self.sort_column == "host":
            present: list[tuple] = [(t[0], t) for t in tie]
        else:
            if self.sort_column == "name":  # the tie has it already (lower case): the rows are not read
                values: list[object] = [t[1] for t in tie]
            else:
                get = cast(Callable[[Domain], object], _BY_KEY[self.sort_column].value)
                values = [get(rows[t[2]].domain) for t in tie]
            present = [(v, t) for v, t in zip(values, tie) if v is not None]
            if len(present) < len(tie):
                absent = [t for v, t in zip(values, tie) if v is None]
            present.sort(key=operator.itemgetter(0))
        self._present, self._absent = present, absent

    def _ordered(self) -> list[str]:
        present = reversed(self._present) if self.sort_reverse else self._present
        return [e[1][2] for e in present] + [e[2] for e in self._absent]

    def _filtered(self) -> list[str]:
        if self._filter_source != self.filter_text:
            self._filter = Filter.parse(self.filter_text, self._host_kinds, self._host_tags, self._host_hay)
            self._filter_source = self.filter_text
        return self._filter.apply(self._ordered(), self._rows)

    def _reindex(self) -> None:
        self._reindexed = time.monotonic()
        # the screen line of the highlighted row, which it keeps when the rows move around it
        line = self._cursor - self.scroll_offset.y
        on_screen = 0 <= line < max(1, self.scrollable_content_region.height - 1)
        if self._later is not None:
            self._later.stop()
            self._later = None
        keys = self._filtered()
        index: list[str | _Group]
        if self.group_by_host:
            by_host: dict[str, list[str]] = {}
            for key in keys:
                by_host.setdefault(self._rows[key].host, []).append(key)
            index = []
            for host in self._host_order:
                if host in by_host or (not self.filter_text.strip() and host in self._host_keys):
                    index.append(_Group(host))
                    index.extend(by_host.get(host, ()))
        else:
            index = list(keys)
        self._index = index
        self._rows_shown = len(keys)
        self._position = None
        self._relayout()
        cursor = -1
        if self._cursor_moved:
            # the domain the user put the cursor on, if it is shown again (a filter typed, corrected), else
            # the one under the cursor now
            cursor = _find(index, self._wanted)
            cursor = cursor if cursor >= 0 else _find(index, self._cursor_key)
        refiltered, self._refiltered = self._refiltered, False
        if cursor >= 0:
            # keep the cursor on the same domain when rows move, and on the same screen line: a sort, a
            # reversed sort or a poll that moves its row must not leave it off screen
            self._cursor = cursor
            if on_screen:
                self.scroll_to(y=max(0, self._cursor - line), animate=False, immediate=True)
            self._scroll_cursor_visible()
            self._emit_highlight()  # it may be the chosen domain back, not the one under the cursor before
        else:
            # before the user moves it, the cursor stays on the first row (rows arrive host by host and
            # re-sort; following the first row that arrived would leave the cursor part-way down)
            # (a new filter that leaves it out starts at the first match)
            start = self._cursor if self._cursor_moved and not refiltered else 0
            self._cursor = self._nearest_row(min(start, max(0, len(index) - 1)), 1)
            if refiltered:
                self.scroll_to(y=0, animate=False, immediate=True)
            self._emit_highlight()
        self.refresh()

    # -- layout -------------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._relayout()
        # a shorter table (a console opened under it) keeps the highlighted row in view, and the sorted
        # column: the first layout comes after the remembered sort was set
        self._scroll_cursor_visible()
        self._show_column(self.sort_column, home=False)

    def _relayout(self) -> None:
        """Decide the columns shown, their order and widths for the current width and data; when that
        changes, the cached strips go."""
        natural = {c.key: c.width for c in COLUMNS}
        host_full = max((_shown(h)[1] for h in self._host_keys), default=0)
        natural["host"] = max(natural["host"], min(host_full, HOST_MAX))
        name_full = max(natural["name"], max(self._name_width.values(), default=0))
        natural["name"] = name_full
        natural["native"] = max(natural["native"], min(max(self._native_width.values(), default=0), NATIVE_MAX))
        available = self.scrollable_content_region.width if self.is_mounted else 0
        order, shown, name, spare = plan_columns(available if available > 0 else 1 << 16, natural)
        if name < name_full:
            if self._cuts_for[:2] != (name, self._names_version):
                cuts, width = fmt.distinct_cuts(self._names, name)
                self._cuts_for = (name, self._names_version, width)
                self._cuts = cuts
            name = self._cuts_for[2]
        elif self._cuts:
            self._cuts, self._cuts_for = {}, ()
        host = natural["host"]
        self._host_cuts = fmt.distinct_cuts([fmt.visible(h) for h in self._host_keys], host)[0] \
            if host_full > host else {}
        widths = [natural[c.key] for c in COLUMNS]
        spare = max(0, spare - (name - widths[_NAME]))  # NAME may have grown for its cuts
        widths[_NAME] = name
        # the spaces after each column; the columns past the right edge start exactly at it
        gaps = [" " * _GAP] * (len(COLUMNS) - 1) + [""]
        if shown < len(COLUMNS):
            gaps[shown - 1] += " " * spare
        total = sum(widths) + sum(map(len, gaps))
        if 0 < available < total:
            # scrolled to the right edge, the view starts at a column's first cell (the first from which
            # the last column shows whole), some blank space after it: scrolling by whole columns never
            # shows the tail of a cut column
            fixed = widths[_HOST] + widths[_NAME] + 2 * _GAP
            starts, x = [], 0
            for key, gap in list(zip(order, gaps))[2:]:
                starts.append(x)
                x += widths[_INDEX[key]] + len(gap)
            edge = next((s for s in starts if s >= x - (available - fixed)), starts[-1])
            total = max(total, edge + available)
        self.virtual_size = Size(total, len(self._index) + 1)
        layout = (order, shown, tuple(widths), tuple(gaps), self._cuts_for, tuple(self._host_cuts.items()))
        if layout == self._layout_for:
            return
        self._layout_for = layout
        self._order = tuple(_INDEX[k] for k in order)
        self._shown = shown
        self._gaps = tuple(gaps)
        self._widths = widths
        self._fixed = widths[_HOST] + widths[_NAME] + 2 * _GAP
        self._layout += 1
        self._strips.clear()
        self.refresh()
        if self._cursor_key is not None:  # its name may be cut now, or no longer
            self.post_message(self.Highlighted(self._cursor_key))

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
        self._refiltered = True
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
        self._show_column(column)
        self.post_message(self.Sorted())  # the direction alone fires no watcher (it is set, not assigned)

    def _show_column(self, column: str, *, home: bool = True) -> None:
        """Scroll sideways, if need be, so that ``column`` (and its sort arrow) is on screen, starting the
        view at a column's first cell (no tail of a cut column on the left); HOST and NAME, which stay put,
        bring the view back to its start (with ``home``: a new sort, not a new size)."""
        starts, left = [], 0
        for i, gap in list(zip(self._order, self._gaps))[2:]:  # after HOST and NAME
            starts.append(left)
            right = left + self._widths[i] + min(1, len(gap))  # the arrow may take a cell of the gap
            if COLUMNS[i].key == column:
                view = self.scrollable_content_region.width - self._fixed
                x = round(self.scroll_offset.x)
                if left < x or right > x + view:
                    # the first column start from which it shows whole, or its own start
                    self.scroll_to(x=next((s for s in starts if s >= right - view), left), animate=False)
                return
            left += self._widths[i] + len(gap)
        if home and column in ("host", "name"):
            self.scroll_to(x=0, animate=False)

    # -- cursor -------------------------------------------------------------------------------------

    def _set_cursor(self, position: int) -> None:
        if not self._index:
            return
        position = max(0, min(position, len(self._index) - 1))
        old = self._cursor
        self._cursor = position
        entry = self._index[position]
        if isinstance(entry, str):
            self._emit_highlight()
            self._wanted = entry
        self._scroll_cursor_visible()
        self._refresh_positions((old, position))

    def _emit_highlight(self) -> None:
        """Post `Highlighted` if the row under the cursor is another domain than the last one posted."""
        entry = self._index[self._cursor] if 0 <= self._cursor < len(self._index) else None
        key = entry if isinstance(entry, str) else None
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.Highlighted(key))
        self._cursor_key = key

    def _scroll_cursor_visible(self) -> None:
        rows = max(1, self.scrollable_content_region.height - 1)
        top = self.scroll_offset.y
        # the host line above a group's first row comes into view with it (Home, Up, PageUp when grouped)
        first = self._cursor - 1 if self._cursor > 0 and isinstance(self._index[self._cursor - 1], _Group) \
            else self._cursor
        if first < top:
            self.scroll_to(y=first, animate=False)
        elif self._cursor >= top + rows:
            self.scroll_to(y=self._cursor - rows + 1, animate=False)

    def action_columns(self, step: int) -> None:
        """Scroll sideways by one column (HOST and NAME stay put), not by one cell."""
        starts, x = [], 0
        for i, gap in list(zip(self._order, self._gaps))[2:]:  # after HOST and NAME
            starts.append(x)
            x += self._widths[i] + len(gap)
        current = round(self.scroll_offset.x)
        if step > 0:
            target = next((s for s in starts if s > current), None)
            target = min(target, round(self.max_scroll_x)) if target is not None else round(self.max_scroll_x)
        else:
            target = next((s for s in reversed(starts) if s < current), 0)
        self.scroll_to(x=target, animate=False)

    def action_cursor(self, step: int) -> None:
        self._flush()
        self._cursor_moved = True
        target = self._cursor + step
        if 0 <= target < len(self._index) and not isinstance(self._index[target], str):
            target += step
        if 0 <= target < len(self._index):
            self._set_cursor(target)

    def action_page(self, direction: int) -> None:
        self._flush()
        self._cursor_moved = True
        rows = max(1, self.scrollable_content_region.height - 1)
        target = max(0, min(len(self._index) - 1, self._cursor + direction * rows))
        self._set_cursor(self._nearest_row(target, direction))

    def action_edge(self, direction: int) -> None:
        self._flush()
        self._cursor_moved = True
        target = 0 if direction < 0 else len(self._index) - 1
        self._set_cursor(self._nearest_row(target, -direction if direction > 0 else 1))

    def action_select(self) -> None:
        self._flush()
        if self._cursor_key is not None:
            self.post_message(self.Selected(self._cursor_key))

    def on_click(self, event: events.Click) -> None:
        self._flush()
        if event.y == 0:
            column = self._column_at(event.x)
            if column is not None:
                self.sort_by(column)
            return
        position = self.scroll_offset.y + event.y - 1
        if 0 <= position < len(self._index) and isinstance(self._index[position], str):
            self._cursor_moved = True
            self._set_cursor(position)
            if event.chain >= 2:
                self.action_select()

    def _column_at(self, x: int) -> str | None:
        """The column under ``x`` cells from the table's left edge (HOST and NAME do not scroll)."""
        if x >= self._fixed:
            x += self.scroll_offset.x
        left = 0
        for i, gap in zip(self._order, self._gaps):
            right = left + self._widths[i] + len(gap)
            if left <= x < right:
                return COLUMNS[i].key
            left = right
        return None

    # -- rendering ----------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        """Styles changed (a theme, or the focus: the cursor is brighter in a focused table). The cached
        lines go only when a style other than the cursor's changed: a focus change (``/``, Escape, Enter
        in the filter) repaints the cursor's line, not all 48."""
        super().notify_style_update()
        self._styles.clear()
        styles = self._drawn_styles() if self.is_attached else ()
        if not styles or styles != self._styles_for:
            self._styles_for = styles
            self._strips.clear()
            self.refresh()
        else:
            self._refresh_positions((self._cursor,))

    def _drawn_styles(self) -> tuple[Style, ...]:
        """The styles of the cached lines, but the cursor's; () before the table is styled."""
        try:
            return (self._base_style(), *(self._style(name) for name in sorted(self.COMPONENT_CLASSES)
                                          if name != "fleet-table--cursor"))
        except KeyError:  # the component styles are not there yet (mounting)
            self._styles.clear()
            return ()

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
        if y == 0:
            strip = self._header()
            fill = base + self._style("fleet-table--header")
        else:
            position = scroll_y + y - 1
            if position >= len(self._index):
                return Strip.blank(width, base)
            entry = self._index[position]
            if isinstance(entry, _Group):  # a host's line does not scroll sideways
                return self._group_line(entry).crop_extend(0, width, base + self._style("fleet-table--group"))
            strip = self._row_line(entry, position == self._cursor)
            fill = base + self._style("fleet-table--cursor") if position == self._cursor else base
        fixed = self._fixed
        if scroll_x == 0 or fixed >= width:
            return strip.crop_extend(scroll_x, scroll_x + width, fill)
        # HOST and NAME stay put; the columns after them scroll
        return Strip.join([strip.crop(0, fixed), strip.crop_extend(fixed + scroll_x, scroll_x + width, fill)])

    def _cell(self, row: _Row, i: int, width: int) -> str:
        """Column ``i`` of ``row`` as exactly ``width`` cells."""
        column = COLUMNS[i]
        if i == _NAME:
            text = row.cells[i]
            return self._cuts.get(text) or fmt.fit(text, width)
        if i == _HOST:
            text = row.cells[i]
            return self._host_cuts.get(text) or fmt.fit(text, width)
        if column.key == "history":
            return fmt.sparkline(self._history(row.domain.key, width), width, top=100.0)
        return fmt.fit(row.cells[i], width, column.align)

    def _header(self) -> Strip:
        key = ("header", self._layout, self.sort_column, self.sort_reverse)
        strip = self._strips.get(key)
        if strip is None:
            header = self._base_style() + self._style("fleet-table--header")
            sorted_style = header + self._style("fleet-table--sorted")
            segments = []
            arrow = "▼" if self.sort_reverse else "▲"
            for i, gap in zip(self._order, self._gaps):
                column, width = COLUMNS[i], self._widths[i]
                if column.key == self.sort_column:
                    text, gap = _sorted_label(column.label, arrow, width, gap, column.align)
                    segments.append(Segment(text, sorted_style))
                else:
                    segments.append(Segment(fmt.fit(column.label, width, column.align), header))
                segments.append(Segment(gap, header))
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
            strip = Strip([Segment(f"▾ {fmt.visible(group.host)}  {fmt.visible(title)}", style)])
            self._strips[key] = strip
        return strip

    def _row_line(self, key: str, is_cursor: bool) -> Strip:
        row = self._rows[key]
        # a row's CPU history moves with every poll of its host, even when its figures stay the same
        tick = self._ticks.get(row.host, 0) if _HISTORY in self._order[:self._shown] else 0
        marked = key in self._marked
        # the cursor's line is brighter while the table has the focus
        cache_key = (key, row.version, is_cursor and 1 + self.has_focus, self._layout, tick, marked)
        strip = self._strips.get(cache_key)
        if strip is not None:
            return strip
        base = self._base_style()
        if row.host in self._stale:
            base = base + self._style("fleet-table--stale")
        if marked:
            base = base + self._style("fleet-table--marked")
        state_style = base + self._style(f"fleet-table--state-{row.domain.state.value}")
        if is_cursor:  # the cursor's colours win, for contrast; the state keeps its weight (bold crashed)
            cursor = self._style("fleet-table--cursor")
            base, state_style = base + cursor, state_style + cursor
        # one segment per run of one style (five, not two dozen): strips are built for every newly
        # visible row after a sort or a filter
        segments: list[Segment] = []
        run: list[str] = []
        run_style = base
        for i, gap in zip(self._order, self._gaps):
            style = state_style if i in (_STATE, _HISTORY) else base
            if style is not run_style and run:
                segments.append(Segment("".join(run), run_style))
                run = []
            run_style = style
            run.append(self._cell(row, i, self._widths[i]))
            if gap:
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

    def on_blur(self) -> None:
        self.notify_style_update()

