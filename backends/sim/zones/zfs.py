"""The ``zfs`` command: list, create, snapshot, clone, destroy, send and receive (zfs(8) synopses and
libzfs messages; the streaming subcommands run on an SSH channel, see `world`).

``zfs list -H -p -o name,avail,used,mountpoint -t filesystem`` is what a create wizard asks to offer
datasets with free space. zfs-list(8): ``-H`` "Used for scripting mode. Do not print headers and separate
fields by a single tab instead of arbitrary white space."; ``-p`` "Display numbers in parsable (exact)
values." (illumos has had ``-p`` since issue 3993, 2014.) Without ``-t``, snapshots are listed only when
named (the listsnapshots pool property defaults to off).
"""

from __future__ import annotations

import getopt
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from ..sshserver import Reply
from .storage import ALIASES, PROPERTIES, TYPES, Storage, ZfsError, read_stream

#: zfs(8) synopses of the simulated subcommands, as zfs's usage messages print them
SYNOPSES = {
    "create": "create [-p] [-o property=value] ... <filesystem>",
    "destroy": "destroy [-fnpRrv] <filesystem|volume>\n\tdestroy [-dnpRrv] <snapshot>[%<snapname>][,...]",
    "snapshot": "snapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...",
    "clone": "clone [-p] [-o property=value] ... <snapshot> <filesystem|volume>",
    "list": "list [-Hp] [-r|-d max] [-o property[,...]] [-s property]...\n\t    [-S property]... [-t type[,...]] "
            "[filesystem|volume|snapshot] ...",
    "send": "send [-DnPpRvLe] [-[iI] snapshot] <snapshot>",
    "receive": "receive [-vnFu] <filesystem|volume|snapshot>\n\treceive [-vnFu] [-d | -e] <filesystem>",
}
LETTERS = {"create": "po:", "destroy": "fnpRrv", "snapshot": "ro:", "clone": "po:", "list": "Hprd:o:s:S:t:",
           "send": "DnPpRvLei:I:", "receive": "vnFude"}


def usage(command: str | None) -> str:
    if command is None:
        return "usage: zfs command args ...\nwhere 'command' is one of the following:\n\n" + \
            "".join(f"\t{synopsis}\n" for synopsis in SYNOPSES.values()) + "\n"
    return f"usage:\n\t{SYNOPSES[command]}\n"


def parse(args: Sequence[str]) -> tuple[str, dict[str, list[str]], list[str]]:
    """The subcommand (``recv`` is ``receive``), its options and operands; ZfsError (status 2) with zfs's
    usage when they do not parse."""
    if not args:
        raise ZfsError(usage(None).rstrip("\n"), 2)
    command = "receive" if args[0] == "recv" else args[0]
    if command not in SYNOPSES:
        raise ZfsError(f"unrecognized command '{args[0]}'\n" + usage(None).rstrip("\n"), 2)
    try:
        opts, rest = getopt.getopt(list(args[1:]), LETTERS[command])
    except getopt.GetoptError as error:
        raise ZfsError(f"invalid option '{error.opt}'\n{usage(command).rstrip()}", 2) from None
    found: dict[str, list[str]] = {}
    for flag, value in opts:
        found.setdefault(flag, []).append(value)
    return command, found, rest


def run_zfs(storage: Storage, args: Sequence[str], *, busy: AbstractSet[str] = frozenset()) -> Reply:
    """One zfs command that does not stream. ``busy`` are mountpoints of running zones (zfs destroy then
    fails as unmounting a busy filesystem does)."""
    try:
        command, opts, rest = parse(args)
        return Reply(_COMMANDS[command](storage, opts, rest, busy))
    except ZfsError as error:
        return Reply("", f"{error}\n", error.status)


def _list(storage: Storage, opts: dict[str, list[str]], names: list[str], busy: AbstractSet[str]) -> str:
    types = {"filesystem", "volume"}
    if "-t" in opts:
        wanted = opts["-t"][-1].split(",")
        if "all" in wanted:
            types = {"filesystem", "volume", "snapshot"}
        elif all(name in TYPES for name in wanted):
            types = {TYPES[name] for name in wanted}
        else:
            bad = next(name for name in wanted if name not in TYPES)
            raise ZfsError(f"invalid type '{bad}'\nfor type property, valid values are 'filesystem', 'snapshot', "
                           "'volume', 'bookmark', or 'all'\n" + usage("list").rstrip(), 2)
    columns = [ALIASES.get(c, c) for c in opts["-o"][-1].split(",")] if "-o" in opts else \
        ["name", "used", "available", "referenced", "mountpoint"]
    unknown = [c for c in columns if c not in PROPERTIES]
    if unknown:
        raise ZfsError(f"bad property list: invalid property '{unknown[0]}'\n" + usage("list").rstrip(), 2)
    depth = None
    if "-r" in opts:
        depth = 1 << 30
    if "-d" in opts:
        if not opts["-d"][-1].isdigit():
            raise ZfsError(f"invalid depth '{opts['-d'][-1]}'\n" + usage("list").rstrip(), 2)
        depth = int(opts["-d"][-1])
    if not names and depth is None:
        depth = 1 << 30
    return storage.listing(names, types=types, columns=columns, scripted="-H" in opts, exact="-p" in opts,
                           depth=depth)


def _create(storage: Storage, opts: dict[str, list[str]], names: list[str], busy: AbstractSet[str]) -> str:
    if len(names) != 1:
        raise ZfsError(("missing filesystem argument\n" if not names else "too many arguments\n")
                       + usage("create").rstrip(), 2)
    properties = dict(o.partition("=")[::2] for o in opts.get("-o", []))
    mountpoint = properties.get("mountpoint")
    if "-p" in opts:
        parts = names[0].split("/")
        for depth in range(2, len(parts)):
            parent = "/".join(parts[:depth])
            if parent not in storage.datasets:
                storage.create(parent)
        if names[0] in storage.datasets:
            return ""
    storage.create(names[0], mountpoint=mountpoint)
    return ""


def _snapshot(storage: Storage, opts: dict[str, list[str]], names: list[str], busy: AbstractSet[str]) -> str:
    if not names:
        raise ZfsError("missing snapshot argument\n" + usage("snapshot").rstrip(), 2)
    for name in names:
        storage.snapshot(name)
        if "-r" in opts:
            dataset, _, snap = name.partition("@")
            for child in storage.descendants(dataset):
                if child.type == "filesystem":
                    storage.snapshot(f"{child.name}@{snap}")
    return ""


def _clone(storage: Storage, opts: dict[str, list[str]], names: list[str], busy: AbstractSet[str]) -> str:
    if len(names) != 2:
        raise ZfsError(usage("clone").rstrip(), 2)
    storage.clone(names[0], names[1])
    return ""


def _destroy(storage: Storage, opts: dict[str, list[str]], names: list[str], busy: AbstractSet[str]) -> str:
    if len(names) != 1:
        raise ZfsError(usage("destroy").rstrip(), 2)
    dataset = storage.open(names[0])
    recursive = bool({"-r", "-R"} & set(opts))
    if storage.descendants(names[0]) and not recursive:
        storage.destroy(names[0])  # raises: zfs lists the children before it unmounts anything
    if dataset.type == "filesystem" and storage.mountpoint(dataset) in busy:
        raise ZfsError(f"cannot unmount '{storage.mountpoint(dataset)}': Device busy")
    storage.destroy(names[0], recursive=recursive)
    return ""


def _not_here(storage: Storage, opts: dict[str, list[str]], names: list[str], busy: AbstractSet[str]) -> str:
    # zfs send and receive move bytes; they run on a channel of their own (ZonesWorld.process)
    raise ZfsError("this simulated host streams zfs send and receive only as a command line of their own")


_COMMANDS = {"list": _list, "create": _create, "snapshot": _snapshot, "clone": _clone, "destroy": _destroy,
             "send": _not_here, "receive": _not_here}


def check_send(storage: Storage, args: Sequence[str]) -> tuple[str, bool]:
    """The snapshot ``zfs send`` names and whether ``-v`` was given; ZfsError when there is nothing to send."""
    command, opts, rest = parse(args)
    if len(rest) != 1:
        raise ZfsError(("missing snapshot argument\n" if not rest else "too many arguments\n")
                       + usage("send").rstrip(), 2)
    if "@" not in rest[0]:
        raise ZfsError(f"Error: Unsupported flag with filesystem or bookmark.\n{usage('send').rstrip()}", 2) \
            if opts else ZfsError(f"cannot send '{rest[0]}': operation not applicable to datasets of this type")
    storage.open(rest[0])
    return rest[0], "-v" in opts


def receive(storage: Storage, args: Sequence[str], data: bytes) -> tuple[str, str]:
    """``zfs receive [-F] [-u] [-v] TARGET`` of a complete stream ``data``: the filesystem is created (or,
    with -F, replaced) with the stream's snapshot and files. Returns (stdout, stderr); raises ZfsError."""
    _command, opts, rest = parse(["receive", *args])
    if len(rest) != 1:
        raise ZfsError(("missing snapshot argument\n" if not rest else "too many arguments\n")
                       + usage("receive").rstrip(), 2)
    manifest = read_stream(data)
    source = str(manifest.get("snapshot", ""))
    target, _, snap = rest[0].partition("@")
    snap = snap or source.partition("@")[2]
    if target in storage.datasets:
        if "-F" not in opts:
            raise ZfsError(f"cannot receive new filesystem stream: destination '{target}' exists\n"
                           "must specify -F to overwrite it")
        storage.destroy(target, recursive=True)
    if target.rpartition("/")[0] not in storage.datasets:
        # libzfs zfs_receive_one (RECONSTRUCTED wording)
        raise ZfsError(f"cannot receive new filesystem stream: destination '{target.rpartition('/')[0]}' does not "
                       "exist")
    referenced = int(manifest.get("referenced", 0))
    dataset = storage.create(target, own=referenced)
    from .storage import Node
    files = {path: Node.from_json(node) for path, node in manifest["files"].items()}
    storage.graft(storage.mountpoint(dataset), files)
    storage.snapshot(f"{target}@{snap}")
    out = f"receiving full stream of {source} into {target}@{snap}\n" if "-v" in opts else ""
    return out, ""
