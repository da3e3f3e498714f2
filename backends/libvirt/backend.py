"""libvirt over the host's own SSH connection.

For an ``ssh`` host, a local unix socket is forwarded over the existing asyncssh connection to the
remote libvirt socket (libvirt-sock, or a modular daemon's such as virtqemud-sock: `sockets.py`), and
libvirt-python opens ``qemu+unix:///system?socket=<local path>``: no second SSH login, no password
prompt from libvirt, the same host-key check. With ``transport: local`` the inventory's
``libvirt_uri`` is opened directly (``test:///path/to/node.xml`` for the demo).

Polls ask for bulk stats with ``VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT``, so a domain busy with
another client's job never holds the host's rows (the operators' case libvirt-domain-vanishes-mid-poll
measured, under guest churn, a worst poll of 2.3 s with it and 11-20 s without), and without it where
a driver refuses the flag. A guest that disappears between the
bulk call and a per-domain call (VIR_ERR_NO_DOMAIN) is left out of that poll; the others stay.

Every libvirt call blocks, so each runs in a worker thread (`asyncio.to_thread`); the forward is served
by the caller's loop, which must therefore stay free. Lifecycle events arrive on libvirt's event
thread (`events.py`) and are handed to the caller's loop, where they trigger an immediate poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import libvirt

from ..base import Action, Backend
from ..errors import ConnectionLost, HostUnreachable, HvdeckError, Unsupported
from ..inventory import HostSpec
from ..model import Bindings, ConsoleRef, Domain, HostInfo, HostSnapshot
from ..options import Form
from ..plan import Operation, Plan
from ..transport.base import Channel, CommandTimeout, Forward, OutputCallback, Result, Session
from . import apicalls, commands, migration, migration_run, parse, sockets, states
from . import console as serial
from .events import call_soon_in, ensure_event_loop
from .wizard_backend import LibvirtWizards

log = logging.getLogger(__name__)

_STATS = (libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL | libvirt.VIR_DOMAIN_STATS_BALLOON
          | libvirt.VIR_DOMAIN_STATS_VCPU | libvirt.VIR_DOMAIN_STATS_INTERFACE | libvirt.VIR_DOMAIN_STATS_BLOCK)
# errors that mean the RPC link is gone (the SSH forward dropped, libvirtd restarted)
_LINK_CODES = {libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_RPC,
               libvirt.VIR_ERR_INVALID_CONN}
# how a driver refuses a flag it does not know: virCheckFlags' "unsupported flags (0x…) in function …"
# is VIR_ERR_INVALID_ARG; some drivers say VIR_ERR_ARGUMENT_UNSUPPORTED
_FLAG_REFUSED = {libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED}


def _message(exc: libvirt.libvirtError) -> str:
    return (exc.get_error_message() or str(exc)).strip()


class LibvirtBackend(LibvirtWizards, Backend):
    kind = "libvirt"
    ACTIONS = frozenset(Action)
    RATE_SAMPLES = 2
    #: getAllDomainStats flags, dropped to 0 for the rest of the connection if the driver refuses them
    STATS_FLAGS = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT

    def __init__(self, spec: HostSpec, session: Session) -> None:
        super().__init__(spec, session)
        self._conn: libvirt.virConnect | None = None
        self._forward: Forward | None = None
        self._closed_by_peer = False
        self._counters: dict[str, parse.Counters] = {}
        #: uuid -> (console summary, interface targets, disk targets), from the domain XML
        self._devices: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {}
        self._inactive_info: dict[str, list[int]] = {}
        self._callback_id: int | None = None
        self._stats_flags = self.STATS_FLAGS
        self.uri = spec.libvirt_uri
        #: the remote socket the tunnel reaches (found when the host is opened)
        self.socket: str | None = None
        #: live migrations: the targets of the plans built here, and uuid -> target of those running now
        self.migration_peers = migration_run.Peers()
        self.outgoing: dict[str, str] = {}

    @classmethod
    async def detect(cls, session: Session, spec: HostSpec) -> bool:
        return await sockets.detect(session, spec)

    @property
    def stats_flags(self) -> int:
        """The getAllDomainStats flags polls use now (NOWAIT, or 0 once the driver refused it)."""
        return self._stats_flags

    # -- connection ---------------------------------------------------------------------------------

    async def open(self) -> HostInfo:
        ensure_event_loop()
        if self.spec.transport == "local":
            uri = self.spec.libvirt_uri
        else:
            self.socket = await sockets.find_socket(self.session, self.spec)
            self._forward = await self.session.forward_unix(self.socket)
            uri = commands.tunnel_uri(self.spec.libvirt_uri, self._forward.path)
        opener = libvirt.openReadOnly if self.spec.read_only else libvirt.open
        try:
            conn = await asyncio.to_thread(opener, uri)
        except libvirt.libvirtError as exc:
            await self._close_forward()
            raise HostUnreachable(f"libvirt: cannot open {self.spec.libvirt_uri}: {_message(exc)}") from None
        self._conn = conn
        self._closed_by_peer = False
        loop = asyncio.get_running_loop()
        try:
            info = await asyncio.to_thread(self._open_sync, conn, loop)
        except libvirt.libvirtError as exc:
            await self.close()
            raise HostUnreachable(f"libvirt: {_message(exc)}") from None
        return info

    def _open_sync(self, conn: libvirt.virConnect, loop: asyncio.AbstractEventLoop) -> HostInfo:
        if not self.spec.libvirt_uri.startswith("test:"):
            try:
                conn.setKeepAlive(5, 3)
            except libvirt.libvirtError:
                pass  # drivers without keepalive (local ones) need none
            conn.registerCloseCallback(lambda _c, _reason, _o: call_soon_in(loop, self._peer_closed), None)

        def on_lifecycle(_conn: Any, dom: Any, _event: int, _detail: int, _opaque: Any) -> None:
            uuid = dom.UUIDString()
            call_soon_in(loop, lambda: self._domain_changed(uuid))

        self._callback_id = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                        on_lifecycle, None)
        node = conn.getInfo()  # [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]
        lib = conn.getLibVersion()
        return HostInfo(kind=self.kind, hypervisor=conn.getType(),
                        version=f"{lib // 1000000}.{lib // 1000 % 1000}.{lib % 1000}",
                        hostname=conn.getHostname(), cpus=node[2], memory_bytes=node[1] * 1024 * 1024)

    def _peer_closed(self) -> None:
        self._closed_by_peer = True
        if self.on_change is not None:
            self.on_change()

    def _domain_changed(self, uuid: str) -> None:
        self._devices.pop(uuid, None)
        self._inactive_info.pop(uuid, None)
        if self.on_change is not None:
            self.on_change()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.to_thread(self._close_sync, conn)
        await self._close_forward()

    def _close_sync(self, conn: libvirt.virConnect) -> None:
        try:
            if self._callback_id is not None:
                conn.domainEventDeregisterAny(self._callback_id)
            if not self.spec.libvirt_uri.startswith("test:"):
                conn.unregisterCloseCallback()
        except libvirt.libvirtError:
            pass
        self._callback_id = None
        try:
            conn.close()
        except libvirt.libvirtError:
            pass

    async def _close_forward(self) -> None:
        forward, self._forward = self._forward, None
        if forward is not None:
            await forward.close()

    def _live(self) -> libvirt.virConnect:
        if self._conn is None or self._closed_by_peer:
            raise ConnectionLost(f"{self.spec.name}: the libvirt connection closed")
        return self._conn

    async def _call(self, fn: Any, *args: Any) -> Any:
        conn = self._live()
        try:
            return await asyncio.to_thread(fn, conn, *args)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() in _LINK_CODES or not _alive(conn):
                raise ConnectionLost(f"libvirt: {_message(exc)}") from None
            raise HvdeckError(f"libvirt: {_message(exc)}", title="libvirt error") from None

    # -- polling ------------------------------------------------------------------------------------

    async def poll(self) -> tuple[Domain, ...]:
        return await self._call(self._poll_sync)

    def _bulk_stats(self, conn: libvirt.virConnect) -> list[tuple[libvirt.virDomain, dict[str, Any]]]:
        while True:
            try:
                return conn.getAllDomainStats(_STATS, self._stats_flags)
            except libvirt.libvirtError as exc:
                code = exc.get_error_code()
                if code in _FLAG_REFUSED and self._stats_flags:
                    log.debug("%s: bulk stats refuse flags %#x (%s); asking without", self.spec.name,
                              self._stats_flags, _message(exc))
                    self._stats_flags = 0
                    continue
                if code != libvirt.VIR_ERR_NO_SUPPORT:
                    raise
                return [(dom, {}) for dom in conn.listAllDomains(0)]

    def _poll_sync(self, conn: libvirt.virConnect) -> tuple[Domain, ...]:
        records = self._bulk_stats(conn)
        now = time.monotonic()
        rows: list[Domain] = []
        seen: set[str] = set()
        for dom, stats in records:
            uuid = dom.UUIDString()
            seen.add(uuid)
            try:
                row = self._row(dom, uuid, stats, now)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
                # created and destroyed between the bulk call and this one: not in this poll
                log.debug("%s: domain %s vanished during the poll: %s", self.spec.name, uuid, _message(exc))
                self._forget(uuid)
                continue
            rows.append(row)
        for gone in (set(self._counters) | set(self._devices) | set(self._inactive_info)) - seen:
            self._forget(gone)
        return migration.mark(rows, self.outgoing)

    def _forget(self, uuid: str) -> None:
        self._counters.pop(uuid, None)
        self._devices.pop(uuid, None)
        self._inactive_info.pop(uuid, None)

    def _row(self, dom: libvirt.virDomain, uuid: str, stats: dict[str, Any], now: float) -> Domain:
        """One domain's row from its bulk-stats record, with the per-domain calls its driver needs.

        Raises libvirtError VIR_ERR_NO_DOMAIN when the domain vanished since the bulk call, and link
        errors; any other failure of a per-domain call (a job lock timing out on a busy domain) leaves
        what that call would have given unknown for this poll."""
        dom_id = dom.ID()
        info = None
        missing = not all(k in stats for k in ("state.state", "balloon.current", "vcpu.current"))
        if dom_id >= 0 and (missing or "cpu.time" not in stats):
            info = self._soft(dom.info, uuid)  # drivers whose bulk stats lack groups (the test driver)
        elif dom_id < 0 and missing:
            info = self._inactive_info.get(uuid)
            if info is None:
                info = self._soft(dom.info, uuid)
                if info is not None:
                    self._inactive_info[uuid] = info
        if dom_id >= 0:
            self._inactive_info.pop(uuid, None)
        devices = self._devices.get(uuid)
        if devices is None:
            xml = self._soft(lambda: dom.XMLDesc(0), uuid)
            devices = (parse.console_summary(xml), *parse.device_names(xml)) if xml is not None else (None, (), ())
            if xml is not None:
                self._devices[uuid] = devices
                self._remember_disks(uuid, xml)
        console, nics, disks = devices
        code = stats.get("state.state", info[0] if info else None)
        if (dom_id >= 0 and states.executing(code) and not any(
                k in stats for k in ("net.count", "block.count", "cpu.time"))):
            stats = {**stats, **self._device_stats(dom, nics, disks)}
        row, counters = parse.domain_row(
            self.spec.name, name=dom.name(), uuid=uuid, dom_id=dom_id, stats=stats, info=info,
            console=console, prev=self._counters.get(uuid), now=now)
        self._counters[uuid] = counters
        return row

    def _soft(self, call: Any, uuid: str) -> Any:
        try:
            return call()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN or exc.get_error_code() in _LINK_CODES:
                raise
            log.debug("%s: domain %s: %s", self.spec.name, uuid, _message(exc))
            return None

    @staticmethod
    def _device_stats(dom: libvirt.virDomain, nics: tuple[str, ...], disks: tuple[str, ...]) -> dict[str, int]:
        """Interface and block counters one device at a time, for drivers whose bulk stats have neither
        group (the test driver: shared formats libvirt §2.6, §2.7). A device the driver does not know
        leaves the figures unknown; a vanished domain raises."""
        try:
            return parse.device_stats([dom.interfaceStats(n) for n in nics], [dom.blockStats(d) for d in disks])
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise
            return {}

    async def bindings(self, domain: Domain) -> Bindings:
        return await self._call(self._bindings_sync, domain)

    def _bindings_sync(self, conn: libvirt.virConnect, domain: Domain) -> Bindings:
        dom = self._lookup(conn, domain.name, domain.uuid)
        xml = dom.XMLDesc(0)
        return parse.bindings_from_xml(self.spec.name, xml)

    @staticmethod
    def _lookup(conn: libvirt.virConnect, name: str, uuid: str | None) -> libvirt.virDomain:
        if uuid:
            try:
                return conn.lookupByUUIDString(uuid)
            except libvirt.libvirtError:
                pass
        return conn.lookupByName(name)

    # -- consoles: virDomainOpenConsole on a stream of this connection (`console.py`) --------------------

    def console(self, domain: Domain) -> ConsoleRef:
        return serial.console_ref(self.spec, domain)

    async def open_console(self, domain: Domain, *, cols: int = 80, rows: int = 24, force: bool = False) -> Channel:
        return await serial.open_console(self, domain, force=force)

    # -- actions -------------------------------------------------------------------------------------

    def why_not(self, action: Action, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        """libvirt's state machine (`states.py`): None when libvirt accepts ``action`` in the domain's
        state (and state reason), else the sentence why not."""
        if action not in self.ACTIONS:
            return f"{self.kind} hosts do not support {action.label.lower()}"
        return states.why_not(action, domain)

    def _plan_action(self, action: Action, domain: Domain) -> Plan:
        return commands.lifecycle_plan(action, domain, self.spec.libvirt_uri)

    async def execute(self, operation: Operation, *, input: str | None = None, timeout: float | None = None,
                      on_output: OutputCallback | None = None) -> Result:
        if operation.call is None:
            return await super().execute(operation, input=input, timeout=timeout, on_output=on_output)
        if operation.call in migration.API_CALLS:
            return await migration_run.execute(self, operation)
        if operation.call not in commands.API_CALLS:
            raise Unsupported(f"libvirt backend will not run {operation.call}")
        shown = (operation.display(),)
        try:
            # the call runs on in its thread after a timeout (libvirt cannot abort it): outcome unknown
            out = await asyncio.wait_for(asyncio.to_thread(apicalls.run, self._live(), operation), timeout)
        except TimeoutError:
            raise CommandTimeout(f"libvirt: {operation.call} gave no answer in {timeout:.0f} s") from None
        except libvirt.libvirtError as exc:
            return Result(shown, 1, "", f"error: {_message(exc)}\n")
        except apicalls.StepFailed as exc:
            return Result(shown, 1, "", f"error: {exc}\n")
        finally:
            if self.on_change is not None:
                self.on_change()
        return Result(shown, 0, out, "")

    # -- live migration (migration.py) ----------------------------------------------------------------

    def migrate_form(self, domain: Domain) -> Form | None:
        return migration.FORM

    async def plan_migrate(self, domain: Domain, target: Backend, values: dict[str, Any]) -> Plan:
        return await migration_run.build(self, domain, target, values)


def _alive(conn: libvirt.virConnect) -> bool:
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False
