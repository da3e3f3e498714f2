"""`hvdeck ls` on names of any script and length, and on names that look like markup or carry controls:
printed literally and aligned by terminal cells, never cut when piped (cut so that none look alike on a
narrow terminal), in a deterministic order, and quiet on a closed pipe."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from hvdeck.backends.model import Domain, DomainState, HostSnapshot, HostStatus
from hvdeck.tui import cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HOSTILE = FIXTURES / "libvirt" / "hostile_names.xml"
LONG_CASE = FIXTURES / "cases" / "libvirt-long-names-truncated" / "node.xml"
CJK_CASE = FIXTURES / "cases" / "libvirt-cjk-name-alignment" / "node.xml"
CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _inventory(tmp_path: Path, *nodes: tuple[str, Path]) -> Path:
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n" + "".join(
        f"  - name: {host}\n    transport: local\n    kind: libvirt\n    libvirt_uri: test://{node}\n"
        for host, node in nodes))
    return path


def _ls(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = cli.main(["ls", *args])
    return status, capsys.readouterr().out


def _starts(line: str, *cells: str) -> list[int]:
    """The terminal cell at which each of ``cells`` (in order) starts in ``line``."""
    out, at = [], 0
    for cell in cells:
        at = line.index(cell, at)
        out.append(cell_len(line[:at]))
        at += len(cell)
    return out


def test_ls_prints_hostile_names_literally_aligned_and_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    status, out = _ls(capsys, "--inventory", str(_inventory(tmp_path, ("h", HOSTILE))))
    assert status == 0
    assert not CONTROLS.findall(out.replace("\n", "")), "no control character reaches the terminal"
    lines = out.splitlines()
    assert lines[0].split() == ["HOST", "NAME", "ID", "STATE", "NATIVE", "VCPU", "MEMORY", "CPU%", "CONS"]
    names = [line[6:].split("  ")[0].rstrip() for line in lines[1:]]
    assert names == sorted(names, key=str.lower)
    for shown in ["[bold]x", "[@click=app.quit]x", "csiM-^[31mred", "rtl<U+202E>exe.txt", "y" * 300, "a[red]z",
                  "tab^Ihere", "x[\\]", "虚拟机-CentOS", "e\u0301cole", "🐧penguin"]:
        assert any(line.startswith(f"h     {shown}  ") for line in lines), shown
    # every row's STATE starts at the same terminal cell as the header's, the 300-character name and the
    # CJK one included
    header_state = _starts(lines[0], "STATE")[0]
    assert all(_starts(line, "  running")[0] + 2 == header_state for line in lines[1:]), out
    assert all(not line.endswith(" ") for line in lines)


def test_ls_never_cuts_when_piped_and_orders_rows_like_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = _inventory(tmp_path, ("kvm-long", LONG_CASE), ("kvm-uni", CJK_CASE))
    outs = [_ls(capsys, "--inventory", str(path))[1] for _ in range(3)]
    runs = [[line.split()[:2] for line in out.splitlines()[1:]] for out in outs]  # CPU% differs by run
    assert runs[0] == runs[1] == runs[2], "the same rows in the same order on every run"
    rows = runs[0]
    assert rows == [["kvm-long", "k8s-prod-euw1-worker-pool-general-a-01"],
                    ["kvm-long", "k8s-prod-euw1-worker-pool-general-a-02"],
                    ["kvm-uni", "app-" + "x" * 196], ["kvm-uni", "kīмсhī-∨м"], ["kvm-uni", "web"],
                    ["kvm-uni", "虚拟机-CentOS"]]
    data = json.loads(_ls(capsys, "--json", "--inventory", str(path))[1])
    assert [[h["name"], d["name"]] for h in data["hosts"] for d in h["domains"]] == [
        [host, name if name != "web" else "web 01 $(id)'x"] for host, name in rows]


def test_ls_json_escapes_controls_and_keeps_names_exact(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    status, out = _ls(capsys, "--json", "--inventory", str(_inventory(tmp_path, ("h", HOSTILE))))
    assert status == 0 and not CONTROLS.findall(out.replace("\n", "")) and out.isascii()
    names = {d["name"] for d in json.loads(out)["hosts"][0]["domains"]}
    assert {"csi\x9b31mred", "rtl\u202eexe.txt", "tab\there", "[@click=app.quit]x", "y" * 300} <= names


def _snapshots() -> list[HostSnapshot]:
    domains = (Domain(host="h", name="osc\x1b]52;c;ZWNobw==\x07", state=DomainState.RUNNING, native_state="[/]run",
                      console="\x1b[31mpty"),
               Domain(host="h", name="x[/]", state=DomainState.CRASHED, native_state="crashed\x9b"))
    return [HostSnapshot(host="h", kind="libvirt", status=HostStatus.UP, taken_at=0.0, domains=domains),
            HostSnapshot(host="bad[/]", kind="ldoms", status=HostStatus.ERROR, taken_at=0.0,
                         error="Failed to open [/dev/zvol/dsk/pool/vol]\x1b]0;t\x07")]


def test_ls_table_shows_escape_sequences_as_text():
    out = io.StringIO()
    cli.print_table(_snapshots(), out)
    assert out.getvalue() == (
        "HOST  NAME                   ID  STATE    NATIVE       VCPU  MEMORY  CPU%  CONS\n"
        "h     osc^[]52;c;ZWNobw==^G   -  running  [/]run          -       -     -  ^[[31mpty\n"
        "h     x[/]                    -  crashed  crashedM-^[     -       -     -  -\n"
        "bad[/]: error: Failed to open [/dev/zvol/dsk/pool/vol]^[]0;t^G\n")


def test_ls_on_a_terminal_colours_states_and_still_sends_no_host_controls():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    cli.print_table(_snapshots(), out, width=200)
    text = out.getvalue()
    own = re.compile(r"\x1b\[[0-9;]*m")
    assert own.search(text), "a terminal gets colours"
    assert not CONTROLS.findall(own.sub("", text).replace("\n", ""))
    plain = own.sub("", text)
    assert "osc^[]52;c;ZWNobw==^G" in plain and "x[/]" in plain and "[/dev/zvol/dsk/pool/vol]^[]0;t^G" in plain


def test_ls_on_a_narrow_terminal_cuts_long_names_so_that_none_look_alike():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    names = ["k8s-prod-euw1-worker-pool-general-a-01", "k8s-prod-euw1-worker-pool-general-a-02", "y" * 300, "web01"]
    snapshot = HostSnapshot(host="kvm-long", kind="libvirt", status=HostStatus.UP, taken_at=0.0, domains=tuple(
        Domain(host="kvm-long", name=n, state=DomainState.RUNNING, native_state="running") for n in names))
    out = Terminal()
    cli.print_table([snapshot], out, width=80)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()
    assert all(cell_len(line) <= 80 for line in lines), lines
    shown = [line.split()[1] for line in lines[1:]]
    assert shown == ["k8s-prod-eu…neral-a-01", "k8s-prod-eu…neral-a-02", "web01", "yyyyyyyyyyy…yyyyyyyyyy"]
    assert cell_len(lines[0]) == 80


def test_ls_ends_quietly_on_a_closed_pipe(tmp_path: Path):
    """`hvdeck ls | head -1`: the reader went away; no traceback, the status a shell gives for SIGPIPE."""
    path = _inventory(tmp_path, ("h", HOSTILE))
    process = subprocess.Popen([sys.executable, "-m", "hvdeck.tui.cli", "ls", "--inventory", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before hvdeck writes a byte
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == cli.EXIT_BROKEN_PIPE == 141
    assert stderr == ""


def test_the_json_document_is_json_dump_s_own_one_domain_per_line():
    """`write_fleet_json` writes what `json.dump` would (the same document, the same escapes), with one
    domain per line; an empty host list and a host without domains too."""
    import io

    from hvdeck.tui.cli import write_fleet_json

    hostile = {"name": "x[/]\x1b]52;c;Zm9v\x07\u2028é", "id": None, "vcpus": 2, "flags": ["a", "b"]}
    docs = [{"hosts": []},
            {"hosts": [{"name": "h1", "kind": "ldoms", "status": "up", "error": None, "domains": [hostile, {"n": 1}]},
                       {"name": "h2", "kind": "xen", "status": "error", "error": "garbage \x9b", "domains": []}]}]
    for doc in docs:
        out = io.StringIO()
        write_fleet_json(doc, out)
        text = out.getvalue()
        assert json.loads(text) == doc
        assert text.isascii() and "\x1b" not in text and "\x9b" not in text
    lines = [ln.strip() for ln in text.splitlines()]
    assert json.dumps(hostile) + "," in lines and json.dumps({"n": 1}) in lines  # one domain per line
    assert lines[-1] == "}" and text.endswith("\n")


def test_ls_native_shows_the_flags_as_the_table_does():
    """LDoms' `-t----` is why an active domain's state reads transition: `ls` shows it beside the word."""
    from hvdeck.tui.cli import ls_rows

    snapshot = HostSnapshot(host="cd", kind="ldoms", status=HostStatus.UP, taken_at=1.0, domains=(
        Domain(host="cd", name="ldg1", state=DomainState.TRANSITION, native_state="active", flags="-t----"),
        Domain(host="cd", name="ldg2", state=DomainState.STOPPED, native_state="inactive")))
    natives = {row[1]: row[4] for row in ls_rows([snapshot])}
    assert natives == {"ldg1": "active -t----", "ldg2": "inactive"}
