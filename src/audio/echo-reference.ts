/**
 * What the speaker plays, placed on the capture stream's sample timeline: the far-end reference
 * of the echo canceller (and the dry signal of the simulated room).
 *
 * Held as segments rather than a ring, because a speaker may report a whole reply ahead of time
 * (the `wav:` speaker queues it) and cut it short later (barge-in). Reads are expected in
 * increasing index order; segments that end before a read are dropped then.
 */

interface Segment {
  start: number;
  pcm: Int16Array;
}

export class EchoReference {
  #segments: Segment[] = [];

  /** Index one past the last sample of the last segment (0 when empty). */
  get end(): number {
    const last = this.#segments[this.#segments.length - 1];
    return last ? last.start + last.pcm.length : 0;
  }

  /** Number of segments held (for tests). */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /**
   * Places `pcm` at capture indices `[start, start + pcm.length)`. The array is kept (not
   * copied): the caller must not reuse it. Newer audio replaces older audio where they overlap.
   */
  write(pcm: Int16Array, start: number): void {
    if (pcm.length === 0) return;
    start = Math.round(start);
    const end = start + pcm.length;
    const kept: Segment[] = [];
    for (const s of this.#segments) {
      const sEnd = s.start + s.pcm.length;
      if (sEnd <= start || s.start >= end) {
        kept.push(s);
        continue;
      }
      if (s.start < start) kept.push({ start: s.start, pcm: s.pcm.subarray(0, start - s.start) });
      if (sEnd > end) kept.push({ start: end, pcm: s.pcm.subarray(end - s.start) });
    }
    kept.push({ start, pcm });
    kept.sort((a, b) => a.start - b.start);
    this.#segments = kept;
  }

  /** Drops everything at or after capture index `index` (playback was cut). */
  cut(index: number): void {
    index = Math.round(index);
    const kept: Segment[] = [];
    for (const s of this.#segments) {
      if (s.start >= index) continue;
      kept.push(s.start + s.pcm.length > index ? { start: s.start, pcm: s.pcm.subarray(0, index - s.start) } : s);
    }
    this.#segments = kept;
  }

  /** True when any reference sample lies in `[from, to)`. */
  hasAudio(from: number, to: number): boolean {
    for (const s of this.#segments) {
      if (s.start >= to) return false;
      if (s.start + s.pcm.length > from) return true;
    }
    return false;
  }

  /** Forgets segments that end at or before `index`. */
  prune(index: number): void {
    let drop = 0;
    while (drop < this.#segments.length) {
      const s = this.#segments[drop]!;
      if (s.start + s.pcm.length > index) break;
      drop++;
    }
    if (drop > 0) this.#segments.splice(0, drop);
  }

  /**
   * Fills `out` with the reference at `[start, start + out.length)` (zeros where nothing
   * plays) and forgets segments that end before `start - keep`.
   */
  read(out: Int16Array, start: number, keep = 0): void {
    out.fill(0);
    const end = start + out.length;
    let drop = 0;
    for (const s of this.#segments) {
      const sEnd = s.start + s.pcm.length;
      if (sEnd <= start - keep) {
        drop++;
        continue;
      }
      if (s.start >= end) break;
      const from = Math.max(start, s.start);
      const to = Math.min(end, sEnd);
      if (to > from) out.set(s.pcm.subarray(from - s.start, to - s.start), from - start);
    }
    if (drop > 0) this.#segments.splice(0, drop);
  }
}
