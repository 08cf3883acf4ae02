/**
 * The audio an MLLR transform of the acoustic model is estimated on (scripts/mllr-adapt.sh,
 * issue 16): requests drawn from the grammar with their own seed, none of them among the
 * recognition bench's (./recognition.ts) or the calibration set's (./recognition-calibrate.ts),
 * said by the four tuned voices, at one noise level (pink noise, its own seeds) or in quiet, then
 * through the product's Wiener filter as a session runs it (a fresh filter per utterance, 20 ms
 * chunks, up to 300 ms after the last word, flushed at the end): the audio pocketsphinx decodes.
 * Writes `<dir>/wav/<id>.raw` (16 kHz 16-bit little-endian), `<dir>/adapt.fileids` and
 * `<dir>/adapt.transcription` (sphinxtrain's `<s> words </s> (id)`).
 * Run: `node dist-bench/bench/mllr-adapt-audio.js DIR SNR|quiet [N_REQUESTS]`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { builtinSkills, skillGrammars } from '../src/local-gateway/assistant.js';
import { WienerFilter } from '../src/speech/denoise.js';
import { Grammar } from '../src/speech/phrases.js';
import { padded, speechEnd, spoken, withNoise } from '../test/support/speech-fixtures.js';
import { calibrationRequests, VOICES } from './recognition-calibrate.js';
import { benchSentences, rng } from './recognition.js';

const RATE = 16000;
const CHUNK = 320;

function main(): void {
  const [dir, level, n] = process.argv.slice(2);
  if (!dir || !level) throw new Error('usage: mllr-adapt-audio DIR SNR|quiet [N_REQUESTS]');
  const snr = level === 'quiet' ? null : Number(level);
  const count = Number(n ?? 50);
  const g = new Grammar(skillGrammars(builtinSkills()).default!);
  const bench = benchSentences(false).requests;
  const calib = calibrationRequests(g, bench);
  const r = rng(1703);
  const requests = new Set<string>();
  while (requests.size < count) {
    const s = g.sample(r);
    if (!bench.includes(s) && !calib.has(s)) requests.add(s);
  }
  mkdirSync(path.join(dir, 'wav'), { recursive: true });
  const ids: string[] = [];
  const lines: string[] = [];
  let seed = 70001;
  let k = 0;
  for (const voice of VOICES) {
    for (const ref of requests) {
      const clean = padded(spoken(voice, ref), 500, 900);
      const pcm = snr === null ? clean : withNoise(clean, snr, seed++);
      const stop = Math.min(pcm.length, speechEnd(clean) + 0.3 * RATE);
      const filter = new WienerFilter();
      const parts: Int16Array[] = [];
      for (let i = 0; i < stop; i += CHUNK) parts.push(filter.process(pcm.subarray(i, Math.min(stop, i + CHUNK))));
      parts.push(filter.flush());
      const total = parts.reduce((a, p) => a + p.length, 0);
      const out = new Int16Array(total);
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      const id = `u${String(k++).padStart(3, '0')}`;
      writeFileSync(path.join(dir, 'wav', `${id}.raw`), Buffer.from(out.buffer, out.byteOffset, out.byteLength));
      ids.push(`wav/${id}`);
      lines.push(`<s> ${ref} </s> (${id})`);
    }
  }
  writeFileSync(path.join(dir, 'adapt.fileids'), ids.join('\n') + '\n');
  writeFileSync(path.join(dir, 'adapt.transcription'), lines.join('\n') + '\n');
  process.stdout.write(`${ids.length} utterances (${requests.size} requests x ${VOICES.length} voices), ${level}\n`);
}

main();
