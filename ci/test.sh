#!/usr/bin/env bash
# The whole test suite (`npm test`): installs the Debian tools the tests drive when they are
# missing, installs node modules when absent, type-checks, then runs jest.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package that provides it
declare -A TOOLS=(
  [cloud-init]=cloud-init [netplan]=netplan.io [mcopy]=mtools [mkfs.vfat]=dosfstools
  [debugfs]=e2fsprogs [sfdisk]=fdisk [xz]=xz-utils [zstd]=zstd [gpg]=gpg [gpgv]=gpgv [gpg-agent]=gpg-agent [bsdcat]=libarchive-tools
)
missing=()
for tool in "${!TOOLS[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1 || missing+=("${TOOLS[$tool]}")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages the tests need: ${missing[*]}" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "Run as root or install them yourself: apt-get install ${missing[*]}" >&2; exit 1
  fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"

[ -d node_modules ] || npm ci
npm run --silent typecheck
npm run --silent test:unit
