"""hvdeck's settings: ``~/.config/hvdeck/settings.yaml`` (platformdirs), or the file in ``$HVDECK_CONFIG``.

Every key is optional; a missing file means every default. The full file, with the defaults::

    theme: hvdeck-dark            # hvdeck-dark | hvdeck-light | any of Textual's themes (nord, gruvbox, …)
    poll_interval: 2              # seconds between two polls of a host (0.2-3600); a host's own
                                  # poll_interval in the inventory (or its defaults:) wins
    output_limit_mb: 16           # the most output one command may return, in MiB; past it the host is
                                  # in error ("output over 16 MB")
    engine: process               # process: the hosts' connections live in a second process (the
                                  # console only renders); inline: in the console's own process
    keymap:                       # binding id -> key, or several keys (a list, or "a,b")
      app.quit: ctrl+q            # the ids are in README's key table; names as Textual spells them
      fleet.filter: [slash, f]
    console:
      detach_key: ctrl+right_square_bracket   # leaves a domain's console and returns to hvdeck
      log_dir: ~/hvdeck-consoles              # optional: console sessions are logged there
    ssh:
      max_command_channels: 6     # short commands at once on one host's connection
      max_long_channels: 3        # streams and consoles at once on one host's connection
                                  # (keep the sum below the hosts' sshd MaxSessions, 10 by default)
    table:                        # remembered: hvdeck writes these back when you change them
      sort: host                  # the column the fleet table is sorted by
      reverse: false
      group_by_host: false

A broken file stops hvdeck with one line naming the file, the line and the key at fault, as the inventory
does (the same bounded YAML loader, `hvdeck.backends.inventory.LineLoader`):
``settings.yaml:3: unknown key 'thme' at the top level (did you mean 'theme'?)``.

Names that only the UI knows (Textual's themes, the binding ids, the table's columns) are checked when the
caller passes them as a `Vocabulary`; without one, only their form is checked.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .inventory import ConfigFileError, LineLoader, LineMap, load_yaml, read_text, shown

#: the largest settings file read
MAX_SETTINGS_BYTES = 256 * 1024

DEFAULT_THEME = "hvdeck-dark"
DEFAULT_DETACH_KEY = "ctrl+right_square_bracket"

#: one key as Textual names it: modifiers, then a key name (``f1``, ``question_mark``) or one character
_KEY_RE = re.compile(r"^(?:(?:ctrl|shift|alt|meta|super|hyper)\+)*(?:[a-z][a-z0-9_]*|[^\s,+\x00-\x1f\x7f-\x9f])$")
_ID_RE = re.compile(r"^[a-z][a-z0-9_.-]*$")
_COLUMN_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class SettingsError(ConfigFileError):
    """A broken settings file: ``str()`` is the one line shown, ``FILE:LINE: message``."""


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The names the UI knows, to check the file against; None where a kind of name is not checked."""

    themes: Collection[str] | None = None
    binding_ids: Collection[str] | None = None
    columns: Collection[str] | None = None


def _hint(value: str, known: Collection[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name (by spelling, or the one ``value`` begins)."""
    close = difflib.get_close_matches(value, sorted(known), n=1) or [
        name for name in sorted(known) if value and name.startswith(value)][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _vocabulary(info: ValidationInfo) -> Vocabulary:
    context = info.context
    return context if isinstance(context, Vocabulary) else Vocabulary()


def _check_key(value: str) -> str:
    if not _KEY_RE.match(value):
        raise ValueError(f"must be a key as Textual names it (ctrl+q, f1, question_mark, a), not {shown(value)}")
    return value


def _join_keys(value: Any) -> Any:
    """A list of keys becomes Textual's "a,b" form; anything else is left for the type check."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return ",".join(value)
    return value


def _check_keys(value: str) -> str:
    for key in value.split(","):
        _check_key(key.strip())
    return ",".join(key.strip() for key in value.split(","))


def _check_binding_id(value: str, info: ValidationInfo) -> str:
    known = _vocabulary(info).binding_ids
    if known is not None and value not in known:
        raise ValueError(f"is not a binding id{_hint(value, known)}")
    if not _ID_RE.match(value):
        raise ValueError("is not a binding id (such as fleet.filter)")
    return value


Key = Annotated[str, AfterValidator(_check_key)]
Keys = Annotated[str, BeforeValidator(_join_keys), AfterValidator(_check_keys)]
BindingId = Annotated[str, AfterValidator(_check_binding_id)]


class _Section(BaseModel):
    # strict: YAML already types its values; "yes" or "5" where a flag or a number belongs is a mistake
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ConsoleSettings(_Section):
    """The console pane (a domain's serial or graphical-less console)."""

    detach_key: Key = DEFAULT_DETACH_KEY
    """The key that leaves a domain's console (every other key goes to the domain)."""
    log_dir: Path | None = None
    """Where console sessions are logged (absolute, or ``~/…``); None: not logged."""

    @field_validator("log_dir", mode="before")
    @classmethod
    def _log_dir(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be a directory path, not {shown(value)}")
        path = Path(os.path.expanduser(value))
        if not path.is_absolute():
            raise ValueError(f"must be an absolute path or start with ~/, not {shown(value)}")
        return path


class SshSettings(_Section):
    """Channel budgets on each host's one SSH connection (OpenSSH's sshd allows 10 by default)."""

    max_command_channels: int = Field(6, ge=1, le=64)
    """Short commands (polls, plan steps) running at once."""
    max_long_channels: int = Field(3, ge=1, le=64)
    """Long-lived channels (streams, consoles, forwards) open at once."""


class TableSettings(_Section):
    """The fleet table's view, remembered across runs (`save_view_state` writes it)."""

    sort: str = "host"
    """The key of the column the rows are sorted by (host, name, state, cpu, …)."""
    reverse: bool = False
    """Descending order."""
    group_by_host: bool = False
    """Rows under a line per host."""

    @field_validator("sort")
    @classmethod
    def _sort(cls, value: str, info: ValidationInfo) -> str:
        known = _vocabulary(info).columns
        if known is not None and value not in known:
            raise ValueError(f"must be a column of the table ({', '.join(known)}), not {shown(value)}"
                             f"{_hint(value, known)}")
        if not _COLUMN_RE.match(value):
            raise ValueError(f"must be a column key such as host or name, not {shown(value)}")
        return value


class Settings(_Section):
    """Everything in settings.yaml, validated. Build with `load`; ``Settings()`` is every default."""

    theme: str = DEFAULT_THEME
    """The theme's name: hvdeck-dark, hvdeck-light or one of Textual's themes."""
    keymap: dict[BindingId, Keys] = Field(default_factory=dict)
    """Binding id -> Textual key string (``"f1,question_mark"``), for `App.set_keymap`."""
    poll_interval: float = Field(2.0, ge=0.2, le=3600)
    """Seconds between two polls of a host, for hosts whose inventory entry sets none."""
    output_limit_mb: float = Field(16, gt=0, le=1024)
    """The most output one command may return, in MiB (see `output_limit_bytes`)."""
    engine: Literal["process", "inline"] = "process"
    """Where the console's hosts are polled: ``process`` (an engine process: SSH, crypto and parsing on
    the second core, the console only renders) or ``inline`` (the console's own process)."""
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    ssh: SshSettings = Field(default_factory=SshSettings)
    table: TableSettings = Field(default_factory=TableSettings)

    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        """The file these settings were read from (None when built in code); `save_view_state` writes it."""
        return self._path

    @property
    def output_limit_bytes(self) -> int:
        return int(self.output_limit_mb * 1024 * 1024)

    @field_validator("theme")
    @classmethod
    def _theme(cls, value: str, info: ValidationInfo) -> str:
        known = _vocabulary(info).themes
        if not value.strip() or (known is not None and value not in known):
            raise ValueError(f"must be hvdeck-dark, hvdeck-light or one of Textual's themes, not {shown(value)}"
                             f"{_hint(value, known or ())}")
        return value


def default_path() -> Path:
    """``$HVDECK_CONFIG``, else ``settings.yaml`` in the user config dir (~/.config/hvdeck on Linux)."""
    env = os.environ.get("HVDECK_CONFIG")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("hvdeck")) / "settings.yaml"


def load(path: str | os.PathLike[str] | None = None, *, vocabulary: Vocabulary | None = None) -> Settings:
    """Read and validate the settings (``path``, else `default_path`). A missing file gives the defaults;
    an unreadable or invalid one raises `SettingsError` naming file, line and key."""
    file = Path(path) if path is not None else default_path()
    text = read_text(file, MAX_SETTINGS_BYTES, SettingsError)
    settings = Settings() if text is None else parse(text, str(file), vocabulary=vocabulary)
    settings._path = file
    return settings


def parse(text: str, path: str = "<settings>", *, vocabulary: Vocabulary | None = None) -> Settings:
    """Validate the text of a settings file; `SettingsError` names ``path`` and the line."""
    data = load_yaml(text, path, SettingsError)
    if data is None:
        return Settings()
    if not isinstance(data, LineMap):
        raise SettingsError(path, 1, None, "the top level must be a mapping of settings (theme:, keymap:, …)")
    try:
        return Settings.model_validate(data, context=vocabulary or Vocabulary())
    except ValidationError as exc:
        raise _error(exc, data, path) from None


# -- validation errors as one line -----------------------------------------------------------------

#: what a number must be, by setting, for any problem with its value
_RANGES = {
    "poll_interval": "must be a number of seconds between 0.2 and 3600",
    "output_limit_mb": "must be a number of MiB above 0, at most 1024",
    "ssh.max_command_channels": "must be a whole number from 1 to 64",
    "ssh.max_long_channels": "must be a whole number from 1 to 64",
}

_PHRASES = {
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "string_type": "must be text",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
}


def _error(exc: ValidationError, data: LineMap, path: str) -> SettingsError:
    """The first problem (in file order) as a SettingsError; the others are counted."""
    found = sorted(((_line(data, e["loc"]), index, e) for index, e in enumerate(exc.errors())),
                   key=lambda item: (item[0], item[1]))
    line, _, first = found[0]
    loc = [str(part) for part in first["loc"] if part != "[key]"]
    if first["type"] == "extra_forbidden":
        key, parent = loc[-1], loc[:-1]
        where = f"in '{'.'.join(parent)}'" if parent else "at the top level"
        allowed = _fields(parent)
        hint = _hint(key, allowed) or f" (known: {', '.join(sorted(allowed))})"
        message = f"unknown key {shown(key)} {where}{hint}"
    else:
        name = ".".join(loc)
        if first["type"] == "value_error":
            message = f"'{name}' {str(first['msg']).removeprefix('Value error, ')}"
        else:
            phrase = (_RANGES.get(name) or _PHRASES.get(first["type"])
                      or str(first["msg"]).replace("Input should be", "must be"))
            message = f"'{name}' {phrase}, not {shown(first['input'])}"
    if len(found) > 1:
        message += f" (and {len(found) - 1} more problem{'s' if len(found) > 2 else ''})"
    return SettingsError(path, line, None, message)


def _line(data: LineMap, loc: Sequence[int | str]) -> int:
    """The line of the deepest key of ``loc`` present in the file."""
    line, node = data.line, data
    for part in loc:
        if isinstance(node, LineMap) and isinstance(part, str) and part in node:
            line, node = node.key_lines.get(part, line), node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            break
    return line


def _fields(loc: Sequence[str]) -> set[str]:
    model: Any = Settings
    for part in loc:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return set()
        model = annotation
    return set(model.model_fields)


# -- remembered view state ---------------------------------------------------------------------------

_VIEW_KEYS = ("sort", "reverse", "group_by_host")


def save_view_state(path: str | os.PathLike[str], sort: str, reverse: bool, group: bool) -> None:
    """Write ``table.sort``, ``table.reverse`` and ``table.group_by_host`` into the settings file, changing
    nothing else: every other byte of the file (comments, blank lines, key order, quoting, the other
    keys) is kept as it was. Each of the three values is replaced where it is written; a missing one is
    added after the last key of ``table:``, and a missing ``table:`` is added at the end of the file. A
    missing file is created with only ``table:``. The file is replaced atomically (a symlink is written
    through) and keeps its permissions.

    Raises `SettingsError` (nothing written) if the file is not YAML, its top level or ``table:`` is not a
    mapping, or one of the three values is an alias; ValueError for a ``sort`` that is not a column key.
    """
    if not _COLUMN_RE.match(sort):
        raise ValueError(f"not a column key: {sort!r}")
    file = Path(path).resolve()
    text = read_text(file, MAX_SETTINGS_BYTES, SettingsError) or ""
    values = {"sort": _scalar(sort), "reverse": "true" if reverse else "false",
              "group_by_host": "true" if group else "false"}
    new_text = _with_view_state(text, str(file), values)
    check = load_yaml(new_text, str(file), SettingsError)
    table = check.get("table") if isinstance(check, dict) else None
    if not isinstance(table, dict) or (table.get("sort"), table.get("reverse"), table.get("group_by_host")) != (
            sort, reverse, group):
        raise SettingsError(str(file), None, None, "could not write the table's view state; the file is unchanged")
    _replace(file, new_text)


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar that reads back as the same text."""
    if yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def _with_view_state(text: str, path: str, values: dict[str, str]) -> str:
    loader = LineLoader(text)  # bounded, as when the file is read
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise SettingsError(path, mark.line + 1 if mark else None, None,
                            f"YAML error: {problem}; the table's view state was not saved") from None
    finally:
        loader.dispose()
    edits: list[tuple[int, int, str]] = []
    if root is None or (isinstance(root, yaml.ScalarNode) and root.value == ""):
        prefix = "" if not text or text.endswith("\n") else "\n"
        block = "table:\n" + "".join(f"  {key}: {value}\n" for key, value in values.items())
        return text + prefix + block
    if not isinstance(root, yaml.MappingNode):
        raise SettingsError(path, 1, None, "the top level must be a mapping; the table's view state was not saved")
    table = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "table"), None)
    if table is None:
        if root.flow_style:
            inner = ", ".join(f"{key}: {value}" for key, value in values.items())
            edits.append(_insert_flow(text, root, f"table: {{{inner}}}"))
        else:
            indent = root.value[0][0].start_mark.column if root.value else 0
            lines = [f"{' ' * indent}table:"] + [f"{' ' * (indent + 2)}{key}: {value}" for key, value in values.items()]
            edits.append(_insert_block(text, root, lines))
    elif not isinstance(table, yaml.MappingNode):
        raise SettingsError(path, table.start_mark.line + 1, None,
                            "'table' must be a mapping; the table's view state was not saved")
    else:
        edits.extend(_set_keys(text, path, table, values))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _set_keys(text: str, path: str, mapping: yaml.MappingNode, values: dict[str, str]) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    present = {k.value: (k, v) for k, v in mapping.value if isinstance(k, yaml.ScalarNode) and k.value in values}
    for key, (key_node, value_node) in present.items():
        if value_node.start_mark.index < key_node.end_mark.index or not isinstance(value_node, yaml.ScalarNode):
            raise SettingsError(path, key_node.start_mark.line + 1, None,
                                f"'table.{key}' must be a plain value (not an alias or a collection); "
                                "the table's view state was not saved")
        start, end = value_node.start_mark.index, value_node.end_mark.index
        span = text[start:end]
        trailing = span[len(span.rstrip("\n")):] if value_node.style in ("|", ">") else ""
        edits.append((start, end, values[key] + trailing))
    missing = [key for key in values if key not in present]
    if missing:
        if mapping.flow_style:
            edits.append(_insert_flow(text, mapping, ", ".join(f"{key}: {values[key]}" for key in missing)))
        else:
            indent = mapping.value[0][0].start_mark.column if mapping.value else 2
            edits.append(_insert_block(text, mapping, [f"{' ' * indent}{key}: {values[key]}" for key in missing]))
    return edits


def _insert_flow(text: str, mapping: yaml.MappingNode, entries: str) -> tuple[int, int, str]:
    """Insert ``entries`` before the closing brace of a flow mapping."""
    close = mapping.end_mark.index - 1
    before = text[mapping.start_mark.index + 1:close].rstrip()
    separator = "" if not before or before.endswith(",") else ", "
    return close, close, separator + entries


def _insert_block(text: str, mapping: yaml.MappingNode, lines: list[str]) -> tuple[int, int, str]:
    """Insert ``lines`` after the line where a block mapping's last value ends (after its comment)."""
    node: yaml.Node = mapping
    end = mapping.start_mark.index
    # down to the last value written: a scalar, or a collection in flow style ({…}, […])
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        if isinstance(last, tuple):
            end = max(end, last[0].end_mark.index)
            last = last[1]
        node = last
    if node.end_mark.index > end:  # not an alias of something written earlier
        end = node.end_mark.index
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
            return end, end, "\n".join(lines) + "\n"  # a block scalar ends at the start of a line
    newline = text.find("\n", end)
    if newline < 0:
        return len(text), len(text), "\n" + "\n".join(lines) + "\n"
    return newline, newline, "\n" + "\n".join(lines)


def _replace(file: Path, text: str) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = file.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=file.parent, prefix=f".{file.name}.",
                                         delete=False)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(handle.name, mode)
        else:
            os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, file)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
