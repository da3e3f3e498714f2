"""ldm's resource subcommands: vCPUs (``add-vcpu``, ``set-vcpu``, ``remove-vcpu``), memory (``add-memory``,
``set-memory``, ``remove-memory``) and OpenBoot variables (``set-variable``). A bound or active domain gets
or gives up the resources at once (see `LdomsWorld.resize`); messages are RECONSTRUCTED in ldm's style."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .args import usage
from .model import MEMORY_UNIT, CommandError, Domain, human_size, parse_size

if TYPE_CHECKING:
    from .world import LdomsWorld


def _count_and_domain(world: LdomsWorld, subcommand: str, args: list[str]) -> tuple[int, Domain]:
    if len(args) != 2:
        raise usage(subcommand)
    if not args[0].isdigit():
        raise CommandError(f"Invalid vcpu count: {args[0]}")
    return int(args[0]), world.domain(args[1])


def _size_and_domain(world: LdomsWorld, subcommand: str, args: list[str]) -> tuple[int, Domain]:
    if len(args) != 2:
        raise usage(subcommand)
    try:
        size = parse_size(args[0])
    except ValueError:
        raise CommandError(f"Invalid memory size: {args[0]}") from None
    if size % MEMORY_UNIT:
        raise CommandError(f"Invalid memory size: {args[0]} is not a multiple of {human_size(MEMORY_UNIT)}")
    return size, world.domain(args[1])


def add_vcpu(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    count, domain = _count_and_domain(world, subcommand, args)
    world.resize(domain, domain.vcpus + count, domain.memory)
    return ""


def set_vcpu(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    count, domain = _count_and_domain(world, subcommand, args)
    world.resize(domain, count, domain.memory)
    return ""


def remove_vcpu(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    count, domain = _count_and_domain(world, subcommand, args)
    if count > domain.vcpus:
        raise CommandError(f"LDom {domain.name} has only {domain.vcpus} vcpus")
    world.resize(domain, domain.vcpus - count, domain.memory)
    return ""


def add_memory(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    size, domain = _size_and_domain(world, subcommand, args)
    world.resize(domain, domain.vcpus, domain.memory + size)
    return ""


def set_memory(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    size, domain = _size_and_domain(world, subcommand, args)
    world.resize(domain, domain.vcpus, size)
    return ""


def remove_memory(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    size, domain = _size_and_domain(world, subcommand, args)
    if size > domain.memory:
        raise CommandError(f"LDom {domain.name} has only {human_size(domain.memory)} of memory")
    world.resize(domain, domain.vcpus, domain.memory - size)
    return ""


def set_variable(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    """Set OpenBoot variables (what the guest's ``printenv`` shows; its ``setenv`` changes them too)."""
    if len(args) < 2 or not all("=" in arg for arg in args[:-1]):
        raise usage(subcommand)
    domain = world.domain(args[-1])
    world.touch(domain)
    for assignment in args[:-1]:
        name, _, value = assignment.partition("=")
        domain.variables[name] = value
    return ""


COMMANDS = {"add-vcpu": add_vcpu, "set-vcpu": set_vcpu, "remove-vcpu": remove_vcpu, "add-memory": add_memory,
            "set-memory": set_memory, "remove-memory": remove_memory, "set-variable": set_variable}
