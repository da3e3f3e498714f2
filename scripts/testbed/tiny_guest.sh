#!/bin/bash
# Build the tiny test guest from Debian packages only (no image downloads):
#   - kernel: vmlinuz (+ a few modules) extracted with dpkg-deb from the Debian cloud kernel .deb
#     (linux-image-<abi>-cloud-amd64-unsigned); nothing is installed on the host
#   - initramfs: busybox-static + an /init that prints a banner and runs a respawning root shell
#     on ttyS0 (prompt "tinyguest# "); busybox acpid turns `virsh shutdown` into poweroff.
# Output: /var/lib/hvdeck-testbed/guest/{vmlinuz,initrd.img}. Skipped when both exist
# (--force rebuilds). The .deb is cached in /var/lib/hvdeck-testbed/cache.
# Time: 2-3 s (a ~27 MB download the first time).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/common.sh"

if [ "${1:-}" != --force ] && [ -s "$TB_GUEST_DIR/vmlinuz" ] && [ -s "$TB_GUEST_DIR/initrd.img" ]; then
  tb_log "tiny guest already built ($TB_GUEST_DIR)"
  exit 0
fi
t0=$(tb_now)
mkdir -p "$TB" "$TB_GUEST_DIR" "$TB_CACHE"
chmod 0755 "$TB" "$TB_GUEST_DIR"

# busybox-static is required: the initramfs has no libc
if ! { dpkg -s busybox-static >/dev/null 2>&1 && command -v cpio >/dev/null; }; then
  apt-get install -y --no-install-recommends busybox-static cpio >/dev/null
fi

# 1. kernel .deb; the package name follows Debian's ABI bumps through the metapackage
DEB=$(ls "$TB_CACHE"/linux-image-*.deb 2>/dev/null | head -1 || true)
if [ -z "$DEB" ]; then
  resolve() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
  KPKG=$(resolve)
  if [ -z "$KPKG" ]; then apt-get update >/dev/null; KPKG=$(resolve); fi
  [ -n "$KPKG" ] || tb_die "cannot resolve the cloud kernel package (apt-get update failed?)"
  tb_log "downloading $KPKG-unsigned"
  ( cd "$TB_CACHE" && { apt-get download -o APT::Sandbox::User=root "${KPKG}-unsigned" \
                        || apt-get download -o APT::Sandbox::User=root "$KPKG"; } ) >/dev/null
  DEB=$(ls "$TB_CACHE"/linux-image-*.deb | head -1)
fi

WORK=$(mktemp -d "$TB/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/x"
MODS="drivers/acpi/button.ko drivers/input/evdev.ko drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko
 drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci.ko
 drivers/block/virtio_blk.ko drivers/char/virtio_console.ko net/core/failover.ko drivers/net/net_failover.ko
 drivers/net/virtio_net.ko"
# shellcheck disable=SC2046
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK/x" --wildcards './boot/vmlinuz-*' \
  $(for m in $MODS; do echo "./lib/modules/*/kernel/$m"; done)

# 2. initramfs
R="$WORK/root"
mkdir -p "$R"/{bin,etc/acpi/PWRF,proc,sys,dev,tmp,root,lib/modules,var/log,var/run}
cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
ln -s bin "$R/sbin"
for m in $MODS; do cp "$WORK"/x/lib/modules/*/kernel/"$m" "$R/lib/modules/"; done
cat > "$R/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
for m in button evdev virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         virtio_blk virtio_console failover net_failover virtio_net; do
  insmod /lib/modules/$m.ko 2>/dev/null
done
hostname tinyguest
ip link set lo up
# power button (virsh shutdown) -> acpid -> /etc/acpi/PWRF/00000080 -> poweroff.
# acpid exits if no /dev/input/event* exists yet, so wait for the button's event node first
( for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /dev/input/event0 ] && break; sleep 0.2; done
  exec acpid -d -c /etc/acpi ) </dev/null >/dev/null 2>&1 &   # -d: log to stderr (-f alone needs /var/log)
echo
echo "=== TINYGUEST BOOTED: kernel $(uname -r) uptime $(cut -d' ' -f1 /proc/uptime)s ==="
echo
while true; do                           # respawning root shell on the serial console
  setsid cttyhack /bin/sh -l
  echo "[shell exited, respawning]"
done
INIT
printf '#!/bin/sh\necho "=== TINYGUEST: ACPI power button, powering off ===" >/dev/console\nsync\npoweroff -f\n' \
  > "$R/etc/acpi/PWRF/00000080"
chmod +x "$R/init" "$R/etc/acpi/PWRF/00000080"
echo 'export PS1="tinyguest# "' > "$R/etc/profile"

# write to temporary names first so that an interrupted build is never taken as complete
cp "$WORK"/x/boot/vmlinuz-* "$TB_GUEST_DIR/vmlinuz.new"
( cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 ) > "$TB_GUEST_DIR/initrd.img.new"
chmod 0644 "$TB_GUEST_DIR/vmlinuz.new" "$TB_GUEST_DIR/initrd.img.new"
mv "$TB_GUEST_DIR/vmlinuz.new" "$TB_GUEST_DIR/vmlinuz"
mv "$TB_GUEST_DIR/initrd.img.new" "$TB_GUEST_DIR/initrd.img"
tb_log "tiny guest built from $(basename "$DEB"): vmlinuz $(du -h "$TB_GUEST_DIR/vmlinuz" | cut -f1)," \
  "initrd.img $(du -h "$TB_GUEST_DIR/initrd.img" | cut -f1) in $(tb_since "$t0") s"
