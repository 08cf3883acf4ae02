/**
 * Fetches reply audio over HTTP(S) and hands it on as it arrives, so playback starts on the
 * first bytes (the ESPHome backend's TTS and announcement URLs; docs/backends.md). The format
 * comes from the first bytes (RIFF/WAVE, ID3 or an MPEG frame sync, fLaC) or else the
 * Content-Type: WAV is unwrapped to PCM in its own rate and channels, MP3 passes through for the
 * player's decoder, FLAC is refused (no maintained streaming decoder is installed). Every wait
 * is bounded: `timeoutMs` covers the response headers and every gap between chunks; `maxBytes`
 * caps the body. Redirects are followed up to 3 times.
 */
import http from 'node:http';
import https from 'node:https';
import { parseWav } from '../audio/wav.js';
import { looksLikeMp3 } from '../audio/mp3.js';
import type { ReplyFormat } from '../ports/backend.js';

export interface FetchAudioOptions {
  /** Longest wait for the response headers, and between two chunks of the body. */
  timeoutMs: number;
  /** Largest body accepted; a bigger one fails (what arrived before was already handed on). */
  maxBytes: number;
  /** Extra CA certificate (PEM) for https. */
  ca?: string;
  signal?: AbortSignal;
}

export interface AudioSink {
  /** Called once, before the first `data`. */
  start(format: ReplyFormat): void;
  data(chunk: Buffer): void;
  end(): void;
}

const MAX_REDIRECTS = 3;
/** Enough bytes to see a WAV header with a few extra chunks before `data`. */
const SNIFF_BYTES = 4096;

export class FetchAudioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FetchAudioError';
  }
}

/** Resolves when the whole body was handed on and `sink.end()` called; rejects with a clear message. */
export async function fetchAudio(url: string, sink: AudioSink, options: FetchAudioOptions): Promise<void> {
  let target = url;
  for (let hop = 0; ; hop++) {
    const res = await request(target, options);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new FetchAudioError(`too many redirects fetching ${safe(url)}`);
      target = new URL(res.headers.location, target).toString();
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new FetchAudioError(`HTTP ${status} fetching ${safe(target)}`);
    }
    await stream(res, sink, options, target);
    return;
  }
}

/** The URL without query or credentials, for messages (TTS URLs carry tokens in the query). */
function safe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function request(url: string, o: FetchAudioOptions): Promise<http.IncomingMessage> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(new FetchAudioError(`not an absolute URL: ${JSON.stringify(url.slice(0, 200))}`));
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return Promise.reject(new FetchAudioError(`unsupported URL scheme ${u.protocol} (need http or https)`));
  return new Promise((resolve, reject) => {
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.get(u, { ...(o.ca ? { ca: o.ca } : {}), ...(o.signal ? { signal: o.signal } : {}), headers: { accept: 'audio/*' } }, resolve);
    req.setTimeout(o.timeoutMs, () => req.destroy(new FetchAudioError(`no response from ${safe(url)} within ${o.timeoutMs} ms`)));
    req.on('error', (err) => reject(err instanceof FetchAudioError || err.name === 'AbortError' ? err : new FetchAudioError(`cannot fetch ${safe(url)}: ${err.message}`)));
  });
}

function formatOf(head: Buffer, contentType: string): ReplyFormat | 'flac' | 'wav' | undefined {
  if (head.length >= 12 && head.toString('ascii', 0, 4) === 'RIFF' && head.toString('ascii', 8, 12) === 'WAVE') return 'wav';
  if (head.length >= 4 && head.toString('ascii', 0, 4) === 'fLaC') return 'flac';
  if (looksLikeMp3(head)) return { codec: 'mp3' };
  const ct = contentType.toLowerCase();
  if (ct.includes('wav')) return 'wav';
  if (ct.includes('flac')) return 'flac';
  if (ct.includes('mpeg') || ct.includes('mp3')) return { codec: 'mp3' };
  return undefined;
}

function stream(res: http.IncomingMessage, sink: AudioSink, o: FetchAudioOptions, url: string): Promise<void> {
  const contentType = String(res.headers['content-type'] ?? '');
  return new Promise((resolve, reject) => {
    let total = 0;
    let head: Buffer[] = [];
    let headBytes = 0;
    let started = false;
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      res.destroy();
      reject(err);
    };
    res.setTimeout(o.timeoutMs, () => fail(new FetchAudioError(`${safe(url)} stalled: no data for ${o.timeoutMs} ms`)));
    /** Decides the format once enough bytes are in; returns false while undecided. */
    const begin = (final: boolean): boolean => {
      const buf = Buffer.concat(head);
      const f = formatOf(buf, contentType);
      if (f === 'flac') throw new FetchAudioError(`${safe(url)} is FLAC, which this agent cannot decode: ask for WAV or MP3`);
      if (f === 'wav') {
        let wav;
        try {
          wav = parseWav(buf);
        } catch (err) {
          if (!final && buf.length < SNIFF_BYTES) return false;
          throw new FetchAudioError(`${safe(url)}: ${(err as Error).message}`);
        }
        sink.start({ codec: 'pcm', sampleRate: wav.format.sampleRate, channels: wav.format.channels });
        started = true;
        const pcm = buf.subarray(wav.dataOffset);
        if (pcm.length) sink.data(pcm);
        return true;
      }
      if (!f && !final && buf.length < 4) return false;
      sink.start(f ?? { codec: 'unknown' });
      started = true;
      sink.data(buf);
      return true;
    };
    res.on('data', (chunk: Buffer) => {
      if (done) return;
      total += chunk.length;
      if (total > o.maxBytes) return fail(new FetchAudioError(`${safe(url)} is larger than ${o.maxBytes} bytes`));
      try {
        if (started) {
          sink.data(chunk);
          return;
        }
        head.push(chunk);
        headBytes += chunk.length;
        if (begin(false)) head = [];
        else if (headBytes > SNIFF_BYTES) begin(true);
      } catch (err) {
        fail(err as Error);
      }
    });
    res.on('end', () => {
      if (done) return;
      try {
        if (!started && headBytes > 0) begin(true);
        if (!started) throw new FetchAudioError(`${safe(url)} returned no audio`);
      } catch (err) {
        return fail(err as Error);
      }
      done = true;
      sink.end();
      resolve();
    });
    res.on('error', (err) => fail(err.name === 'AbortError' ? err : new FetchAudioError(`${safe(url)}: ${err.message}`)));
    res.on('close', () => fail(new FetchAudioError(`${safe(url)}: the server closed the connection mid-reply`)));
  });
}
