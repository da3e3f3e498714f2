"""The command palette: jump to a host or a domain, act on the current domain, sort, group, theme.

Commands carry host text (domain and host names, native states). Textual parses a `str` prompt or help
as markup (`[@click=app.quit]` in a domain name would be a link), so every prompt and help is given as
`Content`, which is never parsed, built from text with its controls made visible.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content

from hvdeck.widgets.fleet_table import COLUMNS
from hvdeck.widgets.format import visible

from .wizards.evacuate import open_evacuation
from .wizards.migrate import open_migration, why_not_migrate

if TYPE_CHECKING:
    from .app import HvdeckApp

#: domains the palette lists at most for one query; a longer query finds any of the others
MAX_DOMAIN_HITS = 200
#: fleets up to this many hosts list each host's commands before anything is typed
DISCOVER_HOSTS = 20


class HvdeckCommands(Provider):
    """Commands computed from the current screen and selection."""

    @property
    def _app(self) -> "HvdeckApp":
        return self.app  # type: ignore[return-value]

    def _commands(self, *, per_host: bool = True) -> Iterator[tuple[str, Callable[[], object], str]]:
        """(name, callback, help) of every command; host text in them is made visible (`visible`)."""
        v = visible
        app = self._app
        screen = self.screen  # the screen the palette was opened on (app.screen is the palette itself)
        current = getattr(screen, "current_domain", None)
        domain = current() if callable(current) else None
        if domain is not None:
            # every action: an available one plans it; an unavailable one is listed and says why
            for item in app.action_items(domain):
                label = item.label.rstrip("…")
                name = f"{label}: {v(domain.name)} on {v(domain.host)}"
                if item.why_not is None:
                    yield (name + ("…" if item.label.endswith("…") else ""), partial(app.run_item, domain, item.id),
                           "Shows the exact operation before anything runs")
                else:
                    yield (f"{name} (unavailable)", partial(app.run_item, domain, item.id), item.why_not)
            yield (f"Actions for {v(domain.name)}…", partial(app.open_action_menu, domain),
                   "Every action, unavailable ones with the reason")
            yield (f"Attach console: {v(domain.name)} on {v(domain.host)}", partial(app.attach_console, domain),
                   "Its console in a pane under the table (the detach key leaves it)")
            reason = app.why_not_clone(domain)
            yield (f"Clone {v(domain.name)}…" + (" (unavailable)" if reason else ""), partial(app.open_clone, domain),
                   v(reason) if reason else "A new guest (or a root-disk swap) from a snapshot of its disk (C)")
            yield (f"Snapshots of {v(domain.name)}…", partial(app.open_snapshots, domain),
                   "Take, roll back or destroy the snapshots of its disks (S)")
            why = why_not_migrate(app, domain)
            yield (f"Migrate {v(domain.name)} from {v(domain.host)}…" + (" (unavailable)" if why else ""),
                   partial(open_migration, app, domain), v(why) if why else "Live, to another host of the same kind (m)")
        for host in app.host_names if per_host else ():
            yield (f"Host {v(host)}", partial(app.show_host, host), "Show only this host's domains")
            reason = app.why_not_create(host)
            yield (f"Create a guest on {v(host)}…" + (" (unavailable)" if reason else ""),
                   partial(app.open_create, host),
                   v(reason) if reason else "Name, CPUs, memory, disk and network; the plan is shown first (n)")
            yield (f"Evacuate {v(host)}…", partial(open_evacuation, app, host),
                   "Move every running domain of the host live to other hosts (E)")
            yield (f"Host details {v(host)}", partial(app.open_host, host), "Services and free resources")
            yield (f"Refresh {v(host)}", partial(app.refresh_hosts, host), "Poll this host now")
        for host in app.untrusted_hosts():
            yield (f"Trust host key of {v(host)}…", partial(app.ask_host_key, host),
                   "Show the host's unknown SSH key again, to trust it or not")
        yield ("Poll all hosts now (refresh)", app.refresh_hosts, "Ctrl+R on the fleet")
        yield ("Help: keys of this screen", app.action_help, "The keys of the current screen (? or F1)")
        from .screens.fleet import FleetScreen

        if isinstance(screen, FleetScreen):
            for column in COLUMNS:
                yield (f"Sort by {column.label}", partial(screen.sort_by, column.key), "Sort the fleet table")
            yield ("Reverse the sort", screen.action_reverse_sort, "Descending / ascending")
            yield ("Group by host (toggle)", screen.action_toggle_group, "Rows under a line per host")
            yield ("Filter…", screen.action_filter, "Words, or field:value (host: state: name: …)")
            yield ("Clear filter", screen.action_clear_filter, "Show every domain")
        yield ("Toggle light/dark theme", app.action_toggle_theme, "hvdeck-dark / hvdeck-light")

    def _domain_commands(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        """"Open host/name" for every domain of the fleet (20,000 at 500 hosts)."""
        v = visible
        app = self._app
        for snapshot in app.snapshots.values():
            for d in snapshot.domains:
                yield (f"Open {v(d.host)}/{v(d.name)}", partial(app.open_domain, d.key),
                       f"{d.state.value} ({v(d.native_state)})")

    async def discover(self) -> Hits:
        """What the palette lists before anything is typed: every command but the domains and refreshes,
        and the hosts' own commands only for a fleet of at most `DISCOVER_HOSTS` (at 500 hosts they were
        2,000 lines and half a second to open; typing a host's name finds them)."""
        for name, callback, help_text in self._commands(per_host=len(self._app.host_names) <= DISCOVER_HOSTS):
            if name.startswith(("Open ", "Refresh ")):
                continue
            # help is typed str, but Textual passes a Content through as it is (never parsed as markup)
            yield DiscoveryHit(Content(name), callback, text=name, help=Content(help_text))  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        """Every command whose name matches ``query``, then at most `MAX_DOMAIN_HITS` domains. Only names
        with the query's characters in order are scored (`_in_order`: at C speed, where the fuzzy matcher
        runs in Python): at 500 hosts there are some 22,500 names."""
        matchers = [self.matcher(query)]
        if any(c.isspace() for c in query.strip()):
            # the words may also be run together: "cd-0150 web13" finds "Open cd-0150/ldg-web13" (Textual's
            # matcher wants a space in the name for each space in the query)
            matchers.append(self.matcher("".join(query.split())))
        quick = _in_order(query)
        words = query.split()
        # words in any order, as in the fleet filter ("web1 t7-a" finds "Open t7-a/ldg-web1"), ranked below
        # the names that have them in the order typed
        each = [(self.matcher(word), _in_order(word)) for word in words] if len(words) > 1 else []

        def hit(name: str, callback: Callable[[], object], help_text: str) -> Hit | None:
            if quick(name):
                for matcher in matchers:
                    if (score := matcher.match(name)) > 0:
                        return Hit(score, _highlight(matcher, name), callback, text=name,
                                   help=Content(help_text))  # type: ignore[arg-type]
            if each and all(found(name) for _matcher, found in each):
                scores = [matcher.match(name) for matcher, _found in each]
                if all(scores):
                    content = Content(name)
                    for matcher, _found in each:
                        content = _highlight(matcher, name, content)
                    return Hit(min(scores) / 2, content, callback, text=name,
                               help=Content(help_text))  # type: ignore[arg-type]
            return None

        for command in self._commands():
            if (found := hit(*command)) is not None:
                yield found
        hits = 0
        for command in self._domain_commands():
            if (found := hit(*command)) is not None:
                yield found
                hits += 1
                if hits >= MAX_DOMAIN_HITS:
                    return


def _in_order(query: str) -> Callable[[str], bool]:
    """Whether a name has ``query``'s characters (spaces aside) in order, ignoring case: what the fuzzy
    matcher needs of a name to score it at all, tested by a regular expression."""
    chars = [c for c in query if not c.isspace()]
    if not chars:
        return lambda _name: True
    pattern = re.compile(".*?".join(map(re.escape, chars)), re.IGNORECASE | re.DOTALL)
    return lambda name: pattern.search(name) is not None


def _highlight(matcher: Matcher, candidate: str, content: Content | None = None) -> Content:
    """`Matcher.highlight` without its markup parsing: the matched characters of ``candidate`` styled (on
    ``content``, ``candidate`` already styled by another matcher, when given)."""
    content = Content(candidate) if content is None else content
    _score, offsets = matcher.fuzzy_search.match(matcher.query, candidate)
    for offset in offsets:
        if not candidate[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
