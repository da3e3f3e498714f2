"""benchmarks/fleet_scale.py still runs end to end: 5 simulated control domains over real SSH, every client
measured once, with and without the added RTT. No figure is asserted (speed belongs to the benchmark);
what is asserted is that every client got every host's 40 domains and that the report has its shape."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")
def test_fleet_bench_quick_run(tmp_path: Path):
    out = tmp_path / "fleet.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fleet_scale.py"), "--quick", "--no-console", "--hosts", "5",
         "--no-install", "--json-out", str(out)],
        capture_output=True, text=True, timeout=200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())

    assert [(p["hosts"], p["rtt_ms"]) for p in report["phases"]] == [(5, 0), (5, 50.0)]
    pssh = shutil.which("parallel-ssh") or shutil.which("pssh")
    expected = ["hvdeck_ls", "ssh_loop", "pssh_p32", "pssh_pN", "floor"] if pssh else ["hvdeck_ls", "ssh_loop", "floor"]
    for phase in report["phases"]:
        assert list(phase["figures"]) == expected
        for name, figure in phase["figures"].items():
            assert figure["failed"] == 0, (name, figure["notes"])
            assert len(figure["runs"]) == 1 and figure["runs"][0]["ok"]
            assert figure["wall_s"]["min"] <= figure["wall_s"]["median"] <= figure["wall_s"]["max"]
        assert set(phase["ratios"]) == set(expected[1:])
        assert all(value is not None and value > 0 for value in phase["ratios"].values())
        warm = phase["warm"]  # every host at once over open connections, each host alone
        assert "error" not in warm and warm["not_up"] == [] and len(warm["alone_s"]) == 5
        assert len(warm["warm_s"]) == 3 and warm["warm_over_slowest"] > 0
    # the added round trip shows in a host polled alone over its open connection
    assert report["phases"][1]["warm"]["slowest_alone_s"] >= 0.05
    assert report["rtt_method"].startswith(("a user-space delaying TCP proxy", "netem"))
    if not pssh:
        assert "pssh skipped" in run.stdout
    assert "== ratios" in run.stdout and "hvdeck ls --json" in run.stdout and "== warm refresh" in run.stdout
