/**
 * Where the recogniser ends utterances itself (issue 16), on the calibration utterances
 * (./recognition-calibrate.ts, never the bench's): each one fed whole (the padded audio, 900 ms
 * of silence after the last word) to a session with the product's end-of-speech rules, without
 * `finalize()`, so the session ends it where its own rules say. Recorded per utterance: where it
 * ended (frames decoded, 10 ms each) against the last word, the result, and at every silent
 * chunk after speech the score ratio so far against the threshold. From those the rule for
 * speech that fits no sentence (`hopeless`: a silence, and a margin below the threshold) is
 * simulated for several settings: how much sooner utterances end, and how many requests it would
 * end before their last word.
 * Run: `npx tsc -p tsconfig.bench.json && node dist-bench/bench/recognition-ends.js` (about 5
 * minutes); `CALIB_NOISE=quiet,10` as in the calibration script; `ENDS_REFIT=1` simulates the
 * rules again from the last run's checks; `ENDS_NO_GARBAGE=1` simulates the rule without its garbage-path
 * case; `ENDS_SET=bench` runs the bench's utterances instead (where its latency comes from, not for
 * tuning); `ENDS_SENTENCE_CHECK=0` runs without the sentence check (`sentenceCheckMs`, on in the
 * product; it is real in the run, not simulated); `ENDS_TAG=x` writes bench/results/recognition-ends-x.json (and its temp file) instead
 * of bench/results/recognition-ends.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinSkills, skillGrammars } from '../src/local-gateway/assistant.js';
import type { SttResult } from '../src/backends/stt/types.js';
import { silentLogger } from '../src/log/logger.js';
import type { Grammar } from '../src/speech/phrases.js';
import type { Evidence } from '../src/speech/pocketsphinx-session.js';
import { scoreRatio } from '../src/speech/confidence.js';
import { PocketsphinxStt, thresholdAt, DEFAULT_REJECT_THRESHOLD } from '../src/speech/pocketsphinx.js';
import { throughGarbage } from '../src/speech/rejection.js';
import { calibrationUtterances } from './recognition-calibrate.js';
import { utterances as benchUtterances } from './recognition.js';
import { sameCommand } from './recognition-score.js';
import { percentile } from './stats.js';

const RATE = 16000;
/** ENDS_NO_GARBAGE=1: the simulated rule ignores the garbage path (the ratio alone, as before it). */
const NO_GARBAGE_END = process.env.ENDS_NO_GARBAGE === '1';
const CHUNK = 320;

interface Check {
  /** Audio decoded so far, ms. */
  atMs: number;
  silenceMs: number;
  /** The ratio so far less the threshold the utterance would be judged by. */
  margin: number;
  /** The best hypothesis so far went through the garbage path. */
  garbage?: boolean;
}

/** The recogniser, recording each check of the rule instead of applying it. */
class Traced extends PocketsphinxStt {
  checks: Check[] = [];
  /** Frames decoded when the utterance ended. */
  frames = 0;
  override judge(grammar: Grammar, e: Evidence): SttResult {
    this.frames = e.frames;
    return super.judge(grammar, e);
  }
  override get hopelessSilenceMs(): number {
    return 1;
  }
  override hopeless(p: { silenceMs: number; text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined }): boolean {
    this.checks.push({ atMs: p.frames * 10, silenceMs: p.silenceMs, margin: scoreRatio(p.grammar, p.loop, p.frames) - thresholdAt(DEFAULT_REJECT_THRESHOLD, p.snrDb, this.curve), garbage: !!p.text && throughGarbage(p.text) });
    return false;
  }
  /** The sentence check is the product's (ENDS_SENTENCE_CHECK=0: none); it is counted. */
  sentenceCheck: boolean | undefined;
  override get sentenceCheckMs(): number {
    return process.env.ENDS_SENTENCE_CHECK === '0' ? 0 : super.sentenceCheckMs;
  }
  override accepts(f: { text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined }): boolean {
    this.sentenceCheck = super.accepts(f);
    return this.sentenceCheck;
  }
}

interface Ended {
  ref: string;
  inGrammar: boolean;
  voice: string;
  snr: number | null;
  lastWordMs: number;
  endedMs: number;
  text: string;
  right: boolean;
  checks: Check[];
  /** The sentence check found a sentence of the grammar and accepted it (true) or not (false); undefined: it did not run, or found no sentence. */
  sentenceCheck: boolean | undefined;
}

async function run(): Promise<Ended[]> {
  const stt = new Traced({ grammars: skillGrammars(builtinSkills()), log: silentLogger() });
  const out: Ended[] = [];
  // ENDS_SET=bench: the bench's own utterances (to see where its latency comes from; never to tune on).
  const utts = process.env.ENDS_SET === 'bench' ? benchUtterances().filter((u) => !process.env.CALIB_NOISE || process.env.CALIB_NOISE.split(',').includes(u.snr === null ? 'quiet' : String(u.snr))) : calibrationUtterances();
  for (const u of utts) {
    stt.checks = [];
    stt.sentenceCheck = undefined;
    const s = stt.open();
    const final = s.next('final');
    for (let i = 0; i < u.pcm.length; i += CHUNK) s.send(u.pcm.subarray(i, i + CHUNK));
    // Fed whole: the session ends itself where its rules say; the rest it ignores.
    const timer = setTimeout(() => s.finalize(), 20_000);
    const [r] = await final;
    clearTimeout(timer);
    await s.close();
    out.push({
      ref: u.ref,
      inGrammar: u.inGrammar,
      voice: u.voice,
      snr: u.snr,
      lastWordMs: (u.end / RATE) * 1000,
      endedMs: stt.frames * 10,
      text: r.text,
      right: u.inGrammar && r.text !== '' && sameCommand(u.ref, r.text),
      checks: stt.checks,
      sentenceCheck: stt.sentenceCheck,
    });
  }
  stt.close();
  return out;
}

/** Where rule (silenceMs, margin) would end `e`: the first check it fires on, else where it ended. */
function endUnder(e: Ended, silenceMs: number, margin: number): number {
  for (const c of e.checks) if (c.atMs >= e.endedMs) break;
  else if (c.silenceMs >= silenceMs && (c.margin < -margin || (!!c.garbage && !NO_GARBAGE_END))) return c.atMs;
  return e.endedMs;
}

async function main(): Promise<void> {
  // ENDS_REFIT=1: the rules again on the last run's checks (kept in the temp directory), without decoding.
  const suffix = process.env.ENDS_TAG ? `-${process.env.ENDS_TAG}` : '';
  const saved = path.join(os.tmpdir(), `speaker-agent-recognition-ends${suffix}.json`);
  const rows = process.env.ENDS_REFIT === '1' ? (JSON.parse(readFileSync(saved, 'utf8')) as Ended[]) : await run();
  if (process.env.ENDS_REFIT !== '1') writeFileSync(saved, JSON.stringify(rows));
  const levels = [...new Set(rows.map((r) => r.snr))];
  const report: Record<string, unknown> = {};
  const lines: string[] = [];
  const allMs = (silence: number, margin: number) => rows.filter((r) => r.inGrammar).map((r) => (silence ? endUnder(r, silence, margin) : r.endedMs) - r.lastWordMs);
  for (const [silence, margin] of [[0, 0], [200, 0], [200, 2], [200, 4], [250, 0], [250, 1], [250, 2], [250, 4], [275, 0], [275, 1], [275, 2], [300, 0], [300, 2], [300, 4], [400, 2]] as const) {
    const name = silence ? `hopeless ${silence} ms, margin ${margin}` : 'today (no hopeless rule)';
    const by: Record<string, unknown> = {};
    for (const snr of levels) {
      const at = rows.filter((r) => r.snr === snr);
      const req = at.filter((r) => r.inGrammar);
      const after = (r: Ended) => (silence ? endUnder(r, silence, margin) : r.endedMs) - r.lastWordMs;
      const reqMs = req.map(after);
      // Cut: ended before the last word where today it did not; of those, requests today understood.
      const cut = req.filter((r) => after(r) < 0 && r.endedMs >= r.lastWordMs);
      const oogMs = at.filter((r) => !r.inGrammar).map(after);
      by[snr === null ? 'quiet' : `${snr}dB`] = {
        requestsP50Ms: Math.round(percentile(reqMs, 50)),
        requestsP95Ms: Math.round(percentile(reqMs, 95)),
        requestsOver300Ms: reqMs.filter((x) => x > 300).length,
        requestsCutBeforeLastWord: cut.length,
        understoodRequestsCut: cut.filter((r) => r.right).length,
        outOfGrammarP50Ms: Math.round(percentile(oogMs, 50)),
        requests: req.length,
      };
    }
    const all = allMs(silence, margin);
    by.sentenceChecks = { ran: rows.filter((r) => r.sentenceCheck !== undefined).length, accepted: rows.filter((r) => r.sentenceCheck).length, acceptedRequestsRight: rows.filter((r) => r.sentenceCheck && r.right).length };
    by.allLevels = { requestsP95Ms: Math.round(percentile(all, 95)), requestsOver300Ms: all.filter((x) => x > 300).length, requests: all.length };
    report[name] = by;
    lines.push(`${name}: ${JSON.stringify(by)}`);
  }
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', `recognition-ends${suffix}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), note: 'audio time from the last word to where the session ended (decoding time not included)', report }, null, 2) + '\n');
  process.stdout.write(lines.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
