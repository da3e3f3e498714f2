"""A simulated SPARC control domain: ``ldm`` (Oracle VM Server for SPARC 3.x), ``zfs``, the guests'
consoles through vntsd and ``telnet``, and live migration between control domains, over SSH.

`LdomsWorld` is one physical machine with its control domain ``primary``: strands and memory that
domains really bind and release, the virtual services on primary, guest domains moving through the
inactive → bound → active life cycle, a ZFS pool whose volumes back the virtual disks, a console per
guest (OpenBoot, Solaris, a login and a tiny shell), and the `Network` of control domains it can migrate
to. ``handle`` answers an SSH exec request (a shell command line) the way a real control domain would;
`serve` puts the world behind an in-process SSH server.

Modules: `model` (the data), `formats` and `formats_host` (ldm's output formats), `args` and `ldm` (the
command line and the subcommand table), `listing`, `lifecycle`, `resources`, `services`, `migration`
(the subcommands), `zfs`, `files` (mktemp, tee, cat, chmod, rm), `console` (the guest), `vntsd` and
`telnet` (reaching it), `world` (the state), `demo` (the demo's guests), `ssh` (the SSH glue).

Output formats come from the project's ldm format notes (``shared/formats/ldm.md``, cited below as
"ldm.md §N"). The simulator targets OVM Server for SPARC 3.x on firmware ≥ 8.2: six-column flags,
``UART`` as the control domain's console, the NORM column and ``norm_util``. Each formatter names the
section it follows and its confidence there: VERBATIM-shaped (laid out exactly like a captured or
documented sample), or RECONSTRUCTED (assembled from attested pieces, or chosen here where nothing is
documented). Every parseable (``-p``) output starts with ``VERSION 1.11``, the version of the one real
3.x capture (ldm.md §3.2): a single ldm release prints one version, though the 3.x-era samples of other
commands in ldm.md show ``1.6``.

Modelling choices (all RECONSTRUCTED unless a section is cited):

- Machine: 8 cores × 8 strands (pids 0-63, core = pid // 8), 256 GiB of memory whose first 512 MiB are
  the hypervisor's (the ``_sys_`` blocks of the ldm.md §7 capture), four PCIe root complexes.
- Memory is bound in 256 MiB units (the granularity of memory dynamic reconfiguration), first fit from
  the lowest free physical address, so a domain may get several blocks. Sizes that are not a multiple
  of 256M are refused. Guest real addresses start at 0x10000000 (ldm.md §3.5); primary's equal its
  physical addresses.
- vCPUs are bound to the lowest free strands; the console port is the lowest free one in the vcc range.
- Domain names: a letter, then letters, digits, ``-``, ``_`` or ``.``, at most 64 characters (the
  longest names in the captures are 18; 64 matches Solaris's zone-name limit and keeps the human
  columns sane). ldm.md documents no rule.
- Dynamic reconfiguration: vCPU and memory changes on an active guest take effect at once; the ``r``
  flag (memory DR in progress) is never shown because the change is instantaneous.
- Delayed reconfiguration (ldm.md §1.2 flag column 3 ``d``): changing the vCPUs or memory of the active
  control domain starts one (real 3.x can often do this dynamically; the simulator always takes the
  delayed path, as after ``ldm start-reconf primary``). While primary is in delayed reconfiguration,
  changes to other domains are refused, and changes to primary print a notice; both wordings are those
  of Fujitsu's "Oracle VM Server for SPARC" guide (C120-E680, section 3.2.11). The changed resources are
  bound at once; ``ldm stop -r primary`` (a reboot) ends the delayed reconfiguration. Oracle's 3.x guide
  allows delayed reconfiguration outside the control domain only on root domains, so the demo's guest
  in delayed reconfiguration (ldm.md §1.2 lists ``-nd---``) is a root domain that owns a PCIe bus;
  stopping or rebooting it clears the flag.
- UTIL and NORM of active domains come from a seeded generator sampled in 10-second steps of the
  injected clock: the same seed and clock give the same numbers. UPTIME is the clock minus the start.
- Messages: refusals go to stderr with exit status 1 (zfs usage errors 2). ldm.md attests only the
  substrings ``already exists`` (add-vdsdev), ``does not exist`` and ``is attached`` (rm-vdsdev) and
  ``not found``, and recalls ``Domain <name> not found`` (UNCERTAIN); the messages use them where they
  apply. The delayed-reconfiguration notices are quoted from Fujitsu's guide (above). Every other
  wording, including "LDom <name> started/stopped" on stdout, is RECONSTRUCTED in ldm's style. The zfs
  messages follow Solaris 11's zfs (see `zfs`).
"""

from .args import USAGE, canonical_subcommand
from .console import Console, Mode
from .demo import DEMO_GUESTS
from .formats import (
                    BLOCK_SEPARATOR,
                    LIST_HEADER,
                    flag_letters,
                    flag_words,
                    format_bindings_parseable,
                    format_list,
                    format_list_parseable,
                    format_long,
                    format_version,
)
from .formats_host import (
                    Devices,
                    Status,
                    format_constraints,
                    format_constraints_parseable,
                    format_constraints_xml,
                    format_devices,
                    format_devices_parseable,
                    format_services,
                    format_services_parseable,
                    format_spconfig,
                    format_status,
                    format_status_parseable,
                    format_variables,
)
from .lifecycle import LIFECYCLE, WRONG_STATE
from .model import (
                    CommandError,
                    Domain,
                    Live,
                    Machine,
                    MemoryBlock,
                    Migrating,
                    Services,
                    State,
                    Vcc,
                    Vdisk,
                    Vds,
                    Vnet,
                    Volume,
                    Vsw,
                    human_size,
                    human_uptime,
                    parse_size,
)
from .ssh import process_handler, serve
from .world import LdomsWorld, Network, Terminal, link
from .zfs import ZfsPool, parse_zfs_size, zfs_nicenum

__all__ = [
    "BLOCK_SEPARATOR", "DEMO_GUESTS", "LIFECYCLE", "LIST_HEADER", "USAGE", "WRONG_STATE", "CommandError", "Console",
    "Devices", "Domain", "LdomsWorld", "Live", "Machine", "MemoryBlock", "Migrating", "Mode", "Network",
    "Services", "State", "Status", "Terminal", "Vcc", "Vdisk", "Vds", "Vnet", "Volume", "Vsw", "ZfsPool",
    "canonical_subcommand", "flag_letters", "flag_words", "format_bindings_parseable", "format_constraints",
    "format_constraints_parseable", "format_constraints_xml", "format_devices", "format_devices_parseable",
    "format_list", "format_list_parseable", "format_long", "format_services", "format_services_parseable",
    "format_spconfig", "format_status", "format_status_parseable", "format_variables", "format_version",
    "human_size", "human_uptime", "link", "parse_size", "parse_zfs_size", "process_handler", "serve",
    "zfs_nicenum",
]
