"""Textual key events -> the bytes xterm sends for them, and pasted text -> bytes.

Pure functions, no Textual import: `key_bytes` takes the two things a `textual.events.Key` carries, its
``key`` name (``"ctrl+c"``, ``"shift+up"``, ``"f5"``, ``"alt+x"``) and its ``character``. Names are the ones
Textual 8.2.8 reports from a real terminal (checked under tmux: Ctrl-] is ``ctrl+right_square_bracket``,
Ctrl-Space ``ctrl+@``, Ctrl-H ``backspace`` with the character ``"\\x08"``, Alt-x ``alt+x``).

What is sent (xterm's defaults, ``TERM=xterm``/``vt100``/``linux`` compatible for the unmodified keys):

| key | bytes |
|---|---|
| printable character | its UTF-8 |
| enter, tab, escape | CR, HT, ESC |
| backspace | DEL (0x7f); Ctrl-H (which Textual also names backspace) BS |
| shift+tab | ``CSI Z`` |
| up down right left home end | ``CSI A``.. (``SS3 A``.. in application cursor mode, DECCKM); modified: ``CSI 1;m A`` |
| insert delete pageup pagedown | ``CSI 2~`` ``CSI 3~`` ``CSI 5~`` ``CSI 6~`` (modified: ``CSI 2;m~``) |
| f1-f4 | ``SS3 P``..``SS3 S`` (modified: ``CSI 1;m P``) |
| f5-f12 | ``CSI 15~`` ``17~`` ``18~`` ``19~`` ``20~`` ``21~`` ``23~`` ``24~`` (modified: ``CSI 15;m~``) |
| ctrl+a..ctrl+z | 0x01..0x1a; ctrl+@ / ctrl+space NUL; ctrl+\\ ] ^ _ 0x1c..0x1f |
| alt+key | ESC, then the key's bytes |

``m`` is xterm's modifier parameter: 1 + shift 1 + alt 2 + ctrl 4. A key with no xterm encoding returns None.
"""

from __future__ import annotations

import re
import unicodedata

_CSI = "\x1b["
_SS3 = "\x1bO"

#: cursor keys: final byte (CSI or SS3 depending on DECCKM)
_CURSOR = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
#: keys sent as CSI n ~
_TILDE = {"insert": 2, "delete": 3, "pageup": 5, "pagedown": 6, "f5": 15, "f6": 17, "f7": 18, "f8": 19,
          "f9": 20, "f10": 21, "f11": 23, "f12": 24}
#: F1-F4: SS3 P..S
_PF = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}
_MODIFIER_BITS = {"shift": 1, "alt": 2, "meta": 2, "ctrl": 4}
_SIMPLE = {"enter": "\r", "tab": "\t", "escape": "\x1b", "space": " ", "backspace": "\x7f"}
#: ctrl+ punctuation, by Textual's key names
_CTRL_PUNCT = {"@": "\x00", "at": "\x00", "space": "\x00", "left_square_bracket": "\x1b",
               "backslash": "\x1c", "right_square_bracket": "\x1d", "circumflex_accent": "\x1e",
               "underscore": "\x1f", "question_mark": "\x7f"}


#: Textual's short names for some punctuation (textual.keys.KEY_NAME_REPLACEMENTS)
_KEY_NAME_REPLACEMENTS = {"solidus": "slash", "reverse_solidus": "backslash", "commercial_at": "at",
                          "hyphen_minus": "minus", "plus_sign": "plus", "low_line": "underscore"}


def normalize_key(key: str) -> str:
    """A key as Textual names it, for keys in settings: ``"ctrl+]"`` -> ``"ctrl+right_square_bracket"``,
    ``"ctrl+\\"`` -> ``"ctrl+backslash"``; names already in Textual's form are returned as they are."""
    key = key.strip()
    if key.endswith("+") and len(key) > 1:
        mods, last = key[:-2].split("+") if len(key) > 2 else [], "+"
        mods = [m for m in mods if m]
    else:
        *mods, last = key.split("+")
    if len(last) == 1 and not last.isalnum():
        try:
            last = unicodedata.name(last).lower().replace("-", "_").replace(" ", "_")
        except ValueError:
            pass
        last = _KEY_NAME_REPLACEMENTS.get(last, last)
    return "+".join([*mods, last])


def _split(key: str) -> tuple[set[str], str]:
    parts = key.split("+")
    if key.endswith("+") and len(parts) > 1:  # "ctrl++" is ctrl and plus
        return set(parts[:-2]), "+"
    return set(parts[:-1]), parts[-1]


def key_bytes(key: str, character: str | None, *, app_cursor: bool = False) -> bytes | None:
    """The bytes an xterm sends for a Textual key, or None when it sends nothing for it."""
    text = _key_text(key, character, app_cursor)
    return text.encode("utf-8", "replace") if text is not None else None


def _key_text(key: str, character: str | None, app_cursor: bool) -> str | None:
    mods, base = _split(key)
    if not mods <= set(_MODIFIER_BITS) | {"super", "hyper"}:
        return None
    if "super" in mods or "hyper" in mods:
        return None
    param = 1 + sum({_MODIFIER_BITS[m] for m in mods})  # alt and meta are the same bit
    if base in _CURSOR:
        if param == 1:
            return (_SS3 if app_cursor else _CSI) + _CURSOR[base]
        return f"{_CSI}1;{param}{_CURSOR[base]}"
    if base in _TILDE:
        return f"{_CSI}{_TILDE[base]}~" if param == 1 else f"{_CSI}{_TILDE[base]};{param}~"
    if base in _PF:
        return _SS3 + _PF[base] if param == 1 else f"{_CSI}1;{param}{_PF[base]}"
    if re.fullmatch(r"f(1[3-9]|2[0-4])", base):  # F13-F24: xterm's shift+F1..F12
        n = int(base[1:]) - 12
        name = f"f{n}"
        return _key_text("+".join(sorted(mods | {"shift"})) + "+" + name, None, app_cursor)
    alt = "alt" in mods or "meta" in mods
    prefix = "\x1b" if alt else ""
    if base == "tab" and "shift" in mods:
        return prefix + _CSI + "Z"
    if "ctrl" in mods:
        ctrl = _ctrl(base, character)
        return prefix + ctrl if ctrl is not None else None
    if base == "backspace":
        return prefix + ("\x08" if character == "\x08" else "\x7f")
    if base in _SIMPLE:
        return prefix + _SIMPLE[base]
    if character is not None and len(character) == 1 and character.isprintable():
        return prefix + character
    if len(base) == 1 and base.isprintable():
        return prefix + (base.upper() if "shift" in mods else base)
    return None


def _ctrl(base: str, character: str | None) -> str | None:
    if character is not None and len(character) == 1 and (ord(character) < 0x20 or character == "\x7f"):
        return character
    if len(base) == 1 and base.isascii() and base.isalpha():
        return chr(ord(base.lower()) & 0x1F)
    return _CTRL_PUNCT.get(base)


_PASTE_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")


def paste_bytes(text: str, *, bracketed: bool) -> bytes:
    """Pasted text as a terminal sends it: newlines as CR; inside ``CSI 200~ .. CSI 201~`` when the guest
    asked for bracketed paste (DECSET 2004). Control characters other than tab and newline are removed
    (as xterm does unless allowPasteControls is set), so a paste can neither end the bracket early nor
    carry escape sequences."""
    clean = _PASTE_CONTROLS.sub("", text.replace("\r\n", "\r").replace("\n", "\r"))
    if bracketed:
        clean = "\x1b[200~" + clean + "\x1b[201~"
    return clean.encode("utf-8", "replace")


def key_label(key: str) -> str:
    """A Textual key name as people write it: ``ctrl+right_square_bracket`` -> ``ctrl+]``."""
    from textual.keys import key_to_character

    if "/" in key:  # "ctrl+pageup/ctrl+pagedown": each, their common modifiers once ("ctrl+pgup/pgdn")
        labels = [key_label(part) for part in key.split("/")]
        first, *rest = labels
        prefix = first[:first.rfind("+") + 1]
        if prefix and all(label.startswith(prefix) for label in rest):
            return "/".join([first, *(label[len(prefix):] for label in rest)])
        return "/".join(labels)
    parts = key.split("+")
    last = parts[-1]
    if len(last) > 1:
        try:
            character = key_to_character(last)
        except (KeyError, ValueError):
            character = None
        if character is not None and len(character) == 1 and character.isprintable():
            last = character
    return "+".join([*parts[:-1], {"pageup": "pgup", "pagedown": "pgdn", "escape": "esc"}.get(last, last)])
