"""The built-in demo fleet: two libvirt test-driver hosts loaded from the XML beside this file."""

from __future__ import annotations

from importlib.resources import files

from ..inventory import HostSpec, Inventory

DEMO_HOSTS = ("kvm-a", "kvm-b")


def demo_xml(host: str) -> str:
    """Path of a demo host's test-driver node XML (package data, so it works from a wheel too)."""
    return str(files("hvdeck.backends.sim").joinpath(f"data/demo-{host}.xml"))


def demo_inventory() -> Inventory:
    hosts = tuple(
        HostSpec(name=host, address=host, transport="local", kind="libvirt",
                 libvirt_uri=f"test://{demo_xml(host)}", tags=("demo",))
        for host in DEMO_HOSTS
    )
    return Inventory(hosts, path="<demo>")
