/** The gateway client against raw ws servers on loopback: what goes on the wire, heartbeat, backoff. */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseConfig } from '../../src/config/load.js';
import { Backoff } from '../../src/util/backoff.js';
import { GatewayClient } from '../../src/gateway/client.js';
import { memoryLogger } from '../../src/log/logger.js';
import type { Scheduler } from '../../src/util/clock.js';
import { ManualScheduler } from '../fakes/clock.js';
import { waitFor } from '../support/harness.js';

const servers: WebSocketServer[] = [];
const clients: GatewayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  for (const s of servers.splice(0)) {
    for (const ws of s.clients) ws.terminate();
    await new Promise((r) => s.close(r));
  }
});

async function server(options: { autoPong?: boolean } = {}) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  servers.push(wss);
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  const requests: IncomingMessage[] = [];
  const messages: Record<string, unknown>[] = [];
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws, req) => {
    requests.push(req);
    sockets.push(ws);
    ws.on('message', (d, bin) => {
      if (!bin) messages.push(JSON.parse(d.toString()) as Record<string, unknown>);
    });
  });
  return { wss, port, requests, messages, sockets };
}

function client(port: number, gateway: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}, clock?: Scheduler) {
  const config = parseConfig({ gateway: { url: `ws://127.0.0.1:${port}/v1/audio`, reconnectMinMs: 50, reconnectMaxMs: 200, ...gateway } });
  const mem = memoryLogger();
  const c = new GatewayClient(config.gateway, mem.logger, { env, clock });
  clients.push(c);
  return { c, mem };
}

describe('connecting', () => {
  it('sends the bearer token, extra headers and query parameters, then tts_options and location (stt_options waits for the first turn)', async () => {
    const s = await server();
    const { c, mem } = client(
      s.port,
      {
        headers: { tenantid: 'acme' },
        query: { skillset: 'home', language: 'en-US' },
        sttOptions: { engine: 'watson', content_type: 'audio/l16; rate=16000; channels=1' },
        ttsOptions: { voice: 'x' },
        location: { latitude: 45.4, longitude: -123 },
        tokenEnv: 'MY_TOKEN',
      },
      { MY_TOKEN: 'sekrit-token-value' },
    );
    await c.start();
    await waitFor(() => s.messages.length >= 2, 'the on-connect messages');
    const req = s.requests[0]!;
    expect(req.headers.authorization).toBe('Bearer sekrit-token-value');
    expect(req.headers.tenantid).toBe('acme');
    const url = new URL(req.url!, 'ws://x');
    expect(url.pathname).toBe('/v1/audio');
    expect(url.searchParams.get('skillset')).toBe('home');
    expect(url.searchParams.get('language')).toBe('en-US');
    expect(s.messages.map((m) => m.action)).toEqual(['tts_options', 'location']);
    expect(s.messages[1]!.location).toEqual({ latitude: 45.4, longitude: -123 });
    expect(typeof s.messages[0]!.id).toBe('string');
    c.beginTurn('t1');
    await waitFor(() => s.messages.length >= 4, 'the first turn');
    expect(s.messages.slice(2).map((m) => [m.action, m.id])).toEqual([['stt_options', 't1'], ['audio_start', 't1']]);
    expect(s.messages[2]!.options).toEqual({ engine: 'watson', content_type: 'audio/l16; rate=16000; channels=1' });
    expect(mem.text()).not.toContain('sekrit-token-value');
    expect(c.connected).toBe(true);
  });

  it('reads the token from $CREDENTIALS_DIRECTORY/gateway-token under systemd', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-cred-'));
    fs.writeFileSync(path.join(dir, 'gateway-token'), 'cred-token-123\n');
    const s = await server();
    const { c } = client(s.port, {}, { CREDENTIALS_DIRECTORY: dir });
    await c.start();
    await waitFor(() => s.requests.length > 0, 'connection');
    expect(s.requests[0]!.headers.authorization).toBe('Bearer cred-token-123');
  });

  it('refuses to start a turn while disconnected, with a clear error', async () => {
    const { c } = client(1); // nothing listens on port 1
    await c.start();
    expect(() => c.beginTurn('t1')).toThrow(/not connected to the gateway/);
  });

  it('an unreadable CA file is reported and retried, never bypassed', async () => {
    const { c, mem } = client(1, { url: 'wss://127.0.0.1:1/', caFile: '/nonexistent/ca.pem' });
    await c.start();
    await waitFor(() => mem.text().includes('ca-file-unreadable'), 'CA error');
    expect(c.connected).toBe(false);
  });
});

describe('turns on the wire', () => {
  it('audio_start with stt options, audio_data re-chunked to frameMs, audio_end after the rest', async () => {
    const s = await server();
    const { c } = client(s.port, { frameMs: 100 });
    await c.start();
    await waitFor(() => c.connected, 'connected');
    c.beginTurn('t1', { stt: { model: 'digits' } });
    c.sendAudio('t1', new Int16Array(2000).fill(7)); // 125 ms
    c.sendAudio('t1', new Int16Array(1000).fill(8)); // 62.5 ms
    c.endTurn('t1');
    c.endTurn('t1'); // a second end is a no-op
    await waitFor(() => s.messages.some((m) => m.action === 'audio_end'), 'audio_end');
    const acts = s.messages.map((m) => m.action);
    expect(acts).toEqual(['audio_start', 'audio_data', 'audio_end'].flatMap((a) => (a === 'audio_data' ? [a, a] : [a])));
    expect(s.messages[0]).toEqual({ id: 't1', action: 'audio_start', options: { stt: { model: 'digits' } } });
    const sizes = s.messages.filter((m) => m.action === 'audio_data').map((m) => Buffer.from(m.data as string, 'base64').length);
    expect(sizes).toEqual([3200, 2800]);
    expect(s.messages[1]!.encoding).toBe('base64');
  });

  it('frames of exactly frameMs go out as they are, and a frame after a partial one is still re-chunked', async () => {
    const s = await server();
    const { c } = client(s.port, { frameMs: 20 });
    await c.start();
    await waitFor(() => c.connected, 'connected');
    c.beginTurn('t1');
    for (let i = 0; i < 3; i++) c.sendAudio('t1', new Int16Array(320).fill(i + 1));
    c.sendAudio('t1', new Int16Array(100).fill(9));
    c.sendAudio('t1', new Int16Array(320).fill(4));
    c.endTurn('t1');
    await waitFor(() => s.messages.some((m) => m.action === 'audio_end'), 'audio_end');
    const frames = s.messages
      .filter((m) => m.action === 'audio_data')
      .map((m) => Array.from(new Int16Array(new Uint8Array(Buffer.from(m.data as string, 'base64')).buffer)));
    expect(frames.map((f) => f.length)).toEqual([320, 320, 320, 320, 100]);
    expect(frames.slice(0, 3).map((f) => new Set(f))).toEqual([new Set([1]), new Set([2]), new Set([3])]);
    // The partial 100 samples lead the next frame, topped up from the following 320.
    expect(frames[3]!.slice(98, 102)).toEqual([9, 9, 4, 4]);
    expect(new Set(frames[4])).toEqual(new Set([4]));
  });
});

describe('audio over TLS', () => {
  it('wss:// with gateway.caFile: the hand-framed audio_data go through TLS intact, between ws-sent messages', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-tls-'));
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=speaker-agent-test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    const tls = https.createServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) });
    const wss = new WebSocketServer({ server: tls });
    servers.push(wss);
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
    const messages: Record<string, unknown>[] = [];
    wss.on('connection', (ws) => ws.on('message', (d, bin) => bin || messages.push(JSON.parse(d.toString()) as Record<string, unknown>)));
    try {
      const { c } = client(0, { url: `wss://127.0.0.1:${(tls.address() as AddressInfo).port}/`, caFile: certFile, frameMs: 20 });
      await c.start();
      await waitFor(() => c.connected, 'connected');
      c.beginTurn('t1');
      for (let i = 0; i < 50; i++) c.sendAudio('t1', new Int16Array(320).fill(i));
      c.endTurn('t1');
      await waitFor(() => messages.some((m) => m.action === 'audio_end'), 'audio_end');
      expect(messages.map((m) => m.action)).toEqual(['audio_start', ...Array<string>(50).fill('audio_data'), 'audio_end']);
      const firsts = messages.filter((m) => m.action === 'audio_data').map((m) => new Int16Array(new Uint8Array(Buffer.from(m.data as string, 'base64')).buffer)[319]);
      expect(firsts).toEqual(Array.from({ length: 50 }, (_, i) => i));
    } finally {
      tls.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('heartbeat and reconnect', () => {
  it('terminates a connection whose pongs stop, and reconnects', async () => {
    const clock = new ManualScheduler();
    const s = await server({ autoPong: false });
    const { c, mem } = client(s.port, { pingIntervalMs: 500, pongTimeoutMs: 500 }, {}, clock);
    await c.start();
    await waitFor(() => c.connected, 'connected');
    clock.advance(1000); // two pings, both unanswered
    expect(mem.text()).not.toContain('heartbeat-timeout');
    clock.advance(500); // silent for more than interval + timeout
    await waitFor(() => mem.text().includes('heartbeat-timeout'), 'heartbeat timeout', 4000);
    clock.advance(200); // reconnectMaxMs: the retry is due
    await waitFor(() => s.requests.length >= 2, 'reconnect', 3000);
  });

  it('backoff doubles from the minimum to the cap with +-50 % jitter', () => {
    const mid = new Backoff(250, 64_000, () => 0.5);
    expect(Array.from({ length: 10 }, () => mid.next())).toEqual([250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 64000]);
    const low = new Backoff(250, 64_000, () => 0);
    expect(low.next()).toBe(125);
    const high = new Backoff(250, 64_000, () => 0.999);
    expect(high.next()).toBeLessThanOrEqual(375);
    mid.reset();
    expect(mid.next()).toBe(250);
  });

  it('keeps retrying with growing delays while the gateway is down', async () => {
    const clock = new ManualScheduler();
    const { c, mem } = client(1, { reconnectMinMs: 20, reconnectMaxMs: 10_000 }, {}, clock);
    const failures = () => mem.lines().filter((l) => l.event === 'disconnected').length;
    await c.start();
    for (let n = 1; n < 4; n++) {
      await waitFor(() => failures() >= n, `failure ${n}`);
      clock.advance(10_000); // the retry is due
    }
    await waitFor(() => mem.lines().filter((l) => l.event === 'disconnected').length >= 4, 'four failures', 4000);
    const delays = mem.lines().filter((l) => l.event === 'disconnected').map((l) => l.retryInMs as number);
    // Each base doubles; with +-50 % jitter the fourth is always above the first's maximum.
    expect(delays[3]!).toBeGreaterThan(30);
  });
});
