"""How fast the console terminal widget takes a flood of guest output, and whether the app stays responsive.

A running app (headless, ``run_test``) with one `Terminal`; a producer feeds it a flood of mixed console
output (plain log lines, coloured words, 100-300 character lines that wrap, 256/direct colours and CJK)
in 16 KiB reads, as a channel reader would, pausing while the widget's backlog is above 256 KiB. The
compositor repaints as it would in a terminal (the headless driver only skips writing to the tty).

Reported, per screen size:

* MB/s: bytes from the first feed until everything is parsed and the last frame is painted;
* frames painted, and rows rendered (calls to ``render_line``);
* the longest single ``_process`` slice (parsing) and the longest frame (all ``render_line`` calls of one
  repaint), i.e. the longest the widget itself held the event loop; for slices also in CPU time, which
  leaves out the time the process was not running (the machine is shared) but not a garbage collection;
* the longest stall of the event loop as a 1 ms ticker sees it (everything: parsing, painting, Textual);
* key latency during the flood: a key event posted to the widget every 50 ms, until its `Output` message
  arrives at the app (median and worst).

    .venv/bin/python benchmarks/terminal_feed.py [--megabytes 8] [--size 80x24 --size 160x48] [--no-gc]

The longest slices and frames (20-40 ms, against a p99 of about 4 ms) are full collections of Python's
cyclic garbage collector, which can fall inside any of them: ``--no-gc`` runs with it off to show the
widget's own worst case.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events
from textual.app import App, ComposeResult
from textual.strip import Strip

from hvdeck.widgets.terminal import Terminal

WORDS = ["kernel:", "eth0:", "link", "up", "systemd[1]:", "Started", "session", "of", "user", "root.",
         "vdisk", "ldm", "error", "OK", "0x00c0ffee", "domain", "bound", "vcpu", "memory"]
READ = 16 * 1024
HIGH_WATER = 256 * 1024


def flood(megabytes: float, seed: int = 7) -> bytes:
    """Mixed console output, about ``megabytes`` MB."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    size = 0
    while size < megabytes * 1e6:
        kind = rng.random()
        if kind < 0.5:
            line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
        elif kind < 0.8:
            line = "".join(f"\x1b[{rng.choice([31, 32, 33, 34, 35, 36, 1, 0])}m{rng.choice(WORDS)}\x1b[0m "
                           for _ in range(rng.randint(3, 10)))
        elif kind < 0.9:
            line = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(rng.randint(100, 300)))
        else:
            line = (f"\x1b[38;5;{rng.randint(0, 255)}m日本語のログ\x1b[48;2;{rng.randint(0, 255)};20;30m"
                    f"{'#' * 20}\x1b[m")
        data = (line + "\r\n").encode()
        parts.append(data)
        size += len(data)
    return b"".join(parts)


class Measured(Terminal):
    """The widget with clocks on the two things it does on the loop: parse a slice, render a frame."""

    def __init__(self) -> None:
        super().__init__(id="console")
        self.slices: list[float] = []
        self.slice_cpu: list[float] = []
        self.rows_rendered = 0
        self.frames: list[float] = []
        self._last_render = 0.0

    def _process(self) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        super()._process()
        self.slices.append(time.perf_counter() - t0)
        self.slice_cpu.append(time.thread_time() - c0)

    def render_line(self, y: int) -> Strip:
        t0 = time.perf_counter()
        strip = super().render_line(y)
        end = time.perf_counter()
        self.rows_rendered += 1
        if t0 - self._last_render > 0.001 or not self.frames:  # calls close together belong to one frame
            self.frames.append(end - t0)
        else:
            self.frames[-1] += end - t0
        self._last_render = end
        return strip


class Bench(App):
    def __init__(self) -> None:
        super().__init__()
        self.latencies: list[float] = []
        self._sent: dict[bytes, float] = {}

    def compose(self) -> ComposeResult:
        yield Measured()

    def on_terminal_output(self, event: Terminal.Output) -> None:
        sent = self._sent.pop(event.data, None)
        if sent is not None:
            self.latencies.append(time.perf_counter() - sent)

    def key(self, term: Terminal, n: int) -> None:
        ch = "abcdefghijklmnopqrstuvwxyz"[n % 26]
        self._sent[ch.encode()] = time.perf_counter()
        term.post_message(events.Key(ch, ch))


async def measure(data: bytes, size: tuple[int, int]) -> dict[str, float]:
    app = Bench()
    async with app.run_test(size=size) as pilot:
        term = app.query_one(Measured)
        term.focus()
        await pilot.pause()
        stalls: list[float] = []
        running = True

        async def ticker() -> None:
            loop = asyncio.get_running_loop()
            while running:
                t0 = loop.time()
                await asyncio.sleep(0.001)
                stalls.append(loop.time() - t0 - 0.001)

        async def keys() -> None:
            n = 0
            while running:
                app.key(term, n)
                n += 1
                await asyncio.sleep(0.05)

        tick, typing = asyncio.create_task(ticker()), asyncio.create_task(keys())
        term.slices.clear()
        term.slice_cpu.clear()
        term.frames.clear()
        term.rows_rendered = 0
        t0 = time.perf_counter()
        for i in range(0, len(data), READ):
            while term.backlog > HIGH_WATER:
                await asyncio.sleep(0.001)
            term.feed(data[i:i + READ])
            await asyncio.sleep(0)
        await term.drain()
        await pilot.pause()
        elapsed = time.perf_counter() - t0
        running = False
        await asyncio.gather(tick, typing)
        last_line = term.plain_text().rstrip("\n").rsplit("\n", 1)[-1]
        expected = data.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        assert last_line, "nothing on screen"
        assert expected.endswith(b"\x1b[m") or last_line.split()[-1] in expected.decode(), (last_line, expected)
    return {
        "MB/s": len(data) / elapsed / 1e6,
        "seconds": elapsed,
        "parsing seconds": sum(term.slices),
        "rendering seconds": sum(term.frames),
        "frames": len(term.frames),
        "rows rendered": term.rows_rendered,
        "longest parse slice ms": max(term.slices) * 1000,
        "p99 parse slice ms": _p99(term.slices) * 1000,
        "longest parse slice cpu ms": max(term.slice_cpu) * 1000,
        "p99 parse slice cpu ms": _p99(term.slice_cpu) * 1000,
        "longest frame render ms": max(term.frames) * 1000 if term.frames else 0.0,
        "p99 frame render ms": _p99(term.frames) * 1000,
        "longest loop stall ms": max(stalls) * 1000,
        "p99 loop stall ms": _p99(stalls) * 1000,
        "key latency median ms": statistics.median(app.latencies) * 1000 if app.latencies else float("nan"),
        "key latency max ms": max(app.latencies) * 1000 if app.latencies else float("nan"),
        "keys": len(app.latencies),
    }


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=8.0)
    parser.add_argument("--size", action="append", default=[])
    parser.add_argument("--no-gc", action="store_true", help="turn the cyclic garbage collector off")
    args = parser.parse_args()
    if args.no_gc:
        gc.disable()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.size] or [(80, 24), (160, 48)]
    data = flood(args.megabytes)
    print(f"flood: {len(data) / 1e6:.1f} MB of mixed console output, read {READ // 1024} KiB at a time"
          + (", garbage collector off" if args.no_gc else ""))
    for columns, rows in sizes:
        result = asyncio.run(measure(data, (columns, rows)))
        print(f"{columns}x{rows}: {result['MB/s']:.2f} MB/s ({result['seconds']:.2f} s), "
              f"{result['frames']} frames, {result['rows rendered']} rows rendered; "
              f"parsing {result['parsing seconds']:.2f} s, rendering {result['rendering seconds']:.2f} s")
        print(f"    parse slice: longest {result['longest parse slice ms']:.1f} ms, "
              f"p99 {result['p99 parse slice ms']:.1f} ms (CPU time: longest "
              f"{result['longest parse slice cpu ms']:.1f} ms, p99 {result['p99 parse slice cpu ms']:.1f} ms); "
              f"frame render: longest {result['longest frame render ms']:.1f} ms, "
              f"p99 {result['p99 frame render ms']:.1f} ms")
        print(f"    event loop stall (1 ms ticker): longest {result['longest loop stall ms']:.1f} ms, "
              f"p99 {result['p99 loop stall ms']:.1f} ms")
        print(f"    key -> Output during the flood: median {result['key latency median ms']:.1f} ms, "
              f"max {result['key latency max ms']:.1f} ms ({result['keys']} keys)")


if __name__ == "__main__":
    main()
