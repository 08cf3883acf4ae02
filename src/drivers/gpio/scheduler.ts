/**
 * Time source and timers for the GPIO layer. The button recogniser and the LED animator take
 * one of these instead of calling `Date.now()`/`setTimeout` themselves, so tests drive them
 * with a manual clock and never depend on the machine's speed.
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

/** The real clock: `performance.now()` and Node timers (unref'd: LEDs never keep a process alive). */
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
