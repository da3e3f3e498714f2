"""The layering rules hold: backends know nothing of the UI; widgets see only the model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT


def test_import_linter_contracts(tmp_path: Path):
    # the folders are mapped into hvdeck.* by package-dir; give import-linter a tree it can walk
    shadow = tmp_path / "hvdeck"
    shadow.mkdir()
    for folder in ("backends", "tui", "widgets", "themes"):
        (shadow / folder).symlink_to(ROOT / folder)
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    done = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def test_backends_import_without_textual():
    code = ("import sys, hvdeck.backends.fleet, hvdeck.backends.libvirt.backend, hvdeck.backends.transport.ssh, "
            "hvdeck.backends.sim.sshserver, hvdeck.backends.plan; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich') "
            "or m.startswith(('hvdeck.tui', 'hvdeck.widgets'))); print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
