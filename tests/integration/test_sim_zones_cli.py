"""`hvdeck sim zones`: a simulated global zone anyone can reach with plain ssh or hvdeck."""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from pathlib import Path

import pytest

from hvdeck.backends.inventory import HostSpec
from hvdeck.backends.sim.sshserver import load_or_create_host_key
from hvdeck.backends.transport.ssh import SshSession


async def _start(tmp_path: Path, ssh_world, *extra: str) -> tuple[asyncio.subprocess.Process, int, str, str]:
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(ssh_world.client_key.export_public_key("openssh").decode())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hvdeck.tui.cli", "sim", "zones", "--listen", "127.0.0.1:0",
        "--host-key", str(tmp_path / "host_key"), "--authorized-keys", str(authorized), *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    second = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    match = re.search(r"global zone (\S+) on 127\.0\.0\.1:(\d+)", first)
    assert match, first
    return proc, int(match[2]), second.split()[-1], match[1]


@pytest.mark.parametrize(("layout", "hostname", "fields"), [("illumos", "omni-a", 8), ("solaris11", "sol-a", 10)])
async def test_sim_zones_serves_the_layouts_demo_host(tmp_path: Path, ssh_world, layout, hostname, fields):
    proc, port, fingerprint, name = await _start(tmp_path, ssh_world, "--layout", layout)
    try:
        assert name == hostname
        key = load_or_create_host_key(tmp_path / "host_key")
        assert fingerprint == key.get_fingerprint("sha256")
        ssh_world.known_hosts.write_text(f"[127.0.0.1]:{port} {key.export_public_key('openssh').decode().strip()}\n")
        spec = HostSpec(name=hostname, address="127.0.0.1", port=port, user="root",
                        identity_file=str(ssh_world.key_path))
        session = SshSession(spec, ssh_world.options())
        listing = (await session.run(["zoneadm", "list", "-cp"])).stdout.splitlines()
        assert listing[0].startswith("0:global:running:/:") and len(listing) > 8
        assert {len(line.split(":")) for line in listing} == {fields}
        assert (await session.run(["uname", "-sr"])).stdout == "SunOS 5.11\n"
        assert (await session.run(["hostname"])).stdout == f"{hostname}\n"
        await session.close()

        if shutil.which("ssh"):  # and with OpenSSH's own client, a script on standard input included
            async def ssh(command: str, stdin: bytes = b"") -> tuple[int, bytes, bytes]:
                client = await asyncio.create_subprocess_exec(
                    "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                    "-o", f"UserKnownHostsFile={ssh_world.known_hosts}", "-i", str(ssh_world.key_path),
                    "-p", str(port), "root@127.0.0.1", command, stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                out, err = await asyncio.wait_for(client.communicate(stdin), 30)
                return client.returncode, out, err

            code, out, err = await ssh("zonecfg -z cli1 -f -", b"create -b\nset zonepath=/zones/cli1\n")
            assert (code, out, err) == (0, b"", b"")
            code, out, err = await ssh("zoneadm -z cli1 list -p && zoneadm -z cli1 boot")
            assert code == 1 and out.startswith(b"-:cli1:configured:/zones/cli1:")
            assert err == b"zoneadm: zone 'cli1': must be installed before boot.\n"
    finally:
        proc.terminate()
        await proc.wait()


async def test_sim_zones_can_start_empty(tmp_path: Path, ssh_world):
    proc, port, _fingerprint, name = await _start(tmp_path, ssh_world, "--layout", "solaris11", "--empty",
                                                  "--hostname", "s11-empty")
    try:
        assert name == "s11-empty"
        key = load_or_create_host_key(tmp_path / "host_key")
        ssh_world.known_hosts.write_text(f"[127.0.0.1]:{port} {key.export_public_key('openssh').decode().strip()}\n")
        spec = HostSpec(name=name, address="127.0.0.1", port=port, user="root", identity_file=str(ssh_world.key_path))
        session = SshSession(spec, ssh_world.options())
        assert (await session.run(["zoneadm", "list", "-cp"])).stdout == "0:global:running:/::solaris:shared:-:none:\n"
        await session.close()
    finally:
        proc.terminate()
        await proc.wait()
