"""The fleet table's filter: words, `field:value` for every column, comparisons with units, negation,
the host's kind and inventory tags, and an unknown field named rather than showing nothing."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from hvdeck.backends.model import Domain, DomainState
from hvdeck.widgets.fleet_table import FIELDS, FleetTable

G = 1 << 30


def _d(host: str, name: str, state: DomainState = DomainState.RUNNING, **kw: object) -> Domain:
    native = {DomainState.RUNNING: "running", DomainState.STOPPED: "shut off", DomainState.PAUSED: "paused"}[state]
    native = kw.pop("native_state", native)  # type: ignore[assignment]
    return Domain(host=host, name=name, state=state, native_state=native, uuid=f"{host}-{name}",
                  **kw)  # type: ignore[arg-type]


DOMAINS = {
    "kvm-a": [
        _d("kvm-a", "web01", id=1, vcpus=2, memory_bytes=2 * G, cpu_percent=12.5, console="pty",
           net_rx_bps=2e6, net_tx_bps=1e5, disk_rd_bps=0.0, disk_wr_bps=5e5),
        _d("kvm-a", "web02", id=2, vcpus=4, memory_bytes=4 * G, cpu_percent=75.0, console="pty",
           net_rx_bps=1e3, net_tx_bps=1e3),
        _d("kvm-a", "db01", DomainState.STOPPED, vcpus=8, memory_bytes=16 * G),
    ],
    "t7-a": [
        _d("t7-a", "primary", native_state="active", id=0, vcpus=16, memory_bytes=32 * G, cpu_percent=0.4,
           console="UART", flags="-n-cv-"),
        _d("t7-a", "ldg-app1", native_state="active", vcpus=2, memory_bytes=8 * G, cpu_percent=55.0,
           console="5002", flags="-nd---"),
        _d("t7-a", "ldg-test", DomainState.STOPPED, native_state="bound", vcpus=2, memory_bytes=512 << 20,
           console="5003", flags="------"),
    ],
}


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield FleetTable()


@pytest.fixture
async def table():
    app = TableApp()
    async with app.run_test(size=(150, 20)) as pilot:
        t = app.query_one(FleetTable)
        t.set_hosts(DOMAINS)
        t.set_host_tags({"kvm-a": ("prod", "dc1"), "t7-a": ("lab",)})
        t.set_host_kind("kvm-a", "libvirt")
        t.set_host_kind("t7-a", "ldoms")
        for host, domains in DOMAINS.items():
            t.set_host_domains(host, domains)
        await pilot.pause()
        yield t


def shown(t: FleetTable, text: str) -> list[str]:
    t.filter_text = text
    return [t.domain(k).name for k in t.visible_keys()]


@pytest.mark.parametrize(("text", "names"), [
    ("", ["db01", "web01", "web02", "ldg-app1", "ldg-test", "primary"]),
    ("web", ["web01", "web02"]),
    ("WEB 02", ["web02"]),  # words AND, case-insensitively
    ("!web", ["db01", "ldg-app1", "ldg-test", "primary"]),
    ("!web !ldg", ["db01", "primary"]),
    ("host:t7", ["ldg-app1", "ldg-test", "primary"]),
    ("!host:t7-a", ["db01", "web01", "web02"]),
    ("name:01", ["db01", "web01"]),
    ("state:stopped", ["db01", "ldg-test"]),
    ("state:run !name:primary", ["web01", "web02", "ldg-app1"]),
    ("native:bound", ["ldg-test"]),
    ("native:shut", ["db01"]),
    ("flags:d", ["ldg-app1"]),  # LDoms flags: delayed reconfiguration
    ("flags:c", ["primary"]),
    ("id:0", ["primary"]),  # numbers compare as numbers: id:1 is not id:10
    ("id:1", ["web01"]),
    ("id:>=1", ["web01", "web02"]),
    ("vcpus:2", ["web01", "ldg-app1", "ldg-test"]),
    ("vcpu:>4", ["db01", "primary"]),
    ("memory:2G", ["web01"]),
    ("memory:>2g", ["db01", "web02", "ldg-app1", "primary"]),
    ("memory:<=512M", ["ldg-test"]),
    ("mem:<1GiB", ["ldg-test"]),
    ("memory:>=17179869184", ["db01", "primary"]),  # bytes
    ("cpu:>50", ["web02", "ldg-app1"]),
    ("cpu:<1", ["primary"]),  # unknown CPU% (stopped domains) matches no comparison
    ("!cpu:>1", ["db01", "ldg-test", "primary"]),
    ("cpu:12.5", ["web01"]),
    ("cpu%:>=75%", ["web02"]),
    ("net:>1M", ["web01"]),
    ("disk:>0", ["web01"]),
    ("cons:pty", ["web01", "web02"]),
    ("console:500", ["ldg-app1", "ldg-test"]),
    ("kind:ldoms", ["ldg-app1", "ldg-test", "primary"]),
    ("!kind:ldoms", ["db01", "web01", "web02"]),
    ("tags:prod", ["db01", "web01", "web02"]),
    ("tag:lab state:running", ["ldg-app1", "primary"]),
    ("prod", ["db01", "web01", "web02"]),  # a plain word matches the host's tags and kind too
    ("ldoms 01", []),
    ("name:", ["db01", "web01", "web02", "ldg-app1", "ldg-test", "primary"]),  # still being typed
])
async def test_filter(table: FleetTable, text: str, names: list[str]):
    assert shown(table, text) == names
    assert table.filter_error is None


async def test_every_column_is_a_field(table: FleetTable):
    from hvdeck.widgets.fleet_table import COLUMN_KEYS

    named = {"console": "cons", "history": "cpu"}  # CPU HIST is the history of cpu
    assert {named.get(k, k) for k in COLUMN_KEYS} <= set(FIELDS)


async def test_an_unknown_field_is_named_and_the_rest_applies(table: FleetTable):
    assert shown(table, "colour:red web") == ["web01", "web02"]
    assert table.filter_error is not None and table.filter_error.startswith("unknown field colour:")
    assert "memory" in table.filter_error and "tags" in table.filter_error
    everything = shown(table, "")
    assert shown(table, "cpu:>lots") == everything
    assert table.filter_error == "cpu:>lots is not a number to compare (e.g. cpu:>50)"
    assert shown(table, "vcpus:2G") == everything
    assert table.filter_error is not None and "vcpus:2g" in table.filter_error
    assert shown(table, "web") == ["web01", "web02"] and table.filter_error is None
    # a word with a colon that is not a field name (a MAC, a time) is a plain word
    assert shown(table, "52:54") == [] and table.filter_error is None


async def test_tags_and_kind_given_later_apply_to_the_filter_shown(table: FleetTable):
    assert shown(table, "tags:gold") == []
    table.set_host_tags({"t7-a": ("gold",)})
    assert [table.domain(k).name for k in table.visible_keys()] == ["ldg-app1", "ldg-test", "primary"]
    table.set_host_kind("kvm-a", "xen")
    table.filter_text = "kind:xen"
    assert [table.domain(k).name for k in table.visible_keys()] == ["db01", "web01", "web02"]


async def test_a_plain_word_follows_tags_and_kinds_given_after_it_was_typed(table: FleetTable):
    """Which hosts a word matches by kind or tag is worked out once per word (not once per poll), and
    again whenever a host's tags or kind change."""
    assert shown(table, "gold") == []
    table.set_host_tags({"t7-a": ("gold",)})
    assert [table.domain(k).name for k in table.visible_keys()] == ["ldg-app1", "ldg-test", "primary"]
    table.set_host_tags({"kvm-a": ("gold",)})
    assert [table.domain(k).name for k in table.visible_keys()] == ["db01", "web01", "web02"]
    table.filter_text = "xen"
    assert table.visible_keys() == []
    table.set_host_kind("kvm-a", "xen")
    assert [table.domain(k).name for k in table.visible_keys()] == ["db01", "web01", "web02"]
