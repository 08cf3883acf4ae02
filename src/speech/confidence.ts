/**
 * Measures of how sure the recogniser can be that an utterance is the sentence its grammar
 * decoder found (./pocketsphinx.ts), from both decoders' results: given to `onHypothesis`
 * (benchmarks, diagnostics) and compared in bench/recognition-calibrate.ts. The recogniser's
 * rejection uses `ratio` (against an SNR-dependent threshold): on the calibration set, none of
 * the others, alone or in a logistic model with it, accepted more right sentences at the same
 * out-of-grammar accepts (docs/benchmarks.md).
 */
import type { Evidence } from './pocketsphinx-session.js';

/**
 * The score ratio the rejection judges by: a decoder's path score less its competitor's (the
 * phone loop, or the word loop), per frame decoded (at least 10, so a near-empty utterance does
 * not swing it).
 */
export function scoreRatio(score: number, competitor: number, frames: number): number {
  return (score - competitor) / Math.max(10, frames);
}

/** The measures of one utterance, all in pocketsphinx's path-score units (log base 1.0001) per frame unless said. */
export interface Features {
  /** (grammar - phone loop) over every frame decoded: how well the sentence explains the audio. */
  ratio: number;
  /** The same difference over the frames the sentence's words span (first to last word, pauses inside included). */
  speechRatio: number;
  /** (best - next best distinct sentence) over the words' frames; `MAX_MARGIN` when the lattice holds no other. */
  margin: number;
  /**
   * Each word's acoustic score less the phone loop's over the same frames, per frame: the worst
   * word, and the mean over the words (-99 without words).
   */
  worstWord: number;
  meanWord: number;
  /** The words' acoustic scores less the loop's over the frames they span, per frame (no language scores). */
  acousticRatio: number;
  /** Frames the words span. */
  speechFrames: number;
  /** Words in the sentence (fillers and silences not counted). */
  words: number;
  /** The noise filter's SNR estimate, dB (60 when unknown or clean). */
  snrDb: number;
  /** (grammar - word loop) over every frame decoded (undefined without a word loop). */
  wordRatio?: number;
  /** The share of the sentence's words that the word loop heard too, in any order (undefined without a word loop). */
  wordOverlap?: number;
}

/** The margin given when no rival sentence was found. */
export const MAX_MARGIN = 20;

/** Not a word: silences, fillers, and the lattice's start node `(NULL)`. */
const isWord = (w: string) => !/^(<.*>|\[.*\]|\+\+.*\+\+|sil|\(null\))$/i.test(w);

/** The phone loop's acoustic score over frames `start`-`end` (inclusive), phones cut at the edges counted pro rata. */
function loopAcoustic(phones: Evidence['phones'], start: number, end: number): number {
  let sum = 0;
  for (const p of phones) {
    const from = Math.max(start, p.start);
    const to = Math.min(end, p.end);
    if (to >= from) sum += (p.ascr * (to - from + 1)) / (p.end - p.start + 1);
  }
  return sum;
}

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
  const perWord = words.map((w) => (w.ascr - loopAcoustic(e.phones, w.start, w.end)) / (w.end - w.start + 1));
  const spanned = e.words.filter((w) => w.start >= first && w.end <= last).reduce((a, w) => a + w.ascr, 0);
  return {
    ratio: scoreRatio(e.grammar.score, e.loop.score, e.frames),
    worstWord: perWord.length ? Math.min(...perWord) : -99,
    meanWord: perWord.length ? perWord.reduce((a, b) => a + b, 0) / perWord.length : -99,
    acousticRatio: words.length ? (spanned - loopAcoustic(e.phones, first, last)) / speechFrames : -99,
    speechRatio: diff / speechFrames,
    margin,
    speechFrames,
    words: words.length,
    snrDb: e.snrDb ?? 60,
    ...(e.wordLoop ? wordLoopFeatures(best, e.wordLoop, e.grammar.score, e.frames) : {}),
  };
}


/** The word loop's measures: its score against the grammar's, and how many of the sentence's words it heard. */
function wordLoopFeatures(best: string, loop: { text: string | null; score: number }, grammarScore: number, frames: number): { wordRatio: number; wordOverlap: number } {
  const heard = new Set((loop.text ?? '').split(/\s+/).filter(Boolean));
  const said = best.split(/\s+/).filter((w) => w && !w.startsWith('lead_'));
  return {
    wordRatio: scoreRatio(grammarScore, loop.score, frames),
    wordOverlap: said.length ? said.filter((w) => heard.has(w)).length / said.length : 0,
  };
}
