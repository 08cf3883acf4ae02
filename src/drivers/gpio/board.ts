/**
 * Which GPIO driver suits the board: rpio on the BCM283x/2711 Pis (1-4, 400, Zero, CM1-4),
 * gpiod on the Pi 5 family (RP1 I/O chip) and on anything else with a GPIO character device.
 */

/** Where the kernel publishes the board name (NUL-terminated). */
export const MODEL_PATHS = ['/proc/device-tree/model', '/sys/firmware/devicetree/base/model'];

/** Reads the board model, or undefined when no device tree is there (a PC, a container). */
export function readBoardModel(readFile: (path: string) => string, paths: readonly string[] = MODEL_PATHS): string | undefined {
  for (const p of paths) {
    try {
      const text = readFile(p).replace(/\0/g, '').trim();
      if (text) return text;
    } catch {
      // Try the next location.
    }
  }
  return undefined;
}

export type GpioDriverName = 'rpio' | 'gpiod';

/** Picks the driver for a model string, with the reason, for the log line. */
export function pickGpioDriver(model: string | undefined): { driver: GpioDriverName; reason: string } {
  if (!model) return { driver: 'gpiod', reason: 'board model unknown (no device tree): using the GPIO character device' };
  if (/Raspberry Pi (5|500)\b|Compute Module 5/i.test(model)) {
    return { driver: 'gpiod', reason: `${model}: Pi 5 family (RP1), rpio cannot reach its pins` };
  }
  if (/Raspberry Pi/i.test(model)) return { driver: 'rpio', reason: `${model}: BCM283x/2711 board, rpio over /dev/gpiomem` };
  return { driver: 'gpiod', reason: `${model}: not a Raspberry Pi rpio knows, using the GPIO character device` };
}
