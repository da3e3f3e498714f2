"""LDoms live migration as hvdeck runs it, between two simulated control domains each behind its own SSH
server, through `Fleet` (plan, pre-flight checks, executor, audit log) and `hvdeck migrate`: a migration
watched on both hosts, a cancelled one, a failure that leaves FLAGS ``e``, and ldm's dry run refusing for
every reason the simulated ldm refuses (hvdeck's own check for the same reason fails beside it)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import Domain, HostStatus
from hvdeck.backends.plan import PlanEvent, StepProgress
from hvdeck.backends.sim.ldoms import LdomsWorld, link, serve
from hvdeck.tui.verbs import plan_text
from hvdeck.tui.wizards.migrate_logic import locate

PASSWORD = "s3cret-Pa55"
G = 1 << 30


class Clock:
    now = 5_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Pair:
    clock: Clock
    source: LdomsWorld
    target: LdomsWorld
    fleet: Fleet
    audit: AuditLog
    inventory: Inventory


@pytest.fixture
async def pair(ssh_world, tmp_path: Path) -> AsyncIterator[Pair]:
    clock = Clock()
    source, target = LdomsWorld.demo("t7-a", 1, clock=clock), LdomsWorld.demo("t7-b", 2, clock=clock)
    target.password = PASSWORD
    link(source, target)
    servers, specs = [], []
    for world in (source, target):
        server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                             authorized_keys=[ssh_world.client_key])
        ssh_world.trust(server)
        servers.append(server)
        specs.append(ssh_world.spec(server, world.hostname, kind="ldoms"))
    inventory = Inventory(tuple(specs), ssh_world.options())
    audit = AuditLog(tmp_path / "audit.log")
    fleet = Fleet(inventory, audit=audit)
    for world in (source, target):
        assert (await fleet.poll_host(world.hostname)).status is HostStatus.UP
    yield Pair(clock, source, target, fleet, audit, inventory)
    await fleet.close()
    for server in servers:
        await server.close()


async def domain(pair: Pair, host: str, name: str) -> Domain | None:
    return next((d for d in (await pair.fleet.poll_host(host)).domains if d.name == name), None)


async def eventually(check, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def plan_for(pair: Pair, domain_name: str, **texts: str):
    dom = await domain(pair, "t7-a", domain_name)
    assert dom is not None
    form = pair.fleet.migrate_form(dom)
    assert [o.name for o in form.options if o.secret] == ["password"]
    values = form.parse({"password": PASSWORD, **texts})
    return await pair.fleet.plan_migrate(dom, "t7-b", values)


async def test_a_migration_is_watched_on_both_hosts_and_the_password_is_never_shown(pair: Pair):
    plan = await plan_for(pair, "ldg-web1", name="web1b")
    checks = await pair.fleet.preflight(plan)
    assert [(c.check.description, c.reason) for c in checks if not c.ok] == []
    assert checks[-1].check.description == "ldm's own dry run: ldm migrate-domain -n ldg-web1 root@t7-b:web1b"
    assert pair.source.files == {}, "the dry run removed its password file"
    text = plan_text(plan)
    assert PASSWORD not in text and text.count("input: (secret, not shown)") == 1
    write, move, remove = plan.steps
    pfile = write.operation.argv[-1]
    assert write.operation.argv == ("sh", "-c", 'umask 077; cat > "$1"', "sh", pfile) and write.secret_input
    assert move.operation.argv == ("ldm", "migrate-domain", "-p", pfile, "ldg-web1", "root@t7-b:web1b")
    assert move.timeout is None and remove.always and remove.operation.argv == ("rm", "-f", pfile)

    events: list[PlanEvent] = []
    run = asyncio.ensure_future(pair.fleet.run_plan(plan, on_event=events.append))

    async def both_flagged() -> bool:
        source, incoming = await domain(pair, "t7-a", "ldg-web1"), await domain(pair, "t7-b", "web1b")
        return (source is not None and source.flags == "-n---s" and incoming is not None
                and incoming.flags == "-----t")

    await eventually(both_flagged)
    assert pair.source.files[pfile].mode == 0o600
    assert pair.source.files[pfile].content == f"{PASSWORD}\n".encode()
    source = await domain(pair, "t7-a", "ldg-web1")
    incoming = await domain(pair, "t7-b", "web1b")
    assert source is not None and incoming is not None
    assert (source.state.value, source.flags_meaning) == ("transition", "normal, migration source")
    assert (incoming.state.value, incoming.flags_meaning) == ("transition", "migration target")
    pair.clock.now += 2  # half of ldg-web1's 4 s

    async def progressed() -> bool:
        return any(isinstance(e, StepProgress) and e.info.fraction == 0.5 for e in events)

    await eventually(progressed)
    progress = next(e for e in events if isinstance(e, StepProgress) and e.info.fraction == 0.5)
    assert progress.info.message == "migration 50% to t7-b"
    pair.clock.now += 2
    result = await asyncio.wait_for(run, 10)
    assert result.ok, result.summary()
    assert pfile not in pair.source.files
    where = locate("ldg-web1", "web1b", await pair.fleet.poll_host("t7-a"), await pair.fleet.poll_host("t7-b"))
    assert where.arrived and where.sentence == "ldg-web1 (as web1b) is active on t7-b; t7-a no longer has it."
    log = pair.audit.path.read_text()
    assert PASSWORD not in log and log.count('"input": "(secret, not recorded)"') == 2
    assert [r["result"] for r in pair.audit.records()] == ["started", "ok"] * 3


async def test_a_cancelled_migration_leaves_the_domain_running_on_the_source(pair: Pair):
    plan = await plan_for(pair, "ldg-web1", name="web1b")
    cancel = asyncio.Event()
    run = asyncio.ensure_future(pair.fleet.run_plan(plan, cancel=cancel))

    async def started() -> bool:
        incoming = await domain(pair, "t7-b", "web1b")
        return incoming is not None and incoming.flags == "-----t"

    await eventually(started)
    cancel.set()
    result = await asyncio.wait_for(run, 10)
    assert [o.status for o in result.outcomes] == ["ok", "cancelled", "ok"], result.summary()
    assert result.outcomes[1].error == "The migration was cancelled\nDomain Migration of LDom ldg-web1 failed"
    assert pair.source.files == {}, "the password file is removed after a cancel too"
    where = locate("ldg-web1", "web1b", await pair.fleet.poll_host("t7-a"), await pair.fleet.poll_host("t7-b"))
    assert not where.arrived and where.sentence == "ldg-web1 is still active on t7-a; t7-b does not have it."
    assert (await domain(pair, "t7-a", "ldg-web1")).flags == "-n----"
    results = [r["result"] for r in pair.audit.records()]
    assert "cancel requested" in results
    cancel_record = next(r for r in pair.audit.records() if r["result"] == "cancel requested")
    assert cancel_record["operation"] == "ldm cancel-operation migration ldg-web1" and cancel_record["host"] == "t7-a"


async def test_a_failure_after_the_last_byte_leaves_the_e_flag_and_says_how_to_clear_it(pair: Pair):
    pair.source.inject_migration_failure()
    plan = await plan_for(pair, "ldg-web1", name="web1b")
    run = asyncio.ensure_future(pair.fleet.run_plan(plan))

    async def started() -> bool:
        return await domain(pair, "t7-b", "web1b") is not None

    await eventually(started)
    pair.clock.now += 4
    result = await asyncio.wait_for(run, 10)
    assert [o.status for o in result.outcomes] == ["ok", "failed", "ok"]
    where = locate("ldg-web1", "web1b", await pair.fleet.poll_host("t7-a"), await pair.fleet.poll_host("t7-b"))
    assert not where.arrived
    assert where.sentence == ("ldg-web1 is still active on t7-a; t7-b does not have it. It is in an error state after "
                              "the failed migration (FLAGS -n---e): clear it with ldm cancel-operation migration "
                              "ldg-web1 on t7-a.")
    again = await plan_for(pair, "ldg-web1", name="web1b")
    checks = {c.check.description: c for c in await pair.fleet.preflight(again)}
    state = checks["ldg-web1 is active and free to move"]
    assert not state.ok and "ldm cancel-operation migration ldg-web1" in state.reason


def _hog_memory(pair: Pair) -> None:
    for argv in (["ldm", "add-domain", "hog"], ["ldm", "set-vcpu", "1", "hog"], ["ldm", "set-memory", "136G", "hog"],
                 ["ldm", "bind", "hog"]):
        assert pair.target.run(argv).exit_status == 0


def _no_switch(pair: Pair) -> None:
    from dataclasses import replace

    services = pair.target.services
    pair.target.services = replace(services, vsw=replace(services.vsw, name="other-vsw0"))


def _no_volume(pair: Pair) -> None:
    del pair.target.services.vds.volumes["ldg-web1-boot"]


def _target_delayed(pair: Pair) -> None:
    pair.target.domains["primary"].delayed_reconfig = True


def _wrong_password(pair: Pair) -> None:
    pair.target.password = "something else"


# (domain, new name, how the target is made to refuse, ldm's reason, hvdeck's check that fails too)
REFUSALS = [
    ("ldg-web1", "ldg-web1", None, "Domain ldg-web1 already exists on target t7-b", "t7-b has no domain named ldg-web1"),
    ("ldg-db1", "db2", None, "Not enough free vcpus on target t7-b: 32 needed, 8 available",
     "t7-b has 32 strands and 64G of memory free"),
    ("ldg-web1", "web1b", _hog_memory, "Unable to bind 8G memory region at real address 0x10000000",
     "t7-b has 4 strands and 8G of memory free"),
    ("ldg-web1", "web1b", _no_switch, "Virtual switch primary-vsw0 of vnet0 not found on target t7-b",
     "t7-b has ldg-web1's virtual switches (primary-vsw0@primary)"),
    ("ldg-web1", "web1b", _no_volume, "Volume ldg-web1-boot@primary-vds0 of vdisk0 not found on target t7-b",
     "t7-b exports ldg-web1's volumes (ldg-web1-boot@primary-vds0)"),
    ("ldg-web1", "web1b", _target_delayed, "A delayed reconfiguration is pending on primary on t7-b",
     "No delayed reconfiguration is pending on t7-b's control domain"),
    ("ldg-app1", "app1b", None, "LDom ldg-app1 has physical I/O devices (pci_3) and cannot be migrated; "
     "A delayed reconfiguration is pending on ldg-app1 on t7-a",
     ["ldg-app1 is active and free to move", "ldg-app1 owns no physical I/O"]),
    ("primary", "p2", None, "LDom primary is the control domain and cannot be migrated",
     ["primary is active and free to move", "primary owns no physical I/O", "t7-b has 16 strands and 32G of memory free"]),
    ("ldg-web1", "web1b", _wrong_password, "Authentication of user root on target t7-b failed", []),
]


@pytest.mark.parametrize(("name", "new", "arrange", "reason", "own_check"), REFUSALS,
                         ids=[r[3].split(" ")[0] + "-" + (r[2].__name__ if r[2] else r[0]) for r in REFUSALS])
async def test_the_dry_run_refuses_what_ldm_refuses(pair: Pair, name, new, arrange, reason, own_check):
    if arrange is not None:
        arrange(pair)
    plan = await plan_for(pair, name, name=new)
    results = {c.check.description: c for c in await pair.fleet.preflight(plan)}
    dry = results[f"ldm's own dry run: ldm migrate-domain -n {name} root@t7-b" + (f":{new}" if new != name else "")]
    assert (dry.ok, dry.reason) == (False, reason)
    failed = sorted(d for d, c in results.items() if not c.ok and not d.startswith("ldm's own dry run"))
    assert failed == (own_check if isinstance(own_check, list) else [own_check])
    assert pair.source.files == {}
    assert name in [d.name for d in (await pair.fleet.poll_host("t7-a")).domains]


async def test_hvdeck_migrate_reads_the_password_from_stdin_and_moves_the_guest(pair: Pair, tmp_path: Path):
    import argparse

    from hvdeck.tui import cli_migrate

    pair.source.migration_rate = 1 << 50  # a quick move: the clock does not advance here
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(host="t7-a", domain="ldg-web1", target="t7-b", yes=True, dry_run=False,
                              **{f"opt_{n}": None for n in cli_migrate._flag_options()})
    args.opt_name = "web1b"

    async def tick() -> None:  # the simulated migration takes at least 2 s on the test's clock
        while True:
            await asyncio.sleep(0.2)
            pair.clock.now += 1

    ticker = asyncio.ensure_future(tick())
    try:
        status = await asyncio.to_thread(cli_migrate.migrate, pair.inventory, args, AuditLog(tmp_path / "cli.log"),
                                         out, err, io.StringIO(PASSWORD + "\n"))
    finally:
        ticker.cancel()
    assert status == 0, out.getvalue() + err.getvalue()
    assert PASSWORD not in out.getvalue() + err.getvalue() + (tmp_path / "cli.log").read_text()
    assert "[ok    ] ldm's own dry run: ldm migrate-domain -n ldg-web1 root@t7-b:web1b" in out.getvalue()
    assert out.getvalue().endswith("ldg-web1 (as web1b) is active on t7-b; t7-a no longer has it.\n")
    assert "web1b" in pair.target.domains and "ldg-web1" not in pair.source.domains


@pytest.fixture
async def evacuation(ssh_world, tmp_path: Path) -> AsyncIterator[tuple[LdomsWorld, LdomsWorld, Inventory]]:
    """t7-a with the demo's guests; t7-b with only its control domain, exporting the same volumes (shared
    storage); real time, migrations of 2 s each."""
    from hvdeck.backends.sim.ldoms.model import Volume

    source, target = LdomsWorld.demo("t7-a", 1), LdomsWorld("t7-b", seed=2, password=PASSWORD)
    for name, volume in source.services.vds.volumes.items():
        target.services.vds.volumes[name] = Volume(volume.name, volume.dev)
    source.migration_rate = 1 << 50
    link(source, target)
    servers, specs = [], []
    for world in (source, target):
        server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                             authorized_keys=[ssh_world.client_key])
        ssh_world.trust(server)
        servers.append(server)
        specs.append(ssh_world.spec(server, world.hostname, kind="ldoms"))
    yield source, target, Inventory(tuple(specs), ssh_world.options())
    for server in servers:
        await server.close()


def _evacuate_args(**kw):
    import argparse

    from hvdeck.tui import cli_migrate

    args = argparse.Namespace(host="t7-a", to=None, parallel=1, continue_on_error=False, yes=False,
                              **{f"opt_{n}": None for n in cli_migrate._flag_options()})
    for key, value in kw.items():
        setattr(args, key, value)
    return args


async def test_hvdeck_evacuate_moves_what_can_move_and_says_what_cannot(evacuation, tmp_path: Path):
    from hvdeck.tui import cli_migrate

    source, target, inventory = evacuation
    out, err = io.StringIO(), io.StringIO()
    status = await asyncio.to_thread(cli_migrate.evacuate, inventory, _evacuate_args(yes=True),
                                     AuditLog(tmp_path / "a.log"), out, err, io.StringIO(PASSWORD + "\n"))
    text = out.getvalue()
    assert status == 1 and "some domains cannot move: nothing was run (--continue-on-error moves the others)" in text
    assert "stays: primary: primary is the control domain" in text
    assert "ldg-app1: cannot move" not in text  # its plan exists; its checks fail
    assert "[FAILED] ldg-app1 owns no physical I/O: ldg-app1 owns pci_3" in text
    assert set(source.domains) >= {"ldg-web1", "ldg-db1", "ldg-app1"} and set(target.domains) == {"primary"}

    out, err = io.StringIO(), io.StringIO()
    status = await asyncio.to_thread(cli_migrate.evacuate, inventory,
                                     _evacuate_args(yes=True, continue_on_error=True, parallel=2),
                                     AuditLog(tmp_path / "b.log"), out, err, io.StringIO(PASSWORD + "\n"))
    text = out.getvalue()
    assert status == 1, text + err.getvalue()  # ldg-app1 could not go
    assert "ldg-web1: done: ldg-web1 is active on t7-b; t7-a no longer has it." in text
    assert "ldg-db1: done: ldg-db1 is active on t7-b; t7-a no longer has it." in text
    assert "ldg-app1: blocked" in text and text.rstrip().endswith("2 of 3 domains moved")
    assert {"ldg-web1", "ldg-db1"} <= set(target.domains) and "ldg-app1" in source.domains
    assert "ldg-web1: migrating to t7-b" in err.getvalue()
    assert PASSWORD not in text + err.getvalue() + (tmp_path / "b.log").read_text()
    assert source.files == {}


async def test_hvdeck_evacuate_without_yes_only_prints_the_plans(evacuation, tmp_path: Path):
    from hvdeck.tui import cli_migrate

    source, target, inventory = evacuation
    out = io.StringIO()
    status = await asyncio.to_thread(cli_migrate.evacuate, inventory, _evacuate_args(to=["t7-b"]),
                                     AuditLog(tmp_path / "a.log"), out, io.StringIO(), io.StringIO(PASSWORD + "\n"))
    text = out.getvalue()
    assert status == 1 and "(nothing was run: add --yes to migrate)" in text
    assert "2 of 3 domains can move; cannot: ldg-app1" in text
    assert text.count("\nMigrate ldg-") == 3 and set(target.domains) == {"primary"}
