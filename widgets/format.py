"""How numbers look in hvdeck's tables: sizes like `ldm list` (512M, 2G), rates per second, percents."""

from __future__ import annotations

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
