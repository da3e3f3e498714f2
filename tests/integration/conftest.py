"""The real test bed (scripts/testbed/up.sh): libvirtd with a TCG guest, and OpenSSH on 127.0.0.1:2222.

Tests that need it use the ``testbed`` fixture. Without the bed they skip, unless
HVDECK_REQUIRE_TESTBED=1 (as scripts/test.sh and CI set it), where they fail: these tests must run in CI.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Testbed:
    __test__ = False  # a fixture value, not a test class

    root: Path
    host: str
    port: int
    user: str
    key: Path
    known_hosts: Path
    uri: str
    guest: str
    guest_off: str

    def inventory(self, path: Path, *, known_hosts: Path | None = None, **host: object) -> Path:
        config = path.parent / "ssh_config"
        config.write_text("")
        lines = ["ssh:", f"  config: {config}", f"  known_hosts: {known_hosts or self.known_hosts}", "hosts:",
                 "  - name: bed", f"    address: {self.host}", f"    port: {self.port}", f"    user: {self.user}",
                 f"    identity_file: {self.key}"]
        lines += [f"    {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in host.items()]
        path.write_text("\n".join(lines) + "\n")
        return path

    def virsh(self, *args: str) -> str:
        return subprocess.run(["virsh", "-c", self.uri, *args], check=True, capture_output=True,
                              text=True, timeout=60).stdout


def _missing() -> str | None:
    root = Path(os.environ.get("HVDECK_TESTBED", "/var/lib/hvdeck-testbed"))
    key = Path(os.environ.get("HVDECK_TESTBED_KEY", root / "ssh/id_ed25519"))
    if not key.exists():
        return f"no test bed key at {key} (run scripts/testbed/up.sh)"
    if not Path("/run/libvirt/libvirt-sock").exists():
        return "libvirtd is not running (run scripts/testbed/up.sh)"
    probe = subprocess.run(["virsh", "-c", "qemu:///system", "domstate",
                            os.environ.get("HVDECK_TESTBED_GUEST", "hvtest1")],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0 or "running" not in probe.stdout:
        return f"the test guest is not running: {probe.stdout.strip()} {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="session")
def testbed() -> Testbed:
    reason = _missing()
    if reason is not None:
        if os.environ.get("HVDECK_REQUIRE_TESTBED") == "1":
            pytest.fail(f"HVDECK_REQUIRE_TESTBED=1 but {reason}")
        pytest.skip(reason)
    root = Path(os.environ.get("HVDECK_TESTBED", "/var/lib/hvdeck-testbed"))
    return Testbed(
        root=root,
        host=os.environ.get("HVDECK_TESTBED_SSH_HOST", "127.0.0.1"),
        port=int(os.environ.get("HVDECK_TESTBED_SSH_PORT", "2222")),
        user=os.environ.get("HVDECK_TESTBED_SSH_USER", "root"),
        key=Path(os.environ.get("HVDECK_TESTBED_KEY", root / "ssh/id_ed25519")),
        known_hosts=Path(os.environ.get("HVDECK_TESTBED_KNOWN_HOSTS", root / "ssh/known_hosts")),
        uri=os.environ.get("HVDECK_TESTBED_URI", "qemu:///system"),
        guest=os.environ.get("HVDECK_TESTBED_GUEST", "hvtest1"),
        guest_off=os.environ.get("HVDECK_TESTBED_GUEST_OFF", "hvtest2"),
    )


# -- the two libvirt hosts for live migration (scripts/testbed/migration.sh) ---------------------------------


@dataclass(frozen=True)
class MigrationBed:
    """hv1 and hv2: two libvirtd in network namespaces, each behind its own sshd; the guest starts on hv1."""

    __test__ = False

    root: Path
    hosts: dict[str, str]  # name -> address
    guest: str
    key: Path
    known_hosts: Path

    def uri(self, host: str) -> str:
        """libvirt over TCP (no auth, the bed's own network only): the tests' view of a host, not hvdeck's."""
        return f"qemu+tcp://{self.hosts[host]}/system"

    def inventory(self, path: Path, **host: object) -> Path:
        config = path.parent / "ssh_config"
        config.write_text("")
        lines = ["ssh:", f"  config: {config}", f"  known_hosts: {self.known_hosts}", "hosts:"]
        for name, address in self.hosts.items():
            lines += [f"  - name: {name}", f"    address: {address}", "    user: root", "    kind: libvirt",
                      f"    identity_file: {self.key}", "    poll_interval: 0.5"]
            lines += [f"    {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in host.items()]
        path.write_text("\n".join(lines) + "\n")
        return path

    def virsh(self, host: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["virsh", "-q", "-c", self.uri(host), *args], check=check, capture_output=True,
                              text=True, timeout=120)

    def state(self, host: str) -> str | None:
        """The guest's state on ``host`` as `virsh domstate` prints it, None when the host does not have it."""
        done = self.virsh(host, "domstate", self.guest, check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    def settle(self, host: str = "hv1") -> None:
        """Put the guest back: running on ``host`` only (migrated back with virsh, or started afresh)."""
        other = next(h for h in self.hosts if h != host)
        if self.state(other) == "running":
            if self.state(host) is None:
                self.virsh(other, "migrate", "--live", "--persistent", "--undefinesource", "--copy-storage-all",
                           self.guest, self.uri(host))
            else:
                self.virsh(other, "destroy", self.guest)
        if self.state(other) is not None:
            self.virsh(other, "destroy", self.guest, check=False)
            self.virsh(other, "undefine", self.guest, check=False)
        if self.state(host) is None:
            self.virsh(host, "define", str(self.root / "xml" / f"{self.guest}.xml"))
        if self.state(host) != "running":
            self.virsh(host, "start", self.guest)


def _migration_missing(hosts: dict[str, str]) -> str | None:
    import socket

    for name, address in hosts.items():
        try:
            socket.create_connection((address, 16509), timeout=2).close()
        except OSError as exc:
            return f"migration host {name} ({address}) does not answer: {exc} (run scripts/testbed/up.sh)"
    return None


@pytest.fixture(scope="session")
def migration_bed() -> MigrationBed:
    spec = os.environ.get("HVDECK_TESTBED_MIGRATION_HOSTS", "hv1=10.78.0.11,hv2=10.78.0.12")
    hosts = dict(item.split("=", 1) for item in spec.split(","))
    reason = _missing() or _migration_missing(hosts)
    if reason is not None:
        if os.environ.get("HVDECK_REQUIRE_TESTBED") == "1":
            pytest.fail(f"HVDECK_REQUIRE_TESTBED=1 but {reason}")
        pytest.skip(reason)
    root = Path(os.environ.get("HVDECK_TESTBED", "/var/lib/hvdeck-testbed"))
    return MigrationBed(root=root, hosts=hosts, guest=os.environ.get("HVDECK_TESTBED_MIGRATION_GUEST", "hvmig1"),
                        key=Path(os.environ.get("HVDECK_TESTBED_KEY", root / "ssh/id_ed25519")),
                        known_hosts=Path(os.environ.get("HVDECK_TESTBED_KNOWN_HOSTS", root / "ssh/known_hosts")))
