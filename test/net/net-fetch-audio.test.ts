/** fetchAudio against real HTTP and HTTPS servers on loopback: formats, limits, TLS, redirects. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { wavHeader } from '../../src/audio/wav.js';
import { CanceledError } from '../../src/errors.js';
import { encodeMp3, toneFor } from '../../src/local-gateway/speech.js';
import { fetchAudio, type AudioSink } from '../../src/net/fetch-audio.js';
import type { ReplyFormat } from '../../src/ports/backend.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const servers: (http.Server | https.Server)[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: Handler, tls?: { key: string; cert: string }): Promise<string> {
  const s = tls ? https.createServer(tls, handler) : http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `${tls ? 'https' : 'http'}://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function recorder(): AudioSink & { format?: ReplyFormat; bytes: () => Buffer; ended: boolean } {
  const chunks: Buffer[] = [];
  const r = {
    format: undefined as ReplyFormat | undefined,
    ended: false,
    start(f: ReplyFormat) {
      r.format = f;
    },
    data(c: Buffer) {
      chunks.push(Buffer.from(c));
    },
    end() {
      r.ended = true;
    },
    bytes: () => Buffer.concat(chunks),
  };
  return r;
}

const OPTS = { timeoutMs: 3000, maxBytes: 1024 * 1024 };
const pcm = Buffer.from(new Int16Array(toneFor('hello', 16000).subarray(0, 8000)).buffer);

describe('fetchAudio', () => {
  it('a WAV body becomes its PCM at the rate and channels of its header, streamed in whole sample frames', async () => {
    const stereo = Buffer.alloc(4000, 3);
    const wav = Buffer.concat([wavHeader({ sampleRate: 22050, channels: 2 }, stereo.length), stereo, Buffer.from('LIST\x04\x00\x00\x00junk', 'latin1')]);
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav' });
      // Odd-sized writes so a sample frame straddles two chunks.
      res.write(wav.subarray(0, 31));
      res.write(wav.subarray(31, 1001));
      res.end(wav.subarray(1001));
    });
    const sink = recorder();
    await fetchAudio(`${base}/reply.wav`, sink, OPTS);
    expect(sink.format).toEqual({ codec: 'pcm', sampleRate: 22050, channels: 2 });
    expect(sink.bytes().equals(stereo)).toBe(true); // the trailing LIST chunk is not audio
    expect(sink.ended).toBe(true);
  });

  it('MP3 by Content-Type, and MP3 or WAV by sniffing when the server says octet-stream', async () => {
    const mp3 = await encodeMp3(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2));
    const wav = Buffer.concat([wavHeader({ sampleRate: 16000, channels: 1 }, pcm.length), pcm]);
    const base = await serve((req, res) => {
      if (req.url === '/a.mp3') res.writeHead(200, { 'content-type': 'audio/mpeg' }).end(mp3);
      else if (req.url === '/blob1') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(mp3);
      else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(wav);
    });
    for (const [p, codec] of [['/a.mp3', 'mp3'], ['/blob1', 'mp3'], ['/blob2', 'pcm']] as const) {
      const sink = recorder();
      await fetchAudio(base + p, sink, OPTS);
      expect(sink.format?.codec).toBe(codec);
      expect(sink.bytes().length).toBe(codec === 'mp3' ? mp3.length : pcm.length);
    }
  });

  it('refuses Ogg (what the reference client played) and HTML with a message naming the URL but not its query', async () => {
    const base = await serve((req, res) => {
      if (req.url?.startsWith('/o')) res.writeHead(200, { 'content-type': 'audio/ogg' }).end(Buffer.from('OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00', 'latin1'));
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
    });
    await expect(fetchAudio(`${base}/o.ogg?sig=SECRET123`, recorder(), OPTS)).rejects.toThrow(/\/o\.ogg: the audio is Ogg .*serve MP3, WAV or FLAC/);
    const err = await fetchAudio(`${base}/page?token=SECRET123`, recorder(), OPTS).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/\/page: the body is not MP3, WAV or FLAC audio/);
    expect((err as Error).message).not.toContain('SECRET123');
  });

  it('enforces the size limit (declared or streamed), the time limit and HTTP errors', async () => {
    const base = await serve((req, res) => {
      if (req.url === '/big') res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': '5000' }).end(Buffer.alloc(5000, 0xff));
      else if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'audio/mpeg' });
        res.write(Buffer.alloc(600, 0xff));
        res.end(Buffer.alloc(600, 0xff));
      } else if (req.url === '/slow') {
        res.writeHead(200, { 'content-type': 'audio/mpeg' });
        res.write(Buffer.from([0xff, 0xfb, 0x90, 0x00]));
      } else res.writeHead(404).end();
    });
    const small = { timeoutMs: 300, maxBytes: 1000 };
    await expect(fetchAudio(`${base}/big`, recorder(), small)).rejects.toThrow(/is 5000 bytes, more than the 1000 allowed/);
    await expect(fetchAudio(`${base}/chunked`, recorder(), small)).rejects.toThrow(/larger than the 1000 bytes allowed/);
    await expect(fetchAudio(`${base}/slow`, recorder(), small)).rejects.toThrow(/(did not arrive within|stalled: no data for) 300 ms/);
    await expect(fetchAudio(`${base}/gone`, recorder(), small)).rejects.toThrow(/\/gone: HTTP 404/);
    await expect(fetchAudio('ftp://example.invalid/x.mp3', recorder(), small)).rejects.toThrow(/only http and https/);
  });

  it('follows redirects, but never from https down to http', async () => {
    const base = await serve((req, res) => {
      if (req.url === '/r') res.writeHead(302, { location: '/final.mp3' }).end();
      else res.writeHead(200, { 'content-type': 'audio/mpeg' }).end(Buffer.from([0xff, 0xfb, 0x90, 0x00, 1, 2]));
    });
    const sink = recorder();
    await fetchAudio(`${base}/r`, sink, OPTS);
    expect(sink.format).toEqual({ codec: 'mp3' });
  });

  it('aborting rejects with a CanceledError', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      res.write(Buffer.from([0xff, 0xfb, 0x90, 0x00]));
    });
    const ac = new AbortController();
    const p = fetchAudio(`${base}/x`, recorder(), { ...OPTS, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toBeInstanceOf(CanceledError);
  });

  describe('https', () => {
    let dir = '';
    let tls: { key: string; cert: string };
    beforeAll(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'sa-fetch-tls-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
      tls = { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('verifies the certificate: an unknown CA is refused, a configured private CA (PEM text or file) is trusted', async () => {
      const base = await serve((req, res) => {
        if (req.url === '/down') res.writeHead(302, { location: 'http://127.0.0.1:1/x.mp3' }).end();
        else res.writeHead(200, { 'content-type': 'audio/mpeg' }).end(Buffer.from([0xff, 0xfb, 0x90, 0x00]));
      }, tls);
      await expect(fetchAudio(`${base}/x.mp3`, recorder(), OPTS)).rejects.toThrow(/certificate is not trusted .*verification stays on/);
      const sink = recorder();
      await fetchAudio(`${base}/x.mp3`, sink, { ...OPTS, ca: tls.cert });
      expect(sink.ended).toBe(true);
      await fetchAudio(`${base}/x.mp3`, recorder(), { ...OPTS, ca: path.join(dir, 'cert.pem') });
      await expect(fetchAudio(`${base}/down`, recorder(), { ...OPTS, ca: tls.cert })).rejects.toThrow(/refusing a redirect from https to plain http/);
    });
  });
});
