"""The plan screen runs plans live: pre-flight checks gate Run, the running step's output and progress show as
they come, ``c`` cancels a step that has a cancel operation, Escape asks before it stops anything, each
outcome (ok, failed, cancelled, unknown, skipped) says what it means, step input is shown (a secret never),
and a failure offers the undo steps.

The executor is the real one, running real commands on this machine through `LocalSession` (a command
waits for a file the test creates, so that the running state can be looked at without timing anything)."""

from __future__ import annotations

import time
from pathlib import Path

from textual.widgets import Button, Input, ProgressBar, RichLog

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.errors import ConnectionLost
from hvdeck.backends.plan import Check, Executor, Operation, Plan, Progress, ProgressInfo, Step
from hvdeck.backends.transport.local import LocalSession
from hvdeck.tui.screens.plan import PlanScreen, StopRunScreen

from .helpers import click_when_shown, dialog_ready, fleet_loaded, make_app, plain, wait_for
from .terminal import screen_text

SIZE = (120, 40)


class ShellTarget:
    """This machine as a plan's host: each operation's argv run as a real process. ``lost`` names argv
    whose link drops once sent (the outcome cannot be known)."""

    read_only = False

    def __init__(self, lost: tuple[str, ...] = ()) -> None:
        self.session = LocalSession("local")
        self.lost = lost

    async def execute(self, operation: Operation, *, input=None, timeout=None, on_output=None):
        if operation.argv and operation.argv[-1] in self.lost:
            raise ConnectionLost("the link to local dropped")
        return await self.session.run(operation.argv, check=False, input=input, timeout=timeout, on_output=on_output)

    async def open_process(self, argv):
        return await self.session.open_process(argv)


def executor(tmp_path: Path, **kw) -> Executor:
    target = ShellTarget(**kw)
    return Executor(lambda host: target, AuditLog(tmp_path / "plan-audit.log"))


def sh(script: str, *marker: str) -> Operation:
    return Operation.command("sh", "-c", script, "sh", *marker)


def wait_file(path: Path, then: str = "") -> Operation:
    """A command that runs until ``path`` exists, then ``then``."""
    return sh(f'while [ ! -e "$1" ]; do sleep 0.02; done; {then}', str(path))


async def open_plan(pilot, plan: Plan, runner) -> PlanScreen:
    await fleet_loaded(pilot)
    screen = PlanScreen(plan, runner)
    pilot.app.push_screen(screen)
    # keys typed before the dialog is drawn are dropped (`GuardedModal`): a fixed pause was not always enough on
    # a loaded machine, where the Tab of "Tab, Enter" was dropped and the Enter closed the dialog
    await wait_for(pilot, lambda: screen.keys_after < time.monotonic())
    return screen


async def run_it(pilot, screen: PlanScreen) -> None:
    await wait_for(pilot, lambda: not screen.query_one("#plan-run", Button).disabled)
    await click_when_shown(pilot, "#plan-run")


async def test_run_waits_for_the_pre_flight_checks_and_a_failed_one_says_why(tmp_path: Path):
    flag = tmp_path / "ready"
    plan = Plan("Pause x on local", "local", "pause", "x", (Step("Say hello", sh("echo hello")),), checks=(
        Check("the shell answers", sh("true")),
        Check("the host is ready", sh('cat "$1" 2>/dev/null || true', str(flag)),
              parser=lambda result: None if result.stdout.strip() == "yes" else "it says it is not ready"),
        Check("decided when the plan was made", passed=True)))
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot, plan, executor(tmp_path))
        await wait_for(pilot, lambda: screen.checks is not None)
        checks = plain(screen.query_one("#plan-checks"))
        assert "✔ the shell answers" in checks and "✔ decided when the plan was made" in checks
        assert "✘ the host is ready: it says it is not ready" in checks
        assert screen.query_one("#plan-run", Button).disabled
        assert screen.query_one("#plan-cancel", Button).label.plain == "Close"
        assert "A pre-flight check failed: nothing can run" in plain(screen.query_one("#plan-hint"))
        await pilot.press("tab", "enter")  # Run is disabled: Tab from Close goes past it, nothing runs
        assert screen.result is None
        flag.write_text("yes\n")
        await click_when_shown(pilot, "#plan-recheck")
        await wait_for(pilot, lambda: screen.checks is not None and all(c.ok for c in screen.checks))
        assert screen.query_one("#plan-cancel", Button).label.plain == "Cancel"
        await run_it(pilot, screen)
        await wait_for(pilot, lambda: screen.result is not None)
        assert screen.result.ok and "     hello" in plain(screen.query_one("#plan-steps-text"))


async def test_checks_that_cannot_run_fail_with_the_reason(tmp_path: Path):
    class NoChecks:
        async def preflight(self, plan):
            raise ConnectionLost("t7-a stopped answering")

    plan = Plan("Start x", "local", "start", "x", (Step("Start", sh("true")),), checks=(Check("x exists", sh("true")),))
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot, plan, NoChecks())
        await wait_for(pilot, lambda: screen.checks is not None)
        assert "the checks could not run: t7-a stopped answering" in plain(screen.query_one("#plan-checks"))
        assert screen.query_one("#plan-run", Button).disabled


def _moved(text: str) -> ProgressInfo | None:
    """`moved N of M G`, as a transfer step prints it."""
    words = text.split()
    if len(words) >= 4 and words[0] == "moved":
        done, total = int(words[1]) << 30, int(words[3]) << 30
        return ProgressInfo(processed_bytes=done, remaining_bytes=total - done, rate_bps=4 << 30, downtime_ms=120)
    return None


async def test_the_running_step_shows_its_output_and_progress_live(tmp_path: Path):
    go = tmp_path / "go"
    first = Step("Print hostile output", sh('printf "moved 1 of 2 G\\n"; printf "\\033]52;c;ZWNobw==\\007 [bold]x\\n" >&2'),
                 progress=Progress(lambda text: None))
    step = Step("Move the memory", sh('echo "moved 12 of 16 G"; while [ ! -e "$1" ]; do sleep 0.02; done; echo finished',
                                      str(go)), progress=Progress(_moved))
    plan = Plan("Migrate x", "local", "migrate", "x", (first, step))
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot, plan, executor(tmp_path))
        await run_it(pilot, screen)
        await wait_for(pilot, lambda: screen.query_one("#plan-progress").has_class("-shown"))
        lines = [strip.text for strip in screen.query_one("#plan-output", RichLog).lines]
        assert "moved 1 of 2 G" in lines and "^[]52;c;ZWNobw==^G [bold]x" in lines and "moved 12 of 16 G" in lines
        assert "▶ 2/2 Move the memory" in plain(screen.query_one("#plan-running"))
        assert not screen.query_one("#plan-stop").display, "no cancel operation: no Cancel step button"
        assert screen.query_one("#plan-progress-bar", ProgressBar).percentage == 0.75
        assert plain(screen.query_one("#plan-progress-text")) == "12G of 16G · 4G/s · about 1s left · downtime 120 ms"
        go.write_text("")
        await wait_for(pilot, lambda: screen.result is not None)
        assert screen.result.ok
        assert not screen.query_one("#plan-live").has_class("-shown"), "once done, each step's lines say it all"
        assert "finished" in plain(screen.query_one("#plan-steps-text"))


async def test_c_cancels_a_step_that_has_a_cancel_operation(tmp_path: Path):
    stop = tmp_path / "cancelled"
    step = Step("Migrate x to t7-b", wait_file(stop, "echo 'migration of x cancelled' >&2; exit 3"),
                cancel=sh('touch "$1"', str(stop)), timeout=None)
    after = Step("Never", sh("true"))
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot, Plan("Migrate x", "local", "migrate", "x", (step, after)), executor(tmp_path))
        await run_it(pilot, screen)
        await wait_for(pilot, lambda: screen.query_one("#plan-stop").display)
        assert "c: cancel it" in plain(screen.query_one("#plan-running"))
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.result is not None)
        assert [o.status for o in screen.result.outcomes] == ["cancelled", "skipped"]
        steps = plain(screen.query_one("#plan-steps-text"))
        assert "⊘ 1. Migrate x to t7-b" in steps and "migration of x cancelled" in steps and "– 2. Never" in steps
        assert plain(screen.query_one("#plan-result")).startswith("Migrate x: cancelled at “Migrate x to t7-b”")


async def test_escape_while_running_asks_and_never_cancels_on_its_own(tmp_path: Path):
    go = tmp_path / "go"
    plan = Plan("Two steps", "local", "x", "x", (Step("Wait", wait_file(go)), Step("Then this", sh("true"))))
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot, plan, executor(tmp_path))
        await run_it(pilot, screen)
        await wait_for(pilot, lambda: screen._status[0] == "running")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StopRunScreen))
        assert "cannot be cancelled: it finishes, then nothing after it runs" in plain(app.screen.query_one("#stop-text"))
        await dialog_ready(pilot)
        await pilot.press("escape")  # keep running
        await wait_for(pilot, lambda: app.screen is screen)
        assert not screen._cancel.is_set()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StopRunScreen))
        await pilot.pause(0.1)
        assert app.focused is app.screen.query_one("#stop-keep"), "keeping it running is the default"
        await pilot.press("tab", "enter")  # Stop after this step
        await wait_for(pilot, lambda: app.screen is screen and screen._cancel.is_set())
        assert "stopping after this step" in plain(screen.query_one("#plan-running"))
        go.write_text("")
        await wait_for(pilot, lambda: screen.result is not None)
        assert [o.status for o in screen.result.outcomes] == ["ok", "skipped"]
        assert plain(screen.query_one("#plan-result")) == "Two steps: stopped after “Wait”; 1 step not run"


async def test_an_unknown_outcome_says_check_the_host_and_offers_no_undo(tmp_path: Path):
    steps = (Step("Make it", sh("true", "make"), undo=sh("true", "unmake")),
             Step("Bind it", sh("true", "bind"), undo=sh("true", "unbind")))
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot, Plan("Create x", "local", "create", "x", steps), executor(tmp_path, lost=("bind",)))
        await run_it(pilot, screen)
        await wait_for(pilot, lambda: screen.result is not None)
        text = plain(screen.query_one("#plan-steps-text"))
        assert "? 2. Bind it" in text and "the link to local dropped" in text
        assert "check the host; no undo offered" in text
        assert "outcome UNKNOWN" in plain(screen.query_one("#plan-result"))
        assert not screen.query_one("#plan-undo").display


async def test_a_failure_offers_the_undo_steps_as_a_plan(tmp_path: Path):
    steps = (Step("Make it", sh("true", "make"), undo=sh("true", "unmake")),
             Step("Break", sh("echo 'no such switch' >&2; exit 1")))
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot, Plan("Create x", "local", "create", "x", steps), executor(tmp_path))
        await run_it(pilot, screen)
        await wait_for(pilot, lambda: screen.result is not None)
        assert "✘ 2. Break" in plain(screen.query_one("#plan-steps-text"))
        assert "no such switch" in plain(screen.query_one("#plan-result"))
        await click_when_shown(pilot, "#plan-undo")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen is not screen)
        assert app.screen.plan.title == "Undo Create x"
        assert "sh -c true sh unmake" in plain(app.screen.query_one("#plan-steps-text"))


async def test_step_input_and_long_arguments_are_shown_and_a_secret_never(tmp_path: Path):
    xml = "<domain type='kvm'>\n  <name>web[/]</name>\n  <memory unit='GiB'>4</memory>\n</domain>"
    plan = Plan("Create web on kvm-a", "kvm-a", "create", "web", (
        Step("Configure the zone", Operation.command("zonecfg", "-z", "web", "-f", "-"),
             input="create -b\nset zonepath=/zones/web\nadd net\nset physical=net0\nend\n"),
        Step("Define web", Operation.api("virDomainDefineXML", ("virsh", "define", "web.xml"), xml=xml)),
        Step("Hand over the password", Operation.command("tee", "/tmp/x"), input="hunter2-secret", secret_input=True),
        Step("Start web", Operation.command("true"), host="kvm-b")))
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 60)) as pilot:
        screen = await open_plan(pilot, plan, executor(tmp_path))
        text = plain(screen.query_one("#plan-steps-text"))
        assert "       set zonepath=/zones/web\n       add net" in text
        assert "virDomainDefineXML(xml=<4 lines, below>)" in text and "         <name>web[/]</name>" in text
        assert "same as: virsh define web.xml" in text
        assert "input: (secret, not shown)" in text and "hunter2" not in screen_text(app)
        assert "4. Start web   on kvm-b" in text


async def test_the_confirm_phrase_and_the_checks_both_gate_run(tmp_path: Path):
    plan = Plan("Destroy @old", "local", "destroy", "old", (Step("Destroy", sh("true")),), confirm_phrase="old",
                checks=(Check("it exists", sh("true")),))
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot, plan, executor(tmp_path))
        await wait_for(pilot, lambda: screen.checks is not None)
        run = screen.query_one("#plan-run", Button)
        assert run.disabled
        await pilot.press(*"old")
        assert screen.query_one("#plan-confirm", Input).value == "old" and not run.disabled
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.result is not None)
        assert screen.result.ok
