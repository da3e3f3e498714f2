"""Totality of the ldm parsers: real samples, mangled at random, give a result of the declared type or a
ParseError, never another exception (no KeyError, IndexError, ValueError... escapes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hvdeck.backends.errors import ParseError
from hvdeck.backends.ldoms import parse
from hvdeck.backends.ldoms.parse import Constraints, Devices, LdmVersion, LongListing, Parseable, Services
from hvdeck.backends.model import Bindings, Domain, DomainState, Section

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ldm"
SAMPLES = sorted(path.read_text() for path in [*FIXTURES.glob("*.txt"), *FIXTURES.glob("*.xml"),
                                               *(FIXTURES / "replay" / "data").glob("*.out")])
FAST = settings(max_examples=200, deadline=None)

NASTY = "|=,;%@-_ \t.:/<>&\"'0123456789AZaz\x00\r\x0c\u2028"
GARBAGE_LINES = [
    "|", "||", "=", "|=", "DOMAIN", "DOMAIN|", "DOMAIN|name=", "DOMAIN|name=x|mem=1G", "VERSION 1.6",
    "VERSION",
    "VCPU|vid=x", "|vid=|pid=", "|size=-1", "|size=99999999999999999999999", "-" * 78, "    NAME    PEER",
    "        PEER  MAC", "NAME STATE FLAGS CONS VCPU MEMORY UTIL UPTIME", "NAME", "DOMAIN\n", "<", "</ldom>",
    "<ldom><ldom_info/></ldom>", "<![CDATA[", "&amp;", "Logical Domains Manager (v )", "x 1 2 3G 4% 5% 6q",
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


def _swap_separators(draw: Callable, text: str) -> str:
    lines = _lines(text)
    at = draw(st.integers(0, len(lines) - 1))
    lines[at] = lines[at].translate(str.maketrans("|=", "=|"))
    return "\n".join(lines)


def _inject(draw: Callable, text: str) -> str:
    lines = _lines(text)
    lines_or_text = st.sampled_from(GARBAGE_LINES) | st.text(alphabet=NASTY, max_size=30) | st.text(max_size=30)
    garbage = draw(lines_or_text)
    lines.insert(draw(st.integers(0, len(lines))), garbage)
    return "\n".join(lines)


MANGLERS = [_delete_line, _duplicate_line, _swap_lines, _truncate, _substitute, _swap_separators, _inject]


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


def _services(value: object) -> bool:
    return isinstance(value, Services) and _tuple_of(Section)(parse.services_sections(value))


def _devices(value: object) -> bool:
    return (isinstance(value, Devices) and _tuple_of(Section)(parse.devices_sections(value))
            and isinstance(value.free_strands, int) and isinstance(value.free_memory_bytes, int))


# every public parser, and what it must return when it does not raise ParseError
PARSERS: dict[str, tuple[Callable[[str], object], Callable[[object], bool]]] = {
    "tokenize": (parse.tokenize, _is(Parseable)),
    "list_p": (lambda text: parse.parse_list_p(text, "h"), _tuple_of(Domain)),
    "bindings_p": (lambda text: parse.parse_bindings_p(text, "h"), _dict_of(Bindings)),
    "services_p": (parse.parse_services_p, _services),
    "devices_p": (parse.parse_devices_p, _devices),
    "version": (parse.parse_version, _is(LdmVersion)),
    "list_human": (lambda text: parse.parse_list_human(text, "h"), _tuple_of(Domain)),
    "long_human": (parse.parse_long_human, _tuple_of(LongListing)),
    "constraints_p": (parse.parse_constraints_p, _dict_of(Constraints)),
    "constraints_xml": (parse.parse_constraints_xml, _dict_of(Constraints)),
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


@FAST
@given(st.text(max_size=30))
def test_parse_size_raises_only_value_error(text):
    try:
        assert parse.parse_size(text) >= 0
    except ValueError:
        pass


@FAST
@given(st.integers(0, 2**20), st.sampled_from([2**10, 2**20, 2**30, 2**40]))
def test_format_size_round_trips_whole_units(count, unit):
    assert parse.parse_size(parse.format_size(count * unit)) == count * unit


@FAST
@given(st.integers(0, 2**60))
def test_format_size_is_within_a_twentieth_of_the_size(size):
    assert abs(parse.parse_size(parse.format_size(size)) - size) <= size / 20


@FAST
@given(st.text(max_size=12), st.text(alphabet="-sntdrcve,", max_size=8) | st.text(max_size=12))
def test_flags_and_states_are_total(state, flags):
    assert all(isinstance(word, str) and word for word in parse.decode_flags(flags))
    assert isinstance(parse.domain_state(state, flags), DomainState)
