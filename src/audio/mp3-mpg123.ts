/**
 * Streaming MP3 decoder over mpg123-decoder: libmpg123 compiled to WebAssembly, running in
 * this process. Chosen as the default over node-lame (see docs/audio.md and bench/audio.ts):
 * it emits PCM from the first MP3 frame it gets (~100 bytes) where `lame --decode` waits for
 * ~2.3 KB, it needs no child process per reply, and it installs from npm alone (node-lame's
 * install script downloads lame .deb files from deb.debian.org).
 */
import type { MPEGDecoder } from 'mpg123-decoder';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { PcmFormat } from './format.js';
import type { Mp3Decoder, Mp3DecoderEvents } from './mp3.js';

export type MpegDecoderCtor = new () => MPEGDecoder;

/** Imports mpg123-decoder (Node caches the module; the library caches the compiled WASM). */
export async function loadMpg123(): Promise<MpegDecoderCtor> {
  try {
    const mod = await import('mpg123-decoder');
    return mod.MPEGDecoder;
  } catch (err) {
    throw new Error(`MP3 decoder unavailable (mpg123-decoder): ${err instanceof Error ? err.message : String(err)}; run "npm install mpg123-decoder"`);
  }
}

/**
 * Compiles the decoder once ahead of the first reply (the first instance takes ~15 ms, later
 * ones < 1 ms). Never rejects: a failure surfaces on the first real decode.
 */
export async function preloadMpg123(load: () => Promise<MpegDecoderCtor> = loadMpg123): Promise<void> {
  try {
    const Ctor = await load();
    const d = new Ctor();
    await d.ready;
    d.free();
  } catch {
    // reported when a reply needs it
  }
}

/**
 * Channel count of the first valid MPEG audio frame in `buf` (after any ID3v2 tag), or
 * undefined when no frame header is in `buf` yet. The WASM decoder always outputs two
 * channels; a mono reply is played as mono from this.
 */
export function mpegChannels(buf: Buffer): 1 | 2 | undefined {
  let i = 0;
  if (buf.length >= 10 && buf.toString('latin1', 0, 3) === 'ID3') {
    const size = ((buf[6]! & 0x7f) << 21) | ((buf[7]! & 0x7f) << 14) | ((buf[8]! & 0x7f) << 7) | (buf[9]! & 0x7f);
    i = 10 + size + (buf[5]! & 0x10 ? 10 : 0);
  }
  for (; i + 4 <= buf.length; i++) {
    if (buf[i] !== 0xff || (buf[i + 1]! & 0xe0) !== 0xe0) continue;
    const version = (buf[i + 1]! >> 3) & 3;
    const layer = (buf[i + 1]! >> 1) & 3;
    const bitrate = buf[i + 2]! >> 4;
    const rate = (buf[i + 2]! >> 2) & 3;
    if (version === 1 || layer === 0 || bitrate === 0 || bitrate === 15 || rate === 3) continue;
    return buf[i + 3]! >> 6 === 3 ? 1 : 2;
  }
  return undefined;
}

/** Float32 channel arrays -> interleaved PCM16LE. */
function toPcm16(channelData: Float32Array[], samples: number): Buffer {
  const channels = channelData.length;
  const out = new Int16Array(samples * channels);
  for (let ch = 0; ch < channels; ch++) {
    const src = channelData[ch]!;
    for (let i = 0, o = ch; i < samples; i++, o += channels) {
      const v = Math.round(src[i]! * 32767);
      out[o] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

export class Mpg123Mp3Decoder extends TypedEmitter<Mp3DecoderEvents> implements Mp3Decoder {
  #decoder: MPEGDecoder | undefined;
  #pending: Buffer[] = [];
  #ended = false;
  #destroyed = false;
  #samples = 0;
  #lastError: string | undefined;
  /** Channels of the stream once a frame header was seen; `#head` collects bytes until then. */
  #channels: 1 | 2 | undefined;
  #head: Buffer = Buffer.alloc(0);

  /** @param load how to get the decoder class (default: import mpg123-decoder). */
  constructor(load: () => Promise<MpegDecoderCtor> = loadMpg123) {
    super();
    load()
      .then(async (Ctor) => {
        if (this.#destroyed) return;
        const d = new Ctor();
        await d.ready;
        if (this.#destroyed) {
          d.free();
          return;
        }
        this.#decoder = d;
        const pending = this.#pending;
        this.#pending = [];
        for (const chunk of pending) this.#decode(chunk);
        if (this.#ended) this.#finish();
      })
      .catch((err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err))));
  }

  write(chunk: Buffer): void {
    if (this.#destroyed || this.#ended || chunk.length === 0) return;
    if (this.#decoder) this.#decode(chunk);
    else this.#pending.push(Buffer.from(chunk));
  }

  end(): void {
    if (this.#destroyed || this.#ended) return;
    this.#ended = true;
    if (this.#decoder) this.#finish();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#pending = [];
    this.#decoder?.free();
    this.#decoder = undefined;
  }

  #decode(chunk: Buffer): void {
    if (this.#channels === undefined) {
      this.#head = Buffer.concat([this.#head, chunk]);
      this.#channels = mpegChannels(this.#head) ?? (this.#head.length > 65536 ? 2 : undefined);
      if (this.#channels !== undefined) this.#head = Buffer.alloc(0);
    }
    let r: ReturnType<MPEGDecoder['decode']>;
    try {
      r = quietly(() => this.#decoder!.decode(chunk));
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (r.errors.length > 0) this.#lastError = r.errors[r.errors.length - 1]!.message;
    if (r.samplesDecoded === 0 || this.#destroyed) return;
    this.#samples += r.samplesDecoded;
    const data = this.#channels === 1 ? r.channelData.slice(0, 1) : r.channelData;
    const format: PcmFormat = { sampleRate: r.sampleRate, channels: data.length };
    this.emit('pcm', toPcm16(data, r.samplesDecoded), format);
  }

  #finish(): void {
    // Events after the caller's end() call returns, as with a stream.
    setImmediate(() => {
      if (this.#destroyed) return;
      if (this.#samples === 0) {
        this.#fail(new Error(`MP3 decode produced no audio${this.#lastError ? ` (${this.#lastError})` : ''}: the reply is not MP3`));
        return;
      }
      this.emit('end');
      this.destroy();
    });
  }

  #fail(err: Error): void {
    if (this.#destroyed) return;
    this.destroy();
    this.emit('error', err);
  }
}

/**
 * Runs `fn` with console.error silenced. mpg123-decoder prints one stderr line per bad frame
 * ("mpg123-decoder: -1 MPG123_ERR"), so junk MP3 would flood the journal (found by
 * `npm run chaos`); the same errors come back in the result, and the decoder reports them once.
 * `decode` is synchronous, so nothing else can log meanwhile.
 */
function quietly<T>(fn: () => T): T {
  const original = console.error;
  console.error = () => undefined;
  try {
    return fn();
  } finally {
    console.error = original;
  }
}
