/**
 * The openWakeWord bench's detection audio and this engine's score of every 80 ms step, for a
 * comparison with openWakeWord's own Python code (bench/wake-oww-reference.py):
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/wake-oww-scores.js /tmp/oww-stream.raw /tmp/oww-scores.json
 * The raw file is 16 kHz mono PCM16; the JSON holds [end sample, score] pairs.
 */
import { writeFileSync } from 'node:fs';
import { WakeSchema } from '../src/config/schema.js';
import { OpenWakeWord } from '../src/drivers/openwakeword/wake.js';
import { silentLogger } from '../src/log/logger.js';
import { atLevel, mix, roomNoise, sequence } from './fixtures/tts.js';
import { NOISE_DB, RATES, speak, TALKER_DB, VOICES } from './fixtures/wake-speech.js';

const [rawFile = '/tmp/oww-stream.raw', scoresFile = '/tmp/oww-scores.json'] = process.argv.slice(2);
const parts: Int16Array[] = [];
let seed = 1;
for (const v of VOICES) {
  for (const rate of RATES) {
    const keyword = atLevel(speak('hey jarvis', { ...v, rate }), TALKER_DB);
    for (const db of NOISE_DB) {
      const clean = sequence(1000, keyword, 2000);
      parts.push(mix(clean, roomNoise(clean.length, db, seed++)));
    }
  }
}
const all = sequence(...parts);
const pcm = all.subarray(0, all.length - (all.length % 1280));
const scores: [number, number][] = [];
// openWakeWord's own 80 ms grid only: the reference has no half steps.
const wake = new OpenWakeWord({ config: WakeSchema.parse({ engine: 'openwakeword' }), log: silentLogger(), maxBacklogMs: Number.POSITIVE_INFINITY, halfStepArmScore: Number.POSITIVE_INFINITY, onScore: (s, end) => scores.push([end, s]) });
await wake.start();
for (let i = 0; i < pcm.length; i += 1280) wake.feed(pcm.subarray(i, i + 1280), i);
await wake.drain();
await wake.stop();
writeFileSync(rawFile, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
writeFileSync(scoresFile, JSON.stringify(scores));
process.stdout.write(`${(pcm.length / 16000).toFixed(0)} s of audio, ${scores.length} scores: ${rawFile}, ${scoresFile}\n`);
