/**
 * A microphone the test drives: `push()` emits frames at once. Strict, like serialport's mock
 * binding: audio pushed into a mic that is not started is a mistake in the test's set-up and
 * throws, because a real input emits no frames before `start()` or after `stop()`.
 */
import { CORE_FORMAT, type PcmFormat } from '../../src/audio/format.js';
import type { AudioInput, AudioInputEvents } from '../../src/ports/audio-input.js';
import { TypedEmitter } from '../../src/util/typed-emitter.js';

export class FakeMic extends TypedEmitter<AudioInputEvents> implements AudioInput {
  readonly format: PcmFormat = CORE_FORMAT;
  #started = false;
  #sampleIndex = 0;

  /** True between `start()` and `stop()`. */
  get started(): boolean {
    return this.#started;
  }

  /** Idempotent, as the port says. A fresh start counts samples from 0 again. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#sampleIndex = 0;
  }

  /** Idempotent; safe before start. */
  async stop(): Promise<void> {
    this.#started = false;
  }

  /** Emits `pcm` as frames of `frameSamples` (default 320 = 20 ms). */
  push(pcm: Int16Array, frameSamples = 320): void {
    this.#require('push');
    if (!Number.isInteger(frameSamples) || frameSamples <= 0) {
      throw new Error(`FakeMic.push(): frameSamples must be a positive whole number of samples, got ${frameSamples}`);
    }
    for (let i = 0; i < pcm.length; i += frameSamples) {
      const frame = pcm.slice(i, i + frameSamples);
      this.emit('frame', { pcm: frame, sampleIndex: this.#sampleIndex });
      this.#sampleIndex += frame.length;
    }
  }

  /** Emits `ms` of silence (or of a constant `amplitude`). */
  pushSilence(ms: number, amplitude = 0): void {
    const pcm = new Int16Array(Math.round((ms * CORE_FORMAT.sampleRate) / 1000));
    if (amplitude) for (let i = 0; i < pcm.length; i++) pcm[i] = i % 2 ? amplitude : -amplitude;
    this.push(pcm);
  }

  /** Reports a device problem, as a driver would while capturing. */
  fail(message: string, recoverable = true): void {
    this.#require('fail');
    this.emit('error', { message, recoverable });
  }

  #require(what: string): void {
    if (!this.#started) throw new Error(`FakeMic.${what}(): the mic is not started: call start() first (a stopped input emits nothing)`);
  }
}
