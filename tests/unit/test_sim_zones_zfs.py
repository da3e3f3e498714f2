"""zfs on the simulated global zones: listing, snapshots, and send streams that receive checks (a byte
flipped or a stream cut short is refused with libzfs's words)."""

from __future__ import annotations

import pytest

from hvdeck.backends.sim.sshserver import Reply
from hvdeck.backends.sim.zones import ZonesWorld, zfs
from hvdeck.backends.sim.zones.storage import MAGIC, ZfsError, read_stream, send_stream


@pytest.fixture
def world() -> ZonesWorld:
    return ZonesWorld.demo("omni-a", "illumos")


def stream(world: ZonesWorld, snapshot: str) -> bytes:
    return b"".join(send_stream(world.storage, snapshot))


def test_snapshots_list_after_their_filesystem(world):
    assert world.run(["zfs", "snapshot", "rpool/zones/build@one"]).exit_status == 0
    assert world.run(["zfs", "snapshot", "rpool/zones/build@two"]).exit_status == 0
    assert world.run(["zfs", "snapshot", "rpool/zones/build@one"]) == \
        Reply("", "cannot create snapshot 'rpool/zones/build@one': dataset already exists\n", 1)
    assert world.run(["zfs", "list", "-H", "-o", "name", "-t", "snapshot"]).stdout == \
        "rpool/zones/build@one\nrpool/zones/build@two\n"
    assert world.run(["zfs", "list", "-H", "-o", "name", "-r", "-t", "all", "rpool/zones/build"]).stdout == \
        "rpool/zones/build\nrpool/zones/build@one\nrpool/zones/build@two\n"
    assert world.run(["zfs", "list", "-H", "-o", "name", "-d", "1", "rpool"]).stdout.splitlines() == \
        ["rpool", "rpool/ROOT", "rpool/export", "rpool/zones"]
    assert world.run(["zfs", "list", "rpool/nope"]) == Reply("", "cannot open 'rpool/nope': dataset does not exist\n", 1)
    bad = world.run(["zfs", "list", "-o", "name,bogus"])
    assert bad.exit_status == 2 and bad.stderr.startswith("bad property list: invalid property 'bogus'\n")


def test_destroy_refuses_children_busy_zones_and_clones(world):
    assert world.run(["zfs", "destroy", "rpool/zones/db1"]).stderr.startswith(
        "cannot destroy 'rpool/zones/db1': filesystem has children\nuse '-r' to destroy the following datasets:\n")
    assert world.run(["zfs", "destroy", "-r", "rpool/zones/db1"]) == \
        Reply("", "cannot unmount '/zones/db1': Device busy\n", 1)
    world.run(["zfs", "snapshot", "rpool/zones/build@base"])
    world.run(["zfs", "clone", "rpool/zones/build@base", "rpool/zones/build2"])
    assert world.run(["zfs", "destroy", "-r", "rpool/zones/build"]).stderr.startswith(
        "cannot destroy 'rpool/zones/build@base': snapshot has dependent clones\n")


def test_a_stream_round_trips_with_the_zonepath_files(world):
    world.run(["zoneadm", "-z", "build", "detach"])
    world.run(["zfs", "snapshot", "rpool/zones/build@move"])
    data = stream(world, "rpool/zones/build@move")
    assert data.startswith(MAGIC) and len(data) > 64 * 1024
    manifest = read_stream(data)
    assert set(manifest["files"]) == {"root", "SUNWdetached.xml"}
    other = ZonesWorld("omni-b", "illumos", pool="tank")
    assert zfs.receive(other.storage, ["-v", "tank/zones/build"], data) == \
        ("receiving full stream of rpool/zones/build@move into tank/zones/build@move\n", "")
    assert other.run(["zfs", "list", "-H", "-o", "name,mountpoint", "-t", "all", "-r", "tank/zones/build"]).stdout == \
        "tank/zones/build\t/zones/build\ntank/zones/build@move\t-\n"
    assert other.detached_config("/zones/build") is not None
    with pytest.raises(ZfsError) as exists:
        zfs.receive(other.storage, ["tank/zones/build"], data)
    assert str(exists.value) == ("cannot receive new filesystem stream: destination 'tank/zones/build' exists\n"
                                 "must specify -F to overwrite it")
    zfs.receive(other.storage, ["-F", "tank/zones/build"], data)


@pytest.mark.parametrize(("name", "mangle", "message"), [
    ("not a stream", lambda d: b"hello world\n" + d, "cannot receive: invalid stream (bad magic number)"),
    ("empty", lambda d: b"", "cannot receive: invalid stream (bad magic number)"),
    ("cut short", lambda d: d[: len(d) // 2], "cannot receive new filesystem stream: checksum mismatch or incomplete "
                                              "stream"),
    ("one byte flipped", lambda d: d[:5000] + bytes([d[5000] ^ 1]) + d[5001:],
     "cannot receive new filesystem stream: checksum mismatch or incomplete stream"),
    ("trailer lost", lambda d: d[:-1], "cannot receive new filesystem stream: checksum mismatch or incomplete stream"),
    ("extra bytes", lambda d: d + b"\0", "cannot receive new filesystem stream: checksum mismatch or incomplete "
                                         "stream"),
])
def test_a_damaged_stream_is_refused(world, name, mangle, message):
    world.run(["zfs", "snapshot", "rpool/zones/build@move"])
    other = ZonesWorld("omni-b", "illumos", pool="tank")
    with pytest.raises(ZfsError) as refused:
        zfs.receive(other.storage, ["tank/zones/build"], mangle(stream(world, "rpool/zones/build@move")))
    assert str(refused.value) == message
    assert "tank/zones/build" not in other.storage.datasets


def test_send_needs_a_snapshot_and_streams_only_on_its_own_command_line(world):
    with pytest.raises(ZfsError) as missing:
        zfs.check_send(world.storage, ["send", "rpool/zones/build@nope"])
    assert str(missing.value) == "cannot open 'rpool/zones/build@nope': dataset does not exist"
    with pytest.raises(ZfsError) as filesystem:
        zfs.check_send(world.storage, ["send", "rpool/zones/build"])
    assert "operation not applicable to datasets of this type" in str(filesystem.value)
    compound = world.run(["zfs", "send", "rpool/zones/build@x"])
    assert compound.exit_status == 1 and "streams zfs send and receive only" in compound.stderr


def test_list_shows_only_the_types_asked_for_even_of_a_named_filesystem(world):
    """libzfs zfs_iter.c: zfs_callback adds a handle only when its type was asked for; with -r or -d a named
    filesystem is opened anyway (to reach its snapshots), without them it is refused."""
    assert world.run(["zfs", "snapshot", "rpool/zones/build@one"]).exit_status == 0
    assert world.run(["zfs", "snapshot", "rpool/zones/db1/data@deep"]).exit_status == 0
    listed = world.run(["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", "rpool/zones/build"])
    assert listed.stdout == "rpool/zones/build@one\n"
    # -d 1: a filesystem's own snapshots are one level down; a child's are two
    assert world.run(["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-d", "1", "rpool/zones/db1"]).stdout == ""
    assert world.run(["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-d", "2", "rpool/zones/db1"]).stdout == \
        "rpool/zones/db1/data@deep\n"
    assert world.run(["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "rpool/zones/build"]) == \
        Reply("", "cannot open 'rpool/zones/build': operation not applicable to datasets of this type\n", 1)
    assert world.run(["zfs", "list", "-H", "-o", "name", "-t", "filesystem", "rpool/zones/build"]).stdout == \
        "rpool/zones/build\n"
