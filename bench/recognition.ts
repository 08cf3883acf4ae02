/**
 * Offline speech (issue 16): how well the local gateway's pocketsphinx recogniser understands its
 * skills' sentences, where its errors come from, what it costs, how soon the transcript follows
 * the last word, and how fast the offline voices speak.
 *
 * Utterances: 20 requests (12 chosen to cover every skill, 8 drawn at random from the grammar)
 * and 10 sentences outside the grammar (several close to it), each said by 6 voices, clean and
 * with pink noise at 20 and 10 dB SNR: 540 utterances. Four voices (flite slt, awb, kal16;
 * espeak-ng en-us) are the ones the recogniser's options were tuned on (with other sentences:
 * none of these requests or out-of-grammar sentences was used for tuning); two more (flite rms,
 * espeak-ng en-us+f3) were never used for tuning and are reported apart as the held-out part.
 *   A. Accuracy and CPU: each utterance decoded by the recogniser directly (as the gateway
 *      does, in 20 ms chunks, up to 300 ms after the last word), with the gateway's grammars,
 *      grouped by noise level and voice as a device would hear them (the recogniser adapts
 *      across utterances). Scoring and the error breakdown: ./recognition-score.ts. A threshold
 *      sweep shows the rejection's trade-off.
 *   B. Latency: the requests, clean and at 10 dB, streamed in real time over WebSocket to the
 *      real gateway by 3 concurrent clients; from the end of the last word (the last 10 ms of
 *      the clean audio above -45 dBFS) to the `stt_transcript` arriving. The transcripts that
 *      arrive are scored as well (live command accuracy).
 *   C. Text-to-speech: five replies per voice, wall time per second of speech (child process
 *      start included).
 * Run: `npm run bench -- recognition` (or `node dist-bench/bench/recognition.js`). BENCH_QUICK=1
 * runs a small subset.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { builtinSkills, skillGrammars } from '../src/local-gateway/assistant.js';
import { LocalGateway } from '../src/local-gateway/server.js';
import { silentLogger } from '../src/log/logger.js';
import { Grammar } from '../src/speech/phrases.js';
import { DEFAULT_GARBAGE, DEFAULT_REJECT_THRESHOLD, PocketsphinxStt, thresholdAt } from '../src/speech/pocketsphinx.js';
import { GARBAGE_CURVE, RATIO_CURVE } from '../src/speech/rejection.js';
import { DEFAULT_VOICES, fliteVoices, festivalVoices, speak, type VoiceEngine } from '../src/speech/voices.js';
import { padded, speechEnd, spoken, withNoise } from '../test/support/speech-fixtures.js';
import { breakdown, byCommand, misses, sameCommand, score, type Accept, type Decoded } from './recognition-score.js';
import { percentile } from './stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const RATE = 16000;
const CHUNK = 320;
/** The recogniser's default (pipeline.pocketsphinx.rejectThreshold). */
const THRESHOLD = DEFAULT_REJECT_THRESHOLD;

const TUNED_VOICES = QUICK ? ['flite/slt', 'espeak/en-us'] : ['flite/slt', 'flite/awb', 'flite/kal16', 'espeak/en-us'];
const HELD_OUT_VOICES = QUICK ? ['flite/rms'] : ['flite/rms', 'espeak/en-us+f3'];
const VOICES = [...TUNED_VOICES, ...HELD_OUT_VOICES];
const NOISE: (number | null)[] = [null, 20, 10];
const CHOSEN = [
  'what time is it',
  'what is the date today',
  'set a timer for five minutes',
  'set a timer for thirty seconds',
  'cancel the timer',
  'turn on the kitchen light',
  'turn the bedroom lights off',
  'switch off the living room light',
  'turn the volume up',
  'set the volume to fifty percent',
  'turn down the volume',
  'how are you',
];
const OUT_OF_GRAMMAR = [
  'play some jazz music',
  'what is the weather like tomorrow',
  'call my mother',
  'how old is the president',
  'the quick brown fox jumps over the lazy dog',
  'turn on the television',
  'set an alarm for seven',
  'what is the capital of france',
  'tell me a joke',
  'open the garage door',
];

export interface Utt {
  ref: string;
  inGrammar: boolean;
  voice: string;
  snr: number | null;
  pcm: Int16Array;
  /** Sample index one past the last word. */
  end: number;
}

/** Deterministic 0-1 sequence. */
export function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const pct = (x: number) => Math.round(x * 1000) / 10;

/** The bench's sentences: the requests and those outside the grammar (the calibration script keeps clear of them). */
export function benchSentences(quick = QUICK): { requests: string[]; oog: string[] } {
  const g = new Grammar(skillGrammars(builtinSkills()).default!);
  const r = rng(16);
  const sampled = new Set<string>();
  while (sampled.size < (quick ? 2 : 8)) {
    const s = g.sample(r);
    if (!CHOSEN.includes(s)) sampled.add(s);
  }
  return { requests: [...(quick ? CHOSEN.slice(0, 4) : CHOSEN), ...sampled], oog: quick ? OUT_OF_GRAMMAR.slice(0, 3) : OUT_OF_GRAMMAR };
}

/** The bench's 540 utterances (fewer with BENCH_QUICK), in the order a device would hear them. */
export function utterances(): Utt[] {
  const g = new Grammar(skillGrammars(builtinSkills()).default!);
  const { requests, oog } = benchSentences();
  // Ordered as a device hears them: one room (noise level), one user (voice) at a time. The
  // recogniser adapts to both (cepstral mean, noise estimate) from one utterance to the next.
  const out: Utt[] = [];
  let seed = 1;
  for (const snr of NOISE) {
    for (const voice of VOICES) {
      for (const [list, inGrammar] of [
        [requests, true],
        [oog, false],
      ] as const) {
        for (const ref of list) {
          if (inGrammar && !g.matches(ref)) throw new Error(`"${ref}" is not in the gateway's grammar`);
          const clean = padded(spoken(voice, ref), 500, 900);
          out.push({ ref, inGrammar, voice, snr, pcm: snr === null ? clean : withNoise(clean, snr, seed++), end: speechEnd(clean) });
        }
      }
    }
  }
  return out;
}

/** A: every utterance through the recogniser, accepting all, so thresholds can be applied after. */
async function decodeAll(utts: Utt[]): Promise<{ decoded: Decoded[]; cpuPerAudioSecond: number; wallPerAudioSecond: number }> {
  let last: { text: string; ratio: number; snrDb: number | undefined; noisy: boolean } | undefined;
  const stt = new PocketsphinxStt({
    grammars: skillGrammars(builtinSkills()),
    rejectThreshold: -1e9,
    completeSilenceMs: 0,
    onHypothesis: (h) => (last = h),
    log: silentLogger(),
  });
  const decoded: Decoded[] = [];
  let audio = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const u of utts) {
    last = undefined;
    const s = stt.open();
    const final = s.next('final');
    // Up to 300 ms after the last word: where listening ends live (B measures that).
    const stop = Math.min(u.pcm.length, u.end + 0.3 * RATE);
    for (let i = 0; i < stop; i += CHUNK) s.send(u.pcm.subarray(i, Math.min(stop, i + CHUNK)));
    s.finalize();
    const [r] = await final;
    await s.close();
    audio += u.pcm.length / RATE;
    const seen = last as { text: string; ratio: number; snrDb: number | undefined; noisy: boolean } | undefined;
    decoded.push({ ref: u.ref, inGrammar: u.inGrammar, voice: u.voice, snr: u.snr, hyp: r.text, ratio: seen ? seen.ratio : -Infinity, snrDb: seen?.snrDb, curve: stt.curveFor(seen?.noisy) });
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  stt.close();
  return { decoded, cpuPerAudioSecond: (cpu.user + cpu.system) / 1000 / 1000 / audio, wallPerAudioSecond: wall / 1000 / audio };
}

/** Accepted at quiet threshold `threshold`: as in the recogniser, it follows the utterance's estimated SNR. */
const accepting =
  (threshold: number): Accept =>
  (d) =>
    d.hyp !== '' && d.ratio >= thresholdAt(threshold, d.snrDb, d.curve ?? (DEFAULT_GARBAGE > 0 ? GARBAGE_CURVE : RATIO_CURVE));

const label = (snr: number | null) => (snr === null ? 'quiet' : `snr${snr}dB`);

interface Latency {
  n: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  endedByCompleteSentencePct: number;
  byNoise: Record<string, { p50Ms: number; p95Ms: number; liveCommandAccuracyPct: number }>;
  /** Only the utterances whose transcript was not empty (a sentence was recognised). */
  understood: { n: number; p50Ms: number; p95Ms: number };
  /** The slowest requests, slowest first (what sets the p95). */
  slowest: string[];
}

/** B: real-time streaming to the real gateway; last word -> stt_transcript. */
export async function latency(utts: Utt[], clients: number): Promise<Latency> {
  // Where each understood utterance's session ended in audio (frames decoded), by its text: with three clients a
  // transcript is matched to the last hypothesis with its words (another client saying the same words at that moment would mix them up).
  const ended = new Map<string, number>();
  const stt = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), rejectThreshold: THRESHOLD, onHypothesis: (h) => ended.set(h.text.replace(/^lead_\S+ /, ''), h.frames), log: silentLogger() });
  const gw = new LocalGateway({ log: silentLogger(), stt, speech: 'tone', pace: 0, record: false, plan: () => ({ text: 'ok', audio: false }) });
  await gw.start();
  const results: { snr: number | null; ms: number; right: boolean; understood: boolean; what: string }[] = [];
  const queue = [...utts];
  const worker = async (k: number) => {
    const ws = new WebSocket(gw.url);
    await new Promise((r) => ws.once('open', r));
    let waiting: ((m: { at: number; transcript: string }) => void) | undefined;
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { action: string; transcript?: string };
      if (m.action === 'stt_transcript') waiting?.({ at: performance.now(), transcript: m.transcript ?? '' });
    });
    for (let u = queue.shift(); u; u = queue.shift()) {
      const id = `b${k}-${queue.length}`;
      const heard = new Promise<{ at: number; transcript: string }>((r) => (waiting = r));
      ws.send(JSON.stringify({ id, action: 'audio_start' }));
      const t0 = performance.now();
      let got: number | undefined;
      void heard.then((t) => (got = t.at));
      for (let i = 0; i < u.pcm.length && got === undefined; i += CHUNK) {
        ws.send(JSON.stringify({ id, action: 'audio_data', data: Buffer.from(u.pcm.buffer, u.pcm.byteOffset + i * 2, Math.min(CHUNK, u.pcm.length - i) * 2).toString('base64'), encoding: 'base64' }));
        // Paced by samples: chunk k goes out when its last sample has been "spoken".
        const due = t0 + ((i + CHUNK) / RATE) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      // The agent closes its mic at the transcript; a recogniser that never ended gets audio_end.
      if (got === undefined) ws.send(JSON.stringify({ id, action: 'audio_end' }));
      const m = await heard;
      if (got !== undefined) ws.send(JSON.stringify({ id, action: 'audio_end' }));
      results.push({ snr: u.snr, ms: m.at - (t0 + (u.end / RATE) * 1000), right: m.transcript !== '' && sameCommand(u.ref, m.transcript), understood: m.transcript !== '', what: `${label(u.snr)} ${u.voice}: "${u.ref}" -> ${m.transcript ? `"${m.transcript}"` : 'not understood'}${m.transcript && ended.has(m.transcript) ? ` (session ended ${Math.round(ended.get(m.transcript)! * 10 - (u.end / RATE) * 1000)} ms after the last word in audio)` : ''}` });
      await new Promise((r) => setTimeout(r, 50));
    }
    ws.close();
  };
  await Promise.all(Array.from({ length: clients }, (_, k) => worker(k)));
  await gw.stop();
  stt.close();
  const ms = results.map((r) => r.ms);
  const understood = results.filter((r) => r.understood).map((r) => r.ms);
  const byNoise: Latency['byNoise'] = {};
  for (const snr of new Set(results.map((r) => r.snr))) {
    const rs = results.filter((r) => r.snr === snr);
    const v = rs.map((r) => r.ms);
    byNoise[label(snr)] = { p50Ms: Math.round(percentile(v, 50)), p95Ms: Math.round(percentile(v, 95)), liveCommandAccuracyPct: pct(rs.filter((r) => r.right).length / rs.length) };
  }
  return {
    n: ms.length,
    p50Ms: Math.round(percentile(ms, 50)),
    p95Ms: Math.round(percentile(ms, 95)),
    maxMs: Math.round(Math.max(...ms)),
    // Speech that is no sentence ends after 700 ms of silence: anything well below came from the complete-sentence rule.
    endedByCompleteSentencePct: pct(ms.filter((x) => x < 600).length / ms.length),
    byNoise,
    understood: { n: understood.length, p50Ms: Math.round(percentile(understood, 50)), p95Ms: Math.round(percentile(understood, 95)) },
    slowest: [...results].sort((a, b) => b.ms - a.ms).slice(0, 15).map((r) => `${Math.round(r.ms)} ms, ${r.what}`),
  };
}

/** C: seconds of synthesis per second of speech, per voice. */
async function ttsSpeed(): Promise<Record<string, { msPerSecondOfSpeech: number; speechSeconds: number }>> {
  const replies = [
    'It is eight fifty six in the morning.',
    'OK, turning on the kitchen light.',
    'Your timer for five minutes is done.',
    'Sorry, I did not understand that. You can ask me the time or the date, set a timer, turn a light on or off, or turn the volume up or down.',
    'I am very well, thank you. And how are you?',
  ];
  const voices: [VoiceEngine, string][] = [
    ...fliteVoices()
      .filter((v) => v !== 'awb_time')
      .map((v): [VoiceEngine, string] => ['flite', v]),
    ...festivalVoices().map((v): [VoiceEngine, string] => ['festival', v]),
    ['espeak-ng', DEFAULT_VOICES['espeak-ng']],
  ];
  const out: Record<string, { msPerSecondOfSpeech: number; speechSeconds: number }> = {};
  for (const [engine, voice] of voices) {
    await speak('warm up', engine, voice);
    let ms = 0;
    let seconds = 0;
    for (const text of QUICK ? replies.slice(0, 2) : replies) {
      const t = performance.now();
      const pcm = await speak(text, engine, voice);
      ms += performance.now() - t;
      seconds += pcm.length / RATE;
    }
    out[`${engine}/${voice}`] = { msPerSecondOfSpeech: Math.round((ms / seconds) * 10) / 10, speechSeconds: Math.round(seconds * 10) / 10 };
  }
  return out;
}

/** Accuracy by noise level over `decoded`, at the default threshold. */
function accuracy(decoded: Decoded[]): Record<string, ReturnType<typeof score>> {
  const accept = accepting(THRESHOLD);
  return Object.fromEntries(NOISE.map((snr) => [label(snr), score(decoded.filter((d) => d.snr === snr), accept)]));
}

export async function runRecognitionBench(): Promise<object> {
  const utts = utterances();
  const { decoded, cpuPerAudioSecond, wallPerAudioSecond } = await decodeAll(utts);
  const accept = accepting(THRESHOLD);
  const tuned = decoded.filter((d) => TUNED_VOICES.includes(d.voice));
  const heldOut = decoded.filter((d) => HELD_OUT_VOICES.includes(d.voice));
  const byVoice: Record<string, Record<string, number>> = {};
  for (const v of VOICES) {
    byVoice[v] = {};
    for (const snr of NOISE) byVoice[v][label(snr)] = score(decoded.filter((d) => d.voice === v && d.snr === snr), accept).commandAccuracyPct;
    byVoice[v].falseAcceptPct = score(decoded.filter((d) => d.voice === v), accept).falseAcceptPct;
  }
  const sweep: Record<string, { quiet: number; snr10dB: number; falseAcceptQuiet: number; falseAccept10dB: number }> = {};
  // The quiet threshold (pipeline.pocketsphinx.rejectThreshold); noisier utterances get it lowered.
  for (const t of [-2, -1, 0, 0.5, 1, 2, 3]) {
    const q = score(decoded.filter((d) => d.snr === null), accepting(t));
    const n = score(decoded.filter((d) => d.snr === 10), accepting(t));
    sweep[`threshold ${t}`] = { quiet: q.commandAccuracyPct, snr10dB: n.commandAccuracyPct, falseAcceptQuiet: q.falseAcceptPct, falseAccept10dB: n.falseAcceptPct };
  }
  const errors: Record<string, ReturnType<typeof breakdown>> = {};
  const commands: Record<string, Record<string, number>> = {};
  const missList: Record<string, string[]> = {};
  for (const snr of NOISE) {
    const at = decoded.filter((d) => d.snr === snr);
    errors[label(snr)] = breakdown(at, accept);
    commands[label(snr)] = byCommand(at, accept);
    missList[label(snr)] = misses(at, accept);
  }
  const lat = await latency(
    utts.filter((u) => u.inGrammar && (u.snr === null || u.snr === 10)),
    3,
  );
  const tts = await ttsSpeed();
  return {
    machine: 'shared 2-core x86-64 development machine (other builds running)',
    utterances: { total: utts.length, inGrammar: utts.filter((u) => u.inGrammar).length, outOfGrammar: utts.filter((u) => !u.inGrammar).length, tunedVoices: TUNED_VOICES, heldOutVoices: HELD_OUT_VOICES },
    threshold: THRESHOLD,
    accuracy: accuracy(decoded),
    accuracyTunedVoices: accuracy(tuned),
    accuracyHeldOutVoices: accuracy(heldOut),
    commandAccuracyByVoice: byVoice,
    errors,
    commandAccuracyByRequest: commands,
    thresholdSweep: sweep,
    misses: missList,
    recognitionCpuPctOfOneCore: Math.round(cpuPerAudioSecond * 1000) / 10,
    recognitionWallPctOfRealTime: Math.round(wallPerAudioSecond * 1000) / 10,
    transcriptAfterLastWord: lat,
    ttsMsPerSecondOfSpeech: tts,
  };
}

// Run directly: node dist/bench/recognition.js
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runRecognitionBench().then(
    (r) => {
      const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', QUICK ? 'recognition-quick.tmp' : 'recognition.json');
      writeFileSync(file, JSON.stringify({ bench: 'recognition', date: new Date().toISOString(), ...r }, null, 2) + '\n');
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
