"""libvirt's pure layer: states, bulk-stats rows and rates, domain XML bindings, URIs, names, plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdeck.backends.base import Action
from hvdeck.backends.errors import ParseError, ValidationError
from hvdeck.backends.libvirt import commands, parse
from hvdeck.backends.model import Domain, DomainState

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "libvirt"


@pytest.mark.parametrize(("code", "state", "native"), [
    (0, DomainState.UNKNOWN, "no state"),
    (1, DomainState.RUNNING, "running"),
    (2, DomainState.RUNNING, "idle"),
    (3, DomainState.PAUSED, "paused"),
    (4, DomainState.TRANSITION, "in shutdown"),
    (5, DomainState.STOPPED, "shut off"),
    (6, DomainState.CRASHED, "crashed"),
    (7, DomainState.PAUSED, "pmsuspended"),
    (42, DomainState.UNKNOWN, "state 42"),
    (None, DomainState.UNKNOWN, "unknown"),
])
def test_state_table_keeps_the_native_word(code, state, native):
    assert parse.state(code) == (state, native)


QEMU_STATS = {  # keys as virConnectGetAllDomainStats returns them (shared formats, libvirt §5)
    "state.state": 1, "state.reason": 1, "cpu.time": 10_000_000_000, "balloon.current": 2097152,
    "balloon.maximum": 4194304, "vcpu.current": 2, "vcpu.maximum": 4,
    "net.count": 2, "net.0.name": "vnet0", "net.0.rx.bytes": 1000, "net.0.tx.bytes": 500,
    "net.1.name": "vnet1", "net.1.rx.bytes": 3000, "net.1.tx.bytes": 0,
    "block.count": 1, "block.0.name": "vda", "block.0.rd.bytes": 4096, "block.0.wr.bytes": 8192,
}


def test_bulk_stats_row_and_rates_from_counter_deltas():
    first, counters = parse.domain_row("kvm", name="web", uuid="u1", dom_id=7, stats=QEMU_STATS, info=None,
                                       console="pty", prev=None, now=100.0)
    assert (first.id, first.state, first.native_state, first.vcpus) == (7, DomainState.RUNNING, "running", 2)
    assert (first.memory_bytes, first.max_memory_bytes) == (2 * 1024**3, 4 * 1024**3)
    assert first.cpu_percent is None and first.net_rx_bps is None, "no baseline yet: unknown, not zero"
    assert first.uptime_s is None and first.console == "pty"
    later = dict(QEMU_STATS, **{"cpu.time": 10_000_000_000 + 1_000_000_000,  # 1 s of CPU in 2 s, 2 vCPUs
                                "net.0.rx.bytes": 1000 + 2048, "net.0.tx.bytes": 500 + 1024,
                                "block.0.wr.bytes": 8192 + 4096})
    second, _ = parse.domain_row("kvm", name="web", uuid="u1", dom_id=7, stats=later, info=None,
                                 console="pty", prev=counters, now=102.0)
    assert second.cpu_percent == 25.0
    assert (second.net_rx_bps, second.net_tx_bps) == (1024.0, 512.0)
    assert (second.disk_rd_bps, second.disk_wr_bps) == (0.0, 2048.0)


def test_counter_reset_gives_unknown_not_negative():
    _, counters = parse.domain_row("kvm", name="w", uuid="u", dom_id=1, stats=QEMU_STATS, info=None,
                                   console=None, prev=None, now=0.0)
    restarted = dict(QEMU_STATS, **{"cpu.time": 5, "net.0.rx.bytes": 0})
    row, _ = parse.domain_row("kvm", name="w", uuid="u", dom_id=1, stats=restarted, info=None, console=None,
                              prev=counters, now=2.0)
    assert row.cpu_percent is None and row.net_rx_bps is None


def test_info_fallback_for_drivers_without_bulk_groups():
    # the test driver returns only state.* from getAllDomainStats (shared formats, libvirt §2.6)
    stats = {"state.state": 3, "state.reason": 0}
    info = [3, 8388608, 2097152, 2, 1_000_000_000]
    row, counters = parse.domain_row("t", name="test", uuid="u", dom_id=1, stats=stats, info=info,
                                     console=None, prev=None, now=0.0)
    assert (row.state, row.vcpus, row.memory_bytes, row.max_memory_bytes) == (
        DomainState.PAUSED, 2, 2097152 * 1024, 8388608 * 1024)
    assert counters.cpu_ns == 1_000_000_000
    inactive, _ = parse.domain_row("t", name="off", uuid="v", dom_id=-1, stats={"state.state": 5},
                                   info=[5, 1024, 1024, 1, 0], console=None, prev=None, now=0.0)
    assert inactive.id is None and inactive.state is DomainState.STOPPED and inactive.vcpus == 1


def test_bindings_from_captured_test_driver_xml():
    xml = (FIXTURES / "test_web01_live.xml").read_text()
    b = parse.bindings_from_xml("kvm-a", xml)
    assert (b.domain, b.cpu.vcpus, b.cpu.max_vcpus, b.cpu.pinning) == ("web01", 2, 2, ())
    assert (b.memory.current_bytes, b.memory.max_bytes) == (2 * 1024**3, 2 * 1024**3)
    (disk,) = b.disks
    assert (disk.target, disk.source, disk.source_type, disk.bus, disk.device, disk.read_only) == (
        "vda", "/var/lib/libvirt/images/web01.qcow2", "file", "virtio", "disk", False)
    (nic,) = b.nics
    assert (nic.mac, nic.source_type, nic.source, nic.target) == ("52:54:00:aa:bb:01", "network", "default",
                                                                  "testnet0")
    assert b.consoles == ()
    assert parse.console_summary(xml) is None


def test_bindings_of_a_busy_domain():
    xml = """<domain type='kvm' id='3'><name>db</name>
      <memory unit='GiB'>16</memory><currentMemory unit='MiB'>8192</currentMemory>
      <vcpu placement='static' current='2'>4</vcpu>
      <cputune><vcpupin vcpu='0' cpuset='4'/><vcpupin vcpu='1' cpuset='5-6'/></cputune>
      <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><kernel>/boot/vmlinuz</kernel></os>
      <devices>
        <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='images' volume='db.qcow2'/><target dev='vda' bus='virtio'/></disk>
        <disk type='block' device='disk'><source dev='/dev/vg0/db-data'/><target dev='vdb' bus='virtio'/></disk>
        <disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='sda' bus='sata'/><readonly/></disk>
        <disk type='network' device='disk'><source protocol='rbd' name='pool/img'><host name='mon1' port='6789'/></source><target dev='vdc' bus='virtio'/></disk>
        <interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br0'/><target dev='vnet3'/><model type='virtio'/></interface>
        <interface type='direct'><mac address='52:54:00:00:00:02'/><source dev='eth1' mode='bridge'/></interface>
        <serial type='pty'><source path='/dev/pts/7'/><target type='isa-serial' port='0'/></serial>
        <console type='pty' tty='/dev/pts/7'><source path='/dev/pts/7'/><target type='serial' port='0'/></console>
      </devices></domain>"""
    b = parse.bindings_from_xml("h", xml)
    assert (b.cpu.vcpus, b.cpu.max_vcpus) == (2, 4)
    assert [(p.vcpu, p.cpuset) for p in b.cpu.pinning] == [(0, "4"), (1, "5-6")]
    assert (b.memory.current_bytes, b.memory.max_bytes) == (8 * 1024**3, 16 * 1024**3)
    assert [(d.target, d.source, d.source_type, d.read_only, d.format) for d in b.disks] == [
        ("vda", "images/db.qcow2", "volume", False, "qcow2"),
        ("vdb", "/dev/vg0/db-data", "block", False, None),
        ("sda", "/iso/x.iso", "file", True, None),
        ("vdc", "rbd://mon1:6789/pool/img", "network", False, None),
    ]
    assert [(n.source_type, n.source, n.model, n.target) for n in b.nics] == [
        ("bridge", "br0", "virtio", "vnet3"), ("direct", "eth1", None, None)]
    assert [(c.kind, c.type, c.target, c.path) for c in b.consoles] == [
        ("serial", "pty", "isa-serial 0", "/dev/pts/7"), ("console", "pty", "serial 0", "/dev/pts/7")]
    assert parse.console_summary(xml) == "pty"
    os_rows = dict(b.extra[0].rows)
    assert os_rows["kernel"] == "/boot/vmlinuz" and os_rows["type"] == "hvm x86_64 pc-q35-7.2"


def test_garbage_xml_is_a_parse_error_naming_the_line():
    with pytest.raises(ParseError, match="line 2"):
        parse.bindings_from_xml("h", "<domain>\n<name>x</nam></domain>")
    with pytest.raises(ParseError, match="expected <domain>"):
        parse.bindings_from_xml("h", "<network/>")


@pytest.mark.parametrize(("uri", "expected"), [
    ("qemu:///system", "qemu+unix:///system?socket=/tmp/x/sock"),
    ("qemu:///session", "qemu+unix:///session?socket=/tmp/x/sock"),
    ("xen:///system", "xen+unix:///system?socket=/tmp/x/sock"),
    ("qemu:///system?socket=/old", "qemu+unix:///system?socket=/tmp/x/sock"),
])
def test_tunnel_uri(uri, expected):
    assert commands.tunnel_uri(uri, "/tmp/x/sock") == expected


def test_tunnel_uri_refuses_remote_uris():
    with pytest.raises(ValidationError):
        commands.tunnel_uri("qemu+ssh://host/system", "/tmp/s")


@pytest.mark.parametrize("bad", ["", "a/b", "x\ny", "tab\tname", "1234", "11111111-2222-3333-4444-555555555555"])
def test_invalid_domain_names(bad):
    with pytest.raises(ValidationError):
        commands.validate_name(bad)


@pytest.mark.parametrize("good", ["web01", "db-01.prod", "my vm", "été"])
def test_valid_domain_names(good):
    assert commands.validate_name(good) == good


def test_lifecycle_plans_are_exact():
    web = Domain(host="kvm-a", name="web01", state=DomainState.RUNNING, native_state="running", id=1, uuid="u-1")
    suspend = commands.lifecycle_plan(Action.PAUSE, web, "qemu:///system")
    (step,) = suspend.steps
    assert step.operation.display() == "virDomainSuspend(domain='web01', uuid='u-1')"
    assert step.operation.equivalent == ("virsh", "-c", "qemu:///system", "suspend", "--domain=web01")
    assert step.undo.equivalent == ("virsh", "-c", "qemu:///system", "resume", "--domain=web01")
    assert step.undo.display() == "virDomainResume(domain='web01', uuid='u-1')"
    assert suspend.confirm_phrase is None
    destroy = commands.lifecycle_plan(Action.FORCE_OFF, web, "qemu:///system")
    assert destroy.confirm_phrase == "web01" and "without a clean shutdown" in destroy.warning
    assert destroy.steps[0].operation.call == "virDomainDestroy" and destroy.steps[0].undo is None
    lifecycle = {commands.lifecycle_plan(a, web, "x:///y").steps[0].operation.call for a in Action}
    # the backend runs these and the wizards' and snapshots' calls, nothing else
    assert commands.API_CALLS - lifecycle == {
        "virDomainDefineXML", "virDomainUndefine", "virStorageVolCreateXML", "virStorageVolCreateXMLFrom",
        "virStorageVolDelete", "virDomainSnapshotCreateXML", "virDomainRevertToSnapshot", "virDomainSnapshotDelete"}
    assert lifecycle <= commands.API_CALLS


def test_captured_qemu_bulk_stats_and_xml():
    import json

    captured = json.loads((FIXTURES / "qemu_bulk_stats.json").read_text())["records"]
    rows = {}
    for record in captured:
        row, _ = parse.domain_row("bed", name=record["name"], uuid=record["name"], dom_id=record["id"],
                                  stats=record["stats"], info=None, console="pty", prev=None, now=0.0)
        rows[row.name] = row
    on, off = rows["hvtest1"], rows["hvtest2"]
    assert (on.state, on.native_state, on.id, on.vcpus, on.memory_bytes) == (
        DomainState.RUNNING, "running", 1, 1, 128 * 1024**2)
    assert (off.state, off.native_state, off.id, off.vcpus, off.memory_bytes) == (
        DomainState.STOPPED, "shut off", None, 1, 128 * 1024**2)

    b = parse.bindings_from_xml("bed", (FIXTURES / "qemu_hvtest1_live.xml").read_text())
    assert [(d.target, d.source, d.format, d.bus) for d in b.disks] == [
        ("vda", "/var/lib/hvdeck-testbed/disks/hvtest1.img", "raw", "virtio")]
    assert [(n.mac, n.source_type, n.source, n.model, n.target) for n in b.nics] == [
        ("52:54:00:7e:57:01", "bridge", "hvtb0", "virtio", "vnet0")]
    assert [(c.kind, c.type, c.target, c.path) for c in b.consoles] == [
        ("serial", "pty", "isa-serial 0", "/dev/pts/0"), ("console", "pty", "serial 0", "/dev/pts/0")]
