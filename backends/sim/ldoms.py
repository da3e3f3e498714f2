"""A simulated SPARC control domain: ``ldm`` (Oracle VM Server for SPARC 3.x) and ``zfs``, over SSH.

`LdomsWorld` is one physical machine with its control domain ``primary``: strands and memory that
domains really bind and release, the virtual services on primary, guest domains moving through the
inactive → bound → active life cycle, and a ZFS pool whose volumes back the virtual disks. ``handle``
answers an SSH exec request (a shell command line) the way a real control domain would, and `serve`
puts the world behind an in-process SSH server.

Output formats come from the project's ldm format notes (``shared/formats/ldm.md``, cited below as
"ldm.md §N"). The simulator targets OVM Server for SPARC 3.x on firmware ≥ 8.2: six-column flags,
``UART`` as the control domain's console, the NORM column and ``norm_util``. Each formatter names the
section it follows and its confidence there: VERBATIM-shaped (laid out exactly like a captured or
documented sample), or RECONSTRUCTED (assembled from attested pieces, or chosen here where nothing is
documented). Every parseable (``-p``) output starts with ``VERSION 1.11``, the version of the one real
3.x capture (ldm.md §3.2): a single ldm release prints one version, though the 3.x-era samples of other
commands in ldm.md show ``1.6``.

Modelling choices (all RECONSTRUCTED unless a section is cited):

- Machine: 8 cores × 8 strands (pids 0-63, core = pid // 8), 256 GiB of memory whose first 512 MiB are
  the hypervisor's (the ``_sys_`` blocks of the ldm.md §7 capture), four PCIe root complexes.
- Memory is bound in 256 MiB units (the granularity of memory dynamic reconfiguration), first fit from
  the lowest free physical address, so a domain may get several blocks. Sizes that are not a multiple
  of 256M are refused. Guest real addresses start at 0x10000000 (ldm.md §3.5); primary's equal its
  physical addresses.
- vCPUs are bound to the lowest free strands; the console port is the lowest free one in the vcc range.
- Domain names: a letter, then letters, digits, ``-``, ``_`` or ``.``, at most 64 characters (the
  longest names in the captures are 18; 64 matches Solaris's zone-name limit and keeps the human
  columns sane). ldm.md documents no rule.
- Dynamic reconfiguration: vCPU and memory changes on an active guest take effect at once; the ``r``
  flag (memory DR in progress) is never shown because the change is instantaneous.
- Delayed reconfiguration (ldm.md §1.2 flag column 3 ``d``): changing the vCPUs or memory of the active
  control domain starts one (real 3.x can often do this dynamically; the simulator always takes the
  delayed path, as after ``ldm start-reconf primary``). While primary is in delayed reconfiguration,
  changes to other domains are refused, and changes to primary print a notice; both wordings are those
  of Fujitsu's "Oracle VM Server for SPARC" guide (C120-E680, section 3.2.11). The changed resources are
  bound at once; ``ldm stop -r primary`` (a reboot) ends the delayed reconfiguration. Oracle's 3.x guide
  allows delayed reconfiguration outside the control domain only on root domains, so the demo's guest
  in delayed reconfiguration (ldm.md §1.2 lists ``-nd---``) is a root domain that owns a PCIe bus;
  stopping or rebooting it clears the flag.
- UTIL and NORM of active domains come from a seeded generator sampled in 10-second steps of the
  injected clock: the same seed and clock give the same numbers. UPTIME is the clock minus the start.
- Messages: refusals go to stderr with exit status 1 (zfs usage errors 2). ldm.md attests only the
  substrings ``already exists`` (add-vdsdev), ``does not exist`` and ``is attached`` (rm-vdsdev) and
  ``not found``, and recalls ``Domain <name> not found`` (UNCERTAIN); the messages use them where they
  apply. The delayed-reconfiguration notices are quoted from Fujitsu's guide (above). Every other
  wording, including "LDom <name> started/stopped" on stdout, is RECONSTRUCTED in ldm's style. The zfs
  messages follow Solaris zfs.
"""

from __future__ import annotations

import getopt
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from xml.sax.saxutils import escape

import asyncssh

from .shell import CommandNotFound, run_line
from .sshserver import Reply, SimSSHServer, StdinReader

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
#: ldm.md §4: the line between domains in long listings, and the line between sections
BLOCK_SEPARATOR = "-" * 78
SECTION_GAP = " "
#: primary's boot device, as in ldm.md §3.5
PRIMARY_BOOT_DEVICE = "/pci@300/pci@1/pci@0/pci@2/scsi@0/disk@w5000cca0252a1e21,0:a disk net"
#: seconds between changes of the simulated utilisation
UTIL_STEP = 10.0
#: longest accepted domain name (see the module docstring)
MAX_NAME = 64
_DOMAIN_NAME = re.compile(rf"[A-Za-z][A-Za-z0-9_.-]{{0,{MAX_NAME - 1}}}")
_SIZE = re.compile(r"(\d+)([kmgt]?)b?")
_ZFS_SIZE = re.compile(r"(\d+(?:\.\d+)?)([kmgtp]?)b?")
_MAC = re.compile(r"[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}")
#: auto-allocated MAC addresses of LDoms (Sun's OUI 00:14:4f, range f8:00:00-fb:ff:ff)
_AUTO_MAC_FIRST, _AUTO_MAC_LAST = 0x00144FF80000, 0x00144FFBFFFF


class CommandError(Exception):
    """A refused ldm or zfs command: ``str(error)`` goes to stderr, ``stdout`` (a notice ldm printed before
    refusing) to stdout, and the exit status is ``status``."""

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


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _hex(value: int) -> str:
    return f"{value:#x}"


# -- the model ------------------------------------------------------------------------------------


class State(str, Enum):
    """ldm.md §1.1: the three steady states."""

    INACTIVE = "inactive"
    BOUND = "bound"
    ACTIVE = "active"


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

    @property
    def hostid(self) -> str:
        """0x84 and the low three bytes of the MAC (ldm.md §3.5: 00:14:4f:fa:ed:88 → 0x84faed88)."""
        return "0x84" + "".join(self.mac.split(":")[3:])

    @property
    def cons(self) -> str:
        if self.control:
            return CONTROL_CONSOLE
        return "" if self.console_port is None else str(self.console_port)


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


# -- formatting helpers ---------------------------------------------------------------------------


def _cells(widths: Sequence[int], *values: str) -> str:
    """Columns the way ldm pads them (ldm.md §2.1): each value, padded to its width minus one, then one
    space, so a longer value pushes the rest right; the last value unpadded; no trailing blanks."""
    assert len(values) == len(widths) + 1
    padded = "".join(value.ljust(width - 1) + " " for value, width in zip(values, widths))
    return (padded + values[-1]).rstrip()


def _indented(widths: Sequence[int], *values: str, indent: int = 4) -> str:
    return " " * indent + _cells(widths, *values)


def _record(keyword: str, *pairs: tuple[str, object]) -> str:
    """ldm.md §3.1: ``KEYWORD|k=v|k=v`` (a sub-row when ``keyword`` is empty)."""
    return keyword + "".join(f"|{key}={value}" for key, value in pairs)


def _lines(lines: Iterable[str]) -> str:
    text = "\n".join(lines)
    return text + "\n" if text else ""


def _parseable(lines: Iterable[str]) -> str:
    return _lines([f"VERSION {PARSEABLE_VERSION}", *lines])


def _sections(*sections: list[str]) -> list[str]:
    """ldm.md §4: each non-empty section is preceded by a line holding one space."""
    lines: list[str] = []
    for section in sections:
        if section:
            lines += [SECTION_GAP, *section]
    return lines


def _blocks(blocks: Iterable[list[str]]) -> str:
    """ldm.md §4: domains in a long listing are separated by a gap line and 78 dashes."""
    lines: list[str] = []
    for block in blocks:
        if lines:
            lines += [SECTION_GAP, BLOCK_SEPARATOR]
        lines += block
    return _lines(lines)


def flag_letters(domain: Domain) -> str:
    """ldm.md §1.2 (VERBATIM definitions): six position-dependent columns, ``-`` when off. Column 1
    (starting/stopping) and column 6 (migration) are never set: transitions are instantaneous here."""
    return "".join((
        "-",
        "n" if domain.state is State.ACTIVE else "-",
        "d" if domain.delayed_reconfig else "-",
        "c" if domain.control else "-",
        "v" if domain.service else "-",
        "-",
    ))


def flag_words(domain: Domain) -> str:
    """ldm.md §1.2: the ``-l -p`` spelling. ``normal``, ``control`` and ``vio-service`` are attested;
    ``delayed-reconfig`` is UNCERTAIN there (RECONSTRUCTED)."""
    words = [word for on, word in ((domain.state is State.ACTIVE, "normal"),
                                   (domain.delayed_reconfig, "delayed-reconfig"),
                                   (domain.control, "control"), (domain.service, "vio-service")) if on]
    return ",".join(words)


def _cpusets(domain: Domain, strands_per_core: int) -> list[tuple[int, list[int]]]:
    cores: dict[int, list[int]] = {}
    for pid in sorted(domain.strands):
        cores.setdefault(pid // strands_per_core, []).append(pid)
    return sorted(cores.items())


# -- ldm -V ---------------------------------------------------------------------------------------

# ldm.md §8: the layout of the LDoms 1.2 sample (VERBATIM), with the 3.x "Logical Domains Manager"
# wording and 3.x-era version numbers. RECONSTRUCTED: ldm.md marks the 3.x output UNCERTAIN.
def format_version() -> str:
    return _lines([
        SECTION_GAP,
        f"Logical Domains Manager (v {LDM_VERSION})",
        "   Hypervisor control protocol v 1.12",
        "   Using Hypervisor MD v 1.4",
        SECTION_GAP,
        "System PROM:",
        f"   {'Hypervisor':<12}{'v. 1.20.7.':<13}@(#)Hypervisor 1.20.7. 2019/06/19 11:37",
        f"   {'OpenBoot':<12}{'v. 4.43.4.':<13}@(#)OBP 4.43.4. 2019/06/05 13:41",
    ])


# -- ldm list -------------------------------------------------------------------------------------

#: ldm.md §2.1: NAME 17, STATE 11, FLAGS 8, CONS 8, VCPU 6, MEMORY 9, UTIL 6, NORM 6, then UPTIME
LIST_WIDTHS = (17, 11, 8, 8, 6, 9, 6, 6)
LIST_HEADER = _cells(LIST_WIDTHS, "NAME", "STATE", "FLAGS", "CONS", "VCPU", "MEMORY", "UTIL", "NORM", "UPTIME")


def _list_row(domain: Domain, live: Live | None) -> str:
    return _cells(LIST_WIDTHS, domain.name, domain.state.value, flag_letters(domain), domain.cons,
                  str(domain.vcpus), human_size(domain.memory), _percent(live and live.util),
                  _percent(live and live.norm), human_uptime(live.uptime) if live else "")


# ldm.md §2.1 (VERBATIM-shaped: the 3.x capture's header, column starts and pushing rule; bound and
# inactive rows end after MEMORY).
def format_list(rows: Sequence[Row]) -> str:
    return _lines([LIST_HEADER, *(_list_row(domain, live) for domain, live in rows)])


def _domain_record(domain: Domain, live: Live | None, flags: str) -> str:
    return _record("DOMAIN", ("name", domain.name), ("state", domain.state.value), ("flags", flags),
                   ("cons", domain.cons), ("ncpu", domain.vcpus), ("mem", domain.memory),
                   ("util", _number(live and live.util)), ("uptime", live.uptime if live else ""),
                   ("norm_util", _number(live and live.norm)))


# ldm.md §3.2 (VERBATIM-shaped: the 3.x capture's fields and order; util, uptime and norm_util empty
# for bound and inactive domains, ATTESTED).
def format_list_parseable(rows: Sequence[Row]) -> str:
    return _parseable(_domain_record(domain, live, flag_letters(domain)) for domain, live in rows)


# -- ldm list -l -p / list-bindings -p ------------------------------------------------------------

def _service_records(services: Services, *, with_ldom: bool) -> list[str]:
    """The VCC, VSW and VDS lines of ldm.md §3.5 (list-bindings) or §5 (list-services, ``ldom=``)."""
    vcc, vsw, vds = services.vcc, services.vsw, services.vds
    ldom = (("ldom", vcc.ldom),) if with_ldom else ()
    vsw_pairs = [("name", vsw.name), *ldom, ("mac-addr", vsw.mac), ("net-dev", vsw.net_dev),
                 ("dev", "switch@0"), ("default-vlan-id", 1), ("pvid", vsw.pvid), ("vid", ""), ("mode", ""),
                 ("mtu", vsw.mtu)]
    vsw_pairs += [("linkprop", ""), ("id", vsw.id)] if with_ldom else [("id", vsw.id)]
    return [
        _record("VCC", ("name", vcc.name), *ldom, ("port-range", vcc.port_range)),
        _record("VSW", *vsw_pairs),
        _record("VDS", ("name", vds.name), *ldom),
        *(_record("", ("vol", volume.name), ("opts", volume.options), ("dev", volume.dev), ("mpgroup", ""))
          for volume in vds.volumes.values()),
    ]


def _bindings_records(domain: Domain, live: Live | None, services: Services,
                      strands_per_core: int) -> list[str]:
    lines = [
        _domain_record(domain, live, flag_words(domain)),
        _record("UUID", ("uuid", domain.uuid)),
        _record("MAC", ("mac-addr", domain.mac)),
        _record("HOSTID", ("hostid", domain.hostid)),
        _record("CONTROL", *CONTROL_DEFAULTS),
        _record("DEPENDENCY", ("master", "")),
    ]
    if domain.strands:
        lines.append("CORE")
        lines += [_record("", ("cid", cid), ("cpuset", ",".join(map(str, pids))))
                  for cid, pids in _cpusets(domain, strands_per_core)]
        lines.append("VCPU")
        # ldm.md §3.3: 3.x adds cid and norm to §3.5's rows (their order UNCERTAIN there)
        lines += [_record("", ("vid", vid), ("pid", pid), ("util", _percent(live and live.vcpu_util[vid])),
                          ("strand", 100), ("cid", pid // strands_per_core),
                          ("norm", _percent(live and live.vcpu_norm[vid])))
                  for vid, pid in enumerate(domain.strands)]
    if domain.blocks:
        lines.append("MEMORY")
        lines += [_record("", ("ra", _hex(block.ra)), ("pa", _hex(block.pa)), ("size", block.size))
                  for block in domain.blocks]
    if domain.variables:
        lines.append("VARIABLES")
        lines += [f"|{name}={value}" for name, value in domain.variables.items()]
    if domain.io:
        lines.append("IO")
        lines += [_record("", ("dev", dev), ("alias", alias)) for dev, alias in domain.io]
    if domain.service:
        lines += _service_records(services, with_ldom=False)
    lines += [_record("VNET", ("name", vnet.name), ("dev", f"network@{vnet.id}"),
                      ("service", f"{vnet.service}@{services.vsw.ldom}"), ("mac-addr", vnet.mac), ("mode", ""),
                      ("pvid", vnet.pvid), ("vid", ",".join(map(str, vnet.vids))), ("mtu", vnet.mtu),
                      ("id", vnet.id))
              for vnet in domain.vnets]
    lines += [_record("VDISK", ("name", disk.name), ("vol", disk.vol), ("timeout", disk.timeout),
                      ("dev", f"disk@{disk.id}"), ("server", services.vds.ldom), ("mpgroup", ""), ("id", disk.id))
              for disk in domain.vdisks]
    if not domain.control:
        vcc = services.vcc
        # ldm.md §3.3: log= (console logging, UNCERTAIN there) as the human LOGGING column prints it
        lines.append(_record("VCONS", ("group", domain.name), ("service", f"{vcc.name}@{vcc.ldom}"),
                             ("port", domain.cons), ("log", "on")))
    return lines


# ldm.md §3.5 (RECONSTRUCTED there, followed line for line: the DOMAIN line with spelled-out flags,
# UUID, MAC, HOSTID, CONTROL, DEPENDENCY, CORE, VCPU, MEMORY, VARIABLES, IO, VCC/VSW/VDS on the service
# domain, VNET, VDISK, VCONS on guests), plus the attributes §3.3 says 3.x adds (norm= on VCPU rows, log= on
# VCONS). CORE, VCPU and MEMORY appear only while resources are bound.
def format_bindings_parseable(rows: Sequence[Row], services: Services, strands_per_core: int) -> str:
    lines: list[str] = []
    for domain, live in rows:
        lines += _bindings_records(domain, live, services, strands_per_core)
    return _parseable(lines)


# -- ldm list -l / list-bindings (human) ----------------------------------------------------------

def _vcc_section(services: Services) -> list[str]:
    vcc = services.vcc
    return ["VCC", _indented((17,), "NAME", "PORT-RANGE"), _indented((17,), vcc.name, vcc.port_range)]


def _vsw_section(services: Services) -> list[str]:
    vsw, widths = services.vsw, (17, 18, 10, 10)
    return ["VSW", _indented(widths, "NAME", "MAC", "NET-DEV", "DEVICE", "MODE"),
            _indented(widths, vsw.name, vsw.mac, vsw.net_dev, "switch@0", "")]


def _vds_section(services: Services) -> list[str]:
    vds, widths = services.vds, (17, 15, 17)
    rows = [_indented(widths, vds.name if index == 0 else "", volume.name, volume.options, volume.dev)
            for index, volume in enumerate(vds.volumes.values())]
    return ["VDS", _indented(widths, "NAME", "VOLUME", "OPTIONS", "DEVICE"), *(rows or [f"    {vds.name}"])]


def _io_section(domain: Domain) -> list[str]:
    widths = (17, 17)
    return ["IO", _indented(widths, "DEVICE", "PSEUDONYM", "OPTIONS"),
            *(_indented(widths, dev, alias, "") for dev, alias in domain.io)] if domain.io else []


def _variables_section(domain: Domain) -> list[str]:
    return ["VARIABLES", *(f"    {name}={value}" for name, value in domain.variables.items())] \
        if domain.variables else []


def _network_section(domain: Domain, peers: dict[str, list[tuple[str, str]]], services: Services) -> list[str]:
    widths = (17, 26, 5, 11, 18, 6, 5, 5, 6, 7)
    lines = ["NETWORK"] if domain.vnets else []
    for vnet in domain.vnets:
        lines.append(_indented(widths, "NAME", "SERVICE", "ID", "DEVICE", "MAC", "MODE", "PVID", "VID", "MTU",
                               "MAXBW", "LINKPROP"))
        lines.append(_indented(widths, vnet.name, f"{vnet.service}@{services.vsw.ldom}", str(vnet.id),
                               f"network@{vnet.id}", vnet.mac, "", str(vnet.pvid), ",".join(map(str, vnet.vids)),
                               str(vnet.mtu), "", ""))
        vnet_peers = peers.get(f"{vnet.name}@{domain.name}", [])
        if vnet_peers:
            lines.append(_indented((28,), "PEER", "MAC", indent=8))
            lines += [_indented((28,), peer, mac, indent=8) for peer, mac in vnet_peers]
    return lines


def _disk_section(domain: Domain, services: Services) -> list[str]:
    widths = (17, 28, 5, 5, 11, 11)
    if not domain.vdisks:
        return []
    return ["DISK", _indented(widths, "NAME", "VOLUME", "TOUT", "ID", "DEVICE", "SERVER", "MPGROUP"),
            *(_indented(widths, disk.name, disk.vol, disk.timeout, str(disk.id), f"disk@{disk.id}",
                        services.vds.ldom, "") for disk in domain.vdisks)]


def _vcons_section(domain: Domain, services: Services) -> list[str]:
    widths = (17, 28, 7)
    header = _indented(widths, "NAME", "SERVICE", "PORT", "LOGGING")
    if domain.control:
        return ["VCONS", header, f"    {CONTROL_CONSOLE}"]
    port = "" if domain.console_port is None else str(domain.console_port)
    return ["VCONS", header,
            _indented(widths, domain.name, f"{services.vcc.name}@{services.vcc.ldom}", port, "on")]


def _core_section(domain: Domain, strands_per_core: int) -> list[str]:
    if not domain.strands:
        return []
    return ["CORE", _indented((7,), "CID", "CPUSET"),
            *(_indented((7,), str(cid), f"({', '.join(map(str, pids))})")
              for cid, pids in _cpusets(domain, strands_per_core))]


def _vcpu_section(domain: Domain, live: Live | None, strands_per_core: int) -> list[str]:
    """UTIL, NORM and STRAND are right-aligned under their titles (ldm.md §4: ``0.0%   100%``)."""
    if not domain.strands:
        return []
    lines = ["VCPU", _indented((7, 7, 7), "VID", "PID", "CID", "UTIL NORM STRAND")]
    for vid, pid in enumerate(domain.strands):
        util, norm = _percent(live and live.vcpu_util[vid]), _percent(live and live.vcpu_norm[vid])
        lines.append(_indented((7, 7, 7), str(vid), str(pid), str(pid // strands_per_core),
                               f"{util:>4} {norm:>4} {'100%':>6}"))
    return lines


def _memory_section(domain: Domain) -> list[str]:
    if not domain.blocks:
        return []
    return ["MEMORY", _indented((17, 17), "RA", "PA", "SIZE"),
            *(_indented((17, 17), _hex(block.ra), _hex(block.pa), human_size(block.size))
              for block in domain.blocks)]


def _long_block(domain: Domain, live: Live | None, services: Services, strands_per_core: int,
                peers: dict[str, list[tuple[str, str]]], *, extended: bool) -> list[str]:
    softstate = ["SOFTSTATE", "Solaris running"] if extended and domain.state is State.ACTIVE else []
    service = [_vcc_section(services), _vsw_section(services), _vds_section(services)] if domain.service else []
    return [LIST_HEADER, _list_row(domain, live), *_sections(
        softstate,
        ["UUID", f"    {domain.uuid}"],
        ["MAC", f"    {domain.mac}"],
        ["HOSTID", f"    {domain.hostid}"],
        ["CONTROL", *(f"    {key}={value}" for key, value in CONTROL_DEFAULTS)],
        ["DEPENDENCY", "    master="],
        _core_section(domain, strands_per_core),
        _vcpu_section(domain, live, strands_per_core),
        _memory_section(domain),
        _variables_section(domain),
        _io_section(domain),
        *service,
        _network_section(domain, peers, services),
        _disk_section(domain, services),
        _vcons_section(domain, services),
    )]


# ldm.md §4: the LDoms 1.2 long listing (VERBATIM-shaped: the header row, one-space gap lines, titled
# sections with 4-space-indented rows, the VCPU/MEMORY/IO/VCC/VSW/VDS column sets, PEER sub-tables,
# 78-dash separators), grown by the 3.x additions ldm.md lists: UUID, CORE, VCPU with CID and NORM, and
# the 3.x NETWORK, DISK and VCONS column sets (RECONSTRUCTED, UNCERTAIN there). ``extended`` (``-e``)
# adds SOFTSTATE.
def format_long(rows: Sequence[Row], services: Services, strands_per_core: int,
                peers: dict[str, list[tuple[str, str]]], *, extended: bool = False) -> str:
    return _blocks(_long_block(domain, live, services, strands_per_core, peers, extended=extended)
                   for domain, live in rows)


# -- ldm list-services ----------------------------------------------------------------------------

# ldm.md §5 (RECONSTRUCTED sample, followed exactly, including the UNCERTAIN ``ldom=``).
def format_services_parseable(services: Services) -> str:
    return _parseable(_service_records(services, with_ldom=True))


# ldm.md §5: the 1.x column sets with the LDOM column; widths RECONSTRUCTED (the 3.x set is UNCERTAIN).
def format_services(services: Services) -> str:
    vcc, vsw, vds = services.vcc, services.vsw, services.vds
    vsw_widths, vds_widths = (17, 17, 18, 10, 5, 11, 11, 16, 5, 5, 6, 7), (17, 17, 15, 17, 11)
    volumes = [_indented(vds_widths, vds.name if index == 0 else "", vds.ldom if index == 0 else "",
                         volume.name, volume.options, "", volume.dev)
               for index, volume in enumerate(vds.volumes.values())]
    return _lines(_sections(
        ["VCC", _indented((17, 17), "NAME", "LDOM", "PORT-RANGE"),
         _indented((17, 17), vcc.name, vcc.ldom, vcc.port_range)],
        ["VSW", _indented(vsw_widths, "NAME", "LDOM", "MAC", "NET-DEV", "ID", "DEVICE", "LINKPROP", "DEFAULT-VLAN-ID",
                          "PVID", "VID", "MTU", "MODE", "INTER-VNET-LINK"),
         _indented(vsw_widths, vsw.name, vsw.ldom, vsw.mac, vsw.net_dev, str(vsw.id), "switch@0", "", "1",
                   str(vsw.pvid), "", str(vsw.mtu), "", "on")],
        ["VDS", _indented(vds_widths, "NAME", "LDOM", "VOLUME", "OPTIONS", "MPGROUP", "DEVICE"),
         *(volumes or [_indented((17,), vds.name, vds.ldom)])],
    )[1:])


# -- ldm list-devices -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Devices:
    """What list-devices reports: every core, strand, memory block and root complex with its owner."""

    #: (cid, pids of the core, how many are free)
    cores: list[tuple[int, list[int], int]]
    #: (pid, owner or "")
    strands: list[tuple[int, str]]
    #: (pa, size, owner or "" when free), by address
    memory: list[tuple[int, int, str]]
    #: (device, pseudonym, owner or "")
    io: list[tuple[str, str, str]]


DEVICE_KINDS = ("core", "cpu", "memory", "io", "crypto")


# ldm.md §7 (VERBATIM-shaped for VCPU ``|pid=|free=|pm=no`` and MEMORY ``|pa=|size=|bound=`` rows; without
# -a only free resources, and MEMORY rows without ``bound=``, RECONSTRUCTED). CORE rows ``|cid=|free=|cpuset=``
# and IO rows ``|dev=|alias=|bound=`` are RECONSTRUCTED. The simulated machine's crypto units belong to
# its cores (no separately bound MAU), so ``crypto`` lists nothing.
def format_devices_parseable(devices: Devices, kinds: Sequence[str], *, all_: bool) -> str:
    lines: list[str] = []
    if "core" in kinds:
        lines.append("CORE")
        lines += [_record("", ("cid", cid), ("free", 100 * free // len(pids)), ("cpuset", ",".join(map(str, pids))))
                  for cid, pids, free in devices.cores if all_ or free]
    if "cpu" in kinds:
        lines.append("VCPU")
        lines += [_record("", ("pid", pid), ("free", 0 if owner else 100), ("pm", "no"))
                  for pid, owner in devices.strands if all_ or not owner]
    if "memory" in kinds:
        lines.append("MEMORY")
        lines += [_record("", ("pa", _hex(pa)), ("size", size), *((("bound", owner),) if all_ else ()))
                  for pa, size, owner in devices.memory if all_ or not owner]
    if "io" in kinds:
        lines.append("IO")
        lines += [_record("", ("dev", dev), ("alias", alias), *((("bound", owner),) if all_ else ()))
                  for dev, alias, owner in devices.io if all_ or not owner]
    return _parseable(lines)


# ldm.md §7 has no human sample; MEMORY follows the LDoms 1.3 guide's ``PA SIZE`` table (VERBATIM-shaped,
# quoted in its "Migrating Memory in an Active Domain" section), with a BOUND column under -a. CORE
# ``ID %FREE CPUSET``, VCPU ``PID %FREE PM`` and IO ``DEVICE PSEUDONYM BOUND`` are RECONSTRUCTED.
def format_devices(devices: Devices, kinds: Sequence[str], *, all_: bool) -> str:
    sections: list[list[str]] = []
    if "core" in kinds:
        sections.append(["CORE", _indented((8, 8), "ID", "%FREE", "CPUSET"),
                         *(_indented((8, 8), str(cid), str(100 * free // len(pids)), f"({', '.join(map(str, pids))})")
                           for cid, pids, free in devices.cores if all_ or free)])
    if "cpu" in kinds:
        sections.append(["VCPU", _indented((8, 8), "PID", "%FREE", "PM"),
                         *(_indented((8, 8), str(pid), "0" if owner else "100", "no")
                           for pid, owner in devices.strands if all_ or not owner)])
    if "memory" in kinds:
        rows = [(_hex(pa), human_size(size), owner) for pa, size, owner in devices.memory if all_ or not owner]
        if all_:
            table = [_indented((21, 16), "PA", "SIZE", "BOUND"), *(_indented((21, 16), *row) for row in rows)]
        else:
            table = [_indented((21,), "PA", "SIZE"), *(_indented((21,), pa, size) for pa, size, _ in rows)]
        sections.append(["MEMORY", *table])
    if "io" in kinds:
        sections.append(["IO", _indented((17, 17), "DEVICE", "PSEUDONYM", "BOUND"),
                         *(_indented((17, 17), dev, alias, owner) for dev, alias, owner in devices.io
                           if all_ or not owner)])
    return _lines(_sections(*sections)[1:])


# -- ldm list-constraints -------------------------------------------------------------------------

# ldm.md §6.2 (VERBATIM-shaped: the LDoms 1.2 sample's lines and order) with the 3.x UUID and CONTROL
# lines salt expects (position RECONSTRUCTED: right after DOMAIN and MAC).
def format_constraints_parseable(domains: Sequence[Domain], services: Services) -> str:
    lines: list[str] = []
    for domain in domains:
        lines += [_record("DOMAIN", ("name", domain.name)), _record("UUID", ("uuid", domain.uuid)),
                  _record("MAC", ("mac-addr", domain.mac)), _record("CONTROL", *CONTROL_DEFAULTS),
                  _record("VCPU", ("count", domain.vcpus)), _record("MEMORY", ("size", domain.memory))]
        if domain.variables:
            lines += ["VARIABLES", *(f"|{name}={value}" for name, value in domain.variables.items())]
        if domain.io:
            lines += ["IO", *(_record("", ("dev", dev), ("alias", alias)) for dev, alias in domain.io)]
        if domain.service:
            vds, vcc, vsw = services.vds, services.vcc, services.vsw
            lines += [_record("VDS", ("name", vds.name)),
                      *(_record("", ("vol", volume.name), ("opts", volume.options), ("dev", volume.dev))
                        for volume in vds.volumes.values()),
                      _record("VCC", ("name", vcc.name), ("port-range", vcc.port_range)),
                      _record("VSW", ("name", vsw.name), ("mac-addr", ""), ("net-dev", vsw.net_dev),
                              ("dev", "switch@0"))]
        lines += [_record("VNET", ("name", vnet.name), ("dev", f"network@{vnet.id}"), ("service", vnet.service),
                          ("mac-addr", vnet.mac)) for vnet in domain.vnets]
        lines += [_record("VDISK", ("name", disk.name), ("vol", disk.vol)) for disk in domain.vdisks]
    return _parseable(lines)


# ldm.md §6.1 (VERBATIM-shaped: the LDoms 1.2 sample's DOMAIN, VCPU, MEMORY, NETWORK, DISK and VCONS
# sections and widths). VARIABLES, and IO/VCC/VSW/VDS for the service domain, reuse the long-listing
# sections; domains are separated as in a long listing (RECONSTRUCTED).
def format_constraints(domains: Sequence[Domain], services: Services) -> str:
    blocks = []
    for domain in domains:
        network = ["NETWORK", _indented((13, 28, 13), "NAME", "SERVICE", "DEVICE", "MAC"),
                   *(_indented((13, 28, 13), vnet.name, vnet.service, f"network@{vnet.id}", vnet.mac)
                     for vnet in domain.vnets)] if domain.vnets else []
        disks = ["DISK", _indented((17,), "NAME", "VOLUME"),
                 *(_indented((17,), disk.name, disk.vol) for disk in domain.vdisks)] if domain.vdisks else []
        vcons = [] if domain.control else ["VCONS", _indented((17,), "NAME", "SERVICE"),
                                           _indented((17,), domain.name, services.vcc.name)]
        service = [_vcc_section(services), _vsw_section(services), _vds_section(services)] if domain.service else []
        blocks.append(_sections(
            ["DOMAIN", domain.name],
            ["VCPU", "    COUNT", f"    {domain.vcpus}"],
            ["MEMORY", "    SIZE", f"    {human_size(domain.memory)}"],
            _variables_section(domain), _io_section(domain), *service, network, disks, vcons,
        )[1:])
    return _blocks(blocks)


# ldm.md §6.3 (VERBATIM-shaped: the LDoms 1.2 XML schema and indentation). Real 3.x emits the OVF
# Envelope form instead (ldm.md §6.3); it is not simulated.
def format_constraints_xml(domains: Sequence[Domain]) -> str:
    def element(depth: int, tag: str, text: object) -> str:
        return f"{'  ' * depth}<{tag}>{escape(str(text))}</{tag}>"

    lines = ['<?xml version="1.0"?>', '<LDM_interface version="1.0">', '  <data version="2.0">']
    for domain in domains:
        lines += ["    <ldom>", "      <ldom_info>", element(4, "ldom_name", domain.name), "      </ldom_info>",
                  "      <cpu>", element(4, "number", domain.vcpus), "      </cpu>",
                  "      <memory>", element(4, "size", human_size(domain.memory)), "      </memory>"]
        for vnet in domain.vnets:
            lines += ["      <network>", element(4, "vnet_name", vnet.name), element(4, "service_name", vnet.service),
                      element(4, "mac_address", vnet.mac), "      </network>"]
        for disk in domain.vdisks:
            lines += ["      <disk>", element(4, "vdisk_name", disk.name), element(4, "service_name", disk.server),
                      element(4, "vol_name", disk.volume), "      </disk>"]
        for name, value in domain.variables.items():
            lines += ["      <var>", element(4, "name", name), element(4, "value", value), "      </var>"]
        lines.append("    </ldom>")
    lines += ["  </data>", "</LDM_interface>"]
    return _lines(lines)


# ldm.md §8 (ATTESTED): ``name=value`` lines.
def format_variables(pairs: Iterable[tuple[str, str]]) -> str:
    return _lines(f"{name}={value}" for name, value in pairs)


# -- ZFS ------------------------------------------------------------------------------------------

class DatasetType(str, Enum):
    FILESYSTEM = "filesystem"
    VOLUME = "volume"
    SNAPSHOT = "snapshot"


@dataclass(slots=True)
class Dataset:
    name: str
    type: DatasetType
    used: int
    referenced: int
    volsize: int | None = None
    origin: str | None = None
    #: creation order, as zfs's createtxg: snapshots list oldest first
    created: int = 0


#: zfs list -o properties: name -> (header, right-aligned in human output)
ZFS_PROPERTIES = {"name": ("NAME", False), "type": ("TYPE", False), "used": ("USED", True),
                  "available": ("AVAIL", True), "referenced": ("REFER", True), "volsize": ("VOLSIZE", True),
                  "origin": ("ORIGIN", False), "mountpoint": ("MOUNTPOINT", False)}
ZFS_PROPERTY_ALIASES = {"avail": "available", "refer": "referenced"}
ZFS_DEFAULT_COLUMNS = ("name", "used", "available", "referenced", "mountpoint")
ZFS_TYPE_NAMES = {"filesystem": DatasetType.FILESYSTEM, "fs": DatasetType.FILESYSTEM,
                  "volume": DatasetType.VOLUME, "vol": DatasetType.VOLUME,
                  "snapshot": DatasetType.SNAPSHOT, "snap": DatasetType.SNAPSHOT}
#: volumes are created with 8K blocks; volsize must be a multiple
VOLBLOCKSIZE = 8 * K
#: the subcommands simulated, with their zfs(8) synopses as the usage messages show them
ZFS_SYNOPSES = {
    "create": "create -V <size> <volume>",
    "snapshot": "snapshot <filesystem|volume>@<snap> ...",
    "clone": "clone <snapshot> <filesystem|volume>",
    "destroy": "destroy [-r] <filesystem|volume|snapshot>",
    "list": "list [-Hpr] [-o property[,...]] [-t type[,...]] [filesystem|volume|snapshot] ...",
}


def _zfs_usage(command: str) -> str:
    return f"usage:\n\t{ZFS_SYNOPSES[command]}"


def zfs_nicenum(value: int) -> str:
    """zfs(8)'s human numbers (Solaris ``zfs_nicenum``): exact multiples as ``20G``, otherwise three
    significant digits (``1.50G``, ``20.6G``, ``206G``); bytes without a unit."""
    index = 0
    while index < 6 and value >= 1 << (10 * (index + 1)):
        index += 1
    suffix = " KMGTPE"[index].strip()
    if value % (1 << (10 * index)) == 0:
        return f"{value >> (10 * index)}{suffix}"
    scaled = value / (1 << (10 * index))
    for decimals in (2, 1):
        text = f"{scaled:.{decimals}f}{suffix}"
        if len(text) <= 5:
            return text
    return f"{scaled:.0f}{suffix}"


def parse_zfs_size(text: str) -> int:
    """A zfs size (``20G``, ``1.5t``, ``512M``, bytes without a unit). ValueError if not one."""
    match = _ZFS_SIZE.fullmatch(text.lower())
    if match is None:
        raise ValueError(text)
    return int(float(match[1]) * {"": 1, "k": K, "m": M, "g": G, "t": T, "p": 1 << 50}[match[2]])


class ZfsPool:
    """One pool as ``zfs`` sees it: its root filesystem, volumes, snapshots and clones.

    The zfs command lines and their messages follow the zfs(8) man page and the wording of Solaris's
    zfs; none of it is in ldm.md (RECONSTRUCTED). Space: a volume uses its volsize (the refreservation
    of a non-sparse volume), a snapshot uses nothing until its volume changes (never, here), a clone
    uses nothing and refers to its origin's data.
    """

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._created = 0
        self.datasets: dict[str, Dataset] = {}
        self._add(Dataset(name, DatasetType.FILESYSTEM, used=0, referenced=32 * K))

    def _add(self, dataset: Dataset) -> Dataset:
        self._created += 1
        dataset.created = self._created
        self.datasets[dataset.name] = dataset
        return dataset

    # -- queries --

    @property
    def used(self) -> int:
        return sum(d.used for d in self.datasets.values() if d.name != self.name) + \
            self.datasets[self.name].referenced

    @property
    def available(self) -> int:
        return self.size - self.used

    def volume(self, name: str) -> Dataset | None:
        dataset = self.datasets.get(name)
        return dataset if dataset is not None and dataset.type is DatasetType.VOLUME else None

    def _open(self, name: str) -> Dataset:
        if name not in self.datasets:
            raise CommandError(f"cannot open '{name}': dataset does not exist")
        return self.datasets[name]

    def _descendants(self, name: str) -> list[Dataset]:
        return [d for d in self.datasets.values() if d.name.startswith((f"{name}/", f"{name}@"))]

    def _clones_of(self, snapshots: Iterable[Dataset]) -> list[Dataset]:
        origins = {snap.name for snap in snapshots}
        return [d for d in self.datasets.values() if d.origin in origins]

    # -- changes --

    def create_volume(self, name: str, volsize: int, *, referenced: int = 0) -> Dataset:
        if name in self.datasets:
            raise CommandError(f"cannot create '{name}': dataset already exists")
        pool, _, rest = name.partition("/")
        if pool != self.name:
            raise CommandError(f"cannot create '{name}': no such pool '{pool}'")
        if not rest or "@" in name:
            raise CommandError(f"cannot create '{name}': invalid dataset name")
        if name.rpartition("/")[0] not in self.datasets:
            raise CommandError(f"cannot create '{name}': parent does not exist")
        if volsize <= 0 or volsize % VOLBLOCKSIZE:
            raise CommandError(f"cannot create '{name}': volume size must be a multiple of volume block size")
        if volsize > self.available:
            raise CommandError(f"cannot create '{name}': out of space")
        return self._add(Dataset(name, DatasetType.VOLUME, used=volsize, referenced=referenced, volsize=volsize))

    def snapshot(self, name: str) -> Dataset:
        parent, _, snap = name.partition("@")
        if not snap:
            raise CommandError(f"cannot create snapshot '{name}': invalid dataset name")
        source = self._open(parent)
        if name in self.datasets:
            raise CommandError(f"cannot create snapshot '{name}': dataset already exists")
        return self._add(Dataset(name, DatasetType.SNAPSHOT, used=0, referenced=source.referenced,
                                 volsize=source.volsize))

    def clone(self, snapshot: str, name: str) -> Dataset:
        origin = self._open(snapshot)
        if origin.type is not DatasetType.SNAPSHOT:
            raise CommandError(f"cannot open '{snapshot}': operation not applicable to datasets of this type")
        if name.partition("/")[0] != self.name:
            raise CommandError(f"cannot create '{name}': source and target pools differ")
        if name in self.datasets:
            raise CommandError(f"cannot create '{name}': dataset already exists")
        if name.rpartition("/")[0] not in self.datasets:
            raise CommandError(f"cannot create '{name}': parent does not exist")
        return self._add(Dataset(name, DatasetType.VOLUME, used=0, referenced=origin.referenced,
                                 volsize=origin.volsize, origin=origin.name))

    def destroy(self, name: str, *, recursive: bool, busy: Callable[[str], bool]) -> None:
        dataset = self._open(name)
        if dataset.name == self.name:
            raise CommandError(f"cannot destroy '{name}': operation does not apply to pools")
        children = self._descendants(name)
        if children and not recursive:
            kind = "volume" if dataset.type is DatasetType.VOLUME else "filesystem"
            raise CommandError("\n".join([f"cannot destroy '{name}': {kind} has children",
                                           "use '-r' to destroy the following datasets:",
                                           *(child.name for child in children)]))
        doomed = [dataset, *children]
        snapshots = [d for d in doomed if d.type is DatasetType.SNAPSHOT]
        clones = [clone for clone in self._clones_of(snapshots) if clone not in doomed]
        if clones:
            blocker = next(snap.name for snap in snapshots if any(c.origin == snap.name for c in clones))
            raise CommandError("\n".join([f"cannot destroy '{blocker}': snapshot has dependent clones",
                                           "use '-R' to destroy the following datasets:",
                                           *(clone.name for clone in clones)]))
        for victim in doomed:
            if busy(victim.name):
                raise CommandError(f"cannot destroy '{victim.name}': dataset is busy")
        for victim in doomed:
            del self.datasets[victim.name]

    # -- zfs list --

    def _value(self, dataset: Dataset, prop: str, exact: bool) -> str:
        number = {"used": self.used if dataset.name == self.name else dataset.used,
                  "available": None if dataset.type is DatasetType.SNAPSHOT else self.available,
                  "referenced": dataset.referenced, "volsize": dataset.volsize}
        if prop in number:
            value = number[prop]
            return "-" if value is None else str(value) if exact else zfs_nicenum(value)
        if prop == "name":
            return dataset.name
        if prop == "type":
            return dataset.type.value
        if prop == "origin":
            return dataset.origin or "-"
        return f"/{dataset.name}" if dataset.type is DatasetType.FILESYSTEM else "-"  # mountpoint

    def listing(self, names: Sequence[str], *, types: set[DatasetType], columns: Sequence[str], scripted: bool,
                exact: bool, recursive: bool) -> str:
        """zfs(8) ``zfs list``: ``-H`` tab-separated without a header, ``-p`` exact numbers, ``-t`` types,
        ``-o`` columns, ``-r`` descendants of the named datasets. Sorted by name, a dataset's snapshots
        right after it, oldest first."""
        if names:
            chosen: list[Dataset] = []
            for name in names:
                dataset = self._open(name)
                chosen += [dataset, *(self._descendants(name) if recursive else ())]
        else:
            chosen = list(self.datasets.values())
        shown = sorted({d.name: d for d in chosen if d.type in types}.values(),
                       key=lambda d: (d.name.partition("@")[0], d.type is DatasetType.SNAPSHOT, d.created))
        table = [[self._value(d, column, exact) for column in columns] for d in shown]
        if scripted:
            return _lines("\t".join(row) for row in table)
        headers = [ZFS_PROPERTIES[column][0] for column in columns]
        widths = [max(len(cell) for cell in column) for column in zip(headers, *table)]
        rows = [headers, *table]
        return _lines("  ".join(cell.rjust(width) if ZFS_PROPERTIES[column][1] else cell.ljust(width)
                                for cell, width, column in zip(row, widths, columns)).rstrip()
                      for row in rows)


# -- the world ------------------------------------------------------------------------------------

#: ldm.md §13 short forms of whole subcommands
_SHORTCUTS = {"list": "list-domain", "ls": "list-domain", "bind": "bind-domain", "unbind": "unbind-domain",
              "start": "start-domain", "stop": "stop-domain"}
#: ldm(8)'s verb and noun abbreviations, which give ldm.md §13's ls-bindings, rm-dom and the like
_VERBS = {"ls": "list", "rm": "remove"}
_NOUNS = {"dom": "domain", "mem": "memory", "var": "variable"}


def canonical_subcommand(name: str) -> str:
    """``ls`` → ``list-domain``, ``rm-dom`` → ``remove-domain``, ``set-var`` → ``set-variable``."""
    if name in _SHORTCUTS:
        return _SHORTCUTS[name]
    verb, _, noun = name.partition("-")
    return f"{_VERBS.get(verb, verb)}-{_NOUNS.get(noun, noun)}" if noun else name


#: ldm.md §1.1, the life cycle: subcommand -> (the state it needs, the state it leaves; None = deleted)
LIFECYCLE: dict[str, tuple[State, State | None]] = {
    "bind-domain": (State.INACTIVE, State.BOUND),
    "start-domain": (State.BOUND, State.ACTIVE),
    "stop-domain": (State.ACTIVE, State.BOUND),
    "unbind-domain": (State.BOUND, State.INACTIVE),
    "remove-domain": (State.INACTIVE, None),
}
#: what ldm says when a life-cycle subcommand meets a domain in another state (RECONSTRUCTED wording)
WRONG_STATE: dict[tuple[str, State], str] = {
    ("bind-domain", State.BOUND): "LDom {name} is already bound",
    ("bind-domain", State.ACTIVE): "LDom {name} is already bound",
    ("start-domain", State.INACTIVE): "LDom {name} is not bound",
    ("start-domain", State.ACTIVE): "LDom {name} is already active",
    ("stop-domain", State.INACTIVE): "LDom {name} is not active",
    ("stop-domain", State.BOUND): "LDom {name} is not active",
    ("unbind-domain", State.INACTIVE): "LDom {name} is not bound",
    ("unbind-domain", State.ACTIVE): "LDom {name} must be stopped before it can be unbound",
    ("remove-domain", State.BOUND): "LDom {name} must be unbound before it can be removed",
    ("remove-domain", State.ACTIVE): "LDom {name} must be stopped and unbound before it can be removed",
}

#: Fujitsu C120-E680 §3.2.11 (ldm output quoted there): delayed reconfiguration notices
_NOTICE_RULE = "-" * 64
_DELAYED_NOTICE = (f"{_NOTICE_RULE}\nNotice: LDom {{name}} is in the process of a delayed reconfiguration.\n"
                   f"Any changes made to {{name}} will only take effect after it reboots.\n{_NOTICE_RULE}")
_DELAYED_REFUSAL = "Delayed reconfiguration of LDom {name} is not permitted"
#: the message when a change starts a delayed reconfiguration on primary (RECONSTRUCTED, from memory)
_DELAYED_START = ("Initiating a delayed reconfiguration operation on the primary domain.\n"
                  "All configuration changes for other domains are disabled until the primary\n"
                  "domain reboots, at which time the new configuration for the primary domain\n"
                  "will also take effect.")

_USAGE = {
    "list-domain": "list-domain [-e] [-l] [-p] [<ldom>...]",
    "list-bindings": "list-bindings [-e] [-p] [<ldom>...]",
    "list-services": "list-services [-p]",
    "list-constraints": "list-constraints [-x] [-p] [<ldom>...]",
    "list-devices": "list-devices [-a] [-p] [core] [cpu] [crypto] [memory] [io]",
    "list-variable": "list-variable [<var-name>...] <ldom>",
    "add-domain": "add-domain <ldom>",
    "remove-domain": "remove-domain <ldom>...",
    "add-vcpu": "add-vcpu <number> <ldom>",
    "set-vcpu": "set-vcpu <number> <ldom>",
    "remove-vcpu": "remove-vcpu <number> <ldom>",
    "add-memory": "add-memory <size>[GMK] <ldom>",
    "set-memory": "set-memory <size>[GMK] <ldom>",
    "remove-memory": "remove-memory <size>[GMK] <ldom>",
    "add-vnet": "add-vnet [mac-addr=<num>] [pvid=<pvid>] [vid=<vid1,vid2,...>] [mtu=<mtu>] [id=<id>] "
                "<if_name> <vswitch_name> <ldom>",
    "remove-vnet": "remove-vnet <if_name> <ldom>",
    "add-vdsdev": "add-vdsdev [options={ro,slice,excl}] <backend> <volume_name>@<service_name>",
    "remove-vdsdev": "remove-vdsdev <volume_name>@<service_name>",
    "add-vdisk": "add-vdisk [timeout=<seconds>] [id=<id>] <disk_name> <volume_name>@<service_name> <ldom>",
    "remove-vdisk": "remove-vdisk <disk_name> <ldom>",
    "set-variable": "set-variable <var-name>=<value>... <ldom>",
    "bind-domain": "bind-domain <ldom>",
    "unbind-domain": "unbind-domain <ldom>",
    "start-domain": "start-domain (-a | <ldom>...)",
    "stop-domain": "stop-domain [-f] [-r] (-a | <ldom>...)",
}


def _usage(subcommand: str) -> CommandError:
    """ldm's usage message (RECONSTRUCTED wording and synopses, after ldm(8))."""
    return CommandError(f"Usage:\n    ldm {_USAGE[subcommand]}")


def _properties(args: Sequence[str], allowed: Iterable[str], subcommand: str) -> tuple[dict[str, str], list[str]]:
    """Split ``prop=value`` arguments from the positional ones (names never contain ``=``)."""
    props, positional, allowed = {}, [], set(allowed)
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            positional.append(arg)
        elif key in allowed:
            props[key] = value
        else:
            raise _usage(subcommand)
    return props, positional


class LdomsWorld:
    """One simulated SPARC server and its control domain ``primary``.

    ``run(argv)`` runs one ``ldm``, ``zfs`` or ``hostname`` command; ``await handle(line, read_stdin)``
    runs a shell command line (the SSH server's handler). A new world has only ``primary`` (16 vCPUs,
    32G, the services and an empty pool); `demo` adds a realistic set of guests.
    """

    def __init__(self, hostname: str = "t7-a", *, seed: int = 0, clock: Callable[[], float] = time.monotonic,
                 machine: Machine = Machine(), pool_size: int = 2 * T) -> None:
        self.hostname = hostname
        self.seed = seed
        self.clock = clock
        self.machine = machine
        self._rng = random.Random(f"ldoms/{hostname}/{seed}")
        self._macs: set[str] = set()
        #: notices printed on stderr by the command being run
        self._notices: list[str] = []
        self.domains: dict[str, Domain] = {}
        self.services = Services(
            vcc=Vcc("primary-vcc0", "primary"),
            vsw=Vsw("primary-vsw0", "primary", self._new_mac()),
            vds=Vds("primary-vds0", "primary"),
        )
        self.pool = ZfsPool("ldompool", pool_size)
        primary = self._new_domain("primary")
        primary.control = primary.service = True
        primary.io = list(machine.io[:3])
        primary.variables = {"auto-boot?": "true", "boot-device": PRIMARY_BOOT_DEVICE}
        primary.vcpus, primary.memory = 16, 32 * G
        self._bind(primary)
        primary.state, primary.started_at = State.ACTIVE, clock()

    # -- identities --

    def _new_mac(self) -> str:
        while True:
            value = self._rng.randint(_AUTO_MAC_FIRST, _AUTO_MAC_LAST)
            mac = ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -1, -8))
            if mac not in self._macs:
                self._macs.add(mac)
                return mac

    def _new_domain(self, name: str) -> Domain:
        domain = Domain(name, str(uuid.UUID(int=self._rng.getrandbits(128), version=4)), self._new_mac())
        self.domains[name] = domain
        return domain

    # -- resources --

    def free_strands(self) -> list[int]:
        bound = {pid for domain in self.domains.values() for pid in domain.strands}
        return [pid for pid in range(self.machine.strands) if pid not in bound]

    def _owned_memory(self) -> list[tuple[int, int, str]]:
        """(pa, size, owner) of every block not free: ``_sys_`` and the domains'."""
        blocks = [(pa, size, "_sys_") for pa, size in self.machine.reserved]
        blocks += [(b.pa, b.size, d.name) for d in self.domains.values() for b in d.blocks]
        return sorted(blocks)

    def free_memory(self) -> list[tuple[int, int]]:
        """(pa, size) of the free ranges, by address."""
        free, cursor = [], self.machine.memory_base
        for pa, size, _ in self._owned_memory():
            if pa + size <= cursor:
                continue
            if pa > cursor:
                free.append((cursor, pa - cursor))
            cursor = pa + size
        if cursor < self.machine.memory:
            free.append((cursor, self.machine.memory - cursor))
        return free

    def _take_memory(self, domain: Domain, size: int) -> None:
        """Bind ``size`` more bytes to ``domain``, first fit by address, continuing its real address space
        (primary's real addresses equal its physical ones). The caller checked there is room."""
        ra = domain.blocks[-1].ra + domain.blocks[-1].size if domain.blocks else GUEST_RA_BASE
        for pa, free in self.free_memory():
            if size == 0:
                break
            chunk = min(free, size)
            domain.blocks.append(MemoryBlock(pa if domain.control else ra, pa, chunk))
            ra, size = ra + chunk, size - chunk

    def _release_memory(self, domain: Domain, size: int) -> None:
        """Unbind ``size`` bytes from the end of the domain's real address space."""
        while size:
            last = domain.blocks[-1]
            if last.size > size:
                last.size -= size
                return
            size -= last.size
            domain.blocks.pop()

    def _check_room(self, domain: Domain, vcpus: int, memory: int) -> None:
        """Refuse to bind ``vcpus`` more strands and ``memory`` more bytes than are free (RECONSTRUCTED
        wording)."""
        free_strands = len(self.free_strands())
        if vcpus > free_strands:
            raise CommandError(f"Not enough free vcpus for LDom {domain.name}: {vcpus} requested, "
                               f"{free_strands} available")
        free_memory = sum(size for _, size in self.free_memory())
        if memory > free_memory:
            raise CommandError(f"Not enough free memory for LDom {domain.name}: {human_size(memory)} requested, "
                               f"{human_size(free_memory)} available")

    def _bind(self, domain: Domain) -> None:
        """Bind the domain's constraints: the lowest free strands, memory, and for a guest the lowest free
        console port. Its state is the caller's to set."""
        self._check_room(domain, domain.vcpus, domain.memory)
        domain.strands = self.free_strands()[:domain.vcpus]
        self._take_memory(domain, domain.memory)
        if not domain.control:
            used = {d.console_port for d in self.domains.values()}
            vcc = self.services.vcc
            # the range has more ports than the machine has strands, so a bindable domain always finds one
            domain.console_port = min(set(range(vcc.first_port, vcc.last_port + 1)) - used)

    @staticmethod
    def _unbind(domain: Domain) -> None:
        domain.strands, domain.blocks, domain.console_port = [], [], None

    def devices(self) -> Devices:
        owner_of_strand = {pid: d.name for d in self.domains.values() for pid in d.strands}
        per_core = self.machine.strands_per_core
        cores = []
        for cid in range(self.machine.cores):
            pids = list(range(cid * per_core, (cid + 1) * per_core))
            cores.append((cid, pids, sum(pid not in owner_of_strand for pid in pids)))
        memory = self._owned_memory() + [(pa, size, "") for pa, size in self.free_memory()]
        owner_of_bus = {dev: d.name for d in self.domains.values() for dev, _ in d.io}
        return Devices(cores=cores,
                       strands=[(pid, owner_of_strand.get(pid, "")) for pid in range(self.machine.strands)],
                       memory=sorted(memory),
                       io=[(dev, alias, owner_of_bus.get(dev, "")) for dev, alias in self.machine.io])

    # -- live counters --

    def live(self, domain: Domain) -> Live | None:
        """UTIL, NORM, per-vCPU UTIL and uptime of an active domain; ``None`` otherwise."""
        if domain.state is not State.ACTIVE or domain.started_at is None:
            return None
        now = self.clock()
        step = int(now // UTIL_STEP)
        profile = random.Random(f"{self.seed}/{domain.name}")
        base, norm_ratio = profile.uniform(0.3, 8.0), profile.uniform(0.96, 1.0)
        util = round(min(100.0, base * random.Random(f"{self.seed}/{domain.name}/{step}").uniform(0.5, 1.5)), 1)
        vcpu_util = tuple(
            round(min(100.0, util * random.Random(f"{self.seed}/{domain.name}/{step}/{vid}").uniform(0.2, 1.8)), 1)
            for vid in range(len(domain.strands)))
        return Live(util, round(util * norm_ratio, 1), int(now - domain.started_at), vcpu_util,
                    tuple(round(value * norm_ratio, 1) for value in vcpu_util))

    def _rows(self, names: Sequence[str]) -> list[Row]:
        domains = [self._domain(name) for name in names] if names else list(self.domains.values())
        return [(domain, self.live(domain)) for domain in domains]

    def _peers(self) -> dict[str, list[tuple[str, str]]]:
        """ldm.md §4 PEER tables: for each bound vnet (``name@domain``), the switch and the other bound vnets
        on it."""
        vsw = self.services.vsw
        bound = [(f"{vnet.name}@{domain.name}", vnet.mac) for domain in self.domains.values()
                 if domain.state is not State.INACTIVE for vnet in domain.vnets]
        return {name: [(f"{vsw.name}@{vsw.ldom}", vsw.mac), *(peer for peer in bound if peer[0] != name)]
                for name, _ in bound}

    # -- lookups and checks --

    def _domain(self, name: str) -> Domain:
        # ldm.md §2.2: "Domain <name> not found" (UNCERTAIN there)
        if name not in self.domains:
            raise CommandError(f"Domain {name} not found")
        return self.domains[name]

    def _volume(self, spec: str) -> tuple[Vds, Volume]:
        name, _, server = spec.partition("@")
        vds = self.services.vds
        if server != vds.name or name not in vds.volumes:
            raise CommandError(f"Volume {spec} not found")
        return vds, vds.volumes[name]

    def _guard(self, name: str) -> None:
        """Refuse a change to domain ``name`` while the control domain is in delayed reconfiguration: the
        notice on stdout, the refusal on stderr, exit 1, as a recorded ldm does (tests/fixtures/cases/
        ldoms-primary-delayed-reconfig-guest-dr: `set-vcpu 8 ldom1`, `stop ldom1`)."""
        primary = self.domains["primary"]
        if primary.delayed_reconfig and name != primary.name:
            raise CommandError(_DELAYED_REFUSAL.format(name=name),
                               stdout=_lines([_DELAYED_NOTICE.format(name=primary.name)]))

    def _touch(self, domain: Domain) -> None:
        """A configuration change of ``domain`` is about to happen: `_guard` it, and print the notice when
        the domain itself has a delayed reconfiguration pending."""
        self._guard(domain.name)
        if domain.delayed_reconfig:
            self._notices.append(_DELAYED_NOTICE.format(name=domain.name))

    def _resize_check(self, domain: Domain, vcpus: int, memory: int) -> None:
        """Bound and active domains keep at least one vCPU and one memory unit."""
        if domain.state is not State.INACTIVE and (vcpus < 1 or memory < MEMORY_UNIT):
            raise CommandError(f"LDom {domain.name} is {domain.state.value} and needs at least 1 vcpu and "
                               f"{human_size(MEMORY_UNIT)} of memory")

    def _resize(self, domain: Domain, vcpus: int, memory: int) -> None:
        """Set the vCPU and memory constraints; a bound or active domain gets or gives up the resources
        at once, and the active control domain enters delayed reconfiguration."""
        self._touch(domain)
        self._resize_check(domain, vcpus, memory)
        if domain.state is not State.INACTIVE:
            self._check_room(domain, max(0, vcpus - domain.vcpus), max(0, memory - domain.memory))
            if vcpus > domain.vcpus:
                domain.strands += self.free_strands()[:vcpus - domain.vcpus]
            else:
                del domain.strands[vcpus:]
            if memory > domain.memory:
                self._take_memory(domain, memory - domain.memory)
            else:
                self._release_memory(domain, domain.memory - memory)
            if domain.control and domain.state is State.ACTIVE and not domain.delayed_reconfig:
                domain.delayed_reconfig = True
                self._notices.append(_DELAYED_START)
        domain.vcpus, domain.memory = vcpus, memory

    # -- running commands --

    async def handle(self, command_line: str, read_stdin: StdinReader) -> Reply:
        """The SSH server's handler: a shell command line, as sshd would pass it to ``sh -c``."""
        return run_line(command_line, self.run)

    def run(self, argv: Sequence[str]) -> Reply:
        """One command. Raises `CommandNotFound` for a program this host does not have."""
        program, args = argv[0], list(argv[1:])
        programs = {"ldm": self._ldm, "zfs": self._zfs, "hostname": self._hostname}
        if program not in programs:
            raise CommandNotFound(program)
        self._notices = []
        try:
            stdout = programs[program](args)
        except CommandError as error:
            return Reply(error.stdout, _lines([*self._notices, str(error)]), error.status)
        return Reply(stdout, _lines(self._notices))

    def _hostname(self, args: list[str]) -> str:
        return f"{self.hostname}\n"

    # -- ldm --

    def _ldm(self, args: list[str]) -> str:
        if args == ["-V"]:
            return format_version()
        subcommand = canonical_subcommand(args[0]) if args else ""
        if subcommand not in _USAGE:
            unknown = f"Invalid command: {args[0]}\n" if args and args[0] != "--help" else ""
            raise CommandError(unknown + "Usage:\n" + "\n".join(f"    ldm {usage}" for usage in _USAGE.values()))
        return getattr(self, "_ldm_" + subcommand.replace("-", "_"))(subcommand, args[1:])

    @staticmethod
    def _options(subcommand: str, args: list[str], letters: str) -> tuple[set[str], list[str]]:
        try:
            options, rest = getopt.gnu_getopt(args, letters)
        except getopt.GetoptError:
            raise _usage(subcommand) from None
        return {flag for flag, _ in options}, rest

    def _ldm_list_domain(self, subcommand: str, args: list[str]) -> str:
        flags, names = self._options(subcommand, args, "elp")
        rows = self._rows(names)
        long = bool(flags & {"-l", "-e"})
        if "-p" in flags:
            if long:
                return format_bindings_parseable(rows, self.services, self.machine.strands_per_core)
            return format_list_parseable(rows)
        if long:
            return format_long(rows, self.services, self.machine.strands_per_core, self._peers(),
                               extended="-e" in flags)
        return format_list(rows)

    def _ldm_list_bindings(self, subcommand: str, args: list[str]) -> str:
        flags, names = self._options(subcommand, args, "ep")
        rows = self._rows(names)
        if "-p" in flags:
            return format_bindings_parseable(rows, self.services, self.machine.strands_per_core)
        return format_long(rows, self.services, self.machine.strands_per_core, self._peers(),
                           extended="-e" in flags)

    def _ldm_list_services(self, subcommand: str, args: list[str]) -> str:
        flags, rest = self._options(subcommand, args, "p")
        if rest:
            raise _usage(subcommand)
        return format_services_parseable(self.services) if "-p" in flags else format_services(self.services)

    def _ldm_list_constraints(self, subcommand: str, args: list[str]) -> str:
        flags, names = self._options(subcommand, args, "px")
        if flags == {"-p", "-x"}:
            raise _usage(subcommand)
        domains = [self._domain(name) for name in names] if names else list(self.domains.values())
        if "-x" in flags:
            return format_constraints_xml(domains)
        if "-p" in flags:
            return format_constraints_parseable(domains, self.services)
        return format_constraints(domains, self.services)

    def _ldm_list_devices(self, subcommand: str, args: list[str]) -> str:
        flags, kinds = self._options(subcommand, args, "ap")
        kinds = [{"vcpu": "cpu", "mem": "memory", "mau": "crypto"}.get(kind, kind) for kind in kinds]
        if any(kind not in DEVICE_KINDS for kind in kinds):
            raise _usage(subcommand)
        chosen = [kind for kind in DEVICE_KINDS if kind in kinds] if kinds else list(DEVICE_KINDS)
        if "-p" in flags:
            return format_devices_parseable(self.devices(), chosen, all_="-a" in flags)
        return format_devices(self.devices(), chosen, all_="-a" in flags)

    def _ldm_list_variable(self, subcommand: str, args: list[str]) -> str:
        if not args:
            raise _usage(subcommand)
        *names, domain_name = args
        domain = self._domain(domain_name)
        missing = [name for name in names if name not in domain.variables]
        if missing:
            # ldm.md §8: a missing variable gives a "not found" message on stderr (wording RECONSTRUCTED)
            raise CommandError("\n".join(f"Variable {name} not found" for name in missing))
        return format_variables((name, domain.variables[name]) for name in names or domain.variables)

    def _ldm_add_domain(self, subcommand: str, args: list[str]) -> str:
        if len(args) != 1:
            raise _usage(subcommand)
        name = args[0]
        if not _DOMAIN_NAME.fullmatch(name):
            raise CommandError(f"Invalid domain name: {name}")
        if name in self.domains:
            raise CommandError(f"Domain {name} already exists")
        self._guard(name)
        self._new_domain(name)
        return ""

    def _lifecycle(self, subcommand: str, domain: Domain) -> State | None:
        """Check a life-cycle subcommand against the state table (ldm.md §1.1) and the delayed
        reconfiguration of primary; the state it leaves the domain in (``None``: removed)."""
        needed, target = LIFECYCLE[subcommand]
        if domain.state is not needed:
            raise CommandError(WRONG_STATE[(subcommand, domain.state)].format(name=domain.name))
        self._guard(domain.name)
        return target

    def _ldm_remove_domain(self, subcommand: str, args: list[str]) -> str:
        if not args:
            raise _usage(subcommand)
        domains = [self._domain(name) for name in args]
        for domain in domains:
            self._lifecycle(subcommand, domain)
        for domain in domains:
            self._macs.difference_update({domain.mac, *(vnet.mac for vnet in domain.vnets)})
            del self.domains[domain.name]
        return ""

    def _ldm_bind_domain(self, subcommand: str, args: list[str]) -> str:
        if len(args) != 1:
            raise _usage(subcommand)
        domain = self._domain(args[0])
        target = self._lifecycle(subcommand, domain)
        if domain.vcpus < 1 or domain.memory < MEMORY_UNIT:
            raise CommandError(f"Could not bind LDom {domain.name}: it needs at least 1 vcpu and "
                               f"{human_size(MEMORY_UNIT)} of memory")
        self._bind(domain)
        domain.state = target
        return ""

    def _ldm_unbind_domain(self, subcommand: str, args: list[str]) -> str:
        if len(args) != 1:
            raise _usage(subcommand)
        domain = self._domain(args[0])
        target = self._lifecycle(subcommand, domain)
        self._unbind(domain)
        domain.state = target
        return ""

    def _targets(self, subcommand: str, args: list[str], letters: str) -> tuple[set[str], list[Domain]]:
        """Options and domains of start/stop: named ones, or with -a every domain in the needed state."""
        flags, names = self._options(subcommand, args, letters)
        if ("-a" in flags) == bool(names):
            raise _usage(subcommand)
        if names:
            return flags, [self._domain(name) for name in names]
        needed, _ = LIFECYCLE[subcommand]
        return flags, [d for d in self.domains.values() if d.state is needed and not d.control]

    def _ldm_start_domain(self, subcommand: str, args: list[str]) -> str:
        _, domains = self._targets(subcommand, args, "a")
        targets = [self._lifecycle(subcommand, domain) for domain in domains]
        now = self.clock()
        for domain, target in zip(domains, targets):
            domain.state, domain.started_at, domain.delayed_reconfig = target, now, False
        # "LDom <name> started" (RECONSTRUCTED, from memory of ldm's output)
        return _lines(f"LDom {domain.name} started" for domain in domains)

    def _ldm_stop_domain(self, subcommand: str, args: list[str]) -> str:
        """``-f`` (force) stops as a plain stop does; ``-r`` reboots: the domain stays active, its uptime
        restarts, and a pending delayed reconfiguration takes effect."""
        flags, domains = self._targets(subcommand, args, "afr")
        reboot = "-r" in flags
        targets = [self._lifecycle(subcommand, domain) for domain in domains]
        for domain in domains:
            if domain.control and not reboot:
                raise CommandError(f"LDom {domain.name} is the control domain and cannot be stopped; "
                                   "use stop -r to reboot it")
        now = self.clock()
        for domain, target in zip(domains, targets):
            domain.delayed_reconfig = False
            if reboot:
                domain.started_at = now
            else:
                domain.state, domain.started_at = target, None
        # "LDom <name> stopped" (RECONSTRUCTED, from memory of ldm's output); a reboot prints nothing
        return "" if reboot else _lines(f"LDom {domain.name} stopped" for domain in domains)

    def _count_and_domain(self, subcommand: str, args: list[str]) -> tuple[int, Domain]:
        if len(args) != 2:
            raise _usage(subcommand)
        if not args[0].isdigit():
            raise CommandError(f"Invalid vcpu count: {args[0]}")
        return int(args[0]), self._domain(args[1])

    def _size_and_domain(self, subcommand: str, args: list[str]) -> tuple[int, Domain]:
        if len(args) != 2:
            raise _usage(subcommand)
        try:
            size = parse_size(args[0])
        except ValueError:
            raise CommandError(f"Invalid memory size: {args[0]}") from None
        if size % MEMORY_UNIT:
            raise CommandError(f"Invalid memory size: {args[0]} is not a multiple of {human_size(MEMORY_UNIT)}")
        return size, self._domain(args[1])

    def _ldm_add_vcpu(self, subcommand: str, args: list[str]) -> str:
        count, domain = self._count_and_domain(subcommand, args)
        self._resize(domain, domain.vcpus + count, domain.memory)
        return ""

    def _ldm_set_vcpu(self, subcommand: str, args: list[str]) -> str:
        count, domain = self._count_and_domain(subcommand, args)
        self._resize(domain, count, domain.memory)
        return ""

    def _ldm_remove_vcpu(self, subcommand: str, args: list[str]) -> str:
        count, domain = self._count_and_domain(subcommand, args)
        if count > domain.vcpus:
            raise CommandError(f"LDom {domain.name} has only {domain.vcpus} vcpus")
        self._resize(domain, domain.vcpus - count, domain.memory)
        return ""

    def _ldm_add_memory(self, subcommand: str, args: list[str]) -> str:
        size, domain = self._size_and_domain(subcommand, args)
        self._resize(domain, domain.vcpus, domain.memory + size)
        return ""

    def _ldm_set_memory(self, subcommand: str, args: list[str]) -> str:
        size, domain = self._size_and_domain(subcommand, args)
        self._resize(domain, domain.vcpus, size)
        return ""

    def _ldm_remove_memory(self, subcommand: str, args: list[str]) -> str:
        size, domain = self._size_and_domain(subcommand, args)
        if size > domain.memory:
            raise CommandError(f"LDom {domain.name} has only {human_size(domain.memory)} of memory")
        self._resize(domain, domain.vcpus, domain.memory - size)
        return ""

    @staticmethod
    def _free_id(used: Iterable[int], wanted: str | None, what: str) -> int:
        used = set(used)
        if wanted is None:
            return min(set(range(len(used) + 1)) - used)
        if not wanted.isdigit():
            raise CommandError(f"Invalid {what} id: {wanted}")
        if int(wanted) in used:
            raise CommandError(f"The {what} id {wanted} is already in use")
        return int(wanted)

    def _ldm_add_vnet(self, subcommand: str, args: list[str]) -> str:
        props, positional = _properties(args, ("mac-addr", "pvid", "vid", "mtu", "id"), subcommand)
        if len(positional) != 3:
            raise _usage(subcommand)
        name, switch, domain_name = positional
        domain = self._domain(domain_name)
        vsw = self.services.vsw
        if switch not in (vsw.name, f"{vsw.name}@{vsw.ldom}"):
            raise CommandError(f"Virtual switch {switch} not found")
        if any(vnet.name == name for vnet in domain.vnets):
            raise CommandError(f"Network device {name} already exists in LDom {domain.name}")
        mac = props.get("mac-addr", "").lower()
        if mac and (not _MAC.fullmatch(mac) or mac in self._macs):
            raise CommandError(f"Invalid or duplicate MAC address: {props['mac-addr']}")
        try:
            pvid = int(props.get("pvid", "1"))
            vids = tuple(int(vid) for vid in props["vid"].split(",")) if props.get("vid") else ()
            mtu = int(props.get("mtu", "1500"))
        except ValueError:
            raise _usage(subcommand) from None
        if not all(1 <= vlan <= 4094 for vlan in (pvid, *vids)) or not 1500 <= mtu <= 16000:
            raise CommandError("VLAN ids must be between 1 and 4094 and the MTU between 1500 and 16000")
        vnet_id = self._free_id((vnet.id for vnet in domain.vnets), props.get("id"), "network")
        self._touch(domain)
        if mac:
            self._macs.add(mac)
        domain.vnets.append(Vnet(name, vsw.name, mac or self._new_mac(), vnet_id, pvid, vids, mtu))
        return ""

    def _ldm_remove_vnet(self, subcommand: str, args: list[str]) -> str:
        if len(args) != 2:
            raise _usage(subcommand)
        domain = self._domain(args[1])
        vnet = next((vnet for vnet in domain.vnets if vnet.name == args[0]), None)
        if vnet is None:
            raise CommandError(f"Network device {args[0]} not found in LDom {domain.name}")
        self._touch(domain)
        domain.vnets.remove(vnet)
        self._macs.discard(vnet.mac)
        return ""

    def _ldm_add_vdsdev(self, subcommand: str, args: list[str]) -> str:
        props, positional = _properties(args, ("options",), subcommand)
        if len(positional) != 2 or "@" not in positional[1]:
            raise _usage(subcommand)
        backend, spec = positional
        name, _, server = spec.partition("@")
        vds = self.services.vds
        if server != vds.name:
            raise CommandError(f"Virtual disk server {server} not found")
        options = props.get("options", "")
        if not set(filter(None, options.split(","))) <= {"ro", "slice", "excl"}:
            raise CommandError(f"Invalid options: {options}")
        if name in vds.volumes:
            # ldm.md §8: "already exists" (ATTESTED substring)
            raise CommandError(f"Volume {spec} already exists")
        prefix = "/dev/zvol/dsk/"
        if not backend.startswith(prefix) or self.pool.volume(backend[len(prefix):]) is None:
            raise CommandError(f"Path {backend} is not valid on service domain {vds.ldom}")
        self._touch(self.domains[vds.ldom])
        vds.volumes[name] = Volume(name, backend, options)
        return ""

    def _ldm_remove_vdsdev(self, subcommand: str, args: list[str]) -> str:
        if len(args) != 1 or "@" not in args[0]:
            raise _usage(subcommand)
        spec = args[0]
        name, _, server = spec.partition("@")
        vds = self.services.vds
        if server != vds.name or name not in vds.volumes:
            # ldm.md §8: "does not exist" (ATTESTED substring)
            raise CommandError(f"Volume {spec} does not exist")
        users = [(d.name, disk.name) for d in self.domains.values() for disk in d.vdisks if disk.vol == spec]
        if users:
            # ldm.md §8: "is attached" (ATTESTED substring)
            domain, disk = users[0]
            raise CommandError(f"Volume {spec} is attached to disk {disk} of LDom {domain}")
        self._touch(self.domains[vds.ldom])
        del vds.volumes[name]
        return ""

    def _ldm_add_vdisk(self, subcommand: str, args: list[str]) -> str:
        props, positional = _properties(args, ("id", "timeout"), subcommand)
        if len(positional) != 3:
            raise _usage(subcommand)
        name, spec, domain_name = positional
        domain = self._domain(domain_name)
        vds, volume = self._volume(spec)
        if any(disk.name == name for disk in domain.vdisks):
            raise CommandError(f"Disk {name} already exists in LDom {domain.name}")
        timeout = props.get("timeout", "")
        if timeout and not timeout.isdigit():
            raise CommandError(f"Invalid timeout: {timeout}")
        disk_id = self._free_id((disk.id for disk in domain.vdisks), props.get("id"), "disk")
        self._touch(domain)
        domain.vdisks.append(Vdisk(name, volume.name, vds.name, disk_id, timeout))
        return ""

    def _ldm_remove_vdisk(self, subcommand: str, args: list[str]) -> str:
        if len(args) != 2:
            raise _usage(subcommand)
        domain = self._domain(args[1])
        disk = next((disk for disk in domain.vdisks if disk.name == args[0]), None)
        if disk is None:
            raise CommandError(f"Disk {args[0]} not found in LDom {domain.name}")
        self._touch(domain)
        domain.vdisks.remove(disk)
        return ""

    def _ldm_set_variable(self, subcommand: str, args: list[str]) -> str:
        if len(args) < 2 or not all("=" in arg for arg in args[:-1]):
            raise _usage(subcommand)
        domain = self._domain(args[-1])
        self._touch(domain)
        for assignment in args[:-1]:
            name, _, value = assignment.partition("=")
            domain.variables[name] = value
        return ""

    # -- zfs --

    def _zfs(self, args: list[str]) -> str:
        """zfs(8): create -V, snapshot, clone, destroy [-r], list [-H] [-p] [-r] [-t] [-o] (RECONSTRUCTED)."""
        command = args[0] if args else ""
        if command not in ZFS_SYNOPSES:
            unknown = f"unrecognized command '{command}'\n" if command else ""
            synopses = "".join(f"\n\t{synopsis}" for synopsis in ZFS_SYNOPSES.values())
            raise CommandError(f"{unknown}usage: zfs command args ...\nwhere 'command' is one of the following:"
                               f"{synopses}", 2)
        letters = {"create": "V:", "destroy": "r", "list": "Hpro:t:"}.get(command, "")
        try:
            options, operands = getopt.getopt(args[1:], letters)
        except getopt.GetoptError as error:
            raise CommandError(f"invalid option '{error.opt}'\n{_zfs_usage(command)}", 2) from None
        return getattr(self, f"_zfs_{command}")(dict(options), operands)

    def _zfs_create(self, opts: dict[str, str], operands: list[str]) -> str:
        if "-V" not in opts or len(operands) != 1:
            raise CommandError(_zfs_usage("create"), 2)
        try:
            volsize = parse_zfs_size(opts["-V"])
        except ValueError:
            raise CommandError(f"bad volume size '{opts['-V']}'", 2) from None
        self.pool.create_volume(operands[0], volsize)
        return ""

    def _zfs_snapshot(self, opts: dict[str, str], operands: list[str]) -> str:
        if not operands:
            raise CommandError(_zfs_usage("snapshot"), 2)
        for name in operands:
            self.pool.snapshot(name)
        return ""

    def _zfs_clone(self, opts: dict[str, str], operands: list[str]) -> str:
        if len(operands) != 2:
            raise CommandError(_zfs_usage("clone"), 2)
        self.pool.clone(*operands)
        return ""

    def _zfs_destroy(self, opts: dict[str, str], operands: list[str]) -> str:
        if len(operands) != 1:
            raise CommandError(_zfs_usage("destroy"), 2)
        self.pool.destroy(operands[0], recursive="-r" in opts, busy=self._zvol_busy)
        return ""

    def _zfs_list(self, opts: dict[str, str], names: list[str]) -> str:
        types = {DatasetType.FILESYSTEM, DatasetType.VOLUME}
        if "-t" in opts:
            wanted = opts["-t"].split(",")
            if "all" in wanted:
                types = set(DatasetType)
            elif all(name in ZFS_TYPE_NAMES for name in wanted):
                types = {ZFS_TYPE_NAMES[name] for name in wanted}
            else:
                raise CommandError(f"invalid type '{opts['-t']}'", 2)
        columns = [ZFS_PROPERTY_ALIASES.get(c, c) for c in opts["-o"].split(",")] if "-o" in opts \
            else list(ZFS_DEFAULT_COLUMNS)
        unknown = [column for column in columns if column not in ZFS_PROPERTIES]
        if unknown:
            raise CommandError(f"bad property list: invalid property '{unknown[0]}'", 2)
        return self.pool.listing(names, types=types, columns=columns, scripted="-H" in opts, exact="-p" in opts,
                              recursive="-r" in opts)

    def _zvol_busy(self, dataset: str) -> bool:
        """A volume exported by the virtual disk server is busy (zfs destroy refuses it)."""
        return any(volume.dev == f"/dev/zvol/dsk/{dataset}" for volume in self.services.vds.volumes.values())

    # -- the demo --

    @classmethod
    def demo(cls, hostname: str = "t7-a", seed: int = 0, *,
             clock: Callable[[], float] = time.monotonic) -> "LdomsWorld":
        """A realistic control domain: primary, and guests in every state (see ``DEMO_GUESTS``)."""
        world = cls(hostname, seed=seed, clock=clock)
        now = clock()
        world.domains["primary"].started_at = now - (45 * 86400 + 8 * 3600 + 6 * 60)
        world.pool.create_volume("ldompool/sol11-gold", 50 * G, referenced=9 * G)
        world.pool.snapshot("ldompool/sol11-gold@2024-06")
        for guest in DEMO_GUESTS:
            domain = world._new_domain(guest.name)
            domain.variables = {"auto-boot?": "true" if guest.state is not State.INACTIVE else "false",
                                "boot-device": "vdisk0"}
            domain.io = [bus for bus in world.machine.io if bus[1] in guest.io]
            domain.vcpus, domain.memory = guest.vcpus, guest.memory
            domain.vnets.append(Vnet("vnet0", world.services.vsw.name, world._new_mac(), 0))
            for disk_id, (suffix, size) in enumerate(guest.disks):
                volume = f"{guest.name}-{suffix}"
                dataset = f"ldompool/{volume}"
                if suffix == "boot" and guest.state is State.BOUND:
                    world.pool.clone("ldompool/sol11-gold@2024-06", dataset)
                else:
                    world.pool.create_volume(dataset, size, referenced=size // 5)
                world.services.vds.volumes[volume] = Volume(volume, f"/dev/zvol/dsk/{dataset}")
                domain.vdisks.append(Vdisk(f"vdisk{disk_id}", volume, world.services.vds.name, disk_id))
            if guest.state is not State.INACTIVE:
                world._bind(domain)
            domain.state, domain.delayed_reconfig = guest.state, guest.delayed_reconfig
            if guest.state is State.ACTIVE:
                domain.started_at = now - guest.uptime
        return world


@dataclass(frozen=True, slots=True)
class DemoGuest:
    name: str
    state: State
    vcpus: int
    memory: int
    #: (volume suffix, size) for vdisk0, vdisk1, ...
    disks: tuple[tuple[str, int], ...] = (("boot", 50 * G),)
    uptime: int = 0
    #: pseudonyms of the PCIe root complexes it owns (a root domain)
    io: tuple[str, ...] = ()
    delayed_reconfig: bool = False


#: the demo's guests: with primary's 16 that binds 56 of 64 strands and 116G of 256G
DEMO_GUESTS = (
    DemoGuest("ldg-web1", State.ACTIVE, 4, 8 * G, uptime=12 * 86400 + 3 * 3600 + 41 * 60),
    DemoGuest("ldg-db1", State.ACTIVE, 32, 64 * G, disks=(("boot", 50 * G), ("data", 200 * G)),
              uptime=45 * 86400 + 7 * 3600 + 55 * 60),
    DemoGuest("ldg-app1", State.ACTIVE, 2, 8 * G, uptime=2 * 3600 + 14 * 60, io=("pci_3",), delayed_reconfig=True),
    DemoGuest("ldg-test", State.BOUND, 2, 4 * G),
    DemoGuest("ldg-build", State.INACTIVE, 8, 16 * G),
)


async def serve(world: LdomsWorld, *, host: str = "127.0.0.1", port: int = 0, host_key: asyncssh.SSHKey,
                authorized_keys: Iterable[asyncssh.SSHKey] | str) -> SimSSHServer:
    """Start an SSH server on ``host:port`` (0 picks a free port) whose exec requests reach ``world``."""
    server = SimSSHServer(world.handle, host_key=host_key, authorized_keys=authorized_keys)
    await server.start(host, port)
    return server
