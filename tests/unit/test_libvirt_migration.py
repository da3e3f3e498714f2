"""The libvirt migration plan builder, its check verdicts, the job-stats progress parser and the
whereabouts sentence: pure functions, no libvirt connection."""

from __future__ import annotations

import json

import pytest

from hvdeck.backends.errors import ValidationError
from hvdeck.backends.inventory import HostSpec
from hvdeck.backends.libvirt import migration as m
from hvdeck.backends.model import Domain, DomainState
from hvdeck.backends.plan import Check
from hvdeck.backends.transport.base import Result

XML = """<domain type='qemu'>
  <name>web1</name><uuid>6876646b-7465-7374-6d69-670000000001</uuid>
  <memory unit='KiB'>131072</memory><currentMemory unit='KiB'>131072</currentMemory><vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
  <cpu mode='custom' match='exact' check='full'><model fallback='forbid'>qemu64</model>
    <feature policy='require' name='hypervisor'/></cpu>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><source file='/var/lib/libvirt/images/web1.qcow2'/><target dev='vda'/></disk>
    <disk type='file' device='cdrom'><target dev='sda'/><readonly/></disk>
    <disk type='network' device='disk'><source protocol='rbd' name='pool/web1-data'><host name='ceph1'/></source>
      <target dev='vdb'/></disk>
    <disk type='file' device='disk'><source file='images/relative.img'/><target dev='vdc'/></disk>
  </devices>
</domain>"""

SOURCE = HostSpec(name="kvm-a", address="10.0.0.1", user="root")
TARGET = HostSpec(name="kvm-b", address="10.0.0.2", user="ops", port=2200)


def running(name: str = "web1", state: DomainState = DomainState.RUNNING, native: str = "running") -> Domain:
    return Domain("kvm-a", name, state, native, id=3, uuid="6876646b-7465-7374-6d69-670000000001", vcpus=2,
                  memory_bytes=128 << 20)


def build(values: dict | None = None, domain: Domain | None = None, kind: str = "libvirt",
          target: HostSpec = TARGET):
    parsed = m.FORM.parse({k: str(v) for k, v in (values or {}).items()})
    return m.plan(domain or running(), SOURCE, target, kind, m.facts("kvm-a", XML), parsed,
                  source_host_uuid="aaaa-source")


def test_facts_of_a_domain_xml():
    found = m.facts("kvm-a", XML)
    assert (found.virt_type, found.arch, found.machine, found.emulator) == (
        "qemu", "x86_64", "pc-i440fx-7.2", "/usr/bin/qemu-system-x86_64")
    assert found.cpu_model == "qemu64" and found.cpu_xml is not None and found.cpu_xml.startswith("<cpu ")
    assert (found.memory_bytes, found.vcpus) == (128 << 20, 2)
    assert [d.target for d in found.disks] == ["vda", "sda", "vdb", "vdc"]


def test_the_default_plan_moves_live_persistently_with_progress_and_abort():
    plan = build()
    assert (plan.title, plan.host, plan.action, plan.target) == ("Migrate web1 from kvm-a to kvm-b", "kvm-a", "migrate",
                                                                  "web1")
    assert plan.hosts == ("kvm-a", "kvm-b")
    (step,) = plan.steps
    assert step.timeout is None and step.host == ""
    assert step.operation.call == "virDomainMigrate3"
    assert dict(step.operation.args) == {"domain": "web1", "uuid": "6876646b-7465-7374-6d69-670000000001",
                                         "target": "kvm-b", "flags": "LIVE|PERSIST_DEST|UNDEFINE_SOURCE"}
    assert step.operation.equivalent == ("virsh", "-c", "qemu:///system", "migrate", "--live", "--persistent",
                                         "--undefinesource", "--domain=web1",
                                         "--desturi=qemu+ssh://ops@10.0.0.2:2200/system")
    assert step.progress is not None and step.progress.operation is not None
    assert step.progress.operation.call == "virDomainGetJobStats" and step.progress.parser is m.parse_job_stats
    assert step.cancel is not None and step.cancel.call == "virDomainAbortJob"
    assert step.cancel.equivalent == ("virsh", "-c", "qemu:///system", "domjobabort", "--domain=web1")
    assert "Cancel, or a failure, leaves it running on kvm-a" in plan.warning


def test_the_form_options_become_flags_parameters_and_a_downtime_step():
    plan = build({"bandwidth": 100, "max_downtime": 250, "auto_converge": "yes", "copy_storage": "yes",
                  "unsafe": "yes"})
    downtime, move = plan.steps
    assert downtime.operation.call == "virDomainMigrateSetMaxDowntime"
    assert dict(downtime.operation.args)["downtime_ms"] == "250"
    assert downtime.operation.equivalent[-2:] == ("--domain=web1", "--downtime=250")
    args = dict(move.operation.args)
    assert args["flags"] == "LIVE|PERSIST_DEST|UNDEFINE_SOURCE|AUTO_CONVERGE|NON_SHARED_DISK|UNSAFE"
    assert args["bandwidth_mib_s"] == "100"
    assert move.operation.equivalent[7:11] == ("--auto-converge", "--copy-storage-all", "--unsafe", "--bandwidth=100")
    assert move.description == "Move web1 live from kvm-a to kvm-b, copying its disks"
    from hvdeck.backends.libvirt import migration_run

    assert migration_run._flags(args["flags"]) == sum(migration_run.FLAGS.values())


@pytest.mark.parametrize(("texts", "error"), [
    ({"bandwidth": "0"}, "bandwidth"), ({"bandwidth": "fast"}, "bandwidth"), ({"max_downtime": "-1"}, "max_downtime"),
    ({"copy_storage": "maybe"}, "copy_storage"),
])
def test_the_form_refuses_bad_values(texts, error):
    with pytest.raises(ValidationError) as raised:
        m.FORM.parse(texts)
    assert error in raised.value.errors  # type: ignore[attr-defined]


def test_a_flag_hvdeck_does_not_pass_is_refused():
    from hvdeck.backends.libvirt import migration_run

    with pytest.raises(Exception, match="POSTCOPY"):
        migration_run._flags("LIVE|POSTCOPY")


def checks_by_description(plan) -> dict[str, Check]:
    return {c.description: c for c in plan.checks}


def test_the_checks_decided_when_the_plan_is_built():
    checks = checks_by_description(build())
    assert checks["kvm-b is a libvirt host like kvm-a"].passed is True
    assert checks["kvm-b may be changed"].passed is True
    assert checks["web1 is running or paused (only a live domain moves live)"].passed is True
    other = checks_by_description(build(kind="ldoms", target=HostSpec(name="kvm-b", address="x", read_only=True),
                                        domain=running(state=DomainState.STOPPED, native="shut off")))
    assert (other["kvm-b is a libvirt host like kvm-a"].passed, other["kvm-b is a libvirt host like kvm-a"].reason) == (
        False, "kvm-b is a ldoms host")
    assert other["kvm-b may be changed"].reason == "kvm-b is read-only in the inventory"
    assert other["web1 is running or paused (only a live domain moves live)"].reason == "web1 is shut off"


def test_the_disk_checks_look_for_the_same_path_on_the_target():
    checks = checks_by_description(build({"copy_storage": "yes"}))
    vda = checks["Disk vda: kvm-b has /var/lib/libvirt/images/web1.qcow2 to copy it into"]
    assert vda.operation is not None and vda.operation.argv == ("test", "-e", "/var/lib/libvirt/images/web1.qcow2")
    assert vda.host == "kvm-b"
    assert vda.parser(Result(("test",), 1, "", "")) == "kvm-b has no /var/lib/libvirt/images/web1.qcow2"
    assert vda.parser(Result(("test",), 0, "", "")) is None
    assert not any(d.startswith("Disk sda") for d in checks), "an empty CD-ROM has nothing to find"
    network = checks["Disk vdb: rbd://ceph1/pool/web1-data"]
    assert network.passed is True and "not checked" in network.reason
    relative = checks["Disk vdc: images/relative.img"]
    assert relative.passed is False and "not an absolute path" in relative.reason
    shared = checks_by_description(build())
    assert "Disk vda: kvm-b has /var/lib/libvirt/images/web1.qcow2 (shared storage)" in shared


def _json(payload: object, status: int = 0) -> Result:
    return Result(("call",), status, json.dumps(payload), "")


def test_the_check_verdicts_read_the_target_answers():
    checks = checks_by_description(build())
    other = checks["kvm-b answers and is another libvirt host than kvm-a"].parser
    assert other(_json({"hostname": "b", "host_uuid": "bbbb"})) is None
    assert other(_json({"hostname": "a", "host_uuid": "aaaa-source"})) == \
        "kvm-b is the same libvirt host as kvm-a (host UUID aaaa-source)"
    name = checks["kvm-b has no other domain named web1 or with its UUID"].parser
    assert name(_json({"by_name": None, "by_uuid": None})) is None
    assert name(_json({"by_name": {"name": "web1", "uuid": "ffff", "active": False}, "by_uuid": None})) == \
        "kvm-b already has another domain named web1"
    same = {"name": "web1", "uuid": "6876646b-7465-7374-6d69-670000000001"}
    assert name(_json({"by_name": {**same, "active": False}, "by_uuid": {**same, "active": False}})) is None
    assert name(_json({"by_name": {**same, "active": True}, "by_uuid": {**same, "active": True}})) == \
        "web1 is already running on kvm-b"
    assert name(_json({"by_name": None, "by_uuid": {**same, "name": "old", "active": False}})) == \
        "kvm-b has web1's UUID under another name"
    room = checks["kvm-b has 128M of memory free and 2 CPUs for web1"].parser
    assert room(_json({"free_bytes": 1 << 30, "cpus": 4})) is None
    assert room(_json({"free_bytes": 64 << 20, "cpus": 4})) == "kvm-b has 64M of memory free; web1 needs 128M"
    assert room(_json({"free_bytes": 1 << 30, "cpus": 1})) == "kvm-b has 1 CPUs; web1 has 2 vCPUs"
    cpu = checks["kvm-b can run web1's CPU (qemu64)"]
    assert cpu.operation is not None and dict(cpu.operation.args)["virttype"] == "qemu"
    assert cpu.parser(_json({"result": "superset"})) is None
    assert cpu.parser(_json({"result": "incompatible", "detail": "Host CPU does not provide required features: avx512f"})) \
        == "kvm-b cannot run web1's CPU: Host CPU does not provide required features: avx512f"
    # a failed call is the executor's to report (its stderr), not the verdict's
    assert cpu.parser(Result(("call",), 1, "", "error: unsupported\n")) is None


def test_a_domain_without_a_cpu_model_passes_the_cpu_check_and_says_why():
    xml = XML.replace("<cpu mode='custom' match='exact' check='full'><model fallback='forbid'>qemu64</model>\n"
                      "    <feature policy='require' name='hypervisor'/></cpu>", "")
    plan = m.plan(running(), SOURCE, TARGET, "libvirt", m.facts("kvm-a", xml), m.FORM.parse({}), source_host_uuid=None)
    cpu = checks_by_description(plan)["kvm-b can run web1's CPU"]
    assert cpu.passed is True and cpu.reason == "the domain XML names no CPU model (the hypervisor's default)"


def test_names_libvirt_refuses_never_make_a_plan():
    with pytest.raises(ValidationError):
        build(domain=running(name="a/b"))


def test_job_stats_progress():
    # keys and units of virDomainGetJobStats (libvirt-domain.h VIR_DOMAIN_JOB_*), as the test bed printed them
    info = m.parse_job_stats(json.dumps({"type": 2, "time_elapsed": 3200, "data_total": 152043520,
                                         "data_processed": 38010880, "data_remaining": 114032640,
                                         "memory_bps": 5242880, "downtime": 300}))
    assert info is not None
    assert info.fraction == pytest.approx(0.25)
    assert (info.processed_bytes, info.remaining_bytes, info.rate_bps, info.downtime_ms) == (
        38010880, 114032640, 5242880.0, 300)
    assert info.message == "36M sent of 145M, 109M left, 5M/s, expected downtime 300 ms"
    assert m.parse_job_stats('{"type": 0}') is None, "no job: before it starts and after it ends"
    assert m.parse_job_stats("not json") is None
    assert m.parse_job_stats("[1, 2]") is None
    disk_only = m.parse_job_stats(json.dumps({"type": 2, "disk_total": 1, "disk_bps": 7}))
    assert disk_only is not None and disk_only.fraction is None and disk_only.rate_bps == 7.0


@pytest.mark.parametrize(("here", "there", "sentence"), [
    (None, "running", "web1 is running on kvm-b; kvm-a no longer has it."),
    ("running", None, "web1 is still running on kvm-a; kvm-b does not have it."),
    (None, None, "web1 is on neither kvm-a nor kvm-b: look at both hosts before doing anything else."),
    ("shut off", "running", "web1 is running on kvm-b; kvm-a still has its definition (shut off)."),
    ("paused", "paused", "web1 is on both hosts: paused on kvm-a, paused on kvm-b: look at both before doing "
                         "anything else."),
])
def test_whereabouts(here, there, sentence):
    assert m.whereabouts("web1", "kvm-a", "kvm-b", here, there) == sentence


def test_rows_in_a_migration_are_flagged():
    rows = (running(), Domain("kvm-a", "db", DomainState.PAUSED, "paused", uuid="u2", extra=(("reason", "migrating"),)),
            Domain("kvm-a", "idle", DomainState.PAUSED, "paused", uuid="u3", extra=(("reason", "user"),)))
    marked = m.mark(rows, {"6876646b-7465-7374-6d69-670000000001": "kvm-b"})
    assert [(d.name, d.flags, d.flags_meaning) for d in marked] == [
        ("web1", "migrating", "live migration to kvm-b in progress"),
        ("db", "migrating", "paused by a live migration"),
        ("idle", None, "")]


def test_the_virsh_equivalent_reaches_the_target_as_hvdeck_does():
    assert m.dest_uri(HostSpec(name="b", address="b.example", libvirt_uri="qemu:///system")) == \
        "qemu+ssh://b.example/system"
    assert m.dest_uri(HostSpec(name="t", address="t", transport="local", libvirt_uri="test:///default")) == \
        "test:///default"
