"""A host that answers with endless or enormous output is cut off at the output limit and marked *error*;
memory stays bounded and the other hosts keep being polled on time."""

from __future__ import annotations

import asyncio
import resource

import asyncssh

from hvdeck.backends.fleet import Fleet
from hvdeck.backends.inventory import Inventory
from hvdeck.backends.model import HostStatus
from hvdeck.backends.sim.ldoms import LdomsWorld, serve
from hvdeck.backends.sim.sshserver import Reply
from hvdeck.backends.transport.base import Limits

VERSION = "Logical Domains Manager (v 3.6.0.0.12)\n"


def _flooding(size: int | None):
    """A control domain whose `ldm list -p` prints ``size`` bytes of valid-looking records (None: for ever)."""

    async def handle(command: str, process: asyncssh.SSHServerProcess) -> bool:
        if command != "ldm list -p":
            return False
        line = b"DOMAIN|name=ldg0|state=active|flags=-n----|cons=5000|ncpu=2|mem=2147483648|util=1.0|uptime=1\n"
        sent = 0
        try:
            while size is None or sent < size:
                process.stdout.write(line * 1000)
                sent += len(line) * 1000
                await process.stdout.drain()
            process.exit(0)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            pass
        return True

    async def reply(command: str, read_stdin) -> Reply:
        return Reply(VERSION) if command == "ldm -V" else Reply("", "sh: not found\n", 127)

    return reply, handle


async def test_an_endless_reply_is_cut_and_the_other_hosts_stay_on_time(ssh_server, ssh_world):
    reply, flood = _flooding(None)
    bad = await ssh_server(reply, process_handler=flood)
    good = await serve(LdomsWorld.demo("t7-good", 1), host_key=asyncssh.generate_private_key("ssh-ed25519"),
                       authorized_keys=[ssh_world.client_key])
    ssh_world.trust(bad)
    ssh_world.trust(good)
    inventory = Inventory((ssh_world.spec(bad, name="flood", kind="ldoms", poll_interval=0.5),
                           ssh_world.spec(good, name="good", kind="ldoms", poll_interval=0.5)), ssh_world.options())
    polls: dict[str, list] = {"flood": [], "good": []}
    fleet = Fleet(inventory, on_update=lambda s: polls[s.host].append(s),
                  limits=Limits(output_limit=4 * 1024 * 1024))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tasks = [asyncio.create_task(fleet.run_host(name)) for name in ("flood", "good")]
    try:
        await asyncio.sleep(6)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await fleet.close()
        await good.close()
    flooded = polls["flood"][0]
    assert flooded.status is HostStatus.ERROR and "output over 4 MB" in flooded.error
    assert flooded.domains == ()
    # the healthy host polled on its interval all along (about every 0.5 s, with jitter)
    assert len([s for s in polls["good"] if s.status is HostStatus.UP]) >= 5
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mib < 200, f"memory grew {grown_mib:.0f} MiB"


async def test_a_large_but_allowed_reply_is_parsed_off_the_event_loop(ssh_server, ssh_world):
    """8 MB of `ldm list -p` (about 90,000 records) is parsed in a worker thread: the loop keeps ticking.
    Parsed on the loop it would stall it for about 2 s on this machine (0.44 s per 2 MB, measured)."""
    reply, flood = _flooding(8 * 1024 * 1024)
    server = await ssh_server(reply, process_handler=flood)
    ssh_world.trust(server)
    fleet = Fleet(Inventory((ssh_world.spec(server, name="big", kind="ldoms"),), ssh_world.options()))
    gaps: list[float] = []

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(0.01)
            now = loop.time()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    try:
        snapshot = await fleet.poll_host("big")
    finally:
        tick.cancel()
        await fleet.close()
    assert snapshot.status is HostStatus.UP and len(snapshot.domains) > 80000
    assert max(gaps) < 0.5, f"the event loop stalled {max(gaps):.2f} s"
