"""Sun xVM's management commands: ``virsh`` (libvirt's xen driver on the dom0, talking to xend) and
``virt-install`` (xvm.md).

virsh prints the formats captured in libvirt.md §2 — ``list`` as libvirt ≥ 7's table (§2.1), ``dominfo``
(§2.2; no security lines, since the xen driver has no security model, and ``Managed save: unknown``, since
it cannot tell), the lifecycle messages of §2.9 and ``error: failed to get domain 'NAME'`` (§1.3). States:
a running vCPU is ``running``, a blocked one ``idle``, then ``paused``, ``crashed``, ``shut off`` (xvm.md's
six states; ``in shutdown`` is never seen, a guest goes straight from running to off). Other messages are
RECONSTRUCTED in virsh's ``error: …`` style, xend's faults as libvirt's xen driver relays them (``POST
operation failed: xend_post: error from xen daemon: (xend.err "…")``).

virt-install takes the options xvm.md shows (``--name --ram -f DISK -s GB -l SOURCE -c ISO --paravirt
--hvm --vnc --nographics -m MAC --autocf --noautoconsole``); the guest is defined in xend (managed, listed
while shut off) and started. Its messages are RECONSTRUCTED (``ERROR    …`` as virt-install's logging
prints them; xvm.md quotes ``ERROR Host does not support virtualization type 'hvm'`` with its spacing
flattened).
"""

from __future__ import annotations

import getopt
import posixpath
from collections.abc import Sequence

from ..sshserver import Reply
from .formats import format_dominfo, format_vsh_table
from .migrate import run_now, xend_migrate
from .model import KIB_PER_MIB, CommandError, Disk, Domain, GuestConfig, Vif, new_uuid, xen_mac
from .world import XenWorld


def virsh_state(world: XenWorld, domain: Domain) -> str:
    if not domain.active:
        return "shut off"
    if domain.crashed:
        return "crashed"
    if domain.shutdown:
        return "shut off"
    if domain.paused:
        return "paused"
    return "running" if domain.running_at(world.clock()) else "idle"


class Virsh:
    def __init__(self, world: XenWorld) -> None:
        self.world = world

    def run(self, args: Sequence[str]) -> Reply:
        args = list(args)
        while args[:1] in (["-c"], ["--connect"]) and len(args) > 1:
            args = args[2:]
        if args and args[0].startswith("--connect="):
            args = args[1:]
        if not args:
            return Reply("", "error: no command given\n", 1)
        command, rest = args[0], args[1:]
        handler = getattr(self, "cmd_" + command.replace("-", "_"), None)
        if handler is None:
            return Reply("", f"error: unknown command: '{command}'\n", 1)
        try:
            reply = handler(rest)
        except CommandError as error:
            return Reply(error.stdout, error.stderr, error.status)
        # every command's output ends with a blank line (libvirt.md §2, every capture)
        return Reply(reply.stdout + "\n", reply.stderr, reply.exit_status) if reply.stdout else reply

    def find(self, name: str) -> Domain:
        domain = self.world.by_name_or_id(name)
        if domain is None:
            raise CommandError(f"error: failed to get domain '{name}'\n", 1)
        return domain

    def _one(self, args: list[str], command: str) -> Domain:
        operands = [a for a in args if not a.startswith("--")]
        if not operands:
            raise CommandError(f"error: command '{command}' requires <domain> option\n", 1)
        return self.find(operands[0])

    def cmd_list(self, args: list[str]) -> Reply:
        everything = "--all" in args
        only_inactive = "--inactive" in args
        rows = []
        if not only_inactive:
            rows += [(str(d.domid), d.name, virsh_state(self.world, d)) for d in self.world.active_domains()]
        if everything or only_inactive:
            rows += [("-", d.name, "shut off") for d in sorted(self.world.domains.values(), key=lambda d: d.name)
                     if not d.active]
        return Reply(format_vsh_table(("Id", "Name", "State"), rows))

    def cmd_dominfo(self, args: list[str]) -> Reply:
        domain = self._one(args, "dominfo")
        config = domain.config
        pairs = [("Id", str(domain.domid) if domain.active else "-"), ("Name", domain.name), ("UUID", domain.uuid),
                 ("OS Type", "hvm" if config.hvm else "linux"), ("State", virsh_state(self.world, domain)),
                 ("CPU(s)", str(domain.vcpus_online if domain.active else config.vcpus))]
        if domain.active:
            pairs.append(("CPU time", f"{self.world.cpu_ns(domain) / 1e9:.1f}s"))
        max_kb = domain.maxmem_kb if domain.active else config.max_mib * KIB_PER_MIB
        used_kb = domain.mem_kb if domain.active else config.memory_mib * KIB_PER_MIB
        pairs += [("Max memory", "no limit" if domain.unlimited else f"{max_kb} KiB"),
                  ("Used memory", f"{used_kb} KiB"),
                  ("Persistent", "yes" if domain.managed else "no"), ("Autostart", "disable"),
                  ("Managed save", "unknown")]
        return Reply(format_dominfo(pairs))

    def cmd_domstate(self, args: list[str]) -> Reply:
        return Reply(virsh_state(self.world, self._one(args, "domstate")) + "\n")

    def cmd_start(self, args: list[str]) -> Reply:
        domain = self._one(args, "start")
        if domain.active:
            raise CommandError("error: Domain is already active\n", 1)
        from .xm import Xm

        reply = Xm(self.world).cmd_start([domain.name])
        if reply.exit_status:
            raise CommandError(f"error: Failed to start domain '{domain.name}'\n"
                               f"error: POST operation failed: xend_post: error from xen daemon: (xend.err "
                               f"\"{reply.stderr.removeprefix('Error: ').strip()}\")\n", 1)
        return Reply(f"Domain '{domain.name}' started\n")

    def _active(self, args: list[str], command: str, failed: str) -> Domain:
        domain = self._one(args, command)
        if not domain.active:
            raise CommandError(f"error: Failed to {failed} domain '{domain.name}'\n"
                               "error: Requested operation is not valid: domain is not running\n", 1)
        return domain

    def cmd_shutdown(self, args: list[str]) -> Reply:
        domain = self._active(args, "shutdown", "shutdown")
        self.world.request_shutdown(domain)
        return Reply(f"Domain '{domain.name}' is being shutdown\n")

    def cmd_reboot(self, args: list[str]) -> Reply:
        domain = self._active(args, "reboot", "reboot")
        self.world.request_shutdown(domain, reboot=True)
        return Reply(f"Domain '{domain.name}' is being rebooted\n")

    def cmd_destroy(self, args: list[str]) -> Reply:
        domain = self._active(args, "destroy", "destroy")
        self.world.destroy(domain)
        return Reply(f"Domain '{domain.name}' destroyed\n")

    def cmd_suspend(self, args: list[str]) -> Reply:
        domain = self._active(args, "suspend", "suspend")
        self.world.pause(domain)
        return Reply(f"Domain '{domain.name}' suspended\n")

    def cmd_resume(self, args: list[str]) -> Reply:
        domain = self._active(args, "resume", "resume")
        self.world.unpause(domain)
        return Reply(f"Domain '{domain.name}' resumed\n")

    def cmd_undefine(self, args: list[str]) -> Reply:
        domain = self._one(args, "undefine")
        if domain.active:
            domain.managed = False
            return Reply(f"Domain '{domain.name}' has been undefined\n")
        del self.world.domains[domain.name]
        return Reply(f"Domain '{domain.name}' has been undefined\n")

    def cmd_setvcpus(self, args: list[str]) -> Reply:
        operands = [a for a in args if not a.startswith("--")]
        if len(operands) != 2 or not operands[1].isdigit():
            raise CommandError("error: Invalid number of virtual CPUs\n", 1)
        domain = self.find(operands[0])
        count = int(operands[1])
        if not 1 <= count <= domain.max_vcpus:
            raise CommandError("error: invalid argument: requested vcpus is greater than max allowable vcpus "
                               "for the domain\n", 1)
        if domain.active:
            self.world.set_vcpus(domain, count)
        else:
            domain.config.vcpus = count
        return Reply()

    def cmd_setmem(self, args: list[str]) -> Reply:
        operands = [a for a in args if not a.startswith("--")]
        if len(operands) != 2 or not operands[1].isdigit():
            raise CommandError("error: Invalid memory size\n", 1)
        domain = self.find(operands[0])
        kb = int(operands[1])
        if domain.active:
            if kb > domain.maxmem_kb:
                raise CommandError("error: invalid argument: cannot set memory higher than max memory\n", 1)
            domain.mem_kb = kb
        else:
            domain.config.memory_mib = kb // KIB_PER_MIB
        return Reply()

    def cmd_nodeinfo(self, args: list[str]) -> Reply:
        """libvirt.md §2.4 (CAPTURED)."""
        m = self.world.machine
        pairs = [("CPU model:", "i86pc"), ("CPU(s):", str(m.nr_cpus)), ("CPU frequency:", f"{m.cpu_mhz} MHz"),
                 ("CPU socket(s):", str(max(1, m.nr_cpus // (m.cores_per_socket * m.threads_per_core)))),
                 ("Core(s) per socket:", str(m.cores_per_socket)), ("Thread(s) per core:", str(m.threads_per_core)),
                 ("NUMA cell(s):", str(m.nr_nodes)), ("Memory size:", f"{m.total_kib} KiB")]
        return Reply("".join(f"{key:<20} {value}\n" for key, value in pairs))

    def migration(self, args: list[str]):
        """``virsh migrate [--live] DOM DESTURI [MIGRATEURI]``: the target host is the last URI's host."""
        operands = [a for a in args if not a.startswith("--")]
        if len(operands) < 2:
            raise CommandError("error: command 'migrate' requires <desturi> option\n", 1)
        domain = self.find(operands[0])
        if not domain.active:
            raise CommandError("error: Requested operation is not valid: domain is not running\n", 1)
        uri = operands[-1]
        host = uri.split("://", 1)[-1].split("/", 1)[0] if "://" in uri else uri
        return xend_migrate(self.world, domain, host, live="--live" in args)

    def cmd_migrate(self, args: list[str]) -> Reply:
        try:
            stderr, status = run_now(self.migration(args))
        except CommandError as error:
            raise xend_error(error) from None
        return Reply("", stderr, status)

    def console_target(self, args: list[str]) -> Domain:
        domain = self._one(args, "console")
        if not domain.active or domain.is_dom0:
            raise CommandError("error: The domain is not running\n" if not domain.active else
                               "error: internal error: cannot open the console of Domain-0\n", 1)
        return domain

    def cmd_console(self, args: list[str]) -> Reply:
        """Reached only without a channel: libvirt.md §1.3's refusal without a terminal."""
        self.console_target(args)
        return Reply("", "error: Cannot run interactive console without a controlling TTY\n", 1)

    def cmd_version(self, args: list[str]) -> Reply:
        """libvirt.md §2 (CAPTURED layout; the xen driver's names, the libvirt of OpenSolaris 2009.06)."""
        m = self.world.machine
        return Reply("Compiled against library: libvirt 0.7.0\nUsing library: libvirt 0.7.0\nUsing API: Xen 3.0.1\n"
                     f"Running hypervisor: Xen {m.xen_major}.{m.xen_minor}.0\n")

    def cmd_uri(self, args: list[str]) -> Reply:
        return Reply("xen:///\n")

    def cmd_hostname(self, args: list[str]) -> Reply:
        return Reply(f"{self.world.hostname}\n")


def xend_error(error: CommandError) -> CommandError:
    if error.stderr.startswith("error: "):
        return error
    return CommandError("error: POST operation failed: xend_post: error from xen daemon: (xend.err "
                        f"\"{error.stderr.strip()}\")\n", 1)


def virt_install(world: XenWorld, args: Sequence[str]) -> Reply:
    """``virt-install`` (see the module docstring)."""
    try:
        opts, extra = getopt.gnu_getopt(list(args), "n:r:u:f:s:m:b:w:c:l:x:pvhd", [
            "name=", "ram=", "uuid=", "vcpus=", "file=", "file-size=", "nonsparse", "mac=", "bridge=",
            "network=", "vnc", "nographics", "paravirt", "hvm", "cdrom=", "location=", "extra-args=",
            "os-type=", "os-variant=", "noautoconsole", "autocf=", "accelerate", "debug", "disk="])
    except getopt.GetoptError as bad:
        return Reply("", f"virt-install: error: {bad.msg}\n", 2)
    values: dict[str, str] = {}
    short = {"-n": "name", "-r": "ram", "-u": "uuid", "-f": "file", "-s": "file-size", "-m": "mac", "-b": "bridge",
             "-w": "network", "-c": "cdrom", "-l": "location", "-x": "extra-args", "-p": "paravirt", "-v": "hvm"}
    for opt, value in opts:
        values[short.get(opt, opt.lstrip("-"))] = value

    def error(message: str) -> Reply:
        return Reply("", f"ERROR    {message}\n", 1)

    hvm = "hvm" in values
    if hvm and not world.machine.hvm:
        return error("Host does not support virtualization type 'hvm'")
    name = values.get("name")
    if not name:
        return error("A name is required for the virtual machine.")
    if name in world.domains:
        return error(f"Guest name '{name}' is already in use.")
    try:
        ram = int(values.get("ram", ""))
    except ValueError:
        return error("Memory amount is required for the virtual machine.")
    if "location" not in values and "cdrom" not in values:
        return error("An install method must be specified\n(--location URL, --cdrom CD/ISO, --pxe, --import, "
                     "--boot hd|cdrom|...)")
    path = values.get("file") or (values.get("disk", "").partition("path=")[2].split(",")[0] or None)
    if path is None:
        return error("Must specify storage for the virtual machine (--file PATH)")
    path = world.resolve(path)
    kind = world.path_kind(path)
    vdev = "hda" if hvm else "xvda"
    if kind == "block":
        disk = Disk(path, vdev, "w", "phy", spec=f"phy:{path},{vdev},w")
    elif kind == "dir" and world.vdisks.find(path) is not None:
        disk = Disk(path, vdev, "w", "tap:vdisk", spec=f"tap:vdisk:{path},{vdev},w")
    elif kind == "file" or "file-size" in values:
        if kind is None:
            if not world.is_dir(posixpath.dirname(path)):
                return error(f"Could not create storage: {posixpath.dirname(path)}: No such file or directory")
            try:
                size_gb = float(values["file-size"])
            except ValueError:
                return error("Size must be a number")
            world.files[path] = f"<disk image, {size_gb:g} GB>\n"
        disk = Disk(path, vdev, "w", "file", spec=f"file:{path},{vdev},w")
    else:
        return error("Size must be specified for non existent disks.")
    ram_kb = ram * KIB_PER_MIB
    if ram_kb > world.free_kb():
        return error(f"Not enough free memory and enable-dom0-ballooning is False, so I cannot release any more.  "
                     f"I need {ram_kb} KiB but only have {max(0, world.free_kb())}.")
    source = values.get("location") or values.get("cdrom", "")
    mac = values.get("mac") or xen_mac(world.rng)
    bridge = values.get("bridge") or values.get("network", "bridge:e1000g0").partition(":")[2] or "e1000g0"
    config = GuestConfig(name, ram, vcpus=int(values.get("vcpus", "1") or 1), hvm=hvm, uuid=values.get("uuid", ""),
                         disks=[disk], vifs=[Vif(mac, bridge, "vif-vnic", spec=f"mac={mac},bridge={bridge}")],
                         on_reboot="restart", on_crash="restart",
                         os="solaris" if "sol" in source.lower() else "debian",
                         kernel="" if hvm else "/platform/i86xpv/kernel/amd64/unix")
    world.domains.pop(name, None)
    world.domains[name] = Domain(name, config.uuid or new_uuid(world.rng), config, managed=True,
                                 vcpus_online=config.vcpus, max_vcpus=config.max_vcpus)
    world.start(config, managed=True)
    return Reply("\n\nStarting install...\nCreating domain...\n"
                 "Domain installation still in progress. You can reconnect to \n"
                 "the console to complete the installation process.\n")
