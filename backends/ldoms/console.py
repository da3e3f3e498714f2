"""A guest's console on an LDoms control domain: vntsd, reached with ``telnet localhost PORT`` on a
pseudo-terminal of the host's SSH connection (ldm.md §9: the port is the domain's CONS column, vntsd
listens on localhost only, and the guest's console group exists while the domain is bound).

What hvdeck reads of telnet and vntsd (wording from vntsd's source, illumos ``usr/src/cmd/vntsd``
``console.c``, ``cmd.c``, ``read.c``, and from Solaris telnet):

* ``Press ~? for control options ..``: the last line of vntsd's connect message; the console is attached.
* telnet ending first (``Unable to connect to remote host: Connection refused``): nothing listens on that
  port (the domain was unbound since the last poll).
* The first client of a console writes, later ones only read, and vntsd names nobody. Right after the
  connect message (vntsd takes ``~`` as a command at the start of the input or after a CR), hvdeck sends
  vntsd's own ``~w``: the writer is told ``You have write permission``; a reader is warned that "another
  user currently has write permission" and asked ``Would you like to continue?``. hvdeck answers ``n`` and
  raises `ConsoleBusy` — or, when the user asked to force, ``y``: vntsd makes this session the writer and
  tells the other one ``Warning: Console connection forced into read-only mode``.
* That warning, printed to this session later, means another session forced it: a notice for the pane.

The bytes of this exchange stay in the output (the user sees vntsd's own words), and the guest receives
nothing of it.
"""

from __future__ import annotations

import asyncio

from ..console import ConsoleChannel, PtyConsole
from ..errors import ConsoleBusy, Unsupported
from ..model import Domain
from ..transport.base import Channel, Session

CONNECTED = b"Press ~? for control options .."
WRITER = b"You have write permission"
ASK = b"Would you like to continue?"
FORCED_READ_ONLY = b"Warning: Console connection forced into read-only mode"
NO_WRITE_ACCESS = b"You do not have write access"
#: seconds to wait for vntsd's connect message, then for its answer to ``~w``
CONNECT_TIMEOUT = 20.0
ANSWER_TIMEOUT = 5.0
#: output read while waiting for those, at most (a guest printing a flood is not waited for)
HANDSHAKE_LIMIT = 64 * 1024
#: vntsd's states in which a guest has a console group: bound, and everything after it
_CONSOLE_STATES = {"active", "bound", "suspended", "suspending"}

WATCH = (
    (FORCED_READ_ONLY, "Another session took write access to this console with vntsd's ~w: this one can only "
                       "read now. Reconnect with force to take it back."),
    (NO_WRITE_ACCESS, "vntsd did not pass your keys on: another session has write access to this console."),
)


def port_of(domain: Domain) -> int | None:
    """The domain's vntsd port (its CONS column), or None (the control domain's UART or SP)."""
    text = (domain.console or "").strip()
    if not text.isdigit():
        return None
    port = int(text)
    return port if 0 < port < 65536 else None


def vntsd_console(domain: Domain) -> PtyConsole:
    """The domain's console as a `PtyConsole`; raises `Unsupported` with the reason it has none now."""
    port = port_of(domain)
    if domain.native_state.lower() not in _CONSOLE_STATES:
        raise Unsupported(f"{domain.name} is {domain.native_state}: vntsd has a console for a domain only while "
                          "it is bound (bind or start it first)")
    if port is None:
        where = domain.console or "none"
        raise Unsupported(f"{domain.name}'s console is not on vntsd (CONS {where}): hvdeck reaches guest consoles "
                          "through vntsd; the control domain's own console is on the service processor")
    return PtyConsole(kind="vntsd", argv=("telnet", "localhost", str(port)), description=f"vntsd port {port}",
                      detach_hint="~. (vntsd)", can_force=True, watch=WATCH)


async def open_vntsd(session: Session, domain: Domain, *, cols: int, rows: int, force: bool) -> ConsoleChannel:
    """Attach to ``domain``'s console (see the module docstring). Raises `Unsupported` (no console now),
    `ConsoleBusy` (another session writes and ``force`` is False) and the transport's errors."""
    console = vntsd_console(domain)
    inner = await session.open_pty(list(console.argv), cols=cols, rows=rows)
    try:
        seen, found = await _until(inner, b"", (CONNECTED,), CONNECT_TIMEOUT)
        if found is None:
            status = await _ended(inner)
            raise Unsupported(f"{domain.name}: nothing answers on vntsd port {console.argv[2]}"
                              + (f" (telnet exited with status {status})" if status is not None else "")
                              + (f": {_last_line(seen)}" if _last_line(seen) else "")
                              + "; is the domain still bound?")
        inner.write(b"~w")
        seen, found = await _until(inner, seen, (WRITER, ASK), ANSWER_TIMEOUT)
        if found == ASK:
            if not force:
                inner.write(b"n")
                raise ConsoleBusy(f"{domain.name}: another session has write access to this console; vntsd "
                                  "does not say whose. Forcing takes it over with vntsd's ~w: the other session "
                                  "can then only read.")
            inner.write(b"y")
    except BaseException:
        await inner.close()
        raise
    return ConsoleChannel(inner, console.ref(), session=session, watch=dict(console.watch), preamble=seen)


async def _until(channel: Channel, seen: bytes, phrases: tuple[bytes, ...],
                 timeout: float) -> tuple[bytes, bytes | None]:
    """Read until one of ``phrases`` appears after what was ``seen`` (the phrase found), the channel ends
    (None), the timeout passes or `HANDSHAKE_LIMIT` bytes came (None, the channel still open)."""
    start = len(seen)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(seen) < HANDSHAKE_LIMIT:
        for phrase in phrases:
            if seen.find(phrase, max(0, start - len(phrase))) >= 0:
                return seen, phrase
        left = deadline - loop.time()
        if left <= 0:
            return seen, None
        try:
            data = await asyncio.wait_for(channel.read(), left)
        except TimeoutError:
            return seen, None
        if not data:
            return seen, None
        seen += data
    return seen, None


async def _ended(channel: Channel) -> int | None:
    try:
        return await asyncio.wait_for(channel.wait(), 5)
    except TimeoutError:
        return None


def _last_line(seen: bytes) -> str:
    lines = [line.strip() for line in seen.decode("utf-8", "replace").replace("\r", "\n").split("\n")]
    return next((line for line in reversed(lines) if line), "")[:200]
