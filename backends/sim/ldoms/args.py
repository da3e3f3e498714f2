"""How ``ldm`` reads its command line: subcommand names and their short forms, options, ``prop=value``
arguments, and the usage message it prints when they do not fit.

Synopses follow ldm(8) (ldm.md §10.1 quotes migrate-domain's by version); the usage wording is
RECONSTRUCTED.
"""

from __future__ import annotations

import getopt
from collections.abc import Iterable, Sequence

from .model import CommandError

#: ldm.md §13 short forms of whole subcommands
_SHORTCUTS = {"list": "list-domain", "ls": "list-domain", "bind": "bind-domain", "unbind": "unbind-domain",
              "start": "start-domain", "stop": "stop-domain", "migrate": "migrate-domain"}
#: ldm(8)'s verb and noun abbreviations, which give ldm.md §13's ls-bindings, rm-dom and the like
_VERBS = {"ls": "list", "rm": "remove"}
_NOUNS = {"dom": "domain", "mem": "memory", "var": "variable", "op": "operation"}


def canonical_subcommand(name: str) -> str:
    """``ls`` → ``list-domain``, ``rm-dom`` → ``remove-domain``, ``set-var`` → ``set-variable``."""
    if name in _SHORTCUTS:
        return _SHORTCUTS[name]
    verb, _, noun = name.partition("-")
    return f"{_VERBS.get(verb, verb)}-{_NOUNS.get(noun, noun)}" if noun else name


USAGE = {
    "list-domain": "list-domain [-e] [-l] [-o <format>] [-p] [<ldom>...]",
    "list-bindings": "list-bindings [-e] [-p] [<ldom>...]",
    "list-services": "list-services [-p]",
    "list-constraints": "list-constraints [-x] [-p] [<ldom>...]",
    "list-devices": "list-devices [-a] [-p] [core] [cpu] [crypto] [memory] [io]",
    "list-variable": "list-variable [<var-name>...] <ldom>",
    "list-spconfig": "list-spconfig",
    "add-spconfig": "add-spconfig <config_name>",
    "set-spconfig": "set-spconfig <config_name>",
    "remove-spconfig": "remove-spconfig <config_name>",
    "add-domain": "add-domain <ldom>",
    "remove-domain": "remove-domain <ldom>...",
    "add-vcpu": "add-vcpu <number> <ldom>",
    "set-vcpu": "set-vcpu <number> <ldom>",
    "remove-vcpu": "remove-vcpu <number> <ldom>",
    "add-memory": "add-memory <size>[GMK] <ldom>",
    "set-memory": "set-memory <size>[GMK] <ldom>",
    "remove-memory": "remove-memory <size>[GMK] <ldom>",
    "add-vnet": "add-vnet [mac-addr=<num>] [pvid=<pvid>] [vid=<vid1,vid2,...>] [mtu=<mtu>] [id=<id>] "
                "<if_name> <vswitch_name> <ldom>",
    "remove-vnet": "remove-vnet <if_name> <ldom>",
    "add-vdsdev": "add-vdsdev [options={ro,slice,excl}] <backend> <volume_name>@<service_name>",
    "remove-vdsdev": "remove-vdsdev <volume_name>@<service_name>",
    "add-vdisk": "add-vdisk [timeout=<seconds>] [id=<id>] <disk_name> <volume_name>@<service_name> <ldom>",
    "remove-vdisk": "remove-vdisk <disk_name> <ldom>",
    "set-variable": "set-variable <var-name>=<value>... <ldom>",
    "bind-domain": "bind-domain <ldom>",
    "unbind-domain": "unbind-domain <ldom>",
    "start-domain": "start-domain (-a | <ldom>...)",
    "stop-domain": "stop-domain [-f] [-r] (-a | <ldom>...)",
    # ldm.md §10.1: the OVM 3.0/3.1 synopsis (E29667, E38408), VERBATIM
    "migrate-domain": "migrate-domain [-f] [-n] [-p <filename>] <source-ldom> [<user>@]<target-host>[:<target-ldom>]",
    "cancel-operation": "cancel-operation migration <ldom>",
}


def usage(subcommand: str) -> CommandError:
    """ldm's usage message (RECONSTRUCTED wording and synopses, after ldm(8))."""
    return CommandError(f"Usage:\n    ldm {USAGE[subcommand]}")


def all_usage(unknown: str | None) -> CommandError:
    """Bare ``ldm``, ``ldm --help`` or an unknown subcommand: every synopsis (RECONSTRUCTED)."""
    head = f"Invalid command: {unknown}\n" if unknown else ""
    return CommandError(head + "Usage:\n" + "\n".join(f"    ldm {synopsis}" for synopsis in USAGE.values()))


def options(subcommand: str, args: Sequence[str], letters: str) -> tuple[dict[str, str], list[str]]:
    """GNU-style options (ldm takes them anywhere on the line): ``{flag: value}`` and the other arguments."""
    try:
        found, rest = getopt.gnu_getopt(list(args), letters)
    except getopt.GetoptError:
        raise usage(subcommand) from None
    return dict(found), rest


def properties(args: Sequence[str], allowed: Iterable[str], subcommand: str) -> tuple[dict[str, str], list[str]]:
    """Split ``prop=value`` arguments from the positional ones (names never contain ``=``)."""
    props, positional, allowed = {}, [], set(allowed)
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            positional.append(arg)
        elif key in allowed:
            props[key] = value
        else:
            raise usage(subcommand)
    return props, positional


def free_id(used: Iterable[int], wanted: str | None, what: str) -> int:
    """The id asked for (``id=N``), refused when taken, or the lowest free one."""
    used = set(used)
    if wanted is None:
        return min(set(range(len(used) + 1)) - used)
    if not wanted.isdigit():
        raise CommandError(f"Invalid {what} id: {wanted}")
    if int(wanted) in used:
        raise CommandError(f"The {what} id {wanted} is already in use")
    return int(wanted)
