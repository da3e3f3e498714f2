"""The clone wizard: a new guest (or a root-disk swap into an existing one) from a snapshot of a guest, from
the backend's clone form for that guest (`Fleet.clone_form`), with the snapshots and target domains the host
offers (`Fleet.clone_choices`) and the plan checked against the host (`Fleet.plan_clone`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hvdeck.backends.model import Domain

from .base import WizardScreen
from .create import domain_follow_ups, domain_outcome

if TYPE_CHECKING:
    from ..app import HvdeckApp


def why_not_clone(app: HvdeckApp, domain: Domain) -> str | None:
    """None when ``domain`` can be cloned now, else the sentence (the gate, then the backend's form)."""
    reason = app.host_reason(domain.host)
    if reason is not None:
        return reason
    if app.fleet.clone_form(domain) is None:
        snapshot = app.snapshots.get(domain.host)
        return f"{snapshot.kind if snapshot else 'its'} hosts offer no clone wizard for {domain.name}"
    return None


def clone_wizard(app: HvdeckApp, domain: Domain, values: dict[str, str] | None = None) -> WizardScreen:
    """The clone wizard for ``domain`` (`why_not_clone` must have said yes); ``values`` fill fields in."""
    fleet = app.fleet
    form = fleet.clone_form(domain)
    assert form is not None
    host = domain.host
    return WizardScreen(f"Clone {domain.name} on {host}", form, host=host, runner=fleet, values=values,
                        choices=lambda: fleet.clone_choices(domain),
                        reading=f"reading the snapshots of {domain.name} and the domains of {host}…",
                        build=lambda values: fleet.plan_clone(domain, values),
                        outcome=domain_outcome(app, host), follow_ups=domain_follow_ups(app, host))
