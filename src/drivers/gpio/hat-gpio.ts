/**
 * The Gpio port for a real board: a button on a pin, LEDs on SPI (APA102), on I2C (KTD2027, the
 * AIY Voice Bonnet) or on a pin, and an optional LED power pin. Every part is optional and fails
 * on its own: a missing permission or a disabled SPI or I2C bus costs that part (one warning
 * naming the fix) and never the agent, which keeps working by wake word and control socket. `start()` never throws for hardware reasons.
 */
import type { GpioConfig } from '../../config/schema.js';
import { LedAnimator } from '../../leds/animator.js';
import { buildPatterns, type Pattern } from '../../leds/patterns.js';
import type { LedSink } from '../../leds/sink.js';
import type { Logger } from '../../log/logger.js';
import type { ButtonEvent, Gpio, GpioEvents, LedState } from '../../ports/gpio.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { Apa102Sink } from './apa102-sink.js';
import { ButtonRecognizer } from './button.js';
import { errText } from './errors.js';
import type { I2cRegisters } from './i2c.js';
import { Ktd2027Sink } from './ktd2027-sink.js';
import type { GpioLines, InputLine, OutputLine } from './lines.js';
import type { Scheduler } from '../../util/clock.js';
import { SingleLedSink } from './single-led-sink.js';
import type { SpiTransport } from './spi.js';

export interface HatGpioDeps {
  config: GpioConfig;
  log: Logger;
  clock: Scheduler;
  /** Opens the pin driver; undefined when the config needs no pins (e.g. APA102 without power pin). */
  openLines?: () => Promise<GpioLines>;
  /** Opens the SPI device for APA102 LEDs. */
  openSpi?: (device: string, speedHz: number) => Promise<SpiTransport>;
  /** Opens the I2C device for KTD2027 LEDs (`bus` as in /dev/i2c-N, 7-bit `address`). */
  openI2c?: (bus: number, address: number) => Promise<I2cRegisters>;
  /** Waits after the KTD2027 reset (default: a real 1 ms timer). */
  i2cSleep?: (ms: number) => Promise<void>;
}

/** What came up at start, for the hardware check and tests. */
export interface GpioStatus {
  driver: string | undefined;
  button: boolean;
  leds: 'apa102' | 'gpio' | 'ktd2027' | undefined;
  problems: string[];
}

export class HatGpio extends TypedEmitter<GpioEvents> implements Gpio {
  readonly #d: HatGpioDeps;
  readonly #log: Logger;
  #lines: GpioLines | undefined;
  #button: ButtonRecognizer | undefined;
  #buttonLine: InputLine | undefined;
  #power: OutputLine | undefined;
  #sink: LedSink | undefined;
  #animator: LedAnimator | undefined;
  #led: { state: LedState; level?: number } = { state: 'off' };
  #started = false;
  #status: GpioStatus = { driver: undefined, button: false, leds: undefined, problems: [] };

  constructor(deps: HatGpioDeps) {
    super();
    this.#d = deps;
    this.#log = deps.log;
  }

  get status(): GpioStatus {
    return { ...this.#status, problems: [...this.#status.problems] };
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { config } = this.#d;
    const needPins =
      config.buttonPin !== undefined || config.leds.powerPin !== undefined || config.leds.driver === 'gpio';
    this.#status = { driver: undefined, button: false, leds: undefined, problems: [] };
    if (needPins && !this.#d.openLines) {
      this.#problem(
        'gpio-unavailable',
        'no button and no GPIO LEDs',
        new Error('gpio.driver is "none" but pins are configured: set gpio.driver to auto, rpio or gpiod'),
      );
    } else if (needPins && this.#d.openLines) {
      try {
        this.#lines = await this.#d.openLines();
        this.#status.driver = this.#lines.name;
      } catch (err) {
        this.#problem('gpio-unavailable', 'no button and no GPIO LEDs', err);
      }
    }
    await this.#startButton();
    await this.#startLeds();
    this.#log.info('gpio-ready', {
      driver: this.#status.driver ?? 'none',
      button: this.#status.button ? `GPIO${config.buttonPin}` : 'none',
      leds: this.#status.leds ?? 'none',
    });
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#button?.dispose();
    this.#button = undefined;
    this.#animator?.stop();
    this.#animator = undefined;
    const steps: (() => Promise<void> | undefined)[] = [
      () => this.#buttonLine?.close(),
      () => this.#sink?.close(),
      () => this.#power?.close(),
      () => this.#lines?.close(),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.#log.warn('gpio-release-failed', { error: errText(err) });
      }
    }
    this.#buttonLine = this.#sink = this.#power = this.#lines = undefined;
  }

  setLed(state: LedState, level?: number): void {
    this.#led = { state, level };
    this.#animator?.set(state, level);
  }

  async #startButton(): Promise<void> {
    const { config, clock } = this.#d;
    if (config.buttonPin === undefined || !this.#lines) return;
    const pin = config.buttonPin;
    const timing = { debounceMs: config.debounceMs, longPressMs: config.longPressMs, doublePressMs: config.doublePressMs };
    // Edges can arrive before input() resolves: queue them until the recogniser exists.
    const ref: { recognizer?: ButtonRecognizer } = {};
    const pending: boolean[] = [];
    try {
      this.#buttonLine = await this.#lines.input(
        pin,
        config.activeLow ? 'pull-up' : 'pull-down',
        (high) => {
          const pressed = config.activeLow ? !high : high;
          if (ref.recognizer) ref.recognizer.input(pressed);
          else pending.push(pressed);
        },
        (err) => this.#runtimeError('button-failed', err),
      );
    } catch (err) {
      this.#problem('button-unavailable', 'no button', err);
      return;
    }
    const initial = config.activeLow ? !this.#buttonLine.initial : this.#buttonLine.initial;
    const recognizer = new ButtonRecognizer(timing, clock, (e) => this.#onButton(e), initial);
    for (const p of pending) recognizer.input(p);
    ref.recognizer = recognizer;
    this.#button = recognizer;
    this.#status.button = true;
  }

  async #startLeds(): Promise<void> {
    const { config, clock, log } = this.#d;
    const leds = config.leds;
    if (leds.driver === 'none') return;
    try {
      if (leds.powerPin !== undefined) {
        if (!this.#lines) throw new Error(`the LED power pin GPIO${leds.powerPin} needs a GPIO driver`);
        this.#power = await this.#lines.output(leds.powerPin, true, (err) => this.#runtimeError('led-power-failed', err));
      }
      if (leds.driver === 'apa102') {
        if (!this.#d.openSpi) throw new Error('no SPI support in this build');
        const spi = await this.#d.openSpi(leds.spiDevice, leds.spiSpeedHz);
        this.#sink = new Apa102Sink(spi, leds.count, leds.brightness);
      } else if (leds.driver === 'ktd2027') {
        if (!this.#d.openI2c) throw new Error('no I2C support in this build');
        const regs = await this.#d.openI2c(leds.i2cBus, leds.i2cAddress);
        try {
          this.#sink = await Ktd2027Sink.open(regs, { brightness: leds.brightness, sleep: this.#d.i2cSleep });
        } catch (err) {
          regs.close();
          throw err;
        }
      } else {
        if (!this.#lines) throw new Error(`the LED on GPIO${leds.pin} needs a GPIO driver`);
        const line = await this.#lines.output(leds.pin!, false, (err) => this.#runtimeError('led-failed', err));
        // Software PWM only where a pin write is cheap (rpio); gpiod would spawn a process per edge.
        this.#sink = new SingleLedSink(line, clock, { pwmPeriodMs: this.#lines.name === 'rpio' ? 20 : 0 });
      }
    } catch (err) {
      this.#problem('leds-unavailable', 'no LEDs', err);
      await this.#power?.close().catch(() => {});
      this.#power = undefined;
      return;
    }
    this.#status.leds = leds.driver;
    const patterns = buildPatterns(leds.colors);
    this.#animator = new LedAnimator(this.#sink, this.#sink.count === 1 ? forOneLed(patterns) : patterns, clock, {
      fps: leds.fps,
      onError: (err) => this.#runtimeError('leds-failed', err),
    });
    log.debug('leds-ready', { driver: leds.driver, count: this.#sink.count });
    this.#animator.set(this.#led.state, this.#led.level);
  }

  #onButton(event: ButtonEvent): void {
    this.#log.debug('button', { event });
    this.emit('button', event);
  }

  /** A part that could not start: one warning line, and the agent carries on without it. */
  #problem(event: string, consequence: string, err: unknown): void {
    const message = errText(err);
    this.#status.problems.push(message);
    this.#log.warn(event, { error: message, effect: consequence });
  }

  /** A part that failed while running. */
  #runtimeError(event: string, err: unknown): void {
    const message = errText(err);
    this.#log.warn(event, { error: message });
    // An 'error' event with no listener would throw out of a timer callback: only emit when heard.
    if (this.listenerCount('error') > 0) this.emit('error', { message });
  }
}

/**
 * One LED cannot show a light walking round a ring: rendered as-is, a spin is a steady light and
 * "thinking" would look like "listening". On a single LED a spin breathes instead, once per
 * revolution, down to a fifth of full brightness.
 */
export function forOneLed(patterns: Record<LedState, Pattern>): Record<LedState, Pattern> {
  const out = { ...patterns };
  for (const [state, p] of Object.entries(out) as [LedState, Pattern][]) {
    if (p.animation.kind === 'spin') out[state] = { ...p, animation: { kind: 'pulse', periodMs: p.animation.periodMs, min: 0.2 } };
  }
  return out;
}
