"""The host strip at fleet scale: three lines at most, hosts in trouble first, the rest counted."""

from __future__ import annotations

from textual.app import App, ComposeResult

from hvdeck.backends.model import HostSnapshot, HostStatus
from hvdeck.widgets.host_strip import HostStrip


class StripApp(App[None]):
    def compose(self) -> ComposeResult:
        yield HostStrip()


def snapshots() -> list[HostSnapshot]:
    out = [HostSnapshot(host=f"h{i:03d}", kind="ldoms", status=HostStatus.UP, taken_at=0.0) for i in range(500)]
    out[250] = HostSnapshot(host="h250", kind="ldoms", status=HostStatus.ERROR, taken_at=0.0, error="bad")
    out[499] = HostSnapshot(host="h499", kind="ldoms", status=HostStatus.STALE, taken_at=0.0, last_ok=-30.0)
    return out


async def test_five_hundred_hosts_fit_three_lines_with_trouble_first():
    app = StripApp()
    async with app.run_test(size=(100, 20)) as pilot:
        strip = app.query_one(HostStrip)
        strip.show(snapshots(), 0.0)
        await pilot.pause()
        text = strip.render().plain  # type: ignore[union-attr]
        assert text.startswith("✖ h250 error  ◐ h499 stale 30s")
        shown = text.count("●") + 2
        more = int(text.split("+")[-1].split(" more")[0])
        assert shown + more == 500 and text.endswith(f"more: {more} up")
        assert strip.size.height == 3 and "h000" in text and "h400" not in text


async def test_a_chip_is_never_cut_across_two_lines():
    """Each line holds whole chips: `kvm-a libvirt 6 (3 run)` is never split at one of its spaces."""
    app = StripApp()
    async with app.run_test(size=(80, 20)) as pilot:
        strip = app.query_one(HostStrip)
        hosts = [HostSnapshot(host=f"host-{i}-{'x' * (i % 7)}", kind="libvirt", status=HostStatus.UP, taken_at=0.0)
                 for i in range(12)]
        strip.show(hosts, 0.0)
        await pilot.pause()
        lines = strip.render().plain.split("\n")  # type: ignore[union-attr]
        assert 1 < len(lines) <= 3
        for line in lines:
            chips = [c for c in line.split("  ") if c]
            assert all(c.startswith(("●", "+")) for c in chips), line
            assert len(line) <= strip.content_region.width
