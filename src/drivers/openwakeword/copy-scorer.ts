/**
 * Scores a copy of audio (the second look's stretched copy) the way a fresh streaming front
 * end (features.ts, after `reset()`) would score it chunk by chunk, in one pass:
 *
 * - The copy is cut into 80 ms chunks aligned to its end (its newest audio), as the live grid
 *   is to now, and `pads` (whole chunks, e.g. the room's quiet) may follow it.
 * - One mel run over the whole copy (the mel frames are local: a frame covers 640 samples at a
 *   hop of 160, so the frames of the whole equal those of the chunks run with 480 samples of
 *   context, to float rounding), then one batched embedding run over only the windows the
 *   scored positions read, then the keyword model at each scored position.
 * - Positions: the last `last` chunks of the copy and every padded chunk. A position reads the
 *   latest `frames` embeddings; where those reach before the copy, the start-up embeddings
 *   stand in (as after `reset()`), and mel frames before the copy are ones.
 *
 * The embedding model is what costs (about 1.2 ms a window here run window by window, against
 * 0.2 ms for the mel run of a whole 2 s copy and 0.05 ms per keyword score), so scoring only the
 * last positions makes a look cheaper in proportion. With the model's long form
 * (embedding-graphs.ts) the windows, 8 frames apart, are one run that shares their common work:
 * 30 windows in 5.9 ms instead of 36.5 ms. Allocates per call (a look is rare).
 */
import type { FastEmbedding } from './embedding-graphs.js';
import { CHUNK_SAMPLES, EMBEDDING_SIZE, MEL_BINS, MEL_PER_CHUNK, MEL_WINDOW, StreamingFeatures, melFrameCount } from './features.js';
import type { OwwModel } from './runtime.js';

/** The scores of one copy: its last real positions (oldest first), then its padded ones. */
export interface CopyScores {
  real: Float32Array;
  padded: Float32Array;
}

export class CopyScorer {
  readonly #init: StreamingFeatures;
  #initial: Float32Array | null = null;
  readonly #dims: number[];
  readonly #input: Float32Array;
  /** Embedding windows computed so far (benches). */
  embeddingRuns = 0;

  constructor(
    readonly mel: OwwModel,
    readonly embedding: OwwModel,
    readonly keyword: OwwModel,
    readonly frames: number,
    readonly fast: FastEmbedding | null = null,
  ) {
    this.#init = new StreamingFeatures(mel, embedding, frames, fast);
    this.#dims = [1, frames, EMBEDDING_SIZE];
    this.#input = new Float32Array(frames * EMBEDDING_SIZE);
  }

  /** Computes the start-up embeddings (openWakeWord's initial state). */
  async init(): Promise<void> {
    await this.#init.init();
    this.#initial = Float32Array.from(this.#init.embeddings);
  }

  /**
   * Scores `copy` (samples, any scale of PCM; rounded to 16 bits as a chunk would be) followed
   * by `pads`, at the last `last` chunks of the copy (Infinity: every chunk) and every pad.
   */
  async score(copy: ArrayLike<number>, pads: readonly Int16Array[], last: number): Promise<CopyScores> {
    const initial = this.#initial;
    if (!initial) throw new Error('CopyScorer.init() first');
    const chunks = Math.floor(copy.length / CHUNK_SAMPLES);
    const total = chunks + pads.length;
    const realScored = Math.min(chunks, Math.max(0, Math.floor(Math.min(last, chunks))));
    const firstScored = total - pads.length - realScored;
    const out: CopyScores = { real: new Float32Array(realScored), padded: new Float32Array(pads.length) };
    if (total === firstScored) return out;
    const firstEmb = Math.max(0, firstScored - (this.frames - 1));
    // Mel frames the windows of chunks firstEmb.. read: window c ends at frame 8(c+1)-3.
    const firstFrame = Math.max(0, MEL_PER_CHUNK * (firstEmb + 1) - 3 - MEL_WINDOW);
    const offset = copy.length % CHUNK_SAMPLES;
    const audio = new Float32Array(total * CHUNK_SAMPLES - firstFrame * 160);
    const from = offset + firstFrame * 160;
    const realEnd = chunks * CHUNK_SAMPLES - firstFrame * 160;
    for (let i = 0; i < realEnd; i++) audio[i] = Math.max(-32768, Math.min(32767, Math.round(copy[from + i]!)));
    pads.forEach((p, k) => {
      if (p.length !== CHUNK_SAMPLES) throw new RangeError(`a pad must have ${CHUNK_SAMPLES} samples, got ${p.length}`);
      audio.set(p, realEnd + k * CHUNK_SAMPLES);
    });
    // Scaled mel frames (x / 10 + 2), from the JavaScript front end or the model.
    const js = this.fast?.mel;
    const mel = js ? js.compute(audio) : (await this.mel.run(audio, [1, audio.length])).map((v) => v / 10 + 2);
    const melFrames = melFrameCount(audio.length);
    const windows = total - firstEmb;
    // The mel frame (scaled) at copy index `src`: ones before the copy, as after a reset.
    const frame = (dst: Float32Array, at: number, src: number): void => {
      if (src < 0) dst.fill(1, at, at + MEL_BINS);
      else if (src < melFrames) for (let b = 0; b < MEL_BINS; b++) dst[at + b] = mel[src * MEL_BINS + b]!;
    };
    // Window k ends at frame 8(firstEmb + k + 1) - 3 - firstFrame.
    const firstEnd = MEL_PER_CHUNK * (firstEmb + 1) - 3 - firstFrame;
    let emb: Float32Array;
    if (this.fast) {
      // The windows are 8 frames apart: one run over the frames they span.
      const span = MEL_WINDOW + MEL_PER_CHUNK * (windows - 1);
      const frames = new Float32Array(span * MEL_BINS);
      for (let f = 0; f < span; f++) frame(frames, f * MEL_BINS, firstEnd - MEL_WINDOW + f);
      emb = await this.fast.windows(frames, span);
    } else {
      const w = MEL_WINDOW * MEL_BINS;
      const batch = new Float32Array(windows * w);
      for (let k = 0; k < windows; k++) {
        const endFrame = firstEnd + MEL_PER_CHUNK * k;
        for (let f = 0; f < MEL_WINDOW; f++) frame(batch, k * w + f * MEL_BINS, endFrame - MEL_WINDOW + f);
      }
      emb = await this.embedding.run(batch, [windows, MEL_WINDOW, MEL_BINS, 1]);
    }
    this.embeddingRuns += windows;
    const input = this.#input;
    for (let c = firstScored; c < total; c++) {
      for (let j = 0; j < this.frames; j++) {
        const idx = c - (this.frames - 1) + j;
        const dst = j * EMBEDDING_SIZE;
        if (idx < 0) input.set(initial.subarray((this.frames + idx) * EMBEDDING_SIZE, (this.frames + idx + 1) * EMBEDDING_SIZE), dst);
        else input.set(emb.subarray((idx - firstEmb) * EMBEDDING_SIZE, (idx - firstEmb + 1) * EMBEDDING_SIZE), dst);
      }
      const s = (await this.keyword.run(input, this.#dims))[0]!;
      if (c < chunks) out.real[c - firstScored] = s;
      else out.padded[c - chunks] = s;
    }
    return out;
  }
}
