/**
 * The scoring half of the openWakeWord engine: each 40 ms half of an 80 ms chunk goes through
 * the streaming front end and the keyword model, and the scores become detections.
 *
 * - The 80 ms steps are openWakeWord's own grid; the first 5 scores after a (re)start are
 *   ignored while the buffers fill, as openWakeWord does.
 * - Half steps: once a score reaches `armScore` (a keyword may be under way), the audio is also
 *   scored 40 ms off the grid, for a second after the last such score. That phase keeps its own
 *   trigger-level streak.
 * - Second look (second-look.ts): a keyword the model under-scores because it was said fast is
 *   scored again on a slowed-down copy, at a rise of the score and where speech ends.
 * - Look-ahead (look-ahead.ts): a step that scores at least its gate is scored again on a copy
 *   of the streaming state padded with the room's quiet, which the model scores as the keyword's
 *   end a few steps before the real audio gets there.
 *
 * What a detection then is (guard, refractory period, the event) is the engine's: `detect`.
 */
import type { Logger } from '../../log/logger.js';
import { EMBEDDING_SIZE, type StreamingFeatures } from './features.js';
import type { OwwModel } from './runtime.js';
import type { LookAhead } from './look-ahead.js';
import type { LookResult, SecondLook } from './second-look.js';

/** Scores ignored after start while the buffers fill (openWakeWord zeroes its first 5). */
const WARMUP_CHUNKS = 5;
/** How long the half steps run after the last score at or above the arming score, samples (1 s). */
const HALF_STEP_HOLD = 16000;

export interface StepScorerOptions {
  features: StreamingFeatures;
  keyword: OwwModel;
  /** Embeddings the keyword model reads. */
  frames: number;
  /** The second look, or null when it is off. */
  look: SecondLook | null;
  /** The look-ahead, or null when it is off. */
  lookAhead: LookAhead | null;
  /** Score from which the half steps run (0: always, Infinity: never). */
  armScore: number;
  /** The configured threshold and trigger level (the streaks count at this threshold). */
  threshold: number;
  triggerLevel: number;
  /** The threshold a detection needs now (the self-trigger guard may raise it). */
  activeThreshold: () => number;
  /** Detections are dropped now (the guard in `ignore` mode): no second look then. */
  ignoring: () => boolean;
  /** A detection at `end`; returns whether it was taken (not guarded or refractory). */
  detect: (score: number, end: number, how: DetectionKind) => boolean;
  onScore?: ((score: number, endSampleIndex: number) => void) | undefined;
  /** Called after each second look with its result and the sample index it ran at. */
  onSecondLook?: ((result: LookResult, endSampleIndex: number) => void) | undefined;
  /** Called after each look-ahead with the padded steps' scores (a live view) and the step's index. */
  onLookAhead?: ((scores: Float32Array, endSampleIndex: number) => void) | undefined;
  log: Logger;
}

/** How a detection was made: a step's own score, a second look (at a rise of the score, or at the end of speech), or a look-ahead. */
export type DetectionKind = 'step' | 'second-look' | 'speech-end' | 'look-ahead';

export class StepScorer {
  readonly #o: StepScorerOptions;
  readonly #dims: number[];
  /** The next half is the first of a chunk. */
  #firstHalf = true;
  #chunks = 0;
  /** Consecutive scores at the threshold of the 80 ms steps, and of the half steps. */
  #streak = 0;
  #halfStreak = 0;
  /** Half steps run up to this capture index. */
  #armedUntil = Number.NEGATIVE_INFINITY;
  /** The latest #decide took a detection. */
  #detected = false;

  constructor(options: StepScorerOptions) {
    this.#o = options;
    this.#dims = [1, options.frames, EMBEDDING_SIZE];
  }

  /** Scores one half chunk (40 ms) ending at `end`; `reset`: it does not continue the audio before. */
  async score(half: Int16Array, end: number, reset: boolean): Promise<void> {
    const { features, keyword, look, lookAhead } = this.#o;
    if (reset) {
      features.reset();
      look?.reset();
      lookAhead?.reset();
      this.#chunks = 0;
      this.#streak = 0;
      this.#halfStreak = 0;
      this.#firstHalf = true;
      this.#armedUntil = Number.NEGATIVE_INFINITY;
    }
    look?.remember(half, end);
    lookAhead?.remember(half);
    const first = this.#firstHalf;
    this.#firstHalf = !first;
    let score = -1;
    if (!first) {
      await features.pushSecondHalf(half);
      // The step graph scored it with the embedding, or the keyword model runs now.
      const s = features.stepScore ?? (await keyword.run(features.embeddings, this.#dims))[0]!;
      score = this.#chunks < WARMUP_CHUNKS ? 0 : s;
      this.#chunks++;
      this.#streak = this.#decide(score, end, this.#streak);
    } else if (await features.pushFirstHalf(half, this.#chunks >= WARMUP_CHUNKS && (this.#o.armScore <= 0 || end <= this.#armedUntil))) {
      score = (await keyword.run(features.halfEmbeddings, this.#dims))[0]!;
      this.#halfStreak = this.#decide(score, end, this.#halfStreak);
    } else {
      this.#halfStreak = 0;
    }
    if (lookAhead && score >= lookAhead.gate && !this.#detected) await this.#lookAhead(lookAhead, first, end);
    if (look?.due(end)) await this.#secondLook(look, end);
  }

  /** One score of one phase: arms the half steps, counts the streak, detects. Returns the new streak. */
  #decide(score: number, end: number, streak: number): number {
    const o = this.#o;
    this.#detected = false;
    o.onScore?.(score, end);
    if (score >= o.armScore) this.#armedUntil = end + HALF_STEP_HOLD;
    o.look?.note(score, end);
    // The streak counts steps at the normal threshold, so the guard can change mid-keyword.
    const run = score >= o.threshold ? streak + 1 : 0;
    if (run < o.triggerLevel || score < o.activeThreshold()) return run;
    o.look?.cancel(end);
    return this.#taken(o.detect(score, end, 'step')) ? 0 : run;
  }

  /**
   * Scores the state after this step padded with quiet; a detection at this step when the copy
   * reaches the look-ahead's threshold. Not while the guard drops detections or raises the
   * threshold (barge-in then waits for the real audio's own score).
   */
  async #lookAhead(la: LookAhead, half: boolean, end: number): Promise<void> {
    const o = this.#o;
    if (o.ignoring() || o.activeThreshold() !== o.threshold) return;
    const s = await la.run(o.features, half, o.triggerLevel);
    o.onLookAhead?.(la.scores, end);
    if (s < la.threshold) return;
    o.look?.cancel(end);
    if (this.#taken(o.detect(s, end, 'look-ahead'))) this.#detected = true;
  }

  /**
   * Scores the stretched copy; a detection when it reaches the threshold (the look at the end
   * of speech: its own threshold, and not while the guard raises the threshold, as the look-ahead).
   */
  async #secondLook(look: SecondLook, end: number): Promise<void> {
    const o = this.#o;
    if (o.ignoring()) return look.cancel();
    if (look.next(end) === 'speech-end' && o.activeThreshold() !== o.threshold) return look.skipSpeechEnd();
    const r = await look.run(o.triggerLevel, end);
    o.onSecondLook?.(r, end);
    const atEnd = r.kind === 'speech-end';
    const threshold = atEnd ? Math.max(look.speechEndThreshold, o.activeThreshold()) : o.activeThreshold();
    o.log.debug('wake-second-look', { sampleIndex: end, score: Math.round(r.best * 1000) / 1000, ...(atEnd && { atSpeechEnd: true, agreed: Math.round(r.streakScore * 1000) / 1000 }), accepted: r.streakScore >= threshold });
    if (r.streakScore < threshold) return;
    // A copy heard the keyword: no later look for this rise.
    look.cancel(end);
    this.#taken(o.detect(r.streakScore, end, atEnd ? 'speech-end' : 'second-look'));
  }

  /** After a detection that was taken, both phases count afresh. */
  #taken(taken: boolean): boolean {
    this.#detected = taken;
    if (taken) {
      this.#streak = 0;
      this.#halfStreak = 0;
    }
    return taken;
  }
}
