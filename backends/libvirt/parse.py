"""Pure libvirt knowledge: bulk-stats records and domain XML into the model.

No I/O and no libvirt import: the backend hands in plain dicts, lists and XML text. Keys are those of
`virConnectGetAllDomainStats` (shared/formats/libvirt.md §5); states, reasons and what each allows are
the one table in `states.py`. Disks and interfaces read as `virsh domblklist --details` and
`virsh domiflist` print them (tools/virsh-domain-monitor.c, cmdDomblklist and cmdDomiflist).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ParseError
from ..model import Bindings, ConsoleDev, Cpu, Disk, Domain, DomainState, Memory, Nic, Section, VcpuPin
from . import states

# virDomainState -> (normalised state, the word `virsh list` prints); kept for readers of this module,
# the table itself lives in states.py
STATE_MAP: dict[int, tuple[DomainState, str]] = {code: (row.state, row.word) for code, row in states.STATES.items()}


def state(code: int | None) -> tuple[DomainState, str]:
    return states.describe(code)


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
    stats win. CPU % and rates are given only for a domain whose vCPUs execute (`states.executing`): a
    paused, asleep or crashed guest shows none, whatever its counters say (the test driver's grow with
    the clock). A known, non-zero state reason travels as the ``reason`` extra, in virsh's word.
    """
    code = stats.get("state.state")
    if not isinstance(code, int) and info:
        code = info[0]
    code = code if isinstance(code, int) else None
    reason = stats.get("state.reason") if code is not None and "state.state" in stats else None
    norm, native = state(code)
    active = dom_id >= 0
    live = active and states.executing(code)

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
    if prev is not None and live:
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
        extra=(("reason", why),) if (why := _reason(code, reason)) is not None else (),
    )
    return domain, counters


def _reason(code: int | None, reason: Any) -> str | None:
    if not isinstance(reason, int) or reason == 0:  # 0 is "unknown" in every reason enum
        return None
    return states.reason_word(code, reason)


def device_stats(nics: Sequence[tuple[int, ...]], disks: Sequence[tuple[int, ...]]) -> dict[str, int]:
    """Per-device counters in bulk-stats form (``net.count``, ``net.0.rx.bytes``...), for drivers whose
    `virConnectGetAllDomainStats` has no interface or block group (the test driver, shared formats
    libvirt §2.6) but answer `virDomainInterfaceStats` and `virDomainBlockStats` (§2.7).

    ``nics``: interfaceStats tuples (rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets,
    tx_errs, tx_drop); ``disks``: blockStats tuples (rd_req, rd_bytes, wr_req, wr_bytes, errs).
    """
    out: dict[str, int] = {"net.count": len(nics), "block.count": len(disks)}
    for i, nic in enumerate(nics):
        out[f"net.{i}.rx.bytes"], out[f"net.{i}.tx.bytes"] = nic[0], nic[4]
    for i, disk in enumerate(disks):
        out[f"block.{i}.rd.bytes"], out[f"block.{i}.wr.bytes"] = disk[1], disk[3]
    return out


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


def _first_of(element: ET.Element | None, names: Iterable[str]) -> str | None:
    """XPath ``string(./@a|./@b|...)`` as virsh evaluates it: the first of those attributes in document
    order (ElementTree keeps the order they are written in), None when absent or empty."""
    if element is None:
        return None
    wanted = set(names)
    for key, value in element.attrib.items():
        if key in wanted:
            return value or None
    return None


def _pci_number(text: str | None) -> int | None:
    """A PCI address part as virPCIDeviceAddressParseXML reads it (strtoul base 0: 0x1f, 31, 037)."""
    if text is None:
        return None
    text = text.strip()
    try:
        return int(text, 0)
    except ValueError:
        if re.fullmatch(r"0[0-7]+", text):
            return int(text, 8)
        return None


# cmdDomblklist: string(./source/@file|./source/@dev|./source/@dir|./source/@name|./source/@volume|./source/@path)
_DISK_SOURCE_ATTRS = ("file", "dev", "dir", "name", "volume", "path")
# cmdDomiflist: string(./source/@bridge|./source/@dev|./source/@network|./source/@name|./source/@path)
_NIC_SOURCE_ATTRS = ("bridge", "dev", "network", "name", "path")


def _host_text(host: ET.Element) -> str | None:
    name, port, socket = host.get("name"), host.get("port"), host.get("socket")
    if host.get("transport") == "unix" or (socket and not name):
        return f"unix:{socket}" if socket else None
    if not name:
        return None
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"  # an IPv6 address, bracketed as in a URI
    return f"{name}:{port}" if port else name


def _network_source(source: ET.Element) -> str | None:
    """``protocol://host:port[,host:port...]/name``: virsh's value (the name) with the protocol and every
    host in front, e.g. ``rbd://mon1:6789,mon2:6789/pool/image``; a unix-socket host reads
    ``nbd://unix:/run/nbd.sock/export``; without hosts ``rbd:pool/image``."""
    proto = source.get("protocol") or "network"
    name = source.get("name") or ""
    hosts = [text for text in (_host_text(h) for h in source.findall("host")) if text]
    if not hosts:
        return f"{proto}:{name}" if name else None
    return f"{proto}://{','.join(hosts)}{name if name.startswith('/') else '/' + name if name else ''}"


def disk_source(disk: ET.Element) -> tuple[str | None, str]:
    """(SOURCE, Type) of one ``<disk>`` as `virsh domblklist --details` prints them, None for ``-``.

    From cmdDomblklist (tools/virsh-domain-monitor.c): an ``nvme`` disk reads
    ``nvme://%04x:%02x:%02x.%d/NAMESPACE`` from its PCI address; every other type prints the first of
    ``source/@file|@dev|@dir|@name|@volume|@path`` in document order. Two types say more than virsh, so
    that the same name in two places cannot look alike: a ``volume`` disk reads ``POOL/VOLUME`` (virsh:
    VOLUME) and a ``network`` disk ``PROTOCOL://HOSTS/NAME`` (virsh: NAME); virsh's value is the end of
    both.
    """
    kind = disk.get("type") or "file"
    source = disk.find("source")
    if source is None:
        return None, kind
    if kind == "nvme":
        namespace = source.get("namespace")
        address = source.find("address")
        if not namespace or address is None:
            return None, kind  # virsh: "Unable to query NVMe disk address"
        parts = [_pci_number(address.get(k)) for k in ("domain", "bus", "slot", "function")]
        if any(p is None for p in parts):
            return None, kind
        domain, bus, slot, function = parts
        return f"nvme://{domain:04x}:{bus:02x}:{slot:02x}.{function}/{namespace}", kind
    if kind == "volume" and source.get("volume"):
        pool, volume = source.get("pool"), source.get("volume")
        return (f"{pool}/{volume}" if pool else volume), kind
    if kind == "network":
        return _network_source(source), kind
    return _first_of(source, _DISK_SOURCE_ATTRS), kind


def nic_source(nic: ET.Element) -> str | None:
    """The Source column of `virsh domiflist`: the first of ``source/@bridge|@dev|@network|@name|@path``
    in document order (cmdDomiflist), None for ``-``."""
    return _first_of(nic.find("source"), _NIC_SOURCE_ATTRS)


def device_names(xml: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(interface targets, disk targets) of a live domain XML: the names `virDomainInterfaceStats` and
    `virDomainBlockStats` take. Interfaces without a target and disks without a source are left out."""
    devices = _root(xml).find("devices")
    if devices is None:
        return (), ()
    nics = tuple(t.get("dev", "") for n in devices.findall("interface")
                 if (t := n.find("target")) is not None and t.get("dev"))
    disks = tuple(t.get("dev", "") for d in devices.findall("disk")
                  if d.find("source") is not None and (t := d.find("target")) is not None and t.get("dev"))
    return nics, disks


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
            source, kind = disk_source(disk)
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
            src = nic_source(nic)
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
                target_el = dev.find("target")
                source_el = dev.find("source")
                port = target_el.get("port") if target_el is not None else None
                ttype = target_el.get("type") if target_el is not None else None
                path = dev.get("tty") or (source_el.get("path") if source_el is not None else None)
                if source_el is not None and source_el.get("service"):
                    path = f"{source_el.get('host', '')}:{source_el.get('service')}"
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
