/**
 * The gpiod driver against stand-in `gpiodetect`/`gpiomon`/`gpioset` programs that behave like
 * the libgpiod tools (same arguments, output formats and exit behaviour) and log how they were
 * called. Real child processes: spawning, killing and stderr handling are exercised for real.
 * The real `gpiodetect` (Debian package gpiod) is also run where installed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GpioSchema } from '../../../src/config/schema.js';
import { pickGpioDriver, readBoardModel } from '../../../src/drivers/gpio/board.js';
import { createBoardGpio, realBoardEnv, type BoardGpioEnv } from '../../../src/drivers/gpio/create.js';
import {
  GpiodLines,
  gpiomonArgs,
  gpiosetArgs,
  parseGpiodVersion,
  parseGpiodetect,
  type Exec,
} from '../../../src/drivers/gpio/gpiod-lines.js';
import { memoryLogger } from '../../../src/log/logger.js';
import { ManualScheduler } from '../../fakes/clock.js';
import { installGpiodTools } from '../../fakes/gpiod-tools.js';
import { RecordingSpi } from '../../fakes/gpio-lines.js';

const tools = installGpiodTools();
afterAll(() => tools.remove());
const fake = tools.fake;

/** Waits until `cond()` holds (child processes answer in their own time). */
/** Polls `cond` for up to 15 s (a loaded machine only makes it slower, never fails it). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('libgpiod tool syntax, v1 and v2', () => {
  it('parses gpiodetect listings and versions', () => {
    expect(parseGpiodetect('gpiochip0 [pinctrl-bcm2711] (58 lines)\ngpiochip1 [raspberrypi-exp-gpio] (8 lines)\n')).toEqual([
      { chip: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 },
      { chip: 'gpiochip1', label: 'raspberrypi-exp-gpio', lines: 8 },
    ]);
    expect(parseGpiodVersion('gpiodetect (libgpiod) v1.6.3\nCopyright')).toBe(1);
    expect(parseGpiodVersion('gpiodetect (libgpiod) v2.1')).toBe(2);
    expect(() => parseGpiodVersion('something else')).toThrow(/libgpiod version/);
  });

  it('builds gpiomon and gpioset arguments for each major version', () => {
    expect(gpiomonArgs(1, 'gpiochip0', 17, 'pull-up')).toEqual(['-B', 'pull-up', '-b', '-F', '%o %e', 'gpiochip0', '17']);
    expect(gpiomonArgs(2, 'gpiochip0', 17, 'pull-up')).toEqual(['-c', 'gpiochip0', '-b', 'pull-up', '-e', 'both', '-F', '%o %e', '17']);
    expect(gpiosetArgs(1, 'gpiochip0', 5, true)).toEqual(['--mode=signal', 'gpiochip0', '5=1']);
    expect(gpiosetArgs(2, 'gpiochip4', 25, false)).toEqual(['-c', 'gpiochip4', '25=0']);
  });

  it('the installed libgpiod accepts the v1 arguments we build (when gpiod is installed)', async () => {
    const real = realBoardEnv();
    let version: string;
    try {
      version = await real.exec('gpiodetect', ['--version']);
    } catch {
      return; // gpiod not installed here: covered by the fakes
    }
    if (parseGpiodVersion(version) !== 1) return;
    // Options are parsed before the chip is opened: a bad option says "invalid", a good one fails on the chip.
    const err = await real.exec('gpiomon', gpiomonArgs(1, 'gpiochip99', 17, 'pull-up')).catch((e: { stderr: string }) => e.stderr);
    expect(err).not.toMatch(/invalid|unrecognized|usage/i);
    expect(err).toMatch(/gpiochip99|No such file/);
  });
});

describe('chip discovery by label', () => {
  it('finds the RP1 header chip even when it is not gpiochip0', async () => {
    const f = fake({ FAKE_CHIPS: 'gpiochip0 [gpio-brcmstb@107d508500] (32 lines),gpiochip4 [pinctrl-rp1] (54 lines)' });
    const lines = await GpiodLines.open({ spawn: f.spawn, exec: f.exec });
    expect([lines.chip, lines.label, lines.major]).toEqual(['gpiochip4', 'pinctrl-rp1', 2]);
    await lines.close();
  });

  it('says which chips exist when none has a known label, and how to choose', async () => {
    const f = fake({ FAKE_CHIPS: 'gpiochip0 [some-soc] (10 lines)' });
    await expect(GpiodLines.open({ spawn: f.spawn, exec: f.exec })).rejects.toThrow(
      /no GPIO chip labelled "pinctrl-rp1" or "pinctrl-bcm2711" or "pinctrl-bcm2835"; chips found: gpiochip0 \[some-soc\].*gpio\.chipLabel/,
    );
    const custom = await GpiodLines.open({ spawn: f.spawn, exec: f.exec, chipLabel: 'some-soc' });
    expect(custom.chip).toBe('gpiochip0');
  });

  it('permission denied names group gpio; missing tools name the package', async () => {
    const f = fake({ FAKE_DENIED: '1' });
    await expect(GpiodLines.open({ spawn: f.spawn, exec: f.exec })).rejects.toThrow(/group "gpio"/);
    const missing: Exec = (cmd, args) => realBoardEnv().exec(`${cmd}-not-installed-here`, args);
    await expect(GpiodLines.open({ spawn: f.spawn, exec: missing })).rejects.toThrow(/sudo apt install gpiod/);
  });

  it('with the real gpiodetect on a machine without GPIO chips: a clear error, not a crash', async () => {
    const real = realBoardEnv();
    const ok = await real.exec('gpiodetect', ['--version']).then(
      () => true,
      () => false,
    );
    if (!ok) return;
    await expect(GpiodLines.open({ spawn: real.spawn, exec: real.exec })).rejects.toThrow(/no GPIO chip labelled|gpiodetect failed/);
  });
});

describe('button and outputs through the tools', () => {
  it('gpiomon edges become levels (v2: 1 rising, 2 falling)', async () => {
    const f = fake({ FAKE_EDGES: '17 2,17 1,4 2' });
    const lines = await GpiodLines.open({ spawn: f.spawn, exec: f.exec });
    const levels: boolean[] = [];
    const errors: Error[] = [];
    const input = await lines.input(17, 'pull-up', (h) => levels.push(h), (e) => errors.push(e));
    expect(input.initial).toBe(true);
    await until(() => levels.length === 2, 'two edges');
    expect(levels).toEqual([false, true]); // the line-4 edge is not ours
    expect(f.log()).toEqual(['gpiomon -c gpiochip0 -b pull-up -e both -F %o %e 17']);
    await input.close();
    await lines.close();
    expect(errors).toEqual([]);
  });

  it('v1 edges (0 falling) and v1 syntax', async () => {
    const f = fake({ FAKE_VERSION: '1.6.3', FAKE_CHIPS: 'gpiochip0 [pinctrl-bcm2711] (58 lines)', FAKE_EDGES: '23 0,23 1' });
    const lines = await GpiodLines.open({ spawn: f.spawn, exec: f.exec });
    const levels: boolean[] = [];
    await lines.input(23, 'pull-up', (h) => levels.push(h), () => {});
    await until(() => levels.length === 2, 'two edges');
    expect(levels).toEqual([false, true]);
    expect(f.log()).toEqual(['gpiomon -B pull-up -b -F %o %e gpiochip0 23']);
    await lines.close();
  });

  it('a busy button pin is reported as busy, naming the pin', async () => {
    const f = fake({ FAKE_BUSY: '1' });
    const lines = await GpiodLines.open({ spawn: f.spawn, exec: f.exec });
    const errors: Error[] = [];
    await lines.input(17, 'pull-up', () => {}, (e) => errors.push(e));
    await until(() => errors.length === 1, 'the busy error');
    expect(errors[0]!.message).toMatch(/GPIO17 on \/dev\/gpiochip0 is busy/);
    await lines.close();
  });

  it('an output swaps the holding gpioset per change, coalescing quick changes, and releases on close', async () => {
    const f = fake({});
    const lines = await GpiodLines.open({ spawn: f.spawn, exec: f.exec });
    const out = await lines.output(25, false, (e) => {
      throw e;
    });
    await until(() => f.log().length === 1, 'the first gpioset');
    out.set(true);
    out.set(false);
    out.set(true); // only the last wanted level matters while a swap is running
    await until(() => f.log().includes('hold -c gpiochip0 25=1'), 'the LED on');
    await out.close();
    await until(() => f.log().at(-1) === 'release -c gpiochip0 25=1', 'the release');
    expect(f.log()).toEqual(['hold -c gpiochip0 25=0', 'release -c gpiochip0 25=0', 'hold -c gpiochip0 25=1', 'release -c gpiochip0 25=1']);
    expect(f.children.length).toBe(2);
    expect(f.children.every((c) => c.exitCode !== null || c.signalCode !== null)).toBe(true);
    await lines.close();
  });
});

describe('auto driver selection and the board Gpio over gpiod', () => {
  it('picks by board model', () => {
    expect(pickGpioDriver('Raspberry Pi 5 Model B Rev 1.0').driver).toBe('gpiod');
    expect(pickGpioDriver('Raspberry Pi Compute Module 5 Rev 1.0').driver).toBe('gpiod');
    expect(pickGpioDriver('Raspberry Pi 500 Rev 1.0').driver).toBe('gpiod');
    expect(pickGpioDriver('Raspberry Pi 4 Model B Rev 1.4').driver).toBe('rpio');
    expect(pickGpioDriver('Raspberry Pi Zero 2 W Rev 1.0').driver).toBe('rpio');
    expect(pickGpioDriver('Raspberry Pi 3 Model B Plus Rev 1.3').driver).toBe('rpio');
    expect(pickGpioDriver('Radxa ROCK 5B').driver).toBe('gpiod');
    expect(pickGpioDriver(undefined).driver).toBe('gpiod');
  });

  it('reads the model from the device tree, NUL and all, trying the second path', () => {
    const files: Record<string, string> = { '/sys/firmware/devicetree/base/model': 'Raspberry Pi 5 Model B Rev 1.0\0' };
    const read = (p: string) => {
      if (!(p in files)) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return files[p]!;
    };
    expect(readBoardModel(read)).toBe('Raspberry Pi 5 Model B Rev 1.0');
    expect(readBoardModel(() => '')).toBeUndefined();
  });

  it('auto on a Pi 5 logs the choice, drives the 4-mic power pin through gpioset and shows LEDs on SPI', async () => {
    const f = fake({});
    const mem = memoryLogger();
    const spi = new RecordingSpi();
    const env: BoardGpioEnv = {
      ...realBoardEnv(),
      clock: new ManualScheduler(),
      readFile: () => 'Raspberry Pi 5 Model B Rev 1.0\0',
      spawn: f.spawn,
      exec: f.exec,
      openSpi: async () => spi,
    };
    const gpio = createBoardGpio(GpioSchema.parse({ driver: 'auto', leds: { driver: 'apa102', count: 12, powerPin: 5 } }), mem.logger, env);
    await gpio.start();
    expect(mem.lines().find((l) => l.event === 'gpio-driver-selected')).toMatchObject({ driver: 'gpiod', reason: expect.stringMatching(/Pi 5/) });
    expect(mem.lines().find((l) => l.event === 'gpiod-chip')).toMatchObject({ chip: 'gpiochip0', label: 'pinctrl-rp1', tools: 'v2' });
    await until(() => f.log().length === 1, 'the power pin');
    expect(f.log()).toEqual(['hold -c gpiochip0 5=1']);
    gpio.setLed('listening');
    expect(spi.last!.length).toBe(56);
    await gpio.stop();
    await until(() => f.log().length === 2, 'the power pin released');
    expect(f.log()).toEqual(['hold -c gpiochip0 5=1', 'release -c gpiochip0 5=1']);
  });
});
