"""`hvdeck sim ldoms`: a simulated control domain anyone can reach with plain ssh or hvdeck."""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from pathlib import Path

from hvdeck.backends.sim.sshserver import load_or_create_host_key
from hvdeck.backends.transport.ssh import SshSession


async def _start(tmp_path: Path, ssh_world) -> tuple[asyncio.subprocess.Process, int, str]:
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(ssh_world.client_key.export_public_key("openssh").decode())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hvdeck.tui.cli", "sim", "ldoms", "--listen", "127.0.0.1:0",
        "--host-key", str(tmp_path / "host_key"), "--authorized-keys", str(authorized), "--hostname", "t7-z",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    second = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    match = re.search(r"on 127\.0\.0\.1:(\d+)", first)
    assert match, first
    return proc, int(match[1]), second.split()[-1]


async def test_sim_serves_ldm_over_ssh_with_a_stable_host_key(tmp_path: Path, ssh_world):
    proc, port, fingerprint = await _start(tmp_path, ssh_world)
    try:
        key = load_or_create_host_key(tmp_path / "host_key")  # created by the command, mode 0600
        assert fingerprint == key.get_fingerprint("sha256")
        assert (tmp_path / "host_key").stat().st_mode & 0o777 == 0o600
        ssh_world.known_hosts.write_text(
            f"[127.0.0.1]:{port} {key.export_public_key('openssh').decode().strip()}\n")
        from hvdeck.backends.inventory import HostSpec

        spec = HostSpec(name="t7-z", address="127.0.0.1", port=port, user="root",
                        identity_file=str(ssh_world.key_path))
        session = SshSession(spec, ssh_world.options())
        listing = await session.run(["ldm", "list", "-p"])
        assert listing.stdout.startswith("VERSION 1.11\nDOMAIN|name=primary|state=active|flags=-n-cv-|cons=UART|")
        assert (await session.run(["hostname"])).stdout.strip() == "t7-z"
        await session.close()

        if shutil.which("ssh"):  # and the same with OpenSSH's own client, as an operator would
            async def ssh(command: str) -> tuple[int, bytes, bytes]:
                client = await asyncio.create_subprocess_exec(
                    "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                    "-o", f"UserKnownHostsFile={ssh_world.known_hosts}", "-i", str(ssh_world.key_path),
                    "-p", str(port), "root@127.0.0.1", command,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                out, err = await asyncio.wait_for(client.communicate(), 30)
                return client.returncode, out, err

            # `| head` is not simulated: the shell refuses pipes as a syntax error, and nothing runs
            code, out, err = await ssh("ldm list -p ldg-web1; ldm -V | head")
            assert code == 2 and b"Syntax error" in err and out == b""
            code, out, err = await ssh("ldm list -p ldg-web1; ldm -V")
            assert code == 0, err
            assert b"DOMAIN|name=ldg-web1|state=active" in out and b"Logical Domains Manager (v 3.6.0.0.23)" in out
    finally:
        proc.terminate()
        await proc.wait()


async def test_sim_refuses_a_missing_authorized_keys_file(tmp_path: Path):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hvdeck.tui.cli", "sim", "ldoms", "--listen", "127.0.0.1:0",
        "--host-key", str(tmp_path / "k"), "--authorized-keys", str(tmp_path / "nope"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 2 and b"no such file" in err
    assert not (tmp_path / "k").exists()


async def test_sim_serves_several_control_domains_that_migrate_to_each_other(tmp_path: Path, ssh_world):
    """Two hosts in one process: named inline and with --hostname, one host key each; a guest of t7-a
    moves to t7-b (as seen with OpenSSH's client on both), and the refused forms of the options."""
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(ssh_world.client_key.export_public_key("openssh").decode())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hvdeck.tui.cli", "sim", "ldoms", "--listen", "t7-a=127.0.0.1:0",
        "--listen", "127.0.0.1:0", "--hostname", "t7-b", "--host-key", str(tmp_path / "key-a"),
        "--host-key", str(tmp_path / "key-b"), "--authorized-keys", str(authorized),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 30)).decode() for _ in range(4)]
        ports = {}
        for banner, fingerprint, key in ((lines[0], lines[1], "key-a"), (lines[2], lines[3], "key-b")):
            match = re.search(r"control domain (t7-[ab]) on 127\.0\.0\.1:(\d+)", banner)
            assert match, banner
            key_file = load_or_create_host_key(tmp_path / key)
            assert fingerprint.split()[-1] == key_file.get_fingerprint("sha256")
            ports[match[1]] = int(match[2])
            with ssh_world.known_hosts.open("a") as known:
                known.write(f"[127.0.0.1]:{match[2]} {key_file.export_public_key('openssh').decode().strip()}\n")
        from hvdeck.backends.inventory import HostSpec

        a, b = (SshSession(HostSpec(name=name, address="127.0.0.1", port=ports[name], user="root",
                                    identity_file=str(ssh_world.key_path)), ssh_world.options())
                for name in ("t7-a", "t7-b"))
        assert (await a.run(["hostname"])).stdout == "t7-a\n" and (await b.run(["hostname"])).stdout == "t7-b\n"
        moved = await a.run(["ldm", "migrate-domain", "-c", "ldg-test", "t7-b:ldg-test2"], idempotent=False)
        assert (moved.exit_status, moved.stderr) == (0, "")
        assert "DOMAIN|name=ldg-test|" not in (await a.run(["ldm", "list", "-p"])).stdout
        assert "DOMAIN|name=ldg-test2|state=bound|flags=------|" in (await b.run(["ldm", "list", "-p"])).stdout
        await a.close()
        await b.close()
    finally:
        proc.terminate()
        await proc.wait()

    for extra, message in ((["--hostname", "t7-a", "--hostname", "t7-b"], b"--hostname t7-b has no --listen"),
                           (["--listen", "x=1:2", "--listen", "x=1:3"], b"two hosts are named x"),
                           (["--listen", "t7-a=nowhere"], b"use HOST:PORT or NAME=HOST:PORT"),
                           (["--host-key", str(tmp_path / "k3")], b"2 --host-key for 1 hosts")):
        refused = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hvdeck.tui.cli", "sim", "ldoms", "--host-key", str(tmp_path / "k"),
            "--authorized-keys", str(authorized), *extra,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await refused.communicate()
        assert refused.returncode == 2 and message in err, (extra, err)
