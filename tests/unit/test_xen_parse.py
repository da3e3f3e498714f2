"""Xen's pure layer: every sample of shared/formats/xen.md and xvm.md (and the virsh captures of libvirt.md §2)
field by field, the stream parser's frame rules, and the malformed cases.

The samples live in tests/fixtures/xen/ (README.md there gives the source and confidence of each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdeck.backends.errors import ParseError
from hvdeck.backends.model import Bindings, Cpu, Disk, Domain, DomainState, Memory, Nic, Section, VcpuPin
from hvdeck.backends.xen import parse, xentop, xvm
from hvdeck.backends.xen.parse import MigrateProgress, SchedCredit, SchedCreditTable, Vbd, VcpuRow, Vif
from hvdeck.backends.xen.xentop import XentopNet, XentopRow, XentopStream, XentopSummary, XentopVbd
from hvdeck.backends.xen.xvm import VdiskImage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "xen"
MIB, GIB, KIB = 2**20, 2**30, 2**10
RUNNING, PAUSED, STOPPED, TRANSITION, CRASHED, UNKNOWN = (
    DomainState.RUNNING, DomainState.PAUSED, DomainState.STOPPED, DomainState.TRANSITION, DomainState.CRASHED,
    DomainState.UNKNOWN)
DOM0 = (("role", "dom0"),)


def sample(name: str) -> str:
    return (FIXTURES / name).read_text()


def dom(name, state, native, domid, vcpus, mem_mib, time, *, uuid=None, extra=(), host="x1"):
    role = DOM0 if name == "Domain-0" else ()
    return Domain(host=host, name=name, state=state, native_state=native, id=domid, uuid=uuid, vcpus=vcpus,
                  memory_bytes=mem_mib * MIB, extra=role + (("time(s)", time),) + extra)


# --- state letters ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("letters", "expected"), [
    ("r-----", RUNNING), ("-b----", RUNNING), ("rb----", RUNNING),
    ("------", RUNNING),  # runnable, waiting for a CPU: none of p, s, d is set
    ("--p---", PAUSED), ("-bp---", PAUSED),
    ("---s--", TRANSITION),  # shut down, reason poweroff
    ("---sr-", TRANSITION), ("---ss-", TRANSITION), ("---sw-", TRANSITION), ("---sS-", TRANSITION),
    ("---s?-", TRANSITION),
    ("---sc-", CRASHED),  # §2.2: "a crashed domain shows ---sc-"
    ("-----d", TRANSITION), ("---scd", TRANSITION),  # dying wins
    ("-----c", UNKNOWN),  # not xl's alphabet
    ("", UNKNOWN), ("r----", UNKNOWN), ("R-----", UNKNOWN),
])
def test_xl_state_letters(letters, expected):
    assert parse.xl_state(letters) is expected


@pytest.mark.parametrize(("letters", "expected"), [
    ("r-----", RUNNING), ("-b----", RUNNING), ("------", RUNNING), ("--p---", PAUSED),
    ("---s--", TRANSITION), ("-----d", TRANSITION), ("----c-", CRASHED), ("---sc-", CRASHED),
    ("---sr-", UNKNOWN),  # xl's reason letter is not xm's alphabet
])
def test_xm_state_letters(letters, expected):
    assert parse.xm_state(letters) is expected


@pytest.mark.parametrize(("letters", "expected"), [
    # §1.4 examples
    ("-----r", RUNNING), ("--b---", RUNNING), ("----p-", PAUSED), ("---c--", CRASHED), ("-s----", TRANSITION),
    ("d-----", TRANSITION),
    ("------", RUNNING), ("-s-c--", CRASHED), ("r-----", UNKNOWN), ("", UNKNOWN),
])
def test_xentop_state_letters(letters, expected):
    assert parse.xentop_state(letters) is expected


# --- xl list / xm list (§2, §3) ---------------------------------------------------------------------------


def test_xl_list_derived_rows_with_tabbed_header():
    assert parse.parse_xl_list(sample("xl-list-derived.txt"), "x1") == (
        dom("Domain-0", RUNNING, "r-----", 0, 4, 4096, "1234.5"),
        dom("web01", RUNNING, "-b----", 3, 2, 2048, "88.2"),
        dom("db01", PAUSED, "--p---", 4, 4, 8192, "3.0"),
    )


def test_xl_list_man_page_sample_indented_with_spaced_header():
    assert parse.parse_xl_list(sample("xl-list-manpage.txt"), "x1") == (
        dom("Domain-0", RUNNING, "r-----", 0, 4, 750, "11794.3"),
        dom("win", RUNNING, "r-----", 1, 1, 1019, "0.3"),
        dom("linux", RUNNING, "r-----", 2, 2, 2048, "5624.2"),
    )


def test_xl_list_v_uuid_reason_and_label():
    assert parse.parse_xl_list(sample("xl-list-v-derived.txt"), "x1") == (
        dom("Domain-0", RUNNING, "r-----", 0, 4, 4096, "1234.5", uuid="00000000-0000-0000-0000-000000000000"),
        dom("web01", RUNNING, "-b----", 3, 2, 2048, "88.2", uuid="6a9f3b1e-52c4-4d2a-9c1e-0f8e7d6c5b4a"),
        dom("crashy", CRASHED, "---sc-", 5, 1, 1024, "7.0", uuid="1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b",
            extra=(("reason", "3"),)),
    )


def test_xl_list_names_longer_than_the_column_and_names_with_spaces():
    text = ("Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
            f"{'a-very-long-domain-name-that-overflows-its-column':<40} {7:5d} {512:5d} {1:5d}     -b----  "
            f"{1.0:8.1f}\n"
            f"{'BB - backup2':<40} {8:5d} {256:5d} {1:5d}     --p---  {2.5:8.1f}\n"
            f"{'web 42':<40} {9:5d} {128:5d} {1:5d}     r-----  {0.1:8.1f}\n")
    rows = parse.parse_xl_list(text, "x1")
    assert [(d.name, d.id, d.memory_bytes, d.state) for d in rows] == [
        ("a-very-long-domain-name-that-overflows-its-column", 7, 512 * MIB, RUNNING),
        ("BB - backup2", 8, 256 * MIB, PAUSED),
        ("web 42", 9, 128 * MIB, RUNNING),  # a name ending in digits is not read as the id
    ]


def test_xm_list_derived():
    assert parse.parse_xm_list(sample("xm-list-derived.txt"), "x1") == (
        dom("Domain-0", RUNNING, "r-----", 0, 1, 984, "84.4"),)


def test_xm_list_managed_domain_without_id_is_stopped():
    assert parse.parse_xm_list(sample("xm-list-managed-derived.txt"), "x1") == (
        dom("Domain-0", RUNNING, "r-----", 0, 1, 984, "84.4"),
        dom("sol1", RUNNING, "-b----", 7, 2, 1024, "12.3"),
        dom("winxp", STOPPED, "------", None, 1, 512, "0.0"),
    )


def test_xm_list_label_column_blank_or_set():
    fmt = "%(name)-40s %(domid)5s %(mem)5d %(vcpus)5d %(state)10s %(cpu_time)8.1f %(seclabel)10s\n"
    text = ('%-40s %5s %5s %5s %10s %9s %-10s\n' % ('Name', 'ID', 'Mem', 'VCPUs', 'State', 'Time(s)', 'Label')
            + fmt % dict(name="Domain-0", domid="0", mem=984, vcpus=1, state="r-----", cpu_time=1.0, seclabel="")
            + fmt % dict(name="sol1", domid="7", mem=64, vcpus=1, state="-b----", cpu_time=2.0, seclabel="blue"))
    rows = parse.parse_xm_list(text, "x1")
    assert [d.extra for d in rows] == [DOM0 + (("time(s)", "1.0"),), (("time(s)", "2.0"), ("label", "blue"))]


def test_empty_list_output_has_no_domains():
    assert parse.parse_xl_list("", "x1") == () == parse.parse_xm_list("\n\n", "x1")


# --- xl info / xm info (§4) -------------------------------------------------------------------------------


def test_xl_info_man_page_sample():
    totals = parse.parse_info(sample("xl-info-manpage.txt"))
    assert (totals.hostname, totals.xen_version, totals.nr_cpus, totals.cpu_mhz, totals.total_memory_bytes,
            totals.free_memory_bytes, totals.scheduler) == ("scarlett", "4.2-unstable", 4, 2266.0, 6141 * MIB,
                                                            4274 * MIB, "credit")
    assert [key for key, _ in totals.fields] == [
        "host", "release", "version", "machine", "nr_cpus", "nr_nodes", "cores_per_socket", "threads_per_core",
        "cpu_mhz", "hw_caps", "virt_caps", "total_memory", "free_memory", "free_cpus", "outstanding_claims",
        "xen_major", "xen_minor", "xen_extra", "xen_caps", "xen_scheduler", "xen_pagesize", "platform_params",
        "xen_changeset", "xen_commandline", "cc_compiler", "cc_compile_by", "cc_compile_domain", "cc_compile_date",
        "xend_config_format"]
    assert totals.get("hw_caps") == "bfebfbff:28100800:00000000:00003b40:009ce3bd:00000000:00000001:00000000"
    assert totals.get("xen_changeset") == "Wed Nov 02 17:09:09 2011 +0000 24066:54a5e994a241"
    assert totals.get("xen_commandline") == "com1=115200,8n1 guest_loglvl=all dom0_mem=750M console=com1"
    assert totals.get("cc_compile_date") == "Tue Nov  8 12:03:05 UTC 2011"
    assert totals.get("version") == "#1001 SMP Wed Oct 19 11:09:54 UTC 2011"
    assert totals.get("nosuch") is None
    info = parse.host_info(totals)
    assert (info.kind, info.hypervisor, info.version, info.hostname, info.cpus, info.memory_bytes, info.notes) == (
        "xen", "Xen", "4.2-unstable", "scarlett", 4, 6141 * MIB, ())


def test_xm_info_oracle_partial_sample():
    totals = parse.parse_info(sample("xm-info-oracle.txt"))
    assert totals.fields == (
        ("host", "sea200214exdd003.sea200214exd.adminsea2.oraclevcn.com"), ("release", "4.1.12-124.42.4.el6uek.x86_64"),
        ("machine", "x86_64"), ("nr_cpus", "96"), ("nr_nodes", "2"), ("cores_per_socket", "24"),
        ("threads_per_core", "2"), ("total_memory", "785069"), ("free_memory", "22336"))
    assert (totals.hostname, totals.xen_version, totals.nr_cpus, totals.cpu_mhz, totals.total_memory_bytes,
            totals.free_memory_bytes, totals.scheduler) == (
        "sea200214exdd003.sea200214exd.adminsea2.oraclevcn.com", None, 96, None, 785069 * MIB, 22336 * MIB, None)
    assert parse.host_info(totals, hypervisor="Xen (xm)").version == ""


def test_xl_info_current_fields():
    totals = parse.parse_info("cpu_mhz                : 2266.746\nxen_version            : 4.17.3\n"
                              "virt_caps              : pv hvm hap shadow\noutstanding_claims     :\n")
    assert (totals.cpu_mhz, totals.xen_version, totals.get("outstanding_claims")) == (2266.746, "4.17.3", "")


# --- xl list -l (§2.3, RECONSTRUCTED) ---------------------------------------------------------------------


def test_list_long_json_bindings():
    """RECONSTRUCTED sample: xen.md §2.3 has none; keys from libxl_types.idl (see the fixtures' README)."""
    bindings = parse.parse_list_long(sample("xl-list-l-reconstructed.json"), "x1")
    assert list(bindings) == ["web01", "db01"]
    assert bindings["web01"] == Bindings(
        host="x1", domain="web01",
        cpu=Cpu(vcpus=2, max_vcpus=4, pinning=(VcpuPin(0, "0-3"), VcpuPin(1, "4,6-7"))),
        memory=Memory(current_bytes=2 * GIB, max_bytes=4 * GIB),
        disks=(Disk("xvda", "/dev/vg0/web01", "phy", "disk", None, False, "raw"),
               Disk("xvdb", "/srv/xen/web01-data.qcow2", "qdisk", "disk", None, False, "qcow2"),
               Disk("xvdc", "/srv/iso/debian-12.iso", "qdisk", "cdrom", None, True, "raw")),
        nics=(Nic("00:16:3e:5f:48:e4", "bridge", "xenbr0", None, None),),
        extra=(Section("DOMAIN", ("PROPERTY", "VALUE"), (
            ("domid", "3"), ("uuid", "6a9f3b1e-52c4-4d2a-9c1e-0f8e7d6c5b4a"), ("type", "pv"),
            ("bootloader", "pygrub"), ("on_reboot", "restart"), ("on_crash", "destroy"))),
               Section("CREDIT SCHEDULER", ("WEIGHT", "CAP"), (("512", "100%"),))))
    assert bindings["db01"] == Bindings(
        host="x1", domain="db01", cpu=Cpu(vcpus=4, max_vcpus=4, pinning=()),
        memory=Memory(current_bytes=8 * GIB, max_bytes=8 * GIB),
        disks=(Disk("hda", "/dev/vg0/db01", "", "disk", None, False, "raw"),),
        nics=(Nic("00:16:3e:74:34:32", "bridge", "xenbr1", "e1000", "vif-db01"),),
        extra=(Section("DOMAIN", ("PROPERTY", "VALUE"), (
            ("domid", "4"), ("uuid", "1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b"), ("type", "hvm"))),))


def test_list_long_tolerates_missing_keys_and_null_domid():
    text = '[{"domid": null, "config": {"c_info": {"name": "bare"}, "b_info": {"max_vcpus": 2, "cpumap": [1, 2]}}}]'
    (bindings,) = parse.parse_list_long(text, "x1").values()
    assert bindings == Bindings(host="x1", domain="bare",
                                cpu=Cpu(vcpus=2, max_vcpus=2, pinning=(VcpuPin(0, "1-2"), VcpuPin(1, "1-2"))),
                                memory=Memory(None, None),
                                extra=(Section("DOMAIN", ("PROPERTY", "VALUE"), (("domid", "-"),)),))
    assert parse.parse_list_long("", "x1") == {} == parse.parse_list_long("[]", "x1")


@pytest.mark.parametrize(("text", "message"), [
    ("(domain (domid 0) (name Domain-0))", "SXP output is not parsed"),
    ("[\n{\"domid\": 1,\n", "JSON does not parse"),
    ("{}", "the top level is not a list"),
    ('[{"domid": 1}]', "entry 0.config is not an object"),
    ('[{"domid": "1", "config": {}}]', "entry 0.domid is not a int"),
    ('[{"domid": 1, "config": {"c_info": {}}}]', "entry 0 has no c_info.name"),
    ('[{"config": {"c_info": {"name": "a"}, "disks": [{"pdev_path": "/x"}]}}]', r"disks\[0\] has no vdev"),
    ('[{"config": {"c_info": {"name": "a"}, "b_info": {"max_vcpus": true}}}]', "b_info.max_vcpus is not a int"),
    ('[{"config": {"c_info": {"name": "a"}, "b_info": {"avail_vcpus": ["x"]}}}]', "avail_vcpus is not a int"),
    ('[{"config": {"c_info": {"name": "a"}, "nics": [{"mac": 5}]}}]', r"nics\[0\].mac is not a str"),
])
def test_list_long_malformed(text, message):
    with pytest.raises(ParseError, match=message):
        parse.parse_list_long(text, "x1")


def test_list_long_json_error_names_the_line():
    with pytest.raises(ParseError) as caught:
        parse.parse_list_long('[\n  {"domid": 1,\n   "config": }\n]', "x1")
    assert caught.value.line_no == 3


@pytest.mark.parametrize(("numbers", "text"), [([], "none"), ([0], "0"), ([0, 1, 2, 3], "0-3"), ([4, 6, 7], "4,6-7"),
                                               ([3, 1, 2, 9], "1-3,9"), ([5, 5], "5")])
def test_format_cpuset(numbers, text):
    assert parse.format_cpuset(numbers) == text


# --- block-list, network-list, vcpu-list ------------------------------------------------------------------


@pytest.mark.parametrize(("devid", "name"), [
    (51712, "xvda"), (51713, "xvda1"), (51728, "xvdb"), (51952, "xvdp"),
    (268439552, "xvdq"), ((1 << 28) | 16, "xvda16"), ((1 << 28) | (26 << 8), "xvdaa"), (768, "hda"), (832, "hdb"),
    (5632, "hdc"), (5696, "hdd"), (769, "hda1"), (2048, "sda"), (2065, "sdb1"), (4096, None), (-1, None),
    (1 << 29, None), (896, None),
])
def test_vdev_names(devid, name):
    assert parse.vdev_name(devid) == name
    if name is not None:
        assert parse.vdev_name(parse.vdev_number(name)) == name


@pytest.mark.parametrize(("name", "number"), [
    ("xvda", 51712), ("xvdb", 51728), ("xvdp15", 51967), ("xvdq", 268439552), ("xvda16", (1 << 28) | 16),
    ("hda", 768), ("hdc", 5632), ("sda", 2048), ("sdp15", 2303),
    ("xvd", None), ("xvda0", None), ("xvda01", None), ("hde", None), ("hda64", None), ("sdq", None),
    ("vda", None), ("xvda256", None),
])
def test_vdev_numbers_like_libxl(name, number):
    assert parse.vdev_number(name) == number


def test_xl_block_list():
    assert parse.parse_block_list(sample("xl-block-list-derived.txt")) == (
        Vbd(51712, 0, 3, 4, 17, 8, "/local/domain/0/backend/vbd/3/51712"),
        Vbd(51728, 0, 3, 4, 18, 9, "/local/domain/0/backend/vbd/3/51728"),
        Vbd(268439552, 0, 3, 4, 19, 10, "/local/domain/0/backend/vbd/3/268439552"),
    )
    assert [(v.vdev, v.disk()) for v in parse.parse_block_list(sample("xl-block-list-derived.txt"))] == [
        ("xvda", Disk("xvda", None)), ("xvdb", Disk("xvdb", None)), ("xvdq", Disk("xvdq", None))]


def test_xm_block_list():
    assert parse.parse_block_list(sample("xm-block-list-derived.txt")) == (
        Vbd(51712, 0, 3, 4, 9, 8, "/local/domain/0/backend/vbd/7/51712"),)


def test_xl_network_list():
    assert parse.parse_network_list(sample("xl-network-list-derived.txt")) == (
        Vif(0, 0, "00:16:3e:5f:48:e4", 0, 4, 20, 768, 769, "/local/domain/0/backend/vif/3/0"),
        Vif(1, 0, "00:16:3e:74:34:32", 1, 4, 21, 1280, 1281, "/local/domain/0/backend/vif/3/1"),
    )
    assert parse.parse_network_list(sample("xl-network-list-derived.txt"))[0].nic() == Nic("00:16:3e:5f:48:e4")


def test_xm_network_list_backend_id_glued_to_the_mac():
    assert parse.parse_network_list(sample("xm-network-list-derived.txt")) == (
        Vif(0, 0, "00:16:3e:12:34:56", 0, 4, 10, 522, 523, "/local/domain/0/backend/vif/7/0"),)
    glued = "Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path\n" \
            "0   10000:16:3e:12:34:56    0     4      10    522  /523     /local/domain/100/backend/vif/7/0  \n"
    assert parse.parse_network_list(glued)[0].backend_id == 100


def test_xl_vcpu_list_hard_and_soft_affinity():
    rows = parse.parse_vcpu_list(sample("xl-vcpu-list-derived.txt"))
    assert rows[:4] == (
        VcpuRow("Domain-0", 0, 0, 0, "r--", 1234.5, "all", "all"),
        VcpuRow("Domain-0", 0, 1, 2, "-b-", 987.1, "all", "all"),
        VcpuRow("web01", 3, 0, 1, "-b-", 88.2, "0-3", "all"),
        VcpuRow("web01", 3, 1, None, "--p", 0.0, "4,6-7", "none"),
    )
    assert rows[4:] == tuple(VcpuRow("db01", 4, i, i, "---", 0.7, "all", "all") for i in range(4))
    assert [row.online for row in rows[2:4]] == [True, False]
    assert rows[3].pin() == VcpuPin(1, "4,6-7")


def test_xl_vcpu_list_of_xen_4_1():
    assert parse.parse_vcpu_list(sample("xl-vcpu-list-4.1-derived.txt")) == (
        VcpuRow("Domain-0", 0, 0, 3, "r--", 41.9, "all"),
        VcpuRow("web01", 3, 0, 1, "-b-", 12.0, "0-1"),
    )


def test_xm_vcpu_list():
    assert parse.parse_vcpu_list(sample("xm-vcpu-list-derived.txt")) == (
        VcpuRow("Domain-0", 0, 0, 0, "r--", 84.4, "any cpu"),
        VcpuRow("sol1", 7, 0, 1, "-b-", 12.3, "1-3"),
        VcpuRow("sol1", 7, 1, None, "--p", 0.0, "no cpus"),
    )


def test_xm_vcpu_list_without_cpu_or_id():
    fmt = '%(name)-32s %(domid)5s %(number)5d %(c)5s %(s)5s  %(cpu_time)8.1f %(cpumap)s\n'
    text = ('%-32s %5s %5s %5s %5s %9s %s\n' % ('Name', 'ID', 'VCPU', 'CPU', 'State', 'Time(s)', 'CPU Affinity')
            + fmt % dict(name="winxp", domid="", number=0, c="", s="", cpu_time=0.0, cpumap="any cpu"))
    assert parse.parse_vcpu_list(text) == (VcpuRow("winxp", None, 0, None, "", 0.0, "any cpu"),)


# --- sched-credit -----------------------------------------------------------------------------------------


def test_xl_sched_credit_every_domain_with_pool_line():
    assert parse.parse_sched_credit(sample("xl-sched-credit-derived.txt")) == SchedCreditTable(
        (SchedCredit("Domain-0", 0, 256, 0), SchedCredit("web01", 3, 512, 100), SchedCredit("db01", 4, 256, 0)),
        ("Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us",))


def test_xl_sched_credit_one_domain():
    table = parse.parse_sched_credit(sample("xl-sched-credit-d-derived.txt"))
    assert table == SchedCreditTable((SchedCredit("sol1", 7, 500, 100),))
    assert table.of("sol1") == SchedCredit("sol1", 7, 500, 100) and table.of("nosuch") is None
    assert parse.sched_section(table.domains[0]) == Section("CREDIT SCHEDULER", ("WEIGHT", "CAP"), (("500", "100%"),))


def test_xm_sched_credit_with_a_stopped_domain():
    assert parse.parse_sched_credit(sample("xm-sched-credit-derived.txt")) == SchedCreditTable(
        (SchedCredit("Domain-0", 0, 256, 0), SchedCredit("sol1", 7, 500, 100), SchedCredit("winxp", None, 256, 0)))
    assert parse.sched_section(SchedCredit("Domain-0", 0, 256, 0)).rows == (("256", "0 (no cap)"),)


def test_sched_credit_unknown_values_and_several_pools():
    row = "%(name)-32s %(domid)5s %(weight)6d %(cap)4d\n"
    text = ("Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n"
            + "%-33s %4s %6s %4s\n" % ("Name", "ID", "Weight", "Cap")
            + row % dict(name="odd", domid="3", weight=-1, cap=-1)
            + "Cpupool fast: [sched params unavailable]\n"
            + "%-33s %4s %6s %4s\n" % ("Name", "ID", "Weight", "Cap")
            + "%-33s %4d %6d %4d\n" % ("a-name-that-is-longer-than-its-column", 12, 300, 50))
    table = parse.parse_sched_credit(text)
    assert table.domains == (SchedCredit("odd", 3, None, None),
                             SchedCredit("a-name-that-is-longer-than-its-column", 12, 300, 50))
    assert table.pools == ("Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us",
                           "Cpupool fast: [sched params unavailable]")


# --- xentop (§1) ------------------------------------------------------------------------------------------


def row(name, state, cpu, pct, mem, mem_pct, maxmem, maxmem_pct, vcpus, nets, tx, rx, vbds, oo, rd, wr, rsect, wsect,
        ssid, line_no, *, cut=False, **subrows):
    return XentopRow(name=name, name_may_be_truncated=cut, state=state, cpu_seconds=cpu, cpu_percent=pct, mem_kib=mem,
                     mem_percent=mem_pct, max_mem_kib=maxmem, max_mem_percent=maxmem_pct, vcpus=vcpus, nets=nets,
                     net_tx_kib=tx, net_rx_kib=rx, vbds=vbds, vbd_oo=oo, vbd_rd=rd, vbd_wr=wr, vbd_rsect=rsect,
                     vbd_wsect=wsect, ssid=ssid, line_no=line_no, **subrows)


def test_xentop_header_alone_is_a_frame_without_rows():
    (frame,) = xentop.parse_xentop(sample("xentop-header-derived.txt"))
    assert (frame.index, frame.line_no, frame.columns, frame.rows, frame.summary, frame.pcpus) == (
        0, 1, xentop.XENTOP_COLUMNS, (), None, ())


def test_xentop_interactive_4_1_2_with_summary():
    (frame,) = xentop.parse_xentop(sample("xentop-interactive-4.1.2.txt"))
    assert frame.summary == XentopSummary("18:03:17", "4.1.2", 2, 1, 1, 0, 0, 0, 0, mem_total_kib=33548272,
                                          mem_used_kib=32870172, mem_free_kib=678100, cpus=8, mhz=2992)
    assert (frame.line_no, frame.first) == (1, True)
    assert frame.rows == (
        row("Domain-0", "-----r", 161513, None, 1048576, 3.1, None, None, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5),
        row("virtual1", "--b---", 128529, None, 31457280, 93.8, 31457280, 93.8, 8, 1, 7604726, 17270964, 2, 0,
            181258, 3374788, 7781018, 69690752, 0, 6),
    )
    assert frame.counts() == {"running": 1, "blocked": 1, "paused": 0, "crashed": 0, "dying": 0, "shutdown": 0}


def test_xentop_pre_2009_header_without_sector_columns():
    (frame,) = xentop.parse_xentop(sample("xentop-b-pre2009.txt"))
    assert frame.columns == tuple(c for c in xentop.XENTOP_COLUMNS if c not in ("VBD_RSECT", "VBD_WSECT"))
    assert frame.rows == (
        row("Domain-0", "-----r", 1414, None, 768768, 2.3, 768768, 2.3, 8, 0, 0, 0, 0, 0, 0, 0, None, None, 0, 2),)


def test_xentop_oracle_sample_truncated_name_and_widened_columns():
    (frame,) = xentop.parse_xentop(sample("xentop-b-oracle-truncated.txt"))
    assert frame.rows == (
        row("c2214-vkge", "-----r", 2084, None, 754978808, 93.9, 754978816, 93.9, 92, 3, 4249, 52707, 4, 0, 84460,
            75132, 4754377, 8759386, 0, 2, cut=True),
        row("Domain-0", "-----r", 393575, None, 9357356, 1.2, 9437184, 1.2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3),
    )
    assert xentop.resolve_name("c2214-vkge", ["Domain-0", "c2214-vkgest01"]) == "c2214-vkgest01"


def test_xentop_two_iterations_first_cpu_percent_unknown():
    first, second = xentop.parse_xentop(sample("xentop-b-2-iterations-derived.txt"))
    assert (first.index, first.line_no, second.index, second.line_no) == (0, 1, 1, 4)
    assert first.rows == (
        row("Domain-0", "-----r", 161513, None, 1048576, 3.1, None, None, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2),
        row("virtual1", "--b---", 128529, None, 31457280, 93.8, 31457280, 93.8, 8, 1, 7604726, 17270964, 2, 0, 181258,
            3374788, 7781018, 69690752, 0, 3),
    )
    assert second.rows == (
        row("Domain-0", "-----r", 161514, 12.5, 1048576, 3.1, None, None, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5),
        row("virtual1", "--b---", 128529, 0.3, 31457280, 93.8, 31457280, 93.8, 8, 1, 7604730, 17270970, 2, 0, 181258,
            3374790, 7781018, 69690760, 0, 6),
    )


def test_xentop_sub_rows_vcpus_networks_vbds():
    (frame,) = xentop.parse_xentop(sample("xentop-b-vnx-derived.txt"))
    dom0, web = frame.rows
    assert dom0 == row("Domain-0", "-----r", 161513, None, 1048576, 3.1, None, None, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                       2, vcpu_seconds=((0, 1234), (1, 987), (2, 5), (3, 4), (4, 3), (5, 2), (6, 1), (7, 0)))
    assert web == row(
        "web01", "--b---", 88, None, 2097152, 6.3, 2097152, 6.3, 6, 1, 7604726, 17270964, 2, 0, 181258, 3374788,
        7781018, 69690752, 0, 5, vcpu_seconds=((0, 60), (1, 20), (2, 3), (3, 2), (4, 2), (5, 1)),
        networks=(XentopNet(0, 1234567, 890, 0, 2, 7654321, 654, 1, 0),),
        vbd_devices=(XentopVbd("BlkBack", 51712, 0xca, 0, 0, 181000, 3374000, 7781000, 69690000),
                     XentopVbd("Tapdisk3", 51728, 0xca, 0x10, None, None, None, None, None)))
    assert [vbd.vdev for vbd in web.vbd_devices] == ["xvda", "xvdb"]


def test_xentop_vbd_sub_rows_without_linux_details():
    (frame,) = xentop.parse_xentop(sample("xentop-b-x-solaris-derived.txt"))
    assert frame.rows[0].vbd_devices == (XentopVbd("BlkBack", 51712, None, None, 0, 1, 2, 3, 4),
                                         XentopVbd("BlkBack", 51728, None, None, 0, 5, 6, 7, 8))


def test_xentop_full_names_with_spaces_are_never_marked_cut():
    (frame,) = xentop.parse_xentop(sample("xentop-b-f-spaces-reconstructed.txt"))
    # §1.5: the start of this row is VERBATIM; the rest is RECONSTRUCTED
    assert [(r.name, r.name_may_be_truncated, r.state, r.cpu_seconds) for r in frame.rows] == [
        ("BB - backup2", False, "--b---", 11235), ("Domain-0", False, "-----r", 161513),
        ("production-database-01", False, "-----r", 5)]
    assert frame.rows[0] == row("BB - backup2", "--b---", 11235, None, 4194304, 12.5, 4194304, 12.5, 2, 1, 100, 200, 1,
                                0, 10, 20, 30, 40, 0, 2)


def test_xentop_replay_frames_and_domains():
    first, second = xentop.parse_xentop(sample("xentop-b-replay-derived.txt"))
    assert [r.name for r in first.rows] == ["db01", "Domain-0", "web01"]  # strcasecmp order (§1.2)
    assert [r.cpu_percent for r in first.rows] == [None, None, None]
    assert [r.cpu_percent for r in second.rows] == [0.0, 12.5, 0.4]
    db01, dom0, web01 = (r.domain("x1") for r in second.rows)
    assert dom0 == Domain(host="x1", name="Domain-0", state=RUNNING, native_state="-----r", id=None, vcpus=4,
                          memory_bytes=4 * GIB, max_memory_bytes=None, cpu_percent=12.5 / 4,
                          extra=DOM0 + (("time(s)", "1235"),))
    assert web01 == Domain(host="x1", name="web01", state=RUNNING, native_state="--b---", vcpus=2,
                           memory_bytes=2 * GIB, max_memory_bytes=4 * GIB, cpu_percent=0.2, extra=(("time(s)", "88"),))
    assert (db01.state, db01.cpu_percent) == (PAUSED, 0.0)
    assert first.rows[1].domain("x1", domid=0).cpu_percent is None
    assert second.rows[2].domain("x1", name="web01-full", domid=3).name == "web01-full"
    from dataclasses import replace

    # xentop's figure runs past 100 x VCPUS when an interval stretches: the fleet's share stays 0-100
    assert replace(second.rows[2], cpu_percent=243.0).domain("x1").cpu_percent == 100.0
    assert first.counts() == {"running": 1, "blocked": 1, "paused": 1, "crashed": 0, "dying": 0, "shutdown": 0}


def _frame(*rows: str) -> str:
    return sample("xentop-header-derived.txt") + "".join(rows)


ROW = "  {name:>8} {state} {cpu:10d} {pct:6.1f}    1048576    3.1   no limit       n/a     8    0        0        " \
      "0    " \
      "0        0        0        0          0          0    0\n"


def test_xentop_cpu_percent_unknown_for_a_new_domain_and_a_restarted_one():
    text = (_frame(ROW.format(name="a", state="-----r", cpu=10, pct=0.0))
            + _frame(ROW.format(name="a", state="-----r", cpu=11, pct=5.0),
                     ROW.format(name="b", state="--b---", cpu=1, pct=0.0))
            + _frame(ROW.format(name="a", state="-----r", cpu=2, pct=7.0),  # a new "a": CPU(sec) went down
                     ROW.format(name="b", state="--b---", cpu=2, pct=1.0)))
    frames = xentop.parse_xentop(text)
    assert [[(r.name, r.cpu_percent) for r in f.rows] for f in frames] == [
        [("a", None)], [("a", 5.0), ("b", None)], [("a", None), ("b", 1.0)]]


def test_xentop_frame_completes_only_at_the_next_header():
    stream = XentopStream()
    text = sample("xentop-b-2-iterations-derived.txt")
    lines = text.splitlines(keepends=True)
    assert stream.feed("".join(lines[:3])) == []  # header and both rows of the first frame: not complete yet
    (first,) = stream.feed(lines[3])  # the next header completes it
    assert [r.name for r in first.rows] == ["Domain-0", "virtual1"]
    assert stream.feed("".join(lines[4:])) == []
    (second,) = stream.close()
    assert second.index == 1 and len(second.rows) == 2
    assert stream.close() == []


def test_xentop_summary_starts_a_frame_in_interactive_output():
    text = sample("xentop-interactive-4.1.2.txt")
    frames = xentop.parse_xentop(text + text)
    assert [f.index for f in frames] == [0, 1] and all(f.summary is not None for f in frames)
    assert [r.cpu_percent for r in frames[1].rows] == [0.0, 0.0]


def test_xentop_tmem_and_pcpu_lines():
    tmem = ("Tmem:  Curr eph pages: %8u   Succ eph gets: %8u   Succ pers puts: %8u   Succ pers gets: %8u\n"
            % (1, 2, 3, 4))
    pcpu = "\nPhysical CPU Usage:\n+-------+--------+\n| Core  | Usage  |\n+-------+--------+\n" \
           "| 0     |  12.5% |\n| 1     |   0.0% |\n+-------+--------+\n"
    (frame,) = xentop.parse_xentop(_frame(ROW.format(name="a", state="-----r", cpu=1, pct=0.0), tmem) + pcpu)
    assert frame.rows[0].tmem == (1, 2, 3, 4)
    assert frame.pcpus == ((0, 12.5), (1, 0.0))
    (frame,) = xentop.parse_xentop(_frame(ROW.format(name="a", state="-----r", cpu=1, pct=0.0))
                                  + "\nNo PCPU data available\n")
    assert frame.pcpus == ()


def test_xentop_nan_cpu_percent_is_unknown():
    text = (_frame(ROW.format(name="a", state="-----r", cpu=1, pct=0.0))
            + _frame(ROW.format(name="a", state="-----r", cpu=1, pct=0.0).replace("   0.0", "   nan", 1)))
    assert xentop.parse_xentop(text)[1].rows[0].cpu_percent is None


@pytest.mark.parametrize(("text", "line_no", "message"), [
    ("  Domain-0 -----r\n", 1, "expected the NAME STATE"),
    (_frame("VCPUs(sec):   0:          1s\n"), 2, "sub-row before any domain row"),
    (_frame("  Domain-0 -----r 1 0.0\n"), 2, "expected 19 columns"),
    (_frame(ROW.format(name="a", state="r-----", cpu=1, pct=0.0)), 2, "not a xentop state"),
    (_frame(ROW.format(name="a", state="-----r", cpu=1, pct=0.0).replace("1048576", "1.5e6")), 2,
     "mem_kib '1.5e6' is not a whole number"),
    (_frame(ROW.format(name="a", state="-----r", cpu=1, pct=0.0).replace("no limit", "no  cap")), 2,
     "is not a"),
    ("      NAME  STATE  SSID VCPUS\n", 1, "columns out of order"),
    ("xentop - 18:03:17   Xen 4.1.2\nMem: 1k total\n", 2, "expected the summary lines"),
    ("xentop - yesterday\n", 1, "expected xentop - HH:MM:SS"),
    (_frame(ROW.format(name="a", state="-----r", cpu=1, pct=0.0), "Physical CPU Usage:\n| x |\n"), 4,
     "Physical CPU Usage table"),
    (_frame(ROW.format(name="a", state="-----r", cpu=1, pct=0.0)) + "partial", 3, "ends inside a line"),
])
def test_xentop_malformed_names_the_line(text, line_no, message):
    with pytest.raises(ParseError, match=message) as caught:
        xentop.parse_xentop(text)
    assert caught.value.line_no == line_no
    assert f"line {line_no}:" in str(caught.value)


def test_xentop_bounds_line_length_and_frame_size():
    stream = XentopStream(max_line=200)
    with pytest.raises(ParseError, match="longer than 200"):
        stream.feed("x" * 201)  # no newline yet: the buffer itself is bounded
    with pytest.raises(ParseError, match="broke earlier"):
        stream.feed("\n")
    stream = XentopStream(max_line=200)
    with pytest.raises(ParseError, match="longer than 200") as caught:
        stream.feed(sample("xentop-header-derived.txt") + "y" * 250 + "\n")
    assert caught.value.line_no == 2
    stream = XentopStream(max_frame_bytes=1000)
    stream.feed(sample("xentop-header-derived.txt"))
    with pytest.raises(ParseError, match="a frame larger than 1000 bytes"):
        stream.feed(ROW.format(name="a", state="-----r", cpu=1, pct=0.0) * 10)


def test_xentop_stream_line_numbers_count_from_the_start():
    stream = XentopStream()
    stream.feed(sample("xentop-b-2-iterations-derived.txt"))
    with pytest.raises(ParseError) as caught:
        stream.feed("garbage\n")
    assert caught.value.line_no == 7


def test_resolve_name():
    names = ["Domain-0", "production-web1", "production-web2", "production"]
    assert xentop.resolve_name("production", names) == "production"  # an exact name wins
    assert xentop.resolve_name("production", names[:3]) is None  # two candidates: ambiguous
    assert xentop.resolve_name("production", names[:2]) == "production-web1"
    assert xentop.resolve_name("nosuch", names) is None


# --- virsh on xVM (libvirt.md §2.1, §2.2) ------------------------------------------------------------------


def vdom(name, state, native, domid, extra=()):
    return Domain(host="x1", name=name, state=state, native_state=native, id=domid, extra=extra)


def test_virsh_list_captures():
    assert xvm.parse_virsh_list(sample("virsh-list-all-test.txt"), "x1") == (vdom("test", RUNNING, "running", 1),)
    assert xvm.parse_virsh_list(sample("virsh-list-all-custom.txt"), "x1") == (
        vdom("web01", RUNNING, "running", 1), vdom("cache01", PAUSED, "paused", 2),
        vdom("batch01", STOPPED, "shut off", None), vdom("db01", STOPPED, "shut off", None))
    assert xvm.parse_virsh_list(sample("virsh-list-managed-save.txt"), "x1")[2] == vdom(
        "batch01", STOPPED, "saved", None)
    assert xvm.parse_virsh_list(sample("virsh-list-title.txt"), "x1") == (vdom("test", RUNNING, "running", 1),)


def test_virsh_list_old_fixed_layout_and_every_state_word():
    # libvirt.md §2.1: older virsh printed " %-5s %-30s %s" under a line of 52 dashes (described, not captured)
    rows = [("0", "Domain-0", "running"), ("3", "sol 1", "idle"), ("4", "a", "in shutdown"), ("5", "b", "crashed"),
            ("-", "c", "shut off"), ("6", "d", "no state"), ("7", "e", "pmsuspended"), ("8", "f", "blocked")]
    text = " %-5s %-30s %s\n" % ("Id", "Name", "State") + "-" * 52 + "\n" + "".join(
        " %-5s %-30s %s\n" % r for r in rows) + "\n"
    assert [(d.id, d.name, d.state, d.native_state, d.extra) for d in xvm.parse_virsh_list(text, "x1")] == [
        (0, "Domain-0", RUNNING, "running", DOM0), (3, "sol 1", RUNNING, "idle", ()),
        (4, "a", TRANSITION, "in shutdown", ()), (5, "b", CRASHED, "crashed", ()), (None, "c", STOPPED, "shut off", ()),
        (6, "d", UNKNOWN, "no state", ()), (7, "e", PAUSED, "pmsuspended", ()), (8, "f", UNKNOWN, "blocked", ())]


def test_virsh_dominfo_running_and_inactive():
    domain, values = xvm.parse_virsh_dominfo(sample("virsh-dominfo-test.txt"), "x1")
    assert domain == Domain(host="x1", name="test", state=RUNNING, native_state="running", id=1,
                            uuid="6695eb01-f6a4-8304-79aa-97f2502e193f", vcpus=2, memory_bytes=2 * GIB,
                            max_memory_bytes=8 * GIB, extra=(("time(s)", "1795366215.8"),))
    assert values == {"Id": "1", "Name": "test", "UUID": "6695eb01-f6a4-8304-79aa-97f2502e193f", "OS Type": "linux",
                      "State": "running", "CPU(s)": "2", "CPU time": "1795366215.8s", "Max memory": "8388608 KiB",
                      "Used memory": "2097152 KiB", "Persistent": "yes", "Autostart": "disable", "Managed save": "no",
                      "Security model": "testSecurity", "Security DOI": "",
                      "Security label": "libvirt-test (enforcing)"}
    domain, values = xvm.parse_virsh_dominfo(sample("virsh-dominfo-db01.txt"), "x1")
    assert domain == Domain(host="x1", name="db01", state=STOPPED, native_state="shut off", id=None,
                            uuid="22222222-2222-2222-2222-222222222222", vcpus=4, memory_bytes=4 * GIB,
                            max_memory_bytes=4 * GIB, extra=(("time(s)", "1795366293.6"),))
    assert "Security label" not in values


@pytest.mark.parametrize(("text", "message"), [
    ("Name: a\nState: running\n", "no Id: line"),
    ("Id: x\nName: a\nState: running\n", "Id 'x' is not a number"),
    ("Id: 1\nName: a\nState: running\nMax memory: 8 GiB\n", "Max memory '8 GiB' is not N KiB"),
    ("Id: 1\nName: a\nState: running\nCPU(s): two\n", "CPU.s. 'two' is not a number"),
    ("Id: 1\nName: a\nState: running\nUUID: nope\n", "'nope' is not a UUID"),
    ("Id 1\n", "expected Key: value"),
])
def test_virsh_dominfo_malformed(text, message):
    with pytest.raises(ParseError, match=message):
        xvm.parse_virsh_dominfo(text, "x1")


# --- vdiskadm (xvm.md) ------------------------------------------------------------------------------------


def test_vdiskadm_list_from_the_guide():
    images = xvm.parse_vdiskadm_list(sample("vdiskadm-list-guide.txt"))
    assert images == (VdiskImage("vhd_sp", "install"), VdiskImage("vhd_sp", "bfu"), VdiskImage("vhd_sp"))
    assert [str(image) for image in images] == ["vhd_sp@install", "vhd_sp@bfu", "vhd_sp"]
    with pytest.raises(ParseError, match="VDNAME or VDNAME@SNAPSHOT") as caught:
        xvm.parse_vdiskadm_list("vhd_sp\nvhd sp@a@b\n")
    assert caught.value.line_no == 2


# --- xl migrate progress (§5) ------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "expected"), [
    # xl's own messages (§5): no percentage
    ("migration sender: Target has acknowledged transfer.",
     MigrateProgress(None, "migration sender: Target has acknowledged transfer.")),
    ("migration sender: Giving target permission to start.",
     MigrateProgress(None, "migration sender: Giving target permission to start.")),
    ("migration target: Ready to receive domain.", MigrateProgress(None, "migration target: Ready to receive domain.")),
    ("migration target: Domain started successsfully.",
     MigrateProgress(None, "migration target: Domain started successsfully.")),
    ("migration sender: Target reports successful startup.",
     MigrateProgress(None, "migration sender: Target reports successful startup.")),
    ("Migration successful.\n", MigrateProgress(1.0, "Migration successful.", True)),
    ("Migration failed, failed to suspend at sender.",
     MigrateProgress(None, "Migration failed, failed to suspend at sender.", False)),
    ("Migration failed, resuming at sender.", MigrateProgress(None, "Migration failed, resuming at sender.", False)),
    ("Migration failed due to problems at target.",
     MigrateProgress(None, "Migration failed due to problems at target.", False)),
    ("migration target: Failure, destroying our copy.",
     MigrateProgress(None, "migration target: Failure, destroying our copy.", False)),
    ("migration sender: Trying to resume at our end.",
     MigrateProgress(None, "migration sender: Trying to resume at our end.")),
    ("Error: Domain 'nosuch' does not exist.", MigrateProgress(None, "Error: Domain 'nosuch' does not exist.", False)),
    # libxc's meter (xtl_logger_stdio.c: "%s: %lu/%lu  %3d%%", with a context and level prefix or rewritten with \r)
    ("xc: detail: Frames: 131072/262144   50%", MigrateProgress(0.5, "xc: detail: Frames: 131072/262144   50%")),
    ("\rxc: Frames: 0/262144    0%\rxc: Frames: 262144/262144  100%\n",
     MigrateProgress(1.0, "xc: Frames: 262144/262144  100%")),
    ("xc: Frames: 0/0    0%", MigrateProgress(0.0, "xc: Frames: 0/0    0%")),
    ("", MigrateProgress(None, "")),
    ("\x1b]52;c;x\x07 text", MigrateProgress(None, "]52;c;x text")),
])
def test_migrate_progress_lines(line, expected):
    assert parse.parse_migrate_line(line) == expected


# --- malformed table output names the line ----------------------------------------------------------------


@pytest.mark.parametrize(("function", "text", "line_no", "message"), [
    (lambda t: parse.parse_xl_list(t, "h"), "Name ID Mem\n", 1, "not the header of xl list"),
    (lambda t: parse.parse_xl_list(t, "h"), sample("xl-list-derived.txt") + "x 1 2 3 -----r 1.0\n", 5,
     "'-----r' is not a xl list state"),
    (lambda t: parse.parse_xl_list(t, "h"), sample("xl-list-derived.txt") + "x 1 2 3 r----- 1\n", 5,
     "Time.s. '1' is not a number"),
    (lambda t: parse.parse_xl_list(t, "h"), sample("xl-list-derived.txt") + "x 1 2 z r----- 1.0\n", 5,
     "VCPUs 'z' is not a whole number"),
    (lambda t: parse.parse_xl_list(t, "h"), sample("xl-list-derived.txt") + "1 2 r----- 1.0\n", 5,
     "expected Name ID Mem VCPUs State Time"),
    (lambda t: parse.parse_xl_list(t, "h"), "Name ID Mem VCPUs State Time(s) Frob\n", 1, "unknown column 'Frob'"),
    (lambda t: parse.parse_xl_list(t, "h"), sample("xl-list-derived.txt") + f"{'web':<40} {5:5d} x 1 2 -b---- 1.0\n", 5,
     "expected Name ID Mem VCPUs State Time"),
    (lambda t: parse.parse_xm_list(t, "h"), sample("xm-list-derived.txt") + f"{'web':<40} {'':5} x 1 2 ------ 1.0\n", 3,
     "expected Name ID Mem VCPUs State Time"),
    (lambda t: parse.parse_xl_list(t, "h"), sample("xl-list-v-derived.txt").replace("6a9f3b1e-", "zz"), 3,
     "is not a UUID"),
    (lambda t: parse.parse_xm_list(t, "h"), sample("xm-list-derived.txt") + "x 1 2 3 ---sr- 1.0\n", 3,
     "not a xm list state"),
    (parse.parse_info, "host : a\nnr_cpus : many\n", 2, "nr_cpus 'many' is not a number"),
    (parse.parse_info, "host = a\n", 1, "expected key : value"),
    (parse.parse_block_list, "Vdev BE\n", 1, "not the header of block-list"),
    (parse.parse_block_list, sample("xl-block-list-derived.txt") + "1 2 3\n", 5, "expected Vdev BE"),
    (parse.parse_block_list, sample("xl-block-list-derived.txt") + "a 0 3 4 17 8 /p\n", 5, "Vdev 'a' is not"),
    (parse.parse_network_list, "Idx\n", 1, "not the header of network-list"),
    (parse.parse_network_list, sample("xl-network-list-derived.txt") + "0 0 nomac 0 4 1 1/1 /p\n", 4,
     "expected Idx BE MAC"),
    (parse.parse_vcpu_list, "Name ID\n", 1, "not the header of vcpu-list"),
    (parse.parse_vcpu_list, sample("xl-vcpu-list-derived.txt") + "x 1 2 3 r-- 5\n", 10, "expected Name ID VCPU"),
    (parse.parse_vcpu_list, sample("xl-vcpu-list-derived.txt").replace(" / all", " all"), 2, "Hard / Soft"),
    (parse.parse_sched_credit, "web 1 256 0\n", 1, "a row before the Name ID Weight Cap header"),
    (parse.parse_sched_credit, "Name ID Weight Cap\nweb 1 x 0\n", 2, "Weight 'x' is not a whole number"),
    (parse.parse_sched_credit, "Name ID Weight Cap\n256 0\n", 2, "expected Name ID Weight Cap"),
    (parse.parse_sched_credit, "Name ID Weight Cap\n" + "%-33s %4d %6s %6d %4d\n" % ("web", 3, "x", 256, 0), 2,
     "expected Name ID Weight Cap"),
    (lambda t: xvm.parse_virsh_list(t, "h"), " Id Name\n", 1, "not the header of virsh list"),
    (lambda t: xvm.parse_virsh_list(t, "h"), sample("virsh-list-all-test.txt") + " x    test   running\n", 5,
     "Id 'x' is not a number"),
    (lambda t: xvm.parse_virsh_list(t, "h"), sample("virsh-list-all-test.txt") + " 3\n", 5, "expected Id Name State"),
])
def test_malformed_table_names_the_line(function, text, line_no, message):
    with pytest.raises(ParseError, match=message) as caught:
        function(text)
    assert caught.value.line_no == line_no
    assert f"line {line_no}:" in str(caught.value)


def test_a_line_over_64_kib_is_refused():
    with pytest.raises(ParseError, match="longer than 65536") as caught:
        parse.parse_xl_list(sample("xl-list-derived.txt") + "x" * (64 * KIB + 1) + "\n", "h")
    assert caught.value.line_no == 5


# --- fixtures ---------------------------------------------------------------------------------------------


def test_every_fixture_has_its_provenance_in_the_readme():
    readme = (FIXTURES / "README.md").read_text()
    files = [p.name for p in FIXTURES.iterdir() if p.is_file() and p.name != "README.md"]
    data = FIXTURES / "replay" / "data"
    files += [f"{p.parent.name}/{p.name}" for p in data.glob("*/*.out")]
    assert files and [name for name in files if f"`{name}`" not in readme] == []


def test_vcpu_list_with_a_mangled_id_is_a_parse_error():
    """Found by the property test: a row whose ID is not a number (`:3`) in a listing not in the fixed
    columns raised ValueError from int() instead of a ParseError naming the line."""
    text = ("Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n"
            "Domain-0                             0     0    0   r--    1234.5  all / all\n"
            "web01                               :3     0    1   -b-      88.2  0-3 / all\n")
    with pytest.raises(ParseError) as caught:
        parse.parse_vcpu_list(text)
    assert "ID ':3' is not a whole number" in caught.value.message
