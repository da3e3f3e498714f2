"""The wizard screen every wizard is: pages built from a backend's `Form`, the host's choices read first,
then the plan screen.

A wizard is one dialog (`WizardScreen`) given a `Form` and three coroutines: ``choices`` reads what the host
offers (pools, switches, snapshots: "reading pools and switches…" while it runs), ``build`` turns the
parsed values into a Plan (the backend checks them against the host then, and its `FormErrors` land under
their fields), and the plan screen runs it. Its pages are the form's options, a few at a time; Next checks
the page's fields, the last page's button ("Show the plan") checks the whole form (`Form.parse`, the form's
own check), then builds the plan. The plan screen shows the pre-flight checks and the exact operations,
runs them with live output and offers the undo steps on failure; when it closes after running, the wizard
shows the outcome on its last page, with what to do next (`FollowUp`: save the configuration to the
service processor…). Closed before anything ran, the wizard is back on its last page with the inputs kept.

The create, clone and snapshot wizards (`create`, `clone`, `snapshots`) and the migration wizard are
made of it; nothing here knows a hypervisor.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker

from hvdeck.backends.errors import HvdeckError
from hvdeck.backends.model import HostSnapshot
from hvdeck.backends.options import Choice, Form, FormErrors
from hvdeck.backends.plan import Plan, PlanResult
from hvdeck.widgets import format as fmt
from hvdeck.widgets.form import FormView
from hvdeck.widgets.format import visible

from ..screens.base import GuardedModal
from ..screens.plan import PlanRunner, PlanScreen, summary

#: the most fields on one page (each is a row, its help and its error: four fit a 24-line terminal)
PAGE_SIZE = 4
#: the keys, on the status line while nothing else is to be said there
HINT = "Tab: next field · Enter: next page, then the plan · Esc: cancel"

ChoicesLoader = Callable[[], Awaitable[Mapping[str, Sequence[Choice]]]]
PlanBuilder = Callable[[dict[str, Any]], Awaitable[Plan]]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Something to do after the plan ran (save the configuration to the SP, attach the console): a button on
    the wizard's last page. ``why_not``: None when it can be done now, else the sentence shown instead."""

    label: str
    run: Callable[[], object]
    why_not: str | None = None


def pages_of(form: Form, size: int = PAGE_SIZE) -> list[tuple[str, ...]]:
    """The form's option names in pages of at most ``size``, as even as they go (11 options: 4, 4, 3)."""
    names = [option.name for option in form.options]
    if not names:
        return [()]
    count = math.ceil(len(names) / size)
    per, extra = divmod(len(names), count)
    pages, start = [], 0
    for index in range(count):
        end = start + per + (1 if index < extra else 0)
        pages.append(tuple(names[start:end]))
        start = end
    return pages


class WizardScreen(GuardedModal[PlanResult | None]):
    """One wizard (see the module docstring). Dismisses with the PlanResult of the plan it ran, or None.

    ``host`` is the host it acts on (the gate is asked before the wizard opens; here it says when the host
    stops answering); ``values`` fill fields in over the options' defaults; ``outcome(result)`` is a line
    about the result once it ran, asked again each time the host reports (``"ldg-web3 is running"``), and
    ``follow_ups(result)`` what can be done next."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="wizard.cancel"),
        Binding("ctrl+b", "back", "Back", id="wizard.back", show=False, tooltip="The previous page"),
        Binding("enter", "next", "Next", id="wizard.next", show=False,
                tooltip="The next page; on the last, show the plan (nothing runs before the plan screen's Run)"),
        # priority: the field changes as Tab arrives, so that the keys after it in one burst (a paste, a
        # fast typist) reach the next field rather than the one they were queued behind
        Binding("tab", "move_focus(1)", "Next field", show=False, priority=True),
        Binding("shift+tab", "move_focus(-1)", "Previous field", show=False, priority=True),
    ]

    DEFAULT_CSS = """
    WizardScreen { align: center middle; }
    WizardScreen > #wizard-box {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    WizardScreen #wizard-head { dock: top; height: auto; padding-top: 1; }
    WizardScreen #wizard-title { text-style: bold; width: 100%; }
    WizardScreen #wizard-intro { color: $warning; height: auto; }
    WizardScreen #wizard-page { color: $text-muted; margin-bottom: 1; }
    WizardScreen #wizard-body { height: auto; max-height: 1fr; }
    WizardScreen #wizard-status { height: auto; color: $text-muted; }
    WizardScreen #wizard-status.-error { color: $error; }
    WizardScreen #wizard-done { height: auto; display: none; }
    WizardScreen #wizard-done.-shown { display: block; }
    WizardScreen #wizard-done-text.-ok { color: $success; }
    WizardScreen #wizard-done-text.-failed { color: $error; }
    WizardScreen #wizard-outcome { margin-top: 1; height: auto; }
    WizardScreen #wizard-follow-ups { height: auto; margin-top: 1; }
    WizardScreen #wizard-follow-ups Button { margin-right: 2; }
    WizardScreen .wizard-follow-reason { color: $text-muted; height: auto; }
    WizardScreen #wizard-foot { dock: bottom; height: auto; }
    WizardScreen #wizard-buttons { height: 3; align-horizontal: right; }
    WizardScreen #wizard-buttons Button { margin-left: 2; }
    """

    class ChoicesRead(Message):
        def __init__(self, choices: Mapping[str, Sequence[Choice]]) -> None:
            super().__init__()
            self.choices = choices

    class Built(Message):
        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    class Refused(Message):
        """The backend refused the inputs: each error under its field (or on the status line)."""

        def __init__(self, errors: Mapping[str, str], message: str) -> None:
            super().__init__()
            self.errors = dict(errors)
            self.message = message

    def __init__(self, title: str, form: Form, *, host: str, build: PlanBuilder, runner: PlanRunner,
                 choices: ChoicesLoader | None = None, reading: str = "reading what the host offers…",
                 intro: str = "", values: Mapping[str, str] | None = None,
                 outcome: Callable[[PlanResult], str | None] | None = None,
                 follow_ups: Callable[[PlanResult], Sequence[FollowUp]] | None = None,
                 page_size: int = PAGE_SIZE,
                 field_checks: Mapping[str, Callable[[str], str | None]] | None = None) -> None:
        super().__init__()
        self.field_checks = dict(field_checks or {})
        self.title_text = title
        self.form = form
        self.host = host
        self.build = build
        self.runner = runner
        self.load_choices = choices
        self.reading = reading
        self.intro = intro
        self.values = dict(values or {})
        self.outcome = outcome
        self.follow_ups = follow_ups
        self.page_size = page_size
        self.pages: list[tuple[str, ...]] = []
        self.page = 0
        self.result: PlanResult | None = None
        #: the plan last built (shown again by "Show the plan" when the inputs did not change)
        self.plan: Plan | None = None
        self._busy = False
        self._follow: list[FollowUp] = []
        self._mounts = 0  # follow-up buttons get new ids each time they are mounted again

    # -- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="wizard-box"):
            with Vertical(id="wizard-head"):
                yield Label(Text(visible(self.title_text)), id="wizard-title")
                if self.intro:
                    yield Static(Text(visible(self.intro, newlines=True)), id="wizard-intro")
                yield Static("", id="wizard-page")
            with VerticalScroll(id="wizard-body"), Vertical(id="wizard-done"):
                yield Static("", id="wizard-done-text")
                yield Static("", id="wizard-outcome")
                yield Horizontal(id="wizard-follow-ups")
            with Vertical(id="wizard-foot"):
                yield Static(Text(visible(self.reading)), id="wizard-status")
                with Horizontal(id="wizard-buttons"):
                    # Escape cancels; Tab never lands on Cancel, so that Tab then Enter (as on the plan
                    # screen) cannot throw away what was typed
                    cancel = Button("Cancel", id="wizard-cancel")
                    cancel.can_focus = False
                    yield cancel
                    yield Button("Back", id="wizard-back", disabled=True)
                    yield Button("Next", id="wizard-next", variant="primary", disabled=True)

    def action_move_focus(self, step: int) -> None:
        if step > 0:
            self.focus_next()
        else:
            self.focus_previous()

    @property
    def view(self) -> FormView:
        return self.query_one(FormView)

    def on_mount(self) -> None:
        self.query_one("#wizard-cancel", Button).focus()
        self.hvdeck.fleet_changed.subscribe(self, self._on_fleet_changed)
        if self.load_choices is None:
            self.call_after_refresh(self._show_form)
        else:
            self._read_choices()

    @work(group="choices", exclusive=True, exit_on_error=False)
    async def _read_choices(self) -> None:
        assert self.load_choices is not None
        self.post_message(self.ChoicesRead(await self.load_choices()))

    async def on_wizard_screen_choices_read(self, message: "WizardScreen.ChoicesRead") -> None:
        self.form = self.form.with_choices({name: tuple(offered) for name, offered in message.choices.items()})
        await self._show_form()

    async def _show_form(self) -> None:
        await self.query_one("#wizard-body").mount(FormView(self.form, values=self.values, id="wizard-form",
                                                             field_checks=self.field_checks),
                                                    before="#wizard-done")
        self.pages = pages_of(self.form, self.page_size)
        self._status("")
        self._show_page(0)

    def _show_page(self, page: int) -> None:
        self.page = page
        names = self.pages[page]
        self.view.show_only(names)
        self.view.display = True
        self.query_one("#wizard-done").remove_class("-shown")
        labels = ", ".join(self.form.option(name).label for name in names)
        count = f"Page {page + 1} of {len(self.pages)} · " if len(self.pages) > 1 else ""
        self.query_one("#wizard-page", Static).update(Text(f"{count}{visible(labels)}"))
        last = page == len(self.pages) - 1
        nxt = self.query_one("#wizard-next", Button)
        nxt.label = "Show the plan" if last else "Next"
        nxt.disabled = False
        nxt.display = True
        self.query_one("#wizard-back", Button).disabled = page == 0
        self.query_one("#wizard-back", Button).display = True
        self.query_one("#wizard-body").scroll_home(animate=False)
        if names:
            self.view.focus_field(names[0])
        self._guard()

    def _guard(self) -> None:
        """A new page is a new dialog: keys typed before it was drawn do not act on it (`GuardedModal`)."""
        self.keys_after = float("inf")
        self.call_after_refresh(self._painted)

    def _status(self, text: str, *, error: bool = False) -> None:
        """The line above the buttons: what is going on, or what is wrong; else the keys (`HINT`)."""
        box = self.query_one("#wizard-status", Static)
        if not text and self.pages and self.result is None:
            text = HINT
        box.update(Text(visible(text, newlines=True)))
        box.set_class(error, "-error")
        box.display = bool(text)

    # -- moving through the pages -----------------------------------------------------------------

    @on(Button.Pressed, "#wizard-next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#wizard-back")
    def _back_pressed(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#wizard-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted, "#wizard-form Input")
    def _submitted(self) -> None:
        """Enter in a text box: the page's Next (keys typed before the page was drawn never get here)."""
        self.action_next()

    @on(FormView.Changed)
    def _edited(self) -> None:
        self.plan = None
        if not self._busy:
            self._status("")

    def action_next(self) -> None:
        if self._busy or not self.pages or self.result is not None:
            return
        names = self.pages[self.page]
        errors = self.view.check(names)
        if errors:
            self.view.focus_field(next(iter(errors)))
            return
        if self.page < len(self.pages) - 1:
            self._show_page(self.page + 1)
            return
        try:
            values = self.view.parse()
        except FormErrors as exc:
            self._refused(exc.errors, exc.message)
            return
        self._busy = True
        self.query_one("#wizard-next", Button).disabled = True
        self._status(f"checking the inputs against {self.host}…")
        self._build(values)

    def action_back(self) -> None:
        if self._busy or self.result is not None or self.page == 0 or not self.pages:
            return
        self._show_page(self.page - 1)

    def action_cancel(self) -> None:
        if self._busy:
            self.workers.cancel_group(self, "build")
            self._busy = False
        self.dismiss(self.result)

    # -- the plan --------------------------------------------------------------------------------------

    @work(group="build", exclusive=True, exit_on_error=False)
    async def _build(self, values: dict[str, Any]) -> None:
        try:
            plan = await self.build(values)
        except FormErrors as exc:
            self.post_message(self.Refused(exc.errors, exc.message))
            return
        except HvdeckError as exc:
            self.post_message(self.Refused({}, exc.message))
            return
        self.post_message(self.Built(plan))

    def on_wizard_screen_refused(self, message: "WizardScreen.Refused") -> None:
        self._busy = False
        self.query_one("#wizard-next", Button).disabled = False
        self._refused(message.errors, message.message)

    def _refused(self, errors: Mapping[str, str], message: str) -> None:
        """Show each error under its field and go to the first page with one; the rest on the status line."""
        if not errors:
            self._status(message, error=True)
            return
        unplaced = self.view.show_errors(errors)
        labels = [option.label for option in self.form.options if option.name in errors]
        self._status("; ".join(unplaced.values()) if unplaced else
                     f"To change: {', '.join(labels)} (the reason is under each)", error=True)
        for page, names in enumerate(self.pages):
            first = next((name for name in names if name in errors), None)
            if first is not None:
                if page != self.page:
                    self._show_page(page)
                self.view.focus_field(first)
                return

    def on_wizard_screen_built(self, message: "WizardScreen.Built") -> None:
        self._busy = False
        self.plan = message.plan
        self.query_one("#wizard-next", Button).disabled = False
        self._status("")
        self.hvdeck.push_screen(PlanScreen(message.plan, self.runner), self._plan_closed)

    def _plan_closed(self, result: PlanResult | None) -> None:
        if result is None:
            self._status("Nothing ran. Change the inputs and show the plan again, or Cancel.")
            return
        self.result = result
        if result.ok and self.outcome is None and self.follow_ups is None:
            self.dismiss(result)  # nothing more to say or to do than the plan screen said
            return
        self._show_done()

    def _show_done(self) -> None:
        """The last page: the outcome, and what can be done next."""
        result = self.result
        assert result is not None
        self.view.display = False
        self.query_one("#wizard-page", Static).update("Done" if result.ok else "Not done")
        done = self.query_one("#wizard-done")
        done.add_class("-shown")
        text = self.query_one("#wizard-done-text", Static)
        text.update(fmt.host_text(summary(result), newlines=True))
        text.set_class(result.ok, "-ok")
        text.set_class(not result.ok, "-failed")
        for name in ("#wizard-back", "#wizard-next"):
            self.query_one(name).display = False
        cancel = self.query_one("#wizard-cancel", Button)
        cancel.label = "Close"
        cancel.can_focus = True  # now the only way on
        cancel.focus()
        self._status("")
        self._show_outcome()
        self._guard()

    def _show_outcome(self) -> None:
        result = self.result
        if result is None:
            return
        line = self.outcome(result) if self.outcome is not None else None
        self.query_one("#wizard-outcome", Static).update(Text(visible(line or "")))
        follow = list(self.follow_ups(result)) if self.follow_ups is not None else []
        box = self.query_one("#wizard-follow-ups", Horizontal)
        buttons = list(box.query(Button))
        self._follow = follow
        if len(buttons) == len(follow):  # the same things to do, perhaps now possible: update them in place
            for button, item in zip(buttons, follow):
                button.label = Text(visible(item.label))
                button.disabled = item.why_not is not None
                button.tooltip = Text(visible(item.why_not)) if item.why_not else None
            return
        box.remove_children()
        box.mount_all(Button(Text(visible(item.label)), id=f"wizard-follow-{self._mounts}-{index}",
                             disabled=item.why_not is not None,
                             tooltip=Text(visible(item.why_not)) if item.why_not else None)
                      for index, item in enumerate(follow))
        self._mounts += 1

    @on(Button.Pressed, "#wizard-follow-ups Button")
    def _follow_pressed(self, event: Button.Pressed) -> None:
        index = list(self.query_one("#wizard-follow-ups").query(Button)).index(event.button)
        if 0 <= index < len(self._follow) and self._follow[index].why_not is None:
            self._follow[index].run()

    def _on_fleet_changed(self, snapshot: HostSnapshot) -> None:
        if snapshot.host == self.host and self.result is not None:
            self._show_outcome()

    def worker_failed(self, worker: Worker, text: str) -> bool:
        """Reading the choices or building the plan failed: say so on the status line; a wizard whose choices
        could not be read can only be closed."""
        if worker.group == "choices":
            self._status(f"Cannot read what {self.host} offers: {text}", error=True)
            close = self.query_one("#wizard-cancel", Button)
            close.label = "Close"
            close.can_focus = True
            close.focus()
            return True
        if worker.group == "build":
            self._busy = False
            self.query_one("#wizard-next", Button).disabled = False
            self._status(f"The plan could not be made: {text}", error=True)
            return True
        return False
