"""Live migration of the test bed's tiny guest (scripts/testbed/migration.sh: hv1, hv2), three ways, there
and back ``--runs`` times each:

- ``hvdeck``: what hvdeck runs: managed direct (``virDomainMigrate3`` with the target's connection),
  both connections through each host's SSH connection (a forwarded libvirt socket), via `Fleet`;
- ``direct``: managed direct with libvirt-python over qemu+tcp (no SSH);
- ``p2p``: peer-to-peer (``migrateToURI3`` with ``VIR_MIGRATE_PEER2PEER``), the source libvirtd
  connecting to the target's qemu+tcp URI itself.

Each run reports the wall time of the call and libvirt's completed job stats on the target (time
elapsed, downtime, data sent). The guest's disk is copied (``VIR_MIGRATE_NON_SHARED_DISK``) every time.

    source scripts/testbed/env.sh; .venv/bin/python benchmarks/migration_modes.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import libvirt

from hvdeck.backends import inventory as inv
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.libvirt.events import ensure_event_loop

HOSTS = {"hv1": "10.78.0.11", "hv2": "10.78.0.12"}
GUEST = "hvmig1"
FLAGS = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
         | libvirt.VIR_MIGRATE_NON_SHARED_DISK)


def uri(host: str) -> str:
    return f"qemu+tcp://{HOSTS[host]}/system"


def where() -> str:
    for host in HOSTS:
        conn = libvirt.open(uri(host))
        try:
            if conn.lookupByName(GUEST).isActive():
                return host
        except libvirt.libvirtError:
            pass
        finally:
            conn.close()
    raise SystemExit(f"{GUEST} runs on neither host: run scripts/testbed/up.sh")


def completed(host: str) -> dict:
    conn = libvirt.open(uri(host))
    try:
        return conn.lookupByName(GUEST).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED
                                                 | libvirt.VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED)
    finally:
        conn.close()


def libvirt_move(mode: str, src: str, dst: str) -> float:
    s, d = libvirt.open(uri(src)), libvirt.open(uri(dst))
    try:
        dom = s.lookupByName(GUEST)
        started = time.monotonic()
        if mode == "p2p":
            dom.migrateToURI3(uri(dst), {}, FLAGS | libvirt.VIR_MIGRATE_PEER2PEER)
        else:
            dom.migrate3(d, {}, FLAGS)
        return time.monotonic() - started
    finally:
        s.close()
        d.close()


async def hvdeck_move(fleet: Fleet, src: str, dst: str) -> float:
    domain = next(d for d in (await fleet.poll_host(src)).domains if d.name == GUEST)
    plan = await fleet.plan_migrate(domain, dst, fleet.migrate_form(domain).parse({"copy_storage": "yes"}))
    started = time.monotonic()
    result = await fleet.run_plan(plan)
    if not result.ok:
        raise SystemExit(result.summary())
    return time.monotonic() - started


async def main(runs: int) -> None:
    ensure_event_loop()
    root = Path("/var/lib/hvdeck-testbed/ssh")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "ssh_config").write_text("")
        hosts_yaml = Path(tmp) / "hosts.yaml"
        hosts_yaml.write_text(f"ssh:\n  config: {tmp}/ssh_config\n  known_hosts: {root}/known_hosts\nhosts:\n" + "".join(
            f"  - name: {h}\n    address: {a}\n    user: root\n    kind: libvirt\n    identity_file: {root}/id_ed25519\n"
            for h, a in HOSTS.items()))
        fleet = Fleet(inv.load(hosts_yaml))
        for host in HOSTS:
            await fleet.poll_host(host)
        rows: dict[str, list[tuple[float, dict]]] = {"hvdeck": [], "direct": [], "p2p": []}
        for _ in range(runs):
            for mode in rows:
                for _leg in range(2):
                    src = where()
                    dst = next(h for h in HOSTS if h != src)
                    await asyncio.sleep(1.0)  # the guest settles between moves
                    wall = await hvdeck_move(fleet, src, dst) if mode == "hvdeck" else \
                        await asyncio.to_thread(libvirt_move, mode, src, dst)
                    rows[mode].append((wall, completed(dst)))
        await fleet.close()
    print(f"{'mode':8} {'n':>3} {'wall s (median)':>16} {'job ms':>8} {'downtime ms':>12} {'MiB sent':>9}")
    def med(runs_: list[tuple[float, dict]], key: str) -> float:
        return statistics.median(s.get(key, 0) for _, s in runs_)

    for mode, runs_ in rows.items():
        print(f"{mode:8} {len(runs_):>3} {statistics.median(w for w, _ in runs_):>16.2f} {med(runs_, 'time_elapsed'):>8.0f} "
              f"{med(runs_, 'downtime'):>12.0f} {med(runs_, 'data_processed') / 2**20:>9.1f}")
        print("         downtimes: " + ", ".join(str(s.get("downtime")) for _, s in runs_))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
