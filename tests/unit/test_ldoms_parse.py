"""ldm's pure layer: every sample of shared/formats/ldm.md, field by field, and the malformed cases.

The samples live in tests/fixtures/ldm/ (README.md there gives the source and confidence of each)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hvdeck.backends.errors import ParseError
from hvdeck.backends.ldoms import parse
from hvdeck.backends.ldoms.parse import (
    Constraints,
    Core,
    Devices,
    LdmVersion,
    LongListing,
    MemoryBlock,
    Services,
    Strand,
    Vcc,
    Vds,
    VdsVolume,
    Vsw,
)
from hvdeck.backends.model import Bindings, ConsoleDev, Cpu, Disk, Domain, DomainState, Memory, Nic, Section, VcpuPin

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ldm"
REPLAY = FIXTURES / "replay"
G, M = 2**30, 2**20
RUNNING, STOPPED, TRANSITION, UNKNOWN = (DomainState.RUNNING, DomainState.STOPPED, DomainState.TRANSITION,
                                         DomainState.UNKNOWN)


def sample(name: str) -> str:
    return (FIXTURES / name).read_text()


def uptime(d: int = 0, h: int = 0, m: int = 0, s: int = 0) -> int:
    return ((d * 24 + h) * 60 + m) * 60 + s


def domain(name, state, native, flags, cons, vcpus, mem, util=None, norm=None, up=None, host="cdom"):
    extra = (("norm", norm),) if norm is not None else ()
    return Domain(host=host, name=name, state=state, native_state=native, id=None, uuid=None, vcpus=vcpus,
                  memory_bytes=mem, max_memory_bytes=None, cpu_percent=util, uptime_s=up, console=cons,
                  extra=extra, flags=flags, flags_meaning=", ".join(parse.decode_flags(flags)) if flags else "")


# --- flags and states (§1) --------------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "words"), [
    ("-n-cv-", ("normal", "control", "vio-service")),  # 3.x control domain
    ("-n----", ("normal",)),
    ("------", ()),
    ("-nd---", ("normal", "delayed reconfiguration")),
    ("-n---s", ("normal", "migration source")),
    ("-n--vt", ("normal", "vio-service", "migration target")),
    ("sdr--e", ("starting or stopping", "degraded", "memory dynamic reconfiguration", "migration error")),
    ("-t-cv", ("transition", "control", "vio-service")),  # 1.x: five columns
    ("-n-cv", ("normal", "control", "vio-service")),
    ("-----", ()),
    ("normal,control,vio-service", ("normal", "control", "vio-service")),  # -l -p word form
    ("normal", ("normal",)),
    ("Normal, Control", ("normal", "control")),
    ("", ()),
])
def test_decode_flags(flags, words):
    assert parse.decode_flags(flags) == words


@pytest.mark.parametrize(("state", "flags", "expected"), [
    ("active", "-n-cv-", RUNNING),
    ("bound", "------", STOPPED),
    ("inactive", "------", STOPPED),
    ("ACTIVE", "", RUNNING),
    ("suspended", "-n---s", TRANSITION),  # a migrating source (§1.1, UNCERTAIN there)
    ("suspended", "", TRANSITION),
    ("paused", "-n----", UNKNOWN),  # no such word in ldm.md
    ("", "", UNKNOWN),
    ("active", "s-----", TRANSITION),  # column 1: starting or stopping
    ("active", "-t-cv", TRANSITION),  # column 2: transition, 1.x letters
    ("bound", "-t----", TRANSITION),
    ("active", "transition", TRANSITION),  # word form
    ("bound", "-----t", TRANSITION),  # column 6: the target of a migration in progress (§10.2)
    ("active", "-n---s", TRANSITION),  # the source of one
    ("active", "-n---e", UNKNOWN),  # a failed migration: "left in an error state" (§10.2)
    ("active", "-nd---", RUNNING),  # column 3 changes no state
    ("inactive", "--d---", STOPPED),  # column 2 degraded: still inactive
    ("active", "normal,control,vio-service", RUNNING),
])
def test_state_table_and_transition_flags(state, flags, expected):
    assert parse.domain_state(state, flags) is expected


# --- sizes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "size"), [
    ("32G", 32 * G), ("512M", 512 * M), ("1024k", M), ("1024K", M), ("1.5G", 1536 * M), ("512m", 512 * M),
    ("805306368", 805306368), ("768M", 768 * M), ("164G", 164 * G), (" 8G ", 8 * G), ("1T", 2**40), ("0", 0),
])
def test_parse_size(text, size):
    assert parse.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "12X", "1.5.5G", "-1G", "1e3", "\uff11\uff12G", "nan", "1_000", "8 G",
                                  "1" * 21])
def test_parse_size_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse.parse_size(text)


@pytest.mark.parametrize(("size", "text"), [
    (0, "0"), (512, "512"), (1024, "1K"), (805306368, "768M"), (8 * G, "8G"), (1536 * M, "1536M"),
    (2**40, "1T"), (1025, "1.0K"), (47272862140, "44.0G"), (136902082560, "130560M"),
])
def test_format_size_like_ldm(size, text):
    assert parse.format_size(size) == text


def test_format_size_rejects_negative():
    with pytest.raises(ValueError):
        parse.format_size(-1)


# --- ldm list -p (§3.2) -----------------------------------------------------------------------------------


def test_list_p_verbatim_ovm3_capture():
    mem = 47272862140
    assert parse.parse_list_p(sample("list-p-ovm3x.txt"), "cdom")[0].flags_meaning == "normal, control, vio-service"
    assert parse.parse_list_p(sample("list-p-ovm3x.txt"), "cdom") == (
        domain("primary", RUNNING, "active", "-n-cv-", "UART", 5, mem, 0.4, "0.4", 4772570),
        domain("host1", RUNNING, "active", "-n----", "5000", 1, mem, 1.4, "1.4", 173837),
        domain("host2", RUNNING, "active", "-n----", "5001", 16, mem, 1.4, "1.4", 1846649),
        domain("host3", RUNNING, "active", "-n----", "5002", 16, mem, 1.2, "1.2", 1847005),
    )


def test_list_p_bound_domain_without_util_or_uptime_and_no_version_line():
    # the 1.0 guide's machine-readable list shape (§3.2, RECONSTRUCTED from memory): empty util= and uptime=
    text = "DOMAIN|name=ldg1|state=bound|flags=-----|cons=5000|ncpu=1|mem=536870912|util=|uptime=\n"
    assert parse.parse_list_p(text, "cdom") == (
        domain("ldg1", STOPPED, "bound", "-----", "5000", 1, 512 * M),)


def test_list_p_reads_domain_lines_of_a_long_listing():
    domains = parse.parse_list_p(sample("list-bindings-p-ovm3x.txt"), "cdom")
    assert domains == (
        domain("primary", RUNNING, "active", "normal,control,vio-service", "UART", 16, 32 * G, 0.7, "0.7",
               3916800),
        domain("ldg1", RUNNING, "active", "normal", "5000", 8, 8 * G, 0.4, "0.4", 172800),
    )


def test_list_p_transition_flags():
    text = ("VERSION 1.11\n"
            "DOMAIN|name=a|state=active|flags=s-----|cons=5000|ncpu=1|mem=1|util=|uptime=\n"
            "DOMAIN|name=b|state=suspended|flags=-n---s|cons=|ncpu=|mem=|util=|uptime=\n")
    a, b = parse.parse_list_p(text, "h")
    assert (a.state, a.native_state) == (TRANSITION, "active")
    assert (b.state, b.native_state, b.console, b.vcpus, b.memory_bytes) == (TRANSITION, "suspended", None,
                                                                             None, None)


def test_empty_parseable_output_is_empty():
    assert parse.parse_list_p("", "h") == ()
    assert parse.parse_list_p("VERSION 1.11\n", "h") == ()
    assert parse.parse_bindings_p("\n\n", "h") == {}
    assert parse.parse_services_p("") == Services()
    assert parse.parse_devices_p("") == Devices()
    assert parse.parse_constraints_p("") == {}
    assert parse.parse_constraints_xml("  \n") == {}
    assert parse.parse_list_human("", "h") == ()
    assert parse.parse_long_human("\n") == ()


# --- the -p grammar (§3.1) ------------------------------------------------------------------------------


def test_tokenizer_on_the_verbatim_vcpu_fragment():
    parsed = parse.tokenize(sample("list-l-p-vcpu-ldoms13.txt"))
    assert parsed.version is None
    (vcpu,) = parsed.stanzas
    assert (vcpu.keyword, vcpu.head.attrs, vcpu.head.line_no) == ("VCPU", {}, 2)
    utils = ["0.7%", "", "", "", "0.7%", "", "", ""]
    assert [row.attrs for row in vcpu.rows] == [
        {"vid": str(i), "pid": str(i), "util": util, "strand": "100"} for i, util in enumerate(utils)]
    assert [row.line_no for row in vcpu.rows] == list(range(3, 11))


def test_tokenizer_values_with_equals_commas_empties_and_continuations():
    text = ("VERSION 1.6\n"
            "DOMAIN|name=ldg1|alias=\n"
            "VARIABLES |pm_boot_policy=disabled=0;ttfc=2000;ttmr=0;\n"  # as quoted from salt (§3.1)
            "|nvramrc=devalias vnet0 /virtual-devices@100/channel-devices@200/network@0\n"
            "devalias vnet1 /virtual-devices@100/channel-devices@200/network@1\n"
            ".\" ready\" cr\n"
            "|use-nvramrc?=true\n"
            "VSW|name=vsw0|vid=10|vid=20|\n")
    parsed = parse.tokenize(text)
    assert parsed.version == "1.6"
    dom, variables, vsw = parsed.stanzas
    assert dom.head.attrs == {"name": "ldg1", "alias": ""}
    assert variables.head.attrs == {"pm_boot_policy": "disabled=0;ttfc=2000;ttmr=0;"}
    assert [row.attrs for row in variables.rows] == [
        {"nvramrc": "devalias vnet0 /virtual-devices@100/channel-devices@200/network@0\n"
                    "devalias vnet1 /virtual-devices@100/channel-devices@200/network@1\n"
                    ".\" ready\" cr"},
        {"use-nvramrc?": "true"},
    ]
    assert vsw.head.attrs == {"name": "vsw0", "vid": "10,20"}


# --- ldm list-bindings -p, ldm list -l -p (§3.3-§3.5) ---------------------------------------------------


def test_vcpu_fragment_needs_its_domain_line():
    text = sample("list-l-p-vcpu-ldoms13.txt")
    with pytest.raises(ParseError, match="line 2: VCPU section before any DOMAIN line") as caught:
        parse.parse_bindings_p(text, "cdom")
    assert caught.value.line_no == 2
    # the doc page leaves out the DOMAIN line ldm prints first; with it the fragment reads fully
    bindings = parse.parse_bindings_p("DOMAIN|name=primary|ncpu=8\n" + text, "cdom")["primary"]
    assert bindings.cpu == Cpu(vcpus=8, pinning=tuple(VcpuPin(i, str(i)) for i in range(8)))
    assert bindings.memory == Memory(current_bytes=None)
    assert (bindings.disks, bindings.nics, bindings.consoles) == ((), (), ())
    utils = ["0.7%", "", "", "", "0.7%", "", "", ""]
    assert bindings.extra == (Section("VCPU", ("VID", "PID", "UTIL", "STRAND"),
                                      tuple((str(i), str(i), util, "100") for i, util in enumerate(utils))),)


def _info(uuid, mac, hostid):
    return Section("DOMAIN INFO", ("PROPERTY", "VALUE"), (
        ("uuid", uuid), ("mac-addr", mac), ("hostid", hostid), ("failure-policy", "ignore"),
        ("extended-mapin-space", "on"), ("cpu-arch", "native"), ("master", "")))


def test_list_bindings_p_reconstructed_ovm3():
    # RECONSTRUCTED sample (§3.5): attribute names attested, their order a best guess. VERSION 1.6: every
    # column 3.x list-bindings prints (§4), blank where the -p line has no such attribute; NORM because the
    # DOMAIN lines carry norm_util
    bindings = parse.parse_bindings_p(sample("list-bindings-p-ovm3x.txt"), "cdom")
    assert list(bindings) == ["primary", "ldg1"]
    assert bindings["primary"] == Bindings(
        host="cdom",
        domain="primary",
        cpu=Cpu(vcpus=2, pinning=(VcpuPin(0, "0"), VcpuPin(1, "1"))),
        memory=Memory(current_bytes=32 * G),
        disks=(),
        nics=(),
        consoles=(ConsoleDev(kind="vcons", type="UART"),),
        extra=(
            _info("1b1d6c5a-6ab4-4b2d-9c1c-6d2f7c0f1e11", "00:14:4f:fa:ed:88", "0x84faed88"),
            Section("CORE", ("CID", "CPUSET"), (("0", "0,1,2,3,4,5,6,7"), ("1", "8,9,10,11,12,13,14,15"))),
            Section("VCPU", ("VID", "PID", "CID", "UTIL", "NORM", "STRAND"),
                    (("0", "0", "0", "1.2%", "", "100"), ("1", "1", "0", "0.3%", "", "100"))),
            Section("MEMORY", ("RA", "PA", "SIZE"), (("0x20000000", "0x20000000", "32G"),)),
            Section("VARIABLES", ("NAME", "VALUE"), (
                ("auto-boot?", "true"),
                ("boot-device", "/pci@300/pci@1/pci@0/pci@2/scsi@0/disk@w5000cca0252a1e21,0:a disk net"))),
            Section("IO", ("DEVICE", "PSEUDONYM", "OPTIONS"), (("pci@300", "pci_0", ""),)),
            Section("VCC", ("NAME", "PORT-RANGE"), (("primary-vcc0", "5000-5100"),)),
            Section("VSW", ("NAME", "MAC", "NET-DEV", "ID", "DEVICE", "DEFAULT-VLAN-ID", "PVID", "VID", "MTU",
                            "MODE"),
                    (("primary-vsw0", "00:14:4f:f8:61:2a", "net0", "0", "switch@0", "1", "1", "", "1500", ""),)),
            Section("VDS", ("NAME", "VOLUME", "OPTIONS", "MPGROUP", "DEVICE"),
                    (("primary-vds0", "ldg1-boot", "", "", "/dev/zvol/dsk/rpool/ldg1-boot"),)),
        ),
    )
    assert bindings["ldg1"] == Bindings(
        host="cdom",
        domain="ldg1",
        cpu=Cpu(vcpus=1, pinning=(VcpuPin(0, "16"),)),
        memory=Memory(current_bytes=8 * G),
        disks=(Disk(target="vdisk0", source="ldg1-boot@primary-vds0", source_type="vdisk", device="disk",
                    bus=None, read_only=False, format=None),),
        nics=(Nic(mac="00:14:4f:fb:aa:01", source_type="vsw", source="primary-vsw0@primary", model=None,
                  target="vnet0"),),
        consoles=(ConsoleDev(kind="vcons", type="vntsd", target="ldg1", path="5000"),),
        extra=(
            _info("5f0c2b3e-1d1e-4e8a-b7a4-2f7e6c9d0a22", "00:14:4f:fb:12:34", "0x84fb1234"),
            Section("VCPU", ("VID", "PID", "CID", "UTIL", "NORM", "STRAND"), (("0", "16", "2", "0.5%", "", "100"),)),
            Section("MEMORY", ("RA", "PA", "SIZE"), (("0x10000000", "0x420000000", "8G"),)),
            Section("VARIABLES", ("NAME", "VALUE"), (("auto-boot?", "true"), ("boot-device", "vdisk0"))),
            Section("NETWORK", ("NAME", "SERVICE", "ID", "DEVICE", "MAC", "MODE", "PVID", "VID", "MTU", "MAXBW",
                                "LINKPROP"),
                    (("vnet0", "primary-vsw0@primary", "0", "network@0", "00:14:4f:fb:aa:01", "", "1", "",
                      "1500", "", ""),)),
            Section("DISK", ("NAME", "VOLUME", "TOUT", "ID", "DEVICE", "SERVER", "MPGROUP"),
                    (("vdisk0", "ldg1-boot@primary-vds0", "", "0", "disk@0", "primary", ""),)),
            Section("VCONS", ("NAME", "SERVICE", "PORT", "LOGGING"), (("ldg1", "primary-vcc0@primary", "5000", ""),)),
        ),
    )


def test_bindings_fall_back_to_the_domain_line_and_keep_unknown_sections():
    text = ("DOMAIN|name=g|state=bound|flags=------|cons=5007|ncpu=4|mem=4294967296|util=|uptime=\n"
            "STATUS\n|op=migration|progress=34|error=no|target=system2\n"
            "VDS|name=vds1\n|vol=a|opts=ro|dev=/a\n|vol=b|opts=|dev=/b\n")
    b = parse.parse_bindings_p(text, "h")["g"]
    assert (b.cpu, b.memory) == (Cpu(vcpus=4), Memory(current_bytes=4 * G))
    assert b.consoles == (ConsoleDev(kind="vcons", type="vntsd", path="5007"),)
    assert b.extra == (
        Section("STATUS", ("OP", "PROGRESS", "ERROR", "TARGET"), (("migration", "34", "no", "system2"),)),
        Section("VDS", ("NAME", "VOLUME", "OPTIONS", "DEVICE"), (("vds1", "a", "ro", "/a"), ("", "b", "", "/b"))),
    )


# --- human ldm list (§2.1, §2.2) ------------------------------------------------------------------------


def test_list_human_verbatim_ovm3_capture_all_rows():
    def active(name, cons, vcpus, mem, util, norm, up):
        return domain(name, RUNNING, "active", "-n----", cons, vcpus, mem, util, norm, up)

    def bound(name, cons, vcpus, mem):
        return domain(name, STOPPED, "bound", "------", cons, vcpus, mem)

    assert parse.parse_list_human(sample("list-ovm3x.txt"), "cdom") == (
        domain("primary", RUNNING, "active", "-n-cv-", "UART", 16, 32 * G, 7.0, "6.9", uptime(45, 8, 6)),
        active("DR-PRD02-CBSAPP01", "5004", 16, 64 * G, 0.3, "0.3", uptime(45, 7, 55)),
        active("DR-PRD02-CBSDB01", "5014", 64, 164 * G, 3.9, "3.9", uptime(45, 8, 3)),
        bound("DR-PRD02-CBSDB02", "5006", 16, 100 * G),
        active("DR-PRD02-CBSGW01", "5012", 8, 16 * G, 0.6, "0.6", uptime(45, 8, 6)),
        bound("DR-PRD02-CBSRPT01", "5013", 16, 32 * G),
        active("DR-PRD02-CIFTPDB01", "5003", 8, 64 * G, 5.0, "5.0", uptime(45, 7, 54)),
        active("DR-PRD02-CMSAPP01", "5002", 16, 32 * G, 0.4, "0.4", uptime(45, 8, 2)),
        active("DR-PRD02-CMSAPP02", "5009", 16, 32 * G, 0.4, "0.4", uptime(45, 8, 2)),
        active("DR-PRD02-CMSAPP03", "5010", 16, 32 * G, 0.3, "0.3", uptime(45, 8, 2)),
        active("DR-PRD02-CMSDB01", "5000", 16, 100 * G, 5.0, "5.0", uptime(45, 8, 3)),
        active("DR-PRD02-CMSDB02", "5001", 16, 48 * G, 5.2, "5.1", uptime(45, 8, 3)),
    )


def test_list_human_verbatim_ldoms12_blank_cons_and_five_column_flags():
    assert parse.parse_list_human(sample("list-ldoms12.txt"), "cdom") == (
        domain("primary", TRANSITION, "active", "-t-cv", None, 4, G, 0.5, None, uptime(3, 21, 7)),
        domain("ldg1", TRANSITION, "active", "-t---", "5000", 8, G, 23.0, None, uptime(m=2)),
    )


def test_list_human_verbatim_ldoms13_sp_console():
    assert parse.parse_list_human(sample("list-l-primary-ldoms13.txt"), "cdom") == (
        domain("primary", RUNNING, "active", "-n-cv", "SP", 8, 4 * G, 4.3, None, uptime(7, 19, 43)),)


# --- human long listings (§4, §6.1) -------------------------------------------------------------------------

LIST_HEADER = ("NAME", "STATE", "FLAGS", "CONS", "VCPU", "MEMORY", "UTIL", "UPTIME")
PRIMARY_TOP = Section("DOMAIN", LIST_HEADER, (("primary", "active", "-t-cv", "", "1", "768M", "0.0%", "0s"),))
LDG1_TOP = Section("DOMAIN", LIST_HEADER, (("ldg1", "bound", "-----", "5000", "1", "512M", "", ""),))
PRIMARY_SECTIONS = (
    Section("VCPU", ("VID", "PID", "UTIL", "STRAND"), (("0", "0", "0.0%", "100%"),)),
    Section("MEMORY", ("RA", "PA", "SIZE"), (("0x4000000", "0x4000000", "768M"),)),
    Section("IO", ("DEVICE", "PSEUDONYM", "OPTIONS"),
            (("pci@780", "bus_a", ""), ("pci@7c0", "bus_b", "bypass=on"))),
    Section("VCC", ("NAME", "PORT-RANGE"), (("vcc0", "5000-5100"),)),
    Section("VSW", ("NAME", "MAC", "NET-DEV", "DEVICE", "MODE"), (
        ("vsw0", "08:00:20:aa:bb:e0", "e1000g0", "switch@0", "prog,promisc"),
        ("vsw1", "08:00:20:aa:bb:e1", "", "", "routed"))),
    Section("VDS", ("NAME", "VOLUME", "OPTIONS", "DEVICE"), (
        ("vds0", "myvol-a", "slice", "/disk/a"),
        ("", "myvol-b", "", "/disk/b"),
        ("", "myvol-c", "ro,slice,excl", "/disk/c"),
        ("vds1", "myvol-d", "", "/disk/d"))),
    Section("VDPCS", ("NAME",), (("vdpcs0",), ("vdpcs1",))),
)
LDG1_CUT_OFF = LongListing("ldg1", LDG1_TOP,  # the doc page cuts off inside ldg1's VCPU section
                           (Section("VCPU", ("VID", "PID", "UTIL", "STRAND"), (("0", "1", "", ""),)),))


def test_long_listing_verbatim_ldoms12():
    assert parse.parse_long_human(sample("list-l-ldoms12.txt")) == (
        LongListing("primary", PRIMARY_TOP, PRIMARY_SECTIONS), LDG1_CUT_OFF)


def test_list_e_adds_value_sections_before_vcpu():
    # SOURCE-DERIVED: Example 9-3 with Example 9-4's additions where the guide places them
    additions = (
        Section("SOFTSTATE", ("VALUE",), (("Solaris running",),)),
        Section("MAC", ("VALUE",), (("00:14:4f:fa:ed:88",),)),
        Section("HOSTID", ("VALUE",), (("0x84faed88",),)),
        Section("CONTROL", ("VALUE",), (("failure-policy=ignore",),)),
        Section("DEPENDENCY", ("VALUE",), (("master=",),)),
    )
    assert parse.parse_long_human(sample("list-e-ldoms12.txt")) == (
        LongListing("primary", PRIMARY_TOP, additions + PRIMARY_SECTIONS), LDG1_CUT_OFF)


def test_list_bindings_human_with_nested_peer_tables():
    network = ("NAME", "SERVICE", "DEVICE", "MAC")
    assert parse.parse_long_human(sample("list-bindings-ldoms12.txt")) == (LongListing("ldg1", LDG1_TOP, (
        Section("VCPU", ("VID", "PID", "UTIL", "STRAND"), (("0", "1", "", "100%"),)),
        Section("MEMORY", ("RA", "PA", "SIZE"), (("0x4000000", "0x34000000", "512M"),)),
        Section("NETWORK", network, (
            ("mynet-b", "vsw0@primary", "network@0", "08:00:20:ab:9a:12"),
            ("mynet-a", "vsw0@primary", "network@1", "08:00:20:ab:9a:11"))),
        Section("NETWORK PEER", ("NAME", "PEER", "MAC"), (
            ("mynet-b", "vsw0@primary", "08:00:20:aa:bb:e0"),
            ("mynet-b", "mynet-a@ldg1", "08:00:20:ab:9a:11"),
            ("mynet-b", "mynet-c@ldg2", "08:00:20:ab:9a:22"),
            ("mynet-a", "vsw0@primary", "08:00:20:aa:bb:e0"),
            ("mynet-a", "mynet-b@ldg1", "08:00:20:ab:9a:12"),
            ("mynet-a", "mynet-c@ldg2", "08:00:20:ab:9a:22"))),
        Section("DISK", ("NAME", "VOLUME", "DEVICE", "SERVER"), (
            ("mydisk-a", "myvol-a@vds0", "disk@0", "primary"),
            ("mydisk-b", "myvol-b@vds0", "disk@1", "primary"))),
        Section("VDPCC", ("NAME", "SERVICE"), (("myvdpcc-a", "vdpcs0@primary"), ("myvdpcc-b", "vdpcs0@primary"))),
        Section("VCONS", ("NAME", "SERVICE"), ()),  # the page cuts off here
    )),)


def test_list_constraints_human():
    assert parse.parse_long_human(sample("list-constraints-ldoms12.txt")) == (LongListing(
        "ldg1", Section("DOMAIN", ("NAME",), (("ldg1",),)), (
            Section("VCPU", ("COUNT",), (("1",),)),
            Section("MEMORY", ("SIZE",), (("512M",),)),
            Section("NETWORK", ("NAME", "SERVICE", "DEVICE", "MAC"), (
                ("mynet-b", "vsw0", "network@0", "08:00:20:ab:9a:12"),
                ("mynet-b", "vsw0", "network@0", "08:00:20:ab:9a:12"))),
            Section("DISK", ("NAME", "VOLUME"), (("mydisk-a", "myvol-a@vds0"), ("mydisk-b", "myvol-b@vds0"))),
            Section("VDPCC", ("NAME", "SERVICE"),
                    (("myvdpcc-a", "vdpcs0@primary"), ("myvdpcc-b", "vdpcs0@primary"))),
            Section("VCONS", ("NAME", "SERVICE"), (("mygroup", "vcc0"),)),
        )),)


def test_long_listing_with_norm_column_and_a_long_name():
    text = ("NAME             STATE      FLAGS   CONS    VCPU  MEMORY   UTIL  NORM  UPTIME\n"
            "DR-PRD02-CBSAPP01 active     -n----  5004    16    64G      0.3%  0.3%  45d 7h 55m\n"
            "\n"
            "VCPU\n"
            "    VID    PID    CID    UTIL NORM STRAND\n"
            "    0      8      1      0.4% 0.4%   100%\n")
    (block,) = parse.parse_long_human(text)
    assert block.top == Section("DOMAIN", LIST_HEADER[:7] + ("NORM", "UPTIME"), (
        ("DR-PRD02-CBSAPP01", "active", "-n----", "5004", "16", "64G", "0.3%", "0.3%", "45d 7h 55m"),))
    assert block.sections == (
        Section("VCPU", ("VID", "PID", "CID", "UTIL", "NORM", "STRAND"),
                (("0", "8", "1", "0.4%", "0.4%", "100%"),)),)


# --- ldm list-constraints -p and -x (§6.2, §6.3) -----------------------------------------------------------

LDG1_CONSTRAINTS = Constraints(
    name="ldg1",
    vcpus=8,
    memory_bytes=G,
    networks=(Nic(mac="01:14:4f:fa:0f:55", source_type="vsw", source="primary-vsw0", model=None, target="vnet0"),),
    disks=(Disk(target="vdisk0", source="vol0@primary-vds0", source_type="vdisk"),),
    variables={"boot-device": "/virtual-devices@100/channel-devices@200/disk@0:a",
               "nvramrc": "devalias vnet0 /virtual-devices@100/channel-devices@200/network@0",
               "use-nvramrc?": "true"},
    io=(),
    cores=None,
)


def test_list_constraints_p_verbatim_ldoms12():
    constraints = parse.parse_constraints_p(sample("list-constraints-p-ldoms12.txt"))
    assert list(constraints) == ["primary", "ldg1"]
    assert constraints["primary"] == Constraints(name="primary", vcpus=4, memory_bytes=768 * M, networks=(),
                                                 disks=(), variables={}, io=("pci@780", "pci@7c0"), cores=None)
    assert constraints["ldg1"] == LDG1_CONSTRAINTS


def test_list_constraints_p_services_of_the_control_domain():
    assert parse.parse_services_p(sample("list-constraints-p-ldoms12.txt")) == Services(
        vccs=(Vcc("primary-vcc0", "primary", (5000, 5100)),),
        vsws=(Vsw("primary-vsw0", "primary", mac=None, net_dev="e1000g0", dev="switch@0"),),
        vdss=(Vds("primary-vds0", "primary", (
            VdsVolume("disk-ldg2", "", "/ldoms/nv72-ldg2/disk", None),
            VdsVolume("vol0", "", "/ldoms/nv72-ldg1/disk", None))),),
    )


def test_list_constraints_xml_verbatim_ldoms12():
    nvramrc = "devalias vnet0\n          /virtual-devices@100/channel-devices@200/network@0"
    assert parse.parse_constraints_xml(sample("list-constraints-x-ldoms12.xml")) == {
        "ldg1": Constraints(**{**_fields(LDG1_CONSTRAINTS),
                               "variables": {**LDG1_CONSTRAINTS.variables, "nvramrc": nvramrc}})}


def test_list_constraints_xml_ovf_form():
    # RECONSTRUCTED OVF Envelope sample, the same ldg1 plus a physical device
    assert parse.parse_constraints_xml(sample("list-constraints-x-ovf.xml")) == {
        "ldg1": Constraints(**{**_fields(LDG1_CONSTRAINTS), "io": ("pci@780",)})}


def _fields(constraints: Constraints) -> dict:
    return {name: getattr(constraints, name) for name in Constraints.__dataclass_fields__}


# --- ldm list-services -p (§5) ------------------------------------------------------------------------------


def test_list_services_p_reconstructed():
    # RECONSTRUCTED sample (§5): the ldom= key is inferred from the human LDOM column
    services = parse.parse_services_p(sample("list-services-p-ovm3x.txt"))
    assert services == Services(
        vccs=(Vcc(name="primary-vcc0", ldom="primary", port_range=(5000, 5100)),),
        vsws=(Vsw(name="primary-vsw0", ldom="primary", mac="00:14:4f:f8:61:2a", net_dev="net0", dev="switch@0",
                  vids=(), pvid=1, default_vlan_id=1, mtu=1500, mode=None, linkprop=None, id="0"),),
        vdss=(Vds(name="primary-vds0", ldom="primary", volumes=(
            VdsVolume(vol="ldg1-boot", opts="", dev="/dev/zvol/dsk/rpool/ldg1-boot", mpgroup=None),
            VdsVolume(vol="ldg2-boot", opts="", dev="/dev/zvol/dsk/rpool/ldg2-boot", mpgroup=None))),),
    )
    assert parse.services_sections(services) == (
        Section("VCC", ("NAME", "LDOM", "PORT-RANGE"), (("primary-vcc0", "primary", "5000-5100"),)),
        Section("VSW", ("NAME", "LDOM", "MAC", "NET-DEV", "ID", "DEVICE", "LINKPROP", "DEFAULT-VLAN-ID", "PVID",
                        "VID", "MTU", "MODE"),
                (("primary-vsw0", "primary", "00:14:4f:f8:61:2a", "net0", "0", "switch@0", "", "1", "1", "", "1500",
                  ""),)),
        Section("VDS", ("NAME", "LDOM", "VOLUME", "OPTIONS", "MPGROUP", "DEVICE"), (
            ("primary-vds0", "primary", "ldg1-boot", "", "", "/dev/zvol/dsk/rpool/ldg1-boot"),
            ("", "", "ldg2-boot", "", "", "/dev/zvol/dsk/rpool/ldg2-boot"))),
    )


def test_services_vlan_ids_and_an_empty_vds():
    services = parse.parse_services_p("VSW|name=v|vid=10,20|pvid=1\nVDS|name=d|ldom=primary\n")
    assert services.vsws[0].vids == (10, 20)
    assert parse.services_sections(services)[1].rows[0][9] == "10,20"
    assert parse.services_sections(services)[2].rows == (("d", "primary", "", "", "", ""),)


# --- ldm list-devices -p (§7) -------------------------------------------------------------------------------

MEMORY_BLOCKS = (
    MemoryBlock(pa="0xa00000", size=33554432, bound="_sys_"),
    MemoryBlock(pa="0x2a00000", size=100663296, bound="_sys_"),
    MemoryBlock(pa="0x8a00000", size=392167424, bound="_sys_"),
    MemoryBlock(pa="0x20000000", size=136902082560, bound="primary"),
)


def test_list_devices_verbatim_cpu_and_memory():
    cpu = parse.parse_devices_p(sample("list-devices-a-p-cpu.txt"))
    assert cpu == Devices(strands=(Strand(pid=0, free=0, pm="no"), Strand(pid=1, free=0, pm="no")))
    assert (cpu.free_strands, cpu.free_memory_bytes) == (0, 0)
    memory = parse.parse_devices_p(sample("list-devices-a-p-memory.txt"))
    assert memory == Devices(memory=MEMORY_BLOCKS)
    assert (memory.free_strands, memory.free_memory_bytes) == (0, 0)  # with -a, every block here is bound
    assert parse.devices_sections(memory) == (
        Section("FREE", ("RESOURCE", "FREE"), (("memory", "0"),)),
        Section("MEMORY", ("PA", "SIZE", "BOUND"), (
            ("0xa00000", "32M", "_sys_"), ("0x2a00000", "96M", "_sys_"), ("0x8a00000", "374M", "_sys_"),
            ("0x20000000", "130560M", "primary"))),
    )


def test_list_devices_free_rules_without_and_with_a():
    text = ("VERSION 1.6\nVCPU\n|pid=8|free=100|pm=no\n|pid=9|free=40|pm=no\n|pid=10\n"
            "CORE\n|cid=1|free=100|cpuset=8,9,10,11\n"
            "MEMORY\n|pa=0x800000000|size=1073741824\n|pa=0xa00000000|size=536870912|bound=ldg1\n"
            "IO\n|dev=pci@400|alias=pci_0\n")
    devices = parse.parse_devices_p(text)
    assert devices.free_strands == 2  # free=100 and the row without free=
    assert devices.free_memory_bytes == G
    assert devices.cores == (Core(cid=1, free=100, cpuset="8,9,10,11"),)
    assert parse.devices_sections(devices) == (
        Section("FREE", ("RESOURCE", "FREE"), (("strands", "2"), ("memory", "1G"))),
        Section("VCPU", ("PID", "%FREE", "PM"), (("8", "100", "no"), ("9", "40", "no"), ("10", "", ""))),
        Section("CORE", ("CID", "%FREE", "CPUSET"), (("1", "100", "8,9,10,11"),)),
        Section("MEMORY", ("PA", "SIZE", "BOUND"), (("0x800000000", "1G", ""), ("0xa00000000", "512M", "ldg1"))),
        Section("IO", ("DEVICE", "PSEUDONYM"), (("pci@400", "pci_0"),)),
    )


# --- ldm -V (§8) --------------------------------------------------------------------------------------------


def test_version_verbatim_ldoms12():
    assert parse.parse_version(sample("V-ldoms12.txt")) == LdmVersion(
        manager="1.2", major=1, minor=2, protocol="1.3", md="0.1",
        hypervisor="Hypervisor  v. 1.7.0.    @(#)Hypervisor 1.7.0. 2008/11/19 10:20",
        openboot="OpenBoot    v. 4.30.0.   @(#)OBP 4.30.0. 2008/11/18 13:44")


def test_version_3x_spelling():
    version = parse.parse_version("Logical Domains Manager (v 3.4.0.3.x)\n")
    assert (version.manager, version.major, version.minor, version.protocol, version.openboot) == (
        "3.4.0.3.x", 3, 4, None, None)


# --- malformed input: ParseError naming the line ------------------------------------------------------


@pytest.mark.parametrize(("function", "text", "line_no", "message"), [
    (parse.tokenize, "VERSION 1.6\n|vid=0|pid=0", 2, "sub-row before any section"),
    (parse.tokenize, "VERSION 1.6\nDOMAIN|name=a\nVERSION 1.6", 3, "VERSION line after the first line"),
    (parse.tokenize, "VERSION 1.6\nDOMAIN|name=a|ncpu", 2, "is not key=value"),
    (parse.tokenize, "DOMAIN|name=a|=x", 1, "is not key=value"),
    (parse.tokenize, "NAME  STATE  FLAGS", 1, "expected VERSION"),
    (parse.tokenize, "VERSION 1.6\nVCPU\nstray text", 3, "expected VERSION"),
    (lambda text: parse.parse_list_p(text, "h"), "VERSION 1.6\nDOMAIN|state=active", 2, "missing name="),
    (lambda text: parse.parse_list_p(text, "h"), "\nDOMAIN|name=a|mem=lots", 2, "mem=lots is not a size"),
    (lambda text: parse.parse_list_p(text, "h"), "DOMAIN|name=a|util=high", 1, "util=high is not a percentage"),
    (lambda text: parse.parse_list_p(text, "h"), "DOMAIN|name=a|ncpu=1.5", 1, "ncpu=1.5 is not a whole number"),
    (lambda text: parse.parse_list_p(text, "h"), "DOMAIN|name=a\n|x=1", 2, "sub-row under a DOMAIN line"),
    (lambda text: parse.parse_bindings_p(text, "h"), "MEMORY\n|size=12", 1, "before any DOMAIN line"),
    (lambda text: parse.parse_bindings_p(text, "h"), "DOMAIN|name=a\nVCPU\n|vid=x|pid=0", 3, "vid=x"),
    (lambda text: parse.parse_bindings_p(text, "h"), "DOMAIN|name=a\nMEMORY\n|ra=0x0|pa=0x0", 3, "missing size="),
    (lambda text: parse.parse_bindings_p(text, "h"), "DOMAIN|name=a\nVDISK|vol=v@vds", 2, "missing name="),
    (parse.parse_services_p, "VCC|name=c|port-range=5000", 1, "is not a port range"),
    (parse.parse_services_p, "VDS|name=d\n|opts=ro|dev=/x", 2, "missing vol="),
    (parse.parse_services_p, "VSW|name=v|vid=10,x", 1, "is not a list of VLAN ids"),
    (parse.parse_devices_p, "VERSION 1.6\nVCPU\n|free=100", 3, "missing pid="),
    (parse.parse_devices_p, "MEMORY\n|pa=0x0|size=1G", 2, "size=1G is not a whole number"),
    (parse.parse_constraints_p, "DOMAIN|name=a\nIO\n|alias=x", 3, "missing dev="),
    (parse.parse_constraints_p, "DOMAIN|name=a\nVCPU|count=many", 2, "count=many"),
    (lambda text: parse.parse_list_human(text, "h"), "NAME STATE\nprimary active", 1, "not the header"),
    (lambda text: parse.parse_list_human(text, "h"), "\n" + sample("list-ldoms12.txt") + "ldg2 bound", 5,
     "expected NAME STATE FLAGS"),
    (lambda text: parse.parse_list_human(text, "h"), sample("list-ldoms12.txt") + "ldg2 bound ----- 5001 8 lots",
     4, "no VCPU and MEMORY"),
    (lambda text: parse.parse_list_human(text, "h"), sample("list-ldoms12.txt") + "g active -n--- 1 1G 1% 4x", 4,
     "is not an uptime"),
    (parse.parse_long_human, "VCPU\n    VID\n    0", 1, "expected the ldm list header"),
    (parse.parse_long_human, sample("list-ldoms12.txt"), 3, "expected a section title"),
    (parse.parse_long_human, "DOMAIN\nldg1\nNETWORK\n    NAME  MAC\n        PEER  MAC", 5, "nested table"),
    (parse.parse_constraints_xml, "<LDM_interface>\n<data>\n</dat>", 3, "XML does not parse"),
    (parse.parse_version, "Logical Domains Manager (v x.y)", 1, "not a number"),
])
def test_malformed_input_names_the_line(function, text, line_no, message):
    with pytest.raises(ParseError, match=message) as caught:
        function(text)
    assert caught.value.line_no == line_no
    assert f"line {line_no}:" in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    ("<domain/>", "expected <LDM_interface>"),
    ("<LDM_interface><data><ldom><cpu><number>8</number></cpu></ldom></data></LDM_interface>",
     "without a domain name"),
    ("<LDM_interface><data><ldom><ldom_info><ldom_name>a</ldom_name></ldom_info><cpu><number>x</number></cpu>"
     "</ldom></data></LDM_interface>", "<cpu> 'x' is not a whole number"),
    ("<LDM_interface><data><ldom><ldom_info><ldom_name>a</ldom_name></ldom_info><disk><vol_name>v</vol_name>"
     "</disk></ldom></data></LDM_interface>", "without a vdisk_name"),
    ("<a>\ud800</a>", "cannot be encoded"),
])
def test_malformed_xml(text, message):
    with pytest.raises(ParseError, match=message):
        parse.parse_constraints_xml(text)


def test_version_requires_the_manager_line():
    with pytest.raises(ParseError, match="no 'Logical Domains Manager"):
        parse.parse_version("")


# --- fixtures and the replay ldm ----------------------------------------------------------------------------


def test_every_fixture_has_its_provenance_in_the_readme():
    readme = (FIXTURES / "README.md").read_text()
    files = [p.name for p in FIXTURES.iterdir() if p.is_file() and p.name != "README.md"]
    files += [p.name for p in (REPLAY / "data").iterdir() if p.suffix == ".out"]
    assert files and [name for name in files if f"`{name}`" not in readme] == []


def _replay(*argv: str, data: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": f"{REPLAY / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    if data is not None:
        env["HVDECK_LDM_REPLAY"] = str(data)
    return subprocess.run(["ldm", *argv], env=env, capture_output=True, timeout=10, check=False)


@pytest.mark.parametrize(("argv", "name"), [
    (("list", "-p"), "list_-p.out"),
    (("-V",), "-V.out"),
    (("list-bindings", "-p"), "list-bindings_-p.out"),
    (("list-services", "-p"), "list-services_-p.out"),
    (("list-devices", "-a", "-p"), "list-devices_-a_-p.out"),
])
def test_replay_ldm_answers_byte_for_byte(argv, name):
    done = _replay(*argv)
    assert (done.returncode, done.stdout, done.stderr) == (0, (REPLAY / "data" / name).read_bytes(), b"")


def test_replay_ldm_errors_and_data_directory(tmp_path):
    unknown = _replay("frobnicate", "ldg1")
    assert (unknown.returncode, unknown.stdout, unknown.stderr) == (1, b"", b"Invalid command: frobnicate ldg1\n")
    missing = _replay("list", "-p", "nosuch")
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, b"", b"Domain nosuch not found\n")
    (tmp_path / "add-vdsdev_%dev%zvol%dsk%a_a@primary-vds0.out").write_text("")
    (tmp_path / "add-vdsdev_%dev%zvol%dsk%a_a@primary-vds0.rc").write_text("3\n")
    slashes = _replay("add-vdsdev", "/dev/zvol/dsk/a", "a@primary-vds0", data=tmp_path)
    assert (slashes.returncode, slashes.stdout) == (3, b"")
    assert _replay("list", "-p", data=tmp_path).returncode == 1


def test_replay_data_parses():
    data = REPLAY / "data"
    assert len(parse.parse_list_p((data / "list_-p.out").read_text(), "cdom")) == 4
    bindings = parse.parse_bindings_p((data / "list-bindings_-p.out").read_text(), "cdom")
    assert list(bindings) == ["primary", "ldg1"]
    assert parse.parse_version((data / "-V.out").read_text()).manager == "1.2"
    assert len(parse.parse_services_p((data / "list-services_-p.out").read_text()).vdss) == 1
    devices = parse.parse_devices_p((data / "list-devices_-a_-p.out").read_text())
    assert (len(devices.strands), devices.memory) == (2, MEMORY_BLOCKS)
