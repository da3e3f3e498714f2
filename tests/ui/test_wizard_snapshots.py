"""SVG snapshots of the wizards' pages and of the plan screen's preview and run, at 160x48 and 80x24.

Deterministic as `test_snapshots`: pollers off (each host polled once), the clock frozen (the simulated
control domains' figures and the running step's age come from it), no blinking cursors. The LDoms hosts are
the demo's simulated control domains, reached through real SSH; the run view runs real commands on this
machine, one of which waits (for a file that never comes) so that it is drawn while it runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.plan import Check, Executor, Operation, Plan, Progress, Step
from hvdeck.backends.sim.demo import DemoFleet
from hvdeck.tui.screens.plan import PlanScreen
from hvdeck.tui.wizards.base import WizardScreen
from hvdeck.tui.wizards.snapshots import SnapshotScreen
from hvdeck.widgets.form import FormView

from .helpers import dialog_ready, highlight, make_app, wait_for
from .test_plan_run import ShellTarget, _moved, sh

FIXED = Path("/tmp/hvdeck-snapshots")
SIZES = pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])


@pytest.fixture
def ldoms():
    with DemoFleet(libvirt=False, zones=(), xen=(), clock=lambda: 5000.0) as inventory:
        yield inventory


def _app(tmp_path: Path, inventory):
    return make_app(tmp_path, inventory, start_pollers=False, clock=lambda: 1000.0)


async def _load(pilot: Pilot) -> None:
    app = pilot.app
    for host in app.host_names:
        await app.fleet.poll_host(host)
    await wait_for(pilot, lambda: sum(len(s.domains) for s in app.snapshots.values()) == 12)
    await pilot.pause()


def _still(pilot: Pilot) -> None:
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False


async def _wizard(pilot: Pilot, key: str, row: str = "ldg-web1") -> WizardScreen:
    await _load(pilot)
    await highlight(pilot, row)
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, WizardScreen) and bool(pilot.app.screen.query(FormView)))
    await pilot.pause(0.1)
    return pilot.app.screen


async def _page(pilot: Pilot, wizard: WizardScreen, page: int) -> None:
    while wizard.page < page:
        current = wizard.page
        await pilot.press("enter")
        await wait_for(pilot, lambda current=current: wizard.page != current)
        await pilot.pause(0.1)
    _still(pilot)
    await pilot.pause()


@SIZES
@pytest.mark.parametrize("page", [0, 1, 2], ids=["page1", "page2", "page3"])
def test_create_wizard_pages(snap_compare, tmp_path: Path, ldoms, size, page):
    async def run_before(pilot: Pilot) -> None:
        wizard = await _wizard(pilot, "n")
        await pilot.press(*"ldg-web3")
        await _page(pilot, wizard, page)

    assert snap_compare(_app(tmp_path, ldoms), terminal_size=size, run_before=run_before)


@SIZES
def test_create_wizard_with_the_hosts_refusals_on_their_fields(snap_compare, tmp_path: Path, ldoms, size):
    async def run_before(pilot: Pilot) -> None:
        wizard = await _wizard(pilot, "n")
        await pilot.press(*"ldg-db9", "tab", "end", "backspace", "9", "tab", "ctrl+u", *"300G")
        await _page(pilot, wizard, 1)
        await pilot.press(*"20G")
        await _page(pilot, wizard, 2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not wizard._busy and bool(wizard.view.errors))
        _still(pilot)
        await pilot.pause()

    assert snap_compare(_app(tmp_path, ldoms), terminal_size=size, run_before=run_before)


@SIZES
@pytest.mark.parametrize("page", [0, 1], ids=["page1", "page2"])
def test_clone_wizard_pages(snap_compare, tmp_path: Path, ldoms, size, page):
    async def run_before(pilot: Pilot) -> None:
        wizard = await _wizard(pilot, "C")
        await pilot.press(*"ldg-web4")
        await _page(pilot, wizard, page)

    assert snap_compare(_app(tmp_path, ldoms), terminal_size=size, run_before=run_before)


@SIZES
def test_create_plan_preview_with_its_checks(snap_compare, tmp_path: Path, ldoms, size):
    async def run_before(pilot: Pilot) -> None:
        wizard = await _wizard(pilot, "n")
        await pilot.press(*"ldg-web3")
        await _page(pilot, wizard, 1)
        await pilot.press(*"20G")
        await _page(pilot, wizard, 2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PlanScreen) and pilot.app.screen.checks is not None)
        await pilot.pause()

    assert snap_compare(_app(tmp_path, ldoms), terminal_size=size, run_before=run_before)


@SIZES
def test_create_wizard_done_with_what_comes_next(snap_compare, tmp_path: Path, ldoms, size):
    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        wizard = await _wizard(pilot, "n")
        await pilot.press(*"ldg-web3")
        await _page(pilot, wizard, 1)
        await pilot.press(*"20G")
        await _page(pilot, wizard, 2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.checks is not None)
        plan = app.screen
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: plan.result is not None, 30)
        await dialog_ready(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is wizard)
        await app.fleet.poll_host("t7-a")  # the pollers are off: the poll that lists the new guest
        await wait_for(pilot, lambda: "running" in str(wizard.query_one("#wizard-outcome").content))
        await wait_for(pilot, lambda: [b.disabled for b in wizard.query("#wizard-follow-ups Button")] == [False])
        await pilot.pause()

    assert snap_compare(_app(tmp_path, ldoms), terminal_size=size, run_before=run_before)


@SIZES
def test_snapshot_browser_with_a_snapshot_that_has_clones(snap_compare, tmp_path: Path, size):
    fleet = DemoFleet(libvirt=False, zones=(), xen=(), clock=lambda: 5000.0)
    inventory = fleet.start()
    world = fleet.worlds["t7-a"]
    for line in ("zfs snapshot ldompool/ldg-db1-boot@monday", "zfs snapshot ldompool/ldg-db1-data@monday",
                 "zfs snapshot ldompool/ldg-db1-boot@tuesday", "zfs clone ldompool/ldg-db1-boot@monday ldompool/copy"):
        assert world.run_line(line).exit_status == 0

    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "ldg-db1")
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SnapshotScreen) and pilot.app.screen._loaded)
        await pilot.pause()

    try:
        assert snap_compare(_app(tmp_path, inventory), terminal_size=size, run_before=run_before)
    finally:
        fleet.stop()


def _running_plan(go: Path) -> Plan:
    return Plan("Migrate ldg-web1 to t7-b", "t7-a", "migrate", "ldg-web1", (
        Step("Check the target", sh("echo 'dry run: ok'")),
        Step("Migrate ldg-web1 to t7-b", sh('echo "moved 12 of 16 G"; while [ ! -e "$1" ]; do sleep 0.05; done',
                                            str(go)),
             progress=Progress(_moved), timeout=None, cancel=Operation.command("ldm", "cancel-operation", "migration",
                                                                             "ldg-web1")),
        Step("Save the configuration", Operation.command("ldm", "add-spconfig", "after"))),
        checks=(Check("t7-b answers", sh("true")),),
        warning="ldg-web1 keeps running while its memory is copied; it pauses for the last part.")


@SIZES
def test_plan_run_view_with_output_and_progress(snap_compare, tmp_path: Path, ldoms, size):
    go = FIXED / f"go-{size[0]}x{size[1]}"  # shown in the step's command line: the same path on every run
    FIXED.mkdir(exist_ok=True)
    go.unlink(missing_ok=True)

    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        target = ShellTarget()
        screen = PlanScreen(_running_plan(go), Executor(lambda host: target, AuditLog(tmp_path / "run.log")))
        pilot.app.push_screen(screen)
        await wait_for(pilot, lambda: screen.checks is not None)
        await dialog_ready(pilot)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: screen.query_one("#plan-progress").has_class("-shown"))
        await pilot.pause()

    try:
        assert snap_compare(_app(tmp_path, ldoms), terminal_size=size, run_before=run_before)
    finally:
        go.write_text("")


@SIZES
def test_plan_failed_with_the_undo_offer(snap_compare, tmp_path: Path, ldoms, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        target = ShellTarget()
        plan = Plan("Create web9 on t7-a", "t7-a", "create", "web9", (
            Step("Create the domain web9", sh("true", "add-domain"), undo=Operation.command("ldm", "remove-domain", "web9")),
            Step("Add vnet0 on primary-vsw9", sh("echo 'Virtual switch primary-vsw9 not found' >&2; exit 1")),
            Step("Bind web9", Operation.command("ldm", "bind", "web9"))))
        screen = PlanScreen(plan, Executor(lambda host: target, AuditLog(tmp_path / "run.log")))
        pilot.app.push_screen(screen)
        # keys count once the dialog is drawn (`GuardedModal`): on a loaded machine 0.1 s was not always enough
        await wait_for(pilot, lambda: screen.keys_after < time.monotonic())
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: screen.result is not None)
        await pilot.pause(0.2)

    assert snap_compare(_app(tmp_path, ldoms), terminal_size=size, run_before=run_before)
