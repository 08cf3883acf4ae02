#!/usr/bin/env bash
# The agent on simulated hardware against the bundled local gateway: one complete spoken turn
# and its follow-up, printed as a timeline. The reply audio is left in a WAV you can play.
#   scripts/demo.sh            (output in ./demo-output)
#   DEMO_DIR=/tmp/x scripts/demo.sh
#   DEMO_REPLY_FORMAT=mp3 scripts/demo.sh   (the gateway answers in MP3)
#   DEMO_GATEWAY_CONFIG=agent.yaml scripts/demo.sh   (real speech-to-text/text-to-speech in the
#                                  local gateway, from the file's `pipeline` keys; docs/backends.md)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

OUT="${DEMO_DIR:-$ROOT/demo-output}"
mkdir -p "$OUT"
CLI="node $ROOT/dist/src/cli.js"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

say "Making the user's spoken question ($OUT/user.wav)"
if command -v espeak-ng >/dev/null 2>&1; then
  espeak-ng -v en-us -s 160 -w "$OUT/user.wav" "Hey, what's the weather like tomorrow in Lisbon?"
else
  echo "espeak-ng is not installed: cannot make a spoken WAV" >&2
  exit 1
fi

say "Starting the local gateway"
GW_ARGS=(--port 0 --reply-format "${DEMO_REPLY_FORMAT:-pcm}" --log-format json)
[ -n "${DEMO_GATEWAY_CONFIG:-}" ] && GW_ARGS+=(--config "$DEMO_GATEWAY_CONFIG")
$CLI gateway "${GW_ARGS[@]}" >"$OUT/gateway.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  URL=$(grep -o 'GATEWAY_URL=ws://[^ ]*' "$OUT/gateway.log" 2>/dev/null | head -1 | cut -d= -f2 || true)
  [ -n "${URL:-}" ] && break
  sleep 0.1
done
[ -n "${URL:-}" ] || { echo "the gateway did not start; see $OUT/gateway.log" >&2; cat "$OUT/gateway.log" >&2; exit 1; }
echo "    gateway at $URL" >&2

cat >"$OUT/agent.yaml" <<YAML
# Simulated hardware: a WAV file is the microphone, another WAV file is the speaker.
gateway:
  url: $URL
audio:
  mic: wav:$OUT/user.wav
  micCue: listen          # the simulated user speaks each time the agent listens
  speaker: wav:$OUT/reply.wav
wake:
  engine: none
gpio:
  driver: none
control:
  socket: $OUT/control.sock
log:
  format: json
YAML

say "Starting the agent (config $OUT/agent.yaml)"
$CLI config check "$OUT/agent.yaml" >&2
$CLI run --config "$OUT/agent.yaml" >"$OUT/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)
for _ in $(seq 1 100); do
  $CLI status --control "$OUT/control.sock" --json 2>/dev/null | grep -q '"connected":true' && break
  sleep 0.1
done

say "Triggering a turn (as if the wake word was heard)"
$CLI listen --timeline --timeout 90 --control "$OUT/control.sock"

say "Stopping the agent (SIGTERM)"
kill -TERM "$AGENT"
wait "$AGENT" || true
node -e '
const fs = require("fs");
const b = fs.readFileSync(process.argv[1]);
const rate = b.readUInt32LE(24), bytes = b.readUInt32LE(40);
console.log(`    reply audio: ${process.argv[1]} (${(bytes / 2 / rate).toFixed(2)} s, ${rate} Hz mono WAV)`);
' "$OUT/reply.wav" >&2
echo "    logs: $OUT/agent.log, $OUT/gateway.log" >&2
echo "    play it: aplay $OUT/reply.wav" >&2
