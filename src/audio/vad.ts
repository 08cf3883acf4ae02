/**
 * Voice-activity detection port and the built-in energy detector.
 *
 * A `Vad` is fed 16 kHz mono frames while the device listens and reports the moment speech
 * starts and the moment it ends (after a hang-over of silence), counted in samples.
 */
import { rmsDb } from './pcm.js';

export type VadEvent = 'speech-start' | 'speech-end';

export interface Vad {
  /** Feeds one frame; returns an event when speech starts or ends in this frame. */
  process(pcm: Int16Array): VadEvent | null;
  /** Forgets the current utterance (keeps any learnt noise floor). */
  reset(): void;
  /** True between speech-start and speech-end. */
  readonly inSpeech: boolean;
}

export interface EnergyVadOptions {
  sampleRate?: number;
  /** dB above the tracked noise floor that counts as speech (default 12). */
  thresholdDb?: number;
  /** Absolute level below which nothing is speech, dBFS (default -50). */
  minLevelDb?: number;
  /** Speech must last this long before speech-start (default 100 ms). */
  speechStartMs?: number;
  /** Silence that ends speech (default 800 ms). */
  hangoverMs?: number;
  /** Noise floor to start from, dBFS (default -60), when the caller has measured it. */
  initialFloorDb?: number;
}

/**
 * Energy detector with an adaptive noise floor: the floor follows quiet frames quickly and
 * loud frames very slowly, so steady fan noise raises the floor while speech does not.
 */
export class EnergyVad implements Vad {
  readonly #o: Required<Omit<EnergyVadOptions, 'initialFloorDb'>>;
  #floor: number;
  #inSpeech = false;
  #speechRun = 0; // samples of consecutive speech-level frames
  #silenceRun = 0; // samples of consecutive silence while in speech

  constructor(options: EnergyVadOptions = {}) {
    const { initialFloorDb, ...rest } = options;
    this.#o = { sampleRate: 16000, thresholdDb: 12, minLevelDb: -50, speechStartMs: 100, hangoverMs: 800, ...rest };
    this.#floor = initialFloorDb ?? -60;
  }

  get inSpeech(): boolean {
    return this.#inSpeech;
  }

  /** Current noise floor estimate in dBFS. */
  get noiseFloorDb(): number {
    return this.#floor;
  }

  reset(): void {
    this.#inSpeech = false;
    this.#speechRun = 0;
    this.#silenceRun = 0;
  }

  process(pcm: Int16Array): VadEvent | null {
    const level = rmsDb(pcm);
    const loud = level > this.#o.minLevelDb && level > this.#floor + this.#o.thresholdDb;
    // Track the floor: fast down, slow up; never learn from frames that count as speech.
    if (level < this.#floor) this.#floor += (level - this.#floor) * 0.3;
    else if (!loud) this.#floor += (level - this.#floor) * 0.05;
    else this.#floor += 0.002 * (level - this.#floor);

    const ms = (samples: number) => (samples * 1000) / this.#o.sampleRate;
    if (!this.#inSpeech) {
      this.#speechRun = loud ? this.#speechRun + pcm.length : 0;
      if (loud && ms(this.#speechRun) >= this.#o.speechStartMs) {
        this.#inSpeech = true;
        this.#silenceRun = 0;
        return 'speech-start';
      }
      return null;
    }
    this.#silenceRun = loud ? 0 : this.#silenceRun + pcm.length;
    if (ms(this.#silenceRun) >= this.#o.hangoverMs) {
      this.#inSpeech = false;
      this.#speechRun = 0;
      return 'speech-end';
    }
    return null;
  }
}
