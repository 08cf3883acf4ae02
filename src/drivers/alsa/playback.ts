/**
 * What the ALSA speaker (speaker.ts) needs from a playback backend (aplay, libasound through
 * koffi, or the `speaker` module; docs/audio.md "Backends"): a stream per format that takes one
 * block at a time, and closes either at once (barge-in) or after playing out what it holds.
 * Pacing, volume, queueing and `drained` stay in speaker.ts, the same for every backend.
 */
import type { PcmFormat } from '../../audio/format.js';

export interface PcmOutStream {
  /** Hands one block to the device; `done` when it took it (speaker.ts keeps one in flight). */
  write(block: Buffer, done: (err?: Error | null) => void): void;
  /**
   * `flush` true: drop what the device holds, now. False: play it out first. A promise, when
   * returned, resolves once the device is released (after the last sample played, without
   * `flush`); bounded in time.
   */
  close(flush: boolean): void | Promise<void>;
  /** A device failure after open (the stream is dead). */
  on(event: 'error', listener: (err: Error) => void): unknown;
}

export interface PlaybackBackend {
  readonly name: string;
  /** Called by the speaker's start(): rejects with a DeviceError that says how to fix it. */
  prepare(): Promise<void>;
  /** A stream on ALSA PCM `device` in `format`. Throws when it cannot open at once. */
  open(device: string, format: PcmFormat): PcmOutStream;
}

/**
 * Orders device opens behind the previous stream's release: a `hw:` device takes one stream at
 * a time, and a stream that is still playing out its last block holds it.
 */
export class ReleaseChain {
  #last: Promise<void> = Promise.resolve();

  /** Runs `open` after every earlier stream was released; `released` resolves when this one is. */
  next(released: Promise<void>): Promise<void> {
    const before = this.#last;
    this.#last = released.catch(() => undefined);
    return before;
  }
}
