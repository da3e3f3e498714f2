"""Pure Xen plans: lifecycle actions, the Xen-only actions, and the create, clone and migrate wizards.

Everything here is built from what the backend read of the host (`Dom0`, domain rows, config facts,
storage reports) and the user's validated input; nothing runs. Every step is an argv from commands.py,
with the operation that undoes it where one exists. The state table is states.py.
"""

from __future__ import annotations

import posixpath
import random
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..base import Action, ExtraAction, Param
from ..errors import ValidationError
from ..model import Domain, DomainState
from ..options import (
    BoolOption,
    Choice,
    ChoiceOption,
    Form,
    FormErrors,
    NumberOption,
    Option,
    SizeOption,
    TextOption,
    format_size,
)
from ..plan import Check, Operation, Plan, Progress, ProgressInfo, Step
from . import commands, states
from .cfg import ConfigFacts
from .commands import GuestConfig, Toolstack, XenDisk, XenVif
from .parse import parse_migrate_line
from .storage import LogicalVolume, VolumeGroup

MIB = 1 << 20
GIB = 1 << 30
#: a snapshot with less change space than this share of its origin gets a warning in its plan
SMALL_SNAPSHOT = 0.25
#: Xen's own OUI for guest MAC addresses (xl-network-configuration(5): "00:16:3e")
XEN_OUI = "00:16:3e"
#: the bridge xl attaches a vif to when the config names none (xl-network-configuration(5))
DEFAULT_BRIDGE = "xenbr0"


@dataclass(frozen=True, slots=True)
class Dom0:
    """What the plans need to know of the dom0: its inventory name, toolstack, and whether it is Sun xVM
    (xm with virsh, virt-install and vdiskadm on OpenSolaris)."""

    host: str
    toolstack: Toolstack
    xvm: bool = False

    @property
    def tool(self) -> str:
        return self.toolstack.value

    @property
    def solaris(self) -> bool:
        return self.xvm


def _step(description: str, argv: Sequence[str], undo: Sequence[str] | None = None, **kw: Any) -> Step:
    return Step(description, Operation.command(*argv), Operation.command(*undo) if undo else None, **kw)


def _native(domain: Domain) -> str:
    return domain.native_state


def startable(domain: Domain) -> bool:
    """Can this stopped row be started: a config file, a saved image, or a domain xend manages."""
    return (_native(domain) in ("config", "saved") and bool(domain.handle)) or managed(domain)


def managed(domain: Domain) -> bool:
    return ("managed", "xend") in domain.extra


# --- lifecycle --------------------------------------------------------------------------------------------


def lifecycle_plan(dom0: Dom0, action: Action, domain: Domain) -> Plan:
    """The plan of a lifecycle action the state table (`states.why_not`) allows. Start: `xl create PATH` from
    its config file, `xl restore PATH` from a saved image, `xm start NAME` for a domain xend manages."""
    ts = dom0.toolstack
    name = domain.name
    warning, confirm = "", None
    if action is Action.START:
        if _native(domain) == "saved" and domain.handle:
            step = _step(f"Restore {name} from its saved image {domain.handle}", commands.restore(ts, domain.handle),
                         commands.destroy(ts, name))
        elif _native(domain) == "config" and domain.handle:
            step = _step(f"Start {name} from its config file {domain.handle}", commands.create(ts, domain.handle),
                         commands.destroy(ts, name))
        elif managed(domain):
            step = _step(f"Start {name} (managed by xend)", commands.start_managed(ts, name),
                         commands.destroy(ts, name))
        else:
            raise ValidationError(f"{name} has nothing to start from")
    elif action is Action.SHUTDOWN:
        step = _step(f"Ask {name}'s OS to shut down (the command returns at once; the guest takes its time)",
                     commands.shutdown(ts, name))
    elif action is Action.REBOOT:
        step = _step(f"Ask {name}'s OS to reboot (it comes back with a new domain id)", commands.reboot(ts, name))
    elif action is Action.PAUSE:
        step = _step(f"Pause {name}: its vCPUs stop being scheduled, its memory stays", commands.pause(ts, name),
                     commands.unpause(ts, name))
    elif action is Action.UNPAUSE:
        step = _step(f"Unpause {name}", commands.unpause(ts, name), commands.pause(ts, name))
    elif action is Action.FORCE_OFF:
        step = _step(f"Destroy {name} at once, like pulling the power cord", commands.destroy(ts, name))
        warning = (f"{name} is stopped without a clean shutdown: what it had not written to disk is lost. "
                   "Type the domain name to confirm.")
        confirm = name
    else:
        raise ValidationError(f"Xen has no {action.label.lower()}")
    return Plan(title=f"{action.label} {name} on {dom0.host}", host=dom0.host, action=action.value, target=name,
                steps=(step,), confirm_phrase=confirm, warning=warning)


# --- Xen-only actions -------------------------------------------------------------------------------------

SAVE = ExtraAction("save", "Save to a file (stops the guest)", (Param("path", "file", "/var/lib/xen/save/NAME.save"),))
RESTORE = ExtraAction("restore", "Restore from a saved file", (Param("path", "file", "/var/lib/xen/save/NAME.save"),))
VCPU_SET = ExtraAction("vcpu-set", "Set the online vCPUs (vcpu-set)", (Param("count", "vCPUs", "e.g. 2"),))
MEM_SET = ExtraAction("mem-set", "Set the memory (mem-set)", (Param("size", "memory", "e.g. 2G or 1536M"),))
SCHED_CREDIT = ExtraAction("sched-credit", "Credit scheduler weight and cap", (
    Param("weight", "weight (1-65535; blank: unchanged)", "256"),
    Param("cap", "cap in % of one CPU (0: none; blank: unchanged)", "0")))
VDISK_SNAPSHOT = ExtraAction("vdisk-snapshot", "Snapshot its vdisk", (
    Param("vdisk", "vdisk", "/export/vdisks/NAME"), Param("snapshot", "snapshot name", "e.g. before-patch")))
VDISK_ROLLBACK = ExtraAction("vdisk-rollback", "Roll its vdisk back to a snapshot", (
    Param("vdisk", "vdisk", "/export/vdisks/NAME"), Param("snapshot", "snapshot name", "e.g. install")))
EXTRA_ACTIONS = (SAVE, RESTORE, VCPU_SET, MEM_SET, SCHED_CREDIT)
XVM_ACTIONS = (VDISK_SNAPSHOT, VDISK_ROLLBACK)


def extra_actions(dom0: Dom0) -> tuple[ExtraAction, ...]:
    return EXTRA_ACTIONS + (XVM_ACTIONS if dom0.xvm else ())


def why_not_extra(dom0: Dom0, action: ExtraAction, domain: Domain) -> str | None:
    """None when the Xen action can be planned for ``domain`` now, else why not."""
    if action not in extra_actions(dom0):
        return f"{dom0.tool} dom0s have no {action.label.lower()}"
    name = domain.name
    if states.migrating(name):
        return f"{name} is being migrated"
    if action in (RESTORE, VDISK_SNAPSHOT, VDISK_ROLLBACK):
        if domain.state is not DomainState.STOPPED:
            return f"{name} is {'the control domain' if states.is_dom0(domain) else 'running'}"
        return None
    if domain.state is DomainState.STOPPED:
        return f"{name} is not running"
    if states.is_dom0(domain) and action is not SCHED_CREDIT:
        return f"{name} is the control domain (dom0): hvdeck does not change it"
    flags = states.flags_of(domain)
    if flags is None:
        return f"{name} is in a state hvdeck cannot read ({domain.native_state!r})"
    if flags.dying or flags.shutdown or flags.crashed:
        word = "dying" if flags.dying else "crashed" if flags.crashed else "shutting down"
        return f"{name} is {word}"
    return None


def _blank(values: Mapping[str, str], key: str) -> str:
    return str(values.get(key, "") or "").strip()


def extra_plan(dom0: Dom0, action: ExtraAction, domain: Domain, values: Mapping[str, str], *,
               max_vcpus: int | None = None) -> Plan:
    """The plan of a Xen-only action from its inputs (ValidationError, shown in the inputs dialog).
    ``max_vcpus``: the domain's maxvcpus as the host said it (vcpu-set may not go over it)."""
    ts = dom0.toolstack
    name = domain.name
    warning = ""
    steps: list[Step]
    if action is SAVE:
        path = _blank(values, "path") or commands.save_path(name)
        steps = [_step(f"Write {name}'s memory to {path} and stop it", commands.save(ts, name, path),
                       commands.restore(ts, path))]
        warning = f"{name} stops running until it is restored from {path}."
    elif action is RESTORE:
        path = _blank(values, "path") or (domain.handle if _native(domain) == "saved" and domain.handle
                                          else commands.save_path(name))
        steps = [_step(f"Restore the domain saved in {path}", commands.restore(ts, path), commands.destroy(ts, name))]
    elif action is VCPU_SET:
        count = commands.validate_vcpus(_blank(values, "count"), max_vcpus)
        steps = [_step(f"Bring {count} of {name}'s vCPUs online", commands.vcpu_set(ts, name, count, maximum=max_vcpus),
                       commands.vcpu_set(ts, name, domain.vcpus) if domain.vcpus else None)]
    elif action is MEM_SET:
        text = _blank(values, "size")
        try:
            size = _size(text)
        except ValueError:
            raise ValidationError(f"memory {text!r}: use a size such as 2G or 1536M") from None
        mib = commands.validate_memory_mib(size // MIB)
        if domain.max_memory_bytes is not None and mib * MIB > domain.max_memory_bytes:
            raise ValidationError(f"{format_size(mib * MIB)} is more than {name}'s maximum memory "
                                  f"({format_size(domain.max_memory_bytes)})")
        current = domain.memory_bytes // MIB if domain.memory_bytes else None
        steps = [_step(f"Set {name}'s memory to {mib} MiB (its balloon driver gives or takes the rest)",
                       commands.mem_set(ts, name, mib), commands.mem_set(ts, name, current) if current else None)]
    elif action is SCHED_CREDIT:
        weight = _blank(values, "weight") or None
        cap = _blank(values, "cap") or None
        argv = commands.set_sched_credit(ts, name, weight=weight, cap=cap, vcpus=max_vcpus or domain.vcpus)
        steps = [_step(f"Set {name}'s credit scheduler " + ", ".join(
            part for part in (f"weight {weight}" if weight else "", f"cap {cap}%" if cap else "") if part), argv)]
    elif action is VDISK_SNAPSHOT:
        path, snapshot = _vdisk_inputs(values)
        steps = [_step(f"Snapshot the vdisk {path} as {snapshot}", commands.vdisk_snapshot(path, snapshot),
                       commands.vdisk_destroy(path, snapshot))]
    elif action is VDISK_ROLLBACK:
        path, snapshot = _vdisk_inputs(values)
        steps = [_step(f"Roll {path} back to {snapshot}", commands.vdisk_rollback(path, snapshot))]
        warning = (f"Every change to {path} since {snapshot}, and every later snapshot, is lost. Type the domain "
                   "name to confirm.")
        return Plan(title=f"{action.label}: {name} on {dom0.host}", host=dom0.host, action=action.id, target=name,
                    steps=tuple(steps), confirm_phrase=name, warning=warning)
    else:
        raise ValidationError(f"Xen has no {action.label.lower()}")
    return Plan(title=f"{action.label}: {name} on {dom0.host}", host=dom0.host, action=action.id, target=name,
                steps=tuple(steps), warning=warning)


def _vdisk_inputs(values: Mapping[str, str]) -> tuple[str, str]:
    path = commands.validate_path(_blank(values, "vdisk"), "vdisk")
    return path, commands.validate_snapshot_name(_blank(values, "snapshot"))


def _size(text: str) -> int:
    """A memory size: ``2G``, ``1536M``, or a plain number of MiB (as xl's mem-set reads it)."""
    from ..options import parse_size

    if text.isdigit():
        return int(text) * MIB
    return parse_size(text)


# --- create -----------------------------------------------------------------------------------------------


def create_form(dom0: Dom0) -> Form:
    """The create wizard's inputs. ``storage`` is where the new disk is made (``lvm:VG``, ``zfs:POOL``,
    ``vdisk:DIR`` or ``file:DIR``, as `storage_choices` offers them); ``image`` uses an existing disk image
    or device instead. On Sun xVM the guest is installed by virt-install from ``source`` (xvm.md)."""
    options: tuple[Option, ...]
    name = TextOption("name", "Name", "the new guest's name (letters, digits and _-.:+)",
                      validator=commands.validate_new_name)
    memory = SizeOption("memory", "Memory", "its memory", default="1G", low=32 * MIB)
    storage = ChoiceOption("storage", "Storage", "where its disk is made: a volume group, a ZFS pool, a directory",
                           required=False)
    size = SizeOption("disk_size", "Disk size", "the new disk's size", default="20G", low=64 * MIB)
    image = TextOption("image", "Existing disk", "an existing image file or device to boot instead of a new disk",
                       required=False, validator=lambda text: commands.validate_path(text, "disk"))
    if dom0.xvm:
        options = (name, memory, storage, size, image,
                   BoolOption("hvm", "HVM", "fully virtualised (needs an ISO to install from)", default="no"),
                   TextOption("source", "Install from", "an ISO path or nfs:SERVER:/PATH (virt-install -l / -c)",
                              validator=commands.validate_install_source),
                   TextOption("mac", "MAC", "its MAC address (default: one virt-install picks)", required=False,
                              validator=commands.validate_mac))
        return Form("Create a guest (virt-install)", options, check=_check_create)
    options = (name, memory,
               NumberOption("vcpus", "vCPUs", "its virtual CPUs", default="1", low=1, high=512),
               storage, size, image,
               ChoiceOption("bridge", "Bridge", "the bridge its network interface joins", default=DEFAULT_BRIDGE,
                            free=True, validator=commands.validate_bridge),
               ChoiceOption("boot", "Boot", "pygrub (the guest's own kernel), a kernel file, or HVM",
                            default="pygrub", choices=(Choice("pygrub", "pygrub", "bootloader = 'pygrub'"),
                                                       Choice("kernel", "kernel", "kernel, ramdisk, extra"),
                                                       Choice("hvm", "HVM", "builder = 'hvm'"))),
               TextOption("kernel", "Kernel", "the kernel file, for boot = kernel", required=False,
                          validator=lambda text: commands.validate_path(text, "kernel")),
               TextOption("ramdisk", "Ramdisk", "its initial ramdisk, for boot = kernel", required=False,
                          validator=lambda text: commands.validate_path(text, "ramdisk")),
               TextOption("cmdline", "Kernel command line", "extra = ..., for boot = kernel", required=False),
               BoolOption("start", "Start it", "start the guest once it is created", default="yes"))
    return Form(f"Create a guest ({dom0.tool} create)", options, check=_check_create)


def _check_create(values: dict[str, Any]) -> dict[str, str]:
    errors = {}
    if not values.get("image") and not values.get("storage"):
        errors["storage"] = "Storage: choose where the new disk is made, or give an existing disk"
    boot = values.get("boot")
    if boot == "kernel" and not values.get("kernel"):
        errors["kernel"] = "Kernel: required to boot from a kernel file"
    if boot != "kernel" and (values.get("ramdisk") or values.get("cmdline")):
        errors["boot"] = "Boot: a ramdisk or a kernel command line needs boot = kernel"
    return errors


def storage_choices(dom0: Dom0, vgs: Sequence[VolumeGroup], pools: Sequence[tuple[str, int | None]],
                    dirs: Sequence[str]) -> tuple[Choice, ...]:
    """Where a new disk can be made: volume groups (``lvm:VG``), ZFS pools (``zfs:POOL``), and on xVM vdisk
    directories (``vdisk:DIR``) and image directories (``file:DIR``, virt-install makes the file)."""
    choices = [Choice(f"lvm:{vg.name}", f"{vg.name} (LVM)", f"{format_size(vg.free)} free of {format_size(vg.size)}")
               for vg in vgs]
    choices += [Choice(f"zfs:{pool}", f"{pool} (ZFS)", f"{format_size(avail)} available" if avail is not None else "")
                for pool, avail in pools]
    if dom0.xvm:
        choices += [Choice(f"vdisk:{d}", f"{d} (vdisk)", "vdiskadm create") for d in dirs if "vdisk" in d]
        choices += [Choice(f"file:{d}", f"{d} (file)", "virt-install --file-size") for d in dirs if "vdisk" not in d]
    return tuple(choices)


@dataclass(frozen=True, slots=True)
class HostFacts:
    """What the host said just before a create or clone plan: names in use, free memory, free space."""

    names: frozenset[str]
    free_memory_bytes: int | None
    vgs: tuple[VolumeGroup, ...] = ()
    lvs: tuple[LogicalVolume, ...] = ()
    pools: tuple[tuple[str, int | None], ...] = ()
    solaris: bool = False


def new_mac(rng: random.Random | None = None) -> str:
    """A MAC in Xen's OUI with a random lower half, as xl picks one (locally administered ranges aside)."""
    rng = rng or random.SystemRandom()
    return f"{XEN_OUI}:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))


def _disk_for(dom0: Dom0, name: str, values: Mapping[str, Any], facts: HostFacts, errors: dict[str, str],
              vdev: str) -> tuple[list[Step], XenDisk | None, str | None]:
    """The steps that make the new guest's disk, the DISKSPEC pointing at it, and (xVM) the path for
    virt-install's --file."""
    image = values.get("image")
    size = int(values.get("disk_size") or 0)
    if image:
        kind = "phy" if image.startswith("/dev/") else "file"
        return [], XenDisk(image, vdev, kind), image
    storage = str(values.get("storage") or "")
    kind, _, where = storage.partition(":")
    disk_name = f"{name}-disk"
    if kind == "lvm":
        vg = next((v for v in facts.vgs if v.name == where), None)
        if vg is None:
            errors["storage"] = f"Storage: no volume group {where}"
            return [], None, None
        if any(lv.vg == where and lv.name == disk_name for lv in facts.lvs):
            errors.setdefault("name", f"Name: the logical volume {where}/{disk_name} exists already")
        if size > vg.free:
            errors["disk_size"] = f"Disk size: {format_size(size)} is more than {where}'s free {format_size(vg.free)}"
        path = f"/dev/{where}/{disk_name}"
        step = _step(f"Make its disk: {format_size(size)} logical volume {where}/{disk_name}",
                     commands.lvcreate(where, disk_name, size), commands.lvremove(where, disk_name))
        return [step], XenDisk(path, vdev, "phy"), path
    if kind == "zfs":
        avail = dict(facts.pools).get(where)
        dataset = f"{where}/{disk_name}"
        if avail is not None and size > avail:
            errors["disk_size"] = f"Disk size: {format_size(size)} is more than {where}'s {format_size(avail)} available"
        path = commands.zvol_path(dataset, solaris=facts.solaris)
        step = _step(f"Make its disk: {format_size(size)} ZFS volume {dataset}", commands.zfs_create_volume(dataset, size),
                     commands.zfs_destroy(dataset))
        return [step], XenDisk(path, vdev, "phy"), path
    if kind == "vdisk" and dom0.xvm:
        path = posixpath.join(where, name)
        step = _step(f"Make its disk: {format_size(size)} vdisk {path}", commands.vdisk_create(path, size),
                     commands.vdisk_destroy(path))
        return [step], XenDisk(path, vdev, "tap:vdisk"), path
    if kind == "file" and dom0.xvm:
        path = posixpath.join(where, f"{name}.img")
        return [], XenDisk(path, vdev, "file"), path
    errors["storage"] = f"Storage: {storage!r} is not offered on this dom0"
    return [], None, None


def create_plan(dom0: Dom0, values: Mapping[str, Any], facts: HostFacts, *, rng: random.Random | None = None) -> Plan:
    """The create plan (see the module docstring); FormErrors for what the host refuses: a name in use, more
    memory than is free, a disk bigger than its volume group's free space."""
    name = str(values["name"])
    memory = int(values["memory"])
    errors: dict[str, str] = {}
    if name in facts.names:
        errors["name"] = f"Name: {name} is in use on {dom0.host} (a domain, a config file or a saved image)"
    if facts.free_memory_bytes is not None and memory > facts.free_memory_bytes:
        errors["memory"] = (f"Memory: {format_size(memory)} is more than the {format_size(facts.free_memory_bytes)} "
                            f"free on {dom0.host}")
    hvm = bool(values.get("hvm")) or values.get("boot") == "hvm"
    vdev = "hda" if hvm else "xvda"
    steps, disk, disk_path = _disk_for(dom0, name, values, facts, errors, vdev)
    if errors:
        raise FormErrors(errors)
    assert disk is not None and disk_path is not None
    checks = (Check(f"{name} is not in use on {dom0.host}", passed=True),
              Check(f"{format_size(memory)} of memory is free on {dom0.host}" if facts.free_memory_bytes is not None
                    else f"{dom0.host} did not say how much memory is free: Xen checks when the guest starts",
                    passed=True))
    if dom0.xvm:
        source = str(values["source"])
        size_gib = None
        if str(values.get("storage", "")).startswith("file:") and not values.get("image"):
            size_gib = max(1, -(-int(values["disk_size"]) // GIB))
        iso = source if hvm and source.startswith("/") else None
        argv = commands.virt_install(name, memory // MIB, disk_path, hvm=hvm, location=None if iso else source,
                                     cdrom=iso, file_size_gib=size_gib, mac=values.get("mac") or None)
        steps.append(_step(f"Install {name} with virt-install (xend then manages it)", argv, timeout=1800.0))
        return Plan(title=f"Create {name} on {dom0.host}", host=dom0.host, action="create", target=name,
                    steps=tuple(steps), checks=checks)
    boot = values.get("boot") or "pygrub"
    config = GuestConfig(name=name, memory_mib=memory // MIB, vcpus=int(values.get("vcpus") or 1), disks=(disk,),
                         vifs=(XenVif(str(values.get("bridge") or DEFAULT_BRIDGE), new_mac(rng)),), hvm=boot == "hvm",
                         bootloader="pygrub" if boot == "pygrub" else None,
                         kernel=values.get("kernel") if boot == "kernel" else None,
                         ramdisk=values.get("ramdisk") or None, extra=values.get("cmdline") or None,
                         uuid=str(uuidlib.UUID(int=(rng or random.SystemRandom()).getrandbits(128), version=4)))
    text = commands.render_config(config)
    path = commands.config_path(name)
    steps.append(_step(f"Write its config file {path} (the text below goes to tee's input)", commands.write_config(path),
                       commands.remove_file(path), input=text))
    if values.get("start", True):
        steps.append(_step(f"Start {name} from {path}", commands.create(dom0.toolstack, path),
                           commands.destroy(dom0.toolstack, name)))
    return Plan(title=f"Create {name} on {dom0.host}", host=dom0.host, action="create", target=name,
                steps=tuple(steps), checks=checks)


# --- clone ------------------------------------------------------------------------------------------------


def clone_form(dom0: Dom0, domain: Domain, vdisks: Sequence[str] = ()) -> Form:
    """The clone wizard's inputs: the new name; LVM's change space for each snapshot (default: a quarter of
    the origin); on xVM the vdisk to clone (and a snapshot of it to clone from), memory, vCPUs and boot."""
    name = TextOption("name", "New name", "the clone's name", validator=commands.validate_new_name)
    if dom0.xvm:
        default = next((v for v in vdisks if posixpath.basename(v) == domain.name), vdisks[0] if vdisks else "")
        return Form(f"Clone {domain.name} (vdiskadm clone)", (
            name,
            ChoiceOption("vdisk", "vdisk", "the vdisk to clone", default=default, free=True,
                         choices=tuple(Choice(v) for v in vdisks),
                         validator=lambda text: commands.validate_path(text, "vdisk")),
            TextOption("snapshot", "From snapshot", "an existing snapshot to clone from (blank: a new one now)",
                       required=False, validator=commands.validate_snapshot_name),
            SizeOption("memory", "Memory", "the clone's memory", default=format_size(domain.memory_bytes or GIB),
                       low=32 * MIB),
            NumberOption("vcpus", "vCPUs", "its virtual CPUs", default=str(domain.vcpus or 1), low=1, high=512),
            ChoiceOption("boot", "Boot", "pygrub or HVM", default="pygrub",
                         choices=(Choice("pygrub", "pygrub"), Choice("hvm", "HVM"))),
            TextOption("bridge", "NIC", "the physical NIC its vif uses (e1000g0...)", required=False,
                       validator=commands.validate_bridge)))
    return Form(f"Clone {domain.name} (copy-on-write)", (
        name,
        SizeOption("snapshot_size", "Change space", "room for changes of each snapshot (blank: a quarter of the disk)",
                   required=False, low=4 * MIB),
        BoolOption("start", "Start it", "start the clone once it is made", default="no")))


def _lv(path: str, lvs: Sequence[LogicalVolume]) -> LogicalVolume | None:
    return next((lv for lv in lvs if lv.path == path), None)


def _zvol(path: str) -> str | None:
    for prefix in ("/dev/zvol/dsk/", "/dev/zvol/rdsk/", "/dev/zvol/"):
        if path.startswith(prefix):
            return path[len(prefix):]
    return None


def clone_plan(dom0: Dom0, domain: Domain, source: ConfigFacts | None, values: Mapping[str, Any], facts: HostFacts,
               *, rng: random.Random | None = None) -> Plan:
    """A copy-on-write clone of a guest that is not running, with a new config: new name, UUID and MAC.

    xl/xm: each disk on LVM becomes `lvcreate -s` of its volume, each zvol a `zfs snapshot` + `zfs clone`;
    an image file cannot be cloned this way (FormErrors). xVM: `vdiskadm snapshot` (unless an existing
    snapshot is given) and `vdiskadm clone`, a config file and `xm new`."""
    rng = rng or random.SystemRandom()
    new = str(values["name"])
    errors: dict[str, str] = {}
    if new in facts.names:
        errors["name"] = f"New name: {new} is in use on {dom0.host}"
    steps: list[Step] = []
    warnings: list[str] = []
    new_uuid = str(uuidlib.UUID(int=rng.getrandbits(128), version=4))
    if dom0.xvm:
        vdisk = str(values["vdisk"])
        snapshot = values.get("snapshot") or f"clone-{new}"
        target = posixpath.join(posixpath.dirname(vdisk), new)
        if errors:
            raise FormErrors(errors)
        if not values.get("snapshot"):
            steps.append(_step(f"Snapshot {vdisk} as {snapshot}", commands.vdisk_snapshot(vdisk, snapshot),
                               commands.vdisk_destroy(vdisk, snapshot)))
        steps.append(_step(f"Clone {vdisk}@{snapshot} to the new vdisk {target}", commands.vdisk_clone(vdisk, snapshot, target),
                           commands.vdisk_destroy(target)))
        config = GuestConfig(name=new, memory_mib=int(values["memory"]) // MIB, vcpus=int(values["vcpus"]),
                             disks=(XenDisk(target, "hda" if values.get("boot") == "hvm" else "xvda", "tap:vdisk"),),
                             vifs=(XenVif(str(values.get("bridge") or "e1000g0"), new_mac(rng)),),
                             hvm=values.get("boot") == "hvm",
                             bootloader=None if values.get("boot") == "hvm" else "pygrub", uuid=new_uuid)
        path = commands.config_path(new)
        steps.append(_step(f"Write its config file {path}", commands.write_config(path), commands.remove_file(path),
                           input=commands.render_config(config)))
        steps.append(_step(f"Hand {new} to xend (listed while shut off, started with xm start)",
                           commands.new_managed(path), commands.delete_managed(new)))
        return Plan(title=f"Clone {domain.name} as {new} on {dom0.host}", host=dom0.host, action="clone",
                    target=domain.name, steps=tuple(steps))
    if source is None:
        raise FormErrors({"name": f"New name: {domain.name} has no config file to copy (hvdeck clones guests "
                                  "defined by a config file)"})
    disks = []
    change = values.get("snapshot_size")
    for index, disk in enumerate(source.disks):
        if disk.cdrom or not disk.target:
            disks.append(XenDisk(disk.target, disk.vdev, "file", "r") if disk.target else None)
            continue
        suffix = f"disk{index}" if len(source.disks) > 1 else "disk"
        lv = _lv(disk.target, facts.lvs)
        zvol = _zvol(disk.target)
        if lv is not None:
            size = int(change) if change else max(4 * MIB, lv.size // 4)
            vg = next((v for v in facts.vgs if v.name == lv.vg), None)
            new_lv = f"{new}-{suffix}"
            if vg is not None and size > vg.free:
                errors["snapshot_size"] = (f"Change space: {format_size(size)} is more than {lv.vg}'s free "
                                           f"{format_size(vg.free)}")
            if size < lv.size * SMALL_SNAPSHOT:
                warnings.append(f"The snapshot {lv.vg}/{new_lv} has {format_size(size)} for changes, "
                                f"{size * 100 // lv.size}% of its {format_size(lv.size)} origin: once the clone's and the "
                                f"origin's writes fill it, LVM drops the snapshot and {new} loses its disk.")
            steps.append(_step(f"Copy-on-write snapshot of {lv.vg}/{lv.name} as {lv.vg}/{new_lv} "
                               f"({format_size(size)} for changes)",
                               commands.lvcreate_snapshot(lv.vg, lv.name, new_lv, size), commands.lvremove(lv.vg, new_lv)))
            disks.append(XenDisk(f"/dev/{lv.vg}/{new_lv}", disk.vdev, "phy", "w" if disk.writable else "r"))
        elif zvol is not None:
            snap, clone = f"clone-{new}", f"{posixpath.dirname(zvol)}/{new}-{suffix}"
            steps.append(_step(f"Snapshot {zvol}@{snap}", commands.zfs_snapshot(zvol, snap),
                               commands.zfs_destroy(zvol, snap)))
            steps.append(_step(f"Clone it as {clone}", commands.zfs_clone(zvol, snap, clone), commands.zfs_destroy(clone)))
            disks.append(XenDisk(commands.zvol_path(clone, solaris=facts.solaris), disk.vdev, "phy",
                                 "w" if disk.writable else "r"))
        else:
            errors["name"] = (f"New name: {domain.name}'s disk {disk.vdev} ({disk.target}) is neither an LVM volume "
                              "nor a zvol: hvdeck clones those copy-on-write only")
    if errors:
        raise FormErrors(errors)
    vifs = tuple(XenVif(vif.bridge or DEFAULT_BRIDGE, new_mac(rng)) for vif in source.vifs)
    config = GuestConfig(name=new, memory_mib=source.memory_mib or 512, vcpus=source.vcpus or 1,
                         disks=tuple(d for d in disks if d is not None), vifs=vifs, hvm=source.hvm,
                         bootloader=source.bootloader, kernel=None if source.bootloader or source.hvm else source.kernel,
                         ramdisk=source.ramdisk if source.kernel and not source.bootloader else None,
                         extra=source.extra if source.kernel and not source.bootloader else None,
                         maxmem_mib=source.maxmem_mib, maxvcpus=source.maxvcpus, uuid=new_uuid)
    path = commands.config_path(new)
    steps.append(_step(f"Write {new}'s config file {path}: {domain.name}'s, with a new name, UUID and MAC",
                       commands.write_config(path), commands.remove_file(path), input=commands.render_config(config)))
    if values.get("start"):
        steps.append(_step(f"Start {new}", commands.create(dom0.toolstack, path), commands.destroy(dom0.toolstack, new)))
    return Plan(title=f"Clone {domain.name} as {new} on {dom0.host}", host=dom0.host, action="clone",
                target=domain.name, steps=tuple(steps), warning=" ".join(warnings))


# --- migrate ----------------------------------------------------------------------------------------------


def migrate_form(dom0: Dom0, domain: Domain) -> Form:
    return Form(f"Migrate {domain.name} live", (
        TextOption("address", "Target address", "the name or address the source dom0 reaches the target by "
                   "(blank: the target's inventory address, or its host name)", required=False,
                   validator=commands.validate_host),))


def migrate_progress(text: str) -> ProgressInfo | None:
    """What the output of `xl migrate` says so far (xen.md §5; parse.parse_migrate_line): the last line that
    says something, with a fraction where libxc printed its meter. Pure; None for nothing new."""
    found = None
    for line in text.replace("\r", "\n").split("\n"):
        if line.strip():
            found = parse_migrate_line(line)
    if found is None or not found.message:
        return None
    return ProgressInfo(fraction=found.fraction, message=found.message)


@dataclass(frozen=True, slots=True)
class Target:
    """The migration target as the plan needs it: inventory name, the address the source dom0 uses, its
    toolstack, whether it is xVM, the names it has, its free memory."""

    host: str
    address: str
    toolstack: Toolstack
    xvm: bool
    names: frozenset[str]
    free_memory_bytes: int | None


def migrate_plan(dom0: Dom0, domain: Domain, target: Target, disks: Sequence[str]) -> Plan:
    """A live migration of ``domain`` to ``target`` (``disks``: the dom0 paths of its disks).

    Checks: the toolstacks match (xl migrates to xl, xend to xend), the name is free and the memory is there
    on the target, each disk is there too (storage both dom0s see), and, for xl, that the source reaches the
    target over SSH without a prompt (xl runs ``ssh TARGET xl migrate-receive`` itself). Progress comes from
    the command's own output. No cancel: `xl migrate`, `xm migrate` and `virsh migrate` of xend have none,
    and stopping the command half-way can leave the guest suspended at the source."""
    name = domain.name
    if states.is_dom0(domain) or domain.state is DomainState.STOPPED:
        raise ValidationError(f"{name} is not a running guest")
    if (dom0.toolstack is Toolstack.XL) != (target.toolstack is Toolstack.XL):
        raise ValidationError(f"{dom0.host} runs {dom0.tool} and {target.host} runs {target.toolstack.value}: xl "
                              "migrates to xl only, xend (xm, Sun xVM) to xend only")
    # a decided check's reason is shown under it whether it passed or not: give one only to a failure
    name_free = name not in target.names
    checks = [Check(f"{target.host} runs {target.toolstack.value}, like {dom0.host}", passed=True),
              Check(f"{target.host} has no domain called {name}", passed=name_free,
                    reason="" if name_free else f"{target.host} already has a domain called {name}")]
    memory = domain.memory_bytes
    if target.free_memory_bytes is not None and memory is not None:
        fits = memory <= target.free_memory_bytes
        checks.append(Check(f"{target.host} has {format_size(memory)} of memory free", passed=fits,
                            reason="" if fits else f"{target.host} has {format_size(target.free_memory_bytes)} free"))
    for path in disks:
        checks.append(Check(f"{path} is there on {target.host} too (storage both dom0s see)",
                            Operation.command("test", "-e", commands.validate_path(path, "disk")), host=target.host))
    address = commands.validate_host(target.address)
    if dom0.toolstack is Toolstack.XL:
        checks.append(Check(f"{dom0.host} reaches {address} over SSH without a prompt (xl migrate runs ssh itself)",
                            Operation.command(*commands.ssh_check(address))))
        argv = commands.migrate(dom0.toolstack, name, address)
    elif dom0.xvm:
        argv = commands.virsh_migrate(name, address)
    else:
        argv = commands.migrate(dom0.toolstack, name, address)
    step = Step(f"Migrate {name} live to {target.host} ({address})", Operation.command(*argv), timeout=None,
                progress=Progress(migrate_progress))
    warning = (f"{name} keeps running while its memory is copied, then pauses briefly while the last pages move. "
               f"{argv[0]} migrate cannot be cancelled: stopping it half-way can leave {name} suspended on "
               f"{dom0.host}.")
    return Plan(title=f"Migrate {name} from {dom0.host} to {target.host}", host=dom0.host, action="migrate",
                target=name, steps=(step,), checks=tuple(checks), warning=warning)
