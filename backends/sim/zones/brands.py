"""The brand hooks zoneadm runs: install (from a package repository or from an image: p2v), attach with
its software check (``-u``), and the detach manifest.

zoneadm runs these as child processes whose output goes to zoneadm's stdout, so their messages,
including ``ERROR:`` lines, are on stdout; the exit code says what zoneadm does next
(ZONE_SUBPROC_USAGE 253 → zoneadm prints its usage; NOTCOMPLETE 254 → zoneadm cleans up and resets the
zone to configured; FATAL 255 → the zone stays incomplete). Sources:

- repository install, illumos: the OmniOS documentation's ``zoneadm -z test install`` transcript
  (illumos-omnios brand/ipkg/zone/pkgcreatezone.ksh prints it); Solaris 11: RECONSTRUCTED from Oracle's
  zone installation examples (the ``Progress being logged to``/``Next Steps`` shape).
- image install (p2v): illumos-gate brand/solaris10/zone/image_install.ksh messages and
  brand/shared/zone/common.ksh ``install_image`` checks (archive kinds, missing paths, non-empty root);
  the ipkg and Solaris 11 brands' image installers print the same lines here (RECONSTRUCTED).
- attach: illumos-omnios brand/ipkg/zone/attach.ksh (Attach Path, Evaluation ... retry with the -u
  flag, Result: Attach Succeeded/Failed); the Solaris 11 solaris brand prints the same here
  (RECONSTRUCTED); illumos-gate brand/solaris10/zone/attach.ksh takes ``a:d:nr:`` and no -u.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from .model import Brand, Config, Layout, Platform, Zone

ZONE_SUBPROC_OK, ZONE_SUBPROC_USAGE, ZONE_SUBPROC_NOTCOMPLETE, ZONE_SUBPROC_FATAL = 0, 253, 254, 255


@dataclass
class HookResult:
    """What a brand hook printed and how it exited; ``image`` is the zone root it leaves (os, level,
    entire, hostname, size), None when it leaves none."""

    stdout: list[str] = field(default_factory=list)
    status: int = ZONE_SUBPROC_OK
    image: dict | None = None

    def say(self, *lines: str) -> None:
        self.stdout += [f"{line}\n" for line in lines]

    def fail(self, status: int, *lines: str) -> "HookResult":
        self.say(*lines)
        self.status = status
        return self


# -- install from a package repository ---------------------------------------------------------------

def _omnios_release(platform: Platform) -> str:
    return f"r{platform.level[0]}"


def install_repository(platform: Platform, zone: Zone, brand: Brand, seconds: float, stamp: str) -> HookResult:
    """``zoneadm -z Z install`` with no image: the brand's package installer."""
    result = HookResult()
    root = f"{zone.zonepath}/root"
    if platform.layout is Layout.ILLUMOS:
        release = _omnios_release(platform)
        result.say("", f"       Image: Preparing at {root}.",
                   "Sanity Check: Looking for 'entire' incorporation.",
                   f"   Publisher: Using omnios (https://pkg.omnios.org/{release}/core/).",
                   f"   Publisher: Using extra.omnios (https://pkg.omnios.org/{release}/extra/).",
                   "       Cache: Using /var/pkg/publisher.",
                   "  Installing: Packages (output follows)",
                   "Packages to install: 197", "Mediators to change:   3", " Services to change:   5", "",
                   "DOWNLOAD                                PKGS         FILES    XFER (MB)   SPEED",
                   "Completed                            197/197     1292/1292      4.5/4.5      --", "",
                   "PHASE                                          ITEMS",
                   "Installing new actions                     5638/5638",
                   "Updating package state database                 Done",
                   "Updating package cache                           0/0",
                   "Updating image state                            Done",
                   "Creating fast lookup database                   Done",
                   " Postinstall: Copying SMF seed repository ... done.")
        if brand.name == "pkgsrc":
            result.say("Installing pkgsrc bootstrap...")
        result.say(f"        Done: Installation completed in {seconds:.3f} seconds.")
    else:
        log = f"/var/log/zones/zoneadm.{stamp}.{zone.name}.install"
        result.say(f"Progress being logged to {log}", f"       Image: Preparing at {root}.", "",
                   " AI Manifest: /tmp/manifest.xml.JFaOZf",
                   "  SC Profile: /usr/share/auto_install/sc_profiles/enable_sci.xml",
                   f"    Zonename: {zone.name}", "Installation: Starting ...", "",
                   "        Creating IPS image", "Startup linked: 1/1 done",
                   "        Installing packages from:", "            solaris",
                   "                origin:  http://pkg.oracle.com/solaris/release/",
                   "DOWNLOAD                                PKGS         FILES    XFER (MB)   SPEED",
                   "Completed                            282/282   53274/53274  351.9/351.9  2.7M/s", "",
                   "PHASE                                          ITEMS",
                   "Installing new actions                   71127/71127",
                   "Updating package state database                 Done",
                   "Updating image state                            Done",
                   "Creating fast lookup database                   Done",
                   "Installation: Succeeded", "",
                   "        Note: Man pages can be obtained by installing pkg:/system/manual", "", " done.", "",
                   f"        Done: Installation completed in {seconds:.3f} seconds.", "", "",
                   "  Next Steps: Boot the zone, then log into the zone console (zlogin -C)", "",
                   "              to complete the configuration process.", "",
                   f"Log saved in non-global zone as {root}{log}")
    result.image = {"os": brand.image_os, "level": list(platform.level), "entire": platform.entire,
                    "hostname": zone.name, "size": brand.install_size}
    return result


# -- install from an image (p2v) -------------------------------------------------------------------

#: shared/zone/common.ksh messages
E_UNKNOWN_ARCHIVE = ("Error: Unknown archive format. Must be a flash archive, a cpio archive (can also be gzipped "
                     "or bzipped), a pax XUSTAR archive, or a level 0 ufsdump archive.")
E_INSTALL_ABORT = "ERROR: Installation aborted."
#: what `file` says of each archive kind (common.ksh matches these) → the name install_image logs
ARCHIVE_NAMES = {"cpio": "cpio archive", "gzip": "gzipped cpio archive", "bzip2": "bzipped cpio archive",
                 "flar": "flash archive", "pax": "pax (xustar) archive", "ufsdump": "ufsdump archive",
                 "tar": "tar archive", "zfs": "ZFS send stream", "uar": "Unified Archive"}
OS_NAMES = {"solaris10": "a Solaris 10", "solaris11": "an Oracle Solaris 11", "illumos": "an illumos",
            "smartos": "a SmartOS"}


def image_usage(brand: Brand) -> str:
    """image_install.ksh ``m_usage`` (the solaris10 wording; ipkg's pkgcreatezone is similar)."""
    return (f"{brand.name} brand usage:\n\tinstall -u | -p [-v | -s] -a archive | -d directory.\n\tThe -a archive "
            "option specifies an archive name which can be a flar,\n\ttar, pax or cpio archive.\n\tThe -d directory "
            "option specifies an existing directory.\n\tThe -u option unconfigures the zone, -p preserves the "
            "configuration.")


@dataclass(frozen=True)
class ImageSource:
    """What ``install -a``/``-d`` points at: ``kind`` is ``archive``, ``directory`` or ``existing``
    (``-d -``); ``node`` the file found there (None when missing), as (node kind, meta, size)."""

    kind: str
    path: str
    found: tuple[str, dict, int] | None


def install_image(platform: Platform, zone: Zone, brand: Brand, source: ImageSource, *, unconfig: bool,
                  preserve: bool, verbose: bool, root_has_data: bool, log_id: str, pid: int) -> HookResult:
    """image_install.ksh: ``-u`` or ``-p`` required, the source checked, the image unpacked into
    ZONEPATH/root, sanity-checked and post-processed (p2v). Failures exit NOTCOMPLETE (zoneadm then cleans
    up), a bad option USAGE."""
    result = HookResult()
    if unconfig and preserve:
        return result.fail(ZONE_SUBPROC_USAGE, f"ERROR: -u and -p may not be used together.\n{image_usage(brand)}")
    if not unconfig and not preserve:
        return result.fail(ZONE_SUBPROC_USAGE, "ERROR: you must specify -u (sys-unconfig) or -p (preserve identity)."
                           f"\n{image_usage(brand)}")
    result.say(f"      Log File: /var/tmp/{zone.name}.install_log.{log_id}")
    if source.kind == "directory":
        if not source.path.startswith("/"):
            return result.fail(ZONE_SUBPROC_NOTCOMPLETE,
                               f"ERROR: Pathname specified to -a '{source.path}' must be absolute.")
        if source.found is None:
            return result.fail(ZONE_SUBPROC_NOTCOMPLETE, f"{source.path}: error: file or directory not found.",
                               E_INSTALL_ABORT)
        if source.found[0] not in ("dir", "image"):
            return result.fail(ZONE_SUBPROC_NOTCOMPLETE, "Error: must be a directory", E_INSTALL_ABORT)
    elif source.kind == "archive":
        if source.found is None or source.found[0] != "archive" or source.found[1].get("format") not in brand.p2v:
            return result.fail(ZONE_SUBPROC_NOTCOMPLETE, E_UNKNOWN_ARCHIVE, E_INSTALL_ABORT)
        if verbose:
            result.say(ARCHIVE_NAMES[source.found[1]["format"]])
    if source.kind != "existing" and root_has_data:
        return result.fail(ZONE_SUBPROC_NOTCOMPLETE, f"ERROR: Zonepath root {zone.zonepath}/root exists and contains "
                           "data; remove or move aside prior to install.")
    result.say("    Installing: Using pre-existing data in zonepath" if source.kind == "existing"
               else "    Installing: This may take several minutes...")
    meta = source.found[1] if source.found is not None else {}
    image_os = meta.get("os")
    if image_os != brand.image_os:
        return result.fail(ZONE_SUBPROC_NOTCOMPLETE, "  Sanity Check: FAILED (see log for details).",
                           "        Result: *** Installation FAILED ***",
                           f"      Log File: /var/tmp/{zone.name}.install_log.{log_id}")
    result.say(f"  Sanity Check: Passed.  Looks like {OS_NAMES[image_os]} system.",
               "Postprocessing: This may take a while...",
               "   Postprocess: Updating the image to run within a zone")
    if unconfig:
        result.say("   Postprocess: Unconfiguring the system identity (sys-unconfig)")
    level = meta.get("level")
    if image_os == platform_os(platform):  # p2v brings the image in sync with the global zone (zones.md §3a)
        level = list(platform.level)
    result.say("", "        Result: Installation completed successfully.",
               f"      Log File: {zone.zonepath}/root/var/log/{zone.name}.install{pid}.log")
    result.image = {"os": image_os, "level": level, "entire": meta.get("entire", ""),
                    "hostname": zone.name if unconfig else meta.get("hostname", zone.name),
                    "size": max(int(source.found[2]) if source.found else 0, 64 << 20)}
    return result


def platform_os(platform: Platform) -> str:
    return "solaris11" if platform.layout is Layout.SOLARIS11 else "illumos"


# -- attach ---------------------------------------------------------------------------------------

def attach_usage(brand: Brand) -> str:
    if brand.attach_update:  # illumos-omnios ipkg attach.ksh m_usage
        return ("attach [-a archive] [-d dataset] [-n] [-r zfs-recv] [-u]\n\tThe -a archive option specifies a tar "
                "file or cpio archive.\n\tThe -d dataset option specifies an existing dataset.\n\tThe -r zfs-recv "
                "option receives the output of a 'zfs send' command\n\tof an existing zone root dataset.\n\tThe -u "
                "option indicates that the software should be updated to match\n\tthe current host.")
    return (f"{brand.name} brand usage:\n\tattach [-a archive | -d directory | -r recv_type]\n\tThe -a archive option "
            "specifies an archive name which can be a flar,\n\ttar, pax or cpio archive.\n\tThe -d directory option "
            "specifies an existing directory.\n\tThe -r recv_type option specifies the type of archive to be read "
            "from\n\tstdin.")


def attach(platform: Platform, zone: Zone, brand: Brand, image: dict | None, dataset: str | None, *,
           update: bool, options: list[str], log_id: str) -> HookResult:
    """The brand's attach hook for a zonepath already in place (``-u`` updates the zone's software to the
    global zone's level; without it an older or newer image is refused)."""
    result = HookResult()
    accepted = {"-u"} if brand.attach_update else set()
    refused = [o for o in options if o not in accepted]
    if refused:
        return result.fail(ZONE_SUBPROC_USAGE, attach_usage(brand))
    root = f"{zone.zonepath}/root"
    if not brand.attach_update:  # solaris10 attach.ksh
        result.say(f"Log File: /var/tmp/{zone.name}.attach_log.{log_id}", "Attaching...")
        if image is None:
            return result.fail(ZONE_SUBPROC_NOTCOMPLETE, "ERROR: no active dataset.", "*** Attach FAILED ***")
        if image.get("os") != brand.image_os:
            return result.fail(ZONE_SUBPROC_NOTCOMPLETE, "Error: this is a system image and not a zone image.")
        result.say("    Installing: Using pre-existing data in zonepath", "Attach complete.",
                   f"Log File: {root}/var/log/{zone.name}.attach{log_id[:4]}.log")
        result.image = image
        return result
    result.say(f"Log File: /var/tmp/{zone.name}.attach_log.{log_id}")
    failed = "                    Result: Attach Failed."
    if image is None or dataset is None:
        return result.fail(ZONE_SUBPROC_NOTCOMPLETE, f"ERROR: Failed to locate any dataset mounted at {root}.  Attach "
                           "requires a mounted dataset.", failed)
    result.say(f"               Attach Path: {root}", f"        Attach ZFS Dataset: {dataset}", "",
               "                Installing: Using pre-existing data in zonepath")
    if image.get("os") != brand.image_os:
        return result.fail(ZONE_SUBPROC_NOTCOMPLETE,
                           "  Sanity Check: FAILED, couldn't determine variant.opensolaris.zone from image.", failed)
    result.say(f"       Global zone version: {platform.entire}",
               f"   Non-Global zone version: {image.get('entire', '')}",
               "                     Cache: Using /var/pkg/publisher.",
               "  Updating non-global zone: Output follows")
    level = tuple(image.get("level") or ())
    out_of_sync = f"                Evaluation: Packages in zone {zone.name} are out of sync with the global zone. " \
                  "To proceed, retry with the -u flag."
    if level == platform.level:
        result.say("No updates necessary for this image.", "")
        if update:
            result.say("  Updating non-global zone: Zone updated.")
        result.say("                    Result: Attach Succeeded.")
        result.image = image
        return result
    if not update:
        return result.fail(ZONE_SUBPROC_NOTCOMPLETE, "", out_of_sync, failed)
    if level > platform.level:
        return result.fail(ZONE_SUBPROC_NOTCOMPLETE,
                           "pkg install: No matching version of entire can be installed:",
                           f"  Reject:  {image.get('entire', '')}", "  Reason:  This version is excluded by installed "
                           "incorporation", "ERROR: Could not update attaching zone", failed)
    result.say("            Packages to update: 214", "       Create boot environment: No",
               "Create backup boot environment: Yes", "",
               "DOWNLOAD                                PKGS         FILES    XFER (MB)   SPEED",
               "Completed                            214/214     3312/3312    92.1/92.1      --", "",
               "PHASE                                          ITEMS",
               "Removing old actions                         412/412",
               "Installing new actions                     1733/1733",
               "Updating modified actions                  4862/4862",
               "Updating package state database                 Done",
               "Updating package cache                       214/214",
               "Updating image state                            Done",
               "Creating fast lookup database                   Done", "",
               "  Updating non-global zone: Zone updated.",
               "                    Result: Attach Succeeded.")
    result.image = dict(image, level=list(platform.level), entire=platform.entire)
    return result


# -- the detach manifest --------------------------------------------------------------------------

_ELEMENTS = {"fs": "filesystem", "net": "network", "anet": "anet", "device": "device", "rctl": "rctl",
             "attr": "attr", "dataset": "dataset", "dedicated-cpu": "pset", "capped-memory": "mcap", "admin": "admin"}
_ATTRIBUTES = {"dir": "directory", "physical": "physical", "match": "match", "ncpus": "ncpu_max"}


def detach_manifest(zone: Zone, config: Config, image: dict | None) -> str:
    """SUNWdetached.xml (``zoneadm detach -n`` prints it): the zone's configuration in libzonecfg's XML,
    the DTD of /usr/share/lib/xml/dtd/zonecfg.dtd.1, and the zone's software level. RECONSTRUCTED layout."""
    attrs = {"name": zone.name, "zonepath": zone.zonepath, "autoboot": config.get("autoboot") or "false",
             "brand": zone.brand}
    if config.get("ip-type"):
        attrs["ip-type"] = config.get("ip-type")
    head = " ".join(f"{key}={quoteattr(value)}" for key, value in attrs.items())
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<!DOCTYPE zone PUBLIC "-//Sun Microsystems Inc//DTD Zones//EN" '
             '"file:///usr/share/lib/xml/dtd/zonecfg.dtd.1">', "<!--",
             "    DO NOT EDIT THIS FILE.  Use zonecfg(1M) instead.", "-->", f"<zone {head}>"]
    for resource in config.resources:
        element = _ELEMENTS.get(resource.type, resource.type)
        fields = " ".join(f"{_ATTRIBUTES.get(k, k)}={quoteattr(v)}" for k, v in resource.props.items())
        inner = [f"    <fsoption name={quoteattr(o)}/>" for o in resource.options]
        inner += [f"    <rctl-value priv={quoteattr(p)} limit={quoteattr(limit)} action={quoteattr(a)}/>"
                  for p, limit, a in resource.values]
        if inner:
            lines += [f"  <{element} {fields}>".replace(" >", ">"), *inner, f"  </{element}>"]
        else:
            lines.append(f"  <{element} {fields}/>".replace(" />", "/>"))
    if image is not None and image.get("entire"):
        lines.append(f"  <package name=\"entire\" version={quoteattr(image['entire'])}/>")
    lines.append("</zone>")
    return "".join(f"{line}\n" for line in lines)
