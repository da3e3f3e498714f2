"""The "same as: virsh ..." line of every libvirt plan, copied into a shell and run by the real virsh on
the test driver, acts on the domain the plan names, even when the name looks like an option."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from hvdeck.backends.base import Action
from hvdeck.backends.inventory import HostSpec
from hvdeck.backends.libvirt.backend import LibvirtBackend
from hvdeck.backends.transport.local import LocalSession

pytestmark = pytest.mark.skipif(shutil.which("virsh") is None, reason="virsh is not installed")

# the state each action needs (test:runstate, a virDomainState number) and what virsh prints when done
# (shared formats libvirt §2.9)
NEEDS = {
    Action.START: (5, "Domain '{}' started"),
    Action.SHUTDOWN: (1, "Domain '{}' is being shutdown"),
    Action.REBOOT: (1, "Domain '{}' is being rebooted"),
    Action.PAUSE: (1, "Domain '{}' suspended"),
    Action.UNPAUSE: (3, "Domain '{}' resumed"),
    Action.FORCE_OFF: (1, "Domain '{}' destroyed"),
}
HOSTILE = ["--domain=db01", "-c", "--help", "--domain db01"]


def _node(path: Path, domains: dict[str, int]) -> Path:
    body = "".join(
        f"<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>{escape(name)}</name>"
        f"<memory>1024</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices/>"
        f"<test:runstate>{state}</test:runstate></domain>" for name, state in domains.items())
    path.write_text(f"<node>{body}</node>")
    return path


async def _plan_line(uri: str, name: str, action: Action) -> str:
    """The plan's equivalent exactly as the plan screen shows it (shlex.join), for copying."""
    spec = HostSpec(name="t", address="t", transport="local", kind="libvirt", libvirt_uri=uri)
    backend = LibvirtBackend(spec, LocalSession("t"))
    await backend.open()
    try:
        domain = next(d for d in await backend.poll() if d.name == name)
        (step,) = backend.plan_action(action, domain).steps
    finally:
        await backend.close()
    return shlex.join(step.operation.equivalent)


def _shell(line: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("action", list(NEEDS))
async def test_the_copied_line_acts_on_the_named_domain(tmp_path: Path, name: str, action: Action):
    state, done = NEEDS[action]
    # the hostile name beside the domains it could be mistaken for, in the same state
    node = _node(tmp_path / "node.xml", {name: state, "db01": state, "-c" if name != "-c" else "c": state})
    line = await _plan_line(f"test://{node}", name, action)
    assert f"--domain={name}" in shlex.split(line)
    ran = _shell(line)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == done.format(name), f"{line!r} acted on another domain: {ran.stdout}"


async def test_wake_up_looks_up_the_named_domain(tmp_path: Path):
    # the test driver has no virDomainPMWakeup; getting that far means the lookup found this very name
    # (there is no "db01" here: reading "--domain=db01" as an option would fail the lookup instead)
    node = _node(tmp_path / "node.xml", {"--domain=db01": 7})
    line = await _plan_line(f"test://{node}", "--domain=db01", Action.WAKEUP)
    assert shlex.split(line)[-2:] == ["dompmwakeup", "--domain=--domain=db01"]
    ran = _shell(line)
    assert "not supported by the connection driver: virDomainPMWakeup" in ran.stderr, ran.stderr


def test_the_positional_form_would_have_hit_the_wrong_domain(tmp_path: Path):
    """Why the option form: the old line destroys db01 when the plan was for "--domain=db01"."""
    node = _node(tmp_path / "node.xml", {"--domain=db01": 1, "db01": 1})
    ran = _shell(shlex.join(["virsh", "-c", f"test://{node}", "destroy", "--domain=db01"]))
    assert ran.stdout.strip() == "Domain 'db01' destroyed"


async def test_names_with_quotes_and_shell_syntax_survive_the_copy(tmp_path: Path):
    name = "it's [bold]x $(touch pwned) `id`;"
    node = _node(tmp_path / "node.xml", {name: 1})
    line = await _plan_line(f"test://{node}", name, Action.FORCE_OFF)
    ran = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert ran.stdout.strip() == f"Domain '{name}' destroyed"
    assert not (tmp_path / "pwned").exists()
