/**
 * One single-colour LED on a GPIO pin (AIY Voice HAT: GPIO25) as an LED sink. The frame's
 * first colour sets the brightness (its strongest channel). With software PWM (rpio, where a
 * pin write is a memory store) in-between brightness is a duty cycle at `pwmPeriodMs`; without
 * it (gpiod, where each change is a process) the LED is on at half brightness or more.
 */
import type { Rgb } from '../../leds/patterns.js';
import type { LedSink } from '../../leds/sink.js';
import type { OutputLine } from './lines.js';
import type { Scheduler, TimerHandle } from '../../util/clock.js';

export interface SingleLedOptions {
  /** Software PWM period in ms (20 = 50 Hz); 0 disables PWM (on/off only). */
  pwmPeriodMs: number;
}

export class SingleLedSink implements LedSink {
  readonly count = 1;
  readonly #line: OutputLine;
  readonly #clock: Scheduler;
  readonly #periodMs: number;
  #duty = -1;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(line: OutputLine, clock: Scheduler, options: SingleLedOptions) {
    this.#line = line;
    this.#clock = clock;
    this.#periodMs = options.pwmPeriodMs;
  }

  /** The duty cycle now shown (0-1), for tests and the hardware check. */
  get duty(): number {
    return Math.max(0, this.#duty);
  }

  show(frame: readonly Rgb[]): void {
    if (this.#closed) return;
    const c = frame[0] ?? [0, 0, 0];
    const lum = Math.max(c[0], c[1], c[2]) / 255;
    // Eyes see brightness roughly as the square root of power: square it for an even fade.
    let duty = lum * lum;
    if (this.#periodMs <= 0) duty = lum >= 0.5 ? 1 : 0;
    // Quantise to what 1 ms timers can do, so tiny changes do not restart the cycle.
    const steps = Math.max(1, this.#periodMs);
    duty = Math.round(duty * steps) / steps;
    if (duty === this.#duty) return;
    this.#duty = duty;
    this.#stopPwm();
    if (duty <= 0) this.#line.set(false);
    else if (duty >= 1) this.#line.set(true);
    else this.#cycle();
  }

  #cycle(): void {
    const onMs = this.#duty * this.#periodMs;
    this.#line.set(true);
    this.#timer = this.#clock.setTimeout(() => {
      this.#line.set(false);
      this.#timer = this.#clock.setTimeout(() => this.#cycle(), this.#periodMs - onMs);
    }, onMs);
  }

  #stopPwm(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopPwm();
    await this.#line.close();
  }
}
