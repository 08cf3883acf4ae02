/**
 * The acoustics of the simulated room: how what the speaker plays reaches the microphone.
 *
 * A small loudspeaker's band (second-order high-pass at `lowHz`, low-pass at `highHz`), then
 * the direct path after `delayMs` at `echoDb`, and five early reflections 3-28 ms later, each
 * 3 dB weaker than the one before, starting `reflectionsDb` below the direct path, with
 * alternating polarity. Deterministic and streaming (block by block, state kept), so the same
 * model serves the real-time `room:` drivers and offline benchmarks.
 */
import type { RoomSchema } from '../../config/schema/audio.js';
import type { z } from 'zod';

export type RoomConfig = z.infer<typeof RoomSchema>;

/** Early reflections after the direct path, ms. */
const REFLECTION_MS = [3.1, 7.3, 12.9, 19.7, 28.3];

/** RBJ-cookbook biquad, direct form I, state kept between blocks. */
class Biquad {
  #x1 = 0;
  #x2 = 0;
  #y1 = 0;
  #y2 = 0;
  readonly #b0: number;
  readonly #b1: number;
  readonly #b2: number;
  readonly #a1: number;
  readonly #a2: number;

  constructor(kind: 'low' | 'high', cornerHz: number, sampleRate: number) {
    const w = (2 * Math.PI * Math.min(cornerHz, sampleRate * 0.45)) / sampleRate;
    const alpha = Math.sin(w) / (2 * Math.SQRT1_2);
    const cos = Math.cos(w);
    const a0 = 1 + alpha;
    const b1 = kind === 'low' ? 1 - cos : -(1 + cos);
    const b0 = kind === 'low' ? (1 - cos) / 2 : (1 + cos) / 2;
    this.#b0 = b0 / a0;
    this.#b1 = b1 / a0;
    this.#b2 = b0 / a0;
    this.#a1 = (-2 * cos) / a0;
    this.#a2 = (1 - alpha) / a0;
  }

  step(x: number): number {
    const y = this.#b0 * x + this.#b1 * this.#x1 + this.#b2 * this.#x2 - this.#a1 * this.#y1 - this.#a2 * this.#y2;
    this.#x2 = this.#x1;
    this.#x1 = x;
    this.#y2 = this.#y1;
    this.#y1 = y;
    return y;
  }
}

export class RoomEcho {
  readonly #hp: Biquad;
  readonly #lp: Biquad;
  /** Tap delays (samples) and gains: direct path first. */
  readonly #delays: number[];
  readonly #gains: number[];
  /** Ring of band-limited played samples, long enough for the longest tap. */
  readonly #hist: Float64Array;
  #pos = 0;

  constructor(config: RoomConfig, sampleRate = 16000) {
    this.#hp = new Biquad('high', config.lowHz, sampleRate);
    this.#lp = new Biquad('low', config.highHz, sampleRate);
    const direct = Math.round((config.delayMs * sampleRate) / 1000);
    const g0 = Math.pow(10, config.echoDb / 20);
    this.#delays = [direct, ...REFLECTION_MS.map((ms) => direct + Math.round((ms * sampleRate) / 1000))];
    this.#gains = [g0, ...REFLECTION_MS.map((_, k) => (k % 2 === 0 ? -1 : 1) * g0 * Math.pow(10, (config.reflectionsDb - 3 * k) / 20))];
    this.#hist = new Float64Array(this.#delays[this.#delays.length - 1]! + 1);
  }

  /** Latency of the direct path, samples. */
  get delaySamples(): number {
    return this.#delays[0]!;
  }

  /** Feeds the next block of played samples; writes the echo the microphone hears meanwhile. */
  process(played: Int16Array, echo: Float32Array): void {
    const hist = this.#hist;
    const len = hist.length;
    const delays = this.#delays;
    const gains = this.#gains;
    for (let i = 0; i < played.length; i++) {
      hist[this.#pos] = this.#lp.step(this.#hp.step(played[i]!));
      let y = 0;
      for (let k = 0; k < delays.length; k++) {
        let j = this.#pos - delays[k]!;
        if (j < 0) j += len;
        y += gains[k]! * hist[j]!;
      }
      echo[i] = y;
      this.#pos = this.#pos + 1 === len ? 0 : this.#pos + 1;
    }
  }
}

/** Deterministic white noise at `db` dBFS RMS (approximately Gaussian: a sum of 4 uniforms). */
export class RoomNoise {
  #x: number;
  readonly #scale: number;

  constructor(db: number, seed = 0x9e3779b9) {
    this.#x = seed >>> 0 || 1;
    // A sum of 4 uniforms in [-1, 1) has variance 4/3.
    this.#scale = db <= -90 ? 0 : (32768 * Math.pow(10, db / 20)) / Math.sqrt(4 / 3);
  }

  get silent(): boolean {
    return this.#scale === 0;
  }

  next(): number {
    let sum = 0;
    for (let k = 0; k < 4; k++) {
      let x = this.#x;
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      this.#x = x;
      sum += x / 2147483648 - 1;
    }
    return sum * this.#scale;
  }
}

/** Adds `echo` and noise to `mic` with saturation, into a new array. */
export function mixRoom(mic: Int16Array, echo: Float32Array, noise: RoomNoise): Int16Array {
  const out = new Int16Array(mic.length);
  const quiet = noise.silent;
  for (let i = 0; i < mic.length; i++) {
    const v = Math.round(mic[i]! + echo[i]! + (quiet ? 0 : noise.next()));
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}
