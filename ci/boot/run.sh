#!/usr/bin/env bash
# npm run test:boot: build the Debian stand-in bases (reused while their recipe is unchanged),
# then boot three amd64 node images and one arm64 node image built from them under QEMU
# (test/boot/). Needs root: the guests get a network namespace of their own, and the arm64
# base's maintainer scripts run through a binfmt handler this script registers when missing.
# MCPI_BOOT_DIR keeps the bases and the cache between runs; extra arguments go to jest (e.g.
# test/boot/three-nodes to run one test file).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/sbin:/sbin"

if [ "$(id -u)" != 0 ]; then
  echo "test:boot needs root (network namespace, taps for the guests): run it as root or with sudo." >&2
  exit 1
fi
declare -A TOOLS=(
  [mmdebstrap]=mmdebstrap [qemu-system-x86_64]=qemu-system-x86 [ip]=iproute2 [ping]=iputils-ping
  [mcopy]=mtools [mkfs.vfat]=dosfstools [mkfs.ext4]=e2fsprogs [debugfs]=e2fsprogs [sfdisk]=fdisk
  [qemu-system-aarch64]=qemu-system-arm [qemu-aarch64-static]=qemu-user-static [arch-test]=arch-test
)
missing=()
for tool in "${!TOOLS[@]}"; do command -v "$tool" >/dev/null 2>&1 || missing+=("${TOOLS[$tool]}"); done
if ((${#missing[@]})); then
  echo "Installing Debian packages the boot test needs: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A run that was killed leaves its namespace (and what runs in it): clear those first.
for ns in $(ip netns list | grep -o '^mcpi-boot-[0-9]*' || true); do
  if ! kill -0 "${ns#mcpi-boot-}" 2>/dev/null; then
    echo "boot test: removing $ns, left by a killed run" >&2
    ip netns pids "$ns" | xargs -r kill -9
    ip netns del "$ns"
  fi
done

# arm64 programs run here through qemu-user-static's binfmt handler: register it when missing.
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/qemu-aarch64" ]; then
  if ! { mountpoint -q "$binfmt" || mount -t binfmt_misc binfmt_misc "$binfmt"; } 2>/dev/null \
    || ! cat /usr/lib/binfmt.d/qemu-aarch64.conf > "$binfmt/register"; then
    echo "boot test: cannot register the aarch64 binfmt handler (mount binfmt_misc on $binfmt, then write" \
      "/usr/lib/binfmt.d/qemu-aarch64.conf to $binfmt/register); the arm64 stand-in cannot be built without it." >&2
    exit 1
  fi
  echo "boot test: registered the aarch64 binfmt handler" >&2
fi

npm run --silent build
state=${MCPI_BOOT_DIR:-/var/tmp/microcloud-pi-boot}
mkdir -p "$state/base"
boot_jest() {
  MCPI_STANDIN_IMAGE="$state/base/debian-13-standin-amd64.img" MCPI_STANDIN_ARM64_IMAGE="$state/base/debian-13-standin-arm64.img" \
    MCPI_BOOT_CACHE="$state/cache" \
    node --experimental-vm-modules --no-warnings=ExperimentalWarning node_modules/jest/bin/jest.js \
    --config test/boot/jest.config.js --runInBand "$@"
}
# The arm64 base runs its maintainer scripts under emulation (the longest part of the whole run):
# build it in the background while the amd64 base is built and the three amd64 guests boot.
started=$SECONDS
bash ci/boot/build-standin-base.sh "$state/base" arm64 > "$state/arm64-base.log" 2>&1 &
arm64_base=$!
trap 'kill $arm64_base 2>/dev/null || true' EXIT
bash ci/boot/build-standin-base.sh "$state/base" amd64
echo "boot test: amd64 stand-in base ready after $((SECONDS - started)) s" >&2
boot_jest test/boot/three-nodes "$@"
if ! wait $arm64_base; then
  tail -40 "$state/arm64-base.log" >&2
  echo "boot test: the arm64 stand-in base failed (log above: $state/arm64-base.log)" >&2
  exit 1
fi
tail -1 "$state/arm64-base.log" >&2
echo "boot test: arm64 stand-in base ready after $((SECONDS - started)) s (built beside the amd64 test)" >&2
boot_jest test/boot/arm64-node "$@"
