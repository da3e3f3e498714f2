#!/bin/bash
# Two libvirt hosts on this one machine, for live migration tests (hv1 -> hv2 and back):
#   migration.sh up | down | status | exec HOST CMD...
# Each host is a network namespace (veth to bridge hvmig0, 10.78.0.1/24 in the root namespace) with
# its own UTS name and mount namespace: a private /run, /etc/libvirt, /var/lib/libvirt,
# /var/log/libvirt, /var/cache/libvirt, /root and /var/lib/hvdeck-testbed/local, and its own
# virtlogd, libvirtd (unix socket inside; qemu+tcp on its address, no auth, for the tests' own checks)
# and OpenSSH sshd on ADDRESS:22 (key-only, the test bed's client key; host key pinned in
# /var/lib/hvdeck-testbed/ssh/known_hosts). hvdeck reaches each host through its sshd, exactly as it
# reaches a remote KVM host: the libvirt socket is forwarded over the SSH connection.
#
#   hv1  10.78.0.11  runs the guest hvmig1 (TCG, 128 MiB, direct kernel boot of the tiny guest)
#   hv2  10.78.0.12  empty
#
# Storage: /var/lib/hvdeck-testbed (kernel, initrd) is the same directory on both hosts (shared);
# /var/lib/hvdeck-testbed/local is private to each host. hvmig1's disk is there, pre-created on both,
# so a migration copies it (VIR_MIGRATE_NON_SHARED_DISK, virsh --copy-storage-all).
#
# The recipe and its gotchas were measured on Debian 12 with libvirt 9.0 (every setting below is
# needed: see the comments). Idempotent; `down` kills only the processes of our two namespaces.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/common.sh"

MIG_BRIDGE=hvmig0
MIG_NET=10.78.0
MIG_HOSTS="hv1 hv2"
MIG_GUEST=hvmig1
MIG_BASE=$TB/hosts

mig_ip() { case $1 in hv1) echo "$MIG_NET.11" ;; hv2) echo "$MIG_NET.12" ;; *) tb_die "no host $1" ;; esac; }
mig_idx() { case $1 in hv1) echo 1 ;; hv2) echo 2 ;; esac; }
mig_ns() { echo "hvdeck-$1"; }

# the pid of the host's libvirtd (the anchor for nsenter), from the namespace's own process list
mig_libvirtd_pid() {
  local p
  for p in $(ip netns pids "$(mig_ns "$1")" 2>/dev/null); do
    tb_pid_alive "$p" libvirtd && { echo "$p"; return 0; }
  done
  return 1
}

mig_exec() { local host=$1; shift; nsenter -t "$(mig_libvirtd_pid "$host")" -n -m -u -- "$@"; }

mig_up_host() {
  local name=$1 ip d ns idx
  ip=$(mig_ip "$name"); idx=$(mig_idx "$name"); d=$MIG_BASE/$name; ns=$(mig_ns "$name")
  if mig_libvirtd_pid "$name" >/dev/null; then
    tb_log "host $name already up ($ip)"
    return 0
  fi
  ip netns del "$ns" 2>/dev/null || true  # a namespace left without its daemons
  ip link del "hvm-$name" 2>/dev/null || true
  ip netns add "$ns"
  ip link add "hvm-$name" type veth peer name eth0 netns "$ns"
  ip link set "hvm-$name" master "$MIG_BRIDGE" up
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up

  mkdir -p "$d"/{etc,lib,log,cache,ssh,local,root}
  if [ ! -f "$d/etc/libvirtd.conf" ]; then
    (cd /etc/libvirt && tar -c --exclude='./qemu/*.xml' --exclude='./qemu/autostart/*' .) | tar -x -C "$d/etc"
    rm -f "$d/etc/qemu/networks/autostart/"*
  fi
  # the main daemon's QEMU capability cache saves each host an 8-11 s probe
  if [ -d /var/cache/libvirt/qemu ] && [ ! -d "$d/cache/qemu" ]; then cp -a /var/cache/libvirt/qemu "$d/cache/"; fi
  cat > "$d/etc/libvirtd.conf" <<CONF
listen_tls = 0
listen_tcp = 1
listen_addr = "$ip"
auth_tcp = "none"
auth_unix_rw = "none"
unix_sock_group = "root"
# distinct host UUIDs, or libvirt refuses: "Attempt to migrate guest to the same host"
host_uuid = "68766465-636b-4d69-8700-$(printf %012x "$idx")"
CONF
  cat > "$d/etc/qemu.conf" <<CONF
# QEMU as root, no relabelling or chown of the shared files, no per-guest cgroups or mount
# namespaces: both hosts share this machine's cgroupfs and would fight over /machine/qemu-N-NAME
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
# the migration stream goes between the hosts' own addresses
migration_address = "$ip"
migration_host = "$ip"
CONF
  [ -f "$d/ssh/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "hvdeck-testbed-$name" -f "$d/ssh/ssh_host_ed25519_key"
  install -m 0600 "$TB_SSH/id_ed25519.pub" "$d/ssh/authorized_keys"
  touch "$TB_SSH/known_hosts"
  { grep -v "^$ip " "$TB_SSH/known_hosts" || true
    echo "$ip $(cut -d' ' -f1,2 "$d/ssh/ssh_host_ed25519_key.pub")"; } > "$TB_SSH/known_hosts.new.$$"
  chmod 0644 "$TB_SSH/known_hosts.new.$$"
  mv "$TB_SSH/known_hosts.new.$$" "$TB_SSH/known_hosts"
  cat > "$d/ssh/sshd_config" <<CONF
ListenAddress $ip:22
HostKey $d/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile $d/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
MaxStartups 100:30:200
MaxSessions 100
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
CONF
  /usr/sbin/sshd -t -f "$d/ssh/sshd_config"
  # The daemons start inside new mount and UTS namespaces (ip netns exec gives the network one).
  # /run/lock must exist in the private /run (/var/lock points there): without it openConsole fails
  # with "Couldn't create lock file for device '/dev/pts/N'". An empty /root: Debian's bash sources
  # ~/.bashrc for every command sshd runs, and a heavy one costs ~100 ms a command.
  ip netns exec "$ns" unshare --mount --uts --propagation private /bin/sh -ec "
    hostname $name
    mount -t tmpfs -o mode=0755 hvdeck-run /run
    mount --bind $d/etc   /etc/libvirt
    mount --bind $d/lib   /var/lib/libvirt
    mount --bind $d/log   /var/log/libvirt
    mount --bind $d/cache /var/cache/libvirt
    mount --bind $d/local $TB/local
    mount --bind $d/root  /root
    mkdir -p /run/libvirt /run/sshd /run/lock
    virtlogd -d
    libvirtd -d --listen
    /usr/sbin/sshd -f $d/ssh/sshd_config -E $d/log/sshd.log
  " </dev/null >>"$TB_LOGS/migration-$name.out" 2>&1
  local i
  for i in $(seq 1 100); do (exec 3<>"/dev/tcp/$ip/16509") 2>/dev/null && break; sleep 0.1; done
  (exec 3<>"/dev/tcp/$ip/16509") 2>/dev/null || tb_die "libvirtd of $name does not answer on $ip:16509 (see $TB_LOGS/migration-$name.out)"
  for i in $(seq 1 50); do (exec 3<>"/dev/tcp/$ip/22") 2>/dev/null && break; sleep 0.1; done
  tb_log "host $name up: $ip, libvirtd pid $(mig_libvirtd_pid "$name"), ssh root@$ip:22"
}

mig_virsh() { virsh -q -c "qemu+tcp://$(mig_ip "$1")/system" "${@:2}"; }

mig_guest_xml() {
  sed -e "s|<name>NAME</name>|<name>$MIG_GUEST</name>|" \
      -e "s|<uuid>UUID</uuid>|<uuid>6876646b-7465-7374-6d69-670000000001</uuid>|" \
      -e "s|/var/lib/hvdeck-testbed/disks/NAME.img|$TB/local/$MIG_GUEST.img|" \
      -e '/<interface /,/<\/interface>/d' \
      -e '/<log file=/d' \
      "$HERE/tiny-guest.xml"
}

mig_up() {
  command -v libvirtd >/dev/null || tb_die "libvirtd not installed (run scripts/setup.sh --test)"
  [ -s "$TB_GUEST_DIR/vmlinuz" ] || tb_die "the tiny guest is not built (scripts/testbed/tiny_guest.sh)"
  [ -f "$TB_SSH/id_ed25519.pub" ] || tb_die "no test bed client key (scripts/testbed/sshd.sh start makes it)"
  mkdir -p "$MIG_BASE" "$TB/local" "$TB_LOGS" "$TB_XML"
  if ! ip link show "$MIG_BRIDGE" >/dev/null 2>&1; then
    ip link add "$MIG_BRIDGE" type bridge
    ip addr add "$MIG_NET.1/24" dev "$MIG_BRIDGE"
  fi
  ip link set "$MIG_BRIDGE" up
  local h
  for h in $MIG_HOSTS; do
    mig_up_host "$h"
    # the guest's disk, private to each host (a migration copies it)
    [ -f "$MIG_BASE/$h/local/$MIG_GUEST.img" ] || truncate -s 16M "$MIG_BASE/$h/local/$MIG_GUEST.img"
  done
  mig_guest_xml > "$TB_XML/$MIG_GUEST.xml"
  # the guest runs on hv1 (where the tests expect it to start); a copy left on hv2 is removed
  if [ "$(mig_virsh hv2 domstate "$MIG_GUEST" 2>/dev/null || true)" != "" ]; then
    mig_virsh hv2 destroy "$MIG_GUEST" >/dev/null 2>&1 || true
    mig_virsh hv2 undefine "$MIG_GUEST" >/dev/null 2>&1 || true
    tb_log "removed $MIG_GUEST from hv2"
  fi
  mig_virsh hv1 define "$TB_XML/$MIG_GUEST.xml" >/dev/null
  case $(mig_virsh hv1 domstate "$MIG_GUEST" 2>/dev/null) in
    running) tb_log "$MIG_GUEST already running on hv1" ;;
    paused) mig_virsh hv1 resume "$MIG_GUEST" >/dev/null; tb_log "resumed $MIG_GUEST on hv1" ;;
    *) mig_virsh hv1 start "$MIG_GUEST" >/dev/null; tb_log "started $MIG_GUEST on hv1" ;;
  esac
}

mig_down() {
  local h ns pids i
  for h in $MIG_HOSTS; do
    ns=$(mig_ns "$h")
    ip netns list 2>/dev/null | grep -qw "$ns" || continue
    # QEMU, libvirtd, virtlogd and sshd of this host are exactly the processes in its namespace
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    [ -n "${pids// }" ] && kill $pids 2>/dev/null || true
    for i in $(seq 1 100); do
      pids=$(for p in $(ip netns pids "$ns" 2>/dev/null); do tb_pid_alive "$p" && echo "$p"; done | tr '\n' ' ')
      [ -z "${pids// }" ] && break
      sleep 0.1
    done
    [ -n "${pids// }" ] && kill -9 $pids 2>/dev/null || true
    ip link del "hvm-$h" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    tb_log "host $h down"
  done
  if ip link show "$MIG_BRIDGE" >/dev/null 2>&1; then ip link del "$MIG_BRIDGE" && tb_log "removed bridge $MIG_BRIDGE"; fi
}

case ${1:-} in
  up) mig_up ;;
  down) mig_down ;;
  status)
    for h in $MIG_HOSTS; do
      if pid=$(mig_libvirtd_pid "$h"); then
        echo "$h: up ($(mig_ip "$h"), libvirtd pid $pid): $(mig_virsh "$h" list --all --name 2>/dev/null | tr '\n' ' ')"
      else echo "$h: down"; fi
    done ;;
  exec) [ $# -ge 3 ] || { echo "usage: $0 exec HOST CMD..." >&2; exit 2; }; h=$2; shift 2; mig_exec "$h" "$@" ;;
  *) echo "usage: $0 up|down|status|exec HOST CMD..." >&2; exit 2 ;;
esac
