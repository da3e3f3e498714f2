"""``vdiskadm``: Sun xVM's virtual disks (xvm.md "Virtual disks: vdiskadm").

A vdisk is a directory VDNAME holding its data file (``vdisk.vmdk``, ``vdisk.vhd``, …; a fixed vmdk is
``vdisk-flat.vmdk`` beside a small ``vdisk.vmdk`` descriptor) and ``vdisk.xml``. A snapshot renames the
data file to ``vdisk@SNAP.<type>`` and starts a new differences file; ``list`` prints the images by the
vdisk's last path component, oldest snapshot first and the live disk last (xvm.md; the Solaris guide's
``vdiskadm list /export/home/vdisks/vhd_sp`` prints ``vhd_sp@install`` then ``vhd_sp``). A vdisk in use
by a running domain cannot be snapshotted or rolled back. ``clone`` makes a merged copy of the same
type and size. ``prop-get -p all`` prints ``name: value`` lines with the properties xvm.md lists.
Messages are RECONSTRUCTED (``vdiskadm: …``); sizes take k, m, g, t suffixes.
"""

from __future__ import annotations

import getopt
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .model import CommandError, G, K, M, T

TYPES = ("vmdk", "vdi", "vhd", "raw")
USAGE = ("usage:\n\tcreate -s size [-t type[:opt],[opt]] [-c comment] vdname\n"
         "\tdestroy [-r] vdname|snapshot\n\tsnapshot vdname@snapname\n\trollback [-r] snapshot\n"
         "\tclone [-c comment] vdname|snapshot clone_vdname\n\tlist [-fp] vdname\n"
         "\tprop-get [-l] -p property vdname\n")


def vdisk_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMgGtT]?)[bB]?", text)
    if match is None:
        raise ValueError(text)
    return int(float(match[1]) * {"": 1, "k": K, "m": M, "g": G, "t": T}[match[2].lower()])


@dataclass(slots=True)
class Vdisk:
    path: str
    size: int
    vtype: str = "vmdk"
    sparse: bool = True
    comment: str = ""
    created: int = 0
    snapshots: list[str] = field(default_factory=list)
    parent: str = "none"

    @property
    def name(self) -> str:
        return posixpath.basename(self.path.rstrip("/"))

    def files(self) -> list[str]:
        data = "vdisk-flat.vmdk" if self.vtype == "vmdk" and not self.sparse else f"vdisk.{self.vtype}"
        names = ["vdisk.xml", data] + [f"vdisk@{snap}.{self.vtype}" for snap in self.snapshots]
        if self.vtype == "vmdk" and not self.sparse:
            names.append("vdisk.vmdk")
        return sorted(names)


class Vdisks:
    """Every vdisk of a dom0, by path. ``in_use(path)`` says whether a running domain has it open;
    ``exists(path)`` and ``mkdirs`` reach the dom0's file system."""

    def __init__(self, in_use: Callable[[str], bool], dir_exists: Callable[[str], bool], cwd: str = "/") -> None:
        self.disks: dict[str, Vdisk] = {}
        self.in_use = in_use
        self.dir_exists = dir_exists
        self.cwd = cwd

    def path(self, path: str) -> str:
        """A vdisk name is a path name, relative ones from the working directory."""
        return posixpath.normpath(posixpath.join(self.cwd, path))

    def find(self, path: str) -> Vdisk | None:
        return self.disks.get(self.path(path))

    def run(self, args: Sequence[str], now: float) -> str:
        if not args:
            raise CommandError(USAGE, 2)
        verb, rest = args[0], list(args[1:])
        handler = {"create": self._create, "list": self._list, "snapshot": self._snapshot, "rollback": self._rollback,
                   "clone": self._clone, "destroy": self._destroy, "prop-get": self._prop_get}.get(verb)
        if handler is None:
            raise CommandError(f"vdiskadm: unrecognized command '{verb}'\n" + USAGE, 2)
        try:
            opts, operands = getopt.getopt(rest, {"create": "s:t:c:", "list": "fp", "rollback": "r",
                                                  "clone": "c:", "destroy": "r", "prop-get": "lp:"}.get(verb, ""))
        except getopt.GetoptError as error:
            raise CommandError(f"vdiskadm: invalid option '{error.opt}'\n" + USAGE, 2) from None
        return handler(dict(opts), operands, now)

    def _disk(self, path: str) -> Vdisk:
        disk = self.find(path)
        if disk is None:
            raise CommandError(f"vdiskadm: {path}: vdisk does not exist\n")
        return disk

    def _split(self, spec: str) -> tuple[Vdisk, str]:
        path, _, snap = spec.partition("@")
        disk = self._disk(path)
        if snap and snap not in disk.snapshots:
            raise CommandError(f"vdiskadm: {spec}: snapshot does not exist\n")
        return disk, snap

    def _create(self, opts: dict[str, str], operands: list[str], now: float) -> str:
        if "-s" not in opts or len(operands) != 1:
            raise CommandError(USAGE, 2)
        path = self.path(operands[0])
        try:
            size = vdisk_size(opts["-s"])
        except ValueError:
            raise CommandError(f"vdiskadm: invalid size '{opts['-s']}'\n") from None
        vtype, _, option = opts.get("-t", "vmdk").partition(":")
        if vtype not in TYPES or option not in ("", "fixed", "sparse"):
            raise CommandError(f"vdiskadm: invalid type '{opts['-t']}'\n")
        if path in self.disks or self.dir_exists(path):
            raise CommandError(f"vdiskadm: {path}: vdisk already exists\n")
        if not self.dir_exists(posixpath.dirname(path) or "/"):
            raise CommandError(f"vdiskadm: {posixpath.dirname(path)}: No such file or directory\n")
        sparse = option != "fixed" and vtype != "raw"
        self.disks[path] = Vdisk(path, size, vtype, sparse, opts.get("-c", ""), int(now))
        return ""

    def _list(self, opts: dict[str, str], operands: list[str], now: float) -> str:
        if len(operands) != 1:
            raise CommandError(USAGE, 2)
        disk = self._disk(operands[0])
        return "".join(f"{disk.name}@{snap}\n" for snap in disk.snapshots) + f"{disk.name}\n"

    def _busy(self, disk: Vdisk, what: str) -> None:
        if self.in_use(disk.path):
            raise CommandError(f"vdiskadm: {disk.path}: vdisk is in use; cannot {what}\n")

    def _snapshot(self, opts: dict[str, str], operands: list[str], now: float) -> str:
        if len(operands) != 1 or "@" not in operands[0]:
            raise CommandError(USAGE, 2)
        path, _, snap = operands[0].partition("@")
        disk = self._disk(path)
        if not re.fullmatch(r"[A-Za-z0-9_.:-]+", snap):
            raise CommandError(f"vdiskadm: invalid snapshot name '{snap}'\n")
        if snap in disk.snapshots:
            raise CommandError(f"vdiskadm: {operands[0]}: snapshot already exists\n")
        self._busy(disk, "snapshot")
        disk.snapshots.append(snap)
        return ""

    def _rollback(self, opts: dict[str, str], operands: list[str], now: float) -> str:
        if len(operands) != 1 or "@" not in operands[0]:
            raise CommandError(USAGE, 2)
        disk, snap = self._split(operands[0])
        later = disk.snapshots[disk.snapshots.index(snap) + 1:]
        if later and "-r" not in opts:
            raise CommandError(f"vdiskadm: {operands[0]}: more recent snapshots exist; use -r to destroy: "
                               + ", ".join(f"{disk.name}@{s}" for s in later) + "\n")
        self._busy(disk, "roll back")
        del disk.snapshots[disk.snapshots.index(snap) + 1:]
        return ""

    def _clone(self, opts: dict[str, str], operands: list[str], now: float) -> str:
        if len(operands) != 2:
            raise CommandError(USAGE, 2)
        source, _ = self._split(operands[0])
        target = self.path(operands[1])
        if target in self.disks or self.dir_exists(target):
            raise CommandError(f"vdiskadm: {target}: vdisk already exists\n")
        if not self.dir_exists(posixpath.dirname(target) or "/"):
            raise CommandError(f"vdiskadm: {posixpath.dirname(target)}: No such file or directory\n")
        self.disks[target] = Vdisk(target, source.size, source.vtype, source.sparse, opts.get("-c", ""), int(now),
                                   parent=operands[0])
        return ""

    def _destroy(self, opts: dict[str, str], operands: list[str], now: float) -> str:
        if len(operands) != 1:
            raise CommandError(USAGE, 2)
        disk, snap = self._split(operands[0])
        if snap:
            disk.snapshots.remove(snap)
            return ""
        if disk.snapshots and "-r" not in opts:
            raise CommandError(f"vdiskadm: {disk.path}: vdisk has snapshots; use -r\n")
        self._busy(disk, "destroy")
        del self.disks[disk.path]
        return ""

    def _prop_get(self, opts: dict[str, str], operands: list[str], now: float) -> str:
        if len(operands) != 1 or "-p" not in opts:
            raise CommandError(USAGE, 2)
        disk = self._disk(operands[0])
        busy = self.in_use(disk.path)
        props = {"readonly": "false", "removable": "false", "cdrom": "false",
                 "creation-time-epoch": str(disk.created), "vtype": disk.vtype, "sparse": str(disk.sparse).lower(),
                 "rwcnt": "1" if busy else "0", "rocnt": "0", "name": disk.name, "version": "1.0",
                 "parent": disk.parent, "filename": disk.name, "vdfile": f"vdisk.{disk.vtype}", "owner": "xvm",
                 "max-size": str(disk.size), "sectors": str(disk.size // 512), "description": disk.comment or "none",
                 "effective-size": str(disk.size if not disk.sparse else disk.size // 8)}
        wanted = list(props) if opts["-p"] == "all" else opts["-p"].split(",")
        unknown = [p for p in wanted if p not in props]
        if unknown:
            raise CommandError(f"vdiskadm: invalid property '{unknown[0]}'\n")
        if opts["-p"] != "all" and len(wanted) == 1:
            return props[wanted[0]] + "\n"
        return "".join(f"{key}: {props[key]}\n" for key in wanted)
