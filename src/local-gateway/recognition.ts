/**
 * Speech recognition for one utterance at the local gateway: a streaming STT session (the local
 * pocketsphinx recogniser, or AssemblyAI or SLNG, the pipeline backend's clients) fed with the
 * client's audio as it arrives.
 *
 * Why streaming rather than sending the whole utterance at the end: the client already paces
 * its audio in real time, and AssemblyAI closes sessions that receive audio faster than real
 * time (close code 4029, "Client sent audio too fast"). The session also opens while the user
 * is still talking, so the final transcript follows the end of speech by one round trip.
 *
 * The first final transcript ends the utterance, whether it answers `finish()` (the gateway's
 * end-pointing or the client's `audio_end`) or comes from the service's own end-pointing.
 * The session is closed on every path (AssemblyAI bills a session while it stays open).
 */
import { ServiceError } from '../backends/service-error.js';
import type { SttClient, SttOpenOptions, SttResult, SttSession } from '../backends/stt/types.js';

export class Recognition {
  /** The final transcript; rejects with a ServiceError (or its own timeout). Settles once. */
  readonly result: Promise<SttResult>;
  readonly #session: SttSession;
  readonly #service: string;
  readonly #timeoutMs: number;
  #settled = false;
  #abandoned = false;
  #timer: NodeJS.Timeout | undefined;
  #resolve!: (r: SttResult) => void;
  #reject!: (err: ServiceError) => void;

  /**
   * Opens the STT session at once (connecting runs in the background; audio sent meanwhile is
   * held by the client). `timeoutMs` bounds the wait for the final transcript after `finish()`;
   * `options` name the grammar to listen with (the local recogniser; services ignore it).
   */
  constructor(stt: SttClient, timeoutMs: number, options: SttOpenOptions = {}) {
    this.#service = stt.name;
    this.#timeoutMs = timeoutMs;
    this.result = new Promise<SttResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // The gateway may drop a recognition (client gone) without awaiting it.
    this.result.catch(() => undefined);
    this.#session = stt.open(options);
    this.#session.once('final', (r) => this.#settle(() => this.#resolve(r)));
    this.#session.once('error', (err) => this.#settle(() => this.#reject(err)));
    this.#session.once('closed', () =>
      this.#settle(() => this.#reject(new ServiceError(this.#service, 'provider', `${this.#service} ended the session without a final transcript`))),
    );
  }

  /** True once the final transcript arrived or the recognition failed. */
  get settled(): boolean {
    return this.#settled;
  }

  /** True when `close()` ended it before a result (the rejection is not a service failure). */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  /** Streams 16 kHz mono PCM (ignored once settled). */
  send(pcm: Int16Array): void {
    if (!this.#settled) this.#session.send(pcm);
  }

  /** End of the utterance: ask for the final transcript now, and give up after the timeout. */
  finish(): void {
    if (this.#settled || this.#timer) return;
    this.#session.finalize();
    this.#timer = setTimeout(
      () => this.#settle(() => this.#reject(new ServiceError(this.#service, 'timeout', `${this.#service}: no final transcript within ${this.#timeoutMs} ms`))),
      this.#timeoutMs,
    );
  }

  /** Abandons the recognition (client gone, gateway stopping) and ends the provider session. */
  async close(): Promise<void> {
    if (!this.#settled) this.#abandoned = true;
    this.#settle(() => this.#reject(new ServiceError(this.#service, 'network', `${this.#service}: recognition abandoned`)));
    await this.#session.close();
  }

  #settle(fn: () => void): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    fn();
    void this.#session.close();
  }
}
