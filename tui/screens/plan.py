"""The plan screen: see exactly what will run, pass the pre-flight checks, confirm, watch it run step by step
with its output and progress, cancel a long step, and get the undo steps on failure.

What it shows, top to bottom: the title and the plan's warning; the pre-flight checks (`Plan.checks`, run
through the runner's ``preflight`` when the screen opens: each passes or fails with its reason, and Run
stays disabled until every one passes); every step with its exact operation, the host it runs on when
that is not the plan's, its input (a zonecfg script; a secret one is never shown), the long arguments of an
API call in full (a domain XML: `Operation.attachments`) and its undo; once it runs, each step's outcome —
ok, failed, cancelled, unknown ("check the host; no undo offered") or skipped — with its error. While a
plan runs, the running step's line, a progress bar where the step reports progress (`StepProgress`: data
moved and left, rate, time left, downtime) and the live output (`StepOutput`).

Keys: Tab to Run, then Enter (Run is never the default); ``c`` cancels the running step when it has a
cancel operation (a migration); Escape while a plan runs asks first — cancel the step, or stop after it
— and never cancels on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from shlex import join
from typing import Protocol

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, ProgressBar, RichLog, Static
from textual.worker import Worker

from hvdeck.backends.plan import (
    CheckResult,
    Plan,
    PlanEvent,
    PlanResult,
    ProgressInfo,
    StepCallback,
    StepFinished,
    StepOutcome,
    StepOutput,
    StepProgress,
    StepStarted,
    undo_plan,
)
from hvdeck.widgets import format as fmt
from hvdeck.widgets.format import visible

from .base import GuardedModal

_MARKS = {"pending": ("·", "dim"), "running": ("▶", "bold"), "ok": ("✔", "green"),
          "failed": ("✘", "bold red"), "cancelled": ("⊘", "bold yellow"), "unknown": ("?", "bold red"),
          "skipped": ("–", "dim")}
#: lines of a running plan's output kept on screen (the audit log has each step's outcome)
OUTPUT_LINES = 2000
#: an output line longer than this is cut on screen
OUTPUT_LINE_CHARS = 4000
#: rows of live output shown at most (it scrolls)
OUTPUT_ROWS = 7
UNKNOWN_NOTE = "check the host; no undo offered"


def render_checks(plan: Plan, results: tuple[CheckResult, ...] | None, error: str | None = None) -> Text:
    """The pre-flight checks: each pending (``results`` None), passed or failed with its reason."""
    v = fmt.visible
    text = Text("Pre-flight checks", style="bold")
    if error is not None:
        text.append(f"\n  ✘ the checks could not run: {v(error, newlines=True)}", style="bold red")
        return text
    for index, check in enumerate(plan.checks):
        result = results[index] if results is not None and index < len(results) else None
        if result is None:
            text.append(f"\n  · {v(check.description)}", style="dim")
            text.append("  checking…", style="dim italic")
        elif result.ok:
            text.append("\n  ✔ ", style="green")
            text.append(v(check.description))
        else:
            text.append("\n  ✘ ", style="bold red")
            text.append(v(check.description))
            if result.reason:
                text.append(f": {v(result.reason, newlines=True)}", style="red")
    return text


def render_plan(plan: Plan, status: list[str], outcomes: dict[int, StepOutcome],
                starts: list[int] | None = None) -> Group:
    """The steps, each with its exact operation, where it runs, its input and long arguments, its undo,
    and (once run) its outcome. Descriptions, operations and the host's output all carry host text
    (names, paths, stderr): each is a `Text` with its controls made visible, never markup. ``starts``, when
    given, receives the line each step starts on (before wrapping)."""
    v = fmt.visible
    parts: list[Text] = []
    for index, step in enumerate(plan.steps):
        if starts is not None:
            starts.append(sum(part.plain.count("\n") + 1 for part in parts))
        mark, style = _MARKS[status[index]]
        line = Text(f"{mark} {index + 1}. ", style=style)
        line.append(v(step.description))
        host = step.on(plan.host)
        if host != plan.host:
            line.append(f"   on {v(host)}", style="italic")
        parts.append(line)
        parts.append(Text(f"     {v(step.operation.display())}", style="bold"))
        for name, value in step.operation.attachments():
            parts.append(Text(f"     {v(name)}:", style="dim"))
            parts.append(Text(_indent(v(value.rstrip("\n"), newlines=True), 7)))
        if step.operation.equivalent:
            parts.append(Text(f"     same as: {v(join(step.operation.equivalent))}", style="dim"))
        if step.input is not None:
            if step.secret_input:
                parts.append(Text("     input: (secret, not shown)", style="dim"))
            else:
                parts.append(Text("     input:", style="dim"))
                parts.append(Text(_indent(v(step.input.rstrip("\n"), newlines=True), 7)))
        if step.undo is not None:
            parts.append(Text(f"     undo: {v(step.undo.display())}", style="dim italic"))
        if step.always:
            parts.append(Text("     runs even if a step before it fails", style="dim italic"))
        outcome = outcomes.get(index)
        if outcome is None:
            continue
        if outcome.status in ("failed", "cancelled", "unknown") and outcome.error:
            parts.append(Text(_indent(v(str(outcome.error), newlines=True)),
                              style="yellow" if outcome.status == "cancelled" else "red"))
        if outcome.status == "unknown":
            parts.append(Text(f"     {UNKNOWN_NOTE}", style="bold red"))
        elif outcome.status == "ok" and outcome.result is not None and outcome.result.stdout.strip():
            parts.append(Text(_indent(v(outcome.result.stdout.strip(), newlines=True)), style="dim"))
    return Group(*parts)


def _indent(text: str, by: int = 5) -> str:
    pad = " " * by
    return pad + text.replace("\n", "\n" + pad)


def summary(result: PlanResult) -> str:
    """`PlanResult.summary`, and for a plan stopped on request between two steps, which ran and how many did
    not (the executor's summary would say "done")."""
    skipped = [o for o in result.outcomes if o.status == "skipped"]
    if result.refused is None and result.failed is None and skipped:
        ran = [o for o in result.outcomes if o.status == "ok"]
        after = f" after “{ran[-1].step.description}”" if ran else " before its first step"
        return f"{result.plan.title}: stopped{after}; {len(skipped)} step{'s' if len(skipped) > 1 else ''} not run"
    return result.summary()


def progress_text(info: ProgressInfo) -> str:
    """``12G of 16G · 1.2G/s · about 4s left · downtime 120 ms · message``: what the step told."""
    parts: list[str] = []
    done, left = info.processed_bytes, info.remaining_bytes
    if done is not None and left is not None:
        parts.append(f"{fmt.size(done)} of {fmt.size(done + left)}")
    elif done is not None:
        parts.append(f"{fmt.size(done)} moved")
    elif left is not None:
        parts.append(f"{fmt.size(left)} left")
    if info.rate_bps:
        parts.append(f"{fmt.size(info.rate_bps)}/s")
        if left:
            parts.append(f"about {fmt.age(left / info.rate_bps)} left")
    if info.downtime_ms is not None:
        parts.append(f"downtime {info.downtime_ms} ms")
    if info.message:
        parts.append(info.message)
    return " · ".join(parts)


class PlanRunner(Protocol):
    """What runs a plan for the screen: `hvdeck.backends.fleet.Fleet` (the executor behind it). ``preflight``
    is asked only for plans that have checks."""

    async def run_plan(self, plan: Plan, *, on_step: StepCallback | None = None,
                       on_event: Callable[[PlanEvent], None] | None = None,
                       cancel: asyncio.Event | None = None) -> PlanResult: ...

    async def preflight(self, plan: Plan) -> tuple[CheckResult, ...]: ...


class StopRunScreen(GuardedModal[bool]):
    """Asked when Escape is pressed while a plan runs: dismisses with True to cancel the running step (or, for
    a step without a cancel operation, to stop once it has finished), False to keep running."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Keep running", id="plan.keep-running")]
    AUTO_FOCUS = "#stop-keep"

    DEFAULT_CSS = """
    StopRunScreen { align: center middle; }
    StopRunScreen > #stop-box {
        width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: thick $warning; background: $surface; padding: 1 1 0 1;
    }
    StopRunScreen #stop-title { text-style: bold; }
    StopRunScreen #stop-buttons { height: 3; align-horizontal: right; margin-top: 1; }
    StopRunScreen #stop-buttons Button { margin-left: 2; }
    """

    def __init__(self, step: str, cancel: str | None) -> None:
        super().__init__()
        self.step = step
        self.cancel_operation = cancel

    def compose(self) -> ComposeResult:
        with Vertical(id="stop-box"):
            if self.cancel_operation is not None:
                yield Label("Cancel the running step?", id="stop-title")
                yield Static(Text(f"“{visible(self.step)}” is running. Cancelling it runs "
                                  f"{visible(self.cancel_operation)}; nothing after it runs."), id="stop-text")
                stop = "Cancel the step"
            else:
                yield Label("Stop after the running step?", id="stop-title")
                yield Static(Text(f"“{visible(self.step)}” is running and cannot be cancelled: it finishes, "
                                  "then nothing after it runs."), id="stop-text")
                stop = "Stop after this step"
            with Horizontal(id="stop-buttons"):
                yield Button("Keep running", id="stop-keep", variant="primary")
                yield Button(stop, id="stop-yes", variant="warning")

    @on(Button.Pressed, "#stop-keep")
    def _keep(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#stop-yes")
    def _stop(self) -> None:
        self.dismiss(True)


class PlanScreen(GuardedModal[PlanResult | None]):
    """Preview and run one Plan (see the module docstring). Dismisses with the PlanResult (None if it was
    closed before anything ran)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel / close", id="plan.cancel"),
        Binding("ctrl+enter", "run", "Run", id="plan.run", show=False),
        Binding("c", "cancel_step", "Cancel step", id="plan.cancel-step",
                tooltip="Cancel the running step (where it has a cancel operation, such as a migration)"),
    ]

    DEFAULT_CSS = """
    PlanScreen { align: center middle; }
    PlanScreen > #plan-box {
        width: 110; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    PlanScreen #plan-head { dock: top; height: auto; padding-top: 1; }
    PlanScreen #plan-title { text-style: bold; width: 100%; }
    PlanScreen #plan-warning { color: $warning; }
    PlanScreen #plan-hint { color: $text-muted; margin-bottom: 1; }
    PlanScreen #plan-steps { height: auto; max-height: 1fr; }
    PlanScreen #plan-checks { margin-bottom: 1; }
    PlanScreen #plan-live { height: auto; display: none; }
    PlanScreen #plan-live.-shown { display: block; }
    PlanScreen #plan-running { height: auto; color: $text; text-style: bold; }
    PlanScreen #plan-progress { height: 1; display: none; }
    PlanScreen #plan-progress.-shown { display: block; }
    PlanScreen #plan-progress ProgressBar { width: auto; margin-right: 1; }
    PlanScreen #plan-progress-text { width: 1fr; color: $text-muted; }
    PlanScreen #plan-output { height: auto; max-height: 7; display: none; border-left: wide $panel;
                              background: $surface; }
    PlanScreen #plan-output.-shown { display: block; }
    PlanScreen #plan-foot { dock: bottom; height: auto; }
    PlanScreen #plan-result { height: auto; }
    PlanScreen #plan-result.-ok { color: $success; }
    PlanScreen #plan-result.-failed { color: $error; }
    PlanScreen #plan-buttons { height: 3; align-horizontal: right; }
    PlanScreen #plan-buttons Button { margin-left: 2; }
    """

    class RunEvent(Message):
        """An executor event of the running plan, posted from the run worker (handled on the screen)."""

        def __init__(self, event: PlanEvent) -> None:
            super().__init__()
            self.event = event

    class Finished(Message):
        def __init__(self, result: PlanResult) -> None:
            super().__init__()
            self.result = result

    class Checked(Message):
        def __init__(self, results: tuple[CheckResult, ...]) -> None:
            super().__init__()
            self.results = results

    def __init__(self, plan: Plan, runner: PlanRunner) -> None:
        super().__init__()
        self.plan = plan
        self.runner = runner
        self.result: PlanResult | None = None
        self._status = ["pending"] * len(plan.steps)
        self._outcomes: dict[int, StepOutcome] = {}
        self._busy = False
        #: the pre-flight results (None while they run); plans without checks pass at once
        self.checks: tuple[CheckResult, ...] | None = () if not plan.checks else None
        self._checks_error: str | None = None
        self._cancel = asyncio.Event()
        self._current_step: int | None = None
        self._started = 0.0
        self._partial: dict[str, str] = {}
        self._cancel_asked = False
        self._starts: list[int] = []
        self._output_lines = 0

    # -- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-box"):
            with Vertical(id="plan-head"):
                yield Label(Text(visible(self.plan.title)), id="plan-title")
                if self.plan.warning:
                    yield Static(Text(visible(self.plan.warning, newlines=True)), id="plan-warning")
                yield Static(self._hint(), id="plan-hint")
            with VerticalScroll(id="plan-steps"):
                if self.plan.checks:
                    yield Static(render_checks(self.plan, None), id="plan-checks")
                yield Static(self._steps_renderable(), id="plan-steps-text")
            with Vertical(id="plan-foot"):
                with Vertical(id="plan-live"):
                    yield Static("", id="plan-running")
                    with Horizontal(id="plan-progress"):
                        yield ProgressBar(total=100, show_eta=False, id="plan-progress-bar")
                        yield Static("", id="plan-progress-text")
                    yield RichLog(max_lines=OUTPUT_LINES, wrap=True, markup=False, highlight=False, id="plan-output")
                if self.plan.confirm_phrase:
                    yield Input(placeholder=f"type {visible(self.plan.confirm_phrase)} to confirm",
                                id="plan-confirm")
                yield Static("", id="plan-result")
                with Horizontal(id="plan-buttons"):
                    yield Button("Undo completed steps", id="plan-undo", variant="warning")
                    yield Button("Check again", id="plan-recheck")
                    yield Button("Cancel step", id="plan-stop", variant="warning")
                    yield Button("Cancel", id="plan-cancel")
                    yield Button("Run", id="plan-run", variant="error" if self.plan.confirm_phrase else "primary",
                                 disabled=True)

    def _hint(self) -> str:
        if self.checks is None:
            return "Checking the host before anything can run… Esc cancels"
        if self._checks_failed():
            return "A pre-flight check failed: nothing can run. Check again, or Close."
        if self.plan.confirm_phrase:
            return "Type the name, then Enter runs it · Esc cancels"
        return "Nothing has run yet. Tab to Run, then Enter · Esc cancels"

    def on_mount(self) -> None:
        for hidden in ("#plan-undo", "#plan-recheck", "#plan-stop"):
            self.query_one(hidden).display = False
        # Run is never the default: an Enter typed for something else must not start the plan
        if self.plan.confirm_phrase:
            self.query_one("#plan-confirm", Input).focus()
        else:
            self.query_one("#plan-cancel", Button).focus()
        if self.plan.checks:
            self._preflight()
        self._update_run()
        self.set_interval(1.0, self._tick)

    def _steps_renderable(self) -> Group:
        self._starts = []
        return render_plan(self.plan, self._status, self._outcomes, self._starts)

    def _scroll_to_step(self, index: int) -> None:
        """Bring step ``index`` into view in the steps (the running one, or the one that failed)."""
        steps = self.query_one("#plan-steps", VerticalScroll)
        above = self.query_one("#plan-checks").outer_size.height if self.plan.checks else 0
        if index < len(self._starts):
            steps.scroll_to(y=max(0, above + self._starts[index] - 1), animate=False)

    # -- pre-flight ---------------------------------------------------------------------------------

    @work(group="preflight", exclusive=True, exit_on_error=False)
    async def _preflight(self) -> None:
        results = await self.runner.preflight(self.plan)
        self.post_message(self.Checked(tuple(results)))

    def on_plan_screen_checked(self, message: "PlanScreen.Checked") -> None:
        self.checks = message.results
        self._checks_error = None
        self._show_checks()

    def _checks_failed(self) -> bool:
        return self._checks_error is not None or (self.checks is not None and not all(c.ok for c in self.checks))

    def _show_checks(self) -> None:
        self.query_one("#plan-checks", Static).update(render_checks(self.plan, self.checks, self._checks_error))
        self.query_one("#plan-hint", Static).update(self._hint())
        failed = self._checks_failed()
        self.query_one("#plan-recheck").display = failed
        cancel = self.query_one("#plan-cancel", Button)
        cancel.label = "Close" if failed else "Cancel"
        self._update_run()

    @on(Button.Pressed, "#plan-recheck")
    def _recheck(self) -> None:
        if self._busy or self.result is not None:
            return
        self.checks, self._checks_error = None, None
        self.query_one("#plan-recheck").display = False
        self._show_checks()
        self.query_one("#plan-cancel", Button).focus()
        self._preflight()

    # -- confirming and running ---------------------------------------------------------------------

    def _update_run(self) -> None:
        run = self.query_one("#plan-run", Button)
        confirmed = not self.plan.confirm_phrase or \
            self.query_one("#plan-confirm", Input).value == self.plan.confirm_phrase
        checked = self.checks is not None and not self._checks_failed()
        run.disabled = self._busy or self.result is not None or not confirmed or not checked

    @on(Input.Changed, "#plan-confirm")
    def _confirm_changed(self) -> None:
        self._update_run()

    @on(Input.Submitted, "#plan-confirm")
    def _confirm_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.plan.confirm_phrase:
            self.action_run()

    @on(Button.Pressed, "#plan-run")
    def _run_pressed(self) -> None:
        self.action_run()

    @on(Button.Pressed, "#plan-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#plan-stop")
    def _stop_pressed(self) -> None:
        self.action_cancel_step()

    @on(Button.Pressed, "#plan-undo")
    def _undo_pressed(self) -> None:
        if self.result is None:
            return
        plan = undo_plan(self.result)
        if plan is not None:
            self.hvdeck.push_screen(PlanScreen(plan, self.runner))

    def action_run(self) -> None:
        run = self.query_one("#plan-run", Button)
        if self._busy or self.result is not None or run.disabled:
            return
        self._busy = True
        run.disabled = True
        run.display = False
        cancel = self.query_one("#plan-cancel", Button)
        cancel.disabled = True
        cancel.display = False  # Esc asks what to stop; `c` cancels a step that can be
        self.query_one("#plan-hint", Static).update("Running: Esc asks whether to cancel")
        self.query_one("#plan-live").add_class("-shown")
        if self.plan.confirm_phrase:
            self.query_one("#plan-confirm", Input).disabled = True
        self.query_one("#plan-steps").focus()
        self._execute()

    @work(group="plan", exclusive=True, exit_on_error=False)
    async def _execute(self) -> None:
        def on_event(event: PlanEvent) -> None:
            self.post_message(self.RunEvent(event))

        result = await self.runner.run_plan(self.plan, on_event=on_event, cancel=self._cancel)
        self.post_message(self.Finished(result))

    def on_plan_screen_run_event(self, message: "PlanScreen.RunEvent") -> None:
        event = message.event
        if isinstance(event, StepStarted):
            self._flush_output()
            self._status[event.index] = "running"
            self._current_step, self._started = event.index, self.hvdeck.clock()
            self._partial = {}
            self.query_one("#plan-progress").remove_class("-shown")
            step = self.plan.steps[event.index]
            stop = self.query_one("#plan-stop", Button)
            stop.display = step.cancel is not None
            if step.cancel is not None:
                stop.focus()
            self._show_running()
            self._refresh_steps()
            self.call_after_refresh(self._scroll_to_step, event.index)
        elif isinstance(event, StepOutput):
            self._output(event)
        elif isinstance(event, StepProgress):
            if event.index == self._current_step:
                self._progress(event.info)
        elif isinstance(event, StepFinished):
            self._flush_output()
            self._status[event.index] = event.outcome.status
            self._outcomes[event.index] = event.outcome
            if self._current_step == event.index:
                self._current_step = None
                self.query_one("#plan-stop").display = False
                self.query_one("#plan-progress").remove_class("-shown")
            self._show_running()
            self._refresh_steps()

    def _refresh_steps(self) -> None:
        self.query_one("#plan-steps-text", Static).update(self._steps_renderable())

    def _tick(self) -> None:
        if self._current_step is not None:
            self._show_running()

    def _show_running(self) -> None:
        line = self.query_one("#plan-running", Static)
        if self._current_step is None:
            line.update("")
            return
        step = self.plan.steps[self._current_step]
        text = Text(f"▶ {self._current_step + 1}/{len(self.plan.steps)} ")
        text.append(visible(step.description))
        text.append(f"   {fmt.age(self.hvdeck.clock() - self._started)}", style="dim")
        if self._cancel.is_set():
            text.append("   cancel requested…" if step.cancel is not None else "   stopping after this step…",
                        style="yellow")
        elif step.cancel is not None:
            text.append("   c: cancel it", style="dim")
        line.update(text)

    def _output(self, event: StepOutput) -> None:
        """Write whole lines as they come (a chunk may end mid-line); stderr in the error colour."""
        log = self.query_one("#plan-output", RichLog)
        log.add_class("-shown")
        text = self._partial.pop(event.stream, "") + event.text
        *lines, rest = text.split("\n")
        if rest:
            self._partial[event.stream] = rest[-OUTPUT_LINE_CHARS:]
        for line in lines:
            self._write_line(event.stream, line)

    def _flush_output(self) -> None:
        for stream, rest in self._partial.items():
            self._write_line(stream, rest)
        self._partial = {}

    def _write_line(self, stream: str, line: str) -> None:
        log = self.query_one("#plan-output", RichLog)
        shown = visible(line.rstrip("\r")[:OUTPUT_LINE_CHARS])
        log.write(Text(shown, style="red" if stream == "stderr" else ""))
        self._output_lines += 1  # (the log renders its lines once it has a size: count them here)
        if self._output_lines <= OUTPUT_ROWS:  # no empty rows under a few lines; the steps get less room
            log.styles.height = self._output_lines
            if self._current_step is not None:
                self.call_after_refresh(self._scroll_to_step, self._current_step)

    def _progress(self, info: ProgressInfo) -> None:
        box = self.query_one("#plan-progress")
        box.add_class("-shown")
        bar = self.query_one("#plan-progress-bar", ProgressBar)
        fraction = info.fraction
        if fraction is None and info.processed_bytes is not None and info.remaining_bytes is not None:
            total = info.processed_bytes + info.remaining_bytes
            fraction = info.processed_bytes / total if total else None
        if fraction is None:
            bar.update(total=None)
        else:
            bar.update(total=100, progress=max(0.0, min(1.0, fraction)) * 100)
        self.query_one("#plan-progress-text", Static).update(Text(visible(progress_text(info))))

    # -- cancelling ---------------------------------------------------------------------------------

    def action_cancel_step(self) -> None:
        """``c``: cancel the running step at once, where it has a cancel operation."""
        if not self._busy or self._current_step is None:
            return
        step = self.plan.steps[self._current_step]
        if step.cancel is None:
            self.notify("This step has no cancel operation: Esc offers to stop after it.", severity="warning")
            return
        self._request_cancel()

    def _request_cancel(self) -> None:
        self._cancel.set()
        self.query_one("#plan-stop", Button).disabled = True
        self._show_running()

    def action_cancel(self) -> None:
        if self._busy:
            if self._current_step is None or self._cancel.is_set() or self._cancel_asked:
                return
            step = self.plan.steps[self._current_step]

            def answered(stop: bool | None) -> None:
                self._cancel_asked = False
                if stop and self._busy:
                    self._request_cancel()

            self._cancel_asked = True
            self.hvdeck.push_screen(StopRunScreen(step.description, step.cancel.display() if step.cancel else None),
                                    answered)
            return
        self.dismiss(self.result)

    # -- the end ------------------------------------------------------------------------------------

    def on_plan_screen_finished(self, message: "PlanScreen.Finished") -> None:
        result = self.result = message.result
        self._flush_output()
        self._current_step = None
        for index, outcome in enumerate(result.outcomes):
            self._status[index] = outcome.status
            self._outcomes[index] = outcome
        self._refresh_steps()
        self._show_running()
        self.query_one("#plan-live").remove_class("-shown")  # each step's output and error are in its lines now
        bad = next((i for i, o in enumerate(result.outcomes) if o.status in ("failed", "cancelled", "unknown")), None)
        if bad is not None:
            self.call_after_refresh(self._scroll_to_step, bad)
        self._done(fmt.host_text(summary(result), newlines=True), ok=result.ok, undo=bool(result.undo))

    def worker_failed(self, worker: Worker, text: str) -> bool:
        """The executor raised (a bug, not a failed step): say so here and let the dialog be closed. The
        checks could not run: each is shown as not passed, with why."""
        if worker.group == "preflight":
            self._checks_error = text
            self.checks = ()
            self._show_checks()
            return True
        if worker.group != "plan":
            return False
        self._done(Text(f"The plan stopped on an internal error: {visible(text, newlines=True)}\n"
                        "Check the host: the audit log has every step that ran."), ok=False, undo=False)
        return True

    def _done(self, summary: Text, *, ok: bool, undo: bool) -> None:
        self._busy = False
        box = self.query_one("#plan-result", Static)
        box.update(summary)
        box.set_class(ok, "-ok")
        box.set_class(not ok, "-failed")
        if undo:
            self.query_one("#plan-undo", Button).display = True
        self.query_one("#plan-stop").display = False
        cancel = self.query_one("#plan-cancel", Button)
        cancel.label = "Close"
        cancel.disabled = False
        cancel.display = True
        cancel.focus()
        self.query_one("#plan-run", Button).display = False
        self.query_one("#plan-hint", Static).display = False
        self.query_one("#plan-progress").remove_class("-shown")
        if self.plan.confirm_phrase:
            self.query_one("#plan-confirm", Input).disabled = True
