"""The lifecycle keys, shared by every screen that has a current domain."""

from __future__ import annotations

from textual.binding import Binding

from hvdeck.backends.base import Action
from hvdeck.backends.model import Domain

from ..wizards.migrate import open_migration
from .base import UsesApp

#: key, action, footer label. The same keys on the fleet and the domain screens.
ACTION_KEYS: tuple[tuple[str, Action, str], ...] = (
    ("s", Action.START, "Start"),
    ("h", Action.SHUTDOWN, "Shutdown"),
    ("r", Action.REBOOT, "Reboot"),
    ("p", Action.PAUSE, "Pause"),
    ("u", Action.UNPAUSE, "Unpause"),
    ("F", Action.FORCE_OFF, "Force off"),
)

#: the rest are in the action menu (a), the palette and the README's key table; the footer has no room
_IN_FOOTER = {Action.START, Action.SHUTDOWN, Action.FORCE_OFF}

ACTION_BINDINGS = [
    Binding("a", "actions", "Actions", id="domain.actions",
            tooltip="Every action for the domain; unavailable ones say why"),
    Binding("c", "console", "Console", id="domain.console",
            tooltip="The domain's console, in a pane under the table"),
    *(Binding(key, f"lifecycle('{action.value}')", label, id=f"domain.{action.value}",
              show=action in _IN_FOOTER,
              tooltip=f"{action.label} the domain (the exact operation is shown first)")
      for key, action, label in ACTION_KEYS),
    Binding("m", "migrate", "Migrate", id="domain.migrate", show=False,
            tooltip="Move the domain live to another host (checks, then the plan)"),
]


class DomainActions(UsesApp):
    """Mixin for screens: ``current_domain()`` names the target, the keys above act on it."""

    def current_domain(self) -> Domain | None:
        raise NotImplementedError

    def action_lifecycle(self, name: str) -> None:
        self.hvdeck.request_action(self.current_domain(), Action(name))

    def action_actions(self) -> None:
        self.hvdeck.open_action_menu(self.current_domain())

    def action_migrate(self) -> None:
        open_migration(self.hvdeck, self.current_domain())

    def action_console(self) -> None:
        self.hvdeck.attach_console(self.current_domain())
