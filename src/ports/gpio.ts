import type { TypedEmitter } from '../util/typed-emitter.js';

/** What the LEDs show. Derived from the session state; drivers map it to patterns. */
export type LedState =
  | 'off'
  | 'idle'
  | 'listening'
  | 'follow-up'
  | 'thinking'
  | 'speaking'
  | 'muted'
  | 'error'
  | 'disconnected'
  /** Idle, with timers running (Home Assistant's). */
  | 'timer'
  /** A finished timer is ringing. */
  | 'ringing';

/** Button gestures, after debounce. `down`/`up` serve push-to-talk. */
export type ButtonEvent = 'down' | 'up' | 'press' | 'long-press' | 'double-press';

export type GpioEvents = {
  button: [ButtonEvent];
  error: [{ message: string }];
};

/** Button and LED port. A board without either uses the `none` driver. */
export interface Gpio extends TypedEmitter<GpioEvents> {
  /** Claims the pins and buses and starts watching the button. Idempotent. */
  start(): Promise<void>;
  /** Releases everything; no `button` event follows. Idempotent; safe before start. */
  stop(): Promise<void>;
  /**
   * Shows `state`. `level` (0-1) is the current output audio level while speaking. Callable at
   * any time, before `start()` and after `stop()` too.
   */
  setLed(state: LedState, level?: number): void;
}
