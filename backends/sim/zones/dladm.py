"""``dladm show-link``: the global zone's datalinks, which a zone's network resources name.

The options and the parsable form follow illumos-gate usr/src/man/man8/dladm.8 (``show-link [-P] [[-p] -o
field[,...]] [link]``; "Parsable Output Format": one line per link, the fields asked for in that order,
separated by ``:``, a literal ``:`` written ``\\:`` and a backslash ``\\\\`` when more than one field is asked
for; ``-p`` needs ``-o``). Fields: LINK, CLASS (phys, aggr, etherstub, vlan, vnic...), MTU, STATE (up, down,
unknown), BRIDGE and OVER. The human table's column widths, and the messages, are RECONSTRUCTED (no real
sample in the project's format notes).

Links are the host's own (`ZonesWorld.links`: NICs, etherstubs, VNICs an administrator made) and the VNICs
zones bring up while they run: on illumos (OmniOS) a ``net`` with ``global-nic`` gets the VNIC named by its
``physical`` over that link; on Solaris 11 an ``anet`` is listed as ``ZONE/LINKNAME``, over its lower-link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..sshserver import Reply
from .model import Layout, State

if TYPE_CHECKING:
    from .world import ZonesWorld

FIELDS = ("link", "class", "mtu", "state", "bridge", "over")
_USAGE = ("usage:\tshow-link [-pP] [-o <field>,..] [-s [-i <interval>]] [<link>]\n")


@dataclass(frozen=True, slots=True)
class Link:
    name: str
    klass: str
    over: str = "--"
    mtu: int = 1500
    state: str = "up"

    def value(self, field: str) -> str:
        return {"link": self.name, "class": self.klass, "mtu": str(self.mtu), "state": self.state, "bridge": "--",
                "over": self.over}[field]


def links(world: "ZonesWorld") -> list[Link]:
    """The host's links, then those of running zones (in zone ID order)."""
    found = [Link(name, klass, over, 9000 if klass == "etherstub" else 1500, "unknown" if klass == "etherstub"
                  else "up") for name, (klass, over) in world.links.items()]
    first_phys = next((name for name, (klass, _) in world.links.items() if klass == "phys"), "--")
    running = sorted((z for z in world.zones.values() if z.state is State.RUNNING), key=lambda z: z.zoneid or 0)
    for zone in running:
        for net in zone.config.of_type("net"):
            nic, physical = net.props.get("global-nic"), net.props.get("physical", "")
            if nic and physical and physical not in world.links:
                found.append(Link(physical, "vnic", first_phys if nic == "auto" else nic))
        if world.layout is Layout.SOLARIS11:
            for anet in zone.config.of_type("anet"):
                lower = anet.props.get("lower-link", "auto")
                found.append(Link(f"{zone.name}/{anet.props.get('linkname', 'net0')}", "vnic",
                                  first_phys if lower == "auto" else lower))
    return found


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def run_dladm(world: "ZonesWorld", args: Sequence[str]) -> Reply:
    """``dladm show-link [-p] [-o FIELDS] [LINK]``; other subcommands are not simulated."""
    if not args or args[0] != "show-link":
        return Reply("", f"dladm: unknown subcommand '{args[0] if args else ''}'\n" if args else _USAGE, 1)
    parsable, fields, named = False, list(FIELDS), None
    rest = list(args[1:])
    while rest:
        arg = rest.pop(0)
        if arg in ("-p", "--parsable"):
            parsable = True
        elif arg in ("-o", "--output") and rest:
            fields = [f.strip().lower() for f in rest.pop(0).split(",")]
            if fields == ["all"]:
                fields = list(FIELDS)
        elif arg.startswith("--output="):
            fields = [f.strip().lower() for f in arg.partition("=")[2].split(",")]
        elif arg.startswith("-") or named is not None:
            return Reply("", f"dladm: illegal option -- {arg.lstrip('-')[:1]}\n{_USAGE}", 1)
        else:
            named = arg
    bad = [f for f in fields if f not in FIELDS]
    if bad:
        return Reply("", "dladm: invalid field(s) specified\n", 1)
    if parsable and "-o" not in args and not any(a.startswith("--output") for a in args):
        return Reply("", "dladm: -p requires -o\n", 1)
    shown = links(world)
    if named is not None:
        shown = [link for link in shown if link.name == named]
        if not shown:
            return Reply("", f"dladm: invalid link name '{named}'\n", 1)
    if parsable:
        if len(fields) == 1:  # dladm.8: no escaping for a single field
            return Reply("".join(f"{link.value(fields[0])}\n" for link in shown))
        return Reply("".join(":".join(_escape(link.value(f)) for f in fields) + "\n" for link in shown))
    rows = [[f.upper() for f in fields]] + [[link.value(f) for f in fields] for link in shown]
    widths = [max(len(row[i]) for row in rows) + 1 for i in range(len(fields))]
    return Reply("".join(" ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows))
