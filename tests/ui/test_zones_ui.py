"""The console on the demo's simulated global zones (omni-a, illumos; sol-a, Oracle Solaris 11), reached
through real SSH: the fleet table, a zone's screen, the action menu, and a plan run from a key."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from hvdeck.backends.model import DomainState
from hvdeck.backends.sim.demo import DemoFleet
from hvdeck.tui.screens.action_menu import ActionMenuScreen, ParamsScreen
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.tui.screens.host import HostScreen
from hvdeck.tui.screens.plan import PlanScreen
from hvdeck.widgets.bindings_view import BindingsView

from .helpers import SIZE, click_when_shown, fleet_loaded, highlight, make_app, names, plain, table, wait_for

ZONES = 19  # 9 on omni-a, 10 on sol-a, the global zones included


@pytest.fixture
def zones_fleet():
    with DemoFleet(libvirt=False, ldoms=(), xen=(), zones_op_seconds=0.0) as inventory:
        yield inventory


def _zone(app, name: str, host: str = "omni-a"):
    return next((d for s in app.snapshots.values() for d in s.domains if d.name == name and d.host == host), None)


async def test_the_fleet_lists_both_global_zones_with_the_global_zone_marked(tmp_path: Path, zones_fleet):
    app = make_app(tmp_path, zones_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, ZONES)
        t = table(app)
        cells = {(t.domain(k).host, t.domain(k).name): t._rows[k].cells for k in t.visible_keys()}
        state, native, cons = 3, 4, 11
        assert cells[("omni-a", "global")][state:native + 1] == ("running", "running global")
        assert cells[("sol-a", "app2")][native] == "running R", "booted read-only with a file-mac-profile"
        assert cells[("omni-a", "newapp")][state:native + 1] == ("stopped", "configured")
        assert cells[("omni-a", "staging")][state:native + 1] == ("transition", "ready")
        assert cells[("sol-a", "vault")][state:native + 1] == ("unknown", "unavailable")
        assert cells[("omni-a", "web1")][cons] == "zlogin" and cells[("omni-a", "global")][cons] == "-"
        await pilot.press("slash", *"flags:global", "enter")
        await pilot.pause()
        assert names(app) == ["global", "global"]


async def test_a_zones_screen_shows_its_configuration_as_zonecfg_exports_it(tmp_path: Path, zones_fleet):
    app = make_app(tmp_path, zones_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, ZONES)
        await highlight(pilot, "web1")
        await pilot.press("enter")
        view = app.screen.query_one(BindingsView)
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen) and bool(view.query("#section-rctl")))
        for section in ("zone", "fs", "network", "capped-memory", "rctl", "attr"):
            assert view.query(f"#section-{section}"), section
        assert "/zones/web1" in plain(view.query_one("#section-zone"))
        network = plain(view.query_one("#section-network"))
        assert "GLOBAL-NIC" in network and "igb0" in network and "10.0.1.11/24" in network
        summary = plain(app.screen.query_one("#domain-summary"))
        assert "console zlogin" in summary and "zonepath /zones/web1" in summary and "brand lipkg" in summary


async def test_a_note_with_markup_and_escapes_is_shown_as_text(tmp_path: Path, zones_fleet):
    app = make_app(tmp_path, zones_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, ZONES)
        await highlight(pilot, "web2")
        await pilot.press("enter")
        view = app.screen.query_one(BindingsView)
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen) and bool(view.query("#section-attr")))
        attr = plain(view.query_one("#section-attr"))
        assert "[bold]owner[/]" in attr and "^[]52;c;aGk=^G" in attr and "\x1b" not in attr


async def test_the_host_screen_of_a_global_zone(tmp_path: Path, zones_fleet):
    app = make_app(tmp_path, zones_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, ZONES)
        await highlight(pilot, "kz1")
        await pilot.press("H")
        view = app.screen.query_one(BindingsView)
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen) and bool(view.query("#section-datalinks")))
        assert "rpool/VARSHARE/zones" in plain(view.query_one("#section-zfs-filesystems"))
        links = plain(view.query_one("#section-datalinks"))
        assert "kz1/net0" in links and "etherstub" in links
        assert "zones SunOS 5.11 (Oracle Solaris 11)" in plain(app.screen.query_one("#host-head"))


async def test_the_action_menu_says_why_a_configured_zone_cannot_boot(tmp_path: Path, zones_fleet):
    app = make_app(tmp_path, zones_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, ZONES)
        await highlight(pilot, "newapp")
        await pilot.press("a")
        assert isinstance(app.screen, ActionMenuScreen)
        menu = app.screen.query_one(OptionList)
        start = menu.get_option("start")
        assert start.disabled and "configured but not installed" in str(start.prompt)
        assert "zones cannot pause" in str(menu.get_option("pause").prompt)
        assert not menu.get_option("extra:install").disabled
        assert not menu.get_option("extra:delete").disabled
        assert menu.get_option("extra:uninstall").disabled


async def test_boot_from_a_key_and_the_zone_runs_in_the_next_poll(tmp_path: Path, zones_fleet):
    app = make_app(tmp_path, zones_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, ZONES)
        await highlight(pilot, "build")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        assert "zoneadm -z build boot" in plain(app.screen.query_one("#plan-steps-text"))
        await click_when_shown(pilot, "#plan-run")
        await wait_for(pilot, lambda: app.screen.result is not None)
        assert app.screen.result.ok, app.screen.result.summary()
        await pilot.press("escape")
        await wait_for(pilot, lambda: _zone(app, "build").state is DomainState.RUNNING)


async def test_move_a_zone_within_its_host_from_the_action_menu(tmp_path: Path, zones_fleet):
    app = make_app(tmp_path, zones_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, ZONES)
        await highlight(pilot, "legacy10")
        await pilot.press("a")
        menu = app.screen.query_one(OptionList)
        menu.highlighted = menu.get_option_index("extra:move")
        await pilot.press("enter")
        assert isinstance(app.screen, ParamsScreen)
        await pilot.press(*"/zones/old10", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        assert "zoneadm -z legacy10 move /zones/old10" in plain(app.screen.query_one("#plan-steps-text"))
        await click_when_shown(pilot, "#plan-run")
        await wait_for(pilot, lambda: app.screen.result is not None)
        assert app.screen.result.ok, app.screen.result.summary()
        await pilot.press("escape")
        await wait_for(pilot, lambda: dict(_zone(app, "legacy10").extra).get("zonepath") == "/zones/old10")


async def test_a_halted_zone_is_offered_the_cold_move(tmp_path: Path, zones_fleet):
    """A zone's move halts, detaches and attaches: `m` on an installed (halted) zone opens it too, and the
    wizard does not call it live."""
    from hvdeck.tui.wizards.migrate import MigrateWizard

    app = make_app(tmp_path, zones_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 19)
        zone = _zone(app, "legacy10")
        assert zone is not None and zone.native_state == "installed"
        t = table(app)
        assert t.move_to(zone.key)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MigrateWizard))
        hint = plain(app.screen.query_one(".page-hint"))
        assert hint.startswith("Move it to") and "live" not in hint
        options = app.screen.query_one("#targets", OptionList)
        assert options.get_option_at_index(0).id == "target:sol-a"
