"""Write screenshots/ from the demo fleet: every screen, in the dark and the light theme.

    .venv/bin/python scripts/screenshots.py

Runs the real app headless (120x36) on the built-in demo fleet (libvirt test-driver hosts, simulated LDoms
control domains, global zones and Xen dom0s over SSH), polls each host a few times so the CPU history has
samples, drives to each screen and saves an SVG per screen and theme.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hvdeck.backends.audit import AuditLog  # noqa: E402
from hvdeck.backends.errors import HostKeyUnknown  # noqa: E402
from hvdeck.backends.sim.demo import DemoFleet  # noqa: E402
from hvdeck.tui.app import HvdeckApp  # noqa: E402
from hvdeck.tui.screens.domain import DomainScreen  # noqa: E402
from hvdeck.tui.screens.host import HostScreen  # noqa: E402
from hvdeck.tui.screens.host_key import HostKeyScreen  # noqa: E402
from hvdeck.tui.screens.xentop import XentopScreen  # noqa: E402
from hvdeck.tui.wizards.base import WizardScreen  # noqa: E402
from hvdeck.tui.wizards.migrate import MigrateWizard  # noqa: E402
from hvdeck.widgets.bindings_view import BindingsView  # noqa: E402
from hvdeck.widgets.console_pane import ConsolePane  # noqa: E402
from hvdeck.widgets.fleet_table import FleetTable  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (120, 36)
EXAMPLE_KEY = HostKeyUnknown(
    "unknown", host="t7-a", address="192.0.2.21", port=22,
    fingerprint="SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
    key_line="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    known_hosts="~/.ssh/known_hosts", pattern="192.0.2.21")


async def until(pilot, predicate, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise TimeoutError(str(predicate))
        await pilot.pause(0.05)


async def shoot(theme: str, audit_dir: Path, inventory) -> list[Path]:
    app = HvdeckApp(inventory, audit=AuditLog(audit_dir / "audit.log"), theme=theme, start_pollers=False)
    suffix = theme.removeprefix("hvdeck-")
    written: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(6):
            for host in app.host_names:
                await app.fleet.poll_host(host)
            await asyncio.sleep(0.25)
        table = app.screen.query_one(FleetTable)
        # 24 libvirt and LDoms guests, 19 zones, 24 Xen domains
        await until(pilot, lambda: table.total_count == 67)
        await pilot.pause()

        def save(name: str) -> None:
            path = OUT / f"{name}-{suffix}.svg"
            app.save_screenshot(filename=path.name, path=str(OUT))
            written.append(path)

        save("fleet")
        await pilot.press("g", "slash", *"state:running")  # the filter's prompt open on the bottom line
        await pilot.pause()
        save("fleet-grouped")
        await pilot.press("enter", "slash", "ctrl+u", "escape", "g")

        async def open_domain(name: str, host: str, shot: str, section: str) -> None:
            key = next(k for k in table.visible_keys()
                       if table.domain(k).name == name and table.domain(k).host == host)
            table.move_to(key)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DomainScreen)
                        and bool(app.screen.query_one(BindingsView).query(f"#section-{section}")))
            save(shot)
            await pilot.press("escape")

        await open_domain("db01", "kvm-a", "domain", "disk")
        await open_domain("ldg-db1", "t7-a", "ldoms-domain", "vcons")
        await pilot.press("H")
        await until(pilot, lambda: isinstance(app.screen, HostScreen)
                    and bool(app.screen.query_one(BindingsView).query("#section-free")))
        save("ldoms-host")
        await pilot.press("escape")
        key = next(k for k in table.visible_keys() if table.domain(k).name == "ldg-test")
        table.move_to(key)
        await pilot.press("a")
        await pilot.pause()
        save("ldoms-actions")
        await pilot.press("escape")
        key = next(k for k in table.visible_keys() if table.domain(k).name == "web01")
        table.move_to(key)
        await pilot.press("F", *"web0")
        await pilot.pause()
        save("plan-force-off")
        await pilot.press("escape")
        await app.push_screen(HostKeyScreen(EXAMPLE_KEY))
        await pilot.pause()
        save("host-key")
        await pilot.press("escape")

        def highlight(name: str, host: str) -> None:
            table.move_to(next(k for k in table.visible_keys()
                               if table.domain(k).name == name and table.domain(k).host == host))

        highlight("web01", "xen-a")
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, XentopScreen) and app.screen.view() is not None)
        await asyncio.sleep(2.5)  # a second frame: rates
        await pilot.pause()
        save("xentop")
        await pilot.press("escape")
        highlight("ldg-web1", "t7-a")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, WizardScreen))
        await pilot.pause(0.5)
        await pilot.press(*"ldg-web3")
        await pilot.pause()
        save("wizard-create")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, WizardScreen))
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MigrateWizard))
        await pilot.press("enter")  # t7-b
        await pilot.pause(0.5)
        await pilot.press(*"secret", "tab", "tab", "ctrl+u", *"ldg-web1b", "enter")
        await asyncio.sleep(3)  # the pre-flight checks, ldm's dry run included
        await pilot.pause()
        save("migrate-checks")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, MigrateWizard))
        highlight("ldg-db1", "t7-a")
        await pilot.press("c")
        await until(pilot, lambda: bool(app.screen.query(ConsolePane))
                    and (tab := app.screen.query_one(ConsolePane).active_tab) is not None
                    and tab.state == "attached" and bool(tab.terminal.plain_text().strip()))
        await pilot.pause(0.5)
        save("console-pane")
    return written


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, DemoFleet() as inventory:
        for theme in ("hvdeck-dark", "hvdeck-light"):
            for path in asyncio.run(shoot(theme, Path(tmp), inventory)):
                print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
