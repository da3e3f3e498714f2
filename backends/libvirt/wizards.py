"""Pure libvirt wizards: the create and clone forms, the checks against what the host has, and the Plans.

The backend reads the host once into `HostFacts` (and `CloneFacts`) in its worker thread
(`storage.py`); everything here decides from those facts, with no I/O, so that every refusal and every
plan is unit-tested. A plan's steps are libvirt API calls (`commands.API_CALLS`, run by `apicalls.py`),
each with its undo and the virsh line that does the same. virsh takes a document (domain, volume or
snapshot XML) only from a file: such a line names the file ``NAME.xml`` and the step says that it holds
the XML shown below the step.

Create (like virt-install): an optional new volume (virStorageVolCreateXML), the domain XML
(`domainxml.domain_xml`, virDomainDefineXML), and virDomainCreate.

Clone (like virt-clone): every disk the clone gets its own copy of (`hostxml.DomainDisk.copied`) is
copied into a new volume — from the current state with virStorageVolCreateXMLFrom, which needs the
source shut off (QEMU keeps a guest's images locked while it runs *or is paused*: measured on the test
bed, the copy fails with 'Failed to get shared "write" lock'), so a running source is shut down first
and started again after the copies; or from a snapshot: a disk kept outside the image (an external
snapshot) is the volume the disk used then, copied with virStorageVolCreateXMLFrom even while the
guest runs; a disk kept inside a qcow2 image (an internal snapshot, libvirt's default) has no libvirt
API that reads it, so the copy is a new volume filled by ``qemu-img convert -l snapshot.name=S`` on the
host. Then the clone's XML (`domainxml.clone_xml`: new name, UUID and MACs) is defined, and started if
asked.

Domain snapshots: create (virDomainSnapshotCreateXML), revert (virDomainRevertToSnapshot, with typed
confirmation) and delete (virDomainSnapshotDelete) as the backend's extra actions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..base import ExtraAction, Param
from ..errors import ValidationError
from ..model import Domain, DomainState, Network, Snapshot
from ..options import (
    BoolOption,
    Choice,
    ChoiceOption,
    Form,
    FormErrors,
    NumberOption,
    SizeOption,
    TextOption,
    format_size,
)
from ..plan import Check, Operation, Plan, Step
from . import domainxml, hostxml
from .commands import validate_name

#: a plan step that copies or makes a volume may take long (a 100 GB copy); seconds
COPY_TIMEOUT = 3600.0
#: how long a clone waits for a running source to power off after the ACPI power button; seconds
SHUTDOWN_WAIT = 120
_MIB = 1024**2


# --- what the host has, read once by the backend -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolFacts:
    """A storage pool: ``type`` as libvirt names it (dir, logical...), sizes in bytes (None: unknown)."""

    name: str
    type: str
    path: str | None
    active: bool
    capacity: int | None
    free: int | None
    volumes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class VolumeFacts:
    pool: str
    pool_type: str
    name: str
    path: str | None
    format: str | None
    capacity: int | None
    #: which domain's disk uses it (``domain/target``), None when none does
    used_by: str | None = None

    @property
    def is_iso(self) -> bool:
        return self.format == "iso" or self.name.lower().endswith(".iso")

    def source(self) -> domainxml.DiskSource:
        return domainxml.DiskSource(self.pool, self.pool_type, self.name, self.path, self.format)


@dataclass(frozen=True, slots=True)
class NetworkFacts:
    """A libvirt network (``kind`` network) or a host bridge (``kind`` bridge)."""

    name: str
    kind: str
    active: bool
    #: the bridge a libvirt network uses, its forward mode
    bridge: str | None = None
    forward: str | None = None

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def detail(self) -> str:
        if self.kind == "bridge":
            return "host bridge" + ("" if self.active else ", down")
        mode = f"{self.forward}" if self.forward else "isolated"
        parts = [mode] + ([f"bridge {self.bridge}"] if self.bridge else []) + ([] if self.active else ["inactive"])
        return "libvirt network, " + ", ".join(parts)

    def model(self) -> Network:
        return Network(self.name, "libvirt-network" if self.kind == "network" else "bridge", self.detail)


@dataclass(frozen=True, slots=True)
class HostFacts:
    """What a libvirt host has, for the create and clone wizards (`storage.host_facts`)."""

    host: str  # the inventory's name
    uri: str  # the inventory's libvirt URI, for the virsh lines
    guest: hostxml.GuestType
    #: the most vCPUs a guest of ``guest.domain_type`` may have (virConnectGetMaxVcpus); None: unknown
    max_vcpus: int | None
    #: host CPUs online, and memory a new guest can have (free plus page cache); None: unknown
    cpus: int | None
    free_memory: int | None
    domains: frozenset[str]
    pools: Mapping[str, PoolFacts]
    volumes: tuple[VolumeFacts, ...]
    networks: tuple[NetworkFacts, ...]
    #: MAC addresses (lower case) of every domain's interfaces: new ones avoid them
    macs: frozenset[str] = frozenset()
    #: the host's bridges could be listed (the daemon has an interface backend): one not listed is not there
    bridges_listed: bool = False
    #: the test driver: no files behind its paths, nothing to check on the host's filesystem
    test_driver: bool = False

    def volume(self, value: str) -> VolumeFacts | None:
        """The volume a choice names (``pool/volume``)."""
        pool, _, name = value.partition("/")
        return next((v for v in self.volumes if v.pool == pool and v.name == name), None)

    def volume_at(self, path: str | None) -> VolumeFacts | None:
        """The pool volume at ``path`` (or named ``pool/volume`` for a disk of type volume)."""
        if not path:
            return None
        return next((v for v in self.volumes if v.path == path), None) or self.volume(path)


# --- names --------------------------------------------------------------------------------------------------


def validate_snapshot_name(name: str) -> str:
    """libvirt's rules for a domain snapshot name (virDomainSnapshotDefParse, and measured on the test
    bed: "name can't contain '/'", "name can't start with '.'"); no control characters."""
    if not name:
        raise ValidationError("a snapshot name cannot be empty")
    if "/" in name:
        raise ValidationError(f"snapshot name {name!r} cannot contain '/'")
    if name.startswith("."):
        raise ValidationError(f"snapshot name {name!r} cannot start with '.'")
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in name):
        raise ValidationError(f"snapshot name {name!r} cannot contain control characters")
    return name


def _domain_name(text: str) -> str:
    try:
        return validate_name(text)
    except ValidationError as exc:
        raise ValidationError(f"Name: {exc.message}") from None


def _host_path(label: str) -> Any:
    def check(text: str) -> str:
        if not text.startswith("/"):
            raise ValidationError(f"{label}: {text!r} is not an absolute path on the host")
        if len(text) > 4096:
            raise ValidationError(f"{label}: longer than 4096 characters")
        return text

    return check


def _cmdline(text: str) -> str:
    if len(text) > 2048:
        raise ValidationError("Kernel command line: longer than 2048 characters")
    return text


#: Linux's rule for an interface name (dev_valid_name): 1-15 bytes, no '/', ':' or white space
_IFNAME = re.compile(r"^[^/:\s]{1,15}$")


def _network(text: str) -> str:
    kind, sep, name = text.partition(":")
    if sep and kind == "bridge" and _IFNAME.match(name) and name not in (".", ".."):
        return text
    if sep and kind == "network" and name:
        return text
    raise ValidationError(f"Network: {text!r} is not one the host offers (write network:NAME for a libvirt "
                          "network, bridge:NAME for a host bridge, or none)")


# --- the create form ------------------------------------------------------------------------------------------

BOOT_CHOICES = (
    Choice("disk", "disk", "boot from the guest's disk"),
    Choice("iso", "ISO", "boot an ISO image (a CD-ROM) from a pool, then the disk"),
    Choice("kernel", "kernel", "direct kernel boot: a kernel (and initrd) on the host"),
)
NO_NETWORK = Choice("none", "none", "no network interface")


def _create_check(values: dict[str, Any]) -> dict[str, str]:
    """Combinations the form refuses before the host is asked: one disk source, what each boot needs."""
    errors: dict[str, str] = {}
    if values.get("disk") and values.get("volume"):
        errors["disk"] = ("New disk size: leave it empty to use the existing volume "
                          f"{values['volume']} (or clear Existing volume)")
    boot = values.get("boot")
    if boot == "iso" and not values.get("iso"):
        errors["iso"] = "ISO image: required to boot from an ISO"
    if boot == "kernel" and not values.get("kernel"):
        errors["kernel"] = "Kernel: required for direct kernel boot"
    if boot != "kernel":
        for name, label in (("initrd", "Initrd"), ("cmdline", "Kernel command line")):
            if values.get(name):
                errors[name] = f"{label}: only for direct kernel boot (Boot: kernel)"
    if boot == "disk" and not values.get("disk") and not values.get("volume"):
        errors["boot"] = "Boot: the guest has no disk to boot from (give a size or an existing volume)"
    if values.get("iso") and boot != "iso":
        errors["iso"] = "ISO image: only when booting from it (Boot: ISO)"
    return errors


CREATE_FORM = Form(
    title="Create a libvirt guest",
    options=(
        TextOption("name", "Name", "the new domain's name (libvirt's rules: no '/', not all digits)",
                   placeholder="web03", validator=_domain_name),
        NumberOption("vcpus", "vCPUs", "virtual CPUs", default="1", low=1, high=4096),
        SizeOption("memory", "Memory", "memory", default="1G", low=16 * _MIB, high=16 * 1024**4),
        SizeOption("disk", "New disk size", "size of a new disk volume (empty: no new disk)", default="10G",
                   required=False, low=_MIB, high=1024**5),
        ChoiceOption("pool", "Pool", "storage pool for the new disk"),
        ChoiceOption("volume", "Existing volume", "an unused volume (pool/volume) as the disk instead of a new one",
                     required=False),
        ChoiceOption("network", "Network", "a libvirt network or a host bridge (network:NAME, bridge:NAME, none)",
                     free=True, validator=_network),
        ChoiceOption("boot", "Boot", "from the disk, an ISO image, or a kernel on the host", default="disk",
                     choices=BOOT_CHOICES),
        ChoiceOption("iso", "ISO image", "an ISO volume (pool/volume) to boot", required=False),
        TextOption("kernel", "Kernel", "kernel path on the host (direct kernel boot)", required=False,
                   placeholder="/var/lib/libvirt/boot/vmlinuz", validator=_host_path("Kernel")),
        TextOption("initrd", "Initrd", "initrd path on the host", required=False, validator=_host_path("Initrd")),
        TextOption("cmdline", "Kernel command line", "kernel command line", required=False,
                   placeholder="console=ttyS0", validator=_cmdline),
        BoolOption("console", "Serial console", "a serial console hvdeck can attach to", default="yes"),
        BoolOption("start", "Start", "start the guest once it is defined", default="yes"),
    ),
    check=_create_check,
)


def _pool_order(facts: HostFacts) -> list[PoolFacts]:
    """Active pools, the first being the default for a new disk: libvirt's conventional ``default``
    pool, then pools that are not ISO libraries (holding nothing but ISO images), most free space first."""
    def iso_library(pool: PoolFacts) -> bool:
        held = [v for v in facts.volumes if v.pool == pool.name]
        return bool(held) and all(v.is_iso for v in held)

    return sorted((p for p in facts.pools.values() if p.active),
                  key=lambda p: (p.name != "default", iso_library(p), -(p.free or 0), p.name))


def create_choices(facts: HostFacts) -> dict[str, tuple[Choice, ...]]:
    """Pools (`_pool_order`), unused volumes, ISO images, networks and bridges (usable ones first) of the
    host; the first of each required input is its default."""
    pools = _pool_order(facts)
    volumes = [v for v in facts.volumes if facts.pools.get(v.pool, None) is not None]
    nets = sorted(facts.networks, key=lambda n: (not n.active, n.kind != "network", n.name))
    return {
        "pool": tuple(Choice(p.name, p.name, _pool_detail(p)) for p in pools),
        "volume": tuple(Choice(f"{v.pool}/{v.name}", f"{v.pool}/{v.name}", _volume_detail(v))
                        for v in volumes if not v.is_iso and v.used_by is None),
        "iso": tuple(Choice(f"{v.pool}/{v.name}", f"{v.pool}/{v.name}", _volume_detail(v))
                     for v in volumes if v.is_iso),
        "network": tuple(Choice(n.value, n.name, n.detail) for n in nets) + (NO_NETWORK,),
    }


def _pool_detail(pool: PoolFacts) -> str:
    if pool.free is None:
        return pool.type
    of = f" of {_size(pool.capacity)}" if pool.capacity else ""
    return f"{_size(pool.free)} free{of}, {pool.type}"


def _volume_detail(volume: VolumeFacts) -> str:
    parts = [_size(volume.capacity) if volume.capacity is not None else "", volume.format or ""]
    if volume.used_by:
        parts.append(f"used by {volume.used_by}")
    return ", ".join(p for p in parts if p)


def _size(n: int | None) -> str:
    """Bytes in a short binary unit: 20G, 1.5G, 600M (exact where it divides)."""
    if n is None:
        return "?"
    for unit, factor in (("T", 1024**4), ("G", 1024**3), ("M", _MIB), ("K", 1024)):
        if n >= factor:
            return format_size(n) if n % factor == 0 else f"{n / factor:.1f}{unit}"
    return f"{n}B"


# --- checks against the host, then the create plan ---------------------------------------------------------


def virsh(uri: str, *args: str) -> tuple[str, ...]:
    """``virsh -c URI ARGS``: the line that does what an API call does. Every argument that carries a
    name is written ``--opt=VALUE``, so that no name is ever read as an option."""
    return ("virsh", "-c", uri, *args)


def check_create(values: Mapping[str, Any], facts: HostFacts) -> dict[str, str]:
    """What the host would refuse, by input name: a name in use, more vCPUs than the hypervisor allows,
    more memory than the host has free, a disk larger than its pool's free space, a pool, volume, ISO or
    network that is not there (or not usable)."""
    errors: dict[str, str] = {}
    name = values["name"]
    if name in facts.domains:
        errors["name"] = f"Name: {facts.host} already has a domain named {name!r}"
    if facts.max_vcpus is not None and values["vcpus"] > facts.max_vcpus:
        errors["vcpus"] = (f"vCPUs: {facts.guest.domain_type} guests on {facts.host} can have at most "
                           f"{facts.max_vcpus}")
    if facts.free_memory is not None and values["memory"] > facts.free_memory:
        errors["memory"] = (f"Memory: {format_size(values['memory'])} is more than the "
                            f"{_size(facts.free_memory)} {facts.host} has free")
    if values.get("disk"):
        pool = facts.pools.get(values.get("pool") or "")
        if pool is None:
            errors["pool"] = f"Pool: {facts.host} has no storage pool {values.get('pool')!r}"
        elif not pool.active:
            errors["pool"] = f"Pool: {pool.name} is not active (start it with virsh pool-start)"
        else:
            volume = new_volume_name(name, pool.type)
            if volume in pool.volumes:
                errors["disk"] = f"New disk size: pool {pool.name} already has a volume {volume!r}"
            elif pool.free is not None and values["disk"] > pool.free:
                errors["disk"] = (f"New disk size: {format_size(values['disk'])} is more than the "
                                  f"{_size(pool.free)} free in pool {pool.name}")
    for key, label in (("volume", "Existing volume"), ("iso", "ISO image")):
        if values.get(key):
            found = facts.volume(values[key])
            if found is None:
                errors[key] = f"{label}: {facts.host} has no volume {values[key]!r} in an active pool"
            elif key == "volume" and found.used_by:
                errors[key] = f"{label}: {values[key]} is in use by {found.used_by}"
    network = values.get("network") or "none"
    if network != "none":
        kind, _, net_name = network.partition(":")
        known = next((n for n in facts.networks if n.kind == kind and n.name == net_name), None)
        if kind == "network" and known is None:
            errors["network"] = f"Network: {facts.host} has no libvirt network {net_name!r}"
        elif kind == "network" and known is not None and not known.active and values.get("start"):
            errors["network"] = (f"Network: {net_name} is not active, so the guest could not start (start it "
                                 "with virsh net-start, or choose another)")
        elif (kind == "bridge" and known is None and facts.bridges_listed
              and net_name not in {n.bridge for n in facts.networks}):
            errors["network"] = f"Network: {facts.host} has no bridge {net_name!r}"
    return errors


def new_volume_name(domain: str, pool_type: str) -> str:
    """A new disk's volume name: ``NAME.qcow2`` in directory pools, ``NAME`` elsewhere (an LVM volume)."""
    return domain + (".qcow2" if domainxml.new_volume_format(pool_type) == "qcow2" else "")


def create_plan(values: Mapping[str, Any], facts: HostFacts, *, uuid: str, mac: str) -> Plan:
    """The create Plan, or `FormErrors` naming each input the host would refuse (`check_create`).

    ``uuid`` and ``mac`` are the new domain's (random, chosen by the caller): the XML in the plan is
    exactly the one defined."""
    errors = check_create(values, facts)
    if errors:
        raise FormErrors(errors)
    name = validate_name(values["name"])
    uri = facts.uri
    steps: list[Step] = []
    checks: list[Check] = []
    warnings: list[str] = []
    if facts.guest.note:
        warnings.append(facts.guest.note + ".")
    disk = None
    if values.get("disk"):
        pool = facts.pools[values["pool"]]
        volume = new_volume_name(name, pool.type)
        fmt = domainxml.new_volume_format(pool.type)
        disk = domainxml.DiskSource(pool.name, pool.type, volume, domainxml.volume_path(pool.type, pool.path, volume),
                                    fmt)
        steps.append(Step(
            f"Create volume {volume} ({format_size(values['disk'])}{', ' + fmt if fmt else ''}) in pool {pool.name}"
            f" (its XML below; for virsh, saved as {volume}.xml)",
            Operation.api("virStorageVolCreateXML",
                          virsh(uri, "vol-create", f"--pool={pool.name}", f"--file={volume}.xml"),
                          pool=pool.name, xml=domainxml.volume_xml(volume, values["disk"], fmt)),
            undo=_delete_volume(uri, pool.name, volume), timeout=COPY_TIMEOUT))
        if values.get("boot") == "disk":
            warnings.append("The new disk is empty: nothing boots from it until an OS is installed on it.")
    elif values.get("volume"):
        found = facts.volume(values["volume"])
        assert found is not None  # check_create
        disk = found.source()
    cdrom = None
    if values.get("boot") == "iso" and values.get("iso"):
        iso = facts.volume(values["iso"])
        assert iso is not None
        cdrom = domainxml.DiskSource(iso.pool, iso.pool_type, iso.name, iso.path, "raw")
    network = values.get("network") or "none"
    nic = None
    if network != "none":
        kind, _, net_name = network.partition(":")
        nic = (kind, net_name)
    if values.get("boot") == "kernel" and not facts.test_driver:
        for key, label in (("kernel", "kernel"), ("initrd", "initrd")):
            if values.get(key):
                checks.append(Check(f"The {label} {values[key]} is a file on {facts.host}",
                                    Operation.command("test", "-f", values[key])))
    if facts.cpus is not None and values["vcpus"] > facts.cpus:
        warnings.append(f"{values['vcpus']} vCPUs is more than the {facts.cpus} CPUs {facts.host} has online: "
                        "they will share them.")
    xml = domainxml.domain_xml(domainxml.NewDomain(
        name=name, uuid=uuid, domain_type=facts.guest.domain_type, arch=facts.guest.arch,
        memory_bytes=values["memory"], vcpus=values["vcpus"], disk=disk, cdrom=cdrom, nic=nic, mac=mac,
        console=bool(values.get("console", True)), boot=values.get("boot") or "disk", kernel=values.get("kernel"),
        initrd=values.get("initrd"), cmdline=values.get("cmdline")))
    steps.append(Step(f"Define domain {name} (its XML below; for virsh, saved as {name}.xml)",
                      Operation.api("virDomainDefineXML", virsh(uri, "define", f"--file={name}.xml"), xml=xml),
                      undo=Operation.api("virDomainUndefine", virsh(uri, "undefine", f"--domain={name}"),
                                         domain=name, uuid=uuid)))
    if values.get("start"):
        steps.append(_start(uri, name, uuid, f"Start {name}"))
    return Plan(title=f"Create {name} on {facts.host}", host=facts.host, action="create", target=name,
                steps=tuple(steps), warning=" ".join(warnings), checks=tuple(checks))


def _delete_volume(uri: str, pool: str, volume: str) -> Operation:
    return Operation.api("virStorageVolDelete", virsh(uri, "vol-delete", f"--pool={pool}", f"--vol={volume}"),
                         pool=pool, volume=volume)


def _start(uri: str, name: str, uuid: str, description: str) -> Step:
    return Step(description, Operation.api("virDomainCreate", virsh(uri, "start", f"--domain={name}"),
                                           domain=name, uuid=uuid),
                undo=Operation.api("virDomainDestroy", virsh(uri, "destroy", f"--domain={name}"),
                                   domain=name, uuid=uuid))


# --- clone ---------------------------------------------------------------------------------------------------


def pool_option(target: str) -> str:
    """The clone form's input for one disk's pool: ``pool_vda`` (a target is letters and digits)."""
    return "pool_" + re.sub(r"[^a-z0-9]", "_", target.lower())


def clone_form(domain: Domain, disk_targets: Iterable[str] = ()) -> Form:
    """The clone wizard's inputs: the clone's name (default ``SOURCE-clone``, as virt-clone), the
    snapshot to clone from (empty: the current state), the pool for the copies (empty: each disk's own
    pool), with one pool input per disk when ``disk_targets`` (known from the last poll) are more than
    one, and whether to start the clone."""
    targets = tuple(dict.fromkeys(t for t in disk_targets if t))
    per_disk = tuple(ChoiceOption(pool_option(t), f"Pool for {t}", f"pool for the copy of {t} (empty: as Pool)",
                                  required=False) for t in targets) if len(targets) > 1 else ()
    return Form(
        title=f"Clone {domain.name}",
        options=(
            TextOption("name", "Name", "the clone's name", default=f"{domain.name}-clone", validator=_domain_name),
            ChoiceOption("snapshot", "Snapshot", "clone the disks as they were at this snapshot (empty: as they are "
                         "now, which needs the source shut off)", required=False),
            ChoiceOption("pool", "Pool", "pool for the disk copies (empty: the pool each disk is in)", required=False),
            *per_disk,
            BoolOption("start", "Start", "start the clone once it is defined", default="no"),
        ),
    )


def clone_choices(facts: HostFacts, snapshots: Iterable[Snapshot], form: Form) -> dict[str, tuple[Choice, ...]]:
    """Snapshots of the source (tree order) and active pools, for every pool input of ``form``."""
    pools = tuple(Choice(p.name, p.name, _pool_detail(p)) for p in _pool_order(facts))
    def detail(snap: Snapshot) -> str:
        return ", ".join(x for x in (snap.created or "", "current" if snap.current else "") if x)

    choices: dict[str, tuple[Choice, ...]] = {"snapshot": tuple(Choice(s.name, s.name, detail(s)) for s in snapshots)}
    for option in form.options:
        if option.name == "pool" or option.name.startswith("pool_"):
            choices[option.name] = pools
    return choices


@dataclass(frozen=True, slots=True)
class CloneFacts:
    """The source of a clone as the host has it now (`storage.clone_facts`)."""

    host: HostFacts
    #: the source's inactive definition (what the clone's XML is made from)
    xml: str
    disks: tuple[hostxml.DomainDisk, ...]
    #: the snapshot cloned from, None for the current state
    snapshot: hostxml.SnapshotXml | None = None


def _qemu_opt(value: str) -> str:
    """A value inside a QEMU option string (``-l snapshot.name=VALUE``): commas doubled (QEMU's escape)."""
    return value.replace(",", ",,")


def clone_plan(source: Domain, values: Mapping[str, Any], facts: CloneFacts, *, uuid: str,
               macs: Iterator[str]) -> Plan:
    """The clone Plan, or `FormErrors` naming each input at fault.

    The source is ``source`` as last polled (its state decides whether it must be shut down first);
    ``uuid`` and ``macs`` (an endless supply of unused addresses) are the clone's."""
    host = facts.host
    uri = host.uri
    src = validate_name(source.name)
    name = values["name"]
    errors: dict[str, str] = {}
    if name in host.domains:
        errors["name"] = f"Name: {host.host} already has a domain named {name!r}"
    snap = facts.snapshot
    stop_first = False
    if snap is None:
        if source.state is DomainState.RUNNING:
            stop_first = True
        elif source.state is DomainState.PAUSED:
            errors["snapshot"] = (f"Snapshot: {src} is paused, and QEMU keeps a paused guest's disk images locked: "
                                  "shut it down to copy its disks as they are now, or clone from a snapshot")
        elif source.state is not DomainState.STOPPED:
            errors["snapshot"] = (f"Snapshot: {src} is {source.native_state}; its disks can be copied as they are "
                                  "now only while it is shut off (or clone from a snapshot)")
    elif host.test_driver and any(d.snapshot == "internal" for d in snap.disks):
        errors["snapshot"] = (f"Snapshot: the test driver keeps no disk contents, so there is nothing to copy "
                              f"from {snap.name} (on a QEMU host hvdeck reads it with qemu-img)")

    copies: list[Step] = []
    checks: list[Check] = []
    targets: dict[str, domainxml.DiskSource] = {}
    need: dict[str, int] = {}
    field_of: dict[str, str] = {}
    taken: set[tuple[str, str]] = set()
    shared: list[str] = []
    snap_disks = {d.target: d for d in snap.disks} if snap is not None else {}
    for disk in facts.disks:
        if not disk.copied:
            if disk.source:
                shared.append(disk.target)
            continue
        key = pool_option(disk.target) if pool_option(disk.target) in values else "pool"
        label = f"Pool for {disk.target}" if key != "pool" else "Pool"
        state = snap_disks.get(disk.target)
        kept = state.snapshot if state is not None else None
        path = state.source if state is not None and state.source else disk.source
        if snap is not None and kept not in ("internal", "external"):
            errors.setdefault("snapshot", f"Snapshot: {snap.name} did not keep {disk.target}'s contents "
                                          f"({kept or 'not in the snapshot'})")
            continue
        volume = host.volume_at(path)
        if volume is None:
            errors.setdefault(key, f"{label}: {disk.target} ({path or 'no source'}) is not a volume of an active "
                                   f"storage pool on {host.host}: libvirt copies only pool volumes (define a pool "
                                   "over its directory)")
            continue
        pool = host.pools.get(values.get(key) or values.get("pool") or volume.pool)
        if pool is None or not pool.active:
            errors.setdefault(key, f"{label}: no active storage pool {values.get(key) or values.get('pool')!r} on "
                                   f"{host.host}")
            continue
        # the copy keeps the format within one kind of pool; across kinds it takes the new pool's
        fmt = volume.format if pool.type == volume.pool_type else domainxml.new_volume_format(pool.type)
        if kept == "internal":
            fmt = "qcow2"
        ext = _extension(volume.name, volume.format, pool.type, fmt)
        new = f"{name}{ext}" if not targets else f"{name}-{disk.target}{ext}"
        if new in pool.volumes or (pool.name, new) in taken:
            errors.setdefault("name", f"Name: pool {pool.name} already has a volume {new!r}")
            continue
        taken.add((pool.name, new))
        dest = domainxml.DiskSource(pool.name, pool.type, new, domainxml.volume_path(pool.type, pool.path, new),
                                    fmt)
        targets[disk.target] = dest
        need[pool.name] = need.get(pool.name, 0) + (volume.capacity or 0)
        field_of.setdefault(pool.name, key)
        capacity = volume.capacity or 0
        if kept == "internal":
            if volume.format != "qcow2" or not dest.path or not volume.path:
                errors.setdefault(key, f"{label}: {disk.target}'s state at {snap.name if snap else ''} is inside a "
                                       f"qcow2 image, which is read with qemu-img into a file: a {pool.type} pool "
                                       "gives no file path")
                continue
            assert snap is not None
            copies.append(Step(
                f"Create volume {new} ({_size(capacity)}, qcow2) in pool {pool.name} for {disk.target}'s copy "
                f"(its XML below; for virsh, saved as {new}.xml)",
                Operation.api("virStorageVolCreateXML", virsh(uri, "vol-create", f"--pool={pool.name}",
                                                              f"--file={new}.xml"),
                              pool=pool.name, xml=domainxml.volume_xml(new, capacity, "qcow2")),
                undo=_delete_volume(uri, pool.name, new), timeout=COPY_TIMEOUT))
            # -U: read while QEMU holds the image (a snapshot's clusters never change under a running
            # guest); -n: into the volume libvirt just made, so that libvirt keeps knowing it
            copies.append(Step(
                f"Copy {disk.target} as it was at snapshot {snap.name} into {new}",
                Operation.command("qemu-img", "convert", "-U", "-n", "-f", "qcow2", "-O", "qcow2",
                                  "-l", f"snapshot.name={_qemu_opt(snap.name)}", volume.path, dest.path),
                timeout=COPY_TIMEOUT))
            if not any(c.operation and c.operation.argv and c.operation.argv[0] == "qemu-img" for c in checks):
                checks.append(Check(f"qemu-img is installed on {host.host}", Operation.command("qemu-img",
                                                                                                "--version")))
        else:
            when = f" as it was at snapshot {snap.name}" if snap is not None else ""
            copies.append(Step(
                f"Copy {disk.target}{when}: volume {volume.pool}/{volume.name} into {new} in pool {pool.name} "
                f"(its XML below; for virsh, saved as {new}.xml)",
                Operation.api("virStorageVolCreateXMLFrom",
                              virsh(uri, "vol-create-from", f"--pool={pool.name}", f"--file={new}.xml",
                                    f"--vol={volume.name}", f"--inputpool={volume.pool}"),
                              pool=pool.name, xml=domainxml.volume_xml(new, capacity, fmt),
                              source_pool=volume.pool, source_volume=volume.name),
                undo=_delete_volume(uri, pool.name, new), timeout=COPY_TIMEOUT))
    memory = source.max_memory_bytes or source.memory_bytes
    if values.get("start") and host.free_memory is not None and memory and memory > host.free_memory:
        errors["start"] = (f"Start: {name} would need {_size(memory)} of memory, {host.host} has "
                           f"{_size(host.free_memory)} free")
    for pool_name, bytes_needed in need.items():
        pool = host.pools[pool_name]
        if pool.free is not None and bytes_needed > pool.free:
            errors.setdefault(field_of[pool_name], f"Pool: the copies need {_size(bytes_needed)}, pool {pool_name} "
                                                   f"has {_size(pool.free)} free")
    if errors:
        raise FormErrors(errors)

    clone = domainxml.clone_xml(facts.xml, name=validate_name(name), uuid=uuid, macs=macs, disks=targets)
    steps: list[Step] = []
    warnings: list[str] = []
    src_uuid = source.uuid or ""
    if stop_first:
        warnings.append(f"{src} is running: a copy of a running guest's disks is not consistent, and QEMU keeps "
                        f"them locked even while it is paused. This plan shuts {src} down for the copy (the "
                        f"guest's OS decides; up to {SHUTDOWN_WAIT} s) and starts it again after, even if a copy "
                        "fails. Cancel, and clone from a snapshot instead, to keep it running.")
        steps.append(Step(f"Shut down {src} and wait for it to power off (ACPI power button, up to "
                          f"{SHUTDOWN_WAIT} s)",
                          Operation.api("virDomainShutdown", virsh(uri, "shutdown", f"--domain={src}"),
                                        domain=src, uuid=src_uuid, wait=str(SHUTDOWN_WAIT)),
                          timeout=SHUTDOWN_WAIT + 30.0))
    if snap is not None:
        taken_at = f" (taken {snap.created_text}, {snap.state})" if snap.created_text else ""
        warnings.append(f"The clone's disks hold what {src}'s held at snapshot {snap.name}{taken_at}; its "
                        f"configuration is {src}'s current one. A snapshot of a running guest holds its disks "
                        "as at a power cut: the clone boots from them without the memory.")
    steps += copies
    if stop_first:
        steps.append(Step(f"Start {src} again", Operation.api("virDomainCreate", virsh(uri, "start",
                                                                                       f"--domain={src}"),
                                                               domain=src, uuid=src_uuid), always=True))
    steps.append(Step(f"Define domain {name}: {src}'s definition with a new name, UUID and MAC addresses, its "
                      f"disks on the copies (its XML below; for virsh, saved as {name}.xml)",
                      Operation.api("virDomainDefineXML", virsh(uri, "define", f"--file={name}.xml"), xml=clone.xml),
                      undo=Operation.api("virDomainUndefine", virsh(uri, "undefine", f"--domain={name}"),
                                         domain=name, uuid=uuid)))
    if values.get("start"):
        steps.append(_start(uri, name, uuid, f"Start {name}"))
    if shared:
        warnings.append(f"Shared with {src}, not copied: {', '.join(shared)} (read-only or shareable).")
    warnings += [f"The clone: {note}." for note in clone.notes]
    if host.guest.note and values.get("start"):
        warnings.append(host.guest.note + ".")
    return Plan(title=f"Clone {src} as {name} on {host.host}", host=host.host, action="clone", target=name,
                steps=tuple(steps), warning=" ".join(warnings), checks=tuple(checks))


def _extension(volume: str, source_format: str | None, pool_type: str, fmt: str | None) -> str:
    """The file extension of a copy of ``volume``: none outside directory pools (an LVM volume); the
    source's own (``.qcow2``, ``.img``) when the format is kept; else the new format's."""
    if pool_type not in domainxml.FILE_POOLS:
        return ""
    if fmt == source_format:
        dot = volume.rfind(".")
        ext = volume[dot:] if dot > 0 else ""
        return ext if re.fullmatch(r"\.[A-Za-z0-9]{1,6}", ext) else ""
    return {"qcow2": ".qcow2", "raw": ".img", None: ".img"}.get(fmt, "")


# --- domain snapshots: the backend's extra actions -----------------------------------------------------------

SNAPSHOT_CREATE = ExtraAction("snapshot-create", "Create snapshot…", (Param("name", "Snapshot name", "before-upgrade"),))
SNAPSHOT_REVERT = ExtraAction("snapshot-revert", "Revert to snapshot…", (Param("name", "Snapshot name"),))
SNAPSHOT_DELETE = ExtraAction("snapshot-delete", "Delete snapshot…", (Param("name", "Snapshot name"),))
EXTRA_ACTIONS = (SNAPSHOT_CREATE, SNAPSHOT_REVERT, SNAPSHOT_DELETE)
#: the states in which libvirt takes, reverts to and deletes a domain snapshot
_SNAPSHOT_STATES = frozenset({DomainState.RUNNING, DomainState.PAUSED, DomainState.STOPPED})


def why_not_extra(action: ExtraAction, domain: Domain) -> str | None:
    if action not in EXTRA_ACTIONS:
        return f"libvirt hosts have no {action.label.lower()}"
    if domain.state not in _SNAPSHOT_STATES:
        return f"{domain.name} is {domain.native_state}"
    return None


def snapshot_tree(snapshots: Iterable[hostxml.SnapshotXml], current: str | None, of: str) -> tuple[Snapshot, ...]:
    """Snapshots in tree order: each root by creation time, then its children depth first (`virsh
    snapshot-list --tree`). A parent the list lacks makes its child a root."""
    items = list(snapshots)
    names = {s.name for s in items}
    children: dict[str | None, list[hostxml.SnapshotXml]] = {}
    for snap in items:
        children.setdefault(snap.parent if snap.parent in names else None, []).append(snap)
    out: list[Snapshot] = []

    def walk(parent: str | None) -> None:
        for snap in sorted(children.get(parent, []), key=lambda s: (s.created or 0, s.name)):
            out.append(Snapshot(of=of, name=snap.name, created=snap.created_text,
                                parent=snap.parent if snap.parent in names else None, current=snap.name == current))
            walk(snap.name)

    walk(None)
    return tuple(out)


def snapshot_plan(action: ExtraAction, domain: Domain, values: Mapping[str, str], *, uri: str,
                  snapshots: Iterable[hostxml.SnapshotXml], disks: Iterable[hostxml.DomainDisk] = (),
                  domain_type: str = "") -> Plan:
    """The plan of a snapshot action on ``domain`` whose snapshots are ``snapshots`` (and, for a new
    one, whose disks are ``disks`` of a ``domain_type`` guest). Raises `ValidationError` (shown in the
    inputs dialog) for a name libvirt would refuse, one already taken, or one that is not there."""
    name = validate_name(domain.name)
    snap_name = validate_snapshot_name((values.get("name") or "").strip())
    known = {s.name: s for s in snapshots}
    dom_uuid = domain.uuid or ""
    if action is SNAPSHOT_CREATE:
        if snap_name in known:
            raise ValidationError(f"{name} already has a snapshot named {snap_name!r}")
        if domain_type in ("qemu", "kvm"):
            raw = [d.target for d in disks if d.copied and d.format != "qcow2"]
            if raw:
                raise ValidationError(f"{', '.join(raw)} of {name} {'is' if len(raw) == 1 else 'are'} not qcow2: "
                                      "QEMU keeps a snapshot inside a qcow2 image only (libvirt: 'internal snapshot "
                                      "... unsupported for storage type raw')")
        what = "its disks and memory" if domain.state is not DomainState.STOPPED else "its disks"
        step = Step(f"Take snapshot {snap_name} of {name} ({what}, inside its images)",
                    Operation.api("virDomainSnapshotCreateXML",
                                  virsh(uri, "snapshot-create-as", f"--domain={name}", f"--name={snap_name}"),
                                  domain=name, uuid=dom_uuid, xml=domainxml.snapshot_xml(snap_name)),
                    undo=_delete_snapshot(uri, name, dom_uuid, snap_name))
        warning = (f"{name} is paused for a moment while its memory is saved." if domain.state is DomainState.RUNNING
                   else "")
        return Plan(title=f"Snapshot {name} as {snap_name} on {domain.host}", host=domain.host,
                    action=action.id, target=name, steps=(step,), warning=warning)
    snap = known.get(snap_name)
    if snap is None:
        have = ", ".join(sorted(known)[:8]) or "none"
        raise ValidationError(f"{name} has no snapshot named {snap_name!r} (it has: {have})")
    if action is SNAPSHOT_REVERT:
        then = {"running": "running", "paused": "paused", "shutoff": "shut off"}.get(snap.state)
        taken = f", taken {snap.created_text}" if snap.created_text else ""
        step = Step(f"Revert {name} to snapshot {snap_name}",
                    Operation.api("virDomainRevertToSnapshot",
                                  virsh(uri, "snapshot-revert", f"--domain={name}", f"--snapshotname={snap_name}"),
                                  domain=name, uuid=dom_uuid, snapshot=snap_name))
        warning = (f"{name}'s disks{' and memory' if snap.memory == 'internal' else ''} go back to snapshot "
                   f"{snap_name}{taken}: everything written since is lost, unless another snapshot holds it. "
                   + (f"Afterwards {name} is {then}, as it was then. " if then else "")
                   + "Type the domain name to confirm.")
        return Plan(title=f"Revert {name} to {snap_name} on {domain.host}", host=domain.host, action=action.id,
                    target=name, steps=(step,), confirm_phrase=name, warning=warning)
    if action is SNAPSHOT_DELETE:
        kids = sorted(s.name for s in known.values() if s.parent == snap_name)
        warning = ""
        if kids:
            heir = f"children of {snap.parent}" if snap.parent else "roots of the tree"
            warning = (f"{snap_name} has {len(kids)} child snapshot{'s' if len(kids) != 1 else ''} "
                       f"({', '.join(kids[:6])}{'…' if len(kids) > 6 else ''}): they are kept, and become {heir}; "
                       "what they hold does not change.")
        step = Step(f"Delete snapshot {snap_name} of {name}", _delete_snapshot(uri, name, dom_uuid, snap_name))
        return Plan(title=f"Delete snapshot {snap_name} of {name} on {domain.host}", host=domain.host,
                    action=action.id, target=name, steps=(step,), warning=warning)
    raise ValidationError(f"libvirt hosts have no {action.label.lower()}")


def _delete_snapshot(uri: str, name: str, uuid: str, snap: str) -> Operation:
    return Operation.api("virDomainSnapshotDelete",
                         virsh(uri, "snapshot-delete", f"--domain={name}", f"--snapshotname={snap}"),
                         domain=name, uuid=uuid, snapshot=snap)
