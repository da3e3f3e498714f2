"""Text of any script and any length, padded and cut by terminal cells (`hvdeck.widgets.format`), and the
bindings tables laid out the same way."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from hvdeck.widgets import format as fmt
from hvdeck.widgets.bindings_view import section

CJK = "虚拟机-CentOS"  # 10 characters, 13 cells
COMBINING = "e\u0301cole"  # "école" written with a combining accent: 6 characters, 5 cells
EMOJI = "🐧penguin"  # 8 characters, 9 cells


def test_cells_count_terminal_columns():
    assert [fmt.cells(t) for t in (CJK, COMBINING, EMOJI, "web01")] == [13, 5, 9, 5]


def test_pad_and_fit_make_exact_widths():
    assert fmt.pad(CJK, 20) == CJK + "       " and fmt.pad("7", 4, "right") == "   7"
    assert fmt.fit(CJK, 13) == CJK
    assert fmt.fit(CJK, 8) == "虚拟机-…" and fmt.fit(CJK, 7) == "虚拟机…"
    # a wide character that does not fit whole is left out, and its cell filled with a space
    assert fmt.fit(CJK, 6) == "虚拟… " and cell_len(fmt.fit(CJK, 6)) == 6
    # a cut never separates a letter from its combining accent
    assert fmt.fit(COMBINING, 3) == "e\u0301c…"
    assert fmt.fit(COMBINING, 2) == "e\u0301…"


def test_cut_middle_keeps_both_ends():
    assert fmt.cut_middle("k8s-prod-euw1-worker-pool-general-a-01", 15) == "k8s-pro…al-a-01"
    assert fmt.cut_middle(CJK, 9) == "虚拟…ntOS"
    assert fmt.cut_middle(CJK, 8) == "虚拟…tOS" and fmt.cut_middle("ab中中cd", 6) == "ab…cd "


def test_two_names_differing_at_the_end_never_look_alike():
    names = ["k8s-prod-euw1-worker-pool-general-a-01", "k8s-prod-euw1-worker-pool-general-a-02"]
    cuts, width = fmt.distinct_cuts(names, 12)
    assert width == 12 and cuts == {names[0]: "k8s-pr…-a-01", names[1]: "k8s-pr…-a-02"}


def test_names_differing_in_the_middle_show_where():
    names = [f"prod-{'x' * 30}-{c}-{'y' * 30}" for c in "ABC"]
    names += ["虚拟机-" + "中" * 20 + c + "中" * 10 for c in "一二"]
    cuts, width = fmt.distinct_cuts(names, 16)
    assert width == 16
    assert [cuts[n] for n in names] == ["prod…x-A-yyyyyy…", "prod…x-B-yyyyyy…", "prod…x-C-yyyyyy…",
                                        "虚拟…中中一中中…", "虚拟…中中二中中…"]


def test_a_short_name_is_not_cut_and_counts_against_the_cut_ones():
    cuts, width = fmt.distinct_cuts(["web01", "web01-backup-restore-target"], 10)
    assert cuts == {"web01-backup-restore-target": "web01…rget"} and width == 10


names_strategy = st.lists(st.text(alphabet=st.sampled_from("ab-中\u0301🐧x"), min_size=1, max_size=40),
                          min_size=1, max_size=12, unique=True)


@settings(max_examples=300, deadline=None)
@given(names=names_strategy, width=st.integers(min_value=1, max_value=30))
def test_distinct_cuts_never_make_two_names_look_alike(names: list[str], width: int):
    cuts, used = fmt.distinct_cuts(names, width)
    assert used >= width
    shown = [cuts.get(n) or fmt.pad(n, used) for n in names]
    assert all(cell_len(s) == used for s in shown if fmt.cells(s) <= used)
    assert len(set(shown)) == len(names), dict(zip(names, shown))
    assert all(cell_len(cut) == used and fmt.ELLIPSIS in cut for cut in cuts.values())


def test_bindings_columns_align_by_cells_and_show_controls():
    text = section("DISK", ("TARGET", "SOURCE", "MODE"), [
        ("vda", "/srv/虚拟机/盘.img", "rw"),
        ("vdb", "/dev/zvol/dsk/[pool]/vol[/]", "ro"),
        ("vdc", "/srv/e\u0301cole\x1b]52;c;eA==\x07.img", "rw"),
    ])
    lines = text.plain.splitlines()
    assert lines[0] == "DISK"
    assert "/srv/e\u0301cole^[]52;c;eA==^G.img" in lines[4] and "\x1b" not in text.plain
    starts = {cell_len(line[:line.rindex(mode)]) for line, mode in zip(lines[1:], ("MODE", "rw", "ro", "rw"))}
    assert len(starts) == 1, lines
    assert not text.spans or all(span.style == "bold" for span in text.spans)


def test_visible_shows_controls_like_cat_v():
    assert fmt.visible("web01") == "web01"
    assert fmt.visible("osc\x1b]52;c;ZWNobw==\x07") == "osc^[]52;c;ZWNobw==^G"
    assert fmt.visible("c1\x9b31m\x7f\x00") == "c1M-^[31m^?^@"
    assert fmt.visible("rtl\u202eexe\u2066") == "rtl<U+202E>exe<U+2066>"
    assert fmt.visible("a\tb\r\nc") == "a^Ib^M^Jc"
    assert fmt.visible("a\tb\r\nc", newlines=True) == "a    b^M\nc"
    assert fmt.host_text("[bold]x\x1b").plain == "[bold]x^[" and fmt.host_text(None).plain == "-"
