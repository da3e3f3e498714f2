"""The control domain's ZFS pool and the ``zfs`` command the wizards run against it.

Sources: the ``zfs_main.c`` of Solaris 11 (the Solaris 11 source tree published on GitHub as
``Arquivotheca/solaris11``, ``usr/src/cmd/zfs/zfs_main.c``) gives the usage synopses, the option letters
and the messages zfs itself prints (``missing size argument``, ``cannot destroy 'x': snapshot has dependent
clones`` / ``use '-R' to destroy the following datasets:``, ``cannot rollback to 'x': more recent
snapshots exist`` / ``use '-r' to force deletion of the following snapshots:``, the three lines for a pool,
``no datasets available``); ``-H`` prints fields separated by one tab without a header, as its
``print_dataset`` does. libzfs's messages (``cannot create 'x': dataset already exists``, ``parent does not
exist``, ``out of space``, ``bad numeric value``) follow its wording as quoted by many public transcripts.
RECONSTRUCTED: ``-p`` for ``zfs list`` (later Solaris 11 updates; Solaris 11.0 has only ``zfs get -p``),
``dataset is busy`` for a volume a bound domain uses, the ``zfs get`` SOURCE values, and the lines that
follow a usage synopsis (Solaris's ``zfs_command_help`` is not in that tree).

Space: a volume uses its volsize (the refreservation of a non-sparse volume; ``-s`` makes it sparse, using
only what it refers to), a snapshot uses nothing (nothing is ever written), a clone refers to its origin's
data and uses nothing.
"""

from __future__ import annotations

import getopt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from ..zfsnum import zfs_nicenum
from .formats import joined
from .model import CommandError, G, K, M, T

_ZFS_SIZE = re.compile(r"(\d+(?:\.\d+)?)([kmgtp]?)b?")


class DatasetType(str, Enum):
    FILESYSTEM = "filesystem"
    VOLUME = "volume"
    SNAPSHOT = "snapshot"


@dataclass(slots=True)
class Dataset:
    name: str
    type: DatasetType
    used: int
    referenced: int
    volsize: int | None = None
    origin: str | None = None
    #: creation order, as zfs's createtxg: snapshots list oldest first
    created: int = 0
    sparse: bool = False


#: properties zfs list and zfs get show: name -> (header, right-aligned in human output)
ZFS_PROPERTIES = {"name": ("NAME", False), "type": ("TYPE", False), "used": ("USED", True),
                  "available": ("AVAIL", True), "referenced": ("REFER", True), "volsize": ("VOLSIZE", True),
                  "origin": ("ORIGIN", False), "mountpoint": ("MOUNTPOINT", False)}
ZFS_PROPERTY_ALIASES = {"avail": "available", "refer": "referenced"}
ZFS_DEFAULT_COLUMNS = ("name", "used", "available", "referenced", "mountpoint")
ZFS_TYPE_NAMES = {"filesystem": DatasetType.FILESYSTEM, "fs": DatasetType.FILESYSTEM,
                  "volume": DatasetType.VOLUME, "vol": DatasetType.VOLUME,
                  "snapshot": DatasetType.SNAPSHOT, "snap": DatasetType.SNAPSHOT}
#: zfs get -o fields
ZFS_GET_FIELDS = {"name": "NAME", "property": "PROPERTY", "value": "VALUE", "source": "SOURCE"}
#: volumes are created with 8K blocks; volsize must be a multiple
VOLBLOCKSIZE = 8 * K
#: Solaris 11 zfs_main.c get_usage(), for the subcommands simulated (``-p`` added to list, see above)
ZFS_SYNOPSES = {
    "create": "\tcreate [-p] [-o property=value] ... <filesystem>\n"
              "\tcreate [-ps] [-b blocksize] [-o property=value] ... -V <size> <volume>",
    "destroy": "\tdestroy [-rRf] <filesystem|volume>\n\tdestroy [-rRd] <snapshot>",
    "snapshot": "\tsnapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>",
    "rollback": "\trollback [-rRf] <snapshot>",
    "clone": "\tclone [-p] [-K] [-o property=value] ... <snapshot> <filesystem|volume>",
    "list": "\tlist [-rHp][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...\n"
            "\t    [-S property] ... [filesystem|volume|snapshot] ...",
    "get": "\tget [-rHp] [-d max] [-o \"all\" | field[,...]] [-s source[,...]]\n"
           "\t    <\"all\" | property[,...]> [filesystem|volume|snapshot] ...",
}
#: option letters as Solaris 11's getopt strings, for what is simulated
_LETTERS = {"create": "V:s", "destroy": "rR", "snapshot": "", "rollback": "rRf", "clone": "",
            "list": "Hpro:t:", "get": "Hpro:"}


def usage(command: str, problem: str = "") -> CommandError:
    """zfs's usage exit (status 2): the problem zfs names first, then the subcommand's synopsis."""
    return CommandError(f"{problem}\n" * bool(problem) + f"usage:\n{ZFS_SYNOPSES[command]}", 2)


def parse_zfs_size(text: str) -> int:
    """A zfs size (``20G``, ``1.5t``, ``512M``, bytes without a unit). ValueError if not one."""
    match = _ZFS_SIZE.fullmatch(text.lower())
    if match is None:
        raise ValueError(text)
    return int(float(match[1]) * {"": 1, "k": K, "m": M, "g": G, "t": T, "p": 1 << 50}[match[2]])


class ZfsPool:
    """One pool as ``zfs`` sees it: its root filesystem, filesystems, volumes, snapshots and clones."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._created = 0
        self.datasets: dict[str, Dataset] = {}
        self._add(Dataset(name, DatasetType.FILESYSTEM, used=0, referenced=32 * K))

    def _add(self, dataset: Dataset) -> Dataset:
        self._created += 1
        dataset.created = self._created
        self.datasets[dataset.name] = dataset
        return dataset

    # -- queries --

    @property
    def used(self) -> int:
        return sum(d.used for d in self.datasets.values() if d.name != self.name) + \
            self.datasets[self.name].referenced

    @property
    def available(self) -> int:
        return self.size - self.used

    def volume(self, name: str) -> Dataset | None:
        dataset = self.datasets.get(name)
        return dataset if dataset is not None and dataset.type is DatasetType.VOLUME else None

    def open(self, name: str, *types: DatasetType) -> Dataset:
        """libzfs's zfs_open: the dataset, or ``cannot open`` with its reason."""
        if name not in self.datasets:
            raise CommandError(f"cannot open '{name}': dataset does not exist")
        dataset = self.datasets[name]
        if types and dataset.type not in types:
            raise CommandError(f"cannot open '{name}': operation not applicable to datasets of this type")
        return dataset

    def _descendants(self, name: str) -> list[Dataset]:
        return [d for d in self.datasets.values() if d.name.startswith((f"{name}/", f"{name}@"))]

    def _clones_of(self, snapshots: Iterable[Dataset]) -> list[Dataset]:
        origins = {snap.name for snap in snapshots}
        return [d for d in self.datasets.values() if d.origin in origins]

    def _check_new(self, name: str, what: str = "create") -> None:
        if name in self.datasets:
            raise CommandError(f"cannot {what} '{name}': dataset already exists")
        pool, _, rest = name.partition("/")
        if pool != self.name:
            raise CommandError(f"cannot {what} '{name}': no such pool '{pool}'")
        if not rest or "@" in name:
            raise CommandError(f"cannot {what} '{name}': invalid dataset name")
        if name.rpartition("/")[0] not in self.datasets:
            raise CommandError(f"cannot {what} '{name}': parent does not exist")

    # -- changes --

    def create_filesystem(self, name: str) -> Dataset:
        self._check_new(name)
        return self._add(Dataset(name, DatasetType.FILESYSTEM, used=32 * K, referenced=32 * K))

    def create_volume(self, name: str, volsize: int, *, referenced: int = 0, sparse: bool = False) -> Dataset:
        self._check_new(name)
        if volsize <= 0 or volsize % VOLBLOCKSIZE:
            raise CommandError(f"cannot create '{name}': volume size must be a multiple of volume block size")
        used = referenced if sparse else max(volsize, referenced)
        if used > self.available:
            raise CommandError(f"cannot create '{name}': out of space")
        return self._add(Dataset(name, DatasetType.VOLUME, used=used, referenced=referenced, volsize=volsize,
                                 sparse=sparse))

    def snapshot(self, name: str) -> Dataset:
        parent, _, snap = name.partition("@")
        if not snap:
            raise CommandError(f"cannot create snapshot '{name}': invalid dataset name")
        source = self.open(parent)
        if name in self.datasets:
            raise CommandError(f"cannot create snapshot '{name}': dataset already exists")
        return self._add(Dataset(name, DatasetType.SNAPSHOT, used=0, referenced=source.referenced,
                                 volsize=source.volsize))

    def clone(self, snapshot: str, name: str) -> Dataset:
        origin = self.open(snapshot, DatasetType.SNAPSHOT)
        if name.partition("/")[0] != self.name:
            raise CommandError(f"cannot create '{name}': source and target pools differ")
        self._check_new(name)
        kind = DatasetType.VOLUME if origin.volsize is not None else DatasetType.FILESYSTEM
        return self._add(Dataset(name, kind, used=0, referenced=origin.referenced, volsize=origin.volsize,
                                 origin=origin.name, sparse=True))

    def destroy(self, name: str, *, recursive: bool, clones: bool, busy: Callable[[str], bool]) -> None:
        """``zfs destroy [-r|-R]``, refusing as zfs_main.c's destroy_check_dependent does: children without
        ``-r``, clones of a snapshot (or, with ``-r``, of the children's snapshots) without ``-R``."""
        dataset = self.open(name)
        if dataset.name == self.name and not recursive:
            raise CommandError(f"cannot destroy '{name}': operation does not apply to pools\n"
                               f"use 'zfs destroy -r {name}' to destroy all datasets in the pool\n"
                               f"use 'zpool destroy {name}' to destroy the pool itself")
        children = [d for d in self._descendants(name)]
        if children and not recursive:
            raise CommandError("\n".join([f"cannot destroy '{name}': {dataset.type.value} has children",
                                          "use '-r' to destroy the following datasets:",
                                          *(child.name for child in children)]))
        doomed = [d for d in (dataset, *children) if d.name != self.name]
        snapshots = [d for d in doomed if d.type is DatasetType.SNAPSHOT]
        dependents = [clone for clone in self._clones_of(snapshots) if clone not in doomed]
        if dependents and not clones:
            raise CommandError("\n".join([f"cannot destroy '{name}': {dataset.type.value} has dependent clones",
                                          "use '-R' to destroy the following datasets:",
                                          *(clone.name for clone in dependents)]))
        for clone in dependents:
            doomed += [clone, *self._descendants(clone.name)]
        for victim in doomed:
            if busy(victim.name):
                raise CommandError(f"cannot destroy '{victim.name}': dataset is busy")
        for victim in doomed:
            self.datasets.pop(victim.name, None)

    def rollback(self, snapshot: str, *, recursive: bool, clones: bool, busy: Callable[[str], bool]) -> None:
        """``zfs rollback [-r|-R]``: zfs_main.c's rollback_check refuses later snapshots without ``-r`` and
        their clones without ``-R``, each with the list of what stands in the way."""
        snap = self.open(snapshot, DatasetType.SNAPSHOT)
        parent = self.open(snapshot.partition("@")[0])
        later = sorted((d for d in self.datasets.values() if d.type is DatasetType.SNAPSHOT
                        and d.name.startswith(f"{parent.name}@") and d.created > snap.created),
                       key=lambda d: d.created)
        if later and not recursive:
            raise CommandError("\n".join([f"cannot rollback to '{snapshot}': more recent snapshots exist",
                                          "use '-r' to force deletion of the following snapshots:",
                                          *(d.name for d in later)]))
        dependents = self._clones_of(later)
        if dependents and not clones:
            raise CommandError("\n".join([f"cannot rollback to '{snapshot}': clones of previous snapshots exist",
                                          "use '-R' to force deletion of the following clones and dependents:",
                                          *(d.name for d in dependents)]))
        if busy(parent.name):
            raise CommandError(f"cannot rollback '{parent.name}': dataset is busy")
        for victim in [*dependents, *later]:
            self.datasets.pop(victim.name, None)
        parent.referenced = snap.referenced
        if parent.sparse:
            parent.used = parent.referenced

    # -- zfs list / zfs get --

    def value(self, dataset: Dataset, prop: str, exact: bool) -> str:
        number = {"used": self.used if dataset.name == self.name else dataset.used,
                  "available": None if dataset.type is DatasetType.SNAPSHOT else self.available,
                  "referenced": dataset.referenced, "volsize": dataset.volsize}
        if prop in number:
            value = number[prop]
            return "-" if value is None else str(value) if exact else zfs_nicenum(value)
        if prop == "name":
            return dataset.name
        if prop == "type":
            return dataset.type.value
        if prop == "origin":
            return dataset.origin or "-"
        return f"/{dataset.name}" if dataset.type is DatasetType.FILESYSTEM else "-"  # mountpoint

    def select(self, names: Sequence[str], types: set[DatasetType], recursive: bool) -> list[Dataset]:
        """The datasets named (all when none), with their descendants under ``-r``, of the given types, sorted
        by name with a dataset's snapshots right after it, oldest first."""
        if names:
            chosen: list[Dataset] = []
            for name in names:
                dataset = self.open(name)
                chosen += [dataset, *(self._descendants(name) if recursive else ())]
        else:
            chosen = list(self.datasets.values())
        return sorted({d.name: d for d in chosen if d.type in types}.values(),
                      key=lambda d: (d.name.partition("@")[0], d.type is DatasetType.SNAPSHOT, d.created))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """zfs_main.c print_header/print_dataset: columns two spaces apart, numbers right-aligned, the last
    left-aligned column unpadded."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]
    return joined("  ".join(cell.rjust(width) if is_right else cell.ljust(width)
                            for cell, width, is_right in zip(row, widths, right)).rstrip()
                  for row in [headers, *rows])


def _types(text: str) -> set[DatasetType]:
    types: set[DatasetType] = set()
    for name in text.split(","):
        if name == "all":
            return set(DatasetType)
        if name not in ZFS_TYPE_NAMES:
            raise usage("list", f"invalid type '{name}'")
        types.add(ZFS_TYPE_NAMES[name])
    return types


def _properties(text: str, command: str) -> list[str]:
    columns = [ZFS_PROPERTY_ALIASES.get(c, c) for c in text.split(",")]
    unknown = [column for column in columns if column not in ZFS_PROPERTIES]
    if unknown:
        raise CommandError(f"bad property list: invalid property '{unknown[0]}'\nusage:\n{ZFS_SYNOPSES[command]}", 2)
    return columns


def zfs(pool: ZfsPool, args: Sequence[str], *, exported: Callable[[str], bool],
        in_use: Callable[[str], bool]) -> str:
    """Run ``zfs ARGS`` against ``pool``; stdout, or `CommandError`. ``exported(dataset)`` says a virtual disk
    server exports the volume (destroy refuses it), ``in_use(dataset)`` that a bound domain uses it (rollback
    refuses it)."""
    command = args[0] if args else ""
    if command not in ZFS_SYNOPSES:
        unknown = f"unrecognized command '{command}'\n" if command else ""
        synopses = "".join(f"{synopsis}\n" for synopsis in ZFS_SYNOPSES.values())
        raise CommandError(f"{unknown}usage: zfs command args ...\nwhere 'command' is one of the following:\n\n"
                           f"{synopses}".rstrip("\n"), 2)
    try:
        options, operands = getopt.getopt(list(args[1:]), _LETTERS[command])
    except getopt.GetoptError as error:
        if error.msg.endswith("requires argument"):
            problem = "missing size argument" if error.opt == "V" else f"missing argument for '{error.opt}' option"
        else:
            problem = f"invalid option '{error.opt}'"
        raise usage(command, problem) from None
    opts = dict(options)
    flags = {flag for flag, _ in options}
    if command == "create":
        return _create(pool, opts, flags, operands)
    if command == "snapshot":
        if not operands:
            raise usage(command, "missing snapshot argument")
        for name in operands:
            pool.snapshot(name)
        return ""
    if command == "clone":
        if len(operands) != 2:
            raise usage(command, ("missing source dataset argument", "missing target dataset argument")[len(operands)]
                        if len(operands) < 2 else "too many arguments")
        pool.clone(*operands)
        return ""
    if command == "destroy":
        if len(operands) != 1:
            raise usage(command, "missing path argument" if not operands else "too many arguments")
        pool.destroy(operands[0], recursive=bool(flags & {"-r", "-R"}), clones="-R" in flags, busy=exported)
        return ""
    if command == "rollback":
        if len(operands) != 1:
            raise usage(command, "missing dataset argument" if not operands else "too many arguments")
        pool.rollback(operands[0], recursive=bool(flags & {"-r", "-R"}), clones="-R" in flags, busy=in_use)
        return ""
    if command == "get":
        return _get(pool, opts, flags, operands)
    return _list(pool, opts, flags, operands)


def _create(pool: ZfsPool, opts: dict[str, str], flags: set[str], operands: list[str]) -> str:
    if "-s" in flags and "-V" not in opts:
        raise usage("create", "'-s' and '-b' can only be used when creating a volume")
    if not operands:
        raise usage("create", f"missing {'volume' if '-V' in opts else 'filesystem'} argument")
    if len(operands) > 1:
        raise usage("create", "too many arguments")
    if "-V" not in opts:
        pool.create_filesystem(operands[0])
        return ""
    try:
        volsize = parse_zfs_size(opts["-V"])
    except ValueError:
        raise CommandError(f"bad volume size '{opts['-V']}': bad numeric value '{opts['-V']}'") from None
    pool.create_volume(operands[0], volsize, sparse="-s" in flags)
    return ""


def _list(pool: ZfsPool, opts: dict[str, str], flags: set[str], names: list[str]) -> str:
    types = _types(opts["-t"]) if "-t" in opts else {DatasetType.FILESYSTEM, DatasetType.VOLUME}
    columns = _properties(opts["-o"], "list") if "-o" in opts else list(ZFS_DEFAULT_COLUMNS)
    chosen = pool.select(names, types, "-r" in flags)
    table = [[pool.value(d, column, "-p" in flags) for column in columns] for d in chosen]
    if "-H" in flags:
        return joined("\t".join(row) for row in table)
    if not table:
        return "no datasets available\n"
    return _table([ZFS_PROPERTIES[c][0] for c in columns], table, [ZFS_PROPERTIES[c][1] for c in columns])


def _get(pool: ZfsPool, opts: dict[str, str], flags: set[str], operands: list[str]) -> str:
    if not operands:
        raise usage("get", "missing property argument")
    fields = opts.get("-o", "name,property,value,source").split(",")
    if any(name not in ZFS_GET_FIELDS for name in fields):
        bad = next(name for name in fields if name not in ZFS_GET_FIELDS)
        raise usage("get", f"invalid field '{bad}'")
    props = list(ZFS_PROPERTIES) if operands[0] == "all" else _properties(operands[0], "get")
    rows = []
    for dataset in pool.select(operands[1:], set(DatasetType), "-r" in flags):
        for prop in props:
            value = pool.value(dataset, prop, "-p" in flags)
            source = "local" if prop == "volsize" and dataset.type is DatasetType.VOLUME else "-"
            cells = {"name": dataset.name, "property": prop, "value": value, "source": source}
            rows.append([cells[name] for name in fields])
    if "-H" in flags:
        return joined("\t".join(row) for row in rows)
    return _table([ZFS_GET_FIELDS[name] for name in fields], rows, [False] * len(fields))
