"""The zones backend on `transport: local` against recorded `zoneadm`, `zonecfg` and `uname` output replayed
by scripts first in PATH (tests/fixtures/zones/replay): `hvdeck ls --json` as a user runs it, and the
probe, the table and the bindings through the backend itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from hvdeck.backends.errors import CommandFailed, ParseError
from hvdeck.backends.inventory import HostSpec
from hvdeck.backends.model import DomainState
from hvdeck.backends.transport.local import LocalSession
from hvdeck.backends.zones.backend import ZonesBackend

REPLAY = Path(__file__).resolve().parent.parent / "fixtures" / "zones" / "replay"


@pytest.fixture
def replay_path(monkeypatch: pytest.MonkeyPatch) -> str:
    path = f"{REPLAY / 'bin'}{os.pathsep}{os.environ['PATH']}"
    monkeypatch.setenv("PATH", path)
    monkeypatch.delenv("HVDECK_ZONES_REPLAY", raising=False)
    return path


def _ls(tmp_path: Path, replay_path: str, data: str | None = None) -> tuple[int, dict, str]:
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text("hosts:\n  - name: gz1\n    transport: local\n    kind: zones\n")
    env = {**os.environ, "PATH": replay_path}
    if data is not None:
        env["HVDECK_ZONES_REPLAY"] = str(REPLAY / "data" / data)
    done = subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", "ls", "--json", "--inventory", str(inventory)],
                          capture_output=True, text=True, timeout=60, env=env)
    return done.returncode, json.loads(done.stdout or "{}"), done.stderr


def test_hvdeck_ls_json_on_a_replayed_illumos_global_zone(tmp_path: Path, replay_path: str):
    status, listing, stderr = _ls(tmp_path, replay_path)
    assert status == 0, stderr
    (host,) = listing["hosts"]
    assert (host["name"], host["kind"], host["status"], host["error"]) == ("gz1", "zones", "up", None)
    # zones.md §1.2: the VERBATIM OmniOS sample (ls lists a host's domains by name); its installed zone carries
    # an id (44), which is shown as printed
    assert host["domains"] == [
        {"name": "cube-media", "id": 42, "state": "running", "native_state": "running", "vcpus": None,
         "memory_bytes": None, "cpu_percent": None, "uptime_s": None, "console": "zlogin", "flags": None},
        {"name": "cube-ws", "id": 44, "state": "stopped", "native_state": "installed", "vcpus": None,
         "memory_bytes": None, "cpu_percent": None, "uptime_s": None, "console": "zlogin", "flags": None},
        {"name": "global", "id": 0, "state": "running", "native_state": "running", "vcpus": None,
         "memory_bytes": None, "cpu_percent": None, "uptime_s": None, "console": None, "flags": "global"},
    ]


def test_hvdeck_ls_json_on_a_replayed_solaris_11_global_zone(tmp_path: Path, replay_path: str):
    status, listing, stderr = _ls(tmp_path, replay_path, "solaris11")
    assert status == 0, stderr
    (host,) = listing["hosts"]
    assert [(d["name"], d["id"], d["native_state"]) for d in host["domains"]] == [
        ("global", 0, "running"), ("testzone", None, "installed"), ("testzone1", 13, "running"),
        ("testzone2", 5, "running")]


async def test_probe_table_and_bindings_through_the_backend(replay_path: str):
    spec = HostSpec(name="gz1", address="gz1", transport="local", kind="zones")
    session = LocalSession("gz1")
    assert await ZonesBackend.detect(session, spec)
    backend = ZonesBackend(spec, session)
    info = await backend.open()
    assert (info.kind, info.hypervisor, info.version, info.notes) == ("zones", "zones", "SunOS 5.11 (illumos)", ())
    zones = {z.name: z for z in await backend.poll()}
    assert zones["global"].flags == "global" and zones["cube-ws"].state is DomainState.STOPPED
    # the replay has a recorded export for a zone named example (zones.md §4, the OmniOS sample)
    bindings = await backend.bindings(replace(zones["cube-ws"], name="example"))
    assert [s.title for s in bindings.extra] == ["ZONE", "FS", "NETWORK"]
    assert [(n.source, n.target) for n in bindings.nics] == [("auto", "test0")]
    with pytest.raises(CommandFailed) as gone:
        await backend.bindings(replace(zones["cube-ws"], name="nosuch"))
    assert gone.value.stderr == "nosuch: No such zone configured\n"
    # what the replay has no answer for is missing, not fatal: the host screen says so
    detail = {s.title: s for s in await backend.host_detail()}
    assert [row[0] for row in detail["NOT AVAILABLE"].rows] == [
        "zfs list -H -p -o name,avail,used,mountpoint -t filesystem", "dladm show-link -p -o link,class"]


async def test_a_host_without_zoneadm_is_not_a_global_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           replay_path: str):
    data = tmp_path / "data"
    (data / "zoneadm").mkdir(parents=True)
    (data / "zoneadm" / "list_-p.out").write_text("")
    (data / "zoneadm" / "list_-p.rc").write_text("127\n")
    monkeypatch.setenv("HVDECK_ZONES_REPLAY", str(data))
    spec = HostSpec(name="linux1", address="linux1", transport="local", kind="auto")
    assert not await ZonesBackend.detect(LocalSession("linux1"), spec)
    (data / "zoneadm" / "list_-p.rc").write_text("0\n")
    (data / "zoneadm" / "list_-p.out").write_text("not a zone listing\n")
    assert not await ZonesBackend.detect(LocalSession("linux1"), spec)


async def test_garbage_from_zoneadm_marks_the_host_naming_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   replay_path: str):
    data = tmp_path / "data"
    for folder in ("zoneadm", "uname"):
        (data / folder).mkdir(parents=True)
    (data / "uname" / "-sr.out").write_text("SunOS 5.11\n")
    (data / "zoneadm" / "list_-p.out").write_text("0:global:running:/::ipkg:shared:0\n")
    (data / "zoneadm" / "list_-cp.out").write_text("0:global:running:/::ipkg:shared:0\nbroken line\n")
    monkeypatch.setenv("HVDECK_ZONES_REPLAY", str(data))
    backend = ZonesBackend(HostSpec(name="gz", address="gz", transport="local", kind="zones"), LocalSession("gz"))
    await backend.open()
    with pytest.raises(ParseError, match="zoneadm line 2"):
        await backend.poll()
