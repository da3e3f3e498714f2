"""The demo's two global zones: `hvdeck ls --demo` lists them beside the other demo hosts, and a zone moves
from one to the other and back through the fleet (their solaris10-branded zones can go either way)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.model import DomainState
from hvdeck.backends.sim.demo import LDOMS_HOSTS, LIBVIRT_HOSTS, XEN_HOSTS, ZONES_HOSTS, DemoFleet


def test_hvdeck_ls_demo_lists_the_global_zones_after_ldoms_and_before_xen():
    done = subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", "ls", "--demo", "--json"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    hosts = json.loads(done.stdout)["hosts"]
    assert [(h["name"], h["kind"], h["status"]) for h in hosts] == [
        *((name, "libvirt", "up") for name in LIBVIRT_HOSTS), *((name, "ldoms", "up") for name in LDOMS_HOSTS),
        ("omni-a", "zones", "up"), ("sol-a", "zones", "up"), *((name, "xen", "up") for name, _ in XEN_HOSTS)]
    zones = {h["name"]: {d["name"]: d["native_state"] for d in h["domains"]} for h in hosts if h["kind"] == "zones"}
    assert zones["omni-a"] == {"broken": "incomplete", "build": "installed", "db1": "running", "global": "running",
                               "legacy10": "installed", "newapp": "configured", "staging": "ready",
                               "web1": "running", "web2": "running"}
    assert set(zones["sol-a"].values()) >= {"running", "installed", "configured", "ready", "incomplete",
                                            "unavailable"}


async def test_a_zone_moves_between_the_demo_global_zones_and_back(tmp_path: Path):
    with DemoFleet(libvirt=False, ldoms=(), xen=(), zones_op_seconds=0.0) as inventory:
        assert [h.name for h in inventory.hosts] == [name for name, _ in ZONES_HOSTS]
        fleet = Fleet(inventory, audit=AuditLog(tmp_path / "audit.log"))
        try:
            for source, target in (("omni-a", "sol-a"), ("sol-a", "omni-a")):
                await fleet.poll_host(target)
                zone = next(d for d in (await fleet.poll_host(source)).domains if d.name == "legacy10")
                # the first move destroys the zone's old data, so that it can come back to the same zonepath
                after = "destroy" if source == "omni-a" else "delete"
                plan = await fleet.plan_migrate(zone, target, fleet.migrate_form(zone).parse({"source_after": after}))
                assert plan.confirm_phrase == ("legacy10" if after == "destroy" else None)
                assert all(check.ok for check in await fleet.preflight(plan))
                result = await fleet.run_plan(plan)
                assert result.ok, result.summary()
                arrived = {d.name: d for d in (await fleet.poll_host(target)).domains}
                assert arrived["legacy10"].state is DomainState.RUNNING
                assert "legacy10" not in {d.name for d in (await fleet.poll_host(source)).domains}
        finally:
            await fleet.close()
