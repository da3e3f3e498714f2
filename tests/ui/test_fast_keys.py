"""Fast fingers: keys typed in one burst (a paste, `tmux send-keys`, a fast typist) never act on a host.

The filter takes every key typed after `/`; a plan never has Run as its default; no dialog can be
confirmed by a key that arrived before it was drawn. Each burst is queued whole before the app handles
its first key, as a terminal delivers it (`helpers.burst`); `Pilot.press` without pauses is tried too.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Input, OptionList

from hvdeck.backends.errors import HostKeyUnknown
from hvdeck.backends.model import DomainState
from hvdeck.tui.screens.action_menu import ActionMenuScreen, ParamsScreen
from hvdeck.tui.screens.fleet import FleetScreen
from hvdeck.tui.screens.host_key import HostKeyScreen
from hvdeck.tui.screens.plan import PlanScreen

from .helpers import SIZE, burst, fleet_loaded, highlight, make_app, names, table, wait_for


def _states(app) -> dict[str, DomainState]:
    return {d.key: d.state for s in app.snapshots.values() for d in s.domains}


def _plans(app) -> list[PlanScreen]:
    return [s for s in app.screen_stack if isinstance(s, PlanScreen)]


async def _after_a_poll(pilot) -> None:
    """Let every host be polled once more, so that anything started would show."""
    app = pilot.app
    seen = {host: s.taken_at for host, s in app.snapshots.items()}
    app.refresh_hosts()
    await wait_for(pilot, lambda: all(app.snapshots[h].taken_at > t for h, t in seen.items()))


async def test_a_burst_after_slash_goes_to_the_filter_and_starts_nothing(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        before = _states(app)
        for attempt in range(3):
            await burst(pilot, "/", *"state:stopped", "enter")
            box = app.screen.query_one("#filter", Input)
            assert box.value == "state:stopped", f"attempt {attempt}: every key reached the filter"
            stopped = sorted(d.name for s in app.snapshots.values() for d in s.domains
                             if d.state is DomainState.STOPPED)
            assert len(stopped) >= 2 and sorted(names(app)) == stopped
            assert not _plans(app) and isinstance(app.screen, FleetScreen)
            await wait_for(pilot, lambda: app.focused is table(app))
            await burst(pilot, "escape")
            assert box.value == "" and len(names(app)) == 12
        await _after_a_poll(pilot)
        assert _states(app) == before
    assert app.audit.records() == []


async def test_pilot_press_without_pauses_after_slash_starts_nothing(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        before = _states(app)
        await pilot.press(*"/state:stopped", "enter")
        assert app.screen.query_one("#filter", Input).value == "state:stopped"
        assert not _plans(app)
        await _after_a_poll(pilot)
        assert _states(app) == before
    assert app.audit.records() == []


async def test_a_plan_opened_by_a_burst_ignores_the_rest_of_it(tmp_path: Path):
    """`p` + Enter in one burst: the plan opens, the Enter (typed before it was drawn) is dropped."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "web01")
        await burst(pilot, "p", "enter", "tab", "enter", "space")
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        assert screen.result is None and not screen._busy
        assert app.focused is screen.query_one("#plan-cancel", Button), "Run is never the default"
        # a deliberate Enter now presses the focused button: Cancel
        await pilot.press("enter")
        assert isinstance(app.screen, FleetScreen)
        await _after_a_poll(pilot)
        assert app.domain(table(app).cursor_key).state is DomainState.RUNNING
    assert app.audit.records() == []


async def test_a_confirm_phrase_typed_before_the_plan_was_drawn_is_dropped(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await highlight(pilot, "web02")
        await burst(pilot, "F", *"web02", "enter")
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        assert screen.query_one("#plan-confirm", Input).value == ""
        assert screen.query_one("#plan-run", Button).disabled and screen.result is None
        await pilot.press("escape")
    assert app.audit.records() == []


async def test_the_action_menu_and_the_inputs_dialog_drop_keys_typed_before_they_were_drawn(tmp_path: Path):
    from hvdeck.backends.sim.demo import DemoFleet

    with DemoFleet(libvirt=False, zones=(), xen=()) as inventory:
        app = make_app(tmp_path, inventory)
        async with app.run_test(size=SIZE) as pilot:
            await fleet_loaded(pilot, 12)
            await highlight(pilot, "ldg-test")
            await burst(pilot, "a", "enter")
            menu_screen = app.screen
            assert isinstance(menu_screen, ActionMenuScreen), "the Enter did not choose the first item"
            menu = menu_screen.query_one(OptionList)
            menu.highlighted = menu.get_option_index("extra:set-vcpu")
            await pilot.press("enter")
            assert isinstance(app.screen, ParamsScreen)
            await pilot.press("escape")
            await burst(pilot, "a")
            await pilot.press("escape")
            menu_screen = None
            # straight to the inputs dialog, and a value and Enter in the same burst
            domain = table(app).cursor_domain
            extra = next(e for e in app.fleet.backend("t7-a").extra_actions() if e.id == "set-vcpu")
            app.request_extra(domain, extra)
            await burst(pilot, "2", "enter")
            assert isinstance(app.screen, ParamsScreen)
            assert app.screen.query_one(Input).value == ""
    assert app.audit.records() == []


async def test_the_host_key_prompt_cannot_be_answered_by_keys_typed_before_it_appeared(tmp_path: Path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    problem = HostKeyUnknown("unknown", host="lab1", address="192.0.2.10", port=22,
                             fingerprint="SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
                             key_line="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
                             known_hosts=str(known_hosts), pattern="192.0.2.10")
    app = make_app(tmp_path, start_pollers=False)
    answers: list[bool | None] = []
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(HostKeyScreen(problem), answers.append)
        await burst(pilot, "tab", "enter")  # in flight as the prompt opened: Tab would reach "Trust"
        assert isinstance(app.screen, HostKeyScreen) and answers == []
        assert app.focused is app.screen.query_one("#host-key-no")
        await pilot.press("escape")
        assert answers == [False]
    assert known_hosts.read_text() == ""


async def test_a_slash_typed_in_the_filter_is_a_character(tmp_path: Path):
    """`/` opens the filter, and in the box it is typed like any other key (names such as `a/b`)."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await pilot.press("/", *"a/b", "left", "/")
        box = app.screen.query_one("#filter", Input)
        assert box.value == "a//b" and app.focused is box, box.value
        await pilot.press("end", "ctrl+u")
        await burst(pilot, *"x/y/z")  # as a terminal delivers a paste: in order
        await pilot.pause(0.1)
        assert box.value == "x/y/z", box.value


async def test_editing_keys_in_the_filter_keep_their_place_among_the_characters(tmp_path: Path):
    """ctrl+u, Backspace and ctrl+w typed in a burst with characters act where they were typed, also
    while the screen is busy (at fleet size snapshots keep it so): as bindings they went up to the app
    and back, and a ctrl+u landed after the characters typed behind it and wiped them."""
    import time

    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot)
        await burst(pilot, "slash", *"web")
        box = app.screen.query_one("#filter", Input)
        assert box.value == "web"
        for keys, expected in ((("ctrl+u", *"db"), "db"), (("backspace", *"x"), "dx"),
                               (("ctrl+w", *"ns"), "ns")):
            app.screen.call_later(lambda: time.sleep(0.2))  # the screen is busy when the burst comes
            await burst(pilot, *keys)
            await pilot.pause(0.3)
            assert box.value == expected, keys
            assert table(app).filter_text == expected
