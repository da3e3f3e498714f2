"""The snapshot browser: the snapshots of a guest's disks (or of the guest itself, where the hypervisor
snapshots whole domains), with the clones made from each; take a new one, roll back to one (its name
typed to confirm) or destroy one. A snapshot that clones depend on cannot be destroyed, and the browser
says why as soon as it is highlighted. Every change is a Plan from the fleet (`Fleet.plan_snapshot`),
shown on the plan screen first; the list is read again after it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Label, Static
from textual.worker import Worker

from hvdeck.backends.errors import HvdeckError
from hvdeck.backends.model import Domain, HostStatus, Snapshot
from hvdeck.backends.options import Form, TextOption
from hvdeck.backends.plan import Plan, PlanResult
from hvdeck.widgets import format as fmt
from hvdeck.widgets.format import visible

from ..screens.base import GuardedModal
from ..screens.plan import PlanScreen
from .base import WizardScreen

if TYPE_CHECKING:
    from ..app import HvdeckApp


def why_not_snapshots(app: HvdeckApp, domain: Domain) -> str | None:
    """None when ``domain``'s snapshots can be read now (its host answers), else the sentence."""
    snapshot = app.snapshots.get(domain.host)
    if snapshot is None or snapshot.status is not HostStatus.UP:
        return app.host_reason(domain.host) or f"{domain.host} is not connected"
    return None


def destroy_reason(snap: Snapshot) -> str | None:
    """Why ``snap`` cannot be destroyed, or None."""
    if not snap.clones:
        return None
    one = len(snap.clones) == 1
    return (f"@{snap.name} cannot be destroyed: {', '.join(snap.clones)} {'was' if one else 'were'} cloned from it "
            f"and depend{'s' if one else ''} on it")


class SnapshotScreen(GuardedModal[None]):
    """The snapshots of ``domain`` (see the module docstring)."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="snapshots.close"),
        Binding("n", "new", "New snapshot", id="snapshots.new", tooltip="Take a snapshot of the guest's disks"),
        Binding("r", "rollback", "Roll back", id="snapshots.rollback",
                tooltip="Go back to the highlighted snapshot (what was written since is lost)"),
        Binding("d", "destroy", "Destroy", id="snapshots.destroy", tooltip="Destroy the highlighted snapshot"),
        Binding("ctrl+r", "reload", "Reload", id="snapshots.reload", show=False, tooltip="Read the snapshots again"),
    ]
    AUTO_FOCUS = "#snap-table"

    DEFAULT_CSS = """
    SnapshotScreen { align: center middle; }
    SnapshotScreen > #snap-box {
        width: 110; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    SnapshotScreen #snap-head { dock: top; height: auto; padding-top: 1; }
    SnapshotScreen #snap-title { text-style: bold; width: 100%; }
    SnapshotScreen #snap-hint { color: $text-muted; margin-bottom: 1; }
    SnapshotScreen #snap-table { height: auto; max-height: 1fr; }
    SnapshotScreen #snap-foot { dock: bottom; height: auto; }
    SnapshotScreen #snap-status { height: auto; color: $text-muted; }
    SnapshotScreen #snap-status.-error { color: $error; }
    SnapshotScreen #snap-buttons { height: 3; align-horizontal: right; }
    SnapshotScreen #snap-buttons Button { margin-left: 2; }
    """

    class Read(Message):
        def __init__(self, snapshots: tuple[Snapshot, ...]) -> None:
            super().__init__()
            self.snapshots = snapshots

    class Planned(Message):
        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    class Refused(Message):
        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, domain: Domain) -> None:
        super().__init__()
        self.domain = domain
        self.snaps: tuple[Snapshot, ...] = ()
        self._loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(id="snap-box"):
            with Vertical(id="snap-head"):
                yield Label(Text(visible(f"Snapshots of {self.domain.name} on {self.domain.host}")), id="snap-title")
                yield Static("↑↓ choose · n new · r roll back · d destroy · Esc close", id="snap-hint")
            table: DataTable[Text] = DataTable(id="snap-table", cursor_type="row", zebra_stripes=True)
            yield table
            with Vertical(id="snap-foot"):
                yield Static(Text(f"reading the snapshots of {visible(self.domain.name)}…"), id="snap-status")
                with Horizontal(id="snap-buttons"):
                    yield Button("New snapshot…", id="snap-new")
                    yield Button("Roll back…", id="snap-rollback", variant="warning", disabled=True)
                    yield Button("Destroy…", id="snap-destroy", variant="error", disabled=True)
                    yield Button("Close", id="snap-close")

    def on_mount(self) -> None:
        table = self.query_one("#snap-table", DataTable)
        for label in ("OF", "SNAPSHOT", "USED", "CLONES"):
            table.add_column(label, key=label.lower())
        self.action_reload()

    # -- reading --------------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self._read()

    @work(group="snapshots", exclusive=True, exit_on_error=False)
    async def _read(self) -> None:
        self.post_message(self.Read(await self.hvdeck.fleet.snapshots(self.domain.host, self.domain.name)))

    def on_snapshot_screen_read(self, message: "SnapshotScreen.Read") -> None:
        self._loaded = True
        self.snaps = message.snapshots
        table = self.query_one("#snap-table", DataTable)
        table.clear()
        for index, snap in enumerate(self.snaps):
            clones = Text(visible(", ".join(snap.clones)) if snap.clones else "-")
            table.add_row(Text(visible(snap.of)), Text(visible(snap.name)), Text(fmt.size(snap.used_bytes)), clones,
                          key=str(index))
        if not self.snaps:
            self._status(f"{self.domain.name}'s disks have no snapshots yet: n takes one.")
        self._highlighted()

    def current(self) -> Snapshot | None:
        table = self.query_one("#snap-table", DataTable)
        if not self.snaps or table.cursor_row is None or not 0 <= table.cursor_row < len(self.snaps):
            return None
        return self.snaps[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        snap = self.current()
        self.query_one("#snap-rollback", Button).disabled = snap is None
        self.query_one("#snap-destroy", Button).disabled = snap is None or bool(snap.clones)
        if snap is None:
            return
        reason = destroy_reason(snap)
        self._status(reason + "; destroy the clones first" if reason else
                     f"{snap.of}@{snap.name}: roll back to it, or destroy it")

    def _status(self, text: str, *, error: bool = False) -> None:
        box = self.query_one("#snap-status", Static)
        box.update(Text(visible(text, newlines=True)))
        box.set_class(error, "-error")

    # -- changes --------------------------------------------------------------------------------------

    @on(Button.Pressed, "#snap-new")
    def action_new(self) -> None:
        reason = self.hvdeck.host_reason(self.domain.host)
        if reason is not None:
            self._status(f"Cannot take a snapshot: {reason}", error=True)
            return
        fleet, host, name = self.hvdeck.fleet, self.domain.host, self.domain.name
        form = Form(f"Snapshot {name}", (
            TextOption("snapshot", "Snapshot name", placeholder="e.g. before-patch",
                       help=f"a snapshot of each of {name}'s disks, all under this name"),))
        self.hvdeck.push_screen(WizardScreen(f"Take a snapshot of {name} on {host}", form, host=host, runner=fleet,
                                             build=lambda values: fleet.plan_snapshot(host, name, values["snapshot"],
                                                                                      "create")),
                                self._changed)

    @on(Button.Pressed, "#snap-rollback")
    def action_rollback(self) -> None:
        self._plan("rollback")

    @on(Button.Pressed, "#snap-destroy")
    def action_destroy(self) -> None:
        snap = self.current()
        if snap is not None and (reason := destroy_reason(snap)) is not None:
            self._status(reason + "; destroy the clones first", error=True)
            return
        self._plan("destroy")

    @on(Button.Pressed, "#snap-close")
    def _close(self) -> None:
        self.dismiss(None)

    def _plan(self, operation: str) -> None:
        snap = self.current()
        if snap is None:
            return
        reason = self.hvdeck.host_reason(self.domain.host)
        if reason is not None:
            self._status(f"Cannot {'roll back' if operation == 'rollback' else operation}: {reason}", error=True)
            return
        self._status("checking…")
        self._build(snap, operation)

    @work(group="snapshot-plan", exclusive=True, exit_on_error=False)
    async def _build(self, snap: Snapshot, operation: str) -> None:
        try:
            plan = await self.hvdeck.fleet.plan_snapshot(self.domain.host, snap.of, snap.name, operation)
        except HvdeckError as exc:
            self.post_message(self.Refused(exc.message))
            return
        self.post_message(self.Planned(plan))

    def on_snapshot_screen_refused(self, message: "SnapshotScreen.Refused") -> None:
        self._status(message.reason, error=True)

    def on_snapshot_screen_planned(self, message: "SnapshotScreen.Planned") -> None:
        self._highlighted()
        self.hvdeck.push_screen(PlanScreen(message.plan, self.hvdeck.fleet), self._changed)

    def _changed(self, result: PlanResult | None) -> None:
        if result is not None:
            self.action_reload()

    def worker_failed(self, worker: Worker, text: str) -> bool:
        if worker.group == "snapshots":
            self._status(f"Cannot read the snapshots: {text}", error=True)
            return True
        if worker.group == "snapshot-plan":
            self._status(text, error=True)
            return True
        return False
