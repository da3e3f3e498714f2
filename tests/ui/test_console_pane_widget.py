"""The console pane widget on its own (no I/O): tabs, unread marks, the notice line and its keys, the
border's title and keys, and host text that must be shown as text (markup, escape sequences, bidi
overrides, wide characters) in the title, the tab bar and the notice."""

from __future__ import annotations

from textual import on
from textual.app import App, ComposeResult

from hvdeck.widgets.console_pane import CLOSE, FORCE, RECONNECT, ConsolePane, key_label
from hvdeck.widgets.terminal import Terminal

from .helpers import screen_lines

HOSTILE_HOST = "[bold]kvm[/]"
HOSTILE_DOMAIN = "[@click=app.quit]x\x1b]52;c;aGk=\x07\u202eevil\u4e2d"


class PaneApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str]] = []
        self.outputs: list[bytes] = []

    def compose(self) -> ComposeResult:
        yield ConsolePane(id="pane")

    @on(ConsolePane.Requested)
    def requested(self, event: ConsolePane.Requested) -> None:
        self.requests.append((event.tab.key, event.action))

    @on(Terminal.Output)
    def output(self, event: Terminal.Output) -> None:
        self.outputs.append(event.data)


async def test_host_text_is_shown_as_text_everywhere():
    app = PaneApp()
    async with app.run_test(size=(180, 20)) as pilot:
        pane = app.query_one(ConsolePane)
        tab = await pane.open_tab("k1", HOSTILE_HOST, HOSTILE_DOMAIN, "serial [red]console[/] (pty)",
                                  detach_key="ctrl+right_square_bracket", detach_hint="^] [b]x")
        tab.show_notice("Console in use: [link=x]someone[/link]\x9b31m", actions=(FORCE, CLOSE), severity="warning")
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "[bold]kvm[/] / [@click=app.quit]x^[]52;c;aGk=^G<U+202E>evil中 · serial [red]console[/] (pty)" in text
        assert "its own way out: ^] [b]x" in text
        assert "1 [bold]kvm[/]/[@click=app.quit]x^[]52;c;aGk=^G<U+202E>evil中" in text, "the tab bar"
        assert "Console in use: [link=x]someone[/link]" in text and "\x1b" not in text and "\x9b" not in text
        assert "\u202e" not in text
        assert app.is_running


async def test_tabs_unread_marks_and_switching():
    app = PaneApp()
    async with app.run_test(size=(100, 20)) as pilot:
        pane = app.query_one(ConsolePane)
        one = await pane.open_tab("k1", "t7-a", "ldg-web1", "vntsd port 5000", detach_key="ctrl+right_square_bracket")
        two = await pane.open_tab("k2", "t7-a", "ldg-db1", "vntsd port 5001", detach_key="ctrl+right_square_bracket")
        await pilot.pause()
        assert pane.active_tab is two and pane.title_text.startswith("t7-a / ldg-db1 · vntsd port 5001")
        one.feed(b"printed while hidden\r\n")
        two.feed(b"shown\r\n")
        await pilot.pause()
        assert one.unread and not two.unread
        assert " 1 t7-a/ldg-web1 ● " in pane.tab_bar.render().plain
        await pilot.click(pane.tab_bar, offset=(3, 0))
        await pilot.pause()
        assert pane.active_tab is one and not one.unread and "printed while hidden" in one.terminal.plain_text()
        assert pane.step(1) is two and pane.step(1) is one
        await pane.close_tab("k1")
        await pilot.pause()
        assert pane.active_tab is two and [t.key for t in pane.tabs] == ["k2"]


async def test_a_notice_with_keys_takes_the_focus_and_posts_requests():
    app = PaneApp()
    async with app.run_test(size=(100, 20)) as pilot:
        pane = app.query_one(ConsolePane)
        tab = await pane.open_tab("k1", "bed", "hvtest1", "serial console (pty)", detach_key="ctrl+right_square_bracket")
        tab.terminal.focus()
        await pilot.pause()
        await pilot.press("a")
        assert app.outputs == [b"a"]
        tab.state = "ended"
        tab.show_notice("The console closed", actions=(RECONNECT, CLOSE), severity="error", focus=True)
        await pilot.pause()
        assert tab.notice.has_focus and "The console closed   r reconnect · esc close" in tab.notice_text
        await pilot.press("f", "r", "escape")  # force is not offered here
        assert app.requests == [("k1", "reconnect"), ("k1", "close")]
        tab.terminal.focus()
        await pilot.pause()
        assert tab.notice.has_focus, "an ended console's terminal hands the focus to its notice"
        tab.clear_notice()
        assert tab.notice_text == "" and not tab.notice.offered


async def test_the_notice_never_changes_the_terminals_size():
    app = PaneApp()
    async with app.run_test(size=(100, 20)) as pilot:
        pane = app.query_one(ConsolePane)
        tab = await pane.open_tab("k1", "bed", "hvtest1", "serial", detach_key="ctrl+right_square_bracket")
        size = await tab.sized()
        tab.show_notice("a long message " * 20)
        await pilot.pause()
        assert tab.terminal.size == (size[0], size[1]) and tab.size_cells == size


def test_key_labels():
    assert key_label("ctrl+right_square_bracket") == "ctrl+]"
    assert key_label("ctrl+pageup/ctrl+pagedown") == "ctrl+pgup/pgdn"
    assert key_label("escape") == "esc" and key_label("f6") == "f6" and key_label("question_mark") == "?"


async def test_a_notice_without_keys_can_go_away_by_itself_but_never_takes_a_newer_one_with_it():
    app = PaneApp()
    async with app.run_test(size=(100, 20)) as pilot:
        pane = app.query_one(ConsolePane)
        tab = await pane.open_tab("k1", "bed", "hvtest1", "serial", detach_key="ctrl+right_square_bracket")
        tab.show_notice("Logging this console to /tmp/x.log", hide_after=0.1)
        await pilot.pause(0.3)
        assert tab.notice_text == ""
        tab.show_notice("first", hide_after=0.1)
        tab.show_notice("The console closed", actions=(RECONNECT, CLOSE))
        await pilot.pause(0.3)
        assert tab.notice_text.startswith("The console closed"), "the older notice's timer left the newer alone"
