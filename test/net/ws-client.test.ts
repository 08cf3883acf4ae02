/**
 * The agent's WebSocket client (src/net/ws-client.ts) against the `ws` library's real server
 * (the RFC's behaviour) and against a raw TCP server that breaks the protocol on purpose.
 */
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { WsClient } from '../../src/net/ws-client.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function wsServer(options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{ url: string; peer: Promise<WebSocket>; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await new Promise((r) => wss.once('listening', r));
  closers.push(() => wss.close());
  const peer = new Promise<WebSocket>((r) => wss.once('connection', r));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/path?q=1`, peer, wss };
}

/** A TCP server that answers the upgrade with `respond(key)` and then writes `after` (raw bytes, or pieces 30 ms apart). */
async function rawServer(respond: (key: string) => string, after?: Buffer | Buffer[]): Promise<{ url: string; received: Promise<Buffer> }> {
  let got: (b: Buffer) => void = () => undefined;
  const received = new Promise<Buffer>((r) => (got = r));
  // Half-open: the server keeps writing after the client has ended its side.
  const server: Server = createServer({ allowHalfOpen: true }, (s: Socket) => {
    let head = Buffer.alloc(0);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => {
      if (head !== undefined && !head.includes('\r\n\r\n')) {
        head = Buffer.concat([head, d]);
        const m = /Sec-WebSocket-Key: (\S+)/i.exec(head.toString());
        if (head.includes('\r\n\r\n') && m) {
          s.write(respond(m[1]!));
          // Several pieces arrive 30 ms apart, each in its own read.
          const pieces = after === undefined ? [] : Array.isArray(after) ? after : [after];
          pieces.forEach((p, i) => setTimeout(() => s.writable && s.write(p), 30 * i));
          setTimeout(() => s.end(), 30 * pieces.length);
        }
        return;
      }
      chunks.push(d);
      got(Buffer.concat(chunks));
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => server.close());
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, received };
}

const accept = (key: string) => createHash('sha1').update(key + GUID).digest('base64');
const ok = (key: string) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(key)}\r\n\r\n`;

function events(c: WsClient): { log: string[]; closed: Promise<[number, string]>; errors: Error[] } {
  const log: string[] = [];
  const errors: Error[] = [];
  c.on('open', () => log.push('open'));
  c.on('error', (e) => (errors.push(e), log.push(`error ${e.message}`)));
  const closed = new Promise<[number, string]>((r) => c.on('close', (code, reason) => (log.push(`close ${code}`), r([code, reason.toString()]))));
  return { log, closed, errors };
}

describe('WsClient', () => {
  it('opens with the headers asked for, exchanges text and binary both ways, and closes with the code', async () => {
    const { url, peer, wss } = await wsServer();
    let request: { url?: string; auth?: string; host?: string } = {};
    wss.on('connection', (_ws, req) => (request = { url: req.url, auth: req.headers.authorization, host: req.headers.host }));
    const c = new WsClient(url, { headers: { Authorization: 'Bearer t0ken' } });
    const e = events(c);
    const messages: [string, boolean][] = [];
    c.on('message', (d, binary) => messages.push([d.toString('hex'), binary]));
    const p = await peer;
    await new Promise<void>((r) => c.once('open', () => r()));
    expect(c.readyState).toBe(WsClient.OPEN);
    expect(request).toEqual({ url: '/path?q=1', auth: 'Bearer t0ken', host: new URL(url).host });
    const atServer: [string, boolean][] = [];
    p.on('message', (d: Buffer, binary) => atServer.push([d.toString(), binary]));
    c.send('{"a":1}');
    c.send(Buffer.from([1, 2, 3]));
    c.send('x'.repeat(70_000), { binary: false });
    p.send('héllo');
    p.send(Buffer.from([9, 8]));
    await expect.poll(() => atServer.length).toBe(3);
    await expect.poll(() => messages.length).toBe(2);
    expect(atServer[0]).toEqual(['{"a":1}', false]);
    expect(atServer[1]).toEqual(['\u0001\u0002\u0003', true]);
    expect(atServer[2]![0]).toHaveLength(70_000);
    expect(messages).toEqual([[Buffer.from('héllo').toString('hex'), false], ['0908', true]]);
    const serverClose = new Promise<[number, string]>((r) => p.once('close', (code, reason) => r([code, reason.toString()])));
    c.close(1000, 'bye');
    expect(await serverClose).toEqual([1000, 'bye']);
    expect(await e.closed).toEqual([1000, 'bye']); // ws's server echoes the code and the reason
    expect(e.errors).toEqual([]);
    expect(c.readyState).toBe(WsClient.CLOSED);
  });

  it('joins fragmented messages, answers pings with pongs, and reports the server close code and reason', async () => {
    const { url, peer } = await wsServer();
    const c = new WsClient(url);
    const e = events(c);
    const messages: string[] = [];
    c.on('message', (d) => messages.push(d.toString()));
    const pings: string[] = [];
    c.on('ping', (d) => pings.push(d.toString()));
    const p = await peer;
    await new Promise<void>((r) => c.once('open', () => r()));
    p.send('one ', { fin: false });
    p.ping('are you there');
    p.send('two ', { fin: false });
    p.send('three', { fin: true });
    const pong = await new Promise<string>((r) => p.once('pong', (d: Buffer) => r(d.toString())));
    expect(pong).toBe('are you there');
    await expect.poll(() => messages).toEqual(['one two three']);
    expect(pings).toEqual(['are you there']);
    // Our ping comes back as a pong.
    const ponged = new Promise<string>((r) => c.on('pong', (d) => r(d.toString())));
    c.ping(Buffer.from('hb'));
    expect(await ponged).toBe('hb');
    p.close(4001, 'go away');
    expect(await e.closed).toEqual([4001, 'go away']);
    expect(e.errors).toEqual([]);
  });

  it('refuses a message over maxPayload with 1009, and invalid UTF-8 text with 1007', async () => {
    for (const [send, code, message] of [
      [(p: WebSocket) => p.send('y'.repeat(2000)), 1009, 'Max payload size exceeded'],
      [(p: WebSocket) => p.send(Buffer.from([0xc3, 0x28]), { binary: false }), 1007, 'Invalid WebSocket frame: invalid UTF-8 sequence'],
    ] as const) {
      const { url, peer } = await wsServer();
      const c = new WsClient(url, { maxPayload: 1000 });
      const e = events(c);
      const p = await peer;
      await new Promise<void>((r) => c.once('open', () => r()));
      const serverSaw = new Promise<number>((r) => p.once('close', (code: number) => r(code)));
      send(p);
      expect((await e.closed)[0]).toBe(code);
      expect(await serverSaw).toBe(code);
      expect(e.errors.map((x) => x.message)).toEqual([message]);
    }
  });

  it('a server that breaks the protocol: wrong accept, extensions, masked or reserved-bit frames, a bad close code', async () => {
    const cases: [(key: string) => string, Buffer | Buffer[] | undefined, RegExp][] = [
      [(k) => ok(k).replace(accept(k), 'AAAA'), undefined, /^Invalid Sec-WebSocket-Accept header$/],
      [(k) => ok(k).replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n'), undefined, /no extension was requested/],
      [(k) => ok(k).replace('Upgrade: websocket', 'Upgrade: h2c'), undefined, /^Invalid Upgrade header$/],
      [ok, Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0, 0]), /MASK must be clear/],
      [ok, Buffer.from([0xc1, 0x01, 0x41]), /RSV1, RSV2 and RSV3 must be clear/],
      [ok, Buffer.from([0x88, 0x02, 0x03, 0xed]), /invalid status code 1005/],
      [ok, Buffer.from([0x80, 0x01, 0x41]), /a continuation frame with nothing to continue/],
      [ok, Buffer.from([0x83, 0x00]), /invalid opcode 3/],
      [ok, Buffer.from([0x09, 0x00]), /a control frame must be final/],
      // After a violation nothing more is read: one error, not one per bad frame.
      [ok, [Buffer.from([0x83, 0x00]), Buffer.from([0x84, 0x00]), Buffer.from([0xc1, 0x00])], /invalid opcode 3/],
    ];
    for (const [respond, after, error] of cases) {
      const { url } = await rawServer(respond, after);
      const c = new WsClient(url);
      const e = events(c);
      await e.closed;
      expect(e.errors.map((x) => x.message)).toEqual([expect.stringMatching(error)]);
    }
  });

  it('an HTTP refusal goes to unexpected-response with its status, or is an error without a listener', async () => {
    const { url } = await rawServer(() => 'HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    const c = new WsClient(url);
    const status = new Promise<number>((r) => c.on('unexpected-response', (_req, res) => r(res.statusCode)));
    c.on('error', () => undefined);
    expect(await status).toBe(401);
    c.terminate();
    const d = new WsClient(url);
    const e = events(d);
    await e.closed;
    expect(e.log).toEqual(['error Unexpected server response: 401', 'close 1006']);
  });

  it('a handshake that never comes times out; a refused port is an error then a close; terminate cuts an open socket', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    closers.push(() => silent.close());
    const t0 = Date.now();
    const c = new WsClient(`ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`, { handshakeTimeout: 150 });
    const e = events(c);
    await e.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(e.log).toEqual(['error Opening handshake has timed out', 'close 1006']);

    const port = (silent.address() as AddressInfo).port;
    silent.close();
    await new Promise((r) => setTimeout(r, 20));
    const refused = new WsClient(`ws://127.0.0.1:${port}/`);
    const r = events(refused);
    await r.closed;
    expect(r.log[0]).toMatch(/^error connect ECONNREFUSED/);
    expect(r.log[1]).toBe('close 1006');

    const { url, peer } = await wsServer();
    const open = new WsClient(url);
    const o = events(open);
    await peer;
    await new Promise<void>((res) => open.once('open', () => res()));
    open.terminate();
    expect((await o.closed)[0]).toBe(1006);
    expect(o.errors).toEqual([]);
  });

  it('refuses a bad URL or header before any I/O', () => {
    expect(() => new WsClient('http://127.0.0.1/')).toThrow(/protocol must be one of "ws:" or "wss:"/);
    expect(() => new WsClient('ws://127.0.0.1/#x')).toThrow(/fragment/);
    expect(() => new WsClient('not a url')).toThrow();
    expect(() => new WsClient('ws://127.0.0.1:1/', { headers: { Authorization: 'Bearer a\r\nX-Evil: 1' } })).toThrow(/^Invalid header "Authorization"/);
  });
});
