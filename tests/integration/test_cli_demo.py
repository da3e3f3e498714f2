"""The host verbs try out on the demo fleet (`--demo`), as `ls` and `console` do: nothing to set up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def hvdeck(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HOME": str(home)})


def test_show_and_create_on_the_demo(tmp_path: Path):
    shown = hvdeck("show", "--demo", "t7-a", "ldg-web1", home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("t7-a / ldg-web1") and "vntsd" in shown.stdout
    planned = hvdeck("create", "--demo", "t7-a", "ldg-new", "--vcpus", "2", "--memory", "4G", "--disk", "10G",
                     home=tmp_path)
    assert planned.returncode == 0, planned.stderr
    assert "ldm add-domain ldg-new" in planned.stdout and "nothing was run" in planned.stdout
    # the demo's audit log, never the user's own
    assert not (tmp_path / ".local/state/hvdeck/audit.log").exists()
