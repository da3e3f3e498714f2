"""The zones backend through the Fleet against simulated global zones behind real SSH: the table, bindings,
create, clone, the console, moves between hosts (attach -u), p2v, and the actions of the action menu.
Every plan runs through `Fleet.run_plan` (the executor, the audit log), and what it did is checked in the
next poll of the table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action
from hvdeck.backends.errors import ConsoleBusy, Unsupported, ValidationError
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import DomainState, HostStatus
from hvdeck.backends.options import FormErrors
from hvdeck.backends.plan import undo_plan
from hvdeck.backends.sim.zones import OMNIOS, ZonesWorld, serve
from hvdeck.backends.sim.zones.storage import Node
from hvdeck.backends.zones import commands
from hvdeck.backends.zones.backend import ZonesBackend

#: a second OmniOS host one release ahead: zones from omni-a need attach -u there
NEWER_OMNIOS = replace(OMNIOS, name="OmniOS r151048", uname_version="omnios-r151048-2d7ad1e4a8", level=(151048, 0),
                       entire="pkg://omnios/entire@11-151048.0:20231102T103210Z")


@dataclass
class Hosts:
    fleet: Fleet
    worlds: dict[str, ZonesWorld]
    audit: AuditLog

    async def poll(self, host: str):
        snapshot = await self.fleet.poll_host(host)
        assert snapshot.status is HostStatus.UP, snapshot.error
        return snapshot

    async def zone(self, host: str, name: str):
        """The zone's row in the next poll of ``host`` (None when it is not listed)."""
        return next((d for d in (await self.poll(host)).domains if d.name == name), None)

    async def run(self, plan, *, preflight: bool = True):
        if preflight:
            failed = [c for c in await self.fleet.preflight(plan) if not c.ok]
            assert not failed, [(c.check.description, c.reason) for c in failed]
        result = await self.fleet.run_plan(plan)
        assert result.ok, result.summary()
        return result


@pytest.fixture
async def hosts(ssh_world, tmp_path: Path) -> AsyncIterator[Hosts]:
    worlds = {"omni-a": ZonesWorld.demo("omni-a", "illumos"),
              "omni-b": ZonesWorld("omni-b", platform=NEWER_OMNIOS, seed=2),
              "sol-a": ZonesWorld.demo("sol-a", "solaris11")}
    servers, specs = [], []
    for name, world in worlds.items():
        server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                             authorized_keys=[ssh_world.client_key])
        ssh_world.trust(server)
        servers.append(server)
        specs.append(ssh_world.spec(server, name=name, kind="auto" if name == "sol-a" else "zones"))
    audit = AuditLog(tmp_path / "audit.log")
    fleet = Fleet(Inventory(tuple(specs), ssh_world.options()), audit=audit)
    yield Hosts(fleet, worlds, audit)
    await fleet.close()
    for server in servers:
        await server.close()


async def test_the_table_lists_every_zone_and_marks_the_global_zone(hosts: Hosts):
    snapshot = await hosts.poll("omni-a")
    assert snapshot.kind == "zones" and snapshot.info is not None
    assert (snapshot.info.hypervisor, snapshot.info.version, snapshot.info.notes) == ("zones", "SunOS 5.11 (illumos)",
                                                                                    ())
    rows = {d.name: d for d in snapshot.domains}
    assert list(rows)[:4] == ["global", "web1", "web2", "db1"], "zoneadm's order: the kernel's zones first"
    glob = rows["global"]
    assert (glob.state, glob.flags, glob.id, glob.console) == (DomainState.RUNNING, "global", 0, None)
    assert "host itself" in glob.flags_meaning
    assert [(rows[n].state, rows[n].native_state, rows[n].id) for n in ("web1", "staging", "build", "newapp",
                                                                          "broken")] == [
        (DomainState.RUNNING, "running", 3), (DomainState.TRANSITION, "ready", 9), (DomainState.STOPPED, "installed",
                                                                                     None),
        (DomainState.STOPPED, "configured", None), (DomainState.TRANSITION, "incomplete", None)]
    assert dict(rows["web1"].extra)["zonepath"] == "/zones/web1" and dict(rows["web1"].extra)["brand"] == "lipkg"
    assert rows["web1"].console == "zlogin" and rows["newapp"].console is None
    # no prstat -Z or zonestat sample exists: CPU % and memory are not reported, never guessed
    assert all(d.cpu_percent is None and d.memory_bytes is None and d.vcpus is None for d in snapshot.domains)


async def test_kind_auto_recognises_a_solaris_11_global_zone(hosts: Hosts):
    snapshot = await hosts.poll("sol-a")
    assert snapshot.kind == "zones"
    assert snapshot.info.version == "SunOS 5.11 (Oracle Solaris 11)"
    rows = {d.name: d for d in snapshot.domains}
    assert rows["app2"].flags == "R" and "fixed-configuration" in rows["app2"].flags_meaning
    assert rows["vault"].state is DomainState.UNKNOWN and rows["vault"].native_state == "unavailable"
    assert isinstance(hosts.fleet.backend("sol-a"), ZonesBackend)


async def test_bindings_come_from_zonecfg_export(hosts: Hosts):
    web1 = await hosts.zone("omni-a", "web1")
    bindings = await hosts.fleet.bindings(web1)
    sections = {s.title: s for s in bindings.extra}
    assert list(sections) == ["ZONE", "FS", "NETWORK", "CAPPED-MEMORY", "RCTL", "ATTR"]
    assert ("zonepath", "/zones/web1") in sections["ZONE"].rows
    assert bindings.memory.max_bytes == 2 << 30
    assert [(n.source, n.target) for n in bindings.nics] == [("igb0", "web1")]
    assert sections["RCTL"].rows == (("zone.cpu-shares", "privileged", "20", "none"),)


async def test_the_host_screen_lists_filesystems_and_links(hosts: Hosts):
    await hosts.poll("omni-a")
    detail = {s.title: s for s in await hosts.fleet.host_detail("omni-a")}
    filesystems = {row[0]: row for row in detail["ZFS FILESYSTEMS"].rows}
    assert filesystems["rpool/zones/web1"][3:] == ("/zones/web1", "web1")
    assert filesystems["rpool/zones"][4] == ""
    links = {row[0]: row for row in detail["DATALINKS"].rows}
    assert links["igb0"][1] == "phys" and links["stub0"][1] == "etherstub" and "NOT AVAILABLE" not in detail


async def test_the_wizards_choices_come_from_the_host(hosts: Hosts):
    await hosts.poll("omni-a")
    storage = {p.name: p for p in await hosts.fleet.storage("omni-a")}
    assert "rpool/zones" in storage and storage["rpool/zones"].path == "/zones"
    assert "rpool/zones/web1" not in storage and "rpool/ROOT/omnios-r151046" not in storage, \
        "neither a zonepath nor the root filesystem is offered for new zonepaths"
    networks = {n.name: n.detail for n in await hosts.fleet.networks("omni-a")}
    assert networks["igb1"] == "phys" and networks["legacy0"] == "vnic"
    await hosts.poll("sol-a")
    assert all("/" not in n.name for n in await hosts.fleet.networks("sol-a")), "a zone's anet is not the host's"
    with pytest.raises(Unsupported, match="share the global zone's CPUs and memory"):
        await hosts.fleet.resources("sol-a")
    choices = await hosts.fleet.create_choices("sol-a")
    assert [c.value for c in choices["brand"]] == ["solaris", "solaris10", "solaris-kz"]
    assert choices["link"][0].value == "auto"
    assert {c.value for c in choices["parent"]} >= {"/zones", "/system/zones"}


async def test_create_configure_install_boot_each_step_in_the_next_poll(hosts: Hosts):
    await hosts.poll("omni-a")
    form = hosts.fleet.create_form("omni-a").with_choices(await hosts.fleet.create_choices("omni-a"))
    values = form.parse({"name": "api1", "parent": "/zones", "brand": "lipkg", "ip_type": "exclusive",
                         "link": "igb0", "address": "10.0.1.40/24", "defrouter": "10.0.1.1", "memory_cap": "1G",
                         "cpu_cap": "1.5", "autoboot": "yes"})
    plan = await hosts.fleet.plan_create("omni-a", values)
    assert [s.operation.argv for s in plan.steps] == [("zonecfg", "-z", "api1", "-f", "-"),
                                                      ("zoneadm", "-z", "api1", "install"),
                                                      ("zoneadm", "-z", "api1", "boot")]
    script = plan.steps[0].input
    assert script.splitlines() == [
        "create -b", "set zonepath=/zones/api1", "set brand=lipkg", "set autoboot=true", "set ip-type=exclusive",
        "add net", "set allowed-address=10.0.1.40/24", "set physical=api0", "set defrouter=10.0.1.1",
        "set global-nic=igb0", "end", "add capped-memory", "set physical=1G", "end", "add capped-cpu",
        "set ncpus=1.5", "end"]
    assert plan.steps[1].timeout == commands.INSTALL_TIMEOUT
    steps_seen = []

    def on_event(event) -> None:
        steps_seen.append(type(event).__name__)

    assert all(c.ok for c in await hosts.fleet.preflight(plan))
    result = await hosts.fleet.run_plan(plan, on_event=on_event)
    assert result.ok, result.summary()
    zone = await hosts.zone("omni-a", "api1")
    assert (zone.state, zone.native_state, dict(zone.extra)["zonepath"]) == (DomainState.RUNNING, "running",
                                                                             "/zones/api1")
    # the script reached zonecfg's standard input: the zone's configuration says so
    sections = {s.title: s for s in (await hosts.fleet.bindings(zone)).extra}
    assert sections["NETWORK"].rows[0][:5] == ("net", "api0", "igb0", "10.0.1.40/24", "10.0.1.1")
    assert any(r[0] == "zone.cpu-cap" and r[2] == "150" for r in sections["RCTL"].rows)
    # the audit log holds the script given to zonecfg
    records = [r for r in hosts.audit.records() if r.get("target") == "api1" and r.get("result") == "ok"]
    assert records[0]["input"] == script and len(records) == 3


async def test_create_refuses_inputs_the_host_would_refuse_inline(hosts: Hosts):
    await hosts.poll("omni-a")
    form = hosts.fleet.create_form("omni-a").with_choices(await hosts.fleet.create_choices("omni-a"))
    with pytest.raises(FormErrors) as refused:
        await hosts.fleet.plan_create("omni-a", form.parse({"name": "web1", "parent": "/zones", "brand": "solaris"}))
    assert set(refused.value.errors) == {"name", "parent", "brand"}
    assert "already configured" in refused.value.errors["name"]
    assert "Oracle Solaris 11's" in refused.value.errors["brand"]
    with pytest.raises(FormErrors) as refused:
        form.parse({"name": "x1", "parent": "/zones", "source": "archive", "ip_type": "shared", "link": "igb0"})
    assert set(refused.value.errors) == {"source_path", "address"}
    with pytest.raises(FormErrors):
        form.parse({"name": "[bold]x", "parent": "/zones"})


async def test_clone_a_halted_zone_then_boot_the_clone(hosts: Hosts):
    build = await hosts.zone("omni-a", "build")
    assert build.native_state == "installed"
    form = hosts.fleet.clone_form(build).with_choices(await hosts.fleet.clone_choices(build))
    plan = await hosts.fleet.plan_clone(build, form.parse({"name": "build2", "parent": "rpool/zones"}))
    assert [s.operation.argv for s in plan.steps] == [("zonecfg", "-z", "build2", "-f", "-"),
                                                      ("zoneadm", "-z", "build2", "clone", "build")]
    assert plan.steps[0].input == "create -t build\nset zonepath=/zones/build2\n"
    await hosts.run(plan)
    clone = await hosts.zone("omni-a", "build2")
    assert (clone.native_state, dict(clone.extra)["brand"]) == ("installed", "ipkg")
    await hosts.run(hosts.fleet.plan_action(Action.START, clone, await hosts.poll("omni-a")))
    assert (await hosts.zone("omni-a", "build2")).state is DomainState.RUNNING
    assert (await hosts.zone("omni-a", "build")).native_state == "installed"
    # the clone is a ZFS clone of a SUNWzone snapshot, which a later clone can start from
    choices = await hosts.fleet.clone_choices(build)
    assert [c.shown for c in choices["snapshot"]] == ["SUNWzone1"]


async def test_clone_of_a_running_zone_stops_it_first_and_boots_it_again(hosts: Hosts):
    web1 = await hosts.zone("omni-a", "web1")
    form = hosts.fleet.clone_form(web1)
    values = form.with_choices(await hosts.fleet.clone_choices(web1)).parse({"name": "web3", "parent": "/zones",
                                                                             "stop_source": "halt", "boot": "no"})
    plan = await hosts.fleet.plan_clone(web1, values)
    assert [s.operation.argv[3] for s in plan.steps] == ["halt", "-f", "clone", "boot"]
    assert "halted first and booted again" in plan.warning
    await hosts.run(plan)
    assert (await hosts.zone("omni-a", "web1")).state is DomainState.RUNNING
    assert (await hosts.zone("omni-a", "web3")).native_state == "installed"


async def test_the_console_is_zlogin_on_a_pty_and_a_login_prompt_answers(hosts: Hosts):
    build = await hosts.zone("omni-a", "build")
    ref = hosts.fleet.console(build)
    assert (ref.kind, ref.description, ref.detach_hint) == ("zlogin", "zlogin -C build", "~. at the start of a line")
    channel = await hosts.fleet.open_console(build, cols=100, rows=30)
    try:
        assert await _read_until(channel, b"console]\r\n") == b"[Connected to zone 'build' console]\r\n"
        with pytest.raises(ConsoleBusy, match="in use"):
            await hosts.fleet.open_console(build)
        await hosts.run(hosts.fleet.plan_action(Action.START, build, await hosts.poll("omni-a")))
        seen = await _read_until(channel, b"build console login: ")
        assert b"[NOTICE: Zone booting up]" in seen
        channel.write(b"root\r")
        await _read_until(channel, b"Password: ")
        channel.write(b"secret\r")
        await _read_until(channel, b"root@build:~# ")
        channel.write(b"hostname\r")
        assert await _read_until(channel, b"root@build:~# ") == b"hostname\r\nbuild\r\nroot@build:~# "
        channel.write(b"\r~.")
        assert (await _read_until(channel, b"closed]\r\n")).endswith(b"[Connection to zone 'build' console closed]\r\n")
    finally:
        await channel.close()
    with pytest.raises(Unsupported, match="configured"):
        hosts.fleet.console(await hosts.zone("omni-a", "newapp"))
    with pytest.raises(Unsupported, match="global zone"):
        hosts.fleet.console(await hosts.zone("omni-a", "global"))


async def _read_until(channel, marker: bytes, timeout: float = 10.0) -> bytes:
    seen = b""
    async with asyncio.timeout(timeout):
        while marker not in seen:
            data = await channel.read()
            if not data:
                break
            seen += data
    return seen


async def test_move_to_another_host_with_attach_u(hosts: Hosts):
    web1 = await hosts.zone("omni-a", "web1")
    await hosts.poll("omni-b")
    await hosts.poll("sol-a")
    assert hosts.fleet.migration_targets(web1) == ("omni-b", "sol-a")
    form = hosts.fleet.migrate_form(web1)
    values = form.parse({})
    assert (values["update"], values["storage"], values["source_after"]) == ("u", "zfs", "delete")
    plan = await hosts.fleet.plan_migrate(web1, "omni-b", values)
    argv = [(s.on(plan.host), s.operation.display()) for s in plan.steps]
    snapshot = plan.steps[2].operation.argv[2]
    assert snapshot.startswith("rpool/zones/web1@hvdeck-move-")
    assert argv == [
        ("omni-a", "zoneadm -z web1 shutdown"), ("omni-a", "zoneadm -z web1 detach"),
        ("omni-a", f"zfs snapshot {snapshot}"),
        ("omni-b", f"zfs send {snapshot}  (on omni-a)  ⇒  zfs recv rpool/zones/web1  (on omni-b)"),
        ("omni-b", "zonecfg -z web1 -f -"), ("omni-b", "zoneadm -z web1 attach -u"), ("omni-b", "zoneadm -z web1 boot"),
        ("omni-a", "zonecfg -z web1 delete -F")]
    assert plan.steps[4].input == "create -a /zones/web1\n"
    assert {c.check.description: c.ok for c in await hosts.fleet.preflight(plan)} == {
        "omni-b answers": True, "omni-b is a global zone too (illumos)": True, "omni-b has the lipkg brand": True,
        "web1 and /zones/web1 are free on omni-b": True, "rpool/zones on omni-b has room for rpool/zones/web1": True}
    await hosts.run(plan)
    moved = await hosts.zone("omni-b", "web1")
    assert (moved.state, dict(moved.extra)["zonepath"]) == (DomainState.RUNNING, "/zones/web1")
    assert await hosts.zone("omni-a", "web1") is None
    # update on attach brought it to omni-b's level
    assert hosts.worlds["omni-b"].image(hosts.worlds["omni-b"].zones["web1"])["entire"] == NEWER_OMNIOS.entire


async def test_a_failed_move_is_undone_to_the_zone_halted_on_its_source(hosts: Hosts):
    build = await hosts.zone("omni-a", "build")
    await hosts.poll("omni-b")
    values = hosts.fleet.migrate_form(build).parse({"update": "none"})  # omni-b is newer: attach without -u fails
    plan = await hosts.fleet.plan_migrate(build, "omni-b", values)
    result = await hosts.fleet.run_plan(plan)
    assert not result.ok and result.failed.step.operation.argv == ("zoneadm", "-z", "build", "attach")
    assert "out of sync" in result.failed.error
    undo = undo_plan(result)
    assert [(s.on(undo.host), s.operation.argv[:3]) for s in undo.steps] == [
        ("omni-b", ("zonecfg", "-z", "build")), ("omni-b", ("zfs", "destroy", "-r")),
        ("omni-a", ("zfs", "destroy", plan.steps[1].operation.argv[2])),
        ("omni-a", ("zoneadm", "-z", "build"))]
    assert (await hosts.zone("omni-a", "build")).native_state == "configured", "detached, mid-move"
    await hosts.run(undo, preflight=False)
    assert (await hosts.zone("omni-a", "build")).native_state == "installed"
    assert await hosts.zone("omni-b", "build") is None
    assert "rpool/zones/build" not in hosts.worlds["omni-b"].storage.datasets


async def test_a_move_is_refused_before_anything_runs_when_the_target_cannot_take_it(hosts: Hosts):
    web1 = await hosts.zone("omni-a", "web1")
    await hosts.poll("sol-a")
    with pytest.raises(ValidationError, match="lipkg brand is illumos's"):
        await hosts.fleet.plan_migrate(web1, "sol-a", {})
    mover_here = await hosts.zone("omni-a", "legacy10")
    await hosts.run(await hosts.fleet.plan_extra(commands.CLONE, mover_here, {"name": "app1", "zonepath": "/zones/app1"},
                                                 await hosts.poll("omni-a")))
    app1 = await hosts.zone("omni-a", "app1")
    with pytest.raises(ValidationError, match="already configured on sol-a"):
        await hosts.fleet.plan_migrate(app1, "sol-a", {"update": "none"})
    with pytest.raises(ValidationError, match="no ZFS filesystem mounted at /srv"):
        await hosts.fleet.plan_migrate(mover_here, "sol-a", {"zonepath": "/srv/legacy10", "update": "none"})


async def test_a_solaris10_zone_moves_between_the_illumos_and_the_solaris_11_host(hosts: Hosts):
    legacy = await hosts.zone("omni-a", "legacy10")
    await hosts.poll("sol-a")
    values = hosts.fleet.migrate_form(legacy).parse({})
    assert values["update"] == "none", "the solaris10 brand's attach takes no -u"
    plan = await hosts.fleet.plan_migrate(legacy, "sol-a", values)
    await hosts.run(plan)
    assert (await hosts.zone("sol-a", "legacy10")).state is DomainState.RUNNING
    assert await hosts.zone("omni-a", "legacy10") is None


async def test_p2v_from_a_flash_archive(hosts: Hosts):
    await hosts.poll("omni-a")
    form = hosts.fleet.create_form("omni-a").with_choices(await hosts.fleet.create_choices("omni-a"))
    values = form.parse({"name": "oldweb", "parent": "/zones", "brand": "solaris10", "link": "legacy0",
                         "source": "archive", "source_path": "/export/archives/web-server.flar",
                         "identity": "preserve", "boot": "yes"})
    plan = await hosts.fleet.plan_create("omni-a", values)
    assert plan.steps[1].operation.argv == ("zoneadm", "-z", "oldweb", "install", "-a",
                                           "/export/archives/web-server.flar", "-p")
    assert "keeps the physical system's identity" in plan.warning
    await hosts.run(plan)
    zone = await hosts.zone("omni-a", "oldweb")
    assert (zone.native_state, dict(zone.extra)["brand"]) == ("running", "solaris10")


async def test_p2v_from_a_snapshot_piped_from_the_old_systems_host(hosts: Hosts):
    # the old system's image, laid out as a zonepath, in a filesystem of sol-a
    old = hosts.worlds["sol-a"]
    old.storage.create("rpool/export/p2v", mountpoint="/export/p2v")
    old.storage.create("rpool/export/p2v/mail")
    old.storage.put("/export/p2v/mail/root", Node("image", {"os": "solaris10", "level": [10, 1, 13], "hostname": "mail",
                                                            "entire": "SUNWcsr (Solaris 10 1/13)"}, 2 << 30))
    old.storage.snapshot("rpool/export/p2v/mail@p2v")
    await hosts.poll("sol-a")
    await hosts.poll("omni-a")
    form = hosts.fleet.create_form("omni-a").with_choices(await hosts.fleet.create_choices("omni-a"))
    values = form.parse({"name": "mail", "parent": "/zones", "brand": "solaris10", "source": "zfs",
                         "source_host": "sol-a", "source_snapshot": "rpool/export/p2v/mail@p2v", "boot": "no"})
    plan = await hosts.fleet.plan_create("omni-a", values)
    transfer = plan.steps[1].operation.transfer
    assert (transfer.source_host, transfer.source_argv, transfer.dest_host, transfer.dest_argv) == (
        "sol-a", ("zfs", "send", "rpool/export/p2v/mail@p2v"), "omni-a", ("zfs", "recv", "rpool/zones/mail"))
    assert plan.steps[2].operation.argv == ("zoneadm", "-z", "mail", "install", "-d", "-", "-u")
    assert any(c.check.host == "sol-a" and c.ok for c in await hosts.fleet.preflight(plan))
    await hosts.run(plan)
    assert (await hosts.zone("omni-a", "mail")).native_state == "installed"
    assert hosts.worlds["omni-a"].image(hosts.worlds["omni-a"].zones["mail"])["os"] == "solaris10"


async def test_a_p2v_source_host_not_in_the_inventory_fails_preflight(hosts: Hosts):
    await hosts.poll("omni-a")
    form = hosts.fleet.create_form("omni-a").with_choices(await hosts.fleet.create_choices("omni-a"))
    values = form.parse({"name": "mail", "parent": "/zones", "brand": "solaris10", "source": "zfs",
                         "source_host": "nowhere", "source_snapshot": "rpool/x@y"})
    plan = await hosts.fleet.plan_create("omni-a", values)
    failed = [c for c in await hosts.fleet.preflight(plan) if not c.ok]
    assert failed and all(c.check.host == "nowhere" and "nowhere" in c.reason for c in failed)


async def test_zone_actions_from_the_action_menu(hosts: Hosts):
    snapshot = await hosts.poll("omni-a")
    extras = {e.id: e for e in hosts.fleet.extra_actions("omni-a")}
    build = next(d for d in snapshot.domains if d.name == "build")
    assert hosts.fleet.why_not(extras["delete"], build, snapshot) == \
        "build is installed: uninstall it before deleting its configuration"
    plan = await hosts.fleet.plan_extra(extras["move"], build, {"zonepath": "/zones/build-moved"}, snapshot)
    await hosts.run(plan)
    assert dict((await hosts.zone("omni-a", "build")).extra)["zonepath"] == "/zones/build-moved"
    snapshot = await hosts.poll("omni-a")
    build = next(d for d in snapshot.domains if d.name == "build")
    with pytest.raises(ValidationError, match="overlaps web1"):
        await hosts.fleet.plan_extra(extras["move"], build, {"zonepath": "/zones/web1/inner"}, snapshot)
    plan = await hosts.fleet.plan_extra(extras["uninstall"], build, {}, snapshot)
    assert plan.confirm_phrase == "build"
    await hosts.run(plan)
    assert (await hosts.zone("omni-a", "build")).native_state == "configured"
    snapshot = await hosts.poll("omni-a")
    build = next(d for d in snapshot.domains if d.name == "build")
    plan = await hosts.fleet.plan_extra(extras["delete"], build, {}, snapshot)
    assert plan.confirm_phrase == "build"
    await hosts.run(plan)
    assert await hosts.zone("omni-a", "build") is None
    staging = await hosts.zone("omni-a", "staging")
    plan = hosts.fleet.plan_action(Action.FORCE_OFF, staging, await hosts.poll("omni-a"))
    assert plan.confirm_phrase == "staging"
    await hosts.run(plan)
    assert (await hosts.zone("omni-a", "staging")).native_state == "installed"
    snapshot = await hosts.poll("omni-a")
    staging = next(d for d in snapshot.domains if d.name == "staging")
    await hosts.run(await hosts.fleet.plan_extra(extras["ready"], staging, {}, snapshot))
    assert (await hosts.zone("omni-a", "staging")).native_state == "ready"
