#!/usr/bin/env bash
# The agent on simulated hardware against the bundled local gateway, fully offline: a simulated
# user speaks three requests (and answers the gateway's question), the gateway recognises the
# words with pocketsphinx, its skills answer, and the replies are spoken with flite. Each turn is
# printed as a timeline, then its transcript and reply; unsolicited replies (a light reporting
# back, a timer going off) are shown too. All reply audio is left in one WAV you can play.
#   scripts/demo.sh            (output in ./demo-output)
#   DEMO_DIR=/tmp/x scripts/demo.sh
#   DEMO_REPLY_FORMAT=mp3 scripts/demo.sh   (the gateway answers in MP3)
#   DEMO_GATEWAY_CONFIG=agent.yaml scripts/demo.sh   (speech services or other local voices for the
#                                  gateway, from the file's `pipeline` section; docs/backends.md)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

OUT="${DEMO_DIR:-$ROOT/demo-output}"
mkdir -p "$OUT"
rm -f "$OUT"/user-*.wav "$OUT/reply.wav" "$OUT/events.jsonl"
CLI="node $ROOT/dist/src/cli.js"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# The simulated user's requests, one file per time the agent listens. The user speaks with other
# voices than the gateway's reply voice (flite slt), so the two are easy to tell apart.
REQUESTS=(
  "awb|what time is it"
  "rms|turn on the kitchen light"
  "awb|set a timer"
  "rms|five seconds"
)
say "Making the user's spoken requests ($OUT/user-*.wav)"
MIC=()
n=0
for r in "${REQUESTS[@]}"; do
  n=$((n + 1))
  voice="${r%%|*}"
  words="${r#*|}"
  wav="$OUT/user-$n.wav"
  if command -v flite >/dev/null 2>&1; then
    flite -voice "$voice" -t "$words" -o "$wav.tmp.wav"
  elif command -v espeak-ng >/dev/null 2>&1; then
    espeak-ng -v en-us -s 150 -w "$wav.tmp.wav" "$words"
  else
    echo "neither flite nor espeak-ng is installed: cannot make the spoken requests" >&2
    exit 1
  fi
  # 16 kHz mono, with a short pause before the words (the user starts after the listening cue).
  sox "$wav.tmp.wav" -r 16000 -c 1 -b 16 -e signed "$wav" pad 0.3 0
  rm -f "$wav.tmp.wav"
  echo "    user-$n.wav: \"$words\" (voice $voice)" >&2
  MIC+=("$wav")
done

say "Starting the local gateway (offline recognition and voice)"
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
node -e '
const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n").find((x) => x.includes("\"event\":\"listening\""));
const o = l ? JSON.parse(l) : {};
console.log(`    gateway at ${o.url}: recognition ${o.stt === "off" ? o.recognition : o.stt}, voice ${o.tts}${o.voice ? " " + o.voice : ""}, skills ${(o.skills || []).join(", ")}`);
' "$OUT/gateway.log" >&2

MIC_SPEC=$(IFS=,; echo "${MIC[*]}")
cat >"$OUT/agent.yaml" <<YAML
# Simulated hardware: WAV files are the microphone (the user says the next one each time the
# agent listens), another WAV file is the speaker.
gateway:
  url: $URL
audio:
  mic: wav:$MIC_SPEC
  micCue: listen
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
$CLI events --control "$OUT/control.sock" >"$OUT/events.jsonl" 2>/dev/null &
PIDS+=($!)
sleep 0.2

# Prints what happened since event line $1: transcripts, replies, response payloads, and
# replies that arrived with no turn (unsolicited), with whether they were played.
report() {
  node - "$OUT/events.jsonl" "$1" <<'JS'
const fs = require('fs');
const [file, from] = process.argv.slice(2);
const events = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).slice(Number(from));
const turns = new Set();
const played = new Set();
for (const e of events) {
  if (e.event === 'transcript' && e.final) turns.add(e.turnId);
  if (e.event === 'state' && e.phase === 'speaking') played.add(e.turnId);
}
for (const e of events) {
  if (e.event === 'transcript' && e.final) {
    console.log(`transcript: ${e.text}`);
    if (e.confidence !== undefined) console.log(`    (confidence ${e.confidence})`);
  } else if (e.event === 'reply_text') {
    if (turns.has(e.turnId)) console.log(`reply: ${e.text}`);
    else console.log(`unsolicited reply: ${e.text} (${played.has(e.turnId) ? 'played' : 'NOT played'})`);
  } else if (e.event === 'response') console.log(`response: ${JSON.stringify(e.data)}`);
}
JS
}
lines() { wc -l <"$OUT/events.jsonl" | tr -d ' '; }

# One turn: trigger it, print its timeline, wait $1 seconds for unsolicited replies, report.
turn() {
  local wait_after="$1" title="$2" from
  from=$(lines)
  say "$title"
  $CLI listen --timeline --timeout 90 --control "$OUT/control.sock"
  if [ "$wait_after" != 0 ]; then
    echo "    (waiting ${wait_after} s for what the gateway says later)" >&2
    sleep "$wait_after"
  fi
  report "$from"
}

turn 0 "Turn 1: the user asks the time (as if the wake word was heard)"
turn 4 "Turn 2: the user turns a light on; the light reports back later"
turn 8 "Turn 3: the user sets a timer; the gateway asks how long, the answer needs no wake word"

say "Stopping the agent (SIGTERM)"
kill -TERM "$AGENT"
wait "$AGENT" || true
node -e '
const fs = require("fs");
const b = fs.readFileSync(process.argv[1]);
const rate = b.readUInt32LE(24), bytes = b.readUInt32LE(40);
console.log(`    reply audio: ${process.argv[1]} (${(bytes / 2 / rate).toFixed(2)} s, ${rate} Hz mono WAV: every reply, in order)`);
' "$OUT/reply.wav" >&2
echo "    logs: $OUT/agent.log, $OUT/gateway.log, $OUT/events.jsonl" >&2
echo "    play it: aplay $OUT/reply.wav" >&2
