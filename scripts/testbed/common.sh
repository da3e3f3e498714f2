# shellcheck shell=bash
# Settings and helpers shared by the scripts in scripts/testbed. Sourced, not run.
# Everything the test bed writes lives under $TB (state) and $TB_RUN (pid files).

TB=/var/lib/hvdeck-testbed
TB_RUN=/run/hvdeck-testbed
TB_GUEST_DIR=$TB/guest        # vmlinuz, initrd.img of the tiny guest
TB_CACHE=$TB/cache            # downloaded kernel .deb
TB_LOGS=$TB/logs              # serial logs, daemon output
TB_DISKS=$TB/disks            # raw disk files of the guests
TB_XML=$TB/xml                # generated domain XML
TB_SSH=$TB/ssh                # client key + known_hosts
TB_SSHD=$TB/sshd              # sshd config, host key, authorized_keys
TB_POOL=hvdeck-testbed        # directory storage pool for the wizards' tests (pool.sh)
TB_POOL_DIR=$TB/pool          # its directory
TB_SSH_PORT=2222
TB_BRIDGE=hvtb0
TB_URI=qemu:///system
TB_GUEST_ON=hvtest1           # defined and running
TB_GUEST_OFF=hvtest2          # defined, left shut off
TB_BANNER='TINYGUEST BOOTED'

umask 022
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

tb_log() { echo "testbed: $*"; }
tb_die() { echo "testbed: ERROR: $*" >&2; exit 1; }
tb_now() { date +%s.%N; }
tb_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

# tb_pid_alive PID [COMM]: PID is a live process (not a zombie), optionally named COMM.
# `kill -0` alone is not enough: it succeeds on zombies, and PID 1 on these machines reaps
# orphans only lazily, so a killed daemon can linger as <defunct> for a while.
tb_pid_alive() {
  local pid=${1:-} comm=${2:-} st
  case $pid in ''|*[!0-9]*) return 1 ;; esac
  st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ] || return 1
  [ -z "$comm" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]
}

# tb_pidfile_alive FILE [COMM]
tb_pidfile_alive() { [ -s "$1" ] && tb_pid_alive "$(cat "$1" 2>/dev/null)" "${2:-}"; }

# tb_daemons_here COMM: pids of live COMM processes in our own mount namespace (daemons in
# other namespaces, e.g. per-netns libvirtds, use their own /run and are not ours to reuse).
tb_daemons_here() {
  local comm=$1 myns p
  myns=$(readlink /proc/self/ns/mnt)
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$comm" ] || continue
    [ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$myns" ] || continue
    tb_pid_alive "$p" "$comm" && echo "$p"
  done
  return 0
}

# tb_stop_pid PID COMM: SIGTERM, wait up to 10 s, then SIGKILL.
tb_stop_pid() {
  local pid=$1 comm=$2 i
  tb_pid_alive "$pid" "$comm" || return 0
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do tb_pid_alive "$pid" "$comm" || return 0; sleep 0.1; done
  tb_log "$comm (pid $pid) did not stop on SIGTERM, sending SIGKILL"
  kill -9 "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do tb_pid_alive "$pid" "$comm" || return 0; sleep 0.1; done
  return 1
}

# tb_stop_pidfile FILE COMM: stop the daemon named in FILE (if it is alive) and remove FILE.
tb_stop_pidfile() {
  local f=$1 comm=$2 pid
  if tb_pidfile_alive "$f" "$comm"; then
    pid=$(cat "$f")
    tb_stop_pid "$pid" "$comm"
    tb_log "stopped $comm (pid $pid)"
  fi
  rm -f "$f"
}

tb_virsh() { virsh -q -c "$TB_URI" "$@"; }

# tb_domstate DOM: "running", "shut off", "paused", ... or "absent"
tb_domstate() { tb_virsh domstate "$1" 2>/dev/null || echo absent; }

tb_libvirtd_up() { [ -S /run/libvirt/libvirt-sock ] && tb_virsh uri >/dev/null 2>&1; }
