"""The Session protocol on both transports, against real processes: over SSH (the in-process server runs
each command with ``sh -c`` on this machine, on a real pseudo-terminal when asked) and locally.

Streams, PTYs, channel budgets, bounded output, timeouts, cancellation and link loss."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from hvdeck.backends.errors import ConnectionLost
from hvdeck.backends.transport.base import ChannelBusy, CommandTimeout, OutputTooLarge, Session
from hvdeck.backends.transport.local import LocalSession
from hvdeck.backends.transport.ssh import SshSession

from ..conftest import echo_handler, exec_process_handler


@pytest.fixture(params=["ssh", "local"])
async def session(request, ssh_server, ssh_world) -> AsyncIterator[Session]:
    if request.param == "ssh":
        server = await ssh_server(echo_handler(), process_handler=exec_process_handler)
        ssh_world.trust(server)
        sess: Session = SshSession(ssh_world.spec(server), ssh_world.options(), long_channels=2)
        sess.server = server  # type: ignore[attr-defined]
    else:
        sess = LocalSession("here", long_channels=2)
    sess.long.timeout = 0.5  # type: ignore[attr-defined]
    yield sess
    await sess.close()


async def read_until(channel, marker: bytes, timeout: float = 10.0) -> bytes:
    seen = b""
    async with asyncio.timeout(timeout):
        while marker not in seen:
            data = await channel.read()
            if not data:
                break
            seen += data
    return seen


async def test_stream_gives_each_line_as_it_is_printed(session, tmp_path):
    gate = tmp_path / "gate"
    # the second line is printed only once the first has been seen by the reader: a stream buffered to the
    # end would wait here until the timeout
    script = f"echo first; while [ ! -e {gate} ]; do sleep 0.02; done; echo second; echo oops >&2; exit 3"
    lines = []
    async with asyncio.timeout(10):
        async with session.stream(["sh", "-c", script]) as stream:
            async for line in stream:
                lines.append(line)
                if line == "first":
                    gate.write_text("")
    assert lines == ["first", "second"]
    assert stream.exit_status == 3
    assert "oops" in stream.stderr_tail


async def test_stream_of_a_missing_command_says_so(session):
    async with session.stream(["no-such-command-hvdeck"]) as stream:
        lines = [line async for line in stream]
    assert lines == []
    assert stream.exit_status == 127
    assert "not found" in stream.stderr_tail


async def test_a_cancelled_stream_gives_its_channel_back(session):
    async def reader() -> None:
        async with session.stream(["sh", "-c", "while true; do echo tick; sleep 0.05; done"]) as stream:
            async for _line in stream:
                pass

    for _ in range(3):  # more than the budget of 2: each cancelled stream must free its slot
        task = asyncio.create_task(reader())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert session.long.free == 2


async def test_long_channels_have_their_own_budget_and_a_clear_error(session):
    first = await session.open_process(["sleep", "30"])
    second = await session.open_process(["sleep", "30"])
    try:
        with pytest.raises(ChannelBusy) as caught:
            await session.open_process(["sleep", "30"])
        assert "long-lived channels" in caught.value.message
        # short commands are not blocked by long-lived channels
        result = await session.run(["echo", "still works"])
        assert result.stdout == "still works\n"
    finally:
        await first.close()
        await second.close()
    third = await session.open_process(["true"])
    await third.close()


async def test_command_slots_wait_with_a_limit(session):
    session.commands.timeout = 0.5
    sleepers = [asyncio.create_task(session.run(["sleep", "5"], timeout=10)) for _ in range(session.commands.count)]
    await asyncio.sleep(0.5)
    try:
        with pytest.raises(ChannelBusy) as caught:
            await session.run(["echo", "x"])
        assert "command channels" in caught.value.message
    finally:
        for task in sleepers:
            task.cancel()
        await asyncio.gather(*sleepers, return_exceptions=True)


async def test_endless_output_is_cut_at_the_limit(session):
    started = time.monotonic()
    with pytest.raises(OutputTooLarge) as caught:
        await session.run(["sh", "-c", "yes 0123456789abcdef"], limit=2 * 1024 * 1024, timeout=30)
    assert "output over 2 MB" in caught.value.message
    assert time.monotonic() - started < 20
    # the connection is still good
    assert (await session.run(["echo", "ok"])).stdout == "ok\n"


async def test_a_command_timeout_does_not_close_the_connection(session):
    console = await session.open_pty(["cat"])
    try:
        with pytest.raises(CommandTimeout):
            await session.run(["sleep", "5"], timeout=0.3)
        console.write(b"still here\r")
        assert b"still here" in await read_until(console, b"still here")
    finally:
        await console.close()


async def test_output_is_seen_as_it_arrives(session):
    seen: list[tuple[str, str]] = []
    result = await session.run(["sh", "-c", "echo out; echo err >&2"], on_output=lambda n, t: seen.append((n, t)))
    assert ("stdout", "out\n") in seen and ("stderr", "err\n") in seen
    assert result.stdout == "out\n" and result.stderr == "err\n"


async def test_stdin_reaches_the_command(session):
    result = await session.run(["sh", "-c", "read a; echo got $a"], input="zonecfg-script\n")
    assert result.stdout == "got zonecfg-script\n"


async def test_pty_echoes_resizes_and_ends(session):
    pty = await session.open_pty(["sh", "-c", "stty size; read x; stty size; echo bye $x"], cols=100, rows=30)
    try:
        assert b"30 100" in await read_until(pty, b"30 100")
        pty.resize(120, 40)
        await asyncio.sleep(0.2)
        pty.write(b"now\r")
        out = await read_until(pty, b"bye now")
        assert b"40 120" in out and b"bye now" in out
        assert await asyncio.wait_for(pty.wait(), 10) == 0
    finally:
        await pty.close()
    assert session.long.free == 2


async def test_transfer_channel_moves_bytes_both_ways(session):
    channel = await session.open_process(["sh", "-c", "wc -c; echo done >&2"])
    payload = bytes(range(256)) * 4096  # 1 MiB, every byte value
    channel.write(payload)
    await channel.drain()
    channel.write_eof()
    out = await read_until(channel, b"\n")
    assert out.strip() == str(len(payload)).encode()
    assert await channel.wait() == 0
    assert "done" in channel.stderr_tail
    await channel.close()


async def test_link_loss_reaches_every_user(request, ssh_server, ssh_world):
    server = await ssh_server(echo_handler(), process_handler=exec_process_handler)
    ssh_world.trust(server)
    session = SshSession(ssh_world.spec(server), ssh_world.options())
    lost = asyncio.Event()
    session.on_link_lost(lost.set)
    console = await session.open_pty(["cat"])
    step = asyncio.create_task(session.run(["sleep", "5"], idempotent=False))
    await asyncio.sleep(0.3)
    server.drop_connections()
    await asyncio.wait_for(lost.wait(), 5)
    with pytest.raises(ConnectionLost):
        await asyncio.wait_for(step, 5)
    with pytest.raises(ConnectionLost):
        async with asyncio.timeout(5):
            while await console.read():
                pass
    await console.close()
    # the next command reconnects
    assert (await session.run(["echo", "back"])).stdout == "back\n"
    await session.close()
