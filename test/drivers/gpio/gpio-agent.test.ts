/**
 * The whole chain on rpio's mock board: a bouncy press on GPIO17 reaches the real session
 * (which talks to the bundled local gateway over loopback), and the LED state the session sets
 * comes out as APA102 frames on the (recording) SPI device.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../../../src/agent.js';
import { deepMerge, parseConfig } from '../../../src/config/load.js';
import { FakeMic, FakeSpeaker, FakeWake } from '../../fakes/index.js';
import { createBoardGpio } from '../../../src/drivers/gpio/create.js';
import { loadRpio } from '../../../src/drivers/gpio/rpio-lines.js';
import { loadSpiDevice } from '../../../src/drivers/gpio/spi.js';
import { memoryLogger, silentLogger } from '../../../src/log/logger.js';
import { LocalGateway } from '../../../src/local-gateway/server.js';
import { FAST, waitFor } from '../../support/harness.js';
import { ManualScheduler } from '../../fakes/clock.js';
import { RecordingSpi } from '../../fakes/gpio-lines.js';

const rpio = await loadRpio();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The colour of the first LED in the last APA102 frame, as [r, g, b]. */
function firstLed(spi: RecordingSpi): number[] {
  const f = spi.last!;
  return [f[7]!, f[6]!, f[5]!];
}

describe('button and LEDs driving the real session', () => {
  it('press starts listening (blue), long press mutes (red) and unmutes', async () => {
    const gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0 });
    await gw.start();
    cleanups.push(() => gw.stop());
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gpio-agent-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const config = parseConfig(
      deepMerge(FAST as Record<string, unknown>, {
        gateway: { url: gw.url },
        control: { socket: path.join(dir, 'c.sock') },
        gpio: { driver: 'rpio', buttonPin: 17, leds: { driver: 'apa102', count: 3, brightness: 31 } },
      }),
    );
    const clock = new ManualScheduler();
    const spi = new RecordingSpi();
    rpio.init({ mock: 'raspi-3', gpiomem: true, mapping: 'gpio', close_on_exit: false });
    rpio.write(17, 1);
    const gpio = createBoardGpio(config.gpio, silentLogger(), {
      clock,
      readFile: () => '',
      loadRpio: async () => rpio,
      rpioMock: 'raspi-3',
      spawn: () => {
        throw new Error('unused');
      },
      exec: async () => '',
      loadSpi: loadSpiDevice,
      openSpi: async () => spi,
    });
    const mem = memoryLogger('debug');
    const agent: Agent = await createAgent(config, {
      log: mem.logger,
      controlSocket: path.join(dir, 'c.sock'),
      overrides: { mic: new FakeMic(), speaker: new FakeSpeaker(), wake: new FakeWake(), gpio },
    });
    await agent.start();
    cleanups.push(() => agent.stop());
    await waitFor(() => agent.session.state.connected, 'connected');
    await waitFor(() => firstLed(spi).every((v) => v === 0), 'idle LEDs (dark)');

    const hold = (level: number, ms: number) => {
      rpio.write(17, level);
      clock.advance(ms);
    };
    // A bouncy short press.
    hold(0, 10);
    hold(1, 10);
    hold(0, 200);
    hold(1, 100);
    await waitFor(() => agent.session.state.phase.kind === 'listening', 'listening');
    expect(firstLed(spi)).toEqual([0, 80, 255]);

    // Hold 1.2 s: mute.
    hold(0, 1200);
    hold(1, 100);
    await waitFor(() => agent.session.state.muted, 'muted');
    await waitFor(() => firstLed(spi).join() === '255,0,0', 'red LEDs');
    hold(0, 1200);
    hold(1, 100);
    await waitFor(() => !agent.session.state.muted, 'unmuted');
    expect(firstLed(spi)).not.toEqual([255, 0, 0]);
  });
});
