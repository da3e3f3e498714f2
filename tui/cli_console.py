"""`hvdeck console HOST DOMAIN`: this terminal attached to a domain's console, like ``virsh console``.

Through the same fleet and backends as the console pane (vntsd through telnet on the control domain's
terminal, virDomainOpenConsole on a libvirt stream...), with the same detach key (the settings'
``console.detach_key``, Ctrl-] by default), the same read-only refusal and the same audit lines (attached;
detached, how and after how long), fail closed: when the audit log cannot be written, nothing is attached.

The terminal is put in raw mode once the console is attached and restored on every way out: the detach
key, the console closing, the link lost, SIGTERM or SIGHUP, an error. Window-size changes (SIGWINCH) are
passed on to the remote terminal. The guest's bytes go to this terminal unfiltered, as with virsh console
or telnet: a guest can set the title, move the cursor or use any escape sequence the terminal knows. The
console pane inside hvdeck shows them through its own emulator instead.

Exit statuses: 0 detached (or the console closed), 1 not attached (in use, refused, no console) or the
link lost, 2 bad usage, 3 the host could not be reached or has no such domain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import termios
import textwrap
import time
import tty
from collections.abc import Iterator
from typing import Any, TextIO

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.errors import ConnectionLost, ConsoleBusy, HvdeckError
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.transport.base import Channel
from hvdeck.widgets import format as fmt
from hvdeck.widgets.terminal_keys import key_bytes, key_label, normalize_key

from . import verbs

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
VIA = "hvdeck console"

HELP = "attach this terminal to a domain's console (like virsh console)"
DESCRIPTION = (
    "Attach the terminal hvdeck runs in to DOMAIN's console on HOST, through the same connection and backends "
    "as the console pane: vntsd (telnet localhost PORT) on LDoms control domains, virDomainOpenConsole on "
    "libvirt hosts. The detach key (settings: console.detach_key; Ctrl-] by default) ends it. Attaching and "
    "detaching are written to the audit log; if it cannot be written, nothing is attached.")
EPILOG = (
    "The guest's output reaches this terminal unfiltered, exactly as with virsh console or telnet: escape\n"
    "sequences from the guest act on your terminal (title, colours, cursor, modes). Inside hvdeck's console\n"
    "pane (key c) the same console is shown through hvdeck's own terminal emulator instead.")


def add_parser(sub: Any, common: argparse.ArgumentParser, audit_opt: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("console", parents=[common, audit_opt], help=HELP,
                            description=textwrap.fill(DESCRIPTION, 100),
                            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host", metavar="HOST")
    parser.add_argument("domain", metavar="DOMAIN")
    parser.add_argument("--force", action="store_true",
                        help="take the console over from another session where the hypervisor can (libvirt's "
                             "force; vntsd's ~w, which leaves the other session read-only)")
    parser.add_argument("--demo", action="store_true", help="a console of the built-in demo fleet (t7-a, t7-b)")


class _Refused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def run(args: argparse.Namespace, inventory: Inventory, audit: AuditLog, detach_key: str, *,
        stdin: TextIO | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Attach, pass bytes until the console ends, say how it ended; the exit status."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    detach = key_bytes(normalize_key(detach_key), None)
    if not detach:
        print(f"hvdeck: the detach key {detach_key} is not a key a terminal sends as bytes; choose another "
              "console.detach_key in the settings", file=stderr)
        return EXIT_USAGE
    if not stdin.isatty():
        print("hvdeck: console needs a terminal (stdin is not one)", file=stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(_attach(args, inventory, audit, detach, key_label(normalize_key(detach_key)),
                                   stdin.fileno(), stdout, stderr))
    except verbs.VerbError as exc:
        print(f"hvdeck: {fmt.visible(str(exc))}", file=stderr)
        return exc.status
    except _Refused as exc:
        print(f"hvdeck: {fmt.visible(str(exc), newlines=True)}", file=stderr)
        return exc.status


async def _attach(args: argparse.Namespace, inventory: Inventory, audit: AuditLog, detach: bytes, detach_label: str,
                  fd: int, out: TextIO, err: TextIO) -> int:
    # the console pane's audit and refusal rules (imported here: that module brings Textual, which `hvdeck
    # ls` and the other verbs that build this parser never need)
    from .console import audit_attached, audit_detached, refusal

    async with verbs.connected(inventory, args.host) as (fleet, snapshot):
        domain = verbs.find_domain(snapshot, args.domain)
        reason = refusal(snapshot)
        if reason is not None:
            raise _Refused(reason, EXIT_FAILED)
        try:
            ref = fleet.console(domain)
            cols, rows = _size(fd)
            channel = await fleet.open_console(domain, cols=cols, rows=rows, force=args.force)
        except ConsoleBusy as exc:
            hint = " (--force takes it over)" if not args.force else ""
            raise _Refused(f"{exc.message}{hint}", EXIT_FAILED) from None
        except HvdeckError as exc:
            raise _Refused(exc.message, EXIT_FAILED) from None
        try:
            await asyncio.to_thread(audit_attached, audit, domain, ref, force=args.force, via=VIA)
        except OSError as exc:
            await channel.close()
            raise _Refused(f"not attached: the audit log {audit.path} cannot be written ({exc.strerror or exc})",
                           EXIT_FAILED) from None
        err.write(fmt.visible(f"Connected to {domain.name} on {domain.host} ({ref.description}).") +
                  f" Escape character is {detach_label}.\n")
        err.flush()
        started = time.monotonic()
        how, message, status = "detached", "", EXIT_OK
        try:
            with _raw(fd):
                how, message = await _pump(channel, fd, out, detach)
        finally:
            await channel.close()
            seconds = time.monotonic() - started
            try:
                await asyncio.to_thread(audit_detached, audit, domain, ref, seconds=seconds, how=how, via=VIA)
            except OSError as exc:
                err.write(f"hvdeck: the end of the session could not be written to the audit log: "
                          f"{exc.strerror or exc}\n")
        if how in ("link lost", "failed"):
            status = EXIT_FAILED
        err.write("\n" + fmt.visible(f"{message or 'Disconnected'} ({domain.name} on {domain.host}, after "
                                     f"{fmt.age(seconds)})", newlines=True) + "\n")
        return status


def _size(fd: int) -> tuple[int, int]:
    """The terminal's columns and rows (80x24 when it does not say)."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return 80, 24
    return size.columns or 80, size.lines or 24


@contextlib.contextmanager
def _raw(fd: int) -> Iterator[None]:
    """The terminal in raw mode (every key as a byte, no echo, no signals from keys); restored on exit."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def _pump(channel: Channel, fd: int, out: TextIO, detach: bytes) -> tuple[str, str]:
    """Keys to the console, its bytes to this terminal, until one side ends: (how, message)."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[tuple[str, str]] = loop.create_future()

    def end(how: str, message: str = "") -> None:
        if not ended.done():
            ended.set_result((how, message))

    def keys() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            end("detached", "This terminal closed")
            return
        cut = data.find(detach)
        if cut >= 0:
            if cut:
                channel.write(data[:cut])
            end("detached", "Detached")
            return
        channel.write(data)

    def resized() -> None:
        channel.resize(*_size(fd))

    output = out.buffer if hasattr(out, "buffer") else None

    async def guest() -> None:
        try:
            while data := await channel.read():
                if output is not None:
                    output.write(data)
                    output.flush()
                else:
                    out.write(data.decode("utf-8", "replace"))
                    out.flush()
        except ConnectionLost as exc:
            end("link lost", f"The link to the host was lost: {exc.message}")
            return
        except HvdeckError as exc:
            end("failed", f"The console failed: {exc.message}")
            return
        status = await channel.wait()
        ended_text = getattr(channel, "ended", None)
        end("closed by the host", ended_text(status) if callable(ended_text) else "The console closed")

    loop.add_reader(fd, keys)
    handled = []
    for signum, handler in ((signal.SIGWINCH, resized), (signal.SIGTERM, lambda: end("terminated", "Terminated")),
                            (signal.SIGHUP, lambda: end("terminated", "Hung up"))):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, handler)
            handled.append(signum)
    reader = asyncio.ensure_future(guest())
    try:
        return await ended
    finally:
        loop.remove_reader(fd)
        for signum in handled:
            loop.remove_signal_handler(signum)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
