"""The Xen backend through real SSH against each simulated flavour (xl, xm, Sun xVM), driven through the Fleet
as the console drives it: the live table from one xentop stream, a pause seen within one interval, the
credit scheduler in the bindings, a killed stream started again, and create, clone, console and live
migration as plans run by the executor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncssh
import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import Domain, DomainState, HostSnapshot, HostStatus
from hvdeck.backends.plan import StepProgress
from hvdeck.backends.sim.sshserver import SimSSHServer
from hvdeck.backends.sim.xen import XenWorld, serve
from hvdeck.backends.xen import plans
from hvdeck.backends.xen.backend import XenBackend
from hvdeck.backends.xen.live import XentopView

FLAVOURS = ["xl", "xm", "xvm"]
BUSY = {"xl": "web01", "xm": "app02", "xvm": "sol1"}


@dataclass
class Dom0s:
    worlds: dict[str, XenWorld]
    servers: dict[str, SimSSHServer]
    fleet: Fleet
    snapshots: list[HostSnapshot] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)

    def domain(self, host: str, name: str) -> Domain:
        snapshot = next(s for s in reversed(self.snapshots) if s.host == host and s.status is HostStatus.UP)
        return next(d for d in snapshot.domains if d.name == name)

    def latest(self, host: str) -> HostSnapshot:
        return next(s for s in reversed(self.snapshots) if s.host == host)

    def run(self, host: str) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(self.fleet.run_host(host)))

    async def until(self, predicate, timeout: float = 20.0) -> HostSnapshot:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for snapshot in reversed(self.snapshots):
                if predicate(snapshot):
                    return snapshot
            await asyncio.sleep(0.05)
        raise AssertionError(f"no snapshot satisfied {predicate}")


async def _start(ssh_world, tmp_path, worlds: dict[str, XenWorld], **spec) -> Dom0s:
    servers = {}
    hosts = []
    for name, world in worlds.items():
        server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                             authorized_keys=[ssh_world.client_key])
        ssh_world.trust(server)
        servers[name] = server
        hosts.append(ssh_world.spec(server, name=name, kind=spec.get("kind", "xen"), poll_interval=1))
    dom0s = Dom0s(worlds, servers, Fleet(Inventory(tuple(hosts), ssh_world.options()),
                                         audit=AuditLog(tmp_path / "audit.log")))
    dom0s.fleet.on_update = dom0s.snapshots.append
    return dom0s


@pytest.fixture
async def one(request, ssh_world, tmp_path) -> AsyncIterator[Dom0s]:
    flavour = getattr(request, "param", "xl")
    world = XenWorld.demo(f"{flavour}-a", flavour, 1)
    world.shutdown_seconds = 0.3
    dom0s = await _start(ssh_world, tmp_path, {"h": world})
    yield dom0s
    for task in dom0s.tasks:
        task.cancel()
    await asyncio.gather(*dom0s.tasks, return_exceptions=True)
    await dom0s.fleet.close()
    for server in dom0s.servers.values():
        await server.close()


def backend(dom0s: Dom0s, host: str = "h") -> XenBackend:
    found = dom0s.fleet.backend(host)
    assert isinstance(found, XenBackend)
    return found


@pytest.mark.parametrize("one", FLAVOURS, indirect=True)
async def test_the_table_comes_from_one_xentop_stream_with_rates(one):
    world = one.worlds["h"]
    first = await one.fleet.poll_host("h")
    assert first.status is HostStatus.UP, first.error
    info = first.info
    assert info is not None and info.version == f"{world.machine.xen_major}.{world.machine.xen_minor}" \
        f"{world.machine.xen_extra}" and info.cpus == world.machine.nr_cpus
    assert "credit scheduler" in info.hypervisor
    names = {d.name: d for d in first.domains}
    active = {d.name for d in world.domains.values() if d.active}
    assert active <= set(names)
    assert all(names[n].cpu_percent is None for n in active)  # the first frame has none, never 0
    stopped = {d.name for d in first.domains if d.state is DomainState.STOPPED}
    assert stopped == {d.name for d in world.domains.values() if not d.active} | {
        p.rsplit("/", 1)[1][:-4] for p in world.files if p.startswith("/etc/xen/") and p.endswith(".cfg")} - active
    second = await one.fleet.poll_host("h")
    busy = next(d for d in second.domains if d.name == BUSY[world.toolstack.value])
    assert busy.cpu_percent is not None and busy.cpu_percent > 20 and busy.id == world.domains[busy.name].domid
    assert busy.net_rx_bps is not None and busy.net_rx_bps > 0
    assert (busy.disk_wr_bps is not None) == (world.toolstack.value != "xvm")  # Xen 3.3's xentop: no sectors
    view = one.fleet.xentop_frame("h")
    assert isinstance(view, XentopView) and view.rows and view.total_memory_bytes and view.stale is None
    server = one.servers["h"]
    assert sum(1 for c in server.commands if c.startswith("xentop -b -d 1") and "-i" not in c) == 1
    assert one.fleet.xentop_frame("nosuch") is None


@pytest.mark.parametrize("one", FLAVOURS, indirect=True)
async def test_pause_is_seen_within_one_interval(one):
    one.run("h")
    await one.until(lambda s: s.status is HostStatus.UP and any(d.cpu_percent is not None for d in s.domains))
    name = BUSY[one.worlds["h"].toolstack.value]
    target = one.domain("h", name)
    plan = one.fleet.plan_action(Action.PAUSE, target, one.latest("h"))
    result = await one.fleet.run_plan(plan)
    assert result.ok, result.summary()
    done = time.monotonic()
    count = len(one.snapshots)
    paused = await one.until(lambda s: one.snapshots.index(s) >= count and any(
        d.name == name and d.state is DomainState.PAUSED for d in s.domains))
    assert time.monotonic() - done <= 1.0 + 1.5  # one xentop interval (1 s), and the way over SSH
    assert next(d for d in paused.domains if d.name == name).native_state == "----p-"
    # the state table follows: unpause is offered now, pause is not
    row = next(d for d in paused.domains if d.name == name)
    assert one.fleet.why_not(Action.UNPAUSE, row, paused) is None
    assert "already paused" in one.fleet.why_not(Action.PAUSE, row, paused)


@pytest.mark.parametrize("one", FLAVOURS, indirect=True)
async def test_sched_credit_changes_show_in_the_bindings(one):
    await one.fleet.poll_host("h")
    await one.fleet.poll_host("h")
    name = BUSY[one.worlds["h"].toolstack.value]
    row = one.domain("h", name)
    before = await one.fleet.bindings(row)
    section = next(s for s in before.extra if s.title == "CREDIT SCHEDULER")
    assert section.rows[0] == (str(one.worlds["h"].domains[name].weight), "0 (no cap)")
    plan = await one.fleet.plan_extra(plans.SCHED_CREDIT, row, {"weight": "500", "cap": "100"}, one.latest("h"))
    assert plan.steps[0].operation.argv[-4:] == ("-w", "500", "-c", "100")
    assert (await one.fleet.run_plan(plan)).ok
    after = await one.fleet.bindings(row)
    assert next(s for s in after.extra if s.title == "CREDIT SCHEDULER").rows[0] == ("500", "100%")
    assert one.worlds["h"].domains[name].weight == 500
    vcpu = next(s for s in after.extra if s.title == "VCPU")
    assert len(vcpu.rows) == one.worlds["h"].domains[name].max_vcpus


async def test_a_killed_xentop_is_started_again_and_the_host_is_stale_meanwhile(one):
    world, server = one.worlds["h"], one.servers["h"]
    one.run("h")
    await one.until(lambda s: s.status is HostStatus.UP and any(d.cpu_percent is not None for d in s.domains))
    assert world.run(["pkill", "xentop"]).exit_status == 0
    stale = await one.until(lambda s: s.status is HostStatus.STALE)
    assert "xentop ended (exit status 0)" in (stale.error or "") and stale.domains  # the last rows stay
    up = await one.until(lambda s: s.status is HostStatus.UP and one.snapshots.index(s) > one.snapshots.index(stale))
    assert up.domains
    streams = [c for c in server.commands if c == "xentop -b -d 1 -f"]
    assert len(streams) == 2
    # the link drops: the stream fails, the host is stale, the session reconnects and xentop runs again
    server.drop_connections()
    dropped = await one.until(lambda s: s.status is HostStatus.STALE and one.snapshots.index(s) >
                              one.snapshots.index(up))
    await one.until(lambda s: s.status is HostStatus.UP and one.snapshots.index(s) > one.snapshots.index(dropped))
    assert len([c for c in server.commands if c == "xentop -b -d 1 -f"]) == 3


async def test_kind_auto_detects_each_flavour(ssh_world, tmp_path):
    worlds = {f: XenWorld.demo(f"{f}-a", f, 1) for f in FLAVOURS}
    dom0s = await _start(ssh_world, tmp_path, worlds, kind="auto")
    try:
        for flavour in FLAVOURS:
            snapshot = await dom0s.fleet.poll_host(flavour)
            assert (snapshot.status, snapshot.kind) == (HostStatus.UP, "xen"), snapshot.error
            assert backend(dom0s, flavour).xvm == (flavour == "xvm")
    finally:  # closed at once after the poll: the streams have just started (see XenBackend.close)
        await dom0s.fleet.close()
        for server in dom0s.servers.values():
            await server.close()


@pytest.mark.parametrize("one", ["xl", "xm"], indirect=True)
async def test_create_a_guest_on_lvm(one):
    await one.fleet.poll_host("h")
    world = one.worlds["h"]
    vg = next(iter(world.lvm.vgs))
    form = one.fleet.create_form("h")
    assert form is not None
    form = form.with_choices(await one.fleet.create_choices("h"))
    values = form.parse({"name": "new01", "memory": "1G", "vcpus": "2", "storage": f"lvm:{vg}", "disk_size": "8G"})
    plan = await one.fleet.plan_create("h", values)
    assert plan.steps[1].operation.argv == ("tee", "/etc/xen/new01.cfg") and plan.steps[1].input
    result = await one.fleet.run_plan(plan)
    assert result.ok, result.summary()
    assert world.domains["new01"].active and world.lvm.lv_by_path(f"/dev/{vg}/new01-disk") is not None
    assert world.files["/etc/xen/new01.cfg"] == plan.steps[1].input
    snapshot = await one.fleet.poll_host("h")
    assert any(d.name == "new01" and d.state is DomainState.RUNNING for d in snapshot.domains)
    with pytest.raises(Exception, match="in use"):  # the name is taken now
        await one.fleet.plan_create("h", values)


@pytest.mark.parametrize("one", ["xvm"], indirect=True)
async def test_create_a_guest_on_xvm_with_a_vdisk(one):
    await one.fleet.poll_host("h")
    form = one.fleet.create_form("h").with_choices(await one.fleet.create_choices("h"))
    values = form.parse({"name": "sol3", "memory": "1G", "storage": "vdisk:/export/vdisks", "disk_size": "8G",
                         "source": "/export/iso/sol-nv-b111-x86-dvd.iso"})
    result = await one.fleet.run_plan(await one.fleet.plan_create("h", values))
    assert result.ok, result.summary()
    world = one.worlds["h"]
    assert world.vdisks.find("/export/vdisks/sol3") is not None and world.domains["sol3"].active


@pytest.mark.parametrize("one", ["xl"], indirect=True)
async def test_clone_a_stopped_guest_copy_on_write(one):
    snapshot = await one.fleet.poll_host("h")
    source = next(d for d in snapshot.domains if d.name == "backup01")
    assert source.state is DomainState.STOPPED and source.handle == "/etc/xen/backup01.cfg"
    assert one.fleet.clone_form(next(d for d in snapshot.domains if d.name == "web02")) is None  # running
    form = one.fleet.clone_form(source)
    values = form.with_choices(await one.fleet.clone_choices(source)).parse(
        {"name": "backup02", "snapshot_size": "1G", "start": "yes"})
    plan = await one.fleet.plan_clone(source, values)
    assert plan.steps[0].operation.argv == ("lvcreate", "-s", "-L", "1024m", "-n", "backup02-disk",
                                            "vg0/backup01-disk")
    assert "for changes" in plan.warning  # 1G for a 20G origin
    result = await one.fleet.run_plan(plan)
    assert result.ok, result.summary()
    world = one.worlds["h"]
    lv = world.lvm.lv_by_path("/dev/vg0/backup02-disk")
    assert lv is not None and lv.origin == "backup01-disk" and world.domains["backup02"].active
    assert world.domains["backup02"].config.vifs[0].mac != world.files["/etc/xen/backup01.cfg"].split("mac=")[1][:17]


@pytest.mark.parametrize("one", ["xvm"], indirect=True)
async def test_clone_a_vdisk_on_xvm(one):
    snapshot = await one.fleet.poll_host("h")
    source = next(d for d in snapshot.domains if d.name == "sol2")
    form = one.fleet.clone_form(source).with_choices(await one.fleet.clone_choices(source))
    values = form.parse({"name": "sol4", "vdisk": "/export/vdisks/sol2", "snapshot": "install"})
    plan = await one.fleet.plan_clone(source, values)
    assert [s.operation.argv[:2] for s in plan.steps] == [("vdiskadm", "clone"), ("tee", "/etc/xen/sol4.cfg"),
                                                          ("xm", "new")]
    assert (await one.fleet.run_plan(plan)).ok
    world = one.worlds["h"]
    assert world.vdisks.find("/export/vdisks/sol4").parent == "/export/vdisks/sol2@install"
    after = await one.fleet.poll_host("h")
    sol4 = next(d for d in after.domains if d.name == "sol4")
    assert sol4.state is DomainState.STOPPED and plans.managed(sol4)
    start = one.fleet.plan_action(Action.START, sol4, after)
    assert start.steps[0].operation.argv == ("xm", "start", "sol4")


@pytest.mark.parametrize("one", FLAVOURS, indirect=True)
async def test_console_on_a_pty(one):
    snapshot = await one.fleet.poll_host("h")
    name = BUSY[one.worlds["h"].toolstack.value]
    row = next(d for d in snapshot.domains if d.name == name)
    ref = one.fleet.console(row)
    assert ref.detach_hint == "" and name in ref.description  # Ctrl+] is hvdeck's detach key: the pane names it
    with pytest.raises(Exception, match="control domain"):
        one.fleet.console(next(d for d in snapshot.domains if d.name == "Domain-0"))
    channel = await one.fleet.open_console(row, cols=100, rows=30)
    try:
        seen = b""
        channel.write(b"\r")
        while b"login: " not in seen:
            seen += await asyncio.wait_for(channel.read(), 5)
        assert name.encode() in seen
        channel.write(b"\x1d")  # ^] detaches
        while await asyncio.wait_for(channel.read(), 5):
            pass
        assert await channel.wait() == 0
    finally:
        await channel.close()


async def _migration(ssh_world, tmp_path, worlds: dict[str, XenWorld], source: str, target: str, name: str):
    dom0s = await _start(ssh_world, tmp_path, worlds)
    try:
        await dom0s.fleet.poll_host(source)
        await dom0s.fleet.poll_host(target)
        row = dom0s.domain(source, name)
        assert dom0s.fleet.migrate_form(row) is not None
        assert target in dom0s.fleet.migration_targets(row)
        plan = await dom0s.fleet.plan_migrate(row, target, {"address": ""})
        checks = await dom0s.fleet.preflight(plan)
        assert all(c.ok for c in checks), [(c.check.description, c.reason) for c in checks]
        events = []
        result = await dom0s.fleet.run_plan(plan, on_event=events.append)
        assert result.ok, result.summary()
        assert name in worlds[target].domains and worlds[target].domains[name].active
        assert name not in worlds[source].domains
        if source.startswith("xen"):
            # xl leaves the guest's config file on the source, which lists it as stopped: Start on that copy
            # would run the guest twice. xentop shows no uuid for the running guest, so the plan warns (by
            # name, on a dom0 of the same kind) rather than refuses
            after = [await dom0s.fleet.poll_host(source), await dom0s.fleet.poll_host(target)]
            copy = dom0s.domain(source, name)
            assert (copy.state, copy.native_state) == (DomainState.STOPPED, "config") and copy.uuid
            assert dom0s.fleet.why_not(Action.START, copy, after[0], fleet=after) is None
            start = dom0s.fleet.plan_action(Action.START, copy, after[0], after)
            assert start.warning.startswith(f"A domain named {name} is running on {target}. If it is this guest")
            assert not dom0s.fleet.plan_action(Action.START, copy, after[0]).warning, "without the fleet, no twin"
        return plan, [e.info for e in events if isinstance(e, StepProgress)], checks
    finally:
        await dom0s.fleet.close()
        for server in dom0s.servers.values():
            await server.close()


async def test_xl_migrate_to_another_xl_dom0(ssh_world, tmp_path):
    a, b = XenWorld.demo("xen-a", "xl", 1), XenWorld("xen-b", "xl", seed=2)
    a.peer(b, share_vgs=("san0",))
    a.transfer_rate = 4 << 30
    plan, progress, checks = await _migration(ssh_world, tmp_path, {"xen-a": a, "xen-b": b}, "xen-a", "xen-b",
                                              "web02")
    assert plan.steps[0].operation.argv == ("xl", "migrate", "web02", "xen-b")  # the name xl info gave
    assert any(c.check.operation is not None and c.check.operation.argv[0] == "ssh" for c in checks)
    assert progress and progress[-1].fraction == 1.0 and progress[-1].message == "Migration successful."
    # the lines before the copy arrive together, then the rest: at least two updates while it runs
    assert len(progress) >= 2 and progress[0].fraction is None and progress[0].message


async def test_the_ssh_check_fails_for_a_target_the_source_cannot_reach(ssh_world, tmp_path):
    a, b = XenWorld.demo("xen-a", "xl", 1), XenWorld("xen-b", "xl", seed=2)  # not peered
    dom0s = await _start(ssh_world, tmp_path, {"xen-a": a, "xen-b": b})
    try:
        await dom0s.fleet.poll_host("xen-a")
        await dom0s.fleet.poll_host("xen-b")
        plan = await dom0s.fleet.plan_migrate(dom0s.domain("xen-a", "web02"), "xen-b", {})
        failed = [c for c in await dom0s.fleet.preflight(plan) if not c.ok]
        assert [c.check.operation.argv[0] for c in failed] == ["test", "ssh"]  # the disk, and the way there
        assert "Could not resolve hostname xen-b" in failed[1].reason
    finally:
        await dom0s.fleet.close()
        for server in dom0s.servers.values():
            await server.close()


async def test_xm_migrate_to_the_xvm_dom0(ssh_world, tmp_path):
    xm, xvm = XenWorld.demo("xm-a", "xm", 2), XenWorld.demo("xvm-a", "xvm", 3)
    xm.peer(xvm, share_vgs=("vg_guests",))
    plan, _, _ = await _migration(ssh_world, tmp_path, {"xm-a": xm, "xvm-a": xvm}, "xm-a", "xvm-a", "app01")
    assert plan.steps[0].operation.argv == ("xm", "migrate", "-l", "app01", "xvm-a")
