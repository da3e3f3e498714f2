"""The simulated hosts' shell: splitting like sh, `;` and `&&`, assignments, dash's error messages."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

import pytest

from hvdeck.backends.sim.shell import (
    NOT_FOUND_STATUS,
    SYNTAX_ERROR_STATUS,
    Command,
    CommandNotFound,
    Op,
    ShellSyntaxError,
    run_line,
    split_commands,
)
from hvdeck.backends.sim.sshserver import Reply


def argvs(script: str) -> list[tuple[str, ...]]:
    return [command.argv for command in split_commands(script)]


# -- splitting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("script", [
    "ldm list -p",
    "ldm set-var 'nvramrc=devalias vnet0 /virtual-devices@100/channel-devices@200/network@0' ldg1",
    "ldm add-vdsdev \"/dev/zvol/dsk/ldompool/my disk\" vol@primary-vds0",
    r"echo a\ b c\\d 'e\'",
    "echo \"a\\\"b\\\\c\\d\" ''",
    "  leading and   trailing  ",
    "echo 'it''s'",
])
def test_words_split_as_shlex_does(script):
    assert argvs(script) == [tuple(shlex.split(script))]


@pytest.mark.parametrize("argv", [
    ["ldm", "list", "-p"],
    ["ldm", "set-var", "nvramrc=a; b && c", "ldg 1"],
    ["printf", "%s\n", "it's", 'say "hi"', "back\\slash", "", "tab\there", "#not-a-comment", "a|b", "x>y", "$HOME"],
])
def test_whatever_shlex_join_produces_comes_back_as_the_same_argv(argv):
    assert argvs(shlex.join(argv)) == [tuple(argv)]


def test_semicolons_and_newlines_separate_commands():
    assert split_commands("ldm list -p; ldm -V\nzfs list") == [
        Command(("ldm", "list", "-p"), Op.SEQ, 1),
        Command(("ldm", "-V"), Op.SEQ, 1),
        Command(("zfs", "list"), Op.SEQ, 2),
    ]


def test_and_is_returned_as_the_operator_before_the_command():
    assert split_commands("a && b; c") == [Command(("a",)), Command(("b",), Op.AND), Command(("c",), Op.SEQ)]


def test_a_newline_may_follow_and():
    assert split_commands("a &&\n\n  b") == [Command(("a",)), Command(("b",), Op.AND, 3)]


def test_quoted_operators_are_arguments():
    assert argvs("echo ';' \"&&\" a\\;b 'x\ny'") == [("echo", ";", "&&", "a;b", "x\ny")]


def test_operators_need_no_blanks_around_them():
    assert argvs("a;b&&c") == [("a",), ("b",), ("c",)]


def test_blank_lines_trailing_semicolon_and_comments_are_ignored():
    assert argvs("\n\n  a ;\n# a comment; b\nc # trailing\n") == [("a",), ("c",)]


def test_hash_inside_a_word_is_not_a_comment():
    assert argvs("echo a#b") == [("echo", "a#b")]


def test_backslash_newline_joins_lines():
    assert split_commands("ldm list \\\n  -p\nzfs list") == [Command(("ldm", "list", "-p")),
                                                               Command(("zfs", "list"), Op.SEQ, 3)]


def test_a_trailing_backslash_is_kept_as_dash_does():
    assert argvs("echo a\\") == [("echo", "a\\")]


def test_empty_input_has_no_commands():
    assert split_commands("") == []
    assert split_commands("   \n\t\n") == []


def test_leading_assignments_are_dropped():
    assert argvs("LANG=C LC_ALL=C ldm list -p") == [("ldm", "list", "-p")]
    assert argvs("LANG='C' ldm ls") == [("ldm", "ls")]


def test_only_leading_unquoted_assignments_are_assignments():
    assert argvs("ldm set-var auto-boot?=true ldg1") == [("ldm", "set-var", "auto-boot?=true", "ldg1")]
    assert argvs("'LANG=C' ldm") == [("LANG=C", "ldm")]
    assert argvs("LANG\\=C ldm") == [("LANG=C", "ldm")]
    assert argvs("1X=2 ldm") == [("1X=2", "ldm")]


def test_a_command_of_assignments_only_has_an_empty_argv():
    assert split_commands("FOO=bar") == [Command(())]


# -- syntax errors (dash 0.5 wording) -------------------------------------------------------------


@pytest.mark.parametrize(("script", "message", "line"), [
    ("echo 'abc", "Unterminated quoted string", 1),
    ('echo "abc', "Unterminated quoted string", 1),
    ("true\necho 'a\nb", "Unterminated quoted string", 2),
    ("&& ls", '"&&" unexpected', 1),
    ("ls; ; ls", '";" unexpected', 1),
    (";", '";" unexpected', 1),
    ("ls\n;", '";" unexpected', 2),
    ("ls;; ls", '";;" unexpected', 1),
    ("ls &&", "end of file unexpected", 1),
    ("ls && ; ls", '";" unexpected', 1),
])
def test_syntax_errors_use_dash_wording(script, message, line):
    with pytest.raises(ShellSyntaxError) as caught:
        split_commands(script)
    assert str(caught.value) == message
    assert caught.value.line == line
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("script", "symbol"), [
    ("ldm ls | grep x", "|"), ("ldm ls || true", "||"), ("ldm ls > /tmp/x", ">"), ("cat < x", "<"),
    ("sleep 1 &", "&"), ("(ldm ls)", "("), ("echo $HOME", "$"), ('echo "$HOME"', "$"), ("echo `id`", "`"),
])
def test_unsupported_syntax_is_refused_not_passed_through(script, symbol):
    with pytest.raises(ShellSyntaxError, match=re.escape(f'"{symbol}"')):
        split_commands(script)


# -- running --------------------------------------------------------------------------------------


class Recorder:
    """A run_one callback: `ok` prints its arguments, `fail N` exits N, anything else is not found."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> Reply:
        self.ran.append(tuple(argv))
        if argv[0] == "ok":
            return Reply(" ".join(argv[1:]) + "\n")
        if argv[0] == "fail":
            return Reply("", f"failed {argv[1]}\n", int(argv[1]))
        raise CommandNotFound(argv[0])


def test_semicolon_runs_everything_and_reports_the_last_status():
    run_one = Recorder()
    assert run_line("ok a; fail 3; ok b", run_one) == Reply("a\nb\n", "failed 3\n", 0)
    assert run_line("ok a; fail 3", run_one) == Reply("a\n", "failed 3\n", 3)


def test_and_skips_after_a_failure_and_the_status_stays():
    run_one = Recorder()
    assert run_line("fail 4 && ok never && ok never", run_one) == Reply("", "failed 4\n", 4)
    assert run_one.ran == [("fail", "4")]


def test_and_binds_tighter_than_semicolon():
    run_one = Recorder()
    assert run_line("fail 1 && ok skipped; ok runs", run_one) == Reply("runs\n", "failed 1\n", 0)
    assert run_line("ok a && ok b; fail 2 && ok c", run_one) == Reply("a\nb\n", "failed 2\n", 2)


def test_quoted_arguments_reach_the_program_intact():
    run_one = Recorder()
    run_line(shlex.join(["ok", "a b", "c;d"]), run_one)
    assert run_one.ran == [("ok", "a b", "c;d")]


def test_empty_line_succeeds_silently():
    assert run_line("", Recorder()) == Reply("", "", 0)


def test_assignment_only_command_succeeds_without_running_anything():
    run_one = Recorder()
    assert run_line("fail 1; X=1", run_one) == Reply("", "failed 1\n", 0)
    assert run_one.ran == [("fail", "1")]


def test_unknown_program_is_not_found_with_its_line_number():
    reply = run_line("ok a\nnosuch --flag", Recorder())
    assert reply == Reply("a\n", "sh: 2: nosuch: not found\n", NOT_FOUND_STATUS)


def test_syntax_error_runs_nothing_and_exits_2():
    run_one = Recorder()
    reply = run_line("ok a; echo 'oops", run_one)
    assert reply == Reply("", "sh: 1: Syntax error: Unterminated quoted string\n", SYNTAX_ERROR_STATUS)
    assert run_one.ran == []


def test_environment_prefix_is_ignored_when_running():
    run_one = Recorder()
    assert run_line("LANG=C ok hi", run_one).stdout == "hi\n"
