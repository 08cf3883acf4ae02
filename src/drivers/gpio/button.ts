/**
 * Button gesture recogniser: raw pin levels in, `down`/`up`/`press`/`long-press`/`double-press`
 * out. Pure logic over an injected scheduler, shared by every GPIO driver.
 *
 * Debounce is "stable for N ms": a new level only counts once it has held for `debounceMs`,
 * so contact bounce and short electrical glitches are both ignored (at the cost of
 * `debounceMs` latency on `down`).
 */
import type { ButtonEvent } from '../../ports/gpio.js';
import type { Scheduler, TimerHandle } from '../../util/clock.js';

export interface ButtonTiming {
  /** A level must hold this long before it counts (ms, default 50). 0 accepts every change at once. */
  debounceMs: number;
  /** Held at least this long: `long-press` fires while still held (ms, default 1000). */
  longPressMs: number;
  /**
   * Second short press within this window after the first release: `double-press` instead of two
   * `press` events (ms). 0 disables double press, and `press` then fires on release without delay.
   */
  doublePressMs: number;
}

export const DEFAULT_BUTTON_TIMING: ButtonTiming = { debounceMs: 50, longPressMs: 1000, doublePressMs: 0 };

export class ButtonRecognizer {
  readonly #timing: ButtonTiming;
  readonly #clock: Scheduler;
  readonly #emit: (event: ButtonEvent) => void;
  /** Debounced level: true while the button is held. */
  #pressed = false;
  /** Last raw level seen. */
  #raw = false;
  #debounceTimer: TimerHandle | undefined;
  #longTimer: TimerHandle | undefined;
  #doubleTimer: TimerHandle | undefined;
  #longFired = false;
  /** A short press has been released and is waiting to see whether a second one follows. */
  #pendingSingle = false;

  /**
   * @param emit called with each gesture, in order.
   * @param initialPressed the level when watching starts (a button held at start-up is not a press).
   */
  constructor(timing: ButtonTiming, clock: Scheduler, emit: (event: ButtonEvent) => void, initialPressed = false) {
    this.#timing = timing;
    this.#clock = clock;
    this.#emit = emit;
    this.#pressed = initialPressed;
    this.#raw = initialPressed;
  }

  /** True while the (debounced) button is held. */
  get pressed(): boolean {
    return this.#pressed;
  }

  /** Feeds a raw level from the pin (true = pressed, after active-low inversion). */
  input(pressed: boolean): void {
    if (pressed === this.#raw) return;
    this.#raw = pressed;
    this.#cancel('debounce');
    if (this.#timing.debounceMs <= 0) {
      this.#settle();
      return;
    }
    this.#debounceTimer = this.#clock.setTimeout(() => {
      this.#debounceTimer = undefined;
      this.#settle();
    }, this.#timing.debounceMs);
  }

  /** Cancels every pending timer; a pending single press is dropped. */
  dispose(): void {
    this.#cancel('debounce');
    this.#cancel('long');
    this.#cancel('double');
    this.#pendingSingle = false;
  }

  #settle(): void {
    if (this.#raw === this.#pressed) return; // bounced back within the window
    this.#pressed = this.#raw;
    if (this.#pressed) this.#onDown();
    else this.#onUp();
  }

  #onDown(): void {
    this.#longFired = false;
    this.#emit('down');
    this.#longTimer = this.#clock.setTimeout(() => {
      this.#longTimer = undefined;
      this.#longFired = true;
      // A long press ends any double-press wait: the first short press stands on its own.
      this.#flushPendingSingle();
      this.#emit('long-press');
    }, this.#timing.longPressMs);
  }

  #onUp(): void {
    this.#cancel('long');
    this.#emit('up');
    if (this.#longFired) return;
    if (this.#timing.doublePressMs <= 0) {
      this.#emit('press');
      return;
    }
    if (this.#pendingSingle) {
      this.#cancel('double');
      this.#pendingSingle = false;
      this.#emit('double-press');
      return;
    }
    this.#pendingSingle = true;
    this.#doubleTimer = this.#clock.setTimeout(() => {
      this.#doubleTimer = undefined;
      this.#flushPendingSingle();
    }, this.#timing.doublePressMs);
  }

  #flushPendingSingle(): void {
    if (!this.#pendingSingle) return;
    this.#pendingSingle = false;
    this.#cancel('double');
    this.#emit('press');
  }

  #cancel(which: 'debounce' | 'long' | 'double'): void {
    const key = which === 'debounce' ? this.#debounceTimer : which === 'long' ? this.#longTimer : this.#doubleTimer;
    if (key) this.#clock.clearTimeout(key);
    if (which === 'debounce') this.#debounceTimer = undefined;
    else if (which === 'long') this.#longTimer = undefined;
    else this.#doubleTimer = undefined;
  }
}
