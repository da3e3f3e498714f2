"""The simulated Xen host's state: the machine, its domains, and counters that move with the clock.

Nothing here prints; the formatters (``formats.py``, ``xentop.py``) read these objects and the command
modules change them. Units: memory in KiB (as libxl and xenstat keep it), CPU time in nanoseconds,
times in seconds of the world's clock.

Counters are deterministic functions of the clock: each domain has a seeded *load profile*, a sum of two
sines around a mean, whose integral is known in closed form. A counter is ``value at t0 + scale ×
(F(t) - F(t0))``; when a domain changes (paused, vCPUs set, shut down) the counter is checkpointed and
its scale changes, so it never goes backwards and a paused domain's counters stand still. The same seed
and clock give the same numbers.
"""

from __future__ import annotations

import math
import random
import uuid as uuidlib
from dataclasses import dataclass, field
from enum import Enum

K, M, G, T = 1 << 10, 1 << 20, 1 << 30, 1 << 40
KIB_PER_MIB = 1024
NS = 1_000_000_000


class Toolstack(str, Enum):
    """The three kinds of dom0: ``xl`` (Xen ≥ 4.1, libxl), ``xm`` (xend, Xen ≤ 4.4), ``xvm`` (Sun xVM on
    OpenSolaris: xend with virsh, virt-install and vdiskadm beside xm)."""

    XL = "xl"
    XM = "xm"
    XVM = "xvm"


class CommandError(Exception):
    """A refused command: ``stderr`` and ``stdout`` (what the tool printed before giving up) and the exit
    status."""

    def __init__(self, stderr: str, status: int = 1, *, stdout: str = "") -> None:
        super().__init__(stderr)
        self.stderr = stderr
        self.status = status
        self.stdout = stdout


# -- load profiles --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Wave:
    """``mean + a1·sin(2πt/p1 + f1) + a2·sin(2πt/p2 + f2)``, never negative (a1 + a2 ≤ mean)."""

    mean: float
    a1: float = 0.0
    p1: float = 60.0
    f1: float = 0.0
    a2: float = 0.0
    p2: float = 7.0
    f2: float = 0.0

    @classmethod
    def seeded(cls, rng: random.Random, mean: float) -> "Wave":
        a1 = mean * rng.uniform(0.2, 0.5)
        a2 = mean * rng.uniform(0.05, 0.3)
        return cls(mean, a1, rng.uniform(40, 180), rng.uniform(0, 2 * math.pi),
                   a2, rng.uniform(4, 15), rng.uniform(0, 2 * math.pi))

    def at(self, t: float) -> float:
        tau = 2 * math.pi
        return (self.mean + self.a1 * math.sin(tau * t / self.p1 + self.f1)
                + self.a2 * math.sin(tau * t / self.p2 + self.f2))

    def integral(self, t: float) -> float:
        """F(t), an antiderivative of `at` (F(b) - F(a) is the area between a and b)."""
        tau = 2 * math.pi
        return (self.mean * t - self.a1 * self.p1 / tau * math.cos(tau * t / self.p1 + self.f1)
                - self.a2 * self.p2 / tau * math.cos(tau * t / self.p2 + self.f2))


@dataclass(slots=True)
class Counter:
    """A monotonic counter: ``value`` at ``t0``, then growing at ``scale × wave(t)`` per second. ``rate`` is
    the scale while the domain runs (0 while it is paused, crashed or shut down)."""

    wave: Wave
    value: float = 0.0
    t0: float = 0.0
    scale: float = 0.0
    rate: float = 1.0

    def at(self, t: float) -> float:
        if self.scale == 0.0 or t <= self.t0:
            return self.value
        return self.value + self.scale * (self.wave.integral(t) - self.wave.integral(self.t0))

    def rescale(self, t: float, scale: float) -> None:
        """From ``t`` on, grow at ``scale × wave``."""
        self.value = self.at(t)
        self.t0 = max(t, self.t0)
        self.scale = scale

    def run(self, t: float, running: bool) -> None:
        self.rescale(t, self.rate if running else 0.0)


# -- devices ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Disk:
    """One ``disk = [...]`` entry: ``target`` (the dom0 path), ``vdev`` (``xvda``), ``access`` (``w``/``r``)."""

    target: str
    vdev: str
    access: str = "w"
    #: the legacy prefix the spec used (``phy``, ``file``, ``tap:aio``, ``tap:vdisk``) or ``""``
    prefix: str = ""
    format: str = "raw"
    cdrom: bool = False
    #: the spec as written in the configuration
    spec: str = ""

    @property
    def readwrite(self) -> bool:
        return self.access in ("w", "rw")


@dataclass(slots=True)
class Vif:
    """One ``vif = [...]`` entry."""

    mac: str
    bridge: str = "xenbr0"
    script: str = "vif-bridge"
    model: str = ""
    spec: str = ""


@dataclass(slots=True)
class VbdStats:
    """The counters xenstat reads for one VBD: out-of-request events, read and write requests, sectors
    read and written (the sector counters follow the request ones, a few sectors per request)."""

    oo: Counter
    rd: Counter
    wr: Counter
    rd_sect: Counter
    wr_sect: Counter

    def counters(self) -> tuple[Counter, ...]:
        return (self.oo, self.rd, self.wr, self.rd_sect, self.wr_sect)


@dataclass(slots=True)
class VifStats:
    """Bytes and packets sent and received by one network interface (as the guest sees them)."""

    tx: Counter
    rx: Counter
    tx_pkts: Counter
    rx_pkts: Counter

    def counters(self) -> tuple[Counter, ...]:
        return (self.tx, self.rx, self.tx_pkts, self.rx_pkts)


# -- domains --------------------------------------------------------------------------------------


class Halt(str, Enum):
    """Why a domain is shut down (xen.md §2.2 ``"-rscwS"``: the letter is the index's)."""

    POWEROFF = "-"
    REBOOT = "r"
    SUSPEND = "s"
    CRASH = "c"
    WATCHDOG = "w"


@dataclass(slots=True)
class GuestConfig:
    """What a configuration file says about a guest (the keys the simulator uses)."""

    name: str
    #: libxl's default when the file has no ``memory`` (libxl__domain_build_info_setdefault: 32 MiB)
    memory_mib: int = 32
    maxmem_mib: int | None = None
    vcpus: int = 1
    maxvcpus: int | None = None
    hvm: bool = False
    kernel: str = ""
    ramdisk: str = ""
    bootloader: str = ""
    extra: str = ""
    uuid: str = ""
    disks: list[Disk] = field(default_factory=list)
    vifs: list[Vif] = field(default_factory=list)
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "destroy"
    cpu_weight: int = 256
    cap: int = 0
    #: hard affinity (``cpus = "0-3"``), None for every CPU
    cpus: frozenset[int] | None = None
    #: what the guest runs, for its console: ``debian``, ``centos``, ``solaris``
    os: str = "debian"
    #: the configuration text it came from
    text: str = ""

    @property
    def max_vcpus(self) -> int:
        return max(self.maxvcpus or self.vcpus, self.vcpus)

    @property
    def max_mib(self) -> int:
        return max(self.maxmem_mib or self.memory_mib, self.memory_mib)


@dataclass(slots=True)
class Domain:
    """A domain the hypervisor (or xend) knows: Domain-0, a guest, or an inactive xend-managed guest
    (``domid is None``)."""

    name: str
    uuid: str
    config: GuestConfig
    domid: int | None = None
    #: current memory (the balloon target) and the static maximum, KiB
    mem_kb: int = 0
    maxmem_kb: int = 0
    #: no maximum (xentop prints ``no limit``: Domain-0 without ``dom0_mem=…,max:…``)
    unlimited: bool = False
    vcpus_online: int = 1
    max_vcpus: int = 1
    pause_count: int = 0
    #: set when the domain has shut down and was preserved (reason letter), or crashed
    halted: Halt | None = None
    dying: bool = False
    weight: int = 256
    cap: int = 0
    created_at: float = 0.0
    #: a pending guest-side action: ("poweroff"|"reboot", when the guest finishes it)
    pending: tuple[str, float] | None = None
    #: xend-managed (``xm new``, virt-install): stays listed while shut off
    managed: bool = False
    #: where it was started from (``/etc/xen/web01.cfg``), for ``xl create`` on reboot
    config_path: str = ""
    #: counters: the load profile, CPU time per vCPU (each grows at its rate × the load while online)
    load: Wave = field(default_factory=lambda: Wave(0.0))
    vcpu_counters: list[Counter] = field(default_factory=list)
    vifs: list[VifStats] = field(default_factory=list)
    vbds: list[VbdStats] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.domid is not None

    @property
    def paused(self) -> bool:
        return self.pause_count > 0

    @property
    def is_dom0(self) -> bool:
        return self.domid == 0

    @property
    def crashed(self) -> bool:
        return self.halted is Halt.CRASH

    @property
    def shutdown(self) -> bool:
        """Shut down and kept (any reason, crash included: the hypervisor's shutdown flag)."""
        return self.halted is not None

    @property
    def executing(self) -> bool:
        """Runs guest code: active, not paused, not shut down."""
        return self.active and not self.paused and not self.shutdown and not self.dying

    def running_at(self, t: float) -> bool:
        """Whether a vCPU is on a physical CPU right now: the dom0 that answers always is; a guest when its
        load is above half a vCPU (otherwise it is blocked, waiting for an event)."""
        if not self.executing:
            return False
        return self.is_dom0 or self.load.at(t) >= 0.5


def new_uuid(rng: random.Random) -> str:
    return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))


def xen_mac(rng: random.Random) -> str:
    """A MAC in Xen's OUI 00:16:3e, as xl and xend generate them."""
    return "00:16:3e:" + ":".join(f"{rng.randrange(256) if i else rng.randrange(128):02x}" for i in range(3))


@dataclass(frozen=True, slots=True)
class Machine:
    """The physical host and the hypervisor build (what ``xl info`` / ``xm info`` report)."""

    nr_cpus: int = 16
    nr_nodes: int = 1
    cores_per_socket: int = 8
    threads_per_core: int = 2
    cpu_khz: int = 2593992
    total_mib: int = 65533
    #: the exact total in KiB when it is not a whole number of MiB (xentop's percentages use it)
    total_kib_exact: int = 0
    hw_caps: str = "bfebfbff:77fef3ff:2c100800:00000121:00000001:000037ab:00000000:00000100"
    hvm: bool = True
    xen_major: int = 4
    xen_minor: int = 17
    xen_extra: str = ".5"
    xen_caps: str = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"
    scheduler: str = "credit"
    pagesize: int = 4096
    virt_start: int = 0xFFFF800000000000
    changeset: str = ""
    commandline: str = "placeholder dom0_mem=4096M,max:4096M sched=credit console=com1,vga"
    cc_compiler: str = "gcc (Debian 12.2.0-14) 12.2.0"
    cc_compile_by: str = "pkg-xen-devel"
    cc_compile_domain: str = "lists.alioth.debian.org"
    cc_compile_date: str = "Wed Jan 15 10:22:41 UTC 2025"
    build_id: str = "8d6c7a1fe30bc3e0e0a2a1d7d3e1c4b5f7a9c2d1"
    system: str = "Linux"
    release: str = "6.1.0-28-amd64"
    version: str = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)"
    arch: str = "x86_64"
    #: Xen's own memory and the free pool's slack, KiB (total - dom0 - guests - this = free)
    xen_reserved_kib: int = 389 * KIB_PER_MIB

    @property
    def total_kib(self) -> int:
        return self.total_kib_exact or self.total_mib * KIB_PER_MIB

    @property
    def version_string(self) -> str:
        return f"{self.xen_major}.{self.xen_minor}{self.xen_extra}"

    @property
    def max_cpu_id(self) -> int:
        return self.nr_cpus - 1

    @property
    def cpu_mhz(self) -> int:
        return self.cpu_khz // 1000


#: the hosts of each flavour: a current Debian dom0, an Oracle VM Server 3 dom0 (Xen 4.1, xend), and an
#: OpenSolaris 2009.06 dom0 (Sun xVM, Xen 3.3)
XL_MACHINE = Machine()
XM_MACHINE = Machine(nr_cpus=24, nr_nodes=2, cores_per_socket=6, threads_per_core=2, cpu_khz=2666760,
                     total_mib=98303,
                     hw_caps="bfebfbff:2c100800:00000000:00000f40:029ee3ff:00000000:00000001:00000000",
                     xen_minor=1, xen_extra=".3OVM", xen_caps="xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 "
                     "hvm-3.0-x86_32p hvm-3.0-x86_64", changeset="unavailable",
                     commandline="dom0_mem=2048M crashkernel=256M@64M", cc_compiler="gcc version 4.1.2 20080704 "
                     "(Red Hat 4.1.2-54)", cc_compile_by="mockbuild", cc_compile_domain="us.oracle.com",
                     cc_compile_date="Wed Jan 20 16:04:26 PST 2016", build_id="", release="2.6.39-400.264.13.el5uek",
                     version="#1 SMP Wed Jan 20 17:05:04 PST 2016", xen_reserved_kib=1010 * 1024)
XVM_MACHINE = Machine(nr_cpus=8, nr_nodes=1, cores_per_socket=4, threads_per_core=2, cpu_khz=2660000,
                      total_mib=16383,
                      hw_caps="bfebfbff:20100800:00000000:00000140:0008e3fd:00000000:00000001:00000000",
                      xen_major=3, xen_minor=3, xen_extra=".2-xvm", changeset="Fri Jul 24 12:11:37 2009 -0700 "
                      "15909:8ac1feb2fe68", commandline="", cc_compiler="gcc version 3.4.3 (csl-sol210-3_4-20050802)",
                      cc_compile_by="xvm", cc_compile_domain="sun.com", cc_compile_date="Thu Jul 30 03:01:44 PDT 2009",
                      build_id="", system="SunOS", release="5.11", version="snv_111b", arch="i86pc",
                      xen_reserved_kib=296 * 1024)
MACHINES = {Toolstack.XL: XL_MACHINE, Toolstack.XM: XM_MACHINE, Toolstack.XVM: XVM_MACHINE}
#: Domain-0 of each flavour: (memory MiB, vCPUs, without a maximum); OVM sets dom0_mem=…,max:…
DOM0 = {Toolstack.XL: (4096, 4, True), Toolstack.XM: (2048, 4, False), Toolstack.XVM: (3072, 8, True)}
