"""How numbers look in hvdeck's tables: sizes like `ldm list` (512M, 2G), rates per second, percents."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

_BLOCKS = " ▁▂▃▄▅▆▇█"

#: rich colours of the normalised states, where a theme variable cannot reach (rich Text, the `ls` table)
STATE_COLOURS = {"running": "green", "paused": "yellow", "crashed": "red", "transition": "cyan"}


def size(n: float | None) -> str:
    """Binary size in ldm's style: 512M, 2G, 1.5T; ``-`` when unknown."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if abs(value) < 1024 or unit == "P":
            if unit == "B":
                return f"{int(value)}B"
            if value >= 100 or value == int(value):
                return f"{value:.0f}{unit}"
            return f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def rate(n: float | None) -> str:
    """Bytes per second, compact: ``0``, ``12K``, ``3.4M``; ``-`` when unknown."""
    if n is None:
        return "-"
    if n < 1:
        return "0"
    return size(n)


def pair(a: float | None, b: float | None) -> str:
    if a is None and b is None:
        return "-"
    return f"{rate(a)}/{rate(b)}"


def percent(p: float | None) -> str:
    return "-" if p is None else f"{p:.1f}"


def sparkline(values: tuple[float | None, ...] | list[float | None], width: int, *,
              top: float | None = None) -> str:
    """The last ``width`` values as block characters; unknown samples are blanks.

    ``top`` fixes the scale (100 for percentages); otherwise the largest value shown is full height.
    """
    shown = list(values)[-width:]
    known = [v for v in shown if v is not None]
    scale = top if top is not None else (max(known) if known else 0.0)
    out = []
    for v in shown:
        if v is None:
            out.append(" ")
        elif scale <= 0:
            out.append(_BLOCKS[1])
        else:
            level = int(round(min(max(v / scale, 0.0), 1.0) * (len(_BLOCKS) - 2))) + 1
            out.append(_BLOCKS[level])
    return "".join(out).rjust(width)


def age(seconds: float) -> str:
    """3s, 2m05s, 1h02m, 45d 8h (the way `ldm list` counts uptime in days)."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


# --- host text: the one boundary where text from a host enters the UI ---------------------------------
#
# Everything a host prints (names, states, stderr, notes) is untrusted. Rich and Textual parse a `str` as
# markup, and the terminal obeys escape sequences, so host text is shown only through `visible` (a str with
# every control made printable, like `cat -v`) or `host_text` (a `rich.text.Text`, which is never parsed as
# markup). Sequences and controls become harmless printable characters; nothing is dropped silently, so an
# operator can still see that a name carries an escape.

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def _caret(code: int) -> str:
    """``cat -v`` notation: ^[ for ESC, ^? for DEL, M-^[ for the C1 control U+009B."""
    if code == 0x7F:
        return "^?"
    if code < 0x20:
        return "^" + chr(code + 64)
    if 0x80 <= code < 0xA0:
        return "M-" + _caret(code - 0x80)
    return f"<U+{code:04X}>"


def _needs_escape(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code < 0xA0 or ch in _BIDI



def visible(text: str, *, newlines: bool = False) -> str:
    """``text`` with every C0/C1 control, DEL and bidirectional override made printable (``^[``, ``M-^[``,
    ``<U+202E>``). With ``newlines=True`` line feeds are kept (stderr, multi-line messages) and tabs become
    spaces. Plain text (the common case) is returned as is, without copying."""
    if not any(_needs_escape(ch) for ch in text):
        return text
    out = []
    for ch in text:
        if newlines and ch == "\n":
            out.append(ch)
        elif newlines and ch == "\t":
            out.append("    ")
        elif _needs_escape(ch):
            out.append(_caret(ord(ch)))
        else:
            out.append(ch)
    return "".join(out)


def host_text(text: str | None, style: str = "", *, newlines: bool = False) -> Text:
    """Host text as a rich `Text` (never parsed as markup), controls made visible. None shows as ``-``."""
    from rich.text import Text

    return Text(visible(text if text is not None else "-", newlines=newlines), style=style)
