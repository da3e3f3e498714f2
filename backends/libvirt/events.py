"""libvirt's event loop: the default implementation, run in one daemon thread for the whole process.

Lifecycle events, keepalives and close callbacks are dispatched there and handed to the caller's
asyncio loop with `call_soon_threadsafe`.

Why not libvirtaio: libvirt registers its timers and watches from whichever thread makes a libvirt
call, and libvirtaio turns those into asyncio calls (`ensure_future`, `add_reader`) that are not
thread-safe. hvdeck must make its blocking libvirt calls in worker threads (or the UI freezes), so
with libvirtaio a lifecycle event caused by such a call sat unseen — measured: none arrived within
5 s. libvirt's own default loop wakes itself through a pipe and is safe from any thread (virt-manager
uses it the same way). It also survives many asyncio loops in one process (tests, `hvdeck ls`),
whereas libvirt accepts one event implementation per process, for good.
"""

from __future__ import annotations

import asyncio
import threading

_lock = threading.Lock()
_started = False


def ensure_event_loop() -> None:
    """Start (once per process) the thread that runs libvirt's event loop. Must precede libvirt.open()."""
    global _started
    with _lock:
        if _started:
            return
        import libvirt

        libvirt.virEventRegisterDefaultImpl()
        # quiet libvirt's default handler, which prints every error to stderr under the UI
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _started = True


def call_soon_in(loop: asyncio.AbstractEventLoop, callback: object) -> None:
    """Schedule ``callback()`` on ``loop`` from the libvirt thread; a closed loop is ignored."""
    if loop.is_closed():
        return
    try:
        loop.call_soon_threadsafe(callback)  # type: ignore[arg-type]
    except RuntimeError:
        pass  # the loop closed between the check and the call
