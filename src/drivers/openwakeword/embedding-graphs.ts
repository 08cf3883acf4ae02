/**
 * The speech-embedding model, run without recomputing what the previous step computed.
 *
 * openWakeWord's embedding model reads 76 mel frames and is a stack of convolutions (kernels 1
 * or 3 frames long in time, no padding in time, stride 1) with leaky ReLUs and max-pools (2 or 1
 * frames in time, stride equal to the kernel), ending in one 96-value vector. The windows the
 * engine embeds step by 8 frames, and the pools halve time three times (8 = 2 x 2 x 2), so a
 * window shares all but its newest frames, at every layer, with the window before it: about
 * seven eighths of each run recomputes the previous run.
 *
 * From the installed model file (its own weights, read at start-up; nothing is copied into this
 * repository) two graphs are built in memory (onnx-proto.ts):
 * - `stream`: the 8 new mel frames plus, for each convolution k frames long in time, the last
 *   k - 1 frames of its input from the previous step (a cache), giving the embedding and the
 *   new caches. Every layer computes only its new frames.
 * - `long`: the model on any number of frames (76 + 8(K - 1)), giving the K embeddings of the
 *   windows stepped by 8 in one pass that shares their common work (the second look's copies,
 *   the half steps), and the caches after the last window: on one window it primes the stream
 *   (after a reset, or when the caller's windows do not continue the previous step).
 * With both loaded, the stock model is not needed any more and the engine releases it.
 *
 * Nothing is assumed beyond the shape checks: at load, both graphs must give the stock
 * model's embeddings on a test signal (to 1e-4), else the engine uses the stock model alone
 * (slower, same scores). Measured here: 0.32 ms per step against 1.24 ms for the stock model,
 * and 5.9 ms for 30 windows at once against 36.5 ms.
 */
import { CHUNK_SAMPLES, EMBEDDING_SIZE, MEL_BINS, MEL_CONTEXT, MEL_PER_CHUNK, MEL_WINDOW } from './features.js';
import { buildOnnx, floatTensor, int64Tensor, nodeProto, OnnxFormatError, parseOnnx, renamedInitializer, renamedNode, withInputs, type OnnxDim, type OnnxModel } from './onnx-proto.js';
import type { OwwGraph, OwwModel, OwwRuntime, OwwTensor } from './runtime.js';

/** A cached convolution input: its name in the stream graph, and the frames kept. */
interface CacheSpec {
  input: string;
  output: string;
  frames: number;
}

export interface EmbeddingGraphBytes {
  stream: Uint8Array;
  long: Uint8Array;
  /** The graphs' input (mel frames, [1, 1, T, 32]) and output ([1, 96, K, 1]) names. */
  input: string;
  output: string;
  caches: CacheSpec[];
  /** What the fused step graph (fuseStepModel) is built from. */
  parts: { model: OnnxModel; streamNodes: Uint8Array[]; weights: string[]; constants: Uint8Array[] };
}

/**
 * Builds the two graphs from the embedding model's bytes. Throws OnnxFormatError, saying
 * what differs, when the model is not a stack of that shape.
 */
export function splitEmbeddingModel(bytes: Uint8Array): EmbeddingGraphBytes {
  const model = parseOnnx(bytes);
  const nodes = model.nodes;
  if (nodes.length < 3 || nodes[0]!.op !== 'Reshape' || nodes.at(-1)!.op !== 'Reshape') throw new OnnxFormatError('the model does not start and end with a Reshape');
  const body = nodes.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const n = body[i]!;
    const prev = i === 0 ? nodes[0]! : body[i - 1]!;
    if (n.inputs[0] !== prev.outputs[0] || n.outputs.length !== 1) throw new OnnxFormatError(`node ${i + 1} (${n.op}) does not continue the one before it`);
    for (const extra of n.inputs.slice(1)) if (!model.initializers.has(extra)) throw new OnnxFormatError(`node ${i + 1} (${n.op}) reads ${extra}, which is not a weight`);
  }
  // Frames in time a window needs, and the time reduction, from the output back.
  let window = 1;
  let reduction = 1;
  const caches: CacheSpec[] = [];
  const timeKernel = new Map<number, number>();
  for (let i = body.length - 1; i >= 0; i--) {
    const n = body[i]!;
    const a = (k: string, d: number[]): number[] => n.attrs.get(k) ?? d;
    if (n.op === 'Conv') {
      const w = model.initializers.get(n.inputs[1]!)!.dims;
      const [padTop, , padBottom] = a('pads', [0, 0, 0, 0]);
      if (w.length !== 4 || a('strides', [1, 1]).some((s) => s !== 1) || a('dilations', [1, 1]).some((s) => s !== 1) || a('group', [1])[0] !== 1 || padTop !== 0 || padBottom !== 0) {
        throw new OnnxFormatError(`convolution ${i + 1} is not a plain 2-D convolution without padding in time`);
      }
      timeKernel.set(i, w[2]!);
      window += w[2]! - 1;
    } else if (n.op === 'MaxPool') {
      const [k] = a('kernel_shape', [1, 1]);
      const [s] = a('strides', [1, 1]);
      if (k !== s || a('pads', [0, 0, 0, 0]).some((p) => p !== 0)) throw new OnnxFormatError(`pool ${i + 1} overlaps or pads in time`);
      window *= k!;
      reduction *= k!;
    } else if (n.op !== 'LeakyRelu' && n.op !== 'Max' && n.op !== 'Relu') {
      throw new OnnxFormatError(`node ${i + 1} is ${n.op}, which the streaming form does not handle`);
    }
  }
  if (window !== MEL_WINDOW || reduction !== MEL_PER_CHUNK) throw new OnnxFormatError(`the model reads ${window} frames and steps by ${reduction}, not ${MEL_WINDOW} and ${MEL_PER_CHUNK}`);
  const input = body[0]!.inputs[0]!;
  const output = body.at(-1)!.outputs[0]!;
  const weights = [...new Set(body.flatMap((n) => n.inputs.slice(1)))];
  const streamNodes: Uint8Array[] = [];
  const longNodes: Uint8Array[] = [];
  const constants = new Map<number, Uint8Array>();
  const axis = '__time_axis';
  const end = '__end';
  body.forEach((n, i) => {
    const k = timeKernel.get(i) ?? 1;
    if (k <= 1) {
      streamNodes.push(n.raw);
      longNodes.push(n.raw);
      return;
    }
    const start = `__last_${k - 1}`;
    if (!constants.has(k - 1)) constants.set(k - 1, int64Tensor(start, [-(k - 1)]));
    const c: CacheSpec = { input: `cache_${caches.length}_in`, output: `cache_${caches.length}_out`, frames: k - 1 };
    caches.push(c);
    const joined = `cache_${caches.length - 1}_joined`;
    const src = n.inputs[0]!;
    streamNodes.push(nodeProto('Concat', [c.input, src], [joined], `${joined}_concat`, { axis: 2 }));
    streamNodes.push(nodeProto('Slice', [joined, start, end, axis], [c.output], `${c.output}_slice`));
    streamNodes.push(withInputs(n, [joined, ...n.inputs.slice(1)]));
    longNodes.push(nodeProto('Slice', [src, start, end, axis], [c.output], `${c.output}_slice`));
    longNodes.push(n.raw);
  });
  const consts = [...constants.values(), int64Tensor(end, [2 ** 31 - 1]), int64Tensor(axis, [2])];
  const cacheDims = (c: CacheSpec): OnnxDim[] => [1, `${c.input}_channels`, c.frames, `${c.input}_bins`];
  const stream = buildOnnx(model, {
    nodes: streamNodes,
    initializers: weights,
    constants: consts,
    inputs: [[input, [1, 1, MEL_PER_CHUNK, MEL_BINS]], ...caches.map((c) => [c.input, cacheDims(c)] as const)],
    outputs: [[output, [1, EMBEDDING_SIZE, 1, 1]], ...caches.map((c) => [c.output, cacheDims(c)] as const)],
  });
  const long = buildOnnx(model, {
    nodes: longNodes,
    initializers: weights,
    constants: consts,
    inputs: [[input, [1, 1, 'frames', MEL_BINS]]],
    outputs: [[output, [1, EMBEDDING_SIZE, 'windows', 1]], ...caches.map((c) => [c.output, cacheDims(c)] as const)],
  });
  return { stream, long, input, output, caches, parts: { model, streamNodes, weights, constants: consts } };
}

/** The fused step graph's own names. */
const STEP = { audio: 'step_audio', mel: 'step_mel_frames', history: 'step_history', keywordInput: 'step_keyword_input', score: 'step_score' } as const;

/**
 * One graph for a whole 80 ms step: the mel model on the chunk and its 480 samples of context,
 * the scaling, the streaming embedding and the keyword model, so a step is one run of the
 * runtime instead of three (after the audio has been idle, each run first pays to bring the
 * runtime back into the caches: 0.3-0.4 ms here, more than the keyword model's own work).
 *
 * Inputs: the audio ([1, 1760]), the caches, and the previous `frames - 1` embeddings; outputs:
 * the 8 scaled mel frames, the new caches, the keyword model's input (those embeddings and the
 * new one) and its score. The mel model's names get a prefix (its names and the keyword
 * model's, both exported from PyTorch, overlap); the keyword model is kept as it is (its `If`
 * branches refer to its own names). Throws OnnxFormatError when the models do not fit together.
 */
export function fuseStepModel(split: EmbeddingGraphBytes, melBytes: Uint8Array, keywordBytes: Uint8Array, frames: number): Uint8Array {
  if (!(frames >= 2)) throw new OnnxFormatError(`a keyword model reading ${frames} embedding is not fused`);
  const mel = parseOnnx(melBytes);
  const kw = parseOnnx(keywordBytes);
  const { model: emb, streamNodes, weights, constants } = split.parts;
  if (mel.inputs.length !== 1 || mel.outputs.length !== 1 || kw.inputs.length !== 1 || kw.outputs.length !== 1) throw new OnnxFormatError('the mel and keyword models must have one input and one output each');
  const melName = (n: string): string => (n === mel.inputs[0] ? STEP.audio : `mel/${n}`);
  // Every name the graph defines, once: the keyword's and the embedding's as they are, the mel model's prefixed.
  const defined = new Map<string, string>();
  const define = (name: string, by: string): void => {
    if (!name) return;
    const other = defined.get(name);
    if (other !== undefined && other !== by) throw new OnnxFormatError(`the name ${name} is defined by both the ${other} and the ${by} model`);
    defined.set(name, by);
  };
  for (const [m, by, rename] of [[mel, 'mel', melName], [emb, 'embedding', (n: string) => n], [kw, 'keyword', (n: string) => n]] as const) {
    for (const n of m.nodes) for (const o of n.outputs) define(rename(o), by);
    for (const i of m.initializers.keys()) define(rename(i), by);
  }
  for (const own of [...Object.values(STEP), ...split.caches.flatMap((c) => [c.input, c.output])]) define(own, 'step');
  const c = { ten: 'step_ten', two: 'step_two', melShape: 'step_mel_shape', embShape: 'step_embedding_shape' };
  const nodes: Uint8Array[] = [
    ...mel.nodes.map((n) => renamedNode(n, melName)),
    // openWakeWord's scaling, x / 10 + 2, then [1, 1, 8, 32] for the embedding's first convolution.
    nodeProto('Div', [melName(mel.outputs[0]!), c.ten], ['step_mel_divided'], 'step_mel_divide'),
    nodeProto('Add', ['step_mel_divided', c.two], ['step_mel_scaled'], 'step_mel_add'),
    nodeProto('Reshape', ['step_mel_scaled', c.melShape], [STEP.mel], 'step_mel_reshape'),
    nodeProto('Identity', [STEP.mel], [split.input], 'step_embedding_in'),
    ...streamNodes,
    nodeProto('Reshape', [split.output, c.embShape], ['step_embedding'], 'step_embedding_reshape'),
    nodeProto('Concat', [STEP.history, 'step_embedding'], [STEP.keywordInput], 'step_history_concat', { axis: 1 }),
    nodeProto('Identity', [STEP.keywordInput], [kw.inputs[0]!], 'step_keyword_in'),
    ...kw.nodes.map((n) => n.raw),
    nodeProto('Identity', [kw.outputs[0]!], [STEP.score], 'step_keyword_out'),
  ];
  const inits = [
    ...[...mel.initializers].map(([name, t]) => renamedInitializer(t, melName(name))),
    ...[...kw.initializers.values()].map((t) => t.raw),
    ...constants,
    floatTensor(c.ten, [10], []),
    floatTensor(c.two, [2], []),
    int64Tensor(c.melShape, [1, 1, -1, MEL_BINS]),
    int64Tensor(c.embShape, [1, 1, EMBEDDING_SIZE]),
  ];
  const cacheDims = (x: CacheSpec): OnnxDim[] => [1, `${x.input}_channels`, x.frames, `${x.input}_bins`];
  return buildOnnx(emb, {
    nodes,
    initializers: weights,
    constants: inits,
    inputs: [[STEP.audio, [1, MEL_CONTEXT + CHUNK_SAMPLES]], ...split.caches.map((x) => [x.input, cacheDims(x)] as const), [STEP.history, [1, frames - 1, EMBEDDING_SIZE]]],
    outputs: [[STEP.mel, [1, 1, MEL_PER_CHUNK, MEL_BINS]], ...split.caches.map((x) => [x.output, cacheDims(x)] as const), [STEP.keywordInput, [1, frames, EMBEDDING_SIZE]], [STEP.score, ['score_rows', 'score_columns']]],
  });
}

/** The models the fused step is built from and checked against (FastEmbedding.load). */
export interface StepModels {
  melBytes: Uint8Array;
  keywordBytes: Uint8Array;
  mel: OwwModel;
  keyword: OwwModel;
  /** Embeddings the keyword model reads. */
  frames: number;
  /** Why the fused step is not used (it could not be built or did not agree), for a debug line. */
  onUnfused?: (reason: string) => void;
}

/** The two graphs loaded: embeddings by step and by batch; and, when given the mel and keyword models, the fused step. */
export class FastEmbedding {
  readonly #g: { stream: OwwGraph; long: OwwGraph; step?: OwwGraph };
  readonly #spec: EmbeddingGraphBytes;
  /** Streaming steps and whole-window primes run so far, over every stream (benches and tests). */
  steps = 0;
  primes = 0;

  /** Embeddings the fused step's keyword model reads, or 0 when there is no fused step. */
  readonly stepFrames: number;
  /** Fused steps run so far (benches and tests). */
  fusedSteps = 0;

  private constructor(graphs: { stream: OwwGraph; long: OwwGraph; step?: OwwGraph }, spec: EmbeddingGraphBytes, stepFrames: number) {
    this.#g = graphs;
    this.#spec = spec;
    this.stepFrames = graphs.step ? stepFrames : 0;
  }

  /**
   * Builds and loads the graphs from the embedding model's bytes, and checks them against the
   * stock model (`whole`) on a test signal. Rejects, saying why, when either fails. After it
   * resolves, `whole` is not needed by anything that uses this.
   */
  static async load(runtime: OwwRuntime, bytes: Uint8Array, whole: OwwModel, fuse?: StepModels): Promise<FastEmbedding> {
    if (!runtime.loadGraph) throw new Error('the runtime cannot load graphs from memory');
    const spec = splitEmbeddingModel(bytes);
    const loaded: OwwGraph[] = [];
    try {
      for (const [name, b] of [['stream', spec.stream], ['long', spec.long]] as const) loaded.push(await runtime.loadGraph(b, `the embedding model's ${name} graph`));
      const [stream, long] = loaded as [OwwGraph, OwwGraph];
      const fast = new FastEmbedding({ stream, long }, spec, 0);
      await fast.#check(whole);
      if (!fuse) return fast;
      // The fused step is a bonus: when it cannot be built or does not agree, the two graphs still serve.
      let step: OwwGraph | undefined;
      try {
        step = await runtime.loadGraph(fuseStepModel(spec, fuse.melBytes, fuse.keywordBytes, fuse.frames), 'the fused step graph');
        const fused = new FastEmbedding({ stream, long, step }, spec, fuse.frames);
        await fused.#checkStep(fuse);
        return fused;
      } catch (err) {
        await step?.release().catch(() => undefined);
        fuse.onUnfused?.(err instanceof Error ? err.message : String(err));
        return fast;
      }
    } catch (err) {
      for (const g of loaded) await g.release().catch(() => undefined);
      throw err;
    }
  }

  /** A streaming state for one feature history. */
  stream(): EmbeddingStream {
    return new EmbeddingStream(this);
  }

  /**
   * The embeddings of every window of `frames` mel frames (at the start of `mel`, 76 + 8(K - 1)
   * of them) stepped by 8: K x 96 values, oldest window first.
   */
  async windows(mel: Float32Array, frames: number): Promise<Float32Array> {
    const k = (frames - MEL_WINDOW) / MEL_PER_CHUNK + 1;
    if (!Number.isInteger(k) || k < 1 || mel.length < frames * MEL_BINS) throw new RangeError(`windows need 76 + 8k mel frames, got ${frames}`);
    const input = mel.length === frames * MEL_BINS ? mel : mel.subarray(0, frames * MEL_BINS);
    const out = await this.#g.long.run({ [this.#spec.input]: { data: input, dims: [1, 1, frames, MEL_BINS] } });
    const data = out[this.#spec.output]!.data;
    // [1, 96, K, 1] -> K x 96.
    const emb = new Float32Array(k * EMBEDDING_SIZE);
    for (let c = 0; c < EMBEDDING_SIZE; c++) for (let w = 0; w < k; w++) emb[w * EMBEDDING_SIZE + c] = data[c * k + w]!;
    return emb;
  }

  /** @internal (EmbeddingStream) */
  async run(prime: boolean, mel: Float32Array, caches: readonly OwwTensor[]): Promise<{ embedding: Float32Array; caches: OwwTensor[] }> {
    const s = this.#spec;
    const feeds: Record<string, OwwTensor> = { [s.input]: { data: mel, dims: [1, 1, prime ? MEL_WINDOW : MEL_PER_CHUNK, MEL_BINS] } };
    if (!prime) s.caches.forEach((c, i) => (feeds[c.input] = caches[i]!));
    // Priming is the long graph on one window: its caches are the window's.
    const out = await (prime ? this.#g.long : this.#g.stream).run(feeds);
    if (prime) this.primes++;
    else this.steps++;
    return { embedding: out[s.output]!.data, caches: s.caches.map((c) => out[c.output]!) };
  }

  /** @internal (EmbeddingStream) One fused step: `audio` is the chunk with its context, `history` the previous frames - 1 embeddings. */
  async runStep(audio: Float32Array, history: Float32Array, caches: readonly OwwTensor[]): Promise<{ mel: Float32Array; keywordInput: Float32Array; score: number; caches: OwwTensor[] }> {
    const s = this.#spec;
    const step = this.#g.step;
    if (!step) throw new Error('no fused step graph');
    const feeds: Record<string, OwwTensor> = { [STEP.audio]: { data: audio, dims: [1, audio.length] }, [STEP.history]: { data: history, dims: [1, this.stepFrames - 1, EMBEDDING_SIZE] } };
    s.caches.forEach((c, i) => (feeds[c.input] = caches[i]!));
    const out = await step.run(feeds);
    this.fusedSteps++;
    return { mel: out[STEP.mel]!.data, keywordInput: out[STEP.keywordInput]!.data, score: out[STEP.score]!.data[0]!, caches: s.caches.map((c) => out[c.output]!) };
  }

  async release(): Promise<void> {
    for (const g of [this.#g.stream, this.#g.long, this.#g.step]) await g?.release().catch(() => undefined);
  }

  /** The fused step must give what the mel model, the streamed embedding and the keyword model give one after the other, on three steps of a test signal. */
  async #checkStep(m: StepModels): Promise<void> {
    const audio = new Float32Array(MEL_CONTEXT + CHUNK_SAMPLES);
    let x = 0x2468ace;
    const next = (): void => {
      for (let i = 0; i < audio.length; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        audio[i] = Math.round(((x / 2 ** 32) * 2 - 1) * 3000 * Math.sin(i / 40));
      }
    };
    const window = new Float32Array(MEL_WINDOW * MEL_BINS).fill(1);
    const separate = this.stream();
    const fused = this.stream();
    await separate.prime(window);
    fused.copyFrom(separate);
    const n = m.frames;
    const history = new Float32Array(n * EMBEDDING_SIZE);
    for (let i = 0; i < history.length; i++) history[i] = Math.sin(i / 7);
    let worst = 0;
    let scale = 1;
    const diff = (a: ArrayLike<number>, b: ArrayLike<number>): void => {
      if (a.length !== b.length) throw new OnnxFormatError(`the fused step gives ${b.length} values where the models give ${a.length}`);
      for (let i = 0; i < a.length; i++) {
        scale = Math.max(scale, Math.abs(a[i]!));
        worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      }
    };
    for (let k = 0; k < 3; k++) {
      next();
      const melOut = Float32Array.from(await m.mel.run(audio, [1, audio.length]), (v) => v / 10 + 2);
      const emb = await separate.step(melOut);
      const want = new Float32Array(n * EMBEDDING_SIZE);
      want.set(history.subarray(EMBEDDING_SIZE));
      want.set(emb.subarray(0, EMBEDDING_SIZE), (n - 1) * EMBEDDING_SIZE);
      const score = (await m.keyword.run(want, [1, n, EMBEDDING_SIZE]))[0]!;
      const got = await fused.fusedStep(audio, history.subarray(EMBEDDING_SIZE));
      diff(melOut, got.mel);
      diff(want, got.keywordInput);
      diff([score], [got.score]);
      history.set(want);
    }
    if (!(worst <= 1e-4 * scale)) throw new OnnxFormatError(`the fused step differs from the models by ${worst.toExponential(2)}`);
  }

  /** The graphs must reproduce the stock model on four windows of a test signal (at once, and primed then streamed). */
  async #check(whole: OwwModel): Promise<void> {
    const windows = 4;
    const frames = MEL_WINDOW + MEL_PER_CHUNK * (windows - 1);
    const mel = new Float32Array(frames * MEL_BINS);
    let x = 0x1234567;
    for (let i = 0; i < mel.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      // Values in the range of scaled mel frames (about -1 to 4), with some structure in time.
      mel[i] = (x / 2 ** 32) * 3 - 1 + Math.sin(i / 97);
    }
    const expected: Float32Array[] = [];
    for (let w = 0; w < windows; w++) {
      const win = mel.slice(w * MEL_PER_CHUNK * MEL_BINS, (w * MEL_PER_CHUNK + MEL_WINDOW) * MEL_BINS);
      expected.push(Float32Array.from((await whole.run(win, [1, MEL_WINDOW, MEL_BINS, 1])).subarray(0, EMBEDDING_SIZE)));
    }
    const long = await this.windows(mel, frames);
    const stream = this.stream();
    const got: Float32Array[] = [await stream.prime(mel.slice(0, MEL_WINDOW * MEL_BINS))];
    for (let w = 1; w < windows; w++) got.push(Float32Array.from(await stream.step(mel.slice((MEL_WINDOW + (w - 1) * MEL_PER_CHUNK) * MEL_BINS, (MEL_WINDOW + w * MEL_PER_CHUNK) * MEL_BINS))));
    let worst = 0;
    let scale = 1;
    for (let w = 0; w < windows; w++) {
      for (let c = 0; c < EMBEDDING_SIZE; c++) {
        const e = expected[w]![c]!;
        scale = Math.max(scale, Math.abs(e));
        worst = Math.max(worst, Math.abs(long[w * EMBEDDING_SIZE + c]! - e), Math.abs(got[w]![c]! - e));
      }
    }
    if (!(worst <= 1e-4 * scale)) throw new OnnxFormatError(`the streaming graphs differ from the model by ${worst.toExponential(2)}`);
  }
}

/**
 * One history's streaming state: `prime` on a whole window, then `step` with each 8 new frames.
 * The caches are the runtime's output tensors, never changed: copying a state copies references.
 */
export class EmbeddingStream {
  readonly #fast: FastEmbedding;
  #caches: OwwTensor[] | null = null;

  constructor(fast: FastEmbedding) {
    this.#fast = fast;
  }

  /** Whether `step` can continue the previous window. */
  get primed(): boolean {
    return this.#caches !== null;
  }

  /** The next window does not continue the previous one. */
  invalidate(): void {
    this.#caches = null;
  }

  copyFrom(other: EmbeddingStream): void {
    this.#caches = other.#caches;
  }

  /** The embedding of one whole window (76 frames); the steps continue it. */
  async prime(window: Float32Array): Promise<Float32Array> {
    const r = await this.#fast.run(true, window, []);
    this.#caches = r.caches;
    return r.embedding;
  }

  /**
   * A whole step in one run (FastEmbedding.stepFrames > 0): the mel frames of `audio` (the chunk
   * with its 480 samples of context), scaled; the keyword model's input (`history`, the previous
   * frames - 1 embeddings, then the new one); its score. The stream continues from it.
   */
  async fusedStep(audio: Float32Array, history: Float32Array): Promise<{ mel: Float32Array; keywordInput: Float32Array; score: number }> {
    if (!this.#caches) throw new Error('EmbeddingStream.prime() first');
    const r = await this.#fast.runStep(audio, history, this.#caches);
    this.#caches = r.caches;
    return r;
  }

  /** The embedding of the window 8 frames after the previous one; `frames` holds those 8. */
  async step(frames: Float32Array): Promise<Float32Array> {
    if (!this.#caches) throw new Error('EmbeddingStream.prime() first');
    const r = await this.#fast.run(false, frames, this.#caches);
    this.#caches = r.caches;
    return r.embedding;
  }
}
