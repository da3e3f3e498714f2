"""Messages from the fleet's pollers to the app. They carry immutable data only."""

from __future__ import annotations

from textual.message import Message

from hvdeck.backends.model import HostSnapshot


class FleetUpdated(Message):
    """A host was polled (successfully or not): its new immutable snapshot."""

    def __init__(self, snapshot: HostSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        # only the newest snapshot of a host matters if the UI falls behind
        return isinstance(message, FleetUpdated) and message.snapshot.host == self.snapshot.host


class FleetArrived(Message):
    """Snapshots are waiting in the app's arrivals (`HvdeckApp.take_arrivals`): at most one such message
    is queued at a time, however many hosts report."""
