/**
 * The RGB LED in the AIY Voice Bonnet's button, driven by a Kinetic KTD2027 constant-current LED
 * driver on I2C (bus 1, address 0x31), as an LED sink.
 *
 * Register map (from Google's AIY `leds-ktd202x` kernel driver and `aiy/leds.py`, which agree with
 * the mainline Linux `leds-ktd202x` driver):
 * - 0x00 reset/control: [6:5] ramp scaling, [4:3] enable mode (00 = on while SCL and SDA idle
 *   high, which they do on the Pi), [2:0] timer slot; writing 0b111 to [2:0] resets every
 *   register. The chip does not acknowledge that write, and needs ~200 us before the next one.
 * - 0x01 flash period, 0x02/0x03 PWM1/PWM2 on-time, 0x05 rise/fall ramp: the chip's own blink
 *   timers, not used here (see below).
 * - 0x04 channel control, two bits per channel (LED1 in [1:0] ... LED4 in [7:6]):
 *   00 off, 01 always on, 10 PWM1 timer, 11 PWM2 timer.
 * - 0x06-0x09 LED1-LED4 output current: (value + 1) x 0.125 mA, so 0 is 0.125 mA and 191 is the
 *   24 mA maximum. An enabled channel is never fully dark: off means channel control 00.
 * On the bonnet LED1 is red, LED2 green, LED3 blue (aiy/leds.py `Leds.rgb`); LED4 is unused.
 * The chip's registers cannot be read back reliably over I2C (noted by both drivers), so the sink
 * keeps its own copy and writes only what changed.
 *
 * Every frame is set through the current registers, from the animator, like the other sinks: one
 * pattern table for every board, and a blink or a pulse that stays in step with the agent's state
 * changes. The hardware timers would save a few I2C writes per second but could not follow the
 * speaking level, and their ramps differ from the software patterns.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { Rgb } from '../../leds/patterns.js';
import type { LedSink } from '../../leds/sink.js';
import type { I2cRegisters } from './i2c.js';

/** Register addresses. */
export const KTD2027_REG = {
  control: 0x00,
  flashPeriod: 0x01,
  pwm1: 0x02,
  pwm2: 0x03,
  channelControl: 0x04,
  ramp: 0x05,
  /** LED1 (red) current; LED2 (green), LED3 (blue) and LED4 follow. */
  current: 0x06,
} as const;

/** Register 0x00 value that resets the chip (bits [2:0] = 111). */
export const KTD2027_RESET = 0x07;
/** Register 0x00 in normal operation: awake while the I2C lines idle high, timer slot 1, normal ramp. */
export const KTD2027_AWAKE = 0x00;
/** Highest current code: (191 + 1) x 0.125 mA = 24 mA. */
export const KTD2027_MAX_CODE = 191;
/** Output current per code step, mA. */
export const KTD2027_STEP_MA = 0.125;
/** Channel control value for "always on". */
const CHANNEL_ON = 0x01;
/** Settle time after a reset: the datasheet asks for 200 us; timers have 1 ms resolution. */
const RESET_SETTLE_MS = 1;

export interface Ktd2027Options {
  /** Overall brightness 0-31 (the `gpio.leds.brightness` setting): 31 allows the chip's full 24 mA. */
  brightness: number;
  /** Waits after the reset (default: a real 1 ms timer; tests pass an instant one). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Current codes for one colour: per channel the code (0-191), or -1 for "channel off".
 * The colour's ratios set the hue; its strongest channel sets the brightness, squared, since eyes
 * see brightness roughly as the square root of light output (as the single-LED driver does), so
 * a pulse looks even. `maxMa` is the current of a full-scale channel.
 */
export function ktd2027Codes(color: Rgb, maxMa: number): [number, number, number] {
  const lum = Math.max(0, Math.min(255, Math.max(color[0], color[1], color[2]))) / 255;
  const code = (v: number): number => {
    const fraction = (Math.max(0, Math.min(255, v)) / 255) * lum;
    const steps = Math.round((fraction * maxMa) / KTD2027_STEP_MA);
    return steps <= 0 ? -1 : Math.min(KTD2027_MAX_CODE, steps - 1);
  };
  return [code(color[0]), code(color[1]), code(color[2])];
}

export class Ktd2027Sink implements LedSink {
  readonly count = 1;
  readonly #regs: I2cRegisters;
  readonly #maxMa: number;
  /** What the chip holds (it cannot be read back): current codes per channel, channel control. */
  readonly #current: (number | undefined)[] = [undefined, undefined, undefined];
  #control = 0;
  #closed = false;

  private constructor(regs: I2cRegisters, maxMa: number) {
    this.#regs = regs;
    this.#maxMa = maxMa;
  }

  /**
   * Checks the chip answers, resets it and leaves every channel off. Throws the mapped DeviceError
   * (bus missing, permission, address held by a kernel driver, no device at the address).
   */
  static async open(regs: I2cRegisters, options: Ktd2027Options): Promise<Ktd2027Sink> {
    const sleep = options.sleep ?? ((ms: number) => sleepMs(ms).then(() => undefined));
    // First a plain write that any present chip acknowledges: tells "no device here" apart from
    // the reset below, which a present chip does not acknowledge either.
    regs.writeRegister(KTD2027_REG.channelControl, 0);
    try {
      regs.writeRegister(KTD2027_REG.control, KTD2027_RESET);
    } catch {
      // Expected: the chip resets instead of acknowledging.
    }
    await sleep(RESET_SETTLE_MS);
    regs.writeRegister(KTD2027_REG.control, KTD2027_AWAKE);
    regs.writeRegister(KTD2027_REG.channelControl, 0);
    const brightness = Math.max(0, Math.min(31, options.brightness));
    return new Ktd2027Sink(regs, ((KTD2027_MAX_CODE + 1) * KTD2027_STEP_MA * brightness) / 31);
  }

  /** Register state as the sink last wrote it (for tests and the hardware check). */
  get registers(): { currents: (number | undefined)[]; channelControl: number } {
    return { currents: [...this.#current], channelControl: this.#control };
  }

  show(frame: readonly Rgb[]): void {
    if (this.#closed) return;
    const codes = ktd2027Codes(frame[0] ?? [0, 0, 0], this.#maxMa);
    let control = 0;
    // Currents first, then switch channels: a colour change never shows the old current on a
    // newly enabled channel.
    for (let ch = 0; ch < 3; ch++) {
      const code = codes[ch]!;
      if (code < 0) continue;
      control |= CHANNEL_ON << (2 * ch);
      if (this.#current[ch] !== code) {
        this.#regs.writeRegister(KTD2027_REG.current + ch, code);
        this.#current[ch] = code;
      }
    }
    if (control !== this.#control) {
      this.#regs.writeRegister(KTD2027_REG.channelControl, control);
      this.#control = control;
    }
  }

  /** Turns the LED off and resets the chip (as the kernel driver does at shutdown), then releases the bus. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // The animator has usually shown "off" already; the reset alone would clear it too, but is
      // not acknowledged, so switching the channels off first is the write that can be checked.
      if (this.#control !== 0) this.#regs.writeRegister(KTD2027_REG.channelControl, 0);
      this.#control = 0;
      try {
        this.#regs.writeRegister(KTD2027_REG.control, KTD2027_RESET);
      } catch {
        // Not acknowledged while the chip resets.
      }
    } finally {
      this.#regs.close();
    }
  }
}
