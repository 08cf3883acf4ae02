#!/usr/bin/env bash
# speaker-agent installer for Raspberry Pi OS / Debian (Bookworm, Trixie; 64-bit and 32-bit).
#
#   sudo scripts/install.sh [--hardware NAME] [--gateway-url URL] [--token-file FILE]
#                           [--porcupine-key-file FILE] [--backend esphome] [--no-start]
#   sudo scripts/install.sh --uninstall [--keep-config]
#   scripts/install.sh --root DIR ...      test mode (see below)
#
# Installs the Debian packages the native addons need, a supported Node.js when the system's is
# older than 20 (Debian's own package when it is new enough, else NodeSource's apt repository),
# the agent under /opt/speaker-agent (production dependencies only, native addons built), the
# system user `speaker-agent` in the audio, gpio and spi groups, /etc/speaker-agent/config.yaml
# (commented, validated; kept on re-runs) and the credential files, then enables and starts the
# systemd service. Re-running upgrades in place. Boot files are never edited: the lines a HAT
# needs in config.txt are printed. With --backend esphome the speaker is a Home Assistant voice
# satellite: the installer generates its encryption key once and prints it for Home Assistant.
#
# Test mode (--root DIR): every path is inside DIR, and commands that change the system (apt-get,
# curl, gpg, npm, useradd, usermod, userdel, chown, systemctl, the config and addon checks) are
# appended to DIR/.install-commands instead of being run. DIR/etc/passwd and DIR/etc/group stand
# in for the system's account database (a recorded useradd adds its line there, so re-runs see
# the user). SPEAKER_AGENT_TEST_FAIL=TEXT makes a recorded command containing TEXT fail.
set -euo pipefail

SERVICE=speaker-agent
SERVICE_USER=speaker-agent
MIN_NODE_MAJOR=20
# Node.js 22 LTS: NodeSource builds it for arm64, armhf and amd64 (Node 24 dropped 32-bit ARM).
NODESOURCE_MAJOR=22
SERVICE_GROUPS=(audio gpio spi)
# Native addon builds (naudiodon, speaker, rpio), TLS roots, the NodeSource key, ALSA's
# arecord/aplay (the default audio path, docs/audio.md "Backends"), libgpiod tools for the Pi 5
# GPIO driver, and lame, which decodes MP3 replies (node-lame would otherwise download its own
# copy at install time), and libspeexdsp1 for echo cancellation (audio.echoCancel: speex).
APT_PACKAGES=(ca-certificates curl gnupg build-essential python3 libasound2-dev alsa-utils gpiod lame libspeexdsp1)
# Runtime libraries an addon needs on one architecture only: naudiodon's bundled 32-bit ARM
# PortAudio links JACK.
APT_PACKAGES_armhf=(libjack-jackd2-0)

# The Debian architecture (arm64, armhf, amd64).
deb_arch() {
  if [ -n "$ROOT" ]; then printf '%s\n' "${SPEAKER_AGENT_TEST_ARCH:-amd64}"; return; fi
  dpkg --print-architecture 2>/dev/null || uname -m
}

# Where the Node.js that runs npm keeps its C headers (PREFIX/include/node), so node-gyp builds
# against them instead of downloading them from nodejs.org: /usr for Debian's nodejs (with
# libnode-dev) and NodeSource's, /usr/local or /opt/... for an unpacked release. Prints the
# prefix, or nothing.
node_headers_prefix() {
  local prefix d
  if [ -n "$ROOT" ]; then prefix="${SPEAKER_AGENT_TEST_NODE_PREFIX:-/usr}"
  else prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"; fi
  for d in "$prefix" /usr /usr/local; do
    if [ -f "$ROOT$d/include/node/node_api.h" ]; then printf '%s\n' "$d"; return; fi
  done
}

# Environment for every npm run: node-lame uses the system's lame (no download), onnxruntime-node
# its bundled CPU build (no CUDA download on x86-64), and node-gyp the installed Node.js headers
# (no download). Asked for after Node.js is installed, since the
# headers come with it (NodeSource, release tarballs) or with libnode-dev (Debian).
npm_env() {
  local e="LAME_SKIP_DOWNLOAD=1 ONNXRUNTIME_NODE_INSTALL=skip" prefix
  prefix="$(node_headers_prefix)"
  if [ -n "$prefix" ]; then e="$e npm_config_nodedir=$prefix"; fi
  printf '%s\n' "$e"
}

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT=""
HARDWARE=usb
GATEWAY_URL=""
TOKEN_FILE=""
KEY_FILE=""
BACKEND=""
NEW_ESPHOME_KEY=0
UNINSTALL=0
KEEP_CONFIG=0
START=1

ORIG_ARGS="$*"

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
say() { printf '==> %s\n' "$*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --hardware) HARDWARE="${2:?--hardware needs a name}"; shift 2 ;;
    --gateway-url) GATEWAY_URL="${2:?--gateway-url needs a URL}"; shift 2 ;;
    --token-file) TOKEN_FILE="${2:?--token-file needs a file}"; shift 2 ;;
    --porcupine-key-file) KEY_FILE="${2:?--porcupine-key-file needs a file}"; shift 2 ;;
    --backend) BACKEND="${2:?--backend needs a name}"; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    --keep-config) KEEP_CONFIG=1; shift ;;
    --no-start) START=0; shift ;;
    --root) ROOT="$(cd "${2:?--root needs a directory}" && pwd)"; shift 2 ;;
    --source) SRC="$(cd "${2:?--source needs a directory}" && pwd)"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

APP_DIR="$ROOT/opt/speaker-agent"
ETC_DIR="$ROOT/etc/speaker-agent"
CRED_DIR="$ETC_DIR/credentials"
CONFIG="$ETC_DIR/config.yaml"
UNIT="$ROOT/etc/systemd/system/$SERVICE.service"
BIN_LINK="$ROOT/usr/local/bin/speaker-agent"
STATE_DIR="$ROOT/var/lib/speaker-agent"
INSTALLER_STATE="$ROOT/var/lib/speaker-agent-installer/state"
NODESOURCE_LIST="$ROOT/etc/apt/sources.list.d/nodesource.list"
NODESOURCE_KEY="$ROOT/etc/apt/keyrings/nodesource.gpg"

# --- Running or recording system commands -----------------------------------------------------

# Runs a command that changes the system; in test mode records it (paths shown as on the Pi).
run() {
  if [ -n "$ROOT" ]; then
    local line="$*"
    printf '%s\n' "${line//"$ROOT"/}" >>"$ROOT/.install-commands"
    if [ -n "${SPEAKER_AGENT_TEST_FAIL:-}" ] && [[ "$line" == *"$SPEAKER_AGENT_TEST_FAIL"* ]]; then return 1; fi
  else
    "$@"
  fi
}

user_exists() {
  if [ -n "$ROOT" ]; then grep -q "^$1:" "$ROOT/etc/passwd" 2>/dev/null; else getent passwd "$1" >/dev/null; fi
}
group_exists() {
  if [ -n "$ROOT" ]; then grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; else getent group "$1" >/dev/null; fi
}
pkg_installed() {
  [ -z "$ROOT" ] && dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Installer state survives upgrades: what this installer added, so --uninstall can take it back.
state_get() {
  if [ -f "$INSTALLER_STATE" ]; then sed -n "s/^$1=//p" "$INSTALLER_STATE" | tail -1; fi
}
state_set() {
  mkdir -p "$(dirname "$INSTALLER_STATE")"
  touch "$INSTALLER_STATE"
  grep -v "^$1=" "$INSTALLER_STATE" >"$INSTALLER_STATE.tmp" || true
  printf '%s=%s\n' "$1" "$2" >>"$INSTALLER_STATE.tmp"
  mv "$INSTALLER_STATE.tmp" "$INSTALLER_STATE"
}
# Adds words to a space-separated list in the state (kept across re-runs).
state_add() {
  local key="$1" known
  shift
  read -r -a known <<<"$(state_get "$key")"
  state_set "$key" "$(printf '%s\n' "${known[@]}" "$@" | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//')"
}
# Debian packages this installer installed.
state_add_packages() { state_add apt_added "$@"; }

# --- Hardware profiles ---------------------------------------------------------------------------

# Prints the config.txt lines a HAT needs, one per line.
boot_lines() {
  case "$HARDWARE" in
    usb) ;;
    respeaker-2mic) printf '%s\n' 'dtparam=i2s=on' 'dtparam=spi=on' 'dtoverlay=seeed-2mic-voicecard' ;;
    respeaker-4mic) printf '%s\n' 'dtparam=i2s=on' 'dtparam=spi=on' 'dtoverlay=seeed-4mic-voicecard' ;;
    aiy-voice-hat) printf '%s\n' 'dtparam=i2s=on' 'dtoverlay=googlevoicehat-soundcard' ;;
  esac
}

# Extra advice for a HAT, printed with the boot lines.
hardware_note() {
  case "$HARDWARE" in
    respeaker-2mic|respeaker-4mic)
      echo "The seeed overlays come with Seeed's voicecard driver, which must match your kernel;"
      echo "install it first (see docs/service.md). Then \`arecord -l\` lists the seeed card." ;;
    aiy-voice-hat) echo "The googlevoicehat overlay ships with Raspberry Pi OS." ;;
  esac
}

# The hardware-specific part of a new config.yaml.
hardware_yaml() {
  case "$HARDWARE" in
    usb)
      cat <<'YAML'
audio:
  # ALSA device: "default", a card name from `arecord -l` (e.g. "alsa:USB"), or an index.
  mic: "alsa:default"
  speaker: "alsa:default"

gpio:
  # No HAT: no button, no LEDs. Use the control socket (`speaker-agent listen`) instead.
  driver: none
YAML
      ;;
    *)
      cat <<YAML
# The hardware profile sets the audio devices, the button pin and the LEDs for this HAT
# (/opt/speaker-agent/hardware/$HARDWARE.yaml; copy it to change it). Settings written below
# override the profile, e.g.:
# gpio:
#   leds: { brightness: 20 }
hardware: $HARDWARE
YAML
      ;;
  esac
}

# The wake word engine for a new config: Porcupine with a key, else openWakeWord where its
# runtime exists (64-bit: aarch64, x86_64), else none (32-bit Raspberry Pi OS: the button).
wake_engine() {
  if [ -n "$KEY_FILE" ]; then echo porcupine; return; fi
  # openWakeWord's runtime did not load on this machine (check_addons): the button.
  if [ -n "${WAKE_FALLBACK:-}" ]; then echo none; return; fi
  case "${SPEAKER_AGENT_TEST_ARCH:-$(uname -m)}" in
    aarch64|arm64|x86_64) echo openwakeword ;;
    *) echo none ;;
  esac
}

# The wake section of a new config.yaml.
wake_yaml() {
  cat <<YAML
wake:
  # none: the button (or the control socket) starts listening. porcupine: wake word, needs the
  # AccessKey in /etc/speaker-agent/credentials/porcupine-access-key. openwakeword: local
  # openWakeWord models (64-bit OS only; the models are CC BY-NC-SA 4.0: non-commercial use).
  engine: $1
YAML
  if [ "$1" = openwakeword ]; then
    cat <<'YAML'
  # hey_jarvis, alexa, hey_mycroft, hey_rhasspy, weather, or the path of your own .onnx model.
  keyword: hey_jarvis
YAML
  fi
}

# The backend part of a new config.yaml (nothing for the default gateway backend).
backend_yaml() {
  [ "$BACKEND" = esphome ] || return 0
  cat <<'YAML'
# Home Assistant voice satellite (ESPHome native API). Home Assistant finds the speaker by mDNS
# (Settings > Devices & services > ESPHome) and asks for the encryption key, which is in
# /etc/speaker-agent/credentials/esphome-key. See docs/backends.md.
backend: esphome
esphome:
  port: 6053
  # name: kitchen-speaker     (default: this machine's host name)
  # mdns: false               (then add the speaker in Home Assistant by address and port)

YAML
}

write_config() {
  local url="${GATEWAY_URL:-ws://127.0.0.1:8080/}" engine
  engine="$(wake_engine)"
  cat <<YAML
# speaker-agent configuration, written by scripts/install.sh (hardware: $HARDWARE).
# Re-running the installer keeps this file. After editing:
#   speaker-agent config check /etc/speaker-agent/config.yaml && sudo systemctl restart speaker-agent
# Secrets are NOT kept here: the gateway token and the Porcupine AccessKey live in
# /etc/speaker-agent/credentials/ (mode 0600) and reach the service as systemd credentials.
# Every setting and its default: docs/service.md and src/config/schema.ts.

gateway:
  # WebSocket URL of the audio gateway (wss:// in production).
  url: "$url"
  # Extra headers and query parameters the gateway expects, e.g.:
  # headers: { tenantid: "my-tenant" }
  # query: { skillset: "home", language: "en-US" }
  # A private CA for wss:// (PEM):
  # caFile: /etc/speaker-agent/gateway-ca.pem

$(backend_yaml)
$(hardware_yaml)

$(wake_yaml "$engine")

log:
  # debug, info, warn or error. json for journald; pretty for a terminal.
  level: info
  format: json
YAML
}

# --- Install steps --------------------------------------------------------------------------------

check_platform() {
  if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then die "run as root: sudo $0 $ORIG_ARGS"; fi
  case "$HARDWARE" in
    usb-mic) HARDWARE=usb ;;
    usb|respeaker-2mic|respeaker-4mic|aiy-voice-hat|aiy-voice-bonnet) ;;
    *) die "unknown --hardware \"$HARDWARE\" (known: usb, respeaker-2mic, respeaker-4mic, aiy-voice-hat, aiy-voice-bonnet)" ;;
  esac
  case "$BACKEND" in
    ''|gateway|esphome) ;;
    *) die "unknown --backend \"$BACKEND\" (the installer sets up gateway, the default, or esphome; configure others in config.yaml)" ;;
  esac
  if [ "$(uname -m)" = armv6l ]; then
    die "this is an ARMv6 board (Pi 1, Zero, Zero W): Node.js 20+ has no build for it. Use a Pi Zero 2 W or newer."
  fi
  [ -f "$SRC/package.json" ] || die "no package.json in $SRC: run from a speaker-agent checkout (or pass --source DIR)"
  [ -f "$SRC/systemd/speaker-agent.service" ] || die "missing $SRC/systemd/speaker-agent.service"
  check_inputs
}

# A secret file the user named: its first line is the secret (see write_credential).
check_secret_file() {
  local flag="$1" file="$2" first
  [ -e "$file" ] || die "$flag $file: no such file"
  [ -f "$file" ] || die "$flag $file: not a regular file"
  [ -r "$file" ] || die "$flag $file: cannot read it"
  [ "$(wc -c <"$file")" -le 16384 ] || die "$flag $file: larger than 16 KiB, not a token file"
  first="$(head -n 1 "$file" | tr -d '\r')"
  [ -n "${first//[[:space:]]/}" ] || die "$flag $file: the first line is empty; put the secret on the first line"
  case "$first" in
    "Bearer "*|"bearer "*) die "$flag $file: put only the token on the first line, without \"Bearer \"" ;;
    *[[:space:]]*) die "$flag $file: the first line contains spaces; put only the secret on it" ;;
  esac
}

# Everything the user gave is checked before anything is installed or built.
check_inputs() {
  if [ -n "$GATEWAY_URL" ]; then
    case "$GATEWAY_URL" in
      ws://?*|wss://?*) ;;
      *) die "--gateway-url must be a ws:// or wss:// URL, got \"$GATEWAY_URL\"" ;;
    esac
    case "$GATEWAY_URL" in
      *[[:space:]\"\\]*) die "--gateway-url must not contain spaces, quotes or backslashes" ;;
    esac
  fi
  if [ -n "$TOKEN_FILE" ]; then check_secret_file --token-file "$TOKEN_FILE"; fi
  if [ -n "$KEY_FILE" ]; then check_secret_file --porcupine-key-file "$KEY_FILE"; fi
}

node_version() {
  if [ -n "$ROOT" ]; then printf '%s\n' "${SPEAKER_AGENT_TEST_NODE_VERSION:-$(node -p process.versions.node)}"; return; fi
  if command -v node >/dev/null 2>&1; then node -p process.versions.node; fi
}
apt_candidate() {
  if [ -n "$ROOT" ]; then printf '%s\n' "${SPEAKER_AGENT_TEST_NODE_CANDIDATE:-}"; return; fi
  apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ { print $2 }'
}
major() { local v="${1#v}"; v="${v%%.*}"; v="${v%%[!0-9]*}"; printf '%s\n' "${v:-0}"; }

install_packages() {
  local added=() p arch wanted=("${APT_PACKAGES[@]}")
  arch="$(deb_arch)"
  if [ "$arch" = armhf ]; then wanted+=("${APT_PACKAGES_armhf[@]}"); fi
  for p in "${wanted[@]}"; do pkg_installed "$p" || added+=("$p"); done
  if [ ${#added[@]} -gt 0 ]; then
    say "Installing Debian packages: ${added[*]}"
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${added[@]}"
    state_add_packages "${added[@]}"
  fi

  local have; have="$(node_version)"
  if [ -n "$have" ] && [ "$(major "$have")" -ge "$MIN_NODE_MAJOR" ]; then
    say "Node.js $have is new enough"
    return
  fi
  local candidate; candidate="$(apt_candidate)"
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && [ "$(major "$candidate")" -ge "$MIN_NODE_MAJOR" ]; then
    say "Installing Node.js $candidate from the Debian archive"
    # Debian splits npm and the C headers (node-gyp builds the addons against them) out of nodejs.
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm libnode-dev
    state_add_packages nodejs npm libnode-dev
    return
  fi
  say "Node.js ${have:-(none)} is too old and Debian offers ${candidate:-nothing newer}: adding NodeSource's apt repository (Node.js $NODESOURCE_MAJOR)"
  mkdir -p "$(dirname "$NODESOURCE_KEY")" "$(dirname "$NODESOURCE_LIST")"
  run sh -c "curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o $NODESOURCE_KEY"
  printf 'deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_%s.x nodistro main\n' "$NODESOURCE_MAJOR" >"$NODESOURCE_LIST"
  chmod 0644 "$NODESOURCE_LIST"
  state_set nodesource yes
  run apt-get update
  # NodeSource's nodejs bundles npm and the headers (/usr/include/node).
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs
  state_add_packages nodejs
}

create_user() {
  if user_exists "$SERVICE_USER"; then
    say "User $SERVICE_USER exists"
  else
    say "Creating system user $SERVICE_USER"
    run useradd --system --user-group --home-dir /var/lib/speaker-agent --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
    if [ -n "$ROOT" ]; then
      printf '%s:x:999:999::/var/lib/speaker-agent:/usr/sbin/nologin\n' "$SERVICE_USER" >>"$ROOT/etc/passwd"
      printf '%s:x:999:\n' "$SERVICE_USER" >>"$ROOT/etc/group"
    fi
  fi
  local g
  for g in "${SERVICE_GROUPS[@]}"; do
    if ! group_exists "$g"; then
      # Raspberry Pi OS has gpio and spi; plain Debian does not. The unit's SupplementaryGroups=
      # fails the start (216/GROUP) when a group is missing, so create it (empty of devices:
      # without Pi OS's udev rules it grants nothing).
      say "Creating group $g (Raspberry Pi OS has it; here it grants no device access by itself)"
      run groupadd --system "$g"
      if [ -n "$ROOT" ]; then printf '%s:x:%s:\n' "$g" "$((900 + ${#g}))" >>"$ROOT/etc/group"; fi
      state_add groups_added "$g"
    fi
  done
  local joined; joined="$(IFS=,; printf '%s' "${SERVICE_GROUPS[*]}")"
  # i2c (the AIY Voice Bonnet's LED chip): joined when the system has it, never created; the
  # unit does not name it, the service gets it from the user's membership.
  if group_exists i2c; then joined="$joined,i2c"; fi
  run usermod -aG "$joined" "$SERVICE_USER"
}

# What a release tree holds (a source checkout is built and pruned down to this).
RELEASE_ITEMS=(package.json package-lock.json dist systemd scripts hardware proto docs LICENSE README.md)

install_app() {
  say "Installing the agent into /opt/speaker-agent"
  local stage="$APP_DIR.new" item
  rm -rf "$stage"
  mkdir -p "$stage/bin"
  STAGE_DIR="$stage"
  trap 'rm -rf "$STAGE_DIR"' EXIT
  if [ -f "$SRC/src/cli.ts" ]; then
    # A source checkout: copied into the staging directory and built there (the checkout stays
    # as it was, with no root-owned node_modules; a stale dist/ is never installed), then
    # pruned to the production dependencies and the release files.
    tar -C "$SRC" --exclude=./node_modules --exclude=./dist --exclude=./.git -cf - . | tar -C "$stage" -xf -
    say "Building from source (npm ci, TypeScript compile)"
    run sh -c "cd '$stage' && env $(npm_env) npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev --no-audit --no-fund"
    local keep=" ${RELEASE_ITEMS[*]} bin node_modules "
    for item in "$stage"/* "$stage"/.[!.]*; do
      [ -e "$item" ] || continue
      case "$keep" in *" $(basename "$item") "*) ;; *) rm -rf "$item" ;; esac
    done
  elif [ -f "$SRC/dist/src/cli.js" ]; then
    for item in "${RELEASE_ITEMS[@]}"; do
      if [ -e "$SRC/$item" ]; then cp -a "$SRC/$item" "$stage/"; fi
    done
    # Production dependencies only; the allowScripts list in package.json lets npm 11 build
    # the native addons (npm 10 builds them anyway).
    run sh -c "cd '$stage' && env $(npm_env) npm ci --omit=dev --no-audit --no-fund"
  else
    die "$SRC has neither src/ nor a built dist/: use a speaker-agent checkout or release"
  fi
  local node_bin=/usr/bin/node
  [ -z "$ROOT" ] && node_bin="$(command -v node)"
  NODE_BIN="$node_bin"
  cat >"$stage/bin/speaker-agent" <<SH
#!/bin/sh
# Written by scripts/install.sh: runs the installed speaker-agent with the system's Node.js.
exec $node_bin /opt/speaker-agent/dist/src/cli.js "\$@"
SH
  chmod 0755 "$stage/bin/speaker-agent"
  check_addons "$stage"
  # Swap in one step, so a failed build leaves the running version untouched.
  if [ -d "$APP_DIR" ]; then
    rm -rf "$APP_DIR.old"
    mv "$APP_DIR" "$APP_DIR.old"
  fi
  mv "$stage" "$APP_DIR"
  rm -rf "$APP_DIR.old"
  relink_addons
  run chown -R root:root "$APP_DIR"
  mkdir -p "$(dirname "$BIN_LINK")"
  ln -sfn /opt/speaker-agent/bin/speaker-agent "$BIN_LINK"
}

# Before the swap: every native addon the configuration (the one kept, or the one about to be
# written) needs must load from the new build. npm drops an optional addon that fails to build
# without failing itself; the service would then restart-loop.
check_addons() {
  local stage="$1" cfg="$CONFIG" preview=""
  if [ ! -e "$CONFIG" ]; then
    preview="$(mktemp --suffix=.wake.yaml)"
    write_config >"$preview"
    cfg="$preview"
  fi
  say "Checking that the native addons this configuration needs load"
  local ok=1
  run "$NODE_BIN" "${stage#"$ROOT"}/dist/src/cli.js" config addons "${cfg#"$ROOT"}" || ok=0
  [ -z "$preview" ] || rm -f "$preview"
  # A new config that chose openWakeWord by itself (64-bit, no Porcupine key): when its runtime
  # does not load here, the speaker still works by the button, so the new config says so.
  if [ "$ok" = 0 ] && [ -n "$preview" ] && [ "$(wake_engine)" = openwakeword ]; then
    WAKE_FALLBACK=1
    preview="$(mktemp --suffix=.button.yaml)"
    write_config >"$preview"
    ok=1
    run "$NODE_BIN" "${stage#"$ROOT"}/dist/src/cli.js" config addons "${preview#"$ROOT"}" || ok=0
    rm -f "$preview"
    if [ "$ok" = 1 ]; then
      warn "openWakeWord's runtime (onnxruntime-node) does not load on this machine (see above): the new config has no wake word (wake.engine: none); press the button or run 'speaker-agent listen'. Once it loads ('speaker-agent config addons /etc/speaker-agent/config.yaml'), set wake.engine: openwakeword and restart."
    fi
  fi
  if [ "$ok" = 0 ]; then
    die "a native addon this configuration needs does not load (see the fix above); the installed version is untouched. Fix it and run this installer again."
  fi
}

# naudiodon links its bundled PortAudio with an absolute RUNPATH into its own build directory:
# built in the staging directory, it points at a path that is gone after the swap
# ("libportaudio.so.2: cannot open shared object file"). Rebuild such addons where they now live.
relink_addons() {
  [ -d "$APP_DIR/node_modules" ] || return 0
  local stale=() f pkg
  while IFS= read -r f; do
    pkg="${f#"$APP_DIR/node_modules/"}"
    case "$pkg" in @*/*) pkg="$(printf '%s' "$pkg" | cut -d/ -f1-2)" ;; *) pkg="${pkg%%/*}" ;; esac
    case " ${stale[*]} " in *" $pkg "*) ;; *) stale+=("$pkg") ;; esac
  done < <(grep -rlaF --include='*.node' "${APP_DIR#"$ROOT"}.new" "$APP_DIR/node_modules" 2>/dev/null || true)
  if [ ${#stale[@]} -gt 0 ]; then
    say "Rebuilding ${stale[*]} in place (its library path pointed at the staging directory)"
    run sh -c "cd '${APP_DIR#"$ROOT"}' && env $(npm_env) npm rebuild ${stale[*]}"
  fi
}

install_unit() {
  say "Installing the systemd unit"
  mkdir -p "$(dirname "$UNIT")"
  install -m 0644 "$SRC/systemd/speaker-agent.service" "$UNIT"
}

# Writes a secret from FILE (first line) to a credential file, or creates it empty.
write_credential() {
  local dest="$1" from="$2"
  if [ -n "$from" ]; then
    [ -r "$from" ] || die "cannot read $from"
    (umask 077 && head -n 1 "$from" | tr -d '\r' >"$dest")
    say "Stored $(basename "$dest") from $from"
  elif [ ! -e "$dest" ]; then
    # LoadCredential= refuses to start the unit when the file is missing; empty means "none".
    (umask 077 && : >"$dest")
  fi
  chmod 0600 "$dest"
  run chown root:root "$dest"
}

install_config() {
  mkdir -p "$ETC_DIR" "$CRED_DIR"
  chmod 0750 "$ETC_DIR"
  chmod 0700 "$CRED_DIR"
  run chown root:"$SERVICE_USER" "$ETC_DIR"
  run chown root:root "$CRED_DIR"
  if [ -e "$CONFIG" ]; then
    say "Keeping ${CONFIG#"$ROOT"}"
    [ "$HARDWARE" != usb ] && say "(--hardware only shapes a new config; edit the file to change hardware)"
  else
    say "Writing ${CONFIG#"$ROOT"}"
    (umask 027 && write_config >"$CONFIG")
  fi
  chmod 0640 "$CONFIG"
  run chown root:"$SERVICE_USER" "$CONFIG"
  write_credential "$CRED_DIR/gateway-token" "$TOKEN_FILE"
  write_credential "$CRED_DIR/porcupine-access-key" "$KEY_FILE"
  write_credential "$CRED_DIR/esphome-key" ""
  if [ "$BACKEND" = esphome ] && [ ! -s "$CRED_DIR/esphome-key" ]; then
    # 32 random bytes in base64: the Noise pre-shared key Home Assistant asks for.
    (umask 077 && head -c 32 /dev/urandom | base64 >"$CRED_DIR/esphome-key")
    NEW_ESPHOME_KEY=1
    say "Generated the ESPHome encryption key"
  fi
  # The MQTT broker password (docs/mqtt.md); empty until the user writes it.
  write_credential "$CRED_DIR/mqtt-password" ""
  say "Checking ${CONFIG#"$ROOT"}"
  if ! run "$APP_DIR/bin/speaker-agent" config check "$CONFIG"; then
    die "${CONFIG#"$ROOT"} is not valid (see above). Fix it, then run this installer again (it keeps the file)."
  fi
}

start_service() {
  run systemctl daemon-reload
  run systemctl enable "$SERVICE"
  if [ "$START" = 1 ]; then
    say "Starting the service"
    if ! run systemctl restart "$SERVICE"; then
      # systemd says only "see systemctl status": show it, and the unit's last journal lines.
      if [ -z "$ROOT" ]; then
        systemctl status "$SERVICE" --no-pager -l 2>&1 | head -n 15 || true
        echo "--- journalctl -u $SERVICE -n 20"
        journalctl -u "$SERVICE" -n 20 --no-pager -o cat 2>&1 || true
      fi
      die "the service did not start (see above; 'sudo speaker-agent doctor' checks the config, audio and gateway). The installation is in place: fix the cause, then run 'sudo systemctl restart $SERVICE'."
    fi
  fi
}

print_next_steps() {
  local boot="$ROOT/boot/firmware/config.txt"
  [ -f "$boot" ] || [ ! -f "$ROOT/boot/config.txt" ] || boot="$ROOT/boot/config.txt"
  local lines; lines="$(boot_lines)"
  echo
  if [ -n "$lines" ]; then
    echo "The $HARDWARE needs these lines in ${boot#"$ROOT"} (this installer does not edit boot files):"
    local l
    while IFS= read -r l; do
      if [ -f "$boot" ] && grep -qxF "$l" "$boot"; then echo "    $l    (already there)"; else echo "    $l"; fi
    done <<<"$lines"
    hardware_note
    echo "Add the missing ones with: sudo nano ${boot#"$ROOT"}   then reboot."
    echo
  fi
  if [ "$BACKEND" != esphome ] && [ ! -s "$CRED_DIR/gateway-token" ]; then
    echo "No gateway token yet. Store it (paste, Enter, Ctrl-D), then restart:"
    echo "    sudo sh -c 'umask 077; cat > /etc/speaker-agent/credentials/gateway-token'"
    echo "    sudo systemctl restart speaker-agent"
    echo
  fi
  if [ "$NEW_ESPHOME_KEY" = 1 ]; then
    echo "Home Assistant will ask for this speaker's encryption key. It is shown only now:"
    echo "    $(head -n 1 "$CRED_DIR/esphome-key")"
    echo "(kept in /etc/speaker-agent/credentials/esphome-key, readable by root only)"
    echo
  elif [ "$BACKEND" = esphome ]; then
    echo "Keeping the existing ESPHome encryption key (sudo cat /etc/speaker-agent/credentials/esphome-key)."
    echo
  fi
  echo "Check everything:   sudo speaker-agent doctor"
  echo "Talk to the agent:  sudo speaker-agent status     (or listen, say, volume, events)"
  if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    echo "                    (without sudo: sudo usermod -aG $SERVICE_USER $SUDO_USER, then log in again)"
  fi
  echo "Follow the logs:    journalctl -u speaker-agent -f"
  echo "Service state:      systemctl status speaker-agent"
}

do_install() {
  check_platform
  install_packages
  create_user
  install_app
  install_unit
  install_config
  start_service
  print_next_steps
}

# --- Uninstall ------------------------------------------------------------------------------------

# Members of a group (from the group database), comma-separated.
group_members() {
  if [ -n "$ROOT" ]; then sed -n "s/^$1:[^:]*:[^:]*://p" "$ROOT/etc/group" 2>/dev/null | head -1
  else getent group "$1" | cut -d: -f4; fi
}

do_uninstall() {
  if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then die "run as root: sudo $0 --uninstall"; fi
  say "Removing the service"
  local dropins=("$ROOT/etc/systemd/system/$SERVICE.service.d" "$ROOT/run/systemd/system/$SERVICE.service.d") d removed=0
  if [ -f "$UNIT" ]; then
    run systemctl disable --now "$SERVICE"
    rm -f "$UNIT"
    removed=1
  fi
  # Drop-ins (`systemctl edit speaker-agent`, `systemctl set-property`) go with the unit.
  for d in "${dropins[@]}"; do
    if [ -d "$d" ]; then
      say "Removing the drop-ins in ${d#"$ROOT"}: $(ls -A "$d" | tr '\n' ' ')"
      rm -rf "$d"
      removed=1
    fi
  done
  if [ "$removed" = 1 ]; then
    run systemctl daemon-reload
    # A unit that failed stays listed as failed until this.
    run systemctl reset-failed "$SERVICE" 2>/dev/null || true
  fi
  say "Removing /opt/speaker-agent"
  rm -rf "$APP_DIR" "$APP_DIR.new" "$APP_DIR.old"
  if [ -L "$BIN_LINK" ]; then rm -f "$BIN_LINK"; fi
  rm -rf "$STATE_DIR"
  if [ "$KEEP_CONFIG" = 1 ]; then
    say "Keeping /etc/speaker-agent (--keep-config)"
  else
    say "Removing /etc/speaker-agent (configuration and credentials)"
    rm -rf "$ETC_DIR"
  fi
  if user_exists "$SERVICE_USER"; then
    say "Removing user $SERVICE_USER"
    run userdel "$SERVICE_USER"
    if [ -n "$ROOT" ]; then
      sed -i "/^$SERVICE_USER:/d" "$ROOT/etc/passwd"
      # As userdel: the user's own group goes with it unless other users are in it.
      if [ -z "$(group_members "$SERVICE_USER")" ]; then sed -i "/^$SERVICE_USER:/d" "$ROOT/etc/group"; fi
    fi
  fi
  # userdel keeps the group when users joined it (the installer tells them to, for the CLI).
  if group_exists "$SERVICE_USER"; then
    local members; members="$(group_members "$SERVICE_USER")"
    say "Removing group $SERVICE_USER${members:+ (its members $members lose it at their next login)}"
    run groupdel "$SERVICE_USER"
    if [ -n "$ROOT" ]; then sed -i "/^$SERVICE_USER:/d" "$ROOT/etc/group"; fi
  fi
  local g groups_added
  read -r -a groups_added <<<"$(state_get groups_added)"
  for g in "${groups_added[@]}"; do
    say "Removing group $g (created by the installer)"
    run groupdel "$g"
    if [ -n "$ROOT" ]; then sed -i "/^$g:/d" "$ROOT/etc/group"; fi
  done
  if [ "$(state_get nodesource)" = yes ]; then
    say "Removing NodeSource's apt repository"
    rm -f "$NODESOURCE_LIST" "$NODESOURCE_KEY"
    run apt-get update
  fi
  local added; added="$(state_get apt_added)"
  rm -rf "$(dirname "$INSTALLER_STATE")"
  if [ -n "$added" ]; then
    echo
    echo "Debian packages this installer added are left in place (other software may use them)."
    echo "To remove them too:  sudo apt-get remove $added && sudo apt-get autoremove"
  fi
  say "speaker-agent is uninstalled"
}

if [ -n "$ROOT" ]; then say "Test mode: installing into $ROOT (system commands are recorded, not run)"; fi
if [ "$UNINSTALL" = 1 ]; then do_uninstall; else do_install; fi
