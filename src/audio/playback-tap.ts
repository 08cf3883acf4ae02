/**
 * Listens to what a speaker driver hands to its device (`output` and `cut` events) and writes
 * it, converted to 16 kHz mono, into an EchoReference on the capture clock.
 *
 * Consecutive chunks of one stream are laid end to end (their reported times only jitter), so
 * the reference is continuous; a chunk that starts more than `gapMs` away from where the
 * previous one ended begins a new stream with a fresh resampler.
 */
import type { AudioOutput, AudioOutputEvents } from '../ports/audio-output.js';
import type { CaptureClock } from './capture-clock.js';
import type { EchoReference } from './echo-reference.js';
import { CORE_FORMAT } from './format.js';
import { toMono } from './pcm.js';
import { Resampler } from './resample.js';

export interface PlaybackTapOptions {
  output: AudioOutput;
  reference: EchoReference;
  clock: CaptureClock;
  /** Shift of the reference, in capture samples (the measured extra echo delay). */
  delaySamples?: number;
  /** Largest jump between chunks still treated as one stream, ms (default 30). */
  gapMs?: number;
}

export class PlaybackTap {
  readonly #o: PlaybackTapOptions;
  readonly #gap: number;
  #resampler: Resampler | undefined;
  #rate = 0;
  #channels = 0;
  /** Capture index where the next converted sample of the current stream goes. */
  #next = Number.NaN;
  #attached = false;

  constructor(options: PlaybackTapOptions) {
    this.#o = options;
    this.#gap = ((options.gapMs ?? 30) * CORE_FORMAT.sampleRate) / 1000;
  }

  attach(): void {
    if (this.#attached) return;
    this.#attached = true;
    this.#o.output.on('output', this.#onOutput);
    this.#o.output.on('cut', this.#onCut);
  }

  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#o.output.off('output', this.#onOutput);
    this.#o.output.off('cut', this.#onCut);
  }

  readonly #onOutput = (e: AudioOutputEvents['output'][0]): void => {
    const { clock, reference } = this.#o;
    if (!clock.ready || e.pcm.length === 0) return; // nothing captured yet: no echo to cancel
    const at = clock.indexAt(e.at) + (this.#o.delaySamples ?? 0);
    const sameFormat = this.#resampler && this.#rate === e.format.sampleRate && this.#channels === e.format.channels;
    if (!sameFormat || !(Math.abs(at - this.#next) <= this.#gap)) {
      this.#resampler = new Resampler(e.format.sampleRate, CORE_FORMAT.sampleRate);
      this.#rate = e.format.sampleRate;
      this.#channels = e.format.channels;
      this.#next = Math.round(at);
    }
    const mono = toMono(e.pcm, e.format.channels);
    const out = this.#resampler!.process(mono);
    // The resampler may hand back its input (equal rates): the reference keeps what it is given.
    const pcm = out === e.pcm ? Int16Array.from(out) : out;
    reference.write(pcm, this.#next);
    this.#next += pcm.length;
  };

  readonly #onCut = (e: AudioOutputEvents['cut'][0]): void => {
    const { clock, reference } = this.#o;
    if (!clock.ready) return;
    reference.cut(clock.indexAt(e.at) + (this.#o.delaySamples ?? 0));
    this.#next = Number.NaN;
  };
}
