"""Polls that survive busy hosts: a guest that vanishes between the bulk stats call and a per-domain call
is left out of that poll (case libvirt-domain-vanishes-mid-poll), and bulk stats are asked for with
VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT, without it where the driver refuses the flag."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import libvirt
import pytest

from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import HostSpec, load
from hvdeck.backends.libvirt.backend import LibvirtBackend
from hvdeck.backends.model import HostStatus
from hvdeck.backends.transport.local import LocalSession

from .libvirtd_session import missing, session_libvirtd
from .test_libvirt_sockets import remote_host

CASE = Path(__file__).resolve().parent.parent / "fixtures" / "cases" / "libvirt-domain-vanishes-mid-poll"
FLASH = ("<domain type='test'><name>flash-{n}</name><memory>1024</memory><vcpu>1</vcpu>"
         "<os><type>hvm</type></os><devices><disk type='file'><source file='/x'/><target dev='vda'/></disk>"
         "<interface type='network'><source network='default'/></interface></devices></domain>")
LOGGER = "hvdeck.backends.libvirt.backend"


def _spec(uri: str) -> HostSpec:
    return HostSpec(name="t", address="t", transport="local", kind="libvirt", libvirt_uri=uri)


class _Churn:
    """A thread that creates and destroys transient guests until stopped, as a busy compute node does."""

    def __init__(self, make, drop) -> None:
        self._make, self._drop = make, drop
        self._stop = threading.Event()
        self.cycles = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._drop(self._make(self.cycles % 3))
            self.cycles += 1

    def __enter__(self) -> "_Churn":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(30)


def _vanished(caplog: pytest.LogCaptureFixture) -> int:
    return sum("vanished during the poll" in r.getMessage() for r in caplog.records if r.name == LOGGER)


async def test_a_guest_destroyed_mid_poll_is_skipped_on_the_test_driver(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    backend = LibvirtBackend(_spec("test:///default"), LocalSession("t"))
    await backend.open()
    conn = backend._conn  # the test driver keeps its guests per connection: churn on the same one
    polls = 0
    try:
        with _Churn(lambda n: conn.createXML(FLASH.format(n=n), 0), lambda dom: dom.destroy()) as churn:
            while _vanished(caplog) < 3 and polls < 20000:
                names = {d.name for d in await backend.poll()}
                assert "test" in names, "the steady guest is in every poll"
                polls += 1
    finally:
        await backend.close()
    assert churn.cycles > 0
    assert _vanished(caplog) >= 3, f"the race never happened in {polls} polls"


async def test_bulk_stats_ask_with_nowait():
    backend = LibvirtBackend(_spec("test:///default"), LocalSession("t"))
    await backend.open()
    try:
        assert len(await backend.poll()) == 1
        assert backend.stats_flags == libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
    finally:
        await backend.close()


class _FlagTheDriverRefuses(LibvirtBackend):
    # 1 << 28 is no virConnectGetAllDomainStatsFlags: the test driver refuses it as an older daemon
    # refuses NOWAIT ("unsupported flags (0x…) in function …", VIR_ERR_INVALID_ARG)
    STATS_FLAGS = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT | (1 << 28)


async def test_a_driver_that_refuses_the_flags_is_asked_without(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    conn = libvirt.open("test:///default")
    with pytest.raises(libvirt.libvirtError) as refused:
        conn.getAllDomainStats(0, _FlagTheDriverRefuses.STATS_FLAGS)
    conn.close()
    assert refused.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    backend = _FlagTheDriverRefuses(_spec("test:///default"), LocalSession("t"))
    await backend.open()
    try:
        assert [d.name for d in await backend.poll()] == ["test"]
        assert backend.stats_flags == 0
        assert [d.name for d in await backend.poll()] == ["test"]
    finally:
        await backend.close()
    assert sum("refuse flags" in r.getMessage() for r in caplog.records) == 1, "asked once, remembered"


@pytest.fixture
def daemon():
    reason = missing()
    if reason:
        pytest.skip(reason)
    with session_libvirtd() as running:
        conn = libvirt.open(running.uri)
        try:
            conn.defineXML((CASE / "drop-a.xml").read_text())
        finally:
            conn.close()
        yield running


async def test_case_vanishes_mid_poll_against_a_real_libvirtd(tmp_path: Path, ssh_world, ssh_server, daemon,
                                                              caplog: pytest.LogCaptureFixture):
    """The case's own inventory, over SSH to a real libvirtd: guests defined and undefined by another
    client between hvdeck's bulk call and its per-domain calls never take the host to *error*."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    server = await ssh_server(remote_host(daemon.root / "run"), forward_paths=(str(daemon.socket),))
    scratch = tmp_path / "scratch"
    (scratch / ".ssh").mkdir(parents=True)
    (scratch / ".ssh" / "id_ed25519").write_bytes(ssh_world.key_path.read_bytes())
    (scratch / ".ssh" / "id_ed25519").chmod(0o600)
    (scratch / "empty_ssh_config").write_text("")
    (scratch / "known_hosts").write_text(server.known_hosts_line())
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text((CASE / "inventory.yaml").read_text().replace("SCRATCH", str(scratch))
                         .replace("SSHPORT", str(server.port)).replace("SESSIONRUN", str(daemon.root / "run")))
    fleet = Fleet(load(inventory))
    other = libvirt.open(daemon.uri)  # another client of the same daemon
    flash = (CASE / "flash.xml").read_text()
    polls = 0
    try:
        with _Churn(lambda n: other.defineXML(flash.replace("flash-1", f"flash-{n + 1}")),
                    lambda dom: dom.undefine()) as churn:
            while _vanished(caplog) < 1 and polls < 400:
                snapshot = await fleet.poll_host("kvm-user")
                assert snapshot.status is HostStatus.UP, snapshot.error
                assert "drop-a" in {d.name for d in snapshot.domains}
                polls += 1
        assert churn.cycles > 0
        assert _vanished(caplog) >= 1, f"the race never happened in {polls} polls"
        backend = fleet.backend("kvm-user")
        assert backend.stats_flags == libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
    finally:
        other.close()
        await fleet.close()
