"""Which sockets hvdeck tries for a libvirt URI, in libvirt's own order (src/remote/remote_sockets.c)."""

from __future__ import annotations

import pytest

from hvdeck.backends.libvirt import sockets


@pytest.mark.parametrize(("uri", "expected"), [
    ("qemu:///system", ("/run/libvirt/virtqemud-sock", "/run/libvirt/libvirt-sock")),
    ("xen:///system", ("/run/libvirt/virtxend-sock", "/run/libvirt/libvirt-sock")),
    ("lxc:///system", ("/run/libvirt/virtlxcd-sock", "/run/libvirt/libvirt-sock")),
    ("ch:///system", ("/run/libvirt/virtchd-sock", "/run/libvirt/libvirt-sock")),
    ("bhyve:///system", ("/run/libvirt/virtbhyved-sock", "/run/libvirt/libvirt-sock")),
    ("QEMU:///system", ("/run/libvirt/virtqemud-sock", "/run/libvirt/libvirt-sock")),
    ("test:///default", ("/run/libvirt/libvirt-sock",)),
    ("qemu:///session", ("/run/libvirt/virtqemud-sock", "/run/libvirt/libvirt-sock")),  # root's session
])
def test_system_candidates(uri, expected):
    assert sockets.candidates(uri) == expected


def test_session_candidates_live_in_the_login_runtime_directory():
    assert sockets.candidates("qemu:///session", runtime_dir="/run/user/1000/") == (
        "/run/user/1000/libvirt/virtqemud-sock", "/run/user/1000/libvirt/libvirt-sock")
    # a runtime directory means nothing to a /system URI
    assert sockets.candidates("qemu:///system", runtime_dir="/run/user/1000") == (
        "/run/libvirt/virtqemud-sock", "/run/libvirt/libvirt-sock")


@pytest.mark.parametrize(("stdout", "expected"), [
    ("1000\n/run/user/1000\n", "/run/user/1000"),
    ("1000\n/home/ann/.cache\n", "/home/ann/.cache"),
    ("0\n/root/.cache\n", None),  # root: the system daemons serve root's /session
    ("1000\nrelative\n", None),
    ("1000\n/run/user/1000\x1b]52;c;x\x07\n", None),
    ("garbage", None),
    ("", None),
])
def test_runtime_probe_output(stdout, expected):
    assert sockets.parse_runtime_probe(stdout) == expected


def test_driver_names_only_plain_schemes():
    assert sockets.driver("qemu+ssh://h/system") == "qemu"
    assert sockets.driver("../etc:///x") == ""
    assert sockets.is_session("qemu:///session") and not sockets.is_session("qemu:///system")
