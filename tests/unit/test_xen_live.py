"""What one host's xentop stream shows (live.py): rates between frames, names xentop cut, and when the names
and ids are read again."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hvdeck.backends.model import DomainState
from hvdeck.backends.xen import live, states
from hvdeck.backends.xen.xentop import parse_xentop

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "xen"
LISTED = {"Domain-0": live.Listed("Domain-0", 0, 1024, 8, 161513.0),
          "virtual1": live.Listed("virtual1", 7, 30720, 8, 128529.0)}


def _samples(interval_gap: float = 2.0):
    first, second = parse_xentop((FIXTURES / "xentop-b-2-iterations-derived.txt").read_text())
    return live.Sample(first, 100.0, 1), live.Sample(second, 100.0 + interval_gap, 2)


def test_rates_from_the_counters_of_two_frames():
    before, after = _samples()
    rows = {r.name: r for r in live.live_rows("x1", after, before, LISTED, interval=2, console="xl")}
    v = rows["virtual1"]
    # NETTX 7604726 -> 7604730 KiB, NETRX +6 KiB, VBD_RD +0, VBD_WR +2, RSECT +0, WSECT +8 sectors, over 2 s
    assert (v.net_tx_bps, v.net_rx_bps) == (4 * 1024 / 2, 6 * 1024 / 2)
    assert (v.vbd_rd_per_s, v.vbd_wr_per_s) == (0.0, 1.0)
    assert (v.disk_rd_bps, v.disk_wr_bps) == (0.0, 8 * 512 / 2)
    domain = v.domain
    assert domain is not None
    assert (domain.id, domain.state, domain.native_state, domain.console) == (7, DomainState.RUNNING, "--b---", "xl")
    assert domain.cpu_percent == 0.3 / 8  # xentop's % of one CPU, as a share of its 8 vCPUs
    assert (domain.net_tx_bps, domain.disk_wr_bps) == (v.net_tx_bps, v.disk_wr_bps)
    assert ("letters", states.XENTOP) in domain.extra
    dom0 = rows["Domain-0"].domain
    assert dom0 is not None and dom0.console is None and dom0.cpu_percent == 12.5 / 8 and dom0.max_memory_bytes is None


def test_the_first_frame_has_no_rates_and_no_cpu_percent():
    before, _ = _samples()
    for row in live.live_rows("x1", before, None, LISTED, interval=2):
        assert row.domain is not None and row.domain.cpu_percent is None
        assert (row.net_tx_bps, row.vbd_wr_per_s, row.disk_rd_bps) == (None, None, None)


def test_frames_that_arrive_together_are_taken_an_interval_apart():
    before, after = _samples(interval_gap=0.001)  # a replay prints both at once
    v = next(r for r in live.live_rows("x1", after, before, LISTED, interval=1) if r.name == "virtual1")
    assert v.net_tx_bps == 4 * 1024
    late = next(r for r in live.live_rows("x1", replace(after, at=130.0), before, LISTED, interval=2)
                if r.name == "virtual1")
    assert late.net_tx_bps == 4 * 1024 / 2


def test_a_domain_whose_cpu_time_went_down_has_no_rates():
    before, after = _samples()
    reborn = replace(after.frame, rows=tuple(replace(r, cpu_seconds=1) if r.name == "virtual1" else r
                                             for r in after.frame.rows))
    v = next(r for r in live.live_rows("x1", replace(after, frame=reborn), before, LISTED, interval=2)
             if r.name == "virtual1")
    assert v.net_tx_bps is None and v.disk_wr_bps is None
    assert live.renamed_or_restarted(reborn, before.frame)
    assert not live.renamed_or_restarted(after.frame, before.frame)
    assert live.renamed_or_restarted(after.frame, None)


def test_names_cut_to_ten_characters_are_resolved():
    (frame,) = parse_xentop((FIXTURES / "xentop-b-oracle-truncated.txt").read_text())
    cut = next(r for r in frame.rows if r.name == "c2214-vkge")
    assert cut.name_may_be_truncated
    listed = {"c2214-vkgen01": live.Listed("c2214-vkgen01", 12, 737284, 92, 2084.0),
              "Domain-0": live.Listed("Domain-0", 0, 9138, 4, 393575.0)}
    assert live.resolve(cut, listed) == listed["c2214-vkgen01"]
    # two names share the first ten characters: memory, vCPUs and CPU time tell them apart
    listed["c2214-vkgen02"] = live.Listed("c2214-vkgen02", 13, 1024, 2, 10.0)
    assert live.resolve(cut, listed) == listed["c2214-vkgen01"]
    listed["c2214-vkgen03"] = live.Listed("c2214-vkgen03", 14, 737284, 92, 2083.0)
    assert live.resolve(cut, listed) is None
    assert live.unresolved(frame, listed) == ("c2214-vkge",)
    row = next(r for r in live.live_rows("x1", live.Sample(frame, 0.0, 1), None, listed, interval=1)
               if r.row is cut)
    assert (row.name, row.domid) == ("c2214-vkge", None)  # left as printed, and read again by the backend


def test_listed_from_a_listing_and_the_summary_counts():
    from hvdeck.backends.xen.parse import parse_xm_list

    text = (FIXTURES / "xm-list-managed-derived.txt").read_text()
    listed = live.listed_from(parse_xm_list(text, "x2"))
    assert set(listed) == {"Domain-0", "sol1"}  # the managed domain that is not running has no id
    assert listed["sol1"].domid == 7
    before, _ = _samples()
    assert live.counts(before.frame) == (("running", 1), ("blocked", 1), ("paused", 0), ("crashed", 0),
                                         ("dying", 0), ("shutdown", 0))
