"""An unprivileged (session) libvirtd for tests, started as the cases' start-libvirtd.sh does: user
nobody, its runtime directory in a scratch folder, so its socket is ``<dir>/run/libvirt/libvirt-sock``.
It answers every libvirt RPC a system libvirtd does; domains are defined only (no QEMU is started)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LIBVIRTD = "/usr/sbin/libvirtd"


@dataclass(frozen=True)
class SessionDaemon:
    root: Path
    socket: Path

    @property
    def uri(self) -> str:
        return f"qemu+unix:///session?socket={self.socket}"


def missing() -> str | None:
    if os.geteuid() != 0:
        return "starting libvirtd as nobody needs root"
    if not os.path.exists(LIBVIRTD) or shutil.which("runuser") is None:
        return "libvirtd or runuser is not installed"
    return None


@contextmanager
def session_libvirtd() -> Iterator[SessionDaemon]:
    root = Path(tempfile.mkdtemp(prefix="hvdeck-libvirtd-"))
    for sub in ("home", "run", "cfg", "cache"):
        (root / sub).mkdir()
    shutil.chown(root, "nobody", "nogroup")
    for path in root.rglob("*"):
        shutil.chown(path, "nobody", "nogroup")
    (root / "run").chmod(0o700)
    root.chmod(0o755)
    log = (root / "libvirtd.log").open("w")
    process = subprocess.Popen(
        ["runuser", "-u", "nobody", "--", "env", f"HOME={root / 'home'}", f"XDG_RUNTIME_DIR={root / 'run'}",
         f"XDG_CONFIG_HOME={root / 'cfg'}", f"XDG_CACHE_HOME={root / 'cache'}", LIBVIRTD, "--timeout", "600"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    socket = root / "run" / "libvirt" / "libvirt-sock"
    pid_file = root / "run" / "libvirt" / "libvirtd.pid"
    try:
        deadline = time.monotonic() + 30
        while not socket.is_socket():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"libvirtd did not start: {(root / 'libvirtd.log').read_text()[-2000:]}")
            time.sleep(0.05)
        yield SessionDaemon(root, socket)
    finally:
        try:
            daemon_pid = int(pid_file.read_text().strip())
            os.kill(daemon_pid, signal.SIGTERM)  # the libvirtd this fixture started
        except (OSError, ValueError):
            pass
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)
