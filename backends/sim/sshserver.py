"""An in-process SSH server on loopback, so simulated hosts (and tests) are reached through real SSH.

It authenticates by public key only, serves each exec request through a handler (the simulated host's
shell), forwards unix sockets to the paths it is told to allow (the libvirt socket), and can drop every
client link on demand, which is how tests prove that hvdeck reconnects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import asyncssh


@dataclass(frozen=True, slots=True)
class Reply:
    stdout: str = ""
    stderr: str = ""
    exit_status: int = 0


#: reads the client's stdin to EOF; only commands that take input call it (a plain `ssh host cmd`
#: from a terminal sends no EOF until the user types ^D)
StdinReader = Callable[[], Awaitable[str]]
#: (command line as the client sent it, stdin reader) -> Reply
Handler = Callable[[str, StdinReader], Awaitable[Reply]]
#: for commands that run a while (a stream, a console on a PTY, one end of a transfer): given the command
#: line and the raw process (bytes in and out; ``process.get_terminal_type()`` is set on a PTY), it writes
#: as it goes and calls ``process.exit(status)``; returns False to leave the command to the `Handler`
ProcessHandler = Callable[[str, asyncssh.SSHServerProcess], Awaitable[bool]]


def load_or_create_host_key(path: str | Path) -> asyncssh.SSHKey:
    """An ed25519 host key from ``path``, created (mode 0600) if the file is missing."""
    path = Path(path)
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519")
    path.parent.mkdir(parents=True, exist_ok=True)
    key.write_private_key(str(path))
    path.chmod(0o600)
    return key


class _Server(asyncssh.SSHServer):
    def __init__(self, owner: "SimSSHServer") -> None:
        self._owner = owner
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._owner.connections.add(conn)
        self._owner.accepted += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._owner.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        return dest_path in self._owner.forward_paths

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        """TCP forwarding, for a server that plays a jump host (ProxyJump); off unless asked for."""
        return (dest_host, dest_port) in self._owner.tcp_forwards


class SimSSHServer:
    """``await server.start()`` listens on 127.0.0.1 (port 0 picks a free one); ``server.port`` tells."""

    def __init__(self, handler: Handler, *, host_key: asyncssh.SSHKey,
                 authorized_keys: Iterable[asyncssh.SSHKey] | str,
                 forward_paths: Iterable[str] = (), tcp_forwards: Iterable[tuple[str, int]] = (),
                 process_handler: ProcessHandler | None = None) -> None:
        self.handler = handler
        self.process_handler = process_handler
        self.host_key = host_key
        if isinstance(authorized_keys, str):
            self._authorized: asyncssh.SSHAuthorizedKeys = asyncssh.read_authorized_keys(authorized_keys)
        else:
            keys = "".join(k.export_public_key("openssh").decode() for k in authorized_keys)
            self._authorized = asyncssh.import_authorized_keys(keys)
        self.forward_paths = set(forward_paths)
        self.tcp_forwards = set(tcp_forwards)
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.accepted = 0
        #: every command line received, in order (tests assert on the exact argv hvdeck sent)
        self.commands: list[str] = []
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def fingerprint(self) -> str:
        return self.host_key.get_fingerprint("sha256")

    def known_hosts_line(self) -> str:
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return f"{name} {self.host_key.export_public_key('openssh').decode().strip()}\n"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self.host = host
        self._acceptor = await asyncssh.create_server(
            lambda: _Server(self), host, port, server_host_keys=[self.host_key],
            authorized_client_keys=self._authorized, process_factory=self._process,
            allow_scp=False, agent_forwarding=False, x11_forwarding=False, keepalive_interval=0,
            encoding=None, line_editor=False)
        self.port = self._acceptor.sockets[0].getsockname()[1]
        return self.port

    async def _process(self, process: asyncssh.SSHServerProcess) -> None:
        command = process.command or ""
        self.commands.append(command)

        if self.process_handler is not None:
            try:
                if await self.process_handler(command, process):
                    return
            except (BrokenPipeError, ConnectionError, asyncssh.Error):
                return

        async def read_stdin() -> str:
            return (await process.stdin.read()).decode("utf-8", "replace")

        try:
            reply = await self.handler(command, read_stdin)
        except Exception as exc:  # noqa: BLE001 - a simulated host fails like a shell, not like a crash
            reply = Reply("", f"simulated host: {type(exc).__name__}: {exc}\n", 1)
        try:
            if reply.stdout:
                process.stdout.write(reply.stdout.encode("utf-8"))
            if reply.stderr:
                process.stderr.write(reply.stderr.encode("utf-8"))
            process.exit(reply.exit_status)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            pass

    def drop_connections(self) -> int:
        """Abort every client connection (the link dies; the listener stays up)."""
        count = len(self.connections)
        for conn in list(self.connections):
            conn.abort()
        return count

    async def close(self) -> None:
        self.drop_connections()
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
