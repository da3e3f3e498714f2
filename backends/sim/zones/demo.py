"""The demo global zones: an OmniOS (illumos layout) host and an Oracle Solaris 11.4 host, with zones in
every steady state, p2v archives and root images under the same names on both, and a detached zone
waiting on each host's disk to be configured with ``create -a`` and attached. Everything here (names,
addresses, sizes) is made up for the demo."""

from __future__ import annotations

from .model import Config, G, Layout, M, Resource, State
from .world import ZonesWorld

#: a Solaris 10 physical server's software, and an older illumos release, for p2v and attach -u
SOL10_LEVEL = (10, 1, 13)
SOL10_ENTIRE = "SUNWcsr 11.10.0,REV=2005.01.21.15.53 (Solaris 10 1/13, Generic_150400-59)"
OLD_OMNIOS = ((151044, 0), "pkg://omnios/entire@11-151044.0:20221103T100331Z")
OLD_SOLARIS = ((11, 4, 30, 88), "pkg://solaris/entire@11.4-11.4.30.0.1.88.3:20210108T114209Z")


def _archives(world: ZonesWorld) -> None:
    """/export/archives and /export/images, the same on every demo host (p2v sources)."""
    add = world.add_archive
    add("/export/archives/web-server.flar", "flar", "solaris10", 2300 * M, hostname="web-server",
        level=SOL10_LEVEL, entire=SOL10_ENTIRE)
    add("/export/archives/app-server.cpio.gz", "gzip", "solaris10", 1800 * M, hostname="app-server",
        level=SOL10_LEVEL, entire=SOL10_ENTIRE)
    add("/export/archives/legacy-db.pax", "pax", "solaris10", 3100 * M, hostname="legacy-db", level=SOL10_LEVEL,
        entire=SOL10_ENTIRE)
    add("/export/archives/ftp.ufsdump", "ufsdump", "solaris10", 900 * M, hostname="ftp", level=SOL10_LEVEL,
        entire=SOL10_ENTIRE)
    add("/export/archives/omnios-builder.cpio.gz", "gzip", "illumos", 700 * M, hostname="builder",
        level=OLD_OMNIOS[0], entire=OLD_OMNIOS[1])
    add("/export/archives/s11-app.zfs", "zfs", "solaris11", 1400 * M, hostname="s11-app", level=OLD_SOLARIS[0],
        entire=OLD_SOLARIS[1])
    add("/export/archives/s11-app.uar", "uar", "solaris11", 1500 * M, hostname="s11-app", level=OLD_SOLARIS[0],
        entire=OLD_SOLARIS[1])
    add("/export/archives/README.txt", "text", "", 2 * 1024)
    add("/export/images/sol10-root", "directory", "solaris10", 2600 * M, hostname="old-mail", level=SOL10_LEVEL,
        entire=SOL10_ENTIRE)
    add("/export/images/omnios-root", "directory", "illumos", 650 * M, hostname="old-build", level=OLD_OMNIOS[0],
        entire=OLD_OMNIOS[1])


def _detached(world: ZonesWorld, name: str, brand: str, image: dict, config: Config) -> None:
    """A zonepath received from another host: its image and SUNWdetached.xml, no zone configured."""
    zone = world.add_zone(name, State.INSTALLED, brand=brand, config=config, image=image)
    world.detach(zone)
    world.delete_zone(name)


def omnios(hostname: str = "omni-a", seed: int = 0, **kw: object) -> ZonesWorld:
    world = ZonesWorld(hostname, Layout.ILLUMOS, seed=seed, **kw)  # type: ignore[arg-type]
    _archives(world)
    world.links.update({"stub0": ("etherstub", "--"), "legacy0": ("vnic", "igb0")})
    web = Config({"autoboot": "true", "ip-type": "exclusive", "limitpriv": "default,dtrace_proc"},
                 [Resource("net", {"allowed-address": "10.0.1.11/24", "physical": "web1", "defrouter": "10.0.1.1",
                                   "global-nic": "igb0"}),
                  Resource("fs", {"dir": "/home", "special": "/export/home", "type": "lofs"}, ["ro", "nodevices"]),
                  Resource("capped-memory", {"physical": str(2 * G)}),
                  Resource("attr", {"name": "resolvers", "type": "string", "value": "1.1.1.1,1.0.0.1"})])
    web.set_rctl("zone.cpu-shares", "20", "none")
    world.add_zone("web1", State.RUNNING, brand="lipkg", config=web, zoneid=3)
    web2 = Config({"autoboot": "true", "ip-type": "exclusive"},
                  [Resource("net", {"allowed-address": "10.0.1.12/24", "physical": "web2", "defrouter": "10.0.1.1",
                                    "global-nic": "igb0"})])
    # a note with text a console must show as text, never as markup or control sequences
    web2.resources.append(Resource("attr", {"name": "note", "type": "string",
                                            "value": "[bold]owner[/] café 日本 \x1b]52;c;aGk=\x07 ✓"}))
    world.add_zone("web2", State.RUNNING, brand="sparse", config=web2, zoneid=5)
    db = Config({"autoboot": "true", "ip-type": "exclusive"},
                [Resource("net", {"physical": "db1", "global-nic": "igb1"}),
                 Resource("dataset", {"name": "rpool/zones/db1/data"}),
                 Resource("dedicated-cpu", {"ncpus": "4"})])
    db.set_rctl("zone.max-swap", str(8 * G), "deny")
    world.add_zone("db1", State.RUNNING, brand="pkgsrc", config=db, zoneid=7)
    world.storage.create("rpool/zones/db1/data", mountpoint="legacy", own=12 * G)
    world.add_zone("build", State.INSTALLED, brand="ipkg",
                   config=Config({"autoboot": "false", "ip-type": "shared"},
                                 [Resource("net", {"address": "192.168.1.38/24", "physical": "e1000g0"})]))
    legacy = Config({"autoboot": "true", "ip-type": "exclusive"}, [Resource("net", {"physical": "legacy0"})])
    world.add_zone("legacy10", State.INSTALLED, brand="solaris10", config=legacy,
                   image={"os": "solaris10", "level": list(SOL10_LEVEL), "entire": SOL10_ENTIRE,
                          "hostname": "web-server", "size": 2300 * M})
    world.add_zone("staging", State.READY, brand="lipkg", config=Config({"ip-type": "exclusive"}), zoneid=9)
    world.add_zone("newapp", State.CONFIGURED, brand="lipkg",
                   config=Config({"autoboot": "true", "ip-type": "exclusive"},
                                 [Resource("net", {"physical": "newapp0", "global-nic": "igb0"})]))
    world.add_zone("broken", State.INCOMPLETE, brand="ipkg")
    _detached(world, "mover", "lipkg", {"os": "illumos", "level": list(OLD_OMNIOS[0]), "entire": OLD_OMNIOS[1],
                                        "hostname": "mover", "size": 560 * M},
              Config({"autoboot": "true", "ip-type": "exclusive"}, [Resource("net", {"physical": "mover0"})]))
    return world


def solaris11(hostname: str = "sol-a", seed: int = 0, **kw: object) -> ZonesWorld:
    world = ZonesWorld(hostname, Layout.SOLARIS11, seed=seed, **kw)  # type: ignore[arg-type]
    _archives(world)
    world.links["stub0"] = ("etherstub", "--")
    anet = Resource("anet", {"linkname": "net0", "lower-link": "auto", "configure-allowed-address": "true",
                             "link-protection": "mac-nospoof", "mac-address": "auto"})
    world.add_zone("app1", State.RUNNING, config=Config({"autoboot": "true", "ip-type": "exclusive"},
                                                        [anet.copy()]), zoneid=2)
    world.add_zone("app2", State.RUNNING, config=Config(
        {"autoboot": "true", "ip-type": "shared", "file-mac-profile": "fixed-configuration"},
        [Resource("net", {"address": "192.168.10.22/24", "physical": "net0"})]), zoneid=4)
    kz = Config({"autoboot": "true"}, [anet.copy(), Resource("capped-memory", {"physical": str(8 * G)}),
                                       Resource("dedicated-cpu", {"ncpus": "2"})])
    world.add_zone("kz1", State.RUNNING, brand="solaris-kz", config=kz, zoneid=6)
    world.add_zone("s10legacy", State.INSTALLED, brand="solaris10",
                   config=Config({"autoboot": "false", "ip-type": "exclusive"}, [anet.copy()]),
                   image={"os": "solaris10", "level": list(SOL10_LEVEL), "entire": SOL10_ENTIRE,
                          "hostname": "legacy-db", "size": 3100 * M})
    world.add_zone("batch", State.INSTALLED, config=Config({"autoboot": "false"}, [anet.copy()]))
    world.add_zone("lab", State.READY, config=Config({"autoboot": "false"}, [anet.copy()]), zoneid=8)
    world.add_zone("fresh", State.CONFIGURED,
                   config=Config({"zonepath": "/system/zones/%{zonename}", "autoboot": "false",
                                  "autoshutdown": "shutdown", "ip-type": "exclusive"}, [anet.copy()]))
    world.add_zone("halfway", State.INCOMPLETE)
    world.add_zone("vault", State.UNAVAILABLE, config=Config({"autoboot": "true"}, [anet.copy()]))
    _detached(world, "mover", "solaris", {"os": "solaris11", "level": list(OLD_SOLARIS[0]),
                                          "entire": OLD_SOLARIS[1], "hostname": "mover", "size": 1100 * M},
              Config({"autoboot": "true"}, [anet.copy()]))
    return world


def demo(name: str, layout: str | Layout = Layout.ILLUMOS, seed: int = 0, **kw: object) -> ZonesWorld:
    """`ZonesWorld.demo`: the demo host ``name`` of the given layout."""
    build = omnios if Layout(layout) is Layout.ILLUMOS else solaris11
    return build(name, seed, **kw)
