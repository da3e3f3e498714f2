"""What the create and clone wizards run against an LDoms control domain, and what they read back: the new
guest in ``list-constraints -p``/``-x``, its volume in ``list-services -p``, its strands and memory in
``list-devices -a -p``, a root-disk swap with ``add-vdisk id=0``, ``add-spconfig``/``list-spconfig``
(ldm.md §11), and the files a password or a script is handed through."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest

from hvdeck.backends.sim.ldoms import LdomsWorld
from hvdeck.backends.sim.sshserver import Reply

G = 1 << 30


@pytest.fixture
def world() -> LdomsWorld:
    return LdomsWorld("t7-a", seed=1, clock=lambda: 1000.0)


def sh(world: LdomsWorld, line: str) -> Reply:
    return world.run_line(line)


def ok(world: LdomsWorld, line: str) -> str:
    reply = sh(world, line)
    assert reply.exit_status == 0, f"{line}: {reply.stderr}"
    return reply.stdout


CREATE = [
    "zfs create -V 20G ldompool/web2-boot",
    "ldm add-domain web2",
    "ldm add-vcpu 8 web2",
    "ldm add-memory 16G web2",
    "ldm add-vnet vnet0 primary-vsw0 web2",
    "ldm add-vdsdev /dev/zvol/dsk/ldompool/web2-boot web2-boot@primary-vds0",
    "ldm add-vdisk vdisk0 web2-boot@primary-vds0 web2",
    "ldm set-var auto-boot?=true web2",
    "ldm set-var boot-device=vdisk0 web2",
    "ldm bind web2",
    "ldm start web2",
    "ldm add-spconfig web2-added",
]


def test_the_create_wizard_sequence_and_what_it_reads_back(world):
    for line in CREATE:
        ok(world, line)
    constraints = ok(world, "ldm list-constraints -p web2").splitlines()
    domain = world.domains["web2"]
    assert constraints[1:] == [
        "DOMAIN|name=web2", f"UUID|uuid={domain.uuid}", f"MAC|mac-addr={domain.mac}",
        "CONTROL|failure-policy=ignore|extended-mapin-space=on|cpu-arch=native", "VCPU|count=8",
        f"MEMORY|size={16 * G}", "VARIABLES", "|auto-boot?=true", "|boot-device=vdisk0",
        f"VNET|name=vnet0|dev=network@0|service=primary-vsw0|mac-addr={domain.vnets[0].mac}",
        "VDISK|name=vdisk0|vol=web2-boot@primary-vds0"]
    xml = ET.fromstring(ok(world, "ldm list-constraints -x web2"))
    assert [e.text for e in xml.iter("ldom_name")] == ["web2"]
    assert [e.text for e in xml.iter("number")] == ["8"] and [e.text for e in xml.iter("size")] == ["16G"]
    assert [e.text for e in xml.iter("vol_name")] == ["web2-boot"]
    assert "|vol=web2-boot|opts=|dev=/dev/zvol/dsk/ldompool/web2-boot|mpgroup=\n" in ok(world, "ldm list-services -p")
    devices = ok(world, "ldm list-devices -a -p")
    assert [line for line in devices.splitlines() if line.endswith("|bound=web2")] == \
        [f"|pa=0x820000000|size={16 * G}|bound=web2"]
    strands = [line for line in ok(world, "ldm list-devices -a -p cpu").splitlines()[2:] if "|free=0|" in line]
    assert len(strands) == 16 + 8, "primary's 16 and web2's 8 strands are in use"
    assert ok(world, "ldm list-spconfig") == "factory-default\nweb2-added [current]\n"
    assert ok(world, "ldm list -p web2").splitlines()[1].split("|")[2:4] == ["state=active", "flags=-n----"]


def test_the_clone_wizard_root_disk_swap(world):
    for line in CREATE[:-1]:
        ok(world, line)
    ok(world, "ldm stop web2; zfs snapshot ldompool/web2-boot@before; "
              "zfs clone ldompool/web2-boot@before ldompool/web2-boot-clone; "
              "ldm add-vdsdev /dev/zvol/dsk/ldompool/web2-boot-clone web2-clone@primary-vds0")
    ok(world, "ldm remove-vdisk vdisk0 web2; ldm add-vdisk id=0 vdisk0 web2-clone@primary-vds0 web2; "
              "ldm add-vdisk id=1 orig web2-boot@primary-vds0 web2")
    disks = [line for line in ok(world, "ldm list-bindings -p web2").splitlines() if line.startswith("VDISK|")]
    assert disks == ["VDISK|name=vdisk0|vol=web2-clone@primary-vds0|timeout=|dev=disk@0|server=primary|mpgroup=|id=0",
                     "VDISK|name=orig|vol=web2-boot@primary-vds0|timeout=|dev=disk@1|server=primary|mpgroup=|id=1"]
    assert sh(world, "ldm add-vdisk id=1 other web2-boot@primary-vds0 web2").stderr == \
        "The disk id 1 is already in use\n"
    assert sh(world, "zfs destroy ldompool/web2-boot@before").stderr.startswith(
        "cannot destroy 'ldompool/web2-boot@before': snapshot has dependent clones\n")


def test_a_volume_needs_a_backend_that_exists(world):
    reply = sh(world, "ldm add-vdsdev /dev/zvol/dsk/ldompool/missing v@primary-vds0")
    assert reply == Reply("", "Path /dev/zvol/dsk/ldompool/missing is not valid on service domain primary\n", 1)
    assert "|vol=v|" not in ok(world, "ldm list-services -p")


def test_sp_configurations(world):
    assert ok(world, "ldm ls-spconfig") == "factory-default [current]\n"
    ok(world, "ldm add-spconfig initial; ldm add-spconfig basic-conf")
    assert ok(world, "ldm list-spconfig") == "factory-default\ninitial\nbasic-conf [current]\n"
    ok(world, "ldm set-spconfig initial")
    assert ok(world, "ldm list-spconfig") == "factory-default\ninitial [next poweron]\nbasic-conf [current]\n"
    for line, message in (("ldm add-spconfig initial", "The configuration initial already exists on the SP"),
                          ("ldm set-spconfig nope", "The configuration nope does not exist on the SP"),
                          ("ldm rm-spconfig factory-default", "The factory-default configuration cannot be removed"),
                          ("ldm add-spconfig 'bad name'", "Invalid configuration name: bad name")):
        assert sh(world, line) == Reply("", message + "\n", 1), line
    ok(world, "ldm remove-spconfig initial")
    assert ok(world, "ldm list-spconfig") == "factory-default [next poweron]\nbasic-conf [current]\n", \
        "without the configuration chosen for the next power-on, the SP falls back to the factory's"
    assert sh(world, "ldm list-spconfig extra").stderr.startswith("Usage:\n    ldm list-spconfig")


def test_files_for_a_password_or_a_script(world):
    path = ok(world, "mktemp").strip()
    assert path.startswith("/tmp/tmp.") and len(path) == len("/tmp/tmp.XXXXXX")
    assert world.files[path].mode == 0o600, "mktemp makes a file only its owner may read"
    reply = asyncio.run(world.execute(["tee", path], _stdin("pw\n")))
    assert reply == Reply("pw\n", "", 0)
    assert ok(world, f"cat {path}") == "pw\n"
    ok(world, f"chmod 400 {path}")
    assert world.files[path].mode == 0o400
    assert ok(world, "mktemp /tmp/hvdeck.XXXXXXXX").strip().startswith("/tmp/hvdeck.")
    ok(world, f"rm {path}")
    assert sh(world, f"cat {path}") == Reply("", f"cat: cannot open {path}: No such file or directory\n", 2)
    assert sh(world, f"rm {path}").stderr == f"rm: {path}: No such file or directory\n"
    assert sh(world, f"rm -f {path}").exit_status == 0
    assert sh(world, "chmod 600 /nope").stderr == "chmod: WARNING: can't access /nope\n"


def _stdin(text: str):
    async def read() -> str:
        return text

    return read
