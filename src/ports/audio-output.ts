import type { PcmFormat } from '../audio/format.js';
import type { TypedEmitter } from '../util/typed-emitter.js';

export type AudioOutputEvents = {
  /**
   * The last sample written before `end()` has actually been played (not merely queued), and
   * nothing was written since. A write after `end()` and before `drained` continues the stream:
   * one `drained` then covers both. Never after `stop()`.
   */
  drained: [];
  /** A device problem; playback of the current stream is lost, later writes retry the device. */
  error: [{ message: string }];
  /**
   * Samples handed to the device: `pcm` (interleaved in `format`, after the volume) starts
   * leaving the speaker at `at` (performance.now() ms; the driver's best estimate, which may
   * lie ahead). For echo cancellation and the simulated room; drivers may omit it. Listeners
   * must not modify or keep `pcm` beyond the call unless they copy it.
   */
  output: [{ pcm: Int16Array; format: PcmFormat; at: number }];
  /** Playback was cut (`stop()`): nothing reported by `output` plays after `at` (ms). */
  cut: [{ at: number }];
};

/**
 * Speaker port. Takes streamed PCM of any rate and channel count; a new format starts a new
 * stream. Playback starts with the first chunk.
 */
export interface AudioOutput extends TypedEmitter<AudioOutputEvents> {
  /** Opens the device if needed. Idempotent. */
  start(): Promise<void>;
  /** Queues PCM16LE `pcm` in `format` for playback. Never blocks; returns at once. */
  write(pcm: Buffer, format: PcmFormat): void;
  /** No more audio for the current stream: `drained` fires when the last sample has played. */
  end(): void;
  /** Cuts playback at once (barge-in): drops everything queued; no `drained` for this stream. */
  stop(): void;
  /** True from the first `write` of a stream until it drained or was stopped. */
  readonly playing: boolean;
  /** Software volume 0-100 applied to everything played. */
  setVolume(percent: number): void;
  /** Closes the device, finalising any file. Idempotent. */
  close(): Promise<void>;
}
