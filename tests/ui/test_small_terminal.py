"""Every dialog works at 80x24 (and smaller): its buttons are always on screen, its body scrolls, and the
highlighted item of a list is always visible, so that Enter never opens something the user cannot see."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.errors import NoWidget
from textual.widget import Widget
from textual.widgets import OptionList

from hvdeck.backends.errors import HostKeyUnknown
from hvdeck.tui.screens.action_menu import ActionMenuScreen, ParamsScreen
from hvdeck.tui.screens.help import HelpScreen
from hvdeck.tui.screens.host_key import HostKeyScreen
from hvdeck.tui.screens.plan import PlanScreen

from .helpers import fleet_loaded, highlight, make_app, wait_for

SMALL = [(80, 24), (80, 18)]


def shown(widget: Widget) -> bool:
    """Is the whole of ``widget`` on screen and not covered (its corners are hit by the mouse)?"""
    screen = widget.screen
    region = widget.region
    if region.area == 0 or not screen.region.contains_region(region):
        return False
    for x, y in ((region.x, region.y), (region.right - 1, region.bottom - 1)):
        try:
            hit, _ = screen.get_widget_at(x, y)
        except NoWidget:
            return False
        if hit is not widget and widget not in hit.ancestors:
            return False
    return True


@pytest.fixture
def ldoms_fleet():
    from hvdeck.backends.sim.demo import DemoFleet

    with DemoFleet(libvirt=False, zones=(), xen=()) as inventory:
        yield inventory


@pytest.mark.parametrize("size", SMALL, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_plan_dialog_always_shows_its_buttons(tmp_path: Path, ldoms_fleet, size):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=size) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-build")  # inactive: bind, then start — two steps with undo lines
        await pilot.press("s")
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        await pilot.pause(0.2)
        for button in ("#plan-cancel", "#plan-run"):
            assert shown(screen.query_one(button)), button
        steps = screen.query_one("#plan-steps")
        assert steps.region.height >= 1
        if steps.max_scroll_y:  # the body scrolls within the dialog rather than pushing the buttons off
            steps.scroll_end(animate=False)
            await pilot.pause()
            assert shown(screen.query_one("#plan-run"))
        await pilot.press("escape")


@pytest.mark.parametrize("size", SMALL, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_force_off_at_a_small_size_shows_the_name_box_and_the_buttons(tmp_path: Path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "web01")
        await pilot.press("F")
        await pilot.pause(0.2)
        screen = app.screen
        for part in ("#plan-confirm", "#plan-cancel", "#plan-run", "#plan-title"):
            assert shown(screen.query_one(part)), part


@pytest.mark.parametrize("size", [(80, 24), (80, 16)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_highlighted_action_is_always_visible(tmp_path: Path, ldoms_fleet, size):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=size) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-test")
        await pilot.press("a")
        screen = app.screen
        assert isinstance(screen, ActionMenuScreen)
        await pilot.pause(0.2)
        menu = screen.query_one(OptionList)
        assert shown(menu), "the list fits in the dialog, which fits on screen"
        for key in ("end", "home", "end"):
            await pilot.press(key)
            await pilot.pause(0.1)
            top, rows = menu.scroll_offset.y, menu.scrollable_content_region.height
            first = menu._index_to_line[menu.highlighted]  # the option's lines in the list (it may wrap)
            last = first + menu._heights[menu.highlighted] - 1
            assert top <= first and last < top + rows, f"{key}: rows {first}-{last} of the list off screen"
        chosen = menu.get_option_at_index(menu.highlighted).id
        assert chosen == "extra:add-spconfig", "the last action: save the configuration to the SP"
        await pilot.press("enter")
        assert isinstance(app.screen, ParamsScreen) and app.screen.action.id == "add-spconfig"


@pytest.mark.parametrize("size", SMALL, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_other_dialogs_fit(tmp_path: Path, ldoms_fleet, size):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=size) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-test")
        extra = next(e for e in app.fleet.backend("t7-a").extra_actions() if e.id == "set-vcpu")
        app.request_extra(app.screen.current_domain(), extra)
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen))
        await pilot.pause(0.2)
        for part in ("#params-ok", "#params-cancel", "Input"):
            assert shown(app.screen.query_one(part)), part
        await pilot.press("escape")
        problem = HostKeyUnknown("unknown", host="lab1", address="192.0.2.10", port=22,
                                 fingerprint="SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
                                 key_line="ssh-ed25519 AAAA", known_hosts="/home/ops/.ssh/known_hosts",
                                 pattern="192.0.2.10")
        app.push_screen(HostKeyScreen(problem))
        await pilot.pause(0.2)
        for part in ("#host-key-yes", "#host-key-no", "#host-key-title"):
            assert shown(app.screen.query_one(part)), part
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause(0.2)
        box = app.screen.query_one("#help-box")
        assert box.max_scroll_y > 0, "the keys do not fit: the help scrolls"
        assert shown(app.screen.query_one("#help-title")) and shown(app.screen.query_one("#help-foot"))
