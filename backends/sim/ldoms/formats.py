"""ldm's domain listings: ``ldm -V``, ``list``, ``list -p``, ``list -l``/``list-bindings`` in both forms.

Each formatter names the section of the project's ldm format notes (``shared/formats/ldm.md``, cited as
"ldm.md §N") it follows and its confidence there: VERBATIM-shaped (laid out exactly like a captured or
documented sample) or RECONSTRUCTED (assembled from attested pieces). Formatters are pure: domains and
counters in, text out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .model import (
    CONTROL_CONSOLE,
    CONTROL_DEFAULTS,
    LDM_VERSION,
    PARSEABLE_VERSION,
    Domain,
    Live,
    Migrating,
    Row,
    Services,
    State,
    human_size,
    human_uptime,
)

#: ldm.md §4: the line between domains in long listings, and the line between sections
BLOCK_SEPARATOR = "-" * 78
SECTION_GAP = " "


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def hexa(value: int) -> str:
    return f"{value:#x}"


# -- formatting helpers ---------------------------------------------------------------------------


def cells(widths: Sequence[int], *values: str) -> str:
    """Columns the way ldm pads them (ldm.md §2.1): each value, padded to its width minus one, then one
    space, so a longer value pushes the rest right; the last value unpadded; no trailing blanks."""
    assert len(values) == len(widths) + 1
    padded = "".join(value.ljust(width - 1) + " " for value, width in zip(values, widths))
    return (padded + values[-1]).rstrip()


def indented(widths: Sequence[int], *values: str, indent: int = 4) -> str:
    return " " * indent + cells(widths, *values)


def record(keyword: str, *pairs: tuple[str, object]) -> str:
    """ldm.md §3.1: ``KEYWORD|k=v|k=v`` (a sub-row when ``keyword`` is empty)."""
    return keyword + "".join(f"|{key}={value}" for key, value in pairs)


def joined(rows: Iterable[str]) -> str:
    """Lines joined, each ending with a newline ("" for none)."""
    text = "\n".join(rows)
    return text + "\n" if text else ""


def parseable(rows: Iterable[str]) -> str:
    return joined([f"VERSION {PARSEABLE_VERSION}", *rows])


def sections(*parts: list[str]) -> list[str]:
    """ldm.md §4: each non-empty section is preceded by a line holding one space."""
    out: list[str] = []
    for part in parts:
        if part:
            out += [SECTION_GAP, *part]
    return out


def blocks(parts: Iterable[list[str]]) -> str:
    """ldm.md §4: domains in a long listing are separated by a gap line and 78 dashes."""
    out: list[str] = []
    for block in parts:
        if out:
            out += [SECTION_GAP, BLOCK_SEPARATOR]
        out += block
    return joined(out)


def flag_letters(domain: Domain) -> str:
    """ldm.md §1.2 (VERBATIM definitions): six position-dependent columns, ``-`` when off. Column 1
    (starting/stopping) is never set: starting and stopping are instantaneous here. Column 2 is ``t`` while
    an active guest sits at OpenBoot (`Domain.transition`), column 6 the migration role."""
    active = domain.state is State.ACTIVE
    return "".join((
        "-",
        ("t" if domain.transition else "n") if active else "-",
        "d" if domain.delayed_reconfig else "-",
        "c" if domain.control else "-",
        "v" if domain.service else "-",
        domain.migrating.value,
    ))


#: ldm.md §1.2: the spelled-out words of column 6; UNCERTAIN there (RECONSTRUCTED)
MIGRATION_WORDS = {Migrating.SOURCE: "source", Migrating.TARGET: "target", Migrating.ERROR: "error"}


def flag_words(domain: Domain) -> str:
    """ldm.md §1.2: the ``-l -p`` spelling. ``normal``, ``control`` and ``vio-service`` are attested;
    ``transition``, ``delayed-reconfig`` and the migration words are UNCERTAIN there (RECONSTRUCTED)."""
    active = domain.state is State.ACTIVE
    words = [word for on, word in ((active and not domain.transition, "normal"),
                                   (domain.transition, "transition"),
                                   (domain.delayed_reconfig, "delayed-reconfig"),
                                   (domain.control, "control"), (domain.service, "vio-service")) if on]
    if domain.migrating is not Migrating.NONE:
        words.append(MIGRATION_WORDS[domain.migrating])
    return ",".join(words)


def cpusets(domain: Domain, strands_per_core: int) -> list[tuple[int, list[int]]]:
    cores: dict[int, list[int]] = {}
    for pid in sorted(domain.strands):
        cores.setdefault(pid // strands_per_core, []).append(pid)
    return sorted(cores.items())


# -- ldm -V ---------------------------------------------------------------------------------------

# ldm.md §8: the layout of the LDoms 1.2 sample (VERBATIM), with the 3.x "Logical Domains Manager"
# wording and 3.x-era version numbers. RECONSTRUCTED: ldm.md marks the 3.x output UNCERTAIN.
def format_version() -> str:
    return joined([
        SECTION_GAP,
        f"Logical Domains Manager (v {LDM_VERSION})",
        "   Hypervisor control protocol v 1.12",
        "   Using Hypervisor MD v 1.4",
        SECTION_GAP,
        "System PROM:",
        f"   {'Hypervisor':<12}{'v. 1.20.7.':<13}@(#)Hypervisor 1.20.7. 2019/06/19 11:37",
        f"   {'OpenBoot':<12}{'v. 4.43.4.':<13}@(#)OBP 4.43.4. 2019/06/05 13:41",
    ])


# -- ldm list -------------------------------------------------------------------------------------

#: ldm.md §2.1: NAME 17, STATE 11, FLAGS 8, CONS 8, VCPU 6, MEMORY 9, UTIL 6, NORM 6, then UPTIME
LIST_WIDTHS = (17, 11, 8, 8, 6, 9, 6, 6)
LIST_HEADER = cells(LIST_WIDTHS, "NAME", "STATE", "FLAGS", "CONS", "VCPU", "MEMORY", "UTIL", "NORM", "UPTIME")


def _list_row(domain: Domain, live: Live | None) -> str:
    return cells(LIST_WIDTHS, domain.name, domain.state.value, flag_letters(domain), domain.cons,
                  str(domain.vcpus), human_size(domain.memory), percent(live.util if live else None),
                  percent(live.norm if live else None), human_uptime(live.uptime) if live else "")


# ldm.md §2.1 (VERBATIM-shaped: the 3.x capture's header, column starts and pushing rule; bound and
# inactive rows end after MEMORY).
def format_list(rows: Sequence[Row]) -> str:
    return joined([LIST_HEADER, *(_list_row(domain, live) for domain, live in rows)])


def _domain_record(domain: Domain, live: Live | None, flags: str) -> str:
    return record("DOMAIN", ("name", domain.name), ("state", domain.state.value), ("flags", flags),
                   ("cons", domain.cons), ("ncpu", domain.vcpus), ("mem", domain.memory),
                   ("util", number(live.util if live else None)), ("uptime", live.uptime if live else ""),
                   ("norm_util", number(live.norm if live else None)))


# ldm.md §3.2 (VERBATIM-shaped: the 3.x capture's fields and order; util, uptime and norm_util empty
# for bound and inactive domains, ATTESTED).
def format_list_parseable(rows: Sequence[Row]) -> str:
    return parseable(_domain_record(domain, live, flag_letters(domain)) for domain, live in rows)


# -- ldm list -l -p / list-bindings -p ------------------------------------------------------------

def service_records(services: Services, *, with_ldom: bool) -> list[str]:
    """The VCC, VSW and VDS lines of ldm.md §3.5 (list-bindings) or §5 (list-services, ``ldom=``)."""
    vcc, vsw, vds = services.vcc, services.vsw, services.vds
    ldom = (("ldom", vcc.ldom),) if with_ldom else ()
    vsw_pairs = [("name", vsw.name), *ldom, ("mac-addr", vsw.mac), ("net-dev", vsw.net_dev),
                 ("dev", "switch@0"), ("default-vlan-id", 1), ("pvid", vsw.pvid), ("vid", ""), ("mode", ""),
                 ("mtu", vsw.mtu)]
    vsw_pairs += [("linkprop", ""), ("id", vsw.id)] if with_ldom else [("id", vsw.id)]
    return [
        record("VCC", ("name", vcc.name), *ldom, ("port-range", vcc.port_range)),
        record("VSW", *vsw_pairs),
        record("VDS", ("name", vds.name), *ldom),
        *(record("", ("vol", volume.name), ("opts", volume.options), ("dev", volume.dev), ("mpgroup", ""))
          for volume in vds.volumes.values()),
    ]


def _bindings_records(domain: Domain, live: Live | None, services: Services,
                      strands_per_core: int) -> list[str]:
    lines = [
        _domain_record(domain, live, flag_words(domain)),
        record("UUID", ("uuid", domain.uuid)),
        record("MAC", ("mac-addr", domain.mac)),
        record("HOSTID", ("hostid", domain.hostid)),
        record("CONTROL", *CONTROL_DEFAULTS),
        record("DEPENDENCY", ("master", "")),
    ]
    if domain.strands:
        lines.append("CORE")
        lines += [record("", ("cid", cid), ("cpuset", ",".join(map(str, pids))))
                  for cid, pids in cpusets(domain, strands_per_core)]
        lines.append("VCPU")
        # ldm.md §3.3: 3.x adds cid and norm to §3.5's rows (their order UNCERTAIN there)
        lines += [record("", ("vid", vid), ("pid", pid), ("util", percent(live.vcpu_util[vid] if live else None)),
                          ("strand", 100), ("cid", pid // strands_per_core),
                          ("norm", percent(live.vcpu_norm[vid] if live else None)))
                  for vid, pid in enumerate(domain.strands)]
    if domain.blocks:
        lines.append("MEMORY")
        lines += [record("", ("ra", hexa(block.ra)), ("pa", hexa(block.pa)), ("size", block.size))
                  for block in domain.blocks]
    if domain.variables:
        lines.append("VARIABLES")
        lines += [f"|{name}={value}" for name, value in domain.variables.items()]
    if domain.io:
        lines.append("IO")
        lines += [record("", ("dev", dev), ("alias", alias)) for dev, alias in domain.io]
    if domain.service:
        lines += service_records(services, with_ldom=False)
    lines += [record("VNET", ("name", vnet.name), ("dev", f"network@{vnet.id}"),
                      ("service", f"{vnet.service}@{services.vsw.ldom}"), ("mac-addr", vnet.mac), ("mode", ""),
                      ("pvid", vnet.pvid), ("vid", ",".join(map(str, vnet.vids))), ("mtu", vnet.mtu),
                      ("id", vnet.id))
              for vnet in domain.vnets]
    lines += [record("VDISK", ("name", disk.name), ("vol", disk.vol), ("timeout", disk.timeout),
                      ("dev", f"disk@{disk.id}"), ("server", services.vds.ldom), ("mpgroup", ""), ("id", disk.id))
              for disk in domain.vdisks]
    if not domain.control:
        vcc = services.vcc
        # ldm.md §3.3: log= (console logging, UNCERTAIN there) as the human LOGGING column prints it
        lines.append(record("VCONS", ("group", domain.name), ("service", f"{vcc.name}@{vcc.ldom}"),
                             ("port", domain.cons), ("log", "on")))
    return lines


# ldm.md §3.5 (RECONSTRUCTED there, followed line for line: the DOMAIN line with spelled-out flags,
# UUID, MAC, HOSTID, CONTROL, DEPENDENCY, CORE, VCPU, MEMORY, VARIABLES, IO, VCC/VSW/VDS on the service
# domain, VNET, VDISK, VCONS on guests), plus the attributes §3.3 says 3.x adds (norm= on VCPU rows, log= on
# VCONS). CORE, VCPU and MEMORY appear only while resources are bound.
def format_bindings_parseable(rows: Sequence[Row], services: Services, strands_per_core: int) -> str:
    lines: list[str] = []
    for domain, live in rows:
        lines += _bindings_records(domain, live, services, strands_per_core)
    return parseable(lines)


# -- ldm list -l / list-bindings (human) ----------------------------------------------------------

def vcc_section(services: Services) -> list[str]:
    vcc = services.vcc
    return ["VCC", indented((17,), "NAME", "PORT-RANGE"), indented((17,), vcc.name, vcc.port_range)]


def vsw_section(services: Services) -> list[str]:
    vsw, widths = services.vsw, (17, 18, 10, 10)
    return ["VSW", indented(widths, "NAME", "MAC", "NET-DEV", "DEVICE", "MODE"),
            indented(widths, vsw.name, vsw.mac, vsw.net_dev, "switch@0", "")]


def vds_section(services: Services) -> list[str]:
    vds, widths = services.vds, (17, 15, 17)
    rows = [indented(widths, vds.name if index == 0 else "", volume.name, volume.options, volume.dev)
            for index, volume in enumerate(vds.volumes.values())]
    return ["VDS", indented(widths, "NAME", "VOLUME", "OPTIONS", "DEVICE"), *(rows or [f"    {vds.name}"])]


def io_section(domain: Domain) -> list[str]:
    widths = (17, 17)
    return ["IO", indented(widths, "DEVICE", "PSEUDONYM", "OPTIONS"),
            *(indented(widths, dev, alias, "") for dev, alias in domain.io)] if domain.io else []


def variables_section(domain: Domain) -> list[str]:
    return ["VARIABLES", *(f"    {name}={value}" for name, value in domain.variables.items())] \
        if domain.variables else []


def _network_section(domain: Domain, peers: dict[str, list[tuple[str, str]]], services: Services) -> list[str]:
    widths = (17, 26, 5, 11, 18, 6, 5, 5, 6, 7)
    lines = ["NETWORK"] if domain.vnets else []
    for vnet in domain.vnets:
        lines.append(indented(widths, "NAME", "SERVICE", "ID", "DEVICE", "MAC", "MODE", "PVID", "VID", "MTU",
                               "MAXBW", "LINKPROP"))
        lines.append(indented(widths, vnet.name, f"{vnet.service}@{services.vsw.ldom}", str(vnet.id),
                               f"network@{vnet.id}", vnet.mac, "", str(vnet.pvid), ",".join(map(str, vnet.vids)),
                               str(vnet.mtu), "", ""))
        vnet_peers = peers.get(f"{vnet.name}@{domain.name}", [])
        if vnet_peers:
            lines.append(indented((28,), "PEER", "MAC", indent=8))
            lines += [indented((28,), peer, mac, indent=8) for peer, mac in vnet_peers]
    return lines


def _disk_section(domain: Domain, services: Services) -> list[str]:
    widths = (17, 28, 5, 5, 11, 11)
    if not domain.vdisks:
        return []
    return ["DISK", indented(widths, "NAME", "VOLUME", "TOUT", "ID", "DEVICE", "SERVER", "MPGROUP"),
            *(indented(widths, disk.name, disk.vol, disk.timeout, str(disk.id), f"disk@{disk.id}",
                        services.vds.ldom, "") for disk in domain.vdisks)]


def _vcons_section(domain: Domain, services: Services) -> list[str]:
    widths = (17, 28, 7)
    header = indented(widths, "NAME", "SERVICE", "PORT", "LOGGING")
    if domain.control:
        return ["VCONS", header, f"    {CONTROL_CONSOLE}"]
    port = "" if domain.console_port is None else str(domain.console_port)
    return ["VCONS", header,
            indented(widths, domain.name, f"{services.vcc.name}@{services.vcc.ldom}", port, "on")]


def _core_section(domain: Domain, strands_per_core: int) -> list[str]:
    if not domain.strands:
        return []
    return ["CORE", indented((7,), "CID", "CPUSET"),
            *(indented((7,), str(cid), f"({', '.join(map(str, pids))})")
              for cid, pids in cpusets(domain, strands_per_core))]


def _vcpu_section(domain: Domain, live: Live | None, strands_per_core: int) -> list[str]:
    """UTIL, NORM and STRAND are right-aligned under their titles (ldm.md §4: ``0.0%   100%``)."""
    if not domain.strands:
        return []
    lines = ["VCPU", indented((7, 7, 7), "VID", "PID", "CID", "UTIL NORM STRAND")]
    for vid, pid in enumerate(domain.strands):
        util, norm = percent(live.vcpu_util[vid] if live else None), percent(live.vcpu_norm[vid] if live else None)
        lines.append(indented((7, 7, 7), str(vid), str(pid), str(pid // strands_per_core),
                               f"{util:>4} {norm:>4} {'100%':>6}"))
    return lines


def _memory_section(domain: Domain) -> list[str]:
    if not domain.blocks:
        return []
    return ["MEMORY", indented((17, 17), "RA", "PA", "SIZE"),
            *(indented((17, 17), hexa(block.ra), hexa(block.pa), human_size(block.size))
              for block in domain.blocks)]


def _long_block(domain: Domain, live: Live | None, services: Services, strands_per_core: int,
                peers: dict[str, list[tuple[str, str]]], *, extended: bool) -> list[str]:
    # ldm.md §4: "Solaris running" (VERBATIM); "OpenBoot Running" at the ok prompt is RECONSTRUCTED
    softstate = ["SOFTSTATE", "OpenBoot Running" if domain.transition else "Solaris running"] \
        if extended and domain.state is State.ACTIVE else []
    service = [vcc_section(services), vsw_section(services), vds_section(services)] if domain.service else []
    return [LIST_HEADER, _list_row(domain, live), *sections(
        softstate,
        ["UUID", f"    {domain.uuid}"],
        ["MAC", f"    {domain.mac}"],
        ["HOSTID", f"    {domain.hostid}"],
        ["CONTROL", *(f"    {key}={value}" for key, value in CONTROL_DEFAULTS)],
        ["DEPENDENCY", "    master="],
        _core_section(domain, strands_per_core),
        _vcpu_section(domain, live, strands_per_core),
        _memory_section(domain),
        variables_section(domain),
        io_section(domain),
        *service,
        _network_section(domain, peers, services),
        _disk_section(domain, services),
        _vcons_section(domain, services),
    )]


# ldm.md §4: the LDoms 1.2 long listing (VERBATIM-shaped: the header row, one-space gap lines, titled
# sections with 4-space-indented rows, the VCPU/MEMORY/IO/VCC/VSW/VDS column sets, PEER sub-tables,
# 78-dash separators), grown by the 3.x additions ldm.md lists: UUID, CORE, VCPU with CID and NORM, and
# the 3.x NETWORK, DISK and VCONS column sets (RECONSTRUCTED, UNCERTAIN there). ``extended`` (``-e``)
# adds SOFTSTATE.
def format_long(rows: Sequence[Row], services: Services, strands_per_core: int,
                peers: dict[str, list[tuple[str, str]]], *, extended: bool = False) -> str:
    return blocks(_long_block(domain, live, services, strands_per_core, peers, extended=extended)
                  for domain, live in rows)
