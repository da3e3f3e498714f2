"""ldm's host-wide listings: services, devices, constraints, variables, migration status, SP configurations.

Each formatter names the ldm.md section it follows and its confidence there (see `formats`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from .formats import (
    blocks,
    hexa,
    indented,
    io_section,
    joined,
    parseable,
    record,
    sections,
    service_records,
    variables_section,
    vcc_section,
    vds_section,
    vsw_section,
)
from .model import CONTROL_DEFAULTS, Domain, Services, human_size

# -- ldm list-services ----------------------------------------------------------------------------

# ldm.md §5 (RECONSTRUCTED sample, followed exactly, including the UNCERTAIN ``ldom=``).
def format_services_parseable(services: Services) -> str:
    return parseable(service_records(services, with_ldom=True))


# ldm.md §5: the 1.x column sets with the LDOM column; widths RECONSTRUCTED (the 3.x set is UNCERTAIN).
def format_services(services: Services) -> str:
    vcc, vsw, vds = services.vcc, services.vsw, services.vds
    vsw_widths, vds_widths = (17, 17, 18, 10, 5, 11, 11, 16, 5, 5, 6, 7), (17, 17, 15, 17, 11)
    volumes = [indented(vds_widths, vds.name if index == 0 else "", vds.ldom if index == 0 else "",
                         volume.name, volume.options, "", volume.dev)
               for index, volume in enumerate(vds.volumes.values())]
    return joined(sections(
        ["VCC", indented((17, 17), "NAME", "LDOM", "PORT-RANGE"),
         indented((17, 17), vcc.name, vcc.ldom, vcc.port_range)],
        ["VSW", indented(vsw_widths, "NAME", "LDOM", "MAC", "NET-DEV", "ID", "DEVICE", "LINKPROP", "DEFAULT-VLAN-ID",
                          "PVID", "VID", "MTU", "MODE", "INTER-VNET-LINK"),
         indented(vsw_widths, vsw.name, vsw.ldom, vsw.mac, vsw.net_dev, str(vsw.id), "switch@0", "", "1",
                   str(vsw.pvid), "", str(vsw.mtu), "", "on")],
        ["VDS", indented(vds_widths, "NAME", "LDOM", "VOLUME", "OPTIONS", "MPGROUP", "DEVICE"),
         *(volumes or [indented((17,), vds.name, vds.ldom)])],
    )[1:])


# -- ldm list-devices -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Devices:
    """What list-devices reports: every core, strand, memory block and root complex with its owner."""

    #: (cid, pids of the core, how many are free)
    cores: list[tuple[int, list[int], int]]
    #: (pid, owner or "")
    strands: list[tuple[int, str]]
    #: (pa, size, owner or "" when free), by address
    memory: list[tuple[int, int, str]]
    #: (device, pseudonym, owner or "")
    io: list[tuple[str, str, str]]


DEVICE_KINDS = ("core", "cpu", "memory", "io", "crypto")


# ldm.md §7 (VERBATIM-shaped for VCPU ``|pid=|free=|pm=no`` and MEMORY ``|pa=|size=|bound=`` rows; without
# -a only free resources, and MEMORY rows without ``bound=``, RECONSTRUCTED). CORE rows ``|cid=|free=|cpuset=``
# and IO rows ``|dev=|alias=|bound=`` are RECONSTRUCTED. The simulated machine's crypto units belong to
# its cores (no separately bound MAU), so ``crypto`` lists nothing.
def format_devices_parseable(devices: Devices, kinds: Sequence[str], *, all_: bool) -> str:
    lines: list[str] = []
    if "core" in kinds:
        lines.append("CORE")
        lines += [record("", ("cid", cid), ("free", 100 * free // len(pids)), ("cpuset", ",".join(map(str, pids))))
                  for cid, pids, free in devices.cores if all_ or free]
    if "cpu" in kinds:
        lines.append("VCPU")
        lines += [record("", ("pid", pid), ("free", 0 if owner else 100), ("pm", "no"))
                  for pid, owner in devices.strands if all_ or not owner]
    if "memory" in kinds:
        lines.append("MEMORY")
        lines += [record("", ("pa", hexa(pa)), ("size", size), *((("bound", owner),) if all_ else ()))
                  for pa, size, owner in devices.memory if all_ or not owner]
    if "io" in kinds:
        lines.append("IO")
        lines += [record("", ("dev", dev), ("alias", alias), *((("bound", owner),) if all_ else ()))
                  for dev, alias, owner in devices.io if all_ or not owner]
    return parseable(lines)


# ldm.md §7 has no human sample; MEMORY follows the LDoms 1.3 guide's ``PA SIZE`` table (VERBATIM-shaped,
# quoted in its "Migrating Memory in an Active Domain" section), with a BOUND column under -a. CORE
# ``ID %FREE CPUSET``, VCPU ``PID %FREE PM`` and IO ``DEVICE PSEUDONYM BOUND`` are RECONSTRUCTED.
def format_devices(devices: Devices, kinds: Sequence[str], *, all_: bool) -> str:
    parts: list[list[str]] = []
    if "core" in kinds:
        parts.append(["CORE", indented((8, 8), "ID", "%FREE", "CPUSET"),
                      *(indented((8, 8), str(cid), str(100 * free // len(pids)), f"({', '.join(map(str, pids))})")
                        for cid, pids, free in devices.cores if all_ or free)])
    if "cpu" in kinds:
        parts.append(["VCPU", indented((8, 8), "PID", "%FREE", "PM"),
                      *(indented((8, 8), str(pid), "0" if owner else "100", "no")
                        for pid, owner in devices.strands if all_ or not owner)])
    if "memory" in kinds:
        rows = [(hexa(pa), human_size(size), owner) for pa, size, owner in devices.memory if all_ or not owner]
        if all_:
            table = [indented((21, 16), "PA", "SIZE", "BOUND"), *(indented((21, 16), *row) for row in rows)]
        else:
            table = [indented((21,), "PA", "SIZE"), *(indented((21,), pa, size) for pa, size, _ in rows)]
        parts.append(["MEMORY", *table])
    if "io" in kinds:
        parts.append(["IO", indented((17, 17), "DEVICE", "PSEUDONYM", "BOUND"),
                      *(indented((17, 17), dev, alias, owner) for dev, alias, owner in devices.io
                        if all_ or not owner)])
    return joined(sections(*parts)[1:])


# -- ldm list-constraints -------------------------------------------------------------------------

# ldm.md §6.2 (VERBATIM-shaped: the LDoms 1.2 sample's lines and order) with the 3.x UUID and CONTROL
# lines salt expects (position RECONSTRUCTED: right after DOMAIN and MAC).
def format_constraints_parseable(domains: Sequence[Domain], services: Services) -> str:
    lines: list[str] = []
    for domain in domains:
        lines += [record("DOMAIN", ("name", domain.name)), record("UUID", ("uuid", domain.uuid)),
                  record("MAC", ("mac-addr", domain.mac)), record("CONTROL", *CONTROL_DEFAULTS),
                  record("VCPU", ("count", domain.vcpus)), record("MEMORY", ("size", domain.memory))]
        if domain.variables:
            lines += ["VARIABLES", *(f"|{name}={value}" for name, value in domain.variables.items())]
        if domain.io:
            lines += ["IO", *(record("", ("dev", dev), ("alias", alias)) for dev, alias in domain.io)]
        if domain.service:
            vds, vcc, vsw = services.vds, services.vcc, services.vsw
            lines += [record("VDS", ("name", vds.name)),
                      *(record("", ("vol", volume.name), ("opts", volume.options), ("dev", volume.dev))
                        for volume in vds.volumes.values()),
                      record("VCC", ("name", vcc.name), ("port-range", vcc.port_range)),
                      record("VSW", ("name", vsw.name), ("mac-addr", ""), ("net-dev", vsw.net_dev),
                             ("dev", "switch@0"))]
        lines += [record("VNET", ("name", vnet.name), ("dev", f"network@{vnet.id}"), ("service", vnet.service),
                         ("mac-addr", vnet.mac)) for vnet in domain.vnets]
        lines += [record("VDISK", ("name", disk.name), ("vol", disk.vol)) for disk in domain.vdisks]
    return parseable(lines)


# ldm.md §6.1 (VERBATIM-shaped: the LDoms 1.2 sample's DOMAIN, VCPU, MEMORY, NETWORK, DISK and VCONS
# sections and widths). VARIABLES, and IO/VCC/VSW/VDS for the service domain, reuse the long-listing
# sections; domains are separated as in a long listing (RECONSTRUCTED).
def format_constraints(domains: Sequence[Domain], services: Services) -> str:
    domain_blocks = []
    for domain in domains:
        network = ["NETWORK", indented((13, 28, 13), "NAME", "SERVICE", "DEVICE", "MAC"),
                   *(indented((13, 28, 13), vnet.name, vnet.service, f"network@{vnet.id}", vnet.mac)
                     for vnet in domain.vnets)] if domain.vnets else []
        disks = ["DISK", indented((17,), "NAME", "VOLUME"),
                 *(indented((17,), disk.name, disk.vol) for disk in domain.vdisks)] if domain.vdisks else []
        vcons = [] if domain.control else ["VCONS", indented((17,), "NAME", "SERVICE"),
                                           indented((17,), domain.name, services.vcc.name)]
        service = [vcc_section(services), vsw_section(services), vds_section(services)] if domain.service else []
        domain_blocks.append(sections(
            ["DOMAIN", domain.name],
            ["VCPU", "    COUNT", f"    {domain.vcpus}"],
            ["MEMORY", "    SIZE", f"    {human_size(domain.memory)}"],
            variables_section(domain), io_section(domain), *service, network, disks, vcons,
        )[1:])
    return blocks(domain_blocks)


# ldm.md §6.3 (VERBATIM-shaped: the LDoms 1.2 XML schema and indentation). Real 3.x emits the OVF
# Envelope form instead (ldm.md §6.3); it is not simulated.
def format_constraints_xml(domains: Sequence[Domain]) -> str:
    def element(depth: int, tag: str, text: object) -> str:
        return f"{'  ' * depth}<{tag}>{escape(str(text))}</{tag}>"

    lines = ['<?xml version="1.0"?>', '<LDM_interface version="1.0">', '  <data version="2.0">']
    for domain in domains:
        lines += ["    <ldom>", "      <ldom_info>", element(4, "ldom_name", domain.name), "      </ldom_info>",
                  "      <cpu>", element(4, "number", domain.vcpus), "      </cpu>",
                  "      <memory>", element(4, "size", human_size(domain.memory)), "      </memory>"]
        for vnet in domain.vnets:
            lines += ["      <network>", element(4, "vnet_name", vnet.name), element(4, "service_name", vnet.service),
                      element(4, "mac_address", vnet.mac), "      </network>"]
        for disk in domain.vdisks:
            lines += ["      <disk>", element(4, "vdisk_name", disk.name), element(4, "service_name", disk.server),
                      element(4, "vol_name", disk.volume), "      </disk>"]
        for name, value in domain.variables.items():
            lines += ["      <var>", element(4, "name", name), element(4, "value", value), "      </var>"]
        lines.append("    </ldom>")
    lines += ["  </data>", "</LDM_interface>"]
    return joined(lines)


# ldm.md §8 (ATTESTED): ``name=value`` lines.
def format_variables(pairs: Iterable[tuple[str, str]]) -> str:
    return joined(f"{name}={value}" for name, value in pairs)




# -- ldm list -o status (migrations) ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Status:
    """A migration in progress, as ``ldm list -o status`` shows it on one of its two hosts."""

    #: whole percent done
    progress: int
    error: bool
    #: the other host: the target seen from the source, the source seen from the target
    peer: str
    outgoing: bool
    op: str = "migration"


# ldm.md §10.2 (RECONSTRUCTED there, followed exactly): NAME and the name, a blank line, STATUS with
# ``OPERATION PROGRESS TARGET``. A domain with nothing in progress shows NAME only; on the target of a
# migration the last column is SOURCE (RECONSTRUCTED); several domains are separated as in ldm.md §4.
def format_status(rows: Sequence[tuple[Domain, Status | None]]) -> str:
    widths = (13, 12)
    domain_blocks = []
    for domain, status in rows:
        block = ["NAME", domain.name]
        if status is not None:
            block += ["", "STATUS", indented(widths, "OPERATION", "PROGRESS", "TARGET" if status.outgoing else "SOURCE"),
                      indented(widths, status.op, f"{status.progress}%", status.peer)]
        domain_blocks.append(block)
    return blocks(domain_blocks)


# ldm.md §10.2 (UNCERTAIN there, followed): ``STATUS`` then ``|op=migration|progress=34|error=no|target=…``,
# after the ``DOMAIN|name=`` line that starts each domain (ldm.md §3.1); ``source=`` on the target.
def format_status_parseable(rows: Sequence[tuple[Domain, Status | None]]) -> str:
    out: list[str] = []
    for domain, status in rows:
        out.append(record("DOMAIN", ("name", domain.name)))
        if status is not None:
            out += ["STATUS", record("", ("op", status.op), ("progress", status.progress),
                                     ("error", "yes" if status.error else "no"),
                                     ("target" if status.outgoing else "source", status.peer))]
    return parseable(out)


# -- ldm list-spconfig -------------------------------------------------------------------------------

# ldm.md §11 (RECONSTRUCTED sample, followed): one name per line from column 0, `` [current]`` after the
# configuration in use and `` [next poweron]`` after the one selected for the next power-on when it differs.
def format_spconfig(names: Iterable[str], current: str, next_poweron: str) -> str:
    def tagged(name: str) -> str:
        if name == current:
            return f"{name} [current]"
        return f"{name} [next poweron]" if name == next_poweron else name

    return joined(tagged(name) for name in names)
