"""The `local` transport: the same argv lists, run on this machine (hvdeck on the control domain)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence

from ..errors import HostUnreachable
from .base import Forward, Result, Session, argv_tuple


class _LocalForward(Forward):
    """The socket is already local: nothing to forward."""

    def __init__(self, path: str) -> None:
        self.path = path

    async def close(self) -> None:
        return None


class LocalSession(Session):
    def __init__(self, host: str, *, env: dict[str, str] | None = None) -> None:
        self.host = host
        self._env = env

    @property
    def connected(self) -> bool:
        return True

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def _spawn(self, args: tuple[str, ...], *, stdin: int | None) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *args, stdin=stdin, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=self._env)

    async def run(self, argv: Sequence[str], *, input: str | None = None, check: bool = True,
                  timeout: float | None = 60.0, idempotent: bool = True) -> Result:
        args = argv_tuple(argv)
        try:
            process = await self._spawn(args, stdin=asyncio.subprocess.PIPE if input is not None else
                                        asyncio.subprocess.DEVNULL)
        except FileNotFoundError:
            result = Result(args, 127, "", f"{args[0]}: command not found\n")
            return result.check() if check else result
        except PermissionError as exc:
            result = Result(args, 126, "", f"{args[0]}: {exc.strerror}\n")
            return result.check() if check else result
        try:
            out, err = await asyncio.wait_for(
                process.communicate(input.encode() if input is not None else None), timeout)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
            raise HostUnreachable(f"{args[0]}: no answer within {timeout:g}s") from None
        result = Result(args, process.returncode if process.returncode is not None else -1,
                        out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
        return result.check() if check else result

    async def stream(self, argv: Sequence[str]) -> AsyncIterator[str]:
        args = argv_tuple(argv)
        process = await self._spawn(args, stdin=asyncio.subprocess.DEVNULL)
        assert process.stdout is not None
        try:
            async for raw in process.stdout:
                yield raw.decode("utf-8", "replace").rstrip("\n")
        finally:
            if process.returncode is None:
                process.terminate()
            await process.wait()

    async def forward_unix(self, remote_path: str) -> Forward:
        if not os.path.exists(remote_path):
            raise HostUnreachable(f"{remote_path}: no such socket on this machine")
        return _LocalForward(remote_path)
