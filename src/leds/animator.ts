/**
 * Plays the pattern of the current LED state on a sink. Static states are written once;
 * animated ones are re-rendered at `fps` from an injected scheduler, with time measured from
 * the moment the state was entered (so a blink always starts "on").
 */
import type { LedState } from '../ports/gpio.js';
import type { Scheduler, TimerHandle } from '../util/clock.js';
import { isAnimated, renderFrame, type Pattern } from './patterns.js';
import type { LedSink } from './sink.js';

export class LedAnimator {
  readonly #sink: LedSink;
  readonly #patterns: Record<LedState, Pattern>;
  readonly #clock: Scheduler;
  readonly #frameMs: number;
  readonly #onError: (err: unknown) => void;
  #state: LedState = 'off';
  #level: number | undefined;
  #since = 0;
  #lastRender = Number.NEGATIVE_INFINITY;
  #timer: TimerHandle | undefined;
  #stopped = false;

  /**
   * @param fps frames per second while animating (default 30).
   * @param onError called when the sink fails; the animator stops writing after that.
   */
  constructor(
    sink: LedSink,
    patterns: Record<LedState, Pattern>,
    clock: Scheduler,
    options: { fps?: number; onError?: (err: unknown) => void } = {},
  ) {
    this.#sink = sink;
    this.#patterns = patterns;
    this.#clock = clock;
    this.#frameMs = 1000 / (options.fps ?? 30);
    this.#onError = options.onError ?? (() => {});
  }

  get state(): LedState {
    return this.#state;
  }

  /** Shows `state`; `level` (0-1) is the audio level while speaking. */
  set(state: LedState, level?: number): void {
    if (this.#stopped) return;
    const changed = state !== this.#state;
    this.#level = level;
    if (changed) {
      this.#state = state;
      this.#since = this.#clock.now();
      this.#cancel();
      this.#render();
      return;
    }
    // Same state, new level: the running frame timer picks it up. Otherwise render now, or at
    // the next frame slot when levels arrive faster than `fps` (audio frames come every 20 ms).
    if (this.#timer) return;
    const wait = this.#lastRender + this.#frameMs - this.#clock.now();
    if (wait <= 0) this.#render();
    else this.#schedule(wait);
  }

  /** Stops animating and turns the LEDs off (the sink stays open). */
  stop(): void {
    if (this.#stopped) return;
    this.#cancel();
    this.#state = 'off';
    this.#render();
    this.#stopped = true;
  }

  #render(): void {
    const pattern = this.#patterns[this.#state];
    this.#lastRender = this.#clock.now();
    try {
      this.#sink.show(renderFrame(pattern, this.#clock.now() - this.#since, this.#level, this.#sink.count));
    } catch (err) {
      this.#stopped = true;
      this.#cancel();
      this.#onError(err);
      return;
    }
    if (isAnimated(pattern, this.#level)) this.#schedule(this.#frameMs);
  }

  #schedule(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#render();
    }, ms);
  }

  #cancel(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
