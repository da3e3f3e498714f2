"""The console moves the test bed's running guest from hv1 to hv2 (two real libvirtd, each behind its own
sshd): `m`, the target, the options, the pre-flight checks, the plan screen, Run. The fleet table shows it
migrating on both hosts while it moves; afterwards it runs on hv2, its console answers, hv1 has it no more.
Runs in CI, never skipped there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Button, Checkbox, Input

from hvdeck.backends import inventory as inv
from hvdeck.tui.screens.plan import PlanScreen
from hvdeck.tui.wizards.migrate import MigrateWizard

from ..ui.helpers import SIZE, dialog_ready, highlight, make_app, wait_for
from .conftest import MigrationBed
from .guest_console import guest_run


@pytest.fixture
def bed(migration_bed: MigrationBed) -> Iterator[MigrationBed]:
    migration_bed.settle("hv1")
    assert guest_run(migration_bed.uri("hv1"), migration_bed.guest, "true", 90) is not None
    yield migration_bed
    migration_bed.settle("hv1")


async def test_the_console_migrates_the_running_guest_to_hv2(bed: MigrationBed, tmp_path: Path):
    app = make_app(tmp_path, inv.load(bed.inventory(tmp_path / "hosts.yaml")))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any(d.name == bed.guest for d in app.snapshots["hv1"].domains), 60)
        await highlight(pilot, bed.guest)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MigrateWizard), 30)
        wizard = app.screen
        await dialog_ready(pilot)
        await pilot.press("enter")  # hv2
        await wait_for(pilot, lambda: wizard.page == "page-options", 30)
        wizard.query_one("#opt-copy_storage", Checkbox).value = True
        wizard.query_one("#opt-bandwidth", Input).value = "20"  # a few seconds: long enough to be seen moving
        await pilot.click("#migrate-next")
        await wait_for(pilot, lambda: wizard.page == "page-checks", 60)
        assert all(r.ok for r in wizard.results), [(r.check.description, r.reason) for r in wizard.results if not r.ok]
        # the button became "Show the plan" (wider): click it where it is drawn now, not where it was
        await wait_for(pilot, lambda: not wizard.query_one("#migrate-next", Button).disabled)
        await pilot.pause(0.2)
        await pilot.click("#migrate-next")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen), 30)
        plan_screen = app.screen
        await dialog_ready(pilot)
        await pilot.press("tab", "enter")
        migrating: set[str] = set()

        def finished() -> bool:
            for host in bed.hosts:
                snapshot = app.snapshots.get(host)
                if snapshot is not None and any(d.name == bed.guest and d.flags == "migrating"
                                                for d in snapshot.domains):
                    migrating.add(host)
            return plan_screen.result is not None

        await wait_for(pilot, finished, 240)
        assert plan_screen.result.ok, plan_screen.result.summary()
        assert migrating == {"hv1", "hv2"}, "the table showed it migrating on both hosts"
        await wait_for(pilot, lambda: [d.name for d in app.snapshots["hv2"].domains] == [bed.guest]
                       and not app.snapshots["hv1"].domains, 60)
    assert bed.state("hv1") is None and bed.state("hv2") == "running"
    assert guest_run(bed.uri("hv2"), bed.guest, "echo still here") == "still here"
