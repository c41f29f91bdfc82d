#!/usr/bin/env bash
# Builds the small Debian bookworm guest image vmctl's e2e tests, demo and
# benchmarks boot: BIOS/MBR, GRUB, Debian's cloud kernel, real cloud-init
# (NoCloud) and openssh-server. Nothing is mounted; the only network used is
# Debian's apt archive. The kernel is Debian's generic one, not the cloud
# flavour: the cloud kernel has no 9p (CONFIG_NET_9P is not set), and vmctl's
# shared folders (`mount`) are virtio-9p.
#
#   scripts/build-guest-image.sh          # build or reuse; prints the path last
#
# The image is cached at ${VMCTL_TEST_CACHE:-/var/cache/vmctl-test}/
# debian-bookworm-cloudinit-9p.qcow2, keyed by a hash of this script: editing
# the script rebuilds it, otherwise a second run returns in milliseconds. The
# name changes when the image changes in kind (here: a kernel with 9p), so a
# checkout with the older script never overwrites an image that VMs of the
# newer one use as their backing file, nor the other way round.
# Building needs root (mmdebstrap's root mode and file ownership in the
# filesystem image); run as another user, it only reuses a cached image.
set -euo pipefail

CACHE_DIR="${VMCTL_TEST_CACHE:-/var/cache/vmctl-test}"
IMAGE="$CACHE_DIR/debian-bookworm-cloudinit-9p.qcow2"
STAMP="$IMAGE.script-sha256"
MIRROR="${VMCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DISK_MB=2048 # virtual size; cloud-guest-utils grows the root when the overlay is larger

say() { echo "build-guest-image: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

script_hash() { sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1; }
cached() { [ -s "$IMAGE" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(script_hash)" ]; }

if cached; then
  echo "$IMAGE"
  exit 0
fi

# --- dependencies -----------------------------------------------------------
NEED=(mmdebstrap:mmdebstrap grub-mkimage:grub-pc-bin mkfs.ext4:e2fsprogs sfdisk:fdisk
  qemu-img:qemu-utils flock:util-linux sha256sum:coreutils)
missing=()
for pair in "${NEED[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ -f /usr/lib/grub/i386-pc/boot.img ] || missing+=(grub-pc-bin)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -ne 0 ]; then
    die "missing packages; as root run: apt-get update && apt-get install -y ${missing[*]}"
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "$(id -u)" -ne 0 ]; then
  die "no cached image at $IMAGE (or it is stale); building it needs root: sudo $0"
fi

mkdir -p "$CACHE_DIR"
# One builder at a time; a second caller waits, then finds the fresh image.
exec 9>"$CACHE_DIR/.build.lock"
flock 9
if cached; then
  echo "$IMAGE"
  exit 0
fi

WORK="$(mktemp -d "$CACHE_DIR/.build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"
START=$SECONDS

# --- root filesystem --------------------------------------------------------
PACKAGES=systemd-sysv,linux-image-amd64,initramfs-tools,cloud-init,openssh-server,sudo
PACKAGES+=,ifupdown,isc-dhcp-client,netbase,iproute2,e2fsprogs,cloud-guest-utils,udev,dbus
mkdir -p "$CACHE_DIR/debs"
say "mmdebstrap bookworm (packages cached in $CACHE_DIR/debs)"
mmdebstrap --quiet --mode=root --variant=minbase --include="$PACKAGES" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"' \
  --essential-hook='echo COMPRESS=lz4 > "$1/etc/initramfs-tools/conf.d/vmctl-compress.conf"' \
  --include=lz4 \
  --skip=download/empty --skip=essential/unlink \
  --setup-hook='mkdir -p "$1/var/cache/apt/archives/"' \
  --setup-hook="sync-in '$CACHE_DIR/debs' /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives '$CACHE_DIR/debs'" \
  --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
  bookworm "$ROOT" "$MIRROR" >&2

KVER="$(basename "$(ls -1 "$ROOT"/boot/vmlinuz-* | sort -V | tail -1)")"
KVER="${KVER#vmlinuz-}"
[ -f "$ROOT/boot/initrd.img-$KVER" ] || die "no initrd for kernel $KVER"

# --- guest configuration ----------------------------------------------------
cat >"$ROOT/etc/fstab" <<'EOF'
LABEL=rootfs / ext4 defaults,noatime 0 1
EOF
echo debian >"$ROOT/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 debian\n::1 localhost ip6-localhost ip6-loopback\n' \
  >"$ROOT/etc/hosts"
cat >"$ROOT/etc/network/interfaces" <<'EOF'
# cloud-init writes the interfaces it configures into interfaces.d.
auto lo
iface lo inet loopback
source /etc/network/interfaces.d/*
EOF
mkdir -p "$ROOT/etc/cloud/cloud.cfg.d"
echo 'datasource_list: [ NoCloud, None ]' >"$ROOT/etc/cloud/cloud.cfg.d/90-dslist.cfg"

# Every VM gets its own identity: no host keys, no machine-id baked in.
rm -f "$ROOT"/etc/ssh/ssh_host_*
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"

# Boot speed under TCG: nothing periodic or maintenance-only at boot.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer dpkg-db-backup.timer systemd-tmpfiles-clean.timer; do
  ln -sf /dev/null "$ROOT/etc/systemd/system/$unit"
done

# --- GRUB (i386-pc), written by hand: no grub-install, no loop devices --------
mkdir -p "$ROOT/boot/grub/i386-pc"
cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst "$ROOT/boot/grub/i386-pc/"
cat >"$ROOT/boot/grub/grub.cfg" <<EOF
# No menu: boot the one kernel at once (GRUB_TIMEOUT=0 in effect).
set timeout=0
linux /boot/vmlinuz-$KVER root=LABEL=rootfs ro console=ttyS0,115200 net.ifnames=0 biosdevname=0
initrd /boot/initrd.img-$KVER
boot
EOF

# --- disk: MBR, one ext4 partition at 1 MiB -----------------------------------
PART_MB=$((DISK_MB - 1))
say "mkfs.ext4 -d ($(du -sm "$ROOT" | cut -f1) MB of files)"
truncate -s "${PART_MB}M" "$WORK/part.img"
mkfs.ext4 -q -F -L rootfs -d "$ROOT" "$WORK/part.img"
truncate -s "${DISK_MB}M" "$WORK/disk.raw"
echo 'start=2048, type=83, bootable' | sfdisk --quiet --label dos "$WORK/disk.raw" >/dev/null
dd if="$WORK/part.img" of="$WORK/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none

grub-mkimage -O i386-pc -o "$WORK/core.img" -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 normal linux search search_label configfile
CORE_SECTORS=$((($(stat -c %s "$WORK/core.img") + 511) / 512))
[ "$CORE_SECTORS" -lt 2047 ] || die "core.img ($CORE_SECTORS sectors) does not fit before 1 MiB"
# diskboot.img's blocklist (last 12 bytes of core.img's first sector): the rest
# of core.img starts at sector 2, is CORE_SECTORS-1 long, loads at 0x820:0.
le() { # value bytes -> little-endian printf escapes
  local v=$1 n=$2 out="" i
  for ((i = 0; i < n; i++)); do
    out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))
    done
  printf '%s' "$out"
}
printf "$(le 2 8)$(le $((CORE_SECTORS - 1)) 2)$(le $((0x820)) 2)" |
  dd of="$WORK/core.img" bs=1 seek=$((0x1F4)) conv=notrunc status=none
dd if=/usr/lib/grub/i386-pc/boot.img of="$WORK/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/core.img" of="$WORK/disk.raw" bs=512 seek=1 conv=notrunc status=none

# --- qcow2, atomically into place ---------------------------------------------
qemu-img convert -q -f raw -O qcow2 "$WORK/disk.raw" "$WORK/image.qcow2"
chmod 0644 "$WORK/image.qcow2"
script_hash >"$WORK/stamp"
mv -f "$WORK/image.qcow2" "$IMAGE"
mv -f "$WORK/stamp" "$STAMP"
say "built in $((SECONDS - START)) s: kernel $KVER, $(du -h "$IMAGE" | cut -f1) on disk"
echo "$IMAGE"
