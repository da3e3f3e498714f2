#!/bin/bash
# Stop the test bed: the migration hosts hv1 and hv2 (their namespaces, daemons and guest), the test
# guests, sshd, libvirtd, virtlogd, and remove bridges hvtb0 and hvmig0.
# Guest definitions, disks, keys and the built guest stay in /var/lib/hvdeck-testbed, so the
# next up.sh is fast. Daemons that these scripts did not start are left alone.
set -uo pipefail
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/common.sh"
T0=$(tb_now)

if command -v virsh >/dev/null && tb_libvirtd_up; then
  for g in "$TB_GUEST_ON" "$TB_GUEST_OFF"; do
    case $(tb_domstate "$g") in
      "shut off"|absent) ;;
      *) tb_virsh destroy "$g" >/dev/null 2>&1 && tb_log "stopped $g" ;;
    esac
  done
fi
# QEMU outlives a killed libvirtd; make sure no test guest is left behind
for p in /proc/[0-9]*; do
  p=${p#/proc/}
  case $(cat "/proc/$p/comm" 2>/dev/null) in qemu-system-x86*) ;; *) continue ;; esac
  for g in "$TB_GUEST_ON" "$TB_GUEST_OFF"; do
    if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "-name guest=$g,"; then
      tb_stop_pid "$p" "$(cat "/proc/$p/comm")" && tb_log "killed leftover QEMU of $g (pid $p)"
    fi
  done
done

bash "$HERE/migration.sh" down
bash "$HERE/sshd.sh" stop
bash "$HERE/libvirtd.sh" stop
if ip link show "$TB_BRIDGE" >/dev/null 2>&1; then ip link del "$TB_BRIDGE" && tb_log "removed bridge $TB_BRIDGE"; fi
echo "testbed down in $(tb_since "$T0") s"
