"""The fleet table's layout on the real app: columns aligned by terminal cells whatever the script, names
never cut so that two rows look alike, column priorities at narrow widths, HOST and NAME fixed when
scrolling sideways, the sort arrow always shown, and the cursor starting on the first row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.widgets.fleet_table import COLUMNS, PRIORITY, FleetTable, plan_columns

from .helpers import make_app, plain, table, wait_for
from .terminal import screen_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CJK_CASE = FIXTURES / "cases" / "libvirt-cjk-name-alignment" / "node.xml"
LONG_CASE = FIXTURES / "cases" / "libvirt-long-names-truncated" / "node.xml"
HOSTILE = FIXTURES / "libvirt" / "hostile_names.xml"
LONG_NAMES = ["k8s-prod-euw1-worker-pool-general-a-01", "k8s-prod-euw1-worker-pool-general-a-02"]


def _inventory(host: str, node: Path) -> Inventory:
    return Inventory((HostSpec(name=host, address=host, transport="local", kind="libvirt",
                               libvirt_uri=f"test://{node}"),))


async def _load(pilot, hosts=None) -> None:
    app = pilot.app
    for host in hosts or app.host_names:
        await app.fleet.poll_host(host)
    await wait_for(pilot, lambda: table(app).total_count == sum(len(s.domains) for s in app.snapshots.values()) > 0)
    await pilot.pause()


def _row_lines(app, t: FleetTable) -> list[tuple[str, str]]:
    """(domain name, the row as the screen shows it) for every row on screen."""
    lines = screen_text(app).splitlines()
    keys = t.visible_keys()
    return [(t.domain(keys[i]).name, lines[t.region.y + 1 + i]) for i in range(min(len(keys), t.region.height - 1))]


@pytest.mark.parametrize(("node", "width"), [(CJK_CASE, 160), (CJK_CASE, 100), (HOSTILE, 160), (HOSTILE, 80)])
async def test_columns_after_name_start_at_the_same_cell_on_every_row(tmp_path: Path, node: Path, width: int):
    app = make_app(tmp_path, _inventory("kvm-uni", node), start_pollers=False)
    async with app.run_test(size=(width, 30)) as pilot:
        await _load(pilot)
        t = table(app)
        rows = _row_lines(app, t)
        assert len(rows) == t.total_count
        header = screen_text(app).splitlines()[t.region.y]
        state_at = cell_len(header[:header.index("STATE")])
        for name, line in rows:
            state = t.domain(next(k for k in t.visible_keys() if t.domain(k).name == name)).state.value
            assert cell_len(line[:line.index(f"  {state}") + 2]) == state_at, (name, line)
            assert cell_len(line.rstrip()) <= width


async def test_long_names_are_never_cut_alike_and_name_widens_with_room(tmp_path: Path):
    app = make_app(tmp_path, _inventory("kvm-long", LONG_CASE), start_pollers=False)
    async with app.run_test(size=(220, 20)) as pilot:
        await _load(pilot)
        t = table(app)
        text = screen_text(app)
        assert all(name in text for name in LONG_NAMES), "220 columns leave room for the whole names"
        for size in [(120, 20), (100, 20), (80, 24), (60, 20)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            shown = [t.shown_text(k, "name").rstrip() for k in t.visible_keys()]
            assert len(set(shown)) == 2 and all("…" in s for s in shown), (size, shown)
            text = screen_text(app)
            assert all(s in text for s in shown)
            # the highlighted row's full name is in the status line
            for key in t.visible_keys():
                t.move_to(key)
                await pilot.pause()
                assert plain(app.screen.query_one("#fleet-status")).endswith(f"kvm-long / {t.domain(key).name}")


@pytest.mark.parametrize("available", range(30, 200, 7))
def test_columns_give_way_in_priority_order(available: int):
    natural = {c.key: c.width for c in COLUMNS} | {"host": 5, "name": 10}
    order, shown, name, spare = plan_columns(available, natural)
    columns = [k for k in PRIORITY if k != "+name"]
    kept = set(order[:shown]) - {"host", "name"}
    assert kept == set(columns[:len(kept)]), "a column is shown only when every more useful one is"
    assert set(order) == set(natural) and order[:2] == ("host", "name")
    used = sum(natural[k] for k in order[:shown]) - natural["name"] + name + 2 * (shown - 1)
    assert used + spare == max(available, used) and name <= 10


async def test_at_100_and_80_columns_the_most_useful_columns_show(tmp_path: Path):
    app = make_app(tmp_path, start_pollers=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _load(pilot)
        t = table(app)
        assert {"console", "net", "disk", "cpu", "memory", "state"} <= set(t.shown_columns)
        header = screen_text(app).splitlines()[t.region.y]
        assert all(label in header for label in ("CONS", "NET RX/TX", "DISK RD/WR"))
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert t.shown_columns[:2] == ("host", "name")
        assert {"state", "cpu", "memory", "vcpus", "console"} <= set(t.shown_columns)
        assert not {"native", "history"} & set(t.shown_columns)
        await pilot.resize_terminal(160, 30)
        await pilot.pause()
        assert len(t.shown_columns) == len(COLUMNS)


def _column_starts(t: FleetTable) -> set[int]:
    """Where each column after HOST and NAME starts, in the table's sideways scroll."""
    starts, x = {0}, 0
    for i, gap in list(zip(t._order, t._gaps))[2:]:
        starts.add(x)
        x += t._widths[i] + len(gap)
    return starts


async def test_the_sorted_column_keeps_its_arrow_at_80_columns(tmp_path: Path):
    app = make_app(tmp_path, start_pollers=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot)
        t = table(app)
        starts: dict[str, int] = {}
        for column in COLUMNS:
            for reverse, arrow in ((False, "▲"), (True, "▼")):
                t.sort_by(column.key, reverse=reverse)
                await pilot.pause()
                header = screen_text(app).splitlines()[t.region.y]
                assert re.search(f"{re.escape(column.label)} ?{arrow}", header), (column.key, header)
                assert t.scroll_offset.x in _column_starts(t), "the view starts at a column's first cell"
                if column.key in ("host", "name"):
                    assert t.scroll_offset.x == 0
                if t.scroll_offset.x == 0:  # sorting never widens a column: the others stay where they were
                    for label in ("HOST", "NAME", "STATE", "VCPU", "MEMORY", "CPU%"):
                        assert starts.setdefault(label, header.index(label)) == header.index(label), header


async def test_host_and_name_stay_put_when_scrolling_sideways(tmp_path: Path):
    app = make_app(tmp_path, start_pollers=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot)
        t = table(app)
        t.focus()
        before = _row_lines(app, t)
        await pilot.press(*["right"] * 60)
        await pilot.pause()
        assert t.scroll_offset.x > 0
        header = screen_text(app).splitlines()[t.region.y]
        assert re.match("HOST ?▲ +NAME", header) and "NATIVE" in header and "CPU HIST" in header
        for (name, line), (_, old) in zip(_row_lines(app, t), before):
            assert line[:18] == old[:18] and name in line[:18]
        # a click on a header that scrolled in sorts by that column
        await pilot.click(FleetTable, offset=(header.index("NATIVE") + 1, 0))
        assert t.sort_column == "native"
        await pilot.click(FleetTable, offset=(9, 0))
        assert t.sort_column == "name"


async def test_the_cursor_starts_on_the_first_row_whichever_host_answers_first(tmp_path: Path):
    app = make_app(tmp_path, start_pollers=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await _load(pilot, ["kvm-b"])  # kvm-b's rows arrive first, then kvm-a's sort above them
        t = table(app)
        assert t.domain(t.cursor_key).name == "backup01"
        await _load(pilot, ["kvm-a"])
        assert t.visible_keys()[0] == t.cursor_key and t.domain(t.cursor_key).name == "build01"
        assert t.scroll_offset.y == 0
        # once the user moves it, the cursor stays on its domain as rows move
        await pilot.press("down", "down")
        assert t.domain(t.cursor_key).name == "db01"
        t.sort_by("memory", reverse=True)
        await pilot.pause()
        assert t.domain(t.cursor_key).name == "db01" and t.visible_keys()[0] != t.cursor_key


async def test_right_and_left_scroll_by_whole_columns(tmp_path: Path):
    """At 80x24 the columns past the edge are reached a column a key, not a cell a key (75 presses)."""
    app = make_app(tmp_path, start_pollers=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot)
        t = table(app)
        t.focus()
        seen = []
        for _ in range(12):
            await pilot.press("right")
            await pilot.pause()
            seen.append(t.scroll_offset.x)
        assert seen[0] >= 5, "one key moves past a whole column"
        assert seen[-1] == t.max_scroll_x > 0 and seen.index(seen[-1]) < 10, "the right edge within ten keys"
        assert "CONS" in screen_text(app).splitlines()[t.region.y]
        assert set(seen) <= _column_starts(t), "no tail of a cut column at the left, the right edge included"
        await pilot.press("left")
        await pilot.pause()
        assert 0 < t.scroll_offset.x < seen[-1]
        await pilot.press(*["left"] * 12)
        await pilot.pause()
        assert t.scroll_offset.x == 0


def test_the_table_has_no_scrolling_keys_of_its_own_besides_its_cursor_keys():
    """ScrollView's page-left/right (ctrl+pageup/pagedown) and scroll-home/end keys are not the table's:
    the help listed them under the table, and ctrl+pageup/pagedown are the console tabs' keys."""
    keys = set(FleetTable._merged_bindings.key_to_bindings) if FleetTable._merged_bindings else set()
    assert {"up", "down", "pageup", "pagedown", "home", "end", "left", "right", "enter"} <= keys
    assert not keys & {"ctrl+pageup", "ctrl+pagedown", "ctrl+home", "ctrl+end"}


async def test_the_footer_shows_whole_keys_only_at_80_columns(tmp_path: Path):
    """A key the pinned ones (palette, Help, Quit) would cut is hidden rather than shown cut mid-word ("s S"
    read as another key); widening the terminal brings it back."""
    from textual.widgets._footer import FooterKey

    from hvdeck.tui.screens.base import HvdeckFooter

    def whole_and_hidden(app) -> tuple[bool, int]:
        footer = app.screen.query_one(HvdeckFooter)
        edge = next(c for c in footer.children if c.has_class("-pinned")).region.x
        keys = [c for c in footer.children if isinstance(c, FooterKey)]
        return all(k.region.right <= edge for k in keys if k.display), sum(not k.display for k in keys)

    app = make_app(tmp_path, start_pollers=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot)
        await pilot.pause()
        whole, hidden = whole_and_hidden(app)
        assert whole and hidden > 0
        await pilot.resize_terminal(200, 30)
        await pilot.pause()
        assert whole_and_hidden(app) == (True, 0)
        await pilot.resize_terminal(80, 24)
        await pilot.press("enter")  # the domain screen's own footer
        await pilot.pause()
        assert whole_and_hidden(app)[0]
