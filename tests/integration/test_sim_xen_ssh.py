"""The simulated Xen dom0 behind a real SSH server, driven by hvdeck's SshSession: the same answers as the
world gives locally, the xentop stream frame by frame, a console on a PTY, and a live migration between
two dom0s served in this process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncssh
import pytest

from hvdeck.backends.sim.sshserver import SimSSHServer
from hvdeck.backends.sim.xen import XenWorld, serve
from hvdeck.backends.transport.ssh import SshSession

NEW_GUEST = """\
name = 'new01'
memory = 512
vcpus = 1
bootloader = 'pygrub'
disk = [ 'phy:/dev/vg0/new01-disk,xvda,w' ]
vif = [ 'bridge=xenbr0' ]
"""


class Still:
    """A clock that does not move: answers over SSH can be compared with the world's own."""

    now = 7_000_000.0

    def __call__(self) -> float:
        return self.now


async def _serve(world: XenWorld, ssh_world) -> SimSSHServer:
    server = await serve(world, host="127.0.0.1", port=0, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    return server


@pytest.fixture
async def host(ssh_world) -> AsyncIterator[tuple[XenWorld, SshSession]]:
    """The xl demo dom0 on the real clock, and a session to it."""
    world = XenWorld.demo("xen-a", "xl", 1)
    world.shutdown_seconds = 0.3
    server = await _serve(world, ssh_world)
    session = SshSession(ssh_world.spec(server, name="xen-a"), ssh_world.options())
    yield world, session
    await session.close()
    await server.close()


async def test_answers_over_ssh_are_the_worlds_own(ssh_world):
    world = XenWorld.demo("xen-a", "xl", 1, clock=Still())
    server = await _serve(world, ssh_world)
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    try:
        for argv in (["xl", "list"], ["xl", "list", "-l"], ["xl", "info"], ["xl", "vcpu-list"],
                     ["xl", "block-list", "db01"], ["xl", "network-list", "web01"], ["xl", "sched-credit"],
                     ["lvs", "--noheadings", "-o", "lv_name,vg_name,lv_size,origin,snap_percent", "--units", "b",
                      "--nosuffix"], ["vgs"], ["xentop", "-b", "-i", "1"]):
            result = await session.run(argv)
            local = world.run(argv)
            assert (result.exit_status, result.stdout, result.stderr) == (0, local.stdout, local.stderr), argv
        assert "\t" in (await session.run(["xl", "list"])).stdout.splitlines()[0]  # xen.md §2.1: TABs survive
        missing = await session.run(["xl", "list", "nosuch"], check=False)
        assert (missing.exit_status, missing.stderr) == (1, "nosuch is an invalid domain identifier (rc=-6)\n")
        assert server.commands[0] == "xl list"
    finally:
        await session.close()
        await server.close()


async def test_create_pause_and_destroy_over_ssh(host):
    world, session = host
    await session.run(["tee", "/etc/xen/new01.cfg"], input=NEW_GUEST, idempotent=False)
    await session.run(["lvcreate", "-L", "8G", "-n", "new01-disk", "vg0"], idempotent=False)
    created = await session.run(["xl", "create", "/etc/xen/new01.cfg"], idempotent=False)
    assert created.stderr == "Parsing config from /etc/xen/new01.cfg\n"
    await session.run(["xl", "pause", "new01"], idempotent=False)
    row = (await session.run(["xl", "list", "new01"])).stdout.splitlines()[1]
    assert row.split()[4] == "--p---"
    await session.run(["xl", "destroy", "new01"], idempotent=False)
    assert (await session.run(["xl", "list", "new01"], check=False)).exit_status == 1
    assert world.run(["cat", "/etc/xen/new01.cfg"]).stdout == NEW_GUEST  # the file stays for the next start


async def test_xentop_streams_a_frame_every_interval(host):
    world, session = host
    frames: list[tuple[float, list[str]]] = []
    started = time.monotonic()
    async with session.stream(["xentop", "-b", "-d", "1"]) as lines:
        async for line in lines:
            if line.lstrip().startswith("NAME"):
                if len(frames) == 3:
                    break
                frames.append((time.monotonic() - started, []))
            frames[-1][1].append(line.rstrip("\n"))
    # the stream was continuous (no -i): it was still running when we left after the third frame
    assert [round(t) for t, _ in frames][1:] == [1, 2] or frames[2][0] - frames[0][0] >= 1.5
    rows = [{row.split()[0]: row.split() for row in frame[1:]} for _, frame in frames]
    assert all(row[3] == "0.0" for row in rows[0].values())  # xen.md §1.2: the first frame's CPU(%) is 0.0
    assert float(rows[2]["web01"][3]) > 20.0  # the busy guest, two vCPUs mostly running
    assert int(rows[2]["web01"][2]) >= int(rows[0]["web01"][2])
    assert rows[2]["cache01"] == rows[0]["cache01"][:3] + ["0.0"] + rows[0]["cache01"][4:]  # paused: still
    assert set(rows[0]) == {"Domain-0", "web01", "web02", "db01", "build-runn", "cache01", "legacy-app"}
    # the channel is gone and the host answers the next command at once
    assert (await session.run(["xl", "list", "web01"])).exit_status == 0


async def test_a_bounded_xentop_run_ends_by_itself(host):
    world, session = host
    result = await session.run(["xentop", "-b", "-d", "1", "-i", "2"], timeout=10)
    assert result.stdout.count("      NAME  STATE") == 2


async def test_console_on_a_pty_logs_in_and_detaches(host):
    world, session = host
    channel = await session.open_pty(["xl", "console", "web01"])

    async def expect(text: bytes) -> bytes:
        seen = b""
        while text not in seen:
            seen += await asyncio.wait_for(channel.read(), 5)
        return seen

    try:
        channel.write(b"\r")
        assert b"Debian GNU/Linux 12 web01 hvc0\r\n\r\nweb01 login: " in await expect(b"login: ")
        channel.write(b"root\r")
        await expect(b"Password: ")
        channel.write(b"s3cret\r")  # not echoed
        banner = await expect(b"root@web01:~# ")
        assert b"s3cret" not in banner
        channel.write(b"uname -n\r")
        assert b"uname -n\r\nweb01\r\n" in await expect(b"web01\r\nroot@web01:~# ")
        channel.write(b"\x1d")  # ^] detaches, as xl console does
        assert await asyncio.wait_for(channel.wait(), 5) == 0
    finally:
        await channel.close()


async def test_console_ends_when_the_guest_powers_off(host):
    world, session = host
    channel = await session.open_pty(["xl", "console", "web02"])
    try:
        channel.write(b"\rroot\rpw\r")
        seen = b""
        while b"root@web02:~# " not in seen:
            seen += await asyncio.wait_for(channel.read(), 5)
        channel.write(b"poweroff\r")
        assert await asyncio.wait_for(channel.wait(), 10) == 0
    finally:
        await channel.close()
    assert "web02" not in world.run(["xl", "list"]).stdout


async def test_console_refusals(host):
    world, session = host
    channel = await session.open_pty(["xl", "console", "backup01"])
    try:
        assert await asyncio.wait_for(channel.wait(), 5) == 1
    finally:
        await channel.close()
    channel = await session.open_process(["xl", "console", "Domain-0"])
    try:
        assert await asyncio.wait_for(channel.wait(), 5) == 22
        assert channel.stderr_tail == "Can't specify Domain-0\n"
    finally:
        await channel.close()


async def test_live_migration_between_two_dom0s(ssh_world):
    source = XenWorld.demo("xen-a", "xl", 1)
    target = XenWorld("xen-b", "xl", seed=2)
    source.peer(target, share_vgs=("san0",))
    source.transfer_rate = 2 * (1 << 30)  # web02's 2 GiB take about a second
    servers = [await _serve(source, ssh_world), await _serve(target, ssh_world)]
    a = SshSession(ssh_world.spec(servers[0], name="xen-a"), ssh_world.options())
    b = SshSession(ssh_world.spec(servers[1], name="xen-b"), ssh_world.options())
    seen_on_b: set[str] = set()

    async def watch() -> None:
        while True:
            listing = (await b.run(["xl", "list"])).stdout
            seen_on_b.update(line.split()[0] + ":" + line.split()[4] for line in listing.splitlines()[1:])
            await asyncio.sleep(0.1)

    watcher = asyncio.ensure_future(watch())
    try:
        result = await a.run(["xl", "migrate", "web02", "xen-b"], check=False, idempotent=False, timeout=30)
    finally:
        watcher.cancel()
    try:
        assert result.exit_status == 0, result.stderr
        lines = result.stderr.splitlines()
        assert lines[0] == "migration target: Ready to receive domain." and lines[-1] == "Migration successful."
        assert "web02--incoming:--p---" in seen_on_b  # the copy waits, paused, while memory is copied
        assert "web02" not in (await a.run(["xl", "list"])).stdout
        row = [line for line in (await b.run(["xl", "list"])).stdout.splitlines() if line.startswith("web02 ")]
        assert row and row[0].split()[4] in ("-b----", "r-----")
    finally:
        await a.close()
        await b.close()
        for server in servers:
            await server.close()
