"""The console on the demo's simulated Xen dom0s (xl, xm, Sun xVM), reached through real SSH: the fleet rows
with xentop's letters and rates, and the xentop screen (`X`) live, sortable, updated in place."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from hvdeck.backends.model import DomainState
from hvdeck.backends.sim.demo import DemoFleet
from hvdeck.tui.screens.host import HostScreen
from hvdeck.tui.screens.xentop import XentopScreen

from .helpers import SIZE, fleet_loaded, highlight, make_app, names, plain, table, wait_for


@pytest.fixture(scope="module")
def xen_fleet():
    with DemoFleet(ldoms=(), libvirt=False, zones=()) as inventory:
        yield inventory


async def test_the_fleet_shows_the_three_dom0s_with_rates(tmp_path: Path, xen_fleet):
    app = make_app(tmp_path, xen_fleet)
    async with app.run_test(size=(160, 48)) as pilot:
        await fleet_loaded(pilot, 20)
        assert {"web01", "app02", "sol1", "sol-build-server", "backup01", "dev01", "sol2"} <= set(names(app))
        t = table(app)

        def rates() -> bool:
            rows = {t.domain(k).name: t.domain(k) for k in t.visible_keys()}
            return rows["web01"].cpu_percent is not None and rows["web01"].net_rx_bps is not None
        await wait_for(pilot, rates, timeout=20)
        rows = {(t.domain(k).host, t.domain(k).name): t._rows[k].cells for k in t.visible_keys()}
        web = rows[("xen-a", "web01")]
        assert web[0] == "xen-a" and web[9] != "-" and web[10] != "-"  # NET and DISK rates from the frames
        assert rows[("xen-a", "backup01")][3:5] == ("stopped", "config")
        assert rows[("xvm-a", "sol-build-server")][1] == "sol-build-server"  # xentop printed "sol-build-"


async def test_x_opens_xentop_live_and_sortable(tmp_path: Path, xen_fleet):
    app = make_app(tmp_path, xen_fleet)
    async with app.run_test(size=(160, 48)) as pilot:
        await fleet_loaded(pilot, 20)
        await highlight(pilot, "app02")
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, XentopScreen) and app.screen._shown is not None)
        screen = app.screen
        assert screen.host == "xm-a"
        head = plain(screen.query_one("#xentop-head"))
        assert head.startswith("xentop - xm-a   Xen 4.1.3OVM")
        assert "6 domains: " in head and "1 crashed" in head and "Mem: " in head and "CPUs: 24 @ 2666MHz" in head
        data = screen.query_one(DataTable)
        keys = [row.key.value for row in data.ordered_rows]
        assert {key.split("\x1f")[1] for key in keys} == {"Domain-0", "app01", "app02", "db02", "etl01",
                                                          "reporting-server-prod"}
        assert [c.label.plain for c in data.ordered_columns][:4] == ["NAME", "STATE", "CPU(sec)", "CPU(%)"]
        # a new frame: rows are updated in place (not cleared and added again), the cursor stays on its row
        screen.sort_by("NAME", reverse=False)
        data.move_cursor(row=1)  # app02, the busy guest
        await pilot.pause()
        on = data.coordinate_to_cell_key(data.cursor_coordinate).row_key.value
        first, seconds = screen._shown, data.get_cell(on, "CPU(sec)").plain
        await wait_for(pilot, lambda: screen._shown is not None and screen._shown > first, timeout=10)
        await wait_for(pilot, lambda: data.get_cell(on, "CPU(sec)").plain != seconds, timeout=10)
        assert data.cursor_coordinate.row == 1
        assert data.coordinate_to_cell_key(data.cursor_coordinate).row_key.value == on
        assert sorted(row.key.value for row in data.ordered_rows) == sorted(keys)
        # sorting by every column: the next one, reversed, a header clicked
        await pilot.press("o")
        assert screen.sort_column == "STATE" and not screen.sort_reverse  # the column after NAME
        screen.sort_by("NAME", reverse=False)
        await pilot.pause()
        assert [data.get_cell_at((i, 0)).plain for i in range(data.row_count)] == [
            "app01", "app02", "db02", "Domain-0", "etl01", "reporting-server-prod"]
        await pilot.press("O")
        assert data.get_cell_at((0, 0)).plain == "reporting-server-prod"
        state_x = data.ordered_columns[0].get_render_width(data) + 2  # the STATE header, right of NAME
        await pilot.click("#xentop-table", offset=(state_x, 0))
        await pilot.pause()
        assert screen.sort_column == "STATE"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, XentopScreen))


async def test_x_from_the_host_screen_and_on_other_kinds(tmp_path: Path, xen_fleet):
    app = make_app(tmp_path, xen_fleet)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot, 20)
        await highlight(pilot, "sol1")
        await pilot.press("H")
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        assert app.screen.check_action("xentop", ()) is True
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, XentopScreen) and app.screen.host == "xvm-a")
        await wait_for(pilot, lambda: app.screen._shown is not None)
        head = plain(app.screen.query_one("#xentop-head"))
        assert "Xen 3.3.2-xvm" in head
        columns = [c.label.plain for c in app.screen.query_one(DataTable).ordered_columns]
        assert "VBD_RSECT" not in columns  # Xen 3.3's xentop has no sector columns
        names_shown = [app.screen.query_one(DataTable).get_cell_at((i, 0)).plain
                       for i in range(app.screen.query_one(DataTable).row_count)]
        assert "sol-build-server" in names_shown  # cut to "sol-build-" by xentop, resolved with xm list
        app.open_xentop("no-such-host")  # nothing happens for a host the inventory does not have
    libvirt = make_app(tmp_path)
    async with libvirt.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "web01")
        await pilot.press("X")
        await wait_for(pilot, lambda: bool(libvirt._notifications))
        assert "kvm-a is a libvirt host" in list(libvirt._notifications)[-1].message
        assert not isinstance(libvirt.screen, XentopScreen)


async def test_a_paused_guest_shows_paused_in_the_table(tmp_path: Path, xen_fleet):
    app = make_app(tmp_path, xen_fleet)
    async with app.run_test(size=(160, 48)) as pilot:
        await fleet_loaded(pilot, 20)
        t = table(app)
        rows = {t.domain(k).name: t.domain(k) for k in t.visible_keys()}
        assert rows["cache01"].state is DomainState.PAUSED and rows["cache01"].native_state == "----p-"
        assert rows["legacy-app"].state is DomainState.CRASHED


async def test_the_migration_wizard_greys_out_a_dom0_of_the_other_toolstack(tmp_path: Path, xen_fleet):
    """xm-a (xend) lists xvm-a (xend) as a target, and xen-a (xl) greyed out with the reason, before any check."""
    from textual.widgets import OptionList

    from hvdeck.tui.wizards.migrate import MigrateWizard

    app = make_app(tmp_path, xen_fleet)
    async with app.run_test(size=(160, 48)) as pilot:
        await fleet_loaded(pilot, 20)
        t = table(app)
        key = next(k for k in t.visible_keys() if t.domain(k).host == "xm-a"
                   and t.domain(k).state is DomainState.RUNNING and t.domain(k).name != "Domain-0")
        assert t.move_to(key)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MigrateWizard))
        options = app.screen.query_one("#targets", OptionList)
        await wait_for(pilot, lambda: options.option_count == 2)
        shown = {options.get_option_at_index(i).id: options.get_option_at_index(i) for i in range(2)}
        assert not shown["target:xvm-a"].disabled
        assert shown["target:xen-a"].disabled and "xl migrates to xl only" in str(shown["target:xen-a"].prompt)
