/**
 * FLAC decoded as it arrives, over @wasm-audio-decoders/flac (libFLAC compiled to WebAssembly,
 * the same family as mpg123-decoder). Home Assistant can serve TTS and media as FLAC. The
 * library is imported only when the first FLAC body arrives. Chunks may split frames anywhere:
 * the library's parser keeps the partial frame for the next chunk.
 *
 * Output is interleaved 16-bit little-endian PCM at the stream's own rate and channel count,
 * announced once with the first decoded samples.
 */
import type { FLACDecoder } from '@wasm-audio-decoders/flac';
import type { ReplyFormat } from '../ports/backend.js';

/** Where the PCM goes (the shape of fetch-audio's `AudioSink`). */
export interface PcmOut {
  start(format: ReplyFormat): void;
  data(chunk: Buffer): void;
  end(): void;
}

export type FlacDecoderCtor = new () => FLACDecoder;

/** Imports the decoder (Node caches the module). */
export async function loadFlac(): Promise<FlacDecoderCtor> {
  try {
    const mod = await import('@wasm-audio-decoders/flac');
    return mod.FLACDecoder;
  } catch (err) {
    throw new Error(`FLAC decoder unavailable (@wasm-audio-decoders/flac): ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Float samples (-1..1) of each channel, interleaved into 16-bit little-endian PCM. */
export function interleave16(channels: readonly Float32Array[], samples: number): Buffer {
  const n = channels.length;
  const out = Buffer.alloc(samples * n * 2);
  for (let i = 0; i < samples; i++) {
    for (let c = 0; c < n; c++) {
      const v = Math.max(-1, Math.min(1, channels[c]![i]!));
      out.writeInt16LE(Math.round(v < 0 ? v * 32768 : v * 32767), (i * n + c) * 2);
    }
  }
  return out;
}

/**
 * One FLAC body. `push` never throws: a decode failure is reported once through `onError`
 * and everything after it is ignored. `end()` resolves after `out.end()`, or rejects.
 */
export class FlacStream {
  #chain: Promise<void>;
  #decoder: FLACDecoder | undefined;
  #format: { sampleRate: number; channels: number } | undefined;
  #failed: Error | undefined;
  #closed = false;
  #samples = 0;

  constructor(
    private readonly out: PcmOut,
    private readonly onError: (err: Error) => void,
    load: () => Promise<FlacDecoderCtor> = loadFlac,
  ) {
    this.#chain = (async () => {
      const Ctor = await load();
      const d = new Ctor();
      await d.ready;
      if (this.#closed) d.free();
      else this.#decoder = d;
    })().catch((err: unknown) => this.#fail(err));
  }

  push(chunk: Buffer): void {
    this.#chain = this.#chain.then(async () => {
      if (!this.#decoder || this.#failed || this.#closed) return;
      this.#emit(await this.#decoder.decode(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
    }).catch((err: unknown) => this.#fail(err));
  }

  async end(): Promise<void> {
    await this.#chain;
    if (this.#failed) throw this.#failed;
    if (this.#closed || !this.#decoder) return;
    try {
      this.#emit(await this.#decoder.flush());
    } catch (err) {
      this.#fail(err);
    }
    this.close();
    if (this.#failed) throw this.#failed;
    if (this.#samples === 0) throw new Error('the FLAC stream holds no audio the decoder could read');
    this.out.end();
  }

  /** Frees the decoder; nothing more goes to `out`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#decoder?.free();
    this.#decoder = undefined;
  }

  #emit(d: { channelData: Float32Array[]; samplesDecoded: number; sampleRate: number }): void {
    if (this.#closed || d.samplesDecoded === 0 || d.channelData.length === 0) return;
    const format = { sampleRate: d.sampleRate, channels: d.channelData.length };
    if (!this.#format) {
      this.#format = format;
      this.out.start({ codec: 'pcm', ...format });
    } else if (format.sampleRate !== this.#format.sampleRate || format.channels !== this.#format.channels) {
      throw new Error(`the FLAC stream changes format mid-stream (${this.#format.sampleRate} Hz x${this.#format.channels} to ${format.sampleRate} Hz x${format.channels})`);
    }
    this.#samples += d.samplesDecoded;
    this.out.data(interleave16(d.channelData, d.samplesDecoded));
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = err instanceof Error ? err : new Error(String(err));
    this.close();
    this.onError(this.#failed);
  }
}
