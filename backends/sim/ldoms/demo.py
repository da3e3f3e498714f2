"""The demo control domain's guests: one in every state, a root domain in delayed reconfiguration, a gold
image with a snapshot that a bound guest's boot disk is cloned from.

Both demo hosts (``t7-a``, ``t7-b``) get the same guests, so each exports volumes of the same names: the
shared storage a migration needs (see `migration`); a guest migrates to the other host under a new name
(``TARGET:NEWNAME``), since its own name is taken there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import G, State, Vdisk, Vnet, Volume

if TYPE_CHECKING:
    from .world import LdomsWorld


@dataclass(frozen=True, slots=True)
class DemoGuest:
    name: str
    state: State
    vcpus: int
    memory: int
    #: (volume suffix, size) for vdisk0, vdisk1, ...
    disks: tuple[tuple[str, int], ...] = (("boot", 50 * G),)
    uptime: int = 0
    #: pseudonyms of the PCIe root complexes it owns (a root domain)
    io: tuple[str, ...] = ()
    delayed_reconfig: bool = False


#: the demo's guests: with primary's 16 that binds 56 of 64 strands and 116G of 256G
DEMO_GUESTS = (
    DemoGuest("ldg-web1", State.ACTIVE, 4, 8 * G, uptime=12 * 86400 + 3 * 3600 + 41 * 60),
    DemoGuest("ldg-db1", State.ACTIVE, 32, 64 * G, disks=(("boot", 50 * G), ("data", 200 * G)),
              uptime=45 * 86400 + 7 * 3600 + 55 * 60),
    DemoGuest("ldg-app1", State.ACTIVE, 2, 8 * G, uptime=2 * 3600 + 14 * 60, io=("pci_3",), delayed_reconfig=True),
    DemoGuest("ldg-test", State.BOUND, 2, 4 * G),
    DemoGuest("ldg-build", State.INACTIVE, 8, 16 * G),
)


def populate(world: LdomsWorld) -> LdomsWorld:
    """Add the demo's gold image and guests to a new world; active guests run Solaris, at their login
    prompt."""
    now = world.clock()
    world.domains["primary"].started_at = now - (45 * 86400 + 8 * 3600 + 6 * 60)
    world.pool.create_volume("ldompool/sol11-gold", 50 * G, referenced=9 * G)
    world.pool.snapshot("ldompool/sol11-gold@2024-06")
    for guest in DEMO_GUESTS:
        domain = world.new_domain(guest.name)
        domain.variables = {"auto-boot?": "true", "boot-device": "vdisk0"}
        domain.io = [bus for bus in world.machine.io if bus[1] in guest.io]
        domain.vcpus, domain.memory = guest.vcpus, guest.memory
        domain.vnets.append(Vnet("vnet0", world.services.vsw.name, world.new_mac(), 0))
        for disk_id, (suffix, size) in enumerate(guest.disks):
            volume = f"{guest.name}-{suffix}"
            dataset = f"ldompool/{volume}"
            if suffix == "boot" and guest.state is State.BOUND:
                world.pool.clone("ldompool/sol11-gold@2024-06", dataset)
            else:
                world.pool.create_volume(dataset, size, referenced=size // 5)
            world.services.vds.volumes[volume] = Volume(volume, f"/dev/zvol/dsk/{dataset}")
            domain.vdisks.append(Vdisk(f"vdisk{disk_id}", volume, world.services.vds.name, disk_id))
        if guest.state is not State.INACTIVE:
            world.bind(domain)
        domain.state, domain.delayed_reconfig = guest.state, guest.delayed_reconfig
        if guest.state is State.ACTIVE:
            domain.started_at = now - guest.uptime
            domain.console.booted(domain.name)
    return world
