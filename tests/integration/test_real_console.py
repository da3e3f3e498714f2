"""Consoles of a REAL guest: the test bed's QEMU guest hvtest1 (busybox on ttyS0, prompt ``tinyguest# ``)
through a real OpenSSH sshd, libvirt's socket forwarded over the SSH connection, virDomainOpenConsole on a
libvirt stream. The console pane in the real app (Pilot) and the backend under it: busy and forced
attaches, and a shut-off guest. These run in CI (scripts/test.sh starts the bed) and never skip there.

The bed is shared: nothing here changes a guest's state. Another client may be attached to hvtest1's
console for a moment; `_attached` waits for it before forcing.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from hvdeck.backends import inventory as inv
from hvdeck.backends.console import ConsoleChannel
from hvdeck.backends.errors import ConsoleBusy, Unsupported
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.model import HostStatus
from hvdeck.widgets.console_pane import ConsolePane

from ..ui.helpers import highlight, make_app, table, wait_for
from .conftest import Testbed


async def _read_until(channel: ConsoleChannel, marker: bytes, timeout: float = 20.0) -> bytes:
    seen = b""
    async with asyncio.timeout(timeout):
        while marker not in seen:
            data = await channel.read()
            if not data:
                raise AssertionError(f"the console ended before {marker!r}: {seen!r}")
            seen += data
    return seen


async def _open(fleet: Fleet, domain, *, patience: float = 20.0) -> ConsoleChannel:
    """The guest's console; another client of the shared bed holding it is waited for, then forced."""
    loop = asyncio.get_running_loop()
    end = loop.time() + patience
    while True:
        try:
            channel = await fleet.open_console(domain)
        except ConsoleBusy:
            if loop.time() > end:
                channel = await fleet.open_console(domain, force=True)
            else:
                await asyncio.sleep(1.0)
                continue
        assert isinstance(channel, ConsoleChannel)
        return channel


async def test_the_pane_runs_a_command_on_the_real_guests_serial_console(testbed: Testbed, tmp_path: Path):
    inventory = inv.load(testbed.inventory(tmp_path / "hosts.yaml"))
    app = make_app(tmp_path, inventory)
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: any(table(app).domain(k).name == testbed.guest
                                          for k in table(app).visible_keys()), timeout=30)
        await highlight(pilot, testbed.guest)
        pane = app.screen.query_one(ConsolePane)
        loop = asyncio.get_running_loop()
        end = loop.time() + 20
        await pilot.press("c")
        while True:
            await wait_for(pilot, lambda: pane.active_tab is not None and pane.active_tab.state != "connecting",
                           timeout=30)
            tab = pane.active_tab
            if tab.state == "attached":
                break
            assert "Console in use" in tab.notice_text, tab.notice_text
            assert "Active console session exists" in tab.notice_text and "f force" in tab.notice_text
            await pilot.pause(1.0)
            await pilot.press("f" if loop.time() > end else "r")
        assert "bed / hvtest1 · serial console (pty)" in pane.title_text
        # output of a pty serial port is dropped while nobody is attached: Enter brings a prompt
        await pilot.press("enter")

        def prompt() -> bool:
            return "tinyguest#" in tab.terminal.plain_text()  # trailing blanks are not part of plain_text

        prompt.__doc__ = "the guest's prompt"
        try:
            await wait_for(pilot, prompt, timeout=20)
        except AssertionError:
            raise AssertionError(f"no prompt; focus {app.focused!r}, screen {app.screen!r}: "
                                 f"{tab.terminal.plain_text()!r} {tab.notice_text!r}") from None
        await pilot.press(*"echo @@'x'@@", "enter")

        def answered() -> bool:
            return any(line.strip() == "@@x@@" for line in tab.terminal.plain_text().splitlines())

        await wait_for(pilot, answered, timeout=20)
        await pilot.press("ctrl+right_square_bracket")
        await wait_for(pilot, lambda: not pane.tabs)
    records = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert [(r["action"], r["host"], r["target"], r["kind"]) for r in records] == [
        ("console-attach", "bed", testbed.guest, "libvirt"), ("console-detach", "bed", testbed.guest, "libvirt")]
    assert records[1]["how"] == "detached"


async def test_libvirt_refuses_a_second_session_unless_forced(testbed: Testbed, tmp_path: Path):
    fleet = Fleet(inv.load(testbed.inventory(tmp_path / "hosts.yaml", kind="libvirt")))
    try:
        snapshot = await fleet.poll_host("bed")
        assert snapshot.status is HostStatus.UP, snapshot.error
        guest = next(d for d in snapshot.domains if d.name == testbed.guest)
        off = next(d for d in snapshot.domains if d.name == testbed.guest_off)
        with pytest.raises(Unsupported, match="is shut off: libvirt has a console only while the domain runs"):
            fleet.console(off)
        first = await _open(fleet, guest)
        try:
            first.write(b"\r")
            await _read_until(first, b"tinyguest# ")
            with pytest.raises(ConsoleBusy, match="Active console session exists for this domain"):
                await fleet.open_console(guest)
            second = await fleet.open_console(guest, force=True)
            try:
                async with asyncio.timeout(20):
                    while await first.read():
                        pass
                assert "another client took the console over with force" in first.ended(await first.wait())
                second.write(b"echo @@'forced'@@\r")
                await _read_until(second, b"@@forced@@\r\n")
            finally:
                await second.close()
        finally:
            await first.close()
    finally:
        await fleet.close()


def test_hvdeck_console_on_the_real_guest_in_a_real_pty(testbed: Testbed, tmp_path: Path):
    import os
    import sys

    from .test_cli_console import ROOT, Pty

    inventory = testbed.inventory(tmp_path / "hosts.yaml")
    audit = tmp_path / "audit.log"
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    child = Pty(["sh", "-c", f"{sys.executable} -m hvdeck.tui.cli console --inventory {inventory} --audit-log {audit} "
                             f"bed {testbed.guest}; echo EXIT=$?"], env)
    try:
        child.expect(b"(serial console (pty)). Escape character is ctrl+].")
        child.type(b"\r")
        child.expect(b"tinyguest# ")
        child.type(b"echo @@'y'@@\r")
        child.expect(b"\r\n@@y@@\r\n")
        child.type(b"\x1d")
        child.expect(b"EXIT=")
    finally:
        status = child.close()
    text = child.seen.decode("utf-8", "replace")
    assert status == 0 and "EXIT=0" in text and f"Detached ({testbed.guest} on bed" in text
    assert [json.loads(line)["action"] for line in audit.read_text().splitlines()] == ["console-attach",
                                                                                      "console-detach"]
