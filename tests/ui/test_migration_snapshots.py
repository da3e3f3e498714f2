"""SVG snapshots of the migration wizard's pages, the fleet table with marked rows, and the evacuation
screen (planned, and with a migration under way), on the demo's simulated LDoms control domains with the
clock frozen and the pollers off (see test_snapshots.py). The password file's name is fixed here (it is
random otherwise); progress arrives through the screen's own message, as the runner posts it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from hvdeck.backends.plan import ProgressInfo
from hvdeck.tui.wizards.evacuate import EvacuateScreen
from hvdeck.tui.wizards.migrate import MigrateWizard

from .helpers import highlight, wait_for
from .test_snapshots import SIZES, _app, _load, _no_blink


@pytest.fixture
def frozen_ldoms(monkeypatch: pytest.MonkeyPatch):
    from hvdeck.backends.ldoms import migration
    from hvdeck.backends.sim.demo import DemoFleet

    monkeypatch.setattr(migration, "password_file", lambda: "/tmp/hvdeck-migrate-0123456789abcdef")
    with DemoFleet(libvirt=False, zones=(), xen=(), clock=lambda: 5000.0) as inventory:
        yield inventory


async def _wizard(pilot: Pilot, name: str = "ldg-web1") -> MigrateWizard:
    await _load(pilot)
    await highlight(pilot, name)
    await pilot.press("m")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, MigrateWizard))
    await pilot.pause(0.1)
    return pilot.app.screen  # type: ignore[return-value]


@SIZES
def test_migrate_wizard_target_page(snap_compare, tmp_path: Path, frozen_ldoms, size):
    async def run_before(pilot: Pilot) -> None:
        await _wizard(pilot)
        await pilot.pause()

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)


@SIZES
def test_migrate_wizard_options_with_errors(snap_compare, tmp_path: Path, frozen_ldoms, size):
    """A masked password (required, left empty) and a name ldm would refuse, each explained in place."""
    async def run_before(pilot: Pilot) -> None:
        wizard = await _wizard(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: wizard.page == "page-options")
        wizard.query_one("#opt-name", Input).value = "-x"
        await pilot.press("enter")
        await wait_for(pilot, lambda: wizard.query_one("#err-password").has_class("-shown"))
        _no_blink(pilot)
        await pilot.pause()

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)


@SIZES
def test_migrate_wizard_checks_that_fail(snap_compare, tmp_path: Path, frozen_ldoms, size):
    """The demo's t7-b has a guest of every name: the name check and ldm's dry run refuse, with the reason."""
    async def run_before(pilot: Pilot) -> None:
        wizard = await _wizard(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: wizard.page == "page-options")
        await pilot.press(*"pw", "enter")
        await wait_for(pilot, lambda: wizard.page == "page-checks", 20)
        await pilot.pause()

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)


def test_fleet_with_marked_domains(snap_compare, tmp_path: Path, frozen_ldoms):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        for name in ("ldg-web1", "ldg-db1"):
            await highlight(pilot, name)
            await pilot.press("space")
        await highlight(pilot, "primary")
        await pilot.pause()

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=(120, 36), run_before=run_before)


async def _evacuation(pilot: Pilot) -> EvacuateScreen:
    await _load(pilot)
    for name in ("ldg-web1", "ldg-db1"):
        await highlight(pilot, name)
        await pilot.press("space")
    await pilot.press("E")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, EvacuateScreen))
    screen: EvacuateScreen = pilot.app.screen  # type: ignore[assignment]
    await pilot.pause(0.1)
    await pilot.press(*"pw")
    await pilot.click("#evac-plan")
    await wait_for(pilot, lambda: not screen.busy and all(j.plan is not None for j in screen.jobs), 20)
    _no_blink(pilot)
    return screen


@SIZES
def test_evacuation_planned(snap_compare, tmp_path: Path, frozen_ldoms, size):
    """One plan per domain, placed on t7-b; both blocked here (the demo's t7-b has their names), the
    highlighted one's plan and checks below."""
    async def run_before(pilot: Pilot) -> None:
        await _evacuation(pilot)
        await pilot.pause()

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)


def test_evacuation_under_way(snap_compare, tmp_path: Path, frozen_ldoms):
    """A progress row per domain: one running at 42%, one done and where its guest is."""
    from hvdeck.backends.model import HostSnapshot
    from hvdeck.tui.wizards.migrate_logic import Whereabouts

    async def run_before(pilot: Pilot) -> None:
        screen = await _evacuation(pilot)
        first, second = screen.jobs
        screen.post_message(screen.JobChanged(0, dataclasses.replace(
            first, status="running", reason="", progress=ProgressInfo(fraction=0.42, message="migration 42% to t7-b"))))
        screen.post_message(screen.JobChanged(1, dataclasses.replace(
            second, status="done", reason="", progress=ProgressInfo(fraction=1.0),
            where=Whereabouts("ldg-db1 is active on t7-b; t7-a no longer has it.", True))))
        assert isinstance(pilot.app.snapshots["t7-a"], HostSnapshot)
        await pilot.pause(0.1)

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=(120, 36), run_before=run_before)
