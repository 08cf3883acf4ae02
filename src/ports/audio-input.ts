import type { PcmFormat } from '../audio/format.js';
import type { TypedEmitter } from '../util/typed-emitter.js';

/** One block of captured audio. */
export interface AudioFrame {
  /**
   * PCM16LE samples in the input's `format` (the core expects 16 kHz mono). A new array per
   * frame, never written again by the driver: receivers may keep it (the echo canceller holds
   * frames for up to 80 ms while a reply plays).
   */
  pcm: Int16Array;
  /** Index of the first sample of this frame since the input started (audio time, not wall clock). */
  sampleIndex: number;
}

export type AudioInputEvents = {
  /** A block of audio, typically 20 ms. Emitted continuously while started. */
  frame: [AudioFrame];
  /** A device problem. `recoverable` inputs keep trying (reopen with backoff). */
  error: [{ message: string; recoverable: boolean }];
  /** Capture resumed after an error. */
  recovered: [];
  /** The source ended for good (a WAV file with `loop: false`). */
  end: [];
};

/**
 * Microphone port. One long-lived capture stream for the daemon's life: the session never
 * stops and restarts it between turns (that eats the start of commands and causes
 * "device busy" on real hardware).
 */
export interface AudioInput extends TypedEmitter<AudioInputEvents> {
  /** Format of `frame` PCM. Drivers convert to 16 kHz mono before emitting. */
  readonly format: PcmFormat;
  /** Opens the device and starts emitting frames. Idempotent. Rejects with DeviceError. */
  start(): Promise<void>;
  /** Stops capture and releases the device. Idempotent; safe before start. */
  stop(): Promise<void>;
  /**
   * Inputs that remove the speaker's own sound (`audio.echoCancel`) say whether they can:
   * `available` false with the reason when the canceller could not load. Absent otherwise.
   */
  echoStatus?(): { mode: string; available: boolean; reason?: string };
  /**
   * False for an input that cannot pick up this device's own speaker (a file): the wake word
   * then needs no self-trigger guard while a reply plays. Absent means it may (a microphone).
   */
  readonly hearsSpeaker?: boolean;
}
