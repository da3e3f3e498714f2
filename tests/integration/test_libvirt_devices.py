"""Disks and interfaces read as the real `virsh domblklist --details` and `virsh domiflist` print them,
on the test driver, for every disk type and interface type (and the case libvirt-nvme-disk-source)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hvdeck.backends.inventory import HostSpec
from hvdeck.backends.libvirt.backend import LibvirtBackend
from hvdeck.backends.model import Bindings
from hvdeck.backends.transport.local import LocalSession

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EVERY_DEVICE = FIXTURES / "libvirt" / "every_device_node.xml"
NVME = FIXTURES / "cases" / "libvirt-nvme-disk-source"

pytestmark = pytest.mark.skipif(shutil.which("virsh") is None, reason="virsh is not installed")


def _virsh_table(uri: str, *args: str) -> list[list[str]]:
    """Rows of a virsh vshTable (shared formats libvirt §2.1): after the dash rule, cells 3+ spaces apart."""
    out = subprocess.run(["virsh", "-c", uri, *args], capture_output=True, text=True, timeout=60, check=True).stdout
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    return [re.split(r"\s{2,}", line.strip()) for line in lines[rule + 1:] if line.strip()]


async def _bindings(uri: str, name: str) -> Bindings:
    spec = HostSpec(name="t", address="t", transport="local", kind="libvirt", libvirt_uri=uri)
    backend = LibvirtBackend(spec, LocalSession("t"))
    await backend.open()
    try:
        domain = next(d for d in await backend.poll() if d.name == name)
        return await backend.bindings(domain)
    finally:
        await backend.close()


async def test_every_disk_type_as_virsh_domblklist_details():
    uri = f"test://{EVERY_DEVICE}"
    bindings = await _bindings(uri, "d")
    virsh = _virsh_table(uri, "domblklist", "--details", "--domain=d")
    assert len(virsh) == len(bindings.disks) == 11
    for (kind, device, target, source), disk in zip(virsh, bindings.disks, strict=True):
        assert (disk.source_type, disk.device, disk.target) == (kind, device, target)
        shown = disk.source or "-"
        if kind == "volume":  # hvdeck names the pool as well: POOL/VOLUME
            assert shown == f"images/{source}"
        elif kind == "network":  # and the protocol and every host: PROTOCOL://HOSTS/NAME
            assert shown.endswith(source) and "://" in shown, (shown, source)
        else:
            assert shown == source, kind
    by_target = {d.target: d.source for d in bindings.disks}
    assert by_target["vde"] == "rbd://mon1.example:6789,mon2.example:6789,[2001:db8::3]:6789/rbdpool/d-img"
    assert by_target["sda"] == "https://mirror.example:443/isos/debian.iso"
    assert by_target["vdf"] == "nbd://unix:/run/nbd.sock/export1"
    assert by_target["vdh"] == "nvme://0000:01:00.0/1"
    assert by_target["sdb"] is None  # an empty CD-ROM: virsh prints "-"


async def test_every_interface_type_as_virsh_domiflist():
    uri = f"test://{EVERY_DEVICE}"
    bindings = await _bindings(uri, "d")
    virsh = _virsh_table(uri, "domiflist", "--domain=d")
    assert len(virsh) == len(bindings.nics) == 10
    for row, nic in zip(virsh, bindings.nics, strict=True):
        assert [nic.target or "-", nic.source_type, nic.source or "-", nic.model or "-", nic.mac or "-"] == row


async def test_case_nvme_disk_source_reads_as_virsh_does(tmp_path: Path):
    uri = f"test://{NVME / 'node.xml'}"
    bindings = await _bindings(uri, "nvme-guest")
    (disk,) = bindings.disks
    assert (disk.source_type, disk.target, disk.source) == ("nvme", "vdc", "nvme://0000:01:00.0/1")
    assert _virsh_table(uri, "domblklist", "--details", "--domain=nvme-guest") == [
        ["nvme", "disk", "vdc", "nvme://0000:01:00.0/1"]]
    # and `hvdeck ls` on the case's own inventory lists the guest with its host up
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text((NVME / "inventory.yaml").read_text().replace("CASEDIR", str(NVME)))
    done = subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", "ls", "--json", "--inventory", str(inventory)],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    (host,) = json.loads(done.stdout)["hosts"]
    assert (host["status"], [d["name"] for d in host["domains"]]) == ("up", ["nvme-guest"])
