/**
 * The slice of onnxruntime-node the openWakeWord pipeline uses, behind a small interface so the
 * pipeline can be tested with scripted models and the native runtime is imported only when the
 * engine is chosen.
 *
 * onnxruntime-node ships prebuilt binaries for linux-x64 and linux-arm64 only: on a 32-bit
 * Raspberry Pi OS (armhf) there is nothing to load, so that case is reported before importing.
 */

import type * as OrtNode from 'onnxruntime-node';
import { EMBEDDING_SIZE } from './features.js';

/** One loaded model with a single float32 input and a single float32 output. */
export interface OwwModel {
  /** Input shape from the model file; symbolic dimensions are -1. */
  readonly inputShape: readonly number[];
  /** Output shape from the model file; symbolic dimensions are -1. */
  readonly outputShape: readonly number[];
  /**
   * Runs the model on `input` (shape `dims`) and returns the output data. The input array may be
   * reused by the caller after the promise settles. Rejects when the runtime fails.
   */
  run(input: Float32Array, dims: readonly number[]): Promise<Float32Array>;
  /** Frees the native session. Safe to call twice. */
  release(): Promise<void>;
}

/** A tensor in or out of an OwwGraph (float32). */
export interface OwwTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** A model with named float32 inputs and outputs, built in memory (embedding-graphs.ts). */
export interface OwwGraph {
  /**
   * Runs the graph. A tensor returned by an earlier run may be fed back as it is; outputs are
   * new tensors, never changed afterwards. Rejects when the runtime fails.
   */
  run(feeds: Readonly<Record<string, OwwTensor>>): Promise<Record<string, OwwTensor>>;
  release(): Promise<void>;
}

/** Loads models from `.onnx` files. */
export interface OwwRuntime {
  /** Rejects with an error naming the file when it is missing or not an ONNX model. */
  load(file: string): Promise<OwwModel>;
  /** Loads a model from its bytes (`label` names it in errors); runtimes without it make the engine use the stock graphs only. */
  loadGraph?(bytes: Uint8Array, label: string): Promise<OwwGraph>;
}

/** The engine cannot run here; `reason` says why and what to do. */
export class OwwUnavailableError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'OwwUnavailableError';
  }
}

/** CPU architectures onnxruntime-node has binaries for on Linux. */
export const ONNX_ARCHES = ['x64', 'arm64'] as const;

/** Why onnxruntime-node cannot run on `arch`, or undefined when it can. */
export function archProblem(arch: string = process.arch): string | undefined {
  if ((ONNX_ARCHES as readonly string[]).includes(arch)) return undefined;
  if (arch === 'arm') {
    return 'openWakeWord needs a 64-bit OS: onnxruntime-node has no build for 32-bit ARM (armhf); install Raspberry Pi OS (64-bit), or use wake.engine porcupine or the button';
  }
  return `openWakeWord needs onnxruntime-node, which has no build for this CPU (${arch}); use wake.engine porcupine or the button`;
}

type OrtModule = typeof OrtNode;
type Tensor = InstanceType<OrtModule['Tensor']>;

/** One loaded session, whichever way it is called. */
interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Shapes from the model file; symbolic dimensions are -1. */
  readonly inputShapes: readonly (readonly number[])[];
  readonly outputShapes: readonly (readonly number[])[];
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> | Record<string, Tensor>;
  release(): void | Promise<void>;
}

/** onnxruntime-node's native session (its `dist/binding.js`), as its own typings describe it. */
interface NativeSession {
  loadModel(path: string, options: object): void;
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: readonly { name: string; shape: readonly number[] }[];
  readonly outputMetadata: readonly { name: string; shape: readonly number[] }[];
  run(feeds: Record<string, Tensor>, fetches: Record<string, null>, options: object): Record<string, Tensor>;
  dispose(): void;
}
interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt: () => void;
}

/**
 * The package's native session class, when it is there as onnxruntime-node 1.x ships it; else
 * null (the public API then serves, the same results). The public `InferenceSession.run` wraps
 * each run of that synchronous class in a promise resolved from `setImmediate`, and checks and
 * re-wraps every input and output in JavaScript: per 80 ms step a turn of the event loop and
 * two dozen objects more, which after the process has been idle cost more than a small run
 * itself (docs/benchmarks.md).
 */
async function nativeBinding(): Promise<NativeBinding | null> {
  try {
    const mod = (await import('onnxruntime-node/dist/binding.js')) as Partial<NativeBinding> & { default?: Partial<NativeBinding> };
    const b = typeof mod.initOrt === 'function' ? mod : mod.default;
    if (typeof b?.initOrt !== 'function' || typeof b.binding?.InferenceSession !== 'function') return null;
    return b as NativeBinding;
  } catch {
    return null;
  }
}

/**
 * The real runtime: imports onnxruntime-node on first use. One intra-op thread and sequential
 * execution: the models are small, and on a Pi the other cores are better left to the rest of
 * the agent (measured: a second thread made each run slower here).
 */
export async function loadOnnxRuntime(arch: string = process.arch, options: { native?: boolean } = {}): Promise<OwwRuntime> {
  const problem = archProblem(arch);
  if (problem) throw new OwwUnavailableError(problem);
  let ort: OrtModule;
  try {
    const mod = (await import('onnxruntime-node')) as OrtModule & { default?: OrtModule };
    // onnxruntime-node is CommonJS: under ESM the API may sit on the default export.
    ort = mod.InferenceSession ? mod : mod.default!;
  } catch (err) {
    throw new OwwUnavailableError(
      `onnxruntime-node is not installed or does not load (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): ` +
        'run "npm install onnxruntime-node" in the agent directory (64-bit OS only)',
      { cause: err },
    );
  }
  const sessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' } as const;
  // `native: false` (tests): the public API, as when the package has no native session class.
  const native = options.native === false ? null : await nativeBinding();
  const open = async (source: string | Uint8Array): Promise<Session> => {
    if (native) {
      native.initOrt();
      const s = new native.binding.InferenceSession();
      if (typeof source === 'string') s.loadModel(source, sessionOptions);
      else s.loadModel(source.buffer, source.byteOffset, source.byteLength, sessionOptions);
      const fetches = Object.fromEntries(s.outputMetadata.map((m) => [m.name, null]));
      return {
        inputNames: s.inputMetadata.map((m) => m.name),
        outputNames: s.outputMetadata.map((m) => m.name),
        inputShapes: s.inputMetadata.map((m) => m.shape),
        outputShapes: s.outputMetadata.map((m) => m.shape),
        run: (feeds) => s.run(feeds, fetches, {}),
        release: () => s.dispose(),
      };
    }
    const s = typeof source === 'string' ? await ort.InferenceSession.create(source, sessionOptions) : await ort.InferenceSession.create(source, sessionOptions);
    const shapeOf = (m: unknown): number[] => ((m as { shape?: (number | string)[] }).shape ?? []).map((d) => (typeof d === 'number' ? d : -1));
    return {
      inputNames: s.inputNames,
      outputNames: s.outputNames,
      inputShapes: s.inputMetadata.map(shapeOf),
      outputShapes: s.outputMetadata.map(shapeOf),
      run: async (feeds) => (await s.run(feeds)) as Record<string, Tensor>,
      release: () => s.release(),
    };
  };
  const openOrSay = async (source: string | Uint8Array, label: string): Promise<Session> => {
    try {
      return await open(source);
    } catch (err) {
      throw new OwwUnavailableError(`cannot load ${label} (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`, { cause: err });
    }
  };
  return {
    async loadGraph(bytes: Uint8Array, label: string): Promise<OwwGraph> {
      const session = await openOrSay(bytes, label);
      // A tensor the caller made is wrapped once per buffer and shape; the runtime's own outputs go back as they are.
      const wrapped = new WeakMap<Float32Array, { key: string; tensor: Tensor }>();
      let released = false;
      return {
        async run(feeds) {
          const input: Record<string, Tensor> = {};
          for (const [name, t] of Object.entries(feeds)) {
            if (t instanceof ort.Tensor) {
              input[name] = t;
              continue;
            }
            const key = t.dims.join('x');
            let entry = wrapped.get(t.data);
            if (!entry || entry.key !== key) {
              entry = { key, tensor: new ort.Tensor('float32', t.data, t.dims as number[]) };
              wrapped.set(t.data, entry);
            }
            input[name] = entry.tensor;
          }
          return (await session.run(input)) as unknown as Record<string, OwwTensor>;
        },
        async release() {
          if (released) return;
          released = true;
          await session.release();
        },
      };
    },
    async load(file: string): Promise<OwwModel> {
      const session = await openOrSay(file, `the model ${file}`);
      const inputName = session.inputNames[0]!;
      const outputName = session.outputNames[0]!;
      let released = false;
      // One tensor per input buffer and shape: the binding reads the data at run time, so a
      // reused buffer needs no new tensor per call.
      const tensors = new Map<Float32Array, { key: string; tensor: Tensor }>();
      return {
        inputShape: session.inputShapes[0] ?? [],
        outputShape: session.outputShapes[0] ?? [],
        async run(input, dims) {
          const key = dims.join('x');
          let entry = tensors.get(input);
          if (!entry || entry.key !== key) {
            entry = { key, tensor: new ort.Tensor('float32', input, dims as number[]) };
            if (tensors.size > 8) tensors.clear();
            tensors.set(input, entry);
          }
          const out = await session.run({ [inputName]: entry.tensor });
          return out[outputName]!.data as Float32Array;
        },
        async release() {
          if (released) return;
          released = true;
          tensors.clear();
          await session.release();
        },
      };
    },
  };
}

/** The number of embeddings a keyword model reads (its input is [1, N, 96]). */
export function keywordInputFrames(model: OwwModel, file: string): number {
  const [, n, width] = model.inputShape;
  const outputs = model.outputShape[model.outputShape.length - 1];
  if (model.inputShape.length !== 3 || width !== EMBEDDING_SIZE || !(n! > 0)) {
    throw new OwwUnavailableError(`${file} is not an openWakeWord keyword model (input shape [${model.inputShape.join(', ')}], expected [1, N, 96])`);
  }
  if (outputs !== 1) {
    throw new OwwUnavailableError(`${file} scores ${outputs} classes; only single-keyword models (one score) can be a wake word`);
  }
  return n!;
}

/** Releases every model, ignoring failures. */
export async function releaseAll(models: OwwModel[]): Promise<void> {
  for (const m of models) {
    try {
      await m.release();
    } catch {
      // Releasing a broken session may throw; there is nothing left to free.
    }
  }
}
