"""The libvirt wizards end to end on libvirt's test driver: what a host offers, create, clone and domain
snapshots planned and run through the fleet (executor, audit log), refusals naming the input, the undo
of a failed plan, and the plans' virsh lines run by the real virsh.

The test driver keeps pools, volumes, networks, host interfaces and snapshots in memory, and clones a
volume (shared formats libvirt §1.1, §2.5, §2.8). What it cannot do: report free memory (see
`storage._free_memory`), hold disk contents (so a clone *from a snapshot* is refused there), and open
a console. Each `test:///FILE` connection is a host of its own, so the checks read it through the same
backend.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action
from hvdeck.backends.errors import HvdeckError, ValidationError
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.model import Domain, DomainState
from hvdeck.backends.options import FormErrors
from hvdeck.backends.plan import Plan, Step, undo_plan

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "libvirt"
NODE = FIXTURES / "wizard_node.xml"
G = 1024**3


@pytest.fixture
async def lab(tmp_path: Path):
    spec = HostSpec(name="lab", address="lab", transport="local", kind="libvirt", libvirt_uri=f"test://{NODE}",
                    poll_interval=3600)
    fleet = Fleet(Inventory((spec,)), audit=AuditLog(tmp_path / "audit.log"))
    await fleet.poll_host("lab")
    yield fleet
    await fleet.close()


async def _domains(fleet: Fleet) -> dict[str, Domain]:
    return {d.name: d for d in (await fleet.poll_host("lab")).domains}


def _conn(fleet: Fleet):
    """The backend's own libvirt connection: the test driver's state lives in it alone."""
    return fleet.backend("lab")._live()


async def _create_values(fleet: Fleet, **texts: str) -> dict:
    form = fleet.create_form("lab")
    assert form is not None
    return form.with_choices(await fleet.create_choices("lab")).parse(texts)


async def _clone_values(fleet: Fleet, domain: Domain, **texts: str) -> dict:
    form = fleet.clone_form(domain)
    assert form is not None
    return form.with_choices(await fleet.clone_choices(domain)).parse(texts)


# --- what the host offers ---------------------------------------------------------------------------------------


async def test_pools_volumes_networks_and_resources(lab: Fleet):
    pools = {p.name: p for p in await lab.storage("lab")}
    assert set(pools) == {"images", "iso"}
    images = pools["images"]
    # the test driver keeps a pool at 100 GiB and counts its volumes' allocation (5+3+30+1 G)
    assert (images.kind, images.path, images.capacity_bytes, images.free_bytes, images.active) == (
        "libvirt-dir", "/var/lib/libvirt/images", 100 * G, 61 * G, True)
    volumes = {(v.pool, v.name): v for v in await lab.volumes("lab")}
    assert volumes["images", "web01.qcow2"].used_by == "web01/vda"
    assert volumes["images", "db01-data.img"].used_by == "db01/vdb", "a disk of type volume is matched too"
    assert volumes["iso", "debian-12.iso"].used_by == "web01/hdc"
    assert volumes["images", "spare.qcow2"].used_by is None
    assert (volumes["images", "spare.qcow2"].format, volumes["images", "spare.qcow2"].capacity_bytes) == ("qcow2", 8 * G)
    assert {v.name for v in await lab.volumes("lab", "iso")} == {"debian-12.iso"}
    networks = [(n.name, n.kind, n.detail) for n in await lab.networks("lab")]
    assert networks == [("backend", "libvirt-network", "libvirt network, isolated, bridge virbr9"),
                        ("default", "libvirt-network", "libvirt network, nat, bridge virbr0"),
                        ("br0", "bridge", "host bridge")], "eth1 is no bridge"
    free = await lab.resources("lab")
    # getCPUMap of the test driver: 8 CPUs, 3 online (shared formats: its fixed map); memory unknown there
    assert (free.cpus, free.total_cpus, free.memory_bytes, free.total_memory_bytes) == (3, 16, None, 32 * G)


# --- create -------------------------------------------------------------------------------------------------------


async def test_create_runs_every_step_and_audits_the_whole_xml(lab: Fleet, tmp_path: Path):
    values = await _create_values(lab, name="web03", memory="2G", vcpus="2", disk="20G", pool="images",
                                  network="bridge:br0")
    plan = await lab.plan_create("lab", values)
    assert [s.operation.call for s in plan.steps] == ["virStorageVolCreateXML", "virDomainDefineXML",
                                                      "virDomainCreate"]
    xml = plan.steps[1].operation.arg("xml")
    uuid = ET.fromstring(xml).findtext("uuid")
    result = await lab.run_plan(plan)
    assert result.ok, result.summary()
    web03 = (await _domains(lab))["web03"]
    assert (web03.state, web03.uuid, web03.vcpus, web03.memory_bytes, web03.console) == (
        DomainState.RUNNING, uuid, 2, 2 * G, "pty")
    volume = next(v for v in await lab.volumes("lab", "images") if v.name == "web03.qcow2")
    assert (volume.capacity_bytes, volume.used_by) == (20 * G, "web03/vda")
    bindings = await lab.bindings(web03)
    assert [n.source for n in bindings.nics] == ["br0"] and bindings.nics[0].mac.startswith("52:54:00:")
    assert [d.source for d in bindings.disks] == ["/var/lib/libvirt/images/web03.qcow2"]
    records = AuditLog(tmp_path / "audit.log").records()
    assert [(r["operation"].split("(")[0], r["result"]) for r in records] == [
        ("virStorageVolCreateXML", "started"), ("virStorageVolCreateXML", "ok"),
        ("virDomainDefineXML", "started"), ("virDomainDefineXML", "ok"),
        ("virDomainCreate", "started"), ("virDomainCreate", "ok")]
    assert records[2]["operation"] == f"virDomainDefineXML(xml={xml!r})"


async def test_create_refuses_what_the_host_would_before_anything_runs(lab: Fleet):
    with pytest.raises(FormErrors) as caught:
        await lab.plan_create("lab", await _create_values(lab, name="web01", disk="", volume="images/spare.qcow2"))
    assert list(caught.value.errors) == ["name"] and "already has a domain named 'web01'" in caught.value.errors["name"]
    with pytest.raises(FormErrors) as caught:
        await lab.plan_create("lab", await _create_values(lab, name="web09", disk="200G", pool="images"))
    assert list(caught.value.errors) == ["disk"]
    assert "200G is more than the 61G free in pool images" in caught.value.errors["disk"]
    with pytest.raises(FormErrors) as caught:
        await lab.plan_create("lab", await _create_values(lab, name="web01", disk="1G", pool="images"))
    assert "already has a volume 'web01.qcow2'" in caught.value.errors["disk"]
    with pytest.raises(FormErrors) as caught:
        await lab.plan_create("lab", await _create_values(lab, name="web09", network="bridge:br9"))
    assert caught.value.errors == {"network": "Network: lab has no bridge 'br9'"}
    with pytest.raises(FormErrors) as caught:
        await _create_values(lab, name="w", memory="1.5X")
    assert "not a size" in caught.value.errors["memory"]
    assert "web01" in {d.name for d in (await _domains(lab)).values()} and len(await _domains(lab)) == 3


async def test_a_failed_create_offers_its_undo_and_the_undo_runs(lab: Fleet):
    plan = await lab.plan_create("lab", await _create_values(lab, name="web04", disk="1G", pool="images"))
    # between planning and running, another client takes the name
    _conn(lab).defineXML("<domain type='test'><name>web04</name><memory>1024</memory><os><type>hvm</type></os>"
                         "</domain>")
    result = await lab.run_plan(plan)
    assert [o.status for o in result.outcomes] == ["ok", "failed", "skipped"]
    assert "web04" in (result.failed.error or "")
    undo = undo_plan(result)
    assert undo is not None and [s.operation.call for s in undo.steps] == ["virStorageVolDelete"]
    assert (await lab.run_plan(undo)).ok
    assert "web04.qcow2" not in {v.name for v in await lab.volumes("lab", "images")}


async def test_create_from_an_existing_volume_booting_an_iso(lab: Fleet):
    values = await _create_values(lab, name="inst01", disk="", volume="images/spare.qcow2", boot="iso",
                                  iso="iso/debian-12.iso", network="none", start="no")
    plan = await lab.plan_create("lab", values)
    assert [s.operation.call for s in plan.steps] == ["virDomainDefineXML"]
    assert (await lab.run_plan(plan)).ok
    inst = (await _domains(lab))["inst01"]
    assert inst.state is DomainState.STOPPED
    disks = (await lab.bindings(inst)).disks
    assert [(d.source, d.device) for d in disks] == [("/var/lib/libvirt/images/spare.qcow2", "disk"),
                                                      ("/var/lib/libvirt/iso/debian-12.iso", "cdrom")]


# --- clone ---------------------------------------------------------------------------------------------------------


async def test_clone_a_shut_off_guest_with_two_disks(lab: Fleet):
    """(The test driver copies a volume only within its own pool: its virStorageVolCreateXMLFrom looks the
    source up in the destination pool, "Storage volume not found". The real test bed copies across pools.)"""
    db01 = (await _domains(lab))["db01"]
    form = lab.clone_form(db01)
    assert [o.name for o in form.options] == ["name", "snapshot", "pool", "pool_vda", "pool_vdb", "start"]
    values = await _clone_values(lab, db01, name="db02", pool_vdb="images", start="yes")
    plan = await lab.plan_clone(db01, values)
    assert [s.operation.call for s in plan.steps] == ["virStorageVolCreateXMLFrom", "virStorageVolCreateXMLFrom",
                                                      "virDomainDefineXML", "virDomainCreate"]
    assert (await lab.run_plan(plan)).ok
    domains = await _domains(lab)
    db02 = domains["db02"]
    assert db02.state is DomainState.RUNNING and db02.uuid != db01.uuid
    assert domains["db01"].state is DomainState.STOPPED
    clone_xml = ET.fromstring(_conn(lab).lookupByName("db02").XMLDesc(0))
    sources = [d.find("source").attrib for d in clone_xml.findall("devices/disk")]
    assert sources == [{"file": "/var/lib/libvirt/images/db02.qcow2"}, {"file": "/var/lib/libvirt/images/db02-vdb.img"}]
    assert clone_xml.find("devices/interface/mac").get("address") not in ("52:54:00:aa:bb:02",)
    assert clone_xml.find("devices/serial/log").get("file") == "/var/log/libvirt/db02.serial.log"
    copies = {(v.pool, v.name): v for v in await lab.volumes("lab")}
    assert copies["images", "db02.qcow2"].used_by == "db02/vda" and copies["images", "db02-vdb.img"].used_by == "db02/vdb"


async def test_clone_a_running_guest_shuts_it_down_for_the_copy_and_starts_it_again(lab: Fleet):
    web01 = (await _domains(lab))["web01"]
    plan = await lab.plan_clone(web01, await _clone_values(lab, web01))
    assert [s.operation.call for s in plan.steps] == ["virDomainShutdown", "virStorageVolCreateXMLFrom",
                                                      "virDomainCreate", "virDomainDefineXML"]
    result = await lab.run_plan(plan)
    assert result.ok, result.summary()
    assert "web01 powered off after" in result.outcomes[0].result.stdout
    domains = await _domains(lab)
    assert domains["web01"].state is DomainState.RUNNING and domains["web01-clone"].state is DomainState.STOPPED
    clone = await lab.bindings(domains["web01-clone"])
    assert [d.source for d in clone.disks] == ["/var/lib/libvirt/images/web01-clone.qcow2",
                                               "/var/lib/libvirt/iso/debian-12.iso"], "the CD-ROM is shared"


async def test_clone_refusals(lab: Fleet):
    domains = await _domains(lab)
    with pytest.raises(FormErrors) as caught:
        await lab.plan_clone(domains["legacy01"], await _clone_values(lab, domains["legacy01"]))
    assert "/srv/legacy/legacy01.img) is not a volume of an active storage pool" in caught.value.errors["pool"]
    assert (await lab.run_plan(lab.plan_action(Action.PAUSE, domains["web01"], await lab.poll_host("lab")))).ok
    paused = (await _domains(lab))["web01"]
    with pytest.raises(FormErrors) as caught:
        await lab.plan_clone(paused, await _clone_values(lab, paused))
    assert "web01 is paused" in caught.value.errors["snapshot"]
    with pytest.raises(FormErrors) as caught:
        await lab.plan_clone(paused, {**await _clone_values(lab, paused), "snapshot": "nosuch"})
    assert "no snapshot named 'nosuch'" in caught.value.errors["snapshot"]


# --- domain snapshots ------------------------------------------------------------------------------------------------


def _action(fleet: Fleet, action_id: str):
    return next(a for a in fleet.extra_actions("lab") if a.id == action_id)


async def _snap(fleet: Fleet, action_id: str, name: str, domain: str = "web01"):
    snapshot = await fleet.poll_host("lab")
    target = next(d for d in snapshot.domains if d.name == domain)
    return await fleet.plan_extra(_action(fleet, action_id), target, {"name": name}, snapshot)


async def test_snapshots_create_tree_revert_delete(lab: Fleet):
    for name in ("base", "a", "a1"):
        assert (await lab.run_plan(await _snap(lab, "snapshot-create", name))).ok
    await lab.run_plan(await _snap(lab, "snapshot-revert", "base"))
    assert (await lab.run_plan(await _snap(lab, "snapshot-create", "b"))).ok
    tree = [(s.name, s.parent, s.current) for s in await lab.snapshots("lab", "web01")]
    assert tree == [("base", None, False), ("a", "base", False), ("a1", "a", False), ("b", "base", True)]

    with pytest.raises(ValidationError, match="already has a snapshot named 'a'"):
        await _snap(lab, "snapshot-create", "a")
    with pytest.raises(ValidationError, match="cannot contain '/'"):
        await _snap(lab, "snapshot-create", "x/y")

    revert = await _snap(lab, "snapshot-revert", "a1")
    assert revert.confirm_phrase == "web01" and "everything written since is lost" in revert.warning
    assert (await lab.run_plan(revert)).ok
    assert [s.name for s in await lab.snapshots("lab", "web01") if s.current] == ["a1"]

    delete = await _snap(lab, "snapshot-delete", "base")
    assert "base has 2 child snapshots (a, b): they are kept, and become roots of the tree" in delete.warning
    assert (await lab.run_plan(delete)).ok
    tree = [(s.name, s.parent) for s in await lab.snapshots("lab", "web01")]
    assert tree == [("a", None), ("a1", "a"), ("b", None)]

    # the undo of a snapshot is its deletion
    create = await _snap(lab, "snapshot-create", "temp")
    assert create.steps[0].undo.call == "virDomainSnapshotDelete"
    assert (await lab.run_plan(create)).ok
    undo = Plan("Undo", "lab", "undo", "web01", (Step("Delete temp", create.steps[0].undo),))
    assert (await lab.run_plan(undo)).ok
    assert "temp" not in {s.name for s in await lab.snapshots("lab", "web01")}


async def test_clone_choices_offer_the_snapshots_but_the_test_driver_holds_no_disk_to_copy(lab: Fleet):
    assert (await lab.run_plan(await _snap(lab, "snapshot-create", "s1"))).ok
    web01 = (await _domains(lab))["web01"]
    choices = await lab.clone_choices(web01)
    assert [c.value for c in choices["snapshot"]] == ["s1"]
    with pytest.raises(FormErrors) as caught:
        await lab.plan_clone(web01, await _clone_values(lab, web01, snapshot="s1"))
    assert "test driver keeps no disk contents" in caught.value.errors["snapshot"]


async def test_snapshot_actions_go_through_the_gate(lab: Fleet):
    snapshot = await lab.poll_host("lab")
    crashed = Domain(host="lab", name="web01", state=DomainState.CRASHED, native_state="crashed",
                     uuid="11111111-1111-4111-8111-111111111111")
    with pytest.raises(HvdeckError, match="web01 is crashed"):
        await lab.plan_extra(_action(lab, "snapshot-create"), crashed, {"name": "x"}, snapshot)
    assert lab.why_not(_action(lab, "snapshot-delete"), crashed, snapshot) == "web01 is crashed"


# --- the plans' virsh lines, run by virsh -------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("virsh") is None, reason="virsh is not installed")
async def test_the_virsh_lines_do_the_same_as_the_plan(lab: Fleet, tmp_path: Path):
    """Each step's "same as" line, with the step's XML saved under the file name it gives, run in one virsh
    process (the test driver forgets everything between processes: shared formats libvirt §1)."""
    name = "-web 05"  # a name that would read as an option if it were not written --opt=VALUE
    plan = await lab.plan_create("lab", await _create_values(lab, name=name, disk="1G", pool="images"))
    lines = []
    for step in plan.steps:
        for _key, text in step.operation.attachments():
            file = next(a for a in step.operation.equivalent if a.startswith("--file="))[len("--file="):]
            (tmp_path / file).write_text(text)
        lines.append(shlex.join(step.operation.equivalent[3:]))
    lines += ["list --all", f"vol-info --pool=images --vol={shlex.quote(name + '.qcow2')}",
              f"snapshot-create-as --domain={shlex.quote(name)} --name=s1", f"snapshot-list --domain={shlex.quote(name)}"]
    undo = [plan.steps[2].undo, plan.steps[1].undo, plan.steps[0].undo]
    lines += [shlex.join(u.equivalent[3:]) for u in undo[:1]] + ["list --all"]
    done = subprocess.run(["virsh", "-c", f"test://{NODE}", " ; ".join(lines)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"Vol {name}.qcow2 created from {name}.qcow2.xml" in out
    assert f"Domain '{name}' defined from {name}.xml" in out and f"Domain '{name}' started" in out
    assert "Capacity:       1.00 GiB" in out
    assert "Domain snapshot s1 created" in out and f"Domain '{name}' destroyed" in out


@pytest.mark.skipif(shutil.which("virsh") is None, reason="virsh is not installed")
async def test_the_clone_and_snapshot_virsh_lines_do_the_same_as_the_plans(lab: Fleet, tmp_path: Path):
    db01 = (await _domains(lab))["db01"]
    clone = await lab.plan_clone(db01, await _clone_values(lab, db01, name="db02", start="yes"))
    assert (await lab.run_plan(await _snap(lab, "snapshot-create", "s1"))).ok
    snapshots = [await _snap(lab, "snapshot-create", "s2"), await _snap(lab, "snapshot-revert", "s1"),
                 await _snap(lab, "snapshot-delete", "s1")]
    lines = []
    for plan in (clone, *snapshots):
        for step in plan.steps:
            for _key, text in step.operation.attachments():
                file = next((a for a in step.operation.equivalent if a.startswith("--file=")), None)
                if file is not None:
                    (tmp_path / file[len("--file="):]).write_text(text)
            lines.append(shlex.join(step.operation.equivalent[3:]))
    # s1 exists in the backend's test driver only: virsh's own process makes it first
    lines.insert(len(clone.steps), "snapshot-create-as --domain=web01 --name=s1")
    lines += ["dumpxml --domain=db02", "echo @snapshots", "snapshot-list --domain=web01 --name", "echo @end"]
    done = subprocess.run(["virsh", "-c", f"test://{NODE}", " ; ".join(lines)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Vol db02.qcow2 created from input vol db01-os.qcow2" in out
    assert "Vol db02-vdb.img created from input vol db01-data.img" in out
    assert "Domain 'db02' defined from db02.xml" in out and "Domain 'db02' started" in out
    assert "Domain snapshot s2 created" in out and "Domain snapshot s1 reverted" in out
    assert "Domain snapshot s1 deleted" in out
    assert out.split("@snapshots", 1)[1].split("@end", 1)[0].split() == ["s2"], "s2 is the snapshot left"
    assert "/var/lib/libvirt/images/db02-vdb.img" in out
