/**
 * Two-band energy voice-activity detector with minimum-statistics noise floors.
 *
 * Why this shape (measured with bench/eos-eval.ts; figures in docs/wake-word.md):
 * - Only the speech band counts (300-3400 Hz), split in two: 300-1000 Hz (voiced sounds) and
 *   1000-3400 Hz (consonants, word endings). Fans, hum and rumble sit low, so the upper band keeps
 *   hearing the weak ends of words that full-band energy loses under fan noise; losing them would
 *   make an inner pause look longer than it is and cut the user off.
 * - Each band's floor is the minimum of its smoothed level over a sliding window (1.5 s). Speech
 *   always dips between syllables, so the minimum follows the noise, not the voice, and it drops at
 *   once when noise stops. A learnt offset lifts the minimum back to the noise's typical level.
 * - Hysteresis: a band must rise `startDb` above its noise to start speech, `holdDb` keeps it going.
 * - Hold also needs a level within `dynamicRangeDb` of the utterance's recent peak, so background
 *   speech well below the user's voice does not hold listening open for ever.
 * - The end comes after `hangoverMs` of silence, counted in samples. It must exceed the longest
 *   inner pause users make (600 ms) plus the word endings that fade below the noise on either
 *   side of it: default 750 ms, plus up to 300 ms when the speech's mean level is less than 16 dB
 *   above the noise (a loud fan), where endings drown.
 *
 * Work per sample: four biquads and two squares; per 10 ms block: two log10 and two 150-entry
 * minimums. No allocation after construction.
 */
import type { Vad, VadEvent } from './vad.js';

export interface BandVadOptions {
  /** Input sample rate, Hz (default 16000). */
  sampleRate?: number;
  /** dB above the noise a band needs to count towards speech-start (default 9). */
  startDb?: number;
  /** dB above the noise that keeps speech going (default 3). */
  holdDb?: number;
  /** Absolute band level below which nothing starts speech, dBFS (default -65). */
  minLevelDb?: number;
  /** Speech-level blocks needed in a row before speech-start, ms (default 100). */
  speechStartMs?: number;
  /** Silence after speech that ends it, ms (default 750; keep above the longest inner pause). */
  hangoverMs?: number;
  /** Window of the minimum-statistics noise floor, ms (default 1500). */
  floorWindowMs?: number;
  /** Levels more than this far below the band's recent peak count as silence, dB (default 30). */
  dynamicRangeDb?: number;
  /** Levels are averaged over this long before any decision, ms (default 40). */
  smoothMs?: number;
  /**
   * Extra hang-over per dB that the speech stands less than `snrKneeDb` above the noise, ms/dB
   * (default 30, capped at `maxExtraHangoverMs`). In loud noise the ends of words drown, which
   * makes every pause look longer than it is; waiting a little longer there avoids cutting off.
   */
  extraHangoverMsPerDb?: number;
  /** Mean speech-to-noise ratio above which no extra hang-over is added, dB (default 16). */
  snrKneeDb?: number;
  /** Cap of the extra hang-over, ms (default 300). */
  maxExtraHangoverMs?: number;
}

const BLOCK_MS = 10;

/** Second-order section, transposed direct form II; state is two numbers. */
class Biquad {
  #z1 = 0;
  #z2 = 0;
  constructor(
    readonly b0: number,
    readonly b1: number,
    readonly b2: number,
    readonly a1: number,
    readonly a2: number,
  ) {}

  /** RBJ cookbook high- or low-pass at `f0` Hz, Butterworth Q. */
  static pass(kind: 'high' | 'low', f0: number, fs: number): Biquad {
    const w0 = (2 * Math.PI * f0) / fs;
    const cos = Math.cos(w0);
    const alpha = Math.sin(w0) / (2 * Math.SQRT1_2);
    const a0 = 1 + alpha;
    const b1 = kind === 'low' ? 1 - cos : -(1 + cos);
    const b0 = kind === 'low' ? (1 - cos) / 2 : (1 + cos) / 2;
    return new Biquad(b0 / a0, b1 / a0, b0 / a0, (-2 * cos) / a0, (1 - alpha) / a0);
  }

  step(x: number): number {
    const y = this.b0 * x + this.#z1;
    this.#z1 = this.b1 * x - this.a1 * y + this.#z2;
    this.#z2 = this.b2 * x - this.a2 * y;
    return y;
  }
}

/** Level, noise floor and peak of one band, updated once per 10 ms block. */
class BandTracker {
  /** Sum of squares of the block being filled. */
  sum = 0;
  /** Smoothed level of the last block, dBFS. */
  level = -100;
  /** Minimum of the smoothed level over the window, dBFS. */
  floor = -100;
  /** Typical distance of the smoothed noise level above its minimum, dB. */
  offset = 3;
  /** Recent peak level of the current utterance, dBFS. */
  peak = -100;
  /** Running mean level of the current utterance's active blocks, dBFS (-100: none yet). */
  speech = -100;
  readonly #powers: Float64Array;
  #powPos = 0;
  #powFill = 0;
  readonly #history: Float32Array;
  #histPos = 0;
  #histFill = 0;

  constructor(smoothBlocks: number, windowBlocks: number) {
    this.#powers = new Float64Array(Math.max(1, smoothBlocks));
    this.#history = new Float32Array(Math.max(1, windowBlocks));
  }

  /** Noise reference: the floor lifted to the noise's typical level. */
  get noise(): number {
    return this.floor + this.offset;
  }

  /** Closes a block of `n` samples: smoothed level and window minimum. */
  endBlock(n: number): void {
    const p = this.#powers;
    p[this.#powPos] = this.sum / n / (32768 * 32768);
    this.sum = 0;
    this.#powPos = (this.#powPos + 1) % p.length;
    if (this.#powFill < p.length) this.#powFill++;
    // Summed afresh (a few entries): a running sum drifts after loud blocks. Averaging matters
    // because 10 ms blocks of noise scatter by several dB and would reset the hang-over. Only
    // filled entries count, or the first blocks would read low and drag the floor down.
    let s = 0;
    for (let i = 0; i < this.#powFill; i++) s += p[i]!;
    const mean = s / this.#powFill;
    this.level = mean > 1e-11 ? 10 * Math.log10(mean) : -110;
    const h = this.#history;
    h[this.#histPos] = this.level;
    this.#histPos = (this.#histPos + 1) % h.length;
    if (this.#histFill < h.length) this.#histFill++;
    let min = Infinity;
    for (let i = 0; i < this.#histFill; i++) if (h[i]! < min) min = h[i]!;
    this.floor = min;
  }

  /** Learns how far typical noise sits above the minimum (only from blocks judged not speech). */
  learnNoise(): void {
    const d = Math.min(12, Math.max(0, this.level - this.floor));
    this.offset += (d - this.offset) * 0.02;
  }
}

export class BandVad implements Vad {
  readonly #o: Required<BandVadOptions>;
  readonly #hp300: Biquad;
  readonly #lp1000: Biquad;
  readonly #hp1000: Biquad;
  readonly #lp3400: Biquad;
  readonly #low: BandTracker;
  readonly #high: BandTracker;
  readonly #blockLen: number;
  readonly #startBlocks: number;
  readonly #hangoverSamples: number;
  #blockFill = 0;
  #inSpeech = false;
  #loudBlocks = 0;
  #silenceRun = 0;

  constructor(options: BandVadOptions = {}) {
    this.#o = {
      sampleRate: 16000,
      startDb: 9,
      holdDb: 3,
      minLevelDb: -65,
      speechStartMs: 100,
      hangoverMs: 750,
      floorWindowMs: 1500,
      dynamicRangeDb: 30,
      smoothMs: 40,
      extraHangoverMsPerDb: 30,
      snrKneeDb: 16,
      maxExtraHangoverMs: 300,
      ...options,
    };
    const fs = this.#o.sampleRate;
    this.#hp300 = Biquad.pass('high', 300, fs);
    this.#lp1000 = Biquad.pass('low', 1000, fs);
    this.#hp1000 = Biquad.pass('high', 1000, fs);
    this.#lp3400 = Biquad.pass('low', Math.min(3400, fs * 0.45), fs);
    this.#blockLen = Math.round((fs * BLOCK_MS) / 1000);
    const smooth = Math.round(this.#o.smoothMs / BLOCK_MS);
    const window = Math.round(this.#o.floorWindowMs / BLOCK_MS);
    this.#low = new BandTracker(smooth, window);
    this.#high = new BandTracker(smooth, window);
    this.#startBlocks = Math.max(1, Math.round(this.#o.speechStartMs / BLOCK_MS));
    this.#hangoverSamples = Math.round((this.#o.hangoverMs * fs) / 1000);
  }

  get inSpeech(): boolean {
    return this.#inSpeech;
  }

  /** Noise references of the low and high band, dBFS (for diagnostics). */
  get noiseDb(): { low: number; high: number } {
    return { low: this.#low.noise, high: this.#high.noise };
  }

  /** Window minimums of the low and high band, dBFS (for diagnostics). */
  get floorDb(): { low: number; high: number } {
    return { low: this.#low.floor, high: this.#high.floor };
  }

  /** Smoothed levels of the low and high band, dBFS (for diagnostics). */
  get levelDb(): { low: number; high: number } {
    return { low: this.#low.level, high: this.#high.level };
  }

  /**
   * How far the current utterance's typical (mean active) level stands above the noise, dB, in
   * the better band. The mean, not the peak: weak sounds drown when the *typical* level is near
   * the noise, however loud the loudest vowel was.
   */
  get speechToNoiseDb(): number {
    return Math.max(this.#low.speech - this.#low.noise, this.#high.speech - this.#high.noise);
  }

  reset(): void {
    this.#inSpeech = false;
    this.#loudBlocks = 0;
    this.#silenceRun = 0;
    this.#low.peak = this.#low.speech = -100;
    this.#high.peak = this.#high.speech = -100;
  }

  process(pcm: Int16Array): VadEvent | null {
    let event: VadEvent | null = null;
    const low = this.#low;
    const high = this.#high;
    for (let i = 0; i < pcm.length; i++) {
      const band = this.#hp300.step(pcm[i]!);
      const l = this.#lp1000.step(band);
      const h = this.#lp3400.step(this.#hp1000.step(band));
      low.sum += l * l;
      high.sum += h * h;
      if (++this.#blockFill === this.#blockLen) {
        this.#blockFill = 0;
        const e = this.#block();
        // At most one event per call; a later transition waits for the next frame.
        if (e && !event) event = e;
      }
    }
    return event;
  }

  #block(): VadEvent | null {
    const n = this.#blockLen;
    const low = this.#low;
    const high = this.#high;
    low.endBlock(n);
    high.endBlock(n);
    const o = this.#o;

    if (!this.#inSpeech) {
      const startLoud = this.#starts(low) || this.#starts(high);
      if (startLoud) {
        low.peak = Math.max(low.peak, low.level);
        high.peak = Math.max(high.peak, high.level);
        this.#loudBlocks++;
      } else {
        low.learnNoise();
        high.learnNoise();
        low.peak = high.peak = -100;
        this.#loudBlocks = 0;
      }
      if (this.#loudBlocks >= this.#startBlocks) {
        this.#inSpeech = true;
        this.#silenceRun = 0;
        return 'speech-start';
      }
      return null;
    }
    // Peaks decay 6 dB per second, so one loud word does not mute the rest of the utterance.
    const decay = (6 * BLOCK_MS) / 1000;
    low.peak = Math.max(low.level, low.peak - decay);
    high.peak = Math.max(high.level, high.peak - decay);
    const lowHolds = this.#holds(low);
    const highHolds = this.#holds(high);
    if (lowHolds || highHolds) {
      if (lowHolds) learnSpeech(low);
      if (highHolds) learnSpeech(high);
      this.#silenceRun = 0;
      return null;
    }
    this.#silenceRun += n;
    const snr = this.speechToNoiseDb;
    const extraMs = Math.min(o.maxExtraHangoverMs, Math.max(0, o.snrKneeDb - snr) * o.extraHangoverMsPerDb);
    if (this.#silenceRun >= this.#hangoverSamples + (extraMs * o.sampleRate) / 1000) {
      this.reset();
      return 'speech-end';
    }
    return null;
  }

  /** A band loud enough to count towards speech-start. */
  #starts(b: BandTracker): boolean {
    return b.level > this.#o.minLevelDb && b.level > b.noise + this.#o.startDb;
  }

  /** A band loud enough to keep speech going. */
  #holds(b: BandTracker): boolean {
    return b.level > b.noise + this.#o.holdDb && b.level > b.peak - this.#o.dynamicRangeDb;
  }
}

/** Folds an active block into the band's running speech level (about 0.5 s memory). */
function learnSpeech(b: BandTracker): void {
  b.speech = b.speech <= -100 ? b.level : b.speech + (b.level - b.speech) * 0.05;
}
