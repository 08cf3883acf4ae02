/** src/net/fetch-audio.ts against a local HTTP server: formats, limits, stalls, redirects, abort. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchAudio } from '../../src/net/fetch-audio.js';
import type { ReplyFormat } from '../../src/ports/backend.js';
import { tone, wav } from '../support/esphome.js';

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

  it('passes MP3 through for the player to decode; refuses FLAC with the reason', async () => {
    const mp3 = Buffer.concat([Buffer.from('ID3'), Buffer.alloc(50, 1)]);
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(req.url === '/a.mp3' ? mp3 : Buffer.concat([Buffer.from('fLaC'), Buffer.alloc(40)]));
    });
    const s = sink();
    await fetchAudio(`${url}/a.mp3`, s.sink, OPTS);
    expect(s.got.format).toEqual({ codec: 'mp3' });
    expect(Buffer.concat(s.got.chunks)).toEqual(mp3);
    await expect(fetchAudio(`${url}/a.flac`, sink().sink, OPTS)).rejects.toThrow(/the audio is FLAC.*which the agent cannot play: serve MP3 or WAV/);
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
