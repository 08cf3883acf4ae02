/** The manual clock every timing test uses: time moves only when the test says so. */
import type { Scheduler, TimerHandle } from '../../src/util/clock.js';

/** A clock that only moves when the test says so; timers fire in due order. */
export class ManualScheduler implements Scheduler {
  #now = 0;
  #seq = 0;
  #timers = new Map<number, { due: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { due: this.#now + Math.max(0, ms), fn });
    return { id };
  }
  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle.id as number);
  }
  get pending(): number {
    return this.#timers.size;
  }
  /** Time passes while this process does not run (a starved or stopped process): no timer fires; the next `advance` runs the overdue ones, late. */
  freeze(ms: number): void {
    this.#now += ms;
  }
  /** Advances time by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { due: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].due <= end && (!next || entry[1].due < next[1].due || (entry[1].due === next[1].due && entry[0] < next[0]))) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].due);
      next[1].fn();
    }
    this.#now = end;
  }
}
