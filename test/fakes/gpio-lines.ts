/**
 * Fakes of the layers under the board Gpio: a recording SPI device (APA102 frames), a recording
 * KTD2027 on I2C, and an in-memory pin driver (`GpioLines`) whose input levels the test sets.
 * Strict: claiming a pin twice, driving a released output, using a closed pin driver and
 * writing a closed I2C device throw.
 */
import type { I2cRegisters } from '../../src/drivers/gpio/i2c.js';
import { KTD2027_REG } from '../../src/drivers/gpio/ktd2027-sink.js';
import type { Bias, GpioLines, InputLine, OutputLine } from '../../src/drivers/gpio/lines.js';
import type { SpiTransport } from '../../src/drivers/gpio/spi.js';

/** An SPI device that records every frame written. */
export class RecordingSpi implements SpiTransport {
  readonly writes: Buffer[] = [];
  closed = false;
  failWith: Error | undefined;
  write(data: Buffer): void {
    if (this.failWith) throw this.failWith;
    this.writes.push(Buffer.from(data));
  }
  close(): void {
    this.closed = true;
  }
  get last(): Buffer | undefined {
    return this.writes[this.writes.length - 1];
  }
}

/** A KTD2027 that records register writes; like the real chip it does not acknowledge a reset. */
export class FakeKtd implements I2cRegisters {
  writes: [number, number][] = [];
  closed = false;
  failWith: Error | undefined;
  writeRegister(register: number, value: number): void {
    if (this.closed) throw new Error('FakeKtd.writeRegister(): the I2C device is closed');
    if (this.failWith) throw this.failWith;
    this.writes.push([register, value]);
    if (register === KTD2027_REG.control && value === 0x07) throw Object.assign(new Error('Remote I/O error'), { code: 'EREMOTEIO' });
  }
  close(): void {
    this.closed = true;
  }
  /** Takes the writes recorded so far. */
  take(): [number, number][] {
    return this.writes.splice(0);
  }
}

interface Watch {
  bias: Bias;
  onChange: (high: boolean) => void;
}

/** Pins in memory: `level(pin, high)` is the outside world changing an input. */
export class FakeLines implements GpioLines {
  readonly name = 'fake';
  /** Levels driven on outputs, by pin. */
  readonly outputs = new Map<number, boolean[]>();
  readonly #levels = new Map<number, boolean>();
  readonly #watches = new Map<number, Watch>();
  readonly #claimed = new Set<number>();
  #closed = false;

  constructor(levels: Record<number, boolean> = {}) {
    for (const [pin, high] of Object.entries(levels)) this.#levels.set(Number(pin), high);
  }

  /** Sets an input's level; the watcher hears every change. */
  level(pin: number, high: boolean): void {
    if (this.#levels.get(pin) === high) return;
    this.#levels.set(pin, high);
    this.#watches.get(pin)?.onChange(high);
  }

  get claimed(): number[] {
    return [...this.#claimed].sort((a, b) => a - b);
  }

  async input(pin: number, bias: Bias, onChange: (high: boolean) => void, _onError?: (err: Error) => void): Promise<InputLine> {
    this.#claim(pin);
    // An unconnected pin reads what its bias pulls it to.
    if (!this.#levels.has(pin)) this.#levels.set(pin, bias === 'pull-up');
    this.#watches.set(pin, { bias, onChange });
    return {
      initial: this.#levels.get(pin)!,
      close: async () => {
        this.#watches.delete(pin);
        this.#claimed.delete(pin);
      },
    };
  }

  async output(pin: number, initial: boolean, _onError?: (err: Error) => void): Promise<OutputLine> {
    this.#claim(pin);
    const driven = [initial];
    this.outputs.set(pin, driven);
    let open = true;
    return {
      set: (high) => {
        if (!open) throw new Error(`FakeLines: GPIO${pin} was released`);
        if (driven[driven.length - 1] !== high) driven.push(high);
      },
      close: async () => {
        if (open && driven[driven.length - 1]) driven.push(false);
        open = false;
        this.#claimed.delete(pin);
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watches.clear();
    this.#claimed.clear();
  }

  #claim(pin: number): void {
    if (this.#closed) throw new Error('FakeLines: the pin driver is closed');
    if (this.#claimed.has(pin)) throw new Error(`FakeLines: GPIO${pin} is already claimed`);
    this.#claimed.add(pin);
  }
}
