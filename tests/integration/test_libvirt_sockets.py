"""Finding a host's libvirt socket over SSH: libvirt-sock or a modular daemon's (virtqemud-sock...), for
``kind: libvirt`` and ``kind: auto``, and the case libvirt-modular-daemons-no-libvirt-sock.

The host is the in-process SSH server (tests/conftest.py) playing a login whose runtime directory holds
the sockets; behind the forwarded socket is a real unprivileged libvirtd (libvirtd_session.py)."""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

import libvirt
import pytest

from hvdeck.backends.errors import HvdeckError
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory, load
from hvdeck.backends.libvirt import sockets
from hvdeck.backends.model import HostStatus
from hvdeck.backends.registry import make_backend
from hvdeck.backends.sim.sshserver import Reply
from hvdeck.backends.transport.ssh import SshSession

from .libvirtd_session import missing, session_libvirtd

CASE = Path(__file__).resolve().parent.parent / "fixtures" / "cases" / "libvirt-modular-daemons-no-libvirt-sock"
DROP_A = Path(__file__).resolve().parent.parent / "fixtures" / "cases" / "libvirt-domain-vanishes-mid-poll" / "drop-a.xml"


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def remote_host(runtime: Path | None, *, fake_sockets: tuple[str, ...] = ()):
    """A login's shell: the runtime-directory probe (None: the command fails, as on the case's server),
    ``test -S`` answered from the files under ``runtime`` (this machine's own /run/libvirt is the test
    bed's, not the simulated host's) and ``fake_sockets`` said to exist; nothing else."""

    async def handle(command: str, read_stdin) -> Reply:
        argv = shlex.split(command)
        if argv == list(sockets.RUNTIME_PROBE):
            if runtime is None:
                return Reply("", "sh: 1: id: not found\n", 127)
            return Reply(f"65534\n{runtime}\n")
        if argv[:2] == ["test", "-S"] and len(argv) == 3:
            inside = runtime is not None and argv[2].startswith(f"{runtime}/")
            return Reply(exit_status=0 if argv[2] in fake_sockets or (inside and _is_socket(argv[2])) else 1)
        return Reply("", f"sh: 1: {argv[0] if argv else ''}: not found\n", 127)

    return handle


@pytest.fixture(scope="module")
def daemon():
    reason = missing()
    if reason:
        pytest.skip(reason)
    with session_libvirtd() as running:
        conn = libvirt.open(running.uri)
        try:
            conn.defineXML(DROP_A.read_text())
        finally:
            conn.close()
        yield running


def _runtime(tmp_path: Path, daemon, name: str | None) -> Path:
    """A remote runtime directory whose libvirt/NAME is the real daemon's socket (None: no socket)."""
    runtime = tmp_path / "remote-run"
    (runtime / "libvirt").mkdir(parents=True)
    if name is not None:
        (runtime / "libvirt" / name).symlink_to(daemon.socket)
    return runtime


def _inventory(ssh_world, server, **host) -> Inventory:
    return Inventory((ssh_world.spec(server, name="fedora-kvm", **host),), ssh=ssh_world.options())


async def test_auto_recognises_a_host_with_only_virtqemud_sock(tmp_path, ssh_world, ssh_server, daemon):
    runtime = _runtime(tmp_path, daemon, "virtqemud-sock")
    sock = f"{runtime}/libvirt/virtqemud-sock"
    server = await ssh_server(remote_host(runtime), forward_paths=(sock,))
    ssh_world.trust(server)
    fleet = Fleet(_inventory(ssh_world, server, kind="auto", libvirt_uri="qemu:///session"))
    try:
        snapshot = await fleet.poll_host("fedora-kvm")
        backend = fleet.backend("fedora-kvm")
        assert (snapshot.status, snapshot.kind, snapshot.error) == (HostStatus.UP, "libvirt", None)
        assert [d.name for d in snapshot.domains] == ["drop-a"]
        assert backend.socket == sock
    finally:
        await fleet.close()
    tried = [c for c in server.commands if c.startswith("test -S")]
    assert tried[:2] == [f"test -S {sock}"] * 2  # detection, then open; libvirt-sock never needed
    assert "ldm -V" in server.commands[0], "kind: auto asks LDoms first"


async def test_libvirt_sock_after_the_modular_one(tmp_path, ssh_world, ssh_server, daemon):
    runtime = _runtime(tmp_path, daemon, "libvirt-sock")
    server = await ssh_server(remote_host(runtime), forward_paths=(f"{runtime}/libvirt/libvirt-sock",))
    ssh_world.trust(server)
    fleet = Fleet(_inventory(ssh_world, server, kind="libvirt", libvirt_uri="qemu:///session"))
    try:
        snapshot = await fleet.poll_host("fedora-kvm")
        assert snapshot.status is HostStatus.UP and [d.name for d in snapshot.domains] == ["drop-a"]
    finally:
        await fleet.close()
    # libvirt's own order (remote_sockets.c): the driver's daemon first, then libvirt-sock
    assert [c for c in server.commands if c.startswith("test -S")] == [
        f"test -S {runtime}/libvirt/virtqemud-sock", f"test -S {runtime}/libvirt/libvirt-sock"]


async def test_libvirt_socket_in_the_inventory_is_used_alone(tmp_path, ssh_world, ssh_server, daemon):
    runtime = _runtime(tmp_path, daemon, "elsewhere-sock")
    sock = f"{runtime}/libvirt/elsewhere-sock"
    server = await ssh_server(remote_host(runtime), forward_paths=(sock,))
    ssh_world.trust(server)
    fleet = Fleet(_inventory(ssh_world, server, kind="libvirt", libvirt_uri="qemu:///session", libvirt_socket=sock))
    try:
        assert (await fleet.poll_host("fedora-kvm")).status is HostStatus.UP
    finally:
        await fleet.close()
    assert [c for c in server.commands if c.startswith(("test", "sh"))] == [f"test -S {sock}"]


async def test_no_socket_names_every_path_tried(tmp_path, ssh_world, ssh_server, daemon):
    runtime = _runtime(tmp_path, daemon, None)
    server = await ssh_server(remote_host(runtime))
    ssh_world.trust(server)
    fleet = Fleet(_inventory(ssh_world, server, kind="libvirt", libvirt_uri="qemu:///session"))
    try:
        snapshot = await fleet.poll_host("fedora-kvm")
    finally:
        await fleet.close()
    assert snapshot.status is HostStatus.DOWN
    assert (f"tried {runtime}/libvirt/virtqemud-sock, {runtime}/libvirt/libvirt-sock" in snapshot.error), snapshot.error

    fleet = Fleet(_inventory(ssh_world, server, kind="auto", libvirt_uri="xen:///system"))
    try:
        snapshot = await fleet.poll_host("fedora-kvm")
    finally:
        await fleet.close()
    assert snapshot.status is HostStatus.ERROR
    assert ("could not tell what kind of host this is (tried: ldoms; xen; libvirt (no socket at "
            "/run/libvirt/virtxend-sock, /run/libvirt/libvirt-sock); zones)") in snapshot.error


def _case_inventory(tmp_path: Path, ssh_world, server, name: str) -> Inventory:
    scratch = tmp_path / "scratch"
    (scratch / ".ssh").mkdir(parents=True, exist_ok=True)
    key = scratch / ".ssh" / "id_ed25519"
    key.write_bytes(ssh_world.key_path.read_bytes())
    key.chmod(0o600)
    (scratch / "empty_ssh_config").write_text("")
    (scratch / "known_hosts").write_text(server.known_hosts_line())
    text = (CASE / name).read_text().replace("SCRATCH", str(scratch)).replace("SSHPORT", str(server.port))
    path = tmp_path / name
    path.write_text(text)
    return load(path)


@pytest.mark.parametrize("name", ["inventory-auto.yaml", "inventory-libvirt.yaml",
                                  "inventory-libvirt-with-socket.yaml"])
async def test_case_modular_daemons_no_libvirt_sock(tmp_path, ssh_world, ssh_server, name):
    """The case's host, as its serve_modular.py plays it: a root login, /run/libvirt/virtqemud-sock and
    -ro exist, libvirt-sock does not, no ldm. (Detection only: that path cannot be served here without
    changing this machine's /run/libvirt, which the shared test bed's clients read.)"""
    fake = ("/run/libvirt/virtqemud-sock", "/run/libvirt/virtqemud-sock-ro")
    server = await ssh_server(remote_host(None, fake_sockets=fake))
    inventory = _case_inventory(tmp_path, ssh_world, server, name)
    (spec,) = inventory.hosts
    session = SshSession(spec, inventory.ssh)
    try:
        backend = await make_backend(spec, session)
        assert backend.kind == "libvirt"
        assert await sockets.find_socket(session, spec) == "/run/libvirt/virtqemud-sock"
    finally:
        await session.close()
    assert "test -S /run/libvirt/libvirt-sock" not in server.commands


async def test_a_root_login_with_no_socket_at_all(tmp_path, ssh_world, ssh_server):
    server = await ssh_server(remote_host(None))
    inventory = _case_inventory(tmp_path, ssh_world, server, "inventory-libvirt.yaml")
    (spec,) = inventory.hosts
    session = SshSession(spec, inventory.ssh)
    try:
        with pytest.raises(HvdeckError, match="tried /run/libvirt/virtqemud-sock, /run/libvirt/libvirt-sock"):
            await sockets.find_socket(session, spec)
    finally:
        await session.close()
