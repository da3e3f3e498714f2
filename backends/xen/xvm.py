"""Sun xVM dom0s (OpenSolaris, Xen 3.x with xend): what `virsh` and `vdiskadm` print there
(shared/formats/xvm.md, and libvirt.md §2 for virsh's text). `xm` output is parsed by `parse.py`.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..libvirt.parse import STATE_MAP as VIRSH_STATE_MAP
from ..model import Domain, DomainState
from .parse import _UINT, KIB, UUID_RE, _content, _dom0_extra, _error

# --- virsh on an xVM dom0 (libvirt.md §2.1, §2.2) ---------------------------------------------------------

#: virsh's state words (libvirt.md §2.1) -> normalised state; `saved` appears with --managed-save
VIRSH_STATES: dict[str, DomainState] = {word: state for state, word in VIRSH_STATE_MAP.values()}
VIRSH_STATES["saved"] = DomainState.STOPPED
_VIRSH_WORDS = sorted(VIRSH_STATES, key=len, reverse=True)


def _name_and_state(rest: str) -> tuple[str, str] | None:
    """`NAME   STATE` split at the known state word it ends with (`shut off` holds a space)."""
    for word in _VIRSH_WORDS:
        if rest.endswith(word) and len(rest) > len(word) and rest[-len(word) - 1].isspace():
            return rest[:-len(word)].rstrip(), word
    return None


def parse_virsh_list(text: str, host: str) -> tuple[Domain, ...]:
    """Fleet rows from `virsh list [--all] [--title]` (libvirt.md §2.1): the vshTable layout of virsh >= 7
    (captured) and, by the same column rules, the older ` %-5s %-30s %s` layout an xVM dom0's virsh prints
    (described in §2.1, not captured). Id `-` is an inactive domain (STOPPED, id None). A state word virsh
    did not print in the captures is kept as native_state with state UNKNOWN."""
    source = "virsh list"
    lines = _content(text, source)
    if not lines:
        return ()
    header_no, header = lines[0]
    words = header.split()
    if words[:3] != ["Id", "Name", "State"] or words[3:] not in ([], ["Title"]):
        raise _error(source, "not the header of virsh list", header_no, header)
    state_at = header.index("State")
    title_at = header.index("Title") if "Title" in words else None
    rows = lines[1:]
    if rows and set(rows[0][1].strip()) == {"-"}:
        rows = rows[1:]
    domains = []
    for line_no, line in rows:
        body = line if title_at is None else line[:title_at]
        title = None if title_at is None else line[title_at:].strip()
        parts = body.split(None, 1)
        if len(parts) < 2:
            raise _error(source, "expected Id Name State", line_no, line)
        id_text, rest = parts
        if id_text != "-" and not _UINT.fullmatch(id_text):
            raise _error(source, f"Id {id_text[:40]!r} is not a number", line_no, line)
        known = _name_and_state(rest.strip())
        if known is not None:
            name, word = known
        elif len(body) > state_at and body[:state_at].split(None, 1)[1:] and body[state_at:].strip():
            name, word = body[:state_at].split(None, 1)[1].strip(), body[state_at:].strip()
        else:
            raise _error(source, "expected Id Name State", line_no, line)
        domid = None if id_text == "-" else int(id_text)
        extra = _dom0_extra(name, domid) + ((("title", title),) if title else ())
        domains.append(Domain(host=host, name=name, state=VIRSH_STATES.get(word, DomainState.UNKNOWN),
                              native_state=word, id=domid, extra=extra))
    return tuple(domains)


_DOMINFO_LINE = re.compile(r"([A-Za-z][A-Za-z0-9 ()]*?):(?:\s+(.*)|\s*)")
_KIB_VALUE = re.compile(r"([0-9]{1,20}) KiB")
_CPU_TIME = re.compile(r"([0-9]{1,20}(?:\.[0-9]{1,9})?)s")


def parse_virsh_dominfo(text: str, host: str) -> tuple[Domain, dict[str, str]]:
    """One domain from `virsh dominfo DOMAIN` (libvirt.md §2.2), and every `Key: value` line as printed.
    Id `-` is an inactive domain. Memory is `N KiB`; `CPU time` goes into `extra` as seconds."""
    source = "virsh dominfo"
    values: dict[str, str] = {}
    where: dict[str, tuple[int, str]] = {}
    for line_no, line in _content(text, source):
        match = _DOMINFO_LINE.fullmatch(line.strip())
        if match is None:
            raise _error(source, "expected Key: value", line_no, line)
        key = match.group(1)
        values.setdefault(key, (match.group(2) or "").strip())
        where.setdefault(key, (line_no, line))
    for key in ("Id", "Name", "State"):
        if not values.get(key):
            raise _error(source, f"no {key}: line")

    def kib(key: str) -> int | None:
        if key not in values:
            return None
        match = _KIB_VALUE.fullmatch(values[key])
        if match is None:
            raise _error(source, f"{key} {values[key][:40]!r} is not N KiB", *where[key])
        return int(match.group(1)) * KIB

    id_text, name, word = values["Id"], values["Name"], values["State"]
    if id_text != "-" and not _UINT.fullmatch(id_text):
        raise _error(source, f"Id {id_text[:40]!r} is not a number", *where["Id"])
    vcpus = values.get("CPU(s)")
    if vcpus is not None and not _UINT.fullmatch(vcpus):
        raise _error(source, f"CPU(s) {vcpus[:40]!r} is not a number", *where["CPU(s)"])
    uuid = values.get("UUID") or None
    if uuid is not None and not UUID_RE.fullmatch(uuid):
        raise _error(source, f"{uuid[:40]!r} is not a UUID", *where["UUID"])
    domid = None if id_text == "-" else int(id_text)
    extra = _dom0_extra(name, domid)
    cpu_time = _CPU_TIME.fullmatch(values.get("CPU time", ""))
    if cpu_time is not None:
        extra += (("time(s)", cpu_time.group(1)),)
    domain = Domain(host=host, name=name, state=VIRSH_STATES.get(word, DomainState.UNKNOWN), native_state=word,
                    id=domid, uuid=uuid, vcpus=int(vcpus) if vcpus is not None else None,
                    memory_bytes=kib("Used memory"), max_memory_bytes=kib("Max memory"), extra=extra)
    return domain, values


# --- vdiskadm (xvm.md) ------------------------------------------------------------------------------------

_VDISK_IMAGE = re.compile(r"([^@\s]+)(?:@([^@\s]+))?")


@dataclass(frozen=True, slots=True)
class VdiskImage:
    """One line of `vdiskadm list PATH/VDNAME`: a snapshot (`vhd_sp@install`) or the live disk (`vhd_sp`)."""

    vdisk: str
    snapshot: str | None = None

    def __str__(self) -> str:
        return self.vdisk if self.snapshot is None else f"{self.vdisk}@{self.snapshot}"


def parse_vdiskadm_list(text: str) -> tuple[VdiskImage, ...]:
    """`vdiskadm list PATH/VDNAME` (xvm.md, from Sun's guide): one image a line, oldest snapshot first, the
    live disk last. `vdiskadm prop-get` is not parsed: xvm.md lists its property names but shows no output."""
    images = []
    for line_no, line in _content(text, "vdiskadm list"):
        match = _VDISK_IMAGE.fullmatch(line.strip())
        if match is None:
            raise _error("vdiskadm list", "expected VDNAME or VDNAME@SNAPSHOT", line_no, line)
        images.append(VdiskImage(match.group(1), match.group(2)))
    return tuple(images)
