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
  | 'disconnected';

/** Button gestures, after debounce. `down`/`up` serve push-to-talk. */
export type ButtonEvent = 'down' | 'up' | 'press' | 'long-press' | 'double-press';

export type GpioEvents = {
  button: [ButtonEvent];
  error: [{ message: string }];
};

/** Button and LED port. A board without either uses the `none` driver. */
export interface Gpio extends TypedEmitter<GpioEvents> {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Shows `state`. `level` (0-1) is the current output audio level while speaking. */
  setLed(state: LedState, level?: number): void;
}
