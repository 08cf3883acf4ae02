/**
 * When the soca backend streams the mic outside a turn (`soca.streamWhileSpeaking`,
 * docs/protocol.md "Soca"): while an answer plays (Soca's own client streams all the time), and
 * after a server barge until Soca's final transcript of the speech that interrupted it. How long
 * an answer plays is estimated from its MP3 bytes (Soca sends about 32 kbit/s), plus a short tail.
 */
import type { Scheduler } from '../util/clock.js';

/** Soca's MP3 is about 32 kbit/s: bytes per millisecond. */
const MP3_BYTES_PER_MS = 4;
/** The mic keeps streaming this long after an answer's estimated end (ms). */
const SPEAKING_TAIL_MS = 500;
/** After a server barge, the mic streams until Soca's final transcript, at most this long (ms). */
const BARGE_LISTEN_MS = 10_000;

export class ListeningWindow {
  /** The answer being spoken: when its first audio came, and how much audio it has (ms). */
  #answerStartedAt: number | undefined;
  #answerAudioMs = 0;
  /** Clock times until which the mic streams: the last answer's estimated end, the barge's limit. */
  #speakingUntil = 0;
  #bargeUntil = 0;

  constructor(private readonly clock: Scheduler) {}

  /** True while the mic should stream outside a turn. */
  get open(): boolean {
    const now = this.clock.now();
    return this.#answerStartedAt !== undefined || now < this.#speakingUntil || now < this.#bargeUntil;
  }

  /** `bytes` of answer MP3 went to the player. */
  answerAudio(bytes: number): void {
    this.#answerStartedAt ??= this.clock.now();
    this.#answerAudioMs += bytes / MP3_BYTES_PER_MS;
  }

  /** The answer has all its audio: it plays for about as long as that audio lasts. */
  answerComplete(): void {
    if (this.#answerStartedAt === undefined) return;
    this.#speakingUntil = this.#answerStartedAt + this.#answerAudioMs + SPEAKING_TAIL_MS;
    this.#answerStartedAt = undefined;
    this.#answerAudioMs = 0;
  }

  /** Soca barged in: the user is talking over the answer, keep streaming until the final transcript. */
  barge(): void {
    this.close();
    this.#bargeUntil = this.clock.now() + BARGE_LISTEN_MS;
  }

  /** Soca's final transcript came: the speech after a barge is complete. */
  finalTranscript(): void {
    this.#bargeUntil = 0;
  }

  /** A turn begins or is abandoned, or the connection is gone: nothing is playing. */
  close(): void {
    this.#answerStartedAt = undefined;
    this.#answerAudioMs = 0;
    this.#speakingUntil = 0;
    this.#bargeUntil = 0;
  }
}
