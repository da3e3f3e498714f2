"""Asks before trusting an unknown SSH host key; refuses to offer trust for a changed one."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, Static

from hvdeck.backends.errors import HostKeyProblem
from hvdeck.backends.model import KeyProblem
from hvdeck.widgets import format as fmt

from .base import GuardedModal


class HostKeyScreen(GuardedModal[bool]):
    """Dismisses True only when the user pressed "Trust"."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Not now", id="host-key.cancel")]

    DEFAULT_CSS = """
    HostKeyScreen { align: center middle; }
    HostKeyScreen > #host-key-box {
        width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    HostKeyScreen.-changed > #host-key-box { border: thick $error; }
    HostKeyScreen #host-key-title { dock: top; text-style: bold; padding-top: 1; width: 100%; }
    HostKeyScreen #host-key-fingerprint { text-style: bold; color: $accent; margin: 1 0; }
    HostKeyScreen #host-key-buttons { dock: bottom; height: 3; align-horizontal: right; }
    HostKeyScreen #host-key-buttons Button { margin-left: 2; }
    """

    def __init__(self, problem: KeyProblem | HostKeyProblem) -> None:
        if isinstance(problem, HostKeyProblem):
            problem = problem.snapshot_view()
        super().__init__(classes="-changed" if problem.kind in ("changed", "revoked") else None)
        self.problem = problem

    def compose(self) -> ComposeResult:
        p = self.problem
        changed = p.kind != "unknown"
        # the box scrolls; its title and buttons are docked, so they stay on screen at any size
        with VerticalScroll(id="host-key-box"):
            yield Label(fmt.host_text(f"{p.title}: {p.host} ({p.address}, port {p.port})"), id="host-key-title")
            yield Static(fmt.host_text(p.fingerprint or "(the server's key could not be fetched)"),
                         id="host-key-fingerprint")
            if p.kind == "revoked":
                yield Static(fmt.host_text(
                    f"known_hosts marks this key @revoked: hvdeck will not connect with it. {p.message}",
                    newlines=True))
            elif p.kind == "other":
                yield Static(fmt.host_text(p.message, newlines=True))
            elif changed:
                yield Static(fmt.host_text(
                    f"The host offered the key above; known_hosts holds a DIFFERENT one for it: "
                    f"{', '.join(p.known_fingerprints) or '(see known_hosts)'}. Someone may be intercepting the "
                    "connection. hvdeck will not replace a known key; if the host was really reinstalled, "
                    f"remove the old line yourself:\n  ssh-keygen -R '{p.pattern}' -f {p.known_hosts}", newlines=True))
            else:
                yield Static(fmt.host_text(
                    "hvdeck has never seen this host's key. Compare the fingerprint with the one the host's "
                    "administrator gives you (on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub). "
                    f"Trusting it adds one line to {p.known_hosts}."))
            with Horizontal(id="host-key-buttons"):
                yield Button("Not now", id="host-key-no")
                if p.can_trust:
                    yield Button("Trust and connect", id="host-key-yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#host-key-no", Button).focus()

    @on(Button.Pressed, "#host-key-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#host-key-no")
    def _no(self) -> None:
        self.dismiss(False)
