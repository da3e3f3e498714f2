"""Run every benchmark and print its figures: `.venv/bin/python benchmarks/run.py`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["table_scale.py", "history_store.py", "demo_startup.py", "terminal_feed.py", "xentop_parse.py",
              "zones_plans.py", "console_pane.py",
              "xentop_stream.py"]

if __name__ == "__main__":
    failed = 0
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        failed |= subprocess.run([sys.executable, str(HERE / name)]).returncode
    sys.exit(failed)
