"""A few files on the control domain and the commands that make them, so that a client can hand
``ldm migrate-domain -p FILE`` a password file it wrote: ``mktemp``, ``tee``, ``cat``, ``chmod``, ``rm``.

Only what those commands need is modelled: a path, bytes and a mode. ``mktemp`` creates the file with mode
0600 in ``/tmp`` (``tmp.XXXXXX``) unless given a template, as Solaris mktemp(1) does; ``tee`` creates files
with mode 0644 (umask 022). Messages follow the Solaris commands' style (``cat: cannot open F: No such file
or directory``, ``chmod: WARNING: can't access F``, ``rm: F: No such file or directory``; RECONSTRUCTED).
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import CommandError

if TYPE_CHECKING:
    from .world import LdomsWorld

PROGRAMS = ("mktemp", "cat", "tee", "chmod", "rm")
READS_STDIN = ("cat", "tee")


@dataclass(slots=True)
class File:
    content: bytes
    mode: int


class Files(dict[str, File]):
    """Path -> `File`."""


def wants_stdin(argv: Sequence[str]) -> bool:
    """``cat`` with no file (or ``-``) and ``tee`` read their standard input."""
    if argv[0] == "tee":
        return True
    names = [arg for arg in argv[1:] if not arg.startswith("-") or arg == "-"]
    return not names or "-" in names


def run(world: LdomsWorld, argv: Sequence[str], stdin: str | None) -> str:
    program, args = argv[0], list(argv[1:])
    if program == "mktemp":
        return _mktemp(world, args)
    if program == "cat":
        out = []
        for name in args or ["-"]:
            if name == "-":
                out.append(stdin or "")
            elif name in world.files:
                out.append(world.files[name].content.decode("utf-8", "replace"))
            else:
                raise CommandError(f"cat: cannot open {name}: No such file or directory", 2)
        return "".join(out)
    if program == "tee":
        append = "-a" in args
        for name in (arg for arg in args if arg != "-a"):
            existing = world.files.get(name)
            data = (stdin or "").encode("utf-8")
            if existing is not None:
                existing.content = existing.content + data if append else data
            else:
                world.files[name] = File(data, 0o644)
        return stdin or ""
    if program == "chmod":
        if len(args) < 2 or not all(c in "01234567" for c in args[0]) or len(args[0]) > 4:
            raise CommandError("Usage: chmod [-fR] <absolute-mode> file ...", 2)
        missing = [name for name in args[1:] if name not in world.files]
        for name in args[1:]:
            if name in world.files:
                world.files[name].mode = int(args[0], 8)
        if missing:
            raise CommandError("\n".join(f"chmod: WARNING: can't access {name}" for name in missing), 2)
        return ""
    force = "-f" in args
    missing = [name for name in args if name != "-f" and name not in world.files]
    for name in args:
        world.files.pop(name, None)
    if missing and not force:
        raise CommandError("\n".join(f"rm: {name}: No such file or directory" for name in missing), 2)
    return ""


def _mktemp(world: LdomsWorld, args: list[str]) -> str:
    directory = "/tmp"
    if args[:1] == ["-p"] and len(args) >= 2:
        directory, args = args[1], args[2:]
    if len(args) > 1:
        raise CommandError("usage: mktemp [-dqtu] [-p prefix_dir] [template]", 1)
    template = args[0] if args else "tmp.XXXXXX"
    if not template.startswith("/"):
        template = f"{directory.rstrip('/')}/{template}"
    stem = template.rstrip("X")
    rng = random.Random(f"{world.hostname}/{len(world.files)}/{template}")
    while True:
        path = stem + "".join(rng.choice(string.ascii_letters + string.digits)
                              for _ in range(len(template) - len(stem)))
        if path not in world.files:
            world.files[path] = File(b"", 0o600)
            return path + "\n"
