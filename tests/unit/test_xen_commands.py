"""Xen's pure command layer: name rules, every argv hvdeck sends to a dom0, and the generated config file."""

from __future__ import annotations

import ast
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hvdeck.backends.errors import ValidationError
from hvdeck.backends.xen import commands
from hvdeck.backends.xen.commands import GuestConfig, Toolstack, XenDisk, XenVif

XL, XM = Toolstack.XL, Toolstack.XM
HOSTILE = ["[/]", "[bold]x", "[@click=app.quit]x", "\x1b]52;c;Zm9v\x07", "\x9b31m", "日本語", "💥", "e\u0301"]


# --- names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["web01", "Domain-0", "BB - backup2", "a:b+c.d_e", "x--migratedaway", "web 42",
                                  "[/]", "[bold]x", "日本語", "💥", "e\u0301", "0x10", "1a"])
def test_xl_accepts_any_name_that_is_not_an_option_or_an_id(name):
    assert commands.validate_name(name) == name
    assert commands.pause(XL, name) == ("xl", "pause", name)


@pytest.mark.parametrize(("name", "message"), [
    ("", "empty"), ("-h", "must not start with '-'"), ("--help", "must not start with '-'"),
    ("123", "would be read as a domain id"), ("0", "would be read as a domain id"),
    ("a\nb", "control characters"), ("\x1b]52;c;Zm9v\x07", "control characters"), ("\x9b31m", "control characters"),
    ("tab\there", "control characters"), ("nul\x00", "control characters"),
])
def test_names_that_would_read_as_something_else_are_refused(name, message):
    with pytest.raises(ValidationError, match=message):
        commands.validate_name(name)
    with pytest.raises(ValidationError):
        commands.destroy(XM, name)


@pytest.mark.parametrize("name", ["BB - backup2", "[/]", "日本語", "a/b", "a=b"])
def test_xm_applies_xends_name_rule(name):
    assert commands.validate_name(name, XL) == name
    with pytest.raises(ValidationError, match=re.escape("xend accepts letters, digits and '_-.:+' only")):
        commands.validate_name(name, XM)


@pytest.mark.parametrize(("name", "message"), [
    ("Domain-0", "control domain"), ("web--migratedaway", "--migratedaway"), ("web 1", "xl and xend both accept"),
    ("-web", "must not start"), ("42", "domain id"), ("web/1", "xl and xend both accept"),
])
def test_new_names_follow_every_toolstack(name, message):
    with pytest.raises(ValidationError, match=message):
        commands.validate_new_name(name)


@pytest.mark.parametrize("name", ["web01", "sol1", "a.b:c+d_e-f", "W"])
def test_good_new_names(name):
    assert commands.validate_new_name(name) == name
    assert commands.config_path(name) == f"/etc/xen/{name}.cfg"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20) | st.sampled_from(HOSTILE))
def test_an_accepted_name_is_never_an_option_a_domid_or_a_control_sequence(name):
    for toolstack in Toolstack:
        try:
            commands.validate_name(name, toolstack)
        except ValidationError:
            continue
        assert name and not name.startswith("-") and not re.fullmatch("[0-9]+", name)
        assert not re.search(r"[\x00-\x1f\x7f-\x9f]", name)


# --- read-only commands -----------------------------------------------------------------------------------


def test_read_only_argv():
    assert commands.info(XL) == ("xl", "info") and commands.info(XM) == ("xm", "info")
    assert commands.list_domains(XL) == ("xl", "list")
    assert commands.list_domains(XL, uuids=True) == ("xl", "list", "-v")
    assert commands.list_domains(XM, uuids=True) == ("xm", "list")  # xm has no UUID column
    assert commands.list_long() == ("xl", "list", "-l")
    assert commands.list_long("web01") == ("xl", "list", "-l", "web01")
    assert commands.block_list(XL, "web01") == ("xl", "block-list", "web01")
    assert commands.network_list(XM, "sol1") == ("xm", "network-list", "sol1")
    assert commands.vcpu_list(XL) == ("xl", "vcpu-list")
    assert commands.vcpu_list(XM, "sol1") == ("xm", "vcpu-list", "sol1")
    assert commands.sched_credit(XL) == ("xl", "sched-credit")
    assert commands.sched_credit(XM, "sol1") == ("xm", "sched-credit", "-d", "sol1")
    assert commands.virsh_list() == ("virsh", "list", "--all")
    assert commands.virsh_dominfo("sol1") == ("virsh", "dominfo", "sol1")
    assert commands.vdiskadm_list("/export/vdisks/vhd_sp") == ("vdiskadm", "list", "/export/vdisks/vhd_sp")


def test_xentop_argv():
    assert commands.xentop() == ("xentop", "-b", "-d", "1")
    assert commands.xentop(5, iterations=2) == ("xentop", "-b", "-d", "5", "-i", "2")
    assert commands.xentop("2", full_names=True) == ("xentop", "-b", "-d", "2", "-f")
    for bad in (0, -1, "1.5", "x", True, 3601):
        with pytest.raises(ValidationError):
            commands.xentop(bad)
    with pytest.raises(ValidationError):
        commands.xentop(1, iterations=0)


# --- lifecycle --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("toolstack", list(Toolstack))
def test_lifecycle_argv(toolstack):
    ts = toolstack.value
    assert commands.create(toolstack, "/etc/xen/web01.cfg") == (ts, "create", "/etc/xen/web01.cfg")
    assert commands.shutdown(toolstack, "web01") == (ts, "shutdown", "web01")
    assert commands.reboot(toolstack, "web01") == (ts, "reboot", "web01")
    assert commands.destroy(toolstack, "web01") == (ts, "destroy", "web01")
    assert commands.pause(toolstack, "web01") == (ts, "pause", "web01")
    assert commands.unpause(toolstack, "web01") == (ts, "unpause", "web01")
    assert commands.console(toolstack, "web01") == (ts, "console", "web01")
    assert commands.save(toolstack, "web01", "/var/lib/xen/save/web01.chk") == (
        ts, "save", "web01", "/var/lib/xen/save/web01.chk")
    assert commands.restore(toolstack, "/var/lib/xen/save/web01.chk") == (ts, "restore", "/var/lib/xen/save/web01.chk")
    assert commands.vcpu_set(toolstack, "web01", 4) == (ts, "vcpu-set", "web01", "4")
    assert commands.mem_set(toolstack, "web01", 2048) == (ts, "mem-set", "web01", "2048m")


def test_config_is_written_from_stdin_then_created():
    assert commands.write_config("/etc/xen/web01.cfg") == ("tee", "/etc/xen/web01.cfg")
    for bad in ("web01.cfg", "-", "/dev/stdin'", "/etc/xen/a,b.cfg", "/etc/xen/", "/etc/xen/a\nb"):
        with pytest.raises(ValidationError):
            commands.write_config(bad)


def test_vcpu_and_memory_bounds():
    assert commands.vcpu_set(XL, "web01", "2", maximum=4)[-1] == "2"
    for bad in (0, 5, "x", "2.5"):
        with pytest.raises(ValidationError):
            commands.vcpu_set(XL, "web01", bad, maximum=4)
    for bad in (0, -1, "1g", "x"):
        with pytest.raises(ValidationError):
            commands.mem_set(XM, "sol1", bad)


def test_sched_credit_the_xvm_guides_example():
    # xvm.md: `xm sched-credit -d sol1 -w 500 -c100`
    assert commands.set_sched_credit(XM, "sol1", weight=500, cap=100) == (
        "xm", "sched-credit", "-d", "sol1", "-w", "500", "-c", "100")
    assert commands.set_sched_credit(XL, "web01", weight="512") == ("xl", "sched-credit", "-d", "web01", "-w", "512")
    assert commands.set_sched_credit(XL, "web01", cap=0) == ("xl", "sched-credit", "-d", "web01", "-c", "0")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "give a weight, a cap or both"),
    ({"weight": 0}, "weight 0 is outside 1-65535"),
    ({"weight": 65536}, "weight 65536 is outside 1-65535"),  # xvm.md says 65536; libxl and xend refuse it
    ({"weight": "heavy"}, "not a whole number"),
    ({"cap": -1}, "cap -1 is outside 0-65535"),
    ({"cap": "-1"}, "not a whole number"),
    ({"cap": 201, "vcpus": 2}, "cap 201 is outside 0-200"),
    ({"cap": 65536}, "cap 65536 is outside 0-65535"),
])
def test_sched_credit_bounds(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        commands.set_sched_credit(XL, "web01", **kwargs)


def test_sched_credit_bounds_accept_the_edges():
    assert commands.validate_weight(1) == 1 and commands.validate_weight(65535) == 65535
    assert commands.validate_cap(200, vcpus=2) == 200 and commands.validate_cap(0) == 0


def test_migrate_argv():
    assert commands.migrate(XL, "web01", "dom0-b") == ("xl", "migrate", "web01", "dom0-b")
    assert commands.migrate(XL, "web01", "root@10.0.0.2") == ("xl", "migrate", "web01", "root@10.0.0.2")
    assert commands.migrate(XM, "sol1", "fe80::1") == ("xm", "migrate", "-l", "sol1", "fe80::1")
    assert commands.virsh_migrate("sol1", "xvm-b") == ("virsh", "migrate", "--live", "sol1", "xen://",
                                                       "xenmigr://xvm-b")


@pytest.mark.parametrize("host", ["host;rm -rf /", "$(id)", "`id`", "-oProxyCommand=x", "a b", "", "h|x", "h>x",
                                  "h&", "-", "a'b", "x\ny", "user@@h", "@h"])
def test_migration_targets_that_would_reach_a_shell_are_refused(host):
    # xl runs `exec ssh HOST xl migrate-receive` through sh -c (tools/xl/xl_migrate.c)
    with pytest.raises(ValidationError, match="target host"):
        commands.migrate(XL, "web01", host)


@pytest.mark.parametrize(("mac", "ok"), [("00:16:3e:12:34:56", True), ("00:16:3E:AB:CD:EF", True),
                                         ("01:16:3e:12:34:56", False), ("00:16:3e:12:34", False),
                                         ("00-16-3e-12-34-56", False), ("zz:16:3e:12:34:56", False)])
def test_mac_rule(mac, ok):
    if ok:
        assert commands.validate_mac(mac) == mac.lower()
    else:
        with pytest.raises(ValidationError):
            commands.validate_mac(mac)


# --- the config file --------------------------------------------------------------------------------------

_XL_STRING = re.compile(r"'(?:[^'\\\n]|\\.)*'")  # tools/libs/util/libxlu_cfg_l.l


def _values(text: str) -> dict[str, object]:
    """Every KEY = VALUE line read back as Python (an xm config is Python), checking xl's string syntax too."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        assert sep and re.fullmatch(r"[a-z][._0-9a-z]*", key), line
        for literal in re.findall(r"'[^']*'", value):
            assert _XL_STRING.fullmatch(literal)
        values[key] = ast.literal_eval(value)
    return values


def test_pv_guest_with_pygrub_lvm_disk_and_bridge():
    text = commands.render_config(GuestConfig(
        name="web01", memory_mib=2048, vcpus=2, bootloader="pygrub",
        disks=(XenDisk("/dev/vg0/web01"), XenDisk("/srv/xen/web01-data.img", "xvdb", "file")),
        vifs=(XenVif("xenbr0", "00:16:3E:5F:48:E4"),)))
    assert text == ("name = 'web01'\nmemory = 2048\nvcpus = 2\nbootloader = 'pygrub'\n"
                    "disk = [ 'phy:/dev/vg0/web01,xvda,w', 'file:/srv/xen/web01-data.img,xvdb,w' ]\n"
                    "vif = [ 'bridge=xenbr0,mac=00:16:3e:5f:48:e4' ]\n")
    assert _values(text) == {"name": "web01", "memory": 2048, "vcpus": 2, "bootloader": "pygrub",
                             "disk": ["phy:/dev/vg0/web01,xvda,w", "file:/srv/xen/web01-data.img,xvdb,w"],
                             "vif": ["bridge=xenbr0,mac=00:16:3e:5f:48:e4"]}


def test_pv_guest_with_a_kernel_and_hvm_guest():
    text = commands.render_config(GuestConfig(
        name="sol1", memory_mib=1024, vcpus=1, maxmem_mib=2048, maxvcpus=4, kernel="/boot/vmlinuz-xen",
        ramdisk="/boot/initrd-xen", extra="console=hvc0 root=/dev/xvda1 ro",
        disks=(XenDisk("/dev/zvol/dsk/rpool/sol1", "xvda", "phy", "w"),), vifs=(XenVif("e1000g0"),),
        uuid="6A9F3B1E-52C4-4D2A-9C1E-0F8E7D6C5B4A"))
    assert _values(text) == {"name": "sol1", "uuid": "6a9f3b1e-52c4-4d2a-9c1e-0f8e7d6c5b4a", "memory": 1024,
                             "maxmem": 2048, "vcpus": 1, "maxvcpus": 4, "kernel": "/boot/vmlinuz-xen",
                             "ramdisk": "/boot/initrd-xen", "extra": "console=hvc0 root=/dev/xvda1 ro",
                             "disk": ["phy:/dev/zvol/dsk/rpool/sol1,xvda,w"], "vif": ["bridge=e1000g0"]}
    hvm = commands.render_config(GuestConfig(name="win01", memory_mib=4096, vcpus=2, hvm=True,
                                             disks=(XenDisk("/dev/vg0/win01", "hda"),
                                                    XenDisk("/srv/iso/win.iso", "hdc", "file", "r"))))
    assert _values(hvm) == {"name": "win01", "memory": 4096, "vcpus": 2, "builder": "hvm",
                            "disk": ["phy:/dev/vg0/win01,hda,w", "file:/srv/iso/win.iso,hdc,r"]}


@pytest.mark.parametrize(("config", "message"), [
    (GuestConfig("web01", 1024, 1), "needs a bootloader"),
    (GuestConfig("web 01", 1024, 1, bootloader="pygrub"), "so that xl and xend both accept it"),
    (GuestConfig("web01", 0, 1, bootloader="pygrub"), "memory"),
    (GuestConfig("web01", 1024, 0, bootloader="pygrub"), "vCPU count"),
    (GuestConfig("web01", 1024, 2, maxvcpus=1, bootloader="pygrub"), "maxvcpus 1 is outside"),
    (GuestConfig("web01", 1024, 1, maxmem_mib=512, bootloader="pygrub"), "maxmem"),
    (GuestConfig("web01", 1024, 1, hvm=True, bootloader="pygrub"), "HVM guest boots from its disks"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", kernel="/boot/k"), "not both"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", extra="quiet"), "needs a kernel"),
    (GuestConfig("web01", 1024, 1, kernel="/boot/k", extra="a'b"), "kernel command line"),
    (GuestConfig("web01", 1024, 1, kernel="boot/k"), "absolute path"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub'; x='"), "bootloader"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", disks=(XenDisk("/dev/vg0/a,b"),)), "',' ':'"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", disks=(XenDisk("/dev/vg0/a:b"),)), "',' ':'"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", disks=(XenDisk("/x", "vda"),)), "virtual device"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", disks=(XenDisk("/x", kind="nbd"),)), "disk kind"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", disks=(XenDisk("/x", access="rw"),)), "disk access"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", disks=(XenDisk("/x"), XenDisk("/y"))), "same virtual device"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", vifs=(XenVif("br0,script=/tmp/x"),)), "bridge"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", vifs=(XenVif("br0", "01:00:5e:00:00:01"),)), "multicast"),
    (GuestConfig("web01", 1024, 1, bootloader="pygrub", uuid="nope"), "not a UUID"),
])
def test_config_errors(config, message):
    with pytest.raises(ValidationError, match=message):
        commands.render_config(config)
