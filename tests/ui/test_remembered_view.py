"""The fleet table's sort and grouping are remembered in the settings file and used at the next start."""

from __future__ import annotations

from pathlib import Path

from hvdeck.backends import settings as settings_module
from hvdeck.widgets.fleet_table import FleetTable

from .helpers import fleet_loaded, make_app


async def test_sort_and_grouping_are_written_back_and_used_next_time(tmp_path: Path):
    path = tmp_path / "settings.yaml"
    path.write_text("# my settings\ntheme: hvdeck-dark   # kept as it is\n")
    app = make_app(tmp_path, settings=settings_module.load(path))
    async with app.run_test(size=(120, 36)) as pilot:
        await fleet_loaded(pilot)
        await pilot.press("o", "O", "g")
        await pilot.pause()
    text = path.read_text()
    assert text.startswith("# my settings\ntheme: hvdeck-dark   # kept as it is\n")
    saved = settings_module.load(path).table
    assert (saved.sort, saved.reverse, saved.group_by_host) == ("name", True, True)

    again = make_app(tmp_path, settings=settings_module.load(path))
    async with again.run_test(size=(120, 36)) as pilot:
        await fleet_loaded(pilot)
        table = again.screen.query_one(FleetTable)
        assert (table.sort_column, table.sort_reverse, table.group_by_host) == ("name", True, True)
        await pilot.press("O")  # the direction alone, and quit at once: it is written when the screen goes
    assert settings_module.load(path).table.reverse is False


async def test_a_remembered_sort_past_the_right_edge_is_in_view_at_start(tmp_path: Path):
    from .terminal import screen_text

    path = tmp_path / "settings.yaml"
    path.write_text("table:\n  sort: disk\n")
    app = make_app(tmp_path, settings=settings_module.load(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await fleet_loaded(pilot)
        table = app.screen.query_one(FleetTable)
        assert table.scroll_offset.x > 0, "the columns before DISK RD/WR fill 80 columns"
        assert "DISK RD/WR▲" in screen_text(app).splitlines()[table.region.y]
