import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { createGpio } from '../../../src/drivers/registry.js';
import { HatGpio } from '../../../src/drivers/gpio/hat-gpio.js';
import { NoGpio } from '../../../src/drivers/none/gpio.js';
import { silentLogger } from '../../../src/log/logger.js';

describe('createGpio', () => {
  it('none without LEDs is the no-op driver', async () => {
    expect(await createGpio(parseConfig({}), silentLogger())).toBeInstanceOf(NoGpio);
  });

  it('rpio, gpiod and auto build the board driver (loaded lazily; nothing opened before start)', async () => {
    for (const driver of ['rpio', 'gpiod', 'auto'] as const) {
      const gpio = await createGpio(parseConfig({ gpio: { driver, buttonPin: 17 } }), silentLogger());
      expect(gpio).toBeInstanceOf(HatGpio);
    }
  });

  it('APA102 LEDs work with driver none (SPI needs no GPIO driver)', async () => {
    const gpio = await createGpio(parseConfig({ gpio: { leds: { driver: 'apa102' } } }), silentLogger());
    expect(gpio).toBeInstanceOf(HatGpio);
    // No SPI on this machine: start degrades instead of throwing.
    await expect(gpio.start()).resolves.toBeUndefined();
    gpio.setLed('thinking');
    await gpio.stop();
  });

  it('pins configured with driver none: one warning saying which driver to pick, LEDs on SPI still tried', async () => {
    const { memoryLogger } = await import('../../../src/log/logger.js');
    const mem = memoryLogger();
    const gpio = await createGpio(parseConfig({ gpio: { buttonPin: 17 } }), mem.logger);
    expect(gpio).toBeInstanceOf(HatGpio);
    await gpio.start();
    const warns = mem.lines().filter((l) => l.level === 'warn');
    expect(warns.map((w) => w.error)).toEqual(['gpio.driver is "none" but pins are configured: set gpio.driver to auto, rpio or gpiod']);
    await gpio.stop();
  });

  it('rejects unknown drivers and a gpio LED without a pin, as path: message', () => {
    expect(() => parseConfig({ gpio: { driver: 'pigpio' } })).toThrow(/gpio\.driver: Invalid option/);
    expect(() => parseConfig({ gpio: { leds: { driver: 'gpio' } } })).toThrow(/gpio\.leds\.pin: driver "gpio" needs "pin"/);
    expect(() => parseConfig({ gpio: { leds: { spiDevice: '/dev/spi0' } } })).toThrow(/gpio\.leds\.spiDevice: must be a spidev node/);
  });
});
