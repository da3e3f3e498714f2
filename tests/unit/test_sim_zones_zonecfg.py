"""zonecfg's three ways in and its messages (illumos zonecfg.c: ``one_command_at_a_time``, ``cmd_file``
for ``-f FILE`` and ``-f -``, ``zerr`` line prefixes, ``cleanup``'s commit; zonecfg_lex.l tokens)."""

from __future__ import annotations

from hvdeck.backends.sim.sshserver import Reply
from hvdeck.backends.sim.zones import State, ZonesWorld
from hvdeck.backends.sim.zones.zonecfg_lex import Command, SyntaxError_, lex


def run(world: ZonesWorld, *argv: str, stdin: str | None = None) -> Reply:
    return world.run(list(argv), stdin=stdin)


def test_the_lexer_splits_commands_and_keeps_commas_in_simple_values():
    commands = lex('create -b; set limitpriv=default,dtrace_proc\n# comment\nadd value (priv=privileged,limit=5,'
                   'action=deny)\nset bootargs="-m verbose";add options [ro,nodevices]\nfoo bar')
    assert [c.name for c in commands if isinstance(c, Command)] == ["create", "set", "add", "set", "add"]
    values = [[t.text for t in c.tokens] for c in commands if isinstance(c, Command)]
    assert values[1] == ["limitpriv", "=", "default,dtrace_proc"]
    assert values[2] == ["value", "(", "priv", "=", "privileged", ",", "limit", "=", "5", ",", "action", "=", "deny",
                         ")"]
    assert values[3] == ["bootargs", "=", "-m verbose"]
    assert values[4] == ["options", "[", "ro", ",", "nodevices", "]"]
    assert isinstance(commands[-1], SyntaxError_) and commands[-1].token == "f"
    assert [c.line for c in commands if isinstance(c, Command)] == [1, 1, 3, 4, 4]
    trailing = lex("set autoboot=true # not a comment here")[0]
    assert [t.text for t in trailing.tokens] == ["autoboot", "=", "true", "#", "not", "a", "comment", "here"]


def test_inline_commands_are_one_line_and_do_not_stop_at_errors():
    world = ZonesWorld("omni", "illumos")
    reply = run(world, "zonecfg", "-z", "z1", "create -b; set zonepath=relative; set zonepath=/zones/z1; "
                                              "set autoboot=maybe; set bogus=1; add net; set physical=z1; "
                                              "set address=10.1.1.1/24; end")
    assert reply.stderr == ("relative is not an absolute path.\nautoboot value must be one of: true, false.\n"
                            "syntax error at 'bogus'\n")
    assert reply.exit_status == 1
    assert world.zones["z1"].config.get("zonepath") == "/zones/z1"  # what was valid is committed at the end


def test_file_mode_stops_at_the_first_error_and_names_the_file_and_line():
    """zonecfg.c ``read_input`` sets time_to_exit on an error in file mode; ``cleanup`` then still tries to
    commit, and ``verify_func`` refuses the open resource."""
    world = ZonesWorld("omni", "illumos")
    world.write_file("/tmp/z2.cfg", "create -b\nset zonepath=/zones/z2\nadd fs\nset dir=/data\nend\nset autoboot=true\n")
    reply = run(world, "zonecfg", "-z", "z2", "-f", "/tmp/z2.cfg")
    assert reply.stderr == ("On line 5 of /tmp/z2.cfg:\nspecial not specified\ntype not specified\n"
                            "resource specification incomplete\nZone z2 failed to verify\n"
                            "z2: Insufficient specification\nConfiguration not saved.\n")
    assert reply.exit_status == 1 and "z2" not in world.zones
    missing = run(world, "zonecfg", "-z", "z2", "-f", "/tmp/nope.cfg")
    assert missing == Reply("", "could not open file /tmp/nope.cfg: No such file or directory\n", 1)


def test_stdin_mode_goes_on_after_errors_and_prefixes_line_numbers():
    world = ZonesWorld("s11", "solaris11")
    script = "create -b\nset zonepath=/zones/z3\nset ip-type=bogus\nadd anet\nset linkname=net0\nend\ncommit\nexit\n"
    reply = run(world, "zonecfg", "-z", "z3", "-f", "-", stdin=script)
    assert reply.stderr == "On line 3:\nip-type value must be one of: shared, exclusive.\n"
    assert reply.exit_status == 1
    assert world.run(["zonecfg", "-z", "z3", "export"]).stdout == (
        "create -b\nset brand=solaris\nset zonepath=/zones/z3\nset autoboot=false\nadd anet\nset linkname=net0\n"
        "set configure-allowed-address=true\nset link-protection=mac-nospoof\nend\n")


def test_zonecfg_with_no_commands_reads_standard_input_without_line_numbers():
    world = ZonesWorld("omni", "illumos")
    reply = run(world, "zonecfg", "-z", "z4", stdin="create -b\nset zonepath=/zones/z4\nset autoboot=no\n")
    assert reply == Reply("Use 'create' to begin configuring a new zone.\n",
                          "z4: No such zone configured\nautoboot value must be one of: true, false.\n", 1)
    assert world.zones["z4"].state is State.CONFIGURED
    assert run(world, "zonecfg", "-z", "z4", stdin="set autoboot=true\n") == Reply("", "", 0)


def test_names_configuration_of_unknown_zones_and_bad_names():
    world = ZonesWorld("omni", "illumos")
    assert run(world, "zonecfg", "-z", "nope", "export") == Reply("", "nope: No such zone configured\n", 1)
    assert run(world, "zonecfg", "-z", "nope", "-f", "-", stdin="set autoboot=true\n") == \
        Reply("Use 'create' to begin configuring a new zone.\n", "On line 1:\nnope: No such zone configured\n", 1)
    assert run(world, "zonecfg", "-z", "-bad", "create").exit_status == 2
    assert run(world, "zonecfg", "-z", "bad/name", "create") == Reply("", "bad/name: Bogus zone name\n", 2)
    assert run(world, "zonecfg", "-z", "SUNWfoo", "create") == \
        Reply("", "SUNWfoo: zones beginning with SUNW are read-only.\n", 1)


def test_create_over_an_existing_zone_needs_F_and_not_an_installed_zone():
    world = ZonesWorld.demo("omni-a", "illumos")
    assert run(world, "zonecfg", "-z", "build", "create") == \
        Reply("", "Zone build already installed; create not allowed.\n", 1)
    assert run(world, "zonecfg", "-z", "newapp", "create -b; set zonepath=/zones/other") == \
        Reply("", "Zone exists, input not from terminal and -F not specified:\ncreate command ignored, exiting.\n", 1)
    assert world.zones["newapp"].zonepath == "/zones/newapp"
    forced = run(world, "zonecfg", "-z", "newapp", "create -F -b; set zonepath=/zones/other")
    assert forced == Reply("Zone newapp already exists; overwriting.\n", "", 0)
    assert world.zones["newapp"].zonepath == "/zones/other"
    assert run(world, "zonecfg", "-z", "build", "set zonepath=/zones/elsewhere") == \
        Reply("", "Zone build already installed; set zonepath not allowed.\n", 1)


def test_resources_select_remove_and_duplicates():
    world = ZonesWorld("omni", "illumos")
    run(world, "zonecfg", "-z", "z5", "create -b; set zonepath=/zones/z5; set ip-type=exclusive; "
                                      "add net; set physical=a0; end; add net; set physical=b0; end")
    assert run(world, "zonecfg", "-z", "z5", "add dataset; set name=rpool/d; end; add dataset; set name=rpool/d; "
                                             "end").stderr == "A dataset resource with the name 'rpool/d' already exists.\n" \
                                                              "Resource incomplete.\n"
    assert run(world, "zonecfg", "-z", "z5", "remove net").stderr == (
        "There are multiple instances of this resource.  Either qualify the resource to remove a single instance or "
        "use the -F option to remove all instances.\n")
    assert run(world, "zonecfg", "-z", "z5", "select net physical=b0; set defrouter=10.0.0.1; end").exit_status == 0
    assert run(world, "zonecfg", "-z", "z5", "info net physical=b0").stdout == (
        "net:\n\taddress not specified\n\tallowed-address not specified\n\tphysical: b0\n\tdefrouter: 10.0.0.1\n")
    assert run(world, "zonecfg", "-z", "z5", "remove net physical=zz").stderr == "remove net: No such resource with " \
                                                                                  "that id\n"
    assert run(world, "zonecfg", "-z", "z5", "remove net physical=a0").exit_status == 0
    assert [r.props["physical"] for r in world.zones["z5"].config.of_type("net")] == ["b0"]
    assert run(world, "zonecfg", "-z", "z5", "end").stderr == "The end command only makes sense in the resource scope.\n"
    assert run(world, "zonecfg", "-z", "z5", "add dedicated-cpu; set ncpus=2; end").exit_status == 0
    assert run(world, "zonecfg", "-z", "z5", "add capped-cpu") == \
        Reply("", "The dedicated-cpu resource already exists.\n", 1)


def test_capped_cpu_and_memory_become_resource_controls():
    world = ZonesWorld("omni", "illumos")
    run(world, "zonecfg", "-z", "z6", "create -b; set zonepath=/zones/z6; add capped-cpu; set ncpus=1.5; end; "
                                      "add capped-memory; set physical=512K; end")
    bad = run(world, "zonecfg", "-z", "z6", "add capped-memory; set physical=512K; end")
    assert bad.stderr == "physical value is too small.  It must be at least 1M.\n"
    info = run(world, "zonecfg", "-z", "z6", "info").stdout
    assert "capped-cpu:\n\t[ncpus: 1.50]\n" in info
    assert "rctl:\n\tname: zone.cpu-cap\n\tvalue: (priv=privileged,limit=150,action=deny)\n" in info
    assert "add rctl\nset name=zone.cpu-cap\nadd value (priv=privileged,limit=150,action=deny)\nend\n" in \
        run(world, "zonecfg", "-z", "z6", "export").stdout


def test_delete_needs_F_and_a_configured_zone():
    world = ZonesWorld.demo("omni-a", "illumos")
    assert run(world, "zonecfg", "-z", "newapp", "delete") == \
        Reply("", "Input not from terminal and -F not specified:\ndelete command ignored, exiting.\n", 1)
    assert run(world, "zonecfg", "-z", "build", "delete", "-F") == \
        Reply("", "Zone build not in configured state; delete not allowed.\n", 1)
    assert run(world, "zonecfg", "-z", "newapp", "delete", "-F") == Reply("", "", 0)
    assert "newapp" not in world.zones
    # zonecfg.c delete_func checks the state first, before -F (and an incomplete zone is past configured)
    for zone in ("build", "broken"):
        assert run(world, "zonecfg", "-z", zone, "delete") == \
            Reply("", f"Zone {zone} not in configured state; delete not allowed.\n", 1)


def test_verify_at_commit_and_unknown_brands():
    world = ZonesWorld("omni", "illumos")
    missing = run(world, "zonecfg", "-z", "z7", "create -b")
    assert missing == Reply("", "zonepath not specified\nZone z7 failed to verify\nz7: Required resource missing\n"
                                "Configuration not saved.\n", 1)
    assert run(world, "zonecfg", "-z", "z7", "create -b; set zonepath=/zones/z7; set brand=solaris").stderr == \
        "solaris: unknown brand.\n"
