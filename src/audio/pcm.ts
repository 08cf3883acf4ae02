/** Sample-level helpers. */

/** The parts one after another, in a new array. */
export function concatPcm(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** RMS level of PCM16 samples in dBFS (-inf for silence is clamped to -100). */
/** No samples: shared, since a zero-length array cannot change (held remainders that are empty). */
export const NO_SAMPLES = new Int16Array(0);

export function rmsDb(pcm: Int16Array): number {
  if (pcm.length === 0) return -100;
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) {
    const s = pcm[i]!;
    sum += s * s;
  }
  const rms = Math.sqrt(sum / pcm.length) / 32768;
  return rms > 0 ? Math.max(-100, 20 * Math.log10(rms)) : -100;
}

/** Peak level of PCM16 samples in dBFS. */
export function peakDb(pcm: Int16Array): number {
  let peak = 0;
  for (let i = 0; i < pcm.length; i++) {
    const a = Math.abs(pcm[i]!);
    if (a > peak) peak = a;
  }
  return peak > 0 ? 20 * Math.log10(peak / 32768) : -100;
}

/** Mixes interleaved multi-channel PCM down to mono (average). */
export function toMono(pcm: Int16Array, channels: number): Int16Array {
  if (channels === 1) return pcm;
  const frames = Math.floor(pcm.length / channels);
  const out = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm[f * channels + c]!;
    out[f] = Math.round(sum / channels);
  }
  return out;
}

/** Scales samples by `gain` (0-1) in place, with saturation. */
export function applyGain(pcm: Int16Array, gain: number): void {
  if (gain === 1) return;
  for (let i = 0; i < pcm.length; i++) {
    const v = Math.round(pcm[i]! * gain);
    pcm[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
}
