/**
 * The real agent (session, player, MP3 decoder) driving a direct backend (soca or pipeline)
 * against the fake speech services; hardware is faked.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAgent, type Agent } from '../../src/agent.js';
import { parseConfig } from '../../src/config/load.js';
import { FakeGpio, FakeMic, FakeSpeaker, FakeWake } from '../fakes/index.js';
import type { Logger } from '../../src/log/logger.js';
import type { Backend } from '../../src/ports/backend.js';
import type { WakeWord } from '../../src/ports/wake-word.js';
import { NO_EARCONS } from './harness.js';

export interface DirectAgent {
  agent: Agent;
  mic: FakeMic;
  speaker: FakeSpeaker;
  wake: FakeWake;
  gpio: FakeGpio;
  close(): Promise<void>;
}

/** Conversation timings short enough for tests. */
export const FAST_CONVERSATION = {
  noSpeechTimeoutMs: 3000,
  maxUtteranceMs: 8000,
  thinkingTimeoutMs: 5000,
  settleMs: 50,
  expectSpeechTimeoutMs: 3000,
};

/** `wake`: an engine to use instead of the fake (the real openWakeWord, say); `wake` in the result is then unusable. */
export async function startDirectAgent(backend: Backend, log: Logger, conversation: Record<string, unknown> = {}, engine?: WakeWord): Promise<DirectAgent> {
  const config = parseConfig({
    // The backend's own name, so its defaults (the end of listening) are the ones it runs with.
    backend: backend.name,
    audio: { mic: 'wav:unused.wav', speaker: 'wav:unused.wav', earcons: NO_EARCONS },
    conversation: { ...FAST_CONVERSATION, ...conversation },
  });
  const mic = new FakeMic();
  const speaker = new FakeSpeaker();
  const wake = new FakeWake();
  const gpio = new FakeGpio();
  const agent = await createAgent(config, { log, controlSocket: null, overrides: { backend, mic, speaker, wake: engine ?? wake, gpio } });
  await agent.start();
  return { agent, mic, speaker, wake, gpio, close: () => agent.stop() };
}

/** An MP3 like Soca's (22.05 kHz mono, ~32 kbps) of a tone, made with sox and lame. */
export function makeMp3(ms: number, hz = 440): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-mp3-'));
  try {
    const raw = path.join(dir, 'tone.raw');
    const mp3 = path.join(dir, 'tone.mp3');
    execFileSync('sox', ['-n', '-r', '22050', '-c', '1', '-b', '16', '-e', 'signed', '-t', 'raw', raw, 'synth', String(ms / 1000), 'sine', String(hz), 'vol', '0.3'], { stdio: 'ignore' });
    execFileSync('lame', ['--quiet', '-r', '-s', '22.05', '--bitwidth', '16', '--signed', '--little-endian', '-m', 'm', '-b', '32', raw, mp3], { stdio: 'ignore' });
    return readFileSync(mp3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Splits `buf` into `n` nearly equal chunks (arbitrary byte boundaries, as a network would). */
export function split(buf: Buffer, n: number): Buffer[] {
  const size = Math.ceil(buf.length / n);
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}
