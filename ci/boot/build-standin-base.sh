#!/usr/bin/env bash
# Builds the boot test's stand-in for Ubuntu's raspi image from Debian packages, without root
# mounts or loop devices: same boot contract (MBR; FAT32 `system-boot` holding the kernel,
# initrd, cmdline.txt and the NoCloud seed; ext4 `writable` root; systemd, cloud-init reading
# the seed by fs_label, netplan). Debian 13 (trixie) is the Pi's generation: cloud-init 25,
# netplan 1.1, systemd 257, as on Ubuntu 24.04 point releases. amd64 boots fast under QEMU here;
# arm64 (the Pi's architecture) runs its maintainer scripts under emulation and takes far longer.
# The snap and MicroCloud commands in it are TEST DOUBLES (ci/boot/doubles/).
#
#   build-standin-base.sh OUT_DIR [amd64|arm64]
# Writes OUT_DIR/debian-13-standin-ARCH.img. Reuses it when the recipe (this script and the
# doubles) is unchanged; set STANDIN_REBUILD=1 to force. Needs mmdebstrap (run as root, or
# with unshare as a user), mtools, dosfstools, e2fsprogs, fdisk; for arm64 also arch-test and a
# binfmt handler for aarch64 (ci/boot/run.sh registers qemu-user-static's).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin" MTOOLS_SKIP_CHECK=1 LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-standin-base.sh OUT_DIR [amd64|arm64]}
arch=${2:-amd64}
suite=trixie
case $arch in
  amd64) kernel_package=linux-image-amd64 console=ttyS0 ;;
  arm64) kernel_package=linux-image-arm64 console=ttyAMA0 ;;
  *) echo "build-standin-base.sh: architecture $arch is not amd64 or arm64" >&2; exit 2 ;;
esac
image_name=debian-13-standin-$arch.img
mkdir -p "$out"
out=$(cd "$out" && pwd)

recipe=$( (cat "$0" "$here"/doubles/*; echo "$arch") | sha256sum | cut -c1-16)
if [[ -z ${STANDIN_REBUILD:-} && -f $out/$image_name && "$(cat "$out/$image_name.recipe" 2>/dev/null)" == "$recipe" ]]; then
  echo "stand-in base: $out/$image_name is up to date (recipe $recipe)" >&2
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/standin.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
started=$SECONDS

# What Ubuntu's server image has that the first-boot service and cloud-init rely on (openssl:
# the snap double hashes a snap file with SHA3-384, as snapd does to find its assertion).
packages=(
  systemd systemd-sysv systemd-timesyncd udev dbus
  cloud-init cloud-guest-utils netplan.io openssh-server iproute2 iputils-ping tzdata locales sudo ca-certificates openssl
  "$kernel_package"
)
echo "stand-in base: mmdebstrap $suite $arch (${packages[*]})" >&2
mode=()
[[ $(id -u) == 0 ]] || mode=(--mode=unshare)
hooks=()
if [[ $arch == arm64 ]]; then
  # Under emulation every maintainer script is slow: an initramfs with only what boots from
  # virtio (not most of the kernel's modules) saves minutes. The guest finds the rest on its root.
  hooks+=(--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"
    printf "MODULES=list\n" > "$1/etc/initramfs-tools/conf.d/standin.conf"
    printf "virtio_pci\nvirtio_blk\next4\n" > "$1/usr/share/initramfs-tools/modules.d/standin"')
fi
mmdebstrap "${mode[@]}" --quiet --variant=apt --architectures="$arch" --include="$(IFS=,; echo "${packages[*]}")" \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --customize-hook='printf "LABEL=writable / ext4 defaults 0 1\nLABEL=system-boot /boot/firmware vfat defaults,x-systemd.device-timeout=10min 0 1\n" > "$1/etc/fstab"' \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' "${hooks[@]}" \
  "$suite" "$root" >&2

# Ubuntu raspi's boot contract (see ../shared/reference/ubuntu-raspi-cloudinit.md); fstab is
# written by the hook above (systemd-fsck-root checks writable at boot, as on Ubuntu). Its
# device timeout is longer than systemd's 90 s: under TCG, with three guests on two cores, udev
# once came up too late for the system-boot label and every guest fell into emergency mode.
mkdir -p "$root/boot/firmware" "$root/etc/systemd/system/cloud-init-local.service.d"
printf 'datasource_list: [ NoCloud, None ]\ndatasource:\n  NoCloud:\n    fs_label: system-boot\n' \
  > "$root/etc/cloud/cloud.cfg.d/99-fake_cloud.cfg"
printf '[Unit]\nRequiresMountsFor=/boot/firmware\n' > "$root/etc/systemd/system/cloud-init-local.service.d/mount-seed.conf"
echo standin > "$root/etc/hostname"
: > "$root/etc/machine-id" # each node makes its own at first boot, as on Ubuntu's image
rm -f "$root/var/lib/dbus/machine-id"

# TEST DOUBLES where Ubuntu has snapd and snaps: `snap` in /usr/bin, the snaps' commands in /snap/bin.
install -m 0755 "$here/doubles/snap" "$root/usr/bin/snap"
install -d "$root/snap/bin" "$root/var/lib/microcloud-pi-doubles"
for cmd in microcloud lxc microceph microovn; do install -m 0755 "$here/doubles/$cmd" "$root/snap/bin/$cmd"; done

# p1 system-boot: what the Pi firmware reads (kernel, initrd, cmdline.txt) and a stock seed.
kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)
boot_mib=128
mkdir "$work/fat"
cp "$kernel" "$work/fat/vmlinuz"
cp "$initrd" "$work/fat/initrd.img"
# net.ifnames=0: the NIC is eth0, as the Pi's on-board NIC is.
printf "console=$console,115200 root=LABEL=writable rootfstype=ext4 rootwait net.ifnames=0 panic=10\n" > "$work/fat/cmdline.txt"
printf '#cloud-config\nchpasswd:\n  expire: true\n  users:\n    - {name: ubuntu, password: ubuntu, type: text}\n' > "$work/fat/user-data"
printf 'dsmode: local\ninstance_id: cloud-image\n' > "$work/fat/meta-data"
printf 'network:\n  version: 2\n  ethernets:\n    eth0: {dhcp4: true, optional: true}\n' > "$work/fat/network-config"
truncate -s ${boot_mib}M "$work/boot.fat"
mkfs.vfat -F 32 -S 512 -s 1 -n system-boot "$work/boot.fat" >/dev/null
mcopy -m -i "$work/boot.fat" "$work"/fat/* ::/

# p2 writable: the tree as an ext4 file system, with room for a first boot's writes.
used_mib=$(du -sm --apparent-size "$root" | cut -f1)
root_mib=$(( (used_mib * 13 / 10 + 256 + 3) / 4 * 4 ))
mkfs.ext4 -q -F -L writable -E root_owner=0:0 -d "$root" "$work/root.ext4" ${root_mib}M

# The disk: p1 at 1 MiB, p2 right after it, like Ubuntu's.
img=$work/$image_name
truncate -s $((1 + boot_mib + root_mib))M "$img"
printf 'label: dos\nstart=2048, size=%d, type=c, bootable\nstart=%d, size=%d, type=83\n' \
  $((boot_mib * 2048)) $((2048 + boot_mib * 2048)) $((root_mib * 2048)) | sfdisk -q "$img"
dd if="$work/boot.fat" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$img" bs=1M seek=$((1 + boot_mib)) conv=notrunc,sparse status=none
fsck.ext4 -fn "$work/root.ext4" >/dev/null

mv "$img" "$out/$image_name"
echo "$recipe" > "$out/$image_name.recipe"
echo "stand-in base: $out/$image_name ($((1 + boot_mib + root_mib)) MiB, root ${used_mib} MiB used) in $((SECONDS - started)) s" >&2
