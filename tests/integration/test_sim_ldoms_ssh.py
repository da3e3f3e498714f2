"""The simulated SPARC control domain behind a real SSH server: driven by hvdeck's SshSession (argv lists,
quoted as shlex.join quotes them) and by the OpenSSH client, as an operator would."""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import AsyncIterator

import asyncssh
import pytest

from hvdeck.backends.errors import CommandFailed
from hvdeck.backends.sim.ldoms import LdomsWorld, format_version, serve
from hvdeck.backends.sim.sshserver import SimSSHServer
from hvdeck.backends.transport.ssh import SshSession

OPENSSH = "/usr/bin/ssh"


class Clock:
    """A still clock: every output can be compared with the world's own answer."""

    now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> LdomsWorld:
    return LdomsWorld.demo("t7-a", 3, clock=Clock())


@pytest.fixture
async def server(world, ssh_world) -> AsyncIterator[SimSSHServer]:
    server = await serve(world, host="127.0.0.1", port=0, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    yield server
    await server.close()


@pytest.fixture
async def session(server, ssh_world) -> AsyncIterator[SshSession]:
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    yield session
    await session.close()


def local(world: LdomsWorld, *argv: str) -> str:
    reply = world.run(argv)
    assert reply.exit_status == 0, reply.stderr
    return reply.stdout


async def test_listing_over_ssh_is_what_the_world_prints(session, server, world):
    for argv in (["ldm", "list", "-p"], ["ldm", "list"], ["ldm", "list-bindings", "-p"],
                 ["ldm", "list-services", "-p"], ["ldm", "-V"],
                 ["zfs", "list", "-H", "-p", "-t", "volume,snapshot", "-o", "name,used,volsize,origin"]):
        result = await session.run(argv)
        assert (result.exit_status, result.stdout, result.stderr) == (0, local(world, *argv), "")
    assert server.commands[0] == "ldm list -p"


async def test_the_lifecycle_over_ssh(session, server):
    for argv in (["ldm", "add-domain", "ldg5"], ["ldm", "add-vcpu", "4", "ldg5"],
                 ["ldm", "add-memory", "1024m", "ldg5"], ["ldm", "add-vnet", "vnet0", "primary-vsw0", "ldg5"],
                 ["zfs", "create", "-V", "20G", "ldompool/ldg5-boot"],
                 ["ldm", "add-vdsdev", "/dev/zvol/dsk/ldompool/ldg5-boot", "ldg5-boot@primary-vds0"],
                 ["ldm", "add-vdisk", "vdisk0", "ldg5-boot@primary-vds0", "ldg5"],
                 ["ldm", "set-var", "auto-boot?=true", "ldg5"], ["ldm", "bind", "ldg5"]):
        await session.run(argv, idempotent=False)
    assert (await session.run(["ldm", "start", "ldg5"], idempotent=False)).stdout == "LDom ldg5 started\n"
    record = (await session.run(["ldm", "list", "-p", "ldg5"])).stdout.splitlines()[1]
    assert record.startswith("DOMAIN|name=ldg5|state=active|flags=-n----|cons=5004|ncpu=4|mem=1073741824|")
    assert "ldm set-var 'auto-boot?=true' ldg5" in server.commands, "the argv arrives quoted as shlex.join quotes it"


async def test_quoted_arguments_with_spaces_and_semicolons_arrive_intact(session, server):
    value = "devalias vnet0 /virtual-devices@100/channel-devices@200/network@0; echo not-run && true"
    await session.run(["ldm", "set-variable", f"nvramrc={value}", "ldg-web1"], idempotent=False)
    result = await session.run(["ldm", "list-variable", "nvramrc", "ldg-web1"])
    assert result.stdout == f"nvramrc={value}\n"
    assert server.commands[0] == shlex.join(["ldm", "set-variable", f"nvramrc={value}", "ldg-web1"])


async def test_failures_keep_their_status_and_message(session):
    result = await session.run(["ldm", "bind", "ldg-nope"], check=False, idempotent=False)
    assert (result.exit_status, result.stdout, result.stderr) == (1, "", "Domain ldg-nope not found\n")
    with pytest.raises(CommandFailed):
        await session.run(["ldm", "start", "ldg-build"], idempotent=False)
    missing = await session.run(["prtdiag", "-v"], check=False)
    assert (missing.exit_status, missing.stderr) == (127, "sh: 1: prtdiag: not found\n")


async def test_state_persists_across_commands_and_connections(server, ssh_world, world):
    first = SshSession(ssh_world.spec(server), ssh_world.options())
    await first.run(["ldm", "stop", "ldg-web1"], idempotent=False)
    await first.close()
    second = SshSession(ssh_world.spec(server), ssh_world.options())
    assert "DOMAIN|name=ldg-web1|state=bound|" in (await second.run(["ldm", "list", "-p", "ldg-web1"])).stdout
    await second.close()
    assert world.domains["ldg-web1"].state.value == "bound"


async def openssh(ssh_world, server: SimSSHServer, command: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        OPENSSH, "-F", str(ssh_world.config), "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={ssh_world.known_hosts}", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
        "-i", str(ssh_world.key_path), "-p", str(server.port), "root@127.0.0.1", command,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, stdout.decode(), stderr.decode()


needs_openssh = pytest.mark.skipif(not os.access(OPENSSH, os.X_OK), reason="no OpenSSH client")


@needs_openssh
async def test_plain_ssh_runs_a_command_line(server, ssh_world, world):
    status, stdout, stderr = await openssh(ssh_world, server, "ldm list -p; ldm -V")
    assert (status, stderr) == (0, "")
    assert stdout == local(world, "ldm", "list", "-p") + format_version()
    assert server.commands == ["ldm list -p; ldm -V"]


@needs_openssh
async def test_plain_ssh_with_quotes_and_and(server, ssh_world):
    status, stdout, _ = await openssh(
        ssh_world, server, "LANG=C ldm set-var 'boot-file=-v; -s' ldg-test && ldm ls-var boot-file ldg-test")
    assert (status, stdout) == (0, "boot-file=-v; -s\n")


@needs_openssh
async def test_plain_ssh_reports_failures_like_a_shell(server, ssh_world):
    assert await openssh(ssh_world, server, "ldm start ldg-build && ldm list") == \
        (1, "", "LDom ldg-build is not bound\n")
    assert await openssh(ssh_world, server, "uptime") == (127, "", "sh: 1: uptime: not found\n")
    assert await openssh(ssh_world, server, "ldm list 'ldg-web1") == \
        (2, "", "sh: 1: Syntax error: Unterminated quoted string\n")


@needs_openssh
async def test_plain_ssh_refuses_an_unknown_host_key(server, ssh_world):
    ssh_world.known_hosts.write_text("")
    status, stdout, stderr = await openssh(ssh_world, server, "ldm list -p")
    assert status == 255 and stdout == ""
    assert "Host key verification failed" in stderr
    assert server.commands == []
