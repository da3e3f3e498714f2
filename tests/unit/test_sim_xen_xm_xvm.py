"""The xend flavours of the simulated dom0: xm (Xen ≤ 4.4) and Sun xVM (xm, virsh, virt-install, vdiskadm,
zfs), with their own formats and wording."""

from __future__ import annotations

import asyncio

import pytest

from hvdeck.backends.sim.sshserver import Reply
from hvdeck.backends.sim.xen import XenWorld
from hvdeck.backends.sim.xen.model import Machine


class Clock:
    def __init__(self, now: float = 3_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ovm(clock: Clock) -> XenWorld:
    return XenWorld.demo("ovm-a", "xm", 1, clock=clock)


@pytest.fixture
def xvm(clock: Clock) -> XenWorld:
    return XenWorld.demo("xvm-a", "xvm", 1, clock=clock)


def sh(world: XenWorld, line: str, stdin: str = "") -> Reply:
    async def read() -> str:
        return stdin

    return asyncio.run(world.handle(line, read))


def ok(world: XenWorld, line: str) -> str:
    reply = sh(world, line)
    assert reply.exit_status == 0, reply.stderr
    return reply.stdout


def xm_states(world: XenWorld) -> dict[str, tuple[str, str]]:
    rows = ok(world, "xm list").splitlines()[1:]
    return {row[:40].rstrip(): (row[41:46].strip(), row[59:69].strip()) for row in rows}


# -- xm ---------------------------------------------------------------------------------------------------


def test_xm_list_has_managed_domains_with_a_blank_id(ovm):
    listed = xm_states(ovm)
    assert listed["Domain-0"] == ("0", "r-----")
    assert listed["db02"][1] == "--p---" and listed["etl01"][1] == "----c-"
    assert listed["dev01"] == ("", "------")
    assert "test01" not in listed  # only a file in /etc/xen
    assert ok(ovm, "xm list dev01").splitlines()[1] == "dev01" + " " * 43 + "1024     1     ------      0.0"


def test_xm_start_create_and_their_messages(ovm):
    assert ok(ovm, "xm start dev01") == ""
    assert xm_states(ovm)["dev01"][1] == "-b----"
    out = ok(ovm, "xm create test01.cfg")
    domid = xm_states(ovm)["test01"][0]
    assert out == f'Using config file "/etc/xen/test01.cfg".\nStarted domain test01 (id={domid})\n'
    again = sh(ovm, "xm create test01.cfg")
    assert again.exit_status == 1 and again.stderr == f"Error: Domain 'test01' already exists with ID '{domid}'\n"
    missing = sh(ovm, "xm create nosuch.cfg")
    assert missing.exit_status == 1 and missing.stderr == "Error: Unable to open config file: nosuch.cfg\n"
    assert missing.stdout.startswith("Usage: xm create <ConfigFile> [options] [vars]\n\nCreate a domain based on")


def test_xend_refuses_a_name_it_cannot_keep(ovm):
    sh(ovm, "tee /etc/xen/odd.cfg", "name = 'odd name'\nmemory = 256\n")
    reply = sh(ovm, "xm create odd.cfg")
    assert (reply.exit_status, reply.stderr) == (1, "Error: Invalid VM Name\n")


def test_xm_errors_are_xends_faults(ovm):
    assert sh(ovm, "xm list nosuch") == Reply("", "Error: Domain 'nosuch' does not exist.\n", 3)
    paused = sh(ovm, "xm pause dev01")
    assert paused.exit_status == 1 and paused.stderr == "Error: Domain 'dev01' is not started\n"
    assert paused.stdout == "Usage: xm pause <Domain>\n\nPause execution of a domain.\n"
    weight = sh(ovm, "xm sched-credit -d app01 -w 70000")
    assert weight.stderr == "Error: Cpu weight out of range, valid values are within range from 1 to 65535\n"
    assert weight.stdout.splitlines()[3] == "  -d DOMAIN, --domain=DOMAIN     Domain to modify" + " " * 27
    assert sh(ovm, "xl info") == Reply("", "sh: 1: xl: not found\n", 127)


def test_xm_sched_credit_uses_the_guides_example(ovm):
    assert ok(ovm, "xm sched-credit -d app01 -w 500 -c100") == ""
    assert ok(ovm, "xm sched-credit -d app01") == ("Name                                ID Weight  Cap\n"
                                                   "app01                                1    500  100\n")
    everyone = ok(ovm, "xm sched-credit").splitlines()
    assert everyone[-1] == "dev01" + " " * 37 + "256    0"  # inactive: an empty ID


def test_xm_device_and_vcpu_lists(ovm):
    blocks = ok(ovm, "xm block-list app01").splitlines()
    assert blocks[0] == "Vdev  BE handle state evt-ch ring-ref BE-path"
    assert blocks[1].startswith("51712  0    1     4      ")
    assert blocks[1].endswith("/local/domain/0/backend/vbd/1/51712  ")
    nets = ok(ovm, "xm network-list app01").splitlines()
    assert nets[0] == "Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path"
    assert nets[1].startswith("0   0  00:16:3e:")
    assert ok(ovm, "xm block-list dev01") == ""  # not running: no devices, no header
    vcpus = ok(ovm, "xm vcpu-list app01").splitlines()
    assert vcpus[0].endswith("Time(s) CPU Affinity") and vcpus[1].endswith(" any cpu")


def test_xm_shutdown_and_save_restore(ovm, clock):
    ok(ovm, "xm shutdown app01")
    clock.now += ovm.shutdown_seconds + 0.1
    assert "app01" not in xm_states(ovm)
    ok(ovm, "xm save app02 /var/lib/xen/save/app02")
    assert "app02" not in xm_states(ovm)
    ok(ovm, "xm restore /var/lib/xen/save/app02")
    assert xm_states(ovm)["app02"][1] in ("r-----", "-b----")


def test_xm_old_xentop_has_fixed_columns(ovm):
    header = ok(ovm, "xentop -b -i 1").splitlines()[0]
    assert header.endswith("VBD_RSECT  VBD_WSECT SSID") and " NETTX(k) NETRX(k) " in header


# -- xVM: virsh, virt-install, vdiskadm, zfs ------------------------------------------------------------


def test_virsh_list_and_dominfo(xvm):
    listing = ok(xvm, "virsh list --all")
    assert listing.splitlines()[:2] == [" Id   Name               State", "-" * 35]
    rows = {line.split()[1]: line.split(None, 2)[2] for line in listing.splitlines()[2:] if line}
    assert rows == {"Domain-0": "running", "sol1": "running", "ubuntu1": "idle", "winxp": "paused",
                    "sol-build-server": "idle", "sol-crash": "crashed", "sol2": "shut off"}
    assert listing.endswith("shut off\n\n")
    assert " sol2 " not in ok(xvm, "virsh list")
    info = ok(xvm, "virsh dominfo sol2").splitlines()
    assert info[0] == "Id:             -" and "Persistent:     yes" in info and not any("CPU time" in line for line in info)
    assert sh(xvm, "virsh dominfo nosuch") == Reply("", "error: failed to get domain 'nosuch'\n", 1)


def test_virsh_lifecycle_messages(xvm, clock):
    assert ok(xvm, "virsh suspend ubuntu1") == "Domain 'ubuntu1' suspended\n\n"
    assert ok(xvm, "virsh resume ubuntu1") == "Domain 'ubuntu1' resumed\n\n"
    assert ok(xvm, "virsh start sol2") == "Domain 'sol2' started\n\n"
    assert ok(xvm, "virsh shutdown sol2") == "Domain 'sol2' is being shutdown\n\n"
    clock.now += xvm.shutdown_seconds + 1
    assert ok(xvm, "virsh domstate sol2") == "shut off\n\n"  # managed: still defined
    assert ok(xvm, "virsh destroy sol1") == "Domain 'sol1' destroyed\n\n"
    again = sh(xvm, "virsh destroy sol1")
    assert again.exit_status == 1 and "domain is not running" in again.stderr


def test_virt_install_defines_and_starts_a_guest(xvm):
    ok(xvm, "vdiskadm create -s 8g /export/vdisks/sol3")
    out = ok(xvm, "virt-install --nographics --paravirt --name sol3 --ram 1024 -f /export/vdisks/sol3 "
                  "-l /export/iso/sol-nv-b111-x86-dvd.iso")
    assert "Starting install..." in out
    state = [line for line in ok(xvm, "virsh list").splitlines() if " sol3 " in line]
    assert state and state[0].split()[-1] in ("idle", "running")
    assert sh(xvm, "virt-install --name sol3 --ram 512 -f /export/vdisks/sol2 -l x").stderr == \
        "ERROR    Guest name 'sol3' is already in use.\n"
    assert any(line.startswith("sol3 ") for line in ok(xvm, "xm list").splitlines())  # xend's guest: xm lists it


def test_virt_install_hvm_on_a_host_without_it(clock):
    world = XenWorld("nohvm", "xvm", clock=clock, machine=Machine(hvm=False, system="SunOS"))
    reply = sh(world, "virt-install -v --name w --ram 512 -f /tmp/w.img -s 4 -c /tmp/x.iso --vnc")
    assert reply == Reply("", "ERROR    Host does not support virtualization type 'hvm'\n", 1)


def test_vdiskadm_snapshot_clone_and_rollback(xvm):
    assert ok(xvm, "vdiskadm list /export/vdisks/sol2") == "sol2@install\nsol2\n"
    ok(xvm, "vdiskadm snapshot /export/vdisks/sol2@bfu")
    assert ok(xvm, "vdiskadm list /export/vdisks/sol2") == "sol2@install\nsol2@bfu\nsol2\n"
    assert sorted(ok(xvm, "ls /export/vdisks/sol2").split()) == ["vdisk.vhd", "vdisk.xml", "vdisk@bfu.vhd",
                                                                 "vdisk@install.vhd"]
    refused = sh(xvm, "vdiskadm rollback /export/vdisks/sol2@install")
    assert refused.exit_status == 1 and "sol2@bfu" in refused.stderr
    ok(xvm, "vdiskadm rollback -r /export/vdisks/sol2@install")
    assert ok(xvm, "vdiskadm list /export/vdisks/sol2") == "sol2@install\nsol2\n"
    ok(xvm, "vdiskadm clone /export/vdisks/sol2@install /export/vdisks/sol2-copy")
    assert ok(xvm, "vdiskadm list /export/vdisks/sol2-copy") == "sol2-copy\n"
    props = ok(xvm, "vdiskadm prop-get -p all /export/vdisks/sol2-copy")
    assert "max-size: 8589934592\n" in props and "vtype: vhd\n" in props
    busy = sh(xvm, "vdiskadm snapshot /export/vdisks/sol1@now")  # sol1 runs from it
    assert busy.exit_status == 1 and "in use" in busy.stderr


def test_zfs_volumes_for_guests(xvm):
    ok(xvm, "zfs create -V 10G rpool/web-disk; zfs snapshot rpool/web-disk@gold; "
            "zfs clone rpool/web-disk@gold rpool/web2-disk")
    names = ok(xvm, "zfs list -H -o name -t volume").split()
    assert names == ["rpool/ubuntu1-disk", "rpool/web-disk", "rpool/web2-disk"]
    assert ok(xvm, "zfs list -H -p -o name,volsize,origin rpool/web2-disk") == \
        "rpool/web2-disk\t10737418240\trpool/web-disk@gold\n"
    assert sh(xvm, "zfs destroy rpool/web-disk").exit_status == 1


def test_migration_between_xend_hosts(clock):
    source = XenWorld.demo("xvm-a", "xvm", 1, clock=clock)
    target = XenWorld("xvm-b", "xvm", clock=clock, machine=source.machine)
    source.peer(target)
    target.vdisks = source.vdisks  # NFS-shared vdisks
    assert sh(source, "virsh migrate --live sol-build-server xen:/// xenmigr://xvm-b") == Reply("", "", 0)
    assert " sol-build-server " in sh(target, "virsh list").stdout
    assert " sol-build-server " not in sh(source, "virsh list --all").stdout
    refused = sh(source, "xm migrate -l ubuntu1 xvm-z")
    assert refused.stderr == "Error: can't connect: (-2, 'Name or service not known')\n"
    assert refused.stdout.startswith("Usage: xm migrate <Domain> <Host>")
