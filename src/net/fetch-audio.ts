/**
 * Streams reply audio from an http(s) URL (the audio gateway's `voice` field, docs/protocol.md
 * "Reply audio by URL"), with a size limit, an overall time limit and the agent's TLS rules:
 * certificates are always verified against the system's CAs plus an optional private CA, never
 * bypassed. The format comes from the Content-Type or, when that says nothing usable, from the
 * first bytes: MP3 plays as MP3; a WAV file is unwrapped to its PCM; FLAC (Home Assistant can
 * serve TTS as FLAC) is decoded to PCM as it arrives (audio/flac.ts, its decoder imported on the
 * first FLAC body). Anything else (Ogg, HTML) is refused with a message that says so.
 *
 * Errors name the URL without its query string or credentials (a signed URL carries its secret
 * there), and nothing here logs.
 */
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { formatFromContentType, isWavContentType } from '../audio/content-type.js';
import { FlacStream } from '../audio/flac.js';
import { looksLikeMp3 } from '../audio/mp3.js';
import { parseWavPrefix } from '../audio/wav.js';
import { CanceledError } from '../errors.js';
import type { ReplyFormat } from '../ports/backend.js';

export interface FetchAudioOptions {
  /** The whole transfer (connect, redirects, headers and body) must finish within this many milliseconds. */
  timeoutMs: number;
  /** Largest body accepted, in bytes; a larger one is cut off and the fetch rejects. */
  maxBytes: number;
  /**
   * A private CA to trust in addition to the system's (https only): its PEM text, or the path of
   * a PEM file. Verification is never turned off.
   */
  ca?: string;
  /** Aborting rejects with a CanceledError (an expected cancellation, e.g. barge-in). */
  signal?: AbortSignal;
}

/** Where fetched audio goes: `start` once with the format, `data` for each chunk, `end` after the last. */
export interface AudioSink {
  start(format: ReplyFormat): void;
  data(chunk: Buffer): void;
  end(): void;
}

const MAX_REDIRECTS = 5;
/** Bytes looked at to recognise a body whose Content-Type says nothing usable. */
const SNIFF_BYTES = 12;
/** A WAV header longer than this (odd chunks before `data`) is refused. */
const MAX_WAV_HEADER = 64 * 1024;

/** The URL for messages: scheme, host and path only. */
export function describeUrl(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Fetches `url` and streams its audio into `sink`. Resolves after `sink.end()`. Rejects with an
 * Error naming the URL (never its query string) and what failed; after a rejection `end()` is
 * not called, though `start()` and some `data()` may have been.
 */
export async function fetchAudio(url: string, sink: AudioSink, options: FetchAudioOptions): Promise<void> {
  let first: URL;
  try {
    first = new URL(url);
  } catch {
    throw new Error('cannot fetch reply audio: the URL is not valid');
  }
  if (first.protocol !== 'http:' && first.protocol !== 'https:') {
    throw new Error(`cannot fetch reply audio from ${describeUrl(first)}: only http and https URLs are supported`);
  }
  const ca = options.ca ? privateCa(options.ca, first) : undefined;
  // Loaded on the first fetch: a daemon whose replies come inline never holds the HTTP stack.
  const [{ default: httpLib }, { default: https }, { rootCertificates }] = await Promise.all([import('node:http'), import('node:https'), import('node:tls')]);
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let request: http.ClientRequest | undefined;
    let body: BodyDecoder | undefined;
    let where = describeUrl(first);
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
      request?.destroy();
      // A FLAC decoder still working is freed; nothing more reaches the sink.
      body?.close();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = (): void => finish(new CanceledError(`fetching reply audio from ${where} was canceled`));
    // The limit is on waiting, not on the whole body: a reply streamed at speaking speed may take
    // longer than timeoutMs to arrive, but never goes silent for that long.

    let deadline = setTimeout(() => finish(new Error(`reply audio from ${where} did not arrive within ${options.timeoutMs} ms`)), options.timeoutMs);
    const activity = (): void => {

      clearTimeout(deadline);
      deadline = setTimeout(() => finish(new Error(`reply audio from ${where} stalled: no data for ${options.timeoutMs} ms`)), options.timeoutMs);
    };

    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const get = (target: URL, redirects: number): void => {
      where = describeUrl(target);
      const lib = target.protocol === 'https:' ? https : httpLib;
      const req = lib.get(target, {
        headers: { accept: 'audio/mpeg, audio/wav;q=0.9, audio/flac;q=0.8, audio/*;q=0.5' },
        ...(ca && target.protocol === 'https:' ? { ca: [...rootCertificates, ca] } : {}),
      });
      request = req;
      req.on('error', (err: NodeJS.ErrnoException) => finish(new Error(`cannot fetch reply audio from ${where}: ${networkReason(err)}`)));
      req.on('response', (res) => {
        if (done) {
          res.resume();
          return;
        }
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) return finish(new Error(`cannot fetch reply audio from ${where}: more than ${MAX_REDIRECTS} redirects`));
          let next: URL;
          try {
            next = new URL(res.headers.location, target);
          } catch {
            return finish(new Error(`cannot fetch reply audio from ${where}: the redirect goes to an invalid URL`));
          }
          if (next.protocol !== 'http:' && next.protocol !== 'https:') {
            return finish(new Error(`cannot fetch reply audio from ${where}: the redirect leaves http(s) (${next.protocol})`));
          }
          if (target.protocol === 'https:' && next.protocol === 'http:') {
            return finish(new Error(`cannot fetch reply audio from ${where}: refusing a redirect from https to plain http (${describeUrl(next)})`));
          }
          get(next, redirects + 1);
          return;
        }
        if (status < 200 || status >= 300) {
          res.resume();
          return finish(new Error(`cannot fetch reply audio from ${where}: HTTP ${status}`));
        }
        const length = Number(res.headers['content-length']);
        if (Number.isFinite(length) && length > options.maxBytes) {
          res.resume();
          return finish(new Error(`reply audio from ${where} is ${length} bytes, more than the ${options.maxBytes} allowed`));
        }
        try {
          body = new BodyDecoder(String(res.headers['content-type'] ?? ''), sink, (err) => finish(new Error(`reply audio from ${where}: ${err.message}`)));
        } catch (err) {
          res.resume();
          return finish(new Error(`reply audio from ${where}: ${(err as Error).message}`));
        }
        let received = 0;
        activity();
        res.on('data', (chunk: Buffer) => {
          if (done) return;
          activity();
          received += chunk.length;
          if (received > options.maxBytes) return finish(new Error(`reply audio from ${where} is larger than the ${options.maxBytes} bytes allowed`));
          try {
            body!.push(chunk);
          } catch (err) {
            finish(new Error(`reply audio from ${where}: ${(err as Error).message}`));
          }
        });
        res.on('end', () => {
          if (done) return;
          // FLAC ends once its decoder has caught up; the other formats end at once.
          Promise.resolve()
            .then(() => body!.end())
            .then(
              () => finish(),
              (err: unknown) => finish(new Error(`reply audio from ${where}: ${(err as Error).message}`)),
            );
        });
        res.on('aborted', () => finish(new Error(`reply audio from ${where} was cut off after ${received} bytes`)));
        res.on('error', (err: NodeJS.ErrnoException) => finish(new Error(`reply audio from ${where} was cut off after ${received} bytes (${networkReason(err)})`)));
      });
    };
    get(first, 0);
  });
}

/** Decides the format from the Content-Type or the first bytes, then passes the audio on. */
class BodyDecoder {
  #mode: 'sniff' | 'raw' | 'wav-header' | 'wav' | 'flac' = 'sniff';
  #flac: FlacStream | undefined;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #started = false;
  /** WAV: PCM bytes still to pass on (undefined: to the end), and a partial sample frame. */
  #remaining: number | undefined;
  #blockAlign = 2;
  #carry: Buffer = Buffer.alloc(0);

  constructor(
    private readonly contentType: string,
    private readonly sink: AudioSink,
    /** A failure found after `push` returned (FLAC decodes asynchronously). */
    private readonly onError: (err: Error) => void,
  ) {
    if (isWavContentType(contentType)) this.#mode = 'wav-header';
    else if (/audio\/(x-)?flac/i.test(contentType)) this.#startFlac();
    else {
      const f = formatFromContentType(contentType);
      if (f.codec !== 'unknown') this.#begin(f);
    }
  }

  push(chunk: Buffer): void {
    if (this.#mode === 'raw') return this.sink.data(chunk);
    if (this.#mode === 'flac') return this.#flac!.push(chunk);
    if (this.#mode === 'wav') return this.#pcm(chunk);
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (this.#mode === 'sniff' && this.#heldBytes >= SNIFF_BYTES) this.#sniff();
    if (this.#mode === 'wav-header') this.#tryHeader(false);
  }

  end(): void | Promise<void> {
    if (this.#mode === 'sniff') {
      if (this.#heldBytes === 0) throw new Error('the body is empty');
      this.#sniff();
    }
    if (this.#mode === 'flac') return this.#flac!.end();
    if (this.#mode === 'wav-header') this.#tryHeader(true);
    if (!this.#started) throw new Error('the body is empty');
    this.sink.end();
  }

  /** Stops a FLAC decode in progress (the fetch failed or was canceled). */
  close(): void {
    this.#flac?.close();
  }

  #startFlac(): void {
    this.#mode = 'flac';
    this.#started = true;
    const flac = (this.#flac = new FlacStream(this.sink, this.onError));
    const held = this.#held;
    this.#held = [];
    for (const b of held) flac.push(b);
  }

  #begin(format: ReplyFormat): void {
    this.#mode = 'raw';
    this.#started = true;
    this.sink.start(format);
    const held = this.#held;
    this.#held = [];
    for (const b of held) this.sink.data(b);
  }

  #sniff(): void {
    const head = Buffer.concat(this.#held).subarray(0, SNIFF_BYTES);
    if (head.toString('latin1', 0, 4) === 'RIFF') {
      this.#mode = 'wav-header';
      return;
    }
    if (looksLikeMp3(head)) return this.#begin({ codec: 'mp3' });
    if (head.toString('latin1', 0, 4) === 'fLaC') return this.#startFlac();
    const what = head.toString('latin1', 0, 4) === 'OggS' ? 'Ogg' : undefined;
    const ct = this.contentType ? ` (Content-Type ${this.contentType.slice(0, 60)})` : '';
    if (what) throw new Error(`the audio is ${what}${ct}, which the agent cannot play: serve MP3, WAV or FLAC`);
    throw new Error(`the body is not MP3, WAV or FLAC audio${ct}`);
  }

  #tryHeader(atEnd: boolean): void {
    const buf = Buffer.concat(this.#held);
    const header = parseWavPrefix(buf);
    if (!header) {
      if (atEnd) throw new Error('the WAV file ends inside its header');
      if (buf.length > MAX_WAV_HEADER) throw new Error(`no WAV data chunk in the first ${MAX_WAV_HEADER} bytes`);
      return;
    }
    this.#held = [];
    this.#mode = 'wav';
    this.#started = true;
    this.#remaining = header.declaredBytes;
    this.#blockAlign = header.format.channels * 2;
    this.sink.start({ codec: 'pcm', sampleRate: header.format.sampleRate, channels: header.format.channels });
    this.#pcm(buf.subarray(header.dataOffset));
  }

  /** WAV PCM: up to the declared size (trailing chunks are not audio), in whole sample frames. */
  #pcm(chunk: Buffer): void {
    let data = chunk;
    if (this.#remaining !== undefined) {
      data = data.subarray(0, this.#remaining);
      this.#remaining -= data.length;
    }
    if (this.#carry.length) data = Buffer.concat([this.#carry, data]);
    const whole = data.length - (data.length % this.#blockAlign);
    this.#carry = Buffer.from(data.subarray(whole));
    if (whole > 0) this.sink.data(data.subarray(0, whole));
  }
}

/** The private CA's PEM: the option itself when it is PEM text, else the file it names. */
function privateCa(ca: string, url: URL): string {
  if (ca.includes('-----BEGIN')) return ca;
  try {
    return readFileSync(ca, 'utf8');
  } catch (err) {
    throw new Error(`cannot fetch reply audio from ${describeUrl(url)}: cannot read the CA file ${ca} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** A connection failure in words, with the fix for an untrusted certificate. */
function networkReason(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return `the server's certificate is not trusted (${code}): add its CA to the trusted CA file, verification stays on`;
  }
  return code || err.message;
}
