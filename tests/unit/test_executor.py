"""The executor on real processes: multi-host plans, stdin, per-step timeouts, progress, cancel, unknown
outcomes, the audit log before and after each step (and failing closed), transfers between hosts, and
pre-flight checks."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.plan import (
    Check,
    Executor,
    Operation,
    Plan,
    Progress,
    ProgressInfo,
    Step,
    StepOutput,
    StepProgress,
)
from hvdeck.backends.transport.ssh import SshSession

from ..conftest import echo_handler, exec_process_handler
from .test_plan_audit import LocalTarget


def plan(*steps: Step, host: str = "a", checks: tuple[Check, ...] = ()) -> Plan:
    return Plan(title="test plan", host=host, action="test", target="thing", steps=steps, checks=checks)


def sh(description: str, script: str, **kw) -> Step:
    return Step(description, Operation.command("sh", "-c", script), **kw)


def outcomes(audit: AuditLog) -> list[tuple[str, str]]:
    return [(r["host"], r["result"]) for r in audit.records()]


async def test_each_step_runs_on_its_own_host_and_is_audited_there(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    hosts = {"a": LocalTarget(), "b": LocalTarget()}
    result = await Executor(hosts.__getitem__, audit).run(plan(
        sh("on a", f"touch {tmp_path / 'a'}"), sh("on b", f"touch {tmp_path / 'b'}", host="b")))
    assert result.ok
    assert outcomes(audit) == [("a", "started"), ("a", "ok"), ("b", "started"), ("b", "ok")]


async def test_a_read_only_step_host_refuses_the_whole_plan(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    hosts = {"a": LocalTarget(), "b": LocalTarget(read_only=True)}
    result = await Executor(hosts.__getitem__, audit).run(plan(
        sh("on a", f"touch {tmp_path / 'a'}"), sh("on b", f"touch {tmp_path / 'b'}", host="b")))
    assert result.refused and "b is read-only" in result.refused
    assert not (tmp_path / "a").exists(), "nothing runs, not even the steps on the writable host"


async def test_stdin_reaches_the_step_and_the_audit(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    script = "create -b\nset zonepath=/zones/z1\n"
    result = await Executor(lambda h: LocalTarget(), audit).run(plan(
        Step("configure", Operation.command("sh", "-c", f"cat > {tmp_path / 'cfg'}"), input=script)))
    assert result.ok and (tmp_path / "cfg").read_text() == script
    assert audit.records()[-1]["input"] == script


async def test_a_secret_input_is_never_audited(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    result = await Executor(lambda h: LocalTarget(), audit).run(plan(
        Step("password file", Operation.command("sh", "-c", f"umask 077; cat > {tmp_path / 'pw'}"),
             input="hunter2\n", secret_input=True)))
    assert result.ok and (tmp_path / "pw").read_text() == "hunter2\n"
    assert "hunter2" not in (tmp_path / "audit.log").read_text()


async def test_a_step_has_its_own_time_limit_and_overrunning_it_is_unknown(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    long = sh("long but allowed", "sleep 0.5; echo done", timeout=5)
    slow = sh("too slow", "sleep 5", timeout=0.3, undo=Operation.command("true"))
    first = sh("first", "true", undo=Operation.command("true"))
    result = await Executor(lambda h: LocalTarget(), audit).run(plan(first, long, slow, sh("after", "true")))
    assert [o.status for o in result.outcomes] == ["ok", "ok", "unknown", "skipped"]
    assert "may have completed" in result.outcomes[2].error
    assert result.undo == (), "no undo is offered after an unknown outcome"
    assert "UNKNOWN" in result.summary()
    assert outcomes(audit)[-1][1].startswith("unknown:")


async def test_a_dropped_link_after_the_command_was_sent_is_unknown(ssh_server, ssh_world, tmp_path: Path):
    server = await ssh_server(echo_handler(), process_handler=exec_process_handler)
    ssh_world.trust(server)
    session = SshSession(ssh_world.spec(server), ssh_world.options())

    class SshTarget(LocalTarget):
        def __init__(self) -> None:
            super().__init__()
            self.session = session

    audit = AuditLog(tmp_path / "audit.log")
    run = asyncio.create_task(Executor(lambda h: SshTarget(), audit).run(plan(
        sh("made", "true", undo=Operation.command("true")),
        sh("changes the host", f"touch {tmp_path / 'changed'}; sleep 5"))))
    while not (tmp_path / "changed").exists():
        await asyncio.sleep(0.05)
    server.drop_connections()
    result = await asyncio.wait_for(run, 10)
    assert [o.status for o in result.outcomes] == ["ok", "unknown"]
    assert result.undo == ()
    await session.close()


async def test_output_and_progress_arrive_while_the_step_runs(tmp_path: Path):
    events = []

    def percent(text: str) -> ProgressInfo | None:
        for word in text.split():
            if word.endswith("%"):
                return ProgressInfo(fraction=int(word[:-1]) / 100)
        return None

    step = sh("copy", "for p in 10 50 100; do echo $p% >&2; sleep 0.1; done; echo copied",
              progress=Progress(percent))
    result = await Executor(lambda h: LocalTarget(), None).run(plan(step), on_event=events.append)
    assert result.ok
    assert [e.info.fraction for e in events if isinstance(e, StepProgress)] == [0.1, 0.5, 1.0]
    assert "copied" in "".join(e.text for e in events if isinstance(e, StepOutput) and e.stream == "stdout")


async def test_progress_polled_from_another_operation(tmp_path: Path):
    counter = tmp_path / "counter"
    counter.write_text("0")
    events = []
    progress = Progress(lambda text: ProgressInfo(fraction=int(text) / 4) if text.strip() else None,
                        operation=Operation.command("cat", str(counter)), interval=0.05)
    step = sh("count", f"for i in 1 2 3 4; do echo $i > {counter}; sleep 0.15; done", progress=progress)
    result = await Executor(lambda h: LocalTarget(), None).run(plan(step), on_event=events.append)
    assert result.ok
    fractions = [e.info.fraction for e in events if isinstance(e, StepProgress)]
    assert fractions and fractions == sorted(fractions) and 0 < fractions[-1] <= 1


async def test_cancel_runs_the_cancel_operation_and_offers_the_undo(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    flag = tmp_path / "cancel"
    migrate = sh("migrate", f"while [ ! -e {flag} ]; do sleep 0.05; done; echo 'migration cancelled' >&2; exit 1",
                 timeout=None, cancel=Operation.command("touch", str(flag)))
    cancel = asyncio.Event()
    done = sh("prepared", "true", undo=Operation.command("true"))
    started = asyncio.Event()

    def on_event(event) -> None:
        if getattr(event, "index", None) == 1:
            started.set()

    run = asyncio.create_task(Executor(lambda h: LocalTarget(), audit).run(
        plan(done, migrate, sh("after", "true")), on_event=on_event, cancel=cancel))
    await started.wait()
    await asyncio.sleep(0.2)
    cancel.set()
    result = await asyncio.wait_for(run, 10)
    assert [o.status for o in result.outcomes] == ["ok", "cancelled", "skipped"]
    assert [s.description for s in result.undo] == ["Undo: prepared"]
    assert ("a", "cancel requested") in outcomes(audit)


async def test_cleanup_steps_run_after_a_failure(tmp_path: Path):
    result = await Executor(lambda h: LocalTarget(), None).run(plan(
        sh("fails", "exit 1"), sh("skipped", f"touch {tmp_path / 'no'}"),
        sh("remove the password file", f"touch {tmp_path / 'cleaned'}", always=True)))
    assert [o.status for o in result.outcomes] == ["failed", "skipped", "ok"]
    assert (tmp_path / "cleaned").exists() and not (tmp_path / "no").exists()


async def test_nothing_runs_when_the_audit_log_cannot_be_written(tmp_path: Path):
    blocked = tmp_path / "ro"
    blocked.mkdir()
    log = blocked / "audit.log"
    log.write_text("")
    os.chmod(log, 0o400)
    os.chmod(blocked, 0o500)
    if os.access(log, os.W_OK):  # root ignores file modes: use a path whose parent is a file instead
        log = tmp_path / "file-not-dir" / "audit.log"
        (tmp_path / "file-not-dir").write_text("")
    result = await Executor(lambda h: LocalTarget(), AuditLog(log)).run(plan(sh("change", f"touch {tmp_path / 'x'}")))
    assert result.refused and "audit log cannot be written" in result.refused
    assert not (tmp_path / "x").exists()


async def test_a_transfer_pipes_one_hosts_process_into_the_others(tmp_path: Path):
    source = tmp_path / "image"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    events = []
    hosts = {"a": LocalTarget(), "b": LocalTarget()}
    step = Step("send the zonepath", Operation.pipe("a", ("cat", str(source)), "b",
                                                     ("sh", "-c", f"cat > {tmp_path / 'copy'}")))
    result = await Executor(hosts.__getitem__, None).run(plan(step), on_event=events.append)
    assert result.ok, result.summary()
    assert (tmp_path / "copy").read_bytes() == source.read_bytes()
    assert plan(step).hosts == ("a", "b")
    assert "⇒" in step.operation.display()


async def test_a_failing_transfer_end_fails_the_step(tmp_path: Path):
    hosts = {"a": LocalTarget(), "b": LocalTarget()}
    step = Step("send", Operation.pipe("a", ("sh", "-c", "echo data; echo 'no such dataset' >&2; exit 1"), "b",
                                       ("cat",)))
    result = await Executor(hosts.__getitem__, None).run(plan(step))
    assert [o.status for o in result.outcomes] == ["failed"]
    assert "no such dataset" in result.outcomes[0].error


async def test_preflight_checks_pass_or_say_why():
    checks = (
        Check("name free on the target", Operation.command("sh", "-c", "exit 0")),
        Check("enough memory", Operation.command("sh", "-c", "echo 'only 512M free' >&2; exit 1"), host="b"),
        Check("same kind", passed=False, reason="t7-b is a libvirt host"),
        Check("parsed", Operation.command("echo", "free=3"),
              parser=lambda r: None if "free=4" in r.stdout else "needs 4 free"),
    )
    hosts = {"a": LocalTarget(), "b": LocalTarget()}
    results = await Executor(hosts.__getitem__, None).preflight(plan(sh("x", "true"), checks=checks))
    assert [(r.ok, r.reason) for r in results] == [
        (True, ""), (False, "only 512M free"), (False, "t7-b is a libvirt host"), (False, "needs 4 free")]


def test_long_api_arguments_are_shown_below_the_step_and_audited_in_full():
    xml = "<domain>\n" + "  <x/>\n" * 40 + "</domain>"
    op = Operation.api("virDomainDefineXML", ("virsh", "define", "FILE"), xml=xml)
    assert op.display() == "virDomainDefineXML(xml=<42 lines, below>)"
    assert op.attachments() == (("xml", xml),)
    assert repr(xml) in op.audit_text(), "the whole XML, not a summary"


def test_an_operation_is_exactly_one_kind():
    with pytest.raises(ValueError):
        Operation(argv=("true",), call="virDomainCreate")
