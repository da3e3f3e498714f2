"""The data model every backend produces and every widget reads.

Frozen dataclasses only, no I/O. A poll produces one `HostSnapshot`; the domain screen asks for one
`Bindings`. Values a hypervisor does not report are ``None`` — never guessed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields


class DomainState(str, enum.Enum):
    """The normalised state shown in every table; `Domain.native_state` keeps the host's own word."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    TRANSITION = "transition"
    CRASHED = "crashed"
    UNKNOWN = "unknown"


class HostStatus(str, enum.Enum):
    """How fresh a host's data is.

    up: the last poll succeeded. stale: the link dropped and is being retried; the domains shown are
    the last good ones. down: never reached (or gave up). error: reached, but its output could not be
    used (garbage, permission, unknown host key...).
    """

    CONNECTING = "connecting"
    UP = "up"
    STALE = "stale"
    DOWN = "down"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Domain:
    """One guest as one row of the fleet table.

    ``cpu_percent`` is the share of the domain's own vCPU capacity in use over the last poll interval
    (0-100, like ``ldm list`` UTIL and virt-manager's guest CPU), derived from the CPU-time delta where the
    hypervisor gives counters. Rates are bytes per second between the last two polls.
    """

    host: str
    name: str
    state: DomainState
    native_state: str
    id: int | None = None
    uuid: str | None = None
    vcpus: int | None = None
    memory_bytes: int | None = None
    max_memory_bytes: int | None = None
    cpu_percent: float | None = None
    uptime_s: int | None = None
    console: str | None = None
    net_rx_bps: float | None = None
    net_tx_bps: float | None = None
    disk_rd_bps: float | None = None
    disk_wr_bps: float | None = None
    #: backend-specific columns as (label, text), e.g. (("flags", "-n-cv-"),) on LDoms
    extra: tuple[tuple[str, str], ...] = ()
    #: a backend's own handle on the domain, opaque to everything else (a Xen guest's config file path)
    handle: str | None = None
    #: the hypervisor's own state flags as it prints them (LDoms FLAGS ``-n-cv-``), shown after the native
    #: state; ``flags_meaning`` spells them out (``normal, control, vio-service``)
    flags: str | None = None
    flags_meaning: str = ""

    @property
    def key(self) -> str:
        """Stable identity across polls within a fleet: host plus UUID where known, else name."""
        return f"{self.host}\x1f{self.uuid or self.name}"


@dataclass(frozen=True, slots=True)
class HostInfo:
    """What a probe learned about a control host."""

    kind: str
    hypervisor: str = ""
    version: str = ""
    hostname: str = ""
    cpus: int | None = None
    memory_bytes: int | None = None
    #: what the host lacks that the UI should say (e.g. "ldm list-bindings not available")
    notes: tuple[str, ...] = ()
    #: what the probe learned that decides plans and forms (Xen's toolstack, a global zone's layout), as
    #: (name, value): a session-less copy of the backend (`Backend.adopt`) decides as the probed one does
    facts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class KeyProblem:
    """Why a host's SSH key is not trusted, carried in its snapshot so the console needs nothing else to
    ask about it. Only an ``unknown`` key is ever offered for trust; ``changed`` and ``revoked`` keys are
    refused and named, ``other`` covers a jump host (ProxyJump) or a key that could not be fetched."""

    kind: str  # unknown | changed | revoked | other
    message: str
    host: str
    address: str
    port: int
    fingerprint: str | None
    #: the offered key in OpenSSH form ("ssh-ed25519 AAAA..."), appended on explicit trust
    key_line: str | None
    known_hosts: str
    #: the known_hosts host field for this connection: ``name`` or ``[name]:port``
    pattern: str
    known_fingerprints: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return {"unknown": "Unknown host key", "changed": "Host key CHANGED",
                "revoked": "Host key REVOKED"}.get(self.kind, "Host key not trusted")

    @property
    def can_trust(self) -> bool:
        return self.kind == "unknown" and bool(self.key_line and self.fingerprint)


@dataclass(frozen=True, slots=True)
class HostSnapshot:
    """Everything known about one host after one poll (or one failed poll)."""

    host: str
    kind: str
    status: HostStatus
    taken_at: float
    domains: tuple[Domain, ...] = ()
    error: str | None = None
    info: HostInfo | None = None
    #: monotonic time of the last successful poll; with status STALE the UI shows its age
    last_ok: float | None = None
    read_only: bool = False
    #: set when the host is refused because of its SSH host key
    key_problem: KeyProblem | None = None


# --- bindings: the domain screen, laid out like `ldm list-bindings` ---------------------------------


@dataclass(frozen=True, slots=True)
class VcpuPin:
    vcpu: int
    cpuset: str  # as the hypervisor writes it: "0-3,8" or "yyyy----"


@dataclass(frozen=True, slots=True)
class Cpu:
    vcpus: int | None
    max_vcpus: int | None = None
    pinning: tuple[VcpuPin, ...] = ()


@dataclass(frozen=True, slots=True)
class Memory:
    current_bytes: int | None
    max_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Disk:
    target: str  # vda, xvda, vdisk0
    source: str | None  # file path, volume (pool/vol), block device, or vol@vds
    source_type: str = ""  # file, block, volume, network, ...
    device: str = "disk"  # disk, cdrom, lun
    bus: str | None = None
    read_only: bool = False
    format: str | None = None


@dataclass(frozen=True, slots=True)
class Nic:
    mac: str | None
    source_type: str = ""  # bridge, network, direct, vsw
    source: str | None = None  # br0, default, primary-vsw0
    model: str | None = None
    target: str | None = None  # vnet3


@dataclass(frozen=True, slots=True)
class ConsoleDev:
    kind: str  # serial, console, vcons
    type: str  # pty, tcp, file, vntsd, ...
    target: str | None = None  # serial port number, or "ttyS0"
    path: str | None = None  # /dev/pts/3, or a TCP port


@dataclass(frozen=True, slots=True)
class Section:
    """A backend-specific table on the domain screen (VARIABLES, VDS, IO...): a title, headers, rows."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    #: common sections this one says more than (shown instead of them): LDoms' VCPU (VID/PID/CID) replaces
    #: the generic "pinning"; a section titled like a common one (MEMORY, NETWORK) replaces it anyway
    replaces: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Bindings:
    host: str
    domain: str
    cpu: Cpu
    memory: Memory
    disks: tuple[Disk, ...] = ()
    nics: tuple[Nic, ...] = ()
    consoles: tuple[ConsoleDev, ...] = ()
    extra: tuple[Section, ...] = field(default_factory=tuple)



# --- what a host offers: the typed answers wizards ask for ------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoragePool:
    """Where new disks can be made: a ZFS pool or dataset, a libvirt storage pool, an LVM volume group,
    a directory of vdisks. Sizes in bytes; None where the host does not say."""

    name: str
    kind: str  # zfs, libvirt-dir, libvirt-logical, lvm, vdisk-dir, ...
    capacity_bytes: int | None = None
    free_bytes: int | None = None
    path: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class Volume:
    """One disk image in a pool: a zvol, a libvirt volume, a logical volume, a vdisk."""

    pool: str
    name: str
    capacity_bytes: int | None = None
    #: what a guest's disk points at (/dev/zvol/dsk/pool/vol, /var/lib/libvirt/images/x.qcow2, /dev/vg/lv)
    path: str | None = None
    format: str | None = None
    #: the snapshot it was cloned from, if any (pool/vol@snap)
    origin: str | None = None
    #: which domain's disk uses it, where the host says (``domain/vdisk``)
    used_by: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A point-in-time copy: of a volume (``zfs snapshot``, ``lvcreate -s``, ``vdiskadm snapshot``) or of a
    whole domain (libvirt). ``parent`` builds libvirt's snapshot tree; ``clones`` are what depends on it
    (a snapshot with clones cannot be destroyed)."""

    of: str  # the volume (pool/vol) or the domain it is a snapshot of
    name: str
    created: str | None = None  # as the host prints it
    parent: str | None = None
    clones: tuple[str, ...] = ()
    current: bool = False
    used_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Network:
    """What a guest's NIC can attach to: an LDoms virtual switch, a libvirt network, a bridge, a zone's
    physical link."""

    name: str
    kind: str  # vsw, libvirt-network, bridge, link
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FreeResources:
    """What a host can still give a new or growing guest."""

    cpus: int | None = None  # strands / vCPUs not bound to any domain
    memory_bytes: int | None = None
    total_cpus: int | None = None
    total_memory_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class ConsoleRef:
    """How a domain's console is reached, for the console pane's title and the audit log."""

    kind: str  # vntsd, libvirt, xl, xm, zlogin
    description: str  # "vntsd port 5001", "serial0 (pty)", "xl console web01"
    #: what the guest's own console program uses to detach (shown beside hvdeck's detach key)
    detach_hint: str = ""
    #: True when another session may already hold it and a forced attach exists (libvirt's force)
    can_force: bool = False


def _pickled_by_constructor(cls: type) -> None:
    """Pickle ``cls`` as a call of its constructor with its fields in order. The dataclass default for a
    frozen slots class (``_dataclass_setstate``) looks up the fields and sets each one per object: a sixth
    of the console's CPU went there at 500 hosts, where the engine process sends ~10,000 domains a second."""
    import operator

    names = tuple(f.name for f in fields(cls))
    values = operator.attrgetter(*names)

    def __reduce__(self: object) -> tuple[type, tuple[object, ...]]:
        got = values(self)
        return cls, (got if len(names) > 1 else (got,))

    cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]


for _cls in (Domain, HostInfo, KeyProblem, HostSnapshot, VcpuPin, Cpu, Memory, Disk, Nic, ConsoleDev, Section,
             Bindings, StoragePool, Volume, Snapshot, Network, FreeResources, ConsoleRef):
    _pickled_by_constructor(_cls)
