"""`hvdeck sim KIND`: serve simulated control hosts over SSH, for trying hvdeck (or one's own scripts)
without the hardware: LDoms control domains (several, which migrate guests to each other), a Xen dom0
(xl, xm or Sun xVM) and a Solaris or illumos global zone."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parser(sub: Any) -> None:
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
               "           --host-key ~/.ssh/sim_host_key --authorized-keys ~/.ssh/id_ed25519.pub\n"
               "xen: one dom0 (--toolstack xl, xm or xvm) on the first --listen.\n"
               "zones: one global zone (--layout illumos or solaris11) on the first --listen.")
    sim.add_argument("sim_kind", choices=("ldoms", "xen", "zones"), metavar="KIND", help="ldoms, xen or zones")
    sim.add_argument("--listen", action="append", metavar="[NAME=]HOST:PORT",
                     help="where a host listens (repeat for several hosts; default 127.0.0.1:2200)")
    sim.add_argument("--host-key", action="append", required=True, metavar="FILE",
                     help="created (ed25519) if missing; once for all hosts or once per host")
    sim.add_argument("--authorized-keys", required=True, metavar="FILE", help="public keys allowed to log in")
    sim.add_argument("--hostname", action="append", metavar="NAME",
                     help="the next unnamed host's name (repeat in --listen order; default t7-a, t7-b, ... for ldoms, "
                          "xen-a/xm-a/xvm-a for xen, omni-a/sol-a for zones)")
    sim.add_argument("--seed", type=int, default=1, help="seed of the utilisation figures (host N: seed + N)")
    sim.add_argument("--empty", action="store_true",
                     help="start with the control domain alone (primary, Domain-0, the global zone): no demo guests")
    sim.add_argument("--layout", choices=("illumos", "solaris11"), default="illumos",
                     help="zones: the global zone's kind (illumos: OmniOS; solaris11: Oracle Solaris 11.4)")
    sim.add_argument("--toolstack", choices=("xl", "xm", "xvm"), default="xl",
                     help="xen: xl (Xen >= 4.1), xm (xend, Xen <= 4.4) or xvm (Sun xVM on OpenSolaris); default xl")


def sim(args: argparse.Namespace) -> int:
    if args.sim_kind == "xen":
        return _sim_xen(args)
    if args.sim_kind == "zones":
        return _sim_zones(args)
    return _sim_ldoms(args)


def _authorized_keys_problem(args: argparse.Namespace) -> str | None:
    if not os.path.exists(args.authorized_keys):
        return f"hvdeck: {args.authorized_keys}: no such file (one OpenSSH public key per line)"
    return None


def _sim_hosts(listens: list[str] | None, hostnames: list[str] | None) -> list[tuple[str, str, int]] | str:
    """``--listen`` and ``--hostname`` as (name, address, port) per host, or the sentence that says what is
    wrong with them."""
    import re

    names = list(hostnames or [])
    hosts: list[tuple[str, str, int]] = []
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
    if (problem := _authorized_keys_problem(args)) is not None:
        print(problem, file=sys.stderr)
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
        return EXIT_FAILED
    return EXIT_OK




def _serve_one(args: argparse.Namespace, default_name: str, what: Callable[[str], str], try_command: str,
               make_world: Callable[[str], Any], serve: Callable[..., Awaitable[Any]]) -> int:
    """Serve one simulated host (xen, zones) on the first --listen, printing its address, key and a command
    to try."""
    from hvdeck.backends.sim.sshserver import load_or_create_host_key

    listen = (args.listen or ["127.0.0.1:2200"])[0]
    host, _, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit() or "=" in host:
        print(f"hvdeck: --listen {listen!r}: use HOST:PORT, e.g. 127.0.0.1:2200", file=sys.stderr)
        return EXIT_USAGE
    if (problem := _authorized_keys_problem(args)) is not None:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    key = load_or_create_host_key(args.host_key[0])
    name = args.hostname[0] if args.hostname else default_name
    world = make_world(name)

    async def run() -> None:
        server = await serve(world, host=host, port=int(port_text), host_key=key, authorized_keys=args.authorized_keys)
        print(f"simulated {what(name)} on {server.host}:{server.port}", flush=True)
        print(f"host key {server.fingerprint}", flush=True)
        print(f"try: ssh -p {server.port} root@{server.host} {try_command}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except OSError as exc:
        print(f"hvdeck: cannot listen on {listen}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _sim_xen(args: argparse.Namespace) -> int:
    """One simulated dom0 (the demo's guests, or Domain-0 alone with --empty)."""
    from hvdeck.backends.sim.xen import XenWorld, serve

    tool = {"xl": "xl list", "xm": "xm list", "xvm": "virsh list --all"}[args.toolstack]
    default = {"xl": "xen-a", "xm": "xm-a", "xvm": "xvm-a"}[args.toolstack]

    def world(name: str) -> Any:
        return XenWorld(name, args.toolstack, seed=args.seed) if args.empty else \
            XenWorld.demo(name, args.toolstack, args.seed)

    return _serve_one(args, default, lambda name: f"Xen dom0 {name} ({args.toolstack})", tool, world, serve)


def _sim_zones(args: argparse.Namespace) -> int:
    """One simulated global zone (the demo host of ``--layout``)."""
    from hvdeck.backends.sim.zones import ZonesWorld, serve

    kind = {"illumos": "illumos (OmniOS)", "solaris11": "Oracle Solaris 11.4"}[args.layout]
    default = {"illumos": "omni-a", "solaris11": "sol-a"}[args.layout]

    def world(name: str) -> Any:
        return ZonesWorld(name, args.layout, seed=args.seed) if args.empty else \
            ZonesWorld.demo(name, args.layout, args.seed)

    return _serve_one(args, default, lambda name: f"{kind} global zone {name}", "zoneadm list -cv", world, serve)
