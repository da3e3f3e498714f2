"""``ldm``: one subcommand table made of the listing, life-cycle, resource, service and migration commands.

Each command is ``function(world, subcommand, args) -> stdout`` and raises `CommandError` to refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import lifecycle, listing, migration, resources, services
from .args import USAGE, all_usage, canonical_subcommand
from .formats import format_version

if TYPE_CHECKING:
    from .world import LdomsWorld

Command = Callable[["LdomsWorld", str, list[str]], str]

COMMANDS: dict[str, Command] = {**listing.COMMANDS, **lifecycle.COMMANDS, **resources.COMMANDS,
                                **services.COMMANDS, **migration.COMMANDS}
assert set(COMMANDS) == set(USAGE), set(COMMANDS) ^ set(USAGE)

__all__ = ["COMMANDS", "canonical_subcommand", "run"]


def run(world: LdomsWorld, args: list[str]) -> str:
    """``ldm ARGS`` on ``world``: its stdout, or `CommandError`."""
    if args == ["-V"]:
        return format_version()
    subcommand = canonical_subcommand(args[0]) if args else ""
    if subcommand not in COMMANDS:
        raise all_usage(args[0] if args and args[0] != "--help" else None)
    return COMMANDS[subcommand](world, subcommand, args[1:])
