/** APA102 strip on SPI as an LED sink. */
import type { Rgb } from '../../leds/patterns.js';
import type { LedSink } from '../../leds/sink.js';
import { encodeApa102 } from './apa102.js';
import type { SpiTransport } from './spi.js';

export class Apa102Sink implements LedSink {
  readonly count: number;
  readonly #spi: SpiTransport;
  readonly #brightness: number;
  #last: Buffer | undefined;
  #closed = false;

  /** @param brightness global 5-bit brightness 0-31 sent with every LED. */
  constructor(spi: SpiTransport, count: number, brightness: number) {
    this.#spi = spi;
    this.count = count;
    this.#brightness = brightness;
  }

  show(frame: readonly Rgb[]): void {
    if (this.#closed) return;
    const bytes = encodeApa102(frame, this.#brightness);
    // Static states render the same frame again and again; the strip holds it, so skip the bus.
    if (this.#last && bytes.equals(this.#last)) return;
    this.#spi.write(bytes);
    this.#last = bytes;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      this.show(Array.from({ length: this.count }, () => [0, 0, 0] as const));
    } finally {
      this.#closed = true;
      this.#spi.close();
    }
  }
}
