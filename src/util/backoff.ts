/**
 * Capped, jittered exponential backoff for reconnects: the base doubles from `minMs` to `maxMs`
 * and each delay is the base times a random factor in [0.5, 1.5), so a fleet of speakers that
 * lost the same server does not reconnect in lock-step.
 */
export class Backoff {
  #attempt = 0;

  /**
   * @param minMs first base delay in milliseconds
   * @param maxMs cap on the base delay in milliseconds
   * @param random source of [0, 1) numbers; injectable for tests
   */
  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt, in milliseconds. */
  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(base * (0.5 + this.random()));
  }

  /** Call after a stable connection: the next failure starts from `minMs` again. */
  reset(): void {
    this.#attempt = 0;
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }
}
