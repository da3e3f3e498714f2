"""dladm show-link on the simulated global zones (dladm.8: the parsable form and its escapes), and the
parser of the zones backend reading it."""

from __future__ import annotations

from hvdeck.backends.sim.sshserver import Reply
from hvdeck.backends.sim.zones import ZonesWorld
from hvdeck.backends.sim.zones.dladm import _escape
from hvdeck.backends.zones import commands, parse


def test_links_of_the_host_and_of_its_running_zones():
    world = ZonesWorld.demo("omni-a", "illumos")
    listed = world.run(list(commands.DATALINKS))
    assert listed == Reply("igb0:phys\nigb1:phys\ne1000g0:phys\nstub0:etherstub\nlegacy0:vnic\nweb1:vnic\n"
                           "web2:vnic\ndb1:vnic\n")
    world.run(["zoneadm", "-z", "web1", "halt"])
    assert "web1:vnic" not in world.run(list(commands.DATALINKS)).stdout, "a zone's VNIC goes with it"
    solaris = ZonesWorld.demo("sol-a", "solaris11")
    links = parse.parse_dladm_links(solaris.run(list(commands.DATALINKS)).stdout)
    assert [(link.name, link.klass, link.zone) for link in links] == [
        ("net0", "phys", None), ("net1", "phys", None), ("stub0", "etherstub", None), ("app1/net0", "vnic", "app1"),
        ("kz1/net0", "vnic", "kz1")]


def test_the_table_a_single_field_and_refusals():
    world = ZonesWorld.demo("sol-a", "solaris11")
    table = world.run(["dladm", "show-link"]).stdout.splitlines()
    assert table[0].split() == ["LINK", "CLASS", "MTU", "STATE", "BRIDGE", "OVER"]
    assert table[-1].split() == ["kz1/net0", "vnic", "1500", "up", "--", "net0"]
    assert world.run(["dladm", "show-link", "-p", "-o", "link"]).stdout.splitlines()[:2] == ["net0", "net1"]
    assert world.run(["dladm", "show-link", "-p", "-o", "over,link", "app1/net0"]).stdout == "net0:app1/net0\n"
    assert world.run(["dladm", "show-link", "-p"]) == Reply("", "dladm: -p requires -o\n", 1)
    assert world.run(["dladm", "show-link", "-p", "-o", "link,speed"]).exit_status == 1
    assert world.run(["dladm", "show-link", "nosuch0"]).stderr == "dladm: invalid link name 'nosuch0'\n"


def test_escapes_read_back():
    """dladm.8: with several fields a colon is written backslash-colon and a backslash doubled."""
    values = ["a:b", "c\\d", "plain", "\\:"]
    line = ":".join(_escape(value) for value in values)
    assert line == "a\\:b:c\\\\d:plain:\\\\\\:"
    assert parse._dladm_fields(line) == values
