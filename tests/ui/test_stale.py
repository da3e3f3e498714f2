"""Never show stale data as live: a domain of a host that stopped answering says how old its data is,
its figures are drawn in the stale colour, and every action says why it is unavailable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import asyncssh
from textual.widgets import OptionList

from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import HostStatus
from hvdeck.backends.sim.ldoms import LdomsWorld, serve
from hvdeck.tui.messages import FleetUpdated
from hvdeck.tui.screens.action_menu import ActionMenuScreen
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.tui.screens.plan import PlanScreen

from .helpers import SIZE, fleet_loaded, highlight, make_app, plain, wait_for


async def test_the_domain_screen_of_a_lost_host_says_its_data_is_old_and_refuses_actions(tmp_path: Path, ssh_world):
    world = LdomsWorld.demo("t7-a", 1)
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await serve(world, host_key=key, authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    port = server.port
    inventory = Inventory((ssh_world.spec(server, "t7-a", kind="ldoms", poll_interval=0.3),), ssh=ssh_world.options())
    now = [1000.0]
    app = make_app(tmp_path, inventory, clock=lambda: now[0])
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await fleet_loaded(pilot, 6)
            await highlight(pilot, "ldg-db1")
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, DomainScreen)
            notice = screen.query_one("#domain-notice")
            assert not notice.has_class("-shown") and not screen.has_class("-stale")
            await server.close()
            now[0] = 1042.0
            await wait_for(pilot, lambda: app.snapshots["t7-a"].status is HostStatus.STALE)
            await wait_for(pilot, lambda: screen.has_class("-stale"))
            text = plain(notice)
            assert notice.has_class("-shown") and "Not live: data from 42s ago." in text
            assert "Actions unavailable: t7-a is not answering (last data 42s old)" in text
            now[0] = 1100.0
            screen._tick()
            assert "data from 1m40s ago" in plain(notice), "the age keeps counting while nothing arrives"
            # the live figures are drawn in the theme's stale colour, not the state's green
            title = screen.query_one("#domain-title").content
            stale = app.get_css_variables()["stale"].lower()
            running = title.plain.index("running")
            assert str(title.get_style_at_offset(app.console, running).color.triplet.hex).lower() == stale
            # every action refuses, with the reason, from the keys and from the menu
            await pilot.press("h")
            assert not isinstance(app.screen, PlanScreen)
            assert "t7-a is not answering" in list(app._notifications)[-1].message
            await pilot.press("a")
            assert isinstance(app.screen, ActionMenuScreen)
            assert "No action can be planned now: t7-a is not answering" in plain(
                app.screen.query_one("#action-menu-notice"))
            menu = app.screen.query_one(OptionList)
            assert all(menu.get_option_at_index(i).disabled for i in range(menu.option_count))
            assert "t7-a is not answering" in str(menu.get_option("shutdown").prompt)
            await pilot.press("escape")
            server = await serve(world, port=port, host_key=key, authorized_keys=[ssh_world.client_key])
            await wait_for(pilot, lambda: app.snapshots["t7-a"].status is HostStatus.UP, timeout=20)
            await wait_for(pilot, lambda: not screen.has_class("-stale") and not notice.has_class("-shown"))
    finally:
        await server.close()


async def test_a_down_host_names_its_error_on_the_domain_screen(tmp_path: Path):
    """A host given up on (down, with the error the fleet recorded): the domain screen says so."""
    now = [500.0]
    app = make_app(tmp_path, start_pollers=False, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        for host in app.host_names:
            await app.fleet.poll_host(host)
        await fleet_loaded(pilot)
        await highlight(pilot, "web01")
        await pilot.press("enter")
        screen = app.screen
        last = app.snapshots["kvm-a"]
        down = dataclasses.replace(last, status=HostStatus.DOWN, error="connection refused", last_ok=500.0)
        now[0] = 800.0
        app.post_message(FleetUpdated(down))  # as the poller posts it
        await wait_for(pilot, lambda: screen.has_class("-stale"))
        text = plain(screen.query_one("#domain-notice"))
        assert "Not live: data from 5m00s ago." in text
        assert "Actions unavailable: kvm-a is down: connection refused" in text
