"""The one `zfs_nicenum` the simulated hosts print sizes with (LDoms control domains, global zones and
Xen dom0s all run zfs(8))."""

from __future__ import annotations


def zfs_nicenum(value: int) -> str:
    """zfs(8)'s human numbers (libzfs ``zfs_nicenum``): exact multiples as ``20G``, otherwise the precision
    that fits five characters (``1.50G``, ``20.6G``, ``206G``); bytes without a unit."""
    index = 0
    while index < 6 and value >= 1 << (10 * (index + 1)):
        index += 1
    suffix = " KMGTPE"[index].strip()
    if value % (1 << (10 * index)) == 0:
        return f"{value >> (10 * index)}{suffix}"
    scaled = value / (1 << (10 * index))
    for decimals in (2, 1):
        text = f"{scaled:.{decimals}f}{suffix}"
        if len(text) <= 5:
            return text
    return f"{scaled:.0f}{suffix}"
