"""The zonecfg command language: commands, tokens and property values (illumos zonecfg_lex.l, with the
shapes zonecfg_grammar.y accepts).

A command starts with a keyword; the tokens after it are words, ``"quoted strings"``, and the separators
``=``, ``[``, ``]``, ``(``, ``)``; a comma separates only inside ``[...]`` and ``(...)`` (zonecfg_lex.l's
TSTATE token excludes ``;=[]()`` but not commas, so ``set limitpriv=default,dtrace_proc`` is one value).
``;`` and newlines end commands, ``#`` starts a comment. A word that is not a command keyword is a syntax
error at its first character (the lexer's catch-all rule returns one character).
"""

from __future__ import annotations

from dataclasses import dataclass

_COMMANDS = ("add", "cancel", "clear", "commit", "create", "delete", "end", "exit", "export", "help", "?",
             "info", "remove", "revert", "select", "set", "verify")


class SyntaxError_(Exception):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


class ZonecfgExit(Exception):
    """zonecfg calls exit(Z_ERR) in the middle of a command."""


@dataclass
class Token:
    text: str
    sep: bool = False  # one of = [ ] ( ) ,


@dataclass
class Command:
    name: str
    tokens: list[Token]
    line: int


def lex(script: str) -> list[Command | SyntaxError_]:
    """Commands of a script; a lexical error becomes a `SyntaxError_` item where its command would be."""
    commands: list[Command | SyntaxError_] = []
    pos, line, length = 0, 1, len(script)
    while pos < length:
        char = script[pos]
        if char in " \t;":
            pos += 1
            continue
        if char == "\n":
            line += 1
            pos += 1
            continue
        if char == "#":
            while pos < length and script[pos] != "\n":
                pos += 1
            continue
        start = pos
        while pos < length and script[pos] not in " \t\n;":
            pos += 1
        word = script[start:pos]
        if word not in _COMMANDS:
            commands.append(SyntaxError_(word[0]))
            while pos < length and script[pos] not in "\n;":
                pos += 1
            continue
        tokens: list[Token] = []
        nesting: list[str] = []  # open "[" and "(": commas separate only inside them (LSTATE, CSTATE)
        while pos < length and script[pos] not in "\n;":
            char = script[pos]
            if char in " \t":
                pos += 1
            elif char in "=[]()" or (char == "," and nesting):
                if char in "[(":
                    nesting.append(char)
                elif char in "])" and nesting and nesting[-1] == "[("[char == ")"]:
                    nesting.pop()
                tokens.append(Token(char, sep=True))
                pos += 1
            elif char == '"':
                end = script.find('"', pos + 1)
                newline = script.find("\n", pos + 1)
                if end < 0 or (0 <= newline < end):
                    end = newline if newline >= 0 else length
                    tokens.append(Token(script[pos + 1:end]))
                    pos = end
                else:
                    tokens.append(Token(script[pos + 1:end]))
                    pos = end + 1
            else:
                stop = " \t\n\";=[]()" + ("," if nesting else "")
                begin = pos
                while pos < length and script[pos] not in stop:
                    pos += 1
                tokens.append(Token(script[begin:pos]))
        commands.append(Command("help" if word == "?" else word, tokens, line))
    return commands


Value = str | list[str] | list[tuple[str, str]] | list[list[tuple[str, str]]]


def value_at(tokens: list[Token], at: int) -> tuple[Value, int]:
    """A property value at ``tokens[at]``: simple, ``[a,b]`` list (of simple or complex values), or a
    complex ``(k=v,...)``. Returns the value and the index after it."""
    if at >= len(tokens):
        raise SyntaxError_("\\n")
    token = tokens[at]
    if not token.sep:
        return token.text, at + 1
    if token.text == "(":
        return _complex(tokens, at)
    if token.text != "[":
        raise SyntaxError_(token.text)
    items: list = []
    at += 1
    while at < len(tokens) and not (tokens[at].sep and tokens[at].text == "]"):
        if tokens[at].sep and tokens[at].text == "(":
            item, at = _complex(tokens, at)
            items.append(item)
        elif tokens[at].sep and tokens[at].text == ",":
            at += 1
            continue
        elif tokens[at].sep:
            raise SyntaxError_(tokens[at].text)
        else:
            items.append(tokens[at].text)
            at += 1
    if at >= len(tokens):
        raise SyntaxError_("\\n")
    return items, at + 1


def _complex(tokens: list[Token], at: int) -> tuple[list[tuple[str, str]], int]:
    pairs: list[tuple[str, str]] = []
    at += 1
    while at < len(tokens):
        if tokens[at].sep and tokens[at].text == ")":
            return pairs, at + 1
        if tokens[at].sep and tokens[at].text == ",":
            at += 1
            continue
        if at + 2 >= len(tokens) or tokens[at].sep or not (tokens[at + 1].sep and tokens[at + 1].text == "=") \
                or tokens[at + 2].sep:
            raise SyntaxError_(tokens[min(at + 1, len(tokens) - 1)].text)
        pairs.append((tokens[at].text, tokens[at + 2].text))
        at += 3
    raise SyntaxError_("\\n")


def assignments(tokens: list[Token]) -> list[tuple[str, Value]]:
    """``name=value`` pairs (set, select, remove, info filters)."""
    pairs: list[tuple[str, Value]] = []
    at = 0
    while at < len(tokens):
        if tokens[at].sep or at + 1 >= len(tokens) or not (tokens[at + 1].sep and tokens[at + 1].text == "="):
            raise SyntaxError_(tokens[at].text if at < len(tokens) else "\\n")
        value, after = value_at(tokens, at + 2)
        pairs.append((tokens[at].text, value))
        at = after
    return pairs
