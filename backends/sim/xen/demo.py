"""The demo dom0s: an xl host, an xm (xend) host and a Sun xVM host, each with guests in every state.

Every flavour has a busy guest (mostly ``r``), idle ones (``b``), a paused one, a crashed one kept by
``on_crash = 'preserve'``, a guest whose name is longer than xentop's 10 columns, and guests that are
not running but can be started: configuration files in /etc/xen (xl and xm), or xend-managed domains
listed while shut off (xm and xVM). Disks are real objects of the simulated storage: LVM volumes (one a
copy-on-write snapshot of a golden image) on the Linux dom0s, a zvol and vdisks (one with a snapshot)
on xVM. The same name, toolstack and seed build the same host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .config import guest_config, parse_config_text, render_config
from .model import Domain, G, GuestConfig, Toolstack, Wave, new_uuid, xen_mac

DAY, HOUR, MINUTE = 86400, 3600, 60

@dataclass(frozen=True, slots=True)
class DemoGuest:
    name: str
    #: running, busy (mostly on a CPU), paused, crashed, stopped (a config file only), inactive (managed)
    state: str
    vcpus: int
    memory_mib: int
    #: disk specifications, as in the configuration file
    disks: tuple[str, ...]
    uptime: int = 0
    os: str = "debian"
    hvm: bool = False
    maxvcpus: int | None = None
    maxmem_mib: int | None = None
    weight: int = 256
    cap: int = 0
    bridge: str = "xenbr0"


XL_GUESTS = (
    DemoGuest("web01", "busy", 2, 2048, ("phy:/dev/san0/web01-disk,xvda,w",), 12 * DAY + 3 * HOUR + 41 * MINUTE,
              maxvcpus=4, maxmem_mib=4096),
    DemoGuest("web02", "running", 2, 2048, ("phy:/dev/san0/web02-disk,xvda,w",), 5 * DAY + 7 * HOUR),
    DemoGuest("db01", "running", 4, 8192, ("phy:/dev/vg0/db01-root,xvda,w", "phy:/dev/vg0/db01-data,xvdb,w"),
              45 * DAY + 7 * HOUR + 55 * MINUTE, weight=512, os="centos"),
    DemoGuest("build-runner-07", "running", 4, 4096, ("file:/var/lib/xen/images/build-runner-07.img,xvda,w",),
              2 * HOUR + 14 * MINUTE),
    DemoGuest("cache01", "paused", 1, 1024, ("phy:/dev/san0/cache01-disk,xvda,w",), 3 * DAY),
    DemoGuest("legacy-app", "crashed", 1, 512, ("phy:/dev/vg0/legacy-app-disk,xvda,w",), 40 * DAY, os="centos"),
    DemoGuest("backup01", "stopped", 2, 2048, ("phy:/dev/vg0/backup01-disk,xvda,w",)),
    DemoGuest("win-test", "stopped", 2, 4096, ("phy:/dev/vg0/win-test-disk,hda,w",), hvm=True, os="windows"),
)
XM_GUESTS = (
    DemoGuest("app01", "running", 2, 4096, ("phy:/dev/vg_guests/app01-disk,xvda,w",), 30 * DAY, os="centos"),
    DemoGuest("app02", "busy", 4, 8192, ("phy:/dev/vg_guests/app02-disk,xvda,w",), 30 * DAY + 2 * HOUR, os="centos"),
    DemoGuest("db02", "paused", 4, 16384, ("phy:/dev/vg_guests/db02-disk,xvda,w",), 8 * DAY, os="centos"),
    DemoGuest("reporting-server-prod", "running", 2, 4096, ("phy:/dev/vg_guests/reporting-disk,xvda,w",),
              11 * DAY, os="centos", cap=100),
    DemoGuest("etl01", "crashed", 2, 2048, ("phy:/dev/vg_guests/etl01-disk,xvda,w",), 2 * DAY, os="centos"),
    DemoGuest("dev01", "inactive", 1, 1024, ("phy:/dev/vg_guests/dev01-disk,xvda,w",), os="centos"),
    DemoGuest("test01", "stopped", 1, 1024, ("phy:/dev/vg_guests/test01-disk,xvda,w",), os="centos"),
)
XVM_GUESTS = (
    DemoGuest("sol1", "busy", 2, 2048, ("tap:vdisk:/export/vdisks/sol1,xvda,w",), 6 * DAY, os="solaris"),
    DemoGuest("ubuntu1", "running", 1, 1024, ("phy:/dev/zvol/dsk/rpool/ubuntu1-disk,xvda,w",), 3 * DAY),
    DemoGuest("winxp", "paused", 1, 1024, ("file:/export/images/winxp.img,hda,w",), 1 * DAY, hvm=True,
              os="windows"),
    DemoGuest("sol-build-server", "running", 2, 2048, ("tap:vdisk:/export/vdisks/sol-build,xvda,w",), 9 * HOUR,
              os="solaris"),
    DemoGuest("sol-crash", "crashed", 1, 1024, ("tap:vdisk:/export/vdisks/sol-crash,xvda,w",), 4 * HOUR,
              os="solaris"),
    DemoGuest("sol2", "inactive", 1, 1024, ("tap:vdisk:/export/vdisks/sol2,xvda,w",), os="solaris"),
)


def _config(world, guest: DemoGuest) -> GuestConfig:
    mac = xen_mac(world.rng)
    lines = [f"name = '{guest.name}'", f"memory = {guest.memory_mib}", f"vcpus = {guest.vcpus}"]
    if guest.maxvcpus:
        lines.append(f"maxvcpus = {guest.maxvcpus}")
    if guest.maxmem_mib:
        lines.append(f"maxmem = {guest.maxmem_mib}")
    if guest.hvm:
        lines.append("builder = 'hvm'")
    elif guest.os == "solaris":
        lines += ["kernel = '/platform/i86xpv/kernel/amd64/unix'", "ramdisk = '/platform/i86pc/amd64/boot_archive'",
                  "extra = '/platform/i86xpv/kernel/amd64/unix -B console=hypervisor'"]
    else:
        lines.append("bootloader = 'pygrub'")
    if guest.weight != 256:
        lines.append(f"cpu_weight = {guest.weight}")
    if guest.cap:
        lines.append(f"cap = {guest.cap}")
    lines.append("disk = [ " + ", ".join(f"'{d}'" for d in guest.disks) + " ]")
    lines.append(f"vif = [ 'mac={mac},bridge={guest.bridge}' ]")
    if guest.state == "crashed":
        lines.append("on_crash = 'preserve'")
    text = "\n".join(lines) + "\n"
    config = guest_config(parse_config_text(text, f"/etc/xen/{guest.name}.cfg"), world.rng, text=text)
    config.os = guest.os
    config.uuid = new_uuid(world.rng)
    config.text = render_config(config)
    return config


def _storage(world, toolstack: Toolstack, guests: tuple[DemoGuest, ...], now: float) -> None:
    if toolstack is Toolstack.XVM:
        world.zfs.run(["create", "-V", "10G", "rpool/ubuntu1-disk"])
        for name, size, vtype in (("sol1", "16g", "vmdk"), ("sol-build", "16g", "vmdk"), ("sol-crash", "8g", "vhd"),
                                  ("sol2", "8g", "vhd")):
            world.vdisks.run(["create", "-s", size, "-t", vtype, f"/export/vdisks/{name}"], now - 30 * DAY)
        world.vdisks.run(["snapshot", "/export/vdisks/sol2@install"], now)
        world.files["/export/images/winxp.img"] = "<disk image, 8 GB>\n"
        world.files["/export/iso/sol-nv-b111-x86-dvd.iso"] = "<ISO image>\n"
        return
    if toolstack is Toolstack.XL:
        world.lvm.add_vg("vg0", 1862 * G)
        world.lvm.add_vg("san0", 2048 * G)
        world.lvm.create("golden-debian12", "san0", 20 * G, now - 60 * DAY)
        world.lvm.create("web02-disk", "san0", 4 * G, now - 5 * DAY - 8 * HOUR, origin="golden-debian12")
        world.files["/var/lib/xen/images/build-runner-07.img"] = "<disk image, 40 GB>\n"
    else:
        del world.lvm.vgs["vg0"]
        world.lvm.add_vg("vg_guests", 1117 * G)
    for guest in guests:
        for spec in guest.disks:
            target = spec.split(",")[0].split(":", 1)[1]
            if target.startswith("/dev/") and world.lvm.lv_by_path(target) is None:
                vg, name = target.split("/")[2:4]
                world.lvm.create(name, vg, (200 if "data" in name else 20) * G, now - 90 * DAY)


def build(cls, name: str, toolstack: Toolstack, seed: int, clock: Callable[[], float]):
    """``XenWorld.demo``."""
    world = cls(name, toolstack, seed=seed, clock=clock)
    guests = {Toolstack.XL: XL_GUESTS, Toolstack.XM: XM_GUESTS, Toolstack.XVM: XVM_GUESTS}[toolstack]
    now = clock()
    _storage(world, toolstack, guests, now)
    for guest in guests:
        config = _config(world, guest)
        path = f"/etc/xen/{guest.name}.cfg" if toolstack is not Toolstack.XVM else ""
        if path:
            world.files[path] = config.text
        managed = toolstack is Toolstack.XVM or guest.state == "inactive"
        if guest.state in ("stopped", "inactive"):
            if managed:
                world.domains[guest.name] = Domain(guest.name, config.uuid, config, managed=True, config_path=path,
                                                   vcpus_online=config.vcpus, max_vcpus=config.max_vcpus,
                                                   weight=guest.weight, cap=guest.cap)
            continue
        domain = world.start(config, config_path=path, managed=managed, started=now - guest.uptime)
        if guest.state == "busy":  # mostly on a CPU: a load of 0.6-0.95 of each vCPU
            rng = world._rng_for(guest.name, domain.domid or 0)
            domain.load = Wave.seeded(rng, rng.uniform(0.72, 0.8))
            for counter in domain.vcpu_counters:
                counter.wave = domain.load
            world._rescale(domain, now)
        if guest.state == "paused":
            world.pause(domain)
        elif guest.state == "crashed":
            world.crash(domain)
    return world
