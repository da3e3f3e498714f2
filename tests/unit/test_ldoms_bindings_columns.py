"""Every column `ldm list-bindings` prints, in its order and with its header, on the domain screen.

The human samples (shared/formats/ldm.md §4, VERBATIM, in tests/fixtures/ldm) are the reference for the
headers; the `-p` output hvdeck reads must give the same tables: the LDoms 1.x layout for `VERSION 1.0`,
the 3.x one (NORM, MAXBW, LINKPROP, LOGGING...) for 1.6 and later."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hvdeck.backends.ldoms import parse
from hvdeck.backends.model import Section
from hvdeck.backends.sim.ldoms import LdomsWorld

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ldm"
HUMAN = ("list-bindings-ldoms12.txt", "list-l-ldoms12.txt", "list-e-ldoms12.txt")


def headers_in(text: str) -> list[tuple[str, ...]]:
    """Every indented header line of a human listing, as words, in the order printed."""
    found = []
    for line in text.splitlines():
        words = tuple(line.split())
        if line.startswith("    ") and words and all(re.fullmatch(r"[A-Z][A-Z0-9_-]*", w) for w in words):
            found.append(words)
    return found


@pytest.mark.parametrize("name", HUMAN)
def test_the_human_parser_keeps_every_header_ldm_prints(name: str):
    text = (FIXTURES / name).read_text()
    sections = [s for block in parse.parse_long_human(text) for s in block.sections]
    tables = {s.columns for s in sections} | {s.columns[1:] for s in sections if s.title.endswith(" PEER")}
    expected = headers_in(text)
    assert expected, name
    for header in expected:
        assert header in tables, (name, header)


# `ldm list-bindings -p ldg1` for the domain of §4's VERBATIM 1.2 `ldm list-bindings ldg1` (Example 9-10):
# RECONSTRUCTED from it with §3.3's attribute names; the PEER sub-rows are UNCERTAIN in §3.3.
LDOMS12_P = """VERSION 1.0
DOMAIN|name=ldg1|state=bound|flags=-----|cons=5000|ncpu=1|mem=536870912|util=|uptime=
VCPU
|vid=0|pid=1|util=|strand=100
MEMORY
|ra=0x4000000|pa=0x34000000|size=536870912
VNET|name=mynet-b|service=vsw0@primary|dev=network@0|mac-addr=08:00:20:ab:9a:12
|peer=vsw0@primary|mac-addr=08:00:20:aa:bb:e0
|peer=mynet-a@ldg1|mac-addr=08:00:20:ab:9a:11
|peer=mynet-c@ldg2|mac-addr=08:00:20:ab:9a:22
VNET|name=mynet-a|service=vsw0@primary|dev=network@1|mac-addr=08:00:20:ab:9a:11
|peer=vsw0@primary|mac-addr=08:00:20:aa:bb:e0
|peer=mynet-b@ldg1|mac-addr=08:00:20:ab:9a:12
|peer=mynet-c@ldg2|mac-addr=08:00:20:ab:9a:22
VDISK|name=mydisk-a|vol=myvol-a@vds0|dev=disk@0|server=primary
VDISK|name=mydisk-b|vol=myvol-b@vds0|dev=disk@1|server=primary
VDPCC|name=myvdpcc-a|service=vdpcs0@primary
VDPCC|name=myvdpcc-b|service=vdpcs0@primary
VCONS|group=|service=
"""


def test_ldoms12_p_gives_the_tables_of_ldoms12_list_bindings():
    (human,) = parse.parse_long_human((FIXTURES / "list-bindings-ldoms12.txt").read_text())
    parsed = parse.parse_bindings_p(LDOMS12_P, "cdom")["ldg1"]
    human_sections = {s.title: s for s in human.sections}
    p_sections = {s.title: s for s in parsed.extra}
    for title in ("VCPU", "MEMORY", "NETWORK", "NETWORK PEER", "DISK", "VDPCC", "VCONS"):
        assert p_sections[title].columns == human_sections[title].columns, title
    assert p_sections["NETWORK PEER"].rows == human_sections["NETWORK PEER"].rows
    assert p_sections["DISK"].rows == human_sections["DISK"].rows
    assert p_sections["VDPCC"].rows == human_sections["VDPCC"].rows
    assert p_sections["MEMORY"].rows == human_sections["MEMORY"].rows
    # the vnet keeps its own MAC: the PEER rows' mac-addr= go to their own table
    assert p_sections["NETWORK"].rows == (("mynet-b", "vsw0@primary", "network@0", "08:00:20:ab:9a:12"),
                                          ("mynet-a", "vsw0@primary", "network@1", "08:00:20:ab:9a:11"))
    assert [nic.mac for nic in parsed.nics] == ["08:00:20:ab:9a:12", "08:00:20:ab:9a:11"]


def test_ovm3_p_keeps_the_3x_columns_even_when_blank():
    bindings = parse.parse_bindings_p((FIXTURES / "list-bindings-p-ovm3x.txt").read_text(), "cdom")
    ldg1 = {s.title: s for s in bindings["ldg1"].extra}
    assert ldg1["VCPU"].columns == ("VID", "PID", "CID", "UTIL", "NORM", "STRAND")
    assert ldg1["NETWORK"].columns == ("NAME", "SERVICE", "ID", "DEVICE", "MAC", "MODE", "PVID", "VID", "MTU",
                                       "MAXBW", "LINKPROP")
    assert ldg1["DISK"].columns == ("NAME", "VOLUME", "TOUT", "ID", "DEVICE", "SERVER", "MPGROUP")
    assert ldg1["VCONS"].columns == ("NAME", "SERVICE", "PORT", "LOGGING")
    # values ldm prints in -p land under their column
    text = ("VERSION 1.11\nDOMAIN|name=g|state=active|flags=-n----|cons=5000|ncpu=1|mem=1073741824|util=1|"
            "uptime=1|norm_util=1\nVCPU\n|vid=0|pid=8|cid=1|util=2.0%|norm=1.9%|strand=100\n"
            "VNET|name=vnet0|dev=network@0|service=primary-vsw0@primary|mac-addr=00:14:4f:fb:aa:01|mode=|pvid=1|"
            "vid=|mtu=1500|maxbw=100M|linkprop=phys-state|id=0\n"
            "VCONS|group=g|service=primary-vcc0@primary|port=5000|log=on\n")
    g = {s.title: s for s in parse.parse_bindings_p(text, "h")["g"].extra}
    assert g["VCPU"].rows == (("0", "8", "1", "2.0%", "1.9%", "100"),)
    assert g["NETWORK"].rows == (("vnet0", "primary-vsw0@primary", "0", "network@0", "00:14:4f:fb:aa:01", "",
                                  "1", "", "1500", "100M", "phys-state"),)
    assert g["VCONS"].rows == (("g", "primary-vcc0@primary", "5000", "on"),)


def test_norm_only_where_the_firmware_reports_it():
    text = ("VERSION 1.6\nDOMAIN|name=g|state=active|flags=-n----|cons=5000|ncpu=1|mem=1|util=1|uptime=1\n"
            "VCPU\n|vid=0|pid=8|cid=1|util=2.0%|strand=100\n")
    (vcpu,) = parse.parse_bindings_p(text, "h")["g"].extra
    assert vcpu == Section("VCPU", ("VID", "PID", "CID", "UTIL", "STRAND"), (("0", "8", "1", "2.0%", "100"),))


def test_unknown_attributes_are_kept_after_the_known_columns():
    text = "VERSION 1.6\nDOMAIN|name=g\nVDISK|name=d|vol=v@vds|zz=1|timeout=|dev=disk@0|server=p|mpgroup=|id=0\n"
    (disk,) = parse.parse_bindings_p(text, "h")["g"].extra
    assert disk.columns == ("NAME", "VOLUME", "TOUT", "ID", "DEVICE", "SERVER", "MPGROUP", "ZZ")
    assert disk.rows == (("d", "v@vds", "", "0", "disk@0", "p", "", "1"),)


def test_release_of_the_version_line():
    assert [parse.release_of(v) for v in ("1.0", "1.5", "1.6", "1.11", "2.0", None)] == \
        ["ldoms1", "ldoms1", "ovm3", "ovm3", "ovm3", None]


@pytest.mark.parametrize("domain", ["primary", "ldg-web1", "ldg-db1", "ldg-app1"])
def test_simulated_p_and_human_list_bindings_give_the_same_columns(domain: str):
    """The simulator prints both forms from one state (3.x layout): the domain screen's tables from -p have
    the columns of the human listing."""
    world = LdomsWorld.demo("t7-a", 1)
    (human,) = parse.parse_long_human(world.run(["ldm", "list-bindings", domain]).stdout)
    parsed = parse.parse_bindings_p(world.run(["ldm", "list-bindings", "-p", domain]).stdout, "t7-a")[domain]
    p_columns = {s.title: s.columns for s in parsed.extra}
    compared = 0
    for section in human.sections:
        if section.title in ("CORE", "VCPU", "MEMORY", "IO", "VCC", "NETWORK", "DISK") or \
                (section.title == "VCONS" and domain != "primary"):
            assert p_columns[section.title] == section.columns, section.title
            compared += 1
    assert compared >= 3
