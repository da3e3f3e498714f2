"""The console pane in the real app, attached through real SSH to a simulated LDoms control domain
(vntsd behind ``telnet localhost PORT``): OpenBoot's ``ok`` prompt answering ``banner``, detach and attach
again, two tabs, app keys going to the guest, split and full screen, logging, the audit lines (and
refusing to attach when they cannot be written), and a clear message in the pane for every way a console
cannot be had or ends: not bound, in use (and the forced attach), closed by the host (and reconnecting),
the link lost, a read-only host, libvirt's test driver. A generic "command on a terminal" console (what
Xen's ``xl console`` and zones' ``zlogin -C`` use) runs a real shell on a pseudo-terminal, which shows
that the pane's size reaches the remote terminal."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
from textual.command import CommandPalette

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action, Backend
from hvdeck.backends.console import command_console
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.model import Bindings, ConsoleRef, Cpu, Domain, DomainState, HostInfo, Memory
from hvdeck.backends.plan import Plan
from hvdeck.backends.settings import ConsoleSettings, Settings
from hvdeck.backends.sim.ldoms import LdomsWorld, serve
from hvdeck.backends.transport.base import Channel
from hvdeck.tui.app import HvdeckApp
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.widgets.console_pane import ConsolePane, ConsoleTab
from hvdeck.widgets.terminal import Terminal

from .helpers import fleet_loaded, highlight, make_app, table, wait_for
from .terminal import screen_text

SIZE = (160, 48)


class Host:
    """A simulated control domain served over SSH in the test's own loop, and an inventory naming it."""

    def __init__(self, world: LdomsWorld, server, inventory: Inventory) -> None:
        self.world = world
        self.server = server
        self.inventory = inventory

    def run(self, line: str) -> str:
        reply = self.world.run_line(line)
        assert reply.exit_status == 0, f"{line}: {reply.stderr}"
        return reply.stdout


@pytest.fixture
async def t7(ssh_world) -> AsyncIterator[Host]:
    world = LdomsWorld.demo("t7-a", 3)
    server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    inventory = Inventory((ssh_world.spec(server, name="t7-a", kind="ldoms"),), ssh_world.options())
    yield Host(world, server, inventory)
    await server.close()


def pane(app: HvdeckApp) -> ConsolePane:
    return app.screen.query_one(ConsolePane)


def active(app: HvdeckApp) -> ConsoleTab:
    tab = pane(app).active_tab
    assert tab is not None
    return tab


async def shows(pilot, text: str, tab: ConsoleTab | None = None, timeout: float = 15.0) -> None:
    """Wait until the terminal of ``tab`` (the active one) shows ``text``."""
    def shown() -> bool:
        current = tab or pane(pilot.app).active_tab
        return current is not None and text in current.terminal.plain_text()

    shown.__doc__ = f"the console to show {text!r}"
    await wait_for(pilot, shown, timeout)


async def attach(pilot, name: str) -> ConsoleTab:
    """Highlight ``name`` in the table, press c, wait until its console is attached."""
    app = pilot.app
    await highlight(pilot, name)
    await pilot.press("c")

    def attached() -> bool:
        tab = pane(app).active_tab
        return tab is not None and tab.domain == name and tab.state == "attached"

    await wait_for(pilot, attached)
    return active(app)


async def notice(pilot, text: str, tab: ConsoleTab | None = None) -> str:
    def says() -> bool:
        current = tab or pane(pilot.app).active_tab
        return current is not None and text in current.notice_text

    says.__doc__ = f"the notice to say {text!r}"
    await wait_for(pilot, says)
    current = tab or active(pilot.app)
    return current.notice_text


def audit_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_openboot_answers_banner_then_detach_and_attach_again(tmp_path: Path, t7: Host):
    t7.run("ldm stop ldg-web1; ldm set-var auto-boot?=false ldg-web1; ldm start ldg-web1")  # at the ok prompt
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        tab = await attach(pilot, "ldg-web1")
        assert isinstance(app.focused, Terminal) and app.focused is tab.terminal
        await shows(pilot, 'Connecting to console "ldg-web1" in group "ldg-web1" ....')
        await shows(pilot, "You have write permission")
        await pilot.press("enter")
        await shows(pilot, "{0} ok")
        await pilot.press(*"banner", "enter")
        await shows(pilot, "SPARC T7-1, No Keyboard")
        screen = tab.terminal.plain_text()
        assert "{0} ok banner" in screen and "OpenBoot 4.43.4, 8.0000 GB memory available" in screen
        border = app.screen.query_one(ConsolePane)
        assert "t7-a / ldg-web1 · vntsd port 5000" in border.title_text
        assert border.keys_text.startswith("ctrl+] detach · f6 table")
        assert app.screen.has_class("-console") and table(app).display

        await pilot.press("ctrl+right_square_bracket")
        await wait_for(pilot, lambda: not pane(app).tabs and not app.screen.has_class("-console"))
        assert app.focused is table(app)
        assert t7.world.vntsd.clients.get("ldg-web1", []) == [], "the telnet session ended on the host"
        records = audit_lines(tmp_path / "audit.log")
        assert [(r["action"], r["host"], r["target"], r["kind"]) for r in records] == [
            ("console-attach", "t7-a", "ldg-web1", "vntsd"), ("console-detach", "t7-a", "ldg-web1", "vntsd")]
        assert records[0]["result"] == "attached" and records[0]["operation"] == "console vntsd: vntsd port 5000"
        assert records[1]["how"] == "detached" and records[1]["seconds"] >= 0 and records[1]["user"]

        await attach(pilot, "ldg-web1")
        await pilot.press("enter")
        await shows(pilot, "{0} ok")
        await pilot.press(*"printenv boot-device", "enter")
        await shows(pilot, "boot-device =")
    assert [r["action"] for r in audit_lines(tmp_path / "audit.log")][-2:] == ["console-attach", "console-detach"]
    assert audit_lines(tmp_path / "audit.log")[-1]["how"] == "hvdeck quit"


async def test_two_consoles_as_tabs_keep_their_output_and_mark_it_unread(tmp_path: Path, t7: Host):
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        web = await attach(pilot, "ldg-web1")
        await pilot.press("enter")
        await shows(pilot, "ldg-web1 console login:")
        await pilot.press("f6")
        assert app.focused is table(app)
        db = await attach(pilot, "ldg-db1")
        assert [t.domain for t in pane(app).tabs] == ["ldg-web1", "ldg-db1"] and db.terminal.has_focus
        await pilot.press("enter")
        await shows(pilot, "ldg-db1 console login:")
        # the hidden tab's guest shuts down: its output is parsed while hidden and the tab marked
        t7.run("ldm stop ldg-web1")
        await wait_for(pilot, lambda: web.unread)
        bar = pane(app).tab_bar.render().plain
        assert "1 t7-a/ldg-web1 ●" in bar and "2 t7-a/ldg-db1" in bar
        assert "syncing file systems... done" in web.terminal.plain_text()
        await pilot.press("ctrl+pageup")
        assert pane(app).active_tab is web and not web.unread and web.terminal.has_focus
        assert "svc.startd: The system is down." in web.terminal.plain_text()
        await pilot.press("ctrl+pagedown")
        assert pane(app).active_tab is db
        await pilot.press(*"root", "enter")
        await shows(pilot, "Password:")
        assert "root" not in web.terminal.plain_text().split("login:")[-1], "keys went to the active tab only"


async def test_the_focus_leaves_the_open_filter_prompt_for_the_console(tmp_path: Path, t7: Host):
    """With a console open and the filter's prompt open, F6, F11 or a click on the console move the focus
    there and put the prompt away; the footer, held under the prompt, follows the console's keys again
    (it was rebuilt outside its own context and stopped the app)."""
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        tab = await attach(pilot, "ldg-web1")
        bar = app.screen.query_one("#filter-bar")
        for key in ("f6", "f11", "click"):
            await pilot.press("f6")
            assert app.focused is table(app)
            await pilot.press("slash", *"web")
            assert bar.display
            if key == "click":
                await pilot.click(type(tab.terminal))
            else:
                await pilot.press(key)
            await pilot.pause()
            assert app.is_running and tab.terminal.has_focus and not bar.display, key
            footer_actions = {b.binding.action for b in app.active_bindings.values() if b.enabled}
            assert "filter" not in footer_actions
            if key == "f11":
                await pilot.press("f11")  # back to the split
        assert app.return_code is None


async def test_app_keys_go_to_the_guest_while_a_console_has_the_focus(tmp_path: Path, t7: Host):
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        tab = await attach(pilot, "ldg-web1")
        await pilot.press("enter")
        await shows(pilot, "console login:")
        theme = app.theme
        await pilot.press("q", "slash", "s", "question_mark", "ctrl+t", "ctrl+p", "ctrl+q", "a", "enter")
        await shows(pilot, "Password:")
        assert "login: q/s?a" in tab.terminal.plain_text()
        assert app.is_running and app.theme == theme and not isinstance(app.screen, CommandPalette)
        assert len(app.screen_stack) == 1 and not app.screen.query_one("#filter-bar").display
        footer_actions = {b.binding.action for b in app.active_bindings.values() if b.enabled}
        assert "quit" not in footer_actions and "filter" not in footer_actions
        await pilot.press("f6")  # on the table, they are hvdeck's again
        await pilot.press("slash")
        assert app.screen.query_one("#filter-bar").display


async def test_split_and_full_screen(tmp_path: Path, t7: Host):
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        tab = await attach(pilot, "ldg-web1")
        split = tab.terminal.size
        assert table(app).display and 10 < split.height < 24
        await pilot.press("f11")
        await pilot.pause()
        assert app.screen.has_class("-console-full") and not table(app).display
        full = tab.terminal.size
        assert full.height > split.height + 15 and tab.terminal.has_focus
        await pilot.press("f11")
        await pilot.pause()
        assert table(app).display and tab.terminal.size == split


async def test_a_domain_with_no_console_says_why_in_the_pane(tmp_path: Path, t7: Host):
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        await highlight(pilot, "ldg-build")
        await pilot.press("c")
        text = await notice(pilot, "ldg-build is inactive")
        assert "vntsd has a console for a domain only while it is bound" in text and "r reconnect" in text
        assert active(app).notice.has_focus
        await highlight(pilot, "primary")
        await pilot.press("f6", "c")
        await notice(pilot, "primary's console is not on vntsd (CONS UART)")
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(pane(app).tabs) == 1)
        assert not audit_lines(tmp_path / "audit.log"), "nothing attached, nothing audited"


async def test_console_in_use_offers_vntsds_force(tmp_path: Path, t7: Host):
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        domain = next(d for d in app.snapshots["t7-a"].domains if d.name == "ldg-web1")
        other = await app.fleet.open_console(domain)  # another session holds write access
        try:
            await highlight(pilot, "ldg-web1")
            await pilot.press("c")
            text = await notice(pilot, "Console in use")
            assert "vntsd does not say whose" in text and "f force" in text
            await pilot.press("f")
            await wait_for(pilot, lambda: active(app).state == "attached")
            seen = b""
            while b"forced into read-only mode" not in seen:
                seen += await other.read()
            await pilot.press("enter")
            await shows(pilot, "console login:")
        finally:
            await other.close()
    assert audit_lines(tmp_path / "audit.log")[0]["force"] is True


async def test_closed_by_the_host_then_reconnect(tmp_path: Path, t7: Host):
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        tab = await attach(pilot, "ldg-test")  # bound, not started: vntsd has its console
        t7.run("ldm unbind ldg-test")
        text = await notice(pilot, "The console closed")
        assert "Connection to localhost closed by foreign host." in text and "r reconnect" in text
        assert tab.state == "ended" and tab.notice.has_focus
        assert audit_lines(tmp_path / "audit.log")[-1]["how"] == "closed by the host"
        t7.run("ldm bind ldg-test")
        await pilot.press("r")
        await wait_for(pilot, lambda: tab.state == "attached")
        t7.run("ldm start ldg-test")
        await shows(pilot, "NOTICE: Entering OpenBoot.")


async def test_link_lost_says_so(tmp_path: Path, t7: Host):
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        await attach(pilot, "ldg-web1")
        t7.server.drop_connections()
        text = await notice(pilot, "The link to t7-a was lost")
        assert "r reconnect" in text
        assert audit_lines(tmp_path / "audit.log")[-1]["how"] == "link lost"


async def test_audit_log_that_cannot_be_written_means_no_console(tmp_path: Path, t7: Host):
    blocked = tmp_path / "audit-dir"
    blocked.mkdir()  # a directory where the log file should be: appending fails
    app = HvdeckApp(t7.inventory, audit=AuditLog(blocked))
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        await highlight(pilot, "ldg-web1")
        await pilot.press("c")
        text = await notice(pilot, "Not attached: the audit log cannot be written")
        assert "hvdeck attaches no console it cannot record" in text
        assert t7.world.vntsd.clients.get("ldg-web1", []) == [], "the channel was closed again"
        assert "login" not in active(app).terminal.plain_text()


async def test_read_only_host_refuses_a_console(tmp_path: Path, t7: Host):
    spec = dataclasses.replace(t7.inventory.hosts[0], read_only=True)
    app = make_app(tmp_path, Inventory((spec,), t7.inventory.ssh))
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        await highlight(pilot, "ldg-web1")
        await pilot.press("c")
        await notice(pilot, "t7-a is read-only in the inventory: hvdeck attaches no consoles there")
        assert t7.world.vntsd.clients.get("ldg-web1", []) == []


async def test_libvirt_test_driver_says_it_has_no_consoles(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 12)
        await highlight(pilot, "web01")
        await pilot.press("c")
        text = await notice(pilot, "runs libvirt's test driver")
        assert "it does not implement virDomainOpenConsole" in text
        await pilot.pause()
        # drawn over the terminal, not under it (the fleet screen's layers once hid it: a blank pane)
        assert "runs libvirt's test driver" in screen_text(app)


async def test_palette_and_domain_screen_attach(tmp_path: Path, t7: Host):
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        await highlight(pilot, "ldg-db1")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen))
        await pilot.press("c")
        await wait_for(pilot, lambda: not isinstance(app.screen, DomainScreen) and pane(app).active_tab is not None
                       and active(app).state == "attached")
        assert active(app).domain == "ldg-db1"
        await pilot.press("f6")
        await highlight(pilot, "ldg-web1")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"attach console ldg-web1")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(pane(app).tabs) == 2 and active(app).domain == "ldg-web1"
                       and active(app).state == "attached")


async def test_session_logs_plain_from_settings_and_raw_with_f2(tmp_path: Path, t7: Host):
    logs = tmp_path / "consoles"
    settings = Settings(console=ConsoleSettings(log_dir=str(logs)))
    t7.run("ldm stop ldg-web1; ldm set-var auto-boot?=false ldg-web1; ldm start ldg-web1")
    app = make_app(tmp_path, t7.inventory, settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await fleet_loaded(pilot, 6)
        await attach(pilot, "ldg-web1")
        await pilot.press("enter", *"banner", "enter")
        await shows(pilot, "SPARC T7-1")
        (plain,) = logs.iterdir()
        assert plain.name.startswith("t7-a-ldg-web1-") and plain.suffix == ".log"
        assert oct(plain.stat().st_mode & 0o777) == "0o600"
        assert "Logging this console to" in active(app).notice_text
        await pilot.press("f2")  # logging: F2 stops it
        await wait_for(pilot, lambda: app.consoles.logging(active(app).key) is None)
        raw = tmp_path / "raw.log"
        await pilot.press("f2")
        await wait_for(pilot, lambda: bool(app.screen.query("#console-log-path")))
        await pilot.pause(0.1)
        box = app.screen.query_one("#console-log-path")
        box.value = str(raw)
        await pilot.click("#console-log-raw")
        await pilot.click("#console-log-ok")
        await wait_for(pilot, lambda: raw.exists())
        await pilot.press(*"printenv auto-boot?", "enter")
        await shows(pilot, "auto-boot? =")
        await pilot.press("f2")  # stops the raw log
    text = plain.read_text()
    assert "{0} ok banner" in text and "SPARC T7-1, No Keyboard" in text and "\x1b" not in text and "\r" not in text
    assert b"auto-boot? =" in raw.read_bytes() and b"\r\n" in raw.read_bytes()


# -- the generic console: a command on a pseudo-terminal (what xl console and zlogin -C use) -----------------


class ShellHostBackend(Backend):
    """A host kind whose console is a program on the host's terminal, as Xen's and zones' backends are:
    here a real shell that prints its terminal's size after every line typed."""

    kind = "xen"
    ACTIONS = frozenset({Action.START})

    async def open(self) -> HostInfo:
        return HostInfo(kind=self.kind)

    async def poll(self) -> tuple[Domain, ...]:
        return (Domain(self.spec.name, "web01", DomainState.RUNNING, "r-----", id=3, console="pty"),)

    async def bindings(self, domain: Domain) -> Bindings:
        return Bindings(self.spec.name, domain.name, Cpu(1), Memory(None))

    def _plan_action(self, action: Action, domain: Domain) -> Plan:
        raise NotImplementedError

    def _console(self, domain: Domain):
        return command_console("xl", ["sh", "-c", "stty size; while read line; do echo got:$line; stty size; done"],
                               description=f"xl console {domain.name}", detach_hint="ctrl+] (xl)")

    def console(self, domain: Domain) -> ConsoleRef:
        return self._console(domain).ref()

    async def open_console(self, domain: Domain, *, cols: int = 80, rows: int = 24, force: bool = False) -> Channel:
        return await self._console(domain).open(self.session, cols=cols, rows=rows)


async def test_a_command_console_gets_the_panes_size_and_its_changes(tmp_path: Path):
    from hvdeck.backends.registry import make_session

    async def backend(spec: HostSpec, session) -> Backend:
        return ShellHostBackend(spec, session)

    inventory = Inventory((HostSpec(name="dom0", address="localhost", transport="local", kind="xen"),))
    fleet = Fleet(inventory, backend_factory=backend, session_factory=make_session)
    app = make_app(tmp_path, inventory, fleet=fleet)
    async with app.run_test(size=(120, 40)) as pilot:
        await fleet_loaded(pilot, 1)
        tab = await attach(pilot, "web01")
        size = tab.terminal.size
        await shows(pilot, f"{size.height} {size.width}")
        assert "xl console web01" in pane(app).title_text
        await pilot.resize_terminal(100, 50)
        await wait_for(pilot, lambda: tab.terminal.size != size)
        new = tab.terminal.size
        await pilot.press(*"hello", "enter")
        await shows(pilot, "got:hello")
        await shows(pilot, f"{new.height} {new.width}")
    assert [r["kind"] for r in audit_lines(tmp_path / "audit.log")] == ["xl", "xl"]
    assert os.environ.get("HOME")  # the isolated home of conftest: nothing of the user's was read


async def test_f6_from_a_full_screen_console_shows_the_table_and_a_console_keeps_the_cursor_in_view(
        tmp_path: Path, t7: Host):
    """F6 from a full-screen console goes back to the split (the table's keys acted on a hidden table),
    and a console opened under the table keeps the highlighted row in view at 80x24."""
    app = make_app(tmp_path, t7.inventory)
    async with app.run_test(size=(80, 24)) as pilot:
        await fleet_loaded(pilot, 6)
        t = table(app)
        await pilot.press(*["down"] * 5)
        tab = await attach(pilot, "ldg-web1")
        await pilot.pause()
        top = t.scroll_offset.y
        assert top <= t._cursor < top + t.scrollable_content_region.height - 1, "the highlight is on screen"
        await pilot.press("f11")
        assert app.screen.has_class("-console-full") and tab.terminal.has_focus
        await pilot.press("f6")
        assert not app.screen.has_class("-console-full") and app.focused is t and t.region.height > 0
