"""The ldm subcommands that only read: ``list-domain`` (with ``-l``, ``-e``, ``-p``, ``-o status``),
``list-bindings``, ``list-services``, ``list-constraints``, ``list-devices``, ``list-variable`` and
``list-spconfig``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import migration
from .args import options, usage
from .formats import format_bindings_parseable, format_list, format_list_parseable, format_long
from .formats_host import (
    format_constraints,
    format_constraints_parseable,
    format_constraints_xml,
    format_devices,
    format_devices_parseable,
    format_services,
    format_services_parseable,
    format_spconfig,
    format_status,
    format_status_parseable,
    format_variables,
)
from .model import CommandError

if TYPE_CHECKING:
    from .world import LdomsWorld

DEVICE_KINDS = ("core", "cpu", "memory", "io", "crypto")
#: ``ldm list -o`` formats simulated (ldm.md §3.6 lists the others, which are not)
LIST_FORMATS = ("status",)


def list_domain(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    flags, names = options(subcommand, args, "elo:p")
    rows = world.rows(names)
    if "-o" in flags:
        if flags["-o"] not in LIST_FORMATS or flags.keys() & {"-l", "-e"}:
            raise usage(subcommand)
        statuses = [(domain, migration.status_of(world, domain)) for domain, _ in rows]
        return format_status_parseable(statuses) if "-p" in flags else format_status(statuses)
    long = bool(flags.keys() & {"-l", "-e"})
    if "-p" in flags:
        if long:
            return format_bindings_parseable(rows, world.services, world.machine.strands_per_core)
        return format_list_parseable(rows)
    if long:
        return format_long(rows, world.services, world.machine.strands_per_core, world.peers(),
                           extended="-e" in flags)
    return format_list(rows)


def list_bindings(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    flags, names = options(subcommand, args, "ep")
    rows = world.rows(names)
    if "-p" in flags:
        return format_bindings_parseable(rows, world.services, world.machine.strands_per_core)
    return format_long(rows, world.services, world.machine.strands_per_core, world.peers(), extended="-e" in flags)


def list_services(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    flags, rest = options(subcommand, args, "p")
    if rest:
        raise usage(subcommand)
    return format_services_parseable(world.services) if "-p" in flags else format_services(world.services)


def list_constraints(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    flags, names = options(subcommand, args, "px")
    if flags.keys() == {"-p", "-x"}:
        raise usage(subcommand)
    domains = [world.domain(name) for name in names] if names else list(world.domains.values())
    if "-x" in flags:
        return format_constraints_xml(domains)
    if "-p" in flags:
        return format_constraints_parseable(domains, world.services)
    return format_constraints(domains, world.services)


def list_devices(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    flags, kinds = options(subcommand, args, "ap")
    kinds = [{"vcpu": "cpu", "mem": "memory", "mau": "crypto"}.get(kind, kind) for kind in kinds]
    if any(kind not in DEVICE_KINDS for kind in kinds):
        raise usage(subcommand)
    chosen = [kind for kind in DEVICE_KINDS if kind in kinds] if kinds else list(DEVICE_KINDS)
    if "-p" in flags:
        return format_devices_parseable(world.devices(), chosen, all_="-a" in flags)
    return format_devices(world.devices(), chosen, all_="-a" in flags)


def list_variable(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if not args:
        raise usage(subcommand)
    *names, domain_name = args
    domain = world.domain(domain_name)
    missing = [name for name in names if name not in domain.variables]
    if missing:
        # ldm.md §8: a missing variable gives a "not found" message on stderr (wording RECONSTRUCTED)
        raise CommandError("\n".join(f"Variable {name} not found" for name in missing))
    return format_variables((name, domain.variables[name]) for name in names or domain.variables)


def list_spconfig(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if args:
        raise usage(subcommand)
    return format_spconfig(world.spconfigs, world.spconfig_current, world.spconfig_next)


COMMANDS = {"list-domain": list_domain, "list-bindings": list_bindings, "list-services": list_services,
            "list-constraints": list_constraints, "list-devices": list_devices, "list-variable": list_variable,
            "list-spconfig": list_spconfig}
