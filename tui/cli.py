"""The `hvdeck` command: the console, `demo`, `ls`, `audit`, `trust`."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from hvdeck.backends import inventory as inv
from hvdeck.backends.model import Domain, HostSnapshot, HostStatus

from . import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from hvdeck.backends.inventory import Inventory
    from hvdeck.backends.settings import Settings

EXIT_OK, EXIT_HOSTS_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # the reader of stdout went away (`| head`): what a shell reports for SIGPIPE
#: the console stopped on an internal error (sysexits.h EX_SOFTWARE); its traceback is in a crash report
EXIT_CRASH = 70


def _parser(*, wizard_flags: bool = True) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--inventory", "-i", metavar="FILE", default=argparse.SUPPRESS,
                        help=f"inventory YAML (default: $HVDECK_INVENTORY or {inv.default_path()})")
    audit_opt = argparse.ArgumentParser(add_help=False)
    audit_opt.add_argument("--audit-log", metavar="FILE", default=argparse.SUPPRESS,
                           help="audit log (default: $HVDECK_AUDIT_LOG or the user state dir)")
    theme_opt = argparse.ArgumentParser(add_help=False)
    theme_opt.add_argument("--theme", choices=("hvdeck-dark", "hvdeck-light"), default=argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
        prog="hvdeck", parents=[common, audit_opt, theme_opt],
        description="A full-screen console for LDoms, Xen, libvirt/KVM and Solaris zones hosts. "
                    "With no command, opens the console on the inventory's hosts.")
    parser.add_argument("--version", action="version", version=f"hvdeck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("demo", parents=[audit_opt, theme_opt],
                   help="open the console on the built-in demo fleet (no hosts needed)")
    ls = sub.add_parser("ls", parents=[common], help="poll the hosts once and print their domains")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument("--timeout", type=float, default=30.0, help="seconds per host (default 30)")
    ls.add_argument("--demo", action="store_true", help="list the built-in demo fleet instead of the inventory")
    ls.add_argument("--processes", type=int, default=None, metavar="N",
                    help="poll in N processes (default: one per core from 200 hosts, each taking 100 or more)")
    ls.add_argument("hosts", nargs="*", metavar="HOST", help="only these inventory hosts")
    audit = sub.add_parser("audit", parents=[audit_opt], help="the audit log of every operation run")
    audit.add_argument("audit_command", choices=("verify", "show"))
    from . import cli_sim

    cli_sim.add_parser(sub)
    trust = sub.add_parser("trust", parents=[common],
                           help="check and trust an SSH host's key (appends it to known_hosts)")
    trust.add_argument("host", metavar="HOST")
    trust.add_argument("--fingerprint", metavar="SHA256:…",
                       help="trust without asking if the server's key has exactly this fingerprint")
    from . import cli_console, verbs

    verbs.add_parsers(sub, common, audit_opt)
    cli_console.add_parser(sub, common, audit_opt)
    from . import cli_wizards

    cli_wizards.add_parsers(sub, common, audit_opt, flags=wizard_flags)
    from . import cli_migrate

    cli_migrate.add_parsers(sub, common, audit_opt)
    for verb in DEMO_VERBS:
        sub.choices[verb].add_argument(
            "--demo", action="store_true",
            help="on the built-in demo fleet instead of the inventory (started for this command: what it "
                 "changes is gone when the command ends)")
    return parser


#: the verbs that also run on the demo fleet (`--demo`)
DEMO_VERBS = ("show", "plan", "create", "clone", "migrate", "evacuate")


def main(argv: Sequence[str] | None = None) -> int:
    from .cli_wizards import named

    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser(wizard_flags=named(argv)).parse_args(argv)  # the wizards' flags import every backend
    try:
        if args.command == "ls":
            return ls(args)
        if args.command == "audit":
            return audit(args)
        if args.command == "trust":
            return trust(args)
        if args.command == "sim":
            from . import cli_sim

            return cli_sim.sim(args)
        if args.command in ("show", "plan", "create", "clone", "migrate", "evacuate"):
            return host_verb(args)
        if args.command == "console":
            return console_verb(args)
        if args.command == "demo":
            return console(args, demo=True)
        return console(args, demo=False)
    except inv.ConfigFileError as exc:  # a broken inventory or settings file: one line, nothing started
        print(f"hvdeck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `hvdeck ls | head -1`: the reader has what it wanted; stop quietly, as Unix tools do
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE


def host_verb(args: argparse.Namespace) -> int:
    """`hvdeck show` / `plan` / `create` / `clone` / `migrate` / `evacuate`: through the same fleet, gate,
    executor and audit log."""
    from hvdeck.backends.audit import default_path, demo_path

    if getattr(args, "demo", False):
        from hvdeck.backends.sim.demo import DemoFleet

        with DemoFleet() as inventory:
            return _host_verb(inventory, args, demo_path())
    return _host_verb(_inventory(args), args, default_path())


def _host_verb(inventory: Inventory, args: argparse.Namespace, audit_path: Path) -> int:
    from hvdeck.backends.audit import AuditLog
    from hvdeck.widgets.format import visible

    from . import verbs

    try:
        if args.command == "show":
            return verbs.show(inventory, args)
        audit = AuditLog(getattr(args, "audit_log", None) or audit_path)
        if args.command in ("migrate", "evacuate"):
            from . import cli_migrate

            return (cli_migrate.migrate if args.command == "migrate" else cli_migrate.evacuate)(inventory, args, audit)
        if args.command in ("create", "clone"):
            from . import cli_wizards

            return cli_wizards.run(inventory, args, audit)
        return verbs.plan(inventory, args, audit)
    except verbs.VerbError as exc:
        print(f"hvdeck: {visible(str(exc))}", file=sys.stderr)
        return exc.status


def console_verb(args: argparse.Namespace) -> int:
    """`hvdeck console HOST DOMAIN` (`cli_console`): the settings' detach key, the inventory's host (or the
    demo's), the audit log."""
    from hvdeck.backends.audit import AuditLog, default_path, demo_path

    from . import cli_console

    settings = load_settings()
    detach_key = settings.console.detach_key
    if args.demo:
        from hvdeck.backends.sim.demo import DemoFleet

        with DemoFleet(libvirt=False) as inventory:
            audit = AuditLog(getattr(args, "audit_log", None) or demo_path())
            return cli_console.run(args, inventory, audit, detach_key)
    inventory = _inventory(args)
    audit = AuditLog(getattr(args, "audit_log", None) or default_path())
    return cli_console.run(args, inventory, audit, detach_key)


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so that Python's final flush of what is still buffered for a closed
    pipe raises nothing more at exit."""
    import os

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a real file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _inventory(args: argparse.Namespace, *, poll_interval: float = inv.DEFAULT_POLL_INTERVAL) -> inv.Inventory:
    path = getattr(args, "inventory", None) or inv.default_path()
    return inv.load(path, poll_interval=poll_interval)


def console(args: argparse.Namespace, *, demo: bool) -> int:
    """Run the console until the user quits: EXIT_OK, or EXIT_CRASH (after the terminal is restored,
    with the path of the saved traceback on stderr) when an error nothing handled stopped it."""
    from hvdeck.backends.audit import AuditLog, default_path, demo_path

    from .app import HvdeckApp

    settings = load_settings()  # a broken settings file stops here, before anything starts
    theme = getattr(args, "theme", None)  # --theme wins over the settings' theme
    if demo:
        from hvdeck.backends.sim.demo import DemoFleet

        audit_path = getattr(args, "audit_log", None) or demo_path()
        with DemoFleet() as inventory:
            app = HvdeckApp(inventory, audit=AuditLog(audit_path), theme=theme, settings=settings,
                            fleet=_fleet(inventory, settings, audit_path), quiet_gc=True)
            app.run()
        return _console_status(app)
    inventory = _inventory(args, poll_interval=settings.poll_interval)  # a broken file stops here too
    audit_path = getattr(args, "audit_log", None) or default_path()
    app = HvdeckApp(inventory, audit=AuditLog(audit_path), theme=theme, settings=settings,
                    fleet=_fleet(inventory, settings, audit_path), quiet_gc=True)
    app.run()
    return _console_status(app)


def _fleet(inventory: inv.Inventory, settings: Settings, audit_path: Any) -> Any:
    """The console's hosts: polled in an engine process (settings ``engine: process``, the default) or in
    the console's own (``inline``: the app builds its own `Fleet`)."""
    if settings.engine != "process":
        return None
    from hvdeck.backends.remote import RemoteFleet
    from hvdeck.backends.transport.base import Limits

    fleet = RemoteFleet(inventory, audit_path=str(audit_path), limits=Limits(
        settings.ssh.max_command_channels, settings.ssh.max_long_channels, settings.output_limit_bytes))
    fleet.launch()  # before the app takes the terminal's streams
    return fleet


def _console_status(app: Any) -> int:
    if not app.return_code:
        return EXIT_OK
    if app.crash_report is not None:
        print(f"hvdeck: the full traceback is in {app.crash_report}", file=sys.stderr)
    else:
        print("hvdeck: stopped on an internal error (the traceback could not be saved)", file=sys.stderr)
    return EXIT_CRASH


def load_settings() -> Settings:
    """The settings file ($HVDECK_CONFIG or ~/.config/hvdeck/settings.yaml), checked against the themes,
    binding ids and table columns the app has. Raises SettingsError."""
    import importlib
    import pkgutil

    from textual.dom import DOMNode
    from textual.theme import BUILTIN_THEMES

    from hvdeck import themes
    from hvdeck.backends import settings as st
    from hvdeck.widgets.fleet_table import COLUMN_KEYS

    from . import (
        app,  # noqa: F401 - the app's own bindings
        screens,
        wizards,
    )

    # every screen and wizard module, so that their bindings are known (the app imports the wizards only
    # when one is opened)
    for package in (screens, wizards):
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    binding_ids: set[str] = set()
    classes: list[type] = [DOMNode]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if cls.__module__.startswith("hvdeck."):
            binding_ids.update(b.id for b in cls.__dict__.get("BINDINGS", ()) if getattr(b, "id", None))
    vocabulary = st.Vocabulary(themes={*BUILTIN_THEMES, *(t.name for t in themes.THEMES)},
                               binding_ids=binding_ids, columns=COLUMN_KEYS)
    return st.load(vocabulary=vocabulary)


# -- hvdeck ls -------------------------------------------------------------------------------------


def ordered_domains(snapshot: HostSnapshot) -> list[Domain]:
    """A host's domains in the fleet table's default order (by name, case-insensitively, then by key),
    so that `ls` prints the same rows in the same order on every run."""
    return sorted(snapshot.domains, key=lambda d: (d.name.lower(), d.key))


def domain_json(snapshot: HostSnapshot) -> list[dict[str, Any]]:
    return [{
        "name": d.name,
        "id": d.id,
        "state": d.state.value,
        "native_state": d.native_state,
        "vcpus": d.vcpus,
        "memory_bytes": d.memory_bytes,
        "cpu_percent": d.cpu_percent,
        "uptime_s": d.uptime_s,
        "console": d.console,
        "flags": d.flags,  # LDoms `-t----`, what makes an active domain's state "transition"
    } for d in ordered_domains(snapshot)]


def fleet_json(snapshots: Sequence[HostSnapshot]) -> dict[str, Any]:
    """The documented `hvdeck ls --json` shape; scripts depend on it, so it changes only by adding."""
    return {"hosts": [{
        "name": s.host,
        "kind": s.kind,
        "status": "up" if s.status is HostStatus.UP else ("down" if s.status in (HostStatus.DOWN, HostStatus.STALE)
                                                         else "error"),
        "error": s.error,
        "domains": domain_json(s) if s.status is HostStatus.UP else [],
    } for s in snapshots]}


def write_fleet_json(doc: dict[str, Any], out: TextIO) -> None:
    """`fleet_json` indented by two down to each host's fields, and one domain per line (each written by
    json's C encoder: indenting every field of 20,000 domains cost a 500-host `ls` half a second of CPU).
    Non-ASCII and control characters are escaped, as by `json.dump`."""
    dumps = json.dumps
    out.write('{\n  "hosts": [')
    for i, host in enumerate(doc["hosts"]):
        fields = []
        for key, value in host.items():
            if key == "domains" and value:
                rows = ",\n        ".join(dumps(d) for d in value)
                fields.append(f'\n      "domains": [\n        {rows}\n      ]')
            else:
                fields.append(f"\n      {dumps(key)}: {dumps(value)}")
        out.write(("," if i else "") + "\n    {" + ",".join(fields) + "\n    }")
    out.write("\n  ]\n}\n")


def ls(args: argparse.Namespace) -> int:
    from hvdeck.backends.fleet import poll_sharded

    if args.demo:
        from hvdeck.backends.sim.demo import DemoFleet

        with DemoFleet() as demo:
            snapshots = poll_sharded(demo.select(args.hosts), timeout=args.timeout, workers=args.processes)
    else:
        inventory = _inventory(args).select(args.hosts)
        snapshots = poll_sharded(inventory, timeout=args.timeout, workers=args.processes)
    if args.json:
        write_fleet_json(fleet_json(snapshots), sys.stdout)
    else:
        print_table(snapshots, sys.stdout)
    sys.stdout.flush()  # a closed pipe shows here, inside main, rather than at exit
    return EXIT_OK if all(s.status is HostStatus.UP for s in snapshots) else EXIT_HOSTS_FAILED


#: `hvdeck ls` columns: (header, right-aligned)
LS_COLUMNS = (("HOST", False), ("NAME", False), ("ID", True), ("STATE", False), ("NATIVE", False),
              ("VCPU", True), ("MEMORY", True), ("CPU%", True), ("CONS", False))


def ls_rows(snapshots: Sequence[HostSnapshot]) -> list[tuple[str, ...]]:
    """The `hvdeck ls` table's cells, hosts in inventory order, domains in the table's default order;
    host text with its controls made visible, nothing cut."""
    from hvdeck.widgets import format as fmt

    v = fmt.visible
    return [(v(s.host), v(d.name), "-" if d.id is None else str(d.id), d.state.value, v(fmt.native(d)),
             "-" if d.vcpus is None else str(d.vcpus), fmt.size(d.memory_bytes), fmt.percent(d.cpu_percent),
             v(d.console or "-"))
            for s in snapshots for d in ordered_domains(s)]


def print_table(snapshots: Sequence[HostSnapshot], out: TextIO, *, width: int | None = None) -> None:
    """The fleet's domains as aligned columns, two spaces apart, then a line per host in trouble.

    Columns are as wide as their longest text in terminal cells, and names are never markup. Piped or
    redirected, nothing is cut or wrapped, whatever its length. On a terminal (``width`` cells wide, by
    default the terminal's own) the header is bold, states have their colours, and names too long for
    the terminal are cut as the console cuts them, so that no two look alike.
    """
    from hvdeck.widgets import format as fmt

    rows = ls_rows(snapshots)
    header = tuple(label for label, _right in LS_COLUMNS)
    problems = [f"{fmt.visible(s.host)}: {s.status.value}: {fmt.visible(s.error or '-')}"
                for s in snapshots if s.status is not HostStatus.UP]
    terminal = out.isatty()
    widths = [max(fmt.cells(cell) for cell in column) for column in zip(header, *rows)]
    if terminal:
        name = header.index("NAME")
        others = sum(widths) - widths[name] + 2 * (len(widths) - 1)
        room = (width or shutil.get_terminal_size().columns) - others
        if rows and room < widths[name]:
            cuts, widths[name] = fmt.distinct_cuts([row[name] for row in rows], max(room, len(header[name]) + 6))
            rows = [row[:name] + (cuts.get(row[name], row[name]),) + row[name + 1:] for row in rows]
    widths[-1] = 0  # the last column is not padded: no trailing spaces

    def padded(cells: Sequence[str]) -> list[str]:
        return [fmt.pad(cell, w, "right" if right else "left")
                for cell, w, (_label, right) in zip(cells, widths, LS_COLUMNS)]

    if not terminal:
        lines = ["  ".join(padded(cells)) for cells in (header, *rows)]
        out.write("".join(f"{text}\n" for text in lines + problems))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, soft_wrap=True, highlight=False)
    console.print(Text("  ".join(padded(header)), style="bold"))
    state = header.index("STATE")
    for cells in rows:
        text = Text()
        for i, cell in enumerate(padded(cells)):
            if i:
                text.append("  ")
            text.append(cell, style=fmt.STATE_COLOURS.get(cells[state], "dim") if i == state else "")
        console.print(text)
    for problem in problems:
        console.print(Text(problem, style="bold red"))


# -- hvdeck audit ------------------------------------------------------------------------------------


def audit(args: argparse.Namespace) -> int:
    """`hvdeck audit show` prints the log (control characters made visible), `verify` checks its chain.
    A missing log is said to be missing (exit 1); users of the default log are told where the demo's is."""
    from hvdeck.backends.audit import AuditLog, default_path, demo_path
    from hvdeck.widgets.format import visible

    explicit = getattr(args, "audit_log", None)
    log = AuditLog(explicit or default_path())
    demo = demo_path()
    hint = None  # for the default log, where the demo's is (`hvdeck demo` never writes the default log)
    if not explicit and log.path != demo and demo.exists():
        hint = f"hvdeck: `hvdeck demo` keeps its own log, {demo}: hvdeck audit {args.audit_command} --audit-log {demo}"

    if not log.path.exists():
        problems = log.verify()  # a head file without its log is tampering, not "nothing yet"
        print(f"hvdeck: {log.path}: {problems[0] if problems else 'no such file (nothing has been audited there)'}",
              file=sys.stderr)
        if hint:
            print(hint, file=sys.stderr)
        return EXIT_HOSTS_FAILED
    if args.audit_command == "show":
        records = log.records()
        try:
            for record in records:
                print(visible(f"{record.get('seq', '?'):>5} {record.get('time', '?')} {record.get('user', '?')}@"
                              f"{record.get('host', '?')} {record.get('action', '?')} {record.get('target', '?')}: "
                              f"{record.get('operation', '?')} -> {record.get('result', '?')}"))
            sys.stdout.flush()
        except BrokenPipeError:
            _stdout_to_devnull()
            return EXIT_OK
        if not records and hint:
            print(hint, file=sys.stderr)
        return EXIT_OK
    problems = log.verify()
    if problems:
        for problem in problems:
            print(f"{log.path}: {problem}", file=sys.stderr)
        return EXIT_HOSTS_FAILED
    count = len(log.records())
    print(f"{log.path}: {count} records, chain intact")
    if not count and hint:
        print(hint, file=sys.stderr)
    return EXIT_OK


# -- hvdeck trust ------------------------------------------------------------------------------------


def trust(args: argparse.Namespace) -> int:
    from hvdeck.backends.errors import HostKeyChanged, HostKeyUnknown, HvdeckError
    from hvdeck.backends.transport.ssh import SshSession, trust_host_key

    inventory = _inventory(args).select([args.host])
    spec = inventory.hosts[0]
    if spec.transport != "ssh":
        print(f"hvdeck: {spec.name} uses the {spec.transport} transport; there is no host key", file=sys.stderr)
        return EXIT_USAGE
    session = SshSession(spec, inventory.ssh)

    async def attempt() -> HvdeckError | None:
        try:
            await session.connect()
        except HvdeckError as exc:
            return exc
        finally:
            await session.close()
        return None

    problem = asyncio.run(attempt())
    if problem is None:
        print(f"{spec.name}: the host key is already trusted")
        return EXIT_OK
    if isinstance(problem, HostKeyChanged) or not isinstance(problem, HostKeyUnknown):
        print(f"hvdeck: {problem.message}", file=sys.stderr)
        return EXIT_HOSTS_FAILED
    if not problem.key_line or not problem.fingerprint:
        print(f"hvdeck: {spec.name}: could not fetch the server's key", file=sys.stderr)
        return EXIT_HOSTS_FAILED
    print(f"{spec.name} ({problem.address}, port {problem.port}) presents key {problem.fingerprint}")
    if args.fingerprint is not None:
        if args.fingerprint != problem.fingerprint:
            print(f"hvdeck: fingerprint mismatch: expected {args.fingerprint}; nothing written", file=sys.stderr)
            return EXIT_HOSTS_FAILED
    elif not sys.stdin.isatty():
        print("hvdeck: not a terminal; pass --fingerprint to trust non-interactively", file=sys.stderr)
        return EXIT_USAGE
    elif input("Trust this key and add it to known_hosts? [y/N] ").strip().lower() not in ("y", "yes"):
        print("not trusted; nothing written")
        return EXIT_HOSTS_FAILED
    trust_host_key(problem.known_hosts, problem.pattern, problem.key_line)
    print(f"added {problem.pattern} to {problem.known_hosts}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
