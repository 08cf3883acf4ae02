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
 * product; it is real in the run, not simulated; another number runs it after that silence). Giving up at a rejected sentence check
 * (`giveUpAtCheck`) is simulated for several SNR limits and margins from the check's recorded
 * final hypothesis, with and without an earlier tier of the hopeless rule (a shorter silence and
 * a wider margin, optionally only below an SNR) (report `giveUpAtCheck`: requests' ends, requests
 * given up, understood ones lost), on top of the product's hopeless rule; `ENDS_GIVE_UP=product` applies the recogniser's
 * own setting in the run instead of recording only. `ENDS_TAG=x` writes bench/results/recognition-ends-x.json (and its temp file) instead
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
  /** The filter's SNR estimate so far. */
  snrDb?: number | undefined;
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
    this.checks.push({ atMs: p.frames * 10, silenceMs: p.silenceMs, margin: scoreRatio(p.grammar, p.loop, p.frames) - thresholdAt(DEFAULT_REJECT_THRESHOLD, p.snrDb, this.curve), garbage: !!p.text && throughGarbage(p.text), snrDb: p.snrDb });
    return false;
  }
  /** The sentence check is the product's (ENDS_SENTENCE_CHECK=0: none, another number: that silence); it is counted. */
  sentenceCheck: boolean | undefined;
  override get sentenceCheckMs(): number {
    return process.env.ENDS_SENTENCE_CHECK ? Number(process.env.ENDS_SENTENCE_CHECK) : super.sentenceCheckMs;
  }
  override accepts(f: { text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined }): boolean {
    this.sentenceCheck = super.accepts(f);
    this.checkFinal = this.#final(f, true, this.sentenceCheck);
    return this.sentenceCheck;
  }
  /** The sentence check's final hypothesis, accepted or not. */
  checkFinal: CheckFinal | undefined;
  /** Recorded; the product's rule applies only with ENDS_GIVE_UP=product (otherwise it is simulated from the record). */
  override givesUp(f: { text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined; sentence: boolean }): boolean {
    this.checkFinal = this.#final(f, f.sentence, false);
    return process.env.ENDS_GIVE_UP === 'product' ? super.givesUp(f) : false;
  }
  #final(f: { text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined }, sentence: boolean, accepted: boolean): CheckFinal {
    return { atMs: f.frames * 10, text: f.text ?? '', sentence, garbage: !!f.text && throughGarbage(f.text), margin: scoreRatio(f.grammar, f.loop, f.frames) - thresholdAt(DEFAULT_REJECT_THRESHOLD, f.snrDb, this.curve), snrDb: f.snrDb, accepted };
  }
}

/** The sentence check's final hypothesis (frames and scores as the session saw them). */
interface CheckFinal {
  atMs: number;
  text: string;
  /** A sentence of the grammar (not the garbage path, not empty). */
  sentence: boolean;
  garbage: boolean;
  /** Its ratio less the threshold. */
  margin: number;
  snrDb: number | undefined;
  accepted: boolean;
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
  /** The sentence check's final hypothesis, when the check ran. */
  checkFinal?: CheckFinal;
}

async function run(): Promise<Ended[]> {
  const stt = new Traced({ grammars: skillGrammars(builtinSkills()), log: silentLogger() });
  const out: Ended[] = [];
  // ENDS_SET=bench: the bench's own utterances (to see where its latency comes from; never to tune on).
  const utts = process.env.ENDS_SET === 'bench' ? benchUtterances().filter((u) => !process.env.CALIB_NOISE || process.env.CALIB_NOISE.split(',').includes(u.snr === null ? 'quiet' : String(u.snr))) : calibrationUtterances();
  for (const u of utts) {
    stt.checks = [];
    stt.sentenceCheck = undefined;
    stt.checkFinal = undefined;
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
      ...(stt.checkFinal ? { checkFinal: stt.checkFinal } : {}),
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
  // Giving up at a rejected sentence check (`giveUpAtCheck`: below an SNR, garbage or a margin below
  // the threshold), and an earlier tier of the hopeless rule (a shorter silence with a wider margin,
  // optionally only below an SNR), simulated on top of the product's hopeless rule (300 ms, margin 0).
  const giveUps: Record<string, unknown> = {};
  const fires = (c: CheckFinal | undefined, belowSnrDb: number, margin: number) => !!c && !c.accepted && c.snrDb !== undefined && c.snrDb < belowSnrDb && (!c.sentence || c.garbage || c.margin < -margin);
  /** Where the earlier tier (silence, margin below the threshold, below an SNR; the garbage path too when `garbage`) ends `e`. */
  const earlyEnd = (e: Ended, t: { silenceMs: number; margin: number; belowSnrDb: number; garbage: boolean }): number => {
    for (const c of e.checks) if (c.atMs >= e.endedMs) break;
    else if (c.silenceMs >= t.silenceMs && c.snrDb !== undefined && c.snrDb < t.belowSnrDb && (c.margin < -t.margin || (t.garbage && !!c.garbage))) return c.atMs;
    return e.endedMs;
  };
  const giveUpRules: [number, number][] = [[0, 0], [15, 0], [15, 2], [15, 4], [15, Infinity], [25, 0], [25, 2], [25, 4], [99, 0], [99, 4]];
  const earlyTiers = [undefined, ...[250, 200].flatMap((silenceMs) => [2, 4, 6].flatMap((margin) => [25, 99].flatMap((belowSnrDb) => [false, true].map((garbage) => ({ silenceMs, margin, belowSnrDb, garbage })))))];
  for (const [belowSnrDb, margin] of giveUpRules) {
    for (const early of earlyTiers) {
      const name = `${belowSnrDb ? `give up below ${belowSnrDb} dB, margin ${margin}` : 'no give-up'}; ${early ? `early ${early.silenceMs} ms, margin ${early.margin}, below ${early.belowSnrDb} dB${early.garbage ? ', garbage too' : ''}` : 'no early tier'}`;
      const by: Record<string, unknown> = {};
      const ends = (r: Ended) => {
        const hopeless = Math.min(endUnder(r, 300, 0), early ? earlyEnd(r, early) : Infinity);
        const c = r.checkFinal;
        const gave = fires(c, belowSnrDb, margin) && c!.atMs < hopeless;
        // Ended by a hopeless rule before the run's own end: not understood either.
        const kept = !gave && hopeless >= r.endedMs;
        return { ms: (gave ? c!.atMs : hopeless) - r.lastWordMs, right: kept && r.right, understood: kept && r.text !== '', gave, lost: r.right && endUnder(r, 300, 0) >= r.endedMs && !kept };
      };
      for (const snr of [...levels, 'all' as const]) {
        // lost: requests understood today (the run with the product's hopeless rule) that these rules end as not understood; cut: ended before their last word.
        const at = rows.filter((r) => snr === 'all' || r.snr === snr);
        const req = at.filter((r) => r.inGrammar).map(ends);
        const oog = at.filter((r) => !r.inGrammar).map(ends);
        by[snr === 'all' ? 'allLevels' : snr === null ? 'quiet' : `${snr}dB`] = {
          requestsP95Ms: Math.round(percentile(req.map((x) => x.ms), 95)),
          requestsOver300Ms: req.filter((x) => x.ms > 300).length,
          givenUp: req.filter((x) => x.gave).length,
          understoodLost: req.filter((x) => x.lost).length,
          cutBeforeLastWord: req.filter((x) => x.ms < 0).length,
          right: req.filter((x) => x.right).length,
          outOfGrammarP50Ms: Math.round(percentile(oog.map((x) => x.ms), 50)),
          outOfGrammarAccepted: oog.filter((x) => x.understood).length,
          requests: req.length,
        };
      }
      giveUps[name] = by;
      const a = by.allLevels as Record<string, number>;
      lines.push(`${name}: all p95 ${a.requestsP95Ms} over300 ${a.requestsOver300Ms} lost ${a.understoodLost} cut ${a.cutBeforeLastWord} right ${a.right} oogAcc ${a.outOfGrammarAccepted} | ${levels.map((l) => { const x = by[l === null ? 'quiet' : `${l}dB`] as Record<string, number>; return `${l ?? 'q'}: p95 ${x.requestsP95Ms} >300 ${x.requestsOver300Ms} lost ${x.understoodLost} oog50 ${x.outOfGrammarP50Ms}`; }).join(' | ')}`);
    }
  }
  report.giveUpAtCheck = giveUps;
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
