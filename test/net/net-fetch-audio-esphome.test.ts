/** src/net/fetch-audio.ts against a local HTTP server: formats, limits, stalls, redirects, abort. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchAudio } from '../../src/net/fetch-audio.js';
import type { ReplyFormat } from '../../src/ports/backend.js';
import { soxFlac, tone, wav } from '../support/esphome.js';

let servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  servers = [];
});

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function sink() {
  const got = { format: undefined as ReplyFormat | undefined, chunks: [] as Buffer[], ended: false };
  return {
    got,
    sink: { start: (f: ReplyFormat) => (got.format = f), data: (c: Buffer) => got.chunks.push(c), end: () => (got.ended = true) },
  };
}

const OPTS = { timeoutMs: 2000, maxBytes: 1024 * 1024 };

describe('fetchAudio', () => {
  it('unwraps a WAV streamed in small pieces into PCM of its own rate, from the first chunk on', async () => {
    const pcm = tone(200);
    const body = Buffer.concat([wav(pcm).subarray(0, 44), pcm]);
    body.writeUInt32LE(24000, 24); // a 24 kHz reply
    body.writeUInt32LE(48000, 28);
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav' });
      let o = 0;
      const step = () => {
        if (o >= body.length) return void res.end();
        res.write(body.subarray(o, (o += 30)));
        setImmediate(step);
      };
      step();
    });
    const s = sink();
    await fetchAudio(`${url}/a.wav?token=secret`, s.sink, OPTS);
    expect(s.got.format).toEqual({ codec: 'pcm', sampleRate: 24000, channels: 1 });
    expect(Buffer.concat(s.got.chunks)).toEqual(pcm);
    expect(s.got.ended).toBe(true);
  });

  it('passes MP3 through for the player to decode', async () => {
    const mp3 = Buffer.concat([Buffer.from('ID3'), Buffer.alloc(50, 1)]);
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(mp3);
    });
    const s = sink();
    await fetchAudio(`${url}/a.mp3`, s.sink, OPTS);
    expect(s.got.format).toEqual({ codec: 'mp3' });
    expect(Buffer.concat(s.got.chunks)).toEqual(mp3);
  });

  it('decodes FLAC (made by sox) as it arrives in small pieces, by Content-Type or by its first bytes, to the exact PCM', async () => {
    const pcm = tone(700);
    const flac = soxFlac(pcm, 16000, 1);
    const stereo = Buffer.alloc(pcm.length * 2);
    for (let i = 0; i < pcm.length / 2; i++) {
      stereo.writeInt16LE(pcm.readInt16LE(i * 2), i * 4);
      stereo.writeInt16LE(-pcm.readInt16LE(i * 2), i * 4 + 2);
    }
    const flac2 = soxFlac(stereo, 22050, 2);
    let firstAt = 0;
    const url = await serve((req, res) => {
      const body = req.url === '/b.flac' ? flac2 : flac;
      res.writeHead(200, { 'content-type': req.url === '/sniffed' ? 'application/octet-stream' : 'audio/flac' });
      let o = 0;
      const step = () => {
        if (o >= body.length) return void res.end();
        res.write(body.subarray(o, (o += 333)));
        setTimeout(step, 2);
      };
      step();
    });
    for (const path of ['/a.flac', '/sniffed']) {
      const s = sink();
      const data = s.sink.data;
      s.sink.data = (c: Buffer) => {
        if (s.got.chunks.length === 0) firstAt = Date.now();
        return data(c);
      };
      const t0 = Date.now();
      await fetchAudio(`${url}${path}`, s.sink, OPTS);
      expect(s.got.format).toEqual({ codec: 'pcm', sampleRate: 16000, channels: 1 });
      expect(Buffer.concat(s.got.chunks)).toEqual(pcm);
      expect(s.got.ended).toBe(true);
      // Decoded as it arrives: PCM came before the whole body (about 2 ms per 333 bytes) had.
      expect(s.got.chunks.length).toBeGreaterThan(1);
      expect(firstAt - t0).toBeLessThan(Date.now() - t0);
    }
    const s2 = sink();
    await fetchAudio(`${url}/b.flac`, s2.sink, OPTS);
    expect(s2.got.format).toEqual({ codec: 'pcm', sampleRate: 22050, channels: 2 });
    expect(Buffer.concat(s2.got.chunks)).toEqual(stereo);
  });

  it('refuses a FLAC body that does not decode, with the reason, and never ends the sink', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/flac' });
      res.end(Buffer.concat([Buffer.from('fLaC'), Buffer.alloc(400, 0x55)]));
    });
    const s = sink();
    await expect(fetchAudio(`${url}/bad.flac?sig=SECRET`, s.sink, OPTS)).rejects.toThrow(/\/bad\.flac: .*FLAC/);
    expect(s.got.ended).toBe(false);
  });

  it('fails clearly on HTTP errors, bodies over the limit, stalls and non-http URLs; never shows the query', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'audio/wav' });
        res.end(wav(tone(1000)));
      } else if (req.url?.startsWith('/stall')) {
        res.writeHead(200, { 'content-type': 'audio/wav' });
        res.write(wav(tone(10)));
      } else res.writeHead(404).end();
    });
    await expect(fetchAudio(`${url}/nope?token=abc`, sink().sink, OPTS)).rejects.toThrow(/^cannot fetch reply audio from http:\/\/127\.0\.0\.1:\d+\/nope: HTTP 404$/);
    await expect(fetchAudio(`${url}/big`, sink().sink, { ...OPTS, maxBytes: 10_000 })).rejects.toThrow(/more than the 10000 allowed|larger than the 10000 bytes allowed/);
    const s = sink();
    await expect(fetchAudio(`${url}/stall?token=abc`, s.sink, { ...OPTS, timeoutMs: 200 })).rejects.toThrow(/stalled: no data for 200 ms/);
    expect(s.got.chunks.length).toBeGreaterThan(0);
    await expect(fetchAudio('file:///etc/passwd', sink().sink, OPTS)).rejects.toThrow(/only http and https URLs are supported/);
    await expect(fetchAudio('/api/tts_proxy/x.wav', sink().sink, OPTS)).rejects.toThrow(/the URL is not valid/);
  });

  it('follows a redirect, and stops when aborted', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/r') res.writeHead(302, { location: '/a.wav' }).end();
      else if (req.url === '/a.wav') {
        res.writeHead(200, { 'content-type': 'audio/wav' });
        res.end(wav(tone(20)));
      } else {
        res.writeHead(200, { 'content-type': 'audio/wav' });
        res.write(wav(tone(10)));
      }
    });
    const s = sink();
    await fetchAudio(`${url}/r`, s.sink, OPTS);
    expect(Buffer.concat(s.got.chunks)).toEqual(tone(20));
    const ac = new AbortController();
    const p = fetchAudio(`${url}/forever`, sink().sink, { ...OPTS, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toThrow();
  });
});
