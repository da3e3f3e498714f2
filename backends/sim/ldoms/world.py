"""One simulated SPARC server and its control domain: the state every command reads and changes.

`LdomsWorld` owns the machine's strands and memory, the domains, the virtual services on primary, the ZFS
pool, the SP configurations, a few files (for ``ldm migrate-domain -p``), the console concentrator
(`Vntsd`) and the `Network` of control domains it can migrate to. Commands run through ``run(argv)``
(synchronously, for tests and tools) or ``await execute(argv, ...)`` (as sshd runs them: a migration waits
until it finished, stdin and a terminal are there).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ..shell import CommandNotFound, run_line, run_line_async
from ..sshserver import Reply, StdinReader
from . import files, ldm, migration
from .formats import joined
from .formats_host import Devices
from .model import (
    AUTO_MAC_FIRST,
    AUTO_MAC_LAST,
    GUEST_RA_BASE,
    MEMORY_UNIT,
    PRIMARY_BOOT_DEVICE,
    UTIL_STEP,
    CommandError,
    Domain,
    G,
    Live,
    Machine,
    MemoryBlock,
    Migrating,
    Row,
    Services,
    State,
    T,
    Vcc,
    Vds,
    Volume,
    Vsw,
    human_size,
)
from .vntsd import Vntsd
from .zfs import ZfsPool, zfs

#: Fujitsu C120-E680 §3.2.11 (ldm output quoted there): delayed reconfiguration notices
_NOTICE_RULE = "-" * 64
DELAYED_NOTICE = (f"{_NOTICE_RULE}\nNotice: LDom {{name}} is in the process of a delayed reconfiguration.\n"
                  f"Any changes made to {{name}} will only take effect after it reboots.\n{_NOTICE_RULE}")
DELAYED_REFUSAL = "Delayed reconfiguration of LDom {name} is not permitted"
#: the message when a change starts a delayed reconfiguration on primary (RECONSTRUCTED, from memory)
DELAYED_START = ("Initiating a delayed reconfiguration operation on the primary domain.\n"
                 "All configuration changes for other domains are disabled until the primary\n"
                 "domain reboots, at which time the new configuration for the primary domain\n"
                 "will also take effect.")
#: a change to a domain while it migrates (RECONSTRUCTED wording)
MIGRATING_REFUSAL = "LDom {name} is being migrated: wait for the migration to finish or cancel it"


#: the server every world models unless told otherwise (a SPARC T7-1)
DEFAULT_MACHINE = Machine()


@dataclass(frozen=True, slots=True)
class Terminal:
    """The pseudo-terminal a command runs on, for the prompts ldm asks on one (``Target Password:``):
    ``write`` shows text, ``read_line(echo)`` returns what the user typed up to Enter."""

    write: Callable[[str], None]
    read_line: Callable[[bool], Awaitable[str]]


class Network:
    """The control domains served in one process, by host name: where ``ldm migrate-domain`` finds its
    target, and the migrations running between them (ticked by every command on either side)."""

    def __init__(self) -> None:
        self.worlds: dict[str, LdomsWorld] = {}
        self.migrations: list[migration.Migration] = []

    def add(self, world: LdomsWorld) -> None:
        self.worlds[world.hostname] = world
        world.network = self

    def tick(self) -> None:
        for running in list(self.migrations):
            running.advance()
            if running.outcome is not None and running.domain.migrating is not Migrating.ERROR:
                self.migrations.remove(running)


def link(*worlds: LdomsWorld) -> Network:
    """Make the worlds reach each other by host name (migrations between them). Returns their network."""
    network = Network()
    for world in worlds:
        network.add(world)
    return network


class LdomsWorld:
    """One simulated SPARC server and its control domain ``primary``.

    A new world has only ``primary`` (16 vCPUs, 32G, the services and an empty pool); `demo` adds a
    realistic set of guests. ``password`` is what migrations to this host must give (any non-empty one
    when None); ``migration_rate`` is how many bytes of guest memory a live migration moves per second.
    """

    def __init__(self, hostname: str = "t7-a", *, seed: int = 0, clock: Callable[[], float] = time.monotonic,
                 machine: Machine = DEFAULT_MACHINE, pool_size: int = 2 * T, vsw: str = "primary-vsw0",
                 vds: str = "primary-vds0", password: str | None = None, migration_rate: float = 4 * G) -> None:
        self.hostname = hostname
        self.seed = seed
        self.clock = clock
        self.machine = machine
        self.password = password
        self.migration_rate = migration_rate
        self._rng = random.Random(f"ldoms/{hostname}/{seed}")
        self.macs: set[str] = set()
        #: notices printed on stderr by the command being run
        self.notices: list[str] = []
        self.domains: dict[str, Domain] = {}
        self.services = Services(vcc=Vcc("primary-vcc0", "primary"), vsw=Vsw(vsw, "primary", self.new_mac()),
                                 vds=Vds(vds, "primary"))
        self.pool = ZfsPool("ldompool", pool_size)
        #: ldm.md §11: the SP configurations, the one in use and the one for the next power-on
        self.spconfigs: list[str] = ["factory-default"]
        self.spconfig_current = self.spconfig_next = "factory-default"
        self.files = files.Files()
        self.vntsd = Vntsd(self)
        #: a fraction of progress at which the next outgoing migration fails (see `inject_migration_failure`)
        self.migration_failure: float | None = None
        self.network = Network()
        self.network.add(self)
        primary = self.new_domain("primary")
        primary.control = primary.service = True
        primary.io = list(machine.io[:3])
        primary.variables = {"auto-boot?": "true", "boot-device": PRIMARY_BOOT_DEVICE}
        primary.vcpus, primary.memory = 16, 32 * G
        self.bind(primary)
        primary.state, primary.started_at = State.ACTIVE, clock()

    @classmethod
    def demo(cls, hostname: str = "t7-a", seed: int = 0, *,
             clock: Callable[[], float] = time.monotonic) -> LdomsWorld:
        """A realistic control domain: primary, and guests in every state (see `demo.DEMO_GUESTS`)."""
        from .demo import populate

        return populate(cls(hostname, seed=seed, clock=clock))

    def inject_migration_failure(self, at: float = 1.0) -> None:
        """The link to the target drops when the next migration from this host is ``at`` (0..1) done. The
        target destroys its copy; at 1.0 (everything sent, the target's acknowledgement lost) the source
        keeps the domain in the error state, FLAGS ``e`` (LDoms 1.3 guide, "Recovering From a Failed
        Migration"); earlier, the domain runs on at the source."""
        self.migration_failure = at

    # -- identities --

    def new_mac(self) -> str:
        while True:
            value = self._rng.randint(AUTO_MAC_FIRST, AUTO_MAC_LAST)
            mac = ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -1, -8))
            if mac not in self.macs:
                self.macs.add(mac)
                return mac

    def new_domain(self, name: str) -> Domain:
        domain = Domain(name, str(uuid.UUID(int=self._rng.getrandbits(128), version=4)), self.new_mac())
        self.domains[name] = domain
        return domain

    # -- resources --

    def free_strands(self) -> list[int]:
        bound = {pid for domain in self.domains.values() for pid in domain.strands}
        return [pid for pid in range(self.machine.strands) if pid not in bound]

    def owned_memory(self) -> list[tuple[int, int, str]]:
        """(pa, size, owner) of every block not free: ``_sys_`` and the domains'."""
        owned = [(pa, size, "_sys_") for pa, size in self.machine.reserved]
        owned += [(b.pa, b.size, d.name) for d in self.domains.values() for b in d.blocks]
        return sorted(owned)

    def free_memory(self) -> list[tuple[int, int]]:
        """(pa, size) of the free ranges, by address."""
        free, cursor = [], self.machine.memory_base
        for pa, size, _ in self.owned_memory():
            if pa + size <= cursor:
                continue
            if pa > cursor:
                free.append((cursor, pa - cursor))
            cursor = pa + size
        if cursor < self.machine.memory:
            free.append((cursor, self.machine.memory - cursor))
        return free

    def take_memory(self, domain: Domain, size: int) -> None:
        """Bind ``size`` more bytes to ``domain``, first fit by address, continuing its real address space
        (primary's real addresses equal its physical ones). The caller checked there is room."""
        ra = domain.blocks[-1].ra + domain.blocks[-1].size if domain.blocks else GUEST_RA_BASE
        for pa, free in self.free_memory():
            if size == 0:
                break
            chunk = min(free, size)
            domain.blocks.append(MemoryBlock(pa if domain.control else ra, pa, chunk))
            ra, size = ra + chunk, size - chunk

    @staticmethod
    def release_memory(domain: Domain, size: int) -> None:
        """Unbind ``size`` bytes from the end of the domain's real address space."""
        while size:
            last = domain.blocks[-1]
            if last.size > size:
                last.size -= size
                return
            size -= last.size
            domain.blocks.pop()

    def check_room(self, domain: Domain, vcpus: int, memory: int) -> None:
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

    def bind(self, domain: Domain) -> None:
        """Bind the domain's constraints: the lowest free strands, memory, and for a guest the lowest free
        console port. Its state is the caller's to set."""
        self.check_room(domain, domain.vcpus, domain.memory)
        domain.strands = self.free_strands()[:domain.vcpus]
        self.take_memory(domain, domain.memory)
        if not domain.control:
            used = {d.console_port for d in self.domains.values()}
            vcc = self.services.vcc
            # the range has more ports than the machine has strands, so a bindable domain always finds one
            domain.console_port = min(set(range(vcc.first_port, vcc.last_port + 1)) - used)

    def unbind(self, domain: Domain) -> None:
        """Give the strands, memory and console port back; vntsd drops the console and its clients."""
        self.vntsd.console_deleted(domain)
        domain.strands, domain.blocks, domain.console_port = [], [], None

    def devices(self) -> Devices:
        owner_of_strand = {pid: d.name for d in self.domains.values() for pid in d.strands}
        per_core = self.machine.strands_per_core
        cores = []
        for cid in range(self.machine.cores):
            pids = list(range(cid * per_core, (cid + 1) * per_core))
            cores.append((cid, pids, sum(pid not in owner_of_strand for pid in pids)))
        memory = self.owned_memory() + [(pa, size, "") for pa, size in self.free_memory()]
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

    def rows(self, names: Sequence[str]) -> list[Row]:
        domains = [self.domain(name) for name in names] if names else list(self.domains.values())
        return [(domain, self.live(domain)) for domain in domains]

    def peers(self) -> dict[str, list[tuple[str, str]]]:
        """ldm.md §4 PEER tables: for each bound vnet (``name@domain``), the switch and the other bound vnets
        on it."""
        vsw = self.services.vsw
        bound = [(f"{vnet.name}@{domain.name}", vnet.mac) for domain in self.domains.values()
                 if domain.state is not State.INACTIVE for vnet in domain.vnets]
        return {name: [(f"{vsw.name}@{vsw.ldom}", vsw.mac), *(peer for peer in bound if peer[0] != name)]
                for name, _ in bound}

    # -- lookups and checks --

    def domain(self, name: str) -> Domain:
        # ldm.md §2.2: "Domain <name> not found" (UNCERTAIN there)
        if name not in self.domains:
            raise CommandError(f"Domain {name} not found")
        return self.domains[name]

    def volume(self, spec: str) -> tuple[Vds, Volume]:
        name, _, server = spec.partition("@")
        vds = self.services.vds
        if server != vds.name or name not in vds.volumes:
            raise CommandError(f"Volume {spec} not found")
        return vds, vds.volumes[name]

    def guard(self, name: str) -> None:
        """Refuse a change to domain ``name`` while the control domain is in delayed reconfiguration: the
        notice on stdout, the refusal on stderr, exit 1, as a recorded ldm does (tests/fixtures/cases/
        ldoms-primary-delayed-reconfig-guest-dr: `set-vcpu 8 ldom1`, `stop ldom1`); and while the domain
        itself migrates."""
        primary = self.domains["primary"]
        if primary.delayed_reconfig and name != primary.name:
            raise CommandError(DELAYED_REFUSAL.format(name=name),
                               stdout=joined([DELAYED_NOTICE.format(name=primary.name)]))
        domain = self.domains.get(name)
        if domain is not None and domain.migrating in (Migrating.SOURCE, Migrating.TARGET):
            raise CommandError(MIGRATING_REFUSAL.format(name=name))

    def touch(self, domain: Domain) -> None:
        """A configuration change of ``domain`` is about to happen: `guard` it, and print the notice when
        the domain itself has a delayed reconfiguration pending."""
        self.guard(domain.name)
        if domain.delayed_reconfig:
            self.notices.append(DELAYED_NOTICE.format(name=domain.name))

    def resize(self, domain: Domain, vcpus: int, memory: int) -> None:
        """Set the vCPU and memory constraints; a bound or active domain gets or gives up the resources
        at once (keeping at least one vCPU and one memory unit), and the active control domain enters
        delayed reconfiguration."""
        self.touch(domain)
        if domain.state is not State.INACTIVE and (vcpus < 1 or memory < MEMORY_UNIT):
            raise CommandError(f"LDom {domain.name} is {domain.state.value} and needs at least 1 vcpu and "
                               f"{human_size(MEMORY_UNIT)} of memory")
        if domain.state is not State.INACTIVE:
            self.check_room(domain, max(0, vcpus - domain.vcpus), max(0, memory - domain.memory))
            if vcpus > domain.vcpus:
                domain.strands += self.free_strands()[:vcpus - domain.vcpus]
            else:
                del domain.strands[vcpus:]
            if memory > domain.memory:
                self.take_memory(domain, memory - domain.memory)
            else:
                self.release_memory(domain, domain.memory - memory)
            if domain.control and domain.state is State.ACTIVE and not domain.delayed_reconfig:
                domain.delayed_reconfig = True
                self.notices.append(DELAYED_START)
        domain.vcpus, domain.memory = vcpus, memory

    def guest_powered_off(self, domain: Domain) -> None:
        """The guest turned itself off (``init 5``, ``poweroff``): the domain is bound, as after ``ldm stop``."""
        domain.state, domain.started_at, domain.delayed_reconfig = State.BOUND, None, False

    def zvol_exported(self, dataset: str) -> bool:
        """A volume exported by the virtual disk server is busy (zfs destroy refuses it)."""
        return any(volume.dev == f"/dev/zvol/dsk/{dataset}" for volume in self.services.vds.volumes.values())

    def zvol_in_use(self, dataset: str) -> bool:
        """A volume a bound or active domain has as a virtual disk (zfs rollback refuses it)."""
        exported = {name for name, volume in self.services.vds.volumes.items()
                    if volume.dev == f"/dev/zvol/dsk/{dataset}"}
        return any(disk.volume in exported for d in self.domains.values() if d.state is not State.INACTIVE
                   for disk in d.vdisks)

    # -- running commands --

    async def handle(self, command_line: str, read_stdin: StdinReader | None) -> Reply:
        """The SSH server's handler: a shell command line, as sshd would pass it to ``sh -c``."""
        return await run_line_async(command_line, lambda argv: self.execute(argv, read_stdin))

    def run_line(self, command_line: str) -> Reply:
        """A shell command line, run synchronously (see `run`)."""
        return run_line(command_line, self.run)

    def run(self, argv: Sequence[str]) -> Reply:
        """One command, synchronously: nothing to read on stdin, no terminal, and ``ldm migrate-domain``
        returns once the migration started (``execute`` waits for it, as ldm does). Raises
        `CommandNotFound` for a program this host does not have."""
        return self._finish(lambda: self._dispatch(argv))

    async def execute(self, argv: Sequence[str], read_stdin: StdinReader | None = None,
                      terminal: Terminal | None = None) -> Reply:
        """One command as sshd runs it: stdin readable (``cat``, ``-p /dev/stdin``), ``ldm migrate-domain``
        waiting until the migration ended, ``Target Password:`` asked on a terminal."""
        program = argv[0]
        if program == "ldm" and len(argv) > 1 and ldm.canonical_subcommand(argv[1]) == "migrate-domain":
            self.network.tick()
            self.notices = []
            try:
                stdout = await migration.migrate(self, list(argv[2:]), read_stdin, terminal, wait=True)
            except CommandError as error:
                return Reply(error.stdout, joined([*self.notices, str(error)]), error.status)
            return Reply(stdout, joined(self.notices))
        if program == "sh":
            from . import sh

            return await sh.run(self, argv, read_stdin)
        if program in files.READS_STDIN and read_stdin is not None and files.wants_stdin(argv):
            data = await read_stdin()
            return self._finish(lambda: files.run(self, argv, data))
        return self.run(argv)

    def _finish(self, command: Callable[[], str]) -> Reply:
        self.network.tick()
        self.notices = []
        try:
            stdout = command()
        except CommandError as error:
            return Reply(error.stdout, joined([*self.notices, str(error)]), error.status)
        return Reply(stdout, joined(self.notices))

    def _dispatch(self, argv: Sequence[str]) -> str:
        program, args = argv[0], list(argv[1:])
        if program == "ldm":
            return ldm.run(self, args)
        if program == "zfs":
            return zfs(self.pool, args, exported=self.zvol_exported, in_use=self.zvol_in_use)
        if program == "hostname":
            return f"{self.hostname}\n"
        if program in files.PROGRAMS:
            return files.run(self, argv, None)
        raise CommandNotFound(program)
