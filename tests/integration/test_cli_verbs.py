"""`hvdeck show` and `hvdeck plan` on real hosts: libvirt's test driver and a simulated LDoms control domain
over SSH. A plan is printed without --yes and nothing runs; with --yes it runs through the executor and is
audited; a destructive plan also needs --confirm NAME."""

from __future__ import annotations

import json
from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.tui.cli import main

from ..conftest import demo_xml


def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yaml"
    path.write_text(f"hosts:\n  - {{name: kvm-a, transport: local, kind: libvirt, "
                    f"libvirt_uri: 'test://{demo_xml('kvm-a')}'}}\n")
    return path


def test_show_prints_the_domain_screen_and_a_json_shape(tmp_path: Path, capsys):
    inv = inventory(tmp_path)
    assert main(["show", "-i", str(inv), "kvm-a", "web01"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("kvm-a / web01   running") and "DISK" in text and "NETWORK" in text
    assert main(["show", "-i", str(inv), "kvm-a", "web01", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["host"], data["domain"], data["state"]) == ("kvm-a", "web01", "running")
    assert {"cpu", "memory", "disks", "nics", "consoles", "sections"} <= set(data)
    assert main(["show", "-i", str(inv), "kvm-a", "nope"]) == 3
    assert "no domain named 'nope'" in capsys.readouterr().err


def test_plan_prints_and_runs_only_with_yes(tmp_path: Path, capsys):
    inv = inventory(tmp_path)
    log = tmp_path / "audit.log"
    assert main(["plan", "-i", str(inv), "--audit-log", str(log), "kvm-a", "web01", "pause"]) == 0
    out = capsys.readouterr().out
    assert "virDomainSuspend(domain='web01'" in out and "same as: virsh" in out and "--yes" in out
    assert not log.exists(), "without --yes nothing runs and nothing is audited"
    assert main(["plan", "-i", str(inv), "--audit-log", str(log), "kvm-a", "web01", "pause", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "1. ok" in out and "Pause web01 on kvm-a: done" in out
    assert [r["result"] for r in AuditLog(log).records()] == ["started", "ok"]


def test_a_refused_action_and_a_destructive_one(tmp_path: Path, capsys):
    inv = inventory(tmp_path)
    log = tmp_path / "audit.log"
    assert main(["plan", "-i", str(inv), "--audit-log", str(log), "kvm-a", "build01", "pause"]) == 2
    assert "build01 is shut off" in capsys.readouterr().err
    assert main(["plan", "-i", str(inv), "--audit-log", str(log), "kvm-a", "web01", "force-off", "--yes"]) == 2
    assert "--confirm web01" in capsys.readouterr().err
    assert not log.exists()
    assert main(["plan", "-i", str(inv), "--audit-log", str(log), "kvm-a", "web01", "force-off", "--yes",
                 "--confirm", "web01"]) == 0


@pytest.fixture
async def ldoms_inventory(tmp_path: Path, ssh_world):
    from hvdeck.backends.sim.ldoms import LdomsWorld, serve

    server = await serve(LdomsWorld.demo("t7-a", 1), host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    path = tmp_path / "hosts.yaml"
    path.write_text(f"ssh: {{config: {ssh_world.config}, known_hosts: {ssh_world.known_hosts}}}\n"
                    f"hosts:\n  - {{name: t7-a, address: 127.0.0.1, port: {server.port}, user: root, kind: ldoms, "
                    f"identity_file: {ssh_world.key_path}}}\n")
    yield path, server
    await server.close()


async def test_plan_with_parameters_on_ldoms_over_ssh(ldoms_inventory, tmp_path: Path, capsys):
    import asyncio

    path, server = ldoms_inventory
    log = tmp_path / "audit.log"
    args = ["plan", "-i", str(path), "--audit-log", str(log), "t7-a", "ldg-web1", "set-vcpu"]
    assert await asyncio.to_thread(main, args) == 2
    assert "set-vcpu needs count=VALUE" in capsys.readouterr().err
    assert await asyncio.to_thread(main, [*args, "count=abc"]) == 2
    assert "not a whole number" in capsys.readouterr().err
    assert await asyncio.to_thread(main, [*args, "count=2", "--yes"]) == 0
    assert "ldm set-vcpu 2 ldg-web1" in capsys.readouterr().out
    assert any(c == "ldm set-vcpu 2 ldg-web1" for c in server.commands)


def test_plan_start_asks_the_other_hosts_and_refuses_a_guest_running_elsewhere(tmp_path: Path, capsys):
    """kvm-a runs backup01's UUID (a move done by hand): `hvdeck plan kvm-b backup01 start` polls the rest of
    the inventory and refuses; a third host that does not answer is named, and does not stop the check."""
    node = Path(demo_xml("kvm-a")).read_text()
    moved = ("<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>backup01-moved</name>"
             "<uuid>b2000000-0000-4000-8000-000000000005</uuid><memory unit='MiB'>256</memory>"
             "<os><type>hvm</type></os><test:runstate>1</test:runstate></domain>\n</node>")
    (tmp_path / "kvm-a.xml").write_text(node.replace("</node>", moved))
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n"
                    f"  - {{name: kvm-a, transport: local, kind: libvirt, libvirt_uri: 'test://{tmp_path / 'kvm-a.xml'}'}}\n"
                    f"  - {{name: kvm-b, transport: local, kind: libvirt, libvirt_uri: 'test://{demo_xml('kvm-b')}'}}\n"
                    f"  - {{name: gone, transport: local, kind: libvirt, libvirt_uri: 'test://{tmp_path / 'none.xml'}'}}\n")
    assert main(["plan", "-i", str(path), "kvm-b", "backup01", "start"]) == 2
    err = capsys.readouterr().err
    assert "checked 2 other host(s) for this guest running there (1 did not answer)" in err
    assert ("Cannot start backup01: the same guest (UUID b2000000-0000-4000-8000-000000000005) is running on "
            "kvm-a as backup01-moved: starting this copy too would run it twice") in err
    assert main(["plan", "-i", str(path), "kvm-b", "ci-runner", "start"]) == 0, "another guest starts as before"
