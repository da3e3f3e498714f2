"""SVG snapshots of the zones screens, from the real app on the demo's two simulated global zones: the fleet
table, a zone's screen and the action menu of a configured zone, at 160x48 and 80x24.

Deterministic as tests/ui/test_snapshots.py: the pollers are not started, each host is polled once through
the real backend over SSH, the app's clock and the simulated hosts' clocks are frozen."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from hvdeck.backends.sim.demo import DemoFleet
from hvdeck.tui.screens.action_menu import ActionMenuScreen
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.widgets.bindings_view import BindingsView

from .helpers import highlight, make_app, wait_for

SIZES = pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])


@pytest.fixture(scope="module")
def frozen_zones():
    with DemoFleet(libvirt=False, ldoms=(), xen=(), zones_clock=lambda: 1_700_000_000.0, zones_op_seconds=0.0) as inventory:
        yield inventory


def _app(tmp_path: Path, inventory):
    return make_app(tmp_path, inventory, start_pollers=False, clock=lambda: 1000.0)


async def _load(pilot: Pilot) -> None:
    app = pilot.app
    for host in app.host_names:
        await app.fleet.poll_host(host)
    await wait_for(pilot, lambda: sum(len(s.domains) for s in app.snapshots.values()) == 19)
    await pilot.pause()


@SIZES
def test_zones_fleet(snap_compare, tmp_path: Path, frozen_zones, size):
    assert snap_compare(_app(tmp_path, frozen_zones), terminal_size=size, run_before=_load)


@SIZES
def test_zone_domain_screen(snap_compare, tmp_path: Path, frozen_zones, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "web1")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DomainScreen)
                       and bool(pilot.app.screen.query_one(BindingsView).query("#section-attr")))
        await pilot.pause()

    assert snap_compare(_app(tmp_path, frozen_zones), terminal_size=size, run_before=run_before)


@SIZES
def test_zone_action_menu(snap_compare, tmp_path: Path, frozen_zones, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "newapp")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ActionMenuScreen))
        await pilot.pause()

    assert snap_compare(_app(tmp_path, frozen_zones), terminal_size=size, run_before=run_before)
