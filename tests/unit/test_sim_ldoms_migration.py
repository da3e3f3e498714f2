"""``ldm migrate-domain`` and ``ldm cancel-operation`` between two simulated control domains, driven by a
clock the test moves: the flags on both sides, ``list -o status`` in both forms, completion, cancel, a link
lost before and after the last byte, and every refusal of a dry run.

The documented pieces (ldm.md §10, Oracle's guides as cited in the simulator's migration module):
``Target Password:``, ``Unable to bind SIZE memory region at real address RA`` and ``Domain Migration of LDom
NAME failed`` are VERBATIM; ``list -o status`` follows ldm.md §10.2's RECONSTRUCTED shape.
"""

from __future__ import annotations

import asyncio

import pytest

from hvdeck.backends.sim.ldoms import LdomsWorld, link
from hvdeck.backends.sim.sshserver import Reply

G = 1 << 30
FAILED = "Domain Migration of LDom {name} failed\n"


class Clock:
    def __init__(self) -> None:
        self.now = 7_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pair(clock) -> tuple[LdomsWorld, LdomsWorld]:
    """Two demo hosts in one network; t7-b's password is "secret"."""
    source = LdomsWorld.demo("t7-a", 1, clock=clock)
    target = LdomsWorld.demo("t7-b", 2, clock=clock)
    target.password = "secret"
    link(source, target)
    return source, target


def sh(world: LdomsWorld, line: str) -> Reply:
    return world.run_line(line)


def ok(world: LdomsWorld, line: str) -> str:
    reply = sh(world, line)
    assert reply.exit_status == 0, f"{line}: {reply.stderr}"
    return reply.stdout


def password_file(world: LdomsWorld, text: str = "secret\nignored second line\n") -> str:
    path = ok(world, "mktemp").strip()
    world.files[path].content = text.encode()
    return path


def record(world: LdomsWorld, name: str) -> dict[str, str]:
    (line,) = ok(world, f"ldm list -p {name}").splitlines()[1:]
    return dict(pair.split("=", 1) for pair in line.split("|")[1:])


def test_a_live_migration_from_start_to_end(pair, clock):
    source, target = pair
    before = {name: record(source, "ldg-web1")[name] for name in ("uptime", "ncpu", "mem")}
    free_strands = len(target.free_strands())
    pfile = password_file(source)
    assert sh(source, f"ldm migrate-domain -p {pfile} ldg-web1 root@t7-b:web1b") == Reply("", "", 0)

    assert record(source, "ldg-web1")["flags"] == "-n---s"
    incoming = record(target, "web1b")
    assert (incoming["state"], incoming["flags"], incoming["ncpu"], incoming["mem"]) == \
        ("bound", "-----t", "4", str(8 * G))
    assert len(target.free_strands()) == free_strands - 4, "the incoming domain's resources are bound"
    assert ok(source, "ldm list -o status ldg-web1") == (
        "NAME\nldg-web1\n\nSTATUS\n    OPERATION    PROGRESS    TARGET\n    migration    0%          t7-b\n")
    # 8G at 4G/s after a 2 s setup: 4 s in all
    clock.now += 1
    assert ok(source, "ldm list -o status -p ldg-web1") == \
        "VERSION 1.11\nDOMAIN|name=ldg-web1\nSTATUS\n|op=migration|progress=25|error=no|target=t7-b\n"
    assert ok(target, "ldm list -o status -p web1b") == \
        "VERSION 1.11\nDOMAIN|name=web1b\nSTATUS\n|op=migration|progress=25|error=no|source=t7-a\n"
    changes = sh(source, "ldm set-vcpu 2 ldg-web1")
    assert changes.exit_status == 1 and "ldg-web1 is being migrated" in changes.stderr
    clock.now += 2.9
    assert "|progress=97|" in ok(source, "ldm list -o status -p ldg-web1")
    clock.now += 0.1

    assert "ldg-web1" not in ok(source, "ldm list")
    assert len(source.free_strands()) == 8 + 4
    moved = record(target, "web1b")
    assert (moved["state"], moved["flags"]) == ("active", "-n----")
    assert {name: moved[name] for name in before} == {**before, "uptime": str(int(before["uptime"]) + 4)}, \
        "a live migration keeps the guest running"
    bindings = ok(target, "ldm list-bindings -p web1b")
    assert "VDISK|name=vdisk0|vol=ldg-web1-boot@primary-vds0|" in bindings
    assert "VNET|name=vnet0|dev=network@0|service=primary-vsw0@primary|" in bindings
    assert ok(target, "ldm list -o status web1b") == "NAME\nweb1b\n"
    assert ok(target, "ldm list-constraints -p web1b").splitlines()[5:7] == ["VCPU|count=4", f"MEMORY|size={8 * G}"]


def test_execute_waits_for_the_end_as_ldm_does(pair, clock):
    source, target = pair
    pfile = password_file(source)

    async def scenario() -> Reply:
        waiting = asyncio.ensure_future(source.execute(["ldm", "migrate", "-p", pfile, "ldg-test", "t7-b:test2"]))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        clock.now += 1  # a bound domain: 1 s
        return await asyncio.wait_for(waiting, 5)

    assert asyncio.run(scenario()) == Reply("", "", 0)
    assert record(target, "test2")["state"] == "bound"


def test_cancel_on_the_source_and_not_on_the_target(pair, clock):
    source, target = pair
    ok(source, f"ldm migrate-domain -p {password_file(source)} ldg-web1 t7-b:web1b")
    clock.now += 1
    refused = sh(target, "ldm cancel-operation migration web1b")
    assert (refused.exit_status, refused.stderr) == \
        (1, "The migration of LDom web1b can only be cancelled on its source machine\n")
    assert ok(source, "ldm cancel-op migration ldg-web1") == ""
    assert record(source, "ldg-web1")["flags"] == "-n----"
    assert "web1b" not in ok(target, "ldm list")
    clock.now += 10
    assert record(source, "ldg-web1")["state"] == "active", "nothing moves after a cancel"
    assert sh(source, "ldm cancel-operation migration ldg-web1").stderr == \
        "No migration operation is in progress for LDom ldg-web1\n"
    assert sh(source, "ldm cancel-operation reconf primary").stderr.startswith("Usage:\n    ldm cancel-operation")


def test_the_waiting_command_says_it_was_cancelled(pair, clock):
    source, _ = pair
    pfile = password_file(source)

    async def scenario() -> Reply:
        waiting = asyncio.ensure_future(source.execute(["ldm", "migrate-domain", "-p", pfile, "ldg-web1",
                                                        "t7-b:web1b"]))
        await asyncio.sleep(0.1)
        assert ok(source, "ldm cancel-operation migration ldg-web1") == ""
        return await asyncio.wait_for(waiting, 5)

    assert asyncio.run(scenario()) == Reply("", "The migration was cancelled\n" + FAILED.format(name="ldg-web1"), 1)


def test_a_link_lost_after_the_last_byte_leaves_the_e_flag_until_cancelled(pair, clock):
    source, target = pair
    source.inject_migration_failure()
    ok(source, f"ldm migrate-domain -p {password_file(source)} ldg-web1 t7-b:web1b")
    clock.now += 5
    assert record(source, "ldg-web1")["flags"] == "-n---e"
    assert "flags=normal,error" in ok(source, "ldm list -l -p ldg-web1")
    assert "web1b" not in ok(target, "ldm list"), "the target destroyed its copy"
    assert ok(source, "ldm list -o status -p ldg-web1").endswith("|op=migration|progress=100|error=yes|target=t7-b\n")
    again = sh(source, f"ldm migrate-domain -n -p {password_file(source)} ldg-web1 t7-b:web1b")
    assert again.stderr == ("LDom ldg-web1 is in an error state after a failed migration: run ldm cancel-operation "
                            "migration ldg-web1\n" + FAILED.format(name="ldg-web1"))
    assert ok(source, "ldm cancel-operation migration ldg-web1") == ""
    assert record(source, "ldg-web1")["flags"] == "-n----"
    assert ok(source, "ldm list -o status ldg-web1") == "NAME\nldg-web1\n"


def test_a_link_lost_midway_leaves_the_domain_running_on_the_source(pair, clock):
    source, target = pair
    pfile = password_file(source)
    source.inject_migration_failure(at=0.5)

    async def scenario() -> Reply:
        waiting = asyncio.ensure_future(source.execute(["ldm", "migrate-domain", "-p", pfile, "ldg-web1",
                                                        "t7-b:web1b"]))
        await asyncio.sleep(0.1)
        clock.now += 2
        return await asyncio.wait_for(waiting, 5)

    reply = asyncio.run(scenario())
    assert reply == Reply("", "Lost the connection to target t7-b after 50%\n" + FAILED.format(name="ldg-web1"), 1)
    assert record(source, "ldg-web1")["flags"] == "-n----"
    assert "web1b" not in ok(target, "ldm list")


def test_an_inactive_domain_moves_without_checks_on_resources_or_devices(pair, clock):
    source, target = pair
    ok(target, "ldm add-domain eater; ldm set-vcpu 8 eater; ldm set-memory 1G eater; ldm bind eater")
    ok(source, f"ldm migrate-domain -p {password_file(source)} ldg-build t7-b:build2")
    assert record(target, "build2")["flags"] == "-----t"
    clock.now += 0.5
    assert record(target, "build2")["state"] == "inactive" and "ldg-build" not in ok(source, "ldm list")


@pytest.mark.parametrize(("command", "reasons"), [
    ("ldm migrate-domain -n -p {pfile} ldg-web1 t7-b", ["Domain ldg-web1 already exists on target t7-b"]),
    ("ldm migrate-domain -n -p {pfile} ldg-db1 t7-b:db2",
     ["Not enough free vcpus on target t7-b: 32 needed, 8 available"]),
    ("ldm migrate-domain -n -p {pfile} ldg-app1 t7-b:app2",
     ["LDom ldg-app1 has physical I/O devices (pci_3) and cannot be migrated",
      "A delayed reconfiguration is pending on ldg-app1 on t7-a"]),
    ("ldm migrate-domain -n -p {pfile} primary t7-b:p2", ["LDom primary is the control domain and cannot be migrated"]),
    ("ldm migrate-domain -n -p {pfile} ldg-web1 t7-z",
     ["Failed to establish connection with ldmd(1m) on target: t7-z",
      "Check that the 'ldmd' service is enabled on the target machine and",
      "that the version supports Domain Migration. Check that the 'xmpp_enabled'",
      "and 'incoming_migration_enabled' properties of the 'ldmd' service on",
      "the target machine are set to 'true' using svccfg(1M)."]),
    ("ldm migrate-domain -n -p {pfile} ldg-web1 t7-a:x", ["Target t7-a is the machine the domain runs on"]),
    ("ldm migrate-domain -n -p {bad} ldg-web1 t7-b:x", ["Authentication of user root on target t7-b failed"]),
    ("ldm migrate-domain -n -p /tmp/nope ldg-web1 t7-b:x",
     ["Unable to open password file /tmp/nope: No such file or directory"]),
    ("ldm migrate-domain -n ldg-web1 t7-b:x", ["Target Password: cannot be read: no terminal (use -p filename)"]),
])
def test_refusals(pair, command, reasons):
    source, target = pair
    before = ok(source, "ldm list -l -p") + ok(target, "ldm list -l -p")
    reply = sh(source, command.format(pfile=password_file(source), bad=password_file(source, "wrong\n")))
    name = command.split()[-2]
    assert (reply.stdout, reply.stderr, reply.exit_status) == ("", "\n".join(reasons) + "\n" + FAILED.format(name=name), 1)
    assert ok(source, "ldm list -l -p") + ok(target, "ldm list -l -p") == before


def test_refusals_for_memory_switches_and_volumes(clock):
    source = LdomsWorld.demo("t7-a", 1, clock=clock)
    target = LdomsWorld("t7-c", clock=clock, vsw="primary-vsw1")
    link(source, target)
    ok(target, "ldm add-domain big; ldm set-vcpu 1 big; ldm set-memory 220G big; ldm bind big")
    reply = sh(source, f"ldm migrate-domain -n -p {password_file(source, 'x')} ldg-web1 t7-c")
    assert reply.stderr == ("Unable to bind 8G memory region at real address 0x10000000\n"
                            "Virtual switch primary-vsw0 of vnet0 not found on target t7-c\n"
                            "Volume ldg-web1-boot@primary-vds0 of vdisk0 not found on target t7-c\n"
                            + FAILED.format(name="ldg-web1"))
    assert sh(source, "ldm migrate-domain -n -c ldg-build t7-c").exit_status == 0, "an inactive domain is not checked"


def test_a_dry_run_that_would_succeed_prints_nothing_and_moves_nothing(pair):
    source, target = pair
    before = ok(source, "ldm list -l -p") + ok(target, "ldm list -l -p")
    assert sh(source, f"ldm migrate-domain -n -p {password_file(source)} ldg-web1 t7-b:web1b") == Reply("", "", 0)
    assert ok(source, "ldm list -l -p") + ok(target, "ldm list -l -p") == before


@pytest.mark.parametrize("line", ["ldm migrate-domain ldg-web1", "ldm migrate-domain -x ldg-web1 t7-b",
                                  "ldm migrate-domain ldg-web1 t7-b extra", "ldm migrate-domain -c -p f ldg-web1 t7-b",
                                  "ldm migrate-domain ldg-web1 root@:x", "ldm cancel-operation migration"])
def test_usage(pair, line):
    source, _ = pair
    reply = sh(source, line)
    assert reply.exit_status == 1 and reply.stderr.startswith("Usage:\n    ldm ")


def test_password_from_stdin(pair, clock):
    source, target = pair

    async def read() -> str:
        return "secret\n"

    reply = asyncio.run(source.execute(["ldm", "migrate-domain", "-n", "-p", "/dev/stdin", "ldg-web1", "t7-b:w"],
                                       read))
    assert reply == Reply("", "", 0)
