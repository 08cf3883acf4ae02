/**
 * Turns the raw failures of GPIO and SPI access into messages that say what to do: which group
 * to join, which line to add to config.txt, which pin is taken. Every message names the device.
 */
import { DeviceError } from '../../errors.js';

const CONFIG_TXT = '/boot/firmware/config.txt (/boot/config.txt before Raspberry Pi OS bookworm)';

function code(err: unknown): string | undefined {
  const c = (err as NodeJS.ErrnoException | undefined)?.code;
  if (c) return c;
  const m = /\b(EACCES|EPERM|ENOENT|EBUSY|ENODEV|ENXIO|EREMOTEIO|EIO)\b/.exec(String((err as Error | undefined)?.message ?? err));
  return m?.[1];
}

/**
 * No permission on a device node that group `group` may open. The service user gets the group
 * from the installer (and the unit's SupplementaryGroups for gpio/spi); a person running the
 * agent by hand joins it and logs in again.
 */
function groupPermissionError(device: string, group: string, cause?: unknown): DeviceError {
  return new DeviceError(
    `no permission to open ${device}: add the service user to group "${group}" ` +
      `(sudo usermod -aG ${group} $USER, then log in again; for the service: sudo systemctl restart speaker-agent)`,
    { cause },
  );
}

/** No permission on a GPIO device node (`/dev/gpiomem`, `/dev/gpiochipN`). */
export function gpioPermissionError(device: string, cause?: unknown): DeviceError {
  return groupPermissionError(device, 'gpio', cause);
}

/** A GPIO pin already held by another process or a kernel driver. */
export function pinBusyError(pin: number, device: string, cause?: unknown): DeviceError {
  return new DeviceError(
    `GPIO${pin} on ${device} is busy: another program or a device-tree overlay holds it ` +
      `(see "gpioinfo"); stop that program or choose another pin in the gpio config`,
    { cause },
  );
}

/** Maps an error from opening `/dev/spidevB.D` to an actionable DeviceError. */
export function spiError(device: string, err: unknown): DeviceError {
  switch (code(err)) {
    case 'ENOENT':
    case 'ENODEV':
      return new DeviceError(
        `${device} does not exist: SPI is not enabled. Add the line "dtparam=spi=on" to ${CONFIG_TXT} and reboot`,
        { cause: err },
      );
    case 'EACCES':
    case 'EPERM':
      return groupPermissionError(device, 'spi', err);
    case 'EBUSY':
      return new DeviceError(`${device} is busy: another program is using the SPI device`, { cause: err });
    default:
      return new DeviceError(`cannot use ${device}: ${errText(err)}`, { cause: err });
  }
}

/**
 * Maps an error from talking to the I2C device at `address` on `/dev/i2c-<bus>`: bus missing
 * (I2C not enabled), no permission (group i2c), address held by a kernel driver, or no device
 * acknowledging the address (wrong board or address).
 */
export function i2cError(bus: number, address: number, err: unknown): DeviceError {
  const device = `/dev/i2c-${bus}`;
  const addr = `0x${address.toString(16).padStart(2, '0')}`;
  switch (code(err)) {
    case 'ENOENT':
    case 'ENODEV':
      return new DeviceError(
        `${device} does not exist: I2C is not enabled. Add the line "dtparam=i2c_arm=on" to ${CONFIG_TXT}, ` +
          'load the i2c-dev module at boot (sudo raspi-config nonint do_i2c 0 does both) and reboot',
        { cause: err },
      );
    case 'EACCES':
    case 'EPERM':
      return groupPermissionError(device, 'i2c', err);
    case 'EBUSY':
      return new DeviceError(
        `I2C address ${addr} on ${device} is held by a kernel driver (the AIY image's leds-ktd202x module, ` +
          'bound through the aiy-voicebonnet overlay): keep the overlay (it is the sound card) and stop the module with ' +
          '"echo blacklist leds-ktd202x | sudo tee /etc/modprobe.d/speaker-agent-leds.conf", then reboot; ' +
          'or set gpio.leds.driver to none',
        { cause: err },
      );
    case 'ENXIO':
    case 'EREMOTEIO':
    case 'EIO':
      return new DeviceError(
        `no device answers at I2C address ${addr} on ${device}: this is not an AIY Voice Bonnet or the address ` +
          `is wrong (check with "i2cdetect -y ${bus}" from i2c-tools; set gpio.leds.i2cAddress)`,
        { cause: err },
      );
    default:
      return new DeviceError(`cannot use I2C address ${addr} on ${device}: ${errText(err)}`, { cause: err });
  }
}

/** Maps an error from opening a GPIO device node; `pin` names the line when one was being requested. */
export function gpioError(device: string, err: unknown, pin?: number): DeviceError {
  switch (code(err)) {
    case 'EACCES':
    case 'EPERM':
      return gpioPermissionError(device, err);
    case 'EBUSY':
      return pin === undefined
        ? new DeviceError(`${device} is busy`, { cause: err })
        : pinBusyError(pin, device, err);
    case 'ENOENT':
      return new DeviceError(`${device} does not exist: this board has no such GPIO device`, { cause: err });
    default:
      return new DeviceError(`cannot use ${device}${pin === undefined ? '' : ` (GPIO${pin})`}: ${errText(err)}`, {
        cause: err,
      });
  }
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
