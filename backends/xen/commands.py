"""Pure Xen intent: name rules, the argv of every `xl`/`xm`/`xentop`/`virsh` command hvdeck runs on a dom0,
and the domain config file it writes for `create`. No I/O.

Every command is an argv tuple; nothing user- or host-supplied is put into a shell string. Names and paths
are checked here, before any Plan exists. Sources: shared/formats/xen.md (§), xvm.md, and the Xen tree
(xen-project/xen at c447b73; RELEASE-4.1.0 for xm and the oldest xl) for what those documents leave out:
docs/man/xl.1.pod.in, docs/man/xl.cfg.5.pod.in, docs/man/xl-disk-configuration.5.pod.in,
docs/man/xl-network-configuration.5.pod.in, tools/xl/*.c, tools/libs/light/*.c, tools/python/xen/xm/main.py.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ValidationError

XENTOP = "xentop"
VIRSH = "virsh"
VDISKADM = "vdiskadm"
DOM0 = "Domain-0"
#: where xl.cfg(5) says domain config files typically live (`/etc/xen/DOMAIN.cfg`)
CONFIG_DIR = "/etc/xen"


class Toolstack(str, enum.Enum):
    """Which command drives the dom0: `xl` (libxl, Xen >= 4.1) or `xm` (xend, Xen <= 4.4; also Sun xVM)."""

    XL = "xl"
    XM = "xm"


# --- names and values -------------------------------------------------------------------------------------

# xend (RELEASE-4.1.0 tools/python/xen/xend/XendDomainInfo.py, _checkName): "Valid names contain alphabetic
# characters, digits, or characters in '_-.:+'", i.e. ^[A-Za-z0-9_\-\.\:\+]+$.
_XEND_NAME = re.compile(r"[A-Za-z0-9_.:+-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"[0-9]+")  # libxl tests each character with isdigit() in the C locale
#: the suffix xl gives the source domain while it migrates away (tools/xl/xl_migrate.c, §5)
MIGRATING_SUFFIX = "--migratedaway"


def validate_name(name: str, toolstack: Toolstack = Toolstack.XL, what: str = "domain name") -> str:
    """The name of an existing domain, safe as a command argument.

    xl: libxl puts no rule on names beyond non-empty and unique (tools/libs/light/libxl_domain.c,
    libxl__domain_rename), so names with spaces exist (§1.5) and are accepted. Refused: control characters,
    a leading `-` (it would read as an option), and a name of digits only, which xl reads as a domain id
    (libxl_domain_qualifier_to_domid in tools/libs/light/libxl_utils.c). xm: xend's own rule (_checkName)."""
    if not isinstance(name, str) or not name:
        raise ValidationError(f"{what}: empty")
    if _CONTROL.search(name):
        raise ValidationError(f"{what} {name!r}: control characters are not allowed")
    if name.startswith("-"):
        raise ValidationError(f"{what} {name!r}: must not start with '-' (it would read as an option)")
    if _DIGITS.fullmatch(name):
        raise ValidationError(f"{what} {name!r}: digits only would be read as a domain id")
    if toolstack is Toolstack.XM and not _XEND_NAME.fullmatch(name):
        raise ValidationError(f"{what} {name!r}: xend accepts letters, digits and '_-.:+' only")
    return name


def validate_new_name(name: str) -> str:
    """A name for a new guest that every toolstack accepts: xend's rule (letters, digits, `_-.:+`), none of
    xl's exceptions above, not `Domain-0`, and not ending in xl's `--migratedaway` (a guest so named would
    look like a migration in progress)."""
    if isinstance(name, str) and name and not _CONTROL.search(name) and not _XEND_NAME.fullmatch(name):
        raise ValidationError(f"domain name {name!r}: a new guest's name takes letters, digits and '_-.:+' only "
                              "(so that xl and xend both accept it)")
    validate_name(name, Toolstack.XM)
    if name == DOM0:
        raise ValidationError(f"domain name {name!r} is the control domain's")
    if name.endswith(MIGRATING_SUFFIX):
        raise ValidationError(f"domain name {name!r}: the suffix {MIGRATING_SUFFIX} is xl's mark of a migration")
    return name


_PATH_UNSAFE = re.compile(r"[\x00-\x1f\x7f'\"\\,:]")


def validate_path(path: str, what: str = "path") -> str:
    """An absolute path on the dom0 that is safe as an argument and inside a quoted xl.cfg string or
    DISKSPEC: no quotes or backslashes (xl.cfg string syntax, tools/libs/util/libxlu_cfg_l.l), no `,` or `:`
    (DISKSPEC separators, xl-disk-configuration(5)), no control characters. `xl create` wants an absolute
    config path (xl(1))."""
    if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):
        raise ValidationError(f"{what} {path!r}: use an absolute path to a file or device")
    if _PATH_UNSAFE.search(path):
        raise ValidationError(f"{what} {path!r}: quotes, backslashes, ',' ':' and control characters are not "
                              "allowed")
    return path


# `xl migrate` runs `exec ssh HOST xl migrate-receive` through `sh -c` (tools/xl/xl_migrate.c main_migrate),
# so HOST reaches a shell unquoted: only a host name, IPv4 or IPv6 address, optionally `user@`, passes.
_HOST = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}@)?(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?"
                   r"|[0-9A-Fa-f:.]{2,45})")


def validate_host(host: str) -> str:
    """A migration target as `xl migrate` / `xm migrate` take it (see _HOST)."""
    if not isinstance(host, str) or not _HOST.fullmatch(host) or host.startswith("-"):
        raise ValidationError(f"target host {host!r}: use a host name or address (optionally user@host)")
    return host


_MAC = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")


def validate_mac(mac: str) -> str:
    """Six colon-separated hex pairs (xl-network-configuration(5) `mac`), unicast (multicast bit clear)."""
    if not isinstance(mac, str) or not _MAC.fullmatch(mac):
        raise ValidationError(f"MAC address {mac!r}: write six hex pairs, e.g. 00:16:3e:12:34:56")
    if int(mac[:2], 16) & 1:
        raise ValidationError(f"MAC address {mac!r} is a multicast address")
    return mac.lower()


_BRIDGE = re.compile(r"[A-Za-z0-9_.-]{1,31}")


def validate_bridge(bridge: str) -> str:
    """A bridge (Linux dom0) or NIC (xVM) name for a vif: letters, digits, `_.-`, so it cannot break the
    comma-separated vifspec (xl-network-configuration(5)) or the quoted config string."""
    if not isinstance(bridge, str) or not _BRIDGE.fullmatch(bridge):
        raise ValidationError(f"bridge {bridge!r}: use letters, digits, '_', '.' or '-' (at most 31)")
    return bridge


def _whole(value: int | str, what: str, low: int, high: int | None) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"{what} {value!r} is not a whole number")
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]{1,12}", value.strip()):
            raise ValidationError(f"{what} {value!r} is not a whole number")
        value = int(value)
    if not isinstance(value, int):
        raise ValidationError(f"{what} {value!r} is not a whole number")
    if value < low or (high is not None and value > high):
        bound = f"{low}-{high}" if high is not None else f"at least {low}"
        raise ValidationError(f"{what} {value} is outside {bound}")
    return value


#: credit scheduler weight bounds. xvm.md (Sun's guide) says 1..65536, but both toolstacks refuse 65536:
#: libxl "Cpu weight out of range, valid values are within range from 1 to 65535"
#: (tools/libs/light/libxl_sched.c sched_credit_domain_set), xend the same (RELEASE-4.1.0 XendDomain.py
#: domain_sched_credit_set), xl(1) "Legal weights range from 1 to 65535", and the hypercall field is a
#: uint16_t (xen/include/public/domctl.h xen_domctl_sched_credit).
WEIGHT_MIN, WEIGHT_MAX = 1, 65535
WEIGHT_DEFAULT = 256


def validate_weight(weight: int | str) -> int:
    return _whole(weight, "weight", WEIGHT_MIN, WEIGHT_MAX)


def validate_cap(cap: int | str, vcpus: int | None = None) -> int:
    """Cap in % of one physical CPU, 0 = no cap (xvm.md, xl(1)). Both toolstacks refuse more than
    100 x the domain's vCPUs (libxl_sched.c, XendDomain.py); without the count, the uint16_t field's 65535."""
    high = 100 * vcpus if vcpus else 65535
    return _whole(cap, "cap", 0, high)


def validate_interval(seconds: int | str) -> int:
    """xentop's `-d` delay: whole seconds (xentop.c parses it with atoi), 1 to 3600 (an hour is already no
    longer a live view)."""
    return _whole(seconds, "interval", 1, 3600)


def validate_vcpus(count: int | str, maximum: int | None = None) -> int:
    return _whole(count, "vCPU count", 1, maximum)


def validate_memory_mib(mib: int | str, what: str = "memory (MiB)") -> int:
    return _whole(mib, what, 1, None)


# --- read-only commands -----------------------------------------------------------------------------------


def info(toolstack: Toolstack) -> tuple[str, ...]:
    """`xl info` / `xm info` (§4): host, version, CPUs, memory, scheduler."""
    return (toolstack.value, "info")


def list_domains(toolstack: Toolstack, *, uuids: bool = False) -> tuple[str, ...]:
    """`xl list` (§2.1; `-v` adds UUIDs) or `xm list` (§3; xm has no UUID column)."""
    if uuids and toolstack is Toolstack.XL:
        return ("xl", "list", "-v")
    return (toolstack.value, "list")


def list_long(domain: str | None = None) -> tuple[str, ...]:
    """`xl list -l [DOMAIN]` (§2.3): JSON config of running domains. xm's `--long` prints SXP, not parsed."""
    return ("xl", "list", "-l") if domain is None else ("xl", "list", "-l", validate_name(domain))


def block_list(toolstack: Toolstack, domain: str) -> tuple[str, ...]:
    return (toolstack.value, "block-list", validate_name(domain, toolstack))


def network_list(toolstack: Toolstack, domain: str) -> tuple[str, ...]:
    return (toolstack.value, "network-list", validate_name(domain, toolstack))


def vcpu_list(toolstack: Toolstack, domain: str | None = None) -> tuple[str, ...]:
    argv = (toolstack.value, "vcpu-list")
    return argv if domain is None else (*argv, validate_name(domain, toolstack))


def sched_credit(toolstack: Toolstack, domain: str | None = None) -> tuple[str, ...]:
    """Show credit scheduler parameters: every domain, or one (`-d DOMAIN`, xl(1) and xvm.md)."""
    argv = (toolstack.value, "sched-credit")
    return argv if domain is None else (*argv, "-d", validate_name(domain, toolstack))


def xentop(interval: int | str = 1, *, iterations: int | None = None, full_names: bool = False) -> tuple[str, ...]:
    """`xentop -b -d SECONDS [-i N] [-f]` (§1.1): batch mode, one frame every SECONDS, forever unless `-i`.
    `-f` (full names, Xen >= 4.0; every xl dom0 has it, Xen 3.x xVM dom0s do not) stops the cut to 10
    characters. Never `-r`: a header before every domain would make every row a frame of its own."""
    argv = [XENTOP, "-b", "-d", str(validate_interval(interval))]
    if iterations is not None:
        argv += ["-i", str(_whole(iterations, "iterations", 1, None))]
    if full_names:
        argv.append("-f")
    return tuple(argv)


def virsh_list() -> tuple[str, ...]:
    """xVM: `virsh list --all` (libvirt.md §2.1), running and defined domains."""
    return (VIRSH, "list", "--all")


def virsh_dominfo(domain: str) -> tuple[str, ...]:
    return (VIRSH, "dominfo", validate_name(domain, Toolstack.XM))


def vdiskadm_list(path: str) -> tuple[str, ...]:
    """xVM: `vdiskadm list PATH/VDNAME`, the vdisk's snapshots and the live disk (xvm.md)."""
    return (VDISKADM, "list", validate_path(path, "vdisk"))


# --- lifecycle --------------------------------------------------------------------------------------------


def config_path(name: str) -> str:
    """Where a new guest's config file goes: `/etc/xen/NAME.cfg` (xl.cfg(5) SYNOPSIS and DESCRIPTION)."""
    return f"{CONFIG_DIR}/{validate_new_name(name)}.cfg"


def write_config(path: str) -> tuple[str, ...]:
    """Write a config file from the step's stdin: `tee PATH` (its echo on stdout is discarded).

    `xl create` cannot read a config from stdin: `-` is an ordinary file name and libxl_read_file_contents
    (tools/libs/light/libxl_utils.c) refuses anything but a regular file ("is not a plain file"), so
    `/dev/stdin` on a pipe fails too; only `/dev/null` is special (config from key=value arguments, since
    4.4). The config is therefore written to a file first, then created from it."""
    return ("tee", validate_path(path, "config file"))


def create(toolstack: Toolstack, path: str) -> tuple[str, ...]:
    """`xl create PATH` / `xm create PATH`: start a domain from its config file (absolute path, xl(1))."""
    return (toolstack.value, "create", validate_path(path, "config file"))


def _domain_command(toolstack: Toolstack, verb: str, domain: str) -> tuple[str, ...]:
    return (toolstack.value, verb, validate_name(domain, toolstack))


def shutdown(toolstack: Toolstack, domain: str) -> tuple[str, ...]:
    """Ask the guest OS to shut down (returns at once; the domain goes `s`, then away)."""
    return _domain_command(toolstack, "shutdown", domain)


def reboot(toolstack: Toolstack, domain: str) -> tuple[str, ...]:
    return _domain_command(toolstack, "reboot", domain)


def destroy(toolstack: Toolstack, domain: str) -> tuple[str, ...]:
    """Stop the domain at once, like pulling the power cord."""
    return _domain_command(toolstack, "destroy", domain)


def pause(toolstack: Toolstack, domain: str) -> tuple[str, ...]:
    return _domain_command(toolstack, "pause", domain)


def unpause(toolstack: Toolstack, domain: str) -> tuple[str, ...]:
    return _domain_command(toolstack, "unpause", domain)


def console(toolstack: Toolstack, domain: str) -> tuple[str, ...]:
    """`xl console DOMAIN` (§6; escape `^]`) / `xm console DOMAIN`. Needs a PTY."""
    return _domain_command(toolstack, "console", domain)


def save(toolstack: Toolstack, domain: str, path: str) -> tuple[str, ...]:
    """`save DOMAIN FILE`: write the domain's memory to FILE and stop it (xl(1) `save`)."""
    return (toolstack.value, "save", validate_name(domain, toolstack), validate_path(path, "save file"))


def restore(toolstack: Toolstack, path: str) -> tuple[str, ...]:
    return (toolstack.value, "restore", validate_path(path, "save file"))


def vcpu_set(toolstack: Toolstack, domain: str, count: int | str, *, maximum: int | None = None) -> tuple[str, ...]:
    """`vcpu-set DOMAIN N`: bring N vCPUs online (at most the domain's maxvcpus)."""
    return (toolstack.value, "vcpu-set", validate_name(domain, toolstack), str(validate_vcpus(count, maximum)))


def mem_set(toolstack: Toolstack, domain: str, mib: int | str) -> tuple[str, ...]:
    """`mem-set DOMAIN NNNm`: the balloon target, always with the `m` unit. A bare number means MiB to xl 4.1
    (parse_mem_size_kb, RELEASE-4.1.0) but KiB to current xl (xl(1) "The default unit is kiB"); xm reads the
    suffix too (int_unit in RELEASE-4.1.0 xm/main.py)."""
    return (toolstack.value, "mem-set", validate_name(domain, toolstack), f"{validate_memory_mib(mib)}m")


def set_sched_credit(toolstack: Toolstack, domain: str, *, weight: int | str | None = None,
                     cap: int | str | None = None, vcpus: int | None = None) -> tuple[str, ...]:
    """`sched-credit -d DOMAIN [-w WEIGHT] [-c CAP]` (xvm.md's example: `-w 500 -c100` for sol1). `-d` takes
    the next argument as its value in both getopt parsers, whatever it looks like. `vcpus`, when known,
    bounds the cap as the toolstacks do."""
    if weight is None and cap is None:
        raise ValidationError("sched-credit: give a weight, a cap or both")
    argv = [toolstack.value, "sched-credit", "-d", validate_name(domain, toolstack)]
    if weight is not None:
        argv += ["-w", str(validate_weight(weight))]
    if cap is not None:
        argv += ["-c", str(validate_cap(cap, vcpus))]
    return tuple(argv)


def migrate(toolstack: Toolstack, domain: str, target: str) -> tuple[str, ...]:
    """Live migration. xl: `xl migrate DOMAIN HOST` (§5; always live, over `ssh HOST xl migrate-receive`,
    progress on stderr). xm: `xm migrate -l DOMAIN HOST` (xvm.md; xend relocation must be allowed on the
    target)."""
    name, host = validate_name(domain, toolstack), validate_host(target)
    if toolstack is Toolstack.XL:
        return ("xl", "migrate", name, host)
    return ("xm", "migrate", "-l", name, host)


def virsh_migrate(domain: str, target: str) -> tuple[str, ...]:
    """xVM: `virsh migrate DOMAIN --live xen:// xenmigr://TARGET` (xvm.md), `--live` first."""
    return (VIRSH, "migrate", "--live", validate_name(domain, Toolstack.XM), "xen://",
            f"xenmigr://{validate_host(target)}")


def ssh_check(target: str) -> tuple[str, ...]:
    """The pre-flight of `xl migrate`: can the source dom0 reach ``target`` over SSH without a prompt? xl runs
    ``ssh TARGET xl migrate-receive`` itself (xen.md §5), so a key that is not accepted, or a host key that
    asks, would stop the migration half-way. ``BatchMode=yes`` fails instead of asking (ssh_config(5))."""
    return ("ssh", "-o", "BatchMode=yes", validate_host(target), "true")


def start_managed(toolstack: Toolstack, domain: str) -> tuple[str, ...]:
    """`xm start NAME`: start a domain xend manages (listed while shut off, xen.md §3)."""
    if toolstack is not Toolstack.XM:
        raise ValidationError("only xend manages domains that are not running: use a config file with xl")
    return ("xm", "start", validate_name(domain, toolstack))


def new_managed(path: str) -> tuple[str, ...]:
    """`xm new PATH`: hand a config file to xend, which then lists the domain while it is shut off."""
    return ("xm", "new", validate_path(path, "config file"))


def delete_managed(domain: str) -> tuple[str, ...]:
    """`xm delete NAME`: xend forgets a domain that is not running (the undo of `xm new`)."""
    return ("xm", "delete", validate_name(domain, Toolstack.XM))


def virsh_console(domain: str) -> tuple[str, ...]:
    """xVM: `virsh console DOMAIN` (escape `^]`, libvirt.md §1.3)."""
    return (VIRSH, "console", validate_name(domain, Toolstack.XM))


# --- files and storage around guests ------------------------------------------------------------------

#: where hvdeck saves a domain's memory by default (the directory Xen's packages create for it)
SAVE_DIR = "/var/lib/xen/save"
#: what `xl save` / `xm save` files are called here, so that a listing of SAVE_DIR finds them again
SAVE_SUFFIX = ".save"
_LVM_NAME = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}")
_DATASET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}(?:/[A-Za-z0-9_.:-]{1,255}){0,32}")
_SNAPSHOT = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


def save_path(domain: str) -> str:
    return f"{SAVE_DIR}/{validate_new_name(domain)}{SAVE_SUFFIX}"


def list_dir(path: str) -> tuple[str, ...]:
    """`ls DIR`: its names, one a line (not on a terminal)."""
    return ("ls", validate_path(path, "directory"))


def read_file(path: str) -> tuple[str, ...]:
    return ("cat", validate_path(path, "file"))


def remove_file(path: str) -> tuple[str, ...]:
    return ("rm", "-f", validate_path(path, "file"))


def validate_lvm_name(name: str, what: str = "logical volume") -> str:
    """LVM's rule for VG and LV names (lvm(8) VALID NAMES): letters, digits and ``+_.-``, not starting with a
    hyphen, at most 127 characters, not ``.`` or ``..``."""
    if not isinstance(name, str) or not _LVM_NAME.fullmatch(name) or name in (".", ".."):
        raise ValidationError(f"{what} {name!r}: use letters, digits and '+_.-', not starting with '-'")
    return name


def validate_dataset(name: str, what: str = "ZFS dataset") -> str:
    """A ZFS dataset name (zfs(1M) "ZFS file system names"): components of letters, digits and ``_.:-``."""
    if not isinstance(name, str) or not _DATASET.fullmatch(name):
        raise ValidationError(f"{what} {name!r}: use POOL/NAME with letters, digits and '_.:-'")
    return name


def validate_snapshot_name(name: str) -> str:
    if not isinstance(name, str) or not _SNAPSHOT.fullmatch(name) or name.startswith("-"):
        raise ValidationError(f"snapshot name {name!r}: use letters, digits and '_.:-'")
    return name


def _mib(size: int) -> int:
    """Bytes as whole MiB, rounded up (LVM and ZFS round up to their extent or block anyway)."""
    if not isinstance(size, int) or size <= 0:
        raise ValidationError(f"size {size!r}: must be a positive number of bytes")
    return -(-size // MIB)


MIB = 1 << 20
LVM_REPORT = ("--noheadings", "--units", "b", "--nosuffix", "--separator", "|")


def vgs() -> tuple[str, ...]:
    """Volume groups with their size and free space, in bytes (storage.py reads it)."""
    return ("vgs", *LVM_REPORT, "-o", "vg_name,vg_size,vg_free")


def lvs(*volumes: str) -> tuple[str, ...]:
    """Logical volumes (of ``VG`` or ``VG/LV`` each, or all), their size, origin and snapshot use."""
    for volume in volumes:
        vg, _, lv = volume.partition("/")
        validate_lvm_name(vg, "volume group")
        if lv:
            validate_lvm_name(lv)
    return ("lvs", *LVM_REPORT, "-o", "vg_name,lv_name,lv_size,origin,snap_percent", *volumes)


def lvcreate(vg: str, name: str, size: int) -> tuple[str, ...]:
    """`lvcreate -L SIZEm -n NAME VG`: a new logical volume of ``size`` bytes (rounded up to MiB)."""
    return ("lvcreate", "-L", f"{_mib(size)}m", "-n", validate_lvm_name(name), validate_lvm_name(vg, "volume group"))


def lvcreate_snapshot(vg: str, origin: str, name: str, size: int) -> tuple[str, ...]:
    """`lvcreate -s -L SIZEm -n NAME VG/ORIGIN`: a copy-on-write snapshot with ``size`` bytes of change space
    (lvcreate(8)); it becomes unusable once its changes fill that space."""
    return ("lvcreate", "-s", "-L", f"{_mib(size)}m", "-n", validate_lvm_name(name),
            f"{validate_lvm_name(vg, 'volume group')}/{validate_lvm_name(origin)}")


def lvremove(vg: str, name: str) -> tuple[str, ...]:
    """`lvremove -f VG/LV` (no question on stdin)."""
    return ("lvremove", "-f", f"{validate_lvm_name(vg, 'volume group')}/{validate_lvm_name(name)}")


def zfs_list() -> tuple[str, ...]:
    return ("zfs", "list", "-H", "-p", "-o", "name,used,avail,volsize")


def zfs_create_volume(dataset: str, size: int) -> tuple[str, ...]:
    """`zfs create -V SIZE POOL/VOL` (xvm.md: how a zvol for a guest is made)."""
    return ("zfs", "create", "-V", f"{_mib(size)}M", validate_dataset(dataset))


def zfs_snapshot(dataset: str, snapshot: str) -> tuple[str, ...]:
    return ("zfs", "snapshot", f"{validate_dataset(dataset)}@{validate_snapshot_name(snapshot)}")


def zfs_clone(dataset: str, snapshot: str, target: str) -> tuple[str, ...]:
    return ("zfs", "clone", f"{validate_dataset(dataset)}@{validate_snapshot_name(snapshot)}",
            validate_dataset(target))


def zfs_destroy(dataset: str, snapshot: str | None = None) -> tuple[str, ...]:
    name = validate_dataset(dataset) + (f"@{validate_snapshot_name(snapshot)}" if snapshot else "")
    return ("zfs", "destroy", name)


def zvol_path(dataset: str, *, solaris: bool) -> str:
    """The block device of a zvol: ``/dev/zvol/dsk/POOL/VOL`` on Solaris (xvm.md), ``/dev/zvol/POOL/VOL`` on
    Linux (ZFS on Linux's udev rule)."""
    return f"/dev/zvol/{'dsk/' if solaris else ''}{validate_dataset(dataset)}"


def _vdisk_size(size: int) -> str:
    mib = _mib(size)
    return f"{mib // 1024}g" if mib % 1024 == 0 else f"{mib}m"


def vdisk_create(path: str, size: int, vtype: str = "vmdk") -> tuple[str, ...]:
    """`vdiskadm create -s SIZE -t TYPE PATH` (xvm.md; sparse by default)."""
    if vtype not in ("vmdk", "vdi", "vhd", "raw"):
        raise ValidationError(f"vdisk type {vtype!r}: use vmdk, vdi, vhd or raw")
    return (VDISKADM, "create", "-s", _vdisk_size(size), "-t", vtype, validate_path(path, "vdisk"))


def vdisk_snapshot(path: str, snapshot: str) -> tuple[str, ...]:
    """`vdiskadm snapshot PATH@SNAP` (the vdisk must not be in use, xvm.md)."""
    return (VDISKADM, "snapshot", f"{validate_path(path, 'vdisk')}@{validate_snapshot_name(snapshot)}")


def vdisk_clone(path: str, snapshot: str | None, target: str) -> tuple[str, ...]:
    """`vdiskadm clone VDNAME|SNAPSHOT CLONE`: a merged, writable copy (xvm.md)."""
    source = validate_path(path, "vdisk") + (f"@{validate_snapshot_name(snapshot)}" if snapshot else "")
    return (VDISKADM, "clone", source, validate_path(target, "vdisk"))


def vdisk_rollback(path: str, snapshot: str) -> tuple[str, ...]:
    """`vdiskadm rollback -r PATH@SNAP`: drops every later snapshot and the current changes (xvm.md)."""
    return (VDISKADM, "rollback", "-r", f"{validate_path(path, 'vdisk')}@{validate_snapshot_name(snapshot)}")


def vdisk_destroy(path: str, snapshot: str | None = None) -> tuple[str, ...]:
    return (VDISKADM, "destroy", "-r", validate_path(path, "vdisk") +
            (f"@{validate_snapshot_name(snapshot)}" if snapshot else ""))


def virt_install(name: str, ram_mib: int, disk: str, *, hvm: bool, location: str | None = None,
                 cdrom: str | None = None, file_size_gib: int | None = None, mac: str | None = None) -> tuple[str, ...]:
    """xVM: `virt-install` with the options xvm.md shows, in their long ``--opt=VALUE`` forms (so that no value
    reads as an option): ``--name --ram --file`` (a file, a zvol or a vdisk), ``--file-size`` (GB, for a new
    file), ``--location`` (an install tree or ISO) or ``--cdrom``, ``--paravirt`` or ``--hvm`` (with
    ``--vnc``; a PV guest gets ``--nographics``), ``--mac``. ``--noautoconsole`` (not in xvm.md) keeps
    virt-install from attaching to the new guest's console, which a plan step has no terminal for."""
    if (location is None) == (cdrom is None):
        raise ValidationError("virt-install needs an install source: a location or a CD-ROM image, not both")
    argv = [VIRT_INSTALL, "--hvm" if hvm else "--paravirt", "--vnc" if hvm else "--nographics", "--noautoconsole",
            f"--name={validate_new_name(name)}", f"--ram={validate_memory_mib(ram_mib)}",
            f"--file={validate_path(disk, 'disk')}"]
    if file_size_gib is not None:
        argv.append(f"--file-size={_whole(file_size_gib, 'disk size (GB)', 1, None)}")
    if location is not None:
        argv.append(f"--location={validate_install_source(location)}")
    if cdrom is not None:
        argv.append(f"--cdrom={validate_path(cdrom, 'CD-ROM image')}")
    if mac is not None:
        argv.append(f"--mac={validate_mac(mac)}")
    return tuple(argv)


VIRT_INSTALL = "virt-install"
_NFS_SOURCE = re.compile(r"nfs:[A-Za-z0-9.-]{1,253}:/[A-Za-z0-9_./-]{0,1000}")


def validate_install_source(source: str) -> str:
    """An install location: an absolute path (ISO, install tree) or ``nfs:SERVER:/PATH`` (xvm.md)."""
    if isinstance(source, str) and _NFS_SOURCE.fullmatch(source):
        return source
    if isinstance(source, str) and source.startswith("/") and not _PATH_UNSAFE.search(source.replace(":", "")):
        return source
    raise ValidationError(f"install source {source!r}: use an absolute path or nfs:SERVER:/PATH")


# --- the domain config file (xl.cfg(5); also valid for xm, whose config files are Python) -------------------

_VDEV = re.compile(r"(?:xvd|sd)[a-z]{1,3}|hd[a-d]")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CMDLINE_UNSAFE = re.compile(r"[\x00-\x1f\x7f'\\]")
#: ``tap:vdisk`` is Sun xVM's blktap driver for vdiskadm's disks (a vdisk directory)
DISK_KINDS = ("phy", "file", "tap:aio", "tap:vdisk")


@dataclass(frozen=True, slots=True)
class XenDisk:
    """One DISKSPEC in xl-disk-configuration(5)'s deprecated form, `[PREFIX:]TARGET,VDEV,ACCESS`, which xl
    documents as working "compatibly with xend and xl from xen 4.1": `phy:` a block device (LVM volume,
    zvol), `file:` an image file, `tap:aio:` blktap. Access `w` (read-write) or `r`."""

    target: str
    vdev: str = "xvda"
    kind: str = "phy"
    access: str = "w"

    def spec(self) -> str:
        if self.kind not in DISK_KINDS:
            raise ValidationError(f"disk kind {self.kind!r}: use one of {', '.join(DISK_KINDS)}")
        if not _VDEV.fullmatch(self.vdev):
            raise ValidationError(f"virtual device {self.vdev!r}: use xvda, xvdb, ..., hda-hdd or sda, ...")
        if self.access not in ("w", "r"):
            raise ValidationError(f"disk access {self.access!r}: use w or r")
        return f"{self.kind}:{validate_path(self.target, 'disk')},{self.vdev},{self.access}"


@dataclass(frozen=True, slots=True)
class XenVif:
    """One vifspec (xl-network-configuration(5)): `bridge=BRIDGE[,mac=MAC]`; without a MAC, the toolstack
    picks one in Xen's OUI 00:16:3e."""

    bridge: str = "xenbr0"
    mac: str | None = None

    def spec(self) -> str:
        spec = f"bridge={validate_bridge(self.bridge)}"
        return spec if self.mac is None else f"{spec},mac={validate_mac(self.mac)}"


@dataclass(frozen=True, slots=True)
class GuestConfig:
    """A new guest, as a domain config file (xl.cfg(5)).

    Boot: `hvm=True` writes `builder = 'hvm'` (the spelling xl.cfg(5) keeps as deprecated but that xend and
    every xl release read; `type=` is newer than xl 4.1); otherwise a PV guest needs `bootloader` (e.g.
    `pygrub`) or `kernel` (with optional `ramdisk` and `extra`, the kernel command line), as xl.cfg(5) says.
    Memory in MiB (`memory=MBYTES`, `maxmem` at least `memory`); `maxvcpus` at least `vcpus`."""

    name: str
    memory_mib: int
    vcpus: int
    disks: tuple[XenDisk, ...] = ()
    vifs: tuple[XenVif, ...] = ()
    hvm: bool = False
    bootloader: str | None = None
    kernel: str | None = None
    ramdisk: str | None = None
    extra: str | None = None
    maxmem_mib: int | None = None
    maxvcpus: int | None = None
    uuid: str | None = None


def _quoted(value: str, what: str) -> str:
    if _CMDLINE_UNSAFE.search(value):
        raise ValidationError(f"{what} {value!r}: quotes, backslashes and control characters are not allowed")
    return f"'{value}'"


def _list(items: Sequence[str]) -> str:
    return "[ " + ", ".join(f"'{item}'" for item in items) + " ]"


def render_config(config: GuestConfig) -> str:
    """The config file text: one `KEY = VALUE` a line, strings in single quotes, lists as `[ '...', ... ]`
    (xl.cfg(5) SYNTAX). Every value is checked first, so the text is also a valid xm (Python) config."""
    lines = [f"name = '{validate_new_name(config.name)}'"]
    if config.uuid is not None:
        if not _UUID.fullmatch(config.uuid):
            raise ValidationError(f"UUID {config.uuid!r} is not a UUID")
        lines.append(f"uuid = '{config.uuid.lower()}'")
    memory = validate_memory_mib(config.memory_mib)
    lines.append(f"memory = {memory}")
    if config.maxmem_mib is not None:
        lines.append(f"maxmem = {_whole(config.maxmem_mib, 'maxmem (MiB)', memory, None)}")
    vcpus = validate_vcpus(config.vcpus)
    lines.append(f"vcpus = {vcpus}")
    if config.maxvcpus is not None:
        lines.append(f"maxvcpus = {_whole(config.maxvcpus, 'maxvcpus', vcpus, None)}")
    if config.hvm:
        if config.bootloader or config.kernel:
            raise ValidationError("an HVM guest boots from its disks: no bootloader or kernel")
        lines.append("builder = 'hvm'")
    elif config.bootloader is not None:
        if config.kernel is not None:
            raise ValidationError("give a bootloader or a kernel, not both")
        lines.append(f"bootloader = {_quoted(config.bootloader, 'bootloader')}")
    elif config.kernel is not None:
        lines.append(f"kernel = '{validate_path(config.kernel, 'kernel')}'")
        if config.ramdisk is not None:
            lines.append(f"ramdisk = '{validate_path(config.ramdisk, 'ramdisk')}'")
        if config.extra is not None:
            lines.append(f"extra = {_quoted(config.extra, 'kernel command line')}")
    else:
        raise ValidationError("a PV guest needs a bootloader (e.g. pygrub) or a kernel; or make it HVM")
    if (config.ramdisk is not None or config.extra is not None) and config.kernel is None:
        raise ValidationError("a ramdisk or kernel command line needs a kernel")
    vdevs = [disk.vdev for disk in config.disks]
    if len(set(vdevs)) != len(vdevs):
        raise ValidationError(f"two disks on the same virtual device: {', '.join(vdevs)}")
    if config.disks:
        lines.append(f"disk = {_list([disk.spec() for disk in config.disks])}")
    if config.vifs:
        lines.append(f"vif = {_list([vif.spec() for vif in config.vifs])}")
    return "\n".join(lines) + "\n"
