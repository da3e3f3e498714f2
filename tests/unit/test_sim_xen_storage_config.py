"""Guest storage on the simulated dom0 (LVM, copy-on-write snapshots) and the configuration-file reader."""

from __future__ import annotations

import random

import pytest

from hvdeck.backends.sim.xen import XenWorld
from hvdeck.backends.sim.xen.config import (
    ConfigSyntaxError,
    guest_config,
    parse_config_text,
    parse_disk,
    render_config,
    vdev_number,
)
from hvdeck.backends.sim.xen.model import CommandError, G, M
from hvdeck.backends.sim.xen.storage import Lvm, lvm_size, report_size


class Clock:
    def __init__(self, now: float = 4_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lvm() -> Lvm:
    lvm = Lvm(lambda path: path == "/dev/vg0/busy", lambda path, t0, t1: 0.0)
    lvm.add_vg("vg0", 100 * G)
    return lvm


def test_lvcreate_rounds_up_to_an_extent_and_reports_it(lvm):
    assert lvm.create("a", "vg0", 10 * M + 1, 0.0) == [
        "  Rounding up size to full physical extent 12.00 MiB\n", '  Logical volume "a" created.\n']
    assert lvm.vgs["vg0"].lvs["a"].size == 12 * M


def test_lvcreate_refusals(lvm):
    with pytest.raises(CommandError) as no_vg:
        lvm.create("a", "vgx", G, 0.0)
    assert (no_vg.value.stderr, no_vg.value.status) == (
        '  Volume group "vgx" not found\n  Cannot process volume group vgx\n', 5)
    with pytest.raises(CommandError) as full:
        lvm.create("huge", "vg0", 200 * G, 0.0)
    assert full.value.stderr == '  Volume group "vg0" has insufficient free space (25600 extents): 51200 required.\n'
    lvm.create("a", "vg0", G, 0.0)
    with pytest.raises(CommandError) as twice:
        lvm.create("a", "vg0", G, 0.0)
    assert twice.value.stderr == '  Logical Volume "a" already exists in volume group "vg0"\n'
    with pytest.raises(CommandError) as origin:
        lvm.create("s", "vg0", G, 0.0, origin="nosuch")
    assert origin.value.stderr == "  Snapshot origin LV nosuch not found in Volume group vg0.\n"


def test_lvremove_refuses_an_open_volume_and_takes_snapshots_with_their_origin(lvm):
    lvm.create("busy", "vg0", G, 0.0)
    with pytest.raises(CommandError) as busy:
        lvm.remove("vg0/busy")
    assert busy.value.stderr == "  Logical volume vg0/busy in use.\n"
    lvm.create("gold", "vg0", G, 0.0)
    lvm.create("clone1", "vg0", G // 2, 0.0, origin="gold")
    assert lvm.remove("vg0/gold") == ['  Logical volume "clone1" successfully removed.\n',
                                      '  Logical volume "gold" successfully removed.\n']
    assert set(lvm.vgs["vg0"].lvs) == {"busy"}


@pytest.mark.parametrize("text,size", [("20G", 20 * G), ("512", 512 * M), ("512m", 512 * M), ("1t", 1024 * G),
                                       ("0.5g", G // 2)])
def test_lvm_sizes(text, size):
    assert lvm_size(text) == size


@pytest.mark.parametrize("size,units,suffix,text", [
    (4 * M, "h", True, "4.00m"), (20 * G, "h", True, "20.00g"), (1862 * G, "h", True, "<1.82t"),
    (4 * M, "b", False, "4194304"), (4 * M, "b", True, "4194304B"), (3 * G, "m", True, "3072.00m")])
def test_report_sizes(size, units, suffix, text):
    assert report_size(size, units, suffix) == text


def test_a_snapshot_fills_as_its_origin_is_written():
    clock = Clock()
    world = XenWorld.demo("xen-a", "xl", 1, clock=clock)

    def percent(name: str) -> float:
        out = world.run(["lvs", "--noheadings", "-o", "lv_name,snap_percent", f"san0/{name}"]).stdout
        return float(out.split()[1])

    before = percent("web02-disk")
    assert 0 < before < 100
    world.run(["lvcreate", "-s", "-L", "1G", "-n", "web02-snap", "san0/web02-disk"])
    assert percent("web02-snap") == 0.0
    clock.now += 3600
    world.settle()
    assert percent("web02-disk") > before and percent("web02-snap") > 0.0
    world.run(["xl", "pause", "web02"])
    world.settle()
    paused = percent("web02-snap")
    clock.now += 3600
    world.settle()
    assert percent("web02-snap") == paused  # nothing writes to a paused guest's disk


def test_lvs_and_vgs_options():
    world = XenWorld.demo("xen-a", "xl", 1, clock=Clock())
    out = world.run(["lvs", "--noheadings", "-o", "lv_name,vg_name,lv_size,origin,snap_percent", "--units", "b",
                     "--nosuffix"]).stdout
    rows = [line.split() for line in out.splitlines()]
    assert ["web02-disk", "san0", str(4 * G), "golden-debian12"] == rows[3][:4]
    assert all(line.startswith("  ") for line in out.splitlines())
    free_before = int(world.run(["vgs", "--noheadings", "-o", "vg_free", "--units", "b", "--nosuffix", "vg0"]).stdout)
    world.run(["lvcreate", "-L", "10G", "-n", "x", "vg0"])
    free_after = int(world.run(["vgs", "--noheadings", "-o", "vg_free", "--units", "b", "--nosuffix", "vg0"]).stdout)
    assert free_before - free_after == 10 * G
    bad = world.run(["lvs", "-o", "lv_name,colour"])
    assert (bad.exit_status, bad.stderr) == (3, "  Unrecognised field: colour\n")
    prompt = world.run(["lvremove", "vg0/x"])  # no -f and nothing on stdin: not removed
    assert "Do you really want to remove active logical volume vg0/x? [y/n]: " in prompt.stdout
    assert world.run(["lvremove", "-f", "vg0/x"]).stdout == '  Logical volume "x" successfully removed.\n'


# -- configuration files ------------------------------------------------------------------------------------


def test_the_grammar_lists_strings_numbers_and_plus_equals():
    config = parse_config_text("# a guest\nname = \"web\" ; memory=0x200\ndisk = [ 'a',\n  'b', ]\n"
                               "disk += [ 'c' ]\nextra = 'x\\'y'\n", "t.cfg")
    assert config.string("name") == "web" and config.number("memory") == 512
    assert config.items("disk") == ["a", "b", "c"] and config.string("extra") == "x'y"


@pytest.mark.parametrize("text,messages", [
    ("name web\n", ["t.cfg:1: config parsing error near `web': syntax error, unexpected IDENT, expecting '=' or "
                    "\"+=\""]),
    ("name =\nmemory = 1\n", ["t.cfg:0: config parsing error near <newline>: syntax error, unexpected NEWLINE, "
                              "expecting STRING or NUMBER or '['"]),
    ("memory = 1 2\n", ["t.cfg:1: config parsing error near `2': syntax error, unexpected NUMBER, expecting $end or "
                        "NEWLINE or ';'"]),
    ("Name = 'x'\n", ["t.cfg:1: config parsing error near `Name': lexical error"]),
])
def test_syntax_errors_are_libxlutils(text, messages):
    with pytest.raises(ConfigSyntaxError) as error:
        parse_config_text(text, "t.cfg")
    assert error.value.messages == messages


def test_python_looking_configs_get_the_warning():
    with pytest.raises(ConfigSyntaxError) as error:
        parse_config_text("name = 'x'\nvcpus = int(2)\n", "t.cfg")
    assert error.value.messages[-1].startswith("warning: Config file looks like it contains Python code.")


@pytest.mark.parametrize("spec,target,vdev,access,prefix", [
    ("phy:/dev/vg0/web,xvda,w", "/dev/vg0/web", "xvda", "w", "phy"),
    ("file:/var/lib/xen/images/a.img,xvdb,r", "/var/lib/xen/images/a.img", "xvdb", "r", "file"),
    ("tap:aio:/srv/a.img,xvda,w", "/srv/a.img", "xvda", "w", "tap:aio"),
    ("/dev/vg/guest-volume,raw,hda,rw", "/dev/vg/guest-volume", "hda", "w", ""),
    ("format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume", "/dev/vg/guest-volume", "hda", "w", ""),
    ("/root/image.iso,,hdc,cdrom", "/root/image.iso", "hdc", "r", ""),
])
def test_disk_specifications(spec, target, vdev, access, prefix):
    disk = parse_disk(spec, "t.cfg")
    assert (disk.target, disk.vdev, disk.access, disk.prefix) == (target, vdev, access, prefix)


def test_disk_specification_errors():
    with pytest.raises(CommandError) as error:
        parse_disk("/dev/vg/x,qcow9,xvda", "t.cfg")
    assert error.value.stderr == ("t.cfg: config parsing error in disk specification: unknown value for format: "
                                  "near `qcow9' in `/dev/vg/x,qcow9,xvda'\n")


@pytest.mark.parametrize("vdev,number", [("xvda", 51712), ("xvdb", 51728), ("xvdp", 51952),
                                         ("xvdq", (1 << 28) | (16 << 8)),
                                         ("hda", 768), ("hdb", 832), ("hdc", 5632), ("sda", 2048), ("xvda1", 51713)])
def test_vdev_numbers_are_libxls(vdev, number):
    assert vdev_number(vdev) == number


def test_a_rendered_config_reads_back_the_same():
    text = ("name = 'db'\nmemory = 4096\nmaxmem = 8192\nvcpus = 2\nmaxvcpus = 4\ncpu_weight = 512\ncap = 50\n"
            "disk = [ 'phy:/dev/vg0/db,xvda,w' ]\nvif = [ 'mac=00:16:3e:01:02:03,bridge=xenbr1' ]\n"
            "on_crash = 'preserve'\n")
    config = guest_config(parse_config_text(text, "t.cfg"), random.Random(1))
    again = guest_config(parse_config_text(render_config(config), "t.cfg"), random.Random(1))
    for key in ("name", "memory_mib", "maxmem_mib", "vcpus", "maxvcpus", "cpu_weight", "cap", "on_crash"):
        assert getattr(again, key) == getattr(config, key)
    assert again.disks[0].target == "/dev/vg0/db" and again.vifs[0].mac == "00:16:3e:01:02:03"
    assert again.vifs[0].bridge == "xenbr1"
