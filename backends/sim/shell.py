"""The little shell of a simulated host: splits a command line the way ``sh -c`` would, then runs it.

An SSH exec request carries one string (``SshSession`` sends ``shlex.join(argv)``; an operator types
``ssh host 'ldm list -p; ldm -V'``), and sshd hands it to the login shell. This module understands the
part of the POSIX shell language such strings use, and nothing more:

- words split on blanks, with ``'single'`` quotes, ``"double"`` quotes (where a backslash escapes only
  ``$ ` " \\`` and newline) and backslash escapes outside quotes, as POSIX specifies (``shlex.split``
  agrees on every string ``shlex.join`` produces); backslash-newline joins lines;
- lists: ``;`` and newline run the next command unconditionally, ``&&`` runs it only if the previous one
  succeeded (a newline may follow ``&&``); a quoted ``;`` or ``&&`` is an ordinary argument;
- ``#`` at the start of a word starts a comment that runs to the end of the line;
- leading ``NAME=value`` words are environment assignments (``LANG=C ldm list``) and are dropped: the
  simulated programs print the same thing in every locale.

Anything else that would mean something to sh (pipes, redirections, ``&``, subshells, ``$`` expansions,
backquotes) is refused with a syntax error instead of being passed on as a literal argument.

Errors use dash's wording, because dash is ``/bin/sh`` on the systems the project tests on (checked
against dash 0.5): ``sh: 1: Syntax error: Unterminated quoted string`` with exit status 2,
``sh: 1: NAME: not found`` with 127. The number is the line of the script where the problem is.
Unlike dash, which parses and runs a multi-line script one line at a time, a syntax error anywhere here
means nothing runs.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from enum import Enum

from .sshserver import Reply

_BLANKS = " \t"
#: characters that are operators to sh; only ``;`` and ``&&`` are supported
_OPERATOR_CHARS = ";&|<>()"
#: characters that start an expansion inside double quotes or outside quotes
_EXPANSION_CHARS = "$`"
#: backslash escapes only these inside double quotes (POSIX 2.2.3)
_DOUBLE_QUOTE_ESCAPES = '$`"\\\n'
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")

#: exit statuses of dash
SYNTAX_ERROR_STATUS = 2
NOT_FOUND_STATUS = 127


class Op(Enum):
    """How a command is joined to the one before it."""

    SEQ = ";"  # run unconditionally (also a newline, and the first command of a line)
    AND = "&&"  # run only if the previous command exited 0


@dataclass(frozen=True, slots=True)
class Command:
    argv: tuple[str, ...]
    #: the operator before this command
    op: Op = Op.SEQ
    #: 1-based line of the script the command starts on (dash prints it in its messages)
    line: int = 1


class ShellSyntaxError(ValueError):
    """A command line sh would refuse. ``str(error)`` is dash's message without the ``sh: N:`` prefix."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class CommandNotFound(LookupError):
    """Raised by a ``run_one`` callback for a program the simulated host does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(slots=True)
class _Word:
    line: int
    text: str = ""
    #: index in ``text`` of the first character that came from quoting or an escape, if any
    first_quoted: int | None = None

    def add(self, chars: str, *, quoted: bool) -> None:
        if quoted and self.first_quoted is None:
            self.first_quoted = len(self.text)
        self.text += chars

    @property
    def is_assignment(self) -> bool:
        """An unquoted ``NAME=`` prefix: sh treats the word as a variable assignment."""
        match = _ASSIGNMENT.match(self.text)
        return match is not None and (self.first_quoted is None or self.first_quoted >= match.end())


@dataclass(frozen=True, slots=True)
class _Separator:
    """An operator, or ``op=None`` for a newline."""

    op: Op | None
    line: int


class _Scanner:
    """Turns a script into words and separators in one pass."""

    def __init__(self, script: str) -> None:
        self.text = script
        self.pos = 0
        self.line = 1

    def tokens(self) -> list[_Word | _Separator]:
        tokens: list[_Word | _Separator] = []
        word: _Word | None = None
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in _BLANKS or char == "\n" or char in _OPERATOR_CHARS:
                if word is not None:
                    tokens.append(word)
                    word = None
                if char == "\n":
                    tokens.append(_Separator(None, self.line))
                    self.line += 1
                    self.pos += 1
                elif char in _OPERATOR_CHARS:
                    tokens.append(_Separator(self._operator(), self.line))
                else:
                    self.pos += 1
            elif text.startswith("\\\n", self.pos):  # line continuation: removed, even between words
                self.line += 1
                self.pos += 2
            elif char == "#" and word is None:
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif char in _EXPANSION_CHARS:
                raise ShellSyntaxError(f'"{char}" expansions are not supported', self.line)
            else:
                word = word or _Word(self.line)
                self._word_part(word)
        if word is not None:
            tokens.append(word)
        return tokens

    def _operator(self) -> Op:
        text, start = self.text, self.pos
        if text.startswith("&&", start):
            self.pos += 2
            return Op.AND
        if text.startswith(";;", start):
            raise ShellSyntaxError('";;" unexpected', self.line)
        if text[start] == ";":
            self.pos += 1
            return Op.SEQ
        symbol = "||" if text.startswith("||", start) else text[start]
        raise ShellSyntaxError(f'"{symbol}" is not supported', self.line)

    def _word_part(self, word: _Word) -> None:
        """Consume one unquoted character, escape, or quoted string into ``word``."""
        text = self.text
        char = text[self.pos]
        if char == "\\":
            if self.pos + 1 >= len(text):  # a trailing backslash stays, as in dash
                word.add("\\", quoted=False)
                self.pos += 1
            else:
                word.add(text[self.pos + 1], quoted=True)
                self.pos += 2
        elif char == "'":
            end = text.find("'", self.pos + 1)
            if end < 0:
                raise ShellSyntaxError("Unterminated quoted string", self.line)
            chunk = text[self.pos + 1:end]
            word.add(chunk, quoted=True)
            self.line += chunk.count("\n")
            self.pos = end + 1
        elif char == '"':
            self._double_quoted(word)
        else:
            word.add(char, quoted=False)
            self.pos += 1

    def _double_quoted(self, word: _Word) -> None:
        text, start_line = self.text, self.line
        self.pos += 1
        word.add("", quoted=True)
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return
            if char in _EXPANSION_CHARS:
                raise ShellSyntaxError(f'"{char}" expansions are not supported', self.line)
            if char == "\\" and self.pos + 1 < len(text) and text[self.pos + 1] in _DOUBLE_QUOTE_ESCAPES:
                escaped = text[self.pos + 1]
                if escaped == "\n":
                    self.line += 1
                else:
                    word.add(escaped, quoted=True)
                self.pos += 2
                continue
            if char == "\n":
                self.line += 1
            word.add(char, quoted=True)
            self.pos += 1
        raise ShellSyntaxError("Unterminated quoted string", start_line)


def split_commands(script: str) -> list[Command]:
    """The commands of ``script`` in order, each with the operator that joins it to the one before.

    Blank lines and a trailing ``;`` are fine; an empty command before ``;`` or ``&&``, or nothing after
    ``&&``, is a syntax error, as in dash (a newline may follow ``&&``). Raises `ShellSyntaxError`
    (a ``ValueError``) for unbalanced quotes and unsupported syntax.
    """
    scanner = _Scanner(script)
    commands: list[Command] = []
    words: list[_Word] = []
    op = Op.SEQ
    for token in scanner.tokens():
        if isinstance(token, _Word):
            words.append(token)
        elif words:
            commands.append(_command(words, op))
            words = []
            op = token.op or Op.SEQ
        elif token.op is not None:
            raise ShellSyntaxError(f'"{token.op.value}" unexpected', token.line)
        # else: a blank line, or a newline after `&&`; the pending operator still applies
    if words:
        commands.append(_command(words, op))
    elif op is Op.AND:
        raise ShellSyntaxError("end of file unexpected", scanner.line)
    return commands


def _command(words: list[_Word], op: Op) -> Command:
    first = 0
    while first < len(words) and words[first].is_assignment:
        first += 1
    return Command(tuple(word.text for word in words[first:]), op, words[0].line)


RunOne = Callable[[Sequence[str]], Reply]


def _script(script: str) -> Generator[Command, Reply, Reply]:
    """What ``;`` and ``&&`` mean, once for `run_line` and `run_line_async`: yields each command that is to
    run and takes its reply (`_ran`); returns the script's reply (the output of the commands that ran,
    concatenated; the exit status of the last one, 0 for an empty line; a syntax error as sh reports it)."""
    try:
        commands = split_commands(script)
    except ShellSyntaxError as error:
        return Reply("", f"sh: {error.line}: Syntax error: {error}\n", SYNTAX_ERROR_STATUS)
    stdout: list[str] = []
    stderr: list[str] = []
    status = 0
    for command in commands:
        if command.op is Op.AND and status != 0:
            continue
        if not command.argv:
            status = 0
            continue
        reply = yield command
        stdout.append(reply.stdout)
        stderr.append(reply.stderr)
        status = reply.exit_status
    return Reply("".join(stdout), "".join(stderr), status)


def _not_found(command: Command, missing: CommandNotFound) -> Reply:
    return Reply("", f"sh: {command.line}: {missing.name}: not found\n", NOT_FOUND_STATUS)


def run_line(script: str, run_one: RunOne) -> Reply:
    """Run every command of ``script`` through ``run_one(argv)``, honouring ``;`` and ``&&``.

    Output of the commands that ran is concatenated; the exit status is the last one run (0 for an
    empty line). ``run_one`` raises `CommandNotFound` for unknown programs. A command made only of
    assignments does nothing and succeeds.
    """
    steps = _script(script)
    reply: Reply | None = None
    while True:
        try:
            command = steps.send(reply)  # type: ignore[arg-type]  # the first send starts it (None)
        except StopIteration as done:
            return done.value
        try:
            reply = run_one(command.argv)
        except CommandNotFound as missing:
            reply = _not_found(command, missing)


AsyncRunOne = Callable[[Sequence[str]], Awaitable[Reply]]


async def run_line_async(script: str, run_one: AsyncRunOne) -> Reply:
    """`run_line` for commands that take a while or read their input: ``await run_one(argv)`` for each."""
    steps = _script(script)
    reply: Reply | None = None
    while True:
        try:
            command = steps.send(reply)  # type: ignore[arg-type]  # the first send starts it (None)
        except StopIteration as done:
            return done.value
        try:
            reply = await run_one(command.argv)
        except CommandNotFound as missing:
            reply = _not_found(command, missing)
