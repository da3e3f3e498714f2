"""The simulated global zones print zones.md's VERBATIM samples byte for byte, given worlds built to match
them (the samples are copied here from zones.md §1.2, §1.4 and §4)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hvdeck.backends.sim.zones import OMNIOS, SMARTOS, SOLARIS_11_3, SOLARIS_11_4, Config, State, ZonesWorld
from hvdeck.backends.sim.zones.formats import bytes_to_units
from hvdeck.backends.sim.zones.model import Brand
from hvdeck.backends.sim.zones.storage import nicenum


def ok(world: ZonesWorld, *argv: str, stdin: str | None = None) -> str:
    reply = world.run(list(argv), stdin=stdin)
    assert (reply.exit_status, reply.stderr) == (0, ""), reply
    return reply.stdout


# -- zoneadm list -p, illumos layout (zones.md §1.2) --

RUST_SAMPLE = ("0:global:running:/::ipkg:shared:0\n"
               "-:clean-zone:installed:/zones/clean-zone:311a4f36-779f-4d14-bc9d-c85cb9817327:lipkg:excl:216\n")

TELEGRAF_SAMPLE = ("0:global:running:/::ipkg:shared:0\n"
                   "42:cube-media:running:/zones/cube-media:c624d04f-d0d9-e1e6-822e-acebc78ec9ff:lipkg:excl:128\n"
                   "44:cube-ws:installed:/zones/cube-ws:0f9c56f4-9810-6d45-f801-d34bf27cc13f:pkgsrc:excl:179\n")

SMARTOS_SAMPLE = (
    "0:global:running:/::liveimg:shared:\n"
    "21:dc5cbce7-798a-4bc8-bdc5-61b4be00a22e:running:/zones/dc5cbce7-798a-4bc8-bdc5-61b4be00a22e:"
    "dc5cbce7-798a-4bc8-bdc5-61b4be00a22e:joyent-minimal:excl:21\n"
    "-:7970c690-1738-4e58-a04f-8ce4ea8ebfca:installed:/zones/7970c690-1738-4e58-a04f-8ce4ea8ebfca:"
    "7970c690-1738-4e58-a04f-8ce4ea8ebfca:kvm:excl:22\n")

NATIVE_SAMPLE = "4:serv-ws:running:/:f56c0dd9-d8d0-44ab-c929-c7aab6df767c:native:excl:0\n"


def test_illumos_rust_sample():
    world = ZonesWorld("omni", "illumos")
    world.add_zone("clean-zone", State.INSTALLED, brand="lipkg", iptype="exclusive",
                   uuid="311a4f36-779f-4d14-bc9d-c85cb9817327", debugid=216)
    assert ok(world, "zoneadm", "list", "-cp") == RUST_SAMPLE
    assert ok(world, "zoneadm", "list", "-pc") == RUST_SAMPLE
    assert ok(world, "zoneadm", "list", "-p") == RUST_SAMPLE.splitlines(keepends=True)[0]


def test_illumos_telegraf_sample():
    """All but one field: the sample gives the installed zone cube-ws the ID 44, which zoneadm.c cannot print
    (``lookup_zone_info`` is called with ZONE_ID_UNDEFINED for zones that are not in the kernel, and
    ``zone_print`` then prints ``-``); the simulator prints what zoneadm would."""
    world = ZonesWorld("omni", "illumos")
    world.add_zone("cube-media", State.RUNNING, brand="lipkg", iptype="exclusive", zoneid=42, debugid=128,
                   uuid="c624d04f-d0d9-e1e6-822e-acebc78ec9ff")
    world.add_zone("cube-ws", State.INSTALLED, brand="pkgsrc", iptype="exclusive", debugid=179,
                   uuid="0f9c56f4-9810-6d45-f801-d34bf27cc13f")
    assert ok(world, "zoneadm", "list", "-cp") == TELEGRAF_SAMPLE.replace("44:cube-ws:", "-:cube-ws:")


def test_smartos_sample_with_the_global_zones_empty_debugid():
    world = ZonesWorld("smartos", platform=SMARTOS)
    running = "dc5cbce7-798a-4bc8-bdc5-61b4be00a22e"
    installed = "7970c690-1738-4e58-a04f-8ce4ea8ebfca"
    world.add_zone(running, State.RUNNING, brand="joyent-minimal", iptype="exclusive", zoneid=21, debugid=21,
                   uuid=running)
    world.add_zone(installed, State.INSTALLED, brand="kvm", iptype="exclusive", debugid=22, uuid=installed)
    assert ok(world, "zoneadm", "list", "-cp") == SMARTOS_SAMPLE


def test_native_brand_sample_listed_with_the_zone_root_as_its_path():
    """zones.md §1.2's ruby sample is what zoneadm prints inside a non-global zone (zoneadm.c
    ``fake_up_local_zone``: the path is ``/``); the world lists the zone that way with ``-z``."""
    platform = replace(OMNIOS, brands={**OMNIOS.brands, "native": Brand("native", "solaris10")})
    world = ZonesWorld("s10", platform=platform)
    world.add_zone("serv-ws", State.RUNNING, brand="native", iptype="exclusive", zoneid=4, debugid=0,
                   uuid="f56c0dd9-d8d0-44ab-c929-c7aab6df767c", listed_path="/")
    assert ok(world, "zoneadm", "-z", "serv-ws", "list", "-p") == NATIVE_SAMPLE


# -- zoneadm list -p, Solaris 11 layout --

ORACLE_SAMPLE = ("0:global:running:/:UUID:solaris:shared:-:none\n"
                 "5:testzone2:running:/export/zones/testzone2:UUID:solaris:shared:R:fixed-configuration\n"
                 "13:testzone1:running:/export/zones/testzone1:UUID:solaris:excl:W:fixed-configuration\n"
                 "-:testzone:installed:/export/zones/testzone:UUID:solaris:excl:-:fixed-configuration\n")
FACTER_SAMPLE = "0:global:running:/::solaris:shared:-:none:\n"


def test_solaris11_oracle_documentation_sample():
    """The document wraps long lines with ``\\``; here each zone is one line, as zoneadm prints it. The
    UUIDs are the document's placeholder ``UUID``; testzone1 was booted read-write (``boot -w``)."""
    world = ZonesWorld("s11", platform=SOLARIS_11_3)
    world.global_uuid = "UUID"
    profile = {"file-mac-profile": "fixed-configuration"}
    world.add_zone("testzone2", State.RUNNING, zonepath="/export/zones/testzone2", uuid="UUID", zoneid=5,
                   config=Config(dict(profile, **{"ip-type": "shared"})))
    world.add_zone("testzone1", State.RUNNING, zonepath="/export/zones/testzone1", uuid="UUID", zoneid=13,
                   config=Config(dict(profile)))
    world.zones["testzone1"].writable = True
    world.add_zone("testzone", State.INSTALLED, zonepath="/export/zones/testzone", uuid="UUID",
                   config=Config(dict(profile)))
    assert ok(world, "zoneadm", "list", "-p") == "".join(ORACLE_SAMPLE.splitlines(keepends=True)[:3])
    assert ok(world, "zoneadm", "list", "-cp") == ORACLE_SAMPLE


def test_solaris_11_4_trailing_field():
    assert ok(ZonesWorld("s11", platform=SOLARIS_11_4), "zoneadm", "list", "-cp") == FACTER_SAMPLE


# -- zoneadm list -v (zones.md §1.4) --

VERBOSE_SAMPLE = ("  ID NAME             STATUS      PATH                         BRAND      IP\n"
                  "   0 global           running     /                            solaris    shared\n")


def test_solaris11_verbose_sample():
    """The blog's header line has lost the padding zoneadm puts after ``IP`` (``%-6s``); the row is exact."""
    text = ok(ZonesWorld("s11", "solaris11"), "zoneadm", "list", "-v")
    header, row = text.splitlines(keepends=True)
    assert header == "  ID NAME             STATUS      PATH                         BRAND      IP    \n"
    assert (header.rstrip() + "\n" + row) == VERBOSE_SAMPLE


def test_illumos_verbose_follows_the_printf_and_long_fields_push_columns():
    world = ZonesWorld("omni", "illumos")
    world.add_zone("a-zone-name-longer-than-sixteen", State.INSTALLED, brand="solaris10",
                   zonepath="/zones/a/very/long/zonepath/that/pushes")
    lines = ok(world, "zoneadm", "list", "-cv").splitlines()
    assert lines[0] == "  ID NAME             STATUS     PATH                           BRAND    IP    "
    assert lines[1] == "   0 global           running    /                              ipkg     shared"
    assert lines[2] == ("   - a-zone-name-longer-than-sixteen installed  /zones/a/very/long/zonepath/that/pushes "
                        "solaris10 shared")
    assert ok(world, "zoneadm", "list", "-c") == "global\na-zone-name-longer-than-sixteen\n"


def test_colons_in_zonepaths_are_escaped_in_parseable_output_only():
    world = ZonesWorld("omni", "illumos")
    world.add_zone("odd", State.CONFIGURED, zonepath="/zones/a:b:c", uuid="u1", debugid=None)
    world.zones["odd"].debugid = None
    assert ok(world, "zoneadm", "-z", "odd", "list", "-p") == "-:odd:configured:/zones/a\\:b\\:c:u1:lipkg:shared:\n"
    assert "/zones/a:b:c " in ok(world, "zoneadm", "-z", "odd", "list", "-v")


# -- zonecfg export (zones.md §4) --

WEB_SAMPLE = "create -b\nset brand=solaris\nset zonepath=/zones/web\nset autoboot=true\nadd net\nset physical=vnet1\nend\n"
DEFAULT_SAMPLE = ("create -b\nset brand=solaris\nset zonepath=/system/zones/%{zonename}\nset autoboot=false\n"
                  "set autoshutdown=shutdown\nset ip-type=exclusive\nadd anet\nset linkname=net0\nset lower-link=auto\n"
                  "set configure-allowed-address=true\nset link-protection=mac-nospoof\nset mac-address=auto\nend\n")
OMNIOS_SAMPLE = ("create -b\nset brand=sparse\nset zonepath=/zones/example\nset autoboot=true\nadd fs\nset dir=/home\n"
                 "set special=/home\nset type=lofs\nend\nadd net\nset physical=test0\nset global-nic=auto\n"
                 "set allowed-address=192.168.1.38/24\nset defrouter=192.168.1.1\nend\n")


def test_solaris11_export_of_a_zone_configured_inline_is_the_first_sample():
    world = ZonesWorld("scorpion", "solaris11")
    ok(world, "zonecfg", "-z", "web", "create -b; set zonepath=/zones/web; set autoboot=true; add net; "
                                      "set physical=vnet1; end")
    assert ok(world, "zonecfg", "-z", "web", "export") == WEB_SAMPLE


def test_solaris11_default_template_is_the_second_sample():
    world = ZonesWorld("s11", "solaris11")
    ok(world, "zonecfg", "-z", "dflt", "create")
    assert ok(world, "zonecfg", "-z", "dflt", "export") == DEFAULT_SAMPLE
    assert ok(world, "zoneadm", "-z", "dflt", "list", "-p").split(":")[3] == "/system/zones/dflt"


def test_an_export_fed_back_with_f_configures_the_same_zone():
    world = ZonesWorld("s11", "solaris11")
    world.write_file("/tmp/web.cfg", WEB_SAMPLE)
    assert world.run(["zonecfg", "-z", "web2", "-f", "/tmp/web.cfg"]).exit_status == 0
    assert ok(world, "zonecfg", "-z", "web2", "export") == WEB_SAMPLE


def test_the_hand_written_omnios_script_is_accepted_and_exported_in_illumos_order():
    """illumos zonecfg.c ``export_func`` prints the zonepath before the brand, and autoboot and ip-type
    always; the sample's content comes back in that order. As written, the sample's net resource (no
    address) fails verification in a shared-IP zone, the illumos default; with ip-type exclusive it is
    accepted."""
    world = ZonesWorld("omni", "illumos")
    refused = world.run(["zonecfg", "-z", "example", "-f", "-"], stdin=OMNIOS_SAMPLE)
    assert (refused.exit_status, refused.stderr) == (1, "On line 15:\nnet: address not specified\nZone example "
                                                        "failed to verify\nexample: Required property missing\n"
                                                        "Configuration not saved.\n")
    exclusive = OMNIOS_SAMPLE.replace("set autoboot=true\n", "set autoboot=true\nset ip-type=exclusive\n")
    ok(world, "zonecfg", "-z", "example", "-f", "-", stdin=exclusive)
    exported = ok(world, "zonecfg", "-z", "example", "export")
    assert exported == ("create -b\nset zonepath=/zones/example\nset brand=sparse\nset autoboot=true\n"
                        "set ip-type=exclusive\nadd fs\nset dir=/home\nset special=/home\nset type=lofs\nend\n"
                        "add net\nset allowed-address=192.168.1.38/24\nset physical=test0\nset defrouter=192.168.1.1\n"
                        "set global-nic=auto\nend\n")


def test_export_quotes_values_with_spaces_and_memory_in_units():
    world = ZonesWorld("omni", "illumos")
    ok(world, "zonecfg", "-z", "z1", 'create -b; set zonepath=/zones/z1; set bootargs="-m verbose"; '
                                     "add capped-memory; set physical=1536M; set swap=2G; end; "
                                     "add fs; set dir=/data; set special=/tank/data; set type=lofs; "
                                     'add options [ro,"uid=10"]; end')
    exported = ok(world, "zonecfg", "-z", "z1", "export")
    # export_func prints global properties as they are, without quoteit(): only resource properties get quotes
    assert "set bootargs=-m verbose\n" in exported
    assert "add capped-memory\nset physical=1.5G\nend\n" in exported
    assert "add rctl\nset name=zone.max-swap\nadd value (priv=privileged,limit=2147483648,action=deny)\nend\n" \
        in exported
    assert 'add options ro\nadd options "uid=10"\n' in exported
    info = ok(world, "zonecfg", "-z", "z1", "info", "capped-memory")
    assert info == "capped-memory:\n\tphysical: 1.5G\n\t[swap: 2G]\n"


@pytest.mark.parametrize(("num", "text"), [(512, "512"), (1024, "1K"), (1536 << 20, "1.5G"), (2 << 30, "2G"),
                                           (11 << 30, "11G"), (10 * (1 << 30) + (1 << 29), "11G")])
def test_bytes_to_units_follows_zonecfg(num, text):
    assert bytes_to_units(num) == text


@pytest.mark.parametrize(("num", "text"), [(0, "0"), (23 * 1024, "23K"), (int(1.5 * (1 << 30)), "1.50G"),
                                           (int(20.6 * (1 << 30)), "20.6G"), (206 * (1 << 30) + 5, "206G")])
def test_zfs_numbers(num, text):
    assert nicenum(num) == text


def test_zfs_list_scripted_exact_is_tab_separated_bytes():
    world = ZonesWorld("omni", "illumos", pool="data", pool_size=100 << 30)
    world.add_zone("web1", State.INSTALLED)
    rows = [line.split("\t") for line in ok(world, "zfs", "list", "-H", "-p", "-o", "name,avail,used,mountpoint",
                                            "-t", "filesystem").splitlines()]
    assert [row[0] for row in rows] == ["data", "data/ROOT", "data/ROOT/omnios-r151046", "data/export",
                                        "data/export/home", "data/zones", "data/zones/web1"]
    assert all(len(row) == 4 and row[1].isdigit() and row[2].isdigit() for row in rows)
    assert rows[-1][3] == "/zones/web1" and rows[1][3] == "legacy"
    assert int(rows[0][1]) == (100 << 30) - int(rows[0][2])
    human = ok(world, "zfs", "list", "-o", "name,used,avail,refer,mountpoint", "data/zones/web1")
    assert human.splitlines()[0].split() == ["NAME", "USED", "AVAIL", "REFER", "MOUNTPOINT"]
