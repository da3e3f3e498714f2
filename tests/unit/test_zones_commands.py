"""The zones command builders, the zonecfg script generator and the Plans: exact argv, zonecfg's name and
value rules, and hostile input refused before any Plan exists."""

from __future__ import annotations

import shlex

import pytest

from hvdeck.backends.base import Action
from hvdeck.backends.errors import Unsupported, ValidationError
from hvdeck.backends.model import Domain
from hvdeck.backends.zones import commands as c
from hvdeck.backends.zones import parse
from hvdeck.backends.zones.commands import NewNet, NewZone

HOSTILE = ["[/]", "[bold]x", "[@click=app.quit]x", "a\x1b]52;c;Zm9v\x07", "a\x9b31m", "web\n", "-z", "--help",
           "web 1", "web;reboot", "$(reboot)", "`id`", "网站", "web\u202e1", "we\u0301b", "a/b", "", " web", "web\t",
           "web\x00"]


def zone(name="web", native="installed", zonepath="/zones/web", host="gz"):
    state = parse.zone_state(native)
    extra = (("zonepath", zonepath),) if zonepath else ()
    return Domain(host=host, name=name, state=state, native_state=native, extra=extra)


def argv(plan):
    return [step.operation.argv for step in plan.steps]


def undo(plan):
    return [step.undo.argv if step.undo else None for step in plan.steps]


# --- names and paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["web", "w", "0", "9lives", "Web_1.prod-a", "a" * 63, "A-", "x.", "SUNdial",
                                  "sunwise", "globalx", "Global"])
def test_valid_zone_names(name):
    assert c.validate_name(name) == name


@pytest.mark.parametrize("name", [*HOSTILE, "a" * 64, "_web", ".web", "-web", "global", "SUNWdefault", "SUNW",
                                  "web:1", "web@1", "wéb"])
def test_invalid_zone_names(name):
    with pytest.raises(ValidationError):
        c.validate_name(name)


def test_sunw_names_are_allowed_as_templates_only():
    assert c.validate_name("SUNWdefault", template=True) == "SUNWdefault"
    with pytest.raises(ValidationError):
        c.validate_name("global", template=True)


@pytest.mark.parametrize("path", ["/zones/web", "/z", "/tank/zones/a:b", "/zones/web/", "/a/b.c/d-e_f@g%h+i,j"])
def test_valid_zonepaths(path):
    assert c.validate_zonepath(path) == path


@pytest.mark.parametrize("path", ["zones/web", "", "/", "//", "/zones/my web", '/zones/"x"', "/zones/a;b",
                                  "/zones/a=b", "/zones/[a]", "/zones/(a)", "/zones/web\n", "/zones/a\tb",
                                  "/zones/\x1b[31m", "/" + "a" * 1023, "-/zones", "~/zones"])
def test_invalid_zonepaths(path):
    with pytest.raises(ValidationError):
        c.validate_zonepath(path)


@pytest.mark.parametrize(("value", "written"), [
    ("e1000g0", "e1000g0"),
    ("192.168.1.5/24", "192.168.1.5/24"),
    ("default,sys_time", "default,sys_time"),
    ("db server 1", '"db server 1"'),  # a blank: quoted, as zonecfg export's quoteit does
    ("logging=on", '"logging=on"'),
    ("a;b", '"a;b"'),
    ("/dev/cua/a00[2-5]", '"/dev/cua/a00[2-5]"'),
    ("(x)", '"(x)"'),
    ("net", '"net"'),  # a word the lexer makes a keyword
    ("default", '"default"'),
    ("", '""'),
    ("网站", "网站"),
])
def test_zonecfg_value_quotes_where_the_lexer_needs_it(value, written):
    assert c.zonecfg_value(value) == written


@pytest.mark.parametrize("value", ['a"b', "a\nb", "a\rb", "\x1b]52;c;x\x07", "a\x9b31m", "a\u2028b", "a\u202eb",
                                   "\x00", "\x7f"])
def test_zonecfg_value_refuses_what_zonecfg_cannot_take(value):
    with pytest.raises(ValidationError):
        c.zonecfg_value(value)


@pytest.mark.parametrize("snapshot", ["SUNWzone1", "tank/zones/web@SUNWzone1", "snap-2024.01:a"])
def test_valid_snapshots(snapshot):
    assert c.validate_snapshot(snapshot) == snapshot


@pytest.mark.parametrize("snapshot", ["-snap", "@x", "a b", "a@b@c", "a\n", ""])
def test_invalid_snapshots(snapshot):
    with pytest.raises(ValidationError):
        c.validate_snapshot(snapshot)


def test_zonepath_conflicts_like_crosscheck_zonepaths():
    zones = [zone("global", "running", "/"), zone("web", "installed", "/zones/web"),
             zone("db", "configured", "/zones/db/")]
    assert c.zonepath_conflict("/zones/web2", zones) is None
    assert "overlaps web's zonepath /zones/web" in c.zonepath_conflict("/zones/web", zones)
    assert c.zonepath_conflict("/zones/web/inner", zones) is not None
    assert c.zonepath_conflict("/zones", zones) is not None  # around another zone's
    assert c.zonepath_conflict("/zones/db", zones) is not None  # a trailing slash does not hide it
    assert c.zonepath_conflict("/zones/web", zones, exclude="web") is None
    assert c.zonepath_conflict("/", zones[:1]) is None  # the global zone's / is not a zonepath


# --- argv builders ----------------------------------------------------------------------------------------


def test_read_only_commands():
    assert c.LIST == ("zoneadm", "list", "-cp")
    assert c.LIST_VERBOSE == ("zoneadm", "list", "-cv")
    assert c.UNAME == ("uname", "-sr")
    assert c.export("web") == ("zonecfg", "-z", "web", "export")
    assert c.export("global") == ("zonecfg", "-z", "global", "export")


def test_lifecycle_argv():
    assert c.boot("web") == ("zoneadm", "-z", "web", "boot")
    assert c.shutdown("web") == ("zoneadm", "-z", "web", "shutdown")
    assert c.shutdown("web", reboot=True) == ("zoneadm", "-z", "web", "shutdown", "-r")
    assert c.halt("web") == ("zoneadm", "-z", "web", "halt")
    assert c.reboot("web") == ("zoneadm", "-z", "web", "reboot")
    assert c.ready("web") == ("zoneadm", "-z", "web", "ready")
    assert c.uninstall("web") == ("zoneadm", "-z", "web", "uninstall", "-F")
    assert c.delete("web") == ("zonecfg", "-z", "web", "delete", "-F")
    assert c.detach("web") == ("zoneadm", "-z", "web", "detach")
    assert c.move("web", "/zones2/web") == ("zoneadm", "-z", "web", "move", "/zones2/web")
    assert c.console("web") == ("zlogin", "-C", "web")
    assert c.CONSOLE_ESCAPE == "~."


@pytest.mark.parametrize("builder", [c.boot, c.shutdown, c.halt, c.reboot, c.ready, c.uninstall, c.delete,
                                     c.detach, c.console, c.export, c.configure_stdin])
@pytest.mark.parametrize("name", HOSTILE)
def test_no_builder_takes_a_bad_name(builder, name):
    with pytest.raises(ValidationError):
        builder(name)


@pytest.mark.parametrize("builder", [c.boot, c.halt, c.uninstall, c.delete, c.console])
def test_the_global_zone_is_no_target(builder):
    with pytest.raises(ValidationError):
        builder("global")


@pytest.mark.parametrize(("kwargs", "tail"), [
    ({}, ("install",)),
    ({"archive": "/net/images/sys1.flar", "identity": "unconfigure"},
     ("install", "-a", "/net/images/sys1.flar", "-u")),
    ({"archive": "/a b/sys.cpio.gz", "identity": "preserve", "verbosity": "verbose"},
     ("install", "-a", "/a b/sys.cpio.gz", "-p", "-v")),
    ({"image": "/net/sys1/root", "identity": "preserve", "verbosity": "silent"},
     ("install", "-d", "/net/sys1/root", "-p", "-s")),
    ({"image": "-", "identity": "unconfigure"}, ("install", "-d", "-", "-u")),  # an image already in the zonepath
])
def test_install_argv(kwargs, tail):
    assert c.install("web", **kwargs) == ("zoneadm", "-z", "web", *tail)


@pytest.mark.parametrize("kwargs", [
    {"archive": "/a", "image": "/b"},
    {"archive": "relative.flar"},
    {"archive": "-a"},
    {"image": "--"},
    {"archive": "/a\nb"},
    {"identity": "unconfigure"},  # -u needs an archive or image
    {"archive": "/a", "identity": "u"},
    {"archive": "/a", "verbosity": "loud"},
])
def test_install_refuses(kwargs):
    with pytest.raises(ValidationError):
        c.install("web", **kwargs)


def test_clone_argv():
    assert c.clone("web2", "web") == ("zoneadm", "-z", "web2", "clone", "web")
    assert c.clone("web2", "web", snapshot="SUNWzone1", copy=True) == (
        "zoneadm", "-z", "web2", "clone", "-m", "copy", "-s", "SUNWzone1", "web")
    for bad in ("web2", "-s", "global", "SUNWdefault"):
        with pytest.raises(ValidationError):
            c.clone("web2", bad)


def test_attach_argv():
    assert c.attach("web") == ("zoneadm", "-z", "web", "attach")
    assert c.attach("web", update="u") == ("zoneadm", "-z", "web", "attach", "-u")
    assert c.attach("web", update="U") == ("zoneadm", "-z", "web", "attach", "-U")
    assert c.attach("web", backout=("119254-92", "123456-01")) == (
        "zoneadm", "-z", "web", "attach", "-b", "119254-92", "-b", "123456-01")
    assert c.attach("web", force=True) == ("zoneadm", "-z", "web", "attach", "-F")
    for kwargs in ({"update": "x"}, {"backout": ("-F",)}, {"backout": ("1192-92",)}, {"force": True, "update": "u"}):
        with pytest.raises(ValidationError):
            c.attach("web", **kwargs)


def test_zonecfg_input_forms():
    assert c.configure_stdin("web") == ("zonecfg", "-z", "web", "-f", "-")
    assert c.configure_file("web", "/var/tmp/web.cfg") == ("zonecfg", "-z", "web", "-f", "/var/tmp/web.cfg")
    assert c.script_path("web", "p42") == "/var/tmp/hvdeck-zonecfg-web-p42"
    assert c.configure_inline("web", ("create -b", "set zonepath=/zones/web")) == (
        "zonecfg", "-z", "web", "create -b; set zonepath=/zones/web")
    for bad in (lambda: c.configure_file("web", "web.cfg"), lambda: c.configure_file("web", "-"),
                lambda: c.script_path("web", "../x"), lambda: c.configure_inline("web", ()),
                lambda: c.configure_inline("web", ("create\nexit",))):
        with pytest.raises(ValidationError):
            bad()


def test_console_command_of_a_zone_and_of_the_global_zone():
    assert c.console_command(zone("web", "running")) == ("zlogin", "-C", "web")
    assert c.console_command(zone("global", "running", "/")) is None


# --- the zonecfg script generator --------------------------------------------------------------------------


def test_script_in_the_export_grammar_and_order():
    new = NewZone("web2", "/zones/web2", brand="ipkg", autoboot=True, ip_type="shared",
                  nets=(NewNet("e1000g0", "192.168.1.5/24", "192.168.1.1"),), memory_cap="4G", swap_cap="8g",
                  locked_cap="1g", capped_cpu="1.5", datasets=("tank/web2/data",))
    assert c.zonecfg_script(new) == (
        "create -b\n"
        "set zonepath=/zones/web2\n"
        "set brand=ipkg\n"
        "set autoboot=true\n"
        "set ip-type=shared\n"
        "add net\nset address=192.168.1.5/24\nset physical=e1000g0\nset defrouter=192.168.1.1\nend\n"
        "add capped-memory\nset physical=4G\nset swap=8g\nset locked=1g\nend\n"
        "add capped-cpu\nset ncpus=1.5\nend\n"
        "add dataset\nset name=tank/web2/data\nend\n"
    )


def test_script_exclusive_ip_anet_dedicated_cpu_and_create_forms():
    new = NewZone("kz", "/system/zones/kz", brand="solaris", autoboot=False, ip_type="exclusive",
                  nets=(NewNet(anet=True, linkname="net0", lower_link="auto"), NewNet("vnic1")),
                  dedicated_cpu="1-4", importance="10", blank=False)
    assert c.zonecfg_lines(new) == (
        "create", "set zonepath=/system/zones/kz", "set brand=solaris", "set autoboot=false",
        "set ip-type=exclusive", "add anet", "set linkname=net0", "set lower-link=auto", "end",
        "add net", "set physical=vnic1", "end", "add dedicated-cpu", "set ncpus=1-4", "set importance=10", "end")
    assert c.zonecfg_lines(NewZone("web2", "/zones/web2", template="web"))[0] == "create -t web"
    assert c.zonecfg_lines(NewZone("lx1", "/zones/lx1", template="SUNWlx"))[0] == "create -t SUNWlx"
    assert c.zonecfg_lines(NewZone("web", attach_path="/zones/web")) == ("create -a /zones/web",)


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "global"}, "reserved"),
    ({"zonepath": None}, "needs a zonepath"),
    ({"zonepath": "/zones/a b"}, "unquoted"),
    ({"brand": "ipkg;reboot"}, "brand"),
    ({"ip_type": "excl"}, "shared or exclusive"),
    ({"ip_type": "shared", "nets": (NewNet("e1000g0"),)}, "needs an address"),
    ({"ip_type": "exclusive", "nets": (NewNet("e1000g0", "10.0.0.2/24"),)}, "no address on its net"),
    ({"ip_type": "shared", "nets": (NewNet(anet=True, linkname="net0"),)}, "ip-type exclusive"),
    ({"nets": (NewNet(anet=True),)}, "linkname"),
    ({"nets": (NewNet(anet=True, linkname="net0", physical="x"),)}, "not physical"),
    ({"nets": (NewNet("e1000g0", linkname="net0"),)}, "belong to an anet"),
    ({"nets": (NewNet(None),)}, "physical"),
    ({"nets": (NewNet("-e1000g0"),)}, "physical"),
    ({"nets": (NewNet("e1000g0", "10.0.0.300"),)}, "address"),
    ({"nets": (NewNet("e1000g0", "10.0.0.3/33"),)}, "prefix"),
    ({"nets": (NewNet("e1000g0", "fe80::1"),)}, "IPv6"),
    ({"nets": (NewNet("e1000g0", "10.0.0.3/24", "10.0.0.1/24"),)}, "no /prefix"),
    ({"nets": (NewNet("e1000g0", "10.0.0.3/24\n"),)}, "control character"),
    ({"nets": (NewNet("e1000g0", 'host"x'),)}, "address"),
    ({"memory_cap": "4 G"}, "capped-memory physical"),
    ({"swap_cap": "0"}, "capped-memory swap"),
    ({"locked_cap": "1.5G"}, "capped-memory locked"),
    ({"capped_cpu": "0"}, "capped-cpu"),
    ({"capped_cpu": "."}, "capped-cpu"),
    ({"capped_cpu": "-1"}, "capped-cpu"),
    ({"capped_cpu": "1", "dedicated_cpu": "1"}, "exclude each other"),
    ({"dedicated_cpu": "4-2"}, "dedicated-cpu"),
    ({"dedicated_cpu": "0"}, "dedicated-cpu"),
    ({"importance": "10"}, "belongs to dedicated-cpu"),
    ({"dedicated_cpu": "2", "importance": "high"}, "importance"),
    ({"datasets": ("tank/a b",)}, "ZFS dataset"),
    ({"datasets": ("tank@snap",)}, "ZFS dataset"),
    ({"datasets": ("-tank",)}, "ZFS dataset"),
    ({"template": "web", "attach_path": "/zones/x"}, "not both"),
    ({"template": "web2"}, "its own template"),
    ({"template": "-b"}, "template"),
])
def test_script_refuses_what_zonecfg_would(fields, message):
    values = {"name": "web2", "zonepath": "/zones/web2", **fields}
    with pytest.raises(ValidationError, match=message):
        c.zonecfg_lines(NewZone(**values))


def test_a_host_name_address_is_accepted():
    lines = c.zonecfg_lines(NewZone("w", "/zones/w", nets=(NewNet("e1000g0", "w.example.com", "gw.example.com"),)))
    assert "set address=w.example.com" in lines and "set defrouter=gw.example.com" in lines


def test_ipv6_needs_its_prefix_length():
    lines = c.zonecfg_lines(NewZone("w", "/zones/w", nets=(NewNet("e1000g0", "2001:db8::5/64"),)))
    assert "set address=2001:db8::5/64" in lines


# --- lifecycle plans --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "native", "reason"), [
    (Action.START, "installed", None),
    (Action.START, "ready", None),
    (Action.START, "running", "already running"),
    (Action.START, "configured", "configured but not installed"),
    (Action.START, "incomplete", "uninstall it first"),
    (Action.START, "mounted", "web is mounted"),
    (Action.SHUTDOWN, "running", None),
    (Action.SHUTDOWN, "installed", "web is installed"),
    (Action.REBOOT, "running", None),
    (Action.REBOOT, "ready", "web is ready"),
    (Action.FORCE_OFF, "running", None),
    (Action.FORCE_OFF, "ready", None),
    (Action.FORCE_OFF, "shutting_down", None),
    (Action.FORCE_OFF, "down", None),
    (Action.FORCE_OFF, "installed", "web is installed"),
    (Action.PAUSE, "running", "zones cannot pause"),
    (Action.UNPAUSE, "running", "zones cannot unpause"),
])
def test_why_not_follows_zoneadm_states(action, native, reason):
    result = c.why_not(action, zone("web", native))
    if reason is None:
        assert result is None
    else:
        assert reason in result


@pytest.mark.parametrize("action", list(Action))
def test_the_global_zone_has_no_lifecycle(action):
    assert c.why_not(action, zone("global", "running", "/")) == "the global zone is the host itself"


def test_boot_plan():
    plan = c.lifecycle_plan(Action.START, zone("web", "installed"))
    assert (plan.title, plan.host, plan.action, plan.target) == ("Boot web on gz", "gz", "start", "web")
    assert argv(plan) == [("zoneadm", "-z", "web", "boot")]
    assert undo(plan) == [("zoneadm", "-z", "web", "shutdown")]
    assert plan.confirm_phrase is None and plan.warning == ""


def test_shutdown_plan():
    plan = c.lifecycle_plan(Action.SHUTDOWN, zone("web", "running"))
    assert argv(plan) == [("zoneadm", "-z", "web", "shutdown")]
    assert undo(plan) == [("zoneadm", "-z", "web", "boot")]
    assert plan.confirm_phrase is None


def test_reboot_plan_warns_it_is_a_halt_and_a_boot():
    plan = c.lifecycle_plan(Action.REBOOT, zone("web", "running"))
    assert argv(plan) == [("zoneadm", "-z", "web", "reboot")]
    assert "without running its shutdown scripts" in plan.warning


def test_halt_plan_needs_the_zone_name_typed():
    plan = c.lifecycle_plan(Action.FORCE_OFF, zone("web", "running"))
    assert plan.title == "Halt web on gz"
    assert argv(plan) == [("zoneadm", "-z", "web", "halt")]
    assert plan.confirm_phrase == "web"
    assert "Type the zone name" in plan.warning


def test_lifecycle_plan_refuses_what_why_not_refuses():
    with pytest.raises(Unsupported, match="configured but not installed"):
        c.lifecycle_plan(Action.START, zone("web", "configured"))
    with pytest.raises(Unsupported):
        c.lifecycle_plan(Action.FORCE_OFF, zone("global", "running", "/"))


@pytest.mark.parametrize("name", HOSTILE)
def test_lifecycle_plan_validates_the_name_from_the_host(name):
    with pytest.raises(ValidationError):
        c.lifecycle_plan(Action.START, zone(name, "installed"))


# --- zone-specific actions --------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "native", "reason"), [
    (c.READY, "installed", None),
    (c.READY, "running", "web is running"),
    (c.INSTALL, "configured", None),
    (c.INSTALL, "installed", "web is installed"),
    (c.UNINSTALL, "installed", None),
    (c.UNINSTALL, "incomplete", None),
    (c.UNINSTALL, "running", "shut it down first"),
    (c.DELETE, "configured", None),
    (c.DELETE, "installed", "uninstall it before deleting"),
    (c.DETACH, "installed", None),
    (c.DETACH, "running", "zoneadm detach needs the zone halted"),
    (c.ATTACH, "configured", None),
    (c.ATTACH, "installed", "web is installed"),
    (c.MOVE, "installed", None),
    (c.MOVE, "running", "zoneadm move needs the zone halted"),
    (c.CLONE, "installed", None),
    (c.CLONE, "running", "zoneadm clone needs the source zone halted"),
    (c.CLONE, "configured", "configured but not installed"),
])
def test_why_not_extra(action, native, reason):
    result = c.why_not_extra(action, zone("web", native))
    if reason is None:
        assert result is None
    else:
        assert reason in result


@pytest.mark.parametrize("action", c.EXTRA_ACTIONS)
def test_no_extra_action_for_the_global_zone(action):
    assert c.why_not_extra(action, zone("global", "running", "/")) == "the global zone is the host itself"


def test_ready_install_detach_attach_plans():
    assert argv(c.extra_plan(c.READY, zone("web"), {})) == [("zoneadm", "-z", "web", "ready")]
    assert undo(c.extra_plan(c.READY, zone("web"), {})) == [("zoneadm", "-z", "web", "halt")]
    install = c.extra_plan(c.INSTALL, zone("web", "configured"), {})
    assert argv(install) == [("zoneadm", "-z", "web", "install")]
    assert undo(install) == [("zoneadm", "-z", "web", "uninstall", "-F")]
    detach = c.extra_plan(c.DETACH, zone("web"), {})
    assert (argv(detach), undo(detach)) == ([("zoneadm", "-z", "web", "detach")], [("zoneadm", "-z", "web", "attach")])
    attach = c.extra_plan(c.ATTACH, zone("web", "configured"), {})
    assert (argv(attach), undo(attach)) == ([("zoneadm", "-z", "web", "attach", "-u")],
                                            [("zoneadm", "-z", "web", "detach")])


def test_uninstall_and_delete_need_the_name_typed():
    plan = c.extra_plan(c.UNINSTALL, zone("web"), {})
    assert argv(plan) == [("zoneadm", "-z", "web", "uninstall", "-F")]
    assert plan.confirm_phrase == "web" and "/zones/web" in plan.warning
    plan = c.extra_plan(c.DELETE, zone("web", "configured"), {})
    assert argv(plan) == [("zonecfg", "-z", "web", "delete", "-F")]
    assert plan.confirm_phrase == "web"


def test_move_plan_undoes_to_the_old_zonepath():
    plan = c.extra_plan(c.MOVE, zone("web"), {"zonepath": "/zones2/web"})
    assert argv(plan) == [("zoneadm", "-z", "web", "move", "/zones2/web")]
    assert undo(plan) == [("zoneadm", "-z", "web", "move", "/zones/web")]
    for bad in ("", "relative", "/zones/web/", "/a b", "-h"):
        with pytest.raises(ValidationError):
            c.extra_plan(c.MOVE, zone("web"), {"zonepath": bad})


def test_extra_plan_refuses_what_why_not_extra_refuses():
    with pytest.raises(Unsupported, match="uninstall it before deleting"):
        c.extra_plan(c.DELETE, zone("web", "installed"), {})


# --- several-step plans ----------------------------------------------------------------------------------


def test_create_plan_configures_installs_and_boots_each_with_its_undo():
    new = NewZone("web2", "/zones/web2", brand="ipkg", ip_type="shared",
                  nets=(NewNet("e1000g0", "192.168.1.5/24"),), memory_cap="2G")
    plan = c.create_plan("gz", new)
    assert argv(plan) == [("zonecfg", "-z", "web2", "-f", "-"), ("zoneadm", "-z", "web2", "install"),
                          ("zoneadm", "-z", "web2", "boot")]
    assert undo(plan) == [("zonecfg", "-z", "web2", "delete", "-F"), ("zoneadm", "-z", "web2", "uninstall", "-F"),
                          ("zoneadm", "-z", "web2", "halt")]
    assert (plan.title, plan.action, plan.target) == ("Create zone web2 on gz", "create", "web2")
    # the script goes to zonecfg's standard input, one command a line, and is shown in the plan
    assert plan.steps[0].input == c.zonecfg_script(new)
    assert [s.input for s in plan.steps[1:]] == [None, None]
    assert shlex.split(plan.steps[0].operation.display()) == list(plan.steps[0].operation.argv)
    # installing lays down packages: far longer than a lifecycle step may take
    assert plan.steps[1].timeout == c.INSTALL_TIMEOUT > plan.steps[2].timeout


def test_create_plan_with_a_value_holding_a_semicolon_keeps_it_quoted():
    new = NewZone("w", "/zones/w", nets=(NewNet("e1000g0", "10.0.0.2/24"),))
    (line,) = c.configure_inline("w", ("add attr", 'set value="a;b"', "end"))[3:]
    assert line == 'add attr; set value="a;b"; end'
    assert c.create_plan("gz", new, install_zone=False, boot_zone=False).steps[0].operation.argv[0] == "zonecfg"


def test_p2v_plan_installs_from_an_archive():
    new = NewZone("old1", "/zones/old1", brand="solaris10")
    plan = c.create_plan("gz", new, archive="/net/images/old1.flar", identity="preserve", boot_zone=False)
    assert argv(plan)[1:] == [("zoneadm", "-z", "old1", "install", "-a", "/net/images/old1.flar", "-p")]
    assert "keeps the physical system's identity" in plan.warning


def test_create_plan_refuses_boot_without_install_and_attach_paths():
    with pytest.raises(ValidationError):
        c.create_plan("gz", NewZone("w", "/zones/w"), install_zone=False, boot_zone=True)
    with pytest.raises(ValidationError):
        c.create_plan("gz", NewZone("w", attach_path="/zones/w"))


def test_clone_plan_needs_a_halted_source_and_says_so():
    plan = c.clone_plan("gz", zone("web"), "web2", "/zones/web2", snapshot="SUNWzone1", boot_zone=True)
    assert argv(plan) == [
        ("zonecfg", "-z", "web2", "-f", "-"),
        ("zoneadm", "-z", "web2", "clone", "-s", "SUNWzone1", "web"),
        ("zoneadm", "-z", "web2", "boot"),
    ]
    assert plan.steps[0].input == "create -t web\nset zonepath=/zones/web2\n"
    assert undo(plan) == [("zonecfg", "-z", "web2", "delete", "-F"), ("zoneadm", "-z", "web2", "uninstall", "-F"),
                          ("zoneadm", "-z", "web2", "halt")]
    assert "needs web halted" in plan.warning
    assert (plan.action, plan.target) == ("clone", "web2")
    with pytest.raises(ValidationError, match="needs the source halted"):
        c.clone_plan("gz", zone("web", "running"), "web2", "/zones/web2")
    with pytest.raises(ValidationError, match="overlaps"):
        c.clone_plan("gz", zone("web"), "web2", "/zones/web/web2")
    with pytest.raises(ValidationError):
        c.clone_plan("gz", zone("web"), "web", "/zones/web2")


def test_clone_as_an_extra_action():
    plan = c.extra_plan(c.CLONE, zone("web"), {"name": "web2", "zonepath": "/zones/web2", "snapshot": ""})
    assert argv(plan)[1] == ("zoneadm", "-z", "web2", "clone", "web")
    with pytest.raises(ValidationError):
        c.extra_plan(c.CLONE, zone("web"), {"name": "[bold]x", "zonepath": "/zones/x"})


def test_detach_plan_shuts_a_running_zone_down_first():
    plan = c.detach_plan(zone("web", "running"))
    assert argv(plan) == [("zoneadm", "-z", "web", "shutdown"), ("zoneadm", "-z", "web", "detach")]
    assert undo(plan) == [("zoneadm", "-z", "web", "boot"), ("zoneadm", "-z", "web", "attach")]
    assert argv(c.detach_plan(zone("web"))) == [("zoneadm", "-z", "web", "detach")]
    with pytest.raises(ValidationError):
        c.detach_plan(zone("web", "configured"))


def test_attach_plan_configures_from_the_detached_zonepath():
    plan = c.attach_plan("gz2", "web", "/zones/web")
    assert argv(plan) == [("zonecfg", "-z", "web", "-f", "-"),
                          ("zoneadm", "-z", "web", "attach", "-u"), ("zoneadm", "-z", "web", "boot")]
    assert plan.steps[0].input == "create -a /zones/web\n"
    assert undo(plan) == [("zonecfg", "-z", "web", "delete", "-F"), ("zoneadm", "-z", "web", "detach"),
                          ("zoneadm", "-z", "web", "halt")]
    assert "cannot be undone" in plan.warning
    plan = c.attach_plan("gz2", "web", "/zones/web", update="U", boot_zone=False)
    assert argv(plan)[1:] == [("zoneadm", "-z", "web", "attach", "-U")]
    plan = c.attach_plan("gz2", "web", "/zones/web", update=None, backout=("119254-92",))
    assert argv(plan)[1] == ("zoneadm", "-z", "web", "attach", "-b", "119254-92")
    assert plan.warning == ""


def test_every_plan_argv_is_a_tuple_of_str_and_no_argument_reads_as_an_option():
    plans = [c.create_plan("gz", NewZone("web2", "/zones/web2")),
             c.clone_plan("gz", zone("web"), "web2", "/zones/web2"),
             c.attach_plan("gz", "web", "/zones/web"), c.detach_plan(zone("web", "running")),
             *(c.lifecycle_plan(a, zone("web", "running")) for a in (Action.SHUTDOWN, Action.REBOOT, Action.FORCE_OFF))]
    for plan in plans:
        for step in plan.steps:
            assert isinstance(step.operation.argv, tuple) and all(isinstance(a, str) for a in step.operation.argv)
            zone_arg = step.operation.argv[step.operation.argv.index("-z") + 1]
            assert not zone_arg.startswith("-")


# --- networks with global-nic and allowed-address ----------------------------------------------------------


def test_an_omnios_exclusive_net_made_on_a_global_nic():
    lines = c.zonecfg_lines(NewZone("w", "/zones/w", ip_type="exclusive", nets=(
        NewNet("w0", global_nic="igb0", allowed_address="10.0.1.5/24", defrouter="10.0.1.1"),)))
    # zones.md §4, the OmniOS sample's properties, in the order illumos export prints them
    assert lines[-6:] == ("add net", "set allowed-address=10.0.1.5/24", "set physical=w0", "set defrouter=10.0.1.1",
                          "set global-nic=igb0", "end")
    with pytest.raises(ValidationError, match="exclusive-IP"):
        c.zonecfg_lines(NewZone("w", "/zones/w", ip_type="shared", nets=(NewNet("w0", "10.0.0.2/24",
                                                                                global_nic="igb0"),)))
    with pytest.raises(ValidationError, match="defrouter only with an allowed-address"):
        c.zonecfg_lines(NewZone("w", "/zones/w", ip_type="exclusive", nets=(NewNet("w0", defrouter="10.0.0.1"),)))
    anet = c.zonecfg_lines(NewZone("w", "/zones/w", ip_type="exclusive", nets=(
        NewNet(anet=True, linkname="net0", lower_link="net1", allowed_address="10.0.2.5/24", defrouter="10.0.2.1"),)))
    assert anet[-6:] == ("add anet", "set linkname=net0", "set lower-link=net1", "set allowed-address=10.0.2.5/24",
                         "set defrouter=10.0.2.1", "end")


# --- brands ---------------------------------------------------------------------------------------------------


def test_brands_a_host_offers_and_refuses():
    zones = [Domain("gz", "z1", parse.zone_state("installed"), "installed", extra=(("brand", "bhyve"),)),
             Domain("gz", "z2", parse.zone_state("installed"), "installed", extra=(("brand", "custom1"),)),
             Domain("gz", "global", parse.zone_state("running"), "running", extra=(("brand", "liveimg"),))]
    assert c.host_brands(parse.Layout.ILLUMOS, zones)[-1] == "custom1" and "liveimg" not in c.host_brands(
        parse.Layout.ILLUMOS, zones)
    assert c.brand_refused("solaris", parse.Layout.ILLUMOS, zones, "omni") == \
        "omni is a illumos global zone: the solaris brand is Oracle Solaris 11's"
    assert c.brand_refused("solaris10", parse.Layout.SOLARIS11, [], "sol") is None
    assert c.brand_refused("custom1", parse.Layout.ILLUMOS, zones, "omni") is None
    assert c.brand_refused("unheard-of", parse.Layout.SOLARIS11, [], "sol") is None, "nothing says it is missing"


# --- p2v received with zfs send, clone of a running zone, moves between hosts ------------------------------


def test_create_plan_receives_a_snapshot_then_installs_from_the_zonepath():
    receive = c.Receive("old-host", "rpool/p2v/mail@now", "rpool/zones/mail")
    plan = c.create_plan("gz", NewZone("mail", "/zones/mail", brand="solaris10"), receive=receive, identity="unconfigure",
                         boot_zone=False)
    transfer = plan.steps[1].operation.transfer
    assert (transfer.source_host, transfer.source_argv, transfer.dest_host, transfer.dest_argv) == (
        "old-host", ("zfs", "send", "rpool/p2v/mail@now"), "gz", ("zfs", "recv", "rpool/zones/mail"))
    assert plan.steps[1].undo.argv == ("zfs", "destroy", "-r", "rpool/zones/mail")
    assert plan.steps[1].timeout is None and plan.hosts == ("gz", "old-host")
    assert argv(plan)[2] == ("zoneadm", "-z", "mail", "install", "-d", "-", "-u")
    with pytest.raises(ValidationError):
        c.create_plan("gz", NewZone("mail", "/zones/mail"), receive=receive, archive="/a.flar")
    with pytest.raises(ValidationError):
        c.create_plan("gz", NewZone("mail", "/zones/mail"), receive=c.Receive("h", "rpool/x", "rpool/zones/m"))


def test_clone_of_a_running_source_stops_it_and_boots_it_again():
    plan = c.clone_plan("gz", zone("web", "running"), "web2", "/zones/web2", stop_source="shutdown", boot_zone=True)
    assert argv(plan) == [("zoneadm", "-z", "web", "shutdown"), ("zonecfg", "-z", "web2", "-f", "-"),
                          ("zoneadm", "-z", "web2", "clone", "web"), ("zoneadm", "-z", "web", "boot"),
                          ("zoneadm", "-z", "web2", "boot")]
    assert undo(plan)[0] == ("zoneadm", "-z", "web", "boot")
    assert plan.steps[2].timeout == c.CLONE_TIMEOUT
    assert argv(c.clone_plan("gz", zone("web", "running"), "web2", "/zones/web2", stop_source="halt"))[0] == (
        "zoneadm", "-z", "web", "halt")
    with pytest.raises(ValidationError, match="shutdown or halt"):
        c.clone_plan("gz", zone("web", "running"), "web2", "/zones/web2", stop_source="kill")


def _move(**kw):
    fields = dict(target="gz2", zonepath="/zones/web", source_dataset="rpool/zones/web",
                  target_dataset="tank/zones/web", snapshot_tag="hvdeck-move-1")
    fields.update(kw)
    return c.Move(**fields)


def test_move_plan_between_hosts_and_its_undo():
    plan = c.move_plan(zone("web", "running"), _move())
    assert [(s.on(plan.host), s.operation.display()) for s in plan.steps] == [
        ("gz", "zoneadm -z web shutdown"), ("gz", "zoneadm -z web detach"),
        ("gz", "zfs snapshot rpool/zones/web@hvdeck-move-1"),
        ("gz2", "zfs send rpool/zones/web@hvdeck-move-1  (on gz)  ⇒  zfs recv tank/zones/web  (on gz2)"),
        ("gz2", "zonecfg -z web -f -"), ("gz2", "zoneadm -z web attach -u"), ("gz2", "zoneadm -z web boot"),
        ("gz", "zonecfg -z web delete -F")]
    # undone newest first, a failed move leaves the zone attached again, halted, on its source
    assert [(s.on(plan.host), s.undo.argv if s.undo else None) for s in plan.steps][:6] == [
        ("gz", None), ("gz", ("zoneadm", "-z", "web", "attach")),
        ("gz", ("zfs", "destroy", "rpool/zones/web@hvdeck-move-1")), ("gz2", ("zfs", "destroy", "-r", "tank/zones/web")),
        ("gz2", ("zonecfg", "-z", "web", "delete", "-F")), ("gz2", ("zoneadm", "-z", "web", "detach"))]
    assert plan.steps[4].input == "create -a /zones/web\n"
    assert (plan.action, plan.target, plan.hosts, plan.confirm_phrase) == ("migrate", "web", ("gz", "gz2"), None)
    assert plan.steps[5].timeout == c.ATTACH_TIMEOUT and plan.steps[3].timeout is None
    assert "attaches it again on gz, halted" in plan.warning


def test_move_plan_options():
    shared = c.move_plan(zone("web"), _move(storage="shared", source_dataset=None, target_dataset=None, update="U",
                                            boot=False, source_after="keep"))
    assert argv(shared) == [("zoneadm", "-z", "web", "detach"), ("zonecfg", "-z", "web", "-f", "-"),
                            ("zoneadm", "-z", "web", "attach", "-U")]
    destroy = c.move_plan(zone("web", "running"), _move(stop="halt", update=None, backout=("119254-92",),
                                                        source_after="destroy"))
    assert argv(destroy)[0] == ("zoneadm", "-z", "web", "halt")
    assert argv(destroy)[5] == ("zoneadm", "-z", "web", "attach", "-b", "119254-92")
    assert argv(destroy)[-1] == ("zfs", "destroy", "-r", "rpool/zones/web") and destroy.confirm_phrase == "web"
    for kw, message in (({"target": "gz"}, "already on gz"), ({"storage": "nfs"}, "storage"),
                        ({"storage": "shared", "zonepath": "/other/web"}, "stays /zones/web"),
                        ({"snapshot_tag": "a b"}, "snapshot name"), ({"source_dataset": None}, "filesystems"),
                        ({"stop": "kill"}, "shutdown or halt"), ({"source_after": "shred"}, "keep, delete or destroy"),
                        ({"zonepath": "relative"}, "absolute")):
        with pytest.raises(ValidationError, match=message):
            c.move_plan(zone("web"), _move(**kw))
    with pytest.raises(ValidationError, match="configured"):
        c.move_plan(zone("web", "configured"), _move())


def test_checks_read_the_hosts_answer():
    from hvdeck.backends.transport.base import Result

    free = c.check_zone_free("gz2", "web", "/zones/web")
    listing = "0:global:running:/::ipkg:shared:0\n-:db:installed:/zones/web/db:x:ipkg:excl:1\n"
    assert free.parser(Result(c.LIST, 0, listing, "")) == "zonepath /zones/web overlaps db's zonepath /zones/web/db"
    assert free.parser(Result(c.LIST, 0, listing.replace(":db:", ":web:"), "")) == \
        "a zone named web is already configured on gz2"
    assert free.parser(Result(c.LIST, 0, "0:global:running:/::ipkg:shared:0\n", "")) is None
    assert free.parser(Result(c.LIST, 0, "garbage\n", "")).startswith("zoneadm list -cp: ")
    room = c.check_filesystem("gz2", "tank/zones", "tank/zones/web", need=2 << 30)
    zfs = "tank/zones\t1073741824\t100\t/zones\n"
    assert room.parser(Result(c.ZFS_FILESYSTEMS, 0, zfs, "")) == \
        "tank/zones on gz2 has 1.0G free; 2.0G are needed"
    assert room.parser(Result(c.ZFS_FILESYSTEMS, 0, zfs.replace("1073741824", str(4 << 30)), "")) is None
    assert room.parser(Result(c.ZFS_FILESYSTEMS, 0, zfs + "tank/zones/web\t1\t1\t/zones/web\n", "")) == \
        "tank/zones/web already exists on gz2"
    assert room.parser(Result(c.ZFS_FILESYSTEMS, 0, "", "")) == "gz2 has no ZFS filesystem tank/zones"
    assert c.decided("x", "no").passed is False and c.decided("x", None).passed is True
