"""The one store: latest snapshots, and compact histories that follow the domains a host reports."""

from __future__ import annotations

import dataclasses

from hvdeck.backends.model import Domain, DomainState, HostSnapshot, HostStatus
from hvdeck.backends.store import Store


def snap(host: str, *cpus: float | None, status: HostStatus = HostStatus.UP, names=None) -> HostSnapshot:
    names = names or [f"d{i}" for i in range(len(cpus))]
    return HostSnapshot(host=host, kind="ldoms", status=status, taken_at=0.0, domains=tuple(
        Domain(host=host, name=n, state=DomainState.RUNNING, native_state="active", cpu_percent=c,
               net_rx_bps=1.0, net_tx_bps=None, disk_rd_bps=None, disk_wr_bps=None) for n, c in zip(names, cpus)))


def test_histories_keep_the_last_samples_oldest_first_with_unknowns():
    store = Store(history=4)
    for cpu in (None, 1.0, 2.0, 3.0, 4.0, 5.0):
        store.update(snap("h", cpu))
    key = "h\x1fd0"
    assert store.cpu(key) == (2.0, 3.0, 4.0, 5.0)
    assert store.cpu(key, 2) == (4.0, 5.0) and store.cpu(key, 9) == store.cpu(key) and store.cpu(key, 0) == ()
    history = store.history(key)
    assert history.net == (1.0,) * 4 and history.disk == (None,) * 4
    store2 = Store(history=4)
    store2.update(snap("h", None))
    store2.update(snap("h", 7.5))
    assert store2.cpu(key) == (None, 7.5)


def test_a_failed_poll_adds_no_sample_and_keeps_the_last_snapshot_as_given():
    store = Store()
    store.update(snap("h", 10.0))
    stale = dataclasses.replace(snap("h", 10.0), status=HostStatus.STALE)
    store.update(stale)
    assert store.snapshots["h"] is stale
    assert store.cpu("h\x1fd0") == (10.0,)


def test_a_domain_that_went_away_loses_its_history_and_others_keep_theirs():
    store = Store()
    store.update(snap("h", 1.0, 2.0))
    store.update(snap("g", 9.0))
    store.update(snap("h", 3.0, names=["d0"]))
    assert store.cpu("h\x1fd1") == ()
    assert store.cpu("h\x1fd0") == (1.0, 3.0)
    assert store.cpu("g\x1fd0") == (9.0,)
    assert store.domain("h\x1fd0").cpu_percent == 3.0 and store.domain("h\x1fd1") is None
