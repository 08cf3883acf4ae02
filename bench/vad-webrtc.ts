/**
 * Comparison only: the WebRTC VAD (libfvad compiled to WASM, npm `@echogarden/fvad-wasm`) behind
 * the same `Vad` interface and the same start/hang-over rule as BandVad, so the evaluation
 * compares the speech/non-speech decision itself. Not a dependency of the agent: the bench uses
 * it when it is installed (`npm install --no-save @echogarden/fvad-wasm`) and skips it otherwise.
 */
import type { Vad, VadEvent } from '../src/audio/vad.js';

interface FvadModule {
  _fvad_new(): number;
  _fvad_set_mode(handle: number, mode: number): number;
  _fvad_set_sample_rate(handle: number, rate: number): number;
  _fvad_process(handle: number, ptr: number, length: number): number;
  _malloc(bytes: number): number;
  HEAP16: Int16Array;
}

/** Builds WebRTC VADs of a given aggressiveness (0-3); null when the package is not installed. */
export async function loadWebRtcVad(): Promise<((mode: number, hangoverMs?: number) => Vad) | null> {
  const spec = '@echogarden/fvad-wasm';
  let factory: () => Promise<FvadModule>;
  try {
    factory = ((await import(spec)) as { default: () => Promise<FvadModule> }).default;
  } catch {
    return null;
  }
  const m = await factory();
  return (mode, hangoverMs = 750) => new WebRtcVad(m, mode, hangoverMs);
}

class WebRtcVad implements Vad {
  readonly #m: FvadModule;
  readonly #handle: number;
  readonly #ptr: number;
  readonly #hangover: number;
  readonly #start = 1600; // 100 ms, as BandVad
  #inSpeech = false;
  #run = 0;
  #silence = 0;

  constructor(m: FvadModule, mode: number, hangoverMs: number) {
    this.#m = m;
    this.#handle = m._fvad_new();
    m._fvad_set_mode(this.#handle, mode);
    m._fvad_set_sample_rate(this.#handle, 16000);
    this.#ptr = m._malloc(480 * 2); // frames of up to 30 ms
    this.#hangover = hangoverMs * 16;
  }

  get inSpeech(): boolean {
    return this.#inSpeech;
  }

  reset(): void {
    this.#inSpeech = false;
    this.#run = 0;
    this.#silence = 0;
  }

  /** `pcm` must be 10, 20 or 30 ms (libfvad's frame sizes). */
  process(pcm: Int16Array): VadEvent | null {
    this.#m.HEAP16.set(pcm, this.#ptr >> 1);
    const voiced = this.#m._fvad_process(this.#handle, this.#ptr, pcm.length) === 1;
    if (!this.#inSpeech) {
      this.#run = voiced ? this.#run + pcm.length : 0;
      if (this.#run < this.#start) return null;
      this.#inSpeech = true;
      this.#silence = 0;
      return 'speech-start';
    }
    this.#silence = voiced ? 0 : this.#silence + pcm.length;
    if (this.#silence < this.#hangover) return null;
    this.reset();
    return 'speech-end';
  }
}
