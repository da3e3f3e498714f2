"""The simulated global zones behind real SSH, driven by hvdeck's SshSession: listings, zonecfg scripts
on standard input, a zone console on a pseudo-terminal (``zlogin -C``), a transitional state seen from a
second session while an operation runs, and a zone moved between two simulated hosts with ``zfs send``
on one piped into ``zfs receive`` on the other through two process channels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncssh
import pytest

from hvdeck.backends.errors import CommandFailed
from hvdeck.backends.sim.sshserver import SimSSHServer
from hvdeck.backends.sim.zones import SOLARIS_11_4, ZonesWorld, serve
from hvdeck.backends.transport.ssh import SshSession


class Clock:
    now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def _serve(world: ZonesWorld, ssh_world) -> SimSSHServer:
    server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    return server


#: a host a few updates ahead of the demo's Solaris 11.4 (its zones need attach -u to come over)
NEWER_SOLARIS = replace(SOLARIS_11_4, uname_version="11.4.60.155.2", level=(11, 4, 60, 155),
                        entire="pkg://solaris/entire@11.4-11.4.60.0.1.155.2:20230717T111001Z")


@pytest.fixture
async def hosts(ssh_world) -> AsyncIterator[dict]:
    """The two demo hosts (illumos and Solaris 11) and a second Solaris 11 host, each with a session."""
    worlds = {"omni-a": ZonesWorld.demo("omni-a", "illumos", clock=Clock()),
              "sol-a": ZonesWorld.demo("sol-a", "solaris11", clock=Clock()),
              "sol-b": ZonesWorld("sol-b", clock=Clock(), pool="tank", platform=NEWER_SOLARIS)}
    servers, sessions = {}, {}
    for name, world in worlds.items():
        servers[name] = await _serve(world, ssh_world)
        sessions[name] = SshSession(ssh_world.spec(servers[name], name=name), ssh_world.options())
    yield {"worlds": worlds, "servers": servers, "sessions": sessions}
    for session in sessions.values():
        await session.close()
    for server in servers.values():
        await server.close()


async def read_until(channel, marker: bytes, timeout: float = 10.0) -> bytes:
    seen = b""
    async with asyncio.timeout(timeout):
        while marker not in seen:
            data = await channel.read()
            if not data:
                break
            seen += data
    return seen


async def test_listings_over_ssh_are_what_the_world_prints(hosts):
    for name in ("omni-a", "sol-a"):
        session, world = hosts["sessions"][name], hosts["worlds"][name]
        for argv in (["zoneadm", "list", "-cp"], ["zoneadm", "list", "-cv"], ["zonecfg", "-z", "web1" if name ==
                     "omni-a" else "app1", "export"], ["uname", "-sr"],
                     ["zfs", "list", "-H", "-p", "-o", "name,avail,used,mountpoint", "-t", "filesystem"]):
            result = await session.run(argv)
            local = world.run(argv)
            assert (result.exit_status, result.stdout, result.stderr) == (0, local.stdout, "")
    assert (await hosts["sessions"]["omni-a"].run(["uname", "-sr"])).stdout == "SunOS 5.11\n"
    assert hosts["servers"]["omni-a"].commands[0] == "zoneadm list -cp"


async def test_zonecfg_script_on_stdin_then_install_and_boot(hosts):
    session, world = hosts["sessions"]["omni-a"], hosts["worlds"]["omni-a"]
    script = ("create -b\nset zonepath=/zones/api1\nset brand=lipkg\nset ip-type=exclusive\nadd net\n"
              "set physical=api1\nset global-nic=igb0\nset allowed-address=10.0.1.40/24\nend\n"
              "add capped-memory\nset physical=1G\nend\nset cpu-shares=5\n")
    result = await session.run(["zonecfg", "-z", "api1", "-f", "-"], input=script, idempotent=False)
    assert (result.stdout, result.stderr) == ("", "")
    export = (await session.run(["zonecfg", "-z", "api1", "export"])).stdout
    assert export.startswith("create -b\nset zonepath=/zones/api1\nset brand=lipkg\nset autoboot=false\n")
    assert "add value (priv=privileged,limit=5,action=none)\n" in export
    with pytest.raises(CommandFailed) as refused:
        await session.run(["zoneadm", "-z", "api1", "boot"], idempotent=False)
    assert refused.value.stderr == "zoneadm: zone 'api1': must be installed before boot.\n"
    install = await session.run(["zoneadm", "-z", "api1", "install"], idempotent=False)
    assert install.stdout.startswith("A ZFS file system has been created for this zone.\n")
    await session.run(["zoneadm", "-z", "api1", "boot"], idempotent=False)
    line = [row for row in (await session.run(["zoneadm", "list", "-p"])).stdout.splitlines() if ":api1:" in row]
    assert len(line) == 1 and line[0].split(":")[2] == "running" and line[0].split(":")[0].isdigit()
    assert world.zones["api1"].state.value == "running"


async def test_a_script_error_on_stdin_names_its_line_and_saves_nothing(hosts):
    session = hosts["sessions"]["sol-a"]
    result = await session.run(["zonecfg", "-z", "bad1", "-f", "-"], input="create -b\nset zonepath=relative\n"
                               "add anet\nend\n", check=False, idempotent=False)
    assert result.exit_status == 1
    assert result.stderr.startswith("On line 2:\nrelative is not an absolute path.\nOn line 4:\nlinkname not "
                                    "specified\n")
    assert (await session.run(["zoneadm", "-z", "bad1", "list", "-p"], check=False)).stderr == \
        "zoneadm: bad1: No such zone configured\n"


async def test_zone_console_on_a_pty_shows_boot_login_and_disconnects_with_tilde_dot(hosts):
    session, world = hosts["sessions"]["omni-a"], hosts["worlds"]["omni-a"]
    console = await session.open_pty(["zlogin", "-C", "build"])
    try:
        seen = await read_until(console, b"console]\r\n")
        assert seen == b"[Connected to zone 'build' console]\r\n"
        await session.run(["zoneadm", "-z", "build", "boot"], idempotent=False)
        seen = await read_until(console, b"build console login: ")
        assert b"\r\n[NOTICE: Zone booting up]\r\n" in seen and b"Hostname: build\r\n" in seen
        console.write(b"root\r")
        await read_until(console, b"Password: ")
        console.write(b"secret\r")
        await read_until(console, b"root@build:~# ")
        console.write(b"zonename\r")
        seen = await read_until(console, b"root@build:~# ")
        assert seen == b"zonename\r\nbuild\r\nroot@build:~# "
        console.write(b"~.")
        seen = await read_until(console, b"closed]\r\n")
        assert seen.endswith(b"\r\n[Connection to zone 'build' console closed]\r\n")
        assert await console.wait() == 0
    finally:
        await console.close()
    assert not world.console("build").busy


async def test_console_sees_halt_and_reboot_and_only_one_client_fits(hosts):
    session = hosts["sessions"]["sol-a"]
    console = await session.open_pty(["zlogin", "-C", "app1"])
    try:
        await read_until(console, b"console]\r\n")
        second = await session.run(["zlogin", "-C", "app1"], check=False)
        assert second.exit_status == 1 and second.stderr.startswith("zlogin: Console is already in use by process ID ")
        await session.run(["zoneadm", "-z", "app1", "reboot"], idempotent=False)
        seen = await read_until(console, b"app1 console login: ")
        assert b"[NOTICE: Zone rebooting]" in seen and b"SunOS Release 5.11 Version 11.4" in seen
        await session.run(["zoneadm", "-z", "app1", "halt"], idempotent=False)
        assert b"\r\n[NOTICE: Zone halted]\r\n" in await read_until(console, b"halted]\r\n")
    finally:
        await console.close()


async def test_console_escapes_and_a_zone_that_goes_away(hosts):
    """``-e #`` makes ``#`` the escape character (``~.`` is then plain text, ``##`` sends one ``#``); input
    to a zone that is not running is dropped; uninstalling the zone closes the console."""
    session = hosts["sessions"]["omni-a"]
    console = await session.open_pty(["zlogin", "-C", "-e", "#", "build"])
    try:
        await read_until(console, b"console]\r\n")
        console.write(b"typed while halted\r")
        await session.run(["zoneadm", "-z", "build", "boot"], idempotent=False)
        seen = await read_until(console, b"build console login: ")
        assert b"typed" not in seen
        console.write(b"~.x\r")
        assert await read_until(console, b"Password: ") == b"~.x\r\nPassword: "
        console.write(b"\r")
        await read_until(console, b"login: ")
        console.write(b"##y\r")
        assert await read_until(console, b"Password: ") == b"#y\r\nPassword: "
        console.write(b"\r")
        await read_until(console, b"login: ")
        await session.run(["zoneadm", "-z", "build", "halt"], idempotent=False)
        await session.run(["zoneadm", "-z", "build", "uninstall", "-F"], idempotent=False)
        seen = await read_until(console, b"closed]\r\n")
        assert b"[NOTICE: Zone is being uninstalled.  Disconnecting...]\r\n" in seen
        assert seen.endswith(b"[Connection to zone 'build' console closed]\r\n")
        assert await console.wait() == 0
    finally:
        await console.close()
    refused = await session.run(["zlogin", "-C", "build"], check=False)
    assert (refused.exit_status, refused.stderr) == (1, "zlogin: cannot login to a zone which is 'configured'\n")


async def test_console_needs_a_terminal(hosts):
    result = await hosts["sessions"]["omni-a"].run(["zlogin", "-C", "web1"], check=False)
    assert (result.exit_status, result.stdout) == (1, "[Connected to zone 'web1' console]\n")
    assert result.stderr == "zlogin: failed to set stdin pty to raw mode: Inappropriate ioctl for device\n"


async def test_transitional_states_are_seen_by_another_session(hosts):
    world, session = hosts["worlds"]["omni-a"], hosts["sessions"]["omni-a"]
    world.op_seconds = 0.5
    try:
        for argv, during, after in ((["zoneadm", "-z", "web1", "shutdown"], "shutting_down", "installed"),
                                    (["zoneadm", "-z", "web1", "boot"], "ready", "running"),
                                    (["zoneadm", "-z", "web1", "halt"], "down", "installed")):
            running = asyncio.ensure_future(session.run(argv, idempotent=False))
            async with asyncio.timeout(10):
                while world.zones["web1"].state.value != during:
                    await asyncio.sleep(0.01)
            assert (await session.run(["zoneadm", "-z", "web1", "list", "-p"])).stdout.split(":")[2] == during
            await running
            assert world.zones["web1"].state.value == after
        quick = await session.run(["zoneadm", "-z", "web1", "halt"], idempotent=False)
        assert quick.stderr == "zoneadm: zone 'web1': zone is already halted\n"
    finally:
        world.op_seconds = 0.0


async def test_a_long_install_shows_incomplete_to_another_session(hosts):
    world, session = hosts["worlds"]["sol-a"], hosts["sessions"]["sol-a"]
    world.op_seconds = 1.0
    installing = asyncio.ensure_future(session.run(["zoneadm", "-z", "fresh", "install"], idempotent=False,
                                                   timeout=30))
    try:
        async with asyncio.timeout(10):
            while world.zones["fresh"].state.value != "incomplete":
                await asyncio.sleep(0.01)
        listing = (await session.run(["zoneadm", "-z", "fresh", "list", "-p"])).stdout
        assert listing.split(":")[2] == "incomplete"
        result = await installing
    finally:
        world.op_seconds = 0.0
    assert "Installation: Succeeded" in result.stdout
    assert (await session.run(["zoneadm", "-z", "fresh", "list", "-p"])).stdout.split(":")[2] == "installed"


async def _transfer(source: SshSession, source_argv: list[str], dest: SshSession, dest_argv: list[str],
                    mangle=None) -> tuple[int | None, int | None, str, int]:
    """What hvdeck's transfer step does: one host's process piped into another's."""
    sender = await source.open_process(source_argv)
    receiver = await dest.open_process(dest_argv)
    moved = 0
    try:
        while data := await sender.read(256 * 1024):
            if mangle is not None:
                data = mangle(moved, data)
            moved += len(data)
            receiver.write(data)
            await receiver.drain()
        receiver.write_eof()
        statuses = await asyncio.gather(sender.wait(), receiver.wait())
        return statuses[0], statuses[1], receiver.stderr_tail, moved
    finally:
        await sender.close()
        await receiver.close()


async def test_move_a_zone_between_hosts_with_zfs_send_and_attach_u(hosts):
    """halt, detach, snapshot, send | receive, create -a on the target, attach -u, boot; the source keeps
    the zone configured."""
    src, dst = hosts["sessions"]["sol-a"], hosts["sessions"]["sol-b"]
    src_world, dst_world = hosts["worlds"]["sol-a"], hosts["worlds"]["sol-b"]
    src_world.zones["batch"].config.props["autoboot"] = "true"
    for argv in (["zoneadm", "-z", "batch", "detach"], ["zfs", "snapshot", "rpool/zones/batch@move"]):
        await src.run(argv, idempotent=False)
    assert src_world.zones["batch"].state.value == "configured"
    send_status, recv_status, stderr, moved = await _transfer(
        src, ["zfs", "send", "rpool/zones/batch@move"], dst, ["zfs", "receive", "tank/zones/batch"])
    assert (send_status, recv_status, stderr) == (0, 0, "")
    assert moved > 1_000_000
    listing = (await dst.run(["zfs", "list", "-H", "-o", "name,mountpoint", "-r", "tank/zones"])).stdout
    assert "tank/zones/batch\t/zones/batch\n" in listing
    await dst.run(["zonecfg", "-z", "batch", "create -a /zones/batch"], idempotent=False)
    assert (await dst.run(["zoneadm", "-z", "batch", "list", "-p"])).stdout.split(":")[2] == "configured"
    stale = await dst.run(["zoneadm", "-z", "batch", "attach"], check=False, idempotent=False)
    assert stale.exit_status == 1 and "are out of sync with the global zone. To proceed, retry with the -u flag." \
        in stale.stdout
    attach = await dst.run(["zoneadm", "-z", "batch", "attach", "-u"], idempotent=False)
    assert attach.stdout.rstrip().endswith("  Updating non-global zone: Zone updated.\n"
                                           "                    Result: Attach Succeeded.")
    assert dst_world.image(dst_world.zones["batch"])["entire"] == NEWER_SOLARIS.entire
    await dst.run(["zoneadm", "-z", "batch", "boot"], idempotent=False)
    assert dst_world.zones["batch"].state.value == "running"
    assert (await dst.run(["zonecfg", "-z", "batch", "export"])).stdout == \
        (await src.run(["zonecfg", "-z", "batch", "export"])).stdout


async def test_a_cut_or_corrupted_stream_is_refused(hosts):
    src, dst = hosts["sessions"]["sol-a"], hosts["sessions"]["sol-b"]
    await src.run(["zfs", "snapshot", "rpool/zones/app1@copy"], idempotent=False)

    def flip(offset: int, data: bytes) -> bytes:
        return data[:100] + bytes([data[100] ^ 0xFF]) + data[101:] if offset == 0 else data

    *_, recv_status, stderr, _moved = await _transfer(src, ["zfs", "send", "rpool/zones/app1@copy"], dst,
                                                      ["zfs", "recv", "tank/zones/app1"], mangle=flip)
    assert (recv_status, stderr) == (1, "cannot receive new filesystem stream: checksum mismatch or incomplete stream\n")

    def cut(offset: int, data: bytes) -> bytes:
        return data if offset == 0 else b""

    *_, recv_status, stderr, _moved = await _transfer(src, ["zfs", "send", "rpool/zones/app1@copy"], dst,
                                                      ["zfs", "recv", "tank/zones/app1"], mangle=cut)
    assert (recv_status, stderr) == (1, "cannot receive new filesystem stream: checksum mismatch or incomplete stream\n")
    assert "tank/zones/app1" not in hosts["worlds"]["sol-b"].storage.datasets


async def test_cross_layout_moves_follow_the_brands(hosts):
    """A solaris10 zone moves from the illumos host to Solaris 11 (both have the brand; its attach takes no
    -u); an ipkg-family zone cannot be configured where its brand does not exist."""
    omni, sol = hosts["sessions"]["omni-a"], hosts["sessions"]["sol-a"]
    for argv in (["zoneadm", "-z", "legacy10", "detach"], ["zfs", "snapshot", "rpool/zones/legacy10@move"],
                 ["zoneadm", "-z", "web2", "halt"], ["zoneadm", "-z", "web2", "detach"],
                 ["zfs", "snapshot", "rpool/zones/web2@move"]):
        await omni.run(argv, idempotent=False)
    for zone in ("legacy10", "web2"):
        statuses = await _transfer(omni, ["zfs", "send", f"rpool/zones/{zone}@move"], sol,
                                   ["zfs", "recv", f"rpool/zones/{zone}"])
        assert statuses[:3] == (0, 0, "")
    await sol.run(["zonecfg", "-z", "legacy10", "create -a /zones/legacy10"], idempotent=False)
    refused = await sol.run(["zoneadm", "-z", "legacy10", "attach", "-u"], check=False, idempotent=False)
    assert refused.exit_status == 1 and refused.stderr.startswith("usage:\tattach [-F] [-n <path>]")
    attach = await sol.run(["zoneadm", "-z", "legacy10", "attach"], idempotent=False)
    assert "Attach complete." in attach.stdout
    web2 = await sol.run(["zonecfg", "-z", "web2", "create -a /zones/web2"], check=False, idempotent=False)
    assert (web2.exit_status, web2.stderr) == (1, "web2: unknown brand.\n\nweb2: Invalid document\n"
                                                  "Configuration not saved.\n")
