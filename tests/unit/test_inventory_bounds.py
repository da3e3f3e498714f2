"""A broken or hostile inventory costs bounded time and memory and ends in one short error line.

Measured before the bounds: a 377-byte alias bomb gave a 351 MB error line and 1.4 GB of memory, and
10,000 nested brackets ended in a RecursionError traceback.
"""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest

from hvdeck.backends import inventory as inv

#: the longest error line accepted here: the path (tmp_path, under 150 characters) and the message
LONGEST = 150 + inv.MAX_MESSAGE + 20

#: "billion laughs": nine levels of nine aliases, 9**9 strings when expanded
ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
hosts: [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

#: the same through merge keys, which PyYAML expands by copying (2**40 keys)
MERGE_BOMB = "a0: &a0 {k: v}\n" + "".join(
    f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}\n" for i in range(1, 41)) + "hosts: [{name: x, <<: *a40}]\n"


def load_error(path: Path, text: str | bytes | None, *, measure: bool = True) -> inv.InventoryError:
    """The error loading ``text`` (None: ``path`` is written already), checked to be one short line; with ``measure``, loading it must also
    allocate under 64 MiB (tracemalloc makes PyYAML some 20 times slower: not for the 1 MB values)."""
    if isinstance(text, str):
        path.write_text(text)
    elif text is not None:
        path.write_bytes(text)
    if measure:
        tracemalloc.start()
    try:
        with pytest.raises(inv.InventoryError) as caught:
            inv.load(path)
        peak = tracemalloc.get_traced_memory()[1] if measure else 0
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert "\n" not in message and len(message) <= LONGEST, message[:500]
    assert message.startswith(f"{path}:"), message
    assert peak < 64 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
    return caught.value


def test_alias_bomb_is_refused_at_the_alias_that_explodes(tmp_path: Path):
    assert len(ALIAS_BOMB) < 400
    error = load_error(tmp_path / "hosts.yaml", ALIAS_BOMB)
    assert error.line == 9 and error.column == 9  # the first *h
    assert re.search(r"aliases expand the file to \d{9} values, more than the \d+ allowed \(an alias bomb\?\)",
                     error.detail), error.detail


def test_merge_key_bomb_is_refused(tmp_path: Path):
    error = load_error(tmp_path / "hosts.yaml", MERGE_BOMB)
    assert "alias bomb" in error.detail and error.line == 42


def test_recursive_alias_is_refused(tmp_path: Path):
    error = load_error(tmp_path / "hosts.yaml", "hosts: &h\n  - name: a\n  - *h\n")
    assert (error.line, error.column) == (3, 5) and "recursive alias" in error.detail


@pytest.mark.parametrize("text", [
    "hosts: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "hosts: " + "{a: " * 10_000 + "x" + "}" * 10_000 + "\n",
    "hosts:\n" + "".join(" " * level + "-\n" for level in range(1, 200)),
], ids=["flow-sequences", "flow-mappings", "block-sequences"])
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path: Path, text: str):
    error = load_error(tmp_path / "hosts.yaml", text)
    assert f"nested more than {inv.MAX_DEPTH} levels deep" in error.detail
    assert error.line is not None and error.column is not None


def test_aliases_cannot_nest_past_the_depth_limit(tmp_path: Path):
    # each level is shallow where it is written; only the aliases make it deep
    text = "l0: &l0 [x]\n" + "".join(f"l{i}: &l{i} [[[[[[[[[[*l{i - 1}]]]]]]]]]]\n" for i in range(1, 5))
    error = load_error(tmp_path / "hosts.yaml", text + "hosts: [{name: a, tags: *l4}]\n")
    assert "aliases nest collections more than" in error.detail


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path: Path):
    path = tmp_path / "hosts.yaml"
    with open(path, "wb") as handle:
        handle.write(b"hosts:\n  - name: a\n")
        handle.truncate(50 * 1024 * 1024)
    error = load_error(path, None)
    assert error.line is None and "larger than 1024 KiB (52428800 bytes)" in error.detail


def test_many_small_values_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # the real bound (200,000) takes PyYAML some 4 s to reach; the same code with a smaller one
    monkeypatch.setattr(inv, "MAX_NODES", 2000)
    error = load_error(tmp_path / "hosts.yaml", "hosts:\n" + "  - a\n" * 3000)
    assert "more than 2000 values" in error.detail and error.line == 1999  # root, key, list, 1,998 items


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("hosts:\n  - name: " + "x" * 1_000_000 + "\n", 2, "'name' must be 1-64 ASCII letters"),
    ("hosts:\n  - name: a\n    address: " + "x" * 1_000_000 + "\n", 3, "'address' must be at most 255 characters"),
    ("hosts:\n  - name: a\n    user: '" + "x" * 1_000_000 + "'\n", 3, "'user' must be at most 4096 characters"),
    ("hosts:\n  - name: a\n    kind: " + "x" * 1_000_000 + "\n", 3, "'kind' must be one of"),
    ("hosts:\n  - name: a\n    ? " + "k" * 1_000_000 + "\n    : 1\n", 3, "unknown key 'kkkk"),
    ("hosts: !" + "t" * 1_000_000 + " x\n", 1, "YAML error: could not determine a constructor"),
], ids=["name", "address", "user", "kind", "key", "tag"])
def test_a_value_of_1_mb_is_cut_in_the_message(tmp_path: Path, text: str, line: int, fragment: str):
    error = load_error(tmp_path / "hosts.yaml", text, measure=False)
    assert error.line == line and fragment in error.detail, error.detail
    assert "x" * 100 not in error.detail and "k" * 100 not in error.detail


def test_shown_cuts_strings_and_structures():
    assert inv.shown("short") == "'short'"
    long = inv.shown("y" * 5000)
    assert len(long) < 100 and long.endswith("(5000 characters)")
    assert len(inv.shown([["z" * 1000] * 1000] * 1000)) < 200


def test_binary_and_non_utf8_files_name_the_line(tmp_path: Path):
    error = load_error(tmp_path / "hosts.yaml", b"hosts:\n  - name: a\n    user: \xff\xfe\n")
    assert error.line == 3 and "not UTF-8" in error.detail


def test_anchors_and_merge_keys_still_work_and_own_keys_win(tmp_path: Path):
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n"
                    "  - &lab {name: lab1, user: admin, kind: libvirt, tags: &t [lab, dc1]}\n"
                    "  - <<: *lab\n"
                    "    name: lab2\n"
                    "    kind: ldoms\n"
                    "  - {name: lab3, tags: *t}\n")
    lab1, lab2, lab3 = inv.load(path).hosts
    assert (lab2.name, lab2.user, lab2.kind, lab2.tags) == ("lab2", "admin", "ldoms", ("lab", "dc1"))
    assert lab1.kind == "libvirt" and lab3.tags == ("lab", "dc1")


def test_a_key_written_twice_is_still_an_error_beside_a_merge(tmp_path: Path):
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n  - &a {name: a}\n  - <<: *a\n    name: b\n    name: c\n")
    with pytest.raises(inv.InventoryError, match=r":5:5: YAML error: duplicate key 'name'"):
        inv.load(path)


def test_legitimate_aliases_within_the_budget_load(tmp_path: Path):
    # 2,000 hosts each merging one host's seven keys: the aliases add some 30,000 values
    hosts = "".join(f"  - <<: *base\n    name: h{i}\n" for i in range(1, 2001))
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n  - &base {name: base, user: root, kind: ldoms, port: 22, read_only: true, "
                    "tags: [a, b], poll_interval: 5}\n" + hosts)
    loaded = inv.load(path)
    assert len(loaded.hosts) == 2001 and loaded.hosts[-1].name == "h2000"
    assert all((h.kind, h.port, h.tags, h.poll_interval) == ("ldoms", 22, ("a", "b"), 5.0) for h in loaded.hosts)
