"""How fast the xentop stream parser reads a big dom0: 1,000 domains a frame.

Builds `xentop -b` output the way xentop prints it (the column table and printf formats of shared/formats
xen.md §1.3: `%10.10s` names, `no limit`/`n/a` for Domain-0, widths grown to the largest value) for one
Domain-0 and N-1 guests, several iterations in a row, and feeds it to `XentopStream` in chunks of the size an
SSH channel delivers (32 KiB by default, cut mid-line). Reports rows/s and MB/s over the best of several runs,
and what one host's stream would cost at a 1 s interval (parse time per frame, as % of one core).

    .venv/bin/python benchmarks/xentop_parse.py [--domains 1000] [--frames 20] [--chunk 32768] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hvdeck.backends.xen.xentop import XentopStream

# (header, default width) in printed order, xen.md §1.3
COLUMNS = [("NAME", 10), ("STATE", 6), ("CPU(sec)", 10), ("CPU(%)", 6), ("MEM(k)", 10), ("MEM(%)", 6),
           ("MAXMEM(k)", 10), ("MAXMEM(%)", 9), ("VCPUS", 5), ("NETS", 4), ("NETTX(k)", 8), ("NETRX(k)", 8),
           ("VBDS", 4), ("VBD_OO", 8), ("VBD_RD", 8), ("VBD_WR", 8), ("VBD_RSECT", 10), ("VBD_WSECT", 10),
           ("SSID", 4)]
GROWING = {"NETTX(k)": "tx", "NETRX(k)": "rx", "VBD_RD": "rd", "VBD_WR": "wr", "VBD_RSECT": "rs", "VBD_WSECT": "ws"}
STATES = ["--b---"] * 7 + ["-----r"] * 2 + ["----p-"]


def domains(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = [dict(name="Domain-0", state="-----r", cpu=393575, mem=9357356, maxmem=None, vcpus=4, nets=0, tx=0, rx=0,
                vbds=0, rd=0, wr=0, rs=0, ws=0)]
    for i in range(1, count):
        mem = rng.choice([1, 2, 4, 8, 16]) * 1048576
        out.append(dict(name=f"guest{i:05d}-{rng.choice(['web', 'db', 'batch'])}", state=rng.choice(STATES),
                        cpu=rng.randrange(10**7), mem=mem, maxmem=mem, vcpus=rng.choice([1, 2, 4, 8]),
                        nets=1, tx=rng.randrange(10**8), rx=rng.randrange(10**8), vbds=2, rd=rng.randrange(10**7),
                        wr=rng.randrange(10**7), rs=rng.randrange(10**9), ws=rng.randrange(10**9)))
    return sorted(out, key=lambda d: d["name"].lower())  # batch mode sorts by name (§1.2)


def frame(doms: list[dict], tick: int, total_kib: int = 805306368) -> str:
    """One iteration as xentop prints it (§1.3)."""
    width = dict(COLUMNS)
    for d in doms:
        for column, key in GROWING.items():
            width[column] = max(width[column], len(str(d[key] + tick + 1)))
    lines = [" ".join("%*s" % (width[h], h) for h, _ in COLUMNS)]
    for d in doms:
        unlimited = d["maxmem"] is None
        lines.append(" ".join((
            "%10.10s" % d["name"], d["state"], "%10d" % (d["cpu"] + tick), "%6.1f" % (0.0 if tick == 0 else 1.5),
            "%10d" % d["mem"], "%6.1f" % (100.0 * d["mem"] / total_kib),
            "%10s" % "no limit" if unlimited else "%10d" % d["maxmem"],
            "%9s" % "n/a" if unlimited else "%9.1f" % (100.0 * d["maxmem"] / total_kib),
            "%5d" % d["vcpus"], "%4d" % d["nets"], "%*d" % (width["NETTX(k)"], d["tx"] + tick),
            "%*d" % (width["NETRX(k)"], d["rx"] + tick), "%4d" % d["vbds"], "%8d" % 0,
            "%*d" % (width["VBD_RD"], d["rd"] + tick), "%*d" % (width["VBD_WR"], d["wr"] + tick),
            "%*d" % (width["VBD_RSECT"], d["rs"] + tick), "%*d" % (width["VBD_WSECT"], d["ws"] + tick), "%4d" % 0)))
    return "\n".join(lines) + "\n"


def run(text: str, chunk: int) -> tuple[float, int, int]:
    """(seconds, frames, rows) to parse `text` fed in `chunk`-character pieces, then closed."""
    pieces = [text[i:i + chunk] for i in range(0, len(text), chunk)]
    stream = XentopStream()
    start = time.perf_counter()
    frames = []
    for piece in pieces:
        frames += stream.feed(piece)
    frames += stream.close()
    elapsed = time.perf_counter() - start
    return elapsed, len(frames), sum(len(f.rows) for f in frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=32768)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    doms = domains(args.domains)
    text = "".join(frame(doms, tick) for tick in range(args.frames))
    size = len(text.encode())
    best = min(run(text, args.chunk) for _ in range(args.repeat))
    seconds, frames, rows = best
    assert frames == args.frames and rows == args.frames * args.domains, (frames, rows)
    per_frame = seconds / frames
    print(f"xentop -b, {args.domains} domains a frame, {frames} frames, {size / 1e6:.2f} MB, "
          f"{args.chunk}-character chunks, best of {args.repeat}")
    print(f"  {rows / seconds:,.0f} rows/s   {size / seconds / 1e6:.1f} MB/s   {per_frame * 1e3:.1f} ms a frame")
    print(f"  one host at a 1 s interval: {per_frame * 100:.1f}% of one core for parsing")


if __name__ == "__main__":
    main()
