"""``ldm migrate-domain`` between control domains served in one process, and ``ldm cancel-operation``.

What ldm.md §10 and Oracle's administration guides say, and the simulator does:

- synopsis ``migrate-domain [-f] [-n] [-p filename] source-ldom [user@]target-host[:target-ldom]`` (3.0/3.1),
  and ``-c`` (3.2+, no password); ``-n`` is a dry run: the same checks, nothing moves, nothing printed on
  success; ``-p`` reads the target's password from the file's first line (the guides ask that the file be
  readable by its owner only, 400 or 600; ldm does not refuse other modes, so neither does this);
  without ``-p`` ldm asks ``Target Password:`` on the terminal (VERBATIM in the LDoms 1.2 guide's
  "Migrating Memory in an Active Domain" example);
- ldm waits until ldmd reports the end of the migration (LDoms 1.3 guide, "Canceling a Migration in
  Progress"); if the shell that ran it goes away the migration goes on;
- while it runs the source shows FLAGS column 6 ``s``, the target an incoming domain, bound, with ``t``
  (ldm.md §1.1, §1.2); ``ldm list -o status`` shows the progress (ldm.md §10.2);
- ``ldm cancel-operation migration DOMAIN`` on the source ends it: the target's copy is destroyed, the
  domain goes on running on the source (the same guide); it cannot be run on the target;
- a migration whose link drops after everything was sent, before the target acknowledged, leaves the source
  domain in an error state, FLAGS ``e`` ("Recovering From a Failed Migration", LDoms 1.3 and 3.3 guides),
  and the target's copy destroyed; ``ldm cancel-operation`` on the source clears it; a link lost earlier
  leaves the domain running on the source;
- a delayed reconfiguration pending on either control domain, or on the domain itself, prevents a
  migration (the guides say one on the source or target machine does; which domains count is
  RECONSTRUCTED); an I/O domain cannot migrate (LDoms 1.2 guide, "Migrating Physical I/O Devices"); an
  inactive domain's resources and virtual I/O are not checked (LDoms 1.3 guide, "Migrating Bound or
  Inactive Domains");
- refusals end with ``Domain Migration of LDom NAME failed`` (VERBATIM, same 1.2 example) after the reason;
  a memory shortage on the target reads ``Unable to bind SIZE memory region at real address RA`` (VERBATIM,
  same example). Every other reason's wording is RECONSTRUCTED, including the ldmd connection failure
  (recalled from ldm 2.x/3.x).

Shared storage: a virtual disk's volume must exist under the same name on the target's virtual disk server
(the simulated hosts share storage by volume name), and each virtual network's switch must exist there.
A live migration takes 2 s plus the domain's memory at the source's ``migration_rate``; a bound domain 1 s,
an inactive one 0.5 s.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .args import options, usage
from .formats_host import Status
from .model import CommandError, Domain, Migrating, State, human_size

if TYPE_CHECKING:
    from .world import LdomsWorld, Terminal

#: seconds between looks at a running migration by a waiting ``ldm migrate-domain``
POLL = 0.05
LDMD_UNREACHABLE = ("Failed to establish connection with ldmd(1m) on target: {host}\n"
                    "Check that the 'ldmd' service is enabled on the target machine and\n"
                    "that the version supports Domain Migration. Check that the 'xmpp_enabled'\n"
                    "and 'incoming_migration_enabled' properties of the 'ldmd' service on\n"
                    "the target machine are set to 'true' using svccfg(1M).")


class Migration:
    """One migration: the source's domain, the copy bound on the target, and the clock that drives it."""

    def __init__(self, source: LdomsWorld, target: LdomsWorld, domain: Domain, incoming: Domain,
                 duration: float, fail_at: float | None) -> None:
        self.source, self.target = source, target
        self.domain, self.incoming = domain, incoming
        self.started = source.clock()
        self.duration = duration
        self.fail_at = fail_at
        #: None while running, then "done", "failed" or "cancelled"
        self.outcome: str | None = None
        self.progress_at_end = 0.0

    def fraction(self) -> float:
        if self.outcome is not None:
            return self.progress_at_end
        return max(0.0, min(1.0, (self.source.clock() - self.started) / self.duration))

    def status(self, outgoing: bool) -> Status:
        return Status(progress=min(100 if self.outcome else 99, int(self.fraction() * 100)),
                      error=self.outcome == "failed",
                      peer=self.target.hostname if outgoing else self.source.hostname, outgoing=outgoing)

    def advance(self) -> None:
        """Finish, or fail, once the clock says so."""
        if self.outcome is not None:
            return
        fraction = self.fraction()
        if self.fail_at is not None and fraction >= self.fail_at:
            # the link dropped: the target destroys its copy; once everything was sent (fail_at 1.0) the source
            # cannot know whether the target resumed the domain, and keeps it in the error state
            self.progress_at_end = self.fail_at
            self._drop_incoming()
            self.domain.migrating = Migrating.ERROR if self.fail_at >= 1.0 else Migrating.NONE
            self.outcome = "failed"
        elif fraction >= 1.0:
            self.progress_at_end = 1.0
            self._complete()
            self.outcome = "done"

    def cancel(self) -> None:
        self.progress_at_end = self.fraction()
        self._drop_incoming()
        self.domain.migrating = Migrating.NONE
        self.outcome = "cancelled"

    def _drop_incoming(self) -> None:
        target, incoming = self.target, self.incoming
        target.vntsd.console_deleted(incoming)
        target.domains.pop(incoming.name, None)
        target.macs.difference_update({incoming.mac, *(vnet.mac for vnet in incoming.vnets)})

    def _complete(self) -> None:
        source, domain, incoming = self.source, self.domain, self.incoming
        source.vntsd.console_deleted(domain)
        del source.domains[domain.name]
        source.macs.difference_update({domain.mac, *(vnet.mac for vnet in domain.vnets)})
        incoming.state, incoming.started_at = domain.state, domain.started_at
        incoming.console = domain.console
        incoming.migrating = Migrating.NONE


@dataclass(frozen=True, slots=True)
class Request:
    name: str
    user: str
    host: str
    new_name: str
    dry_run: bool
    password_file: str | None
    certificate: bool


def parse(args: list[str]) -> Request:
    flags, rest = options("migrate-domain", args, "cfnp:")
    if len(rest) != 2 or ("-c" in flags and ("-p" in flags or "@" in rest[1])):
        raise usage("migrate-domain")
    name, target = rest
    user, _, host = target.rpartition("@")
    host, _, new_name = host.partition(":")
    if not host:
        raise usage("migrate-domain")
    return Request(name, user or "root", host, new_name or name, "-n" in flags, flags.get("-p"), "-c" in flags)


def _failed(request: Request, reason: str) -> CommandError:
    return CommandError(f"{reason}\nDomain Migration of LDom {request.name} failed")


def password_from_file(world: LdomsWorld, request: Request, stdin: str | None) -> str:
    """The first line of ``-p FILE`` (``/dev/stdin`` reads what the command was given)."""
    path = request.password_file
    assert path is not None
    if path == "/dev/stdin":
        text = stdin or ""
    else:
        found = world.files.get(path)
        if found is None:
            raise _failed(request, f"Unable to open password file {path}: No such file or directory")
        text = found.content.decode("utf-8", "replace")
    return text.split("\n", 1)[0]


def _memory_fits(target: LdomsWorld, domain: Domain) -> str | None:
    """The first of the domain's memory blocks the target cannot place (same sizes, first fit), as ldm's
    message names it; None when all fit."""
    free = [size for _, size in target.free_memory()]
    blocks = [(b.ra, b.size) for b in domain.blocks] or [(0x10000000, domain.memory)]
    for ra, size in blocks:
        room = next((index for index, space in enumerate(free) if space >= size), None)
        if room is None:
            return f"Unable to bind {human_size(size)} memory region at real address {ra:#x}"
        free[room] -= size
    return None


def check(world: LdomsWorld, request: Request, password: str | None) -> tuple[LdomsWorld, Domain]:
    """Everything ldm checks before it moves anything, in order: the target's ldmd and login, then the
    domain, then room and services on the target. Returns the target and the domain."""
    target = world.network.worlds.get(request.host)
    if target is None or target is world:
        raise _failed(request, LDMD_UNREACHABLE.format(host=request.host) if target is None else
                      f"Target {request.host} is the machine the domain runs on")
    if not request.certificate and (not password or target.password not in (None, password)):
        raise _failed(request, f"Authentication of user {request.user} on target {request.host} failed")
    domain = world.domain(request.name)
    if domain.control:
        raise _failed(request, f"LDom {domain.name} is the control domain and cannot be migrated")
    if domain.migrating is Migrating.ERROR:
        raise _failed(request, f"LDom {domain.name} is in an error state after a failed migration: "
                               f"run ldm cancel-operation migration {domain.name}")
    if domain.migrating is not Migrating.NONE:
        raise _failed(request, f"LDom {domain.name} is already being migrated")
    reasons = []
    if domain.io:
        reasons.append(f"LDom {domain.name} has physical I/O devices "
                       f"({', '.join(alias for _, alias in domain.io)}) and cannot be migrated")
    for host, machine in ((world.hostname, world), (target.hostname, target)):
        pending = [d.name for d in machine.domains.values() if d.delayed_reconfig and (d.control or d is domain)]
        if pending:
            reasons.append(f"A delayed reconfiguration is pending on {', '.join(pending)} on {host}")
    if request.new_name in target.domains:
        reasons.append(f"Domain {request.new_name} already exists on target {request.host}")
    if domain.state is not State.INACTIVE:  # an inactive domain's constraints are checked when it binds
        free = len(target.free_strands())
        if domain.vcpus > free:
            reasons.append(f"Not enough free vcpus on target {request.host}: {domain.vcpus} needed, {free} available")
        memory = _memory_fits(target, domain)
        if memory:
            reasons.append(memory)
        for vnet in domain.vnets:
            if vnet.service != target.services.vsw.name:
                reasons.append(f"Virtual switch {vnet.service} of {vnet.name} not found on target {request.host}")
        target_volumes = {f"{name}@{target.services.vds.name}" for name in target.services.vds.volumes}
        for disk in domain.vdisks:
            if disk.vol not in target_volumes:
                reasons.append(f"Volume {disk.vol} of {disk.name} not found on target {request.host}")
    if reasons:
        raise _failed(request, "\n".join(reasons))
    return target, domain


def start(world: LdomsWorld, target: LdomsWorld, domain: Domain, new_name: str) -> Migration:
    """Bind the incoming copy on the target and set the clock running."""
    incoming = Domain(new_name, domain.uuid, domain.mac, vcpus=domain.vcpus, memory=domain.memory,
                      vnets=copy.deepcopy(domain.vnets), vdisks=copy.deepcopy(domain.vdisks),
                      variables=dict(domain.variables), migrating=Migrating.TARGET)
    target.domains[new_name] = incoming
    target.macs.update({incoming.mac, *(vnet.mac for vnet in incoming.vnets)})
    if domain.state is not State.INACTIVE:
        target.bind(incoming)
        incoming.state = State.BOUND
    duration = {State.ACTIVE: 2.0 + domain.memory / world.migration_rate, State.BOUND: 1.0}.get(domain.state, 0.5)
    fail_at, world.migration_failure = world.migration_failure, None
    domain.migrating = Migrating.SOURCE
    migration = Migration(world, target, domain, incoming, duration, fail_at)
    world.network.migrations.append(migration)
    return migration


async def migrate(world: LdomsWorld, args: list[str], read_stdin: Callable[[], Awaitable[str]] | None,
                  terminal: Terminal | None, *, wait: bool) -> str:
    """``ldm migrate-domain`` as ldm runs it: the password (file, stdin or the terminal), the checks, and
    unless ``-n`` the migration, waited for when ``wait``."""
    request = parse(args)
    password = None
    if request.password_file is not None:
        stdin = await read_stdin() if request.password_file == "/dev/stdin" and read_stdin else None
        password = password_from_file(world, request, stdin)
    elif not request.certificate:
        if terminal is None:
            raise _failed(request, "Target Password: cannot be read: no terminal (use -p filename)")
        terminal.write("Target Password: ")
        password = await terminal.read_line(False)
        terminal.write("\n")
    target, domain = check(world, request, password)
    if request.dry_run:
        return ""
    migration = start(world, target, domain, request.new_name)
    if not wait:
        return ""
    while migration.outcome is None:
        world.network.tick()
        if migration.outcome is None:
            await asyncio.sleep(POLL)
    if migration.outcome == "failed":
        raise _failed(request, f"Lost the connection to target {request.host} after {migration.status(True).progress}%")
    if migration.outcome == "cancelled":
        raise _failed(request, "The migration was cancelled")
    return ""


def migrate_domain(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    """The synchronous form (``LdomsWorld.run``): a password file only, and it returns once started."""
    request = parse(args)
    if request.password_file is None and not request.certificate:
        raise _failed(request, "Target Password: cannot be read: no terminal (use -p filename)")
    password = password_from_file(world, request, None) if request.password_file else None
    target, domain = check(world, request, password)
    if not request.dry_run:
        start(world, target, domain, request.new_name)
    return ""


def cancel_operation(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if len(args) != 2 or args[0] != "migration":
        raise usage(subcommand)
    domain = world.domain(args[1])
    running = _migration_of(world, domain)
    if domain.migrating is Migrating.TARGET:
        raise CommandError(f"The migration of LDom {domain.name} can only be cancelled on its source machine")
    if domain.migrating is Migrating.SOURCE and running is not None:
        running.cancel()
    elif domain.migrating is Migrating.ERROR:
        domain.migrating = Migrating.NONE
        if running is not None:
            running.outcome = "cancelled"
    else:
        raise CommandError(f"No migration operation is in progress for LDom {domain.name}")
    world.network.tick()
    return ""


def _migration_of(world: LdomsWorld, domain: Domain) -> Migration | None:
    for running in world.network.migrations:
        if running.domain is domain or running.incoming is domain:
            return running
    return None


def status_of(world: LdomsWorld, domain: Domain) -> Status | None:
    """``ldm list -o status``: the migration this domain takes part in here, running or left in error."""
    running = _migration_of(world, domain)
    if running is None or not (running.outcome is None or domain.migrating is Migrating.ERROR):
        return None
    return running.status(outgoing=running.domain is domain)


COMMANDS = {"migrate-domain": migrate_domain, "cancel-operation": cancel_operation}
