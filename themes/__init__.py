"""hvdeck's themes: a dark and a light `Theme`, and the variables its stylesheets use.

The state colours are theme variables (``$state-running`` …), so a user's theme (or any of Textual's
built-in themes, which stay available in the command palette) can set them; where a theme does not,
`VARIABLE_FALLBACKS` fills them in from the theme's own palette.
"""

from __future__ import annotations

from pathlib import Path

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
    primary="#4f9fd8",
    secondary="#3a6d96",
    accent="#e0a040",
    warning="#e0b040",
    error="#e05a5a",
    success="#5fbf6f",
    foreground="#d8dee4",
    background="#14181d",
    surface="#1b2128",
    panel="#232b33",
    dark=True,
    variables={
        "state-running": "#5fbf6f",
        "state-paused": "#e0b040",
        "state-stopped": "#7d8893",
        "state-transition": "#4fc1e0",
        "state-crashed": "#ff6b6b",
        "state-unknown": "#a08fc0",
        "stale": "#b08a3a",
        "footer-key-foreground": "#4f9fd8",
    },
)

HVDECK_LIGHT = Theme(
    name="hvdeck-light",
    primary="#1f5f99",
    secondary="#4a7ca8",
    accent="#b8610a",
    warning="#9a6a00",
    error="#b3261e",
    success="#1e7a34",
    foreground="#1c2329",
    background="#f6f7f9",
    surface="#eceff3",
    panel="#dde3ea",
    dark=False,
    variables={
        "state-running": "#1e7a34",
        "state-paused": "#9a6a00",
        "state-stopped": "#66707a",
        "state-transition": "#0b6f8f",
        "state-crashed": "#b3261e",
        "state-unknown": "#6b4f99",
        "stale": "#9a6a00",
        "footer-key-foreground": "#1f5f99",
    },
)

THEMES = (HVDECK_DARK, HVDECK_LIGHT)
