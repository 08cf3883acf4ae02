/**
 * A speaker that records what it was given; `drain()` completes playback on demand (or
 * `autoDrain` does it on the next tick). Strict, like serialport's mock binding: a write or
 * `end()` on a speaker that was not started or was closed, PCM that is not whole 16-bit frames,
 * a nonsense format or volume, and a `drain()` with no ended stream all throw.
 */
import type { PcmFormat } from '../../src/audio/format.js';
import type { AudioOutput, AudioOutputEvents } from '../../src/ports/audio-output.js';
import { TypedEmitter } from '../../src/util/typed-emitter.js';

export class FakeSpeaker extends TypedEmitter<AudioOutputEvents> implements AudioOutput {
  readonly writes: { pcm: Buffer; format: PcmFormat }[] = [];
  stops = 0;
  ends = 0;
  volume = 100;
  /** When true, `end()` drains on the next tick by itself. */
  autoDrain = false;
  #state: 'new' | 'open' | 'closed' = 'new';
  #playing = false;
  #ended = false;

  get playing(): boolean {
    return this.#playing;
  }
  /** True between `start()` and `close()`. */
  get started(): boolean {
    return this.#state === 'open';
  }
  /** Idempotent; opens again after `close()`. */
  async start(): Promise<void> {
    this.#state = 'open';
  }
  /** Idempotent; drops what is queued (no `drained` follows). */
  async close(): Promise<void> {
    if (this.#state === 'open') this.stop();
    if (this.#state !== 'new') this.#state = 'closed';
  }
  /** Any time (the agent sets the volume before it starts the speaker); 0-100 only. */
  setVolume(percent: number): void {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new Error(`FakeSpeaker.setVolume(): volume must be 0-100, got ${percent}`);
    }
    this.volume = percent;
  }
  write(pcm: Buffer, format: PcmFormat): void {
    this.#require('write');
    if (!Number.isInteger(format.sampleRate) || format.sampleRate <= 0 || !Number.isInteger(format.channels) || format.channels < 1) {
      throw new Error(`FakeSpeaker.write(): bad PCM format ${JSON.stringify(format)}`);
    }
    if (pcm.length % (2 * format.channels) !== 0) {
      throw new Error(`FakeSpeaker.write(): ${pcm.length} bytes is not a whole number of 16-bit frames of ${format.channels} channel(s)`);
    }
    this.writes.push({ pcm: Buffer.from(pcm), format });
    this.#playing = true;
    this.#ended = false;
  }
  end(): void {
    this.#require('end');
    this.ends++;
    this.#ended = true;
    if (this.autoDrain || !this.#playing) setImmediate(() => this.#complete());
  }
  /** Any time: cutting a speaker that plays nothing is harmless. */
  stop(): void {
    this.stops++;
    this.#playing = false;
    this.#ended = false;
  }
  /** Finishes playback of the ended stream: emits `drained`. Throws when no stream has ended. */
  drain(): void {
    if (!this.#ended) {
      throw new Error('FakeSpeaker.drain(): nothing to drain: end() was not called since the last drain, stop() or close()');
    }
    this.#complete();
  }
  /** Total bytes written. */
  get bytes(): number {
    return this.writes.reduce((n, w) => n + w.pcm.length, 0);
  }

  #complete(): void {
    if (!this.#ended) return; // stopped, closed or drained meanwhile
    this.#ended = false;
    this.#playing = false;
    this.emit('drained');
  }

  #require(what: string): void {
    if (this.#state === 'new') throw new Error(`FakeSpeaker.${what}(): the speaker is not started: call start() first`);
    if (this.#state === 'closed') throw new Error(`FakeSpeaker.${what}(): the speaker is closed`);
  }
}
