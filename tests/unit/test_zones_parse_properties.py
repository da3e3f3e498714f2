"""Totality of the zones parsers and round trips: real samples, mangled at random, give a result of the
declared type or a ParseError, never another exception; what zoneadm escapes and what the zonecfg script
generator writes read back to the same values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hvdeck.backends.errors import ParseError, ValidationError
from hvdeck.backends.model import Bindings, Domain, DomainState
from hvdeck.backends.zones import commands, parse
from hvdeck.backends.zones.commands import NewNet, NewZone
from hvdeck.backends.zones.parse import Layout, Uname, ZoneadmErrors, ZoneConfig, ZoneEntry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zones"
SAMPLES = sorted(path.read_text() for path in [*FIXTURES.glob("*.txt"),
                                               *(FIXTURES / "replay" / "data").glob("*/*/*.out")])
FAST = settings(max_examples=200, deadline=None)

NASTY = ":\\=;\"'[](),#-_ \t./0123456789AZaz\x00\r\x0c\u2028\x1b"
GARBAGE_LINES = [
    ":", "::::::", "0:global", "-:z:installed:/z::ipkg:excl:1", "x:y:z:a:b:c:d", "\\", "\\:", "add", "add net",
    "end", "set", "set x=", 'set x="', "create -b", "create -t", "add value (priv=,limit)",
    "  ID NAME STATUS PATH BRAND IP",
    "   - z installed", "-----BEGIN CONFIGURATION-----", "-----END CONFIGURATION-----", "zoneadm: zone '",
    "zoneadm: x: y: z", "SunOS 5.11", "#", "select net", "18446744073709551616:z:<defunct>:/:-:s:e:-:n",
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


def _drop_separator(draw: Callable, text: str) -> str:
    lines = _lines(text)
    at = draw(st.integers(0, len(lines) - 1))
    lines[at] = lines[at].replace(draw(st.sampled_from([":", "=", " ", '"'])), "", 1)
    return "\n".join(lines)


def _inject(draw: Callable, text: str) -> str:
    lines = _lines(text)
    garbage = draw(st.sampled_from(GARBAGE_LINES) | st.text(alphabet=NASTY, max_size=30) | st.text(max_size=30))
    lines.insert(draw(st.integers(0, len(lines))), garbage)
    return "\n".join(lines)


MANGLERS = [_delete_line, _duplicate_line, _swap_lines, _truncate, _substitute, _drop_separator, _inject]


@st.composite
def mangled(draw: Callable) -> str:
    text = draw(st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(1, 5))):
        text = draw(st.sampled_from(MANGLERS))(draw, text)
    return text


def _tuple_of(kind: type) -> Callable[[object], bool]:
    return lambda value: isinstance(value, tuple) and all(isinstance(item, kind) for item in value)


def _layout(value: object) -> bool:
    return value is None or isinstance(value, Layout)


def _uname(value: object) -> bool:
    return isinstance(value, Uname) and isinstance(value.family, str) and isinstance(value.layouts, frozenset)


def _bindings(value: object) -> bool:
    titles = [section.title.lower() for section in value.extra] if isinstance(value, Bindings) else []
    return isinstance(value, Bindings) and len(set(titles)) == len(titles)


def _errors(value: object) -> bool:
    return isinstance(value, ZoneadmErrors) and isinstance(value.headline, str)


# every public parser, and what it must return when it does not raise ParseError
PARSERS: dict[str, tuple[Callable[[str], object], Callable[[object], bool]]] = {
    "detect_layout": (parse.detect_layout, _layout),
    "list_entries": (parse.parse_list_entries, _tuple_of(ZoneEntry)),
    "list_p": (lambda text: parse.parse_list_p(text, "h"), _tuple_of(Domain)),
    "list_v": (lambda text: parse.parse_list_v(text, "h"), _tuple_of(Domain)),
    "uname": (parse.parse_uname, _uname),
    "zonecfg": (parse.parse_zonecfg, lambda value: isinstance(value, ZoneConfig)),
    "export": (lambda text: parse.parse_export(text, "h", "z"), _bindings),
    "zoneadm_errors": (parse.parse_zoneadm_errors, _errors),
    "zfs_filesystems": (parse.parse_zfs_filesystems, _tuple_of(parse.ZfsFilesystem)),
    "zfs_snapshots": (parse.parse_zfs_snapshots, _tuple_of(parse.ZfsSnapshot)),
    "dladm_links": (parse.parse_dladm_links, _tuple_of(parse.Datalink)),
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
@given(st.text(max_size=20))
def test_states_and_sizes_are_total(text):
    assert isinstance(parse.zone_state(text), DomainState)
    size = parse.parse_zone_size(text)
    assert size is None or size >= 0
    assert isinstance(parse.parse_complex(text), tuple)


# --- zoneadm's escaping (§1.1) -----------------------------------------------------------------------------

_PATH_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r")


@FAST
@given(path=st.text(alphabet=_PATH_CHARS, max_size=40).map(lambda p: "/" + p))
def test_an_escaped_zonepath_reads_back(path):
    assume(not path.endswith("\\"))  # zoneadm does not escape the backslash: `\` then `:` is ambiguous
    line = "3:z:running:" + path.replace(":", "\\:") + ":5b4f5d38-6a2e-4c3e-a4b6-0e1c2d3e4f50:ipkg:excl:7"
    (entry,) = parse.parse_list_entries(line)
    assert (entry.zonepath, entry.brand, entry.debugid) == (path, "ipkg", "7")


# --- the zonecfg script generator reads back through the export parser -------------------------------------

names = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,20}", fullmatch=True).filter(lambda n: n != "global")
links = st.from_regex(r"[a-z][a-z0-9]{0,8}[0-9]", fullmatch=True)
paths = st.from_regex(r"/[A-Za-z0-9_.:@%+,-]{1,12}(/[A-Za-z0-9_.:@%+,-]{1,12}){0,3}", fullmatch=True)
sizes = st.from_regex(r"[1-9][0-9]{0,4}[KMGTkmgt]?", fullmatch=True)
datasets = st.from_regex(r"[a-z][a-z0-9_.:-]{0,8}(/[a-z0-9_.:-]{1,8}){0,3}", fullmatch=True)
ipv4 = st.ip_addresses(v=4).map(str)


@st.composite
def new_zones(draw: Callable) -> NewZone:
    ip_type = draw(st.sampled_from([None, "shared", "exclusive"]))
    nets: list[NewNet] = []
    for _ in range(draw(st.integers(0, 3))):
        if ip_type == "exclusive" and draw(st.booleans()):
            nets.append(NewNet(anet=True, linkname=draw(links), lower_link=draw(st.none() | links)))
        elif ip_type == "exclusive":
            nets.append(NewNet(physical=draw(links)))
        else:
            address = draw(ipv4) + draw(st.sampled_from(["", "/24", "/8"]))
            nets.append(NewNet(physical=draw(links), address=address, defrouter=draw(st.none() | ipv4)))
    capped = draw(st.sampled_from([None, "cap", "dedicated"]))
    template = draw(st.none() | names | st.just("SUNWdefault"))
    return NewZone(
        name=draw(names),
        zonepath=draw(paths),
        brand=draw(st.none() | st.sampled_from(["ipkg", "lipkg", "sparse", "solaris", "solaris10", "kvm"])),
        autoboot=draw(st.none() | st.booleans()),
        ip_type=ip_type,
        nets=tuple(nets),
        capped_cpu=draw(st.sampled_from(["1", "1.5", ".75", "16", "0.25"])) if capped == "cap" else None,
        memory_cap=draw(st.none() | sizes),
        swap_cap=draw(st.none() | sizes),
        locked_cap=draw(st.none() | sizes),
        dedicated_cpu=draw(st.sampled_from(["1", "2", "1-4", "8-8"])) if capped == "dedicated" else None,
        importance=draw(st.none() | st.sampled_from(["1", "10"])) if capped == "dedicated" else None,
        datasets=tuple(draw(st.lists(datasets, max_size=3))),
        blank=draw(st.booleans()),
        template=template,
    )


def _expected_create(zone: NewZone) -> tuple[str, ...]:
    if zone.template is not None:
        return ("-t", zone.template)
    return ("-b",) if zone.blank else ()


@FAST
@given(zone=new_zones())
def test_generated_script_reads_back_to_the_same_values(zone):
    assume(zone.template != zone.name)
    script = commands.zonecfg_script(zone)
    config = parse.parse_zonecfg(script)
    assert config.create == _expected_create(zone)
    expected = [("zonepath", zone.zonepath)]
    if zone.brand is not None:
        expected.append(("brand", zone.brand))
    if zone.autoboot is not None:
        expected.append(("autoboot", "true" if zone.autoboot else "false"))
    if zone.ip_type is not None:
        expected.append(("ip-type", zone.ip_type))
    assert list(config.properties) == expected
    nets = config.of("net", "anet")
    assert len(nets) == len(zone.nets)
    for net, resource in zip(zone.nets, nets):
        if net.anet:
            assert resource.type == "anet"
            assert (resource.get("linkname"), resource.get("lower-link")) == (net.linkname, net.lower_link)
        else:
            assert resource.type == "net"
            assert (resource.get("physical"), resource.get("address"), resource.get("defrouter")) == (
                net.physical, net.address, net.defrouter)
    mcap = config.of("capped-memory")
    caps = (zone.memory_cap, zone.swap_cap, zone.locked_cap)
    if any(cap is not None for cap in caps):
        (resource,) = mcap
        assert (resource.get("physical"), resource.get("swap"), resource.get("locked")) == caps
    else:
        assert mcap == ()
    assert [r.get("ncpus") for r in config.of("capped-cpu")] == ([zone.capped_cpu] if zone.capped_cpu else [])
    assert [(r.get("ncpus"), r.get("importance")) for r in config.of("dedicated-cpu")] == (
        [(zone.dedicated_cpu, zone.importance)] if zone.dedicated_cpu else [])
    assert [r.get("name") for r in config.of("dataset")] == list(zone.datasets)
    # and the bindings a poll would show say the same
    bindings = parse.zone_bindings(config, "gz", zone.name)
    assert [n.target for n in bindings.nics] == [n.linkname if n.anet else n.physical for n in zone.nets]
    assert bindings.memory.max_bytes == (parse.parse_zone_size(zone.memory_cap) if zone.memory_cap else None)


value_text = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
                                            blacklist_characters='"\u061c\u200e\u200f\u202a\u202b\u202c\u202d'
                                                                 '\u202e\u2066\u2067\u2068\u2069'), max_size=30)


@FAST
@given(value=value_text)
def test_every_writable_value_reads_back(value):
    written = commands.zonecfg_value(value)
    assert parse.unquote(written) == value
    config = parse.parse_zonecfg(f"add attr\nset value={written}\nend\n")
    assert config.of("attr")[0].get("value") == value


@FAST
@given(value=st.text(max_size=20).filter(lambda v: any(ord(c) < 32 or 127 <= ord(c) < 160 or c == '"' for c in v)))
def test_values_with_controls_or_quotes_are_refused(value):
    with pytest.raises(ValidationError):
        commands.zonecfg_value(value)
