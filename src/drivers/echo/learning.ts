/**
 * Has the echo canceller learnt the room yet? An adaptive filter starts knowing nothing: for
 * the first second or two of the first reply it removes only a few dB of echo, so a reply that
 * says the wake word early would wake the speaker itself. Until the canceller has shown that it
 * works, the agent keeps the self-trigger guard (EchoCancelInput reports the canceller as not
 * yet available, and the session guards the wake word as it does without cancellation).
 *
 * Measured over windows of `windowMs` of capture during which the reference holds played sound
 * (frames where nothing was played do not count): the window passes when the canceller took at
 * least `minErleDb` off the microphone signal (input / output energy), or when what is left is
 * at least `minResidualDb` below the played signal (a microphone that hears the speaker only
 * faintly has little to cancel). The first passing window ends the learning, for good: the
 * filter keeps adapting on its own, and the room it learnt is kept between replies.
 */

export interface EchoLearningOptions {
  /** Capture (with played sound) per verdict, samples. */
  windowSamples: number;
  /** Echo return loss enhancement that proves the filter has converged, dB (default 10). */
  minErleDb?: number;
  /** Residual at least this far below the played reference also passes, dB (default 30). */
  minResidualDb?: number;
  /** Reference frames quieter than this (RMS, dBFS) are not counted (default -50). */
  minReferenceDbfs?: number;
}

export class EchoLearning {
  readonly #window: number;
  readonly #erle: number;
  readonly #residual: number;
  readonly #minRefPower: number;
  #learnt = false;
  #samples = 0;
  #inE = 0;
  #outE = 0;
  #refE = 0;
  /** Samples of played sound seen so far (for the status line). */
  #heard = 0;

  constructor(o: EchoLearningOptions) {
    this.#window = o.windowSamples;
    this.#erle = o.minErleDb ?? 10;
    this.#residual = o.minResidualDb ?? 30;
    const rms = 32768 * Math.pow(10, (o.minReferenceDbfs ?? -50) / 20);
    this.#minRefPower = rms * rms;
  }

  get learnt(): boolean {
    return this.#learnt;
  }

  /** Milliseconds of played sound the canceller has worked on so far. */
  heardMs(sampleRate: number): number {
    return Math.round((this.#heard * 1000) / sampleRate);
  }

  /** Counts one cleaned frame: the microphone `input`, the canceller's `output`, the reference `ref`. */
  observe(input: Int16Array, output: Int16Array, ref: Int16Array): void {
    if (this.#learnt) return;
    const r = power(ref);
    if (r / ref.length < this.#minRefPower) return;
    this.#heard += input.length;
    this.#refE += r;
    this.#inE += power(input);
    this.#outE += power(output);
    this.#samples += input.length;
    if (this.#samples < this.#window) return;
    const out = Math.max(this.#outE, 1);
    const erleDb = 10 * Math.log10(Math.max(this.#inE, 1) / out);
    const residualDb = 10 * Math.log10(Math.max(this.#refE, 1) / out);
    if (erleDb >= this.#erle || residualDb >= this.#residual) this.#learnt = true;
    this.#samples = 0;
    this.#inE = this.#outE = this.#refE = 0;
  }
}

function power(pcm: Int16Array): number {
  let e = 0;
  for (let i = 0; i < pcm.length; i++) e += pcm[i]! * pcm[i]!;
  return e;
}
