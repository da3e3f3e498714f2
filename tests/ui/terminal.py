"""What the app draws, as the terminal would receive it: for checking that host text reaches the screen
literally and never as controls."""

from __future__ import annotations

import io
import re

from rich.console import Console
from textual.app import App

# what Textual itself writes between the characters of a frame: colours and attributes (SGR) and cursor
# moves; anything else starting with ESC in a frame came from somewhere it should not have
_OWN_SEQUENCES = re.compile(r"\x1b\[[0-9;]*m|\x1b\[[0-9]+;[0-9]+H")


def terminal_output(app: App) -> str:
    """A full frame of the current screen (and the screens under it) as the app's driver writes it to
    a true-colour terminal."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return update.render_segments(console)


def screen_text(app: App) -> str:
    """The characters on screen, one line per row, without styles."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def controls_in(output: str) -> list[str]:
    """Every control in ``output`` that is not Textual's own colour or cursor sequence: ESC, BEL and the
    other C0 controls but line feed, and C1 controls (U+0080..U+009F)."""
    rest = _OWN_SEQUENCES.sub("", output)
    return [repr(m) for m in re.findall(r"[\x00-\x09\x0b-\x1f\x7f]|[\x80-\x9f]", rest)]
