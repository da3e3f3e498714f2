"""When Python's cycle collector runs in the console: between keys, not in the middle of one.

At fleet size the console holds some 200,000 objects that the garbage collector tracks (a row, its
domain and their tuples for each of 20,000 domains), and every poll replaces a host's rows. Left to
itself, CPython then runs a full (generation 2) collection every two or three seconds, and each one
stops the UI loop for 50-180 ms: a cursor key that lands behind one waits for it (measured with 500
hosts in tmux; see docs/architecture.md, "The console").

`QuietCollector` keeps the young generations automatic (they are cheap: a few ms) and runs the full
collection itself when the user has not pressed a key or clicked for `quiet_s` seconds, at most once per
`every_s`, and in any case after `most_s` (so that garbage in reference cycles is still reclaimed when the
user types without a break). The objects alive after start-up (modules, classes, styles) are frozen out
of every collection (`gc.freeze`): they live as long as the process.

Most garbage is freed by reference counting as it goes; only objects in reference cycles wait for a full
collection, so memory stays bounded by what `most_s` seconds of polls leave in cycles.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

#: the generation-2 threshold that keeps CPython from starting full collections on its own (it counts
#: generation-1 collections, a few per second)
NEVER = 1 << 30


class QuietCollector:
    """The console process's full garbage collections, timed by user input.

    ``clock`` is in seconds (monotonic). `start` changes the interpreter's collector settings (process
    wide) and `stop` restores them; `input_seen` is called for every key and click; `tick` about once a
    second decides whether to collect now and returns whether it did.
    """

    def __init__(self, clock: Callable[[], float], *, quiet_s: float = 1.0, every_s: float = 20.0,
                 most_s: float = 300.0) -> None:
        self.clock = clock
        self.quiet_s = quiet_s
        self.every_s = every_s
        self.most_s = most_s
        self.collections = 0
        self._last_input = clock()
        self._last_collect = clock()
        self._saved: tuple[int, int, int] | None = None

    @property
    def started(self) -> bool:
        return self._saved is not None

    def start(self) -> None:
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        gc.collect()
        gc.freeze()  # what start-up left is never scanned again
        young, middle, _ = self._saved
        gc.set_threshold(young, middle, NEVER)
        self._last_collect = self.clock()

    def stop(self) -> None:
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        gc.unfreeze()
        self._saved = None

    def input_seen(self) -> None:
        self._last_input = self.clock()

    def due(self) -> bool:
        """Whether a full collection should run now."""
        now = self.clock()
        since = now - self._last_collect
        return since >= self.most_s or (since >= self.every_s and now - self._last_input >= self.quiet_s)

    def tick(self) -> bool:
        if self._saved is None or not self.due():
            return False
        gc.collect()
        self.collections += 1
        self._last_collect = self.clock()
        return True
