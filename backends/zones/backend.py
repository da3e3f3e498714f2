"""Solaris and illumos global zones: `zoneadm`, `zonecfg`, `zlogin` and `zfs` over the host's session.

The live table needs nothing but `zoneadm list -cp` (one command per poll; the global zone is listed and
marked). Opening the host reads `uname -sr` and `zoneadm list -p`, whose field count tells the layout
(zones.md §1.1: Solaris 10, illumos, Solaris 11); a `uname` that fails or disagrees becomes a note on the
host line. A zone's bindings come from `zonecfg -z ZONE export` when its screen opens; the host screen and
the wizards read `zfs list -H -p` (filesystems where zonepaths go, snapshots to clone from) and `dladm
show-link -p -o link,class` (links for a zone's network).

CPU % and memory per zone are not shown: they would come from `prstat -Z` or `zonestat`, and the
project has no real sample of either (zones.md has none), so those columns read `-`.

Consoles are `zlogin -C ZONE` on a pseudo-terminal of the host's connection (`~.` at the start of a line
leaves it, as the ConsoleRef says); the first bytes are read before the channel is handed over, so that a
console held by another client is reported as `ConsoleBusy` rather than as a closed pane.

Every change is a Plan from `commands`: the lifecycle (boot, shutdown, halt, reboot), the zone-specific
actions (ready, install, uninstall, delete, detach, attach, move within the host, clone), create (a
zonecfg script on standard input, install, boot; p2v from an archive, a root image, the zonepath, or a
ZFS snapshot piped from another host), clone, and the cold move to another global zone (detach, zfs send
| zfs recv between the two connections, `create -a`, `attach -u`, boot). Plans carry pre-flight checks
that are read-only and run again before Run is offered.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..base import Action, Backend, ExtraAction
from ..errors import CommandFailed, ConsoleBusy, HvdeckError, ParseError, Unsupported, ValidationError
from ..inventory import HostSpec
from ..model import (
    Bindings,
    ConsoleRef,
    Domain,
    FreeResources,
    HostInfo,
    HostSnapshot,
    Network,
    Section,
    Snapshot,
    StoragePool,
)
from ..options import BoolOption, Choice, ChoiceOption, Form, FormErrors, SizeOption, TextOption
from ..plan import Check, Plan
from ..transport.base import Channel, Session
from . import commands, parse
from .parse import GLOBAL_ZONE, Layout

T = TypeVar("T")

#: output larger than this (bytes) is parsed in a worker thread, so that a global zone with thousands of
#: zones does not hold up the event loop
PARSE_OFF_LOOP = 256 * 1024
#: seconds to wait for zlogin's first words before the console is handed over anyway
CONSOLE_GREETING_WAIT = 5.0
#: states in which a zone has a console zlogin -C reaches (zoneadmd runs for it, or starts on boot)
_CONSOLE_STATES = frozenset({"installed", "ready", "running", "shutting_down", "down", "mounted"})
_M = 1 << 20


class ZonesBackend(Backend):
    kind = "zones"
    ACTIONS = commands.ACTIONS
    LIVE_MIGRATION = False  # detach, move the zonepath, attach: a halted (installed) zone moves too

    def __init__(self, spec: HostSpec, session: Session) -> None:
        super().__init__(spec, session)
        self.layout: Layout | None = None
        self.uname: parse.Uname | None = None
        #: the zones of the latest listing (a poll, or a plan that read them again)
        self.zones: tuple[Domain, ...] = ()

    # -- watching ------------------------------------------------------------------------------------

    @classmethod
    async def detect(cls, session: Session, spec: HostSpec) -> bool:
        """A global zone answers `zoneadm list -p` with at least its own line, in one of the layouts."""
        result = await session.run(list(commands.LIST_RUNNING), check=False)
        if result.exit_status != 0:
            return False
        try:
            return parse.detect_layout(result.stdout) is not None
        except ParseError:
            return False

    async def open(self) -> HostInfo:
        await self.session.connect()
        notes: list[str] = []
        result = await self.session.run(list(commands.UNAME), check=False)
        if result.exit_status != 0:
            notes.append(f"uname -sr failed (exit {result.exit_status}); listing zones anyway")
        else:
            try:
                self.uname = parse.parse_uname(result.stdout)
            except ParseError as exc:
                notes.append(f"uname -sr: {exc.message}")
        probe = await self.session.run(list(commands.LIST_RUNNING))
        self.layout = parse.detect_layout(probe.stdout)
        if self.layout is None:
            raise ParseError("zoneadm list -p printed nothing: not even the global zone", source="zoneadm")
        if self.uname is not None and not self.uname.has_zones:
            notes.append(f"uname says {self.uname.system} {self.uname.release}, which has no zones")
        elif self.uname is not None and self.layout not in self.uname.layouts:
            notes.append(f"zoneadm list -p prints the {self.layout.value} layout, unexpected on "
                         f"{self.uname.system} {self.uname.release}")
        return HostInfo(kind=self.kind, hypervisor="zones", version=self._version(), notes=tuple(notes),
                        facts=(("layout", self.layout.value),) if self.layout is not None else ())

    def adopt(self, facts: tuple[tuple[str, str], ...]) -> None:
        """The layout the probe found (`HostInfo.facts`): the create form differs on Solaris 11."""
        layout = dict(facts).get("layout")
        if layout in {item.value for item in Layout}:
            self.layout = Layout(layout)

    def _version(self) -> str:
        system = f"{self.uname.system} {self.uname.release}" if self.uname is not None else ""
        family = _family(self.layout, self.uname)
        return f"{system} ({family})" if system else family

    async def poll(self) -> tuple[Domain, ...]:
        """Every zone from one `zoneadm list -cp`."""
        return await self._list()

    async def _list(self) -> tuple[Domain, ...]:
        result = await self.session.run(list(commands.LIST))
        zones = await _parsed(parse.parse_list_p, result.stdout, self.spec.name)
        if self.layout is None and zones:
            self.layout = parse.detect_layout(result.stdout)
        self.zones = tuple(_decorated(zone) for zone in zones)
        return self.zones

    async def bindings(self, domain: Domain) -> Bindings:
        result = await self.session.run(list(commands.export(domain.name)))
        return await _parsed(parse.parse_export, result.stdout, self.spec.name, domain.name)

    async def host_detail(self) -> tuple[Section, ...]:
        """The ZFS filesystems (and which zone's zonepath each is) and the datalinks; what cannot be read
        is listed under NOT AVAILABLE."""
        sections: list[Section] = []
        problems: list[tuple[str, str]] = []
        filesystems = await self._read(commands.ZFS_FILESYSTEMS, parse.parse_zfs_filesystems, problems)
        if filesystems is not None:
            owners = {_zonepath(z): z.name for z in self.zones if z.name != GLOBAL_ZONE and _zonepath(z)}
            sections.append(Section("ZFS FILESYSTEMS", ("NAME", "AVAIL", "USED", "MOUNTPOINT", "ZONEPATH OF"), tuple(
                (fs.name, _size(fs.avail), _size(fs.used), fs.mountpoint, owners.get(fs.mountpoint, ""))
                for fs in filesystems)))
        links = await self._read(commands.DATALINKS, parse.parse_dladm_links, problems)
        if links is not None:
            sections.append(Section("DATALINKS", ("LINK", "CLASS", "ZONE"),
                                    tuple((link.name, link.klass, link.zone or "") for link in links)))
        if problems:
            sections.append(Section("NOT AVAILABLE", ("COMMAND", "WHY"), tuple(problems)))
        return tuple(sections)

    async def _read(self, argv: tuple[str, ...], parser: Callable[[str], T],
                    problems: list[tuple[str, str]]) -> T | None:
        try:
            result = await self.session.run(list(argv))
            return await _parsed(parser, result.stdout)
        except (CommandFailed, ParseError) as exc:
            problems.append((" ".join(argv), exc.message))
            return None

    # -- actions -------------------------------------------------------------------------------------

    def why_not(self, action: Action, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        """zoneadm's state rules (`commands.why_not`): a configured zone counts as stopped but cannot boot."""
        return commands.why_not(action, domain)

    def _plan_action(self, action: Action, domain: Domain) -> Plan:
        return commands.lifecycle_plan(action, domain)

    def extra_actions(self) -> tuple[ExtraAction, ...]:
        return commands.EXTRA_ACTIONS

    def why_not_extra(self, action: ExtraAction, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        if action not in commands.EXTRA_ACTIONS:
            return f"zones hosts have no {action.label.lower()}"
        return commands.why_not_extra(action, domain)

    async def plan_extra(self, action: ExtraAction, domain: Domain, values: dict[str, str],
                         host: HostSnapshot | None = None) -> Plan:
        reason = self.why_not_extra(action, domain, host)
        if reason is not None:
            raise HvdeckError(reason, title=f"Cannot {action.label.lower()}")
        if action is commands.CLONE:
            return await self.plan_clone(domain, {"name": values.get("name", ""), "zonepath": values.get("zonepath"),
                                                  "snapshot": values.get("snapshot") or None})
        if action is commands.MOVE:
            new_path = commands.validate_zonepath(values.get("zonepath", ""))
            zones = host.domains if host is not None else self.zones
            conflict = commands.zonepath_conflict(new_path, zones, exclude=domain.name)
            if conflict is not None:
                raise ValidationError(conflict)
        return commands.extra_plan(action, domain, values)

    # -- consoles ------------------------------------------------------------------------------------

    def console(self, domain: Domain) -> ConsoleRef:
        if domain.name == GLOBAL_ZONE:
            raise Unsupported("the global zone's console is the host's own (its serial line or service processor)")
        if domain.native_state not in _CONSOLE_STATES:
            raise Unsupported(f"{domain.name} is {domain.native_state}: zlogin -C reaches the console of an "
                              "installed zone")
        return ConsoleRef(kind="zlogin", description=f"zlogin -C {domain.name}",
                          detach_hint=f"{commands.CONSOLE_ESCAPE} at the start of a line")

    async def open_console(self, domain: Domain, *, cols: int = 80, rows: int = 24, force: bool = False) -> Channel:
        """`zlogin -C ZONE` on a pseudo-terminal. zlogin has no way to take a console over (``force`` is
        ignored); a console another client holds is `ConsoleBusy`."""
        self.console(domain)
        channel = await self.session.open_pty(list(commands.console(domain.name)), cols=cols, rows=rows)
        return await _greeted(channel, domain.name)

    # -- what the host offers ------------------------------------------------------------------------------

    async def _filesystems(self) -> tuple[parse.ZfsFilesystem, ...]:
        result = await self.session.run(list(commands.ZFS_FILESYSTEMS))
        return await _parsed(parse.parse_zfs_filesystems, result.stdout)

    async def storage(self) -> tuple[StoragePool, ...]:
        """ZFS filesystems a zonepath can go under: mounted on a directory, and neither the root filesystem
        nor inside a zone's zonepath. ``free_bytes`` is what zfs says is available."""
        zonepaths = [_zonepath(z).rstrip("/") + "/" for z in self.zones if z.name != GLOBAL_ZONE and _zonepath(z)]
        pools = []
        for fs in await self._filesystems():
            where = fs.mounted_at
            if where is None or where == "/" or any((where.rstrip("/") + "/").startswith(p) for p in zonepaths):
                continue
            pools.append(StoragePool(name=fs.name, kind="zfs", free_bytes=fs.avail, path=where))
        return tuple(pools)

    async def snapshots(self, of: str) -> tuple[Snapshot, ...]:
        """The snapshots of the ZFS filesystem ``of`` (a zonepath's: `zoneadm clone -s` takes one)."""
        result = await self.session.run(list(commands.zfs_snapshots(of)))
        found = await _parsed(parse.parse_zfs_snapshots, result.stdout)
        return tuple(Snapshot(of=of, name=snap.name, used_bytes=snap.used,
                              created=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(snap.creation))
                              if snap.creation is not None else None)
                     for snap in found if snap.dataset == of)

    async def _links(self) -> tuple[parse.Datalink, ...]:
        result = await self.session.run(list(commands.DATALINKS))
        return await _parsed(parse.parse_dladm_links, result.stdout)

    async def networks(self) -> tuple[Network, ...]:
        """The host's datalinks (NICs, aggregations, etherstubs, VNICs); a running Solaris 11 zone's own
        VNICs (``ZONE/net0``) are left out."""
        return tuple(Network(name=link.name, kind="link", detail=link.klass) for link in await self._links()
                     if link.zone is None)

    async def resources(self) -> FreeResources:
        """Not read: zones share the global zone's CPUs and memory (a zone has caps, not an allocation), and
        the commands that would count them (`psrinfo`, `prtconf`, `zonestat`) have no real sample here."""
        raise Unsupported("zones share the global zone's CPUs and memory; hvdeck reads no psrinfo, prtconf or "
                          "zonestat output to count what is left")

    # -- wizards: create -------------------------------------------------------------------------------

    def create_form(self) -> Form:
        solaris11 = self.layout is Layout.SOLARIS11
        return Form("Create a zone", (
            TextOption("name", "Zone name", help="a letter or digit first, then letters, digits, _ - . (63 at most)",
                       validator=commands.validate_name),
            ChoiceOption("parent", "Zonepath under", help="a ZFS filesystem of the host: the zonepath is PARENT/NAME"),
            ChoiceOption("brand", "Brand", free=True, validator=_brand,
                         help="the kind of zone (the host's family's brands, and those its zones use, are offered)"),
            ChoiceOption("ip_type", "IP type", default="exclusive",
                         choices=(Choice("exclusive", "exclusive", "the zone has its own IP stack and link"),
                                  Choice("shared", "shared", "the zone shares the global zone's IP stack"))),
            ChoiceOption("link", "Network link", required=False, free=True, validator=_link_name,
                         help="the link the zone's network uses" + (
                             " (its anet's lower-link; auto picks one)" if solaris11 else
                             ": a VNIC the zone owns, or a NIC or etherstub to make its VNIC on (global-nic)")),
            TextOption("address", "Address", required=False, validator=_plain,
                       help="shared-IP: the zone's address (10.0.1.20/24); exclusive-IP: the only address it may "
                            "use (allowed-address)"),
            TextOption("defrouter", "Default router", required=False, validator=_plain),
            BoolOption("autoboot", "Boot with the host", default="no"),
            SizeOption("memory_cap", "Memory cap", required=False, low=_M, help="capped-memory physical, e.g. 4G"),
            TextOption("cpu_cap", "CPU cap", required=False, validator=_plain,
                       help="CPUs as a decimal, e.g. 1.5 (capped-cpu)"),
            TextOption("dedicated_cpus", "Dedicated CPUs", required=False, validator=_plain,
                       help="a count or a range, e.g. 2 or 1-4 (dedicated-cpu)"),
            ChoiceOption("source", "Install from", default="repository", choices=SOURCES),
            TextOption("source_path", "Archive or image", required=False, validator=_path,
                       help="p2v: a flar, cpio, pax or ufsdump archive, or a root image directory, on this host"),
            TextOption("source_host", "Old system's host", required=False, validator=_plain,
                       help="p2v by zfs send: the inventory host that has the image's snapshot"),
            TextOption("source_snapshot", "Its snapshot", required=False, validator=commands.validate_full_snapshot,
                       help="p2v by zfs send: POOL/FS@SNAP, laid out as a zonepath (the system's root in root/)"),
            ChoiceOption("identity", "Identity", default="unconfigure",
                         choices=(Choice("unconfigure", "unconfigure (-u)", "sys-unconfig: a new identity"),
                                  Choice("preserve", "preserve (-p)", "keep the physical system's identity")),
                         help="p2v only"),
            BoolOption("boot", "Boot when installed", default="yes"),
        ), check=_create_check)

    async def create_choices(self) -> dict[str, tuple[Choice, ...]]:
        if not self.zones:
            await self._list()
        pools = await self.storage()
        try:
            links = await self.networks()
        except (CommandFailed, ParseError):
            links = ()  # no dladm: the link is typed in
        link_choices = tuple(Choice(n.name, n.name, n.detail) for n in links)
        if self.layout is Layout.SOLARIS11:
            link_choices = (Choice("auto", "auto", "Solaris picks the lower link"), *link_choices)
        return {
            "parent": tuple(Choice(p.path or p.name, p.name, f"{_size(p.free_bytes)} free at {p.path}")
                            for p in pools),
            "brand": tuple(Choice(b) for b in commands.host_brands(self.layout, self.zones)),
            "link": link_choices,
        }

    async def plan_create(self, values: dict[str, Any]) -> Plan:
        host = self.spec.name
        name = commands.validate_name(values.get("name") or "")
        errors: dict[str, str] = dict(_create_check(values))
        zones = await self._list()
        if any(z.name == name for z in zones):
            errors["name"] = f"a zone named {name} is already configured on {host}"
        filesystems = await self._filesystems()
        parent = _filesystem_for(filesystems, values.get("parent") or "")
        zonepath = dataset = None
        if parent is None or parent.mounted_at is None:
            errors["parent"] = (f"{host} has no ZFS filesystem mounted at {values.get('parent')!r}"
                                if values.get("parent") else "required")
        else:
            zonepath = f"{parent.mounted_at.rstrip('/')}/{name}"
            dataset = f"{parent.name}/{name}"
            problem = commands.zonepath_conflict(zonepath, zones)
            if problem is None and any(fs.name == dataset or fs.mountpoint == zonepath for fs in filesystems):
                problem = f"{dataset} already exists on {host}"
            if problem is not None:
                errors["parent"] = problem
        brand = values.get("brand") or None
        if brand is not None:
            refused = commands.brand_refused(brand, self.layout, zones, host)
            if refused is not None:
                errors["brand"] = refused
        source = values.get("source") or "repository"
        if brand == "solaris10" and source == "repository":
            errors["source"] = "the solaris10 brand installs from a Solaris 10 image: an archive, an image or zfs"
        nets: tuple[commands.NewNet, ...] = ()
        if not errors:
            try:
                nets = await self._nets(name, values)
            except ValidationError as exc:
                errors["link"] = exc.message
        if errors:
            raise FormErrors(errors)
        assert zonepath is not None and dataset is not None and parent is not None
        zone = commands.NewZone(name, zonepath, brand=brand, autoboot=bool(values.get("autoboot")),
                                ip_type=values.get("ip_type") or None, nets=nets,
                                memory_cap=_zonecfg_size(values["memory_cap"]) if values.get("memory_cap") else None,
                                capped_cpu=values.get("cpu_cap") or None,
                                dedicated_cpu=values.get("dedicated_cpus") or None)
        checks: list[Check] = [commands.check_zone_free(host, name, zonepath),
                               commands.check_filesystem(host, parent.name, dataset)]
        identity = values.get("identity") or "unconfigure"
        kwargs: dict[str, Any] = {}
        if source == "archive":
            kwargs = {"archive": values["source_path"], "identity": identity}
        elif source == "image":
            kwargs = {"image": values["source_path"], "identity": identity}
        elif source == "zonepath":
            kwargs = {"image": "-", "identity": identity}
        elif source == "zfs":
            old = values["source_host"]
            kwargs = {"receive": commands.Receive(old, values["source_snapshot"], dataset), "identity": identity}
            checks += [commands.check_answers(old), commands.check_snapshot(old, values["source_snapshot"])]
        return commands.create_plan(host, zone, boot_zone=bool(values.get("boot", True)), checks=tuple(checks),
                                    **kwargs)

    async def _nets(self, name: str, values: dict[str, Any]) -> tuple[commands.NewNet, ...]:
        """The zone's network resource from the form: shared-IP, a `net` with its address on the link;
        exclusive-IP on Solaris 11, an `anet` over the link; exclusive-IP elsewhere, the link itself when
        it is a VNIC, else (OmniOS) a VNIC made on it by zoneadmd (`global-nic`)."""
        link, address, router = values.get("link") or None, values.get("address") or None, \
            values.get("defrouter") or None
        ip_type = values.get("ip_type") or "exclusive"
        if link is None:
            if address or router:
                raise ValidationError("an address needs a network link")
            return ()
        if ip_type == "shared":
            return (commands.NewNet(physical=link, address=address, defrouter=router),)
        if self.layout is Layout.SOLARIS11:
            return (commands.NewNet(anet=True, linkname="net0", lower_link=link, allowed_address=address,
                                    defrouter=router),)
        try:
            classes = {item.name: item.klass for item in await self._links()}
        except (CommandFailed, ParseError):
            classes = {}
        if classes.get(link) == "vnic" or self.layout is Layout.SOLARIS10:
            return (commands.NewNet(physical=link, allowed_address=address, defrouter=router),)
        return (commands.NewNet(physical=_vnic_name(name, classes), global_nic=link, allowed_address=address,
                                defrouter=router),)

    # -- wizards: clone ---------------------------------------------------------------------------------

    def clone_form(self, domain: Domain) -> Form | None:
        if domain.name == GLOBAL_ZONE or domain.native_state not in ("installed", "running"):
            return None
        running = domain.native_state == "running"
        return Form(f"Clone {domain.name}", (
            TextOption("name", "New zone", validator=commands.validate_name),
            ChoiceOption("parent", "Zonepath under", help="a ZFS filesystem of the host: the zonepath is PARENT/NAME"),
            ChoiceOption("snapshot", "From snapshot", required=False, free=True, validator=_plain,
                         help="a snapshot of an earlier clone (zoneadm clone -s); empty: a new one"),
            BoolOption("copy", "Copy instead of a ZFS clone", default="no"),
            ChoiceOption("stop_source", "Stop the source with", default="shutdown" if running else "",
                         required=running,
                         choices=(Choice("shutdown", "shutdown", "its services stop cleanly"),
                                  Choice("halt", "halt", "at once, without its shutdown scripts")),
                         help=f"{domain.name} is running: zoneadm clone needs it halted; it boots again after"
                         if running else "the source is halted already"),
            BoolOption("boot", "Boot the clone", default="no"),
        ))

    async def clone_choices(self, domain: Domain) -> dict[str, tuple[Choice, ...]]:
        if not self.zones:
            await self._list()
        pools = await self.storage()
        snapshots: tuple[Snapshot, ...] = ()
        filesystem = _filesystem_at(await self._filesystems(), _zonepath(domain))
        if filesystem is not None:
            snapshots = await self.snapshots(filesystem.name)
        return {"parent": tuple(Choice(p.path or p.name, p.name, f"{_size(p.free_bytes)} free at {p.path}")
                                for p in pools),
                "snapshot": tuple(Choice(s.name, s.name.partition("@")[2], s.created or "") for s in snapshots)}

    async def plan_clone(self, domain: Domain, values: dict[str, Any]) -> Plan:
        """Values: ``name``; ``parent`` (a filesystem's mountpoint or name: the zonepath is PARENT/NAME) or
        ``zonepath``; optional ``snapshot`` (full, or the part after `@` of the source zonepath's
        filesystem), ``copy``, ``stop_source`` (a running source), ``boot``."""
        host = self.spec.name
        name = commands.validate_name(values.get("name") or "", "new zone name")
        zones = await self._list()
        source = next((z for z in zones if z.name == domain.name), None)
        if source is None:
            raise ValidationError(f"{domain.name} is no longer configured on {host}")
        errors: dict[str, str] = {}
        if any(z.name == name for z in zones):
            errors["name"] = f"a zone named {name} is already configured on {host}"
        filesystems = await self._filesystems()
        parent: parse.ZfsFilesystem | None = None
        if values.get("zonepath"):
            zonepath = commands.validate_zonepath(values["zonepath"])
            parent = _filesystem_at(filesystems, posixpath.dirname(zonepath.rstrip("/")))
        else:
            parent = _filesystem_for(filesystems, values.get("parent") or "")
            if parent is None or parent.mounted_at is None:
                raise FormErrors({**errors, "parent": f"{host} has no ZFS filesystem mounted at "
                                                      f"{values.get('parent')!r}" if values.get("parent") else "required"})
            zonepath = f"{parent.mounted_at.rstrip('/')}/{name}"
        problem = commands.zonepath_conflict(zonepath, zones)
        if problem is not None:
            errors["parent"] = problem
        if errors:
            raise FormErrors(errors)
        snapshot = values.get("snapshot") or None
        if snapshot is not None and "@" not in snapshot:
            origin = _filesystem_at(filesystems, _zonepath(source))
            if origin is None:
                raise FormErrors({"snapshot": f"{source.name}'s zonepath is not a ZFS filesystem of its own"})
            snapshot = f"{origin.name}@{snapshot}"
        checks: list[Check] = [commands.check_zone_free(host, name, zonepath)]
        if parent is not None:
            checks.append(commands.check_filesystem(host, parent.name, f"{parent.name}/{posixpath.basename(zonepath)}"))
        if snapshot is not None:
            checks.append(commands.check_snapshot(host, snapshot))
        return commands.clone_plan(host, source, name, zonepath, snapshot=snapshot, copy=bool(values.get("copy")),
                                   boot_zone=bool(values.get("boot")),
                                   stop_source=(values.get("stop_source") or "shutdown")
                                   if source.native_state == "running" else None,
                                   checks=tuple(checks))

    # -- wizards: moving to another host ----------------------------------------------------------------

    def migrate_form(self, domain: Domain) -> Form | None:
        if domain.name == GLOBAL_ZONE or domain.native_state not in ("installed", "running"):
            return None
        brand = dict(domain.extra).get("brand", "")
        # the solaris10 brand's attach takes no -u (illumos-gate brand/solaris10 attach.ksh)
        update_default = "none" if brand == "solaris10" else "u"
        return Form(f"Move {domain.name} to another host", (
            ChoiceOption("storage", "Zonepath data", default="zfs", choices=(
                Choice("zfs", "zfs send", "a snapshot piped from this host's zfs send into the target's zfs recv"),
                Choice("shared", "shared storage", "the zonepath is on storage both hosts see: nothing is copied"))),
            TextOption("zonepath", "Zonepath there", required=False, validator=commands.validate_zonepath,
                       help=f"empty: the same as here ({_zonepath(domain) or '?'})"),
            ChoiceOption("update", "Update on attach", default=update_default, choices=(
                Choice("u", "attach -u", "its packages updated to the target's level"),
                Choice("U", "attach -U", "every package updated (Solaris 10 9/10 and later)"),
                Choice("none", "attach", "no update: the target must be at the same level"))),
            TextOption("backout", "Back out patches", required=False, validator=_patches,
                       help="Solaris 10: patch ids for attach -b, e.g. 119254-92, separated by commas"),
            ChoiceOption("stop", "Stop it with", default="shutdown", choices=(
                Choice("shutdown", "shutdown", "its services stop cleanly"),
                Choice("halt", "halt", "at once, without its shutdown scripts"))),
            BoolOption("boot", "Boot it there", default="yes"),
            ChoiceOption("source_after", "Afterwards, here", default="delete", choices=(
                Choice("delete", "delete the configuration", "its data stays in the old zonepath"),
                Choice("keep", "keep it detached", "configured and detached, with its data"),
                Choice("destroy", "destroy its data", "delete the configuration and the zonepath filesystem"))),
        ))

    async def plan_migrate(self, domain: Domain, target: Backend, values: dict[str, Any]) -> Plan:
        source_host = self.spec.name
        if not isinstance(target, ZonesBackend):
            raise Unsupported(f"{target.spec.name} is a {target.kind} host: a zone moves to another global zone")
        target_host = target.spec.name
        zones = await self._list()
        zone = next((z for z in zones if z.name == domain.name), None)
        if zone is None:
            raise ValidationError(f"{domain.name} is no longer configured on {source_host}")
        old_path = _zonepath(zone)
        if not old_path:
            raise ValidationError(f"{zone.name}'s zonepath is not known")
        zonepath = commands.validate_zonepath(values.get("zonepath") or old_path)
        there = await target._list()
        if any(z.name == zone.name for z in there):
            raise ValidationError(f"a zone named {zone.name} is already configured on {target_host}")
        conflict = commands.zonepath_conflict(zonepath, there)
        if conflict is not None:
            raise ValidationError(f"on {target_host}: {conflict}")
        brand = dict(zone.extra).get("brand", "")
        refused = commands.brand_refused(brand, target.layout, there, target_host) if brand else None
        if refused is not None:
            raise ValidationError(refused)
        storage = values.get("storage") or "zfs"
        checks: list[Check] = [
            commands.check_answers(target_host),
            commands.decided(f"{target_host} is a global zone too ({_family(target.layout, target.uname)})", None,
                             target_host),
            commands.decided(f"{target_host} has the {brand or 'zone'} brand", None, target_host),
            commands.check_zone_free(target_host, zone.name, zonepath),
        ]
        source_dataset = target_dataset = None
        if storage == "zfs":
            origin = _filesystem_at(await self._filesystems(), old_path)
            if origin is None:
                raise ValidationError(f"{zone.name}'s zonepath {old_path} is not a ZFS filesystem of its own on "
                                      f"{source_host}: move it on shared storage")
            filesystems = await target._filesystems()
            parent = _filesystem_at(filesystems, posixpath.dirname(zonepath.rstrip("/")))
            if parent is None:
                offered = ", ".join(fs.mounted_at for fs in filesystems if fs.mounted_at and fs.mounted_at != "/")
                raise ValidationError(f"{target_host} has no ZFS filesystem mounted at "
                                      f"{posixpath.dirname(zonepath.rstrip('/'))}: choose a zonepath under one of "
                                      f"{offered or 'its filesystems'}")
            source_dataset = origin.name
            target_dataset = f"{parent.name}/{posixpath.basename(zonepath.rstrip('/'))}"
            if any(fs.name == target_dataset for fs in filesystems):
                raise ValidationError(f"{target_dataset} already exists on {target_host}")
            checks.append(commands.check_filesystem(target_host, parent.name, target_dataset, origin.used))
        tag = time.strftime("hvdeck-move-%Y%m%dT%H%M%SZ", time.gmtime())
        if source_dataset is not None:
            # a zone that came here by an earlier move keeps that move's snapshot: never reuse a name
            taken = {snap.name.partition("@")[2] for snap in await self.snapshots(source_dataset)}
            tag = next(f"{tag}-{n}" if n else tag for n in range(len(taken) + 1)
                       if (f"{tag}-{n}" if n else tag) not in taken)
        update = values.get("update") or "u"
        move = commands.Move(
            target=target_host, zonepath=zonepath, storage=storage, source_dataset=source_dataset,
            target_dataset=target_dataset, snapshot_tag=tag,
            update=None if update == "none" else update, backout=_patch_list(values.get("backout") or ""),
            stop=values.get("stop") or "shutdown", boot=bool(values.get("boot", True)),
            source_after=values.get("source_after") or "delete")
        return commands.move_plan(zone, move, checks=tuple(checks))


# --- the console: a command on a pseudo-terminal ------------------------------------------------------------


class _Greeted(Channel):
    """A console channel whose first bytes were read already (to look for zlogin's refusal): they are
    given back first, then the channel's own."""

    def __init__(self, channel: Channel, first: bytes) -> None:
        self._channel = channel
        self._first = first
        self.argv = channel.argv

    async def read(self, size: int = 65536) -> bytes:
        if self._first:
            data, self._first = self._first[:size], self._first[size:]
            return data
        return await self._channel.read(size)

    def write(self, data: bytes) -> None:
        self._channel.write(data)

    async def drain(self) -> None:
        await self._channel.drain()

    def write_eof(self) -> None:
        self._channel.write_eof()

    def resize(self, cols: int, rows: int) -> None:
        self._channel.resize(cols, rows)

    async def wait(self) -> int | None:
        return await self._channel.wait()

    @property
    def stderr_tail(self) -> str:
        return self._channel.stderr_tail

    async def close(self) -> None:
        await self._channel.close()


async def _greeted(channel: Channel, zone: str) -> Channel:
    """Read zlogin's first line: `[Connected to zone 'Z' console]` hands the console over; a line from
    zlogin itself (`zlogin: Console is already in use by process ID N.`, zlogin.c) ends it with
    `ConsoleBusy` or `Unsupported` and closes the channel."""
    first = b""
    try:
        async with asyncio.timeout(CONSOLE_GREETING_WAIT):
            while b"\n" not in first and len(first) < 4096:
                data = await channel.read()
                if not data:
                    break
                first += data
    except TimeoutError:
        pass
    if not first.lstrip().startswith(b"zlogin:"):
        return _Greeted(channel, first)
    await channel.close()
    message = first.decode("utf-8", "replace").strip().splitlines()[0][:200]
    if "in use" in message:
        raise ConsoleBusy(f"{zone}'s console is in use by another client ({message})")
    raise Unsupported(f"zlogin -C {zone} refused: {message}")


# --- forms, names and sizes -------------------------------------------------------------------------------

#: the create form's install sources
SOURCES = (
    Choice("repository", "the brand's repository", "zoneadm install"),
    Choice("archive", "an archive (p2v)", "zoneadm install -a ARCHIVE: flar, cpio, pax, ufsdump"),
    Choice("image", "a root image (p2v)", "zoneadm install -d PATH: a directory, e.g. over NFS"),
    Choice("zonepath", "the image in its zonepath (p2v)", "zoneadm install -d -: already put there"),
    Choice("zfs", "a ZFS snapshot on another host (p2v)", "zfs send | zfs recv into the zonepath, then install -d -"),
)


async def _parsed(parser: Callable[..., T], text: str, *args: Any) -> T:
    """``parser(text, *args)``, in a worker thread when the text is large."""
    if len(text) > PARSE_OFF_LOOP:
        return await asyncio.to_thread(parser, text, *args)
    return parser(text, *args)


def _decorated(zone: Domain) -> Domain:
    """The global zone marked (flags ``global``), a Solaris 11 zone booted read-only marked ``R``, the
    console column filled for zones that have a console, and the uuid left out of ``extra`` where it is the
    domain's own ``uuid``."""
    from dataclasses import replace

    extra = dict(zone.extra)
    if zone.uuid is not None:  # the title shows it already
        zone = replace(zone, extra=tuple((k, v) for k, v in zone.extra if k != "uuid"))
    if zone.name == GLOBAL_ZONE:
        return replace(zone, flags="global", flags_meaning="the global zone: the host itself")
    console = "zlogin" if zone.native_state in _CONSOLE_STATES else None
    if extra.get("readonly") == "R":
        return replace(zone, console=console, flags="R",
                       flags_meaning=f"read-only root (file-mac-profile {extra.get('file-mac-profile', '?')})")
    return replace(zone, console=console)


def _zonepath(zone: Domain) -> str:
    return dict(zone.extra).get("zonepath", "")


def _family(layout: Layout | None, uname: parse.Uname | None) -> str:
    if layout is None:
        return "zones"
    if layout is Layout.SOLARIS10 and uname is not None and uname.release == "5.11":
        return "OpenSolaris"
    return commands.family(layout)


def _size(n: int | None) -> str:
    return "-" if n is None else commands.format_bytes(n)


def _filesystem_at(filesystems: tuple[parse.ZfsFilesystem, ...], where: str) -> parse.ZfsFilesystem | None:
    """The filesystem mounted exactly at ``where`` (a zonepath, or a zonepath's parent directory)."""
    where = where.rstrip("/") or "/"
    return next((fs for fs in filesystems if fs.mounted_at is not None and fs.mounted_at.rstrip("/") == where), None)


def _filesystem_for(filesystems: tuple[parse.ZfsFilesystem, ...], chosen: str) -> parse.ZfsFilesystem | None:
    """A form's ``parent``: a mountpoint (the choice's value) or a filesystem's name (its label)."""
    if chosen.startswith("/"):
        return _filesystem_at(filesystems, chosen)
    return next((fs for fs in filesystems if fs.name == chosen), None)


def _vnic_name(zone: str, links: dict[str, str]) -> str:
    """A VNIC name for a zone's global-nic net: the zone name's letters, digits and `_` (a letter first),
    then a number not yet taken; datalink names end in a number and hold at most 31 characters (dladm.8)."""
    base = re.sub(r"[^A-Za-z0-9_]", "", zone).rstrip("0123456789") or "zone"
    if not base[0].isalpha():
        base = "z" + base
    base = base[:26]
    number = 0
    while f"{base}{number}" in links:
        number += 1
    return f"{base}{number}"


def _zonecfg_size(size: int) -> str:
    """Bytes as zonecfg writes a cap: whole gigabytes as G, else megabytes as M (rounded down)."""
    megabytes = max(1, size // _M)
    return f"{megabytes // 1024}G" if megabytes % 1024 == 0 else f"{megabytes}M"


def _brand(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", text):
        raise ValidationError(f"brand {text!r}: a brand name such as lipkg, sparse or solaris")
    return text


def _plain(text: str) -> str:
    return commands.check_text(text, "value")


def _path(text: str) -> str:
    return commands.validate_path(text, "archive or image")


_LINK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,30}")


def _link_name(text: str) -> str:
    if not _LINK.fullmatch(text):
        raise ValidationError(f"link {text!r}: a datalink name such as igb0, net0 or stub0")
    return text


def _patch_list(text: str) -> tuple[str, ...]:
    return tuple(commands.validate_patch(p) for p in re.split(r"[,\s]+", text.strip()) if p)


def _patches(text: str) -> str:
    _patch_list(text)
    return text


def _create_check(values: dict[str, Any]) -> dict[str, str]:
    """What the create form's inputs say together (zonecfg and zoneadm would refuse the rest)."""
    errors: dict[str, str] = {}
    source = values.get("source") or "repository"
    if source in ("archive", "image") and not values.get("source_path"):
        errors["source_path"] = f"installing from {'an archive' if source == 'archive' else 'an image'} needs its path"
    if source == "zfs":
        if not values.get("source_host"):
            errors["source_host"] = "the host that has the snapshot"
        if not values.get("source_snapshot"):
            errors["source_snapshot"] = "the snapshot to send, POOL/FS@SNAP"
    if values.get("ip_type") == "shared" and values.get("link") and not values.get("address"):
        errors["address"] = "a shared-IP zone needs an address"
    if values.get("cpu_cap") and values.get("dedicated_cpus"):
        errors["dedicated_cpus"] = "capped-cpu and dedicated-cpu exclude each other"
    return errors
