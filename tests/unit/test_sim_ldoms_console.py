"""The guest console and the telnet client on their own, byte for byte: line editing, CR LF, what each
program answers, and telnet's command mode. (Through SSH and vntsd: tests/integration/test_sim_ldoms_console.py.)"""

from __future__ import annotations

import pytest

from hvdeck.backends.sim.ldoms import LdomsWorld, Mode
from hvdeck.backends.sim.ldoms.telnet import Session


@pytest.fixture
def world() -> LdomsWorld:
    return LdomsWorld.demo("t7-a", 1, clock=lambda: 1000.0)


class Screen:
    """What one listener of a console receives."""

    def __init__(self) -> None:
        self.data = b""

    def __call__(self, data: bytes) -> None:
        self.data += data

    def take(self) -> bytes:
        data, self.data = self.data, b""
        return data


def attach(world: LdomsWorld, name: str) -> Screen:
    screen = Screen()
    world.domains[name].console.listeners.append(screen)
    return screen


def type_(world: LdomsWorld, name: str, data: bytes) -> None:
    domain = world.domains[name]
    domain.console.feed(world, domain, data)


def test_line_editing_and_line_ends(world):
    screen = attach(world, "ldg-web1")
    type_(world, "ldg-web1", b"rooX\x7ft\r\n")
    assert screen.take() == b"rooX\b \bt\r\nPassword: ", "backspace rubs out; CR LF is one Enter"
    type_(world, "ldg-web1", b"pw\x7f\x7f\r")
    assert screen.take() == b"\r\nLogin incorrect\r\n\r\nldg-web1 console login: ", "an empty password is refused"
    type_(world, "ldg-web1", b"operator\rpw\n")
    assert screen.take().endswith(b"operator@ldg-web1:~$ "), "a user who is not root gets $"
    type_(world, "ldg-web1", b"sleep 100\x03")
    assert screen.take() == b"sleep 100^C\r\noperator@ldg-web1:~$ "
    type_(world, "ldg-web1", "echo héllo wörld\r".encode())
    assert screen.take().decode() == "echo héllo wörld\r\nhéllo wörld\r\noperator@ldg-web1:~$ "
    type_(world, "ldg-web1", b"prstat\r")
    assert screen.take() == b"prstat\r\n-bash: prstat: command not found\r\noperator@ldg-web1:~$ "
    type_(world, "ldg-web1", b"uname -n -s\runame\r")
    assert screen.take() == b"uname -n -s\r\nSunOS ldg-web1\r\noperator@ldg-web1:~$ uname\r\nSunOS\r\noperator@ldg-web1:~$ "


def test_a_powered_off_guest_ignores_keys(world):
    screen = attach(world, "ldg-test")
    type_(world, "ldg-test", b"banner\r")
    assert screen.take() == b"" and world.domains["ldg-test"].console.mode is Mode.OFF


def test_openboot_without_a_disk_cannot_boot(world):
    world.run_line("ldm add-domain bare; ldm set-vcpu 1 bare; ldm set-mem 1G bare; ldm bind bare")
    screen = attach(world, "bare")
    assert world.run_line("ldm start bare").exit_status == 0
    started = screen.take().decode()
    assert started.endswith("Boot device: disk  File and args:\r\nCan't open boot device\r\n\r\n"
                            "Boot device: net  File and args:\r\nCan't open boot device\r\n\r\n\r\n{0} ok ")
    assert world.run_line("ldm list -p bare").stdout.splitlines()[1].split("|")[3] == "flags=-t----"
    type_(world, "bare", b"devalias\r")
    assert screen.take() == b"devalias\r\n{0} ok ", "no devices, no aliases"


def test_devalias_printenv_of_one_variable_and_reset(world):
    world.run_line("ldm stop ldg-web1; ldm set-var auto-boot?=false ldg-web1; ldm start ldg-web1")
    screen = attach(world, "ldg-web1")
    type_(world, "ldg-web1", b"devalias\r")
    assert screen.take().decode() == (
        "devalias\r\nvdisk0                   /virtual-devices@100/channel-devices@200/disk@0\r\n"
        "vnet0                    /virtual-devices@100/channel-devices@200/network@0\r\n"
        "disk                     /virtual-devices@100/channel-devices@200/disk@0\r\n"
        "net                      /virtual-devices@100/channel-devices@200/network@0\r\n{0} ok ")
    type_(world, "ldg-web1", b"printenv boot-device\r")
    assert screen.take() == b"printenv boot-device\r\nboot-device =           vdisk0\r\n{0} ok "
    type_(world, "ldg-web1", b"reset-all\r")
    assert screen.take().startswith(b"reset-all\r\nResetting...\r\n\r\nNOTICE: Entering OpenBoot.\r\n")


def run_telnet(world: LdomsWorld, args: list[str], keys: bytes = b"", *, pty: bool = True) -> tuple[bytes, list[int]]:
    out, status = Screen(), []
    session = Session(world, out, status.append, pty=pty)
    session.start(args)
    session.feed(keys)
    return out.take(), status


def test_telnet_command_mode(world):
    port = str(world.domains["ldg-web1"].console_port)
    shown, status = run_telnet(world, ["localhost", port], b"\x1d\r")
    assert shown.endswith(b"\r\ntelnet> \r\n") and status == [], "an empty line goes back to the session"
    shown, status = run_telnet(world, ["localhost", port], b"\x1dfoo\r\x1ds\r\x1d?\r\x1dc\r")
    text = shown.decode()
    assert "telnet> foo\r\n?Invalid command\r\n" in text
    assert "telnet> s\r\n?Ambiguous command\r\n" in text, "send, set, status, slc"
    assert "telnet> ?\r\nCommands may be abbreviated.  Commands are:\r\n" in text
    assert text.endswith("telnet> c\r\nConnection to localhost closed.\r\n") and status == [0]


def test_telnet_without_a_host_and_with_too_much(world):
    port = str(world.domains["ldg-web1"].console_port)
    shown, status = run_telnet(world, [], f"open localhost {port}\r".encode())
    assert shown.decode().startswith(f"telnet> open localhost {port}\r\nTrying 127.0.0.1...\r\n"
                                     "Connected to localhost.\r\n") and status == []
    shown, status = run_telnet(world, ["localhost", port, "extra"], pty=False)
    assert (shown, status) == (b"usage: telnet [-l user] [-a] host-name [port]\n", [1])
    shown, status = run_telnet(world, ["t7-a", port])
    assert shown == (b"Trying 192.0.2.1...\r\ntelnet: Unable to connect to remote host: Connection refused\r\n"), \
        "vntsd listens on localhost only"
    assert status == [1]
