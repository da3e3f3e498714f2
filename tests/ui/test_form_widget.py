"""The form widget: a backend's `Form` drawn as fields, each checked as you type with the option's own parse,
choices with their details, yes/no boxes, errors placed under their fields, Tab in the options' order, and
host text (a choice named like markup, a detail with escape sequences) shown as text."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Checkbox, Input, Select

from hvdeck.backends.errors import ValidationError
from hvdeck.backends.options import (
    BoolOption,
    Choice,
    ChoiceOption,
    Form,
    FormErrors,
    NumberOption,
    SizeOption,
    TextOption,
)
from hvdeck.widgets.form import FormView

from .helpers import plain
from .terminal import controls_in, screen_text, terminal_output

OSC52 = "\x1b]52;c;ZWNobw==\x07"


def _no_dots(text: str) -> str:
    if "." in text:
        raise ValidationError("no dots, please")
    return text


FORM = Form("Test", (
    TextOption("name", "Name", help="the name", validator=_no_dots),
    NumberOption("count", "Count", default="2", low=1, high=8),
    SizeOption("size", "Size", required=False),
    ChoiceOption("pool", "Pool", choices=(Choice("[bold]tank", detail=f"1.6T free {OSC52}"), Choice("rpool"))),
    ChoiceOption("snap", "Snapshot", required=False, free=True, choices=(Choice("monday", detail="2 clones"),)),
    BoolOption("start", "Start it", default="yes"),
), check=lambda values: {"size": "too big for count"} if (values["size"] or 0) > values["count"] << 30 else {})


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield FormView(FORM, values={"name": "web1"})


async def test_fields_in_order_with_their_defaults_and_host_text_as_text():
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(FormView)
        assert view.texts() == {"name": "web1", "count": "2", "size": "", "pool": "[bold]tank", "snap": "",
                                "start": "yes"}
        text = screen_text(app)
        assert "[bold]tank   1.6T free ^[]52;c;ZWNobw==^G" in text, "a choice named like markup is shown as it is"
        assert "offered: monday (2 clones)" in text and "optional" in [line.strip() for line in text.splitlines()]
        assert controls_in(terminal_output(app)) == []
        app.query_one("#input-name").focus()
        order = []
        for _ in range(6):
            order.append(app.focused.id)
            await pilot.press("tab")
        assert order == ["input-name", "input-count", "input-size", "input-pool", "input-snap", "input-start"]


async def test_each_field_is_checked_as_you_type_with_the_options_parse():
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(FormView)
        app.query_one("#input-name").focus()
        await pilot.press("end", ".")
        assert plain(view.query_one("#error-name")) == "✘ no dots, please"
        await pilot.press("backspace")
        assert not view.query_one("#error-name").has_class("-shown")
        await pilot.press("tab", "end", "9")
        assert view.errors == {"count": "Count: 29 is outside 1–8"}
        await pilot.press("backspace", "tab", *"4 lots")
        assert view.errors["size"] == "Size: '4 lots' is not a size (use a number with K, M, G or T, e.g. 4G)"
        await pilot.press("ctrl+u", *"4G")
        assert "size" not in view.errors


async def test_required_is_said_once_the_form_is_checked_and_the_forms_own_check_lands_on_its_field():
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(FormView)
        app.set_focus(None)
        view.set_text("name", "")
        await pilot.pause()
        assert view.errors == {}, "an untouched empty field does not shout"
        assert view.check() == {"name": "Name: required"}
        view.set_text("name", "web2")
        view.set_text("size", "3G")
        await pilot.pause()
        try:
            view.parse()
        except FormErrors as exc:
            assert exc.errors == {"size": "too big for count"}
        else:
            raise AssertionError("the form's own check did not refuse")
        assert plain(view.query_one("#error-size")) == "✘ too big for count"
        assert view.show_errors({"name": "taken", "elsewhere": "the host is busy"}) == {"elsewhere": "the host is busy"}
        view.set_text("size", "1G")
        view.set_text("start", "no")
        await pilot.pause()
        assert view.parse() == {"name": "web2", "count": 2, "size": 1 << 30, "pool": "[bold]tank", "snap": None,
                                "start": False}


async def test_choices_yes_no_and_free_choices():
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(FormView)
        select = view.query_one("#input-pool", Select)
        select.focus()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"rp", "enter")
        await pilot.pause()
        assert view.text("pool") == "rpool"
        box = view.query_one("#input-start", Checkbox)
        box.focus()
        await pilot.press("space")
        assert view.text("start") == "no" and str(box.label) == "no"
        await pilot.press("enter")  # Enter is the screen's (a wizard's Next), not a toggle
        assert view.text("start") == "no"
        free = view.query_one("#input-snap", Input)
        free.focus()
        await pilot.press(*"mon")
        await pilot.pause()
        assert free._suggestion == "monday"
        await pilot.press("right")
        assert view.text("snap") == "monday"


async def test_a_page_shows_only_its_fields():
    app = Host()
    async with app.run_test(size=(100, 40)):
        view = app.query_one(FormView)
        view.show_only(("pool", "snap"))
        shown = [f.id for f in view.query(".form-field") if f.display and not f.has_class("-hidden")]
        assert shown == ["field-pool", "field-snap"]
