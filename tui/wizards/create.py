"""The create wizard: a new guest on a host, from the host's backend's create form (`Fleet.create_form`),
with the choices the host offers (`Fleet.create_choices`) and the plan it checks against the host
(`Fleet.plan_create`). After it ran, the last page says how the new guest is (from the next poll of its
host) and offers what operators do next: the host's follow-up actions (`FOLLOW_UP_ACTIONS`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from hvdeck.backends.model import Domain
from hvdeck.backends.plan import PlanResult

from .base import FollowUp, WizardScreen

if TYPE_CHECKING:
    from ..app import HvdeckApp

#: backend actions operators run after a guest was created or cloned, offered on the wizard's last page where
#: the host has them: on LDoms, saving the configuration to the service processor (``ldm add-spconfig``), so
#: that the machine powers on with the new guest
FOLLOW_UP_ACTIONS = ("add-spconfig",)


def why_not_create(app: HvdeckApp, host: str) -> str | None:
    """None when a guest can be created on ``host`` now, else the sentence (the gate: read-only, stale, down;
    then whether its kind has a create wizard)."""
    reason = app.host_reason(host)
    if reason is not None:
        return reason
    if app.fleet.create_form(host) is None:
        snapshot = app.snapshots.get(host)
        return f"hvdeck has no create wizard for {snapshot.kind if snapshot else 'these'} hosts"
    return None


def new_domain(app: HvdeckApp, host: str, name: str) -> Domain | None:
    """The domain ``name`` of ``host`` as last polled, None until a poll lists it."""
    snapshot = app.snapshots.get(host)
    return next((d for d in snapshot.domains if d.name == name), None) if snapshot is not None else None


def domain_outcome(app: HvdeckApp, host: str) -> Callable[[PlanResult], str | None]:
    """How the plan's target domain is now, for the wizard's last page."""

    def outcome(result: PlanResult) -> str | None:
        name = result.plan.target
        domain = new_domain(app, host, name)
        if domain is None:
            return f"waiting for {host} to list {name}…" if result.ok else None
        return f"{name} is {domain.state.value} ({domain.native_state}) on {host}"

    return outcome


def domain_follow_ups(app: HvdeckApp, host: str) -> Callable[[PlanResult], list[FollowUp]]:
    """The host's follow-up actions for the plan's target domain, once it ran and a poll lists the domain."""

    def follow_ups(result: PlanResult) -> list[FollowUp]:
        if not result.ok:
            return []
        domain = new_domain(app, host, result.plan.target)
        items = []
        for extra in app.fleet.extra_actions(host):
            if extra.id not in FOLLOW_UP_ACTIONS:
                continue
            if domain is None:
                items.append(FollowUp(extra.label.rstrip("…") + "…", lambda: None, f"waiting for {host} to list the guest"))
                continue
            items.append(FollowUp(extra.label.rstrip("…") + "…", partial(app.request_extra, domain, extra),
                                  app.why_not(extra, domain)))
        return items

    return follow_ups


def create_wizard(app: HvdeckApp, host: str) -> WizardScreen:
    """The create wizard for ``host`` (`why_not_create` must have said yes)."""
    fleet = app.fleet
    form = fleet.create_form(host)
    assert form is not None
    def name_free(name: str) -> str | None:
        """As you type: a name the host's last poll lists (the plan's pre-flight checks the host itself)."""
        snapshot = app.snapshots.get(host)
        if snapshot is not None and any(d.name == name for d in snapshot.domains):
            return f"{host} already has a domain named {name}"
        return None

    return WizardScreen(f"Create a guest on {host}", form, host=host, runner=fleet,
                        field_checks={"name": name_free} if any(o.name == "name" for o in form.options) else None,
                        choices=lambda: fleet.create_choices(host),
                        reading=f"reading the pools, switches and free resources of {host}…",
                        build=lambda values: fleet.plan_create(host, values),
                        outcome=domain_outcome(app, host), follow_ups=domain_follow_ups(app, host))
