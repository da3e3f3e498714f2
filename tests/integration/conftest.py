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
