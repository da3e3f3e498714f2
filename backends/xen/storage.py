"""Pure reading of what holds a dom0's guest disks: LVM reports, ``zfs list -H -p``, directory listings.

No document in shared/formats shows these tools' output. The commands hvdeck runs are the scripting forms
their manuals document, whose output is one record a line with a separator and exact numbers:

- ``vgs``/``lvs --noheadings --units b --nosuffix --separator '|' -o FIELDS`` (lvm(8), lvmreport(7):
  ``--noheadings`` drops the heading line, ``--units b --nosuffix`` prints bytes without a unit,
  ``--separator`` joins the fields unaligned; each line starts with two spaces, which are stripped).
  ``snap_percent`` is empty for a volume that is not a snapshot.
- ``zfs list -H -p -o name,used,avail,volsize`` (zfs(1M)/zfs(8): ``-H`` tab-separated without headings,
  ``-p`` exact numbers; ``-`` where a property does not apply, as volsize of a filesystem).
- ``ls DIR`` (POSIX ls, output not to a terminal: one name a line).

Every parser returns a result or raises ParseError naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ParseError
from ..model import StoragePool, Volume

VG_FIELDS = ("vg_name", "vg_size", "vg_free")
LV_FIELDS = ("vg_name", "lv_name", "lv_size", "origin", "snap_percent")
ZFS_FIELDS = ("name", "used", "avail", "volsize")
SEPARATOR = "|"
_NUMBER = re.compile(r"[0-9]{1,20}")
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,6})?")


@dataclass(frozen=True, slots=True)
class VolumeGroup:
    name: str
    size: int
    free: int

    def pool(self) -> StoragePool:
        return StoragePool(name=self.name, kind="lvm", capacity_bytes=self.size, free_bytes=self.free,
                           path=f"/dev/{self.name}")


@dataclass(frozen=True, slots=True)
class LogicalVolume:
    vg: str
    name: str
    size: int
    origin: str | None = None
    #: how full a snapshot's change space is (0-100), None for a volume that is not a snapshot
    snap_percent: float | None = None

    @property
    def path(self) -> str:
        return f"/dev/{self.vg}/{self.name}"

    def volume(self, used_by: str | None = None) -> Volume:
        return Volume(pool=self.vg, name=self.name, capacity_bytes=self.size, path=self.path,
                      origin=f"{self.vg}/{self.origin}" if self.origin else None, used_by=used_by)


def _fields(text: str, source: str, count: int, separator: str) -> list[tuple[int, str, list[str]]]:
    rows = []
    for line_no, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        if len(line) > 4096:
            raise ParseError("line too long", line_no=line_no, line=line, source=source)
        fields = line.strip().split(separator) if separator != "\t" else line.split("\t")
        if len(fields) != count:
            raise ParseError(f"expected {count} fields", line_no=line_no, line=line, source=source)
        rows.append((line_no, line, [f.strip() for f in fields]))
    return rows


def _size(value: str, what: str, source: str, line_no: int, line: str) -> int:
    if not _NUMBER.fullmatch(value):
        raise ParseError(f"{what} {value[:40]!r} is not a number of bytes", line_no=line_no, line=line, source=source)
    return int(value)


def parse_vgs(text: str) -> tuple[VolumeGroup, ...]:
    """``vgs`` with `VG_FIELDS` (see the module docstring)."""
    return tuple(VolumeGroup(name, _size(size, "VSize", "vgs", n, line), _size(free, "VFree", "vgs", n, line))
                 for n, line, (name, size, free) in _fields(text, "vgs", len(VG_FIELDS), SEPARATOR))


def parse_lvs(text: str) -> tuple[LogicalVolume, ...]:
    """``lvs`` with `LV_FIELDS` (see the module docstring)."""
    volumes = []
    for n, line, (vg, name, size, origin, percent) in _fields(text, "lvs", len(LV_FIELDS), SEPARATOR):
        if percent and not _PERCENT.fullmatch(percent):
            raise ParseError(f"Snap% {percent[:40]!r} is not a percentage", line_no=n, line=line, source="lvs")
        volumes.append(LogicalVolume(vg, name, _size(size, "LSize", "lvs", n, line), origin or None,
                                     float(percent) if percent else None))
    return tuple(volumes)


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    used: int
    avail: int | None
    volsize: int | None

    @property
    def is_pool(self) -> bool:
        return "/" not in self.name and "@" not in self.name

    @property
    def is_volume(self) -> bool:
        return self.volsize is not None


def parse_zfs_list(text: str) -> tuple[Dataset, ...]:
    """``zfs list -H -p`` with `ZFS_FIELDS` (see the module docstring)."""
    rows = []
    for n, line, (name, used, avail, volsize) in _fields(text, "zfs list", len(ZFS_FIELDS), "\t"):
        rows.append(Dataset(name, _size(used, "used", "zfs list", n, line),
                            None if avail == "-" else _size(avail, "avail", "zfs list", n, line),
                            None if volsize == "-" else _size(volsize, "volsize", "zfs list", n, line)))
    return tuple(rows)


def parse_ls(text: str) -> tuple[str, ...]:
    """The names ``ls DIR`` printed, one a line (a name holding a newline is not read correctly, and is then
    refused by the path checks of commands.py)."""
    return tuple(line for line in text.split("\n") if line and "/" not in line and len(line) <= 255)
