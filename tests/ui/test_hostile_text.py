"""Host text is never markup and never reaches the terminal as controls, on every screen.

Names, states, errors, notes and stderr come from hosts, so they are untrusted. Two sources drive the real
app: libvirt's test driver with domains named like markup or carrying C1 controls (libvirt refuses `/` in
names and XML cannot carry ESC), and snapshots carrying ESC sequences (OSC 52 sets the clipboard, OSC 0
the terminal title) injected through the same `FleetUpdated` message the pollers post. Each test checks
that the app does not crash, that the exact text (controls shown like `cat -v`) is on screen, that no
control but Textual's own colour and cursor sequences is in the frame written to the terminal, and that
clicking a title that carries a markup action runs nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.command import CommandList
from textual.pilot import Pilot
from textual.widgets import Button

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import ExtraAction, Param
from hvdeck.backends.errors import HostKeyChanged, HostKeyUnknown
from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.model import Domain, DomainState, HostInfo, HostSnapshot, HostStatus
from hvdeck.backends.plan import Executor, Operation, Plan, Step
from hvdeck.backends.transport.local import LocalSession
from hvdeck.tui.messages import FleetUpdated
from hvdeck.tui.screens.action_menu import ActionMenuScreen, ParamsScreen
from hvdeck.tui.screens.domain import DomainScreen
from hvdeck.tui.screens.fleet import FleetScreen
from hvdeck.tui.screens.host import HostScreen
from hvdeck.tui.screens.host_key import HostKeyScreen
from hvdeck.tui.screens.plan import PlanScreen
from hvdeck.widgets.bindings_view import BindingsView
from hvdeck.widgets.format import visible

from .helpers import make_app, plain, table, wait_for
from .terminal import controls_in, screen_text, terminal_output

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HOSTILE_XML = FIXTURES / "libvirt" / "hostile_names.xml"

OSC52 = "\x1b]52;c;ZWNobw==\x07"  # puts "echo" into the clipboard
TITLE = "\x1b]0;pwned\x07"  # sets the terminal's title
STDERR = "Failed to open [/dev/zvol/dsk/pool/vol]"
LONG = "y" * 300
#: names libvirt accepts (the fixture's), and names only a snapshot can carry
LIBVIRT_NAMES = ["[bold]x", "[@click=app.quit]x", "csi\x9b31mred", "rtl\u202eexe.txt", LONG, "a[red]z",
                 "tab\there", "x[\\]", "虚拟机-CentOS", "e\u0301cole", "🐧penguin"]
INJECTED_NAMES = ["x[/]", f"osc{OSC52}", f"{TITLE}title", "c1\x9b31m", "bidi\u202eevil", "[@click=app.quit]q",
                  "[bold]b[/bold]", LONG]


def test_the_frame_check_catches_controls():
    """The check the tests below rely on can fail: raw sequences and C1 controls are found, Textual's
    own colours and cursor moves are not."""
    assert controls_in(f"\x1b[1;1H\x1b[38;2;1;2;3mok\x1b[0m{OSC52}") == [repr("\x1b"), repr("\x07")]
    assert controls_in("x\x9by") == [repr("\x9b")]
    assert controls_in("\x1b[2;1H\x1b[1;4mHOST\x1b[0m\n") == []


def _hostile_inventory() -> Inventory:
    return Inventory((HostSpec(name="h", address="h", transport="local", kind="libvirt",
                               libvirt_uri=f"test://{HOSTILE_XML}"),))


def _assert_clean(app) -> str:
    """The frame written to the terminal holds no control from host text; returns the screen's text."""
    assert controls_in(terminal_output(app)) == []
    return screen_text(app)


def _flat(text: str) -> str:
    """Screen text with every line's edges trimmed and the lines joined: a wrapped text reads whole."""
    return "".join(line.strip() for line in text.splitlines())


def _on_screen(app, selector: str) -> str:
    """What the screen shows inside one widget, its lines joined (a wrapped text reads whole; every
    character in these tests before the widget's left edge is one cell wide)."""
    region = app.screen.query_one(selector).region
    lines = screen_text(app).splitlines()[region.y:region.bottom]
    return " ".join(line[region.x:region.right].strip() for line in lines).strip()


def _assert_not_quit(app) -> None:
    assert app.return_code is None and app.is_running, "a click on host text ran an app action"


async def _load(pilot: Pilot) -> None:
    app = pilot.app
    for host in app.host_names:
        await app.fleet.poll_host(host)
    await wait_for(pilot, lambda: table(app).total_count == sum(len(s.domains) for s in app.snapshots.values()) > 0)
    await pilot.pause()


async def test_libvirt_domains_named_like_markup_show_literally(tmp_path: Path):
    app = make_app(tmp_path, _hostile_inventory(), start_pollers=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await _load(pilot)
        t = table(app)
        assert sorted(t.domain(k).name for k in t.visible_keys()) == sorted(LIBVIRT_NAMES)
        text = _assert_clean(app)
        for key in t.visible_keys():
            # what the NAME column shows (the 300-character name is cut) is on screen as it is
            assert t.shown_text(key, "name").rstrip() in text
        for name in ["[bold]x", "[@click=app.quit]x", "csiM-^[31mred", "rtl<U+202E>exe.txt", "a[red]z",
                     "tab^Ihere", "x[\\]", "虚拟机-CentOS", "e\u0301cole", "🐧penguin"]:
            assert name in text
        # the highlighted row's full name is on screen: in the table, or in the status line if the
        # table cut it (the 300-character name, here)
        cut = []
        for key in t.visible_keys():
            assert t.move_to(key)
            await pilot.pause()
            status = app.screen.query_one("#fleet-status")
            name = visible(t.domain(key).name)
            lines = _assert_clean(app).splitlines()[status.region.y:status.region.bottom]
            if t.is_cut(key):
                cut.append(name)
                assert plain(status).endswith(f"h / {name}")
                assert name in _flat("\n".join(lines))
            else:
                assert t.shown_text(key, "name").rstrip() == name
                assert name not in plain(status)
        assert cut == [LONG]


async def test_domain_screen_title_and_bindings_are_text(tmp_path: Path):
    app = make_app(tmp_path, _hostile_inventory(), start_pollers=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _load(pilot)
        t = table(app)
        key = next(k for k in t.visible_keys() if t.domain(k).name == "[bold]x")
        t.move_to(key)
        await pilot.press("enter")
        view = app.screen.query_one(BindingsView)
        await wait_for(pilot, lambda: bool(view.query("#section-disk")))
        await pilot.pause()
        assert plain(app.screen.query_one("#domain-title")).startswith("h / [bold]x   running")
        disk = plain(view.query_one("#section-disk"))
        assert "/dev/zvol/dsk/[pool]/vol[/]" in disk and "/srv/虚拟机/盘.img" in disk
        # every row's last column (MODE) starts at the same terminal cell, CJK path or not
        lines = [line for line in disk.splitlines()[1:] if line.strip()]
        starts = {cell_len(line[:line.rindex("MODE" if i == 0 else "rw")]) for i, line in enumerate(lines)}
        assert len(lines) == 3 and len(starts) == 1, disk
        _assert_clean(app)

        await pilot.press("escape")
        key = next(k for k in t.visible_keys() if t.domain(k).name == "[@click=app.quit]x")
        t.move_to(key)
        await pilot.press("enter")
        assert isinstance(app.screen, DomainScreen)
        await pilot.pause()
        title = app.screen.query_one("#domain-title")
        assert plain(title).startswith("h / [@click=app.quit]x")
        assert "[@click=app.quit]x" in _assert_clean(app)
        for x in range(2, 24):  # anywhere on the name
            await pilot.click("#domain-title", offset=(x, 0))
        await pilot.pause()
        _assert_not_quit(app)
        assert isinstance(app.screen, DomainScreen)


def _injected(host: str = "evil[/]") -> list[FleetUpdated]:
    domains = tuple(
        Domain(host=host, name=name, state=DomainState.RUNNING, native_state=f"[/]running{OSC52}",
               id=i + 1, uuid=f"f0000000-0000-4000-8000-0000000000{i:02d}", vcpus=2, memory_bytes=2 << 30,
               cpu_percent=12.5, console="[bold]pty\x9b", flags="[/]-n-cv-", flags_meaning=f"[b]{TITLE}")
        for i, name in enumerate(INJECTED_NAMES))
    good = HostSnapshot(host=host, kind="libvirt", status=HostStatus.UP, taken_at=1000.0, domains=domains,
                        info=HostInfo(kind="libvirt", version="[/]9.0", hypervisor=f"QEMU{TITLE}",
                                      notes=(f"note {STDERR}",)), last_ok=1000.0)
    bad = HostSnapshot(host="bad", kind="ldoms", status=HostStatus.ERROR, taken_at=1000.0,
                       error=f"{STDERR}\n{OSC52}")
    return [FleetUpdated(good), FleetUpdated(bad)]


def _injected_app(tmp_path: Path):
    hosts = tuple(HostSpec(name=name, address="nowhere", transport="local", kind="libvirt",
                           libvirt_uri="test:///nonexistent/node.xml") for name in ("evil[/]", "bad"))
    return make_app(tmp_path, Inventory(hosts), start_pollers=False, clock=lambda: 1000.0)


async def _inject(pilot: Pilot) -> None:
    for message in _injected():
        pilot.app.post_message(message)
    await wait_for(pilot, lambda: table(pilot.app).total_count == len(INJECTED_NAMES) and "bad" in pilot.app.snapshots)
    await pilot.pause()


async def test_escape_sequences_in_snapshots_never_reach_the_terminal(tmp_path: Path):
    app = _injected_app(tmp_path)
    async with app.run_test(size=(160, 36), notifications=True) as pilot:
        await _inject(pilot)
        text = _assert_clean(app)
        for name in ["x[/]", "osc^[]52;c;ZWNobw==^G", "^[]0;pwned^Gtitle", "c1M-^[31m", "bidi<U+202E>evil",
                     "[@click=app.quit]q", "[bold]b[/bold]"]:
            assert name in text
        assert "running     [/]running^[]52;c…" in text  # NATIVE, cut to its column
        status = plain(app.screen.query_one("#fleet-status"))
        assert f"bad: {STDERR}^J^[]52;c;ZWNobw==^G" in status

        await pilot.press("g")  # the host lines carry the host's title: kind, version, notes
        text = _assert_clean(app)
        assert "▾ evil[/]  libvirt [/]9.0 · QEMU^[]0;pwned^G · up · 8 domains · note " + STDERR in text
        assert "▾ bad  ldoms · error · 0 domains · " + STDERR + "^J^[]52;c" in text
        await pilot.press("g")

        # an action the host cannot take says why, in a notification that is text too
        await pilot.press("home", "s")
        await wait_for(pilot, lambda: bool(app._notifications))
        await pilot.pause()
        message = "Cannot start ^[]0;pwned^Gtitle: evil[/] is not connected"
        assert [n.message for n in app._notifications] == [message]
        assert message in _flat(_assert_clean(app))


async def test_domain_host_and_menu_screens_show_injected_text(tmp_path: Path):
    app = _injected_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await _inject(pilot)
        t = table(app)
        for name, shown in [("x[/]", "x[/]"), (f"osc{OSC52}", "osc^[]52;c;ZWNobw==^G"),
                            ("[@click=app.quit]q", "[@click=app.quit]q"), ("c1\x9b31m", "c1M-^[31m")]:
            key = next(k for k in t.visible_keys() if t.domain(k).name == name)
            t.move_to(key)
            await pilot.press("enter")
            assert isinstance(app.screen, DomainScreen)
            view = app.screen.query_one(BindingsView)
            await wait_for(pilot, lambda view=view: "cannot read the bindings" in plain(view.children[0]))
            await pilot.pause()
            text = _assert_clean(app)
            assert f"evil[/] / {shown}   running ([/]running^[]52;c;ZWNobw==^G)" in text
            assert "console [bold]ptyM-^[ · uptime - · flags [/]-n-cv- ([b]^[]0;pwned^G)" in text
            assert "cannot read the bindings: evil[/] is not connected" in text
            await pilot.click("#domain-title", offset=(12, 0))
            await pilot.pause()
            _assert_not_quit(app)
            await pilot.press("a")  # the action menu's title names the domain
            assert isinstance(app.screen, ActionMenuScreen)
            await pilot.pause()
            assert f"{shown} on evil[/]" in _assert_clean(app)
            await pilot.click("#action-menu-title", offset=(3, 0))
            _assert_not_quit(app)
            await pilot.press("escape", "escape")
            assert isinstance(app.screen, FleetScreen)

        await pilot.press("H")  # the host screen: the host's version, hypervisor, note
        assert isinstance(app.screen, HostScreen)
        view = app.screen.query_one(BindingsView)
        await wait_for(pilot, lambda: "cannot read" in plain(view.children[0]))
        await pilot.pause()
        text = _assert_clean(app)
        assert "evil[/]   libvirt [/]9.0 · QEMU^[]0;pwned^G   up" in text
        assert f"note: note {STDERR}" in text
        assert "cannot read evil[/]: evil[/] is not connected" in text


async def test_palette_shows_names_as_text_and_never_runs_their_links(tmp_path: Path):
    app = _injected_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await _inject(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"click")

        def prompts() -> list[str]:
            if not app.screen.query(CommandList):
                return []
            commands = app.screen.query_one(CommandList)
            return [str(commands.get_option_at_index(i).prompt).split("\n")[0] for i in range(commands.option_count)]

        wanted = "Open evil[/]/[@click=app.quit]q"
        await wait_for(pilot, lambda: wanted in prompts())
        await pilot.pause()
        assert wanted in _assert_clean(app)
        commands = app.screen.query_one(CommandList)
        index = prompts().index(wanted)
        prompt = commands.get_option_at_index(index).prompt
        assert not any("@click" in str(span.style) for span in prompt.spans), "a name became a link"
        # choosing it opens that domain, and nothing else runs
        commands.highlighted = index
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainScreen))
        _assert_not_quit(app)
        assert app.screen.current_domain().name == "[@click=app.quit]q"
        await pilot.press("escape", "ctrl+p", *"osc")
        await wait_for(pilot, lambda: "Open evil[/]/osc^[]52;c;ZWNobw==^G" in prompts())
        await pilot.pause()
        assert "Open evil[/]/osc^[]52;c;ZWNobw==^G" in _assert_clean(app)


async def test_plan_screen_shows_titles_steps_and_stderr_as_text(tmp_path: Path):
    class ShellTarget:
        """A host that runs each step's argv on this machine (the plan screen is what is tested)."""

        read_only = False

        def __init__(self) -> None:
            self.session = LocalSession("local")

        async def execute(self, operation: Operation, *, input=None, timeout=None, on_output=None):
            return await self.session.run(operation.argv, check=False, input=input, timeout=timeout,
                                          on_output=on_output)

    name = f"[@click=app.quit]db{OSC52}"
    plan = Plan(title=f"Force off {name} on h[/]", host="h[/]", action="force-off", target=name,
                warning=f"[bold]pulls the plug[/] on {name}",
                steps=(Step(f"Stop {name} [/]", Operation.command("sh", "-c", f"printf '%s\\n' '{STDERR}' >&2; exit 1"),
                            undo=Operation.command("true", name)),))
    executor = Executor(lambda host: ShellTarget(), AuditLog(tmp_path / "audit.log"))
    app = _injected_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await _inject(pilot)
        app.push_screen(PlanScreen(plan, executor))
        await pilot.pause()
        shown = "[@click=app.quit]db^[]52;c;ZWNobw==^G"
        text = _assert_clean(app)
        assert f"Force off {shown} on h[/]" in text
        assert f"[bold]pulls the plug[/] on {shown}" in text
        assert f"Stop {shown} [/]" in text
        await pilot.click("#plan-title", offset=(12, 0))
        await pilot.click("#plan-warning", offset=(2, 0))
        _assert_not_quit(app)
        await pilot.click("#plan-run")
        await wait_for(pilot, lambda: app.screen.result is not None)
        await pilot.pause()
        text = _assert_clean(app)
        assert f"     {STDERR}" in text
        summary = f"Force off {shown} on h[/]: failed at “Stop {shown} [/]”: {STDERR}"
        assert plain(app.screen.query_one("#plan-result")) == summary
        assert _on_screen(app, "#plan-result") == summary
        assert not app.screen.query_one("#plan-cancel", Button).disabled


@pytest.mark.parametrize("changed", [False, True], ids=["unknown", "changed"])
async def test_host_key_dialog_shows_names_and_patterns_as_text(tmp_path: Path, changed: bool):
    kind = HostKeyChanged if changed else HostKeyUnknown
    problem = kind("key", host=f"[bold]lab{TITLE}", address="192.0.2.10", port=2222,
                   fingerprint="SHA256:[/]abc", key_line="ssh-ed25519 AAAA", known_hosts="/home/[red]ops/known_hosts",
                   pattern="[192.0.2.10]:2222")
    app = _injected_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await _inject(pilot)
        app.push_screen(HostKeyScreen(problem))
        await pilot.pause()
        text = _assert_clean(app)
        assert f"{problem.title}: [bold]lab^[]0;pwned^G (192.0.2.10, port 2222)" in text
        assert "SHA256:[/]abc" in text
        if changed:
            assert "ssh-keygen -R '[192.0.2.10]:2222' -f /home/[red]ops/known_hosts" in text
        else:
            assert "/home/[red]ops/known_hosts." in text


async def test_params_dialog_title_is_text(tmp_path: Path):
    action = ExtraAction("set-vcpu", "Set vCPUs", (Param("count", "vCPUs [1-64]", "e.g. 8"),))
    app = _injected_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await _inject(pilot)
        async def build(values):
            raise AssertionError("not reached: nothing is entered")

        app.push_screen(ParamsScreen(f"Set vCPUs: [@click=app.quit]q{OSC52} on evil[/]", action, build))
        await pilot.pause()
        text = _assert_clean(app)
        assert "Set vCPUs: [@click=app.quit]q^[]52;c;ZWNobw==^G on evil[/]" in text
        assert "vCPUs [1-64]" in text
        await pilot.click("#params-title", offset=(14, 0))
        _assert_not_quit(app)
