"""The terminal emulator (`hvdeck.widgets.vt`) against byte streams recorded from real programs.

The streams in tests/fixtures/terminal/ were recorded on a pty (record.py: busybox ash with its
``CSI 6 n`` after each prompt, GNU ls --color, vim with syntax colours, busybox vi, procps top, CJK and
emoji, a colour test pattern, hostile sequences). The expected screens come from another terminal: each
stream was replayed in tmux and captured (tmux_oracle.py), so these tests compare the emulator with tmux,
cell text, cursor, alternate screen and scrollback, at every step of every recording. Styles are checked
at positions against the SGR sequences visible in the streams.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hvdeck.widgets.format import visible
from hvdeck.widgets.terminal_keys import key_bytes, normalize_key, paste_bytes
from hvdeck.widgets.terminal_log import PlainText, SessionLog
from hvdeck.widgets.vt import VT, Cell

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "terminal"
RECORDED = sorted(p.stem for p in FIXTURES.glob("*.bin"))
ORACLE = sorted(p.name.removesuffix(".tmux.json") for p in FIXTURES.glob("*.tmux.json"))


def meta(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def stream(name: str) -> bytes:
    return (FIXTURES / f"{name}.bin").read_bytes()


def replay(name: str, upto: int | None = None, *, answers: list[bytes] | None = None,
           chunk: int | None = None) -> VT:
    """A terminal of the recorded size fed the recording (up to ``upto`` bytes, ``chunk`` bytes a feed)."""
    m = meta(name)
    vt = VT(m["columns"], m["lines"], on_answer=answers.append if answers is not None else None)
    data = stream(name)[:upto]
    if chunk is None:
        vt.feed(data)
    else:
        for i in range(0, len(data), chunk):
            vt.feed(data[i:i + chunk])
    return vt


def step_offset(name: str, keys: str) -> int:
    return next(s["offset"] for s in meta(name)["steps"] if s["keys"] == keys)


def rows(vt: VT) -> list[str]:
    return [line.rstrip() for line in vt.display()]


_DROPPED = dict.fromkeys(map(ord, "\u200d\ufe0f\ufe0e\u200b\ufeff\u202e\u202c"))


def as_drawn(line: str) -> str:
    """tmux's text for a row, with the characters the emulator drops on purpose (zero-width joiners,
    variation selectors, bidi overrides: they change how a row reads or how wide it is) left out, and
    combining marks composed (the emulator keeps a cell's text in NFC)."""
    return unicodedata.normalize("NFC", line.translate(_DROPPED))


def checkpoints() -> list[tuple[str, int]]:
    out = []
    for name in ORACLE:
        oracle = json.loads((FIXTURES / f"{name}.tmux.json").read_text())
        out += [(name, i) for i in range(len(oracle["checkpoints"]))]
    return out


@pytest.mark.parametrize(("name", "index"), checkpoints(), ids=lambda v: str(v))
def test_screen_matches_tmux_at_every_step(name: str, index: int) -> None:
    cp = json.loads((FIXTURES / f"{name}.tmux.json").read_text())["checkpoints"][index]
    vt = replay(name, cp["offset"])
    assert rows(vt) == [as_drawn(line) for line in cp["screen"]]
    assert [min(vt.screen.cursor.x, vt.columns - 1), vt.screen.cursor.y] == cp["cursor"]
    assert vt.screen.alternate is cp["alternate"]
    scrollback = vt.scrollback_text().split("\n") if vt.screen.history else []
    assert scrollback == [as_drawn(line) for line in cp["history"]]


def test_every_recording_has_an_oracle_or_its_own_test() -> None:
    assert set(RECORDED) == set(ORACLE) | {"hostile"}


@pytest.mark.parametrize("name", RECORDED)
@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_feeding_in_pieces_gives_the_same_cells(name: str, chunk: int) -> None:
    """Sequences and UTF-8 characters cut between two feeds are completed by the next."""
    whole, pieces = replay(name), replay(name, chunk=chunk)
    for y in range(whole.lines):
        assert list(pieces.line_cells(y)) == list(whole.line_cells(y))
    assert list(pieces.screen.history) == list(whole.screen.history)
    assert (pieces.screen.cursor.x, pieces.screen.cursor.y) == (whole.screen.cursor.x, whole.screen.cursor.y)


def test_a_multibyte_character_split_across_feeds() -> None:
    vt = VT(10, 2)
    data = "日本".encode()
    vt.feed(data[:1])
    vt.feed(data[1:4])
    vt.feed(data[4:])
    assert vt.plain_text() == "日本\n"
    assert [vt.cell(x, 0).data for x in range(4)] == ["日", "", "本", ""]


# --- busybox ash: prompts, cursor position reports, line editing ---------------------------------------

def test_busybox_prompt_queries_are_answered_with_the_cursor_position() -> None:
    answers: list[bytes] = []
    vt = replay("busybox_sh", answers=answers)
    data = stream("busybox_sh")
    assert data.count(b"\x1b[6n") == 6
    # after each prompt "tinyguest# ", the cursor is in column 12 of the prompt's row (1-based)
    assert answers == [b"\x1b[6;12R", b"\x1b[8;12R", b"\x1b[10;12R", b"\x1b[12;12R", b"\x1b[24;12R",
                       b"\x1b[24;12R"]
    assert vt.plain_text().splitlines()[-1] == "tinyguest# exit"


def test_busybox_line_editing_backspace_redraw() -> None:
    vt = replay("busybox_sh", step_offset("busybox_sh", "\x1b[A"))
    assert rows(vt)[7] == "tinyguest# echo edited"
    assert rows(vt)[8] == "edited"


def test_scrollback_after_overflow() -> None:
    vt = replay("busybox_sh")
    history = vt.scrollback_text().split("\n")
    assert "line 1 of 30" in history
    assert "line 30 of 30" not in history  # still on screen
    assert rows(vt)[0].startswith("line ")
    assert history[:5] == ["", "", "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) built-in shell (ash)",
                           "Enter 'help' for a list of built-in commands.", ""]


def test_scrollback_is_bounded() -> None:
    vt = VT(40, 10, history_lines=1000)
    vt.feed(b"".join(b"line %d\r\n" % i for i in range(25_000)))
    assert len(vt.screen.history) == 1000
    assert vt.screen.history_pushed == 25_000 - 9
    history = vt.scrollback_text().split("\n")
    assert history[0] == f"line {25_000 - 9 - 1000}"
    assert history[-1] == f"line {25_000 - 9 - 1}"
    # rows are stored without their trailing blanks, and equal cells are one object
    assert max(len(row) for row in vt.screen.history) == len("line 24990")
    assert len({id(row[0]) for row in vt.screen.history}) == 1


def test_erase_saved_lines_clears_the_scrollback_only() -> None:
    vt = VT(20, 3)
    vt.feed(b"a\r\nb\r\nc\r\nd")
    assert vt.scrollback_text() == "a"
    vt.feed(b"\x1b[3J")
    assert vt.scrollback_text() == ""
    assert vt.plain_text() == "b\nc\nd"


# --- ls --color: 16-colour attributes -------------------------------------------------------------------

def test_ls_color_styles() -> None:
    vt = replay("ls_color")
    lines = rows(vt)
    assert lines[10].endswith(" bin") and lines[16].endswith(" setuid-tool")
    x = lines[10].index("bin")
    assert vt.cell(x, 10)[1:4] == (4, "default", True)           # 01;34: bold blue
    assert vt.cell(x + 2, 10).data == "n" and vt.cell(x + 2, 10).fg == 4
    assert vt.cell(x - 1, 10).fg == "default"                     # the space before it
    run = lines[15].index("run.sh")
    assert (vt.cell(run, 15).fg, vt.cell(run, 15).bold) == (2, True)      # 01;32: bold green
    pipe = lines[14].index("pipe")
    assert (vt.cell(pipe, 14).fg, vt.cell(pipe, 14).bold) == (3, False)   # 33: yellow
    suid = lines[16].index("setuid-tool")
    assert (vt.cell(suid, 16).fg, vt.cell(suid, 16).bg) == (7, 1)         # 37;41
    sticky = lines[17].index("shared-tmp")
    assert (vt.cell(sticky, 17).fg, vt.cell(sticky, 17).bg) == (0, 2)     # 30;42
    link = lines[11].index("broken-link")
    assert vt.cell(link, 11).fg == 6 and vt.cell(link + len("broken-link") + 1, 11).fg == "default"
    assert vt.cell(0, 8) == Cell("-")


# --- the colour test pattern: 16, 256 and direct colours, attributes ----------------------------------

def test_colour_pattern() -> None:
    vt = replay("colours")
    history = [vt.history_row(i) for i in range(len(vt.screen.history))]
    bright = "".join(c.data for c in history[7])
    assert bright.startswith("  0  1  2")
    assert [history[7][2 + 3 * i].fg for i in range(16)] == list(range(16))  # 30..37 then 90..97
    for row in range(16):  # the 256-colour cube: each 4-cell block has background row*16+column
        y = 2 + row
        for col in range(16):
            assert vt.cell(col * 4, y).bg == row * 16 + col
    truecolour = [vt.cell(x, 19).bg for x in range(64)]
    assert truecolour[0] == "00ff80" and truecolour[63] == "ff0080"
    colon = [vt.cell(x, 20).fg for x in range(64)]       # 38:2::r:g:b
    assert colon[0] == "0000ff" and colon[10] == "2800d7"
    attrs = rows(vt)[21]
    at = {word: vt.cell(attrs.index(word), 21) for word in ("bold", "dim", "italic", "underline", "blink",
                                                            "reverse", "strike", "all", "plain")}
    assert at["bold"].bold and not at["bold"].dim
    assert at["dim"].dim and not at["dim"].bold
    assert at["italic"].italics and at["underline"].underscore and at["blink"].blink
    assert at["reverse"].reverse and at["strike"].strikethrough
    assert at["all"][1:7] == (1, 3, True, False, True, False)
    assert at["plain"][1:] == Cell(" ")[1:]                # 22;24;39;49 undid every one of them


# --- full-screen programs -------------------------------------------------------------------------------

def test_vim_alternate_screen_colours_and_cursor() -> None:
    vt = replay("vim_80x24", step_offset("vim_80x24", "\x05\x05\x05"))
    assert vt.screen.alternate
    lines = rows(vt)
    assert lines[0].startswith("  1 \"\"\"How numbers look")
    assert (vt.screen.cursor.x, vt.screen.cursor.y) == (4, 0)
    assert vt.cell(2, 0) == Cell("1", fg=130)                   # 38;5;130 line numbers
    assert vt.cell(4, 0).fg == 1                                # a docstring is red
    kw = lines[3].index("from")
    assert (vt.cell(kw, 3).data, vt.cell(kw, 3).fg) == ("f", 5)  # keywords are magenta
    assert lines[23].startswith('"~/sample.py" 135L')
    # vim's own probes were answered and nothing of them is on screen
    assert not any("\x1b" in line or "zz" in line for line in lines)
    assert not vt.screen.history                                # the alternate screen keeps none


def test_vim_scrolls_with_ctrl_e_and_leaves_the_main_screen_as_it_was() -> None:
    before = b"tinyguest# vim sample.py\r\n"
    vt = VT(80, 24)
    vt.feed(before)
    data = stream("vim_80x24")
    vt.feed(data[:step_offset("vim_80x24", "/def \r")])
    assert rows(vt)[0] == "  4"                                 # three lines scrolled away
    vt.feed(data[step_offset("vim_80x24", "/def \r"):])
    assert not vt.screen.alternate
    assert rows(vt)[0] == "tinyguest# vim sample.py"
    assert (vt.screen.cursor.x, vt.screen.cursor.y) == (0, 1)   # 1049 restored the cursor
    assert vt.screen.app_cursor_keys is False and vt.screen.bracketed_paste is False


def test_vim_modes_while_running() -> None:
    vt = replay("vim_80x24", step_offset("vim_80x24", "G"))
    assert vt.screen.app_cursor_keys          # DECCKM
    assert vt.screen.bracketed_paste          # 2004
    assert vt.screen.focus_events             # 1004
    assert vt.screen.cursor.hidden is False


def test_busybox_vi_page_forward_and_delete() -> None:
    vt = replay("busybox_vi", step_offset("busybox_vi", "jjjjx"))
    assert vt.screen.alternate
    assert rows(vt)[0] == '            if unit == "B":'     # ctrl-f redrew the page by cursor addressing
    assert rows(vt)[23] == "- /tmp/hvdeck-terminal-record/sample.py 23/135 17%"
    vt = replay("busybox_vi", step_offset("busybox_vi", ":q!\r"))
    assert rows(vt)[4] == '            eturn f"{value:.1f}{unit}"'   # x deleted the r under the cursor
    assert "[Modified] 27/135" in rows(vt)[23]
    assert (vt.screen.cursor.x, vt.screen.cursor.y) == (12, 4)
    assert not replay("busybox_vi").screen.alternate


def test_top_redraws_in_place() -> None:
    vt = replay("top", step_offset("top", "q"))
    lines = rows(vt)
    assert lines[0].startswith("top - ") and lines[1].startswith("Tasks:")
    assert lines[6].split()[:3] == ["PID", "USER", "PR"]
    header = [vt.cell(x, 6) for x in range(vt.columns)]
    assert all(c.reverse for c in header)                       # the column header is in reverse video
    assert vt.cell(6, 1).bold                                   # the figures are bold
    assert vt.screen.cursor.hidden                              # top hides the cursor (DECTCEM)
    assert stream("top").count(b"top - ") >= 3                  # it redrew several times, in place
    assert not vt.screen.history


def test_wrapped_long_lines() -> None:
    vt = replay("wrap")
    lines = rows(vt)
    numbers = " ".join(str(i) for i in range(1, 61))
    start = lines.index(numbers[:80])
    assert lines[start + 1] == numbers[80:160] and lines[start + 2] == numbers[160:]
    zeros = lines.index("0" * 80)
    assert lines[zeros + 1] == "tinyguest# exit"               # no blank row after a full-width line


def test_cjk_and_emoji_cells() -> None:
    vt = replay("cjk_emoji")
    assert [vt.cell(x, 6).data for x in range(4)] == ["日", "", "本", ""]
    emoji = [vt.cell(x, 8).data for x in range(7, 21)]
    assert emoji == ["🙂", "", " ", "👍🏻", "", " ", "❤", " ", "👨", "", "👩", "", "👧", ""]
    assert [vt.cell(x, 9).data for x in range(11, 13)] == ["é", " "]
    half = rows(vt)[10]
    assert half.startswith("half-width ｶﾀｶﾅ and")
    # 79 x then a wide character: it cannot start in column 80, so it wraps whole
    assert [vt.cell(x, 11).data for x in (78, 79)] == ["x", " "]
    assert [vt.cell(x, 12).data for x in range(4)] == ["日", "", "本", ""]


# --- hostile bytes ----------------------------------------------------------------------------------------

def _all_cells(vt: VT) -> list[Cell]:
    cells = [c for y in range(vt.lines) for c in vt.line_cells(y)]
    return cells + [c for i in range(len(vt.screen.history)) for c in vt.history_row(i)]


def _printable(text: str) -> bool:
    return visible(text) == text and all(
        unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in text)


def test_hostile_sequences_never_reach_a_cell() -> None:
    answers: list[bytes] = []
    vt = replay("hostile", answers=answers)
    line = rows(vt)[6]
    assert line == "before nestedC1-green link bidi:evil zw:abcd bell end"
    for secret in ("52", "cm0gLXJmIC8K", "payload", "tmux", "evil title", "example.invalid", "999"):
        assert secret not in vt.plain_text()
    assert all(_printable(c.data) for c in _all_cells(vt))
    assert vt.screen.title == "c1 title"                        # the last OSC 0 that completed
    x = line.index("nested")
    assert vt.cell(x, 6).fg == 1                                # ESC inside an OSC cancels it, the CSI runs
    assert vt.cell(line.index("C1-green"), 6).fg == 2           # C1 CSI (U+009B) is a CSI
    assert vt.cell(line.index("link"), 6).fg == "default"
    assert not vt.cell(0, 6).bold and not vt.cell(0, 6).underscore  # CSI > 4;2 m is not SGR
    assert vt.columns == 80                                     # DECCOLM ignored
    # answered: the prompt's CSI 6 n, DA2 and DA1; never the title reports (CSI 21 t / 20 t)
    assert answers == [b"\x1b[6;12R", b"\x1b[>1;10;0c", b"\x1b[?6c"]
    assert vt.screen.bells == 2  # the BEL after "nested" (its OSC was cancelled) and the one after "bell"


def test_title_is_made_visible_and_bounded() -> None:
    vt = VT(20, 2)
    vt.feed(b"\x1b]2;a\x1b[31m" + b"x" * 1000 + b"\x07")  # cancelled by the ESC: not a title
    assert vt.screen.title == ""
    vt.feed(b"\x1b]0;\xc2\x85bad\xe2\x80\xaeTITLE" + b"y" * 1000 + b"\x1b\\")
    assert vt.screen.title.startswith("M-^Ebad<U+202E>TITLE")
    assert len(vt.screen.title) <= 256 + 8 * 4


@settings(max_examples=300, deadline=None)
@example(parts=["\u0600x\u00ad".encode()], columns=1, lines=1)   # format characters one cell wide
@given(st.lists(st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"\x1b[", b"\x1b]", b"\x1bP", b"\x1b_", b"\x1b\\", b"\x07", b"\xc2\x9b", b"\xc2\x9d",
                     b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[2J", b"\x1b[3J", b"\x1b[5;10r", b"\x1b[999;999H",
                     b"\x1b[38;5;300m", b"\x1b[38:2::1:2:3m", b"\x1b[>4;2m", b"\x1b[?3h", b"\x1b[4h", b"\x1b(0",
                     b"\x0e", b"\x1b[6n", b"\x1b[b", b"\x1b[S", b"\x1b[T", b"\x1b#8", b"\x1bc", b"\r\n",
                     "日\u0301\u200d👍🏻\ufe0f\u202e".encode(), b"\x1b[10@", b"\x1b[10P", b"\x1b[5L", b"\x1b[5M"])),
    max_size=30), st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=6))
def test_any_bytes_parse_without_error_into_printable_cells(parts: list[bytes], columns: int, lines: int) -> None:
    vt = VT(columns, lines, history_lines=50)
    for part in parts:
        vt.feed(part)
    for y in range(lines):
        cells = list(vt.line_cells(y))
        assert len(cells) == columns
        assert all(_printable(c.data) for c in cells)
    assert 0 <= vt.screen.cursor.x <= columns and 0 <= vt.screen.cursor.y < lines
    assert all(_printable(c[0]) for row in vt.screen.history for c in row)


# --- what pyte gets wrong, and xterm behaviours ---------------------------------------------------------

@pytest.mark.parametrize(("data", "text"), [
    (b"a\xe2\x80\x8bb\xe2\x80\x8dc", "abc"),                  # zero-width characters do not cut the text
    (b"\x1b[!pok", "ok"),                                    # DECSTR: nothing of it drawn
    (b"\x1b[0%mok", "ok"),                                   # vim's probe with an intermediate
    (b"\x1bPzz\x1b\\ok", "ok"),                              # DCS payload consumed
    (b"\x1b[?1mok", "ok"),                                   # private SGR: ignored, no exception
    (b"\x1b]P0ffffff\x1b[mok", "ok"),                        # linux palette OSC without terminator
    (b"ab\x1b[3b", "abbbb"),                                 # REP
    (b"ab\x1bEcd", "ab\ncd"),                                # NEL is CR LF
    (b"\x1b[1\n2Hx", "\n\nx"),                               # LF inside CSI runs, then CSI 12 H
    (b"\x1b[12\x18x", "x"),                                  # CAN cancels a CSI
    (b"\x1b(0lqk\x1b(Bq", "┌─┐q"),                            # DEC line drawing
    (b"\xff\xfeok", "\ufffd\ufffdok"),                       # invalid UTF-8
])
def test_parser_cases(data: bytes, text: str) -> None:
    vt = VT(20, 3)
    vt.feed(data)
    assert vt.plain_text().rstrip("\n") == text


def test_modify_other_keys_is_not_bold_underline() -> None:
    vt = VT(10, 1)
    vt.feed(b"\x1b[>4;2mx")
    assert vt.cell(0, 0) == Cell("x")


def test_answers() -> None:
    answers: list[bytes] = []
    vt = VT(80, 24, on_answer=answers.append)
    vt.feed(b"\x1b[c\x1b[0c\x1b[>c\x1b[5n\x1b[3;7H\x1b[6n\x1b[?6n")
    assert answers == [b"\x1b[?6c", b"\x1b[?6c", b"\x1b[>1;10;0c", b"\x1b[0n", b"\x1b[3;7R", b"\x1b[?3;7R"]
    answers.clear()
    vt.feed(b"\x1b[5;20r\x1b[?6h\x1b[2;3H\x1b[6n")           # origin mode: relative to the region
    assert answers == [b"\x1b[2;3R"]


def test_resize_probe_of_a_serial_console() -> None:
    """busybox/xterm `resize`: save, reset the region, go far, ask, restore."""
    answers: list[bytes] = []
    vt = VT(132, 43, on_answer=answers.append)
    vt.feed(b"\x1b[10;5H\x1b7\x1b[r\x1b[999;999H\x1b[6n\x1b8")
    assert answers == [b"\x1b[43;132R"]
    assert (vt.screen.cursor.x, vt.screen.cursor.y) == (4, 9)


def test_scroll_region_keeps_the_lines_outside_it() -> None:
    vt = VT(10, 5)
    vt.feed(b"top\r\n1\r\n2\r\n3\r\nstatus\x1b[2;4r\x1b[4;1H\nnew\x1b[S")
    assert rows(vt) == ["top", "3", "new", "", "status"]
    assert vt.scrollback_text() == ""                           # a region not at the top keeps none
    vt.feed(b"\x1b[2;1H\x1b[T")
    assert rows(vt) == ["top", "", "3", "new", "status"]


def test_alternate_screen_47_and_1049() -> None:
    vt = VT(10, 3)
    vt.feed(b"main\x1b[?47h")
    assert vt.plain_text() == "\n\n" and vt.screen.alternate
    vt.feed(b"alt\x1b[?47l")
    assert rows(vt)[0] == "main"
    vt.feed(b"\x1b[?1049h")
    assert rows(vt) == ["", "", ""]
    vt.feed(b"\x1b[3;3Hx\x1b[?1049l")
    assert rows(vt)[0] == "main" and (vt.screen.cursor.x, vt.screen.cursor.y) == (7, 0)


def test_save_restore_cursor_is_one_slot() -> None:
    vt = VT(10, 3)
    vt.feed(b"\x1b[2;2H\x1b7" * 10_000 + b"\x1b[3;3H\x1b8x\x1b8y")
    assert vt.screen._saved is not None
    assert rows(vt)[1] == " y"


def test_hidden_cursor_and_reset() -> None:
    vt = VT(10, 3)
    vt.feed(b"\x1b[?25l\x1b[31mred")
    assert vt.screen.cursor.hidden
    vt.feed(b"\x1bc")
    assert not vt.screen.cursor.hidden and vt.plain_text() == "\n\n"
    vt.feed(b"x")
    assert vt.cell(0, 0) == Cell("x")


def test_resize_shorter_moves_top_lines_to_the_scrollback_and_keeps_the_cursor() -> None:
    vt = VT(20, 6)
    vt.feed(b"one\r\ntwo\r\nthree\r\nfour\r\nprompt$ ")
    vt.resize(20, 3)
    assert rows(vt) == ["three", "four", "prompt$"]
    assert vt.scrollback_text() == "one\ntwo"
    assert (vt.screen.cursor.x, vt.screen.cursor.y) == (8, 2)
    vt.resize(20, 5)                                            # taller: blank rows below
    assert rows(vt) == ["three", "four", "prompt$", "", ""]


def test_resize_drops_rows_below_the_cursor_first() -> None:
    vt = VT(20, 6)
    vt.feed(b"one\r\ntwo\x1b[6;1Hbottom\x1b[2;4H")
    vt.resize(20, 4)
    assert rows(vt) == ["one", "two", "", ""]
    assert vt.scrollback_text() == ""


def test_resize_narrower_clips_and_wider_pads() -> None:
    vt = VT(20, 2)
    vt.feed("abcdefgh日本".encode())
    vt.resize(9, 2)
    assert rows(vt) == ["abcdefgh", ""]                         # the wide character lost its half: blank
    assert vt.cell(8, 0).data == " " and vt.screen.cursor.x == 8
    vt.resize(30, 2)
    assert rows(vt)[0] == "abcdefgh" and vt.columns == 30


def test_resize_in_the_alternate_screen_resizes_the_main_screen_too() -> None:
    vt = VT(20, 6)
    vt.feed(b"a\r\nb\r\nc\r\nd\r\ne\r\nshell$ \x1b[?1049hvim")
    vt.resize(20, 3)
    vt.feed(b"\x1b[?1049l")
    assert rows(vt) == ["d", "e", "shell$"]
    assert vt.scrollback_text() == "a\nb\nc"


# --- keys and paste ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "character", "app_cursor", "expected"), [
    ("a", "a", False, b"a"),
    ("A", "A", False, b"A"),
    ("é", "é", False, "é".encode()),
    ("enter", "\r", False, b"\r"),
    ("tab", "\t", False, b"\t"),
    ("shift+tab", None, False, b"\x1b[Z"),
    ("escape", "\x1b", False, b"\x1b"),
    ("backspace", "\x7f", False, b"\x7f"),
    ("backspace", "\x08", False, b"\x08"),                       # Ctrl-H
    ("space", " ", False, b" "),
    ("ctrl+@", "\x00", False, b"\x00"),                          # Ctrl-Space
    ("ctrl+a", "\x01", False, b"\x01"),
    ("ctrl+c", "\x03", False, b"\x03"),
    ("ctrl+z", "\x1a", False, b"\x1a"),
    ("ctrl+w", None, False, b"\x17"),
    ("ctrl+backslash", "\x1c", False, b"\x1c"),
    ("ctrl+right_square_bracket", "\x1d", False, b"\x1d"),
    ("ctrl+circumflex_accent", "\x1e", False, b"\x1e"),
    ("ctrl+underscore", "\x1f", False, b"\x1f"),
    ("up", None, False, b"\x1b[A"), ("down", None, False, b"\x1b[B"),
    ("right", None, False, b"\x1b[C"), ("left", None, False, b"\x1b[D"),
    ("up", None, True, b"\x1bOA"), ("left", None, True, b"\x1bOD"),
    ("home", None, False, b"\x1b[H"), ("end", None, False, b"\x1b[F"), ("home", None, True, b"\x1bOH"),
    ("ctrl+up", None, True, b"\x1b[1;5A"), ("shift+left", None, False, b"\x1b[1;2D"),
    ("alt+up", None, False, b"\x1b[1;3A"), ("ctrl+shift+up", None, False, b"\x1b[1;6A"),
    ("insert", None, False, b"\x1b[2~"), ("delete", None, False, b"\x1b[3~"),
    ("pageup", None, False, b"\x1b[5~"), ("pagedown", None, False, b"\x1b[6~"),
    ("ctrl+delete", None, False, b"\x1b[3;5~"),
    ("f1", None, False, b"\x1bOP"), ("f2", None, False, b"\x1bOQ"), ("f3", None, False, b"\x1bOR"),
    ("f4", None, False, b"\x1bOS"), ("f5", None, False, b"\x1b[15~"), ("f6", None, False, b"\x1b[17~"),
    ("f7", None, False, b"\x1b[18~"), ("f8", None, False, b"\x1b[19~"), ("f9", None, False, b"\x1b[20~"),
    ("f10", None, False, b"\x1b[21~"), ("f11", None, False, b"\x1b[23~"), ("f12", None, False, b"\x1b[24~"),
    ("shift+f1", None, False, b"\x1b[1;2P"), ("ctrl+f5", None, False, b"\x1b[15;5~"),
    ("f13", None, False, b"\x1b[1;2P"),
    ("alt+x", "x", False, b"\x1bx"), ("alt+shift+x", "X", False, b"\x1bX"), ("alt+é", "é", False, "\x1bé".encode()),
    ("ctrl+alt+a", None, False, b"\x1b\x01"),
    ("super+a", None, False, None), ("ctrl+minus", None, False, None),
])
def test_key_bytes(key: str, character: str | None, app_cursor: bool, expected: bytes | None) -> None:
    assert key_bytes(key, character, app_cursor=app_cursor) == expected


def test_normalize_key() -> None:
    assert normalize_key("ctrl+]") == "ctrl+right_square_bracket"
    assert normalize_key("ctrl+right_square_bracket") == "ctrl+right_square_bracket"
    assert normalize_key("ctrl+\\") == "ctrl+backslash"      # as Textual reported it under tmux
    assert normalize_key("ctrl+_") == "ctrl+underscore"
    assert normalize_key("ctrl++") == "ctrl+plus"
    assert normalize_key("f12") == "f12"


def test_paste_bytes() -> None:
    assert paste_bytes("ls -l\nwho\r\n", bracketed=False) == b"ls -l\rwho\r"
    assert paste_bytes("x\ty", bracketed=True) == b"\x1b[200~x\ty\x1b[201~"
    # a paste cannot close the bracket early or carry escape sequences
    assert paste_bytes("a\x1b[201~;reboot\n\x9b31m\x00", bracketed=True) == b"\x1b[200~a[201~;reboot\r31m\x1b[201~"


# --- session logs --------------------------------------------------------------------------------------

def test_plain_text_log_of_a_shell_session() -> None:
    text = PlainText()
    data = stream("busybox_sh")
    out = "".join(text.feed(data[i:i + 5]) for i in range(0, len(data), 5)) + text.close()
    lines = out.split("\n")
    assert "tinyguest# echo hello" in lines and "hello" in lines
    assert "tinyguest# echo edited" in lines                   # the backspaces took "oh" back
    assert "line 30 of 30" in lines
    assert "\x1b" not in out and "\r" not in out and "[6n" not in out


def test_plain_text_log_drops_hostile_strings() -> None:
    text = PlainText()
    out = text.feed(stream("hostile")) + text.close()
    assert "before nestedC1-green link bidi:evil zw:abcd bell end\n" in out
    assert all(_printable(ch) for ch in out.replace("\n", "").replace("\t", ""))
    assert "cm0gLXJmIC8K" not in out and "payload" not in out


def test_plain_text_log_of_a_full_screen_program_has_no_escapes() -> None:
    text = PlainText()
    out = text.feed(stream("top")) + text.close()
    assert "PID USER" in out and "\x1b" not in out


def test_session_log_raw_and_text(tmp_path: Path) -> None:
    raw_path, text_path = tmp_path / "raw.log", tmp_path / "text.log"
    data = stream("ls_color")
    with SessionLog(raw_path, raw=True) as raw, SessionLog(text_path) as text:
        for i in range(0, len(data), 100):
            raw.write(data[i:i + 100])
            text.write(data[i:i + 100])
    assert raw_path.read_bytes() == data
    assert raw_path.stat().st_mode & 0o777 == 0o600
    logged = text_path.read_text()
    assert "drwxr-xr-x 2 root root 4096 2023-11-14 bin\n" in logged and "\x1b" not in logged
    with SessionLog(raw_path, raw=True) as again:                # a second attach appends
        again.write(b"more")
    assert raw_path.read_bytes() == data + b"more"
