"""Failures: a worker that raises is shown on its screen and the app keeps running; an error nothing
handled stops the app with a non-zero status, a saved traceback, and a terminal left as it was."""

from __future__ import annotations

import os
import pty
import select
import stat
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from textual.widgets import Button

from hvdeck.backends.errors import CommandFailed
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.tui.screens.fleet import FleetScreen
from hvdeck.tui.screens.plan import PlanScreen
from hvdeck.widgets.bindings_view import BindingsView

from .helpers import SIZE, fleet_loaded, highlight, make_app, plain, wait_for

HOSTILE = "boom [/] [bold]x \x1b]52;c;cm0gLXJmIC8=\x07"


async def test_an_unhandled_error_stops_the_app_with_status_1_and_a_saved_traceback(tmp_path: Path):
    app = make_app(tmp_path, start_pollers=False)

    def explode() -> None:
        raise RuntimeError(HOSTILE)

    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE) as pilot:
            app.call_later(explode)
            await pilot.pause()
    assert app.return_code == 1
    report = app.crash_report
    assert report is not None and report.parent == Path(os.environ["XDG_STATE_HOME"]) / "hvdeck"
    assert report.name.startswith("crash-") and report.suffix == ".txt"
    assert stat.S_IMODE(report.stat().st_mode) == 0o600, "a report may name hosts: private to the user"
    text = report.read_text()
    assert "Traceback (most recent call last)" in text and "in explode" in text and "RuntimeError" in text
    assert "screens: FleetScreen" in text


async def test_a_failing_worker_shows_on_its_screen_and_the_app_keeps_running(tmp_path: Path):
    """The bindings read raises: the domain screen says so in its own place; nothing else stops."""
    app = make_app(tmp_path)
    calls = []

    async def failing(domain):
        calls.append(domain.name)
        raise CommandFailed(("virsh", "dumpxml"), 1, f"Failed to open {HOSTILE}")

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "db01")
        app.load_bindings = failing  # type: ignore[method-assign]
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, DomainScreen)
        view = screen.query_one(BindingsView)
        await wait_for(pilot, lambda: bool(view.query(".bindings--error")))
        shown = plain(view.query_one(".bindings--error"))
        assert "cannot read the bindings" in shown and "[/] [bold]x" in shown and "^[]52;c;" in shown
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(calls) == 2)
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen) and app.return_code is None


async def test_a_plan_whose_executor_raises_can_still_be_closed(tmp_path: Path):
    """A bug in the executor used to leave the plan dialog busy for ever (Esc refused, no Close)."""
    app = make_app(tmp_path)

    class Broken:
        async def run_plan(self, plan, **kwargs):
            raise RuntimeError(HOSTILE)

    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "web01")
        await pilot.press("p")
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        screen.runner = Broken()  # a fault injected in place of the executor
        await pilot.press("tab", "enter")  # Run is never the default: Tab to it, then Enter
        await wait_for(pilot, lambda: not screen._busy and screen.query_one("#plan-cancel", Button).label.plain == "Close")
        result = plain(screen.query_one("#plan-result"))
        assert "internal error" in result and "RuntimeError: boom [/] [bold]x" in result and "^[" in result
        assert app.focused is screen.query_one("#plan-cancel")
        await pilot.press("enter")
        assert isinstance(app.screen, FleetScreen) and app.return_code is None
    assert app.audit.records() == []


def test_the_console_exits_non_zero_and_leaves_the_terminal_sane(tmp_path: Path):
    """`hvdeck demo` in a real pseudo-terminal with a failure injected one second in: exit status 70,
    the report's path on stderr, and the terminal back in cooked mode with echo, off the alternate screen."""
    state = tmp_path / "state"
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(state), "TERM": "xterm-256color",
           "COLUMNS": "100", "LINES": "30"}
    script = (
        "import sys\n"
        "from hvdeck.tui.app import HvdeckApp\n"
        "def explode():\n"
        "    raise RuntimeError('injected failure [/]')\n"
        "HvdeckApp.on_ready = lambda self: self.set_timer(1.0, explode)\n"
        "from hvdeck.tui.cli import main\n"
        f"sys.exit(main(['demo', '--audit-log', {str(tmp_path / 'audit.log')!r}]))\n")
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True, start_new_session=True)
    output = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
            if proc.poll() is not None and not ready:
                break
        status = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    after = termios.tcgetattr(slave)
    os.close(master)
    os.close(slave)
    text = output.decode("utf-8", "replace")
    assert status == 70, text[-2000:]
    reports = list((state / "hvdeck").glob("crash-*.txt"))
    assert len(reports) == 1 and "injected failure" in reports[0].read_text()
    assert f"the full traceback is in {reports[0]}" in text
    assert "hvdeck stopped on an internal error: RuntimeError: injected failure [/]" in text
    assert text.rfind("\x1b[?1049l") > text.rfind("\x1b[?1049h"), "left the alternate screen"
    assert after[3] & termios.ECHO and after[3] & termios.ICANON, "echo and line mode restored"
    assert after[3] == before[3]


def test_every_worker_of_the_console_is_started_with_exit_on_error_false():
    """Their errors reach `HvdeckApp.worker_failed`, never Textual's exit-the-app default."""
    import ast

    root = Path(__file__).resolve().parents[2] / "tui"
    starts = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            call = node if isinstance(node, ast.Call) else None
            if call is None:
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if name in ("work", "run_worker"):
                flags = {kw.arg: kw.value for kw in call.keywords}
                starts.append((path.name, call.lineno))
                value = flags.get("exit_on_error")
                assert isinstance(value, ast.Constant) and value.value is False, f"{path.name}:{call.lineno}"
    assert len(starts) >= 4, starts  # the pollers, the bindings, the host detail, the plan
