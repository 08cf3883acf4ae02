/**
 * An engine of Porcupine's shape for the wake-word adapter: it "hears" keyword k in any frame
 * holding the marker sample MARK + k. Strict: a frame of the wrong length, or a frame after
 * `release()`, throws (the real engine would crash or misbehave).
 */
import type { EngineRequest, PorcupineEngine } from '../../src/drivers/porcupine/engine.js';

/** Marker sample values: a frame containing MARK + k makes the engine report keyword k. */
export const MARK = 30000;

export class ScriptedEngine implements PorcupineEngine {
  readonly frameLength: number;
  readonly sampleRate = 16000;
  /** First sample of every frame processed, in order. */
  readonly firsts: number[] = [];
  released = 0;
  throwOnNext: Error | null = null;
  constructor(
    readonly request: EngineRequest,
    frameLength = 512,
  ) {
    this.frameLength = frameLength;
  }
  process(frame: Int16Array): number {
    if (this.released) throw new Error('ScriptedEngine.process(): the engine was released');
    if (frame.length !== this.frameLength) throw new Error(`bad frame length ${frame.length}`);
    if (this.throwOnNext) throw this.throwOnNext;
    this.firsts.push(frame[0]!);
    for (let i = 0; i < frame.length; i++) if (frame[i]! >= MARK) return frame[i]! - MARK;
    return -1;
  }
  release(): void {
    this.released++;
  }
}
