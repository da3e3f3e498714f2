"""The plan screen: see exactly what will run, confirm, watch it run, and get the undo steps on failure."""

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
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker

from hvdeck.backends.plan import Plan, PlanEvent, PlanResult, StepCallback, StepOutcome, undo_plan
from hvdeck.widgets import format as fmt
from hvdeck.widgets.format import visible

from .base import GuardedModal

_MARKS = {"pending": ("·", "dim"), "running": ("▶", "bold"), "ok": ("✔", "green"),
          "failed": ("✘", "bold red"), "skipped": ("–", "dim")}


def render_plan(plan: Plan, status: list[str], outcomes: dict[int, StepOutcome]) -> Group:
    """The steps, each with its exact operation, its undo, and (once run) its result. Descriptions,
    operations and the host's output all carry host text (names, paths, stderr): each is a `Text`
    with its controls made visible, never markup."""
    v = fmt.visible
    parts: list[Text] = []
    for index, step in enumerate(plan.steps):
        mark, style = _MARKS[status[index]]
        line = Text(f"{mark} {index + 1}. ", style=style)
        line.append(v(step.description))
        parts.append(line)
        parts.append(Text(f"     {v(step.operation.display())}", style="bold"))
        if step.operation.equivalent:
            parts.append(Text(f"     same as: {v(join(step.operation.equivalent))}", style="dim"))
        if step.undo is not None:
            parts.append(Text(f"     undo: {v(step.undo.display())}", style="dim italic"))
        outcome = outcomes.get(index)
        if outcome is not None and outcome.status == "failed":
            parts.append(Text(_indent(v(str(outcome.error), newlines=True)), style="red"))
        elif outcome is not None and outcome.result is not None and outcome.result.stdout.strip():
            parts.append(Text(_indent(v(outcome.result.stdout.strip(), newlines=True)), style="dim"))
    return Group(*parts)


def _indent(text: str) -> str:
    return "     " + text.replace("\n", "\n     ")


class PlanRunner(Protocol):
    """What runs a plan for the screen: `hvdeck.backends.fleet.Fleet.run_plan` (the executor behind it)."""

    async def run_plan(self, plan: Plan, *, on_step: StepCallback | None = None,
                       on_event: Callable[[PlanEvent], None] | None = None,
                       cancel: asyncio.Event | None = None) -> PlanResult: ...


class PlanScreen(GuardedModal[PlanResult | None]):
    """Preview and run one Plan. Dismisses with the PlanResult (None if cancelled)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel / close", id="plan.cancel"),
        Binding("ctrl+enter", "run", "Run", id="plan.run", show=False),
    ]

    DEFAULT_CSS = """
    PlanScreen { align: center middle; }
    PlanScreen > #plan-box {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    PlanScreen #plan-head { dock: top; height: auto; padding-top: 1; }
    PlanScreen #plan-title { text-style: bold; width: 100%; }
    PlanScreen #plan-warning { color: $warning; }
    PlanScreen #plan-hint { color: $text-muted; margin-bottom: 1; }
    PlanScreen #plan-steps { height: auto; max-height: 1fr; }
    PlanScreen #plan-foot { dock: bottom; height: auto; }
    PlanScreen #plan-result { height: auto; }
    PlanScreen #plan-result.-ok { color: $success; }
    PlanScreen #plan-result.-failed { color: $error; }
    PlanScreen #plan-buttons { height: 3; align-horizontal: right; }
    PlanScreen #plan-buttons Button { margin-left: 2; }
    """

    class StepChanged(Message):
        def __init__(self, index: int, outcome: StepOutcome | None) -> None:
            super().__init__()
            self.index = index
            self.outcome = outcome

    class Finished(Message):
        def __init__(self, result: PlanResult) -> None:
            super().__init__()
            self.result = result

    def __init__(self, plan: Plan, runner: PlanRunner) -> None:
        super().__init__()
        self.plan = plan
        self.runner = runner
        self.result: PlanResult | None = None
        self._status = ["pending"] * len(plan.steps)
        self._outcomes: dict[int, StepOutcome] = {}
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-box"):
            with Vertical(id="plan-head"):
                yield Label(Text(visible(self.plan.title)), id="plan-title")
                if self.plan.warning:
                    yield Static(Text(visible(self.plan.warning, newlines=True)), id="plan-warning")
                yield Static(self._hint(), id="plan-hint")
            with VerticalScroll(id="plan-steps"):
                yield Static(self._steps_renderable(), id="plan-steps-text")
            with Vertical(id="plan-foot"):
                if self.plan.confirm_phrase:
                    yield Input(placeholder=f"type {visible(self.plan.confirm_phrase)} to confirm",
                                id="plan-confirm")
                yield Static("", id="plan-result")
                with Horizontal(id="plan-buttons"):
                    yield Button("Undo completed steps", id="plan-undo", variant="warning", classes="-hidden")
                    yield Button("Cancel", id="plan-cancel")
                    yield Button("Run", id="plan-run", variant="error" if self.plan.confirm_phrase else "primary",
                                 disabled=bool(self.plan.confirm_phrase))

    def _hint(self) -> str:
        if self.plan.confirm_phrase:
            return "Type the name, then Enter runs it · Esc cancels"
        return "Nothing has run yet. Tab to Run, then Enter · Esc cancels"

    def on_mount(self) -> None:
        self.query_one("#plan-undo").display = False
        # Run is never the default: an Enter typed for something else must not start the plan
        if self.plan.confirm_phrase:
            self.query_one("#plan-confirm", Input).focus()
        else:
            self.query_one("#plan-cancel", Button).focus()

    def _steps_renderable(self) -> Group:
        return render_plan(self.plan, self._status, self._outcomes)

    @on(Input.Changed, "#plan-confirm")
    def _confirm_changed(self, event: Input.Changed) -> None:
        self.query_one("#plan-run", Button).disabled = event.value != self.plan.confirm_phrase

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
        self.query_one("#plan-cancel", Button).disabled = True
        self._execute()

    @work(group="plan", exclusive=True, exit_on_error=False)
    async def _execute(self) -> None:
        result = await self.runner.run_plan(
            self.plan, on_step=lambda i, outcome: self.post_message(self.StepChanged(i, outcome)))
        self.post_message(self.Finished(result))

    def on_plan_screen_step_changed(self, message: "PlanScreen.StepChanged") -> None:
        if message.outcome is None:
            self._status[message.index] = "running"
        else:
            self._status[message.index] = message.outcome.status
            self._outcomes[message.index] = message.outcome
        self.query_one("#plan-steps-text", Static).update(self._steps_renderable())

    def on_plan_screen_finished(self, message: "PlanScreen.Finished") -> None:
        result = self.result = message.result
        for index, outcome in enumerate(result.outcomes):
            self._status[index] = outcome.status
            self._outcomes[index] = outcome
        self.query_one("#plan-steps-text", Static).update(self._steps_renderable())
        self._done(fmt.host_text(result.summary(), newlines=True), ok=result.ok, undo=bool(result.undo))

    def worker_failed(self, worker: Worker, text: str) -> bool:
        """The executor raised (a bug, not a failed step): say so here and let the dialog be closed."""
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
        cancel = self.query_one("#plan-cancel", Button)
        cancel.label = "Close"
        cancel.disabled = False
        cancel.focus()
        self.query_one("#plan-run", Button).display = False
        self.query_one("#plan-hint", Static).display = False
        if self.plan.confirm_phrase:
            self.query_one("#plan-confirm", Input).disabled = True

    def action_cancel(self) -> None:
        if self._busy:
            self.notify("The plan is running; wait for its last step to finish.", severity="warning")
            return
        self.dismiss(self.result)
