"""A VT100/xterm terminal emulator with no I/O: bytes from a guest in, a screen of styled cells out.

`VT` is what the `Terminal` widget draws: a pyte `Screen` (cursor motion, erasing, insert/delete,
scroll regions, tab stops, charsets) driven by a parser of our own, plus what pyte 0.8.2 lacks or gets
wrong for a console that shows untrusted bytes:

* **Parsing.** pyte's `Stream` draws the payload of DCS/APC/PM/SOS strings as text, turns xterm's
  ``CSI > 4;2 m`` (modifyOtherKeys, sent by vim) into bold+underline, prints the rest of ``CSI ! p`` or
  of a colon-form colour (``CSI 38:2::255:0:0 m``), raises on ``CSI ? 1 m``, and stops drawing a chunk of
  text at the first zero-width character. `_Parser` is an ECMA-48 tokenizer (the VT500 state machine's
  states, with regular expressions for the common cases): strings (OSC, DCS, SOS, PM, APC) are consumed
  whole, sequences with private markers or intermediates that we do not implement are ignored, a
  sequence split across two feeds waits for the rest, and no sequence can grow without bound.
* **Safety.** Nothing but printable characters reaches a cell: C0/C1 controls never reach `draw`;
  bidirectional overrides, zero-width joiners, variation selectors and other format characters are
  dropped; combining marks join the previous cell (at most `MAX_CLUSTER` code points). Titles (OSC 0/2)
  are kept as text with controls made visible and are never reported back (``CSI 21 t`` is ignored);
  OSC 52 (clipboard), OSC 8 (links), OSC 10/11 (colour queries) and every other string are discarded.
* **Answers.** Primary and secondary device attributes (``CSI c``, ``CSI > c``), status (``CSI 5 n``)
  and cursor position (``CSI 6 n``: busybox ash asks after every prompt, `resize` uses it to find the
  size of a serial console) are answered through ``on_answer``, as xterm writes them to its pty.
* **xterm modes.** Alternate screen (DECSET 47/1047/1049, with 1048's cursor save; it starts empty each
  time, where xterm keeps what 47 and 1047 left on it), application cursor keys (DECCKM, 1), bracketed
  paste (2004), focus reports (1004), cursor visibility (DECTCEM, 25), reverse screen (DECSCNM, 5).
  DECCOLM (132 columns) is ignored, as xterm does by default: the widget, not the guest, sets the size.
* **Scrollback.** Lines scrolled off the top of the main screen (when the scroll region starts at the
  top line) go to `history`, a deque of at most `history_lines` rows; the alternate screen keeps none,
  like xterm. Each row is a tuple of cells, trailing blanks trimmed. Cells are interned per
  (attributes, character), so equal cells are one object: 10,000 rows of coloured logs take about 9 MB
  (measured: 16-18 bytes a cell). A guest that gives every cell a different direct colour defeats the
  interning (about 190 bytes a cell: 150 MB for 10,000 full 80-column rows); `history_lines` bounds it.
* **Resize.** No reflow (like pyte and xterm): narrowing clips lines, shortening drops the lines below the
  cursor first and then moves top lines into the scrollback so the cursor stays on screen.

A cell is a plain tuple with `Cell`'s fields (`VT.cell` and `VT.line_cells` return `Cell` named tuples):
``fg``/``bg`` are ``"default"``, a palette index 0-255, or ``"rrggbb"``. The second cell of a wide (CJK,
emoji) character holds ``""``, as in pyte.

Not implemented (ignored, never drawn): left/right margins (DECSLRM), double-width lines, sixel and other
DCS payloads, mouse reports (the widget uses the wheel for its scrollback), the G2/G3 charsets.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, NamedTuple

import pyte
from pyte import charsets as cs
from pyte import modes as mo
from pyte.screens import Margins, StaticDefaultDict
from rich.cells import get_character_cell_size

from .format import visible

#: combining marks kept on one cell, at most (a base character plus marks)
MAX_CLUSTER = 8
#: longest title kept (OSC 0/2), in characters
MAX_TITLE = 256
#: longest control sequence kept while waiting for its end; longer ones are ignored
MAX_SEQUENCE = 512
#: at most this many distinct cell attributes are interned before the cache starts again
_MAX_INTERNED_ATTRS = 4096

_BIDI_AND_FORMAT = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064"
    "\u2066\u2067\u2068\u2069\u2028\u2029\ufe0e\ufe0f\ufeff")

# private DEC modes handled here; DECOM (6), DECAWM (7) and DECTCEM (25) go to pyte
DECCKM = 1
DECCOLM = 3
ALT_47 = 47
ALT_1047 = 1047
SAVE_CURSOR_1048 = 1048
ALT_1049 = 1049
BRACKETED_PASTE = 2004
FOCUS_EVENTS = 1004
MOUSE_MODES = frozenset({9, 1000, 1002, 1003, 1005, 1006, 1015})
DECSCNM = 5
_PYTE_PRIVATE = frozenset({6, 7, 25})
_PYTE_ANSI = frozenset({4, 20})  # IRM, LNM


class Cell(NamedTuple):
    """One character cell, as `VT.cell` returns it: pyte's `Char` plus ``dim`` (SGR 2).

    On the screen and in the scrollback a cell is a plain tuple with these fields in this order (`DATA`,
    `FG`, ... index it): plain tuples of strings, ints and bools are dropped from the garbage collector's
    tracking, so 10,000 rows of scrollback cost a full collection nothing (as named tuples they added
    about 20 ms to each one).
    """

    data: str
    fg: str | int = "default"
    bg: str | int = "default"
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    strikethrough: bool = False
    reverse: bool = False
    blink: bool = False
    dim: bool = False


DATA, FG, BG, BOLD, ITALICS, UNDERSCORE, STRIKETHROUGH, REVERSE, BLINK, DIM = range(10)
RawCell = tuple  # a Cell's fields as a plain tuple
BLANK: RawCell = tuple(Cell(" "))
_REVERSE_BLANK: RawCell = tuple(Cell(" ", reverse=True))
_FIELD = {name: i for i, name in enumerate(Cell._fields)}


class _CellCache(dict):
    """character -> cell for one set of attributes (interned, so equal cells are one object)."""

    __slots__ = ("rest",)

    def __init__(self, attrs: RawCell) -> None:
        super().__init__()
        self.rest = attrs[1:]

    def __missing__(self, ch: str) -> RawCell:
        cell = self[ch] = (ch, *self.rest)
        return cell


class Savepoint(NamedTuple):
    x: int
    y: int
    attrs: RawCell
    g0: str
    g1: str
    charset: int
    origin: bool
    wrap: bool


def _width(ch: str) -> int:
    """Cells a character takes, as Rich (and so Textual) will draw it: 0, 1 or 2."""
    return get_character_cell_size(ch)


@lru_cache(maxsize=8192)
def _classify(ch: str) -> int:
    """How `draw` treats a non-ASCII character: 1 or 2, the cells it takes; 0, a mark that joins the
    previous cell (combining accents, Hangul vowels, emoji skin tones); -1, dropped: controls, format
    characters (bidi overrides, joiners, variation selectors, soft hyphen), line and paragraph separators.
    Widths are Rich's, so a row is as wide on screen as the emulator thinks."""
    if ch in _BIDI_AND_FORMAT or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
        return -1
    return get_character_cell_size(ch)


class VTScreen(pyte.Screen):
    """pyte's screen with xterm's alternate screen, scrollback, answers and safe drawing (see the module)."""

    def __init__(self, columns: int, lines: int, *, history_lines: int = 10_000,
                 on_answer: Callable[[str], None] | None = None) -> None:
        self.history: deque[tuple[RawCell, ...]] = deque(maxlen=max(0, history_lines))
        #: rows ever moved into the history (grows forever; the widget keeps its view anchored with it)
        self.history_pushed = 0
        self.on_answer = on_answer
        self.bells = 0
        self._cells: dict[RawCell, _CellCache] = {}
        self._sgr_cache: dict[tuple[RawCell, str, bool], RawCell] = {}
        self._colours: dict[str, str] = {}
        self._alt_buffer_saved: Any = None
        self._alt_cursor: Savepoint | None = None
        self._saved: Savepoint | None = None
        self._last_char = ""
        super().__init__(columns, lines)

    # --- state --------------------------------------------------------------------------------------

    @property
    def default_char(self) -> RawCell:  # type: ignore[override]
        """A blank cell; one shared object (rows compare their cells with it by identity first)."""
        return _REVERSE_BLANK if mo.DECSCNM in self.mode else BLANK

    @property
    def alternate(self) -> bool:
        """True while a full-screen program has the alternate screen."""
        return self._alt_buffer_saved is not None

    def reset(self) -> None:
        """RIS (``ESC c``) and start-up: the main screen, cleared, every mode back to its default. The
        scrollback is kept (xterm keeps it too; ``CSI 3 J`` clears it)."""
        self._alt_buffer_saved = None
        self._alt_cursor = None
        self._saved = None
        self.private_modes: set[int] = set()
        super().reset()
        self.cursor.attrs = self.default_char
        self._last_char = ""

    def answer(self, text: str) -> None:
        if self.on_answer is not None:
            self.on_answer(text)

    def write_process_input(self, data: str) -> None:
        self.answer(data)

    def cells_for(self, attrs: RawCell) -> _CellCache:
        cache = self._cells.get(attrs)
        if cache is None:
            if len(self._cells) >= _MAX_INTERNED_ATTRS:
                self._cells.clear()
            cache = self._cells[attrs] = _CellCache(attrs)
        return cache

    # --- drawing ------------------------------------------------------------------------------------

    def draw(self, data: str) -> None:
        """Draw printable text at the cursor (the parser never passes controls here)."""
        if not data:
            return
        table = self.g1_charset if self.charset else self.g0_charset
        if table is not cs.LAT1_MAP:
            data = data.translate(table)
        if data.isascii():
            self._draw_ascii(data)
        else:
            self._draw_unicode(data)

    def _wrap(self) -> None:
        self.dirty.add(self.cursor.y)
        self.cursor.x = 0
        self.index()

    def _split_wide(self, line: StaticDefaultDict, start: int, end: int) -> None:
        """Before cells ``start..end-1`` are overwritten, blank the halves of wide characters they cut."""
        cell = line.get(start)
        if cell is not None and cell[0] == "" and start > 0:
            head = line.get(start - 1)
            if head is not None:
                line[start - 1] = (" ", *head[1:])
        cell = line.get(end)
        if cell is not None and cell[0] == "":
            line[end] = (" ", *cell[1:])

    def _draw_ascii(self, data: str) -> None:
        cursor = self.cursor
        attrs = cursor.attrs
        cells = self._cells.get(attrs) or self.cells_for(attrs)
        x, n, columns = cursor.x, len(data), self.columns
        if x + n <= columns and mo.IRM not in self.mode:  # the common case: it fits on the row
            line = self.buffer[cursor.y]
            if line:
                self._split_wide(line, x, x + n)
            line.update(zip(range(x, x + n), map(cells.__getitem__, data)))
            cursor.x = x + n
            self.dirty.add(cursor.y)
            self._last_char = data[-1]
            return
        autowrap = mo.DECAWM in self.mode
        insert = mo.IRM in self.mode
        i = 0
        while i < n:
            if cursor.x >= columns:
                if autowrap:
                    self._wrap()
                else:
                    cursor.x = columns - 1
            x = cursor.x
            chunk = data[i:i + (columns - x)]
            count = len(chunk)
            if insert:
                self.insert_characters(count)
            line = self.buffer[cursor.y]
            self._split_wide(line, x, x + count)
            line.update(zip(range(x, x + count), map(cells.__getitem__, chunk)))
            cursor.x = x + count
            i += count
        self.dirty.add(cursor.y)
        self._last_char = data[-1]

    def _draw_unicode(self, data: str) -> None:
        cursor = self.cursor
        columns = self.columns
        autowrap = mo.DECAWM in self.mode
        insert = mo.IRM in self.mode
        cells = self.cells_for(cursor.attrs)
        for ch in data:
            width = _classify(ch)
            if width <= 0:
                if width == 0:
                    self._combine(ch)
                continue  # invisible, and able to reorder or join what the operator sees
            if width > columns:  # a wide character on a one-column screen
                ch, width = "\ufffd", 1
            if cursor.x >= columns or (width == 2 and cursor.x == columns - 1):
                if autowrap:
                    if cursor.x < columns:  # a wide character that does not fit: blank the last cell
                        line = self.buffer[cursor.y]
                        self._split_wide(line, cursor.x, cursor.x + 1)
                        line[cursor.x] = (" ", *cursor.attrs[1:])
                    self._wrap()
                else:
                    cursor.x = columns - width
            x = cursor.x
            if insert:
                self.insert_characters(width)
            line = self.buffer[cursor.y]
            self._split_wide(line, x, x + width)
            line[x] = cells[ch]
            if width == 2:
                line[x + 1] = cells[""]
            cursor.x = x + width
            self._last_char = ch
        self.dirty.add(cursor.y)

    def _combine(self, mark: str) -> None:
        """Put a zero-width mark (combining accent, Hangul vowel, skin tone) on the previous cell."""
        x, y = min(self.cursor.x, self.columns) - 1, self.cursor.y
        line = self.buffer[y]
        if x < 0:
            return
        cell = line[x]
        if cell[0] == "" and x > 0:  # the second half of a wide character: the mark goes on its head
            x -= 1
            cell = line[x]
        if len(cell[0]) >= MAX_CLUSTER:
            return
        if "\U0001f3fb" <= mark <= "\U0001f3ff" and _width(cell[0][0]) != 2:
            return  # a skin tone joins an emoji; alone, terminals draw it two cells wide: dropped
        line[x] = (unicodedata.normalize("NFC", cell[0] + mark), *cell[1:])
        self.dirty.add(y)

    def repeat(self, count: int | None = None) -> None:
        """REP (``CSI n b``): the last drawn character again, ``n`` times (ncurses uses it for runs)."""
        if self._last_char:
            self.draw(self._last_char * min(count or 1, self.columns * self.lines))

    # --- scrolling and scrollback -------------------------------------------------------------------

    def _push_history(self, line: StaticDefaultDict) -> None:
        if self.history.maxlen == 0:
            return
        end = min(max(line, default=-1) + 1, self.columns)
        default = line.default
        while end > 0:
            cell = line[end - 1]
            if cell is not default and cell != default:
                break
            end -= 1
        self.history.append(tuple(map(line.__getitem__, range(end))))
        self.history_pushed += 1

    def index(self) -> None:
        """IND, and LF at the bottom margin: scroll the region up one line; a line leaving the top of the
        main screen goes to the scrollback."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y == bottom:
            if top == 0 and not self.alternate:
                self._push_history(self.buffer[top])
            buffer = self.buffer
            self.dirty.update(range(top, bottom + 1))
            for y in range(top, bottom):
                buffer[y] = buffer[y + 1]
            buffer.pop(bottom, None)
        elif self.cursor.y < self.lines - 1:
            self.cursor.y += 1

    def reverse_index(self) -> None:
        """RI: up one line; at the top margin, scroll the region down."""
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y == top:
            buffer = self.buffer
            self.dirty.update(range(top, bottom + 1))
            for y in range(bottom, top, -1):
                buffer[y] = buffer[y - 1]
            buffer.pop(top, None)
        elif self.cursor.y > 0:
            self.cursor.y -= 1

    def scroll_up(self, count: int | None = None) -> None:
        """SU (``CSI n S``): scroll the region up ``n`` lines; the cursor stays."""
        x, y = self.cursor.x, self.cursor.y
        top, bottom = self.margins or Margins(0, self.lines - 1)
        self.cursor.y = bottom
        for _ in range(min(count or 1, bottom - top + 1)):
            self.index()
        self.cursor.x, self.cursor.y = x, y

    def scroll_down(self, count: int | None = None) -> None:
        """SD (``CSI n T``): scroll the region down ``n`` lines; the cursor stays."""
        x, y = self.cursor.x, self.cursor.y
        top, bottom = self.margins or Margins(0, self.lines - 1)
        self.cursor.y = top
        for _ in range(min(count or 1, bottom - top + 1)):
            self.reverse_index()
        self.cursor.x, self.cursor.y = x, y

    def set_scroll_region(self, top: int | None = None, bottom: int | None = None) -> None:
        """DECSTBM (``CSI top;bottom r``, 1-based); no parameters means the whole screen. The cursor goes
        home either way (pyte leaves it when the region is reset)."""
        if not top and not bottom:
            self.margins = None
            self.cursor_position()
        else:
            self.set_margins(top, bottom)

    def clear_history(self) -> None:
        self.history.clear()

    # --- erasing (pyte raises on parameters it does not know) ---------------------------------------

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        """ED: 0 below, 1 above, 2 all; 3 erases the scrollback only (xterm)."""
        if how == 3:
            self.clear_history()
        elif how in (0, 1, 2):
            super().erase_in_display(how)

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        if how in (0, 1, 2):
            super().erase_in_line(how)

    # --- cursor save/restore: one slot, as in xterm (pyte keeps an unbounded stack) -----------------

    def _savepoint(self) -> Savepoint:
        c = self.cursor
        return Savepoint(c.x, c.y, c.attrs, self.g0_charset, self.g1_charset, self.charset,
                         mo.DECOM in self.mode, mo.DECAWM in self.mode)

    def _restore(self, sp: Savepoint | None) -> None:
        if sp is None:
            self.mode.discard(mo.DECOM)
            self.cursor.attrs = self.default_char
            self.cursor_position()
            return
        self.g0_charset, self.g1_charset, self.charset = sp.g0, sp.g1, sp.charset
        for flag, mode in ((sp.origin, mo.DECOM), (sp.wrap, mo.DECAWM)):
            if flag:
                self.mode.add(mode)
            else:
                self.mode.discard(mode)
        self.cursor.x, self.cursor.y, self.cursor.attrs = sp.x, sp.y, sp.attrs
        self.ensure_hbounds()
        self.ensure_vbounds()

    def save_cursor(self) -> None:
        self._saved = self._savepoint()

    def restore_cursor(self) -> None:
        self._restore(self._saved)

    # --- modes --------------------------------------------------------------------------------------

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private"):
            for mode in modes:
                self._set_private(mode, True)
        else:
            super().set_mode(*(m for m in modes if m in _PYTE_ANSI))

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private"):
            for mode in modes:
                self._set_private(mode, False)
        else:
            super().reset_mode(*(m for m in modes if m in _PYTE_ANSI))

    def _set_private(self, mode: int, on: bool) -> None:
        if mode in _PYTE_PRIVATE:
            (super().set_mode if on else super().reset_mode)(mode, private=True)
        elif mode == DECSCNM:
            self._reverse_screen(on)
        elif mode in (ALT_47, ALT_1047, ALT_1049):
            if on:
                self._enter_alternate(save_cursor=mode == ALT_1049)
            else:
                self._leave_alternate(restore_cursor=mode == ALT_1049)
        elif mode == SAVE_CURSOR_1048:
            (self.save_cursor if on else self.restore_cursor)()
        elif mode in (DECCKM, BRACKETED_PASTE, FOCUS_EVENTS) or mode in MOUSE_MODES:
            if on:
                self.private_modes.add(mode)
            else:
                self.private_modes.discard(mode)
        # DECCOLM and everything else: ignored

    @property
    def app_cursor_keys(self) -> bool:
        """DECCKM: arrows send ``ESC O A`` instead of ``ESC [ A``."""
        return DECCKM in self.private_modes

    @property
    def bracketed_paste(self) -> bool:
        return BRACKETED_PASTE in self.private_modes

    @property
    def focus_events(self) -> bool:
        return FOCUS_EVENTS in self.private_modes

    def _reverse_screen(self, on: bool) -> None:
        """DECSCNM: the whole screen in reverse video (pyte's version needs named tuples)."""
        if on == (mo.DECSCNM in self.mode):
            return
        (self.mode.add if on else self.mode.discard)(mo.DECSCNM)
        for line in self.buffer.values():
            line.default = self.default_char
            for x in list(line):
                cell = line[x]
                line[x] = (*cell[:REVERSE], on, *cell[REVERSE + 1:])
        attrs = self.cursor.attrs
        self.cursor.attrs = (*attrs[:REVERSE], on, *attrs[REVERSE + 1:])
        self.dirty.update(range(self.lines))

    def alignment_display(self) -> None:
        """DECALN (``ESC # 8``): fill the screen with E."""
        self.dirty.update(range(self.lines))
        for y in range(self.lines):
            line = self.buffer[y]
            for x in range(self.columns):
                line[x] = ("E", *line[x][1:])

    def _new_buffer(self) -> Any:
        return type(self.buffer)(lambda: StaticDefaultDict(self.default_char))

    def _enter_alternate(self, *, save_cursor: bool) -> None:
        if self.alternate:
            if save_cursor:  # 1049 again: clear the alternate screen as xterm does
                self.buffer.clear()
                self.dirty.update(range(self.lines))
            return
        if save_cursor:
            self._alt_cursor = self._savepoint()
        self._alt_buffer_saved = self.buffer
        self.buffer = self._new_buffer()
        self.dirty.update(range(self.lines))

    def _leave_alternate(self, *, restore_cursor: bool) -> None:
        if not self.alternate:
            return
        self.buffer = self._alt_buffer_saved
        self._alt_buffer_saved = None
        if restore_cursor:
            self._restore(self._alt_cursor)
            self._alt_cursor = None
        self.dirty.update(range(self.lines))

    def soft_reset(self) -> None:
        """DECSTR (``CSI ! p``): modes, margins, attributes and the saved cursor back to their defaults;
        the screen is kept."""
        self.mode.discard(mo.IRM)
        self.mode.discard(mo.DECOM)
        self.mode.add(mo.DECAWM)
        self.mode.add(mo.DECTCEM)
        self.cursor.hidden = False
        self.private_modes.discard(DECCKM)
        self.margins = None
        self.cursor.attrs = self.default_char
        self.g0_charset, self.g1_charset, self.charset = cs.LAT1_MAP, cs.VT100_MAP, 0
        self._saved = None

    # --- attributes ---------------------------------------------------------------------------------

    def _rgb(self, r: int, g: int, b: int) -> str:
        key = f"{min(r, 255):02x}{min(g, 255):02x}{min(b, 255):02x}"
        colour = self._colours.get(key)
        if colour is None:
            if len(self._colours) > 65536:
                self._colours.clear()
            colour = self._colours[key] = key
        return colour

    def select_graphic_rendition(self, *params: int | tuple[int, ...] | None) -> None:
        """SGR with 16, 256 (``38;5;n``) and direct colours (``38;2;r;g;b`` and the colon forms)."""
        if not params or params == (0,) or params == (None,):
            self.cursor.attrs = self.default_char
            return
        attrs = self.cursor.attrs
        set_: dict[str, Any] = {}
        items = list(params)
        i = 0
        while i < len(items):
            p = items[i]
            i += 1
            if isinstance(p, tuple):  # colon sub-parameters: 38:5:n, 38:2::r:g:b, 4:3 (curly underline)
                head = p[0]
                if head in (38, 48):
                    colour = self._sub_colour(p[1:])
                    if colour is not None:
                        set_["fg" if head == 38 else "bg"] = colour
                elif head == 4:
                    set_["underscore"] = (p[1] if len(p) > 1 else 1) != 0
                continue
            p = p or 0
            if p == 0:
                set_ = dict(zip(Cell._fields[1:], self.default_char[1:]))
            elif p == 1:
                set_["bold"] = True
            elif p == 2:
                set_["dim"] = True
            elif p == 3:
                set_["italics"] = True
            elif p in (4, 21):
                set_["underscore"] = True
            elif p in (5, 6):
                set_["blink"] = True
            elif p == 7:
                set_["reverse"] = True
            elif p == 9:
                set_["strikethrough"] = True
            elif p == 22:
                set_["bold"] = set_["dim"] = False
            elif p == 23:
                set_["italics"] = False
            elif p == 24:
                set_["underscore"] = False
            elif p == 25:
                set_["blink"] = False
            elif p == 27:
                set_["reverse"] = mo.DECSCNM in self.mode
            elif p == 29:
                set_["strikethrough"] = False
            elif 30 <= p <= 37:
                set_["fg"] = p - 30
            elif p == 39:
                set_["fg"] = "default"
            elif 40 <= p <= 47:
                set_["bg"] = p - 40
            elif p == 49:
                set_["bg"] = "default"
            elif 90 <= p <= 97:
                set_["fg"] = p - 90 + 8
            elif 100 <= p <= 107:
                set_["bg"] = p - 100 + 8
            elif p in (38, 48, 58):  # 38;5;n or 38;2;r;g;b (58: underline colour, read and ignored)
                kind = items[i] if i < len(items) else None
                if kind == 5:
                    args = items[i + 1:i + 2]
                    i += 2
                elif kind == 2:
                    args = items[i + 1:i + 4]
                    i += 4
                else:
                    break  # malformed: xterm ignores the rest of the sequence
                if p != 58 and all(isinstance(a, int) for a in args):
                    colour = self._sub_colour((kind, *args))  # type: ignore[arg-type]
                    if colour is not None:
                        set_["fg" if p == 38 else "bg"] = colour
            # 8 (conceal), 53 (overline), 59 and the rest: ignored
        if set_:
            values = list(attrs)
            for name, value in set_.items():
                values[_FIELD[name]] = value
            self.cursor.attrs = tuple(values)

    def sgr(self, params: str) -> None:
        """SGR from its parameter string, through a cache: logs and ``ls --color`` repeat a few forms."""
        key = (self.cursor.attrs, params, mo.DECSCNM in self.mode)
        attrs = self._sgr_cache.get(key)
        if attrs is None:
            self.select_graphic_rendition(*_sgr_params(params))
            if len(self._sgr_cache) >= 4096:
                self._sgr_cache.clear()
            attrs = self._sgr_cache[key] = self.cursor.attrs
        else:
            self.cursor.attrs = attrs

    def _sub_colour(self, sub: tuple[int, ...]) -> str | int | None:
        if not sub:
            return None
        if sub[0] == 5 and len(sub) >= 2:
            return sub[1] if sub[1] is not None and 0 <= sub[1] <= 255 else None
        if sub[0] == 2 and len(sub) >= 4:
            r, g, b = (v or 0 for v in sub[-3:])
            return self._rgb(r, g, b)
        return None

    # --- reports ------------------------------------------------------------------------------------

    def report_device_attributes(self, mode: int = 0, **kwargs: Any) -> None:
        """DA: ``CSI c`` -> VT102 (``CSI ? 6 c``, as pyte); ``CSI > c`` -> VT220 firmware 10."""
        if mode:
            return
        if kwargs.get("secondary"):
            self.answer("\x1b[>1;10;0c")
        elif not kwargs.get("private"):
            self.answer("\x1b[?6c")

    def report_device_status(self, mode: int = 0, **kwargs: Any) -> None:
        """DSR: 5 -> ``CSI 0 n`` (ready); 6 -> ``CSI row;col R`` (relative to the margins in DECOM)."""
        if mode == 5 and not kwargs.get("private"):
            self.answer("\x1b[0n")
        elif mode == 6:
            x = min(self.cursor.x, self.columns - 1) + 1
            y = self.cursor.y + 1
            if mo.DECOM in self.mode and self.margins is not None:
                y -= self.margins.top
            self.answer(f"\x1b[{'?' if kwargs.get('private') else ''}{y};{x}R")

    # --- the rest -----------------------------------------------------------------------------------

    def bell(self, *args: Any) -> None:
        self.bells += 1

    def set_title(self, param: str) -> None:
        self.title = visible(param[:MAX_TITLE])

    def set_icon_name(self, param: str) -> None:
        self.icon_name = visible(param[:MAX_TITLE])

    def tab(self) -> None:
        stops = [s for s in self.tabstops if s > self.cursor.x and s < self.columns]
        self.cursor.x = min(stops) if stops else self.columns - 1

    def forward_tab(self, count: int | None = None) -> None:
        for _ in range(min(count or 1, self.columns)):
            self.tab()

    def back_tab(self, count: int | None = None) -> None:
        """CBT (``CSI n Z``): back to the previous tab stop, ``n`` times."""
        for _ in range(min(count or 1, self.columns)):
            stops = [s for s in self.tabstops if s < self.cursor.x]
            self.cursor.x = max(stops) if stops else 0

    def cursor_forward(self, count: int | None = None) -> None:
        self.cursor.x = min(self.cursor.x, self.columns - 1)
        super().cursor_forward(count)

    def linefeed(self) -> None:
        self.index()
        if mo.LNM in self.mode:
            self.carriage_return()

    def next_line(self) -> None:
        """NEL (``ESC E``): carriage return and line feed (pyte does only the line feed)."""
        self.carriage_return()
        self.index()

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Follow the widget's size; see the module docstring for what happens to the content."""
        lines = max(1, lines or self.lines)
        columns = max(1, columns or self.columns)
        if lines == self.lines and columns == self.columns:
            return
        if columns < self.columns:
            buffers = [self.buffer] + ([self._alt_buffer_saved] if self.alternate else [])
            for buffer in buffers:
                for line in buffer.values():
                    for x in [x for x in line if x >= columns]:
                        del line[x]
                    last = line.get(columns - 1)
                    if last is not None and last[0] and _width(last[0][0]) == 2:
                        line[columns - 1] = (" ", *last[1:])  # its second half was cut off
        if lines < self.lines:
            if self.alternate:
                main_y = self._alt_cursor.y if self._alt_cursor is not None else self.lines - 1
                new_y = self._shrink(self._alt_buffer_saved, main_y, lines, to_history=True)
                if self._alt_cursor is not None:
                    self._alt_cursor = self._alt_cursor._replace(y=new_y)
                self.cursor.y = self._shrink(self.buffer, self.cursor.y, lines, to_history=False)
            else:
                self.cursor.y = self._shrink(self.buffer, self.cursor.y, lines, to_history=True)
            if self._saved is not None:
                self._saved = self._saved._replace(y=min(self._saved.y, lines - 1))
        self.tabstops = {t for t in self.tabstops if t < columns} | set(range(
            (self.columns // 8 + 1) * 8, columns, 8))
        self.lines, self.columns = lines, columns
        self.margins = None
        self.cursor.x = min(self.cursor.x, columns - 1)
        self.cursor.y = min(self.cursor.y, lines - 1)
        self.dirty.update(range(lines))

    def _shrink(self, buffer: Any, cursor_y: int, lines: int, *, to_history: bool) -> int:
        """Fit ``buffer`` into ``lines`` rows: drop rows below the cursor, then scroll top rows off.
        Returns the cursor's new row."""
        old = self.lines
        below = max(0, old - 1 - cursor_y)
        for y in range(old - min(below, old - lines), old):
            buffer.pop(y, None)
        remaining = old - min(below, old - lines)
        scroll = remaining - lines
        if scroll > 0:
            for y in range(scroll):
                if to_history and y in buffer:
                    self._push_history(buffer[y])
                elif to_history:
                    self._push_history(StaticDefaultDict(self.default_char))
            for y in range(remaining):
                row = buffer.pop(y, None)
                if y >= scroll and row is not None:
                    buffer[y - scroll] = row
        return max(0, cursor_y - max(0, scroll))


# --- the parser -----------------------------------------------------------------------------------------

_TEXT = re.compile(r"[^\x00-\x1f\x7f-\x9f]+")
_CSI_BODY = re.compile(r"([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])")
_CSI_WHOLE = re.compile(r"\x1b\[([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])")
_CSI_PREFIX = re.compile(r"[\x30-\x3f]*[\x20-\x2f]*")
_ESC_BODY = re.compile(r"([\x20-\x2f]*)([\x30-\x7e])")
_ESC_PREFIX = re.compile(r"[\x20-\x2f]*")


def _match_end(prefix: re.Pattern[str], text: str, pos: int) -> int:
    """Where a prefix that may be empty (so always matches) ends."""
    match = prefix.match(text, pos)
    return match.end() if match is not None else pos
_OSC_END = re.compile(r"[\x07\x18\x1a\x1b\x9c]")
_STRING_END = re.compile(r"[\x18\x1a\x1b\x9c]")
_CSI_IGNORE_END = re.compile(r"[\x40-\x7e]")

_STRING_INTRODUCERS = {"]": "osc", "P": "dcs", "X": "sos", "^": "pm", "_": "apc"}
_C1_STRINGS = {"\x9d": "osc", "\x90": "dcs", "\x98": "sos", "\x9e": "pm", "\x9f": "apc"}


class _Parser:
    """ECMA-48 bytes-as-text -> calls on a `VTScreen`. Keeps the state of a sequence cut by a feed."""

    def __init__(self, screen: VTScreen) -> None:
        self.screen = screen
        self._pending = ""          # the start of an escape or control sequence waiting for its end
        self._string: str | None = None  # inside OSC/DCS/SOS/PM/APC: which
        self._string_buf: list[str] = []
        self._string_len = 0
        self._skip_csi = False       # inside a malformed or overlong CSI: ignore up to its final byte
        s = screen
        self._controls: dict[str, Callable[[], None]] = {
            "\x07": s.bell, "\x08": s.backspace, "\x09": s.tab, "\x0a": s.linefeed, "\x0b": s.linefeed,
            "\x0c": s.linefeed, "\x0d": s.carriage_return, "\x0e": s.shift_out, "\x0f": s.shift_in,
            # C1 controls that are not strings or CSI
            "\x84": s.index, "\x85": s.next_line, "\x88": s.set_tab_stop, "\x8d": s.reverse_index,
        }
        self._escapes: dict[str, Callable[[], None]] = {
            "7": s.save_cursor, "8": s.restore_cursor, "D": s.index, "E": s.next_line, "M": s.reverse_index,
            "H": s.set_tab_stop, "c": s.reset,
        }

    def reset(self) -> None:
        self._pending = ""
        self._string = None
        self._string_buf = []
        self._string_len = 0
        self._skip_csi = False

    def feed(self, text: str) -> None:
        if self._pending:
            text = self._pending + text
            self._pending = ""
        i, n = 0, len(text)
        screen = self.screen
        text_match = _TEXT.match
        csi_match = _CSI_WHOLE.match
        sgr = screen.sgr
        while i < n:
            if self._string is not None:
                i = self._in_string(text, i)
                continue
            if self._skip_csi:
                m = _CSI_IGNORE_END.search(text, i)
                if m is None:
                    return
                self._skip_csi = False
                i = m.end()
                continue
            m = text_match(text, i)
            if m is not None:
                screen.draw(m.group())
                i = m.end()
                continue
            ch = text[i]
            if ch == "\x1b":
                m = csi_match(text, i)
                if m is not None:  # the common case: a whole CSI sequence
                    params, inter, final = m.groups()
                    if final == "m" and not inter and (not params or params[0] not in "<=>?"):
                        sgr(params)
                    elif m.end() - i <= MAX_SEQUENCE:
                        self._dispatch_csi(params, inter, final)
                    i = m.end()
                    continue
                if i + 1 >= n:
                    self._pending = ch
                    return
                nxt = text[i + 1]
                if nxt == "[":
                    text, i, n = self._csi(text, i, i + 2)
                elif nxt in _STRING_INTRODUCERS:
                    self._start_string(_STRING_INTRODUCERS[nxt])
                    i += 2
                else:
                    i = self._escape(text, i)
            elif ch == "\x9b":
                text, i, n = self._csi(text, i, i + 1)
            elif ch in _C1_STRINGS:
                self._start_string(_C1_STRINGS[ch])
                i += 1
            else:
                control = self._controls.get(ch)
                if control is not None:
                    control()
                i += 1  # NUL, ENQ, CAN, SUB, DEL and the other C0/C1 controls: nothing

    # --- strings ------------------------------------------------------------------------------------

    def _start_string(self, kind: str) -> None:
        self._string = kind
        self._string_buf = []
        self._string_len = 0

    def _in_string(self, text: str, i: int) -> int:
        kind = self._string
        m = (_OSC_END if kind == "osc" else _STRING_END).search(text, i)
        end = m.start() if m is not None else len(text)
        if kind == "osc" and self._string_len < MAX_TITLE + 8:
            piece = text[i:min(end, i + MAX_TITLE + 8 - self._string_len)]
            self._string_buf.append(piece)
            self._string_len += len(piece)
        if m is None:
            return len(text)
        ch = m.group()
        if ch == "\x1b":
            if end + 1 >= len(text):
                self._pending = "\x1b"  # ESC as the last character: ST or a new sequence, the next feed says
                return len(text)
            if text[end + 1] == "\\":
                self._finish_string()
                return end + 2
            self._abort_string()  # ESC anything else: the string is cancelled, the sequence starts
            return end
        if ch in "\x18\x1a":
            self._abort_string()
        else:  # BEL (OSC only) or ST
            self._finish_string()
        return end + 1

    def _abort_string(self) -> None:
        self._string = None
        self._string_buf = []
        self._string_len = 0

    def _finish_string(self) -> None:
        kind, body = self._string, "".join(self._string_buf)
        self._abort_string()
        if kind != "osc":
            return  # DCS, SOS, PM, APC: consumed, never shown
        code, _, param = body.partition(";")
        if code in ("0", "2"):
            self.screen.set_title(param)
        if code in ("0", "1"):
            self.screen.set_icon_name(param)
        # OSC 52 (clipboard), 8 (links), 4/10/11/12 (colours and colour queries), 7, 133, ...: discarded

    # --- escape sequences ---------------------------------------------------------------------------

    def _escape(self, text: str, i: int) -> int:
        m = _ESC_BODY.match(text, i + 1)
        if m is None:
            end = _match_end(_ESC_PREFIX, text, i + 1)
            if end >= len(text):
                if len(text) - i <= MAX_SEQUENCE:
                    self._pending = text[i:]
                return len(text)
            return end  # ESC (and intermediates) followed by a control or a non-ASCII character: dropped
        inter, final = m.groups()
        screen = self.screen
        if not inter:
            handler = self._escapes.get(final)
            if handler is not None:
                handler()
            elif final == "\\":
                pass  # a stray ST
            # ESC = / ESC > (keypad modes), ESC N / ESC O (single shifts), ...: ignored
        elif inter in ("(", ")") and final in cs.MAPS:
            screen.define_charset(final, inter)
        elif inter == "#" and final == "8":
            screen.alignment_display()
        return m.end()

    def _csi(self, text: str, start: int, body: int) -> tuple[str, int, int]:
        """Parse the CSI beginning at ``start`` (its parameters at ``body``); returns the text (changed when
        a control inside the sequence is executed and removed), the index after it, and its length."""
        while True:
            m = _CSI_BODY.match(text, body)
            if m is not None:
                if m.end() - start > MAX_SEQUENCE:
                    return text, m.end(), len(text)
                self._dispatch_csi(*m.groups())
                return text, m.end(), len(text)
            k = _match_end(_CSI_PREFIX, text, body)
            if k >= len(text):  # cut by the end of this feed
                if k - start <= MAX_SEQUENCE:
                    self._pending = text[start:]
                else:
                    self._skip_csi = True
                return text, len(text), len(text)
            ch = text[k]
            if ch in "\x18\x1a":
                return text, k + 1, len(text)   # CAN, SUB: cancelled
            if ch == "\x1b":
                return text, k, len(text)       # ESC: cancelled, a new sequence starts
            if ch < "\x20":
                control = self._controls.get(ch)  # a C0 control inside CSI is executed (VT500)
                if control is not None:
                    control()
                text = text[:k] + text[k + 1:]
                continue
            if ch == "\x7f":
                text = text[:k] + text[k + 1:]  # DEL inside CSI is ignored
                continue
            if "\x30" <= ch <= "\x3f":          # a parameter after an intermediate: malformed
                self._skip_csi = True
                return text, k, len(text)
            return text, k, len(text)            # anything else ends it; the character is handled anew

    def _dispatch_csi(self, params: str, inter: str, final: str) -> None:
        screen = self.screen
        marker = ""
        if params and params[0] in "<=>?":
            marker, params = params[0], params[1:]
        if any(c in "<=>?" for c in params):
            return
        if inter:
            if inter == "!" and final == "p" and not marker:
                screen.soft_reset()
            return  # DECSCUSR (" q"), DECRQM ("$p"), DECSCA ('"q'), ...: ignored
        if final == "m":
            if not marker:
                screen.sgr(params)
            return  # CSI > 4;2 m (modifyOtherKeys) and friends
        args = _params(params)
        first = args[0] if args else 0
        if marker == "?":
            if final == "h":
                screen.set_mode(*args, private=True)
            elif final == "l":
                screen.reset_mode(*args, private=True)
            elif final == "J":
                screen.erase_in_display(first)
            elif final == "K":
                screen.erase_in_line(first)
            elif final == "n":
                screen.report_device_status(first, private=True)
            return
        if marker == ">":
            if final == "c":
                screen.report_device_attributes(first, secondary=True)
            return
        if marker:
            return
        handler = _CSI_HANDLERS.get(final)
        if handler is not None:
            handler(screen, args)


def _number(p: str) -> int:
    head = p.partition(":")[0]
    return min(int(head), 65535) if head.isdigit() else 0


def _params(params: str) -> list[int]:
    if not params:
        return []
    return [_number(p) for p in params.split(";")[:32]]


def _sgr_params(params: str) -> list[int | tuple[int, ...] | None]:
    out: list[int | tuple[int, ...] | None] = []
    for p in params.split(";")[:32]:
        if ":" in p:
            out.append(tuple(min(int(v), 65535) if v.isdigit() else 0 for v in p.split(":")[:8]))
        else:
            out.append(min(int(p), 65535) if p.isdigit() else None)
    return out


def _n(args: list[int], i: int = 0) -> int | None:
    return args[i] if len(args) > i and args[i] else None


def _limit(args: list[int], screen: VTScreen, i: int = 0) -> int:
    """A count parameter (default 1), no larger than the screen can use."""
    return min(args[i] if len(args) > i and args[i] else 1, max(screen.columns, screen.lines))


_CSI_HANDLERS: dict[str, Callable[[VTScreen, list[int]], None]] = {
    "@": lambda s, a: s.insert_characters(_limit(a, s)),
    "A": lambda s, a: s.cursor_up(_limit(a, s)),
    "B": lambda s, a: s.cursor_down(_limit(a, s)),
    "C": lambda s, a: s.cursor_forward(_limit(a, s)),
    "D": lambda s, a: s.cursor_back(_limit(a, s)),
    "E": lambda s, a: s.cursor_down1(_limit(a, s)),
    "F": lambda s, a: s.cursor_up1(_limit(a, s)),
    "G": lambda s, a: s.cursor_to_column(_n(a)),
    "`": lambda s, a: s.cursor_to_column(_n(a)),
    "H": lambda s, a: s.cursor_position(_n(a), _n(a, 1)),
    "f": lambda s, a: s.cursor_position(_n(a), _n(a, 1)),
    "I": lambda s, a: s.forward_tab(_limit(a, s)),
    "J": lambda s, a: s.erase_in_display(a[0] if a else 0),
    "K": lambda s, a: s.erase_in_line(a[0] if a else 0),
    "L": lambda s, a: s.insert_lines(_limit(a, s)),
    "M": lambda s, a: s.delete_lines(_limit(a, s)),
    "P": lambda s, a: s.delete_characters(_limit(a, s)),
    "S": lambda s, a: s.scroll_up(_limit(a, s)),
    "T": lambda s, a: s.scroll_down(_limit(a, s)) if len(a) <= 1 else None,  # 5 params: mouse tracking
    "X": lambda s, a: s.erase_characters(_limit(a, s)),
    "Z": lambda s, a: s.back_tab(_limit(a, s)),
    "a": lambda s, a: s.cursor_forward(_limit(a, s)),
    "b": lambda s, a: s.repeat(min(a[0] if a and a[0] else 1, s.columns * s.lines)),
    "c": lambda s, a: s.report_device_attributes(a[0] if a else 0),
    "d": lambda s, a: s.cursor_to_line(_n(a)),
    "e": lambda s, a: s.cursor_down(_limit(a, s)),
    "g": lambda s, a: s.clear_tab_stop(a[0] if a else 0),
    "h": lambda s, a: s.set_mode(*a),
    "l": lambda s, a: s.reset_mode(*a),
    "n": lambda s, a: s.report_device_status(a[0] if a else 0),
    "r": lambda s, a: s.set_scroll_region(_n(a), _n(a, 1)),
    "s": lambda s, a: s.save_cursor() if not a else None,
    "u": lambda s, a: s.restore_cursor() if not a else None,
    # "t" (window operations and reports, titles among them) is deliberately absent
}


class VT:
    """A terminal: feed it bytes, read `screen` (a `VTScreen`); answers go to ``on_answer`` as bytes.

    >>> vt = VT(20, 2)
    >>> vt.feed(b"\\x1b[31mred\\x1b[0m ok")
    >>> vt.plain_text()
    'red ok\\n'
    """

    def __init__(self, columns: int = 80, lines: int = 24, *, history_lines: int = 10_000,
                 on_answer: Callable[[bytes], None] | None = None) -> None:
        self._on_answer = on_answer
        self.screen = VTScreen(columns, lines, history_lines=history_lines, on_answer=self._answer)
        self._parser = _Parser(self.screen)
        self._decoder = _utf8_decoder()

    def _answer(self, text: str) -> None:
        if self._on_answer is not None:
            self._on_answer(text.encode("ascii"))

    @property
    def columns(self) -> int:
        return self.screen.columns

    @property
    def lines(self) -> int:
        return self.screen.lines

    def feed(self, data: bytes) -> None:
        """Process bytes from the guest. UTF-8 (invalid bytes show as U+FFFD); a character or a sequence
        split between two feeds is completed by the next."""
        self._parser.feed(self._decoder.decode(data))

    def feed_text(self, text: str) -> None:
        self._parser.feed(text)

    def reset(self) -> None:
        """A hard reset (as RIS), also of a half-received sequence; the scrollback is kept."""
        self._decoder = _utf8_decoder()
        self._parser.reset()
        self.screen.reset()

    def resize(self, columns: int, lines: int) -> None:
        self.screen.resize(lines=lines, columns=columns)

    def line_cells(self, y: int) -> list[Cell]:
        """The cells of screen row ``y`` (0 = top), ``columns`` of them."""
        line = self.screen.buffer.get(y)
        if line is None:
            return [Cell._make(self.screen.default_char)] * self.screen.columns
        return [Cell._make(line[x]) for x in range(self.screen.columns)]

    def cell(self, x: int, y: int) -> Cell:
        """The cell at column ``x``, row ``y`` of the screen (0-based)."""
        line = self.screen.buffer.get(y)
        return Cell._make(line[x] if line is not None else self.screen.default_char)

    def history_row(self, index: int) -> list[Cell]:
        """Row ``index`` of the scrollback (0 = oldest; -1 = newest), trailing blanks left out."""
        return [Cell._make(c) for c in self.screen.history[index]]

    def display(self) -> list[str]:
        """Screen rows as text (the second half of a wide character left out), trailing blanks kept."""
        return [row_text(self.line_cells(y)) for y in range(self.screen.lines)]

    def plain_text(self) -> str:
        """The screen as text: one line per row, trailing blanks removed, rows joined by newlines."""
        return "\n".join(line.rstrip() for line in self.display())

    def scrollback_text(self) -> str:
        """The scrollback (oldest first) as text, like `plain_text`."""
        return "\n".join(row_text(row).rstrip() for row in self.screen.history)


def row_text(cells: Iterable[RawCell]) -> str:
    """The text of a row of cells as drawn: a wide character once, a half without its other half blank."""
    out: list[str] = []
    wide = False
    for cell in cells:
        data = cell[0]
        if data == "":
            if not wide:
                out.append(" ")
            wide = False
            continue
        if wide:  # the previous cell was a first half without its second
            out[-1] = " "
        out.append(data)
        wide = not data.isascii() and _width(data[0]) == 2
    if wide:
        out[-1] = " "
    return "".join(out)


def _utf8_decoder() -> Any:
    import codecs

    return codecs.getincrementaldecoder("utf-8")("replace")
