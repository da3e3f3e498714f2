"""REAL live migration: two libvirtd (hv1, hv2, each in its own network namespace behind its own OpenSSH
sshd, scripts/testbed/migration.sh), the tiny QEMU guest running on hv1. hvdeck reaches each host through
SSH and drives the migration over both forwarded libvirt sockets (managed direct), as it would between
two remote KVM hosts. These run in CI and never skip there.

The guest is the same guest after the move: a word written into its RAM-backed /tmp before is read back
through its serial console on the target after. Each test leaves the guest running on hv1.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from hvdeck.backends import inventory as inv
from hvdeck.backends.audit import AuditLog
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.model import HostStatus
from hvdeck.backends.plan import PlanEvent, StepProgress

from .conftest import MigrationBed
from .guest_console import guest_run

#: the tiny guest's migration figures, written for the record (time, data, downtime from libvirt's job stats)
FIGURES = Path(os.environ.get("HVDECK_MIGRATION_FIGURES", "/tmp/hvdeck-migration-figures.jsonl"))


@pytest.fixture
def bed(migration_bed: MigrationBed) -> Iterator[MigrationBed]:
    migration_bed.settle("hv1")
    assert guest_run(migration_bed.uri("hv1"), migration_bed.guest, "true", 90) is not None, "the guest's shell"
    yield migration_bed
    migration_bed.settle("hv1")


def _mark(bed: MigrationBed, host: str) -> str:
    word = uuid.uuid4().hex[:12]
    assert guest_run(bed.uri(host), bed.guest, f"echo {word} > /tmp/hvdeck-marker") is not None
    return word


def _completed_stats(bed: MigrationBed, host: str) -> dict:
    conn = libvirt.open(bed.uri(host))
    try:
        return conn.lookupByName(bed.guest).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    finally:
        conn.close()


def _record(how: str, stats: dict, wall: float) -> None:
    figures = {"how": how, "wall_s": round(wall, 2), "job_ms": stats.get("time_elapsed"),
               "downtime_ms": stats.get("downtime"), "data_bytes": stats.get("data_processed"),
               "memory_bytes": stats.get("memory_processed"), "disk_bytes": stats.get("disk_processed")}
    print(f"tiny guest migration ({how}): {figures}")
    with FIGURES.open("a") as out:
        out.write(json.dumps(figures) + "\n")


async def _fleet(bed: MigrationBed, tmp_path: Path) -> tuple[Fleet, AuditLog]:
    audit = AuditLog(tmp_path / "audit.log")
    fleet = Fleet(inv.load(bed.inventory(tmp_path / "hosts.yaml")), audit=audit)
    for host in bed.hosts:
        snapshot = await fleet.poll_host(host)
        assert snapshot.status is HostStatus.UP, snapshot.error
    return fleet, audit


async def test_the_running_guest_moves_to_hv2_and_its_console_answers_there(bed: MigrationBed, tmp_path: Path):
    word = _mark(bed, "hv1")
    fleet, audit = await _fleet(bed, tmp_path)
    try:
        source = await fleet.poll_host("hv1")
        domain = next(d for d in source.domains if d.name == bed.guest)
        assert fleet.migration_targets(domain) == ("hv2",)
        values = fleet.migrate_form(domain).parse({"copy_storage": "yes"})
        plan = await fleet.plan_migrate(domain, "hv2", values)
        checks = await fleet.preflight(plan)
        assert [(c.check.description, c.reason) for c in checks if not c.ok] == []
        assert any("hv2 can run hvmig1's CPU" in c.check.description for c in checks)
        assert any("/var/lib/hvdeck-testbed/local/hvmig1.img" in c.check.description for c in checks)
        events: list[PlanEvent] = []
        started = time.monotonic()
        result = await fleet.run_plan(plan, on_event=events.append)
        wall = time.monotonic() - started
        assert result.ok, result.summary()
        (outcome,) = result.outcomes
        assert outcome.result is not None and "hvmig1 is running on hv2; hv1 no longer has it." in outcome.result.stdout
        after = {host: await fleet.poll_host(host) for host in bed.hosts}
        assert [d.name for d in after["hv1"].domains] == []
        assert [(d.name, d.native_state) for d in after["hv2"].domains] == [(bed.guest, "running")]
    finally:
        await fleet.close()
    assert bed.state("hv1") is None and bed.state("hv2") == "running"
    assert bed.virsh("hv2", "dominfo", bed.guest).stdout.count("Persistent:     yes") == 1
    assert guest_run(bed.uri("hv2"), bed.guest, "cat /tmp/hvdeck-marker") == word
    _record("hvdeck, managed direct through SSH", _completed_stats(bed, "hv2"), wall)
    records = [r for r in audit.records() if r.get("action") == "migrate"]
    assert [r["result"] for r in records] == ["started", "ok"]
    assert records[0]["host"] == "hv1" and records[0]["operation"].startswith("virDomainMigrate3(domain='hvmig1'")


def _hvdeck(*args: str, **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hvdeck.tui.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_hvdeck_migrate_from_the_shell(bed: MigrationBed, tmp_path: Path):
    inventory = str(bed.inventory(tmp_path / "hosts.yaml"))
    word = _mark(bed, "hv1")
    dry = _hvdeck("migrate", "-i", inventory, "--audit-log", str(tmp_path / "audit.log"), "hv1", bed.guest, "hv2",
                  "--copy-storage", "--dry-run")
    out, err = dry.communicate(timeout=120)
    assert dry.returncode == 0, err
    assert "virDomainMigrate3(domain='hvmig1'" in out and "[ok    ] hv2 can run hvmig1's CPU (qemu64)" in out
    assert "(nothing was run: add --yes to migrate)" in out
    assert bed.state("hv1") == "running" and bed.state("hv2") is None
    run = _hvdeck("migrate", "-i", inventory, "--audit-log", str(tmp_path / "audit.log"), "hv1", bed.guest, "hv2",
                  "--copy-storage", "--yes")
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, out + err
    assert out.rstrip().endswith("hvmig1 is running on hv2; hv1 no longer has it.")
    assert "Migrated in " in out and "downtime" in out
    assert bed.state("hv1") is None and bed.state("hv2") == "running"
    assert guest_run(bed.uri("hv2"), bed.guest, "cat /tmp/hvdeck-marker") == word


def test_ctrl_c_cancels_and_the_guest_stays_on_hv1(bed: MigrationBed, tmp_path: Path):
    inventory = str(bed.inventory(tmp_path / "hosts.yaml"))
    run = _hvdeck("migrate", "-i", inventory, "--audit-log", str(tmp_path / "audit.log"), "hv1", bed.guest, "hv2",
                  "--copy-storage", "--bandwidth", "2", "--yes")
    assert run.stderr is not None
    seen = ""
    deadline = time.monotonic() + 120
    while " sent" not in seen and time.monotonic() < deadline:  # the first progress line: it is under way
        line = run.stderr.readline()
        if not line:
            break
        seen += line
    assert " sent" in seen, seen
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 1, out + err
    assert "cancelling the migration" in err
    assert ": cancelled" in out and out.rstrip().endswith("hvmig1 is still running on hv1; hv2 does not have it.")
    assert bed.state("hv1") == "running" and bed.state("hv2") is None
    assert guest_run(bed.uri("hv1"), bed.guest, "echo alive") == "alive"


async def test_cancel_midway_through_the_fleet_leaves_the_guest_running_on_hv1(bed: MigrationBed, tmp_path: Path):
    word = _mark(bed, "hv1")
    fleet, audit = await _fleet(bed, tmp_path)
    try:
        domain = next(d for d in (await fleet.poll_host("hv1")).domains if d.name == bed.guest)
        values = fleet.migrate_form(domain).parse({"copy_storage": "yes", "bandwidth": "2"})
        plan = await fleet.plan_migrate(domain, "hv2", values)
        cancel = asyncio.Event()
        progress: list[StepProgress] = []
        seen_migrating: dict[str, str | None] = {}

        def on_event(event: PlanEvent) -> None:
            if isinstance(event, StepProgress):
                progress.append(event)

        async def watch() -> None:
            """Poll both hosts as the console does; cancel once both show the domain migrating, and data flows."""
            while not cancel.is_set():
                for host in bed.hosts:
                    for d in (await fleet.poll_host(host)).domains:
                        if d.flags == "migrating":
                            seen_migrating[host] = d.flags_meaning
                if len(seen_migrating) == 2 and any((p.info.processed_bytes or 0) > 0 for p in progress):
                    cancel.set()
                await asyncio.sleep(0.3)

        watcher = asyncio.ensure_future(watch())
        result = await asyncio.wait_for(fleet.run_plan(plan, on_event=on_event, cancel=cancel), 240)
        watcher.cancel()
        assert not result.ok and result.failed is not None and result.failed.status == "cancelled"
        assert "hvmig1 is still running on hv1; hv2 does not have it." in (result.failed.error or "")
        assert progress and all(p.info.processed_bytes is not None for p in progress)
        assert seen_migrating.get("hv1") == "live migration to hv2 in progress"
        assert seen_migrating.get("hv2") == "paused by a live migration"
    finally:
        await fleet.close()
    assert bed.state("hv1") == "running" and bed.state("hv2") is None
    assert guest_run(bed.uri("hv1"), bed.guest, "cat /tmp/hvdeck-marker") == word
    results = [r["result"] for r in audit.records() if r.get("action") == "migrate"]
    assert results[0] == "started" and "cancel requested" in results
    assert results[-1].startswith("cancelled: error: operation aborted")
