"""The life cycle as real zones behave, with zoneadm's and zoneadmd's wording (illumos zoneadm.c
``sanity_check``, zoneadmd.c ``server``): install before boot, clone from a halted source only, detach
leaves the zone configured, attach validates (and -u updates), uninstall and move."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hvdeck.backends.sim.sshserver import Reply
from hvdeck.backends.sim.zones import SOLARIS_11_4, State, ZonesWorld


def run(world: ZonesWorld, *argv: str, stdin: str | None = None) -> Reply:
    return world.run(list(argv), stdin=stdin)


def ok(world: ZonesWorld, *argv: str) -> str:
    reply = run(world, *argv)
    assert reply.exit_status == 0, reply
    return reply.stdout


def state(world: ZonesWorld, zone: str) -> str:
    return ok(world, "zoneadm", "-z", zone, "list", "-p").split(":")[2]


@pytest.fixture(params=["illumos", "solaris11"])
def world(request) -> ZonesWorld:
    return ZonesWorld.demo("host-a", request.param)


def configure(world: ZonesWorld, name: str) -> None:
    reply = run(world, "zonecfg", "-z", name, f"create -b; set zonepath=/zones/{name}")
    assert (reply.exit_status, reply.stderr) == (0, "")


def test_install_before_boot_then_the_whole_cycle(world):
    configure(world, "z1")
    assert state(world, "z1") == "configured"
    assert run(world, "zoneadm", "-z", "z1", "boot") == \
        Reply("", "zoneadm: zone 'z1': must be installed before boot.\n", 1)
    assert run(world, "zoneadm", "-z", "z1", "ready") == \
        Reply("", "zoneadm: zone 'z1': must be installed before ready.\n", 1)
    assert run(world, "zoneadm", "-z", "z1", "halt") == \
        Reply("", "cannot manage a zone which is in state 'configured'\nzoneadm: zone 'z1': could not start zoneadmd\n", 1)
    ok(world, "zoneadm", "-z", "z1", "install")
    assert run(world, "zoneadm", "-z", "z1", "install") == Reply("", "zoneadm: zone 'z1': is already installed.\n", 1)
    assert run(world, "zoneadm", "-z", "z1", "halt") == Reply("", "zoneadm: zone 'z1': zone is already halted\n", 0)
    assert run(world, "zoneadm", "-z", "z1", "reboot") == Reply("", "zoneadm: zone 'z1': not running\n", 1)
    assert run(world, "zoneadm", "-z", "z1", "shutdown") == Reply("", "zoneadm: zone 'z1': not running\n", 1)
    ok(world, "zoneadm", "-z", "z1", "ready")
    ready = ok(world, "zoneadm", "-z", "z1", "list", "-p").split(":")
    assert ready[2] == "ready" and ready[0].isdigit()
    assert run(world, "zoneadm", "-z", "z1", "shutdown") == \
        Reply("", "zoneadm: zone 'z1': shutdown operation is invalid for zones in state 'ready'\n", 1)
    ok(world, "zoneadm", "-z", "z1", "boot")
    first_id = ok(world, "zoneadm", "-z", "z1", "list", "-p").split(":")[0]
    assert state(world, "z1") == "running" and first_id == ready[0]
    assert run(world, "zoneadm", "-z", "z1", "boot") == Reply("", "zoneadm: zone 'z1': zone is already booted\n", 0)
    assert run(world, "zoneadm", "-z", "z1", "uninstall", "-F") == \
        Reply("", "zoneadm: zone 'z1': uninstall operation is invalid for running zones.\n", 1)
    ok(world, "zoneadm", "-z", "z1", "reboot")
    assert int(ok(world, "zoneadm", "-z", "z1", "list", "-p").split(":")[0]) > int(first_id)
    ok(world, "zoneadm", "-z", "z1", "shutdown")
    assert state(world, "z1") == "installed"
    assert ok(world, "zoneadm", "-z", "z1", "list", "-p").startswith("-:z1:installed:")
    ok(world, "zoneadm", "-z", "z1", "boot")
    ok(world, "zoneadm", "-z", "z1", "halt")
    assert run(world, "zoneadm", "-z", "z1", "uninstall") == \
        Reply("", "zoneadm: zone 'z1': Input not from terminal and -F not specified: uninstall not done.\n", 1)
    assert ok(world, "zoneadm", "-z", "z1", "uninstall", "-F") == \
        "The ZFS file system for this zone has been destroyed.\n"
    assert state(world, "z1") == "configured"
    assert run(world, "zoneadm", "-z", "z1", "uninstall", "-F") == \
        Reply("", "zoneadm: zone 'z1': is already in state 'configured'.\n", 1)
    ok(world, "zonecfg", "-z", "z1", "delete", "-F")
    assert run(world, "zoneadm", "-z", "z1", "list", "-p") == Reply("", "zoneadm: z1: No such zone configured\n", 1)


def test_the_global_zone_and_unknown_zones_are_refused(world):
    assert run(world, "zoneadm", "-z", "global", "halt") == \
        Reply("", "zoneadm: zone 'global': halt operation is invalid for the global zone.\n", 1)
    assert run(world, "zoneadm", "-z", "nosuch", "boot") == Reply("", "zoneadm: nosuch: No such zone configured\n", 1)
    assert ok(world, "zoneadm", "-z", "global", "list", "-p").startswith("0:global:running:/:")
    usage = run(world, "zoneadm", "frobnicate")
    assert usage.exit_status == 2 and usage.stderr.startswith("usage:\tzoneadm help\n")
    mixed = run(world, "zoneadm", "list", "-pv")
    assert mixed == Reply("", "zoneadm: list -p and -v are mutually exclusive.\n", 1)


def test_install_leaves_incomplete_when_the_brand_rejects_its_options(world):
    """zoneadm.c install_func returns on ZONE_SUBPROC_USAGE without resetting the state it set."""
    ok(world, "zonecfg", "-z", "p1", "create -b; set zonepath=/zones/p1; set brand=solaris10")
    reply = run(world, "zoneadm", "-z", "p1", "install")
    assert reply.exit_status == 1
    assert "ERROR: you must specify an installation source using '-a', '-d' or '-r'." in reply.stdout
    assert reply.stderr.startswith("usage:\tinstall [brand-specific args]\n")
    assert state(world, "p1") == "incomplete"
    assert run(world, "zoneadm", "-z", "p1", "install") == \
        Reply("", "zoneadm: zone 'p1': zone is incomplete; uninstall required.\n", 1)
    ok(world, "zoneadm", "-z", "p1", "uninstall", "-F")
    assert state(world, "p1") == "configured"


def test_clone_needs_a_halted_installed_source_of_the_same_brand(world):
    source = "web1" if world.layout.value == "illumos" else "app1"
    brand = world.zones[source].brand
    ok(world, "zonecfg", "-z", "c1", f"create -t {source}; set zonepath=/zones/c1")
    assert run(world, "zoneadm", "-z", "c1", "clone", source).stderr == \
        "zoneadm: zone 'c1': clone operation is invalid for running zones.\n"
    assert run(world, "zoneadm", "-z", "c1", "clone", "nosuch").stderr == \
        "zoneadm: nosuch: could not get state: No such zone configured\n"
    configured = "newapp" if world.layout.value == "illumos" else "fresh"
    assert run(world, "zoneadm", "-z", "c1", "clone", configured).stderr == \
        f"zoneadm: zone {configured} is configured; installed is required.\n"
    ok(world, "zoneadm", "-z", source, "halt")
    other = next(z.name for z in world.zones.values() if z.state is State.INSTALLED and z.brand != brand)
    assert run(world, "zoneadm", "-z", "c1", "clone", other).stderr == \
        f"zoneadm: Zones '{other}' and 'c1' have different brand types.\n"
    assert ok(world, "zoneadm", "-z", "c1", "clone", source) == \
        "Instead of copying, a ZFS clone has been created for this zone.\n"
    assert state(world, "c1") == "installed"
    snapshots = ok(world, "zfs", "list", "-H", "-o", "name", "-t", "snapshot").split()
    assert snapshots == [f"rpool/zones/{source}@SUNWzone1"]
    origin = ok(world, "zfs", "list", "-H", "-o", "origin", "rpool/zones/c1")
    assert origin == f"rpool/zones/{source}@SUNWzone1\n"
    ok(world, "zonecfg", "-z", "c2", f"create -t {source}; set zonepath=/zones/c2")
    assert ok(world, "zoneadm", "-z", "c2", "clone", "-s", f"rpool/zones/{source}@SUNWzone1", source) == \
        f"Cloning snapshot rpool/zones/{source}@SUNWzone1\n"
    ok(world, "zonecfg", "-z", "c3", f"create -t {source}; set zonepath=/zones/c3")
    missing = run(world, "zoneadm", "-z", "c3", "clone", "-s", "rpool/zones/nope@x", source)
    assert (missing.exit_status, missing.stderr) == (1, "unable to find path for rpool/zones/nope@x.\n")
    ok(world, "zoneadm", "-z", "c1", "boot")
    assert state(world, "c1") == "running"


def test_clone_warns_about_a_shared_address():
    world = ZonesWorld.demo("omni-a", "illumos")
    ok(world, "zonecfg", "-z", "b2", "create -t build; set zonepath=/zones/b2")
    reply = run(world, "zoneadm", "-z", "b2", "clone", "build")
    assert reply == Reply("Instead of copying, a ZFS clone has been created for this zone.\n",
                          "WARNING: network address '192.168.1.38' is configured in both zones.\n", 0)


def test_detach_leaves_it_configured_and_attach_validates(world):
    zone = "build" if world.layout.value == "illumos" else "batch"
    assert run(world, "zoneadm", "-z", zone, "attach") == \
        Reply("", f"zoneadm: zone '{zone}': is already installed.\n", 1)
    manifest = ok(world, "zoneadm", "-z", zone, "detach", "-n")
    assert manifest.startswith('<?xml version="1.0" encoding="UTF-8"?>\n') and f'name="{zone}"' in manifest
    assert state(world, zone) == "installed"
    ok(world, "zoneadm", "-z", zone, "detach")
    assert state(world, zone) == "configured"
    assert world.storage.exists(f"/zones/{zone}/SUNWdetached.xml")
    assert run(world, "zoneadm", "-z", zone, "boot").stderr == f"zoneadm: zone '{zone}': must be installed before boot.\n"
    reply = run(world, "zoneadm", "-z", zone, "install")
    assert reply.stderr == (f"Cannot install detached zone.\nUse attach or remove /zones/{zone} directory.\n"
                            f"could not verify zonepath /zones/{zone} because of the above errors.\n"
                            f"zoneadm: zone {zone} failed to verify\n")
    attach = ok(world, "zoneadm", "-z", zone, "attach")
    assert attach.splitlines()[-1] == "                    Result: Attach Succeeded."
    assert state(world, zone) == "installed" and not world.storage.exists(f"/zones/{zone}/SUNWdetached.xml")


def test_attach_u_updates_an_out_of_sync_zone_and_refuses_a_newer_one(world):
    """The demo's ``mover``: a zonepath received from a host at an older software level."""
    assert run(world, "zonecfg", "-z", "mover", "create -a /zones/nowhere") == \
        Reply("", "invalid path to detached zone\n", 0)  # zonecfg.c create_func sets no error here
    assert "mover" not in world.zones
    ok(world, "zonecfg", "-z", "mover", "create -a /zones/mover")
    assert ok(world, "zonecfg", "-z", "mover", "info", "zonepath") == "zonepath: /zones/mover\n"
    refused = run(world, "zoneadm", "-z", "mover", "attach")
    assert refused.exit_status == 1 and refused.stderr == ""
    assert ("                Evaluation: Packages in zone mover are out of sync with the global zone. To proceed, "
            "retry with the -u flag.\n                    Result: Attach Failed.\n") in refused.stdout
    assert state(world, "mover") == "configured"
    updated = ok(world, "zoneadm", "-z", "mover", "attach", "-u")
    assert "  Updating non-global zone: Zone updated.\n                    Result: Attach Succeeded.\n" in updated
    assert world.image(world.zones["mover"])["entire"] == world.platform.entire
    ok(world, "zoneadm", "-z", "mover", "boot")

    older = replace(world.platform, level=(1,), entire="pkg://x/entire@1")  # a host older than the zone
    world.platform = older
    ok(world, "zoneadm", "-z", "mover", "halt")
    ok(world, "zoneadm", "-z", "mover", "detach")
    newer = run(world, "zoneadm", "-z", "mover", "attach", "-u")
    assert newer.exit_status == 1 and "ERROR: Could not update attaching zone\n" in newer.stdout
    forced = run(world, "zoneadm", "-z", "mover", "attach", "-F")
    assert forced == Reply("", "", 0) and state(world, "mover") == "installed"


def test_attach_without_an_image_and_the_attach_options_of_each_brand(world):
    ok(world, "zonecfg", "-z", "ghost", "create -b; set zonepath=/zones/ghost")
    empty = run(world, "zoneadm", "-z", "ghost", "attach", "-u")
    assert empty.exit_status == 1
    assert "ERROR: Failed to locate any dataset mounted at /zones/ghost/root.  Attach requires a mounted dataset.\n" \
        in empty.stdout
    patched = run(world, "zoneadm", "-z", "ghost", "attach", "-b", "119254-50")
    assert patched.exit_status == 1 and patched.stderr.startswith("usage:\tattach [-F] [-n <path>]")
    both = run(world, "zoneadm", "-z", "ghost", "attach", "-F", "-n", "/tmp/x")
    assert both == Reply("", "zoneadm: zone 'ghost': -F and -n flags are mutually exclusive\n", 1)


def test_attach_U_takes_an_incomplete_zone(world):
    broken = "broken" if world.layout.value == "illumos" else "halfway"
    assert run(world, "zoneadm", "-z", broken, "attach", "-u").stderr == \
        f"zoneadm: zone '{broken}': zone is incomplete; uninstall required.\n"
    world.set_image(world.zones[broken], {"os": world.platform.brands[world.zones[broken].brand].image_os,
                                          "level": [0], "entire": "old", "size": 1})
    world.create_zonepath(world.zones[broken])
    updated = ok(world, "zoneadm", "-z", broken, "attach", "-U")
    assert "Zone updated." in updated and state(world, broken) == "installed"


def test_move_changes_the_zonepath_datasets_mountpoint(world):
    zone = "build" if world.layout.value == "illumos" else "batch"
    assert run(world, "zoneadm", "-z", zone, "move", "relative") == Reply("", "relative is not an absolute path.\n", 1)
    other = next(z for z in world.zones.values() if z.name != zone and z.state is State.INSTALLED)
    overlap = run(world, "zoneadm", "-z", zone, "move", f"{other.zonepath}/inner")
    assert overlap.stderr == (f"{zone} zonepath ({other.zonepath}/inner) and {other.name} zonepath ({other.zonepath}) "
                              "overlap.\n")
    ok(world, "zoneadm", "-z", zone, "move", f"/zones/{zone}-new")
    assert ok(world, "zonecfg", "-z", zone, "info", "zonepath") == f"zonepath: /zones/{zone}-new\n"
    assert ok(world, "zfs", "list", "-H", "-o", "name,mountpoint", f"rpool/zones/{zone}") == \
        f"rpool/zones/{zone}\t/zones/{zone}-new\n"
    assert world.image(world.zones[zone]) is not None
    ok(world, "zoneadm", "-z", zone, "boot")
    assert run(world, "zoneadm", "-z", zone, "move", "/zones/x").stderr == \
        f"zoneadm: zone '{zone}': move operation is invalid for running zones.\n"


def test_mark_and_the_states_only_solaris_11_has():
    world = ZonesWorld.demo("sol-a", "solaris11")
    ok(world, "zoneadm", "-z", "batch", "mark", "incomplete")
    assert state(world, "batch") == "incomplete"
    ok(world, "zoneadm", "-z", "batch", "mark", "-F", "installed")
    ok(world, "zoneadm", "-z", "batch", "mark", "unavailable")
    assert state(world, "batch") == "unavailable"
    assert run(world, "zoneadm", "-z", "batch", "boot").stderr == \
        "zoneadm: zone 'batch': must be installed before boot.\n"
    illumos = ZonesWorld.demo("omni-a", "illumos")
    assert run(illumos, "zoneadm", "-z", "build", "mark", "unavailable").exit_status == 2


def test_solaris11_boot_w_makes_a_read_only_zone_writable():
    world = ZonesWorld("s11", platform=SOLARIS_11_4)
    ok(world, "zonecfg", "-z", "ro", "create -b; set zonepath=/zones/ro; set file-mac-profile=fixed-configuration")
    ok(world, "zoneadm", "-z", "ro", "install")
    ok(world, "zoneadm", "-z", "ro", "boot")
    assert ok(world, "zoneadm", "-z", "ro", "list", "-p").split(":")[7:9] == ["R", "fixed-configuration"]
    ok(world, "zoneadm", "-z", "ro", "halt")
    ok(world, "zoneadm", "-z", "ro", "boot", "-w")
    assert ok(world, "zoneadm", "-z", "ro", "list", "-p").split(":")[7] == "W"


def test_the_private_mount_subcommand_reaches_mounted(world):
    zone = "build" if world.layout.value == "illumos" else "batch"
    assert run(world, "zoneadm", "-z", zone, "unmount") == \
        Reply("", f"zoneadm: zone '{zone}': must be mounted before unmount.\n", 1)
    ok(world, "zoneadm", "-z", zone, "mount")
    assert ok(world, "zoneadm", "-z", zone, "list", "-p").startswith(f"-:{zone}:mounted:")
    assert run(world, "zoneadm", "-z", zone, "boot").stderr == (
        f"zoneadm: zone '{zone}': boot operation is invalid for zones in state 'mounted'\n"
        f"zoneadm: zone '{zone}': call to zoneadmd failed\n")
    assert [row.split(":")[1] for row in ok(world, "zoneadm", "list", "-ip").splitlines()].count(zone) == 1
    ok(world, "zoneadm", "-z", zone, "unmount")
    assert state(world, zone) == "installed"
