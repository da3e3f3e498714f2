"""The one answer to "may this be done to this domain now, and if not, why?".

Every path that offers or plans an action — the keys, the action menu, the palette, the domain screen,
the wizards and `hvdeck plan` — asks `why_not` and shows its sentence. The executor checks the read-only
flag again before anything runs (a second lock on the same door), but nothing is offered, and no plan is
shown, for an action this function refuses.
"""

from __future__ import annotations

from .base import Action, Backend, ExtraAction
from .model import Domain, HostSnapshot, HostStatus


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


def why_not(backend: Backend | None, action: Action | ExtraAction, domain: Domain,
            host: HostSnapshot | None, now: float | None = None) -> str | None:
    """None when ``action`` may be planned for ``domain`` now; else the sentence to show the user.

    ``backend`` is the host's backend (None when the host is not connected), ``host`` its latest snapshot,
    ``now`` the monotonic clock for the age of stale data.
    """
    reason = host_reason(host, now)
    if reason is not None:
        return reason
    if backend is None:
        return f"{domain.host} is not connected"
    if isinstance(action, Action):
        return backend.why_not(action, domain, host)
    return backend.why_not_extra(action, domain, host)
