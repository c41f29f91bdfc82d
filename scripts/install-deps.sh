#!/usr/bin/env bash
# Installs what vmctl's tests, demo and benchmarks need on Debian 12, as root.
# Idempotent: packages already present are skipped quickly.
set -euo pipefail
PKGS=(
  qemu-system-x86 qemu-utils ovmf            # the QEMU backend
  openssh-client openssh-server              # ssh, sshd, ssh-keygen
  genisoimage xorriso libarchive-tools       # isoinfo, xorriso, bsdtar (independent ISO readers)
  util-linux fdisk e2fsprogs                 # blkid, sfdisk, mkfs.ext4
  zstd curl hyperfine                        # downloads and benchmarks
  mmdebstrap grub-pc-bin                     # the test guest image
  cloud-init                                 # `cloud-init schema` for our generated YAML
  iproute2 procps
  zsh fish                                   # completion scripts are loaded into them
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
