"""The ``xm`` command (xend) of a simulated dom0: the legacy toolstack (Xen ≤ 4.4) and Sun xVM's.

Formats: xen.md §3 (``xm list``), §4 (``xm info``: ``"%-23s:" % key, value``); the rest RECONSTRUCTED from
tools/python/xen/xm/main.py of RELEASE-4.1.0 (the xm flavour) and of 3.3 (xVM, whose listings are the
same): ``xm_vcpu_list``, ``xm_block_list``, ``xm_network_list``, ``xm_sched_credit``, ``xm_info`` with
XendNode's key order (``nodeinfo``, ``physinfo``, ``xeninfo``, ``xendinfo``: 3.3 has ``node_to_cpu`` and
``node_to_memory`` where 4.1 has ``free_cpus``, and no ``xen_commandline``).

Errors are printed the way ``_run_cmd`` prints xend's faults: an unknown domain is ``Error: Domain
'NAME' does not exist.`` (exit 3, xend's ERROR_INVALID_DOMAIN); any other xend error is ``Error: MESSAGE``
on stderr followed by the command's usage on stdout (``cmdHelp``: ``Usage: xm CMD ARGS``, the description
and the option table; exit 1). xend keeps managed domains (``xm new``, virt-install) listed while shut off,
with an empty ID. ``xm create`` prints ``Using config file "PATH".`` and ``Started domain NAME (id=N)``
(create.py); its config search path is ``.`` then ``/etc/xen``.
"""

from __future__ import annotations

import getopt
import posixpath
import re
from collections.abc import Sequence
from textwrap import wrap

from ..sshserver import Reply
from .config import ConfigSyntaxError, guest_config, parse_config_text, vdev_number
from .formats import (
    ListRow,
    format_info,
    format_xm_block_list,
    format_xm_list,
    format_xm_network_list,
    format_xm_sched_credit,
    format_xm_vcpu_list,
    xm_state,
)
from .migrate import run_now, xend_migrate
from .model import KIB_PER_MIB, CommandError, Domain, GuestConfig, Toolstack
from .world import XenWorld
from .xl import Xl, parse_mem_kb

#: SUBCOMMAND_HELP of main.py (the commands simulated)
HELP = {
    "console": ("[-q|--quiet] <Domain>", "Attach to <Domain>'s console."),
    "create": ("<ConfigFile> [options] [vars]", "Create a domain based on <ConfigFile>."),
    "destroy": ("<Domain>", "Terminate a domain immediately."),
    "list": ("[options] [Domain, ...]", "List information about all/some domains."),
    "mem-max": ("<Domain> <Mem>", "Set the maximum amount reservation for a domain."),
    "mem-set": ("<Domain> <Mem>", "Set the current memory usage for a domain."),
    "migrate": ("<Domain> <Host>", "Migrate a domain to another machine."),
    "pause": ("<Domain>", "Pause execution of a domain."),
    "reboot": ("<Domain> [-wa]", "Reboot a domain."),
    "restore": ("<CheckpointFile> [-p]", "Restore a domain from a saved state."),
    "save": ("[-c] <Domain> <CheckpointFile>", "Save a domain state to restore later."),
    "shutdown": ("<Domain> [-waRH]", "Shutdown a domain."),
    "top": ("", "Monitor a host and the domains in real time."),
    "unpause": ("<Domain>", "Unpause a paused domain."),
    "new": ("<ConfigFile> [options] [vars]", "Adds a domain to Xend domain management"),
    "delete": ("<DomainName>", "Remove a domain from Xend domain management."),
    "start": ("<DomainName>", "Start a Xend managed domain"),
    "domid": ("<DomainName>", "Convert a domain name to domain id."),
    "domname": ("<DomId>", "Convert a domain id to domain name."),
    "info": ("[-c|--config] [-n|--numa]", "Get information about Xen host."),
    "sched-credit": ("[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]", "Get/set credit scheduler parameters."),
    "vcpu-list": ("[Domain, ...]", "List the VCPUs for all/some domains."),
    "vcpu-set": ("<Domain> <vCPUs>", "Set the number of active VCPUs for allowed for the domain."),
    "block-list": ("<Domain> [--long]", "List virtual block devices for a domain."),
    "network-list": ("<Domain> [--long]", "List virtual network interfaces for a domain."),
}
OPTIONS = {
    "sched-credit": (("-d DOMAIN", "--domain=DOMAIN", "Domain to modify"),
                     ("-w WEIGHT", "--weight=WEIGHT", "Weight (int)"),
                     ("-c CAP", "--cap=CAP", "Cap (int)")),
    "list": (("-l", "--long", "Output all VM details in SXP"), ("", "--label", "Include security labels"),
             ("", "--state=<state>", "Select only VMs with the specified state"),
             ("", "--pool=<pool>", "Select only VMs in specified cpu pool")),
    "console": (("-q", "--quiet", "Do not print an error message if the domain does not exist"),),
    "network-list": (("-l", "--long", "List resources as SXP"),),
    "start": (("-p", "--paused", "Do not unpause domain after starting it"),
              ("-c", "--console_autoconnect", "Connect to the console after the domain is created"),
              ("", "--vncviewer", "Connect to display via VNC after the domain is created"),
              ("", "--vncviewer-autopass", "Pass VNC password to viewer via stdin and -autopass")),
    "save": (("-c", "--checkpoint", "Leave domain running after creating snapshot"),),
    "restore": (("-p", "--paused", "Do not unpause domain after restoring it"),),
    "info": (("-c", "--config", "List Xend configuration parameters"),
             ("-n", "--numa", "List host NUMA topology information")),
}


def cmd_help(command: str) -> str:
    """``cmdHelp``: usage, description, options (``'  %-30s %-43s'``), blank line."""
    args, description = HELP[command]
    text = f"Usage: xm {command} {args}\n\n{description}\n"
    for short, long, desc in OPTIONS.get(command, ()):
        label = f"{short}, {long}" if short and long else (short or long)
        lines = wrap(desc, 43)
        text += f"  {label:<30} {lines[0]:<43}\n" + "".join(" " * 33 + line + "\n" for line in lines[1:])
    return text + ("\n" if command in OPTIONS else "")


class XendError(CommandError):
    """A fault of xend, printed ``Error: MESSAGE`` with the command's usage (exit 1)."""

    def __init__(self, message: str, command: str) -> None:
        super().__init__(f"Error: {message}\n", 1, stdout=cmd_help(command) if command in HELP else "")


class Xm:
    """``run(args)`` for one ``xm`` command line (without the ``xm``)."""

    def __init__(self, world: XenWorld) -> None:
        self.world = world
        self.xl = Xl(world)  # shared helpers: device rows, vCPU rows, config parsing

    def run(self, args: Sequence[str], stdin: str | None = None) -> Reply:
        if not args:
            return Reply("Usage: xm <subcommand> [args]\n\nControl, list, and manipulate Xen guest instances.\n",
                         "", 1)
        command, rest = args[0], list(args[1:])
        handler = getattr(self, "cmd_" + command.replace("-", "_"), None)
        if handler is None or command not in HELP:
            return Reply("Usage: xm <subcommand> [args]\n", f"Error: Subcommand {command} not found!\n", 1)
        self.xl.stdin = stdin
        try:
            return handler(rest)
        except CommandError as error:
            return Reply(error.stdout, error.stderr, error.status)

    # -- helpers ------------------------------------------------------------------------------------

    def _opts(self, command: str, args: list[str], short: str, longs: Sequence[str] = ()) -> tuple[dict, list]:
        try:
            opts, operands = getopt.gnu_getopt(args, short, list(longs))
        except getopt.GetoptError as error:
            raise XendError(str(error), command) from None
        return dict(opts), operands

    def _need(self, command: str, operands: list, count: int, high: int | None = None) -> None:
        """``arg_check``."""
        high = count if high is None else high
        if not count <= len(operands) <= high:
            text = f"'xm {command}' requires {count} argument{'' if count == 1 else 's'}." if count == high else \
                f"'xm {command}' requires between {count} and {high} arguments."
            raise CommandError(f"Error: {text}\n\n", 1, stdout=cmd_help(command))

    def find(self, name: str, *, active: bool = False, command: str = "") -> Domain:
        """xend's ``domain_lookup``: by name or ID; an inactive managed domain is found too, unless the
        command needs it running (``Domain 'NAME' is not started``)."""
        domain = self.world.by_name_or_id(name)
        if domain is None:
            raise CommandError(f"Error: Domain '{name}' does not exist.\n", 3)
        if active and not domain.active:
            raise XendError(f"Domain '{name}' is not started", command)
        return domain

    def _domains(self) -> list[Domain]:
        """Active domains by ID, then inactive managed ones by name."""
        inactive = sorted((d for d in self.world.domains.values() if not d.active), key=lambda d: d.name)
        return self.world.active_domains() + inactive

    def _row(self, domain: Domain) -> ListRow:
        t = self.world.clock()
        if not domain.active:
            return ListRow(domain.name, None, domain.config.memory_mib, domain.config.vcpus, "------", 0.0)
        running = domain.running_at(t)
        state = xm_state(running, domain.executing and not running, domain.paused, domain.shutdown, domain.crashed,
                         domain.dying)
        return ListRow(domain.name, domain.domid, domain.mem_kb // KIB_PER_MIB, domain.vcpus_online, state,
                       self.world.cpu_ns(domain, t) / 1e9)

    # -- listings ------------------------------------------------------------------------------------

    def info_pairs(self) -> list[tuple[str, object]]:
        w, m = self.world, self.world.machine
        pairs: list[tuple[str, object]] = [
            ("system", m.system), ("host", w.hostname), ("release", m.release), ("version", m.version),
            ("machine", m.arch), ("nr_cpus", m.nr_cpus), ("nr_nodes", m.nr_nodes),
            ("cores_per_socket", m.cores_per_socket), ("threads_per_core", m.threads_per_core),
            ("cpu_mhz", m.cpu_mhz), ("hw_caps", m.hw_caps), ("virt_caps", "hvm" if m.hvm else ""),
            ("total_memory", m.total_kib // KIB_PER_MIB), ("free_memory", w.free_kb() // KIB_PER_MIB)]
        if (m.xen_major, m.xen_minor) >= (4, 0):
            pairs.append(("free_cpus", 0))
        else:
            pairs += [("node_to_cpu", f"node0:0-{m.max_cpu_id}"), ("node_to_memory", f"node0:{w.free_kb() // 1024}")]
        pairs += [("xen_major", m.xen_major), ("xen_minor", m.xen_minor), ("xen_extra", m.xen_extra),
                  ("xen_caps", m.xen_caps), ("xen_scheduler", m.scheduler), ("xen_pagesize", m.pagesize),
                  ("platform_params", f"virt_start={m.virt_start:#x}"), ("xen_changeset", m.changeset)]
        if (m.xen_major, m.xen_minor) >= (4, 0):
            pairs.append(("xen_commandline", m.commandline))
        pairs += [("cc_compiler", m.cc_compiler), ("cc_compile_by", m.cc_compile_by),
                  ("cc_compile_domain", m.cc_compile_domain), ("cc_compile_date", m.cc_compile_date),
                  ("xend_config_format", 4)]
        return pairs

    def cmd_info(self, args: list[str]) -> Reply:
        self._opts("info", args, "cn", ["config", "numa"])
        return Reply(format_info(self.info_pairs()))

    def cmd_list(self, args: list[str]) -> Reply:
        opts, names = self._opts("list", args, "lv", ["long", "vcpus", "label", "state=", "pool="])
        if "-v" in opts or "--vcpus" in opts:
            reply = self.cmd_vcpu_list(names)
            return Reply(reply.stdout, "xm list -v is deprecated.  Please use xm vcpu-list.\n" + reply.stderr,
                         reply.exit_status)
        domains = [self.find(n) for n in names] if names else self._domains()
        return Reply(format_xm_list([self._row(d) for d in domains]))

    def cmd_vcpu_list(self, args: list[str]) -> Reply:
        domains = [self.find(n) for n in args] if args else self._domains()
        rows = self.xl.vcpu_rows([d for d in domains if d.active])
        inactive = [d for d in domains if not d.active]
        text = format_xm_vcpu_list(rows, self.world.machine.nr_cpus)
        for domain in inactive:  # xend reports cpu -1: no CPU, no state
            for index in range(domain.config.vcpus):
                text += f"{domain.name:<32} {'':>5} {index:5d} {'':>5} {'':>5}  {0.0:8.1f} any cpu\n"
        return Reply(text)

    def _resource_list(self, command: str, args: list[str]) -> Domain:
        opts, params = self._opts(command, args, "l", ["long"])
        if not params:
            raise CommandError("", 1, stdout="No domain parameter given\n" + cmd_help(command))
        if len(params) > 1:
            raise CommandError("", 1, stdout="No multiple domain parameters allowed\n" + cmd_help(command))
        return self.find(params[0])

    def cmd_block_list(self, args: list[str]) -> Reply:
        domain = self._resource_list("block-list", args)
        return Reply(format_xm_block_list(self.xl.device_rows(domain, "vbd", xend=True) if domain.active else []))

    def cmd_network_list(self, args: list[str]) -> Reply:
        domain = self._resource_list("network-list", args)
        return Reply(format_xm_network_list(self.xl.device_rows(domain, "vif", xend=True) if domain.active else []))

    def cmd_sched_credit(self, args: list[str]) -> Reply:
        try:
            opts, _ = getopt.getopt(args, "d:w:c:", ["domain=", "weight=", "cap="])
        except getopt.GetoptError as error:
            raise XendError(str(error), "sched-credit") from None
        values = {k.lstrip("-")[0]: v for k, v in opts}
        dom = values.get("d")
        try:
            weight = int(values["w"]) if "w" in values else None
            cap = int(values["c"]) if "c" in values else None
        except ValueError:
            raise XendError("Invalid argument.", "sched-credit") from None
        domains = [d for d in self._domains() if dom is None or dom in (d.name, str(d.domid))]
        if weight is None and cap is None:
            if dom is not None and not domains:
                raise CommandError(f"Error: Domain '{dom}' does not exist.\n", 1, stdout=cmd_help("sched-credit"))
            return Reply(format_xm_sched_credit([(d.name, d.domid, d.weight, d.cap) for d in domains]))
        if dom is None:
            raise XendError("No domain given.", "sched-credit")
        domain = self.find(dom)
        old = (self.world.machine.xen_major, self.world.machine.xen_minor) < (4, 0)
        if weight is not None and not 1 <= weight <= 65535:
            raise XendError("weight is out of range" if old else
                            "Cpu weight out of range, valid values are within range from 1 to 65535", "sched-credit")
        limit = domain.vcpus_online * 100
        if cap is not None and not 0 <= cap <= limit:
            raise XendError("cap is out of range" if old else
                            f"Cpu cap out of range, valid range is from 0 to {limit} for specified number of vcpus",
                            "sched-credit")
        if weight is not None:
            domain.weight = weight
        if cap is not None:
            domain.cap = cap
        return Reply()

    def cmd_domid(self, args: list[str]) -> Reply:
        self._need("domid", args, 1)
        domain = self.find(args[0])
        return Reply(f"{'None' if domain.domid is None else domain.domid}\n")

    def cmd_domname(self, args: list[str]) -> Reply:
        self._need("domname", args, 1)
        return Reply(f"{self.find(args[0]).name}\n")

    # -- the life cycle ----------------------------------------------------------------------------

    def _config(self, command: str, args: list[str]) -> tuple[GuestConfig, str, dict, str]:
        """Read and check a configuration file as create.py does: (config, path, options, stdout)."""
        opts, operands = self._opts(command, args, "cpqn:f:F:", ["console_autoconnect", "paused", "quiet",
                                                                  "dryrun", "defconfig=", "config="])
        files = [o for o in operands if "=" not in o]
        name = opts.get("-f") or opts.get("--defconfig") or opts.get("-F") or opts.get("--config") \
            or (files[0] if files else None)
        if name is None:
            raise XendError("No config file specified", command)
        path = name if name.startswith("/") else next(
            (p for p in (posixpath.normpath(f"/root/{name}"), posixpath.normpath(f"/etc/xen/{name}"))
             if p in self.world.files), None)
        if path is None or path not in self.world.files:
            raise XendError(f"Unable to open config file: {name}", command)
        quiet = "-q" in opts or "--quiet" in opts
        out = "" if quiet else f'Using config file "{path}".\n'
        text = self.world.files[path]
        extra = [o for o in operands if "=" in o]
        if extra:
            text += "\n" + "\n".join(extra) + "\n"
        try:
            config = guest_config(parse_config_text(text, path), self.world.rng, text=text)
        except ConfigSyntaxError as error:
            raise CommandError(f"Error: invalid syntax ({posixpath.basename(path)}, line "
                               f"{error.messages[0].split(':')[1]})\n", 1, stdout=out) from None
        except CommandError as error:
            raise CommandError(f"Error: {error.stderr.splitlines()[-1]}\n", 1, stdout=out) from None
        return config, path, opts, out

    def _check(self, config: GuestConfig, out: str) -> None:
        """xend's checks before building: the name (XendDomainInfo._checkName), free, memory, disks
        (create.py's ``err``: no usage)."""
        if not re.fullmatch(r"[A-Za-z0-9_\-.:+]+", config.name):
            raise CommandError("Error: Invalid VM Name\n", 1, stdout=out)
        existing = self.world.domains.get(config.name)
        if existing is not None and existing.active:
            raise CommandError(f"Error: Domain '{config.name}' already exists with ID '{existing.domid}'\n", 1,
                               stdout=out)
        for disk in config.disks:
            if self.world.path_kind(disk.target) is None and not disk.cdrom:
                raise CommandError(f"Error: Device {vdev_number(disk.vdev)} (vbd) could not be connected. "
                                   f"{disk.target} does not exist.\n", 1, stdout=out)
        need, have = config.memory_mib * KIB_PER_MIB, max(0, self.world.free_kb())
        if need > have:
            raise CommandError("Error: Not enough free memory and enable-dom0-ballooning is False, so I cannot "
                               f"release any more.  I need {need} KiB but only have {have}.\n", 1, stdout=out)

    def cmd_create(self, args: list[str]) -> Reply:
        config, path, opts, out = self._config("create", args)
        self._check(config, out)
        domain = self.world.start(config, paused="-p" in opts or "--paused" in opts, config_path=path)
        quiet = "-q" in opts or "--quiet" in opts
        return Reply(out + ("" if quiet else f"Started domain {domain.name} (id={domain.domid})\n"))

    def cmd_new(self, args: list[str]) -> Reply:
        config, path, _, out = self._config("new", args)
        existing = self.world.domains.get(config.name)
        if existing is not None:
            raise CommandError(f"Error: Domain '{config.name}' already exists with ID '{existing.domid}'\n"
                               if existing.active else f"Error: VM name '{config.name}' already exists\n", 1,
                               stdout=out)
        from .model import new_uuid

        self.world.domains[config.name] = Domain(config.name, config.uuid or new_uuid(self.world.rng), config,
                                                 weight=config.cpu_weight, cap=config.cap, managed=True,
                                                 config_path=path, vcpus_online=config.vcpus,
                                                 max_vcpus=config.max_vcpus)
        return Reply(out)

    def cmd_start(self, args: list[str]) -> Reply:
        opts, operands = self._opts("start", args, "cp", ["console_autoconnect", "paused", "vncviewer",
                                                           "vncviewer-autopass"])
        if len(operands) != 1:
            raise XendError("Expects 1 argument", "start")
        domain = self.find(operands[0])
        if domain.active:
            raise XendError("Domain is already running", "start")
        self._check(domain.config, "")
        weight, cap = domain.weight, domain.cap
        started = self.world.start(domain.config, paused="-p" in opts or "--paused" in opts, uuid=domain.uuid,
                                   managed=True, config_path=domain.config_path)
        started.weight, started.cap = weight, cap
        return Reply()

    def cmd_delete(self, args: list[str]) -> Reply:
        self._need("delete", args, 1)
        domain = self.find(args[0])
        if domain.active:
            raise XendError("Domain is not halted.", "delete")
        del self.world.domains[domain.name]
        return Reply()

    def cmd_destroy(self, args: list[str]) -> Reply:
        self._need("destroy", args, 1)
        domain = self.find(args[0], active=True, command="destroy")
        if domain.is_dom0:
            raise XendError("Cannot destroy privileged domain 0", "destroy")
        self.world.destroy(domain)
        return Reply()

    def _shutdown(self, command: str, args: list[str]) -> Reply:
        opts, operands = self._opts(command, args, "awRH", ["all", "wait", "reboot", "halt"])
        reboot = command == "reboot" or "-R" in opts or "--reboot" in opts
        targets = [d for d in self.world.active_domains() if not d.is_dom0] if "-a" in opts or "--all" in opts \
            else [self.find(operands[0], active=True, command=command)] if operands else None
        if targets is None:
            raise XendError("No domain parameter given", command)
        for domain in targets:
            if domain.is_dom0:
                raise XendError("Cannot shut down privileged domain 0", command)
            self.world.request_shutdown(domain, reboot=reboot)
        return Reply()

    def cmd_shutdown(self, args: list[str]) -> Reply:
        return self._shutdown("shutdown", args)

    def cmd_reboot(self, args: list[str]) -> Reply:
        return self._shutdown("reboot", args)

    def cmd_pause(self, args: list[str]) -> Reply:
        self._need("pause", args, 1)
        self.world.pause(self.find(args[0], active=True, command="pause"))
        return Reply()

    def cmd_unpause(self, args: list[str]) -> Reply:
        self._need("unpause", args, 1)
        self.world.unpause(self.find(args[0], active=True, command="unpause"))
        return Reply()

    def cmd_save(self, args: list[str]) -> Reply:
        opts, params = self._opts("save", args, "c", ["checkpoint"])
        if len(params) != 2:
            raise CommandError("Error: Wrong number of parameters\n", 1, stdout=cmd_help("save"))
        domain = self.find(params[0], active=True, command="save")
        path = self.world.resolve(params[1])
        if not self.world.is_dir(posixpath.dirname(path)):
            raise CommandError(f"Error: xm save: Unable to create file {path}\n", 1)
        self.world.save(domain, path, keep="-c" in opts or "--checkpoint" in opts)
        return Reply()

    def cmd_restore(self, args: list[str]) -> Reply:
        opts, params = self._opts("restore", args, "p", ["paused"])
        if len(params) != 1:
            raise CommandError("Error: Wrong number of parameters\n", 1, stdout=cmd_help("restore"))
        path = self.world.resolve(params[0])
        image = self.world.saved.get(path)
        if image is None:
            if path in self.world.files:
                raise XendError("not a valid guest state file: config parse", "restore")
            raise CommandError(f"Error: xm restore: Unable to read file {path}\n", 1)
        self._check(image.config, "")
        self.world.restore(image, paused="-p" in opts or "--paused" in opts)
        return Reply()

    def cmd_vcpu_set(self, args: list[str]) -> Reply:
        self._need("vcpu-set", args, 2)
        domain = self.find(args[0])
        try:
            count = int(args[1])
        except ValueError:
            raise CommandError("Error: Invalid argument.\n", 1, stdout=cmd_help("vcpu-set")) from None
        if count < 1:  # XendDomainInfo.setVCpuCount
            raise XendError("Zero or less VCPUs is invalid", "vcpu-set")
        if count > domain.max_vcpus:
            raise XendError("Cannot set vcpus greater than max vcpus on running domain", "vcpu-set")
        if domain.active:
            self.world.set_vcpus(domain, count)
        else:
            domain.config.vcpus = count
        return Reply()

    def cmd_mem_set(self, args: list[str]) -> Reply:
        self._need("mem-set", args, 2)
        domain = self.find(args[0])
        kb = parse_mem_kb(args[1])
        if kb is None:
            raise XendError("Invalid argument.", "mem-set")
        if domain.active:
            if kb > domain.maxmem_kb:
                raise XendError("memory_dynamic_max must be less than or equal to memory_static_max",
                                "mem-set")
            domain.mem_kb = kb
        else:
            domain.config.memory_mib = kb // KIB_PER_MIB
        return Reply()

    def cmd_mem_max(self, args: list[str]) -> Reply:
        self._need("mem-max", args, 2)
        domain = self.find(args[0])
        kb = parse_mem_kb(args[1])
        if kb is None:
            raise XendError("Invalid argument.", "mem-max")
        domain.maxmem_kb = kb
        return Reply()

    def migration(self, args: list[str]):
        """``xm migrate [-l] DOM HOST`` (migrate.py); raises CommandError for bad arguments."""
        opts, params = self._opts("migrate", args, "hlp:n:sc", ["help", "live", "port=", "node=", "ssl",
                                                                 "change_home_server"])
        if len(params) != 2:
            raise XendError("Invalid number of arguments", "migrate")
        domain = self.find(params[0], active=True, command="migrate")
        return xend_migrate(self.world, domain, params[1], live="-l" in opts or "--live" in opts)

    def cmd_migrate(self, args: list[str]) -> Reply:
        steps = self.migration(args)
        try:
            stderr, status = run_now(steps)
        except CommandError as error:
            raise XendError(error.stderr, "migrate") from None
        return Reply("", stderr, status)

    def console_target(self, args: list[str]) -> Domain:
        """The domain ``xm console`` attaches to (``xm_console``)."""
        opts, params = self._opts("console", args, "qn:", ["quiet", "num"])
        if len(params) != 1:
            raise XendError("No domain given", "console")
        domain = self.world.by_name_or_id(params[0])
        if domain is None or not domain.active:
            if "-q" in opts or "--quiet" in opts:
                raise CommandError("", 1)
            if domain is None:
                raise CommandError(f"Error: Domain '{params[0]}' does not exist.\n", 3)
            raise XendError(f"Domain '{params[0]}' is not started", "console")
        if domain.is_dom0:
            raise CommandError("Can't specify Domain-0\n", 22)
        return domain

    def cmd_console(self, args: list[str]) -> Reply:
        """Reached only without a channel (``server.py`` runs the console)."""
        self.console_target(args)
        return Reply("", "xenconsole: Could not read tty from store: No such file or directory\n", 1)

    def cmd_top(self, args: list[str]) -> Reply:
        """``xm top`` runs xentop on the terminal (``server.py``); without one curses cannot start."""
        return Reply("", "Error opening terminal: unknown.\n", 1)


def toolstack_has_xm(world: XenWorld) -> bool:
    return world.toolstack in (Toolstack.XM, Toolstack.XVM)
