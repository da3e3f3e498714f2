"""``zoneadm``: listing, the life cycle, install (including p2v), clone, move, detach and attach.

Checks and messages follow illumos zoneadm.c (cited by function: ``sanity_check``, ``install_func``,
``clone_func``, ``move_func``, ``detach_func``, ``attach_func``, ``uninstall_func``), zoneadm/zfs.c for
ZFS zonepaths, and zoneadmd.c ``server`` for what the daemon answers (``zone is already halted``,
``%s operation is invalid for zones in state '%s'``), printed by zoneadm as ``zoneadm: zone 'Z': ...``.
Exit status 0, 1 (Z_ERR) or 2 (Z_USAGE; zones.md §3). Brand hooks (install, attach) are in `brands`.

Operations that take time on a real system (install, clone, attach, uninstall, boot, reboot, shutdown)
return a `Pending`: what is printed and changed at once (the zone goes ``incomplete``, ``ready`` or
``shutting_down``), and a ``finish`` that completes it. Run directly they finish at once; served over
SSH with a delay, another SSH client sees the transitional state meanwhile. zoneadm ignores SIGHUP
(zoneadm.c ``main``), so a client that hangs up does not stop the operation.
"""

from __future__ import annotations

import getopt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..sshserver import Reply
from . import brands, formats
from .brands import ZONE_SUBPROC_NOTCOMPLETE, ZONE_SUBPROC_OK, ZONE_SUBPROC_USAGE, ImageSource
from .model import KERNEL_STATES, Layout, State, Zone

if TYPE_CHECKING:
    from .world import ZonesWorld

Z_OK, Z_ERR, Z_USAGE = 0, 1, 2

#: zoneadm.c SHELP_* and long_help: the subcommands of ``usage()`` in order, with their long help
SHELP = {
    "help": ("help", "Print usage message."),
    "boot": ("boot [-- boot_arguments]", "Activates (boots) specified zone.  See zoneadm(1m) for valid boot\n\t"
             "arguments."),
    "halt": ("halt", "Halts specified zone, bypassing shutdown scripts and removing runtime\n\tresources of the zone."),
    "ready": ("ready", "Prepares a zone for running applications but does not start any user\n\tprocesses in the "
              "zone."),
    "shutdown": ("shutdown [-r [-- boot_arguments]]", "Gracefully shutdown the zone or reboot if the '-r' option is "
                 "specified.\n\tSee zoneadm(1m) for valid boot arguments."),
    "reboot": ("reboot [-- boot_arguments]", "Restarts the zone (equivalent to a halt / boot sequence).\n\tFails if the"
               " zone is not active.  See zoneadm(1m) for valid boot\n\targuments."),
    "list": ("list [-cipv]", "Lists the current zones, or a specific zone if indicated.  By default,\n\tall running "
             "zones are listed, though this can be expanded to all\n\tinstalled zones with the -i option or all "
             "configured zones with the\n\t-c option.  When used with the general -z <zone> and/or -u "
             "<uuid-match>\n\toptions, lists only the specified matching zone, but lists it\n\tregardless of its "
             "state, and the -i and -c options are disallowed.  The\n\t-v option can be used to display verbose "
             "information: zone name, id,\n\tcurrent state, root directory and options.  The -p option can be "
             "used\n\tto request "
             "machine-parsable output.  The -v and -p options are mutually\n\texclusive.  If neither -v nor -p is "
             "used, just the zone name is listed."),
    "verify": ("verify", "Check to make sure the configuration can safely be instantiated\n\ton the machine: physical "
               "network interfaces exist, etc."),
    "install": ("install [brand-specific args]", "Install the configuration on to the system.  All arguments are "
                "passed to the brand installation function;\n\tsee brands(5) for more information."),
    "uninstall": ("uninstall [-F] [brand-specific args]", "Uninstall the configuration from the system.  The -F flag "
                  "can be used\n\tto force the action.  All other arguments are passed to the brand\n\tuninstall "
                  "function; see brands(5) for more information."),
    "clone": ("clone [-m method] [-s <ZFS snapshot>] [brand-specific args] zonename", "Clone the installation of "
              "another zone.  The -m option can be used to\n\tspecify 'copy' which forces a copy of the source zone.  "
              "The -s option\n\tcan be used to specify the name of a ZFS snapshot that was taken from\n\ta previous "
              "clone command.  The snapshot will be used as the source\n\tinstead of creating a new ZFS snapshot.  All "
              "other arguments are passed\n\tto the brand clone function; see brands(5) for more information."),
    "move": ("move zonepath", "Move the zone to a new zonepath."),
    "detach": ("detach [-n] [brand-specific args]", "Detach the zone from the system. The zone state is changed to\n\t"
               "'configured' (but the files under the zonepath are untouched).\n\tThe zone can subsequently be "
               "attached, or can be moved to another\n\tsystem and attached there.  The -n option can be used to "
               "specify\n\t'no-execute' mode.  When -n is used, the information needed to attach\n\tthe zone is sent "
               "to standard output but the zone is not actually\n\tdetached.  All other arguments are passed to the "
               "brand detach function;\n\tsee brands(5) for more information."),
    "attach": ("attach [-F] [-n <path>] [brand-specific args]", "Attach the zone to the system.  The zone state must "
               "be 'configured'\n\tprior to attach; upon successful completion, the zone state will be\n\t"
               "'installed'.  The system software on the current system must be\n\tcompatible with the software "
               "on the zone's original system.\n\tSpecify -F to force the attach and skip software compatibility "
               "tests.\n\tThe -n "
               "option can be used to specify 'no-execute' mode.  When -n is\n\tused, the information needed to attach "
               "the zone is read from the\n\tspecified path and the configuration is only validated.  The path "
               "can\n\tbe '-' to specify standard input.  The -F and -n options are mutually\n\texclusive.  All other "
               "arguments are passed to the brand attach\n\tfunction; see brands(5) for more information."),
    "mark": ("mark incomplete", "Set the state of the zone.  This can be used to force the zone\n\tstate to "
             "'incomplete' administratively if some activity has rendered\n\tthe zone permanently unusable.  The only "
             "valid state that may be\n\tspecified is 'incomplete'."),
}


class Failed(Exception):
    """zoneadm gives up: ``stderr`` (and ``stdout`` printed before) with exit status ``status``."""

    def __init__(self, stderr: str, status: int = Z_ERR, stdout: str = "") -> None:
        super().__init__(stderr)
        self.stderr, self.status, self.stdout = stderr, status, stdout


@dataclass
class Pending:
    """An operation under way: ``first`` is printed at once, ``finish()`` completes it."""

    first: Reply
    finish: Callable[[], Reply]


Result = Reply | Pending


def usage(explicit: bool) -> str:
    """zoneadm.c ``usage``: to stdout for ``help``, to stderr (exit 2) otherwise."""
    head = "usage:\tzoneadm help\n\tzoneadm [-z <zone>] [-u <uuid-match>] list\n" \
           "\tzoneadm {-z <zone>|-u <uuid-match>} <subcommand>\n\nSubcommands:\n\n"
    body = "".join(f"{short}\n" + (f"\t{long}\n\n" if explicit else "") for short, long in SHELP.values())
    return head + body + ("" if explicit else "\n")


def sub_usage(command: str) -> str:
    short, long = SHELP[command]
    return f"usage:\t{short}\n\t{long}\n"


class Zoneadm:
    """One zoneadm invocation against a world."""

    def __init__(self, world: "ZonesWorld", target: str | None) -> None:
        self.world = world
        self.target = target

    def zerror(self, message: str) -> str:
        """zoneadm.c ``zerror``: ``zoneadm: zone 'Z': MESSAGE``."""
        return f"zoneadm: zone '{self.target}': {message}\n" if self.target is not None else f"zoneadm: {message}\n"

    def fail(self, message: str, status: int = Z_ERR) -> Failed:
        return Failed(self.zerror(message), status)

    @property
    def zone(self) -> Zone:
        assert self.target is not None
        return self.world.zones[self.target]

    def options(self, command: str, args: Sequence[str], letters: str, *, strict: bool = True) -> tuple[dict, list]:
        """getopt(3C) with zoneadm's usage on a bad option; brand-specific commands pass unknown options on."""
        try:
            opts, rest = getopt.getopt(list(args), letters)
        except getopt.GetoptError:
            if strict:
                raise Failed(sub_usage(command), Z_USAGE) from None
            return {}, list(args)
        found: dict[str, list[str]] = {}
        for flag, value in opts:
            found.setdefault(flag, []).append(value)
        return found, rest

    def sanity(self, command: str, *, running: bool = False, unsafe: bool = False, force: bool = False) -> None:
        """zoneadm.c ``sanity_check``."""
        if self.target is None:
            raise self.fail("no zone specified")
        if self.target == "global":
            raise self.fail(f"{command} operation is invalid for the global zone.")
        if self.target.startswith("SUNW"):
            raise self.fail(f"{command} operation is invalid for zones starting with SUNW.")
        zone = self.zone
        in_kernel = zone.state in KERNEL_STATES
        if running and not force:
            if not in_kernel:
                raise self.fail("not running")
            return
        if unsafe and in_kernel:
            raise self.fail(f"{command} operation is invalid for {zone.state.value} zones.")
        state = zone.state
        if command == "uninstall" and state is State.CONFIGURED:
            raise self.fail("is already in state 'configured'.")
        if command in ("install", "clone", "attach"):
            if state is State.INSTALLED:
                raise self.fail("is already installed.")
            if state is State.INCOMPLETE and not (command == "attach" and force):
                raise self.fail("zone is incomplete; uninstall required.")
        if command in ("detach", "move", "ready", "boot", "mount", "mark"):
            minimum = State.INCOMPLETE if command in ("boot", "mount") and force else \
                State.CONFIGURED if command == "mark" else State.INSTALLED
            if state.rank < minimum.rank or (state is State.UNAVAILABLE and minimum is State.INSTALLED):
                raise self.fail(f"must be {minimum.value} before {command}.")

    def daemon(self, command: str) -> str:
        """zoneadm.c ``zonecfg_call_zoneadmd``: zoneadmd refuses to manage a zone below incomplete."""
        if self.zone.state.rank < State.INCOMPLETE.rank:
            raise Failed(f"cannot manage a zone which is in state '{self.zone.state.value}'\n"
                         + self.zerror("could not start zoneadmd")
                         + (self.zerror("call to zoneadmd failed") if command in ("boot", "ready") else ""))
        return ""

    # -- list --

    def list(self, args: Sequence[str]) -> Reply:
        """zoneadm.c ``list_func``."""
        opts, rest = self.options("list", args, "cipv" if self.target is None else "pv")
        if rest:
            raise Failed(sub_usage("list"), Z_USAGE)
        if "-p" in opts and "-v" in opts:
            raise self.fail("list -p and -v are mutually exclusive.")
        if self.target is not None:
            rows = [self.world.row(self.zone) if self.target != "global" else self.world.global_row()]
        else:
            minimum = State.CONFIGURED if "-c" in opts else State.INSTALLED if "-i" in opts else State.RUNNING
            rows = self.world.rows(minimum)
        if "-p" in opts:
            text = formats.list_parseable(rows, self.world.layout, trailing_field=self.world.platform.trailing_field)
        elif "-v" in opts:
            text = formats.list_verbose(rows, self.world.layout)
        else:
            text = formats.list_names(rows)
        return Reply(text)

    # -- the life cycle --

    def boot(self, args: Sequence[str]) -> Result:
        letters = "?fsXw" if self.world.layout is Layout.SOLARIS11 else "?fsX"
        opts, rest = self.options("boot", args, letters)
        force = "-f" in opts
        self.sanity("boot", force=force)
        zone = self.zone
        bootargs = " ".join(rest)
        if zone.state in (State.RUNNING, State.SHUTTING_DOWN, State.DOWN):
            return Reply("", self.zerror("zone is already booted"))
        if zone.state is State.MOUNTED:
            raise Failed(self.zerror("boot operation is invalid for zones in state 'mounted'")
                         + self.zerror("call to zoneadmd failed"))
        zone.writable = "-w" in opts
        self.world.to_ready(zone, event="booting", bootargs=bootargs)
        return Pending(Reply(), lambda: self._booted(zone))

    def _booted(self, zone: Zone) -> Reply:
        self.world.to_running(zone)
        return Reply()

    def halt(self, args: Sequence[str]) -> Result:
        """zoneadmd ``zone_halt``: the zone's processes are killed (state ``down``) and its resources
        released (``installed``)."""
        _opts, rest = self.options("halt", args, "?X")
        if rest:
            raise Failed(sub_usage("halt"), Z_USAGE)
        self.sanity("halt")
        self.daemon("halt")
        zone = self.zone
        if zone.state is State.INSTALLED:
            return Reply("", self.zerror("zone is already halted"))
        if zone.state not in KERNEL_STATES:
            raise self.fail(f"halt operation is invalid for zones in state '{zone.state.value}'")
        zone.state = State.DOWN

        def finish() -> Reply:
            self.world.to_installed(zone, event="halted")
            return Reply()

        return Pending(Reply(), finish)

    def mount(self, args: Sequence[str]) -> Reply:
        """The private ``mount`` subcommand (zoneadm.c ``mount_func``; pkg and upgrades use it): the zone's
        file systems are mounted in a scratch zone and the zone reads ``mounted``."""
        opts, rest = self.options("mount", args, "f")
        if rest:
            return Reply("", "", Z_USAGE)
        self.sanity("mount", force="-f" in opts)
        zone = self.zone
        if zone.state is not State.INSTALLED and not (zone.state is State.INCOMPLETE and "-f" in opts):
            raise Failed(self.zerror(f"mount operation is invalid for zones in state '{zone.state.value}'")
                         + self.zerror("call to zoneadmd failed"))
        zone.state = State.MOUNTED
        return Reply()

    def unmount(self, args: Sequence[str]) -> Reply:
        if args:
            return Reply("", "", Z_USAGE)
        self.sanity("unmount")
        if self.zone.state is not State.MOUNTED:
            raise self.fail("must be mounted before unmount.")
        self.zone.state = State.INSTALLED
        return Reply()

    def ready(self, args: Sequence[str]) -> Reply:
        _opts, rest = self.options("ready", args, "?X")
        if rest:
            raise Failed(sub_usage("ready"), Z_USAGE)
        self.sanity("ready")
        zone = self.zone
        if zone.state is State.READY:
            return Reply("", self.zerror("zone is already ready"))
        if zone.state is State.MOUNTED:
            raise Failed(self.zerror("ready operation is invalid for zones in state 'mounted'")
                         + self.zerror("call to zoneadmd failed"))
        if zone.state in KERNEL_STATES:
            self.world.to_installed(zone, event=None)
        self.world.to_ready(zone, event="readied")
        return Reply()

    def reboot(self, args: Sequence[str]) -> Result:
        _opts, rest = self.options("reboot", args, "?X")
        self.sanity("reboot", running=True)
        zone = self.zone
        if zone.state is State.READY:
            raise self.fail("reboot operation is invalid for zones in state 'ready'")
        self.world.to_installed(zone, event="rebooting")
        self.world.to_ready(zone, event=None, bootargs=" ".join(rest))
        return Pending(Reply(), lambda: self._booted(zone))

    def shutdown(self, args: Sequence[str]) -> Result:
        """zoneadm.c ``shutdown_func``: a graceful shutdown through the zone's own init (zoneadmd
        ``zone_graceful_shutdown``), waited for; ``-r`` boots it again."""
        opts, rest = self.options("shutdown", args, "?r")
        self.sanity("shutdown", running=True)
        zone = self.zone
        if zone.state is State.READY:
            raise self.fail("shutdown operation is invalid for zones in state 'ready'")
        self.world.to_shutting_down(zone)

        def finish() -> Reply:
            self.world.to_installed(zone, event="halted")
            if "-r" in opts:
                self.world.to_ready(zone, event="booting", bootargs=" ".join(rest))
                self.world.to_running(zone)
            return Reply()

        return Pending(Reply(), finish)

    def mark(self, args: Sequence[str]) -> Reply:
        """zoneadm.c ``mark_func``; Solaris 11.4 adds ``mark unavailable`` (zones.md §2)."""
        opts, rest = self.options("mark", args, "F")
        states = {"incomplete": State.INCOMPLETE, "configured": State.CONFIGURED, "installed": State.INSTALLED}
        if self.world.layout is Layout.SOLARIS11:
            states["unavailable"] = State.UNAVAILABLE
        if len(rest) != 1 or rest[0] not in states or (rest[0] in ("configured", "installed") and "-F" not in opts):
            raise Failed(sub_usage("mark"), Z_USAGE)
        self.sanity("mark", unsafe=True)
        self.zone.state = states[rest[0]]
        return Reply()

    def verify(self, args: Sequence[str]) -> Reply:
        if args:
            raise Failed(sub_usage("verify"), Z_USAGE)
        self.sanity("verify")
        if self.zone.state is State.INCOMPLETE:
            raise self.fail("zone is incomplete; uninstall required.")
        self.verify_zonepath("verify")
        return Reply()

    def verify_zonepath(self, command: str) -> None:
        """zoneadm.c ``validate_zonepath`` and ``crosscheck_zonepaths`` (the checks a simulation can fail),
        with ``verify_details``'s closing lines."""
        zone = self.zone
        path = zone.zonepath
        tail = f"could not verify zonepath {path} because of the above errors.\nzoneadm: zone {zone.name} failed to " \
               "verify\n"
        if not path.startswith("/"):
            raise Failed(f"{path} is not an absolute path.\n" + tail)
        for other in self.world.zones.values():
            if other is zone or other.state.rank < State.INSTALLED.rank or other.state is State.UNAVAILABLE:
                continue
            mine, theirs = path.rstrip("/") + "/", other.zonepath.rstrip("/") + "/"
            if mine.startswith(theirs) or theirs.startswith(mine):
                raise Failed(f"{zone.name} zonepath ({path}) and {other.name} zonepath ({other.zonepath}) overlap.\n"
                             + tail)
        storage = self.world.storage
        if zone.state is State.CONFIGURED and command != "attach" and storage.exists(f"{path}/root") \
                and storage.exists(f"{path}/SUNWdetached.xml"):
            raise Failed(f"Cannot {command} detached zone.\nUse attach or remove {path} directory.\n" + tail)

    # -- install and uninstall --

    def brand(self) -> "brands.Brand":
        brand = self.world.platform.brands.get(self.zone.brand)
        if brand is None:
            raise self.fail("missing or invalid brand")
        return brand

    def install(self, args: Sequence[str]) -> Result:
        """zoneadm.c ``install_func``: the zone goes incomplete, a ZFS zonepath is created
        (zfs.c ``create_zfs_zonepath``), the brand installs; NOTCOMPLETE undoes it all, USAGE leaves the
        zone incomplete (install_func returns without resetting the state)."""
        self.sanity("install", unsafe=True)
        brand = self.brand()
        opts, rest = self.options("install", args, "a:c:d:e:hk:m:P:psuvx:z:", strict=False)
        self.verify_zonepath("install")
        zone = self.zone
        zone.state = State.INCOMPLETE
        first = self.world.create_zonepath(zone)

        def finish() -> Reply:
            world = self.world
            if "-a" in opts or "-d" in opts:
                path = (opts.get("-a") or opts.get("-d") or [""])[0]
                kind = "archive" if "-a" in opts else "existing" if path == "-" else "directory"
                source = ImageSource(kind, path, world.file_info(path) if kind != "existing"
                                     else world.file_info(f"{zone.zonepath}/root"))
                if "-a" in opts and "-d" in opts:
                    hook = brands.HookResult().fail(ZONE_SUBPROC_USAGE, "ERROR: -a and -d may not be used together.")
                else:
                    hook = brands.install_image(world.platform, zone, brand, source, unconfig="-u" in opts,
                                                preserve="-p" in opts, verbose="-v" in opts,
                                                root_has_data=world.storage.exists(f"{zone.zonepath}/root"),
                                                log_id=world.token(), pid=world.pid())
            elif brand.repository:
                hook = brands.install_repository(world.platform, zone, brand, world.install_seconds(), world.stamp())
            else:
                hook = brands.HookResult().fail(ZONE_SUBPROC_USAGE, "ERROR: you must specify an installation source "
                                                f"using '-a', '-d' or '-r'.\n{brands.image_usage(brand)}")
            out = "".join(hook.stdout)
            if hook.status == ZONE_SUBPROC_OK:
                world.set_image(zone, hook.image)
                zone.state = State.INSTALLED
                return Reply(out)
            if hook.status == ZONE_SUBPROC_USAGE:
                return Reply(out, sub_usage("install"), Z_ERR)
            if hook.status == ZONE_SUBPROC_NOTCOMPLETE:
                out += world.cleanup_zonepath(zone)
                zone.state = State.CONFIGURED
            return Reply(out, "", Z_ERR)

        return Pending(Reply(first), finish)

    def uninstall(self, args: Sequence[str]) -> Result:
        """zoneadm.c ``uninstall_func``: -F or a terminal to ask on; the zonepath dataset is destroyed."""
        opts, _rest = self.options("uninstall", args, "F", strict=False)
        self.sanity("uninstall", unsafe=True)
        if "-F" not in opts:
            raise self.fail("Input not from terminal and -F not specified: uninstall not done.")
        zone = self.zone
        self.world.console(zone.name).notice("uninstalling")
        zone.state = State.INCOMPLETE

        def finish() -> Reply:
            out = self.world.cleanup_zonepath(zone)
            zone.state = State.CONFIGURED
            return Reply(out)

        return Pending(Reply(), finish)

    # -- clone and move --

    def clone(self, args: Sequence[str]) -> Result:
        """zoneadm.c ``clone_func`` with zfs.c ``clone_zfs`` (a new SUNWzoneN snapshot of the source) and
        ``clone_snapshot_zfs`` (``-s SNAPSHOT``)."""
        opts, rest = self.options("clone", args, "m:s:", strict=False)
        if len(rest) != 1:
            raise Failed(sub_usage("clone"), Z_USAGE)
        source_name = rest[0]
        self.sanity("clone", unsafe=True)
        self.verify_zonepath("clone")
        if source_name == "global":
            raise self.fail("clone operation is invalid for the global zone.")
        if source_name.startswith("SUNW"):
            raise self.fail("clone operation is invalid for zones starting with SUNW.")
        source = self.world.zones.get(source_name)
        if source is None:
            raise Failed(f"zoneadm: {source_name}: could not get state: No such zone configured\n")
        if source.state in KERNEL_STATES:
            raise self.fail(f"clone operation is invalid for {source.state.value} zones.")
        if source.state is not State.INSTALLED:
            raise Failed(f"zoneadm: zone {source_name} is {source.state.value}; installed is required.\n")
        zone = self.zone
        if source.brand != zone.brand:
            raise Failed(f"zoneadm: Zones '{source_name}' and '{zone.name}' have different brand types.\n")
        self.brand()
        warnings = "".join(f"WARNING: network address '{a}' is configured in both zones.\n"
                           for a in self.world.shared_addresses(source, zone))
        method = (opts.get("-m") or [None])[0]
        zone.state = State.INCOMPLETE
        if method is not None and method != "copy":
            raise Failed(warnings + sub_usage("clone"))

        def finish() -> Reply:
            snapshot = (opts.get("-s") or [None])[0]
            out, problem = self.world.clone_zonepath(source, zone, snapshot=snapshot, copy=method == "copy")
            if problem:
                return Reply(out, problem, Z_ERR)
            zone.state = State.INSTALLED
            return Reply(out)

        return Pending(Reply("", warnings), finish)

    def move(self, args: Sequence[str]) -> Reply:
        """zoneadm.c ``move_func``: a ZFS zonepath moves by changing its mountpoint (zfs.c ``move_zfs``)."""
        _opts, rest = self.options("move", args, "?")
        if len(rest) != 1:
            raise Failed(sub_usage("move"), Z_USAGE)
        new = rest[0]
        self.sanity("move", unsafe=True)
        self.verify_zonepath("move")
        if not new.startswith("/"):
            raise Failed(f"{new} is not an absolute path.\n")
        zone = self.zone
        for other in self.world.zones.values():
            if other is not zone and other.state.rank >= State.INSTALLED.rank and other.state is not State.UNAVAILABLE:
                mine, theirs = new.rstrip("/") + "/", other.zonepath.rstrip("/") + "/"
                if mine.startswith(theirs) or theirs.startswith(mine):
                    raise Failed(f"{zone.name} zonepath ({new}) and {other.name} zonepath ({other.zonepath}) "
                                 "overlap.\n")
        if self.world.storage.children(new):
            raise Failed(f"could not move zone to {new}: directory not empty\n")
        self.world.move_zonepath(zone, new)
        return Reply()

    # -- detach and attach --

    def detach(self, args: Sequence[str]) -> Reply:
        """zoneadm.c ``detach_func``: SUNWdetached.xml is written in the zonepath and the zone becomes
        configured; ``-n`` prints the manifest instead."""
        opts, _rest = self.options("detach", args, "n", strict=False)
        if "-n" in opts:
            if self.target is None:
                raise self.fail("no zone specified")
            if self.target == "global":
                raise self.fail("detach operation is invalid for the global zone.")
            return Reply(self.world.detach_manifest(self.zone))
        self.sanity("detach", unsafe=True)
        self.brand()
        self.world.detach(self.zone)
        return Reply()

    def attach(self, args: Sequence[str]) -> Result:
        """zoneadm.c ``attach_func``: ``-F`` forces without validation, ``-n PATH`` is a dry run, ``-U`` is
        turned into ``-u`` for the brand and allows an incomplete zone; the brand validates (and with -u
        updates) the zone's software."""
        args = list(args)
        force, dry, forced_update, brand_options = False, None, False, []
        at = 0
        while at < len(args) and args[at].startswith("-") and args[at] != "--":
            flag = args[at]
            if flag == "-F":
                force = True
            elif flag == "-n" and at + 1 < len(args):
                dry, at = args[at + 1], at + 1
            elif flag in ("-U", "-u"):
                forced_update = forced_update or flag == "-U"
                brand_options.append("-u")
            elif flag in ("-b", "-a", "-d", "-r") and at + 1 < len(args):
                brand_options.append(flag)
                at += 1
            else:
                brand_options.append(flag)
            at += 1
        if force and dry is not None:
            raise self.fail("-F and -n flags are mutually exclusive")
        if dry is not None:
            return self._attach_dry(dry)
        self.sanity("attach", unsafe=True, force=forced_update)
        zone = self.zone
        brand = self.brand()
        if force:
            self.world.attached(zone, None)
            return Reply()

        def finish() -> Reply:
            world = self.world
            hook = brands.attach(world.platform, zone, brand, world.image(zone), world.zonepath_dataset_name(zone),
                                 update="-u" in brand_options, options=brand_options, log_id=world.token())
            out = "".join(hook.stdout)
            if hook.status == ZONE_SUBPROC_OK:
                world.attached(zone, hook.image)
                return Reply(out)
            return Reply(out, sub_usage("attach") if hook.status == ZONE_SUBPROC_USAGE else "", Z_ERR)

        return Pending(Reply(), finish)

    def _attach_dry(self, path: str) -> Reply:
        info = self.world.file_info(path)
        if info is None or info[0] != "manifest":
            raise self.fail(f"could not open manifest path {path}: No such file or directory" if info is None
                            else f"{path} is not an XML file")
        brand = self.world.platform.brands.get(info[1].get("brand", ""))
        if brand is None:
            raise self.fail("missing or invalid brand")
        if not brand.attach_update:
            return Reply("ERROR: The -n option is not yet implemented.\n", "", Z_ERR)
        return Reply()


#: subcommands that work on one zone, by handler name; ``list`` and ``help`` work without -z
_HANDLERS = ("boot", "halt", "ready", "reboot", "shutdown", "list", "verify", "install", "uninstall", "clone",
             "move", "detach", "attach", "mark", "mount", "unmount")


def run_zoneadm(world: "ZonesWorld", args: Sequence[str]) -> Result:
    """``zoneadm [-z ZONE] [-u UUID] SUBCOMMAND ...`` (zoneadm.c ``main`` and ``parse_and_run``)."""
    try:
        opts, rest = getopt.getopt(list(args), "?u:z:R:")
    except getopt.GetoptError:
        return Reply("", usage(False), Z_USAGE)
    found = dict(opts)
    if "-?" in found:
        return Reply(usage(True), "", Z_USAGE)
    if not rest:
        return Reply("", usage(False), Z_USAGE)
    target = found.get("-z")
    if found.get("-u"):
        by_uuid = next((z.name for z in world.zones.values() if z.uuid == found["-u"]), None)
        target = by_uuid or target
    if target is not None and target != "global" and target not in world.zones:
        return Reply("", f"zoneadm: {target}: No such zone configured\n", Z_ERR)
    command, command_args = rest[0], rest[1:]
    if command == "help":
        return Reply("".join(sub_usage(c) for c in command_args if c in SHELP) if command_args else usage(True))
    if command not in _HANDLERS:
        return Reply("", usage(False), Z_USAGE)
    runner = Zoneadm(world, target)
    try:
        result = getattr(runner, command)(command_args)
    except Failed as failure:
        return Reply(failure.stdout, failure.stderr, failure.status)
    if isinstance(result, Pending):
        finish = result.finish

        def guarded() -> Reply:
            try:
                return finish()
            except Failed as failure:
                return Reply(failure.stdout, failure.stderr, failure.status)

        return Pending(result.first, guarded)
    return result
