"""The replay `zoneadm`, `zonecfg` and `uname` of tests/fixtures/zones/replay answer recorded output by argv,
and what they answer parses: the fixtures a `transport: local` zones host is tested against."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hvdeck.backends.model import DomainState
from hvdeck.backends.zones import commands, parse
from hvdeck.backends.zones.parse import Layout

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zones"
REPLAY = FIXTURES / "replay"
DATA = REPLAY / "data"


def _run(argv: tuple[str, ...], data: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": f"{REPLAY / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    if data is not None:
        env["HVDECK_ZONES_REPLAY"] = str(data)
    return subprocess.run(list(argv), env=env, capture_output=True, timeout=10, check=False)


@pytest.mark.parametrize(("argv", "recorded"), [
    (commands.UNAME, "illumos/uname/-sr.out"),
    (commands.LIST, "illumos/zoneadm/list_-cp.out"),
    (commands.LIST_VERBOSE, "illumos/zoneadm/list_-cv.out"),
    (commands.export("example"), "illumos/zonecfg/-z_example_export.out"),
])
def test_the_default_data_set_answers_by_argv(argv, recorded):
    done = _run(argv)
    assert (done.returncode, done.stdout, done.stderr) == (0, (DATA / recorded).read_bytes(), b"")


def test_a_recorded_failure_gives_its_stderr_and_status():
    done = _run(commands.export("nosuch"))
    assert (done.returncode, done.stdout, done.stderr) == (1, b"", b"nosuch: No such zone configured\n")


def test_an_argv_without_a_recording_exits_2_and_says_so():
    done = _run(commands.boot("cube-ws"))
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr == b"zoneadm: no recorded answer for: -z cube-ws boot\n"


def test_another_data_set_and_slashes_in_arguments(tmp_path: Path):
    done = _run(commands.export("web"), data=DATA / "solaris11")
    assert done.stdout == (DATA / "solaris11" / "zonecfg" / "-z_web_export.out").read_bytes()
    (tmp_path / "zoneadm").mkdir()
    (tmp_path / "zoneadm" / "-z_web_move_%zones2%web.out").write_text("")
    (tmp_path / "zoneadm" / "-z_web_move_%zones2%web.rc").write_text("0\n")
    assert _run(commands.move("web", "/zones2/web"), data=tmp_path).returncode == 0


def test_the_illumos_data_set_parses_as_one_host():
    uname = parse.parse_uname((DATA / "illumos" / "uname" / "-sr.out").read_text())
    listing = (DATA / "illumos" / "zoneadm" / "list_-cp.out").read_text()
    assert parse.detect_layout(listing) in uname.layouts
    zones = parse.parse_list_p(listing, "omnios")
    verbose = parse.parse_list_v((DATA / "illumos" / "zoneadm" / "list_-cv.out").read_text(), "omnios")
    # -cv shows the same zones, without the uuid and debugid -p adds
    assert [(z.name, z.id, z.state, z.native_state) for z in verbose] == [
        (z.name, z.id, z.state, z.native_state) for z in zones]
    assert [dict(z.extra)["zonepath"] for z in verbose] == [dict(z.extra)["zonepath"] for z in zones]
    assert [z.state for z in zones] == [DomainState.RUNNING, DomainState.RUNNING, DomainState.STOPPED]
    bindings = parse.parse_export((DATA / "illumos" / "zonecfg" / "-z_example_export.out").read_text(), "omnios",
                                  "example")
    assert [s.title for s in bindings.extra] == ["ZONE", "FS", "NETWORK"]


def test_the_solaris11_data_set_parses_as_one_host():
    uname = parse.parse_uname((DATA / "solaris11" / "uname" / "-sr.out").read_text())
    listing = (DATA / "solaris11" / "zoneadm" / "list_-cp.out").read_text()
    assert parse.detect_layout(listing) is Layout.SOLARIS11 and Layout.SOLARIS11 in uname.layouts
    assert [z.name for z in parse.parse_list_p(listing, "s11")] == ["global", "testzone2", "testzone1", "testzone"]


def test_every_fixture_and_data_file_is_described_in_the_readme():
    readme = (FIXTURES / "README.md").read_text()
    names = [p.name for p in FIXTURES.glob("*.txt")]
    names += [str(p.relative_to(d)) for d in DATA.iterdir() for p in d.rglob("*") if p.is_file()]
    assert names and [name for name in names if f"`{name}`" not in readme and
                      f"`{name.rsplit('.', 1)[0]}.out`" not in readme] == []


def test_replay_commands_are_executable_scripts():
    for command in ("zoneadm", "zonecfg", "uname"):
        script = REPLAY / "bin" / command
        assert os.access(script, os.X_OK) and script.read_text().startswith("#!/bin/sh\n")
