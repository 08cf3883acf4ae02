/**
 * The real daemon process (`speaker-agent run`) with a WAV microphone and a WAV speaker against
 * the local gateway: a complete turn, then SIGTERM while listening.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWav } from '../src/audio/wav.js';
import { request } from '../src/control/client.js';
import { LocalGateway } from '../src/local-gateway/server.js';
import { silentLogger } from '../src/log/logger.js';
import { speech, waitFor } from './support/harness.js';
import { writeWav } from './support/wav.js';

const CLI = path.resolve('dist/src/cli.js');
let gw: LocalGateway;
let dir: string;

beforeAll(async () => {
  gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0, followUp: 'never' });
  await gw.start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'sa-daemon-'));
  // 0.3 s quiet, 0.8 s "speech", 1.2 s quiet: the simulated user's question.
  const pcm = new Int16Array(16000 * 2.3);
  pcm.set(speech(800), 4800);
  writeWav(path.join(dir, 'user.wav'), pcm, 16000);
});
afterAll(async () => {
  await gw.stop();
});

function startDaemon(name: string): { child: ChildProcess; socket: string; out: string; stdout: () => string } {
  const socket = path.join(dir, `${name}.sock`);
  const out = path.join(dir, `${name}.wav`);
  let stdout = '';
  const child = spawn('node', [CLI, 'run', '--gateway', gw.url, '--mic', `wav:${path.join(dir, 'user.wav')}`, '--speaker', `wav:${out}`, '--wake', 'none', '--gpio', 'none', '--control', socket], {
    env: { ...process.env, SPEAKER_AGENT_LOG_LEVEL: 'debug' },
  });
  child.stdout!.on('data', (d) => (stdout += d.toString()));
  child.stderr!.on('data', (d) => (stdout += d.toString()));
  return { child, socket, out, stdout: () => stdout };
}

async function statusOf(socket: string) {
  const r = await request(socket, { cmd: 'status' });
  return r.ok ? (r.status as { phase: string; connected: boolean }) : undefined;
}

describe('speaker-agent run', () => {
  it('answers a spoken question into a valid WAV and logs one JSON object per line', async () => {
    const d = startDaemon('turn');
    await waitFor(() => d.stdout().includes('"event":"connected"'), 'daemon connected', 10_000);
    await request(d.socket, { cmd: 'listen' });
    await waitFor(() => /"phase":"speaking"[\s\S]*"phase":"idle"/.test(d.stdout()), 'the reply played to the end', 15_000);
    // A WAV speaker is readable while the agent runs.
    const wav = readFileSync(d.out);
    const parsed = parseWav(wav);
    expect(parsed.format).toEqual({ sampleRate: 16000, channels: 1 });
    expect(parsed.dataBytes).toBeGreaterThan(16000);
    d.child.kill('SIGTERM');
    const code = await new Promise((r) => d.child.on('exit', r));
    expect(code).toBe(0);
    for (const line of d.stdout().trim().split('\n')) {
      const obj = JSON.parse(line) as Record<string, unknown>;
      expect(typeof obj.event).toBe('string');
      expect(typeof obj.ns).toBe('string');
    }
  });

  it('SIGTERM during a turn sends audio_end, finalises the WAV and exits within 2 s', async () => {
    const d = startDaemon('term');
    await waitFor(() => d.stdout().includes('"event":"connected"'), 'daemon connected', 10_000);
    const before = gw.received.length;
    await request(d.socket, { cmd: 'listen' });
    await waitFor(() => gw.received.slice(before).some((r) => r.action === 'audio_data'), 'streaming');
    expect((await statusOf(d.socket))?.phase).toBe('listening');
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const code = await new Promise((r) => d.child.on('exit', r));
    const took = Date.now() - t0;
    expect(code).toBe(0);
    expect(took).toBeLessThan(2000);
    const mine = gw.received.slice(before);
    const id = mine.find((r) => r.action === 'audio_start')!.id;
    expect(mine.some((r) => r.action === 'audio_end' && r.id === id)).toBe(true);
    const parsed = parseWav(readFileSync(d.out));
    expect(parsed.format.sampleRate).toBe(16000);
  });
});
