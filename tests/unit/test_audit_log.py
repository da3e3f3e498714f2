"""The audit log: private files, every kind of tampering named once and correctly, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from hvdeck.backends import audit as audit_mod
from hvdeck.backends.audit import AuditLog


def _log(path: Path, n: int) -> AuditLog:
    log = AuditLog(path)
    for i in range(1, n + 1):
        log.append(host="h", action="start", target=f"d{i}", operation=f"virsh start d{i}", result="ok")
    return log


def _lines(log: AuditLog) -> list[str]:
    return log.path.read_text().splitlines()


def _write(log: AuditLog, lines: list[str]) -> None:
    log.path.write_text("".join(line + "\n" for line in lines))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- permissions ------------------------------------------------------------------------------------


def test_log_head_and_new_directories_are_private_whatever_the_umask(tmp_path: Path):
    old = os.umask(0o000)
    try:
        log = _log(tmp_path / "state" / "hvdeck" / "audit.log", 2)
    finally:
        os.umask(old)
    assert _mode(log.path) == 0o600
    assert _mode(log.head_path) == 0o600
    assert _mode(tmp_path / "state" / "hvdeck") == 0o700
    assert _mode(tmp_path / "state") == 0o700
    assert not log.head_path.with_suffix(".tmp").exists()


def test_an_existing_world_readable_log_is_tightened(tmp_path: Path):
    path = tmp_path / "audit.log"
    path.write_text("")
    os.chmod(path, 0o644)
    os.chmod(tmp_path, 0o755)
    _log(path, 1)
    assert _mode(path) == 0o600
    assert _mode(tmp_path) == 0o755  # not hvdeck's state directory: left alone


def test_hvdecks_own_state_directory_is_tightened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HVDECK_AUDIT_LOG", raising=False)
    state = tmp_path / "xdg" / "hvdeck"
    state.mkdir(parents=True)
    os.chmod(state, 0o755)
    log = _log(audit_mod.default_path(), 1)
    assert log.path.parent == state and _mode(state) == 0o700
    assert audit_mod.demo_path() == state / "demo-audit.log"


# -- verify ------------------------------------------------------------------------------------------


def test_intact_and_empty_logs_hold(tmp_path: Path):
    assert _log(tmp_path / "a.log", 5).verify() == []
    empty = tmp_path / "empty.log"
    empty.write_text("")
    assert AuditLog(empty).verify() == []
    assert AuditLog(tmp_path / "missing.log").verify() == []  # nothing to hold; the CLI says it is missing


@pytest.mark.parametrize(("deleted", "expected"), [
    ([2], ["line 3 deleted (the log goes from line 2 to line 4)"]),
    ([2, 3, 4], ["lines 3-5 deleted (the log goes from line 2 to line 6)"]),
    ([0], ["line 1 deleted (the log starts at line 2)"]),
    ([0, 1], ["lines 1-2 deleted (the log starts at line 3)"]),
    ([1, 4], ["line 2 deleted (the log goes from line 1 to line 3)",
              "line 5 deleted (the log goes from line 4 to line 6)"]),
    ([5], ["line 6 deleted from the end (the head file records 6 lines written)"]),
    ([4, 5], ["lines 5-6 deleted from the end (the head file records 6 lines written)"]),
    ([2, 5], ["line 3 deleted (the log goes from line 2 to line 4)",
              "line 6 deleted from the end (the head file records 6 lines written)"]),
], ids=["middle", "middle-run", "first", "first-two", "two-gaps", "last", "last-two", "middle-and-last"])
def test_deleted_lines_are_reported_once_by_their_number(tmp_path: Path, deleted: list[int], expected: list[str]):
    log = _log(tmp_path / "audit.log", 6)
    lines = _lines(log)
    _write(log, [line for index, line in enumerate(lines) if index not in deleted])
    assert log.verify() == expected


def test_edited_lines_are_named_once(tmp_path: Path):
    log = _log(tmp_path / "audit.log", 5)
    lines = _lines(log)
    for index in (1, 4):
        record = json.loads(lines[index])
        record["result"] = "failed"
        lines[index] = json.dumps(record)
    _write(log, lines)
    assert log.verify() == ["line 2: edited after it was written (line 3 records another hash of it)",
                            "line 5: edited after it was written"]


def test_a_garbled_line_is_named_once(tmp_path: Path):
    log = _log(tmp_path / "audit.log", 4)
    lines = _lines(log)
    lines[1] = "garbage"
    _write(log, lines)
    assert log.verify() == ["line 2: not a JSON record (edited?)"]


def test_a_renumbered_line_and_a_broken_start_are_edits(tmp_path: Path):
    log = _log(tmp_path / "audit.log", 3)
    lines = _lines(log)
    first = json.loads(lines[0])
    first["prev"] = "f" * 64
    lines[0] = json.dumps(first)
    _write(log, lines)
    assert log.verify() == ["line 1: edited (it does not start the chain)",
                            "line 1: edited after it was written (line 2 records another hash of it)"]


def test_copied_and_appended_lines_are_found(tmp_path: Path):
    log = _log(tmp_path / "audit.log", 3)
    lines = _lines(log)
    _write(log, lines + [lines[0]])
    assert log.verify() == ["a line numbered 1 follows line 3: lines were copied, moved or inserted"]
    log = _log(tmp_path / "b.log", 3)
    forged = json.loads(_lines(log)[-1])
    forged["seq"] = 4
    _write(log, _lines(log) + [json.dumps(forged)])
    problems = log.verify()
    assert problems[-1] == "line 4 not written by hvdeck (the head file records 3 lines written)"


def test_a_missing_log_beside_its_head_is_reported(tmp_path: Path):
    log = _log(tmp_path / "audit.log", 2)
    log.path.unlink()
    assert log.verify() == [f"the log is missing but its head file {log.head_path} exists (the log was deleted)"]


# -- two processes appending at once -------------------------------------------------------------------


def _append_many(path: str, writer: str, count: int, start: multiprocessing.synchronize.Event) -> None:
    start.wait()
    log = AuditLog(path)
    for i in range(count):
        log.append(host=writer, action="start", target=f"{writer}-{i}", operation="x", result="ok")


def test_two_processes_appending_at_once_keep_one_chain(tmp_path: Path):
    path = tmp_path / "audit.log"
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    writers = [context.Process(target=_append_many, args=(str(path), name, 200, start)) for name in ("p1", "p2")]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join(timeout=120)
        assert process.exitcode == 0
    log = AuditLog(path)
    assert log.verify() == []
    records = log.records()
    assert [r["seq"] for r in records] == list(range(1, 401))
    by_writer = {name: [r["target"] for r in records if r["host"] == name] for name in ("p1", "p2")}
    assert by_writer == {name: [f"{name}-{i}" for i in range(200)] for name in ("p1", "p2")}
