"""`ZonesWorld`: one simulated global zone — its zones, storage, consoles — and how commands reach it.

``run(argv)`` runs one command (zoneadm, zonecfg, zfs, dladm, zlogin, uname, hostname, zonename);
``await handle(line, read_stdin)`` runs a shell command line (the SSH server's `Handler`); ``await
process(line, channel)`` takes the command lines that need a channel of their own (the `ProcessHandler`):
``zlogin -C``, ``zfs send``, ``zfs receive``, and long zoneadm operations when ``op_seconds`` > 0.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid as uuidlib
from collections.abc import Sequence
from typing import Any

import asyncssh

from ..shell import CommandNotFound, ShellSyntaxError, run_line, split_commands
from ..sshserver import Reply, StdinReader
from . import brands, formats, zfs
from .console import Console, zlogin_console
from .dladm import run_dladm
from .formats import ListRow
from .model import KERNEL_STATES, PLATFORMS, Config, Layout, Platform, State, Zone, valid_zone_name
from .storage import MAX_STREAM, Node, Storage, ZfsError, send_stream
from .zoneadm import Pending, run_zoneadm
from .zonecfg import run_zonecfg

_SBIN = ("/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/")


class ZonesWorld:
    """A global zone. ``layout`` picks the platform (``illumos``: OmniOS; ``solaris11``: Oracle Solaris
    11.4) unless ``platform`` is given. Storage starts with pool ``pool`` holding the root and /export
    filesystems and ``POOL/zones`` mounted at /zones; `demo` adds zones, archives and images."""

    def __init__(self, hostname: str = "omni-a", layout: str | Layout = Layout.ILLUMOS, *,
                 platform: Platform | None = None, seed: int = 0, clock: Any = time.time, pool: str = "rpool",
                 pool_size: int = 1 << 40, op_seconds: float = 0.0) -> None:
        self.hostname = hostname
        self.platform = platform or PLATFORMS[Layout(layout).value]
        self.layout = self.platform.layout
        self.clock = clock
        self.op_seconds = op_seconds
        self.pool = pool
        self.global_uuid = ""
        self.zones: dict[str, Zone] = {}
        self.consoles: dict[str, Console] = {}
        self._rng = random.Random(f"zones/{hostname}/{seed}")
        self._next_zoneid = 1
        self._pid = 4000 + self._rng.randrange(20000)
        #: the host's own datalinks: name -> (class, the link it is over); running zones add theirs (`dladm`)
        self.links: dict[str, tuple[str, str]] = (
            {"igb0": ("phys", "--"), "igb1": ("phys", "--"), "e1000g0": ("phys", "--")}
            if self.layout is Layout.ILLUMOS else {"net0": ("phys", "--"), "net1": ("phys", "--")})
        self.storage = Storage()
        storage = self.storage
        storage.add_pool(pool, pool_size)
        storage.create(f"{pool}/ROOT", mountpoint="legacy")
        be = "omnios-r151046" if self.layout is Layout.ILLUMOS else "solaris"
        storage.create(f"{pool}/ROOT/{be}", mountpoint="/", own=5 << 30)
        storage.create(f"{pool}/export", mountpoint="/export")
        storage.create(f"{pool}/export/home", own=120 << 20)
        storage.create(f"{pool}/zones", mountpoint="/zones")
        for directory in ("/tmp", "/var/tmp", "/root", "/etc/zones"):
            storage.mkdirs(directory)
        if self.layout is Layout.SOLARIS11:
            storage.create(f"{pool}/VARSHARE", mountpoint="/var/share", own=80 << 20)
            storage.create(f"{pool}/VARSHARE/zones", mountpoint="/system/zones")

    # -- identities --

    @property
    def installed_rank(self) -> int:
        return State.INSTALLED.rank

    def token(self) -> str:
        """mktemp's six characters (log file names)."""
        return "".join(self._rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                       for _ in range(6))

    def pid(self) -> int:
        self._pid += self._rng.randrange(3, 40)
        return self._pid

    def stamp(self) -> str:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock()))

    def install_seconds(self) -> float:
        return round(self._rng.uniform(60.0, 120.0), 3)

    def new_uuid(self) -> str:
        return str(uuidlib.UUID(int=self._rng.getrandbits(128), version=4))

    def console(self, name: str) -> Console:
        return self.consoles.setdefault(name, Console(self, name))

    # -- zones as zoneadm lists them --

    def global_row(self) -> ListRow:
        platform = self.platform
        return ListRow(0, "global", "running", "/", self.global_uuid, platform.global_brand, "shared",
                       platform.global_debugid, "-", "none")

    def row(self, zone: Zone) -> ListRow:
        profile = zone.config.get("file-mac-profile") or "none"
        readonly = "-"
        if zone.state is State.RUNNING:
            readonly = "R" if profile != "none" and not zone.writable else "W"
        return ListRow(zone.zoneid if zone.state in KERNEL_STATES else None, zone.name, zone.state.value,
                       zone.listed_path if zone.listed_path is not None else zone.zonepath, zone.uuid, zone.brand,
                       zone.iptype(self.layout), zone.debugid, readonly, profile)

    def rows(self, minimum: State) -> list[ListRow]:
        """zoneadm.c ``zone_print_list``: the kernel's zones (global first, by zone ID), then, below
        ``running``, the others in /etc/zones/index order whose state is at least ``minimum``."""
        kernel = sorted((z for z in self.zones.values() if z.state in KERNEL_STATES), key=lambda z: z.zoneid or 0)
        rows = [self.global_row(), *(self.row(z) for z in kernel)]
        if minimum is not State.RUNNING:
            rows += [self.row(z) for z in self.zones.values()
                     if z.state not in KERNEL_STATES and z.state.rank >= minimum.rank]
        return rows

    # -- zonecfg's store --

    def save_config(self, name: str, config: Config) -> None:
        zone = self.zones.get(name)
        if zone is None:
            debugids = [z.debugid for z in self.zones.values() if z.debugid is not None]
            zone = Zone(name, config, uuid=self.new_uuid(),
                        debugid=(max(debugids, default=0) + 1) if self.layout is Layout.ILLUMOS else None)
            self.zones[name] = zone
        else:
            zone.config = config

    def delete_zone(self, name: str) -> None:
        self.zones.pop(name, None)
        self.consoles.pop(name, None)

    def detached_config(self, path: str) -> Config | None:
        """zonecfg ``create -a PATH``: the configuration in PATH/SUNWdetached.xml, with PATH as zonepath."""
        node = self.storage.nodes.get(f"{path.rstrip('/')}/SUNWdetached.xml")
        if node is None or node.kind != "manifest":
            return None
        config = _config_from_json(node.meta["config"])
        config.props["zonepath"] = path.rstrip("/") or "/"
        return config

    def write_file(self, path: str, text: str) -> str | None:
        if not path.startswith("/"):
            path = f"/root/{path}"
        if not self.storage.exists(path.rpartition("/")[0] or "/"):
            return "No such file or directory"
        self.storage.put(path, Node("file", {"text": text}, len(text)))
        return None

    def read_file(self, path: str) -> str | None:
        node = self.storage.nodes.get(path if path.startswith("/") else f"/root/{path}")
        return node.meta.get("text") if node is not None and node.kind == "file" else None

    def file_info(self, path: str) -> tuple[str, dict, int] | None:
        node = self.storage.nodes.get(path.rstrip("/") or "/")
        return None if node is None else (node.kind, node.meta, node.size)

    # -- the life cycle (zoneadmd) --

    def to_ready(self, zone: Zone, *, event: str | None, bootargs: str = "") -> None:
        if zone.zoneid is None or zone.state not in KERNEL_STATES:
            used = {z.zoneid for z in self.zones.values() if z.state in KERNEL_STATES and z.zoneid is not None}
            while self._next_zoneid in used:
                self._next_zoneid += 1
            zone.zoneid, self._next_zoneid = self._next_zoneid, self._next_zoneid + 1
        if zone.debugid is None and self.layout is Layout.ILLUMOS:  # zoneadm.c verify_fix_did
            zone.debugid = max((z.debugid or 0 for z in self.zones.values()), default=0) + 1
        zone.state = State.READY
        if event == "booting" and bootargs:
            self.console(zone.name).emit(f"\r\n[NOTICE: Zone booting up with arguments: {bootargs}]\r\n")
        elif event is not None:
            self.console(zone.name).notice(event)

    def to_running(self, zone: Zone) -> None:
        zone.state, zone.booted_at = State.RUNNING, self.clock()
        self.console(zone.name).booted()

    def to_shutting_down(self, zone: Zone) -> None:
        zone.state = State.SHUTTING_DOWN
        self.console(zone.name).shutting_down()

    def to_installed(self, zone: Zone, *, event: str | None) -> None:
        zone.state, zone.zoneid, zone.booted_at = State.INSTALLED, None, None
        if event is not None:
            self.console(zone.name).notice(event)

    def zone_shell(self, name: str, line: str) -> tuple[str, str]:
        """The zone's root shell: (output, what happens next: "" prompt again, "logout", "halt", "reboot")."""
        words = line.split()
        if not words:
            return "", ""
        command, args = words[0], words[1:]
        version = self.platform.uname_version
        if command in ("exit", "logout"):
            return "", "logout"
        if command in ("halt", "poweroff") or (command in ("init", "shutdown") and args[-1:] in (["0"], ["5"])):
            return "", "halt"
        if command == "reboot" or (command == "init" and args == ["6"]):
            return "", "reboot"
        outputs = {"hostname": f"{name}\n", "zonename": f"{name}\n", "pwd": "/root\n",
                   "id": "uid=0(root) gid=0(root)\n", "echo": " ".join(args) + "\n",
                   "uname": _uname(args, name, version) or ""}
        if command in outputs:
            return outputs[command], ""
        return f"-bash: {command}: command not found\n", ""

    def act_from_zone(self, name: str, action: str) -> None:
        """``halt``/``init 0`` and ``reboot`` typed on the zone's console."""
        zone = self.zones[name]
        if action == "halt":
            self.to_shutting_down(zone)
            self.to_installed(zone, event="halted")
        else:
            self.to_installed(zone, event="rebooting")
            self.to_ready(zone, event=None)
            self.to_running(zone)

    # -- storage under zones --

    def zonepath_dataset(self, zone: Zone):
        return self.storage.filesystem_at(zone.zonepath)

    def zonepath_dataset_name(self, zone: Zone) -> str | None:
        dataset = self.zonepath_dataset(zone)
        return dataset.name if dataset is not None else None

    def create_zonepath(self, zone: Zone) -> str:
        """zfs.c ``create_zfs_zonepath``: a filesystem for the zonepath when its parent directory is a ZFS
        mountpoint; a plain directory otherwise. Solaris 11's zoneadm lists what it created
        (RECONSTRUCTED wording)."""
        storage, path = self.storage, zone.zonepath
        if self.zonepath_dataset(zone) is not None:
            return ""
        parent = storage.filesystem_at(path.rpartition("/")[0] or "/")
        if parent is None:
            storage.mkdirs(path)
            return ""
        name = f"{parent.name}/{path.rpartition('/')[2]}"
        if name in storage.datasets:
            storage.mkdirs(path)
            return ""
        storage.create(name)
        if self.layout is Layout.SOLARIS11:
            return f"The following ZFS file system(s) have been created:\n    {name}\n"
        return "A ZFS file system has been created for this zone.\n"

    def set_image(self, zone: Zone, image: dict | None) -> None:
        if image is None:
            return
        size = int(image.get("size", 0))
        self.storage.put(f"{zone.zonepath}/root", Node("image", {k: v for k, v in image.items() if k != "size"}, size))
        dataset = self.zonepath_dataset(zone)
        if dataset is not None and dataset.origin is None:  # a clone shares its origin's blocks
            dataset.own = dataset.referenced = max(dataset.own, size)

    def image(self, zone: Zone) -> dict | None:
        node = self.storage.nodes.get(f"{zone.zonepath}/root")
        if node is None or node.kind != "image":
            return None
        return dict(node.meta, size=node.size)

    def cleanup_zonepath(self, zone: Zone) -> str:
        """zoneadm.c ``cleanup_zonepath``/zfs.c ``destroy_zfs``: the zonepath filesystem is destroyed (with
        its snapshots) unless clones depend on it; then only its contents go (RECONSTRUCTED: zoneadm would
        first promote the youngest clone)."""
        storage, dataset = self.storage, self.zonepath_dataset(zone)
        if dataset is not None:
            try:
                storage.destroy(dataset.name, recursive=True)
                return "The ZFS file system for this zone has been destroyed.\n"
            except ZfsError:
                dataset.own = 0
        storage.remove_tree(zone.zonepath, keep_root=True)
        return ""

    def shared_addresses(self, source: Zone, target: Zone) -> list[str]:
        """zoneadm.c ``warn_ip_match``: addresses (netmask dropped) configured in both zones."""
        def addresses(zone: Zone) -> set[str]:
            return {r.props["address"].partition("/")[0] for r in zone.config.of_type("net") if r.props.get("address")}
        theirs = addresses(source)
        return [a for a in (r.props.get("address", "").partition("/")[0] for r in target.config.of_type("net"))
                if a and a in theirs]

    def clone_zonepath(self, source: Zone, zone: Zone, *, snapshot: str | None, copy: bool) -> tuple[str, str]:
        """zfs.c ``clone_zfs`` / ``clone_snapshot_zfs`` / zoneadm.c ``clone_copy``: (stdout, error)."""
        storage = self.storage
        parent = storage.filesystem_at(zone.zonepath.rpartition("/")[0] or "/")
        target_name = f"{parent.name}/{zone.zonepath.rpartition('/')[2]}" if parent is not None else None
        source_ds = self.zonepath_dataset(source)
        image = self.image(source) or {}
        if snapshot is not None:
            if snapshot not in storage.datasets or storage.datasets[snapshot].type != "snapshot":
                return "", f"unable to find path for {snapshot}.\n"
            out = f"Cloning snapshot {snapshot}\n"
            if target_name is not None and storage.pool_of(target_name) == storage.pool_of(snapshot):
                storage.clone(snapshot, target_name)
            else:
                out += self._copy(source, zone)
            self._retitle(zone, image)
            return out, ""
        if source_ds is not None and not copy and target_name is not None and target_name not in storage.datasets \
                and storage.pool_of(target_name) == storage.pool_of(source_ds.name):
            taken = [int(d.name.rpartition("@SUNWzone")[2]) for d in storage.descendants(source_ds.name)
                     if "@SUNWzone" in d.name and d.name.rpartition("@SUNWzone")[2].isdigit()]
            snap = f"{source_ds.name}@SUNWzone{max(taken, default=0) + 1}"
            storage.snapshot(snap)
            storage.clone(snap, target_name)
            self._retitle(zone, image)
            return "Instead of copying, a ZFS clone has been created for this zone.\n", ""
        out = self._copy(source, zone)
        self._retitle(zone, image)
        return out, ""

    def _copy(self, source: Zone, zone: Zone) -> str:
        out = self.create_zonepath(zone)
        self.storage.graft(zone.zonepath, self.storage.subtree(source.zonepath))
        dataset, origin = self.zonepath_dataset(zone), self.zonepath_dataset(source)
        if dataset is not None and origin is not None:
            dataset.own = dataset.referenced = origin.referenced
        return out + f"Copying {source.zonepath}...\n"

    def _retitle(self, zone: Zone, image: dict) -> None:
        if image:
            self.set_image(zone, dict(image, hostname=zone.name))
        self.storage.nodes.pop(f"{zone.zonepath}/SUNWdetached.xml", None)

    def move_zonepath(self, zone: Zone, new: str) -> None:
        """zfs.c ``move_zfs`` (the zonepath filesystem's mountpoint is set to the new path) or a rename."""
        storage, old = self.storage, zone.zonepath
        dataset = self.zonepath_dataset(zone)
        tree = storage.subtree(old)
        storage.remove_tree(old)
        if dataset is not None:
            dataset.mountpoint = new
        storage.graft(new, tree)
        zone.config.props["zonepath"] = new

    def detach_manifest(self, zone: Zone) -> str:
        return brands.detach_manifest(zone, zone.config, self.image(zone))

    def detach(self, zone: Zone) -> None:
        text = self.detach_manifest(zone)
        self.storage.put(f"{zone.zonepath}/SUNWdetached.xml",
                         Node("manifest", {"config": _config_to_json(zone.config), "zonename": zone.name,
                                           "brand": zone.brand, "xml": text}, len(text)))
        zone.state = State.CONFIGURED

    def attached(self, zone: Zone, image: dict | None) -> None:
        self.storage.nodes.pop(f"{zone.zonepath}/SUNWdetached.xml", None)
        if image is not None:
            self.set_image(zone, image)
        zone.state = State.INSTALLED

    # -- building worlds (demo, tests) --

    @classmethod
    def demo(cls, name: str, layout: str | Layout = Layout.ILLUMOS, seed: int = 0, **kw: Any) -> "ZonesWorld":
        """A demo host: zones in every state, archives and images for p2v, a detached zonepath to attach
        (see the `demo` module). ``kw`` go to the constructor (``clock``, ``op_seconds``...)."""
        from .demo import demo
        return demo(name, layout, seed, **kw)

    def add_zone(self, name: str, state: State = State.INSTALLED, *, brand: str | None = None,
                 zonepath: str | None = None, iptype: str | None = None, uuid: str | None = None,
                 zoneid: int | None = None, debugid: int | None = None, config: Config | None = None,
                 image: dict | None = None, dataset: bool = True, listed_path: str | None = None) -> Zone:
        """A zone as if configured (and installed, booted...) long ago. Installed zones get a zonepath
        filesystem and an image at this host's software level unless told otherwise."""
        if not valid_zone_name(name):
            raise ValueError(f"invalid zone name {name!r}")
        config = config.copy() if config is not None else Config({"autoboot": "false"})
        config.props["brand"] = brand or config.get("brand") or self.platform.default_brand
        config.props["zonepath"] = zonepath or config.get("zonepath") or f"/zones/{name}"
        if iptype is not None:
            config.props["ip-type"] = iptype
        zone = Zone(name, config, state, uuid if uuid is not None else self.new_uuid(), listed_path=listed_path)
        zone.debugid = debugid if debugid is not None or self.layout is not Layout.ILLUMOS else \
            max((z.debugid or 0 for z in self.zones.values()), default=0) + 1
        self.zones[name] = zone
        if state.rank >= State.INSTALLED.rank and state is not State.UNAVAILABLE:
            if dataset:
                self.create_zonepath(zone)
            brand_info = self.platform.brands.get(zone.brand)
            self.set_image(zone, image or {"os": brand_info.image_os if brand_info else "illumos",
                                           "level": list(self.platform.level), "entire": self.platform.entire,
                                           "hostname": name, "size": brand_info.install_size if brand_info else 0})
        if state in KERNEL_STATES:
            zone.zoneid = zoneid if zoneid is not None else self._next_zoneid
            self._next_zoneid = max(self._next_zoneid, zone.zoneid + 1)
            zone.booted_at = self.clock() if state is State.RUNNING else None
            console = self.console(name)
            console.mode = "login" if state is State.RUNNING else "idle"
        return zone

    def add_archive(self, path: str, fmt: str, os_name: str, size: int, *, hostname: str = "",
                    level: Sequence[int] = (), entire: str = "") -> None:
        """A p2v archive (``fmt``: flar, cpio, gzip, bzip2, pax, ufsdump, tar, zfs, uar; or ``text`` for a
        file that is not an archive) or, with ``fmt`` ``directory``, a root image directory."""
        meta = {"format": fmt, "os": os_name, "hostname": hostname, "level": list(level), "entire": entire}
        self.storage.put(path, Node("image" if fmt == "directory" else "archive", meta, size))
        holder = self.storage.filesystem_containing(path)
        if holder is not None:
            holder.own += size
            holder.referenced += size

    # -- running commands --

    def run(self, argv: Sequence[str], stdin: str | None = None) -> Reply:
        """One command. Raises `CommandNotFound` for a program this host does not have."""
        program = argv[0]
        if program.startswith(_SBIN):
            program = program.rpartition("/")[2]
        args = list(argv[1:])
        if program == "zoneadm":
            result = run_zoneadm(self, args)
            if isinstance(result, Pending):
                first, last = result.first, result.finish()
                return Reply(first.stdout + last.stdout, first.stderr + last.stderr, last.exit_status)
            return result
        if program == "zonecfg":
            out, err, status = run_zonecfg(self, args, stdin)
            return Reply(out, err, status)
        if program == "zfs":
            busy = {z.zonepath for z in self.zones.values() if z.state in KERNEL_STATES}
            return zfs.run_zfs(self.storage, args, busy=busy)
        if program == "zlogin":
            return self._zlogin(args)
        if program == "dladm":
            return run_dladm(self, args)
        if program == "uname":
            text = _uname(args, self.hostname, self.platform.uname_version)
            return Reply(text) if text is not None else Reply("", f"uname: illegal option -- {args[0][1:2]}\n"
                                                             "usage: uname [-snrvmapiX]\n", 2)
        if program == "hostname":
            return Reply(f"{self.hostname}\n")
        if program == "zonename":
            return Reply("global\n")
        raise CommandNotFound(program)

    def _zlogin(self, args: list[str]) -> Reply:
        """``zlogin ZONE COMMAND`` run without a channel (zlogin.c ``main``). Interactive logins and
        ``zlogin -C`` need a terminal, which a plain command line does not have."""
        console = any(a.startswith("-") and "C" in a for a in args)
        names = [a for a in args if not a.startswith("-")]
        if not names:
            return Reply("", "zlogin: usage: zlogin [ -dnQCES ] [ -e cmdchar ] [-l user] zonename "
                             "[command [args ...] ]\n", 2)
        zone = self.zones.get(names[0])
        if names[0] == "global":
            return Reply("", "zlogin: 'zlogin' not applicable to the global zone\n", 1)
        if zone is None:
            return Reply("", f"zlogin: zone '{names[0]}' unknown\n", 1)
        if zone.state.rank < State.INSTALLED.rank:
            return Reply("", f"zlogin: cannot login to a zone which is '{zone.state.value}'\n", 1)
        raw_mode = "zlogin: failed to set stdin pty to raw mode: Inappropriate ioctl for device\n"
        if console:
            return Reply(f"[Connected to zone '{zone.name}' console]\n", raw_mode, 1)
        if zone.state is not State.RUNNING:
            return Reply("", f"zlogin: login allowed only to running zones ({zone.name} is '{zone.state.value}').\n",
                         1)
        if len(names) == 1:
            return Reply(f"[Connected to zone '{zone.name}' pts/3]\n", raw_mode, 1)
        output, _after = self.zone_shell(zone.name, " ".join(names[1:]))
        if output.startswith("-bash:"):
            return Reply("", output.replace("-bash: ", "bash: ", 1), 127)
        return Reply(output)

    async def handle(self, command_line: str, read_stdin: StdinReader) -> Reply:
        """The SSH server's handler: a shell command line, as sshd would pass it to ``sh -c``. Standard
        input goes to the first command that reads it (``zonecfg -f -``, ``zonecfg -z Z`` alone)."""
        stdin: list[str | None] = [None]
        try:
            wants = any(_reads_stdin(c.argv) for c in split_commands(command_line))
        except ShellSyntaxError:
            wants = False
        if wants:
            stdin[0] = await read_stdin()

        def run_one(argv: Sequence[str]) -> Reply:
            given = stdin[0] if _reads_stdin(argv) else None
            if given is not None:
                stdin[0] = ""
            return self.run(argv, stdin=given)

        return run_line(command_line, run_one)

    async def process(self, command_line: str, process: asyncssh.SSHServerProcess) -> bool:
        """The SSH server's process handler: True when it served ``command_line`` on ``process``. A fault in
        the simulation ends the command like a failing program (never leaves the client waiting)."""
        try:
            return await self._process(command_line, process)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            raise
        except Exception as exc:  # noqa: BLE001 - as SimSSHServer does for its handler
            _write(process, Reply("", f"simulated host: {type(exc).__name__}: {exc}\n"))
            _exit(process, 1)
            return True

    async def _process(self, command_line: str, process: asyncssh.SSHServerProcess) -> bool:
        try:
            commands = split_commands(command_line)
        except ShellSyntaxError:
            return False
        if len(commands) != 1 or not commands[0].argv:
            return False
        argv = list(commands[0].argv)
        program = argv[0].rpartition("/")[2] if argv[0].startswith(_SBIN) else argv[0]
        if program == "zlogin" and any(a.startswith("-") and "C" in a for a in argv[1:]):
            await zlogin_console(self, argv[1:], process)
            return True
        if program == "zfs" and argv[1:2] == ["send"]:
            await self._send(argv[1:], process)
            return True
        if program == "zfs" and argv[1:2] in (["recv"], ["receive"]):
            await self._receive(argv[2:], process)
            return True
        if program == "zoneadm" and self.op_seconds > 0:
            result = run_zoneadm(self, argv[1:])
            if isinstance(result, Pending):
                _write(process, result.first)
                await asyncio.sleep(self.op_seconds)
                result = result.finish()
            _write(process, result)
            _exit(process, result.exit_status)
            return True
        return False

    async def _send(self, args: list[str], process: asyncssh.SSHServerProcess) -> None:
        if process.get_terminal_type():
            _write(process, Reply("", "Error: Stream can not be written to a terminal.\nYou must redirect "
                                      "standard output.\n"))
            return _exit(process, 1)
        try:
            name, verbose = zfs.check_send(self.storage, args)
            chunks = send_stream(self.storage, name)
        except ZfsError as error:
            _write(process, Reply("", f"{error}\n"))
            return _exit(process, error.status)
        if verbose:
            estimate = formats.bytes_to_units(self.storage.datasets[name].referenced)
            _write(process, Reply("", f"full send of {name} estimated size is {estimate}\ntotal estimated size is "
                                      f"{estimate}\n"))
        for chunk in chunks:
            process.stdout.write(chunk)
            await process.stdout.drain()
        _exit(process, 0)

    async def _receive(self, args: list[str], process: asyncssh.SSHServerProcess) -> None:
        data = bytearray()
        while len(data) <= MAX_STREAM:
            chunk = await process.stdin.read(1 << 16)
            if not chunk:
                break
            data += chunk
        try:
            out, err = zfs.receive(self.storage, args, bytes(data))
        except ZfsError as error:
            _write(process, Reply("", f"{error}\n"))
            return _exit(process, error.status)
        _write(process, Reply(out, err))
        _exit(process, 0)


def _write(process: asyncssh.SSHServerProcess, reply: Reply) -> None:
    try:
        if reply.stdout:
            process.stdout.write(reply.stdout.encode())
        if reply.stderr:
            process.stderr.write(reply.stderr.encode())
    except (OSError, asyncssh.Error):
        pass


def _exit(process: asyncssh.SSHServerProcess, status: int) -> None:
    try:
        process.exit(status)
    except (OSError, asyncssh.Error):
        pass


def _reads_stdin(argv: Sequence[str]) -> bool:
    """zonecfg reads a script from standard input with ``-f -`` or with no commands."""
    if not argv or argv[0].rpartition("/")[2] != "zonecfg":
        return False
    args = list(argv[1:])
    if "-f" in args and args[args.index("-f") + 1:args.index("-f") + 2] == ["-"]:
        return True
    rest = [a for i, a in enumerate(args) if not (a in ("-z", "-f", "-R") or (i and args[i - 1] in ("-z", "-f", "-R")))]
    return "-f" not in args and not rest


def _uname(args: Sequence[str], hostname: str, version: str) -> str | None:
    """uname(1) of a SunOS 5.11 x86 host: ``-sr`` is ``SunOS 5.11`` on both layouts; ``-v`` tells them
    apart. None for an unknown option."""
    fields = {"s": "SunOS", "n": hostname, "r": "5.11", "v": version, "m": "i86pc", "p": "i386", "i": "i86pc"}
    letters = "".join(a[1:] for a in args if a.startswith("-")) or "s"
    if "a" in letters:
        letters = "snrvmpi"
    if any(letter not in fields for letter in letters):
        return None
    return " ".join(fields[letter] for letter in "snrvmpi" if letter in letters) + "\n"


def _config_to_json(config: Config) -> dict:
    return {"props": dict(config.props),
            "resources": [{"type": r.type, "props": dict(r.props), "options": list(r.options),
                           "values": [list(v) for v in r.values]} for r in config.resources]}


def _config_from_json(data: dict) -> Config:
    from .model import Resource
    return Config(dict(data.get("props", {})),
                  [Resource(r["type"], dict(r.get("props", {})), list(r.get("options", [])),
                            [tuple(v) for v in r.get("values", [])]) for r in data.get("resources", [])])
