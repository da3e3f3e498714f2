#!/bin/bash
# Prepare a Debian 12 machine for hvdeck (run as root; idempotent, re-runs are fast).
#   scripts/setup.sh           system packages + .venv with hvdeck installed in editable mode
#   scripts/setup.sh --test    also the test extras, the test bed packages, and the test bed
#                              itself (scripts/testbed/up.sh: libvirtd, tiny guests, sshd)
# The virtual environment is created in <repo>/.venv with the first python3 on PATH (>= 3.11).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
REPO=$(pwd)

TEST=
for a in "$@"; do
  case $a in
    --test) TEST=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $a" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "setup: must run as root" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
umask 022

log() { echo "setup: $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
T_ALL=$(now)
TIMES=()
phase_start() { T_PHASE=$(now); PHASE=$1; log "== $1"; }
phase_end() { local s; s=$(since "$T_PHASE"); TIMES+=("$PHASE=${s}s"); log "   $PHASE took $s s"; }

# ---------------------------------------------------------------------------- system packages
phase_start apt
# Keep package postinsts from starting services (sshd on :22, libvirtd): no init system here.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  log "wrote /usr/sbin/policy-rc.d"
fi
PKGS="ca-certificates python3 python3-venv python3-dev libvirt-dev pkg-config gcc libvirt-clients"
if [ -n "$TEST" ]; then
  # qemu-utils first: libvirtd looks for qemu-img when it starts, and without it offline
  # snapshots fail until libvirtd is restarted (it is installed before up.sh starts libvirtd).
  PKGS="$PKGS qemu-utils libvirt-daemon-system qemu-system-x86 openssh-server openssh-client
        busybox-static cpio iproute2 socat tmux"
fi
# shellcheck disable=SC2086
if dpkg -s $PKGS >/dev/null 2>&1; then
  log "system packages already installed"
else
  log "apt-get update"
  apt-get update -q >/dev/null
  log "apt-get install $(echo $PKGS)"
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $PKGS >/dev/null
fi
phase_end

# ---------------------------------------------------------------------------- python venv
phase_start venv
PY=$(command -v python3 || true)
if [ -z "$PY" ] || ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  log "python3 on PATH (${PY:-none}) is older than 3.11, using /usr/bin/python3"
  PY=/usr/bin/python3
fi
V=$REPO/.venv
if [ -x "$V/bin/python" ] && "$V/bin/python" -c 'import sys, pip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  log "reusing $V ($("$V/bin/python" -V))"
else
  rm -rf "$V"
  log "creating $V with $PY ($("$PY" -V))"
  "$PY" -m venv "$V"
  "$V/bin/python" -m pip install -q --upgrade pip
fi
VPIP=("$V/bin/python" -m pip)

# libvirt-python first, pinned to the system libvirt: it builds from the sdist against
# libvirt-dev (gcc, pkg-config and Python headers needed), ~10 s.
LV=$(pkg-config --modversion libvirt)
have=$("$V/bin/python" -c 'import importlib.metadata as m; print(m.version("libvirt-python"))' 2>/dev/null || true)
if [ "$have" = "$LV" ] && "$V/bin/python" -c 'import libvirt' 2>/dev/null; then
  log "libvirt-python $LV already installed"
else
  log "pip install libvirt-python==$LV (builds against the system libvirt)"
  "${VPIP[@]}" install -q "libvirt-python==$LV"
fi

# the libvirt extra is the libvirt-python installed just above (already satisfied, nothing rebuilt)
if [ -n "$TEST" ]; then
  log "pip install -e '.[libvirt,test]'"
  "${VPIP[@]}" install -q -e ".[libvirt,test]"
else
  log "pip install -e '.[libvirt]'"
  "${VPIP[@]}" install -q -e ".[libvirt]"
fi
"$V/bin/python" -c 'import libvirt, asyncssh, textual; print("setup: venv ok: libvirt-python", libvirt.getVersion(), "asyncssh", asyncssh.__version__, "textual", textual.__version__)'
phase_end

# ---------------------------------------------------------------------------- test bed
if [ -n "$TEST" ]; then
  phase_start testbed
  bash scripts/testbed/up.sh
  phase_end
fi

log "done in $(since "$T_ALL") s (${TIMES[*]})"
