"""The life cycle of ldm.md §1.1 (``add-domain`` → ``bind`` → ``start`` → ``stop`` → ``unbind`` →
``remove-domain``) and the SP configurations of ldm.md §11 (``add-spconfig``, ``set-spconfig``,
``remove-spconfig``).

Starting a guest powers on its console (OpenBoot, then Solaris if ``auto-boot?`` is true and a disk
boots); stopping it shuts Solaris down there first (``-f``: at once); unbinding drops the console.
Messages: "LDom <name> started/stopped" on stdout and the wrong-state refusals are RECONSTRUCTED in ldm's
style; so are the SP configuration messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .args import options, usage
from .formats import joined
from .model import DOMAIN_NAME, MEMORY_UNIT, CommandError, Domain, State, human_size

if TYPE_CHECKING:
    from .world import LdomsWorld

#: ldm.md §1.1, the life cycle: subcommand -> (the state it needs, the state it leaves; None = deleted)
LIFECYCLE: dict[str, tuple[State, State | None]] = {
    "bind-domain": (State.INACTIVE, State.BOUND),
    "start-domain": (State.BOUND, State.ACTIVE),
    "stop-domain": (State.ACTIVE, State.BOUND),
    "unbind-domain": (State.BOUND, State.INACTIVE),
    "remove-domain": (State.INACTIVE, None),
}
#: what ldm says when a life-cycle subcommand meets a domain in another state (RECONSTRUCTED wording)
WRONG_STATE: dict[tuple[str, State], str] = {
    ("bind-domain", State.BOUND): "LDom {name} is already bound",
    ("bind-domain", State.ACTIVE): "LDom {name} is already bound",
    ("start-domain", State.INACTIVE): "LDom {name} is not bound",
    ("start-domain", State.ACTIVE): "LDom {name} is already active",
    ("stop-domain", State.INACTIVE): "LDom {name} is not active",
    ("stop-domain", State.BOUND): "LDom {name} is not active",
    ("unbind-domain", State.INACTIVE): "LDom {name} is not bound",
    ("unbind-domain", State.ACTIVE): "LDom {name} must be stopped before it can be unbound",
    ("remove-domain", State.BOUND): "LDom {name} must be unbound before it can be removed",
    ("remove-domain", State.ACTIVE): "LDom {name} must be stopped and unbound before it can be removed",
}
#: the configuration the service processor always has
FACTORY_DEFAULT = "factory-default"


def check(world: LdomsWorld, subcommand: str, domain: Domain) -> State | None:
    """Check a life-cycle subcommand against the state table (ldm.md §1.1), the delayed reconfiguration of
    primary and a migration; the state it leaves the domain in (``None``: removed)."""
    needed, target = LIFECYCLE[subcommand]
    if domain.state is not needed:
        raise CommandError(WRONG_STATE[(subcommand, domain.state)].format(name=domain.name))
    world.guard(domain.name)
    return target


def add_domain(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if len(args) != 1:
        raise usage(subcommand)
    name = args[0]
    if not DOMAIN_NAME.fullmatch(name):
        raise CommandError(f"Invalid domain name: {name}")
    if name in world.domains:
        raise CommandError(f"Domain {name} already exists")
    world.guard(name)
    world.new_domain(name)
    return ""


def remove_domain(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if not args:
        raise usage(subcommand)
    domains = [world.domain(name) for name in args]
    for domain in domains:
        check(world, subcommand, domain)
    for domain in domains:
        world.macs.difference_update({domain.mac, *(vnet.mac for vnet in domain.vnets)})
        del world.domains[domain.name]
    return ""


def bind_domain(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if len(args) != 1:
        raise usage(subcommand)
    domain = world.domain(args[0])
    target = check(world, subcommand, domain)
    assert target is not None  # only remove-domain leaves none
    if domain.vcpus < 1 or domain.memory < MEMORY_UNIT:
        raise CommandError(f"Could not bind LDom {domain.name}: it needs at least 1 vcpu and "
                           f"{human_size(MEMORY_UNIT)} of memory")
    world.bind(domain)
    domain.state = target
    return ""


def unbind_domain(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if len(args) != 1:
        raise usage(subcommand)
    domain = world.domain(args[0])
    target = check(world, subcommand, domain)
    assert target is not None  # only remove-domain leaves none
    world.unbind(domain)
    domain.state = target
    return ""


def _targets(world: LdomsWorld, subcommand: str, args: list[str], letters: str) -> tuple[dict[str, str], list[Domain]]:
    """Options and domains of start/stop: named ones, or with -a every domain in the needed state."""
    flags, names = options(subcommand, args, letters)
    if ("-a" in flags) == bool(names):
        raise usage(subcommand)
    if names:
        return flags, [world.domain(name) for name in names]
    needed, _ = LIFECYCLE[subcommand]
    return flags, [d for d in world.domains.values() if d.state is needed and not d.control]


def start_domain(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    _, domains = _targets(world, subcommand, args, "a")
    targets = [check(world, subcommand, domain) for domain in domains]
    now = world.clock()
    for domain, target in zip(domains, targets):
        assert target is not None  # start never removes
        domain.state, domain.started_at, domain.delayed_reconfig = target, now, False
        domain.console.power_on(world, domain)
    # "LDom <name> started" (RECONSTRUCTED, from memory of ldm's output)
    return joined(f"LDom {domain.name} started" for domain in domains)


def stop_domain(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    """``-f`` stops at once; a plain stop shuts the guest's Solaris down first; ``-r`` reboots: the domain
    stays active, its uptime restarts, and a pending delayed reconfiguration takes effect."""
    flags, domains = _targets(world, subcommand, args, "afr")
    reboot = "-r" in flags
    targets = [check(world, subcommand, domain) for domain in domains]
    for domain in domains:
        if domain.control and not reboot:
            raise CommandError(f"LDom {domain.name} is the control domain and cannot be stopped; "
                               "use stop -r to reboot it")
    now = world.clock()
    for domain, target in zip(domains, targets):
        domain.delayed_reconfig = False
        if reboot:
            domain.started_at = now
            domain.console.reboot(world, domain)
        else:
            domain.console.power_off(graceful="-f" not in flags)
            assert target is not None  # stop never removes
            domain.state, domain.started_at = target, None
    # "LDom <name> stopped" (RECONSTRUCTED, from memory of ldm's output); a reboot prints nothing
    return "" if reboot else joined(f"LDom {domain.name} stopped" for domain in domains)


def _config(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if len(args) != 1:
        raise usage(subcommand)
    return args[0]


def add_spconfig(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    """Save the configuration to the service processor; it becomes the current one and the next power-on's."""
    name = _config(world, subcommand, args)
    if not DOMAIN_NAME.fullmatch(name):
        raise CommandError(f"Invalid configuration name: {name}")
    if name in world.spconfigs:
        raise CommandError(f"The configuration {name} already exists on the SP")
    world.spconfigs.append(name)
    world.spconfig_current = world.spconfig_next = name
    return ""


def set_spconfig(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    name = _config(world, subcommand, args)
    if name not in world.spconfigs:
        raise CommandError(f"The configuration {name} does not exist on the SP")
    world.spconfig_next = name
    return ""


def remove_spconfig(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    name = _config(world, subcommand, args)
    if name == FACTORY_DEFAULT:
        raise CommandError(f"The {FACTORY_DEFAULT} configuration cannot be removed")
    if name not in world.spconfigs:
        raise CommandError(f"The configuration {name} does not exist on the SP")
    world.spconfigs.remove(name)
    if world.spconfig_next == name:
        world.spconfig_next = FACTORY_DEFAULT
    return ""


COMMANDS = {"add-domain": add_domain, "remove-domain": remove_domain, "bind-domain": bind_domain,
            "unbind-domain": unbind_domain, "start-domain": start_domain, "stop-domain": stop_domain,
            "add-spconfig": add_spconfig, "set-spconfig": set_spconfig, "remove-spconfig": remove_spconfig}
