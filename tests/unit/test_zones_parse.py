"""The zones parsers: every sample of shared/formats/zones.md, field by field, and the malformed cases.

The samples live in tests/fixtures/zones/ (README.md there gives the source and label of each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdeck.backends.errors import ParseError
from hvdeck.backends.model import ConsoleDev, Cpu, Disk, Domain, DomainState, Memory, Nic, Section
from hvdeck.backends.zones import parse
from hvdeck.backends.zones.parse import Layout, Uname, ZoneConfig, ZoneEntry, ZoneResource

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zones"
RUNNING, STOPPED, TRANSITION, UNKNOWN = (DomainState.RUNNING, DomainState.STOPPED, DomainState.TRANSITION,
                                         DomainState.UNKNOWN)
G, M = 2**30, 2**20


def sample(name: str) -> str:
    return (FIXTURES / name).read_text()


def zone(name, state, native, zid, extra, uuid=None, host="gz"):
    return Domain(host=host, name=name, state=state, native_state=native, id=zid, uuid=uuid, vcpus=None,
                  memory_bytes=None, max_memory_bytes=None, cpu_percent=None, uptime_s=None, console=None,
                  extra=extra)


# --- states (§2) -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("word", "state"), [
    ("running", RUNNING),
    ("installed", STOPPED), ("configured", STOPPED),
    ("ready", TRANSITION), ("incomplete", TRANSITION), ("shutting_down", TRANSITION), ("down", TRANSITION),
    ("mounted", TRANSITION),
    ("unavailable", UNKNOWN), ("unknown", UNKNOWN), ("<defunct>", UNKNOWN), ("???", UNKNOWN),
    ("RUNNING", UNKNOWN), ("", UNKNOWN), ("booting", UNKNOWN),
])
def test_state_table(word, state):
    assert parse.zone_state(word) is state


# --- field splitting and layouts (§1.1) --------------------------------------------------------------------


@pytest.mark.parametrize(("line", "fields"), [
    ("0:global:running:/::ipkg:shared:0", ["0", "global", "running", "/", "", "ipkg", "shared", "0"]),
    (r"-:z:installed:/zones/a\:b:u:ipkg:excl:1", ["-", "z", "installed", "/zones/a:b", "u", "ipkg", "excl", "1"]),
    (r"-:z:installed:/a\:b\:c:", ["-", "z", "installed", "/a:b:c", ""]),
    (r"-:z:installed:/a\b:u", ["-", "z", "installed", r"/a\b", "u"]),  # a backslash alone stays
    ("0:global:running:/::solaris:shared:-:none:", ["0", "global", "running", "/", "", "solaris", "shared", "-",
                                                    "none", ""]),
    ("", [""]),
    (":", ["", ""]),
    ("\\", ["\\"]),
])
def test_split_fields_on_unescaped_colons(line, fields):
    assert parse.split_fields(line) == fields


@pytest.mark.parametrize(("name", "layout"), [
    ("list-p-omnios.txt", Layout.ILLUMOS),
    ("list-p-illumos-rust.txt", Layout.ILLUMOS),
    ("list-p-smartos.txt", Layout.ILLUMOS),
    ("list-p-native.txt", Layout.ILLUMOS),
    ("list-p-solaris11-doc.txt", Layout.SOLARIS11),
    ("list-cp-solaris114.txt", Layout.SOLARIS11),
])
def test_detect_layout_of_every_sample(name, layout):
    assert parse.detect_layout(sample(name)) is layout


@pytest.mark.parametrize(("text", "layout"), [
    ("0:global:running:/::native:shared\n", Layout.SOLARIS10),  # 7 fields: OpenSolaris 2009, Solaris 10
    ("\n\n0:global:running:/::ipkg:shared:0\n", Layout.ILLUMOS),  # leading blank lines skipped
    ("0:global:running:/::solaris:shared:-:none\n", Layout.SOLARIS11),
    ("0:global:running:/::solaris:shared:-:none::x:y\n", Layout.SOLARIS11),  # fields added later
    (r"0:global:running:/a\:b\:c::native:shared", Layout.SOLARIS10),  # escaped colons are not separators
    ("", None),
    ("\n  \n", None),
])
def test_detect_layout_by_field_count(text, layout):
    assert parse.detect_layout(text) is layout


def test_detect_layout_refuses_a_short_first_line():
    with pytest.raises(ParseError, match=r"line 2: 6 fields"):
        parse.detect_layout("\n0:global:running:/::ipkg\n")


# --- zoneadm list -p: the samples (§1.2) -------------------------------------------------------------------


def test_list_p_omnios_verbatim():
    assert parse.parse_list_p(sample("list-p-omnios.txt"), "gz") == (
        zone("global", RUNNING, "running", 0, (("role", "global"), ("zonepath", "/"), ("brand", "ipkg"),
                                               ("ip-type", "shared"), ("debugid", "0"))),
        zone("cube-media", RUNNING, "running", 42, (
            ("zonepath", "/zones/cube-media"), ("brand", "lipkg"), ("ip-type", "excl"),
            ("uuid", "c624d04f-d0d9-e1e6-822e-acebc78ec9ff"), ("debugid", "128")),
            uuid="c624d04f-d0d9-e1e6-822e-acebc78ec9ff"),
        zone("cube-ws", STOPPED, "installed", 44, (
            ("zonepath", "/zones/cube-ws"), ("brand", "pkgsrc"), ("ip-type", "excl"),
            ("uuid", "0f9c56f4-9810-6d45-f801-d34bf27cc13f"), ("debugid", "179")),
            uuid="0f9c56f4-9810-6d45-f801-d34bf27cc13f"),
    )


def test_list_p_illumos_rust_verbatim_installed_zone_has_no_id():
    assert parse.parse_list_p(sample("list-p-illumos-rust.txt"), "gz") == (
        zone("global", RUNNING, "running", 0, (("role", "global"), ("zonepath", "/"), ("brand", "ipkg"),
                                               ("ip-type", "shared"), ("debugid", "0"))),
        zone("clean-zone", STOPPED, "installed", None, (
            ("zonepath", "/zones/clean-zone"), ("brand", "lipkg"), ("ip-type", "excl"),
            ("uuid", "311a4f36-779f-4d14-bc9d-c85cb9817327"), ("debugid", "216")),
            uuid="311a4f36-779f-4d14-bc9d-c85cb9817327"),
    )


def test_list_p_smartos_verbatim_empty_debugid_and_uuid_names():
    u1, u2 = "dc5cbce7-798a-4bc8-bdc5-61b4be00a22e", "7970c690-1738-4e58-a04f-8ce4ea8ebfca"
    assert parse.parse_list_p(sample("list-p-smartos.txt"), "gz") == (
        # the global zone: empty uuid and empty debugid, neither shown
        zone("global", RUNNING, "running", 0, (("role", "global"), ("zonepath", "/"), ("brand", "liveimg"),
                                               ("ip-type", "shared"))),
        zone(u1, RUNNING, "running", 21, (("zonepath", f"/zones/{u1}"), ("brand", "joyent-minimal"),
                                          ("ip-type", "excl"), ("uuid", u1), ("debugid", "21")), uuid=u1),
        zone(u2, STOPPED, "installed", None, (("zonepath", f"/zones/{u2}"), ("brand", "kvm"),
                                              ("ip-type", "excl"), ("uuid", u2), ("debugid", "22")), uuid=u2),
    )


def test_list_p_native_brand_verbatim():
    (serv,) = parse.parse_list_p(sample("list-p-native.txt"), "gz")
    assert serv == zone("serv-ws", RUNNING, "running", 4, (
        ("zonepath", "/"), ("brand", "native"), ("ip-type", "excl"),
        ("uuid", "f56c0dd9-d8d0-44ab-c929-c7aab6df767c"), ("debugid", "0")),
        uuid="f56c0dd9-d8d0-44ab-c929-c7aab6df767c")


def test_list_p_solaris11_doc_lines_joined():
    # Oracle prints the word UUID where the uuid goes: shown as printed, never used as the row's key
    assert parse.parse_list_p(sample("list-p-solaris11-doc.txt"), "gz") == (
        zone("global", RUNNING, "running", 0, (("role", "global"), ("zonepath", "/"), ("brand", "solaris"),
                                               ("ip-type", "shared"), ("uuid", "UUID"), ("readonly", "-"),
                                               ("file-mac-profile", "none"))),
        zone("testzone2", RUNNING, "running", 5, (
            ("zonepath", "/export/zones/testzone2"), ("brand", "solaris"), ("ip-type", "shared"), ("uuid", "UUID"),
            ("readonly", "R"), ("file-mac-profile", "fixed-configuration"))),
        zone("testzone1", RUNNING, "running", 13, (
            ("zonepath", "/export/zones/testzone1"), ("brand", "solaris"), ("ip-type", "excl"), ("uuid", "UUID"),
            ("readonly", "W"), ("file-mac-profile", "fixed-configuration"))),
        zone("testzone", STOPPED, "installed", None, (
            ("zonepath", "/export/zones/testzone"), ("brand", "solaris"), ("ip-type", "excl"), ("uuid", "UUID"),
            ("readonly", "-"), ("file-mac-profile", "fixed-configuration"))),
    )


def test_list_p_solaris11_doc_as_wrapped_on_the_page_is_refused_at_line_2():
    with pytest.raises(ParseError) as caught:
        parse.parse_list_p(sample("list-p-solaris11-doc-wrapped.txt"), "gz")
    assert caught.value.line_no == 2
    assert "5 fields where the first line has 9 or more" in caught.value.message


def test_list_cp_solaris114_verbatim_tenth_empty_field():
    text = sample("list-cp-solaris114.txt")
    (entry,) = parse.parse_list_entries(text)
    assert entry == ZoneEntry(line_no=1, layout=Layout.SOLARIS11, id=0, name="global", state="running",
                              zonepath="/", uuid="", brand="solaris", ip_type="shared", debugid=None,
                              readonly="-", mac_profile="none", uniqid=None, more=("",))
    assert entry.is_global
    assert parse.parse_list_p(text, "gz") == (
        zone("global", RUNNING, "running", 0, (("role", "global"), ("zonepath", "/"), ("brand", "solaris"),
                                               ("ip-type", "shared"), ("readonly", "-"),
                                               ("file-mac-profile", "none"))),)


def test_list_entries_keep_every_field_as_printed():
    entries = parse.parse_list_entries(sample("list-p-omnios.txt"))
    assert [(e.line_no, e.layout, e.id, e.name, e.state, e.zonepath, e.uuid, e.brand, e.ip_type, e.debugid,
             e.readonly, e.mac_profile, e.uniqid, e.more) for e in entries] == [
        (1, Layout.ILLUMOS, 0, "global", "running", "/", "", "ipkg", "shared", "0", None, None, None, ()),
        (2, Layout.ILLUMOS, 42, "cube-media", "running", "/zones/cube-media",
         "c624d04f-d0d9-e1e6-822e-acebc78ec9ff", "lipkg", "excl", "128", None, None, None, ()),
        (3, Layout.ILLUMOS, 44, "cube-ws", "installed", "/zones/cube-ws", "0f9c56f4-9810-6d45-f801-d34bf27cc13f",
         "pkgsrc", "excl", "179", None, None, None, ()),
    ]


# --- zoneadm list -p: shapes the samples do not show, from the format of §1.1 ------------------------------


def test_solaris10_layout_seven_fields():
    (entry,) = parse.parse_list_entries("1:web:running:/zones/web:5b4f5d38-6a2e-4c3e-a4b6-0e1c2d3e4f50:native:shared")
    assert (entry.layout, entry.debugid, entry.readonly, entry.mac_profile, entry.more) == (
        Layout.SOLARIS10, None, None, None, ())


def test_escaped_colon_in_zonepath():
    (domain,) = parse.parse_list_p(r"-:odd:installed:/zones/a\:b:5b4f5d38-6a2e-4c3e-a4b6-0e1c2d3e4f50:ipkg:excl:3",
                                   "gz")
    assert dict(domain.extra)["zonepath"] == "/zones/a:b"


def test_solaris11_defunct_zone_prints_its_uniqid_not_an_id():
    text = "0:global:running:/::solaris:shared:-:none\n" \
           "18446744073709551615:old:<defunct>:/zones/old:-:solaris:excl:-:none\n"
    _, old = parse.parse_list_p(text, "gz")
    assert (old.id, old.uuid, old.state, old.native_state) == (None, None, UNKNOWN, "<defunct>")
    assert dict(old.extra)["uniqid"] == "18446744073709551615"
    assert "uuid" not in dict(old.extra)


def test_later_lines_may_have_more_fields_than_the_first():
    text = ("0:global:running:/::ipkg:shared:0\n"
            "3:z:running:/zones/z:5b4f5d38-6a2e-4c3e-a4b6-0e1c2d3e4f50:ipkg:excl:9:new\n")
    _, z = parse.parse_list_entries(text)
    assert (z.debugid, z.more) == ("9", ("new",))


def test_uuid_is_normalised_to_lower_case_for_the_key():
    (domain,) = parse.parse_list_p("1:z:running:/z:5B4F5D38-6A2E-4C3E-A4B6-0E1C2D3E4F50:ipkg:excl:1", "gz")
    assert domain.uuid == "5b4f5d38-6a2e-4c3e-a4b6-0e1c2d3e4f50"
    assert dict(domain.extra)["uuid"] == "5B4F5D38-6A2E-4C3E-A4B6-0E1C2D3E4F50"


def test_unknown_states_and_placeholders_pass_through():
    text = "-:z1:???:/z1::ipkg:excl:1\n-:z2:unavailable:/z2::solaris:excl:2\n"
    z1, z2 = parse.parse_list_p(text, "gz")
    assert (z1.state, z1.native_state, z2.state, z2.native_state) == (UNKNOWN, "???", UNKNOWN, "unavailable")


def test_hostile_names_are_kept_as_printed_for_the_ui_to_escape():
    hostile = "[bold]x\x1b]52;c;Zm9v\x07[/]"
    (domain,) = parse.parse_list_p(f"-:{hostile}:installed:/z::ipkg:excl:1", "gz")
    assert domain.name == hostile


@pytest.mark.parametrize(("text", "line_no", "message"), [
    ("0:global:running:/::ipkg:shared:0\n1:z:running\n", 2, "3 fields where the first line has 8"),
    ("0:global:running:/::solaris:shared:-:none\n1:z:running:/z::solaris:excl:0\n", 2, "8 fields where"),
    ("x:global:running:/::ipkg:shared:0\n", 1, "id 'x' is neither a number nor '-'"),
    ("-1:z:running:/::ipkg:shared:0\n", 1, "neither a number"),
    ("0::running:/::ipkg:shared:0\n", 1, "empty zone name"),
    ("0:z::/::ipkg:shared:0\n", 1, "zone z: empty state"),
    ("garbage\n", 1, "1 fields; zoneadm list -p prints at least 7"),
    ("1" * 21 + ":z:running:/::ipkg:shared:0\n", 1, "neither a number"),
])
def test_list_p_malformed_lines_name_the_line(text, line_no, message):
    with pytest.raises(ParseError) as caught:
        parse.parse_list_p(text, "gz")
    assert caught.value.line_no == line_no
    assert message in caught.value.message


def test_list_p_empty_output_is_no_zones():
    assert parse.parse_list_p("", "gz") == ()
    assert parse.parse_list_p("\n\n", "gz") == ()


# --- zoneadm list -v (§1.4) --------------------------------------------------------------------------------


def test_list_v_solaris11_verbatim_fragment():
    assert parse.parse_list_v(sample("list-v-solaris11.txt"), "gz") == (
        zone("global", RUNNING, "running", 0, (("role", "global"), ("zonepath", "/"), ("brand", "solaris"),
                                               ("ip-type", "shared"))),)


def test_list_cv_derived_long_names_push_columns():
    u1, u2 = "dc5cbce7-798a-4bc8-bdc5-61b4be00a22e", "7970c690-1738-4e58-a04f-8ce4ea8ebfca"
    text = sample("list-cv-smartos-derived.txt")
    assert len(text.splitlines()[2]) > 80, "the fixture really pushes the columns"
    assert parse.parse_list_v(text, "gz") == (
        zone("global", RUNNING, "running", 0, (("role", "global"), ("zonepath", "/"), ("brand", "liveimg"),
                                               ("ip-type", "shared"))),
        zone(u1, RUNNING, "running", 21, (("zonepath", f"/zones/{u1}"), ("brand", "joyent-minimal"),
                                          ("ip-type", "excl"))),
        zone(u2, STOPPED, "installed", None, (("zonepath", f"/zones/{u2}"), ("brand", "kvm"), ("ip-type", "excl"))),
    )


def test_list_v_path_with_a_space():
    text = "  ID NAME STATUS PATH BRAND IP\n   - z installed /zones/my zone ipkg excl\n"
    (z,) = parse.parse_list_v(text, "gz")
    assert dict(z.extra)["zonepath"] == "/zones/my zone"


@pytest.mark.parametrize(("text", "line_no"), [
    ("ID NAME STATUS PATH\n", 1),  # not the documented header
    ("  ID NAME             STATUS      PATH                         BRAND      IP\n   0 global running /\n", 2),
    ("  ID NAME STATUS PATH BRAND IP\n   x global running / solaris shared\n", 2),
    ("   0 global           running     /                            solaris    shared\n", 1),  # no header
])
def test_list_v_malformed(text, line_no):
    with pytest.raises(ParseError) as caught:
        parse.parse_list_v(text, "gz")
    assert caught.value.line_no == line_no


def test_list_v_empty_is_no_zones():
    assert parse.parse_list_v("", "gz") == ()


# --- uname -sr ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "system", "release", "family", "zones", "layouts"), [
    ("SunOS 5.11\n", "SunOS", "5.11", "Solaris 11 or illumos", True,
     {Layout.SOLARIS10, Layout.ILLUMOS, Layout.SOLARIS11}),
    ("SunOS 5.10\n", "SunOS", "5.10", "Solaris 10", True, {Layout.SOLARIS10}),
    ("SunOS 5.9", "SunOS", "5.9", "SunOS 5.9", False, set()),
    ("Linux 6.1.0-18-amd64\n", "Linux", "6.1.0-18-amd64", "Linux 6.1.0-18-amd64", False, set()),
    ("\nSunOS   5.11  \n\n", "SunOS", "5.11", "Solaris 11 or illumos", True,
     {Layout.SOLARIS10, Layout.ILLUMOS, Layout.SOLARIS11}),
])
def test_uname(text, system, release, family, zones, layouts):
    uname = parse.parse_uname(text)
    assert uname == Uname(system, release)
    assert (uname.family, uname.has_zones, set(uname.layouts)) == (family, zones, layouts)


@pytest.mark.parametrize(("text", "line_no"), [("", None), ("SunOS\n", 1), ("SunOS 5.11 extra\n", 1),
                                               ("SunOS 5.11\nSunOS 5.11\n", 2)])
def test_uname_malformed(text, line_no):
    with pytest.raises(ParseError) as caught:
        parse.parse_uname(text)
    assert caught.value.line_no == line_no


# --- zonecfg export (§4) -----------------------------------------------------------------------------------


def test_export_web_solaris11_verbatim():
    text = sample("export-web-solaris11.txt")
    assert parse.parse_zonecfg(text) == ZoneConfig(
        create=("-b",),
        properties=(("brand", "solaris"), ("zonepath", "/zones/web"), ("autoboot", "true")),
        resources=(ZoneResource("net", (("physical", "vnet1"),), 5),),
    )
    bindings = parse.parse_export(text, "gz", "web")
    assert (bindings.host, bindings.domain) == ("gz", "web")
    assert bindings.cpu == Cpu(vcpus=None, max_vcpus=None)
    assert bindings.memory == Memory(current_bytes=None, max_bytes=None)
    assert bindings.disks == ()
    assert bindings.nics == (Nic(mac=None, source_type="net", source="vnet1", target="vnet1"),)
    assert bindings.consoles == (ConsoleDev(kind="console", type="zcons"),)
    assert bindings.extra == (
        Section("ZONE", ("PROPERTY", "VALUE"), (("brand", "solaris"), ("zonepath", "/zones/web"),
                                                ("autoboot", "true"))),
        Section("NETWORK", ("RESOURCE", "PHYSICAL"), (("net", "vnet1"),)),
    )


def test_export_default_solaris11_verbatim_anet():
    text = sample("export-default-solaris11.txt")
    config = parse.parse_zonecfg(text)
    assert config.create == ("-b",)
    assert config.properties == (("brand", "solaris"), ("zonepath", "/system/zones/%{zonename}"),
                                 ("autoboot", "false"), ("autoshutdown", "shutdown"), ("ip-type", "exclusive"))
    assert config.get("ip-type") == "exclusive" and config.get("pool") is None
    (anet,) = config.of("anet")
    assert anet == ZoneResource("anet", (("linkname", "net0"), ("lower-link", "auto"),
                                         ("configure-allowed-address", "true"),
                                         ("link-protection", "mac-nospoof"), ("mac-address", "auto")), 7)
    bindings = parse.zone_bindings(config, "gz", "default")
    # mac-address=auto is not a MAC: the common table leaves it out, the NETWORK section shows it
    assert bindings.nics == (Nic(mac=None, source_type="anet", source="auto", target="net0"),)
    assert bindings.extra[1] == Section(
        "NETWORK", ("RESOURCE", "LINKNAME", "LOWER-LINK", "MAC-ADDRESS", "CONFIGURE-ALLOWED-ADDRESS",
                    "LINK-PROTECTION"),
        (("anet", "net0", "auto", "auto", "true", "mac-nospoof"),))


def test_export_omnios_handwritten_fs_and_net():
    config = parse.parse_zonecfg(sample("export-omnios.txt"))
    assert config == ZoneConfig(
        create=("-b",),
        properties=(("brand", "sparse"), ("zonepath", "/zones/example"), ("autoboot", "true")),
        resources=(
            ZoneResource("fs", (("dir", "/home"), ("special", "/home"), ("type", "lofs")), 5),
            ZoneResource("net", (("physical", "test0"), ("global-nic", "auto"),
                                 ("allowed-address", "192.168.1.38/24"), ("defrouter", "192.168.1.1")), 10),
        ),
    )
    bindings = parse.zone_bindings(config, "gz", "example")
    assert bindings.disks == (Disk(target="/home", source="/home", source_type="lofs", device="fs"),)
    assert bindings.nics == (Nic(mac=None, source_type="net", source="auto", target="test0"),)
    assert bindings.extra[1:] == (
        Section("FS", ("DIR", "SPECIAL", "TYPE"), (("/home", "/home", "lofs"),)),
        Section("NETWORK", ("RESOURCE", "PHYSICAL", "GLOBAL-NIC", "ALLOWED-ADDRESS", "DEFROUTER"),
                (("net", "test0", "auto", "192.168.1.38/24", "192.168.1.1"),)),
    )


# Every resource of zonecfg.8 in the shapes illumos export_func prints (zonecfg.c): fs options one `add`
# a line (quoted when they hold `=`), rctl values as complex values, dedicated-cpu as a range, quoteit's
# double quotes around a value with a blank. Not a capture: the printf shapes with made-up values.
FULL_EXPORT = """\
create -b
set zonepath=/zones/db 1
set brand=ipkg
set autoboot=false
set limitpriv=default,sys_time
set ip-type=shared
add fs
set dir=/data
set special=tank/data
set type=zfs
add options ro
add options "logging=on"
end
add net
set address=192.168.0.7/24
set physical=e1000g0
set defrouter=192.168.0.1
end
add device
set match="/dev/cua/a00[2-5]"
end
add capped-memory
set physical=1.5G
end
add rctl
set name=zone.cpu-cap
add value (priv=privileged,limit=150,action=none)
end
add rctl
set name=zone.max-swap
add value (priv=privileged,limit=2147483648,action=deny)
add value (priv=basic,limit=1024,action=none)
end
add attr
set name=comment
set type=string
set value="db server 1"
end
add dataset
set name=tank/db
end
add dedicated-cpu
set ncpus=1-4
set importance=10
end
add security-flags
set lower=none
end
"""


def test_every_resource_in_the_export_printf_shapes():
    config = parse.parse_zonecfg(FULL_EXPORT)
    assert config.get("zonepath") == "/zones/db 1"  # export prints the zonepath unquoted, blank and all
    assert config.get("limitpriv") == "default,sys_time"
    (fs,) = config.of("fs")
    assert fs.values("options") == ("ro", "logging=on") and fs.get("options") == "logging=on"
    (device,) = config.of("device")
    assert device.get("match") == "/dev/cua/a00[2-5]"
    cap, swap = config.of("rctl")
    assert swap.values("value") == ("(priv=privileged,limit=2147483648,action=deny)",
                                    "(priv=basic,limit=1024,action=none)")
    bindings = parse.zone_bindings(config, "gz", "db")
    assert bindings.cpu == Cpu(vcpus=1, max_vcpus=4)
    assert bindings.memory == Memory(current_bytes=None, max_bytes=1536 * M)
    assert bindings.disks == (Disk(target="/data", source="tank/data", source_type="zfs", device="fs",
                                   read_only=True),
                              Disk(target="tank/db", source="tank/db", source_type="zfs", device="dataset"))
    assert bindings.nics == (Nic(mac=None, source_type="net", source="e1000g0", target="e1000g0"),)
    sections = {section.title: section for section in bindings.extra}
    assert list(sections) == ["ZONE", "FS", "NETWORK", "DEVICE", "CAPPED-MEMORY", "RCTL", "ATTR", "DATASET",
                              "DEDICATED-CPU", "SECURITY-FLAGS", "CAPPED-CPU"]
    assert sections["ZONE"].rows == (("zonepath", "/zones/db 1"), ("brand", "ipkg"), ("autoboot", "false"),
                                     ("limitpriv", "default,sys_time"), ("ip-type", "shared"))
    assert sections["FS"] == Section("FS", ("DIR", "SPECIAL", "TYPE", "OPTIONS"),
                                     (("/data", "tank/data", "zfs", "ro,logging=on"),))
    assert sections["NETWORK"] == Section("NETWORK", ("RESOURCE", "PHYSICAL", "ADDRESS", "DEFROUTER"),
                                          (("net", "e1000g0", "192.168.0.7/24", "192.168.0.1"),))
    assert sections["DEVICE"] == Section("DEVICE", ("MATCH",), (("/dev/cua/a00[2-5]",),))
    # the swap cap and the CPU cap are rctls in an export (illumos export_func): shown where zonecfg shows them
    assert sections["CAPPED-MEMORY"] == Section("CAPPED-MEMORY", ("PHYSICAL", "SWAP"), (("1.5G", "2G"),))
    assert sections["CAPPED-CPU"] == Section("CAPPED-CPU", ("NCPUS",), (("1.50",),))
    assert sections["RCTL"] == Section("RCTL", ("NAME", "PRIV", "LIMIT", "ACTION"), (
        ("zone.cpu-cap", "privileged", "150", "none"),
        ("zone.max-swap", "privileged", "2147483648", "deny"),
        ("zone.max-swap", "basic", "1024", "none"),
    ))
    assert sections["ATTR"] == Section("ATTR", ("NAME", "TYPE", "VALUE"), (("comment", "string", "db server 1"),))
    assert sections["DATASET"] == Section("DATASET", ("NAME",), (("tank/db",),))
    assert sections["DEDICATED-CPU"] == Section("DEDICATED-CPU", ("NCPUS", "IMPORTANCE"), (("1-4", "10"),))
    # a resource this module has no table for is kept, its properties as columns
    assert sections["SECURITY-FLAGS"] == Section("SECURITY-FLAGS", ("LOWER",), (("none",),))


def test_capped_cpu_and_capped_memory_blocks_as_written_by_hand():
    text = "create\nadd capped-cpu\nset ncpus=1.25\nend\nadd capped-memory\nset physical=50m\nset swap=100m\n" \
           "set locked=20m\nend\n"
    bindings = parse.parse_export(text, "gz", "z")
    assert bindings.memory.max_bytes == 50 * M
    sections = {section.title: section for section in bindings.extra}
    assert sections["CAPPED-CPU"] == Section("CAPPED-CPU", ("NCPUS",), (("1.25",),))
    assert sections["CAPPED-MEMORY"] == Section("CAPPED-MEMORY", ("PHYSICAL", "SWAP", "LOCKED"),
                                                (("50m", "100m", "20m"),))
    assert parse.parse_zonecfg(text).create == ()  # a plain create: the default template
    assert parse.parse_zonecfg("set brand=x\n").create is None  # no create line at all


def test_section_titles_never_repeat():
    # a garbled configuration: widget ids come from titles, so two alike would clash
    text = ("add net\nset physical=a\nend\nadd Zone\nend\nadd net.work\nset x=1\nend\nadd NETWORK\nend\n"
            "add net-work\nend\n")
    titles = [section.title for section in parse.parse_export(text, "gz", "z").extra]
    assert titles == ["ZONE", "NETWORK", "ZONE 2", "NET.WORK", "NETWORK 2", "NET-WORK 2"]


def test_a_second_set_replaces_the_first():
    config = parse.parse_zonecfg("set autoboot=true\nset brand=x\nset autoboot=false\n")
    assert config.properties == (("autoboot", "false"), ("brand", "x"))


def test_create_arguments_with_quotes_and_comments_and_blank_lines():
    config = parse.parse_zonecfg('# a comment\n\ncreate -a "/zones/old one"\n  set   zonepath = /z  \n')
    assert config.create == ("-a", "/zones/old one")
    assert config.properties == (("zonepath", "/z"),)
    assert parse.parse_zonecfg("create -t SUNWdefault\n").create == ("-t", "SUNWdefault")


def test_an_open_quote_runs_to_the_end_of_the_line_as_zonecfg_lexes_it():
    assert parse.parse_zonecfg('set bootargs="-m verbose\n').get("bootargs") == "-m verbose"


def test_an_empty_export_is_an_empty_configuration():
    assert parse.parse_zonecfg("") == ZoneConfig()
    bindings = parse.parse_export("", "gz", "z")
    assert bindings.extra == (Section("ZONE", ("PROPERTY", "VALUE"), ()),)


@pytest.mark.parametrize(("text", "line_no", "message"), [
    ("add net\nset physical=x\n", 1, "add net is never ended"),
    ("end\n", 1, "end outside a resource"),
    ("add net\nend now\n", 2, "text after end"),
    ("set brand\n", 1, "expected set NAME=VALUE"),
    ("set =x\n", 1, "expected set NAME=VALUE"),
    ("add\n", 1, "expected add RESOURCE-TYPE"),
    ("add net fs\n", 1, "expected add RESOURCE-TYPE"),
    ("add fs\nadd options\nend\n", 2, "expected add NAME VALUE"),
    ("select net physical=x\n", 1, "not a command zonecfg export prints"),
    ("commit\n", 1, "not a command zonecfg export prints"),
    ("set brand=x\ncreate -b\n", 2, "create after other commands"),
    ('set zonepath="/a" b\n', 1, "text after the closing quote"),
    ('create -a "/x"y\n', 1, "a quoted word runs into the next"),
])
def test_zonecfg_malformed_lines_name_the_line(text, line_no, message):
    with pytest.raises(ParseError) as caught:
        parse.parse_zonecfg(text)
    assert caught.value.line_no == line_no
    assert message in caught.value.message
    assert caught.value.message.startswith("zonecfg line")


@pytest.mark.parametrize(("value", "pairs"), [
    ("(priv=privileged,limit=300,action=none)", (("priv", "privileged"), ("limit", "300"), ("action", "none"))),
    (" ( name=x , value=\"a b\" ) ", (("name", "x"), ("value", "a b"))),
    ("priv=privileged", ()),
    ("(priv)", ()),
    ("(=1)", ()),
    ('(name="a"b)', ()),
    ("", ()),
])
def test_parse_complex(value, pairs):
    assert parse.parse_complex(value) == pairs


@pytest.mark.parametrize(("text", "size"), [
    ("50m", 50 * M), ("1G", G), ("1.5G", 1536 * M), ("512M", 512 * M), ("100B", 100), ("2048", 2048),
    ("1t", 2**40), (" 4g ", 4 * G), ("8K", 8192),
])
def test_parse_zone_size(text, size):
    assert parse.parse_zone_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "-1G", "1X", "1.2.3G", "1e3", "\uff11G", "8 G"])
def test_parse_zone_size_refuses_garbage(text):
    assert parse.parse_zone_size(text) is None


# --- zoneadm stderr (§3) -----------------------------------------------------------------------------------


def test_migrate_error_verbatim():
    errors = parse.parse_zoneadm_errors(sample("migrate-error-solaris11.txt"))
    assert errors.messages == (
        parse.ZoneadmMessage(1, "mykz", "Importing zone configuration on destination."),
        parse.ZoneadmMessage(2, "mykz", "configuration failed:"),
    )
    assert errors.configuration == ("create -b", "set brand=solaris-kz", "...")
    assert errors.other == ()
    assert errors.headline == "zone mykz: configuration failed:"


def test_zperror2_shape_splits_the_cause():
    errors = parse.parse_zoneadm_errors("zoneadm: web: could not get zone path: No such zone configured\n")
    (message,) = errors.messages
    assert (message.zone, message.text, message.cause) == ("web", "could not get zone path",
                                                           "No such zone configured")
    assert errors.headline == "zone web: could not get zone path: No such zone configured"
    assert errors.configuration is None


def test_zperror2_without_a_cause_and_other_lines_kept():
    errors = parse.parse_zoneadm_errors("usage: zoneadm ...\nzoneadm: web: gone\n\n  free text  \n")
    assert errors.messages == (parse.ZoneadmMessage(2, "web", "gone"),)
    assert errors.other == ("usage: zoneadm ...", "  free text  ")


def test_zoneadm_errors_without_messages_headline_is_the_first_other_line():
    assert parse.parse_zoneadm_errors("\n  something odd\nmore\n").headline == "something odd"
    assert parse.parse_zoneadm_errors("").headline == ""


def test_an_unterminated_configuration_block_keeps_its_lines():
    errors = parse.parse_zoneadm_errors("-----BEGIN CONFIGURATION-----\ncreate -b\nzoneadm: zone 'x': y\n")
    assert errors.configuration == ("create -b", "zoneadm: zone 'x': y")
    assert errors.messages == ()


# --- zfs list -H -p and dladm show-link -p (RECONSTRUCTED from their man pages) ---------------------------


def test_zfs_filesystems_every_field():
    found = parse.parse_zfs_filesystems(sample("zfs-list-filesystems-reconstructed.txt"))
    assert [(fs.name, fs.avail, fs.used, fs.mountpoint, fs.mounted_at) for fs in found] == [
        ("rpool", 1060397540352, 39114087424, "/rpool", "/rpool"),
        ("rpool/ROOT", 1060397540352, 5368732672, "legacy", None),
        ("rpool/ROOT/omnios-r151046", 1060397540352, 5368709120, "/", "/"),
        ("rpool/export", 1060397540352, 15802065920, "/export", "/export"),
        ("rpool/zones", 1060397540352, 17943256064, "/zones", "/zones"),
        ("rpool/zones/web1", 1060397540352, 587202560, "/zones/web1", "/zones/web1"),
        ("rpool/zones/db1/data", 1060397540352, 12884901888, "legacy", None),
        ("tank/scratch", 0, 20480, "none", None),
    ]
    assert parse.parse_zfs_filesystems("") == ()
    assert parse.parse_zfs_filesystems("tank\t-\t-\t-\n")[0].avail is None


@pytest.mark.parametrize("text", ["rpool 10 20 /rpool\n", "rpool\t10\t20\n", "rpool\t1.5G\t20\t/r\n",
                                  "-rpool\t1\t2\t/r\n", "rpool\t1\t2\t/r\textra\n", "rpool\t\u0661\t2\t/r\n"])
def test_zfs_filesystems_refuse_what_zfs_list_H_p_never_prints(text):
    with pytest.raises(ParseError, match="line 1"):
        parse.parse_zfs_filesystems(text)


def test_zfs_snapshots_every_field():
    found = parse.parse_zfs_snapshots(sample("zfs-list-snapshots-reconstructed.txt"))
    assert [(s.name, s.dataset, s.used, s.creation) for s in found] == [
        ("rpool/zones/build@SUNWzone1", "rpool/zones/build", 0, 1700054000),
        ("rpool/zones/build@SUNWzone2", "rpool/zones/build", 18432, 1700057600)]
    with pytest.raises(ParseError, match="not a snapshot name"):
        parse.parse_zfs_snapshots("rpool/zones/build\t1\t2\n")


def test_dladm_links_every_field():
    found = parse.parse_dladm_links(sample("dladm-show-link-reconstructed.txt"))
    assert [(link.name, link.klass, link.zone) for link in found] == [
        ("igb0", "phys", None), ("igb1", "phys", None), ("aggr0", "aggr", None), ("stub0", "etherstub", None),
        ("web1", "vnic", None), ("vlan100", "vlan", None), ("app1/net0", "vnic", "app1")]


@pytest.mark.parametrize("text", ["igb0\n", "igb0:phys:1500\n", "igb0:\n", ":phys\n", "igb0:PHYS\n", "-x:phys\n",
                                  "a/b/c:vnic\n", "igb0:[bold]\n"])
def test_dladm_links_refuse_other_shapes(text):
    with pytest.raises(ParseError, match="dladm line 1"):
        parse.parse_dladm_links(text)
