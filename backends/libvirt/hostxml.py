"""Pure readers of the XML libvirt gives for what a host offers: capabilities, storage pools and
volumes, networks, host interfaces, domain snapshots, and the disks and NICs of a domain definition.

No I/O and no libvirt import: `storage.py` hands in the XML text. Element and attribute names are those
of libvirt's formats (formatcaps, formatstorage, formatnetwork, formatnode/interface, formatsnapshot,
formatdomain); a document that is not XML raises `ParseError`, an element a driver leaves out reads as
None, never as a guess.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ..errors import ParseError

#: bytes per unit of libvirt's scaled integers (``<capacity unit='G'>``; formatstorage "unit")
_UNITS = {"": 1, "b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2, "mib": 1024**2,
          "mb": 1000**2, "g": 1024**3, "gib": 1024**3, "gb": 1000**3, "t": 1024**4, "tib": 1024**4,
          "tb": 1000**4, "p": 1024**5, "pib": 1024**5, "pb": 1000**5}


def root(xml: str, what: str) -> ET.Element:
    """The document element of ``xml`` (``what`` names the document in the error)."""
    try:
        return ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ParseError(f"libvirt gave {what} XML that does not parse: {exc}") from None


def scaled(element: ET.Element | None, default_unit: str = "bytes") -> int | None:
    """A libvirt scaled integer (``<capacity unit='G'>20</capacity>``) in bytes; None when absent."""
    if element is None or element.text is None or not element.text.strip().isdigit():
        return None
    factor = _UNITS.get(element.get("unit", default_unit).lower())
    return int(element.text.strip()) * factor if factor is not None else None


# --- capabilities: which domain type a new guest gets -------------------------------------------------


@dataclass(frozen=True, slots=True)
class GuestType:
    """What `virConnectGetCapabilities` says a new full-virtualisation guest can be on this host.

    ``domain_type`` is the ``<domain type=...>`` to write (kvm, qemu, xen, test...), ``arch`` the guest
    architecture (the host's own where offered), ``note`` a sentence for the plan when the choice is not
    the obvious one (KVM offered but not usable)."""

    domain_type: str
    arch: str
    os_type: str = "hvm"
    note: str = ""


_X86 = ("x86_64", "i686")


def guest_type(caps_xml: str, host: str = "the host") -> GuestType:
    """The guest type for a new domain, from the capabilities XML (formatcaps).

    The ``<guest>`` of os_type hvm for the host's own architecture (else the first hvm guest, else the
    first guest). Among its ``<domain type>``s, kvm is chosen when offered and usable, else qemu (TCG
    emulation), else the first offered (test, xen...). On x86, KVM needs the CPU's virtualisation
    extensions: libvirt lists ``<domain type='kvm'/>`` whenever /dev/kvm answers, but a host whose CPU
    shows neither vmx nor svm among the capabilities' host CPU features cannot run ordinary guests
    under it (a PVM host, or a VM without nested virtualisation: the guest spins without a word), so the
    guest gets qemu and the plan says why. Raises `ParseError` when the host offers no guest at all.
    """
    doc = root(caps_xml, "capabilities")
    host_cpu = doc.find("host/cpu")
    host_arch = (host_cpu.findtext("arch") or "").strip() if host_cpu is not None else ""
    features = {f.get("name", "") for f in host_cpu.findall("feature")} if host_cpu is not None else set()
    guests = []
    for guest in doc.findall("guest"):
        arch_el = guest.find("arch")
        if arch_el is None or not arch_el.get("name"):
            continue
        types = [d.get("type", "") for d in arch_el.findall("domain") if d.get("type")]
        if types:
            guests.append(((guest.findtext("os_type") or "").strip(), arch_el.get("name", ""), types))
    if not guests:
        raise ParseError("the host's capabilities offer no guest type (no <guest> with a <domain type>)")

    def rank(entry: tuple[str, str, list[str]]) -> tuple[bool, bool]:
        os_type, arch, _ = entry
        return (os_type != "hvm", arch != host_arch)

    os_type, arch, types = sorted(guests, key=rank)[0]
    note = ""
    if "kvm" in types:
        if arch in _X86 and host_arch in _X86 and features and not features & {"vmx", "svm"} and "qemu" in types:
            note = (f"libvirt offers KVM on {host}, but its CPU has no virtualisation extensions (neither vmx "
                    "nor svm): the guest runs under QEMU's TCG emulation (type='qemu'), many times slower")
            return GuestType("qemu", arch, os_type, note)
        return GuestType("kvm", arch, os_type)
    if "qemu" in types:
        return GuestType("qemu", arch, os_type)
    return GuestType(types[0], arch, os_type)


# --- storage -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolXml:
    type: str  # dir, fs, netfs, logical, disk, iscsi, rbd, ...
    path: str | None  # <target><path>


def pool(xml: str) -> PoolXml:
    doc = root(xml, "storage pool")
    path = doc.findtext("target/path")
    return PoolXml(doc.get("type", ""), path.strip() if path else None)


@dataclass(frozen=True, slots=True)
class VolumeXml:
    format: str | None  # <target><format type=...>: qcow2, raw, iso...
    backing: str | None  # <backingStore><path>


def volume(xml: str) -> VolumeXml:
    doc = root(xml, "storage volume")
    fmt = doc.find("target/format")
    backing = doc.findtext("backingStore/path")
    return VolumeXml(fmt.get("type") if fmt is not None else None, backing.strip() if backing else None)


# --- networks ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NetworkXml:
    forward: str | None  # nat, route, bridge, open, ...; None: isolated
    bridge: str | None  # <bridge name=...>: the host bridge the network uses


def network(xml: str) -> NetworkXml:
    doc = root(xml, "network")
    forward = doc.find("forward")
    bridge = doc.find("bridge")
    return NetworkXml(forward.get("mode", "nat") if forward is not None else None,
                      bridge.get("name") if bridge is not None else None)


def interface_type(xml: str) -> str:
    """The type of a host interface (formatnode: ethernet, bridge, bond, vlan)."""
    return root(xml, "interface").get("type", "")


# --- snapshots -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SnapshotDisk:
    """One disk of a snapshot: how its state was kept (internal, external, manual, no) and, for the
    disk's state at the snapshot, the file the domain's disk pointed at then (from the domain
    definition the snapshot carries)."""

    target: str
    snapshot: str
    source: str | None


@dataclass(frozen=True, slots=True)
class SnapshotXml:
    name: str
    description: str
    state: str  # the domain's state when it was taken: running, shutoff, paused, disk-snapshot
    created: int | None  # epoch seconds
    parent: str | None
    memory: str  # internal, external, no
    disks: tuple[SnapshotDisk, ...]

    @property
    def created_text(self) -> str | None:
        """As `virsh snapshot-list` prints it (shared formats libvirt §2.5), in UTC."""
        if self.created is None:
            return None
        when = datetime.datetime.fromtimestamp(self.created, tz=datetime.UTC)
        return when.strftime("%Y-%m-%d %H:%M:%S +0000")


def snapshot(xml: str) -> SnapshotXml:
    """A domain snapshot's XML (formatsnapshot). Disks not listed under ``<disks>`` (the test driver and
    old daemons list them all) take the default of a snapshot of that kind: internal."""
    doc = root(xml, "domain snapshot")
    name = (doc.findtext("name") or "").strip()
    if not name:
        raise ParseError("a domain snapshot's XML has no <name>")
    created = (doc.findtext("creationTime") or "").strip()
    memory = doc.find("memory")
    sources = {d.target: d.source for d in domain_disks(doc.find("domain"))}
    listed = [SnapshotDisk(d.get("name", ""), d.get("snapshot", "internal"), sources.get(d.get("name", "")))
              for d in doc.findall("disks/disk")]
    return SnapshotXml(
        name=name, description=(doc.findtext("description") or "").strip(),
        state=(doc.findtext("state") or "").strip(), created=int(created) if created.isdigit() else None,
        parent=(doc.findtext("parent/name") or "").strip() or None,
        memory=memory.get("snapshot", "no") if memory is not None else "no", disks=tuple(listed))


# --- domain definitions: what a clone copies -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DomainDisk:
    """A ``<disk>`` of a domain: its target, device, type and source (a path, or a pool's volume)."""

    target: str
    device: str  # disk, cdrom, floppy, lun
    type: str  # file, block, volume, network, dir
    source: str | None  # the file or block device; for type='volume' "pool/volume"
    pool: str | None = None
    volume: str | None = None
    format: str | None = None  # <driver type>
    read_only: bool = False
    shareable: bool = False

    @property
    def copied(self) -> bool:
        """Does a clone get its own copy of this disk? Read-only and shareable disks (CD-ROMs, shared
        data) are shared by the clone, as virt-clone does."""
        return self.device in ("disk", "lun") and not self.read_only and not self.shareable


def domain_disks(element: ET.Element | str | None) -> tuple[DomainDisk, ...]:
    """The disks of a domain definition (an element or its XML text), in document order."""
    if element is None:
        return ()
    doc = root(element, "domain") if isinstance(element, str) else element
    disks = []
    for disk in doc.findall("devices/disk"):
        target = disk.find("target")
        source = disk.find("source")
        driver = disk.find("driver")
        kind = disk.get("type", "file")
        path = pool_name = vol = None
        if source is not None:
            if kind == "volume":
                pool_name, vol = source.get("pool"), source.get("volume")
                path = f"{pool_name}/{vol}" if pool_name and vol else None
            else:
                path = source.get("file") or source.get("dev") or source.get("dir") or source.get("name")
        disks.append(DomainDisk(
            target=target.get("dev", "") if target is not None else "", device=disk.get("device", "disk"),
            type=kind, source=path, pool=pool_name, volume=vol,
            format=driver.get("type") if driver is not None else None,
            read_only=disk.find("readonly") is not None, shareable=disk.find("shareable") is not None))
    return tuple(disks)
