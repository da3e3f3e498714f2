"""The console pane under load, in the real app (headless): how fast it shows a flood from the guest while
the fleet table refreshes 100 hosts, how fast the table still answers keys meanwhile, and how long a
keystroke takes to come back drawn on the screen over loopback SSH.

**Flood.** An `HvdeckApp` whose inventory has 100 hosts of 20 domains each, refreshed through the same
`FleetUpdated` message the pollers post (one host every 20 ms: each host every 2 s, with new CPU figures),
and one more host whose console is a command on a local pseudo-terminal (the generic console Xen and zones
use): ``cat`` of a file of mixed console output (log lines, colours, long wrapping lines, 256/direct colours
and CJK; `terminal_feed.flood`). The console is attached with ``c`` and read through the console session
(flow control included: the channel is not read while the terminal has 256 KiB to parse); F6 gives the
focus back to the table, which then gets ``down``/``up`` every 50 ms. Reported: MB/s from the first byte
until everything is parsed and painted, and the table's key latency (key posted to the app until the
table's Highlighted message) during the flood. Goal: >= 1 MB/s, keys under 50 ms.

**Echo.** The demo's simulated LDoms host, served on its own thread (as `hvdeck demo` does), reached over
loopback SSH: the console of ldg-web1 at its login prompt, a letter typed every 40 ms. Reported: key posted
to the app until the echoed letter is painted (a `render_line` of the row that holds it), and, on the way,
the round trip the channel itself sees (bytes written until bytes read back: SSH, telnet, vntsd, the guest).
hvdeck's own share is the difference; goal: under a frame (16 ms). With the test bed up
(``source scripts/testbed/env.sh``) the same is measured against the real QEMU guest through OpenSSH and
libvirt's console stream.

    .venv/bin/python benchmarks/console_pane.py [--megabytes 8] [--size 160x48] [--keys 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from table_scale import fleet, message
from terminal_feed import flood
from textual import events, on
from textual.strip import Strip

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action, Backend
from hvdeck.backends.console import command_console
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.model import Bindings, ConsoleRef, Cpu, Domain, DomainState, HostInfo, Memory
from hvdeck.backends.plan import Plan
from hvdeck.backends.registry import make_session
from hvdeck.backends.transport.base import Channel
from hvdeck.tui.app import HvdeckApp
from hvdeck.widgets.console_pane import ConsolePane, ConsoleTab
from hvdeck.widgets.fleet_table import FleetTable
from hvdeck.widgets.terminal import Terminal

HOSTS = 100
DOMAINS = 20
REFRESH_EVERY = 0.02  # one host's snapshot every 20 ms: each host every 2 s


class FloodBackend(Backend):
    """The console host: one domain whose console is ``cat FILE`` on a local pseudo-terminal."""

    kind = "xen"
    ACTIONS = frozenset({Action.START})
    flood_file = ""

    async def open(self) -> HostInfo:
        return HostInfo(kind=self.kind)

    async def poll(self) -> tuple[Domain, ...]:
        return (Domain(self.spec.name, "flood", DomainState.RUNNING, "r-----", id=1, console="pty"),)

    async def bindings(self, domain: Domain) -> Bindings:
        return Bindings(self.spec.name, domain.name, Cpu(1), Memory(None))

    def _plan_action(self, action: Action, domain: Domain) -> Plan:
        raise NotImplementedError

    def _console(self):
        return command_console("xl", ["sh", "-c", f"stty raw -echo; cat {self.flood_file}"], description="flood")

    def console(self, domain: Domain) -> ConsoleRef:
        return self._console().ref()

    async def open_console(self, domain: Domain, *, cols: int = 80, rows: int = 24, force: bool = False) -> Channel:
        return await self._console().open(self.session, cols=cols, rows=rows)


class FloodApp(HvdeckApp):
    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.highlighted: list[float] = []

    @on(FleetTable.Highlighted)
    def _moved(self) -> None:
        self.highlighted.append(time.perf_counter())


async def _wait(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(getattr(predicate, "__doc__", None) or str(predicate))
        await asyncio.sleep(0.01)


async def measure_flood(data: bytes, size: tuple[int, int]) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="hvdeck-bench-"))
    path = workdir / "flood.bin"
    path.write_bytes(data)
    FloodBackend.flood_file = str(path)
    domains = fleet(HOSTS * DOMAINS, HOSTS)
    specs = [HostSpec(name="dom0", address="localhost", transport="local", kind="xen")]
    specs += [HostSpec(name=host, address=host, transport="local", kind="libvirt") for host in domains]
    inventory = Inventory(tuple(specs))

    async def backend(spec: HostSpec, session) -> Backend:
        return FloodBackend(spec, session)

    fleet_ = Fleet(inventory, backend_factory=backend, session_factory=make_session)
    app = FloodApp(inventory, fleet=fleet_, audit=AuditLog(workdir / "audit.log"), start_pollers=False)
    async with app.run_test(size=size) as pilot:
        await fleet_.poll_host("dom0")
        for host, rows in domains.items():
            app.post_message(message(host, rows))
        table = app.screen.query_one(FleetTable)
        await _wait(lambda: table.total_count == HOSTS * DOMAINS + 1)
        running = True
        rng = random.Random(3)

        async def refresh() -> None:
            hosts = list(domains)
            n = 0
            while running:
                host = hosts[n % len(hosts)]
                rows = [d if d.cpu_percent is None else
                        Domain(**{**{f: getattr(d, f) for f in d.__slots__}, "cpu_percent": round(rng.random() * 100, 1)})
                        for d in domains[host]]
                app.post_message(message(host, rows))
                n += 1
                await asyncio.sleep(REFRESH_EVERY)

        key_times: list[float] = []

        async def keys() -> None:
            n = 0
            while running:
                sent = time.perf_counter()
                before = len(app.highlighted)
                app.post_message(events.Key("down" if n % 2 == 0 else "up", None))
                n += 1
                try:
                    await _wait(lambda count=before: len(app.highlighted) > count, 5)
                    key_times.append(app.highlighted[before] - sent)
                except TimeoutError:
                    key_times.append(float("inf"))
                await asyncio.sleep(0.05)

        refresher = asyncio.create_task(refresh())
        key = next(k for k in table.visible_keys() if table.domain(k).name == "flood")
        table.move_to(key)
        await pilot.press("c")
        pane = app.screen.query_one(ConsolePane)
        await _wait(lambda: pane.active_tab is not None and pane.active_tab.state != "connecting")
        tab: ConsoleTab = pane.active_tab
        t0 = time.perf_counter()
        await pilot.press("f6")  # the table has the focus again; the flood goes on in the pane
        typist = asyncio.create_task(keys())
        await _wait(lambda: tab.state == "ended", 600)
        await tab.terminal.drain()
        await pilot.pause()
        elapsed = time.perf_counter() - t0
        running = False
        await asyncio.gather(refresher, typist)
        shown = tab.terminal.plain_text()
        assert shown.strip(), "nothing on screen"
    finite = [k for k in key_times if k != float("inf")]
    return {"MB/s": len(data) / elapsed / 1e6, "seconds": elapsed, "keys": len(key_times),
            "key median ms": statistics.median(finite) * 1000 if finite else float("nan"),
            "key p95 ms": sorted(finite)[int(len(finite) * 0.95)] * 1000 if finite else float("nan"),
            "key max ms": max(key_times) * 1000 if key_times else float("nan")}


class EchoTimes:
    """Clocks on the way of one typed letter: posted, written to the channel, read back, painted."""

    def __init__(self) -> None:
        self.posted = 0.0
        self.written = 0.0
        self.fed = 0.0
        self.painted = 0.0
        self.letter = b""


def _instrument(app: HvdeckApp, times: EchoTimes) -> None:
    consoles = app.consoles
    write = consoles.write

    def timed_write(key: str, data: bytes) -> None:
        if data == times.letter and not times.written:
            times.written = time.perf_counter()
        write(key, data)

    consoles.write = timed_write  # type: ignore[method-assign]
    feed = Terminal.feed

    def timed_feed(self: Terminal, data: bytes) -> None:
        if times.letter and times.letter in data and not times.fed:
            times.fed = time.perf_counter()
        feed(self, data)

    Terminal.feed = timed_feed  # type: ignore[method-assign]
    render = Terminal.render_line

    def timed_render(self: Terminal, y: int) -> Strip:
        strip = render(self, y)
        if times.fed and not times.painted and times.letter.decode() in strip.text:
            times.painted = time.perf_counter()
        return strip

    Terminal.render_line = timed_render  # type: ignore[method-assign]


async def measure_echo(inventory: Inventory, host: str, domain: str, prompt: str, count: int,
                       size: tuple[int, int]) -> dict[str, float] | None:
    times = EchoTimes()
    workdir = Path(tempfile.mkdtemp(prefix="hvdeck-bench-"))
    app = HvdeckApp(inventory, audit=AuditLog(workdir / "audit.log"), start_pollers=False)
    saved = Terminal.feed, Terminal.render_line
    _instrument(app, times)
    totals, channel, mine = [], [], []
    try:
        async with app.run_test(size=size) as pilot:
            snapshot = await app.fleet.poll_host(host)
            target = next(d for d in snapshot.domains if d.name == domain)
            table = app.screen.query_one(FleetTable)
            await _wait(lambda: any(table.domain(k).name == domain for k in table.visible_keys()))
            table.move_to(next(k for k in table.visible_keys() if table.domain(k).key == target.key))
            await pilot.press("c")
            pane = app.screen.query_one(ConsolePane)
            await _wait(lambda: pane.active_tab is not None and pane.active_tab.state != "connecting", 30)
            tab = pane.active_tab
            if tab.state != "attached":
                print(f"    {host}/{domain}: not attached: {tab.notice_text}")
                return None
            await pilot.press("enter")
            await _wait(lambda: prompt in tab.terminal.plain_text(), 30)
            await pilot.pause(0.3)
            letters = "abcdefghijklmnopqrstuvwxyz"
            for n in range(count):
                letter = letters[n % 26]
                times.__init__()  # type: ignore[misc]
                times.letter = letter.encode()
                times.posted = time.perf_counter()
                app.post_message(events.Key(letter, letter))
                await _wait(lambda: times.painted > 0, 10)
                totals.append(times.painted - times.posted)
                channel.append(times.fed - times.written)
                mine.append(totals[-1] - channel[-1])
                if n % 20 == 19:
                    await pilot.press("ctrl+u")  # keep the line short
                await asyncio.sleep(0.04)
            await pilot.press("ctrl+u")
    finally:
        Terminal.feed, Terminal.render_line = saved  # type: ignore[method-assign]

    def median(values: list[float]) -> float:
        return statistics.median(values) * 1000

    return {"keys": len(totals), "total median ms": median(totals), "total max ms": max(totals) * 1000,
            "channel median ms": median(channel), "hvdeck median ms": median(mine),
            "hvdeck p95 ms": sorted(mine)[int(len(mine) * 0.95)] * 1000, "hvdeck max ms": max(mine) * 1000}


def _print_echo(label: str, result: dict[str, float] | None) -> None:
    if result is None:
        return
    print(f"{label}: key to echo painted: median {result['total median ms']:.1f} ms, max {result['total max ms']:.1f} ms "
          f"({result['keys']} keys)")
    print(f"    of which the channel's round trip (SSH, the console server, the guest): median "
          f"{result['channel median ms']:.1f} ms; hvdeck's own share: median {result['hvdeck median ms']:.1f} ms, "
          f"p95 {result['hvdeck p95 ms']:.1f} ms, max {result['hvdeck max ms']:.1f} ms")


def _testbed_inventory(workdir: Path) -> Inventory | None:
    from hvdeck.backends import inventory as inv

    key = os.environ.get("HVDECK_TESTBED_KEY")
    if not key or not Path(key).exists() or not Path("/run/libvirt/libvirt-sock").exists():
        return None
    (workdir / "ssh_config").write_text("")
    path = workdir / "hosts.yaml"
    path.write_text(f"ssh:\n  config: {workdir / 'ssh_config'}\n  known_hosts: {os.environ['HVDECK_TESTBED_KNOWN_HOSTS']}\n"
                    f"hosts:\n  - name: bed\n    address: {os.environ.get('HVDECK_TESTBED_SSH_HOST', '127.0.0.1')}\n"
                    f"    port: {os.environ.get('HVDECK_TESTBED_SSH_PORT', '2222')}\n    user: root\n"
                    f"    identity_file: {key}\n")
    return inv.load(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=8.0)
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--keys", type=int, default=40)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    assert len(size) == 2
    data = flood(args.megabytes)
    result = asyncio.run(measure_flood(data, size))  # type: ignore[arg-type]
    print(f"flood of {len(data) / 1e6:.1f} MB through a local pseudo-terminal into the pane at {args.size}, "
          f"table of {HOSTS} hosts x {DOMAINS} domains refreshed (one host every {REFRESH_EVERY * 1000:.0f} ms):")
    print(f"    {result['MB/s']:.2f} MB/s ({result['seconds']:.2f} s); the table's keys meanwhile: median "
          f"{result['key median ms']:.1f} ms, p95 {result['key p95 ms']:.1f} ms, max {result['key max ms']:.1f} ms "
          f"({result['keys']} keys)")
    from hvdeck.backends.sim.demo import DemoFleet

    with DemoFleet(libvirt=False, zones=(), xen=()) as inventory:
        _print_echo("echo over loopback SSH, simulated LDoms guest (t7-a/ldg-web1, vntsd)",
                    asyncio.run(measure_echo(inventory, "t7-a", "ldg-web1", "login:", args.keys, size)))  # type: ignore[arg-type]
    bed = _testbed_inventory(Path(tempfile.mkdtemp(prefix="hvdeck-bench-")))
    if bed is not None:
        _print_echo("echo over loopback OpenSSH + libvirt, real QEMU guest (bed/hvtest1, busybox)",
                    asyncio.run(measure_echo(bed, "bed", os.environ.get("HVDECK_TESTBED_GUEST", "hvtest1"),
                                             "tinyguest#", args.keys, size)))  # type: ignore[arg-type]
    else:
        print("(the test bed is not up: no figures for a real guest; source scripts/testbed/env.sh)")


if __name__ == "__main__":
    main()
