/**
 * The reconnecting socket against real ws servers on loopback, its timers on a manual clock:
 * socket I/O settles by waiting on events, time moves only when a test advances it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket as ServerSocket } from 'ws';
import { ReconnectingSocket, type ReconnectingSocketOptions, type SocketDown } from '../../src/util/reconnecting-socket.js';
import { ManualScheduler } from '../fakes/clock.js';
import { closeServer, listen, until } from '../fakes/ws-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(options: { refuse?: () => number | undefined; autoPong?: boolean } = {}) {
  const refuse = options.refuse;
  const { wss, port } = await listen(refuse ? () => refuse() : undefined, { autoPong: options.autoPong });
  const sockets: ServerSocket[] = [];
  wss.on('connection', (ws) => sockets.push(ws));
  cleanups.push(() => closeServer(wss));
  return { wss, url: `ws://127.0.0.1:${port}/`, sockets };
}

function socket(url: string, options: Partial<ReconnectingSocketOptions> = {}) {
  const clock = new ManualScheduler();
  const s = new ReconnectingSocket({
    target: () => ({ url }),
    reconnectMinMs: 100,
    reconnectMaxMs: 10_000,
    authRetryMs: 60_000,
    pingIntervalMs: 60_000,
    pongTimeoutMs: 60_000,
    random: () => 0.5,
    clock,
    ...options,
  });
  const downs: SocketDown[] = [];
  let ups = 0;
  s.on('disconnected', (d) => downs.push(d));
  s.on('connected', () => ups++);
  cleanups.push(() => s.stop());
  return { s, clock, downs, connections: () => ups };
}

describe('ReconnectingSocket', () => {
  it('backs off while connections die young; one that stayed up 10 s resets the backoff', async () => {
    const { wss, url } = await server();
    let hangUp = true;
    wss.on('connection', (ws) => hangUp && ws.terminate());
    const { s, clock, downs, connections } = socket(url);
    s.start();
    const delays = [100, 200, 400, 800];
    for (const [i, delay] of delays.entries()) {
      await until(() => downs.length === i + 1, `hang-up ${i + 1}`);
      expect(downs[i]).toMatchObject({ wasConnected: true, retryInMs: delay });
      if (i < delays.length - 1) clock.advance(delay);
    }
    hangUp = false;
    clock.advance(800);
    await until(() => s.connected && connections() === 5, 'a connection that stays');
    clock.advance(10_000);
    for (const ws of wss.clients) ws.terminate();
    await until(() => downs.length === 5, 'the stable connection closing');
    expect(downs[4]).toMatchObject({ wasConnected: true, retryInMs: 100, failure: { kind: 'closed', code: 1006 } });
  });

  it('retries a refused credential after authRetryMs and marks the repeats', async () => {
    let status: number | undefined = 401;
    const { url } = await server({ refuse: () => status });
    const { s, clock, downs } = socket(url);
    s.start();
    await until(() => downs.length === 1, 'the refusal');
    expect(downs[0]).toMatchObject({ failure: { kind: 'refused', status: 401 }, auth: true, retryInMs: 60_000, repeated: false });
    clock.advance(59_999);
    expect(s.state).toBe('waiting');
    clock.advance(1);
    await until(() => downs.length === 2, 'the second refusal');
    expect(downs[1]).toMatchObject({ auth: true, repeated: true });
    status = undefined;
    clock.advance(60_000);
    await until(() => s.connected, 'connected');
    s.drop('key revoked', { auth: true });
    expect(downs[2]).toMatchObject({ failure: { kind: 'dropped', reason: 'key revoked' }, auth: true, repeated: false, retryInMs: 60_000 });
    status = 500;
    clock.advance(60_000);
    await until(() => downs.length === 4, 'an HTTP 500');
    expect(downs[3]).toMatchObject({ failure: { kind: 'refused', status: 500 }, auth: false, retryInMs: 100 });
  });

  it('an unavailable target is retried slowly without a socket', () => {
    let tries = 0;
    const { s, clock, downs } = socket('ws://unused/', { target: () => ({ unavailable: `no token (${++tries})`, auth: true }) });
    s.start();
    expect(downs).toEqual([{ failure: { kind: 'unavailable', reason: 'no token (1)' }, auth: true, retryInMs: 60_000, wasConnected: false, repeated: false }]);
    clock.advance(60_000);
    expect(downs.map((d) => d.failure)).toEqual([
      { kind: 'unavailable', reason: 'no token (1)' },
      { kind: 'unavailable', reason: 'no token (2)' },
    ]);
  });

  it('with readyTimeoutMs, connected waits for markReady(), which must come in time', async () => {
    const { url } = await server();
    const { s, clock, downs, connections } = socket(url, { readyTimeoutMs: 1000 });
    let opens = 0;
    s.on('open', () => opens++);
    s.start();
    await until(() => opens === 1, 'open');
    expect(s.state).toBe('open');
    expect(s.connected).toBe(false);
    clock.advance(1000);
    expect(downs[0]).toMatchObject({ failure: { kind: 'ready-timeout', timeoutMs: 1000 }, wasConnected: false, retryInMs: 100 });
    s.on('open', () => s.markReady());
    clock.advance(100);
    await until(() => connections() === 1, 'connected after markReady');
    clock.advance(1000);
    expect(downs).toHaveLength(1);
  });

  it('pings every interval and terminates a socket that stays silent past interval + timeout', async () => {
    const { url, sockets } = await server({ autoPong: false });
    const { s, clock, downs } = socket(url, { pingIntervalMs: 500, pongTimeoutMs: 500 });
    s.start();
    await until(() => s.connected && sockets.length === 1, 'connected');
    let pings = 0;
    sockets[0]!.on('ping', () => pings++);
    clock.advance(1000);
    await until(() => pings === 2, 'two pings at the server');
    expect(downs).toEqual([]);
    const closed = new Promise((resolve) => sockets[0]!.once('close', resolve));
    clock.advance(500);
    expect(downs[0]).toMatchObject({ failure: { kind: 'heartbeat', silentMs: 1500 }, wasConnected: true });
    await closed;
  });

  it('stop() cancels the retry, closes the socket and emits nothing', async () => {
    const { wss, url } = await server();
    const { s, clock, downs } = socket(url);
    s.start();
    await until(() => s.connected, 'connected');
    const closed = new Promise((resolve) => [...wss.clients][0]!.once('close', resolve));
    await s.stop();
    await closed;
    await s.stop();
    expect(s.state).toBe('stopped');
    expect(downs).toEqual([]);
    expect(clock.pending).toBe(0); // no heartbeat, no retry
  });

  it('stop() while waiting for a retry cancels it', async () => {
    const { s, clock, downs } = socket('ws://127.0.0.1:1/');
    s.start();
    await until(() => downs.length === 1, 'the refused connection');
    expect(downs[0]!.failure.kind).toBe('error');
    expect(clock.pending).toBe(1);
    await s.stop();
    expect(clock.pending).toBe(0);
  });

  it('asks an async target before every attempt; a refusal after the credential changed retries at once, once', async () => {
    const tokens: string[] = [];
    const { url } = await server({ refuse: () => (tokens[tokens.length - 1] === 'good' ? undefined : 401) });
    const issued = ['old', 'rotated', 'rotated-again', 'good'];
    let reads = 0;
    const { s, clock, downs } = socket(url, {
      target: async () => {
        await new Promise((r) => setTimeout(r, 1));
        const token = issued[Math.min(reads++, issued.length - 1)]!;
        tokens.push(token);
        return { url, credential: `fp-${token}` };
      },
    });
    s.start();
    expect(s.state).toBe('preparing');
    // 'old' refused -> the target is asked at once, gives 'rotated' -> tried immediately.
    await until(() => downs.length === 2, 'the quick retry refused too');
    expect(downs[0]).toMatchObject({ failure: { kind: 'refused', status: 401 }, auth: true, retryInMs: 0, repeated: false });
    // Only once: the second refusal waits authRetryMs although the next token differs again.
    expect(downs[1]).toMatchObject({ auth: true, retryInMs: 60_000, repeated: true });
    expect(tokens).toEqual(['old', 'rotated']);
    clock.advance(60_000);
    await until(() => downs.length === 3, 'the slow retry refused');
    clock.advance(60_000);
    await until(() => s.connected, 'connected with the good token');
    expect(tokens).toEqual(['old', 'rotated', 'rotated-again', 'good']);
  });

  it('a refusal with the same credential, or without a fingerprint, waits authRetryMs', async () => {
    const { url } = await server({ refuse: () => 401 });
    const same = socket(url, { target: () => ({ url, credential: 'fp-same' }) });
    same.s.start();
    await until(() => same.downs.length === 1, 'the refusal');
    expect(same.downs[0]).toMatchObject({ auth: true, retryInMs: 60_000 });
    const none = socket(url);
    none.s.start();
    await until(() => none.downs.length === 1, 'the refusal');
    expect(none.downs[0]).toMatchObject({ auth: true, retryInMs: 60_000 });
  });

  it('stop() while an async target is being built drops its result', async () => {
    const { url, sockets } = await server();
    let release!: () => void;
    const { s, downs } = socket(url, { target: () => new Promise((r) => (release = () => r({ url }))) });
    s.start();
    await s.stop();
    release();
    await new Promise((r) => setTimeout(r, 30));
    expect(sockets).toHaveLength(0);
    expect(downs).toEqual([]);
  });

  it('with reconnectAfterNormalClose off, a server close 1000 goes idle until start()', async () => {
    const { url, sockets } = await server();
    const { s, clock, downs, connections } = socket(url, { reconnectAfterNormalClose: false });
    s.start();
    await until(() => s.connected, 'connected');
    sockets[0]!.close(1000, 'session over');
    await until(() => downs.length === 1, 'the close');
    expect(downs[0]).toMatchObject({ failure: { kind: 'closed', code: 1000 }, retryInMs: -1 });
    expect(s.state).toBe('idle');
    expect(clock.pending).toBe(0);
    sockets[0]!.terminate();
    s.start();
    await until(() => connections() === 2, 'reconnected on start()');
    sockets[1]!.terminate(); // abnormal: retried with backoff as usual
    await until(() => downs.length === 2, 'the abnormal close');
    expect(downs[1]).toMatchObject({ failure: { kind: 'closed', code: 1006 }, retryInMs: 100 });
  });
});
