"""The guest at the other end of a domain's virtual console: OpenBoot, then Solaris with a login prompt and a
tiny shell.

Every guest console of the simulator lives on its `Domain` (so it moves when the domain migrates) and
knows the mode the guest is in: powered off, at OpenBoot's ``{0} ok`` prompt, or running Solaris (at
``login:``, ``Password:`` or a shell). Typed bytes go to `Console.feed`; what the guest prints goes to every
listener (vntsd's clients), as the guest would print it: character echo, CR LF line ends, and the few
escape sequences of a real boot (a progress counter rewritten with CR and ``ESC [ K``).

Everything the guest prints is RECONSTRUCTED from the shape of SPARC OpenBoot and Solaris 11.4 consoles
(no complete capture of an LDoms guest console is in ldm.md): the ``NOTICE:`` lines OpenBoot prints as a
guest starts, the banner (``SPARC T7-1, No Keyboard``, memory, serial number, Ethernet address and host ID,
which are the domain's), ``printenv``'s three columns, ``Boot device: … File and args:``, Solaris's
release lines, ``HOST console login:``, ``uname -a`` of Solaris 11.4 on sun4v, ``uptime``'s Solaris format,
and Forth's ``word ?`` for an unknown word.
"""

from __future__ import annotations

import codecs
import shlex
import time
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Domain
    from .world import LdomsWorld

CRLF = "\r\n"
OK_PROMPT = "{0} ok "
OBP_VERSION = "4.43.4"
SOLARIS_VERSION = "11.4.0.15.0"
#: OpenBoot's NVRAM variables of a guest and their defaults; ``ldm set-var`` and ``setenv`` override them
OBP_DEFAULTS = (
    ("ttya-rts-dtr-off", "false"), ("ttya-ignore-cd", "true"), ("keyboard-layout", ""), ("reboot-command", ""),
    ("security-mode", "none"), ("security-password", ""), ("security-#badlogins", "0"), ("verbosity", "min"),
    ("diag-switch?", "false"), ("local-mac-address?", "true"), ("fcode-debug?", "false"),
    ("scsi-initiator-id", "7"), ("oem-logo", ""), ("oem-logo?", "false"), ("oem-banner", ""),
    ("oem-banner?", "false"), ("ansi-terminal?", "true"), ("screen-#columns", "80"), ("screen-#rows", "34"),
    ("ttya-mode", "9600,8,n,1,-"), ("output-device", "virtual-console"), ("input-device", "virtual-console"),
    ("auto-boot-on-error?", "false"), ("load-base", "16384"), ("auto-boot?", "true"),
    ("network-boot-arguments", ""), ("boot-command", "boot"), ("boot-file", ""), ("boot-device", "disk net"),
    ("multipath-boot?", "false"), ("boot-device-index", "0"), ("use-nvramrc?", "false"), ("nvramrc", ""),
    ("error-reset-recovery", "boot"),
)
CHANNEL_DEVICES = "/virtual-devices@100/channel-devices@200"
SHUTDOWN = ("svc.startd: The system is coming down.  Please wait.",
            "svc.startd: 126 system services are now being stopped.",
            "svc.startd: The system is down.",
            "syncing file systems... done")


class Mode(str, Enum):
    OFF = "off"
    OK = "ok"
    LOGIN = "login"
    PASSWORD = "password"
    SHELL = "shell"


def lines(*rows: str) -> str:
    return "".join(row + CRLF for row in rows)


class Console:
    """One guest's console. ``listeners`` are called with the bytes the guest prints."""

    def __init__(self) -> None:
        self.mode = Mode.OFF
        self.line = ""
        self.user = ""
        #: the guest's own host name, set when Solaris first boots (the domain's name then); it stays when the
        #: domain migrates under another name
        self.hostname = ""
        self.listeners: list[Callable[[bytes], None]] = []
        self._after_cr = False
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    @property
    def solaris(self) -> bool:
        """Solaris is running (at login, password or a shell)."""
        return self.mode in (Mode.LOGIN, Mode.PASSWORD, Mode.SHELL)

    @property
    def at_ok(self) -> bool:
        """OpenBoot's ``ok`` prompt: the guest runs no operating system."""
        return self.mode is Mode.OK

    def emit(self, text: str) -> None:
        data = text.encode("utf-8")
        for listener in list(self.listeners):
            listener(data)

    # -- what the world does to the guest --

    def booted(self, hostname: str) -> None:
        """A guest already running Solaris (the demo's): at its login prompt, silently."""
        self.mode, self.line, self.user = Mode.LOGIN, "", ""
        self.hostname = self.hostname or hostname

    def host(self, domain: Domain) -> str:
        return self.hostname or domain.name

    def power_on(self, world: LdomsWorld, domain: Domain) -> None:
        """``ldm start``: OpenBoot comes up, prints its banner and boots if ``auto-boot?`` is true."""
        self.line, self.user = "", ""
        self.mode = Mode.OK
        self.emit(lines("", "NOTICE: Entering OpenBoot.", "NOTICE: Fetching Guest MD from HV.",
                        "NOTICE: Starting additional cpus.", "NOTICE: Initializing LDC services.",
                        "NOTICE: Probing PCI devices.", "NOTICE: Finished PCI probing.") + self.banner(domain))
        if self.variable(domain, "auto-boot?") == "true":
            self.boot(world, domain, "")
        else:
            self.emit(CRLF + OK_PROMPT)

    def power_off(self, *, graceful: bool) -> None:
        """``ldm stop``: Solaris shuts down first unless forced; then the guest prints nothing more."""
        if graceful and self.solaris:
            self.emit(CRLF + lines(*SHUTDOWN))
        self.mode, self.line = Mode.OFF, ""

    def reboot(self, world: LdomsWorld, domain: Domain) -> None:
        """``ldm stop -r``: a clean Solaris shutdown, then OpenBoot again."""
        if self.solaris:
            self.emit(CRLF + lines(*SHUTDOWN, "rebooting..."))
        self.power_on(world, domain)

    # -- OpenBoot --

    @staticmethod
    def variable(domain: Domain, name: str) -> str:
        return domain.variables.get(name, dict(OBP_DEFAULTS).get(name, ""))

    @staticmethod
    def banner(domain: Domain) -> str:
        hostid = int(domain.hostid, 16)
        mac = ":".join(f"{int(octet, 16):x}" for octet in domain.mac.split(":"))
        return lines("", "SPARC T7-1, No Keyboard",
                     "Copyright (c) 1998, 2019, Oracle and/or its affiliates. All rights reserved.",
                     f"OpenBoot {OBP_VERSION}, {domain.memory / (1 << 30):.4f} GB memory available, "
                     f"Serial #{hostid & 0x0FFFFFFF}.",
                     f"Ethernet address {mac}, Host ID: {hostid:08x}.", "")

    @staticmethod
    def aliases(domain: Domain) -> list[tuple[str, str]]:
        """OpenBoot's device aliases in a guest: ``disk``/``net`` for id 0, and one per vdisk and vnet."""
        found = []
        disks = sorted(domain.vdisks, key=lambda d: d.id)
        nets = sorted(domain.vnets, key=lambda n: n.id)
        found += [(disk.name, f"{CHANNEL_DEVICES}/disk@{disk.id}") for disk in disks]
        found += [(vnet.name, f"{CHANNEL_DEVICES}/network@{vnet.id}") for vnet in nets]
        if any(disk.id == 0 for disk in disks):
            found.append(("disk", f"{CHANNEL_DEVICES}/disk@0"))
        if any(vnet.id == 0 for vnet in nets):
            found.append(("net", f"{CHANNEL_DEVICES}/network@0"))
        return found

    def boot(self, world: LdomsWorld, domain: Domain, device: str) -> None:
        """Try each boot device in turn (``boot-device`` when none is given): a virtual disk boots Solaris
        to its login prompt; the network times out; nothing left means the ``ok`` prompt."""
        aliases = dict(self.aliases(domain))
        for spec in (device.split()[:1] or self.variable(domain, "boot-device").split()):
            path = aliases.get(spec, spec)
            self.emit(f"Boot device: {spec}  File and args:" + CRLF)
            if "/disk@" in path and any(path.endswith(f"/disk@{disk.id}") or path.endswith(f"/disk@{disk.id}:a")
                                        for disk in domain.vdisks):
                self._solaris_boot(domain)
                return
            if "/network@" in path and domain.vnets:
                mac = ":".join(f"{int(octet, 16):x}" for octet in domain.vnets[0].mac.split(":"))
                self.emit(lines(f"Requesting Internet Address for {mac}", "Timed out waiting for BOOTP/DHCP reply"))
            else:
                self.emit(lines("Can't open boot device", ""))
        self.emit(CRLF + OK_PROMPT)

    def _solaris_boot(self, domain: Domain) -> None:
        self.hostname = self.host(domain)
        progress = "".join(f"\rLoading smf(7) service descriptions: {n}/3\x1b[K" for n in (1, 2, 3))
        self.emit(lines(f"SunOS Release 5.11 Version {SOLARIS_VERSION} 64-bit",
                        "Copyright (c) 1983, 2018, Oracle and/or its affiliates. All rights reserved.")
                  + progress + CRLF + lines(f"Hostname: {self.hostname}"))
        self.mode = Mode.LOGIN
        self.emit(self.login_prompt(domain))

    def login_prompt(self, domain: Domain) -> str:
        return f"{CRLF}{self.host(domain)} console login: "

    def _printenv(self, domain: Domain, names: list[str]) -> str:
        values = dict(OBP_DEFAULTS) | domain.variables
        if names:
            return "".join(lines(f"{name + ' =':<24}{values[name]}") if name in values
                           else lines(f"{name} ?") for name in names)
        defaults = dict(OBP_DEFAULTS)
        rows = [f"{'Variable Name':<24}{'Value':<31}Default Value", ""]
        for name, value in values.items():
            default = defaults.get(name, "")
            rows.append(f"{name:<24}{value:<31}{default}".rstrip() if value or default else name)
        return lines(*rows)

    def _ok(self, world: LdomsWorld, domain: Domain, text: str) -> None:
        words = text.split()
        command, args = (words[0], words[1:]) if words else ("", [])
        if command == "banner":
            self.emit(self.banner(domain))
        elif command == "printenv":
            self.emit(self._printenv(domain, args))
        elif command == "setenv" and len(args) >= 2:
            domain.variables[args[0]] = " ".join(args[1:])
            self.emit(lines(f"{args[0] + ' =':<24}{' '.join(args[1:])}"))
        elif command == "devalias" and not args:
            self.emit(lines(*(f"{alias:<24} {path}" for alias, path in self.aliases(domain))))
        elif command == "boot":
            self.boot(world, domain, " ".join(args))
            return
        elif command == "reset-all":
            self.emit(lines("Resetting..."))
            self.power_on(world, domain)
            return
        elif command:
            self.emit(lines(f"{command} ?"))
        self.emit(OK_PROMPT)

    # -- Solaris --

    def _shell_prompt(self, domain: Domain) -> str:
        return f"{self.user}@{self.host(domain)}:~{'#' if self.user == 'root' else '$'} "

    def _uptime(self, world: LdomsWorld, domain: Domain) -> str:
        live = world.live(domain)
        seconds = live.uptime if live is not None else 0
        days, rest = divmod(seconds, 86400)
        hours, minutes = rest // 3600, rest % 3600 // 60
        up = f"{days} day(s), " if days else ""
        up += f"{hours:2d}:{minutes:02d}," if hours else f"{minutes} min(s),"
        clock = time.strftime("%I:%M%p").lstrip("0").lower()
        return f"{clock:>8}  up {up}  1 user,  load average: 0.01, 0.02, 0.02"

    def _shell(self, world: LdomsWorld, domain: Domain, text: str) -> None:
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        command, args = (words[0], words[1:]) if words else ("", [])
        uname = {"-s": "SunOS", "-n": self.host(domain), "-r": "5.11", "-v": SOLARIS_VERSION, "-m": "sun4v",
                 "-p": "sparc", "-i": "sun4v"}
        if command in ("exit", "logout"):
            self.mode, self.user = Mode.LOGIN, ""
            self.emit(self.login_prompt(domain))
            return
        if command == "uname":
            flags = list(uname) if "-a" in args else [a for a in args if a in uname] or ["-s"]
            self.emit(lines(" ".join(uname[flag] for flag in uname if flag in flags)))
        elif command == "hostname":
            self.emit(lines(self.host(domain)))
        elif command == "echo":
            self.emit(lines(" ".join(args)))
        elif command == "uptime":
            self.emit(lines(self._uptime(world, domain)))
        elif (command == "init" and args[:1] in (["0"], ["5"], ["6"])) or command in ("halt", "poweroff", "reboot"):
            level = args[0] if command == "init" else {"halt": "0", "poweroff": "5", "reboot": "6"}[command]
            self.emit(lines(*SHUTDOWN))
            if level == "6":
                self.emit(lines("rebooting..."))
                self.power_on(world, domain)
            elif level == "5":
                self.mode, self.user = Mode.OFF, ""
                world.guest_powered_off(domain)
            else:
                self.mode, self.user = Mode.OK, ""
                self.emit(lines("Program terminated") + OK_PROMPT)
            return
        elif command:
            self.emit(lines(f"-bash: {command}: command not found"))
        self.emit(self._shell_prompt(domain))

    # -- typing --

    def feed(self, world: LdomsWorld, domain: Domain, data: bytes) -> None:
        """Bytes typed on the console: echoed and acted on as the guest's current program would."""
        if self.mode is Mode.OFF:
            return
        for char in self._decoder.decode(data):
            after_cr, self._after_cr = self._after_cr, char == "\r"
            if char == "\n" and after_cr:
                continue
            if char in "\r\n":
                entered, self.line = self.line, ""
                self.emit(CRLF)
                self._enter(world, domain, entered)
                if self.mode is Mode.OFF:
                    return
            elif char in "\x7f\b":
                if self.line:
                    self.line = self.line[:-1]
                    if self.mode is not Mode.PASSWORD:
                        self.emit("\b \b")
            elif char == "\x03" and self.mode is Mode.SHELL:
                self.line = ""
                self.emit("^C" + CRLF + self._shell_prompt(domain))
            elif char >= " ":
                self.line += char
                if self.mode is not Mode.PASSWORD:
                    self.emit(char)

    def _enter(self, world: LdomsWorld, domain: Domain, text: str) -> None:
        if self.mode is Mode.OK:
            self._ok(world, domain, text.strip())
        elif self.mode is Mode.LOGIN:
            if text.strip():
                self.user, self.mode = text.strip(), Mode.PASSWORD
                self.emit("Password: ")
            else:
                self.emit(self.login_prompt(domain))
        elif self.mode is Mode.PASSWORD:
            if text:
                self.mode = Mode.SHELL
                self.emit(lines("Oracle Corporation      SunOS 5.11      11.4    August 2018")
                          + self._shell_prompt(domain))
            else:
                self.mode, self.user = Mode.LOGIN, ""
                self.emit(lines("Login incorrect") + self.login_prompt(domain))
        elif self.mode is Mode.SHELL:
            self._shell(world, domain, text.strip())
