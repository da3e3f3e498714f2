"""What every hvdeck screen and dialog shares: the keys that work everywhere, the footer that always
shows Quit and Help, the route of worker failures to the app's one handler, and the guard that keeps a
dialog from being confirmed by keys typed before it was drawn.

Keys typed in one burst (a paste, a fast typist, `tmux send-keys`) are all queued before the first of
them has opened anything. A dialog that opens in the middle of such a burst must not act on the rest of
it: `GuardedModal` accepts only keys whose timestamp (``events.Key.time``, taken when the terminal's
bytes were read) is later than its first paint plus `KEY_GUARD_S`. `HvdeckApp.on_event` applies it
before any widget or binding sees the key; Escape is always accepted (it only cancels).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalGroup
from textual.geometry import Size
from textual.layout import DockArrangeResult
from textual.screen import ModalScreen, Screen, ScreenResultType
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from ..app import HvdeckApp

#: seconds after a dialog's first paint during which keys are still taken as typed before it was seen
KEY_GUARD_S = 0.03

#: app actions whose keys the footer pins to its right edge, so that they are never cut off
PINNED_ACTIONS = ("quit", "app.quit", "help", "app.help")

#: the keys that work on every screen and dialog (an app's bindings do not reach past a modal screen)
GLOBAL_BINDINGS: list[BindingType] = [
    Binding("question_mark", "app.help", "Help", id="app.help", tooltip="The keys of this screen"),
    Binding("f1", "app.help", "Help", show=False, id="app.help-f1", tooltip="The keys of this screen"),
    Binding("ctrl+t", "app.toggle_theme", "Light/dark", show=False, id="app.theme",
            tooltip="Switch between the light and the dark theme"),
]


class HvdeckFooter(Footer):
    """The footer, with the palette key, Help and Quit pinned to the right edge, so that a narrow
    terminal cuts the screen's other keys, never these."""

    DEFAULT_CSS = """
    HvdeckFooter HorizontalGroup.-pinned { dock: right; width: auto; height: 1; }
    HvdeckFooter HorizontalGroup.-pinned FooterKey.-command-palette { dock: none; }
    """

    #: below this many columns the keys are drawn without padding (more of them fit)
    COMPACT_BELOW = 120

    _shown: tuple[tuple[object, ...], ...] | None = None
    #: while something covers the footer (the fleet filter's prompt), it does not follow the focus
    _held = False

    def hold(self, held: bool) -> None:
        """Stop following the keys while covered, or follow them again (and catch up)."""
        self._held = held
        if not held and self.is_attached:
            # in the footer's own context, as Textual calls it: a recompose from the screen's context (the
            # caller's) could not bind the keys' data to the footer, and stopped the app
            self.call_later(self.bindings_changed, self.screen)

    def on_resize(self, event: events.Resize) -> None:
        self.compact = event.size.width < self.COMPACT_BELOW
        for key in self.query_children(FooterKey):  # wider: the keys hidden before may fit now
            key.display = True

    def arrange(self, size: Size, optimal: bool = False) -> DockArrangeResult:
        """Textual's arrangement; keys that the pinned ones would cut are hidden right after it (a key cut
        mid-word, "s S", reads as another key), the rest stay in their order. Done here because this is
        when the keys' places are known: after new keys, a new width, the compact style."""
        result = super().arrange(size, optimal)
        pinned = next((p.region.x for p in result.placements if p.widget.has_class("-pinned")), size.width)
        keys = [p for p in result.placements if isinstance(p.widget, FooterKey)]
        cut = next((i for i, p in enumerate(keys) if p.region.right > pinned), None)
        if cut is not None:
            self.call_later(self._hide, [p.widget for p in keys[cut:]])
        return result

    @staticmethod
    def _hide(keys: list[Widget]) -> None:
        for key in keys:
            key.display = False

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Recompose only when the keys shown change. Every focus change (the filter box opening, a
        dialog closing) changes the active bindings, mostly not the shown ones, and a recompose mounts
        and styles every key again: some 10 ms of a keystroke at fleet size."""
        if self._held:
            return
        shown = tuple((binding.key, binding.action, binding.description, enabled, tooltip)
                      for _node, binding, enabled, tooltip in screen.active_bindings.values() if binding.show)
        if shown == self._shown:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown  # a recompose is on its way (`Footer.bindings_changed`)

    def compose(self) -> ComposeResult:
        pinned: list[FooterKey] = []
        for widget in super().compose():
            if isinstance(widget, FooterKey) and (widget.action in PINNED_ACTIONS
                                                  or widget.has_class("-command-palette")):
                pinned.append(widget)
            else:
                yield widget
        if pinned:
            # one docked group: widgets docked to the same edge one by one would overlap
            # the palette key, Help, then Quit at the edge
            pinned.sort(key=lambda w: (not w.has_class("-command-palette"),
                                      w.action in ("quit", "app.quit")))
            yield HorizontalGroup(*pinned, classes="-pinned")


class UsesApp:
    """Mixin: ``self.hvdeck`` is the running `HvdeckApp`, typed — the facade screens use (its public
    methods and the store), instead of ``self.app``, which Textual types as any App."""

    @property
    def hvdeck(self) -> HvdeckApp:
        return cast("HvdeckApp", self.app)  # type: ignore[attr-defined]


class WorkerErrors(UsesApp):
    """Mixin for screens: a worker of this screen that fails goes to the app's one handler
    (`HvdeckApp.worker_failed`), which calls `worker_failed` here and tells the user.

    Override `worker_failed` to show the failure in the screen's own place (an error line, a dialog's
    result) and to leave any busy state; return True when the screen has shown it itself."""

    def _on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # the underscore name is Textual's naming-convention handler, called for every class of the MRO
        # (an @on handler in a mixin would not be registered): a screen's own on_worker_state_changed runs too
        if event.state is WorkerState.ERROR:
            self.hvdeck.worker_failed(self, event.worker)  # type: ignore[arg-type]

    def worker_failed(self, worker: Worker, text: str) -> bool:
        return False


class HvdeckScreen(WorkerErrors, Screen):
    """A full screen of hvdeck."""


class GuardedModal(WorkerErrors, ModalScreen[ScreenResultType]):
    """A dialog: the global keys work on it, and keys typed before it was drawn are dropped."""

    BINDINGS: ClassVar[list[BindingType]] = GLOBAL_BINDINGS

    #: monotonic time (the clock of `events.Key.time`) from which keys are taken; +inf until first paint
    keys_after: float = float("inf")

    def _on_mount(self, event: events.Mount) -> None:
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self.keys_after = time.monotonic() + KEY_GUARD_S

    def accepts_key(self, event: events.Key) -> bool:
        """Was ``event`` typed after this dialog was on screen? Escape always is (it only cancels)."""
        return event.key == "escape" or event.time >= self.keys_after
