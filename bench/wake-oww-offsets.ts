/**
 * Exploration (not part of `npm run bench`): a second look triggered by the end of speech
 * rather than by the model's score. The keywords only the second look hears (fast speech) score
 * nothing on the steps until 300-450 ms after the keyword's end, while their stretched copy
 * followed by the room's quiet scores near 1 from about its end (bench/wake-oww-probe.ts). So
 * on the same continuous stream as bench/wake-oww.ts (both keyword sets, then the 31 minutes
 * of other speech), an energy detector marks where speech ends (a quiet 40 ms half after at
 * least `MIN_SPEECH` halves of speech), and at that half and 1-3 steps later, while it stays
 * quiet, the last 2 s are stretched 1.15x and 1.2x and scored at the last real positions and
 * with 320 ms of the room's quiet after them. The copies' scores go to a file
 * (OFFSETS_RAW, default /tmp/oww-offsets-raw.json), from which each setting (stretches, steps
 * after the end, padded steps, threshold, length of the stretch of speech) was read against
 * the engine's own detections from bench/wake-oww-early-look.ts's raw file: the table in
 * docs/benchmarks.md. `npx tsc -p tsconfig.bench.json && node dist-bench/bench/wake-oww-offsets.js`
 */
import { writeFileSync } from 'node:fs';
import { SampleRing } from '../src/audio/ring-buffer.js';
import { CHUNK_SAMPLES, HALF_SAMPLES } from '../src/drivers/openwakeword/features.js';
import { CopyScorer } from '../src/drivers/openwakeword/copy-scorer.js';
import { resolveModelFiles } from '../src/drivers/openwakeword/models.js';
import { keywordInputFrames, loadOnnxRuntime } from '../src/drivers/openwakeword/runtime.js';
import { SpeechEnds } from '../src/drivers/openwakeword/speech-ends.js';
import { stretch } from '../src/drivers/openwakeword/stretch.js';
import { negativeBlocks } from './wake-oww.js';
import { RATE } from './fixtures/tts.js';
import { keywordRenditions } from './fixtures/wake-speech.js';

const FACTORS = [1.15, 1.2];
const LOOK_STEPS = [0, 1, 2, 3];
const WINDOW = 2 * RATE;

interface Cand {
  /** Audio index of the look; the offset it follows; steps after it. */
  end: number;
  offset: number;
  d: number;
  speechHalves: number;
  f: { real: number[]; padded: number[] }[];
}

const files = resolveModelFiles({ keyword: 'hey_jarvis' });
const rt = await loadOnnxRuntime();
const mel = await rt.load(files.mel);
const emb = await rt.load(files.embedding);
const kw = await rt.load(files.keyword);
const scorer = new CopyScorer(mel, emb, kw, keywordInputFrames(kw, files.keyword));
await scorer.init();
const ends = new SpeechEnds();
const ring = new SampleRing(WINDOW);
let at = 0;
let copies = 0;
/** Pending looks at the latest end of speech. */
let pending: { end: number; offset: number; d: number; speech: number }[] = [];

async function feed(pcm: Int16Array): Promise<Cand[]> {
  const usable = pcm.subarray(0, pcm.length - (pcm.length % HALF_SAMPLES));
  const out: Cand[] = [];
  for (let o = 0; o < usable.length; o += HALF_SAMPLES) {
    const half = usable.subarray(o, o + HALF_SAMPLES);
    at += HALF_SAMPLES;
    ring.push(half);
    const ev = ends.push(half);
    if (ev === 'speech') pending = [];
    if (ev === 'end') pending = LOOK_STEPS.map((d) => ({ end: at + d * CHUNK_SAMPLES, offset: at, d, speech: ends.lastSpeechHalves }));
    while (pending.length > 0 && pending[0]!.end === at) {
      const p = pending.shift()!;
      const w = ring.snapshot();
      const pads = ends.pads(4);
      const c: Cand = { end: p.end, offset: p.offset, d: p.d, speechHalves: p.speech, f: [] };
      for (const factor of FACTORS) {
        const r = await scorer.score(stretch(w, { factor }), pads, 3);
        c.f.push({ real: Array.from(r.real), padded: Array.from(r.padded) });
      }
      copies++;
      out.push(c);
    }
  }
  return out;
}

const sets: Record<string, { what: string; keywordEnd?: number; cands: Cand[] }[]> = { tuning: [], heldOut: [], negative: [] };
for (const name of ['tuning', 'heldOut'] as const) {
  for (const r of keywordRenditions(name)) {
    const from = at;
    const cands = await feed(r.pcm);
    sets[name]!.push({ what: r.name, keywordEnd: from + r.keywordEnd, cands });
  }
  process.stderr.write(`${name} done, ${copies} copies\n`);
}
for (const b of negativeBlocks()) sets.negative!.push({ what: b.what, cands: await feed(b.pcm) });
process.stderr.write(`false-accept set done, ${copies} copies\n`);
writeFileSync(process.env.OFFSETS_RAW ?? '/tmp/oww-offsets-raw.json', JSON.stringify(sets));
