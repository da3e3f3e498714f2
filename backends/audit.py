"""The audit log: one JSON line per operation hvdeck ran (or refused), chained by hashes.

Each line carries ``prev``, the SHA-256 of the line before it (64 zeros for the first), and ``seq``, its
position. A head file beside the log (``audit.log.head``) records the last line's seq and hash, so that
`verify` finds an edited line, a deleted line, and lines cut off the end. It detects tampering; it does
not prevent it (anyone who can write the log can rewrite the whole chain) — ship the log elsewhere for
that.

The log names hosts, domains and commands, so only its owner may read it: the log and head files are
created 0600 (an existing one that others can read is tightened), directories hvdeck creates for them
0700, and hvdeck's own state directory is tightened to 0700 as well. Appends from several hvdeck
processes are serialised with ``flock`` on the log; `verify` takes the same lock (shared) to read a
consistent log and head.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import getpass
import hashlib
import json
import os
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def default_path() -> Path:
    """``$HVDECK_AUDIT_LOG``, else ``audit.log`` in the user state dir (~/.local/state/hvdeck on Linux)."""
    env = os.environ.get("HVDECK_AUDIT_LOG")
    if env:
        return Path(env)
    return _state_dir() / "audit.log"


def demo_path() -> Path:
    """The log `hvdeck demo` writes: ``demo-audit.log`` beside `default_path`."""
    return default_path().with_name("demo-audit.log")


def _state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("hvdeck"))


def _private_dir(directory: Path) -> None:
    """Create ``directory`` and its missing parents 0700; tighten hvdeck's own state dir if others can
    read it. Directories that exist and are not hvdeck's (``--audit-log /var/log/x.log``) are left alone."""
    missing = []
    for parent in [directory, *directory.parents]:
        if parent.exists():
            break
        missing.append(parent)
    for parent in reversed(missing):
        try:
            os.mkdir(parent, 0o700)
        except FileExistsError:
            pass
    if directory == _state_dir():
        mode = directory.stat().st_mode & 0o7777
        if mode & 0o077:
            try:
                os.chmod(directory, mode & 0o700)
            except OSError:
                pass


def _private_file(fd: int) -> None:
    """Make an open file 0600 if others can read or write it (and it is ours to change)."""
    mode = os.fstat(fd).st_mode & 0o7777
    if mode & 0o077:
        try:
            os.fchmod(fd, mode & 0o700)
        except OSError:
            pass


def _digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


class AuditLog:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")

    def append(self, *, host: str, action: str, target: str, operation: str, result: str,
               exit_status: int | None = None, plan: str = "", **extra: Any) -> dict[str, Any]:
        """Append one record. Safe against concurrent hvdeck processes (flock on the log)."""
        _private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        _private_file(fd)
        with os.fdopen(fd, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                seq, prev = self._tail(handle)
                record: dict[str, Any] = {
                    "seq": seq + 1,
                    "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"),
                    "user": local_user(),
                    "host": host,
                    "action": action,
                    "target": target,
                    "operation": operation,
                    "result": result,
                    "exit_status": exit_status,
                    "plan": plan,
                    **extra,
                    "prev": prev,
                }
                line = json.dumps(record, ensure_ascii=False, sort_keys=False).encode("utf-8")
                handle.seek(0, os.SEEK_END)
                handle.write(line + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
                tmp = self.head_path.with_suffix(".tmp")
                head_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
                _private_file(head_fd)
                with os.fdopen(head_fd, "w") as head:
                    head.write(json.dumps({"seq": seq + 1, "hash": _digest(line)}) + "\n")
                os.replace(tmp, self.head_path)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return record

    @staticmethod
    def _tail(handle: Any) -> tuple[int, str]:
        """(seq, hash) of the last line, or (0, GENESIS) for an empty log."""
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return 0, GENESIS
        block = min(size, 65536)
        while True:
            handle.seek(size - block)
            data = handle.read(block).rstrip(b"\n")
            cut = data.rfind(b"\n")
            if cut >= 0 or block == size:
                last = data[cut + 1:]
                break
            block = min(size, block * 2)
        try:
            seq = int(json.loads(last)["seq"])
        except (ValueError, KeyError, TypeError):
            seq = sum(1 for _ in open(handle.name, "rb"))
        return seq, _digest(last)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for raw in self.path.read_bytes().splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
        return out

    def verify(self) -> list[str]:
        """Every problem found, one sentence each; an empty list means the chain holds (an empty log
        holds; a missing one holds only if its head file is missing too: check `path` first).

        Lines are named by the number they were written with (their ``seq``): after a deleted line the
        later lines keep their numbers, and the gap is reported once, as ``line 3 deleted (the log goes
        from line 2 to line 4)``. An edited line is named once, by the hash the next line (or the head
        file) records of it.
        """
        if not self.path.exists():
            if self.head_path.exists():
                return [f"the log is missing but its head file {self.head_path} exists (the log was deleted)"]
            return []
        with open(self.path, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)  # appends finish, log and head agree
            try:
                data = handle.read()
                head_text = self.head_path.read_text() if self.head_path.exists() else None
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        problems: list[str] = []
        prev = GENESIS  # the hash of the line before
        last = 0  # the highest line number so far
        tail = GENESIS  # the hash of that line, for the head file
        reported = False  # the line before was reported as unreadable: its hash is no news
        for raw in lines:
            expected = last + 1
            try:
                record = json.loads(raw)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError:
                problems.append(f"line {expected}: not a JSON record (edited?)")
                prev = tail = _digest(raw)
                last, reported = expected, True
                continue
            seq = record.get("seq")
            chained = record.get("prev") == prev
            if isinstance(seq, bool) or not isinstance(seq, int):
                problems.append(f"line {expected}: edited (its seq is {seq!r})")
                seq = expected
            elif seq > expected and not chained:
                problems.append(_gap(expected, seq))
            elif seq > expected or (seq == expected and not chained and expected == 1):
                problems.append(f"line {expected}: edited (it says it is line {seq})" if seq != expected
                                else "line 1: edited (it does not start the chain)")
                seq = expected
            elif seq == expected and not chained and not reported:
                problems.append(f"line {last}: edited after it was written (line {seq} records another hash of it)")
            elif seq < expected:
                problems.append(f"a line numbered {seq} follows line {last}: lines were copied, moved or inserted")
                prev, reported = _digest(raw), False
                continue
            prev = tail = _digest(raw)
            last, reported = seq, False
        problems.extend(self._check_head(head_text, last, tail, reported, bool(lines)))
        return problems

    def _check_head(self, text: str | None, last: int, prev: str, reported: bool, any_lines: bool) -> list[str]:
        if text is None:
            return [f"the head file {self.head_path} is missing: lines cut off the end cannot be found"] \
                if any_lines else []
        try:
            head = json.loads(text)
            head_seq, head_hash = int(head["seq"]), str(head["hash"])
        except (ValueError, KeyError, TypeError):
            return [f"the head file {self.head_path} is unreadable"]
        if head_seq > last:
            cut = f"line {head_seq}" if head_seq == last + 1 else f"lines {last + 1}-{head_seq}"
            return [f"{cut} deleted from the end (the head file records {head_seq} lines written)"]
        if head_seq < last:
            extra = f"line {last}" if last == head_seq + 1 else f"lines {head_seq + 1}-{last}"
            return [f"{extra} not written by hvdeck (the head file records {head_seq} lines written)"]
        if head_hash != prev and not reported:
            return [f"line {last}: edited after it was written"]
        return []


def _gap(first: int, following: int) -> str:
    """The sentence for lines ``first`` … ``following - 1`` deleted."""
    missing = f"line {first}" if following == first + 1 else f"lines {first}-{following - 1}"
    if first == 1:
        return f"{missing} deleted (the log starts at line {following})"
    return f"{missing} deleted (the log goes from line {first - 1} to line {following})"
