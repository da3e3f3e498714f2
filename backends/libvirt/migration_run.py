"""Live migration's libvirt calls (the plan and everything pure are in `migration`): the migration itself in
a thread of its own, the short calls (progress, abort, the checks' reads) in the backend's worker threads,
and where the guest is afterwards. Imports libvirt; loaded only with the libvirt backend.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libvirt

from ..errors import ConnectionLost, HvdeckError
from ..model import Domain
from ..plan import Operation, Plan
from ..transport.base import Result
from . import parse
from .migration import FLAG_NAMES, facts, host_uuid, human_size, plan, whereabouts

if TYPE_CHECKING:
    from .backend import LibvirtBackend

#: the flags hvdeck may pass, by the name the plan shows
FLAGS = {name: getattr(libvirt, f"VIR_MIGRATE_{name}") for name in FLAG_NAMES}


# -- running the calls (the backend's threads) ---------------------------------------------------------------


def _message(exc: libvirt.libvirtError) -> str:
    return (exc.get_error_message() or str(exc)).strip()


def _lookup(conn: libvirt.virConnect, name: str, uuid: str) -> libvirt.virDomain:
    if uuid:
        try:
            return conn.lookupByUUIDString(uuid)
        except libvirt.libvirtError:
            pass
    return conn.lookupByName(name)


_STATE_WORDS = {code: row.word for code, row in parse.states.STATES.items()}


def _state_of(conn: libvirt.virConnect, name: str, uuid: str) -> str | None:
    """The word virsh prints for the domain's state there, None when the host has no such domain."""
    try:
        dom = _lookup(conn, name, uuid)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        return f"unknown ({_message(exc)})"
    try:
        code = dom.state()[0]
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        return f"unknown ({_message(exc)})"
    return _STATE_WORDS.get(code, f"state {code}")


def _flags(text: str) -> int:
    value = 0
    for name in filter(None, text.split("|")):
        if name not in FLAGS:
            raise HvdeckError(f"hvdeck does not pass migration flag {name}")
        value |= FLAGS[name]
    return value


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one migration call did: exit status, stdout, stderr; the figures of a completed one."""

    exit_status: int
    stdout: str
    stderr: str
    seconds: float
    stats: dict[str, Any]


def migrate_sync(src: libvirt.virConnect, dst: libvirt.virConnect, args: Mapping[str, str], source: str,
                 target: str) -> Outcome:
    """``virDomainMigrate3`` from ``src`` to ``dst``, then where the guest is. Blocks for the whole migration."""
    name, uuid = args["domain"], args.get("uuid", "")
    flags = _flags(args["flags"])
    params: dict[str, Any] = {}
    if args.get("bandwidth_mib_s"):
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = int(args["bandwidth_mib_s"])
    started = time.monotonic()
    error = None
    try:
        dom = _lookup(src, name, uuid)
        dom.migrate3(dst, params, flags)
    except libvirt.libvirtError as exc:
        error = _message(exc)
    seconds = time.monotonic() - started
    here, there = _state_of(src, name, uuid), _state_of(dst, name, uuid)
    where = whereabouts(name, source, target, here, there)
    arrived = there in ("running", "paused") and here in (None, "shut off")
    stats: dict[str, Any] = {}
    if error is None and arrived:
        try:
            stats = _lookup(dst, name, uuid).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED
                                                   | libvirt.VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED)
        except libvirt.libvirtError:
            stats = {}
    if error is None and arrived:
        figures = ""
        if stats.get("time_elapsed") is not None:
            figures = (f"\nMigrated in {stats['time_elapsed'] / 1000:.2f} s"
                       + (f", {human_size(stats['data_processed'])} sent" if "data_processed" in stats else "")
                       + (f", downtime {stats['downtime']} ms" if "downtime" in stats else "") + ".")
        return Outcome(0, where + figures + "\n", "", seconds, stats)
    detail = f"error: {error}\n" if error else "error: libvirt reported success, but the guest is not where it should be\n"
    return Outcome(1, "", detail + where + "\n", seconds, stats)


async def in_own_thread(fn: Callable[..., Any], *args: Any, name: str) -> Any:
    """Run a long blocking call in a thread of its own (the shared pool stays free for polls and for the
    calls that watch and cancel it) and await its result."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def run() -> None:
        try:
            value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - raised again in the awaiting task
            loop.call_soon_threadsafe(settle, False, exc)
        else:
            loop.call_soon_threadsafe(settle, True, value)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


def call_sync(conn: libvirt.virConnect, call: str, args: Mapping[str, str]) -> str:
    """One of the short calls; returns its stdout (JSON for the reads). Raises libvirtError."""
    name, uuid = args.get("domain", ""), args.get("uuid", "")
    if call == "virDomainGetJobStats":
        return json.dumps(_lookup(conn, name, uuid).jobStats()) + "\n"
    if call == "virDomainAbortJob":
        _lookup(conn, name, uuid).abortJob()
        return ""
    if call == "virDomainMigrateSetMaxDowntime":
        _lookup(conn, name, uuid).migrateSetMaxDowntime(int(args["downtime_ms"]), 0)
        return ""
    if call == "virConnectGetCapabilities":
        return json.dumps({"hostname": conn.getHostname(), "host_uuid": host_uuid(conn.getCapabilities())}) + "\n"
    if call == "virNodeGetFreeMemory":
        info = conn.getInfo()  # [model, memory MiB, cpus, ...]
        return json.dumps({"free_bytes": conn.getFreeMemory(), "memory_bytes": info[1] * 1024 * 1024,
                           "cpus": info[2]}) + "\n"
    if call == "virDomainLookupByName":
        found: dict[str, Any] = {"by_name": None, "by_uuid": None}
        for key, lookup, value in (("by_name", conn.lookupByName, name), ("by_uuid", conn.lookupByUUIDString, uuid)):
            if not value:
                continue
            try:
                dom = lookup(value)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
                continue
            found[key] = {"name": dom.name(), "uuid": dom.UUIDString(), "active": bool(dom.isActive())}
        return json.dumps(found) + "\n"
    if call == "virConnectCompareHypervisorCPU":
        try:
            verdict = conn.compareHypervisorCPU(args.get("emulator") or None, args.get("arch") or None,
                                                args.get("machine") or None, args.get("virttype") or None,
                                                args["xml"], libvirt.VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_CPU_INCOMPATIBLE:
                raise
            return json.dumps({"result": "incompatible", "detail": _message(exc)}) + "\n"
        words = {libvirt.VIR_CPU_COMPARE_IDENTICAL: "identical", libvirt.VIR_CPU_COMPARE_SUPERSET: "superset",
                 libvirt.VIR_CPU_COMPARE_INCOMPATIBLE: "incompatible"}
        return json.dumps({"result": words.get(verdict, f"code {verdict}")}) + "\n"
    raise HvdeckError(f"libvirt backend will not run {call}")


class Peers:
    """The target backends of the plans a source backend built, by host name, held weakly: a plan runs
    against the connection it was checked with, and a target whose connection was rebuilt since (a new
    backend) makes the plan fail with a sentence rather than reach a closed connection."""

    def __init__(self) -> None:
        self._by_host: weakref.WeakValueDictionary[str, LibvirtBackend] = weakref.WeakValueDictionary()

    def add(self, backend: LibvirtBackend) -> None:
        self._by_host[backend.spec.name] = backend

    def get(self, host: str) -> LibvirtBackend:
        backend = self._by_host.get(host)
        if backend is None or backend._conn is None:
            raise HvdeckError(f"the connection to {host} this plan was made with is closed; nothing was sent: "
                              "make the plan again")
        return backend


async def execute(backend: LibvirtBackend, operation: Operation) -> Result:
    """Run one of `API_CALLS` for ``backend`` (the host the step or check is on). A libvirt refusal is a
    failed Result with libvirt's message; a lost link raises `ConnectionLost`."""
    call = operation.call or ""
    args = dict(operation.args)
    shown = (operation.display(),)
    if call == "virDomainMigrate3":
        peer = backend.migration_peers.get(args["target"])
        src, dst = backend._live(), peer._live()
        uuid = args.get("uuid") or args["domain"]
        backend.outgoing[uuid] = args["target"]
        try:
            outcome = await in_own_thread(migrate_sync, src, dst, args, backend.spec.name, peer.spec.name,
                                          name=f"hvdeck-migrate-{args['domain'][:40]}")
        finally:
            backend.outgoing.pop(uuid, None)
            for side in (backend, peer):
                if side.on_change is not None:
                    side.on_change()
        return Result(shown, outcome.exit_status, outcome.stdout, outcome.stderr)
    conn = backend._live()
    try:
        stdout = await asyncio.to_thread(call_sync, conn, call, args)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() in (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_RPC,
                                    libvirt.VIR_ERR_INVALID_CONN):
            raise ConnectionLost(f"libvirt: {_message(exc)}") from None
        return Result(shown, 1, "", f"error: {_message(exc)}\n")
    return Result(shown, 0, stdout, "")


async def build(backend: LibvirtBackend, domain: Domain, target: Any, values: Mapping[str, Any]) -> Plan:
    """`LibvirtBackend.plan_migrate`: read the domain's live XML and the source's host UUID, remember the
    target backend for the run, and build the plan."""
    from .backend import LibvirtBackend

    def read(conn: libvirt.virConnect) -> tuple[str, str]:
        dom = _lookup(conn, domain.name, domain.uuid or "")
        return dom.XMLDesc(0), conn.getCapabilities()

    xml, caps = await backend._call(read)
    found = facts(backend.spec.name, xml)
    if isinstance(target, LibvirtBackend):
        backend.migration_peers.add(target)
    return plan(domain, backend.spec, target.spec, target.kind, found, values, source_host_uuid=host_uuid(caps))
