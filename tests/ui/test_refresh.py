"""Screens that refresh update in place: reloads in quick succession, and changes made on a host behind
hvdeck's back, never crash the app (they used to: `DuplicateIds ... 'section-cpu'`)."""

from __future__ import annotations

from pathlib import Path

import asyncssh
from textual.widgets import Static

from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import DomainState
from hvdeck.backends.sim.ldoms import LdomsWorld, serve
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.tui.screens.host import HostScreen
from hvdeck.widgets.bindings_view import BindingsView

from .helpers import SIZE, burst, fleet_loaded, highlight, make_app, plain, wait_for, workers_done


def _ids(view: BindingsView) -> list[str]:
    return [child.id or "" for child in view.children]


def _settled(view: BindingsView, section: str) -> bool:
    return view.showing_sections and not view._applying and bool(view.query(f"#section-{section}"))


async def test_bindings_view_updates_sections_in_place_by_id(tmp_path: Path):
    """A section that stays keeps its widget; a gone one is removed; a new one appears in its place."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "db01")
        await pilot.press("enter")
        view = app.screen.query_one(BindingsView)
        await wait_for(pilot, lambda: _settled(view, "disk"))
        cpu = view.query_one("#section-cpu", Static)
        before = _ids(view)
        assert "section-pinning" in before, "db01 has pinned vCPUs"
        bindings = await app.load_bindings(app.screen.current_domain())
        from dataclasses import replace

        from hvdeck.backends.model import Cpu
        view.show(replace(bindings, cpu=Cpu(vcpus=bindings.cpu.vcpus, max_vcpus=bindings.cpu.max_vcpus)))
        await wait_for(pilot, lambda: not view._applying and "section-pinning" not in _ids(view))
        assert view.query_one("#section-cpu", Static) is cpu, "a kept section is updated, not re-mounted"
        assert "floating" in plain(cpu)
        view.show(bindings)  # pinning comes back, right after cpu, as ldm and virsh order them
        await wait_for(pilot, lambda: not view._applying and "section-pinning" in _ids(view))
        assert _ids(view) == before
        view.show_message("reading…")
        await wait_for(pilot, lambda: not view._applying and _ids(view) == ["bindings-message"])


async def test_domain_screen_survives_reloads_in_quick_succession(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "db01")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, DomainScreen)
        view = screen.query_one(BindingsView)
        await wait_for(pilot, lambda: _settled(view, "disk"))
        expected = _ids(view)
        for _ in range(10):  # as fast as Python can call it: every reload overlaps the previous one
            screen.action_reload()
        await burst(pilot, *["ctrl+r"] * 8)  # as a key held down arrives
        for _ in range(3):
            await pilot.press("ctrl+r")
        await workers_done(pilot)
        await wait_for(pilot, lambda: _settled(view, "disk"))
        assert app.screen is screen and app.return_code is None
        assert _ids(view) == expected, "each section exactly once, in order"


async def test_host_screen_survives_reloads_in_quick_succession(tmp_path: Path):
    from hvdeck.backends.sim.demo import DemoFleet

    with DemoFleet(libvirt=False, zones=(), xen=()) as inventory:
        app = make_app(tmp_path, inventory)
        async with app.run_test(size=SIZE) as pilot:
            await fleet_loaded(pilot, 12)
            await highlight(pilot, "ldg-web1")
            await pilot.press("H")
            screen = app.screen
            assert isinstance(screen, HostScreen)
            view = screen.query_one(BindingsView)
            await wait_for(pilot, lambda: _settled(view, "vds"))
            expected = _ids(view)
            for _ in range(10):
                screen.action_reload()
            await burst(pilot, *["ctrl+r"] * 8)
            await workers_done(pilot)
            await wait_for(pilot, lambda: _settled(view, "vds"))
            assert app.screen is screen and app.return_code is None
            assert _ids(view) == expected


async def test_domain_screen_follows_a_change_made_behind_hvdecks_back_ldoms(tmp_path: Path, ssh_world):
    """Another admin runs `ldm start` and `ldm stop` on the control domain: the open domain screen
    reloads its bindings each time (with no key pressed), and keeps running."""
    world = LdomsWorld.demo("t7-a", 1)
    server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    inventory = Inventory((ssh_world.spec(server, "t7-a", kind="ldoms", poll_interval=0.2),),
                          ssh=ssh_world.options())
    app = make_app(tmp_path, inventory)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await fleet_loaded(pilot, 6)
            await highlight(pilot, "ldg-test")
            await pilot.press("enter")
            screen = app.screen
            view = screen.query_one(BindingsView)
            await wait_for(pilot, lambda: _settled(view, "vcons"))
            assert screen.current_domain().native_state == "bound"
            for argv, state in ((["ldm", "start", "ldg-test"], DomainState.RUNNING),
                                (["ldm", "stop", "ldg-test"], DomainState.STOPPED),
                                (["ldm", "start", "ldg-test"], DomainState.RUNNING)):
                reply = world.run(argv)
                assert reply.exit_status == 0, reply.stderr
                await wait_for(pilot, lambda state=state: screen.current_domain().state is state)
                await workers_done(pilot)
                await wait_for(pilot, lambda: _settled(view, "vcons"))
                assert state.value in plain(screen.query_one("#domain-title"))
            assert app.screen is screen and app.return_code is None
            assert _ids(view).count("section-vcons") == 1
    finally:
        await server.close()


async def test_domain_screen_follows_a_change_made_behind_hvdecks_back_libvirt(tmp_path: Path):
    """A guest started and destroyed through libvirt directly (not through a plan): the domain screen
    reloads on the lifecycle events and stays up."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "build01")
        await pilot.press("enter")
        screen = app.screen
        view = screen.query_one(BindingsView)
        await wait_for(pilot, lambda: _settled(view, "disk"))
        conn = app.fleet.backend("kvm-a")._conn  # the host's own libvirt connection, used as another tool would
        guest = conn.lookupByName("build01")
        for change, state in ((guest.create, DomainState.RUNNING), (guest.destroy, DomainState.STOPPED),
                              (guest.create, DomainState.RUNNING)):
            change()
            await wait_for(pilot, lambda state=state: screen.current_domain().state is state)
            await workers_done(pilot)
            await wait_for(pilot, lambda: _settled(view, "disk"))
        assert app.screen is screen and app.return_code is None
        guest.destroy()  # leave the test driver's guest as it was
