"""How things look in hvdeck's tables: sizes like `ldm list` (512M, 2G), rates per second, percents; host
text made safe to show (`visible`, `host_text`); text padded and cut by terminal cells (`fit`,
`distinct_cuts`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from os.path import commonprefix
from typing import TYPE_CHECKING

from rich.cells import cell_len, split_graphemes

if TYPE_CHECKING:
    from rich.text import Text

    from hvdeck.backends.model import Domain

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


def sparkline(values: Sequence[float | None], width: int, *,
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
#: a character `visible` rewrites: C0 controls, DEL, C1 controls, bidirectional controls and separators
_ESCAPED = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(_BIDI)) + "]")


def _caret(code: int) -> str:
    """``cat -v`` notation: ^[ for ESC, ^? for DEL, M-^[ for the C1 control U+009B."""
    if code == 0x7F:
        return "^?"
    if code < 0x20:
        return "^" + chr(code + 64)
    if 0x80 <= code < 0xA0:
        return "M-" + _caret(code - 0x80)
    return f"<U+{code:04X}>"


def visible(text: str, *, newlines: bool = False) -> str:
    """``text`` with every C0/C1 control, DEL and bidirectional override made printable (``^[``, ``M-^[``,
    ``<U+202E>``). With ``newlines=True`` line feeds are kept (stderr, multi-line messages) and tabs become
    spaces. Plain text (the common case) is returned as is, without copying."""
    if _ESCAPED.search(text) is None:  # the common case, at C speed: every row of the fleet table
        return text

    def shown(match: re.Match[str]) -> str:
        ch = match.group()
        if newlines and ch == "\n":
            return ch
        if newlines and ch == "\t":
            return "    "
        return _caret(ord(ch))

    return _ESCAPED.sub(shown, text)


def host_text(text: str | None, style: str = "", *, newlines: bool = False) -> Text:
    """Host text as a rich `Text` (never parsed as markup), controls made visible. None shows as ``-``."""
    from rich.text import Text

    return Text(visible(text if text is not None else "-", newlines=newlines), style=style)


# --- terminal cells: pad and cut text of any script ---------------------------------------------------
#
# A column is a number of terminal cells, not of characters: a CJK character or most emoji take two
# cells, a combining mark none. Text is padded and cut here by cells (rich's measure, the one Textual
# draws with), and only between graphemes, so a cut never splits a character from its accents or an
# emoji sequence.

ELLIPSIS = "…"


def cells(text: str) -> int:
    """How many terminal cells ``text`` takes."""
    return len(text) if _narrow(text) else cell_len(text)


def _graphemes(text: str) -> list[tuple[int, int, int]]:
    """(start, end, cells) of each grapheme of ``text``."""
    return split_graphemes(text)[0]


def _narrow(text: str) -> bool:
    """Every character of ``text`` takes one cell (printable ASCII: the common case, measured fast)."""
    return text.isascii() and text.isprintable()


def _head(text: str, width: int) -> str:
    """The longest start of ``text`` that fits in ``width`` cells."""
    if _narrow(text):
        return text[:max(0, width)]
    used = 0
    for start, _end, size in _graphemes(text):
        if used + size > width:
            return text[:start]
        used += size
    return text


def _tail(text: str, width: int) -> str:
    """The longest end of ``text`` that fits in ``width`` cells."""
    if _narrow(text):
        return text[len(text) - width:] if width > 0 else ""
    used = 0
    begin = len(text)
    for start, _end, size in reversed(_graphemes(text)):
        if used + size > width:
            break
        used += size
        begin = start
    return text[begin:]


def pad(text: str, width: int, align: str = "left") -> str:
    """``text`` padded with spaces to ``width`` cells (on the left when ``align`` is "right")."""
    gap = width - cells(text)
    if gap <= 0:
        return text
    return " " * gap + text if align == "right" else text + " " * gap


def fit(text: str, width: int, align: str = "left") -> str:
    """``text`` as exactly ``width`` cells: padded, or cut at its end with an ellipsis (…)."""
    if cells(text) <= width:
        return pad(text, width, align)
    if width <= 1:
        return ELLIPSIS[:width]
    return pad(_head(text, width - 1) + ELLIPSIS, width)


def cut_middle(text: str, width: int) -> str:
    """``text`` as exactly ``width`` cells, cut in the middle (``k8s-prod…pool-a-01``): names that share
    a prefix usually differ at their end."""
    if cell_len(text) <= width:
        return pad(text, width)
    if width < 5:
        return fit(text, width)
    head = _head(text, width // 2)
    tail = _tail(text, width - 1 - cell_len(head))
    return pad(head + ELLIPSIS + tail, width)


def _cut_at(text: str, width: int, at: int) -> str:
    """``text`` as exactly ``width`` cells showing the character at index ``at`` (where it differs from
    the names most like it): a short head, an ellipsis, then the part around ``at``."""
    spans = _graphemes(text)
    g = next((i for i, (start, end, _size) in enumerate(spans) if start <= at < end), len(spans))
    if sum(size for _s, _e, size in spans[:g + 1]) <= width - 1:
        return fit(text, width)  # the difference is within an end cut
    head = _head(text, max(spans[0][2], (width - 2) // 3))
    budget = width - cell_len(head) - 1
    # up to two characters before the difference, while the difference itself still fits
    context = g
    while context > 0 and g - context < 2 and sum(size for _s, _e, size in spans[context - 1:g + 1]) <= budget - 1:
        context -= 1
    rest = text[spans[context][0]:] if context < len(spans) else ""
    if cell_len(rest) <= budget:
        return pad(head + ELLIPSIS + _tail(text, budget), width)
    return pad(head + ELLIPSIS + _head(rest, budget - 1) + ELLIPSIS, width)


def distinct_cuts(texts: Iterable[str], width: int) -> tuple[dict[str, str], int]:
    """How to show each of ``texts`` in a column of ``width`` cells so that no two look alike.

    Returns ``(cuts, width)``: ``cuts`` maps each text wider than the column to its cut form (exactly
    ``width`` cells, with …); texts that fit are absent and shown as they are. A cut is in the middle
    (``k8s-prod…pool-a-01``); where two middle cuts would look alike, each shows where its text differs
    from the texts most like it. In the rare case that even then two look alike, the column is widened
    until they do not, and the width returned is the one the cuts are for.
    """
    everything = sorted(set(texts))
    longest = max((cell_len(t) for t in everything), default=0)
    while width < longest:
        cuts = _cuts(everything, width)
        if cuts is not None:
            return cuts, width
        width += 1
    return {}, width


def _cuts(everything: list[str], width: int) -> dict[str, str] | None:
    """`distinct_cuts` at one width (``everything`` sorted, without repeats), or None if some look alike."""
    short = set()
    cuts: dict[str, str] = {}
    for t in everything:
        if cell_len(t) > width:
            cuts[t] = cut_middle(t, width)
        else:
            short.add(pad(t, width))
    seen: dict[str, int] = {}
    for shown in cuts.values():
        seen[shown] = seen.get(shown, 0) + 1
    alike = [t for t, shown in cuts.items() if seen[shown] > 1 or shown in short]
    if alike and width < 5:  # too narrow to show a head, the difference and the ellipses
        return None
    position = {t: i for i, t in enumerate(everything)} if alike else {}
    for t in alike:
        # where t differs from the texts that share most of its start: its neighbours in sorted order
        i = position[t]
        differs = max(len(commonprefix((t, everything[i - 1]))) if i > 0 else 0,
                      len(commonprefix((t, everything[i + 1]))) if i + 1 < len(everything) else 0)
        cuts[t] = _cut_at(t, width, differs)
    shown_all = set(cuts.values())
    if len(shown_all) != len(cuts) or shown_all & short or any(cell_len(cuts[t]) != width for t in alike):
        return None
    return cuts


def native(domain: Domain) -> str:
    """The host's own word for the state, with its flags where it has them (`active -n-cv-` on LDoms):
    the NATIVE column of the fleet table and of `hvdeck ls` (host text: made `visible` by the caller)."""
    return f"{domain.native_state} {domain.flags}" if domain.flags else domain.native_state
