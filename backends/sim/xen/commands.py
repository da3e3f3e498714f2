"""The programs a simulated dom0 has, one command at a time: ``run(world, argv, stdin) -> Reply``.

Which programs exist depends on the flavour: ``xl`` on xl dom0s; ``xm`` on xm and xVM dom0s; ``virsh``,
``virt-install``, ``vdiskadm`` and ``zfs`` on xVM; LVM (``lvs``, ``vgs``, ``lvcreate``, ``lvremove``) on
the Linux dom0s; ``xentop`` everywhere. The small file tools an operator or hvdeck uses around them —
``tee`` (how a new guest's configuration reaches /etc/xen: the text on stdin), ``cat``, ``ls``, ``rm``,
``mkdir``, ``test``, ``hostname``, ``uname``, ``echo`` — print GNU coreutils' messages. A program the host
does not have raises `CommandNotFound` (the shell prints dash's ``not found``).

``ssh HOST COMMAND`` reaches the dom0's peers (``XenWorld.peers``, as ``xl migrate`` does) and runs a short
command there; it knows no other host, has no keys to check and ignores its options (``-o BatchMode=yes``):
an unknown host fails with OpenSSH's ``Could not resolve hostname`` (exit 255). ``pkill xentop`` signals the
running xentop streams, which end at their next wake-up (xentop's SIGTERM handler ends its loop, exit 0).

``xentop`` here prints its frames at once, without waiting between them (over SSH ``server.py`` streams it
instead); a ``xentop`` without ``-i`` prints one frame. A console or a migration needs the stream too.
"""

from __future__ import annotations

import getopt
import posixpath
from collections.abc import Sequence

from ..shell import CommandNotFound
from ..sshserver import Reply
from .model import CommandError, Toolstack
from .storage import EINVALID_CMD_LINE, lvm_size
from .world import XenWorld
from .xentop import CURRENT, XEN_33_SOLARIS, XEN_41, XentopStyle, format_frame, parse_options
from .xl import Xl
from .xm import Xm
from .xvm import Virsh, virt_install


def xentop_style(world: XenWorld) -> XentopStyle:
    if world.toolstack is Toolstack.XVM:
        return XEN_33_SOLARIS
    return XEN_41 if world.toolstack is Toolstack.XM else CURRENT


def programs(world: XenWorld) -> set[str]:
    names = {"hostname", "uname", "tee", "cat", "ls", "rm", "mkdir", "test", "echo", "true", "false", "xentop",
             "which", "command", "ssh", "pkill"}
    if world.toolstack is Toolstack.XL:
        names.add("xl")
    else:
        names.add("xm")
    if world.toolstack is Toolstack.XVM:
        names.update({"virsh", "virt-install", "vdiskadm", "zfs"})
    else:
        names.update({"lvs", "vgs", "lvcreate", "lvremove"})
        if world.zfs is not None:
            names.add("zfs")
    return names


def run(world: XenWorld, argv: Sequence[str], stdin: str | None = None) -> Reply:
    """One command. Raises CommandNotFound for a program this host does not have."""
    program, args = argv[0], list(argv[1:])
    if program not in programs(world):
        raise CommandNotFound(program)
    world.settle()
    try:
        if program == "xl":
            return Xl(world).run(args, stdin)
        if program == "xm":
            return Xm(world).run(args, stdin)
        if program == "virsh":
            return Virsh(world).run(args)
        if program == "virt-install":
            return virt_install(world, args)
        if program == "xentop":
            return xentop_once(world, args)
        if program in ("lvs", "vgs", "lvcreate", "lvremove"):
            return _lvm(world, program, args, stdin)
        if program == "zfs":
            assert world.zfs is not None
            return Reply(world.zfs.run(args))
        if program == "vdiskadm":
            return Reply(world.vdisks.run(args, world.clock()))
        return _FILE_TOOLS[program](world, args, stdin)
    except CommandError as error:
        return Reply(error.stdout, error.stderr, error.status)


def xentop_once(world: XenWorld, args: Sequence[str]) -> Reply:
    style = xentop_style(world)
    options = parse_options(args, style)
    if not options.batch:
        raise CommandError("Error opening terminal: unknown.\n", 1)
    frames, previous = [], None
    for _ in range(options.iterations or 1):
        node = world.node_sample()
        frames.append(format_frame(node, previous, options, style))
        previous = node
    return Reply("".join(frames))


# -- LVM ---------------------------------------------------------------------------------------------------


def _lvm(world: XenWorld, program: str, args: list[str], stdin: str | None) -> Reply:
    if program == "lvs":
        return Reply(world.lvm.lvs(args))
    if program == "vgs":
        return Reply(world.lvm.vgs_report(args))
    if program == "lvcreate":
        try:
            opts, operands = getopt.gnu_getopt(args, "L:n:syW:Z:", ["size=", "name=", "snapshot", "yes",
                                                                   "wipesignatures=", "zero="])
        except getopt.GetoptError as error:
            raise CommandError(f"  {error.msg}\n", EINVALID_CMD_LINE) from None
        values = {k: v for k, v in opts}
        size_text = values.get("-L", values.get("--size"))
        name = values.get("-n", values.get("--name"))
        snapshot = "-s" in values or "--snapshot" in values
        if size_text is None:
            raise CommandError("  Please specify either size or extents.\n  Run `lvcreate --help' for more "
                               "information.\n", EINVALID_CMD_LINE)
        try:
            size = lvm_size(size_text)
        except ValueError:
            raise CommandError(f'  Invalid argument for --size: {size_text}\n  Error during parsing of command line.\n',
                               EINVALID_CMD_LINE) from None
        if len(operands) != 1:
            raise CommandError("  Please provide a volume group name\n  Run `lvcreate --help' for more information.\n",
                               EINVALID_CMD_LINE)
        target = operands[0].removeprefix("/dev/")
        vg, _, origin = target.partition("/")
        if snapshot and not origin:
            raise CommandError("  Please specify a logical volume to act as the snapshot origin.\n",
                               EINVALID_CMD_LINE)
        if name is None:
            name = f"lvol{len(world.lvm.vgs[vg].lvs) if vg in world.lvm.vgs else 0}"
        return Reply("".join(world.lvm.create(name, vg, size, world.clock(), origin if snapshot else None)))
    # lvremove
    try:
        opts, operands = getopt.gnu_getopt(args, "fy", ["force", "yes"])
    except getopt.GetoptError as error:
        raise CommandError(f"  {error.msg}\n", EINVALID_CMD_LINE) from None
    if not operands:
        raise CommandError("  Please enter one or more logical volume paths\n  Run `lvremove --help' for more "
                           "information.\n", EINVALID_CMD_LINE)
    forced = bool(opts)
    out = ""
    for operand in operands:
        spec = operand.removeprefix("/dev/")
        if not forced:
            answer = (stdin or "").strip().lower()
            out += f"Do you really want to remove active logical volume {spec}? [y/n]: "
            if answer not in ("y", "yes"):
                out += f"\n  Logical volume {spec.partition('/')[2]} not removed\n"
                continue
        out += "".join(world.lvm.remove(spec))
    return Reply(out)


# -- file tools ------------------------------------------------------------------------------------------


def _tee(world: XenWorld, args: list[str], stdin: str | None) -> Reply:
    append = "-a" in args
    text = stdin or ""
    errors = []
    for path in (a for a in args if not a.startswith("-")):
        try:
            world.write_file(path, (world.files.get(world.resolve(path), "") if append else "") + text)
        except CommandError as error:
            errors.append(error.stderr)
    return Reply(text, "".join(errors), 1 if errors else 0)


def _cat(world: XenWorld, args: list[str], stdin: str | None) -> Reply:
    out, errors = [], []
    for path in args:
        norm = world.resolve(path)
        if norm in world.files:
            out.append(world.files[norm])
        elif norm in world.saved:
            out.append("Xen saved domain, xl format\n")
        elif world.is_dir(norm):
            errors.append(f"cat: {path}: Is a directory\n")
        else:
            errors.append(f"cat: {path}: No such file or directory\n")
    return Reply("".join(out), "".join(errors), 1 if errors else 0)


def _ls(world: XenWorld, args: list[str], stdin: str | None) -> Reply:
    paths = [a for a in args if not a.startswith("-")] or ["/root"]
    out: list[str] = []
    errors: list[str] = []
    for path in paths:
        kind = world.path_kind(path)
        if kind is None:
            errors.append(f"ls: cannot access '{path}': No such file or directory\n")
        elif kind == "dir":
            out.extend(f"{name}\n" for name in world.listdir(path))
        else:
            out.append(f"{path}\n")
    return Reply("".join(out), "".join(errors), 2 if errors else 0)


def _rm(world: XenWorld, args: list[str], stdin: str | None) -> Reply:
    force = any(a.startswith("-") and "f" in a for a in args)
    errors = []
    for path in (a for a in args if not a.startswith("-")):
        norm = world.resolve(path)
        if norm in world.files:
            del world.files[norm]
        elif norm in world.saved:
            del world.saved[norm]
        elif world.is_dir(norm):
            errors.append(f"rm: cannot remove '{path}': Is a directory\n")
        elif not force:
            errors.append(f"rm: cannot remove '{path}': No such file or directory\n")
    return Reply("", "".join(errors), 1 if errors else 0)


def _mkdir(world: XenWorld, args: list[str], stdin: str | None) -> Reply:
    parents = "-p" in args
    errors = []
    for path in (world.resolve(a) for a in args if not a.startswith("-")):
        if world.is_dir(path):
            if not parents:
                errors.append(f"mkdir: cannot create directory '{path}': File exists\n")
            continue
        parent = posixpath.dirname(path)
        if not world.is_dir(parent) and not parents:
            errors.append(f"mkdir: cannot create directory '{path}': No such file or directory\n")
            continue
        while path not in ("", "/") and not world.is_dir(path):
            world.dirs.add(path)
            path = posixpath.dirname(path)
    return Reply("", "".join(errors), 1 if errors else 0)


def _test(world: XenWorld, args: list[str], stdin: str | None) -> Reply:
    if len(args) == 2 and args[0] in ("-e", "-f", "-d", "-b", "-r", "-w", "-s"):
        kind = world.path_kind(args[1])
        ok = {"-e": kind is not None, "-f": kind == "file", "-d": kind == "dir", "-b": kind == "block",
              "-r": kind is not None, "-w": kind is not None, "-s": kind in ("file", "block")}[args[0]]
        return Reply("", "", 0 if ok else 1)
    if len(args) == 2 and args[0] in ("-S", "-c", "-p", "-L", "-h"):  # no sockets, character devices, FIFOs
        return Reply("", "", 1)                                      # or links on the simulated file system
    return Reply("", "", 0 if len(args) == 1 and args[0] else 1)


#: OpenSSH's options that take an argument (ssh.c getopt string)
_SSH_ARGS = "BbcDEeFIiJLlmOoPpQRSWw"


def _ssh(world: XenWorld, args: list[str], stdin: str | None) -> Reply:
    """``ssh [OPTIONS] [USER@]HOST COMMAND...`` to a peer dom0 (see the module docstring)."""
    from ..shell import run_line
    from .migrate import resolve

    short = "".join(f"{letter}:" for letter in _SSH_ARGS) + "1246AaCfGgKkMNnqsTtVvXxYy"
    try:
        _, operands = getopt.getopt(args, short)
    except getopt.GetoptError as error:
        return Reply("", f"unknown option -- {error.opt}\nusage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] destination "
                         "[command [argument ...]]\n", 255)
    if not operands:
        return Reply("", "usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] destination [command [argument ...]]\n", 255)
    destination, command = operands[0], operands[1:]
    peer = resolve(world, destination)
    if peer is None:
        host = destination.rpartition("@")[2]
        return Reply("", f"ssh: Could not resolve hostname {host}: Name or service not known\n", 255)
    if not command:
        return Reply("", "Pseudo-terminal will not be allocated because stdin is not a terminal.\n", 255)
    return run_line(" ".join(command), lambda argv: run(peer, argv, stdin))


def _pkill(world: XenWorld, args: list[str], stdin: str | None) -> Reply:
    """``pkill [-x] [-SIGNAL] NAME``: only xentop streams run long enough to be signalled here."""
    patterns = [a for a in args if not a.startswith("-")]
    if len(patterns) != 1:
        return Reply("", "pkill: no matching criteria specified\nTry `pkill --help' for more information.\n", 2)
    exact = "-x" in args
    matched = world.xentops > 0 and (patterns[0] == "xentop" if exact else patterns[0] in "xentop")
    if not matched:
        return Reply("", "", 1)
    world.xentop_kills += 1
    return Reply()


def _uname(world: XenWorld, args: list[str], stdin: str | None) -> Reply:
    m = world.machine
    solaris = m.system == "SunOS"
    fields = {"-s": m.system, "-n": world.hostname, "-r": m.release, "-v": m.version,
              "-m": "i86pc" if solaris else m.arch}
    if not args:
        return Reply(f"{m.system}\n")
    if "-a" in args:
        tail = "i86pc i386 i86xpv" if solaris else f"{m.arch} GNU/Linux"
        return Reply(f"{m.system} {world.hostname} {m.release} {m.version} {tail}\n")
    return Reply(" ".join(fields[a] for a in args if a in fields) + "\n")


#: where each program lives (``which``): xl, xm and xentop in /usr/sbin, the rest in /usr/bin or /sbin
_PATHS = {"xl": "/usr/sbin/xl", "xm": "/usr/sbin/xm", "xentop": "/usr/sbin/xentop", "lvs": "/sbin/lvs",
          "vgs": "/sbin/vgs", "lvcreate": "/sbin/lvcreate", "lvremove": "/sbin/lvremove", "zfs": "/usr/sbin/zfs",
          "vdiskadm": "/usr/sbin/vdiskadm", "virsh": "/usr/bin/virsh", "virt-install": "/usr/bin/virt-install"}


def _which(world: XenWorld, args: list[str], stdin: str | None) -> Reply:
    """``which NAME…`` (and the shell's ``command -v NAME``): the paths of the programs the host has."""
    names = [a for a in args if not a.startswith("-")]
    found = [_PATHS.get(name, f"/usr/bin/{name}") for name in names if name in programs(world)]
    return Reply("".join(f"{path}\n" for path in found), "", 0 if len(found) == len(names) and names else 1)


_FILE_TOOLS = {
    "which": _which, "command": _which, "ssh": _ssh, "pkill": _pkill, "tee": _tee, "cat": _cat, "ls": _ls,
    "rm": _rm, "mkdir": _mkdir,
    "test": _test, "uname": _uname,
    "hostname": lambda world, args, stdin: Reply(f"{world.hostname}\n"),
    "echo": lambda world, args, stdin: Reply(" ".join(args) + "\n"),
    "true": lambda world, args, stdin: Reply(),
    "false": lambda world, args, stdin: Reply("", "", 1),
}
