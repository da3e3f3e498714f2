"""The pure libvirt XML of the wizards: what hvdeck reads from a host (capabilities, snapshots) and
the exact documents it hands to libvirt (a new domain, a volume, a snapshot, a clone's domain)."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hvdeck.backends.errors import ParseError
from hvdeck.backends.libvirt import domainxml, hostxml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "libvirt"


# --- capabilities --------------------------------------------------------------------------------------------


def test_a_pvm_host_offers_kvm_but_gets_qemu_with_the_reason():
    guest = hostxml.guest_type((FIXTURES / "qemu_capabilities_pvm.xml").read_text(), "bed")
    assert (guest.domain_type, guest.arch, guest.os_type) == ("qemu", "x86_64", "hvm")
    assert "bed" in guest.note and "vmx" in guest.note and "TCG" in guest.note


def test_a_host_whose_cpu_has_vmx_gets_kvm():
    caps = (FIXTURES / "qemu_capabilities_pvm.xml").read_text().replace(
        "<feature name='vme'/>", "<feature name='vme'/><feature name='vmx'/>")
    guest = hostxml.guest_type(caps)
    assert (guest.domain_type, guest.arch, guest.note) == ("kvm", "x86_64", "")


def test_the_test_driver_gets_its_own_type():
    guest = hostxml.guest_type((FIXTURES / "test_capabilities.xml").read_text())
    # shared formats libvirt §1: the default node is i686 with <domain type='test'/>
    assert (guest.domain_type, guest.arch, guest.note) == ("test", "i686", "")


def test_capabilities_without_a_guest_are_refused():
    with pytest.raises(ParseError, match="no guest type"):
        hostxml.guest_type("<capabilities><host><cpu><arch>x86_64</arch></cpu></host></capabilities>")
    with pytest.raises(ParseError, match="does not parse"):
        hostxml.guest_type("<capabilities>")


# --- snapshots -------------------------------------------------------------------------------------------------


def test_an_internal_snapshot_of_a_running_guest():
    snap = hostxml.snapshot((FIXTURES / "qemu_snapshot_internal.xml").read_text())
    assert (snap.name, snap.description, snap.state, snap.parent, snap.memory) == (
        "before-upgrade", "hvdeck fixture", "running", None, "internal")
    assert snap.disks == (hostxml.SnapshotDisk("vda", "internal", "/var/lib/hvdeck-testbed/pool/hvx-cap.qcow2"),)
    assert snap.created_text is not None and snap.created_text.endswith(" +0000")


def test_an_external_snapshot_keeps_the_file_the_disk_used_when_it_was_taken():
    snap = hostxml.snapshot((FIXTURES / "qemu_snapshot_external.xml").read_text())
    assert (snap.name, snap.state, snap.parent, snap.memory) == ("disk-only", "disk-snapshot", "before-upgrade", "no")
    # the overlay made at the snapshot is not the state at the snapshot: its backing file is
    assert snap.disks == (hostxml.SnapshotDisk("vda", "external", "/var/lib/hvdeck-testbed/pool/hvx-cap.qcow2"),)


def test_snapshot_creation_time_reads_like_virsh():
    snap = hostxml.snapshot("<domainsnapshot><name>s</name><creationTime>1796078803</creationTime>"
                            "</domainsnapshot>")
    assert snap.created_text == "2026-11-30 22:46:43 +0000"
    assert hostxml.snapshot("<domainsnapshot><name>s</name></domainsnapshot>").created_text is None
    with pytest.raises(ParseError, match="no <name>"):
        hostxml.snapshot("<domainsnapshot/>")


# --- domain disks ------------------------------------------------------------------------------------------------


def test_which_disks_a_clone_copies():
    disks = hostxml.domain_disks(
        "<domain><devices>"
        "<disk type='file' device='disk'><driver type='qcow2'/><source file='/a.qcow2'/><target dev='vda'/></disk>"
        "<disk type='volume' device='disk'><source pool='p' volume='b.img'/><target dev='vdb'/></disk>"
        "<disk type='file' device='cdrom'><source file='/i.iso'/><target dev='hdc'/><readonly/></disk>"
        "<disk type='block' device='disk'><source dev='/dev/sdz'/><target dev='vdc'/><shareable/></disk>"
        "</devices></domain>")
    assert [(d.target, d.source, d.copied) for d in disks] == [
        ("vda", "/a.qcow2", True), ("vdb", "p/b.img", True), ("hdc", "/i.iso", False), ("vdc", "/dev/sdz", False)]
    assert (disks[0].format, disks[1].pool, disks[1].volume) == ("qcow2", "p", "b.img")


# --- documents hvdeck writes ---------------------------------------------------------------------------------------

TINY = domainxml.NewDomain(
    name="tiny1", uuid="6876646b-0000-4000-8000-000000000001", domain_type="qemu", arch="x86_64",
    memory_bytes=128 * 1024**2, vcpus=1,
    disk=domainxml.DiskSource("hvdeck-testbed", "dir", "tiny1.qcow2", "/var/lib/hvdeck-testbed/pool/tiny1.qcow2",
                              "qcow2"),
    nic=("bridge", "hvtb0"), mac="52:54:00:12:34:56", boot="kernel",
    kernel="/var/lib/hvdeck-testbed/guest/vmlinuz", initrd="/var/lib/hvdeck-testbed/guest/initrd.img",
    cmdline="console=ttyS0 panic=-1 quiet")


def test_the_exact_domain_xml_of_a_kernel_boot_guest():
    assert domainxml.domain_xml(TINY) == """\
<domain type="qemu">
  <name>tiny1</name>
  <uuid>6876646b-0000-4000-8000-000000000001</uuid>
  <memory unit="KiB">131072</memory>
  <currentMemory unit="KiB">131072</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch="x86_64">hvm</type>
    <kernel>/var/lib/hvdeck-testbed/guest/vmlinuz</kernel>
    <initrd>/var/lib/hvdeck-testbed/guest/initrd.img</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet</cmdline>
  </os>
  <features>
    <acpi />
    <apic />
  </features>
  <clock offset="utc" />
  <devices>
    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2" />
      <source file="/var/lib/hvdeck-testbed/pool/tiny1.qcow2" />
      <target dev="vda" bus="virtio" />
    </disk>
    <interface type="bridge">
      <mac address="52:54:00:12:34:56" />
      <source bridge="hvtb0" />
      <model type="virtio" />
    </interface>
    <serial type="pty">
      <target port="0" />
    </serial>
    <console type="pty">
      <target type="serial" port="0" />
    </console>
  </devices>
</domain>
"""


def test_iso_boot_on_a_network_with_an_lvm_disk_and_no_console():
    from dataclasses import replace

    xml = domainxml.domain_xml(replace(
        TINY, boot="iso", kernel=None, initrd=None, cmdline=None, console=False, nic=("network", "default"),
        memory_bytes=1024**3 + 1,
        disk=domainxml.DiskSource("vg0", "logical", "tiny1", "/dev/vg0/tiny1", None),
        cdrom=domainxml.DiskSource("iso", "dir", "debian.iso", "/srv/iso/debian.iso", "iso")))
    doc = ET.fromstring(xml)
    assert [b.get("dev") for b in doc.findall("os/boot")] == ["cdrom", "hd"]
    assert doc.find("os/kernel") is None and doc.find("devices/serial") is None and doc.find("devices/console") is None
    assert doc.findtext("memory") == str(1024**2 + 1), "memory is rounded up to whole KiB"
    disk, cdrom = doc.findall("devices/disk")
    assert (disk.get("type"), disk.find("source").attrib, disk.find("driver").get("type")) == (
        "block", {"dev": "/dev/vg0/tiny1"}, "raw")
    assert (cdrom.get("device"), cdrom.find("source").get("file"), cdrom.find("driver").get("type"),
            cdrom.find("target").attrib, cdrom.find("readonly") is not None) == (
        "cdrom", "/srv/iso/debian.iso", "raw", {"dev": "hdc", "bus": "ide"}, True)
    assert doc.find("devices/interface").get("type") == "network"
    assert doc.find("devices/interface/source").attrib == {"network": "default"}


def test_a_volume_of_a_pool_without_paths_is_referenced_by_pool_and_name():
    from dataclasses import replace

    xml = domainxml.domain_xml(replace(TINY, disk=domainxml.DiskSource("ceph", "rbd", "tiny1", None, "raw")))
    disk = ET.fromstring(xml).find("devices/disk")
    assert disk.get("type") == "volume" and disk.find("source").attrib == {"pool": "ceph", "volume": "tiny1"}


@pytest.mark.parametrize("name", ["a<b>&c", "quote'\"s", "]]>", "[/]", "[bold]x", "界面-テスト", "e\u0301", "🙂"])
def test_hostile_names_are_element_text_never_markup(name):
    from dataclasses import replace

    xml = domainxml.domain_xml(replace(TINY, name=name, cmdline=f"x={name}"))
    doc = ET.fromstring(xml)
    assert doc.findtext("name") == name and doc.findtext("os/cmdline") == f"x={name}"
    assert len(doc.findall("name")) == 1 and len(list(doc)) == len(list(ET.fromstring(domainxml.domain_xml(TINY))))


def test_the_exact_volume_and_snapshot_xml():
    assert domainxml.volume_xml("tiny1.qcow2", 16 * 1024**2, "qcow2") == """\
<volume>
  <name>tiny1.qcow2</name>
  <capacity unit="bytes">16777216</capacity>
  <allocation unit="bytes">0</allocation>
  <target>
    <format type="qcow2" />
  </target>
</volume>
"""
    assert domainxml.volume_xml("lv1", 1024, None) == (
        '<volume>\n  <name>lv1</name>\n  <capacity unit="bytes">1024</capacity>\n'
        '  <allocation unit="bytes">0</allocation>\n</volume>\n')
    assert domainxml.snapshot_xml("before <upgrade>") == (
        "<domainsnapshot>\n  <name>before &lt;upgrade&gt;</name>\n</domainsnapshot>\n")


def test_volume_paths_and_formats_by_pool_type():
    assert domainxml.volume_path("dir", "/var/lib/libvirt/images/", "a.qcow2") == "/var/lib/libvirt/images/a.qcow2"
    assert domainxml.volume_path("logical", "/dev/vg0", "a") == "/dev/vg0/a"
    assert domainxml.volume_path("rbd", "pool", "a") is None
    assert (domainxml.new_volume_format("dir"), domainxml.new_volume_format("logical")) == ("qcow2", None)


# --- a clone's domain ---------------------------------------------------------------------------------------------

SOURCE = """<domain type='kvm' id='7'>
  <name>db01</name>
  <uuid>22222222-2222-4222-8222-222222222222</uuid>
  <memory unit='KiB'>4194304</memory>
  <sysinfo type='smbios'><system><entry name='uuid'>22222222-2222-4222-8222-222222222222</entry>
    <entry name='serial'>S1</entry></system></sysinfo>
  <os><type arch='x86_64'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>
    <nvram>/var/lib/libvirt/qemu/nvram/db01_VARS.fd</nvram></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>
      <source file='/var/lib/libvirt/images/db01-os.qcow2'/><backingStore/><target dev='vda' bus='virtio'/></disk>
    <disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='images' volume='db01-data.img'/>
      <target dev='vdb' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><source file='/srv/iso/d.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='bridge'><mac address='52:54:00:aa:bb:02'/><source bridge='br0'/><target dev='vnet3'/>
      <model type='virtio'/></interface>
    <interface type='network'><source network='default'/></interface>
    <serial type='pty'><log file='/var/log/libvirt/db01.serial.log' append='off'/><target port='0'/></serial>
    <console type='pty'><log file='/var/log/console.log'/><target type='serial' port='0'/></console>
  </devices>
  <qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:arg value='-no-user-config'/>
  </qemu:commandline>
</domain>"""


def test_a_clone_gets_a_new_identity_and_its_disks_on_the_copies():
    macs = iter(["52:54:00:00:00:01", "52:54:00:00:00:02"])
    result = domainxml.clone_xml(SOURCE, name="db02", uuid="33333333-0000-4000-8000-000000000002", macs=macs, disks={
        "vda": domainxml.DiskSource("images", "dir", "db02.qcow2", "/var/lib/libvirt/images/db02.qcow2", "qcow2"),
        "vdb": domainxml.DiskSource("fast", "logical", "db02-vdb", "/dev/fast/db02-vdb", "raw"),
    })
    doc = ET.fromstring(result.xml)
    assert "id" not in doc.attrib and doc.get("type") == "kvm"
    assert (doc.findtext("name"), doc.findtext("uuid")) == ("db02", "33333333-0000-4000-8000-000000000002")
    entries = {e.get("name"): e.text for e in doc.findall("sysinfo/system/entry")}
    assert entries == {"uuid": "33333333-0000-4000-8000-000000000002", "serial": "S1"}
    assert doc.find("os/nvram") is None and doc.find("os/loader") is not None
    vda, vdb, hdc = doc.findall("devices/disk")
    assert (vda.get("type"), vda.find("source").attrib, vda.find("backingStore")) == (
        "file", {"file": "/var/lib/libvirt/images/db02.qcow2"}, None)
    assert vda.find("driver").attrib == {"name": "qemu", "type": "qcow2", "cache": "none"}
    assert (vdb.get("type"), vdb.find("source").attrib, vdb.find("driver").get("type")) == (
        "block", {"dev": "/dev/fast/db02-vdb"}, "raw")
    assert hdc.find("source").attrib == {"file": "/srv/iso/d.iso"}, "a CD-ROM is shared, not copied"
    nics = doc.findall("devices/interface")
    assert [n.find("mac").get("address") for n in nics] == ["52:54:00:00:00:01", "52:54:00:00:00:02"]
    assert all(n.find("target") is None for n in nics)
    assert doc.find("devices/serial/log").get("file") == "/var/log/libvirt/db02.serial.log"
    assert doc.find("devices/console/log") is None
    assert any("UEFI" in n for n in result.notes) and any("/var/log/console.log" in n for n in result.notes)
    # libvirt's own namespace survives, under its own prefix (declared on <domain>, as libvirt writes it)
    assert '<domain xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0"' in result.xml
    assert "<qemu:commandline>" in result.xml


def test_a_clone_of_a_disk_the_source_lacks_is_refused():
    with pytest.raises(ParseError, match="no disk vdz"):
        domainxml.clone_xml(SOURCE, name="x", uuid="u", macs=itertools.repeat("52:54:00:00:00:09"),
                            disks={"vdz": domainxml.DiskSource("p", "dir", "x", "/x", None)})
