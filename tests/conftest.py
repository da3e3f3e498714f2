"""Shared fixtures: SSH keys generated for the test, an in-process SSH server on loopback, the demo
inventory. Nothing here replaces the thing under test; the SSH server is a real asyncssh server."""

from __future__ import annotations

import os
import shlex
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.inventory import HostSpec, SshOptions
from hvdeck.backends.sim.sshserver import Handler, Reply, SimSSHServer, StdinReader

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the developer's ~/.ssh, ~/.config/hvdeck or audit log."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("HVDECK_INVENTORY", raising=False)
    monkeypatch.delenv("HVDECK_AUDIT_LOG", raising=False)


@dataclass
class SshWorld:
    """A client key, an empty ssh config and a known_hosts file, all in a temp dir."""

    dir: Path
    client_key: asyncssh.SSHKey
    key_path: Path
    config: Path
    known_hosts: Path

    def options(self) -> SshOptions:
        return SshOptions(config=(str(self.config),), known_hosts=str(self.known_hosts))

    def spec(self, server: SimSSHServer, name: str = "lab1", **kw: object) -> HostSpec:
        fields: dict[str, object] = dict(name=name, address="127.0.0.1", port=server.port, user="root",
                                         identity_file=str(self.key_path))
        fields.update(kw)
        return HostSpec(**fields)  # type: ignore[arg-type]

    def trust(self, server: SimSSHServer) -> None:
        with self.known_hosts.open("a") as handle:
            handle.write(server.known_hosts_line())


@pytest.fixture
def ssh_world(tmp_path: Path) -> SshWorld:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key_path = tmp_path / "id_ed25519"
    key.write_private_key(str(key_path))
    key_path.chmod(0o600)
    config = tmp_path / "ssh_config"
    config.write_text("")
    known = tmp_path / "known_hosts"
    known.write_text("")
    return SshWorld(tmp_path, key, key_path, config, known)


ServerFactory = Callable[..., Awaitable[SimSSHServer]]


@pytest.fixture
async def ssh_server(ssh_world: SshWorld) -> AsyncIterator[ServerFactory]:
    """``await ssh_server(handler, forward_paths=...)`` starts a server trusting the test client key."""
    servers: list[SimSSHServer] = []

    async def start(handler: Handler, *, forward_paths: tuple[str, ...] = (), port: int = 0,
                    host_key: asyncssh.SSHKey | None = None,
                    tcp_forwards: tuple[tuple[str, int], ...] = ()) -> SimSSHServer:
        server = SimSSHServer(handler, host_key=host_key or asyncssh.generate_private_key("ssh-ed25519"),
                              authorized_keys=[ssh_world.client_key], forward_paths=forward_paths,
                              tcp_forwards=tcp_forwards)
        await server.start(port=port)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def echo_handler() -> Handler:
    """A remote shell that answers `printf`-free: it echoes each argv back, one word per line."""

    async def handle(command: str, read_stdin: StdinReader) -> Reply:
        argv = shlex.split(command)
        if argv[:1] == ["echo-argv"]:
            return Reply("".join(f"{a}\n" for a in argv[1:]))
        if argv[:1] == ["cat"]:
            return Reply(await read_stdin())
        if argv[:1] == ["fail"]:
            return Reply("", "simulated failure\n", 3)
        return Reply("", f"sh: 1: {argv[0] if argv else ''}: not found\n", 127)

    return handle


def demo_xml(host: str) -> str:
    from hvdeck.backends.sim.demo import demo_xml as path

    return path(host)


requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
