"""The console's full garbage collections: only between keys, at most every `every_s`, always within
`most_s`; the interpreter's settings restored when the console ends."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from hvdeck.tui.collector import NEVER, QuietCollector
from tests.ui.helpers import make_app, wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def collector():
    clock = Clock()
    c = QuietCollector(clock, quiet_s=1.0, every_s=20.0, most_s=300.0)
    before = gc.get_threshold()
    c.start()
    try:
        yield c, clock
    finally:
        c.stop()
        assert gc.get_threshold() == before


def test_start_stops_automatic_full_collections_and_freezes_what_start_up_left(collector):
    c, _ = collector
    young, middle, oldest = gc.get_threshold()
    assert oldest == NEVER and young > 0 and middle > 0  # the young generations stay automatic
    assert gc.get_freeze_count() > 0


def test_stop_restores_the_thresholds_and_unfreezes():
    before = gc.get_threshold()
    c = QuietCollector(Clock())
    c.start()
    c.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_no_collection_while_the_user_types(collector):
    c, clock = collector
    for _ in range(250):  # a key every 0.4 s for 100 s: past every_s, short of most_s
        clock.now += 0.4
        c.input_seen()
        assert not c.tick()
    assert c.collections == 0


def test_a_quiet_second_after_every_s_collects_once(collector):
    c, clock = collector
    clock.now += 19.5
    assert not c.tick()  # quiet, but too soon after the last one
    clock.now += 1.0
    assert c.tick()
    clock.now += 1.0
    assert not c.tick()  # not again until every_s has passed
    assert c.collections == 1


def test_most_s_collects_even_while_the_user_types(collector):
    c, clock = collector
    collected_at = []
    for step in range(800):  # a key every 0.5 s for 400 s
        clock.now += 0.5
        c.input_seen()
        if c.tick():
            collected_at.append(step)
    assert len(collected_at) == 1 and collected_at[0] == 599  # at 300 s


def test_a_cycle_in_the_oldest_generation_waits_for_the_quiet_collection(collector):
    c, clock = collector

    class Node:
        other: Node

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    gc.collect(1)  # still referenced: the young collection promotes the cycle to the oldest generation
    del a, b
    gc.collect(1)
    assert gone() is not None  # the young collections no longer look at it, and no full one runs by itself
    clock.now += 30
    assert c.tick()
    assert gone() is None


def test_only_the_console_turns_it_on(tmp_path: Path) -> None:
    app = make_app(tmp_path, start_pollers=False)
    assert app.collector is None  # an app in a test run leaves the interpreter alone


async def test_the_console_counts_keys_as_input(tmp_path: Path) -> None:
    before = gc.get_threshold()
    app = make_app(tmp_path, start_pollers=False, quiet_gc=True)
    async with app.run_test() as pilot:
        assert app.collector is not None
        await wait_for(pilot, lambda: app.collector.started)
        assert gc.get_threshold()[2] == NEVER
        seen = app.collector._last_input
        await pilot.pause(0.05)
        await pilot.press("down")
        assert app.collector._last_input > seen
    assert gc.get_threshold() == before
