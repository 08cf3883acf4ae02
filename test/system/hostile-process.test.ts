/**
 * The process and what leaves it (issue 12, points 5, 13, 14): last-resort handlers, secrets in
 * every outbound string, remote text out of systemd's STATUS, tokens over clear-text links, a
 * full disk, a microphone that ends.
 */
import { execFile, execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { subscribe, request } from '../../src/control/client.js';
import { parseConfig } from '../../src/config/load.js';
import type { SessionStatus } from '../../src/core/session.js';
import { WavMic } from '../../src/drivers/wav/mic.js';
import { WavSpeaker } from '../../src/drivers/wav/speaker.js';
import { GatewayClient } from '../../src/gateway/client.js';
import { memoryLogger } from '../../src/log/logger.js';
import { statusLine } from '../../src/system/agent-systemd.js';
import { installLastResort } from '../../src/system/last-resort.js';
import { writeWav } from '../support/wav.js';
import { connected, startHarness, waitFor, type Harness } from '../support/harness.js';

const run = promisify(execFile);
const CLI = path.resolve('dist/src/cli.js');

let h: Harness | undefined;
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await h?.close();
  h = undefined;
});

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'sa-proc-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('last-resort handlers', () => {
  it('an uncaught exception is logged with context, the agent stopped, then exit non-zero', async () => {
    const m = memoryLogger();
    const source = new EventEmitter();
    const exits: number[] = [];
    let stopped = false;
    installLastResort({ log: m.logger, source, exit: (c) => exits.push(c), stop: async () => void (stopped = true) });
    source.emit('uncaughtException', new RangeError('Maximum call stack size exceeded'), 'uncaughtException');
    await waitFor(() => exits.length > 0, 'exit');
    expect(stopped).toBe(true);
    expect(exits).toEqual([70]);
    expect(m.lines()[0]).toMatchObject({ level: 'error', event: 'fatal', origin: 'uncaughtException', error: 'Maximum call stack size exceeded', name: 'RangeError' });
  });

  it('an unhandled rejection too; a stop that hangs is cut by the backstop', async () => {
    const m = memoryLogger();
    const source = new EventEmitter();
    const exits: number[] = [];
    installLastResort({ log: m.logger, source, exit: (c) => exits.push(c), stop: () => new Promise(() => undefined), stopMs: 100 });
    source.emit('unhandledRejection', new Error('nobody caught me'));
    await waitFor(() => exits.length > 0, 'exit by the backstop', 2000);
    expect(m.lines()[0]).toMatchObject({ event: 'fatal', origin: 'unhandledRejection', error: 'nobody caught me' });
  });

  it('`run` installs them: a throw from a timer is one fatal log line, a clean stop, exit 70', async () => {
    const dir = tmp();
    const mic = path.join(dir, 'mic.wav');
    writeWav(mic, new Int16Array(1600), 16000);
    const boom = `data:text/javascript,setTimeout(()=>{throw new Error('boom from a timer')},1500)`;
    const r = await run(process.execPath, ['--import', boom, CLI, 'run', '--gateway', 'ws://127.0.0.1:9/', '--mic', `wav:${mic}`, '--speaker', `wav:${path.join(dir, 'out.wav')}`, '--control', path.join(dir, 'c.sock')], {
      env: { PATH: process.env.PATH },
      timeout: 15_000,
    }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    const lines = (r as { stdout: string }).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.event === 'fatal')).toMatchObject({ error: 'boom from a timer', origin: 'uncaughtException' });
    expect(lines.some((l) => l.event === 'stopped')).toBe(true);
    expect((r as { code: number }).code).toBe(70);
  }, 20_000);
});

describe('secrets in everything that leaves the agent', () => {
  const TOKEN = 'tok-SECRET-0123456789';

  it('a gateway error quoting the token reaches neither status --json, events nor the logs', async () => {
    process.env.SA_TEST_TOKEN = TOKEN;
    cleanup.push(() => void delete process.env.SA_TEST_TOKEN);
    h = await startHarness({ config: { gateway: { tokenEnv: 'SA_TEST_TOKEN' } } });
    await connected(h);
    const events: Record<string, unknown>[] = [];
    const ac = new AbortController();
    let ready!: () => void;
    const subscribed = new Promise<void>((r) => (ready = r));
    const done = subscribe(h.socket, (e) => events.push(e), ac.signal, ready);
    await subscribed;
    h.gw.broadcastRaw(JSON.stringify({ action: 'error', id: null, error: { message: `token ${TOKEN} is not valid here` } }));
    h.gw.broadcastRaw(JSON.stringify({ action: 'response', id: null, data: { list: [[{ deep: `Bearer ${TOKEN}` }]], note: TOKEN } }));
    await waitFor(() => events.some((e) => e.event === 'response') && events.some((e) => e.event === 'error'), 'both events');
    const status = await request(h.socket, { cmd: 'status' });
    expect(JSON.stringify(status)).toContain('[redacted]');
    const everything = JSON.stringify(status) + JSON.stringify(events) + h.logText();
    expect(everything).not.toContain(TOKEN);
    const { stdout } = await run(process.execPath, [CLI, 'status', '--json', '--control', h.socket]);
    expect(stdout).not.toContain(TOKEN);
    expect(stdout).toMatch(/token \[redacted\] is not valid here/);
    ac.abort();
    await done;
  });

  it('systemd STATUS: masked, and the remote side\'s text kept out', () => {
    const base: SessionStatus = { phase: 'idle', turnId: null, followUp: false, connected: true, muted: false, led: 'idle', backend: 'gateway', wake: { available: true, keywords: [] } };
    const remote = statusLine({ ...base, lastError: { code: 'backend', message: 'evil\nMAINPID=1 text from the gateway', at: '' } });
    expect(remote).toBe('gateway connected; button only; last error: backend (details: speaker-agent status)');
    const local = statusLine({ ...base, lastError: { code: 'speaker', message: `device says ${TOKEN}\nREADY=1`, at: '' } }, (t) => t.split(TOKEN).join('[redacted]'));
    expect(local).toBe('gateway connected; button only; last error: device says [redacted] READY=1');
    expect(local).not.toContain('\n');
  });

  it('a token over ws:// to a non-loopback host: warned at connect, or refused with gateway.insecureTokens: refuse', async () => {
    for (const policy of ['warn', 'refuse'] as const) {
      const m = memoryLogger();
      const config = parseConfig({ gateway: { url: 'ws://192.0.2.1:1/', insecureTokens: policy, connectTimeoutMs: 500 } });
      const c = new GatewayClient(config.gateway, m.logger, { env: { SPEAKER_AGENT_TOKEN: TOKEN } });
      const reasons: string[] = [];
      c.on('disconnected', (d) => reasons.push(d.reason));
      await c.start();
      await waitFor(() => /token-insecure/.test(m.text()), `token-insecure (${policy})`);
      const line = m.lines().find((l) => l.event === 'token-insecure')!;
      expect(line).toMatchObject({ level: policy === 'warn' ? 'warn' : 'error', policy });
      if (policy === 'refuse') {
        await waitFor(() => reasons.length > 0, 'refused');
        expect(reasons[0]).toMatch(/refusing to send the token over ws:\/\/ to 192\.0\.2\.1/);
      }
      await c.stop();
      expect(m.text()).not.toContain(TOKEN);
    }
  });

  it('no warning for loopback or wss://', async () => {
    const m = memoryLogger();
    const config = parseConfig({ gateway: { url: 'ws://127.0.0.1:9/', connectTimeoutMs: 500 } });
    const c = new GatewayClient(config.gateway, m.logger, { env: { SPEAKER_AGENT_TOKEN: TOKEN } });
    await c.start();
    await waitFor(() => /connecting/.test(m.text()), 'an attempt');
    await c.stop();
    expect(m.text()).not.toMatch(/token-insecure/);
  });
});

describe('a full disk and a microphone that ends', () => {
  it('the wav speaker on a full disk (/dev/full): one error naming the file, no crash', async () => {
    const s = new WavSpeaker({ path: '/dev/full', realtime: false });
    await expect(s.start()).rejects.toThrow('speaker file /dev/full cannot be written (ENOSPC: no space left on the device)');
  });

  it('the disk fills up while playing: an output error naming the file, told once, no crash', async () => {
    // A 64 KiB tmpfs (root can mount one; where it cannot, this case is skipped with a note).
    const dir = tmp();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    } catch {
      console.warn('skipped: cannot mount a tmpfs here');
      return;
    }
    cleanup.push(() => void execFileSync('umount', [dir]));
    const file = path.join(dir, 'out.wav');
    const s = new WavSpeaker({ path: file, realtime: false });
    await s.start();
    const errors: string[] = [];
    s.on('error', (e) => errors.push(e.message));
    const fmt = { sampleRate: 16000, channels: 1 };
    for (let i = 0; i < 20; i++) s.write(Buffer.alloc(16000), fmt); // 320 KB into 64 KiB
    s.end();
    expect(errors).toEqual([`speaker file ${file} cannot be written (ENOSPC: no space left on the device)`]);
    await s.close();
  });

  it('a WAV mic without padding ends: reported once, and status says the microphone ended (deaf)', async () => {
    const dir = tmp();
    const file = path.join(dir, 'mic.wav');
    writeWav(file, new Int16Array(3200), 16000);
    const mic = new WavMic({ path: file, realtime: false, padSilence: false });
    h = await startHarness({ mic });
    await waitFor(() => h!.agent.session.status().lastError?.code === 'mic', 'the mic error');
    await new Promise((r) => setTimeout(r, 200));
    expect(h.logLines().filter((l) => l.event === 'mic-error')).toHaveLength(1);
    const status = await request(h.socket, { cmd: 'status' });
    expect(status).toMatchObject({ ok: true, status: { lastError: { code: 'mic', message: expect.stringMatching(/microphone ended.*deaf/) } } });
    const { stdout } = await run(process.execPath, [CLI, 'status', '--control', h.socket]);
    expect(stdout).toMatch(/last error: the microphone ended/);
  });
});
