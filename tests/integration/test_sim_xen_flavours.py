"""The xm and Sun xVM dom0s behind real SSH, the OpenSSH client's view of one, and `hvdeck sim xen`."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.inventory import HostSpec
from hvdeck.backends.sim.sshserver import SimSSHServer, load_or_create_host_key
from hvdeck.backends.sim.xen import XenWorld, serve
from hvdeck.backends.transport.ssh import SshSession

OPENSSH = "/usr/bin/ssh"
needs_openssh = pytest.mark.skipif(not os.access(OPENSSH, os.X_OK), reason="no OpenSSH client")


async def _serve(world: XenWorld, ssh_world) -> SimSSHServer:
    server = await serve(world, host="127.0.0.1", port=0, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    return server


@pytest.fixture
async def xvm(ssh_world) -> AsyncIterator[tuple[XenWorld, SimSSHServer, SshSession]]:
    world = XenWorld.demo("xvm-a", "xvm", 1)
    server = await _serve(world, ssh_world)
    session = SshSession(ssh_world.spec(server, name="xvm-a"), ssh_world.options())
    yield world, server, session
    await session.close()
    await server.close()


async def test_xm_dom0_over_ssh(ssh_world):
    world = XenWorld.demo("ovm-a", "xm", 1)
    server = await _serve(world, ssh_world)
    session = SshSession(ssh_world.spec(server, name="ovm-a"), ssh_world.options())
    try:
        listing = (await session.run(["xm", "list"])).stdout.splitlines()
        assert listing[0] == "Name                                        ID   Mem VCPUs      State   Time(s)"
        assert any(line.startswith("dev01 ") and line[41:46] == "     " for line in listing)
        await session.run(["xm", "sched-credit", "-d", "app01", "-w", "500", "-c", "100"], idempotent=False)
        assert (await session.run(["xm", "sched-credit", "-d", "app01"])).stdout.splitlines()[1].split()[2:] == \
            ["500", "100"]
        frames = (await session.run(["xentop", "-b", "-d", "1", "-i", "2"], timeout=10)).stdout
        assert frames.count(" VBD_RSECT  VBD_WSECT SSID\n") == 2
        unknown = await session.run(["xm", "pause", "nosuch"], check=False, idempotent=False)
        assert (unknown.exit_status, unknown.stderr) == (3, "Error: Domain 'nosuch' does not exist.\n")
    finally:
        await session.close()
        await server.close()


async def test_xvm_dom0_virsh_and_vdisks_over_ssh(xvm):
    world, server, session = xvm
    listing = (await session.run(["virsh", "list", "--all"])).stdout
    assert listing.startswith(" Id   Name") and listing.endswith("shut off\n\n")
    for argv in (["vdiskadm", "create", "-s", "8g", "/export/vdisks/web"],
                 ["vdiskadm", "snapshot", "/export/vdisks/web@gold"],
                 ["vdiskadm", "clone", "/export/vdisks/web@gold", "/export/vdisks/web2"],
                 ["virt-install", "--nographics", "--paravirt", "--name", "web2", "--ram", "512", "-f",
                  "/export/vdisks/web2", "-l", "nfs:install:/export/ubuntu"]):
        await session.run(argv, idempotent=False)
    assert (await session.run(["vdiskadm", "list", "/export/vdisks/web"])).stdout == "web@gold\nweb\n"
    assert " web2 " in (await session.run(["virsh", "list"])).stdout
    header = (await session.run(["xentop", "-b", "-i", "1"])).stdout.splitlines()[0]
    assert header.endswith("VBD_OO   VBD_RD   VBD_WR SSID")  # Xen 3.3: no sector columns (xen.md §1.3)


async def test_virsh_console_on_a_pty(xvm):
    world, server, session = xvm
    channel = await session.open_pty(["virsh", "console", "sol1"])
    seen = b""
    try:
        while b"Escape character is ^] (Ctrl + ])\r\n" not in seen:
            seen += await asyncio.wait_for(channel.read(), 5)
        channel.write(b"\r")
        while b"sol1 console login: " not in seen:
            seen += await asyncio.wait_for(channel.read(), 5)
        assert b"SunOS Release 5.11 Version snv_111b 64-bit" in seen
        channel.write(b"\x1d")
        assert await asyncio.wait_for(channel.wait(), 5) == 0
    finally:
        await channel.close()


async def test_xm_top_is_interactive_on_a_pty(ssh_world):
    world = XenWorld.demo("ovm-a", "xm", 1)
    server = await _serve(world, ssh_world)
    session = SshSession(ssh_world.spec(server, name="ovm-a"), ssh_world.options())
    try:
        channel = await session.open_pty(["xm", "top"])
        seen = b""
        while b"CPUs: 24 @ 2666MHz\r\n" not in seen:
            seen += await asyncio.wait_for(channel.read(), 5)
        assert seen.startswith(b"\x1b[H\x1b[2Jxentop - ") and b"   Xen 4.1.3OVM\r\n" in seen
        assert b"7 domains: " not in seen and b"6 domains: " in seen  # dev01 is not running
        channel.write(b"q")
        assert await asyncio.wait_for(channel.wait(), 5) == 0
        await channel.close()
        refused = await session.run(["xm", "top"], check=False)  # no terminal: curses cannot start
        assert (refused.exit_status, refused.stderr) == (1, "Error opening terminal: unknown.\n")
    finally:
        await session.close()
        await server.close()


async def test_xm_migrate_between_xvm_dom0s(ssh_world):
    source = XenWorld.demo("xvm-a", "xvm", 1)
    target = XenWorld("xvm-b", "xvm", seed=3, machine=source.machine)
    source.peer(target)
    target.vdisks = source.vdisks  # NFS-shared vdisks
    servers = [await _serve(source, ssh_world), await _serve(target, ssh_world)]
    session = SshSession(ssh_world.spec(servers[0], name="xvm-a"), ssh_world.options())
    try:
        result = await session.run(["xm", "migrate", "-l", "sol-build-server", "xvm-b"], idempotent=False)
        assert (result.stdout, result.stderr) == ("", "")  # xm is silent when it works
        assert "sol-build-server" in target.run(["xm", "list"]).stdout
        assert "sol-build-server" not in source.run(["xm", "list"]).stdout
    finally:
        await session.close()
        for server in servers:
            await server.close()


@needs_openssh
async def test_plain_openssh_with_a_quoted_config_on_stdin(ssh_world):
    world = XenWorld.demo("xen-a", "xl", 1)
    server = await _serve(world, ssh_world)
    try:
        process = await asyncio.create_subprocess_exec(
            OPENSSH, "-F", str(ssh_world.config), "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={ssh_world.known_hosts}", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-i", str(ssh_world.key_path), "-p", str(server.port), "root@127.0.0.1",
            "tee /etc/xen/t.cfg && lvcreate -L 1G -n t-disk vg0 && xl create /etc/xen/t.cfg && xl list t",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        config = b"name = 't'\nmemory = 256\ndisk = [ 'phy:/dev/vg0/t-disk,xvda,w' ]\n"
        stdout, stderr = await asyncio.wait_for(process.communicate(config), 30)
        assert process.returncode == 0, stderr
        assert stdout.decode().splitlines()[-1].split()[:4] == ["t", "7", "256", "1"]
    finally:
        await server.close()


async def test_hvdeck_sim_xen_serves_a_dom0(tmp_path: Path, ssh_world):
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(ssh_world.client_key.export_public_key("openssh").decode())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hvdeck.tui.cli", "sim", "xen", "--toolstack", "xvm", "--listen", "127.0.0.1:0",
        "--host-key", str(tmp_path / "host_key"), "--authorized-keys", str(authorized),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        second = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        match = re.search(r"simulated Xen dom0 (\S+) \(xvm\) on 127\.0\.0\.1:(\d+)", first)
        assert match, first
        key = load_or_create_host_key(tmp_path / "host_key")
        assert second.split()[-1] == key.get_fingerprint("sha256")
        ssh_world.known_hosts.write_text(f"[127.0.0.1]:{match[2]} {key.export_public_key('openssh').decode()}")
        spec = HostSpec(name="x", address="127.0.0.1", port=int(match[2]), user="root",
                        identity_file=str(ssh_world.key_path))
        session = SshSession(spec, ssh_world.options())
        assert (await session.run(["hostname"])).stdout == f"{match[1]}\n" == "xvm-a\n"
        assert "sol1" in (await session.run(["virsh", "list", "--all"])).stdout
        await session.close()
    finally:
        proc.terminate()
        await proc.wait()
