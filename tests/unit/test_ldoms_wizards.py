"""The LDoms wizards' pure parts: the zfs, list-spconfig and vdisk parsers, and the plan builders of the create
and clone wizards and of snapshot rollback/destroy — the exact argv of every step, its undo, the pre-flight
checks, and the refusal of what the host would reject, each on the input at fault.

The host each plan is checked against is read from a simulated control domain (its own `ldm` and `zfs`
output, parsed by the parsers under test), never written by hand."""

from __future__ import annotations

import pytest

from hvdeck.backends.errors import ParseError, ValidationError
from hvdeck.backends.ldoms import commands as c
from hvdeck.backends.ldoms import parse as p
from hvdeck.backends.model import Domain
from hvdeck.backends.options import FormErrors
from hvdeck.backends.plan import Plan
from hvdeck.backends.sim.ldoms import LdomsWorld
from hvdeck.backends.transport.base import Result

G = 1 << 30


@pytest.fixture
def world() -> LdomsWorld:
    return LdomsWorld.demo("t7-a", 1, clock=lambda: 1000.0)


def out(world: LdomsWorld, argv) -> str:
    reply = world.run(list(argv))
    assert reply.exit_status == 0, (argv, reply.stderr)
    return reply.stdout


def view(world: LdomsWorld, *, resources: bool = True) -> c.HostView:
    """What `LdomsBackend.host_view` reads, read from the simulated control domain."""
    bindings = p.parse_bindings_p(out(world, c.bindings()), "t7-a")
    attached = {d.source: f"{name}/{d.target}" for name, b in bindings.items() for d in b.disks if d.source}
    return c.HostView("t7-a", p.parse_list_p(out(world, c.LIST), "t7-a"), p.parse_services_p(out(world, c.SERVICES)),
                      p.parse_zfs_list(out(world, c.zfs_list(("filesystem", "volume", "snapshot")))), attached,
                      c.Resources.of(p.parse_devices_p(out(world, c.DEVICES))) if resources else None)


def clone_view(world: LdomsWorld, source: str, into: str | None = None) -> c.CloneView:
    vdisks = p.parse_vdisks_p(out(world, c.bindings(source)))[source]
    constraints = p.parse_constraints_p(out(world, ("ldm", "list-constraints", "-p", source)))[source]
    target = p.parse_vdisks_p(out(world, c.bindings(into)))[into] if into else ()
    return c.CloneView(view(world), vdisks, constraints, target)


def domain(world: LdomsWorld, name: str) -> Domain:
    return next(d for d in view(world).domains if d.name == name)


def argvs(plan: Plan) -> list[str]:
    return [s.operation.display() for s in plan.steps]


def undos(plan: Plan) -> list[str | None]:
    return [s.undo.display() if s.undo else None for s in plan.steps]


def run(world: LdomsWorld, plan: Plan) -> None:
    """Run every step on the simulated host; each must succeed."""
    for step in plan.steps:
        out(world, step.operation.argv)


def check_results(world: LdomsWorld, plan: Plan) -> list[str | None]:
    """Each pre-flight check run on the host now: None when it passes, else its reason."""
    reasons = []
    for check in plan.checks:
        reply = world.run(list(check.operation.argv))
        result = Result(check.operation.argv, reply.exit_status, reply.stdout, reply.stderr)
        reasons.append(check.parser(result))
    return reasons


def create(world: LdomsWorld, **texts: str) -> Plan:
    form = c.CREATE_FORM.with_choices(c.create_choices(view(world)))
    return c.plan_new_guest(view(world), form.parse({"network": "primary-vsw0", **texts}))


# --- parsers ---------------------------------------------------------------------------------------------


def test_zfs_list_exact_and_human_numbers():
    text = ("ldompool\tfilesystem\t483183853568\t1715839401984\t32768\t-\t-\n"
            "ldompool/web-boot\tvolume\t0\t1.56T\t9G\t50G\tldompool/gold@2024-06\n"
            "ldompool/gold@2024-06\tsnapshot\t0\t-\t9663676416\t53687091200\t-\n")
    pool, clone, snap = p.parse_zfs_list(text)
    assert (pool.name, pool.type, pool.used, pool.available, pool.volsize) == (
        "ldompool", "filesystem", 483183853568, 1715839401984, None)
    assert (clone.available, clone.referenced, clone.volsize, clone.origin) == (
        int(1.56 * 2**40), 9 * G, 50 * G, "ldompool/gold@2024-06")
    assert (clone.parent, clone.short) == ("ldompool", "web-boot")
    assert (snap.parent, snap.short, snap.available) == ("ldompool/gold", "2024-06", None)


@pytest.mark.parametrize("line, says", [
    ("ldompool\tfilesystem\t1\t2", "expected 7 tab-separated fields"),
    ("ldompool\tbookmark\t1\t2\t3\t-\t-", "is not a dataset type"),
    ("ldompool\tvolume\tlots\t2\t3\t-\t-", "used 'lots' is not a size"),
])
def test_zfs_list_garbage_names_the_line(line, says):
    with pytest.raises(ParseError) as caught:
        p.parse_zfs_list("ldompool\tfilesystem\t1\t2\t3\t-\t-\n" + line + "\n")
    assert says in caught.value.message and caught.value.line_no == 2


def test_spconfig_list_with_its_tags():
    configs = p.parse_spconfig("factory-default\ninitial [next poweron]\nbasic-conf [current]\nold [degraded]\n")
    assert configs == (p.SpConfig("factory-default"), p.SpConfig("initial", next_poweron=True),
                       p.SpConfig("basic-conf", current=True), p.SpConfig("old", degraded=True))
    with pytest.raises(ParseError):
        p.parse_spconfig("  indented [current]\n")
    with pytest.raises(ParseError):
        p.parse_spconfig("name [maybe]\n")


def test_vdisks_with_ids_from_bindings_and_without_from_constraints(world):
    bound = p.parse_vdisks_p(out(world, c.bindings("ldg-db1")))["ldg-db1"]
    assert bound == (p.VdiskRef("vdisk0", "ldg-db1-boot@primary-vds0", 0),
                     p.VdiskRef("vdisk1", "ldg-db1-data@primary-vds0", 1))
    assert (bound[1].vol, bound[1].vds) == ("ldg-db1-data", "primary-vds0")
    wanted = p.parse_vdisks_p(out(world, ("ldm", "list-constraints", "-p", "ldg-db1")))["ldg-db1"]
    assert [(v.name, v.id) for v in wanted] == [("vdisk0", None), ("vdisk1", None)]
    assert p.parse_vdisks_p("DOMAIN|name=x\nVDISK|name=d|vol=v@s|dev=disk@3\n")["x"][0].id == 3


# --- names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["-r", "pool/-R", "pool//vol", "1pool/vol", "pool/vol@snap", "pool/a b", "",
                                  "pool/\x1b[31m", "pool/" + "v" * 260])
def test_a_dataset_name_that_could_read_as_an_option_or_is_not_zfs_is_refused(name):
    with pytest.raises(ValidationError):
        c.validate_dataset(name)


@pytest.mark.parametrize("name", ["-r", "", "a@b", "a/b", "x\ny"])
def test_bad_snapshot_names(name):
    with pytest.raises(ValidationError):
        c.validate_snapshot(name)


def test_zvol_paths():
    assert c.zvol_path("ldompool/web-boot") == "/dev/zvol/dsk/ldompool/web-boot"
    assert c.zvol_dataset("/dev/zvol/rdsk/rpool/ldg1-boot") == "rpool/ldg1-boot"
    assert c.zvol_dataset("/dev/dsk/c0t1d0s2") is None and c.zvol_dataset(None) is None


# --- what the host offers ---------------------------------------------------------------------------------


def test_choices_pools_switches_and_free_volumes(world):
    choices = c.create_choices(view(world))
    assert [(ch.value, ch.detail) for ch in choices["network"]] == [("primary-vsw0", "on primary, net-dev net0")]
    assert [(ch.value, ch.detail) for ch in choices["pool"]] == [("ldompool", "1.6T free")]
    # every other volume is some domain's disk; the gold image is free (and has a snapshot a clone came from)
    assert [(ch.value, ch.detail) for ch in choices["volume"]] == [("ldompool/sol11-gold", "50G")]
    volumes = {v.name: v for v in c.zfs_volumes(view(world))}
    assert volumes["ldg-test-boot"].origin == "ldompool/sol11-gold@2024-06"
    assert volumes["ldg-db1-data"].used_by == "ldg-db1/vdisk1" and volumes["sol11-gold"].used_by is None
    (snap,) = c.snapshots_of(view(world).datasets, ("ldompool/sol11-gold",))
    assert (snap.of, snap.name, snap.clones) == ("ldompool/sol11-gold", "2024-06", ("ldompool/ldg-test-boot",))


# --- create --------------------------------------------------------------------------------------------


def test_create_with_a_new_volume_the_exact_sequence_each_with_its_undo(world):
    plan = create(world, name="web3", vcpus="8", memory="16G", disk="20G")
    assert argvs(plan) == [
        "zfs create -V 20G ldompool/web3-boot",
        "ldm add-domain web3", "ldm add-vcpu 8 web3", "ldm add-memory 16G web3",
        "ldm add-vnet vnet0 primary-vsw0 web3",
        "ldm add-vdsdev /dev/zvol/dsk/ldompool/web3-boot web3-boot@primary-vds0",
        "ldm add-vdisk vdisk0 web3-boot@primary-vds0 web3",
        "ldm set-var 'auto-boot?=true' web3", "ldm set-var boot-device=vdisk0 web3",
        "ldm bind web3", "ldm start web3"]
    assert undos(plan) == [
        "zfs destroy ldompool/web3-boot", "ldm remove-domain web3", None, None, "ldm remove-vnet vnet0 web3",
        "ldm remove-vdsdev web3-boot@primary-vds0", "ldm remove-vdisk vdisk0 web3", None, None,
        "ldm unbind web3", "ldm stop -f web3"]
    assert plan.steps[0].operation.argv == ("zfs", "create", "-V", "20G", "ldompool/web3-boot")
    assert [ch.description for ch in plan.checks] == [
        "t7-a has no domain named web3", "ldompool/web3-boot does not exist yet",
        "ldompool has 20G free for the new volume", "primary-vds0 exports no volume named web3-boot yet",
        "t7-a has 8 strands and 16G of memory free"]
    assert check_results(world, plan) == [None] * 5
    run(world, plan)
    assert world.domains["web3"].state.value == "active"
    assert check_results(world, plan)[:2] == ["t7-a already has a domain named web3", "ldompool/web3-boot already exists"]


def test_create_on_an_existing_volume_and_obp_variables(world):
    plan = create(world, name="gold1", disk="", volume="ldompool/sol11-gold", auto_boot="no", boot_device="disk net",
                  variables="diag-switch?=false; nvramrc=devalias x /pci@300,0", start="no")
    assert argvs(plan) == [
        "ldm add-domain gold1", "ldm add-vcpu 4 gold1", "ldm add-memory 8G gold1",
        "ldm add-vnet vnet0 primary-vsw0 gold1",
        "ldm add-vdsdev /dev/zvol/dsk/ldompool/sol11-gold gold1-boot@primary-vds0",
        "ldm add-vdisk vdisk0 gold1-boot@primary-vds0 gold1",
        "ldm set-var 'auto-boot?=false' gold1", "ldm set-var 'boot-device=disk net' gold1",
        "ldm set-var 'diag-switch?=false' gold1", "ldm set-var 'nvramrc=devalias x /pci@300,0' gold1"]
    assert "left inactive" in plan.warning
    run(world, plan)
    # exported now but attached to gold1: no longer offered; a second guest on it is refused
    assert c.create_choices(view(world))["volume"] == ()
    form = c.CREATE_FORM.with_choices(c.create_choices(view(world)))
    values = form.parse({"name": "gold2", "network": "primary-vsw0", "disk": "1G"})
    with pytest.raises(FormErrors) as caught:  # what the console's form offered before gold1 took it
        c.plan_new_guest(view(world), {**values, "disk": None, "volume": "ldompool/sol11-gold"})
    assert caught.value.errors == {"volume": "ldompool/sol11-gold is the disk of gold1/vdisk0"}


def test_an_exported_but_unattached_volume_is_used_as_it_is(world):
    out(world, ("ldm", "add-vdsdev", "/dev/zvol/dsk/ldompool/sol11-gold", "gold@primary-vds0"))
    plan = create(world, name="g", disk="", volume="ldompool/sol11-gold")
    assert "ldm add-vdsdev" not in " ".join(argvs(plan))
    assert "ldm add-vdisk vdisk0 gold@primary-vds0 g" in argvs(plan)


@pytest.mark.parametrize("texts, errors", [
    ({"name": "ldg-web1", "disk": "20G"}, {"name": "t7-a already has a domain named ldg-web1",
                                           "disk": "ldompool/ldg-web1-boot already exists"}),
    ({"name": "big", "disk": "20G", "vcpus": "9"}, {"vcpus": "t7-a has 8 strands free"}),
    ({"name": "big", "disk": "20G", "memory": "200G"}, {"memory": "t7-a has 139.5G of memory free"}),
    ({"name": "big", "disk": "3T"}, {"disk": "ldompool has 1.6T free"}),
    ({"name": "sol11", "disk": "20G"}, {}),  # sol11-boot is free: only a taken name is refused
])
def test_create_refuses_what_the_host_would_before_anything_runs(world, texts, errors):
    if not errors:
        assert create(world, **texts).steps
        return
    with pytest.raises(FormErrors) as caught:
        create(world, **texts)
    assert caught.value.errors == errors


def test_a_taken_volume_name_or_dataset_is_refused_on_the_name(world):
    out(world, ("zfs", "create", "-V", "1G", "ldompool/web9-boot"))
    with pytest.raises(FormErrors) as caught:
        create(world, name="web9", disk="20G")
    assert caught.value.errors == {"disk": "ldompool/web9-boot already exists"}
    out(world, ("ldm", "add-vdsdev", "/dev/zvol/dsk/ldompool/web9-boot", "web8-boot@primary-vds0"))
    with pytest.raises(FormErrors) as caught:
        create(world, name="web8", disk="20G")
    assert caught.value.errors == {"name": "primary-vds0 already exports a volume named web8-boot"}


def test_without_start_no_resources_are_asked_for(world):
    plan = create(world, name="later", disk="20G", vcpus="64", start="no")
    assert "ldm bind later" not in argvs(plan) and not any("strands" in ch.description for ch in plan.checks)


@pytest.mark.parametrize("texts, errors", [
    ({"name": "x", "disk": "20G", "memory": "1000M"},
     {"memory": "ldm binds memory in 256M units: use a multiple of 256M, e.g. 768M"}),
    ({"name": "x", "disk": "1.5K"}, {"disk": "New disk: 1536B is less than 8K"}),
    ({"name": "x", "disk": "20001K"}, {"disk": "a ZFS volume's size is a multiple of its 8K blocks: use K, M or G, "
                                               "e.g. 20G"}),
    ({"name": "x"}, {"disk": "give the size of a new disk, or choose an existing volume"}),
    ({"name": "x", "disk": "20G", "volume": "ldompool/sol11-gold"},
     {"volume": "a new disk or an existing volume, not both"}),
    ({"name": "-x", "disk": "20G"}, {"name": "name '-x': use a letter first, then letters, digits, '-', '_' or '.' "
                                             "(at most 64 characters)"}),
    ({"name": "x", "disk": "20G", "variables": "auto-boot?"}, {"variables": "variable 'auto-boot?': write NAME=VALUE, "
                                                                            "e.g. auto-boot?=false"}),
    ({"name": "x", "disk": "20G", "network": "br0"}, {"network": "Network: 'br0' is not one of primary-vsw0"}),
])
def test_the_create_form_refuses_bad_input_on_its_field(world, texts, errors):
    form = c.CREATE_FORM.with_choices(c.create_choices(view(world)))
    with pytest.raises(FormErrors) as caught:
        form.parse({"network": "primary-vsw0", **texts})
    assert caught.value.errors == errors


def test_the_check_parsers_fail_on_output_they_cannot_read():
    plan = c.spconfig_plan("t7-a", "after", ())
    (check,) = plan.checks
    garbage = Result(("ldm", "list-spconfig"), 0, "  nonsense\n", "")
    assert check.parser(garbage).startswith("ldm list-spconfig printed what hvdeck could not read")
    assert check.parser(Result(("ldm",), 1, "", "boom")) is None, "a failed command is the executor's to report"


# --- clone ---------------------------------------------------------------------------------------------------


def test_clone_a_running_guest_into_a_new_domain(world):
    source = domain(world, "ldg-web1")
    form = c.clone_form(source)
    assert form is not None and form.option("stop").default == "yes"
    assert "not consistent" in form.option("stop").help
    choices = c.clone_choices(clone_view(world, "ldg-web1"), source)
    assert choices["snapshot"] == ()
    into = dict((ch.value, ch.detail) for ch in choices["into"])
    assert into["ldg-test"] == "bound" and into["ldg-build"] == "inactive"
    assert into["ldg-db1"] == "active: its root disk is in use, stop it first"
    assert "primary" not in [ch.value for ch in choices["into"]] and "ldg-web1" not in [ch.value for ch in choices["into"]]
    values = form.with_choices(choices).parse({"name": "web4"})
    plan = c.plan_clone(clone_view(world, "ldg-web1"), source, values)
    assert argvs(plan) == [
        "ldm stop ldg-web1", "zfs snapshot ldompool/ldg-web1-boot@web4", "ldm start ldg-web1",
        "zfs clone ldompool/ldg-web1-boot@web4 ldompool/web4-boot",
        "ldm add-domain web4", "ldm add-vcpu 4 web4", "ldm add-memory 8G web4",
        "ldm add-vnet vnet0 primary-vsw0 web4",
        "ldm add-vdsdev /dev/zvol/dsk/ldompool/web4-boot web4-boot@primary-vds0",
        "ldm add-vdisk vdisk0 web4-boot@primary-vds0 web4",
        "ldm set-var 'auto-boot?=true' web4", "ldm set-var boot-device=vdisk0 web4",
        "ldm bind web4", "ldm start web4"]
    assert [s.always for s in plan.steps][:3] == [False, False, True], "the source is started again whatever happens"
    assert undos(plan)[:4] == [None, "zfs destroy ldompool/ldg-web1-boot@web4", None, "zfs destroy ldompool/web4-boot"]
    assert check_results(world, plan) == [None] * len(plan.checks)
    run(world, plan)
    assert world.domains["web4"].state.value == "active" and world.domains["ldg-web1"].state.value == "active"


def test_cloning_a_running_guest_without_stopping_it_warns(world):
    source = domain(world, "ldg-web1")
    plan = c.plan_clone(clone_view(world, "ldg-web1"), source, {"name": "web5", "stop": False, "start": False})
    assert "is running: the snapshot is not consistent" in plan.warning
    assert argvs(plan)[0] == "zfs snapshot ldompool/ldg-web1-boot@web5"
    assert "ldm bind web5" not in argvs(plan)


def test_clone_from_an_existing_snapshot_takes_none(world):
    out(world, ("zfs", "snapshot", "ldompool/ldg-db1-boot@monday"))
    source = domain(world, "ldg-db1")
    view_ = clone_view(world, "ldg-db1")
    choices = c.clone_choices(view_, source)
    assert [(ch.value, ch.detail) for ch in choices["snapshot"]] == [("monday", "ldompool/ldg-db1-boot@monday · no clones")]
    plan = c.plan_clone(view_, source, {"name": "db2", "snapshot": "monday", "stop": True, "start": False})
    assert argvs(plan)[0] == "zfs clone ldompool/ldg-db1-boot@monday ldompool/db2-boot"
    assert "Only the root disk is cloned: ldg-db1's other disks (vdisk1) are not given to db2." in plan.warning
    assert plan.checks[1].description == "ldompool/ldg-db1-boot@monday exists"


def test_clone_refusals(world):
    source = domain(world, "ldg-web1")
    view_ = clone_view(world, "ldg-web1")
    with pytest.raises(FormErrors) as caught:
        c.plan_clone(view_, source, {"name": "ldg-db1", "stop": True, "start": True})
    assert caught.value.errors == {"name": "t7-a already has a domain named ldg-db1"}
    with pytest.raises(FormErrors) as caught:
        c.plan_clone(clone_view(world, "ldg-web1", "ldg-db1"), source, {"name": "x", "into": "ldg-db1"})
    assert caught.value.errors == {"into": "ldg-db1 is active: its root disk is in use; stop it first"}
    with pytest.raises(FormErrors) as caught:  # the whole clone needs ldg-db1's 32 strands; 8 are free
        c.plan_clone(clone_view(world, "ldg-db1"), domain(world, "ldg-db1"), {"name": "db3", "stop": False,
                                                                              "start": True})
    assert caught.value.errors == {"start": "t7-a has 8 strands free; the clone needs 32: answer no, or free some first"}
    assert c.clone_form(domain(world, "primary")) is None, "the control domain is not cloned"


def test_a_root_disk_that_is_not_a_zfs_volume_cannot_be_cloned(world):
    world.services.vds.volumes["ldg-web1-boot"].dev = "/dev/dsk/c0t1d0s2"
    with pytest.raises(ValidationError) as caught:
        c.clone_choices(clone_view(world, "ldg-web1"), domain(world, "ldg-web1"))
    assert caught.value.message == ("ldg-web1's root disk vdisk0 is backed by /dev/dsk/c0t1d0s2, not a ZFS volume: "
                                    "hvdeck clones ZFS volumes only")


def test_root_disk_swap_into_an_existing_domain(world):
    source = domain(world, "ldg-web1")
    plan = c.plan_clone(clone_view(world, "ldg-web1", "ldg-test"), source,
                        {"name": "test-root", "into": "ldg-test", "snapshot": "swap", "stop": True, "start": True})
    assert plan.title == "Clone ldg-web1's root disk into ldg-test on t7-a"
    assert argvs(plan) == [
        "ldm stop ldg-web1", "zfs snapshot ldompool/ldg-web1-boot@swap", "ldm start ldg-web1",
        "zfs clone ldompool/ldg-web1-boot@swap ldompool/test-root",
        "ldm add-vdsdev /dev/zvol/dsk/ldompool/test-root test-root@primary-vds0",
        "ldm remove-vdisk vdisk0 ldg-test",
        "ldm add-vdisk id=0 vdisk0 test-root@primary-vds0 ldg-test",
        "ldm add-vdisk id=1 vdisk0-orig ldg-test-boot@primary-vds0 ldg-test",
        "ldm start ldg-test"]
    assert undos(plan)[5:8] == ["ldm add-vdisk id=0 vdisk0 ldg-test-boot@primary-vds0 ldg-test",
                                "ldm remove-vdisk vdisk0 ldg-test", "ldm remove-vdisk vdisk0-orig ldg-test"]
    assert "stays attached as vdisk0-orig (id 1)" in plan.warning
    run(world, plan)
    disks = p.parse_vdisks_p(out(world, c.bindings("ldg-test")))["ldg-test"]
    assert disks == (p.VdiskRef("vdisk0", "test-root@primary-vds0", 0),
                     p.VdiskRef("vdisk0-orig", "ldg-test-boot@primary-vds0", 1))


# --- snapshots -------------------------------------------------------------------------------------------------


def test_destroying_a_snapshot_with_clones_is_refused_and_says_why(world):
    with pytest.raises(ValidationError) as caught:
        c.snapshot_plan(view(world), "ldompool/sol11-gold", "2024-06", "destroy")
    assert caught.value.message == ("ldompool/sol11-gold@2024-06 cannot be destroyed: ldompool/ldg-test-boot was "
                                    "cloned from it and depends on it; destroy that first")
    out(world, ("zfs", "snapshot", "ldompool/sol11-gold@spare"))
    plan = c.snapshot_plan(view(world), "ldompool/sol11-gold", "spare", "destroy")
    assert argvs(plan) == ["zfs destroy ldompool/sol11-gold@spare"] and plan.confirm_phrase == "spare"
    assert plan.steps[0].undo is None


def test_rollback_destroys_later_snapshots_with_r_and_unbinds_the_bound_user(world):
    for snap in ("a", "b", "c"):
        out(world, ("zfs", "snapshot", f"ldompool/ldg-test-boot@{snap}"))
    plan = c.snapshot_plan(view(world), "ldompool/ldg-test-boot", "a", "rollback")
    assert argvs(plan) == ["ldm unbind ldg-test", "zfs rollback -r ldompool/ldg-test-boot@a", "ldm bind ldg-test"]
    assert plan.confirm_phrase == "a"
    assert "The later snapshots are destroyed: @b, @c." in plan.warning
    assert "ldg-test (vdisk0) is bound: it is unbound for the rollback and bound again after." in plan.warning
    run(world, plan)
    assert [s.name for s in c.snapshots_of(view(world).datasets, ("ldompool/ldg-test-boot",))] == ["a"]


def test_rollback_of_a_running_guests_disk_stops_and_starts_it(world):
    out(world, ("zfs", "snapshot", "ldompool/ldg-web1-boot@last"))
    plan = c.snapshot_plan(view(world), "ldompool/ldg-web1-boot", "last", "rollback")
    assert argvs(plan) == ["ldm stop ldg-web1", "ldm unbind ldg-web1", "zfs rollback ldompool/ldg-web1-boot@last",
                           "ldm bind ldg-web1", "ldm start ldg-web1"]
    run(world, plan)
    assert world.domains["ldg-web1"].state.value == "active"


def test_rollback_past_a_snapshot_with_clones_is_refused(world):
    out(world, ("zfs", "snapshot", "ldompool/sol11-gold@later"))
    out(world, ("zfs", "snapshot", "ldompool/sol11-gold@before"))
    world.pool.datasets["ldompool/sol11-gold@before"].created = 0  # oldest
    with pytest.raises(ValidationError) as caught:
        c.snapshot_plan(view(world), "ldompool/sol11-gold", "before", "rollback")
    assert caught.value.message == ("ldompool/sol11-gold cannot go back to @before: the later snapshot @2024-06 has "
                                    "clones (ldompool/ldg-test-boot), which zfs would have to destroy")


def test_a_snapshot_of_a_guests_disks(world):
    plan = c.domain_snapshot_plan(view(world), "ldg-db1", ("ldompool/ldg-db1-boot", "ldompool/ldg-db1-data"), "pre")
    assert argvs(plan) == ["zfs snapshot ldompool/ldg-db1-boot@pre", "zfs snapshot ldompool/ldg-db1-data@pre"]
    assert "ldg-db1 is running: the snapshot is not consistent" in plan.warning
    run(world, plan)
    with pytest.raises(FormErrors) as caught:
        c.domain_snapshot_plan(view(world), "ldg-db1", ("ldompool/ldg-db1-boot",), "pre")
    assert caught.value.errors == {"snapshot": "ldompool/ldg-db1-boot@pre already exists"}


# --- the service processor ------------------------------------------------------------------------------------


def test_save_the_configuration_to_the_sp():
    plan = c.spconfig_plan("t7-a", "after-web3", ("factory-default",))
    assert argvs(plan) == ["ldm add-spconfig after-web3"] and undos(plan) == ["ldm remove-spconfig after-web3"]
    with pytest.raises(FormErrors) as caught:
        c.spconfig_plan("t7-a", "factory-default", ("factory-default",))
    assert caught.value.errors == {"config": "the service processor of t7-a already has a configuration named "
                                             "factory-default: choose another name"}
    with pytest.raises(ValidationError):
        c.spconfig_plan("t7-a", "-bad", None)
