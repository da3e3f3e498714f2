"""Every action for one domain, the unavailable ones greyed out with the reason; and a form for the
inputs an action needs (a vCPU count, a memory size)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from hvdeck.backends.base import ExtraAction
from hvdeck.widgets import format as fmt


@dataclass(frozen=True, slots=True)
class MenuItem:
    id: str
    label: str
    key: str | None  # the key that does it outside the menu, if any
    why_not: str | None  # None: available


class ActionMenuScreen(ModalScreen[str | None]):
    """Dismisses with the chosen item's id, or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="action-menu.close")]

    DEFAULT_CSS = """
    ActionMenuScreen { align: center middle; }
    ActionMenuScreen > Vertical {
        width: 90; max-width: 95%; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ActionMenuScreen #action-menu-title { text-style: bold; padding: 1 0; }
    ActionMenuScreen OptionList { height: auto; max-height: 24; border: none; }
    """

    def __init__(self, title: str, items: list[MenuItem]) -> None:
        super().__init__()
        self.title_text = title
        self.items = items

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(fmt.host_text(self.title_text), id="action-menu-title")
            options = []
            for item in self.items:
                prompt = Text(item.label, style="bold" if item.why_not is None else "dim")
                if item.key:
                    prompt.append(f"  [{item.key}]", style="dim")
                if item.why_not is not None:  # a reason names the domain or host: host text
                    prompt.append(f"  — {fmt.visible(item.why_not)}", style="dim italic")
                options.append(Option(prompt, id=item.id, disabled=item.why_not is not None))
            yield OptionList(*options, id="action-menu-list")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ParamsScreen(ModalScreen[dict[str, str] | None]):
    """Asks for an action's inputs; dismisses with {param name: text}, or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="params.cancel")]

    DEFAULT_CSS = """
    ParamsScreen { align: center middle; }
    ParamsScreen > Vertical {
        width: 70; max-width: 95%; height: auto; border: thick $primary; background: $surface; padding: 1 2;
    }
    ParamsScreen #params-title { text-style: bold; margin-bottom: 1; }
    ParamsScreen #params-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    ParamsScreen #params-buttons Button { margin-left: 2; }
    """

    def __init__(self, title: str, action: ExtraAction) -> None:
        super().__init__()
        self.title_text = title
        self.action = action

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(fmt.host_text(self.title_text), id="params-title")
            for param in self.action.params:
                yield Label(Text(param.label))
                yield Input(placeholder=param.placeholder, id=f"param-{param.name}")
            with Horizontal(id="params-buttons"):
                yield Button("Cancel", id="params-cancel")
                yield Button("Show the plan", id="params-ok", variant="primary")

    def _values(self) -> dict[str, str]:
        return {p.name: self.query_one(f"#param-{p.name}", Input).value.strip() for p in self.action.params}

    @on(Input.Submitted)
    @on(Button.Pressed, "#params-ok")
    def _ok(self) -> None:
        self.dismiss(self._values())

    @on(Button.Pressed, "#params-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
