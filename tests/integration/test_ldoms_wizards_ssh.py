"""What an LDoms host offers the wizards, read through the fleet over SSH from a simulated control domain: ZFS
pools, volumes with their users, snapshots with their clones, virtual switches, free resources; the
wizards' choices and plans; the snapshot plans; saving the configuration to the SP. Every argv that reached
the host is checked."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.errors import Unsupported, ValidationError
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.ldoms import commands
from hvdeck.backends.model import FreeResources, Network, StoragePool
from hvdeck.backends.options import FormErrors
from hvdeck.backends.sim.ldoms import LdomsWorld, serve

G = 1 << 30


@pytest.fixture
async def t7(ssh_world, tmp_path: Path):
    world = LdomsWorld.demo("t7-a", 1)
    server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    fleet = Fleet(Inventory((ssh_world.spec(server, "t7-a", kind="ldoms"),), ssh=ssh_world.options()),
                  audit=AuditLog(tmp_path / "audit.log"))
    snapshot = await fleet.poll_host("t7-a")
    assert snapshot.error is None
    yield world, server, fleet
    await fleet.close()
    await server.close()


def domain(fleet: Fleet, name: str):
    return next(d for d in fleet.hosts["t7-a"].last_domains if d.name == name)


async def test_what_the_host_offers(t7):
    world, server, fleet = t7
    assert await fleet.storage("t7-a") == (StoragePool("ldompool", "zfs", 2 << 40, world.pool.available),)
    assert server.commands[-1] == "zfs list -H -p -o name,type,used,available,referenced,volsize,origin -t filesystem"
    volumes = {v.name: v for v in await fleet.volumes("t7-a")}
    assert volumes["ldg-web1-boot"].used_by == "ldg-web1/vdisk0"
    assert volumes["ldg-web1-boot"].path == "/dev/zvol/dsk/ldompool/ldg-web1-boot"
    assert volumes["ldg-test-boot"].origin == "ldompool/sol11-gold@2024-06" and volumes["sol11-gold"].used_by is None
    assert await fleet.networks("t7-a") == (Network("primary-vsw0", "vsw", "on primary, net-dev net0"),)
    free = await fleet.resources("t7-a")
    assert free == FreeResources(cpus=8, memory_bytes=world.devices().memory[-1][1], total_cpus=64,
                                 total_memory_bytes=256 * G - 512 * (1 << 20))
    (gold,) = await fleet.snapshots("t7-a", "ldompool/sol11-gold")
    assert (gold.name, gold.clones) == ("2024-06", ("ldompool/ldg-test-boot",))
    assert await fleet.snapshots("t7-a", "ldg-db1") == ()  # a domain: the snapshots of its disks' volumes
    world.run(["zfs", "snapshot", "ldompool/ldg-db1-data@x"])
    assert [(s.of, s.name) for s in await fleet.snapshots("t7-a", "ldg-db1")] == [("ldompool/ldg-db1-data", "x")]


async def test_create_through_the_fleet(t7):
    world, server, fleet = t7
    form = fleet.create_form("t7-a").with_choices(await fleet.create_choices("t7-a"))
    plan = await fleet.plan_create("t7-a", form.parse({"name": "web3", "disk": "20G", "memory": "4G"}))
    assert [c.ok for c in await fleet.preflight(plan)] == [True] * 5
    result = await fleet.run_plan(plan)
    assert result.ok, result.summary()
    assert server.commands[-11:] == [s.operation.display() for s in plan.steps]
    assert world.domains["web3"].state.value == "active"
    with pytest.raises(FormErrors) as caught:
        await fleet.plan_create("t7-a", form.parse({"name": "web3", "disk": "20G"}))
    assert caught.value.errors["name"] == "t7-a already has a domain named web3"


async def test_clone_through_the_fleet(t7):
    world, server, fleet = t7
    source = domain(fleet, "ldg-web1")
    choices = await fleet.clone_choices(source)
    values = fleet.clone_form(source).with_choices(choices).parse({"name": "web4"})
    result = await fleet.run_plan(await fleet.plan_clone(source, values))
    assert result.ok, result.summary()
    assert world.domains["web4"].state.value == "active"
    world.services.vds.volumes["ldg-db1-boot"].dev = "/dev/dsk/c0t1d0s2"
    with pytest.raises(Unsupported, match="not a ZFS volume: hvdeck clones ZFS volumes only"):
        await fleet.clone_choices(domain(fleet, "ldg-db1"))


async def test_snapshot_plans_through_the_fleet(t7):
    world, server, fleet = t7
    plan = await fleet.plan_snapshot("t7-a", "ldg-db1", "pre", "create")
    assert [s.operation.display() for s in plan.steps] == ["zfs snapshot ldompool/ldg-db1-boot@pre",
                                                          "zfs snapshot ldompool/ldg-db1-data@pre"]
    assert (await fleet.run_plan(plan)).ok
    with pytest.raises(ValidationError, match="roll back or destroy the snapshot of one volume"):
        await fleet.plan_snapshot("t7-a", "ldg-db1", "pre", "rollback")
    rollback = await fleet.plan_snapshot("t7-a", "ldompool/ldg-db1-data", "pre", "rollback")
    assert [s.operation.display() for s in rollback.steps] == [
        "ldm stop ldg-db1", "ldm unbind ldg-db1", "zfs rollback ldompool/ldg-db1-data@pre", "ldm bind ldg-db1",
        "ldm start ldg-db1"]
    with pytest.raises(ValidationError, match="cannot be destroyed: ldompool/ldg-test-boot was cloned from it"):
        await fleet.plan_snapshot("t7-a", "ldompool/sol11-gold", "2024-06", "destroy")


async def test_save_the_configuration_refuses_a_name_already_on_the_sp(t7):
    world, server, fleet = t7
    web1 = domain(fleet, "ldg-web1")
    snapshot = await fleet.poll_host("t7-a")
    with pytest.raises(FormErrors, match="already has a configuration named factory-default"):
        await fleet.plan_extra(commands.SAVE_SPCONFIG, web1, {"config": "factory-default"}, snapshot)
    plan = await fleet.plan_extra(commands.SAVE_SPCONFIG, web1, {"config": "after"}, snapshot)
    assert [c.ok for c in await fleet.preflight(plan)] == [True]
    assert (await fleet.run_plan(plan)).ok
    assert world.spconfigs == ["factory-default", "after"]
