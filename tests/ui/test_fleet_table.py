"""The fleet table's index under churn: incremental placement always equals a full sort, filters keep
order, unknown values sort last in both directions, and the cursor follows its domain."""

from __future__ import annotations

import asyncio
import random

import pytest
from textual.app import App, ComposeResult

from hvdeck.backends.model import Domain, DomainState
from hvdeck.widgets.fleet_table import COLUMNS, REINDEX_S, FleetTable

HOSTS = ["h1", "h2", "h3"]
STATES = list(DomainState)


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield FleetTable()


def _domain(rng: random.Random, host: str, i: int) -> Domain:
    state = rng.choice(STATES)
    maybe = lambda v: None if rng.random() < 0.3 else v
    return Domain(host=host, name=f"d{rng.randrange(50):02d}-{i}", state=state, native_state=state.value,
                  id=maybe(rng.randrange(100)), uuid=f"{host}-{i}", vcpus=maybe(rng.choice([1, 2, 4])),
                  memory_bytes=maybe(rng.choice([1, 2, 4]) * 2**30), cpu_percent=maybe(round(rng.random() * 100, 1)),
                  console=maybe("pty"), net_rx_bps=maybe(rng.random() * 1000), net_tx_bps=None)


def _reference(domains: list[Domain], column: str, reverse: bool, text: str,
               hosts: list[str] = HOSTS) -> list[str]:
    spec = next(c for c in COLUMNS if c.key == column)
    rank = {h: i for i, h in enumerate(hosts)}
    tie = lambda d: (rank[d.host], d.name.lower())
    if column == "host":
        ordered = sorted(domains, key=tie, reverse=reverse)
    else:
        present = sorted((d for d in domains if spec.value(d) is not None),
                         key=lambda d: (spec.value(d), *tie(d)), reverse=reverse)
        ordered = present + sorted((d for d in domains if spec.value(d) is None), key=tie)
    shown = [d for d in ordered if all(t in _hay(d) for t in text.lower().split())]
    return [d.key for d in shown]


def _hay(d: Domain) -> str:
    from hvdeck.widgets.fleet_table import cells

    return "\x00".join(cells(d)).lower()


@pytest.mark.parametrize("seed", range(12))
async def test_incremental_index_equals_a_full_sort(seed: int):
    rng = random.Random(seed)
    app = TableApp()
    async with app.run_test(size=(150, 30)) as pilot:
        table = app.query_one(FleetTable)
        table.set_hosts(HOSTS)
        world = {h: [_domain(rng, h, i) for i in range(rng.randrange(5, 30))] for h in HOSTS}
        for host, domains in world.items():
            table.set_host_domains(host, domains)
        order = list(HOSTS)
        for step in range(25):
            action = rng.random()
            if action < 0.05 and "h9" not in world:  # a host the inventory order does not name goes last
                world["h9"] = [_domain(rng, "h9", i) for i in range(rng.randrange(1, 9))]
                order.append("h9")
                table.set_host_domains("h9", world["h9"])
            elif action < 0.1:  # the inventory's order changes
                order = rng.sample(order, len(order))
                table.set_hosts(order)
            elif action < 0.5:  # a poll: some rows change, some go, some come
                host = rng.choice(order)
                domains = world[host]
                for j in rng.sample(range(len(domains)), k=min(len(domains), rng.randrange(0, 6))):
                    domains[j] = _domain(rng, host, int(domains[j].uuid.split("-")[1]))
                if domains and rng.random() < 0.3:
                    domains.pop(rng.randrange(len(domains)))
                if rng.random() < 0.3:
                    domains.append(_domain(rng, host, 1000 + step))
                table.set_host_domains(host, domains)
            elif action < 0.8:
                table.sort_by(rng.choice(COLUMNS).key, reverse=rng.random() < 0.5)
            else:
                table.filter_text = rng.choice(["", "d1", "running", "h2 d0", "pty", "zzz"])
            everything = [d for h in order for d in world[h]]
            expected = _reference(everything, table.sort_column, table.sort_reverse, table.filter_text, order)
            assert table.visible_keys() == expected, (step, table.sort_column, table.sort_reverse)
        await pilot.pause()


async def test_cursor_follows_its_domain_and_group_lines_are_skipped():
    app = TableApp()
    async with app.run_test(size=(150, 30)) as pilot:
        table = app.query_one(FleetTable)
        table.set_hosts(["a", "b"])
        mk = lambda h, n, cpu: Domain(host=h, name=n, state=DomainState.RUNNING, native_state="running",
                                      cpu_percent=cpu)
        table.set_host_domains("a", [mk("a", "x", 10.0), mk("a", "y", 20.0)])
        table.set_host_domains("b", [mk("b", "z", 30.0)])
        table.sort_by("cpu")
        assert table.move_to(mk("a", "x", 0).key)
        table.set_host_domains("a", [mk("a", "x", 99.0), mk("a", "y", 20.0)])  # x moves to the bottom
        assert table.visible_keys()[-1] == table.cursor_key == mk("a", "x", 0).key
        table.group_by_host = True
        await pilot.pause()
        table.focus()
        await pilot.press("home")
        assert table.cursor_domain.name == "y", "the first line is host a's group line; the cursor skips it"
        await pilot.press("down", "down")
        assert table.cursor_domain.name == "z", "and skips host b's line on the way down"


async def test_the_host_line_above_the_first_row_shows_when_the_cursor_goes_back_up():
    """Grouped and scrolled down, Home (and Up, PageUp) bring the cursor to the first row *and* its host's
    line above it: the first group's line had stayed scrolled off the top."""
    app = TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(FleetTable)
        table.set_hosts(["a", "b"])
        for host in ("a", "b"):
            table.set_host_domains(host, [Domain(host=host, name=f"{host}{i:02d}", state=DomainState.RUNNING,
                                                 native_state="running") for i in range(20)])
        table.group_by_host = True
        table.focus()
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        assert table.scroll_offset.y > 0
        for keys in (("home",), ("pageup",) * 5, ("up",) * 50):
            await pilot.press("end")
            await pilot.pause()
            await pilot.press(*keys)
            await pilot.pause()
            assert table.cursor_domain.name == "a00"
            assert table.scroll_offset.y == 0, keys  # the top line is host a's group line


async def test_figures_that_change_in_place_redraw_their_rows_without_a_rebuild():
    """A poll that changes only figures (CPU % under a HOST sort) must not rebuild the index of every row:
    at 20,000 rows that rebuild was an eighth of the console's time. The new figures still show."""
    app = TableApp()
    async with app.run_test(size=(150, 30)) as pilot:
        table = app.query_one(FleetTable)
        table.set_hosts(["a"])
        mk = lambda n, cpu, native="running": Domain(host="a", name=n, state=DomainState.RUNNING,
                                                     native_state=native, cpu_percent=cpu)
        table.set_host_domains("a", [mk("x", 10.0), mk("y", 20.0)])
        await pilot.pause()
        rebuilds = []
        original = table._reindex
        table._reindex = lambda: (rebuilds.append(1), original())[1]  # type: ignore[method-assign]
        assert table.set_host_domains("a", [mk("x", 55.5), mk("y", 20.0)]) == 1
        await pilot.pause()
        assert rebuilds == [] and "55.5" in app.export_screenshot()
        # the same figure sorted by CPU moves the row: its new figure shows at once, in its old place,
        # and the row takes its new place at the next rebuild, within REINDEX_S (not at every poll)
        table.sort_by("cpu")
        await pilot.pause()
        assert table._index == [mk("y", 0).key, mk("x", 0).key]
        rebuilds.clear()
        table.set_host_domains("a", [mk("x", 5.0), mk("y", 20.0)])
        await pilot.pause()
        assert rebuilds == [] and table._index == [mk("y", 0).key, mk("x", 0).key]
        assert "5.0" in app.export_screenshot()
        async with asyncio.timeout(REINDEX_S + 2):
            while not rebuilds:
                await pilot.pause(0.05)
        assert table._index == [mk("x", 0).key, mk("y", 0).key]
        # a longer native state widens its column: that lays the table out again
        table.sort_by("host")
        await pilot.pause()
        rebuilds.clear()
        table.set_host_domains("a", [mk("x", 5.0, "running (booted)"), mk("y", 20.0)])
        await pilot.pause()
        assert rebuilds and "(booted)" in app.export_screenshot()
        # under a filter every change is tested again: a row that stops matching goes
        table.filter_text = "booted"
        await pilot.pause()
        assert table.visible_keys() == [mk("x", 0).key]
        table.set_host_domains("a", [mk("x", 5.0), mk("y", 20.0)])
        await pilot.pause()
        assert table.visible_keys() == []


async def test_polls_repaint_only_rows_on_screen_and_rebuild_a_filtered_index_only_for_rows_crossing_it():
    """At 500 hosts a poll lands every few milliseconds, mostly for rows out of sight: those repaint
    nothing; a figure that changes under a filter rebuilds nothing unless the row now passes or fails
    it, and then within REINDEX_S."""
    app = TableApp()
    async with app.run_test(size=(150, 10)) as pilot:  # eight rows on screen: host a's
        table = app.query_one(FleetTable)
        table.set_hosts(["a", "b"])
        mk = lambda h, i, cpu, state=DomainState.RUNNING: Domain(
            host=h, name=f"{h}-vm{i:02d}", state=state, native_state=state.value, cpu_percent=cpu)
        for host in ("a", "b"):
            table.set_host_domains(host, [mk(host, i, 1.0) for i in range(20)])
        await pilot.pause()
        assert not table._repaint_required and not table._repaint_regions
        table.set_host_domains("b", [mk("b", i, 2.0) for i in range(20)])  # all out of sight
        assert not table._repaint_required and not table._repaint_regions
        table.set_host_domains("a", [mk("a", i, 3.0) for i in range(20)])  # on screen: its lines only
        regions = table._repaint_regions
        assert 1 <= len(regions) <= 9 and all(r.height == 1 for r in regions)
        await pilot.pause()
        assert "3.0" in app.export_screenshot()
        table.filter_text = "state:running"
        await pilot.pause()
        rebuilds = []
        original = table._reindex
        table._reindex = lambda: (rebuilds.append(1), original())[1]  # type: ignore[method-assign]
        table.set_host_domains("b", [mk("b", i, 4.0) for i in range(20)])  # every row still passes
        await pilot.pause(REINDEX_S + 0.2)
        assert rebuilds == [] and len(table._index) == 40
        stopped = [mk("a", i, None, DomainState.STOPPED) if i == 0 else mk("a", i, 3.0) for i in range(20)]
        table.set_host_domains("a", stopped)  # a-vm00 stops passing: a rebuild is due (soon, not at once)
        assert rebuilds == [] and table._later is not None
        async with asyncio.timeout(REINDEX_S + 2):
            while not rebuilds:
                await pilot.pause(0.05)
        assert len(table._index) == 39 and mk("a", 0, None).key not in table._index


async def test_a_cursor_move_repaints_its_two_lines_when_the_table_is_scrolled():
    """Down in a table scrolled part-way repaints the line it left and the line it reached, where they are
    on screen (the lines had been placed with the scroll counted twice: nothing showed the move until the
    next full repaint)."""
    app = TableApp()
    async with app.run_test(size=(150, 12)) as pilot:  # a header and eleven rows
        table = app.query_one(FleetTable)
        table.set_hosts(["a"])
        table.set_host_domains("a", [Domain(host="a", name=f"vm{i:03d}", state=DomainState.RUNNING,
                                            native_state="running") for i in range(100)])
        await pilot.pause()
        table.focus()
        for _ in range(30):
            await pilot.press("down")
        await pilot.pause()
        top = table.scroll_offset.y
        assert top > 0 and table._cursor == 30
        assert not table._repaint_required and not table._repaint_regions
        table.action_cursor(-1)  # Up, no scroll: only two lines change (before any frame takes them)
        assert table.scroll_offset.y == top
        expected = {29 - top + 1, 30 - top + 1}
        regions = table._repaint_regions
        assert {r.y for r in regions} == expected and all(r.height == 1 for r in regions), (regions, expected)


async def test_the_highlighted_row_keeps_its_screen_line_when_a_sort_or_a_poll_moves_it():
    """A new sort, a reversed sort, or a poll that moves the highlighted row under a CPU sort: the row
    stays highlighted and on the same screen line (it had been left off screen until the next key)."""
    app = TableApp()
    async with app.run_test(size=(150, 12)) as pilot:  # a header and eleven rows
        table = app.query_one(FleetTable)
        table.set_hosts(["a"])
        mk = lambda i, cpu: Domain(host="a", name=f"vm{i:03d}", state=DomainState.RUNNING, native_state="running",
                                   cpu_percent=cpu)
        table.set_host_domains("a", [mk(i, float(i)) for i in range(100)])
        await pilot.pause()
        table.focus()
        for _ in range(30):
            await pilot.press("down")
        await pilot.pause()
        key = mk(30, 0).key
        line = table._cursor - table.scroll_offset.y
        assert table.cursor_key == key and 0 <= line < 11

        def shown_at_same_line() -> bool:
            return table.cursor_key == key and table._cursor - table.scroll_offset.y == line

        table.sort_by("name", reverse=True)  # vm030 goes to position 69
        await pilot.pause()
        assert table._positions()[key] == 69 and shown_at_same_line()
        table.sort_by("cpu")
        await pilot.pause()
        assert table._positions()[key] == 30 and shown_at_same_line()
        # a poll moves it to the top of the CPU order: the view follows it (within REINDEX_S)
        table.set_host_domains("a", [mk(i, -1.0 if i == 30 else float(i)) for i in range(100)])
        async with asyncio.timeout(REINDEX_S + 2):
            while table._positions().get(key) != 0:
                await pilot.pause(0.05)
        assert table._cursor == 0 and table.scroll_offset.y == 0 and table.cursor_key == key
