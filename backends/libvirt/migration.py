"""Live migration between two libvirt hosts: the form, the plan (pre-flight checks, progress, cancel), and
the API calls that run it.

**Managed direct migration.** hvdeck is the libvirt client that drives the migration over the two
connections it already holds — each host's libvirt socket forwarded through that host's own SSH
connection — with ``virDomainMigrate3(dconn, params, flags)``: libvirt's Begin/Perform/Confirm phases run
on the source connection, Prepare/Finish on the target's, and QEMU's migration stream goes straight from
one host to the other (the target's ``migration_address``). The alternative, peer-to-peer
(``virDomainMigrateToURI3`` with ``VIR_MIGRATE_PEER2PEER``), has the *source libvirtd* open a connection to
the target itself: that needs a URI the source can reach and credentials stored on the source host
(an SSH key of root@source in the target's authorized_keys, or TLS certificates) that hvdeck neither has
nor should create; managed direct needs nothing hvdeck does not already have, and is checked with the
same host keys. Measured on the test bed (benchmarks/migration_modes.py: two libvirtd 9.0 in network
namespaces, the 128 MiB TCG guest, its disk copied, 6 moves each, medians): hvdeck's managed direct
through both SSH connections 1.98 s of wall time, 720 ms of job, 214 ms of downtime; managed direct over
plain TCP 2.03 s, 630 ms, 226 ms; peer-to-peer 2.03 s, 614 ms, 194 ms: the same, within the noise. The
cost of managed direct: if hvdeck dies in the middle, libvirt abandons the migration and the
guest stays on the source, where peer-to-peer would have finished it; that is the safe way to fail.

Flags are always ``VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE``: the
domain keeps running, is defined on the target when done and no longer on the source. The form adds
what operators set: a bandwidth limit (``VIR_MIGRATE_PARAM_BANDWIDTH``, MiB/s), a maximum downtime
(``virDomainMigrateSetMaxDowntime``, ms, set on the source just before), auto-converge, copying the disks
when they are not shared (``VIR_MIGRATE_NON_SHARED_DISK``, virsh ``--copy-storage-all``) and ``--unsafe``.

The migration call blocks for as long as the migration runs; it runs in a thread of its own (not the
shared pool the pollers use), so the progress reads (``virDomainGetJobStats``, JSON on stdout) and the
cancel (``virDomainAbortJob``) run alongside it on the same source connection. Whatever happens, the
step's result says where the guest is: both hosts are asked after the call returns or fails.

This module is pure (no libvirt import: `hvdeck migrate --help` and LDoms-only installs need its form);
the calls themselves are in `migration_run`.
"""

from __future__ import annotations

import json
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ParseError
from ..inventory import HostSpec
from ..model import Disk, Domain, DomainState
from ..options import BoolOption, Form, NumberOption
from ..plan import Check, Operation, Plan, Progress, ProgressInfo, Step
from ..transport.base import Result
from . import commands, parse

# -- the form -------------------------------------------------------------------------------------------

FORM = Form("Live migration", (
    NumberOption("bandwidth", "Bandwidth limit", help="the most the migration may send, in MiB/s "
                 "(empty: no limit)", required=False, low=1, high=1_000_000, unit=" MiB/s"),
    NumberOption("max_downtime", "Maximum downtime", help="how long the guest may pause at the end, in ms "
                 "(empty: libvirt's default, 300 ms)", required=False, low=1, high=3_600_000, unit=" ms"),
    BoolOption("auto_converge", "Auto-converge", help="slow the guest's vCPUs down if its memory changes "
               "faster than it can be sent", default="no"),
    BoolOption("copy_storage", "Copy the disks", help="the disks are not shared: copy them to files of the "
               "same path on the target (--copy-storage-all)", default="no"),
    BoolOption("unsafe", "Allow unsafe", help="migrate although libvirt cannot tell that the disks are "
               "shared (--unsafe)", default="no"),
))

#: the flags hvdeck may pass (``VIR_MIGRATE_<name>``), by the name the plan shows
FLAG_NAMES = ("LIVE", "PERSIST_DEST", "UNDEFINE_SOURCE", "AUTO_CONVERGE", "NON_SHARED_DISK", "UNSAFE")
_VIRSH_FLAGS = {"AUTO_CONVERGE": "--auto-converge", "NON_SHARED_DISK": "--copy-storage-all",
                "UNSAFE": "--unsafe"}

#: the API calls of this module (the backend runs nothing else)
API_CALLS = frozenset({"virDomainMigrate3", "virDomainGetJobStats", "virDomainAbortJob",
                       "virDomainMigrateSetMaxDowntime", "virConnectCompareHypervisorCPU",
                       "virNodeGetFreeMemory", "virDomainLookupByName", "virConnectGetCapabilities"})

#: a migration's progress is read this often (s)
PROGRESS_INTERVAL = 1.0
MOVABLE = (DomainState.RUNNING, DomainState.PAUSED)


# -- what the plan needs of the domain --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """What a migration plan needs of a domain's live XML."""

    virt_type: str  # qemu, kvm, xen...: <domain type=>
    arch: str | None
    machine: str | None
    emulator: str | None
    #: the <cpu> element as XML, None when the domain names no CPU model
    cpu_xml: str | None
    cpu_model: str | None
    memory_bytes: int | None
    vcpus: int | None
    disks: tuple[Disk, ...]


def facts(host: str, xml: str) -> Facts:
    """`Facts` of a domain XML. Raises `ParseError`."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ParseError(f"domain XML does not parse: {exc}", source="libvirt") from None
    bindings = parse.bindings_from_xml(host, xml)
    os_type = root.find("os/type")
    cpu = root.find("cpu")
    model = cpu.findtext("model") if cpu is not None else None
    cpu_xml = ET.tostring(cpu, encoding="unicode").strip() if cpu is not None and (model or cpu.get("mode")) \
        else None
    return Facts(virt_type=root.get("type", ""), arch=os_type.get("arch") if os_type is not None else None,
                 machine=os_type.get("machine") if os_type is not None else None,
                 emulator=(root.findtext("devices/emulator") or "").strip() or None,
                 cpu_xml=cpu_xml, cpu_model=(model or "").strip() or (cpu.get("mode") if cpu is not None else None),
                 memory_bytes=bindings.memory.current_bytes or bindings.memory.max_bytes,
                 vcpus=bindings.cpu.vcpus, disks=bindings.disks)


def host_uuid(capabilities_xml: str) -> str | None:
    """``<capabilities><host><uuid>`` (the identity libvirt compares to refuse a migration to itself)."""
    try:
        return (ET.fromstring(capabilities_xml).findtext("host/uuid") or "").strip() or None
    except ET.ParseError:
        return None


# -- the plan (pure) ----------------------------------------------------------------------------------------


def flag_names(values: Mapping[str, Any]) -> tuple[str, ...]:
    names = ["LIVE", "PERSIST_DEST", "UNDEFINE_SOURCE"]
    for option, flag in (("auto_converge", "AUTO_CONVERGE"), ("copy_storage", "NON_SHARED_DISK"),
                         ("unsafe", "UNSAFE")):
        if values.get(option):
            names.append(flag)
    return tuple(names)


def dest_uri(spec: HostSpec) -> str:
    """The URI virsh would use to reach ``spec`` for the plan's virsh equivalent: ``qemu+ssh://USER@HOST:PORT/system``
    over SSH, the inventory's URI for a local host."""
    if spec.transport != "ssh":
        return spec.libvirt_uri
    parts = urllib.parse.urlsplit(spec.libvirt_uri)
    user = f"{spec.user}@" if spec.user else ""
    port = f":{spec.port}" if spec.port and spec.port != 22 else ""
    return f"{parts.scheme}+ssh://{user}{spec.address or spec.name}{port}{parts.path or '/system'}"


def human_size(n: int | None) -> str:
    """Bytes in the largest binary unit: 128M, 1.5G."""
    if n is None:
        return "?"
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f}{unit}" if value < 10 and n % scale else f"{value:.0f}{unit}"
    return f"{n}B"


def plan(domain: Domain, source: HostSpec, target: HostSpec, target_kind: str, found: Facts,
         values: Mapping[str, Any], *, source_host_uuid: str | None) -> Plan:
    """The migration Plan of ``domain`` (on ``source``) to ``target``, from its XML `Facts` and the parsed
    form values. Pure. Raises `ValidationError` for a name libvirt would refuse."""
    name = commands.validate_name(domain.name)
    uuid = domain.uuid or ""
    src, dst = source.name, target.name
    checks: list[Check] = [
        Check(f"{dst} is a libvirt host like {src}", passed=target_kind == "libvirt",
              reason="" if target_kind == "libvirt" else f"{dst} is a {target_kind} host"),
        Check(f"{dst} may be changed", passed=not target.read_only,
              reason=f"{dst} is read-only in the inventory" if target.read_only else ""),
        Check(f"{name} is running or paused (only a live domain moves live)", passed=domain.state in MOVABLE,
              reason="" if domain.state in MOVABLE else f"{name} is {domain.native_state}"),
        Check(f"{dst} answers and is another libvirt host than {src}",
              Operation.api("virConnectGetCapabilities"), host=dst, parser=_other_host(src, dst, source_host_uuid)),
        Check(f"{dst} has no other domain named {name} or with its UUID",
              Operation.api("virDomainLookupByName", domain=name, uuid=uuid), host=dst,
              parser=_name_free(name, uuid, dst)),
        Check(f"{dst} has {human_size(found.memory_bytes)} of memory free and {found.vcpus or '?'} CPUs for {name}",
              Operation.api("virNodeGetFreeMemory"), host=dst,
              parser=_room(name, dst, found.memory_bytes, found.vcpus)),
    ]
    if found.cpu_xml is None:
        checks.append(Check(f"{dst} can run {name}'s CPU", passed=True,
                            reason="the domain XML names no CPU model (the hypervisor's default)"))
    else:
        checks.append(Check(f"{dst} can run {name}'s CPU ({found.cpu_model})", Operation.api(
            "virConnectCompareHypervisorCPU", xml=found.cpu_xml, arch=found.arch or "",
            machine=found.machine or "", virttype=found.virt_type, emulator=found.emulator or ""),
            host=dst, parser=_cpu(name, dst)))
    checks.extend(disk_checks(found.disks, dst, copy=bool(values.get("copy_storage"))))

    flags = flag_names(values)
    virsh = ["virsh", "-c", source.libvirt_uri, "migrate", "--live", "--persistent", "--undefinesource",
             *(_VIRSH_FLAGS[f] for f in flags if f in _VIRSH_FLAGS)]
    args = {"domain": name, "uuid": uuid, "target": dst, "flags": "|".join(flags)}
    bandwidth = values.get("bandwidth")
    if bandwidth:
        virsh.append(f"--bandwidth={int(bandwidth)}")
        args["bandwidth_mib_s"] = str(int(bandwidth))
    virsh += [f"--domain={name}", f"--desturi={dest_uri(target)}"]
    steps: list[Step] = []
    downtime = values.get("max_downtime")
    if downtime:
        steps.append(Step(
            f"Let {name} pause for at most {int(downtime)} ms at the end of its migration",
            Operation.api("virDomainMigrateSetMaxDowntime",
                          ("virsh", "-c", source.libvirt_uri, "migrate-setmaxdowntime", f"--domain={name}",
                           f"--downtime={int(downtime)}"), domain=name, uuid=uuid, downtime_ms=str(int(downtime)))))
    stats = Operation.api("virDomainGetJobStats", ("virsh", "-c", source.libvirt_uri, "domjobinfo", f"--domain={name}"),
                          domain=name, uuid=uuid)
    steps.append(Step(
        f"Move {name} live from {src} to {dst}" + (", copying its disks" if values.get("copy_storage") else ""),
        Operation.api("virDomainMigrate3", virsh, **args), timeout=None,
        progress=Progress(parse_job_stats, stats, interval=PROGRESS_INTERVAL),
        cancel=Operation.api("virDomainAbortJob", ("virsh", "-c", source.libvirt_uri, "domjobabort", f"--domain={name}"),
                             domain=name, uuid=uuid)))
    warning = (f"{name} keeps running while its memory is copied to {dst}, then pauses for a moment (the "
               f"downtime) and resumes there, defined on {dst} and no longer on {src}. Cancel, or a failure, "
               f"leaves it running on {src}.")
    return Plan(title=f"Migrate {name} from {src} to {dst}", host=src, action="migrate", target=name,
                steps=tuple(steps), warning=warning, checks=tuple(checks))


def disk_checks(disks: Sequence[Disk], target: str, *, copy: bool) -> list[Check]:
    """One check per disk with a source: a file or block device must exist at the same path on ``target``
    (shared storage, or the file a copy goes into); network and pool disks are the target's to reach."""
    checks = []
    for disk in disks:
        source = disk.source
        if source is None:
            continue  # an empty CD-ROM drive
        if disk.source_type in ("file", "block", "dir"):
            if not source.startswith("/"):
                checks.append(Check(f"Disk {disk.target}: {source}", passed=False,
                                    reason="not an absolute path: hvdeck cannot tell what the target sees"))
                continue
            copied = copy and not disk.read_only and disk.device == "disk"
            what = "to copy it into" if copied else "(shared storage)"
            checks.append(Check(f"Disk {disk.target}: {target} has {source} {what}",
                                Operation.command("test", "-e", source), host=target,
                                parser=_exists(target, source)))
        else:
            checks.append(Check(f"Disk {disk.target}: {source}", passed=True,
                                reason=f"a {disk.source_type} disk: {target} reaches it itself (not checked)"))
    return checks


# -- check verdicts (pure: a Result in, None or the reason out) ------------------------------------------


def _json(result: Result) -> dict[str, Any] | None:
    if not result.ok:
        return None
    try:
        value = json.loads(result.stdout)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _other_host(src: str, dst: str, source_uuid: str | None) -> Callable[[Result], str | None]:
    def verdict(result: Result) -> str | None:
        data = _json(result)
        if data is None:
            return None  # a failed call: the executor shows its stderr
        if source_uuid and data.get("host_uuid") == source_uuid:
            return f"{dst} is the same libvirt host as {src} (host UUID {source_uuid})"
        return None
    return verdict


def _name_free(name: str, uuid: str, dst: str) -> Callable[[Result], str | None]:
    def verdict(result: Result) -> str | None:
        data = _json(result)
        if data is None:
            return None
        by_name, by_uuid = data.get("by_name"), data.get("by_uuid")
        if isinstance(by_name, dict):
            if uuid and by_name.get("uuid") != uuid:
                return f"{dst} already has another domain named {name}"
            if by_name.get("active"):
                return f"{name} is already running on {dst}"
        if isinstance(by_uuid, dict) and by_uuid.get("name") != name:
            return f"{dst} has {name}'s UUID under another name"
        return None
    return verdict


def _room(name: str, dst: str, memory: int | None, vcpus: int | None) -> Callable[[Result], str | None]:
    def verdict(result: Result) -> str | None:
        data = _json(result)
        if data is None:
            return None
        free, cpus = data.get("free_bytes"), data.get("cpus")
        if isinstance(free, int) and memory is not None and free < memory:
            return f"{dst} has {human_size(free)} of memory free; {name} needs {human_size(memory)}"
        if isinstance(cpus, int) and vcpus is not None and vcpus > cpus:
            return f"{dst} has {cpus} CPUs; {name} has {vcpus} vCPUs"
        return None
    return verdict


def _cpu(name: str, dst: str) -> Callable[[Result], str | None]:
    def verdict(result: Result) -> str | None:
        data = _json(result)
        if data is None:
            return None
        if data.get("result") == "incompatible":
            detail = str(data.get("detail") or "")
            return f"{dst} cannot run {name}'s CPU" + (f": {detail}" if detail else "")
        return None
    return verdict


def _exists(dst: str, path: str) -> Callable[[Result], str | None]:
    def verdict(result: Result) -> str | None:
        if result.exit_status == 1 and not result.stderr.strip():
            return f"{dst} has no {path}"
        return None  # 0: there; any other failure: the executor shows its stderr
    return verdict


# -- progress ------------------------------------------------------------------------------------------------


def parse_job_stats(text: str) -> ProgressInfo | None:
    """`virDomainGetJobStats` of the source as JSON (what `execute` prints) -> progress; None when there is
    no job (``type`` 0, before it starts and after it ends) or the text is not such a record.

    Keys (libvirt-domain.h, VIR_DOMAIN_JOB_*): ``data_total``/``data_processed``/``data_remaining`` bytes
    (memory and copied disks), ``memory_bps`` bytes/s, ``disk_bps``, ``downtime`` the expected downtime in
    ms while running."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.get("type"):
        return None

    def number(key: str) -> int | None:
        value = data.get(key)
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    total, processed, remaining = number("data_total"), number("data_processed"), number("data_remaining")
    rate = number("memory_bps") or number("disk_bps")
    downtime = number("downtime")
    fraction = min(1.0, processed / total) if total and processed is not None else None
    parts = []
    if processed is not None:
        parts.append(f"{human_size(processed)} sent" + (f" of {human_size(total)}" if total else ""))
    if remaining is not None:
        parts.append(f"{human_size(remaining)} left")
    if rate:
        parts.append(f"{human_size(rate)}/s")
    if downtime is not None:
        parts.append(f"expected downtime {downtime} ms")
    return ProgressInfo(fraction=fraction, processed_bytes=processed, remaining_bytes=remaining,
                        rate_bps=float(rate) if rate else None, downtime_ms=downtime, message=", ".join(parts))


def whereabouts(name: str, source: str, target: str, here: str | None, there: str | None) -> str:
    """One sentence: where the guest is after a migration ended, from its state on each host (the
    word virsh prints, None when the host does not have it)."""
    if here is None and there is not None:
        return f"{name} is {there} on {target}; {source} no longer has it."
    if there is None and here is not None:
        return f"{name} is still {here} on {source}; {target} does not have it."
    if here is None and there is None:
        return f"{name} is on neither {source} nor {target}: look at both hosts before doing anything else."
    if here == "shut off" and there != "shut off":
        return f"{name} is {there} on {target}; {source} still has its definition (shut off)."
    return (f"{name} is on both hosts: {here} on {source}, {there} on {target}: look at both before doing "
            "anything else.")


def mark(rows: Sequence[Domain], outgoing: Mapping[str, str]) -> tuple[Domain, ...]:
    """The fleet table's rows with the domains in a live migration flagged ``migrating``: those this
    backend is migrating away (its own knowledge: libvirt's bulk stats say nothing of jobs) and those
    libvirt reports paused by a migration (the incoming copy on a target, and the source's final pause)."""
    out = []
    for row in rows:
        if row.uuid and row.uuid in outgoing:
            row = replace(row, flags="migrating", flags_meaning=f"live migration to {outgoing[row.uuid]} in progress")
        elif row.state is DomainState.PAUSED and dict(row.extra).get("reason") == "migrating":
            row = replace(row, flags="migrating", flags_meaning="paused by a live migration")
        out.append(row)
    return tuple(out)
