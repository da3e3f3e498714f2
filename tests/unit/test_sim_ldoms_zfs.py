"""``zfs`` on the simulated control domain: what the create and clone wizards run, in zfs's own formats and
with its own refusals (Solaris 11 zfs_main.c wording: usage synopses, ``missing ... argument``, dependent
clones, more recent snapshots, pools), and space that volumes really take from the pool."""

from __future__ import annotations

import pytest

from hvdeck.backends.sim.ldoms import LdomsWorld
from hvdeck.backends.sim.sshserver import Reply

K, M, G, T = 1 << 10, 1 << 20, 1 << 30, 1 << 40
POOL = 2 * T
ROOT = 32 * K


@pytest.fixture
def world() -> LdomsWorld:
    return LdomsWorld("t7-a", seed=1, clock=lambda: 1000.0)


def sh(world: LdomsWorld, line: str) -> Reply:
    return world.run_line(line)


def ok(world: LdomsWorld, line: str) -> str:
    reply = sh(world, line)
    assert reply.exit_status == 0, f"{line}: {reply.stderr}"
    return reply.stdout


def refused(world: LdomsWorld, line: str, status: int = 1) -> str:
    reply = sh(world, line)
    assert (reply.exit_status, reply.stdout) == (status, ""), line
    return reply.stderr


VOLUMES = "zfs list -H -p -o name,volsize,used,avail,origin -t volume,snapshot"
FREE = "zfs list -H -p -o name,avail,used -t filesystem"


def test_the_wizards_listings(world):
    assert ok(world, VOLUMES) == ""
    assert ok(world, FREE) == f"ldompool\t{POOL - ROOT}\t{ROOT}\n"
    ok(world, "zfs create -V 20G ldompool/web-boot && zfs create -s -V 100G ldompool/web-data")
    avail = POOL - ROOT - 20 * G
    assert ok(world, FREE) == f"ldompool\t{avail}\t{ROOT + 20 * G}\n", "a sparse volume takes nothing yet"
    ok(world, "zfs snapshot ldompool/web-boot@gold; zfs clone ldompool/web-boot@gold ldompool/app-boot")
    assert ok(world, VOLUMES) == (
        f"ldompool/app-boot\t{20 * G}\t0\t{avail}\tldompool/web-boot@gold\n"
        f"ldompool/web-boot\t{20 * G}\t{20 * G}\t{avail}\t-\n"
        f"ldompool/web-boot@gold\t{20 * G}\t0\t-\t-\n"
        f"ldompool/web-data\t{100 * G}\t0\t{avail}\t-\n")
    assert ok(world, VOLUMES + " -r ldompool") == ok(world, VOLUMES)
    assert ok(world, VOLUMES + " -r ldompool/web-boot") == (
        f"ldompool/web-boot\t{20 * G}\t{20 * G}\t{avail}\t-\nldompool/web-boot@gold\t{20 * G}\t0\t-\t-\n")
    assert ok(world, "zfs get -H -p -o value volsize ldompool/web-data") == f"{100 * G}\n"
    assert ok(world, "zfs get -H -o name,property,value,source volsize ldompool/web-boot") == \
        "ldompool/web-boot\tvolsize\t20G\tlocal\n"
    assert ok(world, "zfs get volsize,origin ldompool/app-boot") == (
        "NAME               PROPERTY  VALUE                   SOURCE\n"
        "ldompool/app-boot  volsize   20G                     local\n"
        "ldompool/app-boot  origin    ldompool/web-boot@gold  -\n")


def test_volumes_take_the_space_they_are_given(world):
    ok(world, "zfs create -V 1T ldompool/a")
    assert refused(world, "zfs create -V 1T ldompool/b") == "cannot create 'ldompool/b': out of space\n"
    ok(world, "zfs create -s -V 1T ldompool/b")
    ok(world, "zfs destroy ldompool/a")
    assert ok(world, FREE) == f"ldompool\t{POOL - ROOT}\t{ROOT}\n"


def test_destroying_a_snapshot_with_clones_is_refused_with_the_list(world):
    ok(world, "zfs create -V 8G ldompool/v; zfs snapshot ldompool/v@s; zfs clone ldompool/v@s ldompool/c1;"
              " zfs clone ldompool/v@s ldompool/c2")
    assert refused(world, "zfs destroy ldompool/v@s") == (
        "cannot destroy 'ldompool/v@s': snapshot has dependent clones\n"
        "use '-R' to destroy the following datasets:\nldompool/c1\nldompool/c2\n")
    ok(world, "zfs destroy ldompool/c1; zfs destroy ldompool/c2; zfs destroy ldompool/v@s")
    ok(world, "zfs snapshot ldompool/v@t; zfs clone ldompool/v@t ldompool/c3; zfs destroy -R ldompool/v")
    assert ok(world, "zfs list -H -o name -t all") == "ldompool\n", "-R takes the clones too"


def test_rollback(world):
    ok(world, "zfs create -s -V 8G ldompool/v; zfs snapshot ldompool/v@1")
    world.pool.datasets["ldompool/v"].referenced = 3 * G  # the guest wrote 3G
    ok(world, "zfs snapshot ldompool/v@2; zfs snapshot ldompool/v@3")
    assert refused(world, "zfs rollback ldompool/v@1") == (
        "cannot rollback to 'ldompool/v@1': more recent snapshots exist\n"
        "use '-r' to force deletion of the following snapshots:\nldompool/v@2\nldompool/v@3\n")
    ok(world, "zfs clone ldompool/v@3 ldompool/c")
    assert refused(world, "zfs rollback -r ldompool/v@1") == (
        "cannot rollback to 'ldompool/v@1': clones of previous snapshots exist\n"
        "use '-R' to force deletion of the following clones and dependents:\nldompool/c\n")
    assert ok(world, "zfs rollback ldompool/v@3") == "", "the latest snapshot needs no -r"
    ok(world, "zfs rollback -R ldompool/v@1")
    assert ok(world, "zfs list -H -p -o name,referenced -t all -r ldompool/v") == "ldompool/v\t0\nldompool/v@1\t0\n"
    assert "ldompool/c" not in ok(world, "zfs list -H -o name")


def test_rollback_of_a_volume_a_bound_domain_uses_is_refused(world):
    ok(world, "zfs create -V 8G ldompool/g-boot; zfs snapshot ldompool/g-boot@s;"
              " ldm add-vdsdev /dev/zvol/dsk/ldompool/g-boot g-boot@primary-vds0;"
              " ldm add-domain g; ldm set-vcpu 1 g; ldm set-mem 1G g; ldm add-vdisk vdisk0 g-boot@primary-vds0 g")
    assert ok(world, "zfs rollback ldompool/g-boot@s") == "", "an inactive domain holds nothing open"
    ok(world, "ldm bind g")
    assert refused(world, "zfs rollback ldompool/g-boot@s") == "cannot rollback 'ldompool/g-boot': dataset is busy\n"
    ok(world, "ldm unbind g; zfs rollback ldompool/g-boot@s")


@pytest.mark.parametrize(("line", "message", "status"), [
    ("zfs create -V", "missing size argument\nusage:\n{create}", 2),
    ("zfs create -V 1G", "missing volume argument\nusage:\n{create}", 2),
    ("zfs create", "missing filesystem argument\nusage:\n{create}", 2),
    ("zfs create -V 1G ldompool/a ldompool/b", "too many arguments\nusage:\n{create}", 2),
    ("zfs snapshot", "missing snapshot argument\nusage:\n\tsnapshot [-r] [-o property=value] ... "
                     "<filesystem@snapname|volume@snapname>", 2),
    ("zfs clone ldompool/x@s", "missing target dataset argument\nusage:\n\tclone [-p] [-K] [-o property=value] ... "
                               "<snapshot> <filesystem|volume>", 2),
    ("zfs rollback", "missing dataset argument\nusage:\n\trollback [-rRf] <snapshot>", 2),
    ("zfs rollback -x ldompool/v@s", "invalid option 'x'\nusage:\n\trollback [-rRf] <snapshot>", 2),
    ("zfs rollback ldompool/nope@s", "cannot open 'ldompool/nope@s': dataset does not exist", 1),
    ("zfs rollback ldompool", "cannot open 'ldompool': operation not applicable to datasets of this type", 1),
    ("zfs destroy", "missing path argument\nusage:\n\tdestroy [-rRf] <filesystem|volume>\n\tdestroy [-rRd] <snapshot>",
     2),
    ("zfs get", "missing property argument\nusage:\n{get}", 2),
    ("zfs get -o value,colour volsize", "invalid field 'colour'\nusage:\n{get}", 2),
    ("zfs get volsize ldompool/nope", "cannot open 'ldompool/nope': dataset does not exist", 1),
    ("zfs create -V 1G ldompool/nope/v", "cannot create 'ldompool/nope/v': parent does not exist", 1),
])
def test_refusals(world, line, message, status):
    synopses = {"create": "\tcreate [-p] [-o property=value] ... <filesystem>\n"
                          "\tcreate [-ps] [-b blocksize] [-o property=value] ... -V <size> <volume>",
                "get": "\tget [-rHp] [-d max] [-o \"all\" | field[,...]] [-s source[,...]]\n"
                       "\t    <\"all\" | property[,...]> [filesystem|volume|snapshot] ..."}
    assert refused(world, line, status) == message.format(**synopses) + "\n"


def test_an_empty_human_listing_says_so(world):
    assert ok(world, "zfs list -t snapshot") == "no datasets available\n"
    assert ok(world, "zfs list -H -t snapshot") == ""


def test_a_filesystem_can_be_created_too(world):
    ok(world, "zfs create ldompool/iso")
    assert ok(world, "zfs list -H -o name,mountpoint -t filesystem") == "ldompool\t/ldompool\nldompool/iso\t/ldompool/iso\n"
