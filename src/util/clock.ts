/**
 * The one time source and timer API of the agent. The session, the backends' connections, the
 * microphone's restart logic, the button recogniser and the LED animator take a `Scheduler`
 * instead of calling `performance.now()`/`setTimeout` themselves, so tests drive them with a
 * manual clock (`test/fakes/clock.ts`) and never depend on the machine's speed.
 */

/** An opaque timer handle returned by `Scheduler.setTimeout`. */
export type TimerHandle = { readonly id: unknown };

export interface Scheduler {
  /** Monotonic time in milliseconds (any origin). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; safe on an already fired or cancelled one. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `performance.now()` and Node timers. Timers are unref'd: a timer never keeps
 * the process alive by itself (the sockets and the microphone do that).
 */
export function systemScheduler(): Scheduler {
  return {
    now: () => performance.now(),
    setTimeout(fn, ms) {
      const t = setTimeout(fn, ms);
      t.unref();
      return { id: t };
    },
    clearTimeout(handle) {
      clearTimeout(handle.id as NodeJS.Timeout);
    },
  };
}

/**
 * One timer slot: setting it again replaces the pending timer; `clear()` is always safe. Setting
 * it again to a later deadline (an inactivity timer re-armed on every chunk) moves the deadline
 * without touching the underlying timer: when that fires early, it re-arms for the rest. The
 * callback gets how late it runs after its deadline (ms): far behind means this process did not
 * run in between (a starved machine), not that nothing happened.
 */
export class TimerSlot {
  #handle: TimerHandle | undefined;
  #due = 0;
  #fn: ((lateMs: number) => void) | undefined;
  constructor(private readonly clock: Scheduler) {}

  get pending(): boolean {
    return this.#handle !== undefined;
  }

  set(fn: (lateMs: number) => void, ms: number): void {
    const due = this.clock.now() + ms;
    this.#fn = fn;
    if (this.#handle && due >= this.#due) {
      this.#due = due;
      return;
    }
    this.clear();
    this.#fn = fn;
    this.#arm(due);
  }

  clear(): void {
    if (this.#handle) this.clock.clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#fn = undefined;
  }

  #arm(due: number): void {
    this.#due = due;
    const handle = this.clock.setTimeout(() => {
      if (this.#handle !== handle) return;
      const late = this.clock.now() - this.#due;
      if (late < 0) {
        this.#arm(this.#due);
        return;
      }
      this.#handle = undefined;
      const fn = this.#fn;
      this.#fn = undefined;
      fn?.(late);
    }, Math.max(0, due - this.clock.now()));
    this.#handle = handle;
  }
}
