"""The small hierarchy of failures the UI knows how to show.

Transports translate asyncssh/OS/libvirt exceptions into these at their boundary, so nothing above
`backends.transport` ever catches a library's own exception type.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import KeyProblem


class HvdeckError(Exception):
    """Base class. ``title`` is a short heading for a notification or a host's status line."""

    title = "Error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.title

    def __reduce__(self) -> tuple[object, ...]:
        # every subclass pickles whatever its __init__ takes (errors cross to and from an engine process)
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[HvdeckError], args: tuple[object, ...], state: dict[str, object]) -> HvdeckError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


def describe(exc: BaseException) -> str:
    """The sentence to show for any failure: our own message, or the type and text of anything else."""
    return exc.message if isinstance(exc, HvdeckError) else f"{type(exc).__name__}: {exc}"


class HostUnreachable(HvdeckError):
    """TCP connect, DNS, timeout, or the link dropped: the host shows as down (or stale)."""

    title = "Host unreachable"


class ConnectionLost(HostUnreachable):
    """An established connection went away under a command; idempotent reads may be retried."""

    title = "Connection lost"


class AuthFailed(HvdeckError):
    title = "Authentication failed"


class HostKeyProblem(HvdeckError):
    """The server's host key is not one known_hosts trusts. Never accepted silently."""

    title = "Host key not trusted"

    def __init__(
        self,
        message: str,
        *,
        host: str,
        address: str,
        port: int,
        fingerprint: str | None,
        key_line: str | None,
        known_hosts: str,
        pattern: str,
        known_fingerprints: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.host = host
        self.address = address
        self.port = port
        self.fingerprint = fingerprint
        #: the public key in OpenSSH form ("ssh-ed25519 AAAA..."), appended on explicit trust
        self.key_line = key_line
        self.known_hosts = known_hosts
        #: the known_hosts host field for this connection: ``name`` or ``[name]:port``
        self.pattern = pattern
        #: the fingerprints known_hosts holds for this host (a changed key names them beside the new one)
        self.known_fingerprints = known_fingerprints


    def snapshot_view(self) -> "KeyProblem":
        """The problem as plain data for a `HostSnapshot` (the console reads nothing else)."""
        from .model import KeyProblem

        kind = {HostKeyUnknown: "unknown", HostKeyChanged: "changed", HostKeyRevoked: "revoked"}.get(
            type(self), "other")
        return KeyProblem(kind=kind, message=self.message, host=self.host, address=self.address, port=self.port,
                          fingerprint=self.fingerprint, key_line=self.key_line, known_hosts=self.known_hosts,
                          pattern=self.pattern, known_fingerprints=self.known_fingerprints)


class HostKeyUnknown(HostKeyProblem):
    title = "Unknown host key"


class HostKeyChanged(HostKeyProblem):
    """known_hosts has a different key for this host: possible man-in-the-middle. Not offered for trust."""

    title = "Host key CHANGED"


class HostKeyRevoked(HostKeyProblem):
    """known_hosts marks this key @revoked. Never offered for trust."""

    title = "Host key REVOKED"


class SshConfigError(HvdeckError):
    """The SSH configuration (ssh config, known_hosts) cannot be used: an error naming the file, not a
    host that is down and retried for ever."""

    title = "SSH configuration unusable"


class CommandFailed(HvdeckError):
    """A command ran and exited non-zero (or a libvirt call raised)."""

    title = "Command failed"

    def __init__(self, argv: Sequence[str] | str, exit_status: int | None, stderr: str) -> None:
        self.argv = argv if isinstance(argv, str) else tuple(argv)
        self.exit_status = exit_status
        self.stderr = stderr
        shown = argv if isinstance(argv, str) else shlex.join(argv)
        detail = stderr.strip() or f"exit status {exit_status}"
        super().__init__(f"{shown}: {detail}")


class ParseError(HvdeckError):
    """Output that does not match the documented format. Names the line so a user can report it."""

    title = "Unexpected output"

    def __init__(self, message: str, *, line_no: int | None = None, line: str | None = None,
                 source: str = "") -> None:
        where = f"{source} line {line_no}" if line_no is not None else source
        text = f"{where}: {message}" if where else message
        if line is not None:
            text += f": {line[:120]!r}"
        super().__init__(text)
        self.line_no = line_no
        self.line = line


class ValidationError(HvdeckError):
    """User input the hypervisor would reject (a bad domain name, a size that does not parse)."""

    title = "Invalid input"


class ReadOnlyRefused(HvdeckError):
    title = "Host is read-only"


class Unsupported(HvdeckError):
    title = "Not supported"


class ConsoleBusy(HvdeckError):
    """Another session holds the console (``who`` names it where the host says)."""

    title = "Console in use"
