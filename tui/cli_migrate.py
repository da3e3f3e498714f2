"""`hvdeck migrate` and `hvdeck evacuate`: live migration from the shell, through the same fleet, plans,
pre-flight checks, executor and audit log as the console.

``hvdeck migrate HOST DOMAIN TARGET`` prints the plan and the pre-flight checks (the hypervisor's own dry
run among them) and stops; ``--yes`` then migrates, with progress on stderr, and says where the guest is
once it ended; Ctrl-C cancels the migration (the guest stays on HOST). ``hvdeck evacuate HOST`` does the
same for every running domain of HOST, each placed on a target by free memory (or on the ``--to`` hosts),
one at a time or ``--parallel N`` at once, stopping at the first failure unless ``--continue-on-error``.

Options are the hosts' own migration forms as flags (``--bandwidth 100``, ``--copy-storage``, ``--name``);
a secret (the LDoms target's password) is never a flag: it is asked for on the terminal, or read from the
first line of stdin when stdin is not a terminal.

Exit statuses (as `verbs`): 0 done (every guest arrived), or checks printed and all passed; 1 a check
failed, a migration failed or was cancelled, or a guest is not where it should be; 2 bad usage or input;
3 a host could not be reached or the domain is not there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any, TextIO

from hvdeck.backends.errors import HvdeckError
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import Domain, HostSnapshot, HostStatus
from hvdeck.backends.options import BoolOption, Form, FormErrors, Option
from hvdeck.backends.plan import CheckResult, PlanEvent, ProgressInfo, StepProgress
from hvdeck.widgets import format as fmt

from .verbs import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, VerbError, find_domain, plan_text, run_and_report
from .wizards import migrate_logic as logic


def _forms() -> tuple[tuple[str, Form], ...]:
    """The migration forms of every kind that has one (their options become flags)."""
    from hvdeck.backends.ldoms import migration as ldoms
    from hvdeck.backends.libvirt import migration as libvirt

    return (("libvirt", libvirt.FORM), ("ldoms", ldoms.FORM))


def _flag_options() -> dict[str, tuple[Option, list[str]]]:
    """dest -> (option, kinds whose form has it), secret options left out."""
    found: dict[str, tuple[Option, list[str]]] = {}
    for kind, form in _forms():
        for option in form.options:
            if option.secret:
                continue
            if option.name in found:
                found[option.name][1].append(kind)
            else:
                found[option.name] = (option, [kind])
    return found


def _add_form_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("migration options (the target host's kind decides which apply)")
    for name, (option, kinds) in _flag_options().items():
        help_text = f"{option.describe()} [{', '.join(kinds)}]"
        if isinstance(option, BoolOption):
            group.add_argument(option.flag, dest=f"opt_{name}", action="store_const", const="yes", default=None,
                               help=help_text)
        else:
            group.add_argument(option.flag, dest=f"opt_{name}", metavar="VALUE", default=None, help=help_text)


def add_parsers(sub: Any, common: argparse.ArgumentParser, audit_opt: argparse.ArgumentParser) -> None:
    migrate = sub.add_parser(
        "migrate", parents=[common, audit_opt],
        help="live-migrate a domain to another host of the same kind (pre-flight checks; --yes to run)",
        description="Print the migration plan and run its pre-flight checks, the hypervisor's own dry run "
                    "among them. With --yes, migrate (progress on stderr; Ctrl-C cancels and leaves the "
                    "guest on HOST) and say where the guest is. A secret option (the LDoms target's "
                    "password) is asked for on the terminal, or read from the first line of stdin.")
    migrate.add_argument("host", metavar="HOST")
    migrate.add_argument("domain", metavar="DOMAIN")
    migrate.add_argument("target", metavar="TARGET")
    mode = migrate.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="only the checks and the plan (the default)")
    mode.add_argument("--yes", action="store_true", help="migrate if every check passes")
    _add_form_flags(migrate)
    evacuate = sub.add_parser(
        "evacuate", parents=[common, audit_opt],
        help="live-migrate every running domain of a host away (placed by free memory, or --to)",
        description="Plan a migration for every running domain of HOST (a control domain stays), each to "
                    "the --to host with the most free memory that holds it (or any host of the same kind), "
                    "print the plans and their checks; with --yes run them.")
    evacuate.add_argument("host", metavar="HOST")
    evacuate.add_argument("--to", action="append", metavar="TARGET", default=None,
                          help="a host the domains may go to (repeat; default: every host of the same kind)")
    evacuate.add_argument("--parallel", type=int, default=1, metavar="N", help="migrations at once (default 1)")
    evacuate.add_argument("--continue-on-error", action="store_true",
                          help="go on with the others after a failure (default: stop starting new ones), and "
                               "move those that can when some cannot")
    evacuate.add_argument("--yes", action="store_true", help="run the migrations")
    _add_form_flags(evacuate)


# -- shared pieces ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def connected_hosts(inventory: Inventory, hosts: Sequence[str], *, audit: Any = None,
                          required: Sequence[str] = ()) -> AsyncIterator[tuple[Fleet, dict[str, HostSnapshot]]]:
    """A fleet of ``hosts``, each polled once (concurrently) and left connected while the block runs: the
    multi-host `verbs.connected`. A host in ``required`` that is not up stops with EXIT_UNREACHABLE."""
    fleet = Fleet(inventory.select(list(dict.fromkeys(hosts))), audit=audit)
    try:
        names = list(dict.fromkeys(hosts))
        snapshots = dict(zip(names, await asyncio.gather(*(fleet.poll_host(h) for h in names))))
        for host in required:
            snapshot = snapshots[host]
            if snapshot.status is not HostStatus.UP:
                raise VerbError(f"{fmt.visible(host)}: {snapshot.status.value}: {fmt.visible(snapshot.error or '')}",
                                EXIT_UNREACHABLE)
        yield fleet, snapshots
    finally:
        await fleet.close()


def form_texts(args: argparse.Namespace, form: Form, kind: str) -> dict[str, str]:
    """The flags given, for ``form``; a flag the host's form does not have is a usage error."""
    texts: dict[str, str] = {}
    names = {option.name for option in form.options}
    for name in _flag_options():
        value = getattr(args, f"opt_{name}", None)
        if value is None:
            continue
        if name not in names:
            raise VerbError(f"--{name.replace('_', '-')} is not an option of {kind} migrations "
                            f"(they take {', '.join(o.flag for o in form.options if not o.secret) or 'none'})",
                            EXIT_USAGE)
        texts[name] = value
    return texts


def ask_secret(option: Option, about: str, stdin: TextIO | None = None) -> str:
    """A secret option's value: asked for on the terminal (not echoed), or the first line of stdin."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        try:
            return getpass.getpass(f"{option.label} ({about}): ")
        except EOFError:
            return ""
    return stdin.readline().rstrip("\r\n")


def parse_form(form: Form, texts: dict[str, str]) -> dict[str, Any]:
    try:
        return form.parse(texts)
    except FormErrors as exc:
        lines = "\n".join(f"  {form.option(name).flag if not form.option(name).secret else form.option(name).label}: "
                          f"{fmt.visible(message)}" for name, message in exc.errors.items())
        raise VerbError(f"the options are not right:\n{lines}", EXIT_USAGE) from None


def checks_text(results: Sequence[CheckResult]) -> str:
    lines = []
    for result in results:
        mark = "ok    " if result.ok else "FAILED"
        reason = f": {fmt.visible(result.reason, newlines=False)}" if result.reason else ""
        lines.append(f"  [{mark}] {fmt.visible(result.check.description)}{reason}")
    return "\n".join(lines) + "\n"


def progress_text(info: ProgressInfo) -> str:
    percent = f"{info.fraction * 100:5.1f}% " if info.fraction is not None else ""
    return f"{percent}{fmt.visible(info.message)}"


@contextlib.contextmanager
def cancel_on_sigint(loop: asyncio.AbstractEventLoop, cancel: asyncio.Event, err: TextIO):
    """Ctrl-C sets ``cancel`` (the running migrations' cancel operations run) instead of killing hvdeck."""

    def on_sigint() -> None:
        if not cancel.is_set():
            err.write("\nhvdeck: cancelling the migration (the guest stays where it is)…\n")
            err.flush()
        cancel.set()

    installed = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        installed = True
    try:
        yield
    finally:
        if installed:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)


def _new_name(job_domain: Domain, values: dict[str, Any]) -> str:
    return str(values.get("name") or job_domain.name)


def _outcome_text(job: logic.Job) -> str:
    """The migration step's own report (libvirt's says where the guest is and how long it took)."""
    if job.result is None:
        return ""
    lines = []
    for outcome in job.result.outcomes:
        if outcome.result is not None and outcome.step.timeout is None:
            text = (outcome.result.stdout + outcome.result.stderr).strip()
            if text:
                lines.append(fmt.visible(text, newlines=True))
    return "\n".join(lines)


# -- hvdeck migrate ----------------------------------------------------------------------------------------


def migrate(inventory: Inventory, args: argparse.Namespace, audit: Any, out: TextIO | None = None,
            err: TextIO | None = None, stdin: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    if args.host == args.target:
        raise VerbError(f"{fmt.visible(args.domain)} is already on {fmt.visible(args.host)}", EXIT_USAGE)

    async def run() -> int:
        async with connected_hosts(inventory, [args.host, args.target], audit=audit,
                                   required=[args.host, args.target]) as (fleet, snapshots):
            source = snapshots[args.host]
            domain = find_domain(source, args.domain)
            form = fleet.migrate_form(domain)
            if form is None:
                raise VerbError(f"hvdeck cannot migrate {source.kind} guests", EXIT_USAGE)
            texts = form_texts(args, form, source.kind)
            for option in form.options:
                if option.secret:
                    texts[option.name] = ask_secret(option, f"for {args.target}", stdin)
            values = parse_form(form, texts)
            try:
                plan = await fleet.plan_migrate(domain, args.target, values)
            except HvdeckError as exc:
                raise VerbError(fmt.visible(exc.message), EXIT_USAGE) from None
            out.write(plan_text(plan))
            out.write("pre-flight checks:\n")
            out.flush()
            results = await fleet.preflight(plan)
            out.write(checks_text(results))
            passed = all(r.ok for r in results)
            if not args.yes:
                out.write("(nothing was run: add --yes to migrate)\n" if passed else
                          "(a check failed: the migration would not run)\n")
                return EXIT_OK if passed else EXIT_FAILED
            if not passed:
                out.write("a check failed: nothing was run\n")
                return EXIT_FAILED
            job = logic.Job(domain, args.target, _new_name(domain, values), plan=plan, checks=results)
            return await _run_one(fleet, job, out, err)

    return asyncio.run(run())


async def _run_one(fleet: Fleet, job: logic.Job, out: TextIO, err: TextIO) -> int:
    """Run one migration (`verbs.run_and_report`, with progress), then poll both hosts and say where the
    guest is."""
    plan = job.plan
    assert plan is not None and job.target is not None

    def progress(event: PlanEvent) -> None:
        if isinstance(event, StepProgress):
            err.write(f"     {progress_text(event.info)}\n")
            err.flush()

    result = await run_and_report(fleet, plan, out, err, also=progress,
                                  cancel_note="\nhvdeck: cancelling the migration (the guest stays where it is)…")
    source, target = await asyncio.gather(fleet.poll_host(job.domain.host), fleet.poll_host(job.target))
    where = logic.locate(job.domain.name, job.new_name, source, target)
    bad = result.failed
    status = "done" if result.ok else (result.refused and "refused") or (bad.status if bad is not None else "failed")
    out.write(f"{fmt.visible(plan.title)}: {status}" + (f": {fmt.visible(result.refused)}" if result.refused else "") + "\n")
    if result.ok:
        for line in _outcome_text(replace(job, result=result)).splitlines():
            if line.strip() and line.strip() != where.sentence:
                out.write(line + "\n")  # the hypervisor's own figures (libvirt: time, data, downtime)
    out.write(fmt.visible(where.sentence) + "\n")
    return EXIT_OK if result.ok and where.arrived else EXIT_FAILED


# -- hvdeck evacuate ---------------------------------------------------------------------------------------


def evacuate(inventory: Inventory, args: argparse.Namespace, audit: Any, out: TextIO | None = None,
             err: TextIO | None = None, stdin: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    if args.parallel < 1:
        raise VerbError("--parallel must be 1 or more", EXIT_USAGE)
    known = [h.name for h in inventory.hosts]
    if args.host not in known:
        raise VerbError(f"no host {fmt.visible(args.host)} in the inventory", EXIT_USAGE)
    if args.to:
        if args.host in args.to:
            raise VerbError(f"--to {fmt.visible(args.host)}: that is the host being evacuated", EXIT_USAGE)
        candidates = list(dict.fromkeys(args.to))
    else:
        source_kind = next(h.kind for h in inventory.hosts if h.name == args.host)
        candidates = [h.name for h in inventory.hosts if h.name != args.host
                      and (h.kind in ("auto", source_kind) or source_kind == "auto")]

    async def run() -> int:
        async with connected_hosts(inventory, [args.host, *candidates], audit=audit,
                                   required=[args.host, *(args.to or [])]) as (fleet, snapshots):
            source = snapshots[args.host]
            targets = [h for h in candidates if snapshots[h].status is HostStatus.UP and snapshots[h].kind == source.kind]
            if args.to:
                wrong = [h for h in args.to if snapshots[h].kind != source.kind]
                if wrong:
                    raise VerbError(f"{', '.join(wrong)}: not {source.kind} hosts like {args.host}", EXIT_USAGE)
            moving = [d for d in source.domains if logic.movable(d) is None]
            staying = [(d, logic.movable(d)) for d in source.domains if logic.movable(d) is not None]
            if not moving:
                out.write(f"{fmt.visible(args.host)} has no running domain to move\n")
                return EXIT_OK
            free: dict[str, int | None] = {h: logic.free_memory(snapshots[h]) for h in targets}
            placements = logic.place(moving, targets, free)
            form = fleet.migrate_form(moving[0])
            if form is None:
                raise VerbError(f"hvdeck cannot migrate {source.kind} guests", EXIT_USAGE)
            texts = form_texts(args, form, source.kind)
            if "name" in texts:
                raise VerbError("--name names one domain: evacuate keeps every domain's name", EXIT_USAGE)
            secrets: dict[str, dict[str, str]] = {}
            for target in dict.fromkeys(p.target for p in placements if p.target is not None):
                secrets[target] = {o.name: ask_secret(o, f"for {target}", stdin) for o in form.options if o.secret}
            values_by_target = {t: parse_form(form, {**texts, **s}) for t, s in secrets.items()}

            def values_for(job: logic.Job) -> dict[str, object]:
                values = dict(values_by_target.get(job.target or "", {}))
                if "name" in values:
                    values["name"] = job.domain.name
                return values

            jobs = [logic.Job(p.domain, p.target, p.domain.name, status="waiting" if p.target else "blocked",
                              reason=p.reason) for p in placements]
            for domain, why in staying:
                out.write(f"stays: {fmt.visible(domain.name)}: {fmt.visible(why or '')}\n")
            for placement in placements:
                where = fmt.visible(placement.target) if placement.target else "nowhere"
                out.write(f"{fmt.visible(placement.domain.name)} -> {where}: {fmt.visible(placement.reason)}\n")
            jobs = await logic.prepare(fleet, jobs, values_for)
            for job in jobs:
                out.write("\n")
                if job.plan is not None:
                    out.write(plan_text(job.plan))
                    out.write(checks_text(job.checks))
                else:
                    out.write(f"{fmt.visible(job.domain.name)}: cannot move: {fmt.visible(job.reason)}\n")
            blocked = [j for j in jobs if j.status == "blocked"]
            ready = [j for j in jobs if j.status == "waiting"]
            out.write(f"\n{len(ready)} of {len(jobs)} domains can move" +
                      (f"; cannot: {', '.join(fmt.visible(j.domain.name) for j in blocked)}" if blocked else "") + "\n")
            if not args.yes:
                out.write("(nothing was run: add --yes to migrate)\n")
                return EXIT_FAILED if blocked else EXIT_OK
            if blocked and not args.continue_on_error:
                out.write("some domains cannot move: nothing was run (--continue-on-error moves the others)\n")
                return EXIT_FAILED
            cancel = asyncio.Event()

            def on_change(_index: int, job: logic.Job) -> None:
                name = fmt.visible(job.domain.name)
                if job.status == "running" and job.progress is not None:
                    err.write(f"  {name}: {progress_text(job.progress)}\n")
                elif job.status == "running":
                    err.write(f"  {name}: migrating to {fmt.visible(job.target or '')} …\n")
                elif job.status in ("done", "failed", "cancelled", "skipped") and job.where is None:
                    err.write(f"  {name}: {job.status}" + (f": {fmt.visible(job.reason)}" if job.reason else "") + "\n")
                err.flush()

            with cancel_on_sigint(asyncio.get_running_loop(), cancel, err):
                jobs = await logic.run_jobs(fleet, jobs, parallel=args.parallel,
                                            continue_on_error=args.continue_on_error, cancel=cancel,
                                            on_change=on_change)
            out.write("\n")
            arrived = 0
            for job in jobs:
                report = _outcome_text(job)
                if job.where is not None:
                    out.write(f"{fmt.visible(job.domain.name)}: {job.status}: {fmt.visible(job.where.sentence)}\n")
                    arrived += job.where.arrived
                else:
                    out.write(f"{fmt.visible(job.domain.name)}: {job.status}"
                              + (f": {fmt.visible(job.reason)}" if job.reason else "") + "\n")
                if report and job.status != "done":
                    out.write("  " + report.replace("\n", "\n  ") + "\n")
            out.write(f"{arrived} of {len(jobs)} domains moved\n")
            return EXIT_OK if arrived == len(jobs) else EXIT_FAILED

    return asyncio.run(run())
