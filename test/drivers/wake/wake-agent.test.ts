/**
 * The whole agent with `wake.engine: porcupine` and a bad AccessKey: the registry builds the real
 * Porcupine adapter over the real @picovoice/porcupine-node; the agent starts anyway, `status`
 * over the control socket says why the wake word is off, and the button still starts a turn.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../../../src/agent.js';
import { formatStatus } from '../../../src/cli/control-cmd.js';
import { parseConfig } from '../../../src/config/load.js';
import { request } from '../../../src/control/client.js';
import type { SessionStatus } from '../../../src/core/session.js';
import { FakeGpio, FakeMic, FakeSpeaker } from '../../fakes/index.js';
import { LocalGateway } from '../../../src/local-gateway/server.js';
import { memoryLogger, silentLogger } from '../../../src/log/logger.js';
import { waitFor } from '../../support/harness.js';

const BAD_KEY = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==';
const ENV = 'SPEAKER_AGENT_TEST_BAD_PORCUPINE_KEY';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('agent with porcupine and a bad AccessKey', () => {
  it('starts, reports the reason over the control socket, and works by button', async () => {
    const gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0 });
    await gw.start();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-wake-'));
    const socket = path.join(dir, 'control.sock');
    // The registry reads the key from process.env, as the daemon does.
    process.env[ENV] = BAD_KEY;
    const mem = memoryLogger('debug');
    const gpio = new FakeGpio();
    const config = parseConfig({
      gateway: { url: gw.url },
      audio: { mic: 'wav:unused.wav', speaker: 'wav:unused.wav' },
      wake: { engine: 'porcupine', keywords: ['computer'], accessKeyEnv: ENV },
      control: { socket },
    });
    const made: { agent?: Agent } = {};
    cleanup = async () => {
      delete process.env[ENV];
      await made.agent?.stop();
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    };
    const agent = (made.agent = await createAgent(config, { log: mem.logger, controlSocket: socket, overrides: { mic: new FakeMic(), speaker: new FakeSpeaker(), gpio } }));
    await expect(agent.start()).resolves.toBeUndefined();

    const reason = 'Porcupine AccessKey (from environment variable SPEAKER_AGENT_TEST_BAD_PORCUPINE_KEY) is invalid: copy it again from https://console.picovoice.ai/ (one line, no spaces)';
    expect(agent.session.status().wake).toEqual({ available: false, reason, keywords: ['computer'] });
    const reply = (await request(socket, { cmd: 'status' })) as { ok: boolean; status: SessionStatus };
    expect(reply.ok).toBe(true);
    expect(formatStatus(reply.status)).toContain(`wake word:  off: ${reason}`);

    // The adapter logs one actionable line; the key never reaches the log.
    const adapterLines = mem.lines().filter((l) => l.ns === 'wake' && l.level === 'warn');
    expect(adapterLines).toEqual([expect.objectContaining({ event: 'wake-unavailable', reason })]);
    expect(mem.text()).not.toContain(BAD_KEY);

    // The button still starts a turn.
    await waitFor(() => agent.session.state.connected, 'connected');
    gpio.button('press');
    await waitFor(() => agent.session.state.phase.kind === 'listening', 'listening after a button press');
  });
});
