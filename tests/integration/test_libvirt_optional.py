"""libvirt-python is an optional extra (``pip install 'hvdeck[libvirt]'``): with ``import libvirt``
failing, an LDoms host still opens, and a libvirt host is an *error* that says how to install it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPLAY = Path(__file__).resolve().parent.parent / "fixtures" / "ldm" / "replay"

BLOCK_LIBVIRT = '''
import sys


class _NoLibvirt:
    """As if libvirt-python were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("libvirt", "libvirtmod", "libvirt_qemu", "libvirt_lxc", "libvirtaio"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoLibvirt())
'''


def _ls(tmp_path: Path, inventory: str, *, replay: bool = True) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCK_LIBVIRT)
    path = tmp_path / "hosts.yaml"
    path.write_text(inventory)
    env = {**os.environ, "PYTHONPATH": str(site)}
    if replay:  # `ldm` answers from recorded output (tests/fixtures/ldm/replay)
        env["PATH"] = f"{REPLAY / 'bin'}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run([sys.executable, "-m", "hvdeck.tui.cli", "ls", "--json", "--inventory", str(path)],
                          capture_output=True, text=True, timeout=120, env=env)


def test_the_block_really_blocks(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_LIBVIRT)
    done = subprocess.run([sys.executable, "-c", "import libvirt"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(site)})
    assert done.returncode == 1 and "No module named 'libvirt'" in done.stderr


def test_an_ldoms_host_opens_without_libvirt_python(tmp_path: Path):
    done = _ls(tmp_path, "hosts:\n  - name: cdom1\n    transport: local\n    kind: ldoms\n"
                         "  - name: cdom2\n    transport: local\n    kind: auto\n")
    assert done.returncode == 0, done.stderr
    hosts = {h["name"]: h for h in json.loads(done.stdout)["hosts"]}
    for name in ("cdom1", "cdom2"):
        assert (hosts[name]["kind"], hosts[name]["status"], hosts[name]["error"]) == ("ldoms", "up", None)
        assert len(hosts[name]["domains"]) == 4


def test_a_libvirt_host_without_libvirt_python_says_how_to_install_it(tmp_path: Path):
    done = _ls(tmp_path, "hosts:\n  - name: cdom1\n    transport: local\n    kind: ldoms\n"
                         "  - name: kvm1\n    transport: local\n    kind: libvirt\n    libvirt_uri: test:///default\n")
    assert done.returncode == 1, "a host in error makes the exit status 1"
    hosts = {h["name"]: h for h in json.loads(done.stdout)["hosts"]}
    assert hosts["cdom1"]["status"] == "up" and len(hosts["cdom1"]["domains"]) == 4
    kvm = hosts["kvm1"]
    assert (kvm["status"], kvm["domains"]) == ("error", [])
    assert "libvirt-python is not installed" in kvm["error"]
    assert "pip install 'hvdeck[libvirt]'" in kvm["error"]


def test_kind_auto_recognises_libvirt_before_importing_it(tmp_path: Path):
    # no ldm on PATH: auto tries LDoms, then recognises libvirt without libvirt-python, then says what to do
    done = _ls(tmp_path, "hosts:\n  - name: kvm2\n    transport: local\n    kind: auto\n"
                         "    libvirt_uri: test:///default\n", replay=False)
    (host,) = json.loads(done.stdout)["hosts"]
    assert host["status"] == "error" and "pip install 'hvdeck[libvirt]'" in host["error"], host
