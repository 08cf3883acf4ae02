/**
 * Maps wall-clock time (performance.now() ms) onto the capture stream's sample index, so audio
 * reported by the speaker "at time T" can be placed on the microphone's own timeline.
 *
 * Each captured frame says "sample `index` had been captured by the time this arrived". Event
 * loop delays only ever make a frame arrive later, never earlier, so the earliest arrival seen
 * (relative to its index) is the best estimate of the true offset. The minimum is taken over a
 * sliding window of a few seconds so a slow drift between the audio clock and the CPU clock is
 * followed.
 */

export class CaptureClock {
  readonly #msPerSample: number;
  readonly #bucketMs: number;
  /** Minimum offset (arrival - index time) per bucket, newest last. */
  #buckets: { startedAt: number; min: number }[] = [];
  readonly #maxBuckets: number;
  #offset = Number.NaN;

  /**
   * @param sampleRate capture rate, Hz
   * @param windowMs how far back the minimum reaches (default 4000)
   */
  constructor(
    readonly sampleRate: number,
    windowMs = 4000,
  ) {
    this.#msPerSample = 1000 / sampleRate;
    this.#bucketMs = Math.max(100, windowMs / 4);
    this.#maxBuckets = 4;
  }

  /** True once a frame has been observed. */
  get ready(): boolean {
    return !Number.isNaN(this.#offset);
  }

  /** Sample `index` of the capture stream was available at `atMs` (or earlier). */
  observe(index: number, atMs: number): void {
    const offset = atMs - index * this.#msPerSample;
    const last = this.#buckets[this.#buckets.length - 1];
    if (!last || atMs - last.startedAt >= this.#bucketMs) {
      this.#buckets.push({ startedAt: atMs, min: offset });
      if (this.#buckets.length > this.#maxBuckets) this.#buckets.shift();
    } else if (offset < last.min) {
      last.min = offset;
    }
    let min = Number.POSITIVE_INFINITY;
    for (const b of this.#buckets) if (b.min < min) min = b.min;
    this.#offset = min;
  }

  /** The capture index being captured at `atMs` (fractional); NaN before the first frame. */
  indexAt(atMs: number): number {
    return (atMs - this.#offset) / this.#msPerSample;
  }
}
