"""The lifecycle keys, shared by every screen that has a current domain."""

from __future__ import annotations

from textual.binding import Binding

from hvdeck.backends.base import Action
from hvdeck.backends.model import Domain

#: key, action, footer label. The same keys on the fleet and the domain screens.
ACTION_KEYS: tuple[tuple[str, Action, str], ...] = (
    ("s", Action.START, "Start"),
    ("h", Action.SHUTDOWN, "Shutdown"),
    ("r", Action.REBOOT, "Reboot"),
    ("p", Action.SUSPEND, "Pause"),
    ("u", Action.RESUME, "Resume"),
    ("F", Action.FORCE_OFF, "Force off"),
)

ACTION_BINDINGS = [
    Binding(key, f"lifecycle('{action.value}')", label, id=f"domain.{action.value}",
            tooltip=f"{action.label} the highlighted domain (shows the exact operation first)")
    for key, action, label in ACTION_KEYS
]


class DomainActions:
    """Mixin for screens: ``current_domain()`` names the target, the keys above act on it."""

    def current_domain(self) -> Domain | None:
        raise NotImplementedError

    def action_lifecycle(self, name: str) -> None:
        self.app.request_action(self.current_domain(), Action(name))  # type: ignore[attr-defined]
