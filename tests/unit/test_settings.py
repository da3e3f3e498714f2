"""Settings: defaults without a file, README's full example, one-line errors naming file, line and key,
the view state written back without touching the rest of the file, and the app applying theme and keymap."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from textual.widgets import Input

from hvdeck.backends import inventory as inv
from hvdeck.backends import settings as st
from hvdeck.tui import cli
from tests.ui.helpers import SIZE, make_app

README = Path(__file__).resolve().parents[2] / "README.md"

VOCABULARY = st.Vocabulary(themes={"hvdeck-dark", "hvdeck-light", "nord", "gruvbox"},
                           binding_ids={"app.quit", "fleet.filter", "fleet.sort"},
                           columns=("host", "name", "state", "cpu"))


def readme_example() -> str:
    section = README.read_text().split("## Settings", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "settings.yaml"
    monkeypatch.setenv("HVDECK_CONFIG", str(path))
    return path


def test_a_missing_file_means_every_default(config: Path):
    settings = st.load()
    assert settings.model_dump() == st.Settings().model_dump() and settings.path == config
    assert (settings.theme, settings.keymap, settings.poll_interval, settings.output_limit_bytes) == (
        "hvdeck-dark", {}, 2.0, 16 * 1024 * 1024)
    assert (settings.console.detach_key, settings.console.log_dir) == ("ctrl+right_square_bracket", None)
    assert (settings.ssh.max_command_channels, settings.ssh.max_long_channels) == (6, 3)
    assert (settings.table.sort, settings.table.reverse, settings.table.group_by_host) == ("host", False, False)


def test_an_empty_or_comment_only_file_means_every_default(config: Path):
    config.write_text("# nothing yet\n")
    assert st.load().model_dump() == st.Settings().model_dump()


def test_default_path_follows_xdg_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("HVDECK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert st.default_path() == tmp_path / "cfg" / "hvdeck" / "settings.yaml"
    monkeypatch.setenv("HVDECK_CONFIG", str(tmp_path / "mine.yaml"))
    assert st.default_path() == tmp_path / "mine.yaml"


def test_readmes_full_example_is_valid_against_the_real_app(config: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(config.parent))
    config.write_text(readme_example())
    settings = cli.load_settings()
    assert settings.keymap == {"app.quit": "ctrl+q", "fleet.filter": "slash,f"}
    assert settings.console.log_dir == config.parent / "hvdeck-consoles"
    # every key the README shows is there, with the defaults
    assert settings.model_dump(exclude={"keymap", "console"}) == st.Settings().model_dump(exclude={"keymap", "console"})


def test_readme_lists_every_binding_id_of_the_app(config: Path):
    config.write_text("keymap:\n  app.nonsense: x\n")
    section = README.read_text().split("## Settings", 1)[1].split("## Commands", 1)[0]
    listed = set(re.findall(r"`([a-z-]+\.[a-z-]+)`", section.split("The binding ids are", 1)[1].split("\n\n")[0]))
    for binding_id in listed:
        config.write_text(f"keymap:\n  {binding_id}: f12\n")
        assert cli.load_settings().keymap == {binding_id: "f12"}
    config.write_text("keymap:\n  fleet.filtre: f\n")
    with pytest.raises(st.SettingsError, match=r"settings.yaml:2: 'keymap.fleet.filtre' is not a binding id "
                                               r"\(did you mean 'fleet.filter'\?\)"):
        cli.load_settings()


@pytest.mark.parametrize(("text", "line", "message"), [
    ("thme: nord\n", 1, "unknown key 'thme' at the top level (did you mean 'theme'?)"),
    ("theme: nrod\n", 1, "'theme' must be hvdeck-dark, hvdeck-light or one of Textual's themes, not 'nrod' "
                         "(did you mean 'nord'?)"),
    ("keymap:\n  app.quit: q\n  fleet.filtre: f\n", 3, "'keymap.fleet.filtre' is not a binding id "
                                                      "(did you mean 'fleet.filter'?)"),
    ("keymap:\n  app.quit: [ctrl+q, 'ctrl+ x']\n", 2, "'keymap.app.quit' must be a key as Textual names it "
                                                     "(ctrl+q, f1, question_mark, a), not 'ctrl+ x'"),
    ("keymap:\n  app.quit: 5\n", 2, "'keymap.app.quit' must be text, not 5"),
    ("keymap: [a]\n", 1, "'keymap' must be a mapping, not ['a']"),
    ("theme: nord\npoll_interval: 0.1\n", 2, "'poll_interval' must be a number of seconds between 0.2 and 3600, "
                                             "not 0.1"),
    ("poll_interval: yes\n", 1, "'poll_interval' must be a number of seconds between 0.2 and 3600, not True"),
    ("output_limit_mb: 0\n", 1, "'output_limit_mb' must be a number of MiB above 0, at most 1024, not 0"),
    ("console:\n  detach_key: ctrl+]]\n", 2, "'console.detach_key' must be a key as Textual names it"),
    ("console:\n  log_dir: logs/here\n", 2, "'console.log_dir' must be an absolute path or start with ~/, "
                                            "not 'logs/here'"),
    ("console:\n  logdir: /x\n", 2, "unknown key 'logdir' in 'console' (did you mean 'log_dir'?)"),
    ("console: 5\n", 1, "'console' must be a mapping, not 5"),
    ("ssh:\n  max_command_channels: '6'\n", 2, "'ssh.max_command_channels' must be a whole number from 1 to 64, "
                                               "not '6'"),
    ("ssh:\n  max_long_channels: 0\n", 2, "'ssh.max_long_channels' must be a whole number from 1 to 64, not 0"),
    ("ssh:\n  max_long_channels: true\n", 2, "'ssh.max_long_channels' must be a whole number from 1 to 64"),
    ("table:\n  sort: cpuu\n", 2, "'table.sort' must be a column of the table (host, name, state, cpu), "
                                  "not 'cpuu' (did you mean 'cpu'?)"),
    ("table:\n  reverse: 'yes'\n", 2, "'table.reverse' must be true or false, not 'yes'"),
    ("table:\n  group: true\n", 2, "unknown key 'group' in 'table' (did you mean 'group_by_host'?)"),
    ("x: 1\ny: 2\n", 1, "unknown key 'x' at the top level (known: console, engine, keymap, output_limit_mb, poll_interval, "
                        "ssh, table, theme) (and 1 more problem)"),
    ("- theme\n", 1, "the top level must be a mapping of settings (theme:, keymap:, …)"),
    ("theme: nord\ntheme: gruvbox\n", 2, "YAML error: duplicate key 'theme'"),
])
def test_a_broken_file_names_file_line_and_key(tmp_path: Path, text: str, line: int, message: str):
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    with pytest.raises(st.SettingsError) as caught:
        st.load(path, vocabulary=VOCABULARY)
    assert str(caught.value).startswith(f"{path}:{line}:"), str(caught.value)
    assert message in str(caught.value)


def test_errors_are_one_short_line_even_for_huge_values(tmp_path: Path):
    path = tmp_path / "settings.yaml"
    path.write_text("theme: " + "x" * 200_000 + "\n")
    with pytest.raises(st.SettingsError) as caught:
        st.load(path, vocabulary=VOCABULARY)
    assert len(str(caught.value)) < len(str(path)) + 320 and "(200000 characters)" in str(caught.value)


@pytest.mark.parametrize(("setup", "fragment"), [
    (lambda p: p.mkdir(), "cannot read: Is a directory"),
    (lambda p: p.write_bytes(b"theme: \xff\n"), "not UTF-8 text"),
    (lambda p: p.write_text("theme: x\n" * 40_000), "larger than 256 KiB"),
    (lambda p: p.write_text("keymap:\n  a: &a [" + "[" * 100 + "]" * 100 + "]\n"), "nested more than 32 levels"),
], ids=["directory", "binary", "large", "deep"])
def test_an_unreadable_file_is_an_error_not_the_defaults(tmp_path: Path, setup, fragment: str):
    path = tmp_path / "settings.yaml"
    setup(path)
    with pytest.raises(st.SettingsError, match=re.escape(fragment)):
        st.load(path)


def test_the_vocabulary_is_optional_but_forms_are_checked():
    assert st.parse("theme: anything\ntable: {sort: whatever}\n").theme == "anything"
    with pytest.raises(st.SettingsError, match="must be a column key"):
        st.parse("table: {sort: 'Not A Column'}\n")
    with pytest.raises(st.SettingsError, match="is not a binding id"):
        st.parse("keymap: {'Fleet Filter': f}\n")


# -- the CLI and the app ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["demo"]], ids=["console", "demo"])
def test_a_broken_settings_file_stops_hvdeck_with_one_line(config: Path, command: list[str],
                                                          capsys: pytest.CaptureFixture[str]):
    inventory = config.parent / "hosts.yaml"
    inventory.write_text("hosts:\n  - name: a\n")
    config.write_text("theme: hvdeck-dark\ntable:\n  sort: nmae\n")
    assert cli.main(command or ["--inventory", str(inventory)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err == f"hvdeck: {config}:3: 'table.sort' must be a column of the table (host, name, id, state, " \
                  "native, vcpus, memory, cpu, history, net, disk, console), not 'nmae' (did you mean 'name'?)\n"


def test_the_settings_poll_interval_is_the_default_and_the_inventory_wins(tmp_path: Path):
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n  - name: a\n  - name: b\n    poll_interval: 7\n")
    a, b = inv.load(path, poll_interval=30).hosts
    assert (a.poll_interval, b.poll_interval) == (30.0, 7.0)
    path.write_text("defaults:\n  poll_interval: 9\nhosts:\n  - name: a\n")
    assert inv.load(path, poll_interval=30).hosts[0].poll_interval == 9.0
    path.write_text("hosts:\n  - name: a\n")
    assert inv.load(path).hosts[0].poll_interval == inv.DEFAULT_POLL_INTERVAL == 2.0


async def test_the_app_applies_theme_and_keymap(tmp_path: Path):
    settings = st.Settings(theme="hvdeck-light", keymap={"fleet.filter": "f"})
    app = make_app(tmp_path, settings=settings, start_pollers=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.settings is settings and app.theme == "hvdeck-light"
        box = app.screen.query_one("#filter", Input)
        await pilot.press("slash")
        await pilot.pause()
        assert not box.has_focus  # the keymap replaced slash
        await pilot.press("f")
        await pilot.pause()
        assert box.has_focus


async def test_the_app_without_settings_uses_the_defaults_and_theme_argument_wins(tmp_path: Path):
    app = make_app(tmp_path, start_pollers=False)
    async with app.run_test(size=SIZE):
        assert app.settings == st.Settings() and app.theme == "hvdeck-dark"
    app = make_app(tmp_path, settings=st.Settings(theme="nord"), theme="hvdeck-light", start_pollers=False)
    async with app.run_test(size=SIZE):
        assert app.theme == "hvdeck-light"


# -- the remembered view state ---------------------------------------------------------------------


USER_FILE = """\
# hvdeck settings, kept in git
theme: nord   # easier on the eyes

keymap:
  app.quit: ctrl+q      # not q: too close to the lifecycle keys
table:
    sort: 'name'        # by name
    group_by_host: true
# end of table
ssh: {max_long_channels: 2}
"""


def test_view_state_rewrites_only_its_values_and_keeps_every_other_byte(tmp_path: Path):
    path = tmp_path / "settings.yaml"
    path.write_text(USER_FILE)
    os.chmod(path, 0o640)
    st.save_view_state(path, "cpu", True, False)
    assert path.read_text() == USER_FILE.replace(
        "    sort: 'name'        # by name\n    group_by_host: true\n",
        "    sort: cpu        # by name\n    group_by_host: false\n    reverse: true\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    table = st.load(path).table
    assert (table.sort, table.reverse, table.group_by_host) == ("cpu", True, False)
    before = path.read_text()
    st.save_view_state(path, "cpu", True, False)
    assert path.read_text() == before  # idempotent


@pytest.mark.parametrize(("text", "expected"), [
    (None, "table:\n  sort: state\n  reverse: false\n  group_by_host: true\n"),
    ("", "table:\n  sort: state\n  reverse: false\n  group_by_host: true\n"),
    ("# only a comment", "# only a comment\ntable:\n  sort: state\n  reverse: false\n  group_by_host: true\n"),
    ("theme: nord  # mine", "theme: nord  # mine\ntable:\n  sort: state\n  reverse: false\n  group_by_host: true\n"),
    ("keymap:\n  app.quit:\n    - q\n    - f10  # two\n\n# tail\n",
     "keymap:\n  app.quit:\n    - q\n    - f10  # two\ntable:\n  sort: state\n  reverse: false\n"
     "  group_by_host: true\n\n# tail\n"),
    ("table: {reverse: true}  # flow\n", "table: {reverse: false, sort: state, group_by_host: true}  # flow\n"),
    ("{theme: nord}\n", "{theme: nord, table: {sort: state, reverse: false, group_by_host: true}}\n"),
    ("theme: |\n  nord\n\n", "theme: |\n  nord\n\ntable:\n  sort: state\n  reverse: false\n  group_by_host: true\n"),
], ids=["missing", "empty", "comment", "no-newline", "nested-last", "flow-table", "flow-root", "block-scalar"])
def test_view_state_adds_what_is_missing(tmp_path: Path, text: str | None, expected: str):
    path = tmp_path / "settings.yaml"
    if text is not None:
        path.write_text(text)
    st.save_view_state(path, "state", False, True)
    assert path.read_text() == expected


def test_view_state_writes_through_a_symlink(tmp_path: Path):
    real = tmp_path / "dotfiles" / "settings.yaml"
    real.parent.mkdir()
    real.write_text("theme: nord\n")
    link = tmp_path / "settings.yaml"
    link.symlink_to(real)
    st.save_view_state(link, "name", False, False)
    assert link.is_symlink() and "sort: name" in real.read_text()


@pytest.mark.parametrize(("text", "fragment"), [
    ("table: [1\n", "YAML error: "),
    ("table: " + "[" * 5000 + "]" * 5000 + "\n", "YAML error: nested more than 32 levels deep"),
    ("table: 5\n", "'table' must be a mapping"),
    ("- a\n", "the top level must be a mapping"),
    ("x: &x name\ntable:\n  sort: *x\n", "'table.sort' must be a plain value (not an alias"),
])
def test_view_state_never_writes_a_file_it_cannot_edit(tmp_path: Path, text: str, fragment: str):
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    with pytest.raises(st.SettingsError, match=re.escape(fragment)):
        st.save_view_state(path, "name", False, False)
    assert path.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["settings.yaml"]  # no temporary file left behind


def test_view_state_refuses_a_sort_that_is_not_a_column_key(tmp_path: Path):
    with pytest.raises(ValueError):
        st.save_view_state(tmp_path / "settings.yaml", "name: x", False, False)
    assert not (tmp_path / "settings.yaml").exists()
