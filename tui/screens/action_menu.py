"""Every action for one domain, the unavailable ones greyed out with the reason; and a form for the
inputs an action needs (a vCPU count, a memory size)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from hvdeck.backends.base import ExtraAction
from hvdeck.backends.errors import HvdeckError
from hvdeck.backends.plan import Plan
from hvdeck.widgets.format import visible

from .base import GuardedModal

#: how the words of an unavailable action look: theme variables, so a theme switch restyles them
UNAVAILABLE = "$text-muted"
REASON = "$text-muted italic"


@dataclass(frozen=True, slots=True)
class MenuItem:
    id: str
    label: str
    key: str | None  # the key that does it outside the menu, if any
    why_not: str | None  # None: available


def menu_prompt(item: MenuItem) -> Content:
    """One line of the menu: the action, its key, and why it is unavailable (host text made visible)."""
    parts: list[tuple[str, str] | str] = [(item.label, "bold" if item.why_not is None else UNAVAILABLE)]
    if item.key:
        parts.append((f"  [{item.key}]", "" if item.why_not is None else UNAVAILABLE))
    if item.why_not is not None:
        parts.append((f"  — {visible(item.why_not)}", REASON))
    return Content.assemble(*parts)


class ActionMenuScreen(GuardedModal[str | None]):
    """Dismisses with the chosen item's id, or None. ``notice``: one line above the list (why nothing
    can be done on the host now), shown when set."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="action-menu.close")]
    AUTO_FOCUS = "OptionList"

    DEFAULT_CSS = """
    ActionMenuScreen { align: center middle; }
    ActionMenuScreen > #action-menu-box {
        width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ActionMenuScreen #action-menu-head { dock: top; height: auto; }
    ActionMenuScreen #action-menu-title { text-style: bold; padding: 1 0 0 0; }
    ActionMenuScreen #action-menu-notice { color: $warning; }
    ActionMenuScreen #action-menu-hint { color: $text-muted; padding-bottom: 1; }
    ActionMenuScreen OptionList { height: auto; max-height: 1fr; margin-bottom: 1; }
    """

    def __init__(self, title: str, items: list[MenuItem], notice: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.items = items
        self.notice = notice

    def compose(self) -> ComposeResult:
        with Vertical(id="action-menu-box"):
            with Vertical(id="action-menu-head"):
                yield Label(Text(visible(self.title_text)), id="action-menu-title")
                if self.notice:
                    yield Static(Text(visible(self.notice)), id="action-menu-notice")
                yield Static("↑↓ choose · Enter do it (the plan is shown first) · Esc close", id="action-menu-hint")
            yield OptionList(*(Option(menu_prompt(item), id=item.id, disabled=item.why_not is not None)
                               for item in self.items), id="action-menu-list", compact=True)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ParamsScreen(GuardedModal[Plan | None]):
    """Asks for an action's inputs and builds its plan; dismisses with the Plan, or None.

    ``build`` (a coroutine: the backend may read the host's free resources first) turns {param name:
    text} into the plan and raises `HvdeckError` (a `ValidationError`
    for input the hypervisor would refuse): the dialog stays open and shows the error under the inputs.
    ``current``: {param name: the domain's value now} shown beside each input ("now 8").
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="params.cancel")]
    AUTO_FOCUS = "Input"

    DEFAULT_CSS = """
    ParamsScreen { align: center middle; }
    ParamsScreen > #params-box {
        width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ParamsScreen #params-title { dock: top; text-style: bold; padding: 1 0; width: 100%; }
    ParamsScreen #params-body { height: auto; max-height: 1fr; }
    ParamsScreen .params-label { margin-top: 1; }
    ParamsScreen .params-label:first-of-type { margin-top: 0; }
    ParamsScreen #params-foot { dock: bottom; height: auto; }
    ParamsScreen #params-error { color: $error; height: auto; }
    ParamsScreen #params-buttons { height: 3; align-horizontal: right; }
    ParamsScreen #params-buttons Button { margin-left: 2; }
    """

    def __init__(self, title: str, action: ExtraAction, build: Callable[[dict[str, str]], Awaitable[Plan]],
                 current: dict[str, str] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.action = action
        self.build = build
        self.current = current or {}

    def compose(self) -> ComposeResult:
        with Vertical(id="params-box"):
            yield Label(Text(visible(self.title_text)), id="params-title")
            with VerticalScroll(id="params-body"):
                for param in self.action.params:
                    label = Text(param.label)
                    now = self.current.get(param.name)
                    if now is not None:
                        label.append(f"   now {visible(now)}", style="italic")
                    yield Label(label, classes="params-label")
                    yield Input(placeholder=param.placeholder, id=f"param-{param.name}")
            with Vertical(id="params-foot"):
                yield Static("", id="params-error")
                with Horizontal(id="params-buttons"):
                    yield Button("Cancel", id="params-cancel")
                    yield Button("Show the plan", id="params-ok", variant="primary")

    def _values(self) -> dict[str, str]:
        return {p.name: self.query_one(f"#param-{p.name}", Input).value.strip() for p in self.action.params}

    @on(Input.Submitted)
    @on(Button.Pressed, "#params-ok")
    def _ok(self) -> None:
        self.query_one("#params-error", Static).update(Text("checking…"))
        self._build(self._values())

    @work(group="params", exclusive=True, exit_on_error=False)
    async def _build(self, values: dict[str, str]) -> None:
        try:
            plan = await self.build(values)
        except HvdeckError as exc:
            self.query_one("#params-error", Static).update(Text(visible(exc.message, newlines=True)))
            return
        self.dismiss(plan)

    @on(Input.Changed)
    def _edited(self) -> None:
        self.query_one("#params-error", Static).update("")

    @on(Button.Pressed, "#params-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
