"""Xen dom0s — xl (Xen >= 4.1), xm (xend, Xen <= 4.4) and Sun xVM (xm, virsh and vdiskadm on OpenSolaris) —
over the host's session.

**Probe** (`open`): `xl info`, else `xm info` (on an OpenSolaris dom0, `uname -s` says SunOS: Sun xVM) give
the toolstack, the Xen version and the host's totals; one `xentop -b -i 1` (with `-f` where xentop has it)
says whether the live stream can run.

**The table** comes from ONE long-lived `xentop -b -d INTERVAL` per host (`session.stream`), parsed as it
arrives by `xentop.XentopStream` in a background task; a frame is complete when the next header arrives
(shared/formats/xen.md §1.2). `poll` returns the rows of the newest complete frame (live.py: rates from
the counter deltas between frames), waiting briefly when the next frame is due, and each new frame asks
the fleet to poll at once (`on_change`), so the table moves with xentop. When the stream ends, fails or
falls silent it is started again with a backoff, and meanwhile `poll` raises `StreamDown` (a
`CommandTimeout`: the fleet shows the host stale with its last rows). Where xentop is missing, each poll
runs `xl list` / `xm list` instead (CPU % from CPU-time deltas, no network or disk rates).

**The catalog**, read when the host is opened, every `CATALOG_TTL` seconds, when a domain appears, goes
away or restarts, when xentop cut a name it cannot place, and after any command hvdeck ran: `xl list` /
`xm list` (full names for the ones xentop cut to 10 characters, domain ids, xend-managed domains that are
not running), `xl info` (free memory), `ls /etc/xen` and `cat` of each new `*.cfg` (guests that are not
running: listed as stopped, `Domain.handle` the config path, started with `xl create PATH`), and `ls`
of the save directory (saved images: started with `xl restore PATH`).

Bindings, actions, consoles and the wizards are described where they are built (plans.py for the plans).
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ..base import Action, Backend, ExtraAction, parse_off_loop
from ..errors import (
    AuthFailed,
    CommandFailed,
    HostKeyProblem,
    HvdeckError,
    ParseError,
    SshConfigError,
    Unsupported,
    ValidationError,
    describe,
)
from ..inventory import HostSpec
from ..model import (
    Bindings,
    ConsoleDev,
    ConsoleRef,
    Cpu,
    Disk,
    Domain,
    DomainState,
    FreeResources,
    HostInfo,
    HostSnapshot,
    Memory,
    Network,
    Nic,
    Section,
    StoragePool,
    VcpuPin,
    Volume,
)
from ..options import Choice, Form, format_size
from ..plan import Operation, Plan
from ..transport.base import Channel, CommandTimeout, OutputCallback, Result, Session
from . import commands, live, parse, plans, states, storage
from .cfg import ConfigFacts, parse_config
from .commands import Toolstack
from .xentop import XentopFrame, XentopStream, parse_xentop

log = logging.getLogger(__name__)

LOOPBACK = ("127.", "::1", "localhost")


class StreamDown(CommandTimeout):
    """The host's xentop stream is not running (it ended, failed or fell silent) and is being started
    again: the host is stale, its connection stays."""

    title = "Live statistics interrupted"


@dataclass
class Catalog:
    """What the slower commands said (see the module docstring); ``at`` is the monotonic time it was read."""

    listed: dict[str, live.Listed] = field(default_factory=dict)
    #: xend-managed domains that are not running (xm list rows with no id)
    managed: tuple[Domain, ...] = ()
    configs: dict[str, ConfigFacts] = field(default_factory=dict)
    bad_configs: dict[str, str] = field(default_factory=dict)
    saved: tuple[str, ...] = ()
    totals: parse.HostTotals | None = None
    at: float = 0.0


class XenBackend(Backend):
    kind = "xen"
    ACTIONS = frozenset({Action.START, Action.SHUTDOWN, Action.REBOOT, Action.PAUSE, Action.UNPAUSE,
                         Action.FORCE_OFF})
    RATE_SAMPLES = 2
    #: seconds the catalog is reused
    CATALOG_TTL: ClassVar[float] = 30.0
    CONFIG_DIR: ClassVar[str] = commands.CONFIG_DIR
    #: longest wait between two starts of a failing stream
    BACKOFF_MAX: ClassVar[float] = 30.0
    #: a poll waits at most this long for a frame that is due (the fleet's poll limit is 30 s)
    WAIT_MAX: ClassVar[float] = 20.0
    #: directories where xVM guests' disks live (vdiskadm's vdisks, virt-install's files)
    XVM_DIRS: ClassVar[tuple[str, ...]] = ("/export/vdisks", "/export/images")

    def __init__(self, spec: HostSpec, session: Session) -> None:
        super().__init__(spec, session)
        self.toolstack = Toolstack.XL
        self.xvm = False
        self.solaris = False
        self.totals: parse.HostTotals | None = None
        self.interval = commands.validate_interval(max(1, min(3600, round(spec.poll_interval))))
        self.full_names = True
        #: False where xentop is missing: polls run `xl list` / `xm list`
        self.streaming = False
        self._task: asyncio.Task[None] | None = None
        self._latest: live.Sample | None = None
        self._previous: live.Sample | None = None
        self._latest_received = 0.0
        self._seq = 0
        self._returned = -1
        self._returned_rates = False
        self._frame_event = asyncio.Event()
        self._waiting = 0
        #: why the stream is not running now (None while it runs), and the error that ended it
        self._down: str | None = None
        self._down_error: BaseException | None = None
        self._catalog: Catalog | None = None
        self._catalog_due = True
        self._catalog_frame: XentopFrame | None = None
        self._unplaced: frozenset[str] = frozenset()
        self._list_prev: dict[str, tuple[float, float]] = {}
        self._names: frozenset[str] = frozenset()
        self._view_cache: tuple[int, live.XentopView] | None = None
        self._closed = False

    @property
    def dom0(self) -> plans.Dom0:
        return plans.Dom0(self.spec.name, self.toolstack, self.xvm)

    def facts(self) -> tuple[tuple[str, str], ...]:
        """What the probe learned that the plans and forms depend on (`HostInfo.facts`, `adopt`)."""
        return (("toolstack", self.toolstack.value), ("solaris", "yes" if self.solaris else "no"))

    def adopt(self, facts: tuple[tuple[str, str], ...]) -> None:
        known = dict(facts)
        if known.get("toolstack") in {t.value for t in Toolstack}:
            self.toolstack = Toolstack(known["toolstack"])
        if "solaris" in known:
            self.solaris = known["solaris"] == "yes"
        self.xvm = self.toolstack is Toolstack.XM and self.solaris

    # -- probe --------------------------------------------------------------------------------------------

    @classmethod
    async def detect(cls, session: Session, spec: HostSpec) -> bool:
        """`xl info` or `xm info` answers (read-only), or virsh reaches a xen:// hypervisor (Sun xVM)."""
        for argv in (commands.info(Toolstack.XL), commands.info(Toolstack.XM), ("virsh", "uri")):
            try:
                result = await session.run(list(argv), check=False, timeout=20.0)
            except HvdeckError:
                return False
            if result.ok and (argv[0] != "virsh" or result.stdout.strip().startswith("xen:")):
                if argv[0] == "virsh":
                    return True
                try:
                    parse.parse_info(result.stdout)
                except ParseError:
                    continue
                return True
        return False

    async def open(self) -> HostInfo:
        await self.session.connect()
        notes: list[str] = []
        result = await self.session.run(list(commands.info(Toolstack.XL)), check=False, timeout=30.0)
        if result.ok:
            self.toolstack = Toolstack.XL
        else:
            first = result.stderr.strip() or f"exit status {result.exit_status}"
            result = await self.session.run(list(commands.info(Toolstack.XM)), check=False, timeout=30.0)
            if not result.ok:
                raise HvdeckError(f"{self.spec.name}: neither `xl info` ({first[:200]}) nor `xm info` "
                                  f"({(result.stderr.strip() or f'exit status {result.exit_status}')[:200]}) "
                                  "answers: is this a Xen dom0?", title="Not a Xen dom0")
            self.toolstack = Toolstack.XM
        self.totals = parse.parse_info(result.stdout)
        uname = await self.session.run(["uname", "-s"], check=False, timeout=20.0)
        self.solaris = uname.ok and uname.stdout.strip() == "SunOS"
        self.xvm = self.toolstack is Toolstack.XM and self.solaris
        probe = await self._probe_xentop()
        if probe is not None:
            self.streaming = True
            self._take(probe, time.monotonic(), first_line_at=time.monotonic())
        else:
            notes.append("xentop is not available: the table comes from "
                         f"{self.toolstack.value} list, without network and disk rates")
        self._catalog_due = True
        await self._refresh_catalog(notes)
        self._catalog_frame = probe
        if self.streaming:
            self._task = asyncio.get_running_loop().create_task(self._pump(), name=f"xentop:{self.spec.name}")
        totals = self.totals
        scheduler = totals.scheduler or "unknown"
        word = "Sun xVM (xm)" if self.xvm else self.toolstack.value
        summary = f"{totals.nr_cpus or '?'} CPUs"
        if totals.cpu_mhz:
            summary += f" @ {totals.cpu_mhz:.0f} MHz"
        if totals.total_memory_bytes is not None:
            summary += f", {totals.total_memory_bytes / 2**30:.1f}G memory"
            if totals.free_memory_bytes is not None:
                summary += f" ({totals.free_memory_bytes / 2**30:.1f}G free when connected)"
        return HostInfo(kind=self.kind, hypervisor=f"Xen, {word} toolstack, {scheduler} scheduler",
                        version=totals.xen_version or "", hostname=totals.hostname or "", cpus=totals.nr_cpus,
                        memory_bytes=totals.total_memory_bytes, notes=(summary, *notes), facts=self.facts())

    async def _probe_xentop(self) -> XentopFrame | None:
        """One frame of `xentop -b -i 1`, with -f first (Xen >= 4.0); None where neither answers with a frame."""
        for full in (True, False):
            try:
                result = await self.session.run(list(commands.xentop(1, iterations=1, full_names=full)),
                                                check=False, timeout=30.0)
            except CommandTimeout:
                continue
            if not result.ok:
                continue
            try:
                frames = await parse_off_loop(parse_xentop, result.stdout)
            except ParseError:
                continue  # a xentop without -f prints its usage
            if frames:
                self.full_names = full
                return frames[-1]
        return None

    async def close(self) -> None:
        """Stop the stream. Cancelled while its channel opens, the stream task may not see the cancellation
        (Python 3.11's `asyncio.wait_for` can swallow it when what it waits for completes at the same moment),
        so it is cancelled again until it ends, and it also stops by itself once `_closed` is set."""
        self._closed = True
        task, self._task = self._task, None
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)

    # -- the stream ---------------------------------------------------------------------------------------

    def _argv(self) -> tuple[str, ...]:
        return commands.xentop(self.interval, full_names=self.full_names)

    async def _pump(self) -> None:
        """Run xentop for as long as the backend is open, starting it again (with a growing, jittered pause)
        whenever it ends."""
        backoff = 1.0
        while not self._closed:
            try:
                frames, reason, error = await self._stream_once()
            except Exception as exc:  # a bug must not end the stream for good: report it, start again
                log.exception("%s: xentop stream", self.spec.name)
                frames, reason, error = 0, f"xentop stream: {describe(exc)}", exc
            self._down, self._down_error = reason, error
            log.info("%s: %s", self.spec.name, reason)
            self._wake()
            if frames:
                backoff = 1.0
            delay = backoff * random.uniform(0.8, 1.2)
            backoff = min(backoff * 2, self.BACKOFF_MAX)
            await asyncio.sleep(delay)

    async def _stream_once(self) -> tuple[int, str, BaseException | None]:
        """One run of xentop: (frames taken, why it ended, the error that ended it)."""
        parser = XentopStream()
        stream = self.session.stream(self._argv())
        frames = 0
        first_line: float | None = None
        silence = 3 * self.interval + 10.0
        try:
            async with stream:
                lines = stream.__aiter__()
                while True:
                    try:
                        async with asyncio.timeout(silence):
                            line = await anext(lines)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        return frames, f"xentop printed nothing for {silence:g}s", None
                    if self._closed:
                        return frames, "closed", None
                    now = time.monotonic()
                    if first_line is None:
                        first_line = now
                    for frame in parser.feed(line + "\n"):
                        first_line = self._take(frame, now, first_line)
                        frames += 1
            for frame in parser.close():
                self._take(frame, time.monotonic(), first_line or time.monotonic())
                frames += 1
            tail = stream.stderr_tail.strip()
            return frames, (f"xentop ended (exit status {stream.exit_status})" +
                            (f": {tail[-300:]}" if tail else "")), None
        except ParseError as exc:
            return frames, f"xentop printed what hvdeck cannot read: {exc.message}", exc
        except HvdeckError as exc:
            return frames, f"xentop stream: {describe(exc)}", exc

    def _take(self, frame: XentopFrame, now: float, first_line_at: float) -> float:
        """Keep a complete frame; returns when the next frame began (the line that completed this one)."""
        self._seq += 1
        sample = live.Sample(frame, first_line_at, self._seq)
        latest = self._latest
        consecutive = latest is not None and latest.frame.index == frame.index - 1 and frame.index > 0
        self._previous = latest if consecutive else None
        self._latest = sample
        self._latest_received = now
        self._down, self._down_error = None, None
        waiting = self._waiting
        self._wake()
        if not waiting and self.on_change is not None and self._returned >= 0:
            self.on_change()
        return now

    def _wake(self) -> None:
        event, self._frame_event = self._frame_event, asyncio.Event()
        event.set()

    async def _wait_frame(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._waiting += 1
        try:
            await asyncio.wait_for(self._frame_event.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self._waiting -= 1

    async def _next_sample(self) -> live.Sample:
        """The frame a poll returns (see the module docstring)."""
        latest = self._latest
        now = time.monotonic()
        if latest is not None and latest.seq != self._returned and (self._returned_rates or latest.frame.index > 0
                                                                     or self._returned < 0):
            return latest
        if self._down is None:
            if not self._returned_rates:
                limit = min(self.WAIT_MAX, 2 * self.interval + 5.0)
            elif latest is not None:
                limit = min(5.0, self._latest_received + self.interval + 1.0 - now)
            else:
                limit = 0.0
            end = now + limit
            while time.monotonic() < end and self._down is None:
                await self._wait_frame(end - time.monotonic())
                latest = self._latest
                if latest is not None and latest.seq != self._returned and (self._returned_rates or
                                                                            latest.frame.index > 0):
                    return latest
        latest = self._latest
        error = self._down_error
        if isinstance(error, (HostKeyProblem, AuthFailed, SshConfigError)):
            raise error
        if self._down is not None and (latest is None or latest.seq == self._returned):
            raise StreamDown(f"{self.spec.name}: {self._down}; starting it again")
        if latest is None:
            raise StreamDown(f"{self.spec.name}: no xentop frame yet")
        silent = time.monotonic() - self._latest_received
        if latest.seq == self._returned and silent > 3 * self.interval + 10.0:
            raise StreamDown(f"{self.spec.name}: no xentop frame for {silent:.0f}s")
        return latest

    # -- polls ----------------------------------------------------------------------------------------

    async def poll(self) -> tuple[Domain, ...]:
        if not self.streaming:
            return await self._poll_list()
        sample = await self._next_sample()
        catalog = await self._catalog_for(sample.frame)
        previous = self._previous if self._previous is not None and self._previous.seq == sample.seq - 1 else None
        rows = live.live_rows(self.spec.name, sample, previous, catalog.listed, interval=self.interval,
                              console=self._console_word())
        self._returned = sample.seq
        self._returned_rates = self._returned_rates or sample.frame.index > 0
        domains = tuple(row.domain for row in rows if row.domain is not None)
        self._names = frozenset(d.name for d in domains)
        return domains + self._stopped(catalog, self._names)

    async def _catalog_for(self, frame: XentopFrame) -> Catalog:
        """The catalog, read again when it is due or the frame has domains it does not account for."""
        catalog = self._catalog
        due = (catalog is None or self._catalog_due or time.monotonic() - catalog.at > self.CATALOG_TTL
               or live.renamed_or_restarted(frame, self._catalog_frame))
        if not due and catalog is not None:
            unplaced = frozenset(live.unresolved(frame, catalog.listed))
            due = bool(unplaced - self._unplaced)
            self._unplaced = unplaced
        if due or catalog is None:
            catalog = await self._refresh_catalog()
            self._catalog_frame = frame
            self._unplaced = frozenset(live.unresolved(frame, catalog.listed))
        return catalog

    async def _poll_list(self) -> tuple[Domain, ...]:
        """Where xentop is missing: one `xl list` / `xm list` a poll, CPU % from Time(s) deltas."""
        result = await self.session.run(list(commands.list_domains(self.toolstack)))
        parser = parse.parse_xl_list if self.toolstack is Toolstack.XL else parse.parse_xm_list
        listed = await parse_off_loop(parser, result.stdout, self.spec.name)
        now = time.monotonic()
        order = states.XL if self.toolstack is Toolstack.XL else states.XM
        rows: list[Domain] = []
        seen: dict[str, tuple[float, float]] = {}
        for domain in listed:
            if domain.id is None:
                continue  # xend-managed and not running: from the catalog, with the config files
            seconds = float(next((v for k, v in domain.extra if k == "time(s)"), "0"))
            seen[domain.name] = (seconds, now)
            old = self._list_prev.get(domain.name)
            pct = None
            if old is not None and now > old[1] and seconds >= old[0] and domain.vcpus:
                pct = min(100.0, (seconds - old[0]) / (now - old[1]) / domain.vcpus * 100)
            rows.append(replace(domain, cpu_percent=pct, extra=domain.extra + (("letters", order),),
                                console=None if states.is_dom0(domain) else self._console_word()))
        self._list_prev = seen
        catalog = self._catalog
        if catalog is None or self._catalog_due or now - catalog.at > self.CATALOG_TTL:
            catalog = await self._refresh_catalog(listing=listed)
        self._names = frozenset(d.name for d in rows)
        return tuple(rows) + self._stopped(catalog, self._names)

    def _console_word(self) -> str:
        return "virsh" if self.xvm else self.toolstack.value

    # -- the catalog ------------------------------------------------------------------------------------

    async def _refresh_catalog(self, notes: list[str] | None = None,
                               listing: Sequence[Domain] | None = None) -> Catalog:
        old = self._catalog or Catalog()
        ts = self.toolstack

        async def run(argv: Sequence[str], limit: int | None = None) -> Result:
            return await self.session.run(list(argv), check=False, timeout=30.0, limit=limit)

        listing_result, info, configs, saved = await asyncio.gather(
            run(commands.list_domains(ts)) if listing is None else _none(), run(commands.info(ts)),
            run(commands.list_dir(self.CONFIG_DIR)), run(commands.list_dir(commands.SAVE_DIR)))
        if listing is None:
            assert listing_result is not None
            if not listing_result.ok:
                raise CommandFailed(listing_result.argv, listing_result.exit_status, listing_result.stderr)
            parser = parse.parse_xl_list if ts is Toolstack.XL else parse.parse_xm_list
            listing = await parse_off_loop(parser, listing_result.stdout, self.spec.name)
        totals = self.totals
        if info.ok:
            try:
                totals = parse.parse_info(info.stdout)
            except ParseError as exc:
                log.debug("%s: %s", self.spec.name, exc)
        self.totals = totals
        catalog = Catalog(listed=live.listed_from(listing),
                          managed=tuple(replace(d, extra=d.extra + (("managed", "xend"),)) for d in listing
                                        if d.id is None),
                          totals=totals, at=time.monotonic())
        paths = []
        if configs.ok:
            for name in storage.parse_ls(configs.stdout):
                if not name.endswith(".cfg"):
                    continue
                try:
                    paths.append(commands.validate_path(posixpath.join(self.CONFIG_DIR, name)))
                except ValidationError:
                    continue
        fresh = [path for path in paths if path not in old.configs and path not in old.bad_configs]
        texts = await asyncio.gather(*(run(commands.read_file(path), limit=256 * 1024) for path in fresh),
                                     return_exceptions=True)
        for path in paths:
            if path in old.configs:
                catalog.configs[path] = old.configs[path]
            elif path in old.bad_configs:
                catalog.bad_configs[path] = old.bad_configs[path]
        for path, text in zip(fresh, texts):
            if isinstance(text, BaseException):
                catalog.bad_configs[path] = describe(text)
            elif not text.ok:
                catalog.bad_configs[path] = text.stderr.strip()[:300] or f"cat exited {text.exit_status}"
            else:
                try:
                    catalog.configs[path] = parse_config(text.stdout, path)
                except ParseError as exc:
                    catalog.bad_configs[path] = exc.message
        if saved.ok:
            found = []
            for name in storage.parse_ls(saved.stdout):
                if name.endswith(commands.SAVE_SUFFIX):
                    try:
                        found.append(commands.validate_path(posixpath.join(commands.SAVE_DIR, name)))
                    except ValidationError:
                        continue
            catalog.saved = tuple(found)
        self._catalog = catalog
        self._catalog_due = False
        if notes is not None and catalog.bad_configs:
            notes.append(f"{len(catalog.bad_configs)} config file(s) in {self.CONFIG_DIR} could not be read")
        return catalog

    def _stopped(self, catalog: Catalog, running: frozenset[str]) -> tuple[Domain, ...]:
        """Guests that are not running: saved images, xend-managed domains, config files (in that order of
        precedence when a name has several)."""
        rows: list[Domain] = []
        seen = set(running)
        host = self.spec.name
        for path in catalog.saved:
            name = posixpath.basename(path)[:-len(commands.SAVE_SUFFIX)]
            if name and name not in seen:
                seen.add(name)
                rows.append(Domain(host=host, name=name, state=DomainState.STOPPED, native_state="saved", handle=path,
                                   extra=(("saved", path),)))
        for domain in catalog.managed:
            if domain.name not in seen:
                seen.add(domain.name)
                rows.append(replace(domain, console=None))
        for path, facts in catalog.configs.items():
            name = facts.name or posixpath.basename(path)[:-4]
            if name in seen:
                continue
            seen.add(name)
            # the config's uuid, when it has a well-formed one: the guest's identity across hosts (a copy
            # left behind by a migration is then known as the guest running elsewhere: `policy.running_twin`)
            uuid = facts.uuid if facts.uuid and parse.UUID_RE.fullmatch(facts.uuid) else None
            rows.append(Domain(host=host, name=name, state=DomainState.STOPPED, native_state="config", uuid=uuid,
                               vcpus=facts.vcpus or 1, memory_bytes=facts.memory_bytes,
                               max_memory_bytes=facts.maxmem_mib * 2**20 if facts.maxmem_mib else facts.memory_bytes,
                               handle=path, extra=(("config", path),)))
        for path, error in catalog.bad_configs.items():
            name = posixpath.basename(path)[:-4]
            if name and name not in seen:
                seen.add(name)
                rows.append(Domain(host=host, name=name, state=DomainState.UNKNOWN, native_state="unreadable config",
                                   extra=(("config", path), ("error", error[:200]))))
        return tuple(rows)

    def _config_of(self, name: str) -> ConfigFacts | None:
        catalog = self._catalog
        if catalog is None:
            return None
        return next((facts for facts in catalog.configs.values() if facts.name == name), None)

    # -- the xentop screen ----------------------------------------------------------------------------

    def xentop_view(self) -> live.XentopView | None:
        """The latest frame for the xentop screen (immutable), or None before the first one (or where xentop
        is missing). Built once per frame."""
        sample = self._latest
        if sample is None:
            return None
        cached = self._view_cache
        if cached is not None and cached[0] == sample.seq and cached[1].stale == self._down:
            return cached[1]
        catalog = self._catalog or Catalog()
        previous = self._previous if self._previous is not None and self._previous.seq == sample.seq - 1 else None
        totals = catalog.totals or self.totals
        view = live.XentopView(
            host=self.spec.name, seq=sample.seq, index=sample.frame.index, at=self._latest_received,
            interval=self.interval, columns=sample.frame.columns,
            rows=live.live_rows(self.spec.name, sample, previous, catalog.listed, interval=self.interval,
                                console=self._console_word()),
            counts=live.counts(sample.frame), xen_version=totals.xen_version if totals else None,
            cpus=totals.nr_cpus if totals else None, cpu_mhz=totals.cpu_mhz if totals else None,
            total_memory_bytes=totals.total_memory_bytes if totals else None,
            free_memory_bytes=totals.free_memory_bytes if totals else None, stale=self._down)
        self._view_cache = (sample.seq, view)
        return view

    # -- bindings -----------------------------------------------------------------------------------------

    async def bindings(self, domain: Domain) -> Bindings:
        """`xl list -l DOMAIN` (JSON, §2.3) and `xl sched-credit -d DOMAIN` on xl; block-list, network-list,
        vcpu-list and sched-credit where the JSON is missing or unreadable, and on xm (whose `list -l` is SXP),
        with disk targets and bridges from the domain's config file when there is one. A guest that is not
        running: its config file."""
        host = self.spec.name
        if domain.state is DomainState.STOPPED or domain.native_state == "unreadable config":
            return self._stopped_bindings(domain)
        name = commands.validate_name(domain.name, self.toolstack)
        bindings: Bindings | None = None
        if self.toolstack is Toolstack.XL:
            long, sched, vcpus = await asyncio.gather(
                self.session.run(list(commands.list_long(name)), check=False),
                self.session.run(list(commands.sched_credit(self.toolstack, name)), check=False),
                self.session.run(list(commands.vcpu_list(self.toolstack, name)), check=False))
            if long.ok:
                try:
                    bindings = (await parse_off_loop(parse.parse_list_long, long.stdout, host)).get(name)
                except ParseError as exc:
                    log.info("%s: %s; reading the lists instead", host, exc.message)
            if bindings is not None:
                extra = [s for s in bindings.extra if s.title != "CREDIT SCHEDULER"]
                extra += self._sched_sections(sched, name) or [s for s in bindings.extra if s.title == "CREDIT SCHEDULER"]
                extra += self._vcpu_sections(vcpus, name)
                return replace(bindings, consoles=self._consoles(domain), extra=tuple(extra))
        return await self._bindings_from_lists(domain)

    def _stopped_bindings(self, domain: Domain) -> Bindings:
        host = self.spec.name
        facts = self._config_of(domain.name) if domain.native_state != "config" else \
            (self._catalog.configs.get(domain.handle or "") if self._catalog else None)
        if facts is not None:
            return facts.bindings(host, domain.name)
        if domain.native_state == "saved":
            path = domain.handle or commands.save_path(domain.name)
            image = Section("SAVED IMAGE", ("FILE", "RESTORED WITH"),
                            ((path, " ".join(commands.restore(self.toolstack, path))),))
            return Bindings(host=host, domain=domain.name, cpu=Cpu(vcpus=None), memory=Memory(current_bytes=None),
                            extra=(image,))
        return Bindings(host=host, domain=domain.name, cpu=Cpu(vcpus=domain.vcpus), memory=Memory(domain.memory_bytes),
                        extra=(Section("DOMAIN", ("PROPERTY", "VALUE"), (("managed by", "xend"),)),))

    async def _bindings_from_lists(self, domain: Domain) -> Bindings:
        ts = self.toolstack
        name = commands.validate_name(domain.name, ts)
        block, network, vcpus, sched = await asyncio.gather(*(
            self.session.run(list(argv), check=False) for argv in (
                commands.block_list(ts, name), commands.network_list(ts, name), commands.vcpu_list(ts, name),
                commands.sched_credit(ts, name))))
        facts = self._config_of(name)
        vbds = parse.parse_block_list(block.stdout) if block.ok else ()
        vifs = parse.parse_network_list(network.stdout) if network.ok else ()
        rows = [row for row in parse.parse_vcpu_list(vcpus.stdout) if row.domain == name] if vcpus.ok else []
        by_vdev = {d.vdev: d for d in facts.disks} if facts is not None else {}
        disks = []
        for vbd in vbds:
            known = by_vdev.get(vbd.vdev)
            disks.append(known.disk() if known is not None else Disk(target=vbd.vdev, source=None))
        if not vbds and facts is not None:
            disks = [d.disk() for d in facts.disks]
        by_mac = {(v.mac or "").lower(): v for v in facts.vifs} if facts is not None else {}
        nics = []
        for index, vif in enumerate(vifs):
            known_vif = by_mac.get(vif.mac) or (facts.vifs[index] if facts is not None and index < len(facts.vifs)
                                                else None)
            nics.append(Nic(mac=vif.mac, source_type="bridge" if known_vif and known_vif.bridge else "",
                            source=known_vif.bridge if known_vif else None,
                            model=known_vif.model if known_vif else None, target=f"vif{domain.id}.{vif.index}"
                            if domain.id is not None else None))
        online = sum(1 for row in rows if row.online) if rows else domain.vcpus
        info = [("domid", "-" if domain.id is None else str(domain.id))]
        if facts is not None:
            info.append(("config", facts.path))
        extra = [Section("DOMAIN", ("PROPERTY", "VALUE"), tuple(info)), *self._sched_sections(sched, name),
                 *self._vcpu_sections(vcpus, name)]
        return Bindings(host=self.spec.name, domain=name,
                        cpu=Cpu(vcpus=online, max_vcpus=len(rows) or domain.vcpus,
                                pinning=tuple(VcpuPin(r.vcpu, r.affinity) for r in rows)),
                        memory=Memory(current_bytes=domain.memory_bytes, max_bytes=domain.max_memory_bytes),
                        disks=tuple(disks), nics=tuple(nics), consoles=self._consoles(domain), extra=tuple(extra))

    def _sched_sections(self, result: Result, name: str) -> list[Section]:
        if not result.ok:
            return []
        try:
            row = parse.parse_sched_credit(result.stdout).of(name)
        except ParseError:
            return []
        return [parse.sched_section(row)] if row is not None else []

    def _vcpu_sections(self, result: Result, name: str) -> list[Section]:
        if not result.ok:
            return []
        try:
            rows = [row for row in parse.parse_vcpu_list(result.stdout) if row.domain == name]
        except ParseError:
            return []
        if not rows:
            return []
        return [Section("VCPU", ("VCPU", "CPU", "STATE", "TIME(s)", "AFFINITY"), tuple(
            (str(r.vcpu), "-" if r.cpu is None else str(r.cpu), r.state or "-", f"{r.time_s:.1f}",
             r.affinity + (f" / {r.soft_affinity}" if r.soft_affinity else "")) for r in rows), replaces=("pinning",))]

    def _consoles(self, domain: Domain) -> tuple[ConsoleDev, ...]:
        if states.is_dom0(domain):
            return ()
        argv = self._console_argv(domain.name)
        return (ConsoleDev("console", "pv", path=" ".join(argv)),)

    # -- host screen and wizards' queries ------------------------------------------------------------------

    async def host_detail(self) -> tuple[Section, ...]:
        """The host as `xl info` says it, its storage, and the guests that are not running."""
        catalog = await self._refresh_catalog()
        totals = catalog.totals or self.totals
        sections = []
        if totals is not None:
            keep = ("host", "release", "machine", "nr_cpus", "cpu_mhz", "total_memory", "free_memory", "xen_version",
                    "xen_major", "xen_minor", "xen_extra", "xen_scheduler", "xen_caps", "xen_commandline")
            sections.append(Section("HOST", ("KEY", "VALUE"), tuple((k, v) for k, v in totals.fields if k in keep)))
        try:
            pools = await self.storage()
        except HvdeckError:
            pools = ()
        if pools:
            sections.append(Section("STORAGE", ("NAME", "KIND", "SIZE", "FREE"), tuple(
                (p.name, p.kind, format_size(p.capacity_bytes) if p.capacity_bytes else "-",
                 format_size(p.free_bytes) if p.free_bytes is not None else "-") for p in pools)))
        stopped = self._stopped(catalog, self._names)
        if stopped:
            sections.append(Section("NOT RUNNING", ("NAME", "FROM", "PATH"), tuple(
                (d.name, d.native_state if d.native_state in ("config", "saved") else "xend", d.handle or "-")
                for d in stopped)))
        return tuple(sections)

    async def _run_quiet(self, argv: Sequence[str]) -> Result | None:
        try:
            result = await self.session.run(list(argv), check=False, timeout=30.0)
        except HvdeckError:
            return None
        return result if result.ok else None

    async def _lvm(self) -> tuple[tuple[storage.VolumeGroup, ...], tuple[storage.LogicalVolume, ...]]:
        if self.solaris:
            return (), ()
        vgs, lvs = await asyncio.gather(self._run_quiet(commands.vgs()), self._run_quiet(commands.lvs()))
        return (storage.parse_vgs(vgs.stdout) if vgs else (), storage.parse_lvs(lvs.stdout) if lvs else ())

    async def _zfs(self) -> tuple[storage.Dataset, ...]:
        result = await self._run_quiet(commands.zfs_list())
        return storage.parse_zfs_list(result.stdout) if result else ()

    async def _xvm_dirs(self) -> tuple[str, ...]:
        if not self.xvm:
            return ()
        found = await asyncio.gather(*(self._run_quiet(commands.list_dir(d)) for d in self.XVM_DIRS))
        return tuple(d for d, result in zip(self.XVM_DIRS, found) if result is not None)

    async def _vdisks(self) -> tuple[str, ...]:
        if not self.xvm:
            return ()
        result = await self._run_quiet(commands.list_dir(self.XVM_DIRS[0]))
        return tuple(posixpath.join(self.XVM_DIRS[0], name) for name in storage.parse_ls(result.stdout)) if result else ()

    async def storage(self) -> tuple[StoragePool, ...]:
        (vgs, _), datasets, dirs = await asyncio.gather(self._lvm(), self._zfs(), self._xvm_dirs())
        pools = [vg.pool() for vg in vgs]
        pools += [StoragePool(name=d.name, kind="zfs", free_bytes=d.avail) for d in datasets if d.is_pool]
        pools += [StoragePool(name=d, kind="vdisk-dir" if "vdisk" in d else "dir", path=d) for d in dirs]
        return tuple(pools)

    async def volumes(self, pool: str | None = None) -> tuple[Volume, ...]:
        (_, lvs), datasets = await asyncio.gather(self._lvm(), self._zfs())
        users = {d.target: f"{facts.name}/{d.vdev}" for facts in (self._catalog.configs.values() if self._catalog
                                                                   else ()) for d in facts.disks if d.target}
        found = [lv.volume(users.get(lv.path)) for lv in lvs if pool in (None, lv.vg)]
        for d in datasets:
            if d.is_volume and pool in (None, d.name.split("/")[0]):
                path = commands.zvol_path(d.name, solaris=self.solaris)
                found.append(Volume(pool=d.name.split("/")[0], name=d.name, capacity_bytes=d.volsize, path=path,
                                    used_by=users.get(path)))
        return tuple(found)

    async def networks(self) -> tuple[Network, ...]:
        """The bridges the host's guests use (from their config files), and xl's default."""
        bridges = {plans.DEFAULT_BRIDGE} if not self.xvm else set()
        catalog = self._catalog
        for facts in catalog.configs.values() if catalog is not None else ():
            bridges.update(v.bridge for v in facts.vifs if v.bridge)
        return tuple(Network(name=b, kind="bridge") for b in sorted(bridges))

    async def resources(self) -> FreeResources:
        result = await self.session.run(list(commands.info(self.toolstack)))
        totals = self.totals = parse.parse_info(result.stdout)
        return FreeResources(memory_bytes=totals.free_memory_bytes, total_cpus=totals.nr_cpus,
                             total_memory_bytes=totals.total_memory_bytes)

    async def _host_facts(self) -> plans.HostFacts:
        catalog = await self._refresh_catalog()
        (vgs, lvs), datasets = await asyncio.gather(self._lvm(), self._zfs())
        names = set(self._names) | set(catalog.listed) | {d.name for d in self._stopped(catalog, frozenset())}
        totals = catalog.totals or self.totals
        return plans.HostFacts(names=frozenset(names), free_memory_bytes=totals.free_memory_bytes if totals else None,
                               vgs=vgs, lvs=lvs, pools=tuple((d.name, d.avail) for d in datasets if d.is_pool),
                               solaris=self.solaris)

    # -- lifecycle and Xen-only actions ---------------------------------------------------------------

    def why_not(self, action: Action, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        """The state table of states.py (every action against every state the letters can show)."""
        if action not in self.ACTIONS:
            return f"{self.kind} hosts do not support {action.label.lower()}"
        return states.why_not(action.value, domain, startable=plans.startable(domain))

    def _plan_action(self, action: Action, domain: Domain) -> Plan:
        return plans.lifecycle_plan(self.dom0, action, domain)

    def extra_actions(self) -> tuple[ExtraAction, ...]:
        return plans.extra_actions(self.dom0)

    def why_not_extra(self, action: ExtraAction, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        return plans.why_not_extra(self.dom0, action, domain)

    async def plan_extra(self, action: ExtraAction, domain: Domain, values: dict[str, str],
                         host: HostSnapshot | None = None) -> Plan:
        reason = self.why_not_extra(action, domain, host)
        if reason is not None:
            raise HvdeckError(reason, title=f"Cannot {action.label.lower()}")
        maximum = None
        if action in (plans.VCPU_SET, plans.SCHED_CREDIT):
            result = await self.session.run(list(commands.vcpu_list(self.toolstack, domain.name)), check=False)
            if result.ok:
                maximum = sum(1 for row in parse.parse_vcpu_list(result.stdout) if row.domain == domain.name) or None
        return plans.extra_plan(self.dom0, action, domain, values, max_vcpus=maximum)

    async def execute(self, operation: Operation, *, input: str | None = None, timeout: float | None = None,
                      on_output: OutputCallback | None = None) -> Result:
        self._catalog_due = True  # whatever it changed, the catalog is read again
        try:
            return await super().execute(operation, input=input, timeout=timeout, on_output=on_output)
        finally:
            self._catalog_due = True

    # -- console ------------------------------------------------------------------------------------------

    def _console_argv(self, name: str) -> tuple[str, ...]:
        return commands.virsh_console(name) if self.xvm else commands.console(self.toolstack, name)

    def console(self, domain: Domain) -> ConsoleRef:
        """`xl console NAME` / `xm console NAME` (Sun xVM: `virsh console NAME`) on a pseudo-terminal; `^]`
        (Ctrl+]) detaches (xen.md §6, libvirt.md §1.3)."""
        if states.is_dom0(domain):
            raise Unsupported(f"{domain.name} is the control domain: its console is the dom0's own")
        flags = states.flags_of(domain)
        if domain.state is DomainState.STOPPED or flags is None or flags.dying or flags.shutdown:
            raise Unsupported(f"{domain.name} is not running: it has no console now")
        argv = self._console_argv(domain.name)
        # xl/xm console's own way out is Ctrl+], hvdeck's detach key by default: the pane names its key, and
        # a second hint for the same key would say the guest sees it, which it does not
        return ConsoleRef(kind=argv[0], description=" ".join(argv))

    async def open_console(self, domain: Domain, *, cols: int = 80, rows: int = 24, force: bool = False) -> Channel:
        self.console(domain)
        return await self.session.open_pty(self._console_argv(domain.name), cols=cols, rows=rows)

    # -- wizards ------------------------------------------------------------------------------------------

    def create_form(self) -> Form | None:
        return plans.create_form(self.dom0)

    async def create_choices(self) -> dict[str, tuple[Choice, ...]]:
        (vgs, _), datasets, dirs, networks = await asyncio.gather(self._lvm(), self._zfs(), self._xvm_dirs(),
                                                                  self.networks())
        choices = {"storage": plans.storage_choices(self.dom0, vgs, [(d.name, d.avail) for d in datasets
                                                                     if d.is_pool], dirs)}
        if not self.xvm:
            choices["bridge"] = tuple(Choice(n.name) for n in networks)
        return choices

    async def plan_create(self, values: dict[str, Any]) -> Plan:
        return plans.create_plan(self.dom0, values, await self._host_facts())

    def clone_form(self, domain: Domain) -> Form | None:
        if states.is_dom0(domain) or domain.state is not DomainState.STOPPED or domain.native_state == "saved":
            return None
        if not self.xvm and domain.native_state != "config":
            return None
        return plans.clone_form(self.dom0, domain)

    async def clone_choices(self, domain: Domain) -> dict[str, tuple[Choice, ...]]:
        return {"vdisk": tuple(Choice(v) for v in await self._vdisks())} if self.xvm else {}

    async def plan_clone(self, domain: Domain, values: dict[str, Any]) -> Plan:
        if self.clone_form(domain) is None:
            raise Unsupported(f"{domain.name} cannot be cloned: hvdeck clones guests that are not running, "
                              "from their config file (or, on Sun xVM, their vdisk)")
        facts = await self._host_facts()
        source = self._catalog.configs.get(domain.handle or "") if self._catalog and domain.handle else None
        return plans.clone_plan(self.dom0, domain, source, values, facts)

    def migration_refusal(self, source: HostInfo | None, target: HostInfo | None) -> str | None:
        """xl migrates to xl only, xend (xm, Sun xVM) to xend only: told by each dom0's probe (`HostInfo`)."""
        if source is None or target is None:
            return None
        source_xl, target_xl = (dict(info.facts).get("toolstack") == Toolstack.XL.value for info in (source, target))
        if source_xl != target_xl:
            return (f"runs {'xl' if target_xl else 'xend'}: xl migrates to xl only, xend (xm, Sun xVM) to xend "
                    "only")
        return None

    def migrate_form(self, domain: Domain) -> Form | None:
        if states.is_dom0(domain) or domain.state is DomainState.STOPPED or states.migrating(domain.name):
            return None
        flags = states.flags_of(domain)
        if flags is None or flags.dying or flags.shutdown or flags.crashed:
            return None
        return plans.migrate_form(self.dom0, domain)

    async def plan_migrate(self, domain: Domain, target: Backend, values: dict[str, Any]) -> Plan:
        if not isinstance(target, XenBackend):
            raise Unsupported(f"{target.spec.name} is not a Xen dom0")
        if self.migrate_form(domain) is None:
            raise Unsupported(f"{domain.name} cannot be migrated live now ({domain.native_state})")
        address = (values.get("address") or "").strip() or target.migration_address()
        target_catalog = await target._refresh_catalog()
        totals = target_catalog.totals or target.totals
        bindings = await self.bindings(domain)
        disks = tuple(d.source for d in bindings.disks if d.source and d.device != "cdrom")
        goal = plans.Target(host=target.spec.name, address=address, toolstack=target.toolstack, xvm=target.xvm,
                            names=frozenset(target._names) | frozenset(target_catalog.listed),
                            free_memory_bytes=totals.free_memory_bytes if totals else None)
        return plans.migrate_plan(self.dom0, domain, goal, disks)

    def migration_address(self) -> str:
        """How another dom0 reaches this one: the inventory address, unless it is a loopback address (a
        forwarded port), then the host name the dom0 gave in `xl info`, else the inventory name."""
        address = self.spec.address or self.spec.name
        if not address.startswith(LOOPBACK):
            return address
        return (self.totals.hostname if self.totals and self.totals.hostname else None) or self.spec.name


async def _none() -> None:
    return None
