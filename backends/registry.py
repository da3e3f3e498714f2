"""From a HostSpec to a Session and a Backend: the one place that knows every backend class."""

from __future__ import annotations

from .base import Backend
from .errors import HvdeckError
from .inventory import HostSpec, SshOptions
from .transport.base import Session


def backend_classes() -> dict[str, type[Backend]]:
    """kind -> class, in the order ``kind: auto`` tries them."""
    from .ldoms.backend import LdomsBackend
    from .libvirt.backend import LibvirtBackend

    return {"ldoms": LdomsBackend, "libvirt": LibvirtBackend}


def make_session(spec: HostSpec, ssh: SshOptions) -> Session:
    if spec.transport == "local":
        from .transport.local import LocalSession

        return LocalSession(spec.name)
    from .transport.ssh import SshSession

    return SshSession(spec, ssh)


async def make_backend(spec: HostSpec, session: Session) -> Backend:
    classes = backend_classes()
    if spec.kind != "auto":
        cls = classes.get(spec.kind)
        if cls is None:
            raise HvdeckError(f"{spec.name}: hvdeck has no {spec.kind} backend yet", title="Unsupported kind")
        return cls(spec, session)
    for cls in classes.values():
        if await cls.detect(session, spec):
            return cls(spec, session)
    raise HvdeckError(f"{spec.name}: could not tell what kind of host this is "
                      f"(tried: {', '.join(classes)}); set 'kind:' in the inventory", title="Unknown kind")
