/**
 * The look-ahead: openWakeWord's keyword models score high only once the keyword is followed
 * by a few hundred ms of quiet (they were trained on clips that end in silence), so the score
 * peaks about 400 ms after the word. While a keyword may be under way (a step scored at least
 * `gate`), the engine copies the streaming state (mel and embedding history), appends `padMs`
 * of what quiet after the word would sound like, and scores the copy: when it reaches
 * `threshold`, that is a detection at the real step, now, instead of a few steps later.
 *
 * The padding (`pad`):
 * - `room`: the room's own background, the quietest 80 ms of the last 2 s, repeated with every
 *   other copy reversed (so no copy starts with a jump);
 * - `zeros`: digital silence;
 * - `noise`: white noise at the level of that quietest 80 ms.
 *
 * The risk is "...jarvis" followed by more speech: the padding pretends the speaker paused.
 * The benchmark measures that (docs/benchmarks.md).
 */
import type { FastEmbedding } from './embedding-graphs.js';
import { CHUNK_SAMPLES, EMBEDDING_SIZE, StreamingFeatures } from './features.js';
import { RoomQuiet } from './room-quiet.js';
import type { OwwModel } from './runtime.js';

export type LookAheadPad = 'room' | 'zeros' | 'noise';

export interface LookAheadOptions {
  /** Audio pretended after the step, ms, in 80 ms steps (0: no look-ahead). */
  padMs?: number;
  /** Score of a step (either phase) from which the look runs. */
  gate?: number;
  /** Score the padded copy must reach (`triggerLevel` padded steps in a row); Infinity: never (benches watch the scores). */
  threshold?: number;
  pad?: LookAheadPad;
}

/**
 * Without config: off. The gate (0.02) and the padding (the room's) were chosen on the
 * benchmark's tuning set (bench/wake-oww-lookahead.ts); the config's defaults (320 ms, 0.6) too.
 */
export const LOOK_AHEAD_DEFAULTS = { padMs: 0, gate: 0.02, threshold: 0.6, pad: 'room' } as const satisfies Required<LookAheadOptions>;

export class LookAhead {
  readonly #copy: StreamingFeatures;
  readonly #dims: number[];
  readonly padChunks: number;
  readonly gate: number;
  readonly threshold: number;
  readonly #pad: LookAheadPad;
  /** The last 2 s, for the room's quiet. */
  readonly #room = new RoomQuiet();
  readonly #padChunk = new Int16Array(CHUNK_SAMPLES);
  readonly #reversed = new Int16Array(CHUNK_SAMPLES);
  /** The padded steps' scores of the latest look. */
  readonly scores: Float32Array;
  #seed = 0x9e3779b9;
  /** Looks run so far (benches). */
  looks = 0;

  constructor(
    mel: OwwModel,
    embedding: OwwModel,
    readonly keyword: OwwModel,
    readonly frames: number,
    options: LookAheadOptions = {},
    fast: FastEmbedding | null = null,
  ) {
    const padMs = options.padMs ?? LOOK_AHEAD_DEFAULTS.padMs;
    this.padChunks = Math.round(padMs / 80);
    if (!Number.isFinite(padMs) || padMs < 0 || this.padChunks * 80 !== padMs) throw new RangeError(`look-ahead padMs must be a multiple of 80, got ${padMs}`);
    this.gate = options.gate ?? LOOK_AHEAD_DEFAULTS.gate;
    this.threshold = options.threshold ?? LOOK_AHEAD_DEFAULTS.threshold;
    this.#pad = options.pad ?? LOOK_AHEAD_DEFAULTS.pad;
    this.#copy = new StreamingFeatures(mel, embedding, frames, fast);
    this.#dims = [1, frames, EMBEDDING_SIZE];
    this.scores = new Float32Array(this.padChunks);
  }

  get enabled(): boolean {
    return this.padChunks > 0;
  }

  /** Forgets the room (a gap in the stream). */
  reset(): void {
    this.#room.reset();
  }

  /** Keeps one 40 ms half of the audio the models hear. */
  remember(half: Int16Array): void {
    this.#room.push(half);
  }

  /**
   * Copies `features` as they stand after the latest step (`half`: its half step), appends the
   * padding and scores each padded step into `scores`. Returns the highest score reached by
   * `triggerLevel` padded steps in a row.
   */
  async run(features: StreamingFeatures, half: boolean, triggerLevel: number): Promise<number> {
    this.looks++;
    const copy = this.#copy;
    copy.copyFrom(features, half);
    this.#fillPad();
    let streakScore = 0;
    for (let k = 0; k < this.padChunks; k++) {
      await copy.push(k % 2 === 0 ? this.#padChunk : this.#reversed);
      const s = copy.stepScore ?? (await this.keyword.run(copy.embeddings, this.#dims))[0]!;
      this.scores[k] = s;
      if (k + 1 >= triggerLevel) {
        let low = s;
        for (let j = k + 1 - triggerLevel; j < k; j++) low = Math.min(low, this.scores[j]!);
        streakScore = Math.max(streakScore, low);
      }
    }
    return streakScore;
  }

  /** The padding chunk (and its reverse) from the last 2 s. */
  #fillPad(): void {
    const pad = this.#padChunk;
    if (this.#pad === 'zeros') {
      pad.fill(0);
      this.#reversed.fill(0);
      return;
    }
    // The quietest two consecutive halves (80 ms) of what is remembered.
    const bestE = this.#room.copyQuietest(pad);
    if (this.#pad === 'noise') {
      const rms = Math.sqrt(bestE / CHUNK_SAMPLES);
      let x = this.#seed;
      for (let i = 0; i < CHUNK_SAMPLES; i++) {
        // Sum of 4 uniforms (about Gaussian, unit variance), xorshift32.
        let u = 0;
        for (let j = 0; j < 4; j++) {
          x ^= x << 13;
          x >>>= 0;
          x ^= x >>> 17;
          x ^= x << 5;
          x >>>= 0;
          u += x / 4294967296 - 0.5;
        }
        pad[i] = Math.max(-32768, Math.min(32767, Math.round(u * Math.sqrt(3) * rms)));
      }
      this.#seed = x;
    }
    for (let i = 0; i < CHUNK_SAMPLES; i++) this.#reversed[i] = pad[CHUNK_SAMPLES - 1 - i]!;
  }
}
