"""The one answer to "may this be done to this domain now, and if not, why?".

Every path that offers or plans an action — the keys, the action menu, the palette, the domain screen,
the wizards and `hvdeck plan` — asks `why_not` and shows its sentence. The executor checks the read-only
flag again before anything runs (a second lock on the same door), but nothing is offered, and no plan is
shown, for an action this function refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .base import Action, Backend, ExtraAction
from .model import Domain, DomainState, HostSnapshot, HostStatus
from .plan import Plan

#: states in which a guest runs somewhere and holds its disks
_RUNNING = frozenset({DomainState.RUNNING, DomainState.PAUSED, DomainState.TRANSITION})


def age(seconds: float) -> str:
    """3s, 2m05s, 1h02m."""
    s = int(max(0, seconds))
    return f"{s}s" if s < 60 else f"{s // 60}m{s % 60:02d}s" if s < 3600 else f"{s // 3600}h{s % 3600 // 60:02d}m"


def host_reason(host: HostSnapshot | None, now: float | None = None) -> str | None:
    """Why nothing may be done on this host now (read-only, stale, down...), or None."""
    if host is None:
        return "the host is not in the inventory"
    if host.read_only:
        return f"{host.host} is read-only in the inventory"
    if host.status is HostStatus.STALE:
        old = f" (last data {age(now - host.last_ok)} old)" if now is not None and host.last_ok else ""
        return f"{host.host} is not answering{old}; what is shown may no longer be true"
    if host.status is not HostStatus.UP:
        return f"{host.host} is {host.status.value}" + (f": {host.error}" if host.error else "")
    return None


def _uuid(value: str | None) -> str | None:
    return value.replace("-", "").lower() if value else None


def running_twin(domain: Domain, fleet: Iterable[HostSnapshot]) -> tuple[Domain, bool] | None:
    """A domain on another host of ``fleet`` (the hosts' latest snapshots; the domain's own host gives its
    kind) that is ``domain``'s guest and runs there, with True when it has the same UUID, False when the
    UUID of either is unknown and it has the same name on a host of the same kind (a guess: names repeat
    across hosts); None when there is none.

    After a migration, Xen's source dom0 still lists the guest from its config file (xl and xm leave it
    there), and a copy of a libvirt or LDoms definition can outlive a move done by hand: starting that copy
    runs the guest twice, on the same disks when they are shared.
    """
    snapshots = list(fleet)
    kind = next((s.kind for s in snapshots if s.host == domain.host), None)
    uuid = _uuid(domain.uuid)
    guess: Domain | None = None
    for snapshot in snapshots:
        if snapshot.host == domain.host:
            continue
        for other in snapshot.domains:
            if other.state not in _RUNNING:
                continue
            other_uuid = _uuid(other.uuid)
            if uuid is not None and other_uuid == uuid:
                return other, True
            if guess is None and other.name == domain.name and snapshot.kind == kind \
                    and (uuid is None or other_uuid is None):
                guess = other
    return (guess, False) if guess is not None else None


def start_warning(domain: Domain, fleet: Iterable[HostSnapshot]) -> str:
    """The plan's warning when a domain of the same name runs on another host of the same kind ("" when
    none does); the same UUID refuses the start instead (`why_not`)."""
    twin = running_twin(domain, fleet)
    if twin is None or twin[1]:
        return ""
    other = twin[0]
    return (f"A domain named {domain.name} is {other.state.value} on {other.host}. If it is this guest (moved "
            f"there by a migration), starting this copy runs it twice, on the same disks if they are shared.")


def with_start_warning(plan: Plan, action: Action, domain: Domain, fleet: Iterable[HostSnapshot]) -> Plan:
    """``plan`` with `start_warning` above its own warning, for a Start."""
    warning = start_warning(domain, fleet) if action is Action.START else ""
    return replace(plan, warning=" ".join(w for w in (warning, plan.warning) if w)) if warning else plan


def why_not(backend: Backend | None, action: Action | ExtraAction, domain: Domain,
            host: HostSnapshot | None, now: float | None = None,
            fleet: Iterable[HostSnapshot] = ()) -> str | None:
    """None when ``action`` may be planned for ``domain`` now; else the sentence to show the user.

    ``backend`` is the host's backend (None when the host is not connected), ``host`` its latest snapshot,
    ``now`` the monotonic clock for the age of stale data, ``fleet`` every host's latest snapshot (a Start
    is refused while the same guest, by UUID, runs on another host).
    """
    reason = host_reason(host, now)
    if reason is not None:
        return reason
    if backend is None:
        return f"{domain.host} is not connected"
    if isinstance(action, Action):
        reason = backend.why_not(action, domain, host)
        if reason is None and action is Action.START:
            twin = running_twin(domain, fleet)
            if twin is not None and twin[1]:
                other = twin[0]
                reason = (f"the same guest (UUID {domain.uuid}) is {other.state.value} on {other.host}"
                          f"{'' if other.name == domain.name else ' as ' + other.name}: starting this copy "
                          f"too would run it twice")
        return reason
    return backend.why_not_extra(action, domain, host)
