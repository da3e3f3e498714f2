"""`hvdeck ls --json` on a Xen dom0 reached with ``transport: local``, answered by the replay scripts of
tests/fixtures/xen/replay (PATH first; `HVDECK_XEN_REPLAY` picks the data): the live table from the
replayed xentop, stopped guests from the replayed /etc/xen, and, where xentop is missing, `xl list` polls."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.model import DomainState, HostStatus
from hvdeck.backends.xen.backend import XenBackend

REPLAY = Path(__file__).resolve().parent.parent / "fixtures" / "xen" / "replay"
INVENTORY = """\
hosts:
  - name: xr
    transport: local
    kind: xen
    poll_interval: 1
"""


def _env(data: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, PATH=f"{REPLAY / 'bin'}{os.pathsep}{os.environ['PATH']}")
    if data is not None:
        env["HVDECK_XEN_REPLAY"] = str(data)
    return env


def test_hvdeck_ls_json_on_the_replayed_xl_dom0(tmp_path):
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(INVENTORY)
    done = subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", "ls", "--json", "--inventory", str(inventory)],
                          env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    (host,) = json.loads(done.stdout)["hosts"]
    assert (host["name"], host["kind"], host["status"], host["error"]) == ("xr", "xen", "up", None)
    rows = {d["name"]: d for d in host["domains"]}
    assert list(rows) == ["backup01", "db01", "Domain-0", "old01", "web01"]
    assert rows["web01"] == {"name": "web01", "id": 3, "state": "running", "native_state": "--b---", "vcpus": 2,
                             "memory_bytes": 2097152 * 1024, "cpu_percent": 0.2, "uptime_s": None, "console": "xl",
                             "flags": None}
    assert (rows["Domain-0"]["cpu_percent"], rows["db01"]["state"], rows["db01"]["cpu_percent"]) == (3.125, "paused", 0.0)
    assert (rows["backup01"]["state"], rows["backup01"]["native_state"], rows["backup01"]["memory_bytes"]) == (
        "stopped", "config", 1 << 30)
    assert (rows["old01"]["state"], rows["old01"]["native_state"]) == ("stopped", "saved")


@pytest.fixture
def no_xentop(tmp_path, monkeypatch):
    """The replayed xl dom0 without xentop (its data directory is left out)."""
    data = tmp_path / "data"
    shutil.copytree(REPLAY / "data", data)
    shutil.rmtree(data / "xentop")
    monkeypatch.setenv("PATH", _env()["PATH"])
    monkeypatch.setenv("HVDECK_XEN_REPLAY", str(data))
    return data


async def test_without_xentop_the_table_comes_from_xl_list(no_xentop):
    fleet = Fleet(Inventory((HostSpec(name="xr", address="xr", transport="local", kind="xen", poll_interval=1),)))
    try:
        first = await fleet.poll_host("xr")
        assert first.status is HostStatus.UP, first.error
        assert any("xentop is not available" in note for note in first.info.notes)
        backend = fleet.backend("xr")
        assert isinstance(backend, XenBackend) and not backend.streaming
        assert fleet.xentop_frame("xr") is None
        rows = {d.name: d for d in first.domains}
        assert (rows["web01"].native_state, rows["web01"].state, rows["web01"].cpu_percent) == (
            "-b----", DomainState.RUNNING, None)
        assert ("letters", "r b p s R d") in rows["web01"].extra
        second = await fleet.poll_host("xr")  # the replayed Time(s) do not move: 0 % between the two polls
        assert {d.name: d.cpu_percent for d in second.domains if d.id is not None} == {
            "Domain-0": 0.0, "web01": 0.0, "db01": 0.0}
        assert rows["backup01"].state is DomainState.STOPPED
    finally:
        await fleet.close()


async def test_bindings_from_the_replayed_json_and_lists(no_xentop):
    (no_xentop / "xl" / "sched-credit_-d_web01.out").write_text(
        "Name                                ID Weight  Cap\nweb01                                3    512  100\n")
    (no_xentop / "xl" / "list_-l_web01.out").write_text((no_xentop / "xl" / "list_-l.out").read_text())
    (no_xentop / "xl" / "vcpu-list_web01.out").write_text((no_xentop / "xl" / "vcpu-list.out").read_text())
    fleet = Fleet(Inventory((HostSpec(name="xr", address="xr", transport="local", kind="xen", poll_interval=1),)))
    try:
        snapshot = await fleet.poll_host("xr")
        web = next(d for d in snapshot.domains if d.name == "web01")
        bindings = await fleet.bindings(web)
        assert [(d.target, d.source) for d in bindings.disks][:2] == [("xvda", "/dev/vg0/web01"),
                                                                     ("xvdb", "/srv/xen/web01-data.qcow2")]
        sched = next(s for s in bindings.extra if s.title == "CREDIT SCHEDULER")
        assert sched.rows == (("512", "100%"),)  # from sched-credit -d, over what the JSON says
        assert next(s for s in bindings.extra if s.title == "VCPU").replaces == ("pinning",)
        backup = next(d for d in snapshot.domains if d.name == "backup01")
        from_config = await fleet.bindings(backup)
        assert [(d.target, d.source) for d in from_config.disks] == [("xvda", "/dev/vg0/backup01")]
    finally:
        await fleet.close()
