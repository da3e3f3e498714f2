"""SshSession against a real asyncssh server on loopback: host keys, argv quoting, reconnects, forwards."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.errors import (
    AuthFailed,
    ConnectionLost,
    HostKeyChanged,
    HostKeyProblem,
    HostKeyUnknown,
    HostUnreachable,
)
from hvdeck.backends.sim.sshserver import Reply
from hvdeck.backends.transport.ssh import SshSession, trust_host_key

from ..conftest import echo_handler


async def test_unknown_host_key_is_refused_with_its_fingerprint(ssh_server, ssh_world):
    server = await ssh_server(echo_handler())
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    with pytest.raises(HostKeyUnknown) as caught:
        await session.connect()
    problem = caught.value
    assert problem.fingerprint == server.fingerprint
    assert problem.fingerprint.startswith("SHA256:")
    assert problem.pattern == f"[127.0.0.1]:{server.port}"
    assert problem.known_hosts == str(ssh_world.known_hosts)
    assert "hvdeck trust lab1" in problem.message
    assert ssh_world.known_hosts.read_text() == "", "nothing may be written without an explicit yes"
    assert server.commands == [], "no command may run on an untrusted host"


async def test_trusting_the_key_lets_the_session_connect(ssh_server, ssh_world):
    server = await ssh_server(echo_handler())
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    with pytest.raises(HostKeyUnknown) as caught:
        await session.connect()
    problem = caught.value
    trust_host_key(problem.known_hosts, problem.pattern, problem.key_line)
    assert ssh_world.known_hosts.read_text() == server.known_hosts_line()
    result = await session.run(["echo-argv", "ok"])
    assert result.stdout == "ok\n"
    await session.close()


async def test_changed_host_key_is_reported_as_changed_and_never_offered(ssh_server, ssh_world):
    server = await ssh_server(echo_handler())
    other = asyncssh.generate_private_key("ssh-ed25519")
    ssh_world.known_hosts.write_text(
        f"[127.0.0.1]:{server.port} {other.export_public_key('openssh').decode().strip()}\n")
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    with pytest.raises(HostKeyChanged) as caught:
        await session.connect()
    assert caught.value.fingerprint == server.fingerprint
    assert "ssh-keygen -R" in caught.value.message


async def test_argv_reaches_the_host_exactly(ssh_server, ssh_world):
    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    tricky = ["a b", "it's", "$(reboot)", "; rm -rf /", "*", "back\\slash", "new\nline", ""]
    result = await session.run(["echo-argv", *tricky])
    assert server.commands == [shlex.join(["echo-argv", *tricky])]
    assert shlex.split(server.commands[0])[1:] == tricky
    assert result.stdout == "".join(f"{a}\n" for a in tricky)
    await session.close()


async def test_stdin_and_exit_status(ssh_server, ssh_world):
    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    assert (await session.run(["cat"], input="line 1\nline 2\n")).stdout == "line 1\nline 2\n"
    assert (await session.run(["cat"])).stdout == "", "without input, stdin is at EOF (ssh -n)"
    failed = await session.run(["fail"], check=False)
    assert (failed.exit_status, failed.stderr) == (3, "simulated failure\n")
    with pytest.raises(Exception) as caught:
        await session.run(["fail"])
    assert "simulated failure" in str(caught.value)
    await session.close()


async def test_reconnects_after_the_server_drops_the_link(ssh_server, ssh_world):
    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    assert (await session.run(["echo-argv", "one"])).stdout == "one\n"
    assert server.accepted == 1
    assert server.drop_connections() == 1
    assert (await session.run(["echo-argv", "two"])).stdout == "two\n"
    assert server.accepted == 2, "the second command needed a new connection"
    await session.close()


async def test_link_lost_during_a_command(ssh_server, ssh_world):
    started = asyncio.Event()
    attempts = {"n": 0}

    async def handler(command, read_stdin):
        attempts["n"] += 1
        if attempts["n"] == 1:
            started.set()
            await asyncio.sleep(30)
        return Reply("second try\n")

    server = await ssh_server(handler)
    ssh_world.trust(server)
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    await session.connect()

    # an idempotent read is retried once over a fresh connection
    task = asyncio.create_task(session.run(["list"]))
    await started.wait()
    server.drop_connections()
    assert (await task).stdout == "second try\n"

    # a command that changes the host is never retried: the caller sees ConnectionLost
    attempts["n"] = 0
    started.clear()
    task = asyncio.create_task(session.run(["change"], idempotent=False))
    await started.wait()
    server.drop_connections()
    with pytest.raises(ConnectionLost):
        await task
    assert attempts["n"] == 1
    await session.close()


async def test_unreachable_and_auth_failures_are_translated(ssh_server, ssh_world, tmp_path: Path):
    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    port = server.port
    await server.close()
    session = SshSession(ssh_world.spec(server), ssh_world.options(), connect_timeout=3)
    with pytest.raises(HostUnreachable) as caught:
        await session.connect()
    assert f"127.0.0.1:{port}" in caught.value.message

    server2 = await ssh_server(echo_handler())
    ssh_world.trust(server2)
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    stranger_path = tmp_path / "stranger"
    stranger.write_private_key(str(stranger_path))
    session = SshSession(ssh_world.spec(server2, identity_file=str(stranger_path)), ssh_world.options())
    with pytest.raises(AuthFailed):
        await session.connect()


async def test_unix_socket_forward(ssh_server, ssh_world, tmp_path: Path):
    remote = str(tmp_path / "remote.sock")

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.readline()
        writer.write(b"echo:" + data)
        await writer.drain()
        writer.close()

    unix_server = await asyncio.start_unix_server(echo, remote)
    server = await ssh_server(echo_handler(), forward_paths=(remote,))
    ssh_world.trust(server)
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    forward = await session.forward_unix(remote)
    assert forward.path != remote and Path(forward.path).exists()
    reader, writer = await asyncio.open_unix_connection(forward.path)
    writer.write(b"hello\n")
    await writer.drain()
    assert await reader.readline() == b"echo:hello\n"
    writer.close()
    await forward.close()
    assert not Path(forward.path).exists()

    # a path the server does not allow is refused, not silently connected
    refused = await session.forward_unix(str(tmp_path / "other.sock"))
    reader, writer = await asyncio.open_unix_connection(refused.path)
    assert await reader.read() == b""
    writer.close()
    await refused.close()
    await session.close()
    unix_server.close()


async def test_stream_yields_lines_as_they_come(ssh_server, ssh_world):
    async def handler(command, read_stdin):
        return Reply("a\nb\nc\n")

    server = await ssh_server(handler)
    ssh_world.trust(server)
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    lines = [line async for line in session.stream(["xentop", "-b"])]
    assert lines == ["a", "b", "c"]
    await session.close()


async def test_ssh_config_alias_supplies_hostname_port_user_and_key(ssh_server, ssh_world):
    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    ssh_world.config.write_text(f"""Host lab-alias
    HostName 127.0.0.1
    Port {server.port}
    User root
    IdentityFile {ssh_world.key_path}
""")
    from hvdeck.backends.inventory import HostSpec

    # the inventory names only the alias, as `address: lab-alias` (the default: the host's name)
    session = SshSession(HostSpec(name="lab-alias", address="lab-alias"), ssh_world.options())
    assert (await session.run(["echo-argv", "via-config"])).stdout == "via-config\n"
    assert session.known_hosts_pattern() == f"[127.0.0.1]:{server.port}"
    await session.close()


def _through_jump(ssh_world, jump, target, jump_known_hosts: Path) -> SshSession:
    """A session to `inner`, which ~/.ssh/config reaches through `jump` (ProxyJump); the jump hop's key is
    checked against ``jump_known_hosts``, as ssh does for each hop."""
    ssh_world.config.write_text(f"""Host jump
    HostName 127.0.0.1
    Port {jump.port}
    User root
    IdentityFile {ssh_world.key_path}
    UserKnownHostsFile {jump_known_hosts}
Host inner
    HostName 127.0.0.1
    Port {target.port}
    User root
    IdentityFile {ssh_world.key_path}
    ProxyJump jump
""")
    from hvdeck.backends.inventory import HostSpec

    return SshSession(HostSpec(name="inner", address="inner"), ssh_world.options())


async def test_proxyjump_from_ssh_config(ssh_server, ssh_world):
    target = await ssh_server(echo_handler())
    jump = await ssh_server(echo_handler(), tcp_forwards=(("127.0.0.1", target.port),))
    ssh_world.trust(target)
    ssh_world.trust(jump)
    session = _through_jump(ssh_world, jump, target, ssh_world.known_hosts)
    assert (await session.run(["echo-argv", "through-the-jump"])).stdout == "through-the-jump\n"
    assert target.commands == ["echo-argv through-the-jump"] and jump.commands == []
    assert jump.accepted == 1 and target.accepted == 1
    await session.close()


async def test_an_untrusted_jump_host_is_named_as_the_problem(ssh_server, ssh_world, tmp_path: Path):
    target = await ssh_server(echo_handler())
    jump = await ssh_server(echo_handler(), tcp_forwards=(("127.0.0.1", target.port),))
    ssh_world.trust(target)  # the target is trusted; the jump host is in no known_hosts at all
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    session = _through_jump(ssh_world, jump, target, empty)
    with pytest.raises(HostKeyProblem) as caught:
        await session.connect()
    assert not isinstance(caught.value, (HostKeyUnknown, HostKeyChanged))
    assert "jump host" in caught.value.message and caught.value.key_line is None
    assert target.commands == []


async def test_ssh_config_cannot_turn_host_key_checks_off(ssh_server, ssh_world, tmp_path: Path):
    """`UserKnownHostsFile none` (and StrictHostKeyChecking no) would make asyncssh accept any key: hvdeck
    still refuses to run anything on a host whose key is not trusted."""
    server = await ssh_server(echo_handler())
    ssh_world.config.write_text(f"""Host lab
    HostName 127.0.0.1
    Port {server.port}
    User root
    IdentityFile {ssh_world.key_path}
    UserKnownHostsFile none
    StrictHostKeyChecking no
""")
    from hvdeck.backends.inventory import HostSpec, SshOptions

    session = SshSession(HostSpec(name="lab", address="lab"), SshOptions(config=(str(ssh_world.config),)))
    with pytest.raises(HostKeyUnknown) as caught:
        await session.run(["echo-argv", "should not run"])
    assert "UserKnownHostsFile none" in caught.value.message
    assert caught.value.known_hosts.endswith(".ssh/known_hosts")
    assert server.commands == []


async def test_a_revoked_key_is_refused_and_named(ssh_server, ssh_world):
    from hvdeck.backends.errors import HostKeyRevoked

    server = await ssh_server(echo_handler())
    key = server.host_key.export_public_key("openssh").decode().strip()
    ssh_world.known_hosts.write_text(f"@revoked [127.0.0.1]:{server.port} {key}\n")
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    with pytest.raises(HostKeyRevoked) as caught:
        await session.connect()
    assert "@revoked" in caught.value.message and caught.value.key_line is None
    assert server.commands == []


async def test_a_changed_key_names_both_fingerprints(ssh_server, ssh_world):
    server = await ssh_server(echo_handler())
    other = asyncssh.generate_private_key("ssh-ed25519")
    ssh_world.known_hosts.write_text(
        f"[127.0.0.1]:{server.port} {other.export_public_key('openssh').decode().strip()}\n")
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    with pytest.raises(HostKeyChanged) as caught:
        await session.connect()
    message = caught.value.message
    assert server.fingerprint in message and other.get_fingerprint("sha256") in message
    assert caught.value.known_fingerprints == (other.get_fingerprint("sha256"),)


async def test_known_hosts_is_parsed_once_and_again_only_when_it_changes(ssh_server, ssh_world):
    from hvdeck.backends.transport import ssh as ssh_module

    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    known = SshSession(ssh_world.spec(server), ssh_world.options()).known_hosts()
    first = known.parsed()
    assert known.parsed() is first, "a second connection must not read and parse known_hosts again"
    with ssh_world.known_hosts.open("a") as handle:
        handle.write("# changed\n")
    assert known.parsed() is not first
    assert ssh_module._KNOWN_CACHE[known.files][1] is known.parsed()


async def test_an_unusable_ssh_config_is_an_error_naming_it(ssh_server, ssh_world):
    from hvdeck.backends.errors import SshConfigError

    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    ssh_world.config.write_text("Host *\n    Port not-a-number\n")
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    with pytest.raises(SshConfigError) as caught:
        await session.connect()
    assert str(ssh_world.config) in caught.value.message


async def test_match_localnetwork_in_the_ssh_config_works(ssh_server, ssh_world):
    """The case ssh-match-localnetwork: asyncssh needs the ifaddr package for `Match localnetwork`."""
    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    ssh_world.config.write_text(f"""Match localnetwork 127.0.0.0/8
    User root
Host lab
    HostName 127.0.0.1
    Port {server.port}
    IdentityFile {ssh_world.key_path}
""")
    from hvdeck.backends.inventory import HostSpec

    session = SshSession(HostSpec(name="lab", address="lab"), ssh_world.options())
    assert (await session.run(["echo-argv", "matched"])).stdout == "matched\n"
    await session.close()


async def test_aes_gcm_is_preferred_unless_the_ssh_config_names_ciphers(ssh_server, ssh_world):
    """hvdeck asks for AES-GCM first (cheaper per packet than chacha20-poly1305 in asyncssh); a
    ``Ciphers`` line in the user's ssh config is obeyed as it is."""
    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    chosen = []
    for config in ("", "Host *\n    Ciphers aes256-ctr\n"):
        ssh_world.config.write_text(config)
        session = SshSession(ssh_world.spec(server), ssh_world.options())
        await session.connect()
        try:
            chosen.append(session._conn.get_extra_info("send_cipher"))
            assert (await session.run(["echo-argv", "ok"])).stdout == "ok\n"
        finally:
            await session.close()
    assert chosen == ["aes128-gcm@openssh.com", "aes256-ctr"]


async def test_the_identity_file_is_read_once_per_change(ssh_server, ssh_world):
    """The inventory's identity_file is decoded once, not per host; a new key in the file is used."""
    from hvdeck.backends.transport import ssh as ssh_module

    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    first = ssh_module._identity(str(ssh_world.key_path))
    assert ssh_module._identity(str(ssh_world.key_path)) is first
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    assert (await session.run(["echo-argv", "ok"])).stdout == "ok\n"
    await session.close()
    other = asyncssh.generate_private_key("ssh-ed25519")
    other.write_private_key(str(ssh_world.key_path))
    again = ssh_module._identity(str(ssh_world.key_path))
    assert again is not first and again[0].public_data == other.public_data
    # a key that cannot be loaded here (missing, not a key) is left to asyncssh, which reports it
    ssh_world.key_path.write_text("not a key\n")
    assert ssh_module._identity(str(ssh_world.key_path)) == [str(ssh_world.key_path)]
    assert ssh_module._identity(str(ssh_world.dir / "missing")) == [str(ssh_world.dir / "missing")]


async def test_a_missing_identity_file_and_a_refused_port_are_said_plainly(ssh_server, ssh_world, tmp_path):
    """The inventory's identity_file that does not exist is named as that (it had been reported as an
    unusable ~/.ssh/config); a port nobody listens on is 'connection refused', not Python's errno text."""
    import socket

    from hvdeck.backends.errors import HostUnreachable, SshConfigError

    server = await ssh_server(echo_handler())
    ssh_world.trust(server)
    missing = tmp_path / "no-such-key"
    session = SshSession(ssh_world.spec(server, identity_file=str(missing)), ssh_world.options())
    with pytest.raises(SshConfigError) as caught:
        await session.connect()
    assert caught.value.message == f"the inventory's identity_file {missing} cannot be read: No such file or directory"
    with socket.socket() as sock:  # a free port, then closed: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    session = SshSession(ssh_world.spec(server, port=port), ssh_world.options())
    with pytest.raises(HostUnreachable) as refused:
        await session.connect()
    assert "connection refused" in refused.value.message and "Errno" not in refused.value.message


async def test_the_trust_hint_names_the_inventory_the_hosts_came_from(ssh_server, ssh_world, tmp_path):
    """`hvdeck trust HOST` alone reads the default inventory: the hint for a host of another inventory
    file carries its --inventory (a new user's `hvdeck trust newhost` failed with 'no such file')."""
    from hvdeck.backends import inventory as inv
    from hvdeck.backends.errors import HostKeyUnknown

    server = await ssh_server(echo_handler())
    path = tmp_path / "my fleet.yaml"
    path.write_text(f"ssh:\n  config: {ssh_world.config}\n  known_hosts: {ssh_world.known_hosts}\n"
                    f"hosts:\n  - {{name: lab1, address: 127.0.0.1, port: {server.port}, user: root, "
                    f"identity_file: {ssh_world.key_path}}}\n")
    loaded = inv.load(path)
    assert loaded.ssh.inventory == str(path)
    session = SshSession(loaded.hosts[0], loaded.ssh)
    with pytest.raises(HostKeyUnknown) as caught:
        await session.connect()
    assert caught.value.message.endswith(f"then trust it with: hvdeck trust lab1 --inventory '{path}'")
