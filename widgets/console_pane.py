"""The console pane: guests' consoles as tabs, each a `Terminal` with a notice line above it.

No I/O. The owner (the app) opens a tab per console, feeds each tab the bytes of its channel
(`ConsoleTab.feed`), and handles the terminal's messages, which bubble up through the pane:
``Terminal.Output`` (bytes for the guest), ``Terminal.Resized`` (the remote terminal's new size),
``Terminal.Detach`` (the detach key). The pane itself handles its tab bar and the keys of a tab's notice,
and posts `ConsolePane.Requested` for what the owner must do (reconnect, force, close).

Layout: a tab bar (one line: ``1 host/domain``, ``●`` after a tab that printed something while hidden,
``✕`` after a console that ended), then the active tab. The pane's border title names the active console
(host / domain · kind), its subtitle the console keys the owner passes with `set_keys` (the detach key
first). Hidden tabs keep running: their terminals parse what they are fed, so switching tabs never loses
output.

A tab's notice line says what is going on when it is not just the guest talking: connecting, the console
in use by another session, closed, the link lost... with the keys that apply (`ConsoleTab.show_notice`).
It is drawn over the top of the terminal rather than beside it, so that it never changes the terminal's
size (the remote side would be resized for every message). When the notice offers keys it takes the focus
(if the tab had it, or gets it later): ``r`` reconnect, ``f`` force where offered, ``escape`` close the tab.

Host text (names, messages from the host) reaches the screen only as `rich.text.Text` built with
`hvdeck.widgets.format.visible`, never as markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Static

from .format import cells, cut_middle, visible
from .terminal import Terminal
from .terminal_keys import key_label

#: notice actions: (action name, key, label)
RECONNECT = ("reconnect", "r", "reconnect")
FORCE = ("force", "f", "force")
CLOSE = ("close", "escape", "close")


class _Notice(Static, can_focus=True):
    """A tab's notice line; when it offers actions, their keys work while it has the focus."""

    BINDINGS = [
        Binding("r", "request('reconnect')", "Reconnect", id="console.reconnect"),
        Binding("f", "request('force')", "Force", id="console.force"),
        Binding("escape", "request('close')", "Close", id="console.close"),
    ]

    def __init__(self, tab: ConsoleTab) -> None:
        super().__init__("", classes="console-notice")
        self.tab = tab
        self.offered: frozenset[str] = frozenset()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "request":
            return bool(parameters) and parameters[0] in self.offered
        return True

    def action_request(self, action: str) -> None:
        self.post_message(ConsolePane.Requested(self.tab, action))

    def on_click(self, event: events.Click) -> None:
        self.focus()


class ConsoleTab(Vertical):
    """One console: its key (the domain's), its title, a notice line and the terminal."""

    DEFAULT_CSS = """
    ConsoleTab { height: 1fr; layers: screen notice; }
    ConsoleTab > Terminal { layer: screen; }
    ConsoleTab > .console-notice { layer: notice; position: absolute; width: 1fr; height: auto; max-height: 4;
                                  padding: 0 1; display: none; background: $panel; color: $foreground; }
    ConsoleTab > .console-notice.-shown { display: block; }
    ConsoleTab > .console-notice.-error { color: $error; text-style: bold; }
    ConsoleTab > .console-notice.-warning { color: $warning; }
    ConsoleTab > .console-notice:focus { background: $boost; text-style: bold; }
    """

    def __init__(self, key: str, host: str, domain: str, description: str, *, detach_key: str,
                 detach_hint: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.key = key
        self.host = host
        self.domain = domain
        self.description = description
        self.detach_hint = detach_hint
        self.unread = False
        #: connecting | attached | ended
        self.state = "connecting"
        self.notice = _Notice(self)
        self.terminal = Terminal(detach_key=detach_key, id=f"{id}-terminal" if id else None)
        #: the terminal's size (columns, rows), once it has been laid out
        self.size_cells: tuple[int, int] | None = None
        self._sized = asyncio.Event()
        self._notice_serial = 0

    def compose(self) -> ComposeResult:
        yield self.notice
        yield self.terminal

    @property
    def pane(self) -> ConsolePane | None:
        for node in self.ancestors:
            if isinstance(node, ConsolePane):
                return node
        return None

    @property
    def active(self) -> bool:
        pane = self.pane
        return pane is not None and pane.active_tab is self

    def heading(self) -> Text:
        """host / domain · what the console is (host text made visible)."""
        text = Text()
        text.append(visible(self.host), style="dim")
        text.append(" / ")
        text.append(visible(self.domain), style="bold")
        text.append(f" · {visible(self.description)}")
        if self.detach_hint:
            text.append(f" · its own way out: {visible(self.detach_hint)}", style="dim")
        return text

    # -- data -------------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """The console's bytes, for the terminal; a hidden tab is marked unread."""
        self.terminal.feed(data)
        if not self.unread and not self.active:
            self.unread = True
            pane = self.pane
            if pane is not None:
                pane.refresh_tabs()

    async def sized(self) -> tuple[int, int]:
        """The terminal's size once it has been laid out (columns, rows): open the remote side with it."""
        await self._sized.wait()
        assert self.size_cells is not None
        return self.size_cells

    @on(events.DescendantFocus)
    def _focus_notice(self, event: events.DescendantFocus) -> None:
        """A console that ended has nothing to type into: its notice (with its keys) takes the focus."""
        if event.widget is self.terminal and self.notice.offered:
            self.notice.focus()

    @on(Terminal.Resized)
    def _resized(self, event: Terminal.Resized) -> None:
        self.size_cells = (event.columns, event.rows)
        self._sized.set()  # not stopped: the owner resizes the remote terminal

    # -- the notice line --------------------------------------------------------------------------------

    def show_notice(self, text: str | Text, *, actions: Iterable[tuple[str, str, str]] = (), severity: str = "info",
                    focus: bool = False, hide_after: float | None = None) -> None:
        """Show ``text`` (a str is host text: shown with its controls made visible) with the keys of
        ``actions`` (`RECONNECT`, `FORCE`, `CLOSE`); ``severity`` info, warning or error. With ``focus``
        and actions, the notice takes the focus so that its keys work. ``hide_after`` seconds, a notice
        without actions goes away by itself (unless another one replaced it)."""
        actions = tuple(actions)
        self._notice_serial += 1
        if hide_after is not None and not actions:
            serial = self._notice_serial
            self.set_timer(hide_after, lambda: self._expire(serial))
        line = text.copy() if isinstance(text, Text) else Text(visible(text, newlines=True))
        if actions:
            line.append("   ")
            for index, (_name, key, label) in enumerate(actions):
                if index:
                    line.append(" · ", style="dim")
                line.append(key_label(key), style="bold reverse")
                line.append(f" {label}")
        self.notice.offered = frozenset(name for name, _key, _label in actions)
        self.notice.update(line)
        self.notice.set_class(True, "-shown")
        self.notice.set_class(severity == "error", "-error")
        self.notice.set_class(severity == "warning", "-warning")
        if focus and actions:
            self.notice.focus()
        self.notice.refresh_bindings()
        pane = self.pane
        if pane is not None:
            pane.refresh_tabs()

    def _expire(self, serial: int) -> None:
        if serial == self._notice_serial and not self.notice.offered:
            self.clear_notice()

    def clear_notice(self) -> None:
        self.notice.offered = frozenset()
        self.notice.update("")
        self.notice.set_class(False, "-shown")
        if self.notice.has_focus:
            self.terminal.focus()

    @property
    def notice_text(self) -> str:
        """The notice line as plain text ('' when none is shown)."""
        if not self.notice.has_class("-shown"):
            return ""
        content = self.notice.content
        return content.plain if isinstance(content, Text) else str(content)

    def focus_console(self) -> None:
        """Focus the notice when it offers keys (the session ended), else the terminal."""
        if self.notice.offered:
            self.notice.focus()
        else:
            self.terminal.focus()


class _TabBar(Widget):
    """One line of tabs; a click selects one."""

    DEFAULT_CSS = """
    _TabBar { height: 1; background: $panel; color: $foreground-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str]] = []

    @property
    def pane(self) -> ConsolePane:
        assert isinstance(self.parent, ConsolePane)
        return self.parent

    def render(self) -> Text:
        pane = self.pane
        tabs = pane.tabs
        width = max(1, self.size.width)
        room = max(8, width // max(1, len(tabs)) - 4)
        text = Text(no_wrap=True, overflow="crop")
        self._spans = []
        for index, tab in enumerate(tabs, start=1):
            label = visible(f"{tab.host}/{tab.domain}")
            if cells(label) > room:
                label = cut_middle(label, room)
            mark = " ●" if tab.unread else (" ✕" if tab.state == "ended" else "")
            start = text.cell_len
            style = "bold reverse" if tab is pane.active_tab else ""
            text.append(f" {index} {label}{mark} ", style=style)
            self._spans.append((start, text.cell_len, tab.key))
            text.append(" ")
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.pane.activate(key)
                tab = self.pane.tab(key)
                if tab is not None:
                    tab.focus_console()
                return


class ConsolePane(Vertical):
    """Consoles as tabs (see the module docstring). Empty until the first `open_tab`."""

    DEFAULT_CSS = """
    ConsolePane { height: 1fr; border: round $primary; border-title-align: left;
                  border-subtitle-align: right; border-subtitle-color: $foreground-muted; }
    ConsolePane:focus-within { border: round $accent; }
    ConsolePane > ContentSwitcher { height: 1fr; }
    """

    class Requested(Message):
        """The user asked for ``action`` (reconnect, force, close) on ``tab``. Handler: on_console_pane_requested."""

        def __init__(self, tab: ConsoleTab, action: str) -> None:
            super().__init__()
            self.tab = tab
            self.action = action

    class Switched(Message):
        """Another tab is shown (``tab``; None when the last one closed). Handler: on_console_pane_switched."""

        def __init__(self, tab: ConsoleTab | None) -> None:
            super().__init__()
            self.tab = tab

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._tabs: dict[str, ConsoleTab] = {}
        self._active: str | None = None
        self._serial = 0
        self._keys: tuple[tuple[str, str], ...] = ()
        self._title = Text()
        self._subtitle = Text()
        self.tab_bar = _TabBar()
        self.switcher = ContentSwitcher()

    def compose(self) -> ComposeResult:
        yield self.tab_bar
        yield self.switcher

    # -- tabs -----------------------------------------------------------------------------------------

    @property
    def tabs(self) -> list[ConsoleTab]:
        return list(self._tabs.values())

    @property
    def active_tab(self) -> ConsoleTab | None:
        return self._tabs.get(self._active) if self._active is not None else None

    def tab(self, key: str) -> ConsoleTab | None:
        return self._tabs.get(key)

    def tab_of(self, terminal: Terminal) -> ConsoleTab | None:
        """The tab whose terminal this is."""
        return next((tab for tab in self._tabs.values() if tab.terminal is terminal), None)

    async def open_tab(self, key: str, host: str, domain: str, description: str, *, detach_key: str,
                       detach_hint: str = "") -> ConsoleTab:
        """A new tab for the console of ``key`` (shown, not focused); its terminal is laid out soon after
        (`ConsoleTab.sized`)."""
        if key in self._tabs:
            raise ValueError(f"a tab for {key!r} is open")
        self._serial += 1
        tab = ConsoleTab(key, host, domain, description, detach_key=detach_key, detach_hint=detach_hint,
                         id=f"console-tab-{self._serial}")
        self._tabs[key] = tab
        await self.switcher.mount(tab)
        self.activate(key)
        return tab

    def activate(self, key: str) -> None:
        tab = self._tabs.get(key)
        if tab is None:
            return
        self._active = key
        self.switcher.current = tab.id
        tab.unread = False
        self._retitle()
        self.post_message(self.Switched(tab))

    def step(self, offset: int) -> ConsoleTab | None:
        """Show the tab ``offset`` places after the active one (wrapping); returns it."""
        keys = list(self._tabs)
        if not keys:
            return None
        at = keys.index(self._active) if self._active in keys else 0
        key = keys[(at + offset) % len(keys)]
        self.activate(key)
        return self._tabs[key]

    async def close_tab(self, key: str) -> None:
        """Remove a tab; the next one (or the previous) is shown."""
        tab = self._tabs.pop(key, None)
        if tab is None:
            return
        keys = list(self._tabs)
        if self._active == key:
            self._active = None
            if keys:
                self.activate(keys[-1])
        await tab.remove()
        if not keys:
            self._retitle()
            self.post_message(self.Switched(None))
        self.refresh_tabs()

    # -- chrome ---------------------------------------------------------------------------------------

    def set_keys(self, keys: Iterable[tuple[str, str]]) -> None:
        """The console keys shown in the border, as (key, what it does); the detach key first."""
        self._keys = tuple(keys)
        self._retitle()

    @property
    def title_text(self) -> str:
        """The border's title as plain text (the border itself holds it as markup)."""
        return self._title.plain

    @property
    def keys_text(self) -> str:
        """The border's subtitle (the console keys) as plain text."""
        return self._subtitle.plain

    def refresh_tabs(self) -> None:
        self.tab_bar.refresh()
        self._retitle()

    def _retitle(self) -> None:
        tab = self.active_tab
        self._title = tab.heading() if tab is not None else Text("console")
        self.border_title = self._title
        subtitle = Text()
        for index, (key, label) in enumerate(self._keys):
            if index:
                subtitle.append(" · ")
            subtitle.append(key_label(key), style="bold")
            subtitle.append(f" {label}")
        self._subtitle = subtitle
        self.border_subtitle = subtitle
        self.tab_bar.refresh()
