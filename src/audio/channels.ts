/**
 * Capture-side format conversion: interleaved multi-channel PCM16 at the device's native rate
 * -> mono at the core's rate. Mic HATs deliver 2 (WM8960) or 4 (AC108) channels, often only at
 * 48 kHz; the core wants 16 kHz mono.
 */
import type { PcmFormat } from './format.js';
import { NO_SAMPLES, toMono } from './pcm.js';
import { Resampler } from './resample.js';

/** Which input channel becomes the mono signal: an index from 0, or `'mix'` (average of all). */
export type ChannelSelect = number | 'mix';

/** Extracts channel `index` (0-based) of interleaved PCM. */
export function pickChannel(pcm: Int16Array, channels: number, index: number): Int16Array {
  if (index < 0 || index >= channels) throw new Error(`channel ${index} does not exist (the input has ${channels})`);
  if (channels === 1) return pcm;
  const frames = Math.floor(pcm.length / channels);
  const out = new Int16Array(frames);
  for (let f = 0, j = index; f < frames; f++, j += channels) out[f] = pcm[j]!;
  return out;
}

/** Picks or mixes `select` out of interleaved PCM with `channels` channels. */
export function selectChannel(pcm: Int16Array, channels: number, select: ChannelSelect): Int16Array {
  return select === 'mix' ? toMono(pcm, channels) : pickChannel(pcm, channels, select);
}

/**
 * Streaming converter from a device format to mono at `outRate`. Chunks may split frames
 * anywhere on a sample boundary: a partial frame is held until its other channels arrive.
 */
export class CaptureConverter {
  readonly #resampler: Resampler;
  readonly #channels: number;
  readonly #select: ChannelSelect;
  #carry: Int16Array = NO_SAMPLES;

  /**
   * @param input the device's native format
   * @param outRate output rate in Hz (the core's 16000)
   * @param select channel index from 0, or 'mix' (default 'mix')
   */
  constructor(input: PcmFormat, outRate: number, select: ChannelSelect = 'mix') {
    if (typeof select === 'number' && (select < 0 || select >= input.channels)) {
      throw new Error(`microphone channel ${select} does not exist: the device captures ${input.channels} channel(s), numbered from 0`);
    }
    this.#channels = input.channels;
    this.#select = select;
    this.#resampler = new Resampler(input.sampleRate, outRate);
  }

  /** Converts the next chunk of interleaved samples; returns mono samples at `outRate`. */
  process(pcm: Int16Array): Int16Array {
    let whole = pcm;
    if (this.#carry.length > 0) {
      whole = new Int16Array(this.#carry.length + pcm.length);
      whole.set(this.#carry);
      whole.set(pcm, this.#carry.length);
    }
    const usable = whole.length - (whole.length % this.#channels);
    this.#carry = usable < whole.length ? whole.slice(usable) : NO_SAMPLES;
    const mono = selectChannel(whole.subarray(0, usable), this.#channels, this.#select);
    return this.#resampler.process(mono);
  }
}
