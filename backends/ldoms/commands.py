"""Pure `ldm` and `zfs` intent: name and size rules, the read-only commands a poll runs, and Plans — the
lifecycle and LDoms-specific actions, and the wizards': create a guest, clone one from a snapshot of its
root disk, take, roll back and destroy a volume's snapshots. No I/O: the wizards' builders take what the
backend read of the host (`HostView`, `CloneView`) and give a Plan or `FormErrors` naming each input at
fault.

Every Plan step is an argv list for the control domain; nothing user- or host-supplied is ever put into
a shell string. Names are checked before a Plan exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ..base import Action, ExtraAction, Param
from ..errors import ParseError, ValidationError
from ..model import Domain, Network, Snapshot, StoragePool, Volume
from ..options import BoolOption, Choice, ChoiceOption, Form, FormErrors, NumberOption, SizeOption, TextOption
from ..plan import Check, Operation, Plan, Step
from ..transport.base import Result
from . import states
from .parse import (
    ZFS_COLUMNS,
    Constraints,
    Devices,
    Services,
    VdiskRef,
    Vds,
    VdsVolume,
    ZfsDataset,
    format_size,
    parse_devices_p,
    parse_list_p,
    parse_services_p,
    parse_size,
    parse_spconfig,
    parse_zfs_list,
)

T = TypeVar("T")

LDM = "ldm"
LIST = (LDM, "list", "-p")
VERSION = (LDM, "-V")
SERVICES = (LDM, "list-services", "-p")
DEVICES = (LDM, "list-devices", "-a", "-p")
CONTROL_DOMAIN = states.CONTROL_DOMAIN

# ldm(8) documents no grammar for names. These rules are the conservative subset that every name in the
# Oracle samples and captures satisfies (`primary`, `ldg1`, `DR-PRD02-CBSAPP01`, `primary-vds0`,
# `ldg1-boot`): a letter first, then letters, digits, '-', '_' or '.', at most 64 characters. A name that
# fits is accepted by every ldm release; a name outside it is refused here rather than half-way through a
# plan on the host.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
# OBP variable names (set-var): `auto-boot?`, `boot-device`, `use-nvramrc?`
_VAR = re.compile(r"[A-Za-z][A-Za-z0-9_.?-]{0,63}")
_MAC = re.compile(r"[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}")


def validate_name(name: str, what: str = "domain name") -> str:
    if not _NAME.fullmatch(name):
        raise ValidationError(f"{what} {name!r}: use a letter first, then letters, digits, '-', '_' or '.' "
                              "(at most 64 characters)")
    return name


def validate_count(text: str | int, what: str = "vCPU count", *, low: int = 1, high: int = 1024) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} {text!r} is not a whole number") from None
    if not low <= value <= high:
        raise ValidationError(f"{what} {value} is outside {low}-{high}")
    return value


def validate_size(text: str, what: str = "memory size") -> str:
    """A size as ldm takes it (`4G`, `1024M`, `512m`); returned in ldm's own spelling (`4G`)."""
    try:
        size = parse_size(text)
    except ValueError:
        raise ValidationError(f"{what} {text!r}: use a number with K, M or G, e.g. 4G or 1536M") from None
    if size < 4 * 1024**2:
        raise ValidationError(f"{what} {text!r} is smaller than 4M, the smallest ldm memory block")
    return format_size(size)


def validate_var(assignment: str) -> tuple[str, str]:
    """``NAME=VALUE`` for `ldm set-var` (the value may contain '=' and spaces, never a control character)."""
    name, sep, value = assignment.partition("=")
    for what, text in (("name", name), ("value", value)):
        found = control_character(text)
        if found is not None:
            label = f"variable {name!r}" if what == "value" and _VAR.fullmatch(name) else "the variable"
            raise ValidationError(f"{label}: the {what} contains {found}; OBP variables hold printable text only")
    if not sep or not _VAR.fullmatch(name):
        raise ValidationError(f"variable {assignment!r}: write NAME=VALUE, e.g. auto-boot?=false")
    return name, value


#: the ASCII names of the C0 controls, 0x00-0x1f
_C0_NAMES = ["NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "TAB", "LF", "VT", "FF", "CR", "SO", "SI",
             "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US"]
#: invisible characters that reorder or hide text (Unicode bidirectional controls)
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def control_character(text: str) -> str | None:
    """The first control character of ``text`` described for a person ("ESC (0x1b) at position 5"), or None.
    Control characters are C0 (NUL, CR, ESC...), DEL, C1 (U+0080-U+009F) and the bidirectional controls."""
    for index, char in enumerate(text, 1):
        code = ord(char)
        if code < 0x20:
            return f"a control character, {_C0_NAMES[code]} (0x{code:02x}), at position {index}"
        if code == 0x7F:
            return f"a control character, DEL (0x7f), at position {index}"
        if 0x80 <= code <= 0x9F:
            return f"a C1 control character (U+{code:04X}) at position {index}"
        if char in _BIDI:
            return f"a bidirectional control character (U+{code:04X}) at position {index}"
    return None


def bindings(domain: str | None = None) -> tuple[str, ...]:
    return (LDM, "list-bindings", "-p") if domain is None else (LDM, "list-bindings", "-p", validate_name(domain))


def long_list(domain: str) -> tuple[str, ...]:
    return (LDM, "list", "-l", "-p", validate_name(domain))


def console_command(domain: Domain) -> tuple[str, ...] | None:
    """How to reach a guest's console from the control domain: vntsd's port (ldm.md §9). The control
    domain's own console (UART, SP) is not on vntsd."""
    port = domain.console or ""
    return ("telnet", "localhost", port) if port.isdigit() else None


# --- lifecycle ------------------------------------------------------------------------------------------


def _step(description: str, *argv: str, undo: tuple[str, ...] | None = None) -> Step:
    return Step(description, Operation.command(*argv), Operation.command(*undo) if undo else None)


def lifecycle_plan(action: Action, domain: Domain) -> Plan:
    """start (binding first if inactive), shut down (stop), reboot (stop -r), force off (stop -f). Stopping
    or rebooting a virtual I/O service domain (flag v) says that its guests lose their virtual devices."""
    name = validate_name(domain.name)
    known = facts(domain)
    steps: list[Step] = []
    warning, confirm = "", None
    serves = (f"{name} is a virtual I/O service domain: the guests whose disks or networks it serves lose "
              "them until it is back. " if states.Flag.VIO_SERVICE in known.read and not known.control else "")
    if action is Action.START:
        if domain.native_state.lower() == "inactive":
            steps.append(_step(f"Bind {name}: reserve its vCPUs, memory and I/O", LDM, "bind", name,
                               undo=(LDM, "unbind", name)))
        steps.append(_step(f"Start {name}", LDM, "start", name, undo=(LDM, "stop", name)))
    elif action is Action.SHUTDOWN:
        steps.append(_step(f"Stop {name}: ask its OS to shut down; it stays bound", LDM, "stop", name,
                           undo=(LDM, "start", name)))
        warning = serves.strip()
    elif action is Action.REBOOT:
        steps.append(_step(f"Reboot {name} (stop -r)", LDM, "stop", "-r", name))
        warning = serves.strip()
        if known.control:
            warning = "Rebooting the control domain interrupts the virtual I/O services of every guest that uses them"
            if states.Flag.DELAYED_RECONFIG in known.read:
                warning += ", and makes its pending delayed reconfiguration take effect"
            warning += ". Type the domain name to confirm."
            confirm = name
    elif action is Action.FORCE_OFF:
        steps.append(_step(f"Stop {name} at once (stop -f), like pulling the power cord", LDM, "stop", "-f", name))
        warning = f"{serves}{name} will be stopped without a clean shutdown. Type the domain name to confirm."
        confirm = name
    else:
        raise ValidationError(f"ldm has no {action.label.lower()}")
    return Plan(title=f"{action.label} {name} on {domain.host}", host=domain.host, action=action.value,
                target=name, steps=tuple(steps), confirm_phrase=confirm, warning=warning)


# --- LDoms-specific actions ------------------------------------------------------------------------------


BIND = ExtraAction("bind", "Bind (reserve resources)")
UNBIND = ExtraAction("unbind", "Unbind (release resources)")
REMOVE = ExtraAction("remove-domain", "Remove the domain")
SET_VCPU = ExtraAction("set-vcpu", "Set the number of vCPUs", (Param("count", "vCPUs", "e.g. 8"),))
ADD_VCPU = ExtraAction("add-vcpu", "Add vCPUs", (Param("count", "vCPUs to add", "e.g. 2"),))
REMOVE_VCPU = ExtraAction("remove-vcpu", "Remove vCPUs", (Param("count", "vCPUs to remove", "e.g. 2"),))
SET_MEMORY = ExtraAction("set-memory", "Set the memory size", (Param("size", "memory", "e.g. 16G"),))
SET_VAR = ExtraAction("set-var", "Set an OBP variable", (Param("assignment", "NAME=VALUE", "auto-boot?=false"),))
#: ldm.md §11: what operators run after a change, so that the machine comes back the same after a power cycle.
#: A host-wide action, offered on every domain (and after the create wizard).
SAVE_SPCONFIG = ExtraAction("add-spconfig", "Save the configuration to the SP",
                            (Param("config", "configuration name", "e.g. after-web3"),))
EXTRA_ACTIONS = (BIND, UNBIND, REMOVE, SET_VCPU, ADD_VCPU, REMOVE_VCPU, SET_MEMORY, SET_VAR, SAVE_SPCONFIG)


def facts(domain: Domain) -> states.DomainFacts:
    """The domain as the state table reads it: name, ldm's state word and FLAGS."""
    return states.DomainFacts(domain.name, domain.native_state, domain.flags or "")


def why_not_extra(action: ExtraAction, domain: Domain, control: states.DomainFacts | None = None) -> str | None:
    """Why ldm would refuse this LDoms action for this domain now (None when it would not): `states.why_not`.
    ``control`` is the host's control domain as last polled, None without host context."""
    if action not in EXTRA_ACTIONS:
        return f"ldm has no {action.label.lower()}"
    if action is SAVE_SPCONFIG:
        if control is not None and states.Flag.DELAYED_RECONFIG in control.read:
            return (f"{control.name} has a delayed reconfiguration pending: save the configuration after "
                    f"{control.name} reboots, so that it holds the change")
        return None
    return states.why_not(action.id, facts(domain), control)


# --- sizes against the domain and the host's free resources ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Resources:
    """A host's strands and memory from `ldm list-devices -a -p` (§7), in all and free; None where the
    listing had no such rows. Memory in bytes; the hypervisor's own blocks (`bound=_sys_`) are not counted."""

    strands: int | None
    free_strands: int | None
    memory_bytes: int | None
    free_memory_bytes: int | None

    @classmethod
    def of(cls, devices: Devices) -> Resources:
        strands = bool(devices.strands)
        memory = [block for block in devices.memory if block.bound != "_sys_"]
        return cls(strands=len(devices.strands) if strands else None,
                   free_strands=devices.free_strands if strands else None,
                   memory_bytes=sum(block.size for block in memory) if memory else None,
                   free_memory_bytes=devices.free_memory_bytes if memory else None)


#: the actions whose size is checked against the host's free resources before a plan exists
GROWS = ("set-vcpu", "add-vcpu", "set-memory")


def requested(action: ExtraAction, values: dict[str, str]) -> int:
    """The number a resize asks for: vCPUs (a count to set, add or remove), or bytes of memory.
    Raises ValidationError on a malformed input."""
    if action.id == "set-memory":
        text = values.get("size", "")
        validate_size(text)
        return parse_size(text)
    if action.id in ("set-vcpu", "add-vcpu", "remove-vcpu"):
        return validate_count(values.get("count", ""))
    raise ValidationError(f"{action.id} takes no size")


def check_size(action: ExtraAction, domain: Domain, amount: int, resources: Resources | None) -> None:
    """Refuse, with the sentence that says why (ValidationError), a resize that ldm would refuse.

    ``amount`` is what `requested` returned. A domain keeps at least one vCPU. A bound or active domain
    grows only by what is free on the host; an inactive one only changes its constraints, so it is held to
    the host's total. Without ``resources`` (None) only the domain's own limits are checked."""
    name, current_vcpus, current_memory = domain.name, domain.vcpus, domain.memory_bytes
    if action.id == "remove-vcpu":
        if current_vcpus is not None and amount >= current_vcpus:
            raise ValidationError(
                f"{name} has {_vcpus(current_vcpus)}: remove at most {current_vcpus - 1} (a domain keeps at "
                "least one)" if current_vcpus > 1 else
                f"{name} has 1 vCPU, the fewest a domain can have: none can be removed")
    elif action.id in ("set-vcpu", "add-vcpu"):
        if action.id == "set-vcpu" and amount == current_vcpus:
            raise ValidationError(f"{name} already has {_vcpus(amount)}")
        new: int | None
        grow: int | None
        if action.id == "add-vcpu":
            new, grow = (None if current_vcpus is None else current_vcpus + amount), amount
        else:
            new, grow = amount, (None if current_vcpus is None else amount - current_vcpus)
        room = _Room("strands", str, None if resources is None else resources.free_strands,
                     None if resources is None else resources.strands)
        room.check(domain, "add" if action.id == "add-vcpu" else "set", grow, new,
                   None if current_vcpus is None else _vcpus(current_vcpus))
    elif action.id == "set-memory":
        if amount == current_memory:
            raise ValidationError(f"{name} already has {format_size(amount)} of memory")
        room = _Room("memory", format_size, None if resources is None else resources.free_memory_bytes,
                     None if resources is None else resources.memory_bytes)
        grow = None if current_memory is None else amount - current_memory
        room.check(domain, "set", grow, amount,
                   None if current_memory is None else f"{format_size(current_memory)} of memory")


def _vcpus(count: int) -> str:
    return f"{count} vCPU" + ("" if count == 1 else "s")


@dataclass(frozen=True, slots=True)
class _Room:
    """One resource of a host: ``free`` and ``total`` in its unit (strands, bytes), None when unknown."""

    what: str  # strands | memory
    show: Callable[[int], str]
    free: int | None
    total: int | None

    def amount(self, value: int) -> str:
        return f"{self.show(value)} of memory" if self.what == "memory" else \
            f"{value} strand" + ("" if value == 1 else "s")

    def check(self, domain: Domain, verb: str, grow: int | None, new: int | None, has: str | None) -> None:
        """``grow``: how much more a bound or active domain takes; ``new``: the size an inactive one asks
        for; ``has``: what the domain has now, for the sentence."""
        state, host = domain.native_state.lower(), domain.host
        if state in ("bound", "active") and self.free is not None and grow is not None and grow > self.free:
            if self.free == 0:
                raise ValidationError(f"no {'memory' if self.what == 'memory' else 'strand'} is free on {host}: "
                                      f"ldm cannot give {domain.name} more")
            limit = self.free if verb == "add" else (new or 0) - grow + self.free  # set: what it has + free
            raise ValidationError(f"{host} has {self.amount(self.free)} free: {verb} at most {self.show(limit)}"
                                  + (f" ({domain.name} has {has})" if has else ""))
        if state == "inactive" and self.total is not None and new is not None and new > self.total:
            raise ValidationError(f"{host} has {self.amount(self.total)} in all: {domain.name} cannot have "
                                  + (self.show(new) if self.what == "memory" else _vcpus(new)))


def extra_plan(action: ExtraAction, domain: Domain, values: dict[str, str], *,
               resources: Resources | None = None, unchecked: str = "",
               spconfigs: tuple[str, ...] | None = None) -> Plan:
    """The plan of an LDoms action, its inputs validated and, for resizes, checked with `check_size`
    against ``resources`` (the host's, None when they could not be read: then ``unchecked`` says why and
    goes into the plan's warning). ``spconfigs``: the configurations already on the service processor
    (`parse.parse_spconfig`), for `SAVE_SPCONFIG`; None when they could not be read."""
    if action is SAVE_SPCONFIG:
        return spconfig_plan(domain.host, values.get("config", ""), spconfigs)
    name = validate_name(domain.name)
    state = domain.native_state.lower()
    read = facts(domain).read
    control = facts(domain).control
    warning = ""
    if action.id in states.RESIZE:
        check_size(action, domain, requested(action, values), resources)
        if states.Flag.DELAYED_RECONFIG in read:  # ldm: "Any changes made to NAME will only take effect after
            # it reboots" (states.py)
            warning = (f"{name} has a delayed reconfiguration pending: this change takes effect when {name} "
                       "reboots.")
        elif control and state == "active":
            warning = (f"{name} is the running control domain: ldm changes it live where it can (dynamic "
                       "reconfiguration); where it cannot, ldm starts a delayed reconfiguration, which takes "
                       f"effect when {name} reboots and blocks changes to every other domain until then.")
        elif state == "active":
            warning = (f"{name} is running: ldm changes it live (dynamic reconfiguration), which needs the drd "
                       "daemon running in its OS; if the change cannot be made live, ldm refuses it and nothing "
                       "changes.")
        elif state == "inactive":
            warning = (f"{name} is inactive: ldm records the new size in its constraints; the resources are "
                       "reserved when it is bound.")
        if unchecked and action.id in GROWS:
            warning = f"{warning} {unchecked}".strip()
    undo: tuple[str, ...] | None
    if action is BIND:
        step = _step(f"Bind {name}", LDM, "bind", name, undo=(LDM, "unbind", name))
    elif action is UNBIND:
        step = _step(f"Unbind {name}", LDM, "unbind", name, undo=(LDM, "bind", name))
    elif action is REMOVE:
        step = _step(f"Remove {name} and its constraints", LDM, "remove-domain", name)
        warning = f"{name}'s definition is deleted (its disks' backends stay). Type the domain name to confirm."
    elif action in (SET_VCPU, ADD_VCPU, REMOVE_VCPU):
        count = requested(action, values)
        verb = action.id
        undo = None
        if action is SET_VCPU and domain.vcpus:
            undo = (LDM, "set-vcpu", str(domain.vcpus), name)
        elif action is ADD_VCPU:
            undo = (LDM, "remove-vcpu", str(count), name)
        elif action is REMOVE_VCPU:
            undo = (LDM, "add-vcpu", str(count), name)
        step = _step(f"{action.label} of {name}: {count}", LDM, verb, str(count), name, undo=undo)
    elif action is SET_MEMORY:
        size = format_size(requested(action, values))
        undo = (LDM, "set-memory", format_size(domain.memory_bytes), name) if domain.memory_bytes else None
        step = _step(f"Set {name}'s memory to {size}", LDM, "set-memory", size, name, undo=undo)
    elif action is SET_VAR:
        var, value = validate_var(values.get("assignment", ""))
        step = _step(f"Set {var} of {name}", LDM, "set-var", f"{var}={value}", name)
    else:  # pragma: no cover - EXTRA_ACTIONS is closed
        raise ValidationError(f"unknown action {action.id}")
    confirm = name if action is REMOVE else None
    return Plan(title=f"{action.label}: {name} on {domain.host}", host=domain.host, action=action.id,
                target=name, steps=(step,), confirm_phrase=confirm, warning=warning)


# --- the service processor's configurations (ldm.md §11) -------------------------------------------------

SPCONFIGS = (LDM, "list-spconfig")


def spconfig_plan(host: str, config: str, existing: tuple[str, ...] | None) -> Plan:
    """`ldm add-spconfig NAME`: save the configuration the machine runs now to the service processor, as
    operators do after a change. ``existing``: the names already saved (None: unknown, then the pre-flight
    check says). ldm documents no rule for the name: the domain-name rule is used."""
    name = validate_name(config.strip(), "configuration name")
    if existing is not None and name in existing:
        raise FormErrors({"config": f"the service processor of {host} already has a configuration named {name}: "
                                    "choose another name"})
    step = _step(f"Save the configuration of {host} to its service processor as {name}", LDM, "add-spconfig", name,
                 undo=(LDM, "remove-spconfig", name))
    return Plan(title=f"Save the configuration of {host} to the SP as {name}", host=host, action="add-spconfig",
                target=name, steps=(step,),
                warning=f"{name} becomes the configuration {host} powers on with.",
                checks=(Check(f"The service processor has no configuration named {name} yet",
                              Operation.command(*SPCONFIGS), parser=_no_spconfig(name)),))


def _no_spconfig(name: str) -> Callable[[Result], str | None]:
    def parser(result: Result) -> str | None:
        if not result.ok:
            return None  # the executor reports the failure with its stderr
        try:
            names = {config.name for config in parse_spconfig(result.stdout)}
        except ParseError as exc:
            return f"ldm list-spconfig printed what hvdeck could not read: {exc.message}"
        return f"a configuration named {name} is already saved" if name in names else None
    return parser


# --- ZFS volumes: the disks the wizards make, clone and roll back ----------------------------------------

ZFS = "zfs"
#: where a ZFS volume's block device is: what `ldm add-vdsdev` exports (ldm.md §3.5, §5)
ZVOL_DSK = "/dev/zvol/dsk/"
ZVOL_RDSK = "/dev/zvol/rdsk/"
#: zfs creates volumes with 8K blocks by default; a volume's size must be a multiple of it
VOLBLOCKSIZE = 8 * 1024
#: ldm binds memory in 256M units (memory dynamic reconfiguration's granularity); other sizes are refused
MEMORY_UNIT = 256 * 1024**2
#: zfs(8): a component is letters, digits, '_', '-', '.', ':' (and space, which hvdeck does not offer); a whole
#: name is at most 255 characters. A first character that is a letter or digit keeps a name from reading as
#: an option.
_ZFS_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
ZFS_NAME_MAX = 255


def validate_dataset(name: str, what: str = "dataset") -> str:
    """A ZFS filesystem or volume name, ``pool/dir/vol``; returned as given. Raises ValidationError."""
    parts = name.split("/")
    if len(name) > ZFS_NAME_MAX or not all(_ZFS_COMPONENT.fullmatch(part) for part in parts) \
            or not parts[0][:1].isalpha():
        raise ValidationError(f"{what} {name!r}: a ZFS name is components of letters, digits, '_', '-', '.' and ':' "
                              "separated by '/', each starting with a letter or digit (the pool's with a letter)")
    return name


def validate_snapshot(name: str) -> str:
    """The part of a snapshot's name after ``@``. Raises ValidationError."""
    if len(name) > ZFS_NAME_MAX or not _ZFS_COMPONENT.fullmatch(name):
        raise ValidationError(f"snapshot name {name!r}: use letters, digits, '_', '-', '.' and ':', starting with a "
                              "letter or digit")
    return name


def zvol_path(dataset: str) -> str:
    """The block device of a ZFS volume, as a virtual disk server exports it."""
    return ZVOL_DSK + validate_dataset(dataset)


def zvol_dataset(path: str | None) -> str | None:
    """The ZFS volume behind a disk backend path (``/dev/zvol/dsk/pool/vol``), None for anything else."""
    for prefix in (ZVOL_DSK, ZVOL_RDSK):
        if path and path.startswith(prefix) and len(path) > len(prefix):
            return path[len(prefix):]
    return None


def zfs_list(types: tuple[str, ...] = ("filesystem", "volume"), root: str | None = None, *,
             recursive: bool = True) -> tuple[str, ...]:
    """`zfs list -H -p -o name,type,...` (`parse.parse_zfs_list`) of every dataset of ``types``, or of ``root``
    (and, ``recursive``, what is under it)."""
    argv: tuple[str, ...] = (ZFS, "list", "-H", "-p", "-o", ",".join(ZFS_COLUMNS), "-t", ",".join(types))
    if root is not None:
        argv += ("-r",) * recursive + (validate_dataset(root),)
    return argv


@dataclass(frozen=True, slots=True)
class HostView:
    """What a wizard's plan is checked against, read from the control domain just before the plan is built:
    the domains (`ldm list -p`), the services (`ldm list-services -p`), the ZFS datasets (`zfs_list`), which
    vdisk uses each ``volume@vds`` (``{"vol@vds": "domain/vdisk"}``, from `ldm list-bindings -p`) and the
    free resources (None when they could not be read)."""

    host: str
    domains: tuple[Domain, ...] = ()
    services: Services = field(default_factory=Services)
    datasets: tuple[ZfsDataset, ...] = ()
    attached: Mapping[str, str] = field(default_factory=dict)
    resources: Resources | None = None

    def domain(self, name: str) -> Domain | None:
        return next((d for d in self.domains if d.name == name), None)

    def dataset(self, name: str) -> ZfsDataset | None:
        return next((d for d in self.datasets if d.name == name), None)

    @property
    def vds(self) -> Vds | None:
        """The virtual disk server new disks are exported by: the control domain's, else the first."""
        control = states.control_domain(facts(d) for d in self.domains)
        owned = [vds for vds in self.services.vdss if control is not None and vds.ldom == control.name]
        candidates = owned or list(self.services.vdss)
        return candidates[0] if candidates else None

    def exports(self, dataset: str) -> tuple[tuple[Vds, VdsVolume], ...]:
        """The virtual disk server volumes whose backend is this ZFS volume."""
        return tuple((vds, volume) for vds in self.services.vdss for volume in vds.volumes
                     if zvol_dataset(volume.dev) == dataset)

    def exported(self, volume_at_vds: str) -> VdsVolume | None:
        vol, _, server = volume_at_vds.partition("@")
        return next((volume for vds in self.services.vdss if vds.name == server for volume in vds.volumes
                     if volume.vol == vol), None)

    def user(self, dataset: str) -> str | None:
        """``domain/vdisk`` of the first vdisk that uses this ZFS volume, None when none does."""
        return next((self.attached[key] for vds, volume in self.exports(dataset)
                     if (key := f"{volume.vol}@{vds.name}") in self.attached), None)


def storage_pools(datasets: Sequence[ZfsDataset]) -> tuple[StoragePool, ...]:
    """Where new ZFS volumes can be made: each pool and the filesystems right under it (boot environments,
    ``pool/ROOT``, left out), with what is free in it."""
    pools = []
    for dataset in datasets:
        if dataset.type != "filesystem" or dataset.name.count("/") > 1 or dataset.short == "ROOT":
            continue
        capacity = (dataset.used + dataset.available if dataset.used is not None and dataset.available is not None
                    else None)
        pools.append(StoragePool(dataset.name, "zfs", capacity, dataset.available))
    return tuple(pools)


def zfs_volumes(view: HostView, pool: str | None = None) -> tuple[Volume, ...]:
    """The host's ZFS volumes (of ``pool`` and below, or all), each with the vdisk that uses it."""
    return tuple(Volume(pool=d.parent, name=d.short, capacity_bytes=d.volsize, path=ZVOL_DSK + d.name,
                        format="zvol", origin=d.origin, used_by=view.user(d.name))
                 for d in view.datasets
                 if d.type == "volume" and (pool is None or d.name.startswith(pool + "/")))


def switches(services: Services) -> tuple[Network, ...]:
    """The virtual switches a vnet can attach to (ldm.md §5)."""
    networks = []
    for vsw in services.vsws:
        detail = ", ".join(part for part in (f"on {vsw.ldom}" if vsw.ldom else "",
                                             f"net-dev {vsw.net_dev}" if vsw.net_dev else "") if part)
        networks.append(Network(vsw.name, "vsw", detail))
    return tuple(networks)


def snapshots_of(datasets: Sequence[ZfsDataset], volumes: Sequence[str]) -> tuple[Snapshot, ...]:
    """The snapshots of ``volumes`` (``pool/vol``), oldest first as zfs lists them, each with its clones."""
    clones: dict[str, list[str]] = {}
    for dataset in datasets:
        if dataset.origin:
            clones.setdefault(dataset.origin, []).append(dataset.name)
    return tuple(Snapshot(of=d.parent, name=d.short, clones=tuple(clones.get(d.name, ())), used_bytes=d.used)
                 for d in datasets if d.type == "snapshot" and d.parent in volumes)


# --- pre-flight checks: read-only commands run when the plan is shown, each with a pure parser ------------


def _parsed(what: str, parser: Callable[[str], T], judge: Callable[[T], str | None]) -> Callable[[Result], str | None]:
    """A `Check` parser: ``judge(parser(stdout))``; output that does not parse fails the check, saying so."""
    def check(result: Result) -> str | None:
        if not result.ok:
            return None  # the executor reports the failed command with its stderr
        try:
            return judge(parser(result.stdout))
        except ParseError as exc:
            return f"{what} printed what hvdeck could not read: {exc.message}"
    return check


def _check_no_domain(host: str, name: str) -> Check:
    return Check(f"{host} has no domain named {name}", Operation.command(*LIST),
                 parser=_parsed("ldm list -p", lambda text: parse_list_p(text, host),
                                lambda domains: f"{host} already has a domain named {name}"
                                if any(d.name == name for d in domains) else None))


def _check_no_dataset(dataset: str) -> Check:
    parent = dataset.rpartition("/")[0]
    return Check(f"{dataset} does not exist yet", Operation.command(*zfs_list(("filesystem", "volume"), parent)),
                 parser=_parsed("zfs list", parse_zfs_list,
                                lambda found: f"{dataset} already exists" if any(d.name == dataset for d in found)
                                else None))


def _check_snapshot(volume: str, snapshot: str, *, exists: bool) -> Check:
    full = f"{volume}@{snapshot}"

    def judge(found: tuple[ZfsDataset, ...]) -> str | None:
        there = any(d.name == full for d in found)
        if exists and not there:
            return f"{full} does not exist (any more)"
        if not exists and there:
            return f"{full} already exists"
        return None

    return Check(f"{full} {'exists' if exists else 'does not exist yet'}",
                 Operation.command(*zfs_list(("snapshot",), volume)), parser=_parsed("zfs list", parse_zfs_list, judge))


def _check_space(pool: str, size: int) -> Check:
    def judge(found: tuple[ZfsDataset, ...]) -> str | None:
        dataset = next((d for d in found if d.name == pool), None)
        if dataset is None:
            return f"zfs list did not list {pool}"
        if dataset.available is not None and dataset.available < size:
            return f"{pool} has {about(dataset.available)} free, less than {format_size(size)}"
        return None

    return Check(f"{pool} has {format_size(size)} free for the new volume",
                 Operation.command(*zfs_list(("filesystem",), pool, recursive=False)),
                 parser=_parsed("zfs list", parse_zfs_list, judge))


def _check_room(host: str, vcpus: int, memory: int) -> Check:
    def judge(resources: Resources) -> str | None:
        if resources.free_strands is not None and resources.free_strands < vcpus:
            return f"{host} has {_strands(resources.free_strands)} free; {vcpus} are needed"
        if resources.free_memory_bytes is not None and resources.free_memory_bytes < memory:
            return f"{host} has {about(resources.free_memory_bytes)} of memory free; {format_size(memory)} is needed"
        return None

    return Check(f"{host} has {_strands(vcpus)} and {format_size(memory)} of memory free",
                 Operation.command(*DEVICES),
                 parser=_parsed("ldm list-devices -a -p", lambda text: Resources.of(parse_devices_p(text)), judge))


def _check_not_exported(volume_at_vds: str) -> Check:
    vol, _, server = volume_at_vds.partition("@")

    def judge(services: Services) -> str | None:
        taken = any(vds.name == server and any(v.vol == vol for v in vds.volumes) for vds in services.vdss)
        return f"{server} already exports a volume named {vol}" if taken else None

    return Check(f"{server} exports no volume named {vol} yet", Operation.command(*SERVICES),
                 parser=_parsed("ldm list-services -p", parse_services_p, judge))


def _strands(count: int) -> str:
    return f"{count} strand" + ("" if count == 1 else "s")


def about(size: int) -> str:
    """Bytes for a sentence, in the largest binary unit they reach: ``20G``, ``1.6T``, ``131.5G``."""
    for suffix, unit in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if size >= unit:
            return f"{size // unit}{suffix}" if size % unit == 0 else f"{size / unit:.1f}{suffix}"
    return f"{size}B"


# --- creating a guest -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewGuest:
    """A new guest as the operator's sequence makes it (`create_plan`)."""

    name: str
    vcpus: int
    memory: str  # as ldm takes it: 1024m, 4G
    vsw: str  # virtual switch service, e.g. primary-vsw0
    vds: str  # virtual disk service, e.g. primary-vds0
    backend: str  # the disk backend on the service domain: /dev/zvol/dsk/ldompool/NAME-boot
    volume: str  # the VDS volume name, e.g. NAME-boot
    vnet: str = "vnet0"
    vdisk: str = "vdisk0"
    variables: tuple[tuple[str, str], ...] = (("auto-boot?", "true"),)
    start: bool = True
    #: a new ZFS volume to make first (``zfs create -V SIZE DATASET``): (dataset, size in bytes)
    zvol: tuple[str, int] | None = None
    #: False when ``volume@vds`` is already exported (an existing volume): no add-vdsdev
    export: bool = True
    #: False: the guest is left inactive (no bind, no start)
    bind: bool = True
    #: more vnets after the first: (name, virtual switch)
    more_vnets: tuple[tuple[str, str], ...] = ()


def create_plan(host: str, guest: NewGuest) -> Plan:
    """The operator's sequence for a new guest (zfs create -V, add-domain … bind, start), each step with its
    undo. Names and sizes are checked first (ValidationError)."""
    name = validate_name(guest.name)
    vsw = validate_name(guest.vsw, "virtual switch")
    vds = validate_name(guest.vds, "virtual disk service")
    volume = validate_name(guest.volume, "volume")
    vnet = validate_name(guest.vnet, "vnet name")
    vdisk = validate_name(guest.vdisk, "vdisk name")
    vcpus = validate_count(guest.vcpus)
    memory = guest.memory.strip()
    validate_size(memory)
    if not guest.backend.startswith("/") or "\n" in guest.backend:
        raise ValidationError(f"disk backend {guest.backend!r} must be an absolute path")
    steps = []
    if guest.zvol is not None:
        dataset, size = guest.zvol
        validate_dataset(dataset, "volume")
        steps.append(_step(f"Make the ZFS volume {dataset} ({format_size(size)})", ZFS, "create", "-V",
                           format_size(size), dataset, undo=(ZFS, "destroy", dataset)))
    steps += [
        _step(f"Create the domain {name}", LDM, "add-domain", name, undo=(LDM, "remove-domain", name)),
        _step(f"Give it {vcpus} vCPUs", LDM, "add-vcpu", str(vcpus), name),
        _step(f"Give it {memory} of memory", LDM, "add-memory", memory, name),
    ]
    for nic, switch in ((vnet, vsw), *guest.more_vnets):
        nic, switch = validate_name(nic, "vnet name"), validate_name(switch, "virtual switch")
        steps.append(_step(f"Add {nic} on {switch}", LDM, "add-vnet", nic, switch, name,
                           undo=(LDM, "remove-vnet", nic, name)))
    if guest.export:
        steps.append(_step(f"Export {guest.backend} as {volume}@{vds}", LDM, "add-vdsdev", guest.backend,
                           f"{volume}@{vds}", undo=(LDM, "remove-vdsdev", f"{volume}@{vds}")))
    steps.append(_step(f"Add {vdisk} backed by {volume}@{vds}", LDM, "add-vdisk", vdisk, f"{volume}@{vds}", name,
                       undo=(LDM, "remove-vdisk", vdisk, name)))
    for var, value in guest.variables:
        validate_var(f"{var}={value}")
        steps.append(_step(f"Set {var}={value}", LDM, "set-var", f"{var}={value}", name))
    if guest.bind:
        steps.append(_step(f"Bind {name}", LDM, "bind", name, undo=(LDM, "unbind", name)))
        if guest.start:
            steps.append(_step(f"Start {name}", LDM, "start", name, undo=(LDM, "stop", "-f", name)))
    return Plan(title=f"Create {name} on {host}", host=host, action="create", target=name, steps=tuple(steps))


def parse_variables(text: str | None) -> tuple[tuple[str, str], ...]:
    """``auto-boot?=false; diag-switch?=true``: OBP assignments separated by ';' (values may hold spaces and
    commas, as device paths do). Raises ValidationError naming the one at fault."""
    return tuple(validate_var(part.strip()) for part in (text or "").split(";") if part.strip())


def _variables_text(text: str) -> str:
    parse_variables(text)
    return text


def _boot_device(text: str) -> str:
    return validate_var(f"boot-device={text}")[1]


def _domain_name(text: str) -> str:
    return validate_name(text, "name")


def _create_check(values: Mapping[str, Any]) -> dict[str, str]:
    """Combinations ldm or zfs would refuse, whatever the host (the host's own limits are `plan_new_guest`'s)."""
    errors = {}
    if values.get("memory") is not None and values["memory"] % MEMORY_UNIT:
        errors["memory"] = ("ldm binds memory in 256M units: use a multiple of 256M, e.g. "
                            f"{format_size(max(MEMORY_UNIT, values['memory'] // MEMORY_UNIT * MEMORY_UNIT))}")
    disk, volume = values.get("disk"), values.get("volume")
    if disk is None and volume is None:
        errors["disk"] = "give the size of a new disk, or choose an existing volume"
    elif disk is not None and volume is not None:
        errors["volume"] = "a new disk or an existing volume, not both"
    elif disk is not None and disk % VOLBLOCKSIZE:
        errors["disk"] = "a ZFS volume's size is a multiple of its 8K blocks: use K, M or G, e.g. 20G"
    return errors


#: the create wizard's inputs (`Backend.create_form`): static, so that `hvdeck create --help` needs no host
CREATE_FORM = Form("Create an LDoms guest", (
    TextOption("name", "Name", help="the new domain's name", validator=_domain_name, placeholder="e.g. ldg-web3"),
    NumberOption("vcpus", "vCPUs", help="virtual CPUs (strands)", default="4", low=1, high=1024),
    SizeOption("memory", "Memory", help="memory, in 256M units", default="8G", low=MEMORY_UNIT, high=1 << 50),
    ChoiceOption("network", "Network", help="the virtual switch its vnet0 is on"),
    SizeOption("disk", "New disk", help="size of a new ZFS volume for its root disk (vdisk0)", required=False,
               low=VOLBLOCKSIZE, placeholder="e.g. 20G"),
    ChoiceOption("pool", "Pool", help="the pool or filesystem the new volume is made in"),
    ChoiceOption("volume", "Existing volume", required=False,
                 help="or an existing ZFS volume as its root disk, instead of a new one"),
    TextOption("boot_device", "Boot device", help="OBP boot-device (vdisk0: the root disk)", default="vdisk0",
               validator=_boot_device),
    BoolOption("auto_boot", "Boot at start", default="yes",
               help="OBP auto-boot?: yes boots from the boot device when it starts; no stops at the ok prompt"),
    TextOption("variables", "More OBP variables", required=False, validator=_variables_text,
               help="NAME=VALUE, more separated by ';'", placeholder="e.g. diag-switch?=false"),
    BoolOption("start", "Bind and start", default="yes", help="no: the domain is left inactive, nothing reserved"),
), check=_create_check)


def create_choices(view: HostView) -> dict[str, tuple[Choice, ...]]:
    """The create form's host choices: virtual switches, pools (with free space), unused ZFS volumes."""
    volumes = []
    for dataset in view.datasets:
        if dataset.type != "volume" or view.user(dataset.name) is not None:
            continue
        detail = [about(dataset.volsize) if dataset.volsize is not None else "size unknown"]
        detail += [f"exported as {volume.vol}@{vds.name}" for vds, volume in view.exports(dataset.name)[:1]]
        if dataset.origin:
            detail.append(f"clone of {dataset.origin}")
        volumes.append(Choice(dataset.name, detail=" · ".join(detail)))
    return {
        "network": tuple(Choice(n.name, detail=n.detail) for n in switches(view.services)),
        "pool": tuple(Choice(p.name, detail=f"{about(p.free_bytes)} free" if p.free_bytes is not None else "")
                      for p in storage_pools(view.datasets)),
        "volume": tuple(volumes),
    }


def plan_new_guest(view: HostView, values: Mapping[str, Any]) -> Plan:
    """The create Plan from the create form's parsed values, checked against ``view``: a name taken, a pool
    or volume that is not there or not free, too few strands or too little memory or space are each refused
    on the input at fault (`FormErrors`). The plan carries pre-flight checks that read the host again
    before it runs."""
    host = view.host
    errors: dict[str, str] = {}
    name = validate_name(values["name"], "name")
    if view.domain(name) is not None:
        errors["name"] = f"{host} already has a domain named {name}"
    vds = view.vds
    if vds is None:
        raise ValidationError(f"{host} has no virtual disk server (ldm add-vds): nothing can export a disk to a guest")
    switch = values["network"]
    if switch not in {vsw.name for vsw in view.services.vsws}:
        errors["network"] = f"{host} has no virtual switch named {switch}"
    vcpus, memory = int(values["vcpus"]), int(values["memory"])
    start = bool(values.get("start", True))
    disk, pool, existing = values.get("disk"), values.get("pool"), values.get("volume")
    volume_name = f"{name}-boot"
    zvol: tuple[str, int] | None = None
    export = True
    checks: list[Check] = [_check_no_domain(host, name)]
    if disk is not None:
        pool_dataset = view.dataset(pool) if pool else None
        if pool is None or pool_dataset is None or pool_dataset.type != "filesystem":
            errors["pool"] = f"{host} has no pool or filesystem named {pool}"
        else:
            dataset = f"{pool}/{volume_name}"
            validate_dataset(dataset, "volume")
            if view.dataset(dataset) is not None:
                errors["disk"] = f"{dataset} already exists"
            elif pool_dataset.available is not None and disk > pool_dataset.available:
                errors["disk"] = f"{pool} has {about(pool_dataset.available)} free"
            zvol = (dataset, int(disk))
            checks += [_check_no_dataset(dataset), _check_space(pool, int(disk))]
        backend = zvol_path(zvol[0]) if zvol is not None else ""
    else:
        found = view.dataset(existing) if existing else None
        if found is None or found.type != "volume":
            errors["volume"] = f"{host} has no ZFS volume named {existing}"
            backend = ""
        else:
            backend = zvol_path(found.name)
            user = view.user(found.name)
            if user is not None:
                errors["volume"] = f"{found.name} is the disk of {user}"
            exports = [volume for server, volume in view.exports(found.name) if server.name == vds.name]
            if exports:
                volume_name, export = exports[0].vol, False
    if export:
        try:
            validate_name(volume_name, "volume")
        except ValidationError:
            errors.setdefault("name", f"{name} is too long for its volume's name, {volume_name} (at most 64 "
                                      "characters)")
        if view.exported(f"{volume_name}@{vds.name}") is not None:
            errors.setdefault("name", f"{vds.name} already exports a volume named {volume_name}")
        checks.append(_check_not_exported(f"{volume_name}@{vds.name}"))
    resources = view.resources
    if start and resources is not None:
        if resources.free_strands is not None and vcpus > resources.free_strands:
            errors["vcpus"] = f"{host} has {_strands(resources.free_strands)} free"
        if resources.free_memory_bytes is not None and memory > resources.free_memory_bytes:
            errors["memory"] = f"{host} has {about(resources.free_memory_bytes)} of memory free"
    if errors:
        raise FormErrors(errors)
    if start:
        checks.append(_check_room(host, vcpus, memory))
    variables = (("auto-boot?", "true" if values.get("auto_boot", True) else "false"),
                 ("boot-device", values.get("boot_device") or "vdisk0"), *parse_variables(values.get("variables")))
    guest = NewGuest(name=name, vcpus=vcpus, memory=format_size(memory), vsw=switch, vds=vds.name, backend=backend,
                     volume=volume_name, variables=variables, start=start, zvol=zvol, export=export, bind=start)
    plan = create_plan(host, guest)
    warning = "" if start else f"{name} is left inactive: nothing is reserved for it until it is bound."
    if start and resources is None:
        warning = "The host's free resources could not be read; the pre-flight check reads them again."
    return replace(plan, checks=tuple(checks), warning=warning)


# --- cloning a guest from a snapshot of its root disk --------------------------------------------------


def root_vdisk(vdisks: Sequence[VdiskRef]) -> VdiskRef | None:
    """A domain's root disk: the one with id 0 (``disk@0``, what OBP's ``vdisk0`` alias names), else the first."""
    return next((v for v in vdisks if v.id == 0), vdisks[0] if vdisks else None)


@dataclass(frozen=True, slots=True)
class CloneView:
    """`HostView` plus what a clone reads of its source and target: each one's vdisks with ids
    (`ldm list-bindings -p`) and the source's constraints (`ldm list-constraints -p`)."""

    view: HostView
    source_vdisks: tuple[VdiskRef, ...]
    source_constraints: Constraints | None = None
    target_vdisks: tuple[VdiskRef, ...] = ()


def root_volume(view: HostView, domain: str, vdisks: Sequence[VdiskRef]) -> tuple[VdiskRef, str]:
    """(the root vdisk, the ZFS volume behind it) of ``domain``; ValidationError saying why there is none."""
    root = root_vdisk(vdisks)
    if root is None:
        raise ValidationError(f"{domain} has no virtual disk to clone")
    exported = view.exported(root.volume)
    if exported is None:
        raise ValidationError(f"{domain}'s root disk {root.name} uses {root.volume}, which no virtual disk server "
                              f"of {view.host} exports")
    dataset = zvol_dataset(exported.dev)
    if dataset is None:
        raise ValidationError(f"{domain}'s root disk {root.name} is backed by {exported.dev or 'nothing'}, not a ZFS "
                              "volume: hvdeck clones ZFS volumes only")
    return root, dataset


def clone_form(domain: Domain) -> Form | None:
    """The clone wizard's inputs for ``domain``; None for the control domain (it is not cloned)."""
    if facts(domain).control:
        return None
    source = domain.name
    running = domain.native_state.lower() == "active"
    stop_help = (f"{source} is running: a snapshot of a running guest is not consistent (what it has not yet "
                 "written is lost, as after a power cut). Yes: stop it, take the snapshot, start it again"
                 if running else f"{source} is not running: its disk is consistent as it is")
    return Form(f"Clone {source}", (
        TextOption("name", "New name", validator=_domain_name, placeholder="e.g. ldg-web3",
                   help="the new domain (its root disk becomes NAME-boot); with Into, the cloned volume's name"),
        ChoiceOption("snapshot", "Snapshot", required=False, free=True, validator=validate_snapshot,
                     placeholder="a new one",
                     help=f"a snapshot of {source}'s root volume to clone from; a new one is taken under this name if "
                          "it does not exist (empty: a new one named after the new name)"),
        ChoiceOption("into", "Into", required=False,
                     help="an existing stopped domain whose root disk becomes the clone (its old root disk is kept "
                          f"as another disk); none: a new domain with the constraints of {source}"),
        BoolOption("stop", f"Stop {source} for the snapshot", default="yes" if running else "no", help=stop_help),
        BoolOption("start", "Start the clone", default="yes",
                   help="bind and start the new domain (or the one the clone went into)"),
    ))


def clone_choices(clone: CloneView, source: Domain) -> dict[str, tuple[Choice, ...]]:
    """The source root volume's snapshots and the domains a clone can go into. ValidationError when the
    source's root disk is not a ZFS volume."""
    view = clone.view
    _, dataset = root_volume(view, source.name, clone.source_vdisks)
    snapshots = []
    for snap in snapshots_of(view.datasets, (dataset,)):
        detail = f"{len(snap.clones)} clone" + ("" if len(snap.clones) == 1 else "s") if snap.clones else "no clones"
        snapshots.append(Choice(snap.name, detail=f"{dataset}@{snap.name} · {detail}"))
    targets = tuple(Choice(d.name, detail=d.native_state + (": its root disk is in use, stop it first"
                                                            if d.native_state.lower() == "active" else ""))
                    for d in view.domains if not facts(d).control and d.name != source.name)
    return {"snapshot": tuple(snapshots), "into": targets}


def plan_clone(clone: CloneView, source: Domain, values: Mapping[str, Any]) -> Plan:
    """The clone Plan: a snapshot of ``source``'s root volume (taken now, with ``source`` stopped for it if
    asked, or an existing one), a ZFS clone of it exported by the virtual disk server, then either a new
    domain with ``source``'s constraints, or the root-disk swap into an existing domain (``remove-vdisk``,
    ``add-vdisk id=0``, the old root disk kept under another id). What the host would refuse is refused on
    the input at fault (`FormErrors`)."""
    view = clone.view
    host = view.host
    errors: dict[str, str] = {}
    name = validate_name(values["name"], "name")
    into: str | None = values.get("into") or None
    snapshot = validate_snapshot(values.get("snapshot") or name)
    stop_source = bool(values.get("stop")) and source.native_state.lower() == "active"
    start = bool(values.get("start", True))
    root, dataset = root_volume(view, source.name, clone.source_vdisks)
    parent = dataset.rpartition("/")[0]
    full = f"{dataset}@{snapshot}"
    taken = view.dataset(full) is not None
    vds = view.vds
    if vds is None:
        raise ValidationError(f"{host} has no virtual disk server: nothing can export the clone")
    target = view.domain(into) if into else None
    if into is None:
        if view.domain(name) is not None:
            errors["name"] = f"{host} already has a domain named {name}"
        clone_name = f"{name}-boot"
    else:
        clone_name = name
        if target is None:
            errors["into"] = f"{host} has no domain named {into}"
        elif facts(target).control:
            errors["into"] = f"{into} is the control domain: its root disk is not swapped"
        elif target.native_state.lower() == "active":
            errors["into"] = f"{into} is active: its root disk is in use; stop it first"
        elif root_vdisk(clone.target_vdisks) is None:
            errors["into"] = f"{into} has no virtual disk to replace"
    clone_dataset = f"{parent}/{clone_name}" if parent else clone_name
    try:
        validate_name(clone_name, "volume")
        validate_dataset(clone_dataset, "volume")
    except ValidationError:
        errors.setdefault("name", f"{clone_name} cannot name a volume (at most 64 characters)")
    if view.dataset(clone_dataset) is not None:
        errors.setdefault("name", f"{clone_dataset} already exists")
    if view.exported(f"{clone_name}@{vds.name}") is not None:
        errors.setdefault("name", f"{vds.name} already exports a volume named {clone_name}")
    constraints = clone.source_constraints
    if into is None and constraints is None:
        raise ValidationError(f"the constraints of {source.name} could not be read (ldm list-constraints -p)")
    resources = view.resources
    need: tuple[int, int] | None = None  # strands and memory the clone takes when it is bound
    if into is None and start and constraints is not None:
        need = (constraints.vcpus or 1, constraints.memory_bytes or MEMORY_UNIT)
    elif target is not None and start and target.native_state.lower() == "inactive":
        need = (target.vcpus or 1, target.memory_bytes or MEMORY_UNIT)
    if need is not None and resources is not None:
        need_vcpus, need_memory = need
        if resources.free_strands is not None and need_vcpus > resources.free_strands:
            errors["start"] = (f"{host} has {_strands(resources.free_strands)} free; the clone needs {need_vcpus}: "
                               "answer no, or free some first")
        elif resources.free_memory_bytes is not None and need_memory > resources.free_memory_bytes:
            errors["start"] = (f"{host} has {about(resources.free_memory_bytes)} of memory free; the clone "
                               f"needs {format_size(need_memory)}: answer no, or free some first")
    if errors:
        raise FormErrors(errors)

    steps: list[Step] = []
    warnings: list[str] = []
    checks: list[Check] = [_check_snapshot(dataset, snapshot, exists=taken), _check_no_dataset(clone_dataset),
                           _check_not_exported(f"{clone_name}@{vds.name}")]
    src = validate_name(source.name)
    if not taken:
        if stop_source:
            steps.append(_step(f"Stop {src} so that its disk is consistent", LDM, "stop", src))
            warnings.append(f"{src} is shut down for the snapshot and started again right after.")
        elif source.native_state.lower() == "active":
            warnings.append(f"{src} is running: the snapshot is not consistent (what it has not yet written is "
                            "lost, as after a power cut).")
        steps.append(_step(f"Take the snapshot {full}", ZFS, "snapshot", full, undo=(ZFS, "destroy", full)))
        if stop_source:
            steps.append(replace(_step(f"Start {src} again", LDM, "start", src), always=True))
    steps += [
        _step(f"Clone {full} as {clone_dataset}", ZFS, "clone", full, clone_dataset,
              undo=(ZFS, "destroy", clone_dataset)),
    ]
    if target is not None:
        old = root_vdisk(clone.target_vdisks)
        assert old is not None
        tname = validate_name(target.name)
        steps.append(_step(f"Export {zvol_path(clone_dataset)} as {clone_name}@{vds.name}", LDM, "add-vdsdev",
                           zvol_path(clone_dataset), f"{clone_name}@{vds.name}",
                           undo=(LDM, "remove-vdsdev", f"{clone_name}@{vds.name}")))
        used_ids = {v.id for v in clone.target_vdisks if v.id is not None}
        kept_id = next(i for i in range(1, 1 << 16) if i not in used_ids)
        names = {v.name for v in clone.target_vdisks}
        kept = next(n for n in (f"{old.name}-orig", *(f"{old.name}-orig{i}" for i in range(2, 100))) if n not in names)
        validate_name(kept, "vdisk name")
        restore = (LDM, "add-vdisk", "id=0", old.name, old.volume, tname) if old.id == 0 else \
            (LDM, "add-vdisk", old.name, old.volume, tname)
        steps += [
            _step(f"Take {old.name} ({old.volume}) off {tname}", LDM, "remove-vdisk", old.name, tname, undo=restore),
            _step(f"Make the clone {tname}'s root disk {old.name} (id 0)", LDM, "add-vdisk", "id=0", old.name,
                  f"{clone_name}@{vds.name}", tname, undo=(LDM, "remove-vdisk", old.name, tname)),
            _step(f"Keep the old root disk as {kept} (id {kept_id})", LDM, "add-vdisk", f"id={kept_id}", kept,
                  old.volume, tname, undo=(LDM, "remove-vdisk", kept, tname)),
        ]
        if start:
            if target.native_state.lower() == "inactive":
                steps.append(_step(f"Bind {tname}", LDM, "bind", tname, undo=(LDM, "unbind", tname)))
                if need is not None:
                    checks.append(_check_room(host, *need))
            steps.append(_step(f"Start {tname}", LDM, "start", tname, undo=(LDM, "stop", "-f", tname)))
        warnings.append(f"{tname}'s root disk {old.name} becomes the clone of {full}; its old root disk "
                        f"{old.volume} stays attached as {kept} (id {kept_id}).")
        title = f"Clone {src}'s root disk into {tname} on {host}"
        action_target = tname
    else:
        assert constraints is not None
        variables, skipped = [], []
        for var, value in constraints.variables.items():
            try:
                variables.append(validate_var(f"{var}={value}"))
            except ValidationError:
                skipped.append(var)
        nics = [(nic.target or f"vnet{i}", (nic.source or "").partition("@")[0]) for i, nic in
                enumerate(constraints.networks)]
        nics = [(nic, switch) for nic, switch in nics if switch]
        first = nics[0] if nics else None
        guest = NewGuest(name=name, vcpus=constraints.vcpus or 1,
                         memory=format_size(constraints.memory_bytes or MEMORY_UNIT),
                         vsw=first[1] if first else "", vds=vds.name, backend=zvol_path(clone_dataset),
                         volume=clone_name, vnet=first[0] if first else "vnet0", vdisk=root.name,
                         variables=tuple(variables), start=start, bind=start, more_vnets=tuple(nics[1:]))
        if first is None:
            raise ValidationError(f"{source.name} has no vnet on a virtual switch to copy")
        created = create_plan(host, guest)
        steps += list(created.steps)
        others = [v.name for v in clone.source_vdisks if v is not root]
        if others:
            warnings.append(f"Only the root disk is cloned: {src}'s other disks ({', '.join(others)}) are not given "
                            f"to {name}.")
        if skipped:
            warnings.append(f"Not copied (values of several lines): {', '.join(skipped)}.")
        checks.insert(0, _check_no_domain(host, name))
        if start:
            checks.append(_check_room(host, guest.vcpus, constraints.memory_bytes or MEMORY_UNIT))
        title = f"Clone {src} as {name} on {host}"
        action_target = name
    return Plan(title=title, host=host, action="clone", target=action_target, steps=tuple(steps),
                warning=" ".join(warnings), checks=tuple(checks))


# --- a volume's snapshots: take, roll back to, destroy ---------------------------------------------------

SNAPSHOT_OPERATIONS = ("create", "rollback", "destroy")


def snapshot_plan(view: HostView, volume: str, snapshot: str, operation: str) -> Plan:
    """A Plan on one snapshot of the ZFS volume ``volume`` (``pool/vol``):

    - ``create``: ``zfs snapshot``; a running guest's disk is not consistent (the plan says so);
    - ``rollback``: ``zfs rollback`` (``-r`` when later snapshots exist: they are destroyed, and the plan
      says which); a volume that a bound or active domain uses is busy, so the plan stops and unbinds that
      domain first and binds and starts it again after. Refused when a later snapshot has clones (zfs would
      need ``-R`` and destroy them). The snapshot's name must be typed to confirm;
    - ``destroy``: ``zfs destroy``; refused while clones depend on it (naming them). Typed confirmation.

    Refusals are ValidationErrors with the reason."""
    host = view.host
    validate_dataset(volume, "volume")
    validate_snapshot(snapshot)
    if operation not in SNAPSHOT_OPERATIONS:
        raise ValidationError(f"no snapshot operation {operation!r} ({', '.join(SNAPSHOT_OPERATIONS)})")
    if (found := view.dataset(volume)) is None or found.type != "volume":
        raise ValidationError(f"{host} has no ZFS volume named {volume}")
    full = f"{volume}@{snapshot}"
    user = view.user(volume)
    domain = view.domain(user.partition("/")[0]) if user else None
    state = domain.native_state.lower() if domain is not None else ""
    ordered = [d for d in view.datasets if d.type == "snapshot" and d.parent == volume]
    clones = {s.name: s.clones for s in snapshots_of(view.datasets, (volume,))}
    if operation == "create":
        if view.dataset(full) is not None:
            raise FormErrors({"snapshot": f"{full} already exists"})
        warning = (f"{volume} is the disk of {user}, which is running: the snapshot is not consistent (what it has "
                   "not yet written is lost, as after a power cut)." if state == "active" else "")
        return Plan(title=f"Snapshot {volume} as @{snapshot} on {host}", host=host, action="snapshot", target=full,
                    steps=(_step(f"Take the snapshot {full}", ZFS, "snapshot", full, undo=(ZFS, "destroy", full)),),
                    warning=warning, checks=(_check_snapshot(volume, snapshot, exists=False),))
    if view.dataset(full) is None:
        raise ValidationError(f"{full} does not exist")
    if operation == "destroy":
        if clones.get(snapshot):
            raise ValidationError(f"{full} cannot be destroyed: {', '.join(clones[snapshot])} "
                                  f"{'was' if len(clones[snapshot]) == 1 else 'were'} cloned from it and depend"
                                  f"{'s' if len(clones[snapshot]) == 1 else ''} on it; destroy "
                                  f"{'that' if len(clones[snapshot]) == 1 else 'those'} first")
        return Plan(title=f"Destroy the snapshot {full} on {host}", host=host, action="destroy-snapshot",
                    target=full, steps=(_step(f"Destroy {full}", ZFS, "destroy", full),),
                    warning=f"{full} is deleted for good. Type its name, {snapshot}, to confirm.",
                    confirm_phrase=snapshot, checks=(_check_snapshot(volume, snapshot, exists=True),))
    # rollback
    index = next(i for i, d in enumerate(ordered) if d.name == full)
    later = ordered[index + 1:]
    blocked = [(s.short, clones.get(s.short, ())) for s in later if clones.get(s.short)]
    if blocked:
        snap, depend = blocked[0]
        raise ValidationError(f"{volume} cannot go back to @{snapshot}: the later snapshot @{snap} has clones "
                              f"({', '.join(depend)}), which zfs would have to destroy")
    steps: list[Step] = []
    name = validate_name(domain.name) if domain is not None else ""
    if state == "active":
        steps.append(_step(f"Stop {name}, whose disk it is", LDM, "stop", name, undo=(LDM, "start", name)))
    if state in ("active", "bound"):
        steps.append(_step(f"Unbind {name}, so that its disk is not busy", LDM, "unbind", name,
                           undo=(LDM, "bind", name)))
    argv = (ZFS, "rollback", "-r", full) if later else (ZFS, "rollback", full)
    steps.append(_step(f"Roll {volume} back to @{snapshot}", *argv))
    if state in ("active", "bound"):
        steps.append(_step(f"Bind {name} again", LDM, "bind", name, undo=(LDM, "unbind", name)))
    if state == "active":
        steps.append(_step(f"Start {name} again", LDM, "start", name, undo=(LDM, "stop", "-f", name)))
    warning = f"Everything written to {volume} since @{snapshot} is lost."
    if later:
        warning += f" The later snapshots are destroyed: {', '.join('@' + s.short for s in later)}."
    disk = user.partition("/")[2] if user else ""
    if state == "active":
        warning += f" {name} ({disk}) is running: it is stopped for the rollback and started again after."
    elif state == "bound":
        warning += f" {name} ({disk}) is bound: it is unbound for the rollback and bound again after."
    warning += f" Type the snapshot's name, {snapshot}, to confirm."
    return Plan(title=f"Roll {volume} back to @{snapshot} on {host}", host=host, action="rollback", target=full,
                steps=tuple(steps), warning=warning, confirm_phrase=snapshot,
                checks=(_check_snapshot(volume, snapshot, exists=True),))


def domain_snapshot_plan(view: HostView, domain: str, volumes: Sequence[str], snapshot: str) -> Plan:
    """``zfs snapshot`` of each of ``domain``'s ZFS volumes (``volumes``) under one name: a snapshot of the
    guest's disks. A running guest's disks are not consistent (the plan says so). A name already taken on
    one of them is refused on the ``snapshot`` input (`FormErrors`)."""
    host = view.host
    name = validate_name(domain)
    validate_snapshot(snapshot)
    if not volumes:
        raise ValidationError(f"{name} has no virtual disk backed by a ZFS volume: there is nothing to snapshot")
    taken = [f"{volume}@{snapshot}" for volume in volumes if view.dataset(f"{volume}@{snapshot}") is not None]
    if taken:
        raise FormErrors({"snapshot": f"{', '.join(taken)} already exist{'s' if len(taken) == 1 else ''}"})
    found = view.domain(name)
    running = found is not None and found.native_state.lower() == "active"
    steps = tuple(_step(f"Take the snapshot {volume}@{snapshot}", ZFS, "snapshot", f"{validate_dataset(volume)}@{snapshot}",
                        undo=(ZFS, "destroy", f"{volume}@{snapshot}")) for volume in volumes)
    warning = (f"{name} is running: the snapshot is not consistent (what it has not yet written is lost, as after a "
               "power cut). Stop it first for a consistent one." if running else "")
    return Plan(title=f"Snapshot {name}'s disks as @{snapshot} on {host}", host=host, action="snapshot", target=name,
                steps=steps, warning=warning,
                checks=tuple(_check_snapshot(volume, snapshot, exists=False) for volume in volumes))
