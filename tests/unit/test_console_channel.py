"""`ConsoleChannel` (what every backend's console channel adds to the transport's), the generic
`PtyConsole` on a real pseudo-terminal, and the console helpers shared by the pane and `hvdeck console`
(audit lines, log file names, the read-only refusal)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.console import ConsoleChannel, command_console
from hvdeck.backends.errors import ConnectionLost
from hvdeck.backends.model import ConsoleRef, Domain, DomainState, HostSnapshot, HostStatus
from hvdeck.backends.transport.base import Channel
from hvdeck.backends.transport.local import LocalSession
from hvdeck.tui.console import audit_attached, audit_detached, log_path, refusal

REF = ConsoleRef(kind="vntsd", description="vntsd port 5000", can_force=True)


class Chunks(Channel):
    """The transport's side, replaying chunks as reads (the thing under test is the wrapper around it)."""

    argv = ("telnet", "localhost", "5000")

    def __init__(self, *chunks: bytes, status: int | None = 1) -> None:
        self.chunks = list(chunks)
        self.status = status
        self.written: list[bytes] = []
        self.sizes: list[tuple[int, int]] = []
        self.closed = 0

    async def read(self, size: int = 65536) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def write_eof(self) -> None:
        pass

    def resize(self, cols: int, rows: int) -> None:
        self.sizes.append((cols, rows))

    async def wait(self) -> int | None:
        return self.status

    async def close(self) -> None:
        self.closed += 1


async def drain(channel: ConsoleChannel) -> bytes:
    out = b""
    while data := await channel.read():
        out += data
    return out


async def test_a_watched_phrase_split_between_two_reads_is_found_once():
    inner = Chunks(b"ok\r\nWarning: Console connection forc", b"ed into read-only mode\r\nmore", b" output\r\n")
    channel = ConsoleChannel(inner, REF, watch={b"forced into read-only mode": "taken over"})
    assert await drain(channel) == b"ok\r\nWarning: Console connection forced into read-only mode\r\nmore output\r\n"
    assert channel.take_notices() == ["taken over"]
    assert channel.take_notices() == []


async def test_the_preamble_comes_first_and_is_watched_too():
    inner = Chunks(b"guest\r\n")
    channel = ConsoleChannel(inner, REF, watch={b"You do not have write access": "read only"},
                             preamble=b"Connected.\r\nYou do not have write access\r\n")
    assert await channel.read(10) == b"Connected."
    assert await drain(channel) == b"\r\nYou do not have write access\r\nguest\r\n"
    assert channel.take_notices() == ["read only"]


async def test_ended_names_the_program_and_its_last_line_with_escapes_and_controls_left_out():
    inner = Chunks(b"\x1b[1mConnection to localhost closed by foreign host.\x1b[0m\x07\r\n\r\n")
    channel = ConsoleChannel(inner, REF)
    await drain(channel)
    assert channel.ended(await channel.wait()) == (
        "The console closed (telnet exited with status 1): Connection to localhost closed by foreign host.")
    assert ConsoleChannel(Chunks(), REF).ended(None) == "The console closed (telnet ended)."


async def test_after_the_link_is_lost_reads_raise_connection_lost():
    session = LocalSession("dom0")
    inner = Chunks(b"a", b"")
    channel = ConsoleChannel(inner, REF, session=session)
    assert await channel.read() == b"a"
    session._link_lost()  # what a session does when its link drops
    assert channel.link_lost
    with pytest.raises(ConnectionLost, match="the link to the host was lost"):
        await channel.read()
    await channel.close()
    await channel.close()
    assert inner.closed == 1 and session._link_listeners == [], "closing unregisters, once"


async def test_writes_and_resizes_pass_through_until_closed():
    inner = Chunks()
    channel = ConsoleChannel(inner, REF)
    channel.write(b"ls\r")
    channel.resize(120, 40)
    await channel.close()
    channel.write(b"late")
    channel.resize(1, 1)
    assert inner.written == [b"ls\r"] and inner.sizes == [(120, 40)]


async def test_a_command_console_runs_on_a_real_pseudo_terminal_of_the_session():
    console = command_console("zlogin", ["sh", "-c", "stty size; read line; echo got:$line"],
                              description="zlogin -C web", detach_hint="~. (zlogin)")
    assert console.ref() == ConsoleRef(kind="zlogin", description="zlogin -C web", detach_hint="~. (zlogin)")
    session = LocalSession("zonehost")
    channel = await console.open(session, cols=101, rows=33)
    try:
        seen = b""
        while b"33 101" not in seen:
            seen += await channel.read()
        channel.write(b"hi\r")
        while b"got:hi" not in seen:
            seen += await channel.read()
        await drain(channel)
        assert "sh exited with status 0" in channel.ended(await channel.wait())
    finally:
        await channel.close()
        await session.close()


def test_command_console_refuses_a_shell_string():
    with pytest.raises(TypeError):
        command_console("xl", "xl console web01")  # type: ignore[arg-type]


def test_audit_lines_of_a_session(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.log")
    domain = Domain("t7-a", "ldg-web1", DomainState.RUNNING, "active")
    audit_attached(audit, domain, REF, force=True, via="console pane")
    audit_detached(audit, domain, REF, seconds=125.04, how="link lost", via="console pane")
    first, second = (json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines())
    assert (first["action"], first["host"], first["target"], first["result"], first["kind"], first["force"]) == (
        "console-attach", "t7-a", "ldg-web1", "attached", "vntsd", True)
    assert first["operation"] == "console vntsd: vntsd port 5000" and first["user"]
    assert (second["result"], second["seconds"], second["how"]) == ("detached after 2m05s: link lost", 125.0,
                                                                     "link lost")
    assert audit.verify() == []
    audit_attached(None, domain, REF, force=False, via="x")  # no audit log configured: nothing to write


def test_an_unwritable_audit_log_raises(tmp_path: Path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(OSError):
        audit_attached(AuditLog(tmp_path / "dir"), Domain("h", "d", DomainState.RUNNING, "running"), REF, force=False,
                       via="x")


def test_log_file_names_carry_no_path_or_hidden_file_tricks(tmp_path: Path):
    domain = Domain("kvm/a", "../../etc/passwd\x1b[31m", DomainState.RUNNING, "running")
    path = log_path(tmp_path, domain, when=0)
    assert path.parent == tmp_path and "/" not in path.name and not path.name.startswith(".")
    assert path.name.endswith(".log") and "\x1b" not in path.name
    assert log_path(Path("~/logs"), Domain("h", "d", DomainState.RUNNING, "r")).parent == Path(
        os.path.expanduser("~/logs"))


def test_a_read_only_host_refuses_consoles():
    snapshot = HostSnapshot("lab1", "libvirt", HostStatus.UP, 0.0, read_only=True)
    assert "lab1 is read-only in the inventory" in (refusal(snapshot) or "")
    assert refusal(HostSnapshot("lab1", "libvirt", HostStatus.UP, 0.0)) is None
    assert refusal(None) is None
