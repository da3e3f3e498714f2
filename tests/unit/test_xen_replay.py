"""The replay `xl`, `xm` and `xentop` (tests/fixtures/xen/replay) answer the argv that commands.py builds with
recorded output, byte for byte, and that output parses: the fixtures for `transport: local` backend tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hvdeck.backends.model import DomainState
from hvdeck.backends.xen import commands, parse, xentop
from hvdeck.backends.xen.commands import Toolstack

REPLAY = Path(__file__).resolve().parent.parent / "fixtures" / "xen" / "replay"
DATA = REPLAY / "data"
XL, XM = Toolstack.XL, Toolstack.XM


def _replay(*argv: str, data: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": f"{REPLAY / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    if data is not None:
        env["HVDECK_XEN_REPLAY"] = str(data)
    return subprocess.run(list(argv), env=env, capture_output=True, timeout=10, check=False)


def _file(argv: tuple[str, ...]) -> Path:
    return DATA / argv[0] / ("_".join(argv[1:]).replace("/", "%") + ".out")


ANSWERED = [
    commands.info(XL), commands.list_domains(XL), commands.list_domains(XL, uuids=True), commands.list_long(),
    commands.sched_credit(XL), commands.block_list(XL, "web01"), commands.network_list(XL, "web01"),
    commands.vcpu_list(XL), commands.info(XM), commands.list_domains(XM), commands.sched_credit(XM),
    commands.block_list(XM, "sol1"), commands.network_list(XM, "sol1"), commands.vcpu_list(XM),
    commands.xentop(1), commands.xentop(1, full_names=True), commands.xentop(1, iterations=2),
    commands.xentop(1, iterations=2, full_names=True),
]


@pytest.mark.parametrize("argv", ANSWERED, ids=" ".join)
def test_replay_answers_the_argv_commands_builds_byte_for_byte(argv):
    done = _replay(*argv)
    assert (done.returncode, done.stdout, done.stderr) == (0, _file(argv).read_bytes(), b"")


def test_replay_errors_and_data_directory(tmp_path):
    missing = _replay("xl", "list", "nosuch")
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, b"", b"nosuch is an invalid domain identifier (rc=-6)\n")
    unknown = _replay("xm", "frobnicate", "sol1")
    assert (unknown.returncode, unknown.stdout) == (1, b"")
    assert unknown.stderr == b"xm: no recorded answer for: frobnicate sol1\n"
    (tmp_path / "xl").mkdir()
    (tmp_path / "xl" / "save_web01_%var%lib%xen%web01.chk.out").write_text("")
    (tmp_path / "xl" / "save_web01_%var%lib%xen%web01.chk.rc").write_text("3\n")
    saved = _replay(*commands.save(XL, "web01", "/var/lib/xen/web01.chk"), data=tmp_path)
    assert (saved.returncode, saved.stdout) == (3, b"")
    assert _replay("xl", "info", data=tmp_path).returncode == 1


def test_the_xl_host_is_consistent_across_commands():
    xl = DATA / "xl"
    domains = parse.parse_xl_list((xl / "list.out").read_text(), "x1")
    assert [(d.name, d.id, d.state) for d in domains] == [
        ("Domain-0", 0, DomainState.RUNNING), ("web01", 3, DomainState.RUNNING), ("db01", 4, DomainState.PAUSED)]
    verbose = parse.parse_xl_list((xl / "list_-v.out").read_text(), "x1")
    assert [d.name for d in verbose][:2] == ["Domain-0", "web01"]
    bindings = parse.parse_list_long((xl / "list_-l.out").read_text(), "x1")
    assert {name: b.memory.current_bytes for name, b in bindings.items()} == {
        d.name: d.memory_bytes for d in domains if d.name in bindings}
    assert parse.parse_info((xl / "info.out").read_text()).xen_version == "4.2-unstable"
    assert [row.domain for row in parse.parse_sched_credit((xl / "sched-credit.out").read_text()).domains] == [
        "Domain-0", "web01", "db01"]
    assert [v.vdev for v in parse.parse_block_list((xl / "block-list_web01.out").read_text())] == [
        "xvda", "xvdb", "xvdq"]
    assert len(parse.parse_network_list((xl / "network-list_web01.out").read_text())) == 2
    assert {row.domain for row in parse.parse_vcpu_list((xl / "vcpu-list.out").read_text())} == {
        "Domain-0", "web01", "db01"}
    first, second = xentop.parse_xentop((DATA / "xentop" / "-b_-d_1_-i_2.out").read_text())
    assert {r.name for r in second.rows} == {d.name for d in domains}
    assert {r.name: r.mem_kib * 1024 for r in second.rows} == {d.name: d.memory_bytes for d in domains}


def test_the_xm_host_parses():
    xm = DATA / "xm"
    domains = parse.parse_xm_list((xm / "list.out").read_text(), "x2")
    assert [(d.name, d.id, d.state) for d in domains] == [
        ("Domain-0", 0, DomainState.RUNNING), ("sol1", 7, DomainState.RUNNING), ("winxp", None, DomainState.STOPPED)]
    assert parse.parse_info((xm / "info.out").read_text()).nr_cpus == 96
    table = parse.parse_sched_credit((xm / "sched-credit.out").read_text())
    assert table.of("sol1") is not None and table.of("sol1").weight == 500
    assert parse.parse_block_list((xm / "block-list_sol1.out").read_text())[0].vdev == "xvda"
    assert parse.parse_network_list((xm / "network-list_sol1.out").read_text())[0].mac == "00:16:3e:12:34:56"
    assert {row.domain for row in parse.parse_vcpu_list((xm / "vcpu-list.out").read_text())} == {"Domain-0", "sol1"}


def test_streaming_the_replayed_xentop_line_by_line():
    """As the backend will read it: a process's stdout, one line at a time (LocalSession.stream strips the
    newline, so it is given back)."""
    process = subprocess.Popen(list(commands.xentop(1)), stdout=subprocess.PIPE, text=True,
                               env={"PATH": f"{REPLAY / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"})
    stream = xentop.XentopStream()
    frames = []
    assert process.stdout is not None
    for line in process.stdout:
        frames += stream.feed(line.rstrip("\n") + "\n")
    assert process.wait(timeout=10) == 0
    assert len(frames) == 1  # the second frame is complete only at the end of the stream
    frames += stream.close()
    assert [f.index for f in frames] == [0, 1]
    assert [r.cpu_percent for r in frames[1].rows] == [0.0, 12.5, 0.4]
