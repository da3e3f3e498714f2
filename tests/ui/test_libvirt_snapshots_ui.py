"""Domain snapshots of a libvirt guest from the console's generic action menu (the demo's kvm-a, libvirt's
test driver): the backend's extra actions need no libvirt-specific screen."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from hvdeck.tui.screens.action_menu import ActionMenuScreen, ParamsScreen
from hvdeck.tui.screens.plan import PlanScreen

from .helpers import SIZE, click_when_shown, fleet_loaded, highlight, make_app, plain, wait_for


async def _menu_item(pilot, item: str) -> None:
    await pilot.press("a")
    assert isinstance(pilot.app.screen, ActionMenuScreen)
    menu = pilot.app.screen.query_one(OptionList)
    option = menu.get_option(f"extra:{item}")
    assert not option.disabled, option.prompt
    menu.highlighted = menu.get_option_index(f"extra:{item}")
    await pilot.press("enter")
    assert isinstance(pilot.app.screen, ParamsScreen)


async def test_take_a_snapshot_and_revert_to_it_from_the_action_menu(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "web01")
        await _menu_item(pilot, "snapshot-create")
        # a name libvirt refuses stays in the dialog, with libvirt's rule
        await pilot.press(*".hidden", "enter")
        await wait_for(pilot, lambda: "cannot start with '.'" in plain(app.screen.query_one("#params-error")))
        assert isinstance(app.screen, ParamsScreen)
        inputs = app.screen.query("Input")
        inputs.first().value = ""
        await pilot.press(*"before-upgrade", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        steps = plain(app.screen.query_one("#plan-steps-text"))
        assert "virDomainSnapshotCreateXML(domain='web01'" in steps
        assert "snapshot-create-as --domain=web01 --name=before-upgrade" in steps
        await click_when_shown(pilot, "#plan-run")
        await wait_for(pilot, lambda: app.screen.result is not None)
        assert app.screen.result.ok, app.screen.result.summary()
        await pilot.press("escape")
        snaps = await app.fleet.snapshots("kvm-a", "web01")
        assert [(s.name, s.current) for s in snaps] == [("before-upgrade", True)]

        await highlight(pilot, "web01")
        await _menu_item(pilot, "snapshot-revert")
        await pilot.press(*"before-upgrade", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        assert "everything written since is lost" in plain(app.screen.query_one("#plan-warning"))
