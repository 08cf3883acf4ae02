/**
 * The slice of Porcupine the adapter uses, and the factory that builds the real engine.
 * The adapter takes a factory, so tests pass an engine of the same shape and the native
 * package is imported only when a real engine is first built.
 */

import type * as PorcupineNode from '@picovoice/porcupine-node';

/** What the adapter needs from a Porcupine instance (matches `Porcupine` in porcupine-node 4.x). */
export interface PorcupineEngine {
  /** Samples per `process()` call (512 at 16 kHz today; always read it, never assume). */
  readonly frameLength: number;
  /** Sample rate the engine expects, Hz. */
  readonly sampleRate: number;
  /** Runs one frame of exactly `frameLength` samples; returns the keyword index or -1. */
  process(frame: Int16Array): number;
  /** Frees the native handle. Called once. */
  release(): void;
}

/** Everything needed to build an engine. `accessKey` is a secret: never log this object. */
export interface EngineRequest {
  accessKey: string;
  /** Built-in keyword names or `.ppn` paths, in detection-index order. */
  keywords: string[];
  /** One per keyword, 0-1. */
  sensitivities: number[];
  modelPath?: string;
  libraryPath?: string;
}

/** Builds an engine; throws (porcupine-node's error classes) when it cannot. */
export type EngineFactory = (request: EngineRequest) => PorcupineEngine | Promise<PorcupineEngine>;

/** Thrown when `@picovoice/porcupine-node` itself cannot be loaded (not installed, broken). */
export class PorcupineMissingError extends Error {
  constructor(cause: unknown) {
    super('@picovoice/porcupine-node is not installed or failed to load', { cause });
    this.name = 'PorcupineMissingError';
  }
}

/**
 * The real factory: imports `@picovoice/porcupine-node` on first use (an optional dependency,
 * so its absence only turns the wake word off).
 */
export function realEngineFactory(): EngineFactory {
  return async (request) => {
    let mod: typeof PorcupineNode;
    try {
      mod = await import('@picovoice/porcupine-node');
    } catch (err) {
      throw new PorcupineMissingError(err);
    }
    // porcupine-node is CommonJS: under ESM the class may sit on the default export.
    const Porcupine = mod.Porcupine ?? (mod as unknown as { default: typeof mod }).default.Porcupine;
    const options: { modelPath?: string; libraryPath?: string } = {};
    if (request.modelPath) options.modelPath = request.modelPath;
    if (request.libraryPath) options.libraryPath = request.libraryPath;
    return new Porcupine(request.accessKey, request.keywords, request.sensitivities, options);
  };
}
