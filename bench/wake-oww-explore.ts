/**
 * Exploration for issue 15's remaining targets (not part of `npm run bench`): the score of every
 * rendition and every false-accept block at each 20 ms alignment on openWakeWord's 80 ms grid,
 * so that what quarter steps could gain is known before building them.
 * `npx tsc -p tsconfig.bench.json && node dist-bench/bench/wake-oww-explore.js [align]`
 */
import { pathToFileURL } from 'node:url';
import { WakeSchema } from '../src/config/schema.js';
import { CHUNK_SAMPLES, EMBEDDING_SIZE, StreamingFeatures } from '../src/drivers/openwakeword/features.js';
import { resolveModelFiles } from '../src/drivers/openwakeword/models.js';
import { keywordInputFrames, loadOnnxRuntime } from '../src/drivers/openwakeword/runtime.js';
import { stretch } from '../src/drivers/openwakeword/stretch.js';
import { OpenWakeWord } from '../src/drivers/openwakeword/wake.js';
import { silentLogger } from '../src/log/logger.js';
import { detection, falseAccepts, negativeBlocks, type EngineSetup } from './wake-oww.js';
import { percentile } from './stats.js';
import { atLevel, mix, roomNoise, sequence, voiceName } from './fixtures/tts.js';
import { HELD_OUT, HELD_OUT_NOISE_DB, NOISE_DB, RATES, speak, TALKER_DB, VOICES } from './fixtures/wake-speech.js';

const SHIFTS = [0, 320, 640, 960];

async function alignments() {
  const out: Record<string, unknown> = {};
  const tuning = VOICES.flatMap((v) => RATES.map((rate) => ({ ...v, rate })));
  const perShift: { det: number[]; held: number[]; fa: number[]; names: string[]; heldNames: string[]; faNames: string[] }[] = [];
  for (const shiftSamples of SHIFTS) {
    const setup: EngineSetup = { noiseSuppression: false, halfStepArmScore: Number.POSITIVE_INFINITY, secondLookLowScore: Number.POSITIVE_INFINITY, shiftSamples };
    const det = await detection(tuning, NOISE_DB, 1, setup);
    const held = await detection(HELD_OUT, HELD_OUT_NOISE_DB, 5000, setup);
    const fa = await falseAccepts(setup);
    perShift.push({ det: det.map((d) => d.max), held: held.map((d) => d.max), fa: fa.blockMax.map((b) => b.max), names: det.map((d) => d.name), heldNames: held.map((d) => d.name), faNames: fa.blockMax.map((b) => b.what) });
    process.stderr.write(`shift ${shiftSamples} done\n`);
  }
  const combos: Record<string, number[]> = { grid: [0], half: [0, 2], quarter: [0, 1, 2, 3] };
  for (const [name, idx] of Object.entries(combos)) {
    const best = (key: 'det' | 'held' | 'fa') => perShift[0]![key].map((_, i) => Math.max(...idx.map((k) => perShift[k]![key][i]!)));
    const row: Record<string, unknown> = {};
    for (const th of [0.4, 0.45, 0.5, 0.6]) {
      const d = best('det');
      const h = best('held');
      const f = best('fa');
      row[th.toFixed(2)] = {
        tuning: d.filter((x) => x >= th).length,
        heldOut: h.filter((x) => x >= th).length,
        falseAccepts: f.map((x, i) => [x, perShift[0]!.faNames[i]] as const).filter(([x]) => x >= th).map(([x, w]) => `${x.toFixed(3)} ${w}`),
      };
    }
    const f = best('fa');
    const top = f.map((x, i) => [x, perShift[0]!.faNames[i]!] as const).sort((a, b) => b[0] - a[0]).slice(0, 5);
    out[name] = { ...row, topOther: top.map(([x, w]) => `${x.toFixed(3)} ${w}`), missedAt050: { tuning: best('det').map((x, i) => [x, perShift[0]!.names[i]] as const).filter(([x]) => x < 0.5).map(([x, w]) => `${w} ${x.toFixed(2)}`), heldOut: best('held').map((x, i) => [x, perShift[0]!.heldNames[i]] as const).filter(([x]) => x < 0.5).map(([x, w]) => `${w} ${x.toFixed(2)}`) } };
  }
  out.perShift = perShift.map((p, k) => ({ shift: SHIFTS[k], det: p.det.map((x) => Math.round(x * 1000) / 1000), held: p.held.map((x) => Math.round(x * 1000) / 1000), fa: p.fa.map((x) => Math.round(x * 1000) / 1000) }));
  out.names = { det: perShift[0]!.names, held: perShift[0]!.heldNames, fa: perShift[0]!.faNames };
  return out;
}

/** Scores a stretched copy from a fresh front end: the best score over its steps. */
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
  return async (audio: Float32Array): Promise<number> => {
    f.reset();
    let best = 0;
    // Aligned to the copy's end, as the engine would cut it.
    const first = audio.length % CHUNK_SAMPLES;
    for (let o = first; o + CHUNK_SAMPLES <= audio.length; o += CHUNK_SAMPLES) {
      for (let i = 0; i < CHUNK_SAMPLES; i++) chunk[i] = Math.max(-32768, Math.min(32767, Math.round(audio[o + i]!)));
      await f.push(chunk);
      const out = await kw.run(f.embeddings, [1, frames, EMBEDDING_SIZE]);
      best = Math.max(best, out[0]!);
    }
    return best;
  };
}

/**
 * The second look, emulated: the engine (default setup) over a block; at the first step whose
 * score reaches `low` (and no detection in the block yet), wait `delaySteps` 80 ms steps, then
 * stretch the last `seconds` of audio by each factor and score the copy.
 */
async function secondLook() {
  const score = await copyScorer();
  const FACTORS = [1.15, 1.2, 1.25];
  const DELAYS = [3, 5];
  const LOW = 0.2;
  const SECONDS = 2;
  const scores: { score: number; end: number }[] = [];
  const wake = new OpenWakeWord({ config: WakeSchema.parse({ engine: 'openwakeword', keyword: 'hey_jarvis' }), log: silentLogger(), maxBacklogMs: Number.POSITIVE_INFINITY, onScore: (sc, end) => scores.push({ score: sc, end }) });
  await wake.start();
  let at = 0;
  const stream: Int16Array[] = [];
  let streamStart = 0;
  const look = async (pcm: Int16Array, what: string) => {
    const from = at;
    const n0 = scores.length;
    for (let i = 0; i + 320 <= pcm.length; i += 320) {
      wake.feed(pcm.subarray(i, i + 320), at);
      at += 320;
    }
    await wake.drain();
    stream.push(pcm.subarray(0, pcm.length - (pcm.length % 320)));
    // Keep ~3 s of past audio for the copies.
    while (stream.length > 2 && at - streamStart - stream[0]!.length > 3 * 16000) streamStart += stream.shift()!.length;
    const mine = scores.slice(n0);
    const max = mine.reduce((m, x) => Math.max(m, x.score), 0);
    const hitAt = mine.find((x) => x.score >= 0.5)?.end;
    const entry = mine.find((x) => x.score >= LOW);
    const res: Record<string, number> = {};
    if (entry && (hitAt === undefined || hitAt > entry.end)) {
      const all = new Int16Array(at - streamStart);
      let o = 0;
      for (const s of stream) {
        all.set(s, o);
        o += s.length;
      }
      for (const d of DELAYS) {
        const end = Math.min(at, entry.end + d * CHUNK_SAMPLES) - streamStart;
        const seg = all.subarray(Math.max(0, end - SECONDS * 16000), end);
        for (const fct of FACTORS) res[`${fct}@${d}`] = Math.round((await score(stretch(seg, { factor: fct }))) * 1000) / 1000;
      }
    }
    void from;
    return { what, max: Math.round(max * 1000) / 1000, detected: hitAt !== undefined, copies: res };
  };
  const out: Record<string, unknown[]> = { tuning: [], heldOut: [], negative: [] };
  const sets = [
    ['tuning', VOICES.flatMap((v) => RATES.map((rate) => ({ ...v, rate }))), NOISE_DB, 1],
    ['heldOut', HELD_OUT, HELD_OUT_NOISE_DB, 5000],
  ] as const;
  for (const [name, voices, levels, firstSeed] of sets) {
    let seed = firstSeed;
    for (const voice of voices) {
      const keyword = atLevel(speak('hey jarvis', voice), TALKER_DB);
      for (const noiseDb of levels) {
        const clean = sequence(1000, keyword, 2000);
        out[name]!.push(await look(mix(clean, roomNoise(clean.length, noiseDb, seed++)), `${voiceName(voice)} noise ${noiseDb}`));
      }
    }
    process.stderr.write(`${name} done\n`);
  }
  for (const b of negativeBlocks()) {
    const r = await look(b.pcm, b.what);
    if (r.max >= LOW) out.negative!.push(r);
  }
  await wake.stop();
  return out;
}

/** The engine as it ships (half steps, second look), on both sets and the false-accept set. */
async function product(setup: EngineSetup) {
  const sum = (det: Awaited<ReturnType<typeof detection>>) => {
    const hit = det.filter((d) => d.detectedMs !== null).map((d) => d.detectedMs!);
    return { detected: hit.length, of: det.length, p50: percentile(hit, 50), p95: percentile(hit, 95), missed: det.filter((d) => d.detectedMs === null).map((d) => `${d.name} ${d.max.toFixed(2)}`) };
  };
  const det = await detection(VOICES.flatMap((v) => RATES.map((rate) => ({ ...v, rate }))), NOISE_DB, 1, setup);
  const held = await detection(HELD_OUT, HELD_OUT_NOISE_DB, 5000, setup);
  process.stderr.write('sets done\n');
  const fa = await falseAccepts(setup);
  return { setup, tuning: sum(det), heldOut: sum(held), falseAccepts: fa.accepts, secondLooks: fa.secondLooks, halfStepPercent: fa.halfStepPercent, cpu: fa.cpuPercentOfOneCore, minutes: fa.audioMinutes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const what = process.argv[2] ?? 'align';
  const setup: EngineSetup = { noiseSuppression: false, halfStepArmScore: 0.05, secondLookLowScore: Number(process.argv[3] ?? 0.2), ...(process.argv[4] && { secondLookFactors: process.argv[4].split(',').map(Number) }) };
  const out = what === 'align' ? await alignments() : what === 'product' ? await product(setup) : await secondLook();
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}
