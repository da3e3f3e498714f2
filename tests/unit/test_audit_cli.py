"""`hvdeck audit show | verify`: a missing log is missing (and the demo's log is named), a closed pipe ends
quietly, host text in the log reaches the terminal with its control characters made visible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.tui import cli


@pytest.fixture
def default_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default log (no --audit-log), as $HVDECK_AUDIT_LOG; the demo writes demo-audit.log beside it."""
    path = tmp_path / "state" / "audit.log"
    monkeypatch.setenv("HVDECK_AUDIT_LOG", str(path))
    return path


def _demo_ran(default_log: Path) -> Path:
    demo = default_log.with_name("demo-audit.log")
    AuditLog(demo).append(host="kvm-a", action="pause", target="web1", operation="virDomainSuspend", result="ok")
    return demo


@pytest.mark.parametrize("command", ["show", "verify"])
def test_a_missing_log_is_said_to_be_missing_not_intact(default_log: Path, command: str,
                                                       capsys: pytest.CaptureFixture[str]):
    assert cli.main(["audit", command]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "intact" not in err
    assert err == f"hvdeck: {default_log}: no such file (nothing has been audited there)\n"


@pytest.mark.parametrize("command", ["show", "verify"])
def test_after_the_demo_the_default_log_names_the_demos(default_log: Path, command: str,
                                                       capsys: pytest.CaptureFixture[str]):
    demo = _demo_ran(default_log)
    assert cli.main(["audit", command]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"hvdeck: {default_log}: no such file (nothing has been audited there)",
                   f"hvdeck: `hvdeck demo` keeps its own log, {demo}: hvdeck audit {command} --audit-log {demo}"]
    assert cli.main(["audit", command, "--audit-log", str(demo)]) == 0  # and that command works
    out = capsys.readouterr().out
    assert ("kvm-a pause web1: virDomainSuspend -> ok" in out) if command == "show" else "1 records, chain intact" in out


def test_an_empty_default_log_verifies_and_still_names_the_demos(default_log: Path,
                                                                 capsys: pytest.CaptureFixture[str]):
    demo = _demo_ran(default_log)
    default_log.write_text("")
    assert cli.main(["audit", "verify"]) == 0
    out, err = capsys.readouterr()
    assert out == f"{default_log}: 0 records, chain intact\n" and str(demo) in err


def test_an_explicit_log_gets_no_demo_hint(default_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    _demo_ran(default_log)
    assert cli.main(["audit", "verify", "--audit-log", str(tmp_path / "other.log")]) == 1
    assert "demo" not in capsys.readouterr().err


def test_a_deleted_log_beside_its_head_is_tampering(default_log: Path, capsys: pytest.CaptureFixture[str]):
    log = AuditLog(default_log)
    log.append(host="h", action="start", target="d", operation="x", result="ok")
    log.path.unlink()
    assert cli.main(["audit", "verify"]) == 1
    assert "the log is missing but its head file" in capsys.readouterr().err


def test_show_makes_host_text_visible(default_log: Path, capsys: pytest.CaptureFixture[str]):
    AuditLog(default_log).append(host="h", action="start", target="x\x1b]52;c;cm0gLXJmIH4=\x07\x9b31m[/]",
                                 operation="virsh start", result="ok")
    assert cli.main(["audit", "show"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "x^[]52;c;cm0gLXJmIH4=^G" in out and "[/]" in out


def test_show_into_a_closed_pipe_ends_quietly(tmp_path: Path):
    log = AuditLog(tmp_path / "audit.log")
    record = log.append(host="h", action="start", target="d0", operation="virsh start d0", result="ok")
    # some 600 KB, more than a pipe holds (written at once: `show` reads records, it does not verify)
    lines = [json.dumps({**record, "seq": i, "target": f"d{i}"}) for i in range(1, 3001)]
    log.path.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([sys.executable, "-m", "hvdeck.tui.cli", "audit", "show", "--audit-log", str(log.path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    err = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert first.startswith(b"    1 ") and err == b""
