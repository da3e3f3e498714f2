"""The simulated SPARC control domain: ldm and zfs output byte for byte, the life cycle, resources,
rejections, delayed reconfiguration, and counters that move with the clock.

The samples quoted here are copied from the project's ldm format notes (shared/formats/ldm.md, cited by
section); the formatters are fed the values of each sample and must print it exactly.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from hvdeck.backends.sim.ldoms import (
    BLOCK_SEPARATOR,
    LIST_HEADER,
    WRONG_STATE,
    CommandError,
    Devices,
    Domain,
    LdomsWorld,
    Live,
    MemoryBlock,
    Services,
    State,
    Vcc,
    Vdisk,
    Vds,
    Vnet,
    Volume,
    Vsw,
    ZfsPool,
    canonical_subcommand,
    flag_letters,
    flag_words,
    format_bindings_parseable,
    format_constraints,
    format_constraints_parseable,
    format_constraints_xml,
    format_devices_parseable,
    format_list,
    format_list_parseable,
    format_long,
    format_services_parseable,
    format_version,
    human_size,
    human_uptime,
    parse_size,
    zfs_nicenum,
)
from hvdeck.backends.sim.shell import CommandNotFound, run_line
from hvdeck.backends.sim.sshserver import Reply

G, M = 1 << 30, 1 << 20
DAY, HOUR, MINUTE = 86400, 3600, 60


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(clock: Clock) -> LdomsWorld:
    """Only primary: 16 of 64 strands and 32G bound, ports from 5000 free."""
    return LdomsWorld("t7-a", seed=1, clock=clock)


@pytest.fixture
def demo(clock: Clock) -> LdomsWorld:
    return LdomsWorld.demo("t7-a", 1, clock=clock)


def sh(world: LdomsWorld, line: str) -> Reply:
    return run_line(line, world.run)


def ok(world: LdomsWorld, line: str) -> str:
    reply = sh(world, line)
    assert reply.exit_status == 0, f"{line}: {reply.stderr}"
    return reply.stdout


def refused(world: LdomsWorld, line: str) -> str:
    reply = sh(world, line)
    assert reply.exit_status != 0, f"{line} should have failed"
    assert reply.stdout == ""
    assert reply.stderr.endswith("\n") and reply.stderr.strip()
    return reply.stderr


def records(text: str) -> list[dict[str, str]]:
    """`|`-separated records of a parseable output as dicts (the keyword under ``""``)."""
    rows = []
    for line in text.splitlines()[1:]:
        keyword, *pairs = line.split("|")
        rows.append({"": keyword, **dict(pair.split("=", 1) for pair in pairs)})
    return rows


def domain_record(world: LdomsWorld, name: str) -> dict[str, str]:
    (record,) = records(ok(world, f"ldm list -p {name}"))
    return record


def guest(name: str, state: State, vcpus: int, memory: int, port: int | None = None, **kw) -> Domain:
    return Domain(name, "00000000-0000-4000-8000-000000000000", "00:14:4f:f8:00:01", state=state, vcpus=vcpus,
                  memory=memory, console_port=port, **kw)


def live(util: float, norm: float, uptime: int, vcpu_util: tuple[float, ...] = ()) -> Live:
    return Live(util, norm, uptime, vcpu_util, vcpu_util)


def control_domain(**kw) -> Domain:
    return guest("primary", State.ACTIVE, kw.pop("vcpus", 16), kw.pop("memory", 32 * G), control=True,
                 service=True, **kw)


# -- units ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (59, "59s"), (120, "2m"), (179, "2m"), (HOUR, "1h"), (45 * DAY + 8 * HOUR + 6 * MINUTE, "45d 8h 6m"),
    (3 * DAY + 55 * MINUTE, "3d 55m"), (3 * DAY + 21 * HOUR + 7 * MINUTE + 30, "3d 21h 7m"),
])
def test_uptime_is_human_like_the_captures(seconds, text):
    assert human_uptime(seconds) == text


@pytest.mark.parametrize(("size", "text"), [
    (32 * G, "32G"), (768 * M, "768M"), (5632 * M, "5632M"), (392167424, "374M"), (1536 * M, "1536M"),
    (164 * G, "164G"),
])
def test_memory_is_shown_in_the_largest_exact_unit(size, text):
    assert human_size(size) == text


@pytest.mark.parametrize(("text", "size"), [("1024m", G), ("4G", 4 * G), ("512M", 512 * M), ("2g", 2 * G),
                                            ("1073741824", G), ("8GB", 8 * G)])
def test_ldm_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "4X", "-1G", "1.5G", "G"])
def test_bad_ldm_sizes(text):
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (512, "512"), (20 * G, "20G"), (3 * G // 2, "1.50G"), (int(20.6 * G), "20.6G"), (206 * G + 1, "206G"),
    (32 * 1024, "32K"),
])
def test_zfs_human_numbers(value, text):
    assert zfs_nicenum(value) == text


# -- flags (ldm.md §1.2) --------------------------------------------------------------------------


@pytest.mark.parametrize(("domain", "letters", "words"), [
    (control_domain(), "-n-cv-", "normal,control,vio-service"),
    (guest("g", State.ACTIVE, 1, G), "-n----", "normal"),
    (guest("g", State.BOUND, 1, G), "------", ""),
    (guest("g", State.INACTIVE, 1, G), "------", ""),
    (guest("g", State.ACTIVE, 1, G, delayed_reconfig=True), "-nd---", "normal,delayed-reconfig"),
    (control_domain(delayed_reconfig=True), "-ndcv-", "normal,delayed-reconfig,control,vio-service"),
])
def test_flags(domain, letters, words):
    assert flag_letters(domain) == letters
    assert flag_words(domain) == words


# -- formatters against the documented samples ----------------------------------------------------

#: ldm.md §2.1, the OVM 3.x capture (VERBATIM), five of its rows
LIST_CAPTURE = """\
NAME             STATE      FLAGS   CONS    VCPU  MEMORY   UTIL  NORM  UPTIME
primary          active     -n-cv-  UART    16    32G      7.0%  6.9%  45d 8h 6m
DR-PRD02-CBSAPP01 active     -n----  5004    16    64G      0.3%  0.3%  45d 7h 55m
DR-PRD02-CBSDB01 active     -n----  5014    64    164G     3.9%  3.9%  45d 8h 3m
DR-PRD02-CBSDB02 bound      ------  5006    16    100G
DR-PRD02-CIFTPDB01 active     -n----  5003    8     64G      5.0%  5.0%  45d 7h 54m
"""


def test_human_list_reproduces_the_3x_capture():
    rows = [
        (control_domain(), live(7.0, 6.9, 45 * DAY + 8 * HOUR + 6 * MINUTE + 12)),
        (guest("DR-PRD02-CBSAPP01", State.ACTIVE, 16, 64 * G, 5004), live(0.3, 0.3, 45 * DAY + 7 * HOUR + 55 * MINUTE)),
        (guest("DR-PRD02-CBSDB01", State.ACTIVE, 64, 164 * G, 5014), live(3.9, 3.9, 45 * DAY + 8 * HOUR + 3 * MINUTE)),
        (guest("DR-PRD02-CBSDB02", State.BOUND, 16, 100 * G, 5006), None),
        (guest("DR-PRD02-CIFTPDB01", State.ACTIVE, 8, 64 * G, 5003), live(5.0, 5.0, 45 * DAY + 7 * HOUR + 54 * MINUTE)),
    ]
    assert format_list(rows) == LIST_CAPTURE


def test_human_list_header_has_the_documented_column_starts():
    starts = {word: LIST_HEADER.index(word) for word in LIST_HEADER.split()}
    assert starts == {"NAME": 0, "STATE": 17, "FLAGS": 28, "CONS": 36, "VCPU": 44, "MEMORY": 50, "UTIL": 59,
                      "NORM": 65, "UPTIME": 71}


def test_inactive_row_has_an_empty_console_and_ends_after_memory():
    assert format_list([(guest("ldg-build", State.INACTIVE, 8, 16 * G), None)]).splitlines()[1] == \
        "ldg-build        inactive   ------          8     16G"


#: ldm.md §3.2, the OVM 3.x capture (VERBATIM), two of its rows, and a bound row (the 1.x example's
#: values with the 3.x flags and norm_util)
LIST_P_CAPTURE = """\
DOMAIN|name=primary|state=active|flags=-n-cv-|cons=UART|ncpu=5|mem=47272862140|util=0.4|uptime=4772570|norm_util=0.4
DOMAIN|name=host1|state=active|flags=-n----|cons=5000|ncpu=1|mem=47272862140|util=1.4|uptime=173837|norm_util=1.4
DOMAIN|name=ldg1|state=bound|flags=------|cons=5000|ncpu=1|mem=536870912|util=|uptime=|norm_util=
"""


def test_parseable_list_reproduces_the_3x_capture():
    rows = [(control_domain(vcpus=5, memory=47272862140), live(0.4, 0.4, 4772570)),
            (guest("host1", State.ACTIVE, 1, 47272862140, 5000), live(1.4, 1.4, 173837)),
            (guest("ldg1", State.BOUND, 1, 536870912, 5000), None)]
    assert format_list_parseable(rows) == "VERSION 1.11\n" + LIST_P_CAPTURE


#: ldm.md §3.5 (RECONSTRUCTED there), without its VERSION line
BINDINGS_SAMPLE = """\
DOMAIN|name=primary|state=active|flags=normal,control,vio-service|cons=UART|ncpu=16|mem=34359738368|util=0.7|uptime=3916800|norm_util=0.7
UUID|uuid=1b1d6c5a-6ab4-4b2d-9c1c-6d2f7c0f1e11
MAC|mac-addr=00:14:4f:fa:ed:88
HOSTID|hostid=0x84faed88
CONTROL|failure-policy=ignore|extended-mapin-space=on|cpu-arch=native
DEPENDENCY|master=
CORE
|cid=0|cpuset=0,1,2,3,4,5,6,7
|cid=1|cpuset=8,9,10,11,12,13,14,15
VCPU
|vid=0|pid=0|util=1.2%|strand=100|cid=0
|vid=1|pid=1|util=0.3%|strand=100|cid=0
MEMORY
|ra=0x20000000|pa=0x20000000|size=34359738368
VARIABLES
|auto-boot?=true
|boot-device=/pci@300/pci@1/pci@0/pci@2/scsi@0/disk@w5000cca0252a1e21,0:a disk net
IO
|dev=pci@300|alias=pci_0
VCC|name=primary-vcc0|port-range=5000-5100
VSW|name=primary-vsw0|mac-addr=00:14:4f:f8:61:2a|net-dev=net0|dev=switch@0|default-vlan-id=1|pvid=1|vid=|mode=|mtu=1500|id=0
VDS|name=primary-vds0
|vol=ldg1-boot|opts=|dev=/dev/zvol/dsk/rpool/ldg1-boot|mpgroup=
DOMAIN|name=ldg1|state=active|flags=normal|cons=5000|ncpu=8|mem=8589934592|util=0.4|uptime=172800|norm_util=0.4
UUID|uuid=5f0c2b3e-1d1e-4e8a-b7a4-2f7e6c9d0a22
MAC|mac-addr=00:14:4f:fb:12:34
HOSTID|hostid=0x84fb1234
CONTROL|failure-policy=ignore|extended-mapin-space=on|cpu-arch=native
DEPENDENCY|master=
VCPU
|vid=0|pid=16|util=0.5%|strand=100|cid=2
MEMORY
|ra=0x10000000|pa=0x420000000|size=8589934592
VARIABLES
|auto-boot?=true
|boot-device=vdisk0
VNET|name=vnet0|dev=network@0|service=primary-vsw0@primary|mac-addr=00:14:4f:fb:aa:01|mode=|pvid=1|vid=|mtu=1500|id=0
VDISK|name=vdisk0|vol=ldg1-boot@primary-vds0|timeout=|dev=disk@0|server=primary|mpgroup=|id=0
VCONS|group=ldg1|service=primary-vcc0@primary|port=5000
"""


def sample_services(**volumes: str) -> Services:
    return Services(Vcc("primary-vcc0", "primary"), Vsw("primary-vsw0", "primary", "00:14:4f:f8:61:2a"),
                    Vds("primary-vds0", "primary", {name: Volume(name, dev) for name, dev in volumes.items()}))


def test_parseable_bindings_follow_the_3_5_sample():
    primary = Domain("primary", "1b1d6c5a-6ab4-4b2d-9c1c-6d2f7c0f1e11", "00:14:4f:fa:ed:88", State.ACTIVE, 16,
                     32 * G, strands=list(range(16)), blocks=[MemoryBlock(0x20000000, 0x20000000, 32 * G)],
                     variables={"auto-boot?": "true",
                                "boot-device": "/pci@300/pci@1/pci@0/pci@2/scsi@0/disk@w5000cca0252a1e21,0:a disk net"},
                     io=[("pci@300", "pci_0")], control=True, service=True)
    ldg1 = Domain("ldg1", "5f0c2b3e-1d1e-4e8a-b7a4-2f7e6c9d0a22", "00:14:4f:fb:12:34", State.ACTIVE, 8, 8 * G,
                  strands=list(range(16, 24)), blocks=[MemoryBlock(0x10000000, 0x420000000, 8 * G)],
                  vnets=[Vnet("vnet0", "primary-vsw0", "00:14:4f:fb:aa:01", 0)],
                  vdisks=[Vdisk("vdisk0", "ldg1-boot", "primary-vds0", 0)],
                  variables={"auto-boot?": "true", "boot-device": "vdisk0"}, console_port=5000)
    rows = [(primary, live(0.7, 0.7, 3916800, (1.2, 0.3) + (0.0,) * 14)),
            (ldg1, live(0.4, 0.4, 172800, (0.5,) + (0.0,) * 7))]
    text = format_bindings_parseable(rows, sample_services(**{"ldg1-boot": "/dev/zvol/dsk/rpool/ldg1-boot"}), 8)
    assert text.startswith("VERSION 1.11\n")
    lines = text.splitlines()[1:]
    guest_start = lines.index(next(line for line in lines if line.startswith("DOMAIN|name=ldg1|")))
    # the sample shows two of primary's 16 VCPU rows, one of ldg1's 8, and no CORE section for ldg1;
    # everything else is equal
    primary_lines = [line for line in lines[:guest_start] if not re.match(r"\|vid=([2-9]|1\d)\|", line)]
    guest_lines = [line for line in lines[guest_start:] if not re.match(r"\|vid=[1-7]\||CORE$|\|cid=", line)]
    # beyond the sample, the attributes §3.3 says 3.x adds: norm= on VCPU rows, log= on VCONS
    printed = "\n".join(primary_lines + guest_lines) + "\n"
    assert re.sub(r"\|norm=[0-9.]*%|\|log=on", "", printed) == BINDINGS_SAMPLE
    assert "|vid=0|pid=0|util=1.2%|strand=100|cid=0|norm=1.2%\n" in printed
    assert printed.endswith("VCONS|group=ldg1|service=primary-vcc0@primary|port=5000|log=on\n")


#: ldm.md §5 (RECONSTRUCTED there), without its VERSION line
SERVICES_SAMPLE = """\
VCC|name=primary-vcc0|ldom=primary|port-range=5000-5100
VSW|name=primary-vsw0|ldom=primary|mac-addr=00:14:4f:f8:61:2a|net-dev=net0|dev=switch@0|default-vlan-id=1|pvid=1|vid=|mode=|mtu=1500|linkprop=|id=0
VDS|name=primary-vds0|ldom=primary
|vol=ldg1-boot|opts=|dev=/dev/zvol/dsk/rpool/ldg1-boot|mpgroup=
|vol=ldg2-boot|opts=|dev=/dev/zvol/dsk/rpool/ldg2-boot|mpgroup=
"""


def test_parseable_services_are_the_5_sample():
    services = sample_services(**{"ldg1-boot": "/dev/zvol/dsk/rpool/ldg1-boot",
                                  "ldg2-boot": "/dev/zvol/dsk/rpool/ldg2-boot"})
    assert format_services_parseable(services) == "VERSION 1.11\n" + SERVICES_SAMPLE


def test_parseable_devices_reproduce_the_7_capture():
    devices = Devices(cores=[], strands=[(0, "primary"), (1, "primary")], io=[],
                      memory=[(0xA00000, 33554432, "_sys_"), (0x2A00000, 100663296, "_sys_"),
                              (0x8A00000, 392167424, "_sys_"), (0x20000000, 136902082560, "primary")])
    assert format_devices_parseable(devices, ["cpu"], all_=True) == \
        "VERSION 1.11\nVCPU\n|pid=0|free=0|pm=no\n|pid=1|free=0|pm=no\n"
    assert format_devices_parseable(devices, ["memory"], all_=True) == """\
VERSION 1.11
MEMORY
|pa=0xa00000|size=33554432|bound=_sys_
|pa=0x2a00000|size=100663296|bound=_sys_
|pa=0x8a00000|size=392167424|bound=_sys_
|pa=0x20000000|size=136902082560|bound=primary
"""


#: ldm.md §6.2, LDoms 1.2 Example 9-16 (VERBATIM), without its VERSION line
CONSTRAINTS_P_SAMPLE = """\
DOMAIN|name=primary
MAC|mac-addr=00:03:ba:d8:b1:46
VCPU|count=4
MEMORY|size=805306368
IO
|dev=pci@780|alias=
|dev=pci@7c0|alias=
VDS|name=primary-vds0
|vol=disk-ldg2|opts=|dev=/ldoms/nv72-ldg2/disk
|vol=vol0|opts=|dev=/ldoms/nv72-ldg1/disk
VCC|name=primary-vcc0|port-range=5000-5100
VSW|name=primary-vsw0|mac-addr=|net-dev=e1000g0|dev=switch@0
DOMAIN|name=ldg1
VCPU|count=8
MEMORY|size=1073741824
VARIABLES
|boot-device=/virtual-devices@100/channel-devices@200/disk@0:a
|nvramrc=devalias vnet0 /virtual-devices@100/channel-devices@200/network@0
|use-nvramrc?=true
VNET|name=vnet0|dev=network@0|service=primary-vsw0|mac-addr=01:14:4f:fa:0f:55
VDISK|name=vdisk0|vol=vol0@primary-vds0
"""


def sample_ldg1(**kw) -> Domain:
    return Domain("ldg1", "5f0c2b3e-1d1e-4e8a-b7a4-2f7e6c9d0a22", "00:14:4f:fb:12:34", State.INACTIVE,
                  kw.pop("vcpus", 8), kw.pop("memory", G),
                  vnets=[Vnet("vnet0", "primary-vsw0", "01:14:4f:fa:0f:55", 0)],
                  vdisks=[Vdisk("vdisk0", "vol0", "primary-vds0", 0)], **kw)


def test_parseable_constraints_keep_the_1_2_sample_and_add_the_3x_lines():
    primary = Domain("primary", "1b1d6c5a-6ab4-4b2d-9c1c-6d2f7c0f1e11", "00:03:ba:d8:b1:46", State.ACTIVE, 4,
                     805306368, io=[("pci@780", ""), ("pci@7c0", "")], control=True, service=True)
    ldg1 = sample_ldg1(variables={
        "boot-device": "/virtual-devices@100/channel-devices@200/disk@0:a",
        "nvramrc": "devalias vnet0 /virtual-devices@100/channel-devices@200/network@0",
        "use-nvramrc?": "true"})
    services = Services(Vcc("primary-vcc0", "primary"), Vsw("primary-vsw0", "primary", "00:14:4f:f8:61:2a", "e1000g0"),
                        Vds("primary-vds0", "primary", {"disk-ldg2": Volume("disk-ldg2", "/ldoms/nv72-ldg2/disk"),
                                                        "vol0": Volume("vol0", "/ldoms/nv72-ldg1/disk")}))
    lines = format_constraints_parseable([primary, ldg1], services).splitlines()
    assert lines[0] == "VERSION 1.11"
    added = {"UUID|uuid=1b1d6c5a-6ab4-4b2d-9c1c-6d2f7c0f1e11", "UUID|uuid=5f0c2b3e-1d1e-4e8a-b7a4-2f7e6c9d0a22",
             "CONTROL|failure-policy=ignore|extended-mapin-space=on|cpu-arch=native", "MAC|mac-addr=00:14:4f:fb:12:34"}
    assert [line for line in lines[1:] if line not in added] == CONSTRAINTS_P_SAMPLE.splitlines()
    assert lines[1:5] == ["DOMAIN|name=primary", "UUID|uuid=1b1d6c5a-6ab4-4b2d-9c1c-6d2f7c0f1e11",
                          "MAC|mac-addr=00:03:ba:d8:b1:46",
                          "CONTROL|failure-policy=ignore|extended-mapin-space=on|cpu-arch=native"]


#: ldm.md §6.3, LDoms 1.2 Example 9-15 (VERBATIM), without its two-line nvramrc variable
CONSTRAINTS_XML_SAMPLE = """\
<?xml version="1.0"?>
<LDM_interface version="1.0">
  <data version="2.0">
    <ldom>
      <ldom_info>
        <ldom_name>ldg1</ldom_name>
      </ldom_info>
      <cpu>
        <number>8</number>
      </cpu>
      <memory>
        <size>1G</size>
      </memory>
      <network>
        <vnet_name>vnet0</vnet_name>
        <service_name>primary-vsw0</service_name>
        <mac_address>01:14:4f:fa:0f:55</mac_address>
      </network>
      <disk>
        <vdisk_name>vdisk0</vdisk_name>
        <service_name>primary-vds0</service_name>
        <vol_name>vol0</vol_name>
      </disk>
      <var>
        <name>boot-device</name>
        <value>/virtual-devices@100/channel-devices@200/disk@0:a</value>
      </var>
      <var>
        <name>use-nvramrc?</name>
        <value>true</value>
      </var>
    </ldom>
  </data>
</LDM_interface>
"""


def test_xml_constraints_are_the_1_2_schema():
    ldg1 = sample_ldg1(variables={"boot-device": "/virtual-devices@100/channel-devices@200/disk@0:a",
                                  "use-nvramrc?": "true"})
    assert format_constraints_xml([ldg1]) == CONSTRAINTS_XML_SAMPLE


def test_xml_constraints_escape_markup():
    ldg1 = sample_ldg1(variables={"nvramrc": 'a < b & "c"'})
    assert "<value>a &lt; b &amp; \"c\"</value>" in format_constraints_xml([ldg1])


#: ldm.md §6.1, LDoms 1.2 Example 9-14 (VERBATIM) with one vnet, and without VDPCC; the console group
#: is the domain's name here
CONSTRAINTS_SAMPLE = """\
DOMAIN
ldg1
 
VCPU
    COUNT
    1
 
MEMORY
    SIZE
    512M
 
NETWORK
    NAME         SERVICE                     DEVICE       MAC
    mynet-b      vsw0                        network@0    08:00:20:ab:9a:12
 
DISK
    NAME             VOLUME
    mydisk-a         myvol-a@vds0
    mydisk-b         myvol-b@vds0
 
VCONS
    NAME             SERVICE
    ldg1             vcc0
"""


def test_human_constraints_are_the_1_2_layout():
    ldg1 = Domain("ldg1", "u", "m", State.INACTIVE, 1, 512 * M,
                  vnets=[Vnet("mynet-b", "vsw0", "08:00:20:ab:9a:12", 0)],
                  vdisks=[Vdisk("mydisk-a", "myvol-a", "vds0", 0), Vdisk("mydisk-b", "myvol-b", "vds0", 1)])
    services = Services(Vcc("vcc0", "primary"), Vsw("vsw0", "primary", "08:00:20:aa:bb:e0"), Vds("vds0", "primary"))
    assert format_constraints([ldg1], services) == CONSTRAINTS_SAMPLE


def test_human_long_listing_keeps_the_1_2_sections_and_separators():
    """ldm.md §4, LDoms 1.2 Example 9-3 (VERBATIM): MEMORY, IO, VCC, VSW and VDS tables, gap lines of one
    space, the 78-dash separator, and (Example 9-10) the PEER sub-table."""
    primary = control_domain(vcpus=1, memory=768 * M, strands=[0],
                             blocks=[MemoryBlock(0x4000000, 0x4000000, 768 * M)],
                             io=[("pci@780", "bus_a"), ("pci@7c0", "bus_b")])
    ldg1 = guest("ldg1", State.BOUND, 1, 512 * M, 5000, strands=[1],
                 blocks=[MemoryBlock(0x4000000, 0x34000000, 512 * M)],
                 vnets=[Vnet("mynet-b", "vsw0", "08:00:20:ab:9a:12", 0)])
    services = Services(Vcc("vcc0", "primary"), Vsw("vsw0", "primary", "08:00:20:aa:bb:e0", "e1000g0"),
                        Vds("vds0", "primary", {"myvol-a": Volume("myvol-a", "/disk/a", "slice"),
                                                "myvol-b": Volume("myvol-b", "/disk/b"),
                                                "myvol-c": Volume("myvol-c", "/disk/c", "ro,slice,excl")}))
    peers = {"mynet-b@ldg1": [("vsw0@primary", "08:00:20:aa:bb:e0"), ("mynet-a@ldg1", "08:00:20:ab:9a:11")]}
    text = format_long([(primary, live(0.0, 0.0, 0, (0.0,))), (ldg1, None)], services, 8, peers)
    for block in [
        " \nMEMORY\n    RA               PA               SIZE\n    0x4000000        0x4000000        768M\n",
        " \nIO\n    DEVICE           PSEUDONYM        OPTIONS\n"
        "    pci@780          bus_a\n    pci@7c0          bus_b\n",
        " \nVCC\n    NAME             PORT-RANGE\n    vcc0             5000-5100\n",
        " \nVSW\n    NAME             MAC               NET-DEV   DEVICE    MODE\n"
        "    vsw0             08:00:20:aa:bb:e0 e1000g0   switch@0\n",
        " \nVDS\n    NAME             VOLUME         OPTIONS          DEVICE\n"
        "    vds0             myvol-a        slice            /disk/a\n"
        "                     myvol-b                         /disk/b\n"
        "                     myvol-c        ro,slice,excl    /disk/c\n",
        f" \n{BLOCK_SEPARATOR}\n{LIST_HEADER}\nldg1             bound      ------  5000    1     512M\n \nUUID\n",
        "        PEER                        MAC\n        vsw0@primary                08:00:20:aa:bb:e0\n"
        "        mynet-a@ldg1                08:00:20:ab:9a:11\n",
    ]:
        assert block in text
    assert len(BLOCK_SEPARATOR) == 78
    assert text.startswith(f"{LIST_HEADER}\n"
                           "primary          active     -n-cv-  UART    1     768M     0.0%  0.0%  0s\n \n")


def test_vcpu_table_right_aligns_util_norm_and_strand():
    domain = guest("g", State.ACTIVE, 2, G, 5000, strands=[8, 9])
    text = format_long([(domain, live(1.0, 1.0, 60, (1.2, 10.5)))], sample_services(), 8, {})
    vcpu = text[text.index("VCPU\n"):].splitlines()[1:4]
    assert vcpu == ["    VID    PID    CID    UTIL NORM STRAND",
                    "    0      8      1      1.2% 1.2%   100%",
                    "    1      9      1      10.5% 10.5%   100%"]
    bound = format_long([(guest("g", State.BOUND, 1, G, 5000, strands=[8]), None)], sample_services(), 8, {})
    row = bound[bound.index("VCPU\n"):].splitlines()[2]
    assert row == "    0      8      1                  100%"
    assert len(row) == len(vcpu[0])


def test_version_is_the_1_2_layout_with_the_3x_name():
    lines = format_version().splitlines()
    assert lines[0] == " " and lines[4] == " " and lines[5] == "System PROM:"
    assert re.fullmatch(r"Logical Domains? Manager \(v (.+)\)", lines[1])[1] == "3.6.0.0.23"
    assert lines[2] == "   Hypervisor control protocol v 1.12"
    assert re.fullmatch(r"   Hypervisor  v\. \S+ +@\(#\)Hypervisor .*", lines[6])
    assert re.fullmatch(r"   OpenBoot    v\. \S+ +@\(#\)OBP .*", lines[7])


# -- the world: listing ---------------------------------------------------------------------------


def test_a_new_world_has_primary_only(world, clock):
    counters = world.live(world.domains["primary"])
    assert ok(world, "ldm list -p") == (
        "VERSION 1.11\n"
        f"DOMAIN|name=primary|state=active|flags=-n-cv-|cons=UART|ncpu=16|mem=34359738368|util={counters.util:.1f}"
        f"|uptime=0|norm_util={counters.norm:.1f}\n")
    util, norm = f"{counters.util:.1f}%", f"{counters.norm:.1f}%"
    assert ok(world, "ldm list") == (
        f"{LIST_HEADER}\nprimary          active     -n-cv-  UART    16    32G      {util:<5} {norm:<5} 0s\n")


def test_demo_lists_every_state(demo):
    rows = {line.split()[0]: line for line in ok(demo, "ldm list").splitlines()[1:]}
    assert list(rows) == ["primary", "ldg-web1", "ldg-db1", "ldg-app1", "ldg-test", "ldg-build"]
    assert rows["ldg-test"] == "ldg-test         bound      ------  5003    2     4G"
    assert rows["ldg-build"] == "ldg-build        inactive   ------          8     16G"
    assert rows["primary"].startswith("primary          active     -n-cv-  UART    16    32G      ")
    assert rows["primary"].endswith("  45d 8h 6m")
    assert rows["ldg-db1"].startswith("ldg-db1          active     -n----  5001    32    64G      ")
    assert rows["ldg-app1"].startswith("ldg-app1         active     -nd---  5002    2     8G       ")
    assert rows["ldg-app1"].endswith("  2h 14m")


def test_demo_parseable_list(demo):
    by_name = {record["name"]: record for record in records(ok(demo, "ldm list -p"))}
    assert by_name["ldg-db1"]["ncpu"] == "32" and by_name["ldg-db1"]["mem"] == str(64 * G)
    assert by_name["ldg-test"] == {"": "DOMAIN", "name": "ldg-test", "state": "bound", "flags": "------",
                                   "cons": "5003", "ncpu": "2", "mem": str(4 * G), "util": "", "uptime": "",
                                   "norm_util": ""}
    assert by_name["ldg-build"]["cons"] == ""
    assert re.fullmatch(r"\d+\.\d", by_name["ldg-web1"]["util"])
    assert by_name["ldg-web1"]["uptime"] == str(12 * DAY + 3 * HOUR + 41 * MINUTE)


def test_listing_named_domains_and_an_unknown_one(demo):
    assert [r["name"] for r in records(ok(demo, "ldm ls -p ldg-test primary"))] == ["ldg-test", "primary"]
    assert refused(demo, "ldm list ldg-test nope") == "Domain nope not found\n"


def test_long_parseable_list_is_list_bindings(demo):
    assert ok(demo, "ldm list -l -p") == ok(demo, "ldm list-bindings -p") == ok(demo, "ldm ls -lp")
    assert ok(demo, "ldm list -l ldg-db1") == ok(demo, "ldm ls-bindings ldg-db1")


def test_demo_bindings(demo):
    text = ok(demo, "ldm list-bindings -p ldg-db1 ldg-build")
    rows = records(text)
    db1 = rows[:[r[""] for r in rows].index("DOMAIN", 1)]
    assert [r for r in db1 if r[""] == "VDISK"] == [
        {"": "VDISK", "name": "vdisk0", "vol": "ldg-db1-boot@primary-vds0", "timeout": "", "dev": "disk@0",
         "server": "primary", "mpgroup": "", "id": "0"},
        {"": "VDISK", "name": "vdisk1", "vol": "ldg-db1-data@primary-vds0", "timeout": "", "dev": "disk@1",
         "server": "primary", "mpgroup": "", "id": "1"}]
    assert sum(1 for r in db1 if r[""] == "" and "pid" in r) == 32
    build = rows[[r.get("name") for r in rows].index("ldg-build"):]
    assert [r[""] for r in build] == ["DOMAIN", "UUID", "MAC", "HOSTID", "CONTROL", "DEPENDENCY", "VARIABLES", "",
                                      "", "VNET", "VDISK", "VCONS"]
    assert build[-1] == {"": "VCONS", "group": "ldg-build", "service": "primary-vcc0@primary", "port": "",
                         "log": "on"}
    assert "IO\n|dev=pci@303|alias=pci_3\n" in ok(demo, "ldm ls-bindings -p ldg-app1")


def test_extended_listing_adds_softstate_for_running_domains(demo):
    assert "\n \nSOFTSTATE\nSolaris running\n \nUUID\n" in ok(demo, "ldm list -e ldg-web1")
    assert "SOFTSTATE" not in ok(demo, "ldm list -e ldg-test")
    assert "SOFTSTATE" not in ok(demo, "ldm list -l ldg-web1")


def test_services(demo):
    text = ok(demo, "ldm ls-services -p")
    assert text.splitlines()[1] == "VCC|name=primary-vcc0|ldom=primary|port-range=5000-5100"
    assert "|vol=ldg-db1-data|opts=|dev=/dev/zvol/dsk/ldompool/ldg-db1-data|mpgroup=\n" in text
    human = ok(demo, "ldm list-services")
    assert human.startswith("VCC\n    NAME             LDOM             PORT-RANGE\n"
                            "    primary-vcc0     primary          5000-5100\n \nVSW\n")
    assert "\n    primary-vds0     primary          ldg-web1-boot" in human


def test_devices_free_and_all(world):
    free = records(ok(world, "ldm list-devices -p cpu"))
    assert free[0] == {"": "VCPU"}
    assert [r["pid"] for r in free[1:]] == [str(pid) for pid in range(16, 64)]
    assert all(r["free"] == "100" and r["pm"] == "no" for r in free[1:])
    every = records(ok(world, "ldm ls-devices -a -p cpu"))
    assert len(every) == 65 and every[1] == {"": "", "pid": "0", "free": "0", "pm": "no"}
    cores = records(ok(world, "ldm list-devices -p core"))[1:]
    assert [(r["cid"], r["free"]) for r in cores] == [(str(cid), "100") for cid in range(2, 8)]
    memory = ok(world, "ldm list-devices -a -p memory")
    assert memory == ("VERSION 1.11\nMEMORY\n|pa=0xa00000|size=33554432|bound=_sys_\n"
                      "|pa=0x2a00000|size=100663296|bound=_sys_\n|pa=0x8a00000|size=392167424|bound=_sys_\n"
                      f"|pa=0x20000000|size={32 * G}|bound=primary\n|pa=0x820000000|size={223 * G + 512 * M}|bound=\n")
    assert ok(world, "ldm list-devices -p memory") == \
        f"VERSION 1.11\nMEMORY\n|pa=0x820000000|size={223 * G + 512 * M}\n"
    assert ok(world, "ldm list-devices -p crypto") == "VERSION 1.11\n"
    assert ok(world, "ldm list-devices -a -p io").endswith("|dev=pci@303|alias=pci_3|bound=\n")


def test_human_devices(world):
    assert ok(world, "ldm list-devices memory") == \
        "MEMORY\n    PA                   SIZE\n    0x820000000          228864M\n"
    assert ok(world, "ldm list-devices -a mem").splitlines()[1:3] == [
        "    PA                   SIZE            BOUND", "    0xa00000             32M             _sys_"]
    cpu = ok(world, "ldm list-devices cpu").splitlines()
    assert cpu[:3] == ["VCPU", "    PID     %FREE   PM", "    16      100     no"]
    assert ok(world, "ldm list-devices core").splitlines()[:3] == [
        "CORE", "    ID      %FREE   CPUSET", "    2       100     (16, 17, 18, 19, 20, 21, 22, 23)"]
    assert ok(world, "ldm ls-devices").startswith("CORE\n")


def test_constraints_of_the_world(demo):
    text = ok(demo, "ldm list-constraints -p ldg-db1")
    assert text.splitlines()[1:] == [
        "DOMAIN|name=ldg-db1", f"UUID|uuid={demo.domains['ldg-db1'].uuid}",
        f"MAC|mac-addr={demo.domains['ldg-db1'].mac}",
        "CONTROL|failure-policy=ignore|extended-mapin-space=on|cpu-arch=native", "VCPU|count=32",
        f"MEMORY|size={64 * G}", "VARIABLES", "|auto-boot?=true", "|boot-device=vdisk0",
        f"VNET|name=vnet0|dev=network@0|service=primary-vsw0|mac-addr={demo.domains['ldg-db1'].vnets[0].mac}",
        "VDISK|name=vdisk0|vol=ldg-db1-boot@primary-vds0", "VDISK|name=vdisk1|vol=ldg-db1-data@primary-vds0"]
    assert ok(demo, "ldm ls-constraints ldg-build").startswith("DOMAIN\nldg-build\n \nVCPU\n    COUNT\n    8\n")
    assert "<ldom_name>ldg-test</ldom_name>" in ok(demo, "ldm list-constraints -x ldg-test")
    assert ok(demo, "ldm list-constraints").count(BLOCK_SEPARATOR) == 5
    assert refused(demo, "ldm list-constraints -p -x").startswith("Usage:\n")


def test_variables(demo):
    assert ok(demo, "ldm list-variable ldg-web1") == "auto-boot?=true\nboot-device=vdisk0\n"
    assert ok(demo, "ldm ls-var boot-device ldg-web1") == "boot-device=vdisk0\n"
    ok(demo, "ldm set-var 'nvramrc=devalias vnet0 /virtual-devices@100/channel-devices@200/network@0' "
             "use-nvramrc?=true ldg-web1")
    assert ok(demo, "ldm list-variable nvramrc use-nvramrc? ldg-web1") == \
        "nvramrc=devalias vnet0 /virtual-devices@100/channel-devices@200/network@0\nuse-nvramrc?=true\n"
    assert "not found" in refused(demo, "ldm list-variable boot-file ldg-web1")


def test_version_and_hostname(world):
    assert ok(world, "ldm -V") == format_version()
    assert ok(world, "hostname") == "t7-a\n"


# -- the world: life cycle and resources ----------------------------------------------------------

LIFECYCLE = [
    "ldm add-domain ldg5",
    "ldm add-vcpu 4 ldg5",
    "ldm add-memory 1024m ldg5",
    "ldm add-vnet vnet0 primary-vsw0 ldg5",
    "zfs create -V 20G ldompool/ldg5-boot",
    "ldm add-vdsdev /dev/zvol/dsk/ldompool/ldg5-boot ldg5-boot@primary-vds0",
    "ldm add-vdisk vdisk0 ldg5-boot@primary-vds0 ldg5",
    "ldm set-var auto-boot?=true ldg5",
    "ldm bind ldg5",
    "ldm start ldg5",
]


def test_the_lifecycle_from_the_product_spec(world, clock):
    for line in LIFECYCLE[:-2]:
        assert ok(world, line) == ""
    assert domain_record(world, "ldg5") == {"": "DOMAIN", "name": "ldg5", "state": "inactive", "flags": "------",
                                            "cons": "", "ncpu": "4", "mem": "1073741824", "util": "", "uptime": "",
                                            "norm_util": ""}
    assert ok(world, "ldm bind ldg5") == ""
    assert domain_record(world, "ldg5")["state"] == "bound"
    assert domain_record(world, "ldg5")["cons"] == "5000"
    assert ok(world, "ldm start ldg5") == "LDom ldg5 started\n"
    record = domain_record(world, "ldg5")
    assert (record["state"], record["flags"], record["ncpu"], record["mem"], record["cons"], record["uptime"]) == \
        ("active", "-n----", "4", "1073741824", "5000", "0")
    bindings = ok(world, "ldm list-bindings -p ldg5")
    assert "\nVCPU\n|vid=0|pid=16|util=" in bindings
    assert f"\nMEMORY\n|ra=0x10000000|pa=0x820000000|size={G}\n" in bindings
    assert "\nVARIABLES\n|auto-boot?=true\n" in bindings
    assert ("\nVDISK|name=vdisk0|vol=ldg5-boot@primary-vds0|timeout=|dev=disk@0|server=primary|mpgroup=|id=0\n"
            in bindings)
    assert bindings.endswith("\nVCONS|group=ldg5|service=primary-vcc0@primary|port=5000|log=on\n")
    assert "|vol=ldg5-boot|opts=|dev=/dev/zvol/dsk/ldompool/ldg5-boot|mpgroup=\n" in ok(world, "ldm ls-services -p")

    clock.advance(125)
    assert domain_record(world, "ldg5")["uptime"] == "125"
    assert ok(world, "ldm stop ldg5") == "LDom ldg5 stopped\n"
    assert domain_record(world, "ldg5")["state"] == "bound"
    assert ok(world, "ldm unbind ldg5") == ""
    assert domain_record(world, "ldg5")["state"] == "inactive"
    assert world.free_strands() == list(range(16, 64))
    assert ok(world, "ldm remove-domain ldg5") == ""
    assert refused(world, "ldm list ldg5") == "Domain ldg5 not found\n"
    assert [r["name"] for r in records(ok(world, "ldm list -p"))] == ["primary"]


def test_the_lifecycle_as_one_shell_line(world):
    reply = sh(world, " && ".join(LIFECYCLE) + "; ldm list -p ldg5")
    assert reply.exit_status == 0, reply.stderr
    assert reply.stdout.startswith("LDom ldg5 started\nVERSION 1.11\nDOMAIN|name=ldg5|state=active|")


def test_binding_takes_strands_and_unbinding_frees_them(world):
    ok(world, "ldm add-domain big; ldm set-vcpu 40 big; ldm set-mem 1G big; ldm bind big")
    assert len(world.free_strands()) == 8
    ok(world, "ldm add-domain two && ldm add-vcpu 16 two && ldm add-memory 1G two")
    assert refused(world, "ldm bind two") == "Not enough free vcpus for LDom two: 16 requested, 8 available\n"
    assert domain_record(world, "two")["state"] == "inactive"
    assert len(world.free_strands()) == 8
    ok(world, "ldm unbind big")
    assert len(world.free_strands()) == 48
    ok(world, "ldm bind two")
    assert domain_record(world, "two")["state"] == "bound"


def test_binding_takes_memory_and_fails_without_enough(world):
    ok(world, "ldm add-domain huge; ldm add-vcpu 1 huge; ldm add-memory 224G huge")
    assert refused(world, "ldm bind huge") == \
        f"Not enough free memory for LDom huge: 224G requested, {223 * 1024 + 512}M available\n"
    ok(world, "ldm set-memory 223G huge; ldm bind huge")
    free = "ldm list-devices -p memory"
    assert ok(world, free) == f"VERSION 1.11\nMEMORY\n|pa={0x820000000 + 223 * G:#x}|size={512 * M}\n"
    ok(world, "ldm unbind huge")
    assert ok(world, free) == f"VERSION 1.11\nMEMORY\n|pa=0x820000000|size={223 * G + 512 * M}\n"


def test_memory_can_come_in_several_blocks(world):
    for name in ("a", "b", "c"):
        ok(world, f"ldm add-domain {name}; ldm add-vcpu 1 {name}; ldm add-memory 1G {name}")
    ok(world, "ldm bind a; ldm bind b; ldm unbind a; ldm set-mem 2G c; ldm bind c")
    assert f"\nMEMORY\n|ra=0x10000000|pa=0x820000000|size={G}\n|ra=0x50000000|pa=0x8a0000000|size={G}\n" in \
        ok(world, "ldm list-bindings -p c")


def test_binding_needs_a_vcpu_and_memory(world):
    ok(world, "ldm add-domain empty")
    assert refused(world, "ldm bind empty") == \
        "Could not bind LDom empty: it needs at least 1 vcpu and 256M of memory\n"


def test_console_ports_are_the_lowest_free_ones(world):
    for name in ("x", "y", "z"):
        ok(world, f"ldm add-domain {name}; ldm add-vcpu 1 {name}; ldm add-memory 256M {name}")
    ok(world, "ldm bind x; ldm bind y")
    assert (domain_record(world, "x")["cons"], domain_record(world, "y")["cons"]) == ("5000", "5001")
    ok(world, "ldm unbind x; ldm bind z")
    assert domain_record(world, "z")["cons"] == "5000"
    assert domain_record(world, "x")["cons"] == ""


def test_start_and_stop_all(demo):
    ok(demo, "ldm stop -a")
    assert {r["name"]: r["state"] for r in records(ok(demo, "ldm list -p"))} == {
        "primary": "active", "ldg-web1": "bound", "ldg-db1": "bound", "ldg-app1": "bound", "ldg-test": "bound",
        "ldg-build": "inactive"}
    assert ok(demo, "ldm start -a") == \
        "LDom ldg-web1 started\nLDom ldg-db1 started\nLDom ldg-app1 started\nLDom ldg-test started\n"
    assert ok(demo, "ldm stop-domain -f ldg-test ldg-web1") == "LDom ldg-test stopped\nLDom ldg-web1 stopped\n"


def test_reboot_restarts_the_uptime(demo, clock):
    clock.advance(30)
    assert domain_record(demo, "ldg-web1")["uptime"] == str(12 * DAY + 3 * HOUR + 41 * MINUTE + 30)
    assert ok(demo, "ldm stop -r ldg-web1") == ""
    clock.advance(5)
    assert domain_record(demo, "ldg-web1")["uptime"] == "5"


def test_active_guests_are_reconfigured_at_once(demo):
    free = len(demo.free_strands())
    reply = sh(demo, "ldm add-vcpu 2 ldg-web1; ldm set-memory 12G ldg-web1")
    assert reply == Reply("", "", 0)
    record = domain_record(demo, "ldg-web1")
    assert (record["ncpu"], record["mem"], record["flags"]) == ("6", str(12 * G), "-n----")
    assert len(demo.free_strands()) == free - 2
    ok(demo, "ldm remove-vcpu 6 ldg-db1; ldm rm-mem 32G ldg-db1")
    assert domain_record(demo, "ldg-db1")["ncpu"] == "26"
    bindings = ok(demo, "ldm list-bindings -p ldg-db1")
    assert bindings.count("\n|vid=") == 26 and f"|size={32 * G}\n" in bindings


def test_changing_the_active_control_domain_starts_a_delayed_reconfiguration(demo, clock):
    reply = sh(demo, "ldm add-vcpu 2 primary")
    assert reply.exit_status == 0 and reply.stdout == ""
    assert reply.stderr.startswith("Initiating a delayed reconfiguration operation on the primary domain.\n")
    assert domain_record(demo, "primary")["flags"] == "-ndcv-"
    assert domain_record(demo, "primary")["ncpu"] == "18"
    assert "flags=normal,delayed-reconfig,control,vio-service" in ok(demo, "ldm ls -l -p primary")

    notice = ("----------------------------------------------------------------\n"
              "Notice: LDom primary is in the process of a delayed reconfiguration.\n"
              "Any changes made to primary will only take effect after it reboots.\n"
              "----------------------------------------------------------------\n")
    # as the recorded ldm of tests/fixtures/cases/ldoms-primary-delayed-reconfig-guest-dr: the notice on stdout,
    # the refusal on stderr, exit 1
    for line, name in (("ldm stop ldg-web1", "ldg-web1"), ("ldm add-domain ldg9", "ldg9"),
                       ("ldm add-vcpu 1 ldg-web1", "ldg-web1"), ("ldm set-mem 1G ldg-test", "ldg-test"),
                       ("ldm start ldg-test", "ldg-test"), ("ldm set-var auto-boot?=false ldg-web1", "ldg-web1")):
        assert sh(demo, line) == Reply(notice, f"Delayed reconfiguration of LDom {name} is not permitted\n", 1), line
    assert sh(demo, "ldm set-mem 16G primary") == Reply("", notice, 0)
    assert sh(demo, "ldm list -p").stderr == "", "listing is not a change: no notice, no refusal"

    clock.advance(600)
    assert refused(demo, "ldm stop primary").startswith("LDom primary is the control domain and cannot be stopped")
    assert ok(demo, "ldm stop -r primary") == ""
    record = domain_record(demo, "primary")
    assert (record["flags"], record["uptime"], record["ncpu"], record["mem"]) == ("-n-cv-", "0", "18", str(16 * G))
    assert ok(demo, "ldm stop ldg-web1") == "LDom ldg-web1 stopped\n"


def test_the_demo_root_domain_has_a_delayed_reconfiguration_until_it_stops(demo):
    assert domain_record(demo, "ldg-app1")["flags"] == "-nd---"
    reply = sh(demo, "ldm set-memory 4G ldg-app1")
    assert reply.exit_status == 0
    assert "Notice: LDom ldg-app1 is in the process of a delayed reconfiguration.\n" in reply.stderr
    assert sh(demo, "ldm add-vcpu 1 ldg-web1").stderr == "", "other domains are not affected"
    assert ok(demo, "ldm stop ldg-app1; ldm start ldg-app1") == "LDom ldg-app1 stopped\nLDom ldg-app1 started\n"
    assert domain_record(demo, "ldg-app1")["flags"] == "-n----"


def test_vnets_and_vdisks(world):
    ok(world, "ldm add-domain g; zfs create -V 8G ldompool/g-data")
    ok(world, "ldm add-vdsdev options=ro,slice /dev/zvol/dsk/ldompool/g-data g-data@primary-vds0")
    ok(world, "ldm add-vnet mac-addr=00:14:4f:f9:00:01 pvid=10 vid=20,30 mtu=9000 vnet1 primary-vsw0@primary g")
    ok(world, "ldm add-vnet vnet0 primary-vsw0 g")
    ok(world, "ldm add-vdisk id=3 timeout=30 data g-data@primary-vds0 g")
    text = ok(world, "ldm list-bindings -p g")
    assert "VNET|name=vnet1|dev=network@0|service=primary-vsw0@primary|mac-addr=00:14:4f:f9:00:01|mode=|pvid=10" \
           "|vid=20,30|mtu=9000|id=0\n" in text
    assert "VNET|name=vnet0|dev=network@1|" in text
    assert "VDISK|name=data|vol=g-data@primary-vds0|timeout=30|dev=disk@3|server=primary|mpgroup=|id=3\n" in text
    assert "|vol=g-data|opts=ro,slice|dev=/dev/zvol/dsk/ldompool/g-data|mpgroup=\n" in ok(world, "ldm ls-services -p")
    ok(world, "ldm rm-vnet vnet1 g; ldm remove-vdisk data g; ldm remove-vdsdev g-data@primary-vds0")
    text = ok(world, "ldm list-bindings -p g")
    assert "vnet1" not in text and "VDISK" not in text
    assert "g-data" not in ok(world, "ldm list-services -p")


def test_peers_are_the_switch_and_the_other_bound_vnets(demo):
    text = ok(demo, "ldm list -l ldg-web1")
    peers = text[text.index("        PEER"):].split("\n \n")[0].splitlines()
    assert [line.split()[0] for line in peers] == ["PEER", "primary-vsw0@primary", "vnet0@ldg-db1", "vnet0@ldg-app1",
                                                   "vnet0@ldg-test"]


# -- the world: rejections ------------------------------------------------------------------------

def state_world(clock: Clock) -> LdomsWorld:
    """Guests named after their state."""
    world = LdomsWorld("t7-a", seed=1, clock=clock)
    for name in ("inactive", "bound", "active"):
        ok(world, f"ldm add-domain {name}; ldm add-vcpu 1 {name}; ldm add-memory 256M {name}")
    ok(world, "ldm bind bound; ldm bind active; ldm start active")
    return world


@pytest.mark.parametrize(("subcommand", "state"), sorted(WRONG_STATE, key=str))
def test_lifecycle_commands_refuse_the_wrong_state(clock, subcommand, state):
    world = state_world(clock)
    before = ok(world, "ldm list -p")
    expected = WRONG_STATE[(subcommand, state)].format(name=state.value)
    assert refused(world, f"ldm {subcommand} {state.value}") == expected + "\n"
    assert ok(world, "ldm list -p") == before


@pytest.mark.parametrize(("line", "message"), [
    ("ldm add-vcpu 1 nope", "Domain nope not found"),
    ("ldm set-memory 1G nope", "Domain nope not found"),
    ("ldm bind nope", "Domain nope not found"),
    ("ldm start nope", "Domain nope not found"),
    ("ldm stop nope", "Domain nope not found"),
    ("ldm unbind nope", "Domain nope not found"),
    ("ldm rm-dom nope", "Domain nope not found"),
    ("ldm list-bindings nope", "Domain nope not found"),
    ("ldm list-constraints nope", "Domain nope not found"),
    ("ldm list-variable nope", "Domain nope not found"),
    ("ldm set-var a=b nope", "Domain nope not found"),
    ("ldm add-vnet vnet0 primary-vsw0 nope", "Domain nope not found"),
    ("ldm add-domain ldg-web1", "Domain ldg-web1 already exists"),
    ("ldm add-domain primary", "Domain primary already exists"),
    ("ldm add-domain 1ldg", "Invalid domain name: 1ldg"),
    ("ldm add-domain _ldg", "Invalid domain name: _ldg"),
    ("ldm add-domain 'ldg 1'", "Invalid domain name: ldg 1"),
    ("ldm add-domain ldg/1", "Invalid domain name: ldg/1"),
    ("ldm add-domain " + "a" * 65, "Invalid domain name: " + "a" * 65),
    ("ldm add-vnet vnet9 primary-vsw9 ldg-web1", "Virtual switch primary-vsw9 not found"),
    ("ldm add-vnet vnet0 primary-vsw0 ldg-web1", "Network device vnet0 already exists in LDom ldg-web1"),
    ("ldm add-vnet mac-addr=zz vnet1 primary-vsw0 ldg-web1", "Invalid or duplicate MAC address: zz"),
    ("ldm add-vnet pvid=5000 vnet1 primary-vsw0 ldg-web1",
     "VLAN ids must be between 1 and 4094 and the MTU between 1500 and 16000"),
    ("ldm rm-vnet vnet7 ldg-web1", "Network device vnet7 not found in LDom ldg-web1"),
    ("ldm add-vdsdev /dev/zvol/dsk/ldompool/sol11-gold ldg-web1-boot@primary-vds0",
     "Volume ldg-web1-boot@primary-vds0 already exists"),
    ("ldm add-vdsdev /dev/zvol/dsk/ldompool/nope new@primary-vds0",
     "Path /dev/zvol/dsk/ldompool/nope is not valid on service domain primary"),
    ("ldm add-vdsdev /dev/zvol/dsk/ldompool/sol11-gold@2024-06 new@primary-vds0",
     "Path /dev/zvol/dsk/ldompool/sol11-gold@2024-06 is not valid on service domain primary"),
    ("ldm add-vdsdev /dev/dsk/c0t0d0s2 new@primary-vds0",
     "Path /dev/dsk/c0t0d0s2 is not valid on service domain primary"),
    ("ldm add-vdsdev /dev/zvol/dsk/ldompool/sol11-gold new@primary-vds9", "Virtual disk server primary-vds9 not found"),
    ("ldm add-vdsdev options=rw /dev/zvol/dsk/ldompool/sol11-gold new@primary-vds0", "Invalid options: rw"),
    ("ldm rm-vdsdev nope@primary-vds0", "Volume nope@primary-vds0 does not exist"),
    ("ldm rm-vdsdev ldg-db1-data@primary-vds0",
     "Volume ldg-db1-data@primary-vds0 is attached to disk vdisk1 of LDom ldg-db1"),
    ("ldm add-vdisk vdisk1 nope@primary-vds0 ldg-web1", "Volume nope@primary-vds0 not found"),
    ("ldm add-vdisk vdisk0 ldg-web1-boot@primary-vds0 ldg-web1", "Disk vdisk0 already exists in LDom ldg-web1"),
    ("ldm add-vdisk id=0 vdisk1 ldg-web1-boot@primary-vds0 ldg-web1", "The disk id 0 is already in use"),
    ("ldm add-vdisk timeout=soon vdisk1 ldg-web1-boot@primary-vds0 ldg-web1", "Invalid timeout: soon"),
    ("ldm rm-vdisk vdisk9 ldg-web1", "Disk vdisk9 not found in LDom ldg-web1"),
    ("ldm list-variable boot-file ldg-web1", "Variable boot-file not found"),
    ("ldm add-memory 1000m ldg-build", "Invalid memory size: 1000m is not a multiple of 256M"),
    ("ldm add-memory lots ldg-build", "Invalid memory size: lots"),
    ("ldm add-vcpu many ldg-build", "Invalid vcpu count: many"),
    ("ldm remove-vcpu 9 ldg-build", "LDom ldg-build has only 8 vcpus"),
    ("ldm remove-memory 32G ldg-build", "LDom ldg-build has only 16G of memory"),
    ("ldm set-vcpu 0 ldg-test", "LDom ldg-test is bound and needs at least 1 vcpu and 256M of memory"),
    ("ldm set-memory 0 ldg-web1", "LDom ldg-web1 is active and needs at least 1 vcpu and 256M of memory"),
    ("ldm add-vcpu 9 ldg-web1", "Not enough free vcpus for LDom ldg-web1: 9 requested, 8 available"),
    ("ldm stop primary", "LDom primary is the control domain and cannot be stopped; use stop -r to reboot it"),
    ("ldm rm-dom primary", "LDom primary must be stopped and unbound before it can be removed"),
    ("ldm unbind primary", "LDom primary must be stopped before it can be unbound"),
])
def test_rejections(demo, line, message):
    before = ok(demo, "ldm list -l -p") + ok(demo, "ldm list-services -p") + ok(demo, "zfs list -H -p -t all")
    reply = sh(demo, line)
    assert reply.exit_status == 1
    assert reply.stderr == message + "\n"
    after = ok(demo, "ldm list -l -p") + ok(demo, "ldm list-services -p") + ok(demo, "zfs list -H -p -t all")
    assert after == before, "a refused command changes nothing"


@pytest.mark.parametrize("name", ["a", "A.b_c-1", "ldg-web2", "x" * 64, "DR-PRD02-CIFTPDB01"])
def test_valid_domain_names(world, name):
    assert ok(world, f"ldm add-domain {name}") == ""
    assert domain_record(world, name)["name"] == name


@pytest.mark.parametrize("line", [
    "ldm add-domain", "ldm add-domain a b", "ldm add-vcpu 1", "ldm bind", "ldm bind a b", "ldm start", "ldm stop",
    "ldm start -a ldg-test", "ldm list -z", "ldm add-vnet vnet0 ldg-web1", "ldm add-vnet color=red v s d",
    "ldm add-vdsdev /dev/zvol/dsk/ldompool/x", "ldm add-vdsdev /a volnoservice", "ldm rm-vdsdev x",
    "ldm add-vdisk d v@primary-vds0", "ldm set-var ldg-web1", "ldm set-var novalue ldg-web1", "ldm list-variable",
    "ldm list-devices disks", "ldm list-services extra", "ldm remove-domain",
])
def test_usage_errors(demo, line):
    assert refused(demo, line).startswith("Usage:\n    ldm ")


def test_unknown_subcommand_and_bare_ldm(world):
    assert refused(world, "ldm frobnicate").startswith("Invalid command: frobnicate\nUsage:\n    ldm list-domain ")
    assert refused(world, "ldm").startswith("Usage:\n")


@pytest.mark.parametrize(("short", "long"), [
    ("list", "list-domain"), ("ls", "list-domain"), ("bind", "bind-domain"), ("unbind", "unbind-domain"),
    ("start", "start-domain"), ("stop", "stop-domain"), ("rm-dom", "remove-domain"), ("add-dom", "add-domain"),
    ("ls-bindings", "list-bindings"), ("ls-services", "list-services"), ("ls-constraints", "list-constraints"),
    ("ls-devices", "list-devices"), ("set-var", "set-variable"), ("ls-var", "list-variable"),
    ("add-mem", "add-memory"), ("set-mem", "set-memory"), ("rm-mem", "remove-memory"), ("rm-vcpu", "remove-vcpu"),
    ("rm-vnet", "remove-vnet"), ("rm-vdsdev", "remove-vdsdev"), ("rm-vdisk", "remove-vdisk"),
    ("list-domain", "list-domain"),
])
def test_short_names(short, long):
    assert canonical_subcommand(short) == long


def test_short_and_long_names_print_the_same(demo):
    assert ok(demo, "ldm ls -p") == ok(demo, "ldm list-domain -p")
    assert ok(demo, "ldm ls-devices -a -p") == ok(demo, "ldm list-devices -a -p")


# -- ZFS ------------------------------------------------------------------------------------------


def test_zfs_create_snapshot_clone_destroy_and_list(world):
    assert ok(world, "zfs list -H -p -t volume") == ""
    ok(world, "zfs create -V 20G ldompool/ldg5-boot")
    assert ok(world, "zfs list -H -p -t volume -o name,used,volsize,origin") == \
        "ldompool/ldg5-boot\t21474836480\t21474836480\t-\n"
    ok(world, "zfs snapshot ldompool/ldg5-boot@gold")
    ok(world, "zfs clone ldompool/ldg5-boot@gold ldompool/ldg6-boot")
    assert ok(world, "zfs list -H -p -t volume,snapshot -o name,used,volsize,origin") == (
        "ldompool/ldg5-boot\t21474836480\t21474836480\t-\n"
        "ldompool/ldg5-boot@gold\t0\t21474836480\t-\n"
        "ldompool/ldg6-boot\t0\t21474836480\tldompool/ldg5-boot@gold\n")
    assert ok(world, "zfs list -H -o name,type -t snapshot") == "ldompool/ldg5-boot@gold\tsnapshot\n"
    assert ok(world, "zfs list -H -p -o name ldompool/ldg6-boot") == "ldompool/ldg6-boot\n"
    assert ok(world, "zfs list -H -o name -r -t all ldompool/ldg5-boot") == \
        "ldompool/ldg5-boot\nldompool/ldg5-boot@gold\n"

    assert refused(world, "zfs destroy ldompool/ldg5-boot") == (
        "cannot destroy 'ldompool/ldg5-boot': volume has children\n"
        "use '-r' to destroy the following datasets:\nldompool/ldg5-boot@gold\n")
    assert refused(world, "zfs destroy ldompool/ldg5-boot@gold") == (
        "cannot destroy 'ldompool/ldg5-boot@gold': snapshot has dependent clones\n"
        "use '-R' to destroy the following datasets:\nldompool/ldg6-boot\n")
    # Solaris 11 zfs_main.c destroy_check_dependent names the dataset given, with its type
    assert refused(world, "zfs destroy -r ldompool/ldg5-boot") == (
        "cannot destroy 'ldompool/ldg5-boot': volume has dependent clones\n"
        "use '-R' to destroy the following datasets:\nldompool/ldg6-boot\n")
    ok(world, "zfs destroy ldompool/ldg6-boot && zfs destroy -r ldompool/ldg5-boot")
    assert ok(world, "zfs list -H -p -t all -o name") == "ldompool\n"


def test_zfs_default_listing_and_space(world):
    ok(world, "zfs create -V 20G ldompool/a; zfs create -V 1536M ldompool/b; zfs snapshot ldompool/a@s1")
    assert ok(world, "zfs list") == (
        "NAME         USED  AVAIL  REFER  MOUNTPOINT\n"
        "ldompool    21.5G  1.98T    32K  /ldompool\n"
        "ldompool/a    20G  1.98T      0  -\n"
        "ldompool/b  1.50G  1.98T      0  -\n")
    assert ok(world, "zfs list -H -p -o name,available ldompool") == \
        f"ldompool\t{2 * 1024 ** 4 - 20 * G - 1536 * M - 32 * 1024}\n"


#: Solaris 11 zfs_main.c get_usage(HELP_LIST), with -p
LIST_USAGE = ("\tlist [-rHp][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...\n"
              "\t    [-S property] ... [filesystem|volume|snapshot] ...")


@pytest.mark.parametrize(("line", "message", "status"), [
    ("zfs create -V 1G ldompool/sol11-gold", "cannot create 'ldompool/sol11-gold': dataset already exists", 1),
    ("zfs create -V 1G tank/x", "cannot create 'tank/x': no such pool 'tank'", 1),
    ("zfs create -V 1G ldompool/a/b", "cannot create 'ldompool/a/b': parent does not exist", 1),
    ("zfs create -V 1000 ldompool/x",
     "cannot create 'ldompool/x': volume size must be a multiple of volume block size", 1),
    ("zfs create -V 9T ldompool/x", "cannot create 'ldompool/x': out of space", 1),
    ("zfs create -V big ldompool/x", "bad volume size 'big': bad numeric value 'big'", 1),
    ("zfs snapshot ldompool/nope@s", "cannot open 'ldompool/nope': dataset does not exist", 1),
    ("zfs snapshot ldompool/sol11-gold@2024-06",
     "cannot create snapshot 'ldompool/sol11-gold@2024-06': dataset already exists", 1),
    ("zfs clone ldompool/sol11-gold ldompool/x",
     "cannot open 'ldompool/sol11-gold': operation not applicable to datasets of this type", 1),
    ("zfs clone ldompool/sol11-gold@nope ldompool/x",
     "cannot open 'ldompool/sol11-gold@nope': dataset does not exist", 1),
    ("zfs clone ldompool/sol11-gold@2024-06 ldompool/ldg-web1-boot",
     "cannot create 'ldompool/ldg-web1-boot': dataset already exists", 1),
    ("zfs destroy ldompool/ldg-web1-boot", "cannot destroy 'ldompool/ldg-web1-boot': dataset is busy", 1),
    ("zfs destroy ldompool/nope", "cannot open 'ldompool/nope': dataset does not exist", 1),
    ("zfs destroy ldompool", "cannot destroy 'ldompool': operation does not apply to pools\n"
                             "use 'zfs destroy -r ldompool' to destroy all datasets in the pool\n"
                             "use 'zpool destroy ldompool' to destroy the pool itself", 1),
    ("zfs list ldompool/nope", "cannot open 'ldompool/nope': dataset does not exist", 1),
    ("zfs list -o name,colour", "bad property list: invalid property 'colour'\nusage:\n" + LIST_USAGE, 2),
    ("zfs list -t bookmark", "invalid type 'bookmark'\nusage:\n" + LIST_USAGE, 2),
    ("zfs list -x", "invalid option 'x'\nusage:\n" + LIST_USAGE, 2),
    ("zfs create -s ldompool/fs", "'-s' and '-b' can only be used when creating a volume\nusage:\n"
                                  "\tcreate [-p] [-o property=value] ... <filesystem>\n"
                                  "\tcreate [-ps] [-b blocksize] [-o property=value] ... -V <size> <volume>", 2),
])
def test_zfs_rejections(demo, line, message, status):
    reply = sh(demo, line)
    assert (reply.stdout, reply.stderr, reply.exit_status) == ("", message + "\n", status)


def test_zfs_without_or_with_an_unknown_subcommand(world):
    assert refused(world, "zfs").startswith("usage: zfs command args ...\n")
    assert refused(world, "zfs send x").startswith("unrecognized command 'send'\nusage: zfs command args ...\n")


def test_a_zvol_is_busy_only_while_exported(world):
    ok(world, "zfs create -V 1G ldompool/v; ldm add-vdsdev /dev/zvol/dsk/ldompool/v v@primary-vds0")
    assert refused(world, "zfs destroy ldompool/v") == "cannot destroy 'ldompool/v': dataset is busy\n"
    ok(world, "ldm rm-vdsdev v@primary-vds0; zfs destroy ldompool/v")


def test_the_pool_alone():
    pool = ZfsPool("tank", 100 * G)
    pool.create_volume("tank/v", 10 * G)
    assert pool.available == 90 * G - 32 * 1024
    with pytest.raises(CommandError, match="out of space"):
        pool.create_volume("tank/w", 91 * G)


# -- counters and the clock -----------------------------------------------------------------------


def test_util_and_uptime_move_with_the_clock_and_nothing_else(demo, clock):
    first = ok(demo, "ldm list -p")
    assert ok(demo, "ldm list -p") == first, "no change without the clock moving"
    seen = set()
    for _ in range(12):
        clock.advance(10)
        seen.add(domain_record(demo, "ldg-web1")["util"])
    assert len(seen) > 3
    assert int(domain_record(demo, "ldg-web1")["uptime"]) == 12 * DAY + 3 * HOUR + 41 * MINUTE + 120
    norms = records(ok(demo, "ldm list -p"))
    assert all(float(r["norm_util"]) <= float(r["util"]) for r in norms if r["util"])


def test_the_same_seed_and_clock_give_the_same_world():
    def snapshot(seed: int) -> str:
        world = LdomsWorld.demo("t7-b", seed, clock=Clock(5_000.0))
        return ok(world, "ldm list-bindings -p") + ok(world, "ldm list") + ok(world, "zfs list -H -p")

    assert snapshot(42) == snapshot(42)
    assert snapshot(42) != snapshot(43)


def test_only_active_domains_have_counters(demo):
    assert demo.live(demo.domains["ldg-test"]) is None
    assert demo.live(demo.domains["ldg-build"]) is None
    counters = demo.live(demo.domains["ldg-db1"])
    assert len(counters.vcpu_util) == 32 and 0 <= counters.util <= 100


# -- running commands -----------------------------------------------------------------------------


def test_unknown_programs_are_not_found(world):
    with pytest.raises(CommandNotFound):
        world.run(["prtdiag", "-v"])
    assert sh(world, "prtdiag -v") == Reply("", "sh: 1: prtdiag: not found\n", 127)


def test_handle_takes_a_shell_line(demo):
    reply = asyncio.run(demo.handle("LANG=C ldm list -p ldg-test; ldm -V", None))
    assert reply.exit_status == 0
    assert reply.stdout.startswith("VERSION 1.11\nDOMAIN|name=ldg-test|state=bound|")
    assert reply.stdout.endswith(format_version())
    reply = asyncio.run(demo.handle("ldm list 'ldg test'", None))
    assert reply == Reply("", "Domain ldg test not found\n", 1)


def test_notices_go_to_stderr_and_leave_stdout_parseable(demo):
    reply = sh(demo, "ldm set-mem 4G ldg-app1; ldm list -p ldg-app1")
    assert reply.stdout.startswith("VERSION 1.11\nDOMAIN|name=ldg-app1|")
    assert "Notice:" in reply.stderr
