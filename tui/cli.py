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
    ls.add_argument("hosts", nargs="*", metavar="HOST", help="only these inventory hosts")
    audit = sub.add_parser("audit", parents=[audit_opt], help="the audit log of every operation run")
    audit.add_argument("audit_command", choices=("verify", "show"))
    sim = sub.add_parser(
        "sim", help="serve a simulated control host over SSH (for trying hvdeck or scripts)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve simulated control hosts over SSH, on loopback or wherever --listen says.",
        epilog="ldoms: one or more SPARC control domains, each with its own SSH listener and host name; they\n"
               "reach each other by host name, so ldm migrate-domain moves guests between them. Give\n"
               "--listen once per host, naming each either inline (--listen t7-b=127.0.0.1:2201) or with\n"
               "--hostname in the same order. One --host-key is shared by every host; give one per host to\n"
               "keep them apart. A migration target accepts any non-empty password. Inside a host,\n"
               "telnet localhost PORT reaches a guest's console (PORT: the CONS column of ldm list).\n"
               "example: hvdeck sim ldoms --listen t7-a=127.0.0.1:2200 --listen t7-b=127.0.0.1:2201 \\\n"
               "           --host-key ~/.ssh/sim_host_key --authorized-keys ~/.ssh/id_ed25519.pub")
    sim.add_argument("sim_kind", choices=("ldoms",), metavar="KIND", help="ldoms")
    sim.add_argument("--listen", action="append", metavar="[NAME=]HOST:PORT",
                     help="where a host listens (repeat for several hosts; default 127.0.0.1:2200)")
    sim.add_argument("--host-key", action="append", required=True, metavar="FILE",
                     help="created (ed25519) if missing; once for all hosts or once per host")
    sim.add_argument("--authorized-keys", required=True, metavar="FILE", help="public keys allowed to log in")
    sim.add_argument("--hostname", action="append", metavar="NAME",
                     help="the next unnamed host's name (repeat in --listen order; default t7-a, t7-b, ...)")
    sim.add_argument("--seed", type=int, default=1, help="seed of the utilisation figures (host N: seed + N)")
    sim.add_argument("--empty", action="store_true", help="start with primary only (no demo guests)")
    trust = sub.add_parser("trust", parents=[common],
                           help="check and trust an SSH host's key (appends it to known_hosts)")
    trust.add_argument("host", metavar="HOST")
    trust.add_argument("--fingerprint", metavar="SHA256:…",
                       help="trust without asking if the server's key has exactly this fingerprint")
    from . import verbs

    verbs.add_parsers(sub, common, audit_opt)
    from . import cli_wizards

    cli_wizards.add_parsers(sub, common, audit_opt, flags=wizard_flags)
    return parser


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
            return sim(args)
        if args.command in ("show", "plan", "create", "clone"):
            return host_verb(args)
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
    """`hvdeck show` / `hvdeck plan` / `hvdeck create` / `hvdeck clone`: one host, through the same fleet,
    gate, executor and audit log."""
    from hvdeck.backends.audit import AuditLog, default_path
    from hvdeck.widgets.format import visible

    from . import verbs

    inventory = _inventory(args)
    try:
        if args.command == "show":
            return verbs.show(inventory, args)
        audit = AuditLog(getattr(args, "audit_log", None) or default_path())
        if args.command in ("create", "clone"):
            from . import cli_wizards

            return cli_wizards.run(inventory, args, audit)
        return verbs.plan(inventory, args, audit)
    except verbs.VerbError as exc:
        print(f"hvdeck: {visible(str(exc))}", file=sys.stderr)
        return exc.status


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
            app = HvdeckApp(inventory, audit=AuditLog(audit_path), theme=theme, settings=settings)
            app.run()
        return _console_status(app)
    inventory = _inventory(args, poll_interval=settings.poll_interval)  # a broken file stops here too
    audit_path = getattr(args, "audit_log", None) or default_path()
    app = HvdeckApp(inventory, audit=AuditLog(audit_path), theme=theme, settings=settings)
    app.run()
    return _console_status(app)


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
    from textual.dom import DOMNode
    from textual.theme import BUILTIN_THEMES

    from hvdeck import themes
    from hvdeck.backends import settings as st
    from hvdeck.widgets.fleet_table import COLUMN_KEYS

    from . import app  # noqa: F401 - imports every screen, so that their bindings are known

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


def ls(args: argparse.Namespace) -> int:
    from hvdeck.backends.fleet import Fleet

    if args.demo:
        from hvdeck.backends.sim.demo import DemoFleet

        with DemoFleet() as demo:
            snapshots = asyncio.run(Fleet(demo.select(args.hosts)).poll_once(timeout=args.timeout))
    else:
        inventory = _inventory(args).select(args.hosts)
        snapshots = asyncio.run(Fleet(inventory).poll_once(timeout=args.timeout))
    if args.json:
        json.dump(fleet_json(snapshots), sys.stdout, indent=2)
        sys.stdout.write("\n")
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
    return [(v(s.host), v(d.name), "-" if d.id is None else str(d.id), d.state.value, v(d.native_state),
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


# -- hvdeck sim ----------------------------------------------------------------------------------------


def sim(args: argparse.Namespace) -> int:
    return _sim_ldoms(args)


def _sim_hosts(listens: list[str] | None, hostnames: list[str] | None) -> list[tuple[str, str, int]] | str:
    """``--listen`` and ``--hostname`` as (name, address, port) per host, or the sentence that says what is
    wrong with them."""
    import re

    names = list(hostnames or [])
    hosts = []
    for index, spec in enumerate(listens or ["127.0.0.1:2200"]):
        name, _, where = spec.rpartition("=")
        address, _, port = where.rpartition(":")
        if not address or not port.isdigit():
            return f"--listen {spec!r}: use HOST:PORT or NAME=HOST:PORT, e.g. t7-b=127.0.0.1:2201"
        if not name:
            name = names.pop(0) if names else f"t7-{chr(ord('a') + index)}" if index < 26 else f"t7-{index}"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}", name):
            return f"{name!r} is not a host name (letters, digits, '-' and '.')"
        if any(name == other for other, _, _ in hosts):
            return f"two hosts are named {name}"
        hosts.append((name, address, int(port)))
    if names:
        return f"--hostname {names[0]} has no --listen to go with (give one --listen per host)"
    return hosts


def _sim_ldoms(args: argparse.Namespace) -> int:
    import os

    from hvdeck.backends.sim.ldoms import LdomsWorld, link, serve
    from hvdeck.backends.sim.sshserver import load_or_create_host_key

    hosts = _sim_hosts(args.listen, args.hostname)
    if isinstance(hosts, str):
        print(f"hvdeck: {hosts}", file=sys.stderr)
        return EXIT_USAGE
    if len(args.host_key) not in (1, len(hosts)):
        print(f"hvdeck: {len(args.host_key)} --host-key for {len(hosts)} hosts: give one, or one per host",
              file=sys.stderr)
        return EXIT_USAGE
    if not os.path.exists(args.authorized_keys):
        print(f"hvdeck: {args.authorized_keys}: no such file (one OpenSSH public key per line)", file=sys.stderr)
        return EXIT_USAGE
    keys = [load_or_create_host_key(path) for path in args.host_key]
    worlds = [LdomsWorld(name, seed=args.seed + index) if args.empty else LdomsWorld.demo(name, args.seed + index)
              for index, (name, _, _) in enumerate(hosts)]
    link(*worlds)

    async def run() -> None:
        servers = []
        for index, (world, (name, address, port)) in enumerate(zip(worlds, hosts)):
            server = await serve(world, host=address, port=port, host_key=keys[index % len(keys)],
                                 authorized_keys=args.authorized_keys)
            servers.append(server)
            print(f"simulated LDoms control domain {name} on {server.host}:{server.port}", flush=True)
            print(f"host key {server.fingerprint}", flush=True)
        first = servers[0]
        print(f"try: ssh -p {first.port} root@{first.host} ldm list", flush=True)
        if len(servers) > 1:
            print(f"and: ssh -p {first.port} root@{first.host} ldm migrate-domain -n -c ldg-test "
                  f"{hosts[1][0]}:ldg-test2", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except OSError as exc:
        print(f"hvdeck: cannot listen on {', '.join(f'{a}:{p}' for _, a, p in hosts)}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_HOSTS_FAILED
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
