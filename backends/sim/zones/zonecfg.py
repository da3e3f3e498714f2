"""``zonecfg``: the command language, its three ways in, and the messages it prints.

The lexer follows illumos zonecfg_lex.l: a command keyword, then tokens in which ``=``, ``[``, ``]``,
``(``, ``)`` are separators and commas separate only inside lists and complex values (so
``set limitpriv=default,dtrace_proc`` is one value); ``"..."`` quotes; ``#`` comments; ``;`` and newlines
end commands. The interpreter follows zonecfg.c: a working copy of the configuration (``handle``), global
and resource scope, ``need_to_commit``, and the end-of-input ``cleanup`` that commits (verifying first).

Ways in (zonecfg.c ``main``): commands on the command line (``one_command_at_a_time``: the arguments
joined with spaces, so ``zonecfg -z z 'create -b; set zonepath=/zones/z'`` works); ``-f FILE``
(``cmd_file``: stops at the first error, messages prefixed ``On line N of FILE:``); and ``-f -``, which
reads the script from standard input and "is essentially the same as interactive mode" (``cmd_file``):
it does not stop at errors, and prefixes ``On line N:``. Both -f modes commit at the end of input.

Messages are zonecfg.c's (``zerr``, ``zone_perror`` with libzonecfg's ``zonecfg_strerror`` texts) unless
marked RECONSTRUCTED. zonecfg then prints its usage after a syntax error; that long help is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from . import formats
from .formats import parse_size
from .model import CPU_CAP, MAX_LOCKED, MAX_SWAP, RCTL_ALIASES, Config, Layout, Platform, Resource, State, Zone, valid_zone_name
from .zonecfg_lex import Command, SyntaxError_, Token, Value, ZonecfgExit, assignments, lex, value_at

Z_ERR, Z_USAGE = 1, 2

_RESOURCES = {
    Layout.ILLUMOS: ("fs", "net", "device", "rctl", "attr", "dataset", "dedicated-cpu", "capped-cpu",
                     "capped-memory", "admin"),
    Layout.SOLARIS11: ("fs", "net", "anet", "device", "rctl", "attr", "dataset", "dedicated-cpu", "capped-cpu",
                       "capped-memory", "admin"),
}
_GLOBALS = {
    Layout.ILLUMOS: ("zonename", "zonepath", "brand", "autoboot", "bootargs", "pool", "limitpriv",
                     "scheduling-class", "ip-type", "hostid", "fs-allowed"),
    Layout.SOLARIS11: ("zonename", "zonepath", "brand", "autoboot", "autoshutdown", "bootargs", "file-mac-profile",
                       "pool", "limitpriv", "scheduling-class", "ip-type", "hostid", "fs-allowed"),
}
#: the properties ``set`` takes inside each resource (zonecfg.c ``set_func``): those export prints, and the
#: capped-cpu and capped-memory ones that are stored as resource controls
_RESOURCE_SET = {layout: {**formats.RESOURCE_PROPS[layout], "capped-cpu": ("ncpus",),
                          "capped-memory": ("physical", "swap", "locked")} for layout in Layout}
#: zonecfg.c ``end_func``: properties a resource must have before ``end``
_REQUIRED = {"fs": ("dir", "special", "type"), "net": ("physical",), "anet": ("linkname",), "device": ("match",),
             "attr": ("name", "type", "value"), "dedicated-cpu": ("ncpus",), "admin": ("user", "auths")}


class Store(Protocol):
    """What zonecfg needs of the global zone (`ZonesWorld` provides it)."""

    layout: Layout
    platform: Platform
    zones: dict[str, Zone]

    def save_config(self, name: str, config: Config) -> None: ...

    def delete_zone(self, name: str) -> None: ...

    def detached_config(self, path: str) -> Config | None: ...

    def write_file(self, path: str, text: str) -> str | None: ...

    def read_file(self, path: str) -> str | None: ...


@dataclass
class Zonecfg:
    """One zonecfg run. ``mode`` is ``line`` (commands as arguments), ``file`` (``-f FILE``), ``stdin``
    (``-f -``) or ``interactive`` (no commands, standard input not a terminal)."""

    store: Store
    zone: str
    mode: str = "line"
    file_name: str = ""
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    handle: Config | None = None
    need_to_commit: bool = False
    saw_error: bool = False
    global_scope: bool = True
    scope: str = ""
    current: Resource | None = None
    selected: Resource | None = None
    time_to_exit: bool = False
    line: int = 1
    _last_line: int = 0

    @property
    def layout(self) -> Layout:
        return self.store.layout

    # -- messages (zonecfg.c zerr, zone_perror, scope_usage) --

    def zerr(self, message: str) -> None:
        if self.mode in ("file", "stdin") and self.line > self._last_line:
            where = f"On line {self.line}:" if self.mode == "stdin" else f"On line {self.line} of {self.file_name}:"
            self.err.append(where + "\n")
            self._last_line = self.line
        self.err.append(message + "\n")

    def perror(self, prefix: str, message: str) -> None:
        self.zerr(f"{prefix}: {message}")
        self.saw_error = True

    def syntax(self, token: str) -> None:
        """zonecfg_lex.l ``yyerror``."""
        where = f" on line {self.line}" if self.mode in ("file", "stdin") else ""
        self.err.append(f"syntax error{where} at '{token}'\n")
        self.saw_error = True

    def scope_usage(self, command: str) -> None:
        self.zerr(f"The {command} command only makes sense in the {'resource' if self.global_scope else 'global'} "
                  "scope.")
        self.saw_error = True

    # -- running --

    def run(self, script: str) -> int:
        """Run a script; returns zonecfg's exit status (0, or Z_ERR)."""
        try:
            for item in lex(script):
                if isinstance(item, SyntaxError_):
                    self.syntax(item.token)
                else:
                    self.line = item.line
                    self._command(item)
                if self.mode == "file" and self.saw_error:
                    self.time_to_exit = True
                if self.time_to_exit:
                    break
            return self._cleanup()
        except ZonecfgExit:
            return Z_ERR

    def _command(self, command: Command) -> None:
        handler: Callable[[list[Token]], None] = getattr(self, "_" + command.name.replace("-", "_"))
        try:
            handler(command.tokens)
        except SyntaxError_ as error:
            self.syntax(error.token)

    def _cleanup(self) -> int:
        """zonecfg.c ``cleanup``: an open resource is an error; otherwise commit what changed."""
        if not self.global_scope:
            if not self.time_to_exit:
                self.zerr("Resource incomplete.")
                return Z_ERR
            self.saw_error = True
        if self.need_to_commit and self.handle is not None:
            self._verify(save=True)
            if self.need_to_commit:
                self.zerr("Configuration not saved.")
                return Z_ERR
        return Z_ERR if self.saw_error else 0

    def _initialize(self) -> bool:
        """zonecfg.c ``initialize``: load the zone's configuration into the working copy."""
        if self.handle is not None:
            return True
        zone = self.store.zones.get(self.zone)
        if zone is None:
            self.perror(self.zone, "No such zone configured")
            if self.mode in ("stdin", "interactive"):
                self.out.append("Use 'create' to begin configuring a new zone.\n")
            return False
        self.handle = zone.config.copy()
        return True

    def _state_at_least(self, state: State) -> bool:
        zone = self.store.zones.get(self.zone)
        return zone is not None and zone.state.rank >= state.rank

    def _read_only(self) -> bool:
        if self.zone.startswith("SUNW"):
            self.zerr(f"{self.zone}: zones beginning with SUNW are read-only.")
            self.saw_error = True
            return True
        return False

    @staticmethod
    def _flags(tokens: list[Token], letters: str) -> tuple[dict[str, str], list[Token]]:
        """getopt over the tokens: ``letters`` as in getopt (``a:bFt:``)."""
        opts: dict[str, str] = {}
        at = 0
        while at < len(tokens) and not tokens[at].sep and tokens[at].text.startswith("-") and len(tokens[at].text) > 1:
            for index, letter in enumerate(tokens[at].text[1:]):
                spec = letters.find(letter)
                if spec < 0:
                    raise SyntaxError_(tokens[at].text)
                if spec + 1 < len(letters) and letters[spec + 1] == ":":
                    rest = tokens[at].text[index + 2:]
                    if rest:
                        opts[letter] = rest
                    elif at + 1 < len(tokens) and not tokens[at + 1].sep:
                        at += 1
                        opts[letter] = tokens[at].text
                    else:
                        raise SyntaxError_(tokens[at].text)
                    break
                opts[letter] = ""
            at += 1
        return opts, tokens[at:]

    # -- commands --

    def _create(self, tokens: list[Token]) -> None:
        opts, rest = self._flags(tokens, "a:bFt:")
        if rest:
            raise SyntaxError_(rest[0].text)
        if self._read_only():
            return
        existing = self.store.zones.get(self.zone)
        if existing is not None:
            if existing.state.rank >= State.INSTALLED.rank:
                self.zerr(f"Zone {self.zone} already installed; create not allowed.")
                self.saw_error = True
                return
            if "F" not in opts:
                self.zerr("Zone exists, input not from terminal and -F not specified:\ncreate command ignored, "
                          "exiting.")
                raise ZonecfgExit
            self.out.append(f"Zone {self.zone} already exists; overwriting.\n")
        if "a" in opts:
            config = self.store.detached_config(opts["a"])
            if config is None:
                # zonecfg.c create_func: this message neither sets saw_error nor ends the run, so a
                # one-command `create -a BADPATH` exits 0 having created nothing
                self.err.append("invalid path to detached zone\n")
                return
        else:
            config = self._template("SYSblank" if "b" in opts else opts.get("t", "SYSdefault"))
            if config is None:
                self.perror(opts["t"], "No such zone configured")
                return
        self.handle = config
        self.need_to_commit = True

    def _template(self, name: str) -> Config | None:
        """``create`` (SYSdefault), ``create -b`` (SYSblank) or ``create -t ZONE`` (a copy of any zone's
        configuration). Solaris 11 SYSdefault is zones.md §4's second VERBATIM sample; illumos templates
        and the blank ones are RECONSTRUCTED (the default brand, autoboot false)."""
        platform = self.store.platform
        if name in ("SYSblank", "SUNWblank"):
            return Config({"brand": platform.default_brand, "autoboot": "false"})
        if name in ("SYSdefault", "SUNWdefault"):
            if self.layout is Layout.SOLARIS11:
                return Config({"brand": platform.default_brand, "zonepath": platform.default_zonepath,
                               "autoboot": "false", "autoshutdown": "shutdown", "ip-type": "exclusive"},
                              [Resource("anet", {"linkname": "net0", "lower-link": "auto",
                                                 "configure-allowed-address": "true",
                                                 "link-protection": "mac-nospoof", "mac-address": "auto"})])
            return Config({"brand": platform.default_brand, "autoboot": "false", "ip-type": "shared"})
        source = self.store.zones.get(name)
        if source is None:
            return None
        config = source.config.copy()
        for anet in config.of_type("anet"):
            anet.props.pop("auto-mac-address", None)  # Solaris 11 create_func: zonecfg_clear_automac
        return config

    def _set(self, tokens: list[Token]) -> None:
        pairs = assignments(tokens)
        if len(pairs) != 1:
            raise SyntaxError_(tokens[0].text if tokens else "\\n")
        prop, value = pairs[0]
        if self._read_only() or not self._initialize():
            return
        if self.global_scope:
            self._set_global(prop, value)
        else:
            self._set_resource(prop, value)

    def _set_global(self, prop: str, value: Value) -> None:
        assert self.handle is not None
        if prop in RCTL_ALIASES:
            if not isinstance(value, str) or not value.isdigit():
                self.zerr(f"{prop} must be a non-negative integer.")  # RECONSTRUCTED wording
                self.saw_error = True
                return
            name, action = RCTL_ALIASES[prop]
            self.handle.set_rctl(name, value, action)
            self.need_to_commit = True
            return
        if prop not in _GLOBALS[self.layout] or not isinstance(value, str):
            raise SyntaxError_(prop)
        if prop in ("zonepath", "brand") and self._state_at_least(State.INSTALLED):
            self.zerr(f"Zone {self.zone} already installed; set {prop} not allowed.")
            self.saw_error = True
            return
        if prop == "zonepath":
            if not value.startswith("/"):
                self.zerr(f"{value} is not an absolute path.")
                self.saw_error = True
                return
            if value.strip("/") == "":
                self.zerr("/ is not allowed as a zonepath.")
                self.saw_error = True
                return
        checks = {"autoboot": ("true", "false"), "ip-type": ("shared", "exclusive"),
                  "autoshutdown": ("shutdown", "halt", "suspend")}
        if prop in checks and value not in checks[prop]:
            self.zerr(f"{prop} value must be one of: {', '.join(checks[prop])}.")  # RECONSTRUCTED wording
            self.saw_error = True
            return
        if prop == "brand" and value not in self.store.platform.brands:
            self.zerr(f"{value}: unknown brand.")  # RECONSTRUCTED wording
            self.saw_error = True
            return
        if prop == "zonename":
            self.perror(prop, "Invalid argument")  # renaming is not simulated (RECONSTRUCTED refusal)
            return
        self.handle.props[prop] = value
        self.need_to_commit = True

    def _set_resource(self, prop: str, value: Value) -> None:
        assert self.current is not None and self.handle is not None
        kind = self.current.type
        if prop not in _RESOURCE_SET[self.layout].get(kind, ()):
            self.perror(prop, "No such property type")
            return
        if not isinstance(value, str):
            self.zerr("A simple value was expected here.")
            self.saw_error = True
            return
        if kind == "capped-cpu":
            try:
                cap = float(value)
            except ValueError:
                cap = -1
            if cap <= 0:
                self.zerr(f"{prop} property is out of range.")  # RECONSTRUCTED wording
                self.saw_error = True
                return
            self.handle.set_rctl(CPU_CAP, str(int(cap * 100)), "deny")
            self.need_to_commit = True
            return
        if kind == "capped-memory":
            size = parse_size(value)
            minimum = {"physical": 1 << 20, "swap": 50 << 20, "locked": 0}[prop]
            if size is None or (prop != "locked" and size <= 0):
                self.zerr("A positive number with a required scale suffix (K, M, G or T) was expected here.")
                self.saw_error = True
            elif size < minimum:
                self.zerr(f"{prop} value is too small.  It must be at least {formats.bytes_to_units(minimum)}.")
                self.saw_error = True
            elif prop == "physical":
                self.current.props["physical"] = str(size)
            else:
                self.handle.set_rctl(MAX_SWAP if prop == "swap" else MAX_LOCKED, str(size), "deny")
                self.need_to_commit = True
            return
        self.current.props[prop] = value

    def _add(self, tokens: list[Token]) -> None:
        if not tokens:
            raise SyntaxError_("\\n")
        if self._read_only() or not self._initialize():
            return
        assert self.handle is not None
        if not self.global_scope:
            self._add_property(tokens)
            return
        kind = tokens[0].text
        if tokens[0].sep or kind not in _RESOURCES[self.layout]:
            raise SyntaxError_(kind)
        if len(tokens) > 1:
            raise SyntaxError_(tokens[1].text)
        if kind in ("dedicated-cpu", "capped-cpu") and self.handle.of_type("dedicated-cpu"):
            self.zerr("The dedicated-cpu resource already exists.")
            self.saw_error = True
            return
        if kind in ("dedicated-cpu", "capped-cpu") and self.handle.rctl(CPU_CAP):
            self.zerr("The capped-cpu resource already exists.")
            self.saw_error = True
            return
        if kind == "capped-memory" and (self.handle.of_type(kind) or self.handle.rctl(MAX_SWAP)
                                        or self.handle.rctl(MAX_LOCKED)):
            self.zerr("The capped-memory resource or a related resource control already exists.")
            self.saw_error = True
            return
        resource = Resource(kind)
        if kind == "anet":  # Solaris 11 zonecfg.c add_resource: initial values
            resource.props.update({"link-protection": "mac-nospoof", "configure-allowed-address": "true"})
        self.global_scope, self.scope, self.current, self.selected = False, kind, resource, None

    def _add_property(self, tokens: list[Token]) -> None:
        assert self.current is not None
        prop = tokens[0].text
        value, after = value_at(tokens, 1)
        if after != len(tokens):
            raise SyntaxError_(tokens[after].text)
        if self.current.type == "fs" and prop == "options":
            items = value if isinstance(value, list) else [value]
            self.current.options += [str(item) for item in items]
        elif self.current.type == "rctl" and prop == "value":
            values: list = value if isinstance(value, list) and value and isinstance(value[0], list) else [value]
            for item in values:
                pairs = dict(item) if isinstance(item, list) else {}
                missing = [key for key in ("priv", "limit", "action") if key not in pairs]
                for key in missing:
                    self.zerr(f"{key} not specified")
                if missing:
                    self.saw_error = True
                    return
                self.current.values.append((pairs["priv"], pairs["limit"], pairs["action"]))
        else:
            self.perror(prop, "No such property type")

    def _end(self, tokens: list[Token]) -> None:
        if tokens:
            raise SyntaxError_(tokens[0].text)
        if self.global_scope:
            self.scope_usage("end")
            return
        assert self.current is not None and self.handle is not None
        resource = self.current
        missing = [p for p in _REQUIRED.get(resource.type, ()) if not resource.props.get(p)]
        for prop in missing:
            self.zerr(f"{prop} not specified")
        if resource.type == "rctl":
            if not resource.props.get("name"):
                self.zerr("name not specified")
                missing.append("name")
            if not resource.values:
                self.zerr("no value specified")
                missing.append("value")
        if resource.type == "dataset" and not resource.props.get("name"):
            self.zerr("name not specified")
            missing.append("name")
        if resource.type == "capped-cpu" and not self.handle.rctl(CPU_CAP):
            self.zerr("ncpus not specified")
            missing.append("ncpus")
        if resource.type == "fs" and resource.props.get("dir", "/")[:1] != "/":
            self.zerr(f"dir {resource.props['dir']} is not an absolute path.")
            missing.append("dir")
        if missing:
            self.saw_error = True
            return
        if self.selected is None and self._duplicate(resource):
            self.saw_error = True
            return
        if resource.type == "capped-memory" and not resource.props.get("physical"):
            pass  # swap and locked live as rctls already
        elif resource.type != "capped-cpu":
            if self.selected is not None:
                self.handle.resources[self.handle.resources.index(self.selected)] = resource
            else:
                self.handle.resources.append(resource)
        self.need_to_commit = True
        self.global_scope, self.scope, self.current, self.selected = True, "", None, None

    def _duplicate(self, resource: Resource) -> bool:
        """zonecfg.c ``end_func``: "A fs resource with the dir '/home' already exists." and the like."""
        assert self.handle is not None
        key = {"fs": "dir", "device": "match", "rctl": "name", "attr": "name", "dataset": "name",
               "anet": "linkname"}.get(resource.type)
        if key is None:
            return False
        value = resource.props.get(key, "")
        if any(r.props.get(key) == value for r in self.handle.of_type(resource.type)):
            article = "An" if resource.type in ("attr", "anet") else "A"
            self.zerr(f"{article} {resource.type} resource with the {key} '{value}' already exists.")
            return True
        return False

    def _cancel(self, tokens: list[Token]) -> None:
        if self.global_scope:
            self.scope_usage("cancel")
        self.global_scope, self.scope, self.current, self.selected = True, "", None, None

    def _matching(self, kind: str, pairs: Sequence[tuple[str, Value]]) -> list[Resource]:
        assert self.handle is not None
        if kind == "capped-cpu":
            cap = self.handle.rctl(CPU_CAP)
            return [cap] if cap else []
        return [r for r in self.handle.of_type(kind)
                if all(r.props.get(p) == v for p, v in pairs if isinstance(v, str))]

    def _select(self, tokens: list[Token]) -> None:
        if not tokens or tokens[0].sep:
            raise SyntaxError_(tokens[0].text if tokens else "\\n")
        kind = tokens[0].text
        if kind not in _RESOURCES[self.layout]:
            raise SyntaxError_(kind)
        pairs = assignments(tokens[1:])
        if not self.global_scope:
            self.scope_usage("select")
            return
        if not self._initialize():
            return
        found = self._matching(kind, pairs)
        if len(found) != 1:
            # zonecfg.c z_cmd_rt_perror (Z_NO_RESOURCE_ID) and the "multiple" message of select_func
            message = "No such resource with that id" if not found else \
                "More than one resource matches; qualify it further"  # RECONSTRUCTED (the second)
            self.zerr(f"select {kind}: {message}")
            self.saw_error = True
            return
        if kind == "capped-cpu":
            self.global_scope, self.scope, self.current, self.selected = False, kind, Resource(kind), None
            return
        self.global_scope, self.scope = False, kind
        self.selected, self.current = found[0], found[0].copy()

    def _remove(self, tokens: list[Token]) -> None:
        if not self._initialize():
            return
        assert self.handle is not None
        if not self.global_scope:
            prop = tokens[0].text if tokens else ""
            value, _after = value_at(tokens, 1)
            assert self.current is not None
            if prop == "options" and self.current.type == "fs":
                for item in value if isinstance(value, list) else [value]:
                    if item in self.current.options:
                        self.current.options.remove(str(item))
            else:
                self.perror(prop, "No such property type")
            return
        opts, rest = self._flags(tokens, "F")
        if not rest or rest[0].sep or rest[0].text not in _RESOURCES[self.layout]:
            raise SyntaxError_(rest[0].text if rest else "\\n")
        kind = rest[0].text
        found = self._matching(kind, assignments(rest[1:]))
        if not found:
            self.zerr(f"remove {kind}: No such resource with that id")
            self.saw_error = True
            return
        if len(found) > 1 and "F" not in opts:
            self.zerr("There are multiple instances of this resource.  Either qualify the resource to remove a "
                      "single instance or use the -F option to remove all instances.")
            self.saw_error = True
            return
        for resource in found:
            self.handle.resources.remove(resource)
        self.need_to_commit = True

    def _clear(self, tokens: list[Token]) -> None:
        if len(tokens) != 1 or tokens[0].sep:
            raise SyntaxError_(tokens[1].text if len(tokens) > 1 else "\\n")
        if not self._initialize():
            return
        assert self.handle is not None
        prop = tokens[0].text
        if not self.global_scope:
            assert self.current is not None
            self.current.props.pop(prop, None)
            return
        if prop in RCTL_ALIASES:
            rctl = self.handle.rctl(RCTL_ALIASES[prop][0])
            if rctl is not None:
                self.handle.resources.remove(rctl)
        elif prop in _GLOBALS[self.layout]:
            self.handle.props.pop(prop, None)
        else:
            raise SyntaxError_(prop)
        self.need_to_commit = True

    def _info(self, tokens: list[Token]) -> None:
        if not self._initialize():
            return
        assert self.handle is not None
        if not self.global_scope and self.current is not None:
            config = Config(resources=[self.current])
            self.out.append(formats.info(config, self.layout, self.zone, self.current.type))
            return
        kind = tokens[0].text if tokens and not tokens[0].sep else None
        if kind is not None and kind not in _RESOURCES[self.layout] and kind not in _GLOBALS[self.layout] \
                and kind not in RCTL_ALIASES:
            raise SyntaxError_(kind)
        if kind is None:
            self.out.append(formats.info(self.handle, self.layout, self.zone))
            return
        pairs = [(p, v) for p, v in assignments(tokens[1:]) if isinstance(v, str)]
        if pairs:
            matching = self._matching(kind, pairs)
            if not matching:
                self.out.append(f"No such {kind} resource.\n")
                return
            config = Config(dict(self.handle.props), [r for r in self.handle.resources if r in matching])
            self.out.append(formats.info(config, self.layout, self.zone, kind))
            return
        self.out.append(formats.info(self.handle, self.layout, self.zone, kind))

    def _export(self, tokens: list[Token]) -> None:
        opts, rest = self._flags(tokens, "f:")
        if rest:
            raise SyntaxError_(rest[0].text)
        if not self._initialize():
            return
        assert self.handle is not None
        text = formats.export(self.handle, self.layout)
        if "f" in opts:
            problem = self.store.write_file(opts["f"], text)
            if problem:
                self.zerr(f"opening file {opts['f']}: {problem}")
                self.saw_error = True
            return
        self.out.append(text)

    def _verify(self, tokens: list[Token] | None = None, *, save: bool = False) -> None:
        """zonecfg.c ``verify_func`` (and ``commit_func``, which is verify with save)."""
        if not self._initialize():
            return
        assert self.handle is not None
        config = self.handle
        problem = ""
        zonepath = config.get("zonepath")
        if not zonepath:
            self.zerr("zonepath not specified")
            problem = "Required resource missing"
            self.saw_error = True
        brand = config.get("brand")
        if brand not in self.store.platform.brands:
            self.zerr(f"{self.zone}: unknown brand.\n")
            self.perror(self.zone, "Invalid document")
            return
        iptype = config.get("ip-type") or ("exclusive" if self.layout is Layout.SOLARIS11 else "shared")
        for net in config.of_type("net"):
            if iptype == "shared" and not net.props.get("address"):
                self.zerr("net: address not specified")
                problem = problem or "Required property missing"
                self.saw_error = True
        if not self.global_scope:
            self.zerr("resource specification incomplete")
            problem = problem or "Insufficient specification"
            self.saw_error = True
        if save:
            if not problem:
                self.store.save_config(self.zone, config.copy())
                self.need_to_commit = False
            else:
                self.zerr(f"Zone {self.zone} failed to verify")
        if problem:
            self.perror(self.zone, problem)

    def _commit(self, tokens: list[Token]) -> None:
        if tokens:
            raise SyntaxError_(tokens[0].text)
        if self._read_only():
            return
        self._verify(save=True)

    def _delete(self, tokens: list[Token]) -> None:
        opts, rest = self._flags(tokens, "F")
        if rest:
            raise SyntaxError_(rest[0].text)
        if self._read_only():
            return
        zone = self.store.zones.get(self.zone)
        if zone is not None and zone.state.rank > State.CONFIGURED.rank:
            # zonecfg.c delete_func: the state is checked first, before -F or a question ("Zone %s not in %s
            # state; %s not allowed.")
            self.zerr(f"Zone {self.zone} not in configured state; delete not allowed.")
            self.saw_error = True
            return
        if "F" not in opts:
            self.zerr("Input not from terminal and -F not specified:\ndelete command ignored, exiting.")
            raise ZonecfgExit
        if zone is None:
            self.perror(self.zone, "No such zone configured")
            return
        self.store.delete_zone(self.zone)
        self.handle, self.need_to_commit = None, False

    def _exit(self, tokens: list[Token]) -> None:
        opts, rest = self._flags(tokens, "F")
        if rest:
            raise SyntaxError_(rest[0].text)
        self.time_to_exit = True

    def _revert(self, tokens: list[Token]) -> None:
        opts, _rest = self._flags(tokens, "F")
        if not self.global_scope:
            self.zerr("You can only use revert in the global scope.\nUse 'cancel' to cancel changes to a resource "
                      "specification.")
            self.saw_error = True
            return
        if "F" not in opts:
            self.zerr("Input not from terminal and -F not specified:\nrevert command ignored, exiting.")
            raise ZonecfgExit
        zone = self.store.zones.get(self.zone)
        self.handle = zone.config.copy() if zone is not None else None
        self.need_to_commit = False

    def _help(self, tokens: list[Token]) -> None:
        self.out.append("".join(f"{usage}\n" for usage in _SHORT_USAGE))


#: zonecfg.c ``helptab`` short usages (Solaris 11 source archive)
_SHORT_USAGE = ("add <resource-type>\n\t(global scope)\nadd <property-name> <property-value>\n\t(resource scope)",
                "cancel", "clear <property-name>", "commit", "create [-F] [ -a <path> | -b | -t <template> ]",
                "delete [-F]", "end", "exit [-F]", "export [-f output-file]",
                "help [commands] [syntax] [usage] [<command-name>]",
                "info [<resource-type> [property-name=property-value]*]",
                "remove [-F] <resource-type> [ <property-name>=<property-value> ]*", "revert [-F]",
                "select <resource-type> { <property-name>=<property-value> }",
                "set <property-name>=<property-value>", "verify")


def run_zonecfg(store: Store, args: list[str], stdin: str | None) -> tuple[str, str, int]:
    """``zonecfg`` with its arguments (zonecfg.c ``main``): ``-z ZONE`` and either ``-f FILE``, ``-f -``
    (the script is ``stdin``) or commands. Returns (stdout, stderr, exit status)."""
    zone, script_file, at = "", None, 0
    while at < len(args) and args[at].startswith("-") and args[at] != "-":
        flag = args[at]
        if flag in ("-z", "-f", "-R") and at + 1 < len(args):
            if flag == "-z":
                zone = args[at + 1]
            elif flag == "-f":
                script_file = args[at + 1]
            at += 2
        elif flag.startswith(("-z", "-f")) and len(flag) > 2:
            zone, script_file = (flag[2:], script_file) if flag[1] == "z" else (zone, flag[2:])
            at += 1
        else:
            return "", "usage:\tzonecfg -z <zone>\t\t\t(interactive-mode)\n", Z_USAGE
    if zone and zone != "global" and not valid_zone_name(zone):
        return "", f"{zone}: Bogus zone name\n", Z_USAGE
    if not zone:
        return "", "usage:\tzonecfg -z <zone>\t\t\t(interactive-mode)\n", Z_USAGE
    if zone == "global":
        return _global_zone(store, args[at:])
    commands = args[at:]
    if script_file is not None:
        if script_file == "-":
            run = Zonecfg(store, zone, mode="stdin", file_name="-")
            status = run.run(stdin or "")
        else:
            text = store.read_file(script_file)
            if text is None:
                return "", f"could not open file {script_file}: No such file or directory\n", Z_ERR
            run = Zonecfg(store, zone, mode="file", file_name=script_file)
            status = run.run(text)
    elif commands:
        run = Zonecfg(store, zone)
        status = run.run(" ".join(commands) + "\n")
    else:
        # zonecfg.c do_interactive: with standard input not a terminal there are no prompts, commands are read
        # to the end of input, errors carry no line numbers, and a zone that does not exist yet is reported
        # first without counting as an error
        run = Zonecfg(store, zone, mode="interactive")
        if zone not in store.zones:
            run.err.append(f"{zone}: No such zone configured\n")
            run.out.append("Use 'create' to begin configuring a new zone.\n")
        status = run.run(stdin or "")
    return "".join(run.out), "".join(run.err), status


def _global_zone(store: Store, commands: list[str]) -> tuple[str, str, int]:
    """``zonecfg -z global``: only ``info`` and ``export`` of its (empty) resource settings are simulated
    (zonecfg.c ``info_func`` prints zonename and pool for the global zone; RECONSTRUCTED beyond that)."""
    words = " ".join(commands).split()
    if words[:1] == ["info"]:
        return "zonename: global\npool: \n", "", 0
    if words[:1] == ["export"]:
        return "create -b\n", "", 0
    return "", "global: cannot modify the global zone's configuration here.\n", Z_ERR
