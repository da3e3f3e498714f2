"""The state table against libvirt itself (the test driver), and the case libvirt-pmsuspended-resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import libvirt
import pytest

from hvdeck.backends.audit import AuditLog
from hvdeck.backends.base import Action
from hvdeck.backends.errors import Unsupported
from hvdeck.backends.inventory import HostSpec
from hvdeck.backends.libvirt import states
from hvdeck.backends.libvirt.backend import LibvirtBackend
from hvdeck.backends.libvirt.events import ensure_event_loop
from hvdeck.backends.model import DomainState
from hvdeck.backends.plan import Executor
from hvdeck.backends.transport.local import LocalSession

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"
PMSUSPENDED = CASES / "libvirt-pmsuspended-resume"

CALLS = {
    Action.START: lambda d: d.create(),
    Action.SHUTDOWN: lambda d: d.shutdown(),
    Action.REBOOT: lambda d: d.reboot(0),
    Action.PAUSE: lambda d: d.suspend(),
    Action.UNPAUSE: lambda d: d.resume(),
    Action.WAKEUP: lambda d: d.pMWakeup(0),
    Action.FORCE_OFF: lambda d: d.destroy(),
}


@pytest.fixture
def every_state(tmp_path: Path) -> Path:
    """A test-driver node with one domain in each virDomainState (test:runstate, shared formats libvirt §4)."""
    node = tmp_path / "states.xml"
    domains = "".join(
        f"<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>s{code}</name>"
        f"<memory>1024</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices/>"
        f"<test:runstate>{code}</test:runstate></domain>" for code in range(8))
    node.write_text(f"<node>{domains}</node>")
    return node


async def _backend(uri: str) -> LibvirtBackend:
    spec = HostSpec(name="t", address="t", transport="local", kind="libvirt", libvirt_uri=uri)
    backend = LibvirtBackend(spec, LocalSession("t"))
    await backend.open()
    return backend


def _try(uri: str, name: str, action: Action) -> tuple[bool, int, str]:
    """Run ``action`` through libvirt on a fresh connection (the test driver's state is per connection)."""
    conn = libvirt.open(uri)
    try:
        CALLS[action](conn.lookupByName(name))
        return True, 0, ""
    except libvirt.libvirtError as exc:
        return False, exc.get_error_code(), exc.get_error_message()
    finally:
        conn.close()


async def test_what_the_table_allows_libvirt_accepts(every_state: Path):
    ensure_event_loop()  # also quiets libvirt's stderr error printer
    uri = f"test://{every_state}"
    backend = await _backend(uri)
    try:
        domains = {d.name: d for d in await backend.poll()}
    finally:
        await backend.close()
    assert {n: d.native_state for n, d in domains.items()} == {f"s{c}": states.STATES[c].word for c in range(8)}
    checked = 0
    for code in range(8):
        domain = domains[f"s{code}"]
        for action in Action:
            if backend.why_not(action, domain) is not None:
                continue
            ok, err, message = _try(uri, domain.name, action)
            if action is Action.WAKEUP:  # the test driver has no virDomainPMWakeup: the call reached it
                assert (ok, err) == (False, libvirt.VIR_ERR_NO_SUPPORT) and "virDomainPMWakeup" in message
            else:
                assert ok, f"{domain.native_state} × {action.value}: libvirt said {message}"
            checked += 1
    assert checked == 16  # the + cells of tests/unit/test_libvirt_states.py


async def test_the_refusals_libvirt_documents_are_refused_by_both(every_state: Path):
    """Where the test driver refuses, the table refuses too (the table also follows QEMU's stricter rules:
    no shutdown of a paused guest, which the test driver happens to allow)."""
    ensure_event_loop()
    uri = f"test://{every_state}"
    backend = await _backend(uri)
    try:
        domains = {d.name: d for d in await backend.poll()}
    finally:
        await backend.close()
    refused_by_libvirt = 0
    for code in range(8):
        domain = domains[f"s{code}"]
        for action in Action:
            if action is Action.WAKEUP:
                continue
            ok, _err, message = _try(uri, domain.name, action)
            if not ok:
                refused_by_libvirt += 1
                assert backend.why_not(action, domain) is not None, f"{domain.native_state} × {action.value}: {message}"
    assert refused_by_libvirt >= 14
    # the two faults operators reported, as libvirt words them
    assert "is already running" in _try(uri, "s6", Action.START)[2]
    assert "not paused" in _try(uri, "s7", Action.UNPAUSE)[2]


async def test_case_pmsuspended_offers_wake_up_not_unpause(tmp_path: Path):
    ensure_event_loop()
    backend = await _backend(f"test://{PMSUSPENDED / 'node.xml'}")
    try:
        (sleepy,) = await backend.poll()
        assert (sleepy.name, sleepy.state, sleepy.native_state) == ("win-sleepy", DomainState.PAUSED, "pmsuspended")
        offered = [a for a in Action if backend.why_not(a, sleepy) is None]
        assert offered == [Action.WAKEUP, Action.FORCE_OFF]
        assert "wake it up" in backend.why_not(Action.UNPAUSE, sleepy)
        with pytest.raises(Unsupported, match="libvirt refuses to resume it"):
            backend.plan_action(Action.UNPAUSE, sleepy)
        plan = backend.plan_action(Action.WAKEUP, sleepy)
        (step,) = plan.steps
        assert plan.title == "Wake up win-sleepy on t"
        assert step.operation.call == "virDomainPMWakeup" and step.undo is None, "no Pause as its undo"
        assert step.operation.equivalent == (
            "virsh", "-c", f"test://{PMSUSPENDED / 'node.xml'}", "dompmwakeup", "--domain=win-sleepy")
        # the call reaches libvirt; the test driver has no PMWakeup and says so (a real QEMU host wakes it)
        executor = Executor(lambda _host: _Target(backend), AuditLog(tmp_path / "audit.log"))
        result = await executor.run(plan)
        assert not result.ok and "virDomainPMWakeup" in result.failed.error
    finally:
        await backend.close()


class _Target:
    read_only = False

    def __init__(self, backend: LibvirtBackend) -> None:
        self.execute = backend.execute


def test_case_pmsuspended_ls_json(tmp_path: Path):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text((PMSUSPENDED / "inventory.yaml").read_text().replace("CASEDIR", str(PMSUSPENDED)))
    done = subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", "ls", "--json", "--inventory", str(inventory)],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    (host,) = json.loads(done.stdout)["hosts"]
    (domain,) = host["domains"]
    assert (domain["name"], domain["state"], domain["native_state"], domain["cpu_percent"]) == (
        "win-sleepy", "paused", "pmsuspended", None)
