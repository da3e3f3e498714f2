"""The libvirt API calls a Plan may name, each mapped to the libvirt-python method that makes it.

`run` is called in the backend's worker thread with the backend's connection and one plan step's
`Operation` (whose ``call`` is in `commands.API_CALLS`; the backend refuses any other). Arguments are
the operation's strings: ``domain``/``uuid`` (looked up by UUID first, then by name), ``pool``,
``volume``, ``xml``, ``source_pool``/``source_volume``, ``snapshot``, and ``wait`` for a shutdown that
waits for the guest to power off. A libvirt failure propagates as libvirtError (the backend turns it
into a failed step with libvirt's message); `StepFailed` is a failure hvdeck itself decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import libvirt

from ..plan import Operation


class StepFailed(Exception):
    """A call that returned but did not reach what the step promised (a guest that did not power off)."""


def _domain(conn: libvirt.virConnect, args: Mapping[str, str]) -> libvirt.virDomain:
    uuid = args.get("uuid")
    if uuid:
        try:
            return conn.lookupByUUIDString(uuid)
        except libvirt.libvirtError:
            pass
    return conn.lookupByName(args["domain"])


def _pool(conn: libvirt.virConnect, name: str) -> libvirt.virStoragePool:
    return conn.storagePoolLookupByName(name)


def _shutdown(conn: libvirt.virConnect, args: Mapping[str, str]) -> str:
    """virDomainShutdown; with ``wait`` (seconds), then poll `virDomainGetState` until it is shut off."""
    dom = _domain(conn, args)
    dom.shutdown()
    wait = float(args.get("wait") or 0)
    if wait <= 0:
        return ""
    started = time.monotonic()
    while dom.state()[0] != libvirt.VIR_DOMAIN_SHUTOFF:
        if time.monotonic() - started > wait:
            raise StepFailed(f"{args['domain']} did not power off within {wait:.0f} s of the ACPI power button "
                             "(its OS may ignore it)")
        time.sleep(0.25)
    return f"{args['domain']} powered off after {time.monotonic() - started:.1f} s\n"


def _define(conn: libvirt.virConnect, args: Mapping[str, str]) -> str:
    dom = conn.defineXML(args["xml"])
    return f"defined {dom.name()} ({dom.UUIDString()})\n"


def _volume_create(conn: libvirt.virConnect, args: Mapping[str, str]) -> str:
    vol = _pool(conn, args["pool"]).createXML(args["xml"], 0)
    return f"created {vol.path()}\n"


def _volume_clone(conn: libvirt.virConnect, args: Mapping[str, str]) -> str:
    source = _pool(conn, args["source_pool"]).storageVolLookupByName(args["source_volume"])
    vol = _pool(conn, args["pool"]).createXMLFrom(args["xml"], source, 0)
    return f"created {vol.path()}\n"


def _volume_delete(conn: libvirt.virConnect, args: Mapping[str, str]) -> str:
    _pool(conn, args["pool"]).storageVolLookupByName(args["volume"]).delete(0)
    return ""


def _snapshot(conn: libvirt.virConnect, args: Mapping[str, str]) -> libvirt.virDomainSnapshot:
    return _domain(conn, args).snapshotLookupByName(args["snapshot"], 0)


def _snapshot_create(conn: libvirt.virConnect, args: Mapping[str, str]) -> str:
    _domain(conn, args).snapshotCreateXML(args["xml"], 0)
    return ""


def _snapshot_revert(conn: libvirt.virConnect, args: Mapping[str, str]) -> str:
    _domain(conn, args).revertToSnapshot(_snapshot(conn, args), 0)
    return ""


def _snapshot_delete(conn: libvirt.virConnect, args: Mapping[str, str]) -> str:
    _snapshot(conn, args).delete(0)
    return ""


def _simple(method: Callable[[libvirt.virDomain], object]) -> Callable[[libvirt.virConnect, Mapping[str, str]], str]:
    def call(conn: libvirt.virConnect, args: Mapping[str, str]) -> str:
        method(_domain(conn, args))
        return ""

    return call


CALLS: Mapping[str, Callable[[libvirt.virConnect, Mapping[str, str]], str]] = {
    "virDomainCreate": _simple(lambda d: d.create()),
    "virDomainShutdown": _shutdown,
    "virDomainReboot": _simple(lambda d: d.reboot(0)),
    "virDomainSuspend": _simple(lambda d: d.suspend()),
    "virDomainResume": _simple(lambda d: d.resume()),
    "virDomainPMWakeup": _simple(lambda d: d.pMWakeup(0)),
    "virDomainDestroy": _simple(lambda d: d.destroy()),
    "virDomainDefineXML": _define,
    "virDomainUndefine": _simple(lambda d: d.undefine()),
    "virStorageVolCreateXML": _volume_create,
    "virStorageVolCreateXMLFrom": _volume_clone,
    "virStorageVolDelete": _volume_delete,
    "virDomainSnapshotCreateXML": _snapshot_create,
    "virDomainRevertToSnapshot": _snapshot_revert,
    "virDomainSnapshotDelete": _snapshot_delete,
}


def run(conn: libvirt.virConnect, operation: Operation) -> str:
    """Make ``operation``'s call on ``conn``; returns a line for the step's output (may be empty)."""
    return CALLS[operation.call or ""](conn, dict(operation.args))
