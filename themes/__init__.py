"""hvdeck's themes: a dark and a light `Theme`, and the variables its stylesheets use.

The state colours are theme variables (``$state-running`` …), so a user's theme (or any of Textual's
built-in themes, which stay available in the command palette) can set them; where a theme does not,
`VARIABLE_FALLBACKS` fills them in from the theme's own palette.

Every colour that text is drawn in has a contrast of at least 4.5:1 (WCAG AA) against every background
it is drawn on: the background, surface and panel, the highlighted row (focused and not) — muted text
and the reasons beside unavailable actions included. `tests/ui/test_contrast.py` computes the ratios
from the resolved theme variables and from what the screens actually draw. Textual's defaults for
muted text (60 % of the foreground) and the cursor row (white on the primary colour) do not reach it,
so both themes set them. The ANSI palettes (`ANSI_DARK`, `ANSI_LIGHT`) give the same guarantee to
text coloured by name (``green``, ``red``) in rich renderables.
"""

from __future__ import annotations

from pathlib import Path

from rich.terminal_theme import TerminalTheme
from textual.theme import Theme

STYLESHEET = Path(__file__).with_name("hvdeck.tcss")

#: hvdeck variable -> the built-in variable it falls back to when the active theme does not set it
VARIABLE_FALLBACKS = {
    "state-running": "success",
    "state-paused": "warning",
    "state-stopped": "foreground-muted",
    "state-transition": "accent",
    "state-crashed": "error",
    "state-unknown": "foreground-muted",
    "stale": "warning-muted",
}

HVDECK_DARK = Theme(
    name="hvdeck-dark",
    primary="#5aa7dd",
    secondary="#3a6d96",
    accent="#e0a040",
    warning="#e0b040",
    error="#f57a7a",
    success="#5fbf6f",
    foreground="#d8dee4",
    background="#14181d",
    surface="#1b2128",
    panel="#232b33",
    dark=True,
    variables={
        "state-running": "#5fbf6f",
        "state-paused": "#e0b040",
        "state-stopped": "#98a3ae",
        "state-transition": "#4fc1e0",
        "state-crashed": "#ff7b7b",
        "state-unknown": "#a899c8",
        "stale": "#c29a48",
        "foreground-muted": "#a3adb8",
        "text-muted": "#a3adb8",
        "block-cursor-background": "#2d6a9a",
        "block-cursor-foreground": "#ffffff",
        "block-cursor-blurred-background": "#28323d",
        "block-cursor-blurred-foreground": "#d8dee4",
        "footer-key-foreground": "#5aa7dd",
    },
)

HVDECK_LIGHT = Theme(
    name="hvdeck-light",
    primary="#1f5f99",
    secondary="#4a7ca8",
    accent="#8a4a06",
    warning="#7a5400",
    error="#a8231c",
    success="#17692b",
    foreground="#1c2329",
    background="#f6f7f9",
    surface="#eceff3",
    panel="#dde3ea",
    dark=False,
    variables={
        "state-running": "#17692b",
        "state-paused": "#7a5400",
        "state-stopped": "#4f5861",
        "state-transition": "#0a6583",
        "state-crashed": "#a8231c",
        "state-unknown": "#5f468a",
        "stale": "#7a5400",
        "foreground-muted": "#4d565f",
        "text-muted": "#4d565f",
        "block-cursor-background": "#1f5f99",
        "block-cursor-foreground": "#ffffff",
        "block-cursor-blurred-background": "#d3dce6",
        "block-cursor-blurred-foreground": "#1c2329",
        "footer-key-foreground": "#1f5f99",
    },
)


def _ansi(background: str, foreground: str, black: str, red: str, green: str, yellow: str, blue: str,
          magenta: str, cyan: str, white: str) -> TerminalTheme:
    """A terminal palette with the same colour for the normal and the bright variant of each."""

    def rgb(hex_colour: str) -> tuple[int, int, int]:
        value = hex_colour.lstrip("#")
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)

    colours = [rgb(c) for c in (black, red, green, yellow, blue, magenta, cyan, white)]
    return TerminalTheme(rgb(background), rgb(foreground), colours, colours)


#: how colour names (``green``, ``bold red``) in rich renderables are drawn under each theme
ANSI_DARK = _ansi("#14181d", "#d8dee4", "#3a434d", "#ff7b7b", "#5fbf6f", "#e0b040", "#5aa7dd", "#a899c8",
                  "#4fc1e0", "#d8dee4")
ANSI_LIGHT = _ansi("#f6f7f9", "#1c2329", "#1c2329", "#a8231c", "#17692b", "#7a5400", "#1f5f99", "#5f468a",
                   "#0a6583", "#4d565f")

THEMES = (HVDECK_DARK, HVDECK_LIGHT)
