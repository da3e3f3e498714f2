"""Inventory: a good file loads with every default; a broken one names file, line and the fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdeck.backends import inventory as inv

GOOD = """\
defaults:
  user: admin
ssh:
  config: ~/ssh_config_for_tests
  known_hosts: /tmp/known
hosts:
  - name: lab1
    address: 192.0.2.10
    user: root
    port: 2222
    kind: libvirt
    libvirt_uri: qemu:///system
    read_only: true
    tags: [prod, dc1]
  - name: t7-a
    kind: ldoms
    poll_interval: 5
  - name: local-test
    transport: local
    libvirt_uri: test:///tmp/node.xml
"""


def test_good_inventory_loads_with_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = tmp_path / "hosts.yaml"
    path.write_text(GOOD)
    result = inv.load(path)
    lab1, t7, local = result.hosts
    assert lab1 == inv.HostSpec(name="lab1", address="192.0.2.10", user="root", port=2222, kind="libvirt",
                                read_only=True, tags=("prod", "dc1"))
    assert (t7.address, t7.user, t7.port, t7.kind, t7.poll_interval) == ("t7-a", "admin", None, "ldoms", 5.0)
    assert t7.transport == "ssh" and t7.libvirt_socket == "/run/libvirt/libvirt-sock"
    assert (local.transport, local.libvirt_uri, local.user) == ("local", "test:///tmp/node.xml", "admin")
    assert result.ssh == inv.SshOptions(config=(str(tmp_path / "ssh_config_for_tests"),), known_hosts="/tmp/known",
                                        inventory=str(path))  # not the default file: hints name it
    assert [h.name for h in result.select(["t7-a"]).hosts] == ["t7-a"]


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("hosts:\n  - name: a\n    adress: x\n", 3, "unknown key 'adress' in host 'a' (did you mean 'address'?)"),
    ("hosts:\n  - address: x\n", 2, "host #1: missing 'name'"),
    ("hosts:\n  - name: a\n  - name: b\n  - name: a\n", 4, "duplicate host name 'a' (first on line 2)"),
    ("hosts:\n  - name: a\n    kind: vmware\n", 3, "'kind' must be one of auto, libvirt, ldoms, xen, zones"),
    ("hosts:\n  - name: a\n    port: 70000\n", 3, "'port' must be a TCP port number"),
    ("hosts:\n  - name: a\n    port: yes\n", 3, "'port' must be a TCP port number"),
    ("hosts:\n  - name: a\n    transport: telnet\n", 3, "'transport' must be one of ssh, local"),
    ("hosts:\n  - name: a\n    read_only: maybe\n", 3, "'read_only' must be true or false"),
    ("hosts:\n  - name: a\n    libvirt_uri: qemu+ssh://h/system\n", 3, "must be a local driver URI"),
    ("hosts:\n  - name: a\n    libvirt_uri: test:///x.xml\n", 3, "must be a local driver URI"),
    ("hosts:\n  - name: a\n    libvirt_socket: run/sock\n", 3, "must be an absolute path"),
    ("hosts:\n  - name: a\n    poll_interval: 0\n", 3, "'poll_interval' must be a number of seconds"),
    ("hosts:\n  - name: 'bad name'\n", 2, "'name' must be 1-64 ASCII letters"),
    ("hosts:\n  - name: a\n    tags: [1, 2]\n", 3, "'tags' must be a list of words"),
    ("hosts: []\n", 1, "'hosts' must be a non-empty list"),
    ("hostz:\n  - name: a\n", 1, "unknown key 'hostz' at the top level (did you mean 'hosts'?)"),
    ("defaults:\n  name: x\nhosts:\n  - name: a\n", 2, "unknown key 'name' in 'defaults'"),
    ("ssh:\n  known_host: x\nhosts:\n  - name: a\n", 2, "unknown key 'known_host' in 'ssh'"),
    ("hosts:\n  - name: a\n    name: b\n", 3, "duplicate key 'name'"),
    ("- just\n- a list\n", 1, "the top level must be a mapping"),
    ("", 1, "the file is empty"),
])
def test_broken_inventory_names_file_and_line(tmp_path: Path, text: str, line: int, fragment: str):
    path = tmp_path / "hosts.yaml"
    path.write_text(text)
    with pytest.raises(inv.InventoryError) as caught:
        inv.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}"), message
    assert fragment in message, message
    assert caught.value.line == line


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path):
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n  - name: a\n    tags: [prod\n  - name: b\n")
    with pytest.raises(inv.InventoryError) as caught:
        inv.load(path)
    error = caught.value
    assert error.line == 4 and error.column is not None
    assert str(error).startswith(f"{path}:4:{error.column}: YAML error:")


def test_missing_file_says_how_to_start(tmp_path: Path):
    with pytest.raises(inv.InventoryError) as caught:
        inv.load(tmp_path / "nope.yaml")
    assert "no such file" in str(caught.value) and "hvdeck demo" in str(caught.value)


def test_selecting_an_unknown_host_is_an_error(tmp_path: Path):
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n  - name: a\n")
    with pytest.raises(inv.InventoryError, match="no host named 'zz'"):
        inv.load(path).select(["zz"])


def test_default_path_follows_xdg_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("HVDECK_INVENTORY", raising=False)
    assert inv.default_path() == tmp_path / "cfg" / "hvdeck" / "hosts.yaml"
    monkeypatch.setenv("HVDECK_INVENTORY", str(tmp_path / "x.yaml"))
    assert inv.default_path() == tmp_path / "x.yaml"
