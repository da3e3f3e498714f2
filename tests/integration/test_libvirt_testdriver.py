"""The libvirt backend and the fleet on libvirt's test driver (real libvirt, no daemon)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action
from hvdeck.backends.errors import Unsupported
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.libvirt.backend import LibvirtBackend
from hvdeck.backends.model import DomainState, HostStatus
from hvdeck.backends.plan import Executor
from hvdeck.backends.sim.demo import demo_inventory
from hvdeck.backends.store import Store
from hvdeck.backends.transport.local import LocalSession

from ..conftest import demo_xml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "libvirt"


def _spec(name: str = "kvm-a", xml: str | None = None, **kw) -> HostSpec:
    return HostSpec(name=name, address=name, transport="local", kind="libvirt",
                    libvirt_uri=f"test://{xml or demo_xml('kvm-a')}", **kw)


async def _backend(spec: HostSpec) -> LibvirtBackend:
    backend = LibvirtBackend(spec, LocalSession(spec.name))
    await backend.open()
    return backend


async def test_poll_lists_every_domain_with_its_state():
    backend = await _backend(_spec(xml=str(FIXTURES / "test_node.xml")))
    try:
        domains = {d.name: d for d in await backend.poll()}
    finally:
        await backend.close()
    # the same as `virsh list --all` on this file (shared formats, libvirt §4)
    assert {n: (d.id, d.native_state, d.state) for n, d in domains.items()} == {
        "web01": (1, "running", DomainState.RUNNING),
        "cache01": (2, "paused", DomainState.PAUSED),
        "db01": (None, "shut off", DomainState.STOPPED),
        "batch01": (None, "shut off", DomainState.STOPPED),
    }
    web = domains["web01"]
    assert (web.vcpus, web.memory_bytes, web.uuid) == (2, 2 * 1024**3, "11111111-1111-1111-1111-111111111111")
    assert web.console is None and web.cpu_percent is None


async def test_cpu_percent_needs_two_polls_and_bindings_come_from_xml():
    backend = await _backend(_spec())
    try:
        await backend.poll()
        await asyncio.sleep(0.2)
        domains = {d.name: d for d in await backend.poll()}
        assert domains["web01"].cpu_percent is not None
        assert domains["build01"].cpu_percent is None, "a shut-off domain has no CPU figure"
        # paused and crashed guests: no figures, whatever the test driver's clock-derived counters say
        for name in ("cache01", "legacy-app"):
            d = domains[name]
            assert (d.cpu_percent, d.net_rx_bps, d.net_tx_bps, d.disk_rd_bps, d.disk_wr_bps) == (None,) * 5, name
        # the test driver's bulk stats have no interface or block group; its per-device calls
        # (virDomainInterfaceStats/BlockStats, shared formats libvirt §2.7) count up with the clock
        web = domains["web01"]
        assert all(v is not None and v > 0 for v in (web.net_rx_bps, web.net_tx_bps, web.disk_rd_bps, web.disk_wr_bps))
        # db01 has two interfaces and three disks: twice and three times one device's rate
        db_row = domains["db01"]
        assert db_row.net_rx_bps > 1.5 * web.net_rx_bps and db_row.disk_rd_bps > 2.5 * web.disk_rd_bps
        db = await backend.bindings(domains["db01"])
    finally:
        await backend.close()
    assert [d.target for d in db.disks] == ["vda", "vdb", "sda"]
    assert db.disks[2].read_only and db.disks[1].source == "/dev/vg_data/db01-data"
    assert [n.source for n in db.nics] == ["br0", "storage"]
    assert len(db.cpu.pinning) == 8 and db.cpu.pinning[4].cpuset == "20"
    assert [(c.kind, c.type) for c in db.consoles] == [("serial", "pty"), ("console", "pty")]


async def test_lifecycle_plans_run_through_the_executor(tmp_path: Path):
    backend = await _backend(_spec())
    audit = AuditLog(tmp_path / "audit.log")
    executor = Executor(lambda host: backend_target, audit)

    class _T:
        read_only = False
        execute = staticmethod(backend.execute)

    backend_target = _T()
    try:
        web = next(d for d in await backend.poll() if d.name == "web01")
        assert backend.why_not(Action.UNPAUSE, web) == "web01 is running, not paused"
        with pytest.raises(Unsupported):
            backend.plan_action(Action.START, web)
        result = await executor.run(backend.plan_action(Action.PAUSE, web))
        assert result.ok, result.summary()
        web = next(d for d in await backend.poll() if d.name == "web01")
        assert (web.state, web.native_state) == (DomainState.PAUSED, "paused")
        assert (await executor.run(backend.plan_action(Action.UNPAUSE, web))).ok
        assert (await executor.run(backend.plan_action(Action.FORCE_OFF, web))).ok
        web = next(d for d in await backend.poll() if d.name == "web01")
        assert web.state is DomainState.STOPPED and web.id is None
        # a failing call shows libvirt's own message
        failed = await executor.run(backend.plan_action(Action.START, web).__class__(
            title="start twice", host="kvm-a", action="start", target="web01",
            steps=backend.plan_action(Action.START, web).steps * 2))
        assert [o.status for o in failed.outcomes] == ["ok", "failed"]
        assert "Domain 'web01' is already running" in failed.failed.error
    finally:
        await backend.close()
    assert [r["operation"].split("(")[0] for r in audit.records() if r["result"] != "started"] == [
        "virDomainSuspend", "virDomainResume", "virDomainDestroy", "virDomainCreate", "virDomainCreate"]
    assert audit.verify() == []


async def test_lifecycle_event_refreshes_at_once():
    backend = await _backend(_spec())
    changed = asyncio.Event()
    backend.on_change = changed.set
    try:
        conn = backend._conn
        # a change made through this connection but not through hvdeck's executor: only the event tells
        await asyncio.to_thread(lambda: conn.lookupByName("web02").suspend())
        await asyncio.wait_for(changed.wait(), 5)
    finally:
        await backend.close()


async def test_fleet_poll_once_reports_every_host_and_marks_failures(tmp_path: Path):
    broken = tmp_path / "broken.xml"
    broken.write_text("<node><domain type='test'><name>x</name>")  # truncated: libvirt refuses it
    specs = demo_inventory().hosts + (_spec("broken", xml=str(broken)),)
    snapshots = {s.host: s for s in await Fleet(Inventory(specs)).poll_once(sample_interval=0.2)}
    assert snapshots["kvm-a"].status is HostStatus.UP and len(snapshots["kvm-a"].domains) == 6
    assert snapshots["kvm-b"].status is HostStatus.UP and len(snapshots["kvm-b"].domains) == 6
    running = [d for d in snapshots["kvm-a"].domains if d.state is DomainState.RUNNING]
    assert running and all(d.cpu_percent is not None for d in running), "two samples give CPU %"
    assert snapshots["broken"].status is HostStatus.DOWN
    assert "cannot open" in snapshots["broken"].error and snapshots["broken"].domains == ()


async def test_run_host_polls_again_when_poked():
    fleet = Fleet(Inventory((_spec(poll_interval=3600),)))
    seen: list[int] = []
    got = asyncio.Event()

    store = Store()

    def update(snapshot):
        store.update(snapshot)
        seen.append(len(snapshot.domains))
        got.set()

    fleet.on_update = update
    task = asyncio.create_task(fleet.run_host("kvm-a"))
    try:
        await asyncio.wait_for(got.wait(), 5)
        got.clear()
        fleet.poke("kvm-a")
        await asyncio.wait_for(got.wait(), 5)  # far sooner than the hour-long interval
        assert seen == [6, 6]
        history = store.history(next(iter(store.snapshots["kvm-a"].domains)).key)
        assert len(history.cpu) == 2
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert fleet.backend("kvm-a") is None, "cancelling the poller closes the backend"
