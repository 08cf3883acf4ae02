/**
 * The AIY Voice Bonnet's RGB LED through a KTD2027 on I2C. There is no I2C bus here: register
 * writes go to a recording fake; the error paths go through the real `openI2c` wrapper with a
 * fake `i2c-bus` module that fails like the kernel does, and the real `i2c-bus` addon is loaded
 * and made to fail on a bus that does not exist.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { findHardwareDir } from '../../../src/config/profiles.js';
import { GpioSchema, type GpioConfig } from '../../../src/config/schema.js';
import { createBoardGpio, type BoardGpioEnv } from '../../../src/drivers/gpio/create.js';
import type { HatGpio } from '../../../src/drivers/gpio/hat-gpio.js';
import { loadI2cBus, openI2c, type I2cBusModule } from '../../../src/drivers/gpio/i2c.js';
import { KTD2027_REG, Ktd2027Sink, ktd2027Codes } from '../../../src/drivers/gpio/ktd2027-sink.js';
import { checkDeviceAccess, checkGroups } from '../../../src/doctor/device-checks.js';
import { checkAddons } from '../../../src/doctor/system-checks.js';
import { DeviceError } from '../../../src/errors.js';
import { memoryLogger } from '../../../src/log/logger.js';
import type { LedState } from '../../../src/ports/gpio.js';
import { ManualScheduler } from '../../fakes/clock.js';
import { FakeKtd } from '../../fakes/gpio-lines.js';
import { fakeContext } from '../../helpers/fake-machine.js';

const CTRL = KTD2027_REG.control;
const CH = KTD2027_REG.channelControl;
const RED = KTD2027_REG.current;
const GREEN = KTD2027_REG.current + 1;
const BLUE = KTD2027_REG.current + 2;

const instant = async () => {};

function env(clock: ManualScheduler, openI2c: BoardGpioEnv['openI2c'], loadI2c?: BoardGpioEnv['loadI2c']): BoardGpioEnv {
  const unused = () => {
    throw new Error('not used');
  };
  return {
    clock,
    readFile: unused,
    loadRpio: unused,
    spawn: unused,
    exec: unused,
    loadSpi: unused,
    openI2c,
    loadI2c,
    i2cSleep: instant,
  };
}

function config(leds: Record<string, unknown> = {}): GpioConfig {
  return GpioSchema.parse({ driver: 'none', leds: { driver: 'ktd2027', brightness: 31, ...leds } });
}

const started: HatGpio[] = [];
afterEach(async () => {
  for (const g of started.splice(0)) await g.stop();
});

async function start(cfg: GpioConfig, e: BoardGpioEnv) {
  const mem = memoryLogger();
  const gpio = createBoardGpio(cfg, mem.logger, e);
  started.push(gpio);
  await gpio.start();
  return { gpio, mem };
}

async function startFake(leds: Record<string, unknown> = {}) {
  const chip = new FakeKtd();
  const clock = new ManualScheduler();
  const opened: [number, number][] = [];
  const r = await start(
    config(leds),
    env(clock, async (bus, address) => {
      opened.push([bus, address]);
      return chip;
    }),
  );
  return { ...r, chip, clock, opened };
}

describe('KTD2027 register writes', () => {
  it('init: probe, reset (not acknowledged, as on the real chip), awake, all channels off', async () => {
    const chip = new FakeKtd();
    const sink = await Ktd2027Sink.open(chip, { brightness: 31, sleep: instant });
    expect(chip.take()).toEqual([
      [CH, 0x00],
      [CTRL, 0x07],
      [CTRL, 0x00],
      [CH, 0x00],
    ]);
    expect(sink.count).toBe(1);
  });

  it('opens bus 1 at 0x31 by default and shows nothing until a state is set', async () => {
    const { gpio, chip, opened } = await startFake();
    expect(opened).toEqual([[1, 0x31]]);
    expect(gpio.status).toMatchObject({ leds: 'ktd2027', problems: [] });
    // Init, then the initial "off" frame: channels are already off, so nothing more.
    expect(chip.take()).toEqual([
      [CH, 0],
      [CTRL, 7],
      [CTRL, 0],
      [CH, 0],
    ]);
  });

  it('takes the bus and address from config', async () => {
    const { opened } = await startFake({ i2cBus: 3, i2cAddress: 0x30 });
    expect(opened).toEqual([[3, 0x30]]);
  });

  it('sets each channel current before switching channels on; LED1 red, LED2 green, LED3 blue', async () => {
    const { gpio, chip } = await startFake();
    chip.take();
    gpio.setLed('listening'); // [0, 80, 255]
    expect(chip.take()).toEqual([
      [GREEN, 59],
      [BLUE, 191],
      [CH, 0b01_01_00],
    ]);
    gpio.setLed('muted'); // [255, 0, 0]
    expect(chip.take()).toEqual([
      [RED, 191],
      [CH, 0b00_00_01],
    ]);
    gpio.setLed('off');
    expect(chip.take()).toEqual([[CH, 0]]);
  });

  const still: [LedState, [number, number][]][] = [
    ['off', []],
    ['idle', []],
    ['listening', [[GREEN, 59], [BLUE, 191], [CH, 0x14]]],
    ['muted', [[RED, 191], [CH, 0x01]]],
    ['error', [[RED, 191], [CH, 0x01]]],
    ['disconnected', [[RED, 191], [GREEN, 82], [CH, 0x05]]],
    // Animated states at t = 0: follow-up breathes from half brightness, thinking (a spin, which
    // one LED cannot show) breathes from a fifth, speaking without a level breathes from half.
    ['follow-up', [[GREEN, 29], [BLUE, 20], [CH, 0x14]]],
    ['thinking', [[RED, 1], [GREEN, 0], [BLUE, 7], [CH, 0x15]]],
  ];
  it.each(still)('state %s shows its colour', async (state, writes) => {
    const { gpio, chip } = await startFake();
    chip.take();
    gpio.setLed(state);
    expect(chip.take()).toEqual(writes);
  });

  it('speaking follows the audio level: full at 1, the pattern minimum at 0', async () => {
    const { gpio, chip, clock } = await startFake();
    chip.take();
    gpio.setLed('speaking', 1); // [0, 160, 255]
    expect(chip.take()).toEqual([
      [GREEN, 119],
      [BLUE, 191],
      [CH, 0x14],
    ]);
    clock.advance(50);
    gpio.setLed('speaking', 0); // a quarter of the colour, squared brightness
    expect(chip.take()).toEqual([
      [GREEN, 7],
      [BLUE, 11],
    ]);
  });

  it('error blinks: off in the second quarter-second, on again from 500 ms, writing only the channel control', async () => {
    const { gpio, chip, clock } = await startFake();
    gpio.setLed('error');
    chip.take();
    clock.advance(300); // frames every 33 ms: the one at 267 ms is in the off half
    expect(chip.take()).toEqual([[CH, 0]]);
    clock.advance(250);
    expect(chip.take()).toEqual([[CH, 0x01]]);
  });

  it('thinking breathes on the one LED: full violet half way through the second', async () => {
    const { gpio, chip, clock } = await startFake();
    gpio.setLed('thinking');
    clock.advance(500);
    const last = new Map(chip.take().map(([r, v]) => [r, v]));
    expect([last.get(RED), last.get(GREEN), last.get(BLUE)]).toEqual([59, 29, 191]);
  });

  it('bus load: at most 4 register writes per frame while animating, 1 per transition while blinking', async () => {
    const perSecond: Record<string, number> = {};
    for (const state of ['follow-up', 'thinking', 'speaking', 'error', 'disconnected'] as LedState[]) {
      const { gpio, chip, clock } = await startFake();
      gpio.setLed(state);
      chip.take();
      clock.advance(2000);
      perSecond[state] = chip.take().length / 2;
      await gpio.stop();
      started.splice(0);
    }
    // 30 frames a second, each at most 3 currents + the channel switch.
    for (const n of Object.values(perSecond)) expect(n).toBeLessThanOrEqual(4 * 30);
    // A blink writes only the channel switch, once per on/off transition.
    expect(perSecond.error).toBeLessThanOrEqual(4); // 2 Hz: 4 transitions a second
    expect(perSecond.error).toBeGreaterThanOrEqual(3);
    expect(perSecond.disconnected).toBeLessThanOrEqual(1); // 0.5 Hz
  });

  it('skips frames that change nothing', async () => {
    const chip = new FakeKtd();
    const sink = await Ktd2027Sink.open(chip, { brightness: 31, sleep: instant });
    chip.take();
    sink.show([[255, 0, 0]]);
    sink.show([[255, 0, 0]]);
    expect(chip.take()).toEqual([
      [RED, 191],
      [CH, 1],
    ]);
  });

  it('brightness scales the maximum current: 31 is 24 mA, 10 is 7.75 mA, 0 is dark', async () => {
    const currents = async (brightness: number) => {
      const chip = new FakeKtd();
      const sink = await Ktd2027Sink.open(chip, { brightness, sleep: instant });
      chip.take();
      sink.show([[255, 0, 0]]);
      return chip.take();
    };
    expect(await currents(31)).toEqual([[RED, 191], [CH, 1]]);
    expect(await currents(10)).toEqual([[RED, 61], [CH, 1]]);
    expect(await currents(1)).toEqual([[RED, 5], [CH, 1]]);
    expect(await currents(0)).toEqual([]);
    // The schema default (10) when a config does not set it.
    const { gpio, chip } = await startFake({ brightness: undefined });
    chip.take();
    gpio.setLed('muted');
    expect(chip.take()).toEqual([[RED, 61], [CH, 1]]);
  });

  it('colour keeps its hue and squares its brightness', () => {
    expect(ktd2027Codes([0, 0, 0], 24)).toEqual([-1, -1, -1]);
    expect(ktd2027Codes([255, 255, 255], 24)).toEqual([191, 191, 191]);
    // Half the colour: a quarter of the current on every channel.
    expect(ktd2027Codes([128, 128, 128], 24)).toEqual([47, 47, 47]);
    expect(ktd2027Codes([255, 128, 0], 24)).toEqual([191, 95, -1]);
  });

  it('on stop turns the LED off, resets the chip and releases the bus', async () => {
    const { gpio, chip } = await startFake();
    gpio.setLed('muted');
    chip.take();
    await gpio.stop();
    started.splice(0);
    expect(chip.take()).toEqual([
      [CH, 0],
      [CTRL, 0x07],
    ]);
    expect(chip.closed).toBe(true);
  });

  it('a write failing while running stops the LEDs with one warning; the agent keeps running', async () => {
    const { gpio, chip, clock, mem } = await startFake();
    const errors: string[] = [];
    gpio.on('error', (e) => errors.push(e.message));
    gpio.setLed('error');
    chip.failWith = Object.assign(new Error('Remote I/O error'), { code: 'EREMOTEIO' });
    clock.advance(1000);
    expect(mem.lines().filter((l) => l.event === 'leds-failed')).toHaveLength(1);
    expect(errors).toHaveLength(1);
    gpio.setLed('muted'); // ignored, no throw
  });
});

/** A fake `i2c-bus` whose writes fail with an errno code, as the addon's do. */
function failingBus(code: string, message: string): I2cBusModule {
  return {
    openSync: () => ({
      writeByteSync: () => {
        throw Object.assign(new Error(`${message}, ${code.toLowerCase()}`), { code });
      },
      closeSync: () => undefined,
    }),
  };
}

describe('KTD2027 errors: one warning, LEDs off, the agent runs on', () => {
  const cases: [string, string, RegExp][] = [
    ['ENOENT', 'no such file or directory', /\/dev\/i2c-1 does not exist: I2C is not enabled\. Add the line "dtparam=i2c_arm=on" to \/boot\/firmware\/config\.txt/],
    ['EACCES', 'permission denied', /no permission to open \/dev\/i2c-1: add the service user to group "i2c"/],
    ['EREMOTEIO', 'Remote I/O error', /no device answers at I2C address 0x31 on \/dev\/i2c-1: this is not an AIY Voice Bonnet or the address is wrong/],
    ['ENXIO', 'No such device or address', /no device answers at I2C address 0x31/],
    ['EBUSY', 'Device or resource busy', /I2C address 0x31 on \/dev\/i2c-1 is held by a kernel driver/],
  ];
  it.each(cases)('%s', async (code, message, expected) => {
    const clock = new ManualScheduler();
    const { gpio, mem } = await start(config(), env(clock, undefined, async () => failingBus(code, message)));
    expect(gpio.status.leds).toBeUndefined();
    expect(gpio.status.problems).toHaveLength(1);
    expect(gpio.status.problems[0]).toMatch(expected);
    const warned = mem.lines().filter((l) => l.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ event: 'leds-unavailable', effect: 'no LEDs' });
    gpio.setLed('listening'); // no LEDs: nothing happens, nothing throws
  });

  it('an unknown failure still names the device', () => {
    const regs = openI2c(failingBus('EINVAL', 'Invalid argument'), 1, 0x31);
    expect(() => regs.writeRegister(0, 0)).toThrow(/cannot use I2C address 0x31 on \/dev\/i2c-1: Invalid argument/);
  });

  it('the bus is released when the chip does not answer', async () => {
    const chip = new FakeKtd();
    chip.failWith = Object.assign(new Error('Remote I/O error'), { code: 'EREMOTEIO' });
    const clock = new ManualScheduler();
    const { gpio } = await start(config(), env(clock, async () => chip));
    expect(gpio.status.leds).toBeUndefined();
    expect(chip.closed).toBe(true);
  });

  it('a missing i2c-bus package is reported with how to install it', async () => {
    const clock = new ManualScheduler();
    const missing = async (): Promise<I2cBusModule> => {
      throw new DeviceError('the optional package "i2c-bus" is not installed or not built (x); run "npm install i2c-bus"');
    };
    const { gpio } = await start(config(), env(clock, undefined, missing));
    expect(gpio.status.problems[0]).toMatch(/"i2c-bus" is not installed/);
  });
});

describe('the real i2c-bus addon', () => {
  it('loads here and fails on a bus that does not exist with the mapped message', async () => {
    expect(existsSync('/dev/i2c-97')).toBe(false);
    const mod = await loadI2cBus();
    expect(typeof mod.openSync).toBe('function');
    const regs = openI2c(mod, 97, 0x31);
    let caught: unknown;
    try {
      regs.writeRegister(KTD2027_REG.channelControl, 0);
    } catch (err) {
      caught = err;
    }
    regs.close();
    expect(caught).toBeInstanceOf(DeviceError);
    expect((caught as Error).message).toMatch(/^\/dev\/i2c-97 does not exist: I2C is not enabled\. Add the line "dtparam=i2c_arm=on"/);
    expect(((caught as Error).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

describe('config', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ktd-'));
  afterEach(() => undefined);

  it('defaults to bus 1, address 0x31; rejects addresses outside 7-bit I2C', () => {
    const leds = GpioSchema.parse({ leds: { driver: 'ktd2027' } }).leds;
    expect(leds).toMatchObject({ driver: 'ktd2027', i2cBus: 1, i2cAddress: 0x31 });
    expect(() => GpioSchema.parse({ leds: { driver: 'ktd2027', i2cAddress: 0x80 } })).toThrow();
  });

  it('the aiy-voice-bonnet profile drives the button LED; YAML hex addresses work', () => {
    const dir = findHardwareDir()!;
    const cfg = loadConfig({ env: {}, flags: { hardware: 'aiy-voice-bonnet' }, hardwareDir: dir });
    expect(cfg.gpio).toMatchObject({ buttonPin: 23, leds: { driver: 'ktd2027', i2cBus: 1, i2cAddress: 0x31 } });
    const file = path.join(tmp, 'agent.yaml');
    writeFileSync(file, 'hardware: aiy-voice-bonnet\ngpio:\n  leds:\n    i2cAddress: 0x30\n');
    expect(loadConfig({ file, env: {}, hardwareDir: dir }).gpio.leds.i2cAddress).toBe(0x30);
    rmSync(tmp, { recursive: true, force: true });
  });
});

describe('doctor', () => {
  it('checks /dev/i2c-1 access and names group i2c', () => {
    const devices = { '/dev/i2c-1': { mode: 0o20660, gid: 997 } };
    const group = 'audio:x:29:speaker-agent\ngpio:x:993:speaker-agent\nspi:x:994:speaker-agent\ni2c:x:997:\nspeaker-agent:x:998:\n';
    const ctx = fakeContext({ devices, files: { '/etc/group': group } });
    const r = checkDeviceAccess(ctx, checkGroups(ctx).account);
    expect(r).toMatchObject({ status: 'fail', detail: 'speaker-agent cannot open /dev/i2c-1 (group i2c)' });
    expect(r.fix).toBe('sudo usermod -aG i2c speaker-agent && sudo systemctl restart speaker-agent');
  });

  it('needs the i2c-bus addon only for leds.driver ktd2027', async () => {
    const ctx = fakeContext({ addons: { 'i2c-bus': { status: 'missing' } } });
    const status = async (driver: string) => {
      const cfg = loadConfig({ env: {}, flags: { 'gpio.leds.driver': driver } });
      return (await checkAddons(ctx, cfg)).find((x) => x.id === 'addon i2c-bus')!.status;
    };
    expect(await status('ktd2027')).toBe('fail');
    expect(await status('none')).toBe('skip');
  });
});
