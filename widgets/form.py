"""A `hvdeck.backends.options.Form` drawn as a form: one field per option, checked as you type.

Each option becomes a row — its label, then its input — with its help under it and its error under that:

- `TextOption`, `NumberOption`, `SizeOption`: a text box; every change is parsed with the option's own
  ``parse`` (the same code the command line's flags go through) and a failure is shown under the field at
  once. A field the user has not touched yet does not say "required" until the form is checked as a whole.
- `ChoiceOption`: a drop-down of what the host offers, each choice with its detail (free space, a
  snapshot's clones…); an optional one can be left blank. A ``free`` choice is a text box that suggests
  the offered values as you type, and lists them under it.
- `BoolOption`: a checkbox that reads yes or no.

The form-level check (``Form.check``) and the errors a backend raises for the host's own limits
(`FormErrors`, name → sentence) are shown with `show_errors`, each under its field. Everything shown that
can come from a host — labels naming a domain, choices and their details, errors — is made visible
(`format.visible`) and passed as text, never as markup.

Keys: Tab and Shift+Tab move between the fields in their order; Space ticks a yes/no field. The widget never
submits anything itself: the screen that holds it decides what Enter does (and guards against keys typed
before it was drawn).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from hvdeck.backends.errors import ValidationError
from hvdeck.backends.options import (
    BoolOption,
    ChoiceOption,
    Form,
    FormErrors,
    NumberOption,
    Option,
    SizeOption,
)

from .format import visible

#: how many of a free choice's offered values are listed under it
LISTED_CHOICES = 6
_YES = ("y", "yes", "true", "on", "1")


def choice_prompt(value: str, label: str, detail: str) -> Text:
    """One line of a drop-down: the choice, then its detail dimmed (host text, made visible)."""
    text = Text(visible(label or value))
    if detail:
        text.append(f"   {visible(detail)}", style="dim")
    return text


class FormCheckbox(Checkbox, inherit_bindings=False):
    """A yes/no field: Space ticks it; Enter is left to the screen (a wizard's Next), as in a text box."""

    BINDINGS = [Binding("space", "toggle_button", "Toggle", show=False)]


class FormView(Vertical):
    """The fields of ``form``, with ``values`` ({option name: text}) filled in over the options' defaults.

    Messages: `FormView.Changed` (``on_form_view_changed``) after a field was edited."""

    DEFAULT_CSS = """
    FormView { height: auto; }
    FormView .form-field { height: auto; margin-bottom: 1; }
    FormView .form-row { height: auto; }
    FormView .form-label { width: 22; padding-right: 1; text-style: bold; }
    FormView .form-label.-optional { text-style: none; }
    FormView .form-input { width: 1fr; }
    FormView Input.form-input, FormView Select.form-input { height: 1; }
    FormView .form-help { color: $text-muted; padding-left: 22; height: auto; }
    FormView .form-offered { color: $text-muted; padding-left: 22; height: auto; }
    FormView .form-error { color: $error; padding-left: 22; height: auto; display: none; }
    FormView .form-error.-shown { display: block; }
    FormView .form-field.-hidden { display: none; }
    """

    class Changed(Message):
        """A field was edited (typed into, chosen, ticked)."""

        def __init__(self, form_view: FormView, name: str) -> None:
            super().__init__()
            self.form_view = form_view
            self.name = name

        @property
        def control(self) -> FormView:
            return self.form_view

    def __init__(self, form: Form, *, values: Mapping[str, str] | None = None, id: str | None = None,
                 classes: str | None = None, field_checks: Mapping[str, Callable[[str], str | None]] | None = None
                 ) -> None:
        super().__init__(id=id, classes=classes)
        self.form = form
        self._initial = dict(values or {})
        #: option name -> a check of its text beyond the option's own (a name the host already has), as you type
        self.field_checks = dict(field_checks or {})
        #: fields the user has edited: only these say "required" before the whole form is checked
        self._touched: set[str] = set()
        #: errors shown now, by option name
        self.errors: dict[str, str] = {}

    # -- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        for option in self.form.options:
            with Vertical(classes="form-field", id=f"field-{option.name}"):
                with Horizontal(classes="form-row"):
                    yield Label(Text(visible(option.label)),
                                classes="form-label" + ("" if option.required else " -optional"))
                    yield self._input(option)
                optional = not option.required and not isinstance(option, BoolOption)
                if option.help or optional:
                    help_text = Text("optional" + (" · " if option.help else ""), style="italic") if optional \
                        else Text()
                    help_text.append(visible(option.help))
                    yield Static(help_text, classes="form-help")
                if isinstance(option, ChoiceOption) and option.free and option.choices:
                    yield Static(self._offered(option), classes="form-offered")
                yield Static("", classes="form-error", id=f"error-{option.name}")

    def _input(self, option: Option) -> Widget:
        text = self._initial.get(option.name, option.default)
        widget_id = f"input-{option.name}"
        if isinstance(option, BoolOption):
            value = text.strip().lower() in _YES
            return FormCheckbox(Content("yes" if value else "no"), value, id=widget_id, classes="form-input",
                                compact=True)
        if isinstance(option, ChoiceOption) and not option.free:
            options = [(choice_prompt(c.value, c.label, c.detail), c.value) for c in option.choices]
            values = {c.value for c in option.choices}
            prompt = "choose…" if options else "the host offers none"
            if not option.required:
                prompt = "none" if options else prompt
            return Select(options, prompt=prompt, allow_blank=not option.required or not options,
                          value=text if text in values else Select.NULL, id=widget_id, classes="form-input",
                          compact=True, disabled=not options)
        placeholder = option.placeholder
        suggester = None
        if isinstance(option, NumberOption) and not placeholder:
            placeholder = f"{option.low}–{option.high}{option.unit}"
        elif isinstance(option, SizeOption) and not placeholder:
            placeholder = "a size, e.g. 20G"
        elif isinstance(option, ChoiceOption):
            suggester = SuggestFromList([c.value for c in option.choices], case_sensitive=True)
        return Input(value=text, placeholder=visible(placeholder), id=widget_id, classes="form-input",
                     suggester=suggester, compact=True, type="integer" if isinstance(option, NumberOption) else "text")

    @staticmethod
    def _offered(option: ChoiceOption) -> Text:
        text = Text("offered: ", style="italic")
        for index, choice in enumerate(option.choices[:LISTED_CHOICES]):
            if index:
                text.append(", ")
            text.append(visible(choice.shown))
            if choice.detail:
                text.append(f" ({visible(choice.detail)})", style="dim")
        if len(option.choices) > LISTED_CHOICES:
            text.append(f", and {len(option.choices) - LISTED_CHOICES} more")
        return text

    # -- values -------------------------------------------------------------------------------------

    def text(self, name: str) -> str:
        """The text of one field, as the option parses it (a choice's value, ``yes``/``no``)."""
        widget = self.query_one(f"#input-{name}")
        if isinstance(widget, Checkbox):
            return "yes" if widget.value else "no"
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        assert isinstance(widget, Input)
        return widget.value

    def texts(self) -> dict[str, str]:
        """Every field's text, by option name (what `Form.parse` takes)."""
        return {option.name: self.text(option.name) for option in self.form.options}

    def set_text(self, name: str, text: str) -> None:
        widget = self.query_one(f"#input-{name}")
        if isinstance(widget, Checkbox):
            widget.value = text.strip().lower() in _YES
        elif isinstance(widget, Select):
            widget.value = text if text else Select.NULL
        else:
            assert isinstance(widget, Input)
            widget.value = text

    # -- pages --------------------------------------------------------------------------------------

    def show_only(self, names: Collection[str]) -> None:
        """Show the fields of ``names`` only (a wizard's page)."""
        for option in self.form.options:
            self.query_one(f"#field-{option.name}").set_class(option.name not in names, "-hidden")

    def focus_field(self, name: str) -> None:
        self.query_one(f"#input-{name}").focus()

    # -- checking -----------------------------------------------------------------------------------

    def check(self, names: Collection[str] | None = None) -> dict[str, str]:
        """Parse each field of ``names`` (all by default) with its option, show every failure under its
        field (required ones too), and return them by name."""
        errors: dict[str, str] = {}
        for option in self.form.options:
            if names is not None and option.name not in names:
                continue
            self._touched.add(option.name)
            error = self._field_error(option)
            self._show(option.name, error)
            if error is not None:
                errors[option.name] = error
        return errors

    def parse(self) -> dict[str, Any]:
        """The typed values of the whole form (`Form.parse`: each option, then the form's own check).
        Raises `FormErrors` after showing each error under its field."""
        self.check()
        try:
            return self.form.parse(self.texts())
        except FormErrors as exc:
            self.show_errors(exc.errors)
            raise

    def show_errors(self, errors: Mapping[str, str]) -> dict[str, str]:
        """Show ``errors`` (option name → sentence) under their fields; other fields' errors stay as they are.
        Returns the errors that name no field of this form (for the screen to show elsewhere)."""
        unplaced = {}
        names = {option.name for option in self.form.options}
        for name, error in errors.items():
            if name in names:
                self._touched.add(name)
                self._show(name, error)
            else:
                unplaced[name] = error
        return unplaced

    def clear_errors(self) -> None:
        for option in self.form.options:
            self._show(option.name, None)

    def _field_error(self, option: Option) -> str | None:
        text = self.text(option.name)
        try:
            option.parse(text)
        except ValidationError as exc:
            return exc.message
        check = self.field_checks.get(option.name)
        return check(text.strip()) if check is not None and text.strip() else None

    def _show(self, name: str, error: str | None) -> None:
        if error is None:
            self.errors.pop(name, None)
        else:
            self.errors[name] = error
        box = self.query_one(f"#error-{name}", Static)
        box.update(Text("✘ " + visible(error)) if error else "")
        box.set_class(error is not None, "-shown")

    def _edited(self, name: str, *, by_user: bool) -> None:
        if by_user:
            self._touched.add(name)
        option = self.form.option(name)
        error = self._field_error(option)
        if error is not None and name not in self._touched:
            error = None  # an untouched empty field says "required" only when the form is checked
        self._show(name, error)
        self.post_message(self.Changed(self, name))

    @on(Input.Changed, ".form-input")
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._edited(self._option_of(event.input), by_user=event.input.has_focus)

    @on(Select.Changed, ".form-input")
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._edited(self._option_of(event.select), by_user=True)

    @on(Checkbox.Changed, ".form-input")
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        event.checkbox.label = Content("yes" if event.value else "no")
        self._edited(self._option_of(event.checkbox), by_user=True)

    @staticmethod
    def _option_of(widget: Widget) -> str:
        return (widget.id or "").removeprefix("input-")
