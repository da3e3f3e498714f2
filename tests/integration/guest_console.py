"""The tiny test guest's serial console through libvirt (``virDomainOpenConsole`` on a non-blocking stream):
run one shell command and read its output. The guest's shell prompt is ``tinyguest# ``
(scripts/testbed/tiny_guest.sh); a pty console drops what the guest prints while nobody is attached, so a
command is sent only once the console is open."""

from __future__ import annotations

import threading
import time
import uuid

import libvirt

from hvdeck.backends.libvirt.events import ensure_event_loop


class GuestConsole:
    def __init__(self, uri: str, name: str) -> None:
        ensure_event_loop()
        self.conn = libvirt.open(uri)
        self.buffer = bytearray()
        self.changed = threading.Event()
        self.hung_up = False
        self.stream = self.conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        self.conn.lookupByName(name).openConsole(None, self.stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        self.stream.eventAddCallback(libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_HANGUP
                                     | libvirt.VIR_STREAM_EVENT_ERROR, self._on_event, None)

    def _on_event(self, stream: libvirt.virStream, events: int, _opaque: object) -> None:
        if events & libvirt.VIR_STREAM_EVENT_READABLE:
            try:
                data = stream.recv(4096)
            except libvirt.libvirtError:
                data = b""
            if isinstance(data, bytes) and data:
                self.buffer.extend(data)
        if events & (libvirt.VIR_STREAM_EVENT_HANGUP | libvirt.VIR_STREAM_EVENT_ERROR):
            self.hung_up = True
        self.changed.set()

    def expect(self, marker: bytes, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while marker not in self.buffer and not self.hung_up and time.monotonic() < end:
            self.changed.wait(0.05)
            self.changed.clear()
        return marker in self.buffer

    def run(self, command: str, timeout: float = 20.0) -> str | None:
        """``command``'s output, or None when the shell did not answer within ``timeout`` seconds."""
        tag = uuid.uuid4().hex[:10]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.buffer.clear()
            # the quoted suffix keeps the echoed command line from matching the end marker
            self.stream.send(f"\necho @{tag}'B'; {command}; echo @{tag}'E'\n".encode())
            if self.expect(f"@{tag}E".encode(), min(5.0, max(0.1, end - time.monotonic()))):
                text = bytes(self.buffer).decode(errors="replace").replace("\r", "")
                return text.split(f"@{tag}B\n", 1)[-1].split(f"@{tag}E", 1)[0].strip()
        return None

    def close(self) -> None:
        try:
            self.stream.eventRemoveCallback()
            self.stream.abort()
        except libvirt.libvirtError:
            pass
        self.conn.close()

    def __enter__(self) -> GuestConsole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def guest_run(uri: str, name: str, command: str, timeout: float = 60.0) -> str | None:
    """Run ``command`` in the guest through its console (waiting for a booting guest's shell)."""
    with GuestConsole(uri, name) as console:
        return console.run(command, timeout)
