"""SVG snapshots of every screen, from the real app on the demo fleet (libvirt's test driver).

Deterministic by construction: the pollers are not started; each host is polled exactly once through
the real backend (one poll has no CPU % or rates, which need two), the clock is frozen, and focused
inputs do not blink. Review the report (snapshot_report.html) before running --snapshot-update.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from hvdeck.backends.errors import HostKeyUnknown
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.sim.demo import demo_inventory, demo_xml
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.tui.screens.host_key import HostKeyScreen
from hvdeck.widgets.bindings_view import BindingsView

from .helpers import dialog_ready, highlight, make_app, plain, wait_for

FIXED = Path("/tmp/hvdeck-snapshots")  # the test-driver URI is shown in plans: keep it the same everywhere


def _inventory() -> Inventory:
    FIXED.mkdir(exist_ok=True)
    hosts = []
    for spec in demo_inventory().hosts:
        target = FIXED / f"{spec.name}.xml"
        shutil.copyfile(demo_xml(spec.name), target)
        hosts.append(dataclasses.replace(spec, libvirt_uri=f"test://{target}"))
    return Inventory(tuple(hosts))


def _app(tmp_path: Path, theme: str = "hvdeck-dark", inventory: Inventory | None = None):
    """The app with its pollers off and its clock frozen; the libvirt demo unless told otherwise."""
    return make_app(tmp_path, inventory or _inventory(), start_pollers=False, clock=lambda: 1000.0, theme=theme)


async def _load(pilot: Pilot) -> None:
    app = pilot.app
    for host in app.host_names:
        await app.fleet.poll_host(host)
    await wait_for(pilot, lambda: sum(len(s.domains) for s in app.snapshots.values()) == 12)
    await pilot.pause()


def _no_blink(pilot: Pilot) -> None:
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["wide", "narrow"])
def test_fleet(snap_compare, tmp_path: Path, size):
    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=_load)


def test_fleet_light_theme(snap_compare, tmp_path: Path):
    assert snap_compare(_app(tmp_path, "hvdeck-light"), terminal_size=(120, 36), run_before=_load)


def test_fleet_grouped_and_filtered(snap_compare, tmp_path: Path):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await pilot.press("g", "slash", *"state:running", "enter")

    assert snap_compare(_app(tmp_path), terminal_size=(120, 36), run_before=run_before)


SIZES = pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["wide", "80x24"])


@SIZES
def test_domain_screen(snap_compare, tmp_path: Path, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "db01")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DomainScreen)
                       and bool(pilot.app.screen.query_one(BindingsView).query("#section-disk")))

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=run_before)


@SIZES
def test_force_off_plan(snap_compare, tmp_path: Path, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "web01")
        await pilot.press("F")
        await dialog_ready(pilot)
        await pilot.press(*"web0")
        _no_blink(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=run_before)


@SIZES
def test_host_key_prompt(snap_compare, tmp_path: Path, size):
    problem = HostKeyUnknown(
        "unknown", host="lab1", address="192.0.2.10", port=22,
        fingerprint="SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
        key_line="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        known_hosts="/home/ops/.ssh/known_hosts", pattern="192.0.2.10")

    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await pilot.app.push_screen(HostKeyScreen(problem))
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=run_before)





@pytest.fixture
def frozen_ldoms():
    from hvdeck.backends.sim.demo import DemoFleet

    with DemoFleet(libvirt=False, zones=(), xen=(), clock=lambda: 5000.0) as inventory:
        yield inventory


def test_ldoms_fleet(snap_compare, tmp_path: Path, frozen_ldoms):
    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=(120, 36), run_before=_load)


@pytest.mark.parametrize("size", [(120, 50), (80, 24)], ids=["wide", "80x24"])
def test_ldoms_domain_screen(snap_compare, tmp_path: Path, frozen_ldoms, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "ldg-db1")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DomainScreen)
                       and bool(pilot.app.screen.query_one(BindingsView).query("#section-vcons")))

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["wide", "80x24"])
def test_ldoms_host_screen(snap_compare, tmp_path: Path, frozen_ldoms, size):
    from hvdeck.tui.screens.host import HostScreen

    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "ldg-web1")
        await pilot.press("H")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HostScreen)
                       and bool(pilot.app.screen.query_one(BindingsView).query("#section-free")))

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)


@SIZES
def test_ldoms_action_menu(snap_compare, tmp_path: Path, frozen_ldoms, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "ldg-test")
        await pilot.press("a")
        await pilot.pause()

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)


def test_ldoms_action_menu_end_at_80x24_in_light_theme(snap_compare, tmp_path: Path, frozen_ldoms):
    """End highlights the last action, and the list has scrolled to show it."""
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "ldg-test")
        await pilot.press("a")
        await dialog_ready(pilot)
        await pilot.press("end")
        await pilot.pause()

    assert snap_compare(_app(tmp_path, "hvdeck-light", inventory=frozen_ldoms), terminal_size=(80, 24),
                        run_before=run_before)


@SIZES
def test_ldoms_params_dialog_with_an_error(snap_compare, tmp_path: Path, frozen_ldoms, size):
    """The current value beside the input, and a refused input explained in place."""
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "ldg-test")
        app = pilot.app
        extra = next(e for e in app.fleet.backend("t7-a").extra_actions() if e.id == "set-memory")
        app.request_extra(app.screen.current_domain(), extra)
        await dialog_ready(pilot)
        await pilot.press(*"lots", "enter")
        # the host's answer, then its styles settled (a loaded machine drew the dialog half-way through)
        await wait_for(pilot, lambda: "checking" not in plain(app.screen.query_one("#params-error")))
        await pilot.pause(0.2)
        _no_blink(pilot)
        await pilot.pause()

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)


@SIZES
def test_help_screen(snap_compare, tmp_path: Path, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=run_before)


@SIZES
def test_pause_plan_with_cancel_focused(snap_compare, tmp_path: Path, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "web01")
        await pilot.press("p")
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=run_before)


@SIZES
def test_domain_screen_of_a_stale_host(snap_compare, tmp_path: Path, size):
    """Not live: the age of the data, why actions are unavailable, figures in the stale colour."""
    from hvdeck.backends.model import HostStatus
    from hvdeck.tui.messages import FleetUpdated

    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await highlight(pilot, "db01")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DomainScreen)
                       and bool(pilot.app.screen.query_one(BindingsView).query("#section-disk")))
        last = pilot.app.snapshots["kvm-a"]
        pilot.app.post_message(FleetUpdated(dataclasses.replace(last, status=HostStatus.STALE, last_ok=958.0)))
        await wait_for(pilot, lambda: pilot.app.screen.has_class("-stale"))
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=run_before)


# -- the console pane: a simulated LDoms guest's console through real SSH (deterministic output) ---------

CONSOLE_SIZES = pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])


async def _console(pilot: Pilot, name: str) -> None:
    """Attach to ``name``'s console and bring its login prompt (vntsd's lines, then the guest's)."""
    from hvdeck.widgets.console_pane import ConsolePane

    pane = pilot.app.screen.query_one(ConsolePane)
    await highlight(pilot, name)
    await pilot.press("c")
    await wait_for(pilot, lambda: pane.active_tab is not None and pane.active_tab.domain == name
                   and pane.active_tab.state == "attached")
    tab = pane.active_tab
    await wait_for(pilot, lambda: "You have write permission" in tab.terminal.plain_text())
    await pilot.press("enter")
    await wait_for(pilot, lambda: "console login:" in tab.terminal.plain_text())
    await tab.terminal.drain()
    await pilot.pause(0.1)


@CONSOLE_SIZES
def test_console_pane_split(snap_compare, tmp_path: Path, frozen_ldoms, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await _console(pilot, "ldg-web1")

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)


@CONSOLE_SIZES
def test_console_pane_full_screen(snap_compare, tmp_path: Path, frozen_ldoms, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await _console(pilot, "ldg-web1")
        await pilot.press(*"root", "enter")
        await pilot.press("f11")
        await pilot.pause(0.2)

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)


@CONSOLE_SIZES
def test_console_pane_two_tabs(snap_compare, tmp_path: Path, frozen_ldoms, size):
    async def run_before(pilot: Pilot) -> None:
        await _load(pilot)
        await _console(pilot, "ldg-web1")
        await pilot.press("f6")
        await _console(pilot, "ldg-db1")

    assert snap_compare(_app(tmp_path, inventory=frozen_ldoms), terminal_size=size, run_before=run_before)
