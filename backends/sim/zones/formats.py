"""What zoneadm and zonecfg print: ``zoneadm list`` in its three forms, ``zonecfg export`` and ``info``.

Pure functions of rows and configurations. Each one names the code it follows: zones.md §1.1 (the
printf of ``zone_print`` in zoneadm.c), zones.md §4 (export samples), and zonecfg.c ``export_func`` /
``info_func`` of illumos-gate and of the Solaris 11 source archive (Arquivotheca/solaris11).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import CPU_CAP, MAX_LOCKED, MAX_SWAP, RCTL_ALIASES, Config, Layout, Resource

#: zoneadm.h ``ZONEID_WIDTH`` (zones.md §1.4: the VERBATIM Solaris 11 header right-aligns ``ID`` in 4)
ZONEID_WIDTH = 4


@dataclass(frozen=True, slots=True)
class ListRow:
    """One zone as ``zoneadm list`` sees it (zoneadm.c ``zone_entry_t``)."""

    zoneid: int | None
    name: str
    state: str
    path: str
    uuid: str
    brand: str
    iptype: str  # "shared" | "excl"
    debugid: int | None = None  # illumos; None prints as ""
    readonly: str = "-"  # Solaris 11: R, W or -
    profile: str = "none"  # Solaris 11 file-mac-profile


def _lines(lines: Iterable[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def list_parseable(rows: Sequence[ListRow], layout: Layout, *, trailing_field: bool = False) -> str:
    """zones.md §1.1: ``zoneadm list -p``; every ``:`` of the zonepath is escaped as ``\\:``."""
    out = []
    for row in rows:
        zid = "-" if row.zoneid is None else str(row.zoneid)
        path = row.path.replace(":", "\\:")
        head = f"{zid}:{row.name}:{row.state}:{path}:{row.uuid}:{row.brand}:{row.iptype}"
        if layout is Layout.ILLUMOS:
            out.append(f"{head}:{'' if row.debugid is None else row.debugid}")
        else:
            out.append(f"{head}:{row.readonly}:{row.profile}" + (":" if trailing_field else ""))
    return _lines(out)


#: zones.md §1.4: column widths of ``zoneadm list -v`` (STATUS, PATH, BRAND). illumos follows the printf
#: of zoneadm.c; Solaris 11 follows the VERBATIM Solaris 11 fragment, whose columns are wider than the
#: archived source's.
_VERBOSE_WIDTHS = {Layout.ILLUMOS: (10, 30, 8), Layout.SOLARIS11: (11, 28, 10)}


def list_verbose(rows: Sequence[ListRow], layout: Layout) -> str:
    """zones.md §1.4: ``zoneadm list -v``; long names and paths push later columns, nothing is cut."""
    status, path, brand = _VERBOSE_WIDTHS[layout]
    fmt = f"{{:>{ZONEID_WIDTH}}} {{:<16}} {{:<{status}}} {{:<{path}}} {{:<{brand}}} {{:<6}}"
    out = [fmt.format("ID", "NAME", "STATUS", "PATH", "BRAND", "IP")]
    for row in rows:
        zid = "-" if row.zoneid is None else str(row.zoneid)
        out.append(fmt.format(zid, row.name, row.state, row.path, row.brand, row.iptype))
    return _lines(out)


def list_names(rows: Sequence[ListRow]) -> str:
    """``zoneadm list`` with neither -p nor -v: the names, one per line."""
    return _lines(row.name for row in rows)


# -- sizes ------------------------------------------------------------------------------------------


def bytes_to_units(num: int) -> str:
    """zonecfg.c ``bytes_to_units``: ``2G``, ``512M``, ``1.5G`` (one decimal below 10 units)."""
    if num < 1024:
        return str(num)
    units, index, save = "BKMGT", 0, 0
    while num >= 1024 and units[index] != "T":
        index += 1
        save = num
        num = (num + 512) >> 10
    if save % 1024 != 0 and (save >> 10) < 10:
        return f"{save / 1024:.1f}{units[index]}"
    return f"{num}{units[index]}"


def parse_size(text: str) -> int | None:
    """libzonecfg ``zonecfg_valid_memlimit``: a number with a required K, M, G or T suffix."""
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    if len(text) < 2 or text[-1].lower() not in scale:
        return None
    try:
        value = float(text[:-1])
    except ValueError:
        return None
    return int(value * scale[text[-1].lower()]) if value >= 0 else None


# -- zonecfg export ---------------------------------------------------------------------------------

#: zonecfg.c ``export_func`` order of the global properties. illumos prints the zonepath, then the brand
#: (unless native), then autoboot and ip-type always. Solaris 11 follows zones.md §4's VERBATIM samples:
#: brand first, and ip-type, autoshutdown only when set (RECONSTRUCTED beyond those two samples: the
#: archived source's order for the rest).
_EXPORT_GLOBALS = {
    Layout.ILLUMOS: ("zonepath", "brand", "autoboot", "bootargs", "pool", "limitpriv", "scheduling-class",
                     "ip-type", "hostid", "fs-allowed"),
    Layout.SOLARIS11: ("brand", "zonepath", "autoboot", "autoshutdown", "file-mac-profile", "bootargs",
                       "pool", "limitpriv", "scheduling-class", "ip-type", "hostid", "fs-allowed"),
}
#: properties of each resource in export and info order (zonecfg.c ``export_func``, ``output_*``);
#: ``global-nic`` is OmniOS's (zones.md §4 sample; placed after the illumos-gate ones, RECONSTRUCTED)
RESOURCE_PROPS = {
    Layout.ILLUMOS: {
        "fs": ("dir", "special", "raw", "type"),
        "net": ("address", "allowed-address", "physical", "defrouter", "global-nic"),
        "device": ("match",),
        "attr": ("name", "type", "value"),
        "dataset": ("name",),
        "dedicated-cpu": ("ncpus", "importance"),
        "admin": ("user", "auths"),
        "rctl": ("name",),
        "capped-memory": ("physical",),
    },
    Layout.SOLARIS11: {
        "fs": ("dir", "special", "raw", "type"),
        "net": ("address", "allowed-address", "configure-allowed-address", "physical", "defrouter"),
        "anet": ("linkname", "lower-link", "allowed-address", "configure-allowed-address", "defrouter",
                 "allowed-dhcp-cids", "link-protection", "mac-address", "auto-mac-address", "mac-prefix",
                 "mac-slot", "vlan-id", "priority", "rxrings", "txrings", "mtu", "maxbw", "rxfanout"),
        "device": ("match", "allow-partition", "allow-raw-io"),
        "attr": ("name", "type", "value"),
        "dataset": ("name", "alias"),
        "dedicated-cpu": ("ncpus", "importance"),
        "admin": ("user", "auths"),
        "rctl": ("name",),
        "capped-memory": ("physical",),
    },
}
_EXPORT_ORDER = {
    Layout.ILLUMOS: ("fs", "net", "device", "capped-memory", "rctl", "attr", "dataset", "dedicated-cpu", "admin"),
    Layout.SOLARIS11: ("fs", "net", "anet", "device", "capped-memory", "rctl", "attr", "dataset", "dedicated-cpu",
                       "admin"),
}


def quote(value: str) -> str:
    """zonecfg.c ``quoteit``: double quotes around a value with a space in it, nothing else."""
    return f'"{value}"' if " " in value else value


def _export_value(resource: Resource, prop: str) -> str:
    value = resource.props.get(prop, "")
    if resource.type == "capped-memory" and prop == "physical" and value:
        return bytes_to_units(int(value))
    if resource.type == "dataset" and prop == "alias" and value == resource.props.get("name", "").rpartition("/")[2]:
        return ""  # the default alias is not exported (Solaris 11 export_func)
    return value


def export(config: Config, layout: Layout) -> str:
    """``zonecfg -z Z export``: a command script that ``zonecfg -f`` takes back (zones.md §4)."""
    out = ["create -b"]
    for prop in _EXPORT_GLOBALS[layout]:
        value = config.get(prop)
        if layout is Layout.ILLUMOS and prop == "ip-type":
            value = value or "shared"
        if layout is Layout.ILLUMOS and prop == "autoboot":
            value = value or "false"
        if layout is Layout.ILLUMOS and prop == "brand" and value == "native":
            continue
        if value:
            out.append(f"set {prop}={value}")
    props = RESOURCE_PROPS[layout]
    for kind in _EXPORT_ORDER[layout]:
        for resource in config.of_type(kind):
            out.append(f"add {kind}")
            for prop in props[kind]:
                value = _export_value(resource, prop)
                if value:
                    out.append(f"set {prop}={quote(value)}")
            for option in resource.options:
                out.append(f'add options "{option}"' if "=" in option else f"add options {option}")
            for priv, limit, action in resource.values:
                out.append(f"add value (priv={priv},limit={limit},action={action})")
            out.append("end")
    return _lines(out)


# -- zonecfg info -----------------------------------------------------------------------------------

_INFO_GLOBALS = {
    Layout.ILLUMOS: ("zonepath", "brand", "autoboot", "bootargs", "pool", "limitpriv", "scheduling-class",
                     "ip-type", "hostid", "fs-allowed"),
    Layout.SOLARIS11: ("zonepath", "brand", "autoboot", "autoshutdown", "bootargs", "file-mac-profile", "pool",
                       "limitpriv", "scheduling-class", "ip-type", "hostid", "fs-allowed"),
}
_INFO_ORDER = ("fs", "net", "anet", "device", "dedicated-cpu", "capped-cpu", "capped-memory", "attr", "dataset",
               "admin", "rctl")


def _global_value(config: Config, layout: Layout, prop: str) -> str:
    value = config.get(prop)
    if prop == "autoboot":
        return value or "false"
    if prop == "ip-type":
        return value or ("exclusive" if layout is Layout.SOLARIS11 else "shared")
    return value


def _info_resource(config: Config, layout: Layout, resource: Resource, header: str) -> list[str]:
    """zonecfg.c ``output_fs``, ``output_net``, ...: unset properties read ``not specified`` on illumos;
    Solaris 11 lists the set ones only (RECONSTRUCTED)."""
    out = [header]
    for prop in RESOURCE_PROPS[layout][resource.type]:
        value = resource.props.get(prop, "")
        if resource.type == "capped-memory" and value:
            value = bytes_to_units(int(value))
        if value:
            out.append(f"\t{prop}: {quote(value)}")
        elif layout is Layout.ILLUMOS and not (resource.type == "net" and prop == "global-nic") \
                and resource.type not in ("dedicated-cpu", "capped-memory"):
            out.append(f"\t{prop} not specified")
    if resource.type == "fs":
        options = ",".join(f'"{o}"' if "=" in o else o for o in resource.options)
        out.append(f"\toptions: [{options}]")
    for priv, limit, action in resource.values:
        out.append(f"\tvalue: (priv={priv},limit={limit},action={action})")
    return out


def info(config: Config, layout: Layout, zonename: str, kind: str | None = None) -> str:
    """``zonecfg -z Z info [resource|property]`` (zonecfg.c ``info_func``)."""
    out: list[str] = []
    if kind is None or kind == "zonename":
        out.append(f"zonename: {zonename}")
    for prop in _INFO_GLOBALS[layout]:
        if kind is None or kind == prop:
            out.append(f"{prop}: {_global_value(config, layout, prop)}")
    for alias, (rctl, _action) in RCTL_ALIASES.items():
        limit = config.aliased(rctl)
        if limit is not None and (kind is None or kind == alias):
            out.append(f"[{alias}: {bytes_to_units(int(limit)) if alias == 'max-shm-memory' else limit}]")
    counters: dict[str, int] = {}
    for section in _INFO_ORDER:
        if kind is not None and kind != section:
            continue
        for resource in _info_resources(config, section):
            index = counters.get(section, 0)
            counters[section] = index + 1
            header = f"{section} {index}:" if layout is Layout.SOLARIS11 and section != "capped-cpu" \
                else f"{section}:"
            if section == "capped-cpu":
                out += [header, f"\t[ncpus: {int(resource.values[0][1]) / 100:.2f}]"]
            elif section == "capped-memory":
                out += _info_mcap(config, layout, resource, header)
            else:
                out += _info_resource(config, layout, resource, header)
    return _lines(out)


def _info_resources(config: Config, section: str) -> list[Resource]:
    if section == "capped-cpu":
        cap = config.rctl(CPU_CAP)
        return [cap] if cap is not None else []
    if section == "capped-memory":
        mcap = config.of_type("capped-memory")
        if mcap or config.rctl(MAX_SWAP) or config.rctl(MAX_LOCKED):
            return mcap or [Resource("capped-memory")]
        return []
    return config.of_type(section)


def _info_mcap(config: Config, layout: Layout, resource: Resource, header: str) -> list[str]:
    """zonecfg.c ``output_mcap``: physical, then ``[swap: ...]`` and ``[locked: ...]`` from the rctls."""
    out = [header]
    if resource.props.get("physical"):
        out.append(f"\tphysical: {bytes_to_units(int(resource.props['physical']))}")
    for prop, rctl in (("swap", MAX_SWAP), ("locked", MAX_LOCKED)):
        limit = config.aliased(rctl)
        if limit is not None:
            out.append(f"\t[{prop}: {bytes_to_units(int(limit))}]")
    return out
