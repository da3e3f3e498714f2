"""`hvdeck create` and `hvdeck clone` against a simulated LDoms control domain over SSH: the plan and its
pre-flight checks printed, nothing run without --yes, the same refusals as the console (each naming its
flag), the runs audited, and --help built from the backends' forms."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.sim.ldoms import LdomsWorld, serve
from hvdeck.tui.cli import main


@pytest.fixture
async def t7(tmp_path: Path, ssh_world):
    world = LdomsWorld.demo("t7-a", 1)
    server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)

    def inventory(**extra: object) -> str:
        path = tmp_path / "hosts.yaml"
        more = "".join(f", {k}: {str(v).lower()}" for k, v in extra.items())
        path.write_text(f"ssh: {{config: {ssh_world.config}, known_hosts: {ssh_world.known_hosts}}}\n"
                        f"hosts:\n  - {{name: t7-a, address: 127.0.0.1, port: {server.port}, user: root, kind: ldoms, "
                        f"identity_file: {ssh_world.key_path}{more}}}\n")
        return str(path)

    yield world, server, inventory
    await server.close()


async def hvdeck(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


CHANGES = ("zfs create", "zfs snapshot", "zfs clone", "ldm add-", "ldm bind", "ldm start", "ldm stop", "ldm remove-")


def changed(server) -> list[str]:
    return [c for c in server.commands if c.startswith(CHANGES)]


async def test_create_prints_the_plan_and_its_checks_and_changes_nothing_without_yes(t7, tmp_path, capsys):
    world, server, inventory = t7
    log = tmp_path / "audit.log"
    assert await hvdeck("create", "-i", inventory(), "--audit-log", str(log), "t7-a", "web3", "--vcpus", "2",
                        "--memory", "4G", "--disk", "20G") == 0
    out = capsys.readouterr().out
    assert out.startswith("Create web3 on t7-a\n")
    assert "zfs create -V 20G ldompool/web3-boot" in out and "ldm start web3" in out
    assert "  check: t7-a has no domain named web3  (ldm list -p)" in out
    assert "pre-flight checks:\n  ok   t7-a has no domain named web3\n" in out
    assert out.endswith("(nothing was run: add --yes to run it)\n")
    assert changed(server) == [] and "web3" not in world.domains and not log.exists()


async def test_create_with_yes_runs_it_and_says_how_to_save_the_configuration(t7, tmp_path, capsys):
    world, server, inventory = t7
    log = tmp_path / "audit.log"
    assert await hvdeck("create", "-i", inventory(), "--audit-log", str(log), "t7-a", "web3", "--vcpus", "2",
                        "--memory", "4G", "--disk", "20G", "--network", "primary-vsw0", "--no-auto-boot",
                        "--yes") == 0
    out = capsys.readouterr().out
    assert "  11. ok\n" in out and "Create web3 on t7-a: done\n" in out
    assert "hvdeck plan t7-a web3 add-spconfig config=NAME --yes" in out
    assert world.domains["web3"].state.value == "active" and world.domains["web3"].variables["auto-boot?"] == "false"
    assert changed(server)[0] == "zfs create -V 20G ldompool/web3-boot"
    audit = AuditLog(log)
    assert audit.verify() == [] and len(audit.records()) == 2 * 11
    assert await hvdeck("plan", "-i", inventory(), "--audit-log", str(log), "t7-a", "web3", "add-spconfig",
                        "config=with-web3", "--yes") == 0
    assert world.spconfigs[-1] == "with-web3"


@pytest.mark.parametrize("args, says", [
    (("ldg-web1", "--disk", "20G"), "NAME: t7-a already has a domain named ldg-web1"),
    (("web3", "--disk", "20G", "--memory", "1000M"), "--memory: ldm binds memory in 256M units"),
    (("web3", "--disk", "20G", "--vcpus", "40"), "--vcpus: t7-a has 8 strands free"),
    (("web3",), "--disk: give the size of a new disk, or choose an existing volume"),
    (("web3", "--disk", "20G", "--network", "br0"), "--network: Network: 'br0' is not one of primary-vsw0"),
    (("web3", "--disk", "lots"), "--disk: New disk: 'lots' is not a size"),
    (("-web", "--disk", "1G"), "NAME: name '-web': use a letter first"),
])
async def test_create_refuses_what_the_host_would_naming_the_flag(t7, tmp_path, capsys, args, says):
    world, server, inventory = t7
    name, *flags = args
    code = await hvdeck("create", "-i", inventory(), "--audit-log", str(tmp_path / "a.log"), *flags, "--", "t7-a", name)
    assert code == 2
    assert says in capsys.readouterr().err
    assert changed(server) == []


async def test_a_read_only_host_is_refused_before_any_plan(t7, tmp_path, capsys):
    world, server, inventory = t7
    assert await hvdeck("create", "-i", inventory(read_only=True), "--audit-log", str(tmp_path / "a.log"), "t7-a",
                        "web3", "--disk", "1G", "--yes") == 1
    assert "t7-a: t7-a is read-only in the inventory; nothing was planned" in capsys.readouterr().err


async def test_clone_into_a_new_domain_and_a_root_disk_swap(t7, tmp_path, capsys):
    world, server, inventory = t7
    log = str(tmp_path / "audit.log")
    assert await hvdeck("clone", "-i", inventory(), "--audit-log", log, "t7-a", "ldg-web1", "web4", "--yes") == 0
    out = capsys.readouterr().out
    assert "ldm stop ldg-web1" in out and "Clone ldg-web1 as web4 on t7-a: done" in out
    assert world.domains["web4"].state.value == "active" and world.domains["ldg-web1"].state.value == "active"
    # the snapshot taken for web4 is offered again; into ldg-build, nothing started, the guest left running
    assert await hvdeck("clone", "-i", inventory(), "--audit-log", log, "t7-a", "ldg-web1", "build-root",
                        "--snapshot", "web4", "--into", "ldg-build", "--no-start", "--yes") == 0
    out = capsys.readouterr().out
    assert "zfs snapshot" not in out and "ldm add-vdisk id=0 vdisk0 build-root@primary-vds0 ldg-build" in out
    assert sorted((d.id, d.volume) for d in world.domains["ldg-build"].vdisks) == [(0, "build-root"),
                                                                                   (1, "ldg-build-boot")]


async def test_clone_refusals(t7, tmp_path, capsys):
    world, server, inventory = t7
    log = str(tmp_path / "audit.log")
    assert await hvdeck("clone", "-i", inventory(), "--audit-log", log, "t7-a", "nope", "x") == 3
    assert "no domain named 'nope'" in capsys.readouterr().err
    assert await hvdeck("clone", "-i", inventory(), "--audit-log", log, "t7-a", "primary", "x") == 2
    assert "hvdeck cannot clone primary on ldoms hosts" in capsys.readouterr().err
    assert await hvdeck("clone", "-i", inventory(), "--audit-log", log, "t7-a", "ldg-web1", "x", "--into",
                        "ldg-db1") == 2
    assert "--into: ldg-db1 is active: its root disk is in use; stop it first" in capsys.readouterr().err
    assert changed(server) == []


def test_a_flag_the_hosts_kind_does_not_take_is_named():
    from argparse import Namespace

    from hvdeck.backends.options import Form, SizeOption, TextOption
    from hvdeck.tui import cli_wizards
    from hvdeck.tui.verbs import VerbError

    form = Form("Create", (TextOption("name", "Name"), SizeOption("memory", "Memory")))
    args = Namespace(name="web3", opt_memory="4G", opt_pool="tank", opt_vcpus=None)
    with pytest.raises(VerbError) as caught:
        cli_wizards._texts("create", form, args, "xen")
    assert (str(caught.value), caught.value.status) == ("--pool: not an input of xen hosts (xen takes --memory)", 2)
    assert cli_wizards._texts("create", form, Namespace(name="web3", opt_memory="4G", opt_pool=None), "xen") == {
        "name": "web3", "memory": "4G"}


def test_help_lists_each_kinds_inputs(capsys):
    with pytest.raises(SystemExit) as done:
        main(["create", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--vcpus N" in out and "--memory SIZE" in out and "--disk SIZE" in out and "--pool POOL" in out
    assert "--network NETWORK" in out and "--start, --no-start" in out
    assert "inputs by kind of host:\n  ldoms:     NAME --vcpus --memory --network --disk --pool" in out
    # every kind that has a create wizard, Sun xVM's own form too
    assert "\n  xen:       NAME --memory --vcpus --storage --disk-size" in out and "\n  xen/xVM:   NAME" in out
    assert "\n  zones:     NAME --parent --brand" in out and "--disk-size SIZE" in out
    with pytest.raises(SystemExit):
        main(["clone", "--help"])
    out = capsys.readouterr().out
    assert "--snapshot SNAPSHOT" in out and "--into INTO" in out and "HOST SOURCE NEW" in out
