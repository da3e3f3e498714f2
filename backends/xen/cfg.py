"""Pure reading of a domain config file (``/etc/xen/NAME.cfg``): what a guest that is not running is.

xl.cfg(5) SYNTAX (tools/libs/util/libxlu_cfg_l.l and libxlu_cfg_y.y in the Xen tree): ``KEY = VALUE`` or
``KEY += VALUE`` statements, ended by a newline or ``;``; a value is a number, a quoted string ('single'
or "double", backslash escapes) or a ``[ list ]`` of them that may span lines and end with a comma; ``#``
starts a comment. xend's config files are Python, and the ones operators write are the same statements;
anything else Python allows (``import``, expressions) is a ParseError naming the line, and the guest is
listed as an unreadable config.

Disks (xl-disk-configuration(5)): positional ``TARGET,FORMAT,VDEV,ACCESS``, the legacy
``[PREFIX:]TARGET,VDEV,ACCESS`` that xend and every xl read (``phy:``, ``file:``, ``tap:aio:``,
``tap:vdisk:`` on Sun xVM...), and ``KEY=VALUE`` items (``target=`` last, since it may hold commas).
Network interfaces (xl-network-configuration(5)): ``KEY=VALUE`` items (``mac``, ``bridge``, ``model``,
``vifname``...). Sizes are MiB (``memory``, ``maxmem``), as the file says them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import ParseError
from ..model import Bindings, Cpu, Disk, Memory, Nic, Section, VcpuPin
from .parse import MIB, SchedCredit, sched_section

#: the largest config file read (a real one is a few hundred bytes)
MAX_CONFIG = 256 * 1024
_SOURCE = "domain config"
_TOKEN = re.compile(r"""
    (?P<space>[ \t\r]+)
  | (?P<comment>\#[^\n]*)
  | (?P<newline>\n)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<plus>\+=)
  | (?P<op>[=\[\],;])
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<number>[0-9][0-9A-Fa-fxX.]*)
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}

Value = str | list[str]


@dataclass(frozen=True, slots=True)
class DiskSpec:
    """One entry of ``disk = [...]``: the dom0 path (``target``, None for an empty CD-ROM drive), the guest's
    device (``vdev``), read-write or not, the legacy prefix (``phy``, ``file``, ``tap:aio``...) and format."""

    spec: str
    target: str | None
    vdev: str
    writable: bool = True
    prefix: str = ""
    format: str | None = None
    cdrom: bool = False

    def disk(self) -> Disk:
        kind = self.prefix or ("block" if (self.target or "").startswith("/dev/") else "file" if self.target else "")
        return Disk(target=self.vdev, source=self.target, source_type=kind,
                    device="cdrom" if self.cdrom else "disk", read_only=not self.writable, format=self.format)


@dataclass(frozen=True, slots=True)
class VifSpec:
    """One entry of ``vif = [...]``: its MAC (None: the toolstack picks one), bridge and model."""

    spec: str
    mac: str | None = None
    bridge: str | None = None
    model: str | None = None

    def nic(self) -> Nic:
        return Nic(mac=self.mac, source_type="bridge" if self.bridge else "", source=self.bridge, model=self.model)


@dataclass(frozen=True, slots=True)
class ConfigFacts:
    """What a config file says about its guest (None where it says nothing: the toolstack's default)."""

    path: str
    name: str | None
    uuid: str | None = None
    memory_mib: int | None = None
    maxmem_mib: int | None = None
    vcpus: int | None = None
    maxvcpus: int | None = None
    hvm: bool = False
    bootloader: str | None = None
    kernel: str | None = None
    ramdisk: str | None = None
    extra: str | None = None
    cpus: str | None = None
    weight: int | None = None
    cap: int | None = None
    disks: tuple[DiskSpec, ...] = ()
    vifs: tuple[VifSpec, ...] = ()
    values: dict[str, Value] = field(default_factory=dict, compare=False)

    @property
    def memory_bytes(self) -> int | None:
        return None if self.memory_mib is None else self.memory_mib * MIB

    def bindings(self, host: str, name: str | None = None) -> Bindings:
        """The domain screen of a guest that is not running: what its config file gives it."""
        vcpus = self.vcpus if self.vcpus is not None else 1
        pins = tuple(VcpuPin(vcpu, self.cpus) for vcpu in range(self.maxvcpus or vcpus)) if self.cpus else ()
        memory = self.memory_bytes
        maximum = self.maxmem_mib * MIB if self.maxmem_mib is not None else memory
        boot = "hvm" if self.hvm else (f"bootloader {self.bootloader}" if self.bootloader else
                                        f"kernel {self.kernel}" if self.kernel else "-")
        info = [("config", self.path), ("type", "hvm" if self.hvm else "pv"), ("boot", boot)]
        if self.uuid:
            info.append(("uuid", self.uuid))
        sections = [Section("DOMAIN", ("PROPERTY", "VALUE"), tuple(info))]
        if self.weight is not None or self.cap is not None:
            sections.append(sched_section(SchedCredit(name or self.name or "", None, self.weight, self.cap)))
        return Bindings(host=host, domain=name or self.name or "", cpu=Cpu(vcpus=vcpus, max_vcpus=self.maxvcpus or vcpus,
                                                                          pinning=pins),
                        memory=Memory(current_bytes=memory, max_bytes=maximum),
                        disks=tuple(d.disk() for d in self.disks), nics=tuple(v.nic() for v in self.vifs),
                        extra=tuple(sections))


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def parse_values(text: str) -> dict[str, Value]:
    """Every ``KEY = VALUE`` of a config file, in order (``+=`` appends). Raises ParseError naming the line."""
    if len(text) > MAX_CONFIG:
        raise ParseError(f"larger than {MAX_CONFIG // 1024} KiB", source=_SOURCE)
    tokens: list[tuple[str, str, int]] = []
    line_no, pos = 1, 0
    lines = text.split("\n")
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ParseError("not KEY = VALUE", line_no=line_no, line=lines[line_no - 1], source=_SOURCE)
        kind = match.lastgroup or ""
        if kind == "newline":
            tokens.append(("end", "\n", line_no))
            line_no += 1
        elif kind not in ("space", "comment"):
            tokens.append((kind, match.group(), line_no))
        pos = match.end()
    tokens.append(("end", "", line_no))
    values: dict[str, Value] = {}
    index = 0

    def fail(message: str, at: int) -> ParseError:
        number = tokens[min(at, len(tokens) - 1)][2]
        return ParseError(message, line_no=number, line=lines[number - 1] if number <= len(lines) else "",
                          source=_SOURCE)

    def scalar(at: int) -> str | None:
        kind, text_, _ = tokens[at]
        if kind == "string":
            return _unquote(text_)
        if kind == "number":
            return text_
        return None

    while index < len(tokens):
        kind, word, _ = tokens[index]
        if kind == "end" or (kind == "op" and word == ";"):
            index += 1
            continue
        if kind != "ident":
            raise fail("expected a key", index)
        key = word
        op = tokens[index + 1]
        if not (op[0] == "plus" or (op[0] == "op" and op[1] == "=")):
            raise fail(f"expected = after {key}", index + 1)
        index += 2
        value: Value
        if tokens[index][0] == "op" and tokens[index][1] == "[":
            index += 1
            items: list[str] = []
            while True:
                while tokens[index][0] == "end" and tokens[index][1] == "\n":
                    index += 1
                if tokens[index][0] == "op" and tokens[index][1] == "]":
                    index += 1
                    break
                item = scalar(index)
                if item is None:
                    raise fail(f"expected a string, a number or ] in the list {key}", index)
                items.append(item)
                index += 1
                while tokens[index][0] == "end" and tokens[index][1] == "\n":
                    index += 1
                if tokens[index][0] == "op" and tokens[index][1] == ",":
                    index += 1
                elif not (tokens[index][0] == "op" and tokens[index][1] == "]"):
                    raise fail(f"expected , or ] in the list {key}", index)
            value = items
        else:
            item = scalar(index)
            if item is None:
                raise fail(f"expected a value for {key}", index)
            value = item
            index += 1
        if not (tokens[index][0] == "end" or (tokens[index][0] == "op" and tokens[index][1] == ";")):
            raise fail(f"expected the end of the line after {key}", index)
        old = values.get(key)
        if op[0] == "plus" and isinstance(old, list) and isinstance(value, list):
            value = old + value
        elif op[0] == "plus" and isinstance(old, str) and isinstance(value, str):
            value = old + value  # string += string appends, as libxlu does
        values[key] = value
    return values


_LEGACY = re.compile(r"(?P<prefix>phy|file|tap2?:[a-z0-9]+|tap|aio|qcow2?|vhd|raw):(?P<rest>.*)")
_DISK_KEYS = ("target", "format", "vdev", "access", "devtype", "backendtype", "script", "backend")


def parse_disk(spec: str) -> DiskSpec:
    """One DISKSPEC (see the module docstring). Raises ParseError."""
    items = [item.strip() for item in spec.split(",")]
    keyed: dict[str, str] = {}
    positional: list[str] = []
    for index, item in enumerate(items):
        key, eq, value = item.partition("=")
        if eq and key in _DISK_KEYS:
            if key == "target":  # the rest of the spec, commas and all
                keyed["target"] = ",".join([value, *items[index + 1:]])
                break
            keyed[key] = value
        elif item == "cdrom":
            keyed["devtype"] = "cdrom"
        elif item:
            positional.append(item)
    target = keyed.get("target")
    vdev = keyed.get("vdev")
    access = keyed.get("access")
    fmt = keyed.get("format")
    if target is None and positional:
        if len(positional) >= 4:
            target, fmt, vdev, access = positional[:4]
        elif len(positional) == 3:
            target, vdev, access = positional
        elif len(positional) == 2:
            target, vdev = positional
        else:
            target = positional[0]
    elif positional and vdev is None:
        vdev = positional[0]
    if not vdev:
        raise ParseError(f"disk {spec[:80]!r}: no virtual device", source=_SOURCE)
    cdrom = keyed.get("devtype") == "cdrom"
    if ":" in vdev:  # legacy hdc:cdrom
        vdev, _, kind = vdev.partition(":")
        cdrom = cdrom or kind == "cdrom"
    prefix = ""
    if target:
        legacy = _LEGACY.fullmatch(target)
        if legacy is not None:
            prefix, target = legacy.group("prefix"), legacy.group("rest")
            if prefix.startswith("tap") and ":" in target and not target.startswith("/"):
                sub, _, target = target.partition(":")  # tap:aio:/path, tap:vdisk:/path
                prefix = f"{prefix}:{sub}"
    writable = (access or "w").lower() in ("w", "rw", "w!")
    if cdrom and access is None:
        writable = False
    return DiskSpec(spec=spec, target=target or None, vdev=vdev, writable=writable, prefix=prefix,
                    format=fmt or None, cdrom=cdrom)


def parse_vif(spec: str) -> VifSpec:
    values = {}
    for item in spec.split(","):
        key, eq, value = item.strip().partition("=")
        if eq:
            values[key.strip()] = value.strip()
    return VifSpec(spec=spec, mac=values.get("mac") or None, bridge=values.get("bridge") or None,
                   model=values.get("model") or None)


def _number(values: dict[str, Value], key: str) -> int | None:
    value = values.get(key)
    if not isinstance(value, str):
        return None
    try:
        return int(value, 0)
    except ValueError:
        return None


def _text(values: dict[str, Value], key: str) -> str | None:
    value = values.get(key)
    return value if isinstance(value, str) and value else None


def parse_config(text: str, path: str) -> ConfigFacts:
    """A config file's facts. Raises ParseError (the statements do not parse, or a disk has no device)."""
    values = parse_values(text)
    disks = values.get("disk", [])
    vifs = values.get("vif", [])
    builder = (_text(values, "builder") or _text(values, "type") or "").lower()
    kernel = _text(values, "kernel")
    hvm = builder == "hvm" or bool(kernel and kernel.endswith("hvmloader"))
    return ConfigFacts(
        path=path, name=_text(values, "name"), uuid=_text(values, "uuid"),
        memory_mib=_number(values, "memory"), maxmem_mib=_number(values, "maxmem"), vcpus=_number(values, "vcpus"),
        maxvcpus=_number(values, "maxvcpus"), hvm=hvm, bootloader=_text(values, "bootloader"),
        kernel=None if hvm else kernel, ramdisk=_text(values, "ramdisk"),
        extra=_text(values, "extra") or _text(values, "cmdline"), cpus=_text(values, "cpus"),
        weight=_number(values, "cpu_weight"), cap=_number(values, "cap"),
        disks=tuple(parse_disk(d) for d in (disks if isinstance(disks, list) else [disks]) if d.strip()),
        vifs=tuple(parse_vif(v) for v in (vifs if isinstance(vifs, list) else [vifs])),
        values=values)
