"""The one store of what the fleet last saw: the latest `HostSnapshot` of each host, and a short history
of each domain's CPU %, network and disk rates.

The console owns one `Store` and feeds it every snapshot as it arrives; screens read it and nothing
else keeps a copy. Histories are compact by design: each domain's three series live in one fixed-size
``array('f')`` ring (float32, NaN for "unknown"), about 0.7 KiB per domain for 60 samples, and a poll
costs one write per series — nothing is copied per poll. Readers get the samples oldest first with
`Store.history` (a small tuple, for one domain screen) or `Store.cpu` (what the fleet table's sparkline
draws, for the rows on screen only).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from .model import Domain, HostSnapshot, HostStatus

HISTORY = 60  # samples kept per domain (two minutes at the default interval)
_NAN = float("nan")


@dataclass(frozen=True, slots=True)
class DomainHistory:
    """One domain's recent samples, oldest first; None where the value was unknown."""

    cpu: tuple[float | None, ...] = ()
    net: tuple[float | None, ...] = ()
    disk: tuple[float | None, ...] = ()


class _Ring:
    """Three series of ``size`` float32 samples in one array: cpu, net, disk."""

    __slots__ = ("count", "head", "values")

    def __init__(self, size: int) -> None:
        self.values = array("f", [_NAN]) * (3 * size)
        self.count = 0  # samples written so far (capped at size)
        self.head = 0  # where the next sample goes

    def add(self, size: int, cpu: float | None, net: float | None, disk: float | None) -> None:
        head = self.head
        values = self.values
        values[head] = _NAN if cpu is None else cpu
        values[size + head] = _NAN if net is None else net
        values[2 * size + head] = _NAN if disk is None else disk
        self.head = (head + 1) % size
        if self.count < size:
            self.count += 1

    def series(self, size: int, which: int, last: int | None = None) -> tuple[float | None, ...]:
        start = which * size
        count = self.count if last is None else min(self.count, max(0, last))
        order = range(self.head - count, self.head)
        values = self.values
        return tuple(None if math.isnan(v := values[start + i % size]) else v for i in order)


def _add(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return None
    return (a or 0.0) + (b or 0.0)


class Store:
    """Latest snapshots by host (``snapshots``) and each domain's history (`history`, `cpu`)."""

    def __init__(self, hosts: Iterable[HostSnapshot] = (), *, history: int = HISTORY) -> None:
        self.snapshots: dict[str, HostSnapshot] = {s.host: s for s in hosts}
        self.size = history
        self._rings: dict[str, _Ring] = {}
        #: domain keys of each host's last UP snapshot (to drop the histories of domains that went away)
        self._keys: dict[str, frozenset[str]] = {}

    def update(self, snapshot: HostSnapshot) -> None:
        """Keep ``snapshot`` as its host's latest; an UP snapshot adds one sample to each of its domains'
        histories (a failed poll adds none: it has no new figures)."""
        self.snapshots[snapshot.host] = snapshot
        if snapshot.status is not HostStatus.UP:
            return
        size, rings = self.size, self._rings
        keys = []
        for domain in snapshot.domains:
            key = domain.key
            keys.append(key)
            ring = rings.get(key)
            if ring is None:
                ring = rings[key] = _Ring(size)
            ring.add(size, domain.cpu_percent, _add(domain.net_rx_bps, domain.net_tx_bps),
                     _add(domain.disk_rd_bps, domain.disk_wr_bps))
        now = frozenset(keys)
        for gone in self._keys.get(snapshot.host, frozenset()) - now:
            rings.pop(gone, None)
        self._keys[snapshot.host] = now

    def history(self, key: str) -> DomainHistory:
        ring = self._rings.get(key)
        if ring is None:
            return DomainHistory()
        return DomainHistory(ring.series(self.size, 0), ring.series(self.size, 1), ring.series(self.size, 2))

    def cpu(self, key: str, last: int | None = None) -> tuple[float | None, ...]:
        """One domain's CPU % samples, oldest first; only the ``last`` ones if given (the fleet table's
        sparkline asks for as many as its column is wide: a row's redraw costs the same however old the
        session is)."""
        ring = self._rings.get(key)
        return ring.series(self.size, 0, last) if ring is not None else ()

    def domain(self, key: str) -> Domain | None:
        host = key.split("\x1f", 1)[0]
        snapshot = self.snapshots.get(host)
        if snapshot is None:
            return None
        return next((d for d in snapshot.domains if d.key == key), None)
