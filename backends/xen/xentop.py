"""Incremental parser of `xentop -b` (shared/formats/xen.md §1): chunks of a long-lived stream in, complete
frames out. Pure: no I/O, no asyncio; the backend owns the process and feeds what it reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from ..errors import ParseError
from ..model import Domain
from .parse import KIB, MAX_DOMAINS, MAX_LINE, MIB, XENTOP_STATE, _dom0_extra, _error, vdev_name, xentop_state

# --- rows and frames ---------------------------------------------------------------------------------------

#: every column xentop prints, in order (§1.3); pre-2009 builds lack VBD_RSECT and VBD_WSECT
XENTOP_COLUMNS = ("NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "MEM(%)", "MAXMEM(k)", "MAXMEM(%)", "VCPUS",
                  "NETS", "NETTX(k)", "NETRX(k)", "VBDS", "VBD_OO", "VBD_RD", "VBD_WR", "VBD_RSECT", "VBD_WSECT",
                  "SSID")
_XENTOP_SET = frozenset(XENTOP_COLUMNS)
# column -> (XentopRow field, kind): u = unsigned, f = %.1f, s = state, m = MAXMEM(k) ("no limit"),
# p = MAXMEM(%) ("n/a"), d = VBD counters ("-" when the stats are unavailable, since 2019)
_XENTOP_FIELDS = {
    "STATE": ("state", "s"), "CPU(sec)": ("cpu_seconds", "u"), "CPU(%)": ("cpu_percent", "f"),
    "MEM(k)": ("mem_kib", "u"), "MEM(%)": ("mem_percent", "f"), "MAXMEM(k)": ("max_mem_kib", "m"),
    "MAXMEM(%)": ("max_mem_percent", "p"), "VCPUS": ("vcpus", "u"), "NETS": ("nets", "u"),
    "NETTX(k)": ("net_tx_kib", "u"), "NETRX(k)": ("net_rx_kib", "u"), "VBDS": ("vbds", "u"),
    "VBD_OO": ("vbd_oo", "d"), "VBD_RD": ("vbd_rd", "d"), "VBD_WR": ("vbd_wr", "d"),
    "VBD_RSECT": ("vbd_rsect", "d"), "VBD_WSECT": ("vbd_wsect", "d"), "SSID": ("ssid", "u"),
}


@dataclass(frozen=True, slots=True)
class XentopNet:
    """A `-n` sub-row: `Net%d RX: %8llubytes %8llupkts %8lluerr %8lludrop  TX: ...` (xentop.c do_network)."""

    index: int
    rx_bytes: int
    rx_packets: int
    rx_errors: int
    rx_drops: int
    tx_bytes: int
    tx_packets: int
    tx_errors: int
    tx_drops: int


@dataclass(frozen=True, slots=True)
class XentopVbd:
    """A `-x` sub-row: `VBD TYPE DEV [MAJ:MIN] OO: RD: WR: RSECT: WSECT:` (xentop.c do_vbd). The counters are
    None when xentop prints `-` (stats unavailable); `major`/`minor` only on Linux dom0s."""

    type: str
    devid: int
    major: int | None
    minor: int | None
    oo: int | None
    rd: int | None
    wr: int | None
    rsect: int | None
    wsect: int | None

    @property
    def vdev(self) -> str:
        return vdev_name(self.devid) or str(self.devid)


@dataclass(frozen=True, slots=True)
class XentopRow:
    """One domain of one xentop iteration, every column (§1.3) and its sub-rows (§1.6).

    Memory in KiB as printed (`max_mem_kib` None for `no limit`, `max_mem_percent` None for `n/a`); network in
    KiB; VBD counters in requests/sectors, None for `-` or where an old header lacks the column.
    `cpu_percent` is xentop's own figure (% of ONE physical CPU, so up to 100 x vCPUs), None where xentop had no
    previous sample (the first iteration, a domain that just appeared) instead of its meaningless `0.0`.
    `name_may_be_truncated`: printed without `-f`, xentop cuts names to 10 characters (`%10.10s`): a name of
    exactly 10 characters under a 10-column NAME may be cut (a longer one, as Xen 4.1's `-f` prints with `%10s`,
    is whole); resolve it against `xl list` with `resolve_name`."""

    name: str
    name_may_be_truncated: bool
    state: str
    cpu_seconds: int
    cpu_percent: float | None
    mem_kib: int
    mem_percent: float | None
    max_mem_kib: int | None
    max_mem_percent: float | None
    vcpus: int
    nets: int
    net_tx_kib: int
    net_rx_kib: int
    vbds: int
    vbd_oo: int | None
    vbd_rd: int | None
    vbd_wr: int | None
    vbd_rsect: int | None
    vbd_wsect: int | None
    ssid: int
    line_no: int
    vcpu_seconds: tuple[tuple[int, int], ...] = ()
    networks: tuple[XentopNet, ...] = ()
    vbd_devices: tuple[XentopVbd, ...] = ()
    tmem: tuple[int, int, int, int] | None = None

    def domain(self, host: str, *, name: str | None = None, domid: int | None = None) -> Domain:
        """The fleet row: `cpu_percent` becomes the share of the domain's own vCPUs (xentop's % of one CPU
        divided by VCPUS, 0-100 like every other backend: xentop's own figure runs over 100 x VCPUS when its
        interval stretches, and is capped). `name`/`domid` come from `xl list` when resolved."""
        name = name or self.name
        pct = None
        if self.cpu_percent is not None and self.vcpus:
            pct = min(100.0, self.cpu_percent / self.vcpus)
        extra = _dom0_extra(name, domid) + (("time(s)", str(self.cpu_seconds)),)
        return Domain(host=host, name=name, state=xentop_state(self.state), native_state=self.state, id=domid,
                      vcpus=self.vcpus, memory_bytes=self.mem_kib * KIB,
                      max_memory_bytes=None if self.max_mem_kib is None else self.max_mem_kib * KIB,
                      cpu_percent=pct, extra=extra)


@dataclass(frozen=True, slots=True)
class XentopSummary:
    """The three summary lines xentop prints above the table in interactive mode only (§1.2, §1.5; batch mode
    never prints them: in batch mode host totals come from `xl info`). Memory in KiB."""

    time: str
    xen_version: str
    domains: int
    running: int
    blocked: int
    paused: int
    crashed: int
    dying: int
    shutdown: int
    mem_total_kib: int | None = None
    mem_used_kib: int | None = None
    mem_free_kib: int | None = None
    cpus: int | None = None
    mhz: int | None = None


@dataclass(frozen=True, slots=True)
class XentopFrame:
    """One complete xentop iteration: its header's columns, its rows in printed order (case-insensitive name
    order, §1.2), the summary when xentop ran interactively, and `-p`'s per-CPU usage (core, %)."""

    index: int
    line_no: int
    columns: tuple[str, ...]
    rows: tuple[XentopRow, ...]
    summary: XentopSummary | None = None
    pcpus: tuple[tuple[int, float], ...] = ()

    @property
    def first(self) -> bool:
        """The stream's first iteration: xentop prints CPU(%) 0.0 for every domain (§1.2)."""
        return self.index == 0

    def counts(self) -> dict[str, int]:
        """Domains per state, classified the way xentop's summary line does (xentop.c do_summary): running,
        else blocked, paused, shutdown, crashed, dying."""
        counts = dict.fromkeys(("running", "blocked", "paused", "crashed", "dying", "shutdown"), 0)
        for row in self.rows:
            d, s, b, c, p, r = (ch != "-" for ch in row.state)
            key = ("running" if r else "blocked" if b else "paused" if p else "shutdown" if s else
                   "crashed" if c else "dying" if d else None)
            if key is not None:
                counts[key] += 1
        return counts


def resolve_name(cut: str, names: Iterable[str]) -> str | None:
    """The full name of a domain xentop printed as `cut` (possibly cut to 10 characters, §1.3): `cut` itself
    when a domain has that name, else the one name that starts with it; None when none or several do."""
    candidates = [name for name in names if name.startswith(cut)]
    if cut in candidates:
        return cut
    return candidates[0] if len(candidates) == 1 else None


_SUMMARY_TOP = re.compile(r"xentop - ([0-9:]{1,8})\s+Xen (.*)")
_SUMMARY_DOMAINS = re.compile(r"([0-9]{1,9}) domains: ([0-9]{1,9}) running, ([0-9]{1,9}) blocked, ([0-9]{1,9}) "
                              r"paused, ([0-9]{1,9}) crashed, ([0-9]{1,9}) dying, ([0-9]{1,9}) shutdown\s*")
_SUMMARY_MEM = re.compile(r"Mem: ([0-9]{1,20})k total, ([0-9]{1,20})k used, ([0-9]{1,20})k free\s+"
                          r"CPUs: ([0-9]{1,9}) @ ([0-9]{1,20})MHz\s*")
_VCPU_ENTRY = re.compile(r"\s*([0-9]{1,9}):\s*([0-9]{1,20})s")
_VCPU_ENTRIES = re.compile(r"(?:\s+[0-9]{1,9}:\s+[0-9]{1,20}s)*\s*")
_NET_SUBROW = re.compile(r"Net([0-9]{1,9}) RX:\s*([0-9]{1,20})bytes\s+([0-9]{1,20})pkts\s+([0-9]{1,20})err\s+"
                         r"([0-9]{1,20})drop\s+TX:\s*([0-9]{1,20})bytes\s+([0-9]{1,20})pkts\s+([0-9]{1,20})err\s+"
                         r"([0-9]{1,20})drop\s*")
_COUNT = r"([0-9]{1,20}|-)"
_VBD_SUBROW = re.compile(r"VBD (\S+)\s+(-?[0-9]{1,11}) (?:\[\s*([0-9a-f]{1,8}):\s*([0-9a-f]{1,8})\] )?\s*"
                         rf"OO:\s+{_COUNT}\s+RD:\s+{_COUNT}\s+WR:\s+{_COUNT}\s+RSECT:\s+{_COUNT}\s+"
                         rf"WSECT:\s+{_COUNT}\s*")
_TMEM_SUBROW = re.compile(r"Tmem:\s+Curr eph pages:\s+([0-9]{1,20})\s+Succ eph gets:\s+([0-9]{1,20})\s+"
                          r"Succ pers puts:\s+([0-9]{1,20})\s+Succ pers gets:\s+([0-9]{1,20})\s*")
_PCPU_ROW = re.compile(r"\|\s*([0-9]{1,9})\s*\|\s*([0-9]{1,9}\.[0-9])%\s*\|\s*")


# XentopRow's column fields, state .. ssid, in XENTOP_COLUMNS order
_ROW_FIELDS = tuple(_XENTOP_FIELDS[column][0] for column in XENTOP_COLUMNS[1:])
# what a row holds for a column its header lacks (pre-2009: VBD_RSECT, VBD_WSECT)
_ROW_DEFAULTS = tuple("------" if kind == "s" else 0 if kind == "u" else None
                      for _, kind in (_XENTOP_FIELDS[column] for column in XENTOP_COLUMNS[1:]))
_PCT_TEXT = r"-?[0-9]{1,20}\.[0-9]|-?(?i:nan|inf)"
_KIND_PATTERNS = {"s": XENTOP_STATE.pattern, "u": "[0-9]{1,20}", "d": "[0-9]{1,20}|-", "f": _PCT_TEXT,
                  "p": _PCT_TEXT + "|n/a", "m": "[0-9]{1,20}|no limit"}


def _percent(token: str) -> float | None:
    number = float(token)
    return number if math.isfinite(number) else None


_CONVERTERS: dict[str, Any] = {
    "s": str, "u": int, "d": lambda token: None if token == "-" else int(token), "f": _percent,
    "p": lambda token: None if token == "n/a" else _percent(token),
    "m": lambda token: None if token == "no limit" else int(token),
}


class _Layout:
    """How to read rows under one header: the columns after NAME, one regex over them (single-space joined,
    so it cannot backtrack), their converters, and where each lands among XentopRow's fields."""

    __slots__ = ("columns", "converters", "count", "fields", "full", "maxmem", "name_width", "regex", "slots")

    def __init__(self, columns: tuple[str, ...], name_width: int) -> None:
        self.columns = columns
        self.name_width = name_width
        self.fields = [_XENTOP_FIELDS[column] for column in columns[1:]]
        self.count = len(self.fields)
        # MAXMEM(k)'s index among the values: `no limit` is two tokens there
        self.maxmem = columns[1:].index("MAXMEM(k)") if "MAXMEM(k)" in columns else None
        self.regex = re.compile(" ".join(f"({_KIND_PATTERNS[kind]})" for _, kind in self.fields))
        self.converters = [_CONVERTERS[kind] for _, kind in self.fields]
        self.slots = [_ROW_FIELDS.index(name) for name, _ in self.fields]
        self.full = columns == XENTOP_COLUMNS


class _RowBuilder:
    __slots__ = ("line_no", "name", "nets", "tmem", "values", "vbds", "vcpus")

    def __init__(self, values: list[Any], name: str, line_no: int) -> None:
        self.values = values  # XentopRow's column fields, state .. ssid
        self.name = name
        self.line_no = line_no
        self.vcpus: list[tuple[int, int]] = []
        self.nets: list[XentopNet] = []
        self.vbds: list[XentopVbd] = []
        self.tmem: tuple[int, int, int, int] | None = None


class _FrameBuilder:
    __slots__ = ("bytes", "layout", "line_no", "pcpu_table", "pcpus", "rows", "sub", "summary_lines")

    def __init__(self, line_no: int) -> None:
        self.layout: _Layout | None = None
        self.line_no = line_no
        self.rows: list[_RowBuilder] = []
        self.summary_lines: list[re.Match[str]] = []
        self.pcpus: list[tuple[int, float]] = []
        self.bytes = 0
        self.sub = ""  # the kind of the last line, for VCPUs(sec) continuation lines
        self.pcpu_table = False


class XentopStream:
    """Incremental parser of `xentop -b` output (§1): feed it chunks as they arrive, get complete frames.

    A frame is complete only when the NEXT header (or interactive summary) arrives (§1.2: nothing else
    separates iterations), or at `close()` when xentop exited after `-i N`. Rows split on whitespace and are
    read from the right, since widths grow (§1.3) and names may hold spaces or be cut to 10 characters.
    CPU(%) of the first frame, and of a domain absent from the previous frame or whose CPU(sec) went down
    (a new domain of the same name), is reported as None (xentop prints 0.0: it has no previous sample).

    Bounds: a line over `max_line` characters (64 KiB), a frame over `max_frame_bytes` or with more rows than
    Xen has domain ids is a ParseError. After a ParseError the stream is broken: every later call raises
    again, and the caller restarts xentop with a new stream. ParseError line numbers count from the start
    of the stream.
    """

    def __init__(self, *, max_line: int = MAX_LINE, max_frame_bytes: int = 64 * MIB) -> None:
        self._max_line = max_line
        self._max_frame_bytes = max_frame_bytes
        self._partial = ""
        self._line_no = 0
        self._frame: _FrameBuilder | None = None
        self._emitted = 0
        self._previous: dict[str, int] = {}  # name -> CPU(sec) in the last emitted frame
        self._broken: ParseError | None = None

    def feed(self, chunk: str) -> list[XentopFrame]:
        """The frames completed by this chunk (usually none or one)."""
        self._check()
        try:
            return self._feed(chunk)
        except ParseError as exc:
            self._broken = exc
            raise

    def close(self) -> list[XentopFrame]:
        """End of stream: the last frame is complete (xentop ran `-i N` times and exited). Output ending
        inside a line is a ParseError (xentop ends every line with a newline)."""
        self._check()
        try:
            frames: list[XentopFrame] = []
            if self._partial:
                line, self._partial = self._partial, ""
                self._line_no += 1
                raise _error("xentop", "the output ends inside a line", self._line_no, line)
            if self._frame is not None and self._frame.layout is not None:
                frames.append(self._emit(self._frame))
            self._frame = None
            return frames
        except ParseError as exc:
            self._broken = exc
            raise

    def _check(self) -> None:
        if self._broken is not None:
            raise _error("xentop", f"the stream broke earlier ({self._broken.message[:200]})")

    def _feed(self, chunk: str) -> list[XentopFrame]:
        frames: list[XentopFrame] = []
        text = self._partial + chunk
        start = 0
        while True:
            end = text.find("\n", start)
            if end < 0:
                break
            if end - start > self._max_line:
                self._line_no += 1
                raise _error("xentop", f"line longer than {self._max_line} characters", self._line_no,
                             text[start:end])
            self._line_no += 1
            done = self._line(text[start:end].rstrip("\r"))
            if done is not None:
                frames.append(done)
            start = end + 1
        self._partial = text[start:]
        if len(self._partial) > self._max_line:
            raise _error("xentop", f"line longer than {self._max_line} characters", self._line_no + 1,
                         self._partial)
        return frames

    def _line(self, line: str) -> XentopFrame | None:
        line_no = self._line_no
        frame = self._frame
        if frame is not None:
            frame.bytes += len(line) + 1
            if frame.bytes > self._max_frame_bytes:
                raise _error("xentop", f"a frame larger than {self._max_frame_bytes} bytes", line_no, line)
        stripped = line.strip()
        if not stripped:
            return None
        words = stripped.split()
        if words[0] == "NAME" and len(words) > 1 and words[1] == "STATE" and _XENTOP_SET.issuperset(words):
            return self._header(line, words, line_no)
        if stripped.startswith("xentop - "):
            top = _SUMMARY_TOP.fullmatch(stripped)
            if top is None:
                raise _error("xentop", "expected xentop - HH:MM:SS Xen VERSION", line_no, line)
            done = self._emit(frame) if frame is not None and frame.layout is not None else None
            self._frame = _FrameBuilder(line_no)
            self._frame.summary_lines.append(top)
            return done
        if frame is None:
            raise _error("xentop", "expected the NAME STATE ... header", line_no, line)
        if frame.layout is None:
            self._summary_line(frame, stripped, line_no, line)
        else:
            self._row_or_subrow(frame, line, stripped, line_no)
        return None

    def _header(self, line: str, words: list[str], line_no: int) -> XentopFrame | None:
        if [column for column in XENTOP_COLUMNS if column in words] != words or len(set(words)) != len(words):
            raise _error("xentop", "columns out of order or repeated", line_no, line)
        layout = _Layout(tuple(words), line.index("NAME") + 4)
        frame = self._frame
        if frame is not None and frame.layout is None:  # the summary's frame: this is its table
            frame.layout = layout
            return None
        done = self._emit(frame) if frame is not None else None
        self._frame = _FrameBuilder(line_no)
        self._frame.layout = layout
        return done

    def _summary_line(self, frame: _FrameBuilder, stripped: str, line_no: int, line: str) -> None:
        pattern = _SUMMARY_DOMAINS if len(frame.summary_lines) == 1 else _SUMMARY_MEM
        match = pattern.fullmatch(stripped) if len(frame.summary_lines) < 3 else None
        if match is None:
            raise _error("xentop", "expected the summary lines, then the NAME STATE ... header", line_no, line)
        frame.summary_lines.append(match)

    def _row_or_subrow(self, frame: _FrameBuilder, line: str, stripped: str, line_no: int) -> None:
        if frame.pcpu_table or stripped in ("Physical CPU Usage:", "No PCPU data available"):
            self._pcpu_line(frame, stripped, line_no, line)
            return
        last = frame.rows[-1] if frame.rows else None
        sub = frame.sub
        frame.sub = ""
        if stripped.startswith("VCPUs(sec):"):
            entries = stripped[len("VCPUs(sec):"):]
            self._vcpu_entries(self._owner(last, line_no, line), entries, line_no, line)
            frame.sub = "vcpu"
        elif sub == "vcpu" and line.startswith("        ") and _VCPU_ENTRIES.fullmatch(line):
            self._vcpu_entries(self._owner(last, line_no, line), line, line_no, line)
            frame.sub = "vcpu"
        elif stripped.startswith("Net") and (net := _NET_SUBROW.fullmatch(stripped)):
            owner = self._owner(last, line_no, line)
            owner.nets.append(XentopNet(*(int(group) for group in net.groups())))
        elif stripped.startswith("VBD ") and (vbd := _VBD_SUBROW.fullmatch(stripped)):
            owner = self._owner(last, line_no, line)
            g = vbd.groups()
            owner.vbds.append(XentopVbd(g[0], int(g[1]), int(g[2], 16) if g[2] else None,
                                        int(g[3], 16) if g[3] else None, *(_count(v) for v in g[4:])))
        elif stripped.startswith("Tmem:") and (tmem := _TMEM_SUBROW.fullmatch(stripped)):
            owner = self._owner(last, line_no, line)
            a, b, c, d = (int(group) for group in tmem.groups())
            owner.tmem = (a, b, c, d)
        else:
            if len(frame.rows) >= MAX_DOMAINS:
                raise _error("xentop", f"more than {MAX_DOMAINS} domains in one frame", line_no, line)
            frame.rows.append(self._row(frame.layout, line, line_no))  # type: ignore[arg-type]

    @staticmethod
    def _owner(row: _RowBuilder | None, line_no: int, line: str) -> _RowBuilder:
        if row is None:
            raise _error("xentop", "a sub-row before any domain row", line_no, line)
        return row

    @staticmethod
    def _vcpu_entries(row: _RowBuilder, entries: str, line_no: int, line: str) -> None:
        if not _VCPU_ENTRIES.fullmatch(entries):
            raise _error("xentop", "expected VCPUs(sec): N: SECONDSs ...", line_no, line)
        row.vcpus.extend((int(vcpu), int(seconds)) for vcpu, seconds in _VCPU_ENTRY.findall(entries))

    @staticmethod
    def _pcpu_line(frame: _FrameBuilder, stripped: str, line_no: int, line: str) -> None:
        """`-p` (xentop.c print_pcpu_stats_display): a title, a +---+ bordered `| Core | Usage |` table."""
        if stripped == "Physical CPU Usage:":
            frame.pcpu_table = True
        elif stripped == "No PCPU data available":
            frame.pcpu_table = False
        elif row := _PCPU_ROW.fullmatch(stripped):
            frame.pcpus.append((int(row.group(1)), float(row.group(2))))
        elif not (set(stripped) <= set("+-") or stripped.replace(" ", "") == "|Core|Usage|"):
            raise _error("xentop", "expected the Physical CPU Usage table", line_no, line)

    @staticmethod
    def _row(layout: _Layout, line: str, line_no: int) -> _RowBuilder:
        """A domain row, read from the right: the last `count` tokens are the columns (MAXMEM's `no limit`
        taking two), whatever is left of them is the name as printed."""
        count, at = layout.count, layout.maxmem
        parts = line.rsplit(None, count)
        taken = count
        if (at is not None and len(parts) >= count and parts[-count + at] == "limit"
                and parts[-count + at - 1] == "no"):
            parts = line.rsplit(None, count + 1)
            taken = count + 1
        if len(parts) < taken:
            raise _error("xentop", f"expected {count + 1} columns", line_no, line)
        values = parts[-taken:]
        if at is not None and taken > count:
            values[at:at + 2] = ["no limit"]
        match = layout.regex.fullmatch(" ".join(values))
        if match is None:
            _row_error(layout, values, line, line_no)
        converted = [convert(token) for convert, token in zip(layout.converters, match.groups())]
        if not layout.full:
            row = list(_ROW_DEFAULTS)
            for slot, value in zip(layout.slots, converted):
                row[slot] = value
            converted = row
        name = parts[0].strip() if len(parts) > taken else ""
        return _RowBuilder(converted, name, line_no)

    def _emit(self, frame: _FrameBuilder) -> XentopFrame:
        layout = frame.layout
        assert layout is not None
        truncating = layout.name_width <= 10
        previous = self._previous
        first = self._emitted == 0
        rows = []
        current: dict[str, int] = {}
        for builder in frame.rows:
            values, name = builder.values, builder.name
            cpu = values[1]
            current[name] = min(cpu, current.get(name, cpu))
            pct = values[2]
            if first or name not in previous or cpu < previous[name]:
                pct = None
            rows.append(XentopRow(name, truncating and len(name) == 10, values[0], cpu, pct, *values[3:],  # type: ignore[call-arg]
                                  builder.line_no, tuple(builder.vcpus), tuple(builder.nets), tuple(builder.vbds),
                                  builder.tmem))
        self._previous = current
        index = self._emitted
        self._emitted += 1
        return XentopFrame(index=index, line_no=frame.line_no, columns=layout.columns, rows=tuple(rows),
                           summary=_summary(frame.summary_lines), pcpus=tuple(frame.pcpus))


def _row_error(layout: _Layout, values: list[str], line: str, line_no: int) -> NoReturn:
    """Raise the ParseError naming the first column whose value does not fit."""
    for (field_name, kind), token in zip(layout.fields, values):
        if not re.fullmatch(_KIND_PATTERNS[kind], token):
            what = {"s": "a xentop state", "u": "a whole number", "d": "a count", "f": "a percentage",
                    "p": "a percentage", "m": "a size"}[kind]
            raise _error("xentop", f"{field_name} {token[:40]!r} is not {what}", line_no, line)
    raise _error("xentop", "the row does not match the header", line_no, line)


def _count(token: str) -> int | None:
    return None if token == "-" else int(token)


def _summary(lines: list[re.Match[str]]) -> XentopSummary | None:
    """The summary of an interactive frame; None in batch mode (or when only its first line was printed)."""
    if len(lines) < 2:
        return None
    top, doms = lines[0], lines[1]
    mem = [int(value) for value in lines[2].groups()] if len(lines) > 2 else [None] * 5
    return XentopSummary(top.group(1), top.group(2).strip(), *(int(value) for value in doms.groups()),  # type: ignore[misc]
                         mem_total_kib=mem[0], mem_used_kib=mem[1], mem_free_kib=mem[2], cpus=mem[3], mhz=mem[4])


def parse_xentop(text: str) -> tuple[XentopFrame, ...]:
    """Every frame of a finished `xentop -b -i N` run (or a sample): a `XentopStream` fed all of it, closed."""
    stream = XentopStream()
    return tuple(stream.feed(text) + stream.close())
