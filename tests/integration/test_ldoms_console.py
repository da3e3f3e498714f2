"""The LDoms backend's consoles against the simulated control domain over real SSH: vntsd's port from the
CONS column, vntsd's own ``~w`` to learn whether this session writes, a console in use refused with
`ConsoleBusy` and taken over with force (the other session told, in vntsd's words), a guest that stops
keeping its console, a port nothing answers on, and domains that have no console on vntsd."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import asyncssh
import pytest

from hvdeck.backends.console import ConsoleChannel
from hvdeck.backends.errors import ConsoleBusy, Unsupported
from hvdeck.backends.ldoms.backend import LdomsBackend
from hvdeck.backends.model import Domain
from hvdeck.backends.sim.ldoms import LdomsWorld, serve
from hvdeck.backends.transport.ssh import SshSession


@pytest.fixture
def world() -> LdomsWorld:
    return LdomsWorld.demo("t7-a", 5)


@pytest.fixture
async def backend(world, ssh_world) -> AsyncIterator[LdomsBackend]:
    server = await serve(world, host_key=asyncssh.generate_private_key("ssh-ed25519"),
                         authorized_keys=[ssh_world.client_key])
    ssh_world.trust(server)
    spec = ssh_world.spec(server, name="t7-a", kind="ldoms")
    session = SshSession(spec, ssh_world.options())
    backend = LdomsBackend(spec, session)
    await backend.open()
    yield backend
    await session.close()
    await server.close()


async def domains(backend: LdomsBackend) -> dict[str, Domain]:
    return {d.name: d for d in await backend.poll()}


async def until(channel: ConsoleChannel, marker: bytes) -> bytes:
    seen = b""
    async with asyncio.timeout(10):
        while marker not in seen:
            data = await channel.read()
            assert data, f"ended before {marker!r}: {seen!r}"
            seen += data
    return seen


def run(world: LdomsWorld, line: str) -> None:
    reply = world.run_line(line)
    assert reply.exit_status == 0, reply.stderr


async def test_console_refs_follow_the_cons_column_and_the_state(backend):
    found = await domains(backend)
    ref = backend.console(found["ldg-web1"])
    assert (ref.kind, ref.description, ref.can_force) == ("vntsd", "vntsd port 5000", True)
    assert backend.console(found["ldg-test"]).description == "vntsd port 5003", "a bound domain has its console"
    with pytest.raises(Unsupported, match="ldg-build is inactive: vntsd has a console for a domain only while"):
        backend.console(found["ldg-build"])
    with pytest.raises(Unsupported, match=r"primary's console is not on vntsd \(CONS UART\)"):
        backend.console(found["primary"])


async def test_attach_is_the_writer_a_second_is_busy_and_force_takes_over(backend, world):
    web = (await domains(backend))["ldg-web1"]
    first = await backend.open_console(web, cols=100, rows=30)
    assert isinstance(first, ConsoleChannel)
    hello = await until(first, b"You have write permission\r\n")
    assert b'Connecting to console "ldg-web1" in group "ldg-web1" ....\r\n' in hello
    with pytest.raises(ConsoleBusy, match="another session has write access to this console; vntsd does not say"):
        await backend.open_console(web)
    async with asyncio.timeout(10):  # the refused session leaves vntsd once its telnet is hung up
        while len(world.vntsd.clients["ldg-web1"]) != 1:
            await asyncio.sleep(0.02)
    second = await backend.open_console(web, force=True)
    await until(first, b"Warning: Console connection forced into read-only mode\r\n")
    assert first.take_notices() == [
        "Another session took write access to this console with vntsd's ~w: this one can only read now. "
        "Reconnect with force to take it back."]
    first.write(b"x")
    await until(first, b"You do not have write access\r\n")
    second.write(b"\r")
    await until(second, b"ldg-web1 console login: ")
    await first.close()
    await second.close()


async def test_a_stopped_guest_keeps_its_console_and_unbinding_closes_it(backend, world):
    web = (await domains(backend))["ldg-web1"]
    channel = await backend.open_console(web)
    await until(channel, b"write permission")
    run(world, "ldm stop ldg-web1")
    await until(channel, b"syncing file systems... done")
    run(world, "ldm start ldg-web1")
    await until(channel, b"NOTICE: Entering OpenBoot.")
    run(world, "ldm stop -f ldg-web1; ldm unbind ldg-web1")
    rest = b""
    async with asyncio.timeout(10):
        while data := await channel.read():
            rest += data
    ended = channel.ended(await channel.wait())
    assert ended.startswith("The console closed (telnet exited with status 1): ")
    assert ended.endswith("Connection to localhost closed by foreign host.")
    await channel.close()


async def test_a_port_nothing_answers_on_is_said_with_telnets_words(backend, world):
    test = (await domains(backend))["ldg-test"]
    run(world, "ldm unbind ldg-test")  # after the poll: the row still says bound
    with pytest.raises(Unsupported) as caught:
        await backend.open_console(dataclasses.replace(test, native_state="bound"))
    assert caught.value.message == ("ldg-test: nothing answers on vntsd port 5003 (telnet exited with status 1): "
                                    "telnet: Unable to connect to remote host: Connection refused; is the domain "
                                    "still bound?")
