/**
 * The hand-built uplink frames against the real ws server, which checks what a gateway checks:
 * the mask bit, the length encodings, UTF-8, and the order of frames on the stream.
 */
import type { AddressInfo } from 'node:net';
import { Writable, type Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { MaskedTextFrames } from '../../src/gateway/ws-frames.js';

interface Pair {
  server: WebSocketServer;
  client: WebSocket;
  stream: Duplex;
  received: string[];
  peer: Promise<WebSocket>;
}

const open: Pair[] = [];

async function pair(): Promise<Pair> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 22 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const received: string[] = [];
  const peer = new Promise<WebSocket>((resolve) =>
    server.once('connection', (ws) => {
      ws.on('message', (d: Buffer, binary) => received.push(binary ? `binary:${d.length}` : d.toString('utf8')));
      resolve(ws);
    }),
  );
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false });
  let stream: Duplex | undefined;
  client.once('upgrade', (res) => (stream = res.socket));
  await new Promise<void>((r, j) => (client.once('open', () => r()), client.once('error', j)));
  const p = { server, client, stream: stream!, received, peer };
  open.push(p);
  return p;
}

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

afterEach(async () => {
  for (const p of open.splice(0)) {
    p.client.terminate();
    for (const c of p.server.clients) c.terminate();
    await new Promise<void>((r) => p.server.close(() => r()));
  }
});

const text = (n: number, seed = 0) => {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(33 + ((i * 31 + seed) % 90));
  return s;
};

describe('MaskedTextFrames', () => {
  it('every length encoding (7-bit, 16-bit, 64-bit) and every alignment arrives intact', async () => {
    const p = await pair();
    const frames = new MaskedTextFrames(64);
    const want: string[] = [];
    for (const n of [0, 1, 3, 125, 126, 127, 961, 65535, 65536, 70000]) {
      const body = Buffer.from(text(n, n));
      // Aligned payloads take the word loop, an offset view the byte loop.
      const shifted = Buffer.concat([Buffer.from('x'), body]).subarray(1);
      for (const payload of [body, shifted]) {
        frames.write(p.stream, payload);
        want.push(body.toString());
      }
    }
    await until(() => p.received.length === want.length);
    expect(p.received).toEqual(want);
  });

  it('stays in order with frames the library sends on the same stream', async () => {
    const p = await pair();
    const frames = new MaskedTextFrames();
    for (let i = 0; i < 20; i++) {
      frames.write(p.stream, Buffer.from(`{"n":${i},"by":"frames"}`));
      p.client.send(`{"n":${i},"by":"ws"}`);
    }
    await until(() => p.received.length === 40);
    expect(p.received.map((m) => (JSON.parse(m) as { n: number }).n)).toEqual(Array.from({ length: 40 }, (_, k) => k >> 1));
  });

  it('a stream that is buffering keeps its frames: the next one goes into a fresh buffer', async () => {
    // A stream that finishes each write later, as a socket does once the kernel's buffer is full.
    const got: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 4096,
      write(chunk: Buffer, _enc, done) {
        setTimeout(() => (got.push(Buffer.from(chunk)), done()), 1);
      },
    });
    const frames = new MaskedTextFrames();
    const want: string[] = [];
    for (let i = 0; i < 50; i++) {
      const body = `{"i":${i},"pad":"${text(900, i)}"}`;
      frames.write(slow, Buffer.from(body));
      want.push(body);
    }
    await until(() => got.length === 50);
    // Unmask what the stream was handed, frame by frame (16-bit lengths, mask at bytes 4-7).
    const bodies = got.map((f) => {
      const n = f.readUInt16BE(2);
      const mask = f.subarray(4, 8);
      return Buffer.from(f.subarray(8, 8 + n).map((b, k) => b ^ mask[k & 3]!)).toString();
    });
    expect(bodies).toEqual(want);
  });

  it('through a real socket that stops being read, every frame arrives once it reads again', async () => {
    const p = await pair();
    const peer = await p.peer;
    const raw = (peer as unknown as { _socket: Duplex })._socket;
    raw.pause();
    const frames = new MaskedTextFrames();
    const want: string[] = [];
    let queued = 0;
    for (let i = 0; i < 20_000 && queued < 50; i++) {
      const body = `{"i":${i},"pad":"${text(900, i)}"}`;
      frames.write(p.stream, Buffer.from(body));
      want.push(body);
      if (p.stream.writableLength > 0) queued++;
    }
    expect(queued).toBeGreaterThan(0);
    raw.resume();
    await until(() => p.received.length === want.length, 20_000);
    expect(p.received).toEqual(want);
  });

  it('the mask changes from frame to frame', async () => {
    const p = await pair();
    const seen: Buffer[] = [];
    const frames = new MaskedTextFrames();
    const capture = { write: (b: Buffer) => (seen.push(Buffer.from(b)), true), writableLength: 0 } as unknown as Duplex;
    for (let i = 0; i < 8; i++) frames.write(capture, Buffer.from('{"same":"payload"}'));
    const masks = new Set(seen.map((f) => f.subarray(2, 6).toString('hex')));
    expect(masks.size).toBe(8);
    expect(seen.every((f) => f[0] === 0x81 && (f[1]! & 0x80) !== 0)).toBe(true);
    // And the same bytes sent for real decode to the payload.
    frames.write(p.stream, Buffer.from('{"same":"payload"}'));
    await until(() => p.received.length === 1);
    expect(p.received[0]).toBe('{"same":"payload"}');
  });
});
