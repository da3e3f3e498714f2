"""Guest configuration files (``/etc/xen/NAME.cfg``) as xl and xend read them.

RECONSTRUCTED from Xen's own source (xen.md has no sample of the file or of its errors):

- the grammar and its error messages from ``tools/libs/util/libxlu_cfg_l.l`` (lexer),
  ``libxlu_cfg_y.y`` (grammar) and ``libxlu_cfg.c`` (``xlu__cfg_yyerror``, ``xlu_cfg_get_bounded_long``):
  ``KEY = VALUE`` or ``KEY += VALUE`` statements ended by a newline or ``;``, values a number, a quoted
  string or a ``[ list ]``, ``#`` comments; keys are ``[a-z][._0-9a-z]*``. A syntax error prints
  ``SOURCE:LINE: config parsing error near `TOKEN': syntax error, unexpected X, expecting Y`` and parsing
  goes on at the next line; ``xl`` then says ``Failed to parse config: Invalid argument`` (exit 1). The
  expected-token lists are bison's ``%error-verbose`` ones for this grammar (at most four are named);
  ``$end`` is how bison before 3.6 names the end of the file.
- the keys from ``tools/xl/xl_parse.c`` (``parse_config_data``): ``name`` (``Domain name must be
  specified.``), ``uuid`` (``Failed to parse UUID: …``), ``type``/``builder`` (``Invalid domain type …``),
  ``memory``/``maxmem`` (MiB), ``vcpus``/``maxvcpus`` (``xl: maxvcpus < vcpus``), ``cpus``, ``on_*``
  actions, ``cpu_weight``/``cap``, ``kernel``/``ramdisk``/``bootloader``/``extra``, ``disk`` and ``vif``.
  A number that does not parse is a warning and the default stays, as in xl. xl ignores keys it does not
  know; the simulator reads one of its own, ``os_hint`` (``debian``, ``centos``, ``solaris``,
  ``windows``), to choose what the guest's console shows.
- disk specifications from ``libxlu_disk_l.l``: positional ``target, format, vdev, access`` or the
  legacy ``phy:``/``file:``/``tap:aio:`` prefixes with ``target, vdev, access``; errors print
  ``SOURCE: config parsing error in disk specification: MESSAGE: near `X' in `SPEC'``.
"""

from __future__ import annotations

import random
import re
import uuid as uuidlib
from dataclasses import dataclass, field

from .model import CommandError, Disk, GuestConfig, Vif, xen_mac

_IDENT = re.compile(r"[a-z][._0-9a-z]*")
_NUMBER = re.compile(r"[0-9][0-9a-fx]*")
_STRING = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_ACTIONS = ("destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart",
            "soft-reset")
_FORMATS = ("raw", "qcow", "qcow2", "vhd", "qed", "empty")
_LEGACY_PREFIXES = ("phy", "file", "tap", "tap2", "aio", "tapdisk", "ioemu")
_VDEV = re.compile(r"(xvd|hd|sd)[a-z]{1,2}[0-9]*|d[0-9]+p[0-9]+|[0-9]+")


class ConfigSyntaxError(ValueError):
    """The file does not parse; ``messages`` are what libxlutil printed, one per error."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(slots=True)
class Setting:
    value: str | list
    line: int
    add: bool = False


@dataclass(slots=True)
class ConfigFile:
    source: str
    settings: dict[str, Setting] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def string(self, key: str) -> str | None:
        setting = self.settings.get(key)
        if setting is None:
            return None
        if isinstance(setting.value, list):
            self.warnings.append(f"{self.source}:{setting.line}: warning: parameter `{key}' is a list but "
                                 "should be a single value")
            return None
        return setting.value

    def number(self, key: str) -> int | None:
        """``xlu_cfg_get_long``: strtol base 0; a bad value is a warning and None."""
        text = self.string(key)
        if text is None:
            return None
        setting = self.settings[key]
        if setting.add:
            self.warnings.append(f"{self.source}:{setting.line}: warning: can't use += with numbers for "
                                 f"parameter `{key}'")
            return None
        try:
            return int(text, 0) if not re.fullmatch(r"0[0-7]+", text) else int(text, 8)
        except ValueError:
            self.warnings.append(f"{self.source}:{setting.line}: warning: parameter `{key}' is not a valid number")
            return None

    def items(self, key: str) -> list[str]:
        setting = self.settings.get(key)
        if setting is None:
            return []
        value = setting.value
        return [str(v) for v in value] if isinstance(value, list) else [value]


# -- the lexer and parser ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # IDENT STRING NUMBER NEWLINE '=' "+=" ',' '[' ']' ';' $end LEXERR
    text: str
    line: int
    value: str = ""


def _dequote(text: str) -> str:
    body = text[1:-1]
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _tokens(text: str) -> list[_Token]:
    tokens, pos, line = [], 0, 1
    while pos < len(text):
        char = text[pos]
        if char in " \t":
            pos += 1
            continue
        if char == "\n" or char == "#":
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            tokens.append(_Token("NEWLINE", text[pos:end + 1], line))
            line += 1
            pos = end + 1
            continue
        for kind, pattern in (("IDENT", _IDENT), ("NUMBER", _NUMBER), ("STRING", _STRING)):
            match = pattern.match(text, pos)
            if match:
                word = match.group()
                tokens.append(_Token(kind, word, line, _dequote(word) if kind == "STRING" else word))
                pos = match.end()
                break
        else:
            if text.startswith("+=", pos):
                tokens.append(_Token('"+="', "+=", line))
                pos += 2
            elif char in ",[]=;":
                tokens.append(_Token(f"'{char}'", char, line))
                pos += 1
            else:  # a lexical error: the rest of the word is reported
                end = pos + 1
                while end < len(text) and text[end] not in " \t\n":
                    end += 1
                tokens.append(_Token("LEXERR", text[pos:end], line))
                pos = end
    tokens.append(_Token("$end", "", line))
    return tokens


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.source = source
        self.config = ConfigFile(source)
        self.errors: list[str] = []
        self.python = False
        self.lexerr_line = -1

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def error(self, expected: tuple[str, ...]) -> None:
        tok = self.tok
        if tok.kind == "LEXERR":
            self._lexical(tok)
        else:
            message = f"syntax error, unexpected {tok.kind}"
            if 0 < len(expected) <= 4:
                message += ", expecting " + " or ".join(expected)
            self._report(tok, message)
        # `error NEWLINE`: skip to the next line; the lexer still reports what it cannot read
        self.pos += 1 if tok.kind not in ("NEWLINE", "$end") else 0
        while self.tok.kind not in ("NEWLINE", "$end"):
            if self.tok.kind == "LEXERR":
                self._lexical(self.tok)
            self.pos += 1
        if self.tok.kind == "NEWLINE":
            self.pos += 1

    def _lexical(self, tok: _Token) -> None:
        self.python = self.python or tok.text[0] in "+-.():"
        self._report(tok, "lexical error")
        self.lexerr_line = tok.line

    def _report(self, tok: _Token, message: str) -> None:
        text, line = tok.text, tok.line
        newline = ""
        if text.endswith("\n"):  # xlu__cfg_yyerror: the newline is not shown, and counts a line less
            text, line = text[:-1], line - 1
            if not text:
                newline = "<newline>"
        if line <= self.lexerr_line:
            return  # nothing more is reported on a line that already had a lexical error
        text = text.rstrip(" \t")
        near = f"`{text}'" if text else ""
        self.errors.append(f"{self.source}:{line}: config parsing error near {near}{newline}: {message}")

    def parse(self) -> ConfigFile:
        while self.tok.kind != "$end":
            tok = self.tok
            if tok.kind in ("NEWLINE", "';'"):
                self.pos += 1
            elif tok.kind == "IDENT":
                self._assignment()
            else:
                self.error(("$end", "IDENT", "NEWLINE", "';'"))
        if self.errors:
            if self.python:
                self.errors.append("warning: Config file looks like it contains Python code.\n"
                                   "warning:  Arbitrary Python is no longer supported.\n"
                                   "warning:  See https://wiki.xen.org/wiki/PythonInXlConfig")
            raise ConfigSyntaxError(self.errors)
        return self.config

    def _assignment(self) -> None:
        key = self.tok
        self.pos += 1
        op = self.tok.kind
        if op not in ("'='", '"+="'):
            self.error(("'='", '"+="'))
            return
        self.pos += 1
        value = self._value()
        if value is None:
            return
        if self.tok.kind not in ("NEWLINE", "';'", "$end"):
            self.error(("$end", "NEWLINE", "';'"))
            return
        settings = self.config.settings
        if op == '"+="' and key.text in settings:
            old = settings[key.text].value
            if isinstance(old, list) != isinstance(value, list):
                self._report(key, "can't add [list] to \"string\" or vice versa")
                return
            value = old + value  # type: ignore[operator]  # both lists or both strings, checked above
        settings[key.text] = Setting(value, key.line, op == '"+="')

    def _value(self) -> str | list | None:
        tok = self.tok
        if tok.kind in ("STRING", "NUMBER"):
            self.pos += 1
            return tok.value
        if tok.kind == "'['":
            self.pos += 1
            return self._list()
        self.error(("STRING", "NUMBER", "'['"))
        return None

    def _skip_newlines(self) -> None:
        while self.tok.kind == "NEWLINE":
            self.pos += 1

    def _list(self) -> list | None:
        items: list = []
        self._skip_newlines()
        while True:
            if self.tok.kind == "']'":
                self.pos += 1
                return items
            value = self._value() if self.tok.kind in ("STRING", "NUMBER", "'['") else None
            if value is None:
                if self.tok.kind not in ("STRING", "NUMBER", "'['"):
                    self.error(())
                return None
            items.append(value)
            self._skip_newlines()
            if self.tok.kind == "','":
                self.pos += 1
                self._skip_newlines()
            elif self.tok.kind != "']'":
                self.error(("NEWLINE", "','", "']'"))
                return None


def parse_config_text(text: str, source: str) -> ConfigFile:
    """Parse a configuration file. Raises `ConfigSyntaxError`."""
    return _Parser(text, source).parse()


# -- devices ------------------------------------------------------------------------------------------


def vdev_number(vdev: str) -> int | None:
    """``libxl__device_disk_dev_number``: xvda → 51712, xvdb → 51728, hda → 768, sda → 2048."""
    base = vdev.split(":")[0]
    for prefix, limit in (("xvd", None), ("hd", 3), ("sd", 15)):
        match = re.fullmatch(prefix + r"([a-z]+)([0-9]*)", base)
        if match is None:
            continue
        letters, part = match.groups()
        disk = 0
        for letter in letters:
            disk = disk * 26 + (ord(letter) - ord("a") + 1)
        disk -= 1
        partition = int(part) if part else 0
        if limit is not None and disk > limit:
            return None
        if prefix == "xvd":
            return (202 << 8) | (disk << 4) | partition if disk <= 15 and partition <= 15 \
                else (1 << 28) | (disk << 8) | partition
        if prefix == "hd":
            return ((3 if disk < 2 else 22) << 8) | ((disk & 1) << 6) | partition
        return (8 << 8) | (disk << 4) | partition
    return int(base) if base.isdigit() else None


def parse_disk(spec: str, source: str) -> Disk:
    """One disk specification (see the module docstring). Raises CommandError with xlu's message."""

    def fail(near: str | None, message: str) -> CommandError:
        where = f": near `{near}'" if near is not None else ""
        return CommandError(f"{source}: config parsing error in disk specification: {message}{where} "
                            f"in `{spec}'\n")

    target: str | None = None
    vdev = access = fmt = None
    prefix = ""
    cdrom = False
    text = spec.strip()
    legacy = re.match(r"([a-z][a-z0-9]*):(?=/)", text) or re.match(r"(tap2?:[a-z0-9]+):(?=/)", text)
    if legacy:
        head = legacy.group(1)
        if head in _FORMATS:
            fmt = head
        elif head.split(":")[0] not in _LEGACY_PREFIXES:
            raise fail(text, "unknown deprecated disk prefix")
        prefix = head
        text = text[legacy.end():]
    for item in (part.strip() for part in text.split(",")):
        if "=" in item:
            key, _, value = item.partition("=")
            if key == "target":
                target = value
            elif key == "vdev":
                vdev = value
            elif key == "access":
                access = value
            elif key == "format":
                fmt = value
            elif key == "devtype":
                if value not in ("cdrom", "disk"):
                    raise fail(item, "unknown value for type")
                cdrom = value == "cdrom"
            elif key not in ("backend", "backendtype", "script", "specification"):
                raise fail(item, "unknown parameter")
        elif item == "cdrom":
            cdrom = True
        elif target is None:
            target = item
        elif not prefix and fmt is None:
            fmt = item or "raw"
            if fmt not in _FORMATS:
                raise fail(item, "unknown value for format")
        elif vdev is None:
            if item.endswith(":cdrom"):
                item, cdrom = item[:-6], True
            vdev = item
        elif access is None:
            access = item
        else:
            raise fail(item, "too many positional parameters")
    if access is not None and access not in ("r", "ro", "w", "rw", ""):
        raise fail(access, "unknown value for access")
    if fmt is not None and fmt not in _FORMATS:
        raise fail(fmt, "unknown value for format")
    if not vdev:
        raise CommandError(f"{source}: config parsing error in disk specification: no vdev specified "
                           f"in `{spec}'\n")
    mode = "r" if access in ("r", "ro") or cdrom else "w"
    return Disk(target or "", vdev, mode, prefix, fmt or "raw", cdrom, spec)


def parse_vif(spec: str, rng: random.Random) -> Vif:
    """``mac=…,bridge=…,script=…,model=…``; a missing MAC is generated in 00:16:3e."""
    pairs = dict(item.strip().partition("=")[::2] for item in spec.split(",") if item.strip())
    return Vif(pairs.get("mac") or xen_mac(rng), pairs.get("bridge", "xenbr0"), pairs.get("script", "vif-bridge"),
               pairs.get("model", ""), spec)


def parse_cpus(text: str) -> frozenset[int] | None:
    """``cpus = "0-3,6"`` (``all`` → None)."""
    if text in ("", "all"):
        return None
    cpus: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(text)
        cpus.update(range(int(low), int(high or low) + 1))
    return frozenset(cpus)


# -- from a file to a guest ---------------------------------------------------------------------------


def guest_config(config: ConfigFile, rng: random.Random, *, text: str = "") -> GuestConfig:
    """The guest a parsed file describes, checked as ``parse_config_data`` checks it. Raises CommandError
    (stderr carries the warnings printed before the failure)."""

    def fail(message: str) -> CommandError:
        return CommandError("".join(f"{w}\n" for w in config.warnings) + message + "\n")

    kind = None
    for key in ("type", "builder"):
        value = config.string(key)
        if value is None:
            continue
        choices = ("hvm", "pv", "pvh") if key == "type" else ("hvm", "generic")
        chosen = next((c for c in choices if c.startswith(value)), None) if value else choices[0]
        if chosen is None:
            raise fail(f"Invalid domain type {value}.")
        chosen = "pv" if chosen == "generic" else chosen
        if kind is not None and chosen != kind:
            raise fail('Contradicting "builder" and "type" options specified.')
        kind = chosen
    name = config.string("name")
    if name is None:
        raise fail("Domain name must be specified.")
    guest = GuestConfig(name, hvm=kind == "hvm", text=text)
    uuid_text = config.string("uuid")
    if uuid_text is not None:
        try:
            guest.uuid = str(uuidlib.UUID(uuid_text))
        except ValueError:
            raise fail(f"Failed to parse UUID: {uuid_text}") from None
    for key, attr in (("memory", "memory_mib"), ("maxmem", "maxmem_mib"), ("cpu_weight", "cpu_weight"),
                      ("cap", "cap")):
        number = config.number(key)
        if number is not None:
            setattr(guest, attr, number)
    vcpus = config.number("vcpus")
    guest.vcpus = vcpus if vcpus is not None and vcpus >= 1 else 1
    guest.maxvcpus = config.number("maxvcpus")
    if guest.maxvcpus is not None and guest.maxvcpus < guest.vcpus:
        raise fail("xl: maxvcpus < vcpus")
    cpus = config.string("cpus")
    if cpus is not None:
        try:
            guest.cpus = parse_cpus(cpus)
        except ValueError:
            raise fail(f"Invalid affinity specification: {cpus}.") from None
    for key, default in (("on_poweroff", "destroy"), ("on_reboot", "restart"), ("on_crash", "destroy")):
        action = config.string(key) or default
        if action not in _ACTIONS:
            raise fail(f'Unknown {key} action "{action}" specified')
        setattr(guest, key, action)
    for key in ("kernel", "ramdisk", "bootloader", "extra"):
        setattr(guest, key, config.string(key) or "")
    guest.os = config.string("os_hint") or ("solaris" if "solaris" in guest.kernel.lower() else "debian")
    for spec in config.items("disk"):
        try:
            guest.disks.append(parse_disk(spec, config.source))
        except CommandError as error:
            raise fail(error.stderr.rstrip("\n")) from None
    guest.vifs = [parse_vif(spec, rng) for spec in config.items("vif")]
    return guest


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_config(guest: GuestConfig) -> str:
    """A configuration file for ``guest`` in the style of the xl.cfg(5) examples (what the demo writes to
    /etc/xen and what an operator would); `parse_config_text` reads it back."""
    lines = [f"name = {_quote(guest.name)}"]
    if guest.uuid:
        lines.append(f"uuid = {_quote(guest.uuid)}")
    if guest.hvm:
        lines.append("type = 'hvm'")
    for key in ("kernel", "ramdisk", "extra", "bootloader"):
        if getattr(guest, key):
            lines.append(f"{key} = {_quote(getattr(guest, key))}")
    lines.append(f"memory = {guest.memory_mib}")
    if guest.maxmem_mib and guest.maxmem_mib != guest.memory_mib:
        lines.append(f"maxmem = {guest.maxmem_mib}")
    lines.append(f"vcpus = {guest.vcpus}")
    if guest.maxvcpus and guest.maxvcpus != guest.vcpus:
        lines.append(f"maxvcpus = {guest.maxvcpus}")
    if guest.cpu_weight != 256:
        lines.append(f"cpu_weight = {guest.cpu_weight}")
    if guest.cap:
        lines.append(f"cap = {guest.cap}")
    lines.append("disk = [ " + ", ".join(_quote(d.spec) for d in guest.disks) + " ]")
    lines.append("vif = [ " + ", ".join(_quote(v.spec) for v in guest.vifs) + " ]")
    for key, default in (("on_poweroff", "destroy"), ("on_reboot", "restart"), ("on_crash", "destroy")):
        if getattr(guest, key) != default:
            lines.append(f"{key} = {_quote(getattr(guest, key))}")
    return "\n".join(lines) + "\n"
