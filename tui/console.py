"""Console sessions: the wiring between the console pane (`hvdeck.widgets.console_pane`) and the fleet's
console channels (`Fleet.console` / `Fleet.open_console`).

One `ConsoleSession` per tab. Attaching: the domain's `ConsoleRef` (or the sentence why there is none),
the tab's terminal size once it is laid out, the channel opened at that size, then an audit line — written
before any byte is shown or sent, and if it cannot be written the channel is closed again and the tab says
why (fail closed: a console is a way into a guest). Then the session reads the channel and feeds the tab's
terminal, pausing while the terminal has more than `HIGH_WATER` bytes to parse (the transport stops reading
the host meanwhile), writes what the terminal sends (keys, pastes, its answers to the guest's queries) and
passes size changes on. When the console ends — the detach key, the guest or host closing it, the link
lost, hvdeck quitting — a second audit line says how and after how long, and the tab says what happened
and offers to reconnect.

The same audit lines are written by `hvdeck console` (`cli_console`) with `audit_attached` and
`audit_detached`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.console import ConsoleChannel
from hvdeck.backends.errors import ConnectionLost, ConsoleBusy, HostUnreachable, HvdeckError, describe
from hvdeck.backends.model import ConsoleRef, Domain, HostSnapshot
from hvdeck.backends.transport.base import Channel
from hvdeck.widgets import format as fmt
from hvdeck.widgets.console_pane import CLOSE, FORCE, RECONNECT, ConsolePane, ConsoleTab
from hvdeck.widgets.terminal_log import SessionLog

if TYPE_CHECKING:
    from .app import HvdeckApp

log = logging.getLogger(__name__)

#: bytes the terminal may have waiting to be parsed before the channel stops being read
HIGH_WATER = 256 * 1024
#: seconds a notice shown over a live console stays (warnings twice as long)
NOTICE_SECONDS = 5.0
#: keys typed while the console is still connecting are kept (up to this many bytes) and sent once it is
PENDING_INPUT = 4096


# -- shared with `hvdeck console` -------------------------------------------------------------------------


def refusal(snapshot: HostSnapshot | None) -> str | None:
    """Why no console may be attached on this host at all (None: it may): a read-only host refuses, as
    every change does, since what is typed on a console changes the guest."""
    if snapshot is not None and snapshot.read_only:
        return (f"{snapshot.host} is read-only in the inventory: hvdeck attaches no consoles there (what is typed "
                "on a console changes the guest)")
    return None


def audit_operation(ref: ConsoleRef) -> str:
    return f"console {ref.kind}: {ref.description}"


def audit_attached(audit: AuditLog | None, domain: Domain, ref: ConsoleRef, *, force: bool, via: str) -> None:
    """The line written when a console is attached (who: the audit log's user; host, domain, console kind).
    Raises OSError when it cannot be written: then the console must not be used."""
    if audit is not None:
        audit.append(host=domain.host, action="console-attach", target=domain.name, operation=audit_operation(ref),
                     result="attached", kind=ref.kind, force=force, via=via)


def audit_detached(audit: AuditLog | None, domain: Domain, ref: ConsoleRef, *, seconds: float, how: str,
                   via: str) -> None:
    """The line written when it ends: how, and after how long (seconds). Raises OSError."""
    if audit is not None:
        audit.append(host=domain.host, action="console-detach", target=domain.name, operation=audit_operation(ref),
                     result=f"detached after {fmt.age(seconds)}: {how}", kind=ref.kind, seconds=round(seconds, 1),
                     how=how, via=via)


def log_path(directory: Path, domain: Domain, when: float | None = None) -> Path:
    """``DIR/HOST-DOMAIN-YYYYmmdd-HHMMSS.log``; characters a file name should not carry become ``_``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{domain.host}-{domain.name}")[:120].lstrip(".")
    return directory.expanduser() / f"{name or 'console'}-{stamp}.log"


# -- the sessions of the console pane -----------------------------------------------------------------------


@dataclass
class ConsoleSession:
    """One tab's console: what it is, its channel while attached, its log, and how it ended."""

    domain: Domain
    tab: ConsoleTab
    ref: ConsoleRef | None = None
    channel: Channel | None = None
    task: asyncio.Task[None] | None = None
    attached_at: float | None = None
    force: bool = False
    log: SessionLog | None = None
    #: how it ended, for the audit line (set by whoever ends it first)
    how: str = ""
    pending: bytearray = field(default_factory=bytearray)

    @property
    def key(self) -> str:
        return self.tab.key

    @property
    def live(self) -> bool:
        return self.task is not None and not self.task.done()


class ConsoleManager:
    """The console sessions of one app (see the module docstring)."""

    def __init__(self, app: HvdeckApp) -> None:
        self.app = app
        self.sessions: dict[str, ConsoleSession] = {}

    # -- attaching ----------------------------------------------------------------------------------------

    async def attach(self, pane: ConsolePane, domain: Domain, *, force: bool = False, focus: bool = True) -> ConsoleTab:
        """Show ``domain``'s console in ``pane``: its open tab, or a new one that connects. Returns the tab."""
        session = self.sessions.get(domain.key)
        if session is not None and session.live:
            pane.activate(session.key)
            if focus:
                session.tab.focus_console()
            return session.tab
        tab = pane.tab(domain.key)
        if tab is None:
            description = self._description(domain)
            tab = await pane.open_tab(domain.key, domain.host, domain.name, description,
                                      detach_key=self.app.settings.console.detach_key)
        pane.activate(tab.key)
        if focus:
            tab.terminal.focus()
        self.connect(tab, domain, force=force)
        return tab

    def _description(self, domain: Domain) -> str:
        try:
            return self.app.fleet.console(domain).description
        except HvdeckError:
            return "console"

    def connect(self, tab: ConsoleTab, domain: Domain | None = None, *, force: bool = False) -> None:
        """(Re)connect ``tab`` to its domain's console (the domain as last polled)."""
        old = self.sessions.get(tab.key)
        if old is not None and old.live:
            return
        domain = self.app.domain(tab.key) or domain or (old.domain if old is not None else None)
        if domain is None:
            tab.show_notice(f"{tab.domain} is gone from {tab.host}", actions=(CLOSE,), severity="error",
                            focus=tab.terminal.has_focus)
            return
        session = ConsoleSession(domain, tab, force=force)
        self.sessions[tab.key] = session
        session.task = asyncio.get_running_loop().create_task(self._run(session), name=f"console:{tab.key}")

    async def _run(self, session: ConsoleSession) -> None:
        tab, domain = session.tab, session.domain
        tab.state = "connecting"
        tab.show_notice(f"Connecting to {domain.name}'s console on {domain.host}…")
        channel = None
        try:
            channel = await self._open(session)
        except asyncio.CancelledError:
            raise
        except ConsoleBusy as exc:
            ref = session.ref
            actions = (FORCE, RECONNECT, CLOSE) if ref is not None and ref.can_force else (RECONNECT, CLOSE)
            self._ended(session, f"Console in use: {exc.message}", actions, "warning")
            return
        except HvdeckError as exc:
            self._ended(session, _problem(exc, domain), (RECONNECT, CLOSE), "error")
            return
        except Exception as exc:
            log.exception("attaching %s", tab.key)
            self._ended(session, f"Cannot attach: {describe(exc)}", (RECONNECT, CLOSE), "error")
            return
        await self._attached(session, channel)

    async def _open(self, session: ConsoleSession) -> ConsoleChannel | Channel:
        tab, domain = session.tab, session.domain
        reason = refusal(self.app.snapshots.get(domain.host))
        if reason is not None:
            raise HvdeckError(reason, title="Read-only host")
        session.ref = self.app.fleet.console(domain)
        tab.description = session.ref.description
        tab.detach_hint = session.ref.detach_hint
        pane = tab.pane
        if pane is not None:
            pane.refresh_tabs()
        cols, rows = await tab.sized()
        channel = await self.app.fleet.open_console(domain, cols=cols, rows=rows, force=session.force)
        try:
            await asyncio.to_thread(audit_attached, self.app.audit, domain, session.ref, force=session.force,
                                    via="console pane")
        except OSError as exc:
            await channel.close()
            raise HvdeckError(f"Not attached: the audit log cannot be written ({exc.strerror or exc}); hvdeck "
                              "attaches no console it cannot record", title="Audit log") from None
        except BaseException:
            await channel.close()
            raise
        return channel

    async def _attached(self, session: ConsoleSession, channel: Channel) -> None:
        tab, domain = session.tab, session.domain
        session.channel = channel
        session.attached_at = time.monotonic()
        tab.state = "attached"
        tab.clear_notice()
        if tab.size_cells is not None:  # it may have changed while the channel opened
            channel.resize(*tab.size_cells)
        self._start_log(session)
        if session.pending:
            pending, session.pending = bytes(session.pending), bytearray()
            channel.write(pending)
        terminal = tab.terminal
        how, message, actions = "closed", "", (RECONNECT, CLOSE)
        try:
            while True:
                data = await channel.read()
                if not data:
                    status = await channel.wait()
                    ended = channel.ended(status) if hasattr(channel, "ended") else "The console closed."
                    how, message = "closed by the host", ended
                    break
                tab.feed(data)
                if session.log is not None:
                    self._log(session, data)
                if hasattr(channel, "take_notices"):  # a console channel, here or from the engine
                    for notice in channel.take_notices():
                        tab.show_notice(notice, severity="warning", hide_after=NOTICE_SECONDS * 2)
                if terminal.backlog > HIGH_WATER:
                    await terminal.drain()
        except asyncio.CancelledError:
            how = session.how or "detached"
            raise
        except ConnectionLost as exc:
            how, message = "link lost", f"The link to {domain.host} was lost: {exc.message}"
        except HvdeckError as exc:
            how, message = "failed", f"The console failed: {exc.message}"
        except Exception as exc:
            log.exception("console %s", tab.key)
            how, message = "failed", f"The console failed: {describe(exc)}"
        finally:
            if not self.app.is_running:  # the app is going: its connections close under the console
                how = "hvdeck quit"
            session.how = session.how or how
            await self._finish(session)
        self._ended(session, message, actions, "warning" if how == "closed by the host" else "error")

    async def _finish(self, session: ConsoleSession) -> None:
        """Close the channel and the log, and write the detach line (once)."""
        channel, session.channel = session.channel, None
        if channel is None:
            return
        try:
            await channel.close()
        except Exception:
            log.debug("closing the console of %s", session.key, exc_info=True)
        self._stop_log(session)
        if session.ref is not None and session.attached_at is not None:
            seconds = time.monotonic() - session.attached_at
            try:
                await asyncio.to_thread(audit_detached, self.app.audit, session.domain, session.ref, seconds=seconds,
                                        how=session.how or "detached", via="console pane")
            except OSError as exc:
                self.app.notify(fmt.visible(f"{session.domain.name}: the console's end could not be written to the "
                                            f"audit log ({exc.strerror or exc})"), severity="error", markup=False)

    def _ended(self, session: ConsoleSession, message: str, actions: tuple[tuple[str, str, str], ...],
               severity: str) -> None:
        tab = session.tab
        if not tab.is_attached:
            return
        tab.state = "ended"
        had_focus = tab.terminal.has_focus or tab.notice.has_focus
        tab.show_notice(message, actions=actions, severity=severity, focus=had_focus)

    # -- while attached ---------------------------------------------------------------------------------------

    def write(self, key: str, data: bytes) -> None:
        """Bytes from a tab's terminal (keys, a paste, answers) for its console."""
        session = self.sessions.get(key)
        if session is None:
            return
        if session.channel is not None:
            session.channel.write(data)
        elif session.live and len(session.pending) + len(data) <= PENDING_INPUT:
            session.pending += data

    def resize(self, key: str, cols: int, rows: int) -> None:
        session = self.sessions.get(key)
        if session is not None and session.channel is not None:
            session.channel.resize(cols, rows)

    # -- ending ------------------------------------------------------------------------------------------------

    async def detach(self, key: str, how: str = "detached") -> None:
        """End a console session (the detach key; closing its tab) and write its detach line."""
        session = self.sessions.get(key)
        if session is None:
            return
        session.how = session.how or how
        task = session.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._finish(session)

    async def close(self, pane: ConsolePane, key: str, how: str = "detached") -> None:
        """End the session and remove its tab."""
        await self.detach(key, how)
        self.sessions.pop(key, None)
        await pane.close_tab(key)

    async def close_all(self, how: str = "hvdeck quit") -> None:
        await asyncio.gather(*(self.detach(key, how) for key in list(self.sessions)), return_exceptions=True)

    # -- logging -----------------------------------------------------------------------------------------------

    def _start_log(self, session: ConsoleSession) -> None:
        directory = self.app.settings.console.log_dir
        if directory is not None and session.log is None:
            self.start_log(session.key, log_path(directory, session.domain), raw=False)

    def start_log(self, key: str, path: Path, *, raw: bool) -> str | None:
        """Log the session of ``key`` to ``path`` (appending); None, or why it cannot."""
        session = self.sessions.get(key)
        if session is None:
            return "no console there"
        self._stop_log(session)
        try:
            path.expanduser().parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            session.log = SessionLog(path, raw=raw)
        except OSError as exc:
            message = f"cannot log to {path}: {exc.strerror or exc}"
            session.tab.show_notice(message, severity="error", hide_after=NOTICE_SECONDS * 2)
            return message
        session.tab.show_notice(f"Logging this console to {session.log.path} ({'raw' if raw else 'plain text'})",
                                hide_after=NOTICE_SECONDS)
        return None

    def stop_log(self, key: str) -> Path | None:
        """Stop logging ``key``'s session; the file it was written to, or None."""
        session = self.sessions.get(key)
        if session is None or session.log is None:
            return None
        path = session.log.path
        self._stop_log(session)
        if session.tab.state == "attached":
            session.tab.clear_notice()
        return path

    def logging(self, key: str) -> Path | None:
        session = self.sessions.get(key)
        return session.log.path if session is not None and session.log is not None else None

    def _log(self, session: ConsoleSession, data: bytes) -> None:
        assert session.log is not None
        try:
            session.log.write(data)
        except OSError as exc:
            self._stop_log(session)
            session.tab.show_notice(f"Logging stopped: {exc.strerror or exc}", severity="error",
                                    hide_after=NOTICE_SECONDS * 2)

    @staticmethod
    def _stop_log(session: ConsoleSession) -> None:
        if session.log is not None:
            try:
                session.log.close()
            except OSError:
                pass
            session.log = None


def _problem(exc: HvdeckError, domain: Domain) -> str:
    if isinstance(exc, HostUnreachable):
        return f"{domain.host} cannot be reached: {exc.message}"
    return exc.message


__all__ = ["ConsoleManager", "ConsoleSession", "audit_attached", "audit_detached", "log_path", "refusal"]
