/**
 * GPIO pins through `rpio` (memory-mapped registers via /dev/gpiomem): Pi 1-4, Zero, Zero 2.
 * Not the Pi 5, whose pins sit behind the RP1 chip (use the gpiod driver there).
 *
 * The button is sampled every `pollMs` (default 10 ms) rather than through `rpio.poll`, whose
 * edge detection runs a 1 ms interval timer: 100 reads a second are plenty under a 50 ms
 * debounce and cost a tenth of the wake-ups on a Pi Zero.
 */
import { accessSync, constants } from 'node:fs';
import { DeviceError } from '../../errors.js';
import { gpioError, gpioPermissionError } from './errors.js';
import type { Bias, GpioLines, InputLine, OutputLine } from './lines.js';
import type { Scheduler, TimerHandle } from '../../util/clock.js';

/** The members of the `rpio` module this driver uses. */
export interface RpioModule {
  init(options: { gpiomem?: boolean; mapping?: 'gpio' | 'physical'; mock?: string | false; close_on_exit?: boolean }): void;
  open(pin: number, mode: number, init?: number): void;
  read(pin: number): number;
  write(pin: number, value: number): void;
  close(pin: number, reset?: number): void;
  on(event: 'warn', listener: (msg: string) => void): unknown;
  removeListener(event: 'warn', listener: (msg: string) => void): unknown;
  INPUT: number;
  OUTPUT: number;
  PULL_OFF: number;
  PULL_DOWN: number;
  PULL_UP: number;
  LOW: number;
  HIGH: number;
}

export interface RpioLinesOptions {
  rpio: RpioModule;
  clock: Scheduler;
  /** Input sampling period in ms. */
  pollMs: number;
  /** rpio's mock board (e.g. "raspi-3") for tests; unset on a real Pi. */
  mock?: string;
  /** Device node checked for permission before rpio opens it (default /dev/gpiomem). */
  gpiomemPath?: string;
  /** Permission check, injectable for tests (default: fs.accessSync read+write). */
  access?: (path: string) => void;
}

/** Loads the optional `rpio` addon with a clear error when it is missing or not built. */
export async function loadRpio(): Promise<RpioModule> {
  try {
    const mod = (await import('rpio')) as unknown as { default?: RpioModule } & RpioModule;
    return mod.default ?? mod;
  } catch (err) {
    throw new DeviceError(
      `the optional package "rpio" is not installed or not built (${(err as Error).message.split('\n')[0]}); ` +
        'run "npm install rpio" (needs build-essential), or use gpio.driver "gpiod"',
      { cause: err },
    );
  }
}

export class RpioLines implements GpioLines {
  readonly name = 'rpio';
  readonly #o: RpioLinesOptions;
  readonly #claimed = new Set<number>();
  #timers = new Map<number, TimerHandle>();
  #closed = false;

  private constructor(options: RpioLinesOptions) {
    this.#o = options;
  }

  /**
   * Initialises rpio for BCM numbering over /dev/gpiomem (no root needed). Throws a DeviceError
   * naming the fix when /dev/gpiomem is not accessible or the board is not one rpio knows.
   */
  static open(options: RpioLinesOptions): RpioLines {
    const { rpio } = options;
    const device = options.gpiomemPath ?? '/dev/gpiomem';
    if (!options.mock) {
      try {
        (options.access ?? ((p: string) => accessSync(p, constants.R_OK | constants.W_OK)))(device);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          throw new DeviceError(
            `${device} does not exist: rpio only works on Raspberry Pi 1-4 and Zero; use gpio.driver "gpiod" (or "auto")`,
            { cause: err },
          );
        }
        throw gpioPermissionError(device, err);
      }
    }
    // rpio silently falls back to a mock board when it does not recognise the hardware; a
    // driver that pretends to work is worse than one that says it cannot.
    const warnings: string[] = [];
    const onWarn = (msg: string) => warnings.push(msg);
    rpio.on('warn', onWarn);
    try {
      rpio.init({ gpiomem: true, mapping: 'gpio', mock: options.mock ?? false, close_on_exit: false });
    } catch (err) {
      throw gpioError(device, err);
    } finally {
      rpio.removeListener('warn', onWarn);
    }
    const fallback = warnings.find((w) => /mock mode/i.test(w));
    if (fallback && !options.mock) {
      throw new DeviceError(`rpio does not support this board (${fallback}); use gpio.driver "gpiod"`);
    }
    return new RpioLines(options);
  }

  async input(pin: number, bias: Bias, onChange: (high: boolean) => void): Promise<InputLine> {
    const { rpio, clock, pollMs } = this.#o;
    const pull = bias === 'pull-up' ? rpio.PULL_UP : bias === 'pull-down' ? rpio.PULL_DOWN : rpio.PULL_OFF;
    this.#claim(pin, () => rpio.open(pin, rpio.INPUT, pull));
    let last = rpio.read(pin) !== 0;
    const initial = last;
    const sample = () => {
      if (!this.#claimed.has(pin)) return;
      const high = rpio.read(pin) !== 0;
      if (high !== last) {
        last = high;
        onChange(high);
      }
      this.#timers.set(pin, clock.setTimeout(sample, pollMs));
    };
    this.#timers.set(pin, clock.setTimeout(sample, pollMs));
    return { initial, close: async () => this.#release(pin) };
  }

  async output(pin: number, initial: boolean): Promise<OutputLine> {
    const { rpio } = this.#o;
    this.#claim(pin, () => rpio.open(pin, rpio.OUTPUT, initial ? rpio.HIGH : rpio.LOW));
    let level = initial;
    return {
      set: (high) => {
        if (high === level || !this.#claimed.has(pin)) return;
        level = high;
        rpio.write(pin, high ? rpio.HIGH : rpio.LOW);
      },
      close: async () => {
        if (!this.#claimed.has(pin)) return;
        rpio.write(pin, rpio.LOW);
        this.#release(pin);
      },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const pin of [...this.#claimed]) this.#release(pin);
  }

  #claim(pin: number, open: () => void): void {
    if (this.#closed) throw new DeviceError('rpio GPIO is closed');
    if (this.#claimed.has(pin)) throw new DeviceError(`GPIO${pin} is already used by another function in this config`);
    try {
      open();
    } catch (err) {
      throw gpioError('/dev/gpiomem', err, pin);
    }
    this.#claimed.add(pin);
  }

  #release(pin: number): void {
    const t = this.#timers.get(pin);
    if (t) this.#o.clock.clearTimeout(t);
    this.#timers.delete(pin);
    if (!this.#claimed.delete(pin)) return;
    try {
      // Back to an input: a released pin should not keep driving anything.
      this.#o.rpio.close(pin);
    } catch {
      // Releasing is best effort at shutdown.
    }
  }
}
