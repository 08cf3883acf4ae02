/**
 * Test harness: the real agent (session, gateway client over real ws, control socket) against
 * the bundled local gateway on loopback port 0, with scriptable fakes for the hardware.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAgent, type Agent } from '../../src/agent.js';
import { concatPcm } from '../../src/audio/pcm.js';
import { deepMerge, parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { Phase } from '../../src/core/state.js';
import { FakeGpio, FakeMic, FakeSpeaker, FakeWake } from '../fakes/index.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { LocalGateway, type LocalGatewayOptions } from '../../src/local-gateway/server.js';
import type { Scheduler } from '../../src/util/clock.js';
import type { AudioInput } from '../../src/ports/audio-input.js';


export interface Harness {
  agent: Agent;
  gw: LocalGateway;
  mic: FakeMic;
  speaker: FakeSpeaker;
  wake: FakeWake;
  gpio: FakeGpio;
  dir: string;
  socket: string;
  logText(): string;
  logLines(): Record<string, unknown>[];
  close(): Promise<void>;
}

/** No earcons: tests count the speaker's streams (earcons have their own tests). */
export const NO_EARCONS = { wake: 'off', done: 'off', error: 'off', disconnected: 'off' } as const;

/** Short timeouts so tests run quickly; each test overrides what it exercises. */
export const FAST: ConfigInput = {
  gateway: { reconnectMinMs: 50, reconnectMaxMs: 400, pingIntervalMs: 1000, pongTimeoutMs: 1000, authRetryMs: 1000 },
  audio: { mic: 'wav:unused.wav', speaker: 'wav:unused.wav', earcons: NO_EARCONS },
  conversation: { noSpeechTimeoutMs: 3000, maxUtteranceMs: 8000, thinkingTimeoutMs: 5000, settleMs: 50, expectSpeechTimeoutMs: 3000 },
};

/** `clock`: the session's clock (a ManualScheduler for timeout tests); default the system clock. */
/** `mic`: a real input driver instead of the FakeMic (then `harness.mic` is an unused FakeMic). */
export async function startHarness(opts: { gateway?: Partial<LocalGatewayOptions>; config?: ConfigInput; gw?: LocalGateway; clock?: Scheduler; mic?: AudioInput } = {}): Promise<Harness> {
  const gw = opts.gw ?? new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0, ...opts.gateway });
  if (!opts.gw) await gw.start();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-test-'));
  const socket = path.join(dir, 'control.sock');
  const config = parseConfig(deepMerge(deepMerge(FAST as Record<string, unknown>, { gateway: { url: gw.url }, control: { socket } }), (opts.config ?? {}) as Record<string, unknown>));
  const mem = memoryLogger('debug');
  const mic = opts.mic instanceof FakeMic ? opts.mic : new FakeMic();
  const speaker = new FakeSpeaker();
  const wake = new FakeWake();
  const gpio = new FakeGpio();
  const agent = await createAgent(config, { log: mem.logger, controlSocket: socket, overrides: { mic: opts.mic ?? mic, speaker, wake, gpio, ...(opts.clock ? { clock: opts.clock } : {}) } });
  await agent.start();
  return {
    agent,
    gw,
    mic,
    speaker,
    wake,
    gpio,
    dir,
    socket,
    logText: mem.text,
    logLines: mem.lines,
    async close() {
      await agent.stop();
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function phase(h: Harness): Phase['kind'] {
  return h.agent.session.state.phase.kind;
}

export async function waitPhase(h: Harness, kind: Phase['kind'], timeoutMs = 5000): Promise<void> {
  await waitFor(() => phase(h) === kind, `phase ${kind} (now ${phase(h)})`, timeoutMs);
}

export async function connected(h: Harness): Promise<void> {
  await waitFor(() => h.agent.session.state.connected, 'connected');
}

/** Speech-like test signal: deterministic noise at about -20 dBFS. */
export function speech(ms: number, seed = 1): Int16Array {
  const n = Math.round((ms * 16000) / 1000);
  const out = new Int16Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = ((x % 6000) - 3000) * 1.1;
  }
  return out;
}

export function silence(ms: number): Int16Array {
  return new Int16Array(Math.round((ms * 16000) / 1000));
}

/** A constant marker signal, easy to recognise in what the gateway received. */
export function marker(ms: number, value = 1234): Int16Array {
  return new Int16Array(Math.round((ms * 16000) / 1000)).fill(value);
}

/** All PCM the gateway received for a turn, concatenated. */
export function received(gw: LocalGateway, id: string): Int16Array {
  return concatPcm(gw.audio.get(id) ?? []);
}
