"""`hvdeck show` and `hvdeck plan` on a simulated global zone over SSH: a zone's bindings, the lifecycle, and
the zone actions with their parameters (move, clone: its zonecfg script printed as the input zonecfg reads),
destructive ones needing --confirm."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.sim.zones import State, ZonesWorld, serve
from hvdeck.tui.cli import main


@pytest.fixture
async def zones_inventory(tmp_path: Path, ssh_world):
    world = ZonesWorld.demo("omni-a", "illumos")
    server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    path = tmp_path / "hosts.yaml"
    path.write_text(f"ssh: {{config: {ssh_world.config}, known_hosts: {ssh_world.known_hosts}}}\n"
                    f"hosts:\n  - {{name: omni-a, address: 127.0.0.1, port: {server.port}, user: root, kind: zones, "
                    f"identity_file: {ssh_world.key_path}}}\n")
    yield path, world
    await server.close()


async def run(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


async def test_show_a_zone(zones_inventory, capsys):
    path, _world = zones_inventory
    assert await run("show", "-i", str(path), "omni-a", "db1") == 0
    text = capsys.readouterr().out
    assert text.startswith("omni-a / db1   running") and "DEDICATED-CPU" in text and "rpool/zones/db1/data" in text
    assert await run("show", "-i", str(path), "omni-a", "db1", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cpu"]["vcpus"] == 4 and [s["title"] for s in data["sections"]][:2] == ["ZONE", "NETWORK"]


async def test_plan_the_lifecycle_and_zone_actions(zones_inventory, tmp_path: Path, capsys):
    path, world = zones_inventory
    log = tmp_path / "audit.log"
    base = ("plan", "-i", str(path), "--audit-log", str(log), "omni-a")
    assert await run(*base, "newapp", "start") == 2
    assert "configured but not installed" in capsys.readouterr().err
    assert await run(*base, "build", "start", "--yes") == 0
    assert "zoneadm -z build boot" in capsys.readouterr().out and world.zones["build"].state is State.RUNNING
    assert await run(*base, "build", "clone", "name=build2", "zonepath=/zones/build2", "snapshot=") == 2
    assert "zoneadm clone needs the source zone halted" in capsys.readouterr().err
    assert await run(*base, "legacy10", "clone", "name=old2", "zonepath=/zones/old2", "snapshot=") == 0
    out = capsys.readouterr().out
    assert "zonecfg -z old2 -f -" in out and "input:\n         create -t legacy10\n         set zonepath=/zones/old2" in out
    assert "zoneadm -z old2 clone legacy10" in out and "old2" not in world.zones
    assert await run(*base, "legacy10", "move", "zonepath=/zones/legacy-10", "--yes") == 0
    assert world.zones["legacy10"].zonepath == "/zones/legacy-10"
    capsys.readouterr()
    assert await run(*base, "newapp", "delete", "--yes") == 2
    assert "--confirm newapp" in capsys.readouterr().err and "newapp" in world.zones
    assert await run(*base, "newapp", "delete", "--yes", "--confirm", "newapp") == 0
    assert "newapp" not in world.zones
    records = AuditLog(log).records()
    assert [r["operation"] for r in records if r["result"] == "ok"] == [
        "zoneadm -z build boot", "zoneadm -z legacy10 move /zones/legacy-10", "zonecfg -z newapp delete -F"]
