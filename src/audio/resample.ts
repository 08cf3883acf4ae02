/**
 * Streaming sample-rate conversion for mono PCM16: a polyphase windowed-sinc (Kaiser) low-pass
 * resampler. Sample dropping or linear interpolation folds everything above the new Nyquist
 * back into speech (a 48 kHz mic's 9-20 kHz hiss lands in the recogniser's band); this filter
 * keeps the band below ~0.875 x the lower Nyquist flat and attenuates everything above the
 * lower Nyquist by >= 60 dB (design value).
 *
 * The ratio is kept exact as `L/M` (out/in after dividing by the gcd), so output sample `n`
 * sits at input time `n * M / L` forever: no drift, whatever the chunk sizes. Filter state (the
 * last `taps - 1` input samples) carries across `process()` calls, so chunks join without clicks.
 */

/** Design stop-band attenuation in dB. 60 dB keeps aliases below a 16-bit mic's noise floor in practice. */
const STOPBAND_DB = 60;
/** Pass band ends at this fraction of the lower Nyquist; the transition band runs from here to Nyquist. */
const PASSBAND_FRACTION = 0.875;
/** Above this many phases the table would be large: such rate pairs are not audio rates anyone uses. */
const MAX_PHASES = 4096;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (series), for the Kaiser window. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** The filter for one rate pair; computed once per Resampler (a few ms), immutable afterwards. */
interface Design {
  /** Interpolation factor (phases). */
  l: number;
  /** Decimation factor. */
  m: number;
  /** Taps per phase (even). */
  taps: number;
  /** `l * taps` coefficients; phase `p` occupies `[p * taps, (p + 1) * taps)`. Float64: V8 reads it without conversion. */
  coeffs: Float64Array;
}

function design(inRate: number, outRate: number): Design {
  const g = gcd(inRate, outRate);
  const l = outRate / g;
  const m = inRate / g;
  if (l > MAX_PHASES) {
    throw new Error(`resampling ${inRate} Hz -> ${outRate} Hz needs ${l} filter phases (max ${MAX_PHASES}); use standard audio rates`);
  }
  const nyquist = Math.min(inRate, outRate) / 2;
  // Normalised to the input rate (cycles per input sample).
  const stop = nyquist / inRate;
  const pass = (PASSBAND_FRACTION * nyquist) / inRate;
  const cutoff = (pass + stop) / 2;
  const transition = stop - pass;
  // Kaiser's formulas for beta and length.
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  const length = Math.ceil((STOPBAND_DB - 7.95) / (2.285 * 2 * Math.PI * transition)) + 1;
  const taps = length + (length % 2);
  const half = taps / 2;
  const i0beta = besselI0(beta);
  const coeffs = new Float64Array(l * taps);
  for (let p = 0; p < l; p++) {
    const frac = p / l;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      // Distance in input samples from tap k to the output instant.
      const d = k - (half - 1) - frac;
      const x = 2 * cutoff * d;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const r = d / half;
      const w = Math.abs(r) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0beta;
      const h = 2 * cutoff * sinc * w;
      coeffs[p * taps + k] = h;
      sum += h;
    }
    // Exact unity gain at DC in every phase (no ripple at the phase rate).
    for (let k = 0; k < taps; k++) coeffs[p * taps + k]! /= sum;
  }
  return { l, m, taps, coeffs };
}

/**
 * Streaming resampler for mono PCM16. Output is aligned with input time 0 (the filter's group
 * delay is compensated up front); the last ~taps/2 input samples stay in the filter until more
 * input (or `flush()`) arrives.
 */
export class Resampler {
  readonly #d: Design | undefined;
  /** History plus new input, as floats; only `[0, #len)` is valid. */
  #buf: Float64Array;
  #len: number;
  /** Buffer index of the first tap of the next output sample. */
  #pos = 0;
  /** Phase of the next output sample, 0 <= phase < L. */
  #phase = 0;

  /**
   * @param inRate input sample rate in Hz (positive integer)
   * @param outRate output sample rate in Hz (positive integer); equal rates pass audio through
   */
  constructor(
    readonly inRate: number,
    readonly outRate: number,
  ) {
    if (!(inRate > 0 && outRate > 0 && Number.isInteger(inRate) && Number.isInteger(outRate))) {
      throw new Error(`bad sample rates ${inRate} -> ${outRate}`);
    }
    this.#d = inRate === outRate ? undefined : design(inRate, outRate);
    // Pre-load half a filter of silence so output sample 0 is centred on input sample 0.
    const history = this.#d ? this.#d.taps / 2 - 1 : 0;
    this.#buf = new Float64Array(Math.max(1024, history * 2));
    this.#len = history;
  }

  /** Filter length per output sample, in input samples (0 when rates are equal). */
  get taps(): number {
    return this.#d?.taps ?? 0;
  }

  /** Converts the next chunk. Returns a new array (or `input` itself when the rates are equal). */
  process(input: Int16Array): Int16Array {
    const d = this.#d;
    if (!d) return input;
    if (input.length === 0) return new Int16Array(0);
    this.#append(input);
    const { l, m, taps, coeffs } = d;
    const buf = this.#buf;
    const len = this.#len;
    let pos = this.#pos;
    let phase = this.#phase;
    const maxOut = Math.ceil(((len - pos) * l) / m) + 2;
    const out = new Int16Array(maxOut);
    let n = 0;
    const half = taps >> 1;
    while (pos + taps <= len) {
      let acc = 0;
      if (l === 1) {
        // Integer decimation (48 -> 16 kHz): one filter, symmetric about tap half-1 (the last tap
        // is the window's zero), so fold it and halve the multiplies.
        for (let k = 0, j = pos + taps - 2; k < half - 1; k++, j--) acc += (buf[pos + k]! + buf[j]!) * coeffs[k]!;
        acc += buf[pos + half - 1]! * coeffs[half - 1]!;
      } else {
        const c = phase * taps;
        for (let k = 0; k < taps; k++) acc += buf[pos + k]! * coeffs[c + k]!;
      }
      const v = Math.round(acc);
      out[n++] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      phase += m;
      while (phase >= l) {
        phase -= l;
        pos++;
      }
    }
    // Keep only what future outputs still need.
    buf.copyWithin(0, pos, len);
    this.#len = len - pos;
    this.#pos = 0;
    this.#phase = phase;
    return out.subarray(0, n);
  }

  /** Pushes the samples held in the filter out (feeds half a filter of silence). For the end of a stream. */
  flush(): Int16Array {
    if (!this.#d) return new Int16Array(0);
    return this.process(new Int16Array(this.#d.taps / 2));
  }

  #append(input: Int16Array): void {
    const need = this.#len + input.length;
    if (need > this.#buf.length) {
      const grown = new Float64Array(Math.max(need, this.#buf.length * 2));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    const buf = this.#buf;
    let j = this.#len;
    for (let i = 0; i < input.length; i++) buf[j++] = input[i]!;
    this.#len = need;
  }
}
