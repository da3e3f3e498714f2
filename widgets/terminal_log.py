"""Console session logs: the bytes a guest sent, to a file the user names, raw or as plain text.

`PlainText` turns a byte stream into the text a reader of a log wants, with the terminal emulator's own
parser (so a sequence split between two reads is handled the same way as on screen): printed characters
and line ends are kept; escape sequences, OSC/DCS strings (titles, clipboard writes) and other controls
are dropped; a backspace removes the character before it on the current line (what ``col -b`` does);
carriage returns are dropped; bidirectional overrides and other invisible format characters are dropped,
as on screen. Cursor-addressed screens (vi, top) come out as the text they drew, in the order drawn.

`SessionLog` appends to a file created with mode 0600 (a console shows passwords typed at a prompt that
echoes, and whatever the guest prints).
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import Any, BinaryIO

from .vt import _classify, _Parser


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


class _TextSink:
    """Stands in for a screen: keeps drawn text and line ends, ignores everything else."""

    columns = 80
    lines = 24

    def __init__(self) -> None:
        self.out: list[str] = []
        self.line: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return _noop

    def draw(self, text: str) -> None:
        if not text.isascii():  # format characters (bidi overrides, joiners, soft hyphens) as on screen
            text = "".join(ch for ch in text if ch.isascii() or _classify(ch) >= 0)
        self.line.append(text)

    def linefeed(self) -> None:
        self.out.append("".join(self.line).rstrip(" ") + "\n")
        self.line = []

    index = linefeed
    next_line = linefeed

    def tab(self) -> None:
        self.line.append("\t")

    def backspace(self) -> None:
        text = "".join(self.line)
        self.line = [text[:-1]] if text else []

    def take(self, *, final: bool = False) -> str:
        text = "".join(self.out)
        self.out = []
        if final and self.line:
            text += "".join(self.line)
            self.line = []
        return text


class PlainText:
    """bytes -> log text, incrementally. ``feed`` returns the complete lines so far; ``close`` the rest."""

    def __init__(self) -> None:
        self._sink = _TextSink()
        self._parser = _Parser(self._sink)  # type: ignore[arg-type]
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, data: bytes) -> str:
        self._parser.feed(self._decoder.decode(data))
        return self._sink.take()

    def close(self) -> str:
        self._parser.feed(self._decoder.decode(b"", final=True))
        return self._sink.take(final=True)


class SessionLog:
    """Writes a console session to ``path``: ``raw=True`` the bytes as received, else `PlainText`.

    Use as a context manager, or call `close`. Appends (a reattached console continues its log).
    Raises OSError when the file cannot be opened.
    """

    def __init__(self, path: str | Path, *, raw: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.raw = raw
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file: BinaryIO = os.fdopen(fd, "ab")
        self._text = None if raw else PlainText()

    def write(self, data: bytes) -> None:
        if self._text is None:
            self._file.write(data)
        else:
            self._file.write(self._text.feed(data).encode("utf-8"))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        if self._text is not None:
            self._file.write(self._text.close().encode("utf-8"))
        self._file.close()

    def __enter__(self) -> SessionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
