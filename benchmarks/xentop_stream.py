"""What one Xen host's live table costs hvdeck: the CPU time of its xentop stream at a 1 s interval.

A simulated xl dom0 (`hvdeck sim xen`, the demo's seven domains) runs in a process of its own; this process
runs the fleet's poller for that host exactly as the console does (one `xentop -b -d 1 -f` over SSH, parsed
as it arrives, a poll of the backend at each frame, the catalog read every 30 s) and measures its own CPU
time with getrusage over the run, after the host was opened. Reported as % of one core, per frame, and
the frames and polls seen.

    .venv/bin/python benchmarks/xentop_stream.py [--seconds 60] [--toolstack xl]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncssh

from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import HostSpec, Inventory, SshOptions
from hvdeck.backends.model import HostStatus
from hvdeck.backends.xen.backend import XenBackend


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_simulator(work: Path, toolstack: str) -> tuple[subprocess.Popen[str], int, Path]:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key_path = work / "id_ed25519"
    key.write_private_key(str(key_path))
    key_path.chmod(0o600)
    (work / "authorized_keys").write_bytes(key.export_public_key("openssh"))
    with socket.socket() as sock:  # a free port: bind, read it, release it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "hvdeck.tui.cli", "sim", "xen", "--toolstack", toolstack, "--listen", f"127.0.0.1:{port}",
         "--host-key", str(work / "host_key"), "--authorized-keys", str(work / "authorized_keys")],
        stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    fingerprint_line = ""
    for line in process.stdout:
        if line.startswith("host key"):
            fingerprint_line = line
            break
    if not fingerprint_line:
        raise SystemExit("the simulator did not start")
    public = asyncssh.read_private_key(str(work / "host_key")).export_public_key("openssh").decode().strip()
    (work / "known_hosts").write_text(f"[127.0.0.1]:{port} {public}\n")
    return process, port, key_path


async def measure(work: Path, port: int, key_path: Path, seconds: float) -> dict[str, float]:
    (work / "ssh_config").write_text("")
    spec = HostSpec(name="xen-a", address="127.0.0.1", port=port, user="root", identity_file=str(key_path),
                    kind="xen", poll_interval=1)
    polls = []
    fleet = Fleet(Inventory((spec,), SshOptions(config=(str(work / "ssh_config"),),
                                                known_hosts=str(work / "known_hosts"))),
                  on_update=polls.append)
    task = asyncio.get_running_loop().create_task(fleet.run_host("xen-a"))
    while not any(s.status is HostStatus.UP for s in polls):  # opened: probe, catalog, stream started
        await asyncio.sleep(0.1)
    backend = fleet.backend("xen-a")
    assert isinstance(backend, XenBackend) and backend.streaming
    first_seq, first_polls = backend._seq, len(polls)
    cpu, wall = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = cpu_seconds() - cpu, time.monotonic() - wall
    frames, done = backend._seq - first_seq, len(polls) - first_polls
    up = sum(1 for s in polls[first_polls:] if s.status is HostStatus.UP)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await fleet.close()
    return {"cpu": cpu, "wall": wall, "frames": frames, "polls": done, "up": up}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--toolstack", choices=("xl", "xm", "xvm"), default="xl")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hvdeck-bench-") as tmp:
        work = Path(tmp)
        process, port, key_path = start_simulator(work, args.toolstack)
        try:
            figures = asyncio.run(measure(work, port, key_path, args.seconds))
        finally:
            process.terminate()
            process.wait(timeout=10)
    cpu, wall, frames = figures["cpu"], figures["wall"], int(figures["frames"])
    print(f"one {args.toolstack} dom0 (7 domains), xentop -b -d 1 over SSH, fleet poller running, "
          f"{wall:.0f} s, pid {os.getpid()}")
    print(f"  {cpu / wall * 100:.2f}% of one core   {cpu * 1e3 / max(frames, 1):.1f} ms CPU a frame   "
          f"{frames} frames, {int(figures['polls'])} polls ({int(figures['up'])} up)")


if __name__ == "__main__":
    main()
