/**
 * A second look at a keyword that may have been said too fast for the model: when a score
 * reaches `lowScore` (0.2) without a detection, the engine looks at once (`delaySteps`; the
 * engine without its look-ahead looks 3 steps, 240 ms, later instead, when a slower keyword has
 * ended). A later look 3 steps after the first was the default until the look at the end of
 * speech (below) came: on the false-accept speech it scored 0.999 on a stretched "harvest,
 * jarvis" (flite kal at 0.85x), and without it the tuning set lost one of 117 detections
 * (docs/benchmarks.md). Each
 * look takes the last 2 s of audio, stretches it 1.15 and 1.2 times in time
 * with the pitch kept (stretch.ts, WSOLA), and scores each copy with the same models from a
 * fresh front end. When a copy reaches the threshold (`triggerLevel` steps in a row), it is a
 * detection.
 *
 * Why: the stock models miss fast renditions ("hey jarvis" said 1.2 times faster than the
 * voice's default scored 0.3-0.49); said slower, the same voice scores near 1. Other speech
 * rarely scores 0.2, so the look costs nothing most of the time; the benchmark counts how often
 * it runs and what it does to false accepts (docs/benchmarks.md).
 *
 * One series of looks per rise of the score: after it (or a detection) the next one waits until
 * two scores in a row (with the half steps running: both phases) fall below `lowScore` again.
 */
import { SampleRing } from '../../audio/ring-buffer.js';
import { CopyScorer } from './copy-scorer.js';
import type { FastEmbedding } from './embedding-graphs.js';
import { CHUNK_SAMPLES, HALF_SAMPLES } from './features.js';
import type { OwwModel } from './runtime.js';
import { SpeechEnds } from './speech-ends.js';
import { stretch } from './stretch.js';

export interface SecondLookOptions {
  /** Score (either phase) that opens a look, below the threshold (default 0.2; Infinity: never). */
  lowScore?: number;
  /** Steps of 80 ms from that score to each look, ascending (default [0]; the engine uses [3] when its look-ahead is off); a later look runs when the earlier ones found nothing. */
  delaySteps?: number | readonly number[];
  /** Time stretch of each copy scored (default [1.15, 1.2]: 15 and 20 % slower); the best copy counts. */
  factors?: readonly number[];
  /** Audio the copy is cut from, ms before the look (default 2000). */
  windowMs?: number;
  /** The look at the end of speech (see below); `delaySteps: []` turns it off. */
  atSpeechEnd?: SpeechEndLookOptions;
}

/**
 * The look at the end of speech: a keyword said fast scores nothing on the steps until
 * 300-450 ms after it ends (too late for the look at a score of 0.2 to be quick), while its
 * stretched copy followed by the room's quiet scores near 1 from about its end. So where speech
 * ends (speech-ends.ts) after a stretch of speech as long as a fast keyword (14-20 halves of
 * 40 ms: the tuning set's renditions at 1.15x took 14-19), and `delaySteps` later (one step:
 * the quiet has lasted 80 ms) while it stays quiet, the copy stretched 1.2x is scored at its
 * last `positions` steps (none by default) and with `padChunks` chunks of the room's quiet after
 * it. The padding pretends the pause goes on (as the look-ahead's does), so the copy must reach
 * `threshold` (0.8; on every stretch when there are several and `agree`), and speech that
 * resumes before the look cancels it. One stretch and 3 padded steps keep the look at about 18
 * embedding windows (17 ms p50 here with the long form of the embedding model, bench/results/oww.json speechEndLookComputeMs, quiet): it runs at the ends of speech of that length.
 */
export interface SpeechEndLookOptions {
  /** Steps of 80 ms after the end of speech at which it looks, while it stays quiet ([]: never). */
  delaySteps?: readonly number[];
  /** Real steps of each copy scored (its last ones). */
  positions?: number;
  /** Chunks of the room's quiet after each copy, 80 ms each. */
  padChunks?: number;
  threshold?: number;
  agree?: boolean;
  /** Time stretch of each copy (default [1.2]: one copy, to keep the look cheap). */
  factors?: readonly number[];
  /** Speech halves (40 ms) the stretch before the end needs, and may have at most (a fast keyword is short). */
  minSpeechHalves?: number;
  maxSpeechHalves?: number;
}

/** What a look found. */
export interface LookResult {
  /** Best score of the copy's steps. */
  best: number;
  /** The highest score reached by `triggerLevel` consecutive steps of the copy (the look at the end of speech: of the copies, the lowest when they must agree). */
  streakScore: number;
  /** The look at a rise of the score, or at the end of speech. */
  kind?: LookKind;
}

export type LookKind = 'rise' | 'speech-end';

/** After a detection, the end of speech that follows (the keyword's own) opens no look for 1 s, samples. */
const SPEECH_END_HOLD = 16000;

export const SECOND_LOOK_DEFAULTS = { lowScore: 0.2, delaySteps: [0], factors: [1.15, 1.2], windowMs: 2000 } as const;

/** The look at the end of speech: its settings were chosen on the benchmark's tuning set (bench/wake-oww-offsets.ts). */
export const SPEECH_END_LOOK_DEFAULTS = { delaySteps: [1], factors: [1.2], positions: 0, padChunks: 3, threshold: 0.8, agree: true, minSpeechHalves: 14, maxSpeechHalves: 20 } as const satisfies Required<SpeechEndLookOptions>;

export class SecondLook {
  readonly #scorer: CopyScorer;
  readonly #lowScore: number;
  /** Samples from the first score at lowScore to each look. */
  readonly #delays: readonly number[];
  readonly #factors: readonly number[];
  /** The last `windowMs` of audio the models heard (whole halves). */
  readonly #ring: SampleRing;
  /** The look is due at this sample index (null: none pending). */
  #dueAt: number | null = null;
  /** Where the rise began (its first score at lowScore), and the next of #delays. */
  #riseAt = 0;
  #nextDelay = 0;
  /** Scores in a row below lowScore since the last look (2: a new rise may open one). */
  #low = 2;
  /** Looks run so far (for benches), and of them the looks at the end of speech. */
  looks = 0;
  speechEndLooks = 0;
  /** The end of speech, or null when that look is off. */
  readonly #ends: SpeechEnds | null;
  readonly #end: Required<SpeechEndLookOptions>;
  /** The looks at the latest end of speech still due, sample indexes ascending. */
  #endDue: number[] = [];
  /** No look at an end of speech before this index (just after a detection). */
  #heldUntil = Number.NEGATIVE_INFINITY;

  constructor(
    mel: OwwModel,
    embedding: OwwModel,
    readonly keyword: OwwModel,
    readonly frames: number,
    options: SecondLookOptions = {},
    fast: FastEmbedding | null = null,
  ) {
    this.#scorer = new CopyScorer(mel, embedding, keyword, frames, fast);
    this.#lowScore = options.lowScore ?? SECOND_LOOK_DEFAULTS.lowScore;
    const delays = options.delaySteps ?? SECOND_LOOK_DEFAULTS.delaySteps;
    this.#delays = (typeof delays === 'number' ? [delays] : [...delays]).map((d) => d * CHUNK_SAMPLES);
    if (this.#delays.length === 0 || this.#delays.some((d, i) => !Number.isInteger(d) || d < 0 || (i > 0 && d <= this.#delays[i - 1]!))) throw new RangeError(`second look delaySteps must be ascending whole steps, got ${String(delays)}`);
    this.#factors = options.factors ?? SECOND_LOOK_DEFAULTS.factors;
    const samples = Math.round(((options.windowMs ?? SECOND_LOOK_DEFAULTS.windowMs) * 16) / HALF_SAMPLES) * HALF_SAMPLES;
    this.#ring = new SampleRing(Math.max(HALF_SAMPLES, samples));
    this.#end = { ...SPEECH_END_LOOK_DEFAULTS, ...options.atSpeechEnd };
    const endDelays = this.#end.delaySteps;
    if (endDelays.some((d, i) => !Number.isInteger(d) || d < 0 || (i > 0 && d <= endDelays[i - 1]!))) throw new RangeError(`second look atSpeechEnd.delaySteps must be ascending whole steps, got ${String(endDelays)}`);
    this.#ends = endDelays.length > 0 && this.enabled ? new SpeechEnds({ minSpeechHalves: this.#end.minSpeechHalves }) : null;
  }

  /** The score a look at the end of speech must reach. */
  get speechEndThreshold(): number {
    return this.#end.threshold;
  }

  /** Whether looks can open at all (lowScore finite). */
  get enabled(): boolean {
    return Number.isFinite(this.#lowScore);
  }

  init(): Promise<void> {
    return this.#scorer.init();
  }

  /** Forgets the audio and any pending look (a gap in the stream). */
  reset(): void {
    this.#ring.clear();
    this.#dueAt = null;
    this.#low = 2;
    this.#ends?.reset();
    this.#endDue = [];
    this.#heldUntil = Number.NEGATIVE_INFINITY;
  }

  /**
   * Keeps one 40 ms half of the audio the models hear, ending at `end`: where speech ends, the
   * looks at the end of speech are due `atSpeechEnd.delaySteps` later; speech cancels them.
   */
  remember(half: Int16Array, end?: number): void {
    this.#ring.push(half);
    if (!this.#ends || end === undefined) return;
    const event = this.#ends.push(half);
    if (event === 'speech') this.#endDue = [];
    else if (event === 'end' && end >= this.#heldUntil && this.#ends.lastSpeechHalves <= this.#end.maxSpeechHalves) this.#endDue = this.#end.delaySteps.map((d) => end + d * CHUNK_SAMPLES);
  }

  /** Notes one score ending at `end`: a first score at lowScore opens a look `delaySteps` later. */
  note(score: number, end: number): void {
    if (score < this.#lowScore) {
      this.#low++;
    } else {
      if (this.#dueAt === null && this.#low >= 2) {
        this.#riseAt = end;
        this.#nextDelay = 1;
        this.#dueAt = end + this.#delays[0]!;
      }
      this.#low = 0;
    }
  }

  /** A detection (at `end`): no look for this rise, nor at an end of speech in the next second. */
  cancel(end?: number): void {
    this.#dueAt = null;
    this.#low = 0;
    this.#endDue = [];
    if (end !== undefined) this.#heldUntil = end + SPEECH_END_HOLD;
  }

  /** Drops the looks at this end of speech (the guard raises the threshold: they pretend a pause). */
  skipSpeechEnd(): void {
    this.#endDue = [];
  }

  /** Whether a look is due at `end` (the end of the audio remembered so far). */
  due(end: number): boolean {
    return this.next(end) !== null;
  }

  /** Which look is due at `end`: the rise's first when both are. */
  next(end: number): LookKind | null {
    if (this.#dueAt !== null && end >= this.#dueAt) return 'rise';
    if (this.#endDue.length > 0 && end >= this.#endDue[0]!) return 'speech-end';
    return null;
  }

  /**
   * Stretches the remembered audio and scores it: the look due at `end` (without `end`, the
   * rise's). That look is done; the next of the rise (if any) is due later.
   */
  async run(triggerLevel: number, end?: number): Promise<LookResult> {
    if (end !== undefined && this.next(end) === 'speech-end') return this.#atSpeechEnd(triggerLevel, end);
    const next = this.#delays[this.#nextDelay];
    this.#nextDelay++;
    this.#dueAt = next === undefined ? null : this.#riseAt + next;
    this.#low = 0;
    this.looks++;
    const audio = this.#ring.snapshot();
    let best = 0;
    let streakScore = 0;
    for (const factor of this.#factors) {
      const r = await this.#score(stretch(audio, { factor }), triggerLevel);
      best = Math.max(best, r.best);
      streakScore = Math.max(streakScore, r.streakScore);
    }
    return { best, streakScore, kind: 'rise' };
  }

  /** The look at the end of speech: each stretch's last positions and padded steps. */
  async #atSpeechEnd(triggerLevel: number, end: number): Promise<LookResult> {
    while (this.#endDue.length > 0 && this.#endDue[0]! <= end) this.#endDue.shift();
    this.looks++;
    this.speechEndLooks++;
    const audio = this.#ring.snapshot();
    const pads = this.#ends!.pads(this.#end.padChunks);
    let best = 0;
    let agreed = Number.POSITIVE_INFINITY;
    let any = 0;
    for (const factor of this.#end.factors) {
      const r = await this.#scorer.score(stretch(audio, { factor }), pads, this.#end.positions);
      const all = new Float32Array(r.real.length + r.padded.length);
      all.set(r.real);
      all.set(r.padded, r.real.length);
      const s = streaks(all, triggerLevel);
      best = Math.max(best, s.best);
      agreed = Math.min(agreed, s.streakScore);
      any = Math.max(any, s.streakScore);
    }
    return { best, streakScore: this.#end.agree ? agreed : any, kind: 'speech-end' };
  }

  /** Scores one copy as a fresh front end would, in chunks aligned to its end (its newest audio), as the live grid is to now. */
  async #score(copy: Float32Array, triggerLevel: number): Promise<LookResult> {
    const { real } = await this.#scorer.score(copy, [], Number.POSITIVE_INFINITY);
    return streaks(real, triggerLevel);
  }
}

/** The best score of `scores` and the highest reached by `triggerLevel` of them in a row. */
export function streaks(scores: ArrayLike<number>, triggerLevel: number): LookResult {
  let best = 0;
  let streakScore = 0;
  for (let i = 0; i < scores.length; i++) {
    best = Math.max(best, scores[i]!);
    if (i + 1 < triggerLevel) continue;
    let low = scores[i]!;
    for (let j = i + 1 - triggerLevel; j < i; j++) low = Math.min(low, scores[j]!);
    streakScore = Math.max(streakScore, low);
  }
  return { best, streakScore };
}
