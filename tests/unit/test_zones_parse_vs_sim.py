"""The zones parsers and command builders against the simulated global zone, for every command they share:
the two were written separately from the same documentation, so each test here fails if either drifts
from the other. Values are compared with the simulator's own model, field by field."""

from __future__ import annotations

import pytest

from hvdeck.backends.model import DomainState
from hvdeck.backends.sim.zones import State, ZonesWorld
from hvdeck.backends.sim.zones.model import KERNEL_STATES
from hvdeck.backends.zones import commands, parse
from hvdeck.backends.zones.commands import NewNet, NewZone
from hvdeck.backends.zones.parse import Layout

LAYOUTS = {"illumos": Layout.ILLUMOS, "solaris11": Layout.SOLARIS11}


@pytest.fixture(params=["illumos", "solaris11"])
def world(request) -> ZonesWorld:
    return ZonesWorld.demo("gz", request.param)


def _entries(world: ZonesWorld, argv: tuple[str, ...]) -> dict[str, parse.ZoneEntry]:
    result = world.run(list(argv))
    assert result.exit_status == 0, result.stderr
    return {entry.name: entry for entry in parse.parse_list_entries(result.stdout)}


def test_zoneadm_list_cp_every_field_as_the_world_has_it(world: ZonesWorld):
    entries = _entries(world, commands.LIST)
    assert parse.detect_layout(world.run(list(commands.LIST)).stdout) is LAYOUTS[world.layout.value]
    assert set(entries) == {"global", *world.zones}
    for name, zone in world.zones.items():
        entry = entries[name]
        assert entry.state == zone.state.value
        assert entry.id == (zone.zoneid if zone.state in KERNEL_STATES else None)
        assert entry.zonepath == zone.zonepath and entry.uuid == zone.uuid and entry.brand == zone.brand
        assert entry.ip_type == zone.iptype(world.layout)
        if world.layout.value == "illumos":
            assert entry.debugid == ("" if zone.debugid is None else str(zone.debugid))
        else:
            assert entry.readonly == world.row(zone).readonly and entry.mac_profile == world.row(zone).profile
            assert entry.more == ("",), "Solaris 11.4's trailing empty field"
    glob = entries["global"]
    assert (glob.id, glob.state, glob.zonepath, glob.uuid, glob.brand, glob.ip_type, glob.is_global) == (
        0, "running", "/", "", world.platform.global_brand, "shared", True)


def test_the_normalised_state_of_every_state_the_simulator_has():
    world = ZonesWorld("gz", "solaris11")
    for index, state in enumerate(State):
        world.add_zone(f"z{index}", state, zoneid=100 + index)
    expected = {State.RUNNING: DomainState.RUNNING, State.INSTALLED: DomainState.STOPPED,
                State.CONFIGURED: DomainState.STOPPED, State.UNAVAILABLE: DomainState.UNKNOWN}
    rows = {d.name: d for d in parse.parse_list_p(world.run(list(commands.LIST)).stdout, "gz")}
    for index, state in enumerate(State):
        assert rows[f"z{index}"].state is expected.get(state, DomainState.TRANSITION), state


def test_the_running_list_the_installed_list_and_one_zone(world: ZonesWorld):
    running = _entries(world, commands.LIST_RUNNING)
    assert set(running) == {"global", *(n for n, z in world.zones.items() if z.state in KERNEL_STATES)}
    installed = _entries(world, ("zoneadm", "list", "-ip"))
    assert set(installed) == {"global", *(n for n, z in world.zones.items()
                                          if z.state.rank >= State.INSTALLED.rank and z.state is not State.UNAVAILABLE)}
    name = next(iter(world.zones))
    assert list(_entries(world, ("zoneadm", "-z", name, "list", "-p"))) == [name]


def test_zoneadm_list_cv_reads_as_list_cp_does(world: ZonesWorld):
    verbose = parse.parse_list_v(world.run(list(commands.LIST_VERBOSE)).stdout, "gz")
    parsable = parse.parse_list_p(world.run(list(commands.LIST)).stdout, "gz")
    keep = ("zonepath", "brand", "ip-type")
    assert [(d.name, d.id, d.state, d.native_state, [dict(d.extra)[k] for k in keep]) for d in verbose] == \
        [(d.name, d.id, d.state, d.native_state, [dict(d.extra)[k] for k in keep]) for d in parsable]


def test_a_zonepath_with_colons_and_a_long_name_survive_both_listings():
    world = ZonesWorld("gz", "illumos")
    world.add_zone("a-rather-long-zone-name-that-pushes-columns", State.INSTALLED, zonepath="/zones/a:b:c")
    (entry,) = [e for e in parse.parse_list_entries(world.run(list(commands.LIST)).stdout) if not e.is_global]
    assert entry.zonepath == "/zones/a:b:c"
    (row,) = [d for d in parse.parse_list_v(world.run(list(commands.LIST_VERBOSE)).stdout, "gz")
              if d.name != "global"]
    assert dict(row.extra)["zonepath"] == "/zones/a:b:c" and row.name == "a-rather-long-zone-name-that-pushes-columns"


def _config(world: ZonesWorld, name: str) -> parse.ZoneConfig:
    result = world.run(list(commands.export(name)))
    assert result.exit_status == 0, result.stderr
    return parse.parse_zonecfg(result.stdout)


def test_zonecfg_export_of_every_zone_reads_back_as_the_world_has_it(world: ZonesWorld):
    for name, zone in world.zones.items():
        config = _config(world, name)
        assert config.create == ("-b",)
        for prop, value in zone.config.props.items():
            if prop == "zonepath" or value:
                assert config.get(prop) == value, (name, prop)
        for kind in ("fs", "net", "anet", "attr", "dataset", "dedicated-cpu"):
            ours = [r for r in zone.config.resources if r.type == kind]
            read = config.of(kind)
            assert len(read) == len(ours), (name, kind)
            for mine, theirs in zip(ours, read):
                for prop, value in mine.props.items():
                    if value and not (kind == "dataset" and prop == "alias"):
                        assert theirs.get(prop) == value, (name, kind, prop)
                assert list(theirs.values("options")) == mine.options
        for mine in (r for r in zone.config.resources if r.type == "rctl"):
            (theirs,) = [r for r in config.of("rctl") if r.get("name") == mine.props["name"]]
            assert [dict(parse.parse_complex(v)) for v in theirs.values("value")] == [
                {"priv": p, "limit": limit, "action": a} for p, limit, a in mine.values]
        for mcap in zone.config.of_type("capped-memory"):
            assert parse.parse_zone_size(config.of("capped-memory")[0].get("physical") or "") == \
                int(mcap.props["physical"])
        parse.zone_bindings(config, "gz", name)  # and the domain screen can lay it out


def _zones_to_create(layout: str) -> list[NewZone]:
    solaris = layout == "solaris11"
    exclusive = (NewNet(anet=True, linkname="net0", lower_link="net1", allowed_address="10.0.2.5/24",
                        defrouter="10.0.2.1") if solaris else
                 NewNet("api0", global_nic="igb0", allowed_address="10.0.1.5/24", defrouter="10.0.1.1"))
    shared = NewNet("net0" if solaris else "e1000g0", "10.0.3.9/24", "10.0.3.1")
    return [
        NewZone("n1", "/zones/n1", brand="solaris" if solaris else "lipkg", autoboot=True, ip_type="exclusive",
                nets=(exclusive,), memory_cap="1536M", swap_cap="2G", locked_cap="512M", capped_cpu="1.25"),
        NewZone("n2", "/zones/n2", ip_type="shared", nets=(shared,), dedicated_cpu="1-2", importance="5",
                datasets=("rpool/export/home",)),
        NewZone("n3", "/zones/n3", autoboot=False),
    ]


def test_every_script_commands_writes_is_taken_and_exported_as_written(world: ZonesWorld):
    for zone in _zones_to_create(world.layout.value):
        result = world.run(list(commands.configure_stdin(zone.name)), stdin=commands.zonecfg_script(zone))
        assert (result.exit_status, result.stderr) == (0, ""), commands.zonecfg_script(zone)
        config = _config(world, zone.name)
        assert config.get("zonepath") == zone.zonepath
        if zone.brand:
            assert config.get("brand") == zone.brand
        if zone.ip_type:
            assert config.get("ip-type") == zone.ip_type
        assert config.get("autoboot") == ("true" if zone.autoboot else "false")
        for net in zone.nets:
            (read,) = config.of("anet" if net.anet else "net")
            for prop, value in (("physical", net.physical), ("address", net.address), ("defrouter", net.defrouter),
                                ("linkname", net.linkname), ("lower-link", net.lower_link),
                                ("global-nic", net.global_nic), ("allowed-address", net.allowed_address)):
                if value:
                    assert read.get(prop) == value, (zone.name, prop)
        rctls = {r.get("name"): dict(parse.parse_complex(r.values("value")[0])) for r in config.of("rctl")}
        if zone.memory_cap:
            assert parse.parse_zone_size(config.of("capped-memory")[0].get("physical") or "") == 1536 << 20
            assert rctls["zone.max-swap"]["limit"] == str(2 << 30)
            assert rctls["zone.max-locked-memory"]["limit"] == str(512 << 20)
        if zone.capped_cpu:
            assert rctls["zone.cpu-cap"]["limit"] == "125"
            # export prints the caps as rctls (illumos export_func); the bindings show them as zonecfg takes them
            sections = {s.title: s for s in parse.zone_bindings(config, "gz", zone.name).extra}
            assert sections["CAPPED-CPU"].rows == (("1.25",),)
            assert sections["CAPPED-MEMORY"].rows == (("1.5G", "2G", "512M"),), "physical as export prints it (bytes_to_units)"
        if zone.dedicated_cpu:
            (pset,) = config.of("dedicated-cpu")
            assert (pset.get("ncpus"), pset.get("importance")) == ("1-2", "5")
            assert parse.zone_bindings(config, "gz", zone.name).cpu.vcpus == 1
        assert [d.get("name") for d in config.of("dataset")] == list(zone.datasets)


def test_clone_and_attach_scripts_and_the_plans_argv_are_what_the_simulator_takes():
    world = ZonesWorld.demo("gz", "illumos")
    source = next(d for d in parse.parse_list_p(world.run(list(commands.LIST)).stdout, "gz") if d.name == "build")
    plan = commands.clone_plan("gz", source, "build2", "/zones/build2")
    for step in plan.steps:
        result = world.run(list(step.operation.argv), stdin=step.input)
        assert result.exit_status == 0, (step.operation.argv, result.stderr)
    assert world.zones["build2"].state is State.INSTALLED
    detach = commands.detach_plan(next(d for d in parse.parse_list_p(world.run(list(commands.LIST)).stdout, "gz")
                                       if d.name == "build2"))
    for step in detach.steps:
        assert world.run(list(step.operation.argv)).exit_status == 0
    assert world.run(list(commands.delete("build2"))).exit_status == 0
    for step in commands.attach_plan("gz", "build2", "/zones/build2", update="u").steps:
        result = world.run(list(step.operation.argv), stdin=step.input)
        assert result.exit_status == 0, (step.operation.argv, result.stderr)
    assert world.zones["build2"].state is State.RUNNING


def test_uname_and_zfs_and_dladm_read_as_the_world_has_them(world: ZonesWorld):
    uname = parse.parse_uname(world.run(list(commands.UNAME)).stdout)
    assert (uname.system, uname.release) == ("SunOS", "5.11") and LAYOUTS[world.layout.value] in uname.layouts
    filesystems = {fs.name: fs for fs in parse.parse_zfs_filesystems(world.run(list(commands.ZFS_FILESYSTEMS)).stdout)}
    storage = world.storage
    assert set(filesystems) == {name for name, d in storage.datasets.items() if d.type == "filesystem"}
    for name, fs in filesystems.items():
        dataset = storage.datasets[name]
        assert fs.used == int(storage.value(dataset, "used", True))
        assert fs.avail == int(storage.value(dataset, "available", True))
        assert fs.mountpoint == storage.value(dataset, "mountpoint", True)
    assert world.run(["zfs", "snapshot", "rpool/zones/batch@one" if world.layout.value == "solaris11" else
                      "rpool/zones/build@one"]).exit_status == 0
    dataset = "rpool/zones/batch" if world.layout.value == "solaris11" else "rpool/zones/build"
    (snapshot,) = parse.parse_zfs_snapshots(world.run(list(commands.zfs_snapshots(dataset))).stdout)
    assert (snapshot.name, snapshot.dataset) == (f"{dataset}@one", dataset)
    assert snapshot.creation == storage.datasets[f"{dataset}@one"].creation
    links = parse.parse_dladm_links(world.run(list(commands.DATALINKS)).stdout)
    assert {link.name: link.klass for link in links if link.zone is None} == \
        {name: klass for name, (klass, _over) in world.links.items()} | \
        {link.name: "vnic" for link in links if link.zone is None and link.name not in world.links}


def test_zoneadm_errors_read_as_printed():
    world = ZonesWorld.demo("gz", "illumos")
    refused = world.run(["zoneadm", "-z", "newapp", "boot"])
    errors = parse.parse_zoneadm_errors(refused.stderr)
    assert errors.messages == (parse.ZoneadmMessage(1, "newapp", "must be installed before boot."),)
    missing = parse.parse_zoneadm_errors(world.run(["zoneadm", "-z", "nosuch", "boot"]).stderr)
    assert (missing.messages[0].zone, missing.messages[0].text) == ("nosuch", "No such zone configured")
