"""hvdeck at fleet scale, side by side with OpenSSH and pssh on the same simulated control domains.

    .venv/bin/python benchmarks/fleet_scale.py [--hosts 50,200,500] [--json-out FILE] [--compare FILE]

One run, on one set of hosts:

* Serves N simulated LDoms control domains (40 domains each: primary and 39 guests, 6 in 8 active) over
  real SSH from a separate process (`fleet_sim.py serve`), each host on its own 127.0.0.1 port with its
  own generated host key, and writes what every client needs: a client key, a known_hosts that trusts
  the hosts, an inventory for hvdeck, an ssh_config for OpenSSH (ControlMaster off: every ssh is a cold
  connection) and a hosts file for pssh. One server process serves the largest N; a smaller N uses the
  first N hosts.
* Measures, with ``--repeat`` runs of each (round-robin, so that a drift of the machine's load spreads
  over every client), wall time, CPU seconds (user + sys, the client's and its children's) and peak RSS
  (of the largest process), and the server process's CPU seconds over the same run:
  - ``hvdeck ls --json`` over all N hosts;
  - a sequential OpenSSH loop, ``for h in hosts; do ssh -F cfg $h ldm list -p; done`` (over the first
    ``--loop-sample`` hosts when N is larger, scaled to N and marked as extrapolated);
  - pssh (``parallel-ssh``) with ``-p 32`` and with ``-p N``, output to a directory;
  - the floor: every host at once, one asyncssh connection each, connect + one ``ldm list -p``, no
    hvdeck (`fleet_sim.py floor`; its own clock, interpreter start-up excluded);
  - the same with an added round-trip time on ``--rtt-hosts`` hosts: netem in a private network
    namespace where the kernel has it, else a user-space TCP proxy that delays each direction by RTT/2
    (`fleet_sim.DelayProxy`).
  Every answer is checked (every host up with 40 domains); a client that got less is reported as failed,
  not timed.
* The live console: ``hvdeck --inventory INV`` in tmux (160x48, a scratch HOME) at the default 2 s
  interval: the time from process start to a full table (the status line says ``N*40 of N*40
  domains``); its CPU % (utime + stime deltas from /proc/PID/stat, one sample a second) and RSS (VmRSS)
  for ``--idle-seconds`` without keys, then for ``--console-seconds`` while keys are sent; and
  key-to-screen latency in the real terminal, ``--key-samples`` of each kind spread over that window:
  a key sent with ``tmux send-keys``, then ``capture-pane -p -e`` in a tight loop (``--poll-sleep-ms``
  between) until the key's own effect shows — the highlighted domain changed (Down, PageDown), the
  filter box opened (``/``), the status line shows the filter (a letter typed in it) or no longer shows
  it (Escape), the sort column changed (``o``). Checking the effect, not any change, keeps the pollers'
  redraws out of the figure. ``raw`` is from the start of send-keys to the end of the capture that
  showed the effect; ``corrected`` subtracts the median cost of one capture-pane (measured with nothing
  sent). Escape includes Textual's ESCDELAY (100 ms): a lone ESC byte is held that long before it
  counts as the Escape key.
* The machine is likely shared: every phase records the load average and the CPU that processes
  outside the benchmark used meanwhile (`Neighbours`), so that a figure taken on a busy machine shows
  as such.

Prints a table of figures (min / median / max) and ratios (median wall times), writes everything as
JSON (``--json-out``), and with ``--compare EARLIER.json`` prints each median against an earlier run.
``--quick`` is N=50, one run of each and 5 + 20 s of console; the smoke test runs
``--quick --no-console --hosts 5 --no-install``.

pssh comes from Debian's ``pssh`` package: if ``parallel-ssh`` is missing the benchmark installs it
(``apt-get install -y pssh``) when run as root, unless ``--no-install``; otherwise pssh is skipped and
the output says so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIM = HERE / "fleet_sim.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

sys.path.insert(0, str(HERE))

MEASURES = ("hvdeck_ls", "ssh_loop", "pssh_p32", "pssh_pN", "floor")
LABELS = {"hvdeck_ls": "hvdeck ls --json", "ssh_loop": "ssh loop (sequential)", "pssh_p32": "pssh -p 32",
          "pssh_pN": "pssh -p N", "floor": "floor (asyncssh, all at once)"}


# -- small helpers ----------------------------------------------------------------------------------


def say(*parts: object) -> None:
    print(*parts, flush=True)


def spread(values: list[float]) -> dict[str, float] | None:
    """min, median, max (None for no values)."""
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (all its threads), in seconds; 0.0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def system_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot (/proc/stat), for the machine's load over a phase."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def loadavg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


class Neighbours:
    """How much CPU other people's processes take while the benchmark measures (the machine is shared).

    Others' CPU over an interval = the machine's busy time (/proc/stat) minus this benchmark's: the CPU
    of every process under one of ``own_roots`` (this process, and the tmux server, which detaches from
    its parent), each counted as utime + stime + cutime + cstime, so that a CPU second is counted once
    whether its process still runs or was reaped by a parent in the tree. A root that ends is `retire`d
    with its last total (its reaper, init, is not ours). Kernel work not charged to any process (softirq
    time in ksoftirqd) counts as others'.
    """

    def __init__(self) -> None:
        self.own_roots: set[int] = {os.getpid()}
        self._retired = 0.0
        self._trees: dict[int, float] = {}

    def _ours(self) -> float:
        table: dict[int, tuple[int, float]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                table[int(entry)] = (int(fields[1]), sum(int(v) for v in fields[11:15]) / CLK_TCK)
        totals = dict.fromkeys(self.own_roots, 0.0)
        for pid, (_, cpu) in table.items():
            cursor = pid
            while cursor in table and cursor not in self.own_roots and cursor > 1:
                cursor = table[cursor][0]
            if cursor in self.own_roots:
                totals[cursor] += cpu
        self._trees = totals
        return sum(totals.values()) + self._retired

    def mark(self) -> tuple[float, float, float]:
        """(now, the machine's busy CPU seconds, this benchmark's CPU seconds)."""
        return time.perf_counter(), system_busy()[0] / CLK_TCK, self._ours()

    def others_percent(self, since: tuple[float, float, float]) -> float:
        """Others' CPU since a `mark`, in % of one core."""
        now = self.mark()
        return round(100 * max(0.0, (now[1] - since[1]) - (now[2] - since[2])) / max(now[0] - since[0], 1e-6), 1)

    def retire(self, root: int) -> None:
        """``root`` (a tree of ours) is about to end: keep its CPU as ours."""
        self._ours()
        self._retired += self._trees.get(root, 0.0)
        self.own_roots.discard(root)


NEIGHBOURS = Neighbours()


def others_mark() -> tuple[float, float, float]:
    return NEIGHBOURS.mark()


def others_percent(since: tuple[float, float, float]) -> float:
    return NEIGHBOURS.others_percent(since)


@dataclass
class Run:
    """One timed run of one client."""

    wall_s: float
    cpu_s: float
    maxrss_mib: float | None
    server_cpu_s: float
    ok: bool
    note: str = ""
    #: the client's own clock where it keeps one (the floor), else None
    inner_s: float | None = None
    #: CPU that other people's processes used meanwhile, in % of one core (`Neighbours`)
    others_cpu_percent: float | None = None


TIME = shutil.which("time", path="/usr/bin:/bin")


def run_measured(argv: list[str], *, env: dict[str, str], stdout: Path, stderr: Path, timeout: float,
                 watch: list[int]) -> tuple[float, float, float | None, int, float]:
    """Run argv to the end: (wall s, CPU s of it and its reaped children, peak RSS MiB of the largest of
    them, exit status, CPU s the ``watch`` processes used meanwhile). Killed (with its process group)
    after ``timeout``.

    The peak RSS comes from /usr/bin/time (GNU time's ``%M``): the ru_maxrss that wait4 reports for a
    child of this process starts at this interpreter's own size, because fork copies the high-water mark
    and exec keeps it; a child of the small `time` program starts near zero. Without /usr/bin/time the
    peak RSS is None.
    """
    before = sum(proc_cpu_seconds(pid) for pid in watch)
    rss_file = stderr.with_name("maxrss")
    prefix = [TIME, "-f", "%M", "-o", str(rss_file)] if TIME else []
    with stdout.open("wb") as out, stderr.open("wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen([*prefix, *argv], stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                   start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(process.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    server = sum(proc_cpu_seconds(pid) for pid in watch) - before
    try:
        rss: float | None = int(rss_file.read_text().split()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        rss = None
    return wall, usage.ru_utime + usage.ru_stime, rss, process.returncode, server


def domain_records(path: Path) -> int:
    """How many DOMAIN records an `ldm list -p` output file holds."""
    try:
        return sum(line.startswith("DOMAIN|") for line in path.read_text(errors="replace").splitlines())
    except OSError:
        return -1


# -- the simulated fleet and the files every client reads -------------------------------------------


class Fleet:
    """The server process (and, for an RTT, the proxy process or the network namespace) and the files
    that describe the first N hosts to each client."""

    def __init__(self, work: Path, hosts: int, domains: int, env: dict[str, str], *, kind: str = "ldoms",
                 prefix: tuple[str, ...] = ()) -> None:
        self.work = work
        self.domains = domains
        #: the inventory's ``kind:`` (ldoms; auto probes with ``ldm -V`` as a new user's inventory would)
        self.kind = kind
        self.env = env
        #: argv prefix of every process that must run where these hosts are (`ip netns exec NAME`)
        self.prefix = list(prefix)
        work.mkdir(parents=True, exist_ok=True)
        self.key = work.parent / "id_ed25519"
        say(f"  starting {hosts} simulated control domains ({domains} domains each) ...")
        start = time.perf_counter()
        with (work / "server.stderr").open("wb") as log:
            self.server = subprocess.Popen(
                [*self.prefix, sys.executable, str(SIM), "serve", "--dir", str(work), "--hosts", str(hosts),
                 "--domains", str(domains), "--client-key", f"{self.key}.pub"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env)
        _wait_ready(self.server, 120 + hosts * 0.5, "the simulated hosts")
        self.hosts = json.loads((work / "hosts.json").read_text())
        self.ports = {h["name"]: h["port"] for h in self.hosts}
        self.proxy: subprocess.Popen | None = None
        self.pids = [self.server.pid]
        say(f"  served in {time.perf_counter() - start:.1f} s (pid {self.server.pid})")

    def add_proxy(self, count: int, rtt_ms: float) -> None:
        """Put the delaying proxy in front of the first ``count`` hosts; clients then reach them through it
        (the other hosts directly)."""
        out = self.work / "proxy.json"
        with (self.work / "proxy.stderr").open("wb") as log:
            self.proxy = subprocess.Popen(
                [sys.executable, str(SIM), "proxy", "--hosts-json", str(self.work / "hosts.json"), "--rtt-ms",
                 str(rtt_ms), "--out", str(out), "--count", str(count)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=self.env)
        _wait_ready(self.proxy, 60, "the delaying proxy")
        self.ports = {**self.ports, **json.loads(out.read_text())}  # the hosts past ``count`` stay direct
        self.pids.append(self.proxy.pid)

    def write_view(self, count: int, tag: str) -> "View":
        """Inventory, ssh_config, known_hosts and pssh hosts file for the first ``count`` hosts."""
        directory = self.work / tag
        directory.mkdir(exist_ok=True)
        hosts = self.hosts[:count]
        known = directory / "known_hosts"
        known.write_text("".join(f"[127.0.0.1]:{self.ports[h['name']]} {h['host_key']}\n" for h in hosts))
        ssh_config = directory / "ssh_config"
        blocks = [f"Host {h['name']}\n    HostName 127.0.0.1\n    Port {self.ports[h['name']]}\n    User root\n"
                  f"    IdentityFile {self.key}\n    UserKnownHostsFile {known}\n" for h in hosts]
        blocks.append("Host *\n    IdentitiesOnly yes\n    GlobalKnownHostsFile /dev/null\n"
                      "    StrictHostKeyChecking yes\n    ControlMaster no\n    ControlPath none\n"
                      "    BatchMode yes\n    LogLevel ERROR\n")
        ssh_config.write_text("".join(blocks))
        empty = directory / "asyncssh_config"
        empty.write_text("")
        inventory = directory / "inventory.yaml"
        lines = ["ssh:", f"  config: {empty}", f"  known_hosts: {known}", "defaults:", "  user: root",
                 f"  kind: {self.kind}", f"  identity_file: {self.key}", "hosts:"]
        lines += [f"  - {{name: {h['name']}, address: 127.0.0.1, port: {self.ports[h['name']]}}}" for h in hosts]
        inventory.write_text("\n".join(lines) + "\n")
        pssh_hosts = directory / "pssh_hosts"
        pssh_hosts.write_text("".join(f"{h['name']}\n" for h in hosts))
        return View(directory, [h["name"] for h in hosts], inventory, ssh_config, pssh_hosts)

    def complaints(self) -> dict[str, str]:
        """What the server and proxy processes wrote on stderr (nothing, when all went well)."""
        out = {}
        for name in ("server", "proxy"):
            text = _tail(self.work / f"{name}.stderr", 2000)
            if text:
                out[name] = text
        return out

    def close(self) -> None:
        for process in (self.proxy, self.server):
            if process is None:
                continue
            try:
                process.stdin.close()  # type: ignore[union-attr]
                process.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen, timeout: float, what: str) -> None:
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore
    reader.start()
    reader.join(timeout)
    if not line or line[0].strip() != b"ready":
        process.kill()
        raise SystemExit(f"fleet_scale: {what} did not start within {timeout:.0f} s")


@dataclass
class View:
    dir: Path
    names: list[str]
    inventory: Path
    ssh_config: Path
    pssh_hosts: Path


# -- the clients ------------------------------------------------------------------------------------


class Clients:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], pssh: str | None) -> None:
        self.args = args
        self.env = env
        self.pssh = pssh
        self.hvdeck = str(Path(sys.executable).with_name("hvdeck"))
        self.runs = 0

    def _out(self, view: View, name: str) -> tuple[Path, Path, Path]:
        self.runs += 1
        base = view.dir / f"{self.runs:04d}-{name}"
        base.mkdir()
        return base, base / "stdout", base / "stderr"

    def measure(self, name: str, view: View, fleet: Fleet) -> Run:
        return getattr(self, name)(view, fleet)

    def hvdeck_ls(self, view: View, fleet: Fleet) -> Run:
        base, out, err = self._out(view, "ls")
        n = len(view.names)
        wall, cpu, rss, status, server = run_measured(
            [*fleet.prefix, self.hvdeck, "ls", "--json", "--inventory", str(view.inventory)], env=self.env,
            stdout=out, stderr=err, timeout=120 + n, watch=fleet.pids)
        note = ""
        try:
            hosts = json.loads(out.read_text())["hosts"]
            bad = [h["name"] for h in hosts if h["status"] != "up" or len(h["domains"]) != fleet.domains]
            if len(hosts) != n or bad:
                note = f"{len(bad)} of {len(hosts)} hosts not up with {fleet.domains} domains ({bad[:3]})"
        except (ValueError, KeyError) as exc:
            note = f"no JSON ({exc}); exit {status}: {_tail(err)}"
        return Run(wall, cpu, rss, server, ok=not note and status == 0, note=note or _status(status, err))

    def ssh_loop(self, view: View, fleet: Fleet) -> Run:
        base, out, err = self._out(view, "loop")
        names = view.names[:self.args.loop_sample]
        hosts_file = base / "hosts"
        hosts_file.write_text("\n".join(names) + "\n")
        script = 'for h in $(cat "$3"); do ssh -F "$1" "$h" ldm list -p > "$2/$h" || exit 1; done'
        wall, cpu, rss, status, server = run_measured(
            [*fleet.prefix, "sh", "-c", script, "sh", str(view.ssh_config), str(base), str(hosts_file)],
            env=self.env, stdout=out, stderr=err, timeout=120 + 5 * len(names), watch=fleet.pids)
        bad = [h for h in names if domain_records(base / h) != fleet.domains]
        scale = len(view.names) / len(names)
        note = f"{len(bad)} of {len(names)} hosts answered wrong ({bad[:3]})" if bad else ""
        if scale != 1:
            note = "; ".join(filter(None, [note, f"first {len(names)} hosts, x{scale:g}"]))
        return Run(wall * scale, cpu * scale, rss, server * scale, ok=not bad and status == 0,
                   note=note or _status(status, err))

    def _pssh(self, view: View, fleet: Fleet, parallel: int, tag: str) -> Run:
        base, out, err = self._out(view, tag)
        outdir = base / "out"
        wall, cpu, rss, status, server = run_measured(
            [*fleet.prefix, self.pssh or "parallel-ssh", "-h", str(view.pssh_hosts), "-x",
             f"-F {view.ssh_config}", "-p", str(parallel), "-t", "0", "-o", str(outdir), "ldm", "list", "-p"],
            env=self.env, stdout=out, stderr=err, timeout=120 + 2 * len(view.names), watch=fleet.pids)
        bad = [h for h in view.names if domain_records(outdir / h) != fleet.domains]
        note = f"{len(bad)} of {len(view.names)} hosts answered wrong ({bad[:3]})" if bad else ""
        return Run(wall, cpu, rss, server, ok=not bad and status == 0, note=note or _status(status, err))

    def pssh_p32(self, view: View, fleet: Fleet) -> Run:
        return self._pssh(view, fleet, 32, "pssh32")

    def pssh_pN(self, view: View, fleet: Fleet) -> Run:
        return self._pssh(view, fleet, len(view.names), "psshN")

    def floor(self, view: View, fleet: Fleet) -> Run:
        base, out, err = self._out(view, "floor")
        port_map = base / "ports.json"
        port_map.write_text(json.dumps(fleet.ports))
        wall, cpu, rss, status, server = run_measured(
            [*fleet.prefix, sys.executable, str(SIM), "floor", "--hosts-json", str(fleet.work / "hosts.json"),
             "--key", str(fleet.key), "--port-map", str(port_map), "--count", str(len(view.names)),
             "--domains", str(fleet.domains)],
            env=self.env, stdout=out, stderr=err, timeout=120 + len(view.names), watch=fleet.pids)
        try:
            result = json.loads(out.read_text().strip().splitlines()[-1])
        except (ValueError, IndexError):
            return Run(wall, cpu, rss, server, ok=False, note=_status(status, err) or "no result")
        ok = result["ok"] == len(view.names) and status == 0
        note = "" if ok else f"{result['failed']} hosts failed: {result['errors']}"
        return Run(wall, cpu, rss, server, ok=ok, note=note, inner_s=result["seconds"])


def _tail(path: Path, limit: int = 300) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return text[-limit:].replace("\n", " | ")


def _status(status: int, err: Path) -> str:
    return "" if status == 0 else f"exit {status}: {_tail(err)}"


#: run with the venv's python and the clients' environment: hvdeck's own `Fleet` keeps every host's
#: connection open, as the console does, and polls every host at once
_WARM = r"""
import asyncio, json, sys, time
from hvdeck.backends import inventory
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.model import HostStatus

async def main(path, rounds):
    fleet = Fleet(inventory.load(path))
    names = list(fleet.hosts)
    async def all_once():
        started = time.perf_counter()
        snaps = await asyncio.gather(*(fleet.poll_host(n) for n in names))
        wall = time.perf_counter() - started
        down = [s.host for s in snaps if s.status is not HostStatus.UP]
        return wall, down
    cold, down = await all_once()
    alone = []  # each host polled by itself over its open connection: RTT + its command + hvdeck's parse
    for n in names:
        started = time.perf_counter()
        await fleet.poll_host(n)
        alone.append(time.perf_counter() - started)
    warm = []
    for _ in range(rounds):
        wall, more = await all_once()
        warm.append(wall)
        down += more
    await fleet.close()
    print(json.dumps({"cold_s": cold, "alone_s": alone, "warm_s": warm, "not_up": sorted(set(down))}))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def warm_refresh(view: View, env: dict[str, str], rounds: int) -> dict:
    """A warm refresh: every host polled at once over connections already open (the console's Ctrl+R),
    against the slowest host polled alone over its open connection (one round trip + its command + the
    parse: the floor of a refresh that waits for every host)."""
    done = subprocess.run([sys.executable, "-c", _WARM, str(view.inventory), str(rounds)], env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]}
    figures = json.loads(done.stdout)
    slowest = max(figures["alone_s"])
    warm = statistics.median(figures["warm_s"])
    return {**figures, "slowest_alone_s": slowest, "median_alone_s": statistics.median(figures["alone_s"]),
            "warm_median_s": warm, "warm_over_slowest": warm / slowest}


def say_warm(w: dict, lead: str = "  warm refresh (every host at once, connections open):") -> None:
    if "error" in w:
        say(f"{lead} FAILED: {w['error']}")
        return
    say(f"{lead} median {w['warm_median_s']:.2f} s of"
        f" {len(w['warm_s'])} (min {min(w['warm_s']):.2f}, max {max(w['warm_s']):.2f}); slowest host alone"
        f" {w['slowest_alone_s'] * 1000:.0f} ms (median host {w['median_alone_s'] * 1000:.0f} ms) ->"
        f" {w['warm_over_slowest']:.1f}x the slowest host alone; cold {w['cold_s']:.2f} s"
        + (f"; not up: {', '.join(w['not_up'][:5])}" if w["not_up"] else ""))


def measure_set(clients: Clients, fleet: Fleet, view: View, measures: list[str], repeat: int) -> dict:
    """Every measure ``repeat`` times, round-robin; their figures."""
    runs: dict[str, list[Run]] = {m: [] for m in measures}
    busy0 = system_busy()
    load0 = loadavg()
    phase_mark = others_mark()
    for attempt in range(repeat):
        for name in measures:
            run_mark = others_mark()
            run = clients.measure(name, view, fleet)
            run.others_cpu_percent = others_percent(run_mark)
            runs[name].append(run)
            mark = "ok" if run.ok else f"FAILED: {run.note}"
            inner = f" (own clock {run.inner_s:.2f} s)" if run.inner_s is not None else ""
            rss = "-" if run.maxrss_mib is None else f"{run.maxrss_mib:.1f}"
            say(f"    [{attempt + 1}/{repeat}] {LABELS[name]:<30} {run.wall_s:7.2f} s{inner}  cpu {run.cpu_s:6.2f} s"
                f"  rss {rss:>6} MiB  server cpu {run.server_cpu_s:5.2f} s  others {run.others_cpu_percent:3.0f}%  {mark}")
            time.sleep(0.5)
    busy1 = system_busy()
    figures: dict[str, object] = {}
    for name, rs in runs.items():
        good = [r for r in rs if r.ok]
        figures[name] = {
            "label": LABELS[name],
            "wall_s": spread([r.wall_s for r in good]),
            "inner_s": spread([r.inner_s for r in good if r.inner_s is not None]),
            "cpu_s": spread([r.cpu_s for r in good]),
            "maxrss_mib": spread([r.maxrss_mib for r in good if r.maxrss_mib is not None]),
            "server_cpu_s": spread([r.server_cpu_s for r in good]),
            "failed": len(rs) - len(good),
            "notes": sorted({r.note for r in rs if r.note}),
            "runs": [asdict(r) for r in rs],
        }
    return {"figures": figures, "load_before": load0, "load_after": loadavg(),
            "machine_busy_percent": round(100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]), 1),
            "others_cpu_percent": others_percent(phase_mark)}


def ratios(figures: dict) -> dict[str, float | None]:
    """Median wall time of hvdeck ls divided by each other client's (below 1: hvdeck ls is faster).
    The floor's own clock is used for the floor (the limit excludes interpreter start-up)."""
    ls = (figures.get("hvdeck_ls") or {}).get("wall_s")
    out: dict[str, float | None] = {}
    for name in MEASURES[1:]:
        if name not in figures:
            continue
        other = figures[name]
        value = other.get("inner_s") if name == "floor" else other.get("wall_s")
        out[name] = round(ls["median"] / value["median"], 3) if ls and value else None
    return out


# -- the live console in tmux -----------------------------------------------------------------------

_SGR = re.compile(r"\x1b\[([0-9;:]*)m")
_ESC = re.compile(r"\x1b\[[0-9;:?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")
_STATUS = re.compile(r"(\d+) of (\d+) domains · sort (\S+)")


class Screen:
    """One `capture-pane -p -e`: the plain lines, the status line, and the highlighted row."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        lines = raw.split("\n")
        self.plain = [_ESC.sub("", line) for line in lines]
        self.status = next((line for line in self.plain if _STATUS.search(line)), "")
        match = _STATUS.search(self.status)
        self.rows, self.total, self.sort = (int(match[1]), int(match[2]), match[3]) if match else (0, 0, "")
        self.filter_open = any("Esc clears" in line for line in self.plain)
        self.cursor = self._cursor(lines)

    def _cursor(self, lines: list[str]) -> tuple[int, str] | None:
        """(line, its HOST and NAME) of the highlighted table row: the one row whose first cell has a
        background no other row has (SGR state carried across lines, as capture-pane -e writes it)."""
        header = next((i for i, line in enumerate(self.plain) if "HOST" in line and "NAME" in line
                       and "CPU%" in line), None)
        end = next((i for i, line in enumerate(self.plain) if _STATUS.search(line)), None)
        if header is None or end is None:
            return None
        background = ""
        first: list[str] = []  # the background of each table line's first cell
        for index, line in enumerate(lines[:end]):
            position = 0
            while line.startswith("\x1b", position):  # the escapes before the first cell
                match = _SGR.match(line, position) or _ESC.match(line, position)
                if match is None:
                    break
                if match.re is _SGR:
                    background = _background(match[1], background)
                position = match.end()
            if index > header:
                first.append(background)
            for match in _SGR.finditer(line, position):
                background = _background(match[1], background)
        counts: dict[str, int] = {}
        for bg in first:
            counts[bg] = counts.get(bg, 0) + 1
        unique = [i for i, bg in enumerate(first) if counts[bg] == 1]
        if len(unique) != 1 or len(first) < 3:
            return None
        index = header + 1 + unique[0]
        return index, " ".join(self.plain[index].split()[:2])


def _background(params: str, current: str) -> str:
    codes = params.split(";") if params else ["0"]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code in ("0", "") or code == "49":
            current = ""
        elif code == "48" and i + 1 < len(codes):
            width = 4 if codes[i + 1] == "2" else 2
            current = ";".join(codes[i:i + width + 1])
            i += width
        elif code.isdigit() and (40 <= int(code) <= 47 or 100 <= int(code) <= 107):
            current = code
        i += 1
    return current


class Console:
    """hvdeck's console in a private tmux server."""

    def __init__(self, work: Path, view: View, env: dict[str, str], hvdeck: str) -> None:
        self.socket = work / "tmux.sock"
        self.env = dict(env, COLORTERM="truecolor")
        self.tmux = ["tmux", "-S", str(self.socket), "-f", "/dev/null"]
        self.argv = [hvdeck, "--inventory", str(view.inventory)]
        self.pid = 0
        self.server = 0
        self.started = 0.0

    def start(self) -> None:
        self.started = time.perf_counter()
        subprocess.run([*self.tmux, "start-server", ";", "set-option", "-g", "default-terminal", "tmux-256color",
                        ";", "new-session", "-d", "-x", "160", "-y", "48", "-s", "fleet", *self.argv],
                       env=self.env, check=True)
        pids = subprocess.run([*self.tmux, "display-message", "-p", "-t", "fleet", "#{pane_pid} #{pid}"],
                              capture_output=True, text=True, check=True).stdout.split()
        self.pid, self.server = int(pids[0]), int(pids[1])
        NEIGHBOURS.own_roots.add(self.server)  # the tmux server detaches: its CPU and the console's are ours

    def capture(self, escapes: bool = True) -> str:
        argv = [*self.tmux, "capture-pane", "-p", "-t", "fleet"] + (["-e"] if escapes else [])
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    def send(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", "fleet", *keys], check=True)

    def alive(self) -> bool:
        return Path(f"/proc/{self.pid}").exists()

    def stop(self) -> None:
        if self.server:
            NEIGHBOURS.retire(self.server)
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)
        deadline = time.monotonic() + 10
        while self.pid and self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.pid and self.alive():
            os.kill(self.pid, signal.SIGKILL)


@dataclass
class KeyKind:
    """A key to send, and how its own effect shows on the screen."""

    name: str
    keys: tuple[str, ...]
    #: (screen before, screen now) -> the key's effect shows
    done: Callable[[Screen, Screen], bool]
    samples: list[float] = field(default_factory=list)
    first_change: list[float] = field(default_factory=list)
    missed: int = 0


def _moved(before: Screen, now: Screen) -> bool:
    return now.cursor is not None and before.cursor is not None and now.cursor[1] != before.cursor[1]


def key_kinds() -> list[KeyKind]:
    letter = "w"
    return [
        KeyKind("Down", ("Down",), _moved),
        KeyKind("PageDown", ("PageDown",), _moved),
        KeyKind("/ (filter opens)", ("/",), lambda b, n: n.filter_open),
        KeyKind(f"filter letter '{letter}'", (letter,), lambda b, n: f"filter: {letter}" in n.status),
        KeyKind("Escape (filter cleared)", ("Escape",), lambda b, n: "filter:" not in n.status and not n.filter_open
                and n.rows == n.total),
        KeyKind("o (sort)", ("o",), lambda b, n: bool(n.sort) and n.sort != b.sort),
    ]


def _cpu_figures(cpu: list[float]) -> dict[str, object]:
    sixth = max(1, len(cpu) // 6)  # does the console cost more as the session ages?
    return {"median": statistics.median(cpu), "p95": percentile(cpu, 95), "max": max(cpu),
            "mean": statistics.fmean(cpu), "first_sixth_mean": statistics.fmean(cpu[:sixth]),
            "last_sixth_mean": statistics.fmean(cpu[-sixth:]), "samples": [round(c, 1) for c in cpu]}


def console_run(work: Path, view: View, env: dict[str, str], hvdeck: str, domains: int, idle: float,
                seconds: float, samples: int, poll_sleep: float) -> dict:
    """First full table; CPU % and RSS over ``idle`` seconds without keys; then CPU %, RSS and
    key-to-screen latency over ``seconds`` (longer when the keys take longer)."""
    expected = len(view.names) * domains
    console = Console(work, view, env, hvdeck)
    result: dict[str, object] = {"hosts": len(view.names), "load_before": loadavg(),
                                 # a lone ESC byte is held this long to tell Escape from an escape sequence
                                 "escdelay_ms": float(env.get("ESCDELAY", 100))}
    try:
        console.start()
        deadline = time.perf_counter() + 120 + len(view.names)
        full = None
        while time.perf_counter() < deadline and console.alive():
            screen = Screen(console.capture(escapes=False))
            if screen.total == expected and screen.rows == expected:
                full = time.perf_counter() - console.started
                break
            time.sleep(0.05)
        if full is None:
            result["error"] = f"the table never showed {expected} domains: {Screen(console.capture()).status!r}"
            return result
        result["first_full_table_s"] = full
        say(f"    first full table ({expected} domains) {full:.2f} s after start")

        # what one capture-pane costs when nothing is expected to change
        costs = []
        for _ in range(30):
            t0 = time.perf_counter()
            console.capture()
            costs.append(time.perf_counter() - t0)
            time.sleep(poll_sleep)
        capture_cost = statistics.median(costs)
        result["capture_cost_ms"] = {"median": capture_cost * 1000, "p95": percentile(costs, 95) * 1000}
        result["poll_sleep_ms"] = poll_sleep * 1000

        cpu: list[float] = []
        rss: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            last_t, last_cpu = time.perf_counter(), proc_cpu_seconds(console.pid)
            while not stop.wait(1.0):
                t, c = time.perf_counter(), proc_cpu_seconds(console.pid)
                cpu.append(100 * (c - last_cpu) / (t - last_t))
                value = proc_rss_mib(console.pid)
                if value is not None:
                    rss.append(value)
                last_t, last_cpu = t, c

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        idle_mark = others_mark()
        time.sleep(idle)
        idle_samples = len(cpu)
        result["idle_others_cpu_percent"] = others_percent(idle_mark)
        window_mark = others_mark()
        window_start = time.perf_counter()
        kinds = key_kinds()
        slot = seconds / (samples * len(kinds))
        for round_ in range(samples):
            for k, kind in enumerate(kinds):
                due = window_start + (round_ * len(kinds) + k) * slot
                if (wait := due - time.perf_counter()) > 0:
                    time.sleep(wait)
                _press(console, kind, poll_sleep, capture_cost)
        while time.perf_counter() - window_start < seconds:
            time.sleep(0.1)
        stop.set()
        sampler.join()
        result["window_s"] = time.perf_counter() - window_start
        result["others_cpu_percent"] = others_percent(window_mark)
        result["idle_s"] = idle
        result["idle_cpu_percent"] = _cpu_figures(cpu[:idle_samples]) if idle_samples else None
        result["cpu_percent"] = _cpu_figures(cpu[idle_samples:])
        result["rss_mib"] = {"start": rss[0], "end": rss[-1], "max": max(rss)}
        keys = {}
        for kind in kinds:
            entry: dict[str, object] = {"n": len(kind.samples), "missed": kind.missed}
            if kind.samples:
                raw = [s * 1000 for s in kind.samples]
                corrected = [max(0.0, s - capture_cost * 1000) for s in raw]
                entry["raw_ms"] = {"median": statistics.median(raw), "p95": percentile(raw, 95), "max": max(raw)}
                entry["corrected_ms"] = {"median": statistics.median(corrected), "p95": percentile(corrected, 95),
                                         "max": max(corrected)}
                entry["first_change_ms"] = {"median": statistics.median(kind.first_change) * 1000}
                entry["samples_ms"] = [round(s, 1) for s in raw]
            keys[kind.name] = entry
        result["keys"] = keys
        result["load_after"] = loadavg()
        return result
    finally:
        console.stop()


KEY_TIMEOUT = 5.0


def _press(console: Console, kind: KeyKind, poll_sleep: float, capture_cost: float) -> None:
    """Bring the screen to where the key means something, send it, wait for its effect."""
    before = Screen(console.capture())
    if kind.name.startswith("filter letter") and not before.filter_open:
        _settle(console, ("/",), lambda s: s.filter_open)
        before = Screen(console.capture())
    if kind.name.startswith("Escape") and "filter:" not in before.status and not before.filter_open:
        _settle(console, ("/", "w"), lambda s: "filter:" in s.status)
        before = Screen(console.capture())
    if kind.name.startswith("/") and before.filter_open:
        _settle(console, ("Escape",), lambda s: not s.filter_open)
        before = Screen(console.capture())
    if kind.name in ("Down", "PageDown") and before.cursor is None:
        # the highlighted row is off screen (Escape leaves the view at the top while the cursor stays on
        # its domain): bring it back first, so that the key's effect is a move, not a scroll to it
        _settle(console, ("Home",), lambda s: s.cursor is not None)
        before = Screen(console.capture())
    start = time.perf_counter()
    console.send(*kind.keys)
    first_change = None
    while True:
        raw = console.capture()
        now = time.perf_counter()
        if raw != before.raw:
            if first_change is None:
                first_change = now - start
            if kind.done(before, Screen(raw)):
                kind.samples.append(now - start)
                kind.first_change.append(first_change)
                return
        if now - start > KEY_TIMEOUT:
            kind.missed += 1
            if kind.name in ("Down", "PageDown"):  # the end of the table: start again at the top
                _settle(console, ("Home",), lambda s: True)
            return
        time.sleep(poll_sleep)


def _settle(console: Console, keys: tuple[str, ...], done) -> None:
    console.send(*keys)
    deadline = time.perf_counter() + KEY_TIMEOUT
    while time.perf_counter() < deadline:
        if done(Screen(console.capture())):
            return
        time.sleep(0.01)


# -- RTT -----------------------------------------------------------------------------------------------


def netem_available() -> bool:
    """Whether the kernel has netem, tried on the loopback of a private network namespace (so the
    machine's own loopback, which other people use, is never touched)."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("tc"):
        return False
    probe = subprocess.run(["unshare", "-n", "sh", "-c",
                            "ip link set lo up && tc qdisc add dev lo root netem delay 1ms"],
                           capture_output=True)
    return probe.returncode == 0


class Netns:
    """A named network namespace whose loopback delays every packet by RTT/2 (netem)."""

    def __init__(self, rtt_ms: float) -> None:
        self.name = f"hvdeck-bench-{os.getpid()}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.prefix = ("ip", "netns", "exec", self.name)
        subprocess.run([*self.prefix, "ip", "link", "set", "lo", "up"], check=True)
        subprocess.run([*self.prefix, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay",
                        f"{rtt_ms / 2}ms"], check=True)

    def close(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


# -- set-up -----------------------------------------------------------------------------------------


def find_pssh(install: bool) -> tuple[str | None, str]:
    """(the parallel-ssh program, what was done to get it or why there is none)."""
    for name in ("parallel-ssh", "pssh"):
        if path := shutil.which(name):
            return path, f"{path} (present)"
    if not install:
        return None, "pssh skipped: parallel-ssh is not installed and --no-install was given"
    if os.geteuid() != 0:
        return None, "pssh skipped: parallel-ssh is not installed and installing it needs root (apt-get install pssh)"
    say("  installing pssh: apt-get install -y pssh")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run(["apt-get", "install", "-y", "pssh"], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env)
        result = subprocess.run(["apt-get", "install", "-y", "pssh"], capture_output=True, text=True, env=env)
    if (path := shutil.which("parallel-ssh")) and result.returncode == 0:
        return path, f"{path} (installed now with apt-get install -y pssh)"
    return None, f"pssh skipped: apt-get install -y pssh failed: {result.stderr.strip()[-200:]}"


def client_env(home: Path) -> dict[str, str]:
    """The clients' environment: a scratch HOME (no ~/.ssh, no settings, no audit log of the user's), no
    SSH agent, no HVDECK_ variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HVDECK_", "XDG_")) and k not in ("SSH_AUTH_SOCK", "SSH_AGENT_PID")}
    env.update(HOME=str(home), LC_ALL="C.UTF-8", PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("TERM", "xterm-256color")
    return env


def write_client_key(work: Path) -> None:
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(work / "id_ed25519"))
    (work / "id_ed25519").chmod(0o600)
    key.write_public_key(str(work / "id_ed25519.pub"))


# -- report -----------------------------------------------------------------------------------------


def _fmt(value: dict | None, digits: int = 2) -> str:
    if not value:
        return "-"
    return f"{value['min']:.{digits}f} / {value['median']:.{digits}f} / {value['max']:.{digits}f}"


def print_report(report: dict) -> None:
    if report["phases"]:  # none with --console-only
        _print_ls(report)
    if any("warm" in p for p in report["phases"]):
        say("\n== warm refresh: every host at once over open connections, against the slowest host alone")
        for phase in report["phases"]:
            if "warm" in phase:
                rtt = f"{phase['rtt_ms']:g}ms" if phase["rtt_ms"] else "-"
                say_warm(phase["warm"], f"{phase['hosts']:>5} {rtt:>6}")
    if report["console"]:
        say("\n== the live console in tmux (160x48, default 2 s interval)")
        for c in report["console"]:
            if "error" in c:
                say(f"{c['hosts']:>5} hosts: {c['error']}")
                continue
            cpu, idle = c["cpu_percent"], c["idle_cpu_percent"]
            say(f"{c['hosts']:>5} hosts: first full table {c['first_full_table_s']:.2f} s after start;"
                f" RSS {c['rss_mib']['start']:.0f} -> {c['rss_mib']['end']:.0f} MiB")
            if idle:
                say(f"       CPU % of one core, no keys, {c['idle_s']:.0f} s: median {idle['median']:.0f},"
                    f" p95 {idle['p95']:.0f}, max {idle['max']:.0f} (others used {c['idle_others_cpu_percent']}%)")
            say(f"       CPU % of one core, keys, {c['window_s']:.0f} s: median {cpu['median']:.0f},"
                f" p95 {cpu['p95']:.0f}, max {cpu['max']:.0f} (first sixth {cpu['first_sixth_mean']:.0f}, last sixth"
                f" {cpu['last_sixth_mean']:.0f}; others used {c['others_cpu_percent']}%; load {c['load_before']} ->"
                f" {c['load_after']})")
            cost = c["capture_cost_ms"]
            say(f"       key to screen, ms (capture-pane costs {cost['median']:.1f} median / {cost['p95']:.1f} p95,"
                f" {c['poll_sleep_ms']:g} ms sleep between captures; corrected = raw - median capture cost;"
                f" Escape includes Textual's ESCDELAY of {c['escdelay_ms']:g} ms)")
            say(f"       {'key':<26} {'n':>3} {'raw median':>11} {'raw p95':>9} {'corr. median':>13} {'corr. p95':>10}"
                f" {'max':>7}  missed")
            for name, k in c["keys"].items():
                if not k["n"]:
                    say(f"       {name:<26} {0:>3}  (never showed its effect within {KEY_TIMEOUT:g} s)")
                    continue
                say(f"       {name:<26} {k['n']:>3} {k['raw_ms']['median']:>11.0f} {k['raw_ms']['p95']:>9.0f}"
                    f" {k['corrected_ms']['median']:>13.0f} {k['corrected_ms']['p95']:>10.0f}"
                    f" {k['raw_ms']['max']:>7.0f}  {k['missed']}")
    for complaint in report.get("complaints", []):
        say(f"\nWARNING: the {complaint}")
    m = report["machine"]
    say(f"\nmachine: {m['cpus']} CPUs; load average at start {m['load_start']}, at end {report['load_end']};"
        f" RTT by {report['rtt_method']}; {report['pssh']}")


def _print_ls(report: dict) -> None:
    say("\n== figures: min / median / max of each client's runs (wall, CPU = user+sys of it and its children)")
    say(f"{'hosts':>5} {'RTT':>6}  {'client':<30} {'wall s':>22} {'CPU s':>22} {'peak RSS MiB':>22}"
        f" {'server CPU s':>14}  notes")
    for phase in report["phases"]:
        rtt = f"{phase['rtt_ms']:g}ms" if phase["rtt_ms"] else "-"
        for name, fig in phase["figures"].items():
            wall = fig["inner_s"] if name == "floor" and fig["inner_s"] else fig["wall_s"]
            notes = "; ".join(fig["notes"])
            if name == "floor" and fig["wall_s"]:
                notes = "; ".join(filter(None, [f"own clock; {fig['wall_s']['median']:.2f} s with start-up",
                                                notes]))
            if fig["failed"]:
                notes = f"{fig['failed']} run(s) FAILED; " + notes
            server = fig["server_cpu_s"]["median"] if fig["server_cpu_s"] else float("nan")
            say(f"{phase['hosts']:>5} {rtt:>6}  {fig['label']:<30} {_fmt(wall):>22} {_fmt(fig['cpu_s']):>22}"
                f" {_fmt(fig['maxrss_mib'], 1):>22} {server:>14.2f}  {notes}")
    for name in report.get("skipped", []):
        say(f"  ({name})")
    say("  machine while measuring (other people's processes, % of one core; load average before -> after):")
    for phase in report["phases"]:
        rtt = f"{phase['rtt_ms']:g}ms" if phase["rtt_ms"] else "-"
        say(f"{phase['hosts']:>7} {rtt:>6}  others {phase['others_cpu_percent']}%, load {phase['load_before']}"
            f" -> {phase['load_after']}")
    say("\n== ratios: hvdeck ls median wall time / the other's (below 1: hvdeck ls is faster; the floor by its"
        " own clock)")
    say(f"{'hosts':>5} {'RTT':>6}  {'vs loop':>20} {'vs pssh -p 32':>20} {'vs pssh -p N':>20} {'vs floor':>20}")
    for phase in report["phases"]:
        rtt = f"{phase['rtt_ms']:g}ms" if phase["rtt_ms"] else "-"
        cells = []
        for name in MEASURES[1:]:
            value = phase["ratios"].get(name)
            cells.append("-" if not value else f"{value:.2f} ({1 / value:.2f}x faster)" if value < 1
                         else f"{value:.2f}")
        say(f"{phase['hosts']:>5} {rtt:>6}  " + " ".join(f"{c:>20}" for c in cells))


def print_comparison(report: dict, earlier: dict) -> None:
    """Each median of this run beside the same figure of an earlier run (``--compare``)."""
    say(f"\n== against {earlier.get('started', 'the earlier run')} (median now / median then)")
    then = {(p["hosts"], p["rtt_ms"], n): f for p in earlier.get("phases", []) for n, f in p["figures"].items()}
    for phase in report["phases"]:
        for name, fig in phase["figures"].items():
            old = then.get((phase["hosts"], phase["rtt_ms"], name))
            key = "inner_s" if name == "floor" else "wall_s"
            if old and old.get(key) and fig.get(key):
                a, b = fig[key]["median"], old[key]["median"]
                say(f"{phase['hosts']:>5} {phase['rtt_ms']:>5g}ms {fig['label']:<30} {a:8.2f} s / {b:8.2f} s"
                    f" = {a / b:5.2f}")
    old_console = {c["hosts"]: c for c in earlier.get("console", []) if "error" not in c}
    for c in report["console"]:
        o = old_console.get(c["hosts"])
        if not o or "error" in c:
            continue
        say(f"{c['hosts']:>5} console: first full table {c['first_full_table_s']:.2f} / {o['first_full_table_s']:.2f} s;"
            f" CPU median {c['cpu_percent']['median']:.0f} / {o['cpu_percent']['median']:.0f} %")
        for name, k in c["keys"].items():
            ok = o["keys"].get(name)
            if k.get("corrected_ms") and ok and ok.get("corrected_ms"):
                say(f"        {name:<26} median {k['corrected_ms']['median']:.0f} / {ok['corrected_ms']['median']:.0f} ms,"
                    f" p95 {k['corrected_ms']['p95']:.0f} / {ok['corrected_ms']['p95']:.0f} ms")


# -- main -------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", default=None, help="comma-separated host counts (default 50,200,500)")
    parser.add_argument("--domains", type=int, default=40, help="domains per host, primary included (default 40)")
    parser.add_argument("--repeat", type=int, default=None, help="runs of each client (default 3; --quick 1)")
    parser.add_argument("--loop-sample", type=int, default=200,
                        help="the sequential ssh loop covers at most this many hosts and is scaled to N")
    parser.add_argument("--rtt-ms", type=float, default=50.0, help="added round-trip time (default 50)")
    parser.add_argument("--rtt-hosts", type=int, default=200, help="hosts of the RTT runs (default 200)")
    parser.add_argument("--rtt-method", choices=("auto", "netem", "proxy"), default="auto",
                        help="auto: netem where the kernel has it, else the user-space proxy")
    parser.add_argument("--no-rtt", action="store_true", help="skip the runs with an added RTT")
    parser.add_argument("--no-console", action="store_true", help="skip the live console in tmux")
    parser.add_argument("--console-only", action="store_true",
                        help="only the live console (no hvdeck ls, loop or pssh runs; no RTT runs)")
    parser.add_argument("--console-seconds", type=float, default=None, help="sampling window (default 60; --quick 20)")
    parser.add_argument("--idle-seconds", type=float, default=None,
                        help="CPU sampled without keys before the key window (default 20; --quick 5)")
    parser.add_argument("--key-samples", type=int, default=None, help="samples per key kind (default 20; --quick 5)")
    parser.add_argument("--poll-sleep-ms", type=float, default=3.0, help="sleep between two captures (default 3)")
    parser.add_argument("--kind", choices=("ldoms", "auto"), default="ldoms", help="the inventory's kind: (default ldoms)")
    parser.add_argument("--no-install", action="store_true", help="never install pssh; skip it when missing")
    parser.add_argument("--quick", action="store_true", help="N=50, one run of each, 20 s of console")
    parser.add_argument("--json-out", metavar="FILE", help="write every figure as JSON")
    parser.add_argument("--compare", metavar="FILE", help="an earlier --json-out to compare medians with")
    parser.add_argument("--keep", action="store_true", help="keep the generated keys, configs and outputs")
    args = parser.parse_args(argv)
    args.hosts = [int(h) for h in (args.hosts or ("50" if args.quick else "50,200,500")).split(",")]
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.console_seconds = args.console_seconds or (20.0 if args.quick else 60.0)
    args.key_samples = args.key_samples or (5 if args.quick else 20)
    args.idle_seconds = args.idle_seconds if args.idle_seconds is not None else (5.0 if args.quick else 20.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # a TERM (a stopped CI job, a kill) ends the run through the finally blocks: no servers or tmux left
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    say(f"fleet_scale: {started}; hosts {args.hosts} x {args.domains} domains; {args.repeat} run(s) of each;"
        f" load average {loadavg()} on {os.cpu_count()} CPUs")
    for tool in ("ssh", "sh") + (() if args.no_console else ("tmux",)):
        if not shutil.which(tool):
            raise SystemExit(f"fleet_scale: {tool} is needed")
    pssh, pssh_note = find_pssh(not args.no_install)
    say(f"  {pssh_note}")
    measures = [m for m in MEASURES if pssh or not m.startswith("pssh")]
    skipped = [] if pssh else [pssh_note]

    work = Path(tempfile.mkdtemp(prefix="hvdeck-fleet-"))
    home = work / "home"
    home.mkdir()
    env = client_env(home)
    write_client_key(work)
    report: dict = {"started": started, "args": {k: v for k, v in vars(args).items()}, "phases": [],
                    "console": [], "skipped": skipped, "pssh": pssh_note,
                    "machine": {"cpus": os.cpu_count(), "load_start": loadavg(), "python": sys.version.split()[0],
                                "commit": _commit()}}
    fleet = rtt_fleet = None
    netns = None
    try:
        fleet = Fleet(work / "hosts", max(args.hosts), args.domains, env, kind=args.kind)
        clients = Clients(args, env, pssh)
        for n in sorted(args.hosts):
            view = fleet.write_view(n, f"direct-{n}")
            say(f"\n== {n} hosts, loopback (load average {loadavg()})")
            if not args.console_only:
                phase = measure_set(clients, fleet, view, measures, args.repeat)
                phase["warm"] = warm_refresh(view, env, max(3, args.repeat))
                say_warm(phase["warm"])
                report["phases"].append({"hosts": n, "rtt_ms": 0, **phase, "ratios": ratios(phase["figures"])})
            if not args.no_console:
                say(f"  console: {n} hosts in tmux for {args.console_seconds:g} s (load average {loadavg()})")
                c = console_run(view.dir, view, env, clients.hvdeck, args.domains, args.idle_seconds,
                                args.console_seconds, args.key_samples, args.poll_sleep_ms / 1000)
                report["console"].append(c)
                if "error" in c:
                    say(f"    console FAILED: {c['error']}")
        report["rtt_method"] = "none"
        if not args.no_rtt and not args.console_only:
            r = min(args.rtt_hosts, max(args.hosts))
            method = args.rtt_method
            if method == "auto":
                method = "netem" if netem_available() else "proxy"
            if method == "netem":
                netns = Netns(args.rtt_ms)
                rtt_fleet = Fleet(work / "hosts-netem", r, args.domains, env, kind=args.kind, prefix=netns.prefix)
                report["rtt_method"] = f"netem on the loopback of network namespace {netns.name}"
            else:
                rtt_fleet = fleet
                fleet.add_proxy(r, args.rtt_ms)
                report["rtt_method"] = ("a user-space delaying TCP proxy (the kernel has no netem)"
                                        if args.rtt_method == "auto" else "a user-space delaying TCP proxy")
            view = rtt_fleet.write_view(r, f"rtt-{r}")
            say(f"\n== {r} hosts, {args.rtt_ms:g} ms RTT by {report['rtt_method']} (load average {loadavg()})")
            phase = measure_set(clients, rtt_fleet, view, measures, args.repeat)
            phase["warm"] = warm_refresh(view, env, max(3, args.repeat))
            say_warm(phase["warm"])
            report["phases"].append({"hosts": r, "rtt_ms": args.rtt_ms, **phase, "ratios": ratios(phase["figures"])})
    finally:
        for f in {id(f): f for f in (fleet, rtt_fleet) if f is not None}.values():
            f.close()
            for name, text in f.complaints().items():
                report.setdefault("complaints", []).append(f"{name} ({f.work.name}): {text}")
        if netns is not None:
            netns.close()
        if args.keep:
            say(f"\nkept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report["load_end"] = loadavg()
    print_report(report)
    if args.compare:
        print_comparison(report, json.loads(Path(args.compare).read_text()))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=1) + "\n")
        say(f"\nwritten: {args.json_out}")
    failed = any(f["failed"] for p in report["phases"] for f in p["figures"].values()) or \
        any("error" in c for c in report["console"])
    return 1 if failed else 0


def _commit() -> str | None:
    result = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or None


if __name__ == "__main__":
    sys.exit(main())
