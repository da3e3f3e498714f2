"""Domain config files (cfg.py) and the storage reports (storage.py): the replay fixtures, what
commands.render_config writes, what the simulated dom0s hold and print, and garbage."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hvdeck.backends.errors import ParseError
from hvdeck.backends.sim.xen import XenWorld
from hvdeck.backends.sim.xen.config import guest_config, parse_config_text
from hvdeck.backends.xen import cfg, commands, storage
from hvdeck.backends.xen.commands import GuestConfig, XenDisk, XenVif

CAT = Path(__file__).resolve().parent.parent / "fixtures" / "xen" / "replay" / "data" / "cat"


def test_the_replayed_config_files():
    web = cfg.parse_config((CAT / "%etc%xen%web01.cfg.out").read_text(), "/etc/xen/web01.cfg")
    assert (web.name, web.memory_mib, web.maxmem_mib, web.vcpus, web.maxvcpus, web.hvm, web.bootloader) == (
        "web01", 2048, 4096, 2, 4, False, "pygrub")
    assert [(d.target, d.vdev, d.writable, d.prefix, d.format, d.cdrom) for d in web.disks] == [
        ("/dev/vg0/web01", "xvda", True, "phy", None, False),
        ("/srv/xen/web01-data.qcow2", "xvdb", True, "", "qcow2", False),
        ("/srv/iso/debian-12.iso", "xvdc", False, "", "raw", True)]
    assert [(v.mac, v.bridge) for v in web.vifs] == [("00:16:3e:5f:48:e4", "xenbr0")]
    db = cfg.parse_config((CAT / "%etc%xen%db01.cfg.out").read_text(), "/etc/xen/db01.cfg")
    assert (db.name, db.hvm, db.memory_mib, db.disks[0].vdev, db.vifs[0].bridge) == ("db01", True, 8192, "hda", "xenbr1")
    bindings = web.bindings("x1")
    assert bindings.memory.current_bytes == 2048 << 20 and bindings.memory.max_bytes == 4096 << 20
    assert [(d.target, d.source, d.device, d.read_only) for d in bindings.disks] == [
        ("xvda", "/dev/vg0/web01", "disk", False), ("xvdb", "/srv/xen/web01-data.qcow2", "disk", False),
        ("xvdc", "/srv/iso/debian-12.iso", "cdrom", True)]
    assert bindings.cpu.vcpus == 2 and bindings.cpu.max_vcpus == 4
    assert bindings.extra[0].rows[0] == ("config", "/etc/xen/web01.cfg")


def test_what_render_config_writes_reads_back():
    config = GuestConfig(name="new01", memory_mib=1536, vcpus=2, maxvcpus=4, maxmem_mib=2048,
                         disks=(XenDisk("/dev/vg0/new01-disk"), XenDisk("/srv/iso/x.iso", "xvdb", "file", "r")),
                         vifs=(XenVif("xenbr1", "00:16:3e:01:02:03"),), kernel="/boot/vmlinuz", ramdisk="/boot/initrd",
                         extra="console=hvc0 root=/dev/xvda1", uuid="6695eb01-f6a4-8304-79aa-97f2502e193f")
    facts = cfg.parse_config(commands.render_config(config), "/etc/xen/new01.cfg")
    assert (facts.name, facts.memory_mib, facts.vcpus, facts.maxvcpus, facts.maxmem_mib, facts.kernel, facts.ramdisk,
            facts.extra, facts.uuid) == ("new01", 1536, 2, 4, 2048, "/boot/vmlinuz", "/boot/initrd",
                                         "console=hvc0 root=/dev/xvda1", "6695eb01-f6a4-8304-79aa-97f2502e193f")
    assert [(d.target, d.vdev, d.writable, d.prefix) for d in facts.disks] == [
        ("/dev/vg0/new01-disk", "xvda", True, "phy"), ("/srv/iso/x.iso", "xvdb", False, "file")]
    assert [(v.mac, v.bridge) for v in facts.vifs] == [("00:16:3e:01:02:03", "xenbr1")]


@pytest.mark.parametrize("toolstack", ["xl", "xm"])
def test_every_config_file_of_the_simulated_dom0s(toolstack):
    world = XenWorld.demo("h", toolstack, 1)
    configs = {path: text for path, text in world.files.items() if path.startswith("/etc/xen/")}
    assert configs
    for path, text in configs.items():  # hvdeck's reading against the simulator's own (libxlu's grammar)
        facts = cfg.parse_config(text, path)
        theirs = guest_config(parse_config_text(text, path), random.Random(0), text=text)
        assert (facts.name, facts.memory_mib, facts.vcpus, facts.hvm) == (theirs.name, theirs.memory_mib, theirs.vcpus,
                                                                          theirs.hvm)
        assert [(d.target, d.vdev, d.writable) for d in facts.disks] == [
            (d.target, d.vdev, d.readwrite) for d in theirs.disks]
        assert [(v.mac, v.bridge) for v in facts.vifs] == [(v.mac, v.bridge) for v in theirs.vifs]


@pytest.mark.parametrize(("text", "line"), [
    ("name = 'x'\nmemory = = 4\n", 2),
    ("import os\n", 1),
    ("name = 'x'\ndisk = [ 'phy:/dev/a,xvda,w'\nvif = 3 ]\n", 3),
    ("name = 'x'\n\nmemory = 512 512\n", 3),
    ("name = 'unterminated\n", 1),
])
def test_what_is_not_a_config_names_its_line(text, line):
    with pytest.raises(ParseError) as error:
        cfg.parse_config(text, "/etc/xen/x.cfg")
    assert error.value.line_no == line


def test_plus_equals_comments_and_semicolons():
    values = cfg.parse_values("# c\nname = 'a' ; memory = 0x200 # hex\nextra = 'x'\nextra += ' y'\n"
                              "disk = [ 'a,xvda', ]\ndisk += [ 'b,xvdb' ]\n")
    assert values == {"name": "a", "memory": "0x200", "extra": "x y", "disk": ["a,xvda", "b,xvdb"]}
    assert cfg.parse_config("name='a'\nmemory=0x200\n", "p").memory_mib == 512
    with pytest.raises(ParseError):
        cfg.parse_disk("/dev/vg0/x")  # no virtual device


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_the_config_parser_is_total(text):
    try:
        facts = cfg.parse_config(text, "/etc/xen/fuzz.cfg")
    except ParseError:
        return
    assert facts.path == "/etc/xen/fuzz.cfg"


# --- storage reports ---------------------------------------------------------------------------------------


def test_lvm_reports_as_the_simulator_prints_them():
    world = XenWorld.demo("h", "xl", 1)
    vgs = storage.parse_vgs(world.run(list(commands.vgs())).stdout)
    assert {vg.name: (vg.size, vg.free) for vg in vgs} == {
        name: (vg.size, vg.free) for name, vg in world.lvm.vgs.items()}
    lvs = storage.parse_lvs(world.run(list(commands.lvs())).stdout)
    expected = {(lv.vg, lv.name): (lv.size, lv.origin) for vg in world.lvm.vgs.values() for lv in vg.lvs.values()}
    assert {(lv.vg, lv.name): (lv.size, lv.origin) for lv in lvs} == expected
    snapshot = next(lv for lv in lvs if lv.origin is not None)
    assert snapshot.name == "web02-disk" and snapshot.snap_percent is not None and 0 <= snapshot.snap_percent <= 100
    assert all(lv.snap_percent is None for lv in lvs if lv.origin is None)
    one = storage.parse_lvs(world.run(list(commands.lvs("san0/web02-disk"))).stdout)
    assert [lv.path for lv in one] == ["/dev/san0/web02-disk"]


def test_zfs_list_as_the_xvm_simulator_prints_it():
    world = XenWorld.demo("h", "xvm", 1)
    datasets = storage.parse_zfs_list(world.run(list(commands.zfs_list())).stdout)
    pool = next(d for d in datasets if d.is_pool)
    assert pool.name == "rpool" and pool.avail is not None and pool.volsize is None
    volume = next(d for d in datasets if d.name == "rpool/ubuntu1-disk")
    assert volume.is_volume and volume.volsize == 10 << 30


@pytest.mark.parametrize(("parser", "text"), [
    (storage.parse_vgs, "  vg0|12\n"), (storage.parse_vgs, "  vg0|12G|4\n"),
    (storage.parse_lvs, "  vg0|a|1|b|lots\n"), (storage.parse_zfs_list, "rpool\t1\t2\n"),
    (storage.parse_zfs_list, "rpool\t1\t-2\t-\n"),
])
def test_storage_reports_refuse_garbage(parser, text):
    with pytest.raises(ParseError):
        parser(text)


def test_ls_names():
    assert storage.parse_ls("a.cfg\n\nb\nx/y\n") == ("a.cfg", "b")
