"""``sh -c SCRIPT sh ARG...`` on the simulated control domain, for the two scripts with which hvdeck hands
ldm a password file (`hvdeck.backends.ldoms.migration`): `WRITE_SECRET` writes stdin to the file ``$1``
under ``umask 077`` (mode 0600 for a new file; ``>`` keeps the mode of one that exists), and `DRY_RUN`
writes the file, runs ``ldm migrate-domain -n -p "$1" "$2" "$3"``, removes the file and exits with ldm's
status.

The simulated host runs command lines, not a shell language (`sim/shell.py` refuses redirections and
expansions), so these scripts are recognised exactly and done as sh would do them; any other script is
refused (exit 2, as dash exits on what it cannot run). What the scripts do under a real ``/bin/sh`` is
checked in tests/unit/test_ldoms_migration.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...ldoms.migration import DRY_RUN, WRITE_SECRET
from ..sshserver import Reply, StdinReader
from .files import File

if TYPE_CHECKING:
    from .world import LdomsWorld


def _write(world: LdomsWorld, path: str, data: str) -> None:
    existing = world.files.get(path)
    if existing is not None:
        existing.content = data.encode("utf-8")
    else:
        world.files[path] = File(data.encode("utf-8"), 0o600)


async def run(world: LdomsWorld, argv: Sequence[str], read_stdin: StdinReader | None) -> Reply:
    args = list(argv[1:])
    if len(args) < 2 or args[0] != "-c" or args[1] not in (WRITE_SECRET, DRY_RUN):
        return Reply("", "sh: the simulated control domain runs only hvdeck's password-file scripts\n", 2)
    script, params = args[1], args[3:]  # args[2] is $0
    data = await read_stdin() if read_stdin is not None else ""
    if script == WRITE_SECRET:
        if len(params) < 1:
            return Reply("", "sh: 1: cannot create : Directory nonexistent\n", 2)
        _write(world, params[0], data)
        return Reply()
    if len(params) < 3:
        return Reply("", "sh: the dry-run script needs a file, a domain and a target\n", 2)
    path, domain, destination = params[:3]
    _write(world, path, data)
    try:
        return await world.execute(["ldm", "migrate-domain", "-n", "-p", path, domain, destination])
    finally:
        world.files.pop(path, None)
