"""The global zone's storage: ZFS pools and datasets, and the files that matter to zones.

Files are kept as a path → `Node` map, not as bytes: a zone's installed image (``ZONEPATH/root``), the
detach manifest (``ZONEPATH/SUNWdetached.xml``), the p2v archives in /export/archives, a root image
directory. Datasets own the paths under their mountpoint, so a snapshot freezes that subtree and a send
stream carries it to another host.

The ``zfs`` command lines and messages follow zfs(8) and the wording of illumos libzfs
(``cannot open 'X': dataset does not exist``, ``cannot receive: invalid stream (bad magic number)``,
``... checksum mismatch or incomplete stream``); the ``-H`` and ``-p`` formats are zfs(8)'s: no header,
one tab between fields, exact numbers in bytes. Sizes and layouts are RECONSTRUCTED.
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..zfsnum import zfs_nicenum as nicenum
from .model import K


class ZfsError(Exception):
    """A refused zfs operation: ``str(error)`` is zfs's message; exit status ``status``."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Node:
    """A path that matters: ``dir``, ``image`` (a system's root: zone root or root image directory),
    ``manifest`` (SUNWdetached.xml), ``archive`` (a p2v archive) or ``file``. ``meta`` holds what the
    simulation reads back (an image's OS and software level, an archive's format, ...)."""

    kind: str
    meta: dict[str, Any] = field(default_factory=dict)
    size: int = 0

    def copy(self) -> "Node":
        return Node(self.kind, json.loads(json.dumps(self.meta)), self.size)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "meta": self.meta, "size": self.size}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Node":
        return cls(str(data["kind"]), dict(data.get("meta", {})), int(data.get("size", 0)))


@dataclass
class Dataset:
    """A filesystem or snapshot. ``mountpoint`` None means inherited; ``own`` is the space the dataset
    alone uses, ``referenced`` what it refers to (a clone refers to its origin's data); ``frozen`` is a
    snapshot's copy of the files under its filesystem's mountpoint."""

    name: str
    type: str = "filesystem"
    own: int = 0
    referenced: int = 0
    mountpoint: str | None = None
    origin: str | None = None
    created: int = 0
    creation: int = 0
    frozen: dict[str, Node] | None = None


#: what an empty filesystem refers to (zfs list shows 23K for a new one on illumos; RECONSTRUCTED)
EMPTY_FILESYSTEM = 23 * K
#: zfs list -o properties: name → (header, right-aligned)
PROPERTIES = {"name": ("NAME", False), "type": ("TYPE", False), "used": ("USED", True),
              "available": ("AVAIL", True), "referenced": ("REFER", True), "mountpoint": ("MOUNTPOINT", False),
              "origin": ("ORIGIN", False), "creation": ("CREATION", False)}
ALIASES = {"avail": "available", "refer": "referenced"}
TYPES = {"filesystem": "filesystem", "fs": "filesystem", "snapshot": "snapshot", "snap": "snapshot",
         "volume": "volume", "vol": "volume"}


class Storage:
    """Pools, datasets and files of one host."""

    def __init__(self, clock_epoch: int = 1_700_000_000) -> None:
        self.pools: dict[str, int] = {}
        self.datasets: dict[str, Dataset] = {}
        self.nodes: dict[str, Node] = {}
        self._created = 0
        self.epoch = clock_epoch

    # -- files --

    def put(self, path: str, node: Node) -> None:
        self.mkdirs(path.rpartition("/")[0] or "/")
        self.nodes[path] = node

    def mkdirs(self, path: str) -> None:
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            self.nodes.setdefault("/" + "/".join(parts[:depth]), Node("dir"))

    def exists(self, path: str) -> bool:
        return path == "/" or path in self.nodes

    def children(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return sorted(p for p in self.nodes if p.startswith(prefix) and "/" not in p[len(prefix):])

    def subtree(self, path: str) -> dict[str, Node]:
        """The nodes strictly below ``path``, by path relative to it."""
        prefix = path.rstrip("/") + "/"
        return {p[len(prefix):]: n.copy() for p, n in self.nodes.items() if p.startswith(prefix)}

    def remove_tree(self, path: str, *, keep_root: bool = False) -> None:
        prefix = path.rstrip("/") + "/"
        for victim in [p for p in self.nodes if p.startswith(prefix) or (p == path and not keep_root)]:
            del self.nodes[victim]

    def graft(self, path: str, tree: dict[str, Node]) -> None:
        self.mkdirs(path)
        for relative, node in sorted(tree.items()):
            self.nodes[f"{path.rstrip('/')}/{relative}"] = node.copy()

    # -- datasets --

    def add_pool(self, name: str, size: int, *, mountpoint: str | None = None) -> Dataset:
        self.pools[name] = size
        return self._add(Dataset(name, own=32 * K, referenced=32 * K, mountpoint=mountpoint))

    def _add(self, dataset: Dataset) -> Dataset:
        self._created += 1
        dataset.created = self._created
        dataset.creation = self.epoch + self._created * 3600
        self.datasets[dataset.name] = dataset
        if dataset.type == "filesystem":
            mountpoint = self.mountpoint(dataset)
            if mountpoint.startswith("/"):
                self.mkdirs(mountpoint)
        return dataset

    def open(self, name: str) -> Dataset:
        if name not in self.datasets:
            raise ZfsError(f"cannot open '{name}': dataset does not exist")
        return self.datasets[name]

    def pool_of(self, name: str) -> str:
        return name.partition("/")[0].partition("@")[0]

    def mountpoint(self, dataset: Dataset) -> str:
        """zfs(8) ``mountpoint``: the explicit value, else the parent's with this name's last component
        appended (``/POOL`` for a pool's root); ``-`` for snapshots."""
        if dataset.type == "snapshot":
            return "-"
        if dataset.mountpoint is not None:
            return dataset.mountpoint
        parent, _, leaf = dataset.name.rpartition("/")
        if not parent:
            return f"/{dataset.name}"
        base = self.mountpoint(self.datasets[parent])
        if base in ("legacy", "none"):
            return base
        return f"{base.rstrip('/')}/{leaf}"

    def filesystem_at(self, path: str) -> Dataset | None:
        """The filesystem mounted exactly at ``path``."""
        return next((d for d in self.datasets.values() if d.type == "filesystem" and self.mountpoint(d) == path),
                    None)

    def filesystem_containing(self, path: str) -> Dataset | None:
        """The filesystem whose mountpoint is the longest prefix of ``path``."""
        best, length = None, -1
        for dataset in self.datasets.values():
            mountpoint = self.mountpoint(dataset) if dataset.type == "filesystem" else "-"
            if mountpoint.startswith("/") and (path == mountpoint or path.startswith(mountpoint.rstrip("/") + "/")) \
                    and len(mountpoint) > length:
                best, length = dataset, len(mountpoint)
        return best

    def descendants(self, name: str) -> list[Dataset]:
        return [d for d in self.datasets.values() if d.name.startswith((f"{name}/", f"{name}@"))]

    def used(self, dataset: Dataset) -> int:
        if dataset.type == "snapshot":
            return 0
        return dataset.own + sum(d.own for d in self.descendants(dataset.name) if d.type != "snapshot")

    def available(self, dataset: Dataset) -> int:
        pool = self.pool_of(dataset.name)
        return max(0, self.pools[pool] - self.used(self.datasets[pool]))

    def create(self, name: str, *, mountpoint: str | None = None, own: int = 0) -> Dataset:
        if "@" in name or not name or name.startswith("/"):
            raise ZfsError(f"cannot create '{name}': invalid dataset name", 2)
        if name in self.datasets:
            raise ZfsError(f"cannot create '{name}': dataset already exists")
        pool = self.pool_of(name)
        if pool not in self.pools:
            raise ZfsError(f"cannot create '{name}': no such pool '{pool}'")
        if name.rpartition("/")[0] not in self.datasets:
            raise ZfsError(f"cannot create '{name}': parent does not exist")
        if own > self.available(self.datasets[pool]):
            raise ZfsError(f"cannot create '{name}': out of space")
        own = max(own, EMPTY_FILESYSTEM)
        return self._add(Dataset(name, own=own, referenced=own, mountpoint=mountpoint))

    def snapshot(self, name: str) -> Dataset:
        parent, _, snap = name.partition("@")
        if not snap or "/" in snap:
            raise ZfsError(f"cannot create snapshot '{name}': invalid character '/' in name" if "/" in snap
                           else f"cannot create snapshot '{name}': empty component or misplaced '@' or '#' "
                                "delimiter in name", 2 if not snap else 1)
        source = self.open(parent)
        if name in self.datasets:
            raise ZfsError(f"cannot create snapshot '{name}': dataset already exists")
        frozen = self.subtree(self.mountpoint(source)) if self.mountpoint(source).startswith("/") else {}
        return self._add(Dataset(name, "snapshot", own=0, referenced=source.referenced, frozen=frozen))

    def clone(self, snapshot: str, name: str) -> Dataset:
        origin = self.open(snapshot)
        if origin.type != "snapshot":
            raise ZfsError(f"cannot open '{snapshot}': operation not applicable to datasets of this type")
        if self.pool_of(name) != self.pool_of(snapshot):
            raise ZfsError(f"cannot create '{name}': source and target pools differ")
        if name in self.datasets:
            raise ZfsError(f"cannot create '{name}': dataset already exists")
        if name.rpartition("/")[0] not in self.datasets:
            raise ZfsError(f"cannot create '{name}': parent does not exist")
        clone = self._add(Dataset(name, own=0, referenced=origin.referenced, origin=snapshot))
        self.graft(self.mountpoint(clone), origin.frozen or {})
        return clone

    def destroy(self, name: str, *, recursive: bool = False) -> None:
        dataset = self.open(name)
        if name in self.pools:
            raise ZfsError(f"cannot destroy '{name}': operation does not apply to pools")
        children = self.descendants(name)
        if children and not recursive:
            kind = "snapshots" if all(c.type == "snapshot" for c in children) else "children"
            raise ZfsError("\n".join([f"cannot destroy '{name}': filesystem has {kind}",
                                      "use '-r' to destroy the following datasets:",
                                      *(c.name for c in children)]))
        doomed = [dataset, *children]
        snapshots = {d.name for d in doomed if d.type == "snapshot"}
        clones = [d for d in self.datasets.values() if d.origin in snapshots and d not in doomed]
        if clones:
            blocker = next(c.origin for c in clones)
            raise ZfsError("\n".join([f"cannot destroy '{blocker}': snapshot has dependent clones",
                                      "use '-R' to destroy the following datasets:", *(c.name for c in clones)]))
        if dataset.type == "filesystem":
            path = self.mountpoint(dataset)
            if path.startswith("/"):
                self.remove_tree(path, keep_root=False)
        for victim in doomed:
            del self.datasets[victim.name]

    # -- zfs list --

    def value(self, dataset: Dataset, prop: str, exact: bool) -> str:
        numbers = {"used": self.used(dataset), "referenced": dataset.referenced,
                   "available": None if dataset.type == "snapshot" else self.available(dataset)}
        if prop in numbers:
            value = numbers[prop]
            return "-" if value is None else str(value) if exact else nicenum(value)
        if prop == "name":
            return dataset.name
        if prop == "type":
            return dataset.type
        if prop == "origin":
            return dataset.origin or "-"
        if prop == "creation":
            return str(dataset.creation) if exact else time.strftime("%a %b %e %H:%M %Y", time.gmtime(dataset.creation))
        return self.mountpoint(dataset)

    def listing(self, names: Sequence[str], *, types: set[str], columns: Sequence[str], scripted: bool,
                exact: bool, depth: int | None) -> str:
        """zfs(8) ``zfs list``: sorted by name, a dataset's snapshots right after it in creation order;
        ``-H`` tab-separated without a header, ``-p`` exact byte counts. Only datasets of ``types`` are listed,
        those named on the command line included (libzfs zfs_iter.c ``zfs_callback`` adds a handle only when
        its type is asked for); with ``-r``/``-d`` a named filesystem is opened whatever the types, so that its
        descendants and snapshots are reached (``zfs_for_each``: "If we're recursive, then we always allow
        filesystems as arguments"), and without them a name of another type is refused. Snapshots need
        ``-t``: the pool's listsnapshots property is off."""
        if names:
            chosen: list[Dataset] = []
            for name in names:
                dataset = self.open(name)
                if depth is None and dataset.type not in types:
                    raise ZfsError(f"cannot open '{name}': operation not applicable to datasets of this type")
                base_depth = name.count("/")
                chosen.append(dataset)
                if depth is not None:
                    # a snapshot is one level below its filesystem (zfs list -d 1 shows a filesystem's own)
                    chosen += [d for d in self.descendants(name)
                               if d.name.partition("@")[0].count("/") - base_depth + ("@" in d.name) <= depth]
        else:
            chosen = list(self.datasets.values())
        shown = sorted({d.name: d for d in chosen if d.type in types}.values(),
                       key=lambda d: (d.name.partition("@")[0], d.type == "snapshot", d.created))
        table = [[self.value(d, column, exact) for column in columns] for d in shown]
        if scripted:
            return "".join("\t".join(row) + "\n" for row in table)
        if not table:
            return ""
        headers = [PROPERTIES[column][0] for column in columns]
        widths = [max(len(cell) for cell in column) for column in zip(headers, *table)]
        return "".join("  ".join(cell.rjust(width) if PROPERTIES[column][1] else cell.ljust(width)
                                 for cell, width, column in zip(row, widths, columns)).rstrip() + "\n"
                       for row in [headers, *table])


# -- send streams ---------------------------------------------------------------------------------

#: the simulator's stream: MAGIC, a big-endian u64 manifest length, the manifest (JSON: what was sent
#: and the files under the dataset), a u64 payload length, the payload (stand-in blocks, sized from the
#: data sent), and the SHA-256 of everything before it. Not ZFS's on-disk format (RECONSTRUCTED); it is a
#: real byte stream, so a corrupted or cut-off transfer is detected the way ``zfs receive`` detects one.
MAGIC = b"ZSIMSTRM"
MAX_STREAM = 64 << 20
_CHUNK = 64 * K


def payload_size(referenced: int) -> int:
    return max(64 * K, min(referenced >> 10, 2 << 20))


def send_stream(storage: Storage, name: str) -> Iterator[bytes]:
    """The bytes ``zfs send NAME`` writes (NAME a snapshot), in chunks. Raises ZfsError first if NAME
    is not a snapshot that exists (zfs send checks before writing anything)."""
    snapshot = storage.open(name)
    if snapshot.type != "snapshot":
        raise ZfsError(f"cannot send '{name}': operation not applicable to datasets of this type")
    manifest = json.dumps({"version": 1, "snapshot": name, "referenced": snapshot.referenced,
                           "files": {path: node.to_json() for path, node in sorted((snapshot.frozen or {}).items())}},
                          sort_keys=True).encode()
    size = payload_size(snapshot.referenced)
    digest = hashlib.sha256()

    def emit(data: bytes) -> bytes:
        digest.update(data)
        return data

    def generate() -> Iterator[bytes]:
        yield emit(MAGIC + struct.pack(">Q", len(manifest)) + manifest + struct.pack(">Q", size))
        blocks = random.Random(name)
        for offset in range(0, size, _CHUNK):
            yield emit(blocks.randbytes(min(_CHUNK, size - offset)))
        yield digest.digest()

    return generate()


def read_stream(data: bytes) -> dict[str, Any]:
    """The manifest of a complete, intact stream; ZfsError with zfs receive's wording otherwise."""
    if len(data) < len(MAGIC) or not data.startswith(MAGIC):
        raise ZfsError("cannot receive: invalid stream (bad magic number)")
    incomplete = ZfsError("cannot receive new filesystem stream: checksum mismatch or incomplete stream")
    try:
        (length,) = struct.unpack_from(">Q", data, len(MAGIC))
        start = len(MAGIC) + 8
        (size,) = struct.unpack_from(">Q", data, start + length)
    except struct.error:
        raise incomplete from None
    end = start + length + 8 + size
    if len(data) != end + 32 or hashlib.sha256(data[:end]).digest() != data[end:]:
        raise incomplete
    try:
        manifest = json.loads(data[start:start + length])
    except ValueError:
        raise incomplete from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise incomplete
    return manifest
