"""Xen plans (plans.py): the exact commands of every lifecycle action, Xen-only action and wizard, their undo
steps, the checks, and what is refused before any plan exists."""

from __future__ import annotations

import random

import pytest

from hvdeck.backends.base import Action
from hvdeck.backends.errors import ValidationError
from hvdeck.backends.model import Domain, DomainState
from hvdeck.backends.options import FormErrors
from hvdeck.backends.xen import cfg, plans, states
from hvdeck.backends.xen.commands import Toolstack
from hvdeck.backends.xen.storage import LogicalVolume, VolumeGroup

XL = plans.Dom0("xen-a", Toolstack.XL)
XM = plans.Dom0("xm-a", Toolstack.XM)
XVM = plans.Dom0("xvm-a", Toolstack.XM, xvm=True)
G = 1 << 30
M = 1 << 20


def running(name: str = "web01", letters: str = "--b---", id: int | None = 3) -> Domain:
    return Domain(host="xen-a", name=name, state=DomainState.RUNNING, native_state=letters, id=id, vcpus=2,
                  memory_bytes=2 * G, max_memory_bytes=4 * G, extra=(("letters", states.XENTOP),))


def stopped(name: str, native: str, handle: str | None = None, extra: tuple = ()) -> Domain:
    return Domain(host="xen-a", name=name, state=DomainState.STOPPED, native_state=native, handle=handle, extra=extra)


def argv(plan, index: int = 0) -> tuple[str, ...]:
    return plan.steps[index].operation.argv


def undo(plan, index: int = 0) -> tuple[str, ...] | None:
    step = plan.steps[index]
    return step.undo.argv if step.undo is not None else None


@pytest.mark.parametrize(("dom0", "tool"), [(XL, "xl"), (XM, "xm"), (XVM, "xm")])
def test_lifecycle_commands(dom0, tool):
    web = running()
    assert argv(plans.lifecycle_plan(dom0, Action.SHUTDOWN, web)) == (tool, "shutdown", "web01")
    assert argv(plans.lifecycle_plan(dom0, Action.REBOOT, web)) == (tool, "reboot", "web01")
    pause = plans.lifecycle_plan(dom0, Action.PAUSE, web)
    assert (argv(pause), undo(pause)) == ((tool, "pause", "web01"), (tool, "unpause", "web01"))
    off = plans.lifecycle_plan(dom0, Action.FORCE_OFF, web)
    assert argv(off) == (tool, "destroy", "web01") and off.confirm_phrase == "web01" and "power cord" in \
        off.steps[0].description
    start = plans.lifecycle_plan(dom0, Action.START, stopped("backup01", "config", "/etc/xen/backup01.cfg"))
    assert (argv(start), undo(start)) == ((tool, "create", "/etc/xen/backup01.cfg"), (tool, "destroy", "backup01"))
    restore = plans.lifecycle_plan(dom0, Action.START, stopped("old01", "saved", "/var/lib/xen/save/old01.save"))
    assert argv(restore) == (tool, "restore", "/var/lib/xen/save/old01.save")


def test_a_managed_domain_starts_with_xm_start_only_under_xend():
    dev = stopped("dev01", "------", extra=(("managed", "xend"),))
    assert plans.startable(dev) and not plans.startable(stopped("x", "config"))
    assert argv(plans.lifecycle_plan(XM, Action.START, dev)) == ("xm", "start", "dev01")
    with pytest.raises(ValidationError):
        plans.lifecycle_plan(XL, Action.START, dev)
    with pytest.raises(ValidationError):
        plans.lifecycle_plan(XL, Action.START, stopped("x", "config"))  # no handle: nothing to start from


def test_a_name_that_would_read_as_an_option_never_reaches_a_plan():
    with pytest.raises(ValidationError):
        plans.lifecycle_plan(XL, Action.PAUSE, running("-h"))
    with pytest.raises(ValidationError):
        plans.lifecycle_plan(XM, Action.PAUSE, running("bad name"))  # xend's rule


def test_sched_credit_bounds_are_the_toolstacks():
    web = running()
    plan = plans.extra_plan(XL, plans.SCHED_CREDIT, web, {"weight": "500", "cap": "100"}, max_vcpus=4)
    assert argv(plan) == ("xl", "sched-credit", "-d", "web01", "-w", "500", "-c", "100")
    assert argv(plans.extra_plan(XM, plans.SCHED_CREDIT, web, {"weight": "65535", "cap": ""})) == (
        "xm", "sched-credit", "-d", "web01", "-w", "65535")
    for values in ({"weight": "65536"}, {"weight": "0"}, {"cap": "401"}, {"weight": "", "cap": ""}, {"cap": "-1"}):
        with pytest.raises(ValidationError):
            plans.extra_plan(XL, plans.SCHED_CREDIT, web, values, max_vcpus=4)


def test_vcpu_set_mem_set_save_restore():
    web = running()
    plan = plans.extra_plan(XL, plans.VCPU_SET, web, {"count": "4"}, max_vcpus=4)
    assert (argv(plan), undo(plan)) == (("xl", "vcpu-set", "web01", "4"), ("xl", "vcpu-set", "web01", "2"))
    with pytest.raises(ValidationError):
        plans.extra_plan(XL, plans.VCPU_SET, web, {"count": "5"}, max_vcpus=4)
    mem = plans.extra_plan(XL, plans.MEM_SET, web, {"size": "3G"})
    assert (argv(mem), undo(mem)) == (("xl", "mem-set", "web01", "3072m"), ("xl", "mem-set", "web01", "2048m"))
    assert argv(plans.extra_plan(XL, plans.MEM_SET, web, {"size": "1536"})) == ("xl", "mem-set", "web01", "1536m")
    with pytest.raises(ValidationError, match="maximum"):
        plans.extra_plan(XL, plans.MEM_SET, web, {"size": "5G"})
    save = plans.extra_plan(XL, plans.SAVE, web, {"path": ""})
    assert (argv(save), undo(save)) == (("xl", "save", "web01", "/var/lib/xen/save/web01.save"),
                                        ("xl", "restore", "/var/lib/xen/save/web01.save"))
    restore = plans.extra_plan(XM, plans.RESTORE, stopped("old01", "saved", "/srv/old01.chk"), {"path": ""})
    assert argv(restore) == ("xm", "restore", "/srv/old01.chk")
    with pytest.raises(ValidationError):
        plans.extra_plan(XL, plans.SAVE, web, {"path": "relative/file"})


def test_xen_only_actions_by_state():
    web, paused, crashed = running(), running(letters="----p-"), running(letters="---c--")
    dom0 = running("Domain-0", "-----r", id=None)
    config = stopped("backup01", "config", "/etc/xen/backup01.cfg")
    assert plans.why_not_extra(XL, plans.SAVE, web) is None and plans.why_not_extra(XL, plans.SAVE, paused) is None
    assert "crashed" in plans.why_not_extra(XL, plans.SAVE, crashed)
    assert "not running" in plans.why_not_extra(XL, plans.VCPU_SET, config)
    assert plans.why_not_extra(XL, plans.RESTORE, config) is None
    assert plans.why_not_extra(XL, plans.RESTORE, web) is not None
    assert plans.why_not_extra(XL, plans.SCHED_CREDIT, dom0) is None  # dom0's weight is an everyday change
    assert "control domain" in plans.why_not_extra(XL, plans.MEM_SET, dom0)
    assert "xl dom0s have no" in plans.why_not_extra(XL, plans.VDISK_ROLLBACK, config)
    assert plans.why_not_extra(XVM, plans.VDISK_ROLLBACK, stopped("sol2", "------")) is None
    rollback = plans.extra_plan(XVM, plans.VDISK_ROLLBACK, stopped("sol2", "------"),
                                {"vdisk": "/export/vdisks/sol2", "snapshot": "install"})
    assert argv(rollback) == ("vdiskadm", "rollback", "-r", "/export/vdisks/sol2@install")
    assert rollback.confirm_phrase == "sol2"


FACTS = plans.HostFacts(names=frozenset({"web01", "backup01"}), free_memory_bytes=40 * G,
                        vgs=(VolumeGroup("vg0", 100 * G, 50 * G),),
                        lvs=(LogicalVolume("vg0", "backup01-disk", 20 * G),), pools=(("rpool", 30 * G),))


def test_create_on_lvm_with_xl():
    form = plans.create_form(XL).with_choices({"storage": plans.storage_choices(XL, FACTS.vgs, FACTS.pools, ())})
    values = form.parse({"name": "new01", "memory": "2G", "vcpus": "2", "storage": "lvm:vg0", "disk_size": "10G",
                         "bridge": "xenbr1"})
    plan = plans.create_plan(XL, values, FACTS, rng=random.Random(7))
    assert [argv(plan, i) for i in range(3)] == [("lvcreate", "-L", "10240m", "-n", "new01-disk", "vg0"),
                                                 ("tee", "/etc/xen/new01.cfg"), ("xl", "create", "/etc/xen/new01.cfg")]
    assert [undo(plan, i) for i in range(3)] == [("lvremove", "-f", "vg0/new01-disk"), ("rm", "-f", "/etc/xen/new01.cfg"),
                                                 ("xl", "destroy", "new01")]
    text = plan.steps[1].input
    facts = cfg.parse_config(text, "/etc/xen/new01.cfg")
    assert (facts.name, facts.memory_mib, facts.vcpus, facts.bootloader) == ("new01", 2048, 2, "pygrub")
    assert [(d.target, d.vdev, d.prefix) for d in facts.disks] == [("/dev/vg0/new01-disk", "xvda", "phy")]
    assert facts.vifs[0].bridge == "xenbr1" and facts.vifs[0].mac.startswith("00:16:3e:") and facts.uuid
    assert all(c.passed for c in plan.checks)


def test_create_refuses_what_the_host_would():
    values = {"name": "web01", "memory": 64 * G, "vcpus": 1, "storage": "lvm:vg0", "disk_size": 60 * G,
              "image": None, "bridge": "xenbr0", "boot": "pygrub", "start": True}
    with pytest.raises(FormErrors) as errors:
        plans.create_plan(XL, values, FACTS)
    assert set(errors.value.errors) == {"name", "memory", "disk_size"}
    with pytest.raises(FormErrors) as errors:
        plans.create_plan(XL, {**values, "name": "backup01"[:6] + "x", "memory": G, "disk_size": G,
                               "storage": "lvm:nosuch"}, FACTS)
    assert set(errors.value.errors) == {"storage"}
    form = plans.create_form(XL)
    with pytest.raises(FormErrors) as errors:
        form.parse({"name": "n", "boot": "kernel"})
    assert set(errors.value.errors) == {"storage", "kernel"}
    with pytest.raises(FormErrors):
        form.parse({"name": "Domain-0", "storage": "lvm:vg0"})


def test_create_on_zvol_with_an_existing_image_and_hvm():
    base = {"name": "z1", "memory": G, "vcpus": 1, "disk_size": 8 * G, "image": None, "bridge": "xenbr0",
            "boot": "pygrub", "start": False}
    zvol = plans.create_plan(XL, {**base, "storage": "zfs:rpool"}, FACTS)
    assert argv(zvol) == ("zfs", "create", "-V", "8192M", "rpool/z1-disk") and len(zvol.steps) == 2
    assert "phy:/dev/zvol/rpool/z1-disk,xvda,w" in zvol.steps[1].input
    image = plans.create_plan(XM, {**base, "image": "/srv/golden.img", "boot": "hvm", "storage": None}, FACTS)
    assert [argv(image, i)[0] for i in range(len(image.steps))] == ["tee"]
    assert "file:/srv/golden.img,hda,w" in image.steps[0].input and "builder = 'hvm'" in image.steps[0].input


def test_create_on_xvm_with_virt_install():
    form = plans.create_form(XVM)
    values = form.with_choices({"storage": plans.storage_choices(XVM, (), FACTS.pools, ("/export/vdisks",))}).parse(
        {"name": "sol3", "memory": "1G", "storage": "vdisk:/export/vdisks", "disk_size": "8G",
         "source": "/export/iso/sol-nv-b111-x86-dvd.iso"})
    plan = plans.create_plan(XVM, values, FACTS)
    assert argv(plan) == ("vdiskadm", "create", "-s", "8g", "-t", "vmdk", "/export/vdisks/sol3")
    assert argv(plan, 1) == ("virt-install", "--paravirt", "--nographics", "--noautoconsole", "--name=sol3",
                             "--ram=1024", "--file=/export/vdisks/sol3",
                             "--location=/export/iso/sol-nv-b111-x86-dvd.iso")
    hvm = plans.create_plan(XVM, {**values, "hvm": True, "storage": "file:/export/images", "mac": "00:16:3e:00:00:01"},
                            FACTS)
    assert argv(hvm) == ("virt-install", "--hvm", "--vnc", "--noautoconsole", "--name=sol3", "--ram=1024",
                         "--file=/export/images/sol3.img", "--file-size=8", "--cdrom=/export/iso/sol-nv-b111-x86-dvd.iso",
                         "--mac=00:16:3e:00:00:01")
    with pytest.raises(FormErrors):
        form.parse({"name": "sol3", "storage": "vdisk:/export/vdisks", "source": "http://example/x.iso"})


SOURCE = cfg.parse_config("name = 'backup01'\nmemory = 2048\nvcpus = 2\nbootloader = 'pygrub'\n"
                          "disk = [ 'phy:/dev/vg0/backup01-disk,xvda,w' ]\nvif = [ 'mac=00:16:3e:aa:bb:cc,bridge=xenbr0' ]\n",
                          "/etc/xen/backup01.cfg")


def test_clone_on_lvm_copy_on_write():
    domain = stopped("backup01", "config", "/etc/xen/backup01.cfg")
    plan = plans.clone_plan(XL, domain, SOURCE, {"name": "backup02", "snapshot_size": None, "start": True}, FACTS,
                            rng=random.Random(1))
    assert argv(plan) == ("lvcreate", "-s", "-L", "5120m", "-n", "backup02-disk", "vg0/backup01-disk")
    assert undo(plan) == ("lvremove", "-f", "vg0/backup02-disk")
    assert argv(plan, 1) == ("tee", "/etc/xen/backup02.cfg") and argv(plan, 2) == ("xl", "create", "/etc/xen/backup02.cfg")
    new = cfg.parse_config(plan.steps[1].input, "/etc/xen/backup02.cfg")
    assert (new.name, new.memory_mib, new.vcpus, new.disks[0].target) == ("backup02", 2048, 2, "/dev/vg0/backup02-disk")
    assert new.vifs[0].mac != "00:16:3e:aa:bb:cc" and new.vifs[0].mac.startswith("00:16:3e:") and new.uuid
    assert plan.warning == ""
    small = plans.clone_plan(XL, domain, SOURCE, {"name": "backup03", "snapshot_size": 512 * M}, FACTS)
    assert "512M for changes" in small.warning and "2%" in small.warning and "LVM drops the snapshot" in small.warning
    with pytest.raises(FormErrors) as errors:
        plans.clone_plan(XL, domain, SOURCE, {"name": "web01", "snapshot_size": 80 * G}, FACTS)
    assert set(errors.value.errors) == {"name", "snapshot_size"}


def test_clone_of_zvols_files_and_on_xvm():
    zsource = cfg.parse_config("name = 'z'\nmemory = 512\nbuilder = 'hvm'\ndisk = [ 'phy:/dev/zvol/dsk/rpool/z-disk,hda,w' ]\n",
                               "/etc/xen/z.cfg")
    plan = plans.clone_plan(XM, stopped("z", "config", "/etc/xen/z.cfg"), zsource, {"name": "z2"},
                            plans.HostFacts(frozenset(), None, solaris=True))
    assert [argv(plan, i) for i in range(2)] == [("zfs", "snapshot", "rpool/z-disk@clone-z2"),
                                                 ("zfs", "clone", "rpool/z-disk@clone-z2", "rpool/z2-disk")]
    assert "phy:/dev/zvol/dsk/rpool/z2-disk,hda,w" in plan.steps[2].input and len(plan.steps) == 3
    fsource = cfg.parse_config("name = 'f'\nmemory = 512\nbootloader='pygrub'\ndisk = [ 'file:/srv/f.img,xvda,w' ]\n", "p")
    with pytest.raises(FormErrors, match="neither an LVM volume nor a zvol"):
        plans.clone_plan(XL, stopped("f", "config", "p"), fsource, {"name": "f2"}, FACTS)
    xvm = plans.clone_plan(XVM, stopped("sol2", "------"), None,
                           {"name": "sol3", "vdisk": "/export/vdisks/sol2", "snapshot": None, "memory": G, "vcpus": 1,
                            "boot": "pygrub", "bridge": None}, FACTS)
    assert [argv(xvm, i) for i in range(4)] == [
        ("vdiskadm", "snapshot", "/export/vdisks/sol2@clone-sol3"),
        ("vdiskadm", "clone", "/export/vdisks/sol2@clone-sol3", "/export/vdisks/sol3"),
        ("tee", "/etc/xen/sol3.cfg"), ("xm", "new", "/etc/xen/sol3.cfg")]
    assert undo(xvm, 3) == ("xm", "delete", "sol3") and "tap:vdisk:/export/vdisks/sol3,xvda,w" in xvm.steps[2].input


def test_migrate_plans_checks_and_progress():
    web = running()
    goal = plans.Target("xen-b", "xen-b.example", Toolstack.XL, False, frozenset({"db01"}), 10 * G)
    plan = plans.migrate_plan(XL, web, goal, ("/dev/san0/web01-disk",))
    assert argv(plan) == ("xl", "migrate", "web01", "xen-b.example")
    step = plan.steps[0]
    assert step.timeout is None and step.cancel is None and step.progress is not None
    assert step.progress.operation is None and "cannot be cancelled" in plan.warning
    checks = {c.description: c for c in plan.checks}
    ssh = next(c for c in plan.checks if c.operation is not None and c.operation.argv[0] == "ssh")
    assert ssh.operation.argv == ("ssh", "-o", "BatchMode=yes", "xen-b.example", "true") and ssh.host == ""
    disk = next(c for c in plan.checks if c.operation is not None and c.operation.argv[0] == "test")
    assert disk.operation.argv == ("test", "-e", "/dev/san0/web01-disk") and disk.host == "xen-b"
    assert all(c.passed for c in checks.values() if c.operation is None)
    assert all(c.reason == "" for c in checks.values() if c.operation is None), "a passed check shows no failure"
    crowded = plans.migrate_plan(XL, web, plans.Target("xen-b", "b", Toolstack.XL, False, frozenset({"web01"}), G), ())
    assert [c.reason for c in crowded.checks if c.passed is False] == ["xen-b already has a domain called web01",
                                                                       "xen-b has 1G free"]
    xend = plans.migrate_plan(XM, web, plans.Target("xvm-a", "xvm-a", Toolstack.XM, True, frozenset(), None), ())
    assert argv(xend) == ("xm", "migrate", "-l", "web01", "xvm-a")
    assert argv(plans.migrate_plan(XVM, web, plans.Target("xm-a", "xm-a", Toolstack.XM, False, frozenset(), None),
                                   ())) == ("virsh", "migrate", "--live", "web01", "xen://", "xenmigr://xm-a")
    with pytest.raises(ValidationError, match="xl migrates to xl only"):
        plans.migrate_plan(XL, web, plans.Target("xm-a", "xm-a", Toolstack.XM, False, frozenset(), None), ())
    with pytest.raises(ValidationError):
        plans.migrate_plan(XL, web, plans.Target("b", "$(reboot)", Toolstack.XL, False, frozenset(), None), ())
    progress = step.progress.parser
    assert progress("migration target: Ready to receive domain.\n").message == \
        "migration target: Ready to receive domain."
    meter = progress("xc: info: Saving memory: 512/1024  50%\r")
    assert meter.fraction == 0.5
    assert progress("migration sender: Target reports successful startup.\nMigration successful.\n").fraction == 1.0
    assert progress("\n\n") is None
