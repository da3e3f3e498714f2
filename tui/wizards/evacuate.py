"""The evacuation screen: move several running domains of one host away, live — the domains marked in the
fleet table (Space), or every running domain of the host.

Choose the targets (every other host of the same kind, those that cannot be used now say why), the
migration options (one set for all; a secret such as the LDoms password once per target), how many run
at once and whether to go on after a failure. *Plan* places each domain by free memory
(`migrate_logic.place`), makes one plan per domain and runs its pre-flight checks; the highlighted row shows
its plan and checks below the table. *Run* runs them (`migrate_logic.run_jobs`) with a progress bar per
domain; ``c`` cancels the migrations that are running (each plan's own cancel) and starts no more. When
they end, each row says where its guest is.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Checkbox, DataTable, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from hvdeck.backends.model import Domain
from hvdeck.backends.options import BoolOption, FormErrors
from hvdeck.backends.plan import ProgressInfo
from hvdeck.widgets import format as fmt
from hvdeck.widgets.format import visible

from ..screens.base import HvdeckFooter, HvdeckScreen
from . import migrate_logic as logic
from .migrate import checks_text

if TYPE_CHECKING:
    from ..app import HvdeckApp

COLUMNS = (("domain", "DOMAIN"), ("memory", "MEMORY"), ("target", "TARGET"), ("status", "STATUS"),
           ("progress", "PROGRESS"), ("note", "WHERE / WHY"))
#: columns whose width is fixed (cells); the others grow with their text
WIDTHS = {"status": 9, "progress": 17}
BAR = 12
_STATUS_STYLE = {"waiting": "", "blocked": "bold red", "running": "bold", "done": "bold green", "failed": "bold red",
                 "cancelled": "yellow", "skipped": "dim"}


def why_not_evacuate(app: HvdeckApp, host: str, domains: Sequence[Domain]) -> str | None:
    """None when ``domains`` (of ``host``) may be evacuated now; else why not."""
    reason = app.host_reason(host)
    if reason is not None:
        return reason
    if not domains:
        return f"{host} has no running domain to move"
    if any(d.host != host for d in domains):
        return "the marked domains are on several hosts: evacuate one host at a time"
    if app.fleet.migrate_form(domains[0]) is None:
        return f"hvdeck cannot migrate {app.snapshots[host].kind} guests"
    if not app.fleet.migration_targets(domains[0]):
        return f"there is no other host of {host}'s kind in the inventory"
    return None


def open_evacuation(app: HvdeckApp, host: str | None, marked: Sequence[Domain] = ()) -> None:
    """The evacuation screen for the ``marked`` domains, or (none marked) every running domain of ``host``."""
    if marked:
        host = marked[0].host
        domains = [d for d in marked if logic.movable(d) is None]
    elif host is not None and host in app.snapshots:
        domains = [d for d in app.snapshots[host].domains if logic.movable(d) is None]
    else:
        app.notify("No host selected", severity="warning")
        return
    reason = why_not_evacuate(app, host, domains)
    if reason is not None:
        app.notify(visible(f"Cannot evacuate {host}: {reason}"), severity="warning", markup=False)
        return
    app.push_screen(EvacuateScreen(host, tuple(domains)))


def progress_bar(info: ProgressInfo | None, status: str) -> Text:
    """A text bar: ``██████░░░░░░  50%`` (the fraction known), or the status's word."""
    if status == "done":
        return Text("█" * BAR + " 100%", style="green")
    if info is None or info.fraction is None:
        return Text("…" if status == "running" else "")
    filled = round(info.fraction * BAR)
    return Text("█" * filled + "░" * (BAR - filled) + f" {info.fraction * 100:3.0f}%")


class EvacuateScreen(HvdeckScreen):
    """Evacuate ``host``: its ``domains`` (see the module docstring)."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="evacuate.close", tooltip="Back to the fleet (not while it runs)"),
        Binding("c", "cancel_migrations", "Cancel migrations", id="evacuate.cancel",
                tooltip="Cancel the running migrations (each stays on its source) and start no more"),
    ]

    DEFAULT_CSS = """
    EvacuateScreen #evac-title { text-style: bold; padding: 0 1; height: 1; }
    EvacuateScreen #evac-setup { height: auto; max-height: 14; padding: 0 1; }
    EvacuateScreen #evac-targets-box { width: 36; height: auto; }
    EvacuateScreen #evac-targets { height: auto; max-height: 8; }
    EvacuateScreen #evac-options { width: 1fr; height: auto; max-height: 14; padding-left: 2; }
    EvacuateScreen .option-row { height: 1; }
    EvacuateScreen .option-label { width: 26; }
    EvacuateScreen .option-row Input, EvacuateScreen .option-row Checkbox { width: 1fr; }
    EvacuateScreen .heading { color: $text-muted; text-style: bold; }
    EvacuateScreen #evac-buttons { height: 1; padding: 0 1; margin: 1 0 0 0; }
    EvacuateScreen #evac-buttons Button { margin-right: 2; width: auto; min-width: 10; }
    EvacuateScreen #evac-status { height: auto; padding: 0 1; }
    EvacuateScreen #evac-status.-failed { color: $error; }
    EvacuateScreen #evac-rows { height: 1fr; min-height: 5; margin: 1 0 0 0; }
    EvacuateScreen #evac-detail-box { height: 1fr; border-top: solid $primary; padding: 0 1; }
    """

    class JobChanged(Message):
        """One domain's job changed (planned, checked, started, progressed, ended)."""

        def __init__(self, index: int, job: logic.Job) -> None:
            super().__init__()
            self.index = index
            self.job = job

    class Finished(Message):
        """Planning or the run ended."""

        def __init__(self, phase: str) -> None:
            super().__init__()
            self.phase = phase

    def __init__(self, host: str, domains: tuple[Domain, ...]) -> None:
        super().__init__()
        self.host = host
        self.domains = domains
        self.jobs: list[logic.Job] = [logic.Job(d, None, d.name) for d in domains]
        self.cancel = asyncio.Event()
        self.busy = ""  # "", "planning" or "running"
        self.ran = False

    # -- layout ---------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.hvdeck
        form = app.fleet.migrate_form(self.domains[0])
        self.form = form
        names = ", ".join(d.name for d in self.domains)
        yield Label(Text(visible(f"Evacuate {self.host}: {len(self.domains)} running domains ({names})")),
                    id="evac-title")
        with Horizontal(id="evac-setup"):
            with Vertical(id="evac-targets-box"):
                yield Static("Targets (Space: use or not)", classes="heading")
                yield SelectionList[str](*self._target_selections(), id="evac-targets", compact=True)
            with VerticalScroll(id="evac-options"):
                yield Static("Options (for every migration)", classes="heading")
                with Horizontal(classes="option-row"):
                    yield Label("Migrations at once", classes="option-label")
                    yield Input("1", id="evac-parallel", restrict=r"[0-9]*", compact=True)
                with Horizontal(classes="option-row"):
                    yield Label("After a failure", classes="option-label")
                    yield Checkbox("go on with the others", id="evac-continue", compact=True)
                for option in form.options if form is not None else ():
                    if option.name == "name":
                        continue  # every domain keeps its name
                    if option.secret:
                        for target in app.fleet.migration_targets(self.domains[0]):
                            with Horizontal(classes="option-row"):
                                yield Label(Text(visible(f"{option.label}, {target}")), classes="option-label")
                                yield Input(password=True, id=f"secret-{option.name}-{_ident(target)}", compact=True)
                        continue
                    with Horizontal(classes="option-row"):
                        yield Label(Text(option.label), classes="option-label")
                        if isinstance(option, BoolOption):
                            yield Checkbox(Content(option.help), value=option.default.lower() in ("yes", "true"),
                                           id=f"opt-{option.name}", compact=True)
                        else:
                            yield Input(option.default, placeholder="" if option.required else "optional",
                                        id=f"opt-{option.name}", compact=True, tooltip=option.help)
        with Horizontal(id="evac-buttons"):
            yield Button("Plan", id="evac-plan", variant="primary", compact=True)
            yield Button("Run", id="evac-run", variant="warning", compact=True, disabled=True)
            yield Button("Cancel migrations", id="evac-cancel", compact=True, disabled=True)
            yield Button("Close", id="evac-close", compact=True)
        yield Static("Choose the targets and options, then Plan: nothing runs before Run.", id="evac-status")
        yield DataTable(id="evac-rows", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="evac-detail-box"):
            yield Static("", id="evac-detail")
        yield HvdeckFooter()

    def _target_selections(self) -> list[Selection[str]]:
        app = self.hvdeck
        out = []
        for name in app.fleet.migration_targets(self.domains[0]):
            why = app.host_reason(name)
            snapshot = app.snapshots.get(name)
            free = logic.free_memory(snapshot) if snapshot is not None else None
            label = Text(visible(name))
            if free is not None:
                label.append(f"  {fmt.size(free)} free", style="dim")
            if why is not None:
                label.append(f"  — {visible(why)}", style="dim italic")
            out.append(Selection(label, name, initial_state=why is None, disabled=why is not None))
        return out

    def on_mount(self) -> None:
        table = self.query_one("#evac-rows", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key, width=WIDTHS.get(key))
        for job in self.jobs:
            table.add_row(*self._cells(job), key=job.domain.key)
        secrets = [i for i in self.query(Input) if i.password]
        (secrets[0] if secrets else self.query_one("#evac-plan", Button)).focus()
        self._detail(0)

    def _cells(self, job: logic.Job) -> tuple[Text, ...]:
        note = job.where.sentence if job.where is not None else job.reason
        status = Text(job.status, style=_STATUS_STYLE.get(job.status, ""))
        return (Text(visible(job.domain.name)), Text(fmt.size(job.domain.memory_bytes)),
                Text(visible(job.target or "-")), status, progress_bar(job.progress, job.status),
                Text(visible(note)[:200]))

    def _status(self, text: str | Text, *, failed: bool = False) -> None:
        box = self.query_one("#evac-status", Static)
        box.update(text)
        box.set_class(failed, "-failed")

    # -- the highlighted row's plan and checks ---------------------------------------------------------

    @on(DataTable.RowHighlighted, "#evac-rows")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail(event.cursor_row)

    def _detail(self, index: int) -> None:
        if not 0 <= index < len(self.jobs):
            return
        job = self.jobs[index]
        text = Text()
        if job.plan is None:
            text.append(visible(f"{job.domain.name}: no plan yet" + (f": {job.reason}" if job.reason else "")))
        else:
            text.append(visible(job.plan.title), style="bold")
            if job.plan.warning:
                text.append("\n" + visible(job.plan.warning))
            for number, step in enumerate(job.plan.steps, start=1):
                text.append(f"\n{number}. {visible(step.description)}   [on {visible(step.on(job.plan.host))}]")
                text.append(f"\n     {visible(step.operation.display())}", style="bold")
                if step.operation.equivalent:
                    text.append(f"\n     same as: {visible(shlex.join(step.operation.equivalent))}", style="dim")
            if job.checks:
                text.append("\n\nPre-flight checks\n", style="bold")
                text.append_text(checks_text(job.checks))
        if job.progress is not None and job.status == "running":
            text.append(f"\n\n{visible(job.progress.message)}")
        if job.result is not None and not job.result.ok:
            text.append("\n\n" + visible(job.result.summary(), newlines=True), style="red")
        if job.where is not None:
            text.append("\n\n" + visible(job.where.sentence), style="bold")
        self.query_one("#evac-detail", Static).update(text)

    # -- planning --------------------------------------------------------------------------------------

    def _texts(self) -> dict[str, str]:
        texts: dict[str, str] = {}
        for option in self.form.options if self.form is not None else ():
            if option.secret or option.name == "name":
                continue
            widget = self.query_one(f"#opt-{option.name}")
            if isinstance(widget, Checkbox):
                texts[option.name] = "yes" if widget.value else "no"
            elif isinstance(widget, Input):
                texts[option.name] = widget.value
        return texts

    def _values_by_target(self, targets: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The parsed form values for each target; raises FormErrors (every target's problems)."""
        assert self.form is not None
        texts = self._texts()
        values: dict[str, dict[str, Any]] = {}
        errors: dict[str, str] = {}
        for target in targets:
            own = dict(texts)
            for option in self.form.options:
                if option.secret:
                    own[option.name] = self.query_one(f"#secret-{option.name}-{_ident(target)}", Input).value
            if "name" in {o.name for o in self.form.options}:
                own["name"] = self.domains[0].name  # each plan gets its own domain's name (values_for)
            try:
                values[target] = self.form.parse(own)
            except FormErrors as exc:
                errors.update({f"{name} ({target})" if self.form.option(name).secret else name: message
                               for name, message in exc.errors.items()})
        if errors:
            raise FormErrors(errors)
        return values

    @on(Button.Pressed, "#evac-plan")
    def action_plan(self) -> None:
        if self.busy or self.ran:
            return
        targets = list(self.query_one("#evac-targets", SelectionList).selected)
        if not targets:
            self._status("Choose at least one target.", failed=True)
            return
        try:
            values = self._values_by_target(targets)
        except FormErrors as exc:
            self._status(Text(visible("; ".join(f"{n}: {m}" for n, m in exc.errors.items()))), failed=True)
            return
        app = self.hvdeck
        free = {t: logic.free_memory(app.snapshots[t]) if t in app.snapshots else None for t in targets}
        placements = logic.place(self.domains, targets, free)
        self.jobs = [logic.Job(p.domain, p.target, p.domain.name, status="waiting" if p.target else "blocked",
                               reason=p.reason) for p in placements]
        for index, job in enumerate(self.jobs):
            self._show_job(index, job)
        self.busy = "planning"
        self._set_buttons()
        self._status(f"Planning {len(self.jobs)} migrations and running their pre-flight checks…")
        self._prepare(values)

    @work(group="evacuate", exclusive=True, exit_on_error=False)
    async def _prepare(self, values: dict[str, dict[str, Any]]) -> None:
        def values_for(job: logic.Job) -> dict[str, object]:
            own = dict(values.get(job.target or "", {}))
            if "name" in own:
                own["name"] = job.domain.name
            return own

        await logic.prepare(self.hvdeck.fleet, self.jobs, values_for,
                            lambda i, job: self.post_message(self.JobChanged(i, job)))
        self.post_message(self.Finished("planned"))

    # -- running ---------------------------------------------------------------------------------------

    @on(Button.Pressed, "#evac-run")
    def action_run(self) -> None:
        if self.busy or self.ran or not any(j.status == "waiting" for j in self.jobs):
            return
        try:
            parallel = max(1, int(self.query_one("#evac-parallel", Input).value or "1"))
        except ValueError:
            parallel = 1
        go_on = self.query_one("#evac-continue", Checkbox).value
        if any(j.status == "blocked" for j in self.jobs) and not go_on:
            self._status("Some domains cannot move. Tick “go on with the others” to move the rest.", failed=True)
            return
        self.busy = "running"
        self.ran = True
        self._set_buttons()
        self._status(f"Migrating, {parallel} at a time" + ("; going on after a failure" if go_on else
                                                             "; stopping at the first failure") + ". c cancels.")
        self._run(parallel, go_on)

    @work(group="evacuate", exclusive=True, exit_on_error=False)
    async def _run(self, parallel: int, go_on: bool) -> None:
        await logic.run_jobs(self.hvdeck.fleet, self.jobs, parallel=parallel, continue_on_error=go_on,
                             cancel=self.cancel, on_change=lambda i, job: self.post_message(self.JobChanged(i, job)))
        self.post_message(self.Finished("ran"))

    @on(Button.Pressed, "#evac-cancel")
    def action_cancel_migrations(self) -> None:
        if self.busy != "running" or self.cancel.is_set():
            return
        self.cancel.set()
        self._status("Cancelling the running migrations; no more start…", failed=True)

    # -- updates ---------------------------------------------------------------------------------------

    def on_evacuate_screen_job_changed(self, message: JobChanged) -> None:
        self.jobs[message.index] = message.job
        self._show_job(message.index, message.job)

    def _show_job(self, index: int, job: logic.Job) -> None:
        table = self.query_one("#evac-rows", DataTable)
        for (key, _label), value in zip(COLUMNS, self._cells(job)):
            table.update_cell(job.domain.key, key, value, update_width=key not in WIDTHS)
        if table.cursor_row == index:
            self._detail(index)

    def on_evacuate_screen_finished(self, message: Finished) -> None:
        self.busy = ""
        self._set_buttons()
        jobs = self.jobs
        if message.phase == "planned":
            ready = sum(j.status == "waiting" for j in jobs)
            blocked = [j.domain.name for j in jobs if j.status == "blocked"]
            text = f"{ready} of {len(jobs)} can move"
            if blocked:
                text += f"; cannot: {', '.join(blocked)} (see below)"
            self._status(Text(visible(text + (". Run starts them." if ready else "."))), failed=bool(blocked))
        else:
            arrived = sum(1 for j in jobs if j.where is not None and j.where.arrived)
            self._status(f"{arrived} of {len(jobs)} domains moved. Esc goes back to the fleet.",
                         failed=arrived != len(jobs))
        table = self.query_one("#evac-rows", DataTable)
        self._detail(table.cursor_row)

    def _set_buttons(self) -> None:
        self.query_one("#evac-plan", Button).disabled = bool(self.busy) or self.ran
        self.query_one("#evac-run", Button).disabled = bool(self.busy) or self.ran or not any(
            j.status == "waiting" and j.plan is not None for j in self.jobs)
        self.query_one("#evac-cancel", Button).disabled = self.busy != "running"
        self.query_one("#evac-close", Button).disabled = self.busy == "running"

    def worker_failed(self, worker: Any, text: str) -> bool:
        if worker.group != "evacuate":
            return False
        self.busy = ""
        self._set_buttons()
        self._status(Text(f"The evacuation stopped on an internal error: {visible(text)}. Look at both hosts: the "
                          "audit log has every step that ran."), failed=True)
        return True

    @on(Button.Pressed, "#evac-close")
    def action_close(self) -> None:
        if self.busy == "running":
            self.notify("Migrations are running: cancel them (c) or wait.", severity="warning")
            return
        self.dismiss()


def _ident(name: str) -> str:
    """A widget id part for a host name (ids allow letters, digits, '-' and '_')."""
    return "".join(c if c.isalnum() or c in "-_" else f"_{ord(c):x}_" for c in name)
