# Sourced by scripts/verify-pi.sh: one target's run. A fresh copy of the cached root filesystem
# is booted with systemd-nspawn; the checkout is cloned into /home/pi as a user would have it
# and installed with scripts/install.sh; then the checks listed in docs/pi-verification.md.
# Everything run inside goes through nsenter (the host has no systemd, so no machinectl).

RESULTS_FILE=""
FAILED=0

# record TARGET CHECK ok|FAIL|info SECONDS NOTE
record() {
  local line
  line=$(printf '%-16s %-30s %-5s %8s  %s' "$1" "$2" "$3" "$4" "$5")
  printf '%s\n' "$line" >>"$RESULTS_FILE"
  printf '[%s]     %s\n' "$(stamp)" "$line"
  if [ "$3" = FAIL ]; then FAILED=$((FAILED + 1)); fi
}

# Seconds (1 decimal) since the nanosecond timestamp $1.
since() { local d=$(($(date +%s%N) - $1)); printf '%d.%d' $((d / 1000000000)) $((d / 100000000 % 10)); }

CT_PID=""
NSPAWN_PID=""
MIC_PID=""
in_ct() { nsenter -t "$CT_PID" -a -- "$@"; }
# A login shell of the user pi (what a person on the Pi types).
as_pi() { in_ct su - pi -c "$1"; }

# speak_when PID MARKER FILE: once FILE (the output of the background command PID) shows MARKER,
# or the command ended, the paced microphone speaks the utterance; then waits for the command and
# returns its status.
speak_when() {
  local pid=$1 marker=$2 file=$3 i
  for i in $(seq 1 600); do
    if grep -q "$marker" "$file" || ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  kill -USR1 "$MIC_PID"
  wait "$pid"
}

stop_container() {
  if [ -n "$MIC_PID" ]; then kill "$MIC_PID" 2>/dev/null || true; MIC_PID=""; fi
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    # systemctl poweroff needs logind (failed under emulation on Debian 13); --force skips it
    # (every service is already stopped by then). SIGRTMIN+4 is systemd's own "power off"
    # request, but under qemu-user the host's real-time signals do not map one to one.
    in_ct systemctl poweroff >/dev/null 2>&1 || in_ct systemctl poweroff --force >/dev/null 2>&1 || kill -s SIGRTMIN+4 "$CT_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 60); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 1; done
    kill -0 "$NSPAWN_PID" 2>/dev/null && kill -KILL "$NSPAWN_PID" 2>/dev/null
  fi
  NSPAWN_PID=""
  CT_PID=""
}

# The spoken question: espeak-ng when the host has it, else a voice-band chirp from sox.
make_utterance() {
  local out=$1 tmp
  tmp=$(mktemp -d)
  if command -v espeak-ng >/dev/null 2>&1 && command -v sox >/dev/null 2>&1; then
    espeak-ng -v en-us -s 150 -w "$tmp/u.wav" "What is the weather like tomorrow in Lisbon?" 2>/dev/null
    sox "$tmp/u.wav" -r 16000 -c 1 -b 16 -e signed -t raw "$out"
  elif command -v sox >/dev/null 2>&1; then
    sox -n -r 16000 -c 1 -b 16 -e signed -t raw "$out" synth 2.5 sine 200-900 tremolo 4 80 vol 0.6
  else
    die "the host needs sox (and espeak-ng for a spoken question) to make the test utterance"
  fi
  rm -rf "$tmp"
}

# --- The ALSA configuration of the container: ALSA's file plugin over the null PCM -----------
# (snd-aloop and real cards do not exist in a container). Capture reads a FIFO the host feeds
# in real time; playback writes a file in the service's state directory.
ASOUND_CONF='# Written by scripts/verify-pi.sh (test harness, not part of the product): ALSA file PCMs.
pcm.!default { type asym; playback.pcm "verify_out"; capture.pcm "verify_in" }
pcm.verify_out { type file; slave.pcm "null"; file "/var/lib/speaker-agent/verify-played.raw"; format "raw" }
pcm.verify_in { type file; slave.pcm "null"; file "/dev/null"; infile "/var/lib/verify-pi/mic.fifo"; format "raw" }
ctl.!default { type hw; card 0 }
'

# --- Emulation-only drop-in ---------------------------------------------------------------------
# Under qemu-user, systemd cannot set up credentials (LoadCredential= fails with 243/CREDENTIALS)
# nor an IPC namespace (PrivateIPC= fails with 226/NAMESPACE). Debian 13's systemd 257 fails
# every mount-namespace setting (226/NAMESPACE): qemu-user (10.0 and older) does not copy
# statx's stx_mnt_id to the guest, so systemd's "is this path already the root?" check
# (same inode, same mount id 0) is true for its bind mount of /, it skips the pivot_root into
# the unit's namespace and the next mount on it fails with EINVAL. Each setting the unit uses is
# probed alone (systemd-run, as the unit would) and only those that fail are turned off. The
# drop-in lives only in the container and the uninstall check removes it.
#
# SETTING=VALUE-THE-UNIT-USES:VALUE-UNDER-EMULATION
SANDBOX_PROBES=(
  PrivateIPC=yes:no PrivateTmp=yes:no PrivateMounts=yes:no ProtectSystem=strict:no
  ProtectHome=yes:no ProtectKernelTunables=yes:no ProtectKernelModules=yes:no
  ProtectKernelLogs=yes:no ProtectControlGroups=yes:no ProtectProc=invisible:default
  ProtectClock=yes:no ProtectHostname=yes:no
)
SANDBOX_OFF=()      # "Setting=value" lines for the drop-in
SANDBOX_OFF_NOTE="" # for the summary

# probe_sandbox UNIT-FILE: fills SANDBOX_OFF with what fails here, for the settings UNIT-FILE has.
probe_sandbox() {
  local unit=$1 p setting on off err
  SANDBOX_OFF=()
  SANDBOX_OFF_NOTE=""
  for p in "${SANDBOX_PROBES[@]}"; do
    setting=${p%%=*}; on=${p#*=}; on=${on%%:*}; off=${p##*:}
    grep -qx "$setting=$on" "$unit" || continue
    if ! err=$(in_ct systemd-run --wait --collect -p "$setting=$on" /bin/true 2>&1); then
      SANDBOX_OFF+=("# $setting=$on fails here ($(printf '%s' "$err" | grep -o 'status=[0-9]*/[A-Z_]*' | head -1 || echo failed))" "$setting=$off")
      SANDBOX_OFF_NOTE="$SANDBOX_OFF_NOTE $setting=$off"
    fi
  done
}

emulation_dropin() {
  local creds=$1 line
  printf '%s\n' '# scripts/verify-pi.sh: EMULATION ONLY (qemu-user cannot do this; a Pi can). Not part of the product.' '[Service]'
  if [ "$creds" = 1 ]; then
    # Every file of the credentials directory (the unit's LoadCredential= names are the file
    # names): the installer writes all of them, empty when not configured.
    printf '%s\n' \
      '# LoadCredential= fails under qemu-user (243/CREDENTIALS): copy the same files where the agent looks for them.' \
      'LoadCredential=' \
      "ExecStartPre=+/bin/sh -c 'install -d -o speaker-agent -g speaker-agent -m 0700 /run/speaker-agent/credentials && for f in /etc/speaker-agent/credentials/*; do install -o speaker-agent -g speaker-agent -m 0400 \"\$f\" /run/speaker-agent/credentials/; done'" \
      'Environment=CREDENTIALS_DIRECTORY=/run/speaker-agent/credentials'
  fi
  for line in "${SANDBOX_OFF[@]}"; do printf '%s\n' "$line"; done
}

# When the service fails: its status and journal, kept in results/ and summarised in one line.
service_failure() {
  local target=$1 when=$2 file="$CACHE/results/$1-service-failure.txt"
  {
    printf '### %s: systemctl status speaker-agent (%s)\n' "$when" "$(date -u +%FT%TZ)"
    in_ct systemctl status speaker-agent --no-pager -l 2>&1
    printf '\n### journalctl -u speaker-agent -n 60\n'
    in_ct journalctl -u speaker-agent -n 60 --no-pager -o short-monotonic 2>&1
    printf '\n'
  } >>"$file"
  # The failing process and its exit status, then the journal's last error line.
  local proc; proc=$(in_ct systemctl status speaker-agent --no-pager -l 2>/dev/null | grep -E '^ *(Process|Main PID):.*status=' | tail -1 | sed 's/^ *//' | sed -E 's/^(Process: [0-9]+ [A-Za-z]+)=.*\((code=[^)]*)\)$/\1 (\2)/')
  local last; last=$(in_ct journalctl -u speaker-agent -n 30 --no-pager -o cat 2>/dev/null | grep -iE 'error|fail|denied|status=' | tail -1 | cut -c1-160)
  printf '%s; %s (full: %s)' "${proc:-no process status}" "${last:-journal empty}" "${file#"$CACHE"/}"
}

run_target() {
  local target=$1 suite=${1%-*} arch=${1#*-}
  local base="$CACHE/rootfs/$target" ct="$CACHE/run/$target" io="$CACHE/run/$target-io"
  local log="$CACHE/results/$target.log" t
  RESULTS_FILE="$CACHE/results/$target.summary"
  rm -f "$CACHE/results/$target-service-failure.txt" "$CACHE/results/$target-emulation-dropin.conf"
  : >"$RESULTS_FILE"
  : >"$log"
  say "Target $target (log: $log)"
  local q; q=$(qemu_name "$arch")
  if [ -n "$q" ]; then
    local qi
    if ! qi=$(qemu_for "$suite" "$q"); then
      record "$target" "qemu-user" FAIL - "could not get the qemu-user for $suite"
      return
    fi
    binfmt_for "$q" "$qi"
    # Debian's binfmt wrapper refuses to run outside binfmt_misc: ask the binary it links to.
    local interp; interp=$(sed -n 's/^interpreter //p' "/proc/sys/fs/binfmt_misc/$q")
    note "emulated by $interp ($("$(readlink -f "$interp")" --version 2>&1 | head -1))"
  fi
  build_rootfs "$target"

  # A fresh copy of the cached root filesystem, with the checkout and a token in pi's home.
  t=$(date +%s%N)
  rm -rf "$ct" "$io"
  cp -a --reflink=auto "$base" "$ct"
  mkdir -p "$io" "$CACHE/apt/$target" "$CACHE/npm-cache/$arch"
  local home="$ct/home/pi"
  if [ "$WORKTREE" = 1 ]; then
    mkdir -p "$home/speaker-agent"
    (cd "$SRC" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -C "$home/speaker-agent" -xf -
    note "installing the working tree ($(cd "$SRC" && git describe --always --dirty))"
  else
    git clone -q "$SRC" "$home/speaker-agent"
    git -C "$home/speaker-agent" checkout -q "$REV"
    note "installing a clone of ${REV:0:7}$(cd "$SRC" && git diff --quiet "$REV" || echo ' (uncommitted changes are NOT included; --worktree includes them)')"
  fi
  local token="tok-verify-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$token" >"$home/gateway-token.txt"
  chroot "$ct" sh -c 'chown -R pi:pi /home/pi && chmod 600 /home/pi/gateway-token.txt'
  printf '%s' "$ASOUND_CONF" >"$ct/etc/asound.conf"
  make_utterance "$io/utterance.raw"
  mkfifo "$io/mic.fifo"
  chmod 0755 "$io"
  chmod 0644 "$io/mic.fifo"
  record "$target" "copy rootfs + checkout" ok "$(since "$t")" "$(du -sh "$ct" | cut -f1)"

  # The host feeds the container's microphone in real time.
  node "$LIB/paced-mic.mjs" "$io/mic.fifo" "$io/utterance.raw" >>"$log" 2>&1 &
  MIC_PID=$!

  # Boot with systemd (host network: the installer needs apt and npm).
  t=$(date +%s%N)
  setsid systemd-nspawn -b -D "$ct" -M "vpi-$target" --register=no --keep-unit --console=pipe \
    --bind="$io:/var/lib/verify-pi" \
    --bind="$CACHE/apt/$target:/var/cache/apt/archives" \
    --bind="$CACHE/npm-cache/$arch:/root/.npm" \
    </dev/null >>"$log" 2>&1 &
  NSPAWN_PID=$!
  local i state=""
  for i in $(seq 1 120); do
    CT_PID=$(pgrep -P "$NSPAWN_PID" | head -1 || true)
    if [ -n "$CT_PID" ]; then
      state=$(in_ct systemctl is-system-running 2>/dev/null || true)
      case "$state" in running|degraded) break ;; esac
    fi
    sleep 1
  done
  case "$state" in
    running|degraded) record "$target" "boot (systemd)" ok "$(since "$t")" "$state; $(in_ct systemctl --version | head -1)" ;;
    *) record "$target" "boot (systemd)" FAIL "$(since "$t")" "system state '${state:-none}' after 120 s"; stop_container; return ;;
  esac
  if [ "$state" = degraded ]; then
    note "failed units: $(in_ct systemctl --failed --no-legend --plain 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"
  fi
  record "$target" "node before install" info - "$(in_ct sh -c 'node -v 2>/dev/null || echo "none (the installer installs one)"')"

  # What emulation cannot do here (each probe is what the unit uses).
  local creds=0
  in_ct systemd-run --wait --quiet --collect -p SetCredential=probe:x /bin/true >>"$log" 2>&1 || creds=1
  if [ "$creds" = 1 ]; then
    # The container's own journald (systemd 257 imports credentials) fails the same way: give it
    # the same treatment, so the journal works for the checks that read it.
    mkdir -p "$ct/etc/systemd/system/systemd-journald.service.d"
    printf '%s\n' '# scripts/verify-pi.sh: EMULATION ONLY (qemu-user cannot set up credentials).' '[Service]' 'ImportCredential=' 'LoadCredential=' \
      >"$ct/etc/systemd/system/systemd-journald.service.d/verify-pi-emulation.conf"
    in_ct systemctl daemon-reload
    in_ct systemctl reset-failed systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket >/dev/null 2>&1
    in_ct systemctl start systemd-journald.socket systemd-journald-dev-log.socket systemd-journald.service >>"$log" 2>&1 || true
  fi
  probe_sandbox "$home/speaker-agent/systemd/speaker-agent.service"
  if [ "$creds" = 1 ] || [ ${#SANDBOX_OFF[@]} -gt 0 ]; then
    mkdir -p "$ct/etc/systemd/system/speaker-agent.service.d"
    emulation_dropin "$creds" >"$ct/etc/systemd/system/speaker-agent.service.d/verify-pi-emulation.conf"
    cp "$ct/etc/systemd/system/speaker-agent.service.d/verify-pi-emulation.conf" "$CACHE/results/$target-emulation-dropin.conf"
    record "$target" "emulation drop-in" info - "applied:$([ "$creds" = 1 ] && echo ' LoadCredential= (copied to /run instead)')$SANDBOX_OFF_NOTE"
  else
    record "$target" "emulation drop-in" info - "not needed"
  fi

  local port=$((20000 + RANDOM % 20000))
  local install_cmd="cd ~/speaker-agent && sudo scripts/install.sh --hardware usb --gateway-url ws://127.0.0.1:$port/ --token-file ~/gateway-token.txt"
  t=$(date +%s%N)
  if as_pi "$install_cmd" >"$CACHE/results/$target-install.log" 2>&1; then
    record "$target" "install" ok "$(since "$t")" "$(grep -c '^==>' "$CACHE/results/$target-install.log") steps; $(grep -m1 -o 'Node.js [0-9.]* is new enough\|Installing Node.js [^ ]* from the Debian archive' "$CACHE/results/$target-install.log" || true)"
  else
    local why=""
    if [ -e "$ct/etc/systemd/system/speaker-agent.service" ]; then why=" | service: $(service_failure "$target" install)"; fi
    record "$target" "install" FAIL "$(since "$t")" "$(grep -v '^\s*$' "$CACHE/results/$target-install.log" | tail -3 | tr '\n' ' ' | cut -c1-200)$why"
    stop_container
    return
  fi
  check_service "$target" "$port" "first install"

  # Reinstall as a user upgrading would: same command, config and secrets kept.
  local cfg_before; cfg_before=$(sha256sum "$ct/etc/speaker-agent/config.yaml" | cut -c1-16)
  t=$(date +%s%N)
  if as_pi "$install_cmd" >"$CACHE/results/$target-reinstall.log" 2>&1; then
    local cfg_after; cfg_after=$(sha256sum "$ct/etc/speaker-agent/config.yaml" | cut -c1-16)
    if [ "$cfg_before" = "$cfg_after" ] && grep -q 'Keeping /etc/speaker-agent/config.yaml' "$CACHE/results/$target-reinstall.log"; then
      record "$target" "reinstall" ok "$(since "$t")" "config kept byte for byte"
    else
      record "$target" "reinstall" FAIL "$(since "$t")" "config changed ($cfg_before -> $cfg_after)"
    fi
  else
    record "$target" "reinstall" FAIL "$(since "$t")" "$(tail -3 "$CACHE/results/$target-reinstall.log" | tr '\n' ' ' | cut -c1-200) | service: $(service_failure "$target" reinstall)"
  fi
  check_service "$target" "$port" "after reinstall"
  check_backends "$target" "$arch"

  # Uninstall: nothing of the agent left, the group and the drop-ins included.
  t=$(date +%s%N)
  if as_pi "cd ~/speaker-agent && sudo scripts/install.sh --uninstall" >"$CACHE/results/$target-uninstall.log" 2>&1; then
    local left=""
    for p in /etc/systemd/system/speaker-agent.service /etc/systemd/system/speaker-agent.service.d /opt/speaker-agent /etc/speaker-agent /var/lib/speaker-agent /usr/local/bin/speaker-agent; do
      [ -e "$ct$p" ] && left="$left $p"
    done
    in_ct getent passwd speaker-agent >/dev/null && left="$left user:speaker-agent"
    in_ct getent group speaker-agent >/dev/null && left="$left group:speaker-agent"
    if [ -z "$left" ]; then
      record "$target" "uninstall" ok "$(since "$t")" "unit, drop-ins, /opt, /etc, /var/lib, user and group gone; $(grep -o 'its members [a-z, ]* lose it' "$CACHE/results/$target-uninstall.log" || echo 'no members')"
    else
      record "$target" "uninstall" FAIL "$(since "$t")" "left:$left"
    fi
  else
    record "$target" "uninstall" FAIL "$(since "$t")" "$(tail -3 "$CACHE/results/$target-uninstall.log" | tr '\n' ' ')"
  fi
  in_ct systemctl stop verify-pi-gateway >/dev/null 2>&1 || true
  stop_container
  if [ "$KEEP" = 0 ]; then rm -rf "$ct"; fi
  rm -rf "$io"
}

# The service after an install: READY, status without flags, a turn through ALSA, doctor, stop.
check_service() {
  local target=$1 port=$2 when=$3 ct="$CACHE/run/$1" log="$CACHE/results/$1.log" t out
  # The bundled gateway, as pi, checking the token; (re)started from the version just installed.
  in_ct systemctl stop verify-pi-gateway >/dev/null 2>&1 || true
  in_ct systemctl reset-failed verify-pi-gateway >/dev/null 2>&1 || true
  t=$(date +%s%N)
  in_ct systemd-run --unit=verify-pi-gateway --uid=pi --gid=pi --quiet \
    /usr/local/bin/speaker-agent gateway --port "$port" --token-file /home/pi/gateway-token.txt --follow-up never --log-format json >>"$log" 2>&1 || true
  local i up=""
  for i in $(seq 1 90); do
    if in_ct bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then up=1; break; fi
    sleep 1
  done
  record "$target" "bundled gateway ($when)" "$([ -n "$up" ] && echo ok || echo FAIL)" "$(since "$t")" "port $port"
  t=$(date +%s%N)
  if in_ct systemctl restart speaker-agent >>"$log" 2>&1; then
    local ready; ready=$(since "$t")
    local connected=""
    for i in $(seq 1 90); do
      out=$(in_ct systemctl show speaker-agent -p StatusText --value)
      case "$out" in *"gateway connected"*) connected=1; break ;; esac
      sleep 1
    done
    local show; show=$(in_ct systemctl show speaker-agent -p ActiveState -p SubState -p NRestarts | tr '\n' ' ')
    if [ -n "$connected" ]; then
      record "$target" "READY ($when)" ok "$ready" "$show; Status: $out"
    else
      record "$target" "READY ($when)" FAIL "$ready" "$show; Status: $out | service: $(service_failure "$target" "READY ($when)")"
    fi
  else
    record "$target" "READY ($when)" FAIL "$(since "$t")" "$(service_failure "$target" "READY ($when)")"
    return
  fi
  local cmdlines; cmdlines=$(in_ct systemctl status speaker-agent --no-pager -l 2>/dev/null | sed -n '/CGroup:/,/^$/p' | sed '1d;/^$/d' | sed 's/^[^0-9]*//' | head -5)
  local longest; longest=$(printf '%s\n' "$cmdlines" | awk '{ if (length > m) m = length } END { print m + 0 }')
  if [ "$longest" -lt 200 ] && printf '%s' "$cmdlines" | grep -q arecord; then
    record "$target" "systemctl status lines" ok - "longest $longest chars: $(printf '%s' "$cmdlines" | awk '{print $2}' | xargs -n1 basename | tr '\n' ' ')"
  else
    record "$target" "systemctl status lines" FAIL - "longest $longest chars: $(printf '%s' "$cmdlines" | tr '\n' '|' | cut -c1-300)"
  fi

  # status without flags: first outside the group (the fix is named), then as the installer advises.
  out=$(as_pi 'speaker-agent status' 2>&1 || true)
  if [ "$when" = "first install" ]; then
    if printf '%s' "$out" | grep -q 'permission denied (join the service group'; then
      record "$target" "status, not in group" ok - "$(printf '%s' "$out" | head -1 | cut -c1-160)"
    else
      record "$target" "status, not in group" FAIL - "$(printf '%s' "$out" | head -2 | tr '\n' ' ' | cut -c1-200)"
    fi
    in_ct usermod -aG speaker-agent pi
  fi
  t=$(date +%s%N)
  out=$(as_pi 'speaker-agent status' 2>&1) && rc=0 || rc=$?
  if [ "$rc" = 0 ] && printf '%s' "$out" | grep -q 'connected'; then
    record "$target" "status without flags ($when)" ok "$(since "$t")" "$(printf '%s' "$out" | sed -n 2p | sed 's/  */ /g')"
  else
    record "$target" "status without flags ($when)" FAIL "$(since "$t")" "$(printf '%s' "$out" | head -2 | tr '\n' ' ')"
  fi

  # A complete turn: the ALSA microphone hears the host's utterance, the reply plays on the ALSA
  # speaker. listen --timeline prints the turn as it happens; the question is spoken when the
  # turn has started (the CLI's own start takes seconds under qemu-user).
  rm -f "$ct/var/lib/speaker-agent/verify-played.raw"
  t=$(date +%s%N)
  as_pi 'speaker-agent listen --timeline --timeout 120' >"$CACHE/results/$target-turn.txt" 2>&1 &
  speak_when $! 'trigger' "$CACHE/results/$target-turn.txt" && rc=0 || rc=$?
  local turn; turn=$(cat "$CACHE/results/$target-turn.txt")
  local played=0
  [ -f "$ct/var/lib/speaker-agent/verify-played.raw" ] && played=$(stat -c %s "$ct/var/lib/speaker-agent/verify-played.raw")
  # The agent's journal, read once (journalctl takes seconds under emulation).
  local journal; journal=$(in_ct journalctl -u speaker-agent -o cat --no-pager 2>/dev/null || true)
  local backend; backend=$(printf '%s\n' "$journal" | grep -o '"event":"capturing"[^}]*"backend":"[a-z]*"' | tail -1 | grep -o '"backend":"[a-z]*"' || true)
  # arecord's audio comes through a FIFO (pcm-pipe.ts) unless the service could not make one.
  local fallbacks; fallbacks=$(printf '%s\n' "$journal" | grep -c '"event":"pcm-pipe-unavailable"' || true)
  [ "${fallbacks:-0}" = 0 ] && backend="$backend; pcm pipe: fifo" || backend="$backend; pcm pipe: stdout ($fallbacks fallbacks)"
  if [ "$rc" = 0 ] && printf '%s' "$turn" | grep -q 'transcript:' && printf '%s' "$turn" | grep -q 'playback drained' && ! printf '%s' "$turn" | grep -q ERROR && [ "$played" -gt 0 ]; then
    record "$target" "turn, ALSA mic+speaker ($when)" ok "$(since "$t")" "$(printf '%s' "$turn" | grep -o 'transcript: .*' | cut -c1-90); drained at $(printf '%s' "$turn" | grep 'playback drained' | awk '{print $1}'); $played bytes played; $backend"
  else
    record "$target" "turn, ALSA mic+speaker ($when)" FAIL "$(since "$t")" "rc $rc; played $played bytes; $(printf '%s' "$turn" | tail -4 | tr '\n' ' ' | cut -c1-250)"
    # What the agent logged during the turn, and the machine's load (emulation under load starves it).
    { printf 'load average: %s\n\n' "$(cat /proc/loadavg)"; in_ct journalctl -u speaker-agent -n 80 --no-pager -o short-monotonic 2>&1; } >"$CACHE/results/$target-turn-journal-$when.txt" 2>&1 || true
  fi

  # doctor, as root (it reads the token) and as pi (now in the group).
  t=$(date +%s%N)
  out=$(in_ct speaker-agent doctor --json 2>>"$log" || true)
  local fails; fails=$(printf '%s' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const r=JSON.parse(s);console.log(r.filter(x=>x.status==="fail").map(x=>x.id+": "+x.detail).join(" | "))}catch{console.log("unparsable doctor output")}})' 2>/dev/null || printf 'no node on the host?')
  # No sound card in a container: the audio check's "no sound card" is expected and says so.
  local unexpected; unexpected=$(printf '%s' "$fails" | tr '|' '\n' | grep -v '^ *audio: no ALSA sound support\|^ *audio: no sound card found\|^ *$' || true)
  if [ -z "$unexpected" ]; then
    record "$target" "doctor ($when)" ok "$(since "$t")" "failing only: ${fails:-nothing} (expected: no card in a container)"
  else
    record "$target" "doctor ($when)" FAIL "$(since "$t")" "$(printf '%s' "$unexpected" | tr '\n' ' ' | cut -c1-300)"
  fi
  out=$(as_pi 'speaker-agent doctor --offline' 2>&1 || true)
  if printf '%s' "$out" | grep -q '^ok    config .*valid (/etc/speaker-agent/config.yaml)'; then
    record "$target" "doctor as pi ($when)" ok - "reads the installed config"
  else
    record "$target" "doctor as pi ($when)" FAIL - "$(printf '%s' "$out" | grep config | head -1)"
  fi

  # No addon points at the staging directory (RUNPATH) after the swap.
  local stale; stale=$(grep -rlaF --include='*.node' /opt/speaker-agent.new "$ct/opt/speaker-agent/node_modules" 2>/dev/null | sed "s|$ct||" | tr '\n' ' ')
  local built; built=$(cd "$ct/opt/speaker-agent/node_modules" && for m in naudiodon speaker rpio spi-device i2c-bus koffi; do if [ -d "$m" ]; then printf '%s ' "$m"; fi; done)
  if [ -z "$stale" ]; then
    record "$target" "addons ($when)" ok - "installed: $built; none with a staging RUNPATH"
  else
    record "$target" "addons ($when)" FAIL - "staging RUNPATH in: $stale"
  fi

  t=$(date +%s%N)
  in_ct systemctl stop speaker-agent
  local stopped; stopped=$(since "$t")
  local res; res=$(in_ct systemctl show speaker-agent -p Result -p ExecMainStatus | tr '\n' ' ')
  local orphans; orphans=$(in_ct pgrep -u speaker-agent -l 2>/dev/null | tr '\n' ' ' || true)
  if printf '%s' "$res" | grep -q 'Result=success' && [ -z "$orphans" ] && [ ! -e "$ct/run/speaker-agent" ]; then
    record "$target" "stop ($when)" ok "$stopped" "$res; no process left"
  else
    record "$target" "stop ($when)" FAIL "$stopped" "$res; left: ${orphans:-none} | service: $(service_failure "$target" "stop ($when)")"
  fi
}

# Each ALSA backend loads, captures and plays here (the service is stopped: the FIFO has one
# reader). The question is spoken once test-audio says "speak now" (Node.js takes seconds to
# start under qemu-user: spoken before, it would be over when the recording starts), and the
# recording must hold it: a silent one fails.
check_backends() {
  local target=$1 arch=$2 b out t peak file="$CACHE/run/$1-io/test-audio.txt"
  for b in arecord koffi naudiodon; do
    printf 'audio:\n  alsaBackend: %s\n  mic: "alsa:default"\n  speaker: "alsa:default"\n' "$b" >"$CACHE/run/$target/root/verify-$b.yaml"
    t=$(date +%s%N)
    in_ct timeout 120 speaker-agent test-audio --config "/root/verify-$b.yaml" --seconds 2 >"$file" 2>&1 &
    speak_when $! 'speak now' "$file" && rc=0 || rc=$?
    out=$(cat "$file")
    peak=$(printf '%s' "$out" | sed -n 's/^Peak \(-\{0,1\}[0-9.]*\) dBFS.*/\1/p' | head -1)
    if [ "$rc" = 0 ] && [ -n "$peak" ] && awk -v p="$peak" 'BEGIN { exit !(p > -40) }' && printf '%s' "$out" | grep -q 'Playing it back'; then
      record "$target" "backend $b: record+play" ok "$(since "$t")" "$(printf '%s' "$out" | grep '^Peak' | cut -c1-80)"
    elif [ "$rc" = 0 ] && [ -n "$peak" ]; then
      record "$target" "backend $b: record+play" FAIL "$(since "$t")" "the recording missed the question: $(printf '%s' "$out" | grep '^Peak' | cut -c1-80)"
    else
      record "$target" "backend $b: record+play" "$([ "$b" = naudiodon ] && echo info || echo FAIL)" "$(since "$t")" "$(printf '%s' "$out" | grep -v '^$' | tail -2 | tr '\n' ' ' | cut -c1-250)"
    fi
  done
}

run_all() {
  local target
  # Each check looks at its own outcome and records it: one failure must not end the run.
  set +e
  trap 'stop_container; restore_binfmt' EXIT
  for target in "${TARGETS[@]}"; do
    run_target "$target"
  done
  say "Summary"
  for target in "${TARGETS[@]}"; do cat "$CACHE/results/$target.summary"; done
  if [ "$FAILED" -gt 0 ]; then
    say "$FAILED check(s) failed"
    exit 1
  fi
  say "All checks passed ($(stamp))"
}
