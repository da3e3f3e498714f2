"""How the fleet table behaves at fleet scale: 20,000 domains on 100 hosts, headless.

Drives the real app (HvdeckApp, its FleetScreen and FleetTable) with Pilot, feeding it through the same
FleetUpdated message the pollers post. Reports, per operation, the wall time of the keystroke as Pilot
sees it, and that time minus Pilot's own round trip (measured with a key nothing is bound to). The target
is under 50 ms a keystroke (net) for filter, sort and scroll, and no visible stall for a refresh that
changes 5% of the rows.

    .venv/bin/python benchmarks/table_scale.py [--rows 20000] [--hosts 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.model import Domain, DomainState, HostInfo, HostSnapshot, HostStatus
from hvdeck.tui.app import HvdeckApp
from hvdeck.tui.messages import FleetUpdated
from hvdeck.widgets.fleet_table import FleetTable

STATES = [(DomainState.RUNNING, "running")] * 6 + [(DomainState.STOPPED, "shut off")] * 3 + [
    (DomainState.PAUSED, "paused")]
WORDS = ["web", "db", "cache", "mail", "build", "batch", "ns", "proxy", "kafka", "etl", "ci", "vdi"]


def fleet(rows: int, hosts: int, seed: int = 7) -> dict[str, list[Domain]]:
    rng = random.Random(seed)
    per_host = rows // hosts
    out: dict[str, list[Domain]] = {}
    for h in range(hosts):
        host = f"hv{h:03d}"
        domains = []
        for i in range(per_host):
            state, native = rng.choice(STATES)
            running = state is DomainState.RUNNING
            domains.append(Domain(
                host=host, name=f"{rng.choice(WORDS)}{h:03d}-{i:03d}", state=state, native_state=native,
                id=i + 1 if running else None, uuid=f"{h:04x}{i:04x}-0000-4000-8000-000000000000",
                vcpus=rng.choice([1, 2, 4, 8]), memory_bytes=rng.choice([1, 2, 4, 8, 16]) * 1024**3,
                cpu_percent=round(rng.random() * 100, 1) if running else None, console="pty",
                net_rx_bps=rng.random() * 1e6 if running else None, net_tx_bps=rng.random() * 1e5 if running else None,
                disk_rd_bps=rng.random() * 1e7 if running else None, disk_wr_bps=rng.random() * 1e6 if running else None))
        out[host] = domains
    return out


def message(host: str, domains: list[Domain]) -> FleetUpdated:
    snapshot = HostSnapshot(host=host, kind="libvirt", status=HostStatus.UP, taken_at=0.0, domains=tuple(domains),
                            info=HostInfo(kind="libvirt", version="9.0.0"), last_ok=0.0)
    return FleetUpdated(snapshot)


async def measure(rows: int, hosts: int, repeat: int) -> list[tuple[str, float, float]]:
    data = fleet(rows, hosts)
    inventory = Inventory(tuple(HostSpec(name=h, address=h, transport="local", kind="libvirt") for h in data))
    app = HvdeckApp(inventory, start_pollers=False)
    results: list[tuple[str, float, float]] = []
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.screen.query_one(FleetTable)

        async def timed(keys: list[str]) -> float:
            t0 = time.perf_counter()
            await pilot.press(*keys)
            return time.perf_counter() - t0

        t0 = time.perf_counter()
        for host, domains in data.items():
            app.post_message(message(host, domains))
        while table.total_count < rows:
            await pilot.pause(0)
        await pilot.pause()
        load = time.perf_counter() - t0
        results.append(("load 20k rows + first paint", load, load))

        baseline = statistics.median([await timed(["f19"]) for _ in range(10)])
        results.append(("Pilot round trip (unbound key)", baseline, 0.0))

        def add(label: str, times: list[float]) -> None:
            median = statistics.median(times)
            results.append((label, median, max(0.0, median - baseline)))

        add("page down", [await timed(["pagedown"]) for _ in range(10 * repeat)])
        add("cursor down", [await timed(["down"]) for _ in range(10 * repeat)])
        add("end / home (jump over 20k rows)", [await timed([k]) for _ in range(5 * repeat) for k in ("end", "home")])
        sort_times = []
        for _ in range(repeat):
            for _ in range(3):
                sort_times.append(await timed(["o"]))
        add("sort by next column (o)", sort_times)
        add("reverse sort (O)", [await timed(["O"]) for _ in range(repeat * 2)])
        await pilot.press("slash")
        filter_times = []
        for _ in range(repeat):
            for ch in "web0":
                filter_times.append(await timed([ch]))
            for _ in range(4):
                filter_times.append(await timed(["backspace"]))
        add("filter keystroke (type/erase 'web0')", filter_times)
        await pilot.press("escape")
        add("group by host toggle (g)", [await timed(["g"]) for _ in range(repeat * 2)])

        # a poll round that changes 5% of the rows: every host reports, 10 of 200 rows changed on each
        refresh = []
        rng = random.Random(1)
        for _ in range(repeat):
            for domains in data.values():
                for i in rng.sample(range(len(domains)), len(domains) // 20):
                    d = domains[i]
                    if d.cpu_percent is not None:
                        domains[i] = Domain(**{**{f: getattr(d, f) for f in d.__slots__},
                                               "cpu_percent": round(rng.random() * 100, 1)})
            t0 = time.perf_counter()
            for host, domains in data.items():
                app.post_message(message(host, domains))
            await pilot.pause()
            refresh.append(time.perf_counter() - t0)
        add("refresh: all 100 hosts report, 5% rows changed", refresh)

        # the work itself, without Pilot or the event loop: the call plus rendering every visible line
        height = table.size.height

        def direct(label: str, action, runs: int) -> None:
            times = []
            for i in range(runs):
                t0 = time.perf_counter()
                action(i)
                table._flush()
                for y in range(height):
                    table.render_line(y)
                times.append(time.perf_counter() - t0)
            median = statistics.median(times)
            results.append((f"direct: {label}", median, median))

        direct("render a page (cached strips)", lambda i: None, 20)
        direct("cursor down", lambda i: table.action_cursor(1), 50)
        direct("page down", lambda i: table.action_page(1), 50)
        columns = ["name", "state", "memory", "cpu", "host"]
        direct("sort by another column", lambda i: table.sort_by(columns[i % len(columns)], reverse=False), 10)
        direct("reverse sort", lambda i: table.sort_by(table.sort_column, reverse=not table.sort_reverse), 10)
        texts = ["w", "we", "web", "web0", "web0", "web", "we", "w", "", "state:paused"]
        direct("filter keystroke", lambda i: setattr(table, "filter_text", texts[i % len(texts)]), 20)
        table.filter_text = ""
        host = next(iter(data))

        def one_host(i: int) -> None:
            domains = data[host]
            for j in range(0, len(domains), 20):
                d = domains[j]
                domains[j] = Domain(**{**{f: getattr(d, f) for f in d.__slots__}, "cpu_percent": float(i % 100)})
            table.set_host_domains(host, domains)

        direct("one host reports (200 rows, 5% changed)", one_host, 20)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(measure(args.rows, args.hosts, args.repeat))
    print(f"fleet table, {args.rows} rows on {args.hosts} hosts (median wall ms; net = minus Pilot round trip)")
    for label, wall, net in results:
        print(f"  {label:<48} {wall * 1000:8.1f} ms   net {net * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
