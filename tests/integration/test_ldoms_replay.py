"""The LDoms backend on `transport: local` against recorded real `ldm` output replayed by a script in
PATH (tests/fixtures/ldm/replay): how the backend is checked against captures from real control domains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hvdeck.backends.inventory import HostSpec
from hvdeck.backends.ldoms.backend import LdomsBackend
from hvdeck.backends.model import DomainState
from hvdeck.backends.transport.local import LocalSession

REPLAY = Path(__file__).resolve().parent.parent / "fixtures" / "ldm" / "replay"


@pytest.fixture
def replay_path(monkeypatch: pytest.MonkeyPatch) -> str:
    path = f"{REPLAY / 'bin'}{os.pathsep}{os.environ['PATH']}"
    monkeypatch.setenv("PATH", path)
    return path


def test_hvdeck_ls_json_on_a_replayed_control_domain(tmp_path: Path, replay_path: str):
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text("hosts:\n  - name: cdom1\n    transport: local\n    kind: ldoms\n")
    done = subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", "ls", "--json", "--inventory", str(inventory)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": replay_path})
    assert done.returncode == 0, done.stderr
    (host,) = json.loads(done.stdout)["hosts"]
    assert (host["name"], host["kind"], host["status"], host["error"]) == ("cdom1", "ldoms", "up", None)
    # shared formats ldm.md §3.2: the VERBATIM OVM 3.x capture (ls lists each host's domains by name)
    assert host["domains"] == [
        {"name": "host1", "id": None, "state": "running", "native_state": "active", "vcpus": 1,
         "memory_bytes": 47272862140, "cpu_percent": 1.4, "uptime_s": 173837, "console": "5000", "flags": "-n----"},
        {"name": "host2", "id": None, "state": "running", "native_state": "active", "vcpus": 16,
         "memory_bytes": 47272862140, "cpu_percent": 1.4, "uptime_s": 1846649, "console": "5001", "flags": "-n----"},
        {"name": "host3", "id": None, "state": "running", "native_state": "active", "vcpus": 16,
         "memory_bytes": 47272862140, "cpu_percent": 1.2, "uptime_s": 1847005, "console": "5002", "flags": "-n----"},
        {"name": "primary", "id": None, "state": "running", "native_state": "active", "vcpus": 5,
         "memory_bytes": 47272862140, "cpu_percent": 0.4, "uptime_s": 4772570, "console": "UART", "flags": "-n-cv-"},
    ]


async def test_probe_bindings_and_host_detail_from_replayed_output(replay_path: str):
    spec = HostSpec(name="cdom1", address="cdom1", transport="local", kind="ldoms")
    session = LocalSession("cdom1")
    assert await LdomsBackend.detect(session, spec)
    backend = LdomsBackend(spec, session)
    info = await backend.open()
    assert (info.kind, info.hypervisor, info.version, info.notes) == ("ldoms", "LDoms", "1.2", ())
    domains = {d.name: d for d in await backend.poll()}
    assert domains["primary"].flags == "-n-cv-"
    assert domains["primary"].state is DomainState.RUNNING
    detail = {s.title: s for s in await backend.host_detail()}
    # the replayed list-bindings -p (RECONSTRUCTED §3.5) names ldg1's vdisk on ldg1-boot@primary-vds0
    vds = detail["VDS"]
    assert vds.columns[-1] == "USED BY"
    assert (vds.rows[0][vds.columns.index("VOLUME")], vds.rows[0][-1]) == ("ldg1-boot", "ldg1/vdisk0")
    assert detail["VCC"].rows[0][:3] == ("primary-vcc0", "primary", "5000-5100")
    assert "FREE" in detail and "MEMORY" in detail
    assert "NOT AVAILABLE" not in detail


async def test_a_missing_secondary_command_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                replay_path: str):
    data = tmp_path / "data"
    data.mkdir()
    (data / "list_-p.out").write_text((REPLAY / "data" / "list_-p.out").read_text())  # only `ldm list -p`
    monkeypatch.setenv("HVDECK_LDM_REPLAY", str(data))
    spec = HostSpec(name="old", address="old", transport="local", kind="ldoms")
    backend = LdomsBackend(spec, LocalSession("old"))
    info = await backend.open()
    assert info.version == "" and info.notes and "ldm -V failed" in info.notes[0]
    assert len(await backend.poll()) == 4, "the table depends on ldm list -p alone"
    detail = {s.title: s for s in await backend.host_detail()}
    missing = detail["NOT AVAILABLE"].rows
    assert [row[0] for row in missing] == ["ldm list-services -p", "ldm list-devices -a -p"]
    assert "Invalid command" in missing[0][1]


async def test_bindings_fall_back_to_list_l_p_where_list_bindings_is_missing(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch,
                                                                             replay_path: str):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("list_-p.out", "-V.out"):
        (data / name).write_text((REPLAY / "data" / name).read_text())
    # an older release: no list-bindings, but `ldm list -l -p DOMAIN` prints the same sections (ldm.md §3.3)
    (data / "list_-l_-p_ldg1.out").write_text((REPLAY / "data" / "list-bindings_-p.out").read_text())
    monkeypatch.setenv("HVDECK_LDM_REPLAY", str(data))
    backend = LdomsBackend(HostSpec(name="c", address="c", transport="local", kind="ldoms"), LocalSession("c"))
    await backend.open()
    domain = next(iter(await backend.poll()))
    bindings = await backend.bindings(domain.__class__(**{**{f: getattr(domain, f) for f in domain.__slots__},
                                                        "name": "ldg1"}))
    assert [d.source for d in bindings.disks] == ["ldg1-boot@primary-vds0"]


def test_console_is_vntsd_on_the_control_domain():
    from hvdeck.backends.ldoms.commands import console_command
    from hvdeck.backends.model import Domain

    guest = Domain(host="t7", name="ldg1", state=DomainState.RUNNING, native_state="active", console="5000")
    control = Domain(host="t7", name="primary", state=DomainState.RUNNING, native_state="active", console="UART")
    assert console_command(guest) == ("telnet", "localhost", "5000")
    assert console_command(control) is None
