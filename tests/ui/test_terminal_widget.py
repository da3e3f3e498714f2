"""The `Terminal` widget in a running app (Pilot): keys and pastes to bytes, answers, detach, resize,
scrollback, the bell and focus, what is drawn, and SVG snapshots of a coloured full-screen program."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rich.color import Color
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Input

from hvdeck.widgets import terminal as terminal_module
from hvdeck.widgets.terminal import Terminal

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "terminal"


def recording(name: str, until_keys: str | None = None) -> bytes:
    """A recorded stream, up to the moment the step with ``until_keys`` was typed."""
    data = (FIXTURES / f"{name}.bin").read_bytes()
    if until_keys is None:
        return data
    steps = json.loads((FIXTURES / f"{name}.json").read_text())["steps"]
    return data[:next(s["offset"] for s in steps if s["keys"] == until_keys)]


class TermApp(App):
    """A terminal under the same kind of app bindings as hvdeck's (``q``, ``ctrl+t``), and an input to move
    the focus to."""

    BINDINGS = [Binding("q", "app_key('q')"), Binding("ctrl+t", "app_key('ctrl+t')")]
    CSS = "Input { dock: bottom; }"

    def __init__(self, *, with_input: bool = False, **terminal: object) -> None:
        super().__init__()
        self.terminal_options = terminal
        self.with_input = with_input
        self.outputs: list[bytes] = []
        self.resized: list[tuple[int, int]] = []
        self.detached = 0
        self.bells = 0
        self.app_keys: list[str] = []

    def compose(self) -> ComposeResult:
        yield Terminal(id="console", **self.terminal_options)  # type: ignore[arg-type]
        if self.with_input:
            yield Input(id="other")

    def on_mount(self) -> None:
        self.query_one(Terminal).focus()

    def action_app_key(self, key: str) -> None:
        self.app_keys.append(key)

    @on(Terminal.Output, "#console")
    def output(self, event: Terminal.Output) -> None:
        self.outputs.append(event.data)

    @on(Terminal.Resized)
    def resize(self, event: Terminal.Resized) -> None:
        self.resized.append((event.columns, event.rows))

    @on(Terminal.Detach)
    def detach(self, event: Terminal.Detach) -> None:
        self.detached += 1

    @on(Terminal.Bell)
    def bell(self, event: Terminal.Bell) -> None:
        self.bells += 1


async def fed(pilot: Pilot, data: bytes) -> Terminal:
    term = pilot.app.query_one(Terminal)
    term.feed(data)
    await term.drain()
    await pilot.pause()
    return term


def row_text(term: Terminal, y: int) -> str:
    return "".join(segment.text for segment in term.render_line(y))


# --- keys ------------------------------------------------------------------------------------------------

#: (key, character) as Textual 8.2.8 reported them for keys typed in tmux (tmux send-keys), and the bytes
#: an xterm sends for each
TYPED = [
    (("a", "a"), b"a"), (("A", "A"), b"A"), (("é", "é"), "é".encode()), (("space", " "), b" "),
    (("ctrl+c", "\x03"), b"\x03"), (("ctrl+@", "\x00"), b"\x00"), (("ctrl+backslash", "\x1c"), b"\x1c"),
    (("up", None), b"\x1b[A"), (("ctrl+left", None), b"\x1b[1;5D"), (("home", None), b"\x1b[H"),
    (("f1", None), b"\x1bOP"), (("f5", None), b"\x1b[15~"), (("f12", None), b"\x1b[24~"),
    (("shift+f5", None), b"\x1b[15;2~"), (("insert", None), b"\x1b[2~"), (("delete", None), b"\x1b[3~"),
    (("pageup", None), b"\x1b[5~"), (("pagedown", None), b"\x1b[6~"),
    (("alt+x", "x"), b"\x1bx"), (("alt+shift+x", "X"), b"\x1bX"),
    (("enter", "\r"), b"\r"), (("tab", "\t"), b"\t"), (("shift+tab", None), b"\x1b[Z"),
    (("escape", "\x1b"), b"\x1b"), (("backspace", "\x7f"), b"\x7f"), (("backspace", "\x08"), b"\x08"),
    (("q", "q"), b"q"), (("ctrl+t", "\x14"), b"\x14"),
]


async def test_keys_become_the_bytes_an_xterm_sends() -> None:
    """Keys reach the app the way the terminal driver delivers them (posted to the app, which checks its
    priority bindings and forwards the rest to the focused widget)."""
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        for (key, character), _ in TYPED:
            app.post_message(events.Key(key, character))
        await pilot.pause()
        assert app.outputs == [sent for _, sent in TYPED]
        assert app.app_keys == []          # q and ctrl+t went to the guest, not to the app's bindings
        assert app.detached == 0


async def test_keys_pressed_through_pilot() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l", "s", "ctrl+c", "up", "f5", "alt+x", "q", "enter")
        await pilot.pause()
        assert app.outputs == [b"l", b"s", b"\x03", b"\x1b[A", b"\x1b[15~", b"\x1bx", b"q", b"\r"]
        assert app.app_keys == []


class PaletteToGuest(TermApp):
    """What the module docstring tells an app to do so that its priority bindings (Textual's ctrl+p
    palette, ctrl+q quit) reach the guest while a terminal has focus."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("command_palette", "quit") and isinstance(self.focused, Terminal):
            return False
        return True


async def test_priority_bindings_go_to_the_guest_when_the_app_lets_them() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.post_message(events.Key("ctrl+p", "\x10"))
        await pilot.pause()
        assert app.outputs == []            # Textual's palette took it: a priority binding runs first
    app = PaletteToGuest()
    async with app.run_test(size=(80, 24)) as pilot:
        app.post_message(events.Key("ctrl+p", "\x10"))
        app.post_message(events.Key("ctrl+q", "\x11"))
        await pilot.pause()
        assert app.outputs == [b"\x10", b"\x11"]
        assert app.is_running


async def test_application_cursor_keys_follow_the_guest() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await fed(pilot, b"\x1b[?1h")
        await pilot.press("up", "left", "ctrl+up")
        await fed(pilot, b"\x1b[?1l")
        await pilot.press("up")
        await pilot.pause()
        assert app.outputs == [b"\x1bOA", b"\x1bOD", b"\x1b[1;5A", b"\x1b[A"]


async def test_detach_key_posts_detach_and_sends_nothing() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("x", "ctrl+right_square_bracket")
        await pilot.pause()
        assert app.detached == 1
        assert app.outputs == [b"x"]


@pytest.mark.parametrize(("configured", "pressed"), [("ctrl+]", "ctrl+right_square_bracket"), ("f12", "f12"),
                                                     ("ctrl+\\", "ctrl+backslash")])
async def test_detach_key_is_configurable(configured: str, pressed: str) -> None:
    app = TermApp(detach_key=configured)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(pressed)
        await pilot.pause()
        assert app.detached == 1 and app.outputs == []
        if pressed != "ctrl+right_square_bracket":   # the default is now an ordinary key: Ctrl-] to the guest
            await pilot.press("ctrl+right_square_bracket")
            await pilot.pause()
            assert app.outputs == [b"\x1d"] and app.detached == 1


async def test_paste_raw_and_bracketed() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = app.query_one(Terminal)
        term.post_message(events.Paste("ls -l\nwho"))
        await pilot.pause()
        await fed(pilot, b"\x1b[?2004h")
        term.post_message(events.Paste("line one\nline two\x1b[201~rm"))
        await pilot.pause()
        assert app.outputs == [b"ls -l\rwho", b"\x1b[200~line one\rline two[201~rm\x1b[201~"]


# --- answers, resize -------------------------------------------------------------------------------------

async def test_queries_are_answered_through_output() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await fed(pilot, b"tinyguest# \x1b[6n")
        assert app.outputs == [b"\x1b[1;12R"]
        await fed(pilot, recording("busybox_sh"))
        # the answers to one slice of input go out together, in order
        assert b"".join(app.outputs[1:]) == (b"\x1b[6;12R\x1b[8;12R\x1b[10;12R\x1b[12;12R\x1b[24;12R"
                                             b"\x1b[24;12R")


async def test_resized_follows_the_widget() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        term = app.query_one(Terminal)
        assert app.resized == [(80, 24)]
        assert (term.vt.columns, term.vt.lines) == (80, 24)
        await fed(pilot, b"\x1b[24;1Hprompt$ ")
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert app.resized[-1] == (100, 30)
        assert (term.vt.columns, term.vt.lines) == (100, 30)
        await pilot.resize_terminal(60, 10)
        await pilot.pause()
        assert app.resized[-1] == (60, 10)
        assert term.plain_text().split("\n")[-1] == "prompt$"   # the cursor's row stayed on screen
        assert all(term.render_line(y).cell_length == 60 for y in range(10))


# --- feeding -----------------------------------------------------------------------------------------------

async def test_feed_queues_and_the_widget_catches_up() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)):
        term = app.query_one(Terminal)
        data = b"".join(b"\x1b[3%dmline %d\x1b[m\r\n" % (i % 8, i) for i in range(100_000))
        term.feed(data)
        assert term.backlog == len(data)        # nothing parsed yet: feed returns at once
        await asyncio.sleep(0)                  # one turn of the event loop: one slice (a few ms) parsed
        assert 0 < term.backlog < len(data)     # (2 MB in one slice would take 600 MB/s)
        await term.drain()
        assert term.backlog == 0
        assert term.plain_text().split("\n")[-2] == "line 99999"
        assert len(term.vt.screen.history) == 10_000


async def test_feed_before_mount_is_shown_after() -> None:
    term = Terminal()
    term.feed(b"early \x1b[1mbold")

    class Early(App):
        def compose(self) -> ComposeResult:
            yield term

    async with Early().run_test(size=(40, 5)) as pilot:
        await term.drain()
        await pilot.pause()
        assert term.plain_text().split("\n")[0] == "early bold"
        assert row_text(term, 0).startswith("early bold")


# --- scrollback ------------------------------------------------------------------------------------------

async def test_scrollback_keys_wheel_and_return_to_live() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = await fed(pilot, b"".join(b"line %d\r\n" % i for i in range(100)))
        assert row_text(term, 0).rstrip() == "line 77"
        await pilot.press("shift+pageup")
        assert term.scrolled_back == 23
        assert row_text(term, 1).rstrip() == "line 55"
        assert "↑ 23 of 77 lines" in row_text(term, 0)
        # new output does not move the view: the same lines stay on screen
        await fed(pilot, b"".join(b"more %d\r\n" % i for i in range(5)))
        assert term.scrolled_back == 28 and row_text(term, 1).rstrip() == "line 55"
        term.post_message(events.MouseScrollUp(term, 1, 1, 0, -1, 0, False, False, False))
        await pilot.pause()
        assert term.scrolled_back == 31
        term.post_message(events.MouseScrollDown(term, 1, 1, 0, 1, 0, False, False, False))
        await pilot.pause()
        assert term.scrolled_back == 28
        await pilot.press("shift+home")
        assert term.scrolled_back == 82 and row_text(term, 0).startswith("line 0 ")
        assert row_text(term, 1).rstrip() == "line 1"
        assert app.outputs == []                # scrolling sends nothing
        await pilot.press("x")                  # a key for the guest returns to the live screen
        await pilot.pause()
        assert term.scrolled_back == 0 and app.outputs == [b"x"]
        assert row_text(term, 0).rstrip() == "line 82"
        assert term.scrollback_text().split("\n")[0] == "line 0"


async def test_no_scrollback_on_the_alternate_screen() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = await fed(pilot, b"".join(b"line %d\r\n" % i for i in range(100)) + recording("vim_80x24", "G"))
        await pilot.press("shift+pageup")
        assert term.scrolled_back == 0


# --- bell, focus, cursor ---------------------------------------------------------------------------------

async def test_bell_flashes_and_posts_one_message_per_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terminal_module, "BELL_SECONDS", 60.0)  # the flash outlasts a slow test run
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = await fed(pilot, b"ding\x07\x07\x07")
        assert app.bells == 1
        assert term.has_class("-bell")
        assert term.plain_text().startswith("ding")


async def test_focus_reports_when_the_guest_asks() -> None:
    app = TermApp(with_input=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await fed(pilot, b"\x1b[?1004h")
        app.query_one(Input).focus()
        await pilot.pause()
        app.query_one(Terminal).focus()
        await pilot.pause()
        assert app.outputs == [b"\x1b[O", b"\x1b[I"]


def _cursor_cells(term: Terminal, y: int) -> list[int]:
    """Columns on row ``y`` drawn with the widget's colours swapped (the cursor)."""
    base = term.rich_style
    x, found = 0, []
    for segment in term.render_line(y):
        if segment.style is not None and segment.style.bgcolor == base.color and segment.style.color == base.bgcolor:
            found.extend(range(x, x + segment.cell_length))
        x += segment.cell_length
    return found


async def test_cursor_only_while_focused_and_not_hidden() -> None:
    app = TermApp(with_input=True)
    async with app.run_test(size=(80, 24)) as pilot:
        term = await fed(pilot, b"tinyguest# ")
        assert _cursor_cells(term, 0) == [11]
        app.query_one(Input).focus()
        await pilot.pause()
        assert _cursor_cells(term, 0) == []
        term.focus()
        await fed(pilot, b"\x1b[?25l")
        assert _cursor_cells(term, 0) == []
        await fed(pilot, b"\x1b[?25h\r\n$ ")
        assert _cursor_cells(term, 0) == [] and _cursor_cells(term, 1) == [2]


# --- what is drawn -----------------------------------------------------------------------------------------

async def test_rows_are_exactly_the_widget_wide_with_wide_characters() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = await fed(pilot, recording("cjk_emoji"))
        for y in range(24):
            assert term.render_line(y).cell_length == 80
        assert row_text(term, 6).startswith("日本語のテキスト")
        assert row_text(term, 12).startswith("日本 ")


async def test_cells_are_drawn_with_their_colours() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = await fed(pilot, recording("ls_color"))
        x = 0
        for segment in term.render_line(10):
            if segment.text.startswith("bin"):
                assert segment.style.bold and segment.style.color == Color.from_ansi(4)
                break
            x += segment.cell_length
        else:
            raise AssertionError("no segment for 'bin' on row 10")
        assert x == 39


async def test_hostile_output_is_drawn_as_plain_cells() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = await fed(pilot, recording("hostile"))
        drawn = "".join(row_text(term, y) for y in range(24))
        assert "\x1b" not in drawn and "\x07" not in drawn and "\u202e" not in drawn
        assert "before nestedC1-green link bidi:evil zw:abcd bell end" in drawn
        assert term.title == "c1 title"


async def test_clear_and_reset() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        term = await fed(pilot, b"".join(b"line %d\r\n" % i for i in range(40)) + b"\x1b[31m\x1b[?1h")
        term.clear()
        assert term.plain_text().strip() == "" and term.scrollback_text() == ""
        term.reset()
        await fed(pilot, b"plain")
        assert term.vt.cell(0, 0).fg == "default" and not term.vt.screen.app_cursor_keys


# --- snapshots -----------------------------------------------------------------------------------------------

def _showing(name: str, until_keys: str):
    async def run_before(pilot: Pilot) -> None:
        await fed(pilot, recording(name, until_keys))

    return run_before


def test_snapshot_vim_80x24(snap_compare) -> None:
    assert snap_compare(TermApp(), terminal_size=(80, 24), run_before=_showing("vim_80x24", "G"))


def test_snapshot_vim_160x48(snap_compare) -> None:
    assert snap_compare(TermApp(), terminal_size=(160, 48), run_before=_showing("vim_160x48", ":q\r"))
