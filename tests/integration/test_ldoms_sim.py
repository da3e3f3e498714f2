"""The LDoms backend through real SSH against the simulated control domain: the operator's sequence for
a new guest run as a Plan, then listed by `hvdeck ls --json`, its bindings read back; and a plan that
fails half-way, offering its undo steps."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.ldoms.commands import NewGuest, create_plan
from hvdeck.backends.model import DomainState, HostStatus
from hvdeck.backends.plan import Executor, undo_plan
from hvdeck.backends.sim.ldoms import LdomsWorld, serve


@pytest.fixture
async def t7(ssh_world):
    world = LdomsWorld.demo("t7-a", 1)
    server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    yield world, server
    await server.close()


def _guest(name: str, vcpus: int = 4) -> NewGuest:
    return NewGuest(name=name, vcpus=vcpus, memory="1024m", vsw="primary-vsw0", vds="primary-vds0",
                    backend=f"/dev/zvol/dsk/ldompool/{name}-boot", volume=f"{name}-boot")


async def _hvdeck_ls(ssh_world, server, tmp_path: Path) -> dict:
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(f"""ssh:
  config: {ssh_world.config}
  known_hosts: {ssh_world.known_hosts}
hosts:
  - name: t7-a
    address: 127.0.0.1
    port: {server.port}
    user: root
    identity_file: {ssh_world.key_path}
""")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hvdeck.tui.cli", "ls", "--json", "--inventory", str(inventory),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


async def test_new_guest_sequence_as_a_plan_then_listed_and_bound(t7, ssh_world, tmp_path: Path):
    world, server = t7
    fleet = Fleet(Inventory((ssh_world.spec(server, "t7-a", kind="auto"),), ssh=ssh_world.options()))
    audit = AuditLog(tmp_path / "audit.log")
    try:
        snapshot = await fleet.poll_host("t7-a")
        assert snapshot.status is HostStatus.UP and snapshot.kind == "ldoms", snapshot.error
        assert snapshot.info.version == "3.6.0.0.23"
        session = fleet.hosts["t7-a"].session
        await session.run(["zfs", "create", "-V", "20G", "ldompool/ldg5-boot"], idempotent=False)

        plan = create_plan("t7-a", _guest("ldg5"))
        assert [s.operation.display() for s in plan.steps] == [
            "ldm add-domain ldg5", "ldm add-vcpu 4 ldg5", "ldm add-memory 1024m ldg5",
            "ldm add-vnet vnet0 primary-vsw0 ldg5",
            "ldm add-vdsdev /dev/zvol/dsk/ldompool/ldg5-boot ldg5-boot@primary-vds0",
            "ldm add-vdisk vdisk0 ldg5-boot@primary-vds0 ldg5", "ldm set-var 'auto-boot?=true' ldg5",
            "ldm bind ldg5", "ldm start ldg5"]
        result = await Executor(fleet.target, audit).run(plan)
        assert result.ok, result.summary()
        # every step reached the host as exactly that argv
        assert server.commands[-9:] == [s.operation.display() for s in plan.steps]

        listed = await _hvdeck_ls(ssh_world, server, tmp_path)
        (host,) = listed["hosts"]
        ldg5 = next(d for d in host["domains"] if d["name"] == "ldg5")
        assert {k: ldg5[k] for k in ("state", "native_state", "vcpus", "memory_bytes")} == {
            "state": "running", "native_state": "active", "vcpus": 4, "memory_bytes": 1024**3}
        assert ldg5["console"].isdigit() and 5000 <= int(ldg5["console"]) <= 5100

        domain = next(d for d in (await fleet.poll_host("t7-a")).domains if d.name == "ldg5")
        bindings = await fleet.bindings(domain)
        assert [(d.target, d.source) for d in bindings.disks] == [("vdisk0", "ldg5-boot@primary-vds0")]
        assert [(n.target, n.source) for n in bindings.nics] == [("vnet0", "primary-vsw0@primary")]
        assert bindings.cpu.vcpus == 4 and bindings.memory.current_bytes == 1024**3
        variables = next(s for s in bindings.extra if s.title == "VARIABLES")
        assert ("auto-boot?", "true") in variables.rows
    finally:
        await fleet.close()
    assert audit.verify() == [] and len(audit.records()) == 2 * 9  # started + outcome per step


async def test_a_failed_step_stops_shows_stderr_and_undo_removes_what_was_made(t7, ssh_world, tmp_path: Path):
    world, server = t7
    fleet = Fleet(Inventory((ssh_world.spec(server, "t7-a", kind="ldoms"),), ssh=ssh_world.options()))
    executor = Executor(fleet.target, AuditLog(tmp_path / "audit.log"))
    try:
        await fleet.poll_host("t7-a")
        await fleet.hosts["t7-a"].session.run(["zfs", "create", "-V", "8G", "ldompool/big-boot"], idempotent=False)
        result = await executor.run(create_plan("t7-a", _guest("big", vcpus=60)))  # more than are free
        assert [o.status for o in result.outcomes][-3:] == ["ok", "failed", "skipped"]
        assert result.failed.step.operation.display() == "ldm bind big"
        assert "big" in result.failed.error and result.failed.result.exit_status != 0
        assert [s.operation.display() for s in result.undo] == [
            "ldm remove-vdisk vdisk0 big", "ldm remove-vdsdev big-boot@primary-vds0",
            "ldm remove-vnet vnet0 big", "ldm remove-domain big"]
        undone = await executor.run(undo_plan(result))
        assert undone.ok, undone.summary()
        names = [d.name for d in (await fleet.poll_host("t7-a")).domains]
        assert "big" not in names
        services = (await fleet.hosts["t7-a"].session.run(["ldm", "list-services", "-p"])).stdout
        assert "big-boot" not in services
    finally:
        await fleet.close()


async def test_state_changes_show_up_in_the_next_poll(t7, ssh_world):
    world, server = t7
    fleet = Fleet(Inventory((ssh_world.spec(server, "t7-a", kind="ldoms"),), ssh=ssh_world.options()))
    try:
        before = {d.name: d for d in (await fleet.poll_host("t7-a")).domains}
        assert (before["ldg-test"].state, before["ldg-test"].native_state) == (DomainState.STOPPED, "bound")
        assert before["ldg-app1"].flags == "-nd---"
        await fleet.hosts["t7-a"].session.run(["ldm", "start", "ldg-test"], idempotent=False)
        after = {d.name: d for d in (await fleet.poll_host("t7-a")).domains}
        assert (after["ldg-test"].state, after["ldg-test"].native_state) == (DomainState.RUNNING, "active")
        assert after["ldg-test"].uptime_s is not None
    finally:
        await fleet.close()


async def test_a_dropped_host_goes_stale_with_its_last_domains_then_recovers(ssh_world):
    world = LdomsWorld.demo("t7-a", 1)
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await serve(world, host_key=key, authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    port = server.port
    now = [100.0]
    fleet = Fleet(Inventory((ssh_world.spec(server, "t7-a", kind="ldoms"),), ssh=ssh_world.options()),
                  clock=lambda: now[0])
    try:
        first = await fleet.poll_host("t7-a")
        assert first.status is HostStatus.UP and first.last_ok == 100.0
        await server.close()  # the host goes away: listener and every connection
        now[0] = 130.0
        stale = await fleet.poll_host("t7-a")
        assert stale.status is HostStatus.STALE
        assert stale.domains == first.domains, "the last good domains stay on screen"
        assert stale.last_ok == 100.0 and stale.taken_at == 130.0 and "127.0.0.1" in stale.error
        assert fleet.hosts["t7-a"].failures == 1
        server = await serve(world, port=port, host_key=key, authorized_keys=[ssh_world.client_key])
        now[0] = 140.0
        back = await fleet.poll_host("t7-a")
        assert back.status is HostStatus.UP and back.last_ok == 140.0 and fleet.hosts["t7-a"].failures == 0
    finally:
        await fleet.close()
        await server.close()


async def test_garbage_from_ldm_marks_the_host_error_with_the_line(ssh_world):
    from hvdeck.backends.sim.sshserver import Reply

    async def broken(command, read_stdin):
        if command == "ldm -V":
            return Reply("Logical Domains Manager (v 3.6.0.0.23)\n")
        return Reply("VERSION 1.11\nDOMAIN|name=ok|state=active|ncpu=2|mem=1G\n")  # mem= must be bytes

    from hvdeck.backends.sim.sshserver import SimSSHServer

    server = SimSSHServer(broken, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                          authorized_keys=[ssh_world.client_key])
    await server.start()
    ssh_world.trust(server)
    fleet = Fleet(Inventory((ssh_world.spec(server, "bad", kind="ldoms"),), ssh=ssh_world.options()))
    try:
        snapshot = await fleet.poll_host("bad")
        assert snapshot.status is HostStatus.ERROR and snapshot.domains == ()
        assert "line 2" in snapshot.error and "mem" in snapshot.error
    finally:
        await fleet.close()
        await server.close()


async def test_primarys_delayed_reconfiguration_and_free_strands_through_ssh(t7, ssh_world, tmp_path: Path):
    """hvdeck and the simulated control domain agree: a change to primary starts a delayed reconfiguration,
    after which no guest change is offered (and the simulator refuses one with ldm's words); growth beyond
    the free strands is refused before any plan, and by the simulator."""
    from hvdeck.backends import policy
    from hvdeck.backends.errors import ValidationError
    from hvdeck.backends.ldoms import commands

    world, server = t7
    fleet = Fleet(Inventory((ssh_world.spec(server, "t7-a", kind="ldoms"),), ssh=ssh_world.options()))
    executor = Executor(fleet.target, AuditLog(tmp_path / "audit.log"))
    try:
        host = await fleet.poll_host("t7-a")
        backend = fleet.backend("t7-a")
        domains = {d.name: d for d in host.domains}
        free = len(world.free_strands())
        with pytest.raises(ValidationError, match=rf"^t7-a has {free} strands free: add at most {free} "):
            await backend.plan_extra(commands.ADD_VCPU, domains["ldg-web1"], {"count": str(free + 1)}, host)
        refused = await fleet.hosts["t7-a"].session.run(["ldm", "add-vcpu", str(free + 1), "ldg-web1"],
                                                         check=False, idempotent=False)
        assert refused.exit_status == 1 and "Not enough free vcpus for LDom ldg-web1" in refused.stderr

        plan = await backend.plan_extra(commands.ADD_VCPU, domains["primary"], {"count": "1"}, host)
        assert "blocks changes to every other domain" in plan.warning
        assert (await executor.run(plan)).ok
        host = await fleet.poll_host("t7-a")
        domains = {d.name: d for d in host.domains}
        assert domains["primary"].flags == "-ndcv-"
        reason = policy.why_not(backend, commands.SET_VCPU, domains["ldg-web1"], host)
        assert reason.startswith("primary has a delayed reconfiguration pending")
        assert policy.why_not(backend, commands.ADD_VCPU, domains["primary"], host) is None
        forced = await fleet.hosts["t7-a"].session.run(["ldm", "set-vcpu", "2", "ldg-web1"], check=False,
                                                        idempotent=False)
        assert forced.stderr == "Delayed reconfiguration of LDom ldg-web1 is not permitted\n"
        assert forced.exit_status == 1 and "Notice: LDom primary is in the process" in forced.stdout
    finally:
        await fleet.close()
