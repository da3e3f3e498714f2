"""The fleet over a real SSH connection (a real shell behind the in-process server): a poll that times out
marks the host stale and never closes the connection a running plan step shares; repeated failures turn
stale into down with the reason; an unknown host key travels in the snapshot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Backend
from hvdeck.backends.fleet import DOWN_AFTER, Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import Domain, DomainState, HostInfo, HostStatus
from hvdeck.backends.plan import Operation, Plan, Step

from ..conftest import echo_handler, exec_process_handler


class ShellHost(Backend):
    """A host whose one domain's state is a file on the host; polling runs a command that can hang."""

    kind = "test"

    async def open(self) -> HostInfo:
        await self.session.connect()
        return HostInfo(kind=self.kind)

    async def poll(self) -> tuple[Domain, ...]:
        result = await self.session.run(["sh", "-c", f"cat {self.spec.tags[0]}/state; "
                                                     f"[ -e {self.spec.tags[0]}/hang ] && sleep 30; true"])
        return (Domain(self.spec.name, "vm1", DomainState.RUNNING, result.stdout.strip()),)

    async def bindings(self, domain):
        raise NotImplementedError

    def _plan_action(self, action, domain):
        raise NotImplementedError


async def _fleet(ssh_server, ssh_world, tmp_path: Path, **kw) -> tuple[Fleet, object]:
    server = await ssh_server(echo_handler(), process_handler=exec_process_handler)
    ssh_world.trust(server)
    (tmp_path / "state").write_text("running\n")
    spec = ssh_world.spec(server, kind="ldoms", tags=(str(tmp_path),))

    async def backend_factory(spec, session):
        return ShellHost(spec, session)

    return Fleet(Inventory((spec,), ssh_world.options()), backend_factory=backend_factory, **kw), server


async def test_a_poll_that_times_out_never_closes_the_connection_under_a_running_step(ssh_server, ssh_world,
                                                                                      tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    fleet, server = await _fleet(ssh_server, ssh_world, tmp_path, poll_timeout=0.5, audit=audit)
    try:
        assert (await fleet.poll_host("lab1")).status is HostStatus.UP
        (tmp_path / "hang").write_text("")
        # a step that takes longer than the poll's timeout, on the same connection
        step = Step("change the guest", Operation.command("sh", "-c", f"sleep 1.5; echo stopped > {tmp_path}/state"))
        plan = Plan("Stop vm1", "lab1", "stop", "vm1", (step,))
        running = asyncio.create_task(fleet.run_plan(plan))
        await asyncio.sleep(0.2)
        stale = await fleet.poll_host("lab1")
        assert stale.status is HostStatus.STALE and "no answer" in stale.error
        result = await running
        assert [o.status for o in result.outcomes] == ["ok"], result.summary()
        assert server.accepted == 1, "the step and the polls shared one connection, never closed"
        (tmp_path / "hang").unlink()
        back = await fleet.poll_host("lab1")
        assert back.status is HostStatus.UP and back.domains[0].native_state == "stopped"
    finally:
        await fleet.close()


async def test_a_host_failing_for_long_turns_from_stale_to_down_with_the_reason(ssh_server, ssh_world,
                                                                               tmp_path: Path):
    now = [1000.0]
    fleet, server = await _fleet(ssh_server, ssh_world, tmp_path, clock=lambda: now[0])
    try:
        assert (await fleet.poll_host("lab1")).status is HostStatus.UP
        await server.close()  # refused from now on
        now[0] += 5
        first = await fleet.poll_host("lab1")
        assert first.status is HostStatus.STALE and first.domains, "the last good domains stay, marked stale"
        now[0] += DOWN_AFTER + 1
        later = await fleet.poll_host("lab1")
        assert later.status is HostStatus.DOWN and later.domains == ()
        assert "no answer for 2m" in later.error
    finally:
        await fleet.close()


async def test_an_unknown_host_key_is_in_the_snapshot_and_nothing_runs(ssh_server, ssh_world, tmp_path: Path):
    server = await ssh_server(echo_handler(), process_handler=exec_process_handler)
    spec = ssh_world.spec(server, kind="ldoms")
    fleet = Fleet(Inventory((spec,), ssh_world.options()))
    try:
        snapshot = await fleet.poll_host("lab1")
        assert snapshot.status is HostStatus.ERROR
        problem = snapshot.key_problem
        assert problem is not None and problem.kind == "unknown" and problem.can_trust
        assert problem.fingerprint == server.fingerprint and problem.pattern == f"[127.0.0.1]:{server.port}"
        assert server.commands == []
    finally:
        await fleet.close()
