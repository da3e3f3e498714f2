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
    poll_interval: 2      # seconds (default: the settings' poll_interval, else 2)
    identity_file: ~/.ssh/id_ed25519
```

Every error names the file and the line (and column for YAML syntax), and the host and key where one
is at fault, so that a user can fix the file without guessing.

YAML anchors, aliases and merge keys work (``- <<: *lab`` shares keys between hosts; the host's own keys
win). What a file may cost is bounded, so that a broken or hostile file is one error line, never a
traceback or gigabytes of memory: at most `MAX_INVENTORY_BYTES` and `MAX_NODES` values, collections at most `MAX_DEPTH` deep,
aliases that add at most `ALIAS_NODES` nodes (or as many as the file has); values quoted in messages are
cut (`shown`). `LineLoader` and `read_text` serve every YAML file of hvdeck's (the settings too).
"""

from __future__ import annotations

import difflib
import os
import re
import reprlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

KINDS = ("auto", "libvirt", "ldoms", "xen", "zones")
TRANSPORTS = ("ssh", "local")
DEFAULT_LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"
DEFAULT_POLL_INTERVAL = 2.0  # seconds, when neither the host, the defaults nor the settings set one

_HOST_KEYS = {
    "name", "address", "user", "port", "transport", "kind", "libvirt_uri", "libvirt_socket",
    "read_only", "tags", "poll_interval", "identity_file",
}
_DEFAULTABLE = _HOST_KEYS - {"name", "address"}
_TOP_KEYS = {"hosts", "defaults", "ssh"}
_SSH_KEYS = {"config", "known_hosts"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_URI_RE = re.compile(r"^[a-z][a-z0-9+]*://[^\s]*$")
MAX_TEXT = 4096  # characters of a path, a user name or a URI (PATH_MAX)


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
    #: the inventory file given with --inventory (None: the default one), for the commands hvdeck
    #: suggests, such as ``hvdeck trust HOST --inventory FILE``
    inventory: str | None = None


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
                                 f"no host named {', '.join(map(shown, missing))} "
                                 f"(known: {', '.join(sorted(known)) or 'none'})")
        wanted = set(names)
        return Inventory(tuple(h for h in self.hosts if not names or h.name in wanted), self.ssh, self.path)


class ConfigFileError(Exception):
    """A broken YAML file of hvdeck's own (the inventory, the settings). ``str()`` is the one line shown to the
    user, ``FILE:LINE:COL: message``; the message is cut to `MAX_MESSAGE` characters, so that no value in the
    file can make the line long."""

    def __init__(self, path: str, line: int | None, column: int | None, message: str) -> None:
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE - 1] + "…"
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.column, self.detail = path, line, column, message


class InventoryError(ConfigFileError):
    """A broken inventory."""


# -- bounds on what a YAML file may cost -------------------------------------------------------------

#: the longest message an error line carries (values in it are cut first, see `shown`)
MAX_MESSAGE = 300
#: the largest inventory read: 1 MiB is some 8,000 hosts of six keys each (PyYAML reads about 0.25 MiB/s
#: and holds some 100 MB per MiB of YAML while it does)
MAX_INVENTORY_BYTES = 1024 * 1024
#: collections nested deeper than this are refused (an inventory needs 4 levels, the settings 4)
MAX_DEPTH = 32
#: YAML nodes (scalars and collections) in one file; 8,000 hosts of six keys are some 100,000
MAX_NODES = 200_000
#: YAML aliases (``*name``, ``<<: *name``) may add this many nodes to a file, or as many as the file has
#: itself, whichever is more; beyond that the file is refused (a "billion laughs" alias bomb)
ALIAS_NODES = 100_000

_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlevel = 60, 60, 4, 4, 2


def shown(value: object) -> str:
    """``repr(value)`` for an error message, cut to a few dozen characters (a long string says how long it
    was). Never builds the full repr of a big value."""
    text = _SHORT.repr(value)
    if len(text) > 2 * _SHORT.maxstring:
        text = text[:2 * _SHORT.maxstring - 1] + "…"
    if isinstance(value, str) and len(value) > _SHORT.maxstring:
        text += f" ({len(value)} characters)"
    return text


def read_text(path: str | os.PathLike[str], limit: int, error: type[ConfigFileError], *,
              missing: str | None = None) -> str | None:
    """The UTF-8 text of ``path``, reading at most ``limit`` bytes. A missing file is ``error`` with the
    hint ``missing``, or None when ``missing`` is None; a larger, unreadable or non-UTF-8 file is
    ``error``."""
    path_s = str(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(limit + 1) if size <= limit else b""
    except FileNotFoundError:
        if missing is None:
            return None
        raise error(path_s, None, None, f"no such file ({missing})") from None
    except OSError as exc:
        raise error(path_s, None, None, f"cannot read: {exc.strerror or exc}") from None
    if size > limit or len(data) > limit:
        raise error(path_s, None, None, f"the file is larger than {limit // 1024} KiB ({max(size, len(data))} "
                                        "bytes); hvdeck refuses to read it")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(path_s, line, None, f"not UTF-8 text (byte 0x{data[exc.start]:02x})") from None


# -- YAML that remembers lines ---------------------------------------------------------------------


class LineMap(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class LineLoader(yaml.SafeLoader):
    """PyYAML's safe loader, bounded, building `LineMap` for every mapping.

    Bounds: collections nest at most `MAX_DEPTH` deep; a file has at most `MAX_NODES` nodes; expanded,
    aliases may add at most `ALIAS_NODES` nodes (or the file's own count, if larger); an alias that refers
    to a collection containing it is refused. Merge keys (``<<: *common``) work as YAML defines them: the
    mapping's own keys win over merged ones; a key written twice in one mapping is an error.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._aliases: list[tuple[yaml.Node, yaml.Mark]] = []

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if node is not None:
                self._aliases.append((node, event.start_mark))  # type: ignore[arg-type]
            return node
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                              event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(None, None, f"more than {MAX_NODES} values", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        if self._aliases:
            self._check_aliases(node)
        return self.construct_document(node)

    def _check_aliases(self, root: yaml.Node) -> None:
        """Refuse a document whose aliases expand it beyond the bounds (sizes counted as if every alias
        were written out, in time proportional to the distinct nodes)."""
        size: dict[int, int] = {}
        depth: dict[int, int] = {}
        entered: set[int] = set()
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, finished = stack.pop()
            key = id(node)
            children = _children(node)
            if finished:
                size[key] = 1 + sum(size[id(c)] for c in children)
                depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
                continue
            if key in size:
                continue
            if key in entered:
                mark = next((m for n, m in self._aliases if n is node), node.start_mark)
                raise yaml.composer.ComposerError(None, None, "this alias refers to a collection that contains "
                                                  "it (a recursive alias)", mark)
            entered.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
        budget = len(size) + max(ALIAS_NODES, len(size))
        if size[id(root)] > budget or depth[id(root)] > MAX_DEPTH:
            node, mark = max(self._aliases, key=lambda item: (size[id(item[0])], -item[1].index))
            problem = (f"aliases nest collections more than {MAX_DEPTH} levels deep" if size[id(root)] <= budget
                       else f"aliases expand the file to {size[id(root)]} values, more than the {budget} allowed "
                            "(an alias bomb?)")
            raise yaml.composer.ComposerError(None, None, problem, mark)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> LineMap:
    own = {id(key) for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"}
    loader.flatten_mapping(node)  # merged pairs first, then the mapping's own: own keys win
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    written: set[str] = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"keys must be text, not {shown(key)}", key_node.start_mark)
        if key in written:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {shown(key)}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
        if id(key_node) in own:
            written.add(key)
    return result


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str, path: str, error: type[ConfigFileError]) -> Any:
    """Parse one YAML document with `LineLoader`; every YAML problem is ``error`` naming line and column."""
    try:
        return yaml.load(text, Loader=LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        if exc.context and exc.context not in problem:
            problem = f"{exc.context}: {problem}"
        raise error(path, mark.line + 1 if mark else None, mark.column + 1 if mark else None,
                    f"YAML error: {problem}") from None
    except yaml.YAMLError as exc:
        raise error(path, None, None, f"YAML error: {exc}") from None


def default_path() -> Path:
    """~/.config/hvdeck/hosts.yaml (platformdirs), or $HVDECK_INVENTORY."""
    env = os.environ.get("HVDECK_INVENTORY")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("hvdeck")) / "hosts.yaml"


def load(path: str | os.PathLike[str], *, poll_interval: float = DEFAULT_POLL_INTERVAL) -> Inventory:
    """Read and validate an inventory file (at most `MAX_INVENTORY_BYTES`). ``poll_interval`` (seconds)
    is used for hosts that set none, in the host or in ``defaults:``. Raises InventoryError naming file and
    line."""
    text = read_text(path, MAX_INVENTORY_BYTES, InventoryError,
                     missing="create it, or pass --inventory FILE; `hvdeck demo` needs none")
    assert text is not None
    inventory = parse(text, str(path), poll_interval=poll_interval)
    if os.path.abspath(path) != os.path.abspath(default_path()):
        inventory = replace(inventory, ssh=replace(inventory.ssh, inventory=os.path.abspath(path)))
    return inventory


def parse(text: str, path: str = "<inventory>", *, poll_interval: float = DEFAULT_POLL_INTERVAL) -> Inventory:
    data = load_yaml(text, path, InventoryError)
    if data is None:
        raise InventoryError(path, 1, None, "the file is empty; it needs a 'hosts:' list")
    if not isinstance(data, LineMap):
        raise InventoryError(path, 1, None, "the top level must be a mapping with a 'hosts:' list")
    _check_keys(path, data, _TOP_KEYS, "at the top level")
    if "hosts" not in data:
        raise InventoryError(path, data.line, None, "missing 'hosts:' (a list of hosts)")

    defaults: dict[str, Any] = {}
    if "defaults" in data:
        raw = data["defaults"]
        if not isinstance(raw, LineMap):
            raise InventoryError(path, data.key_lines["defaults"], None, "'defaults' must be a mapping")
        _check_keys(path, raw, _DEFAULTABLE, "in 'defaults'")
        defaults = dict(raw)
        _host_values(path, raw, "defaults", check_required=False, poll_interval=poll_interval)

    ssh = SshOptions()
    if "ssh" in data:
        ssh = _ssh_options(path, data["ssh"], data.key_lines["ssh"])

    hosts_raw = data["hosts"]
    if not isinstance(hosts_raw, list) or not hosts_raw:
        raise InventoryError(path, data.key_lines["hosts"], None, "'hosts' must be a non-empty list")
    hosts: list[HostSpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(hosts_raw, start=1):
        if not isinstance(raw, LineMap):
            raise InventoryError(path, data.key_lines["hosts"], None,
                                 f"host #{index} must be a mapping with at least 'name:'")
        label = f"host #{index}" if not isinstance(raw.get("name"), str) else f"host {shown(raw['name'])}"
        _check_keys(path, raw, _HOST_KEYS, f"in {label}")
        merged = LineMap({**defaults, **raw})
        merged.line, merged.key_lines = raw.line, raw.key_lines
        spec = _host_values(path, merged, label, check_required=True, poll_interval=poll_interval)
        if spec.name in seen:
            raise InventoryError(path, raw.key_lines.get("name", raw.line), None,
                                 f"duplicate host name {shown(spec.name)} (first on line {seen[spec.name]})")
        seen[spec.name] = raw.key_lines.get("name", raw.line)
        hosts.append(spec)
    return Inventory(tuple(hosts), ssh, path)


def _check_keys(path: str, mapping: LineMap, allowed: set[str], where: str) -> None:
    for key in mapping:
        if key not in allowed:
            hint = difflib.get_close_matches(key, sorted(allowed), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(sorted(allowed))})"
            raise InventoryError(path, mapping.key_lines[key], None, f"unknown key {shown(key)} {where}{suggestion}")


def _ssh_options(path: str, raw: Any, line: int) -> SshOptions:
    if not isinstance(raw, LineMap):
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


def _host_values(path: str, raw: LineMap, label: str, *, check_required: bool, poll_interval: float) -> HostSpec:
    def fail(key: str, message: str) -> InventoryError:
        return InventoryError(path, raw.key_lines.get(key, raw.line), None, f"{label}: '{key}' {message}")

    def text(key: str, default: str | None, longest: int = MAX_TEXT) -> str | None:
        value = raw.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise fail(key, f"must be non-empty text, not {shown(value)}")
        if value is not None and len(value) > longest:
            raise fail(key, f"must be at most {longest} characters, not {shown(value)}")
        return value

    name = raw.get("name")
    if check_required:
        if name is None:
            raise InventoryError(path, raw.line, None, f"{label}: missing 'name'")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise fail("name", "must be 1-64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"
                               f", not {shown(name)}")
    address = text("address", name if isinstance(name, str) else None, longest=255)
    user = text("user", None)

    port = raw.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        raise fail("port", f"must be a TCP port number (1-65535), not {shown(port)}")

    transport = raw.get("transport", "ssh")
    if transport not in TRANSPORTS:
        raise fail("transport", f"must be one of {', '.join(TRANSPORTS)}, not {shown(transport)}")
    kind = raw.get("kind", "auto")
    if kind not in KINDS:
        raise fail("kind", f"must be one of {', '.join(KINDS)}, not {shown(kind)}")

    uri = text("libvirt_uri", "qemu:///system") or "qemu:///system"
    if not _URI_RE.match(uri):
        raise fail("libvirt_uri", f"must be a libvirt URI such as qemu:///system, not {shown(uri)}")
    if transport == "ssh" and check_required:
        scheme, rest = uri.split("://", 1)
        if "+" in scheme or not rest.startswith("/") or scheme == "test":
            raise fail("libvirt_uri",
                       f"must be a local driver URI such as qemu:///system or xen:///system for an ssh host "
                       f"(hvdeck reaches the remote libvirt socket through the host's SSH connection), not {shown(uri)}")
    socket = text("libvirt_socket", DEFAULT_LIBVIRT_SOCKET) or DEFAULT_LIBVIRT_SOCKET
    if not socket.startswith("/"):
        raise fail("libvirt_socket", f"must be an absolute path, not {shown(socket)}")

    read_only = raw.get("read_only", False)
    if not isinstance(read_only, bool):
        raise fail("read_only", f"must be true or false, not {shown(read_only)}")
    tags = raw.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t and len(t) <= 64 for t in tags):
        raise fail("tags", "must be a list of words (each at most 64 characters)")
    interval = raw.get("poll_interval", poll_interval)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0.2 <= interval <= 3600:
        raise fail("poll_interval", f"must be a number of seconds between 0.2 and 3600, not {shown(interval)}")
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
