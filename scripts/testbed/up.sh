#!/bin/bash
# Bring the whole test bed up (idempotent; running it again is cheap):
#   virtlogd + libvirtd, a directory storage pool (pool.sh), the tiny guest kernel/initrd, bridge hvtb0, one raw disk per guest,
#   hvtest1 defined and running (waits for its boot banner), hvtest2 defined and shut off,
#   sshd on 127.0.0.1:2222, and two more libvirt hosts for live migration, hv1 (running hvmig1)
#   and hv2, each in its own network namespace with its own sshd (migration.sh).
#   up.sh [--restart]     --restart: power-cycle hvtest1 even if it is already running
# Needs the packages from `scripts/setup.sh --test`.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/common.sh"
RESTART=
[ "${1:-}" = --restart ] && RESTART=1

T0=$(tb_now)
step() { STEP_T=$(tb_now); tb_log "== $*"; }
done_step() { tb_log "   done in $(tb_since "$STEP_T") s"; }

step "libvirtd"
bash "$HERE/libvirtd.sh" start
done_step

step "storage pool"
bash "$HERE/pool.sh" start
done_step

step "tiny guest"
bash "$HERE/tiny_guest.sh"
done_step

step "bridge $TB_BRIDGE, disks, domain definitions"
# An isolated bridge for the guests' NICs: no uplink, no address, no dnsmasq.
ip link show "$TB_BRIDGE" >/dev/null 2>&1 || ip link add "$TB_BRIDGE" type bridge
ip link set "$TB_BRIDGE" up
mkdir -p "$TB_DISKS" "$TB_XML" "$TB_LOGS"
chmod 0755 "$TB" "$TB_DISKS" "$TB_LOGS"
i=0
for g in "$TB_GUEST_ON" "$TB_GUEST_OFF"; do
  i=$((i + 1))
  disk=$TB_DISKS/$g.img
  if [ ! -f "$disk" ]; then
    if command -v qemu-img >/dev/null; then qemu-img create -q -f raw "$disk" 16M
    else truncate -s 16M "$disk"; fi
  fi
  sed -e "s/NAME/$g/g" \
      -e "s/UUID/6876646b-7465-7374-6265-64000000000$i/" \
      -e "s/MAC/52:54:00:7e:57:0$i/" "$HERE/tiny-guest.xml" > "$TB_XML/$g.xml"
  # same uuid every time, so this replaces an existing definition (a running guest keeps running)
  tb_virsh define "$TB_XML/$g.xml" >/dev/null
done
tb_log "defined $TB_GUEST_ON, $TB_GUEST_OFF"
done_step

step "guests"
case $(tb_domstate "$TB_GUEST_OFF") in
  "shut off") ;;
  *) tb_virsh destroy "$TB_GUEST_OFF" >/dev/null 2>&1 || true; tb_log "stopped $TB_GUEST_OFF" ;;
esac

LOG=$TB_LOGS/$TB_GUEST_ON.serial.log
boot_on() {
  tb_virsh destroy "$TB_GUEST_ON" >/dev/null 2>&1 || true
  tb_virsh start "$TB_GUEST_ON" >/dev/null
  tb_log "started $TB_GUEST_ON"
}
wait_banner() {  # wait_banner SECONDS
  local n=$(( $1 * 4 )) i
  for i in $(seq 1 "$n"); do
    grep -q "$TB_BANNER" "$LOG" 2>/dev/null && return 0
    sleep 0.25
  done
  return 1
}
started_here=
state=$(tb_domstate "$TB_GUEST_ON")
if [ -n "$RESTART" ]; then
  boot_on; started_here=1
else
  case $state in
    running) tb_log "$TB_GUEST_ON already running" ;;
    paused)  tb_virsh resume "$TB_GUEST_ON" >/dev/null; tb_log "resumed $TB_GUEST_ON" ;;
    *)       boot_on; started_here=1 ;;
  esac
fi
if ! wait_banner 60; then
  if [ -z "$started_here" ]; then
    # running, but its console log shows no boot (e.g. the log was removed): power-cycle once
    tb_log "$TB_GUEST_ON shows no boot banner, restarting it"
    boot_on
    wait_banner 60 || { tail -n 20 "$LOG" >&2 || true; tb_die "$TB_GUEST_ON did not boot within 60 s ($LOG)"; }
  else
    tail -n 20 "$LOG" >&2 || true
    tb_die "$TB_GUEST_ON did not boot within 60 s ($LOG)"
  fi
fi
tb_log "$(grep -m1 "$TB_BANNER" "$LOG" | tr -d '\r=' | sed 's/^ *//')"
done_step

step "sshd"
bash "$HERE/sshd.sh" start
done_step

step "migration hosts hv1, hv2"
bash "$HERE/migration.sh" up
done_step

echo "testbed up in $(tb_since "$T0") s"
virsh -c "$TB_URI" list --all
