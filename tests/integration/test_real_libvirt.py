"""hvdeck against a real libvirtd running a real QEMU guest, through a real OpenSSH sshd.

The libvirt RPC goes through the SSH connection (a forwarded unix socket), exactly as it would to a
remote KVM host. These tests run in CI (scripts/test.sh brings the bed up) and never skip there.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from hvdeck.backends import inventory as inv
from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.model import DomainState, HostStatus
from hvdeck.backends.plan import Executor

from .conftest import Testbed


def _virsh_list(bed: Testbed) -> dict[str, tuple[str, str]]:
    """`virsh list --all` as {name: (id, state)}; the vshTable layout of shared formats libvirt §2.1."""
    rows = {}
    for line in bed.virsh("list", "--all").splitlines()[2:]:
        if line.strip():
            dom_id, name, state = line.split(None, 2)
            rows[name] = (dom_id, state.strip())
    return rows


def _hvdeck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_ls_json_over_ssh_matches_virsh(testbed: Testbed, tmp_path: Path):
    inventory = testbed.inventory(tmp_path / "hosts.yaml")
    done = _hvdeck("ls", "--json", "--inventory", str(inventory))
    assert done.returncode == 0, done.stderr
    (host,) = json.loads(done.stdout)["hosts"]
    assert (host["name"], host["kind"], host["status"], host["error"]) == ("bed", "libvirt", "up", None)
    listed = {d["name"]: ("-" if d["id"] is None else str(d["id"]), d["native_state"]) for d in host["domains"]}
    assert listed == _virsh_list(testbed)
    guest = next(d for d in host["domains"] if d["name"] == testbed.guest)
    assert guest["state"] == "running" and guest["console"] == "pty"
    assert guest["vcpus"] == 1 and guest["memory_bytes"] == 128 * 1024**2
    assert guest["cpu_percent"] is not None and 0.0 <= guest["cpu_percent"] <= 100.0
    assert guest["uptime_s"] is None, "libvirt does not report uptime; hvdeck does not make one up"
    off = next(d for d in host["domains"] if d["name"] == testbed.guest_off)
    assert (off["state"], off["id"], off["cpu_percent"]) == ("stopped", None, None)


def test_unknown_host_key_on_real_sshd_fails_the_host_with_its_fingerprint(testbed: Testbed, tmp_path: Path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    inventory = testbed.inventory(tmp_path / "hosts.yaml", known_hosts=empty)
    done = _hvdeck("ls", "--json", "--inventory", str(inventory))
    assert done.returncode == 1
    (host,) = json.loads(done.stdout)["hosts"]
    expected = subprocess.run(["ssh-keygen", "-lf", str(testbed.root / "sshd/ssh_host_ed25519_key.pub")],
                              capture_output=True, text=True, check=True).stdout.split()[1]
    assert host["status"] == "error" and expected in host["error"] and host["domains"] == []
    assert "hvdeck trust bed" in host["error"]
    assert empty.read_text() == ""


async def test_lifecycle_through_the_tunnel_and_events_from_outside(testbed: Testbed, tmp_path: Path):
    inventory = inv.load(testbed.inventory(tmp_path / "hosts.yaml", kind="libvirt"))
    fleet = Fleet(inventory)
    audit = AuditLog(tmp_path / "audit.log")
    executor = Executor(fleet.target, audit)
    snapshot = await fleet.poll_host("bed")
    assert snapshot.status is HostStatus.UP, snapshot.error
    backend = fleet.backend("bed")
    changed = asyncio.Event()
    backend.on_change = changed.set
    try:
        guest = next(d for d in snapshot.domains if d.name == testbed.guest)
        result = await executor.run(backend.plan_action(Action.PAUSE, guest))
        assert result.ok, result.summary()
        assert testbed.virsh("domstate", testbed.guest).strip() == "paused"
        changed.clear()
        # a change made outside hvdeck arrives as a lifecycle event over the tunnel
        await asyncio.to_thread(testbed.virsh, "resume", testbed.guest)
        await asyncio.wait_for(changed.wait(), 10)
        guest = next(d for d in (await fleet.poll_host("bed")).domains if d.name == testbed.guest)
        assert guest.state is DomainState.RUNNING
        bindings = await fleet.bindings(guest)
        assert [d.source for d in bindings.disks] == [str(testbed.root / "disks" / f"{testbed.guest}.img")]
        assert [n.source for n in bindings.nics] == ["hvtb0"]
        assert bindings.consoles and bindings.consoles[0].path.startswith("/dev/pts/")
    finally:
        if testbed.virsh("domstate", testbed.guest).strip() == "paused":
            testbed.virsh("resume", testbed.guest)
        await fleet.close()
    assert [(r["operation"].split("(")[0], r["result"]) for r in audit.records()] == [
        ("virDomainSuspend", "started"), ("virDomainSuspend", "ok")]


async def test_read_only_host_refuses_and_opens_libvirt_read_only(testbed: Testbed, tmp_path: Path):
    inventory = inv.load(testbed.inventory(tmp_path / "hosts.yaml", kind="libvirt", read_only=True))
    fleet = Fleet(inventory)
    audit = AuditLog(tmp_path / "audit.log")
    try:
        snapshot = await fleet.poll_host("bed")
        assert snapshot.status is HostStatus.UP and snapshot.read_only
        guest = next(d for d in snapshot.domains if d.name == testbed.guest)
        plan = fleet.backend("bed").plan_action(Action.PAUSE, guest)
        result = await Executor(fleet.target, audit).run(plan)
        assert result.refused and not result.ok
        assert testbed.virsh("domstate", testbed.guest).strip() == "running"
        # and even a step that slipped past the executor is refused by libvirt itself
        outcome = await fleet.backend("bed").execute(plan.steps[0].operation)
        assert outcome.exit_status == 1 and "read only" in outcome.stderr.lower()
        assert testbed.virsh("domstate", testbed.guest).strip() == "running"
    finally:
        await fleet.close()
    assert [r["result"] for r in audit.records()] == ["refused: read-only"]


async def test_console_domain_screen_shows_the_real_guests_disk_interface_and_serial(testbed: Testbed,
                                                                                    tmp_path: Path):
    from hvdeck.tui.screens.domain import DomainScreen
    from hvdeck.widgets.bindings_view import BindingsView

    from ..ui.helpers import highlight, make_app, plain, table, wait_for

    inventory = inv.load(testbed.inventory(tmp_path / "hosts.yaml"))
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: table(app).total_count == len(_virsh_list(testbed)), timeout=30)
        await highlight(pilot, testbed.guest)
        await pilot.press("enter")
        view = app.screen.query_one(BindingsView)
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen) and bool(view.query("#section-disk")),
                       timeout=30)
        disk = plain(view.query_one("#section-disk"))
        assert f"{testbed.root}/disks/{testbed.guest}.img" in disk and "vda" in disk and "virtio" in disk
        network = plain(view.query_one("#section-network"))
        assert "52:54:00:7e:57:01" in network and "hvtb0" in network and "bridge" in network
        console = plain(view.query_one("#section-console"))
        assert "serial" in console and "pty" in console and "/dev/pts/" in console
        assert "running" in plain(app.screen.query_one("#domain-title"))
