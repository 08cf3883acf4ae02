/**
 * How sure the recogniser is that an utterance is the sentence its grammar decoder found
 * (./pocketsphinx.ts): measures taken from both decoders' results, and the rule that turns
 * them into a confidence and a rejection.
 */
import type { Evidence } from './pocketsphinx-session.js';

/** The measures of one utterance, all in pocketsphinx's path-score units (log base 1.0001) per frame unless said. */
export interface Features {
  /** (grammar - phone loop) over every frame decoded: how well the sentence explains the audio. */
  ratio: number;
  /** The same difference over the frames the sentence's words span (first to last word, pauses inside included). */
  speechRatio: number;
  /** (best - next best distinct sentence) over the words' frames; `MAX_MARGIN` when the lattice holds no other. */
  margin: number;
  /** Frames the words span. */
  speechFrames: number;
  /** Words in the sentence (fillers and silences not counted). */
  words: number;
  /** The noise filter's SNR estimate, dB (60 when unknown or clean). */
  snrDb: number;
}

/** The margin given when no rival sentence was found. */
export const MAX_MARGIN = 20;

const isWord = (w: string) => !/^(<.*>|\[.*\]|sil|<sil>)$/i.test(w) && !w.startsWith('++');

/** The measures of `e` (whose grammar decoder found a sentence). */
export function features(e: Evidence): Features {
  const words = e.words.filter((w) => isWord(w.word.replace(/\(\d+\)$/, '')));
  const first = words[0]?.start ?? 0;
  const last = words[words.length - 1]?.end ?? e.frames - 1;
  const speechFrames = Math.max(10, last - first + 1);
  const diff = e.grammar.score - e.loop.score;
  const best = (e.grammar.text ?? '').trim();
  const own = e.nbest.find((h) => h.text === best)?.score ?? Math.min(...e.nbest.map((h) => h.score));
  const rival = e.nbest.filter((h) => h.text !== best)[0];
  const margin = rival ? Math.min(MAX_MARGIN, (own - rival.score) / speechFrames) : MAX_MARGIN;
  return {
    ratio: diff / Math.max(10, e.frames),
    speechRatio: diff / speechFrames,
    margin,
    speechFrames,
    words: words.length,
    snrDb: e.snrDb ?? 60,
  };
}

/** A logistic model over the measures: P(the sentence is what was said) = 1 / (1 + e^-(bias + weights . inputs)). */
export interface Model {
  bias: number;
  /** For ratio, speechRatio, margin, min(30, snrDb), words. */
  weights: number[];
}

/** Placeholder until calibrated (bench/recognition-calibrate.ts). */
export const MODEL: Model = { bias: 0, weights: [1, 0, 0, 0, 0] };

/** The model's probability that `f`'s sentence is right. */
export function acceptScore(f: Features, m: Model): number {
  const x = [f.ratio, f.speechRatio, f.margin, Math.min(30, f.snrDb), f.words];
  const z = m.bias + x.reduce((a, v, j) => a + v * (m.weights[j] ?? 0), 0);
  return 1 / (1 + Math.exp(-z));
}
