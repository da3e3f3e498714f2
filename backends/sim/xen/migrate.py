"""Live migration between two simulated dom0s served by the same process (``XenWorld.peers``).

A migration is a generator of steps — ``("err", text)`` to print on stderr, ``("wait", seconds)`` while
memory is copied (guest memory / ``transfer_rate`` of the source world, in a few slices) — that returns
the exit status. ``server.py`` runs it on the SSH channel, sleeping between slices, so the progress
lines arrive as they happen and ``xl list`` on either host shows the intermediate names; run to the end
without sleeping it is the same migration at once.

``xl migrate DOM HOST`` (xen.md §5; tools/xl/xl_migrate.c, ``migrate_domain`` and ``migrate_receive``):
the receiver's lines come back through ssh's stderr; while memory is copied the target has
``DOM--incoming`` (paused), then the source is renamed ``DOM--migratedaway`` and suspended, the target
takes the name and runs, and the source is destroyed. A target xl cannot reach (no such peer) fails as
ssh does, a target without the memory or the guest's disks fails at the receiver and the guest resumes
at the sender (``Migration failed, resuming at sender.``). The libxc lines (``xc: info: Saving domain
…``) are RECONSTRUCTED from the IPRINTF calls of xg_sr_save.c/xg_sr_restore.c; their ``\\r`` progress
meters are left out.

``xm migrate [-l] DOM HOST`` and ``virsh migrate [--live] DOM URI`` (xend, xvm.md "Live migration"):
silent on success; while memory is copied the source domain is named ``migrating-DOM``
(XendCheckpoint.py) and the target already has ``DOM``. A refused connection is xend's
``can't connect: (ERRNO, 'MESSAGE')`` (XendDomain.domain_migrate).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from .model import CommandError, Halt, Toolstack

if TYPE_CHECKING:
    from .model import Domain
    from .world import XenWorld

Steps = Generator[tuple[str, object], None, int]
SLICES = 4


def resolve(world: "XenWorld", host: str) -> "XenWorld | None":
    """The peer a host name (``user@host``, ``host:port`` or a URI's host) names."""
    host = host.rpartition("@")[2]
    bracketed = host.startswith("[") and "]" in host  # [IPv6]:port
    host = host[1:host.index("]")] if bracketed else host.partition(":")[0]
    return world.peers.get(host)


def _transfer(world: "XenWorld", domain: "Domain") -> Generator[tuple[str, object], None, None]:
    seconds = domain.mem_kb * 1024 / world.transfer_rate
    for _ in range(SLICES):
        yield ("wait", seconds / SLICES)


def _rename(world: "XenWorld", domain: "Domain", name: str) -> None:
    del world.domains[domain.name]
    domain.name = name
    world.domains[name] = domain


def xl_migrate(world: "XenWorld", domain: "Domain", host: str, *, pause_after: bool = False) -> Steps:
    """``xl migrate`` of an active ``domain`` to ``host``."""
    name = domain.name
    target = resolve(world, host)
    if target is None or target.toolstack is not Toolstack.XL:
        if target is None:
            yield ("err", f"ssh: Could not resolve hostname {host.rpartition('@')[2]}: Name or service not known\n")
            status = 255
        else:
            yield ("err", "bash: line 1: xl: command not found\n")
            status = 127
        yield ("err", "libxl: error: libxl_utils.c:507:libxl_read_exactly: file/stream truncated reading banner "
                      "from migration receiver stream\n")
        yield ("err", f"libxl: info: libxl_exec.c:118:libxl_report_child_exitstatus: migration transport process "
                      f"[{4000 + (domain.domid or 0)}] exited with error status {status}\n")
        return 1
    from .xl import config_length

    image_len = config_length(world, domain) + 4
    yield ("err", "migration target: Ready to receive domain.\n")
    yield ("err", f"Saving to migration stream new xl format (info 0x3/0x0/{image_len})\n")
    yield ("err", f"Loading new save file <incoming migration stream> (new xl fmt info 0x3/0x0/{image_len})\n")
    yield ("err", " Savefile contains xl domain config in JSON format\n")
    yield ("err", "Parsing config from <saved>\n")
    incoming = f"{name}--incoming"
    try:
        target.check_start(domain.config, name=name)
        target.check_start(domain.config, name=incoming)
    except CommandError as error:
        yield ("err", error.stderr)
        yield ("err", "migration target: Domain creation failed (code -3).\n")
        yield ("err", "migration sender: libxl_domain_suspend failed (rc=-3)\n")
        yield ("err", "Migration failed, resuming at sender.\n")
        return 1
    copy = target.start(domain.config, paused=True, name=incoming, uuid=domain.uuid, managed=domain.managed)
    copy.weight, copy.cap, copy.mem_kb, copy.maxmem_kb = domain.weight, domain.cap, domain.mem_kb, domain.maxmem_kb
    target.set_vcpus(copy, domain.vcpus_online)
    yield ("err", f"xc: info: Saving domain {domain.domid}, type x86 {'HVM' if domain.config.hvm else 'PV'}\n")
    yield ("err", "xc: info: Restoring domain\n")
    yield from _transfer(world, domain)
    yield ("err", "migration target: Transfer complete, requesting permission to start domain.\n")
    _rename(world, domain, f"{name}--migratedaway")
    domain.halted = Halt.SUSPEND
    world._rescale(domain, world.clock())
    yield ("err", "migration sender: Target has acknowledged transfer.\n")
    yield ("err", "migration sender: Giving target permission to start.\n")
    _rename(target, copy, name)
    yield ("err", "migration target: Got permission, starting domain.\n")
    if not pause_after:
        target.unpause(copy)
    yield ("err", "migration target: Domain started successsfully.\n")
    yield ("err", "migration sender: Target reports successful startup.\n")
    domain.managed = False
    world.destroy(domain)
    yield ("err", "Migration successful.\n")
    return 0


def xend_migrate(world: "XenWorld", domain: "Domain", host: str, *, live: bool) -> Steps:
    """xend's migration (``xm migrate``, libvirt's xen driver under ``virsh migrate``). Raises
    CommandError with xend's message (the caller words it as its tool does)."""
    name = domain.name
    target = resolve(world, host)
    if target is None:
        raise CommandError("can't connect: (-2, 'Name or service not known')")
    if target.toolstack is Toolstack.XL:
        raise CommandError("can't connect: (111, 'Connection refused')")
    target.check_start(domain.config, name=name)
    _rename(world, domain, f"migrating-{name}")
    if not live:
        world.pause(domain)
    copy = target.start(domain.config, paused=True, name=name, uuid=domain.uuid, managed=domain.managed)
    copy.weight, copy.cap, copy.mem_kb, copy.maxmem_kb = domain.weight, domain.cap, domain.mem_kb, domain.maxmem_kb
    target.set_vcpus(copy, domain.vcpus_online)
    yield from _transfer(world, domain)
    target.unpause(copy)
    domain.managed = False
    world.destroy(domain)
    return 0


def run_now(steps: Steps) -> tuple[str, int]:
    """Run a migration without waiting: (stderr, exit status)."""
    stderr: list[str] = []
    while True:
        try:
            kind, value = next(steps)
        except StopIteration as stop:
            return "".join(stderr), int(stop.value or 0)
        if kind == "err":
            stderr.append(str(value))
