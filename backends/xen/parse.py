"""Pure Xen dom0 knowledge: the output of one `xl` or `xm` command in, model objects out.

No I/O, no asyncio. "§" refers to shared/formats/xen.md. The xentop stream is in `xentop.py`, virsh and
vdiskadm (Sun xVM) in `xvm.py`; the helpers and state tables here are shared by both.
Formats xen.md does not show (`sched-credit`, `block-list`, `network-list`, `vcpu-list`, `xl list -v`) are
SOURCE-DERIVED here from the printf/print statements of the Xen tree (xen-project/xen at c447b73, and
RELEASE-4.1.0 for xm); each parser names its file. `xl list -l` has no captured sample anywhere: its parser
follows libxl's IDL (tools/libs/light/libxl_types.idl) and tolerates missing keys.

Every public parser returns a result or raises `ParseError` naming the offending line (JSON errors name the
line the decoder stopped at); nothing else escapes. A line longer than `MAX_LINE` is a ParseError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ParseError
from ..model import Bindings, Cpu, Disk, Domain, DomainState, HostInfo, Memory, Nic, Section, VcpuPin

#: the longest line any parser accepts (a xentop row is ~160 characters; a 64 KiB line is garbage)
MAX_LINE = 64 * 1024
MIB = 2**20
KIB = 2**10
DOM0 = "Domain-0"
#: Xen domain ids run from 0 to DOMID_FIRST_RESERVED - 1 (xen/include/public/xen.h: 0x7FF0)
MAX_DOMAINS = 0x7FF0


def _error(source: str, message: str, line_no: int | None = None, line: str | None = None) -> ParseError:
    return ParseError(message, line_no=line_no, line=line, source=source)


def _numbered(text: str, source: str) -> Iterator[tuple[int, str]]:
    """(line number from 1, line without its CR), split on newlines only so numbers match an editor's."""
    for line_no, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE:
            raise _error(source, f"line longer than {MAX_LINE} characters", line_no, line)
        yield line_no, line.rstrip("\r")


def _content(text: str, source: str) -> list[tuple[int, str]]:
    """The non-blank lines, numbered."""
    return [(line_no, line) for line_no, line in _numbered(text, source) if line.strip()]


_UINT = re.compile(r"[0-9]{1,20}")
_SINT = re.compile(r"-?[0-9]{1,20}")
_FLOAT = re.compile(r"-?[0-9]{1,20}\.[0-9]{1,6}")


def _int(token: str, what: str, source: str, line_no: int, line: str) -> int:
    if not _UINT.fullmatch(token):
        raise _error(source, f"{what} {token[:40]!r} is not a whole number", line_no, line)
    return int(token)


def _float(token: str, what: str, source: str, line_no: int, line: str) -> float:
    if not _FLOAT.fullmatch(token):
        raise _error(source, f"{what} {token[:40]!r} is not a number", line_no, line)
    return float(token)


def _name_before(line: str, tokens: Sequence[str], count: int) -> str:
    """The first `count` whitespace-separated tokens of `line` as printed (inner spacing kept): a Xen domain
    name may hold spaces (§1.5), so it is cut from the line, not joined from tokens."""
    end = 0
    for token in tokens[:count]:
        end = line.index(token, end) + len(token)
    return line[:end].strip()


def _fixed_name_id(line: str, name_width: int, id_width: int) -> tuple[str, str] | None:
    """(name, id text) for rows printed as `%-{name_width}s %{id_width}s ...`: the name is cut at its column
    when it fits (so a name ending in digits is never read as the id, and a blank xm id stays blank).
    None when the name overflowed its column and pushed the row right."""
    id_end = name_width + 1 + id_width
    if len(line) <= id_end or line[name_width] != " " or line[id_end] != " ":
        return None
    id_text = line[name_width + 1:id_end].strip()
    if id_text and not _SINT.fullmatch(id_text):
        return None
    return line[:name_width].rstrip(), id_text


# --- states -----------------------------------------------------------------------------------------------

#: xl list (§2.2): r b p s <shutdown reason from "-rscwS", '?' out of range> d
XL_STATE = re.compile(r"[r-][b-][p-][s-][-rscwS?][d-]")
#: xm list (§3): r b p s c d
XM_STATE = re.compile(r"[r-][b-][p-][s-][c-][d-]")
#: xentop (§1.4): d s b c p r
XENTOP_STATE = re.compile(r"[d-][s-][b-][c-][p-][r-]")
#: xl shutdown reason letters (§2.2): libxl_shutdown_reason poweroff, reboot, suspend, crash, watchdog, soft_reset
SHUTDOWN_REASONS = {"-": "poweroff", "r": "reboot", "s": "suspend", "c": "crash", "w": "watchdog",
                    "S": "soft_reset", "?": "unknown"}


def xl_state(letters: str) -> DomainState:
    """The normalised state of an `xl list` State cell (§2.2). Dying wins; a shut-down domain is crashed when
    its reason letter is `c` (as xentop's crashed flag is shutdown + SHUTDOWN_crash) and in transition
    otherwise; then paused; anything else is running: `r` on a CPU, `b` blocked (idle, still running), and
    `------` runnable but waiting for a CPU (none of the flags that would stop it is set)."""
    if not XL_STATE.fullmatch(letters):
        return DomainState.UNKNOWN
    if letters[5] == "d":
        return DomainState.TRANSITION
    if letters[3] == "s":
        return DomainState.CRASHED if letters[4] == "c" else DomainState.TRANSITION
    if letters[2] == "p":
        return DomainState.PAUSED
    return DomainState.RUNNING


def xm_state(letters: str) -> DomainState:
    """The normalised state of an `xm list` State cell (§3, flags r b p s c d): crashed, then dying or
    shutdown (transition), then paused, else running."""
    if not XM_STATE.fullmatch(letters):
        return DomainState.UNKNOWN
    if letters[4] == "c":
        return DomainState.CRASHED
    if letters[5] == "d" or letters[3] == "s":
        return DomainState.TRANSITION
    if letters[2] == "p":
        return DomainState.PAUSED
    return DomainState.RUNNING


def xentop_state(letters: str) -> DomainState:
    """The normalised state of a xentop STATE cell (§1.4, flags d s b c p r). `c` is read first: libxenstat's
    `s` leaves a crash out (xenstat_domain_shutdown), but a crashed domain is crashed whatever else is set."""
    if not XENTOP_STATE.fullmatch(letters):
        return DomainState.UNKNOWN
    if letters[3] == "c":
        return DomainState.CRASHED
    if letters[0] == "d" or letters[1] == "s":
        return DomainState.TRANSITION
    if letters[4] == "p":
        return DomainState.PAUSED
    return DomainState.RUNNING


def _dom0_extra(name: str, domid: int | None) -> tuple[tuple[str, str], ...]:
    return (("role", "dom0"),) if name == DOM0 or domid == 0 else ()


# --- xl list / xm list (§2, §3) ---------------------------------------------------------------------------

_LIST_HEAD = ("Name", "ID", "Mem", "VCPUs", "State", "Time(s)")
# xl's optional columns (tools/xl/xl_info.c list_domains): header words -> the row fields they announce.
# Rows print them in the order uuid, reason, claimed, label, cpupool, node affinity, whatever the header says.
_XL_EXTRAS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("UUID", "Reason-Code", "Security", "Label"), ("uuid", "reason", "label")),  # -v
    (("Security", "Label"), ("label",)),  # -Z
    (("Claimed",), ("claimed",)),
    (("Cpupool",), ("cpupool",)),  # -c
    (("NODE", "Affinity"), ("node_affinity",)),  # -n
)
_XL_ROW_ORDER = ("uuid", "reason", "claimed", "label", "cpupool", "node_affinity")
_XM_EXTRAS = ((("Label",), ("label",)),)  # xm list --label (RELEASE-4.1.0 xm/main.py xm_label_list)
_TIME = re.compile(r"[0-9]{1,20}\.[0-9]")
#: a UUID as the toolstacks print it (and config files give it)
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _list_extras(words: list[str], table: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...],
                 source: str, line_no: int, line: str) -> tuple[str, ...]:
    """The extra row fields a list header announces after `Time(s)`, in the order rows print them."""
    fields: list[str] = []
    rest = words[len(_LIST_HEAD):]
    while rest:
        for header, names in table:
            if tuple(rest[:len(header)]) == header:
                fields += names
                rest = rest[len(header):]
                break
        else:
            raise _error(source, f"unknown column {rest[0][:40]!r}", line_no, line)
    if table is _XL_EXTRAS:
        return tuple(name for name in _XL_ROW_ORDER if name in fields)
    return tuple(fields)


def parse_xl_list(text: str, host: str) -> tuple[Domain, ...]:
    """Fleet rows from `xl list` (§2.1), with or without `-v`, `-Z`, `-c`, `-n`. The header (tabs or, in the
    man page's sample, spaces) must come first; an indentation it has is removed from every row.
    Mem is MiB; `Time(s)` goes into `extra` as `time(s)` (CPU seconds, for rates); Domain-0 is marked
    `("role", "dom0")`. xl lists running domains only: every row has an ID."""
    return _parse_list(text, host, xm=False)


def parse_xm_list(text: str, host: str) -> tuple[Domain, ...]:
    """Fleet rows from `xm list` (§3) or `xm list --label`. An xend-managed domain that is not running has a
    blank ID (and a state of dashes): it is STOPPED, with `id` None."""
    return _parse_list(text, host, xm=True)


def _parse_list(text: str, host: str, *, xm: bool) -> tuple[Domain, ...]:
    source = "xm list" if xm else "xl list"
    lines = _content(text, source)
    if not lines:
        return ()
    header_no, header = lines[0]
    words = header.split()
    if tuple(words[:len(_LIST_HEAD)]) != _LIST_HEAD:
        raise _error(source, "not the header of " + source, header_no, header)
    extras = _list_extras(words, _XM_EXTRAS if xm else _XL_EXTRAS, source, header_no, header)
    indent = len(header) - len(header.lstrip())
    return tuple(_list_row(host, line_no, line[indent:] if line[:indent].isspace() else line, extras, xm=xm)
                 for line_no, line in lines[1:])


def _list_row(host: str, line_no: int, line: str, extras: tuple[str, ...], *, xm: bool) -> Domain:
    """One row, read from the right: the extras the header announced, Time(s), State, VCPUs, Mem; then the
    name and ID, cut at their columns (`%-40s %5d`) when the name fits, else taken as tokens."""
    source, pattern = ("xm list", XM_STATE) if xm else ("xl list", XL_STATE)
    tokens = line.split()
    tail = list(extras)
    if xm and "label" in tail and _TIME.fullmatch(tokens[-1] if tokens else "") and pattern.fullmatch(
            tokens[-2] if len(tokens) > 1 else ""):
        tail.remove("label")  # xm prints a blank label as spaces
    if len(tokens) < 4 + len(tail):
        raise _error(source, "expected Name ID Mem VCPUs State Time(s)", line_no, line)
    values = {name: tokens.pop() for name in reversed(tail)}
    time_text, letters, vcpus_text, mem_text = tokens[-1], tokens[-2], tokens[-3], tokens[-4]
    if not _TIME.fullmatch(time_text):
        raise _error(source, f"Time(s) {time_text[:40]!r} is not a number", line_no, line)
    if not pattern.fullmatch(letters):
        raise _error(source, f"{letters[:40]!r} is not a {source} state", line_no, line)
    vcpus = _int(vcpus_text, "VCPUs", source, line_no, line)
    mem = _int(mem_text, "Mem", source, line_no, line)
    fixed = _fixed_name_id(line, 40, 5)  # "%-40s %5d" in both tools
    if fixed is not None and fixed[0] and (fixed[1] or xm):
        if len(line[46:].split()) != 4 + len(tail):  # only Mem VCPUs State Time(s) and the extras follow
            raise _error(source, "expected Name ID Mem VCPUs State Time(s)", line_no, line)
        name, id_text = fixed
    elif len(tokens) >= 6 and _SINT.fullmatch(tokens[-5]):
        name, id_text = _name_before(line, tokens, len(tokens) - 5), tokens[-5]
    elif xm and len(tokens) >= 5:
        name, id_text = _name_before(line, tokens, len(tokens) - 4), ""
    else:
        raise _error(source, "expected Name ID Mem VCPUs State Time(s)", line_no, line)
    if not name:
        raise _error(source, "a row without a name", line_no, line)
    domid = int(id_text) if id_text else None
    state = (xm_state(letters) if xm else xl_state(letters)) if domid is not None else DomainState.STOPPED
    uuid = values.get("uuid")
    if uuid is not None and not UUID_RE.fullmatch(uuid):
        raise _error(source, f"{uuid[:40]!r} is not a UUID", line_no, line)
    extra = _dom0_extra(name, domid) + (("time(s)", time_text),)
    reason = values.get("reason", "-")
    if reason != "-":
        extra += (("reason", reason),)
    for key in ("label", "cpupool", "node_affinity"):
        if values.get(key, "-") != "-":
            extra += ((key.replace("_", " "), values[key]),)
    return Domain(host=host, name=name, state=state, native_state=letters, id=domid, uuid=uuid, vcpus=vcpus,
                  memory_bytes=mem * MIB, extra=extra)


# --- xl info / xm info (§4) -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostTotals:
    """A dom0's totals from `xl info` / `xm info` (§4): what xentop's summary shows, beside `HostInfo`.

    Memory values are bytes (the tools print MiB). `fields` keeps every `key : value` line in printed order.
    """

    fields: tuple[tuple[str, str], ...]
    hostname: str | None = None
    xen_version: str | None = None
    nr_cpus: int | None = None
    cpu_mhz: float | None = None
    total_memory_bytes: int | None = None
    free_memory_bytes: int | None = None
    scheduler: str | None = None

    def get(self, key: str) -> str | None:
        return next((value for name, value in self.fields if name == key), None)


_INFO_LINE = re.compile(r"\s*([A-Za-z0-9_]+)\s*:(?: (.*)|)")
_MHZ = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?")


def parse_info(text: str) -> HostTotals:
    """`xl info` or `xm info` (§4): `key` padded to 23 characters, `: value`. Values may hold colons
    (hw_caps, xen_changeset). The Xen version is `xen_version` where printed, else
    `xen_major.xen_minor` + `xen_extra` (4.2's `4.2-unstable`); the partial xm sample has neither."""
    fields: list[tuple[str, str]] = []
    where: dict[str, tuple[int, str]] = {}
    for line_no, line in _content(text, "xl info"):
        match = _INFO_LINE.fullmatch(line)
        if match is None:
            raise _error("xl info", "expected key : value", line_no, line)
        key, value = match.group(1), (match.group(2) or "").strip()
        fields.append((key, value))
        where.setdefault(key, (line_no, line))
    first = dict(reversed(fields))

    def number(key: str, pattern: re.Pattern[str]) -> str | None:
        value = first.get(key)
        if value is not None and not pattern.fullmatch(value):
            raise _error("xl info", f"{key} {value[:40]!r} is not a number", *where[key])
        return value

    cpus, mhz = number("nr_cpus", _UINT), number("cpu_mhz", _MHZ)
    total, free = number("total_memory", _UINT), number("free_memory", _UINT)
    version = first.get("xen_version")
    if version is None and "xen_major" in first and "xen_minor" in first:
        version = f"{first['xen_major']}.{first['xen_minor']}{first.get('xen_extra', '')}"
    return HostTotals(
        fields=tuple(fields),
        hostname=first.get("host") or None,
        xen_version=version or None,
        nr_cpus=int(cpus) if cpus is not None else None,
        cpu_mhz=float(mhz) if mhz is not None else None,
        total_memory_bytes=int(total) * MIB if total is not None else None,
        free_memory_bytes=int(free) * MIB if free is not None else None,
        scheduler=first.get("xen_scheduler") or None,
    )


def host_info(totals: HostTotals, *, hypervisor: str = "Xen", notes: tuple[str, ...] = ()) -> HostInfo:
    """The probe's `HostInfo` from `parse_info`; free memory and the scheduler stay in `HostTotals`."""
    return HostInfo(kind="xen", hypervisor=hypervisor, version=totals.xen_version or "",
                    hostname=totals.hostname or "", cpus=totals.nr_cpus, memory_bytes=totals.total_memory_bytes,
                    notes=notes)


# --- xl list -l (§2.3) ------------------------------------------------------------------------------------

_JSON_SOURCE = "xl list -l"


def parse_list_long(text: str, host: str) -> dict[str, Bindings]:
    """Bindings per domain from `xl list -l` JSON (§2.3): `[{"domid": int|null, "config": {...}}]`, the config
    being libxl's `libxl_domain_config` (c_info, b_info, disks, nics...). No real capture exists: keys follow
    libxl_types.idl, and every key but `c_info.name` may be missing (libxl leaves out default values).

    VBDs: vdev, `pdev_path`, backend (phy, tap, qdisk) and format, read-only unless `readwrite`, cdrom when
    `is_cdrom`. VIFs: MAC, bridge, model, ifname. vCPUs: `avail_vcpus` online out of `max_vcpus`, pinning
    from `vcpu_hard_affinity` (else `cpumap`). Memory: target and max, KiB -> bytes. Sections: DOMAIN (domid,
    uuid, type, boot), CREDIT SCHEDULER (weight, cap) where `sched_params` has them. SXP output (xl.conf
    `output_format="sxp"`, or a build without JSON) is a ParseError: it is not parsed."""
    stripped = text.lstrip()
    if not stripped:
        return {}
    if stripped.startswith("("):
        raise _error(_JSON_SOURCE, "SXP output is not parsed (set output_format=\"json\" in xl.conf)", 1,
                     text.split("\n", 1)[0])
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        line_no = getattr(exc, "lineno", None)
        lines = text.split("\n")
        line = lines[line_no - 1] if line_no and line_no <= len(lines) else None
        raise _error(_JSON_SOURCE, f"JSON does not parse: {str(exc)[:120]}", line_no, line) from None
    entries = _json(data, list, "the top level")
    result: dict[str, Bindings] = {}
    for index, entry in enumerate(entries):
        bindings = _json_bindings(host, _json(entry, dict, f"entry {index}"), index)
        result[bindings.domain] = bindings
    return result


def _json(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _error(_JSON_SOURCE, f"{where} is not {'an object' if kind is dict else 'a ' + kind.__name__}")
    return value


def _opt(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    return None if value is None else _json(value, kind, f"{where}.{key}")


def _cpuset(bits: Any, where: str) -> str:
    """A libxl bitmap (JSON: the set bit numbers, libxl_json.c libxl_bitmap_gen_json) as `0-3,8`."""
    numbers = sorted({_json(bit, int, where) for bit in _json(bits, list, where)})
    return format_cpuset(numbers)


def format_cpuset(numbers: Iterable[int]) -> str:
    """Sorted CPU numbers as ranges, the way xl prints a bitmap (`0-3,8`); `none` when empty."""
    ranges: list[tuple[int, int]] = []
    for number in sorted(set(numbers)):
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], number)
        else:
            ranges.append((number, number))
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges) or "none"


def _json_bindings(host: str, entry: dict[str, Any], index: int) -> Bindings:
    where = f"entry {index}"
    domid = entry.get("domid")
    if domid is not None:
        _json(domid, int, f"{where}.domid")
    config = _json(entry.get("config"), dict, f"{where}.config")
    c_info = _opt(config, "c_info", dict, where) or {}
    b_info = _opt(config, "b_info", dict, where) or {}
    name = _opt(c_info, "name", str, f"{where}.c_info")
    if not name:
        raise _error(_JSON_SOURCE, f"{where} has no c_info.name")
    max_vcpus = _opt(b_info, "max_vcpus", int, "b_info")
    avail = _opt(b_info, "avail_vcpus", list, "b_info")
    online = len({_json(bit, int, "b_info.avail_vcpus") for bit in avail}) if avail is not None else max_vcpus
    hard = _opt(b_info, "vcpu_hard_affinity", list, "b_info") or []
    pins = tuple(VcpuPin(vcpu, _cpuset(bits, f"b_info.vcpu_hard_affinity[{vcpu}]"))
                 for vcpu, bits in enumerate(hard))
    if not pins and b_info.get("cpumap") is not None:
        cpuset = _cpuset(b_info["cpumap"], "b_info.cpumap")
        pins = tuple(VcpuPin(vcpu, cpuset) for vcpu in range(max_vcpus or 0))
    target = _opt(b_info, "target_memkb", int, "b_info")
    maximum = _opt(b_info, "max_memkb", int, "b_info")
    disks = tuple(_json_disk(_json(disk, dict, f"disks[{i}]"), i)
                  for i, disk in enumerate(_opt(config, "disks", list, where) or []))
    nics = tuple(_json_nic(_json(nic, dict, f"nics[{i}]"), i)
                 for i, nic in enumerate(_opt(config, "nics", list, where) or []))
    return Bindings(host=host, domain=name,
                    cpu=Cpu(vcpus=online, max_vcpus=max_vcpus, pinning=pins),
                    memory=Memory(current_bytes=target * KIB if target is not None else None,
                                  max_bytes=maximum * KIB if maximum is not None else None),
                    disks=disks, nics=nics, extra=_json_sections(domid, c_info, b_info, config))


def _json_disk(disk: dict[str, Any], index: int) -> Disk:
    where = f"disks[{index}]"
    vdev = _opt(disk, "vdev", str, where)
    if not vdev:
        raise _error(_JSON_SOURCE, f"{where} has no vdev")
    cdrom = bool(_opt(disk, "is_cdrom", int, where))
    return Disk(target=vdev, source=_opt(disk, "pdev_path", str, where) or None,
                source_type=_opt(disk, "backend", str, where) or "",
                device="cdrom" if cdrom else "disk",
                read_only=not _opt(disk, "readwrite", int, where),
                format=_opt(disk, "format", str, where))


def _json_nic(nic: dict[str, Any], index: int) -> Nic:
    where = f"nics[{index}]"
    bridge = _opt(nic, "bridge", str, where)
    return Nic(mac=_opt(nic, "mac", str, where), source_type="bridge" if bridge else "", source=bridge,
               model=_opt(nic, "model", str, where), target=_opt(nic, "ifname", str, where))


def _json_sections(domid: int | None, c_info: dict[str, Any], b_info: dict[str, Any],
                   config: dict[str, Any]) -> tuple[Section, ...]:
    pv: dict[str, Any] = b_info["type.pv"] if isinstance(b_info.get("type.pv"), dict) else {}
    info: list[tuple[str, str]] = [("domid", "-" if domid is None else str(domid))]
    for key, value in (("uuid", c_info.get("uuid")), ("type", c_info.get("type")),
                       ("bootloader", b_info.get("bootloader") or pv.get("bootloader")),
                       ("kernel", b_info.get("kernel") or pv.get("kernel")),
                       ("ramdisk", b_info.get("ramdisk") or pv.get("ramdisk")),
                       ("cmdline", b_info.get("cmdline") or pv.get("cmdline")),
                       *((key, config.get(key)) for key in ("on_poweroff", "on_reboot", "on_crash"))):
        if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
            info.append((key, str(value)))
    sections = [Section("DOMAIN", ("PROPERTY", "VALUE"), tuple(info))]
    sched = _opt(b_info, "sched_params", dict, "b_info") or {}
    weight, cap = _opt(sched, "weight", int, "sched_params"), _opt(sched, "cap", int, "sched_params")
    if weight is not None or cap is not None:
        sections.append(sched_section(SchedCredit(str(c_info.get("name")), domid, weight, cap)))
    return tuple(sections)


# --- block-list, network-list, vcpu-list ------------------------------------------------------------------


def vdev_name(devid: int) -> str | None:
    """The guest's disk name for a VBD device number, the inverse of libxl__device_disk_dev_number
    (tools/libs/light/libxl_device.c): major 202 and the extended form are `xvd*`, 3 and 22 IDE `hd*`,
    8 SCSI `sd*`. None for anything else."""
    if devid < 0 or devid >= 1 << 29:
        return None
    if devid & (1 << 28):
        disk, partition = (devid & ((1 << 28) - 1)) >> 8, devid & 0xFF
        prefix = "xvd"
    else:
        major, minor = devid >> 8, devid & 0xFF
        if major == 202:
            prefix, disk, partition = "xvd", minor >> 4, minor & 15
        elif major in (3, 22) and minor >> 6 <= 1:
            prefix, disk, partition = "hd", (0 if major == 3 else 2) + (minor >> 6), minor & 63
        elif major == 8:
            prefix, disk, partition = "sd", minor >> 4, minor & 15
        else:
            return None
    return f"{prefix}{_disk_letters(disk)}{partition or ''}"


_VDEV = re.compile(r"(xvd|hd|sd)([a-z]{1,6})([1-9][0-9]{0,2})?")


def vdev_number(vdev: str) -> int | None:
    """The VBD device number of a guest disk name, as libxl__device_disk_dev_number computes it
    (tools/libs/light/libxl_device.c): `xvda` 51712, `xvdq` and `xvda16` the extended form (1 << 28), `hda`
    768, `hdc` 5632, `sda` 2048. None for a name libxl rejects (the `dNpM` and numeric forms are not read)."""
    match = _VDEV.fullmatch(vdev)
    if match is None:
        return None
    prefix, letters, digits = match.groups()
    disk = -1
    for letter in letters:
        disk = (disk + 1) * 26 + ord(letter) - ord("a")
    partition = int(digits) if digits else 0
    if prefix == "xvd":
        if disk > (1 << 20) - 1 or partition > 255:
            return None
        if disk <= 15 and partition <= 15:
            return (202 << 8) | (disk << 4) | partition
        return (1 << 28) | (disk << 8) | partition
    if prefix == "hd":
        if disk > 3 or partition > 63:
            return None
        return ((3 if disk < 2 else 22) << 8) | ((disk & 1) << 6) | partition
    if disk > 15 or partition > 15:
        return None
    return (8 << 8) | (disk << 4) | partition


def _disk_letters(index: int) -> str:
    """libxl's encode_disk_name: 0 -> a, 25 -> z, 26 -> aa."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


@dataclass(frozen=True, slots=True)
class Vbd:
    """One row of `xl block-list` / `xm block-list` (SOURCE-DERIVED: tools/xl/xl_block.c main_blocklist,
    RELEASE-4.1.0 xm/main.py xm_block_list). The list names no backing store: that is in `xl list -l`."""

    devid: int
    backend_id: int
    handle: int
    state: int
    event_channel: int
    ring_ref: int
    backend_path: str

    @property
    def vdev(self) -> str:
        return vdev_name(self.devid) or str(self.devid)

    def disk(self) -> Disk:
        return Disk(target=self.vdev, source=None)


_BLOCK_HEAD = ("Vdev", "BE", "handle", "state", "evt-ch", "ring-ref", "BE-path")


def parse_block_list(text: str) -> tuple[Vbd, ...]:
    """Rows of `xl block-list DOM` or `xm block-list DOM`: Vdev (device number) BE handle state evt-ch
    ring-ref BE-path. A domain without VBDs prints the header only (xl) or nothing (xm)."""
    source = "block-list"
    lines = _content(text, source)
    if not lines:
        return ()
    if tuple(lines[0][1].split()) != _BLOCK_HEAD:
        raise _error(source, "not the header of block-list", *lines[0])
    rows = []
    for line_no, line in lines[1:]:
        tokens = line.split()
        if len(tokens) != 7:
            raise _error(source, "expected Vdev BE handle state evt-ch ring-ref BE-path", line_no, line)
        numbers = [_signed(token, name, source, line_no, line) for token, name in zip(tokens[:6], _BLOCK_HEAD)]
        rows.append(Vbd(*numbers[:6], backend_path=tokens[6]))  # type: ignore[misc, arg-type]  # six ints, by position
    return tuple(rows)


def _signed(token: str, what: str, source: str, line_no: int, line: str) -> int:
    if not _SINT.fullmatch(token):
        raise _error(source, f"{what} {token[:40]!r} is not a whole number", line_no, line)
    return int(token)


@dataclass(frozen=True, slots=True)
class Vif:
    """One row of `xl network-list` / `xm network-list` (SOURCE-DERIVED: tools/xl/xl_nic.c main_networklist,
    RELEASE-4.1.0 xm/main.py xm_network_list). The bridge is not listed: it is in `xl list -l`."""

    index: int
    backend_id: int
    mac: str
    handle: int
    state: int
    event_channel: int
    tx_ring_ref: int
    rx_ring_ref: int
    backend_path: str

    def nic(self) -> Nic:
        return Nic(mac=self.mac)


_NETWORK_HEADS = (("Idx", "BE", "Mac", "Addr.", "handle", "state", "evt-ch", "tx-/rx-ring-ref", "BE-path"),
                  ("Idx", "BE", "MAC", "Addr.", "handle", "state", "evt-ch", "tx-/rx-ring-ref", "BE-path"))
# xm prints the backend id as %-3d with no space before the MAC, and the ring refs as `%-5d/%-5d`
_VIF_ROW = re.compile(r"\s*([0-9]{1,9})\s+([0-9]{1,9})\s*((?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2})\s+([0-9]{1,9})"
                      r"\s+([0-9]{1,9})\s+(-?[0-9]{1,9})\s+(-?[0-9]{1,9})\s*/\s*(-?[0-9]{1,9})\s+(\S+)\s*")


def parse_network_list(text: str) -> tuple[Vif, ...]:
    """Rows of `xl network-list DOM` or `xm network-list DOM`: Idx BE MAC handle state evt-ch tx/rx BE-path."""
    source = "network-list"
    lines = _content(text, source)
    if not lines:
        return ()
    if tuple(lines[0][1].split()) not in _NETWORK_HEADS:
        raise _error(source, "not the header of network-list", *lines[0])
    rows = []
    for line_no, line in lines[1:]:
        match = _VIF_ROW.fullmatch(line)
        if match is None:
            raise _error(source, "expected Idx BE MAC handle state evt-ch tx-/rx-ring-ref BE-path", line_no, line)
        g = match.groups()
        rows.append(Vif(int(g[0]), int(g[1]), g[2].lower(), int(g[3]), int(g[4]), int(g[5]), int(g[6]),
                        int(g[7]), g[8]))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class VcpuRow:
    """One row of `xl vcpu-list` / `xm vcpu-list` (SOURCE-DERIVED: tools/xl/xl_vcpu.c print_vcpuinfo at
    HEAD and in RELEASE-4.1.0, RELEASE-4.1.0 xm/main.py xm_vcpu_list).

    `cpu` is None for an offline vCPU (`-`) or when xm prints none; `state` is xl's three letters (r b p),
    empty when xm prints none. Affinity is as printed: xl's bitmap (`all`, `0-3,8`, `none`), xm's
    (`any cpu`, `1-3`, `no cpus`); `soft_affinity` only where the header says `(Hard / Soft)`."""

    domain: str
    domid: int | None
    vcpu: int
    cpu: int | None
    state: str
    time_s: float
    affinity: str
    soft_affinity: str | None = None

    @property
    def online(self) -> bool:
        return not self.state.endswith("p")

    def pin(self) -> VcpuPin:
        return VcpuPin(self.vcpu, self.affinity)


_VCPU_HEAD = ("Name", "ID", "VCPU", "CPU", "State", "Time(s)")
_VCPU_STATE = re.compile(r"[r-][b-][p-]")


def parse_vcpu_list(text: str) -> tuple[VcpuRow, ...]:
    """Rows of `xl vcpu-list [DOM...]` or `xm vcpu-list [DOM...]`, every domain's vCPUs in one table."""
    source = "vcpu-list"
    lines = _content(text, source)
    if not lines:
        return ()
    words = lines[0][1].split()
    if tuple(words[:6]) != _VCPU_HEAD or tuple(words[6:]) not in (("Affinity", "(Hard", "/", "Soft)"),
                                                                 ("CPU", "Affinity")):
        raise _error(source, "not the header of vcpu-list", *lines[0])
    soft = words[6] == "Affinity"
    return tuple(_vcpu_row(line_no, line, soft) for line_no, line in lines[1:])


def _vcpu_row(line_no: int, line: str, soft: bool) -> VcpuRow:
    source = "vcpu-list"
    fixed = _fixed_name_id(line, 32, 5)  # "%-32s %5u" / "%(name)-32s %(domid)5s"
    if fixed is not None and fixed[0]:
        name, id_text = fixed
        rest = line[38:].split()
    else:
        tokens = line.split()
        at = next((i for i, token in enumerate(tokens) if _TIME.fullmatch(token) and i >= 3), None)
        if at is None:
            raise _error(source, "expected Name ID VCPU CPU State Time(s) Affinity", line_no, line)
        name, id_text, rest = _name_before(line, tokens, at - 4), tokens[at - 4], tokens[at - 3:]
        if not _SINT.fullmatch(id_text):  # as the fixed columns and the other listings check it
            raise _error(source, f"ID {id_text[:40]!r} is not a whole number", line_no, line)
    at = next((i for i, token in enumerate(rest) if _TIME.fullmatch(token)), None)
    if at is None or not 1 <= at <= 3 or not name:
        raise _error(source, "expected Name ID VCPU CPU State Time(s) Affinity", line_no, line)
    before, time_text, affinity = rest[:at], rest[at], " ".join(rest[at + 1:])
    state = before.pop() if before and _VCPU_STATE.fullmatch(before[-1]) else ""
    vcpu_text, cpu_text = before[0], before[1] if len(before) > 1 else "-"
    if len(before) > 2:
        raise _error(source, "expected Name ID VCPU CPU State Time(s) Affinity", line_no, line)
    vcpu = _int(vcpu_text, "VCPU", source, line_no, line)
    cpu = None if cpu_text == "-" else _int(cpu_text, "CPU", source, line_no, line)
    hard, soft_affinity = affinity, None
    if soft:
        hard, slash, soft_affinity = affinity.partition(" / ")
        if not slash:
            raise _error(source, "expected Hard / Soft affinity", line_no, line)
    return VcpuRow(domain=name, domid=int(id_text) if id_text else None, vcpu=vcpu, cpu=cpu, state=state,
                   time_s=float(time_text), affinity=hard, soft_affinity=soft_affinity)


# --- sched-credit -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchedCredit:
    """A domain's credit scheduler parameters: weight (relative share, 1..65535, default 256) and cap (% of
    one physical CPU, 0 = no cap). xm prints -1 for both when xend has none (a domain without credit)."""

    domain: str
    domid: int | None
    weight: int | None
    cap: int | None


@dataclass(frozen=True, slots=True)
class SchedCreditTable:
    """`xl sched-credit` / `xm sched-credit` output: the domains, and xl's `Cpupool NAME: ...` lines as printed
    (one before each pool's table when listing every domain)."""

    domains: tuple[SchedCredit, ...]
    pools: tuple[str, ...] = ()

    def of(self, domain: str) -> SchedCredit | None:
        return next((row for row in self.domains if row.domain == domain), None)


_SCHED_HEAD = ("Name", "ID", "Weight", "Cap")
_POOL_LINE = re.compile(r"Cpupool \S.*: .*")


def parse_sched_credit(text: str) -> SchedCreditTable:
    """`xl sched-credit [-d DOM]` (SOURCE-DERIVED: tools/xl/xl_sched.c, header `%-33s %4s %6s %4s`, rows
    `%-33s %4d %6d %4d`) or `xm sched-credit [-d DOM]` (RELEASE-4.1.0 xm/main.py: rows
    `%(name)-32s %(domid)5s %(weight)6d %(cap)4d`, the id blank for a domain that is not running). The header
    may repeat, once per CPU pool; every row must follow one."""
    source = "sched-credit"
    rows: list[SchedCredit] = []
    pools: list[str] = []
    seen_header = False
    for line_no, line in _content(text, source):
        if tuple(line.split()) == _SCHED_HEAD:
            seen_header = True
        elif _POOL_LINE.fullmatch(line):
            pools.append(line.strip())
        elif not seen_header:
            raise _error(source, "a row before the Name ID Weight Cap header", line_no, line)
        else:
            rows.append(_sched_row(line_no, line))
    return SchedCreditTable(tuple(rows), tuple(pools))


def _sched_row(line_no: int, line: str) -> SchedCredit:
    source = "sched-credit"
    tokens = line.split()
    if len(tokens) < 3:
        raise _error(source, "expected Name ID Weight Cap", line_no, line)
    weight = _signed(tokens[-2], "Weight", source, line_no, line)
    cap = _signed(tokens[-1], "Cap", source, line_no, line)
    # the id ends at column 38 in both tools: xl "%-33s %4d", xm "%-32s %5s"
    fixed = _fixed_name_id(line, 33, 4) or _fixed_name_id(line, 32, 5)
    if fixed is not None and fixed[0]:
        if len(line[38:].split()) != 2:
            raise _error(source, "expected Name ID Weight Cap", line_no, line)
        name, id_text = fixed
    elif len(tokens) >= 4 and _SINT.fullmatch(tokens[-3]):
        name, id_text = _name_before(line, tokens, len(tokens) - 3), tokens[-3]
    else:
        raise _error(source, "expected Name ID Weight Cap", line_no, line)
    if not name:
        raise _error(source, "a row without a name", line_no, line)
    return SchedCredit(name, int(id_text) if id_text else None, None if weight < 0 else weight,
                       None if cap < 0 else cap)


def sched_section(sched: SchedCredit) -> Section:
    """The CREDIT SCHEDULER table of a domain's bindings: weight and cap as `xl sched-credit` prints them."""
    cap = "-" if sched.cap is None else ("0 (no cap)" if sched.cap == 0 else f"{sched.cap}%")
    return Section("CREDIT SCHEDULER", ("WEIGHT", "CAP"), ((str(sched.weight or "-"), cap),))


# --- xl migrate progress (§5) -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MigrateProgress:
    """What one stderr line of `xl migrate` (or `xm migrate`) says.

    `fraction` (0..1) only from libxc's progress meter, `WHAT: DONE/TOTAL  NN%` (SOURCE-DERIVED:
    tools/libs/toollog/xtl_logger_stdio.c stdiostream_progress; its wording of WHAT varies by version, §5);
    xl's own messages carry no percentage (§5), so they give None. `outcome`: True on `Migration
    successful.`, False on a failure (`Migration failed...`, `... Failure, destroying our copy.`, an `Error:`
    line), None otherwise."""

    fraction: float | None
    message: str
    outcome: bool | None = None


_PROGRESS = re.compile(r"(?P<what>.*?):\s*(?P<done>[0-9]{1,20})/(?P<total>[0-9]{1,20})\s+(?P<pct>[0-9]{1,3})%")
_FAILURES = ("Migration failed", "migration target: Failure", "migration sender: Target reports startup failure",
             "Error:")


def parse_migrate_line(line: str) -> MigrateProgress:
    """Total: any text gives a result. Carriage returns (libxc rewrites its meter in place on a terminal)
    separate updates: the last non-empty one counts."""
    parts = [part.strip() for part in line.replace("\r", "\n").split("\n")]
    message = next((part for part in reversed(parts) if part), "")
    message = "".join(ch for ch in message if ch.isprintable())[:1000]
    if message == "Migration successful.":
        return MigrateProgress(1.0, message, True)
    if message.startswith(_FAILURES):
        return MigrateProgress(None, message, False)
    match = _PROGRESS.fullmatch(message)
    if match is not None:
        done, total, pct = int(match.group("done")), int(match.group("total")), int(match.group("pct"))
        fraction = done / total if total else pct / 100
        return MigrateProgress(min(max(fraction, 0.0), 1.0), message)
    return MigrateProgress(None, message)
