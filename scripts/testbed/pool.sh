#!/bin/bash
# A directory storage pool for the tests of the create and clone wizards:
#   pool.sh start | stop | status
# Pool "hvdeck-testbed" (persistent, autostarted) over /var/lib/hvdeck-testbed/pool. start defines,
# builds and starts it if needed (idempotent; under 0.1 s). Volumes that tests leave behind are not
# removed here: the tests delete what they create.
# Needs qemu-img (qemu-utils) before libvirtd starts, for qcow2 volumes and snapshots (README Q1).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/common.sh"

case ${1:-start} in
  stop)
    if tb_libvirtd_up && tb_virsh pool-info "$TB_POOL" >/dev/null 2>&1; then
      tb_virsh pool-destroy "$TB_POOL" >/dev/null 2>&1 || true
      tb_log "stopped pool $TB_POOL"
    fi
    exit 0 ;;
  status)
    tb_virsh pool-info "$TB_POOL" 2>/dev/null || echo "pool $TB_POOL: not defined"
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

command -v qemu-img >/dev/null || tb_die "qemu-img not installed (run scripts/setup.sh --test)"
tb_libvirtd_up || tb_die "libvirtd is not running (scripts/testbed/libvirtd.sh start)"
mkdir -p "$TB_POOL_DIR"
chmod 0755 "$TB_POOL_DIR"
if ! tb_virsh pool-info "$TB_POOL" >/dev/null 2>&1; then
  tb_virsh pool-define-as --name "$TB_POOL" --type dir --target "$TB_POOL_DIR" >/dev/null
  tb_virsh pool-build "$TB_POOL" >/dev/null
  tb_virsh pool-autostart "$TB_POOL" >/dev/null
  tb_log "defined pool $TB_POOL ($TB_POOL_DIR)"
fi
info=$(tb_virsh pool-info "$TB_POOL")  # not piped into grep -q: with pipefail, virsh's SIGPIPE would fail it
if ! grep -q '^State: *running' <<<"$info"; then
  tb_virsh pool-start "$TB_POOL" >/dev/null
  tb_log "started pool $TB_POOL"
else
  tb_virsh pool-refresh "$TB_POOL" >/dev/null
  tb_log "pool $TB_POOL already running"
fi
