"""What may be done to a Xen domain in the state its letters show: the state table of every action.

Pure. A row of the fleet table carries the letters its source printed (`Domain.native_state`) and the
order of those letters (the ``letters`` pair of `Domain.extra`), because the three sources order them
differently (shared/formats/xen.md): xentop ``d s b c p r`` (§1.4), ``xl list`` ``r b p s R d`` with a
shutdown-reason letter where xentop has ``c`` (§2.2), ``xm list`` ``r b p s c d`` (§3). `decode` turns
any of them into the same `Flags`; `why_not` reads only those, the row's normalised state (a guest that
is not running has no letters: it is a config file, an xend-managed domain or a saved image) and whether
it is Domain-0 or in the middle of a migration.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Domain, DomainState

#: the letter orders, as `Domain.extra` names them ("letters", ORDER)
XENTOP = "d s b c p r"
XL = "r b p s R d"
XM = "r b p s c d"
ORDERS = (XENTOP, XL, XM)
DOM0 = "Domain-0"
#: names a domain has while it migrates (xl: tools/xl/xl_migrate.c, xen.md §5; xend: XendCheckpoint.py)
MIGRATING_SUFFIXES = ("--migratedaway", "--incoming")
MIGRATING_PREFIX = "migrating-"


@dataclass(frozen=True, slots=True)
class Flags:
    """The hypervisor's state bits of one domain. ``shutdown`` excludes a crash (xenstat_domain_shutdown)."""

    running: bool = False
    blocked: bool = False
    paused: bool = False
    shutdown: bool = False
    crashed: bool = False
    dying: bool = False


def decode(letters: str, order: str) -> Flags | None:
    """The flags of ``letters`` printed in ``order`` (one of `ORDERS`); None when they do not fit it."""
    if len(letters) != 6:
        return None
    if order == XENTOP:
        pattern = "dsbcpr"
        if any(ch not in ("-", want) for ch, want in zip(letters, pattern)):
            return None
        d, s, b, c, p, r = (ch != "-" for ch in letters)
        return Flags(running=r, blocked=b, paused=p, shutdown=s and not c, crashed=c, dying=d)
    if order == XL:
        fixed = letters[:4] + letters[5]
        if any(ch not in ("-", want) for ch, want in zip(fixed, "rbpsd")) or letters[4] not in "-rscwS?":
            return None
        shut = letters[3] == "s"
        crashed = shut and letters[4] == "c"
        return Flags(running=letters[0] == "r", blocked=letters[1] == "b", paused=letters[2] == "p",
                     shutdown=shut and not crashed, crashed=crashed, dying=letters[5] == "d")
    if order == XM:
        if any(ch not in ("-", want) for ch, want in zip(letters, "rbpscd")):
            return None
        r, b, p, s, c, d = (ch != "-" for ch in letters)
        return Flags(running=r, blocked=b, paused=p, shutdown=s and not c, crashed=c, dying=d)
    return None


def order_of(domain: Domain) -> str | None:
    return next((value for label, value in domain.extra if label == "letters"), None)


def flags_of(domain: Domain) -> Flags | None:
    """The flags of a row that has letters (a running, paused, crashed... domain), else None."""
    order = order_of(domain)
    return decode(domain.native_state, order) if order is not None else None


def is_dom0(domain: Domain) -> bool:
    return domain.name == DOM0 or domain.id == 0


def migrating(name: str) -> bool:
    return name.endswith(MIGRATING_SUFFIXES) or name.startswith(MIGRATING_PREFIX)


#: the lifecycle actions (`hvdeck.backends.base.Action` values) the table answers for
ACTIONS = ("start", "shutdown", "reboot", "pause", "unpause", "force-off")


def why_not(action: str, domain: Domain, *, startable: bool = True) -> str | None:
    """None when ``action`` can be planned for ``domain`` now, else the sentence why not.

    ``startable``: a stopped row can be started (it has a config file, is xend-managed, or is a saved
    image). The table, by the flags (`decode`), first match wins:

    =============  =====  ========  ======  =====  =======  =========
    state          start  shutdown  reboot  pause  unpause  force-off
    =============  =====  ========  ======  =====  =======  =========
    Domain-0       -      -         -       -      -        -
    migrating      -      -         -       -      -        -
    stopped        yes    -         -       -      -        -
    dying          -      -         -       -      -        -
    crashed        -      -         -       -      -        yes
    shutdown       -      -         -       -      -        yes
    paused         -      -         -       -      yes      yes
    running,
    blocked or
    runnable       -      yes       yes     yes    -        yes
    =============  =====  ========  ======  =====  =======  =========

    A shutdown or reboot is refused while paused because the guest cannot act on the request until it
    runs (xl returns at once and nothing happens); a crashed guest kept by ``on_crash = 'preserve'``
    holds its name, so it must be destroyed before it can start again.
    """
    if action not in ACTIONS:
        return f"Xen hosts have no {action}"
    name = domain.name
    if is_dom0(domain):
        return f"{name} is the control domain (dom0): hvdeck does not stop, pause or start it"
    if migrating(name):
        return f"{name} is being migrated"
    if domain.state is DomainState.STOPPED:
        if action == "start":
            return None if startable else f"{name} has no config file, managed entry or saved image to start from"
        return f"{name} is not running"
    flags = flags_of(domain)
    if flags is None:
        return f"{name} is in a state hvdeck cannot read ({domain.native_state!r})"
    if flags.dying:
        return f"{name} is dying (Xen is tearing it down)"
    if action == "start":
        if flags.crashed:
            return f"{name} has crashed and is kept for inspection: force it off (destroy) before starting it again"
        if flags.shutdown:
            return f"{name} is shutting down"
        return f"{name} is already running" + (" (paused)" if flags.paused else "")
    if action == "force-off":
        return None
    if flags.crashed:
        return f"{name} has crashed: only force off (destroy) is possible"
    if flags.shutdown:
        return f"{name} is shutting down: only force off (destroy) is possible"
    if flags.paused:
        if action == "unpause":
            return None
        if action == "pause":
            return f"{name} is already paused"
        return f"{name} is paused: unpause it first (a paused guest cannot act on a {action} request)"
    if action == "unpause":
        return f"{name} is not paused"
    return None
