"""`hvdeck ls` spreads a large fleet over processes (one per core): the same hosts, the same domains, in
inventory order, whichever process polled them; a host no process can reach is still reported."""

from __future__ import annotations

import asyncio

import pytest

from hvdeck.backends.fleet import Fleet, poll_sharded
from hvdeck.backends.inventory import HostSpec, Inventory
from hvdeck.backends.model import HostStatus
from hvdeck.backends.sim.demo import DemoFleet


@pytest.fixture(scope="module")
def demo():
    with DemoFleet(xen=()) as inventory:
        yield inventory


def _rows(snapshots):
    return [(s.host, s.status, sorted(d.name for d in s.domains)) for s in snapshots]


async def test_three_processes_poll_what_one_does(demo):
    unreachable = HostSpec(name="gone", address="127.0.0.1", port=1, user="root", kind="ldoms")
    inventory = Inventory((*demo.hosts, unreachable), demo.ssh, demo.path)
    one = await Fleet(inventory).poll_once(timeout=20)
    three = await asyncio.to_thread(poll_sharded, inventory, timeout=20, workers=3)
    assert [s.host for s in three] == [h.name for h in inventory.hosts]
    assert _rows(three) == _rows(one)
    assert three[-1].status is HostStatus.DOWN and one[-1].status is HostStatus.DOWN
    assert sum(len(s.domains) for s in three) > 40


def test_a_small_fleet_stays_in_one_process(demo, monkeypatch):
    import concurrent.futures

    def refuse(*args, **kwargs):
        raise AssertionError("a process pool for a handful of hosts")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", refuse)
    snapshots = poll_sharded(demo, timeout=20)
    assert all(s.status is HostStatus.UP for s in snapshots)
