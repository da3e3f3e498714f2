"""The migration wizard: ``m`` on a running domain (or the palette). Three pages — the target host (others
of the same kind, each with why it cannot be chosen now), the host's migration options (its `Form`: a
secret is typed masked, errors show under their input), the pre-flight checks with pass/fail and the
reason of each — then the plan screen, where the migration runs.

`open_migration` is the entry point: it asks `why_not_migrate` first (the host's own state through the
gate, the domain's state, a kind hvdeck can migrate, a target to go to) and says why instead of opening.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Checkbox, ContentSwitcher, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from hvdeck.backends.errors import HvdeckError
from hvdeck.backends.model import Domain
from hvdeck.backends.options import BoolOption, Form, FormErrors
from hvdeck.backends.options import Option as FormOption
from hvdeck.backends.plan import CheckResult, Plan
from hvdeck.widgets import format as fmt
from hvdeck.widgets.format import visible

from ..screens.base import GuardedModal
from .migrate_logic import LIVE_STATES, free_memory

if TYPE_CHECKING:
    from ..app import HvdeckApp

PAGES = ("page-target", "page-options", "page-checks")


def why_not_migrate(app: HvdeckApp, domain: Domain) -> str | None:
    """None when ``domain`` may be migrated now; else the sentence to show."""
    reason = app.host_reason(domain.host)
    if reason is not None:
        return reason
    if app.fleet.migrate_form(domain) is None:
        kind = app.snapshots[domain.host].kind if domain.host in app.snapshots else "these"
        return f"hvdeck cannot migrate {kind} guests"
    backend = app.fleet.backend(domain.host)
    if domain.state not in LIVE_STATES and (backend is None or backend.LIVE_MIGRATION):
        return f"{domain.name} is {domain.native_state}: only a running domain migrates live"
    if not app.fleet.migration_targets(domain):
        return f"there is no other host of {domain.host}'s kind in the inventory"
    return None


def open_migration(app: HvdeckApp, domain: Domain | None) -> None:
    """The wizard for ``domain``, then its plan on the plan screen; or why it cannot be migrated."""
    if domain is None:
        app.notify("No domain selected", severity="warning")
        return
    reason = why_not_migrate(app, domain)
    if reason is not None:
        app.notify(visible(f"Cannot migrate {domain.name}: {reason}"), severity="warning", markup=False)
        return

    def done(plan: Plan | None) -> None:
        if plan is not None:
            app.show_plan(plan)

    app.push_screen(MigrateWizard(domain), done)


def target_prompt(name: str, why_not: str | None, detail: str) -> Content:
    parts: list[tuple[str, str] | str] = [(visible(name), "bold" if why_not is None else "$text-muted")]
    if detail:
        parts.append((f"   {visible(detail)}", "" if why_not is None else "$text-muted"))
    if why_not is not None:
        parts.append((f"  — {visible(why_not)}", "$text-muted italic"))
    return Content.assemble(*parts)


def checks_text(results: tuple[CheckResult, ...]) -> Text:
    """Each pre-flight check on a line, ✔ or ✘, with its reason (host text made visible)."""
    text = Text()
    for result in results:
        if text:
            text.append("\n")
        text.append("✔ " if result.ok else "✘ ", style="bold green" if result.ok else "bold red")
        text.append(visible(result.check.description))
        if result.reason:
            text.append(f"\n    {visible(result.reason)}", style="dim" if result.ok else "red")
    return text


class MigrateWizard(GuardedModal[Plan | None]):
    """Target, options, pre-flight; dismisses with the Plan (every check passed), or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="migrate.cancel")]

    DEFAULT_CSS = """
    MigrateWizard { align: center middle; }
    MigrateWizard > #migrate-box {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    MigrateWizard #migrate-head { dock: top; height: auto; padding-top: 1; }
    MigrateWizard #migrate-title { text-style: bold; width: 100%; }
    MigrateWizard #migrate-pages-line { color: $text-muted; margin-bottom: 1; }
    MigrateWizard ContentSwitcher { height: auto; max-height: 1fr; }
    MigrateWizard #page-target, MigrateWizard #page-options, MigrateWizard #page-checks { height: auto; }
    MigrateWizard #targets { height: auto; max-height: 12; }
    MigrateWizard .option-row { height: auto; margin-top: 1; }
    MigrateWizard .option-label { width: 22; }
    MigrateWizard .option-row Input { width: 1fr; }
    MigrateWizard .option-row Checkbox { width: 1fr; }
    MigrateWizard .option-help { color: $text-muted; padding-left: 22; }
    MigrateWizard .option-error { color: $error; height: auto; padding-left: 22; display: none; }
    MigrateWizard .option-error.-shown { display: block; }
    MigrateWizard .page-hint { color: $text-muted; margin-bottom: 1; }
    MigrateWizard #migrate-foot { dock: bottom; height: auto; padding-top: 1; }
    MigrateWizard #migrate-status { height: auto; }
    MigrateWizard #migrate-status.-failed { color: $error; }
    MigrateWizard #migrate-buttons { height: 1; align-horizontal: right; margin: 1 0; }
    MigrateWizard #migrate-buttons Button { margin-left: 2; min-width: 10; width: auto; }
    MigrateWizard #migrate-buttons #migrate-next { min-width: 15; }
    """

    def __init__(self, domain: Domain) -> None:
        super().__init__()
        self.domain = domain
        self.target: str | None = None
        self.form: Form | None = None
        self.plan: Plan | None = None
        self.results: tuple[CheckResult, ...] = ()
        self.page = PAGES[0]

    # -- layout ---------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.hvdeck
        form = app.fleet.migrate_form(self.domain)
        self.form = form
        with Vertical(id="migrate-box"):
            with Vertical(id="migrate-head"):
                yield Label(Text(visible(f"Migrate {self.domain.name} from {self.domain.host}")), id="migrate-title")
                yield Static(self._pages_line(), id="migrate-pages-line")
            with ContentSwitcher(initial=PAGES[0]):
                with Vertical(id="page-target"):
                    backend = self.hvdeck.fleet.backend(self.domain.host)
                    live = " live" if backend is None or backend.LIVE_MIGRATION else ""
                    yield Static(f"Move it{live} to (↑↓ choose · Enter next · Esc cancel):", classes="page-hint")
                    yield OptionList(*self._target_options(), id="targets", compact=True)
                with VerticalScroll(id="page-options"):
                    yield Static("Tab between the options · Enter plans and runs the pre-flight checks",
                                 classes="page-hint")
                    for option in (form.options if form is not None else ()):
                        yield from self._option_widgets(option)
                with VerticalScroll(id="page-checks"):
                    yield Static("", id="checks")
            with Vertical(id="migrate-foot"):
                yield Static("", id="migrate-status")
                with Horizontal(id="migrate-buttons"):
                    yield Button("Back", id="migrate-back", compact=True)
                    yield Button("Cancel", id="migrate-cancel", compact=True)
                    yield Button("Next", id="migrate-next", variant="primary", compact=True)

    def _target_options(self) -> list[Option]:
        app = self.hvdeck
        options = []
        source = app.snapshots.get(self.domain.host)
        backend = app.fleet.backend(self.domain.host)
        for name in app.fleet.migration_targets(self.domain):
            snapshot = app.snapshots.get(name)
            why = app.host_reason(name)
            if why is None and backend is not None:
                why = backend.migration_refusal(source.info if source else None, snapshot.info if snapshot else None)
            free = free_memory(snapshot) if snapshot is not None else None
            detail = f"{len(snapshot.domains)} domains" if snapshot is not None else ""
            if free is not None:
                detail += f", {fmt.size(free)} free"
            options.append(Option(target_prompt(name, why, detail), id=f"target:{name}", disabled=why is not None))
        return options

    def _option_widgets(self, option: FormOption) -> ComposeResult:
        """One line per option: its label, then its input (masked for a secret) or checkbox; its help below
        a text input; its error (shown only when there is one) below that."""
        wid = f"opt-{option.name}"
        with Horizontal(classes="option-row"):
            yield Label(Text(option.label), classes="option-label")
            if isinstance(option, BoolOption):
                yield Checkbox(Content(option.help), value=option.default.lower() in ("yes", "y", "true", "on", "1"),
                               id=wid, classes="option-input", compact=True)
            else:
                yield Input(value="" if option.secret else option.default, password=option.secret,
                            placeholder="optional" if not option.required else "", id=wid, classes="option-input",
                            compact=True)
        if option.help and not isinstance(option, BoolOption):
            yield Static(Text(option.help), classes="option-help")
        yield Static("", id=f"err-{option.name}", classes="option-error")

    def _pages_line(self) -> Text:
        text = Text()
        for number, (page, label) in enumerate(zip(PAGES, ("Target", "Options", "Pre-flight checks")), start=1):
            if text:
                text.append("  ·  ")
            text.append(f"{number} {label}", style="bold reverse" if page == self.page else "")
        if self.target:
            text.append(f"      → {visible(self.target)}")
        return text

    def on_mount(self) -> None:
        self._show(PAGES[0])

    def _show(self, page: str) -> None:
        self.page = page
        self.query_one(ContentSwitcher).current = page
        self.query_one("#migrate-pages-line", Static).update(self._pages_line())
        self.query_one("#migrate-back", Button).disabled = page == PAGES[0]
        next_button = self.query_one("#migrate-next", Button)
        next_button.label = "Show the plan" if page == PAGES[2] else "Next"
        next_button.disabled = page == PAGES[2] and not (self.results and all(r.ok for r in self.results))
        if page == PAGES[0]:
            self.query_one("#targets", OptionList).focus()
        elif page == PAGES[1]:
            first = self.query(".option-input").first()
            first.focus()
        else:
            # Show the plan only shows it (the plan screen's Run is never focused first); when a check
            # failed, Back (to change the target or the options): Enter never throws the wizard away
            (next_button if not next_button.disabled else self.query_one("#migrate-back", Button)).focus()

    def _status(self, text: str | Text, *, failed: bool = False) -> None:
        status = self.query_one("#migrate-status", Static)
        status.update(text)
        status.set_class(failed, "-failed")

    # -- page 1: the target ---------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#targets")
    def _target_chosen(self, event: OptionList.OptionSelected) -> None:
        self.target = (event.option.id or "").removeprefix("target:")
        self._status("")
        self._show(PAGES[1])

    # -- page 2: the options ----------------------------------------------------------------------------

    def _texts(self) -> dict[str, str]:
        texts: dict[str, str] = {}
        for option in self.form.options if self.form is not None else ():
            if isinstance(option, BoolOption):
                texts[option.name] = "yes" if self.query_one(f"#opt-{option.name}", Checkbox).value else "no"
            else:
                texts[option.name] = self.query_one(f"#opt-{option.name}", Input).value
        return texts

    def _show_errors(self, errors: dict[str, str]) -> None:
        for option in self.form.options if self.form is not None else ():
            box = self.query_one(f"#err-{option.name}", Static)
            box.update(Text(visible(errors.get(option.name, ""))))
            box.set_class(option.name in errors, "-shown")

    @on(Input.Changed, ".option-input")
    def _edited(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("opt-")
        box = self.query_one(f"#err-{name}", Static)
        box.update("")
        box.remove_class("-shown")

    @on(Input.Submitted, ".option-input")
    def _submitted(self) -> None:
        self.action_next()

    def _plan_options(self) -> None:
        assert self.form is not None and self.target is not None
        try:
            values = self.form.parse(self._texts())
        except FormErrors as exc:
            self._show_errors(exc.errors)
            self._status("Some options are not right: see under each.", failed=True)
            return
        self._show_errors({})
        self._status(Text(visible(f"Planning the migration and running the pre-flight checks on {self.domain.host} "
                                  f"and {self.target}…")))
        self.query_one("#migrate-next", Button).disabled = True
        self._build(self.target, values)

    @work(group="migrate", exclusive=True, exit_on_error=False)
    async def _build(self, target: str, values: dict[str, Any]) -> None:
        fleet = self.hvdeck.fleet
        try:
            plan = await fleet.plan_migrate(self.domain, target, values)
        except FormErrors as exc:
            self._show_errors(exc.errors)
            self._status(Text(visible(exc.message)), failed=True)
            self.query_one("#migrate-next", Button).disabled = False
            return
        except HvdeckError as exc:
            self._status(Text(visible(exc.message, newlines=True)), failed=True)
            self.query_one("#migrate-next", Button).disabled = False
            return
        self.plan = plan
        self.results = await fleet.preflight(plan)
        self.query_one("#checks", Static).update(checks_text(self.results))
        failed = [r for r in self.results if not r.ok]
        if failed:
            self._status(f"{len(failed)} of {len(self.results)} checks failed: the migration cannot run. Back changes "
                         "the target or the options.", failed=True)
        else:
            self._status(f"All {len(self.results)} checks passed. Show the plan, then run it there.")
        self._show(PAGES[2])

    def worker_failed(self, worker: Any, text: str) -> bool:
        if worker.group != "migrate":
            return False
        self._status(Text(f"Planning stopped on an internal error: {visible(text)}"), failed=True)
        self.query_one("#migrate-next", Button).disabled = False
        return True

    # -- buttons ---------------------------------------------------------------------------------------------

    @on(Button.Pressed, "#migrate-next")
    def action_next(self) -> None:
        if self.page == PAGES[0]:
            targets = self.query_one("#targets", OptionList)
            if targets.highlighted is not None:
                option = targets.get_option_at_index(targets.highlighted)
                if not option.disabled:
                    self.target = (option.id or "").removeprefix("target:")
                    self._show(PAGES[1])
        elif self.page == PAGES[1]:
            self._plan_options()
        elif self.plan is not None and self.results and all(r.ok for r in self.results):
            self.dismiss(self.plan)

    @on(Button.Pressed, "#migrate-back")
    def _back(self) -> None:
        if self.page != PAGES[0]:
            self._status("")
            self._show(PAGES[PAGES.index(self.page) - 1])

    @on(Button.Pressed, "#migrate-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
