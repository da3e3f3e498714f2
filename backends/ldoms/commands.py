"""Pure `ldm` intent: name and size rules, the read-only commands a poll runs, and Plans. No I/O.

Every Plan step is an argv list for the control domain; nothing user- or host-supplied is ever put into
a shell string. Names are checked before a Plan exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..base import Action, ExtraAction, Param
from ..errors import ValidationError
from ..model import Domain
from ..plan import Operation, Plan, Step
from .parse import format_size, parse_size

LDM = "ldm"
LIST = (LDM, "list", "-p")
VERSION = (LDM, "-V")
SERVICES = (LDM, "list-services", "-p")
DEVICES = (LDM, "list-devices", "-a", "-p")
CONTROL_DOMAIN = "primary"

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
    """``NAME=VALUE`` for `ldm set-var` (the value may contain '=' and spaces)."""
    name, sep, value = assignment.partition("=")
    if not sep or not _VAR.fullmatch(name):
        raise ValidationError(f"variable {assignment!r}: write NAME=VALUE, e.g. auto-boot?=false")
    if "\n" in value:
        raise ValidationError(f"variable {name}: the value cannot contain a newline")
    return name, value


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
    """start (binding first if inactive), shut down (stop), reboot (stop -r), force off (stop -f)."""
    name = validate_name(domain.name)
    steps: list[Step] = []
    warning, confirm = "", None
    if action is Action.START:
        if domain.native_state == "inactive":
            steps.append(_step(f"Bind {name}: reserve its vCPUs, memory and I/O", LDM, "bind", name,
                               undo=(LDM, "unbind", name)))
        steps.append(_step(f"Start {name}", LDM, "start", name, undo=(LDM, "stop", name)))
    elif action is Action.SHUTDOWN:
        steps.append(_step(f"Stop {name}: ask its OS to shut down; it stays bound", LDM, "stop", name,
                           undo=(LDM, "start", name)))
    elif action is Action.REBOOT:
        steps.append(_step(f"Reboot {name} (stop -r)", LDM, "stop", "-r", name))
        if domain.name == CONTROL_DOMAIN:
            warning = ("Rebooting the control domain interrupts the virtual I/O services of every guest "
                       "that uses them. Type the domain name to confirm.")
            confirm = name
    elif action is Action.FORCE_OFF:
        steps.append(_step(f"Stop {name} at once (stop -f), like pulling the power cord", LDM, "stop", "-f", name))
        warning = f"{name} will be stopped without a clean shutdown. Type the domain name to confirm."
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


def why_not_extra(action: ExtraAction, domain: Domain) -> str | None:
    """Why an LDoms action cannot be planned for this domain now (None when it can)."""
    state, name = domain.native_state, domain.name
    delayed = any(k == "flags" and len(v) >= 3 and v[2] == "d" for k, v in domain.extra)
    if action in (BIND, UNBIND, REMOVE) and name == CONTROL_DOMAIN:
        return "the control domain cannot be unbound, bound or removed"
    if action is BIND and state != "inactive":
        return f"{name} is {state}; only an inactive domain can be bound"
    if action is UNBIND and state != "bound":
        return f"{name} is {state}; stop it first (only a bound domain can be unbound)"
    if action is REMOVE and state != "inactive":
        return f"{name} is {state}; stop and unbind it first"
    if action in (SET_VCPU, ADD_VCPU, REMOVE_VCPU, SET_MEMORY) and delayed and name != CONTROL_DOMAIN:
        return f"{name} has a delayed reconfiguration pending; reboot it first"
    return None


def extra_plan(action: ExtraAction, domain: Domain, values: dict[str, str]) -> Plan:
    name = validate_name(domain.name)
    active = domain.native_state == "active"
    warning = ""
    if action in (SET_VCPU, ADD_VCPU, REMOVE_VCPU, SET_MEMORY) and active and name == CONTROL_DOMAIN:
        warning = ("The control domain is running: ldm starts a delayed reconfiguration; the change takes "
                   "effect when primary reboots, and other reconfigurations wait until then.")
    elif action in (SET_VCPU, ADD_VCPU, REMOVE_VCPU, SET_MEMORY) and active:
        warning = f"{name} is running: the change is applied live (dynamic reconfiguration)."
    undo: tuple[str, ...] | None
    if action is BIND:
        step = _step(f"Bind {name}", LDM, "bind", name, undo=(LDM, "unbind", name))
    elif action is UNBIND:
        step = _step(f"Unbind {name}", LDM, "unbind", name, undo=(LDM, "bind", name))
    elif action is REMOVE:
        step = _step(f"Remove {name} and its constraints", LDM, "remove-domain", name)
        warning = f"{name}'s definition is deleted (its disks' backends stay). Type the domain name to confirm."
    elif action in (SET_VCPU, ADD_VCPU, REMOVE_VCPU):
        count = validate_count(values.get("count", ""))
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
        size = validate_size(values.get("size", ""))
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
