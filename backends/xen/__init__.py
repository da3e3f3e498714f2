"""Xen dom0s: `xl` (Xen >= 4.1), legacy `xm`/xend (Xen <= 4.4) and Sun xVM (OpenSolaris, virsh and xm)."""
