/**
 * Turns the raw failures of GPIO and SPI access into messages that say what to do: which group
 * to join, which line to add to config.txt, which pin is taken. Every message names the device.
 */
import { DeviceError } from '../../errors.js';

const CONFIG_TXT = '/boot/firmware/config.txt (/boot/config.txt before Raspberry Pi OS bookworm)';

function code(err: unknown): string | undefined {
  const c = (err as NodeJS.ErrnoException | undefined)?.code;
  if (c) return c;
  const m = /\b(EACCES|EPERM|ENOENT|EBUSY|ENODEV)\b/.exec(String((err as Error | undefined)?.message ?? err));
  return m?.[1];
}

/** No permission on a GPIO device node (`/dev/gpiomem`, `/dev/gpiochipN`). */
export function gpioPermissionError(device: string, cause?: unknown): DeviceError {
  return new DeviceError(
    `no permission to open ${device}: add the service user to group "gpio" ` +
      `(sudo usermod -aG gpio $USER, then log in again; the systemd unit needs SupplementaryGroups=gpio)`,
    { cause },
  );
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
      return new DeviceError(
        `no permission to open ${device}: add the service user to group "spi" ` +
          `(sudo usermod -aG spi $USER, then log in again; the systemd unit needs SupplementaryGroups=spi)`,
        { cause: err },
      );
    case 'EBUSY':
      return new DeviceError(`${device} is busy: another program is using the SPI device`, { cause: err });
    default:
      return new DeviceError(`cannot use ${device}: ${errText(err)}`, { cause: err });
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
