/** Test doubles for the GPIO layer: a recording SPI device (and the shared manual clock). */
export { ManualScheduler } from './fakes/clock.js';
import type { SpiTransport } from '../src/drivers/gpio/spi.js';

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
