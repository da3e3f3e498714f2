"""`XenWorld`: one simulated Xen host — the hypervisor's domains, dom0's files and storage, the clock.

The toolstack commands (``xl.py``, ``xm.py``, ``xvm.py``) read and change a world only through the methods
here, so the three flavours share one life cycle:

- ``start`` builds a domain from a `GuestConfig` (a new domain ID, memory and disks checked), ``destroy``
  removes it (an xend-managed domain stays, inactive), ``pause``/``unpause`` nest like Xen's pause count;
- ``request_shutdown`` asks the guest to power off or reboot: the guest takes ``shutdown_seconds`` of the
  clock to do it (while paused it waits), then its ``on_poweroff``/``on_reboot`` action runs (a reboot is a
  new domain ID, counters from zero); ``settle`` applies every action that is due and is called before
  each command and each xentop frame;
- ``save``/``restore`` keep a domain in a file of the simulated file system.

Counters (CPU time, network and disk I/O) come from each domain's seeded load profile (model.py); dom0
is always running, a guest is running (``r``) while its load is over half a vCPU and blocked (``b``)
otherwise.
"""

from __future__ import annotations

import asyncio
import posixpath
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from ..sshserver import Reply, StdinReader
from .config import vdev_number
from .model import DOM0 as DOM0_SIZES
from .model import (
    KIB_PER_MIB,
    MACHINES,
    NS,
    CommandError,
    Counter,
    Domain,
    GuestConfig,
    Halt,
    Machine,
    Toolstack,
    VbdStats,
    VifStats,
    Wave,
    new_uuid,
)
from .storage import Lvm, Zfs
from .vdisk import Vdisks
from .xentop import DomainSample, NetSample, NodeSample, VbdSample

DOM0 = "Domain-0"
#: the login directory, where relative paths start
HOME = "/root"


@dataclass(frozen=True, slots=True)
class SavedImage:
    """What ``xl save`` / ``xm save`` wrote: enough to restore the domain."""

    config: GuestConfig
    uuid: str
    mem_kb: int
    maxmem_kb: int
    vcpus_online: int
    weight: int
    cap: int
    managed: bool
    config_path: str
    #: the length of the JSON configuration written with it (xl prints it)
    config_length: int = 0


class XenWorld:
    """A simulated Xen host. ``await handle(line, read_stdin)`` answers an SSH exec request (see
    ``server.py``); ``run(argv)`` runs one command synchronously (``commands.py``)."""

    def __init__(self, hostname: str = "xen-a", toolstack: Toolstack | str = Toolstack.XL, *, seed: int = 0,
                 clock: Callable[[], float] = time.monotonic, machine: Machine | None = None,
                 dom0_mem_mib: int | None = None, dom0_vcpus: int | None = None,
                 dom0_unlimited: bool | None = None) -> None:
        """A host with Domain-0 alone; ``machine`` and Domain-0's size default to the flavour's
        (model.MACHINES, model.DOM0)."""
        self.hostname = hostname
        self.toolstack = Toolstack(toolstack)
        self.seed = seed
        self.clock = clock
        self.machine = machine or MACHINES[self.toolstack]
        default_mem, default_vcpus, default_unlimited = DOM0_SIZES[self.toolstack]
        dom0_mem_mib = default_mem if dom0_mem_mib is None else dom0_mem_mib
        dom0_vcpus = default_vcpus if dom0_vcpus is None else dom0_vcpus
        dom0_unlimited = default_unlimited if dom0_unlimited is None else dom0_unlimited
        self.rng = random.Random(f"xen/{hostname}/{seed}")
        self.domains: dict[str, Domain] = {}
        self.next_domid = 1
        self.files: dict[str, str] = {}
        self.dirs: set[str] = {"/", "/etc", "/etc/xen", "/var", "/var/lib", "/var/lib/xen", "/var/lib/xen/images",
                               "/var/lib/xen/save", "/root", "/tmp", "/export", "/dev"}
        self.saved: dict[str, SavedImage] = {}
        self.lvm = Lvm(self.device_in_use, self.bytes_written)
        self.zfs: Zfs | None = None
        self.vdisks = Vdisks(self.device_in_use, self.is_dir, HOME)
        if self.toolstack is Toolstack.XVM:  # guest storage a fresh host has: a pool, or a volume group
            self.zfs = Zfs("rpool", 500 * (1 << 30))
            self.dirs.update({"/export/vdisks", "/export/images", "/export/iso"})
        else:
            self.lvm.add_vg("vg0", 1 << 40)
        #: other simulated dom0s this one can migrate to, by the names a command line may use
        self.peers: dict[str, XenWorld] = {}
        #: how long a guest takes to shut down or reboot once asked (seconds of the clock)
        self.shutdown_seconds = 4.0
        #: migration and save speed, bytes of guest memory per real second
        self.transfer_rate = 8 * (1 << 30)
        #: how streams and migrations wait (tests replace it to drive a manual clock)
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        #: xentop processes running on the host's channels, and how many times they were signalled (``pkill``)
        self.xentops = 0
        self.xentop_kills = 0
        dom0 = Domain(DOM0, "00000000-0000-0000-0000-000000000000",
                      GuestConfig(DOM0, memory_mib=dom0_mem_mib, vcpus=dom0_vcpus), domid=0,
                      mem_kb=dom0_mem_mib * KIB_PER_MIB, maxmem_kb=dom0_mem_mib * KIB_PER_MIB,
                      unlimited=dom0_unlimited, vcpus_online=dom0_vcpus, max_vcpus=dom0_vcpus)
        self._activate(dom0, self.clock() - 86400, load=Wave.seeded(self._rng_for(DOM0, 0), 0.08))
        self.domains[DOM0] = dom0

    # -- commands ------------------------------------------------------------------------------------

    async def handle(self, command_line: str, read_stdin: StdinReader) -> Reply:
        """The SSH server's handler: a shell command line, run to its end (server.py)."""
        from .server import handle

        return await handle(self, command_line, read_stdin)

    def run(self, argv: Sequence[str], stdin: str | None = None) -> Reply:
        """One command at once (commands.py). Raises CommandNotFound for a program the host lacks."""
        from .commands import run

        return run(self, argv, stdin)

    def peer(self, other: "XenWorld", *, share_vgs: Sequence[str] = ()) -> None:
        """Let the two dom0s migrate to each other (by host name), sharing the named volume groups (a SAN
        both see)."""
        self.peers[other.hostname] = other
        other.peers[self.hostname] = self
        for name in share_vgs:
            other.lvm.vgs[name] = self.lvm.vgs[name]

    @classmethod
    def demo(cls, name: str = "xen-a", toolstack: Toolstack | str = Toolstack.XL, seed: int = 0, *,
             clock: Callable[[], float] = time.monotonic) -> "XenWorld":
        """A dom0 with guests in every state (demo.py)."""
        from .demo import build

        return build(cls, name, Toolstack(toolstack), seed, clock)

    # -- lookups -----------------------------------------------------------------------------------

    def by_name_or_id(self, qualifier: str) -> Domain | None:
        """A domain by name, or by number when the qualifier is all digits (libxl's rule)."""
        if qualifier.isdigit():
            return next((d for d in self.domains.values() if d.domid == int(qualifier)), None)
        return self.domains.get(qualifier)

    def active_domains(self) -> list[Domain]:
        return sorted((d for d in self.domains.values() if d.active), key=lambda d: d.domid or 0)

    def free_kb(self) -> int:
        used = sum(d.mem_kb for d in self.domains.values() if d.active)
        return self.machine.total_kib - self.machine.xen_reserved_kib - used

    # -- the file system -------------------------------------------------------------------------------

    @staticmethod
    def resolve(path: str) -> str:
        """An absolute, normalised path; a relative one is in root's home, the login directory."""
        return posixpath.normpath(posixpath.join(HOME, path))

    def is_dir(self, path: str) -> bool:
        path = self.resolve(path)
        return path in self.dirs or self.vdisks.find(path) is not None

    def path_kind(self, path: str) -> str | None:
        """``block`` (an LV, a zvol), ``file``, ``dir`` (a vdisk is a directory) or None."""
        path = self.resolve(path)
        if self.lvm.lv_by_path(path) is not None or (self.zfs is not None and self.zfs.zvol(path) is not None):
            return "block"
        if path in self.files or path in self.saved:
            return "file"
        if self.is_dir(path):
            return "dir"
        vdisk = self.vdisks.find(posixpath.dirname(path))
        if vdisk is not None and posixpath.basename(path) in vdisk.files():
            return "file"
        return None

    def write_file(self, path: str, text: str) -> None:
        """Create or replace a file; its directory must exist. Raises CommandError (``tee``'s wording)."""
        path = self.resolve(path)
        if not self.is_dir(posixpath.dirname(path)):
            raise CommandError(f"tee: {path}: No such file or directory\n")
        if self.is_dir(path):
            raise CommandError(f"tee: {path}: Is a directory\n")
        self.files[path] = text
        self.saved.pop(path, None)

    def listdir(self, path: str) -> list[str]:
        path = self.resolve(path)
        prefix = path.rstrip("/") + "/"
        names = {p[len(prefix):].split("/")[0] for p in [*self.files, *self.saved, *self.dirs, *self.vdisks.disks]
                 if p.startswith(prefix) and p != path}
        vdisk = self.vdisks.find(path)
        if vdisk is not None:
            names.update(vdisk.files())
        return sorted(names)

    # -- devices -------------------------------------------------------------------------------------

    def device_in_use(self, path: str) -> bool:
        path = posixpath.normpath(path)
        return any(posixpath.normpath(disk.target) == path for d in self.domains.values() if d.active
                   for disk in d.config.disks)

    def bytes_written(self, path: str, t0: float, t1: float) -> float:
        """Bytes active domains wrote to the device at ``path`` between two instants."""
        total = 0.0
        path = posixpath.normpath(path)
        for domain in self.domains.values():
            if not domain.active:
                continue
            for disk, stats in zip(domain.config.disks, domain.vbds):
                if posixpath.normpath(disk.target) == path:
                    total += (stats.wr_sect.at(t1) - stats.wr_sect.at(t0)) * 512
        return total

    # -- life cycle ------------------------------------------------------------------------------------

    def _rng_for(self, name: str, domid: int) -> random.Random:
        return random.Random(f"xen/{self.hostname}/{self.seed}/{name}/{domid}")

    def _activate(self, domain: Domain, started: float, *, load: Wave | None = None) -> None:
        """Give an active domain its counters, all starting at ``started``."""
        rng = self._rng_for(domain.name, domain.domid or 0)
        domain.created_at = started
        domain.load = load or Wave.seeded(rng, rng.uniform(0.03, 0.35))
        domain.vcpu_counters = [Counter(domain.load, 0.0, started, 0.0, NS * rng.uniform(0.7, 1.3))
                                for _ in range(domain.max_vcpus)]
        domain.vifs, domain.vbds = [], []
        if domain.is_dom0:
            self._rescale(domain, started)
            return
        for _ in domain.config.vifs:
            tx, rx = Wave.seeded(rng, rng.uniform(2e3, 4e5)), Wave.seeded(rng, rng.uniform(4e3, 9e5))
            domain.vifs.append(VifStats(Counter(tx, 0.0, started), Counter(rx, 0.0, started),
                                        Counter(tx, 0.0, started, 0.0, 1 / rng.randrange(300, 1400)),
                                        Counter(rx, 0.0, started, 0.0, 1 / rng.randrange(200, 1300))))
        oo_rate = rng.choice((0.0, 0.0, 0.0, 0.0005))
        for _ in domain.config.disks:
            rd, wr = Wave.seeded(rng, rng.uniform(0.5, 40)), Wave.seeded(rng, rng.uniform(1, 60))
            domain.vbds.append(VbdStats(Counter(wr, 0.0, started, 0.0, oo_rate), Counter(rd, 0.0, started),
                                        Counter(wr, 0.0, started), Counter(rd, 0.0, started, 0.0,
                                                                           rng.choice((8, 16, 32, 64))),
                                        Counter(wr, 0.0, started, 0.0, rng.choice((8, 8, 16, 24)))))
        self._rescale(domain, started)

    def _rescale(self, domain: Domain, t: float) -> None:
        """Checkpoint every counter at ``t`` and set its rate from the domain's state now."""
        running = domain.executing
        for index, counter in enumerate(domain.vcpu_counters):
            counter.run(t, running and index < domain.vcpus_online)
        for counters in _device_counters(domain):
            for counter in counters:
                counter.run(t, running)

    def set_counters(self, domain: Domain, *, cpu_seconds: float | None = None,
                     vcpu_seconds: Sequence[float] | None = None, load: float | None = None,
                     vifs: Sequence[tuple[int, int]] | None = None,
                     vbds: Sequence[tuple[int, int, int, int, int]] | None = None, still: bool = False) -> None:
        """Set a domain's counters to given values now: CPU seconds (spread over the online vCPUs, or one
        value per vCPU), ``(tx bytes, rx bytes)`` per interface, ``(oo, rd, wr, rsect, wsect)`` per disk;
        ``load`` fixes its load (a share of each vCPU); ``still`` stops every counter there, as if the
        domain never ran again (how a sample of the format notes is reproduced exactly)."""
        t = self.clock()
        if load is not None:
            domain.load = Wave(load)
            for counter in domain.vcpu_counters:
                counter.wave = domain.load
        online = max(1, domain.vcpus_online)
        if cpu_seconds is not None:
            vcpu_seconds = [cpu_seconds / online if i < online else 0.0 for i in range(domain.max_vcpus)]
        if vcpu_seconds is not None:
            for counter, seconds in zip(domain.vcpu_counters, vcpu_seconds):
                counter.value, counter.t0 = seconds * NS, t
        given: list[tuple[tuple[Counter, ...], Sequence[int]]] = []
        given += [(vif.counters(), (*numbers, numbers[0] // 1000, numbers[1] // 1000))  # bytes only: packets follow
                  for vif, numbers in zip(domain.vifs, vifs or ())]
        given += [(vbd.counters(), numbers) for vbd, numbers in zip(domain.vbds, vbds or ())]
        for counters, values in given:
            for counter, value in zip(counters, values):
                counter.value, counter.t0 = float(value), t
        for counter in domain.vcpu_counters:
            counter.t0 = t
        for counters in _device_counters(domain):
            for counter in counters:
                counter.t0 = t
                if still:
                    counter.rate = 0.0
        if still:
            for counter in domain.vcpu_counters:
                counter.rate = 0.0
        self._rescale(domain, t)

    def check_start(self, config: GuestConfig, *, name: str | None = None) -> None:
        """What libxl checks before building a domain: the name is free, the memory is there, every disk's
        target exists. Raises CommandError with libxl's messages (exit 3, ERROR_FAIL)."""
        name = name or config.name
        existing = self.domains.get(name)
        if existing is not None and existing.active:
            raise CommandError(f'libxl: error: libxl_domain.c:81:libxl__domain_rename: Domain {self.next_domid}:'
                               f'Domain with name "{name}" already exists.\n'
                               f"libxl: error: libxl_create.c:1309:domcreate_bootloader_done: Domain "
                               f"{self.next_domid}:cannot make domain: -6\n", 3)
        for disk in config.disks:
            if disk.cdrom and not disk.target:
                continue
            target = disk.target
            kind = self.path_kind(target)
            if kind is None:
                raise CommandError(f"libxl: error: libxl_device.c:468:libxl__device_disk_set_backend: Disk "
                                   f"vdev={disk.vdev} failed to stat: {target}: No such file or directory\n"
                                   f"libxl: error: libxl_create.c:1331:domcreate_bootloader_done: Domain "
                                   f"{self.next_domid}:Unable to set disk defaults for disk 0\n", 3)
        if config.memory_mib * KIB_PER_MIB > self.free_kb():
            raise CommandError("failed to free memory for the domain\n", 3)

    def start(self, config: GuestConfig, *, paused: bool = False, config_path: str = "", name: str | None = None,
              uuid: str | None = None, managed: bool = False, started: float | None = None) -> Domain:
        """Build and start a domain (or activate an inactive managed one of that name). The caller ran
        `check_start`."""
        name = name or config.name
        now = self.clock()
        existing = self.domains.get(name)
        domain = Domain(name, uuid or config.uuid or (existing.uuid if existing else new_uuid(self.rng)), config,
                        domid=self.next_domid, mem_kb=config.memory_mib * KIB_PER_MIB,
                        maxmem_kb=config.max_mib * KIB_PER_MIB, vcpus_online=config.vcpus,
                        max_vcpus=config.max_vcpus, pause_count=1 if paused else 0, weight=config.cpu_weight,
                        cap=config.cap, managed=managed or (existing.managed if existing else False),
                        config_path=config_path or (existing.config_path if existing else ""))
        self.next_domid += 1
        self._activate(domain, now if started is None else started)
        self.domains[name] = domain
        return domain

    def destroy(self, domain: Domain) -> None:
        """The domain is gone; a managed one stays, inactive, with its configuration."""
        if domain.managed:
            domain.domid = None
            domain.halted, domain.pending, domain.pause_count, domain.dying = None, None, 0, False
            domain.vcpu_counters, domain.vifs, domain.vbds = [], [], []
        else:
            del self.domains[domain.name]

    def pause(self, domain: Domain) -> None:
        domain.pause_count += 1
        self._rescale(domain, self.clock())

    def unpause(self, domain: Domain) -> bool:
        """False when the domain was not paused (Xen refuses)."""
        if domain.pause_count == 0:
            return False
        domain.pause_count -= 1
        now = self.clock()
        if not domain.paused and domain.pending is not None and domain.pending[1] == float("inf"):
            domain.pending = (domain.pending[0], now + self.shutdown_seconds)
        self._rescale(domain, now)
        return True

    def request_shutdown(self, domain: Domain, *, reboot: bool = False) -> None:
        """The guest is asked to power off or reboot; it does so ``shutdown_seconds`` later (a paused guest
        only once it runs again)."""
        when = float("inf") if domain.paused else self.clock() + self.shutdown_seconds
        domain.pending = ("reboot" if reboot else "poweroff", when)

    def crash(self, domain: Domain) -> None:
        domain.halted = Halt.CRASH
        self._rescale(domain, self.clock())
        if domain.config.on_crash not in ("preserve", "coredump-destroy"):
            self._after_halt(domain, domain.config.on_crash)

    def set_vcpus(self, domain: Domain, count: int) -> None:
        domain.vcpus_online = count
        self._rescale(domain, self.clock())

    def settle(self) -> None:
        """Apply every guest-side action that is due by the clock."""
        now = self.clock()
        for domain in list(self.domains.values()):
            if domain.pending is None or domain.pending[1] > now or not domain.active:
                continue
            action, _ = domain.pending
            domain.pending = None
            if action == "poweroff":
                domain.halted = Halt.POWEROFF
                self._rescale(domain, now)
                self._after_halt(domain, domain.config.on_poweroff)
            else:
                domain.halted = Halt.REBOOT
                self._rescale(domain, now)
                self._after_halt(domain, domain.config.on_reboot)
        self.lvm.advance(now)

    def _after_halt(self, domain: Domain, action: str) -> None:
        if action in ("preserve",):
            return
        if action in ("restart", "rename-restart", "coredump-restart"):
            config, uuid, managed, path = domain.config, domain.uuid, domain.managed, domain.config_path
            weight, cap = domain.weight, domain.cap
            self.destroy(domain)
            restarted = self.start(config, config_path=path, uuid=uuid, managed=managed)
            restarted.weight, restarted.cap = weight, cap
            return
        self.destroy(domain)

    # -- save and restore -----------------------------------------------------------------------------

    def save(self, domain: Domain, path: str, *, keep: bool = False) -> int:
        """Write the domain to ``path`` and destroy it (unless ``keep``: a checkpoint); the image's size in
        bytes."""
        from .xl import config_length

        image = SavedImage(domain.config, domain.uuid, domain.mem_kb, domain.maxmem_kb, domain.vcpus_online,
                           domain.weight, domain.cap, domain.managed, domain.config_path,
                           config_length(self, domain))
        path = self.resolve(path)
        self.files.pop(path, None)
        self.saved[path] = image
        if not keep:
            self.destroy(domain)
        return domain.mem_kb * 1024

    def restore(self, image: SavedImage, *, paused: bool = False, name: str | None = None) -> Domain:
        config = replace(image.config, memory_mib=image.mem_kb // KIB_PER_MIB)
        domain = self.start(config, paused=paused, config_path=image.config_path, uuid=image.uuid,
                            managed=image.managed, name=name)
        domain.mem_kb, domain.maxmem_kb = image.mem_kb, image.maxmem_kb
        domain.weight, domain.cap = image.weight, image.cap
        self.set_vcpus(domain, image.vcpus_online)
        return domain

    # -- samples -----------------------------------------------------------------------------------

    def cpu_ns(self, domain: Domain, t: float | None = None) -> int:
        t = self.clock() if t is None else t
        return int(sum(counter.at(t) for counter in domain.vcpu_counters))

    def vcpu_ns(self, domain: Domain, index: int, t: float | None = None) -> int:
        t = self.clock() if t is None else t
        return int(domain.vcpu_counters[index].at(t)) if index < len(domain.vcpu_counters) else 0

    def xentop_state(self, domain: Domain, t: float) -> str:
        """xen.md §1.4: ``d s b c p r``; a crashed domain is crashed, not shut down."""
        running = domain.running_at(t)
        blocked = domain.executing and not running
        flags = (domain.dying, domain.shutdown and not domain.crashed, blocked, domain.crashed, domain.paused,
                 running)
        return "".join(letter if on else "-" for letter, on in zip("dsbcpr", flags))

    def node_sample(self) -> NodeSample:
        """What ``xenstat_get_node`` returns now."""
        t = self.clock()
        domains = []
        for domain in self.active_domains():
            nets = tuple(NetSample(int(v.rx.at(t)), int(v.rx_pkts.at(t)), 0, 0, int(v.tx.at(t)), int(v.tx_pkts.at(t)),
                                   0, 0) for v in domain.vifs)
            vbds = tuple(VbdSample(vdev_number(disk.vdev) or 0, int(stats.oo.at(t)), int(stats.rd.at(t)),
                                   int(stats.wr.at(t)), int(stats.rd_sect.at(t)), int(stats.wr_sect.at(t)),
                                   kind=self._vbd_kind(disk))
                         for disk, stats in zip(domain.config.disks, domain.vbds))
            domains.append(DomainSample(
                domain.domid or 0, domain.name, self.xentop_state(domain, t), self.cpu_ns(domain, t),
                domain.mem_kb * 1024, None if domain.unlimited else domain.maxmem_kb * 1024, domain.vcpus_online,
                0, nets, vbds,
                tuple(self.vcpu_ns(domain, i, t) if i < domain.vcpus_online else None
                      for i in range(domain.max_vcpus))))
        return NodeSample(t, self.machine.total_kib * 1024, tuple(domains))

    def _vbd_kind(self, disk) -> int:
        """xentop's VBD type: blkback for a block device (and, under xend, for a file on a loop device),
        blktap for xend's ``tap:``; current xl serves files with QEMU's qdisk, whose statistics xenstat reads
        over QMP without a type (xenstat_qmp.c: 0, ``Unidentified``)."""
        if self.toolstack is not Toolstack.XL:
            return 2 if disk.prefix.startswith("tap") else 1
        return 1 if self.path_kind(disk.target) == "block" else 0

    def vcpu_cpu(self, domain: Domain, index: int, t: float) -> int:
        """The physical CPU a vCPU last ran on: moves every 10 s, inside its hard affinity."""
        cpus = sorted(domain.config.cpus) if domain.config.cpus else list(range(self.machine.nr_cpus))
        step = int(t // 10)
        return cpus[random.Random(f"{self.seed}/{domain.name}/{domain.domid}/{index}/{step}").randrange(len(cpus))]


def _device_counters(domain: Domain) -> list[tuple[Counter, ...]]:
    """The counters of every network interface and disk of an active domain."""
    return [vif.counters() for vif in domain.vifs] + [vbd.counters() for vbd in domain.vbds]
