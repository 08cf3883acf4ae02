/**
 * Every Gpio runs the contract: the fake, the `none` driver, and the board driver (HatGpio)
 * over each pin layer that runs here: rpio in its mock mode, the libgpiod tools (stand-ins,
 * test/fakes/gpiod-tools.ts) and an in-memory pin driver, with APA102 LEDs on a recording SPI
 * device, a single LED on a pin, the KTD2027 on a recording I2C device, and a pin driver that
 * fails to open (the board driver then runs without button and LEDs, and still keeps the port).
 */
import { afterAll } from 'vitest';
import { GpioSchema } from '../../src/config/schema.js';
import { createBoardGpio, realBoardEnv, type BoardGpioEnv } from '../../src/drivers/gpio/create.js';
import { HatGpio } from '../../src/drivers/gpio/hat-gpio.js';
import { loadRpio } from '../../src/drivers/gpio/rpio-lines.js';
import { NoGpio } from '../../src/drivers/none/gpio.js';
import { memoryLogger } from '../../src/log/logger.js';
import { FakeGpio, FakeKtd, FakeLines, installGpiodTools, ManualScheduler, RecordingSpi } from '../fakes/index.js';
import { gpioContract } from './gpio.js';

const unused = () => {
  throw new Error('not used');
};

gpioContract(
  'FakeGpio',
  () => {
    const gpio = new FakeGpio();
    return {
      gpio,
      press: () => {
        gpio.button('down');
        gpio.button('up');
        gpio.button('press');
      },
    };
  },
  { button: true },
);

gpioContract('NoGpio (gpio.driver: none)', () => ({ gpio: new NoGpio() }));

/** The board driver over in-memory pins: a fresh pin driver per start, as a real one opens. */
function overFakeLines(input: Record<string, unknown>, extra: Partial<ConstructorParameters<typeof HatGpio>[0]> = {}) {
  const clock = new ManualScheduler();
  const config = GpioSchema.parse({ driver: 'rpio', ...input });
  let lines: FakeLines | undefined;
  const gpio = new HatGpio({
    config,
    log: memoryLogger().logger,
    clock,
    openLines: async () => (lines = new FakeLines()),
    ...extra,
  });
  const pin = config.buttonPin!;
  return {
    gpio,
    press: () => {
      if (!lines) throw new Error('no pin driver: the GPIO was not started');
      lines.level(pin, false); // active low: pressed
      clock.advance(200);
      lines.level(pin, true);
      clock.advance(200);
    },
  };
}

gpioContract('HatGpio (in-memory pins: button GPIO17, one LED on GPIO25)', () => overFakeLines({ buttonPin: 17, leds: { driver: 'gpio', pin: 25 } }), { button: true });

gpioContract(
  'HatGpio (in-memory pins and KTD2027 on I2C: the AIY Voice Bonnet)',
  () => overFakeLines({ buttonPin: 23, leds: { driver: 'ktd2027' } }, { openI2c: async () => new FakeKtd(), i2cSleep: async () => {} }),
  { button: true },
);

const rpio = await loadRpio();
gpioContract(
  'HatGpio over rpio (mock mode: ReSpeaker 2-mic, button GPIO17, 3 APA102 on SPI)',
  () => {
    const clock = new ManualScheduler();
    // rpio's mock reads 0 for unset pins: pull the button's pin up (not pressed) first.
    rpio.init({ mock: 'raspi-3', gpiomem: true, mapping: 'gpio', close_on_exit: false });
    rpio.write(17, 1);
    const env: BoardGpioEnv = { clock, readFile: unused, loadRpio: async () => rpio, rpioMock: 'raspi-3', spawn: unused, exec: unused, loadSpi: unused, openSpi: async () => new RecordingSpi() };
    const gpio = createBoardGpio(GpioSchema.parse({ driver: 'rpio', buttonPin: 17, leds: { driver: 'apa102', count: 3 } }), memoryLogger().logger, env);
    return {
      gpio,
      press: () => {
        rpio.write(17, 0);
        clock.advance(200);
        rpio.write(17, 1);
        clock.advance(200);
      },
    };
  },
  { button: true },
);

const gpiod = installGpiodTools();
afterAll(() => gpiod.remove());
gpioContract('HatGpio over the libgpiod tools (stand-ins: Pi 5, button GPIO17, power pin GPIO5, 12 APA102)', () => {
  const tools = gpiod.fake({});
  const env: BoardGpioEnv = { ...realBoardEnv(), clock: new ManualScheduler(), readFile: unused, spawn: tools.spawn, exec: tools.exec, openSpi: async () => new RecordingSpi() };
  return { gpio: createBoardGpio(GpioSchema.parse({ driver: 'gpiod', buttonPin: 17, leds: { driver: 'apa102', count: 12, powerPin: 5 } }), memoryLogger().logger, env) };
});

gpioContract('HatGpio (the pin driver fails to open: no button, no LEDs, the port still holds)', () => {
  const env: BoardGpioEnv = {
    clock: new ManualScheduler(),
    readFile: unused,
    loadRpio: async () => {
      throw new Error('rpio is not installed');
    },
    spawn: unused,
    exec: unused,
    loadSpi: unused,
  };
  return { gpio: createBoardGpio(GpioSchema.parse({ driver: 'rpio', buttonPin: 17, leds: { driver: 'gpio', pin: 25 } }), memoryLogger().logger, env) };
});
