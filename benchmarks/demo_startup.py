"""How long `hvdeck demo` takes from process start to its first full table (every host polled).

Starts a fresh Python process that imports hvdeck, builds the demo exactly as `hvdeck demo` does (two
libvirt test-driver hosts, two simulated LDoms control domains and two simulated global zones started on
loopback and reached through SSH) and runs it headless; the process prints the time when the fleet table
first holds every domain of every host, then exits. Reports the median over several cold starts.

    .venv/bin/python benchmarks/demo_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

CHILD = r"""
import time
t0 = time.perf_counter()
from hvdeck.backends.audit import AuditLog
from hvdeck.backends.sim.demo import DemoFleet
from hvdeck.tui.app import HvdeckApp
from hvdeck.widgets.fleet_table import FleetTable
imported = time.perf_counter()

class Timed(HvdeckApp):
    def on_mount(self):
        super().on_mount()
        self.set_interval(0.005, self._check)

    def _check(self):
        table = self.screen.query(FleetTable).first(None)
        if table is not None and table.total_count == 43 and table.row_count == 43:
            print(f"{imported - t0:.3f} {time.perf_counter() - t0:.3f}", flush=True)
            self.exit()

with DemoFleet() as inventory:
    Timed(inventory, audit=AuditLog("/dev/null")).run(headless=True, size=(120, 36))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    spawn, imports, table = [], [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=True)
        wall = time.perf_counter() - t0
        match = re.search(r"^(\d+\.\d+) (\d+\.\d+)$", out.stdout, re.M)
        if match is None:
            raise SystemExit(f"unexpected output from the demo: {out.stdout!r} {out.stderr!r}")
        imported, first_table = float(match[1]), float(match[2])
        spawn.append(wall - first_table)  # interpreter start-up, before the child's clock starts
        imports.append(imported)
        table.append(first_table)
    print(f"hvdeck demo, {args.runs} cold starts (median):")
    print(f"  interpreter start + exit              {statistics.median(spawn) * 1000:7.0f} ms")
    print(f"  importing hvdeck, textual, libvirt    {statistics.median(imports) * 1000:7.0f} ms")
    print(f"  process start to first full table    {statistics.median([s + t for s, t in zip(spawn, table)]) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
