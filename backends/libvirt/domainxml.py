"""Pure builders of the XML the create and clone wizards hand to libvirt: a new domain, a new storage
volume, a domain snapshot, and a clone's domain from its source's.

Every document is built with xml.etree (user text goes in as element text or attribute values, which
ElementTree escapes), never by formatting strings. Names reaching here are already validated by
`wizards.py` with libvirt's rules. Formats: libvirt's formatdomain, formatstorage and formatsnapshot.
"""

from __future__ import annotations

import os.path
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..errors import ParseError
from . import hostxml

# keep the prefixes of namespaces libvirt documents readable when a source domain is re-serialised
for _prefix, _uri in (("qemu", "http://libvirt.org/schemas/domain/qemu/1.0"),
                      ("test", "http://libvirt.org/schemas/domain/test/1.0"),
                      ("libosinfo", "http://libosinfo.org/xmlns/libvirt/domain/1.0")):
    ET.register_namespace(_prefix, _uri)

#: pool types whose volumes a domain uses as files, and as block devices (anything else: type='volume')
FILE_POOLS = frozenset({"dir", "fs", "netfs"})
BLOCK_POOLS = frozenset({"logical"})
#: the x86 architectures: an IDE CD-ROM and <apic/> (i440fx 'pc', the default machine, has no SATA)
_X86 = ("x86_64", "i686")


@dataclass(frozen=True, slots=True)
class DiskSource:
    """Where a disk of a new or cloned domain points: a volume of a pool, written as the pool's type
    wants it (a file in a directory pool, a block device in an LVM pool, pool/volume otherwise)."""

    pool: str
    pool_type: str
    volume: str
    path: str | None  # the volume's path, where known (a new one's is computed by `volume_path`)
    format: str | None = None  # qcow2, raw, iso...: the <driver type> (None: raw)

    def element(self, disk: ET.Element) -> None:
        """Set ``disk``'s type and replace its ``<source>`` (and any ``<backingStore>``) by this one."""
        for old in disk.findall("source") + disk.findall("backingStore"):
            disk.remove(old)
        if self.pool_type in FILE_POOLS and self.path:
            disk.set("type", "file")
            source = ET.Element("source", file=self.path)
        elif self.pool_type in BLOCK_POOLS and self.path:
            disk.set("type", "block")
            source = ET.Element("source", dev=self.path)
        else:
            disk.set("type", "volume")
            source = ET.Element("source", pool=self.pool, volume=self.volume)
        # <source> goes right after <driver> (formatdomain order), or first
        driver = disk.find("driver")
        disk.insert(list(disk).index(driver) + 1 if driver is not None else 0, source)
        if driver is None:
            driver = ET.Element("driver", name="qemu")
            disk.insert(0, driver)
        driver.set("type", _driver_type(self.format))


def _driver_type(fmt: str | None) -> str:
    """The ``<driver type>`` for a volume format: an ISO image is read as raw."""
    return "raw" if fmt in (None, "", "iso", "none") else fmt


def volume_path(pool_type: str, pool_path: str | None, name: str) -> str | None:
    """Where a new volume ``name`` will be: ``<pool path>/<name>`` for directory and LVM pools (a
    logical pool's target path is /dev/VG); None for pools whose volumes are not plain paths."""
    if pool_path and (pool_type in FILE_POOLS or pool_type in BLOCK_POOLS):
        return pool_path.rstrip("/") + "/" + name
    return None


def new_volume_format(pool_type: str) -> str | None:
    """qcow2 in directory-like pools (sparse, and internal snapshots need it); none elsewhere (raw)."""
    return "qcow2" if pool_type in FILE_POOLS else None


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _serialise(doc: ET.Element) -> str:
    ET.indent(doc, space="  ")
    return ET.tostring(doc, encoding="unicode") + "\n"


def volume_xml(name: str, capacity_bytes: int, fmt: str | None) -> str:
    """A new volume (formatstorage): its name, its capacity in bytes, nothing allocated up front."""
    doc = ET.Element("volume")
    _text(doc, "name", name)
    _text(doc, "capacity", str(capacity_bytes), unit="bytes")
    _text(doc, "allocation", "0", unit="bytes")
    if fmt:
        target = ET.SubElement(doc, "target")
        ET.SubElement(target, "format", type=fmt)
    return _serialise(doc)


def snapshot_xml(name: str) -> str:
    """A domain snapshot with libvirt's defaults (formatsnapshot): the same as ``virsh
    snapshot-create-as --name=NAME`` (internal: disks, and memory when the domain runs)."""
    doc = ET.Element("domainsnapshot")
    _text(doc, "name", name)
    return _serialise(doc)


# --- a new domain ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewDomain:
    """Everything the create wizard decided, in the units libvirt's XML takes."""

    name: str
    uuid: str
    domain_type: str  # kvm, qemu, test, ...: `hostxml.guest_type`
    arch: str
    memory_bytes: int
    vcpus: int
    disk: DiskSource | None = None
    cdrom: DiskSource | None = None
    #: ("network", name) or ("bridge", name); None: no NIC
    nic: tuple[str, str] | None = None
    mac: str = ""
    console: bool = True
    boot: str = "disk"  # disk, iso, kernel
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str | None = None


def domain_xml(spec: NewDomain) -> str:
    """The domain XML of a new guest (formatdomain).

    Memory is written in KiB (rounded up, as libvirt stores it). Boot: from the disk, from the CD-ROM
    then the disk, or straight into a kernel on the host (``<kernel>``/``<initrd>``/``<cmdline>``). The
    serial console is a pty serial port with its ``<console>``, which is what `virDomainOpenConsole`
    (and hvdeck's console pane) attaches to. ``<features><acpi/>`` lets the ACPI power button (Shut down)
    reach the guest. The ``<uuid>`` is fixed here so that the plan's XML is exactly what is defined.
    """
    x86 = spec.arch in _X86
    doc = ET.Element("domain", type=spec.domain_type)
    _text(doc, "name", spec.name)
    _text(doc, "uuid", spec.uuid)
    kib = str(-(-spec.memory_bytes // 1024))
    _text(doc, "memory", kib, unit="KiB")
    _text(doc, "currentMemory", kib, unit="KiB")
    _text(doc, "vcpu", str(spec.vcpus))
    os_el = ET.SubElement(doc, "os")
    _text(os_el, "type", "hvm", arch=spec.arch)
    if spec.boot == "kernel":
        _text(os_el, "kernel", spec.kernel or "")
        if spec.initrd:
            _text(os_el, "initrd", spec.initrd)
        if spec.cmdline:
            _text(os_el, "cmdline", spec.cmdline)
    else:
        if spec.boot == "iso":
            ET.SubElement(os_el, "boot", dev="cdrom")
        ET.SubElement(os_el, "boot", dev="hd")
    features = ET.SubElement(doc, "features")
    ET.SubElement(features, "acpi")
    if x86:
        ET.SubElement(features, "apic")
    ET.SubElement(doc, "clock", offset="utc")
    devices = ET.SubElement(doc, "devices")
    if spec.disk is not None:
        disk = ET.SubElement(devices, "disk", type="file", device="disk")
        ET.SubElement(disk, "driver", name="qemu")
        spec.disk.element(disk)
        ET.SubElement(disk, "target", dev="vda", bus="virtio")
    if spec.cdrom is not None:
        cdrom = ET.SubElement(devices, "disk", type="file", device="cdrom")
        ET.SubElement(cdrom, "driver", name="qemu")
        spec.cdrom.element(cdrom)
        ET.SubElement(cdrom, "target", {"dev": "hdc", "bus": "ide"} if x86 else {"dev": "sda", "bus": "scsi"})
        ET.SubElement(cdrom, "readonly")
    if spec.nic is not None:
        kind, source = spec.nic
        nic = ET.SubElement(devices, "interface", type=kind)
        ET.SubElement(nic, "mac", address=spec.mac)
        ET.SubElement(nic, "source", {kind: source})
        ET.SubElement(nic, "model", type="virtio")
    if spec.console:
        serial = ET.SubElement(devices, "serial", type="pty")
        ET.SubElement(serial, "target", port="0")
        console = ET.SubElement(devices, "console", type="pty")
        ET.SubElement(console, "target", type="serial", port="0")
    return _serialise(doc)


# --- a clone's domain ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CloneResult:
    xml: str
    #: what the clone does not take over, for the plan's warning ("UEFI variables start fresh")
    notes: tuple[str, ...]


def clone_xml(source_xml: str, *, name: str, uuid: str, macs: Iterator[str],
              disks: Mapping[str, DiskSource]) -> CloneResult:
    """The clone's domain XML from its source's inactive definition, as virt-clone makes it.

    New ``name`` and ``uuid`` (also in ``<sysinfo>``), a new MAC from ``macs`` for every interface
    (and no host-side ``<target dev>``, which libvirt names itself), each disk whose target is in
    ``disks`` pointing at its copy (shared disks unchanged), no ``<nvram>`` path (libvirt makes a fresh
    variable store from the template), and a serial or console ``<log file>`` renamed after the clone
    where its file name carries the source's name (otherwise left out, so that two guests never write
    one log). Raises `ParseError` for XML that does not parse or a target in ``disks`` it lacks.
    """
    doc = hostxml.root(source_xml, "domain")
    old_name = (doc.findtext("name") or "").strip()
    doc.attrib.pop("id", None)
    notes: list[str] = []
    name_el = doc.find("name")
    if name_el is None:
        name_el = ET.SubElement(doc, "name")
    name_el.text = name
    uuid_el = doc.find("uuid")
    if uuid_el is None:
        uuid_el = ET.Element("uuid")
        doc.insert(list(doc).index(name_el) + 1, uuid_el)
    uuid_el.text = uuid
    for entry in doc.findall("sysinfo/system/entry"):
        if entry.get("name") == "uuid":
            entry.text = uuid
    for os_el in doc.findall("os"):
        for nvram in os_el.findall("nvram"):
            os_el.remove(nvram)
            notes.append("its UEFI variables start fresh from the firmware's template (the source's NVRAM "
                         "is not copied)")
    devices = doc.find("devices")
    remaining = dict(disks)
    for device in list(devices) if devices is not None else []:
        if device.tag == "interface":
            mac = device.find("mac")
            if mac is None:
                mac = ET.Element("mac")
                device.insert(0, mac)
            mac.set("address", next(macs))
            for host_side in device.findall("target"):
                device.remove(host_side)
        elif device.tag == "disk":
            target = device.find("target")
            dev = target.get("dev", "") if target is not None else ""
            if dev in remaining:
                remaining.pop(dev).element(device)
        elif device.tag in ("serial", "console", "parallel", "channel"):
            for log in device.findall("log"):
                renamed = _renamed_log(log.get("file", ""), old_name, name)
                if renamed is None:
                    device.remove(log)
                    notes.append(f"the {device.tag} log file {log.get('file', '')!r} is not kept (it would be "
                                 "shared with the source)")
                else:
                    log.set("file", renamed)
    if remaining:
        raise ParseError(f"the source domain has no disk {', '.join(sorted(remaining))}")
    return CloneResult(_serialise(doc), tuple(notes))


def _renamed_log(path: str, old: str, new: str) -> str | None:
    """``/var/log/x/OLD.serial.log`` -> ``/var/log/x/NEW.serial.log``; None where the file name does not
    carry the old name (or the names are empty)."""
    head, tail = os.path.split(path)
    if not old or not path or old not in tail:
        return None
    return os.path.join(head, tail.replace(old, new))
