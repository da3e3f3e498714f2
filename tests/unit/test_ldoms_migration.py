"""LDoms migration, pure parts: the `ldm list -o status` parser (ldm.md §10.2), the progress it gives, the
plan builder, and what the two password-file scripts do under a real /bin/sh (with a stand-in `ldm`)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from hvdeck.backends.errors import ParseError, ValidationError
from hvdeck.backends.ldoms import migration as m
from hvdeck.backends.ldoms import parse
from hvdeck.backends.model import Bindings, Cpu, Disk, Domain, DomainState, Memory, Nic, Section
from hvdeck.backends.sim.ldoms import LdomsWorld

# ldm.md §10.2, the RECONSTRUCTED human shape, as given there
HUMAN = """NAME
ldg1

STATUS
    OPERATION    PROGRESS    TARGET
    migration    34%         system2
"""
# ldm.md §10.2, the UNCERTAIN `-p` shape, after the DOMAIN line of §3.1
PARSEABLE = "VERSION 1.11\nDOMAIN|name=ldg1\nSTATUS\n|op=migration|progress=34|error=no|target=system2\n"


def test_status_human_and_parseable():
    assert parse.parse_status(HUMAN) == (parse.MigrationStatus("ldg1", "migration", 34, "system2", True, None),)
    assert parse.parse_status(PARSEABLE) == (parse.MigrationStatus("ldg1", "migration", 34, "system2", True, False),)
    on_target = "VERSION 1.11\nDOMAIN|name=web1b\nSTATUS\n|op=migration|progress=50|error=yes|source=t7-a\n"
    assert parse.parse_status(on_target) == (parse.MigrationStatus("web1b", "migration", 50, "t7-a", False, True),)
    idle = "NAME\nldg1\n"
    assert parse.parse_status(idle) == (parse.MigrationStatus("ldg1"),)
    assert parse.parse_status("") == ()
    two = HUMAN + " \n" + "-" * 78 + "\nNAME\nldg2\n"
    assert [s.domain for s in parse.parse_status(two)] == ["ldg1", "ldg2"]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("NAME\nldg1\nSTATUS\nwhat\n", 4, "expected OPERATION PROGRESS TARGET after STATUS"),
    ("NAME\nldg1\nSTATUS\n  OPERATION PROGRESS TARGET\n  migration lots system2\n", 5,
     "expected an operation, its progress and a host"),
    ("STATUS\n", 1, "STATUS before any NAME"),
    ("garbage\n", 1, "expected NAME or STATUS"),
    ("NAME\n", 1, "NAME without a domain name"),
    ("VERSION 1.11\nDOMAIN|name=x\nSTATUS\n|op=migration|progress=many\n", 4, "is not a percentage"),
])
def test_status_garbage_names_the_line(text, line, message):
    with pytest.raises(ParseError) as raised:
        parse.parse_status(text)
    assert raised.value.line_no == line and message in raised.value.message


def test_progress_from_the_status():
    info = m.migration_progress(HUMAN)
    assert info is not None and info.fraction == pytest.approx(0.34) and info.message == "migration 34% to system2"
    failed = m.migration_progress(PARSEABLE.replace("error=no", "error=yes"))
    assert failed is not None and failed.message == "migration 34% to system2: ldm reports an error"
    assert m.migration_progress("NAME\nldg1\n") is None, "nothing in progress"
    assert m.migration_progress("garbage") is None, "a reading that cannot be parsed never stops a migration"


def guest(name: str = "ldg1", flags: str = "-n----", state: str = "active", vcpus: int = 4) -> Domain:
    return Domain("t7-a", name, DomainState.RUNNING if state == "active" else DomainState.STOPPED, state,
                  vcpus=vcpus, memory_bytes=8 << 30, flags=flags)


def bindings(arch: str | None = "native", io: tuple[tuple[str, str], ...] = ()) -> Bindings:
    info = (("uuid", "x"),) + ((("cpu-arch", arch),) if arch else ())
    extra = [Section("DOMAIN INFO", ("PROPERTY", "VALUE"), info)]
    if io:
        extra.append(Section("IO", ("DEVICE", "PSEUDONYM", "OPTIONS"), tuple((d, a, "") for d, a in io)))
    return Bindings("t7-a", "ldg1", Cpu(4), Memory(8 << 30),
                    disks=(Disk("vdisk0", "ldg1-boot@primary-vds0", "vdisk"),),
                    nics=(Nic("00:14:4f:fb:aa:01", "vsw", "primary-vsw0@primary", target="vnet0"),), extra=tuple(extra))


def request(**values: str) -> m.Request:
    return m.request(guest(), {"password": "pw", "user": "root", **values}, address="t7-b",
                     password_file="/tmp/hvdeck-migrate-0123")


def build(domain: Domain | None = None, b: Bindings | None = None, **values: str):
    return m.plan(domain or guest(), "t7-a", "t7-b", "ldoms", False, request(**values),
                  bindings() if b is None else b, source_version=parse.LdmVersion("3.6.0.0.23", 3, 6, None, None, None, None))


def test_the_plan_writes_the_password_migrates_and_always_removes_it():
    plan = build(name="ldg1b")
    assert plan.title == "Migrate ldg1 from t7-a to t7-b as ldg1b" and plan.hosts == ("t7-a", "t7-b")
    write, move, remove = plan.steps
    assert write.operation.argv == ("sh", "-c", 'umask 077; cat > "$1"', "sh", "/tmp/hvdeck-migrate-0123")
    assert (write.input, write.secret_input, write.always) == ("pw\n", True, False)
    assert move.operation.argv == ("ldm", "migrate-domain", "-p", "/tmp/hvdeck-migrate-0123", "ldg1", "root@t7-b:ldg1b")
    assert move.timeout is None and move.input is None
    assert move.progress is not None and move.progress.operation is not None
    assert move.progress.operation.argv == ("ldm", "list", "-o", "status", "ldg1")
    assert move.cancel is not None and move.cancel.argv == ("ldm", "cancel-operation", "migration", "ldg1")
    assert remove.operation.argv == ("rm", "-f", "/tmp/hvdeck-migrate-0123") and remove.always
    dry = plan.checks[-1]
    assert dry.operation is not None and dry.operation.argv == (
        "sh", "-c", m.DRY_RUN, "sh", "/tmp/hvdeck-migrate-0123-n", "ldg1", "root@t7-b:ldg1b")
    assert (dry.host, dry.input, dry.secret_input) == ("t7-a", "pw\n", True)
    same = build()
    assert same.steps[1].operation.argv[-1] == "root@t7-b", "the target's name is given only when it changes"


def test_checks_decided_from_the_domain_and_its_bindings():
    def reasons(plan) -> dict[str, tuple[bool | None, str]]:
        return {c.description: (c.passed, c.reason) for c in plan.checks if c.operation is None}

    ok = reasons(build())
    assert ok["ldg1 is active and free to move"] == (True, "")
    assert ok["ldg1 owns no physical I/O"] == (True, "")
    assert ok["ldg1's CPU class suits t7-b"] == (
        True, "cpu-arch=native: only to a server with the same SPARC CPU type (ldm's dry run checks it)")
    assert reasons(build(b=bindings("migration-class1")))["ldg1's CPU class suits t7-b"] == (
        True, "cpu-arch=migration-class1: any SPARC T4 or later server (the migration class 1 family)")
    assert reasons(build(b=bindings("sparc9000")))["ldg1's CPU class suits t7-b"][0] is False
    assert reasons(build(b=bindings(None)))["ldg1's CPU class suits t7-b"] == (
        False, "ldm list-bindings printed no cpu-arch for ldg1")
    assert reasons(build(b=bindings(io=(("pci@303", "pci_3"),))))["ldg1 owns no physical I/O"] == (
        False, "ldg1 owns pci_3: a domain with physical I/O cannot migrate")
    for flags, why in (("-n---e", "in an error state after a failed migration"), ("-n---s", "already being migrated"),
                       ("-nd---", "delayed reconfiguration pending"), ("-n-cv-", "the control domain")):
        passed, reason = reasons(build(guest(flags=flags)))["ldg1 is active and free to move"]
        assert passed is False and why in reason
    passed, reason = reasons(build(guest(state="bound", flags="------")))["ldg1 is active and free to move"]
    assert (passed, reason) == (False, "ldg1 is bound: only an active domain migrates live")


def _result(stdout: str, status: int = 0) -> object:
    from hvdeck.backends.transport.base import Result

    return Result(("ldm",), status, stdout, "")


def test_check_verdicts_on_the_target_listings():
    world = LdomsWorld.demo("t7-b", 2)
    checks = {c.description: c for c in build(name="ldg-web1").checks if c.parser is not None}
    listing = world.run(["ldm", "list", "-p"]).stdout
    assert checks["t7-b has no domain named ldg-web1"].parser(_result(listing)) == \
        "t7-b already has a domain named ldg-web1: give it another name on the target"
    assert checks["No delayed reconfiguration is pending on t7-b's control domain"].parser(_result(listing)) is None
    world.domains["primary"].delayed_reconfig = True
    assert "primary on t7-b has a delayed reconfiguration pending" in \
        checks["No delayed reconfiguration is pending on t7-b's control domain"].parser(
            _result(world.run(["ldm", "list", "-p"]).stdout))
    devices = world.run(["ldm", "list-devices", "-a", "-p"]).stdout
    assert checks["t7-b has 4 strands and 8G of memory free"].parser(_result(devices)) is None
    services = world.run(["ldm", "list-services", "-p"]).stdout
    assert checks["t7-b exports ldg1's volumes (ldg1-boot@primary-vds0)"].parser(_result(services)) == \
        "t7-b does not export ldg1-boot@primary-vds0"
    assert checks["t7-b has ldg1's virtual switches (primary-vsw0@primary)"].parser(_result(services)) is None
    assert checks["t7-b answers with ldm"].parser(_result(world.run(["ldm", "-V"]).stdout)) is None
    assert checks["t7-b answers with ldm"].parser(_result("Logical Domain Manager (v 1.1)\n")) == \
        "ldm 1.1 cannot migrate domains (LDoms 1.2 and later can)"
    assert checks["t7-b has no domain named ldg-web1"].parser(_result("garbage\n")).startswith("ldm list -p:")


def test_the_dry_run_verdict_keeps_ldms_reason():
    from hvdeck.backends.transport.base import Result

    refused = Result(("sh",), 1, "", "Not enough free vcpus on target t7-b: 32 needed, 8 available\n"
                                     "Domain Migration of LDom ldg-db1 failed\n")
    assert m._dry_run(refused) == "Not enough free vcpus on target t7-b: 32 needed, 8 available"
    assert m._dry_run(Result(("sh",), 0, "", "")) is None
    assert m._dry_run(Result(("sh",), 2, "", "")) == "exit status 2"


@pytest.mark.parametrize(("values", "message"), [
    ({"password": ""}, "password is required"),
    ({"password": "a\nb"}, "line break"),
    ({"user": "-oProxyCommand=x"}, "user"),
    ({"name": "-n"}, "name on the target"),
])
def test_bad_requests_never_make_a_plan(values, message):
    with pytest.raises(ValidationError, match=message):
        m.request(guest(), {"password": "pw", **values}, address="t7-b", password_file="/tmp/x")


@pytest.mark.parametrize("address", ["-oProxyCommand=x", "host:name", "a b", "", "root@t7-b"])
def test_addresses_that_could_change_the_target_are_refused(address):
    with pytest.raises(ValidationError):
        m.validate_address(address)


def test_password_files_are_unguessable():
    first, second = m.password_file(), m.password_file()
    assert first != second and first.startswith("/tmp/hvdeck-migrate-") and len(first) == len("/tmp/hvdeck-migrate-") + 32


def test_the_form_masks_the_password_and_names_the_domain():
    form = m.form(guest("ldg9"))
    assert [(o.name, o.secret) for o in form.options] == [("password", True), ("user", False), ("name", False),
                                                         ("address", False)]
    assert form.option("name").default == "ldg9" and form.option("user").default == "root"
    assert form.option("password").describe().endswith("(asked for on the terminal, never shown)")


# -- the two scripts under a real /bin/sh ------------------------------------------------------------------

FAKE_LDM = """#!/bin/sh
# stands in for ldm: records its arguments and what it finds in the -p file, exits with $FAKE_LDM_STATUS
file=
prev=
for a in "$@"; do [ "$prev" = -p ] && file=$a; prev=$a; done
{ echo "args: $*"; echo "mode: $(stat -c %a "$file")"; echo "first line: $(head -n 1 "$file")"; } >> "$FAKE_LDM_LOG"
echo "Domain Migration of LDom $5 failed" >&2
exit "${FAKE_LDM_STATUS:-0}"
"""


@pytest.fixture
def fake_ldm(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ldm = bin_dir / "ldm"
    ldm.write_text(FAKE_LDM)
    ldm.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LDM_LOG": str(tmp_path / "ldm.log")}


def test_write_secret_makes_a_file_only_its_owner_reads(tmp_path: Path):
    target = tmp_path / "pw"
    done = subprocess.run(["/bin/sh", "-c", m.WRITE_SECRET, "sh", str(target)], input="s3cret\n", text=True,
                          capture_output=True, timeout=10)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_text() == "s3cret\n"
    assert done.stdout == "" and done.stderr == ""


@pytest.mark.parametrize("status", [0, 1, 3])
def test_the_dry_run_script_gives_ldm_a_private_file_removes_it_and_keeps_the_status(tmp_path, fake_ldm, status):
    pfile = tmp_path / "pw-n"
    done = subprocess.run(["/bin/sh", "-c", m.DRY_RUN, "sh", str(pfile), "ldg1", "root@t7-b:ldg1b"],
                          input="s3cret\nsecond line\n", text=True, capture_output=True, timeout=10,
                          env={**fake_ldm, "FAKE_LDM_STATUS": str(status)})
    assert done.returncode == status
    log = (tmp_path / "ldm.log").read_text().splitlines()
    assert log == [f"args: migrate-domain -n -p {pfile} ldg1 root@t7-b:ldg1b", "mode: 600", "first line: s3cret"]
    assert not pfile.exists()
    assert "s3cret" not in done.stdout + done.stderr


def test_the_simulated_control_domain_runs_the_same_scripts():
    world = LdomsWorld("t7-a")
    import asyncio

    async def stdin() -> str:
        return "pw\n"

    reply = asyncio.run(world.execute(["sh", "-c", m.WRITE_SECRET, "sh", "/tmp/p"], stdin))
    assert reply.exit_status == 0 and world.files["/tmp/p"].mode == 0o600 and world.files["/tmp/p"].content == b"pw\n"
    reply = asyncio.run(world.execute(["sh", "-c", m.DRY_RUN, "sh", "/tmp/q", "nosuch", "t7-b"], stdin))
    assert reply.exit_status != 0 and "/tmp/q" not in world.files
    refused = asyncio.run(world.execute(["sh", "-c", "rm -rf /", "sh"], stdin))
    assert refused.exit_status == 2 and "only hvdeck's password-file scripts" in refused.stderr
