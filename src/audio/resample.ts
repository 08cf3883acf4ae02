/**
 * Streaming sample-rate conversion for mono PCM16. State carries across calls, so chunks
 * join without clicks. Linear interpolation: adequate for speech playback into a WAV file;
 * the capture path from 48 kHz devices needs a low-pass first (see the audio issue).
 */
export class Resampler {
  readonly #ratio: number;
  #pos = 0; // position of the next output sample, in input samples, relative to #prev
  #prev = 0;
  #primed = false;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
  ) {
    if (inRate <= 0 || outRate <= 0) throw new Error(`bad sample rates ${inRate} -> ${outRate}`);
    this.#ratio = inRate / outRate;
  }

  process(input: Int16Array): Int16Array {
    if (this.inRate === this.outRate) return input;
    if (input.length === 0) return input;
    if (!this.#primed) {
      this.#prev = input[0]!;
      this.#primed = true;
    }
    // Virtual signal: [#prev, ...input]; index 0 is #prev.
    const n = input.length;
    const maxOut = Math.ceil((n + 1) / this.#ratio) + 1;
    const out = new Int16Array(maxOut);
    let count = 0;
    let pos = this.#pos;
    while (pos < n) {
      const i = Math.floor(pos);
      const frac = pos - i;
      const a = i === 0 ? this.#prev : input[i - 1]!;
      const b = input[i]!;
      out[count++] = Math.round(a + (b - a) * frac);
      pos += this.#ratio;
    }
    this.#pos = pos - n;
    this.#prev = input[n - 1]!;
    return out.subarray(0, count);
  }
}
