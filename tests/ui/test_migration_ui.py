"""The migration wizard, marking in the fleet table and the evacuation screen, on the real app, against two
simulated LDoms control domains reached through real SSH: t7-a with the demo's guests, t7-b with only its
control domain, exporting the same volumes (shared storage)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
from textual.message import Message
from textual.widgets import Button, Checkbox, Input

from hvdeck.backends.inventory import Inventory
from hvdeck.backends.sim.ldoms import LdomsWorld, link, serve
from hvdeck.backends.sim.ldoms.model import Volume
from hvdeck.tui.screens.fleet import FleetScreen
from hvdeck.tui.screens.plan import PlanScreen
from hvdeck.tui.wizards.evacuate import EvacuateScreen
from hvdeck.tui.wizards.migrate import MigrateWizard

from .helpers import SIZE, dialog_ready, fleet_loaded, highlight, make_app, table, wait_for

PASSWORD = "Tr0ub4dor&3"


@pytest.fixture
async def hosts(ssh_world) -> AsyncIterator[tuple[LdomsWorld, LdomsWorld, Inventory]]:
    source, target = LdomsWorld.demo("t7-a", 1), LdomsWorld("t7-b", seed=2, password=PASSWORD)
    for name, volume in source.services.vds.volumes.items():
        target.services.vds.volumes[name] = Volume(volume.name, volume.dev)
    source.migration_rate = 1 << 50  # 2 s a migration
    link(source, target)
    servers, specs = [], []
    for world in (source, target):
        server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                             authorized_keys=[ssh_world.client_key])
        ssh_world.trust(server)
        servers.append(server)
        specs.append(ssh_world.spec(server, world.hostname, kind="ldoms", poll_interval=0.5))
    yield source, target, Inventory(tuple(specs), ssh_world.options())
    for server in servers:
        await server.close()


def _screen_text(app) -> str:
    return app.export_screenshot()


async def test_the_wizard_checks_then_the_plan_screen_moves_the_guest(tmp_path: Path, hosts):
    source, target, inventory = hosts
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 7)
        await highlight(pilot, "ldg-web1")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MigrateWizard))
        wizard = app.screen
        await dialog_ready(pilot)
        await pilot.press("enter")  # t7-b, the only host of the same kind
        await wait_for(pilot, lambda: wizard.page == "page-options")
        password = wizard.query_one("#opt-password", Input)
        assert password.password and app.focused is password
        await pilot.press(*PASSWORD)
        assert PASSWORD not in _screen_text(app), "the password is masked"
        await pilot.press("enter")
        await wait_for(pilot, lambda: wizard.page == "page-checks", 20)
        assert wizard.results and all(r.ok for r in wizard.results), [(r.check.description, r.reason)
                                                                        for r in wizard.results if not r.ok]
        shown = str(wizard.query_one("#checks").render())
        assert "✔ ldm's own dry run: ldm migrate-domain -n ldg-web1 root@t7-b" in shown
        assert str(wizard.query_one("#migrate-next", Button).label) == "Show the plan"
        await pilot.click("#migrate-next")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        plan_screen = app.screen
        assert PASSWORD not in _screen_text(app)
        await dialog_ready(pilot)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: plan_screen.result is not None, 30)
        assert plan_screen.result.ok, plan_screen.result.summary()
        await wait_for(pilot, lambda: any(d.name == "ldg-web1" for d in app.snapshots["t7-b"].domains)
                       and not any(d.name == "ldg-web1" for d in app.snapshots["t7-a"].domains), 10)
    assert "ldg-web1" in target.domains and "ldg-web1" not in source.domains
    assert PASSWORD not in (tmp_path / "audit.log").read_text()


async def test_a_failing_check_keeps_the_plan_back_and_back_fixes_it(tmp_path: Path, hosts):
    source, target, inventory = hosts
    assert target.run(["ldm", "add-domain", "ldg-web1"]).exit_status == 0
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 8)
        await highlight(pilot, "ldg-web1")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MigrateWizard))
        wizard = app.screen
        await dialog_ready(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: wizard.page == "page-options")
        wizard.query_one("#opt-name", Input).value = "-bad"
        await pilot.press("enter")  # no password, a name ldm refuses
        await wait_for(pilot, lambda: wizard.query_one("#err-password").has_class("-shown"))
        assert "required" in str(wizard.query_one("#err-password").render())
        assert "name on the target" in str(wizard.query_one("#err-name").render()).lower()
        assert wizard.page == "page-options"
        await pilot.press(*PASSWORD)
        wizard.query_one("#opt-name", Input).value = "ldg-web1"
        await pilot.press("enter")
        await wait_for(pilot, lambda: wizard.page == "page-checks", 20)
        failed = {r.check.description: r.reason for r in wizard.results if not r.ok}
        assert failed["t7-b has no domain named ldg-web1"] == \
            "t7-b already has a domain named ldg-web1: give it another name on the target"
        assert failed["ldm's own dry run: ldm migrate-domain -n ldg-web1 root@t7-b"] == \
            "Domain ldg-web1 already exists on target t7-b"
        assert wizard.query_one("#migrate-next", Button).disabled
        await pilot.click("#migrate-back")
        await wait_for(pilot, lambda: wizard.page == "page-options")
        wizard.query_one("#opt-name", Input).value = "web1b"
        await pilot.click("#migrate-next")
        await wait_for(pilot, lambda: wizard.page == "page-checks" and bool(wizard.results)
                       and all(r.ok for r in wizard.results), 20)
        assert not wizard.query_one("#migrate-next", Button).disabled
        assert wizard.plan is not None and wizard.plan.steps[1].operation.argv[-1] == "root@t7-b:web1b"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
    assert "ldg-web1" in source.domains, "nothing ran"


async def test_m_on_a_domain_that_cannot_move_says_why(tmp_path: Path, hosts):
    _, _, inventory = hosts
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot, 7)
        await highlight(pilot, "ldg-test")
        await pilot.press("m")
        await wait_for(pilot, lambda: bool(app._notifications))
        assert list(app._notifications)[-1].message == \
            "Cannot migrate ldg-test: ldg-test is bound: only a running domain migrates live"
        assert isinstance(app.screen, FleetScreen)


async def test_space_marks_domains_and_e_evacuates_them(tmp_path: Path, hosts):
    _, _, inventory = hosts
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 7)
        for name in ("ldg-web1", "ldg-db1", "ldg-web1"):
            await highlight(pilot, name)
            await pilot.press("space")
        t = table(app)
        assert [d.name for d in t.marked_domains] == ["ldg-db1"], "a second Space unmarks"
        await highlight(pilot, "ldg-web1")
        await pilot.press("space")
        assert [d.name for d in t.marked_domains] == ["ldg-db1", "ldg-web1"]
        await pilot.pause(0.8)  # a poll or two: the marks stay
        assert [d.name for d in t.marked_domains] == ["ldg-db1", "ldg-web1"]
        assert "2 marked (E evacuates them)" in str(app.screen.query_one("#fleet-status").render())
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, EvacuateScreen))
        assert [d.name for d in app.screen.domains] == ["ldg-db1", "ldg-web1"]


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, EvacuateScreen.JobChanged):
            self.messages.append(message)


async def test_evacuate_a_host_two_at_a_time_with_a_progress_row_each(tmp_path: Path, hosts):
    source, target, inventory = hosts
    app = make_app(tmp_path, inventory)
    seen = _Recorder()
    async with app.run_test(size=SIZE, message_hook=seen) as pilot:
        await fleet_loaded(pilot, 7)
        await highlight(pilot, "ldg-web1")
        await pilot.press("E")  # nothing marked: every running domain of t7-a
        await wait_for(pilot, lambda: isinstance(app.screen, EvacuateScreen))
        screen = app.screen
        assert sorted(d.name for d in screen.domains) == ["ldg-app1", "ldg-db1", "ldg-web1"]
        await pilot.pause(0.1)
        await pilot.press(*PASSWORD)  # the focus starts on t7-b's password
        screen.query_one("#evac-parallel", Input).value = "2"
        await pilot.click("#evac-plan")
        await wait_for(pilot, lambda: not screen.busy and all(j.status in ("waiting", "blocked") for j in screen.jobs)
                       and all(j.plan is not None for j in screen.jobs), 30)
        by_name = {j.domain.name: j for j in screen.jobs}
        assert by_name["ldg-app1"].status == "blocked" and "owns pci_3" in by_name["ldg-app1"].reason
        assert [by_name[n].target for n in ("ldg-web1", "ldg-db1")] == ["t7-b", "t7-b"]
        await pilot.click("#evac-run")
        assert "Tick “go on with the others”" in str(screen.query_one("#evac-status").render())
        assert not screen.ran
        screen.query_one("#evac-continue", Checkbox).value = True
        await pilot.pause(0.3)  # a Button takes no second press during its 0.2 s pressed look
        await pilot.click("#evac-run")
        await wait_for(pilot, lambda: screen.ran and not screen.busy, 60)
        by_name = {j.domain.name: j for j in screen.jobs}
        assert by_name["ldg-web1"].where.sentence == "ldg-web1 is active on t7-b; t7-a no longer has it."
        assert by_name["ldg-db1"].where.arrived and by_name["ldg-db1"].status == "done"
        assert by_name["ldg-app1"].status == "blocked"
        assert "2 of 3 domains moved" in str(screen.query_one("#evac-status").render())
        progress = [m.job.progress for m in seen.messages if m.job.progress is not None]
        assert progress and all(0 <= (p.fraction or 0) <= 1 for p in progress)
        running = [m.job.domain.name for m in seen.messages if m.job.status == "running"]
        assert set(running) == {"ldg-web1", "ldg-db1"}
    assert {"ldg-web1", "ldg-db1"} <= set(target.domains) and "ldg-app1" in source.domains
    assert source.files == {}


async def test_cancel_stops_the_evacuation_and_the_guests_stay(tmp_path: Path, hosts):
    source, target, inventory = hosts
    source.migration_rate = 1 << 30  # ldg-web1: 2 s + 8 s
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 7)
        for name in ("ldg-web1", "ldg-db1"):
            await highlight(pilot, name)
            await pilot.press("space")
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, EvacuateScreen))
        screen = app.screen
        await pilot.pause(0.1)
        await pilot.press(*PASSWORD)
        await pilot.click("#evac-plan")
        await wait_for(pilot, lambda: not screen.busy and all(j.status == "waiting" for j in screen.jobs)
                       and all(j.plan is not None for j in screen.jobs), 30)
        await pilot.click("#evac-run")
        await wait_for(pilot, lambda: screen.jobs[0].status == "running" and screen.jobs[0].progress is not None, 20)
        await pilot.press("escape")
        assert isinstance(app.screen, EvacuateScreen), "no closing while migrations run"
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.ran and not screen.busy, 30)
        assert [j.status for j in screen.jobs] == ["cancelled", "skipped"]
        assert screen.jobs[0].where.sentence == "ldg-web1 is still active on t7-a; t7-b does not have it."
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
    assert {"ldg-web1", "ldg-db1"} <= set(source.domains) and set(target.domains) == {"primary"}
