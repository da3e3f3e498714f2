"""The Session protocol: how a backend talks to its control host.

A session runs argv lists (joined with `shlex.join` where a shell is involved, never formatted by
hand), streams a long-running command's lines, and forwards a local unix socket to a socket on the
host. `SshSession` does it over one multiplexed asyncssh connection; `LocalSession` on this machine.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from ..errors import CommandFailed


@dataclass(frozen=True, slots=True)
class Result:
    argv: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def check(self) -> "Result":
        if self.exit_status != 0:
            raise CommandFailed(self.argv, self.exit_status, self.stderr)
        return self


class Forward(abc.ABC):
    """A local unix socket that reaches a socket on the host. ``path`` is where to connect locally."""

    path: str

    @abc.abstractmethod
    async def close(self) -> None: ...


class Session(abc.ABC):
    """One control host's command channel. Subclasses translate their library's errors into
    `hvdeck.backends.errors` at this boundary."""

    #: the inventory name, for messages
    host: str

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the connection now (it is otherwise opened lazily by the first command)."""

    @abc.abstractmethod
    async def run(self, argv: Sequence[str], *, input: str | None = None, check: bool = True,
                  timeout: float | None = 60.0, idempotent: bool = True) -> Result:
        """Run one command. ``idempotent`` commands may be retried once over a fresh connection
        when the link dropped under them; commands that change the host never are."""

    @abc.abstractmethod
    def stream(self, argv: Sequence[str]) -> AsyncIterator[str]:
        """Yield a long-running command's stdout line by line (e.g. ``xentop -b -d 2``)."""

    @abc.abstractmethod
    async def forward_unix(self, remote_path: str) -> Forward:
        """Make ``remote_path`` (a unix socket on the host) reachable at a local path."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @property
    @abc.abstractmethod
    def connected(self) -> bool: ...


def argv_tuple(argv: Sequence[str]) -> tuple[str, ...]:
    """Check that a command is a list of strings (a str here is a bug: it would be split by letters)."""
    if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
        raise TypeError(f"a command must be a non-empty list of strings, not {argv!r}")
    return tuple(argv)
