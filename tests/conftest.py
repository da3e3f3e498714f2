"""Shared fixtures: SSH keys generated for the test, an in-process SSH server on loopback, the demo
inventory. Nothing here replaces the thing under test; the SSH server is a real asyncssh server."""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.inventory import HostSpec, SshOptions
from hvdeck.backends.sim.sshserver import Handler, ProcessHandler, Reply, SimSSHServer, StdinReader

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
                    tcp_forwards: tuple[tuple[str, int], ...] = (),
                    process_handler: ProcessHandler | None = None) -> SimSSHServer:
        server = SimSSHServer(handler, host_key=host_key or asyncssh.generate_private_key("ssh-ed25519"),
                              authorized_keys=[ssh_world.client_key], forward_paths=forward_paths,
                              tcp_forwards=tcp_forwards, process_handler=process_handler)
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


async def exec_process_handler(command: str, process: asyncssh.SSHServerProcess) -> bool:
    """A real shell behind the in-process SSH server: runs ``sh -c COMMAND`` on this machine, on a real
    pseudo-terminal when the client asked for one (resizes reach it), with stdin, stdout, stderr and the
    exit status passed through; closing the channel hangs the command up. Streams, PTYs and transfers are
    tested against real processes this way."""
    import fcntl
    import pty
    import signal
    import struct
    import termios

    loop = asyncio.get_running_loop()
    master = None
    if process.get_terminal_type():
        master, slave = pty.openpty()
        cols, rows = process.get_terminal_size()[:2]
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

        def tty() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        child = await asyncio.create_subprocess_exec("sh", "-c", command, stdin=slave, stdout=slave, stderr=slave,
                                                     start_new_session=True, preexec_fn=tty)
        os.close(slave)
        out = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(out), os.fdopen(master, "rb", 0))
        sources = [(out, process.stdout)]

        def feed(data: bytes) -> None:
            os.write(master, data)
    else:
        child = await asyncio.create_subprocess_exec("sh", "-c", command, stdin=asyncio.subprocess.PIPE,
                                                     stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                     start_new_session=True)
        sources = [(child.stdout, process.stdout), (child.stderr, process.stderr)]

        def feed(data: bytes) -> None:
            child.stdin.write(data)

    async def copy_out(src: asyncio.StreamReader, dst: asyncssh.SSHWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
        except (OSError, asyncssh.Error):
            pass

    async def copy_in() -> None:
        while True:
            try:
                data = await process.stdin.read(65536)
            except asyncssh.TerminalSizeChanged as exc:
                if master is not None:
                    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", exc.height, exc.width, 0, 0))
                    os.killpg(child.pid, signal.SIGWINCH)
                continue
            except (OSError, asyncssh.Error):
                return
            if not data:
                if master is None:
                    child.stdin.close()
                return
            feed(data)

    pumps = [asyncio.ensure_future(copy_out(src, dst)) for src, dst in sources]
    feeder = asyncio.ensure_future(copy_in())
    ended = asyncio.ensure_future(child.wait())
    closed = asyncio.ensure_future(process.channel.wait_closed())
    await asyncio.wait({ended, closed}, return_when=asyncio.FIRST_COMPLETED)
    if not ended.done():  # the client hung up: so does the command
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await ended
        for task in (*pumps, feeder):
            task.cancel()
        return True
    closed.cancel()
    feeder.cancel()
    await asyncio.wait(pumps, timeout=2)
    try:
        process.exit(ended.result())
    except (OSError, asyncssh.Error):
        pass
    return True
