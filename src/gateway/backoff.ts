/** Capped exponential backoff with +-50 % jitter: 0.25, 0.5, 1, 2 ... max seconds. */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delay before the next attempt; each call doubles the base up to the cap. */
  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    const jitter = 0.5 + this.random(); // 0.5 .. 1.5
    return Math.round(Math.min(this.maxMs * 1.5, base * jitter));
  }

  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}
