"""Pure zones intent: name and path rules, the argv of every `zoneadm`/`zonecfg`/`zlogin` command, zonecfg
command scripts, and Plans. No I/O.

Every command is an argv tuple for the global zone; nothing user- or host-supplied is ever put into a shell
string. A zone name starts with a letter or digit and every path is absolute, so no argument can read as an
option. Names and values are checked before a Plan exists.

Sources, beyond shared/formats/zones.md (§): illumos-gate `usr/src/man/man8/zonecfg.8` and `zoneadm.8`,
`usr/src/lib/libzonecfg/common/libzonecfg.c` (zonecfg_validate_zonename), `usr/src/uts/common/sys/zone.h`
(ZONENAME_MAX, ZONENAME_REGEXP), `usr/src/cmd/zonecfg/zonecfg.c` (export_func, cmd_file, main,
add_resource, validate_zonepath_syntax), `usr/src/cmd/zonecfg/zonecfg_lex.l` (what a value may hold) and
`usr/src/cmd/zoneadm/zoneadm.c` (crosscheck_zonepaths).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from ..base import Action, ExtraAction, Param
from ..errors import ParseError, Unsupported, ValidationError
from ..model import Domain
from ..plan import Check, Operation, Plan, Step
from ..transport.base import Result
from . import parse
from .parse import GLOBAL_ZONE, Layout

ZONEADM = "zoneadm"
ZONECFG = "zonecfg"
ZLOGIN = "zlogin"
#: the poll: every configured zone, parsable (§1.3)
LIST = (ZONEADM, "list", "-cp")
#: the probe: the running zones (the global zone at least), parsable; its field count gives the layout (§1.1)
LIST_RUNNING = (ZONEADM, "list", "-p")
LIST_VERBOSE = (ZONEADM, "list", "-cv")
UNAME = ("uname", "-sr")
#: typed at the start of a line in `zlogin -C`, it leaves the console (zlogin(1); `-e c` changes the `~`)
CONSOLE_ESCAPE = "~."

# --- names and values -------------------------------------------------------------------------------------

#: sys/zone.h ZONENAME_REGEXP; zonecfg_validate_zonename refuses strlen >= ZONENAME_MAX (64), so 63 at most
_ZONE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_BRAND = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_LINK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,30}")  # datalink names: MAXLINKNAMELEN is 32
#: ZFS dataset and snapshot names (zfs(8): alphanumerics and `_ - : .`), without the space ZFS also allows
_DATASET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*(?:/[A-Za-z0-9_.:-]+)*")
_SNAPSHOT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*(?:@[A-Za-z0-9_.:-]+)?")
_PATCH = re.compile(r"[0-9]{6}-[0-9]{2}")  # a Solaris 10 patch id, 119254-92
_SIZE = re.compile(r"([0-9]{1,15})([KMGTkmgt]?)")
_NCPUS_CAP = re.compile(r"[0-9]{0,4}(?:\.[0-9]{1,2})?")
_NCPUS_RANGE = re.compile(r"([0-9]{1,4})(?:-([0-9]{1,4}))?")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*")
_TAG = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAXPATHLEN = 1024

#: what zonecfg's lexer reads as one unquoted value (zonecfg_lex.l, TSTATE): no blank, `"`, `;`, `=`,
#: `[`, `]`, `(` or `)`
_TOKEN = re.compile(r"[^ \t\n\";=\[\]()]+")
#: resource and property names zonecfg's lexer turns into keywords in a command's arguments; a value that
#: is exactly one of them is quoted, which always reads back as plain text
KEYWORDS = frozenset({
    "net", "anet", "fs", "inherit-pkg-dir", "device", "rctl", "attr", "dataset", "dedicated-cpu", "capped-cpu",
    "capped-memory", "admin", "security-flags", "zonename", "zonepath", "brand", "autoboot", "ip-type", "pool",
    "limitpriv", "bootargs", "type", "value", "options", "address", "allowed-address", "physical",
    "defrouter", "global-nic", "mac-addr", "vlan-id", "property", "dir", "special", "raw", "name", "match",
    "priv", "limit", "action", "ncpus", "locked", "swap", "importance", "cpu-shares", "max-lwps",
    "max-processes", "max-shm-memory", "max-shm-ids", "max-msg-ids", "max-sem-ids", "scheduling-class",
    "hostid", "fs-allowed", "user", "auths", "lower", "default", "upper", "zfs-io-priority", "linkname",
    "lower-link",
})
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_text(value: str, what: str) -> str:
    """Refuse control characters (C0, DEL, C1), line and paragraph separators and bidi controls: none can
    be written into a zonecfg command line or shown safely."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI:
            raise ValidationError(f"{what} {value!r} holds a control character (U+{ord(char):04X})")
    return value


def validate_name(name: str, what: str = "zone name", *, template: bool = False) -> str:
    """A zone name as zonecfg(8) defines it: a letter or digit first, then letters, digits, `_`, `-` and
    `.`, at most 63 characters (ZONENAME_MAX is 64 with the NUL); case matters. `global` and names
    beginning with `SUNW` are reserved (zonecfg.8 `-z`). A `create -t` template may be a SUNW one
    (`SUNWdefault`, `SUNWlx` in zonecfg.8), hence ``template=True``."""
    if not isinstance(name, str) or not _ZONE_NAME.fullmatch(name):
        raise ValidationError(f"{what} {name!r}: use a letter or digit first, then letters, digits, '_', '-' "
                              "or '.' (at most 63 characters)")
    if name == GLOBAL_ZONE:
        raise ValidationError(f"{what} 'global' is the global zone, reserved")
    if name.startswith("SUNW") and not template:
        raise ValidationError(f"{what} {name!r}: names beginning with SUNW are reserved")
    return name


def _zone_arg(name: str, *, allow_global: bool = False) -> str:
    return name if allow_global and name == GLOBAL_ZONE else validate_name(name)


def validate_path(path: str, what: str = "path") -> str:
    """An absolute path for an argv (an archive, an image directory, a command file): it starts with `/`,
    so it never reads as an option, and holds no control character."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValidationError(f"{what} {path!r} must be an absolute path")
    if len(path) >= MAXPATHLEN:
        raise ValidationError(f"{what} is longer than {MAXPATHLEN - 1} characters")
    return check_text(path, what)


def validate_zonepath(path: str) -> str:
    """A zonepath: absolute and not `/` alone (zonecfg.c validate_zonepath_syntax), and one zonecfg word:
    `zonecfg export` prints the zonepath unquoted (zonecfg.c export_func), so a blank, `"`, `;`, `=`, `[`,
    `]`, `(` or `)` in it would not read back."""
    validate_path(path, "zonepath")
    if path.strip("/") == "":
        raise ValidationError("zonepath '/' is not allowed")
    if not _TOKEN.fullmatch(path):
        raise ValidationError(f"zonepath {path!r}: no blanks or any of \" ; = [ ] ( ) (zonecfg export writes "
                              "it unquoted)")
    return path


def validate_snapshot(snapshot: str) -> str:
    """A ZFS snapshot for `zoneadm clone -s` (a snapshot of the source zone's zonepath dataset)."""
    if not isinstance(snapshot, str) or len(snapshot) > 255 or not _SNAPSHOT.fullmatch(snapshot):
        raise ValidationError(f"ZFS snapshot {snapshot!r}: letters, digits and _ - : . / @ only, a letter or "
                              "digit first")
    return snapshot


def validate_dataset(name: str) -> str:
    if not isinstance(name, str) or len(name) > 255 or not _DATASET.fullmatch(name):
        raise ValidationError(f"ZFS dataset {name!r}: pool/filesystem, letters, digits and _ - : . only")
    return name


def validate_patch(patch: str) -> str:
    """A Solaris 10 patch id for `attach -b` (§3): six digits, `-`, two digits (119254-92)."""
    if not isinstance(patch, str) or not _PATCH.fullmatch(patch):
        raise ValidationError(f"patch id {patch!r}: write it as 119254-92")
    return patch


def zonepath_conflict(zonepath: str, zones: tuple[Domain, ...] | list[Domain], *,
                      exclude: str | None = None) -> str | None:
    """Why ``zonepath`` cannot be used next to these zones (None when it can): zoneadm refuses a zonepath
    equal to, inside or around another zone's (crosscheck_zonepaths: each path with `/` appended, compared
    over the shorter length). zoneadm checks installed zones only; this checks every non-global zone
    whose zonepath is known, so a configured zone's path is not handed out twice either."""
    mine = zonepath.rstrip("/") + "/"
    for zone in zones:
        if zone.name in (GLOBAL_ZONE, exclude):
            continue
        theirs = dict(zone.extra).get("zonepath")
        if not theirs:
            continue
        other = theirs.rstrip("/") + "/"
        if mine.startswith(other) or other.startswith(mine):
            return f"zonepath {zonepath} overlaps {zone.name}'s zonepath {theirs}"
    return None


def zonecfg_value(value: str, what: str = "value") -> str:
    """A value written the way zonecfg takes it: as is when the lexer reads it as one word (zonecfg_lex.l),
    else in double quotes, as export quotes a value with a blank (zonecfg.c quoteit). zonecfg has no
    escape for `"` inside a value, and no value may hold a control character or a newline: both are
    refused."""
    check_text(value, what)
    if '"' in value:
        raise ValidationError(f"{what} {value!r}: zonecfg cannot take a '\"' inside a value")
    if _TOKEN.fullmatch(value) and value not in KEYWORDS:
        return value
    return f'"{value}"'


# --- commands ---------------------------------------------------------------------------------------------


def export(zone: str) -> tuple[str, ...]:
    """`zonecfg -z ZONE export` (§4); the global zone has a configuration too (its rctls)."""
    return (ZONECFG, "-z", _zone_arg(zone, allow_global=True), "export")


def _zoneadm(zone: str, *args: str) -> tuple[str, ...]:
    return (ZONEADM, "-z", validate_name(zone), *args)


def boot(zone: str) -> tuple[str, ...]:
    return _zoneadm(zone, "boot")


def shutdown(zone: str, *, reboot: bool = False) -> tuple[str, ...]:
    """`zoneadm -z Z shutdown [-r]`: the zone's own shutdown (SMF stops its services), then halted or, with
    ``reboot``, booted again (zoneadm.8)."""
    return _zoneadm(zone, "shutdown", *(("-r",) if reboot else ()))


def halt(zone: str) -> tuple[str, ...]:
    """`zoneadm -z Z halt`: at once, without the zone's shutdown scripts (zoneadm.8)."""
    return _zoneadm(zone, "halt")


def reboot(zone: str) -> tuple[str, ...]:
    """`zoneadm -z Z reboot`: "equivalent to a halt boot sequence" (zoneadm.8)."""
    return _zoneadm(zone, "reboot")


def ready(zone: str) -> tuple[str, ...]:
    return _zoneadm(zone, "ready")


def uninstall(zone: str) -> tuple[str, ...]:
    """`zoneadm -z Z uninstall -F`: removes every file under the zonepath; -F because there is no terminal
    to answer zoneadm's question."""
    return _zoneadm(zone, "uninstall", "-F")


def delete(zone: str) -> tuple[str, ...]:
    """`zonecfg -z Z delete -F`: the configuration, at once and for good (zonecfg.8)."""
    return (ZONECFG, "-z", validate_name(zone), "delete", "-F")


def install(zone: str, *, archive: str | None = None, image: str | None = None, identity: str | None = None,
            verbosity: str | None = None) -> tuple[str, ...]:
    """`zoneadm -z Z install`, or a p2v install (§3a, RECONSTRUCTED from the Solaris 10 10/09 native and
    solaris10 brand options): ``archive`` gives `-a ARCHIVE` (flar, cpio, compressed cpio, pax, ufsdump),
    ``image`` gives `-d PATH` (a root image directory; `-` for an image already in the zonepath).
    ``identity`` is "unconfigure" (`-u`: sys-unconfig, a new identity) or "preserve" (`-p`: keep the physical
    system's); ``verbosity`` "silent" (`-s`) or "verbose" (`-v`). The last three need an archive or image."""
    if archive is not None and image is not None:
        raise ValidationError("install from an archive or from an image, not both")
    args: list[str] = []
    if archive is not None:
        args += ["-a", validate_path(archive, "archive")]
    elif image is not None:
        args += ["-d", "-" if image == "-" else validate_path(image, "image directory")]
    elif identity is not None or verbosity is not None:
        raise ValidationError("-u, -p, -s and -v go with an archive (-a) or an image (-d)")
    flags = {None: (), "unconfigure": ("-u",), "preserve": ("-p",)}
    if identity not in flags:
        raise ValidationError(f"identity {identity!r}: 'unconfigure' (-u) or 'preserve' (-p)")
    noise = {None: (), "silent": ("-s",), "verbose": ("-v",)}
    if verbosity not in noise:
        raise ValidationError(f"verbosity {verbosity!r}: 'silent' (-s) or 'verbose' (-v)")
    return _zoneadm(zone, "install", *args, *flags[identity], *noise[verbosity])


def clone(zone: str, source: str, *, snapshot: str | None = None, copy: bool = False) -> tuple[str, ...]:
    """`zoneadm -z NEW clone [-m copy] [-s SNAPSHOT] SOURCE` (§3): NEW must be configured and SOURCE
    halted; a ZFS clone where possible, ``copy`` forces a copy."""
    args = (*(("-m", "copy") if copy else ()), *(("-s", validate_snapshot(snapshot)) if snapshot else ()))
    source = validate_name(source, "source zone")
    if source == zone:
        raise ValidationError(f"{zone} cannot be cloned from itself")
    return _zoneadm(zone, "clone", *args, source)


def detach(zone: str) -> tuple[str, ...]:
    """`zoneadm -z Z detach`: the zone must be halted; it is left configured (§3)."""
    return _zoneadm(zone, "detach")


def attach(zone: str, *, update: str | None = None, backout: tuple[str, ...] = (),
           force: bool = False) -> tuple[str, ...]:
    """`zoneadm -z Z attach` (§3). ``update`` "u" (`-u`, update on attach: the zone's packages are brought
    to this host's level; Solaris 10 10/08 and Solaris 11) or "U" (`-U`, every package updated, Solaris 10
    9/10); ``backout`` patch ids each give `-b PATCH` (Solaris 10 5/09, SVR4-packaged brands); ``force``
    is `-F` (installed without validation: solaris8/solaris9 brands). -u/-U and -b are brand options, not
    illumos core ones."""
    if update not in (None, "u", "U"):
        raise ValidationError(f"update {update!r}: 'u' (-u) or 'U' (-U)")
    if force and (update or backout):
        raise ValidationError("attach -F validates nothing; it does not combine with -u, -U or -b")
    args = [f"-{update}"] if update else []
    for patch in backout:
        args += ["-b", validate_patch(patch)]
    return _zoneadm(zone, "attach", *(["-F"] if force else args))


def move(zone: str, zonepath: str) -> tuple[str, ...]:
    """`zoneadm -z Z move NEWPATH`: the zone must be halted (zoneadm.8)."""
    return _zoneadm(zone, "move", validate_zonepath(zonepath))


def console(zone: str) -> tuple[str, ...]:
    """`zlogin -C ZONE`: the zone's console; `~.` at the start of a line leaves it (CONSOLE_ESCAPE)."""
    return (ZLOGIN, "-C", validate_name(zone))


def console_command(domain: Domain) -> tuple[str, ...] | None:
    """The console of a zone; None for the global zone, whose console is the host's."""
    return None if domain.name == GLOBAL_ZONE else console(domain.name)


def configure_stdin(zone: str) -> tuple[str, ...]:
    """`zonecfg -z ZONE -f -`: the command script on stdin. zonecfg.8 documents only `-f command_file`; `-`
    for stdin comes from illumos zonecfg.c (cmd_file: '"-f -" is essentially the same as interactive
    mode'). In that mode zonecfg does not stop at the first error, and at the end it still commits what
    parsed, so a failed run can leave a partial configuration: undo with `delete`."""
    return (ZONECFG, "-z", validate_name(zone), "-f", "-")


def configure_file(zone: str, path: str) -> tuple[str, ...]:
    """`zonecfg -z ZONE -f FILE` (zonecfg.8): a command file on the global zone; zonecfg stops at its
    first error."""
    return (ZONECFG, "-z", validate_name(zone), "-f", validate_path(path, "command file"))


def script_path(zone: str, tag: str) -> str:
    """Where a command file for `configure_file` goes on the global zone: /var/tmp/hvdeck-zonecfg-ZONE-TAG
    (``tag`` letters, digits, `_` and `-`: a plan id, so two plans never share a file)."""
    if not _TAG.fullmatch(tag):
        raise ValidationError(f"tag {tag!r}: letters, digits, '_' and '-', at most 32")
    return f"/var/tmp/hvdeck-zonecfg-{validate_name(zone)}-{tag}"


def configure_inline(zone: str, lines: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """`zonecfg -z ZONE 'CMD; CMD; ...'`: the script as one argument, its commands joined by `; `. zonecfg
    joins its arguments into one command line (zonecfg.c one_command_at_a_time) and takes `;` between
    subcommands (zonecfg.8: "zonecfg supports a semicolon-separated list of subcommands"). Needs no stdin
    and no file; the lines come from `zonecfg_lines`, whose values are quoted where a `;` could split."""
    if not lines:
        raise ValidationError("an empty zonecfg script")
    for line in lines:
        check_text(line, "zonecfg command")
    return (ZONECFG, "-z", validate_name(zone), "; ".join(lines))


# --- zonecfg scripts --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewNet:
    """A network resource of a new zone. `net`: ``physical`` is the interface (shared-IP: the global zone's,
    with ``address`` and optionally ``defrouter``; exclusive-IP: the link the zone owns, no address).
    On OmniOS an exclusive-IP `net` may name ``global_nic`` instead: zoneadmd then makes the VNIC
    ``physical`` on that link when the zone boots, and ``allowed_address``/``defrouter`` configure it
    (zones.md §4, the OmniOS sample: ``set global-nic=auto``, ``set allowed-address=192.168.1.38/24``).
    `anet` (``anet=True``, Solaris 11, exclusive-IP): a VNIC named ``linkname`` in the zone, made on
    ``lower_link`` (left unset, Solaris 11 uses `auto`), optionally limited to ``allowed_address``."""

    physical: str | None = None
    address: str | None = None
    defrouter: str | None = None
    anet: bool = False
    linkname: str | None = None
    lower_link: str | None = None
    global_nic: str | None = None
    allowed_address: str | None = None


@dataclass(frozen=True, slots=True)
class NewZone:
    """What a new zone's configuration says, in zonecfg's terms. The create line: `create -b` (``blank``,
    the default), plain `create` (``blank=False``: the system's default template), `create -t TEMPLATE`
    or `create -a PATH` (a detached zonepath brought to this host). Sizes take zonecfg's scale: `512m`,
    `4G`. ``capped_cpu`` is CPUs as a decimal (`1.5`); ``dedicated_cpu`` a count or range (`2`, `1-4`)."""

    name: str
    zonepath: str | None = None
    brand: str | None = None
    autoboot: bool | None = None
    ip_type: str | None = None  # shared | exclusive
    nets: tuple[NewNet, ...] = ()
    capped_cpu: str | None = None
    memory_cap: str | None = None  # capped-memory physical
    swap_cap: str | None = None  # capped-memory swap
    locked_cap: str | None = None  # capped-memory locked
    dedicated_cpu: str | None = None
    importance: str | None = None
    datasets: tuple[str, ...] = ()
    blank: bool = True
    template: str | None = None
    attach_path: str | None = None


def _size(value: str, what: str) -> str:
    match = _SIZE.fullmatch(value)
    if match is None or int(match.group(1)) == 0:
        raise ValidationError(f"{what} {value!r}: a whole number with K, M, G or T, e.g. 512m or 4G")
    return value


def _address(value: str, what: str, *, prefix: bool) -> str:
    """An IPv4 address (with a /prefix where allowed), an IPv6 address with its /prefix, or a host name
    (zonecfg.8 net: address)."""
    check_text(value, what)
    host, slash, length = value.partition("/")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if slash or not _HOSTNAME.fullmatch(value) or value.rpartition(".")[2].isdigit():
            raise ValidationError(f"{what} {value!r}: an IP address or a host name") from None
        return value
    if slash and (not prefix or not length.isdigit() or int(length) > ip.max_prefixlen):
        raise ValidationError(f"{what} {value!r}: " + ("a bad prefix length" if prefix else "no /prefix here"))
    if ip.version == 6 and prefix and not slash:
        raise ValidationError(f"{what} {value!r}: an IPv6 address needs its /prefix (zonecfg.8)")
    return value


def _net_lines(net: NewNet, ip_type: str | None) -> list[str]:
    if net.anet:
        if ip_type == "shared":
            raise ValidationError("an anet resource needs ip-type exclusive")
        if net.physical or net.address or net.global_nic:
            raise ValidationError("an anet takes a linkname and a lower-link, not physical, address or global-nic")
        if not net.linkname or not _LINK.fullmatch(net.linkname):
            raise ValidationError(f"anet linkname {net.linkname!r}: a link name such as net0")
        if net.lower_link is not None and not _LINK.fullmatch(net.lower_link):
            raise ValidationError(f"anet lower-link {net.lower_link!r}: a link name, or auto")
        lines = ["add anet", f"set linkname={zonecfg_value(net.linkname)}"]
        if net.lower_link:
            lines.append(f"set lower-link={zonecfg_value(net.lower_link)}")
        if net.allowed_address:
            lines.append("set allowed-address="
                         + zonecfg_value(_address(net.allowed_address, "allowed-address", prefix=True)))
        if net.defrouter:
            lines.append(f"set defrouter={zonecfg_value(_address(net.defrouter, 'defrouter', prefix=False))}")
        return lines + ["end"]
    if net.linkname or net.lower_link:
        raise ValidationError("linkname and lower-link belong to an anet")
    if not net.physical or not _LINK.fullmatch(net.physical):
        raise ValidationError(f"net physical {net.physical!r}: an interface name such as e1000g0")
    if net.global_nic is not None:
        if ip_type != "exclusive":
            raise ValidationError("global-nic makes a VNIC for an exclusive-IP zone: set ip-type exclusive")
        if not _LINK.fullmatch(net.global_nic):
            raise ValidationError(f"global-nic {net.global_nic!r}: a link name, or auto")
    if net.allowed_address and ip_type == "shared":
        raise ValidationError("allowed-address limits an exclusive-IP zone; a shared-IP zone has an address")
    if ip_type == "exclusive" and (net.address or (net.defrouter and not net.allowed_address)):
        raise ValidationError("an exclusive-IP zone sets its addresses itself: no address on its net, and a "
                              "defrouter only with an allowed-address (zonecfg.8)")
    if ip_type == "shared" and not net.address:
        raise ValidationError(f"net {net.physical}: a shared-IP zone needs an address (zonecfg.8)")
    lines = ["add net"]
    if net.address:
        lines.append(f"set address={zonecfg_value(_address(net.address, 'address', prefix=True))}")
    if net.allowed_address:
        lines.append("set allowed-address="
                     + zonecfg_value(_address(net.allowed_address, "allowed-address", prefix=True)))
    lines.append(f"set physical={zonecfg_value(net.physical)}")
    if net.defrouter:
        lines.append(f"set defrouter={zonecfg_value(_address(net.defrouter, 'defrouter', prefix=False))}")
    if net.global_nic is not None:
        lines.append(f"set global-nic={zonecfg_value(net.global_nic)}")
    return lines + ["end"]


def _create_line(zone: NewZone) -> str:
    if zone.template is not None and zone.attach_path is not None:
        raise ValidationError("create from a template (-t) or from a detached zonepath (-a), not both")
    if zone.template is not None:
        template = validate_name(zone.template, "template", template=True)
        if template == zone.name:
            raise ValidationError(f"{zone.name} cannot be its own template")
        return f"create -t {zonecfg_value(template)}"
    if zone.attach_path is not None:
        return f"create -a {zonecfg_value(validate_zonepath(zone.attach_path), 'detached zonepath')}"
    return "create -b" if zone.blank else "create"


def zonecfg_lines(zone: NewZone) -> tuple[str, ...]:
    """The zonecfg commands that configure ``zone``, one per line in the grammar and order of `zonecfg
    export` (§4; zonecfg.c export_func): the create line, `set zonepath`, `brand`, `autoboot`, `ip-type`,
    then `add net`/`anet`, `capped-memory`, `capped-cpu`, `dataset` and `dedicated-cpu` blocks closed by
    `end`. Every value goes through `zonecfg_value`. Raises ValidationError on anything zonecfg would
    refuse: a bad name or zonepath, a shared-IP net without an address, capped-cpu with dedicated-cpu
    (zonecfg.c add_resource refuses the pair)..."""
    validate_name(zone.name)
    lines = [_create_line(zone)]
    if zone.zonepath is not None:
        lines.append(f"set zonepath={validate_zonepath(zone.zonepath)}")
    elif zone.attach_path is None:
        raise ValidationError(f"{zone.name} needs a zonepath")
    if zone.brand is not None:
        if not _BRAND.fullmatch(zone.brand):
            raise ValidationError(f"brand {zone.brand!r}: a brand name such as ipkg, sparse or solaris")
        lines.append(f"set brand={zonecfg_value(zone.brand)}")
    if zone.autoboot is not None:
        lines.append(f"set autoboot={'true' if zone.autoboot else 'false'}")
    if zone.ip_type is not None:
        if zone.ip_type not in ("shared", "exclusive"):
            raise ValidationError(f"ip-type {zone.ip_type!r}: shared or exclusive")
        lines.append(f"set ip-type={zone.ip_type}")
    for net in zone.nets:
        lines += _net_lines(net, zone.ip_type)
    caps = (("physical", zone.memory_cap), ("swap", zone.swap_cap), ("locked", zone.locked_cap))
    if any(value is not None for _, value in caps):
        lines.append("add capped-memory")
        lines += [f"set {key}={_size(value, f'capped-memory {key}')}" for key, value in caps if value is not None]
        lines.append("end")
    if zone.capped_cpu is not None and zone.dedicated_cpu is not None:
        raise ValidationError("capped-cpu and dedicated-cpu exclude each other (zonecfg refuses the pair)")
    if zone.capped_cpu is not None:
        if not _NCPUS_CAP.fullmatch(zone.capped_cpu) or not zone.capped_cpu.strip(".") or \
                Fraction(zone.capped_cpu) <= 0:
            raise ValidationError(f"capped-cpu {zone.capped_cpu!r}: CPUs as a decimal, e.g. 1.5 or .75")
        lines += ["add capped-cpu", f"set ncpus={zone.capped_cpu}", "end"]
    for dataset in zone.datasets:
        lines += ["add dataset", f"set name={zonecfg_value(validate_dataset(dataset))}", "end"]
    if zone.dedicated_cpu is not None:
        match = _NCPUS_RANGE.fullmatch(zone.dedicated_cpu)
        if match is None or int(match.group(1)) < 1 or (match.group(2) and int(match.group(2)) <
                                                         int(match.group(1))):
            raise ValidationError(f"dedicated-cpu {zone.dedicated_cpu!r}: a count or a range, e.g. 2 or 1-4")
        lines += ["add dedicated-cpu", f"set ncpus={zone.dedicated_cpu}"]
        if zone.importance is not None:
            if not zone.importance.isdigit() or len(zone.importance) > 6:
                raise ValidationError(f"importance {zone.importance!r}: a whole number")
            lines.append(f"set importance={zone.importance}")
        lines.append("end")
    elif zone.importance is not None:
        raise ValidationError("importance belongs to dedicated-cpu")
    return tuple(lines)


def zonecfg_script(zone: NewZone) -> str:
    """`zonecfg_lines` as a command file, one command a line, for `zonecfg -f` and to show in a Plan."""
    return "".join(line + "\n" for line in zonecfg_lines(zone))


# --- lifecycle --------------------------------------------------------------------------------------------

ACTIONS = frozenset({Action.START, Action.SHUTDOWN, Action.REBOOT, Action.FORCE_OFF})
_BOOTABLE = frozenset({"installed", "ready"})
_HALTABLE = frozenset({"running", "ready", "shutting_down", "down"})


def _state_hint(domain: Domain) -> str:
    state = domain.native_state
    if state == "configured":
        return f"{domain.name} is configured but not installed: install, clone or attach it first"
    if state == "incomplete":
        return f"{domain.name} is incomplete (an install or uninstall was interrupted): uninstall it first"
    return f"{domain.name} is {state}"


def why_not(action: Action, domain: Domain) -> str | None:
    """Why a lifecycle action cannot be planned for this zone now (None when it can), from zoneadm's own
    state rules: boot from installed or ready, shutdown and reboot of a running zone, halt of a running,
    ready or stopping one. The global zone is the host itself: none apply."""
    if domain.name == GLOBAL_ZONE:
        return "the global zone is the host itself"
    state = domain.native_state
    if action is Action.START:
        if state == "running":
            return f"{domain.name} is already running"
        return None if state in _BOOTABLE else _state_hint(domain)
    if action in (Action.SHUTDOWN, Action.REBOOT):
        return None if state == "running" else _state_hint(domain)
    if action is Action.FORCE_OFF:
        return None if state in _HALTABLE else _state_hint(domain)
    return f"zones cannot {action.label.lower()}"


def _step(description: str, argv: tuple[str, ...], undo: tuple[str, ...] | None = None) -> Step:
    return Step(description, Operation.command(*argv), Operation.command(*undo) if undo else None)


def _zonepath(domain: Domain) -> str | None:
    return dict(domain.extra).get("zonepath")


def lifecycle_plan(action: Action, domain: Domain) -> Plan:
    """boot (start), shutdown, reboot, halt (force off; the zone name typed to confirm)."""
    reason = why_not(action, domain)
    if reason is not None:
        raise Unsupported(f"Cannot {action.label.lower()} {domain.name}: {reason}")
    name = validate_name(domain.name)
    warning, confirm = "", None
    if action is Action.START:
        step = _step(f"Boot {name}", boot(name), undo=shutdown(name))
    elif action is Action.SHUTDOWN:
        step = _step(f"Shut {name} down: its services stop cleanly, then it halts", shutdown(name),
                     undo=boot(name))
    elif action is Action.REBOOT:
        step = _step(f"Reboot {name}: halt, then boot", reboot(name))
        warning = f"zoneadm reboot halts {name} without running its shutdown scripts, then boots it."
    else:
        step = _step(f"Halt {name} at once, without its shutdown scripts", halt(name))
        warning = f"{name} will be halted without a clean shutdown. Type the zone name to confirm."
        confirm = name
    label = "Halt" if action is Action.FORCE_OFF else "Boot" if action is Action.START else action.label
    return Plan(title=f"{label} {name} on {domain.host}", host=domain.host, action=action.value, target=name,
                steps=(step,), confirm_phrase=confirm, warning=warning)


# --- zone-specific actions --------------------------------------------------------------------------------

READY = ExtraAction("ready", "Ready (virtual platform up, no processes)")
INSTALL = ExtraAction("install", "Install")
UNINSTALL = ExtraAction("uninstall", "Uninstall (delete its files)")
DELETE = ExtraAction("delete", "Delete the configuration")
DETACH = ExtraAction("detach", "Detach (to move it to another host)")
ATTACH = ExtraAction("attach", "Attach, updating it to this host (attach -u)")
MOVE = ExtraAction("move", "Move the zonepath", (Param("zonepath", "new zonepath", "/zones/NAME"),))
CLONE = ExtraAction("clone", "Clone into a new zone", (
    Param("name", "new zone", "e.g. web2"),
    Param("zonepath", "its zonepath", "/zones/web2"),
    Param("snapshot", "ZFS snapshot (optional)", "from an earlier clone"),
))
EXTRA_ACTIONS = (READY, INSTALL, UNINSTALL, DELETE, DETACH, ATTACH, MOVE, CLONE)

#: the states each zone-specific action starts from (zoneadm.8, zonecfg.8)
_EXTRA_STATES: dict[ExtraAction, frozenset[str]] = {
    READY: frozenset({"installed"}),
    INSTALL: frozenset({"configured"}),
    UNINSTALL: frozenset({"installed", "incomplete"}),
    DELETE: frozenset({"configured"}),
    DETACH: frozenset({"installed"}),
    ATTACH: frozenset({"configured"}),
    MOVE: frozenset({"installed"}),
    CLONE: frozenset({"installed"}),
}


def why_not_extra(action: ExtraAction, domain: Domain) -> str | None:
    """Why a zone-specific action cannot be planned for this zone now (None when it can)."""
    if domain.name == GLOBAL_ZONE:
        return "the global zone is the host itself"
    state = domain.native_state
    if state in _EXTRA_STATES.get(action, frozenset()):
        return None
    if state in ("running", "ready") and action in (DETACH, MOVE, CLONE, UNINSTALL):
        what = "the source zone halted" if action is CLONE else "the zone halted"
        return f"{domain.name} is {state}: zoneadm {action.id} needs {what}; shut it down first"
    if action is DELETE and state in ("installed", "incomplete"):
        return f"{domain.name} is {state}: uninstall it before deleting its configuration"
    return _state_hint(domain)


def extra_plan(action: ExtraAction, domain: Domain, values: dict[str, str]) -> Plan:
    """The Plan of a zone-specific action; uninstall and delete ask for the zone name to be typed."""
    reason = why_not_extra(action, domain)
    if reason is not None:
        raise Unsupported(f"Cannot {action.label.lower()}: {reason}")
    name = validate_name(domain.name)
    if action is CLONE:
        return clone_plan(domain.host, domain, values.get("name", ""), values.get("zonepath", ""),
                          snapshot=values.get("snapshot") or None)
    warning, confirm = "", None
    zonepath = _zonepath(domain)
    if action is READY:
        step = _step(f"Ready {name}: its virtual platform comes up, no process runs in it", ready(name),
                     undo=halt(name))
    elif action is INSTALL:
        step = _step(f"Install {name} into {zonepath or 'its zonepath'}", install(name), undo=uninstall(name))
    elif action is UNINSTALL:
        step = _step(f"Uninstall {name}: remove every file under {zonepath or 'its zonepath'}", uninstall(name))
        warning = (f"Every file under {name}'s zonepath {zonepath or ''} is removed; the zone stays "
                   "configured. Type the zone name to confirm.").replace("  ", " ")
        confirm = name
    elif action is DELETE:
        step = _step(f"Delete {name}'s configuration", delete(name))
        warning = f"{name}'s configuration is deleted for good (zonecfg delete). Type the zone name to confirm."
        confirm = name
    elif action is DETACH:
        step = _step(f"Detach {name}: it stays configured here, its zonepath can move", detach(name),
                     undo=attach(name))
        warning = "A detached zone cannot boot here until it is attached again."
    elif action is ATTACH:
        step = _step(f"Attach {name}, updating its packages to this host (-u)", attach(name, update="u"),
                     undo=detach(name))
    elif action is MOVE:
        new_path = validate_zonepath(values.get("zonepath", ""))
        if zonepath and new_path.rstrip("/") == zonepath.rstrip("/"):
            raise ValidationError(f"{name} is already at {new_path}")
        step = _step(f"Move {name}'s zonepath to {new_path}", move(name, new_path),
                     undo=move(name, zonepath) if zonepath else None)
    else:  # pragma: no cover - EXTRA_ACTIONS is closed
        raise ValidationError(f"unknown action {action.id}")
    return Plan(title=f"{action.label}: {name} on {domain.host}", host=domain.host, action=action.id,
                target=name, steps=(step,), confirm_phrase=confirm, warning=warning)


# --- ZFS, datalinks and brands: what the wizards offer and check ------------------------------------------

#: zfs-list(8): every filesystem, scripted (-H: no header, a tab between fields) with exact byte counts (-p)
ZFS_FILESYSTEMS = ("zfs", "list", "-H", "-p", "-o", "name,avail,used,mountpoint", "-t", "filesystem")
#: dladm.8 show-link: every datalink, parsable
DATALINKS = ("dladm", "show-link", "-p", "-o", "link,class")


def zfs_snapshots(dataset: str) -> tuple[str, ...]:
    """`zfs list -H -p -o name,used,creation -t snapshot -d 1 DATASET`: the dataset's own snapshots (clone
    sources for `zoneadm clone -s`), oldest first."""
    return ("zfs", "list", "-H", "-p", "-o", "name,used,creation", "-t", "snapshot", "-d", "1",
            validate_dataset(dataset))


def zfs_snapshot_exists(snapshot: str) -> tuple[str, ...]:
    """`zfs list -H -p -o name,used,creation -t snapshot SNAPSHOT`: exits 0 only when the snapshot exists."""
    return ("zfs", "list", "-H", "-p", "-o", "name,used,creation", "-t", "snapshot", validate_full_snapshot(snapshot))


def validate_full_snapshot(snapshot: str) -> str:
    """A snapshot named in full, DATASET@SNAP (what zfs snapshot, send and destroy take)."""
    dataset, at, snap = snapshot.partition("@") if isinstance(snapshot, str) else ("", "", "")
    if not at or not snap or "@" in snap or not re.fullmatch(r"[A-Za-z0-9_.:-]+", snap):
        raise ValidationError(f"ZFS snapshot {snapshot!r}: write it as pool/filesystem@name")
    validate_dataset(dataset)
    return snapshot


def zfs_snapshot(snapshot: str) -> tuple[str, ...]:
    return ("zfs", "snapshot", validate_full_snapshot(snapshot))


def zfs_destroy(name: str, *, recursive: bool = False) -> tuple[str, ...]:
    """`zfs destroy [-r] DATASET|SNAPSHOT` (-r: its snapshots and descendants too)."""
    target = validate_full_snapshot(name) if "@" in name else validate_dataset(name)
    return ("zfs", "destroy", *(("-r",) if recursive else ()), target)


def zfs_send(snapshot: str) -> tuple[str, ...]:
    """`zfs send SNAPSHOT`: a full stream of the snapshot on stdout."""
    return ("zfs", "send", validate_full_snapshot(snapshot))


def zfs_receive(dataset: str) -> tuple[str, ...]:
    """`zfs recv DATASET`: a new filesystem from the stream on stdin, mounted where it inherits."""
    return ("zfs", "recv", validate_dataset(dataset))


#: the brands each family ships, the default first. illumos: OmniOS's ipkg, lipkg, sparse and pkgsrc
#: (zones.md §1.2, §4), illumos-gate's solaris10 (§3a) and lx and bhyve (usr/src/lib/brand), SmartOS's
#: joyent, joyent-minimal and kvm (§1.2). Oracle Solaris 11: solaris, solaris10, solaris-kz (§1.2, §3a).
#: Solaris 10: native, solaris8, solaris9 (§1.2, §3). A brand not listed may still exist on a host (the
#: brands its zones use are offered too); one listed only for another family does not.
BRANDS: dict[Layout, tuple[str, ...]] = {
    Layout.ILLUMOS: ("lipkg", "sparse", "ipkg", "pkgsrc", "solaris10", "lx", "bhyve", "joyent", "joyent-minimal",
                     "kvm"),
    Layout.SOLARIS11: ("solaris", "solaris10", "solaris-kz"),
    Layout.SOLARIS10: ("native", "solaris8", "solaris9"),
}
#: brands whose global zone is not a zone brand (SmartOS's live image)
_NOT_ZONE_BRANDS = frozenset({"liveimg"})


def host_brands(layout: Layout | None, zones: tuple[Domain, ...] | list[Domain]) -> tuple[str, ...]:
    """The brands a host offers for a new zone: its family's (`BRANDS`), then any other brand its zones
    use."""
    known = list(BRANDS.get(layout, ())) if layout is not None else []
    for zone in zones:
        brand = dict(zone.extra).get("brand", "")
        if brand and brand not in known and brand not in _NOT_ZONE_BRANDS and _BRAND.fullmatch(brand):
            known.append(brand)
    return tuple(known)


def brand_refused(brand: str, layout: Layout | None, zones: tuple[Domain, ...] | list[Domain],
                  host: str) -> str | None:
    """Why a host cannot take a zone of ``brand`` (None when it can, or when nothing says it cannot): a
    brand its zones use is there; a brand that only another family ships is not."""
    if brand in host_brands(layout, zones):
        return None
    others = [family for family, names in BRANDS.items() if family is not layout and brand in names]
    if layout is not None and others:
        return (f"{host} is a {_FAMILY[layout]} global zone: the {brand} brand is "
                f"{' and '.join(_FAMILY[f] for f in others)}'s")
    return None


_FAMILY = {Layout.ILLUMOS: "illumos", Layout.SOLARIS11: "Oracle Solaris 11", Layout.SOLARIS10: "Solaris 10"}


def family(layout: Layout) -> str:
    return _FAMILY[layout]


# --- creating, cloning, moving between hosts --------------------------------------------------------------

#: seconds. An install or an update on attach lays down packages; a clone may copy a whole zonepath; a
#: zone's own shutdown waits for its services. The transfer of a zonepath between hosts has no limit.
INSTALL_TIMEOUT = 3 * 3600.0
CLONE_TIMEOUT = 2 * 3600.0
ATTACH_TIMEOUT = 3 * 3600.0
SHUTDOWN_TIMEOUT = 900.0
UNINSTALL_TIMEOUT = 1800.0


def _configure_step(description: str, zone: str, lines: tuple[str, ...] | list[str], *, host: str = "") -> Step:
    """`zonecfg -z ZONE -f -` with the script on standard input (shown in the plan, kept in the audit log),
    undone by deleting the configuration again (see `configure_stdin`)."""
    if not lines:
        raise ValidationError("an empty zonecfg script")
    for line in lines:
        check_text(line, "zonecfg command")
    return Step(description, Operation.command(*configure_stdin(zone)), Operation.command(*delete(zone)),
                host=host, input="".join(f"{line}\n" for line in lines))


@dataclass(frozen=True, slots=True)
class Receive:
    """A zonepath's data piped from another host of the inventory: ``zfs send SNAPSHOT`` on ``host`` into
    ``zfs recv DATASET`` on the zone's host, through hvdeck's connections to both (a p2v image prepared
    on the old system's host, or a zonepath)."""

    host: str
    snapshot: str
    dataset: str


def create_plan(host: str, zone: NewZone, *, install_zone: bool = True, boot_zone: bool = True,
                archive: str | None = None, image: str | None = None, identity: str | None = None,
                verbosity: str | None = None, receive: Receive | None = None,
                checks: tuple[Check, ...] = ()) -> Plan:
    """A new zone: configure it (the zonecfg script on standard input), install it (plainly, or p2v from
    ``archive`` / ``image``, §3a; with ``receive``, the image is first piped into the zonepath's dataset
    with zfs send and receive, then installed with `-d -`) and boot it. Each step carries its undo:
    delete the configuration, destroy the received dataset, uninstall, halt."""
    name = validate_name(zone.name)
    if zone.attach_path is not None:
        raise ValidationError("a detached zonepath is attached with attach_plan, not installed")
    if receive is not None:
        if archive is not None or image not in (None, "-"):
            raise ValidationError("an image received with zfs send is installed from the zonepath (-d -) alone")
        image = "-"
    lines = zonecfg_lines(zone)
    steps = [_configure_step(f"Configure {name}" + (f" at {zone.zonepath}" if zone.zonepath else ""), name, lines)]
    if receive is not None:
        source = validate_full_snapshot(receive.snapshot)
        dataset = validate_dataset(receive.dataset)
        steps.append(Step(f"Copy {source} from {receive.host} into {dataset} (zfs send | zfs recv)",
                          Operation.pipe(receive.host, zfs_send(source), host, zfs_receive(dataset)),
                          Operation.command(*zfs_destroy(dataset, recursive=True)), host=host, timeout=None))
    p2v = archive is not None or image is not None
    if install_zone or p2v:
        source_text = f" from {archive}" if archive else " from the image in its zonepath" if image == "-" else \
            f" from the image {image}" if image else ""
        steps.append(Step(f"Install {name}{source_text}",
                          Operation.command(*install(name, archive=archive, image=image, identity=identity,
                                                     verbosity=verbosity)),
                          Operation.command(*uninstall(name)), timeout=INSTALL_TIMEOUT))
        if boot_zone:
            steps.append(_step(f"Boot {name}", boot(name), undo=halt(name)))
    elif boot_zone:
        raise ValidationError("a zone must be installed before it boots")
    warning = ""
    if p2v:
        warning = ("The physical system's image is installed into the zone and brought in line with this "
                   "global zone, as attach -u does (§3a); "
                   + ("it gets a new identity (sys-unconfig)." if identity == "unconfigure"
                      else "it keeps the physical system's identity." if identity == "preserve" else ""))
    return Plan(title=f"Create zone {name} on {host}", host=host, action="create", target=name,
                steps=tuple(steps), warning=warning.strip(), checks=checks)


def clone_plan(host: str, source: Domain, name: str, zonepath: str, *, snapshot: str | None = None,
               copy: bool = False, boot_zone: bool = False, stop_source: str | None = None,
               checks: tuple[Check, ...] = ()) -> Plan:
    """A new zone from a halted one: `zonecfg -z NEW -f -` with `create -t SRC` and `set zonepath=PATH`
    (SRC's configuration under a zonepath of its own), `zoneadm -z NEW clone [-m copy] [-s SNAPSHOT] SRC`,
    and optionally boot NEW. zoneadm needs SRC halted for the whole clone (zoneadm.8): a running source is
    refused unless ``stop_source`` ("shutdown" or "halt") stops it first, and it is booted again after."""
    new = validate_name(name, "new zone name")
    src = validate_name(source.name, "source zone")
    if new == src:
        raise ValidationError(f"{new} cannot be cloned from itself")
    path = validate_zonepath(zonepath)
    running = source.native_state == "running"
    if source.native_state != "installed" and not (running and stop_source is not None):
        raise ValidationError(f"{src} is {source.native_state}: zoneadm clone needs the source halted "
                              "(installed); shut it down first")
    if stop_source not in (None, "shutdown", "halt"):
        raise ValidationError(f"stop {stop_source!r}: shutdown or halt")
    old_path = _zonepath(source)
    if old_path and zonepath_conflict(path, [source]) is not None:
        raise ValidationError(f"{path} overlaps {src}'s zonepath {old_path}")
    steps: list[Step] = []
    if running:
        steps.append(Step(f"Shut {src} down: zoneadm clone needs it halted", Operation.command(*shutdown(src)),
                          Operation.command(*boot(src)), timeout=SHUTDOWN_TIMEOUT) if stop_source == "shutdown" else
                     _step(f"Halt {src}: zoneadm clone needs it halted", halt(src), undo=boot(src)))
    lines = (f"create -t {zonecfg_value(src)}", f"set zonepath={path}")
    steps.append(_configure_step(f"Configure {new} as a copy of {src}'s configuration, at {path}", new, lines))
    steps.append(Step(f"Clone {src} into {new}" + (f" from the snapshot {snapshot}" if snapshot else "")
                      + (" (a full copy)" if copy else ""),
                      Operation.command(*clone(new, src, snapshot=snapshot, copy=copy)),
                      Operation.command(*uninstall(new)), timeout=CLONE_TIMEOUT))
    if running:
        steps.append(_step(f"Boot {src} again", boot(src)))
    if boot_zone:
        steps.append(_step(f"Boot {new}", boot(new), undo=halt(new)))
    warning = (f"zoneadm clone needs {src} halted: " +
               (f"{src} is running; it is {'shut down' if stop_source == 'shutdown' else 'halted'} first and "
                "booted again when the clone is done. " if running else "keep it halted until the clone is done. ")
               + f"{new} starts with {src}'s network settings; change any fixed address before both run.")
    return Plan(title=f"Clone {src} into {new} on {host}", host=host, action="clone", target=new,
                steps=tuple(steps), warning=warning, checks=checks)


def detach_plan(domain: Domain) -> Plan:
    """The source side of a cold move between hosts: shut the zone down if it runs (zoneadm detach needs
    it halted; a clean shutdown rather than halt, so its services stop properly), then detach it. It stays
    configured here; the zonepath's data can then be moved."""
    name = validate_name(domain.name)
    if domain.native_state not in ("running", "installed"):
        raise ValidationError(_state_hint(domain))
    steps = []
    if domain.native_state == "running":
        steps.append(Step(f"Shut {name} down", Operation.command(*shutdown(name)), Operation.command(*boot(name)),
                          timeout=SHUTDOWN_TIMEOUT))
    steps.append(_step(f"Detach {name}", detach(name), undo=attach(name)))
    return Plan(title=f"Detach {name} on {domain.host}", host=domain.host, action="detach", target=name,
                steps=tuple(steps), warning=f"{name} stays configured and halted here until it is attached again.")


def _attach_steps(zone: str, path: str, *, update: str | None, backout: tuple[str, ...], force: bool,
                  boot_zone: bool, host: str = "") -> list[Step]:
    argv = attach(zone, update=update, backout=backout, force=force)
    steps = [_configure_step(f"Configure {zone} from the detached zonepath {path}", zone,
                             (f"create -a {zonecfg_value(path)}",), host=host),
             Step(f"Attach {zone}" + (" (-u: its packages updated to this host)" if update == "u" else
                                      " (-U: every package updated)" if update == "U" else
                                      " without validation (-F)" if force else ""),
                  Operation.command(*argv), Operation.command(*detach(zone)), host=host, timeout=ATTACH_TIMEOUT)]
    if boot_zone:
        steps.append(Step(f"Boot {zone}", Operation.command(*boot(zone)), Operation.command(*halt(zone)), host=host))
    return steps


def attach_plan(host: str, name: str, zonepath: str, *, update: str | None = "u",
                backout: tuple[str, ...] = (), force: bool = False, boot_zone: bool = True) -> Plan:
    """The target side of a cold move: `zonecfg -z Z -f -` with `create -a PATH` (the configuration read
    from the detached zonepath), `zoneadm -z Z attach -u` (or -U, -b PATCH..., -F) and boot. A failed
    attach deletes the configuration again, leaving the target as it was."""
    zone = validate_name(name)
    path = validate_zonepath(zonepath)
    steps = _attach_steps(zone, path, update=update, backout=backout, force=force, boot_zone=boot_zone)
    warning = ("Update on attach changes the zone's packages to match this host; it cannot be undone "
               "by detaching." if update else "")
    return Plan(title=f"Attach {zone} on {host}", host=host, action="attach", target=zone, steps=tuple(steps),
                warning=warning)


@dataclass(frozen=True, slots=True)
class Move:
    """How a zone goes to another host (`move_plan`).

    ``target`` is the other host's inventory name and ``zonepath`` the zone's zonepath there. ``storage``
    "zfs" sends the zonepath's filesystem ``source_dataset`` (snapshot ``@snapshot_tag``) into
    ``target_dataset`` on the target; "shared" means the zonepath is on storage both hosts see at the same
    path, and nothing is copied. ``update`` "u" (attach -u), "U" (-U) or None, ``backout`` patch ids
    (-b); ``stop`` "shutdown" or "halt" for a running zone; ``source_after`` "keep" (the zone stays
    configured, detached, on the source), "delete" (its configuration is deleted there; the data stays)
    or "destroy" (and the source's zonepath filesystem is destroyed)."""

    target: str
    zonepath: str
    storage: str = "zfs"
    source_dataset: str | None = None
    target_dataset: str | None = None
    snapshot_tag: str = "hvdeck-move"
    update: str | None = "u"
    backout: tuple[str, ...] = ()
    stop: str = "shutdown"
    boot: bool = True
    source_after: str = "delete"


def move_plan(domain: Domain, move: Move, *, checks: tuple[Check, ...] = ()) -> Plan:
    """A cold move of ``domain`` to another host (zones.md §3, zoneadm.8's migration): stop it, `zoneadm
    detach`, move the zonepath's data (a snapshot piped `zfs send | zfs recv` between the two hosts'
    connections, or nothing on shared storage), `zonecfg -z Z create -a PATH` and `zoneadm attach -u` on
    the target, boot it there, and delete (or keep) what is left on the source.

    Every step up to the target's attach is undone in reverse by the offered undo plan: the target's
    configuration deleted, its received filesystem destroyed, the snapshot destroyed, and the zone attached
    again on the source. A failed move therefore leaves the zone installed and halted on its source (a
    running zone is not booted again: the operator decides)."""
    name = validate_name(domain.name)
    source = domain.host
    target = move.target
    if target == source:
        raise ValidationError(f"{name} is already on {source}; zoneadm move changes a zonepath on one host")
    if domain.native_state not in ("running", "installed"):
        raise ValidationError(_state_hint(domain))
    old_path = _zonepath(domain)
    if not old_path:
        raise ValidationError(f"{name}'s zonepath is not known")
    path = validate_zonepath(move.zonepath)
    if move.storage not in ("zfs", "shared"):
        raise ValidationError(f"storage {move.storage!r}: zfs (send and receive) or shared")
    if move.storage == "shared" and path.rstrip("/") != old_path.rstrip("/"):
        raise ValidationError(f"on shared storage the zonepath stays {old_path}")
    if move.stop not in ("shutdown", "halt"):
        raise ValidationError(f"stop {move.stop!r}: shutdown or halt")
    if move.source_after not in ("keep", "delete", "destroy"):
        raise ValidationError(f"afterwards {move.source_after!r}: keep, delete or destroy")
    if move.source_after == "destroy" and move.storage == "shared":
        raise ValidationError("on shared storage the target uses the same data: it cannot be destroyed")
    steps: list[Step] = []
    if domain.native_state == "running":
        if move.stop == "shutdown":
            steps.append(Step(f"Shut {name} down on {source}", Operation.command(*shutdown(name)),
                              timeout=SHUTDOWN_TIMEOUT))
        else:
            steps.append(_step(f"Halt {name} on {source}", halt(name)))
    steps.append(_step(f"Detach {name} on {source}: it stays configured there, its zonepath can move",
                       detach(name), undo=attach(name)))
    if move.storage == "zfs":
        if not move.source_dataset or not move.target_dataset:
            raise ValidationError("a move with zfs send needs the source and the target filesystems")
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", move.snapshot_tag):
            raise ValidationError(f"snapshot name {move.snapshot_tag!r}: letters, digits and _ . : -")
        snapshot = f"{validate_dataset(move.source_dataset)}@{move.snapshot_tag}"
        received = validate_dataset(move.target_dataset)
        steps.append(_step(f"Snapshot {name}'s zonepath on {source}", zfs_snapshot(snapshot),
                           undo=zfs_destroy(snapshot)))
        steps.append(Step(f"Copy {snapshot} from {source} into {received} on {target} (zfs send | zfs recv)",
                          Operation.pipe(source, zfs_send(snapshot), target, zfs_receive(received)),
                          Operation.command(*zfs_destroy(received, recursive=True)), host=target, timeout=None))
    steps += _attach_steps(name, path, update=move.update, backout=move.backout, force=False, boot_zone=move.boot,
                           host=target)
    if move.source_after in ("delete", "destroy"):
        steps.append(Step(f"Delete {name}'s configuration on {source}", Operation.command(*delete(name))))
    if move.source_after == "destroy":
        assert move.source_dataset is not None
        steps.append(Step(f"Destroy {move.source_dataset} on {source}: the zone's old data",
                          Operation.command(*zfs_destroy(move.source_dataset, recursive=True))))
    warning = (f"{name} is stopped for the whole move" + (" (halted, without its shutdown scripts)"
                                                          if move.stop == "halt" and domain.native_state == "running"
                                                          else "") + ". "
               + ("Update on attach changes its packages to match " + target + "; " if move.update else "")
               + f"if a step fails, the offered undo attaches it again on {source}, halted.")
    if move.source_after == "destroy":
        warning += f" Its data on {source} is destroyed at the end. Type the zone name to confirm."
    return Plan(title=f"Move {name} from {source} to {target}", host=source, action="migrate", target=name,
                steps=tuple(steps), warning=warning, checks=checks,
                confirm_phrase=name if move.source_after == "destroy" else None)


# --- pre-flight checks (read-only, run again just before Run is offered) ---------------------------------


def _guarded(parser: Callable[[Result], str | None], what: str) -> Callable[[Result], str | None]:
    """A check's parser that turns unreadable output into a failed check (never an exception)."""

    def run(result: Result) -> str | None:
        if not result.ok:
            return None  # the executor reports the command's own failure
        try:
            return parser(result)
        except ParseError as exc:
            return f"{what}: {exc.message}"

    return run


def check_answers(host: str) -> Check:
    return Check(f"{host} answers", Operation.command(*UNAME), host=host)


def check_zone_free(host: str, name: str, zonepath: str) -> Check:
    """``name`` is not configured on ``host`` and no zone there has a zonepath in, at or around ``zonepath``."""

    def parser(result: Result) -> str | None:
        zones = parse.parse_list_p(result.stdout, host)
        if any(zone.name == name for zone in zones):
            return f"a zone named {name} is already configured on {host}"
        return zonepath_conflict(zonepath, zones)

    return Check(f"{name} and {zonepath} are free on {host}", Operation.command(*LIST), host=host,
                 parser=_guarded(parser, "zoneadm list -cp"))


def check_filesystem(host: str, parent: str, dataset: str | None, need: int | None = None) -> Check:
    """``parent`` (a ZFS filesystem) exists on ``host``, ``dataset`` (the one to be made) does not, and
    ``need`` bytes are free."""

    def parser(result: Result) -> str | None:
        found = {fs.name: fs for fs in parse.parse_zfs_filesystems(result.stdout)}
        if parent not in found:
            return f"{host} has no ZFS filesystem {parent}"
        if dataset is not None and dataset in found:
            return f"{dataset} already exists on {host}"
        avail = found[parent].avail
        if need is not None and avail is not None and avail < need:
            return f"{parent} on {host} has {format_bytes(avail)} free; {format_bytes(need)} are needed"
        return None

    return Check(f"{parent} on {host} has room" + (f" for {dataset}" if dataset else ""),
                 Operation.command(*ZFS_FILESYSTEMS), host=host, parser=_guarded(parser, "zfs list"))


def check_snapshot(host: str, snapshot: str) -> Check:
    return Check(f"{snapshot} exists on {host}", Operation.command(*zfs_snapshot_exists(snapshot)), host=host)


def decided(description: str, reason: str | None, host: str = "") -> Check:
    """A check decided when the plan was built: passed when ``reason`` is None."""
    return Check(description, host=host, passed=reason is None, reason=reason or "")


def format_bytes(n: int) -> str:
    """1.5G, 640M: binary units, one decimal below 10."""
    value = float(n)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if value < 1024 or unit == "P":
            return f"{value:.1f}{unit}" if unit != "B" and value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    return f"{n}B"  # pragma: no cover
