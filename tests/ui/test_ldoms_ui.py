"""The console on simulated LDoms control domains, reached through real SSH (the demo's t7-a and t7-b)."""

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


@pytest.fixture
def ldoms_fleet():
    with DemoFleet(libvirt=False, zones=(), xen=()) as inventory:
        yield inventory


def _domain(app, name: str):
    return next(d for s in app.snapshots.values() for d in s.domains if d.name == name and d.host == "t7-a")


async def test_fleet_lists_both_control_domains_with_flags(tmp_path: Path, ldoms_fleet):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        assert names(app)[:6] == ["ldg-app1", "ldg-build", "ldg-db1", "ldg-test", "ldg-web1", "primary"]
        t = table(app)
        cells = {t.domain(k).name: t._rows[k].cells for k in t.visible_keys() if t.domain(k).host == "t7-a"}
        assert cells["primary"][3:5] == ("running", "active -n-cv-")
        assert cells["ldg-app1"][4] == "active -nd---", "delayed reconfiguration shows in the flags"
        assert cells["ldg-build"][3:5] == ("stopped", "inactive ------")
        assert cells["ldg-web1"][11] == "5000" and cells["primary"][11] == "UART"


async def test_domain_screen_shows_the_bindings_like_ldm_list_bindings(tmp_path: Path, ldoms_fleet):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-db1")
        await pilot.press("enter")
        view = app.screen.query_one(BindingsView)
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen) and bool(view.query("#section-disk")))
        for section in ("vcpu", "memory", "variables", "network", "disk", "vcons"):
            assert view.query(f"#section-{section}"), section
        disk = plain(view.query_one("#section-disk"))
        assert "ldg-db1-boot@primary-vds0" in disk and "ldg-db1-data@primary-vds0" in disk
        assert "primary-vsw0@primary" in plain(view.query_one("#section-network"))
        assert "RA" in plain(view.query_one("#section-memory")).split("\n")[1]
        summary = plain(app.screen.query_one("#domain-summary"))
        assert "console 5001" in summary and "flags -n---- (normal)" in summary


async def test_host_screen_shows_services_users_and_free_resources(tmp_path: Path, ldoms_fleet):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        await pilot.press("H")
        view = app.screen.query_one(BindingsView)
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen) and bool(view.query("#section-vds")))
        vds = plain(view.query_one("#section-vds"))
        assert "USED BY" in vds and "ldg-web1/vdisk0" in vds and "ldg-db1/vdisk1" in vds
        assert "5000-5100" in plain(view.query_one("#section-vcc"))
        free = plain(view.query_one("#section-free"))
        assert "strands" in free and "memory" in free
        assert "ldoms 3.6.0.0.23" in plain(app.screen.query_one("#host-head"))


async def test_set_vcpu_from_the_action_menu(tmp_path: Path, ldoms_fleet):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-test")
        await pilot.press("a")
        assert isinstance(app.screen, ActionMenuScreen)
        menu = app.screen.query_one(OptionList)
        bind = menu.get_option("extra:bind")
        assert bind.disabled and "ldg-test is already bound" in str(bind.prompt)
        assert menu.get_option("pause").disabled and "ldm cannot pause" in str(menu.get_option("pause").prompt)
        menu.highlighted = menu.get_option_index("extra:set-vcpu")
        await pilot.press("enter")
        assert isinstance(app.screen, ParamsScreen)
        await pilot.press(*"4", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        assert "ldm set-vcpu 4 ldg-test" in plain(app.screen.query_one("#plan-steps-text"))
        await click_when_shown(pilot, "#plan-run")
        await wait_for(pilot, lambda: app.screen.result is not None)
        assert app.screen.result.ok, app.screen.result.summary()
        await pilot.press("escape")
        await wait_for(pilot, lambda: _domain(app, "ldg-test").vcpus == 4)


async def test_a_bad_input_is_refused_before_any_plan(tmp_path: Path, ldoms_fleet):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-test")
        app.request_extra(_domain(app, "ldg-test"),
                          next(a for a in app.fleet.backend("t7-a").extra_actions() if a.id == "set-memory"),
                          {"size": "lots"})
        await wait_for(pilot, lambda: any("use a number with K, M or G" in n.message for n in app._notifications))
        assert not isinstance(app.screen, PlanScreen)


async def test_start_an_inactive_domain_binds_it_first(tmp_path: Path, ldoms_fleet):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-build")
        await pilot.press("p")
        assert list(app._notifications)[-1].message == "Cannot pause ldg-build: ldm cannot pause a domain"
        await pilot.press("s")
        steps = plain(app.screen.query_one("#plan-steps-text"))
        assert "ldm bind ldg-build" in steps and "ldm start ldg-build" in steps
        assert steps.index("ldm bind") < steps.index("ldm start")
        await click_when_shown(pilot, "#plan-run")
        await wait_for(pilot, lambda: app.screen.result is not None)
        assert app.screen.result.ok, app.screen.result.summary()
        await pilot.press("escape")
        await wait_for(pilot, lambda: _domain(app, "ldg-build").state is DomainState.RUNNING)


async def test_a_lost_host_shows_stale_with_its_age_and_recovers(tmp_path: Path, ssh_world):
    import asyncssh

    from hvdeck.backends.inventory import Inventory
    from hvdeck.backends.model import HostStatus
    from hvdeck.backends.sim.ldoms import LdomsWorld, serve

    world = LdomsWorld.demo("t7-a", 1)
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await serve(world, host_key=key, authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    port = server.port
    inventory = Inventory((ssh_world.spec(server, "t7-a", kind="ldoms", poll_interval=0.3),), ssh=ssh_world.options())
    now = [1000.0]
    app = make_app(tmp_path, inventory, clock=lambda: now[0])
    try:
        async with app.run_test(size=SIZE) as pilot:
            await fleet_loaded(pilot, 6)
            await server.close()
            now[0] = 1042.0
            await wait_for(pilot, lambda: app.snapshots["t7-a"].status is HostStatus.STALE)
            app.screen._tick()
            assert "◐ t7-a stale 42s" in plain(app.screen.query_one("#hosts"))
            assert len(names(app)) == 6, "the last good rows stay, marked stale"
            assert "t7-a" in table(app)._stale
            server = await serve(world, port=port, host_key=key, authorized_keys=[ssh_world.client_key])
            await wait_for(pilot, lambda: app.snapshots["t7-a"].status is HostStatus.UP, timeout=20)
            assert "t7-a" not in table(app)._stale
    finally:
        await server.close()


# --- the case ldoms-primary-delayed-reconfig-guest-dr, and sizes refused before a plan ----------------------

CASE = Path(__file__).resolve().parent.parent / "fixtures" / "cases" / "ldoms-primary-delayed-reconfig-guest-dr"
REPLAY_BIN = Path(__file__).resolve().parent.parent / "fixtures" / "ldm" / "replay" / "bin"


@pytest.fixture
def case_inventory(monkeypatch: pytest.MonkeyPatch):
    import os

    from hvdeck.backends import inventory

    monkeypatch.setenv("PATH", f"{REPLAY_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HVDECK_LDM_REPLAY", str(CASE / "replay"))
    text = (CASE / "inventory.yaml").read_text().replace("CASEDIR", str(CASE))
    return inventory.parse(text, str(CASE / "inventory.yaml"))


def _menu(app) -> dict[str, tuple[bool, str]]:
    menu = app.screen.query_one(OptionList)
    return {menu.get_option_at_index(i).id: (menu.get_option_at_index(i).disabled,
                                             str(menu.get_option_at_index(i).prompt))
            for i in range(menu.option_count)}


async def test_case_guest_changes_are_not_offered_while_primary_reconfigures(tmp_path: Path, case_inventory):
    app = make_app(tmp_path, case_inventory)
    async with app.run_test(size=(80, 24)) as pilot:
        await fleet_loaded(pilot, 2)
        await highlight(pilot, "ldom1")
        await pilot.press("a")
        assert isinstance(app.screen, ActionMenuScreen)
        items = _menu(app)
        for item in ("shutdown", "reboot", "force-off", "extra:set-vcpu", "extra:add-vcpu", "extra:remove-vcpu",
                     "extra:set-memory", "extra:set-var"):
            disabled, prompt = items[item]
            assert disabled and "primary has a delayed reconfiguration pending" in prompt, item
            assert "applied live" not in prompt
        await pilot.press("escape")
        # keys go through the same gate
        await pilot.press("h")
        assert not isinstance(app.screen, PlanScreen)
        await highlight(pilot, "primary")
        await pilot.press("a")
        items = _menu(app)
        assert {item for item, (disabled, _) in items.items() if not disabled} == {
            "reboot", "extra:set-vcpu", "extra:add-vcpu", "extra:remove-vcpu", "extra:set-memory", "extra:set-var"}
        menu = app.screen.query_one(OptionList)
        menu.highlighted = menu.get_option_index("extra:set-vcpu")
        await pilot.press("enter")
        assert isinstance(app.screen, ParamsScreen)
        await pilot.press(*"4", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        text = plain(app.screen.query_one("#plan-steps-text"))
        assert "ldm set-vcpu 4 primary" in text


async def test_too_many_vcpus_are_refused_with_a_sentence_and_no_plan(tmp_path: Path, ldoms_fleet):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        await pilot.press("a")
        menu = app.screen.query_one(OptionList)
        menu.highlighted = menu.get_option_index("extra:add-vcpu")
        await pilot.press("enter")
        await pilot.press(*"1000", "enter")
        # the inputs dialog stays open with the sentence under the input
        await wait_for(pilot, lambda: "strands free" in plain(app.screen.query_one("#params-error")))
        assert isinstance(app.screen, ParamsScreen)
        message = plain(app.screen.query_one("#params-error"))
        assert message.startswith("t7-a has ") and ": add at most " in message
        await pilot.press("escape")
        app.request_extra(_domain(app, "ldg-web1"), next(a for a in app.fleet.backend("t7-a").extra_actions()
                                                         if a.id == "remove-vcpu"), {"count": "100"})
        await wait_for(pilot, lambda: any("a domain keeps at least one" in n.message for n in app._notifications))
        assert not isinstance(app.screen, PlanScreen)
