"""The simulated xl dom0: state carried across commands, the life cycle with its timing, xl's errors, and
counters that move with the clock (still while paused)."""

from __future__ import annotations

import asyncio
import json

import pytest

from hvdeck.backends.sim.shell import CommandNotFound
from hvdeck.backends.sim.sshserver import Reply
from hvdeck.backends.sim.xen import XenWorld
from hvdeck.backends.sim.xen.migrate import run_now
from hvdeck.backends.sim.xen.xl import Xl

NEW_GUEST = """\
name = 'new01'
memory = 1024
vcpus = 2
maxvcpus = 4
bootloader = 'pygrub'
disk = [ 'phy:/dev/vg0/new01-disk,xvda,w' ]
vif = [ 'mac=00:16:3e:12:34:56,bridge=xenbr0' ]
"""


class Clock:
    def __init__(self, now: float = 2_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(clock: Clock) -> XenWorld:
    return XenWorld.demo("xen-a", "xl", 1, clock=clock)


def sh(world: XenWorld, line: str, stdin: str = "") -> Reply:
    async def read() -> str:
        return stdin

    return asyncio.run(world.handle(line, read))


def ok(world: XenWorld, line: str, stdin: str = "") -> str:
    reply = sh(world, line, stdin)
    assert reply.exit_status == 0, reply.stderr
    return reply.stdout


def states(world: XenWorld) -> dict[str, str]:
    rows = ok(world, "xl list").splitlines()[1:]
    return {row[:40].rstrip(): row.split()[-2] for row in rows}


def test_the_demo_has_every_state(world):
    listed = states(world)
    assert listed["Domain-0"] == "r-----"
    assert listed["web01"][0] == "r" or listed["web01"][1] == "b"
    assert listed["web02"] == "-b----"
    assert listed["cache01"] == "--p---"
    assert listed["legacy-app"] == "---sc-"  # crashed, kept by on_crash = 'preserve'
    assert "backup01" not in listed and "win-test" not in listed
    assert ok(world, "ls /etc/xen").split() == ["backup01.cfg", "build-runner-07.cfg", "cache01.cfg", "db01.cfg",
                                                "legacy-app.cfg", "web01.cfg", "web02.cfg", "win-test.cfg"]
    assert "name = 'backup01'" in ok(world, "cat /etc/xen/backup01.cfg")


def test_pause_and_unpause_show_in_the_listing(world):
    ok(world, "xl pause web02")
    assert states(world)["web02"] == "--p---"
    ok(world, "xl pause web02; xl unpause web02")  # pauses nest, like Xen's pause count
    assert states(world)["web02"] == "--p---"
    ok(world, "xl unpause web02")
    assert states(world)["web02"] == "-b----"
    reply = sh(world, "xl unpause web02")  # libxl complains; xl's main_unpause still exits 0
    assert reply.exit_status == 0
    assert "libxl_domain_unpause: Domain 2:Unpausing domain: Invalid argument" in reply.stderr


def test_a_config_written_with_tee_is_created_and_listed(world, clock):
    assert ok(world, "tee /etc/xen/new01.cfg", NEW_GUEST) == NEW_GUEST  # tee echoes its input
    missing = sh(world, "xl create /etc/xen/new01.cfg")
    assert missing.exit_status == 3
    assert missing.stderr == ("Parsing config from /etc/xen/new01.cfg\nlibxl: error: libxl_device.c:468:"
                              "libxl__device_disk_set_backend: Disk vdev=xvda failed to stat: /dev/vg0/new01-disk: "
                              "No such file or directory\nlibxl: error: libxl_create.c:1331:domcreate_bootloader_done: "
                              "Domain 7:Unable to set disk defaults for disk 0\n")
    assert ok(world, "lvcreate -L 10G -n new01-disk vg0") == '  Logical volume "new01-disk" created.\n'
    reply = sh(world, "xl create /etc/xen/new01.cfg")
    assert (reply.exit_status, reply.stdout, reply.stderr) == (0, "", "Parsing config from /etc/xen/new01.cfg\n")
    row = ok(world, "xl list new01").splitlines()[1]
    assert row.split() == ["new01", "7", "1024", "2", "-b----", "0.0"]
    again = sh(world, "xl create /etc/xen/new01.cfg")
    assert again.exit_status == 3 and 'Domain with name "new01" already exists.' in again.stderr
    clock.now += 60
    assert float(ok(world, "xl list new01").split()[-1]) > 0.0


def test_create_from_stdin_and_a_dry_run(world):
    ok(world, "lvcreate -L 10G -n new01-disk vg0")
    dry = sh(world, "xl create -n /dev/stdin", NEW_GUEST)
    assert dry.exit_status == 0 and json.loads(dry.stdout)["c_info"]["name"] == "new01"
    assert "new01" not in states(world)
    assert sh(world, "xl create /dev/stdin", NEW_GUEST).exit_status == 0
    assert "new01" in states(world)


@pytest.mark.parametrize("text,status,message", [
    ("memory = 512\n", 1, "Domain name must be specified.\n"),
    ("name = 'x'\nmemory 512\n", 1, "/etc/xen/bad.cfg:2: config parsing error near `512': syntax error, unexpected "
                                    "NUMBER, expecting '=' or \"+=\"\nFailed to parse config: Invalid argument\n"),
    ("name = 'x'\nvcpus = 4\nmaxvcpus = 2\n", 1, "xl: maxvcpus < vcpus\n"),
    ("name = 'x'\nbuilder = 'xen'\n", 1, "Invalid domain type xen.\n"),
    ("name = 'x'\nuuid = 'not-a-uuid'\n", 1, "Failed to parse UUID: not-a-uuid\n"),
    ("name = 'x'\non_crash = 'explode'\n", 1, 'Unknown on_crash action "explode" specified\n'),
    ("name = 'x'\ndisk = [ 'phy:/dev/vg0/x,xvda,w,extra' ]\n", 1,
     "/etc/xen/bad.cfg: config parsing error in disk specification: too many positional parameters: near `extra' "
     "in `phy:/dev/vg0/x,xvda,w,extra'\n"),
    ("name = 'x'\nmemory = 900000\n", 3, "failed to free memory for the domain\n"),
])
def test_create_refuses_a_bad_config_with_xls_wording(world, text, status, message):
    ok(world, "tee /etc/xen/bad.cfg", text)
    reply = sh(world, "xl create /etc/xen/bad.cfg")
    assert reply.exit_status == status
    assert reply.stderr == "Parsing config from /etc/xen/bad.cfg\n" + message


def test_a_bad_number_is_a_warning_and_the_default_stays(world):
    ok(world, "tee /etc/xen/odd.cfg", "name = 'odd'\nmemory = 'lots'\n")
    reply = sh(world, "xl create /etc/xen/odd.cfg")
    assert reply.exit_status == 0
    assert "/etc/xen/odd.cfg:2: warning: parameter `memory' is not a valid number\n" in reply.stderr
    assert ok(world, "xl list odd").splitlines()[1].split()[2] == "32"  # libxl's default


def test_shutdown_takes_the_guest_time_and_then_it_is_gone(world, clock):
    reply = sh(world, "xl shutdown web02")
    assert (reply.exit_status, reply.stderr) == (0, "Shutting down domain 2\n")
    assert "web02" in states(world)
    clock.now += world.shutdown_seconds + 0.1
    assert "web02" not in states(world)
    assert sh(world, "xl pause web02").stderr == "web02 is an invalid domain identifier (rc=-6)\n"


def test_a_paused_guest_shuts_down_only_once_it_runs(world, clock):
    ok(world, "xl shutdown cache01")
    clock.now += 60
    assert states(world)["cache01"] == "--p---"
    ok(world, "xl unpause cache01")
    clock.now += world.shutdown_seconds + 0.1
    assert "cache01" not in states(world)


def test_reboot_is_a_new_domain_id_with_fresh_counters(world, clock):
    before = ok(world, "xl list db01").splitlines()[1].split()
    assert sh(world, "xl reboot db01").stderr == f"Rebooting domain {before[1]}\n"
    clock.now += world.shutdown_seconds + 0.1
    after = ok(world, "xl list db01").splitlines()[1].split()
    assert int(after[1]) > int(before[1]) and float(after[-1]) == 0.0
    assert json.loads(ok(world, "xl list -l db01"))[0]["config"]["b_info"]["sched_params"]["weight"] == 512


def test_destroy_and_its_refusal_for_domain_0(world):
    ok(world, "xl destroy legacy-app")
    assert "legacy-app" not in states(world)
    reply = sh(world, "xl destroy Domain-0")
    assert reply.exit_status == 1 and reply.stderr.startswith("Not destroying domain 0; use -f to force.\n")


def test_sched_credit_is_carried_and_bounded(world):
    ok(world, "xl sched-credit -d web02 -w 500 -c 100")
    assert ok(world, "xl sched-credit -d web02") == ("Name                                ID Weight  Cap\n"
                                                      "web02                                2    500  100\n")
    listing = ok(world, "xl sched-credit").splitlines()
    assert listing[0] == "Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us"
    config = json.loads(ok(world, "xl list -l web02"))[0]["config"]
    assert config["b_info"]["sched_params"] == {"sched": "credit", "weight": 500, "cap": 100}
    reply = sh(world, "xl sched-credit -d web02 -w 65536")
    assert reply.exit_status == 1 and reply.stderr == (
        "libxl: error: libxl_sched.c:236:sched_credit_domain_set: Domain 2:Cpu weight out of range, valid values "
        "are within range from 1 to 65535\nlibxl_domain_sched_params_set failed.\n")
    reply = sh(world, "xl sched-credit -d web02 -c 201")  # web02 has 2 vCPUs: at most 200
    assert "valid range is from 0 to 200 for specified number of vcpus" in reply.stderr
    assert sh(world, "xl sched-credit -w 300").stderr == "Must specify a domain.\n"


def test_vcpu_set_and_mem_set_and_their_limits(world):
    ok(world, "xl vcpu-set web01 3; xl mem-set web01 3g")
    row = ok(world, "xl list web01").splitlines()[1].split()
    assert row[2:4] == ["3072", "3"]
    vcpus = ok(world, "xl vcpu-list web01").splitlines()[1:]
    assert [line.split()[4] for line in vcpus][3] == "--p"  # the fourth is offline
    too_many = sh(world, "xl vcpu-set web01 8")
    assert too_many.exit_status == 1 and "Requested 8 VCPUs, however maxcpus is 4!" in too_many.stderr
    assert sh(world, "xl mem-set web01 lots").stderr == "invalid memory size: lots\n"
    over = sh(world, "xl mem-set web01 8g")
    assert over.stderr.endswith("memory_dynamic_max must be less than or equal to memory_static_max\n\n"
                                "cannot set domid 1 dynamic max memory to : 8g\n")


def test_save_and_restore_through_a_file(world):
    reply = sh(world, "xl save web02 /var/lib/xen/save/web02.chk")
    assert reply.exit_status == 0 and reply.stderr.startswith(
        "Saving to /var/lib/xen/save/web02.chk new xl format (info 0x3/0x0/")
    assert "web02" not in states(world)
    assert ok(world, "ls /var/lib/xen/save") == "web02.chk\n"
    reply = sh(world, "xl restore /var/lib/xen/save/web02.chk")
    assert reply.exit_status == 0
    assert reply.stderr.startswith("Loading new save file /var/lib/xen/save/web02.chk (new xl fmt info 0x3/0x0/")
    assert states(world)["web02"] == "-b----"
    assert sh(world, "xl restore /tmp/nothing").stderr == "Can't open restore file: No such file or directory\n"


def test_listing_details_follow_the_configuration(world):
    config = json.loads(ok(world, "xl list -l db01"))[0]
    assert config["domid"] == 3
    assert [d["vdev"] for d in config["config"]["disks"]] == ["xvda", "xvdb"]
    assert [line.split()[0] for line in ok(world, "xl block-list db01").splitlines()[1:]] == ["51712", "51728"]
    mac = config["config"]["nics"][0]["mac"]
    assert ok(world, "xl network-list db01").splitlines()[1].split()[2] == mac
    every = json.loads(ok(world, "xl list -l"))
    assert "Domain-0" not in [entry["config"]["c_info"]["name"] for entry in every]


def test_unknown_domains_and_usage_errors(world):
    assert sh(world, "xl list nosuch") == Reply("", "nosuch is an invalid domain identifier (rc=-6)\n", 1)
    assert sh(world, "xl list 99") == Reply("", "Error: Domain '99' does not exist.\n", 1)
    reply = sh(world, "xl block-list web01 nosuch")
    assert reply.exit_status == 0 and reply.stderr == "nosuch is an invalid domain identifier\n"
    reply = sh(world, "xl pause")
    assert (reply.exit_status, reply.stderr) == (2, "'xl pause' requires at least 1 argument.\n\n")
    assert reply.stdout.startswith("Usage: xl [-vtT] pause <Domain>\n")
    assert sh(world, "xl pause -q web01") == Reply("", "option `q' not supported.\n", 2)
    assert sh(world, "xl frobnicate") == Reply("", "command not implemented\n", 1)
    assert sh(world, "xm list") == Reply("", "sh: 1: xm: not found\n", 127)
    with pytest.raises(CommandNotFound):
        world.run(["virsh", "list"])


def test_the_shell_runs_lists_and_stops_at_a_failed_and(world):
    reply = sh(world, "xl pause nosuch && xl pause web02; xl list web02")
    assert reply.exit_status == 0 and "-b----" in reply.stdout  # the && branch never ran
    assert sh(world, "xl list | head").exit_status == 2  # pipes are refused, as documented in shell.py


def test_counters_grow_with_the_clock_and_stand_still_when_paused(world, clock):
    def cpu(name: str) -> float:
        return float(ok(world, f"xl list {name}").splitlines()[1].split()[-1])

    start = {name: cpu(name) for name in ("web01", "web02", "cache01", "legacy-app")}
    clock.now += 120
    assert cpu("web01") - start["web01"] > 120 * 2 * 0.4  # busy: most of its two vCPUs
    assert 0 < cpu("web02") - start["web02"] < 120 * 2
    assert cpu("cache01") == start["cache01"] and cpu("legacy-app") == start["legacy-app"]


def test_xentop_moves_between_frames(world, clock):
    from hvdeck.backends.sim.xen.xentop import CURRENT, Options, format_frame

    first = world.node_sample()
    clock.now += 2
    second = world.node_sample()
    frame = format_frame(second, first, Options(batch=True, delay=2), CURRENT)
    rows = {line.split()[0]: line.split() for line in frame.splitlines()[1:]}
    assert float(rows["web01"][3]) > 50.0 and float(rows["cache01"][3]) == 0.0
    net_before = {d.name: sum(n.tbytes for n in d.nets) for d in first.domains}
    net_after = {d.name: sum(n.tbytes for n in d.nets) for d in second.domains}
    assert net_after["web02"] > net_before["web02"] and net_after["cache01"] == net_before["cache01"]


def test_xentop_options_and_errors(world):
    assert sh(world, "xentop") == Reply("", "Error opening terminal: unknown.\n", 1)
    usage = sh(world, "xentop -h")
    assert usage.exit_status == 0 and usage.stdout.startswith("Usage: xentop [OPTION]\n")
    bad = sh(world, "xentop -q")
    assert bad.exit_status == 0 and bad.stderr == "xentop: invalid option -- 'q'\n"
    frames = ok(world, "xentop -b -i 3 -d 1")
    assert frames.count("      NAME  STATE") == 3
    from hvdeck.backends.sim.xen.xentop import CURRENT, parse_options

    assert parse_options(["-b", "-i", "0", "-d", "0.5"], CURRENT).iterations is None  # unsigned: runs on
    assert parse_options(["-b", "-i", "0", "-d", "0.5"], CURRENT).delay == 0  # atoi
    repeated = ok(world, "xentop -b -i 1 -r").splitlines()
    assert repeated[0::2] == [repeated[0]] * (len(repeated) // 2)


def test_migration_between_two_worlds_moves_the_guest(world, clock):
    target = XenWorld("xen-b", "xl", seed=2, clock=clock)
    world.peer(target, share_vgs=("san0",))
    stderr, status = run_now(Xl(world).migration(["web02", "xen-b"]))
    assert status == 0
    lines = stderr.splitlines()
    assert lines[0] == "migration target: Ready to receive domain."
    assert lines[-6:] == ["migration sender: Target has acknowledged transfer.",
                          "migration sender: Giving target permission to start.",
                          "migration target: Got permission, starting domain.",
                          "migration target: Domain started successsfully.",
                          "migration sender: Target reports successful startup.", "Migration successful."]
    assert "web02" not in states(world) and states(target)["web02"] == "-b----"
    fails = sh(world, "xl migrate web01 xen-z")
    assert fails.exit_status == 1 and fails.stderr.startswith(
        "ssh: Could not resolve hostname xen-z: Name or service not known\n")
    no_disk = sh(world, "xl migrate db01 xen-b")  # db01's disks are on vg0, which xen-b does not see
    assert no_disk.exit_status == 1 and no_disk.stderr.endswith("Migration failed, resuming at sender.\n")
    assert "failed to stat: /dev/vg0/db01-root" in no_disk.stderr and states(world)["db01"] == "-b----"
