/**
 * Builds the board Gpio from config: resolves `auto` by board model (and logs the choice),
 * and wires the real rpio / gpiod / spi-device / i2c-bus modules, each loaded only when used.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { GpioConfig } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import { pickGpioDriver, readBoardModel, type GpioDriverName } from './board.js';
import { GpiodLines, type Exec, type Spawn } from './gpiod-lines.js';
import { HatGpio } from './hat-gpio.js';
import { loadI2cBus, openI2c, type I2cBusModule, type I2cRegisters } from './i2c.js';
import type { GpioLines } from './lines.js';
import { RpioLines, loadRpio, type RpioModule } from './rpio-lines.js';
import { systemScheduler, type Scheduler } from '../../util/clock.js';
import { loadSpiDevice, openSpi, type SpiDeviceModule, type SpiTransport } from './spi.js';

/** Everything from the outside world, injectable for tests. */
export interface BoardGpioEnv {
  clock: Scheduler;
  readFile: (path: string) => string;
  loadRpio: () => Promise<RpioModule>;
  /** rpio mock board for tests (e.g. "raspi-3"). */
  rpioMock?: string;
  spawn: Spawn;
  exec: Exec;
  loadSpi: () => Promise<SpiDeviceModule>;
  /** Replaces the SPI device entirely (tests record frames here). */
  openSpi?: (device: string, speedHz: number) => Promise<SpiTransport>;
  /** Loads `i2c-bus` (default: the real optional package). */
  loadI2c?: () => Promise<I2cBusModule>;
  /** Replaces the I2C device entirely (tests record register writes here). */
  openI2c?: (bus: number, address: number) => Promise<I2cRegisters>;
  /** Waits after the KTD2027 reset (tests pass an instant one). */
  i2cSleep?: (ms: number) => Promise<void>;
}

const realExec: Exec = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, [...args], { timeout: 5000 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve(stdout);
    });
  });

export function realBoardEnv(): BoardGpioEnv {
  return {
    clock: systemScheduler(),
    readFile: (p) => readFileSync(p, 'utf8'),
    loadRpio,
    spawn: (command, args, options) => spawn(command, [...args], options),
    exec: realExec,
    loadSpi: loadSpiDevice,
    loadI2c: loadI2cBus,
  };
}

/** Resolves `auto` to a concrete driver; logs which and why. */
export function resolveDriver(config: GpioConfig, env: Pick<BoardGpioEnv, 'readFile'>, log: Logger): GpioDriverName | 'none' {
  if (config.driver !== 'auto') return config.driver;
  const { driver, reason } = pickGpioDriver(readBoardModel(env.readFile));
  log.info('gpio-driver-selected', { driver, reason });
  return driver;
}

export function createBoardGpio(config: GpioConfig, log: Logger, env: BoardGpioEnv = realBoardEnv()): HatGpio {
  const driver = resolveDriver(config, env, log);
  let openLines: (() => Promise<GpioLines>) | undefined;
  if (driver === 'rpio') {
    openLines = async () =>
      RpioLines.open({ rpio: await env.loadRpio(), clock: env.clock, pollMs: config.pollMs, mock: env.rpioMock });
  } else if (driver === 'gpiod') {
    openLines = async () => {
      const lines = await GpiodLines.open({ spawn: env.spawn, exec: env.exec, chipLabel: config.chipLabel });
      log.info('gpiod-chip', { chip: lines.chip, label: lines.label, tools: `v${lines.major}` });
      return lines;
    };
  }
  const openSpiFn =
    env.openSpi ?? (async (device: string, speedHz: number) => openSpi(await env.loadSpi(), device, speedHz));
  const openI2cFn =
    env.openI2c ?? (async (bus: number, address: number) => openI2c(await (env.loadI2c ?? loadI2cBus)(), bus, address));
  return new HatGpio({ config, log, clock: env.clock, openLines, openSpi: openSpiFn, openI2c: openI2cFn, i2cSleep: env.i2cSleep });
}
