"""Guest consoles of the simulated control domain, reached the way hvdeck reaches them: ``telnet localhost
PORT`` on a pseudo-terminal of the host's SSH connection (`SshSession.open_pty`), with vntsd in between.

What is checked: telnet's and vntsd's own lines, OpenBoot answering ``banner`` and ``printenv`` with the
domain's own values (``ldm set-var`` shows there, ``setenv`` shows in ``ldm list-variable``), a boot to
``login:``, a login and a few shell commands, CR LF line ends and echo as the guest types, ``^]`` then
``quit``, a refused port, a second client that may only read until it takes write access with ``~w``, a
guest that stops and starts again under the same connection, an unbound domain closing the connection,
and the console's state surviving a reconnect.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import asyncssh
import pytest

from hvdeck.backends.sim.ldoms import LdomsWorld, serve
from hvdeck.backends.transport.ssh import SshSession

TELNET_HELLO = ("Trying 127.0.0.1...\r\nConnected to localhost.\r\nEscape character is '^]'.\r\n"
                '\r\nConnecting to console "{name}" in group "{name}" ....\r\nPress ~? for control options ..\r\n')

HELLO_END = r"control options \.\.\r\n"


class Clock:
    now = 3_000_000.0

    def __call__(self) -> float:
        return self.now


class Console:
    """One ``telnet localhost PORT`` on a PTY: type, and read until something shows."""

    def __init__(self, channel) -> None:
        self.channel = channel
        self.seen = b""

    async def expect(self, pattern: str | bytes, timeout: float = 10.0) -> bytes:
        """Everything received up to and including the first match of ``pattern`` (a regex), consumed.
        Type the next thing only after the answer to the last one showed: matches are the earliest."""
        regex = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        async with asyncio.timeout(timeout):
            while (match := regex.search(self.seen)) is None:
                data = await self.channel.read()
                if not data:
                    raise AssertionError(f"closed before {pattern!r}; got {self.seen!r}")
                self.seen += data
        taken, self.seen = self.seen[:match.end()], self.seen[match.end():]
        return taken

    async def rest(self, timeout: float = 10.0) -> bytes:
        """Everything until the channel ends."""
        async with asyncio.timeout(timeout):
            while data := await self.channel.read():
                self.seen += data
        taken, self.seen = self.seen, b""
        return taken

    async def ended(self) -> tuple[bytes, int | None]:
        """Everything until telnet exits, and its exit status; the channel is closed."""
        rest = await self.rest()
        status = await self.channel.wait()
        await self.channel.close()
        return rest, status

    def type(self, text: str | bytes) -> None:
        self.channel.write(text.encode() if isinstance(text, str) else text)

    async def quiet(self, seconds: float = 0.3) -> bytes:
        """What arrives within ``seconds`` (nothing, when the guest does not answer)."""
        try:
            async with asyncio.timeout(seconds):
                while data := await self.channel.read():
                    self.seen += data
        except TimeoutError:
            pass
        taken, self.seen = self.seen, b""
        return taken


@pytest.fixture
def world() -> LdomsWorld:
    return LdomsWorld.demo("t7-a", 4, clock=Clock())


@pytest.fixture
async def session(world, ssh_world) -> AsyncIterator[SshSession]:
    server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    yield session
    await session.close()
    await server.close()


async def telnet(session: SshSession, port: int, host: str = "localhost") -> Console:
    return Console(await session.open_pty(["telnet", host, str(port)]))


def port_of(world: LdomsWorld, name: str) -> int:
    port = world.domains[name].console_port
    assert port is not None
    return port


async def test_telnet_reaches_openboot_which_answers_banner_and_printenv(session, world):
    ok(world, "ldm stop ldg-web1; ldm set-var auto-boot?=false ldg-web1; ldm set-var boot-file=-v ldg-web1")
    console = await telnet(session, port_of(world, "ldg-web1"))
    assert (await console.expect(HELLO_END)).decode() == \
        TELNET_HELLO.format(name="ldg-web1")
    ok(world, "ldm start ldg-web1")
    booting = (await console.expect(r"\{0\} ok ")).decode()
    assert booting.startswith("\r\nNOTICE: Entering OpenBoot.\r\n")
    assert "\r\nSPARC T7-1, No Keyboard\r\n" in booting and "Boot device" not in booting, "auto-boot? is false"
    # the guest sits at OpenBoot: ldm says so in FLAGS column 2 and in SOFTSTATE
    assert ok(world, "ldm list -p ldg-web1").splitlines()[1].split("|")[3] == "flags=-t----"
    assert "\nSOFTSTATE\nOpenBoot Running\n" in ok(world, "ldm list -e ldg-web1")

    console.type("bann")
    assert await console.expect("bann") == b"bann", "each key is echoed as it is typed"
    console.type("er\r")
    banner = (await console.expect(r"\{0\} ok ")).decode()
    domain = world.domains["ldg-web1"]
    hostid = domain.hostid[2:]
    assert banner.startswith("er\r\n\r\nSPARC T7-1, No Keyboard\r\n")
    assert f", 8.0000 GB memory available, Serial #{int(hostid, 16) & 0x0FFFFFFF}.\r\n" in banner
    mac = ":".join(f"{int(octet, 16):x}" for octet in domain.mac.split(":"))
    assert f"\r\nEthernet address {mac}, Host ID: {hostid}.\r\n" in banner
    assert "\n" not in banner.replace("\r\n", ""), "every line ends with CR LF"

    console.type("printenv\r")
    table = (await console.expect(r"\{0\} ok ")).decode()
    assert "\r\nVariable Name           Value                          Default Value\r\n" in table
    assert "\r\nauto-boot?              false                          true\r\n" in table
    assert "\r\nboot-file               -v\r\n" in table
    assert "\r\nboot-device             vdisk0                         disk net\r\n" in table
    console.type("setenv auto-boot? true\r")
    await console.expect(r"\{0\} ok ")
    assert ok(world, "ldm list-variable auto-boot? ldg-web1") == "auto-boot?=true\n", "OpenBoot's NVRAM is ldm's"
    console.type("frobnicate\r")
    assert (await console.expect(r"\{0\} ok ")) == b"frobnicate\r\nfrobnicate ?\r\n{0} ok "
    console.type(b"\x1d")
    assert await console.expect("telnet> ") == b"\r\ntelnet> "
    console.type("quit\r")
    assert await console.ended() == (b"quit\r\nConnection to localhost closed.\r\n", 0)


async def test_boot_log_in_use_the_shell_and_halt_back_to_ok(session, world):
    ok(world, "ldm stop ldg-web1; ldm set-var auto-boot?=false ldg-web1; ldm start ldg-web1")
    console = await telnet(session, port_of(world, "ldg-web1"), "127.0.0.1")
    assert b"Connected to 127.0.0.1.\r\n" in await console.expect(HELLO_END)
    console.type("\r")
    await console.expect(r"\{0\} ok ")
    console.type("boot disk\r")
    boot = (await console.expect("ldg-web1 console login: ")).decode()
    assert boot.startswith("boot disk\r\nBoot device: disk  File and args:\r\nSunOS Release 5.11 Version 11.4")
    assert "\rLoading smf(7) service descriptions: 3/3\x1b[K\r\n" in boot, "a progress line rewritten in place"
    assert "\r\nHostname: ldg-web1\r\n" in boot
    assert ok(world, "ldm list -p ldg-web1").splitlines()[1].split("|")[3] == "flags=-n----"

    console.type("root\r")
    assert await console.expect("Password: ") == b"root\r\nPassword: "
    console.type("s3cret\r")
    shell = await console.expect("root@ldg-web1:~# ")
    assert b"s3cret" not in shell, "the password is not echoed"
    console.type("uname -a\r")
    assert await console.expect("# ") == \
        b"uname -a\r\nSunOS ldg-web1 5.11 11.4.0.15.0 sun4v sparc sun4v\r\nroot@ldg-web1:~# "
    console.type("echo hello   world\r")
    assert await console.expect("# ") == b"echo hello   world\r\nhello world\r\nroot@ldg-web1:~# "
    console.type("uptime\r")
    assert re.search(rb"\r\n +\d+:\d\d[ap]m  up \d+ min\(s\),  1 user,  load average: ", await console.expect("# "))
    console.type("exit\r")
    assert await console.expect("login: ") == b"exit\r\n\r\nldg-web1 console login: "
    console.type("root\rx\r")
    await console.expect("# ")
    console.type("init 0\r")
    halted = await console.expect(r"\{0\} ok ")
    assert b"syncing file systems... done\r\nProgram terminated\r\n{0} ok " in halted
    assert ok(world, "ldm list -p ldg-web1").splitlines()[1].split("|")[2:4] == ["state=active", "flags=-t----"]
    await console.channel.close()


async def test_a_refused_port_and_an_unknown_host(session, world):
    for argv, expected in (
            (["telnet", "localhost", str(port_of(world, "ldg-test") + 50)],
             "Trying 127.0.0.1...\r\ntelnet: Unable to connect to remote host: Connection refused\r\n"),
            (["telnet", "localhost", "23"],
             "Trying 127.0.0.1...\r\ntelnet: Unable to connect to remote host: Connection refused\r\n"),
            (["telnet", "nowhere", "5000"], "nowhere: node name or service name not known\r\n")):
        console = Console(await session.open_pty(argv))
        assert await console.ended() == (expected.encode(), 1)
    # an inactive domain has no console port at all; a bound one has one, with a silent guest behind it
    console = await telnet(session, port_of(world, "ldg-test"))
    await console.expect(HELLO_END)
    console.type("banner\r")
    assert await console.quiet() == b"", "nothing runs in a bound domain to echo it"
    await console.channel.close()


async def test_a_second_client_reads_and_may_take_write_access(session, world):
    port = port_of(world, "ldg-web1")
    first, second = await telnet(session, port), await telnet(session, port)
    await first.expect(HELLO_END)
    await second.expect(HELLO_END)
    second.type("x")
    assert await second.expect("\r\n") == b"You do not have write access\r\n"
    first.type("\r")
    login = b"\r\n\r\nldg-web1 console login: "
    assert await first.expect("login: ") == login
    assert await second.expect("login: ") == login, "a reader sees what the guest prints"
    second.type("~w")
    warning = (await second.expect(r"\[y/n\] ")).decode()
    assert warning == ("\r\nWarning: another user currently has write permission\r\nto this console and forcibly "
                       "removing him/her will terminate\r\nany current write action and all work will be lost.\r\n"
                       "\r\nWould you like to continue?[y/n] ")
    second.type("y")
    assert await second.expect("\r\n") == b"y\r\n"
    assert await first.expect("mode\r\n") == b"Warning: Console connection forced into read-only mode\r\n"
    second.type("root\r")
    assert await second.expect("Password: ") == b"root\r\nPassword: "
    first.type("x")
    assert b"You do not have write access\r\n" in await first.expect("access\r\n")
    second.type("~?")
    assert (await second.expect(r"~\? --_\r\n")).decode() == (
        "\r\nVNTSD commands\r\n~# --send break\r\n~. --exit from this console\r\n~w --force write access\r\n"
        "~n --console down\r\n~p --console up\r\n~? --_\r\n")
    second.type("~.")
    assert await second.ended() == (b"Connection to localhost closed by foreign host.\r\n", 1)
    await first.channel.close()


async def test_a_guest_stopped_keeps_the_connection_and_unbinding_closes_it(session, world):
    console = await telnet(session, port_of(world, "ldg-web1"))
    await console.expect(HELLO_END)
    console.type("\r")
    await console.expect("login: ")
    assert ok(world, "ldm stop ldg-web1") == "LDom ldg-web1 stopped\n"
    stopping = await console.expect("done\r\n")
    assert stopping.startswith(b"\r\nsvc.startd: The system is coming down.  Please wait.\r\n")
    console.type("\r")
    assert await console.quiet() == b"", "the console stays while the domain is bound; nothing answers"
    ok(world, "ldm start ldg-web1")
    assert b"\r\nNOTICE: Entering OpenBoot.\r\n" in await console.expect("login: "), "the same connection"
    ok(world, "ldm stop -f ldg-web1")
    assert await console.quiet() == b"", "a forced stop prints nothing"
    ok(world, "ldm unbind ldg-web1")
    assert await console.ended() == (b"Connection to localhost closed by foreign host.\r\n", 1)


async def test_the_console_keeps_its_state_across_connections(session, world):
    console = await telnet(session, port_of(world, "ldg-db1"))
    await console.expect(HELLO_END)
    console.type("root\rpw\r")
    await console.expect("root@ldg-db1:~# ")
    console.type(b"\x1d")
    await console.expect("telnet> ")
    console.type("q\r")
    rest, status = await console.ended()
    assert rest.endswith(b"Connection to localhost closed.\r\n") and status == 0

    again = await telnet(session, port_of(world, "ldg-db1"))
    await again.expect(HELLO_END)
    assert await again.quiet() == b"", "vntsd replays nothing"
    again.type("hostname\r")
    assert await again.expect("# ") == b"hostname\r\nldg-db1\r\nroot@ldg-db1:~# ", "still logged in"
    again.type("poweroff\r")
    await again.expect("done\r\n")
    assert ok(world, "ldm list -p ldg-db1").splitlines()[1].split("|")[2] == "state=bound", \
        "the guest powered itself off"
    await again.channel.close()


async def test_telnet_without_a_terminal_still_works(session, world):
    """hvdeck may open the console as a plain process: telnet's own lines then end with LF alone."""
    channel = await session.open_process(["telnet", "localhost", str(port_of(world, "ldg-web1"))])
    console = Console(channel)
    hello = await console.expect(HELLO_END)
    assert hello.startswith(b"Trying 127.0.0.1...\nConnected to localhost.\nEscape character is '^]'.\n\r\n")
    console.type("\r")
    await console.expect("login: ")
    channel.write_eof()
    assert await channel.wait() == 0
    await channel.close()


def ok(world: LdomsWorld, line: str) -> str:
    reply = world.run_line(line)
    assert reply.exit_status == 0, f"{line}: {reply.stderr}"
    return reply.stdout


async def test_a_login_shell_on_the_control_domain_reaches_the_console_too(world, ssh_world):
    """``ssh -p PORT root@HOST`` with no command: a prompt, commands with CR LF, telnet from there."""
    server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    try:
        async with asyncssh.connect("127.0.0.1", server.port, username="root", client_keys=[ssh_world.client_key],
                                    known_hosts=str(ssh_world.known_hosts)) as conn:
            process = await conn.create_process(term_type="xterm", encoding=None)
            shell = Console(_ProcessChannel(process))
            assert await shell.expect("root@t7-a:~# ") == b"root@t7-a:~# "
            shell.type("hostname\r")
            assert await shell.expect("# ") == b"hostname\r\nt7-a\r\nroot@t7-a:~# "
            shell.type(f"telnet localhost {port_of(world, 'ldg-web1')}\r")
            await shell.expect(HELLO_END)
            shell.type("\r")
            await shell.expect("login: ")
            shell.type(b"\x1dquit\r")
            assert (await shell.expect("# ")).endswith(b"Connection to localhost closed.\r\nroot@t7-a:~# ")
            shell.type("exit\r")
            await process.wait_closed()
            assert process.exit_status == 0
    finally:
        await server.close()


class _ProcessChannel:
    """An asyncssh client process read the way `Console` reads an hvdeck channel."""

    def __init__(self, process) -> None:
        self.process = process

    async def read(self) -> bytes:
        return await self.process.stdout.read(65536)

    def write(self, data: bytes) -> None:
        self.process.stdin.write(data)
