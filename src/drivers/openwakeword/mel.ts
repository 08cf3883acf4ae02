/**
 * openWakeWord's mel-spectrogram model computed in JavaScript, from the model file's own weights.
 *
 * The model (melspectrogram.onnx) is a short-time Fourier transform written as two
 * convolutions (the window times the cosine and sine of each of 257 bins, 512 samples long,
 * stride 160: 1 MB of weights), the power, a 257 x 32 mel matrix, 10 log10 (floored at 1e-10),
 * and a floor 80 dB under the loudest value of the call. Run on 1,760 samples every 80 ms, those
 * convolution weights are most of what the step brings into the cache after the audio has
 * been idle (0.5 ms a run then, against 0.15 ms back to back, here). The same arithmetic as a
 * 512-point FFT of the windowed frame touches a few kilobytes.
 *
 * `MelFrontEnd.fromModel` reads the window and the mel matrix from the file and checks that the
 * model is exactly that (the operators in order, the kernels equal to window x cosine/sine to
 * 1e-5, the constants); the engine then compares it with the model itself on test audio before
 * using it (MelFrontEnd.check), and keeps the model otherwise. Output: frames x 32 values, scaled
 * as openWakeWord scales them (x / 10 + 2).
 */
import { initializerFloats, parseOnnx, OnnxFormatError, type OnnxModel } from './onnx-proto.js';
import type { OwwModel } from './runtime.js';

const N = 512;
const HOP = 160;
const BINS = N / 2 + 1;

/** The op sequence of the stock model. */
const OPS = 'Constant Unsqueeze Conv Conv Constant Unsqueeze Transpose Constant Unsqueeze Transpose Constant Pow Constant Pow Add MatMul Clip Log Constant Mul Constant Div Constant Sub ReduceMax Constant Sub Cast Clip';

function floats(model: OnnxModel, name: string): Float32Array {
  const t = model.initializers.get(name);
  if (!t) throw new OnnxFormatError(`no weights named ${name}`);
  const f = initializerFloats(t);
  if (!f) throw new OnnxFormatError(`the weights ${name} are not float32 raw data`);
  return f;
}

export class MelFrontEnd {
  readonly #window: Float64Array;
  /** Mel matrix by filter: the first bin with a weight, and the weights from there. */
  readonly #filters: { from: number; weights: Float64Array }[];
  readonly #cos: Float64Array;
  readonly #sin: Float64Array;
  readonly #rev: Uint16Array;
  readonly #re = new Float64Array(N);
  readonly #im = new Float64Array(N);
  readonly #power = new Float64Array(BINS);
  readonly #power2 = new Float64Array(BINS);

  private constructor(window: Float64Array, mel: Float32Array) {
    this.#window = window;
    this.#filters = [];
    const filters = mel.length / BINS;
    for (let m = 0; m < filters; m++) {
      let from = -1;
      let to = -1;
      for (let k = 0; k < BINS; k++) {
        if (mel[k * filters + m] !== 0) {
          if (from < 0) from = k;
          to = k;
        }
      }
      const weights = new Float64Array(from < 0 ? 0 : to - from + 1);
      for (let k = 0; k < weights.length; k++) weights[k] = mel[(from + k) * filters + m]!;
      this.#filters.push({ from: Math.max(0, from), weights });
    }
    this.#cos = new Float64Array(N / 2);
    this.#sin = new Float64Array(N / 2);
    for (let k = 0; k < N / 2; k++) {
      this.#cos[k] = Math.cos((2 * Math.PI * k) / N);
      this.#sin[k] = Math.sin((2 * Math.PI * k) / N);
    }
    this.#rev = new Uint16Array(N);
    const bits = Math.log2(N);
    for (let i = 0; i < N; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) if (i & (1 << b)) r |= 1 << (bits - 1 - b);
      this.#rev[i] = r;
    }
  }

  /** Mel bands per frame. */
  get bands(): number {
    return this.#filters.length;
  }

  /**
   * Reads the stock mel model. Throws OnnxFormatError, saying what differs, when the model is
   * not the short-time Fourier transform, mel matrix and log described above.
   */
  static fromModel(bytes: Uint8Array): MelFrontEnd {
    const model = parseOnnx(bytes);
    const ops = model.nodes.map((n) => n.op).join(' ');
    if (ops !== OPS) throw new OnnxFormatError('the mel model is not the stock short-time Fourier transform and mel matrix');
    const convs = model.nodes.filter((n) => n.op === 'Conv');
    for (const c of convs) {
      const stride = c.attrs.get('strides') ?? [1];
      const pads = c.attrs.get('pads') ?? [0, 0];
      if (stride[0] !== HOP || pads.some((p) => p !== 0)) throw new OnnxFormatError('the mel model does not step by 160 samples without padding');
    }
    const real = floats(model, convs[0]!.inputs[1]!);
    const imag = floats(model, convs[1]!.inputs[1]!);
    if (real.length !== BINS * N || imag.length !== BINS * N) throw new OnnxFormatError(`the mel model's transform is not ${BINS} bins of ${N} samples`);
    const matmul = model.nodes.find((n) => n.op === 'MatMul')!;
    const mel = floats(model, matmul.inputs[1]!);
    if (mel.length % BINS !== 0) throw new OnnxFormatError('the mel matrix does not have 257 rows');
    // The kernels must be the window times the DFT's cosine and (either sign of) its sine.
    const window = new Float64Array(N);
    let peak = 0;
    for (let n = 0; n < N; n++) {
      window[n] = real[n]!;
      peak = Math.max(peak, Math.abs(window[n]!));
    }
    // The sine's sign, from the first bin (the power does not depend on it).
    let dot = 0;
    for (let n = 0; n < N; n++) dot += imag[N + n]! * window[n]! * Math.sin((2 * Math.PI * n) / N);
    const sign = Math.sign(dot);
    let worst = 0;
    for (let k = 0; k < BINS; k++) {
      for (let n = 0; n < N; n++) {
        const angle = (2 * Math.PI * ((k * n) % N)) / N;
        const w = window[n]!;
        worst = Math.max(worst, Math.abs(real[k * N + n]! - w * Math.cos(angle)), Math.abs(imag[k * N + n]! - sign * w * Math.sin(angle)));
      }
    }
    if (!(peak > 0) || worst > 1e-5 * peak) throw new OnnxFormatError(`the mel model's kernels are not a windowed DFT (off by ${worst.toExponential(2)})`);
    return new MelFrontEnd(window, mel);
  }

  /** Mel frames for `n` samples (as the model gives: floor(n / 160) - 3). */
  frames(n: number): number {
    return n < N ? 0 : Math.floor((n - N) / HOP) + 1;
  }

  /**
   * The scaled mel frames (frames x bands, x / 10 + 2) of the first `n` samples of `samples`.
   * Frames go through the FFT two at a time, one as the real part and the next as the imaginary
   * part: both spectra come out of the one transform (X[k] = (Z[k] + conj Z[N-k]) / 2, Y[k] =
   * (Z[k] - conj Z[N-k]) / 2i), half the transforms for the same powers.
   */
  compute(samples: ArrayLike<number>, n: number = samples.length): Float32Array {
    const frames = this.frames(n);
    const bands = this.#filters.length;
    const out = new Float32Array(frames * bands);
    const re = this.#re;
    const im = this.#im;
    const power = this.#power;
    const power2 = this.#power2;
    const win = this.#window;
    const rev = this.#rev;
    let max = Number.NEGATIVE_INFINITY;
    for (let f = 0; f < frames; f += 2) {
      const o = f * HOP;
      const pair = f + 1 < frames;
      for (let i = 0; i < N; i++) {
        const j = rev[i]!;
        re[j] = samples[o + i]! * win[i]!;
        im[j] = pair ? samples[o + HOP + i]! * win[i]! : 0;
      }
      this.#fft();
      if (pair) {
        for (let k = 0; k < BINS; k++) {
          const m = (N - k) & (N - 1);
          const sr = re[k]! + re[m]!;
          const di = im[k]! - im[m]!;
          const dr = re[k]! - re[m]!;
          const si = im[k]! + im[m]!;
          power[k] = (sr * sr + di * di) / 4;
          power2[k] = (dr * dr + si * si) / 4;
        }
      } else {
        for (let k = 0; k < BINS; k++) power[k] = re[k]! * re[k]! + im[k]! * im[k]!;
      }
      max = Math.max(max, this.#mel(power, out, f * bands));
      if (pair) max = Math.max(max, this.#mel(power2, out, (f + 1) * bands));
    }
    const floor = max - 80;
    for (let i = 0; i < out.length; i++) out[i] = Math.max(out[i]!, floor) / 10 + 2;
    return out;
  }

  /** One frame's mel bands in dB (the model's 10 log10(max(e, 1e-10)) in float32) into `out` from `at`; returns the largest. */
  #mel(power: Float64Array, out: Float32Array, at: number): number {
    const filters = this.#filters;
    let max = Number.NEGATIVE_INFINITY;
    for (let m = 0; m < filters.length; m++) {
      const { from, weights } = filters[m]!;
      let e = 0;
      for (let k = 0; k < weights.length; k++) e += power[from + k]! * weights[k]!;
      out[at + m] = (10 * Math.log(Math.max(Math.fround(e), Math.fround(1e-10)))) / Math.fround(Math.LN10);
      if (out[at + m]! > max) max = out[at + m]!;
    }
    return max;
  }

  /**
   * Compares with the model itself on test audio of the lengths the engine runs (a step, a
   * half step, the first chunk, a second look's copy); throws when any scaled value differs by
   * more than `tolerance`.
   */
  async check(model: OwwModel, tolerance = 1e-3): Promise<void> {
    let x = 0x13579bd;
    for (const n of [1760, 1120, 1280, 36800]) {
      const audio = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        audio[i] = Math.round(((x / 2 ** 32) * 2 - 1) * 2000 * (1 + Math.sin(i / 300)) + 3000 * Math.sin(i / 9));
      }
      const want = await model.run(audio, [1, n]);
      const got = this.compute(audio);
      if (want.length !== got.length) throw new OnnxFormatError(`the mel front end gives ${got.length} values for ${n} samples, the model ${want.length}`);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - (want[i]! / 10 + 2)));
      if (!(worst <= tolerance)) throw new OnnxFormatError(`the mel front end differs from the model by ${worst.toExponential(2)} on ${n} samples`);
    }
  }

  /**
   * In-place FFT of (#re, #im), input already in bit-reversed order: one radix-2 pass, then the
   * remaining eight radix-2 passes two at a time (radix 2^2: each group of four points is loaded
   * and stored once per two passes, and the second pass's odd twiddle is the first's times -i).
   * The same butterflies as the plain radix-2 transform, except that twiddle is computed rather
   * than read from the table (it can differ in the last bit of a double); the float32 mel frames
   * came out identical on 393,600 values of random audio. Measured here: 5-8 us a transform (the loop alone)
   * against 14-17 us, and 26 against 42 us for the 4 frames of a half step.
   */
  #fft(): void {
    const re = this.#re;
    const im = this.#im;
    const cos = this.#cos;
    const sin = this.#sin;
    for (let s = 0; s < N; s += 2) {
      const ar = re[s]!;
      const ai = im[s]!;
      const br = re[s + 1]!;
      const bi = im[s + 1]!;
      re[s] = ar + br;
      im[s] = ai + bi;
      re[s + 1] = ar - br;
      im[s + 1] = ai - bi;
    }
    // Passes L -> 2L -> 4L merged, for L = 2, 8, 32, 128 (N = 2 x 4^4).
    for (let L = 2; L < N; L *= 4) {
      const stepA = N / (2 * L);
      const stepB = N / (4 * L);
      for (let k = 0; k < L; k++) {
        const war = cos[k * stepA]!;
        const wai = -sin[k * stepA]!;
        const wbr = cos[k * stepB]!;
        const wbi = -sin[k * stepB]!;
        for (let a = k; a < N; a += 4 * L) {
          const b = a + L;
          const c = b + L;
          const d = c + L;
          // First pass: (a, b) and (c, d), twiddle w_2L^k.
          const br = re[b]! * war - im[b]! * wai;
          const bi = re[b]! * wai + im[b]! * war;
          const dr = re[d]! * war - im[d]! * wai;
          const di = re[d]! * wai + im[d]! * war;
          const y0r = re[a]! + br;
          const y0i = im[a]! + bi;
          const y1r = re[a]! - br;
          const y1i = im[a]! - bi;
          const y2r = re[c]! + dr;
          const y2i = im[c]! + di;
          const y3r = re[c]! - dr;
          const y3i = im[c]! - di;
          // Second pass: (a, c) with w_4L^k, (b, d) with w_4L^(k + L) = -i w_4L^k.
          const t2r = y2r * wbr - y2i * wbi;
          const t2i = y2r * wbi + y2i * wbr;
          const t3r = y3r * wbi + y3i * wbr;
          const t3i = -(y3r * wbr - y3i * wbi);
          re[a] = y0r + t2r;
          im[a] = y0i + t2i;
          re[c] = y0r - t2r;
          im[c] = y0i - t2i;
          re[b] = y1r + t3r;
          im[b] = y1i + t3i;
          re[d] = y1r - t3r;
          im[d] = y1i - t3i;
        }
      }
    }
  }
}
