"""A simulated Xen dom0 reached over real SSH: xl (Xen >= 4.1), xm (xend) and Sun xVM flavours.

``XenWorld`` is the host (world.py); ``XenWorld.demo(name, toolstack, seed)`` one with guests in every
state (demo.py); ``serve(world, ...)`` puts it behind the in-process SSH server (server.py). The formats
follow the project's format notes (xen.md, xvm.md, libvirt.md §2); where they have no sample the
modules say which Xen source function they follow, and mark it RECONSTRUCTED.

Modules: model (domains, machine, counters), config (guest configuration files), formats (listings),
xentop (batch frames), storage (LVM, ZFS), vdisk (vdiskadm), world (the host and its life cycle), xl,
xm, xvm (virsh, virt-install), migrate, console, commands (every program), server (the shell, streams),
demo.
"""

from .model import Toolstack
from .server import serve
from .world import XenWorld

__all__ = ["Toolstack", "XenWorld", "serve"]
