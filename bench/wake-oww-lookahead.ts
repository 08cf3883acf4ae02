/**
 * Exploration of the look-ahead (src/drivers/openwakeword/look-ahead.ts; not part of
 * `npm run bench`): the engine as it ships (half steps, second look) runs over both keyword sets
 * and the 31-minute false-accept stream with the look-ahead watching only (threshold Infinity,
 * 320 ms of padding, a low gate), so that every padded score of every step that reached the gate
 * is known. Then, for each padding length P, padded threshold and gate: where the engine would
 * have fired (the earlier of its own detection and the first step whose padded copy reaches the
 * threshold within P), detection, latency from the keyword's end (audio time at the real step),
 * false accepts, the highest padded score of other speech, and the share of steps that run the copy.
 * `npx tsc -p tsconfig.bench.json && node dist-bench/bench/wake-oww-lookahead.js [room|zeros|noise ...]`
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { WakeSchema } from '../src/config/schema.js';
import { CHUNK_SAMPLES, StreamingFeatures } from '../src/drivers/openwakeword/features.js';
import { LookAhead, type LookAheadPad } from '../src/drivers/openwakeword/look-ahead.js';
import { resolveModelFiles } from '../src/drivers/openwakeword/models.js';
import { keywordInputFrames, loadOnnxRuntime, releaseAll } from '../src/drivers/openwakeword/runtime.js';
import { stretch } from '../src/drivers/openwakeword/stretch.js';
import { OpenWakeWord } from '../src/drivers/openwakeword/wake.js';
import { silentLogger } from '../src/log/logger.js';
import { percentile } from './stats.js';
import { negativeBlocks } from './wake-oww.js';
import { mix, RATE, roomNoise } from './fixtures/tts.js';
import { keywordRenditions } from './fixtures/wake-speech.js';

const PAD_CHUNKS = 4;
/** The lowest gate watched; higher gates are read off the same run. */
const WATCH_GATE = 0.02;
const GATES = [0.02, 0.05, 0.1, 0.2];
const THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.9];
/** The second look, emulated: steps of 80 ms from the first score of 0.2 to the look. */
const LOOK_DELAYS = [0, 1, 2, 3];
const LOOK_LOW = 0.2;
const LOOK_FACTORS = [1.15, 1.2];
/**
 * Compute of one second look (both copies, 2 s each), added to the latency of the detections it
 * makes: the lead's quiet run measured 110 ms (docs/benchmarks.md); padding adds 4 of ~29 steps.
 */
const SECOND_LOOK_COMPUTE_MS = 125;

/** One emulated second look: where it ran, the best score of the copies' real steps, and the best with 80..320 ms of padding. */
interface PaddedLook {
  delay: number;
  end: number;
  real: number;
  padded: number[];
}

interface Look {
  end: number;
  /** The real step's score. */
  step: number;
  /** The padded steps' scores, 80 ms each. */
  padded: number[];
}

interface Watched {
  what: string;
  from: number;
  to: number;
  /** The keyword's acoustic end (renditions only). */
  keywordEnd?: number;
  /** The engine's own first detection (steps and half steps; its second look is off). */
  hit?: number;
  looks: Look[];
  /** The emulated second looks (the first score of 0.2 in the block, when no step detected before). */
  secondLooks: PaddedLook[];
}

/** The quietest 80 ms (in 40 ms steps) of `audio`, and its reverse: the room's padding. */
function roomPad(audio: Int16Array): [Int16Array, Int16Array] {
  let best = 0;
  let bestE = Infinity;
  for (let o = 0; o + CHUNK_SAMPLES <= audio.length; o += 640) {
    let e = 0;
    for (let i = o; i < o + CHUNK_SAMPLES; i++) e += audio[i]! * audio[i]!;
    if (e < bestE) {
      bestE = e;
      best = o;
    }
  }
  const pad = audio.slice(best, best + CHUNK_SAMPLES);
  return [pad, pad.slice().reverse()];
}

/** Scores stretched copies from a fresh front end, in chunks aligned to the copy's end, then PAD_CHUNKS of padding. */
async function copyScorer() {
  const files = resolveModelFiles({ keyword: 'hey_jarvis' });
  const rt = await loadOnnxRuntime();
  const mel = await rt.load(files.mel);
  const emb = await rt.load(files.embedding);
  const kw = await rt.load(files.keyword);
  const frames = keywordInputFrames(kw, files.keyword);
  const f = new StreamingFeatures(mel, emb, frames);
  await f.init();
  const chunk = new Int16Array(CHUNK_SAMPLES);
  const score = async () => (await kw.run(f.embeddings, [1, frames, 96]))[0]!;
  return async (window: Int16Array): Promise<{ real: number; padded: number[] }> => {
    const [pad, rev] = roomPad(window);
    let real = 0;
    const padded = new Array<number>(PAD_CHUNKS).fill(0);
    for (const factor of LOOK_FACTORS) {
      const copy = stretch(window, { factor });
      f.reset();
      for (let o = copy.length % CHUNK_SAMPLES; o + CHUNK_SAMPLES <= copy.length; o += CHUNK_SAMPLES) {
        for (let i = 0; i < CHUNK_SAMPLES; i++) chunk[i] = Math.max(-32768, Math.min(32767, Math.round(copy[o + i]!)));
        await f.push(chunk);
        real = Math.max(real, await score());
      }
      let best = 0;
      for (let k = 0; k < PAD_CHUNKS; k++) {
        await f.push(k % 2 === 0 ? pad : rev);
        best = Math.max(best, await score());
        padded[k] = Math.max(padded[k]!, best);
      }
    }
    return { real, padded };
  };
}

async function watch(pad: LookAheadPad) {
  const scoreCopy = await copyScorer();
  const steps80: { score: number; end: number }[] = [];
  // Recent blocks (at least 3 s), for the second look's window.
  const recent: { from: number; pcm: Int16Array }[] = [];
  const scoreAt = new Map<number, number>();
  const looks: Look[] = [];
  const hits: number[] = [];
  const wake = new OpenWakeWord({
    config: WakeSchema.parse({ engine: 'openwakeword', keyword: 'hey_jarvis' }),
    secondLook: { lowScore: Number.POSITIVE_INFINITY },
    lookAhead: { padMs: PAD_CHUNKS * 80, gate: WATCH_GATE, threshold: Number.POSITIVE_INFINITY, pad },
    log: silentLogger(),
    maxBacklogMs: Number.POSITIVE_INFINITY,
    onScore: (score, end) => {
      scoreAt.set(end, score);
      steps80.push({ score, end });
    },
    onLookAhead: (scores, end) => looks.push({ end, step: scoreAt.get(end) ?? 0, padded: Array.from(scores) }),
  });
  wake.on('detected', (d) => hits.push(d.sampleIndex));
  await wake.start();
  if (!wake.status().available) throw new Error(`openWakeWord unavailable: ${wake.status().reason}`);
  let at = 0;
  let steps = 0;
  const feed = async (pcm: Int16Array, what: string, keywordOffset?: number): Promise<Watched> => {
    const from = at;
    const l0 = looks.length;
    const h0 = hits.length;
    const s0 = steps80.length;
    for (let i = 0; i + 320 <= pcm.length; i += 320) {
      wake.feed(pcm.subarray(i, i + 320), at);
      at += 320;
    }
    await wake.drain();
    scoreAt.clear();
    recent.push({ from, pcm });
    while (recent.length > 1 && at - recent[1]!.from >= 3 * RATE) recent.shift();
    steps = Math.floor(at / CHUNK_SAMPLES);
    const w: Watched = { what, from, to: at, looks: looks.slice(l0), secondLooks: [] };
    if (keywordOffset !== undefined) w.keywordEnd = from + keywordOffset;
    const hit = hits.slice(h0).find((h) => h > from && h <= at);
    if (hit !== undefined) w.hit = hit;
    w.secondLooks = [];
    const entry = steps80.slice(s0).find((x) => x.score >= LOOK_LOW);
    steps80.length = 0;
    if (entry) {
      const joined = new Int16Array(at - recent[0]!.from);
      for (const r of recent) joined.set(r.pcm.subarray(0, Math.min(r.pcm.length, at - r.from)), r.from - recent[0]!.from);
      for (const delay of LOOK_DELAYS) {
        const end = Math.min(at, entry.end + delay * CHUNK_SAMPLES);
        if (hit !== undefined && hit <= end) break;
        const rel = end - recent[0]!.from;
        const r = await scoreCopy(joined.subarray(Math.max(0, rel - 2 * RATE), rel));
        w.secondLooks.push({ delay, end, ...r });
      }
    }
    return w;
  };
  const sets: Record<string, Watched[]> = { tuning: [], heldOut: [] };
  for (const name of ['tuning', 'heldOut'] as const) {
    for (const r of keywordRenditions(name)) sets[name]!.push(await feed(r.pcm, r.name, r.keywordEnd));
    process.stderr.write(`${pad}: ${name} done\n`);
  }
  const fa0 = Math.floor(at / CHUNK_SAMPLES);
  const negative: Watched[] = [];
  for (const b of negativeBlocks()) negative.push(await feed(b.pcm, b.what));
  await wake.stop();
  process.stderr.write(`${pad}: false-accept set done\n`);
  return { sets, negative, negativeSteps: steps - fa0, negativeMinutes: (negative.at(-1)!.to - negative[0]!.from) / RATE / 60 };
}

/** The first step at which the padded copy, gated and within `chunks` padded steps, reaches `th`. */
function firstPadded(looks: Look[], gate: number, chunks: number, th: number): Look | undefined {
  return looks.find((l) => l.step >= gate && Math.max(...l.padded.slice(0, chunks)) >= th);
}

/** A setting of both: the look-ahead on the steps (chunks 0: off) and the second look (delay, padding). */
interface Setting {
  gate: number;
  chunks: number;
  threshold: number;
  /** Steps from the first score of 0.2 to each second look, in order (a later one runs when the earlier did not fire). */
  lookDelays: number[];
  lookChunks: number;
}

/** Where the engine would fire in this block with `s` (audio index), and by what. */
function fire(w: Watched, s: Setting, lookComputeSamples: number): { at: number; by: string } | undefined {
  const p = s.chunks > 0 ? firstPadded(w.looks, s.gate, s.chunks, s.threshold) : undefined;
  let at = Math.min(w.hit ?? Infinity, p?.end ?? Infinity);
  let by = p && p.end < (w.hit ?? Infinity) ? 'look-ahead' : 'step';
  // Each second look runs when nothing fired before it is due.
  for (const delay of s.lookDelays) {
    const look = w.secondLooks.find((l) => l.delay === delay);
    if (!look || look.end >= at) break;
    const score = s.lookChunks > 0 ? Math.max(look.real, look.padded[s.lookChunks - 1]!) : look.real;
    if (score >= 0.5 && look.end + lookComputeSamples < at) {
      at = look.end + lookComputeSamples;
      by = `second-look@${delay}`;
      break;
    }
  }
  return Number.isFinite(at) ? { at, by } : undefined;
}

function analyse(run: Awaited<ReturnType<typeof watch>>, lookComputeMs: number) {
  const ms = (samples: number) => (samples * 1000) / RATE;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const computeSamples = (lookComputeMs * RATE) / 1000;
  const summary = (ws: Watched[], s: Setting) => {
    const lat: number[] = [];
    const by: Record<string, number> = {};
    for (const w of ws) {
      const f = fire(w, s, computeSamples);
      if (!f) continue;
      by[f.by] = (by[f.by] ?? 0) + 1;
      lat.push(ms(f.at - w.keywordEnd!));
    }
    return { detected: lat.length, of: ws.length, p50: percentile(lat, 50), p95: percentile(lat, 95), by };
  };
  const rows: Record<string, unknown>[] = [];
  const settings: Setting[] = [];
  // Today's engine (no look-ahead, the second look 3 steps after the first 0.2, no padding) first.
  settings.push({ gate: 1, chunks: 0, threshold: 1, lookDelays: [3], lookChunks: 0 });
  const delays = [...LOOK_DELAYS.map((d) => [d]), [0, 3], [1, 3]];
  for (const gate of GATES) for (let chunks = 1; chunks <= PAD_CHUNKS; chunks++) for (const threshold of THRESHOLDS) for (const lookDelays of delays) for (const lookChunks of [0, 2, 4]) settings.push({ gate, chunks, threshold, lookDelays, lookChunks });
  for (const s of settings) {
    const gatedSteps = run.negative.reduce((n, w) => n + w.looks.filter((l) => l.step >= s.gate).length, 0);
    let top = { score: 0, what: '' };
    for (const w of run.negative) {
      for (const l of w.looks) {
        if (l.step < s.gate || s.chunks === 0) continue;
        const x = Math.max(...l.padded.slice(0, s.chunks));
        if (x > top.score) top = { score: x, what: w.what };
      }
      for (const look of w.secondLooks.filter((l) => s.lookDelays.includes(l.delay))) {
        const x = s.lookChunks > 0 ? Math.max(look.real, look.padded[s.lookChunks - 1]!) : look.real;
        if (x > top.score) top = { score: x, what: `${w.what} (second look)` };
      }
    }
    rows.push({
      ...s,
      padMs: s.chunks * 80,
      lookPadMs: s.lookChunks * 80,
      tuning: summary(run.sets.tuning!, s),
      heldOut: summary(run.sets.heldOut!, s),
      falseAccepts: run.negative.filter((w) => fire(w, s, 0) !== undefined).map((w) => w.what),
      highestOther: `${r3(top.score)} ${top.what}`,
      // Look-aheads per 80 ms step of the false-accept stream (both phases' steps can run one).
      lookPercent: s.chunks === 0 ? 0 : Math.round((gatedSteps / run.negativeSteps) * 10000) / 100,
      secondLooks: run.negative.reduce((n, w) => n + w.secondLooks.filter((l) => s.lookDelays.includes(l.delay)).length, 0),
    });
  }
  return rows;
}

/** Compute time of one look-ahead of each length, ms (p50 / p95 over 40 looks). */
async function lookCompute() {
  const files = resolveModelFiles({ keyword: 'hey_jarvis' });
  const rt = await loadOnnxRuntime();
  const models = [await rt.load(files.mel), await rt.load(files.embedding), await rt.load(files.keyword)] as const;
  const frames = keywordInputFrames(models[2], files.keyword);
  const f = new StreamingFeatures(models[0], models[1], frames);
  await f.init();
  const noise = mix(new Int16Array(RATE * 2), roomNoise(RATE * 2, -40, 98));
  const out: Record<string, { p50: number; p95: number }> = {};
  for (let chunks = 1; chunks <= PAD_CHUNKS; chunks++) {
    const la = new LookAhead(models[0], models[1], models[2], frames, { padMs: chunks * 80 });
    for (let o = 0; o + CHUNK_SAMPLES <= noise.length; o += CHUNK_SAMPLES) {
      await f.push(noise.subarray(o, o + CHUNK_SAMPLES));
      la.remember(noise.subarray(o, o + 640));
      la.remember(noise.subarray(o + 640, o + CHUNK_SAMPLES));
    }
    const times: number[] = [];
    for (let k = 0; k < 42; k++) {
      const t0 = performance.now();
      await la.run(f, false, 1);
      if (k >= 2) times.push(performance.now() - t0);
    }
    out[`${chunks * 80}ms`] = { p50: Math.round(percentile(times, 50) * 100) / 100, p95: Math.round(percentile(times, 95) * 100) / 100 };
  }
  await releaseAll([...models]);
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === 'analyse') {
    // Re-reads a raw run (written by a previous run) and prints the table again.
    const run = JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as Awaited<ReturnType<typeof watch>>;
    process.stdout.write(JSON.stringify({ rows: analyse(run, SECOND_LOOK_COMPUTE_MS) }, null, 2) + '\n');
    process.exit(0);
  }
  const pads = (process.argv.slice(2).length ? process.argv.slice(2) : ['room']) as LookAheadPad[];
  const out: Record<string, unknown> = { startedAt: new Date().toISOString(), compute: await lookCompute() };
  for (const pad of pads) {
    const run = await watch(pad);
    writeFileSync(`${process.env.LOOKAHEAD_RAW ?? '/tmp'}/oww-lookahead-raw-${pad}.json`, JSON.stringify(run));
    out[pad] = { negativeMinutes: Math.round(run.negativeMinutes * 10) / 10, rows: analyse(run, SECOND_LOOK_COMPUTE_MS) };
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}
