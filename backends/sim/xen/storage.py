"""Guest storage on the simulated dom0: LVM volume groups (xl and xm dom0s), a ZFS pool and vdisks (xVM).

LVM follows LVM2's own source (github lvmteam/lvm2; RECONSTRUCTED: xen.md has no LVM sample): the report
engine of ``libdm/libdm-report.c`` (every line starts with two spaces, fields one space apart and padded
to the widest value or heading, sizes right-aligned, strings and percentages left-aligned, the last column
padded too), the field table of ``lib/report/columns.h`` (headings and initial widths) and the messages of
``lib/metadata/lv_manip.c`` and ``tools/``. The documented ``lvs --units b --nosuffix`` and
``lvs --noheadings`` examples of ``man/lvmreport.7_main`` print the same way. Extents are 4 MiB; sizes
round up to an extent. A snapshot's ``snap_percent`` grows as its origin or itself is written
(copy-on-write: a fixed share, `COW_SHARE`, of the bytes written lands in chunks not copied yet), and a
full one stays at 100.00.

vdiskadm follows xvm.md (create, list, snapshot, rollback, clone) and the vdiskadm(1M) synopsis; its
messages are RECONSTRUCTED in the ``vdiskadm: …`` style of Solaris tools. ZFS has the few verbs the
xVM guide uses (``zfs create -V``, snapshot, clone, destroy, list), in zfs(1M)'s formats.
"""

from __future__ import annotations

import getopt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..zfsnum import zfs_nicenum
from .model import CommandError, G, K, M, T

EXTENT = 4 * M
#: the share of written bytes that needs a new copy-on-write chunk (the rest rewrites chunks copied before)
COW_SHARE = 0.002
#: `lvcreate` and `lvremove` failures (ECMD_FAILED), bad arguments (EINVALID_CMD_LINE)
ECMD_FAILED, EINVALID_CMD_LINE = 5, 3
_LVM_UNITS = {"b": 1, "s": 512, "k": K, "m": M, "g": G, "t": T, "p": 1 << 50, "e": 1 << 60}
_SI_UNITS = {"B": 1, "S": 512, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_LV_NAME = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]*")


def lvm_size(text: str) -> int:
    """An ``-L`` size in bytes: a number with an optional unit (MiB when none), every unit binary."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([bBsSkKmMgGtTpPeE]?)", text)
    if match is None:
        raise ValueError(text)
    return int(float(match[1]) * _LVM_UNITS[(match[2] or "m").lower()])


def display_size(size: int) -> str:
    """``display_size`` (lib/display/display.c) as messages print it: ``4.00 MiB``."""
    for unit, name in ((T, "TiB"), (G, "GiB"), (M, "MiB"), (K, "KiB")):
        if size >= unit:
            return f"{size / unit:.2f} {name}"
    return f"{size} B"


def report_size(size: int, units: str, suffix: bool) -> str:
    """A size as ``lvs``/``vgs`` print it: ``--units b --nosuffix`` the bytes; ``h`` (the default) the
    largest binary unit with two decimals and a lower-case letter, ``<`` when the value was rounded up."""
    if units in ("b", "B"):
        return f"{size}B" if suffix else str(size)
    if units == "h" or units == "H":
        unit_letter, unit = "b", 1
        for letter in "kmgtpe":
            if size >= _LVM_UNITS[letter]:
                unit_letter, unit = letter, _LVM_UNITS[letter]
    else:
        unit_letter, unit = units, _LVM_UNITS.get(units, 0) or _SI_UNITS[units]
    value = size / unit
    shown = f"{value:.2f}"
    prefix = "<" if float(shown) > value + 1e-12 and units in ("h", "H") else ""
    if prefix:
        shown = f"{math.floor(value * 100) / 100 + 0.01:.2f}"
    return prefix + shown + (unit_letter if suffix else "")


@dataclass(slots=True)
class LogicalVolume:
    name: str
    vg: str
    size: int
    origin: str | None = None
    #: copy-on-write bytes used (snapshots), and when last brought up to date
    cow_used: float = 0.0
    cow_time: float = 0.0

    @property
    def path(self) -> str:
        return f"/dev/{self.vg}/{self.name}"

    @property
    def snap_percent(self) -> float:
        return min(100.0, self.cow_used / self.size * 100) if self.size else 0.0


@dataclass(slots=True)
class VolumeGroup:
    name: str
    size: int
    lvs: dict[str, LogicalVolume] = field(default_factory=dict)
    pv_count: int = 1

    @property
    def free(self) -> int:
        return self.size - sum(lv.size for lv in self.lvs.values())


#: (field id, aliases, heading, initial width, kind): kind s (string, left), z (size, right), p (percent,
#: left), n (number, right); from lib/report/columns.h
_LV_FIELDS = {
    "lv_name": ("LV", 4, "s"), "vg_name": ("VG", 2, "s"), "lv_attr": ("Attr", 4, "s"), "lv_size": ("LSize", 5, "z"),
    "pool_lv": ("Pool", 4, "s"), "origin": ("Origin", 6, "s"), "data_percent": ("Data%", 6, "p"),
    "metadata_percent": ("Meta%", 6, "p"), "move_pv": ("Move", 4, "s"), "mirror_log": ("Log", 3, "s"),
    "copy_percent": ("Cpy%Sync", 8, "p"), "convert_lv": ("Convert", 7, "s"), "snap_percent": ("Snap%", 6, "p"),
    "lv_path": ("Path", 4, "s"), "origin_size": ("OSize", 5, "z"),
}
_VG_FIELDS = {
    "vg_name": ("VG", 2, "s"), "pv_count": ("#PV", 3, "n"), "lv_count": ("#LV", 3, "n"), "snap_count": ("#SN", 3, "n"),
    "vg_attr": ("Attr", 5, "s"), "vg_size": ("VSize", 5, "z"), "vg_free": ("VFree", 5, "z"),
    "vg_extent_size": ("Ext", 3, "z"),
}
_ALIASES = {"name": "lv_name", "lv": "lv_name", "vg": "vg_name", "attr": "lv_attr", "size": "lv_size",
            "path": "lv_path", "pool": "pool_lv", "snappercent": "snap_percent", "datapercent": "data_percent",
            "vgname": "vg_name", "lvname": "lv_name", "lvsize": "lv_size"}
_VG_ALIASES = {"name": "vg_name", "attr": "vg_attr", "size": "vg_size", "free": "vg_free", "vg": "vg_name",
               "extent_size": "vg_extent_size"}
LVS_DEFAULT = ("lv_name", "vg_name", "lv_attr", "lv_size", "pool_lv", "origin", "data_percent", "metadata_percent",
               "move_pv", "mirror_log", "copy_percent", "convert_lv")
VGS_DEFAULT = ("vg_name", "pv_count", "lv_count", "snap_count", "vg_attr", "vg_size", "vg_free")


def report(fields: Sequence[tuple[str, int, str]], rows: Sequence[Sequence[str]], *, headings: bool,
           separator: str = " ", aligned: bool = True) -> str:
    """libdm-report's columns output (see the module docstring)."""
    widths = [max([initial] + [len(row[i]) for row in rows]) for i, (_, initial, _) in enumerate(fields)]
    lines = []
    if headings:
        lines.append(separator.join(f"{heading:<{w}}" if aligned else heading
                                    for (heading, _, _), w in zip(fields, widths)))
    for row in rows:
        cells = []
        for value, (_, _, kind), width in zip(row, fields, widths):
            if not aligned:
                cells.append(value)
            elif kind in "zn":
                cells.append(f"{value:>{width}}")
            else:
                cells.append(f"{value:<{width}}")
        lines.append(separator.join(cells))
    return "".join(f"  {line}\n" for line in lines)


class Lvm:
    """The volume groups of one dom0. ``in_use(path)`` says whether a running domain has the LV open;
    ``written(path, t0, t1)`` how many bytes domains wrote to it between two instants."""

    def __init__(self, in_use: Callable[[str], bool], written: Callable[[str, float, float], float]) -> None:
        self.vgs: dict[str, VolumeGroup] = {}
        self.in_use = in_use
        self.written = written

    def add_vg(self, name: str, size: int) -> VolumeGroup:
        vg = self.vgs[name] = VolumeGroup(name, size // EXTENT * EXTENT)
        return vg

    def lv_by_path(self, path: str) -> LogicalVolume | None:
        parts = path.split("/")
        if len(parts) == 4 and parts[:2] == ["", "dev"] and parts[2] in self.vgs:
            return self.vgs[parts[2]].lvs.get(parts[3])
        if path.startswith("/dev/mapper/"):
            for vg in self.vgs.values():
                for lv in vg.lvs.values():
                    if path == f"/dev/mapper/{vg.name.replace('-', '--')}-{lv.name.replace('-', '--')}":
                        return lv
        return None

    def advance(self, now: float) -> None:
        """Bring every snapshot's copy-on-write usage up to ``now`` (`COW_SHARE` of the bytes written to the
        origin or to the snapshot since the last update)."""
        for vg in self.vgs.values():
            for lv in vg.lvs.values():
                if lv.origin is None or now <= lv.cow_time:
                    continue
                origin = vg.lvs.get(lv.origin)
                written = self.written(lv.path, lv.cow_time, now)
                if origin is not None:
                    written += self.written(origin.path, lv.cow_time, now)
                lv.cow_used = min(float(lv.size), lv.cow_used + written * COW_SHARE)
                lv.cow_time = now

    def create(self, name: str, vg_name: str, size: int, now: float, origin: str | None = None) -> list[str]:
        """Create an LV (or a snapshot of ``origin``); the messages lvcreate prints. Raises CommandError."""
        vg = self._vg(vg_name)
        if not _LV_NAME.fullmatch(name) or name in (".", ".."):
            raise CommandError(f'  Logical volume name "{name}" is invalid.\n', EINVALID_CMD_LINE)
        if name in vg.lvs:
            raise CommandError(f'  Logical Volume "{name}" already exists in volume group "{vg.name}"\n',
                               ECMD_FAILED)
        if origin is not None and origin not in vg.lvs:
            raise CommandError(f"  Snapshot origin LV {origin} not found in Volume group {vg.name}.\n", ECMD_FAILED)
        messages = []
        extents = -(-size // EXTENT)
        if extents * EXTENT != size:
            messages.append(f"  Rounding up size to full physical extent {display_size(extents * EXTENT)}\n")
        if vg.free < extents * EXTENT:
            raise CommandError("".join(messages) + f'  Volume group "{vg.name}" has insufficient free space '
                               f"({vg.free // EXTENT} extents): {extents} required.\n", ECMD_FAILED)
        vg.lvs[name] = LogicalVolume(name, vg.name, extents * EXTENT, origin, 0.0, now)
        return messages + [f'  Logical volume "{name}" created.\n']

    def remove(self, spec: str) -> list[str]:
        """``lvremove -f VG/LV`` (an origin takes its snapshots with it). Raises CommandError."""
        vg_name, _, name = spec.partition("/")
        vg = self._vg(vg_name)
        if not name or name not in vg.lvs:
            raise CommandError(f'  Failed to find logical volume "{vg_name}/{name}"\n', ECMD_FAILED)
        doomed = [lv for lv in vg.lvs.values() if lv.origin == name] + [vg.lvs[name]]
        for lv in doomed:
            if self.in_use(lv.path):
                raise CommandError(f"  Logical volume {vg.name}/{lv.name} in use.\n", ECMD_FAILED)
        messages = []
        for lv in doomed:
            del vg.lvs[lv.name]
            messages.append(f'  Logical volume "{lv.name}" successfully removed.\n')
        return messages

    def _vg(self, name: str) -> VolumeGroup:
        if name not in self.vgs:
            raise CommandError(f'  Volume group "{name}" not found\n  Cannot process volume group {name}\n',
                               ECMD_FAILED)
        return self.vgs[name]

    def _lv_value(self, lv: LogicalVolume, key: str, units: str, suffix: bool) -> str:
        vg = self.vgs[lv.vg]
        snapshots = [other for other in vg.lvs.values() if other.origin == lv.name]
        open_ = "o" if self.in_use(lv.path) else "-"
        if key == "lv_name":
            return lv.name
        if key == "vg_name":
            return lv.vg
        if key == "lv_attr":
            kind = "s" if lv.origin else ("o" if snapshots else "-")
            return f"{kind}wi-a{open_}{'s' if lv.origin or snapshots else '-'}---"
        if key == "lv_size":
            return report_size(lv.size, units, suffix)
        if key == "origin":
            return lv.origin or ""
        if key in ("snap_percent", "data_percent"):
            return f"{lv.snap_percent:.2f}" if lv.origin else ""
        if key == "lv_path":
            return lv.path
        if key == "origin_size":
            return report_size(vg.lvs[lv.origin].size, units, suffix) if lv.origin in vg.lvs else ""
        return ""

    def lvs(self, args: Sequence[str]) -> str:
        """``lvs [--noheadings] [--nosuffix] [--units U] [-o FIELDS] [--separator S] [VG|VG/LV ...]``."""
        opts, names = _lvm_options(args)
        fields = _fields(opts.get("o"), LVS_DEFAULT, _LV_FIELDS, _ALIASES)
        selected = []
        for vg in sorted(self.vgs.values(), key=lambda v: v.name):
            for lv in sorted(vg.lvs.values(), key=lambda v: v.name):
                if not names or vg.name in names or f"{vg.name}/{lv.name}" in names:
                    selected.append(lv)
        for name in names:
            vg_name, _, lv_name = name.partition("/")
            if vg_name not in self.vgs:
                raise CommandError(f'  Volume group "{vg_name}" not found\n  Cannot process volume group '
                                   f"{vg_name}\n", ECMD_FAILED)
            if lv_name and lv_name not in self.vgs[vg_name].lvs:
                raise CommandError(f'  Failed to find logical volume "{name}"\n', ECMD_FAILED)
        units, suffix = opts.get("units", "h"), "nosuffix" not in opts
        rows = [[self._lv_value(lv, key, units, suffix) for key in fields] for lv in selected]
        return report([_LV_FIELDS[key] for key in fields], rows, headings="noheadings" not in opts,
                      separator=opts.get("separator", " "), aligned="separator" not in opts or "aligned" in opts)

    def vgs_report(self, args: Sequence[str]) -> str:
        opts, names = _lvm_options(args)
        fields = _fields(opts.get("o"), VGS_DEFAULT, _VG_FIELDS, _VG_ALIASES)
        for name in names:
            self._vg(name)
        units, suffix = opts.get("units", "h"), "nosuffix" not in opts
        rows = []
        for vg in sorted(self.vgs.values(), key=lambda v: v.name):
            if names and vg.name not in names:
                continue
            values = {"vg_name": vg.name, "pv_count": str(vg.pv_count), "lv_count": str(len(vg.lvs)),
                      "snap_count": str(sum(1 for lv in vg.lvs.values() if lv.origin)), "vg_attr": "wz--n-",
                      "vg_size": report_size(vg.size, units, suffix), "vg_free": report_size(vg.free, units, suffix),
                      "vg_extent_size": report_size(EXTENT, units, suffix)}
            rows.append([values[key] for key in fields])
        return report([_VG_FIELDS[key] for key in fields], rows, headings="noheadings" not in opts,
                      separator=opts.get("separator", " "), aligned="separator" not in opts or "aligned" in opts)


def _lvm_options(args: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    try:
        opts, names = getopt.gnu_getopt(list(args), "o:O:av", ["noheadings", "nosuffix", "units=", "options=",
                                                                "separator=", "aligned", "sort=", "all"])
    except getopt.GetoptError as error:
        raise CommandError(f"  {error.msg}\n", EINVALID_CMD_LINE) from None
    values: dict[str, str] = {}
    for opt, value in opts:
        key = {"-o": "o", "--options": "o"}.get(opt, opt.lstrip("-"))
        if key == "o" and "o" in values:
            value = values["o"] + "," + value
        values[key] = value
    return values, names


def _fields(spec: str | None, default: Sequence[str], table: dict, aliases: dict[str, str]) -> list[str]:
    if spec is None:
        return list(default)
    fields: list[str] = []
    for item in spec.split(","):
        item = item.strip()
        if item.startswith("+"):
            fields = fields or list(default)
            item = item[1:]
        key = aliases.get(item, item)
        if key not in table:
            raise CommandError(f"  Unrecognised field: {item}\n", EINVALID_CMD_LINE)
        fields.append(key)
    return fields


# -- ZFS -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Dataset:
    name: str
    kind: str  # volume | snapshot
    volsize: int = 0
    referenced: int = 0
    origin: str = ""


class Zfs:
    """One pool with volumes (zvols), their snapshots and clones."""

    def __init__(self, pool: str, size: int) -> None:
        self.pool = pool
        self.size = size
        self.datasets: dict[str, Dataset] = {}

    def used(self) -> int:
        return sum(d.volsize if d.kind == "volume" else d.referenced // 10 for d in self.datasets.values())

    def zvol(self, path: str) -> Dataset | None:
        for prefix in ("/dev/zvol/dsk/", "/dev/zvol/rdsk/", "/dev/zvol/"):
            if path.startswith(prefix):
                dataset = self.datasets.get(path[len(prefix):])
                return dataset if dataset is not None and dataset.kind == "volume" else None
        return None

    def run(self, args: Sequence[str]) -> str:
        if not args:
            raise CommandError("missing command\nusage: zfs command args ...\n", 2)
        verb, rest = args[0], list(args[1:])
        if verb == "create":
            opts, operands = _getopt(rest, "sV:o:")
            if "-V" not in opts or len(operands) != 1:
                raise CommandError("usage:\n\tcreate [-p] [-o property=value] ... <filesystem>\n"
                                   "\tcreate [-ps] [-b blocksize] [-o property=value] ... -V <size> <volume>\n", 2)
            name = operands[0]
            self._check_new(name)
            try:
                size = lvm_size(opts["-V"]) if opts["-V"][-1:].isalpha() else int(opts["-V"])
            except ValueError:
                raise CommandError(f"cannot create '{name}': bad numeric value '{opts['-V']}'\n", 1) from None
            if "-s" not in opts and size > self.size - self.used():
                raise CommandError(f"cannot create '{name}': out of space\n")
            self.datasets[name] = Dataset(name, "volume", size, size // 50)
            return ""
        if verb == "snapshot":
            (name,) = rest or ("",)
            base, _, snap = name.partition("@")
            if not snap or base not in self.datasets:
                raise CommandError(f"cannot open '{base}': dataset does not exist\n")
            self._check_new(name)
            self.datasets[name] = Dataset(name, "snapshot", self.datasets[base].volsize, self.datasets[base].referenced)
            return ""
        if verb == "clone":
            if len(rest) != 2 or rest[0] not in self.datasets or self.datasets[rest[0]].kind != "snapshot":
                raise CommandError(f"cannot open '{rest[0] if rest else ''}': dataset does not exist\n")
            self._check_new(rest[1])
            source = self.datasets[rest[0]]
            self.datasets[rest[1]] = Dataset(rest[1], "volume", source.volsize, source.referenced, rest[0])
            return ""
        if verb == "destroy":
            opts, operands = _getopt(rest, "rRf")
            name = operands[0] if operands else ""
            if name not in self.datasets:
                raise CommandError(f"cannot open '{name}': dataset does not exist\n")
            children = [d for d in self.datasets if d.startswith(name + "@")]
            if children and "-r" not in opts and "-R" not in opts:
                raise CommandError(f"cannot destroy '{name}': volume has children\nuse '-r' to destroy the "
                                   f"following datasets:\n" + "".join(f"{c}\n" for c in children))
            for doomed in children + [name]:
                del self.datasets[doomed]
            return ""
        if verb == "list":
            return self._list(rest)
        raise CommandError(f"unrecognized command '{verb}'\nusage: zfs command args ...\n", 2)

    def _check_new(self, name: str) -> None:
        if not name.startswith(self.pool + "/"):
            raise CommandError(f"cannot create '{name}': no such pool '{name.split('/')[0]}'\n")
        if name in self.datasets:
            raise CommandError(f"cannot create '{name}': dataset already exists\n")

    def _list(self, args: Sequence[str]) -> str:
        opts, names = _getopt(args, "Hpro:t:")
        columns = opts.get("-o", "name,used,avail,refer,mountpoint").split(",")
        types = set(opts.get("-t", "filesystem,volume").split(","))
        exact, scripted = "-p" in opts, "-H" in opts
        avail = self.size - self.used()
        datasets = [self.datasets[n] for n in names if n in self.datasets] if names else \
            sorted(self.datasets.values(), key=lambda d: d.name)
        missing = [n for n in names if n not in self.datasets]
        if missing:
            raise CommandError(f"cannot open '{missing[0]}': dataset does not exist\n")

        def value(d: Dataset | None, column: str) -> str:
            if d is None:  # the pool's own filesystem
                numbers = {"used": self.used(), "avail": avail, "refer": 32 * K, "volsize": None}
                text = {"name": self.pool, "mountpoint": f"/{self.pool}", "origin": "-", "type": "filesystem"}
            else:
                used = d.volsize if d.kind == "volume" and not d.origin else d.referenced // 10
                numbers = {"used": used, "avail": avail if d.kind == "volume" else None, "refer": d.referenced,
                           "volsize": d.volsize}
                text = {"name": d.name, "mountpoint": "-", "origin": d.origin or "-", "type": d.kind}
            column = {"available": "avail", "referenced": "refer"}.get(column, column)
            if column in numbers:
                number = numbers[column]
                return "-" if number is None else (str(number) if exact else zfs_nicenum(number))
            if column in text:
                return text[column]
            raise CommandError(f"bad property list: invalid property '{column}'\n", 2)

        listed: list[Dataset | None] = []
        if not names and "filesystem" in types | {"all"}:
            listed.append(None)
        listed += [d for d in datasets if "all" in types or d.kind in types or names]
        cells = [[value(d, c) for c in columns] for d in listed]
        if scripted:
            return "".join("\t".join(row) + "\n" for row in cells)
        header = [c.upper().replace("AVAILABLE", "AVAIL").replace("REFERENCED", "REFER") for c in columns]
        widths = [max(len(r[i]) for r in [header] + cells) for i in range(len(columns))]
        right = {"used", "avail", "refer", "volsize", "available", "referenced"}
        out = []
        for row in [header] + cells:
            out.append("  ".join(cell.rjust(w) if columns[i] in right else cell.ljust(w)
                                 for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
        return "".join(line + "\n" for line in out)


def _getopt(args: Sequence[str], letters: str) -> tuple[dict[str, str], list[str]]:
    try:
        opts, operands = getopt.getopt(list(args), letters)
    except getopt.GetoptError as error:
        raise CommandError(f"invalid option '{error.opt}'\n", 2) from None
    return {k: v for k, v in opts}, operands
