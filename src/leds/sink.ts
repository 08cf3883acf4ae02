/** Where LED frames go: an APA102 strip, a single LED, or a test recorder. */
import type { Rgb } from './patterns.js';

export interface LedSink {
  /** Number of LEDs a frame should hold. */
  readonly count: number;
  /** Shows one frame (`count` colours). Sinks skip frames identical to the last one. */
  show(frame: readonly Rgb[]): void;
  /** Turns the LEDs off and releases the device. Safe twice. */
  close(): Promise<void>;
}
