"""Pure `ldm` intent: name and size rules, the read-only commands a poll runs, and Plans. No I/O.

Every Plan step is an argv list for the control domain; nothing user- or host-supplied is ever put into
a shell string. Names are checked before a Plan exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..base import Action, ExtraAction, Param
from ..errors import ValidationError
from ..model import Domain
from ..plan import Operation, Plan, Step
from . import states
from .parse import Devices, format_size, parse_size

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
EXTRA_ACTIONS = (BIND, UNBIND, REMOVE, SET_VCPU, ADD_VCPU, REMOVE_VCPU, SET_MEMORY, SET_VAR)


def facts(domain: Domain) -> states.DomainFacts:
    """The domain as the state table reads it: name, ldm's state word and FLAGS."""
    return states.DomainFacts(domain.name, domain.native_state, domain.flags or "")


def why_not_extra(action: ExtraAction, domain: Domain, control: states.DomainFacts | None = None) -> str | None:
    """Why ldm would refuse this LDoms action for this domain now (None when it would not): `states.why_not`.
    ``control`` is the host's control domain as last polled, None without host context."""
    if action not in EXTRA_ACTIONS:
        return f"ldm has no {action.label.lower()}"
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
               resources: Resources | None = None, unchecked: str = "") -> Plan:
    """The plan of an LDoms action, its inputs validated and, for resizes, checked with `check_size`
    against ``resources`` (the host's, None when they could not be read: then ``unchecked`` says why and
    goes into the plan's warning)."""
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


# --- creating a guest -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewGuest:
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


def create_plan(host: str, guest: NewGuest) -> Plan:
    """The operator's sequence for a new guest (add-domain … bind, start), each step with its undo."""
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
    steps = [
        _step(f"Create the domain {name}", LDM, "add-domain", name, undo=(LDM, "remove-domain", name)),
        _step(f"Give it {vcpus} vCPUs", LDM, "add-vcpu", str(vcpus), name),
        _step(f"Give it {memory} of memory", LDM, "add-memory", memory, name),
        _step(f"Add {vnet} on {vsw}", LDM, "add-vnet", vnet, vsw, name, undo=(LDM, "remove-vnet", vnet, name)),
        _step(f"Export {guest.backend} as {volume}@{vds}", LDM, "add-vdsdev", guest.backend, f"{volume}@{vds}",
              undo=(LDM, "remove-vdsdev", f"{volume}@{vds}")),
        _step(f"Add {vdisk} backed by {volume}@{vds}", LDM, "add-vdisk", vdisk, f"{volume}@{vds}", name,
              undo=(LDM, "remove-vdisk", vdisk, name)),
    ]
    for var, value in guest.variables:
        validate_var(f"{var}={value}")
        steps.append(_step(f"Set {var}={value}", LDM, "set-var", f"{var}={value}", name))
    steps.append(_step(f"Bind {name}", LDM, "bind", name, undo=(LDM, "unbind", name)))
    if guest.start:
        steps.append(_step(f"Start {name}", LDM, "start", name, undo=(LDM, "stop", "-f", name)))
    return Plan(title=f"Create {name} on {host}", host=host, action="create", target=name, steps=tuple(steps))
