"""What a libvirt host offers, read through libvirt-python: pools, volumes, networks, free resources,
domain snapshots, and the facts the create and clone wizards decide from.

Every function here blocks (libvirt calls) and takes the connection first: the backend runs each in
its worker thread (`LibvirtBackend._call`). The XML libvirt returns is read by the pure `hostxml`; the
decisions are the pure `wizards`. An object that vanishes while it is being listed (another client
undefined a domain, deleted a volume) is left out, as the poll does; other libvirt errors propagate.
"""

from __future__ import annotations

import dataclasses

import libvirt

from ..model import Domain, FreeResources, Snapshot
from . import hostxml, states, wizards

_GONE = {libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_NO_STORAGE_VOL, libvirt.VIR_ERR_NO_STORAGE_POOL,
         libvirt.VIR_ERR_NO_NETWORK, libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT}
_UNSUPPORTED = {libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED}


def _gone(exc: libvirt.libvirtError) -> bool:
    return exc.get_error_code() in _GONE


def is_test_driver(conn: libvirt.virConnect) -> bool:
    return conn.getType().lower() == "test"


# --- pools and volumes ------------------------------------------------------------------------------------


def pools(conn: libvirt.virConnect) -> tuple[wizards.PoolFacts, ...]:
    """Every storage pool (`virConnectListAllStoragePools`), sizes from `virStoragePoolGetInfo`
    ([state, capacity, allocation, available] in bytes; unknown for an inactive pool), type and path
    from its XML, and its volumes' names."""
    out = []
    for pool in conn.listAllStoragePools(0):
        try:
            state, capacity, _allocation, available = pool.info()
            xml = hostxml.pool(pool.XMLDesc(0))
            active = state == libvirt.VIR_STORAGE_POOL_RUNNING
            names = frozenset(pool.listVolumes()) if active else frozenset()
        except libvirt.libvirtError as exc:
            if _gone(exc):
                continue
            raise
        out.append(wizards.PoolFacts(pool.name(), xml.type, xml.path, active, capacity if active else None,
                                     available if active else None, names))
    return tuple(sorted(out, key=lambda p: p.name))


def _volumes(conn: libvirt.virConnect, found: tuple[wizards.PoolFacts, ...], only: str | None,
             users: dict[str, str]) -> tuple[wizards.VolumeFacts, ...]:
    out = []
    for facts in found:
        if not facts.active or (only is not None and facts.name != only):
            continue
        try:
            pool = conn.storagePoolLookupByName(facts.name)
            vols = pool.listAllVolumes(0)
        except libvirt.libvirtError as exc:
            if _gone(exc):
                continue
            raise
        for vol in vols:
            try:
                _type, capacity, _allocation = vol.info()
                path = vol.path()
                xml = hostxml.volume(vol.XMLDesc(0))
            except libvirt.libvirtError as exc:
                if _gone(exc):
                    continue
                raise
            name = vol.name()
            out.append(wizards.VolumeFacts(facts.name, facts.type, name, path, xml.format, capacity,
                                           users.get(path) or users.get(f"{facts.name}/{name}")))
    return tuple(sorted(out, key=lambda v: (v.pool, v.name)))


def _domains(conn: libvirt.virConnect) -> list[tuple[str, str]]:
    """(name, XML) of every domain: the live definition of a running one, the persistent one otherwise."""
    out = []
    for dom in conn.listAllDomains(0):
        try:
            out.append((dom.name(), dom.XMLDesc(0)))
        except libvirt.libvirtError as exc:
            if not _gone(exc):
                raise
    return out


def _users(domains: list[tuple[str, str]]) -> dict[str, str]:
    """Which domain's disk uses each path (and each ``pool/volume``): ``domain/target``."""
    users: dict[str, str] = {}
    for name, xml in domains:
        for disk in hostxml.domain_disks(xml):
            if disk.source:
                users.setdefault(disk.source, f"{name}/{disk.target}")
    return users


def _macs(domains: list[tuple[str, str]]) -> frozenset[str]:
    macs = set()
    for _name, xml in domains:
        for mac in hostxml.root(xml, "domain").findall("devices/interface/mac"):
            if mac.get("address"):
                macs.add(mac.get("address", "").lower())
    return frozenset(macs)


def volumes(conn: libvirt.virConnect, only: str | None = None) -> tuple[wizards.VolumeFacts, ...]:
    """The volumes of every active pool (or of pool ``only``), with the domain disk that uses each."""
    return _volumes(conn, pools(conn), only, _users(_domains(conn)))


# --- networks and resources -----------------------------------------------------------------------------------


def networks(conn: libvirt.virConnect) -> tuple[wizards.NetworkFacts, ...]:
    """libvirt networks (with the bridge each uses and its forward mode), then the host's bridges
    (`virConnectListAllInterfaces`, where the driver has an interface backend) that no network uses;
    each by name (libvirt lists them in no fixed order)."""
    return _networks(conn)[0]


def _networks(conn: libvirt.virConnect) -> tuple[tuple[wizards.NetworkFacts, ...], bool]:
    """`networks`, and whether the host's bridges could be listed at all."""
    out = []
    used: set[str] = set()
    for net in conn.listAllNetworks(0):
        try:
            xml = hostxml.network(net.XMLDesc(0))
            out.append(wizards.NetworkFacts(net.name(), "network", bool(net.isActive()), xml.bridge, xml.forward))
        except libvirt.libvirtError as exc:
            if _gone(exc):
                continue
            raise
        if xml.bridge:
            used.add(xml.bridge)
    listed = True
    try:
        interfaces = conn.listAllInterfaces(0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() not in _UNSUPPORTED:
            raise
        interfaces, listed = [], False  # no interface backend (netcf/udev) in this daemon: bridges are typed
    bridges = []
    for iface in interfaces:
        try:
            if hostxml.interface_type(iface.XMLDesc(0)) == "bridge" and iface.name() not in used:
                bridges.append(wizards.NetworkFacts(iface.name(), "bridge", bool(iface.isActive())))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_INTERFACE:
                raise
    return tuple(sorted(out, key=lambda n: n.name)) + tuple(sorted(bridges, key=lambda n: n.name)), listed


def _free_memory(conn: libvirt.virConnect) -> tuple[int | None, int | None]:
    """(memory a new guest can have, total) in bytes.

    `virNodeGetMemoryStats` (ALL_CELLS, KiB: /proc/meminfo on Linux) gives free plus buffers and page
    cache, which the kernel hands back on demand; drivers without it fall back to `virNodeGetFreeMemory`
    (bytes; MemFree alone). The test driver answers neither truthfully (no cells in a custom node: 0; the
    default node: its cells' KiB figures summed as bytes), so there the figure is unknown."""
    if is_test_driver(conn):
        return None, None
    try:
        stats = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() not in _UNSUPPORTED:
            raise
        return int(conn.getFreeMemory()), None
    free = sum(stats.get(k, 0) for k in ("free", "buffers", "cached")) * 1024
    total = stats.get("total")
    return free, total * 1024 if total else None


def resources(conn: libvirt.virConnect) -> FreeResources:
    """Host CPUs online (`virNodeGetCPUMap`; KVM guests share them, none is held by a domain) and the
    memory a new guest can have (`_free_memory`), with the totals (`virNodeGetInfo`)."""
    info = conn.getInfo()  # [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]
    _count, _online, online = conn.getCPUMap(0)
    free, total = _free_memory(conn)
    return FreeResources(cpus=online, memory_bytes=free, total_cpus=info[2],
                         total_memory_bytes=total if total is not None else info[1] * 1024 * 1024)


# --- the wizards' facts ---------------------------------------------------------------------------------------


def host_facts(conn: libvirt.virConnect, host: str, uri: str) -> wizards.HostFacts:
    """Everything the create and clone wizards check against (one pass over the host)."""
    guest = hostxml.guest_type(conn.getCapabilities(), host)
    try:
        max_vcpus: int | None = conn.getMaxVcpus(guest.domain_type)
    except libvirt.libvirtError:
        max_vcpus = None
    domains = _domains(conn)
    found = pools(conn)
    _count, _online, online = conn.getCPUMap(0)
    free, _total = _free_memory(conn)
    nets, bridges_listed = _networks(conn)
    return wizards.HostFacts(
        host=host, uri=uri, guest=guest, max_vcpus=max_vcpus, cpus=online, free_memory=free,
        domains=frozenset(name for name, _xml in domains), pools={p.name: p for p in found},
        volumes=_volumes(conn, found, None, _users(domains)), networks=nets, bridges_listed=bridges_listed,
        macs=_macs(domains), test_driver=is_test_driver(conn))


def _lookup(conn: libvirt.virConnect, domain: Domain) -> libvirt.virDomain:
    if domain.uuid:
        try:
            return conn.lookupByUUIDString(domain.uuid)
        except libvirt.libvirtError as exc:
            if not _gone(exc):
                raise
    return conn.lookupByName(domain.name)


def _snapshot_xmls(dom: libvirt.virDomain) -> tuple[list[hostxml.SnapshotXml], str | None]:
    found = []
    current = None
    for snap in dom.listAllSnapshots(0):
        try:
            parsed = hostxml.snapshot(snap.getXMLDesc(0))
            if snap.isCurrent(0):
                current = parsed.name
        except libvirt.libvirtError as exc:
            if _gone(exc):
                continue
            raise
        found.append(parsed)
    return found, current


def snapshots(conn: libvirt.virConnect, name: str) -> tuple[Snapshot, ...]:
    """A domain's snapshots as a tree (`wizards.snapshot_tree`), the current one marked."""
    found, current = _snapshot_xmls(conn.lookupByName(name))
    return wizards.snapshot_tree(found, current, name)


def snapshot_facts(conn: libvirt.virConnect, domain: Domain
                   ) -> tuple[list[hostxml.SnapshotXml], tuple[hostxml.DomainDisk, ...], str]:
    """For a snapshot action: the domain's snapshots, its disks and its domain type."""
    dom = _lookup(conn, domain)
    found, _current = _snapshot_xmls(dom)
    xml = dom.XMLDesc(0)
    return found, hostxml.domain_disks(xml), hostxml.root(xml, "domain").get("type", "")


def clone_facts(conn: libvirt.virConnect, host: str, uri: str, domain: Domain, snapshot: str | None,
                secure: bool) -> tuple[wizards.CloneFacts, Domain]:
    """The source's inactive definition (with its secrets, such as a VNC password, when ``secure``: a
    read-write connection), its disks, the snapshot to clone from, and ``domain`` with its state as it
    is now. Raises libvirtError VIR_ERR_NO_DOMAIN_SNAPSHOT for a snapshot that is not there."""
    dom = _lookup(conn, domain)
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE | (libvirt.VIR_DOMAIN_XML_SECURE if secure else 0)
    xml = dom.XMLDesc(flags)
    snap = hostxml.snapshot(dom.snapshotLookupByName(snapshot, 0).getXMLDesc(0)) if snapshot else None
    code = dom.state()[0]
    state, word = states.describe(code)
    now = dataclasses.replace(domain, state=state, native_state=word)
    facts = wizards.CloneFacts(host=host_facts(conn, host, uri), xml=xml, disks=hostxml.domain_disks(xml),
                               snapshot=snap)
    return facts, now
