"""The libvirt backend's answers to the wizards and the snapshot actions (a mixin of `LibvirtBackend`).

What the host offers (`storage`, `volumes`, `networks`, `resources`, `snapshots`), the create and
clone forms, their choices and plans, and the domain-snapshot extra actions. Each reads the host with
one `storage.py` function in the backend's worker thread (`LibvirtBackend._call`, which turns libvirt's
errors into `HvdeckError`/`ConnectionLost`), then decides with the pure `wizards.py`. The random parts
of a plan (the new UUID and MAC addresses) are drawn here, so that the builders stay pure.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..base import ExtraAction
from ..errors import HvdeckError
from ..inventory import HostSpec
from ..model import Domain, FreeResources, HostSnapshot, Network, Snapshot, StoragePool, Volume
from ..options import Choice, Form, FormErrors
from ..plan import Plan
from ..transport.base import Session
from . import hostxml, storage, wizards


def mac_supply(used: frozenset[str], rng: random.Random | None = None) -> Iterator[str]:
    """Endless random MAC addresses with libvirt's QEMU prefix 52:54:00 (virMacAddrGenerate), none of them
    in ``used`` nor given twice."""
    rng = rng or random.SystemRandom()
    seen = set(used)
    while True:
        mac = "52:54:00:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
        if mac not in seen:
            seen.add(mac)
            yield mac


class LibvirtWizards:
    """Mixed into `LibvirtBackend` before `Backend`: it overrides the contract's defaults."""

    spec: HostSpec

    if TYPE_CHECKING:
        async def _call(self, fn: Any, *args: Any) -> Any: ...

    def __init__(self, spec: HostSpec, session: Session) -> None:
        super().__init__(spec, session)  # type: ignore[call-arg]  # Backend.__init__, next in the MRO
        #: uuid -> targets of the disks a clone copies, from the domain XML the poll reads
        self._clone_disks: dict[str, tuple[str, ...]] = {}

    def _remember_disks(self, uuid: str, xml: str) -> None:
        """Called by the poll with a domain's XML: which of its disks a clone would copy (`clone_form`)."""
        try:
            self._clone_disks[uuid] = tuple(d.target for d in hostxml.domain_disks(xml) if d.copied and d.target)
        except HvdeckError:
            self._clone_disks.pop(uuid, None)

    # -- what the host offers ----------------------------------------------------------------------------

    async def storage(self) -> tuple[StoragePool, ...]:
        pools = await self._call(storage.pools)
        return tuple(StoragePool(p.name, f"libvirt-{p.type}", p.capacity, p.free, p.path, p.active) for p in pools)

    async def volumes(self, pool: str | None = None) -> tuple[Volume, ...]:
        found = await self._call(storage.volumes, pool)
        return tuple(Volume(v.pool, v.name, v.capacity, v.path, v.format, None, v.used_by) for v in found)

    async def networks(self) -> tuple[Network, ...]:
        return tuple(n.model() for n in await self._call(storage.networks))

    async def resources(self) -> FreeResources:
        result: FreeResources = await self._call(storage.resources)
        return result

    async def snapshots(self, of: str) -> tuple[Snapshot, ...]:
        """The domain ``of``'s snapshots as a tree (parents first, each parent's children after it)."""
        result: tuple[Snapshot, ...] = await self._call(storage.snapshots, of)
        return result

    async def _facts(self) -> wizards.HostFacts:
        facts: wizards.HostFacts = await self._call(storage.host_facts, self.spec.name, self.spec.libvirt_uri)
        return facts

    # -- create ----------------------------------------------------------------------------------------

    def create_form(self) -> Form | None:
        return wizards.CREATE_FORM

    async def create_choices(self) -> dict[str, tuple[Choice, ...]]:
        return wizards.create_choices(await self._facts())

    async def plan_create(self, values: dict[str, Any]) -> Plan:
        facts = await self._facts()
        return wizards.create_plan(values, facts, uuid=str(uuid.uuid4()), mac=next(mac_supply(facts.macs)))

    # -- clone -----------------------------------------------------------------------------------------

    def clone_form(self, domain: Domain) -> Form | None:
        return wizards.clone_form(domain, self._clone_disks.get(domain.uuid or "", ()))

    async def clone_choices(self, domain: Domain) -> dict[str, tuple[Choice, ...]]:
        facts = await self._facts()
        snaps = await self.snapshots(domain.name)
        form = self.clone_form(domain)
        assert form is not None
        return wizards.clone_choices(facts, snaps, form)

    async def plan_clone(self, domain: Domain, values: dict[str, Any]) -> Plan:
        snapshot = values.get("snapshot") or None
        if snapshot is not None:
            names = {s.name for s in await self.snapshots(domain.name)}
            if snapshot not in names:
                raise FormErrors({"snapshot": f"Snapshot: {domain.name} has no snapshot named {snapshot!r}"})
        facts, now = await self._call(storage.clone_facts, self.spec.name, self.spec.libvirt_uri, domain,
                                      snapshot, not self.spec.read_only)
        return wizards.clone_plan(now, values, facts, uuid=str(uuid.uuid4()), macs=mac_supply(facts.host.macs))

    # -- domain snapshots, as extra actions --------------------------------------------------------------

    def extra_actions(self) -> tuple[ExtraAction, ...]:
        return wizards.EXTRA_ACTIONS

    def why_not_extra(self, action: ExtraAction, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        return wizards.why_not_extra(action, domain)

    async def plan_extra(self, action: ExtraAction, domain: Domain, values: dict[str, str],
                         host: HostSnapshot | None = None) -> Plan:
        reason = wizards.why_not_extra(action, domain)
        if reason is not None:
            raise HvdeckError(reason, title=f"Cannot {action.label.rstrip('…').lower()}")
        found, disks, domain_type = await self._call(storage.snapshot_facts, domain)
        return wizards.snapshot_plan(action, domain, values, uri=self.spec.libvirt_uri, snapshots=found,
                                     disks=disks, domain_type=domain_type)
