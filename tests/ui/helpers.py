"""Building the real app for UI tests: the demo fleet (libvirt's test driver) and helpers to wait on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.sim.demo import demo_inventory
from hvdeck.tui.app import HvdeckApp
from hvdeck.tui.screens.base import GuardedModal
from hvdeck.widgets.fleet_table import FleetTable

SIZE = (120, 36)


def make_app(tmp_path: Path, inventory: Inventory | None = None, **kw: object) -> HvdeckApp:
    return HvdeckApp(inventory or demo_inventory(), audit=AuditLog(tmp_path / "audit.log"), **kw)  # type: ignore[arg-type]


def read_only_demo() -> Inventory:
    hosts = tuple(HostSpec(**{**{f: getattr(h, f) for f in h.__slots__}, "read_only": True})
                  for h in demo_inventory().hosts)
    return Inventory(hosts)


async def wait_for(pilot: Pilot, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Let the app run until ``predicate()`` holds (the pollers and workers are real and asynchronous)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {predicate.__doc__ or predicate}")
        await pilot.pause(0.05)


async def dialog_ready(pilot: Pilot) -> None:
    """Wait until the top screen is a dialog that takes keys: `GuardedModal` drops keys typed before it was
    drawn, and a fixed pause is outrun by a loaded machine (the typed text then lost its first letters)."""
    await pilot.pause()

    def ready() -> bool:
        screen = pilot.app.screen
        return isinstance(screen, GuardedModal) and screen.keys_after < time.monotonic()

    await wait_for(pilot, ready)


def table(app: HvdeckApp) -> FleetTable:
    return app.screen.query_one(FleetTable)


def names(app: HvdeckApp) -> list[str]:
    t = table(app)
    return [t.domain(k).name for k in t.visible_keys()]


async def fleet_loaded(pilot: Pilot, count: int = 12) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen.query(FleetTable).first(None), FleetTable)
                   and table(app).total_count >= count)


async def highlight(pilot: Pilot, name: str) -> None:
    t = table(pilot.app)
    key = next(k for k in t.visible_keys() if t.domain(k).name == name)
    assert t.move_to(key)
    await pilot.pause()


def plain(widget: object) -> str:
    """The text a Static shows, whatever it holds (a str, rich Text, a Group of tables)."""
    import io

    from rich.console import Console
    from rich.text import Text

    content = widget.content
    if isinstance(content, str):
        return content
    if isinstance(content, Text):
        return content.plain
    console = Console(file=io.StringIO(), width=200, color_system=None, record=True)
    console.print(content)
    return console.export_text()


async def click_when_shown(pilot: Pilot, selector: str) -> None:
    """Click a widget once the screen has been painted with it (a freshly pushed screen is not yet)."""
    from textual.errors import NoWidget

    def painted() -> bool:
        widget = pilot.app.screen.query_one(selector)
        region = widget.region
        try:
            hit, _ = pilot.app.screen.get_widget_at(region.x + region.width // 2, region.y + region.height // 2)
        except NoWidget:
            return False
        return hit is widget or widget in hit.ancestors

    await wait_for(pilot, painted)
    assert await pilot.click(selector), f"click on {selector} missed"


async def burst(pilot: Pilot, *keys: str) -> None:
    """Type ``keys`` the way a terminal delivers a paste, a fast typist or `tmux send-keys`: every key
    event is created and queued before the app has handled the first (`Pilot.press` waits between
    keys). Key names as for `Pilot.press` ("enter", "ctrl+r", "/" or "slash", single characters)."""
    from textual import events
    from textual.keys import _character_to_key

    app = pilot.app
    assert app._driver is not None
    for key in keys:
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        char = key if len(key) == 1 else {"enter": "\r", "slash": "/", "space": " ", "tab": "\t"}.get(key)
        event = events.Key(name, char)
        event.set_sender(app)
        app._driver.send_message(event)
    await pilot.pause()
    await pilot.pause()


async def workers_done(pilot: Pilot) -> None:
    """Wait until every worker except the pollers (which run for ever) has finished."""
    from textual.worker import WorkerState

    def done() -> bool:
        return all(w.state not in (WorkerState.PENDING, WorkerState.RUNNING)
                   for w in pilot.app.workers if w.group != "poll")

    await wait_for(pilot, done)


def screen_lines(app: object) -> list[str]:
    """What the top screen draws, as plain text lines (one per terminal row)."""
    screen = app.screen  # type: ignore[attr-defined]
    return [strip.text for strip in screen._compositor.render_strips(screen.size)]
