"""The processes behind `fleet_scale.py`: simulated control domains, a delaying proxy, the floor client.

Each runs in a process of its own, so that none of them shares an interpreter (or a core's time slices
with a GIL) with the client being measured. Three modes:

    python benchmarks/fleet_sim.py serve --dir DIR --hosts N --client-key KEY.pub [--domains 40]
        N simulated LDoms control domains (`LdomsWorld`), each behind its own SSH server on a free
        127.0.0.1 port, all on one event loop. Lets in the client key KEY.pub only, generates an ed25519
        host key per host, writes DIR/hosts.json (a list of ``{"name", "port", "host_key"}``, host_key an
        OpenSSH public-key line), prints ``ready`` and serves until its stdin closes.

    python benchmarks/fleet_sim.py proxy --hosts-json FILE --rtt-ms 50 --out FILE [--count N]
        One listening port per host in FILE that forwards to the host's port, delaying the bytes of each
        direction by RTT/2 (see `DelayProxy`). Writes ``{"name": port}`` to --out, prints ``ready``, runs
        until its stdin closes.

    python benchmarks/fleet_sim.py floor --hosts-json FILE --key KEY [--port-map FILE] [--count N]
        The physical limit of a refresh: every host at once, one asyncssh connection each, one
        ``ldm list -p``, nothing else (no hvdeck). Prints one JSON line: ``{"ok", "failed", "seconds"}``
        (seconds from the first connect to the last answer, interpreter start-up excluded).

Each world holds ``primary`` and ``--domains - 1`` guests created through the simulator's own ``ldm``
commands (add-domain, set-vcpu, set-memory, bind, start), so `ldm list -p` prints ``--domains`` DOMAIN
records per host.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import asyncssh

from hvdeck.backends.sim.ldoms import LdomsWorld, serve

#: guest name stems; a guest is ``ldg-<stem><nn>``
WORDS = ("web", "db", "app", "cache", "mail", "build", "batch", "ns", "proxy", "kafka", "etl", "ci", "vdi")


def guest_plan(count: int) -> list[tuple[str, str, int, str]]:
    """(name, state, vcpus, memory) of ``count`` guests: 6 in 8 active, 1 bound, 1 inactive; 1 vCPU each
    (the simulated machine has 48 strands beside primary's 16) and 1-4 GiB of memory."""
    plan = []
    for i in range(count):
        state = "bound" if i % 8 == 6 else "inactive" if i % 8 == 7 else "active"
        plan.append((f"ldg-{WORDS[i % len(WORDS)]}{i:02d}", state, 1, f"{1 + i % 4}G"))
    return plan


def build_world(hostname: str, seed: int, domains: int) -> LdomsWorld:
    """A control domain with ``domains`` domains in all (primary included), built with ldm commands."""
    world = LdomsWorld(hostname, seed=seed)
    for name, state, vcpus, memory in guest_plan(domains - 1):
        steps = [["add-domain", name], ["set-vcpu", str(vcpus), name], ["set-memory", memory, name]]
        if state in ("bound", "active"):
            steps.append(["bind", name])
        if state == "active":
            steps.append(["start", name])
        for step in steps:
            reply = world.run(["ldm", *step])
            if reply.exit_status != 0:
                raise RuntimeError(f"{hostname}: ldm {' '.join(step)}: {reply.stderr.strip()}")
    return world


def host_name(index: int) -> str:
    """The inventory (and ssh_config) name of the index-th simulated control domain, from 0."""
    return f"cd-{index + 1:04d}"


async def _until_stdin_closes() -> None:
    """Serve until the parent closes our stdin (or dies): no stray servers outlive a benchmark."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)


async def run_serve(args: argparse.Namespace) -> None:
    directory = Path(args.dir)
    client = asyncssh.read_public_key(args.client_key)
    servers, hosts = [], []
    for index in range(args.hosts):
        name = host_name(index)
        world = build_world(name, index + 1, args.domains)
        key = asyncssh.generate_private_key("ssh-ed25519")
        server = await serve(world, host_key=key, authorized_keys=[client])
        servers.append(server)
        hosts.append({"name": name, "port": server.port,
                      "host_key": key.export_public_key("openssh").decode().strip()})
    (directory / "hosts.json").write_text(json.dumps(hosts))
    print("ready", flush=True)
    await _until_stdin_closes()
    for server in servers:
        await server.close()


class DelayProxy:
    """A TCP forwarder that delays each direction by ``rtt / 2`` seconds, in user space.

    Bytes are stamped when they arrive and written when their stamp plus the delay is due, so the link
    is pipelined (a delay, not a bandwidth limit). The kernel completes a TCP handshake with the proxy at
    once, so the proxy opens the upstream connection 1.5 x RTT after accepting: on a real link that is
    when the server's accept() returns (the client's SYN, the SYN-ACK back, the ACK), and the server's
    first bytes then reach the client 2 x RTT after it started to connect, as they would. An end-of-file
    is forwarded (delayed too) as a half-close.
    """

    def __init__(self, rtt: float) -> None:
        self.rtt = rtt
        self.connections = 0
        #: every task of every link: the event loop keeps only weak references to tasks
        self._tasks: set[asyncio.Task] = set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        """``asyncio.start_server``'s callback: link this client to the host's ``port``."""
        self.connections += 1
        self._spawn(self._link(reader, writer, port))

    async def _read(self, reader: asyncio.StreamReader, queue: asyncio.Queue[tuple[float, bytes]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await reader.read(65536):
                queue.put_nowait((loop.time() + self.rtt / 2, data))
        except (ConnectionError, OSError):
            pass
        queue.put_nowait((loop.time() + self.rtt / 2, b""))

    async def _write(self, queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, data = await queue.get()
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass

    async def _link(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, port: int) -> None:
        to_server: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        to_client: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        client_reading = self._spawn(self._read(client_r, to_server))
        try:
            await asyncio.sleep(1.5 * self.rtt)
            try:
                server_r, server_w = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return
            server_reading = self._spawn(self._read(server_r, to_client))
            try:
                await asyncio.gather(self._write(to_server, server_w), self._write(to_client, client_w))
            finally:
                server_reading.cancel()
                server_w.close()
        finally:
            client_reading.cancel()
            client_w.close()


async def run_proxy(args: argparse.Namespace) -> None:
    hosts = json.loads(Path(args.hosts_json).read_text())[:args.count]
    proxy = DelayProxy(args.rtt_ms / 1000)
    listeners, ports = [], {}
    for host in hosts:
        listener = await asyncio.start_server(functools.partial(proxy.accept, port=host["port"]), "127.0.0.1", 0,
                                              backlog=1024)
        listeners.append(listener)
        ports[host["name"]] = listener.sockets[0].getsockname()[1]
    Path(args.out).write_text(json.dumps(ports))
    print("ready", flush=True)
    await _until_stdin_closes()
    for listener in listeners:
        listener.close()


async def run_floor(args: argparse.Namespace) -> None:
    hosts = json.loads(Path(args.hosts_json).read_text())[:args.count]
    ports = json.loads(Path(args.port_map).read_text()) if args.port_map else {h["name"]: h["port"] for h in hosts}
    key = asyncssh.read_private_key(args.key)
    known = asyncssh.import_known_hosts(
        "".join(f"[127.0.0.1]:{ports[h['name']]} {h['host_key']}\n" for h in hosts))

    async def one(host: dict) -> bool:
        async with asyncssh.connect("127.0.0.1", ports[host["name"]], username="root", client_keys=[key],
                                    known_hosts=known, agent_path=None, config=[]) as conn:
            result = await conn.run("ldm list -p", check=True)
        return str(result.stdout).count("\nDOMAIN|") == args.domains

    start = time.perf_counter()
    results = await asyncio.gather(*(one(h) for h in hosts), return_exceptions=True)
    seconds = time.perf_counter() - start
    ok = sum(r is True for r in results)
    errors = sorted({f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)})[:3]
    print(json.dumps({"ok": ok, "failed": len(hosts) - ok, "seconds": seconds, "errors": errors}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--dir", required=True)
    s.add_argument("--hosts", type=int, required=True)
    s.add_argument("--domains", type=int, default=40)
    s.add_argument("--client-key", required=True, help="the public key clients log in with")
    p = sub.add_parser("proxy")
    p.add_argument("--hosts-json", required=True)
    p.add_argument("--rtt-ms", type=float, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, help="only the first COUNT hosts (default: all)")
    f = sub.add_parser("floor")
    f.add_argument("--hosts-json", required=True)
    f.add_argument("--key", required=True)
    f.add_argument("--port-map", help="name -> port (the proxy's); default: the hosts' own ports")
    f.add_argument("--domains", type=int, default=40)
    f.add_argument("--count", type=int, help="only the first COUNT hosts (default: all)")
    args = parser.parse_args()
    asyncio.run({"serve": run_serve, "proxy": run_proxy, "floor": run_floor}[args.mode](args))


if __name__ == "__main__":
    main()
