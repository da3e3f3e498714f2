"""Pure libvirt intent: connection URIs, name rules and lifecycle Plans. No I/O."""

from __future__ import annotations

import urllib.parse

from ..base import Action
from ..errors import ValidationError
from ..model import Domain
from ..plan import Operation, Plan, Step

# (API call, virsh subcommand, what the step does, undo call). Every one of these virsh subcommands
# takes the domain as ``--domain <string>`` (`virsh help start`, ... `virsh help dompmwakeup`); the
# equivalent is written ``--domain=NAME`` so that a name such as ``--domain=db01`` or ``-c`` is never
# read as an option when the line is copied (checked against virsh in
# tests/integration/test_libvirt_virsh_equivalent.py).
_LIFECYCLE: dict[Action, tuple[str, str, str, str | None]] = {
    Action.START: ("virDomainCreate", "start", "Start {name}", None),
    Action.SHUTDOWN: ("virDomainShutdown", "shutdown",
                      "Ask {name} to shut down (ACPI power button; the guest OS decides)", "virDomainCreate"),
    Action.REBOOT: ("virDomainReboot", "reboot", "Ask {name} to reboot (the guest OS decides)", None),
    Action.PAUSE: ("virDomainSuspend", "suspend", "Pause {name}'s vCPUs (memory stays allocated)",
                     "virDomainResume"),
    Action.UNPAUSE: ("virDomainResume", "resume", "Unpause {name}'s vCPUs", "virDomainSuspend"),
    # no undo: the sleep was the guest OS's own choice, and libvirt cannot put a guest to sleep again
    # without the QEMU guest agent (virDomainPMSuspendForDuration); Pause is not the opposite of waking up
    Action.WAKEUP: ("virDomainPMWakeup", "dompmwakeup", "Wake {name} from the sleep its own OS put it in", None),
    Action.FORCE_OFF: ("virDomainDestroy", "destroy",
                       "Force {name} off at once, like pulling the power cord: unsaved guest data is lost",
                       None),
}
_UNDO_VIRSH = {"virDomainCreate": "start", "virDomainResume": "resume", "virDomainSuspend": "suspend"}

#: the API calls the backend will execute (anything else in a Plan is refused): the lifecycle calls above,
#: and those of the create and clone wizards and of domain snapshots (`wizards.py`). Each is mapped to
#: its libvirt-python method in `apicalls.CALLS`.
API_CALLS = frozenset(call for call, *_ in _LIFECYCLE.values()) | frozenset({
    "virDomainDefineXML", "virDomainUndefine",
    "virStorageVolCreateXML", "virStorageVolCreateXMLFrom", "virStorageVolDelete",
    "virDomainSnapshotCreateXML", "virDomainRevertToSnapshot", "virDomainSnapshotDelete",
})


def validate_name(name: str) -> str:
    """libvirt's own rules for a domain name (conf/domain_conf.c and the qemu driver).

    Non-empty; no '/' (the qemu driver rejects it: the name becomes a file name); no newline or other
    control characters (virXMLCheckIllegalChars); and not all digits or a UUID, which virsh would read as
    an ID or a UUID instead of a name.
    """
    if not name:
        raise ValidationError("a domain name cannot be empty")
    if "/" in name:
        raise ValidationError(f"domain name {name!r} cannot contain '/'")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValidationError(f"domain name {name!r} cannot contain control characters")
    if name.isdigit():
        raise ValidationError(f"domain name {name!r} cannot be all digits (virsh would read it as an ID)")
    if len(name) == 36 and name.count("-") == 4:
        raise ValidationError(f"domain name {name!r} looks like a UUID")
    return name


def tunnel_uri(uri: str, socket_path: str) -> str:
    """``qemu:///system`` reached through a local socket: ``qemu+unix:///system?socket=PATH``."""
    parts = urllib.parse.urlsplit(uri)
    if "+" in parts.scheme or parts.netloc:
        raise ValidationError(f"{uri!r} is not a local libvirt URI (such as qemu:///system)")
    query = urllib.parse.parse_qsl(parts.query)
    query = [(k, v) for k, v in query if k != "socket"] + [("socket", socket_path)]
    # built by hand: urlunsplit drops the empty authority ("//") that libvirt URIs need
    return f"{parts.scheme}+unix://{parts.path or '/system'}?{urllib.parse.urlencode(query, safe='/')}"


def virsh_equivalent(uri: str, verb: str, name: str) -> tuple[str, ...]:
    """``virsh -c URI VERB --domain=NAME``: the command line that does what an API call does."""
    return ("virsh", "-c", uri, verb, f"--domain={name}")


def lifecycle_plan(action: Action, domain: Domain, uri: str) -> Plan:
    call, verb, description, undo_call = _LIFECYCLE[action]
    name = validate_name(domain.name)
    undo = None
    if undo_call is not None:
        undo = Operation.api(undo_call, virsh_equivalent(uri, _UNDO_VIRSH[undo_call], name),
                             domain=name, uuid=domain.uuid or "")
    step = Step(description.format(name=name),
                Operation.api(call, virsh_equivalent(uri, verb, name), domain=name, uuid=domain.uuid or ""),
                undo)
    warning = ""
    confirm = None
    if action is Action.FORCE_OFF:
        warning = (f"{name} will be stopped immediately without a clean shutdown. "
                   f"Type the domain name to confirm.")
        confirm = name
    return Plan(title=f"{action.label} {name} on {domain.host}", host=domain.host, action=action.value,
                target=name, steps=(step,), confirm_phrase=confirm, warning=warning)
