#!/usr/bin/env bash
# Shared set-up for scripts/demo.sh and scripts/test.sh: installs what is missing and builds.
# Safe to run any number of times. Works as root (Debian, CI) or as a sudo-capable user (Pi OS).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

# Debian packages: native addon builds (ALSA headers, compiler), speech and audio tools for
# fixtures and the local gateway's voice (espeak-ng, flite, sox), libspeexdsp1 for echo
# cancellation, lame for MP3, systemd (systemd-analyze and systemd-notify for the unit and
# sd_notify tests), gpiod tools and openssl for their tests.
APT_PACKAGES=(${SPEAKER_AGENT_APT_PACKAGES:-libasound2-dev python3 make g++ espeak-ng flite sox lame alsa-utils systemd gpiod openssl ca-certificates libspeexdsp1})
# What only the tests need (scripts/test.sh sets it): mosquitto, the real MQTT broker the MQTT
# and doctor tests run on a free loopback port (its mosquitto_passwd makes their password files).
APT_PACKAGES+=(${SPEAKER_AGENT_TEST_APT_PACKAGES:-})
# Offline speech (the local gateway and `pipeline.stt: pocketsphinx`, `pipeline.tts: flite`):
# the recogniser with its US English model, and the good voices. Optional: without them the
# gateway runs with recognition off (and says so) and speaks with espeak-ng.
SPEECH_PACKAGES=(${SPEAKER_AGENT_SPEECH_PACKAGES:-pocketsphinx pocketsphinx-en-us flite festival festvox-us-slt-hts})

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${APT_PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
speech_missing=()
for p in "${SPEECH_PACKAGES[@]}"; do installed "$p" || speech_missing+=("$p"); done

need_node=0
if ! command -v node >/dev/null 2>&1; then
  need_node=1
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  need_node=1
fi
if [ "$need_node" = 1 ]; then missing+=(nodejs npm); fi

can_install=1
if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then can_install=0; fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$can_install" = 0 ]; then
    echo "Missing packages: ${missing[*]}. Run as root or install sudo." >&2
    exit 1
  fi
  say "Installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
speech_off() {
  cat >&2 <<MSG
Offline speech packages are missing: $*.
The local gateway will run with speech recognition off (it says so in every reply) and speak
with espeak-ng. To turn it on: sudo apt-get install ${SPEECH_PACKAGES[*]}
MSG
}
if [ ${#speech_missing[@]} -gt 0 ]; then
  if [ "$can_install" = 0 ]; then
    speech_off "${speech_missing[@]}"
  else
    say "Installing the offline speech packages: ${speech_missing[*]}"
    if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${speech_missing[@]}" >/dev/null; }; then
      still=()
      for p in "${speech_missing[@]}"; do installed "$p" || still+=("$p"); done
      speech_off "${still[@]}"
    fi
  fi
fi

if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  cat >&2 <<MSG
Node.js $(node --version) is too old: speaker-agent needs Node.js 20 or newer.
On Debian 12 / Raspberry Pi OS Bookworm the system package is 18. Install Node.js 20+ (for
example with scripts/install.sh, which sets up a supported Node.js), then run this again.
MSG
  exit 1
fi

# npm ci when node_modules is missing or not the lock file's. node-lame uses Debian's
# lame (installed above) instead of downloading its own copy.
export LAME_SKIP_DOWNLOAD=1
# onnxruntime-node (the openWakeWord engine) runs on the CPU build it ships; skip its GPU download.
export ONNXRUNTIME_NODE_INSTALL=skip
# Whether the installed modules are the lock file's: a checksum of the lock file kept in
# node_modules after each npm ci (modification times change with every git checkout, and a
# needless npm ci deletes node_modules first, also for every other checkout that shares it).
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
lock_stamp=node_modules/.speaker-agent-lock-sha256
if [ ! -d node_modules ] || [ "$(cat "$lock_stamp" 2>/dev/null)" != "$lock_sum" ]; then
  say "Installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$lock_sum" >"$lock_stamp"
fi

say "Building"
npm run -s build
chmod +x dist/src/cli.js
