"""The pure libvirt wizards: the create and clone forms, what they refuse (naming the input at fault),
and the exact plans (API calls, undo, virsh lines) built from a host's facts."""

from __future__ import annotations

import itertools
import random
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from hvdeck.backends.errors import ValidationError
from hvdeck.backends.libvirt import apicalls, commands, hostxml, wizards
from hvdeck.backends.libvirt.wizard_backend import mac_supply
from hvdeck.backends.model import Domain, DomainState
from hvdeck.backends.options import FormErrors

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "libvirt"
URI = "qemu:///system"
G = 1024**3

POOLS = {
    "default": wizards.PoolFacts("default", "dir", "/var/lib/libvirt/images", True, 100 * G, 40 * G,
                                 frozenset({"web01.qcow2", "spare.qcow2", "db01.qcow2"})),
    "iso": wizards.PoolFacts("iso", "dir", "/srv/iso", True, 100 * G, 90 * G, frozenset({"debian.iso"})),
    "fast": wizards.PoolFacts("fast", "logical", "/dev/fast", True, 50 * G, 5 * G, frozenset()),
    "old": wizards.PoolFacts("old", "dir", "/srv/old", False, None, None),
}
VOLUMES = (
    wizards.VolumeFacts("default", "dir", "web01.qcow2", "/var/lib/libvirt/images/web01.qcow2", "qcow2", 20 * G,
                        "web01/vda"),
    wizards.VolumeFacts("default", "dir", "db01.qcow2", "/var/lib/libvirt/images/db01.qcow2", "qcow2", 10 * G,
                        "db01/vda"),
    wizards.VolumeFacts("default", "dir", "spare.qcow2", "/var/lib/libvirt/images/spare.qcow2", "qcow2", 8 * G),
    wizards.VolumeFacts("iso", "dir", "debian.iso", "/srv/iso/debian.iso", "iso", 600 * 1024**2),
)
NETWORKS = (
    wizards.NetworkFacts("default", "network", False, "virbr0", "nat"),
    wizards.NetworkFacts("lab", "network", True, "virbr1", None),
    wizards.NetworkFacts("br0", "bridge", True),
)
FACTS = wizards.HostFacts(
    host="kvm1", uri=URI, guest=hostxml.GuestType("kvm", "x86_64"), max_vcpus=255, cpus=8, free_memory=16 * G,
    domains=frozenset({"web01", "db01"}), pools=POOLS, volumes=VOLUMES, networks=NETWORKS,
    macs=frozenset({"52:54:00:aa:bb:01"}))
UUID = "6876646b-0000-4000-8000-0000000000aa"
MAC = "52:54:00:12:34:56"


def _form(**texts: str) -> dict:
    form = wizards.CREATE_FORM.with_choices(wizards.create_choices(FACTS))
    return form.parse(texts)


def _errors(call) -> dict[str, str]:
    with pytest.raises(FormErrors) as caught:
        call()
    return caught.value.errors


# --- the create form -------------------------------------------------------------------------------------------


def test_choices_come_from_the_host_usable_first():
    choices = wizards.create_choices(FACTS)
    assert [c.value for c in choices["pool"]] == ["default", "fast", "iso"], "default first, the ISO library last"
    assert choices["pool"][0].detail == "40G free of 100G, dir"
    assert [c.value for c in choices["volume"]] == ["default/spare.qcow2"], "volumes in use are not offered"
    assert [c.value for c in choices["iso"]] == ["iso/debian.iso"]
    assert [c.value for c in choices["network"]] == ["network:lab", "bridge:br0", "network:default", "none"]
    assert choices["network"][2].detail == "libvirt network, nat, bridge virbr0, inactive"


def test_form_defaults_give_a_guest_with_a_new_disk():
    values = _form(name="web03")
    assert values == {"name": "web03", "vcpus": 1, "memory": G, "disk": 10 * G, "pool": "default", "volume": None,
                      "network": "network:lab", "boot": "disk", "iso": None, "kernel": None, "initrd": None,
                      "cmdline": None, "console": True, "start": True}


@pytest.mark.parametrize(("texts", "field", "words"), [
    ({"name": ""}, "name", "required"),
    ({"name": "a/b"}, "name", "cannot contain '/'"),
    ({"name": "1234"}, "name", "all digits"),
    ({"name": "web\x1b]52;c;x\x07"}, "name", "control characters"),
    ({"name": "w", "memory": "12Q"}, "memory", "not a size"),
    ({"name": "w", "memory": "8M"}, "memory", "less than 16M"),
    ({"name": "w", "vcpus": "0"}, "vcpus", "outside"),
    ({"name": "w", "disk": "lots"}, "disk", "not a size"),
    ({"name": "w", "pool": "nosuch"}, "pool", "not one of"),
    ({"name": "w", "network": "virbr7"}, "network", "network:NAME"),
    ({"name": "w", "network": "bridge:a/b"}, "network", "network:NAME"),
    ({"name": "w", "network": "bridge:much-too-long-name"}, "network", "network:NAME"),
    ({"name": "w", "boot": "pxe"}, "boot", "not one of"),
    ({"name": "w", "boot": "kernel"}, "kernel", "required for direct kernel boot"),
    ({"name": "w", "boot": "kernel", "kernel": "vmlinuz"}, "kernel", "not an absolute path"),
    ({"name": "w", "boot": "iso"}, "iso", "required to boot from an ISO"),
    ({"name": "w", "initrd": "/boot/initrd"}, "initrd", "only for direct kernel boot"),
    ({"name": "w", "volume": "default/spare.qcow2"}, "disk", "leave it empty"),
    ({"name": "w", "disk": "", "boot": "disk"}, "boot", "no disk to boot from"),
    ({"name": "w", "iso": "iso/debian.iso"}, "iso", "only when booting from it"),
    ({"name": "w", "console": "maybe"}, "console", "yes or no"),
])
def test_the_form_refuses_bad_input_naming_the_field(texts, field, words):
    errors = _errors(lambda: _form(**texts))
    assert field in errors and words in errors[field], errors


def test_a_bridge_the_host_does_not_list_may_be_typed():
    assert _form(name="w", network="bridge:br9")["network"] == "bridge:br9"


# --- checks against the host -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("texts", "facts", "field", "words"), [
    ({"name": "web01"}, FACTS, "name", "already has a domain named 'web01'"),
    ({"name": "w", "memory": "32G"}, FACTS, "memory", "more than the 16G kvm1 has free"),
    ({"name": "w", "vcpus": "300"}, FACTS, "vcpus", "at most 255"),
    ({"name": "w", "disk": "41G"}, FACTS, "disk", "more than the 40G free in pool default"),
    ({"name": "w", "disk": "6G", "pool": "fast"}, FACTS, "disk", "5G free in pool fast"),
    ({"name": "spare"}, FACTS, "disk", "already has a volume 'spare.qcow2'"),
    ({"name": "w", "network": "network:default"}, FACTS, "network", "not active"),
    ({"name": "w", "network": "network:gone"}, FACTS, "network", "no libvirt network 'gone'"),
    ({"name": "w", "network": "bridge:br9"}, replace(FACTS, bridges_listed=True), "network", "no bridge 'br9'"),
    ({"name": "w", "disk": "", "volume": "default/spare.qcow2"},
     replace(FACTS, volumes=tuple(replace(v, used_by="x/vda") if v.name == "spare.qcow2" else v for v in VOLUMES)),
     "volume", "in use by x/vda"),
    ({"name": "w", "disk": "", "volume": "default/spare.qcow2"}, replace(FACTS, volumes=VOLUMES[:2]),
     "volume", "no volume 'default/spare.qcow2'"),
    ({"name": "w"}, replace(FACTS, pools={**POOLS, "default": replace(POOLS["default"], active=False)}),
     "pool", "not active"),
])
def test_the_plan_refuses_what_the_host_would(texts, facts, field, words):
    form = wizards.CREATE_FORM.with_choices(wizards.create_choices(FACTS))
    values = form.parse(texts)
    errors = _errors(lambda: wizards.create_plan(values, facts, uuid=UUID, mac=MAC))
    assert field in errors and words in errors[field], errors


def test_a_bridge_is_checked_only_where_the_host_lists_its_bridges():
    for facts, typed in ((FACTS, "bridge:br9"), (replace(FACTS, bridges_listed=True), "bridge:virbr1")):
        plan = wizards.create_plan(_form(name="w", network=typed), facts, uuid=UUID, mac=MAC)
        assert ET.fromstring(plan.steps[1].operation.arg("xml")).find("devices/interface/source").attrib == {
            "bridge": typed.split(":")[1]}


def test_an_inactive_network_is_fine_for_a_guest_not_started_now():
    plan = wizards.create_plan(_form(name="w", network="network:default", start="no"), FACTS, uuid=UUID, mac=MAC)
    assert [s.operation.call for s in plan.steps] == ["virStorageVolCreateXML", "virDomainDefineXML"]


def test_unknown_free_memory_is_not_a_refusal():
    plan = wizards.create_plan(_form(name="w", memory="1T"), replace(FACTS, free_memory=None), uuid=UUID, mac=MAC)
    assert plan.steps


# --- the create plan --------------------------------------------------------------------------------------------


def test_the_create_plan_calls_undos_and_virsh_lines():
    values = _form(name="tiny1", memory="128M", disk="16M", network="bridge:br0", boot="kernel",
                   kernel="/boot/vmlinuz", initrd="/boot/initrd.img", cmdline="console=ttyS0")
    plan = wizards.create_plan(values, replace(FACTS, guest=hostxml.GuestType("qemu", "x86_64", note="no KVM here")),
                               uuid=UUID, mac=MAC)
    assert (plan.title, plan.host, plan.action, plan.target, plan.confirm_phrase) == (
        "Create tiny1 on kvm1", "kvm1", "create", "tiny1", None)
    assert "no KVM here." in plan.warning
    assert [(c.description, c.operation.argv) for c in plan.checks] == [
        ("The kernel /boot/vmlinuz is a file on kvm1", ("test", "-f", "/boot/vmlinuz")),
        ("The initrd /boot/initrd.img is a file on kvm1", ("test", "-f", "/boot/initrd.img"))]
    vol, define, start = plan.steps
    assert vol.description.startswith("Create volume tiny1.qcow2 (16M, qcow2) in pool default")
    assert vol.operation.display() == "virStorageVolCreateXML(pool='default', xml=<9 lines, below>)"
    assert vol.operation.equivalent == ("virsh", "-c", URI, "vol-create", "--pool=default", "--file=tiny1.qcow2.xml")
    assert vol.undo.display() == "virStorageVolDelete(pool='default', volume='tiny1.qcow2')"
    assert vol.undo.equivalent == ("virsh", "-c", URI, "vol-delete", "--pool=default", "--vol=tiny1.qcow2")
    assert vol.timeout == wizards.COPY_TIMEOUT
    xml = define.operation.arg("xml")
    doc = ET.fromstring(xml)
    assert (doc.get("type"), doc.findtext("uuid"), doc.find("devices/interface/mac").get("address")) == (
        "qemu", UUID, MAC)
    assert doc.find("devices/disk/source").get("file") == "/var/lib/libvirt/images/tiny1.qcow2"
    assert define.operation.attachments() == (("xml", xml),)
    assert define.operation.equivalent == ("virsh", "-c", URI, "define", "--file=tiny1.xml")
    assert "XML below" in define.description and "tiny1.xml" in define.description
    assert define.undo.display() == f"virDomainUndefine(domain='tiny1', uuid='{UUID}')"
    assert define.undo.equivalent == ("virsh", "-c", URI, "undefine", "--domain=tiny1")
    assert start.operation.display() == f"virDomainCreate(domain='tiny1', uuid='{UUID}')"
    assert start.undo.call == "virDomainDestroy"
    # the whole XML goes to the audit log
    assert repr(xml) in define.operation.audit_text()


def test_create_with_an_existing_volume_and_an_iso_makes_no_volume():
    plan = wizards.create_plan(_form(name="w", disk="", volume="default/spare.qcow2", boot="iso", iso="iso/debian.iso",
                                     network="none"), FACTS, uuid=UUID, mac=MAC)
    assert [s.operation.call for s in plan.steps] == ["virDomainDefineXML", "virDomainCreate"]
    doc = ET.fromstring(plan.steps[0].operation.arg("xml"))
    assert [d.find("source").get("file") for d in doc.findall("devices/disk")] == [
        "/var/lib/libvirt/images/spare.qcow2", "/srv/iso/debian.iso"]
    assert doc.find("devices/interface") is None and not plan.checks


def test_more_vcpus_than_host_cpus_is_said():
    plan = wizards.create_plan(_form(name="w", vcpus="12"), FACTS, uuid=UUID, mac=MAC)
    assert "12 vCPUs is more than the 8 CPUs kvm1 has online" in plan.warning


def test_names_that_read_as_options_stay_values_in_the_virsh_lines():
    plan = wizards.create_plan(_form(name="--domain=db01"), FACTS, uuid=UUID, mac=MAC)
    assert plan.steps[1].undo.equivalent[-1] == "--domain=--domain=db01"
    assert plan.steps[0].operation.equivalent[-1] == "--file=--domain=db01.qcow2.xml"


# --- clone -------------------------------------------------------------------------------------------------------

DB01 = Domain(host="kvm1", name="db01", state=DomainState.STOPPED, native_state="shut off",
              uuid="22222222-2222-4222-8222-222222222222", memory_bytes=4 * G)
DB01_XML = ("<domain type='kvm'><name>db01</name><uuid>22222222-2222-4222-8222-222222222222</uuid>"
            "<memory unit='KiB'>4194304</memory><os><type arch='x86_64'>hvm</type></os><devices>"
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            "<source file='/var/lib/libvirt/images/db01.qcow2'/><target dev='vda' bus='virtio'/></disk>"
            "<disk type='file' device='cdrom'><source file='/srv/iso/debian.iso'/><target dev='hdc'/><readonly/></disk>"
            "<interface type='bridge'><mac address='52:54:00:aa:bb:02'/><source bridge='br0'/></interface>"
            "</devices></domain>")


def _clone(values: dict, *, source: Domain = DB01, facts: wizards.HostFacts = FACTS, xml: str = DB01_XML,
           snapshot: hostxml.SnapshotXml | None = None):
    form = wizards.clone_form(source)
    parsed = form.with_choices(wizards.clone_choices(facts, (), form)).parse(values)
    clone = wizards.CloneFacts(host=facts, xml=xml, disks=hostxml.domain_disks(xml), snapshot=snapshot)
    return wizards.clone_plan(source, parsed, clone, uuid=UUID, macs=iter(["52:54:00:00:00:07"]))


def test_clone_of_a_shut_off_guest_from_its_current_state():
    plan = _clone({})
    assert plan.title == "Clone db01 as db01-clone on kvm1" and plan.target == "db01-clone"
    copy, define = plan.steps
    assert copy.operation.display() == ("virStorageVolCreateXMLFrom(pool='default', xml=<9 lines, below>, "
                                        "source_pool='default', source_volume='db01.qcow2')")
    assert copy.operation.equivalent == ("virsh", "-c", URI, "vol-create-from", "--pool=default",
                                         "--file=db01-clone.qcow2.xml", "--vol=db01.qcow2", "--inputpool=default")
    assert ET.fromstring(copy.operation.arg("xml")).findtext("capacity") == str(10 * G)
    assert copy.undo.display() == "virStorageVolDelete(pool='default', volume='db01-clone.qcow2')"
    doc = ET.fromstring(define.operation.arg("xml"))
    assert (doc.findtext("name"), doc.findtext("uuid")) == ("db01-clone", UUID)
    assert [d.find("source").get("file") for d in doc.findall("devices/disk")] == [
        "/var/lib/libvirt/images/db01-clone.qcow2", "/srv/iso/debian.iso"]
    assert doc.find("devices/interface/mac").get("address") == "52:54:00:00:00:07"
    assert "Shared with db01, not copied: hdc" in plan.warning


def test_clone_into_another_pool_and_started():
    plan = _clone({"name": "db02", "pool": "iso", "start": "yes"})
    assert [s.operation.call for s in plan.steps] == ["virStorageVolCreateXMLFrom", "virDomainDefineXML",
                                                      "virDomainCreate"]
    assert plan.steps[0].operation.arg("pool") == "iso"
    assert ET.fromstring(plan.steps[1].operation.arg("xml")).find("devices/disk/source").get("file") == \
        "/srv/iso/db02.qcow2"


def test_clone_of_a_running_guest_shuts_it_down_first_and_starts_it_again_whatever_happens():
    plan = _clone({}, source=replace(DB01, state=DomainState.RUNNING, native_state="running"))
    stop, copy, again, define = plan.steps
    assert stop.operation.display() == (f"virDomainShutdown(domain='db01', uuid='{DB01.uuid}', "
                                        f"wait='{wizards.SHUTDOWN_WAIT}')")
    assert stop.undo is None and not stop.always
    assert (again.operation.call, again.always, again.undo) == ("virDomainCreate", True, None)
    assert "db01 is running" in plan.warning and "locked even while it is paused" in plan.warning


@pytest.mark.parametrize(("state", "native", "words"), [
    (DomainState.PAUSED, "paused", "paused"), (DomainState.CRASHED, "crashed", "crashed")])
def test_clone_of_a_paused_or_crashed_guest_from_now_is_refused(state, native, words):
    errors = _errors(lambda: _clone({}, source=replace(DB01, state=state, native_state=native)))
    assert words in errors["snapshot"] and "clone from a snapshot" in errors["snapshot"]


def test_clone_refusals_name_the_input():
    assert "already has a domain named 'web01'" in _errors(lambda: _clone({"name": "web01"}))["name"]
    assert "already has a volume 'spare.qcow2'" in _errors(lambda: _clone({"name": "spare"}))["name"]
    assert "no active storage pool" in _errors(
        lambda: _clone({}, facts=replace(FACTS, pools={**POOLS, "default": replace(POOLS["default"],
                                                                                      active=False)})))["pool"]
    full = replace(FACTS, pools={**POOLS, "default": replace(POOLS["default"], free=G)})
    assert "need 10G, pool default has 1G free" in _errors(lambda: _clone({}, facts=full))["pool"]
    loose = DB01_XML.replace("/var/lib/libvirt/images/db01.qcow2", "/srv/legacy/db01.img")
    assert "not a volume of an active storage pool" in _errors(lambda: _clone({}, xml=loose))["pool"]
    assert "need 4G of memory" in _errors(lambda: _clone({"start": "yes"},
                                                         facts=replace(FACTS, free_memory=G)))["start"]


def test_per_disk_pools_when_a_guest_has_several_disks():
    two = DB01_XML.replace("</devices>", "<disk type='volume' device='disk'><driver type='qcow2'/>"
                                         "<source pool='default' volume='spare.qcow2'/><target dev='vdb'/></disk>"
                                         "</devices>")
    form = wizards.clone_form(DB01, ["vda", "vdb"])
    assert [o.name for o in form.options] == ["name", "snapshot", "pool", "pool_vda", "pool_vdb", "start"]
    assert wizards.clone_form(DB01, ["vda"]).options[3].name == "start", "one disk: the one Pool input"
    roomy = replace(FACTS, pools={**POOLS, "fast": replace(POOLS["fast"], free=50 * G)})
    values = form.with_choices(wizards.clone_choices(roomy, (), form)).parse({"pool_vdb": "fast"})
    clone = wizards.CloneFacts(host=roomy, xml=two, disks=hostxml.domain_disks(two))
    plan = wizards.clone_plan(DB01, values, clone, uuid=UUID, macs=iter(["52:54:00:00:00:07"]))
    vda, vdb = plan.steps[:2]
    assert (vda.operation.arg("pool"), ET.fromstring(vda.operation.arg("xml")).findtext("name")) == (
        "default", "db01-clone.qcow2")
    assert (vdb.operation.arg("pool"), ET.fromstring(vdb.operation.arg("xml")).findtext("name")) == (
        "fast", "db01-clone-vdb")
    assert ET.fromstring(vdb.operation.arg("xml")).find("target") is None, "an LVM volume has no format"
    disks = ET.fromstring(plan.steps[-1].operation.arg("xml")).findall("devices/disk")
    assert disks[2].get("type") == "block" and disks[2].find("source").attrib == {"dev": "/dev/fast/db01-clone-vdb"}
    # with 5G free in fast the 8G copy of vdb does not fit, and the error is on vdb's own input
    errors = _errors(lambda: wizards.clone_plan(DB01, values, replace(clone, host=FACTS), uuid=UUID,
                                                macs=iter(["52:54:00:00:00:07"])))
    assert list(errors) == ["pool_vdb"] and "need 8G, pool fast has 5G free" in errors["pool_vdb"]


def _snapshot(kind: str, name: str = "s,1") -> hostxml.SnapshotXml:
    return hostxml.SnapshotXml(name=name, description="", state="running", created=1796078803, parent=None,
                               memory="internal",
                               disks=(hostxml.SnapshotDisk("vda", kind, "/var/lib/libvirt/images/db01.qcow2"),))


def test_clone_from_an_internal_snapshot_reads_it_with_qemu_img_while_the_source_runs():
    plan = _clone({"snapshot": ""}, source=replace(DB01, state=DomainState.RUNNING, native_state="running"),
                  snapshot=_snapshot("internal"))
    make, copy, define = plan.steps
    assert make.operation.call == "virStorageVolCreateXML" and make.undo.call == "virStorageVolDelete"
    assert copy.operation.argv == ("qemu-img", "convert", "-U", "-n", "-f", "qcow2", "-O", "qcow2", "-l",
                                   "snapshot.name=s,,1", "/var/lib/libvirt/images/db01.qcow2",
                                   "/var/lib/libvirt/images/db01-clone.qcow2")
    assert copy.undo is None, "the volume's deletion undoes the copy"
    assert [c.operation.argv for c in plan.checks] == [("qemu-img", "--version")]
    assert "snapshot s,1 (taken 2026-11-30 22:46:43 +0000, running)" in plan.warning
    assert "virDomainShutdown" not in {s.operation.call for s in plan.steps}, "a snapshot needs no shutdown"


def test_clone_from_an_external_snapshot_copies_the_volume_the_disk_used_then():
    plan = _clone({}, source=replace(DB01, state=DomainState.PAUSED, native_state="paused"),
                  snapshot=_snapshot("external"))
    (copy, define) = plan.steps
    assert (copy.operation.call, copy.operation.arg("source_volume")) == ("virStorageVolCreateXMLFrom", "db01.qcow2")
    assert "as it was at snapshot s,1" in copy.description


def test_clone_from_a_snapshot_the_driver_cannot_read_is_refused():
    test_host = replace(FACTS, test_driver=True)
    assert "test driver keeps no disk contents" in _errors(
        lambda: _clone({}, facts=test_host, snapshot=_snapshot("internal")))["snapshot"]
    assert "did not keep vda's contents (no)" in _errors(lambda: _clone({}, snapshot=_snapshot("no")))["snapshot"]
    lvm = replace(FACTS, pools={**POOLS, "default": replace(POOLS["default"], type="rbd", path=None)},
                  volumes=tuple(replace(v, pool_type="rbd") for v in VOLUMES))
    assert "gives no file path" in _errors(lambda: _clone({}, facts=lvm, snapshot=_snapshot("internal")))["pool"]


# --- domain snapshots --------------------------------------------------------------------------------------------

WEB = Domain(host="kvm1", name="web01", state=DomainState.RUNNING, native_state="running",
             uuid="11111111-1111-4111-8111-111111111111")
QCOW = hostxml.domain_disks("<domain><devices><disk device='disk'><driver type='qcow2'/><source file='/a'/>"
                            "<target dev='vda'/></disk></devices></domain>")
SNAPS = [
    hostxml.SnapshotXml("base", "", "shutoff", 100, None, "no", ()),
    hostxml.SnapshotXml("b", "", "running", 300, "base", "internal", ()),
    hostxml.SnapshotXml("a", "", "running", 200, "base", "internal", ()),
    hostxml.SnapshotXml("a1", "", "running", 400, "a", "internal", ()),
    hostxml.SnapshotXml("orphan", "", "running", 50, "gone", "internal", ()),
]


def test_the_snapshot_tree_parents_first_children_by_age():
    tree = wizards.snapshot_tree(SNAPS, "a1", "web01")
    assert [(s.name, s.parent, s.current) for s in tree] == [
        ("orphan", None, False), ("base", None, False), ("a", "base", False), ("a1", "a", True), ("b", "base", False)]
    assert all(s.of == "web01" for s in tree) and tree[0].created == "1970-01-01 00:00:50 +0000"


def _snap_plan(action, domain=WEB, **kw):
    kw.setdefault("snapshots", SNAPS)
    return wizards.snapshot_plan(action, domain, kw.pop("values"), uri=URI, **kw)


def test_snapshot_create():
    plan = _snap_plan(wizards.SNAPSHOT_CREATE, values={"name": "pre-upgrade"}, disks=QCOW, domain_type="kvm")
    (step,) = plan.steps
    assert step.operation.display() == (f"virDomainSnapshotCreateXML(domain='web01', uuid='{WEB.uuid}', "
                                        "xml=<4 lines, below>)")
    assert step.operation.attachments() == (("xml", "<domainsnapshot>\n  <name>pre-upgrade</name>\n"
                                                     "</domainsnapshot>\n"),)
    assert step.operation.equivalent == ("virsh", "-c", URI, "snapshot-create-as", "--domain=web01",
                                         "--name=pre-upgrade")
    assert step.undo.display() == (f"virDomainSnapshotDelete(domain='web01', uuid='{WEB.uuid}', "
                                   "snapshot='pre-upgrade')")
    assert step.undo.equivalent == ("virsh", "-c", URI, "snapshot-delete", "--domain=web01",
                                    "--snapshotname=pre-upgrade")
    assert "paused for a moment" in plan.warning and plan.confirm_phrase is None


@pytest.mark.parametrize(("name", "words"), [
    ("", "cannot be empty"), ("a/b", "cannot contain '/'"), (".hidden", "cannot start with '.'"),
    ("x\x9b31m", "control characters"), ("a", "already has a snapshot named 'a'")])
def test_snapshot_names_libvirt_refuses(name, words):
    with pytest.raises(ValidationError, match=words):
        _snap_plan(wizards.SNAPSHOT_CREATE, values={"name": name}, disks=QCOW, domain_type="kvm")


def test_a_raw_disk_cannot_hold_a_qemu_snapshot_but_the_test_driver_takes_one():
    raw = hostxml.domain_disks("<domain><devices><disk device='disk'><driver type='raw'/><source file='/a'/>"
                               "<target dev='vda'/></disk></devices></domain>")
    with pytest.raises(ValidationError, match="vda of web01 is not qcow2"):
        _snap_plan(wizards.SNAPSHOT_CREATE, values={"name": "s"}, disks=raw, domain_type="qemu")
    assert _snap_plan(wizards.SNAPSHOT_CREATE, values={"name": "s"}, disks=raw, domain_type="test").steps


def test_revert_needs_the_domain_name_typed_and_says_what_is_lost():
    plan = _snap_plan(wizards.SNAPSHOT_REVERT, values={"name": "base"})
    (step,) = plan.steps
    assert step.operation.display() == f"virDomainRevertToSnapshot(domain='web01', uuid='{WEB.uuid}', snapshot='base')"
    assert step.operation.equivalent == ("virsh", "-c", URI, "snapshot-revert", "--domain=web01",
                                         "--snapshotname=base")
    assert plan.confirm_phrase == "web01" and step.undo is None
    assert "everything written since is lost" in plan.warning and "web01 is shut off" in plan.warning
    with pytest.raises(ValidationError, match="no snapshot named 'zzz'"):
        _snap_plan(wizards.SNAPSHOT_REVERT, values={"name": "zzz"})


def test_deleting_a_snapshot_with_children_says_they_stay():
    plan = _snap_plan(wizards.SNAPSHOT_DELETE, values={"name": "base"})
    assert "base has 2 child snapshots (a, b): they are kept, and become roots of the tree" in plan.warning
    assert "children of base" in _snap_plan(wizards.SNAPSHOT_DELETE, values={"name": "a"}).warning
    assert _snap_plan(wizards.SNAPSHOT_DELETE, values={"name": "b"}).warning == ""
    (step,) = _snap_plan(wizards.SNAPSHOT_DELETE, values={"name": "b"}).steps
    assert step.operation.call == "virDomainSnapshotDelete" and step.undo is None


def test_snapshot_actions_and_their_states():
    assert wizards.why_not_extra(wizards.SNAPSHOT_CREATE, WEB) is None
    crashed = replace(WEB, state=DomainState.CRASHED, native_state="crashed")
    assert wizards.why_not_extra(wizards.SNAPSHOT_REVERT, crashed) == "web01 is crashed"
    assert [a.id for a in wizards.EXTRA_ACTIONS] == ["snapshot-create", "snapshot-revert", "snapshot-delete"]
    assert all([p.name for p in a.params] == ["name"] for a in wizards.EXTRA_ACTIONS)


# --- what the backend runs -----------------------------------------------------------------------------------------


def test_every_allowed_call_has_its_libvirt_method_and_nothing_else_runs():
    assert set(apicalls.CALLS) == set(commands.API_CALLS)


def test_new_macs_carry_qemus_prefix_and_avoid_those_in_use():
    rng = random.Random(7)
    first = next(mac_supply(frozenset(), random.Random(7)))
    macs = list(itertools.islice(mac_supply(frozenset({first}), rng), 200))
    assert first not in macs and len(set(macs)) == 200
    assert all(m.startswith("52:54:00:") and len(m) == 17 for m in macs)
