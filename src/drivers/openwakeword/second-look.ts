/**
 * A second look at a keyword that may have been said too fast for the model: when a score
 * reaches `lowScore` (0.2) without a detection, the engine looks at once and, if that finds
 * nothing, again 3 steps (240 ms) later, when a slower keyword has ended (`delaySteps`). Each
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
import { CHUNK_SAMPLES, HALF_SAMPLES } from './features.js';
import type { OwwModel } from './runtime.js';
import { stretch } from './stretch.js';

export interface SecondLookOptions {
  /** Score (either phase) that opens a look, below the threshold (default 0.2; Infinity: never). */
  lowScore?: number;
  /** Steps of 80 ms from that score to each look, ascending (default [0, 3]; the engine uses [3] when its look-ahead is off); a later look runs when the earlier ones found nothing. */
  delaySteps?: number | readonly number[];
  /** Time stretch of each copy scored (default [1.15, 1.2]: 15 and 20 % slower); the best copy counts. */
  factors?: readonly number[];
  /** Audio the copy is cut from, ms before the look (default 2000). */
  windowMs?: number;
}

/** What a look found. */
export interface LookResult {
  /** Best score of the copy's steps. */
  best: number;
  /** The highest score reached by `triggerLevel` consecutive steps of the copy. */
  streakScore: number;
}

export const SECOND_LOOK_DEFAULTS = { lowScore: 0.2, delaySteps: [0, 3], factors: [1.15, 1.2], windowMs: 2000 } as const;

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
  /** Looks run so far (for benches). */
  looks = 0;

  constructor(
    mel: OwwModel,
    embedding: OwwModel,
    readonly keyword: OwwModel,
    readonly frames: number,
    options: SecondLookOptions = {},
  ) {
    this.#scorer = new CopyScorer(mel, embedding, keyword, frames);
    this.#lowScore = options.lowScore ?? SECOND_LOOK_DEFAULTS.lowScore;
    const delays = options.delaySteps ?? SECOND_LOOK_DEFAULTS.delaySteps;
    this.#delays = (typeof delays === 'number' ? [delays] : [...delays]).map((d) => d * CHUNK_SAMPLES);
    if (this.#delays.length === 0 || this.#delays.some((d, i) => !Number.isInteger(d) || d < 0 || (i > 0 && d <= this.#delays[i - 1]!))) throw new RangeError(`second look delaySteps must be ascending whole steps, got ${String(delays)}`);
    this.#factors = options.factors ?? SECOND_LOOK_DEFAULTS.factors;
    const samples = Math.round(((options.windowMs ?? SECOND_LOOK_DEFAULTS.windowMs) * 16) / HALF_SAMPLES) * HALF_SAMPLES;
    this.#ring = new SampleRing(Math.max(HALF_SAMPLES, samples));
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
  }

  /** Keeps one 40 ms half of the audio the models hear. */
  remember(half: Int16Array): void {
    this.#ring.push(half);
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

  /** A detection: no look for this rise. */
  cancel(): void {
    this.#dueAt = null;
    this.#low = 0;
  }

  /** Whether the look is due at `end` (the end of the audio remembered so far). */
  due(end: number): boolean {
    return this.#dueAt !== null && end >= this.#dueAt;
  }

  /** Stretches the remembered audio and scores it; the pending look is done, and the next of the rise (if any) is due later. */
  async run(triggerLevel: number): Promise<LookResult> {
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
    return { best, streakScore };
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
