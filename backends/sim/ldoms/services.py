"""ldm's virtual device subcommands: network devices on the virtual switch (``add-vnet``, ``remove-vnet``),
volumes of the virtual disk server (``add-vdsdev``, ``remove-vdsdev``) and the disks guests see
(``add-vdisk``, ``remove-vdisk``).

A volume's backend must exist on the service domain: a ZFS volume of the pool
(``/dev/zvol/dsk/POOL/VOL``); anything else is refused with ldm's "not valid on service domain". ldm.md §8
attests the substrings ``already exists``, ``does not exist`` and ``is attached``; the rest of each
message is RECONSTRUCTED.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .args import free_id, properties, usage
from .model import MAC, CommandError, Vdisk, Vnet, Volume

if TYPE_CHECKING:
    from .world import LdomsWorld


def add_vnet(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    props, positional = properties(args, ("mac-addr", "pvid", "vid", "mtu", "id"), subcommand)
    if len(positional) != 3:
        raise usage(subcommand)
    name, switch, domain_name = positional
    domain = world.domain(domain_name)
    vsw = world.services.vsw
    if switch not in (vsw.name, f"{vsw.name}@{vsw.ldom}"):
        raise CommandError(f"Virtual switch {switch} not found")
    if any(vnet.name == name for vnet in domain.vnets):
        raise CommandError(f"Network device {name} already exists in LDom {domain.name}")
    mac = props.get("mac-addr", "").lower()
    if mac and (not MAC.fullmatch(mac) or mac in world.macs):
        raise CommandError(f"Invalid or duplicate MAC address: {props['mac-addr']}")
    try:
        pvid = int(props.get("pvid", "1"))
        vids = tuple(int(vid) for vid in props["vid"].split(",")) if props.get("vid") else ()
        mtu = int(props.get("mtu", "1500"))
    except ValueError:
        raise usage(subcommand) from None
    if not all(1 <= vlan <= 4094 for vlan in (pvid, *vids)) or not 1500 <= mtu <= 16000:
        raise CommandError("VLAN ids must be between 1 and 4094 and the MTU between 1500 and 16000")
    vnet_id = free_id((vnet.id for vnet in domain.vnets), props.get("id"), "network")
    world.touch(domain)
    if mac:
        world.macs.add(mac)
    domain.vnets.append(Vnet(name, vsw.name, mac or world.new_mac(), vnet_id, pvid, vids, mtu))
    return ""


def remove_vnet(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if len(args) != 2:
        raise usage(subcommand)
    domain = world.domain(args[1])
    vnet = next((vnet for vnet in domain.vnets if vnet.name == args[0]), None)
    if vnet is None:
        raise CommandError(f"Network device {args[0]} not found in LDom {domain.name}")
    world.touch(domain)
    domain.vnets.remove(vnet)
    world.macs.discard(vnet.mac)
    return ""


def add_vdsdev(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    props, positional = properties(args, ("options",), subcommand)
    if len(positional) != 2 or "@" not in positional[1]:
        raise usage(subcommand)
    backend, spec = positional
    name, _, server = spec.partition("@")
    vds = world.services.vds
    if server != vds.name:
        raise CommandError(f"Virtual disk server {server} not found")
    options = props.get("options", "")
    if not set(filter(None, options.split(","))) <= {"ro", "slice", "excl"}:
        raise CommandError(f"Invalid options: {options}")
    if name in vds.volumes:
        # ldm.md §8: "already exists" (ATTESTED substring)
        raise CommandError(f"Volume {spec} already exists")
    prefix = "/dev/zvol/dsk/"
    if not backend.startswith(prefix) or world.pool.volume(backend[len(prefix):]) is None:
        raise CommandError(f"Path {backend} is not valid on service domain {vds.ldom}")
    world.touch(world.domains[vds.ldom])
    vds.volumes[name] = Volume(name, backend, options)
    return ""


def remove_vdsdev(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if len(args) != 1 or "@" not in args[0]:
        raise usage(subcommand)
    spec = args[0]
    name, _, server = spec.partition("@")
    vds = world.services.vds
    if server != vds.name or name not in vds.volumes:
        # ldm.md §8: "does not exist" (ATTESTED substring)
        raise CommandError(f"Volume {spec} does not exist")
    users = [(d.name, disk.name) for d in world.domains.values() for disk in d.vdisks if disk.vol == spec]
    if users:
        # ldm.md §8: "is attached" (ATTESTED substring)
        domain, disk = users[0]
        raise CommandError(f"Volume {spec} is attached to disk {disk} of LDom {domain}")
    world.touch(world.domains[vds.ldom])
    del vds.volumes[name]
    return ""


def add_vdisk(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    props, positional = properties(args, ("id", "timeout"), subcommand)
    if len(positional) != 3:
        raise usage(subcommand)
    name, spec, domain_name = positional
    domain = world.domain(domain_name)
    vds, volume = world.volume(spec)
    if any(disk.name == name for disk in domain.vdisks):
        raise CommandError(f"Disk {name} already exists in LDom {domain.name}")
    timeout = props.get("timeout", "")
    if timeout and not timeout.isdigit():
        raise CommandError(f"Invalid timeout: {timeout}")
    disk_id = free_id((disk.id for disk in domain.vdisks), props.get("id"), "disk")
    world.touch(domain)
    domain.vdisks.append(Vdisk(name, volume.name, vds.name, disk_id, timeout))
    return ""


def remove_vdisk(world: LdomsWorld, subcommand: str, args: list[str]) -> str:
    if len(args) != 2:
        raise usage(subcommand)
    domain = world.domain(args[1])
    disk = next((disk for disk in domain.vdisks if disk.name == args[0]), None)
    if disk is None:
        raise CommandError(f"Disk {args[0]} not found in LDom {domain.name}")
    world.touch(domain)
    domain.vdisks.remove(disk)
    return ""


COMMANDS = {"add-vnet": add_vnet, "remove-vnet": remove_vnet, "add-vdsdev": add_vdsdev,
            "remove-vdsdev": remove_vdsdev, "add-vdisk": add_vdisk, "remove-vdisk": remove_vdisk}
