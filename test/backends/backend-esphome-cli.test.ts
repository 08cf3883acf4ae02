/**
 * The contract: `speaker-agent run --backend esphome --esphome-port N --esphome-key-file PATH`
 * with the WAV drivers, Home Assistant played by the @2colors client, and `listen` on the control
 * socket starting a turn as a wake word would. Needs the built CLI (`npm run build`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWav } from '../../src/audio/wav.js';
import { VA_EVENT } from '../../src/backends/esphome/pipeline.js';
import { TIMER_EVENT } from '../../src/backends/esphome/timers.js';
import { request } from '../../src/control/client.js';
import { resolveModelFiles } from '../../src/drivers/openwakeword/models.js';
import { FakeHomeAssistant } from '../support/fake-home-assistant.js';
import { KEY_B64, startReplyServer, tone, wav } from '../support/esphome.js';
import { waitFor } from '../support/harness.js';
import { writeWav } from '../support/wav.js';

const CLI = path.resolve('dist/src/cli.js');

/** openWakeWord's runtime and models are optional dependencies. */
const owwMissing = (() => {
  try {
    createRequire(import.meta.url).resolve('onnxruntime-node');
    resolveModelFiles({ keyword: 'alexa' });
    return false;
  } catch {
    return true;
  }
})();
let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function daemon(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  let out = '';
  const child = spawn('node', [CLI, 'run', ...args], { env: { ...process.env, SPEAKER_AGENT_LOG_LEVEL: 'debug', ...env } });
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, out: () => out, exited };
}

function listeningPort(out: string): number | undefined {
  const m = /"event":"esphome-listening","port":(\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

describe('speaker-agent run --backend esphome', () => {
  it('serves Home Assistant encrypted; `listen` on the control socket runs a pipeline; the reply plays; the key never shows', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-esphome-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const keyFile = path.join(dir, 'esphome-key');
    writeFileSync(keyFile, `${KEY_B64}\n`, { mode: 0o600 });
    const cfg = path.join(dir, 'config.yaml');
    writeFileSync(cfg, 'esphome:\n  mdns: false\n  name: cli-speaker\n');
    writeWav(path.join(dir, 'user.wav'), new Int16Array(16000 * 3), 16000);
    const reply = tone(400, 1800);
    const http = await startReplyServer({ '/reply.wav': { body: wav(reply), type: 'audio/wav' } });
    cleanups.push(() => http.close());

    const socket = path.join(dir, 'control.sock');
    const out = path.join(dir, 'out.wav');
    const d = daemon(['-c', cfg, '--backend', 'esphome', '--esphome-port', '0', '--esphome-key-file', keyFile, '--mic', `wav:${path.join(dir, 'user.wav')}`, '--speaker', `wav:${out}`, '--wake', 'none', '--gpio', 'none', '--control', socket]);
    await waitFor(() => listeningPort(d.out()) !== undefined, 'the server to listen', 15_000);
    const ha = new FakeHomeAssistant({ port: listeningPort(d.out())!, key: KEY_B64, expectedServerName: 'cli-speaker' });
    cleanups.push(() => ha.disconnect());
    await ha.connect();
    expect(ha.deviceInfo).toMatchObject({ name: 'cli-speaker' });
    ha.subscribeVoice();
    await waitFor(() => d.out().includes('"event":"connected"'), 'the agent connected', 10_000);

    expect(await request(socket, { cmd: 'listen' })).toMatchObject({ ok: true });
    await ha.next('VoiceAssistantRequest', (m) => m.start === true);
    ha.acceptRun();
    await ha.next('VoiceAssistantAudio', (m) => typeof m.data === 'string' && m.data.length > 0);
    ha.event(VA_EVENT.RUN_START);
    ha.event(VA_EVENT.STT_END, { text: 'hello there' });
    ha.event(VA_EVENT.INTENT_END, { conversation_id: 'c', continue_conversation: '0' });
    ha.event(VA_EVENT.TTS_START, { text: 'Hi!' });
    ha.event(VA_EVENT.TTS_END, { url: http.url('/reply.wav') });
    ha.event(VA_EVENT.RUN_END);
    await ha.next('VoiceAssistantAnnounceFinished', () => true, 10_000);

    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    const parsed = parseWav(readFileSync(out));
    expect(parsed.dataBytes).toBeGreaterThanOrEqual(reply.length);
    expect(d.out()).toContain('"event":"esphome-run"');
    expect(d.out()).not.toContain(KEY_B64);
    expect(d.out()).not.toContain('esphome-plaintext');
  });

  it('a finished timer rings in the daemon: status shows ringing, `listen` on the control socket stops it and opens no turn', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-esphome-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const keyFile = path.join(dir, 'esphome-key');
    writeFileSync(keyFile, `${KEY_B64}\n`, { mode: 0o600 });
    const cfg = path.join(dir, 'config.yaml');
    writeFileSync(cfg, 'esphome:\n  mdns: false\n  name: ring-speaker\n');
    writeWav(path.join(dir, 'user.wav'), new Int16Array(16000 * 3), 16000);
    const socket = path.join(dir, 'control.sock');
    const out = path.join(dir, 'out.wav');
    const d = daemon(['-c', cfg, '--backend', 'esphome', '--esphome-port', '0', '--esphome-key-file', keyFile, '--mic', `wav:${path.join(dir, 'user.wav')}`, '--speaker', `wav:${out}`, '--wake', 'none', '--gpio', 'none', '--control', socket]);
    await waitFor(() => listeningPort(d.out()) !== undefined, 'the server to listen', 15_000);
    const ha = new FakeHomeAssistant({ port: listeningPort(d.out())!, key: KEY_B64, expectedServerName: 'ring-speaker' });
    cleanups.push(() => ha.disconnect());
    await ha.connect();
    ha.subscribeVoice();
    await waitFor(() => d.out().includes('"event":"connected"'), 'the agent connected', 10_000);

    ha.send('VoiceAssistantTimerEventResponse', { eventType: TIMER_EVENT.STARTED, timerId: 't1', name: 'pasta', totalSeconds: 600, secondsLeft: 600, isActive: true });
    await waitFor(() => d.out().includes('"event":"timer-started"'), 'the timer logged', 5000);
    expect(await request(socket, { cmd: 'status' })).toMatchObject({ ok: true, status: { phase: 'idle', led: 'timer', timers: 1 } });
    ha.send('VoiceAssistantTimerEventResponse', { eventType: TIMER_EVENT.FINISHED, timerId: 't1', name: 'pasta', totalSeconds: 600, secondsLeft: 0, isActive: false });
    await waitFor(() => d.out().includes('"phase":"ringing"'), 'ringing', 5000);
    expect(await request(socket, { cmd: 'status' })).toMatchObject({ ok: true, status: { phase: 'ringing', led: 'ringing', ringing: ['pasta'] } });
    await new Promise((r) => setTimeout(r, 1500)); // a ring or two
    expect(await request(socket, { cmd: 'listen' })).toMatchObject({ ok: true });
    expect(await request(socket, { cmd: 'status' })).toMatchObject({ ok: true, status: { phase: 'idle' } });
    await new Promise((r) => setTimeout(r, 500));
    expect(ha.all('VoiceAssistantRequest')).toHaveLength(0);
    expect(d.out()).toContain('"code":"ring-stopped"');

    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    // The ring reached the speaker: its beeps are loud samples in what was played (nothing else played).
    const file = readFileSync(out);
    const parsed = parseWav(file);
    let peak = 0;
    for (let i = 0; i + 1 < parsed.dataBytes; i += 2) peak = Math.max(peak, Math.abs(file.readInt16LE(parsed.dataOffset + i)));
    expect(peak).toBeGreaterThan(8000);
  });

  it.skipIf(owwMissing)('the wake word Home Assistant picks is kept in $STATE_DIRECTORY and listened for after a restart', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-esphome-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const state = path.join(dir, 'state');
    const cfg = path.join(dir, 'config.yaml');
    writeFileSync(cfg, 'esphome:\n  mdns: false\nwake:\n  engine: openwakeword\n  keyword: hey_jarvis\n');
    writeWav(path.join(dir, 'user.wav'), new Int16Array(16000), 16000);
    const args = ['-c', cfg, '--backend', 'esphome', '--esphome-port', '0', '--mic', `wav:${path.join(dir, 'user.wav')}`, '--speaker', `wav:${path.join(dir, 'o.wav')}`, '--gpio', 'none', '--control', path.join(dir, 's.sock')];
    const d = daemon(args, { STATE_DIRECTORY: state });
    await waitFor(() => listeningPort(d.out()) !== undefined, 'the server to listen', 20_000);
    expect(d.out()).toMatch(/"event":"wake-ready"[^\n]*"keyword":"hey jarvis"/);
    const ha = new FakeHomeAssistant({ port: listeningPort(d.out())! });
    cleanups.push(() => ha.disconnect());
    await ha.connect();
    ha.subscribeVoice();
    ha.send('VoiceAssistantSetConfiguration', { activeWakeWordsList: ['alexa'] });
    await waitFor(() => d.out().includes('"event":"esphome-wake-word-set"'), 'the switch', 10_000);
    expect(JSON.parse(readFileSync(path.join(state, 'esphome-preferences.json'), 'utf8'))).toEqual({ activeWakeWords: ['alexa'] });
    ha.disconnect();
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);

    const again = daemon(args, { STATE_DIRECTORY: state });
    await waitFor(() => listeningPort(again.out()) !== undefined, 'the server to listen again', 20_000);
    expect(again.out()).toMatch(/"event":"wake-keyword-changed"[^\n]*"to":"alexa"/);
    const ha2 = new FakeHomeAssistant({ port: listeningPort(again.out())! });
    cleanups.push(() => ha2.disconnect());
    await ha2.connect();
    ha2.send('VoiceAssistantConfigurationRequest', {});
    expect(await ha2.next('VoiceAssistantConfigurationResponse')).toMatchObject({ activeWakeWordsList: ['alexa'], maxActiveWakeWords: 1 });
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 60_000);

  it('without a key file it runs plaintext and says so', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-esphome-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const cfg = path.join(dir, 'config.yaml');
    writeFileSync(cfg, 'esphome:\n  mdns: false\n');
    writeWav(path.join(dir, 'user.wav'), new Int16Array(1600), 16000);
    const d = daemon(['-c', cfg, '--backend', 'esphome', '--esphome-port', '0', '--mic', `wav:${path.join(dir, 'user.wav')}`, '--speaker', `wav:${path.join(dir, 'o.wav')}`, '--wake', 'none', '--gpio', 'none', '--control', path.join(dir, 's.sock')]);
    await waitFor(() => listeningPort(d.out()) !== undefined, 'the server to listen', 15_000);
    expect(d.out()).toContain('"event":"esphome-plaintext"');
    const ha = new FakeHomeAssistant({ port: listeningPort(d.out())! });
    cleanups.push(() => ha.disconnect());
    await ha.connect();
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('a key file that holds no valid key is a configuration error (exit 2), with the fix', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-esphome-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const keyFile = path.join(dir, 'bad-key');
    writeFileSync(keyFile, 'not-a-key\n');
    writeWav(path.join(dir, 'user.wav'), new Int16Array(1600), 16000);
    const d = daemon(['--backend', 'esphome', '--esphome-port', '0', '--esphome-key-file', keyFile, '--mic', `wav:${path.join(dir, 'user.wav')}`, '--speaker', `wav:${path.join(dir, 'o.wav')}`, '--control', path.join(dir, 's.sock')]);
    expect(await d.exited).toBe(2);
    expect(d.out()).toMatch(/base64 of 32 bytes/);
    expect(d.out()).not.toContain('not-a-key');
  });
});
