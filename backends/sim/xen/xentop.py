"""``xentop -b`` (batch mode): options, one frame's text, and the iteration state between frames.

xen.md §1 is the specification: no summary lines in batch mode, the header before the first domain of
every frame (before every domain with ``-r``), rows sorted by name case-insensitively (``-z`` puts
Domain-0 first), ``%10.10s`` names (cut to 10 characters unless ``-f``), ``no limit``/``n/a`` for an
unlimited maximum, CPU(%) ``0.0`` in the first frame (and for a domain not in the previous one, matched
by domain ID), and columns that widen to the largest value of the frame (Xen ≥ 4.5). The sub-rows of
``-v``/``-n``/``-x`` are RECONSTRUCTED from ``do_vcpu``, ``do_network`` and ``do_vbd`` in
tools/xentop/xentop.c (xen.md §1.6 quotes their format strings).

Three builds are simulated (`XentopStyle`): the current one (xl dom0s), the Xen 4.1–4.4 one (xm: fixed
widths, ``-f`` prints ``%10s`` without widening) and the one before 2009-11 (Sun xVM's Xen 3.3: no
VBD_RSECT/VBD_WSECT columns, xen.md §1.3 VERBATIM old header).
"""

from __future__ import annotations

import getopt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .model import CommandError

USAGE = ("Usage: {program} [OPTION]\n"
         "Displays ongoing information about xen vm resources \n\n"
         "-h, --help           display this help and exit\n"
         "-V, --version        output version information and exit\n"
         "-d, --delay=SECONDS  seconds between updates (default 3)\n"
         "-n, --networks       output vif network data\n"
         "-x, --vbds           output vbd block device data\n"
         "-r, --repeat-header  repeat table header before each domain\n"
         "-v, --vcpus          output vcpu data\n"
         "-b, --batch          output in batch mode, no user input accepted\n"
         "-p, --pcpus          show physical CPU stats\n"
         "-i, --iterations     number of iterations before exiting\n"
         "-f, --full-name      output the full domain name (not truncated)\n"
         "-z, --dom0-first     display dom0 first (ignore sorting)\n"
         "\nReport bugs to <xen-devel@lists.xen.org>.\n")


@dataclass(frozen=True, slots=True)
class XentopStyle:
    """Which xentop build: ``rsect`` (VBD_RSECT/VBD_WSECT, since 2009-11), ``dynamic`` (widths follow
    the values and ``-f`` widens NAME, Xen ≥ 4.5), ``linux`` (the ``[major:minor]`` VBD details)."""

    rsect: bool = True
    dynamic: bool = True
    linux: bool = True
    #: ``-z`` (2024) and ``-p`` (2025)
    newest: bool = True
    #: ``-f``, full names (Xen 4.0; the Xen 3.3 of xVM cuts every name to 10 characters)
    full_names: bool = True


CURRENT = XentopStyle()
XEN_41 = XentopStyle(dynamic=False, newest=False)
XEN_33_SOLARIS = XentopStyle(rsect=False, dynamic=False, linux=False, newest=False, full_names=False)


@dataclass(frozen=True, slots=True)
class Options:
    delay: int = 3
    batch: bool = False
    #: None: until interrupted (no ``-i``, or ``-i 0``)
    iterations: int | None = None
    networks: bool = False
    vbds: bool = False
    vcpus: bool = False
    repeat_header: bool = False
    full_name: bool = False
    dom0_first: bool = False


def parse_options(args: Sequence[str], style: XentopStyle, program: str = "xentop") -> Options:
    """getopt as xentop's ``main`` does; ``-d`` and ``-i`` go through ``atoi`` (``-d 0.5`` is 0). Raises
    CommandError carrying the usage (exit 1 for a bad option, 0 for ``-h``) or the version (``-V``)."""
    short = "hVnxrvd:bpi:" + ("f" if style.full_names else "") + ("z" if style.newest else "")
    longs = ["help", "version", "networks", "vbds", "repeat-header", "vcpus", "delay=", "batch", "pcpus",
             "iterations="] + (["full-name"] if style.full_names else []) + (["dom0-first"] if style.newest else [])
    try:
        opts, _ = getopt.gnu_getopt(list(args), short, longs)
    except getopt.GetoptError as error:  # glibc's message; then `case '?'`: the usage, exit 0
        flag = error.opt
        if "requires argument" in error.msg:
            message = f"option requires an argument -- '{flag}'" if len(flag) == 1 else \
                f"option '--{flag}' requires an argument"
        else:
            message = f"invalid option -- '{flag}'" if len(flag) == 1 else f"unrecognized option '--{flag}'"
        raise CommandError(f"{program}: {message}\n", 0, stdout=USAGE.format(program=program)) from None
    values: dict[str, object] = {}
    for opt, value in opts:
        if opt in ("-h", "--help"):
            raise CommandError("", 0, stdout=USAGE.format(program=program))
        if opt in ("-V", "--version"):
            raise CommandError("", 0, stdout="xentop 1.0\nWritten by Judy Fischbach, David Hendricks, Josh Triplett\n"
                               "\nCopyright (C) 2005  International Business Machines  Corp\n"
                               "This is free software; see the source for copying conditions.There is NO\n"
                               "warranty; not even for MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.\n")
        key = {"-d": "delay", "--delay": "delay", "-i": "iterations", "--iterations": "iterations",
               "-b": "batch", "--batch": "batch", "-n": "networks", "--networks": "networks", "-x": "vbds",
               "--vbds": "vbds", "-v": "vcpus", "--vcpus": "vcpus", "-r": "repeat_header",
               "--repeat-header": "repeat_header", "-f": "full_name", "--full-name": "full_name",
               "-z": "dom0_first", "--dom0-first": "dom0_first"}.get(opt)
        if key == "delay":
            values[key] = _atoi(value)
        elif key == "iterations":  # unsigned: 0 or less counts down from 2^32, which never comes
            number = _atoi(value)
            values[key] = number if number > 0 else None
        elif key is not None:
            values[key] = True
    return Options(**values)  # type: ignore[arg-type]


def _atoi(text: str) -> int:
    digits = ""
    for char in text.strip():
        if char.isdigit() or (not digits and char in "+-"):
            digits += char
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


@dataclass(frozen=True, slots=True)
class VbdSample:
    dev: int
    oo: int
    rd: int
    wr: int
    rsect: int
    wsect: int
    #: 1 BlkBack, 2 BlkTap, 3 Tapdisk3
    kind: int = 1
    error: bool = False


@dataclass(frozen=True, slots=True)
class NetSample:
    rbytes: int
    rpackets: int
    rerrs: int
    rdrop: int
    tbytes: int
    tpackets: int
    terrs: int
    tdrop: int


@dataclass(frozen=True, slots=True)
class DomainSample:
    """What libxenstat reports for one domain at one instant (bytes for memory, ns for CPU)."""

    domid: int
    name: str
    state: str
    cpu_ns: int
    mem: int
    max_mem: int | None
    vcpus: int
    ssid: int = 0
    nets: tuple[NetSample, ...] = ()
    vbds: tuple[VbdSample, ...] = ()
    vcpu_ns: tuple[int | None, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeSample:
    """One call of ``xenstat_get_node``: when (seconds), the host's memory (bytes) and every domain."""

    time: float
    total_mem: int
    domains: tuple[DomainSample, ...] = field(default_factory=tuple)


def _width(value: int) -> int:
    """``INT_FIELD_WIDTH(n)``: ``(unsigned)(log10(n) + 1)``."""
    return int(math.log10(value) + 1)


def _vbd_totals(domain: DomainSample) -> tuple[bool, tuple[int, int, int, int, int]]:
    """``tot_vbd_reqs``: sums over VBDs without an error; shown unless every VBD has one."""
    good = [v for v in domain.vbds if not v.error]
    shown = not domain.vbds or bool(good)
    return shown, (sum(v.oo for v in good), sum(v.rd for v in good), sum(v.wr for v in good),
                   sum(v.rsect for v in good), sum(v.wsect for v in good))


def format_frame(node: NodeSample, previous: NodeSample | None, options: Options, style: XentopStyle) -> str:
    """One iteration of ``top()`` in batch mode."""
    domains = sorted(node.domains, key=lambda d: d.name.lower())
    if options.dom0_first and style.newest:
        dom0 = [d for d in domains if d.name == "Domain-0"]
        domains = dom0 + [d for d in domains if d.name != "Domain-0"]
    widths = {"name": 10, "tx": 8, "rx": 8, "rd": 8, "wr": 8, "rsect": 10, "wsect": 10}
    if style.dynamic:
        for domain in domains:
            if options.full_name:
                widths["name"] = max(widths["name"], len(domain.name))
            _, (_, rd, wr, rsect, wsect) = _vbd_totals(domain)
            for key, value in (("tx", sum(n.tbytes for n in domain.nets) // 1024),
                               ("rx", sum(n.rbytes for n in domain.nets) // 1024),
                               ("rd", rd), ("wr", wr), ("rsect", rsect), ("wsect", wsect)):
                widths[key] = max(widths[key], _width(value + 1))
    header = _header(widths, style)
    previous_by_id = {d.domid: d for d in previous.domains} if previous is not None else {}
    out = []
    for index, domain in enumerate(domains):
        if index == 0 or options.repeat_header:
            out.append(header)
        out.append(_row(domain, node, previous, previous_by_id.get(domain.domid), widths, options, style))
        if options.vcpus:
            out.append(_vcpu_lines(domain))
        if options.networks:
            out.extend(_net_line(i, net) for i, net in enumerate(domain.nets))
        if options.vbds:
            out.extend(_vbd_line(vbd, style) for vbd in domain.vbds)
    return "".join(out)


def _header(widths: dict[str, int], style: XentopStyle) -> str:
    cells = [f"{'NAME':>{widths['name']}}", f"{'STATE':>6}", f"{'CPU(sec)':>10}", f"{'CPU(%)':>6}", f"{'MEM(k)':>10}",
             f"{'MEM(%)':>6}", f"{'MAXMEM(k)':>10}", f"{'MAXMEM(%)':>9}", f"{'VCPUS':>5}", f"{'NETS':>4}",
             f"{'NETTX(k)':>{widths['tx']}}", f"{'NETRX(k)':>{widths['rx']}}", f"{'VBDS':>4}", f"{'VBD_OO':>8}",
             f"{'VBD_RD':>{widths['rd']}}", f"{'VBD_WR':>{widths['wr']}}"]
    if style.rsect:
        cells += [f"{'VBD_RSECT':>{widths['rsect']}}", f"{'VBD_WSECT':>{widths['wsect']}}"]
    cells.append(f"{'SSID':>4}")
    return " ".join(cells) + "\n"


def _cpu_percent(domain: DomainSample, node: NodeSample, previous: NodeSample | None,
                 old: DomainSample | None) -> float:
    """``get_cpu_pct``: 0.0 without a previous sample of this domain ID; else the CPU time used over the
    wall time between the two samples."""
    if previous is None or old is None:
        return 0.0
    elapsed_us = (node.time - previous.time) * 1_000_000
    if elapsed_us <= 0:
        return 0.0
    return ((domain.cpu_ns - old.cpu_ns) / 10.0) / elapsed_us


def _row(domain: DomainSample, node: NodeSample, previous: NodeSample | None, old: DomainSample | None,
         widths: dict[str, int], options: Options, style: XentopStyle) -> str:
    width = widths["name"] if style.dynamic else 10
    name = f"{domain.name:>{width}}" if options.full_name else f"{domain.name[:10]:>10}"
    total = node.total_mem
    if domain.max_mem is None:
        maxmem, maxpct = f"{'no limit':>10}", f"{'n/a':>9}"
    else:
        maxmem, maxpct = f"{domain.max_mem // 1024:10d}", f"{domain.max_mem / total * 100:9.1f}"
    shown, (oo, rd, wr, rsect, wsect) = _vbd_totals(domain)

    def vbd(value: int, width: int) -> str:
        return f"{value:{width}d}" if shown or not style.dynamic else f"{'-':>{width}}"

    cells = [name, domain.state, f"{domain.cpu_ns // 1_000_000_000:10d}",
             f"{_cpu_percent(domain, node, previous, old):6.1f}", f"{domain.mem // 1024:10d}",
             f"{domain.mem / total * 100:6.1f}", maxmem, maxpct, f"{domain.vcpus:5d}", f"{len(domain.nets):4d}",
             f"{sum(n.tbytes for n in domain.nets) // 1024:{widths['tx']}d}",
             f"{sum(n.rbytes for n in domain.nets) // 1024:{widths['rx']}d}", f"{len(domain.vbds):4d}",
             vbd(oo, 8), vbd(rd, widths["rd"]), vbd(wr, widths["wr"])]
    if style.rsect:
        cells += [vbd(rsect, widths["rsect"]), vbd(wsect, widths["wsect"])]
    cells.append(f"{domain.ssid:4d}")
    return " ".join(cells) + "\n"


def _vcpu_lines(domain: DomainSample) -> str:
    """``do_vcpu``: ``VCPUs(sec): `` then `` %2u: %10llus`` per online vCPU, a new line indented by 8 every
    5 entries (counted by vCPU number)."""
    text = "VCPUs(sec): "
    for number, ns in enumerate(domain.vcpu_ns):
        if ns is None:
            continue
        if number != 0 and number % 5 == 0:
            text += "\n        "
        text += f" {number:2d}: {ns // 1_000_000_000:10d}s"
    return text + "\n"


def _net_line(index: int, net: NetSample) -> str:
    return (f"Net{index} RX: {net.rbytes:8d}bytes {net.rpackets:8d}pkts {net.rerrs:8d}err {net.rdrop:8d}drop  "
            f"TX: {net.tbytes:8d}bytes {net.tpackets:8d}pkts {net.terrs:8d}err {net.tdrop:8d}drop\n")


_VBD_KINDS = ("Unidentified", "BlkBack", "BlkTap", "Tapdisk3")


def _vbd_line(vbd: VbdSample, style: XentopStyle) -> str:
    details = f"[{vbd.dev >> 8:2x}:{vbd.dev & 0xFF:2x}] " if style.linux else ""  # MAJOR, MINOR of linux/kdev_t.h
    head = f"VBD {_VBD_KINDS[vbd.kind]} {vbd.dev:4d} {details}"
    if vbd.error and style.dynamic:
        return (f"{head}OO: {'-':>8}   RD: {'-':>8}   WR: {'-':>8}   RSECT: {'-':>10}   "
                f"WSECT: {'-':>10}\n")
    return (f"{head}OO: {vbd.oo:8d}   RD: {vbd.rd:8d}   WR: {vbd.wr:8d}   RSECT: {vbd.rsect:10d}   "
            f"WSECT: {vbd.wsect:10d}\n")
