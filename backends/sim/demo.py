"""The built-in demo fleet: two libvirt test-driver hosts, two simulated LDoms control domains, two
simulated global zones and three simulated Xen dom0s (xl, xm and Sun xVM).

The libvirt hosts are libvirt's own test driver loaded with the XML beside this file. The LDoms hosts are
`LdomsWorld`s and the zones hosts `ZonesWorld`s (omni-a: an OmniOS global zone, the illumos layout;
sol-a: Oracle Solaris 11.4), all served by in-process SSH servers on loopback, on one event loop of their
own in a daemon thread, so the console reaches them through real SSH exactly as it reaches a real control
domain or global zone. The LDoms hosts know each other by name (``ldm migrate-domain ... t7-b:NEWNAME``
from t7-a, and back), and each guest's console answers ``telnet localhost PORT`` on its host. A zone moves
between the two global zones through hvdeck's own connections (detach, ``zfs send`` on one piped into
``zfs recv`` on the other, attach): the solaris10-branded zones each has can go either way. The Xen dom0s (`XenWorld.demo`) stream
xentop, and the xm and xVM dom0s, both run by xend, know each other and share the volume group
``vg_guests`` (a SAN both see), so that the xm dom0's guests can migrate live to the xVM dom0
(`xm migrate -l`); the xl dom0 has no peer (xl migrates only to xl). The demo
creates every key itself — the client key, the servers' host keys, and a known_hosts that trusts those
host keys — in a private directory; nothing of the user's ~/.ssh is read or written.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import asyncssh

from ..inventory import HostSpec, Inventory, SshOptions

LIBVIRT_HOSTS = ("kvm-a", "kvm-b")
LDOMS_HOSTS = ("t7-a", "t7-b")
#: the simulated global zones: (name, layout)
ZONES_HOSTS = (("omni-a", "illumos"), ("sol-a", "solaris11"))
#: seconds a long zoneadm operation (install, clone, attach, boot...) takes on the demo's global zones, so
#: that its transitional state (incomplete, ready, shutting_down) shows in the table
ZONES_OP_SECONDS = 1.5
#: (name, toolstack) of the simulated Xen dom0s
XEN_HOSTS = (("xen-a", "xl"), ("xm-a", "xm"), ("xvm-a", "xvm"))
#: the Xen dom0s that know each other, and the volume group they share
XEN_PEERS = ("xm-a", "xvm-a", ("vg_guests",))


def demo_xml(host: str) -> str:
    """Path of a demo host's test-driver node XML (package data, so it works from a wheel too)."""
    return str(files("hvdeck.backends.sim").joinpath(f"data/demo-{host}.xml"))


def libvirt_hosts() -> tuple[HostSpec, ...]:
    return tuple(HostSpec(name=host, address=host, transport="local", kind="libvirt",
                          libvirt_uri=f"test://{demo_xml(host)}", tags=("demo",)) for host in LIBVIRT_HOSTS)


def demo_inventory() -> Inventory:
    """The libvirt part of the demo alone (no servers to start): what tests and snapshots use."""
    return Inventory(libvirt_hosts(), path="<demo>")


class DemoFleet:
    """``with DemoFleet() as inventory:`` — the whole demo, up while the block runs."""

    def __init__(self, ldoms: tuple[str, ...] = LDOMS_HOSTS, *, libvirt: bool = True,
                 zones: tuple[tuple[str, str], ...] = ZONES_HOSTS, xen: tuple[tuple[str, str], ...] = XEN_HOSTS,
                 clock: Callable[[], float] = time.monotonic,
                 zones_clock: Callable[[], float] = time.time, zones_op_seconds: float = ZONES_OP_SECONDS) -> None:
        self.ldoms = ldoms
        self.libvirt = libvirt
        self.zones = zones
        self.xen = xen
        self.clock = clock
        self.zones_clock = zones_clock
        self.zones_op_seconds = zones_op_seconds
        self._dir: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list = []
        self.worlds: dict[str, object] = {}

    def start(self) -> Inventory:
        from .ldoms import LdomsWorld, link, serve

        self._dir = Path(tempfile.mkdtemp(prefix="hvdeck-demo-"))
        client = asyncssh.generate_private_key("ssh-ed25519")
        key_path = self._dir / "id_ed25519"
        client.write_private_key(str(key_path))
        key_path.chmod(0o600)
        config = self._dir / "ssh_config"
        config.write_text("")
        known_hosts = self._dir / "known_hosts"

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hvdeck-demo-hosts", daemon=True)
        self._thread.start()
        hosts = list(libvirt_hosts()) if self.libvirt else []
        lines = []
        worlds = [LdomsWorld.demo(name, seed, clock=self.clock) for seed, name in enumerate(self.ldoms, start=1)]
        link(*worlds)
        for name, world in zip(self.ldoms, worlds):
            server = asyncio.run_coroutine_threadsafe(
                serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"), authorized_keys=[client]),
                self._loop).result(timeout=30)
            self.worlds[name] = world
            self._servers.append(server)
            lines.append(server.known_hosts_line())
            hosts.append(HostSpec(name=name, address="127.0.0.1", port=server.port, user="root", kind="ldoms",
                                  identity_file=str(key_path), tags=("demo", "sim")))
        from .zones import ZonesWorld
        from .zones import serve as serve_zones

        for seed, (name, layout) in enumerate(self.zones, start=1):
            zones_world = ZonesWorld.demo(name, layout, seed, clock=self.zones_clock, op_seconds=self.zones_op_seconds)
            server = asyncio.run_coroutine_threadsafe(
                serve_zones(zones_world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                            authorized_keys=[client]), self._loop).result(timeout=30)
            self.worlds[name] = zones_world
            self._servers.append(server)
            lines.append(server.known_hosts_line())
            hosts.append(HostSpec(name=name, address="127.0.0.1", port=server.port, user="root", kind="zones",
                                  identity_file=str(key_path), tags=("demo", "sim")))
        lines += self._start_xen(client, key_path, hosts)
        known_hosts.write_text("".join(lines))
        return Inventory(tuple(hosts), SshOptions(config=(str(config),), known_hosts=str(known_hosts)),
                         path="<demo>")

    def _start_xen(self, client: asyncssh.SSHKey, key_path: Path, hosts: list[HostSpec]) -> list[str]:
        """Serve the Xen dom0s on the demo's loop; their known_hosts lines."""
        from .xen import XenWorld
        from .xen import serve as serve_xen

        assert self._loop is not None
        worlds = {name: XenWorld.demo(name, toolstack, seed, clock=self.clock)
                  for seed, (name, toolstack) in enumerate(self.xen, start=1)}
        first, second, shared = XEN_PEERS
        if first in worlds and second in worlds:
            worlds[first].peer(worlds[second], share_vgs=shared)
        lines = []
        for name, world in worlds.items():
            server = asyncio.run_coroutine_threadsafe(
                serve_xen(world, host_key=asyncssh.generate_private_key("ssh-ed25519"), authorized_keys=[client]),
                self._loop).result(timeout=30)
            self.worlds[name] = world
            self._servers.append(server)
            lines.append(server.known_hosts_line())
            hosts.append(HostSpec(name=name, address="127.0.0.1", port=server.port, user="root", kind="xen",
                                  identity_file=str(key_path), tags=("demo", "sim")))
        return lines

    def stop(self) -> None:
        if self._loop is not None:
            for server in self._servers:
                asyncio.run_coroutine_threadsafe(server.close(), self._loop).result(timeout=10)
            asyncio.run_coroutine_threadsafe(_cancel_the_rest(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._loop.close()
            self._loop = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Inventory:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _cancel_the_rest() -> None:
    """End what the hosts still run (a stream whose client hung up as the servers closed) before the loop stops."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
