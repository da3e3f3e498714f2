"""The operator-reported case ldoms-primary-delayed-reconfig-guest-dr, and sizes checked before a plan
exists, against `ldm` output replayed by tests/fixtures/ldm/replay/bin/ldm on `transport: local`.

In the case, primary has a delayed reconfiguration pending (`-ndcv-`) and the recorded ldm refuses
`set-vcpu 8 ldom1` and `stop ldom1`. hvdeck must offer no change to ldom1, say why in ldm's terms, and
still offer primary's own changes (they wait for its reboot)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hvdeck.backends import policy
from hvdeck.backends.base import Action
from hvdeck.backends.errors import HvdeckError, ValidationError
from hvdeck.backends.inventory import HostSpec
from hvdeck.backends.ldoms import commands
from hvdeck.backends.ldoms.backend import LdomsBackend
from hvdeck.backends.model import HostSnapshot, HostStatus
from hvdeck.backends.plan import Operation
from hvdeck.backends.sim.ldoms import LdomsWorld
from hvdeck.backends.transport.local import LocalSession

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REPLAY_BIN = FIXTURES / "ldm" / "replay" / "bin"
CASE = FIXTURES / "cases" / "ldoms-primary-delayed-reconfig-guest-dr"
REFUSAL = "Delayed reconfiguration of LDom ldom1 is not permitted"


@pytest.fixture
def case(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{REPLAY_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HVDECK_LDM_REPLAY", str(CASE / "replay"))
    return CASE


async def opened(name: str = "m10-lab") -> tuple[LdomsBackend, HostSnapshot]:
    backend = LdomsBackend(HostSpec(name=name, address=name, transport="local", kind="ldoms"), LocalSession(name))
    info = await backend.open()
    domains = await backend.poll()
    return backend, HostSnapshot(name, "ldoms", HostStatus.UP, time.monotonic(), domains, info=info,
                                 last_ok=time.monotonic())


def test_hvdeck_ls_json_on_the_case(case: Path, tmp_path: Path):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text((case / "inventory.yaml").read_text().replace("CASEDIR", str(case)))
    done = subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", "ls", "--json", "--inventory", str(inventory)],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    (host,) = json.loads(done.stdout)["hosts"]
    assert (host["name"], host["status"], host["error"]) == ("m10-lab", "up", None)
    assert [(d["name"], d["state"], d["native_state"], d["vcpus"]) for d in host["domains"]] == [
        ("ldom1", "running", "active", 16), ("primary", "running", "active", 8)]  # the table's order: by name


async def test_no_change_to_a_guest_is_offered_while_primary_reconfigures(case: Path):
    backend, host = await opened()
    domains = {d.name: d for d in host.domains}
    ldom1, primary = domains["ldom1"], domains["primary"]
    expected = ("primary has a delayed reconfiguration pending: ldm refuses every change to other domains until "
                "primary reboots")
    for action in (Action.SHUTDOWN, Action.REBOOT, Action.FORCE_OFF):
        assert policy.why_not(backend, action, ldom1, host) == expected, action
    for extra in commands.EXTRA_ACTIONS:
        reason = policy.why_not(backend, extra, ldom1, host)
        assert reason is not None, extra.id
        if extra.id == "add-spconfig":  # host-wide: saved once primary has rebooted, so that it holds the change
            assert reason == ("primary has a delayed reconfiguration pending: save the configuration after primary "
                              "reboots, so that it holds the change")
        elif extra.id not in ("bind", "unbind", "remove-domain"):  # an active domain: its state says why first
            assert reason == expected, extra.id
        assert "applied live" not in reason
    assert policy.why_not(backend, Action.START, ldom1, host) == "ldom1 is already active"
    # primary's own changes wait for its reboot, which is offered
    offered = {extra.id for extra in commands.EXTRA_ACTIONS if policy.why_not(backend, extra, primary, host) is None}
    assert offered == {"set-vcpu", "add-vcpu", "remove-vcpu", "set-memory", "set-var"}
    assert policy.why_not(backend, Action.REBOOT, primary, host) is None
    assert policy.why_not(backend, Action.SHUTDOWN, primary, host).startswith("primary is the control domain")
    # with no host context the guest's own state decides (the table without the host's control domain)
    assert backend.why_not_extra(commands.SET_VCPU, ldom1) is None


async def test_what_is_refused_is_what_the_recorded_ldm_refuses(case: Path):
    backend, host = await opened()
    ldom1 = next(d for d in host.domains if d.name == "ldom1")
    for argv, action in ((("ldm", "set-vcpu", "8", "ldom1"), commands.SET_VCPU),
                         (("ldm", "stop", "ldom1"), Action.SHUTDOWN)):
        reason = policy.why_not(backend, action, ldom1, host)
        assert reason is not None and "delayed reconfiguration" in reason
        result = await backend.execute(Operation.command(*argv))
        assert (result.exit_status, result.stderr.strip()) == (1, REFUSAL)
        assert "Notice: LDom primary is in the process of a delayed reconfiguration." in result.stdout


async def test_no_plan_exists_for_the_guest_and_primary_is_told_when_its_change_applies(case: Path):
    backend, host = await opened()
    domains = {d.name: d for d in host.domains}
    with pytest.raises(HvdeckError) as caught:
        await backend.plan_extra(commands.SET_VCPU, domains["ldom1"], {"count": "8"}, host)
    assert caught.value.message.startswith("primary has a delayed reconfiguration pending")
    plan = await backend.plan_extra(commands.SET_VCPU, domains["primary"], {"count": "4"}, host)
    assert plan.steps[0].operation.argv == ("ldm", "set-vcpu", "4", "primary")
    assert plan.warning.startswith("primary has a delayed reconfiguration pending: this change takes effect when "
                                   "primary reboots.")
    # the case has no list-devices: the plan says the free resources were not checked
    assert plan.warning.endswith("The host's free resources could not be read (ldm list-devices -a -p exited 1); "
                                 "ldm checks them when it runs.")


def test_the_simulator_refuses_as_the_recorded_ldm_does():
    world = LdomsWorld("m10-lab")
    for argv in (["add-domain", "ldom1"], ["add-vcpu", "16", "ldom1"], ["add-memory", "8G", "ldom1"],
                 ["bind", "ldom1"], ["start", "ldom1"], ["add-vcpu", "1", "primary"]):
        assert world.run(["ldm", *argv]).exit_status == 0, argv
    for name in ("set-vcpu_8_ldom1", "stop_ldom1"):
        reply = world.run(["ldm", *name.split("_")])
        recorded = CASE / "replay"
        assert reply.stdout == (recorded / f"{name}.out").read_text(), name
        assert reply.stderr == (recorded / f"{name}.err").read_text(), name
        assert reply.exit_status == int((recorded / f"{name}.rc").read_text()), name


# --- sizes against the host's free resources (ldm list-devices -a -p) ---------------------------------------

LIST = """VERSION 1.11
DOMAIN|name=primary|state=active|flags=-n-cv-|cons=UART|ncpu=4|mem=4294967296|util=0.4|uptime=4772570|norm_util=0.4
DOMAIN|name=ldg4|state=bound|flags=------|cons=5000|ncpu=4|mem=2147483648|util=|uptime=
DOMAIN|name=ldg0|state=inactive|flags=------|cons=|ncpu=2|mem=1073741824|util=|uptime=
"""
# §7's -a -p shape: 16 strands, primary's 4 and ldg4's 4 bound (free=0), 8 free (free=100)
DEVICES = "VERSION 1.6\nVCPU\n" + "".join(f"|pid={pid}|free={0 if pid < 8 else 100}|pm=no\n" for pid in range(16)) + (
    "MEMORY\n|pa=0xa00000|size=33554432|bound=_sys_\n|pa=0x20000000|size=4294967296|bound=primary\n"
    "|pa=0x120000000|size=2147483648|bound=ldg4\n|pa=0x1a0000000|size=3221225472\n")


@pytest.fixture
def sized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A replay host whose `ldm` logs every invocation to ``calls`` before answering."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "list_-p.out").write_text(LIST)
    (data / "list-devices_-a_-p.out").write_text(DEVICES)
    (data / "add-vcpu_2_ldg4.out").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    wrapper = bin_dir / "ldm"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{REPLAY_BIN / "ldm"}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HVDECK_LDM_REPLAY", str(data))
    return log


async def test_sizes_are_checked_before_a_plan_exists_with_one_list_devices(sized: Path):
    backend, host = await opened("cdom")
    ldg4 = next(d for d in host.domains if d.name == "ldg4")
    ldg0 = next(d for d in host.domains if d.name == "ldg0")

    async def refused(action, domain, values) -> str:
        with pytest.raises(ValidationError) as caught:
            await backend.plan_extra(action, domain, values, host)
        return caught.value.message

    assert await refused(commands.REMOVE_VCPU, ldg4, {"count": "10"}) == \
        "ldg4 has 4 vCPUs: remove at most 3 (a domain keeps at least one)"
    assert await refused(commands.ADD_VCPU, ldg4, {"count": "1000"}) == \
        "cdom has 8 strands free: add at most 8 (ldg4 has 4 vCPUs)"
    assert await refused(commands.SET_VCPU, ldg4, {"count": "13"}) == \
        "cdom has 8 strands free: set at most 12 (ldg4 has 4 vCPUs)"
    assert await refused(commands.SET_MEMORY, ldg4, {"size": "8G"}) == \
        "cdom has 3G of memory free: set at most 5G (ldg4 has 2G of memory)"
    assert await refused(commands.SET_VCPU, ldg0, {"count": "17"}) == "cdom has 16 strands in all: ldg0 cannot have 17 vCPUs"
    assert await refused(commands.ADD_VCPU, ldg4, {"count": "x"}) == "vCPU count 'x' is not a whole number"
    plan = await backend.plan_extra(commands.ADD_VCPU, ldg4, {"count": "2"}, host)
    assert plan.steps[0].operation.argv == ("ldm", "add-vcpu", "2", "ldg4") and plan.warning == ""
    calls = sized.read_text().splitlines()
    assert calls.count("list-devices -a -p") == 1, "read once, then reused for a few seconds"
    assert calls[:2] == ["-V", "list -p"]
    # a change made through this backend makes the next plan read the resources again
    assert (await backend.execute(plan.steps[0].operation)).exit_status == 0
    await backend.plan_extra(commands.ADD_VCPU, ldg4, {"count": "1"}, host)
    assert sized.read_text().splitlines().count("list-devices -a -p") == 2


async def test_unreadable_free_resources_leave_the_check_to_ldm_and_say_so(sized: Path):
    data = Path(os.environ["HVDECK_LDM_REPLAY"])
    (data / "list-devices_-a_-p.out").write_text("VCPU\n|pid=[/]|free=\x1b]52;c;eA==\x07\n")
    backend, host = await opened("cdom")
    ldg4 = next(d for d in host.domains if d.name == "ldg4")
    plan = await backend.plan_extra(commands.ADD_VCPU, ldg4, {"count": "1000"}, host)
    assert plan.steps[0].operation.argv == ("ldm", "add-vcpu", "1000", "ldg4")
    assert plan.warning == ("The host's free resources could not be read (ldm list-devices -a -p printed what "
                            "hvdeck could not read); ldm checks them when it runs.")
    with pytest.raises(ValidationError, match="remove at most 3"):
        await backend.plan_extra(commands.REMOVE_VCPU, ldg4, {"count": "4"}, host)
