#!/usr/bin/env bash
# npm run test:boot: build the Debian stand-in base (reused while its recipe is unchanged), then
# boot three node images built from it under QEMU (test/boot/). Needs root: the guests get a
# network namespace of their own. MCPI_BOOT_DIR keeps the base and the cache between runs.
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

npm run --silent build
state=${MCPI_BOOT_DIR:-/var/tmp/microcloud-pi-boot}
started=$SECONDS
bash ci/boot/build-standin-base.sh "$state/base" amd64
echo "boot test: stand-in base ready after $((SECONDS - started)) s" >&2
MCPI_STANDIN_IMAGE="$state/base/debian-13-standin-amd64.img" MCPI_BOOT_CACHE="$state/cache" \
  node --experimental-vm-modules --no-warnings=ExperimentalWarning node_modules/jest/bin/jest.js \
  --config test/boot/jest.config.js --runInBand "$@"
