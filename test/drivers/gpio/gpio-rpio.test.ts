/**
 * The board Gpio over rpio in its mock mode (`rpio.init({ mock: 'raspi-3' })`): pins are real
 * rpio calls, only the registers are simulated. APA102 frames go to a recording SPI device.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { GpioSchema, type GpioConfig } from '../../../src/config/schema.js';
import { createBoardGpio, type BoardGpioEnv } from '../../../src/drivers/gpio/create.js';
import type { HatGpio } from '../../../src/drivers/gpio/hat-gpio.js';
import { RpioLines, loadRpio, type RpioModule } from '../../../src/drivers/gpio/rpio-lines.js';
import { loadSpiDevice } from '../../../src/drivers/gpio/spi.js';
import { memoryLogger } from '../../../src/log/logger.js';
import type { ButtonEvent } from '../../../src/ports/gpio.js';
import { ManualScheduler } from '../../fakes/clock.js';
import { RecordingSpi } from '../../fakes/gpio-lines.js';

const rpio = await loadRpio();
const MOCK = 'raspi-3';

function config(input: Record<string, unknown>): GpioConfig {
  return GpioSchema.parse({ driver: 'rpio', ...input });
}

function env(clock: ManualScheduler, spi?: RecordingSpi, overrides: Partial<BoardGpioEnv> = {}): BoardGpioEnv {
  return {
    clock,
    readFile: () => {
      throw new Error('not used');
    },
    loadRpio: async () => rpio,
    rpioMock: MOCK,
    spawn: () => {
      throw new Error('not used');
    },
    exec: async () => {
      throw new Error('not used');
    },
    loadSpi: loadSpiDevice,
    openSpi: spi ? async () => spi : undefined,
    ...overrides,
  };
}

/** Sets a mock input level before the driver starts (rpio's mock reads 0 for unset pins). */
function preset(pin: number, level: number): void {
  rpio.init({ mock: MOCK, gpiomem: true, mapping: 'gpio', close_on_exit: false });
  rpio.write(pin, level);
}

const started: HatGpio[] = [];
afterEach(async () => {
  for (const g of started.splice(0)) await g.stop();
});

async function start(cfg: GpioConfig, e: BoardGpioEnv) {
  const mem = memoryLogger();
  const gpio = createBoardGpio(cfg, mem.logger, e);
  const events: ButtonEvent[] = [];
  gpio.on('button', (ev) => events.push(ev));
  started.push(gpio);
  await gpio.start();
  return { gpio, events, mem };
}

describe('rpio mock: ReSpeaker 2-mic HAT (button GPIO17 active low, 3 APA102)', () => {
  it('a bouncy press on GPIO17 gives one press; a 1.2 s hold gives long-press', async () => {
    const clock = new ManualScheduler();
    preset(17, 1); // pulled up: not pressed
    const { gpio, events } = await start(config({ buttonPin: 17, leds: { driver: 'apa102', count: 3 } }), env(clock, new RecordingSpi()));
    expect(gpio.status).toMatchObject({ driver: 'rpio', button: true, leds: 'apa102', problems: [] });
    // Bounce: the level flips between samples (10 ms apart) before settling low.
    for (const level of [0, 1, 0, 1, 0]) {
      rpio.write(17, level);
      clock.advance(10);
    }
    clock.advance(200);
    rpio.write(17, 1);
    clock.advance(200);
    expect(events).toEqual(['down', 'up', 'press']);
    events.length = 0;
    rpio.write(17, 0);
    clock.advance(1200);
    expect(events).toEqual(['down', 'long-press']);
    rpio.write(17, 1);
    clock.advance(100);
    expect(events).toEqual(['down', 'long-press', 'up']);
  });

  it('shows each LED state as APA102 frames on SPI, and blanks them on stop', async () => {
    const clock = new ManualScheduler();
    const spi = new RecordingSpi();
    preset(17, 1);
    const { gpio } = await start(
      config({ buttonPin: 17, leds: { driver: 'apa102', count: 3, brightness: 7, colors: { listening: '#102030' } } }),
      env(clock, spi),
    );
    gpio.setLed('listening');
    expect([...spi.last!]).toEqual([0, 0, 0, 0, ...[0, 1, 2].flatMap(() => [0xe7, 0x30, 0x20, 0x10]), 0xff, 0xff, 0xff, 0xff]);
    gpio.setLed('thinking');
    const before = spi.writes.length;
    clock.advance(1000);
    expect(spi.writes.length).toBeGreaterThanOrEqual(before + 2); // the head moved at 333 and 667 ms
    await gpio.stop();
    expect([...spi.last!.subarray(4, 16)]).toEqual([0xe7, 0, 0, 0, 0xe7, 0, 0, 0, 0xe7, 0, 0, 0]);
    expect(spi.closed).toBe(true);
    const n = spi.writes.length;
    gpio.setLed('error');
    clock.advance(1000);
    expect(spi.writes.length).toBe(n);
  });
});

describe('rpio mock: ReSpeaker 4-mic array (12 APA102, power on GPIO5)', () => {
  it('drives GPIO5 high while running and releases it on stop', async () => {
    const clock = new ManualScheduler();
    const spi = new RecordingSpi();
    preset(5, 0);
    const { gpio } = await start(config({ leds: { driver: 'apa102', count: 12, powerPin: 5, spiDevice: '/dev/spidev0.1' } }), env(clock, spi));
    expect(rpio.read(5)).toBe(1);
    gpio.setLed('muted');
    expect(spi.last!.length).toBe(4 + 48 + 4);
    expect(spi.last![7]).toBe(255); // red is the 4th byte of each LED
    await gpio.stop();
    expect(rpio.read(5)).toBe(0);
  });
});

describe('rpio mock: AIY Voice HAT (button GPIO23, single LED GPIO25)', () => {
  it('lights GPIO25 for listening and turns it off for idle', async () => {
    const clock = new ManualScheduler();
    preset(23, 1);
    const { gpio } = await start(config({ buttonPin: 23, leds: { driver: 'gpio', pin: 25 } }), env(clock));
    expect(gpio.status.leds).toBe('gpio');
    gpio.setLed('listening');
    expect(rpio.read(25)).toBe(1);
    gpio.setLed('idle');
    expect(rpio.read(25)).toBe(0);
    gpio.setLed('error'); // 2 Hz blink
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++) {
      clock.advance(50);
      seen.add(rpio.read(25));
    }
    expect(seen).toEqual(new Set([0, 1]));
  });
});

describe('rpio error paths degrade, never throw', () => {
  it('without /dev/gpiomem: one warning naming the fix; start resolves; LEDs on SPI still work', async () => {
    const clock = new ManualScheduler();
    const spi = new RecordingSpi();
    const { gpio, events, mem } = await start(
      config({ buttonPin: 17, leds: { driver: 'apa102', count: 3 } }),
      env(clock, spi, { rpioMock: undefined }),
    );
    const warns = mem.lines().filter((l) => l.level === 'warn');
    expect(warns.map((w) => w.event)).toEqual(['gpio-unavailable']);
    expect(warns[0]).toMatchObject({ event: 'gpio-unavailable', effect: 'no button and no GPIO LEDs' });
    expect(String(warns[0]!.error)).toMatch(/\/dev\/gpiomem does not exist.*gpiod/);
    expect(gpio.status.button).toBe(false);
    // Start blanks whatever the strip showed before; then the state shows.
    expect(spi.writes.length).toBe(1);
    gpio.setLed('listening');
    expect(spi.writes.length).toBe(2);
    expect(spi.last![5]).toBe(255); // blue, the first colour byte
    expect(events).toEqual([]);
  });

  it('no permission on /dev/gpiomem names group gpio', () => {
    expect(() =>
      RpioLines.open({
        rpio,
        clock: new ManualScheduler(),
        pollMs: 10,
        access: () => {
          throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        },
      }),
    ).toThrow(/no permission to open \/dev\/gpiomem: add the service user to group "gpio"/);
  });

  it('a board rpio does not know (it would silently mock) is refused', () => {
    const emitter = new EventEmitter();
    const fake = Object.assign(emitter, {
      init() {
        emitter.emit('warn', 'Hardware auto-detect failed, running in raspi-3 mock mode');
      },
    }) as unknown as RpioModule;
    expect(() => RpioLines.open({ rpio: fake, clock: new ManualScheduler(), pollMs: 10, access: () => {} })).toThrow(
      /rpio does not support this board.*gpiod/,
    );
  });

  it('SPI not enabled (real spi-device, no /dev/spidev0.1): LEDs off with the config.txt line; button keeps working', async () => {
    const clock = new ManualScheduler();
    preset(17, 1);
    const { gpio, events, mem } = await start(config({ buttonPin: 17, leds: { driver: 'apa102', count: 3 } }), env(clock));
    const warns = mem.lines().filter((l) => l.level === 'warn');
    expect(warns.map((w) => w.event)).toEqual(['leds-unavailable']);
    expect(String(warns[0]!.error)).toMatch(/\/dev\/spidev0\.1 does not exist: SPI is not enabled\. Add the line "dtparam=spi=on" to \/boot\/firmware\/config\.txt/);
    expect(gpio.status).toMatchObject({ button: true, leds: undefined });
    gpio.setLed('listening'); // no LEDs: a no-op, not a crash
    rpio.write(17, 0);
    clock.advance(100);
    rpio.write(17, 1);
    clock.advance(100);
    expect(events).toEqual(['down', 'up', 'press']);
  });

  it('the same pin for two jobs is reported for the second one only', async () => {
    const clock = new ManualScheduler();
    preset(17, 1);
    const { gpio, mem } = await start(config({ buttonPin: 17, leds: { driver: 'gpio', pin: 17 } }), env(clock));
    expect(gpio.status.button).toBe(true);
    expect(mem.lines().filter((l) => l.level === 'warn').map((l) => [l.event, l.error])).toEqual([
      ['leds-unavailable', 'GPIO17 is already used by another function in this config'],
    ]);
  });

  it('stop() is idempotent and releases the pins', async () => {
    const clock = new ManualScheduler();
    preset(23, 1);
    const { gpio } = await start(config({ buttonPin: 23, leds: { driver: 'gpio', pin: 25 } }), env(clock));
    gpio.setLed('listening');
    await gpio.stop();
    await gpio.stop();
    expect(clock.pending).toBe(0);
  });
});
