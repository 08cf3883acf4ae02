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

  /** @param frameLength samples per emitted frame (> 0). */
  constructor(readonly frameLength: number) {
    if (!Number.isInteger(frameLength) || frameLength <= 0) throw new RangeError(`frameLength must be a positive integer, got ${frameLength}`);
    this.#buf = new Int16Array(frameLength);
  }

  /** Samples waiting for the next frame. */
  get pending(): number {
    return this.#fill;
  }

  /** Drops the partial frame (e.g. after a gap in the stream). */
  reset(): void {
    this.#fill = 0;
    this.#next = -1;
  }

  /**
   * Appends `pcm`, whose first sample has index `sampleIndex`, and calls `sink` for each frame
   * completed. A jump in `sampleIndex` (lost capture frames) drops the partial frame so an engine
   * never sees audio spliced across a gap.
   */
  push(pcm: Int16Array, sampleIndex: number, sink: FrameSink): void {
    if (this.#next >= 0 && sampleIndex !== this.#next) this.#fill = 0;
    this.#next = sampleIndex + pcm.length;
    const n = this.frameLength;
    let i = 0;
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
