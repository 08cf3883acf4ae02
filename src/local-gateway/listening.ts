/**
 * One utterance the local gateway is listening to: the audio so far, energy end-pointing, and
 * what the recogniser made of it.
 */
import { CORE_FORMAT } from '../audio/format.js';
import { EnergyVad } from '../audio/vad.js';
import type { Recognition } from './recognition.js';

export class Listening {
  #count = 0;
  readonly #vad: EnergyVad;
  #speechSamples = 0;
  /** Listening has ended (end-pointing, length limit, `audio_end`, or the recogniser's final). */
  transcribed = false;
  /** The transcript sent in `stt_transcript` (empty when nothing was understood). */
  transcript = '';
  /** The recogniser heard speech but no sentence it knows. */
  rejected = false;
  confidence: number | undefined;
  /** Speech heard when listening ended, ms. */
  speechMs = 0;
  /** The recognition of this utterance, when the gateway has a recogniser. */
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
}
