"""How long a zone's create and a move between two global zones take against the simulated global zones,
through real SSH on loopback, the Fleet and the executor (audit log included): the overhead hvdeck adds
around what zoneadm itself takes. Each phase is timed separately: planning (the wizard's reads: zoneadm
list, zfs list, dladm), pre-flight checks, and the run; the simulated zoneadm answers at once
(op_seconds 0), so the figures are hvdeck's and SSH's share, not a real install's.

    .venv/bin/python benchmarks/zones_plans.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import asyncssh

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import HostSpec, Inventory, SshOptions
from hvdeck.backends.sim.zones import OMNIOS, ZonesWorld, serve

NEWER = replace(OMNIOS, level=(151048, 0), entire="pkg://omnios/entire@11-151048.0:20231102T103210Z")


async def one_run(tmp: Path) -> dict[str, float]:
    client = asyncssh.generate_private_key("ssh-ed25519")
    key_path = tmp / "id"
    client.write_private_key(str(key_path))
    key_path.chmod(0o600)
    (tmp / "config").write_text("")
    worlds = {"omni-a": ZonesWorld.demo("omni-a", "illumos"), "omni-b": ZonesWorld("omni-b", platform=NEWER)}
    servers, specs, lines = [], [], []
    for name, world in worlds.items():
        server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"), authorized_keys=[client])
        servers.append(server)
        lines.append(server.known_hosts_line())
        specs.append(HostSpec(name=name, address="127.0.0.1", port=server.port, user="root", kind="zones",
                              identity_file=str(key_path)))
    (tmp / "known_hosts").write_text("".join(lines))
    fleet = Fleet(Inventory(tuple(specs), SshOptions(config=(str(tmp / "config"),),
                                                    known_hosts=str(tmp / "known_hosts"))),
                  audit=AuditLog(tmp / "audit.log"))
    times: dict[str, float] = {}
    try:
        for host in worlds:
            await fleet.poll_host(host)
        t0 = time.perf_counter()
        form = fleet.create_form("omni-a").with_choices(await fleet.create_choices("omni-a"))
        plan = await fleet.plan_create("omni-a", form.parse({"name": "bench1", "parent": "/zones", "brand": "lipkg",
                                                             "link": "igb0", "memory_cap": "1G"}))
        t1 = time.perf_counter()
        assert all(c.ok for c in await fleet.preflight(plan))
        t2 = time.perf_counter()
        assert (await fleet.run_plan(plan)).ok
        t3 = time.perf_counter()
        assert any(d.name == "bench1" and d.native_state == "running" for d in (await fleet.poll_host("omni-a")).domains)
        t4 = time.perf_counter()
        times.update({"create: plan (wizard reads)": t1 - t0, "create: pre-flight": t2 - t1,
                      "create: run (3 steps)": t3 - t2, "create: next poll shows it": t4 - t3})
        zone = next(d for d in (await fleet.poll_host("omni-a")).domains if d.name == "web1")
        t0 = time.perf_counter()
        plan = await fleet.plan_migrate(zone, "omni-b", fleet.migrate_form(zone).parse({}))
        t1 = time.perf_counter()
        assert all(c.ok for c in await fleet.preflight(plan))
        t2 = time.perf_counter()
        result = await fleet.run_plan(plan)
        assert result.ok, result.summary()
        t3 = time.perf_counter()
        assert any(d.name == "web1" for d in (await fleet.poll_host("omni-b")).domains)
        t4 = time.perf_counter()
        transfer = next(o for o in result.outcomes if o.step.operation.transfer is not None)
        times.update({"move: plan (both hosts read)": t1 - t0, "move: pre-flight": t2 - t1,
                      f"move: run ({len(plan.steps)} steps)": t3 - t2,
                      "move: of which zfs send | zfs recv": transfer.seconds or 0.0,
                      "move: next poll shows it": t4 - t3})
    finally:
        await fleet.close()
        for server in servers:
            await server.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(asyncio.run(one_run(Path(tmp))))
    print(f"zones plans against simulated global zones over SSH, median of {args.runs} runs:")
    for key in runs[0]:
        print(f"  {key:38} {statistics.median(r[key] for r in runs) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
