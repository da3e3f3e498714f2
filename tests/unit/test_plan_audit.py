"""The executor (the one gate every Plan passes) and the hash-chained audit log, with real commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hvdeck.backends.audit import GENESIS, AuditLog
from hvdeck.backends.plan import Executor, Operation, Plan, Step, undo_plan
from hvdeck.backends.transport.local import LocalSession


class LocalTarget:
    """Runs each step's argv on this machine (the same path a `transport: local` host takes)."""

    def __init__(self, read_only: bool = False) -> None:
        self.read_only = read_only
        self.session = LocalSession("here")

    async def execute(self, operation: Operation, *, input=None, timeout=None, on_output=None):
        return await self.session.run(operation.argv, input=input, check=False, idempotent=False, timeout=timeout,
                                      on_output=on_output)

    async def open_process(self, argv):
        return await self.session.open_process(argv)


def _plan(tmp_path: Path, *steps: Step) -> Plan:
    return Plan(title="Make files", host="here", action="test", target="files", steps=steps)


def _touch(path: Path) -> Step:
    return Step(f"create {path.name}", Operation.command("touch", str(path)),
                undo=Operation.command("rm", "-f", str(path)))


async def test_steps_run_in_order_and_are_audited(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    seen = []
    plan = _plan(tmp_path, _touch(tmp_path / "a"), _touch(tmp_path / "b"))
    result = await Executor(lambda host: LocalTarget(), audit).run(
        plan, on_step=lambda i, outcome: seen.append((i, outcome.status if outcome else "start")))
    assert result.ok and result.undo == ()
    assert (tmp_path / "a").exists() and (tmp_path / "b").exists()
    assert seen == [(0, "start"), (0, "ok"), (1, "start"), (1, "ok")]
    records = audit.records()
    # a "started" line before each step, the outcome after it
    assert [(r["operation"], r["result"]) for r in records] == [
        (f"touch {tmp_path / 'a'}", "started"), (f"touch {tmp_path / 'a'}", "ok"),
        (f"touch {tmp_path / 'b'}", "started"), (f"touch {tmp_path / 'b'}", "ok")]
    first = records[0]
    assert {k: first[k] for k in ("seq", "host", "action", "target", "result", "exit_status", "plan")} == {
        "seq": 1, "host": "here", "action": "test", "target": "files", "result": "started", "exit_status": None,
        "plan": "Make files"}
    assert records[1]["exit_status"] == 0
    assert first["user"] and first["time"].endswith("+00:00") and first["prev"] == GENESIS
    assert audit.verify() == []


async def test_failure_stops_shows_stderr_and_offers_undo(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    fail = Step("fail on purpose", Operation.command("sh", "-c", "echo 'disk full' >&2; exit 3"))
    never = _touch(tmp_path / "never")
    plan = _plan(tmp_path, _touch(tmp_path / "a"), _touch(tmp_path / "b"), fail, never)
    result = await Executor(lambda host: LocalTarget(), audit).run(plan)
    assert not result.ok
    assert [o.status for o in result.outcomes] == ["ok", "ok", "failed", "skipped"]
    assert result.failed.error == "disk full" and result.failed.result.exit_status == 3
    assert not (tmp_path / "never").exists()
    assert [s.operation.display() for s in result.undo] == [f"rm -f {tmp_path / 'b'}", f"rm -f {tmp_path / 'a'}"]
    assert "failed at “fail on purpose”: disk full" in result.summary()
    undo = undo_plan(result)
    assert undo is not None and undo.title == "Undo Make files"
    undone = await Executor(lambda host: LocalTarget(), audit).run(undo)
    assert undone.ok and not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert [r["result"] for r in audit.records()][:6] == ["started", "ok", "started", "ok", "started",
                                                          "failed: disk full"]
    assert audit.verify() == []


async def test_read_only_host_is_refused_before_anything_runs(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    plan = _plan(tmp_path, _touch(tmp_path / "a"))
    result = await Executor(lambda host: LocalTarget(read_only=True), audit).run(plan)
    assert result.refused and "read-only" in result.refused and not result.ok
    assert not (tmp_path / "a").exists()
    assert [o.status for o in result.outcomes] == ["skipped"]
    (record,) = audit.records()
    assert record["result"] == "refused: read-only"


def test_operation_is_argv_or_call_never_a_string():
    with pytest.raises(TypeError):
        Operation(argv="rm -rf /")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Operation()
    assert Operation.command("ldm", "add-domain", "my dom").display() == "ldm add-domain 'my dom'"


# -- the audit chain ---------------------------------------------------------------------------------


def _log(tmp_path: Path, n: int = 4) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.log")
    for i in range(n):
        audit.append(host="h", action="start", target=f"d{i}", operation=f"virsh start d{i}", result="ok")
    return audit


def test_intact_chain_verifies(tmp_path: Path):
    audit = _log(tmp_path)
    assert audit.verify() == []
    assert [r["seq"] for r in audit.records()] == [1, 2, 3, 4]


def test_edited_line_is_found(tmp_path: Path):
    audit = _log(tmp_path)
    lines = audit.path.read_text().splitlines()
    record = json.loads(lines[1])
    record["result"] = "ok (nothing to see)"
    lines[1] = json.dumps(record)
    audit.path.write_text("\n".join(lines) + "\n")
    problems = audit.verify()
    assert problems == ["line 2: edited after it was written (line 3 records another hash of it)"]


def test_deleted_middle_line_is_found(tmp_path: Path):
    audit = _log(tmp_path)
    lines = audit.path.read_text().splitlines()
    del lines[1]
    audit.path.write_text("\n".join(lines) + "\n")
    # once, by the number it had; not again as lines missing at the end
    assert audit.verify() == ["line 2 deleted (the log goes from line 1 to line 3)"]


def test_deleted_last_line_is_found(tmp_path: Path):
    audit = _log(tmp_path)
    lines = audit.path.read_text().splitlines()
    audit.path.write_text("\n".join(lines[:-1]) + "\n")
    assert audit.verify() == ["line 4 deleted from the end (the head file records 4 lines written)"]


def test_edited_last_line_is_found(tmp_path: Path):
    audit = _log(tmp_path)
    lines = audit.path.read_text().splitlines()
    lines[-1] = lines[-1].replace('"ok"', '"failed"')
    audit.path.write_text("\n".join(lines) + "\n")
    assert audit.verify() == ["line 4: edited after it was written"]


def test_appending_continues_the_chain_across_instances(tmp_path: Path):
    _log(tmp_path, 2)
    again = AuditLog(tmp_path / "audit.log")
    record = again.append(host="h", action="stop", target="d", operation="x", result="ok")
    assert record["seq"] == 3
    assert again.verify() == []
