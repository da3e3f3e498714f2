"""ldm's pure intent (backends/ldoms/commands.py): sizes checked against the domain and the host's free
resources before a plan exists, set-var inputs, and what the plans promise."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdeck.backends.base import Action
from hvdeck.backends.errors import ValidationError
from hvdeck.backends.ldoms import commands, parse
from hvdeck.backends.ldoms.commands import ADD_VCPU, REMOVE_VCPU, SET_MEMORY, SET_VAR, SET_VCPU, Resources, extra_plan
from hvdeck.backends.model import Domain, DomainState

G, M = 2**30, 2**20
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ldm"
#: a host with 64 strands (8 free) and 256G outside the hypervisor's blocks (16G free)
HOST = Resources(strands=64, free_strands=8, memory_bytes=256 * G, free_memory_bytes=16 * G)


def guest(state: str = "active", vcpus: int | None = 4, memory: int | None = 8 * G, flags: str = "-n----",
          name: str = "ldg1") -> Domain:
    normalised = {"active": DomainState.RUNNING}.get(state, DomainState.STOPPED)
    return Domain(host="t7", name=name, state=normalised, native_state=state, vcpus=vcpus, memory_bytes=memory,
                  flags=flags)


def refused(action, domain, values, resources=HOST) -> str:
    with pytest.raises(ValidationError) as caught:
        extra_plan(action, domain, values, resources=resources)
    return caught.value.message


def argv(plan) -> tuple[str, ...]:
    (step,) = plan.steps
    return step.operation.argv


# --- vCPUs ----------------------------------------------------------------------------------------------


def test_remove_more_vcpus_than_the_domain_has_is_refused():
    assert refused(REMOVE_VCPU, guest(vcpus=4), {"count": "10"}) == \
        "ldg1 has 4 vCPUs: remove at most 3 (a domain keeps at least one)"
    assert refused(REMOVE_VCPU, guest(vcpus=4), {"count": "4"}).startswith("ldg1 has 4 vCPUs: remove at most 3")
    assert refused(REMOVE_VCPU, guest(vcpus=1), {"count": "1"}) == \
        "ldg1 has 1 vCPU, the fewest a domain can have: none can be removed"
    assert argv(extra_plan(REMOVE_VCPU, guest(vcpus=4), {"count": "3"}, resources=HOST)) == \
        ("ldm", "remove-vcpu", "3", "ldg1")
    # nothing of the host is needed to remove
    assert argv(extra_plan(REMOVE_VCPU, guest(vcpus=4), {"count": "1"})) == ("ldm", "remove-vcpu", "1", "ldg1")


def test_add_more_vcpus_than_the_host_has_free_is_refused():
    assert refused(ADD_VCPU, guest(vcpus=4), {"count": "1000"}) == "t7 has 8 strands free: add at most 8 (ldg1 has 4 vCPUs)"
    assert refused(ADD_VCPU, guest(vcpus=4), {"count": "9"}) == "t7 has 8 strands free: add at most 8 (ldg1 has 4 vCPUs)"
    assert argv(extra_plan(ADD_VCPU, guest(vcpus=4), {"count": "8"}, resources=HOST)) == ("ldm", "add-vcpu", "8", "ldg1")
    full = Resources(strands=64, free_strands=0, memory_bytes=256 * G, free_memory_bytes=0)
    assert refused(ADD_VCPU, guest(), {"count": "1"}, full) == "no strand is free on t7: ldm cannot give ldg1 more"
    one = Resources(strands=64, free_strands=1, memory_bytes=None, free_memory_bytes=None)
    assert refused(ADD_VCPU, guest(), {"count": "2"}, one) == "t7 has 1 strand free: add at most 1 (ldg1 has 4 vCPUs)"


def test_set_vcpu_counts_the_domains_own_strands_as_well():
    assert refused(SET_VCPU, guest(vcpus=4), {"count": "13"}) == "t7 has 8 strands free: set at most 12 (ldg1 has 4 vCPUs)"
    assert argv(extra_plan(SET_VCPU, guest(vcpus=4), {"count": "12"}, resources=HOST)) == ("ldm", "set-vcpu", "12", "ldg1")
    assert argv(extra_plan(SET_VCPU, guest(vcpus=40), {"count": "1"}, resources=HOST)) == ("ldm", "set-vcpu", "1", "ldg1")
    assert refused(SET_VCPU, guest(vcpus=4), {"count": "0"}) == "vCPU count 0 is outside 1-1024"
    assert refused(SET_VCPU, guest(vcpus=4), {"count": "4"}) == "ldg1 already has 4 vCPUs"
    assert refused(SET_VCPU, guest(vcpus=4), {"count": "four"}) == "vCPU count 'four' is not a whole number"


def test_a_bound_domain_is_held_to_the_free_strands_too_and_an_inactive_one_to_the_host_total():
    assert refused(ADD_VCPU, guest("bound", vcpus=4), {"count": "9"}).startswith("t7 has 8 strands free")
    # an inactive domain binds nothing now: only its constraints change, up to what the host has at all
    assert argv(extra_plan(ADD_VCPU, guest("inactive", vcpus=4), {"count": "60"}, resources=HOST)) == \
        ("ldm", "add-vcpu", "60", "ldg1")
    assert refused(ADD_VCPU, guest("inactive", vcpus=4), {"count": "61"}) == "t7 has 64 strands in all: ldg1 cannot have 65 vCPUs"
    assert refused(SET_VCPU, guest("inactive", vcpus=4), {"count": "65"}) == "t7 has 64 strands in all: ldg1 cannot have 65 vCPUs"


def test_without_the_hosts_resources_only_the_domain_limits_are_checked():
    assert argv(extra_plan(ADD_VCPU, guest(vcpus=4), {"count": "100"})) == ("ldm", "add-vcpu", "100", "ldg1")
    assert refused(REMOVE_VCPU, guest(vcpus=4), {"count": "4"}, None).startswith("ldg1 has 4 vCPUs")
    plan = extra_plan(ADD_VCPU, guest(vcpus=4), {"count": "2"}, unchecked="The free resources could not be read.")
    assert plan.warning.endswith("The free resources could not be read.")
    # a domain whose size is unknown is not held to a number it does not have
    assert argv(extra_plan(REMOVE_VCPU, guest(vcpus=None), {"count": "3"}, resources=HOST))[2] == "3"
    assert argv(extra_plan(SET_VCPU, guest(vcpus=None), {"count": "30"}, resources=HOST))[2] == "30"


# --- memory ---------------------------------------------------------------------------------------------


def test_memory_is_checked_against_the_free_memory_blocks():
    assert refused(SET_MEMORY, guest(memory=8 * G), {"size": "32G"}) == \
        "t7 has 16G of memory free: set at most 24G (ldg1 has 8G of memory)"
    assert argv(extra_plan(SET_MEMORY, guest(memory=8 * G), {"size": "24G"}, resources=HOST)) == \
        ("ldm", "set-memory", "24G", "ldg1")
    assert argv(extra_plan(SET_MEMORY, guest(memory=8 * G), {"size": "1536M"}, resources=HOST)) == \
        ("ldm", "set-memory", "1536M", "ldg1")
    assert refused(SET_MEMORY, guest(memory=8 * G), {"size": "8G"}) == "ldg1 already has 8G of memory"
    assert refused(SET_MEMORY, guest("inactive", memory=8 * G), {"size": "512G"}) == \
        "t7 has 256G of memory in all: ldg1 cannot have 512G"
    assert refused(SET_MEMORY, guest(), {"size": "2M"}) == "memory size '2M' is smaller than 4M, the smallest ldm memory block"
    assert refused(SET_MEMORY, guest(), {"size": "lots"}).startswith("memory size 'lots': use a number with K, M or G")


def test_resources_from_list_devices_a_p():
    # ldm.md §7 (VERBATIM UCMDB docstrings): strands with free=0, memory bound to _sys_ and to primary
    cpu = parse.parse_devices_p((FIXTURES / "list-devices-a-p-cpu.txt").read_text())
    memory = parse.parse_devices_p((FIXTURES / "list-devices-a-p-memory.txt").read_text())
    assert Resources.of(cpu) == Resources(strands=2, free_strands=0, memory_bytes=None, free_memory_bytes=None)
    assert Resources.of(memory) == Resources(strands=None, free_strands=None, memory_bytes=136902082560,
                                             free_memory_bytes=0)
    text = ("VERSION 1.6\nVCPU\n|pid=0|free=0|pm=no\n|pid=1|free=100|pm=no\n|pid=2|free=50|pm=no\n"
            "MEMORY\n|pa=0x0|size=536870912|bound=_sys_\n|pa=0x20000000|size=1073741824|bound=primary\n"
            "|pa=0x60000000|size=2147483648\n")
    assert Resources.of(parse.parse_devices_p(text)) == Resources(3, 1, 3 * G, 2 * G)


# --- what the plans promise ------------------------------------------------------------------------------


def test_a_running_guest_is_not_promised_more_than_ldm_does():
    plan = extra_plan(ADD_VCPU, guest(), {"count": "2"}, resources=HOST)
    assert "live (dynamic reconfiguration)" in plan.warning and "drd" in plan.warning
    assert "ldm refuses it and nothing changes" in plan.warning
    inactive = extra_plan(ADD_VCPU, guest("inactive"), {"count": "2"}, resources=HOST)
    assert "inactive: ldm records the new size in its constraints" in inactive.warning
    assert extra_plan(ADD_VCPU, guest("bound"), {"count": "2"}, resources=HOST).warning == ""


def test_the_control_domain_in_delayed_reconfiguration_is_told_when_its_change_takes_effect():
    primary = guest(name="primary", flags="-ndcv-", vcpus=8)
    plan = extra_plan(SET_VCPU, primary, {"count": "4"}, resources=HOST)
    assert plan.warning == "primary has a delayed reconfiguration pending: this change takes effect when primary reboots."
    running = extra_plan(SET_VCPU, guest(name="primary", flags="-n-cv-", vcpus=8), {"count": "4"}, resources=HOST)
    assert "delayed reconfiguration" in running.warning and "blocks changes to every other domain" in running.warning
    # a root domain in delayed reconfiguration: ldm accepts the change and applies it at that domain's reboot
    root = extra_plan(SET_MEMORY, guest(name="ldg-io", flags="-nd---"), {"size": "4G"}, resources=HOST)
    assert root.warning == "ldg-io has a delayed reconfiguration pending: this change takes effect when ldg-io reboots."
    reboot = commands.lifecycle_plan(Action.REBOOT, primary)
    assert reboot.confirm_phrase == "primary" and "pending delayed reconfiguration take effect" in reboot.warning


def test_stopping_a_service_domain_says_its_guests_lose_their_devices():
    service = guest(name="ldg-io", flags="-n--v-")
    assert "virtual I/O service domain" in commands.lifecycle_plan(Action.SHUTDOWN, service).warning
    assert "virtual I/O service domain" in commands.lifecycle_plan(Action.FORCE_OFF, service).warning
    assert commands.lifecycle_plan(Action.SHUTDOWN, guest()).warning == ""


# --- set-var ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("assignment", "says"), [
    ("boot-device=disk\x00net", "the value contains a control character, NUL (0x00), at position 5"),
    ("boot-device=disk\rnet", "the value contains a control character, CR (0x0d), at position 5"),
    ("boot-device=disk\nnet", "the value contains a control character, LF (0x0a), at position 5"),
    ("boot-device=\x1b]52;c;cm0gLXJmIC8=\x07", "the value contains a control character, ESC (0x1b), at position 1"),
    ("boot-device=a\tb", "the value contains a control character, TAB (0x09), at position 2"),
    ("boot-device=a\x7fb", "the value contains a control character, DEL (0x7f), at position 2"),
    ("boot-device=\x9b31m", "the value contains a C1 control character (U+009B) at position 1"),
    ("boot-device=disk\u202enet", "the value contains a bidirectional control character (U+202E) at position 5"),
    ("auto\x1bboot?=true", "the name contains a control character, ESC (0x1b), at position 5"),
    ("auto-boot?\x00=true", "the name contains a control character, NUL (0x00), at position 11"),
])
def test_set_var_refuses_every_control_character_and_names_it(assignment, says):
    message = refused(SET_VAR, guest(), {"assignment": assignment})
    assert says in message, message
    assert "printable text only" in message
    with pytest.raises(ValidationError):
        commands.validate_var(assignment)


def test_set_var_keeps_ordinary_values_whole():
    plan = extra_plan(SET_VAR, guest(), {"assignment": "boot-device=/pci@300/disk@0,0:a disk net"})
    assert argv(plan) == ("ldm", "set-var", "boot-device=/pci@300/disk@0,0:a disk net", "ldg1")
    assert argv(extra_plan(SET_VAR, guest(), {"assignment": "nvramrc=a=b"}))[2] == "nvramrc=a=b"
    assert argv(extra_plan(SET_VAR, guest(), {"assignment": "boot-file=日本"}))[2] == "boot-file=日本"
    assert refused(SET_VAR, guest(), {"assignment": "no-equals"}).startswith("variable 'no-equals': write NAME=VALUE")
    assert refused(SET_VAR, guest(), {"assignment": "-o=1"}).startswith("variable '-o=1': write NAME=VALUE")
