"""SVG snapshots of the xentop screen at 160x48 and 80x24, from two frames of a simulated xl dom0 taken two
seconds apart on a clock the test moves, with histories fed to the app's store: deterministic by
construction (no poller runs, the app's clock is frozen)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot

from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.model import HostSnapshot, HostStatus
from hvdeck.backends.sim.xen import XenWorld
from hvdeck.backends.sim.xen.xentop import CURRENT, Options, format_frame
from hvdeck.backends.xen import live, parse
from hvdeck.backends.xen.xentop import parse_xentop
from hvdeck.tui.screens.xentop import XentopScreen

from .helpers import make_app, wait_for


class Still:
    now = 7_000_000.0

    def __call__(self) -> float:
        return self.now


def xentop_view() -> live.XentopView:
    clock = Still()
    world = XenWorld.demo("xen-a", "xl", 1, clock=clock)
    options = Options(batch=True, full_name=True)
    first = world.node_sample()
    clock.now += 2
    second = world.node_sample()
    frames = parse_xentop(format_frame(first, None, options, CURRENT) + format_frame(second, first, options, CURRENT))
    listed = {d.name: live.Listed(d.name, d.domid, d.mem_kb // 1024, d.vcpus_online, None)
              for d in world.domains.values() if d.active}
    rows = live.live_rows("xen-a", live.Sample(frames[1], 998.0, 2), live.Sample(frames[0], 996.0, 1), listed,
                          interval=2, console="xl")
    totals = parse.parse_info(world.run(["xl", "info"]).stdout)
    return live.XentopView(host="xen-a", seq=2, index=1, at=998.0, interval=2, columns=frames[1].columns,
                           rows=rows, counts=live.counts(frames[1]), xen_version=totals.xen_version,
                           cpus=totals.nr_cpus, cpu_mhz=totals.cpu_mhz, total_memory_bytes=totals.total_memory_bytes,
                           free_memory_bytes=totals.free_memory_bytes)


def _app(tmp_path: Path):
    inventory = Inventory((HostSpec(name="xen-a", address="xen-a", kind="xen"),))
    return make_app(tmp_path, inventory, start_pollers=False, clock=lambda: 1000.0)


@pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
def test_xentop_screen(snap_compare, tmp_path: Path, size):
    view = xentop_view()

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        for step in range(30):  # thirty polls of history, the same every run
            domains = tuple(replace(row.domain, cpu_percent=50 + 45 * math.sin(step / 4 + index),
                                    net_rx_bps=1e5 * (1 + math.sin(step / 3 + index)), net_tx_bps=1e4,
                                    disk_rd_bps=2e4 * (1 + math.cos(step / 5 + index)), disk_wr_bps=0.0)
                            for index, row in enumerate(view.rows) if row.domain is not None)
            app.store.update(HostSnapshot(host="xen-a", kind="xen", status=HostStatus.UP, taken_at=900.0 + step,
                                          domains=domains, last_ok=900.0 + step))
        await app.push_screen(XentopScreen("xen-a", source=lambda: view))
        await wait_for(pilot, lambda: isinstance(app.screen, XentopScreen) and app.screen._shown == 2)
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=run_before)


def test_xentop_screen_of_a_stream_that_died(snap_compare, tmp_path: Path):
    view = replace(xentop_view(), stale="xentop ended (exit status 0)")

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await app.push_screen(XentopScreen("xen-a", source=lambda: view))
        await wait_for(pilot, lambda: isinstance(app.screen, XentopScreen) and app.screen._shown == 2)
        app.screen.sort_by("NAME", reverse=False)
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=(120, 36), run_before=run_before)


async def test_hostile_names_are_shown_as_text(tmp_path: Path):
    from textual.widgets import DataTable

    view = xentop_view()
    hostile = "[@click=app.quit]x\x1b]52;c;aGk=\x07\x9b31m[/]"
    rows = tuple(replace(row, name=hostile) if row.name == "web01" else row for row in view.rows)
    view = replace(view, rows=rows, host="xen-a")
    app = _app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.push_screen(XentopScreen("xen-a", source=lambda: view))
        await wait_for(pilot, lambda: isinstance(app.screen, XentopScreen) and app.screen._shown == 2)
        table = app.screen.query_one(DataTable)
        shown = [table.get_cell_at((i, 0)).plain for i in range(table.row_count)]
        assert "[@click=app.quit]x^[]52;c;aGk=^GM-^[31m[/]" in shown  # cat -v, not markup, not escapes
        await pilot.click("#xentop-table", offset=(3, 1))  # a click on it is a click on a cell, nothing else
        assert app.is_running
