/**
 * Scriptable per-instance fakes of every port, for tests (in the spirit of serialport's
 * binding-mock). Each instance keeps its own state; nothing is global.
 */
import { CORE_FORMAT, type PcmFormat } from '../audio/format.js';
import type { AudioInput, AudioInputEvents } from '../ports/audio-input.js';
import type { AudioOutput, AudioOutputEvents } from '../ports/audio-output.js';
import type { ButtonEvent, Gpio, GpioEvents, LedState } from '../ports/gpio.js';
import type { WakeStatus, WakeWord, WakeWordEvents } from '../ports/wake-word.js';
import { TypedEmitter } from '../util/typed-emitter.js';

/** A microphone the test drives: `push()` emits frames at once. */
export class FakeMic extends TypedEmitter<AudioInputEvents> implements AudioInput {
  readonly format: PcmFormat = CORE_FORMAT;
  started = false;
  #sampleIndex = 0;

  async start(): Promise<void> {
    this.started = true;
  }
  async stop(): Promise<void> {
    this.started = false;
  }

  /** Emits `pcm` as frames of `frameSamples` (default 320 = 20 ms). */
  push(pcm: Int16Array, frameSamples = 320): void {
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

  fail(message: string, recoverable = true): void {
    this.emit('error', { message, recoverable });
  }
}

/** A speaker that records what it was given; `drain()` completes playback on demand. */
export class FakeSpeaker extends TypedEmitter<AudioOutputEvents> implements AudioOutput {
  readonly writes: { pcm: Buffer; format: PcmFormat }[] = [];
  stops = 0;
  ends = 0;
  volume = 100;
  #playing = false;
  #ended = false;
  /** When true, `end()` drains on the next tick by itself. */
  autoDrain = false;

  get playing(): boolean {
    return this.#playing;
  }
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  setVolume(percent: number): void {
    this.volume = percent;
  }
  write(pcm: Buffer, format: PcmFormat): void {
    this.writes.push({ pcm: Buffer.from(pcm), format });
    this.#playing = true;
    this.#ended = false;
  }
  end(): void {
    this.ends++;
    this.#ended = true;
    if (this.autoDrain || !this.#playing) setImmediate(() => this.drain());
  }
  stop(): void {
    this.stops++;
    this.#playing = false;
    this.#ended = false;
  }
  /** Finishes playback: emits `drained` if `end()` was called. */
  drain(): void {
    if (!this.#ended) return;
    this.#ended = false;
    this.#playing = false;
    this.emit('drained');
  }
  /** Total bytes written. */
  get bytes(): number {
    return this.writes.reduce((n, w) => n + w.pcm.length, 0);
  }
}

/** A wake word the test fires with `detect()`. */
export class FakeWake extends TypedEmitter<WakeWordEvents> implements WakeWord {
  guarded = false;
  fed = 0;
  #status: WakeStatus = { available: true, keywords: ['fake'] };
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  feed(pcm: Int16Array): void {
    this.fed += pcm.length;
  }
  setGuard(guarded: boolean): void {
    this.guarded = guarded;
  }
  status(): WakeStatus {
    return this.#status;
  }
  detect(keyword = 'fake', sampleIndex = this.fed): void {
    this.emit('detected', { keyword, sampleIndex });
  }
  setStatus(status: WakeStatus): void {
    this.#status = status;
    this.emit('status', status);
  }
}

/** GPIO whose button the test presses and whose LED history it reads. */
export class FakeGpio extends TypedEmitter<GpioEvents> implements Gpio {
  readonly leds: LedState[] = [];
  /** Audio levels passed with `speaking`. */
  readonly levels: number[] = [];
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  setLed(state: LedState, level?: number): void {
    if (this.leds[this.leds.length - 1] !== state) this.leds.push(state);
    if (level !== undefined) this.levels.push(level);
  }
  button(event: ButtonEvent): void {
    this.emit('button', event);
  }
}
