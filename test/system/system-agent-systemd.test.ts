/**
 * The real agent (session, gateway client over ws on loopback, local gateway) with fake
 * hardware, notifying a real AF_UNIX datagram socket through systemd-notify.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../../src/agent.js';
import { deepMerge, parseConfig } from '../../src/config/load.js';
import type { SessionStatus } from '../../src/core/session.js';
import { FakeGpio, FakeMic, FakeSpeaker, FakeWake } from '../fakes/index.js';
import { LocalGateway } from '../../src/local-gateway/server.js';
import { silentLogger } from '../../src/log/logger.js';
import { attachSystemd, statusLine } from '../../src/system/agent-systemd.js';
import { createSystemdNotifier } from '../../src/system/sd-notify.js';
import { FAST, waitFor } from '../support/harness.js';
import { NotifyReceiver } from '../helpers/notify-socket.js';

const base: SessionStatus = {
  phase: 'idle',
  turnId: null,
  followUp: false,
  connected: true,
  muted: false,
  led: 'idle',
  backend: 'gateway',
  wake: { available: true, keywords: ['computer'] },
};

describe('statusLine', () => {
  it('says what an operator needs: link, wake word, mute, last error', () => {
    expect(statusLine(base)).toBe('gateway connected; wake word: computer');
    expect(statusLine({ ...base, connected: false, muted: true, wake: { available: false, reason: 'AccessKey activation limit reached', keywords: [] } })).toBe(
      'gateway disconnected; no wake word (AccessKey activation limit reached); muted',
    );
    expect(statusLine({ ...base, wake: { available: true, keywords: [] }, lastError: { code: 'speaker', message: 'underrun', at: '' } })).toBe(
      'gateway connected; button only; last error: underrun',
    );
  });
  it('does not change with the conversation phase (no helper process per turn)', () => {
    expect(statusLine({ ...base, phase: 'speaking', led: 'speaking', turnId: 'x' })).toBe(statusLine(base));
  });
});

describe('attachSystemd with the real agent', () => {
  let dir: string;
  let receiver: NotifyReceiver;
  let gw: LocalGateway | undefined;
  let agent: Agent | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'agent-sd-'));
    receiver = await NotifyReceiver.start(path.join(dir, 'notify.sock'));
  });
  afterEach(async () => {
    await agent?.stop();
    await gw?.stop();
    receiver.stop();
    rmSync(dir, { recursive: true, force: true });
    agent = undefined;
    gw = undefined;
  });

  async function startAgent(url: string, wake = new FakeWake()) {
    const config = parseConfig(deepMerge(FAST as Record<string, unknown>, { gateway: { url }, control: { socket: path.join(dir, 'control.sock') } }));
    const a = await createAgent(config, {
      log: silentLogger(),
      controlSocket: null,
      overrides: { mic: new FakeMic(), speaker: new FakeSpeaker(), wake, gpio: new FakeGpio() },
    });
    const notifier = createSystemdNotifier({ env: { ...process.env, NOTIFY_SOCKET: receiver.path }, log: silentLogger() });
    attachSystemd(a, notifier, { degradedAfterMs: 300 });
    agent = a;
    await a.start();
    return a;
  }

  it('READY once the gateway is connected, STATUS on a health change, STOPPING on stop', async () => {
    gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0 });
    await gw.start();
    const wake = new FakeWake();
    const a = await startAgent(gw.url, wake);
    await receiver.next((m) => m.startsWith('READY=1'));
    expect(receiver.payloads()[0]).toBe('READY=1\nSTATUS=gateway connected; wake word: fake');

    // A turn changes phases but not the status line: nothing is sent for it.
    a.session.trigger('control');
    await waitFor(() => a.session.status().phase === 'listening', 'listening');
    a.session.setMuted(true);
    await receiver.next((m) => m === 'STATUS=gateway connected; wake word: fake; muted');
    wake.setStatus({ available: false, reason: 'AccessKey refused', keywords: [] });
    a.session.setMuted(false);
    await receiver.next((m) => m.startsWith('STATUS=gateway connected; no wake word (AccessKey refused)'));

    await a.stop();
    await receiver.next((m) => m.startsWith('STOPPING=1'));
    expect(receiver.payloads().filter((m) => m.startsWith('READY=1'))).toHaveLength(1);
    expect(receiver.payloads().at(-1)).toBe('STOPPING=1\nSTATUS=stopping');
  });

  it('READY with a "degraded" status when the gateway cannot be reached', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await startAgent(`ws://127.0.0.1:${port}/`);
    const ready = await receiver.next((m) => m.startsWith('READY=1'));
    expect(ready.message).toMatch(/^READY=1\nSTATUS=degraded: connect ECONNREFUSED 127\.0\.0\.1:\d+; gateway disconnected; wake word: fake$/);
  });

  it('a late connection after a degraded READY shows up as a STATUS update', async () => {
    gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0 });
    await gw.start();
    const url = gw.url;
    await gw.stop();
    await startAgent(url);
    await receiver.next((m) => m.startsWith('READY=1\nSTATUS=degraded'));
    gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0, port: Number(new URL(url).port) });
    await gw.start();
    await receiver.next((m) => m === 'STATUS=gateway connected; wake word: fake', 10_000);
    expect(receiver.payloads().filter((m) => m.startsWith('READY=1'))).toHaveLength(1);
  });
});
