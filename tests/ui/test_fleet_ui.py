"""The console driven by Pilot on the real app, polling the demo fleet (libvirt's test driver)."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandList
from textual.widgets import Button, Input

from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.model import DomainState, HostStatus
from hvdeck.tui.screens.base import HvdeckFooter
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.tui.screens.fleet import FleetScreen
from hvdeck.tui.screens.host_key import HostKeyScreen
from hvdeck.tui.screens.plan import PlanScreen
from hvdeck.widgets.bindings_view import BindingsView

from ..conftest import echo_handler
from .helpers import (
    SIZE,
    click_when_shown,
    fleet_loaded,
    highlight,
    make_app,
    names,
    plain,
    read_only_demo,
    table,
    wait_for,
)


async def test_fleet_table_shows_every_domain_of_every_host(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        assert sorted(names(app)) == sorted(["web01", "web02", "db01", "cache01", "build01", "legacy-app",
                                             "mail01", "ns1", "ns2", "monitoring", "backup01", "ci-runner"])
        assert names(app)[:6] == ["build01", "cache01", "db01", "legacy-app", "web01", "web02"], \
            "sorted by host (inventory order), then name"
        assert plain(app.screen.query_one("#fleet-status")).startswith("12 of 12 domains · sort HOST ▲")
        strip = plain(app.screen.query_one("#hosts"))
        assert "kvm-a libvirt 6 (3 run)" in strip and "kvm-b libvirt 6 (3 run)" in strip


async def test_filter_by_text_and_by_field(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await pilot.press("slash", *"web")
        assert names(app) == ["web01", "web02"]
        assert "2 of 12 domains" in plain(app.screen.query_one("#fleet-status"))
        await pilot.press("escape")
        assert len(names(app)) == 12 and app.focused is table(app)
        await pilot.press("slash", *"state:paused")
        assert names(app) == ["cache01", "monitoring"]
        await pilot.press("enter")
        assert app.focused is table(app), "enter returns to the table, keeping the filter"
        assert names(app) == ["cache01", "monitoring"]
        await pilot.press("slash", "ctrl+u", *"host:kvm-b shut")
        assert names(app) == ["backup01", "ci-runner"]


async def test_the_filter_prompt_takes_the_footer_line_and_moves_nothing(tmp_path: Path):
    """`/` opens a one-line prompt over the footer: the table keeps its place and size (no layout of the
    whole screen), the footer is not rebuilt for the prompt's keys, and Enter puts the prompt away while
    the status line keeps showing the filter, which `/` edits again."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        screen, t = app.screen, table(app)
        bar, footer = screen.query_one("#filter-bar"), screen.query_one(HvdeckFooter)
        region, keys = t.region, list(footer.children)
        await pilot.press("slash", *"web")
        assert bar.display and bar.region.y == footer.region.y and bar.region.height == 1
        assert t.region == region and list(footer.children) == keys
        await pilot.press("enter")
        assert not bar.display and app.focused is t and names(app) == ["web01", "web02"]
        assert "filter: web" in plain(screen.query_one("#fleet-status"))
        await pilot.press("slash", *" 01")  # `/` edits the kept filter: typing adds to it
        box = screen.query_one("#filter", Input)
        assert bar.display and box.value == "web 01" and names(app) == ["web01"]
        await pilot.press(*" host:kvm-a", "ctrl+w")  # ctrl+w as in a shell: the whole field term
        assert box.value == "web 01 "
        assert box.region.right <= bar.region.right, "the end of a long filter stays on screen"
        await pilot.press("escape")
        assert not bar.display and len(names(app)) == 12 and t.region == region
        assert list(footer.children) == keys, "the footer was rebuilt for keys it never showed"


async def test_sort_by_any_column_and_group_by_host(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await pilot.press("o")  # HOST -> NAME
        assert table(app).sort_column == "name"
        assert names(app) == sorted(names(app), key=str.lower)
        await pilot.press("O")
        assert names(app) == sorted(names(app), key=str.lower, reverse=True)
        app.screen.sort_by("memory")
        await pilot.pause()
        memories = [table(app).domain(k).memory_bytes for k in table(app).visible_keys()]
        assert memories == sorted(memories)
        await pilot.press("g")
        assert table(app).group_by_host
        assert "grouped by host" in plain(app.screen.query_one("#fleet-status"))
        # the cursor skips the host lines: from the first row, up stays put, down moves one domain
        await pilot.press("home", "down")
        assert table(app).cursor_domain is not None


async def test_enter_opens_the_domain_screen_with_its_bindings(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "db01")
        await pilot.press("enter")
        assert isinstance(app.screen, DomainScreen)
        view = app.screen.query_one(BindingsView)
        await wait_for(pilot, lambda: bool(view.query("#section-disk")))
        disk = plain(view.query_one("#section-disk"))
        network = plain(view.query_one("#section-network"))
        console = plain(view.query_one("#section-console"))
        assert "/var/lib/libvirt/images/db01-os.qcow2" in disk and "/dev/vg_data/db01-data" in disk
        assert "52:54:00:a1:00:03" in network and "br0" in network and "storage" in network
        assert "serial" in console and "pty" in console
        assert "VCPU PINNING" in plain(view.query_one("#section-pinning"))
        assert "kvm-a / db01" in plain(app.screen.query_one("#domain-title"))
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)


async def test_suspend_shows_the_exact_call_runs_it_and_audits(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "web01")
        await pilot.press("p")
        assert isinstance(app.screen, PlanScreen)
        steps = plain(app.screen.query_one("#plan-steps-text"))
        assert "virDomainSuspend(domain='web01', uuid='a1000000-0000-4000-8000-000000000001')" in steps
        assert "same as: virsh -c test://" in steps and "suspend --domain=web01" in steps
        await click_when_shown(pilot, "#plan-run")
        await wait_for(pilot, lambda: app.screen.result is not None)
        assert plain(app.screen.query_one("#plan-result")) == "Pause web01 on kvm-a: done"
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)

        def paused() -> bool:
            d = app.domain(table(app).cursor_key)
            return d is not None and d.state is DomainState.PAUSED

        await wait_for(pilot, paused)
    records = app.audit.records()
    assert [(r["host"], r["action"], r["target"], r["result"]) for r in records] == [
        ("kvm-a", "pause", "web01", "started"), ("kvm-a", "pause", "web01", "ok")]
    assert app.audit.verify() == []


async def test_force_off_needs_the_domain_name_typed(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "web02")
        await pilot.press("F")
        assert isinstance(app.screen, PlanScreen)
        run = app.screen.query_one("#plan-run", Button)
        assert run.disabled and app.focused is app.screen.query_one("#plan-confirm", Input)
        await pilot.press(*"web0")
        assert run.disabled
        await pilot.press("1")
        assert run.disabled, "another domain's name does not confirm"
        await pilot.press("backspace", "2")
        assert not run.disabled
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.result is not None)
        assert app.screen.result.ok
        await pilot.press("escape")
        await wait_for(pilot, lambda: next(d for d in app.snapshots["kvm-a"].domains
                                           if d.name == "web02").state is DomainState.STOPPED)


async def test_an_action_the_state_forbids_says_why(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "build01")
        await pilot.press("p")
        assert isinstance(app.screen, FleetScreen)
        assert [n.message for n in app._notifications] == ["Cannot pause build01: build01 is shut off"]


async def test_read_only_host_refuses_actions(tmp_path: Path):
    app = make_app(tmp_path, read_only_demo())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "web01")
        await pilot.press("F")
        assert isinstance(app.screen, FleetScreen)
        assert [n.message for n in app._notifications] == ["Cannot force off web01: kvm-a is read-only in the inventory"]
        assert " ro" in plain(app.screen.query_one("#hosts"))
    assert app.audit.records() == []


async def test_an_unreachable_host_is_marked_and_the_rest_works(tmp_path: Path):
    from hvdeck.backends.sim.demo import demo_inventory

    bad = HostSpec(name="gone", address="gone", transport="local", kind="libvirt",
                   libvirt_uri="test:///nonexistent/node.xml")
    app = make_app(tmp_path, Inventory(demo_inventory().hosts + (bad,)))
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await wait_for(pilot, lambda: app.snapshots["gone"].status is HostStatus.DOWN)
        assert "○ gone down" in plain(app.screen.query_one("#hosts"))
        assert "gone: libvirt: cannot open" in plain(app.screen.query_one("#fleet-status"))
        assert len(names(app)) == 12


async def test_palette_jumps_to_a_host(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Host kvm-b")
        commands = app.screen.query_one(CommandList)

        def index() -> int | None:
            titles = [str(commands.get_option_at_index(i).prompt).split("\n")[0] for i in range(commands.option_count)]
            return titles.index("Host kvm-b") if "Host kvm-b" in titles else None

        await wait_for(pilot, lambda: index() is not None)
        commands.highlighted = index()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and len(names(app)) == 6)
        assert set(names(app)) == {"mail01", "ns1", "ns2", "monitoring", "backup01", "ci-runner"}
        assert app.screen.query_one("#filter", Input).value == "host:kvm-b"


async def test_unknown_host_key_is_asked_and_trusted_only_on_yes(tmp_path: Path, ssh_server, ssh_world):
    server = await ssh_server(echo_handler())
    inventory = Inventory((ssh_world.spec(server),), ssh=ssh_world.options())
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyScreen))
        assert plain(app.screen.query_one("#host-key-fingerprint")) == server.fingerprint
        assert ssh_world.known_hosts.read_text() == ""
        accepted = server.accepted
        await click_when_shown(pilot, "#host-key-yes")
        await wait_for(pilot, lambda: ssh_world.known_hosts.read_text() != "")
        assert ssh_world.known_hosts.read_text() == server.known_hosts_line()
        # trusting pokes the host: it connects (and, this test server being no hypervisor, says so)
        await wait_for(pilot, lambda: server.accepted > accepted and app.snapshots["lab1"].error is not None
                       and "could not tell what kind" in app.snapshots["lab1"].error)
        assert not isinstance(app.screen, HostKeyScreen)


async def test_palette_finds_any_domain_of_a_large_fleet(tmp_path: Path):
    """6,000 domains (150 hosts x 40): the palette used to list only the first 5,000 by name, so a
    domain of a later host was "No matches found"."""
    import time

    from hvdeck.backends.model import Domain, DomainState, HostSnapshot, HostStatus
    from hvdeck.tui.messages import FleetUpdated

    app = make_app(tmp_path, start_pollers=False)
    async with app.run_test(size=SIZE) as pilot:
        for h in range(150):
            host = f"cd-{h:04d}"
            domains = tuple(Domain(host=host, name=f"ldg-web{d:02d}", state=DomainState.RUNNING,
                                   native_state="active") for d in range(40))
            app.post_message(FleetUpdated(HostSnapshot(host=host, kind="ldoms", status=HostStatus.UP,
                                                       taken_at=time.monotonic(), domains=domains)))
        await wait_for(pilot, lambda: table(app).total_count >= 6000)
        await pilot.press("ctrl+p")
        await pilot.press(*"cd-0149/ldg-web39")
        await wait_for(pilot, lambda: "Open cd-0149/ldg-web39" in _palette_titles(app))
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.press(*"cd-0148 web38")  # words as the user thinks of them, not as the line spells them
        await wait_for(pilot, lambda: "Open cd-0148/ldg-web38" in _palette_titles(app))
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.press(*"web37 cd-0147")  # in any order, as in the fleet filter
        await wait_for(pilot, lambda: "Open cd-0147/ldg-web37" in _palette_titles(app))
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.press(*"web")  # a short query lists at most MAX_DOMAIN_HITS domains, not 6,000
        await wait_for(pilot, lambda: any(t.startswith("Open ") for t in _palette_titles(app)))
        await pilot.pause(0.5)
        from hvdeck.tui.commands import MAX_DOMAIN_HITS

        assert sum(t.startswith("Open ") for t in _palette_titles(app)) <= MAX_DOMAIN_HITS


async def test_the_status_line_names_the_first_host_in_trouble_briefly(tmp_path: Path):
    """Hosts in trouble: the first is named with its error cut to a short length and how many more there
    are; the line stays one line at 120 columns (a long error had wrapped it and pushed the table up)."""
    import dataclasses

    from hvdeck.backends.model import HostStatus
    from hvdeck.tui.messages import FleetUpdated
    from hvdeck.tui.screens.fleet import PROBLEM_CELLS

    app = make_app(tmp_path, start_pollers=False)
    async with app.run_test(size=SIZE) as pilot:
        for host in app.host_names:
            await app.fleet.poll_host(host)
        await fleet_loaded(pilot)
        long_error = "no answer for 2m04s (retrying every 1m00s): 127.0.0.1:35813: connection refused " * 3
        for host in app.host_names:  # kvm-a and kvm-b
            down = dataclasses.replace(app.snapshots[host], status=HostStatus.DOWN, error=long_error)
            app.post_message(FleetUpdated(down))
        await wait_for(pilot, lambda: "(+1 more)" in plain(app.screen.query_one("#fleet-status")))
        status = plain(app.screen.query_one("#fleet-status")).strip()
        assert "kvm-a (+1 more): no answer for 2m04s" in status and status.endswith("…")
        assert len(status.split(" · ")[-1]) <= len("kvm-a (+1 more): ") + PROBLEM_CELLS
        assert "\n" not in status


async def test_the_palette_opens_without_every_host_of_a_large_fleet(tmp_path: Path):
    """Before anything is typed the palette lists each host's commands only for a small fleet (at 500
    hosts they were 2,000 lines and half a second to open); typing a host's name still finds them."""
    from hvdeck.backends.inventory import HostSpec, Inventory
    from hvdeck.tui.commands import DISCOVER_HOSTS

    hosts = tuple(HostSpec(name=f"cd-{i:04d}", address="192.0.2.1", kind="ldoms") for i in range(DISCOVER_HOSTS + 5))
    app = make_app(tmp_path, Inventory(hosts), start_pollers=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: "Poll all hosts now (refresh)" in _palette_titles(app))
        assert not any(t.startswith("Host cd-") for t in _palette_titles(app))
        await pilot.press(*"Host cd-0024")
        await wait_for(pilot, lambda: "Host cd-0024" in _palette_titles(app))


def _palette_titles(app) -> list[str]:
    """The first line of each command the open palette lists."""
    commands = app.screen.query_one(CommandList)
    return [str(commands.get_option_at_index(i).prompt).split("\n")[0] for i in range(commands.option_count)]


async def test_start_is_refused_while_the_same_guest_runs_on_another_host(tmp_path: Path):
    """backup01 (stopped on kvm-b) is defined and started on kvm-a under another name, with its UUID, as a
    move done by hand would leave it: Start on kvm-b's copy says where it runs and shows no plan."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fleet_loaded(pilot)
        copy = next(d for s in app.snapshots.values() for d in s.domains if d.name == "backup01")
        assert copy.host == "kvm-b" and copy.state is DomainState.STOPPED and copy.uuid
        conn = app.fleet.backend("kvm-a")._conn  # the host's own libvirt connection, as another tool would
        moved = conn.defineXML(f"<domain type='test'><name>backup01-moved</name><uuid>{copy.uuid}</uuid>"
                               "<memory unit='MiB'>256</memory><os><type>hvm</type></os></domain>")
        moved.create()
        try:
            app.refresh_hosts()
            await wait_for(pilot, lambda: any(d.name == "backup01-moved" and d.state is DomainState.RUNNING
                                              for d in app.snapshots["kvm-a"].domains))
            await highlight(pilot, "backup01")
            await pilot.press("s")
            await pilot.pause()
            assert not isinstance(app.screen, PlanScreen)
            assert [n.message for n in app._notifications][-1:] == [
                f"Cannot start backup01: the same guest (UUID {copy.uuid}) is running on kvm-a as backup01-moved: "
                "starting this copy too would run it twice"]
        finally:
            moved.destroy()
            moved.undefine()


async def test_a_filter_keeps_the_chosen_domain_or_starts_at_the_first_match(tmp_path: Path):
    """The highlight stays on the domain the user chose while it matches, comes back to it when a typo is
    corrected, and otherwise starts at the first match (never on a row the user did not pick)."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        t = table(app)
        await highlight(pilot, "web02")
        await pilot.press("slash", *"backup", "enter")  # web02 left out: the first match
        assert t.visible_keys()[0] == t.cursor_key and t.domain(t.cursor_key).name == "backup01"
        await pilot.press("escape")
        await highlight(pilot, "web02")
        await pilot.press("slash", *"web", "x")  # nothing matches
        assert t.cursor_key is None
        await pilot.press("backspace")  # corrected: the chosen domain again
        assert t.domain(t.cursor_key).name == "web02"


async def test_a_long_filter_or_filter_error_keeps_the_status_on_one_line(tmp_path: Path):
    """Cut at their end, the filter and its error leave the status one line, and the table its height."""
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await fleet_loaded(pilot)
        t = table(app)
        height = t.region.height
        for typed, shown in (("foo:bar", "unknown field foo:"),
                             ("state:running host:kvm memory:>=2G vcpus:>1 name:web flags:x foo:bar",
                              "filter: state:running")):
            await pilot.press("slash", "ctrl+u", *typed, "enter")
            status = plain(app.screen.query_one("#fleet-status")).strip()
            assert shown in status and "…" in status and "\n" not in status, status
            assert t.region.height == height, "the table kept its height"
