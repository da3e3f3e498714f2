"""Which unix socket a host's libvirt listens on: ``libvirt-sock`` (the monolithic libvirtd, or
virtproxyd) or a modular daemon's own (``virtqemud-sock`` for qemu:///…, ``virtxend-sock`` for xen:///…).

No libvirt import: ``kind: auto`` recognises a libvirt host with this module alone, so a host of another
kind never needs libvirt-python, and a libvirt host without it is still recognised (and then told how
to install it).

The order is libvirt's own client's (src/remote/remote_sockets.c, ``remoteGetUNIXSocket`` in mode
``auto``): the URI's driver daemon ``virt<driver>d-sock`` if it exists, else the legacy
``libvirt-sock``. The system sockets live in ``/run/libvirt`` (``remoteGetUNIXSocketHelper``; libvirt
writes ``$LOCALSTATEDIR/run``, and /var/run is /run). For a ``/session`` URI of an unprivileged user the
sockets are in the user's runtime directory, ``$XDG_RUNTIME_DIR/libvirt`` (``~/.cache/libvirt`` without
it: ``virGetUserRuntimeDirectory``), which is asked of the host with one fixed command; root's
``/session`` is served by the system daemons, as libvirt itself does (``remoteGetURIDaemonInfo``).

The inventory's ``libvirt_socket``, when set to anything but the default, is used alone.
"""

from __future__ import annotations

import re
import urllib.parse

from ..errors import HostUnreachable
from ..inventory import DEFAULT_LIBVIRT_SOCKET, HostSpec
from ..transport.base import Session

SYSTEM_DIR = "/run/libvirt"
#: prints the login's uid and libvirt's runtime directory base; a fixed string, nothing from the host in it
RUNTIME_PROBE = ("sh", "-c", 'printf "%s\\n%s\\n" "$(id -u)" "${XDG_RUNTIME_DIR:-$HOME/.cache}"')
_DRIVER = re.compile(r"[a-z][a-z0-9]*")


class NoLibvirtSocket(HostUnreachable):
    """None of the sockets libvirt could be listening on exists; ``tried`` names them in order."""

    def __init__(self, host: str, tried: tuple[str, ...], *, override: bool) -> None:
        self.tried = tried
        if override:
            message = (f"{host}: libvirt_socket {tried[0]} is not a socket on the host "
                       f"(is the libvirt daemon running?)")
        else:
            message = (f"{host}: no libvirt socket: tried {', '.join(tried)} (is libvirtd or the driver's "
                       f"daemon running? set libvirt_socket in the inventory if it listens elsewhere)")
        super().__init__(message, title="libvirt socket not found")


def driver(uri: str) -> str:
    """The libvirt driver a URI names: ``qemu`` for qemu:///system, ``xen`` for xen:///system."""
    scheme = urllib.parse.urlsplit(uri).scheme.split("+", 1)[0].lower()
    return scheme if _DRIVER.fullmatch(scheme) else ""


def is_session(uri: str) -> bool:
    return urllib.parse.urlsplit(uri).path.rstrip("/") == "/session"


def candidates(uri: str, *, runtime_dir: str | None = None) -> tuple[str, ...]:
    """The sockets to try for ``uri``, in libvirt's order: the driver's modular daemon, then libvirt-sock.

    ``runtime_dir``: the unprivileged login's ``$XDG_RUNTIME_DIR`` (or ``~/.cache``), for ``/session`` URIs.
    """
    base = f"{runtime_dir.rstrip('/')}/libvirt" if runtime_dir and is_session(uri) else SYSTEM_DIR
    name = driver(uri)
    direct = (f"{base}/virt{name}d-sock",) if name and name != "test" else ()
    return (*direct, f"{base}/libvirt-sock")


def parse_runtime_probe(stdout: str) -> str | None:
    """The runtime directory from `RUNTIME_PROBE`'s output, or None for root, garbage or a relative path."""
    lines = stdout[:4096].splitlines()
    if len(lines) < 2 or not lines[0].strip().isdigit() or int(lines[0]) == 0:
        return None
    path = lines[1].strip()
    if not path.startswith("/") or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return None
    return path


async def runtime_dir(session: Session) -> str | None:
    result = await session.run(list(RUNTIME_PROBE), check=False, timeout=20.0)
    return parse_runtime_probe(result.stdout) if result.exit_status == 0 else None


def overridden(spec: HostSpec) -> bool:
    return spec.libvirt_socket != DEFAULT_LIBVIRT_SOCKET


async def find_socket(session: Session, spec: HostSpec) -> str:
    """The path of the libvirt socket on the host (checked with ``test -S``), or `NoLibvirtSocket`."""
    if overridden(spec):
        tried: tuple[str, ...] = (spec.libvirt_socket,)
    else:
        home = await runtime_dir(session) if is_session(spec.libvirt_uri) else None
        tried = candidates(spec.libvirt_uri, runtime_dir=home)
    for path in tried:
        result = await session.run(["test", "-S", path], check=False, timeout=20.0)
        if result.exit_status == 0:
            return path
    raise NoLibvirtSocket(spec.name, tried, override=overridden(spec))


async def detect(session: Session, spec: HostSpec) -> bool:
    """Is this a libvirt host? (For ``kind: auto``.) A test:///… URI on this machine always is."""
    if spec.transport == "local" and driver(spec.libvirt_uri) == "test":
        return True
    try:
        await find_socket(session, spec)
    except NoLibvirtSocket:
        return False
    return True
