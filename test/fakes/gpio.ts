/**
 * GPIO whose button the test presses and whose LED history it reads. Strict, like serialport's
 * mock binding: a button event on a GPIO that is not started throws (nothing is watching the
 * pin then), and so does an LED state the port does not know or a level outside 0-1.
 * `setLed()` itself works at any time, as the board driver's does (it shows the state on start).
 */
import type { ButtonEvent, Gpio, GpioEvents, LedState } from '../../src/ports/gpio.js';
import { TypedEmitter } from '../../src/util/typed-emitter.js';

const KNOWN: Record<LedState, true> = {
  off: true,
  idle: true,
  listening: true,
  'follow-up': true,
  thinking: true,
  speaking: true,
  muted: true,
  error: true,
  disconnected: true,
  timer: true,
  ringing: true,
};
/** Every LED state of the port, in declaration order. */
export const LED_STATES = Object.keys(KNOWN) as LedState[];

const BUTTON: Record<ButtonEvent, true> = { down: true, up: true, press: true, 'long-press': true, 'double-press': true };

export class FakeGpio extends TypedEmitter<GpioEvents> implements Gpio {
  readonly leds: LedState[] = [];
  /** Audio levels passed with `speaking`. */
  readonly levels: number[] = [];
  #started = false;

  get started(): boolean {
    return this.#started;
  }
  /** Idempotent. */
  async start(): Promise<void> {
    this.#started = true;
  }
  /** Idempotent; safe before start. */
  async stop(): Promise<void> {
    this.#started = false;
  }
  setLed(state: LedState, level?: number): void {
    if (!Object.hasOwn(KNOWN, state)) throw new Error(`FakeGpio.setLed(): unknown LED state ${JSON.stringify(state)}`);
    if (level !== undefined && !(Number.isFinite(level) && level >= 0 && level <= 1)) {
      throw new Error(`FakeGpio.setLed(): level must be 0-1, got ${level}`);
    }
    if (this.leds[this.leds.length - 1] !== state) this.leds.push(state);
    if (level !== undefined) this.levels.push(level);
  }
  /** The person at the device: emits a button gesture. */
  button(event: ButtonEvent): void {
    if (!Object.hasOwn(BUTTON, event)) throw new Error(`FakeGpio.button(): unknown button event ${JSON.stringify(event)}`);
    if (!this.#started) throw new Error(`FakeGpio.button(): the GPIO is not started: call start() first (nothing watches the pin)`);
    this.emit('button', event);
  }
}
