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
import { EMBEDDING_SIZE, MEL_BINS, MEL_PER_CHUNK, MEL_WINDOW } from './features.js';
import { buildOnnx, int64Tensor, nodeProto, OnnxFormatError, parseOnnx, withInputs, type OnnxDim } from './onnx-proto.js';
import { MelFrontEnd } from './mel.js';
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
}

/**
 * Builds the two graphs from the embedding model's bytes. Throws OnnxFormatError, saying
 * what differs, when the model is not a stack of that shape.
 */
export function splitEmbeddingModel(bytes: Uint8Array): EmbeddingGraphBytes {
  const { model, streamNodes, longNodes, weights, consts, input, output, caches } = streamParts(bytes);
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
  return { stream, long, input, output, caches };
}

/** The stream graph with the keyword model after it (scoreStepGraph). */
export interface ScoredGraphBytes {
  bytes: Uint8Array;
  /** The extra input: the newest `frames - 1` embeddings before the step, oldest first ([1, frames - 1, 96]). */
  history: string;
  /** The keyword model's output: the score of the window ending at the step. */
  score: string;
}

/** Names of the extra input and the two nodes that join the step's embedding to the history. */
const HISTORY = '__keyword_history';
const JOIN_SHAPE = '__keyword_join_shape';
const JOINED_EMBEDDING = '__keyword_embedding';

/**
 * The streaming graph and the keyword model as one graph: the step's embedding joins the
 * `frames - 1` before it and the keyword model scores the window, in the same run. Each 80 ms
 * step is then one call into the runtime instead of two: after the process has been idle (the
 * audio comes every 20 ms), a call's fixed cost is most of what a small model costs (measured
 * here: 150-200 us for the keyword model's run in the real CLI, 40 us back to back).
 *
 * Throws OnnxFormatError, saying why, when the two cannot be joined as they are: the keyword
 * model needs another operator set than the embedding model, reads more than one input, or
 * uses a name the streaming graph uses. The engine then runs them apart (the same scores).
 * `scoreDims` is the keyword model's output shape (-1 where symbolic).
 */
export function scoreStepGraph(embeddingBytes: Uint8Array, keywordBytes: Uint8Array, frames: number, scoreDims: readonly number[]): ScoredGraphBytes {
  const { model, streamNodes, weights, consts, input, output, caches } = streamParts(embeddingBytes);
  const kw = parseOnnx(keywordBytes);
  for (const [domain, version] of kw.opsets) {
    if (model.opsets.get(domain) !== version) throw new OnnxFormatError(`the keyword model uses operator set ${domain || 'ai.onnx'} ${version}, the embedding model ${model.opsets.get(domain) ?? 'none'}`);
  }
  if (kw.inputs.length !== 1 || kw.outputs.length !== 1) throw new OnnxFormatError(`the keyword model has ${kw.inputs.length} inputs and ${kw.outputs.length} outputs, not one of each`);
  // Every name the streaming graph has: the model's, the caches', and ours (which start with __).
  const taken = new Set<string>([...model.initializers.keys(), ...model.nodes.flatMap((n) => [...n.inputs, ...n.outputs]), ...caches.flatMap((c, i) => [c.input, c.output, `cache_${i}_joined`])]);
  for (const name of [...kw.initializers.keys(), ...kw.nodes.flatMap((n) => [...n.inputs, ...n.outputs])]) {
    if (name !== '' && (taken.has(name) || name.startsWith('__'))) throw new OnnxFormatError(`the keyword model and the embedding model both use the name ${name}`);
  }
  const score = kw.outputs[0]!;
  const bytes = buildOnnx(model, {
    nodes: [
      ...streamNodes,
      // [1, 96, 1, 1] -> [1, 1, 96], after the history: the keyword model's [1, frames, 96].
      nodeProto('Reshape', [output, JOIN_SHAPE], [JOINED_EMBEDDING], `${JOINED_EMBEDDING}_reshape`),
      nodeProto('Concat', [HISTORY, JOINED_EMBEDDING], [kw.inputs[0]!], `${JOINED_EMBEDDING}_concat`, { axis: 1 }),
      ...kw.nodes.map((n) => n.raw),
    ],
    initializers: weights,
    constants: [...consts, int64Tensor(JOIN_SHAPE, [1, 1, EMBEDDING_SIZE]), ...[...kw.initializers.values()].map((t) => t.raw)],
    inputs: [[input, [1, 1, MEL_PER_CHUNK, MEL_BINS]], ...caches.map((c) => [c.input, cacheDims(c)] as const), [HISTORY, [1, frames - 1, EMBEDDING_SIZE]]],
    outputs: [[output, [1, EMBEDDING_SIZE, 1, 1]], ...caches.map((c) => [c.output, cacheDims(c)] as const), [score, scoreDims.map((d, i) => (d >= 0 ? d : `${HISTORY}_score_${i}`))]],
  });
  return { bytes, history: HISTORY, score };
}

/** A cache's shape in and out of the stream graph. */
const cacheDims = (c: CacheSpec): OnnxDim[] => [1, `${c.input}_channels`, c.frames, `${c.input}_bins`];

/** streamParts by model bytes: FastEmbedding.load builds both the graphs and the step graph from one file, parsed once. */
const partsOf = new WeakMap<Uint8Array, ReturnType<typeof takeApart>>();

/** The embedding model taken apart: the nodes of the two graphs (embedding-graphs' header comment). */
function streamParts(bytes: Uint8Array): ReturnType<typeof takeApart> {
  let parts = partsOf.get(bytes);
  if (!parts) partsOf.set(bytes, (parts = takeApart(bytes)));
  return parts;
}

function takeApart(bytes: Uint8Array) {
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
  return { model, streamNodes, longNodes, weights, consts, input, output, caches };
}

/** The mel model, for its JavaScript form (FastEmbedding.load). */
export interface MelModel {
  bytes: Uint8Array;
  model: OwwModel;
  /** Why the model keeps computing the mel frames (its JavaScript form did not load or agree), for a debug line. */
  onModel?: (reason: string) => void;
}

/** The keyword model, for the step graph that scores as it embeds (FastEmbedding.load). */
export interface KeywordModel {
  bytes: Uint8Array;
  model: OwwModel;
  /** Embeddings it reads. */
  frames: number;
  /** Why the steps run it apart (it cannot be joined, or the joined graph does not agree), for a debug line. */
  onApart?: (reason: string) => void;
}

/** The step graph with the keyword model in it, loaded. */
interface Scored {
  graph: OwwGraph;
  history: string;
  score: string;
  frames: number;
}

/**
 * The two graphs loaded: embeddings by step and by batch; the mel front end in JavaScript, when
 * given the mel model; and, when given the keyword model, the step graph that also scores.
 */
export class FastEmbedding {
  readonly #g: { stream: OwwGraph; long: OwwGraph };
  readonly #spec: EmbeddingGraphBytes;
  /** The mel model computed in JavaScript (mel.ts), when it loaded and agreed with the model; else null (the model runs). */
  mel: MelFrontEnd | null = null;
  /** Streaming steps and whole-window primes run so far, over every stream (benches and tests). */
  steps = 0;
  primes = 0;
  /** The step graph with the keyword model in it, when it loaded and agreed; else null (the keyword model runs apart). */
  #scored: Scored | null = null;

  private constructor(graphs: { stream: OwwGraph; long: OwwGraph }, spec: EmbeddingGraphBytes) {
    this.#g = graphs;
    this.#spec = spec;
  }

  /**
   * Builds and loads the graphs from the embedding model's bytes, and checks them against the
   * stock model (`whole`) on a test signal. Rejects, saying why, when either fails. After it
   * resolves, `whole` is not needed by anything that uses this.
   */
  static async load(runtime: OwwRuntime, bytes: Uint8Array, whole: OwwModel, mel?: MelModel, keyword?: KeywordModel): Promise<FastEmbedding> {
    if (!runtime.loadGraph) throw new Error('the runtime cannot load graphs from memory');
    const spec = splitEmbeddingModel(bytes);
    const loaded: OwwGraph[] = [];
    try {
      for (const [name, b] of [['stream', spec.stream], ['long', spec.long]] as const) loaded.push(await runtime.loadGraph(b, `the embedding model's ${name} graph`));
      const [stream, long] = loaded as [OwwGraph, OwwGraph];
      const fast = new FastEmbedding({ stream, long }, spec);
      await fast.#check(whole);
      if (mel) {
        // A bonus: when it cannot be read or does not agree, the model computes the mel frames.
        try {
          const front = MelFrontEnd.fromModel(mel.bytes);
          await front.check(mel.model);
          fast.mel = front;
        } catch (err) {
          mel.onModel?.(err instanceof Error ? err.message : String(err));
        }
      }
      if (keyword) await fast.#loadScored(runtime, bytes, keyword);
      return fast;
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

  /** Whether a step given the history scores too (the keyword model is in the step graph). */
  get scores(): boolean {
    return this.#scored !== null;
  }

  /**
   * @internal (EmbeddingStream) With `history` (the newest `frames - 1` embeddings before this
   * step) and the step graph that scores, the score of the window ending at the step too.
   */
  async run(prime: boolean, mel: Float32Array, caches: readonly OwwTensor[], history?: Float32Array): Promise<{ embedding: Float32Array; caches: OwwTensor[]; score: number | null }> {
    const s = this.#spec;
    const feeds: Record<string, OwwTensor> = { [s.input]: { data: mel, dims: [1, 1, prime ? MEL_WINDOW : MEL_PER_CHUNK, MEL_BINS] } };
    if (!prime) s.caches.forEach((c, i) => (feeds[c.input] = caches[i]!));
    const scored = !prime && history ? this.#scored : null;
    if (scored) feeds[scored.history] = { data: history!, dims: [1, scored.frames - 1, EMBEDDING_SIZE] };
    // Priming is the long graph on one window: its caches are the window's.
    const out = await (prime ? this.#g.long : (scored?.graph ?? this.#g.stream)).run(feeds);
    if (prime) this.primes++;
    else this.steps++;
    return { embedding: out[s.output]!.data, caches: s.caches.map((c) => out[c.output]!), score: scored ? out[scored.score]!.data[0]! : null };
  }

  async release(): Promise<void> {
    for (const g of [this.#g.stream, this.#g.long, this.#scored?.graph]) await g?.release().catch(() => undefined);
    this.#scored = null;
  }

  /**
   * Loads the step graph with the keyword model in it (scoreStepGraph) and checks it against
   * the stream and the keyword model apart on the test signal; when it cannot be built or does
   * not agree (to 1e-5), the steps go on without it and `onApart` says why.
   */
  async #loadScored(runtime: OwwRuntime, bytes: Uint8Array, keyword: KeywordModel): Promise<void> {
    let graph: OwwGraph | null = null;
    try {
      const g = scoreStepGraph(bytes, keyword.bytes, keyword.frames, keyword.model.outputShape);
      graph = await runtime.loadGraph!(g.bytes, "the embedding model's step graph with the keyword model");
      const scored: Scored = { graph, history: g.history, score: g.score, frames: keyword.frames };
      const n = keyword.frames;
      // A history of embeddings in their range (about -10 to 60 here), then three steps of the test signal.
      const history = new Float32Array(n * EMBEDDING_SIZE);
      for (let i = 0; i < history.length; i++) history[i] = 20 + 25 * Math.sin(i / 7);
      const mel = testMel(MEL_WINDOW + MEL_PER_CHUNK * 3);
      const counts = [this.steps, this.primes];
      const apart = this.stream();
      const joined = this.stream();
      await apart.prime(mel.subarray(0, MEL_WINDOW * MEL_BINS));
      joined.copyFrom(apart);
      let worst = 0;
      for (let w = 1; w <= 3; w++) {
        const frames = mel.subarray((MEL_WINDOW + (w - 1) * MEL_PER_CHUNK) * MEL_BINS, (MEL_WINDOW + w * MEL_PER_CHUNK) * MEL_BINS);
        this.#scored = scored;
        const emb = await joined.step(frames, history.subarray(EMBEDDING_SIZE));
        this.#scored = null;
        const want = await apart.step(frames);
        history.copyWithin(0, EMBEDDING_SIZE);
        history.set(want.subarray(0, EMBEDDING_SIZE), (n - 1) * EMBEDDING_SIZE);
        const score = (await keyword.model.run(history, [1, n, EMBEDDING_SIZE]))[0]!;
        worst = Math.max(worst, Math.abs(score - (joined.score ?? Number.NaN)));
        for (let c = 0; c < EMBEDDING_SIZE; c++) worst = Math.max(worst, Math.abs(want[c]! - emb[c]!));
      }
      [this.steps, this.primes] = counts as [number, number];
      if (!(worst <= 1e-5)) throw new OnnxFormatError(`the step graph with the keyword model differs from the two apart by ${worst.toExponential(2)}`);
      this.#scored = scored;
    } catch (err) {
      this.#scored = null;
      await graph?.release().catch(() => undefined);
      keyword.onApart?.(err instanceof Error ? err.message : String(err));
    }
  }

  /** The graphs must reproduce the stock model on four windows of a test signal (at once, and primed then streamed). */
  async #check(whole: OwwModel): Promise<void> {
    const windows = 4;
    const frames = MEL_WINDOW + MEL_PER_CHUNK * (windows - 1);
    const mel = testMel(frames);
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

/** The test signal the graphs are checked on: `frames` mel frames in the range of scaled mel frames (about -1 to 4), with some structure in time. */
function testMel(frames: number): Float32Array {
  const mel = new Float32Array(frames * MEL_BINS);
  let x = 0x1234567;
  for (let i = 0; i < mel.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    mel[i] = (x / 2 ** 32) * 3 - 1 + Math.sin(i / 97);
  }
  return mel;
}

/**
 * One history's streaming state: `prime` on a whole window, then `step` with each 8 new frames.
 * The caches are the runtime's output tensors, never changed: copying a state copies references.
 */
export class EmbeddingStream {
  readonly #fast: FastEmbedding;
  #caches: OwwTensor[] | null = null;
  /** The keyword model's score from the latest step, when it scored (step with a history); else null. */
  score: number | null = null;

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
    this.score = null;
    const r = await this.#fast.run(true, window, []);
    this.#caches = r.caches;
    return r.embedding;
  }

  /**
   * The embedding of the window 8 frames after the previous one; `frames` holds those 8. Given
   * `history` (the newest `frames - 1` embeddings before this one, oldest first) and a step
   * graph that scores, `score` is then the keyword model's score of the window ending here.
   */
  async step(frames: Float32Array, history?: Float32Array): Promise<Float32Array> {
    if (!this.#caches) throw new Error('EmbeddingStream.prime() first');
    const r = await this.#fast.run(false, frames, this.#caches, history);
    this.#caches = r.caches;
    this.score = r.score;
    return r.embedding;
  }
}
