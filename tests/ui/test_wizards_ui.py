"""The wizards in the console, end to end: the demo's simulated SPARC control domains reached through real
SSH, driven with keys as an operator would. Create a guest (to a running guest in the table, then save the
configuration to the service processor), clone one into a new domain, swap a root disk, take a snapshot,
roll back to it, and be refused when destroying one that a clone depends on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from textual.widgets import Button, Select

from hvdeck.backends.inventory import Inventory
from hvdeck.backends.sim.demo import DemoFleet
from hvdeck.tui.screens.action_menu import ParamsScreen
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.tui.screens.fleet import FleetScreen
from hvdeck.tui.screens.plan import PlanScreen
from hvdeck.tui.wizards.base import WizardScreen
from hvdeck.tui.wizards.snapshots import SnapshotScreen
from hvdeck.widgets.form import FormView

from .helpers import burst, click_when_shown, dialog_ready, fleet_loaded, highlight, make_app, plain, table, wait_for

SIZE = (120, 40)


@pytest.fixture
def demo():
    fleet = DemoFleet(libvirt=False, zones=(), xen=())
    inventory = fleet.start()
    yield fleet, inventory
    fleet.stop()


def _row(app, name: str, host: str = "t7-a"):
    t = table(app)
    return next((t.domain(k) for k in t.visible_keys() if t.domain(k).name == name and t.domain(k).host == host), None)


async def _wizard(pilot) -> WizardScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, WizardScreen) and bool(app.screen.query(FormView)))
    await pilot.pause(0.1)  # a page takes keys once it is drawn
    return app.screen


async def _next(pilot, screen: WizardScreen) -> None:
    page = screen.page
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.page != page or isinstance(pilot.app.screen, PlanScreen)
                   or bool(screen.view.errors))
    await pilot.pause(0.1)


async def _run_plan(pilot, confirm: str | None = None) -> PlanScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
    plan = app.screen
    await wait_for(pilot, lambda: plan.checks is not None)
    assert all(check.ok for check in plan.checks), [(c.check.description, c.reason) for c in plan.checks]
    await pilot.pause(0.1)
    if confirm:
        await pilot.press(*confirm, "enter")
    else:
        await pilot.press("tab", "enter")  # Run is never the default
    await wait_for(pilot, lambda: plan.result is not None, 30)
    assert plan.result.ok, plan.result.summary()
    return plan


async def _choose(pilot, select_id: str, typed: str) -> None:
    """Open a drop-down with Enter and pick the choice that starts with ``typed``, as one types to search."""
    await pilot.press("enter")
    await dialog_ready(pilot)
    await pilot.press(*typed, "enter")
    await pilot.pause(0.1)
    assert str(pilot.app.screen.query_one(f"#{select_id}", Select).value).startswith(typed)


async def test_create_a_guest_to_a_running_guest_in_the_table_then_save_the_configuration(tmp_path: Path, demo):
    fleet, inventory = demo
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        await pilot.press("n")
        wizard = await _wizard(pilot)
        assert wizard.host == "t7-a"
        await pilot.press(*"web3", "tab")
        await pilot.press("end", *"1200x")  # the vCPU box takes digits only
        assert wizard.view.text("vcpus") == "41200"
        assert "vCPUs: 41200 is outside 1–1024" in plain(wizard.query_one("#error-vcpus"))  # as you type
        await pilot.press(*["backspace"] * 5, "2")
        assert not wizard.query_one("#error-vcpus").has_class("-shown")
        await pilot.press("tab", "ctrl+u", *"4GG")  # the memory box: an inline error for a size it cannot read
        await _next(pilot, wizard)
        assert wizard.page == 0 and "is not a size" in plain(wizard.query_one("#error-memory"))
        await pilot.press("ctrl+u", *"4G")
        await _next(pilot, wizard)
        assert wizard.page == 1
        await pilot.press(*"20G")
        await _next(pilot, wizard)
        await _next(pilot, wizard)
        await _run_plan(pilot)
        await pilot.press("enter")  # Close the plan: the wizard's last page
        await wait_for(pilot, lambda: app.screen is wizard and "web3 is running (active) on t7-a"
                       in plain(wizard.query_one("#wizard-outcome")), 30)
        world = fleet.worlds["t7-a"]
        assert world.domains["web3"].vcpus == 2 and world.domains["web3"].memory == 4 << 30
        assert world.pool.volume("ldompool/web3-boot").volsize == 20 << 30
        await wait_for(pilot, lambda: [b.disabled for b in wizard.query("#wizard-follow-ups Button")] == [False])
        button = wizard.query_one("#wizard-follow-ups Button", Button)
        assert str(button.label) == "Save the configuration to the SP…"
        await click_when_shown(pilot, f"#{button.id}")
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen))
        await dialog_ready(pilot)
        await pilot.press(*"with-web3", "enter")
        await _run_plan(pilot)
        assert world.spconfigs[-1] == "with-web3" and world.spconfig_next == "with-web3"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is wizard)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
        await wait_for(pilot, lambda: _row(app, "web3") is not None and _row(app, "web3").native_state == "active")
    assert [r["action"] for r in app.audit.records()].count("create") == 2 * 11


async def test_what_the_host_would_refuse_is_shown_on_its_field_before_anything_runs(tmp_path: Path, demo):
    fleet, inventory = demo
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        await pilot.press("n")
        wizard = await _wizard(pilot)
        await pilot.press(*"ldg-db1")
        await pilot.pause(0.1)
        assert wizard.view.errors == {"name": "t7-a already has a domain named ldg-db1"}, "as you type"
        await _next(pilot, wizard)
        assert wizard.page == 0, "a field with an error keeps the page"
        await pilot.press("backspace", "9", "tab", "end", "backspace", *"9")
        await _next(pilot, wizard)
        await pilot.press(*"3T")
        await _next(pilot, wizard)
        await _next(pilot, wizard)
        await wait_for(pilot, lambda: bool(wizard.view.errors) and not wizard._busy)
        assert not isinstance(app.screen, PlanScreen)
        assert wizard.view.errors == {"vcpus": "t7-a has 8 strands free", "disk": "ldompool has 1.6T free"}
        assert wizard.page == 0, "the wizard goes back to the first page with an error"
        assert app.focused is wizard.query_one("#input-vcpus")
        assert plain(wizard.query_one("#wizard-status")) == "To change: vCPUs, New disk (the reason is under each)"
    assert app.audit.records() == [], "nothing ran"


async def test_keys_typed_before_the_wizard_was_drawn_do_nothing(tmp_path: Path, demo):
    fleet, inventory = demo
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        await burst(pilot, "n", "x", "enter", "enter", "enter")
        wizard = await _wizard(pilot)
        assert wizard.view.text("name") == "" and wizard.page == 0 and not isinstance(app.screen, PlanScreen)


async def test_a_read_only_host_offers_no_wizard_and_says_why(tmp_path: Path, demo):
    fleet, inventory = demo
    read_only = Inventory(tuple(dataclasses.replace(h, read_only=True) for h in inventory.hosts), inventory.ssh)
    app = make_app(tmp_path, read_only)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        await pilot.press("n")
        await pilot.press("C")
        await pilot.pause(0.1)
        assert isinstance(app.screen, FleetScreen)
        said = [n.message for n in app._notifications]
        assert "Cannot create a guest on t7-a: t7-a is read-only in the inventory" in said
        assert "Cannot clone ldg-web1: t7-a is read-only in the inventory" in said
        assert app.why_not_create("t7-a") == "t7-a is read-only in the inventory"


async def test_clone_a_running_guest_into_a_new_domain(tmp_path: Path, demo):
    fleet, inventory = demo
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen))
        await pilot.press("C")
        wizard = await _wizard(pilot)
        assert "a snapshot of a running guest is not consistent" in plain(wizard.query_one("#field-stop .form-help"))
        await pilot.press(*"web4")
        await _next(pilot, wizard)
        await _next(pilot, wizard)
        plan = await _run_plan(pilot)
        assert [s.operation.display() for s in plan.plan.steps][:4] == [
            "ldm stop ldg-web1", "zfs snapshot ldompool/ldg-web1-boot@web4", "ldm start ldg-web1",
            "zfs clone ldompool/ldg-web1-boot@web4 ldompool/web4-boot"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: "web4 is running (active) on t7-a" in plain(wizard.query_one("#wizard-outcome")),
                       30)
        world = fleet.worlds["t7-a"]
        assert world.pool.datasets["ldompool/web4-boot"].origin == "ldompool/ldg-web1-boot@web4"
        assert world.domains["ldg-web1"].state.value == "active", "the source was started again"


async def test_root_disk_swap_into_an_existing_domain(tmp_path: Path, demo):
    fleet, inventory = demo
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        await pilot.press("C")
        wizard = await _wizard(pilot)
        await pilot.press(*"build-root", "tab", *"golden", "tab")
        await _choose(pilot, "input-into", "ldg-build")
        await pilot.press("tab", "tab", "enter")  # past Cancel (Back is off on the first page) to Next
        await wait_for(pilot, lambda: wizard.page == 1)
        await dialog_ready(pilot)
        await pilot.press("space")  # no stop: the snapshot is taken of the running guest
        await pilot.press("tab", "space")  # and ldg-build is not started
        assert wizard.view.texts() == {"name": "build-root", "snapshot": "golden", "into": "ldg-build", "stop": "no",
                                       "start": "no"}
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        screen = app.screen
        assert "ldg-web1 is running: the snapshot is not consistent" in plain(screen.query_one("#plan-warning"))
        await _run_plan(pilot)
        world = fleet.worlds["t7-a"]
        disks = sorted((d.id, d.name, d.volume) for d in world.domains["ldg-build"].vdisks)
        assert disks == [(0, "vdisk0", "build-root"), (1, "vdisk0-orig", "ldg-build-boot")]


async def test_snapshots_take_roll_back_and_a_destroy_refused_while_a_clone_depends_on_it(tmp_path: Path, demo):
    fleet, inventory = demo
    world = fleet.worlds["t7-a"]
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-build")
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, SnapshotScreen) and app.screen._loaded)
        browser = app.screen
        assert "ldg-build's disks have no snapshots yet" in plain(browser.query_one("#snap-status"))
        await dialog_ready(pilot)
        await pilot.press("n")
        await _wizard(pilot)
        await pilot.press(*"before", "enter")
        await _run_plan(pilot)
        await pilot.press("enter")  # Close: the wizard has nothing more to say, the browser reads the list again
        await wait_for(pilot, lambda: app.screen is browser and len(browser.snaps) == 1)
        assert (browser.snaps[0].of, browser.snaps[0].name) == ("ldompool/ldg-build-boot", "before")
        world.pool.datasets["ldompool/ldg-build-boot"].referenced = 1  # the guest wrote since
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        plan = app.screen
        assert plan.query_one("#plan-run", Button).disabled, "the snapshot's name must be typed"
        assert "Everything written to ldompool/ldg-build-boot since @before is lost" in plain(plan.query_one("#plan-warning"))
        await _run_plan(pilot, confirm="before")
        assert world.pool.datasets["ldompool/ldg-build-boot"].referenced == 10 << 30
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is browser)
        # a clone made from it: destroying is refused, and the browser says why before anything is planned
        world.run(["zfs", "clone", "ldompool/ldg-build-boot@before", "ldompool/copy"])
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: bool(browser.snaps and browser.snaps[0].clones))
        assert browser.query_one("#snap-destroy", Button).disabled
        assert plain(browser.query_one("#snap-status")) == ("@before cannot be destroyed: ldompool/copy was cloned from "
                                                            "it and depends on it; destroy the clones first")
        await pilot.press("d")
        await pilot.pause(0.1)
        assert app.screen is browser and "ldompool/ldg-build-boot@before" in world.pool.datasets
        assert browser.query_one("#snap-status").has_class("-error")


async def test_snapshot_names_are_checked_by_the_host_backend(tmp_path: Path, demo):
    fleet, inventory = demo
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-test")
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, SnapshotScreen) and app.screen._loaded)
        await dialog_ready(pilot)
        await pilot.press("n")
        wizard = await _wizard(pilot)
        await pilot.press(*"-r", "enter")
        await wait_for(pilot, lambda: "snapshot name '-r'" in plain(wizard.query_one("#wizard-status")))
        assert isinstance(app.screen, WizardScreen)
        await pilot.press("ctrl+u", *"ok", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        assert "zfs snapshot ldompool/ldg-test-boot@ok" in plain(app.screen.query_one("#plan-steps-text"))


async def test_the_palette_offers_the_wizards_and_says_why_one_is_unavailable(tmp_path: Path, demo):
    from textual.command import CommandList

    from .test_discoverable import _palette

    fleet, inventory = demo
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        hits = await _palette(pilot, "Clone ldg-web1")
        assert hits["Clone ldg-web1…"][1].startswith("A new guest (or a root-disk swap) from a snapshot")
        await pilot.press("escape")
        hits = await _palette(pilot, "Create a guest on t7-a")
        app.screen.query_one(CommandList).highlighted = hits["Create a guest on t7-a…"][0]
        await pilot.press("enter")
        wizard = await _wizard(pilot)
        assert wizard.host == "t7-a" and wizard.title_text == "Create a guest on t7-a"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
        await highlight(pilot, "primary")
        hits = await _palette(pilot, "Clone primary")
        assert hits["Clone primary… (unavailable)"][1] == "ldoms hosts offer no clone wizard for primary"
        await pilot.press("escape")
        assert "Snapshots of primary…" in await _palette(pilot, "Snapshots of primary")


async def test_tab_then_enter_never_cancels_a_wizard_and_a_fast_burst_fills_each_field(tmp_path: Path, demo):
    """Tab then Enter is how the plan screen runs; in a wizard it must not reach Cancel and throw the input
    away. Keys typed in one burst once the page is drawn (a paste, a fast typist) go field by field."""
    fleet, inventory = demo
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        await pilot.press("n")
        wizard = await _wizard(pilot)
        await burst(pilot, *"ldg-x", "tab", "7", "tab", *"3G")
        await pilot.pause(0.2)
        assert (wizard.view.text("name"), wizard.view.text("vcpus"), wizard.view.text("memory")) == \
            ("ldg-x", "7", "3G")
        for _ in range(8):
            await pilot.press("tab")
            assert app.focused is not None and app.focused.id != "wizard-cancel"
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.screen is wizard and wizard.view.text("name") == "ldg-x"


async def test_a_name_the_host_already_has_is_refused_as_you_type(tmp_path: Path, demo):
    fleet, inventory = demo
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-web1")
        await pilot.press("n")
        wizard = await _wizard(pilot)
        await pilot.press(*"ldg-web1")
        await pilot.pause(0.1)
        assert "t7-a already has a domain named ldg-web1" in plain(wizard.query_one("#error-name"))
        await pilot.press("0")
        await pilot.pause(0.1)
        assert not wizard.query_one("#error-name").has_class("-shown")
