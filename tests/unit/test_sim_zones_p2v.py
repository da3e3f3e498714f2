"""p2v: zones installed from a physical system's image (zones.md §3a) — flash archive, compressed cpio,
pax, ufsdump, a root image directory, and an image already received into the zonepath (``-d -``) — with
the installer's checks (illumos brand/shared/zone/common.ksh ``install_image``, brand/solaris10/zone/
image_install.ksh)."""

from __future__ import annotations

import pytest

from hvdeck.backends.sim.sshserver import Reply
from hvdeck.backends.sim.zones import State, ZonesWorld
from hvdeck.backends.sim.zones.storage import send_stream

UNKNOWN = ("Error: Unknown archive format. Must be a flash archive, a cpio archive (can also be gzipped or bzipped), a "
           "pax XUSTAR archive, or a level 0 ufsdump archive.\nERROR: Installation aborted.\n")


def run(world: ZonesWorld, *argv: str) -> Reply:
    return world.run(list(argv))


def preface(world: ZonesWorld) -> str:
    """What zoneadm prints on creating the zonepath filesystem, before the brand's installer speaks."""
    return "A ZFS file system has been created for this zone.\n" if world.layout.value == "illumos" else \
        "The following ZFS file system(s) have been created:\n    rpool/zones/p2v\n"


def state(world: ZonesWorld, zone: str) -> str:
    return world.run(["zoneadm", "-z", zone, "list", "-p"]).stdout.split(":")[2]


@pytest.fixture(params=["illumos", "solaris11"])
def world(request) -> ZonesWorld:
    world = ZonesWorld.demo("host-a", request.param)
    assert run(world, "zonecfg", "-z", "p2v", "create -b; set zonepath=/zones/p2v; set brand=solaris10").exit_status == 0
    return world


@pytest.mark.parametrize("archive", ["/export/archives/web-server.flar", "/export/archives/app-server.cpio.gz",
                                     "/export/archives/legacy-db.pax", "/export/archives/ftp.ufsdump"])
def test_a_solaris10_archive_installs_and_boots(world, archive):
    reply = run(world, "zoneadm", "-z", "p2v", "install", "-a", archive, "-u")
    assert reply.exit_status == 0, reply
    assert reply.stdout.startswith(preface(world))
    lines = reply.stdout.removeprefix(preface(world)).splitlines()
    assert lines[0].startswith("      Log File: /var/tmp/p2v.install_log.")
    assert "  Sanity Check: Passed.  Looks like a Solaris 10 system." in lines
    assert "        Result: Installation completed successfully." in lines
    assert state(world, "p2v") == "installed"
    image = world.image(world.zones["p2v"])
    assert image["os"] == "solaris10" and image["hostname"] == "p2v"  # -u: a new identity
    assert run(world, "zoneadm", "-z", "p2v", "boot").exit_status == 0
    assert state(world, "p2v") == "running"


def test_p_preserves_the_physical_systems_identity(world):
    assert run(world, "zoneadm", "-z", "p2v", "install", "-a", "/export/archives/web-server.flar", "-p").exit_status == 0
    assert world.image(world.zones["p2v"])["hostname"] == "web-server"


def test_a_root_image_directory_installs(world):
    reply = run(world, "zoneadm", "-z", "p2v", "install", "-d", "/export/images/sol10-root", "-p")
    assert reply.exit_status == 0 and "    Installing: This may take several minutes..." in reply.stdout
    assert world.image(world.zones["p2v"])["hostname"] == "old-mail"


def test_missing_and_unsupported_archives_fail_with_the_installers_words_and_leave_it_configured(world):
    first = preface(world)
    for archive in ("/export/archives/missing.flar", "/export/archives/README.txt",
                    "/export/archives/s11-app.zfs"):
        reply = run(world, "zoneadm", "-z", "p2v", "install", "-a", archive, "-u")
        assert reply.exit_status == 1 and reply.stderr == ""
        assert reply.stdout.startswith(first)
        assert reply.stdout.endswith(UNKNOWN + "The ZFS file system for this zone has been destroyed.\n")
        assert state(world, "p2v") == "configured"
        assert "rpool/zones/p2v" not in world.storage.datasets
    missing_dir = run(world, "zoneadm", "-z", "p2v", "install", "-d", "/export/images/nope", "-u")
    assert "/export/images/nope: error: file or directory not found.\nERROR: Installation aborted.\n" in missing_dir.stdout
    not_dir = run(world, "zoneadm", "-z", "p2v", "install", "-d", "/export/archives/web-server.flar", "-u")
    assert "Error: must be a directory\nERROR: Installation aborted.\n" in not_dir.stdout
    assert state(world, "p2v") == "configured"


def test_an_image_of_another_system_fails_the_sanity_check(world):
    reply = run(world, "zoneadm", "-z", "p2v", "install", "-a", "/export/archives/omnios-builder.cpio.gz", "-u")
    assert reply.exit_status == 1
    assert "  Sanity Check: FAILED (see log for details).\n        Result: *** Installation FAILED ***\n" in reply.stdout
    assert state(world, "p2v") == "configured"


def test_u_or_p_is_required(world):
    reply = run(world, "zoneadm", "-z", "p2v", "install", "-a", "/export/archives/web-server.flar")
    assert reply.exit_status == 1
    assert reply.stdout.removeprefix(preface(world)).startswith(
        "ERROR: you must specify -u (sys-unconfig) or -p (preserve identity).\n"
        "solaris10 brand usage:\n\tinstall -u | -p [-v | -s] -a archive | -d directory.\n")
    assert reply.stderr.startswith("usage:\tinstall [brand-specific args]\n")
    assert state(world, "p2v") == "incomplete"


def test_the_zones_own_brand_takes_its_own_systems_archives():
    world = ZonesWorld.demo("omni-a", "illumos")
    run(world, "zonecfg", "-z", "rebuilt", "create -b; set zonepath=/zones/rebuilt; set brand=lipkg")
    reply = run(world, "zoneadm", "-z", "rebuilt", "install", "-a", "/export/archives/omnios-builder.cpio.gz", "-u")
    assert reply.exit_status == 0 and "Looks like an illumos system." in reply.stdout
    image = world.image(world.zones["rebuilt"])
    assert image["level"] == list(world.platform.level)  # brought in sync with the global zone (zones.md §3a)
    s11 = ZonesWorld.demo("sol-a", "solaris11")
    run(s11, "zonecfg", "-z", "rebuilt", "create -b; set zonepath=/zones/rebuilt")
    assert run(s11, "zoneadm", "-z", "rebuilt", "install", "-a", "/export/archives/s11-app.uar", "-p").exit_status == 0


def test_an_image_received_into_the_zonepath_installs_with_d_dash():
    """The seeds' path: the old system's zonepath arrives with zfs send | zfs receive, then ``install -d -``."""
    source = ZonesWorld.demo("omni-a", "illumos")
    source.storage.snapshot("rpool/zones/legacy10@p2v")
    stream = b"".join(send_stream(source.storage, "rpool/zones/legacy10@p2v"))
    target = ZonesWorld.demo("sol-a", "solaris11")
    from hvdeck.backends.sim.zones import zfs
    zfs.receive(target.storage, ["rpool/zones/mail"], stream)
    run(target, "zonecfg", "-z", "mail", "create -b; set zonepath=/zones/mail; set brand=solaris10")
    reply = run(target, "zoneadm", "-z", "mail", "install", "-d", "-", "-p")
    assert reply.exit_status == 0, reply
    assert "    Installing: Using pre-existing data in zonepath\n" in reply.stdout
    assert target.zones["mail"].state is State.INSTALLED
