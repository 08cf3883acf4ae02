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
 * - Half steps: openWakeWord scores every 80 ms, and a keyword's score depends on where its
 *   end falls on that grid (one rendition scored 0.16 on one phase and 0.99 on the others). On
 *   request the first 640 samples of a chunk are taken on their own (4 mel frames) and scored
 *   too, from a second embedding history whose windows end 40 ms off the main grid. That
 *   history is built from the mel history (kept 2 s long) when a half step is first asked for,
 *   so the second embedding costs nothing while the engine does not ask.
 * - Before any audio the mel history is all ones and the embedding history holds embeddings of
 *   4 s of low random noise, as in openWakeWord, so the first detections need no warm-up audio.
 *
 * - With the embedding model in its streaming form (embedding-graphs.ts), each 80 ms step
 *   computes only what its 8 new frames add (same embeddings, a quarter of the work); the half
 *   steps and the copies (copyFrom with a half step) start from a whole window.
 *
 * No allocation per chunk beyond what the runtime itself returns.
 */
import type { EmbeddingStream, FastEmbedding } from './embedding-graphs.js';
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
/** Samples in half a chunk (40 ms): the half step. */
export const HALF_SAMPLES = CHUNK_SAMPLES / 2;
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
  /** Mel inputs of the chunk's first half and of its second half, each with its 480 of context. */
  readonly #firstHalfIn: Float32Array;
  readonly #secondHalfIn: Float32Array;
  #primed = false;
  /** Samples of the current chunk received so far (0 or HALF_SAMPLES). */
  #have = 0;
  /** The first half's mel frames are in the history already. */
  #firstHalfMel = false;
  /** Mel frames kept: one window plus a step per embedding, oldest first. */
  readonly #melFrames: number;
  readonly #mel: Float32Array;
  /** The latest MEL_WINDOW frames of #mel (a view): the embedding model's input. */
  readonly #melLatest: Float32Array;
  /** The latest `frames` embeddings, oldest first: the keyword model's input. */
  readonly #embeddings: Float32Array;
  /** The same for windows ending at the half steps (40 ms before each chunk end). */
  readonly #halfEmbeddings: Float32Array;
  /** #halfEmbeddings continues up to the previous half step (else it is rebuilt). */
  #halfFresh = false;
  /** Every half-step window at once, when the half history is rebuilt by the stock model (not with the long form). */
  #batch: Float32Array | null = null;
  /** The embeddings after init(), restored by reset(). */
  #initial: Float32Array | null = null;
  /** Embedding-model runs so far, windows counted (for benches and tests). */
  embeddingRuns = 0;
  /** The streaming embedding of the 80 ms steps, or null (the whole model each step). */
  readonly #fast: FastEmbedding | null;
  readonly #stream: EmbeddingStream | null;
  /** The newest MEL_PER_CHUNK frames of #mel (a view): what a streaming step adds. */
  readonly #melNewest: Float32Array;
  /** Mel frames added since the latest step's embedding (the stream continues at exactly 8). */
  #sinceStep = 0;
  /** The newest `frames - 1` embeddings (a view): with them the step graph scores as it embeds. */
  readonly #scoreHistory: Float32Array;
  #stepScore: number | null = null;

  /**
   * @param frames embeddings kept (the keyword model's input length, 16 for the stock models)
   * @param fast the embedding model's streaming form (same embeddings, less work), when it
   *   loaded: then every embedding comes from it, and `embeddingModel` is never run
   */
  constructor(
    readonly melModel: OwwModel,
    readonly embeddingModel: OwwModel,
    readonly frames: number,
    fast: FastEmbedding | null = null,
  ) {
    if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`frames must be a positive integer, got ${frames}`);
    this.#embeddings = new Float32Array(frames * EMBEDDING_SIZE);
    this.#halfEmbeddings = new Float32Array(frames * EMBEDDING_SIZE);
    this.#firstAudio = this.#audio.subarray(MEL_CONTEXT);
    this.#firstHalfIn = this.#audio.subarray(0, MEL_CONTEXT + HALF_SAMPLES);
    this.#secondHalfIn = this.#audio.subarray(HALF_SAMPLES);
    this.#melFrames = MEL_WINDOW + MEL_PER_CHUNK * frames;
    this.#mel = new Float32Array(this.#melFrames * MEL_BINS).fill(1);
    this.#melLatest = this.#mel.subarray((this.#melFrames - MEL_WINDOW) * MEL_BINS);
    this.#melNewest = this.#mel.subarray((this.#melFrames - MEL_PER_CHUNK) * MEL_BINS);
    this.#fast = fast;
    this.#stream = fast?.stream() ?? null;
    this.#scoreHistory = this.#embeddings.subarray(EMBEDDING_SIZE);
  }

  /**
   * The keyword model's score of `embeddings` after the latest 80 ms step, when the step graph
   * computed it with the embedding (FastEmbedding with the keyword model in); else null, and
   * the caller runs the keyword model on `embeddings`. Cleared by every push.
   */
  get stepScore(): number | null {
    return this.#stepScore;
  }

  /** The keyword model's input: the latest `frames` embeddings, oldest first (a live view). */
  get embeddings(): Float32Array {
    return this.#embeddings;
  }

  /** The keyword model's input at the latest half step (valid after pushFirstHalf(..., true)). */
  get halfEmbeddings(): Float32Array {
    return this.#halfEmbeddings;
  }

  /** The embedding model's current input window (a live view), for tests. */
  get melWindow(): Float32Array {
    return this.#melLatest;
  }

  /** Fills the embedding history from start-up noise (openWakeWord's initial state). */
  async init(): Promise<void> {
    const noise = startupNoise(4 * 16000);
    const mel = await this.#melOf(noise, noise.length);
    const frames = mel.length / MEL_BINS;
    const windows: number[] = [];
    for (let i = 0; i + MEL_WINDOW <= frames; i += MEL_PER_CHUNK) windows.push(i);
    const take = windows.slice(-this.frames);
    let out: Float32Array;
    if (this.#fast) {
      const from = take[0]!;
      const span = MEL_WINDOW + MEL_PER_CHUNK * (take.length - 1);
      out = await this.#fast.windows(mel.subarray(from * MEL_BINS, (from + span) * MEL_BINS), span);
    } else {
      const batch = new Float32Array(take.length * MEL_WINDOW * MEL_BINS);
      take.forEach((start, k) => batch.set(mel.subarray(start * MEL_BINS, (start + MEL_WINDOW) * MEL_BINS), k * MEL_WINDOW * MEL_BINS));
      out = await this.embeddingModel.run(batch, [take.length, MEL_WINDOW, MEL_BINS, 1]);
    }
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
    this.#stepScore = null;
    this.#primed = false;
    this.#have = 0;
    this.#firstHalfMel = false;
    this.#halfFresh = false;
    this.#mel.fill(1);
    this.#audio.fill(0);
    this.#stream?.invalidate();
    this.#sinceStep = 0;
  }

  /**
   * Takes over `src`'s streaming state as it stands after its latest step (`half`: after its
   * latest half step, whose embeddings become this copy's history), so the copy can be fed
   * audio that does not exist yet (the look-ahead) while `src` goes on. Both must have the same
   * number of embedding frames. Copies, allocates nothing.
   */
  copyFrom(src: StreamingFeatures, half: boolean): void {
    if (src.frames !== this.frames) throw new RangeError(`cannot copy ${src.frames} embedding frames into ${this.frames}`);
    if (half && !src.#firstHalfMel) throw new RangeError('the source has no half step to continue');
    this.#mel.set(src.#mel);
    this.#embeddings.set(half ? src.#halfEmbeddings : src.#embeddings);
    // The next chunk takes its 480 samples of context from the end of #audio.
    const end = half ? MEL_CONTEXT + HALF_SAMPLES : this.#audio.length;
    this.#audio.set(src.#audio.subarray(end - MEL_CONTEXT, end), this.#audio.length - MEL_CONTEXT);
    this.#primed = src.#primed;
    this.#stepScore = null;
    this.#have = 0;
    this.#firstHalfMel = false;
    this.#halfFresh = false;
    // Continuing the source's latest step: its streaming state too. A half step starts anew.
    if (this.#stream && src.#stream && !half && src.#sinceStep === 0) this.#stream.copyFrom(src.#stream);
    else this.#stream?.invalidate();
    this.#sinceStep = 0;
  }

  /** Adds one 80 ms chunk (exactly CHUNK_SAMPLES samples) and computes its embedding. */
  async push(chunk: Int16Array): Promise<void> {
    if (chunk.length !== CHUNK_SAMPLES) throw new RangeError(`chunk must have ${CHUNK_SAMPLES} samples, got ${chunk.length}`);
    await this.pushFirstHalf(chunk.subarray(0, HALF_SAMPLES), false);
    await this.pushSecondHalf(chunk.subarray(HALF_SAMPLES));
  }

  /**
   * Adds the first 40 ms of a chunk. With `score`, also computes the half-step embedding (the
   * window ending here) so `halfEmbeddings` can be scored; returns whether it did (never on the
   * first chunk after a reset, which has no history to continue).
   */
  async pushFirstHalf(half: Int16Array, score: boolean): Promise<boolean> {
    if (half.length !== HALF_SAMPLES || this.#have !== 0) throw new RangeError(`the first half of a chunk must have ${HALF_SAMPLES} samples and follow a whole chunk`);
    this.#stepScore = null;
    const audio = this.#audio;
    // Keep the last MEL_CONTEXT samples of the previous chunk in front of the new one.
    audio.copyWithin(0, CHUNK_SAMPLES);
    for (let i = 0; i < HALF_SAMPLES; i++) audio[MEL_CONTEXT + i] = half[i]!;
    this.#have = HALF_SAMPLES;
    this.#firstHalfMel = false;
    if (!score || !this.#primed) {
      this.#halfFresh = false;
      return false;
    }
    this.#addMel(await this.#melOf(this.#firstHalfIn, this.#firstHalfIn.length));
    this.#firstHalfMel = true;
    const e = this.#halfEmbeddings;
    if (this.#halfFresh) {
      await this.#embedLatest(e);
    } else {
      // Rebuild the whole half-step history: the windows ending 0, 8, 16, ... frames back.
      const n = this.frames;
      let out: Float32Array;
      if (this.#fast) {
        // Those windows are the last 76 + 8(n - 1) frames, stepped by 8: one run.
        const frames = MEL_WINDOW + MEL_PER_CHUNK * (n - 1);
        out = await this.#fast.windows(this.#mel.subarray((this.#melFrames - frames) * MEL_BINS), frames);
      } else {
        const w = MEL_WINDOW * MEL_BINS;
        const batch = (this.#batch ??= new Float32Array(n * w));
        for (let k = 0; k < n; k++) {
          const end = this.#melFrames - (n - 1 - k) * MEL_PER_CHUNK;
          batch.set(this.#mel.subarray((end - MEL_WINDOW) * MEL_BINS, end * MEL_BINS), k * w);
        }
        out = await this.embeddingModel.run(batch, [n, MEL_WINDOW, MEL_BINS, 1]);
      }
      this.embeddingRuns += n;
      e.set(out.subarray(0, n * EMBEDDING_SIZE));
      this.#halfFresh = true;
    }
    return true;
  }

  /** Adds the last 40 ms of a chunk and computes the chunk's embedding (the 80 ms step). */
  async pushSecondHalf(half: Int16Array): Promise<void> {
    if (half.length !== HALF_SAMPLES || this.#have !== HALF_SAMPLES) throw new RangeError(`the second half of a chunk must have ${HALF_SAMPLES} samples and follow its first half`);
    const audio = this.#audio;
    for (let i = 0; i < HALF_SAMPLES; i++) audio[MEL_CONTEXT + HALF_SAMPLES + i] = half[i]!;
    this.#have = 0;
    // The whole chunk in one run, or its second half when the first is in the history already.
    const input = !this.#primed ? this.#firstAudio : this.#firstHalfMel ? this.#secondHalfIn : audio;
    this.#primed = true;
    this.#addMel(await this.#melOf(input, input.length));
    await this.#embedLatest(this.#embeddings, true);
  }

  /** Appends mel frames to the history. */
  #addMel(mel: Float32Array): void {
    const ring = this.#mel;
    ring.copyWithin(0, mel.length);
    ring.set(mel, ring.length - mel.length);
    this.#sinceStep += mel.length / MEL_BINS;
  }

  /** Embeds the latest window into the newest slot of `history` (`step`: the 80 ms step's, which the stream follows). */
  async #embedLatest(history: Float32Array, step = false): Promise<void> {
    let emb: Float32Array;
    const stream = this.#stream;
    if (step && stream) {
      // The steps fill `embeddings`: the window after this one is its newest frames - 1 and this.
      const continues = stream.primed && this.#sinceStep === MEL_PER_CHUNK;
      emb = continues ? await stream.step(this.#melNewest, this.#scoreHistory) : await stream.prime(this.#melLatest);
      this.#stepScore = continues ? stream.score : null;
      this.#sinceStep = 0;
    } else if (this.#fast) {
      emb = await this.#fast.windows(this.#melLatest, MEL_WINDOW);
    } else {
      emb = await this.embeddingModel.run(this.#melLatest, [1, MEL_WINDOW, MEL_BINS, 1]);
    }
    this.embeddingRuns++;
    history.copyWithin(0, EMBEDDING_SIZE);
    history.set(emb.subarray(0, EMBEDDING_SIZE), (this.frames - 1) * EMBEDDING_SIZE);
  }

  /** Runs the mel model and applies openWakeWord's scaling, in place on the output (or its JavaScript form, scaled already). */
  async #melOf(samples: Float32Array, n: number): Promise<Float32Array> {
    const js = this.#fast?.mel;
    if (js) return js.compute(samples, n);
    const out = await this.melModel.run(samples, [1, n]);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! / 10 + 2;
    return out;
  }
}
