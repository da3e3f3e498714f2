"""The libvirt wizards against the test bed's real libvirtd, through its real sshd (the libvirt RPC over the
SSH connection, qemu-img run over it): a guest created in a real storage pool boots the tiny guest's
kernel to its banner on the serial console; a snapshot of it is taken; a clone from that snapshot (the
source running on) and a clone from its current state (shut down for the copy, into a second pool) both
start and boot; the source is reverted to the snapshot, and the snapshot deleted.

The test bed is shared: every guest, volume and pool made here carries a name unique to this run and is
removed at the end, whatever happened; hvtest1 and hvtest2 are only read. The times printed (run with
-s) are what the report quotes; nothing here asserts a speed.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import libvirt
import pytest

from hvdeck.backends import inventory as inv
from hvdeck.backends.audit import AuditLog
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.model import Domain, DomainState
from hvdeck.backends.options import FormErrors

from .conftest import Testbed

BANNER = b"TINYGUEST BOOTED"


@dataclass(frozen=True)
class Bed:
    testbed: Testbed
    tag: str  # the prefix of every name this run makes
    pool: str  # a directory pool the guests' disks go to
    pool2: str  # a second one (a clone's copy goes there)


def _purge(uri: str, tag: str, pools: tuple[str, ...]) -> None:
    """Remove every domain and volume whose name starts with ``tag`` (and its snapshots' metadata)."""
    conn = libvirt.open(uri)
    try:
        for dom in conn.listAllDomains(0):
            if not dom.name().startswith(tag):
                continue
            if dom.isActive():
                dom.destroy()
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        for name in pools:
            try:
                pool = conn.storagePoolLookupByName(name)
            except libvirt.libvirtError:
                continue
            if not pool.isActive():
                continue
            pool.refresh(0)
            for vol in pool.listAllVolumes(0):
                if vol.name().startswith(tag):
                    vol.delete(0)
    finally:
        conn.close()


def _transient_pool(uri: str, name: str, path: Path) -> None:
    path.mkdir(mode=0o755)
    conn = libvirt.open(uri)
    try:
        conn.storagePoolCreateXML(f"<pool type='dir'><name>{name}</name><target><path>{path}</path></target></pool>",
                                  0)
    finally:
        conn.close()


def _drop_pool(uri: str, name: str, path: Path) -> None:
    conn = libvirt.open(uri)
    try:
        conn.storagePoolLookupByName(name).destroy()  # transient: gone once stopped
    except libvirt.libvirtError:
        pass
    finally:
        conn.close()
    if path.is_dir():
        path.rmdir()


@pytest.fixture
def bed(testbed: Testbed) -> Iterator[Bed]:
    tag = f"hvw{os.getpid()}{secrets.token_hex(2)}"
    pool = os.environ.get("HVDECK_TESTBED_POOL", "hvdeck-testbed")
    made: list[tuple[str, Path]] = []
    conn = libvirt.open(testbed.uri)
    try:
        found = conn.storagePoolLookupByName(pool)
        usable = bool(found.isActive())
    except libvirt.libvirtError:
        usable = False
    finally:
        conn.close()
    if not usable:  # a test bed from before pool.sh: a pool of this run's own
        pool = f"{tag}-pool"
        made.append((pool, testbed.root / pool))
    made.append((f"{tag}-pool2", testbed.root / f"{tag}-pool2"))
    for name, path in made:
        _transient_pool(testbed.uri, name, path)
    try:
        yield Bed(testbed, tag, pool, f"{tag}-pool2")
    finally:
        _purge(testbed.uri, tag, (pool, f"{tag}-pool2"))
        for name, path in made:
            _drop_pool(testbed.uri, name, path)


def _read_console(uri: str, name: str, marker: bytes, timeout: float = 90.0) -> bytes:
    """What ``name``'s serial console prints until ``marker`` (or the time runs out), read through
    virDomainOpenConsole on a connection of the test's own (a pty's output is dropped while nobody is
    attached, so this is called as soon as the guest starts)."""
    conn = libvirt.open(uri)
    try:
        dom = conn.lookupByName(name)
        stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        dom.openConsole(None, stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        seen = bytearray()
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            data = stream.recv(4096)
            if data == -2:  # nothing yet
                time.sleep(0.02)
                continue
            if not data:
                break
            seen += data
        try:
            stream.abort()
        except libvirt.libvirtError:
            pass
        return bytes(seen)
    finally:
        conn.close()


async def _console(bed: Bed, name: str) -> bytes:
    import asyncio

    return await asyncio.to_thread(_read_console, bed.testbed.uri, name, BANNER)


async def _domain(fleet: Fleet, name: str) -> Domain:
    return next(d for d in (await fleet.poll_host("bed")).domains if d.name == name)


def _values(form, choices, **texts: str) -> dict:
    return form.with_choices(choices).parse(texts)


async def test_create_boots_the_tiny_guest_and_clones_of_it_start(bed: Bed, tmp_path: Path):
    testbed = bed.testbed
    fleet = Fleet(inv.load(testbed.inventory(tmp_path / "hosts.yaml", kind="libvirt")),
                  audit=AuditLog(tmp_path / "audit.log"))
    guest_dir = testbed.root / "guest"
    name, snap_clone, clone = f"{bed.tag}-new", f"{bed.tag}-snap", f"{bed.tag}-clone"
    times: dict[str, float] = {}
    try:
        assert (await fleet.poll_host("bed")).error is None

        # -- create, from a real pool, booting the tiny guest's kernel ---------------------------------------
        form = fleet.create_form("bed")
        values = _values(form, await fleet.create_choices("bed"), name=name, memory="128M", vcpus="1",
                               disk="16M", pool=bed.pool, network="bridge:hvtb0", boot="kernel",
                               kernel=str(guest_dir / "vmlinuz"), initrd=str(guest_dir / "initrd.img"),
                               cmdline="console=ttyS0 panic=-1 quiet")
        plan = await fleet.plan_create("bed", values)
        assert "TCG" in plan.warning, "KVM is offered on the test bed but cannot run guests: qemu is chosen"
        checks = await fleet.preflight(plan)
        assert [c.ok for c in checks] == [True, True], checks
        started = time.monotonic()
        result = await fleet.run_plan(plan)
        assert result.ok, result.summary()
        times["create: plan run"] = time.monotonic() - started
        console = await _console(bed, name)
        assert BANNER in console, console[-500:]
        times["create: first step to boot banner"] = time.monotonic() - started
        new = await _domain(fleet, name)
        assert (new.state, new.vcpus, new.memory_bytes, new.console) == (DomainState.RUNNING, 1, 128 * 1024**2, "pty")
        assert "<domain type='qemu'" in testbed.virsh("dumpxml", name)
        pool_dir = next(p.path for p in await fleet.storage("bed") if p.name == bed.pool)
        disks = (await fleet.bindings(new)).disks
        assert (disks[0].format, disks[0].source) == ("qcow2", f"{pool_dir}/{name}.qcow2")

        # -- a snapshot of the running guest, then a clone from it while the guest runs on -------------------
        snapshot = await fleet.poll_host("bed")
        create_snap = next(a for a in fleet.extra_actions("bed") if a.id == "snapshot-create")
        taken = await fleet.run_plan(await fleet.plan_extra(create_snap, new, {"name": "s1"}, snapshot))
        assert taken.ok, taken.summary()
        assert [(s.name, s.current) for s in await fleet.snapshots("bed", name)] == [("s1", True)]

        form = fleet.clone_form(new)
        values = _values(form, await fleet.clone_choices(new), name=snap_clone, snapshot="s1", start="yes")
        plan = await fleet.plan_clone(new, values)
        assert [s.operation.call or s.operation.argv[0] for s in plan.steps] == [
            "virStorageVolCreateXML", "qemu-img", "virDomainDefineXML", "virDomainCreate"]
        assert all(c.ok for c in await fleet.preflight(plan))
        started = time.monotonic()
        result = await fleet.run_plan(plan)
        assert result.ok, result.summary()
        console = await _console(bed, snap_clone)
        assert BANNER in console, console[-500:]
        times["clone from snapshot (source running): first step to boot banner"] = time.monotonic() - started
        assert (await _domain(fleet, name)).state is DomainState.RUNNING, "the source ran on"

        # -- a clone from the current state, into the second pool: the source is shut down for the copy --------
        new = await _domain(fleet, name)
        form = fleet.clone_form(new)
        values = _values(form, await fleet.clone_choices(new), name=clone, pool=bed.pool2, start="yes")
        plan = await fleet.plan_clone(new, values)
        assert [s.operation.call for s in plan.steps] == [
            "virDomainShutdown", "virStorageVolCreateXMLFrom", "virDomainCreate", "virDomainDefineXML",
            "virDomainCreate"]
        started = time.monotonic()
        result = await fleet.run_plan(plan)
        assert result.ok, result.summary()
        times["clone from current state (shutdown, copy, restart): plan run to clone running"] = (
            time.monotonic() - started)
        console = await _console(bed, clone)
        assert BANNER in console, console[-500:]
        times["clone from current state: first step to boot banner"] = time.monotonic() - started
        domains = {d.name: d for d in (await fleet.poll_host("bed")).domains}
        assert {domains[n].state for n in (name, snap_clone, clone)} == {DomainState.RUNNING}
        assert len({domains[n].uuid for n in (name, snap_clone, clone)}) == 3
        copy = (await fleet.bindings(domains[clone])).disks[0]
        assert copy.source == str(testbed.root / bed.pool2 / f"{clone}.qcow2")
        macs = {(await fleet.bindings(domains[n])).nics[0].mac for n in (name, snap_clone, clone)}
        assert len(macs) == 3 and all(m.startswith("52:54:00:") for m in macs)

        # -- revert the source to the snapshot, then delete the snapshot -----------------------------------------
        snapshot = await fleet.poll_host("bed")
        source = next(d for d in snapshot.domains if d.name == name)
        revert = await fleet.plan_extra(next(a for a in fleet.extra_actions("bed") if a.id == "snapshot-revert"),
                                        source, {"name": "s1"}, snapshot)
        assert revert.confirm_phrase == name
        result = await fleet.run_plan(revert)
        assert result.ok, result.summary()
        assert testbed.virsh("domstate", name).strip() == "running"
        delete = await fleet.plan_extra(next(a for a in fleet.extra_actions("bed") if a.id == "snapshot-delete"),
                                        source, {"name": "s1"}, snapshot)
        assert (await fleet.run_plan(delete)).ok
        assert await fleet.snapshots("bed", name) == ()
    finally:
        await fleet.close()
        print("\nreal libvirtd timings: " + "; ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    # the test bed's own guests are as they were
    assert testbed.virsh("domstate", testbed.guest).strip() == "running"
    assert testbed.virsh("domstate", testbed.guest_off).strip() == "shut off"


async def test_the_real_host_refuses_a_taken_name_too_much_memory_and_a_disk_larger_than_its_pool(bed: Bed,
                                                                                                    tmp_path: Path):
    testbed = bed.testbed
    fleet = Fleet(inv.load(testbed.inventory(tmp_path / "hosts.yaml", kind="libvirt")))
    try:
        await fleet.poll_host("bed")
        form = fleet.create_form("bed").with_choices(await fleet.create_choices("bed"))
        free = await fleet.resources("bed")
        pool = next(p for p in await fleet.storage("bed") if p.name == bed.pool)
        assert free.memory_bytes and pool.free_bytes
        values = form.parse({"name": testbed.guest, "memory": str(free.memory_bytes + 1024**3), "disk":
                             str(pool.free_bytes + 1024**3), "pool": bed.pool, "network": "network:default"})
        with pytest.raises(FormErrors) as caught:
            await fleet.plan_create("bed", values)
        errors = caught.value.errors
        assert set(errors) == {"name", "memory", "disk", "network"}, errors
        assert f"named {testbed.guest!r}" in errors["name"] and "free in pool" in errors["disk"]
        assert "default is not active" in errors["network"], "the test bed's default network is never started"
    finally:
        await fleet.close()
    assert not [d for d in testbed.virsh("list", "--all", "--name").split() if d.startswith(bed.tag)]
