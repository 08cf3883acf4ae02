/** Fixed-size ring of the most recent samples: the pre-roll kept from before a trigger. */
export class SampleRing {
  readonly #buf: Int16Array;
  #write = 0;
  #filled = 0;

  constructor(readonly capacity: number) {
    this.#buf = new Int16Array(Math.max(0, capacity));
  }

  /** Appends samples, overwriting the oldest. No allocation. */
  push(pcm: Int16Array): void {
    const cap = this.capacity;
    if (cap === 0) return;
    let src = pcm;
    if (src.length >= cap) {
      src = src.subarray(src.length - cap);
      this.#buf.set(src);
      this.#write = 0;
      this.#filled = cap;
      return;
    }
    const first = Math.min(src.length, cap - this.#write);
    this.#buf.set(src.subarray(0, first), this.#write);
    if (first < src.length) this.#buf.set(src.subarray(first), 0);
    this.#write = (this.#write + src.length) % cap;
    this.#filled = Math.min(cap, this.#filled + src.length);
  }

  get length(): number {
    return this.#filled;
  }

  /** Returns a copy of the buffered samples, oldest first; the ring keeps them. */
  snapshot(): Int16Array {
    const out = new Int16Array(this.#filled);
    const start = (this.#write - this.#filled + this.capacity) % Math.max(1, this.capacity);
    const first = Math.min(this.#filled, this.capacity - start);
    out.set(this.#buf.subarray(start, start + first));
    if (first < this.#filled) out.set(this.#buf.subarray(0, this.#filled - first), first);
    return out;
  }

  /** Forgets every buffered sample. */
  clear(): void {
    this.#filled = 0;
  }

  /** Returns the buffered samples oldest first and empties the ring. */
  drain(): Int16Array {
    const out = this.snapshot();
    this.clear();
    return out;
  }
}
