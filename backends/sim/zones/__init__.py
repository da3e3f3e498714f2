"""A simulated Solaris or illumos global zone: ``zoneadm``, ``zonecfg``, ``zlogin -C`` and ``zfs``, over SSH.

`ZonesWorld` is one global zone in one of two layouts (zones.md §1.1): **illumos** (an OmniOS host:
``zoneadm list -p`` with the debugid field; brands ipkg, lipkg, sparse, pkgsrc, solaris10) and
**Solaris 11** (Oracle Solaris 11.4: the R/W and file-mac-profile fields and the 11.4 trailing field;
brands solaris, solaris10, solaris-kz). Zones go through the real life cycle (configured → incomplete →
installed → ready → running → shutting_down/down → installed; ``mounted``, ``unavailable`` by mark), on
ZFS-backed zonepaths; clone, move, detach and attach (with update on attach) and p2v installs from
archives the host has behave as zoneadm and zonecfg do, and a zonepath travels to another host as a real ``zfs
send`` byte stream checked by ``zfs receive``. `serve` puts a world behind an in-process SSH server.

Sources, cited in each module: the project's zones format notes (``shared/formats/zones.md``, "zones.md
§N"), illumos-gate (usr/src/cmd/zoneadm/zoneadm.c, zfs.c; usr/src/cmd/zonecfg/zonecfg.c, zonecfg_lex.l;
usr/src/cmd/zlogin/zlogin.c; usr/src/cmd/zoneadmd; usr/src/lib/brand/...), illumos-omnios's ipkg brand
scripts, the Oracle Solaris 11 source archive, and Oracle's and OmniOS's documentation. What none of
them gives is marked RECONSTRUCTED where it is made.

Modules: `model` (zones, configurations, platforms and brands), `formats` (what list/export/info print),
`dladm` (the datalinks zones use),
`zonecfg_lex` and `zonecfg` (the configuration language), `zoneadm` and `brands` (the life cycle and the
brand hooks), `storage` and `zfs` (pools, datasets, files, send streams), `console` (zone consoles and
``zlogin -C``), `world` (the global zone and command dispatch), `demo` (the demo hosts).
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncssh

from ..sshserver import SimSSHServer
from .model import OMNIOS, SMARTOS, SOLARIS_11_3, SOLARIS_11_4, Config, Layout, Platform, Resource, State, Zone
from .world import ZonesWorld

__all__ = ["OMNIOS", "SMARTOS", "SOLARIS_11_3", "SOLARIS_11_4", "Config", "Layout", "Platform", "Resource", "State",
           "Zone", "ZonesWorld", "serve"]


async def serve(world: ZonesWorld, *, host: str = "127.0.0.1", port: int = 0, host_key: asyncssh.SSHKey,
                authorized_keys: Iterable[asyncssh.SSHKey] | str) -> SimSSHServer:
    """Start an SSH server on ``host:port`` (0 picks a free port) whose exec requests reach ``world``: plain
    command lines through `ZonesWorld.handle`, consoles and ZFS streams through `ZonesWorld.process`.
    Several worlds can be served from one event loop; a zone moves between them through the client."""
    server = SimSSHServer(world.handle, host_key=host_key, authorized_keys=authorized_keys,
                          process_handler=world.process)
    await server.start(host, port)
    return server
