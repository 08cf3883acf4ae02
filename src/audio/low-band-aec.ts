/**
 * Echo cancellation in the low band only: the 16 kHz capture is split at 4 kHz, the adaptive
 * filter cancels the band below (at 8 kHz, half the samples and half the transform size), and
 * the band above is turned down by as much as the filter and its suppressor took off the band
 * below. WebRTC's AEC3 treats the bands above its first the same way (a gain, no linear filter).
 *
 * Why the low band: the wake word's mel front end reads 62-3,781 Hz and nothing above
 * (openWakeWord's mel matrix, checked in the tests), and most of a reply's echo energy is
 * there. Measured here (docs/benchmarks.md): libspeexdsp's filter with its suppressor costs
 * about half as much at 8 kHz as at 16 kHz for the same tail and block length in ms.
 *
 * The split is a half-band FIR (Kaiser-windowed sinc, 47 taps, every other one zero but the
 * centre), so the output is the input delayed by 46 samples (2.9 ms) plus what the canceller
 * changed: with nothing to take off, the output is the input delayed, sample for sample.
 *
 *   out[n] = g * in[n - 46] + up(outLow - g * inLow)[n]
 *
 * `inLow` is the decimated capture, `outLow` the canceller's output on it, `up` the
 * interpolating half of the split, and `g` the block's kept fraction of the low band's
 * amplitude (sqrt of output / input energy, 0..1, ramped across the block): below 4 kHz the
 * output is the cancelled band, above it the capture times `g`.
 */
import type { AecEngine } from './echo-cancel.js';

/** Taps of the half-band filter (4L - 1: the taps at odd distance from the centre carry it). */
export const HALF_BAND_TAPS = 47;
/** Kaiser window's beta: about 46 dB of stopband above 4.6 kHz, flat to 0.05 dB below 3.4 kHz. */
const KAISER_BETA = 4;
/** The output's delay against the input, samples at the full rate (analysis + synthesis). */
export const LOW_BAND_DELAY = HALF_BAND_TAPS - 1;
/** Below this energy per low-band sample (about -70 dBFS) the block's gain is not measured. */
const QUIET_POWER = 10 * 10;

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 40; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}

/**
 * The half-band lowpass (cutoff a quarter of the rate): `length` taps, the centre 0.5, the
 * taps an even distance from it zero, the others scaled so the DC gain is exactly 1.
 */
export function halfBandFilter(length: number = HALF_BAND_TAPS, beta: number = KAISER_BETA): Float64Array {
  if (!Number.isInteger(length) || length < 3 || (length + 1) % 4 !== 0) throw new RangeError(`a half-band filter has 4L - 1 taps, got ${length}`);
  const k = (length - 1) / 2;
  const h = new Float64Array(length);
  let wings = 0;
  for (let n = 0; n < length; n++) {
    const d = n - k;
    if (d === 0) h[n] = 0.5;
    else if (d % 2 !== 0) {
      h[n] = (Math.sin((Math.PI * d) / 2) / (Math.PI * d)) * (besselI0(beta * Math.sqrt(1 - (d / k) ** 2)) / besselI0(beta));
      wings += h[n]!;
    }
  }
  for (let n = 0; n < length; n++) if (n !== k) h[n]! *= 0.5 / wings;
  return h;
}

/** Keeps `value` in int16 range, rounded. */
function toInt16(value: number): number {
  const r = Math.round(value);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

/** The filter's non-zero taps left of the centre: h[0], h[2], ..., h[centre - 1] (the right side mirrors them). */
function wingTaps(h: Float64Array): Float64Array {
  const centre = (h.length - 1) >> 1;
  const wings = new Float64Array((centre + 1) >> 1);
  for (let p = 0; p < wings.length; p++) wings[p] = h[2 * p]!;
  return wings;
}

/** A decimator by two keeping its history between blocks: low[m] = sum h[j] x[2m + 1 - j]. */
class Decimator {
  /** The last taps - 1 inputs, then the block. */
  readonly #x: Float64Array;
  readonly #wings: Float64Array;
  readonly #hist: number;

  constructor(h: Float64Array, block: number) {
    this.#wings = wingTaps(h);
    this.#hist = h.length - 1;
    this.#x = new Float64Array(this.#hist + block);
  }

  /** Sets the history to the end of `pcm` (zeros before it). */
  prime(pcm: Int16Array | null): void {
    const x = this.#x;
    x.fill(0, 0, this.#hist);
    if (!pcm) return;
    const n = Math.min(this.#hist, pcm.length);
    for (let i = 0; i < n; i++) x[this.#hist - n + i] = pcm[pcm.length - n + i]!;
  }

  /** Decimates `input` (the block length) into `out` (half of it). */
  process(input: Int16Array, out: Int16Array): void {
    const x = this.#x;
    const wings = this.#wings;
    const hist = this.#hist;
    const centre = hist >> 1;
    const taps = wings.length;
    for (let i = 0; i < input.length; i++) x[hist + i] = input[i]!;
    for (let m = 0; m < out.length; m++) {
      // The newest input this output reads (2m + 1 in the block), and the oldest.
      const top = hist + 2 * m + 1;
      const bottom = top - hist;
      let acc = 0.5 * x[top - centre]!;
      // Taps an odd distance from the centre, in mirrored pairs (h[2p] = h[taps - 1 - 2p]).
      for (let p = 0; p < taps; p++) acc += wings[p]! * (x[top - 2 * p]! + x[bottom + 2 * p]!);
      out[m] = toInt16(acc);
    }
    x.copyWithin(0, input.length);
  }
}

/**
 * The interpolator by two: z[n] = 2 sum h[j] w[n - j], where w holds the low-band samples at
 * the odd indices (2m + 1) and zeros between, kept between blocks.
 */
class Interpolator {
  /** The last (taps + 1) / 2 low-band samples, then the block's. */
  readonly #w: Float64Array;
  readonly #wings: Float64Array;
  readonly #hist: number;
  readonly #centre: number;

  constructor(h: Float64Array, block: number) {
    this.#wings = wingTaps(h);
    this.#centre = (h.length - 1) >> 1;
    // w[n - j] for j < taps reaches (taps - 1) / 2 low samples back at most.
    this.#hist = (h.length + 1) >> 1;
    this.#w = new Float64Array(this.#hist + block / 2);
  }

  reset(): void {
    this.#w.fill(0);
  }

  /** Interpolates `low` (half the block) into `out` (the block), adding to what `out` holds. */
  process(low: Float64Array, out: Float64Array): void {
    const w = this.#w;
    const wings = this.#wings;
    const hist = this.#hist;
    const centre = this.#centre;
    const taps = wings.length;
    for (let m = 0; m < low.length; m++) w[hist + m] = low[m]!;
    for (let m = 0; m < low.length; m++) {
      // n = 2m: w[n - j] is a sample only for j odd, i.e. the centre tap (0.5, times 2).
      out[2 * m]! += w[hist + m - ((centre + 1) >> 1)]!;
      // n = 2m + 1: j even, w[n - j] = low sample m - j / 2; the taps mirror around j = centre.
      const top = hist + m;
      const bottom = top - centre;
      let acc = 0;
      for (let p = 0; p < taps; p++) acc += wings[p]! * (w[top - p]! + w[bottom + p]!);
      out[2 * m + 1]! += 2 * acc;
    }
    w.copyWithin(0, low.length);
  }
}

/**
 * An AecEngine on `frameSize` samples at 16 kHz built on `inner`, a canceller working on
 * `frameSize / 2` samples at 8 kHz (with the tail in ms unchanged).
 */
export class LowBandAec implements AecEngine {
  readonly frameSize: number;
  readonly #inner: AecEngine;
  readonly #recDown: Decimator;
  readonly #refDown: Decimator;
  readonly #up: Interpolator;
  readonly #recLow: Int16Array;
  readonly #refLow: Int16Array;
  readonly #outLow: Int16Array;
  readonly #diff: Float64Array;
  readonly #sum: Float64Array;
  /** The capture, delayed by LOW_BAND_DELAY: the last that many samples, then the block. */
  readonly #delay: Float64Array;
  /** The kept fraction per low-band sample, as applied to the low band, the latest `#gains.length`. */
  readonly #gains: Float64Array;
  #gain = 1;
  /** The next block fades from the capture to the output (the first after resume()). */
  #fadeIn = false;

  constructor(inner: AecEngine) {
    const h = halfBandFilter();
    this.#inner = inner;
    this.frameSize = inner.frameSize * 2;
    const half = inner.frameSize;
    this.#recDown = new Decimator(h, this.frameSize);
    this.#refDown = new Decimator(h, this.frameSize);
    this.#up = new Interpolator(h, this.frameSize);
    this.#recLow = new Int16Array(half);
    this.#refLow = new Int16Array(half);
    this.#outLow = new Int16Array(half);
    this.#diff = new Float64Array(half);
    this.#sum = new Float64Array(this.frameSize);
    this.#delay = new Float64Array(LOW_BAND_DELAY + this.frameSize);
    this.#gains = new Float64Array(half + LOW_BAND_DELAY);
    this.#gains.fill(1);
  }

  /**
   * Starts again after a pause (EchoCanceller, when it takes over from passing frames
   * through): `previous` is the capture just before the next block, which the split reads as
   * its history. The reference before it counts as silent; the inner canceller keeps what it
   * learnt. The next block fades from the capture to the delayed output, which would otherwise
   * repeat the capture's last 2.9 ms with a step at the join.
   */
  resume(previous: Int16Array | null): void {
    this.#recDown.prime(previous);
    this.#refDown.prime(null);
    this.#up.reset();
    const d = this.#delay;
    d.fill(0, 0, LOW_BAND_DELAY);
    if (previous) {
      const n = Math.min(LOW_BAND_DELAY, previous.length);
      for (let i = 0; i < n; i++) d[LOW_BAND_DELAY - n + i] = previous[previous.length - n + i]!;
    }
    this.#gains.fill(1);
    this.#gain = 1;
    this.#fadeIn = true;
  }

  /**
   * Hands back to pass-through: `pcm`, the first frame passed through, faded in from the
   * delayed capture (which continues the last block's output) to `pcm` itself.
   */
  release(pcm: Int16Array): Int16Array {
    const d = this.#delay;
    const out = new Int16Array(pcm.length);
    for (let n = 0; n < pcm.length; n++) {
      const delayed = n < LOW_BAND_DELAY ? d[n]! : pcm[n - LOW_BAND_DELAY]!;
      const w = (n + 1) / pcm.length;
      out[n] = toInt16((1 - w) * delayed + w * pcm[n]!);
    }
    return out;
  }

  process(rec: Int16Array, ref: Int16Array, out: Int16Array): void {
    const half = this.#recLow.length;
    this.#recDown.process(rec, this.#recLow);
    this.#refDown.process(ref, this.#refLow);
    this.#inner.process(this.#recLow, this.#refLow, this.#outLow);
    let inE = 0;
    let outE = 0;
    for (let m = 0; m < half; m++) {
      inE += this.#recLow[m]! * this.#recLow[m]!;
      outE += this.#outLow[m]! * this.#outLow[m]!;
    }
    const target = inE < QUIET_POWER * half ? this.#gain : Math.min(1, Math.sqrt(outE / inE));
    // The gain per low-band sample, ramped from the previous block's; kept for the delayed capture.
    const gains = this.#gains;
    gains.copyWithin(0, half);
    const old = gains.length - half;
    const from = this.#gain;
    for (let m = 0; m < half; m++) {
      const g = from + ((target - from) * (m + 1)) / half;
      gains[old + m] = g;
      this.#diff[m] = this.#outLow[m]! - g * this.#recLow[m]!;
    }
    this.#gain = target;
    const sum = this.#sum;
    const d = this.#delay;
    for (let i = 0; i < rec.length; i++) d[LOW_BAND_DELAY + i] = rec[i]!;
    // The capture at n - 46 meets, in the sum, the interpolated low-band samples around n - 23,
    // i.e. low-band sample (n - 24) / 2 of this block (from the block before when negative):
    // its gain.
    const lag = (LOW_BAND_DELAY >> 1) + 1;
    for (let n = 0; n < rec.length; n++) sum[n] = gains[old + ((n - lag) >> 1)]! * d[n]!;
    this.#up.process(this.#diff, sum);
    if (this.#fadeIn) {
      for (let n = 0; n < rec.length; n++) {
        const w = (n + 1) / rec.length;
        out[n] = toInt16((1 - w) * rec[n]! + w * sum[n]!);
      }
      this.#fadeIn = false;
    } else for (let n = 0; n < rec.length; n++) out[n] = toInt16(sum[n]!);
    d.copyWithin(0, rec.length);
  }

  destroy(): void {
    this.#inner.destroy();
  }
}
