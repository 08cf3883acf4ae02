/**
 * Re-chunks the shared capture stream (any frame size) into the fixed frames an engine wants,
 * without allocating per call: one buffer of `frameLength` samples is reused for every frame.
 */

/** Called with a full frame (valid only during the call) and the input index one past its last sample. */
export type FrameSink = (frame: Int16Array, endSampleIndex: number) => void;

export class Framer {
  readonly #buf: Int16Array;
  #fill = 0;
  /** Input sample index expected next; -1 before the first sample. */
  #next = -1;
  /** The current run of frames has found its grid (see `startAlign`). */
  #aligned = false;
  readonly #startAlign: number;

  /**
   * @param frameLength samples per emitted frame (> 0).
   * @param startAlign the first frame after the start or a gap begins at an input index that is
   *   a multiple of this (the samples before it are dropped), so frames lie on a grid other
   *   stages can share; default 1 (the first sample).
   */
  constructor(
    readonly frameLength: number,
    startAlign = 1,
  ) {
    if (!Number.isInteger(frameLength) || frameLength <= 0) throw new RangeError(`frameLength must be a positive integer, got ${frameLength}`);
    if (!Number.isInteger(startAlign) || startAlign <= 0) throw new RangeError(`startAlign must be a positive integer, got ${startAlign}`);
    this.#buf = new Int16Array(frameLength);
    this.#startAlign = startAlign;
  }

  /** Samples waiting for the next frame. */
  get pending(): number {
    return this.#fill;
  }

  /** Drops the partial frame (e.g. after a gap in the stream). */
  reset(): void {
    this.#fill = 0;
    this.#next = -1;
    this.#aligned = false;
  }

  /**
   * Appends `pcm`, whose first sample has index `sampleIndex`, and calls `sink` for each frame
   * completed. A jump in `sampleIndex` (lost capture frames) drops the partial frame so an engine
   * never sees audio spliced across a gap.
   */
  push(pcm: Int16Array, sampleIndex: number, sink: FrameSink): void {
    if (this.#next >= 0 && sampleIndex !== this.#next) {
      this.#fill = 0;
      this.#aligned = false;
    }
    this.#next = sampleIndex + pcm.length;
    const n = this.frameLength;
    let i = 0;
    if (!this.#aligned) {
      const a = this.#startAlign;
      i = (a - (sampleIndex % a)) % a;
      if (i >= pcm.length) return;
      this.#aligned = true;
    }
    while (i < pcm.length) {
      const take = Math.min(n - this.#fill, pcm.length - i);
      // A plain loop, not set(subarray()): subarray would allocate a view per call.
      const buf = this.#buf;
      for (let k = 0, o = this.#fill; k < take; k++) buf[o + k] = pcm[i + k]!;
      this.#fill += take;
      i += take;
      if (this.#fill === n) {
        this.#fill = 0;
        sink(this.#buf, sampleIndex + i);
      }
    }
  }
}
