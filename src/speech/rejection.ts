/**
 * The pocketsphinx recogniser's rejection (./pocketsphinx.ts): the threshold a hypothesis's score
 * ratio is judged by, as a curve over the noise filter's SNR estimate, and what the grammar's
 * garbage path (Grammar.toJsgf) leaves in a hypothesis.
 */

/**
 * A threshold curve: `quiet + offset` at `from` dB of SNR and above, `slope` lower per dB below,
 * never more than `drop` lower. `quiet` is the configured threshold
 * (`pipeline.pocketsphinx.rejectThreshold`); the offset moves the whole curve for a decoder
 * whose ratios sit elsewhere (the garbage path's).
 */
export interface ThresholdCurve {
  offset: number;
  slope: number;
  drop: number;
  from: number;
}

/**
 * The curve without the garbage path: 0.5 lower per dB below 30 dB, at most 4 lower. Noise pulls
 * right sentences' ratios down more than wrong ones'. Fitted on calibration sentences kept apart
 * from the benchmark's (96 requests and 80 sentences outside the grammar, four voices, quiet and
 * 10 dB; docs/benchmarks.md) for about 3 % of out-of-grammar sentences accepted in quiet and in
 * noise.
 */
export const RATIO_CURVE: ThresholdCurve = { offset: 0, slope: 0.5, drop: 4, from: 30 };

/**
 * The rejection threshold for an utterance whose signal-to-noise ratio the noise filter
 * estimated as `snrDb` (60 for clean audio; undefined without the filter: as clean).
 */
export function thresholdAt(quiet: number, snrDb: number | undefined, curve: ThresholdCurve = RATIO_CURVE): number {
  const top = quiet + curve.offset;
  if (snrDb === undefined || snrDb >= curve.from) return top;
  return top - Math.min(curve.drop, curve.slope * (curve.from - snrDb));
}

/** The phone loop's dictionary entries, which the garbage path is made of (`ph_aa`, ...). */
export const PHONE_PREFIX = 'ph_';

/** True when a hypothesis went through the grammar's garbage path: it is no sentence. */
export function throughGarbage(text: string): boolean {
  return text.split(' ').some((w) => w.startsWith(PHONE_PREFIX));
}

/**
 * What a garbage-path hypothesis says, for logs: the words of the sentence beginning it matched,
 * then "..." for the rest ("what is the date ph_ah ph_v ..." -> "what is the date ...").
 */
export function garbageGuess(text: string): string {
  const words = text.split(' ').filter(Boolean);
  const at = words.findIndex((w) => w.startsWith(PHONE_PREFIX));
  return at < 0 ? text : [...words.slice(0, at), '...'].join(' ');
}

/**
 * The curve with the grammar's garbage path (the recogniser's default): 11.5 below the configured
 * threshold (the grammar decoder's scores sit lower when every state also leads into the
 * garbage), from 35 dB down 0.1 per dB, at most 3 more. Searched on the calibration utterances
 * (bench/recognition-calibrate.ts, `CALIB_GARBAGE=1e-25`) for the most command accuracy with no
 * more out-of-grammar sentences accepted at any noise level than the ratio rule alone accepts
 * there (docs/benchmarks.md).
 */
export const GARBAGE_CURVE: ThresholdCurve = { offset: -11.5, slope: 0.1, drop: 3, from: 35 };
