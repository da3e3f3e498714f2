"""Migration between two simulated control domains, each behind its own SSH server, driven only through
hvdeck's `SshSession` as hvdeck will drive it: the password written to a file only its owner may read
(``mktemp``, ``tee``, ``chmod 600``), ``ldm migrate-domain -p FILE`` waiting on one channel while
``ldm list -p`` and ``ldm list -o status -p`` are read on both hosts, a cancel, a failure that leaves the
``e`` flag, dry runs that are refused, and the ``Target Password:`` prompt on a terminal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncssh
import pytest

from hvdeck.backends.sim.ldoms import LdomsWorld, link, serve
from hvdeck.backends.transport.ssh import SshSession

G = 1 << 30


class Clock:
    now = 9_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Pair:
    clock: Clock
    source: LdomsWorld
    target: LdomsWorld
    a: SshSession
    b: SshSession


@pytest.fixture
async def pair(ssh_world) -> AsyncIterator[Pair]:
    clock = Clock()
    source, target = LdomsWorld.demo("t7-a", 1, clock=clock), LdomsWorld.demo("t7-b", 2, clock=clock)
    target.password = "s3cret"
    link(source, target)
    servers, sessions = [], []
    for world in (source, target):
        server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                             authorized_keys=[ssh_world.client_key])
        ssh_world.trust(server)
        servers.append(server)
        sessions.append(SshSession(ssh_world.spec(server, world.hostname), ssh_world.options()))
    yield Pair(clock, source, target, *sessions)
    for session in sessions:
        await session.close()
    for server in servers:
        await server.close()


async def flags(session: SshSession, name: str) -> str | None:
    """FLAGS of ``name`` in ``ldm list -p`` (None when the host has no such domain)."""
    for line in (await session.run(["ldm", "list", "-p"])).stdout.splitlines()[1:]:
        fields = dict(pair.split("=", 1) for pair in line.split("|")[1:])
        if fields["name"] == name:
            return fields["flags"]
    return None


async def status(session: SshSession, name: str) -> str:
    return (await session.run(["ldm", "list", "-o", "status", "-p", name])).stdout


async def password_file(session: SshSession, password: str) -> str:
    path = (await session.run(["mktemp"], idempotent=False)).stdout.strip()
    await session.run(["tee", path], input=f"{password}\n", idempotent=False)
    await session.run(["chmod", "600", path], idempotent=False)
    return path


async def eventually(check, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def test_a_migration_end_to_end_watched_on_both_hosts(pair):
    pfile = await password_file(pair.a, "s3cret")
    assert pair.source.files[pfile].mode == 0o600
    migrate = asyncio.ensure_future(pair.a.run(["ldm", "migrate-domain", "-p", pfile, "ldg-web1", "root@t7-b:web1b"],
                                               idempotent=False, check=False))

    async def both_flagged() -> bool:
        return await flags(pair.a, "ldg-web1") == "-n---s" and await flags(pair.b, "web1b") == "-----t"

    await eventually(both_flagged)
    assert not migrate.done(), "ldm waits until the migration ends"
    assert await status(pair.a, "ldg-web1") == \
        "VERSION 1.11\nDOMAIN|name=ldg-web1\nSTATUS\n|op=migration|progress=0|error=no|target=t7-b\n"
    listing = (await pair.b.run(["ldm", "list"])).stdout.splitlines()
    assert listing[-1] == "web1b            bound      -----t  5004    4     8G"
    pair.clock.now += 2  # 2 of 4 s
    assert "|progress=50|" in await status(pair.a, "ldg-web1")
    assert await status(pair.b, "web1b") == \
        "VERSION 1.11\nDOMAIN|name=web1b\nSTATUS\n|op=migration|progress=50|error=no|source=t7-a\n"
    pair.clock.now += 2
    result = await asyncio.wait_for(migrate, 10)
    assert (result.exit_status, result.stdout, result.stderr) == (0, "", "")
    assert await flags(pair.a, "ldg-web1") is None
    assert await flags(pair.b, "web1b") == "-n----"
    bindings = (await pair.b.run(["ldm", "list-bindings", "-p", "web1b"])).stdout
    assert "VDISK|name=vdisk0|vol=ldg-web1-boot@primary-vds0|" in bindings and "\nVNET|name=vnet0|" in bindings
    await pair.a.run(["rm", pfile], idempotent=False)
    assert pfile not in pair.source.files


async def test_the_console_follows_the_guest(pair):
    """vntsd on the source drops the console when the domain leaves; on the target the guest is still the
    same Solaris, still logged in, under its own host name."""
    async def read_until(channel, marker: bytes) -> bytes:
        seen = b""
        async with asyncio.timeout(10):
            while marker not in seen:
                data = await channel.read()
                assert data, seen
                seen += data
        return seen

    before = await pair.a.open_pty(["telnet", "localhost", str(pair.source.domains["ldg-web1"].console_port)])
    await read_until(before, b"options ..\r\n")
    before.write(b"root\rpw\r")
    await read_until(before, b"root@ldg-web1:~# ")
    pfile = await password_file(pair.a, "s3cret")
    migrate = asyncio.ensure_future(pair.a.run(["ldm", "migrate-domain", "-p", pfile, "ldg-web1", "t7-b:web1b"],
                                               idempotent=False))

    async def started() -> bool:
        return await flags(pair.b, "web1b") == "-----t"

    await eventually(started)
    pair.clock.now += 4
    await asyncio.wait_for(migrate, 10)
    assert await read_until(before, b"host.\r\n") == b"Connection to localhost closed by foreign host.\r\n"
    assert await before.wait() == 1
    await before.close()

    after = await pair.b.open_pty(["telnet", "localhost", str(pair.target.domains["web1b"].console_port)])
    await read_until(after, b"options ..\r\n")
    after.write(b"hostname\r")
    assert await read_until(after, b"# ") == b"hostname\r\nldg-web1\r\nroot@ldg-web1:~# "
    await after.close()


async def test_cancel_keeps_the_domain_on_the_source(pair):
    pfile = await password_file(pair.a, "s3cret")
    migrate = asyncio.ensure_future(pair.a.run(["ldm", "migrate-domain", "-p", pfile, "ldg-test", "t7-b:test2"],
                                               idempotent=False, check=False))

    async def started() -> bool:
        return await flags(pair.b, "test2") == "-----t"

    await eventually(started)
    cancelled = await pair.a.run(["ldm", "cancel-operation", "migration", "ldg-test"], idempotent=False)
    assert cancelled.exit_status == 0
    result = await asyncio.wait_for(migrate, 10)
    assert (result.exit_status, result.stderr) == (
        1, "The migration was cancelled\nDomain Migration of LDom ldg-test failed\n")
    assert await flags(pair.a, "ldg-test") == "------" and await flags(pair.b, "test2") is None


async def test_a_failure_after_the_last_byte_leaves_the_e_flag(pair):
    pair.source.inject_migration_failure()
    pfile = await password_file(pair.a, "s3cret")
    migrate = asyncio.ensure_future(pair.a.run(["ldm", "migrate-domain", "-p", pfile, "ldg-web1", "t7-b:web1b"],
                                               idempotent=False, check=False))

    async def started() -> bool:
        return await flags(pair.b, "web1b") == "-----t"

    await eventually(started)
    pair.clock.now += 4
    result = await asyncio.wait_for(migrate, 10)
    assert (result.exit_status, result.stderr) == (
        1, "Lost the connection to target t7-b after 100%\nDomain Migration of LDom ldg-web1 failed\n")
    assert await flags(pair.a, "ldg-web1") == "-n---e" and await flags(pair.b, "web1b") is None
    assert (await status(pair.a, "ldg-web1")).endswith("|op=migration|progress=100|error=yes|target=t7-b\n")
    await pair.a.run(["ldm", "cancel-operation", "migration", "ldg-web1"], idempotent=False)
    assert await flags(pair.a, "ldg-web1") == "-n----"


@pytest.mark.parametrize(("domain", "target", "password", "reason"), [
    ("ldg-web1", "t7-b", "s3cret", "Domain ldg-web1 already exists on target t7-b"),
    ("ldg-db1", "t7-b:db2", "s3cret", "Not enough free vcpus on target t7-b: 32 needed, 8 available"),
    ("ldg-web1", "t7-b:w", "guess", "Authentication of user root on target t7-b failed"),
])
async def test_refused_dry_runs(pair, domain, target, password, reason):
    pfile = await password_file(pair.a, password)
    result = await pair.a.run(["ldm", "migrate-domain", "-n", "-p", pfile, domain, target], check=False)
    assert (result.exit_status, result.stdout, result.stderr) == (
        1, "", f"{reason}\nDomain Migration of LDom {domain} failed\n")


async def test_the_password_prompt_on_a_terminal(pair):
    channel = await pair.a.open_pty(["ldm", "migrate-domain", "-n", "ldg-web1", "t7-b:w"])
    seen = b""
    async with asyncio.timeout(10):
        while b"Target Password: " not in seen:
            seen += await channel.read()
        channel.write(b"s3cret\r")
        while data := await channel.read():
            seen += data
    assert seen == b"Target Password: \r\n", "the password is not echoed"
    assert await channel.wait() == 0
    await channel.close()

    channel = await pair.a.open_pty(["ldm", "migrate-domain", "-n", "ldg-web1", "t7-b:w"])
    seen = b""
    async with asyncio.timeout(10):
        while b"Password: " not in seen:
            seen += await channel.read()
        channel.write(b"nope\r")
        while data := await channel.read():
            seen += data
    assert seen == (b"Target Password: \r\nAuthentication of user root on target t7-b failed\r\n"
                    b"Domain Migration of LDom ldg-web1 failed\r\n")
    assert await channel.wait() == 1
    await channel.close()


async def test_password_on_stdin(pair):
    result = await pair.a.run(["ldm", "migrate-domain", "-n", "-p", "/dev/stdin", "ldg-web1", "t7-b:w"],
                              input="s3cret\n", check=False)
    assert (result.exit_status, result.stderr) == (0, "")


async def test_the_demo_hosts_migrate_to_each_other():
    """`hvdeck demo`'s t7-a and t7-b: a guest goes to t7-b under a new name (its own is taken there) and
    comes back, with the demo's own keys and known_hosts."""
    from hvdeck.backends.sim.demo import DemoFleet

    with DemoFleet(libvirt=False, zones=(), xen=()) as inventory:
        a, b = (SshSession(spec, inventory.ssh) for spec in inventory.hosts)
        try:
            refused = await a.run(["ldm", "migrate-domain", "-n", "-c", "ldg-web1", "t7-b"], check=False)
            assert refused.stderr == ("Domain ldg-web1 already exists on target t7-b\n"
                                      "Domain Migration of LDom ldg-web1 failed\n")
            await a.run(["ldm", "migrate-domain", "-c", "ldg-test", "t7-b:ldg-test-a"], idempotent=False)
            assert await flags(b, "ldg-test-a") == "------" and await flags(a, "ldg-test") is None
            await b.run(["ldm", "migrate-domain", "-c", "ldg-test-a", "t7-a:ldg-test"], idempotent=False)
            assert await flags(a, "ldg-test") == "------" and await flags(b, "ldg-test-a") is None
        finally:
            await a.close()
            await b.close()
