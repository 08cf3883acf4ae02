/**
 * Noise suppression ahead of openWakeWord's models (`wake.noiseSuppression`), as openWakeWord's
 * own `enable_speex_noise_suppression` does it: libspeexdsp's preprocessor, denoiser only, at its
 * default strength (-15 dB), on the 16 kHz input in 10 ms blocks, its noise estimate carried
 * across the whole stream. Only the wake word's copy of the audio is denoised: the uplink and
 * the VAD hear the capture as it is.
 *
 * Audio that the echo canceller has already cleaned (a reply was playing) went through the same
 * preprocessor with its denoiser on: those blocks pass through here untouched, so nothing is
 * denoised twice.
 */
import type { Logger } from '../../log/logger.js';
import { SpeexUnavailableError, type SpeexDenoiser, type SpeexDsp } from '../speex/speexdsp.js';

/** Denoiser block: 10 ms at 16 kHz, as openWakeWord uses. */
export const NS_BLOCK = 160;

export class WakeNoiseSuppressor {
  readonly #denoiser: SpeexDenoiser;
  /** One block, copied in and out (the binding gets a whole array, never a view). */
  readonly #block = new Int16Array(NS_BLOCK);
  /** Sample ranges `[from, to)` the echo canceller already denoised, oldest first. */
  #skip: [number, number][] = [];
  /** Blocks denoised / passed through because the canceller had denoised them. */
  readonly stats = { denoisedBlocks: 0, skippedBlocks: 0 };

  constructor(denoiser: SpeexDenoiser) {
    if (denoiser.frameSize !== NS_BLOCK) throw new RangeError(`the denoiser must work on ${NS_BLOCK}-sample blocks, got ${denoiser.frameSize}`);
    this.#denoiser = denoiser;
  }

  /** Notes that `[sampleIndex, sampleIndex + length)` was already denoised upstream. */
  alreadyDenoised(sampleIndex: number, length: number): void {
    const last = this.#skip[this.#skip.length - 1];
    if (last && last[1] === sampleIndex) last[1] += length;
    else this.#skip.push([sampleIndex, sampleIndex + length]);
  }

  /**
   * Denoises `chunk` in place; `end` is the capture index one past its last sample. Blocks
   * that overlap audio the canceller denoised are left as they are.
   */
  process(chunk: Int16Array, end: number): void {
    const start = end - chunk.length;
    const block = this.#block;
    for (let o = 0; o + NS_BLOCK <= chunk.length; o += NS_BLOCK) {
      if (this.#skipped(start + o, start + o + NS_BLOCK)) {
        this.stats.skippedBlocks++;
        continue;
      }
      block.set(chunk.subarray(o, o + NS_BLOCK));
      this.#denoiser.process(block);
      chunk.set(block, o);
      this.stats.denoisedBlocks++;
    }
    // Forget ranges no later chunk can reach.
    while (this.#skip.length > 0 && this.#skip[0]![1] <= end) this.#skip.shift();
  }

  /** Forgets the noted ranges (a gap in the stream: the indices that follow are new audio). */
  clear(): void {
    this.#skip = [];
  }

  destroy(): void {
    this.#denoiser.destroy();
  }

  #skipped(from: number, to: number): boolean {
    for (const [a, b] of this.#skip) if (a < to && b > from) return true;
    return false;
  }
}

/** libspeexdsp's denoiser for the wake word, or null (one warn line) when it cannot load: the engine runs without. */
export async function loadNoiseSuppressor(loadDsp: () => Promise<SpeexDsp>, log: Logger): Promise<WakeNoiseSuppressor | null> {
  try {
    const dsp = await loadDsp();
    return new WakeNoiseSuppressor(dsp.createDenoiser({ frameSize: NS_BLOCK, sampleRate: 16000 }));
  } catch (err) {
    const reason = err instanceof SpeexUnavailableError ? err.reason : `the noise suppressor failed: ${err instanceof Error ? err.message : String(err)}`;
    log.warn('wake-noise-suppression-unavailable', { reason });
    return null;
  }
}
