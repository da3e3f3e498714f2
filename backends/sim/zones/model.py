"""Zones, their configuration, and what each simulated global zone offers (platforms and brands).

Sources are cited as in the package docstring: zones.md §N, and illumos or Oracle Solaris 11 source files
by path and function. Everything not taken from one of those is marked RECONSTRUCTED.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum

K, M, G, T = 1 << 10, 1 << 20, 1 << 30, 1 << 40


class Layout(str, Enum):
    """zones.md §1.1: the field layout of ``zoneadm list -p`` (and the zonecfg dialect that goes with it)."""

    ILLUMOS = "illumos"  # 8 fields: ...:ip-type:debugid
    SOLARIS11 = "solaris11"  # 9 fields: ...:ip-type:R/W/-:file-mac-profile (10 on 11.4)


class State(str, Enum):
    """zones.md §2: ``zone_state_str`` of libzonecfg; ``unavailable`` is Solaris 11 only."""

    CONFIGURED = "configured"
    INCOMPLETE = "incomplete"
    UNAVAILABLE = "unavailable"
    INSTALLED = "installed"
    READY = "ready"
    MOUNTED = "mounted"
    RUNNING = "running"
    SHUTTING_DOWN = "shutting_down"
    DOWN = "down"

    @property
    def rank(self) -> int:
        """``zone_state_t`` order (libzonecfg.h); ``min_state`` comparisons of zoneadm use it."""
        return _RANK[self]


_RANK = {state: index for index, state in enumerate(State)}
#: states in which a zone exists in the kernel and has a zone ID (zoneadm.c ``fetch_zents``); a mounted
#: zone is a scratch zone under another kernel name, so zoneadm lists it from the index, without an ID
KERNEL_STATES = frozenset({State.READY, State.RUNNING, State.SHUTTING_DOWN, State.DOWN})

#: libzonecfg ``ZONENAME_MAX`` (the terminating NUL included)
ZONENAME_MAX = 64
_ZONE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def valid_zone_name(name: str) -> bool:
    """libzonecfg.c ``zonecfg_validate_zonename``: an ASCII letter or digit, then letters, digits, ``-``,
    ``_`` or ``.``; shorter than ZONENAME_MAX; not ``global``. (Names starting with ``SUNW`` pass here and
    are refused by zoneadm and zonecfg separately.)"""
    return name != "global" and len(name) < ZONENAME_MAX and _ZONE_NAME.fullmatch(name) is not None


# -- configuration --------------------------------------------------------------------------------


@dataclass
class Resource:
    """One zonecfg resource: ``fs``, ``net``, ``anet``, ``device``, ``rctl``, ``attr``, ``dataset``,
    ``dedicated-cpu``, ``capped-memory`` (its ``physical`` only: swap and locked are rctls) or ``admin``.
    ``options`` are an fs resource's mount options; ``values`` an rctl's ``(priv, limit, action)``."""

    type: str
    props: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    values: list[tuple[str, str, str]] = field(default_factory=list)

    def copy(self) -> "Resource":
        return Resource(self.type, dict(self.props), list(self.options), list(self.values))


@dataclass
class Config:
    """A zone's configuration as libzonecfg keeps it: global properties (only those set) and resources
    in the order they were added."""

    props: dict[str, str] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)

    def copy(self) -> "Config":
        return Config(dict(self.props), [r.copy() for r in self.resources])

    def get(self, name: str) -> str:
        return self.props.get(name, "")

    def of_type(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.type == kind]

    def rctl(self, name: str) -> Resource | None:
        return next((r for r in self.of_type("rctl") if r.props.get("name") == name), None)

    def set_rctl(self, name: str, limit: str, action: str) -> None:
        """An aliased resource control (``cpu-shares``, ``capped-cpu``, swap, ...): libzonecfg
        ``zonecfg_set_aliased_rctl`` replaces the rctl's values with one privileged value."""
        existing = self.rctl(name)
        value = ("privileged", limit, action)
        if existing is None:
            self.resources.append(Resource("rctl", {"name": name}, values=[value]))
        else:
            existing.values = [value]

    def aliased(self, name: str) -> str | None:
        """The limit of an aliased rctl (libzonecfg ``zonecfg_get_aliased_rctl``), None when unset."""
        found = self.rctl(name)
        return found.values[0][1] if found is not None and len(found.values) == 1 else None


#: libzonecfg.h ``ALIAS_*``: zonecfg global properties that are stored as resource controls, in the order
#: zonecfg.c ``info_func`` prints them, with the rctl action ``zonecfg_set_aliased_rctl`` uses
RCTL_ALIASES: dict[str, tuple[str, str]] = {
    "max-lwps": ("zone.max-lwps", "deny"),
    "max-processes": ("zone.max-processes", "deny"),
    "max-shm-memory": ("zone.max-shm-memory", "deny"),
    "max-shm-ids": ("zone.max-shm-ids", "deny"),
    "max-msg-ids": ("zone.max-msg-ids", "deny"),
    "max-sem-ids": ("zone.max-sem-ids", "deny"),
    "cpu-shares": ("zone.cpu-shares", "none"),
}
CPU_CAP, MAX_SWAP, MAX_LOCKED = "zone.cpu-cap", "zone.max-swap", "zone.max-locked-memory"


# -- platforms and brands -------------------------------------------------------------------------


@dataclass(frozen=True)
class Brand:
    """What a brand lets zoneadm do. ``image_os`` is the system a zone of the brand runs, which p2v
    archives and attached zonepaths must contain; ``p2v`` the archive kinds its installer's ``-a`` takes
    (shared/common.ksh ``install_image``); ``attach_update`` whether its attach hook takes ``-u``."""

    name: str
    image_os: str
    repository: bool = True  # ``zoneadm install`` with no archive installs from a package repository
    p2v: frozenset[str] = frozenset()
    directory: bool = True  # ``install -d PATH`` (a root image directory, or ``-`` for the zonepath)
    attach_update: bool = True
    install_size: int = 600 * M


#: shared/zone/common.ksh ``install_image``: cpio (also gzip or bzip2 compressed), flash archive, pax
#: (xustar), ufsdump, tar, and a ZFS send stream
SHARED_ARCHIVES = frozenset({"cpio", "gzip", "bzip2", "flar", "pax", "ufsdump", "tar", "zfs"})

#: illumos-omnios brand/ipkg: ipkg, lipkg, sparse and pkgsrc install from IPS (pkgcreatezone.ksh) and
#: from an image (``install {-a archive|-d path} {-p|-u}``); attach.ksh takes -u. The OmniOS brands of
#: zones.md §1.2; their images run illumos. illumos-gate brand/solaris10: image_install.ksh installs only
#: from an image, attach.ksh takes ``a:d:nr:`` (no -u). Install sizes are RECONSTRUCTED.
ILLUMOS_BRANDS = {
    "ipkg": Brand("ipkg", "illumos", p2v=SHARED_ARCHIVES, install_size=640 * M),
    "lipkg": Brand("lipkg", "illumos", p2v=SHARED_ARCHIVES, install_size=560 * M),
    "sparse": Brand("sparse", "illumos", p2v=SHARED_ARCHIVES, install_size=24 * M),
    "pkgsrc": Brand("pkgsrc", "illumos", p2v=SHARED_ARCHIVES, install_size=180 * M),
    "solaris10": Brand("solaris10", "solaris10", repository=False, p2v=SHARED_ARCHIVES - {"zfs"},
                       attach_update=False),
}
#: SmartOS (zones.md §1.2 sample): the brands its zones list; installed by vmadm, not zoneadm
#: (RECONSTRUCTED: zoneadm install refuses them here).
SMARTOS_BRANDS = {name: Brand(name, "smartos", repository=False, directory=False, attach_update=False)
                  for name in ("joyent", "joyent-minimal", "kvm", "lx", "bhyve")}
#: Oracle Solaris 11 (zones.md §3, §3a; docs.oracle.com "How Zones Are Installed"): solaris installs from
#: IPS or from a ZFS send stream or Unified Archive (``-a``) or a root image (``-d``); solaris10 from a
#: Solaris 10 image (flar, cpio, pax, ufsdump; same installer lineage as illumos-gate's); solaris-kz
#: (kernel zones) from IPS or a Unified Archive. Sizes RECONSTRUCTED.
SOLARIS11_BRANDS = {
    "solaris": Brand("solaris", "solaris11", p2v=frozenset({"zfs", "uar", "gzip", "bzip2", "cpio"}),
                     install_size=1100 * M),
    "solaris10": Brand("solaris10", "solaris10", repository=False, p2v=SHARED_ARCHIVES - {"zfs"},
                       attach_update=False, install_size=900 * M),
    "solaris-kz": Brand("solaris-kz", "solaris11", p2v=frozenset({"uar"}), directory=False,
                        attach_update=False, install_size=16 * G),
}


@dataclass(frozen=True)
class Platform:
    """One kind of global zone: its layout, names and software level.

    ``entire`` is the pkg FMRI of the global zone's ``entire`` incorporation, ``level`` a comparable form
    of it (attach compares a zone image's level with the host's). ``trailing_field`` is the empty tenth
    ``zoneadm list -p`` field of Solaris 11.4 (zones.md §1.2, the Facter sample). ``global_debugid`` is what
    the global zone's illumos debugid prints as (0 on OmniOS, empty on SmartOS: zones.md §1.1)."""

    layout: Layout
    name: str
    uname_version: str
    global_brand: str
    default_brand: str
    brands: dict[str, Brand]
    entire: str
    level: tuple[int, ...]
    banner: tuple[str, ...]
    trailing_field: bool = False
    global_debugid: int | None = 0
    #: Solaris 11 SYSdefault's zonepath (zones.md §4, second sample)
    default_zonepath: str = ""

    def with_brands(self, **changes: object) -> "Platform":
        return replace(self, **changes)  # type: ignore[arg-type]


#: RECONSTRUCTED identities (uname -v, pkg FMRIs and console banners in the style of each release)
OMNIOS = Platform(
    Layout.ILLUMOS, "OmniOS r151046", "omnios-r151046-b14f8ca0a9", "ipkg", "lipkg", ILLUMOS_BRANDS,
    "pkg://omnios/entire@11-151046.0:20230502T134813Z", (151046, 0),
    ("OmniOS 5.11 omnios-r151046-b14f8ca0a9 2023.05.02",
     "Copyright (c) 2012-2017 OmniTI Computer Consulting, Inc.",
     "Copyright (c) 2017-2023 OmniOS Community Edition (OmniOSce) Association."))
SMARTOS = replace(OMNIOS, name="SmartOS", uname_version="joyent_20230504T000449Z", global_brand="liveimg",
                  default_brand="joyent", brands=SMARTOS_BRANDS, global_debugid=None)
SOLARIS_11_4 = Platform(
    Layout.SOLARIS11, "Oracle Solaris 11.4", "11.4.42.111.0", "solaris", "solaris", SOLARIS11_BRANDS,
    "pkg://solaris/entire@11.4-11.4.42.0.1.111.0:20220208T145843Z", (11, 4, 42, 111),
    ("SunOS Release 5.11 Version 11.4.42.111.0 64-bit",
     "Copyright (c) 1983, 2022, Oracle and/or its affiliates."),
    trailing_field=True, default_zonepath="/system/zones/%{zonename}")
SOLARIS_11_3 = replace(SOLARIS_11_4, name="Oracle Solaris 11.3", uname_version="11.3",
                       entire="pkg://solaris/entire@0.5.11-0.175.3.1.0.5.0:20151006T230000Z",
                       level=(11, 3, 1, 5), trailing_field=False,
                       banner=("SunOS Release 5.11 Version 11.3 64-bit",
                               "Copyright (c) 1983, 2015, Oracle and/or its affiliates. All rights reserved."))
PLATFORMS = {"illumos": OMNIOS, "solaris11": SOLARIS_11_4}


# -- zones ----------------------------------------------------------------------------------------


@dataclass
class Zone:
    """A configured zone and its runtime state.

    ``zoneid`` is set while the zone is in the kernel (KERNEL_STATES); ``debugid`` is illumos's
    ``zonecfg_get_did`` (None prints as empty); ``writable`` says a Solaris 11 zone with a
    file-mac-profile was booted read-write (``zoneadm boot -w``)."""

    name: str
    config: Config
    state: State = State.CONFIGURED
    uuid: str = ""
    zoneid: int | None = None
    debugid: int | None = None
    writable: bool = False
    booted_at: float | None = None
    #: the zonepath shown for this zone instead of the configured one (the zones.md §1.2 sample listed
    #: from inside a non-global zone, where zoneadm prints ``/``)
    listed_path: str | None = None

    @property
    def zonepath(self) -> str:
        """The configured zonepath with Solaris 11's ``%{zonename}`` token expanded."""
        return self.config.get("zonepath").replace("%{zonename}", self.name)

    @property
    def brand(self) -> str:
        return self.config.get("brand")

    def iptype(self, layout: Layout) -> str:
        """``shared`` or ``excl`` as zoneadm prints it; unset means shared on illumos and exclusive on
        Solaris 11 (where SYSdefault and ``create -b`` zones are exclusive-IP: zones.md §4 samples)."""
        value = self.config.get("ip-type") or ("exclusive" if layout is Layout.SOLARIS11 else "shared")
        return "excl" if value == "exclusive" else "shared"
