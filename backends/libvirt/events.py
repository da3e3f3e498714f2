"""libvirt's event loop, run by libvirtaio on an asyncio loop of its own in a daemon thread.

libvirt accepts one event implementation per process, for the life of the process
(`virEventRegisterImpl` raises "Event loop is already registered" the second time). Binding it to the
UI's loop would tie every later loop (each test, `hvdeck ls`) to a dead one, so hvdeck gives libvirt a
private loop in a thread and hops back to the caller's loop with `call_soon_threadsafe`. Lifecycle
events, keepalives and close callbacks all run there; blocking API calls still go to worker threads.
"""

from __future__ import annotations

import asyncio
import threading

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def ensure_event_loop() -> asyncio.AbstractEventLoop:
    """Start (once per process) the thread that runs libvirt's event loop. Must precede libvirt.open()."""
    global _loop
    with _lock:
        if _loop is not None:
            return _loop
        import libvirt
        import libvirtaio

        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                libvirtaio.virEventRegisterAsyncIOImpl(loop=loop)
            except BaseException as exc:  # noqa: BLE001 - reported to the caller below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        ready.wait()
        if failure:
            raise failure[0]
        # quiet libvirt's default handler, which prints every error to stderr under the UI
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        _loop = loop
        return loop


def call_soon_in(loop: asyncio.AbstractEventLoop, callback: object) -> None:
    """Schedule ``callback()`` on ``loop`` from the libvirt thread; a closed loop is ignored."""
    if loop.is_closed():
        return
    try:
        loop.call_soon_threadsafe(callback)  # type: ignore[arg-type]
    except RuntimeError:
        pass  # the loop closed between the check and the call
