"""Pure: what one host's xentop stream shows — the fleet rows and the xentop screen's view of a frame.

A frame (`XentopFrame`, parsed by `xentop.XentopStream`) holds counters; rates come from the difference
between two consecutive frames of the same stream, over the time between their arrivals (or the stream's
interval, when the arrivals are less than half or more than twice that apart: frames that queued up on the
way, a replay printed at once): NETTX/NETRX
(KiB, shared/formats/xen.md §1.3) as bytes per second, VBD_RD/VBD_WR as requests per second, and
VBD_RSECT/VBD_WSECT (512-byte sectors) as bytes per second for the fleet table's DISK column (a xentop
older than 2009 has no sector columns: no disk bytes). CPU % is xentop's own (of one physical CPU, None
in a stream's first frame); the fleet row shows it as a share of the domain's own vCPUs, like every
other kind. A counter that went down (a domain rebooted under the same name) gives no rate.

Names xentop cut to 10 characters are resolved by `resolve` against the names `xl list` / `xm list`
gave (with memory, vCPUs and CPU time to tell apart two names that share the first 10 characters).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..model import Domain
from . import states
from .xentop import XentopFrame, XentopRow, resolve_name

SECTOR = 512


@dataclass(frozen=True, slots=True)
class Sample:
    """A complete frame, when its first line arrived (monotonic seconds) and its number since the backend
    opened (``seq``: a new number is a new frame, also across stream restarts)."""

    frame: XentopFrame
    at: float
    seq: int


@dataclass(frozen=True, slots=True)
class Listed:
    """What `xl list` / `xm list` says of one running domain: for names xentop cut, and domain ids."""

    name: str
    domid: int | None
    memory_mib: int | None
    vcpus: int | None
    cpu_seconds: float | None


@dataclass(frozen=True, slots=True)
class LiveRow:
    """One domain of a frame: the row as xentop printed it (`XentopRow`, every column), its full name and
    id, and the rates between this frame and the one before (None where unknown)."""

    key: str
    name: str
    domid: int | None
    row: XentopRow
    net_tx_bps: float | None = None
    net_rx_bps: float | None = None
    vbd_rd_per_s: float | None = None
    vbd_wr_per_s: float | None = None
    disk_rd_bps: float | None = None
    disk_wr_bps: float | None = None
    domain: Domain | None = None


@dataclass(frozen=True, slots=True)
class XentopView:
    """What the xentop screen shows of one host: the summary xentop prints above its table in interactive
    mode (computed here: batch mode prints none, §1.2) and the rows of the latest frame.

    ``counts`` are xentop's summary classes in its order (running, blocked, paused, crashed, dying,
    shutdown); memory in bytes from `xl info`; ``stale`` says why the stream is not running, if it is not."""

    host: str
    seq: int
    index: int
    at: float
    interval: int
    columns: tuple[str, ...]
    rows: tuple[LiveRow, ...]
    counts: tuple[tuple[str, int], ...]
    xen_version: str | None = None
    cpus: int | None = None
    cpu_mhz: float | None = None
    total_memory_bytes: int | None = None
    free_memory_bytes: int | None = None
    stale: str | None = None

    @property
    def used_memory_bytes(self) -> int | None:
        if self.total_memory_bytes is None or self.free_memory_bytes is None:
            return None
        return self.total_memory_bytes - self.free_memory_bytes


COUNT_ORDER = ("running", "blocked", "paused", "crashed", "dying", "shutdown")


def resolve(row: XentopRow, listed: Mapping[str, Listed]) -> Listed | None:
    """The listed domain a xentop row is: by its name when xentop printed it whole, else the one name that
    starts with the cut one (`resolve_name`); among several, the one whose memory, vCPUs and CPU time
    match. None when nothing (or more than one) fits: the caller lists the domain again."""
    if not row.name_may_be_truncated:
        return listed.get(row.name)
    name = resolve_name(row.name, listed)
    if name is not None:
        return listed[name]
    candidates = [entry for entry in listed.values() if entry.name.startswith(row.name)]
    fitting = [entry for entry in candidates  # memory within a MiB: the two tools round differently
               if (entry.memory_mib is None or abs(entry.memory_mib - row.mem_kib / 1024) <= 1)
               and entry.vcpus in (None, row.vcpus)
               and (entry.cpu_seconds is None or abs(entry.cpu_seconds - row.cpu_seconds) <= 5.0)]
    return fitting[0] if len(fitting) == 1 else None


def _rate(now: int | None, before: int | None, dt: float, scale: float = 1.0) -> float | None:
    if now is None or before is None or dt <= 0 or now < before:
        return None
    return (now - before) * scale / dt


def live_rows(host: str, sample: Sample, previous: Sample | None, listed: Mapping[str, Listed], *,
              interval: float, console: str | None = None) -> tuple[LiveRow, ...]:
    """The rows of ``sample`` with rates against ``previous`` (the frame before it in the same stream, or
    None) and names and ids from ``listed``; ``interval`` is the stream's `-d`. A row whose cut name cannot be
    resolved keeps the name as printed."""
    before: dict[str, XentopRow] = {}
    dt = 0.0
    if previous is not None and previous.frame.index == sample.frame.index - 1:
        before = {row.name: row for row in previous.frame.rows}
        dt = sample.at - previous.at
        if not interval / 2 <= dt <= interval * 2:
            dt = interval
    rows = []
    for row in sample.frame.rows:
        entry = resolve(row, listed)
        name = entry.name if entry is not None else row.name
        domid = entry.domid if entry is not None else None
        old = before.get(row.name)
        if old is not None and old.cpu_seconds > row.cpu_seconds:
            old = None  # a new domain of the same name (rebooted): no rate across it
        rates = {}
        if old is not None:
            rates = dict(net_tx_bps=_rate(row.net_tx_kib, old.net_tx_kib, dt, 1024),
                         net_rx_bps=_rate(row.net_rx_kib, old.net_rx_kib, dt, 1024),
                         vbd_rd_per_s=_rate(row.vbd_rd, old.vbd_rd, dt), vbd_wr_per_s=_rate(row.vbd_wr, old.vbd_wr, dt),
                         disk_rd_bps=_rate(row.vbd_rsect, old.vbd_rsect, dt, SECTOR),
                         disk_wr_bps=_rate(row.vbd_wsect, old.vbd_wsect, dt, SECTOR))
        domain = row.domain(host, name=name, domid=domid)
        active = not states.is_dom0(domain)
        domain = replace(domain, net_tx_bps=rates.get("net_tx_bps"), net_rx_bps=rates.get("net_rx_bps"),
                         disk_rd_bps=rates.get("disk_rd_bps"), disk_wr_bps=rates.get("disk_wr_bps"),
                         console=console if active else None,
                         extra=domain.extra + (("letters", states.XENTOP),))
        rows.append(LiveRow(domain.key, name, domid, row, domain=domain, **rates))
    return tuple(rows)


def counts(frame: XentopFrame) -> tuple[tuple[str, int], ...]:
    found = frame.counts()
    return tuple((key, found[key]) for key in COUNT_ORDER)


def unresolved(frame: XentopFrame, listed: Mapping[str, Listed]) -> tuple[str, ...]:
    """Names in ``frame`` that `listed` does not account for (new domains, or cut names it cannot resolve)."""
    return tuple(row.name for row in frame.rows if resolve(row, listed) is None)


def renamed_or_restarted(frame: XentopFrame, previous: XentopFrame | None) -> bool:
    """Did a domain appear, go away, or start again (its CPU time went down) between two frames? Then the
    names and ids `xl list` gave are read again."""
    if previous is None:
        return True
    old = {row.name: row.cpu_seconds for row in previous.rows}
    new = {row.name: row.cpu_seconds for row in frame.rows}
    return old.keys() != new.keys() or any(new[name] < seconds for name, seconds in old.items() if name in new)


def listed_from(domains: Sequence[Domain]) -> dict[str, Listed]:
    """`Listed` entries from rows of `parse.parse_xl_list` / `parse.parse_xm_list` (running domains only)."""
    found = {}
    for domain in domains:
        if domain.id is None:
            continue
        seconds = next((value for label, value in domain.extra if label == "time(s)"), None)
        found[domain.name] = Listed(domain.name, domain.id,
                                    None if domain.memory_bytes is None else domain.memory_bytes >> 20,
                                    domain.vcpus, float(seconds) if seconds is not None else None)
    return found
