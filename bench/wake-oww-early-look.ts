/**
 * Exploration of an earlier second look (not part of `npm run bench`): the engine as it ships
 * (half steps, look-ahead, second look) runs over both keyword sets and the 31-minute
 * false-accept stream, and at every scored step (either phase) near a rise (a score of at least
 * 0.02 within the last second; on a rendition only up to the engine's own detection) the last
 * 2 s are stretched 1.15x and 1.2x and each copy is scored at every position, then with 320 ms
 * of the room's quiet after it (copy-scorer.ts). The analysis then reads, for each trigger
 * (the look-ahead copy's score, or a step's), delays, padding, positions, threshold and
 * whether both stretches must agree: where the engine would have fired (the earlier of its own
 * detection and the first such look that reaches the threshold), plus the look's compute,
 * detection, latency from the keyword's end, false accepts and looks run.
 * `npx tsc -p tsconfig.bench.json && node dist-bench/bench/wake-oww-early-look.js [analyse raw.json]`
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { WakeSchema } from '../src/config/schema.js';
import { CHUNK_SAMPLES, HALF_SAMPLES } from '../src/drivers/openwakeword/features.js';
import { CopyScorer } from '../src/drivers/openwakeword/copy-scorer.js';
import { resolveModelFiles } from '../src/drivers/openwakeword/models.js';
import { keywordInputFrames, loadOnnxRuntime } from '../src/drivers/openwakeword/runtime.js';
import { stretch } from '../src/drivers/openwakeword/stretch.js';
import { OpenWakeWord } from '../src/drivers/openwakeword/wake.js';
import { Logger } from '../src/log/logger.js';
import { percentile } from './stats.js';
import { negativeBlocks } from './wake-oww.js';
import { RATE } from './fixtures/tts.js';
import { keywordRenditions } from './fixtures/wake-speech.js';

const FACTORS = [1.15, 1.2];
const PAD_CHUNKS = 4;
/** Real positions kept per copy (the last ones). */
const KEEP = 12;
const WINDOW = 2 * RATE;
const NEAR = RATE;

interface Cand {
  end: number;
  step: number;
  ahead: number | null;
  /** Per factor: the last KEEP real positions' scores (oldest first), the best over all, the padded scores. */
  f: { real: number[]; all: number; padded: number[] }[];
}

interface Block {
  what: string;
  keywordEnd?: number;
  hit?: { end: number; how: string };
  cands: Cand[];
}

/** The room's pad: the quietest two consecutive halves of `w`, and its reverse. */
function roomPads(w: Int16Array): Int16Array[] {
  let best = 0;
  let bestE = Infinity;
  for (let o = 0; o + CHUNK_SAMPLES <= w.length; o += HALF_SAMPLES) {
    let e = 0;
    for (let i = o; i < o + CHUNK_SAMPLES; i++) e += w[i]! * w[i]!;
    if (e < bestE) {
      bestE = e;
      best = o;
    }
  }
  const pad = w.slice(best, best + CHUNK_SAMPLES);
  const rev = pad.slice().reverse();
  return Array.from({ length: PAD_CHUNKS }, (_, k) => (k % 2 === 0 ? pad : rev));
}

async function watch() {
  const files = resolveModelFiles({ keyword: 'hey_jarvis' });
  const rt = await loadOnnxRuntime();
  const mel = await rt.load(files.mel);
  const emb = await rt.load(files.embedding);
  const kw = await rt.load(files.keyword);
  const scorer = new CopyScorer(mel, emb, kw, keywordInputFrames(kw, files.keyword));
  await scorer.init();
  const scores: { score: number; end: number }[] = [];
  const aheads = new Map<number, number>();
  const hits: { end: number; how: string }[] = [];
  const log = new Logger({
    level: 'info',
    sink: {
      write: (line) => {
        if (!line.includes('"detected"')) return;
        const d = JSON.parse(line) as { sampleIndex: number; secondLook?: boolean; lookAhead?: boolean };
        hits.push({ end: d.sampleIndex, how: d.secondLook ? 'second-look' : d.lookAhead ? 'look-ahead' : 'step' });
      },
    },
  });
  const wake = new OpenWakeWord({
    config: WakeSchema.parse({ engine: 'openwakeword', keyword: 'hey_jarvis' }),
    log,
    maxBacklogMs: Number.POSITIVE_INFINITY,
    onScore: (score, end) => scores.push({ score, end }),
    onLookAhead: (padded, end) => aheads.set(end, Math.max(...padded)),
  });
  await wake.start();
  if (!wake.status().available) throw new Error(`openWakeWord unavailable: ${wake.status().reason}`);
  let at = 0;
  let looks = 0;
  const recent: { from: number; pcm: Int16Array }[] = [];
  const feed = async (pcm: Int16Array, what: string, keywordOffset?: number): Promise<Block> => {
    const from = at;
    const s0 = scores.length;
    const h0 = hits.length;
    for (let i = 0; i + 320 <= pcm.length; i += 320) {
      wake.feed(pcm.subarray(i, i + 320), at);
      at += 320;
    }
    await wake.drain();
    recent.push({ from, pcm });
    while (recent.length > 1 && at - recent[1]!.from >= WINDOW + RATE) recent.shift();
    const joined = new Int16Array(at - recent[0]!.from);
    for (const r of recent) joined.set(r.pcm.subarray(0, Math.min(r.pcm.length, at - r.from)), r.from - recent[0]!.from);
    const b: Block = { what, cands: [] };
    if (keywordOffset !== undefined) b.keywordEnd = from + keywordOffset;
    const hit = hits.slice(h0).find((h) => h.end > from && h.end <= at);
    if (hit) b.hit = hit;
    const mine = scores.slice(s0);
    let lastGate = -Infinity;
    for (const s of mine) {
      if (s.score >= 0.02) lastGate = s.end;
      if (s.end - lastGate > NEAR) continue;
      if (hit && s.end > hit.end) break;
      const rel = s.end - recent[0]!.from;
      if (rel < WINDOW) continue;
      const w = joined.subarray(rel - WINDOW, rel);
      const pads = roomPads(w);
      const c: Cand = { end: s.end, step: s.score, ahead: aheads.get(s.end) ?? null, f: [] };
      for (const factor of FACTORS) {
        const r = await scorer.score(stretch(w, { factor }), pads, Infinity);
        const real = Array.from(r.real);
        c.f.push({ real: real.slice(-KEEP), all: Math.max(...real), padded: Array.from(r.padded) });
      }
      looks++;
      b.cands.push(c);
    }
    scores.length = 0;
    aheads.clear();
    return b;
  };
  const sets: Record<string, Block[]> = { tuning: [], heldOut: [] };
  for (const name of ['tuning', 'heldOut'] as const) {
    for (const r of keywordRenditions(name)) sets[name]!.push(await feed(r.pcm, r.name, r.keywordEnd));
    process.stderr.write(`${name} done, ${looks} copies\n`);
  }
  const negative: Block[] = [];
  for (const b of negativeBlocks()) negative.push(await feed(b.pcm, b.what));
  process.stderr.write(`false-accept set done, ${looks} copies\n`);
  await wake.stop();
  return { sets, negative };
}

type Run = Awaited<ReturnType<typeof watch>>;

interface Policy {
  /** 'ahead': the look-ahead copy's best; 'step': the step's own score. */
  trigger: 'ahead' | 'step';
  level: number;
  /** Steps of 80 ms from the trigger to each look. */
  delays: number[];
  /** Real positions (the last ones) and padded chunks counted, and the threshold. */
  real: number;
  pad: number;
  threshold: number;
  /** 'any': the best stretch counts; 'both': both must reach it. */
  agree: 'any' | 'both';
}

function lookScore(c: Cand, p: Policy): number {
  const per = c.f.map((f) => Math.max(...f.real.slice(-p.real), ...(p.pad > 0 ? f.padded.slice(0, p.pad) : [0]), 0));
  return p.agree === 'both' ? Math.min(...per) : Math.max(...per);
}

/** The looks of a block under `p`: rises of the trigger (re-armed after 2 candidates below it or a gap of 1 s), each looked at its delays. */
function looksOf(b: Block, p: Policy): Cand[] {
  const out: Cand[] = [];
  let below = 2;
  let last = -Infinity;
  let due: number[] = [];
  for (const c of b.cands) {
    if (c.end - last > NEAR) below = 2;
    last = c.end;
    const v = p.trigger === 'ahead' ? (c.ahead ?? 0) : c.step;
    if (v >= p.level) {
      if (below >= 2 && due.length === 0) due = p.delays.map((d) => c.end + d * CHUNK_SAMPLES);
      below = 0;
    } else {
      below++;
    }
    if (due.length > 0 && c.end >= due[0]!) {
      out.push(c);
      while (due.length > 0 && due[0]! <= c.end) due.shift();
    }
  }
  return out;
}

function analyse(run: Run, computeMs: (p: Policy) => number) {
  const ms = (s: number) => (s * 1000) / RATE;
  const engineLatency = (b: Block) => {
    if (!b.hit) return null;
    // As bench/wake-oww.ts counts it (quiet run's compute): step 1.65 ms, look-ahead +5.9, second look 113.
    const add = b.hit.how === 'second-look' ? 113 : b.hit.how === 'look-ahead' ? 1.65 + 5.9 : 1.65;
    return ms(b.hit.end - b.keywordEnd!) + add;
  };
  const sum = (blocks: Block[], p: Policy | null) => {
    const lat: number[] = [];
    let early = 0;
    for (const b of blocks) {
      let best = engineLatency(b);
      if (p) {
        const fired = looksOf(b, p).find((c) => lookScore(c, p) >= p.threshold);
        if (fired) {
          const l = ms(fired.end - b.keywordEnd!) + computeMs(p);
          if (best === null || l < best) {
            best = l;
            early++;
          }
        }
      }
      if (best !== null) lat.push(best);
    }
    return { detected: lat.length, of: blocks.length, p50: Math.round(percentile(lat, 50)), p95: Math.round(percentile(lat, 95)), early };
  };
  const rows: Record<string, unknown>[] = [{ policy: 'engine as it ships', tuning: sum(run.sets.tuning!, null), heldOut: sum(run.sets.heldOut!, null) }];
  for (const trigger of ['ahead', 'step'] as const) {
    for (const level of trigger === 'ahead' ? [0.05, 0.1, 0.2, 0.3] : [0.05, 0.1, 0.2]) {
      for (const delays of [[0], [0, 1], [0, 2], [0, 1, 2], [1], [1, 2]]) {
        for (const real of [1, 3, 12]) {
          for (const pad of [0, 2, 4]) {
            for (const agree of ['any', 'both'] as const) {
              const p0: Policy = { trigger, level, delays, real, pad, threshold: 0, agree };
              // Other speech's best look under this policy, and the looks run in 31 min.
              let top = { score: 0, what: '' };
              let looks = 0;
              for (const b of run.negative) {
                const ls = looksOf(b, p0);
                looks += ls.length;
                for (const c of ls) {
                  const s = lookScore(c, p0);
                  if (s > top.score) top = { score: s, what: b.what };
                }
              }
              for (const threshold of [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]) {
                if (threshold <= top.score) continue;
                const p = { ...p0, threshold };
                rows.push({ policy: `${trigger}>=${level} delays ${delays.join('/')} real ${real} pad ${pad} ${agree} th ${threshold}`, computeMs: Math.round(computeMs(p)), tuning: sum(run.sets.tuning!, p), heldOut: sum(run.sets.heldOut!, p), highestOther: `${top.score.toFixed(3)} ${top.what}`, looksIn31Min: looks });
              }
            }
          }
        }
      }
    }
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Compute of one look: 2 copies, (real + pad + 15) embedding windows of ~1.4 ms each quiet, plus ~8 ms of stretching and scoring.
  const computeMs = (p: Policy) => 2 * ((Math.min(p.real, 29) + p.pad + 15) * 1.4 + 4);
  let run: Run;
  if (process.argv[2] === 'analyse') {
    run = JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as Run;
  } else {
    run = await watch();
    writeFileSync(process.env.EARLY_RAW ?? '/tmp/oww-early-look-raw.json', JSON.stringify(run));
  }
  const rows = analyse(run, computeMs);
  process.stdout.write(JSON.stringify({ rows }, null, 2) + '\n');
}
