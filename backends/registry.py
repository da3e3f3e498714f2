"""From a HostSpec to a Session and a Backend: the one place that knows every backend class.

Backend modules are imported only when a host of their kind is opened, so a fleet without libvirt
hosts runs without libvirt-python (an optional extra: ``pip install 'hvdeck[libvirt]'``). ``kind:
auto`` recognises a libvirt host by its socket alone (`libvirt.sockets`), before anything imports
libvirt; a libvirt host on a machine without libvirt-python is an *error* that says how to install it.
"""

from __future__ import annotations

import importlib

from .base import Backend
from .errors import HvdeckError
from .inventory import HostSpec, SshOptions
from .transport.base import Limits, Session

#: kind -> (module, class), in the order ``kind: auto`` tries them
BACKENDS: dict[str, tuple[str, str]] = {
    "ldoms": ("hvdeck.backends.ldoms.backend", "LdomsBackend"),
    # before libvirt: a Xen dom0 may run libvirtd too, and `xl info` / `xm info` is the sharper test
    "xen": ("hvdeck.backends.xen.backend", "XenBackend"),
    "libvirt": ("hvdeck.backends.libvirt.backend", "LibvirtBackend"),
    "zones": ("hvdeck.backends.zones.backend", "ZonesBackend"),
}

LIBVIRT_MISSING = ("libvirt-python is not installed ({error}): install hvdeck with its libvirt extra, "
                   "pip install 'hvdeck[libvirt]' (it builds against the system libvirt: apt install "
                   "libvirt-dev pkg-config gcc python3-dev), or run scripts/setup.sh")


def backend_class(kind: str) -> type[Backend]:
    """The backend class for ``kind``, importing its module now. A missing libvirt-python is an
    `HvdeckError` that says how to install it."""
    module, name = BACKENDS[kind]
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        if kind == "libvirt" and (exc.name or "").split(".")[0] in ("libvirt", "libvirtmod"):
            raise HvdeckError(LIBVIRT_MISSING.format(error=exc), title="libvirt-python missing") from None
        raise
    return getattr(loaded, name)


def backend_classes() -> dict[str, type[Backend]]:
    """kind -> class for every backend (imports them all; libvirt-python must be installed)."""
    return {kind: backend_class(kind) for kind in BACKENDS}


def make_session(spec: HostSpec, ssh: SshOptions, limits: Limits | None = None) -> Session:
    limits = limits or Limits()
    if spec.transport == "local":
        from .transport.local import LocalSession

        return LocalSession(spec.name, command_channels=limits.command_channels, long_channels=limits.long_channels,
                            output_limit=limits.output_limit)
    from .transport.ssh import SshSession

    return SshSession(spec, ssh, command_channels=limits.command_channels, long_channels=limits.long_channels,
                      output_limit=limits.output_limit)


async def _detect(kind: str, session: Session, spec: HostSpec) -> str | None:
    """None when the host is of ``kind``, else what was tried (for the error)."""
    if kind == "libvirt":
        from .libvirt import sockets  # no libvirt import: the socket is what tells

        if spec.transport == "local" and sockets.driver(spec.libvirt_uri) == "test":
            return None
        try:
            await sockets.find_socket(session, spec)
        except sockets.NoLibvirtSocket as exc:
            return f"libvirt (no socket at {', '.join(exc.tried)})"
        return None
    return None if await backend_class(kind).detect(session, spec) else kind


async def make_backend(spec: HostSpec, session: Session) -> Backend:
    if spec.kind != "auto":
        if spec.kind not in BACKENDS:
            raise HvdeckError(f"{spec.name}: hvdeck has no {spec.kind} backend yet", title="Unsupported kind")
        return backend_class(spec.kind)(spec, session)
    tried = []
    for kind in BACKENDS:
        missed = await _detect(kind, session, spec)
        if missed is None:
            return backend_class(kind)(spec, session)
        tried.append(missed)
    raise HvdeckError(f"{spec.name}: could not tell what kind of host this is "
                      f"(tried: {'; '.join(tried)}); set 'kind:' in the inventory", title="Unknown kind")
