#!/bin/bash
# Start or stop virtlogd + libvirtd by hand, with pid files in /run/hvdeck-testbed.
#   libvirtd.sh start | stop | status
# Debian 12 ships only the monolithic libvirtd and no init script, and the test machines do not
# run systemd, so the daemons are started directly (`-d` daemonizes). Idempotent: a daemon that
# is already running is not started again.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/common.sh"

start_daemon() {  # start_daemon NAME
  local name=$1 pidf=$TB_RUN/$1.pid others i
  if tb_pidfile_alive "$pidf" "$name"; then
    tb_log "$name already running (pid $(cat "$pidf"))"
    return 0
  fi
  rm -f "$pidf"
  others=$(tb_daemons_here "$name" | tr '\n' ' ')
  if [ -n "$others" ]; then
    # started by something else (e.g. by hand): use it, and leave it alone on stop
    tb_log "$name already running (pid ${others% }, not started by this script); using it"
    return 0
  fi
  if [ "$name" = libvirtd ]; then
    # no libvirtd in this mount namespace: any socket left over is stale
    rm -f /run/libvirt/libvirt-sock /run/libvirt/libvirt-sock-ro /run/libvirt/libvirt-admin-sock
  else
    rm -f /run/libvirt/virtlogd-sock /run/libvirt/virtlogd-admin-sock
  fi
  # stdio to a file: a daemon holding the caller's stdout open makes `... | tail` hang
  "$name" -d -p "$pidf" </dev/null >>"$TB_LOGS/$name.out" 2>&1
  for i in $(seq 1 50); do tb_pidfile_alive "$pidf" "$name" && break; sleep 0.1; done
  tb_pidfile_alive "$pidf" "$name" || tb_die "$name did not start, see $TB_LOGS/$name.out"
  tb_log "started $name (pid $(cat "$pidf"))"
}

case ${1:-start} in
  stop)
    tb_stop_pidfile "$TB_RUN/libvirtd.pid" libvirtd
    tb_stop_pidfile "$TB_RUN/virtlogd.pid" virtlogd
    exit 0 ;;
  status)
    for d in virtlogd libvirtd; do
      if tb_pidfile_alive "$TB_RUN/$d.pid" "$d"; then echo "$d: running (pid $(cat "$TB_RUN/$d.pid"))"
      elif [ -n "$(tb_daemons_here "$d")" ]; then echo "$d: running (pid $(tb_daemons_here "$d" | tr '\n' ' '), not ours)"
      else echo "$d: stopped"; fi
    done
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

command -v libvirtd >/dev/null || tb_die "libvirtd not installed (run scripts/setup.sh --test)"
mkdir -p "$TB_RUN" "$TB_LOGS" /run/libvirt /run/lock

# /dev/kvm: without udev it stays root:root 0600. libvirt then decides that "KVM was enabled when
# probing, but is not available now" and re-probes the QEMU capabilities on every domain start
# (virsh start 4.4 s instead of 0.4 s). Give it the permissions Debian's udev rule would.
# (KVM itself cannot run normal guests on these machines; the guests use TCG, type='qemu'.)
if [ -e /dev/kvm ]; then
  { chgrp kvm /dev/kvm && chmod 0660 /dev/kvm; } 2>/dev/null || tb_log "warning: could not fix /dev/kvm permissions"
fi

# Do not autostart libvirt's default NAT network: it needs dnsmasq and creates virbr0 on the host.
rm -f /etc/libvirt/qemu/networks/autostart/default.xml

start_daemon virtlogd
start_daemon libvirtd

t0=$(tb_now)
for i in $(seq 1 100); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
[ -S /run/libvirt/libvirt-sock ] || tb_die "libvirtd socket did not appear, see $TB_LOGS/libvirtd.out"
# The first connection probes QEMU's capabilities (8-11 s once, cached afterwards in
# /var/cache/libvirt/qemu/capabilities); do it here so that the first test does not pay for it.
ok=
for i in 1 2 3 4 5; do
  if ver=$(virsh -c "$TB_URI" version 2>&1); then ok=1; break; fi
  sleep 1
done
[ -n "$ok" ] || { echo "$ver" >&2; tb_die "cannot connect to $TB_URI"; }
echo "$ver" | grep -E 'Using|Running' | sed 's/^/testbed:   /'
tb_log "libvirtd ready on $TB_URI ($(tb_since "$t0") s for the first connection)"
