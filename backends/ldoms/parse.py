"""Pure `ldm` knowledge: the stdout of one `ldm` command in, model objects out.

No I/O, no asyncio. Section numbers ("§3.2") refer to shared/formats/ldm.md, which labels each sample
VERBATIM, ATTESTED or RECONSTRUCTED. Every public parser returns or raises `ParseError` naming the offending
line (XML errors found after parsing name the element instead); nothing else escapes. Empty input gives an
empty result, except for `parse_version`, whose manager line is required. No `-p` parser requires the
`VERSION` line (doc fragments and `tail -1` pipelines lack it), but when present it must come first.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import groupby
from typing import TypeVar

from ..errors import ParseError
from ..model import Bindings, ConsoleDev, Cpu, Disk, Domain, DomainState, Memory, Nic, Section, VcpuPin
from . import states

T = TypeVar("T")
SOURCE = "ldm"


def _error(message: str, line_no: int | None = None, line: str | None = None) -> ParseError:
    return ParseError(message, line_no=line_no, line=line, source=SOURCE)


def _numbered(text: str) -> Iterator[tuple[int, str]]:
    """(line number from 1, line), split on newlines only so numbers match what an editor shows."""
    for line_no, line in enumerate(text.split("\n"), 1):
        yield line_no, line.rstrip("\r")


def _text(value: object) -> str:
    return "" if value is None else str(value)


# --- numbers and sizes -------------------------------------------------------------------------------------

_INT = re.compile(r"[0-9]{1,20}")
_DECIMAL = r"[0-9]{1,20}(?:\.[0-9]{1,20})?"
_PERCENT = re.compile(rf"({_DECIMAL})%?")
_SIZE = re.compile(rf"({_DECIMAL})([KkMmGgTt]?)")
_HUMAN_SIZE = re.compile(rf"{_DECIMAL}[KMGT]")  # the MEMORY column of `ldm list`: 768M, 32G
_RANGE = re.compile(r"([0-9]{1,5})-([0-9]{1,5})")
# ldm's units are binary: 1G is 2**30 bytes
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_UPTIME_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_UPTIME_PART = re.compile(r"([0-9]{1,20})([dhms])")


def parse_size(text: str) -> int:
    """Bytes from an ldm size: `805306368`, `1024k`, `512M`, `1.5G`, `164G` (§2.1, §3.1). Units are binary.
    Raises ValueError on anything else."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    number, unit = match.groups()
    return int(Fraction(number) * _UNITS[unit.upper()])


def format_size(size: int) -> str:
    """Bytes as ldm's human tables print them (§2.1, §4): in the largest unit that divides exactly, so 32 GiB
    is `32G` and 1.5 GiB `1536M`; a size no unit divides gets one decimal (`44.0G`); under 1K, plain bytes."""
    if size < 0:
        raise ValueError(f"negative size: {size}")
    steps = [(suffix, unit) for suffix, unit in reversed(_UNITS.items()) if unit > 1 and size >= unit]
    for suffix, unit in steps:
        if size % unit == 0:
            return f"{size // unit}{suffix}"
    if steps:
        suffix, unit = steps[0]
        return f"{size / unit:.1f}{suffix}"
    return str(size)


def _as_int(text: str) -> int | None:
    return int(text) if _INT.fullmatch(text) else None


def _as_percent(text: str) -> float | None:
    """`0.4` (`ldm list -p`) or `7.0%` (human UTIL, `-l -p` VCPU rows)."""
    match = _PERCENT.fullmatch(text)
    return float(match.group(1)) if match else None


def _as_size(text: str) -> int | None:
    try:
        return parse_size(text)
    except ValueError:
        return None


def _as_uptime(text: str) -> int | None:
    """Seconds from the human UPTIME column: `45d 8h 6m`, `2m`, `0s` (§2.1)."""
    parts = [_UPTIME_PART.fullmatch(part) for part in text.split()]
    if not parts or not all(parts):
        return None
    return sum(int(part.group(1)) * _UPTIME_UNITS[part.group(2)] for part in parts if part)


def _as_range(text: str) -> tuple[int, int] | None:
    match = _RANGE.fullmatch(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _as_int_list(text: str) -> tuple[int, ...] | None:
    parts = text.split(",")
    return tuple(int(part) for part in parts) if all(_INT.fullmatch(part) for part in parts) else None


# --- states and flags --------------------------------------------------------------------------------------

# The FLAGS columns and the state table live in states.py (§1.1, §1.2), with the actions ldm accepts.


def decode_flags(flags: str) -> tuple[str, ...]:
    """Operator words for a FLAGS value (§1.2): letters, six columns in 3.x (`-n-cv-`) or five in 1.x
    (`-t-cv`), or the comma-separated words of `-l -p` (`normal,control,vio-service`), which pass through."""
    if states.letter_form(flags):
        return tuple(column[ch].value for ch, column in zip(flags, states.FLAG_COLUMNS) if ch != "-")
    return tuple(word.strip().lower() for word in flags.split(",") if word.strip())


@functools.lru_cache(maxsize=1024)
def flags_meaning(flags: str) -> str:
    """`decode_flags` as one line for the screens: ``-n-cv-`` -> ``normal, control, vio-service``. Cached:
    a fleet prints a handful of distinct FLAGS values, tens of thousands of times a minute."""
    return ", ".join(decode_flags(flags))


@functools.lru_cache(maxsize=1024)
def domain_state(state: str, flags: str = "") -> DomainState:
    """The normalised state (`states.normalised_state`): flags that say more win over the word. Cached
    as `flags_meaning` is."""
    return states.normalised_state(state, flags)


# --- the parseable (-p) grammar ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """The attributes of one `-p` line in printed order, and where that line was (for errors)."""

    attrs: dict[str, str]
    line_no: int
    line: str

    def error(self, message: str) -> ParseError:
        return _error(message, self.line_no, self.line)

    def text(self, key: str) -> str | None:
        """The value as printed, None when absent or empty."""
        return self.attrs.get(key) or None

    def required(self, key: str) -> str:
        value = self.attrs.get(key, "")
        if not value:
            raise self.error(f"missing {key}=")
        return value

    def convert(self, key: str, convert: Callable[[str], T | None], what: str) -> T | None:
        """The value converted, None when absent or empty; a ParseError when it does not convert."""
        value = self.attrs.get(key, "")
        if not value:
            return None
        result = convert(value)
        if result is None:
            raise self.error(f"{key}={value[:40]} is not {what}")
        return result

    def number(self, key: str) -> int | None:
        return self.convert(key, _as_int, "a whole number")

    def required_number(self, key: str) -> int:
        value = self.number(key)
        if value is None:
            raise self.error(f"missing {key}=")
        return value


@dataclass(frozen=True, slots=True)
class Stanza:
    """A keyword line of `-p` output and the `|k=v` sub-rows under it (§3.1)."""

    keyword: str
    head: Record
    rows: tuple[Record, ...]


@dataclass(frozen=True, slots=True)
class Parseable:
    """Tokenized `-p` output (§3.1)."""

    version: str | None  # from the `VERSION x.y` line; None in fragments without one
    stanzas: tuple[Stanza, ...]


_VERSION_LINE = re.compile(r"VERSION\s+([0-9]+\.[0-9]+)")
_KEYWORD_LINE = re.compile(r"([A-Z][A-Z0-9_]*)[ \t]*(\|.*)?")


def tokenize(text: str) -> Parseable:
    """Split `-p` output into stanzas (§3.1): `VERSION x.y` first, `KEYWORD|k=v|...` or bare `KEYWORD` lines,
    `|k=v|...` sub-rows of the keyword above. Any other non-blank line continues the previous value (OBP
    variables such as nvramrc span lines). Blank lines are skipped."""
    version: str | None = None
    stanzas: list[tuple[str, Record, list[Record]]] = []
    last: Record | None = None  # the line a continuation extends
    for line_no, raw in _numbered(text):
        line = raw.rstrip()
        if not line:
            continue
        if line.startswith("|"):
            if not stanzas:
                raise _error("sub-row before any section", line_no, raw)
            last = Record(_attributes(line[1:], line_no, raw), line_no, raw)
            stanzas[-1][2].append(last)
        elif version_line := _VERSION_LINE.fullmatch(line):
            if stanzas or version is not None:
                raise _error("VERSION line after the first line", line_no, raw)
            version = version_line.group(1)
        elif keyword_line := _KEYWORD_LINE.fullmatch(line):
            keyword, body = keyword_line.groups()
            last = Record(_attributes((body or "")[1:], line_no, raw), line_no, raw)
            stanzas.append((keyword, last, []))
        else:
            _continue_value(last, line, line_no)
    return Parseable(version, tuple(Stanza(keyword, head, tuple(rows)) for keyword, head, rows in stanzas))


def _attributes(body: str, line_no: int, line: str) -> dict[str, str]:
    """`k=v|k=v`, each split on its first `=`: values may hold `=`, `,` and `;` and may be empty (§3.1).
    A key printed twice keeps both values, comma-joined like ldm's own lists."""
    attrs: dict[str, str] = {}
    for part in body.split("|"):
        if not part:
            continue
        key, equals, value = part.partition("=")
        if not equals or not key:
            raise _error(f"{part[:40]!r} is not key=value", line_no, line)
        attrs[key] = f"{attrs[key]},{value}" if key in attrs else value
    return attrs


def _continue_value(record: Record | None, line: str, line_no: int) -> None:
    if record is None or not record.attrs:
        raise _error("expected VERSION, KEYWORD|key=value or |key=value", line_no, line)
    key = next(reversed(record.attrs))
    record.attrs[key] += "\n" + line


def _domains(parsed: Parseable) -> list[tuple[str, Record, list[Stanza]]]:
    """(name, DOMAIN line, its sections): a DOMAIN line owns every section up to the next one (§3.1)."""
    domains: list[tuple[str, Record, list[Stanza]]] = []
    for stanza in parsed.stanzas:
        if stanza.keyword == "DOMAIN":
            if stanza.rows:
                raise stanza.rows[0].error("sub-row under a DOMAIN line")
            domains.append((stanza.head.required("name"), stanza.head, []))
        elif not domains:
            raise stanza.head.error(f"{stanza.keyword} section before any DOMAIN line")
        else:
            domains[-1][2].append(stanza)
    return domains


def _rows(stanzas: Sequence[Stanza], keyword: str) -> list[Record]:
    return [row for stanza in stanzas if stanza.keyword == keyword for row in stanza.rows]


# --- ldm list -p, and the fleet row shared with human `ldm list` ------------------------------------------


def parse_list_p(text: str, host: str) -> tuple[Domain, ...]:
    """Fleet rows from `ldm list -p` (§3.2), or from `ldm list -l -p`, whose other sections are skipped."""
    return tuple(_domain(host, head, mem=_as_int, uptime=_as_int) for _, head, _ in _domains(tokenize(text)))


def _domain(host: str, record: Record, *, mem: Callable[[str], int | None],
            uptime: Callable[[str], int | None]) -> Domain:
    """A fleet row from a DOMAIN record, or from a human `ldm list` row read into the same keys. Bound and
    inactive domains have empty util= and uptime= (§3.2): unknown, not zero."""
    state = record.attrs.get("state", "")
    flags = record.attrs.get("flags")
    extra: tuple[tuple[str, str], ...] = ()
    if record.convert("norm_util", _as_percent, "a percentage") is not None:
        extra += (("norm", record.attrs["norm_util"].rstrip("%")),)
    return Domain(
        host=host,
        name=record.required("name"),
        state=domain_state(state, flags or ""),
        native_state=state,
        id=None,  # ldm has no numeric domain id
        vcpus=record.number("ncpu"),
        memory_bytes=record.convert("mem", mem, "a size"),
        cpu_percent=record.convert("util", _as_percent, "a percentage"),
        uptime_s=record.convert("uptime", uptime, "an uptime"),
        console=record.text("cons"),
        extra=extra,
        flags=flags,
        flags_meaning=flags_meaning(flags) if flags else "",
    )


# --- ldm list-bindings -p, ldm list -l -p ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Layout:
    """How human `ldm list-bindings` / `list -l` prints the section of one `-p` keyword.

    ``columns`` are (header, `-p` attribute) in ldm's order, the union of every release's; ``ldoms1`` and
    ``ovm3`` are the headers each release prints even when every cell is blank. A column outside them is
    shown when a row has its attribute; attributes no column names are appended, headed by their name in
    capitals."""

    title: str
    columns: tuple[tuple[str, str], ...]
    ldoms1: tuple[str, ...] = ()
    ovm3: tuple[str, ...] = ()


def _layout(title: str, columns: str, ldoms1: str = "", ovm3: str = "") -> Layout:
    """``columns`` as "HEADER:attribute HEADER:attribute ..." ; ``ldoms1``/``ovm3`` as headers, or "*"."""
    pairs = tuple((header, key) for header, _, key in (pair.partition(":") for pair in columns.split()))
    every = tuple(header for header, _ in pairs)
    return Layout(title, pairs, every if ldoms1 == "*" else tuple(ldoms1.split()),
                  every if ovm3 == "*" else tuple(ovm3.split()))


# The sections of `ldm list-bindings` by -p keyword. Sources: the VERBATIM LDoms 1.2 listings of §4
# (`list -l` VCPU, MEMORY, IO, VCC, VSW, VDS, VDPCS; `list-bindings` NETWORK with PEER, DISK, VDPCC, VCONS;
# `list -e` VLDCC) give the ldoms1 headers; §4's 3.x notes (CORE CID CPUSET; VCPU VID PID CID UTIL NORM
# STRAND; NETWORK NAME SERVICE ID DEVICE MAC MODE PVID VID MTU MAXBW LINKPROP; DISK NAME VOLUME TOUT ID DEVICE
# SERVER MPGROUP; VCONS NAME SERVICE PORT LOGGING, UNCERTAIN there) give the ovm3 ones; VSW and VDS follow
# the column order of `ldm list-services` (§5) without its LDOM column. Attribute names are §3.3's; `maxbw`
# (ldm's add-vnet property), IO's `options` and PEER's `peer` rows are UNCERTAIN (no -p sample shows them).
LAYOUTS: dict[str, Layout] = {
    "CORE": _layout("CORE", "CID:cid CPUSET:cpuset", "", "*"),
    "VCPU": _layout("VCPU", "VID:vid PID:pid CID:cid UTIL:util NORM:norm STRAND:strand",
                    "VID PID UTIL STRAND", "VID PID CID UTIL NORM STRAND"),
    "MAU": _layout("MAU", "ID:id CPUSET:cpuset"),
    "CRYPTO": _layout("CRYPTO", "ID:id CPUSET:cpuset"),
    "MEMORY": _layout("MEMORY", "RA:ra PA:pa SIZE:size", "*", "*"),
    "IO": _layout("IO", "DEVICE:dev PSEUDONYM:alias OPTIONS:options", "*", "*"),
    "VCC": _layout("VCC", "NAME:name PORT-RANGE:port-range", "*", "*"),
    "VSW": _layout("VSW", "NAME:name MAC:mac-addr NET-DEV:net-dev ID:id DEVICE:dev LINKPROP:linkprop "
                   "DEFAULT-VLAN-ID:default-vlan-id PVID:pvid VID:vid MTU:mtu MODE:mode "
                   "INTER-VNET-LINK:inter-vnet-link", "NAME MAC NET-DEV DEVICE MODE", "NAME MAC NET-DEV DEVICE MODE"),
    "VDS": _layout("VDS", "NAME:name VOLUME:vol OPTIONS:opts MPGROUP:mpgroup DEVICE:dev",
                   "NAME VOLUME OPTIONS DEVICE", "*"),
    "VDPCS": _layout("VDPCS", "NAME:name", "*", "*"),
    "VDPCC": _layout("VDPCC", "NAME:name SERVICE:service", "*", "*"),
    "VLDCC": _layout("VLDCC", "NAME:name SERVICE:service DESC:desc", "*", "*"),
    "VNET": _layout("NETWORK", "NAME:name SERVICE:service ID:id DEVICE:dev MAC:mac-addr MODE:mode PVID:pvid "
                    "VID:vid MTU:mtu MAXBW:maxbw LINKPROP:linkprop", "NAME SERVICE DEVICE MAC", "*"),
    "VDISK": _layout("DISK", "NAME:name VOLUME:vol TOUT:timeout ID:id DEVICE:dev SERVER:server MPGROUP:mpgroup",
                     "NAME VOLUME DEVICE SERVER", "*"),
    "VCONS": _layout("VCONS", "NAME:group SERVICE:service PORT:port LOGGING:log", "NAME SERVICE", "*"),
    "PEER": _layout("PEER", "PEER:peer MAC:mac-addr", "*", "*"),
}
#: keywords whose `|peer=` sub-rows are a nested PEER table, as human list-bindings prints under each vnet
PEERED = frozenset({"VNET", "VSW"})
# One-value facts `ldm list -e` prints as a section each (§4), gathered into one key/value table.
DOMAIN_INFO = frozenset({"UUID", "MAC", "HOSTID", "CONTROL", "DEPENDENCY"})
KEY_VALUE_COLUMNS = {"DOMAIN INFO": ("PROPERTY", "VALUE"), "VARIABLES": ("NAME", "VALUE")}


def release_of(version: str | None) -> str | None:
    """Which release's layout a `-p` output follows: ``ldoms1`` for `VERSION 1.0`-`1.5` (the LDoms 1.x
    samples print 1.0, §6.2), ``ovm3`` for 1.6 and later (OVM Server for SPARC, §3.1, §7). None for a
    fragment without the VERSION line ldm prints first (§3.4): then only the columns it fills in."""
    if version is None:
        return None
    major, _, minor = version.partition(".")
    return "ldoms1" if major == "1" and minor.isdigit() and int(minor) < 6 else "ovm3"


def parse_bindings_p(text: str, host: str) -> dict[str, Bindings]:
    """Bindings per domain from `ldm list-bindings -p` or `ldm list -l -p` (§3.3-§3.5), one or many domains.
    Sections before the first DOMAIN line are a ParseError (the §3.4 doc fragment shows none). Each section
    has every column human `ldm list-bindings` of that release prints (`LAYOUTS`, `release_of`)."""
    parsed = tokenize(text)
    release = release_of(parsed.version)
    return {name: _bindings(host, name, head, stanzas, release) for name, head, stanzas in _domains(parsed)}


def _bindings(host: str, name: str, head: Record, stanzas: list[Stanza], release: str | None) -> Bindings:
    pins = tuple(VcpuPin(row.required_number("vid"), row.attrs.get("pid", ""))
                 for row in _rows(stanzas, "VCPU"))
    sizes = [row.required_number("size") for row in _rows(stanzas, "MEMORY")]
    # NORM exists only where the firmware reports normalized utilization (§2.1): norm_util= on the DOMAIN line
    hidden = frozenset() if "norm_util" in head.attrs else frozenset({"NORM"})
    return Bindings(
        host=host,
        domain=name,
        cpu=Cpu(vcpus=len(pins) or head.number("ncpu"), pinning=pins),
        memory=Memory(current_bytes=sum(sizes) if sizes else head.number("mem")),
        disks=tuple(_disk(stanza.head) for stanza in stanzas if stanza.keyword == "VDISK"),
        nics=tuple(_nic(stanza.head) for stanza in stanzas if stanza.keyword == "VNET"),
        consoles=_consoles(head, stanzas),
        extra=_sections(stanzas, release, hidden),
    )


def _disk(record: Record) -> Disk:
    """A VDISK line (§3.3): the guest's disk name and the `volume@vds` it is bound to."""
    return Disk(target=record.required("name"), source=record.text("vol"), source_type="vdisk")


def _nic(record: Record) -> Nic:
    """A VNET line (§3.3): the guest's vnet on a virtual switch (`primary-vsw0@primary`)."""
    return Nic(mac=record.text("mac-addr"), source_type="vsw", source=record.text("service"),
               target=record.text("name"))


def _consoles(head: Record, stanzas: list[Stanza]) -> tuple[ConsoleDev, ...]:
    """VCONS lines (vntsd group and TCP port, §9); without any, the DOMAIN line's cons=: a port for a guest,
    `UART` (3.x) or `SP` (1.x) for the control domain."""
    vcons = tuple(ConsoleDev(kind="vcons", type=s.head.text("type") or "vntsd", target=s.head.text("group"),
                             path=s.head.text("port")) for s in stanzas if s.keyword == "VCONS")
    cons = head.text("cons")
    if vcons or cons is None:
        return vcons
    if _INT.fullmatch(cons):
        return (ConsoleDev(kind="vcons", type="vntsd", path=cons),)
    return (ConsoleDev(kind="vcons", type=cons),)


def _sections(stanzas: Sequence[Stanza], release: str | None = None,
              hidden: frozenset[str] = frozenset()) -> tuple[Section, ...]:
    """Every section as a table, in printed order. Consecutive lines of one keyword (a VNET line per vnet)
    make one table; UUID, MAC, HOSTID, CONTROL and DEPENDENCY make one DOMAIN INFO table; `|peer=` rows under
    a VNET or VSW line make a "NETWORK PEER" / "VSW PEER" table led by the vnet's or switch's name, as the
    human parser names the nested PEER tables. With a ``release`` (ldoms1, ovm3) the columns that release
    always prints are kept even when blank, except ``hidden`` headers; without one, only columns some row
    fills in (list-devices)."""

    def key(stanza: Stanza) -> str:
        return "DOMAIN INFO" if stanza.keyword in DOMAIN_INFO else stanza.keyword

    sections: list[Section] = []
    for title, group in groupby(stanzas, key=key):
        stanzas_of = list(group)
        sections.append(_section(title, stanzas_of, release, hidden))
        if title in PEERED and any(_peer_rows(stanza) for stanza in stanzas_of):
            layout = LAYOUTS["PEER"]
            lead = LAYOUTS[title].columns[0][0]
            # the lead column (key "") repeats the vnet's or switch's name on each of its PEER rows
            peers = [{"": stanza.head.attrs.get("name", ""), **row} for stanza in stanzas_of
                     for row in _peer_rows(stanza)]
            sections.append(_table(f"{sections[-1].title} PEER", ((lead, ""), *layout.columns),
                                   (lead, *layout.ovm3), peers))
    return tuple(sections)


def _peer_rows(stanza: Stanza) -> list[dict[str, str]]:
    return [row.attrs for row in stanza.rows if "peer" in row.attrs] if stanza.keyword in PEERED else []


def _section(key: str, stanzas: list[Stanza], release: str | None, hidden: frozenset[str]) -> Section:
    if key in KEY_VALUE_COLUMNS:
        return Section(key, KEY_VALUE_COLUMNS[key], tuple(_pairs(stanzas).items()))
    layout = LAYOUTS.get(key, Layout(key, ()))
    always = () if release is None else getattr(layout, release)
    return _table(layout.title, layout.columns, tuple(h for h in always if h not in hidden),
                  [attrs for stanza in stanzas for attrs in _table_rows(stanza)])


def _pairs(stanzas: list[Stanza]) -> dict[str, str]:
    """Every attribute of the lines, for sections of one key=value per row (VARIABLES, DOMAIN INFO)."""
    return {key: value for stanza in stanzas for record in (stanza.head, *stanza.rows)
            for key, value in record.attrs.items()}


def _table_rows(stanza: Stanza) -> list[dict[str, str]]:
    """A keyword line's own attributes lead its first sub-row, as ldm prints a VDS name beside its first
    volume (§4); a keyword line without sub-rows is one row. PEER rows are left to their own table."""
    rows = [row for row in stanza.rows if not (stanza.keyword in PEERED and "peer" in row.attrs)]
    if not rows:
        return [stanza.head.attrs] if stanza.head.attrs else []
    return [{**stanza.head.attrs, **rows[0].attrs}, *(row.attrs for row in rows[1:])]


def _table(title: str, columns: tuple[tuple[str, str], ...], always: tuple[str, ...],
           rows: list[dict[str, str]]) -> Section:
    """Rows under the known columns that are ``always`` shown or that some row has (all of them for an empty
    table), in the columns' order, then the attributes no column names, in printed order."""
    present = {key for row in rows for key in row}
    known = {key for _, key in columns}
    shown = [(header, key) for header, key in columns if header in always or key in present or not rows]
    unknown = dict.fromkeys(key for row in rows for key in row if key not in known)
    shown += [(key.upper(), key) for key in unknown]
    return Section(title, tuple(header for header, _ in shown),
                   tuple(tuple(_cell(key, row.get(key, "")) for _, key in shown) for row in rows),
                   replaces=("pinning",) if title == "VCPU" else ())


def _cell(key: str, value: str) -> str:
    """Sizes as ldm's human tables print them (`512M`); everything else as printed."""
    return format_size(int(value)) if key == "size" and _INT.fullmatch(value) else value


# --- ldm list-services -p ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vcc:
    name: str
    ldom: str | None
    port_range: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class Vsw:
    name: str
    ldom: str | None
    mac: str | None
    net_dev: str | None
    dev: str | None
    vids: tuple[int, ...] = ()
    pvid: int | None = None
    default_vlan_id: int | None = None
    mtu: int | None = None
    mode: str | None = None
    linkprop: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class VdsVolume:
    vol: str
    opts: str  # as printed: "", "ro", "ro,slice,excl"
    dev: str | None  # the backend: a path, a zvol
    mpgroup: str | None


@dataclass(frozen=True, slots=True)
class Vds:
    name: str
    ldom: str | None
    volumes: tuple[VdsVolume, ...] = ()


@dataclass(frozen=True, slots=True)
class Services:
    """The virtual console concentrators, switches and disk servers of a host (§5)."""

    vccs: tuple[Vcc, ...] = ()
    vsws: tuple[Vsw, ...] = ()
    vdss: tuple[Vds, ...] = ()


def parse_services_p(text: str) -> Services:
    """Services from `ldm list-services -p` (§5, `ldom=` gives the owner). Also reads them out of
    `list-bindings -p` and `list-constraints -p`, where the owner is the DOMAIN line above."""
    vccs: list[Vcc] = []
    vsws: list[Vsw] = []
    vdss: list[Vds] = []
    domain: str | None = None
    for stanza in tokenize(text).stanzas:
        head = stanza.head
        owner = head.text("ldom") or domain
        if stanza.keyword == "DOMAIN":
            domain = head.required("name")
        elif stanza.keyword == "VCC":
            port_range = head.convert("port-range", _as_range, "a port range")
            vccs.append(Vcc(head.required("name"), owner, port_range))
        elif stanza.keyword == "VSW":
            vsws.append(_vsw(head, owner))
        elif stanza.keyword == "VDS":
            vdss.append(Vds(head.required("name"), owner, tuple(_volume(row) for row in stanza.rows)))
    return Services(tuple(vccs), tuple(vsws), tuple(vdss))


def _vsw(record: Record, ldom: str | None) -> Vsw:
    return Vsw(
        name=record.required("name"),
        ldom=ldom,
        mac=record.text("mac-addr"),
        net_dev=record.text("net-dev"),
        dev=record.text("dev"),
        vids=record.convert("vid", _as_int_list, "a list of VLAN ids") or (),
        pvid=record.number("pvid"),
        default_vlan_id=record.number("default-vlan-id"),
        mtu=record.number("mtu"),
        mode=record.text("mode"),
        linkprop=record.text("linkprop"),
        id=record.text("id"),
    )


def _volume(record: Record) -> VdsVolume:
    return VdsVolume(record.required("vol"), record.attrs.get("opts", ""), record.text("dev"),
                     record.text("mpgroup"))


def services_sections(services: Services) -> tuple[Section, ...]:
    """VCC, VSW and VDS tables for a host screen, in the columns of human `ldm list-services` (§5)."""
    vsw_columns = ("NAME", "LDOM", "MAC", "NET-DEV", "ID", "DEVICE", "LINKPROP", "DEFAULT-VLAN-ID", "PVID",
                   "VID", "MTU", "MODE")
    return (
        Section("VCC", ("NAME", "LDOM", "PORT-RANGE"),
                tuple((vcc.name, _text(vcc.ldom), "-".join(map(str, vcc.port_range or ())))
                      for vcc in services.vccs)),
        Section("VSW", vsw_columns, tuple(_vsw_row(vsw) for vsw in services.vsws)),
        Section("VDS", ("NAME", "LDOM", "VOLUME", "OPTIONS", "MPGROUP", "DEVICE"),
                tuple(row for vds in services.vdss for row in _vds_rows(vds))),
    )


def _vsw_row(vsw: Vsw) -> tuple[str, ...]:
    return tuple(_text(value) for value in (
        vsw.name, vsw.ldom, vsw.mac, vsw.net_dev, vsw.id, vsw.dev, vsw.linkprop, vsw.default_vlan_id,
        vsw.pvid, ",".join(map(str, vsw.vids)), vsw.mtu, vsw.mode))


def _vds_rows(vds: Vds) -> list[tuple[str, ...]]:
    """One row per volume; like ldm, the server's name and domain only on its first row."""
    lead = (vds.name, _text(vds.ldom))
    rows: list[tuple[str, ...]] = [(*(lead if i == 0 else ("", "")), vol.vol, vol.opts, _text(vol.mpgroup),
                                    _text(vol.dev))
            for i, vol in enumerate(vds.volumes)]
    return rows or [(*lead, "", "", "", "")]


# --- ldm list-devices -p ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Strand:
    pid: int
    free: int | None  # percent of the strand that is free
    pm: str | None  # power-managed, `yes`/`no` as printed


@dataclass(frozen=True, slots=True)
class Core:
    cid: int
    free: int | None
    cpuset: str | None


@dataclass(frozen=True, slots=True)
class MemoryBlock:
    pa: str
    size: int
    bound: str | None  # the owning domain, `_sys_` for the hypervisor; None when free


@dataclass(frozen=True, slots=True)
class Devices:
    """Resources from `ldm list-devices` (§7). Without -a ldm lists only free resources."""

    strands: tuple[Strand, ...] = ()
    cores: tuple[Core, ...] = ()
    memory: tuple[MemoryBlock, ...] = ()
    other: tuple[Section, ...] = ()  # IO, CRYPTO/MAU and anything else, as tables

    @property
    def free_strands(self) -> int:
        """Strands with free=100, or listed with no free= at all (s-ldom.sh counts every `|pid=` row of the
        list without -a, §7). Partly free strands do not count."""
        return sum(1 for strand in self.strands if strand.free in (None, 100))

    @property
    def free_memory_bytes(self) -> int:
        """Sizes of the blocks no domain is bound to: with -a those without bound=, without -a every block."""
        return sum(block.size for block in self.memory if block.bound is None)


def parse_devices_p(text: str) -> Devices:
    """Resources from `ldm list-devices [-a] -p [cpu|core|memory|io|crypto]` (§7)."""
    stanzas = tokenize(text).stanzas
    return Devices(
        strands=tuple(Strand(row.required_number("pid"), row.number("free"), row.text("pm"))
                      for row in _rows(stanzas, "VCPU")),
        cores=tuple(Core(row.required_number("cid" if "cid" in row.attrs else "id"), row.number("free"),
                         row.text("cpuset")) for row in _rows(stanzas, "CORE")),
        memory=tuple(MemoryBlock(row.required("pa"), row.required_number("size"), row.text("bound"))
                     for row in _rows(stanzas, "MEMORY")),
        other=_sections([stanza for stanza in stanzas if stanza.keyword not in ("VCPU", "CORE", "MEMORY")]),
    )


def devices_sections(devices: Devices) -> tuple[Section, ...]:
    """A FREE summary, then VCPU, CORE and MEMORY tables as human `ldm list-devices` titles them, then the
    other sections; tables without rows are left out."""
    summary = [("strands", str(devices.free_strands))] if devices.strands else []
    if devices.memory:
        summary.append(("memory", format_size(devices.free_memory_bytes)))
    tables = (
        Section("FREE", ("RESOURCE", "FREE"), tuple(summary)),
        Section("VCPU", ("PID", "%FREE", "PM"),
                tuple((str(s.pid), _text(s.free), _text(s.pm)) for s in devices.strands)),
        Section("CORE", ("CID", "%FREE", "CPUSET"),
                tuple((str(c.cid), _text(c.free), _text(c.cpuset)) for c in devices.cores)),
        Section("MEMORY", ("PA", "SIZE", "BOUND"),
                tuple((b.pa, format_size(b.size), _text(b.bound)) for b in devices.memory)),
    )
    return tuple(table for table in tables if table.rows) + devices.other


# --- ldm -V -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LdmVersion:
    manager: str  # as printed: `1.2`, `3.4.0.3.x`
    major: int
    minor: int
    protocol: str | None  # Hypervisor control protocol
    md: str | None  # Using Hypervisor MD
    hypervisor: str | None  # the System PROM lines, raw
    openboot: str | None


_VERSION_FIELDS = {
    "manager": re.compile(r"Logical Domains? Manager \(v ([^)]*)\)"),
    "protocol": re.compile(r"Hypervisor control protocol v (\S+)"),
    "md": re.compile(r"Using Hypervisor MD v (\S+)"),
    "hypervisor": re.compile(r"(Hypervisor\s+v\..*)"),
    "openboot": re.compile(r"(OpenBoot\s+v\..*)"),
}
_MANAGER_NUMBER = re.compile(r"\s*([0-9]{1,9})(?:\.([0-9]{1,9}))?")


def parse_version(text: str) -> LdmVersion:
    """`ldm -V` (§8): "Logical Domain Manager (v 1.2)" in 1.x, "Logical Domains Manager (v 3.4.0.3.x)" in 3.x.
    The manager line is required, so empty input is a ParseError."""
    found: dict[str, tuple[str, int, str]] = {}
    for line_no, line in _numbered(text):
        for name, pattern in _VERSION_FIELDS.items():
            match = pattern.search(line)
            if match and name not in found:
                found[name] = (match.group(1).strip(), line_no, line)
    if "manager" not in found:
        raise _error("no 'Logical Domains Manager (v ...)' line")
    manager, line_no, line = found["manager"]
    number = _MANAGER_NUMBER.match(manager)
    if number is None:
        raise _error("the manager version is not a number", line_no, line)

    def value(name: str) -> str | None:
        return found[name][0] if name in found else None

    return LdmVersion(manager=manager, major=int(number.group(1)), minor=int(number.group(2) or 0),
                      protocol=value("protocol"), md=value("md"), hypervisor=value("hypervisor"),
                      openboot=value("openboot"))


# --- human ldm list ---------------------------------------------------------------------------------------

# Header word of `ldm list` -> the `-p` key its cells are read into (§2.1, §2.2)
LIST_COLUMNS = {"NAME": "name", "STATE": "state", "FLAGS": "flags", "CONS": "cons", "VCPU": "ncpu",
                "MEMORY": "mem", "UTIL": "util", "NORM": "norm_util", "UPTIME": "uptime"}
_LIST_HEADERS = (
    ("NAME", "STATE", "FLAGS", "CONS", "VCPU", "MEMORY", "UTIL", "UPTIME"),  # 1.x, 3.x on older firmware
    ("NAME", "STATE", "FLAGS", "CONS", "VCPU", "MEMORY", "UTIL", "NORM", "UPTIME"),  # 3.x, firmware >= 8.2
)


def parse_list_human(text: str, host: str) -> tuple[Domain, ...]:
    """Fleet rows from plain `ldm list` (§2.1 with NORM, §2.2 without). The header must be the first line.
    Rows split on whitespace, never at fixed offsets: a NAME over 16 characters pushes later columns right."""
    lines = [(line_no, line) for line_no, line in _numbered(text) if line.strip()]
    if not lines:
        return ()
    header = _list_header(*lines[0])
    return tuple(_domain(host, _list_record(header, line_no, line), mem=_as_size, uptime=_as_uptime)
                 for line_no, line in lines[1:])


def _list_header(line_no: int, line: str) -> tuple[str, ...]:
    words = tuple(line.split())
    if words not in _LIST_HEADERS:
        raise _error("not the header of ldm list", line_no, line)
    return words


def _list_record(header: tuple[str, ...], line_no: int, line: str) -> Record:
    """An `ldm list` row read into `-p` keys. CONS may be blank (1.2's control domain), bound and inactive
    rows stop after MEMORY, and UPTIME holds spaces: MEMORY, the first size with a unit, anchors the rest."""
    words = line.split()
    if len(words) < 3:
        raise _error("expected NAME STATE FLAGS ...", line_no, line)
    name, state, flags, *rest = words
    # after FLAGS: [CONS] VCPU MEMORY, so MEMORY is the second or third word
    at = next((i for i in (1, 2) if i < len(rest) and _HUMAN_SIZE.fullmatch(rest[i])), None)
    if at is None:
        raise _error("no VCPU and MEMORY columns", line_no, line)
    tail = rest[at + 1:]
    util = tail.pop(0) if tail and tail[0].endswith("%") else ""
    norm = tail.pop(0) if "NORM" in header and tail and tail[0].endswith("%") else ""
    attrs = {"name": name, "state": state, "flags": flags, "cons": rest[0] if at == 2 else "",
             "ncpu": rest[at - 1], "mem": rest[at], "util": util, "norm_util": norm, "uptime": " ".join(tail)}
    return Record(attrs, line_no, line)


# --- human long listings: ldm list -l / -e, list-bindings, list-constraints -------------------------------


@dataclass(frozen=True, slots=True)
class LongListing:
    """One domain's block: its `ldm list` row (or DOMAIN name, for constraints) and its sections."""

    name: str
    top: Section
    sections: tuple[Section, ...]


_DASHES = re.compile(r"-{10,}")
_TITLE = re.compile(r"[A-Z][A-Z0-9_-]*")
_HEADER_WORD = re.compile(r"[A-Z%][A-Z0-9%?_-]*")  # VID, PORT-RANGE, %FREE
_WORD = re.compile(r"\S+")

Lines = list[tuple[int, str]]


def parse_long_human(text: str) -> tuple[LongListing, ...]:
    """Blocks of human `ldm list -l`, `list -e`, `list-bindings` or `list-constraints` (§4, §6.1),
    separated by a line of dashes. A block starts with the `ldm list` header and row, or `DOMAIN` and the
    name; then come sections: a title alone at column 0, then a table (an indented header, rows split at the
    header's column starts, nested tables such as PEER under each NETWORK row) or plain value lines
    (SOFTSTATE, MAC...)."""
    return tuple(_long_block(block) for block in _blocks(text))


def _blocks(text: str) -> list[Lines]:
    blocks: list[Lines] = [[]]
    for line_no, line in _numbered(text):
        if _DASHES.fullmatch(line.strip()):
            blocks.append([])
        elif line.strip():
            blocks[-1].append((line_no, line.rstrip()))
    return [block for block in blocks if block]


def _long_block(lines: Lines) -> LongListing:
    (first_no, first), body = lines[0], lines[1:]
    if first.split()[0] == "NAME" and body:
        header = _list_header(first_no, first)
        row = _list_record(header, *body[0])
        name = row.attrs["name"]
        top = Section("DOMAIN", header, (tuple(row.attrs[LIST_COLUMNS[word]] for word in header),))
    elif first == "DOMAIN" and body:
        name = body[0][1].strip()
        top = Section("DOMAIN", ("NAME",), ((name,),))
    else:
        raise _error("expected the ldm list header and a row, or DOMAIN and a name", first_no, first)
    sections = [section for title, lines in _titled(body[1:]) for section in _human_sections(title, lines)]
    return LongListing(name, top, tuple(sections))


def _titled(lines: Lines) -> list[tuple[str, Lines]]:
    """Lines split at section titles: an upper-case word alone at column 0."""
    sections: list[tuple[str, Lines]] = []
    for line_no, line in lines:
        if _TITLE.fullmatch(line):
            sections.append((line, []))
        elif not sections:
            raise _error("expected a section title", line_no, line)
        else:
            sections[-1][1].append((line_no, line))
    return sections


def _is_header(line: str) -> bool:
    words = line.split()
    return bool(words) and all(_HEADER_WORD.fullmatch(word) for word in words)


def _human_sections(title: str, lines: Lines) -> list[Section]:
    if lines and _is_header(lines[0][1]):
        return _read_table(title, lines)
    return [Section(title, ("VALUE",) if lines else (), tuple((line.strip(),) for _, line in lines))]


@dataclass(frozen=True, slots=True)
class _Columns:
    """The header row of a human table: its words and the column where each starts."""

    names: tuple[str, ...]
    starts: tuple[int, ...]

    @classmethod
    def of(cls, line: str) -> _Columns:
        words = list(_WORD.finditer(line))
        return cls(tuple(word.group() for word in words), tuple(word.start() for word in words))

    def split(self, line: str) -> tuple[str, ...]:
        """Cells by column start: a word belongs to the last column starting at or before it, so a blank
        cell (VDS OPTIONS, VCPU UTIL) stays blank."""
        cells: list[list[str]] = [[] for _ in self.names]
        for word in _WORD.finditer(line):
            cells[max(bisect_right(self.starts, word.start()) - 1, 0)].append(word.group())
        return tuple(" ".join(cell) for cell in cells)


def _read_table(title: str, lines: Lines) -> list[Section]:
    """A titled table. A header indented deeper than the table's opens a nested table under the last row
    (PEER under each NETWORK row, §4): it becomes the section "NETWORK PEER", led by that row's NAME. The
    NETWORK header printed again above each vnet is skipped; a different header starts a new table."""
    header = _Columns.of(lines[0][1])
    tables: list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]] = [(title, header.names, [])]
    rows = tables[0][2]
    nested: _Columns | None = None
    nested_rows: list[tuple[str, ...]] = []
    lead: str | None = None  # the first cell of the last row, which leads its nested rows
    for line_no, line in lines[1:]:
        indent = len(line) - len(line.lstrip())
        if nested is not None and indent >= nested.starts[0]:
            nested_rows.append((lead or "", *nested.split(line)))
            continue
        nested = None
        if not _is_header(line):
            rows.append(header.split(line))
            lead = rows[-1][0]
        elif indent > header.starts[0]:
            if lead is None:
                raise _error("nested table before any row", line_no, line)
            nested = _Columns.of(line)
            nested_title = f"{title} {nested.names[0]}"
            nested_rows = _table_rows_for(tables, nested_title, (header.names[0], *nested.names))
        elif line.split() != list(header.names):
            header = _Columns.of(line)
            rows = _table_rows_for(tables, title, header.names)
    return [Section(name, columns, tuple(table_rows)) for name, columns, table_rows in tables]


def _table_rows_for(tables: list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]], title: str,
                    columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The rows of the table with this title and header, added at the end when new."""
    for name, known, rows in tables:
        if (name, known) == (title, columns):
            return rows
    tables.append((title, columns, []))
    return tables[-1][2]


# --- ldm list-constraints -p and -x -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Constraints:
    """What a domain asks for (`ldm list-constraints`, §6), as opposed to what it is bound to."""

    name: str
    vcpus: int | None
    memory_bytes: int | None
    networks: tuple[Nic, ...] = ()
    disks: tuple[Disk, ...] = ()
    variables: dict[str, str] = field(default_factory=dict)
    io: tuple[str, ...] = ()  # physical devices: pci@780
    cores: int | None = None  # whole-core domains: CORE|count= (UNCERTAIN in §6.2)


def parse_constraints_p(text: str) -> dict[str, Constraints]:
    """Constraints per domain from `ldm list-constraints -p` (§6.2). The control domain's service lines
    (VDS, VCC, VSW) are left to `parse_services_p`."""
    return {name: _constraints(name, stanzas) for name, _, stanzas in _domains(tokenize(text))}


def _constraints(name: str, stanzas: list[Stanza]) -> Constraints:
    def first(keyword: str) -> Record:
        """The keyword's line; an absent one reads as a line without attributes."""
        return next((s.head for s in stanzas if s.keyword == keyword), Record({}, 0, ""))

    return Constraints(
        name=name,
        vcpus=first("VCPU").number("count"),
        memory_bytes=first("MEMORY").convert("size", _as_size, "a size"),
        networks=tuple(_nic(stanza.head) for stanza in stanzas if stanza.keyword == "VNET"),
        disks=tuple(_disk(stanza.head) for stanza in stanzas if stanza.keyword == "VDISK"),
        variables=_pairs([stanza for stanza in stanzas if stanza.keyword == "VARIABLES"]),
        io=tuple(row.required("dev") for row in _rows(stanzas, "IO")),
        cores=first("CORE").number("count"),
    )


def parse_constraints_xml(text: str) -> dict[str, Constraints]:
    """Constraints per domain from `ldm list-constraints -x` (§6.3): the 1.2 schema (an `<ldom>` per domain,
    a child element per resource) or the OVF Envelope of 1.3 and later (a `Content` per domain, an `Item` per
    resource typed by rasd:OtherResourceType, extra keys in gprop:GenericProperty). Tags match whatever their
    namespace. Empty input gives {}."""
    if not text.strip():
        return {}
    root = _xml_root(text)
    domains = _xml_all(root, "Content") or _xml_all(root, "ldom")
    return {constraints.name: constraints for constraints in map(_xml_constraints, domains)}


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def _xml_all(root: ET.Element, tag: str) -> list[ET.Element]:
    return [element for element in root.iter() if _local(element.tag) == tag]


def _xml_root(text: str) -> ET.Element:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line_no = exc.position[0] if exc.position else None
        lines = text.split("\n")
        line = lines[line_no - 1] if line_no and line_no <= len(lines) else None
        raise _error(f"XML does not parse: {exc}", line_no, line) from None
    except UnicodeError:
        raise _error("XML holds characters that cannot be encoded") from None
    if _local(root.tag) not in ("LDM_interface", "Envelope"):
        raise _error(f"expected <LDM_interface>, got <{_local(root.tag)}>")
    return root


def _xml_props(element: ET.Element) -> dict[str, str]:
    """Child texts by local tag; a `GenericProperty key="k"` by its key."""
    props = {}
    for child in element:
        tag = _local(child.tag)
        props[child.get("key", "") if tag == "GenericProperty" else tag] = (child.text or "").strip()
    return props


def _xml_resources(domain: ET.Element) -> list[tuple[str, dict[str, str]]]:
    """(resource type, properties) per resource: OVF `Item`s, else the 1.2 schema's child elements."""
    items = _xml_all(domain, "Item")
    if items:
        return [(props.get("OtherResourceType", ""), props) for props in map(_xml_props, items)]
    return [(_local(child.tag), _xml_props(child)) for child in domain]


def _xml_constraints(domain: ET.Element) -> Constraints:
    resources = _xml_resources(domain)

    def of(kind: str) -> list[dict[str, str]]:
        return [props for resource, props in resources if resource == kind]

    def amount(kind: str, key: str, convert: Callable[[str], int | None], what: str) -> int | None:
        props = next(iter(of(kind)), {})
        value = props.get(key) or props.get("AllocationUnits", "")  # OVF puts counts and sizes there
        result = convert(value) if value else None
        if value and result is None:
            raise _error(f"<{kind}> {value[:40]!r} is not {what}")
        return result

    info = next(iter(of("ldom_info")), {})
    name = next((v for k, v in domain.attrib.items() if _local(k) == "id"), "") or info.get("ldom_name", "")
    if not name:
        raise _error(f"<{_local(domain.tag)}> without a domain name")
    return Constraints(
        name=name,
        vcpus=amount("cpu", "number", _as_int, "a whole number"),
        memory_bytes=amount("memory", "size", _as_size, "a size"),
        networks=tuple(_xml_nic(props) for props in of("network")),
        disks=tuple(_xml_disk(props) for props in of("disk")),
        variables={props.get("name", ""): props.get("value", "") for props in of("var")},
        io=tuple(props.get("name", "") for props in of("physio_device")),
    )


def _xml_nic(props: dict[str, str]) -> Nic:
    return Nic(mac=props.get("mac_address") or props.get("Address") or None, source_type="vsw",
               source=props.get("service_name") or None, target=props.get("vnet_name") or None)


def _xml_disk(props: dict[str, str]) -> Disk:
    name, vol, vds = props.get("vdisk_name"), props.get("vol_name"), props.get("service_name")
    if not name:
        raise _error("<disk> without a vdisk_name")
    return Disk(target=name, source=f"{vol}@{vds}" if vol and vds else vol or None, source_type="vdisk")


# --- `ldm list -o status` (§10.2): a migration in progress --------------------------------------------------


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """One domain of `ldm list -o status [-p]` (§10.2): the operation in progress (None when none is), how
    far in whole percent, and the other host: the target on the source (``outgoing``), the source on the
    target. ``error`` is known only from the `-p` form (``error=yes``)."""

    domain: str
    operation: str | None = None
    progress: int | None = None
    peer: str | None = None
    outgoing: bool | None = None
    error: bool | None = None


_STATUS_HEADER = re.compile(r"OPERATION\s+PROGRESS\s+(TARGET|SOURCE)")
_STATUS_ROW = re.compile(r"(\S+)\s+([0-9]{1,3})%?\s+(\S+)")
_DASH_LINE = re.compile(r"-{10,}")


def parse_status(text: str) -> tuple[MigrationStatus, ...]:
    """Every domain of `ldm list -o status` output, human or `-p`.

    Human (§10.2, RECONSTRUCTED there): ``NAME`` and the name on the next line, then, while an operation
    runs, ``STATUS``, an ``OPERATION PROGRESS TARGET`` header (``SOURCE`` on the target of a migration) and
    one indented row such as ``migration    34%         system2``; domains are separated as in §4 (a
    blank line and dashes). `-p` (§10.2, UNCERTAIN there): ``DOMAIN|name=`` then ``STATUS`` and
    ``|op=migration|progress=34|error=no|target=system2`` (``source=`` on the target)."""
    first = next((line.strip() for _, line in _numbered(text) if line.strip()), "")
    if first.startswith("VERSION") or "|" in first:
        return _status_parseable(text)
    found: list[MigrationStatus] = []
    lines = [(n, line.rstrip()) for n, line in _numbered(text)]
    i = 0
    while i < len(lines):
        line_no, line = lines[i]
        word = line.strip()
        i += 1
        if not word or _DASH_LINE.fullmatch(word):
            continue
        if word == "NAME":
            while i < len(lines) and not lines[i][1].strip():
                i += 1
            if i >= len(lines):
                raise _error("NAME without a domain name", line_no, line)
            found.append(MigrationStatus(lines[i][1].strip()))
            i += 1
        elif word == "STATUS":
            if not found:
                raise _error("STATUS before any NAME", line_no, line)
            if i >= len(lines) or not (header := _STATUS_HEADER.fullmatch(lines[i][1].strip())):
                raise _error("expected OPERATION PROGRESS TARGET after STATUS", *(lines[i] if i < len(lines)
                                                                                 else (line_no, line)))
            i += 1
            if i >= len(lines) or not (row := _STATUS_ROW.fullmatch(lines[i][1].strip())):
                raise _error("expected an operation, its progress and a host", *(lines[i] if i < len(lines)
                                                                                 else (line_no, line)))
            op, progress, peer = row.groups()
            found[-1] = MigrationStatus(found[-1].domain, op, int(progress), peer, header.group(1) == "TARGET")
            i += 1
        else:
            raise _error("expected NAME or STATUS", line_no, line)
    return tuple(found)


def _status_parseable(text: str) -> tuple[MigrationStatus, ...]:
    found: list[MigrationStatus] = []
    for stanza in tokenize(text).stanzas:
        if stanza.keyword == "DOMAIN":
            found.append(MigrationStatus(stanza.head.required("name")))
        elif stanza.keyword == "STATUS":
            if not found:
                raise _error("STATUS before any DOMAIN", stanza.head.line_no, stanza.head.line)
            for row in stanza.rows:
                progress = row.text("progress") or ""
                if progress and not _INT.fullmatch(progress.rstrip("%")):
                    raise _error(f"progress {progress!r} is not a percentage", row.line_no, row.line)
                peer, outgoing = (row.text("target"), True) if row.text("target") else (row.text("source"), False)
                error = row.text("error")
                found[-1] = MigrationStatus(found[-1].domain, row.text("op") or None,
                                            int(progress.rstrip("%")) if progress else None, peer or None,
                                            outgoing if peer else None, None if error is None else error == "yes")
    return tuple(found)


# --- zfs list -H -p: the control domain's ZFS volumes, snapshots and clones -------------------------------

# Not an ldm format: Solaris zfs(8). `-H` prints one dataset per line, its fields separated by one tab and no
# header (zfs_main.c print_dataset); `-p` prints numbers exact, in bytes (Solaris 11.1 and later, illumos);
# an older zfs prints them as `zfs_nicenum` does (`20G`, `1.56T`, `32K`), read here to three significant
# digits. A property with no value is `-`.

#: the columns `zfs_list` asks for, in this order
ZFS_COLUMNS = ("name", "type", "used", "available", "referenced", "volsize", "origin")
_ZFS_NICENUM = re.compile(r"([0-9]{1,20}(?:\.[0-9]{1,20})?)([KMGTPE]?)")
_ZFS_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50, "E": 2**60}
ZFS_TYPES = ("filesystem", "volume", "snapshot")


@dataclass(frozen=True, slots=True)
class ZfsDataset:
    """One line of `zfs list -H -p -o name,type,used,available,referenced,volsize,origin`. Sizes in bytes,
    None where zfs prints `-` (a snapshot has no available, a filesystem no volsize)."""

    name: str  # pool/vol, pool/fs/vol, pool/vol@snap
    type: str  # filesystem | volume | snapshot
    used: int | None
    available: int | None
    referenced: int | None
    volsize: int | None
    origin: str | None  # the snapshot a clone was made from

    @property
    def parent(self) -> str:
        """The dataset a volume or filesystem lives in (``pool/vol`` -> ``pool``), or a snapshot's volume."""
        if self.type == "snapshot":
            return self.name.partition("@")[0]
        return self.name.rpartition("/")[0]

    @property
    def short(self) -> str:
        """The last component: ``web-boot`` of ``pool/web-boot``, ``before`` of ``pool/vol@before``."""
        if self.type == "snapshot":
            return self.name.partition("@")[2]
        return self.name.rpartition("/")[2]


def _zfs_number(text: str, column: str, line_no: int, line: str) -> int | None:
    if text == "-":
        return None
    if _INT.fullmatch(text):
        return int(text)
    match = _ZFS_NICENUM.fullmatch(text)
    if match is None:
        raise ParseError(f"{column} {text[:40]!r} is not a size", line_no=line_no, line=line, source="zfs")
    return int(Fraction(match.group(1)) * _ZFS_UNITS[match.group(2)])


def parse_zfs_list(text: str) -> tuple[ZfsDataset, ...]:
    """Datasets from `zfs list -H -p -o name,type,used,available,referenced,volsize,origin` (`ZFS_COLUMNS`),
    in the order zfs printed them."""
    datasets = []
    for line_no, line in _numbered(text):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(ZFS_COLUMNS):
            raise ParseError(f"expected {len(ZFS_COLUMNS)} tab-separated fields ({','.join(ZFS_COLUMNS)}), "
                             f"got {len(fields)}", line_no=line_no, line=line, source="zfs")
        name, kind, used, available, referenced, volsize, origin = fields
        if not name or kind not in ZFS_TYPES:
            raise ParseError(f"{kind[:20]!r} is not a dataset type ({', '.join(ZFS_TYPES)})", line_no=line_no,
                             line=line, source="zfs")
        datasets.append(ZfsDataset(
            name=name, type=kind,
            used=_zfs_number(used, "used", line_no, line),
            available=_zfs_number(available, "available", line_no, line),
            referenced=_zfs_number(referenced, "referenced", line_no, line),
            volsize=_zfs_number(volsize, "volsize", line_no, line),
            origin=None if origin == "-" else origin))
    return tuple(datasets)


def parse_zfs_names(text: str) -> tuple[str, ...]:
    """Dataset names from `zfs list -H -o name`, one a line."""
    return tuple(line.strip() for _, line in _numbered(text) if line.strip())


# --- ldm list-spconfig ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpConfig:
    """One configuration saved on the service processor (§11)."""

    name: str
    current: bool = False
    next_poweron: bool = False
    degraded: bool = False


_SPCONFIG_TAGS = {"[current]": "current", "[next poweron]": "next_poweron", "[degraded]": "degraded"}
_SPCONFIG_LINE = re.compile(r"(\S+)((?:\s+\[(?:current|next poweron|degraded)\])*)\s*")


def parse_spconfig(text: str) -> tuple[SpConfig, ...]:
    """`ldm list-spconfig` (§11): one name per line from column 0, then ` [current]`, ` [next poweron]` or
    ` [degraded]`."""
    configs = []
    for line_no, line in _numbered(text):
        if not line.strip():
            continue
        match = _SPCONFIG_LINE.fullmatch(line)
        if match is None or line[:1].isspace():
            raise _error("expected a configuration name, then [current], [next poweron] or [degraded]",
                         line_no, line)
        tags = re.findall(r"\[[^\]]+\]", match.group(2))
        flags = {_SPCONFIG_TAGS[tag]: True for tag in tags}
        configs.append(SpConfig(match.group(1), **flags))
    return tuple(configs)


# --- a domain's virtual disks with their ids (ldm list-bindings -p) ------------------------------------


@dataclass(frozen=True, slots=True)
class VdiskRef:
    """A VDISK line of `ldm list-bindings -p` (§3.3, §3.5): the disk's name in the guest, its
    ``volume@vds`` and its id (``id=``, the ``disk@N`` the guest sees; None where the line has none)."""

    name: str
    volume: str  # volume@vds
    id: int | None

    @property
    def vds(self) -> str:
        return self.volume.partition("@")[2]

    @property
    def vol(self) -> str:
        return self.volume.partition("@")[0]


def parse_vdisks_p(text: str) -> dict[str, tuple[VdiskRef, ...]]:
    """Each domain's VDISK lines from `ldm list-bindings -p` or `ldm list-constraints -p` (which has no id=),
    in printed order. The id comes from ``id=``, else from ``dev=disk@N``."""
    found: dict[str, tuple[VdiskRef, ...]] = {}
    for name, _, stanzas in _domains(tokenize(text)):
        refs = []
        for stanza in stanzas:
            if stanza.keyword != "VDISK":
                continue
            head = stanza.head
            disk_id = head.number("id")
            dev = head.text("dev") or ""
            if disk_id is None and dev.startswith("disk@"):
                disk_id = _as_int(dev[len("disk@"):])
            refs.append(VdiskRef(head.required("name"), head.required("vol"), disk_id))
        found[name] = tuple(refs)
    return found
