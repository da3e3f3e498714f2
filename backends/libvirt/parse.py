"""Pure libvirt knowledge: state numbers, bulk-stats records and domain XML into the model.

No I/O and no libvirt import: the backend hands in plain dicts, lists and XML text. Keys are those of
`virConnectGetAllDomainStats` (shared/formats/libvirt.md §5); the state words are virsh's (§2.1).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ParseError
from ..model import (Bindings, ConsoleDev, Cpu, Disk, Domain, DomainState, Memory, Nic, Section,
                     VcpuPin)

# virDomainState -> (normalised state, the word `virsh list` prints)
STATE_MAP: dict[int, tuple[DomainState, str]] = {
    0: (DomainState.UNKNOWN, "no state"),
    1: (DomainState.RUNNING, "running"),
    2: (DomainState.RUNNING, "idle"),  # VIR_DOMAIN_BLOCKED: running, waiting on a resource
    3: (DomainState.PAUSED, "paused"),
    4: (DomainState.TRANSITION, "in shutdown"),
    5: (DomainState.STOPPED, "shut off"),
    6: (DomainState.CRASHED, "crashed"),
    7: (DomainState.PAUSED, "pmsuspended"),
}


def state(code: int | None) -> tuple[DomainState, str]:
    if code is None:
        return DomainState.UNKNOWN, "unknown"
    return STATE_MAP.get(code, (DomainState.UNKNOWN, f"state {code}"))


@dataclass(frozen=True, slots=True)
class Counters:
    """Cumulative counters from one poll, kept to turn the next poll's counters into rates."""

    at: float
    cpu_ns: int | None
    vcpus: int | None
    net_rx: int | None
    net_tx: int | None
    disk_rd: int | None
    disk_wr: int | None


def _sum(stats: Mapping[str, Any], prefix: str, count_key: str, field: str) -> int | None:
    count = stats.get(count_key)
    if not isinstance(count, int):
        return None
    total, seen = 0, False
    for i in range(count):
        value = stats.get(f"{prefix}.{i}.{field}")
        if isinstance(value, int):
            total += value
            seen = True
    return total if seen else None


def _rate(new: int | None, old: int | None, seconds: float) -> float | None:
    if new is None or old is None or seconds <= 0 or new < old:
        return None  # no baseline yet, or the counter reset (guest restarted)
    return (new - old) / seconds


def domain_row(host: str, *, name: str, uuid: str, dom_id: int, stats: Mapping[str, Any],
               info: list[int] | None, console: str | None, prev: Counters | None,
               now: float) -> tuple[Domain, Counters]:
    """One fleet-table row from a bulk-stats record, plus the counters for the next poll.

    ``info`` is `virDomainGetInfo` ([state, maxMem KiB, memory KiB, nrVirtCpu, cpuTime ns]) for drivers
    whose bulk stats lack a group (the test driver returns only ``state.*``); where both exist, bulk
    stats win.
    """
    code = stats.get("state.state")
    if not isinstance(code, int) and info:
        code = info[0]
    norm, native = state(code if isinstance(code, int) else None)
    active = dom_id >= 0

    vcpus = stats.get("vcpu.current")
    if not isinstance(vcpus, int):
        vcpus = info[3] if info else None
    mem_kib = stats.get("balloon.current")
    if not isinstance(mem_kib, int):
        mem_kib = info[2] if info else None
    max_kib = stats.get("balloon.maximum")
    if not isinstance(max_kib, int):
        max_kib = info[1] if info else None
    cpu_ns = stats.get("cpu.time")
    if not isinstance(cpu_ns, int):
        cpu_ns = info[4] if info and active else None

    counters = Counters(
        at=now,
        cpu_ns=cpu_ns if active else None,
        vcpus=vcpus,
        net_rx=_sum(stats, "net", "net.count", "rx.bytes"),
        net_tx=_sum(stats, "net", "net.count", "tx.bytes"),
        disk_rd=_sum(stats, "block", "block.count", "rd.bytes"),
        disk_wr=_sum(stats, "block", "block.count", "wr.bytes"),
    )
    cpu_percent = rx = tx = rd = wr = None
    if prev is not None and active:
        elapsed = now - prev.at
        cpu_rate = _rate(counters.cpu_ns, prev.cpu_ns, elapsed)
        if cpu_rate is not None and vcpus:
            cpu_percent = round(max(0.0, min(100.0, cpu_rate / 1e9 / vcpus * 100.0)), 1)
        rx = _rate(counters.net_rx, prev.net_rx, elapsed)
        tx = _rate(counters.net_tx, prev.net_tx, elapsed)
        rd = _rate(counters.disk_rd, prev.disk_rd, elapsed)
        wr = _rate(counters.disk_wr, prev.disk_wr, elapsed)

    domain = Domain(
        host=host,
        name=name,
        state=norm,
        native_state=native,
        id=dom_id if active else None,
        uuid=uuid,
        vcpus=vcpus,
        memory_bytes=mem_kib * 1024 if isinstance(mem_kib, int) else None,
        max_memory_bytes=max_kib * 1024 if isinstance(max_kib, int) else None,
        cpu_percent=cpu_percent,
        uptime_s=None,  # libvirt does not report it
        console=console,
        net_rx_bps=rx,
        net_tx_bps=tx,
        disk_rd_bps=rd,
        disk_wr_bps=wr,
    )
    return domain, counters


# --- domain XML ---------------------------------------------------------------------------------------

_UNITS = {
    "b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
    "g": 1024**3, "gib": 1024**3, "gb": 1000**3, "t": 1024**4, "tib": 1024**4, "tb": 1000**4,
}


def _memory(element: ET.Element | None) -> int | None:
    if element is None or element.text is None:
        return None
    try:
        value = int(element.text.strip())
    except ValueError:
        return None
    unit = (element.get("unit") or "KiB").lower()
    return value * _UNITS.get(unit, 1024)


def _root(xml: str) -> ET.Element:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise ParseError(f"domain XML does not parse: {exc}", line_no=line, source="libvirt") from None
    if root.tag != "domain":
        raise ParseError(f"expected <domain>, got <{root.tag}>", source="libvirt")
    return root


def console_summary(xml: str) -> str | None:
    """The JSON ``console`` value: the type of the first <console> (else <serial>), e.g. ``pty``."""
    devices = _root(xml).find("devices")
    if devices is None:
        return None
    for tag in ("console", "serial"):
        element = devices.find(tag)
        if element is not None:
            return element.get("type") or tag
    return None


def _disk_source(disk: ET.Element) -> tuple[str | None, str]:
    kind = disk.get("type", "file")
    source = disk.find("source")
    if source is None:
        return None, kind
    if kind == "volume":
        pool, vol = source.get("pool"), source.get("volume")
        return (f"{pool}/{vol}" if pool and vol else vol or pool), kind
    if kind == "network":
        proto, name = source.get("protocol"), source.get("name")
        host = source.find("host")
        where = f"{host.get('name')}:{host.get('port')}" if host is not None and host.get("port") else (
            host.get("name") if host is not None else None)
        text = f"{proto}://{where}/{name}" if where else f"{proto}:{name}"
        return text, kind
    for attr in ("file", "dev", "dir", "name"):
        if source.get(attr):
            return source.get(attr), kind
    return None, kind


def bindings_from_xml(host: str, xml: str, *, live_vcpus: int | None = None) -> Bindings:
    root = _root(xml)
    name = (root.findtext("name") or "").strip()

    vcpu_el = root.find("vcpu")
    max_vcpus = int(vcpu_el.text) if vcpu_el is not None and vcpu_el.text and vcpu_el.text.strip().isdigit() \
        else None
    current = vcpu_el.get("current") if vcpu_el is not None else None
    vcpus = live_vcpus or (int(current) if current and current.isdigit() else max_vcpus)
    pins = []
    cputune = root.find("cputune")
    if cputune is not None:
        for pin in cputune.findall("vcpupin"):
            try:
                pins.append(VcpuPin(int(pin.get("vcpu", "")), pin.get("cpuset", "")))
            except ValueError:
                continue
    if not pins and vcpu_el is not None and vcpu_el.get("cpuset"):
        pins = [VcpuPin(i, vcpu_el.get("cpuset", "")) for i in range(vcpus or 0)]
    cpu = Cpu(vcpus=vcpus, max_vcpus=max_vcpus, pinning=tuple(pins))
    memory = Memory(current_bytes=_memory(root.find("currentMemory")) or _memory(root.find("memory")),
                    max_bytes=_memory(root.find("memory")))

    disks: list[Disk] = []
    nics: list[Nic] = []
    consoles: list[ConsoleDev] = []
    devices = root.find("devices")
    if devices is not None:
        for disk in devices.findall("disk"):
            source, kind = _disk_source(disk)
            target = disk.find("target")
            driver = disk.find("driver")
            disks.append(Disk(
                target=target.get("dev", "?") if target is not None else "?",
                source=source,
                source_type=kind,
                device=disk.get("device", "disk"),
                bus=target.get("bus") if target is not None else None,
                read_only=disk.find("readonly") is not None,
                format=driver.get("type") if driver is not None else None,
            ))
        for nic in devices.findall("interface"):
            kind = nic.get("type", "")
            source = nic.find("source")
            src = None
            if source is not None:
                src = source.get("bridge") or source.get("network") or source.get("dev") or source.get("path")
            mac = nic.find("mac")
            model = nic.find("model")
            target = nic.find("target")
            nics.append(Nic(
                mac=mac.get("address") if mac is not None else None,
                source_type=kind,
                source=src,
                model=model.get("type") if model is not None else None,
                target=target.get("dev") if target is not None else None,
            ))
        for tag in ("serial", "console"):
            for dev in devices.findall(tag):
                target = dev.find("target")
                source = dev.find("source")
                port = target.get("port") if target is not None else None
                ttype = target.get("type") if target is not None else None
                path = dev.get("tty") or (source.get("path") if source is not None else None)
                if source is not None and source.get("service"):
                    path = f"{source.get('host', '')}:{source.get('service')}"
                consoles.append(ConsoleDev(kind=tag, type=dev.get("type", ""),
                                           target=f"{ttype or tag} {port}" if port is not None else ttype,
                                           path=path))

    extra: list[Section] = []
    os_el = root.find("os")
    if os_el is not None:
        rows = []
        os_type = os_el.find("type")
        if os_type is not None:
            rows.append(("type", f"{(os_type.text or '').strip()} {os_type.get('arch', '')} "
                                 f"{os_type.get('machine', '')}".strip()))
        for tag in ("kernel", "initrd", "cmdline", "loader"):
            text = os_el.findtext(tag)
            if text:
                rows.append((tag, text.strip()))
        boots = [b.get("dev", "") for b in os_el.findall("boot")]
        if boots:
            rows.append(("boot", ",".join(boots)))
        if rows:
            extra.append(Section("OS", ("key", "value"), tuple(rows)))
    return Bindings(host=host, domain=name, cpu=cpu, memory=memory, disks=tuple(disks), nics=tuple(nics),
                    consoles=tuple(consoles), extra=tuple(extra))
