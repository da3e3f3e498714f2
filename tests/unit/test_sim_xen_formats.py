"""The simulated Xen dom0 prints the documented samples byte for byte.

Each sample below is copied from the project's format notes (xen.md, libvirt.md; cited by section) or from
LVM's own manual (lvmreport(7)). A world is built with the sample's values — memory, vCPUs, counters held
still — and its command output must be the sample, character for character (tabs included).
"""

from __future__ import annotations

import pytest

from hvdeck.backends.sim.xen.formats import (
    ListRow,
    format_dominfo,
    format_vsh_table,
    format_xl_list,
    format_xm_list,
    print_bitmap,
    xl_state,
    xm_state,
)
from hvdeck.backends.sim.xen.model import Disk, GuestConfig, Machine, Vif
from hvdeck.backends.sim.xen.storage import report
from hvdeck.backends.sim.xen.world import XenWorld
from hvdeck.backends.sim.xen.xentop import (
    XEN_33_SOLARIS,
    XEN_41,
    DomainSample,
    NetSample,
    NodeSample,
    Options,
    VbdSample,
    format_frame,
)


class Clock:
    def __init__(self, now: float = 5_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# xen.md §1.3: the DERIVED header (matches the real capture) and the VERBATIM pre-2009 one
HEADER = ("      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) "
          "VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID\n")
OLD_HEADER = ("      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) "
              "NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR SSID\n")
OLD_ROW = ("  Domain-0 -----r       1414    0.4     768768    2.3     768768       2.3     8    0        0        0    "
           "0        0        0        0    0\n")
# xen.md §1.5: Xen 4.1.2 (interactive; the table part)
XEN412_ROWS = (
    "  Domain-0 -----r     161513    0.0    1048576    3.1   no limit       n/a     8    0        0        0    0"
    "        0        0        0          0          0    0\n"
    "  virtual1 --b---     128529    0.0   31457280   93.8   31457280      93.8     8    1  7604726 17270964    2"
    "        0   181258  3374788    7781018   69690752    0\n")
XEN412_SUMMARY = ("2 domains: 1 running, 1 blocked, 0 paused, 0 crashed, 0 dying, 0 shutdown\n"
                  "Mem: 33548272k total, 32870172k used, 678100k free    CPUs: 8 @ 2992MHz\n")
# xen.md §1.5: the Oracle fixture, the name cut to 10 characters
ORACLE = (HEADER +
          "c2214-vkge -----r       2084    0.0  754978808   93.9  754978816      93.9    92    3     4249    52707    4"
          "        0    84460    75132    4754377    8759386    0\n"
          "  Domain-0 -----r     393575    0.0    9357356    1.2    9437184       1.2     4    0        0        0    0"
          "        0        0        0          0          0    0\n")
# xen.md §1.5 DERIVED: the second frame of a 2-iteration run
SECOND_FRAME = (HEADER +
                "  Domain-0 -----r     161514   12.5    1048576    3.1   no limit       n/a     8    0        0        0"
                "    0        0        0        0          0          0    0\n"
                "  virtual1 --b---     128529    0.3   31457280   93.8   31457280      93.8     8    1  7604730 17270970"
                "    2        0   181258  3374790    7781018   69690760    0\n")
# xen.md §2.1 DERIVED rows (the header has TABs)
XL_LIST = ("Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
           "Domain-0                                     0  4096     4     r-----    1234.5\n"
           "web01                                        3  2048     2     -b----      88.2\n"
           "db01                                         4  8192     4     --p---       3.0\n")
# xen.md §3 DERIVED
XM_LIST = ("Name                                        ID   Mem VCPUs      State   Time(s)\n"
           "Domain-0                                     0   984     1     r-----     84.4\n")
# xen.md §4 VERBATIM (docs/man/xl.1.pod.in; the pod indents every line by one space)
XL_INFO_42 = """\
 host                   : scarlett
 release                : 3.1.0-rc4+
 version                : #1001 SMP Wed Oct 19 11:09:54 UTC 2011
 machine                : x86_64
 nr_cpus                : 4
 nr_nodes               : 1
 cores_per_socket       : 4
 threads_per_core       : 1
 cpu_mhz                : 2266
 hw_caps                : bfebfbff:28100800:00000000:00003b40:009ce3bd:00000000:00000001:00000000
 virt_caps              : hvm hvm_directio
 total_memory           : 6141
 free_memory            : 4274
 free_cpus              : 0
 outstanding_claims     : 0
 xen_major              : 4
 xen_minor              : 2
 xen_extra              : -unstable
 xen_caps               : xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64
 xen_scheduler          : credit
 xen_pagesize           : 4096
 platform_params        : virt_start=0xffff800000000000
 xen_changeset          : Wed Nov 02 17:09:09 2011 +0000 24066:54a5e994a241
 xen_commandline        : com1=115200,8n1 guest_loglvl=all dom0_mem=750M console=com1
 cc_compiler            : gcc version 4.4.5 (Debian 4.4.5-8)
 cc_compile_by          : sstabellini
 cc_compile_domain      : uk.xensource.com
 cc_compile_date        : Tue Nov  8 12:03:05 UTC 2011
 xend_config_format     : 4
"""
# xen.md §4 VERBATIM partial `xm info` (Oracle test fixture)
XM_INFO_ORACLE = """\
host                   : sea200214exdd003.sea200214exd.adminsea2.oraclevcn.com
release                : 4.1.12-124.42.4.el6uek.x86_64
machine                : x86_64
nr_cpus                : 96
nr_nodes               : 2
cores_per_socket       : 24
threads_per_core       : 2
total_memory           : 785069
free_memory            : 22336
"""
# libvirt.md §2.1 / §2.2 CAPTURED
VIRSH_LIST = (" Id   Name      State\n--------------------------\n 1    web01     running\n 2    cache01   paused\n"
              " -    batch01   shut off\n -    db01      shut off\n")
DOMINFO = """\
Id:             1
Name:           test
UUID:           6695eb01-f6a4-8304-79aa-97f2502e193f
OS Type:        linux
State:          running
CPU(s):         2
CPU time:       1795366215.8s
Max memory:     8388608 KiB
Used memory:    2097152 KiB
Persistent:     yes
Autostart:      disable
Managed save:   no
Security model: testSecurity
Security DOI:  \x20
Security label: libvirt-test (enforcing)
"""


def still_world(**machine: object) -> XenWorld:
    """A world whose counters move only when a test says so."""
    world = XenWorld("xen-t", "xl", clock=Clock(), machine=Machine(**machine))  # type: ignore[arg-type]
    world.set_counters(world.domains["Domain-0"], still=True, cpu_seconds=0)
    return world


def guest(world: XenWorld, name: str, memory_mib: int, vcpus: int, *, vifs: int = 0, disks: int = 0,
          maxmem_mib: int | None = None) -> object:
    config = GuestConfig(name, memory_mib, maxmem_mib, vcpus,
                         disks=[Disk(f"/dev/vg/{name}-{i}", f"xvd{chr(97 + i)}", spec="") for i in range(disks)],
                         vifs=[Vif(f"00:16:3e:00:00:{i:02x}") for i in range(vifs)])
    for disk in config.disks:
        world.files[disk.target] = ""
    return world.start(config)


def xen412_world() -> XenWorld:
    """The Xen 4.1.2 host of xen.md §1.5: 33548272k of memory, 8 CPUs at 2992 MHz."""
    world = still_world(nr_cpus=8, cpu_khz=2992000, total_mib=32761, total_kib_exact=33548272,
                        xen_reserved_kib=33548272 - 678100 - 1048576 - 31457280)
    dom0 = world.domains["Domain-0"]
    dom0.mem_kb = dom0.maxmem_kb = 1048576
    dom0.max_vcpus = dom0.vcpus_online = 8
    world._activate(dom0, world.clock())
    world.set_counters(dom0, cpu_seconds=161513.2, still=True)
    virtual1 = guest(world, "virtual1", 30720, 8, vifs=1, disks=2)
    world.set_counters(virtual1, cpu_seconds=128529.5, load=0.0, still=True,
                       vifs=[(7604726 * 1024, 17270964 * 1024)],
                       vbds=[(0, 181000, 3374000, 7781000, 69690000), (0, 258, 788, 18, 752)])
    return world


def test_the_xentop_header_and_the_412_rows_are_the_samples():
    world = xen412_world()
    frame = world.run(["xentop", "-b", "-i", "1"]).stdout
    assert frame == HEADER + XEN412_ROWS
    assert len(HEADER) == 163  # 162 characters and the newline (xen.md §1.3)


def test_interactive_summary_lines_are_the_412_ones():
    from hvdeck.backends.sim.xen.server import _summary

    world = xen412_world()
    lines = _summary(world, world.node_sample()).splitlines()
    assert lines[0].startswith("xentop - ") and lines[0].endswith("   Xen 4.17.5")
    # xentop.c prints "%u shutdown \n"; the forum post's copy lost the trailing blank
    assert [line.rstrip() for line in lines[1:]] == XEN412_SUMMARY.splitlines()


def test_the_oracle_sample_cuts_the_name_to_ten_characters():
    world = still_world(nr_cpus=96, total_mib=785069, xen_reserved_kib=803910656 - 754978808 - 9357356)
    dom0 = world.domains["Domain-0"]
    dom0.mem_kb, dom0.maxmem_kb, dom0.unlimited = 9357356, 9437184, False
    world.set_counters(dom0, cpu_seconds=393575, still=True)
    exadata = guest(world, "c2214-vkge-exadata-vm01", 737284, 92, vifs=3, disks=4)
    exadata.mem_kb, exadata.maxmem_kb = 754978808, 754978816
    world.set_counters(exadata, cpu_seconds=2084.9, load=1.0, still=True,
                       vifs=[(4249 * 1024, 52707 * 1024), (512, 512), (0, 0)],
                       vbds=[(0, 84460, 75132, 4754377, 8759386), (0, 0, 0, 0, 0), (0, 0, 0, 0, 0), (0, 0, 0, 0, 0)])
    assert world.run(["xentop", "-b", "-i", "1"]).stdout == ORACLE


def test_the_second_frame_has_cpu_percent_and_moved_counters():
    """xen.md §1.5 DERIVED: two frames eight seconds apart; the first has CPU(%) 0.0 everywhere."""

    def node(t: float, dom0_cpu: float, v1_cpu: float, tx: int, rx: int, wr: int, wsect: int) -> NodeSample:
        return NodeSample(t, 33548272 * 1024, (
            DomainSample(0, "Domain-0", "-----r", int(dom0_cpu * 1e9), 1048576 * 1024, None, 8),
            DomainSample(1, "virtual1", "--b---", int(v1_cpu * 1e9), 31457280 * 1024, 31457280 * 1024, 8,
                         nets=(NetSample(rx * 1024, 0, 0, 0, tx * 1024, 0, 0, 0),),
                         vbds=(VbdSample(51712, 0, 181258, wr, 7781018, wsect), VbdSample(51728, 0, 0, 0, 0, 0)))))

    first = node(100.0, 161513.0, 128529.5, 7604726, 17270964, 3374788, 69690752)
    second = node(108.0, 161514.0, 128529.524, 7604730, 17270970, 3374790, 69690760)
    options = Options(batch=True, delay=8)
    assert format_frame(first, None, options, XEN_41) == HEADER + XEN412_ROWS
    assert format_frame(second, first, options, XEN_41) == SECOND_FRAME


def test_old_header_without_sector_columns():
    node = NodeSample(0.0, 768768 * 1024 * 1000 // 23, (DomainSample(0, "Domain-0", "-----r", 1414 * 10**9,
                                                                     768768 * 1024, 768768 * 1024, 8),))
    frame = format_frame(node, None, Options(batch=True), XEN_33_SOLARIS)
    assert frame.startswith(OLD_HEADER)
    assert frame[len(OLD_HEADER):].replace("    0.0 ", "    0.4 ") == OLD_ROW  # CPU(%) needs a previous frame


def test_columns_widen_with_the_values_on_current_xentop():
    world = still_world()
    big = guest(world, "big", 1024, 1, vifs=1, disks=1)
    world.set_counters(big, still=True, vifs=[(123456789012 * 1024, 5)], vbds=[(0, 1, 2, 3, 4)])
    header, row, dom0 = world.run(["xentop", "-b", "-i", "1"]).stdout.splitlines()
    assert "    NETTX(k) NETRX(k)" in header and " 123456789012 " in row
    assert header.index("NETRX(k)") + 8 == len(row[:header.index("NETRX(k)") + 8])


@pytest.mark.parametrize("options,expected", [
    ([], "build-runn"), (["-f"], "build-runner-07"),
])
def test_names_are_cut_unless_full_names(options, expected):
    world = still_world()
    guest(world, "build-runner-07", 512, 1)
    rows = world.run(["xentop", "-b", "-i", "1", *options]).stdout.splitlines()
    assert rows[1].lstrip().split(" ")[0] == expected
    if options:  # the NAME column widened to the longest name (Xen >= 4.5)
        assert rows[0].startswith(" " * 11 + "NAME")


def test_sub_rows_of_vcpus_networks_and_vbds():
    world = still_world()
    web = guest(world, "web", 512, 6, vifs=1, disks=1)
    world.set_counters(web, still=True, vcpu_seconds=[1, 2, 3, 4, 5, 6], vifs=[(2048, 4096)],
                       vbds=[(1, 10, 20, 80, 160)])
    text = world.run(["xentop", "-b", "-i", "1", "-v", "-n", "-x"]).stdout
    assert ("VCPUs(sec):   0:          1s  1:          2s  2:          3s  3:          4s  4:          5s\n"
            "          5:          6s\n") in text
    assert "Net0 RX:     4096bytes        4pkts        0err        0drop  TX:     2048bytes        2pkts        0err" \
           "        0drop\n" in text
    # the disk is a file (test world): current xl serves it with qdisk, which xenstat reads over QMP, untyped
    assert "VBD Unidentified 51712 [ca: 0] OO:        1   RD:       10   WR:       20   RSECT:         80   WSECT:" \
           "        160\n" in text


def test_xl_list_is_the_derived_sample_with_its_tabs():
    world = still_world()
    dom0 = world.domains["Domain-0"]
    world.set_counters(dom0, cpu_seconds=1234.5, still=True)
    world.next_domid = 3
    web01 = guest(world, "web01", 2048, 2)
    world.set_counters(web01, cpu_seconds=88.2, load=0.0, still=True)
    db01 = guest(world, "db01", 8192, 4)
    world.set_counters(db01, cpu_seconds=3.0, still=True)
    world.pause(db01)
    assert world.run(["xl", "list"]).stdout == XL_LIST
    assert format_xl_list([ListRow("Domain-0", 0, 4096, 4, "r-----", 1234.5)]) == "".join(XL_LIST.splitlines(True)[:2])


def test_xm_list_is_the_derived_sample():
    world = XenWorld("ovm", "xm", clock=Clock(), dom0_mem_mib=984, dom0_vcpus=1)
    world.set_counters(world.domains["Domain-0"], cpu_seconds=84.4, still=True)
    assert world.run(["xm", "list"]).stdout == XM_LIST
    assert format_xm_list([ListRow("idle", None, 512, 1, "------", 0.0)]).splitlines()[1] == \
        "idle" + " " * 45 + "512     1     ------      0.0"


def test_xl_info_is_the_man_page_sample():
    machine = dict(nr_cpus=4, nr_nodes=1, cores_per_socket=4, threads_per_core=1, cpu_khz=2266000, total_mib=6141,
                   hw_caps="bfebfbff:28100800:00000000:00003b40:009ce3bd:00000000:00000001:00000000", hvm=True,
                   xen_major=4, xen_minor=2, xen_extra="-unstable",
                   xen_caps="xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64",
                   changeset="Wed Nov 02 17:09:09 2011 +0000 24066:54a5e994a241",
                   commandline="com1=115200,8n1 guest_loglvl=all dom0_mem=750M console=com1",
                   cc_compiler="gcc version 4.4.5 (Debian 4.4.5-8)", cc_compile_by="sstabellini",
                   cc_compile_domain="uk.xensource.com", cc_compile_date="Tue Nov  8 12:03:05 UTC 2011",
                   release="3.1.0-rc4+", version="#1001 SMP Wed Oct 19 11:09:54 UTC 2011",
                   xen_reserved_kib=(6141 - 750 - 4274) * 1024)
    world = XenWorld("scarlett", "xl", clock=Clock(), machine=Machine(**machine), dom0_mem_mib=750)
    expected = "".join(line[1:] + "\n" for line in XL_INFO_42.splitlines())
    assert world.run(["xl", "info"]).stdout == expected
    assert world.run(["xl", "info", "free_memory"]).stdout == "4274\n"


def test_xm_info_has_the_oracle_lines_in_their_order():
    machine = Machine(nr_cpus=96, nr_nodes=2, cores_per_socket=24, threads_per_core=2, total_mib=785069,
                      xen_minor=1, release="4.1.12-124.42.4.el6uek.x86_64",
                      xen_reserved_kib=(785069 - 22336 - 4096) * 1024)
    world = XenWorld("sea200214exdd003.sea200214exd.adminsea2.oraclevcn.com", "xm", clock=Clock(), machine=machine,
                     dom0_mem_mib=4096)
    lines = world.run(["xm", "info"]).stdout.splitlines()
    positions = [lines.index(line) for line in XM_INFO_ORACLE.splitlines()]
    assert positions == sorted(positions)
    assert lines[0] == "system                 : Linux"  # XendNode.nodeinfo, before host


def test_virsh_table_and_dominfo_are_the_captures():
    rows = [("1", "web01", "running"), ("2", "cache01", "paused"), ("-", "batch01", "shut off"),
            ("-", "db01", "shut off")]
    assert format_vsh_table(("Id", "Name", "State"), rows) == VIRSH_LIST
    pairs = [line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in DOMINFO.splitlines()]
    assert format_dominfo([(key.rstrip(":").rstrip(), value.lstrip()) for key, value in pairs]) == DOMINFO


def test_state_letters_of_each_tool():
    assert xl_state(False, False, False, True, 3, False) == "---sc-"  # xen.md §2.2: crashed
    assert xm_state(False, False, False, True, True, False) == "----c-"
    assert xl_state(True, False, False, False, 0, False) == "r-----"


@pytest.mark.parametrize("cpus,nr,text", [(None, 8, "all"), ({0, 1, 2, 3}, 8, "0-3"), ({1, 2, 5}, 8, "1-2,5"),
                                          (set(), 4, "none"), ({3}, 4, "3"), ({0, 1, 2, 3}, 4, "all")])
def test_print_bitmap(cpus, nr, text):
    assert print_bitmap(cpus, nr) == text


def test_lvm_report_is_lvmreport7s_examples():
    """man/lvmreport.7_main: `lvs --units b --nosuffix` and `lvs --noheadings` (the man page drops the
    trailing blanks of the padded last column)."""
    fields = [("LV", 4, "s"), ("LSize", 5, "z"), ("Cpy%Sync", 8, "p")]
    out = report(fields, [["lvol1", "4194304", "100.00"], ["lvol0", "4194304", ""]], headings=True)
    assert [line.rstrip() for line in out.splitlines()] == ["  LV    LSize   Cpy%Sync", "  lvol1 4194304 100.00",
                                                            "  lvol0 4194304"]
    out = report(fields, [["lvol1", "4.00m", "100.00"], ["lvol0", "4.00m", ""]], headings=False)
    assert [line.rstrip() for line in out.splitlines()] == ["  lvol1 4.00m 100.00", "  lvol0 4.00m"]
