"""The state table and the device columns against a real QEMU guest on the shared test bed, through real
OpenSSH. The guest is left as found: running (a pause is undone in ``finally``)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import libvirt

from hvdeck.backends import inventory as inv
from hvdeck.backends.base import Action
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.libvirt.events import ensure_event_loop
from hvdeck.backends.model import DomainState, HostStatus

from .conftest import Testbed


def _restore_running(bed: Testbed) -> None:
    state = bed.virsh("domstate", bed.guest).strip()
    if state == "paused":
        bed.virsh("resume", bed.guest)
    elif state == "shut off":  # never expected: QEMU refuses the shutdown below
        bed.virsh("start", bed.guest)
    deadline = time.monotonic() + 60
    while bed.virsh("domstate", bed.guest).strip() != "running" and time.monotonic() < deadline:
        time.sleep(0.5)


async def test_qemu_refuses_what_the_table_refuses_for_a_paused_guest(testbed: Testbed, tmp_path: Path):
    ensure_event_loop()
    fleet = Fleet(inv.load(testbed.inventory(tmp_path / "hosts.yaml", kind="libvirt")))
    conn = libvirt.open(testbed.uri)
    try:
        snapshot = await fleet.poll_host("bed")
        assert snapshot.status is HostStatus.UP, snapshot.error
        backend = fleet.backend("bed")
        running = next(d for d in snapshot.domains if d.name == testbed.guest)
        assert "already running" in backend.why_not(Action.START, running)
        dom = conn.lookupByName(testbed.guest)
        try:
            dom.create()
            raise AssertionError("QEMU started a running guest")
        except libvirt.libvirtError as exc:
            assert "already running" in exc.get_error_message()

        dom.suspend()
        paused = next(d for d in (await fleet.poll_host("bed")).domains if d.name == testbed.guest)
        assert (paused.state, paused.native_state, dict(paused.extra).get("reason")) == (
            DomainState.PAUSED, "paused", "user")
        assert paused.cpu_percent is None and paused.net_rx_bps is None
        assert [a for a in Action if backend.why_not(a, paused) is None] == [Action.UNPAUSE, Action.FORCE_OFF]
        # qemu_driver.c: shutdown needs RUNNING ("domain is not running")
        try:
            dom.shutdown()
            raise AssertionError("QEMU accepted a shutdown of a paused guest")
        except libvirt.libvirtError as exc:
            assert "not running" in exc.get_error_message()
    finally:
        conn.close()
        _restore_running(testbed)
        await fleet.close()
    assert testbed.virsh("domstate", testbed.guest).strip() == "running"


def _table(text: str) -> list[list[str]]:
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    return [re.split(r"\s{2,}", line.strip()) for line in lines[rule + 1:] if line.strip()]


async def test_real_guest_devices_read_as_virsh_prints_them(testbed: Testbed, tmp_path: Path):
    fleet = Fleet(inv.load(testbed.inventory(tmp_path / "hosts.yaml", kind="libvirt")))
    try:
        snapshot = await fleet.poll_host("bed")
        for name in (testbed.guest, testbed.guest_off):
            domain = next(d for d in snapshot.domains if d.name == name)
            bindings = await fleet.bindings(domain)
            disks = _table(testbed.virsh("domblklist", "--details", f"--domain={name}"))
            assert [[d.source_type, d.device, d.target, d.source or "-"] for d in bindings.disks] == disks
            nics = _table(testbed.virsh("domiflist", f"--domain={name}"))
            assert [[n.target or "-", n.source_type, n.source or "-", n.model or "-", n.mac or "-"]
                    for n in bindings.nics] == nics
    finally:
        await fleet.close()
