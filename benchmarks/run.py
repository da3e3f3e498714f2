"""Run every benchmark and print its figures: `.venv/bin/python benchmarks/run.py`.

fleet_scale.py runs here in its short form (50 hosts, one run of each); its full run (50, 200 and 500
hosts, several minutes) is `.venv/bin/python benchmarks/fleet_scale.py`. migration_modes.py needs the
two-host test bed (scripts/testbed/up.sh) and is run on its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [["table_scale.py"], ["history_store.py"], ["demo_startup.py"], ["terminal_feed.py"],
              ["xentop_parse.py"], ["zones_plans.py"], ["console_pane.py"], ["xentop_stream.py"],
              ["fleet_scale.py", "--quick"]]

if __name__ == "__main__":
    failed = 0
    for name, *args in BENCHMARKS:
        print(f"== {name}", flush=True)
        failed |= subprocess.run([sys.executable, str(HERE / name), *args]).returncode
    sys.exit(failed)
