"""Discoverable: `?`/F1 list the keys of the screen at hand, the footer always has Quit and Help, the
palette offers every action (the unavailable ones with their reason), parameter dialogs explain a bad
input in place, a declined host key can be asked about again, and the app's keys work on dialogs."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandList
from textual.widgets import Input

from hvdeck.backends.inventory import Inventory
from hvdeck.tui.screens.action_menu import ActionMenuScreen, ParamsScreen
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.tui.screens.fleet import FleetScreen
from hvdeck.tui.screens.help import HelpScreen, key_rows
from hvdeck.tui.screens.host import HostScreen
from hvdeck.tui.screens.host_key import HostKeyScreen
from hvdeck.tui.screens.plan import PlanScreen

from ..conftest import echo_handler
from .helpers import SIZE, click_when_shown, dialog_ready, fleet_loaded, highlight, make_app, plain, screen_lines, table, wait_for


@pytest.fixture
def ldoms_fleet():
    from hvdeck.backends.sim.demo import DemoFleet

    with DemoFleet(libvirt=False, zones=(), xen=()) as inventory:
        yield inventory


def _rows(app) -> dict[str, str]:
    """key -> what the open help says it does."""
    table_ = app.screen.query_one("#help-keys").content
    keys, does = table_.columns[0]._cells, table_.columns[1]._cells
    return {str(k): str(d) for k, d in zip(keys, does) if str(d)}


async def test_question_mark_and_f1_list_the_keys_of_the_current_screen(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        fleet = _rows(app)
        assert fleet["/"].startswith("Filter rows") and fleet["s"].startswith("Start the domain")
        assert fleet["g"] == "Group rows by host"
        assert any("q" in k.split() and v.startswith("Quit") for k, v in fleet.items())
        assert any("?" in k.split() and "f1" in k.split() for k in fleet)
        assert fleet["↑ k"] == "Up", "the focused table's own keys, listed once per action"
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)
        await highlight(pilot, "db01")
        await pilot.press("enter")
        assert isinstance(app.screen, DomainScreen)
        await pilot.press("f1")
        domain = _rows(app)
        assert domain["^r"] == "Read the bindings again" and domain["esc"] == "Back"
        assert "/" not in domain and "g" not in domain, "only the keys of the screen at hand"
        await pilot.press("f1")
        assert isinstance(app.screen, DomainScreen), "F1 again closes the help"


async def test_the_help_follows_the_bindings_not_a_list(tmp_path: Path):
    """A key remapped through the keymap is shown as it is now."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        app.set_keymap({"fleet.group": "x"})
        await pilot.pause()
        rows = {row.description: row.key for row in key_rows(app.screen)}
        assert rows["Group"] == "x"


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (160, 48)])
async def test_the_footer_always_shows_quit_and_help(tmp_path: Path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await fleet_loaded(pilot)
        for screen_key in (None, "enter"):
            if screen_key:
                await highlight(pilot, "db01")
                await pilot.press(screen_key)
            await pilot.pause()
            footer = screen_lines(app)[-1]
            assert footer.rstrip().endswith("? Help q Quit") or footer.rstrip().endswith("? Help  q Quit"), footer
            assert "^p" in footer


async def _palette(pilot, query: str) -> dict[str, tuple[int, str]]:
    """Open the palette, type ``query``; title -> (index, help) of every hit shown."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await pilot.press(*query)
    commands = app.screen.query_one(CommandList)

    def hits() -> dict[str, tuple[int, str]]:
        out = {}
        for i in range(commands.option_count):
            title, _, help_text = str(commands.get_option_at_index(i).prompt).partition("\n")
            out[title] = (i, help_text)
        return out

    await wait_for(pilot, lambda: len(hits()) > 0)
    await pilot.pause(0.3)
    return hits()


async def test_the_palette_offers_every_action_and_says_why_one_is_unavailable(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "build01")  # shut off
        hits = await _palette(pilot, "build01")
        assert "Start: build01 on kvm-a" in hits
        assert "Pause: build01 on kvm-a (unavailable)" in hits
        assert hits["Pause: build01 on kvm-a (unavailable)"][1] == "build01 is shut off"
        commands = app.screen.query_one(CommandList)
        commands.highlighted = hits["Pause: build01 on kvm-a (unavailable)"][0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and bool(app._notifications))
        assert list(app._notifications)[-1].message == "Cannot pause build01: build01 is shut off"
        hits = await _palette(pilot, "Start: build01")
        app.screen.query_one(CommandList).highlighted = hits["Start: build01 on kvm-a"][0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        await pilot.press("escape")
    assert app.audit.records() == []


async def test_the_palette_sorts_groups_filters_refreshes_and_switches_theme(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        for query, title in (("Sort by MEMORY", "Sort by MEMORY"), ("Group by host", "Group by host (toggle)"),
                             ("Poll all", "Poll all hosts now (refresh)"), ("theme", "Toggle light/dark theme"),
                             ("Filter", "Filter…")):
            hits = await _palette(pilot, query)
            assert title in hits, (query, list(hits))
            app.screen.query_one(CommandList).highlighted = hits[title][0]
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
        assert table(app).sort_column == "memory" and table(app).group_by_host
        assert app.theme == "hvdeck-light"
        box = app.screen.query_one("#filter", Input)
        await wait_for(pilot, lambda: app.focused is box)
        await pilot.press(*"web")
        assert box.value == "web"


async def test_params_dialog_shows_the_current_value_and_keeps_a_bad_input_in_place(tmp_path: Path, ldoms_fleet):
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-test")
        domain = table(app).cursor_domain
        extras = {e.id: e for e in app.fleet.backend("t7-a").extra_actions()}
        app.request_extra(domain, extras["set-memory"])
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen) and bool(app.screen.query(".params-label")))
        dialog = app.screen
        assert "now 4G" in plain(dialog.query_one(".params-label"))
        await dialog_ready(pilot)
        await pilot.press(*"lots", "enter")
        assert app.screen is dialog, "a refused input keeps the dialog open"
        assert "K, M or G" in plain(dialog.query_one("#params-error"))
        assert dialog.query_one(Input).value == "lots"
        await pilot.press("ctrl+u", *"6G")
        assert plain(dialog.query_one("#params-error")).strip() == "", "editing clears the error"
        await pilot.press("enter")
        assert isinstance(app.screen, PlanScreen)
        assert "ldm set-memory 6G ldg-test" in plain(app.screen.query_one("#plan-steps-text"))
        await pilot.press("escape")
        app.request_extra(domain, extras["set-vcpu"])
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen) and bool(app.screen.query(".params-label")))
        assert "now 2 vCPUs" in plain(app.screen.query_one(".params-label"))
        await dialog_ready(pilot)
        await pilot.press(*"-3", "enter")
        assert isinstance(app.screen, ParamsScreen) and plain(app.screen.query_one("#params-error")).strip()
    assert app.audit.records() == []


async def test_a_declined_host_key_can_be_asked_about_again(tmp_path: Path, ssh_server, ssh_world):
    server = await ssh_server(echo_handler())
    inventory = Inventory((ssh_world.spec(server),), ssh=ssh_world.options())
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyScreen))
        await dialog_ready(pilot)
        await pilot.press("escape")  # Not now
        assert not isinstance(app.screen, HostKeyScreen) and app.untrusted_hosts() == ["lab1"]
        # the palette asks again
        hits = await _palette(pilot, "Trust host key")
        app.screen.query_one(CommandList).highlighted = hits["Trust host key of lab1…"][0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyScreen))
        await dialog_ready(pilot)
        await pilot.press("escape")
        # and so does the host screen (t)
        app.open_host("lab1")
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        # its footer offers the key (drawn once the screen has settled: a fixed pause was short on a loaded machine)
        await wait_for(pilot, lambda: "t Trust key" in (screen_lines(app) or [""])[-1].replace("  ", " "))
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyScreen))
        assert ssh_world.known_hosts.read_text() == ""
        await click_when_shown(pilot, "#host-key-yes")
        await wait_for(pilot, lambda: ssh_world.known_hosts.read_text() == server.known_hosts_line())


async def test_app_keys_work_on_dialogs(tmp_path: Path, ldoms_fleet):
    """Ctrl+T and ? work while the action menu (a modal screen) is open."""
    app = make_app(tmp_path, ldoms_fleet)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "ldg-test")
        await pilot.press("a")
        assert isinstance(app.screen, ActionMenuScreen)
        await dialog_ready(pilot)
        await pilot.press("ctrl+t")
        assert app.theme == "hvdeck-light"
        await pilot.press("ctrl+t")
        assert app.theme == "hvdeck-dark"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = _rows(app)
        assert rows["esc"] == "Close" and "^t" in rows
        await pilot.press("escape")
        assert isinstance(app.screen, ActionMenuScreen)
