"""`hvdeck console HOST DOMAIN` in a real pseudo-terminal: attach to a simulated LDoms guest (the demo's,
through real SSH and vntsd), log in, run a command, detach with Ctrl-], and the terminal is as it was
before (``stty -g`` before and after); window-size changes reach the remote terminal (a real shell on a
pseudo-terminal reports its size); a terminal that is not one, and a console in use, are refused."""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import tty
from pathlib import Path

from hvdeck.backends.transport.local import LocalSession
from hvdeck.tui import cli_console

ROOT = Path(__file__).resolve().parents[2]


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Pty:
    """A child process on a real pseudo-terminal: read what it prints, type to it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.chdir(ROOT)
            os.execvpe(argv[0], argv, env)
        _set_size(self.fd, 100, 30)
        self.seen = b""

    def expect(self, marker: bytes, timeout: float = 30.0) -> bytes:
        end = time.monotonic() + timeout
        while marker not in self.seen:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {marker!r} within {timeout}s; got {self.seen[-2000:]!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"the program ended before {marker!r}; got {self.seen[-2000:]!r}")
                self.seen += data
        return self.seen

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def close(self) -> int:
        try:
            _pid, status = os.waitpid(self.pid, 0)
        finally:
            os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_console_attaches_types_detaches_and_leaves_the_terminal_sane(tmp_path: Path):
    audit = tmp_path / "audit.log"
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    script = (f"stty -g; echo BEFORE-DONE; {sys.executable} -m hvdeck.tui.cli console --demo --audit-log {audit} "
              "t7-a ldg-web1; echo EXIT=$?; stty -g; echo AFTER-DONE")
    child = Pty(["sh", "-c", script], env)
    try:
        child.expect(b"BEFORE-DONE")
        child.expect(b"Escape character is ctrl+].")
        child.expect(b"You have write permission")
        child.type(b"\r")
        child.expect(b"ldg-web1 console login: ")
        child.type(b"root\r")
        child.expect(b"Password: ")
        child.type(b"secret\r")
        child.expect(b"root@ldg-web1:~# ")
        child.type(b"uname -a\r")
        child.expect(b"SunOS ldg-web1 5.11 11.4.0.15.0 sun4v sparc sun4v\r\n")
        child.type(b"\x1d")  # Ctrl-]
        child.expect(b"AFTER-DONE")
    finally:
        status = child.close()
    assert status == 0
    text = child.seen.decode("utf-8", "replace")
    before = text.split("BEFORE-DONE")[0].strip().splitlines()[-1].strip()
    after = text.split("EXIT=")[1].splitlines()[1].strip()
    assert "EXIT=0" in text and "Detached (ldg-web1 on t7-a, after" in text
    assert before == after, "the terminal's modes are restored"
    assert "secret" not in text, "the password was not echoed (the guest does not echo it; nor did the terminal)"
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(r["action"], r["target"], r["via"]) for r in records] == [
        ("console-attach", "ldg-web1", "hvdeck console"), ("console-detach", "ldg-web1", "hvdeck console")]
    assert records[1]["how"] == "detached"


def test_console_refuses_without_a_terminal(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", "console", "--demo", "t7-a", "ldg-web1"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and "console needs a terminal" in done.stderr


def test_a_console_with_no_vntsd_group_is_refused_and_the_terminal_untouched(tmp_path: Path):
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    child = Pty(["sh", "-c", f"{sys.executable} -m hvdeck.tui.cli console --demo --audit-log {tmp_path / 'a.log'} "
                             "t7-a ldg-build; echo EXIT=$?"], env)
    try:
        child.expect(b"EXIT=")
    finally:
        child.close()
    text = child.seen.decode()
    assert "ldg-build is inactive: vntsd has a console for a domain only while it is bound" in text
    assert "EXIT=1" in text and not (tmp_path / "a.log").exists()


async def test_window_size_changes_reach_the_remote_terminal():
    """SIGWINCH: the new size of hvdeck's terminal goes to the console's pseudo-terminal."""
    master, slave = pty.openpty()
    tty.setraw(slave)  # as `hvdeck console` puts its terminal
    _set_size(slave, 90, 20)
    session = LocalSession("local")
    channel = await session.open_pty(["sh", "-c", "stty size; read x; stty size; read y"], cols=90, rows=20)
    out = io.TextIOWrapper(io.BytesIO(), write_through=True)
    pump = asyncio.ensure_future(cli_console._pump(channel, slave, out, b"\x1d"))
    try:
        async def shows(text: bytes) -> None:
            async with asyncio.timeout(10):
                while text not in out.buffer.getvalue():
                    await asyncio.sleep(0.02)

        await shows(b"20 90")
        _set_size(slave, 132, 43)
        os.kill(os.getpid(), signal.SIGWINCH)
        await asyncio.sleep(0.2)
        os.write(master, b"\r")
        await shows(b"43 132")
        os.write(master, b"\x1d")
        assert await asyncio.wait_for(pump, 10) == ("detached", "Detached")
    finally:
        pump.cancel()
        await channel.close()
        await session.close()
        os.close(master)
        os.close(slave)
