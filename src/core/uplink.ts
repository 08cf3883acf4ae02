/**
 * Routes the one long-lived microphone stream. Between turns each frame goes into the pre-roll
 * ring, to the wake word and to the VAD (which keeps learning the room, so its noise floor is
 * right the moment listening starts), and to a backend that listens beyond turns. While a
 * turn's uplink is open each frame goes to the backend, and the VAD watches it for the end of
 * speech. Which of these applies is the state
 * machine's decision (`openTurn`, `watchesEndOfSpeech`); this module only moves frames.
 */
import { SampleRing } from '../audio/ring-buffer.js';
import type { Vad, VadEvent } from '../audio/vad.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { AudioFrame } from '../ports/audio-input.js';
import type { Backend } from '../ports/backend.js';
import type { WakeWord } from '../ports/wake-word.js';

export interface UplinkDeps {
  backend: Pick<Backend, 'sendAudio' | 'ambientAudio'>;
  wake: Pick<WakeWord, 'feed'>;
  vad: Vad;
  log: Logger;
  /** Samples of pre-roll kept before a trigger. */
  preRollSamples: number;
  /** Called after each frame handed to the backend. */
  onSent: () => void;
}

export class Uplink {
  readonly #d: UplinkDeps;
  readonly #ring: SampleRing;
  #turn: string | null = null;

  constructor(deps: UplinkDeps) {
    this.#d = deps;
    this.#ring = new SampleRing(deps.preRollSamples);
  }

  /** The turn whose audio streams up now, if any. */
  get turn(): string | null {
    return this.#turn;
  }

  /**
   * Opens the uplink for `turnId` (after the backend accepted the turn). With `preRoll` the ring's
   * audio goes up first, so the first word is never lost; without, the ring is discarded.
   */
  open(turnId: string, preRoll: boolean): void {
    this.#d.vad.reset();
    this.#turn = turnId;
    const pre = this.#ring.drain();
    if (preRoll && pre.length > 0) this.#send(turnId, pre);
  }

  /** Stops streaming `turnId` (ended or canceled); other turns are unaffected. */
  close(turnId: string): void {
    if (this.#turn === turnId) this.#turn = null;
  }

  /**
   * Routes one frame. Returns the VAD's verdict while streaming and `watchEnd` is true (hands-free
   * listening), else null.
   */
  frame(frame: AudioFrame, watchEnd: boolean): VadEvent | null {
    const pcm = frame.pcm;
    const turn = this.#turn;
    if (turn === null) {
      this.#ring.push(pcm);
      this.#d.wake.feed(pcm, frame.sampleIndex);
      this.#d.vad.process(pcm);
      this.#ambient(pcm);
      return null;
    }
    this.#send(turn, pcm);
    return watchEnd ? this.#d.vad.process(pcm) : null;
  }

  /** Audio between turns, for a backend that listens beyond them (see Backend.ambientAudio). */
  #ambient(pcm: Int16Array): void {
    const backend = this.#d.backend;
    if (!backend.ambientAudio) return;
    try {
      backend.ambientAudio(pcm);
    } catch (err) {
      this.#d.log.debug('ambient-audio-failed', { error: errorMessage(err) });
    }
  }

  #send(turnId: string, pcm: Int16Array): void {
    try {
      this.#d.backend.sendAudio(turnId, pcm);
    } catch (err) {
      this.#d.log.debug('send-audio-failed', { error: errorMessage(err) });
      return;
    }
    this.#d.onSent();
  }
}
