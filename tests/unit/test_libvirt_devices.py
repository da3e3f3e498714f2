"""Pure reading of libvirt devices and per-domain figures: disk sources of every type as
`virsh domblklist` prints them (tools/virsh-domain-monitor.c cmdDomblklist), interfaces as
`virsh domiflist` (cmdDomiflist), per-device counters, state reasons and when figures are shown."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from hvdeck.backends.libvirt import parse
from hvdeck.backends.model import DomainState


def _disk(xml: str) -> tuple[str | None, str]:
    return parse.disk_source(ET.fromstring(xml))


@pytest.mark.parametrize(("xml", "expected"), [
    ("<disk type='file'><source file='/var/lib/libvirt/images/a.qcow2'/></disk>",
     ("/var/lib/libvirt/images/a.qcow2", "file")),
    ("<disk type='block'><source dev='/dev/vg0/a'/></disk>", ("/dev/vg0/a", "block")),
    ("<disk type='dir'><source dir='/srv/fat'/></disk>", ("/srv/fat", "dir")),
    ("<disk type='volume'><source pool='images' volume='a.qcow2'/></disk>", ("images/a.qcow2", "volume")),
    ("<disk type='volume'><source volume='a.qcow2'/></disk>", ("a.qcow2", "volume")),
    # network: virsh prints the name; hvdeck puts the protocol and every host in front
    ("<disk type='network'><source protocol='rbd' name='pool/img'><host name='mon1' port='6789'/>"
     "<host name='mon2' port='6789'/><host name='mon3'/></source></disk>",
     ("rbd://mon1:6789,mon2:6789,mon3/pool/img", "network")),
    ("<disk type='network'><source protocol='iscsi' name='iqn.2013-07.com.example:t/1'>"
     "<host name='192.0.2.9' port='3260'/></source></disk>", ("iscsi://192.0.2.9:3260/iqn.2013-07.com.example:t/1",
                                                             "network")),
    ("<disk type='network'><source protocol='gluster' name='vol/dir/a.img'><host name='::1' port='24007'/>"
     "</source></disk>", ("gluster://[::1]:24007/vol/dir/a.img", "network")),
    ("<disk type='network'><source protocol='http' name='/a.iso'><host name='m' port='80'/></source></disk>",
     ("http://m:80/a.iso", "network")),
    ("<disk type='network'><source protocol='nbd' name='e'><host transport='unix' socket='/s'/></source></disk>",
     ("nbd://unix:/s/e", "network")),
    ("<disk type='network'><source protocol='rbd' name='pool/img'/></disk>", ("rbd:pool/img", "network")),
    ("<disk type='network'><source protocol='nbd'><host name='h' port='10809'/></source></disk>",
     ("nbd://h:10809", "network")),
    # nvme: nvme://%04x:%02x:%02x.%d/NAMESPACE from the PCI address (hex, decimal or octal as strtoul base 0)
    ("<disk type='nvme'><source type='pci' managed='yes' namespace='1'>"
     "<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></disk>",
     ("nvme://0000:01:00.0/1", "nvme")),
    ("<disk type='nvme'><source type='pci' namespace='2'>"
     "<address domain='0x0001' bus='0x3b' slot='0x1f' function='0x7'/></source></disk>",
     ("nvme://0001:3b:1f.7/2", "nvme")),
    ("<disk type='nvme'><source type='pci' namespace='3'><address domain='0' bus='17' slot='010' function='1'/>"
     "</source></disk>", ("nvme://0000:11:08.1/3", "nvme")),
    ("<disk type='nvme'><source type='pci'><address domain='0' bus='1' slot='0' function='0'/></source></disk>",
     (None, "nvme")),  # no namespace: virsh says "Unable to query NVMe disk address"
    ("<disk type='nvme'><source type='pci' namespace='1'/></disk>", (None, "nvme")),
    ("<disk type='vhostuser'><source type='unix' path='/tmp/vhost-blk.sock'/></disk>",
     ("/tmp/vhost-blk.sock", "vhostuser")),
    ("<disk type='file' device='cdrom'><target dev='sdb'/></disk>", (None, "file")),
    ("<disk type='file'><source file=''/></disk>", (None, "file")),
    ("<disk><source file='/x'/></disk>", ("/x", "file")),
])
def test_disk_source_of_every_type(xml, expected):
    assert _disk(xml) == expected


def test_disk_source_takes_the_first_attribute_in_document_order():
    # XPath string() of the union @file|@dev|...: the first in document order, as virsh reads it
    assert _disk("<disk type='block'><source name='n' dev='/dev/sda'/></disk>") == ("n", "block")
    assert _disk("<disk type='block'><source dev='/dev/sda' name='n'/></disk>") == ("/dev/sda", "block")


@pytest.mark.parametrize(("xml", "expected"), [
    ("<interface type='bridge'><source bridge='br0'/></interface>", "br0"),
    # the live XML of a network interface on QEMU: network first, then portid and bridge
    ("<interface type='network'><source network='default' portid='6d1b' bridge='virbr0'/></interface>", "default"),
    ("<interface type='direct'><source dev='eth0' mode='bridge'/></interface>", "eth0"),
    ("<interface type='vhostuser'><source type='unix' path='/run/vhu.sock' mode='client'/></interface>",
     "/run/vhu.sock"),
    ("<interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/></interface>", "/dev/vhost-vdpa-0"),
    ("<interface type='user'/>", None),
    ("<interface type='hostdev'><source><address type='pci' bus='0x02'/></source></interface>", None),
    ("<interface type='udp'><source address='192.0.2.1' port='5555'/></interface>", None),
])
def test_interface_source_as_virsh_domiflist(xml, expected):
    assert parse.nic_source(ET.fromstring(xml)) == expected


def test_device_names_for_the_per_device_calls():
    xml = """<domain><name>d</name><devices>
      <disk type='file'><source file='/a'/><target dev='vda'/></disk>
      <disk type='file' device='cdrom'><target dev='sda'/></disk>
      <interface type='network'><source network='default'/><target dev='testnet0'/></interface>
      <interface type='user'/>
    </devices></domain>"""
    assert parse.device_names(xml) == (("testnet0",), ("vda",))
    assert parse.device_names("<domain><name>x</name></domain>") == ((), ())


def test_device_stats_in_bulk_stats_form():
    stats = parse.device_stats([(10, 1, 0, 0, 20, 2, 0, 0), (5, 1, 0, 0, 7, 1, 0, 0)], [(1, 100, 2, 300, 0)])
    assert stats == {"net.count": 2, "block.count": 1, "net.0.rx.bytes": 10, "net.0.tx.bytes": 20,
                     "net.1.rx.bytes": 5, "net.1.tx.bytes": 7, "block.0.rd.bytes": 100, "block.0.wr.bytes": 300}
    first, counters = parse.domain_row("t", name="w", uuid="u", dom_id=1, stats={"state.state": 1, **stats},
                                       info=[1, 1024, 1024, 1, 0], console=None, prev=None, now=0.0)
    later = parse.device_stats([(1010, 1, 0, 0, 520, 2, 0, 0), (5, 1, 0, 0, 7, 1, 0, 0)], [(1, 100, 2, 2300, 0)])
    row, _ = parse.domain_row("t", name="w", uuid="u", dom_id=1, stats={"state.state": 1, **later},
                              info=[1, 1024, 1024, 1, 0], console=None, prev=counters, now=2.0)
    assert (row.net_rx_bps, row.net_tx_bps, row.disk_rd_bps, row.disk_wr_bps) == (500.0, 250.0, 0.0, 1000.0)


STATS = {"state.state": 1, "state.reason": 1, "cpu.time": 10_000_000_000, "vcpu.current": 2,
         "balloon.current": 1024, "net.count": 1, "net.0.rx.bytes": 0, "block.count": 1, "block.0.wr.bytes": 0}


@pytest.mark.parametrize(("code", "native", "shown"), [
    (1, "running", True), (2, "idle", True), (4, "in shutdown", True),
    (3, "paused", False), (6, "crashed", False), (7, "pmsuspended", False), (0, "no state", False),
])
def test_figures_only_for_a_domain_whose_vcpus_execute(code, native, shown):
    """The test driver's counters grow with the clock in every state: a paused guest showed 25% CPU."""
    first = dict(STATS, **{"state.state": code})
    _, counters = parse.domain_row("h", name="g", uuid="u", dom_id=3, stats=first, info=None, console=None,
                                   prev=None, now=0.0)
    later = dict(first, **{"cpu.time": 11_000_000_000, "net.0.rx.bytes": 4096, "block.0.wr.bytes": 8192})
    row, _ = parse.domain_row("h", name="g", uuid="u", dom_id=3, stats=later, info=None, console=None,
                              prev=counters, now=2.0)
    figures = (row.cpu_percent, row.net_rx_bps, row.disk_wr_bps)
    assert row.native_state == native
    assert figures == ((25.0, 2048.0, 4096.0) if shown else (None, None, None))


def test_state_reason_travels_as_an_extra_in_virsh_words():
    row, _ = parse.domain_row("h", name="g", uuid="u", dom_id=3, stats={"state.state": 3, "state.reason": 2},
                              info=[3, 1, 1, 1, 0], console=None, prev=None, now=0.0)
    assert (row.state, row.native_state, row.extra) == (DomainState.PAUSED, "paused", (("reason", "migrating"),))
    unknown, _ = parse.domain_row("h", name="g", uuid="u", dom_id=3, stats={"state.state": 3, "state.reason": 0},
                                  info=[3, 1, 1, 1, 0], console=None, prev=None, now=0.0)
    assert unknown.extra == ()  # the test driver's reason 0, "unknown", says nothing
    from_info, _ = parse.domain_row("h", name="g", uuid="u", dom_id=3, stats={}, info=[3, 1, 1, 1, 0],
                                    console=None, prev=None, now=0.0)
    assert from_info.extra == () and from_info.native_state == "paused"
