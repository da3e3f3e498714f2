"""The xentop screen: one Xen dom0 the way xentop shows it, live, with history.

Above the table, the three summary lines xentop prints in interactive mode (batch mode prints none, so
hvdeck computes them from the frame and `xl info`); below, every column of the latest frame for every
domain, the rates between frames (network bytes, disk requests and bytes per second), and sparklines of
CPU, network and disk from the app's store. The table is sortable by every column (``o`` the next one,
``O`` reverses, or click a header) and is updated in place, row by row, at each frame: rows are never
cleared and added again, so the cursor and the scroll position stay. Enter opens the highlighted domain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from hvdeck.backends.model import HostSnapshot
from hvdeck.backends.xen.live import LiveRow, XentopView
from hvdeck.widgets import format as fmt

from .base import HvdeckFooter, HvdeckScreen

HIST_WIDTH = 10
_UNKNOWN = "-"


class Cell(Text):
    """A table cell that sorts by a value, not by its text (None, unknown, sorts last either way)."""

    def __init__(self, text: str, value: Any, *, justify: str = "right", style: str = "") -> None:
        super().__init__(text, justify=justify, style=style)  # type: ignore[arg-type]
        self.value = value


def _num(value: float | int | None, text: str | None = None, *, style: str = "") -> Cell:
    return Cell(_UNKNOWN if value is None else (text if text is not None else str(value)), value, style=style)


def _pct(value: float | None) -> Cell:
    return _num(value, None if value is None else f"{value:.1f}")


def _rate(value: float | None) -> Cell:
    return _num(value, None if value is None else fmt.rate(value))


#: (key, header, what the cell shows); the xentop columns are shown only when the frame has them
Column = tuple[str, str, Callable[[LiveRow, "XentopScreen"], Cell]]


def _hist(which: str) -> Callable[[LiveRow, XentopScreen], Cell]:
    def cell(row: LiveRow, screen: XentopScreen) -> Cell:
        history = screen.hvdeck.store.history(row.key)
        values = getattr(history, which)
        last = next((v for v in reversed(values) if v is not None), None)
        line = fmt.sparkline(values, HIST_WIDTH, top=100.0) if which == "cpu" else fmt.sparkline(values, HIST_WIDTH)
        return Cell(line, last, justify="left", style="green" if which == "cpu" else "cyan")
    return cell


COLUMNS: tuple[Column, ...] = (
    ("NAME", "NAME", lambda r, s: Cell(fmt.visible(r.name), r.name.lower(), justify="left", style="bold")),
    ("STATE", "STATE", lambda r, s: Cell(r.row.state, r.row.state, justify="left")),
    ("CPU(sec)", "CPU(sec)", lambda r, s: _num(r.row.cpu_seconds)),
    ("CPU(%)", "CPU(%)", lambda r, s: _pct(r.row.cpu_percent)),
    ("cpu-hist", "CPU HIST", _hist("cpu")),
    ("MEM(k)", "MEM(k)", lambda r, s: _num(r.row.mem_kib)),
    ("MEM(%)", "MEM(%)", lambda r, s: _pct(r.row.mem_percent)),
    ("MAXMEM(k)", "MAXMEM(k)", lambda r, s: Cell("no limit", None) if r.row.max_mem_kib is None
     else _num(r.row.max_mem_kib)),
    ("MAXMEM(%)", "MAXMEM(%)", lambda r, s: Cell("n/a", None) if r.row.max_mem_percent is None
     else _pct(r.row.max_mem_percent)),
    ("VCPUS", "VCPUS", lambda r, s: _num(r.row.vcpus)),
    ("NETS", "NETS", lambda r, s: _num(r.row.nets)),
    ("NETTX(k)", "NETTX(k)", lambda r, s: _num(r.row.net_tx_kib)),
    ("NETRX(k)", "NETRX(k)", lambda r, s: _num(r.row.net_rx_kib)),
    ("tx-rate", "TX/s", lambda r, s: _rate(r.net_tx_bps)),
    ("rx-rate", "RX/s", lambda r, s: _rate(r.net_rx_bps)),
    ("net-hist", "NET HIST", _hist("net")),
    ("VBDS", "VBDS", lambda r, s: _num(r.row.vbds)),
    ("VBD_OO", "VBD_OO", lambda r, s: _num(r.row.vbd_oo)),
    ("VBD_RD", "VBD_RD", lambda r, s: _num(r.row.vbd_rd)),
    ("VBD_WR", "VBD_WR", lambda r, s: _num(r.row.vbd_wr)),
    ("rd-rate", "RD/s", lambda r, s: _num(r.vbd_rd_per_s, None if r.vbd_rd_per_s is None else f"{r.vbd_rd_per_s:.1f}")),
    ("wr-rate", "WR/s", lambda r, s: _num(r.vbd_wr_per_s, None if r.vbd_wr_per_s is None else f"{r.vbd_wr_per_s:.1f}")),
    ("VBD_RSECT", "VBD_RSECT", lambda r, s: _num(r.row.vbd_rsect)),
    ("VBD_WSECT", "VBD_WSECT", lambda r, s: _num(r.row.vbd_wsect)),
    ("disk-rate", "DISK/s", lambda r, s: _rate(None if r.disk_rd_bps is None and r.disk_wr_bps is None
                                              else (r.disk_rd_bps or 0.0) + (r.disk_wr_bps or 0.0))),
    ("disk-hist", "DISK HIST", _hist("disk")),
    ("SSID", "SSID", lambda r, s: _num(r.row.ssid)),
)
#: columns that exist only where the frame's header has them
_XENTOP_ONLY = {"VBD_RSECT", "VBD_WSECT"}


def header_text(view: XentopView, now: float) -> Text:
    """xentop's interactive summary (xentop.c do_summary; shared/formats/xen.md §1.5), from the frame."""
    counts = dict(view.counts)
    text = Text()
    text.append(f"xentop - {fmt.visible(view.host)}", style="bold")
    text.append(f"   Xen {fmt.visible(view.xen_version or '?')}")
    age = max(0.0, now - view.at)
    text.append(f"   frame {view.seq}, {fmt.age(age)} ago, every {view.interval}s", style="dim")
    text.append(f"\n{len(view.rows)} domains: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in
                                                             ("running", "blocked", "paused", "crashed", "dying",
                                                              "shutdown")))
    mem = ""
    if view.total_memory_bytes is not None:
        total = view.total_memory_bytes // 1024
        used = view.used_memory_bytes // 1024 if view.used_memory_bytes is not None else None
        free = view.free_memory_bytes // 1024 if view.free_memory_bytes is not None else None
        mem = f"Mem: {total}k total, {'?' if used is None else used}k used, {'?' if free is None else free}k free"
    cpus = f"CPUs: {view.cpus or '?'}" + (f" @ {view.cpu_mhz:.0f}MHz" if view.cpu_mhz else "")
    text.append(f"\n{mem}    {cpus}" if mem else f"\n{cpus}")
    if view.stale:
        text.append(f"\n{fmt.visible(view.stale)}: starting xentop again", style="bold red")
    return text


class XentopScreen(HvdeckScreen):
    """One Xen dom0's xentop, live (see the module docstring). ``source`` gives the latest view (the fleet's
    `xentop_frame` by default)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="xentop.back"),
        Binding("o", "next_sort", "Sort", id="xentop.sort", tooltip="Sort by the next column"),
        Binding("O", "reverse_sort", "Reverse", id="xentop.reverse", tooltip="Reverse the sort"),
    ]

    DEFAULT_CSS = """
    XentopScreen #xentop-head { height: auto; padding: 0 1; background: $panel; }
    XentopScreen DataTable { height: 1fr; }
    XentopScreen #xentop-status { height: 1; padding: 0 1; background: $panel; color: $foreground-muted; }
    """

    def __init__(self, host: str, source: Callable[[], XentopView | None] | None = None) -> None:
        super().__init__()
        self.host = host
        self._source = source
        self.sort_column = "CPU(%)"
        self.sort_reverse = True
        self._shown: int | None = None
        self._stale: str | None = None
        self._cells: dict[str, tuple[str, ...]] = {}
        self._columns: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(id="xentop-head")
        table: DataTable[Cell] = DataTable(id="xentop-table", cursor_type="row", zebra_stripes=True)
        table.fixed_columns = 1
        yield table
        yield Static(id="xentop-status")
        yield HvdeckFooter()

    @property
    def table(self) -> DataTable[Cell]:
        return self.query_one("#xentop-table", DataTable)

    def view(self) -> XentopView | None:
        return self._source() if self._source is not None else self.hvdeck.fleet.xentop_frame(self.host)

    def on_mount(self) -> None:
        self.hvdeck.fleet_changed.subscribe(self, self._on_fleet_changed)
        self.table.focus()
        self.refresh_view()
        self.set_interval(0.5, self.refresh_view)

    def _on_fleet_changed(self, snapshot: HostSnapshot) -> None:
        if snapshot.host == self.host:
            self.refresh_view(force=True)  # the histories moved on

    def refresh_view(self, force: bool = False) -> None:
        """Show the latest frame if it is new (or ``force``): keyed cell updates, then the sort."""
        view = self.view()
        head = self.query_one("#xentop-head", Static)
        if view is None:
            snapshot = self.hvdeck.snapshots.get(self.host)
            why = (f"{self.host} is not a Xen dom0" if snapshot is not None and snapshot.kind not in ("xen", "auto")
                   else f"waiting for {self.host}'s first xentop frame…")
            head.update(fmt.host_text(why))
            return
        head.update(header_text(view, self.hvdeck.clock()))
        if not force and view.seq == self._shown and view.stale == self._stale:
            return
        self._shown, self._stale = view.seq, view.stale
        with self.app.batch_update():
            self._update_rows(view)
        self._show_status()

    def _update_rows(self, view: XentopView) -> None:
        table = self.table
        columns = tuple(key for key, _, _ in COLUMNS if key not in _XENTOP_ONLY or key in view.columns)
        if columns != self._columns:  # a new header (a restarted stream of another build): lay the table out again
            table.clear(columns=True)
            self._cells.clear()
            for key, label, _ in COLUMNS:
                if key in columns:
                    table.add_column(Text(label, justify="left" if key in ("NAME", "STATE") or key.endswith("hist")
                                          else "right"), key=key)
            self._columns = columns
        makers = [(key, make) for key, _, make in COLUMNS if key in columns]
        seen = set()
        for row in view.rows:
            seen.add(row.key)
            cells = [make(row, self) for _, make in makers]
            plain = tuple(cell.plain for cell in cells)
            old = self._cells.get(row.key)
            if old is None:
                table.add_row(*cells, key=row.key)
            elif old != plain:
                for (key, _), cell, before, now in zip(makers, cells, old, plain):
                    if before != now:
                        table.update_cell(row.key, key, cell)
            self._cells[row.key] = plain
        for gone in [key for key in self._cells if key not in seen]:
            table.remove_row(gone)
            del self._cells[gone]
        self._sort()

    def _sort(self) -> None:
        reverse = self.sort_reverse

        def key(cell: Cell) -> tuple[int, Any]:
            known = cell.value is not None
            return ((1 if known else 0) if reverse else (0 if known else 1), cell.value if known else 0)

        if self.sort_column in self._columns:
            self.table.sort(self.sort_column, key=key, reverse=reverse)

    def _show_status(self) -> None:
        label = next(label for key, label, _ in COLUMNS if key == self.sort_column)
        self.query_one("#xentop-status", Static).update(Text(
            f"{len(self._cells)} domains · sort {label} {'▼' if self.sort_reverse else '▲'} · o/O or a header: sort "
            "· enter: the domain"))

    # -- sorting ----------------------------------------------------------------------------------------

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else column not in ("NAME", "STATE")
        self.sort_column, self.sort_reverse = column, reverse
        self._sort()
        self._show_status()

    def action_next_sort(self) -> None:
        columns = self._columns or tuple(key for key, _, _ in COLUMNS)
        at = columns.index(self.sort_column) if self.sort_column in columns else -1
        self.sort_by(columns[(at + 1) % len(columns)], reverse=False)

    def action_reverse_sort(self) -> None:
        self.sort_by(self.sort_column, reverse=not self.sort_reverse)

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(str(event.column_key.value))

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is not None:
            self.hvdeck.open_domain(key)
