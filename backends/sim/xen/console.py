"""A guest's console as ``xl console`` / ``xm console`` / ``virsh console`` attach to it: a login prompt
and a tiny shell, byte by byte as a terminal sees them.

xen.md §6: the default escape is ``^]`` (0x1d), which detaches (xenconsole restores the terminal and
exits 0, printing nothing); xenconsole itself prints nothing on attach, so the screen stays blank until a
key reaches the guest (the first Enter brings up its getty). ``virsh console`` first prints ``Connected to
domain 'NAME'`` and ``Escape character is ^] (Ctrl + ])`` (libvirt.md §1.3, CAPTURED). The guest side is
RECONSTRUCTED: a getty banner for its OS (Debian, CentOS, Solaris), ``NAME login:``, ``Password:``
without echo, a prompt, a few commands (``hostname``, ``uname``, ``uptime``, ``whoami``, ``id``, ``pwd``,
``ls``, ``cat /etc/hostname``, ``echo``, ``date``, ``free``), ``exit``/``logout``/Ctrl-D back to the login
prompt, and ``poweroff``/``reboot``, which really shut the domain down (the console ends when the domain
goes away). Lines end in CR LF; the guest's tty echoes, so the session does too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .model import Domain
from .world import XenWorld

ESCAPE = 0x1D
BANNERS = {
    "debian": "Debian GNU/Linux 12 {name} hvc0",
    "centos": "CentOS release 6.10 (Final)\r\nKernel 2.6.32-754.el6.x86_64 on an x86_64",
    "solaris": "SunOS Release 5.11 Version snv_111b 64-bit",
}


@dataclass(slots=True)
class _Line:
    text: str = ""


class ConsoleSession:
    """Feed it the bytes the user types; it returns what the terminal shows. ``detached`` is set by the
    escape character."""

    def __init__(self, world: XenWorld, domain: Domain) -> None:
        self.world = world
        self.domain = domain
        self.name = domain.name
        self.os = domain.config.os if domain.config.os in BANNERS else "debian"
        self.state = "idle"
        self.user = ""
        self.line = _Line()
        self.detached = False
        self._escape = False

    def attach_text(self, tool: str) -> bytes:
        if tool == "virsh":
            return f"Connected to domain '{self.name}'\r\nEscape character is ^] (Ctrl + ])\r\n".encode()
        return b""

    def _prompt(self) -> str:
        if self.state != "shell":
            return f"{self.name} login: " if self.os != "solaris" else f"{self.name} console login: "
        root = self.user == "root"
        if self.os == "centos":
            return f"[{self.user}@{self.name} ~]{'#' if root else '$'} "
        return f"{self.user}@{self.name}:~{'#' if root else '$'} "

    def _login_banner(self) -> str:
        return "\r\n" + BANNERS[self.os].format(name=self.name) + "\r\n\r\n" + self._prompt()

    def feed(self, data: bytes) -> bytes:
        out: list[str] = []
        for byte in data:
            if byte == ESCAPE:
                self.detached = True
                break
            if self._escape:  # the rest of an escape sequence (arrow keys): ignored
                if 0x40 <= byte <= 0x7E and byte != ord("["):
                    self._escape = False
                continue
            if byte == 0x1B:
                self._escape = True
                continue
            out.append(self._key(byte))
        return "".join(out).encode("utf-8", "replace")

    def _key(self, byte: int) -> str:
        char = chr(byte)
        if char in "\r\n":
            return self._enter()
        if byte == 0x03:  # ^C
            self.line.text = ""
            if self.state == "idle":
                return ""
            if self.state == "password":
                self.state = "login"
            return "^C\r\n" + self._prompt()
        if byte == 0x04:  # ^D
            if self.state == "shell" and not self.line.text:
                self.state = "login"
                return "logout\r\n" + self._login_banner()
            return ""
        if byte in (0x7F, 0x08):
            if not self.line.text:
                return ""
            self.line.text = self.line.text[:-1]
            return "" if self.state == "password" else "\b \b"
        if byte < 0x20 or self.state == "idle":
            return ""
        self.line.text += char
        return "" if self.state == "password" else char

    def _enter(self) -> str:
        text, self.line.text = self.line.text, ""
        if self.state == "idle":
            self.state = "login"
            return self._login_banner()
        if self.state == "login":
            if not text.strip():
                return "\r\n" + self._prompt()
            self.user = text.strip()
            self.state = "password"
            return "\r\nPassword: "
        if self.state == "password":
            if not text:
                self.state = "login"
                return "\r\n\r\nLogin incorrect\r\n" + self._prompt()
            self.state = "shell"
            last = time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(time.time() - 3600))
            return f"\r\nLast login: {last} on hvc0\r\n" + self._prompt()
        output = self._command(text.strip())
        return "\r\n" + output + ("" if self.state != "shell" else self._prompt())

    def _command(self, line: str) -> str:
        words = line.split()
        if not words:
            return ""
        command, args = words[0], words[1:]
        domain = self.domain
        solaris = self.os == "solaris"
        release = "5.11" if solaris else "6.1.0-28-amd64"
        if command in ("exit", "logout"):
            self.state = "login"
            return "logout\r\n" + self._login_banner()
        if command in ("poweroff", "halt", "shutdown", "init") and (command != "init" or args[:1] in (["0"], ["5"])):
            self.world.request_shutdown(domain)
            self.state = "down"
            return "\r\nBroadcast message from root@" + self.name + " (hvc0):\r\n\r\nThe system is going down for " \
                "power-off NOW!\r\n[  OK  ] Reached target Power-Off.\r\n"
        if command == "reboot" or (command == "init" and args[:1] == ["6"]):
            self.world.request_shutdown(domain, reboot=True)
            self.state = "down"
            return "\r\nBroadcast message from root@" + self.name + " (hvc0):\r\n\r\nThe system is going down for " \
                "reboot NOW!\r\n"
        uptime_s = int(self.world.clock() - domain.created_at)
        answers = {
            "hostname": self.name,
            "whoami": self.user,
            "id": "uid=0(root) gid=0(root) groups=0(root)" if self.user == "root" else
                  f"uid=1000({self.user}) gid=1000({self.user}) groups=1000({self.user})",
            "pwd": "/root" if self.user == "root" else f"/home/{self.user}",
            "ls": "",
            "date": time.strftime("%a %b %e %H:%M:%S UTC %Y", time.gmtime()),
            "uptime": f" {time.strftime('%H:%M:%S', time.gmtime())} up {uptime_s // 86400} days, "
                      f"{uptime_s % 86400 // 3600:2d}:{uptime_s % 3600 // 60:02d},  1 user,  load average: "
                      f"{domain.load.at(self.world.clock()):.2f}, {domain.load.mean:.2f}, {domain.load.mean:.2f}",
            "free": "               total        used        free      shared  buff/cache   available\r\n"
                    f"Mem:      {domain.mem_kb:>10} {domain.mem_kb // 4:>11} {domain.mem_kb // 2:>11} "
                    f"{1024:>11} {domain.mem_kb // 4:>11} {domain.mem_kb * 2 // 3:>11}\r\n"
                    "Swap:              0           0           0",
        }
        if command == "echo":
            return " ".join(args) + "\r\n"
        if command == "uname":
            if "-a" in args:
                return (f"SunOS {self.name} 5.11 snv_111b i86pc i386 i86xpv\r\n" if solaris else
                        f"Linux {self.name} {release} #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 x86_64 GNU/Linux\r\n")
            if "-r" in args:
                return release + "\r\n"
            if "-n" in args:
                return self.name + "\r\n"
            return ("SunOS" if solaris else "Linux") + "\r\n"
        if (command == "cat" and args == ["/etc/hostname"]) or (command == "cat" and args == ["/etc/nodename"]):
            return self.name + "\r\n"
        if command == "cat":
            return "".join(f"cat: {a}: No such file or directory\r\n" for a in args)
        if command == "clear":
            return "\x1b[H\x1b[2J"
        if command in answers:
            text = answers[command]
            return text + "\r\n" if text else ""
        return f"-bash: {command}: command not found\r\n"
