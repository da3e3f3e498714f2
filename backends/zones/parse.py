"""Pure zones knowledge: the stdout of `zoneadm`, `zonecfg` and `uname` in, model objects out.

No I/O, no asyncio. Section numbers ("§1.2") refer to shared/formats/zones.md, which labels each sample
VERBATIM, SOURCE-DERIVED or RECONSTRUCTED; where this module relies on illumos source that zones.md does not
quote, the docstring names the file (illumos-gate `usr/src/cmd/zonecfg/zonecfg.c`, `zonecfg_lex.l`).
Every public parser returns a result or raises `ParseError` naming the offending line; nothing else escapes.
`parse_zoneadm_errors` reads free-form stderr and never raises.

Not parsed, for want of real samples in zones.md: `prstat -Z`, `zonestat`, `zonecfg info`, `zonep2vchk`,
the stdout of `zoneadm detach`/`attach`/`clone`/`install`, and `uname` itself (see `parse_uname`).

Two commands the wizards need have no sample in zones.md either; their parsers follow the grammar their
man pages define, and their samples in tests are RECONSTRUCTED from it: `zfs list -H -p` (zfs(8): "-H Used
for scripting mode. Do not print headers and separate fields by a single tab instead of arbitrary white
space."; "-p Display numbers in parsable (exact) values.") and `dladm show-link -p -o link,class`
(illumos-gate usr/src/man/man8/dladm.8, "Parsable Output Format": one line per link, fields in the order
asked for, separated by `:`, with a literal `:` written as a backslash and a colon, and a backslash
doubled, when more than one field is asked for; CLASS is phys, aggr, etherstub, overlay, vlan, vnic,
misc... as the man page lists them).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from ..errors import ParseError
from ..model import Bindings, ConsoleDev, Cpu, Disk, Domain, DomainState, Memory, Nic, Section

GLOBAL_ZONE = "global"


def _error(message: str, line_no: int | None = None, line: str | None = None, *,
           source: str = "zoneadm") -> ParseError:
    return ParseError(message, line_no=line_no, line=line, source=source)


def _numbered(text: str) -> Iterator[tuple[int, str]]:
    """(line number from 1, line), split on newlines only so numbers match what an editor shows."""
    for line_no, line in enumerate(text.split("\n"), 1):
        yield line_no, line.rstrip("\r")


# --- states (§2) -------------------------------------------------------------------------------------------

# libzonecfg's ZONE_STATE_STR_* words, Solaris 11's `unavailable` and `<defunct>`, and the `???` that
# lookup_zone_info leaves in a field it could not fill (§2). Anything else is unknown.
STATES: dict[str, DomainState] = {
    "running": DomainState.RUNNING,
    "installed": DomainState.STOPPED,
    "configured": DomainState.STOPPED,
    "ready": DomainState.TRANSITION,
    "incomplete": DomainState.TRANSITION,
    "shutting_down": DomainState.TRANSITION,
    "down": DomainState.TRANSITION,
    "mounted": DomainState.TRANSITION,
    "unavailable": DomainState.UNKNOWN,
    "unknown": DomainState.UNKNOWN,
    "<defunct>": DomainState.UNKNOWN,
    "???": DomainState.UNKNOWN,
}
DEFUNCT = "<defunct>"


def zone_state(word: str) -> DomainState:
    """The normalised state of a zoneadm state word; UNKNOWN for any word §2 does not list."""
    return STATES.get(word, DomainState.UNKNOWN)


# --- zoneadm list -p (§1.1, §1.2) --------------------------------------------------------------------------


class Layout(str, enum.Enum):
    """The field layouts of `zoneadm list -p` (§1.1), told apart by the number of fields."""

    #: `zoneid:zonename:state:zonepath:uuid:brand:ip-type` (OpenSolaris 2009, Solaris 10)
    SOLARIS10 = "solaris10"
    #: the seven fields, then `debugid` (current illumos: OmniOS, SmartOS, OpenIndiana)
    ILLUMOS = "illumos"
    #: the seven fields, then `R`/`W`/`-` and the file-mac-profile (Oracle Solaris 11; 11.4 adds a tenth)
    SOLARIS11 = "solaris11"


#: how many fields each layout prints; a line may carry more (zoneadm.8: fields may be added in the future)
LAYOUT_FIELDS: dict[Layout, int] = {Layout.SOLARIS10: 7, Layout.ILLUMOS: 8, Layout.SOLARIS11: 9}

_ZONE_ID = re.compile(r"[0-9]{1,20}")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def split_fields(line: str) -> list[str]:
    """The `:`-separated fields of one `zoneadm list -p` line, splitting on unescaped `:` only.

    zoneadm escapes every `:` of the zonepath as `\\:` and nothing else (§1.1): a zone name cannot hold a
    `:` (zonecfg's name rules), and uuid, brand and ip-type never do. A backslash not followed by `:` is
    kept as printed. zoneadm does not escape the backslash itself, so a zonepath that ends in `\\` is
    printed ambiguously (`/z\\` then the separator reads as `/z\\:`); such a line reads as an escaped colon.
    """
    fields: list[str] = []
    current: list[str] = []
    at = 0
    while at < len(line):
        char = line[at]
        if char == "\\" and line.startswith(":", at + 1):
            current.append(":")
            at += 2
            continue
        if char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        at += 1
    fields.append("".join(current))
    return fields


def _layout_of(count: int, line_no: int, line: str) -> Layout:
    if count < LAYOUT_FIELDS[Layout.SOLARIS10]:
        raise _error(f"{count} fields; zoneadm list -p prints at least 7", line_no, line)
    if count == LAYOUT_FIELDS[Layout.SOLARIS10]:
        return Layout.SOLARIS10
    if count == LAYOUT_FIELDS[Layout.ILLUMOS]:
        return Layout.ILLUMOS
    return Layout.SOLARIS11


def detect_layout(text: str) -> Layout | None:
    """The layout of `zoneadm list -p` output, from the field count of its first line (§1.1): 7 fields
    Solaris 10, 8 illumos, 9 or more Solaris 11. None for output without any line."""
    for line_no, line in _numbered(text):
        if line.strip():
            return _layout_of(len(split_fields(line)), line_no, line)
    return None


@dataclass(frozen=True, slots=True)
class ZoneEntry:
    """One line of `zoneadm list -p`, every field as printed (the zonepath with its `\\:` undone)."""

    line_no: int
    layout: Layout
    #: the zone id; None for `-` (not ready or running) and for Solaris 11 defunct zones
    id: int | None
    name: str
    state: str
    zonepath: str
    uuid: str  # empty for the global zone, `-` for a defunct zone
    brand: str
    ip_type: str  # `shared` or `excl`
    debugid: str | None = None  # illumos; "" on the SmartOS global zone
    readonly: str | None = None  # Solaris 11: R (read-only, with a file-mac-profile), W, or -
    mac_profile: str | None = None  # Solaris 11: none, fixed-configuration, ...
    uniqid: int | None = None  # Solaris 11 defunct zones print it in place of the zone id
    more: tuple[str, ...] = ()  # fields after the layout's, e.g. the empty tenth field of Solaris 11.4

    @property
    def is_global(self) -> bool:
        return self.name == GLOBAL_ZONE


def parse_list_entries(text: str) -> tuple[ZoneEntry, ...]:
    """The lines of `zoneadm list -p`, `-cp` or `-ip` (§1.2) in printed order. The first line's field count
    fixes the layout; every later line must have at least as many fields, and fields beyond the layout's
    are kept in `more`. Blank lines are skipped; empty input gives ()."""
    layout = detect_layout(text)
    if layout is None:
        return ()
    entries = []
    for line_no, line in _numbered(text):
        if line.strip():
            entries.append(_entry(layout, split_fields(line), line_no, line))
    return tuple(entries)


def _entry(layout: Layout, fields: list[str], line_no: int, line: str) -> ZoneEntry:
    wanted = LAYOUT_FIELDS[layout]
    if len(fields) < wanted:
        raise _error(f"{len(fields)} fields where the first line has {wanted} or more", line_no, line)
    zid, name, state, zonepath, uuid, brand, ip_type = fields[:7]
    if not name:
        raise _error("empty zone name", line_no, line)
    if not state:
        raise _error(f"zone {name}: empty state", line_no, line)
    if zid != "-" and not _ZONE_ID.fullmatch(zid):
        raise _error(f"zone {name}: id {zid[:24]!r} is neither a number nor '-'", line_no, line)
    number = None if zid == "-" else int(zid)
    defunct = state == DEFUNCT
    return ZoneEntry(
        line_no=line_no, layout=layout,
        id=None if defunct else number,
        name=name, state=state, zonepath=zonepath, uuid=uuid, brand=brand, ip_type=ip_type,
        debugid=fields[7] if layout is Layout.ILLUMOS else None,
        readonly=fields[7] if layout is Layout.SOLARIS11 else None,
        mac_profile=fields[8] if layout is Layout.SOLARIS11 else None,
        uniqid=number if defunct else None,
        more=tuple(fields[wanted:]),
    )


def entry_domain(entry: ZoneEntry, host: str) -> Domain:
    """The fleet row of one zone. `Domain.uuid` is set only for a real UUID (the global zone's is empty, a
    defunct zone's `-`, and Oracle's documentation prints the word `UUID`), so rows never share a key.
    Zone fields go to `extra` in this order, each only when printed non-empty: role (the global zone
    only), zonepath, brand, ip-type, uuid, debugid, readonly, file-mac-profile, uniqid."""
    extra: list[tuple[str, str]] = []
    if entry.is_global:
        extra.append(("role", "global"))
    pairs = (("zonepath", entry.zonepath), ("brand", entry.brand), ("ip-type", entry.ip_type),
             ("uuid", "" if entry.uuid == "-" else entry.uuid), ("debugid", entry.debugid or ""),
             ("readonly", entry.readonly or ""), ("file-mac-profile", entry.mac_profile or ""),
             ("uniqid", "" if entry.uniqid is None else str(entry.uniqid)))
    extra += [(label, value) for label, value in pairs if value]
    return Domain(
        host=host,
        name=entry.name,
        state=zone_state(entry.state),
        native_state=entry.state,
        id=entry.id,
        uuid=entry.uuid.lower() if _UUID.fullmatch(entry.uuid) else None,
        console=None,
        extra=tuple(extra),
    )


def parse_list_p(text: str, host: str) -> tuple[Domain, ...]:
    """Fleet rows from `zoneadm list -cp` (§1.2), in zoneadm's order (running zones first, the global zone
    first of all)."""
    return tuple(entry_domain(entry, host) for entry in parse_list_entries(text))


# --- zoneadm list -v (§1.4) --------------------------------------------------------------------------------

LIST_V_HEADER = ("ID", "NAME", "STATUS", "PATH", "BRAND", "IP")


def parse_list_v(text: str, host: str) -> tuple[Domain, ...]:
    """Fleet rows from `zoneadm list -v` / `-cv` (§1.4). The header must be the first line. Rows split on
    whitespace, never at fixed offsets (long names and paths push later columns right): ID, NAME and
    STATUS are the first three words, BRAND and IP the last two, PATH what lies between (a path with runs
    of spaces comes back with single spaces)."""
    lines = [(line_no, line) for line_no, line in _numbered(text) if line.strip()]
    if not lines:
        return ()
    header_no, header = lines[0]
    if tuple(header.split()) != LIST_V_HEADER:
        raise _error("not the header of zoneadm list -v", header_no, header)
    domains = []
    for line_no, line in lines[1:]:
        words = line.split()
        if len(words) < len(LIST_V_HEADER):
            raise _error("expected ID NAME STATUS PATH BRAND IP", line_no, line)
        zid, name, state = words[:3]
        if zid != "-" and not _ZONE_ID.fullmatch(zid):
            raise _error(f"zone {name}: id {zid[:24]!r} is neither a number nor '-'", line_no, line)
        entry = ZoneEntry(line_no=line_no, layout=Layout.SOLARIS10, id=None if zid == "-" else int(zid),
                          name=name, state=state, zonepath=" ".join(words[3:-2]), uuid="",
                          brand=words[-2], ip_type=words[-1])
        domains.append(entry_domain(entry, host))
    return tuple(domains)


# --- uname -sr ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Uname:
    """`uname -sr`: the operating system name and release, e.g. `SunOS` and `5.11`.

    zones.md holds no `uname` sample. The shape is POSIX `uname -s -r` (the two values on one line,
    separated by a space); the release numbers are Sun's: Solaris 10 is SunOS 5.10, Oracle Solaris 11
    and every illumos distribution report SunOS 5.11, so only the field count of `zoneadm list -p` tells
    those two apart (`layouts`). Zones exist from SunOS 5.10 on."""

    system: str
    release: str

    @property
    def _minor(self) -> int | None:
        match = re.fullmatch(r"5\.([0-9]{1,4})(?:\.[0-9]{1,4})*", self.release)
        return int(match.group(1)) if self.system == "SunOS" and match else None

    @property
    def has_zones(self) -> bool:
        minor = self._minor
        return minor is not None and minor >= 10

    @property
    def family(self) -> str:
        """Operator words for the system: `Solaris 10`, `Solaris 11 or illumos`, or what uname printed."""
        minor = self._minor
        if minor == 10:
            return "Solaris 10"
        if minor is not None and minor >= 11:
            return "Solaris 11 or illumos"
        return f"{self.system} {self.release}".strip()

    @property
    def layouts(self) -> frozenset[Layout]:
        """The `zoneadm list -p` layouts this system can print (empty where there are no zones)."""
        minor = self._minor
        if minor == 10:
            return frozenset({Layout.SOLARIS10})
        if minor is not None and minor >= 11:
            # OpenSolaris (SunOS 5.11) printed the 7-field form before illumos added debugid (§1.1)
            return frozenset({Layout.SOLARIS10, Layout.ILLUMOS, Layout.SOLARIS11})
        return frozenset()


def parse_uname(text: str) -> Uname:
    """`uname -sr` output: exactly one non-blank line of two words."""
    lines = [(line_no, line) for line_no, line in _numbered(text) if line.strip()]
    if not lines:
        raise _error("no output", source="uname")
    if len(lines) > 1:
        raise _error("more than one line", *lines[1], source="uname")
    line_no, line = lines[0]
    words = line.split()
    if len(words) != 2:
        raise _error("expected the system name and release", line_no, line, source="uname")
    return Uname(words[0], words[1])


# --- zonecfg -z ZONE export (§4) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZoneResource:
    """One `add RESOURCE` ... `end` block: its properties in printed order, values unquoted. A `set` gives a
    property one value (a second `set` replaces it); `add NAME VALUE` inside the block (fs options, rctl
    values) appends one more, so the name repeats."""

    type: str
    properties: tuple[tuple[str, str], ...] = ()
    line_no: int = 0

    def get(self, name: str) -> str | None:
        """The value last given to the property, None when absent."""
        return next((value for key, value in reversed(self.properties) if key == name), None)

    def values(self, name: str) -> tuple[str, ...]:
        """Every value given to the property, in order."""
        return tuple(value for key, value in self.properties if key == name)


@dataclass(frozen=True, slots=True)
class ZoneConfig:
    """A zone's configuration as `zonecfg export` prints it: the `create` line's arguments (`("-b",)`,
    `("-t", "SRC")`, `("-a", "/path")`, () for a plain `create`; None without a create line), the global
    properties in printed order, and the resources."""

    create: tuple[str, ...] | None = None
    properties: tuple[tuple[str, str], ...] = ()
    resources: tuple[ZoneResource, ...] = ()

    def get(self, name: str) -> str | None:
        return next((value for key, value in reversed(self.properties) if key == name), None)

    def of(self, *types: str) -> tuple[ZoneResource, ...]:
        return tuple(resource for resource in self.resources if resource.type in types)


_VERB_LINE = re.compile(r"[ \t]*([^ \t]+)[ \t]*(.*)")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_SET = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*)[ \t]*=[ \t]*(.*)")
_ADD_PROPERTY = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*)[ \t]+([^ \t].*)")
_BLANKS = " \t"  # all zonecfg's lexer skips between words (zonecfg_lex.l); U+00A0 and the like are text


def unquote(value: str, line_no: int | None = None, line: str | None = None) -> str:
    """A zonecfg value as its lexer reads it (zonecfg_lex.l): `"..."` is the text between the quotes, with
    no escapes; a quote left open runs to the end of the line. Anything else is taken as printed, which
    is how export writes the zonepath, brand, bootargs, pool and limitpriv (unquoted, zonecfg.c
    export_func). Text after a closing quote is a ParseError."""
    value = value.strip(_BLANKS)
    if not value.startswith('"'):
        return value
    inner, closed, rest = value[1:].partition('"')
    if closed and rest.strip(_BLANKS):
        raise _error(f"text after the closing quote: {rest.strip(_BLANKS)[:40]!r}", line_no, line,
                     source="zonecfg")
    return inner


def _tokens(text: str, line_no: int, line: str) -> tuple[str, ...]:
    """Words split on blanks, a `"..."` word taken whole (the arguments of a create line)."""
    words: list[str] = []
    rest = text.strip(_BLANKS)
    while rest:
        if rest.startswith('"'):
            inner, closed, rest = rest[1:].partition('"')
            if closed and rest and rest[0] not in _BLANKS:
                raise _error("a quoted word runs into the next", line_no, line, source="zonecfg")
            words.append(inner)
        else:
            match = re.match(r"[^ \t]*", rest)
            word = match.group() if match else rest
            words.append(word)
            rest = rest[len(word):]
        rest = rest.strip(_BLANKS)
    return tuple(words)


def parse_zonecfg(text: str) -> ZoneConfig:
    """A zone configuration from `zonecfg -z ZONE export` (§4), or any command file in the same grammar.

    One command per line, as export prints them: `create [ARGS]` (at most once, before anything else),
    `set NAME=VALUE`, `add RESOURCE`, inside a resource `set NAME=VALUE` and `add NAME VALUE`, and `end`.
    Blank lines and `#` comments are skipped. A `set` value runs to the end of the line (export prints a
    zonepath with a space unquoted). Lists (`[a,b]`) and complex values (`(priv=...,limit=...)`) are kept
    as printed; see `parse_complex`. Any resource type is accepted (unknown ones become generic sections).
    Other zonecfg commands (select, remove, commit...), an `end` outside a resource and a resource left
    open at the end are ParseErrors."""
    create: tuple[str, ...] | None = None
    properties: list[tuple[str, str]] = []
    resources: list[ZoneResource] = []
    current: tuple[str, int, list[tuple[str, str]]] | None = None  # (type, line_no, properties)
    seen_command = False
    for line_no, line in _numbered(text):
        if not line.strip(_BLANKS) or line.lstrip(_BLANKS).startswith("#"):
            continue
        match = _VERB_LINE.fullmatch(line)
        verb, rest = (match.group(1), match.group(2)) if match else ("", "")
        if verb == "create":
            if seen_command:
                raise _error("create after other commands", line_no, line, source="zonecfg")
            create = _tokens(rest, line_no, line)
        elif verb == "set":
            assignment = _SET.fullmatch(rest)
            if assignment is None:
                raise _error("expected set NAME=VALUE", line_no, line, source="zonecfg")
            name, value = assignment.group(1), unquote(assignment.group(2), line_no, line)
            _set(current[2] if current is not None else properties, name, value)
        elif verb == "add" and current is None:
            if not _NAME.fullmatch(rest.strip(_BLANKS)):
                raise _error("expected add RESOURCE-TYPE", line_no, line, source="zonecfg")
            current = (rest.strip(_BLANKS), line_no, [])
        elif verb == "add":
            pair = _ADD_PROPERTY.fullmatch(rest.strip(_BLANKS))
            if pair is None:
                raise _error("expected add NAME VALUE inside a resource", line_no, line, source="zonecfg")
            assert current is not None  # `add` is only accepted inside a resource (checked above)
            current[2].append((pair.group(1), unquote(pair.group(2), line_no, line)))
        elif verb == "end":
            if current is None:
                raise _error("end outside a resource", line_no, line, source="zonecfg")
            if rest.strip(_BLANKS):
                raise _error("text after end", line_no, line, source="zonecfg")
            resources.append(ZoneResource(current[0], tuple(current[2]), current[1]))
            current = None
        else:
            raise _error("not a command zonecfg export prints", line_no, line, source="zonecfg")
        seen_command = True
    if current is not None:
        raise _error(f"add {current[0]} is never ended", current[1], source="zonecfg")
    return ZoneConfig(create, tuple(properties), tuple(resources))


def _set(properties: list[tuple[str, str]], name: str, value: str) -> None:
    """`set` replaces the property's value (where it was first given); `add NAME VALUE` appends."""
    at = next((i for i, (key, _) in enumerate(properties) if key == name), None)
    if at is None:
        properties.append((name, value))
    else:
        properties[at] = (name, value)
        properties[:] = [pair for i, pair in enumerate(properties) if i <= at or pair[0] != name]


def parse_complex(value: str) -> tuple[tuple[str, str], ...]:
    """The pairs of a complex value, `(priv=privileged,limit=300,action=none)` (zonecfg.8 PROPERTIES), in
    order. A value that is not of that shape gives ()."""
    match = re.fullmatch(r"\s*\((.*)\)\s*", value)
    if match is None:
        return ()
    pairs = []
    for piece in match.group(1).split(","):
        key, equals, item = piece.partition("=")
        if not equals or not key.strip():
            return ()
        try:
            pairs.append((key.strip(), unquote(item)))
        except ParseError:
            return ()
    return tuple(pairs)


_SIZE = re.compile(r"([0-9]{1,20}(?:\.[0-9]{1,20})?)([BbKkMmGgTt]?)")
_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_zone_size(text: str) -> int | None:
    """Bytes from a capped-memory size: `50m`, `1G`, `1.5G`, `512M`, `100B` (zonecfg.8: "A scale (K, M, G,
    T) can be applied"; export prints what zonecfg.c bytes_to_units makes, B to T with one decimal below
    10). Units are binary. None for anything else."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        return None
    number, unit = match.groups()
    return int(Fraction(number) * _UNITS[unit.upper()])


# Bindings sections: resource type -> (title, columns as (header, property)). A column no row has is left
# out; properties not listed are appended in upper case, so a property a release adds still shows.
NETWORK_TYPES = ("net", "anet")
TABLES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "net": ("NETWORK", (("RESOURCE", "resource"), ("PHYSICAL", "physical"), ("LINKNAME", "linkname"),
                        ("LOWER-LINK", "lower-link"), ("GLOBAL-NIC", "global-nic"), ("ADDRESS", "address"),
                        ("ALLOWED-ADDRESS", "allowed-address"), ("DEFROUTER", "defrouter"),
                        ("MAC", "mac-addr"), ("MAC-ADDRESS", "mac-address"), ("VLAN-ID", "vlan-id"))),
    "fs": ("FS", (("DIR", "dir"), ("SPECIAL", "special"), ("RAW", "raw"), ("TYPE", "type"),
                  ("OPTIONS", "options"))),
    "dataset": ("DATASET", (("NAME", "name"), ("ALIAS", "alias"))),
    "device": ("DEVICE", (("MATCH", "match"),)),
    "dedicated-cpu": ("DEDICATED-CPU", (("NCPUS", "ncpus"), ("IMPORTANCE", "importance"))),
    "capped-cpu": ("CAPPED-CPU", (("NCPUS", "ncpus"),)),
    "capped-memory": ("CAPPED-MEMORY", (("PHYSICAL", "physical"), ("SWAP", "swap"), ("LOCKED", "locked"))),
    "rctl": ("RCTL", (("NAME", "name"), ("PRIV", "priv"), ("LIMIT", "limit"), ("ACTION", "action"))),
    "attr": ("ATTR", (("NAME", "name"), ("TYPE", "type"), ("VALUE", "value"))),
    "inherit-pkg-dir": ("INHERIT-PKG-DIR", (("DIR", "dir"),)),
    "admin": ("ADMIN", (("USER", "user"), ("AUTHS", "auths"))),
}
_MAC = re.compile(r"[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}")
_NCPUS = re.compile(r"([0-9]{1,6})(?:-([0-9]{1,6}))?")


def zone_bindings(config: ZoneConfig, host: str, zone: str) -> Bindings:
    """A zone's bindings from its configuration, in sections like the other kinds: ZONE (the global
    properties: zonepath, brand, autoboot, ip-type...), NETWORK (net and anet, one row each, which replaces
    the common network table), then FS, DATASET, DEVICE, DEDICATED-CPU, CAPPED-CPU, CAPPED-MEMORY, RCTL
    (one row per value), ATTR and any other resource, in the order their first block is printed.

    The CPU cap and the swap and locked-memory caps are resource controls (`zone.cpu-cap`,
    `zone.max-swap`, `zone.max-locked-memory`): export prints them as `add rctl` blocks only (illumos
    zonecfg.c export_func: "There is nothing to export for pcap since this resource is just a container
    for an rctl alias"; the mcap block carries `physical` alone). They are shown in RCTL as printed, and
    also as CAPPED-CPU NCPUS (the cap in hundredths of a CPU) and CAPPED-MEMORY SWAP and LOCKED.

    The common fields: `cpu.vcpus` from dedicated-cpu ncpus (`2`, or `1-4` as vcpus 1, max 4);
    `memory.max_bytes` from the capped-memory physical cap (zones have no fixed memory); `nics` from net
    and anet; `disks` from fs (device `fs`) and dataset (device `dataset`) resources; the zone console."""
    pset = next(iter(config.of("dedicated-cpu")), None)
    ncpus = _NCPUS.fullmatch(pset.get("ncpus") or "") if pset else None
    cpu = Cpu(vcpus=int(ncpus.group(1)) if ncpus else None,
              max_vcpus=int(ncpus.group(2)) if ncpus and ncpus.group(2) else None)
    mcap = next(iter(config.of("capped-memory")), None)
    physical = mcap.get("physical") if mcap else None
    return Bindings(
        host=host,
        domain=zone,
        cpu=cpu,
        memory=Memory(current_bytes=None, max_bytes=parse_zone_size(physical) if physical else None),
        disks=tuple(_disk(resource) for resource in config.of("fs", "dataset")),
        nics=tuple(_nic(resource) for resource in config.of(*NETWORK_TYPES)),
        consoles=(ConsoleDev(kind="console", type="zcons"),),
        extra=(Section("ZONE", ("PROPERTY", "VALUE"), config.properties), *_sections(_with_caps(config))),
    )


#: resource controls that zonecfg's capped-memory properties set (zonecfg.8 capped-memory)
_MEMORY_RCTLS = (("swap", "zone.max-swap"), ("locked", "zone.max-locked-memory"))


def _rctl_limit(config: ZoneConfig, name: str) -> int | None:
    """The privileged limit of an rctl, when it is a whole number."""
    for resource in config.of("rctl"):
        if resource.get("name") != name:
            continue
        for value in resource.values("value"):
            pairs = dict(parse_complex(value))
            if pairs.get("priv") == "privileged" and pairs.get("limit", "").isdigit():
                return int(pairs["limit"])
    return None


def _with_caps(config: ZoneConfig) -> tuple[ZoneResource, ...]:
    """The resources, with the caps that export prints as rctls added where zonecfg shows them: the CPU cap
    as a capped-cpu block (ncpus = limit / 100), swap and locked in the capped-memory block."""
    resources = list(config.resources)
    cap = _rctl_limit(config, "zone.cpu-cap")
    if cap is not None and not config.of("capped-cpu"):
        resources.append(ZoneResource("capped-cpu", (("ncpus", f"{cap / 100:.2f}"),)))
    memory = [(prop, _units(limit)) for prop, rctl in _MEMORY_RCTLS
              if (limit := _rctl_limit(config, rctl)) is not None]
    if memory:
        at = next((i for i, r in enumerate(resources) if r.type == "capped-memory"), None)
        if at is None:
            resources.append(ZoneResource("capped-memory", tuple(memory)))
        else:
            mcap = resources[at]
            known = {key for key, _ in mcap.properties}
            resources[at] = ZoneResource(mcap.type, mcap.properties + tuple(p for p in memory if p[0] not in known),
                                         mcap.line_no)
    return tuple(resources)


def _units(size: int) -> str:
    """Bytes in zonecfg's scale: whole units as `2G`, `512M`; otherwise one decimal (`1.5G`)."""
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift:
            value = size / (1 << shift)
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.1f}{unit}"
    return f"{size}"


def parse_export(text: str, host: str, zone: str) -> Bindings:
    """`zonecfg -z ZONE export` (§4) straight to the zone's bindings."""
    return zone_bindings(parse_zonecfg(text), host, zone)


def _disk(resource: ZoneResource) -> Disk:
    if resource.type == "dataset":
        name = resource.get("name") or ""
        return Disk(target=resource.get("alias") or name, source=name or None, source_type="zfs",
                    device="dataset")
    options = ",".join(resource.values("options")).split(",")
    return Disk(target=resource.get("dir") or "", source=resource.get("special"),
                source_type=resource.get("type") or "", device="fs", read_only="ro" in options)


def _nic(resource: ZoneResource) -> Nic:
    """net: `physical` is the link the zone gets (a VNIC made on `global-nic` where that is set); anet:
    `linkname` is the zone's name for a VNIC on `lower-link`. MAC only where one is written out."""
    mac = resource.get("mac-addr") or resource.get("mac-address") or ""
    if resource.type == "anet":
        source, target = resource.get("lower-link"), resource.get("linkname")
    else:
        source, target = resource.get("global-nic") or resource.get("physical"), resource.get("physical")
    return Nic(mac=mac if _MAC.fullmatch(mac) else None, source_type=resource.type, source=source,
               target=target)


def _sections(resources: tuple[ZoneResource, ...]) -> list[Section]:
    """One table per resource type (net and anet together), in the order of each type's first block.
    Titles are made unique, ignoring case and punctuation (`add Zone` or `add net.work` from a garbled
    configuration must not repeat ZONE or NETWORK): a repeat gets " 2", " 3"..."""
    order: dict[str, list[dict[str, str]]] = {}
    for resource in resources:
        key = "net" if resource.type in NETWORK_TYPES else resource.type
        order.setdefault(key, []).extend(_rows(resource))
    sections, seen = [], {"zone"}
    for key, rows in order.items():
        section = _table(key, rows)
        title, count = section.title, 1
        while _title_key(title) in seen:
            count += 1
            title = f"{section.title} {count}"
        seen.add(_title_key(title))
        sections.append(Section(title, section.columns, section.rows, replaces=REPLACES.get(key, ())))
    return sections


#: the domain screen's common sections a zone's own tables say more about (shown instead of them): its fs
#: and dataset resources are its disks, its caps its CPU and memory
REPLACES: dict[str, tuple[str, ...]] = {"fs": ("disk",), "dataset": ("disk",), "capped-memory": ("memory",),
                                        "dedicated-cpu": ("cpu",), "capped-cpu": ("cpu",)}


def _title_key(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _rows(resource: ZoneResource) -> list[dict[str, str]]:
    """A resource's table rows: one, with repeated properties comma-joined (fs options), except for rctl,
    whose every `value` is a row of its own with priv, limit and action in columns."""
    row: dict[str, str] = {"resource": resource.type} if resource.type in NETWORK_TYPES else {}
    for key in dict.fromkeys(key for key, _ in resource.properties):
        if not (resource.type == "rctl" and key == "value"):
            row[key] = ",".join(resource.values(key))
    if resource.type != "rctl":
        return [row]
    values = resource.values("value")
    if not values:
        return [row]
    return [{**row, **(dict(parse_complex(value)) or {"value": value})} for value in values]


def _table(key: str, rows: list[dict[str, str]]) -> Section:
    title, columns = TABLES.get(key, (key.upper(), ()))
    present = {name for row in rows for name in row}
    known = {name for _, name in columns}
    shown = [(header, name) for header, name in columns if name in present]
    shown += [(name.upper(), name) for name in dict.fromkeys(n for row in rows for n in row if n not in known)]
    return Section(title, tuple(header for header, _ in shown),
                   tuple(tuple(row.get(name, "") for _, name in shown) for row in rows))


# --- zoneadm stderr (§3) -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZoneadmMessage:
    """One diagnostic of zoneadm (§3): `zoneadm: zone 'Z': MSG` (zerror) or `zoneadm: Z: MSG: CAUSE`
    (zperror2, CAUSE being zonecfg's strerror)."""

    line_no: int
    zone: str | None
    text: str
    cause: str | None = None

    def __str__(self) -> str:
        where = f"zone {self.zone}: " if self.zone else ""
        return where + self.text + (f": {self.cause}" if self.cause else "")


@dataclass(frozen=True, slots=True)
class ZoneadmErrors:
    """What a failed zoneadm command said, for the plan screen: its diagnostics, a configuration it echoed
    between `-----BEGIN CONFIGURATION-----` and `-----END CONFIGURATION-----` (the raw lines, as the
    kernel-zone migrate sample of §3 shows), and every other line as printed."""

    messages: tuple[ZoneadmMessage, ...] = ()
    configuration: tuple[str, ...] | None = None
    other: tuple[str, ...] = ()

    @property
    def headline(self) -> str:
        """One line to show: the last diagnostic (zoneadm ends with the failure), else the first other
        line, else ""."""
        if self.messages:
            return str(self.messages[-1])
        return next((line.strip() for line in self.other if line.strip()), "")


_ZERROR = re.compile(r"zoneadm: zone '([^']*)': (.*)")
_ZPERROR2 = re.compile(r"zoneadm: ([A-Za-z0-9][A-Za-z0-9_.-]*): (.*)")
_BEGIN_CONFIGURATION = "-----BEGIN CONFIGURATION-----"
_END_CONFIGURATION = "-----END CONFIGURATION-----"


def parse_zoneadm_errors(text: str) -> ZoneadmErrors:
    """zoneadm's stderr (§3). Never raises: stderr is free text, and a line of no known shape is kept in
    `other`. A `zoneadm: Z: MSG: CAUSE` line splits at its last `: `, so a message holding `: ` keeps it."""
    messages: list[ZoneadmMessage] = []
    configuration: list[str] | None = None
    other: list[str] = []
    inside = False
    for line_no, line in _numbered(text):
        stripped = line.strip()
        if inside:
            if stripped == _END_CONFIGURATION:
                inside = False
            else:
                configuration.append(line)  # type: ignore[union-attr]
            continue
        if stripped == _BEGIN_CONFIGURATION:
            inside, configuration = True, []
        elif zerror := _ZERROR.fullmatch(stripped):
            messages.append(ZoneadmMessage(line_no, zerror.group(1), zerror.group(2)))
        elif zperror := _ZPERROR2.fullmatch(stripped):
            text_, sep, cause = zperror.group(2).rpartition(": ")
            messages.append(ZoneadmMessage(line_no, zperror.group(1), text_ if sep else cause,
                                           cause if sep else None))
        elif stripped:
            other.append(line)
    while configuration and not configuration[-1].strip():  # the newline that ends the output
        configuration.pop()
    return ZoneadmErrors(tuple(messages), tuple(configuration) if configuration is not None else None,
                         tuple(other))


# --- zfs list -H -p (zfs(8); RECONSTRUCTED samples) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZfsFilesystem:
    """One line of `zfs list -H -p -o name,avail,used,mountpoint -t filesystem`: sizes in bytes (None where
    zfs prints `-`), the mountpoint as printed (`legacy`, `none` and `-` are not directories)."""

    name: str
    avail: int | None
    used: int | None
    mountpoint: str

    @property
    def mounted_at(self) -> str | None:
        """The directory it is mounted on, or None (legacy, none, -)."""
        return self.mountpoint if self.mountpoint.startswith("/") else None


@dataclass(frozen=True, slots=True)
class ZfsSnapshot:
    """One line of `zfs list -H -p -o name,used,creation -t snapshot`: ``creation`` in seconds since the
    epoch (`-p` prints it as a number)."""

    name: str
    used: int | None
    creation: int | None

    @property
    def dataset(self) -> str:
        return self.name.partition("@")[0]


_ZFS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@ -]*")


def _zfs_number(text: str, what: str, line_no: int, line: str) -> int | None:
    if text == "-":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise _error(f"{what} {text[:24]!r} is not a number of bytes (zfs list -p prints exact values)", line_no,
                     line, source="zfs")
    return int(text)


def _zfs_rows(text: str, columns: int) -> Iterator[tuple[int, str, list[str]]]:
    for line_no, line in _numbered(text):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != columns:
            raise _error(f"{len(fields)} tab-separated fields where {columns} were asked for", line_no, line,
                         source="zfs")
        if not _ZFS_NAME.fullmatch(fields[0]):
            raise _error(f"{fields[0][:40]!r} is not a ZFS dataset name", line_no, line, source="zfs")
        yield line_no, line, fields


def parse_zfs_filesystems(text: str) -> tuple[ZfsFilesystem, ...]:
    """`zfs list -H -p -o name,avail,used,mountpoint -t filesystem`, in printed order."""
    return tuple(ZfsFilesystem(name, _zfs_number(avail, "avail", n, line), _zfs_number(used, "used", n, line),
                               mountpoint)
                 for n, line, (name, avail, used, mountpoint) in _zfs_rows(text, 4))


def parse_zfs_snapshots(text: str) -> tuple[ZfsSnapshot, ...]:
    """`zfs list -H -p -o name,used,creation -t snapshot ...`, in printed order (a dataset's snapshots oldest
    first). Every name must hold one `@`."""
    found = []
    for n, line, (name, used, creation) in _zfs_rows(text, 3):
        if name.count("@") != 1:
            raise _error(f"{name[:40]!r} is not a snapshot name (DATASET@SNAP)", n, line, source="zfs")
        found.append(ZfsSnapshot(name, _zfs_number(used, "used", n, line), _zfs_number(creation, "creation", n,
                                                                                                line)))
    return tuple(found)


# --- dladm show-link -p -o link,class (dladm.8; RECONSTRUCTED samples) -------------------------------------

#: dladm.8 show-link CLASS values (Solaris 11 adds iptun, part and others; any word is kept as printed)
LINK_CLASSES = frozenset({"phys", "aggr", "etherstub", "overlay", "vlan", "vnic", "misc", "bridge", "iptun",
                          "part", "simnet"})


@dataclass(frozen=True, slots=True)
class Datalink:
    """A datalink of the global zone: its name and class. Solaris 11 lists a running zone's anet as
    ``ZONE/LINK`` (``zone`` is then set): it belongs to that zone, not to the host."""

    name: str
    klass: str

    @property
    def zone(self) -> str | None:
        return self.name.partition("/")[0] if "/" in self.name else None


def _dladm_fields(line: str) -> list[str]:
    """dladm's parsable escapes: a backslash and a colon is a colon inside a field, two backslashes one."""
    fields, current, at = [], [], 0
    while at < len(line):
        char = line[at]
        if char == "\\" and at + 1 < len(line) and line[at + 1] in ":\\":
            current.append(line[at + 1])
            at += 2
            continue
        if char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        at += 1
    fields.append("".join(current))
    return fields


_LINK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?")


def parse_dladm_links(text: str) -> tuple[Datalink, ...]:
    """`dladm show-link -p -o link,class`: one `LINK:CLASS` a line, in printed order."""
    links = []
    for line_no, line in _numbered(text):
        if not line:
            continue
        fields = _dladm_fields(line)
        if len(fields) != 2 or not fields[1]:
            raise _error("expected LINK:CLASS", line_no, line, source="dladm")
        name, klass = fields
        if not _LINK_NAME.fullmatch(name) or len(name) > 96:
            raise _error(f"{name[:40]!r} is not a datalink name", line_no, line, source="dladm")
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", klass):
            raise _error(f"{klass[:40]!r} is not a link class", line_no, line, source="dladm")
        links.append(Datalink(name, klass))
    return tuple(links)
