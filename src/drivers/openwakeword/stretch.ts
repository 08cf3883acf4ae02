/**
 * Time-scale modification that keeps the pitch: WSOLA (waveform-similarity overlap-add).
 * Output frames of `frame` samples, Hann-windowed, overlap by half; each is taken from the
 * input near where the stretch puts it (within `tolerance` samples), at the offset whose
 * waveform best continues the previous frame, so the periods line up and the pitch stays.
 *
 * Used for the wake word's second look at fast speech: the same audio said about 1.2 times
 * slower. Pure arithmetic; it allocates the output, one window and a copy of the input per call.
 */

export interface StretchOptions {
  /** Output length / input length (> 1: slower). */
  factor: number;
  /** Frame length, samples (default 320: 20 ms at 16 kHz). Even. */
  frame?: number;
  /** How far from its nominal place a frame may be taken, samples (default 80: 5 ms). */
  tolerance?: number;
}

/** Stretches `input` in time by `factor`, keeping its pitch; returns floats in the same scale. */
export function stretch(input: ArrayLike<number>, opts: StretchOptions): Float32Array {
  const frame = opts.frame ?? 320;
  const tol = opts.tolerance ?? 80;
  if (!(opts.factor > 0) || frame < 4 || frame % 2 !== 0) throw new RangeError(`bad stretch options: factor ${opts.factor}, frame ${frame}`);
  const hop = frame / 2;
  const n = input.length;
  const outLen = Math.floor(n * opts.factor);
  const out = new Float32Array(outLen);
  if (n < frame) {
    for (let i = 0; i < outLen; i++) out[i] = input[Math.min(n - 1, Math.floor(i / opts.factor))] ?? 0;
    return out;
  }
  // Periodic Hann: two frames half a frame apart sum to exactly 1.
  const win = new Float32Array(frame);
  for (let i = 0; i < frame; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / frame);
  // The input with a frame of zeros after it: every index read below is then in range (frames
  // may reach half a frame past the end), so the hot loop needs no bounds checks.
  const x = new Float64Array(n + frame);
  for (let i = 0; i < n; i++) x[i] = input[i]!;
  // Where the previous frame was taken from: the natural continuation starts `hop` after it.
  let prev = 0;
  for (let k = 0; k * hop < outLen; k++) {
    const nominal = Math.round((k * hop) / opts.factor);
    // Frames may reach half a frame past the input's end (zeros there): the last ones still
    // come from where they belong.
    const last = n - hop;
    let best = Math.min(Math.max(0, nominal), last);
    if (k > 0) {
      const target = prev + hop;
      let bestCorr = Number.NEGATIVE_INFINITY;
      const lo = Math.max(0, Math.min(nominal, last) - tol);
      const hi = Math.min(last, nominal + tol);
      for (let c = lo; c <= hi; c++) {
        // Normalised cross-correlation over the overlapping half, every other sample.
        let xy = 0;
        let yy = 0;
        for (let i = 0; i < hop; i += 2) {
          const y = x[c + i]!;
          xy += x[target + i]! * y;
          yy += y * y;
        }
        const corr = yy > 0 ? xy / Math.sqrt(yy) : 0;
        if (corr > bestCorr) {
          bestCorr = corr;
          best = c;
        }
      }
    }
    const o = k * hop;
    for (let i = 0; i < frame && o + i < outLen; i++) out[o + i]! += win[i]! * x[best + i]!;
    prev = best;
  }
  // The first half frame has only one window over it: undo its fade-in.
  for (let i = 0; i < Math.min(hop, outLen); i++) out[i] = win[i]! > 1e-3 ? out[i]! / win[i]! : x[i]!;
  return out;
}
