/**
 * openWakeWord's streaming front end: 16 kHz audio in 80 ms chunks -> mel frames -> speech
 * embeddings, with the state kept between chunks the way openWakeWord's own `AudioFeatures`
 * keeps it:
 *
 * - The mel model turns N samples into N/160 - 3 frames of 32 bins (each frame spans 640
 *   samples, hop 160). Each 1,280-sample chunk is run together with the 480 samples before it,
 *   so it yields 8 new frames that continue the previous ones exactly. (Running a chunk alone
 *   gives 5 frames and loses 3 per step: the score collapses for many voices.)
 * - Mel values are scaled `x / 10 + 2`, as openWakeWord does to match Google's original model.
 * - The embedding model reads the latest 76 mel frames (0.76 s) after every chunk: one 96-value
 *   embedding per 80 ms, i.e. windows of 76 frames stepped by 8.
 * - Before any audio the mel history is all ones and the embedding history holds embeddings of
 *   4 s of low random noise, as in openWakeWord, so the first detections need no warm-up audio.
 *
 * No allocation per chunk beyond what the runtime itself returns.
 */
import type { OwwModel } from './runtime.js';

/** Samples per step (80 ms at 16 kHz). */
export const CHUNK_SAMPLES = 1280;
/** Samples of history run with each chunk: 3 hops of 160. */
export const MEL_CONTEXT = 480;
/** Mel bins per frame. */
export const MEL_BINS = 32;
/** Mel frames per embedding window. */
export const MEL_WINDOW = 76;
/** Mel frames per chunk once the history is there. */
export const MEL_PER_CHUNK = 8;
/** Values per embedding. */
export const EMBEDDING_SIZE = 96;

/** Mel frames the model produces for `samples` input samples. */
export function melFrameCount(samples: number): number {
  return Math.floor(samples / 160) - 3;
}

/** Deterministic noise like openWakeWord's start-up buffer (uniform integers in [-1000, 1000)). */
export function startupNoise(samples: number, seed = 0x2545f491): Float32Array {
  const out = new Float32Array(samples);
  let x = seed >>> 0;
  for (let i = 0; i < samples; i++) {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x % 2000) - 1000;
  }
  return out;
}

export class StreamingFeatures {
  /** Previous context plus the current chunk, as floats (the model takes raw PCM values). */
  readonly #audio = new Float32Array(MEL_CONTEXT + CHUNK_SAMPLES);
  /** The first chunk has no history: openWakeWord runs it alone (5 frames). */
  readonly #firstAudio: Float32Array;
  #primed = false;
  /** The latest MEL_WINDOW mel frames, oldest first: the embedding model's input. */
  readonly #mel = new Float32Array(MEL_WINDOW * MEL_BINS).fill(1);
  /** The latest `frames` embeddings, oldest first: the keyword model's input. */
  readonly #embeddings: Float32Array;
  /** The embeddings after init(), restored by reset(). */
  #initial: Float32Array | null = null;

  /**
   * @param frames embeddings kept (the keyword model's input length, 16 for the stock models)
   */
  constructor(
    readonly melModel: OwwModel,
    readonly embeddingModel: OwwModel,
    readonly frames: number,
  ) {
    if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`frames must be a positive integer, got ${frames}`);
    this.#embeddings = new Float32Array(frames * EMBEDDING_SIZE);
    this.#firstAudio = this.#audio.subarray(MEL_CONTEXT);
  }

  /** The keyword model's input: the latest `frames` embeddings, oldest first (a live view). */
  get embeddings(): Float32Array {
    return this.#embeddings;
  }

  /** The embedding model's current input window (a live view), for tests. */
  get melWindow(): Float32Array {
    return this.#mel;
  }

  /** Fills the embedding history from start-up noise (openWakeWord's initial state). */
  async init(): Promise<void> {
    const noise = startupNoise(4 * 16000);
    const mel = await this.#melOf(noise, noise.length);
    const frames = mel.length / MEL_BINS;
    const windows: number[] = [];
    for (let i = 0; i + MEL_WINDOW <= frames; i += MEL_PER_CHUNK) windows.push(i);
    const take = windows.slice(-this.frames);
    const batch = new Float32Array(take.length * MEL_WINDOW * MEL_BINS);
    take.forEach((start, k) => batch.set(mel.subarray(start * MEL_BINS, (start + MEL_WINDOW) * MEL_BINS), k * MEL_WINDOW * MEL_BINS));
    const out = await this.embeddingModel.run(batch, [take.length, MEL_WINDOW, MEL_BINS, 1]);
    // Fewer windows than frames (a model wanting > 41 embeddings): the oldest stay zero.
    this.#embeddings.set(out.subarray(0, take.length * EMBEDDING_SIZE), (this.frames - take.length) * EMBEDDING_SIZE);
    this.#initial = Float32Array.from(this.#embeddings);
    this.reset();
  }

  /**
   * Back to the state after init(), as openWakeWord's `Model.reset()`: for audio that does not
   * continue the previous chunk (a gap in the stream). Without it the old speech, still in the
   * history, is joined to the new audio, and a keyword heard before the gap can score again.
   */
  reset(): void {
    if (this.#initial) this.#embeddings.set(this.#initial);
    this.#primed = false;
    this.#mel.fill(1);
    this.#audio.fill(0);
  }

  /** Adds one 80 ms chunk (exactly CHUNK_SAMPLES samples) and computes its embedding. */
  async push(chunk: Int16Array): Promise<void> {
    if (chunk.length !== CHUNK_SAMPLES) throw new RangeError(`chunk must have ${CHUNK_SAMPLES} samples, got ${chunk.length}`);
    const audio = this.#audio;
    // Keep the last MEL_CONTEXT samples of the previous chunk in front of the new one.
    audio.copyWithin(0, CHUNK_SAMPLES);
    for (let i = 0; i < CHUNK_SAMPLES; i++) audio[MEL_CONTEXT + i] = chunk[i]!;
    const input = this.#primed ? audio : this.#firstAudio;
    this.#primed = true;
    const mel = await this.#melOf(input, input.length);
    const n = mel.length / MEL_BINS;
    const ring = this.#mel;
    ring.copyWithin(0, n * MEL_BINS);
    ring.set(mel, (MEL_WINDOW - n) * MEL_BINS);
    const emb = await this.embeddingModel.run(ring, [1, MEL_WINDOW, MEL_BINS, 1]);
    const e = this.#embeddings;
    e.copyWithin(0, EMBEDDING_SIZE);
    e.set(emb.subarray(0, EMBEDDING_SIZE), (this.frames - 1) * EMBEDDING_SIZE);
  }

  /** Runs the mel model and applies openWakeWord's scaling, in place on the output. */
  async #melOf(samples: Float32Array, n: number): Promise<Float32Array> {
    const out = await this.melModel.run(samples, [1, n]);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! / 10 + 2;
    return out;
  }
}
