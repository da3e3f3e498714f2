"""Properties of the Xen parsers: the samples, mangled at random, give a result of the declared type or a
ParseError, never another exception; the xentop stream gives the same frames however its output is cut into
chunks (mid-line included); libxl's device numbers round-trip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hvdeck.backends.errors import ParseError
from hvdeck.backends.model import Bindings, Domain, DomainState
from hvdeck.backends.xen import parse, xentop, xvm
from hvdeck.backends.xen.parse import HostTotals, MigrateProgress, SchedCreditTable, Vbd, VcpuRow, Vif
from hvdeck.backends.xen.xentop import XentopFrame, XentopStream
from hvdeck.backends.xen.xvm import VdiskImage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "xen"
SAMPLES = sorted(path.read_text() for path in [*FIXTURES.glob("*.txt"), *FIXTURES.glob("*.json")])
XENTOP_SAMPLES = sorted(path.read_text() for path in FIXTURES.glob("xentop-*.txt"))
FAST = settings(max_examples=200, deadline=None)

NASTY = " \t-:./|[]{}\",%@0123456789rbpscdNAMEno limitn/a\x00\r\x0c\x1b\u2028\u00e9"
GARBAGE_LINES = [
    "", " ", "NAME STATE", "      NAME  STATE   CPU(sec)", "no limit", "n/a", "VCPUs(sec):", "VCPUs(sec): 0: 1",
    "        0:          1s", "Net0 RX:", "VBD BlkBack 51712 [ca: 0]  OO: - RD: - WR: - RSECT: - WSECT: -",
    "Tmem:", "Physical CPU Usage:", "+-------+--------+", "| 0 | x% |", "xentop - 00:00:00   Xen 4",
    "1 domains: 1 running", "Mem: 1k total, 1k used, 0k free    CPUs: 1 @ 1MHz", "Name ID Mem VCPUs State Time(s)",
    "Domain-0 0 1 1 r----- 0.0", "x" * 41 + " 1 1 1 ------ 1.0", "key : value", ":", "[", "]", "{}", "null",
    '{"domid": 1}', "Cpupool Pool-0: x", "Name ID Weight Cap", " Id   Name   State", "-" * 22, " -    a   shut off",
    "Id: -", "a@b@c", "@", "99999999999999999999999 1 1 1 r----- 1.0",
]


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _delete_line(draw: Callable, text: str) -> str:
    lines = _lines(text)
    del lines[draw(st.integers(0, len(lines) - 1))]
    return "\n".join(lines)


def _duplicate_line(draw: Callable, text: str) -> str:
    lines = _lines(text)
    at = draw(st.integers(0, len(lines) - 1))
    return "\n".join(lines[:at + 1] + lines[at:])


def _swap_lines(draw: Callable, text: str) -> str:
    lines = _lines(text)
    a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
    lines[a], lines[b] = lines[b], lines[a]
    return "\n".join(lines)


def _truncate(draw: Callable, text: str) -> str:
    return text[:draw(st.integers(0, len(text)))]


def _substitute(draw: Callable, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    char = draw(st.sampled_from(NASTY) | st.characters())
    return text[:at] + char + text[at + 1:]


def _split_token(draw: Callable, text: str) -> str:
    """A space where a column had none, or a column glued to its neighbour."""
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from([" ", "", "\t", "  "])) + text[at + 1:]


def _inject(draw: Callable, text: str) -> str:
    lines = _lines(text)
    garbage = draw(st.sampled_from(GARBAGE_LINES) | st.text(alphabet=NASTY, max_size=40) | st.text(max_size=40))
    lines.insert(draw(st.integers(0, len(lines))), garbage)
    return "\n".join(lines)


MANGLERS = [_delete_line, _duplicate_line, _swap_lines, _truncate, _substitute, _split_token, _inject]


@st.composite
def mangled(draw: Callable) -> str:
    text = draw(st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(1, 5))):
        text = draw(st.sampled_from(MANGLERS))(draw, text)
    return text


def _is(kind: type) -> Callable[[object], bool]:
    return lambda value: isinstance(value, kind)


def _tuple_of(kind: type) -> Callable[[object], bool]:
    return lambda value: isinstance(value, tuple) and all(isinstance(item, kind) for item in value)


def _dict_of(kind: type) -> Callable[[object], bool]:
    return lambda value: isinstance(value, dict) and all(
        isinstance(key, str) and isinstance(item, kind) for key, item in value.items())


def _domains(value: object) -> bool:
    return _tuple_of(Domain)(value) and all(isinstance(d.state, DomainState) and d.name for d in value)


def _frames(value: object) -> bool:
    return _tuple_of(XentopFrame)(value) and all(
        row.cpu_percent is None for frame in value if frame.first for row in frame.rows)


def _dominfo(value: object) -> bool:
    return isinstance(value, tuple) and isinstance(value[0], Domain) and isinstance(value[1], dict)


# every public parser, and what it must return when it does not raise ParseError
PARSERS: dict[str, tuple[Callable[[str], object], Callable[[object], bool]]] = {
    "xl_list": (lambda text: parse.parse_xl_list(text, "h"), _domains),
    "xm_list": (lambda text: parse.parse_xm_list(text, "h"), _domains),
    "info": (parse.parse_info, _is(HostTotals)),
    "list_long": (lambda text: parse.parse_list_long(text, "h"), _dict_of(Bindings)),
    "block_list": (parse.parse_block_list, _tuple_of(Vbd)),
    "network_list": (parse.parse_network_list, _tuple_of(Vif)),
    "vcpu_list": (parse.parse_vcpu_list, _tuple_of(VcpuRow)),
    "sched_credit": (parse.parse_sched_credit, _is(SchedCreditTable)),
    "xentop": (xentop.parse_xentop, _frames),
    "virsh_list": (lambda text: xvm.parse_virsh_list(text, "h"), _domains),
    "virsh_dominfo": (lambda text: xvm.parse_virsh_dominfo(text, "h"), _dominfo),
    "vdiskadm_list": (xvm.parse_vdiskadm_list, _tuple_of(VdiskImage)),
    "migrate_line": (parse.parse_migrate_line, _is(MigrateProgress)),
}


def _returns_or_parse_error(name: str, text: str) -> None:
    function, expected = PARSERS[name]
    try:
        result = function(text)
    except ParseError as exc:
        assert exc.line_no is None or exc.line_no >= 1
        return
    assert expected(result), f"{name} returned {result!r}"


@pytest.mark.parametrize("name", PARSERS)
@FAST
@given(text=mangled())
def test_mangled_samples_give_a_result_or_a_parse_error(name, text):
    _returns_or_parse_error(name, text)


@pytest.mark.parametrize("name", PARSERS)
@settings(max_examples=50, deadline=None)
@given(text=st.text(alphabet=NASTY, max_size=200) | st.text(max_size=200))
def test_arbitrary_text_gives_a_result_or_a_parse_error(name, text):
    _returns_or_parse_error(name, text)


@settings(max_examples=100, deadline=None)
@given(value=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(),
                          lambda children: st.lists(children, max_size=4)
                          | st.dictionaries(st.sampled_from(["domid", "config", "c_info", "b_info", "name", "disks",
                                                             "nics", "vdev", "mac", "avail_vcpus", "cpumap",
                                                             "vcpu_hard_affinity", "sched_params", "weight",
                                                             "type.pv", "max_vcpus", "target_memkb"]),
                                            children, max_size=5), max_leaves=20))
def test_list_long_is_total_on_any_json_shape(value):
    import json

    _returns_or_parse_error("list_long", json.dumps([{"domid": 1, "config": value}]))
    _returns_or_parse_error("list_long", json.dumps(value))


def _chunks(draw: Callable, text: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=30)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


@st.composite
def chunked(draw: Callable) -> tuple[str, list[str]]:
    parts = draw(st.lists(st.sampled_from(XENTOP_SAMPLES), min_size=1, max_size=3))
    text = "".join(parts)
    return text, _chunks(draw, text)


def _run(chunks: list[str]) -> list[XentopFrame]:
    stream = XentopStream()
    frames: list[XentopFrame] = []
    for chunk in chunks:
        frames += stream.feed(chunk)
    return frames + stream.close()


@FAST
@given(case=chunked())
def test_xentop_stream_gives_the_same_frames_whatever_the_chunks(case):
    text, chunks = case
    whole = _run([text])
    assert _run(chunks) == whole
    assert _run(list(text)) == whole  # one character at a time
    assert [frame.index for frame in whole] == list(range(len(whole)))
    assert all(row.cpu_percent is None for row in whole[0].rows)


@FAST
@given(data=st.data())
def test_xentop_stream_errors_do_not_depend_on_the_chunks(data):
    text = data.draw(mangled())
    chunks = _chunks(data.draw, text)

    def outcome(parts: list[str]) -> object:
        try:
            return _run(parts)
        except ParseError as exc:
            return ("error", exc.line_no, str(exc))

    assert outcome(chunks) == outcome([text])


@FAST
@given(st.sampled_from(["xvd", "hd", "sd"]), st.integers(0, 2000), st.integers(0, 300))
def test_vdev_names_round_trip_through_libxl_numbers(prefix, disk, partition):
    letters = ""
    index = disk + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(97 + rest) + letters
    name = f"{prefix}{letters}{partition or ''}"
    number = parse.vdev_number(name)
    if number is not None:
        assert parse.vdev_name(number) == name


@FAST
@given(st.integers(-(2**31), 2**31))
def test_vdev_name_is_total(number):
    name = parse.vdev_name(number)
    assert name is None or parse.vdev_number(name) is not None


@FAST
@given(st.text(max_size=8) | st.text(alphabet="rbpscdSw?-", min_size=6, max_size=6))
def test_state_functions_are_total(letters):
    for function in (parse.xl_state, parse.xm_state, parse.xentop_state):
        assert isinstance(function(letters), DomainState)


@FAST
@given(st.lists(st.integers(0, 512), max_size=40))
def test_format_cpuset_lists_every_cpu_once(numbers):
    text = parse.format_cpuset(numbers)
    if not numbers:
        assert text == "none"
        return
    expanded = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        expanded.update(range(int(low), int(high or low) + 1))
    assert expanded == set(numbers)


HEADERS = {
    "xl_list": "Name ID Mem VCPUs State Time(s)\n", "xm_list": "Name ID Mem VCPUs State Time(s) Label\n",
    "block_list": "Vdev BE handle state evt-ch ring-ref BE-path\n",
    "network_list": "Idx BE Mac Addr. handle state evt-ch tx-/rx-ring-ref BE-path\n",
    "vcpu_list": "Name ID VCPU CPU State Time(s) CPU Affinity\n", "sched_credit": "Name ID Weight Cap\n",
    "xentop": (FIXTURES / "xentop-b-pre2009.txt").read_text(), "virsh_list": " Id Name State\n 1 ",
    "virsh_dominfo": "Id", "list_long": "[",
}


@pytest.mark.parametrize("name", PARSERS)
@pytest.mark.parametrize("line", ["a" + " " * 65000 + "b", "1 " * 32000, ": " * 32000, "-" * 65000,
                                  "0 -b---- 1.0 " * 5000, "no limit " * 7000, "        " + "0: " * 21000])
def test_long_pathological_lines_give_a_result_or_a_parse_error(name, line):
    """Lines just under the 64 KiB bound, built to make a backtracking pattern go quadratic: every parser
    splits or matches them in linear time (a regression here shows as a stalled test run)."""
    _returns_or_parse_error(name, HEADERS.get(name, "") + line + "\n")
