/**
 * One utterance the local gateway is listening to: the audio so far, energy end-pointing, and
 * the stand-in transcript used when no speech-to-text service is configured.
 */
import { CORE_FORMAT } from '../audio/format.js';
import { peakDb, rmsDb } from '../audio/pcm.js';
import { EnergyVad } from '../audio/vad.js';
import type { Recognition } from './recognition.js';

export class Listening {
  readonly #samples: Int16Array[] = [];
  #count = 0;
  readonly #vad: EnergyVad;
  #speechSamples = 0;
  /** Listening has ended (end-pointing, length limit, `audio_end`, or the service's final). */
  transcribed = false;
  /** The transcript sent in `stt_transcript` (recognised or stand-in). */
  transcript = '';
  /** Speech heard when listening ended, ms. */
  speechMs = 0;
  /** The STT session of this utterance, when the gateway has an STT service. */
  recognition: Recognition | undefined;
  /** Resolves true once `stt_transcript` was sent, false when the turn failed instead. */
  readonly heard: Promise<boolean>;
  readonly markHeard: (ok: boolean) => void;

  /**
   * @param endSilenceMs silence after speech that ends listening, ms
   * @param maxUtteranceMs longest utterance, ms
   */
  constructor(
    readonly id: string,
    private readonly endSilenceMs: number,
    private readonly maxUtteranceMs: number,
  ) {
    this.#vad = new EnergyVad({ hangoverMs: endSilenceMs });
    let mark!: (ok: boolean) => void;
    this.heard = new Promise<boolean>((resolve) => (mark = resolve));
    this.markHeard = mark;
  }

  /** Adds 16 kHz mono audio; true when listening should end now (end of speech or length limit). */
  push(pcm: Int16Array): boolean {
    this.#samples.push(pcm);
    this.#count += pcm.length;
    if (this.transcribed) return false;
    const v = this.#vad.process(pcm);
    if (this.#vad.inSpeech || v === 'speech-end') this.#speechSamples += pcm.length;
    const ms = (this.#count / CORE_FORMAT.sampleRate) * 1000;
    return v === 'speech-end' || ms >= this.maxUtteranceMs;
  }

  /** Speech heard so far, ms, without the end-pointing hangover. Counted in samples. */
  measureSpeech(): number {
    const hangover = (this.endSilenceMs * CORE_FORMAT.sampleRate) / 1000;
    return Math.max(0, this.#speechSamples - hangover) / (CORE_FORMAT.sampleRate / 1000);
  }

  /** What was heard, not what was said: clearly labelled so nobody mistakes it for recognition. */
  standInTranscript(): string {
    const all = new Int16Array(this.#count);
    let o = 0;
    for (const s of this.#samples) {
      all.set(s, o);
      o += s.length;
    }
    const seconds = this.measureSpeech() / 1000;
    return `[stand-in transcript: ${seconds.toFixed(1)} s of speech, level ${rmsDb(all).toFixed(0)} dBFS, peak ${peakDb(all).toFixed(0)} dBFS]`;
  }
}
