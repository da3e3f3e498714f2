"""The fleet served by an engine process: snapshots arrive batched, calls and plans cross the pipe with
their events, errors keep their kind, byte channels work, and a dead engine is reported, not hung on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action
from hvdeck.backends.errors import HvdeckError, Unsupported, ValidationError
from hvdeck.backends.model import HostStatus
from hvdeck.backends.plan import StepFinished
from hvdeck.backends.remote import EngineGone, RemoteFleet
from hvdeck.backends.sim.demo import DemoFleet


@pytest.fixture(scope="module")
def demo():
    with DemoFleet() as inventory:
        yield inventory


@contextlib.asynccontextmanager
async def _polling(fleet: RemoteFleet, hosts: Iterable[str]) -> AsyncIterator[None]:
    """The engine polls ``hosts`` (as the console's poller workers ask it to) for the block; then the
    engine stops and the pollers end."""
    pollers = [asyncio.create_task(fleet.run_host(name)) for name in hosts]
    try:
        yield
    finally:
        await fleet.close()
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)


async def _up(fleet: RemoteFleet, seen: dict, hosts: set[str]) -> None:
    async with asyncio.timeout(60):
        while not hosts <= {h for h, s in seen.items() if s.status is HostStatus.UP}:
            await asyncio.sleep(0.05)


async def test_the_engine_polls_answers_and_runs_plans(demo, tmp_path: Path):
    seen: dict = {}
    fleet = RemoteFleet(demo, audit_path=str(tmp_path / "audit.log"), on_update=lambda s: seen.__setitem__(s.host, s))
    async with _polling(fleet, [spec.name for spec in demo.hosts]):
        await _up(fleet, seen, {"kvm-a", "t7-a"})
        web = next(d for d in seen["kvm-a"].domains if d.name == "web01")
        # answered here, by a session-less copy of the backend
        assert fleet.why_not(Action.START, web, seen["kvm-a"]) is not None
        plan = fleet.plan_action(Action.PAUSE, web, seen["kvm-a"])
        # answered by the engine
        bindings = await fleet.bindings(web)
        assert bindings.domain == "web01" and bindings.disks
        events = []
        result = await fleet.run_plan(plan, on_event=events.append)
        assert result.ok and any(isinstance(e, StepFinished) for e in events)
        assert [r["result"] for r in AuditLog(tmp_path / "audit.log").records()] == ["started", "ok"]
        # errors keep their kind across the pipe
        ldg = next(d for d in seen["t7-a"].domains if d.name == "ldg-web1")
        extra = next(a for a in fleet.extra_actions("t7-a") if a.id == "add-vcpu")
        with pytest.raises(ValidationError):
            await fleet.plan_extra(extra, ldg, {"count": "100000"}, seen["t7-a"])
        with pytest.raises(Unsupported):
            fleet.plan_action(Action.PAUSE, ldg, seen["t7-a"])
        # a byte channel: a process on a simulated control domain, through the engine's connection
        channel = await fleet.open_process("t7-a", ["ldm", "list"])
        out = b""
        while data := await channel.read():
            out += data
        assert b"ldg-web1" in out and await channel.wait() == 0
        await channel.close()


async def test_a_dead_engine_is_reported(demo, tmp_path: Path):
    seen: dict = {}
    fleet = RemoteFleet(demo, on_update=lambda s: seen.__setitem__(s.host, s))
    poller = asyncio.create_task(fleet.run_host("kvm-a"))
    await _up(fleet, seen, {"kvm-a"})
    fleet._process.kill()
    with pytest.raises(EngineGone):
        await asyncio.wait_for(poller, 10)
    with pytest.raises(EngineGone):
        await fleet.host_detail("kvm-a")
    await fleet.close()


async def test_a_console_through_the_engine(demo):
    seen: dict = {}
    fleet = RemoteFleet(demo, on_update=lambda s: seen.__setitem__(s.host, s))
    poller = asyncio.create_task(fleet.run_host("t7-a"))
    try:
        await _up(fleet, seen, {"t7-a"})
        guest = next(d for d in seen["t7-a"].domains if d.name == "ldg-web1")
        assert fleet.console(guest).kind == "vntsd"
        channel = await fleet.open_console(guest, cols=100, rows=30)
        channel.write(b"\r")
        seen_bytes = b""
        async with asyncio.timeout(20):
            while b"login:" not in seen_bytes and b"ok" not in seen_bytes:
                seen_bytes += await channel.read()
        await channel.close()
        assert hasattr(channel, "take_notices") and hasattr(channel, "ended")
    finally:
        await fleet.close()
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)


def test_the_remote_fleet_offers_every_method_of_the_fleet():
    """The console holds a RemoteFleet by default: a Fleet method it lacks is an AttributeError in front of a user
    (the migration wizard's poll_host, the xentop screen's frames were)."""
    from hvdeck.backends.engine import PUBLIC
    from hvdeck.backends.fleet import Fleet

    # the engine's own: the whole fleet's one-shot poll (hvdeck ls), the executor's plumbing and the shutdown
    engine_side = {"poll_once", "target", "close"}
    public = {name for name in vars(Fleet) if not name.startswith("_") and callable(getattr(Fleet, name))}
    missing = {name for name in public - engine_side if not hasattr(RemoteFleet, name)}
    assert not missing, f"RemoteFleet lacks {sorted(missing)}"
    assert public >= PUBLIC


async def test_xentop_frames_a_poll_now_and_snapshot_plans_cross_the_pipe(demo):
    seen: dict = {}
    fleet = RemoteFleet(demo, on_update=lambda s: seen.__setitem__(s.host, s))
    async with _polling(fleet, ["xen-a", "t7-a"]):
        await _up(fleet, seen, {"xen-a", "t7-a"})
        async with asyncio.timeout(30):
            while (view := fleet.xentop_frame("xen-a")) is None or not view.rows:
                await asyncio.sleep(0.1)
        assert view.host == "xen-a" and "Domain-0" in {row.name for row in view.rows}
        assert fleet.xentop_frame("t7-a") is None  # not a Xen dom0: no frame, no error
        snapshot = await fleet.poll_host("t7-a")
        assert snapshot.status is HostStatus.UP and "ldg-web1" in {d.name for d in snapshot.domains}
        plan = await fleet.plan_snapshot("t7-a", "ldg-web1", "before-patch", "create")
        assert any("@before-patch" in step.operation.display() for step in plan.steps)
        # its checks are closures: they stay in the engine, and run there when the plan comes back
        assert plan.checks and any(c.parser is not None for c in plan.checks)
        results = await fleet.preflight(plan)
        assert len(results) == len(plan.checks) and all(r.ok for r in results), results
        with pytest.raises(HvdeckError, match="runs in the engine"):
            next(c.parser for c in plan.checks if c.parser is not None)(None)


async def test_the_consoles_copies_decide_as_the_probed_backends_do(demo):
    """The console decides plans and forms with session-less copies of the backends: they learn what the
    engine's probe found (`HostInfo.facts`), or an xm dom0's start would be `xl create` (it was)."""
    from hvdeck.backends.model import DomainState

    seen: dict = {}
    fleet = RemoteFleet(demo, on_update=lambda s: seen.__setitem__(s.host, s))
    hosts = ("xen-a", "xm-a", "xvm-a", "sol-a")
    async with _polling(fleet, hosts):
        await _up(fleet, seen, set(hosts))
        for host, tool in (("xen-a", "xl"), ("xm-a", "xm"), ("xvm-a", "xm")):
            stopped = next(d for d in seen[host].domains if d.state is DomainState.STOPPED)
            plan = fleet.plan_action(Action.START, stopped, seen[host])
            assert plan.steps[0].operation.argv[0] == tool, (host, plan.steps[0].operation.argv)
        xvm_form = fleet.create_form("xvm-a")
        assert xvm_form is not None and "source" in {o.name for o in xvm_form.options}
        xvm_guest = next(d for d in seen["xvm-a"].domains if d.name == "sol2")
        assert fleet.clone_form(xvm_guest) is not None
        sol_form = fleet.create_form("sol-a")
        assert sol_form is not None and sol_form != fleet.create_form("xen-a")
        from hvdeck.backends.zones.backend import ZonesBackend

        inline = ZonesBackend(demo.select(["sol-a"]).hosts[0], None)  # type: ignore[arg-type]
        inline.adopt(seen["sol-a"].info.facts)
        assert [o.name for o in sol_form.options] == [o.name for o in inline.create_form().options]
        assert dict(seen["sol-a"].info.facts)["layout"] == "solaris11"


async def test_a_batch_the_engine_is_still_writing_never_holds_the_console_loop(demo):
    """The engine's messages are read off the console's loop: while a batch is half written (the engine
    busy or descheduled) the loop goes on handling keys, and the batch arrives whole once its last byte
    does. (Read on the loop, a half-written batch blocked it until the rest came.)"""
    import multiprocessing
    import os
    import pickle
    import struct
    import threading
    import time

    from hvdeck.backends.model import HostSnapshot

    seen: list[HostSnapshot] = []
    fleet = RemoteFleet(demo, on_update=seen.append)
    ours, engine_end = multiprocessing.Pipe()
    loop = asyncio.get_running_loop()
    threading.Thread(target=fleet._read_engine, args=(loop, ours), daemon=True).start()
    snapshot = HostSnapshot(host="kvm-a", kind="libvirt", status=HostStatus.UP, taken_at=1.0)
    data = pickle.dumps(("snapshots", [snapshot]))
    # multiprocessing.Connection's framing: a 4-byte big-endian length, then the pickle
    os.write(engine_end.fileno(), struct.pack("!i", len(data)) + data[:10])
    lags = []
    for _ in range(10):
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - start - 0.01)
    assert seen == [] and max(lags) < 0.5, "the loop waited for the rest of the message"
    os.write(engine_end.fileno(), data[10:])
    async with asyncio.timeout(5):
        while not seen:
            await asyncio.sleep(0.01)
    assert seen == [snapshot]
    # the engine's end closing is reported as the engine ending, once
    engine_end.close()
    async with asyncio.timeout(5):
        await fleet._gone.wait()
    with pytest.raises(EngineGone):
        fleet._send(("noop",))


async def test_the_console_says_once_that_the_engine_stopped_and_marks_every_host(demo, tmp_path: Path):
    """The engine process killed under a running console: one notice (not one per host, not called a
    bug); every host says it is no longer watched, its last rows kept and shown as stale (nothing can be
    done on them), and a refresh says it cannot poll instead of pretending to."""
    from hvdeck.tui.app import HvdeckApp

    from ..ui.helpers import fleet_loaded, screen_lines, wait_for

    fleet = RemoteFleet(demo)
    app = HvdeckApp(demo, fleet=fleet, audit=AuditLog(tmp_path / "audit.log"))
    async with app.run_test(size=(120, 36)) as pilot:
        await fleet_loaded(pilot, 12)
        fleet._process.kill()
        rows = sum(len(s.domains) for s in app.snapshots.values())
        await wait_for(pilot, lambda: all(s.status is HostStatus.STALE for s in app.snapshots.values()), 20)
        await wait_for(pilot, lambda: len(app._notifications) >= 1)
        await pilot.pause(0.3)
        notes = list(app._notifications)
        assert len(notes) == 1 and notes[0].title == "Engine stopped" and notes[0].severity == "error"
        assert "restart hvdeck" in notes[0].message
        for snapshot in app.snapshots.values():
            assert "not watched" in (snapshot.error or "") and "restart hvdeck" in (snapshot.error or "")
        assert sum(len(s.domains) for s in app.snapshots.values()) == rows
        assert any(f"{rows} of {rows} domains" in line for line in screen_lines(app))
        domain = next(d for s in app.snapshots.values() for d in s.domains)
        assert "not answering" in (app.why_not(Action.START, domain) or "")
        app.refresh_hosts()
        await pilot.pause()
        assert "Cannot poll" in list(app._notifications)[-1].message
