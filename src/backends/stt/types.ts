/**
 * The small streaming speech-to-text contract the pipeline backend uses; AssemblyAI, SLNG and
 * the local pocketsphinx recogniser (src/speech/pocketsphinx.ts) implement it. One `SttSession` is one utterance: opened when listening starts, closed when the
 * final transcript arrived or the turn was abandoned. Closing always ends the provider's session
 * (AssemblyAI bills while a session is open).
 */
import type { TypedEmitter } from '../../util/typed-emitter.js';
import type { ServiceError } from '../service-error.js';

export interface SttResult {
  text: string;
  /** 0-1 when the service gives one. */
  confidence?: number;
  /**
   * A grammar-constrained recogniser heard speech that is not one of its sentences: `text` is
   * empty (nothing was understood) and `guess` holds the closest sentence, for logs only.
   */
  rejected?: boolean;
  guess?: string;
}

/** Per-session choices a recogniser may honour (cloud services ignore them). */
export interface SttOpenOptions {
  /** Name of the grammar to listen with (a follow-up's expected answers); default `default`. */
  grammar?: string;
}

export type SttEvents = {
  /** The service accepted the session; buffered audio has been sent. */
  ready: [];
  /** Interim text; may change. */
  partial: [SttResult];
  /** The utterance's final text (the service's end of turn, or the answer to `finalize`). */
  final: [SttResult];
  /** The session failed. `closed` follows. */
  error: [ServiceError];
  /** The session is over and its socket closed. Fires exactly once. */
  closed: [];
};

export interface SttSession extends TypedEmitter<SttEvents> {
  /** Streams 16 kHz mono PCM. Held (bounded) until the service is ready. */
  send(pcm: Int16Array): void;
  /** Local end of speech: ask the service for the final transcript now instead of waiting for its own end-pointing. */
  finalize(): void;
  /**
   * Ends the provider session (AssemblyAI `Terminate`, SLNG `close`) and closes the socket;
   * if the socket is still connecting, it is ended as soon as it opens. Idempotent; resolves
   * when the socket is closed (forced after the client's close timeout).
   */
  close(): Promise<void>;
  /** True once `closed` fired. */
  readonly closed: boolean;
}

export interface SttClient {
  /** `assemblyai`, `slng` or `pocketsphinx`, for logs. */
  readonly name: string;
  /** Starts a new session; connecting happens in the background. */
  open(options?: SttOpenOptions): SttSession;
  /** Releases what the client holds between sessions (the offline recogniser's decoders); it may be opened again. */
  close?(): void;
}
