"""SSH sessions: one multiplexed asyncssh connection per control host.

Honours the user's SSH setup (``~/.ssh/config`` with User, Port, IdentityFile, ProxyJump, ProxyCommand,
``Match``; the agent) but never weakens hvdeck's own rule: **no command runs on a host whose key is not
trusted**, whatever the config says. hvdeck therefore decides the known_hosts files itself (the
inventory's ``ssh.known_hosts``, else the config's UserKnownHostsFile, else ``~/.ssh/known_hosts``; a
config that says ``UserKnownHostsFile none`` does not turn checking off), reads them once into a parsed
object (re-read only when a file changes), and opens ProxyJump hops itself so that every hop is checked
against them too. An unknown key raises `HostKeyUnknown` with the key's SHA256 fingerprint; a changed
key `HostKeyChanged` naming both fingerprints; a key marked ``@revoked`` `HostKeyRevoked`. Only
`trust_host_key`, called on an explicit yes, writes to known_hosts.

asyncssh exceptions are translated here and nowhere else.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from ..errors import (
    AuthFailed,
    ConnectionLost,
    HostKeyChanged,
    HostKeyProblem,
    HostKeyRevoked,
    HostKeyUnknown,
    HostUnreachable,
    SshConfigError,
)
from ..inventory import HostSpec, SshOptions
from .base import (
    DEFAULT_COMMAND_CHANNELS,
    DEFAULT_LONG_CHANNELS,
    DEFAULT_OUTPUT_LIMIT,
    STDERR_LIMIT,
    BoundedReader,
    Channel,
    ChannelLineStream,
    CommandTimeout,
    Forward,
    LineStream,
    OutputBudget,
    OutputCallback,
    Result,
    Session,
    Slots,
    argv_tuple,
    as_bytes,
    command_line,
    pump,
)

_LINK_ERRORS = (asyncssh.ConnectionLost, asyncssh.DisconnectError, ConnectionError, BrokenPipeError, EOFError)
DEFAULT_KNOWN_HOSTS = ("~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts")
#: asyncssh's cipher list with AES-GCM moved first, used when the user's ssh config names no ``Ciphers``:
#: OpenSSH (and asyncssh) prefer chacha20-poly1305, which asyncssh runs as two cipher calls and a MAC per
#: packet in Python; AES-GCM is one call in OpenSSL (AES-NI). A fleet refresh spent ~15% of its CPU there.
PREFERRED_CIPHERS = "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"


class _Lost(Exception):
    """The link dropped under a command (internal: turned into a retry or `ConnectionLost`)."""


# --- known_hosts: read once, parsed, re-read when a file changes ------------------------------------


@dataclass(frozen=True, slots=True)
class KnownHosts:
    """The known_hosts files that decide whether a host is trusted, and a note for messages."""

    files: tuple[str, ...]
    #: why these files (said in host-key messages), e.g. that the ssh config asked for none
    note: str = ""

    @property
    def writable(self) -> str:
        """Where `trust_host_key` appends: the first file."""
        return self.files[0]

    def parsed(self) -> asyncssh.SSHKnownHosts:
        return _parsed_known_hosts(self.files)


_KNOWN_CACHE: dict[tuple[str, ...], tuple[tuple[tuple[int, int], ...], asyncssh.SSHKnownHosts]] = {}


def _parsed_known_hosts(files: tuple[str, ...]) -> asyncssh.SSHKnownHosts:
    """All ``files`` as one parsed object, cached until one of them changes (size or mtime)."""
    stamps = []
    for path in files:
        try:
            st = os.stat(path)
            stamps.append((st.st_mtime_ns, st.st_size))
        except OSError:
            stamps.append((0, -1))
    key = tuple(stamps)
    cached = _KNOWN_CACHE.get(files)
    if cached is not None and cached[0] == key:
        return cached[1]
    texts = []
    for path in files:
        try:
            texts.append(Path(path).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    try:
        parsed = asyncssh.import_known_hosts("\n".join(texts))
    except (ValueError, asyncssh.KeyImportError) as exc:
        raise SshConfigError(f"known_hosts ({', '.join(files)}): cannot be read: {exc}") from None
    _KNOWN_CACHE[files] = (key, parsed)
    return parsed


_IDENTITY_CACHE: dict[str, tuple[tuple[bytes, bytes | None], Sequence[asyncssh.SSHKeyPair]]] = {}


def _identity(path: str) -> Sequence[asyncssh.SSHKeyPair] | list[str]:
    """The inventory's ``identity_file`` (and the ``-cert.pub`` beside it) decoded once per content, not
    once per connection: asyncssh would read and decode it for every host, which at fleet size is a good
    part of a refresh's CPU (reading the bytes to compare is cheap). A key it cannot load here (a
    passphrase, a file gone since `_target_kwargs` checked it) is left to asyncssh as a path, so that its
    own error reaches the user."""
    full = os.path.expanduser(path)
    try:
        key = Path(full).read_bytes()
        try:
            cert: bytes | None = Path(f"{full}-cert.pub").read_bytes()
        except FileNotFoundError:
            cert = None
        cached = _IDENTITY_CACHE.get(full)
        if cached is not None and cached[0] == (key, cert):
            return cached[1]
        keys = asyncssh.load_keypairs([full])
    except (OSError, ValueError, asyncssh.KeyImportError, asyncssh.KeyEncryptionError):
        return [path]
    _IDENTITY_CACHE[full] = ((key, cert), keys)
    return keys


# --- the session ----------------------------------------------------------------------------------------


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
        except (TimeoutError, *_LINK_ERRORS):
            pass
        shutil.rmtree(self._tmpdir, ignore_errors=True)


class SshSession(Session):
    """One host's connection over SSH (see the module docstring). ``command_channels`` and
    ``long_channels`` are the per-host budgets for short commands and for streams/PTYs/transfers;
    ``output_limit`` caps one command's stdout in bytes."""

    def __init__(self, spec: HostSpec, ssh: SshOptions | None = None, *, connect_timeout: float = 10.0,
                 keepalive_interval: float = 15.0, command_channels: int = DEFAULT_COMMAND_CHANNELS,
                 long_channels: int = DEFAULT_LONG_CHANNELS, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        super().__init__()
        self.host = spec.name
        self.spec = spec
        self.ssh = ssh or SshOptions()
        self.output_limit = output_limit
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive_interval
        self._conn: asyncssh.SSHClientConnection | None = None
        self._hops: list[asyncssh.SSHClientConnection] = []
        self._client: _Client | None = None
        self._lock = asyncio.Lock()
        self.commands = Slots(command_channels, "command")
        self.long = Slots(long_channels, "long-lived")
        self._budget = OutputBudget(self.host, max(output_limit * 4, 64 * 1024 * 1024))
        self._channels: set[_SshChannel] = set()

    # -- options ----------------------------------------------------------------------------------------

    def _base_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"connect_timeout": self._connect_timeout,
                              "keepalive_interval": self._keepalive, "keepalive_count_max": 3}
        if self.ssh.config is not None:
            kw["config"] = list(self.ssh.config)
        return kw

    def _options(self, host: str, **kw: Any) -> asyncssh.SSHClientConnectionOptions:
        """asyncssh's options for ``host`` (config applied). A config asyncssh cannot use is an error
        naming the file, never a host that is down."""
        try:
            return asyncssh.SSHClientConnectionOptions(host=host, **self._base_kwargs(), **kw)
        except (asyncssh.config.ConfigParseError, ValueError, OSError) as exc:
            where = ", ".join(self.ssh.config) if self.ssh.config else "~/.ssh/config"
            raise SshConfigError(f"{self.host}: the SSH config ({where}) cannot be used: {exc}") from None

    def _target_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if self.spec.port is not None:
            kw["port"] = self.spec.port
        if self.spec.user is not None:
            kw["username"] = self.spec.user
        if self.spec.identity_file is not None:
            path = os.path.expanduser(self.spec.identity_file)
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:  # said as what it is, not as an SSH config that cannot be used
                raise SshConfigError(f"the inventory's identity_file {self.spec.identity_file} cannot be read: "
                                     f"{exc.strerror or exc}") from None
            kw["client_keys"] = _identity(self.spec.identity_file)
        return kw

    def known_hosts(self, host: str | None = None, *, inventory_wins: bool = True,
                    options: asyncssh.SSHClientConnectionOptions | None = None) -> KnownHosts:
        """The known_hosts files for ``host`` (default: this session's address; ``options``: that host's
        options when already read). The inventory's ``ssh.known_hosts`` wins for the target; a ProxyJump
        hop uses its own config entry first."""
        inventory = (os.path.expanduser(self.ssh.known_hosts),) if self.ssh.known_hosts else None
        if inventory is not None and inventory_wins:
            return KnownHosts(inventory)
        configured = (options or self._options(host or self.spec.address)).known_hosts
        default = inventory or tuple(os.path.expanduser(f) for f in DEFAULT_KNOWN_HOSTS)
        if configured is None:
            return KnownHosts(default, "your ssh config sets UserKnownHostsFile none, which would turn host-key "
                                       "checks off; hvdeck checks them regardless")
        if isinstance(configured, (list, tuple)) and configured and all(isinstance(k, str) for k in configured):
            return KnownHosts(tuple(os.path.expanduser(k) for k in configured))
        return KnownHosts(default)

    def known_hosts_files(self) -> list[str]:
        """Where this host's keys are looked up; the first is the one `trust_host_key` appends to."""
        return list(self.known_hosts().files)

    def known_hosts_pattern(self) -> str:
        options = self._options(self.spec.address, **self._target_kwargs())
        name = options.host_key_alias or options.host
        return name if options.port in (22, None) else f"[{name}]:{options.port}"

    # -- connection ---------------------------------------------------------------------------------

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
            # the config is read once here (asyncssh reads it again in connect): a config it cannot use
            # is an SshConfigError, never a host that is down
            target = self._target_kwargs()
            options = self._options(self.spec.address, **target)
            hops = await self._open_hops(options.tunnel)
            known = self.known_hosts(options=options)
            client = _Client(self)
            extra: dict[str, Any] = dict(target, known_hosts=known.parsed())
            if hops:
                extra["tunnel"] = hops[-1]
            if not options.config.get("Ciphers"):
                extra["encryption_algs"] = PREFERRED_CIPHERS
            try:
                conn = await asyncssh.connect(self.spec.address, client_factory=lambda: client,
                                              **self._base_kwargs(), **extra)
            except asyncssh.HostKeyNotVerifiable as exc:
                await self._close_hops(hops)
                raise await self._host_key_problem(exc, known, hops[-1] if hops else None) from None
            except BaseException as exc:  # noqa: BLE001 - translated and raised again
                await self._close_hops(hops)
                raise self._translate_connect_error(exc, self._where()) from None
            self._conn, self._client, self._hops = conn, client, hops
            return conn

    def _translate_connect_error(self, exc: BaseException, where: str) -> BaseException:
        if isinstance(exc, asyncssh.PermissionDenied):
            return AuthFailed(f"{where}: {exc.reason or 'permission denied'} "
                              "(check the user, the key and the SSH agent)")
        if isinstance(exc, asyncio.TimeoutError):
            return HostUnreachable(f"{where}: no answer within {self._connect_timeout:g}s")
        if isinstance(exc, asyncssh.config.ConfigParseError):
            return SshConfigError(f"{self.host}: the SSH config cannot be used: {exc}")
        if isinstance(exc, (OSError, asyncssh.Error, ValueError)):
            return HostUnreachable(f"{where}: {_describe(exc)}")
        return exc

    async def _open_hops(self, jump: object) -> list[asyncssh.SSHClientConnection]:
        """Open the ProxyJump chain ``jump`` (the host's ``tunnel`` option, as the config names it), each
        hop checked against hvdeck's known_hosts (asyncssh would check hops only as the config says)."""
        if not isinstance(jump, str) or not jump or jump.lower() == "none":
            return []
        hops: list[asyncssh.SSHClientConnection] = []
        for hop in jump.split(","):
            user, _, hostport = hop.rpartition("@")
            host, port = hostport, None
            if ":" in hostport and not hostport.endswith("]"):
                host, _, port_text = hostport.rpartition(":")
                port = int(port_text) if port_text.isdigit() else None
            known = self.known_hosts(host, inventory_wins=False)
            kw: dict[str, Any] = {"known_hosts": known.parsed()}
            if user:
                kw["username"] = user
            if port is not None:
                kw["port"] = port
            if hops:
                kw["tunnel"] = hops[-1]
            options = self._options(host, **kw)
            try:
                hops.append(await asyncssh.connect(host, **self._base_kwargs(), **kw))
            except asyncssh.HostKeyNotVerifiable as exc:
                problem = await self._jump_key_problem(exc, host, options, known, hops[-1] if hops else None)
                await self._close_hops(hops)
                raise problem from None
            except BaseException as exc:  # noqa: BLE001 - translated and raised again
                await self._close_hops(hops)
                raise self._translate_connect_error(exc, f"jump host {host} (ProxyJump for {self._where()})") \
                    from None
        return hops

    @staticmethod
    async def _close_hops(hops: list[asyncssh.SSHClientConnection]) -> None:
        for hop in reversed(hops):
            hop.abort()

    def _connection_lost(self, client: _Client) -> None:
        if self._client is client:
            self._conn = None
            self._client = None
            hops, self._hops = self._hops, []
            for hop in hops:
                hop.abort()
            self._link_lost()

    def _drop(self, conn: asyncssh.SSHClientConnection) -> None:
        """The link under ``conn`` is gone: forget it (the next use reconnects) and tell every user."""
        if self._conn is conn:
            self._conn = None
            self._client = None
            hops, self._hops = self._hops, []
            for hop in hops:
                hop.abort()
            self._link_lost()
        conn.abort()

    async def close(self) -> None:
        for channel in list(self._channels):
            await channel.close()
        conn, self._conn, self._client = self._conn, None, None
        hops, self._hops = self._hops, []
        if conn is not None:
            conn.close()
            try:
                await asyncio.wait_for(conn.wait_closed(), 2)
            except (TimeoutError, *_LINK_ERRORS):
                pass
        await self._close_hops(hops)

    def _where(self) -> str:
        port = f":{self.spec.port}" if self.spec.port else ""
        return f"{self.spec.address}{port}"

    # -- host keys ----------------------------------------------------------------------------------

    async def _server_key(self, host: str, port: int | None,
                          tunnel: asyncssh.SSHClientConnection | None) -> asyncssh.SSHKey | None:
        kw: dict[str, Any] = {}
        if self.ssh.config is not None:
            kw["config"] = list(self.ssh.config)
        if tunnel is not None:
            kw["tunnel"] = tunnel
        try:
            return await asyncio.wait_for(asyncssh.get_server_host_key(host, port or (), **kw),
                                          self._connect_timeout)
        except (TimeoutError, OSError, asyncssh.Error, ValueError):
            return None

    @staticmethod
    def _matching(known: KnownHosts, host: str, port: int | None) -> tuple[list[asyncssh.SSHKey], list[asyncssh.SSHKey]]:
        """(keys known_hosts trusts for this host, keys it marks @revoked anywhere). A revoked key is refused
        whatever host pattern its line has (asyncssh's own `match` drops the revoked list when it retries
        without the port)."""
        match = known.parsed().match(host, "", port if port not in (22, None) else None)
        return list(match[0]), _revoked_keys(known.files)

    async def _host_key_problem(self, exc: asyncssh.HostKeyNotVerifiable, known: KnownHosts,
                                tunnel: asyncssh.SSHClientConnection | None) -> HostKeyProblem:
        """Say which key failed and what to do, fetching the server's key to show its fingerprint."""
        options = self._options(self.spec.address, **self._target_kwargs())
        key = await self._server_key(options.host, options.port, tunnel)
        trusted, revoked = self._matching(known, options.host_key_alias or options.host, options.port)
        pattern = self.known_hosts_pattern()
        fingerprint = key.get_fingerprint("sha256") if key is not None else None
        details: dict[str, Any] = dict(host=self.host, address=self.spec.address, port=options.port or 22,
                                       fingerprint=fingerprint, known_hosts=known.writable, pattern=pattern,
                                       known_fingerprints=tuple(k.get_fingerprint("sha256") for k in trusted))
        reason = exc.reason or "host key not trusted"
        note = f" ({known.note})" if known.note else ""
        if key is None:
            return HostKeyProblem(f"{self._where()}: {reason}; the server's key could not be fetched to show "
                                  f"its fingerprint{note}", key_line=None, **details)
        key_line = key.export_public_key("openssh").decode().strip()
        if any(k.public_data == key.public_data for k in revoked):
            return HostKeyRevoked(
                f"{self._where()}: the host key {fingerprint} is marked @revoked in {', '.join(known.files)}; "
                "hvdeck will not connect with it", key_line=None, **details)
        if trusted and not any(k.public_data == key.public_data for k in trusted):
            known_fps = ", ".join(details["known_fingerprints"])
            return HostKeyChanged(
                f"{self._where()}: the host key does NOT match known_hosts: the host offered {fingerprint}, "
                f"known_hosts has {known_fps}. Someone may be intercepting the connection; if the host was "
                f"reinstalled, remove its old line with: ssh-keygen -R {shlex.quote(pattern)} "
                f"-f {shlex.quote(known.writable)}", key_line=key_line, **details)
        if trusted:
            return HostKeyProblem(f"{self._where()}: {reason}{note}", key_line=None, **details)
        return HostKeyUnknown(
            f"{self._where()}: unknown host key {fingerprint}{note}. Check it with the host's administrator, "
            f"then trust it with: hvdeck trust {shlex.quote(self.host)}{self._inventory_flag()}", key_line=key_line,
            **details)

    def _inventory_flag(self) -> str:
        """`` --inventory FILE`` when the hosts came from a file other than the default inventory."""
        return f" --inventory {shlex.quote(self.ssh.inventory)}" if self.ssh.inventory else ""

    async def _jump_key_problem(self, exc: asyncssh.HostKeyNotVerifiable, host: str,
                                options: asyncssh.SSHClientConnectionOptions, known: KnownHosts,
                                tunnel: asyncssh.SSHClientConnection | None) -> HostKeyProblem:
        key = await self._server_key(options.host, options.port, tunnel)
        fingerprint = key.get_fingerprint("sha256") if key is not None else None
        trusted, revoked = self._matching(known, options.host_key_alias or options.host, options.port)
        what = ("is marked @revoked" if key is not None and any(k.public_data == key.public_data for k in revoked)
                else "does NOT match known_hosts" if trusted else "is not trusted")
        return HostKeyProblem(
            f"{self._where()}: the jump host {host} (ProxyJump) on the way {what} "
            f"(it offered {fingerprint or 'a key that could not be fetched'}); add its key to "
            f"{known.writable} (ssh -J shows and asks) — no command runs until every hop is trusted",
            host=self.host, address=self.spec.address, port=self.spec.port or 22, fingerprint=fingerprint,
            key_line=None, known_hosts=known.writable, pattern=self.known_hosts_pattern(),
            known_fingerprints=tuple(k.get_fingerprint("sha256") for k in trusted))

    # -- commands -----------------------------------------------------------------------------------

    async def run(self, argv: Sequence[str], *, input: str | bytes | None = None, check: bool = True,
                  timeout: float | None = 60.0, idempotent: bool = True, limit: int | None = None,
                  on_output: OutputCallback | None = None) -> Result:
        args = argv_tuple(argv)
        command = command_line(args)
        attempts = 2 if idempotent else 1
        for attempt in range(attempts):
            conn = await self._ensure()
            try:
                async with self.commands.take(self.host, command):
                    result = await self._run_once(conn, args, command, input, timeout, limit, on_output)
            except _Lost as lost:
                self._drop(conn)
                if attempt + 1 < attempts:
                    continue
                raise ConnectionLost(f"{self._where()}: connection lost during {command}"
                                     f"{': ' + str(lost) if str(lost) else ''}") from None
            return result.check() if check else result
        raise AssertionError("unreachable")

    async def _run_once(self, conn: asyncssh.SSHClientConnection, args: tuple[str, ...], command: str,
                        input: str | bytes | None, timeout: float | None, limit: int | None,
                        on_output: OutputCallback | None) -> Result:
        process = await self._create(conn, command, stdin=asyncssh.PIPE if input is not None else asyncssh.DEVNULL)
        out = BoundedReader(args, "stdout", limit or self.output_limit, self._budget, on_output)
        err = BoundedReader(args, "stderr", STDERR_LIMIT, None, on_output, keep_tail=True)
        try:
            async with asyncio.timeout(timeout):
                if input is not None:
                    process.stdin.write(as_bytes(input))
                    process.stdin.write_eof()
                await pump(((process.stdout, out), (process.stderr, err)))
                await process.wait_closed()
        except TimeoutError:
            raise CommandTimeout(f"{self._where()}: {command}: no answer within {timeout:g}s") from None
        except _LINK_ERRORS as exc:
            raise _Lost(_describe(exc)) from None
        finally:
            process.close()
            out.release()
        if process.exit_status is None and process.exit_signal is None:
            raise _Lost("the channel closed without an exit status")
        status = process.exit_status if process.exit_status is not None else -1
        return Result(args, status, out.text(), err.text())

    async def _create(self, conn: asyncssh.SSHClientConnection, command: str, **kw: Any) -> asyncssh.SSHClientProcess:
        try:
            return await conn.create_process(command, encoding=None, **kw)
        except asyncssh.ChannelOpenError as exc:
            if conn.is_closed():
                raise _Lost(_describe(exc)) from None
            raise HostUnreachable(f"{self._where()}: the server refused a channel: {exc.reason}") from None
        except _LINK_ERRORS as exc:
            raise _Lost(_describe(exc)) from None

    def stream(self, argv: Sequence[str]) -> LineStream:
        args = argv_tuple(argv)
        return ChannelLineStream(args, lambda: self.open_process(args))

    async def open_pty(self, argv: Sequence[str], *, term: str = "xterm-256color", cols: int = 80,
                       rows: int = 24) -> Channel:
        return await self._open_channel(argv_tuple(argv), term_type=term, term_size=(cols, rows))

    async def open_process(self, argv: Sequence[str]) -> Channel:
        return await self._open_channel(argv_tuple(argv))

    async def _open_channel(self, args: tuple[str, ...], **kw: Any) -> "_SshChannel":
        command = command_line(args)
        await self.long.acquire(self.host, command)
        try:
            conn = await self._ensure()
            try:
                process = await self._create(conn, command, **kw)
            except _Lost as lost:
                self._drop(conn)
                raise ConnectionLost(f"{self._where()}: connection lost opening {command}: {lost}") from None
        except BaseException:
            self.long.release()
            raise
        channel = _SshChannel(self, conn, process, args, pty="term_type" in kw)
        self._channels.add(channel)
        return channel

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


class _SshChannel(Channel):
    def __init__(self, session: SshSession, conn: asyncssh.SSHClientConnection,
                 process: asyncssh.SSHClientProcess, argv: tuple[str, ...], *, pty: bool) -> None:
        self.argv = argv
        self._session = session
        self._conn = conn
        self._process = process
        self._closed = False
        self._stderr = BoundedReader(argv, "stderr", STDERR_LIMIT, None, None, keep_tail=True)
        self._stderr_task = None if pty else asyncio.ensure_future(self._read_stderr())

    async def _read_stderr(self) -> None:
        try:
            await pump(((self._process.stderr, self._stderr),))
        except (*_LINK_ERRORS, asyncssh.Error):
            pass

    def _lost(self) -> bool:
        return self._conn.is_closed() and self._process.exit_status is None and self._process.exit_signal is None

    async def read(self, size: int = 65536) -> bytes:
        try:
            data = await self._process.stdout.read(size)
        except _LINK_ERRORS as exc:
            raise ConnectionLost(f"{self._session.host}: link lost: {_describe(exc)}") from None
        if not data and self._lost():
            raise ConnectionLost(f"{self._session.host}: link lost")
        return data

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            self._process.stdin.write(data)
        except _LINK_ERRORS:
            pass  # the next read says the link is lost

    async def drain(self) -> None:
        try:
            await self._process.stdin.drain()
        except _LINK_ERRORS as exc:
            raise ConnectionLost(f"{self._session.host}: link lost: {_describe(exc)}") from None

    def write_eof(self) -> None:
        try:
            self._process.stdin.write_eof()
        except (*_LINK_ERRORS, OSError):
            pass

    def resize(self, cols: int, rows: int) -> None:
        try:
            self._process.change_terminal_size(cols, rows)
        except (*_LINK_ERRORS, OSError, asyncssh.Error):
            pass

    async def wait(self) -> int | None:
        try:
            await self._process.wait_closed()
        except _LINK_ERRORS:
            return None
        if self._stderr_task is not None:
            await asyncio.gather(self._stderr_task, return_exceptions=True)
        return self._process.exit_status

    @property
    def stderr_tail(self) -> str:
        return self._stderr.text()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._process.close()
        if self._stderr_task is not None:
            self._stderr_task.cancel()
        self._session._channels.discard(self)
        self._session.long.release()


def _revoked_keys(files: tuple[str, ...]) -> list[asyncssh.SSHKey]:
    keys = []
    for path in files:
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) >= 4 and fields[0] == "@revoked":
                try:
                    keys.append(asyncssh.import_public_key(" ".join(fields[2:4])))
                except (ValueError, asyncssh.KeyImportError):
                    continue
    return keys


def trust_host_key(known_hosts: str, pattern: str, key_line: str) -> None:
    """Append ``pattern key`` to a known_hosts file. Only ever called after the user said yes."""
    path = Path(known_hosts).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    existing = path.read_text() if path.exists() else ""
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{prefix}{pattern} {key_line}\n")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    reason = getattr(exc, "reason", None)
    text = reason or str(exc) or type(exc).__name__
    return text.strip()
