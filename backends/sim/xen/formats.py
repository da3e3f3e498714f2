"""Pure formatters for the listings of xl, xm and virsh: values in, the tool's exact text out.

Each function names the section of the project's format notes it follows (``xen.md §N``, ``xvm.md``,
``libvirt.md §N``) or, where the notes have no sample, the Xen source function it is taken from
(RECONSTRUCTED). The xentop frame lives in ``xentop.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# -- xl list / xm list --------------------------------------------------------------------------------

#: xen.md §2.1: the header contains TAB characters between VCPUs, State and Time(s)
XL_LIST_HEADER = "Name                                        ID   Mem VCPUs\tState\tTime(s)"
XL_LIST_VERBOSE = "   UUID                            Reason-Code\tSecurity Label"
XL_LIST_CONTEXT = "   Security Label"
#: xen.md §3: `'%-40s %5s %5s %5s %10s %9s' % ('Name', 'ID', 'Mem', 'VCPUs', 'State', 'Time(s)')`
XM_LIST_HEADER = f"{'Name':<40} {'ID':>5} {'Mem':>5} {'VCPUs':>5} {'State':>10} {'Time(s)':>9}"
#: xen.md §2.2: the reason letter of a shut-down domain, indexed by libxl's shutdown reason
SHUTDOWN_LETTERS = "-rscwS"


@dataclass(frozen=True, slots=True)
class ListRow:
    """One domain as `xl list` / `xm list` show it. ``domid`` None prints xm's blank ID."""

    name: str
    domid: int | None
    mem_mib: int
    vcpus: int
    state: str
    cpu_seconds: float
    uuid: str = ""
    #: libxl shutdown reason (0 poweroff … 5 soft reset), None when not shut down
    reason: int | None = None
    label: str = ""


def format_xl_list(rows: Iterable[ListRow], *, verbose: bool = False, context: bool = False) -> str:
    """xen.md §2.1 (``list_domains`` in tools/xl/xl_info.c): ``%-40s %5d %5lu %5d     %c…  %8.1f``, and
    with ``-v`` the UUID, the reason code (``%8x``, or ``%8s`` of ``-``) and the ``%16s`` label."""
    header = XL_LIST_HEADER + (XL_LIST_VERBOSE if verbose else "") + (XL_LIST_CONTEXT if context and not verbose
                                                                      else "")
    lines = [header]
    for row in rows:
        line = f"{row.name:<40} {row.domid or 0:5d} {row.mem_mib:5d} {row.vcpus:5d}     {row.state}  " \
               f"{row.cpu_seconds:8.1f}"
        if verbose:
            line += f" {row.uuid}" + (f" {row.reason:8x}" if row.reason is not None else f" {'-':>8}")
        if verbose or context:
            line += f" {row.label or '-':>16}"
        lines.append(line)
    return "".join(f"{line}\n" for line in lines)


def format_xm_list(rows: Iterable[ListRow]) -> str:
    """xen.md §3 (``xm_brief_list``): ``%(name)-40s %(domid)5s %(mem)5d %(vcpus)5d %(state)10s
    %(cpu_time)8.1f``; an inactive managed domain has an empty ID."""
    lines = [XM_LIST_HEADER]
    for row in rows:
        domid = "" if row.domid is None else str(row.domid)
        lines.append(f"{row.name:<40} {domid:>5} {row.mem_mib:5d} {row.vcpus:5d} {row.state:>10} "
                     f"{row.cpu_seconds:8.1f}")
    return "".join(f"{line}\n" for line in lines)


def xl_state(running: bool, blocked: bool, paused: bool, shutdown: bool, reason: int, dying: bool) -> str:
    """xen.md §2.2: ``r b p s <reason> d``; the reason letter is ``-`` unless shut down."""
    letter = (SHUTDOWN_LETTERS[reason] if 0 <= reason < len(SHUTDOWN_LETTERS) else "?") if shutdown else "-"
    return "".join((("r" if running else "-"), ("b" if blocked else "-"), ("p" if paused else "-"),
                    ("s" if shutdown else "-"), letter, ("d" if dying else "-")))


def xm_state(running: bool, blocked: bool, paused: bool, shutdown: bool, crashed: bool, dying: bool) -> str:
    """xen.md §3: ``r b p s c d``; xend clears ``shutdown`` for a crashed domain (libxc
    ``xc_domain_getinfo``: a crash is reported as crashed, not shut down)."""
    flags = (running, blocked, paused, shutdown and not crashed, crashed, dying)
    return "".join(letter if on else "-" for letter, on in zip("rbpscd", flags))


# -- xl info / xm info --------------------------------------------------------------------------------


def format_info(pairs: Iterable[tuple[str, object]]) -> str:
    """xen.md §4: the key padded to 23 characters, then ``: value`` (xl's literal ``"host
    : %s"`` strings; xm's ``"%-23s:" % k, v``)."""
    return "".join(f"{key:<23}: {value}\n" for key, value in pairs)


def info_value(pairs: Sequence[tuple[str, object]], wanted: str) -> str:
    """``xl info NAME`` (``maybe_printf``): the value of every line whose key starts with NAME."""
    return "".join(f"{value}\n" for key, value in pairs if key.startswith(wanted))


# -- vcpu-list ---------------------------------------------------------------------------------------


def print_bitmap(cpus: Iterable[int] | None, nr_cpus: int) -> str:
    """``print_bitmap`` in tools/xl/xl_utils.c: ``all`` when every CPU from 0 is set, ``none`` when none,
    else ranges ``0-3,6``. ``cpus`` None means every CPU."""
    cpuset = set(range(nr_cpus)) if cpus is None else {c for c in cpus if c < nr_cpus}
    if not cpuset:
        return "none"
    if cpuset == set(range(nr_cpus)):
        return "all"
    parts, ordered = [], sorted(cpuset)
    start = prev = ordered[0]
    following: list[int | None] = [*ordered[1:], None]
    for cpu in following:
        if cpu is not None and cpu == prev + 1:
            prev = cpu
            continue
        parts.append(f"{start}-{prev}" if prev > start else f"{start}")
        if cpu is not None:
            start = prev = cpu
    return ",".join(parts)


@dataclass(frozen=True, slots=True)
class VcpuRow:
    name: str
    domid: int | None
    vcpu: int
    cpu: int
    online: bool
    running: bool
    blocked: bool
    seconds: float
    hard: frozenset[int] | None = None
    soft: frozenset[int] | None = None


#: RECONSTRUCTED from ``vcpulist`` in tools/xl/xl_vcpu.c
XL_VCPU_HEADER = f"{'Name':<32} {'ID':>5} {'VCPU':>5} {'CPU':>5} {'State':>5} {'Time(s)':>9} Affinity (Hard / Soft)"


def format_xl_vcpu_list(rows: Iterable[VcpuRow], nr_cpus: int) -> str:
    """RECONSTRUCTED from ``print_vcpuinfo`` (tools/xl/xl_vcpu.c): ``%-32s %5u %5u``, then ``%5u
    %3c%c- `` (``%5c %3c%cp `` when offline), ``%9.1f  `` and the hard / soft affinity bitmaps."""
    lines = [XL_VCPU_HEADER]
    for row in rows:
        line = f"{row.name:<32} {row.domid or 0:5d} {row.vcpu:5d}"
        if row.online:
            line += f"{row.cpu:5d} {'r' if row.running else '-':>3}{'b' if row.blocked else '-'}- "
        else:
            line += f"{'-':>5} {'-':>3}-p "
        line += f"{row.seconds:9.1f}  {print_bitmap(row.hard, nr_cpus)} / {print_bitmap(row.soft, nr_cpus)}"
        lines.append(line)
    return "".join(f"{line}\n" for line in lines)


#: RECONSTRUCTED from ``xm_vcpu_list`` (tools/python/xen/xm/main.py, RELEASE-4.1.0)
XM_VCPU_HEADER = f"{'Name':<32} {'ID':>5} {'VCPU':>5} {'CPU':>5} {'State':>5} {'Time(s)':>9} CPU Affinity"


def _xm_cpumap(cpus: frozenset[int] | None, nr_cpus: int) -> str:
    """``format_cpumap`` of xm: ``any cpu`` for every CPU, else ``0-3,6``."""
    cpuset = set(range(nr_cpus)) if cpus is None else {c for c in cpus if c < nr_cpus}
    if len(cpuset) == nr_cpus:
        return "any cpu"
    return print_bitmap(cpuset, max(cpuset) + 2) if cpuset else "no cpus"


def format_xm_vcpu_list(rows: Iterable[VcpuRow], nr_cpus: int) -> str:
    """``'%(name)-32s %(domid)5s %(number)5d %(c)5s %(s)5s  %(cpu_time)8.1f %(cpumap)s'``."""
    lines = [XM_VCPU_HEADER]
    for row in rows:
        if row.online:
            cpu, state = str(row.cpu), ("r" if row.running else "-") + ("b" if row.blocked else "-") + "-"
        else:
            cpu, state = "-", "--p"
        domid = "" if row.domid is None else str(row.domid)
        lines.append(f"{row.name:<32} {domid:>5} {row.vcpu:5d} {cpu:>5} {state:>5}  {row.seconds:8.1f} "
                     f"{_xm_cpumap(row.hard, nr_cpus)}")
    return "".join(f"{line}\n" for line in lines)


# -- block-list / network-list ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """A frontend device as xenstore describes it: ``devid`` (vdev number or vif index), state 4 is
    XenbusStateConnected."""

    devid: int
    backend_id: int
    handle: int
    state: int
    evtch: int
    ring_ref: int
    backend_path: str
    mac: str = ""
    rx_ring_ref: int = 0


def format_xl_block_list(rows: Iterable[DeviceRow]) -> str:
    """RECONSTRUCTED from ``main_blocklist`` (tools/xl/xl_block.c): ``%-5s %-3s %-6s %-5s %-6s %-8s %-30s``
    (the last column is padded to 30, trailing blanks included)."""
    lines = [f"{'Vdev':<5} {'BE':<3} {'handle':<6} {'state':<5} {'evt-ch':<6} {'ring-ref':<8} {'BE-path':<30}"]
    lines += [f"{r.devid:<5d} {r.backend_id:<3d} {r.handle:<6d} {r.state:<5d} {r.evtch:<6d} {r.ring_ref:<8d} "
              f"{r.backend_path:<30}" for r in rows]
    return "".join(f"{line}\n" for line in lines)


def format_xl_network_list(rows: Iterable[DeviceRow]) -> str:
    """RECONSTRUCTED from ``main_networklist`` (tools/xl/xl_nic.c): ``%-3s %-2s %-17s %-6s %-5s %-6s
    %5s/%-5s %-30s``; rows ``%-3d %-2d `` MAC ``%6d %5d %6d %5d/%-11d %-30s``."""
    lines = [f"{'Idx':<3} {'BE':<2} {'Mac Addr.':<17} {'handle':<6} {'state':<5} {'evt-ch':<6} "
             f"{'tx-':>5}/{'rx-ring-ref':<5} {'BE-path':<30}"]
    lines += [f"{r.devid:<3d} {r.backend_id:<2d} {r.mac}{r.handle:6d} {r.state:5d} {r.evtch:6d} "
              f"{r.ring_ref:5d}/{r.rx_ring_ref:<11d} {r.backend_path:<30}" for r in rows]
    return "".join(f"{line}\n" for line in lines)


def format_xm_block_list(rows: Sequence[DeviceRow]) -> str:
    """RECONSTRUCTED from ``xm_block_list`` (main.py, RELEASE-4.1.0); nothing, not even the header, for a
    domain without disks."""
    if not rows:
        return ""
    lines = ["Vdev  BE handle state evt-ch ring-ref BE-path"]
    lines += [f"{r.devid:<5d}  {r.backend_id:<3d}  {r.handle:<3d}   {r.state:<3d}    {r.evtch:<3d}    "
              f"{r.ring_ref:<5d} {r.backend_path:<30}  " for r in rows]
    return "".join(f"{line}\n" for line in lines)


def format_xm_network_list(rows: Sequence[DeviceRow]) -> str:
    """RECONSTRUCTED from ``xm_network_list`` (main.py, RELEASE-4.1.0)."""
    if not rows:
        return ""
    lines = ["Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path"]
    lines += [f"{r.devid:<3d} {r.backend_id:<3d}{r.mac:<17}    {r.handle:<3d}   {r.state:<3d}    {r.evtch:<3d}   "
              f"{r.ring_ref:<5d}/{r.rx_ring_ref:<5d}   {r.backend_path:<30}  " for r in rows]
    return "".join(f"{line}\n" for line in lines)


# -- sched-credit --------------------------------------------------------------------------------------


def format_xl_sched_credit(rows: Iterable[tuple[str, int, int, int]], *, pool: str | None) -> str:
    """RECONSTRUCTED from ``sched_credit_domain_output`` / ``sched_credit_pool_output`` (tools/xl/xl_sched.c):
    with no ``-d`` the pool line first (``Cpupool Pool-0: tslice=30ms ratelimit=1000us
    migration-delay=0us``), then ``%-33s %4s %6s %4s`` and rows ``%-33s %4d %6d %4d``."""
    lines = [pool] if pool is not None else []
    lines.append(f"{'Name':<33} {'ID':>4} {'Weight':>6} {'Cap':>4}")
    lines += [f"{name:<33} {domid:4d} {weight:6d} {cap:4d}" for name, domid, weight, cap in rows]
    return "".join(f"{line}\n" for line in lines)


def format_xm_sched_credit(rows: Iterable[tuple[str, int | None, int, int]]) -> str:
    """RECONSTRUCTED from ``xm_sched_credit`` (main.py): header ``%-33s %4s %6s %4s``, rows
    ``%(name)-32s %(domid)5s %(weight)6d %(cap)4d`` (one column narrower, the ID one wider)."""
    lines = [f"{'Name':<33} {'ID':>4} {'Weight':>6} {'Cap':>4}"]
    lines += [f"{name:<32} {'' if domid is None else domid!s:>5} {weight:6d} {cap:4d}"
              for name, domid, weight, cap in rows]
    return "".join(f"{line}\n" for line in lines)


# -- xl list -l --------------------------------------------------------------------------------------


def format_xl_json(entries: Sequence[dict]) -> str:
    """xen.md §2.3: a JSON array of ``{"domid": N, "config": {...}}``, pretty-printed as libxl's yajl
    generator does (4 spaces, ``"key": value``) and ended by ``puts``' newline. The config's fields are
    RECONSTRUCTED from libxl_types.idl (``libxl_domain_config``: c_info, b_info with the keyed union
    ``type.pv``/``type.hvm``, disks, nics, on_* actions); fields at their defaults are left out, as the
    generated ``*_gen_json`` functions do."""
    return json.dumps(list(entries), indent=4) + "\n"


# -- virsh (libvirt.md §2) ----------------------------------------------------------------------------


def format_vsh_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """libvirt.md §2.1 (CAPTURED, virsh ≥ 7): one leading space, columns three spaces apart and as wide
    as their widest cell (the last one unpadded), a dash rule two longer than the padded header. (The blank
    line after it is the one virsh prints after every command's output.)"""
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths)] + [cells[-1]]
        return " " + "   ".join(padded)

    rule = "-" * (1 + sum(widths) + 3 * (len(widths) - 1) + 2)
    return "\n".join([line(table[0]), rule, *(line(row) for row in table[1:])]) + "\n"


def format_dominfo(pairs: Iterable[tuple[str, str]]) -> str:
    """libvirt.md §2.2 (CAPTURED): ``%-15s %s`` per line."""
    return "".join(f"{key + ':':<15} {value}\n" for key, value in pairs)
