/**
 * Register writes to one I2C device through the kernel's `/dev/i2c-N` (group `i2c` on Raspberry
 * Pi OS). Node has no way to issue the I2C_SLAVE ioctl that picks the device address, so this
 * goes through the optional `i2c-bus` package (built from source by node-gyp at install, no
 * downloaded binaries; same author and build as `spi-device`, which the APA102 driver uses).
 */
import { DeviceError } from '../../errors.js';
import { i2cError } from './errors.js';

/** Writes 8-bit registers of one device on one bus. */
export interface I2cRegisters {
  /** One SMBus "write byte data" transaction: register, value. Throws a DeviceError on failure. */
  writeRegister(register: number, value: number): void;
  close(): void;
}

/** The part of the `i2c-bus` module this driver uses. */
export interface I2cBusModule {
  openSync(busNumber: number, options?: { forceAccess?: boolean }): {
    writeByteSync(address: number, command: number, byte: number): unknown;
    closeSync(): unknown;
  };
}

/** Loads the optional `i2c-bus` binding; a clear error when it is not installed or not built. */
export async function loadI2cBus(): Promise<I2cBusModule> {
  try {
    const mod = (await import('i2c-bus')) as unknown as I2cBusModule & { default?: I2cBusModule };
    return mod.default ?? mod;
  } catch (err) {
    throw new DeviceError(
      `the optional package "i2c-bus" is not installed or not built (${(err as Error).message.split('\n')[0]}); ` +
        'run "npm install i2c-bus" (needs build-essential) to drive the LED of the AIY Voice Bonnet',
      { cause: err },
    );
  }
}

/**
 * Opens bus `bus` for the device at `address`. `i2c-bus` opens `/dev/i2c-N` and selects the
 * address on the first transfer, so a missing bus, a permission problem, an address held by a
 * kernel driver and an absent device all surface at the first `writeRegister`, mapped there.
 */
export function openI2c(mod: I2cBusModule, bus: number, address: number): I2cRegisters {
  let dev: ReturnType<I2cBusModule['openSync']>;
  try {
    dev = mod.openSync(bus);
  } catch (err) {
    throw i2cError(bus, address, err);
  }
  return {
    writeRegister(register, value) {
      try {
        dev.writeByteSync(address, register, value);
      } catch (err) {
        throw i2cError(bus, address, err);
      }
    },
    close() {
      try {
        dev.closeSync();
      } catch {
        // Closing a bus that failed is not worth a second error.
      }
    },
  };
}
