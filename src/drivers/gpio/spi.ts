/**
 * SPI output through the kernel's `/dev/spidevB.D` (works on every Pi for members of group
 * `spi`, unlike rpio's SPI which needs `/dev/mem`). Uses the `spi-device` package because a
 * plain `write()` to spidev runs at the device-tree's maximum clock (125 MHz on the Pi), far
 * beyond what APA102 LEDs accept; setting the clock needs the SPI_IOC ioctls that only a
 * native binding can issue from Node.
 */
import { DeviceError } from '../../errors.js';
import { spiError } from './errors.js';

/** Something that clocks bytes out on SPI. */
export interface SpiTransport {
  /** Sends `data` in one transfer (chip select held for the whole frame). Throws on I/O errors. */
  write(data: Buffer): void;
  close(): void;
}

/** The part of the `spi-device` module this driver uses. */
export interface SpiDeviceModule {
  openSync(bus: number, device: number, options?: { mode?: number; maxSpeedHz?: number }): {
    transferSync(message: { byteLength: number; sendBuffer?: Buffer; speedHz?: number }[]): unknown;
    closeSync(): unknown;
  };
  MODE0: number;
}

/** Splits `/dev/spidev0.1` into bus 0, device 1. */
export function parseSpidevPath(path: string): { bus: number; device: number } {
  const m = /^\/dev\/spidev(\d+)\.(\d+)$/.exec(path);
  if (!m) throw new DeviceError(`"${path}" is not a spidev node (expected /dev/spidevB.D, e.g. /dev/spidev0.1)`);
  return { bus: Number(m[1]), device: Number(m[2]) };
}

/** Loads the optional `spi-device` binding; a clear error when it is not installed or not built. */
export async function loadSpiDevice(): Promise<SpiDeviceModule> {
  try {
    const mod = (await import('spi-device')) as unknown as SpiDeviceModule & { default?: SpiDeviceModule };
    return mod.default ?? mod;
  } catch (err) {
    throw new DeviceError(
      `the optional package "spi-device" is not installed or not built (${(err as Error).message.split('\n')[0]}); ` +
        'run "npm install spi-device" (needs build-essential) to drive APA102 LEDs',
      { cause: err },
    );
  }
}

/** Opens `path` at `speedHz` in SPI mode 0 (what APA102 expects). */
export function openSpi(spi: SpiDeviceModule, path: string, speedHz: number): SpiTransport {
  const { bus, device } = parseSpidevPath(path);
  let dev: ReturnType<SpiDeviceModule['openSync']>;
  try {
    dev = spi.openSync(bus, device, { mode: spi.MODE0, maxSpeedHz: speedHz });
  } catch (err) {
    throw spiError(path, err);
  }
  return {
    write(data) {
      try {
        dev.transferSync([{ byteLength: data.length, sendBuffer: data, speedHz }]);
      } catch (err) {
        throw spiError(path, err);
      }
    },
    close() {
      try {
        dev.closeSync();
      } catch {
        // Closing a device that failed is not worth a second error.
      }
    },
  };
}
