/**
 * A daemon's microphone never ends. A source that does (a `wav:` mic with `padSilence: false`,
 * a capture device that closed for good) leaves the agent deaf: no wake word, no button turn
 * can hear anything. This wrapper turns the port's `end` into one non-recoverable `error`
 * ("the microphone ended: ..."), which the session reports like every mic error: one
 * `mic-error` log line, the error LED, `lastError` {code: "mic"} in `status` and an `error`
 * event (docs/reliability.md). Everything else passes through unchanged.
 */
import type { PcmFormat } from '../audio/format.js';
import type { AudioInput, AudioInputEvents } from '../ports/audio-input.js';
import { TypedEmitter } from '../util/typed-emitter.js';

export const MIC_ENDED_MESSAGE = 'the microphone ended: the agent hears nothing (deaf) until it is restarted';

export class EndAwareMic extends TypedEmitter<AudioInputEvents> implements AudioInput {
  #ended = false;

  constructor(private readonly inner: AudioInput) {
    super();
    if (inner.echoStatus) this.echoStatus = () => inner.echoStatus!();
    inner.on('frame', (f) => this.emit('frame', f));
    inner.on('error', (e) => this.emit('error', e));
    inner.on('recovered', () => {
      this.#ended = false;
      this.emit('recovered');
    });
    inner.on('end', () => {
      if (this.#ended) return; // reported once
      this.#ended = true;
      this.emit('end');
      this.emit('error', { message: MIC_ENDED_MESSAGE, recoverable: false });
    });
  }

  get format(): PcmFormat {
    return this.inner.format;
  }

  /** Whether the source can hear the speaker (see the port); passed through. */
  get hearsSpeaker(): boolean | undefined {
    return this.inner.hearsSpeaker;
  }

  /** The echo canceller's status, when the source has one; passed through. */
  readonly echoStatus?: () => { mode: string; available: boolean; reason?: string };

  /** True once the source has ended (and not recovered). */
  get ended(): boolean {
    return this.#ended;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  /** The `wav:` mic's cue (see agent.ts), when the inner mic has one. */
  cue(): void {
    (this.inner as { cue?: () => void }).cue?.();
  }
}
