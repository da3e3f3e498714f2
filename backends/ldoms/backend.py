"""LDoms control domains (Oracle VM Server for SPARC): `ldm` over the host's session.

The live table needs nothing but `ldm list -p`. `ldm -V` (the version, for the host line) and the
secondary commands — `list-bindings -p` for the domain screen, `list-services -p` and
`list-devices -a -p` for the host screen — are read when asked for; when one fails (an old ldm, a
missing subcommand, a permission), the host still lists its domains and says what is missing.

The wizards read the host (`HostView`: domains, services, ZFS datasets, which vdisk uses each volume, free
resources) just before a plan is built, and the pure builders of `commands` check the inputs against it;
disks are ZFS volumes of the control domain (`zfs list -H -p`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from ..base import Action, Backend, ExtraAction, parse_off_loop
from ..errors import CommandFailed, HvdeckError, ParseError, Unsupported, ValidationError
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
    Volume,
)
from ..options import Choice, Form
from ..plan import Operation, Plan
from ..transport.base import Channel, OutputCallback, Result, Session
from . import commands, migration, parse, states
from . import console as vntsd


class LdomsBackend(Backend):
    kind = "ldoms"
    ACTIONS = frozenset({Action.START, Action.SHUTDOWN, Action.REBOOT, Action.FORCE_OFF})
    #: seconds a reading of the free resources is reused by plans
    RESOURCES_TTL: ClassVar[float] = 5.0

    def __init__(self, spec: HostSpec, session: Session) -> None:
        super().__init__(spec, session)
        self.version: parse.LdmVersion | None = None
        #: (monotonic time, reading) of the last `ldm list-devices -a -p`
        self._resources: tuple[float, commands.Resources] | None = None

    @classmethod
    async def detect(cls, session: Session, spec: HostSpec) -> bool:
        result = await session.run(list(commands.VERSION), check=False)
        return result.exit_status == 0 and "Manager" in result.stdout

    async def open(self) -> HostInfo:
        await self.session.connect()
        notes: list[str] = []
        result = await self.session.run(list(commands.VERSION), check=False)
        version = ""
        if result.exit_status != 0:
            notes.append(f"ldm -V failed ({result.stderr.strip() or f'exit {result.exit_status}'}); "
                         "listing domains anyway")
        else:
            try:
                self.version = parse.parse_version(result.stdout)
                version = self.version.manager
            except ParseError as exc:
                notes.append(f"ldm -V: {exc.message}")
        return HostInfo(kind=self.kind, hypervisor="LDoms", version=version, notes=tuple(notes))

    async def poll(self) -> tuple[Domain, ...]:
        result = await self.session.run(list(commands.LIST))
        return await parse_off_loop(parse.parse_list_p, result.stdout, self.spec.name)  # FLAGS spelled out

    async def bindings(self, domain: Domain) -> Bindings:
        result = await self.session.run(list(commands.bindings(domain.name)), check=False)
        if result.exit_status != 0:  # releases without list-bindings print the same with list -l -p
            result = await self.session.run(list(commands.long_list(domain.name)))
        found = parse.parse_bindings_p(result.stdout, self.spec.name)
        if domain.name not in found:
            raise ParseError(f"ldm list-bindings -p {domain.name} did not list {domain.name}", source="ldm")
        return found[domain.name]

    async def host_detail(self) -> tuple[Section, ...]:
        """Services (with the domains whose vdisks use each VDS volume) and free resources."""
        sections: list[Section] = []
        problems: list[tuple[str, str]] = []
        services = await self._read(commands.SERVICES, parse.parse_services_p, problems)
        if services is not None:
            users = await self._volume_users(problems)
            for section in parse.services_sections(services):
                sections.append(_with_users(section, users) if section.title.startswith("VDS") else section)
        devices = await self._read(commands.DEVICES, parse.parse_devices_p, problems)
        if devices is not None:
            self._resources = (time.monotonic(), commands.Resources.of(devices))
            sections.extend(parse.devices_sections(devices))
        if problems:
            sections.append(Section("NOT AVAILABLE", ("COMMAND", "WHY"), tuple(problems)))
        return tuple(sections)

    async def _read(self, argv: tuple[str, ...], parser, problems: list[tuple[str, str]]):
        try:
            result = await self.session.run(list(argv))
            return parser(result.stdout)
        except (CommandFailed, ParseError) as exc:
            problems.append((" ".join(argv), exc.message))
            return None

    async def _volume_users(self, problems: list[tuple[str, str]]) -> dict[str, str]:
        """``vol@vds`` -> ``domain/vdisk`` from one `ldm list-bindings -p` of every domain."""
        found = await self._read(commands.bindings(), lambda text: parse.parse_bindings_p(text, self.spec.name),
                                 problems)
        users: dict[str, str] = {}
        for name, bindings in (found or {}).items():
            for disk in bindings.disks:
                if disk.source:  # the vdisk's vol=VOLUME@VDS
                    users[disk.source] = f"{name}/{disk.target}"
        return users

    # -- actions -------------------------------------------------------------------------------------

    def why_not(self, action: Action, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        """`states.why_not`: ldm's state machine, with the host's control domain when ``host`` is given."""
        return states.why_not(action.value, commands.facts(domain), _control(host))

    def _plan_action(self, action: Action, domain: Domain) -> Plan:
        return commands.lifecycle_plan(action, domain)

    def extra_actions(self) -> tuple[ExtraAction, ...]:
        return commands.EXTRA_ACTIONS

    def why_not_extra(self, action: ExtraAction, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        return commands.why_not_extra(action, domain, _control(host))

    async def plan_extra(self, action: ExtraAction, domain: Domain, values: dict[str, str],
                         host: HostSnapshot | None = None) -> Plan:
        """The plan, or HvdeckError with the reason ldm would refuse it. vCPU and memory growth is checked
        against the host's free resources (`free_resources`) before a plan exists; when they cannot be read,
        the plan says so and ldm checks them when it runs."""
        reason = self.why_not_extra(action, domain, host)
        if reason is not None:
            raise HvdeckError(reason, title=f"Cannot {action.label.lower()}")
        if action is commands.SAVE_SPCONFIG:
            try:
                result = await self.session.run(list(commands.SPCONFIGS))
                configs: tuple[str, ...] | None = tuple(c.name for c in parse.parse_spconfig(result.stdout))
            except (CommandFailed, ParseError):
                configs = None  # the plan's pre-flight check reads them again and says what failed
            return commands.extra_plan(action, domain, values, spconfigs=configs)
        resources, unchecked = None, ""
        if action.id in commands.GROWS:
            commands.requested(action, values)  # a malformed input is refused before any command runs
            try:
                resources = await self.free_resources()
            except (CommandFailed, ParseError) as exc:
                # no host text in the plan's sentence: only what hvdeck itself knows of the failure
                why = (f"exited {exc.exit_status}" if isinstance(exc, CommandFailed) and exc.exit_status is not None
                       else "failed" if isinstance(exc, CommandFailed) else "printed what hvdeck could not read")
                unchecked = (f"The host's free resources could not be read ({' '.join(commands.DEVICES)} {why}); "
                             "ldm checks them when it runs.")
        return commands.extra_plan(action, domain, values, resources=resources, unchecked=unchecked)

    async def free_resources(self) -> commands.Resources:
        """Strands and memory of the host, in all and free, from one `ldm list-devices -a -p`; reused for
        `RESOURCES_TTL` seconds and read again after any command this backend runs."""
        now = time.monotonic()
        if self._resources is not None and now - self._resources[0] < self.RESOURCES_TTL:
            return self._resources[1]
        result = await self.session.run(list(commands.DEVICES))
        resources = commands.Resources.of(parse.parse_devices_p(result.stdout))
        self._resources = (now, resources)
        return resources

    # -- live migration (migration.py) --------------------------------------------------------------------

    def migrate_form(self, domain: Domain) -> Form | None:
        return migration.form(domain)

    async def plan_migrate(self, domain: Domain, target: Backend, values: dict[str, Any]) -> Plan:
        return await migration.build(self, domain, target, values)

    # -- consoles: vntsd, through telnet on the host's terminal (`console.py`) -------------------------------

    def console(self, domain: Domain) -> ConsoleRef:
        return vntsd.vntsd_console(domain).ref()

    async def open_console(self, domain: Domain, *, cols: int = 80, rows: int = 24, force: bool = False) -> Channel:
        return await vntsd.open_vntsd(self.session, domain, cols=cols, rows=rows, force=force)

    async def execute(self, operation: Operation, *, input: str | None = None, timeout: float | None = None,
                      on_output: OutputCallback | None = None) -> Result:
        self._resources = None  # whatever it changes, the free resources are read again
        return await super().execute(operation, input=input, timeout=timeout, on_output=on_output)

    # -- what the host offers --------------------------------------------------------------------------

    async def _stdout(self, argv: Sequence[str]) -> str:
        return (await self.session.run(list(argv))).stdout

    async def host_view(self, *, resources: bool = True,
                        types: tuple[str, ...] = ("filesystem", "volume", "snapshot")) -> commands.HostView:
        """What the wizards check their inputs against, read now: `ldm list -p`, `ldm list-services -p`,
        `zfs list` (of ``types``), `ldm list-bindings -p` (which vdisk uses each volume) and, with
        ``resources``, `ldm list-devices -a -p` (None in the view when it cannot be read). Raises
        `CommandFailed` or `ParseError` when one of the others fails."""
        listed, services, datasets, users = await asyncio.gather(
            self._stdout(commands.LIST), self._stdout(commands.SERVICES), self._stdout(commands.zfs_list(types)),
            self._stdout(commands.bindings()))
        free: commands.Resources | None = None
        if resources:
            try:
                free = await self.free_resources()
            except (CommandFailed, ParseError):
                free = None
        attached = {disk.source: f"{name}/{disk.target}"
                    for name, bindings in parse.parse_bindings_p(users, self.spec.name).items()
                    for disk in bindings.disks if disk.source}
        return commands.HostView(host=self.spec.name, domains=parse.parse_list_p(listed, self.spec.name),
                                 services=parse.parse_services_p(services), datasets=parse.parse_zfs_list(datasets),
                                 attached=attached, resources=free)

    async def storage(self) -> tuple[StoragePool, ...]:
        """ZFS pools and the filesystems right under them, with what is free (`zfs list -H -p`)."""
        return commands.storage_pools(parse.parse_zfs_list(await self._stdout(commands.zfs_list(("filesystem",)))))

    async def volumes(self, pool: str | None = None) -> tuple[Volume, ...]:
        """ZFS volumes (of ``pool`` and below, or all), each with the vdisk that uses it."""
        return commands.zfs_volumes(await self.host_view(resources=False, types=("filesystem", "volume")), pool)

    async def snapshots(self, of: str) -> tuple[Snapshot, ...]:
        """Snapshots of the ZFS volume ``of`` (``pool/vol``), or of every ZFS volume a domain named ``of``
        has as a virtual disk; each with the clones made from it."""
        view = await self.host_view(resources=False)
        volumes = (commands.validate_dataset(of),) if "/" in of else await self._domain_volumes(view, of)
        return commands.snapshots_of(view.datasets, volumes)

    async def networks(self) -> tuple[Network, ...]:
        """The virtual switches (`ldm list-services -p`)."""
        return commands.switches(parse.parse_services_p(await self._stdout(commands.SERVICES)))

    async def resources(self) -> FreeResources:
        free = await self.free_resources()
        return FreeResources(cpus=free.free_strands, memory_bytes=free.free_memory_bytes, total_cpus=free.strands,
                             total_memory_bytes=free.memory_bytes)

    # -- wizards -----------------------------------------------------------------------------------------

    def create_form(self) -> Form | None:
        return commands.CREATE_FORM

    async def create_choices(self) -> dict[str, tuple[Choice, ...]]:
        return commands.create_choices(await self.host_view(resources=False, types=("filesystem", "volume")))

    async def plan_create(self, values: dict[str, Any]) -> Plan:
        return commands.plan_new_guest(await self.host_view(types=("filesystem", "volume")), values)

    def clone_form(self, domain: Domain) -> Form | None:
        return commands.clone_form(domain)

    async def _clone_view(self, source: Domain, into: str | None = None, *, resources: bool = True
                          ) -> commands.CloneView:
        view = await self.host_view(resources=resources)
        if view.domain(source.name) is None:
            raise ValidationError(f"{source.name} is no longer on {self.spec.name}")
        source_vdisks = parse.parse_vdisks_p(await self._stdout(commands.bindings(source.name))).get(source.name, ())
        constraints = parse.parse_constraints_p(
            await self._stdout((commands.LDM, "list-constraints", "-p", commands.validate_name(source.name))))
        target_vdisks: tuple[parse.VdiskRef, ...] = ()
        if into and view.domain(into) is not None:
            target_vdisks = parse.parse_vdisks_p(await self._stdout(commands.bindings(into))).get(into, ())
        return commands.CloneView(view, source_vdisks, constraints.get(source.name), target_vdisks)

    async def clone_choices(self, domain: Domain) -> dict[str, tuple[Choice, ...]]:
        """The snapshots of ``domain``'s root volume and the domains a clone can go into. Raises `Unsupported`
        when its root disk is not a ZFS volume (the wizard says so and offers nothing to fill in)."""
        try:
            return commands.clone_choices(await self._clone_view(domain, resources=False), domain)
        except ValidationError as exc:
            raise Unsupported(exc.message) from None

    async def plan_clone(self, domain: Domain, values: dict[str, Any]) -> Plan:
        return commands.plan_clone(await self._clone_view(domain, values.get("into")), domain, values)

    async def _domain_volumes(self, view: commands.HostView, domain: str) -> tuple[str, ...]:
        """The ZFS volumes behind ``domain``'s virtual disks, in its vdisks' order."""
        vdisks = parse.parse_vdisks_p(await self._stdout(commands.bindings(domain))).get(domain, ())
        return tuple(dataset for v in vdisks if (exported := view.exported(v.volume)) is not None
                     and (dataset := commands.zvol_dataset(exported.dev)) is not None)

    async def plan_snapshot(self, of: str, snapshot: str, operation: str) -> Plan:
        """``of``: a ZFS volume (``pool/vol``), or a domain, whose disks are all snapshotted at once
        (``create`` only: roll back and destroy one volume's snapshot at a time)."""
        view = await self.host_view(resources=False)
        if "/" in of:
            return commands.snapshot_plan(view, of, snapshot, operation)
        if operation != "create":
            raise ValidationError(f"roll back or destroy the snapshot of one volume, not of {of} as a whole")
        if view.domain(of) is None:
            raise ValidationError(f"{self.spec.name} has no domain named {of}")
        return commands.domain_snapshot_plan(view, of, await self._domain_volumes(view, of), snapshot)


def _control(host: HostSnapshot | None) -> states.DomainFacts | None:
    """The control domain of the host's latest poll, or None without host context."""
    if host is None:
        return None
    return states.control_domain(commands.facts(domain) for domain in host.domains)


def _with_users(section: Section, users: dict[str, str]) -> Section:
    """Add a USED BY column to the VDS table: which domain's vdisk each volume backs."""
    try:
        name_at = section.columns.index("NAME")
        vol_at = section.columns.index("VOLUME")
    except ValueError:
        return section
    rows = []
    service = ""
    for row in section.rows:
        service = row[name_at] or service
        rows.append((*row, users.get(f"{row[vol_at]}@{service}", "-")))
    return Section(section.title, (*section.columns, "USED BY"), tuple(rows))
