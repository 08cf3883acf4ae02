/**
 * Scoring for the recognition bench (./recognition.ts): accuracy figures over decoded
 * utterances, and where the errors come from.
 *
 * Two accuracies per spoken request:
 *   - sentence: the transcript is exactly the words said;
 *   - command: the gateway does exactly what the words said would have made it do (same reply,
 *     same announcements, same device command), judged by running the real skills on both.
 *     "turn on the kitchen lights" for "turn on the kitchen light" is the same command, "what is
 *     the time now" for "what time is it" too; "on" for "off" is not.
 * A rejection is a miss in both. Out-of-grammar sentences should be rejected: accepting one is a
 * false accept (the gateway acting on something never asked).
 */
import { Assistant, builtinSkills, type Conversation } from '../src/local-gateway/assistant.js';
import { normalizeText } from '../src/speech/phrases.js';
import type { ThresholdCurve } from '../src/speech/rejection.js';

export interface Decoded {
  ref: string;
  inGrammar: boolean;
  voice: string;
  /** Pink-noise SNR, dB; null in quiet. */
  snr: number | null;
  hyp: string;
  ratio: number;
  /** The noise filter's estimate of the utterance's SNR (the threshold follows it). */
  snrDb: number | undefined;
  /** The threshold curve the recogniser judged it by (its decoders for noise have their own; default: the recogniser's usual one). */
  curve?: ThresholdCurve;
}

export type Accept = (d: Decoded) => boolean;

const pct = (x: number) => Math.round(x * 1000) / 10;

function wordErrors(ref: string[], hyp: string[]): number {
  const d = Array.from({ length: ref.length + 1 }, (_, i) => [i, ...new Array<number>(hyp.length).fill(0)]);
  for (let j = 1; j <= hyp.length; j++) d[0]![j] = j;
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= hyp.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
  }
  return d[ref.length]![hyp.length]!;
}

/** What the gateway does for `text` from a fresh start, as one comparable string. */
function effect(text: string): string {
  const assistant = new Assistant(builtinSkills({ lights: { reportDelayMs: 0 } }));
  const announced: string[] = [];
  const ctx = {
    now: () => new Date(2026, 11, 1, 8, 56),
    announce: (t: string, delayMs: number) => {
      announced.push(`${t}@${delayMs}`);
      return { cancel: () => undefined };
    },
  };
  const conv: Conversation = {};
  const a = assistant.answer({ kind: 'recognized', text }, conv, ctx);
  assistant.close();
  return JSON.stringify({ skill: a.skill, text: a.text, data: a.data ?? null, prompt: a.prompt, announced });
}

const effects = new Map<string, string>();
/** True when `hyp` makes the gateway do what `ref` would have. */
export function sameCommand(ref: string, hyp: string): boolean {
  if (ref === hyp) return true;
  for (const t of [ref, hyp]) if (!effects.has(t)) effects.set(t, effect(t));
  return effects.get(ref) === effects.get(hyp);
}

/** Accuracy figures for a set of utterances under `accept`. */
export function score(decoded: Decoded[], accept: Accept) {
  const ins = decoded.filter((d) => d.inGrammar);
  const oog = decoded.filter((d) => !d.inGrammar);
  const n = Math.max(1, ins.length);
  let errors = 0;
  let words = 0;
  for (const d of ins) {
    const ref = d.ref.split(' ');
    errors += wordErrors(ref, accept(d) ? normalizeText(d.hyp).split(' ') : []);
    words += ref.length;
  }
  const acc = ins.filter(accept);
  return {
    n: ins.length,
    commandAccuracyPct: pct(acc.filter((d) => sameCommand(d.ref, d.hyp)).length / n),
    sentenceAccuracyPct: pct(acc.filter((d) => d.hyp === d.ref).length / n),
    wordAccuracyPct: pct(1 - errors / Math.max(1, words)),
    rejectedPct: pct((ins.length - acc.length) / n),
    wrongCommandPct: pct(acc.filter((d) => !sameCommand(d.ref, d.hyp)).length / n),
    outOfGrammar: oog.length,
    falseAcceptPct: pct(oog.filter(accept).length / Math.max(1, oog.length)),
  };
}

/**
 * Where the errors come from, counted per utterance: right; accepted but other words that mean
 * the same command; a wrong command (substitution); rejected although the words were right (the
 * rejection's cost); rejected with wrong words; and out-of-grammar sentences accepted (an
 * inserted command).
 */
export function breakdown(decoded: Decoded[], accept: Accept) {
  const out = { right: 0, sameCommandOtherWords: 0, wrongCommand: 0, rejectedWordsRight: 0, rejectedWordsWrong: 0, outOfGrammarAccepted: 0, outOfGrammarRejected: 0 };
  for (const d of decoded) {
    const ok = accept(d);
    if (!d.inGrammar) out[ok ? 'outOfGrammarAccepted' : 'outOfGrammarRejected']++;
    else if (!ok) out[d.hyp === d.ref ? 'rejectedWordsRight' : 'rejectedWordsWrong']++;
    else if (d.hyp === d.ref) out.right++;
    else out[sameCommand(d.ref, d.hyp) ? 'sameCommandOtherWords' : 'wrongCommand']++;
  }
  return out;
}

/** Each request's command accuracy over all voices at one noise level, worst first. */
export function byCommand(decoded: Decoded[], accept: Accept): Record<string, number> {
  const refs = [...new Set(decoded.filter((d) => d.inGrammar).map((d) => d.ref))];
  const rows = refs.map((ref): [string, number] => {
    const ds = decoded.filter((d) => d.ref === ref);
    return [ref, pct(ds.filter((d) => accept(d) && sameCommand(d.ref, d.hyp)).length / ds.length)];
  });
  return Object.fromEntries(rows.sort((a, b) => a[1] - b[1]));
}

/** The misses and the false accepts, one line each. */
export function misses(decoded: Decoded[], accept: Accept): string[] {
  return decoded
    .filter((d) => (d.inGrammar ? !(accept(d) && sameCommand(d.ref, d.hyp)) : accept(d)))
    .map((d) => `${d.voice}: ${d.inGrammar ? '' : 'out of grammar: '}"${d.ref}" -> ${accept(d) ? `"${d.hyp}" (ratio ${d.ratio.toFixed(1)})` : `rejected (closest "${d.hyp}", ratio ${d.ratio.toFixed(1)})`}`);
}
