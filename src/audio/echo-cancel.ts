/**
 * Echo cancellation of the capture stream against the played reference.
 *
 * The agent knows exactly what it plays: the reference (on the capture clock) comes from the
 * speaker driver through a PlaybackTap. For each captured frame the canceller checks whether
 * anything played within the echo tail before it; if not, the frame passes through untouched
 * (same array, no work), so cancellation costs nothing between replies. Otherwise the frame is
 * cleaned in engine-sized blocks by an AecEngine (libspeexdsp's adaptive filter plus its
 * residual-echo suppressor).
 *
 * Switching back to pass-through only happens after a full tail of silent reference has been
 * processed, so the engine's own history is silent too and the next reply starts from a clean
 * state, with the room's echo path it already learnt. An engine that delays its output
 * (LowBandAec: 2.9 ms) fades between the capture and its delayed output on both switches
 * (resume, release) so that neither repeats nor skips a step of the waveform: no click.
 */
import type { EchoReference } from './echo-reference.js';

/** An echo canceller working on fixed blocks (libspeexdsp, or a test double). */
export interface AecEngine {
  /** Samples per `process()` call. */
  readonly frameSize: number;
  /** Removes from `rec` the echo of `ref` (same length, `frameSize`), writing `out`. */
  process(rec: Int16Array, ref: Int16Array, out: Int16Array): void;
  /**
   * Called before the first block after frames were passed through, with the capture just
   * before it (null when there was none): an engine that keeps history of its own (LowBandAec)
   * takes it from there instead of from the end of the previous reply.
   */
  resume?(previous: Int16Array | null): void;
  /**
   * Called with the first frame passed through after the engine worked: returns what to hand
   * on instead (a delaying engine fades from its delayed output to the capture across it).
   */
  release?(pcm: Int16Array): Int16Array;
  /** Frees the native state. Safe to call twice. */
  destroy(): void;
}

/**
 * The engine block size for a capture frame of `frameSamples`: 160 (10 ms) when it divides, else
 * a divisor. A whole 20 ms frame per call (320) was measured and is not used: it halves the calls
 * into libspeexdsp (CPU fed at once 0.45 against 0.6 % of a core here), but the keyword said over
 * a reply 6 dB louder than the talker was heard less often (held-out set 91.2 / 85.3 % against
 * 100 / 94.1 %, docs/benchmarks.md). Nor are 256-sample blocks over the 80 ms batch: a fifth
 * cheaper per second, but their cancellation depends more on the room's delay (ERLE over delays
 * of 17-61 ms: 15.9-28.4 dB against 19.0-25.2 dB for 160).
 */
export function engineFrameSize(frameSamples: number): number {
  for (const n of [160, 128, 80, 64]) if (frameSamples % n === 0) return n;
  return frameSamples;
}

export interface EchoCancellerStats {
  /** Capture frames passed through untouched. */
  passedFrames: number;
  /** Capture frames cleaned by the engine. */
  cancelledFrames: number;
}

export class EchoCanceller {
  readonly #engine: AecEngine;
  readonly #reference: EchoReference;
  readonly #tail: number;
  readonly #ref: Int16Array;
  readonly #rec: Int16Array;
  readonly #out: Int16Array;
  readonly stats: EchoCancellerStats = { passedFrames: 0, cancelledFrames: 0 };
  /** The latest frame passed through while the engine rested (null once it works again). */
  #passed: Int16Array | null = null;
  #resting = true;
  /** Whether the latest frame went through the engine (a released frame is a new array but was not). */
  #cancelled = false;

  /**
   * @param tailSamples how long after a reference sample its echo may still be heard (the
   *   engine's filter length)
   */
  constructor(engine: AecEngine, reference: EchoReference, tailSamples: number) {
    this.#engine = engine;
    this.#reference = reference;
    this.#tail = tailSamples;
    this.#ref = new Int16Array(engine.frameSize);
    this.#rec = new Int16Array(engine.frameSize);
    this.#out = new Int16Array(engine.frameSize);
  }

  /** True when the latest process() call ran the engine on its frame. */
  get lastCancelled(): boolean {
    return this.#cancelled;
  }

  /** True when the frame `[sampleIndex, sampleIndex + length)` may hold echo. */
  active(sampleIndex: number, length: number): boolean {
    return this.#reference.hasAudio(sampleIndex - this.#tail, sampleIndex + length);
  }

  /**
   * Returns the frame with the echo removed: `pcm` itself when nothing played within the
   * tail (but the first such frame with a delaying engine), else a new array. Samples after the last full engine block pass through unchanged.
   */
  process(pcm: Int16Array, sampleIndex: number): Int16Array {
    if (!this.active(sampleIndex, pcm.length)) {
      this.stats.passedFrames++;
      this.#cancelled = false;
      // Forget reference segments that can no longer echo.
      this.#reference.prune(sampleIndex - this.#tail);
      const handed = !this.#resting && this.#engine.release ? this.#engine.release(pcm) : pcm;
      this.#passed = pcm;
      this.#resting = true;
      return handed;
    }
    this.stats.cancelledFrames++;
    this.#cancelled = true;
    if (this.#resting) {
      // A capture driver that refills one array would hand this very frame back: no history then.
      this.#engine.resume?.(this.#passed === pcm ? null : this.#passed);
      this.#passed = null;
      this.#resting = false;
    }
    const n = this.#engine.frameSize;
    const result = Int16Array.from(pcm);
    for (let o = 0; o + n <= pcm.length; o += n) {
      this.#reference.read(this.#ref, sampleIndex + o, this.#tail);
      this.#rec.set(pcm.subarray(o, o + n));
      this.#engine.process(this.#rec, this.#ref, this.#out);
      result.set(this.#out, o);
    }
    return result;
  }

  destroy(): void {
    this.#engine.destroy();
  }
}
