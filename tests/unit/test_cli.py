"""The `hvdeck` command: `ls` (table and the documented JSON shape), inventory errors, audit, trust."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.tui import cli

from ..conftest import demo_xml, echo_handler

DOMAIN_KEYS = ["name", "id", "state", "native_state", "vcpus", "memory_bytes", "cpu_percent", "uptime_s", "console",
               "flags"]


def _inventory(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "hosts.yaml"
    path.write_text(f"""hosts:
  - name: kvm-a
    transport: local
    kind: libvirt
    libvirt_uri: test://{demo_xml('kvm-a')}
{extra}""")
    return path


def test_ls_json_has_exactly_the_documented_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert cli.main(["ls", "--json", "--inventory", str(_inventory(tmp_path))]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["hosts"]
    (host,) = data["hosts"]
    assert list(host) == ["name", "kind", "status", "error", "domains"]
    assert (host["name"], host["kind"], host["status"], host["error"]) == ("kvm-a", "libvirt", "up", None)
    by_name = {d["name"]: d for d in host["domains"]}
    assert all(list(d) == DOMAIN_KEYS for d in host["domains"])
    assert by_name["db01"] == {**by_name["db01"], "id": 3, "state": "running", "native_state": "running",
                               "vcpus": 8, "memory_bytes": 16 * 1024**3, "uptime_s": None, "console": "pty"}
    assert isinstance(by_name["db01"]["cpu_percent"], float)
    assert by_name["build01"]["state"] == "stopped" and by_name["build01"]["native_state"] == "shut off"
    assert by_name["build01"]["id"] is None and by_name["build01"]["cpu_percent"] is None
    assert by_name["legacy-app"]["state"] == "crashed" and by_name["cache01"]["state"] == "paused"


def test_ls_marks_a_bad_host_and_still_prints_the_others(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = _inventory(tmp_path, "  - name: gone\n    transport: local\n    kind: libvirt\n"
                                "    libvirt_uri: test:///nonexistent/node.xml\n")
    assert cli.main(["ls", "--json", "--inventory", str(path)]) == 1
    hosts = {h["name"]: h for h in json.loads(capsys.readouterr().out)["hosts"]}
    assert hosts["kvm-a"]["status"] == "up" and len(hosts["kvm-a"]["domains"]) == 6
    assert hosts["gone"]["status"] == "down" and hosts["gone"]["domains"] == []
    assert "nonexistent" in hosts["gone"]["error"]
    # the table form says the same in words
    assert cli.main(["ls", "--inventory", str(path)]) == 1
    out = capsys.readouterr().out
    assert "legacy-app" in out and "gone: down" in out


def test_ls_selected_hosts_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = _inventory(tmp_path, "  - name: other\n    transport: local\n    libvirt_uri: test:///x.xml\n")
    assert cli.main(["ls", "--json", "--inventory", str(path), "kvm-a"]) == 0
    assert [h["name"] for h in json.loads(capsys.readouterr().out)["hosts"]] == ["kvm-a"]
    assert cli.main(["ls", "--inventory", str(path), "nope"]) == 2
    assert "no host named 'nope'" in capsys.readouterr().err


def test_broken_inventory_stops_everything_with_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n  - name: a\n    kind: xen\n    colour: red\n")
    for argv in (["--inventory", str(path)], ["ls", "--inventory", str(path)]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.strip() == f"hvdeck: {path}:4: unknown key 'colour' in host 'a' (known: address, " \
                              "identity_file, kind, libvirt_socket, libvirt_uri, name, poll_interval, port, " \
                              "read_only, tags, transport, user)"


def test_audit_verify_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    log = AuditLog(tmp_path / "audit.log")
    log.append(host="h", action="start", target="d", operation="virsh start d", result="ok")
    assert cli.main(["audit", "verify", "--audit-log", str(log.path)]) == 0
    assert "1 records, chain intact" in capsys.readouterr().out
    assert cli.main(["audit", "show", "--audit-log", str(log.path)]) == 0
    assert "start d: virsh start d -> ok" in capsys.readouterr().out
    log.path.write_text(log.path.read_text().replace('"ok"', '"fine"'))
    assert cli.main(["audit", "verify", "--audit-log", str(log.path)]) == 1
    assert "line 1: edited after it was written" in capsys.readouterr().err


async def test_trust_checks_the_fingerprint_before_writing(ssh_server, ssh_world, tmp_path: Path):
    server = await ssh_server(echo_handler())
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(f"""ssh:
  config: {ssh_world.config}
  known_hosts: {ssh_world.known_hosts}
hosts:
  - name: lab1
    address: 127.0.0.1
    port: {server.port}
    user: root
    identity_file: {ssh_world.key_path}
""")

    async def hvdeck(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "hvdeck.tui.cli", *args,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                    stdin=asyncio.subprocess.DEVNULL)
        out, err = await proc.communicate()
        return proc.returncode, out.decode(), err.decode()

    code, out, err = await hvdeck("trust", "lab1", "--inventory", str(inventory))
    assert code == 2 and "pass --fingerprint" in err and server.fingerprint in out
    code, out, err = await hvdeck("trust", "lab1", "--inventory", str(inventory), "--fingerprint", "SHA256:wrong")
    assert code == 1 and "fingerprint mismatch" in err
    assert ssh_world.known_hosts.read_text() == ""
    code, out, err = await hvdeck("trust", "lab1", "--inventory", str(inventory), "--fingerprint",
                                  server.fingerprint)
    assert code == 0, err
    assert ssh_world.known_hosts.read_text() == server.known_hosts_line()
    code, out, _ = await hvdeck("trust", "lab1", "--inventory", str(inventory))
    assert code == 0 and "already trusted" in out
