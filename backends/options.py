"""Typed inputs for wizards and parameterised actions, shared by the console's forms and the CLI's flags.

A backend describes what a wizard asks as a `Form` of options — text with a validator, a choice from a
list the host offers, a size with units, a number with bounds, a yes/no — and the same `Form` becomes a
form on screen (``hvdeck.widgets.form``) and flags on the command line (``hvdeck create HOST NAME
--vcpus 4``). Parsing is pure: ``Form.parse(texts)`` gives typed values or `FormErrors` naming every
field at fault with a sentence, so a form can show each error inline and the CLI can print them all.

Forms are static (a class-level description, so ``--help`` needs no host); the choices a host offers
(pools, switches, networks) are filled in with `Form.with_choices` once they have been read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ValidationError

_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``512M``, ``4G``, ``1.5T``, ``4096`` (bytes), ``10GiB`` -> bytes (binary units, as ldm, zfs and
    virsh use them). Raises ValueError."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(text)
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.upper()])


def format_size(n: int) -> str:
    """Bytes in the largest binary unit that divides them exactly: 4G, 1536M, 512K, 100B."""
    for unit in ("P", "T", "G", "M", "K"):
        if n and n % _UNITS[unit] == 0:
            return f"{n // _UNITS[unit]}{unit}"
    return f"{n}B"


@dataclass(frozen=True, slots=True)
class Choice:
    """One value a `ChoiceOption` offers: what is passed on, what is shown, and a detail (free space...)."""

    value: str
    label: str = ""
    detail: str = ""

    @property
    def shown(self) -> str:
        return self.label or self.value


@dataclass(frozen=True, slots=True)
class Option:
    """One input. ``name`` is the key of the parsed value and the CLI flag (``--name``, underscores as
    dashes); ``default`` is text, parsed like user input; an empty optional input parses to None."""

    name: str
    label: str
    help: str = ""
    default: str = ""
    required: bool = True
    placeholder: str = ""
    #: a secret (a password): a form masks it, the command line asks for it on the terminal instead of
    #: taking it as a flag, and nothing shows, logs or audits it
    secret: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        text = text.strip()
        if not text:
            if self.required:
                raise ValidationError(f"{self.label}: required")
            return None
        return self._parse(text)

    def _parse(self, text: str) -> Any:
        return text

    def describe(self) -> str:
        """One line for ``--help``."""
        if self.secret:
            return f"{self.help or self.label} (asked for on the terminal, never shown)"
        default = f" (default {self.default})" if self.default else ""
        return f"{self.help or self.label}{default}"


@dataclass(frozen=True, slots=True)
class TextOption(Option):
    """Free text checked by ``validator`` (returns the value to use, raises ValidationError)."""

    validator: Callable[[str], str] | None = None

    def _parse(self, text: str) -> str:
        if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text):
            raise ValidationError(f"{self.label}: control characters are not allowed")
        return self.validator(text) if self.validator is not None else text


@dataclass(frozen=True, slots=True)
class NumberOption(Option):
    """A whole number between ``low`` and ``high`` (inclusive)."""

    low: int = 0
    high: int = 1 << 31
    unit: str = ""

    def _parse(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValidationError(f"{self.label}: {text!r} is not a whole number") from None
        if not self.low <= value <= self.high:
            raise ValidationError(f"{self.label}: {value} is outside {self.low}–{self.high}{self.unit}")
        return value

    def describe(self) -> str:
        return f"{Option.describe(self)}, {self.low}–{self.high}"


@dataclass(frozen=True, slots=True)
class SizeOption(Option):
    """A size with a binary unit (``512M``, ``20G``) between ``low`` and ``high`` bytes; parses to bytes."""

    low: int = 1
    high: int = 1 << 62

    def _parse(self, text: str) -> int:
        try:
            value = parse_size(text)
        except ValueError:
            raise ValidationError(f"{self.label}: {text!r} is not a size (use a number with K, M, G or T, "
                                  "e.g. 4G)") from None
        if value < self.low:
            raise ValidationError(f"{self.label}: {format_size(value)} is less than {format_size(self.low)}")
        if value > self.high:
            raise ValidationError(f"{self.label}: {format_size(value)} is more than {format_size(self.high)}")
        return value

    def describe(self) -> str:
        return f"{Option.describe(self)}, a size such as 4G"


@dataclass(frozen=True, slots=True)
class ChoiceOption(Option):
    """One of ``choices`` (filled from the host with `Form.with_choices`). With ``free=True`` a value not
    in the list is accepted too (checked by ``validator``): an existing volume path, a bridge name."""

    choices: tuple[Choice, ...] = ()
    free: bool = False
    validator: Callable[[str], str] | None = None

    def _parse(self, text: str) -> str:
        for choice in self.choices:
            if text in (choice.value, choice.label):
                return choice.value
        if self.free:
            return self.validator(text) if self.validator is not None else text
        offered = ", ".join(c.value for c in self.choices[:8]) or "nothing (the host offers none)"
        more = "…" if len(self.choices) > 8 else ""
        raise ValidationError(f"{self.label}: {text!r} is not one of {offered}{more}")


@dataclass(frozen=True, slots=True)
class BoolOption(Option):
    required: bool = False

    def _parse(self, text: str) -> bool:
        lowered = text.lower()
        if lowered in ("y", "yes", "true", "on", "1"):
            return True
        if lowered in ("n", "no", "false", "off", "0"):
            return False
        raise ValidationError(f"{self.label}: answer yes or no, not {text!r}")


class FormErrors(ValidationError):
    """Every field at fault: ``errors`` maps an option's name to its sentence."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()))


@dataclass(frozen=True, slots=True)
class Form:
    """An ordered set of options, plus a check across fields (``check(values)`` returns
    {name: sentence} for combinations the host would refuse: capped and dedicated CPUs together)."""

    title: str
    options: tuple[Option, ...]
    check: Callable[[dict[str, Any]], Mapping[str, str]] | None = field(default=None, compare=False)

    def option(self, name: str) -> Option:
        for option in self.options:
            if option.name == name:
                return option
        raise KeyError(name)

    def with_choices(self, choices: Mapping[str, Iterable[Choice]], **defaults: str) -> "Form":
        """The same form with host-provided choices (and defaults) filled in."""
        options = []
        for option in self.options:
            if isinstance(option, ChoiceOption) and option.name in choices:
                offered = tuple(choices[option.name])
                default = option.default or (offered[0].value if offered and option.required else "")
                option = replace(option, choices=offered, default=default)
            if option.name in defaults:
                option = replace(option, default=defaults[option.name])
            options.append(option)
        return replace(self, options=tuple(options))

    def parse(self, texts: Mapping[str, str]) -> dict[str, Any]:
        """Typed values from texts (missing keys take the option's default). Raises `FormErrors`."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for option in self.options:
            try:
                values[option.name] = option.parse(texts.get(option.name, option.default))
            except ValidationError as exc:
                errors[option.name] = exc.message
        if not errors and self.check is not None:
            errors.update(self.check(values))
        if errors:
            raise FormErrors(errors)
        return values
