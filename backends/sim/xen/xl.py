"""The ``xl`` command of a simulated dom0 (Xen ≥ 4.1, libxl): listings, the life cycle, save/restore.

Formats: xen.md §2 (``xl list``), §4 (``xl info``), §2.3 (``xl list -l``); the rest RECONSTRUCTED from
tools/xl (cited per function in formats.py). Messages are xl's and libxl's own, from the same files:

- a domain is found by ``find_domain`` (xl_utils.c): an unknown name prints ``NAME is an invalid domain
  identifier (rc=-6)`` and exits 1 — so does ``xl list NAME``; only an unknown *number* reaches
  ``main_list``'s ``Error: Domain 'N' does not exist.`` (xen.md §2.2 quotes that one);
- option errors are ``def_getopt``'s: ``option `q' not supported.`` (exit 2) and ``'xl pause' requires
  at least 1 argument.`` followed by the command's usage on stdout (exit 2; the option lists of
  xl_cmdtable.c are left out);
- ``shutdown``/``reboot`` print ``Shutting down domain N`` / ``Rebooting domain N`` on stderr and return at
  once; the guest goes down ``shutdown_seconds`` later (world.py);
- libxl's log lines are ``libxl: error: FILE:LINE:FUNCTION: Domain N:MESSAGE`` (``libxl__logv``), with the
  file and line of Xen's current tree.

Version: the listings are those of current xl; ``xl info`` prints the 4.2-era key set when the world's
Xen is 4.2 or older (the VERBATIM sample of xen.md §4) and the current one otherwise.
"""

from __future__ import annotations

import getopt
import json
import posixpath
from collections.abc import Sequence

from ..sshserver import Reply
from .config import ConfigSyntaxError, guest_config, parse_config_text, vdev_number
from .formats import (
    DeviceRow,
    ListRow,
    VcpuRow,
    format_info,
    format_xl_block_list,
    format_xl_json,
    format_xl_list,
    format_xl_network_list,
    format_xl_sched_credit,
    format_xl_vcpu_list,
    info_value,
    xl_state,
)
from .migrate import run_now, xl_migrate
from .model import KIB_PER_MIB, CommandError, Domain, GuestConfig, Halt
from .world import XenWorld

#: name -> (modifies, can_dryrun, usage, description, minimum operands), from xl_cmdtable.c
COMMANDS = {
    "create": (True, True, "<ConfigFile> [options] [vars]", "Create a domain from config file <filename>", 0),
    "list": (False, False, "[options] [Domain]\n", "List information about all/some domains", 0),
    "destroy": (False, False, "<Domain>", "Terminate a domain immediately", 1),
    "shutdown": (False, False, "[options] <-a|Domain>", "Issue a shutdown signal to a domain", 0),
    "reboot": (False, False, "[options] <-a|Domain>", "Issue a reboot signal to a domain", 0),
    "pause": (False, False, "<Domain>", "Pause execution of a domain", 1),
    "unpause": (False, False, "<Domain>", "Unpause a paused domain", 1),
    "save": (False, False, "[options] <Domain> <CheckpointFile> [<ConfigFile>]",
             "Save a domain state to restore later", 2),
    "restore": (True, False, "[options] [<ConfigFile>] <CheckpointFile>",
                "Restore a domain from a saved state", 1),
    "migrate": (False, False, "[options] <Domain> <host>", "Migrate a domain to another host", 2),
    "console": (False, False, "[options] <Domain>\n", "Attach to domain's console", 1),
    "vcpu-list": (False, False, "[Domain, ...]", "List the VCPUs for all/some domains", 0),
    "vcpu-set": (False, False, "[option] <Domain> <vCPUs>", "Set the number of active VCPUs allowed for the "
                 "domain", 2),
    "mem-set": (False, False, "<Domain> <MemKB{k,m,g}>", "Set the current memory usage for a domain", 2),
    "mem-max": (False, False, "<Domain> <MemKB{k,m,g}>", "Set the maximum amount reservation for a domain", 2),
    "info": (False, False, "[-n|--numa]", "Get information about Xen host", 0),
    "sched-credit": (False, False, "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] [-r RATELIMIT]] "
                     "[-p CPUPOOL]", "Get/set credit scheduler parameters", 0),
    "block-list": (False, False, "<Domain(s)>", "List virtual block devices for a domain", 1),
    "network-list": (False, False, "<Domain(s)>", "List virtual network interfaces for a domain", 1),
    "domid": (False, False, "<DomainName>", "Convert a domain name to domain id", 1),
    "domname": (False, False, "<DomainId>", "Convert a domain id to domain name", 1),
    "vm-list": (False, False, "", "List guest domains, excluding dom0, stubdoms, etc.", 0),
    "uptime": (False, False, "[Domain]", "Print uptime for all/some domains", 0),
}
#: sched-credit pool parameters of a fresh credit cpupool
POOL_LINE = "Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us"


def help_text(command: str) -> str:
    """``help(command)`` of xl.c: the usage line and the description."""
    modifies, dryrun, usage, description, _ = COMMANDS[command]
    return f"Usage: xl [-vtT{'f' if modifies else ''}{'N' if dryrun else ''}] {command} {usage}\n\n{description}.\n\n"


def parse_mem_kb(text: str) -> int | None:
    """``parse_mem_size_kb`` (xl_parse.c): a number in MiB unless suffixed b, k, m, g or t."""
    digits = len(text) - len(text.lstrip("+-"))
    while digits < len(text) and text[digits].isdigit():
        digits += 1
    number, unit = text[:digits], text[digits:]
    if len(unit) > 1 or not number.lstrip("+-"):
        return None
    value = int(number)
    shift = {"t": 30, "g": 20, "": 10, "m": 10, "k": 0}.get(unit.lower())
    if unit.lower() == "b":
        return value >> 10
    return None if shift is None else value << shift


def uptime_string(seconds: int, short: bool = False) -> str:
    """``uptime_to_string`` (xl_info.c)."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if short:
        if days:
            return f"{days} day{'s' if days > 1 else ''}, {hours:2d}:{minutes:02d}"
        return f"{hours:2d}:{minutes:02d}"
    if days:
        return f"{days} day{'s' if days > 1 else ''}, {hours:2d}:{minutes:02d}:{secs:02d}"
    return f"{hours:2d}:{minutes:02d}:{secs:02d}"


def domain_json(world: XenWorld, domain: Domain) -> dict:
    """One ``{"domid", "config"}`` entry of ``xl list -l`` (see `format_xl_json`): the configuration with
    the live values libxl_retrieve_domain_configuration refreshes (vCPUs, memory, scheduler)."""
    config = domain.config
    c_info = {"type": "hvm" if config.hvm else "pv", "name": domain.name, "uuid": domain.uuid,
              "run_hotplug_scripts": "True"}
    b_info: dict = {"max_vcpus": domain.max_vcpus, "avail_vcpus": list(range(domain.vcpus_online)),
                    "max_memkb": domain.maxmem_kb, "target_memkb": domain.mem_kb, "shadow_memkb": 0,
                    "sched_params": {"sched": "credit", "weight": domain.weight, "cap": domain.cap},
                    "claim_mode": "True"}
    if config.cpus is not None:
        b_info["vcpu_hard_affinity"] = [sorted(config.cpus)] * domain.max_vcpus
    if config.hvm:
        b_info["type.hvm"] = {}
    else:
        b_info["type.pv"] = {key: getattr(config, key) for key in ("kernel", "ramdisk", "bootloader")
                             if getattr(config, key)}
        if config.extra:
            b_info["type.pv"]["cmdline"] = config.extra
    disks = []
    for disk in config.disks:
        kind = world.path_kind(disk.target)
        entry = {"pdev_path": disk.target, "vdev": disk.vdev,
                 "backend": "phy" if kind == "block" else "qdisk", "format": disk.format,
                 "readwrite": 1 if disk.readwrite else 0}
        if disk.cdrom:
            entry.update({"removable": 1, "is_cdrom": 1})
        disks.append(entry)
    nics = [{"devid": index, "mac": vif.mac, "bridge": vif.bridge, "script": vif.script, "nictype": "vif"}
            | ({"model": vif.model} if vif.model else {}) for index, vif in enumerate(config.vifs)]
    body: dict = {"c_info": c_info, "b_info": b_info}
    if disks:
        body["disks"] = disks
    if nics:
        body["nics"] = nics
    body.update({"on_poweroff": config.on_poweroff, "on_reboot": config.on_reboot, "on_watchdog": "destroy",
                 "on_crash": config.on_crash, "on_soft_reset": "soft_reset"})
    return {"domid": domain.domid, "config": body}


def config_length(world: XenWorld, domain: Domain) -> int:
    """The length of the JSON configuration a save image carries (with its NUL), which xl prints in
    ``new xl format (info 0x3/0x0/LENGTH)`` plus the 4 bytes of its length field."""
    return len(json.dumps(domain_json(world, domain)["config"], indent=4)) + 1


class Xl:
    """``run(args)`` for one ``xl`` command line (without the ``xl``)."""

    def __init__(self, world: XenWorld) -> None:
        self.world = world

    def run(self, args: Sequence[str], stdin: str | None = None) -> Reply:
        if not args or args[0] in ("help", "-h"):
            return Reply("Usage xl [-vfNtT] <subcommand> [args]\n\nxl full list of subcommands:\n\n"
                         + "".join(f" {name:<19} {spec[3]}\n" for name, spec in COMMANDS.items()),
                         "", 0 if args else 1)
        command, rest = args[0], list(args[1:])
        if command not in COMMANDS:
            return Reply("", "command not implemented\n", 1)
        self.stdin = stdin
        try:
            return getattr(self, "cmd_" + command.replace("-", "_"))(rest)
        except CommandError as error:
            return Reply(error.stdout, error.stderr, error.status)

    # -- helpers ------------------------------------------------------------------------------------

    def _opts(self, command: str, args: list[str], short: str, longs: Sequence[str] = ()) -> tuple[dict, list]:
        """``SWITCH_FOREACH_OPT``: GNU getopt, then the operand count check of ``def_getopt``."""
        try:
            opts, operands = getopt.gnu_getopt(args, short + "h", [*longs, "help"])
        except getopt.GetoptError as error:
            raise CommandError(f"option `{error.opt}' not supported.\n", 2) from None
        values: dict[str, str] = {}
        for opt, value in opts:
            if opt in ("-h", "--help"):
                raise CommandError("", 0, stdout=help_text(command))
            values[opt] = value
        need = COMMANDS[command][4]
        if len(operands) < need:
            raise CommandError(f"'xl {command}' requires at least {need} argument{'s' if need > 1 else ''}.\n\n",
                               2, stdout=help_text(command))
        return values, operands

    def find(self, qualifier: str) -> Domain:
        """``find_domain`` (xl_utils.c); exits 1 for an unknown domain."""
        domain = self.world.by_name_or_id(qualifier)
        if domain is None or not domain.active:
            raise CommandError(f"{qualifier} is an invalid domain identifier (rc=-6)\n", 1)
        return domain

    def _row(self, domain: Domain) -> ListRow:
        t = self.world.clock()
        running = domain.running_at(t)
        reason = list(Halt).index(domain.halted) if domain.halted is not None else None
        state = xl_state(running, domain.executing and not running, domain.paused, domain.shutdown,
                         reason or 0, domain.dying)
        return ListRow(domain.name, domain.domid, domain.mem_kb // KIB_PER_MIB, domain.vcpus_online, state,
                       self.world.cpu_ns(domain, t) / 1e9, domain.uuid, reason)

    # -- listings ------------------------------------------------------------------------------------

    def info_pairs(self) -> list[tuple[str, object]]:
        """``print_info``: node, physical and Xen information (xen.md §4)."""
        w, m = self.world, self.world.machine
        total, free = m.total_kib // KIB_PER_MIB, w.free_kb() // KIB_PER_MIB
        node = [("host", w.hostname), ("release", m.release), ("version", m.version), ("machine", m.arch)]
        xen = [("xen_major", m.xen_major), ("xen_minor", m.xen_minor), ("xen_extra", m.xen_extra)]
        caps = [("xen_caps", m.xen_caps), ("xen_scheduler", m.scheduler), ("xen_pagesize", m.pagesize),
                ("platform_params", f"virt_start={m.virt_start:#x}"), ("xen_changeset", m.changeset),
                ("xen_commandline", m.commandline), ("cc_compiler", m.cc_compiler),
                ("cc_compile_by", m.cc_compile_by), ("cc_compile_domain", m.cc_compile_domain),
                ("cc_compile_date", m.cc_compile_date)]
        if (m.xen_major, m.xen_minor) <= (4, 2):  # the xl.1.pod sample of xen.md §4
            return [*node, ("nr_cpus", m.nr_cpus), ("nr_nodes", m.nr_nodes),
                    ("cores_per_socket", m.cores_per_socket), ("threads_per_core", m.threads_per_core),
                    ("cpu_mhz", m.cpu_mhz), ("hw_caps", m.hw_caps), ("virt_caps", "hvm hvm_directio" if m.hvm else ""),
                    ("total_memory", total), ("free_memory", free), ("free_cpus", 0), ("outstanding_claims", 0),
                    *xen, *caps, ("xend_config_format", 4)]
        virt = " pv" + (" hvm hvm_directio pv_directio hap shadow iommu_hap_pt_share" if m.hvm else "") \
            + " vmtrace gnttab-v1 gnttab-v2"
        return [*node, ("nr_cpus", m.nr_cpus), ("max_cpu_id", m.max_cpu_id), ("nr_nodes", m.nr_nodes),
                ("cores_per_socket", m.cores_per_socket), ("threads_per_core", m.threads_per_core),
                ("cpu_mhz", f"{m.cpu_khz // 1000}.{m.cpu_khz % 1000:03d}"), ("hw_caps", m.hw_caps),
                ("virt_caps", virt.lstrip(" ")), ("total_memory", total), ("free_memory", free),
                ("sharing_freed_memory", 0), ("sharing_used_memory", 0), ("outstanding_claims", 0),
                ("free_cpus", 0), *xen, ("xen_version", m.version_string), *caps, ("build_id", m.build_id),
                ("xend_config_format", 4)]

    def cmd_info(self, args: list[str]) -> Reply:
        _, operands = self._opts("info", args, "nx", ["numa", "xenstore"])
        pairs = self.info_pairs()
        if operands:
            return Reply(info_value(pairs, operands[0]))
        return Reply(format_info(pairs))

    def cmd_list(self, args: list[str]) -> Reply:
        opts, operands = self._opts("list", args, "lvZcn", ["long", "verbose", "context", "cpupool", "numa"])
        if len(operands) > 1:
            raise CommandError("", 1, stdout=help_text("list"))
        if operands:
            domain = self.world.by_name_or_id(operands[0])
            if domain is None or not domain.active:
                if operands[0].isdigit():
                    raise CommandError(f"Error: Domain '{operands[0]}' does not exist.\n", 1)
                self.find(operands[0])
            domains = [self.find(operands[0])]
        else:
            domains = self.world.active_domains()
        if "-l" in opts or "--long" in opts:
            return Reply(format_xl_json([domain_json(self.world, d) for d in domains if not d.is_dom0]))
        verbose = "-v" in opts or "--verbose" in opts
        return Reply(format_xl_list([self._row(d) for d in domains], verbose=verbose,
                                    context="-Z" in opts or "--context" in opts))

    def cmd_vm_list(self, args: list[str]) -> Reply:
        self._opts("vm-list", args, "")
        rows = [f"{d.uuid}  {d.domid}    {d.name:<30}\n" for d in self.world.active_domains() if not d.is_dom0]
        return Reply("UUID                                  ID    name\n" + "".join(rows))

    def cmd_uptime(self, args: list[str]) -> Reply:
        _, operands = self._opts("uptime", args, "")
        domains = [self.find(q) for q in operands] if operands else self.world.active_domains()
        now = self.world.clock()
        lines = [f"{'Name':<33} {'ID':>4} Uptime\n"]
        lines += [f"{d.name:<33} {d.domid:4d} {uptime_string(int(now - d.created_at))}\n" for d in domains]
        return Reply("".join(lines))

    def cmd_domid(self, args: list[str]) -> Reply:
        _, operands = self._opts("domid", args, "")
        domain = self.world.domains.get(operands[0])
        if domain is None or not domain.active:
            raise CommandError(f"Can't get domid of domain name '{operands[0]}', maybe this domain does not "
                               "exist.\n", 1)
        return Reply(f"{domain.domid}\n")

    def cmd_domname(self, args: list[str]) -> Reply:
        _, operands = self._opts("domname", args, "")
        domain = self.world.by_name_or_id(operands[0]) if operands[0].isdigit() else None
        if domain is None:
            raise CommandError(f"Can't get domain name of domain id '{operands[0]}', maybe this domain does not "
                               "exist.\n", 1)
        return Reply(f"{domain.name}\n")

    def vcpu_rows(self, domains: Sequence[Domain]) -> list[VcpuRow]:
        t = self.world.clock()
        rows = []
        for domain in domains:
            for index in range(domain.max_vcpus):
                online = index < domain.vcpus_online
                running = domain.executing and online and (
                    (domain.is_dom0 and index == 0) or domain.load.at(t + index * 3.1) >= 0.5)
                rows.append(VcpuRow(domain.name, domain.domid, index, self.world.vcpu_cpu(domain, index, t), online,
                                    running, domain.executing and online and not running,
                                    self.world.vcpu_ns(domain, index, t) / 1e9, domain.config.cpus, None))
        return rows

    def cmd_vcpu_list(self, args: list[str]) -> Reply:
        _, operands = self._opts("vcpu-list", args, "")
        domains = [self.find(q) for q in operands] if operands else self.world.active_domains()
        return Reply(format_xl_vcpu_list(self.vcpu_rows(domains), self.world.machine.max_cpu_id + 1))

    def device_rows(self, domain: Domain, kind: str, xend: bool = False) -> list[DeviceRow]:
        """What xenstore holds for a domain's frontends: disks (``vbd``) or network interfaces (``vif``)."""
        rows = []
        domid = domain.domid or 0
        if kind == "vbd":
            for index, disk in enumerate(domain.config.disks):
                devid = vdev_number(disk.vdev) or 0
                backend = "vbd" if xend or self.world.path_kind(disk.target) == "block" else "qdisk"
                if xend and disk.prefix.startswith("tap"):
                    backend = "tap"
                rows.append(DeviceRow(devid, 0, domid, 4, 10 + 2 * index + len(domain.config.vifs) * 2,
                                      8 + index * 9, f"/local/domain/0/backend/{backend}/{domid}/{devid}"))
        else:
            for index, vif in enumerate(domain.config.vifs):
                rows.append(DeviceRow(index, 0, index, 4, 11 + index * 2, 768 + index * 2,
                                      f"/local/domain/0/backend/vif/{domid}/{index}", vif.mac, 769 + index * 2))
        return rows

    def cmd_block_list(self, args: list[str]) -> Reply:
        _, operands = self._opts("block-list", args, "")
        rows, errors = [], []
        for qualifier in operands:  # main_blocklist reports a bad domain and goes on
            domain = self.world.by_name_or_id(qualifier)
            if domain is None or not domain.active:
                errors.append(f"{qualifier} is an invalid domain identifier\n")
                continue
            rows += self.device_rows(domain, "vbd")
        return Reply(format_xl_block_list(rows), "".join(errors))

    def cmd_network_list(self, args: list[str]) -> Reply:
        _, operands = self._opts("network-list", args, "")
        out = format_xl_network_list([])
        for qualifier in operands:
            try:
                domain = self.find(qualifier)
            except CommandError as error:
                raise CommandError(error.stderr, 1, stdout=out) from None
            out += format_xl_network_list(self.device_rows(domain, "vif")).split("\n", 1)[1]
        return Reply(out)

    def cmd_sched_credit(self, args: list[str]) -> Reply:
        opts, _ = self._opts("sched-credit", args, "d:w:c:p:t:r:m:s",
                             ["domain=", "weight=", "cap=", "schedparam", "tslice_ms=", "ratelimit_us=",
                              "migration_delay_us=", "cpupool="])
        dom = opts.get("-d", opts.get("--domain"))
        weight = opts.get("-w", opts.get("--weight"))
        cap = opts.get("-c", opts.get("--cap"))
        if ("-p" in opts or "-s" in opts) and (dom or weight is not None or cap is not None):
            raise CommandError("Specifying a cpupool or schedparam is not allowed with domain options.\n", 1)
        if dom is None and (weight is not None or cap is not None):
            raise CommandError("Must specify a domain.\n", 1)
        if "-s" in opts:
            return Reply(POOL_LINE + "\n")
        if dom is None:
            rows = [(d.name, d.domid or 0, d.weight, d.cap) for d in self.world.active_domains()]
            return Reply(format_xl_sched_credit(rows, pool=POOL_LINE))
        domain = self.find(dom)
        if weight is None and cap is None:
            return Reply(format_xl_sched_credit([(domain.name, domain.domid or 0, domain.weight, domain.cap)],
                                                pool=None))
        new_weight, new_cap = _strtol(weight), _strtol(cap)
        where = f"Domain {domain.domid}:" if domain.domid else ""
        if weight is not None and not 1 <= new_weight <= 65535:
            raise CommandError(f"libxl: error: libxl_sched.c:236:sched_credit_domain_set: {where}Cpu weight out of "
                               "range, valid values are within range from 1 to 65535\n"
                               "libxl_domain_sched_params_set failed.\n", 1)
        limit = domain.max_vcpus * 100
        if cap is not None and not 0 <= new_cap <= limit:
            raise CommandError(f"libxl: error: libxl_sched.c:246:sched_credit_domain_set: {where}Cpu cap out of "
                               f"range, valid range is from 0 to {limit} for specified number of vcpus\n"
                               "libxl_domain_sched_params_set failed.\n", 1)
        if weight is not None:
            domain.weight = new_weight
        if cap is not None:
            domain.cap = new_cap
        return Reply()

    # -- the life cycle ----------------------------------------------------------------------------

    def cmd_create(self, args: list[str]) -> Reply:
        config_file = None
        if args and not args[0].startswith("-") and "=" not in args[0]:
            config_file, args = args[0], args[1:]
        opts, operands = self._opts("create", args, "AFVcdef:inpq",
                                    ["defconfig=", "dryrun", "ignore-global-affinity-masks", "quiet", "vncviewer",
                                     "vncviewer-autopass"])
        config_file = opts.get("-f", opts.get("--defconfig", config_file))
        extra = []
        for operand in operands:
            if "=" in operand:
                extra.append(operand)
            elif config_file is None:
                config_file = operand
            else:
                raise CommandError("", 2, stdout=help_text("create"))
        if config_file is None:
            raise CommandError("Config file not specified and none in save file\n", 6)
        text = self._read_config(config_file)
        if extra:
            text += "\n" + "\n".join(extra) + "\n"
        quiet = "-q" in opts or "--quiet" in opts
        config, stderr = self.parse(text, config_file, "" if quiet else f"Parsing config from {config_file}\n")
        if "-n" in opts or "--dryrun" in opts:  # the configuration as libxl_domain_config_to_json prints it
            entry = domain_json(self.world, Domain(config.name, config.uuid or "", config, -1,
                                                   config.memory_mib * 1024, config.max_mib * 1024,
                                                   vcpus_online=config.vcpus, max_vcpus=config.max_vcpus,
                                                   weight=config.cpu_weight, cap=config.cap))
            return Reply(json.dumps(entry["config"], indent=4) + "\n", stderr)
        try:
            self.world.check_start(config)
        except CommandError as error:
            raise CommandError(stderr + error.stderr, error.status) from None
        self.world.start(config, paused="-p" in opts, config_path=config_file)
        return Reply("", stderr)

    def _read_config(self, path: str) -> str:
        if path in ("/dev/stdin", "-"):
            return self.stdin or ""
        text = self.world.files.get(self.world.resolve(path))
        if text is None:
            reason = "Is a directory" if self.world.is_dir(path) else "No such file or directory"
            raise CommandError(f"Failed to read config file: {path}: {reason}\n", 3)
        return text

    def parse(self, text: str, source: str, stderr: str = "") -> tuple[GuestConfig, str]:
        """``parse_config_data``: the guest and what xl printed so far (``stderr`` and the warnings), or
        CommandError with what xl printed (exit 1)."""
        try:
            parsed = parse_config_text(text, source)
        except ConfigSyntaxError as error:
            raise CommandError(stderr + "".join(f"{m}\n" for m in error.messages)
                               + "Failed to parse config: Invalid argument\n", 1) from None
        try:
            config = guest_config(parsed, self.world.rng, text=text)
        except CommandError as error:
            raise CommandError(stderr + error.stderr, 1) from None
        return config, stderr + "".join(f"{w}\n" for w in parsed.warnings)

    def cmd_destroy(self, args: list[str]) -> Reply:
        opts, operands = self._opts("destroy", args, "f")
        domain = self.find(operands[0])
        if domain.is_dom0 and "-f" not in opts:
            raise CommandError("Not destroying domain 0; use -f to force.\nThis can only be done when using a "
                               "disaggregated hardware domain and toolstack.\n\n", 1)
        self.world.destroy(domain)
        return Reply()

    def _shutdown_or_reboot(self, command: str, args: list[str]) -> Reply:
        opts, operands = self._opts(command, args, "awF", ["all", "wait"])
        reboot = command == "reboot"
        if not operands and "-a" not in opts and "--all" not in opts:
            raise CommandError("You must specify -a or a domain id.\n\n", 1)
        targets = [d for d in self.world.active_domains() if not d.is_dom0] if not operands else \
            [self.find(operands[0])]
        stderr = ""
        for domain in targets:
            stderr += f"{'Rebooting' if reboot else 'Shutting down'} domain {domain.domid}\n"
            if domain.is_dom0 or (domain.config.hvm and "-F" not in opts and domain.config.os == "windows"):
                what = "reset" if reboot else "power"
                raise CommandError(stderr + "PV control interface not available: external graceful "
                                   f"{command} not possible.\nUse \"-F\" to fallback to ACPI {what} event.\n"
                                   f"{command} failed (rc=-10)\n", 1)
            self.world.request_shutdown(domain, reboot=reboot)
        return Reply("", stderr)

    def cmd_shutdown(self, args: list[str]) -> Reply:
        return self._shutdown_or_reboot("shutdown", args)

    def cmd_reboot(self, args: list[str]) -> Reply:
        return self._shutdown_or_reboot("reboot", args)

    def cmd_pause(self, args: list[str]) -> Reply:
        _, operands = self._opts("pause", args, "")
        self.world.pause(self.find(operands[0]))
        return Reply()

    def cmd_unpause(self, args: list[str]) -> Reply:
        _, operands = self._opts("unpause", args, "")
        domain = self.find(operands[0])
        if not self.world.unpause(domain):  # libxl logs, xl still exits 0 (main_unpause ignores the rc)
            return Reply("", f"libxl: error: libxl_domain.c:716:libxl_domain_unpause: Domain {domain.domid}:"
                             "Unpausing domain: Invalid argument\n", 0)
        return Reply()

    def cmd_save(self, args: list[str]) -> Reply:
        opts, operands = self._opts("save", args, "cpD")
        domain = self.find(operands[0])
        path = operands[1]
        if not self.world.is_dir(posixpath.dirname(self.world.resolve(path))):
            raise CommandError(f"Failed to open temp file {path} for writing\n", 1)
        stderr = f"Saving to {path} new xl format (info 0x3/0x0/{config_length(self.world, domain) + 4})\n"
        keep = "-c" in opts or "-p" in opts  # the image is written and the domain goes on (paused with -p)
        self.world.save(domain, path, keep=keep)
        if "-p" in opts:
            self.world.pause(domain)
        return Reply("", stderr + f"xc: info: Saving domain {domain.domid}, type x86 "
                             f"{'HVM' if domain.config.hvm else 'PV'}\n")

    def cmd_restore(self, args: list[str]) -> Reply:
        opts, operands = self._opts("restore", args, "FcpdeVA", ["vncviewer", "vncviewer-autopass"])
        path = operands[-1]
        image = self.world.saved.get(self.world.resolve(path))
        if image is None:
            if self.world.resolve(path) in self.world.files:
                raise CommandError("File has wrong magic number - corrupt or for a different tool?\n", 6)
            raise CommandError("Can't open restore file: No such file or directory\n", 6)
        stderr = (f"Loading new save file {path} (new xl fmt info 0x3/0x0/{image.config_length + 4})\n"
                  " Savefile contains xl domain config in JSON format\nParsing config from <saved>\n")
        try:
            self.world.check_start(image.config)
        except CommandError as error:
            raise CommandError(stderr + error.stderr, error.status) from None
        self.world.restore(image, paused="-p" in opts)
        return Reply("", stderr + "xc: info: Restoring domain\n")

    def cmd_vcpu_set(self, args: list[str]) -> Reply:
        opts, operands = self._opts("vcpu-set", args, "i", ["ignore-host"])
        domain = self.find(operands[0])
        text = operands[1]
        digits = text.lstrip()
        count = int(digits) if digits.isdigit() else None
        if count is None:
            raise CommandError("Error: Invalid argument.\n", 1)
        host = self.world.machine.nr_cpus
        if "-i" not in opts and "--ignore-host" not in opts and count > domain.vcpus_online and count > host:
            raise CommandError(f"You are overcommmitting! You have {host} physical CPUs and want {count} vCPUs! "
                               "Aborting, use --ignore-host to continue\n", 1)
        if count == 0 or count > domain.max_vcpus:
            message = "Requested 0 VCPUs!" if count == 0 else \
                f"Requested {count} VCPUs, however maxcpus is {domain.max_vcpus}!"
            raise CommandError(f"libxl: error: libxl_domain.c:1873:libxl_set_vcpuonline: Domain {domain.domid}:"
                               f"{message}\nlibxl_set_vcpuonline failed domid={domain.domid} max_vcpus={count}, "
                               "rc: -3\n", 1)
        self.world.set_vcpus(domain, count)
        return Reply()

    def cmd_mem_set(self, args: list[str]) -> Reply:
        _, operands = self._opts("mem-set", args, "")
        domain = self.find(operands[0])
        kb = parse_mem_kb(operands[1])
        if kb is None:
            raise CommandError(f"invalid memory size: {operands[1]}\n", 1)
        if kb > domain.maxmem_kb and not domain.unlimited:
            raise CommandError(f"libxl: error: libxl_mem.c:278:libxl_set_memory_target: Domain {domain.domid}:"
                               "memory_dynamic_max must be less than or equal to memory_static_max\n\n"
                               f"cannot set domid {domain.domid} dynamic max memory to : {operands[1]}\n", 1)
        if kb - domain.mem_kb > self.world.free_kb():
            raise CommandError(f"cannot set domid {domain.domid} dynamic max memory to : {operands[1]}\n", 1)
        domain.mem_kb = kb
        return Reply()

    def cmd_mem_max(self, args: list[str]) -> Reply:
        _, operands = self._opts("mem-max", args, "")
        domain = self.find(operands[0])
        kb = parse_mem_kb(operands[1])
        if kb is None:
            raise CommandError(f"invalid memory size: {operands[1]}\n", 1)
        domain.maxmem_kb = kb
        return Reply()

    def console_target(self, args: list[str]) -> Domain:
        """The domain ``xl console`` attaches to (``main_console``, then xenconsole's refusal of dom0)."""
        opts, operands = self._opts("console", args, "n:t:e:")
        if opts.get("-t", "pv") not in ("pv", "serial", "vuart"):
            raise CommandError("console type supported are: pv, serial, vuart\n", 1)
        domain = self.find(operands[0])
        if domain.is_dom0:
            raise CommandError("Can't specify Domain-0\n", 22)
        return domain

    def cmd_console(self, args: list[str]) -> Reply:
        """Reached only without a channel (``server.py`` runs the console): nothing to attach to."""
        self.console_target(args)
        return Reply("", "Unable to attach console\n", 1)

    def migration(self, args: list[str]):
        """The steps of ``xl migrate`` (migrate.py); raises CommandError for bad arguments."""
        opts, operands = self._opts("migrate", args, "s:eFC:pD", ["debug", "live"])
        if len(operands) != 2:
            raise CommandError("", 2, stdout=help_text("migrate"))
        return xl_migrate(self.world, self.find(operands[0]), operands[1], pause_after="-p" in opts)

    def cmd_migrate(self, args: list[str]) -> Reply:
        """At once (over SSH, ``server.py`` runs the steps with their pauses)."""
        stderr, status = run_now(self.migration(args))
        return Reply("", stderr, status)


def _strtol(text: str | None) -> int:
    """``strtol(optarg, NULL, 10)``: the leading number, 0 when there is none."""
    if text is None:
        return 0
    text = text.strip()
    end = 1 if text[:1] in "+-" else 0
    while end < len(text) and text[end].isdigit():
        end += 1
    try:
        return int(text[:end])
    except ValueError:
        return 0
