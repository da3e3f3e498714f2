"""Live migration between two LDoms control domains: the form, the plan (pre-flight checks, progress,
cancel), and the password file ldm reads.

ldm.md §10: ``ldm migrate-domain [-n] [-p filename] source-ldom [user@]target-host[:target-ldom]`` runs on
the source control domain and waits until the migration ends; ``-n`` is ldm's own dry run; ``-p`` reads the
target's password from the first line of a file (LDoms 1.3 and later); progress is ``ldm list -o status``
on the source; ``ldm cancel-operation migration DOMAIN`` on the source cancels it and leaves the domain
running there; a failure after everything was sent leaves FLAGS ``e`` on the source, cleared by the same
cancel-operation.

**The password.** ldm.md documents ``-p filename`` and nothing about ldm reading a pipe, so the password
goes into a file: written by ``sh -c 'umask 077; cat > "$1"' sh FILE`` with the password on its stdin (a
file only its owner can read, created by the shell's redirection under a umask that leaves no other
permission, never passing through argv, where ``ps`` would show it), read by ``ldm migrate-domain -p
FILE``, and removed by ``rm -f FILE`` in a step that runs even after a failure or a cancel. FILE is
``/tmp/hvdeck-migrate-<128 random bits>`` (tmpfs on Solaris: never on disk). The password is a step's
*secret input*: the plan preview shows "(secret, not shown)", the audit log "(secret, not recorded)".
ldm's dry run needs the password too, and a pre-flight check is one operation, so the dry run writes,
uses and removes its own file in one ``sh -c`` script (`DRY_RUN`). Both scripts are constants; every
value reaches them as a positional parameter, never as script text.

**The CPU.** ldm documents no CPU type in its output. What it documents is a domain's ``cpu-arch``
(``CONTROL|...|cpu-arch=`` in ``list-bindings -p``, §3.3): ``native`` migrates only between servers of
the same SPARC CPU type (ldm's dry run checks that), ``generic``, ``migration-class1`` and
``sparc64-class1`` between any of a family. The CPU check reads it and says which.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CommandFailed, ParseError, ValidationError
from ..model import Bindings, Domain, DomainState
from ..options import Form, TextOption
from ..plan import Check, Operation, Plan, Progress, ProgressInfo, Step
from ..transport.base import Result
from . import commands, parse, states

if TYPE_CHECKING:
    from ..base import Backend
    from .backend import LdomsBackend

LDM = commands.LDM
#: writes stdin to the file named by $1, readable by its owner only
WRITE_SECRET = 'umask 077; cat > "$1"'
#: ldm's dry run with a password file of its own: $1 the file, $2 the domain, $3 [user@]host[:name]
DRY_RUN = 'umask 077; cat > "$1" && ldm migrate-domain -n -p "$1" "$2" "$3"; s=$?; rm -f "$1"; exit $s'
PASSWORD_DIR = "/tmp"
PROGRESS_INTERVAL = 1.0
#: cpu-arch values that migrate between CPU types (ldm(8), set-domain cpu-arch=)
CPU_CLASSES = {"generic": "any SPARC T-series or M-series server",
               "migration-class1": "any SPARC T4 or later server (the migration class 1 family)",
               "sparc64-class1": "any SPARC64 X or later server (the SPARC64 class 1 family)"}

_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")


def validate_user(text: str) -> str:
    if not _USER.fullmatch(text):
        raise ValidationError(f"user {text!r}: letters, digits, '_', '.' or '-', starting with a letter or '_'")
    return text


def validate_address(text: str) -> str:
    """A host name or IPv4 address as ldm takes it in ``user@host:name`` (no ``:``, no leading ``-``)."""
    if not _HOST.fullmatch(text):
        raise ValidationError(f"address {text!r}: a host name or an IPv4 address")
    return text


FORM = Form("Live migration", (
    TextOption("password", "Target password", help="the password of the user on the target control domain "
               "(ldm migrate-domain -p)", secret=True),
    TextOption("user", "User on the target", help="who ldm logs in as on the target", default="root",
               validator=validate_user),
    TextOption("name", "Name on the target", help="the domain's name on the target (default: the same)",
               validator=lambda text: commands.validate_name(text, "name on the target")),
    TextOption("address", "Target address", help="the target as the source control domain reaches it "
               "(empty: the name the target gives itself, `hostname`)", required=False,
               validator=validate_address),
))


def form(domain: Domain) -> Form:
    return FORM.with_choices({}, name=domain.name)


def password_file() -> str:
    """A new name for a password file: unguessable, so nobody can put a file or a link there first."""
    return f"{PASSWORD_DIR}/hvdeck-migrate-{secrets.token_hex(16)}"


# -- the plan (pure) --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """A migration as the user asked for it, validated."""

    name: str  # on the source
    new_name: str
    user: str
    address: str  # the target as the source reaches it
    password: str
    password_file: str

    @property
    def destination(self) -> str:
        """``user@host[:name]`` (ldm.md §10.1)."""
        return f"{self.user}@{self.address}" + (f":{self.new_name}" if self.new_name != self.name else "")


def request(domain: Domain, values: Mapping[str, Any], *, address: str, password_file: str) -> Request:
    """The validated request from the parsed form values. Raises ValidationError."""
    password = values.get("password") or ""
    if not password:
        raise ValidationError("the target's password is required")
    if "\n" in password or "\r" in password:
        raise ValidationError("the password cannot contain a line break (ldm reads the first line)")
    return Request(name=commands.validate_name(domain.name),
                   new_name=commands.validate_name(values.get("name") or domain.name, "name on the target"),
                   user=validate_user(values.get("user") or "root"), address=validate_address(address),
                   password=password, password_file=password_file)


def cpu_arch(bindings: Bindings | None) -> str | None:
    """The domain's ``cpu-arch`` (the DOMAIN INFO rows of its bindings), None when not printed."""
    for section in bindings.extra if bindings is not None else ():
        if section.title == "DOMAIN INFO":
            for row in section.rows:
                if row[:1] == ("cpu-arch",):
                    return row[1]
    return None


def io_devices(bindings: Bindings | None) -> tuple[str, ...]:
    for section in bindings.extra if bindings is not None else ():
        if section.title == "IO":
            return tuple(row[1] or row[0] for row in section.rows)
    return ()


def plan(domain: Domain, source: str, target: str, target_kind: str, target_read_only: bool, req: Request,
         bindings: Bindings | None, *, source_version: parse.LdmVersion | None) -> Plan:
    """The migration Plan of ``domain`` from control domain ``source`` to ``target``. Pure."""
    name, new = req.name, req.new_name
    known = commands.facts(domain)
    flags = known.read
    migrating = flags.set & {states.Flag.MIGRATION_SOURCE, states.Flag.MIGRATION_TARGET, states.Flag.MIGRATION_ERROR}
    state_reason = ""
    if known.control:
        state_reason = f"{name} is the control domain: it cannot be migrated"
    elif states.Flag.MIGRATION_ERROR in flags:
        state_reason = (f"{name} is in an error state after a failed migration: clear it with "
                        f"`ldm cancel-operation migration {name}` on {source}")
    elif migrating:
        state_reason = f"{name} is already being migrated"
    elif domain.native_state.lower() != "active" or domain.state is not DomainState.RUNNING:
        state_reason = f"{name} is {domain.native_state}: only an active domain migrates live"
    elif states.Flag.DELAYED_RECONFIG in flags:
        state_reason = f"{name} has a delayed reconfiguration pending"
    io = io_devices(bindings)
    arch = cpu_arch(bindings)
    if bindings is None:
        arch_check = Check(f"{name}'s CPU class suits {target}", passed=False,
                           reason=f"{name}'s bindings could not be read, so neither could its cpu-arch")
    elif arch == "native":
        arch_check = Check(f"{name}'s CPU class suits {target}", passed=True,
                           reason="cpu-arch=native: only to a server with the same SPARC CPU type (ldm's dry run "
                                  "checks it)")
    elif arch in CPU_CLASSES:
        arch_check = Check(f"{name}'s CPU class suits {target}", passed=True,
                           reason=f"cpu-arch={arch}: {CPU_CLASSES[arch]}")
    else:
        arch_check = Check(f"{name}'s CPU class suits {target}", passed=False,
                           reason=f"cpu-arch={arch!r}: a value hvdeck does not know" if arch else
                           f"ldm list-bindings printed no cpu-arch for {name}")
    version_ok = source_version is None or (source_version.major, source_version.minor) >= (1, 3)
    checks = [
        Check(f"{target} is an LDoms control domain like {source}", passed=target_kind == "ldoms",
              reason="" if target_kind == "ldoms" else f"{target} is a {target_kind} host"),
        Check(f"{target} may be changed", passed=not target_read_only,
              reason=f"{target} is read-only in the inventory" if target_read_only else ""),
        Check(f"{name} is active and free to move", passed=not state_reason, reason=state_reason),
        Check(f"{name} owns no physical I/O", passed=bindings is not None and not io,
              reason=(f"{name} owns {', '.join(io)}: a domain with physical I/O cannot migrate" if io else
                      "" if bindings is not None else f"{name}'s bindings could not be read")),
        Check(f"ldm on {source} takes the password from a file (-p, LDoms 1.3 and later)", passed=version_ok,
              reason="" if version_ok or source_version is None else f"ldm on {source} is {source_version.manager}"),
        arch_check,
        Check(f"{target} answers with ldm", Operation.command(LDM, "-V"), host=target, parser=_version_ok),
        Check(f"{target} has no domain named {new}", Operation.command(*commands.LIST), host=target,
              parser=_name_free(new, target)),
        Check(f"No delayed reconfiguration is pending on {source}'s control domain",
              Operation.command(*commands.LIST), host=source, parser=_no_delayed_reconfig(source)),
        Check(f"No delayed reconfiguration is pending on {target}'s control domain",
              Operation.command(*commands.LIST), host=target, parser=_no_delayed_reconfig(target)),
        Check(f"{target} has {domain.vcpus or '?'} strands and {parse.format_size(domain.memory_bytes or 0)} of "
              f"memory free", Operation.command(*commands.DEVICES), host=target,
              parser=_room(name, target, domain.vcpus, domain.memory_bytes)),
    ]
    volumes = tuple(d.source for d in bindings.disks if d.source) if bindings is not None else ()
    switches = tuple(n.source for n in bindings.nics if n.source) if bindings is not None else ()
    if volumes:
        checks.append(Check(f"{target} exports {name}'s volumes ({', '.join(volumes)})",
                            Operation.command(*commands.SERVICES), host=target, parser=_volumes(volumes, target)))
    if switches:
        checks.append(Check(f"{target} has {name}'s virtual switches ({', '.join(sorted(set(switches)))})",
                            Operation.command(*commands.SERVICES), host=target, parser=_switches(switches, target)))
    checks.append(Check(f"ldm's own dry run: ldm migrate-domain -n {name} {req.destination}",
                        Operation.command("sh", "-c", DRY_RUN, "sh", password_file_for_dry_run(req), name,
                                          req.destination),
                        host=source, parser=_dry_run, input=req.password + "\n", secret_input=True))
    status = Operation.command(LDM, "list", "-o", "status", name)
    steps = (
        Step(f"Write {target}'s password to {req.password_file}, readable by its owner only",
             Operation.command("sh", "-c", WRITE_SECRET, "sh", req.password_file),
             input=req.password + "\n", secret_input=True),
        Step(f"Migrate {name} live to {target}" + (f" as {new}" if new != name else ""),
             Operation.command(LDM, "migrate-domain", "-p", req.password_file, name, req.destination),
             timeout=None, progress=Progress(migration_progress, status, interval=PROGRESS_INTERVAL),
             cancel=Operation.command(LDM, "cancel-operation", "migration", name)),
        Step(f"Remove the password file {req.password_file}", Operation.command("rm", "-f", req.password_file),
             always=True),
    )
    warning = (f"{name} keeps running while its memory is copied to {target}, then is suspended for a moment "
               f"and resumes there" + (f" as {new}" if new != name else "") + f". Cancel leaves it running on "
               f"{source}; a failure after everything was sent leaves it in an error state (FLAGS e) on {source}, "
               f"cleared with ldm cancel-operation migration {name}.")
    return Plan(title=f"Migrate {name} from {source} to {target}" + (f" as {new}" if new != name else ""),
                host=source, action="migrate", target=name, steps=steps, warning=warning, checks=tuple(checks))


def password_file_for_dry_run(req: Request) -> str:
    """The dry run's own password file, beside the migration's (removed by the same script)."""
    return f"{req.password_file}-n"


# -- check verdicts (pure) ----------------------------------------------------------------------------------


def _version_ok(result: Result) -> str | None:
    if not result.ok:
        return None
    try:
        version = parse.parse_version(result.stdout)
    except ParseError as exc:
        return f"ldm -V: {exc.message}"
    if (version.major, version.minor) < (1, 2):
        return f"ldm {version.manager} cannot migrate domains (LDoms 1.2 and later can)"
    return None


def _domains(result: Result, host: str) -> tuple[Domain, ...] | str:
    try:
        return parse.parse_list_p(result.stdout, host)
    except ParseError as exc:
        return f"ldm list -p: {exc.message}"


def _name_free(name: str, target: str) -> Callable[[Result], str | None]:
    def verdict(result: Result) -> str | None:
        if not result.ok:
            return None
        found = _domains(result, target)
        if isinstance(found, str):
            return found
        if any(d.name == name for d in found):
            return f"{target} already has a domain named {name}: give it another name on the target"
        return None
    return verdict


def _no_delayed_reconfig(host: str) -> Callable[[Result], str | None]:
    def verdict(result: Result) -> str | None:
        if not result.ok:
            return None
        found = _domains(result, host)
        if isinstance(found, str):
            return found
        for domain in found:
            known = commands.facts(domain)
            if known.control and states.Flag.DELAYED_RECONFIG in known.read:
                return f"{domain.name} on {host} has a delayed reconfiguration pending: ldm refuses to migrate"
        return None
    return verdict


def _room(name: str, target: str, vcpus: int | None, memory: int | None) -> Callable[[Result], str | None]:
    def verdict(result: Result) -> str | None:
        if not result.ok:
            return None
        try:
            resources = commands.Resources.of(parse.parse_devices_p(result.stdout))
        except ParseError as exc:
            return f"ldm list-devices -a -p: {exc.message}"
        if vcpus is not None and resources.free_strands is not None and vcpus > resources.free_strands:
            return f"{target} has {resources.free_strands} free strands; {name} has {vcpus} vCPUs"
        if memory is not None and resources.free_memory_bytes is not None and memory > resources.free_memory_bytes:
            return (f"{target} has {parse.format_size(resources.free_memory_bytes)} of memory free; {name} has "
                    f"{parse.format_size(memory)}")
        return None
    return verdict


def _services(result: Result) -> parse.Services | str:
    try:
        return parse.parse_services_p(result.stdout)
    except ParseError as exc:
        return f"ldm list-services -p: {exc.message}"


def _volumes(volumes: Sequence[str], target: str) -> Callable[[Result], str | None]:
    def verdict(result: Result) -> str | None:
        if not result.ok:
            return None
        services = _services(result)
        if isinstance(services, str):
            return services
        exported = {f"{v.vol}@{vds.name}" for vds in services.vdss for v in vds.volumes}
        missing = [v for v in volumes if v not in exported]
        return f"{target} does not export {', '.join(missing)}" if missing else None
    return verdict


def _switches(switches: Sequence[str], target: str) -> Callable[[Result], str | None]:
    def verdict(result: Result) -> str | None:
        if not result.ok:
            return None
        services = _services(result)
        if isinstance(services, str):
            return services
        there = {vsw.name for vsw in services.vsws} | {f"{vsw.name}@{vsw.ldom}" for vsw in services.vsws if vsw.ldom}
        missing = sorted({s for s in switches if s not in there})
        return f"{target} has no virtual switch {', '.join(missing)}" if missing else None
    return verdict


def _dry_run(result: Result) -> str | None:
    """ldm's refusal without its last line (``Domain Migration of LDom NAME failed``, which says nothing
    more); None when it passed."""
    if result.ok:
        return None
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[-1].startswith("Domain Migration of LDom"):
        lines = lines[:-1]
    return "; ".join(lines) or result.stdout.strip() or f"exit status {result.exit_status}"


# -- progress ---------------------------------------------------------------------------------------------


def migration_progress(text: str) -> ProgressInfo | None:
    """``ldm list -o status DOMAIN`` on the source -> progress (None when it shows no migration, or prints
    what `parse.parse_status` cannot read: a progress reading never stops a migration)."""
    try:
        found = parse.parse_status(text)
    except ParseError:
        return None
    for status in found:
        if status.operation is None:
            continue
        fraction = None if status.progress is None else max(0.0, min(1.0, status.progress / 100))
        where = f" to {status.peer}" if status.outgoing and status.peer else f" from {status.peer}" if status.peer else ""
        message = f"{status.operation} {status.progress if status.progress is not None else '?'}%{where}"
        if status.error:
            message += ": ldm reports an error"
        return ProgressInfo(fraction=fraction, message=message)
    return None


# -- the backend's part: read what the plan needs ------------------------------------------------------------


async def build(backend: LdomsBackend, domain: Domain, target: Backend, values: Mapping[str, Any]) -> Plan:
    """`LdomsBackend.plan_migrate`: the domain's bindings (cpu-arch, I/O, volumes, switches) from the
    source, the target's own host name when no address was given, then the plan. Raises ValidationError
    for input ldm would refuse."""
    address = values.get("address")
    if not address:
        try:
            result = await target.session.run(["hostname"])
            address = result.stdout.strip()
        except CommandFailed as exc:
            raise ValidationError(f"{target.spec.name} did not say its host name ({exc.message}): give the "
                                  "target's address") from None
        if not address:
            raise ValidationError(f"{target.spec.name} printed no host name: give the target's address")
    req = request(domain, values, address=address, password_file=password_file())
    try:
        bindings: Bindings | None = await backend.bindings(domain)
    except (CommandFailed, ParseError):
        bindings = None
    return plan(domain, backend.spec.name, target.spec.name, target.kind, target.spec.read_only, req, bindings,
                source_version=backend.version)
