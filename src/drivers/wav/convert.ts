/**
 * Incremental conversion of a WAV file's PCM16LE bytes to the core format (16 kHz mono), chunk
 * by chunk as they are read or arrive: chunks may split a sample or a multi-channel frame, the
 * rest waits for the next chunk. One converter per pass over a file (the resampler keeps state).
 */
import { CORE_FORMAT, type PcmFormat } from '../../audio/format.js';
import { toMono } from '../../audio/pcm.js';
import { Resampler } from '../../audio/resample.js';

export class CoreConverter {
  readonly #channels: number;
  readonly #block: number;
  readonly #resampler: Resampler;
  /** Bytes of an incomplete frame, kept for the next chunk. */
  #carry: Buffer | undefined;

  /** Throws an Error for a format no microphone file has (a header from outside may say anything). */
  constructor(format: PcmFormat) {
    const { sampleRate, channels } = format;
    if (!Number.isInteger(channels) || channels < 1 || channels > 32 || !Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384_000) {
      throw new Error(`unsupported WAV format: ${channels} channels at ${sampleRate} Hz`);
    }
    this.#channels = format.channels;
    this.#block = format.channels * 2;
    this.#resampler = new Resampler(format.sampleRate, CORE_FORMAT.sampleRate);
  }

  /** Converts the next bytes; returns new samples (never a view of `bytes`). */
  process(bytes: Buffer): Int16Array {
    let all = bytes;
    if (this.#carry) {
      all = Buffer.concat([this.#carry, bytes]);
      this.#carry = undefined;
    }
    const whole = all.length - (all.length % this.#block);
    if (whole < all.length) this.#carry = Buffer.from(all.subarray(whole));
    if (whole === 0) return new Int16Array(0);
    // A copy in aligned memory of its own: the caller may reuse its read buffer.
    const raw = new Int16Array(whole / 2);
    Buffer.from(raw.buffer).set(all.subarray(0, whole));
    return this.#resampler.process(toMono(raw, this.#channels));
  }

  /** The end of the stream: the resampler's last few ms (an incomplete frame is dropped). */
  flush(): Int16Array {
    this.#carry = undefined;
    return this.#resampler.flush();
  }
}

/** A queue of converted samples, cut into frames. */
export class SampleQueue {
  #buf = new Int16Array(4096);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  push(samples: Int16Array): void {
    if (samples.length === 0) return;
    if (this.#len + samples.length > this.#buf.length) {
      const grown = new Int16Array(Math.max(this.#buf.length * 2, this.#len + samples.length));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(samples, this.#len);
    this.#len += samples.length;
  }

  /** The first `n` samples as a new frame of `n` (zero-padded when fewer are queued); removes them. */
  take(n: number): Int16Array {
    const out = new Int16Array(n);
    const k = Math.min(n, this.#len);
    out.set(this.#buf.subarray(0, k));
    this.#buf.copyWithin(0, k, this.#len);
    this.#len -= k;
    return out;
  }

  clear(): void {
    this.#len = 0;
  }
}
