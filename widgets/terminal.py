"""A terminal inside hvdeck: a VT100/xterm screen fed with a guest's console bytes, typing back to it.

The widget does no I/O. Whoever owns the console channel (an SSH PTY channel, a libvirt stream) calls
`Terminal.feed` with the bytes received and sends the bytes of every `Terminal.Output` message; it resizes
the remote PTY on `Terminal.Resized` and closes the channel on `Terminal.Detach`.

    term = Terminal(id="console")
    ...
    term.feed(data)                            # on the app's loop (from a thread: app.call_from_thread)

    @on(Terminal.Output, "#console")
    def send(self, event): channel.write(event.data)

**Feeding.** `feed` only queues the bytes and returns; the widget parses them in slices of at most
`SLICE_SECONDS` (a few ms) in a task of its own, giving the event loop a turn between slices, so a flood
from the guest never holds the UI for longer than one slice. Changed lines are repainted at most once a
frame (`FRAME_SECONDS`): only the rows pyte marks dirty, plus the rows the cursor left and entered.
`backlog` is the number of bytes queued and not yet parsed: an owner reading a fast channel can pause it
above a high-water mark (asyncssh ``pause_reading``) and resume when it drains. ``await drain()`` waits
until everything fed so far is parsed (for tests and for "clear, then draw" sequences).

**Emulation** is `hvdeck.widgets.vt.VT` (pyte's screen, our parser): 16/256/direct colours, bold, dim,
italics, underline, blink, reverse, strike; wide characters; line wrap; scroll regions; the alternate
screen of full-screen programs; answers to device-attribute and cursor-position queries (busybox ash
asks after every prompt), which are sent back as `Output` like keys (the answers to one slice in one
message, in order). Nothing from the guest reaches the
real terminal except as cell text: titles, clipboard writes (OSC 52) and other strings are consumed,
controls never reach a cell, and a bell (BEL) is a short flash of the widget plus a `Bell` message.

**Keys.** While focused, the widget takes every key it can send (see `terminal_keys`): app bindings such
as ``q`` or ``ctrl+t`` go to the guest. Exceptions: the detach key (`detach_key`, default Ctrl-],
``ctrl+right_square_bracket``) posts `Detach` and sends nothing; Shift+PgUp/PgDn scroll back a page,
Shift+Home/End go to the oldest line and back to the live screen; keys with no xterm encoding
(``super+...``) bubble up. Priority bindings of the app (Textual's ``ctrl+q`` quit and ``ctrl+p`` palette)
run before any widget sees the key: an app that wants them to reach the guest disables them in
``App.check_action`` while a `Terminal` has focus. A paste is sent as bracketed paste when the guest
enabled it (DECSET 2004), else as typed text with newlines as CR.

**Scrollback.** Lines that scroll off the top of the main screen are kept (`history_lines`, 10,000 by
default); the mouse wheel and Shift+PgUp/PgDn scroll through them, and a label in the top-right corner
says how far back the view is. New output does not move a scrolled-back view (the lines shown stay put,
as in VTE/GNOME Terminal and xterm's ``scrollTtyOutput: false``); a key sent to the guest, a paste or
Shift+End returns to the live screen. Full-screen programs (alternate screen) have no scrollback.

**Size.** The screen is the widget's content size; every change resizes the emulator (no reflow: see
`vt`) and posts `Resized(columns, rows)` for the owner to pass on to the remote PTY (open the PTY with the
size of the first `Resized`). Bytes fed before the widget has been laid out wait for its size.

**Logging** a console is the owner's: write the bytes it feeds to a `terminal_log.SessionLog` (raw, or
plain text with the escape sequences taken out).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from functools import lru_cache

from rich.cells import cell_len, get_character_cell_size
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from .terminal_keys import key_bytes, normalize_key, paste_bytes
from .vt import VT, RawCell

#: parse at most this long before giving the event loop back
SLICE_SECONDS = 0.003
#: bytes parsed between two looks at the clock
CHUNK_BYTES = 2048
#: repaint at most this often
FRAME_SECONDS = 1 / 60
#: how long the bell flash lasts
BELL_SECONDS = 0.15
#: lines the mouse wheel scrolls
WHEEL_LINES = 3


@lru_cache(maxsize=4096)
def _colour(value: str | int) -> Color | None:
    if value == "default":
        return None
    if isinstance(value, int):
        return Color.from_ansi(value)
    return Color.from_rgb(int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


class Terminal(Widget, can_focus=True):
    """A VT100/xterm terminal: `feed` it the guest's bytes, send the bytes of its `Output` messages.

    Messages: `Output` (bytes for the guest), `Resized`, `Detach`, `Bell`; see the module docstring.
    """

    COMPONENT_CLASSES = {"terminal--scrollback"}
    """``terminal--scrollback``: the label shown while the view is scrolled back."""

    DEFAULT_CSS = """
    Terminal {
        width: 1fr;
        height: 1fr;
        background: $background;
        color: $foreground;
    }
    Terminal > .terminal--scrollback {
        background: $warning;
        color: $background;
        text-style: bold;
    }
    Terminal.-bell {
        tint: $warning 30%;
    }
    """

    class Output(Message):
        """Bytes for the guest: a key, a paste, or the terminal's answer to a query. Handler: on_terminal_output."""

        def __init__(self, terminal: Terminal, data: bytes) -> None:
            super().__init__()
            self.terminal = terminal
            self.data = data

        @property
        def control(self) -> Terminal:
            return self.terminal

    class Resized(Message):
        """The screen is now ``columns`` x ``rows``: resize the remote PTY. Handler: on_terminal_resized."""

        def __init__(self, terminal: Terminal, columns: int, rows: int) -> None:
            super().__init__()
            self.terminal = terminal
            self.columns = columns
            self.rows = rows

        @property
        def control(self) -> Terminal:
            return self.terminal

    class Detach(Message):
        """The user pressed the detach key. Handler: on_terminal_detach."""

        def __init__(self, terminal: Terminal) -> None:
            super().__init__()
            self.terminal = terminal

        @property
        def control(self) -> Terminal:
            return self.terminal

    class Bell(Message):
        """The guest rang the bell (at most one message a frame). Handler: on_terminal_bell."""

        def __init__(self, terminal: Terminal) -> None:
            super().__init__()
            self.terminal = terminal

        @property
        def control(self) -> Terminal:
            return self.terminal

    def __init__(self, *, history_lines: int = 10_000, detach_key: str = "ctrl+right_square_bracket",
                 name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.detach_key = normalize_key(detach_key)
        self._vt = VT(80, 24, history_lines=history_lines, on_answer=self._answer)
        self._answers: list[bytes] = []
        self._backlog: deque[bytes] = deque()
        self._backlog_bytes = 0
        self._taken = 0  # bytes of the first backlog entry already parsed
        self._pump_task: asyncio.Task[None] | None = None
        self._sized = False  # parsing waits for the first size, or the guest's screen would be drawn at 80x24
        self._idle = asyncio.Event()
        self._idle.set()
        self._flush_pending = False
        self._last_flush = 0.0
        self._shown_cursor: tuple[int, int, bool] = (-1, -1, False)
        self._seen_pushed = 0
        self._seen_bells = 0
        self._scroll = 0
        self._posted_size: tuple[int, int] | None = None
        self._strips: dict[int, Strip] = {}
        self._styles: dict[tuple[object, ...], Style] = {}
        self._base_style: Style | None = None

    # --- feeding ------------------------------------------------------------------------------------

    @property
    def vt(self) -> VT:
        """The emulator (its `screen` holds the cells)."""
        return self._vt

    @property
    def backlog(self) -> int:
        """Bytes fed and not yet parsed."""
        return self._backlog_bytes

    @property
    def title(self) -> str:
        """The title the guest set (OSC 0/2), controls made visible; never sent anywhere."""
        return self._vt.screen.title

    def feed(self, data: bytes) -> None:
        """Queue bytes from the guest; they are parsed and shown within a frame or so. Call on the app's
        event loop (from another thread, through ``app.call_from_thread``)."""
        if not data:
            return
        self._backlog.append(bytes(data))
        self._backlog_bytes += len(data)
        self._idle.clear()
        if self._pump_task is None and self._sized:
            self._start_pump()

    async def drain(self) -> None:
        """Wait until every byte fed so far has been parsed and its repaint requested."""
        await self._idle.wait()

    def _take(self, limit: int) -> bytes:
        """Up to ``limit`` bytes from the front of the backlog (a big feed is read in place, not re-copied)."""
        first, start = self._backlog[0], self._taken
        end = start + limit
        if end >= len(first):
            self._backlog.popleft()
            self._taken = 0
            piece = first[start:] if start else first
        else:
            self._taken = end
            piece = first[start:end]
        self._backlog_bytes -= len(piece)
        return piece

    def _start_pump(self) -> None:
        self._pump_task = asyncio.get_running_loop().create_task(self._pump(), name=f"terminal-feed-{self.id}")

    async def _pump(self) -> None:
        """Parse the backlog a slice at a time, giving the event loop a turn between slices. (Textual's
        message queue does not yield between messages, so the slices are not scheduled through it.)"""
        try:
            while self._backlog:
                self._process()
                if self._backlog:
                    await asyncio.sleep(0)
        finally:
            self._pump_task = None
            if not self._backlog:
                self._idle.set()

    def _process(self) -> None:
        """Parse from the backlog for at most one slice (`SLICE_SECONDS`)."""
        deadline = time.perf_counter() + SLICE_SECONDS
        feed = self._vt.feed
        while self._backlog:
            feed(self._take(CHUNK_BYTES))
            if time.perf_counter() >= deadline:
                break
        self._after_feed()

    def _answer(self, data: bytes) -> None:
        self._answers.append(data)

    def _after_feed(self) -> None:
        if self._answers:
            self.post_message(self.Output(self, b"".join(self._answers)))
            self._answers = []
        self._schedule_flush()

    # --- painting -----------------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_pending:
            return
        delay = self._last_flush + FRAME_SECONDS - time.monotonic()
        if delay <= 0:
            self._flush()
        else:
            self._flush_pending = True
            self.set_timer(delay, self._flush)

    def _flush(self) -> None:
        """Repaint what changed since the last flush: the dirty rows and the cursor's old and new rows."""
        self._flush_pending = False
        self._last_flush = time.monotonic()
        screen = self._vt.screen
        dirty = screen.dirty
        screen.dirty = set()
        if screen.bells != self._seen_bells:
            self._seen_bells = screen.bells
            self._ring()
        pushed = screen.history_pushed - self._seen_pushed
        self._seen_pushed = screen.history_pushed
        if self._scroll:
            if pushed:  # keep the lines on view where they are
                self._scroll = min(self._scroll + pushed, len(screen.history))
            self._strips.clear()
            self.refresh()
            return
        cursor = self._cursor_state()
        if cursor != self._shown_cursor:
            dirty.add(self._shown_cursor[1])
            dirty.add(cursor[1])
            self._shown_cursor = cursor
        height, width = self.size.height, self.size.width
        rows = sorted(y for y in dirty if 0 <= y < height)
        for y in rows:
            self._strips.pop(y, None)
        start = None
        for i, y in enumerate(rows):
            if start is None:
                start = y
            if i + 1 == len(rows) or rows[i + 1] != y + 1:
                self.refresh(Region(0, start, width, y - start + 1))
                start = None

    def _cursor_state(self) -> tuple[int, int, bool]:
        c = self._vt.screen.cursor
        shown = self.has_focus and not c.hidden and self._scroll == 0
        return min(c.x, self._vt.columns - 1), c.y, shown

    def _ring(self) -> None:
        self.post_message(self.Bell(self))
        self.add_class("-bell")
        self.set_timer(BELL_SECONDS, lambda: self.remove_class("-bell"))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None
        self._styles.clear()
        self._strips.clear()

    @property
    def _base(self) -> Style:
        """The widget's own colours (CSS ``color``/``background``): the guest's default colours."""
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def _style(self, attrs: tuple[object, ...], cursor: bool) -> Style:
        key = (attrs, cursor)
        style = self._styles.get(key)
        if style is None:
            fg, bg, bold, italics, underscore, strike, reverse, blink, dim = attrs
            base = self._base
            colour = _colour(fg) or base.color
            background = _colour(bg) or base.bgcolor
            if reverse != cursor:
                colour, background = background, colour
            style = Style(color=colour, bgcolor=background, bold=bool(bold), dim=bool(dim),
                          italic=bool(italics), underline=bool(underscore), strike=bool(strike),
                          blink=bool(blink))
            if len(self._styles) > 4096:
                self._styles.clear()
            self._styles[key] = style
        return style

    def _segments(self, cell_at: Callable[[int], RawCell], columns: int, cursor_x: int) -> list[Segment]:
        """One row of cells as segments exactly ``columns`` cells wide."""
        segments: list[Segment] = []
        text: list[str] = []
        run_key: tuple[object, ...] | None = None
        run_cursor = False
        x = 0
        while x < columns:
            cell = cell_at(x)
            ch = cell[0]
            width = 1
            if ch == "":
                ch = " "  # the second half of a wide character whose first half was overwritten
            elif not ch.isascii():
                width = get_character_cell_size(ch[0])
                if width == 2 and not (x + 1 < columns and cell_at(x + 1)[0] == ""):
                    ch, width = " ", 1  # a first half without its second
                elif len(ch) > 1 and cell_len(ch) != width:
                    ch = ch[0]  # marks that would change the width as drawn: keep the base character
                if width == 0:  # cannot come from the parser; never let it shift the row
                    ch, width = "\ufffd", 1
            key = cell[1:]
            at_cursor = cursor_x == x
            if key != run_key or at_cursor != run_cursor or at_cursor:
                if text:
                    segments.append(Segment("".join(text), self._style(run_key, run_cursor)))  # type: ignore[arg-type]
                    text = []
                run_key, run_cursor = key, at_cursor
            text.append(ch)
            x += width
        if text:
            segments.append(Segment("".join(text), self._style(run_key, run_cursor)))  # type: ignore[arg-type]
        return segments

    def _row_strip(self, y: int) -> Strip:
        """Row ``y`` of the view: scrollback rows above the screen's while scrolled back."""
        vt, width = self._vt, self.size.width
        columns = vt.columns
        history = vt.screen.history
        index = len(history) - self._scroll + y
        cursor_x = -1
        if index < len(history):
            row = history[index] if index >= 0 else ()
            blank = vt.screen.default_char
            count = len(row)

            def cell_at(x: int) -> RawCell:
                return row[x] if x < count else blank
        else:
            screen_y = index - len(history)
            line = vt.screen.buffer.get(screen_y)
            if line is None:
                blank = vt.screen.default_char

                def cell_at(x: int) -> RawCell:
                    return blank
            else:
                cell_at = line.__getitem__  # type: ignore[assignment]
            cx, cy, shown = self._cursor_state()
            if shown and cy == screen_y:
                cursor_x = cx
        strip = Strip(self._segments(cell_at, columns, cursor_x)).adjust_cell_length(width, self._base)
        if y == 0 and self._scroll:
            label = f" ↑ {self._scroll} of {len(history)} lines · shift+end: live "
            label = label[-width:]
            strip = Strip.join([strip.crop(0, width - cell_len(label)),
                                Strip([Segment(label, self.get_component_rich_style("terminal--scrollback"))])])
        return strip

    def render_line(self, y: int) -> Strip:
        if self._scroll:
            return self._row_strip(y)
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strips[y] = self._row_strip(y)
        return strip

    # --- size ---------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.call_after_refresh(self._laid_out)

    def _laid_out(self) -> None:
        """After the first layout: a widget that got no size (hidden) parses at its current size."""
        if not self._sized:
            self._sized = True
            if self._backlog and self._pump_task is None:
                self._start_pump()

    def on_unmount(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()

    def on_resize(self, event: events.Resize) -> None:
        columns, rows = self.size.width, self.size.height
        if columns <= 0 or rows <= 0:
            return
        self._vt.resize(columns, rows)
        self._scroll = min(self._scroll, len(self._vt.screen.history))
        self._strips.clear()
        self._vt.screen.dirty.clear()
        self._shown_cursor = self._cursor_state()
        if self._posted_size != (columns, rows):
            self._posted_size = (columns, rows)
            self.post_message(self.Resized(self, columns, rows))
        self.refresh()
        if not self._sized:
            self._sized = True
            if self._backlog and self._pump_task is None:
                self._start_pump()

    # --- focus --------------------------------------------------------------------------------------

    def watch_has_focus(self, has_focus: bool) -> None:
        super().watch_has_focus(has_focus)
        if self._vt.screen.focus_events:  # DECSET 1004: the guest asked to be told
            self.post_message(self.Output(self, b"\x1b[I" if has_focus else b"\x1b[O"))
        self._schedule_flush()  # the cursor shows only while focused

    # --- input --------------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key == self.detach_key:
            event.stop()
            event.prevent_default()
            self.post_message(self.Detach(self))
            return
        page = max(1, self.size.height - 1)
        scroll = {"shift+pageup": page, "shift+pagedown": -page,
                  "shift+home": len(self._vt.screen.history), "shift+end": -self._scroll}.get(key)
        if scroll is not None:
            event.stop()
            event.prevent_default()
            self.scroll_history(scroll)
            return
        data = key_bytes(key, event.character, app_cursor=self._vt.screen.app_cursor_keys)
        if data is None:
            return  # nothing an xterm would send: let the app have it
        event.stop()
        event.prevent_default()
        self.send(data)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        if event.text:
            self.send(paste_bytes(event.text, bracketed=self._vt.screen.bracketed_paste))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        event.prevent_default()
        self.scroll_history(WHEEL_LINES)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        event.prevent_default()
        self.scroll_history(-WHEEL_LINES)

    def send(self, data: bytes) -> None:
        """Send bytes to the guest as if typed (returns the view to the live screen)."""
        if self._scroll:
            self.scroll_history(-self._scroll)
        self.post_message(self.Output(self, data))

    # --- scrollback ---------------------------------------------------------------------------------

    @property
    def scrolled_back(self) -> int:
        """How many lines the view is scrolled back (0: the live screen)."""
        return self._scroll

    def scroll_history(self, lines: int) -> None:
        """Scroll the view back (positive) or forward (negative) through the scrollback."""
        if self._vt.screen.alternate:
            lines = -self._scroll
        new = max(0, min(self._scroll + lines, len(self._vt.screen.history)))
        if new != self._scroll:
            self._scroll = new
            self._strips.clear()
            self._shown_cursor = self._cursor_state()
            self.refresh()

    # --- text and control ---------------------------------------------------------------------------

    def plain_text(self) -> str:
        """The screen as text: a line per row, trailing blanks removed (not the scrollback)."""
        self._catch_up()
        return self._vt.plain_text()

    def scrollback_text(self) -> str:
        """The scrollback, oldest line first, as text."""
        self._catch_up()
        return self._vt.scrollback_text()

    def _catch_up(self) -> None:
        """Parse whatever is still queued (a synchronous reader wants what was fed)."""
        while self._backlog:
            self._vt.feed(self._take(1 << 20))
        if self.is_mounted:
            self._after_feed()

    def clear(self) -> None:
        """Clear the screen and the scrollback (the guest is not told)."""
        self._catch_up()
        self._vt.feed_text("\x1b[H\x1b[2J\x1b[3J")
        self._scroll = 0
        self._strips.clear()
        self.refresh()

    def reset(self) -> None:
        """A hard reset (as ``ESC c``): default modes and colours, empty screen; the scrollback stays."""
        self._catch_up()
        self._vt.reset()
        self._scroll = 0
        self._strips.clear()
        self.refresh()
