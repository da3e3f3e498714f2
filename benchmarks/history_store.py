"""What one poll cycle of a large fleet costs the console's store: 100 hosts x 200 domains.

Each host's snapshot goes into the one `Store` (latest snapshot, one sample in each domain's compact
history ring), and the fleet table reads the CPU history of the rows on screen only. Before the store was
rebuilt, every poll also copied each domain's three 60-sample histories into the message sent to the UI
and into a second dictionary there: 301 ms median (397 ms worst) per cycle on this machine, on the UI
loop. Run: `.venv/bin/python benchmarks/history_store.py`.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hvdeck.backends.model import Domain, DomainState, HostSnapshot, HostStatus
from hvdeck.backends.store import Store

HOSTS, DOMAINS, VISIBLE_ROWS = 100, 200, 40


def snapshot(host: int, rng: random.Random) -> HostSnapshot:
    return HostSnapshot(host=f"h{host}", kind="ldoms", status=HostStatus.UP, taken_at=0.0, domains=tuple(
        Domain(host=f"h{host}", name=f"d{i}", state=DomainState.RUNNING, native_state="active",
               cpu_percent=rng.random() * 100, net_rx_bps=1.0, net_tx_bps=2.0, disk_rd_bps=3.0, disk_wr_bps=4.0)
        for i in range(DOMAINS)))


def main() -> None:
    rng = random.Random(1)
    cycles = [[snapshot(h, rng) for h in range(HOSTS)] for _ in range(3)]
    store = Store()
    for t in range(60):  # full histories, as after two minutes
        for s in cycles[t % 3]:
            store.update(s)
    visible = [f"h0\x1fd{i}" for i in range(VISIBLE_ROWS)]
    times = []
    for t in range(20):
        started = time.perf_counter()
        for s in cycles[t % 3]:
            store.update(s)
        for key in visible:  # what the table draws
            store.cpu(key)
        times.append(time.perf_counter() - started)
    import tracemalloc

    tracemalloc.start()
    fresh = Store()
    for t in range(60):
        for s in cycles[t % 3]:
            fresh.update(s)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"store: one poll cycle of {HOSTS} hosts x {DOMAINS} domains: median {statistics.median(times) * 1000:.0f} ms, "
          f"worst {max(times) * 1000:.0f} ms (was 301 ms median, 397 ms worst, copying histories)")
    print(f"store: histories of {HOSTS * DOMAINS} domains, 60 samples each: {held / 2**20:.1f} MiB "
          f"({held / (HOSTS * DOMAINS):.0f} bytes per domain)")


if __name__ == "__main__":
    main()
