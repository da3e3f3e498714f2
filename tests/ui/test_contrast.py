"""Readability: every text at least 4.5:1 against what it is drawn on (WCAG 2 AA), in both themes.

Two checks: the theme variables, resolved through the app's own `get_css_variables()` (body text,
muted text, the reasons beside unavailable actions, the fleet table's cursor row focused and not,
stale rows, the state colours), and every character the screens actually draw, whatever styled it
(rich ``dim``, opacity, a widget's own CSS), in the fleet, dialogs and detail screens.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from textual.color import Color

from hvdeck.backends.model import HostStatus
from hvdeck.tui.messages import FleetUpdated
from hvdeck.tui.screens import action_menu

from .helpers import dialog_ready, fleet_loaded, highlight, make_app, wait_for

AA = 4.5
THEMES = ("hvdeck-dark", "hvdeck-light")
STATES = ("running", "paused", "stopped", "transition", "crashed", "unknown")
#: box-drawing and block characters: borders, scrollbars, sparklines — not text
NOT_TEXT = set(" ▔▁▊▎█▀▄▉▏▕▂▃▅▆▇─│┃━▌▐▍▋")


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_ratio_is_wcags():
    assert ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert ratio((0x77, 0x77, 0x77), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)


def resolve(variables: dict[str, str], name: str, over: Color) -> Color:
    """A theme variable as the colour drawn over ``over`` (alpha blended; ``auto N%`` = Textual's contrast text)."""
    value = variables[name.removeprefix("$")].strip()
    if value.startswith("auto"):
        alpha = float(value.split()[1].rstrip("%")) / 100 if " " in value else 1.0
        return over.get_contrast_text(alpha)
    colour = Color.parse(value)
    return over.blend(colour.with_alpha(1.0), colour.a) if colour.a < 1 else colour


@pytest.mark.parametrize("theme", THEMES)
async def test_theme_variables_reach_aa(tmp_path: Path, theme: str):
    app = make_app(tmp_path, start_pollers=False, theme=theme)
    async with app.run_test() as pilot:
        await pilot.pause()
        v = app.get_css_variables()
        grounds = {name: Color.parse(v[name]) for name in ("background", "surface", "panel")}
        grounds["cursor (blurred)"] = resolve(v, "block-cursor-blurred-background", grounds["surface"])
        texts = ["foreground", "foreground-muted", "text-muted", "stale", *(f"state-{s}" for s in STATES),
                 action_menu.REASON.split()[0], action_menu.UNAVAILABLE, "error", "warning", "success", "accent",
                 "primary"]
        failures = []
        for text in texts:
            for ground_name, ground in grounds.items():
                value = ratio(resolve(v, text, ground).rgb, ground.rgb)
                if value < AA:
                    failures.append(f"{text} on {ground_name}: {value:.2f}")
        cursor = resolve(v, "block-cursor-background", grounds["surface"])
        value = ratio(resolve(v, "block-cursor-foreground", cursor).rgb, cursor.rgb)
        if value < AA:
            failures.append(f"the focused cursor row: {value:.2f}")
        assert failures == []


def low_contrast(app) -> list[str]:
    """Every run of drawn text on the top screen under 4.5:1, as 'row: text (ratio)'."""
    screen = app.screen
    found = []
    for y, strip in enumerate(screen._compositor.render_strips(screen.size)):
        for segment in strip:
            text, style = segment.text, segment.style
            if style is None or not set(text) - NOT_TEXT:
                continue
            assert style.color is not None and style.bgcolor is not None, f"row {y}: {text!r} has no colour"
            fg, bg = style.color.get_truecolor(), style.bgcolor.get_truecolor()
            if style.reverse:
                fg, bg = bg, fg
            value = ratio(tuple(fg), tuple(bg))
            if value < AA:
                found.append(f"{y}: {text.strip()!r} ({value:.2f}, {fg.hex} on {bg.hex})")
    return found


@pytest.fixture
def demo_fleet():
    from hvdeck.backends.sim.demo import DemoFleet

    with DemoFleet() as inventory:
        yield inventory


@pytest.mark.parametrize("theme", THEMES)
async def test_every_screen_draws_its_text_at_aa(tmp_path: Path, theme: str, demo_fleet):
    from hvdeck.backends.errors import HostKeyUnknown
    from hvdeck.tui.screens.host_key import HostKeyScreen

    app = make_app(tmp_path, demo_fleet, theme=theme)
    seen: dict[str, list[str]] = {}

    async def look(pilot, name: str, wait: float = 0.3) -> None:
        await pilot.pause(wait)
        seen[name] = low_contrast(pilot.app)

    async with app.run_test(size=(120, 36)) as pilot:
        await fleet_loaded(pilot, 24)
        await highlight(pilot, "web01")
        await look(pilot, "fleet, cursor on a running domain")
        await highlight(pilot, "build01")
        await look(pilot, "fleet, cursor on a stopped domain")
        await pilot.press("slash", *"kvm")
        await look(pilot, "fleet, filter focused (cursor row blurred)")
        await pilot.press("escape", "g")
        await look(pilot, "fleet grouped")
        await pilot.press("g")
        await highlight(pilot, "ldg-test")
        await pilot.press("a")
        await look(pilot, "action menu with reasons")
        await pilot.press("escape")
        extra = next(e for e in app.fleet.backend("t7-a").extra_actions() if e.id == "set-memory")
        app.request_extra(app.domain(next(k for k in app.snapshots["t7-a"].domains if k.name == "ldg-test").key),
                          extra)
        await look(pilot, "inputs dialog (placeholder)")
        await dialog_ready(pilot)
        await pilot.press(*"lots", "enter")
        await look(pilot, "inputs dialog with an error")
        await pilot.press("escape")
        await highlight(pilot, "web01")
        await pilot.press("F")
        await look(pilot, "force-off plan (Run disabled)")
        await pilot.press("escape", "p")
        await look(pilot, "pause plan")
        await pilot.press("escape", "question_mark")
        await look(pilot, "help")
        await pilot.press("escape")
        await highlight(pilot, "ldg-db1")
        await pilot.press("enter")
        await look(pilot, "domain screen", 1.0)
        await pilot.press("escape", "H")
        await look(pilot, "host screen", 1.0)
        await pilot.press("escape")
        problem = HostKeyUnknown("unknown", host="lab1", address="192.0.2.10", port=22, fingerprint="SHA256:x",
                                 key_line="ssh-ed25519 AAAA", known_hosts="/nonexistent", pattern="192.0.2.10")
        app.push_screen(HostKeyScreen(problem))
        await look(pilot, "host key prompt")
        await pilot.press("escape")
        # a host that stopped answering: its rows, and its domain screen, in the stale colour (its poller
        # stopped first: its next poll would otherwise bring it back up while the colours are checked)
        for worker in app.workers:
            if worker.name == "poll:kvm-a":
                worker.cancel()
        await wait_for(pilot, lambda: all(w.name != "poll:kvm-a" or w.is_finished for w in app.workers))
        last = app.snapshots["kvm-a"]
        app.post_message(FleetUpdated(dataclasses.replace(last, status=HostStatus.STALE, last_ok=last.taken_at)))
        await wait_for(pilot, lambda: app.snapshots["kvm-a"].status is HostStatus.STALE)
        await highlight(pilot, "ns1")
        await look(pilot, "fleet with a stale host")
        await highlight(pilot, "web01")
        await look(pilot, "fleet, cursor on a stale row")
        await pilot.press("enter")
        await look(pilot, "domain screen of a stale host", 0.5)
    assert {name: found for name, found in seen.items() if found} == {}
    assert len(seen) == 16
