#!/bin/bash
# OpenSSH sshd on 127.0.0.1:2222 for the tests: key-only, root login with the test key.
#   sshd.sh start | stop | status
# Client key:  /var/lib/hvdeck-testbed/ssh/id_ed25519
# Host key pinned in /var/lib/hvdeck-testbed/ssh/known_hosts as "[127.0.0.1]:2222 ssh-ed25519 ..."
# Keys live under /var/lib/hvdeck-testbed: sshd's StrictModes rejects files below a
# world-writable directory such as /tmp.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/common.sh"
PORT=$TB_SSH_PORT
PIDF=$TB_RUN/sshd-$PORT.pid

case ${1:-start} in
  stop) tb_stop_pidfile "$PIDF" sshd; exit 0 ;;
  status)
    if tb_pidfile_alive "$PIDF" sshd; then echo "sshd: running (pid $(cat "$PIDF")) on 127.0.0.1:$PORT"
    else echo "sshd: stopped"; fi
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

[ -x /usr/sbin/sshd ] || tb_die "openssh-server not installed (run scripts/setup.sh --test)"
mkdir -p "$TB" "$TB_RUN" "$TB_SSH" "$TB_SSHD/roothome" /run/sshd
chmod 0755 "$TB"; chmod 0700 "$TB_SSH" "$TB_SSHD"; chmod 0755 /run/sshd
[ -f "$TB_SSH/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C hvdeck-testbed-client -f "$TB_SSH/id_ed25519"
[ -f "$TB_SSHD/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C hvdeck-testbed-host -f "$TB_SSHD/ssh_host_ed25519_key"
install -m 0600 "$TB_SSH/id_ed25519.pub" "$TB_SSHD/authorized_keys"
cat > "$TB_SSHD/sshd_config" <<CONF
ListenAddress 127.0.0.1:$PORT
HostKey $TB_SSHD/ssh_host_ed25519_key
PidFile $PIDF
AuthorizedKeysFile $TB_SSHD/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# the defaults (10:30:100, 10) drop concurrent handshakes and multiplexed channels
MaxStartups 200:30:400
MaxSessions 200
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
/usr/sbin/sshd -t -f "$TB_SSHD/sshd_config"

if tb_pidfile_alive "$PIDF" sshd; then
  tb_log "sshd already running (pid $(cat "$PIDF")) on 127.0.0.1:$PORT"
else
  rm -f "$PIDF"
  if command -v ss >/dev/null && [ -n "$(ss -Hltn "sport = :$PORT" 2>/dev/null)" ]; then
    ss -ltnp "sport = :$PORT" >&2 || true
    tb_die "port $PORT is already in use by another process"
  fi
  # Own mount namespace with an empty /root: Debian's bash sources ~/.bashrc for every command
  # run through sshd, and a heavy /root/.bashrc (pyenv init on the dev machines) adds ~110 ms to
  # each remote command. stdio on /dev/null so that the daemon never holds a caller's pipe.
  unshare --mount --propagation private /bin/sh -ec \
    "mount --bind '$TB_SSHD/roothome' /root; exec /usr/sbin/sshd -f '$TB_SSHD/sshd_config' -E '$TB_SSHD/sshd.log'" \
    </dev/null >/dev/null 2>&1
  for i in $(seq 1 50); do tb_pidfile_alive "$PIDF" sshd && break; sleep 0.1; done
  tb_pidfile_alive "$PIDF" sshd || tb_die "sshd did not start, see $TB_SSHD/sshd.log"
  tb_log "started sshd (pid $(cat "$PIDF")) on 127.0.0.1:$PORT"
fi

# pin the host key for clients (known_hosts syntax for a non-22 port: [host]:port)
touch "$TB_SSH/known_hosts"
{ grep -v "^\[127.0.0.1\]:$PORT " "$TB_SSH/known_hosts" || true
  echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$TB_SSHD/ssh_host_ed25519_key.pub")"; } > "$TB_SSH/known_hosts.new"
chmod 0644 "$TB_SSH/known_hosts.new"
mv "$TB_SSH/known_hosts.new" "$TB_SSH/known_hosts"
tb_log "ssh: key $TB_SSH/id_ed25519, known_hosts $TB_SSH/known_hosts"
