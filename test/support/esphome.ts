/**
 * Set-up for the esphome backend tests: the backend on loopback port 0 (mDNS off), optionally
 * inside the real agent with fake hardware, and a local HTTP server for reply audio (Home
 * Assistant's TTS and media URLs).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { EsphomeBackend } from '../../src/backends/esphome/backend.js';
import type { Identity } from '../../src/backends/esphome/identity.js';
import { ConfigSchema, type EsphomeConfig } from '../../src/config/schema.js';
import { wavHeader } from '../../src/audio/wav.js';
import { memoryLogger } from '../../src/log/logger.js';
import type { Scheduler } from '../../src/util/clock.js';
import type { WakeWord } from '../../src/ports/wake-word.js';
import { startDirectAgent, type DirectAgent } from './direct-agent.js';

/** A fixed test key (base64 of 32 bytes), as Home Assistant would hold it. */
export const KEY_B64 = Buffer.alloc(32, 7).toString('base64');
export const OTHER_KEY_B64 = Buffer.alloc(32, 9).toString('base64');
export const IDENTITY: Identity = { name: 'test-speaker', friendlyName: 'Test Speaker', mac: 'AA:BB:CC:00:11:22', compactMac: 'aabbcc001122' };

export interface EsphomeSetup {
  backend: EsphomeBackend;
  log: ReturnType<typeof memoryLogger>;
  agent?: DirectAgent;
  close(): Promise<void>;
}

export async function startEsphome(opts: { key?: string; config?: Partial<EsphomeConfig>; clock?: Scheduler; agent?: boolean; preferencesFile?: string; wake?: WakeWord } = {}): Promise<EsphomeSetup> {
  const log = memoryLogger('debug');
  const config = { ...ConfigSchema.parse({ backend: 'esphome', esphome: { port: 0, mdns: false } }).esphome, ...opts.config };
  const backend = new EsphomeBackend({
    config,
    psk: opts.key ? Buffer.from(opts.key, 'base64') : undefined,
    identity: IDENTITY,
    version: '0.1.0-test',
    log: log.logger,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.preferencesFile ? { preferencesFile: opts.preferencesFile } : {}),
  });
  let agent: DirectAgent | undefined;
  if (opts.agent) {
    agent = await startDirectAgent(backend, log.logger, {}, opts.wake);
    agent.speaker.autoDrain = true;
  } else {
    await backend.start();
  }
  return {
    backend,
    log,
    ...(agent ? { agent } : {}),
    async close() {
      if (agent) await agent.close();
      else await backend.stop();
    },
  };
}

/** A 16 kHz mono PCM tone (deterministic, easy to find in what the speaker got). */
export function tone(ms: number, value = 2000): Buffer {
  const n = Math.round((ms * 16000) / 1000);
  const pcm = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) pcm.writeInt16LE(i % 2 ? value : -value, i * 2);
  return pcm;
}

export function wav(pcm: Buffer): Buffer {
  return Buffer.concat([wavHeader({ sampleRate: 16000, channels: 1 }, pcm.length), pcm]);
}

export interface ReplyServer {
  url(path: string): string;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves `routes` (path -> body and content type), in two chunks each, as TTS proxies stream. */
export async function startReplyServer(routes: Record<string, { body: Buffer; type: string }>): Promise<ReplyServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(path);
    const r = routes[path];
    if (!r) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': r.type });
    const half = Math.floor(r.body.length / 2);
    res.write(r.body.subarray(0, half));
    setTimeout(() => res.end(r.body.subarray(half)), 20);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Everything the fake speaker was given, as one buffer. */
export function played(agent: DirectAgent): Buffer {
  return Buffer.concat(agent.speaker.writes.map((w) => w.pcm));
}

/** 16-bit PCM encoded as FLAC by sox (a real encoder), at `rate` with `channels`. */
export function soxFlac(pcm: Buffer, rate: number, channels: number): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-flac-'));
  try {
    const raw = path.join(dir, 'in.raw');
    const out = path.join(dir, 'out.flac');
    writeFileSync(raw, pcm);
    execFileSync('sox', ['-t', 'raw', '-r', String(rate), '-c', String(channels), '-b', '16', '-e', 'signed', raw, out], { stdio: 'ignore' });
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
