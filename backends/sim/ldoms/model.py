"""The simulated SPARC server's data: units, the machine, domains and their virtual devices, services.

Everything here is plain data; the rules that change it live in `world` and the command modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from .console import Console

K, M, G, T = 1 << 10, 1 << 20, 1 << 30, 1 << 40

#: ldm.md §3.2 (VERBATIM capture): the parseable-output version of the simulated release
PARSEABLE_VERSION = "1.11"
#: ldm.md §8 (3.x wording UNCERTAIN there): the version `ldm -V` reports
LDM_VERSION = "3.6.0.0.23"
#: memory is bound and resized in these units
MEMORY_UNIT = 256 * M
#: first real address of a guest's memory (ldm.md §3.5)
GUEST_RA_BASE = 0x10000000
#: the console of the control domain in 3.x (ldm.md §2.1)
CONTROL_CONSOLE = "UART"
#: ldm.md §3.3: CONTROL attributes; no simulated command changes them
CONTROL_DEFAULTS = (("failure-policy", "ignore"), ("extended-mapin-space", "on"), ("cpu-arch", "native"))
#: primary's boot device, as in ldm.md §3.5
PRIMARY_BOOT_DEVICE = "/pci@300/pci@1/pci@0/pci@2/scsi@0/disk@w5000cca0252a1e21,0:a disk net"
#: seconds between changes of the simulated utilisation
UTIL_STEP = 10.0
#: longest accepted domain name (see the package docstring)
MAX_NAME = 64
DOMAIN_NAME = re.compile(rf"[A-Za-z][A-Za-z0-9_.-]{{0,{MAX_NAME - 1}}}")
_SIZE = re.compile(r"(\d+)([kmgt]?)b?")
MAC = re.compile(r"[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}")
#: auto-allocated MAC addresses of LDoms (Sun's OUI 00:14:4f, range f8:00:00-fb:ff:ff)
AUTO_MAC_FIRST, AUTO_MAC_LAST = 0x00144FF80000, 0x00144FFBFFFF


class CommandError(Exception):
    """A refused command: ``str(error)`` goes to stderr, ``stdout`` (a notice printed before refusing) to
    stdout, and the exit status is ``status``."""

    def __init__(self, message: str, status: int = 1, *, stdout: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.stdout = stdout


# -- units ----------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """An ldm size (``1024m``, ``4G``, ``512M``; a bare number is bytes) in bytes. ValueError if not one."""
    match = _SIZE.fullmatch(text.lower())
    if match is None:
        raise ValueError(text)
    return int(match[1]) * {"": 1, "k": K, "m": M, "g": G, "t": T}[match[2]]


def human_size(size: int) -> str:
    """ldm.md §2.1, §4: memory in the largest unit that divides it exactly (``32G``, ``768M``, ``5632M``)."""
    for suffix, unit in (("G", G), ("M", M), ("K", K)):
        if size >= unit and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def human_uptime(seconds: int) -> str:
    """ldm.md §2.1: ``45d 8h 6m``, ``2m``, ``0s``; zero units are left out (``3d 55m`` in a 3.x capture
    on a public Veritas support page), seconds only under a minute."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{value}{unit}" for value, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if value]
    return " ".join(parts) or f"{seconds}s"


# -- the model ------------------------------------------------------------------------------------


class State(str, Enum):
    """ldm.md §1.1: the three steady states."""

    INACTIVE = "inactive"
    BOUND = "bound"
    ACTIVE = "active"


class Migrating(str, Enum):
    """ldm.md §1.2, FLAGS column 6: this domain's part in a migration."""

    NONE = "-"
    SOURCE = "s"
    TARGET = "t"
    ERROR = "e"


@dataclass(frozen=True, slots=True)
class Machine:
    """The physical box."""

    cores: int = 8
    strands_per_core: int = 8
    memory: int = 256 * G
    #: hypervisor memory: (pa, size) of the ``_sys_`` blocks of the ldm.md §7 capture
    reserved: tuple[tuple[int, int], ...] = ((0xA00000, 32 * M), (0x2A00000, 96 * M), (0x8A00000, 374 * M))
    #: the lowest physical address that can be bound to a domain (the end of the reserved blocks)
    memory_base: int = 0x20000000
    #: PCIe root complexes: (device, pseudonym)
    io: tuple[tuple[str, str], ...] = (("pci@300", "pci_0"), ("pci@301", "pci_1"), ("pci@302", "pci_2"),
                                       ("pci@303", "pci_3"))

    @property
    def strands(self) -> int:
        return self.cores * self.strands_per_core


@dataclass(slots=True)
class MemoryBlock:
    ra: int
    pa: int
    size: int


@dataclass(slots=True)
class Vnet:
    name: str
    service: str
    mac: str
    id: int
    pvid: int = 1
    vids: tuple[int, ...] = ()
    mtu: int = 1500


@dataclass(slots=True)
class Vdisk:
    name: str
    volume: str
    server: str
    id: int
    timeout: str = ""

    @property
    def vol(self) -> str:
        return f"{self.volume}@{self.server}"


@dataclass(slots=True)
class Volume:
    name: str
    dev: str
    options: str = ""


@dataclass(frozen=True, slots=True)
class Vcc:
    name: str
    ldom: str
    first_port: int = 5000
    last_port: int = 5100

    @property
    def port_range(self) -> str:
        return f"{self.first_port}-{self.last_port}"


@dataclass(frozen=True, slots=True)
class Vsw:
    name: str
    ldom: str
    mac: str
    net_dev: str = "net0"
    id: int = 0
    pvid: int = 1
    mtu: int = 1500


@dataclass(slots=True)
class Vds:
    name: str
    ldom: str
    volumes: dict[str, Volume] = field(default_factory=dict)


@dataclass(slots=True)
class Domain:
    name: str
    uuid: str
    mac: str
    state: State = State.INACTIVE
    #: constraints; equal to the bound resources when bound or active
    vcpus: int = 0
    memory: int = 0
    #: bound strands, index = vid
    strands: list[int] = field(default_factory=list)
    blocks: list[MemoryBlock] = field(default_factory=list)
    vnets: list[Vnet] = field(default_factory=list)
    vdisks: list[Vdisk] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    #: PCIe root complexes owned: (device, pseudonym)
    io: list[tuple[str, str]] = field(default_factory=list)
    console_port: int | None = None
    started_at: float | None = None
    delayed_reconfig: bool = False
    control: bool = False
    service: bool = False
    migrating: Migrating = Migrating.NONE
    #: the guest behind the virtual console: OpenBoot, Solaris, who is logged in; moves with the domain
    console: Console = field(default_factory=Console)

    @property
    def hostid(self) -> str:
        """0x84 and the low three bytes of the MAC (ldm.md §3.5: 00:14:4f:fa:ed:88 → 0x84faed88)."""
        return "0x84" + "".join(self.mac.split(":")[3:])

    @property
    def cons(self) -> str:
        if self.control:
            return CONTROL_CONSOLE
        return "" if self.console_port is None else str(self.console_port)

    @property
    def transition(self) -> bool:
        """Active but its operating system is not running (OpenBoot's ``ok`` prompt): ldm.md §1.2 column 2
        ``t``, as in the LDoms 1.2 samples of ldm.md §2.2 (a guest two minutes after ``ldm start``)."""
        return self.state is State.ACTIVE and not self.control and self.console.at_ok


@dataclass(frozen=True, slots=True)
class Live:
    """What a running domain's counters say now."""

    util: float
    norm: float
    uptime: int
    vcpu_util: tuple[float, ...]
    vcpu_norm: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Services:
    """The virtual services of the service domain."""

    vcc: Vcc
    vsw: Vsw
    vds: Vds


#: one domain and its counters (``None`` unless active), as the formatters take them
Row = tuple[Domain, Live | None]
