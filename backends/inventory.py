"""The YAML inventory: which control hosts hvdeck watches and how to reach them.

```yaml
defaults:                 # optional: applied to every host unless the host sets the key
  user: root
ssh:                      # optional
  config: ~/.ssh/config   # a path or a list of paths (default: asyncssh reads ~/.ssh/config)
  known_hosts: ~/.ssh/known_hosts
hosts:
  - name: lab1            # required, unique
    address: 192.0.2.10   # default: name (so ~/.ssh/config aliases work)
    user: root            # optional; else ~/.ssh/config, else the local user
    port: 22              # optional
    transport: ssh        # ssh (default) | local (run commands on this machine)
    kind: auto            # auto (probe) | libvirt | ldoms | xen | zones
    libvirt_uri: qemu:///system
    libvirt_socket: /run/libvirt/libvirt-sock   # the remote libvirt socket the tunnel reaches
    read_only: false
    tags: [prod, dc1]
    poll_interval: 2      # seconds
    identity_file: ~/.ssh/id_ed25519
```

Every error names the file and the line (and column for YAML syntax), and the host and key where one
is at fault, so that a user can fix the file without guessing.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KINDS = ("auto", "libvirt", "ldoms", "xen", "zones")
TRANSPORTS = ("ssh", "local")
DEFAULT_LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"

_HOST_KEYS = {
    "name", "address", "user", "port", "transport", "kind", "libvirt_uri", "libvirt_socket",
    "read_only", "tags", "poll_interval", "identity_file",
}
_DEFAULTABLE = _HOST_KEYS - {"name", "address"}
_TOP_KEYS = {"hosts", "defaults", "ssh"}
_SSH_KEYS = {"config", "known_hosts"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_URI_RE = re.compile(r"^[a-z][a-z0-9+]*://[^\s]*$")


@dataclass(frozen=True, slots=True)
class HostSpec:
    """One control host, validated."""

    name: str
    address: str
    user: str | None = None
    port: int | None = None
    transport: str = "ssh"
    kind: str = "auto"
    libvirt_uri: str = "qemu:///system"
    libvirt_socket: str = DEFAULT_LIBVIRT_SOCKET
    read_only: bool = False
    tags: tuple[str, ...] = ()
    poll_interval: float = 2.0
    identity_file: str | None = None


@dataclass(frozen=True, slots=True)
class SshOptions:
    config: tuple[str, ...] | None = None  # None: asyncssh's default (~/.ssh/config)
    known_hosts: str | None = None  # None: ~/.ssh/known_hosts (or the ssh config's UserKnownHostsFile)


@dataclass(frozen=True, slots=True)
class Inventory:
    hosts: tuple[HostSpec, ...]
    ssh: SshOptions = field(default_factory=SshOptions)
    path: str | None = None

    def select(self, names: list[str] | tuple[str, ...]) -> "Inventory":
        """The hosts named (in inventory order); an unknown name is an error, not an empty list."""
        known = {h.name for h in self.hosts}
        missing = [n for n in names if n not in known]
        if missing:
            raise InventoryError(self.path or "<inventory>", None, None,
                                 f"no host named {', '.join(map(repr, missing))} "
                                 f"(known: {', '.join(sorted(known)) or 'none'})")
        wanted = set(names)
        return Inventory(tuple(h for h in self.hosts if not names or h.name in wanted), self.ssh, self.path)


class InventoryError(Exception):
    """A broken inventory. ``str()`` is the one line shown to the user: ``FILE:LINE:COL: message``."""

    def __init__(self, path: str, line: int | None, column: int | None, message: str) -> None:
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.column, self.detail = path, line, column, message


class _Map(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"keys must be text, not {key!r}", key_node.start_mark)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def default_path() -> Path:
    """~/.config/hvdeck/hosts.yaml (platformdirs), or $HVDECK_INVENTORY."""
    env = os.environ.get("HVDECK_INVENTORY")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("hvdeck")) / "hosts.yaml"


def load(path: str | os.PathLike[str]) -> Inventory:
    """Read and validate an inventory file. Raises InventoryError naming file and line."""
    path_s = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(path_s, None, None,
                             "no such file (create it, or pass --inventory FILE; `hvdeck demo` needs none)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(path_s, None, None, f"cannot read: {exc}") from None
    return parse(text, path_s)


def parse(text: str, path: str = "<inventory>") -> Inventory:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        if exc.context and exc.context not in problem:
            problem = f"{exc.context}: {problem}"
        raise InventoryError(path, mark.line + 1 if mark else None, mark.column + 1 if mark else None,
                             f"YAML error: {problem}") from None
    except yaml.YAMLError as exc:
        raise InventoryError(path, None, None, f"YAML error: {exc}") from None

    if data is None:
        raise InventoryError(path, 1, None, "the file is empty; it needs a 'hosts:' list")
    if not isinstance(data, _Map):
        raise InventoryError(path, 1, None, "the top level must be a mapping with a 'hosts:' list")
    _check_keys(path, data, _TOP_KEYS, "at the top level")
    if "hosts" not in data:
        raise InventoryError(path, data.line, None, "missing 'hosts:' (a list of hosts)")

    defaults: dict[str, Any] = {}
    if "defaults" in data:
        raw = data["defaults"]
        if not isinstance(raw, _Map):
            raise InventoryError(path, data.key_lines["defaults"], None, "'defaults' must be a mapping")
        _check_keys(path, raw, _DEFAULTABLE, "in 'defaults'")
        defaults = dict(raw)
        _host_values(path, raw, "defaults", check_required=False)

    ssh = SshOptions()
    if "ssh" in data:
        ssh = _ssh_options(path, data["ssh"], data.key_lines["ssh"])

    hosts_raw = data["hosts"]
    if not isinstance(hosts_raw, list) or not hosts_raw:
        raise InventoryError(path, data.key_lines["hosts"], None, "'hosts' must be a non-empty list")
    hosts: list[HostSpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(hosts_raw, start=1):
        if not isinstance(raw, _Map):
            raise InventoryError(path, data.key_lines["hosts"], None,
                                 f"host #{index} must be a mapping with at least 'name:'")
        label = f"host #{index}" if not isinstance(raw.get("name"), str) else f"host {raw['name']!r}"
        _check_keys(path, raw, _HOST_KEYS, f"in {label}")
        merged = _Map({**defaults, **raw})
        merged.line, merged.key_lines = raw.line, raw.key_lines
        spec = _host_values(path, merged, label, check_required=True)
        if spec.name in seen:
            raise InventoryError(path, raw.key_lines.get("name", raw.line), None,
                                 f"duplicate host name {spec.name!r} (first on line {seen[spec.name]})")
        seen[spec.name] = raw.key_lines.get("name", raw.line)
        hosts.append(spec)
    return Inventory(tuple(hosts), ssh, path)


def _check_keys(path: str, mapping: _Map, allowed: set[str], where: str) -> None:
    for key in mapping:
        if key not in allowed:
            hint = difflib.get_close_matches(key, sorted(allowed), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(sorted(allowed))})"
            raise InventoryError(path, mapping.key_lines[key], None, f"unknown key {key!r} {where}{suggestion}")


def _ssh_options(path: str, raw: Any, line: int) -> SshOptions:
    if not isinstance(raw, _Map):
        raise InventoryError(path, line, None, "'ssh' must be a mapping (config, known_hosts)")
    _check_keys(path, raw, _SSH_KEYS, "in 'ssh'")
    config: tuple[str, ...] | None = None
    if "config" in raw:
        value = raw["config"]
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
            raise InventoryError(path, raw.key_lines["config"], None, "ssh 'config' must be a path or a list of paths")
        config = tuple(os.path.expanduser(v) for v in items)
    known_hosts = None
    if "known_hosts" in raw:
        value = raw["known_hosts"]
        if not isinstance(value, str) or not value:
            raise InventoryError(path, raw.key_lines["known_hosts"], None, "ssh 'known_hosts' must be a path")
        known_hosts = os.path.expanduser(value)
    return SshOptions(config, known_hosts)


def _host_values(path: str, raw: _Map, label: str, *, check_required: bool) -> HostSpec:
    def fail(key: str, message: str) -> InventoryError:
        return InventoryError(path, raw.key_lines.get(key, raw.line), None, f"{label}: '{key}' {message}")

    def text(key: str, default: str | None) -> str | None:
        value = raw.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise fail(key, f"must be non-empty text, not {value!r}")
        return value

    name = raw.get("name")
    if check_required:
        if name is None:
            raise InventoryError(path, raw.line, None, f"{label}: missing 'name'")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise fail("name", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
                               f", not {name!r}")
    address = text("address", name if isinstance(name, str) else None)
    user = text("user", None)

    port = raw.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        raise fail("port", f"must be a TCP port number (1-65535), not {port!r}")

    transport = raw.get("transport", "ssh")
    if transport not in TRANSPORTS:
        raise fail("transport", f"must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    kind = raw.get("kind", "auto")
    if kind not in KINDS:
        raise fail("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")

    uri = text("libvirt_uri", "qemu:///system") or "qemu:///system"
    if not _URI_RE.match(uri):
        raise fail("libvirt_uri", f"must be a libvirt URI such as qemu:///system, not {uri!r}")
    if transport == "ssh" and check_required:
        scheme, rest = uri.split("://", 1)
        if "+" in scheme or not rest.startswith("/") or scheme == "test":
            raise fail("libvirt_uri",
                       f"must be a local driver URI such as qemu:///system or xen:///system for an ssh host "
                       f"(hvdeck reaches the remote libvirt socket through the host's SSH connection), not {uri!r}")
    socket = text("libvirt_socket", DEFAULT_LIBVIRT_SOCKET) or DEFAULT_LIBVIRT_SOCKET
    if not socket.startswith("/"):
        raise fail("libvirt_socket", f"must be an absolute path, not {socket!r}")

    read_only = raw.get("read_only", False)
    if not isinstance(read_only, bool):
        raise fail("read_only", f"must be true or false, not {read_only!r}")
    tags = raw.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise fail("tags", "must be a list of words")
    interval = raw.get("poll_interval", 2.0)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0.2 <= interval <= 3600:
        raise fail("poll_interval", f"must be a number of seconds between 0.2 and 3600, not {interval!r}")
    identity = text("identity_file", None)

    return HostSpec(
        name=name if isinstance(name, str) else "",
        address=address or "",
        user=user,
        port=port,
        transport=transport,
        kind=kind,
        libvirt_uri=uri,
        libvirt_socket=socket,
        read_only=read_only,
        tags=tuple(tags),
        poll_interval=float(interval),
        identity_file=os.path.expanduser(identity) if identity else None,
    )
