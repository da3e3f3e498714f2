"""The `hvdeck` command: the console, `demo`, `ls`, `audit`, `trust`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from hvdeck.backends import inventory as inv
from hvdeck.backends.model import HostSnapshot, HostStatus

from . import __version__

EXIT_OK, EXIT_HOSTS_FAILED, EXIT_USAGE = 0, 1, 2
#: the console stopped on an internal error (sysexits.h EX_SOFTWARE); its traceback is in a crash report
EXIT_CRASH = 70


def _parser() -> argparse.ArgumentParser:
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
    sim = sub.add_parser("sim", help="serve a simulated control host over SSH (for trying hvdeck or scripts)")
    sim.add_argument("sim_kind", choices=("ldoms",), metavar="KIND", help="ldoms")
    sim.add_argument("--listen", default="127.0.0.1:2200", metavar="HOST:PORT")
    sim.add_argument("--host-key", required=True, metavar="FILE", help="created (ed25519) if missing")
    sim.add_argument("--authorized-keys", required=True, metavar="FILE", help="public keys allowed to log in")
    sim.add_argument("--hostname", default="t7-a", help="the simulated host's name (default t7-a)")
    sim.add_argument("--seed", type=int, default=1, help="seed of its utilisation figures")
    sim.add_argument("--empty", action="store_true", help="start with primary only (no demo guests)")
    trust = sub.add_parser("trust", parents=[common],
                           help="check and trust an SSH host's key (appends it to known_hosts)")
    trust.add_argument("host", metavar="HOST")
    trust.add_argument("--fingerprint", metavar="SHA256:…",
                       help="trust without asking if the server's key has exactly this fingerprint")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "ls":
            return ls(args)
        if args.command == "audit":
            return audit(args)
        if args.command == "trust":
            return trust(args)
        if args.command == "sim":
            return sim(args)
        if args.command == "demo":
            return console(args, demo=True)
        return console(args, demo=False)
    except inv.InventoryError as exc:
        print(f"hvdeck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _inventory(args: argparse.Namespace) -> inv.Inventory:
    path = getattr(args, "inventory", None) or inv.default_path()
    return inv.load(path)


def console(args: argparse.Namespace, *, demo: bool) -> int:
    """Run the console until the user quits: EXIT_OK, or EXIT_CRASH (after the terminal is restored,
    with the path of the saved traceback on stderr) when an error nothing handled stopped it."""
    from hvdeck.backends.audit import AuditLog, default_path

    from .app import HvdeckApp

    theme = getattr(args, "theme", "hvdeck-dark")
    if demo:
        from hvdeck.backends.sim.demo import DemoFleet

        audit_path = getattr(args, "audit_log", None) or default_path().with_name("demo-audit.log")
        with DemoFleet() as inventory:
            app = HvdeckApp(inventory, audit=AuditLog(audit_path), theme=theme)
            app.run()
        return _console_status(app)
    inventory = _inventory(args)  # a broken file stops here, before anything starts
    audit_path = getattr(args, "audit_log", None) or default_path()
    app = HvdeckApp(inventory, audit=AuditLog(audit_path), theme=theme)
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


# -- hvdeck ls -------------------------------------------------------------------------------------


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
    } for d in snapshot.domains]


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
        _print_table(snapshots)
    return EXIT_OK if all(s.status is HostStatus.UP for s in snapshots) else EXIT_HOSTS_FAILED


def _print_table(snapshots: Sequence[HostSnapshot]) -> None:
    from rich.console import Console
    from rich.table import Table

    from hvdeck.widgets import format as fmt

    console = Console()
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column, justify in (("HOST", "left"), ("NAME", "left"), ("ID", "right"), ("STATE", "left"),
                            ("NATIVE", "left"), ("VCPU", "right"), ("MEMORY", "right"), ("CPU%", "right"),
                            ("CONS", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in snapshots:
        for d in s.domains:
            table.add_row(s.host, d.name, "-" if d.id is None else str(d.id),
                          f"[{fmt.STATE_COLOURS.get(d.state.value, 'dim')}]{d.state.value}[/]", d.native_state,
                          "-" if d.vcpus is None else str(d.vcpus), fmt.size(d.memory_bytes),
                          fmt.percent(d.cpu_percent), d.console or "-")
    console.print(table)
    for s in snapshots:
        if s.status is not HostStatus.UP:
            console.print(f"[bold red]{s.host}: {s.status.value}[/]: {s.error}", highlight=False)


# -- hvdeck audit ------------------------------------------------------------------------------------


def audit(args: argparse.Namespace) -> int:
    from hvdeck.backends.audit import AuditLog, default_path

    log = AuditLog(getattr(args, "audit_log", None) or default_path())
    if args.audit_command == "show":
        for record in log.records():
            print(f"{record.get('seq', '?'):>5} {record.get('time', '?')} {record.get('user', '?')}@"
                  f"{record.get('host', '?')} {record.get('action', '?')} {record.get('target', '?')}: "
                  f"{record.get('operation', '?')} -> {record.get('result', '?')}")
        return EXIT_OK
    problems = log.verify()
    if problems:
        for problem in problems:
            print(f"{log.path}: {problem}", file=sys.stderr)
        return EXIT_HOSTS_FAILED
    print(f"{log.path}: {len(log.records())} records, chain intact")
    return EXIT_OK


# -- hvdeck sim ----------------------------------------------------------------------------------------


def sim(args: argparse.Namespace) -> int:
    import os

    from hvdeck.backends.sim.ldoms import LdomsWorld, serve
    from hvdeck.backends.sim.sshserver import load_or_create_host_key

    host, _, port_text = args.listen.rpartition(":")
    if not host or not port_text.isdigit():
        print(f"hvdeck: --listen {args.listen!r}: use HOST:PORT, e.g. 127.0.0.1:2200", file=sys.stderr)
        return EXIT_USAGE
    if not os.path.exists(args.authorized_keys):
        print(f"hvdeck: {args.authorized_keys}: no such file (one OpenSSH public key per line)", file=sys.stderr)
        return EXIT_USAGE
    key = load_or_create_host_key(args.host_key)
    world = LdomsWorld(args.hostname, seed=args.seed) if args.empty else LdomsWorld.demo(args.hostname, args.seed)

    async def run() -> None:
        server = await serve(world, host=host, port=int(port_text), host_key=key,
                             authorized_keys=args.authorized_keys)
        print(f"simulated LDoms control domain {args.hostname} on {server.host}:{server.port}", flush=True)
        print(f"host key {server.fingerprint}", flush=True)
        print(f"try: ssh -p {server.port} root@{server.host} ldm list", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except OSError as exc:
        print(f"hvdeck: cannot listen on {args.listen}: {exc.strerror or exc}", file=sys.stderr)
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
