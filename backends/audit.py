"""The audit log: one JSON line per operation hvdeck ran (or refused), chained by hashes.

Each line carries ``prev``, the SHA-256 of the line before it (64 zeros for the first), and ``seq``, its
position. A head file beside the log (``audit.log.head``) records the last line's seq and hash, so that
`verify` finds an edited line, a deleted line, and lines cut off the end. It detects tampering; it does
not prevent it (anyone who can write the log can rewrite the whole chain) — ship the log elsewhere for
that.
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
    env = os.environ.get("HVDECK_AUDIT_LOG")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_state_dir("hvdeck")) / "audit.log"


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                seq, prev = self._tail(handle)
                record: dict[str, Any] = {
                    "seq": seq + 1,
                    "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
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
                tmp.write_text(json.dumps({"seq": seq + 1, "hash": _digest(line)}) + "\n")
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
        """Every problem found, as a sentence naming the line; an empty list means the chain holds."""
        problems: list[str] = []
        if not self.path.exists():
            if self.head_path.exists():
                problems.append(f"{self.path}: the log is missing but its head file exists")
            return problems
        lines = self.path.read_bytes().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        prev = GENESIS
        for number, raw in enumerate(lines, start=1):
            try:
                record = json.loads(raw)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError:
                problems.append(f"line {number}: not a JSON record (edited?)")
                prev = _digest(raw)
                continue
            if record.get("prev") != prev:
                problems.append(f"line {number}: does not follow line {number - 1} "
                                f"(line {number - 1} was edited, or lines before {number} were deleted)")
            if record.get("seq") != number:
                problems.append(f"line {number}: has seq {record.get('seq')!r}; "
                                "lines were deleted or inserted before it")
            prev = _digest(raw)
        if self.head_path.exists():
            try:
                head = json.loads(self.head_path.read_text())
                head_seq, head_hash = int(head["seq"]), str(head["hash"])
            except (ValueError, KeyError, TypeError):
                problems.append(f"{self.head_path}: unreadable head file")
            else:
                if head_seq > len(lines):
                    problems.append(f"the log ends at line {len(lines)} but {head_seq} lines were written: "
                                    f"lines {len(lines) + 1}-{head_seq} were deleted")
                elif head_seq == len(lines) and head_hash != prev:
                    problems.append(f"line {len(lines)}: edited after it was written")
                elif head_seq < len(lines):
                    problems.append(f"lines {head_seq + 1}-{len(lines)} were not written by hvdeck")
        elif lines:
            problems.append(f"{self.head_path}: head file missing; cannot tell whether lines were cut off the end")
        return problems
