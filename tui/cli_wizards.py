"""The wizards from the shell: ``hvdeck create HOST NAME …`` and ``hvdeck clone HOST SOURCE NEW …``.

Their flags are the backends' own wizard inputs (`hvdeck.backends.options`: each option's ``flag`` and
``describe()``), gathered from every backend class's static form, so ``--help`` lists what each kind of host
takes; a flag the host's kind does not have is refused by name. The values go through the same parsing,
the same host choices (``--pool`` defaults to the host's first pool…) and the same checks against the host
as in the console; every error names its flag. The plan is printed with its pre-flight checks, which run
(they only read the host). Without ``--yes`` nothing changes; with it the plan runs through the executor
and the audit log, each step's outcome printed as it ends (Ctrl-C cancels, as for `hvdeck plan`).

Exit statuses as `hvdeck.tui.verbs`: 0 done (or printed), 1 a step failed or the plan was refused (a
pre-flight check failed, the host is read-only), 2 bad usage or input, 3 the host or the domain is not there.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from hvdeck.backends import policy
from hvdeck.backends.base import Backend
from hvdeck.backends.errors import HvdeckError, Unsupported
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import Domain, DomainState
from hvdeck.backends.options import BoolOption, Form, FormErrors, NumberOption, Option, SizeOption
from hvdeck.backends.plan import Plan
from hvdeck.widgets import format as fmt

from .verbs import EXIT_FAILED, EXIT_OK, EXIT_USAGE, VerbError, connected, find_domain, plan_text, run_and_report

WIZARDS = ("create", "clone")
#: the positional arguments, by the option they fill (they are not flags)
POSITIONAL = {"create": {"name": "NAME"}, "clone": {"name": "NEW"}}
#: what the help's per-kind lists say a clone form is for (the forms are per domain: a running one)
_HELP_DOMAIN = Domain(host="HOST", name="SOURCE", state=DomainState.RUNNING, native_state="active")


def named(argv: Sequence[str]) -> bool:
    """Does this command line name a wizard verb (so that its flags must be built, importing every backend)?"""
    return any(arg in WIZARDS for arg in argv)


#: the probe facts (`HostInfo.facts`) of the variants of a kind whose forms differ: Sun xVM's create
#: installs with virt-install from a source, and its clone works on vdisks
_VARIANTS: dict[str, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]] = {
    "xen": (("xen", ()), ("xen/xVM", (("toolstack", "xm"), ("solaris", "yes")))),
    "zones": (("zones", ()), ("zones/s11", (("layout", "solaris11"),))),
}


def wizard_forms(wizard: str) -> dict[str, Form]:
    """kind (or kind/variant) -> the wizard's form, for every backend class that has one, as a session-less
    copy of the backend gives it (the console's own way of deciding). A backend that cannot be imported here
    (libvirt-python missing) is left out."""
    from hvdeck.backends.inventory import HostSpec
    from hvdeck.backends.registry import BACKENDS, backend_class

    forms: dict[str, Form] = {}
    for kind in BACKENDS:
        for label, facts in _VARIANTS.get(kind, ((kind, ()),)):
            try:
                bare: Backend = backend_class(kind)(HostSpec(name="HOST", address="HOST", kind=kind), None)  # type: ignore[arg-type]
                bare.adopt(facts)
                form = bare.create_form() if wizard == "create" else bare.clone_form(_HELP_DOMAIN)
            except (HvdeckError, ImportError, AttributeError, TypeError):
                continue
            if form is not None and form not in forms.values():
                forms[label] = form
    return forms


def _metavar(option: Option) -> str:
    if isinstance(option, SizeOption):
        return "SIZE"
    if isinstance(option, NumberOption):
        return "N"
    return option.name.upper()


@dataclass(frozen=True, slots=True)
class _Flag:
    option: Option
    kinds: tuple[str, ...]


def _flags(wizard: str, forms: dict[str, Form]) -> dict[str, _Flag]:
    """Every option of every kind's form but the positional ones, by name (first kind's option wins)."""
    flags: dict[str, _Flag] = {}
    for kind, form in forms.items():
        for option in form.options:
            if option.name in POSITIONAL[wizard]:
                continue
            found = flags.get(option.name)
            flags[option.name] = _Flag(found.option if found else option, (*(found.kinds if found else ()), kind))
    return flags


def _epilog(wizard: str, forms: dict[str, Form]) -> str:
    """What each kind of host takes (the options above say what each is)."""
    if not forms:
        return "(no kind of host offers this wizard here)"
    lines = ["inputs by kind of host:"]
    for kind, form in forms.items():
        words = [POSITIONAL[wizard].get(o.name) or (f"--[no-]{o.flag[2:]}" if isinstance(o, BoolOption) else o.flag)
                 for o in form.options]
        lines += textwrap.wrap(" ".join(words), 100, initial_indent=f"  {kind + ':':<11}", subsequent_indent=" " * 13)
    return "\n".join(lines)


def add_parsers(sub: Any, common: argparse.ArgumentParser, audit_opt: argparse.ArgumentParser, *,
                flags: bool = True) -> None:
    """Register ``create`` and ``clone``. Their flags come from every backend's form, which imports every
    backend: ``flags=False`` (a command line that names neither) registers them bare, for the command list."""
    for wizard in WIZARDS:
        forms = wizard_forms(wizard) if flags else {}
        if wizard == "create":
            parser = sub.add_parser(
                "create", parents=[common, audit_opt], formatter_class=argparse.RawDescriptionHelpFormatter,
                help="create a guest on a host (the create wizard): print its plan; with --yes, run it",
                description="Create a guest NAME on HOST with the inputs of HOST's kind (below). The plan is "
                            "printed with its pre-flight checks; nothing runs without --yes.",
                epilog=_epilog(wizard, forms) if flags else None)
            parser.add_argument("host", metavar="HOST")
            parser.add_argument("name", metavar="NAME")
        else:
            parser = sub.add_parser(
                "clone", parents=[common, audit_opt], formatter_class=argparse.RawDescriptionHelpFormatter,
                help="clone a guest from a snapshot (the clone wizard): print its plan; with --yes, run it",
                description="Clone SOURCE on HOST as NEW (or, with --into, into an existing domain) with the "
                            "inputs of HOST's kind (below). The plan is printed with its pre-flight checks; "
                            "nothing runs without --yes.",
                epilog=_epilog(wizard, forms) if flags else None)
            parser.add_argument("host", metavar="HOST")
            parser.add_argument("source", metavar="SOURCE")
            parser.add_argument("name", metavar="NEW")
        for name, flag in _flags(wizard, forms).items():
            option = flag.option
            kinds = "" if len(flag.kinds) == len(forms) else f" ({', '.join(flag.kinds)} hosts)"
            if isinstance(option, BoolOption):
                parser.add_argument(option.flag, dest=f"opt_{name}", default=None,
                                    action=argparse.BooleanOptionalAction, help=option.describe() + kinds)
            else:
                parser.add_argument(option.flag, dest=f"opt_{name}", default=None, metavar=_metavar(option),
                                    help=option.describe() + kinds)
        parser.add_argument("--yes", action="store_true", help="run the plan (without it, nothing runs)")
        parser.add_argument("--confirm", metavar="TEXT", help="the text a destructive plan asks to be typed")


def _given(args: argparse.Namespace) -> dict[str, str]:
    """The flags given on the command line, as the texts the form parses (booleans as yes/no)."""
    given = {}
    for key, value in vars(args).items():
        if key.startswith("opt_") and value is not None:
            given[key[4:]] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    return given


def _texts(wizard: str, form: Form, args: argparse.Namespace, kind: str) -> dict[str, str]:
    """The form's texts: the positional ones and the flags given. A flag of another kind's form is refused."""
    given = _given(args)
    known = {option.name for option in form.options}
    stray = [name for name in given if name not in known]
    if stray:
        flags = ", ".join("--" + name.replace("_", "-") for name in stray)
        takes = ", ".join(o.flag for o in form.options if o.name not in POSITIONAL[wizard])
        raise VerbError(f"{flags}: not an input of {kind} hosts ({kind} takes {takes})", EXIT_USAGE)
    return {"name": args.name, **given}


def _refused(wizard: str, form: Form, errors: dict[str, str]) -> VerbError:
    """Each input at fault, by its flag (or its place on the command line)."""
    lines = []
    for name, sentence in errors.items():
        where = POSITIONAL[wizard].get(name)
        if where is None:
            where = form.option(name).flag if name in {o.name for o in form.options} else name
        lines.append(f"{where}: {fmt.visible(sentence)}")
    return VerbError("\n".join(lines), EXIT_USAGE)


async def _checked(fleet: Fleet, plan: Plan, out: TextIO) -> bool:
    """Run the plan's pre-flight checks (read-only) and print each; True when all passed."""
    if not plan.checks:
        return True
    results = await fleet.preflight(plan)
    out.write("pre-flight checks:\n")
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        reason = f": {fmt.visible(result.reason, newlines=True)}" if not result.ok and result.reason else ""
        out.write(f"  {mark} {fmt.visible(result.check.description)}{reason}\n")
    return all(result.ok for result in results)


async def _finish(fleet: Fleet, plan: Plan, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    out.write(plan_text(plan))
    passed = await _checked(fleet, plan, out)
    if not args.yes:
        out.write("(nothing was run: add --yes to run it)\n")
        return EXIT_OK
    if not passed:
        raise VerbError("a pre-flight check failed: nothing was run", EXIT_FAILED)
    if plan.confirm_phrase and args.confirm != plan.confirm_phrase:
        raise VerbError(f"this plan needs --confirm {plan.confirm_phrase} as well as --yes", EXIT_USAGE)
    result = await run_and_report(fleet, plan, out, err)
    out.write(fmt.visible(result.summary(), newlines=True) + "\n")
    if result.ok and "add-spconfig" in {e.id for e in fleet.extra_actions(plan.host)}:
        out.write(f"save the configuration to the service processor: hvdeck plan {plan.host} {plan.target} "
                  "add-spconfig config=NAME --yes\n")
    return EXIT_OK if result.ok else EXIT_FAILED


def run(inventory: Inventory, args: argparse.Namespace, audit: Any, out: TextIO | None = None,
        err: TextIO | None = None) -> int:
    """`hvdeck create` / `hvdeck clone` (see the module docstring). Raises `VerbError`."""
    out, err = out or sys.stdout, err or sys.stderr
    wizard = args.command

    async def go() -> int:
        async with connected(inventory, args.host, audit=audit) as (fleet, snapshot):
            reason = policy.host_reason(snapshot)
            domain = find_domain(snapshot, args.source) if wizard == "clone" else None
            form = fleet.create_form(args.host) if domain is None else fleet.clone_form(domain)
            if form is None:
                what = "create guests" if domain is None else f"clone {domain.name}"
                raise VerbError(f"{args.host}: hvdeck cannot {what} on {snapshot.kind} hosts", EXIT_USAGE)
            texts = _texts(wizard, form, args, snapshot.kind)
            if reason is not None:
                raise VerbError(f"{args.host}: {reason}; nothing was planned", EXIT_FAILED)
            try:
                choices = await (fleet.create_choices(args.host) if domain is None else fleet.clone_choices(domain))
            except Unsupported as exc:
                raise VerbError(exc.message, EXIT_FAILED) from None
            form = form.with_choices(choices)
            try:
                values = form.parse(texts)
                plan = await (fleet.plan_create(args.host, values) if domain is None
                              else fleet.plan_clone(domain, values))
            except FormErrors as exc:
                raise _refused(wizard, form, exc.errors) from None
            except HvdeckError as exc:
                raise VerbError(exc.message, EXIT_USAGE) from None
            return await _finish(fleet, plan, args, out, err)

    return asyncio.run(go())
