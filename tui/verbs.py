"""The command line's verbs that act on one host: `hvdeck show` (one domain's bindings) and `hvdeck plan`
(any action the console can plan, previewed, and with ``--yes`` run through the same gate, executor and
audit log). The wizards' verbs (create, clone, migrate) build on `connected` and `run_and_report`.

Exit statuses: 0 done (or the plan printed); 1 a step failed, was cancelled, or its outcome is unknown, or
the plan was refused; 2 bad usage or input (a message names what is wrong); 3 the host could not be
reached or the domain is not there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TextIO

from hvdeck.backends.base import Action
from hvdeck.backends.errors import HvdeckError
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import Bindings, Domain, HostSnapshot, HostStatus
from hvdeck.backends.plan import Plan, PlanEvent, PlanResult, StepFinished, StepStarted
from hvdeck.widgets import format as fmt

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


class VerbError(Exception):
    """A message for stderr and an exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@contextlib.asynccontextmanager
async def connected(inventory: Inventory, host: str, *, audit: Any = None) -> AsyncIterator[tuple[Fleet, HostSnapshot]]:
    """A fleet of one host, polled once and left connected while the block runs."""
    fleet = Fleet(inventory.select([host]), audit=audit)
    try:
        snapshot = await fleet.poll_host(host)
        if snapshot.status is not HostStatus.UP:
            raise VerbError(f"{host}: {snapshot.status.value}: {snapshot.error}", EXIT_UNREACHABLE)
        yield fleet, snapshot
    finally:
        await fleet.close()


def find_domain(snapshot: HostSnapshot, name: str) -> Domain:
    domain = next((d for d in snapshot.domains if d.name == name), None)
    if domain is None:
        names = ", ".join(fmt.visible(d.name) for d in snapshot.domains[:12]) or "none"
        raise VerbError(f"{snapshot.host}: no domain named {fmt.visible(name)!r} (it has: {names})",
                        EXIT_UNREACHABLE)
    return domain


# --- hvdeck show ---------------------------------------------------------------------------------------


def bindings_json(domain: Domain, b: Bindings) -> dict[str, Any]:
    """The documented `hvdeck show --json` shape (it changes only by adding keys)."""
    return {
        "host": domain.host, "domain": domain.name, "state": domain.state.value,
        "native_state": domain.native_state, "uuid": domain.uuid,
        "cpu": {"vcpus": b.cpu.vcpus, "max_vcpus": b.cpu.max_vcpus,
                "pinning": [{"vcpu": p.vcpu, "cpuset": p.cpuset} for p in b.cpu.pinning]},
        "memory": {"current_bytes": b.memory.current_bytes, "max_bytes": b.memory.max_bytes},
        "disks": [{"target": d.target, "source": d.source, "source_type": d.source_type or None,
                   "device": d.device, "bus": d.bus, "read_only": d.read_only, "format": d.format}
                  for d in b.disks],
        "nics": [{"mac": n.mac, "source_type": n.source_type or None, "source": n.source, "model": n.model,
                  "target": n.target} for n in b.nics],
        "consoles": [{"kind": c.kind, "type": c.type, "target": c.target, "path": c.path} for c in b.consoles],
        "sections": [{"title": s.title, "columns": list(s.columns), "rows": [list(r) for r in s.rows]}
                     for s in b.extra],
    }


def show(inventory: Inventory, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from hvdeck.widgets.bindings_view import sections

    async def run() -> tuple[Domain, Bindings]:
        async with connected(inventory, args.host) as (fleet, snapshot):
            domain = find_domain(snapshot, args.domain)
            return domain, await fleet.bindings(domain)

    domain, bindings = asyncio.run(run())
    if args.json:
        json.dump(bindings_json(domain, bindings), out, indent=2)
        out.write("\n")
        return EXIT_OK
    out.write(f"{fmt.visible(domain.host)} / {fmt.visible(domain.name)}   {domain.state.value} "
              f"({fmt.visible(domain.native_state)})\n\n")
    for _sid, renderable in sections(bindings):
        out.write(getattr(renderable, "plain", str(renderable)).rstrip() + "\n\n")
    return EXIT_OK


# --- hvdeck plan -----------------------------------------------------------------------------------------


def plan_text(plan: Plan) -> str:
    """The plan as the console's plan screen shows it: every exact operation, on which host, its undo."""
    v = fmt.visible
    lines = [v(plan.title)]
    if plan.warning:
        lines.append(v(plan.warning, newlines=True))
    for check in plan.checks:
        lines.append(f"  check: {v(check.description)}" + (f"  ({v(check.operation.display())})"
                                                            if check.operation is not None else ""))
    for index, step in enumerate(plan.steps, start=1):
        lines.append(f"  {index}. {v(step.description)}   [on {v(step.on(plan.host))}]")
        lines.append(f"       {v(step.operation.display())}")
        for name, text in step.operation.attachments():
            lines.append(f"       {name}:")
            lines += [f"         {v(line)}" for line in text.splitlines()]
        if step.operation.equivalent:
            import shlex

            lines.append(f"       same as: {v(shlex.join(step.operation.equivalent))}")
        if step.input is not None:
            if step.secret_input:
                lines.append("       input: (secret, not shown)")
            else:
                lines.append("       input:")
                lines += [f"         {v(line)}" for line in step.input.splitlines()]
        if step.undo is not None:
            lines.append(f"       undo: {v(step.undo.display())}")
    if plan.confirm_phrase:
        lines.append(f"  (confirm with --confirm {v(plan.confirm_phrase)})")
    return "\n".join(lines) + "\n"


def parse_params(params: Sequence[str]) -> dict[str, str]:
    values = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise VerbError(f"{item!r}: write PARAM=VALUE, e.g. count=4", EXIT_USAGE)
        values[name] = value
    return values


async def other_hosts(inventory: Inventory, host: str, *, timeout: float = 30.0) -> list[HostSnapshot]:
    """Every other host of the inventory, polled once at the same time (for the Start gate: is the same
    guest running elsewhere?). A host that fails comes back as its failed snapshot (without domains); one
    that gives no answer within ``timeout`` seconds is left out."""
    names = [h.name for h in inventory.hosts if h.name != host]
    if not names:
        return []
    others = Fleet(inventory.select(names))
    try:
        async def one(name: str) -> HostSnapshot | None:
            try:
                async with asyncio.timeout(timeout):
                    return await others.poll_host(name)
            except TimeoutError:
                return None

        return [s for s in await asyncio.gather(*(one(n) for n in names)) if s is not None]
    finally:
        await others.close()


async def build_plan(fleet: Fleet, snapshot: HostSnapshot, domain: Domain, action_name: str,
                     values: dict[str, str], others: Sequence[HostSnapshot] = ()) -> Plan:
    """The plan of a lifecycle action (``start``...) or of a backend's own action (``set-vcpu count=4``),
    through the same gate the console uses (``others``: the other hosts' snapshots, for a Start)."""
    lifecycle = {a.value: a for a in Action}
    if action_name in lifecycle:
        if values:
            raise VerbError(f"{action_name} takes no parameters", EXIT_USAGE)
        return fleet.plan_action(lifecycle[action_name], domain, snapshot, (snapshot, *others))
    extras = {e.id: e for e in fleet.extra_actions(snapshot.host)}
    if action_name not in extras:
        known = ", ".join([*lifecycle, *sorted(extras)])
        raise VerbError(f"no action {action_name!r} on {snapshot.host} (actions: {known})", EXIT_USAGE)
    extra = extras[action_name]
    missing = [p.name for p in extra.params if p.name not in values]
    if missing:
        raise VerbError(f"{action_name} needs {', '.join(f'{m}=VALUE' for m in missing)}", EXIT_USAGE)
    return await fleet.plan_extra(extra, domain, values, snapshot)


async def run_and_report(fleet: Fleet, plan: Plan, out: TextIO, err: TextIO, *,
                         also: Callable[[PlanEvent], None] | None = None,
                         cancel_note: str | None = None) -> PlanResult:
    """Run ``plan`` with each step's outcome printed as it ends; Ctrl-C cancels the running step where
    the step has a cancel operation, and stops before the next step otherwise. ``also`` sees every event
    too (progress); ``cancel_note`` is printed on stderr when Ctrl-C is pressed."""
    cancel = asyncio.Event()

    def on_sigint() -> None:
        if cancel_note and not cancel.is_set():
            err.write(cancel_note + "\n")
            err.flush()
        cancel.set()

    def on_event(event: PlanEvent) -> None:
        if also is not None:
            also(event)
        if isinstance(event, StepStarted):
            step = plan.steps[event.index]
            err.write(f"  {event.index + 1}. {fmt.visible(step.description)} …\n")
        elif isinstance(event, StepFinished):
            outcome = event.outcome
            detail = f": {fmt.visible(outcome.error, newlines=True)}" if outcome.error else ""
            out.write(f"  {event.index + 1}. {outcome.status}{detail}\n")
        err.flush()
        out.flush()

    loop = asyncio.get_running_loop()
    import signal

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        return await fleet.run_plan(plan, on_event=on_event, cancel=cancel)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)


def plan(inventory: Inventory, args: argparse.Namespace, audit: Any, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    values = parse_params(args.params)

    async def run() -> int:
        async with connected(inventory, args.host, audit=audit) as (fleet, snapshot):
            domain = find_domain(snapshot, args.domain)
            others: list[HostSnapshot] = []
            if args.action == Action.START.value:  # is the same guest running on another host?
                others = await other_hosts(inventory, args.host)
                asked = len(inventory.hosts) - 1
                silent = asked - sum(s.status is HostStatus.UP for s in others)
                err.write(f"checked {asked} other host(s) for this guest running there"
                          f"{f' ({silent} did not answer)' if silent else ''}\n")
            try:
                built = await build_plan(fleet, snapshot, domain, args.action, values, others)
            except HvdeckError as exc:
                raise VerbError(exc.message, EXIT_USAGE) from None
            out.write(plan_text(built))
            if not args.yes:
                out.write("(nothing was run: add --yes to run it)\n")
                return EXIT_OK
            if built.confirm_phrase and args.confirm != built.confirm_phrase:
                raise VerbError(f"this plan needs --confirm {built.confirm_phrase} as well as --yes", EXIT_USAGE)
            result = await run_and_report(fleet, built, out, err)
            out.write(fmt.visible(result.summary(), newlines=True) + "\n")
            return EXIT_OK if result.ok else EXIT_FAILED

    return asyncio.run(run())


def add_parsers(sub: Any, common: argparse.ArgumentParser, audit_opt: argparse.ArgumentParser) -> None:
    show_p = sub.add_parser("show", parents=[common], help="print one domain's bindings (the domain screen)")
    show_p.add_argument("host", metavar="HOST")
    show_p.add_argument("domain", metavar="DOMAIN")
    show_p.add_argument("--json", action="store_true", help="machine-readable output (a documented shape)")
    plan_p = sub.add_parser(
        "plan", parents=[common, audit_opt],
        help="print the plan of an action on a domain; with --yes, run it (as the console does)",
        description="ACTION is a lifecycle action (start, shutdown, reboot, pause, unpause, wakeup, force-off) "
                    "or one of the host's own (LDoms: bind, unbind, remove-domain, set-vcpu count=N, "
                    "add-vcpu count=N, remove-vcpu count=N, set-memory size=SIZE, set-var assignment=NAME=VALUE).")
    plan_p.add_argument("host", metavar="HOST")
    plan_p.add_argument("domain", metavar="DOMAIN")
    plan_p.add_argument("action", metavar="ACTION")
    plan_p.add_argument("params", nargs="*", metavar="PARAM=VALUE")
    plan_p.add_argument("--yes", action="store_true", help="run the plan (without it, nothing runs)")
    plan_p.add_argument("--confirm", metavar="NAME", help="the domain's name, for plans that need it typed")
