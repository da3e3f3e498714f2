"""SSH sessions: one multiplexed asyncssh connection per control host.

Honours the user's SSH setup (``~/.ssh/config`` with User, Port, IdentityFile, ProxyJump; the agent;
known_hosts) and never weakens it: an unknown host key raises `HostKeyUnknown` carrying the key's
SHA256 fingerprint, and only `trust_host_key` — called on an explicit yes — writes to known_hosts.
asyncssh exceptions are translated here and nowhere else.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncssh

from ..errors import (AuthFailed, ConnectionLost, HostKeyChanged, HostKeyProblem, HostKeyUnknown,
                      HostUnreachable)
from ..inventory import HostSpec, SshOptions
from .base import Forward, Result, Session, argv_tuple

#: below OpenSSH's default MaxSessions (10), so parallel commands queue instead of failing
DEFAULT_MAX_CHANNELS = 8
_LINK_ERRORS = (asyncssh.ConnectionLost, asyncssh.DisconnectError, ConnectionError, BrokenPipeError, EOFError)


class _Client(asyncssh.SSHClient):
    def __init__(self, session: "SshSession") -> None:
        self._session = session

    def connection_lost(self, exc: Exception | None) -> None:
        self._session._connection_lost(self)


class _SshForward(Forward):
    def __init__(self, path: str, listener: asyncssh.SSHListener, tmpdir: str) -> None:
        self.path = path
        self._listener = listener
        self._tmpdir = tmpdir

    async def close(self) -> None:
        self._listener.close()
        try:
            await asyncio.wait_for(self._listener.wait_closed(), 2)
        except (asyncio.TimeoutError, *_LINK_ERRORS):
            pass
        shutil.rmtree(self._tmpdir, ignore_errors=True)


class SshSession(Session):
    def __init__(self, spec: HostSpec, ssh: SshOptions | None = None, *, connect_timeout: float = 10.0,
                 keepalive_interval: float = 15.0, max_channels: int = DEFAULT_MAX_CHANNELS) -> None:
        self.host = spec.name
        self.spec = spec
        self.ssh = ssh or SshOptions()
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive_interval
        self._conn: asyncssh.SSHClientConnection | None = None
        self._client: _Client | None = None
        self._lock = asyncio.Lock()
        self._channels = asyncio.Semaphore(max_channels)

    # -- connection ---------------------------------------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "connect_timeout": self._connect_timeout,
            "keepalive_interval": self._keepalive,
            "keepalive_count_max": 3,
        }
        if self.spec.port is not None:
            kw["port"] = self.spec.port
        if self.spec.user is not None:
            kw["username"] = self.spec.user
        if self.ssh.config is not None:
            kw["config"] = list(self.ssh.config)
        if self.ssh.known_hosts is not None:
            kw["known_hosts"] = self.ssh.known_hosts
        if self.spec.identity_file is not None:
            kw["client_keys"] = [self.spec.identity_file]
        return kw

    @property
    def connected(self) -> bool:
        return self._conn is not None

    async def connect(self) -> None:
        await self._ensure()

    async def _ensure(self) -> asyncssh.SSHClientConnection:
        conn = self._conn
        if conn is not None:
            return conn
        async with self._lock:
            if self._conn is not None:
                return self._conn
            client = _Client(self)
            try:
                conn = await asyncssh.connect(self.spec.address, client_factory=lambda: client,
                                              **self._connect_kwargs())
            except asyncssh.HostKeyNotVerifiable as exc:
                raise await self._host_key_problem(exc) from None
            except asyncssh.PermissionDenied as exc:
                raise AuthFailed(f"{self._where()}: {exc.reason or 'permission denied'} "
                                 "(check the user, the key and the SSH agent)") from None
            except asyncio.TimeoutError:
                raise HostUnreachable(f"{self._where()}: no answer within {self._connect_timeout:g}s") from None
            except (OSError, asyncssh.Error, ValueError) as exc:
                raise HostUnreachable(f"{self._where()}: {_describe(exc)}") from None
            self._conn, self._client = conn, client
            return conn

    def _connection_lost(self, client: _Client) -> None:
        if self._client is client:
            self._conn = None
            self._client = None

    def _drop(self, conn: asyncssh.SSHClientConnection) -> None:
        if self._conn is conn:
            self._conn = None
            self._client = None
        conn.abort()

    async def close(self) -> None:
        conn, self._conn, self._client = self._conn, None, None
        if conn is not None:
            conn.close()
            try:
                await asyncio.wait_for(conn.wait_closed(), 2)
            except (asyncio.TimeoutError, *_LINK_ERRORS):
                pass

    def _where(self) -> str:
        port = f":{self.spec.port}" if self.spec.port else ""
        return f"{self.spec.address}{port}"

    # -- host keys ----------------------------------------------------------------------------------

    def _options(self) -> asyncssh.SSHClientConnectionOptions:
        kw = self._connect_kwargs()
        kw.pop("client_keys", None)  # not needed to resolve names, and must not prompt for passphrases
        return asyncssh.SSHClientConnectionOptions(host=self.spec.address, **kw)

    def known_hosts_files(self) -> list[str]:
        """Where this host's keys are looked up; the first is the one `trust_host_key` appends to."""
        known = self._options().known_hosts
        if isinstance(known, str):
            return [os.path.expanduser(known)]
        if isinstance(known, (list, tuple)) and known and all(isinstance(k, str) for k in known):
            return [os.path.expanduser(k) for k in known]
        return [os.path.expanduser("~/.ssh/known_hosts")]

    def known_hosts_pattern(self) -> str:
        options = self._options()
        name = options.host_key_alias or options.host
        return name if options.port in (22, None) else f"[{name}]:{options.port}"

    async def _host_key_problem(self, exc: asyncssh.HostKeyNotVerifiable) -> HostKeyProblem:
        """Say which key failed and what to do, fetching the server's key to show its fingerprint."""
        files = self.known_hosts_files()
        kw: dict[str, Any] = {}
        if self.ssh.config is not None:
            kw["config"] = list(self.ssh.config)
        key: asyncssh.SSHKey | None = None
        try:
            key = await asyncio.wait_for(
                asyncssh.get_server_host_key(self.spec.address, self.spec.port or (), **kw),
                self._connect_timeout)
        except (OSError, asyncssh.Error, asyncio.TimeoutError):
            key = None
        options = self._options()
        trusted: list[asyncssh.SSHKey] = []
        for path in files:
            try:
                trusted += asyncssh.read_known_hosts(path).match(
                    options.host_key_alias or options.host, "", options.port if options.port != 22 else None)[0]
            except (OSError, ValueError):
                continue
        pattern = self.known_hosts_pattern()
        fingerprint = key.get_fingerprint("sha256") if key is not None else None
        details = dict(host=self.host, address=self.spec.address, port=options.port or 22,
                       fingerprint=fingerprint, known_hosts=files[0], pattern=pattern)
        reason = exc.reason or "host key not trusted"
        jump = options.tunnel if isinstance(options.tunnel, str) else None
        if key is None:
            where = (f"; the connection goes through the jump host {jump} (ProxyJump), whose key is checked "
                     "against the known_hosts file your ssh config names for it" if jump else
                     "; the server's key could not be fetched to show its fingerprint")
            return HostKeyProblem(f"{self._where()}: {reason}{where}", key_line=None, **details)
        key_line = key.export_public_key("openssh").decode().strip()
        if any(k.public_data == key.public_data for k in trusted):
            # this host's key is trusted: the key that failed is a jump host's (ProxyJump), checked
            # against the known_hosts that the ssh config names for that hop
            return HostKeyProblem(
                f"{self._where()}: {reason} — a jump host (ProxyJump) on the way is not trusted; add its "
                "key to the known_hosts file your ssh config uses for it (ssh -J shows and asks)",
                key_line=None, **details)
        if trusted:
            return HostKeyChanged(
                f"{self._where()}: the host key does NOT match the one in known_hosts ({fingerprint}). "
                f"Someone may be intercepting the connection; if the host was reinstalled, remove its old "
                f"line with: ssh-keygen -R {shlex.quote(pattern)} -f {shlex.quote(files[0])}",
                key_line=key_line, **details)
        return HostKeyUnknown(
            f"{self._where()}: unknown host key {fingerprint}. Check it with the host's administrator, then "
            f"trust it with: hvdeck trust {shlex.quote(self.host)}", key_line=key_line, **details)

    # -- commands -----------------------------------------------------------------------------------

    async def run(self, argv: Sequence[str], *, input: str | None = None, check: bool = True,
                  timeout: float | None = 60.0, idempotent: bool = True) -> Result:
        args = argv_tuple(argv)
        command = shlex.join(args)
        attempts = 2 if idempotent else 1
        for attempt in range(attempts):
            conn = await self._ensure()
            try:
                async with self._channels:
                    # no input: stdin is /dev/null (like ssh -n), so a command that reads it ends
                    stdin = {"input": input} if input is not None else {"stdin": asyncssh.DEVNULL}
                    done = await conn.run(command, check=False, timeout=timeout, encoding="utf-8",
                                          errors="replace", **stdin)
            except asyncssh.TimeoutError:
                raise HostUnreachable(f"{self._where()}: {command}: no answer within {timeout:g}s") from None
            except asyncssh.ChannelOpenError as exc:
                if not conn.is_closed():
                    raise HostUnreachable(f"{self._where()}: the server refused a channel: {exc.reason}") \
                        from None
                lost: BaseException = exc
            except _LINK_ERRORS as exc:
                lost = exc
            else:
                lost = None
            if lost is not None:
                self._drop(conn)
                if attempt + 1 < attempts:
                    continue
                raise ConnectionLost(f"{self._where()}: connection lost during {command}: {_describe(lost)}")
            if done.exit_status is None and done.exit_signal is None:
                # the channel closed without an exit status: the link went away under us
                self._drop(conn)
                if attempt + 1 < attempts:
                    continue
                raise ConnectionLost(f"{self._where()}: connection lost during {command}")
            status = done.exit_status if done.exit_status is not None else -1
            result = Result(args, status, _text(done.stdout), _text(done.stderr))
            return result.check() if check else result
        raise AssertionError("unreachable")

    async def stream(self, argv: Sequence[str]) -> AsyncIterator[str]:
        args = argv_tuple(argv)
        conn = await self._ensure()
        async with self._channels:
            try:
                process = await conn.create_process(shlex.join(args), encoding="utf-8", errors="replace",
                                                    stdin=asyncssh.DEVNULL)
            except asyncssh.ChannelOpenError as exc:
                if conn.is_closed():
                    self._drop(conn)
                    raise ConnectionLost(f"{self._where()}: {_describe(exc)}") from None
                raise HostUnreachable(f"{self._where()}: the server refused a channel: {exc.reason}") from None
            except _LINK_ERRORS as exc:
                self._drop(conn)
                raise ConnectionLost(f"{self._where()}: {_describe(exc)}") from None
            try:
                while line := await process.stdout.readline():
                    yield line.rstrip("\n")
            except _LINK_ERRORS as exc:
                self._drop(conn)
                raise ConnectionLost(f"{self._where()}: stream ended: {_describe(exc)}") from None
            finally:
                process.close()

    async def forward_unix(self, remote_path: str) -> Forward:
        conn = await self._ensure()
        tmpdir = tempfile.mkdtemp(prefix="hvdeck-fwd-")
        os.chmod(tmpdir, 0o700)
        path = os.path.join(tmpdir, "sock")
        try:
            listener = await conn.forward_local_path(path, remote_path)
        except (OSError, asyncssh.Error) as exc:
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise HostUnreachable(f"{self._where()}: cannot forward {remote_path}: {_describe(exc)}") from None
        return _SshForward(path, listener, tmpdir)


def trust_host_key(known_hosts: str, pattern: str, key_line: str) -> None:
    """Append ``pattern key`` to a known_hosts file. Only ever called after the user said yes."""
    path = Path(known_hosts).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    existing = path.read_text() if path.exists() else ""
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{prefix}{pattern} {key_line}\n")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = reason or str(exc) or type(exc).__name__
    return text.strip()
