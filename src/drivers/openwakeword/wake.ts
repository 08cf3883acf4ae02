/**
 * WakeWord port over openWakeWord's models (mel spectrogram, speech embedding, keyword head) on
 * onnxruntime-node.
 *
 * - Fed from the one shared 16 kHz capture stream; a Framer cuts it into 40 ms halves of the
 *   80 ms chunks. The models run asynchronously, one after the other, so `feed()` only copies
 *   into a queue (pooled buffers: no allocation on the hot path).
 * - A chunk whose score reaches `threshold` counts; `triggerLevel` consecutive ones make a
 *   detection. `detected.sampleIndex` is the input index one past the chunk that completed it.
 *   The first 5 scores after start are ignored, as openWakeWord does while its buffers fill.
 * - Half steps: once a score reaches `halfStepArmScore` (a keyword may be under way), the audio
 *   is also scored 40 ms off the 80 ms grid, for a second (1 s after the last such score). A
 *   keyword whose score peaks between two steps is heard that way, 40 ms sooner at best; the
 *   second phase keeps its own trigger-level streak. While nothing scores, it costs nothing.
 * - Second look (second-look.ts): a score of 0.2 with no detection (at once; 240 ms later without
 *   the look-ahead), or the end of a keyword-long stretch of speech, has the last 2 s stretched
 *   (pitch kept) and scored again: fast speech the model under-scores.
 *   The scoring itself (steps, half steps, streaks, second look) is scorer.ts.
 * - Refractory period in audio samples (not wall clock) against double triggers.
 * - The session stops feeding during a turn (the uplink takes the audio). When feeding resumes
 *   after such a gap, the streaming state starts afresh (openWakeWord's `reset()`) with the
 *   warm-up again: otherwise the keyword that opened the turn, still in the history, would be
 *   joined to the new audio and open another turn.
 * - Self-trigger guard while the device speaks: `ignore` drops detections; `desensitise` raises
 *   the threshold to `guardThreshold`. Both scores come from the same model run, so the guard
 *   can change on any chunk.
 * - `noiseSuppression`: libspeexdsp's denoiser runs on the wake word's copy of each chunk before
 *   the mel model (noise.ts), except on audio the echo canceller already denoised. When
 *   libspeexdsp or koffi is missing, one warn line says so and the models hear the audio as it is.
 * - When the runtime or the models are missing (or the OS is 32-bit ARM), `start()` still
 *   resolves: status turns `{available:false, reason}`, one warn line, no retry.
 */
import { readFile } from 'node:fs/promises';
import { CORE_FORMAT } from '../../audio/format.js';
import type { WakeConfig } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import { OPENWAKEWORD_KEYWORDS } from '../../config/schema/wake.js';
import type { KeywordChoices, WakeStatus, WakeWord, WakeWordEvents } from '../../ports/wake-word.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { wasDenoised } from '../echo/denoised.js';
import { Framer } from '../porcupine/framer.js';
import { loadSpeexDsp, type SpeexDsp } from '../speex/speexdsp.js';
import { CHUNK_SAMPLES, HALF_SAMPLES, StreamingFeatures } from './features.js';

export { keywordInputFrames } from './runtime.js';
import { OWW_LICENCE_NOTICE, keywordLabel, resolveModelFiles, type OwwModelFiles } from './models.js';
import { loadNoiseSuppressor, type WakeNoiseSuppressor } from './noise.js';
import { FastEmbedding } from './embedding-graphs.js';
import { LookAhead, type LookAheadOptions } from './look-ahead.js';
import { StepScorer, type DetectionKind } from './scorer.js';
import { SecondLook, type LookResult, type SecondLookOptions } from './second-look.js';
import { keywordInputFrames, loadOnnxRuntime, OwwUnavailableError, releaseAll, type OwwModel, type OwwRuntime } from './runtime.js';

/** The second look's delay when the look-ahead is off (wake.lookAheadMs 0): 3 steps after the first score of 0.2. */
const SECOND_LOOK_ALONE_DELAY = [3];

/** Default score from which the half steps run (see OpenWakeWordOptions.halfStepArmScore). */
export const HALF_STEP_ARM_SCORE = 0.05;

export interface OpenWakeWordOptions {
  /** The `wake` config section. */
  config: WakeConfig;
  log: Logger;
  /** Loads the runtime; default imports onnxruntime-node lazily. */
  loadRuntime?: () => Promise<OwwRuntime>;
  /** Finds the model files of a keyword (`config.keyword`, or the one `setKeyword` chose); default in `config.modelDir`. */
  resolveModels?: (keyword: string) => OwwModelFiles;
  /** Loads libspeexdsp for `config.noiseSuppression`; default through koffi. */
  loadDsp?: () => Promise<SpeexDsp>;
  /**
   * Score (of either phase) from which the audio is also scored at the half steps, for 1 s
   * (default HALF_STEP_ARM_SCORE; 0: always, Infinity: never, openWakeWord's own 80 ms grid).
   */
  halfStepArmScore?: number;
  /** The second look at fast speech (second-look.ts); `lowScore: Infinity` turns it off. */
  secondLook?: SecondLookOptions;
  /** Audio queued for the models beyond which the oldest chunks are dropped, ms (default 3000). */
  maxBacklogMs?: number;
  /** Called with every chunk's score (for `wake check`, benches and tuning). */
  onScore?: (score: number, endSampleIndex: number) => void;
  /** Called after every second look with what its copies scored (benches). */
  onSecondLook?: (result: LookResult, endSampleIndex: number) => void;
  /** The look-ahead (look-ahead.ts) over the config's `lookAheadMs` and `lookAheadThreshold`: the benches' gate, padding and threshold. */
  lookAhead?: LookAheadOptions;
  /** Called after every look-ahead with its padded steps' scores (benches; a live view). */
  onLookAhead?: (scores: Float32Array, endSampleIndex: number) => void;
}

export class OpenWakeWord extends TypedEmitter<WakeWordEvents> implements WakeWord {
  readonly #cfg: WakeConfig;
  readonly #log: Logger;
  readonly #loadRuntime: () => Promise<OwwRuntime>;
  readonly #loadDsp: () => Promise<SpeexDsp>;
  readonly #resolveModels: (keyword: string) => OwwModelFiles;
  readonly #maxBacklog: number;
  readonly #onScore: ((score: number, endSampleIndex: number) => void) | undefined;
  /** The keyword listened for: `config.keyword` until `setKeyword` changes it. */
  #keywordId: string;
  #label: string;
  readonly #refractorySamples: number;
  readonly #armScore: number;
  readonly #lookOptions: SecondLookOptions;
  readonly #onSecondLook: ((result: LookResult, endSampleIndex: number) => void) | undefined;
  readonly #lookAheadOptions: LookAheadOptions;
  readonly #onLookAhead: ((scores: Float32Array, endSampleIndex: number) => void) | undefined;

  #running = false;
  #generation = 0;
  #models: OwwModel[] = [];
  #fast: FastEmbedding | null = null;
  #scorer: StepScorer | null = null;
  #noise: WakeNoiseSuppressor | null = null;
  #framer: Framer | null = null;
  /** Chunks waiting for the models, oldest first, with the input index one past each. */
  #queue: { pcm: Int16Array; end: number; reset: boolean }[] = [];
  /** The sample index the next fed frame continues from (-1: none fed yet). */
  #expected = -1;
  /** The next chunk starts after a gap: reset the streaming state before it. */
  #gap = false;
  #pool: Int16Array[] = [];
  #busy = false;
  #idle: (() => void)[] = [];
  #overrun = false;
  #guarded = false;
  #lastDetectionEnd = Number.NEGATIVE_INFINITY;
  #status: WakeStatus;

  constructor(options: OpenWakeWordOptions) {
    super();
    this.#cfg = options.config;
    this.#log = options.log;
    this.#loadRuntime = options.loadRuntime ?? (() => loadOnnxRuntime());
    this.#loadDsp = options.loadDsp ?? (() => loadSpeexDsp());
    this.#resolveModels = options.resolveModels ?? ((keyword) => resolveModelFiles({ keyword, modelDir: this.#cfg.modelDir }));
    this.#maxBacklog = Math.ceil(((options.maxBacklogMs ?? 3000) * CORE_FORMAT.sampleRate) / 1000 / HALF_SAMPLES);
    this.#armScore = options.halfStepArmScore ?? HALF_STEP_ARM_SCORE;
    this.#lookOptions = options.secondLook ?? {};
    this.#onSecondLook = options.onSecondLook;
    this.#lookAheadOptions = { padMs: this.#cfg.lookAheadMs, threshold: this.#cfg.lookAheadThreshold, ...options.lookAhead };
    this.#onLookAhead = options.onLookAhead;
    this.#onScore = options.onScore;
    this.#keywordId = this.#cfg.keyword;
    this.#label = keywordLabel(this.#keywordId);
    this.#refractorySamples = Math.round((this.#cfg.refractoryMs * CORE_FORMAT.sampleRate) / 1000);
    this.#status = this.#make(false, 'wake word not started yet');
  }

  /** Loads the runtime and the models. Never throws: failures set the status. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    const generation = this.#generation;
    const loaded: OwwModel[] = [];
    let fast: FastEmbedding | null = null;
    try {
      const files = this.#resolveModels(this.#keywordId);
      const runtime = await this.#loadRuntime();
      for (const f of [files.mel, files.embedding, files.keyword]) loaded.push(await runtime.load(f));
      const [mel, embedding, keyword] = loaded as [OwwModel, OwwModel, OwwModel];
      const frames = keywordInputFrames(keyword, files.keyword);
      fast = await this.#loadFast(runtime, files, embedding, mel, keyword, frames);
      if (fast) {
        // Every embedding now comes from the streaming and long forms, and with the JavaScript
        // mel front end every mel frame: those models go.
        for (const m of fast.mel ? [embedding, mel] : [embedding]) {
          loaded.splice(loaded.indexOf(m), 1);
          await m.release();
        }
      }
      const features = new StreamingFeatures(mel, embedding, frames, fast);
      await features.init();
      const lookAhead = new LookAhead(mel, embedding, keyword, frames, this.#lookAheadOptions, fast);
      // The look at once complements the look-ahead; without it, it would take detections from
      // the steps and make them wait for its compute, so only the look 3 steps later runs.
      const look = new SecondLook(mel, embedding, keyword, frames, { ...(!lookAhead.enabled && { delaySteps: SECOND_LOOK_ALONE_DELAY }), ...this.#lookOptions }, fast);
      if (look.enabled) await look.init();
      const noise = this.#cfg.noiseSuppression ? await loadNoiseSuppressor(this.#loadDsp, this.#log) : null;
      if (generation !== this.#generation) {
        noise?.destroy();
        await fast?.release();
        await releaseAll(loaded);
        return;
      }
      this.#noise = noise;
      this.#models = loaded;
      this.#fast = fast;
      const cfg = this.#cfg;
      this.#scorer = new StepScorer({
        features, keyword, frames, look: look.enabled ? look : null, lookAhead: lookAhead.enabled ? lookAhead : null, onLookAhead: this.#onLookAhead, armScore: this.#armScore, threshold: cfg.threshold, triggerLevel: cfg.triggerLevel, onScore: this.#onScore, onSecondLook: this.#onSecondLook, log: this.#log,
        activeThreshold: () => (this.#guarded && cfg.guardMode === 'desensitise' ? cfg.guardThreshold : cfg.threshold),
        ignoring: () => this.#ignoring,
        detect: (score, end, how) => this.#detect(score, end, how),
      });
      // Chunks on the capture stream's 80 ms grid (the echo canceller hands over its frames on
      // the same grid while a reply plays, so a chunk never waits for a held frame).
      this.#framer = new Framer(HALF_SAMPLES, CHUNK_SAMPLES);
      this.#expected = -1;
      this.#gap = false;
      this.#log.info('wake-ready', { engine: 'openwakeword', keyword: this.#label, model: files.keyword, threshold: this.#cfg.threshold, triggerLevel: this.#cfg.triggerLevel, lookAheadMs: lookAhead.enabled ? lookAhead.padChunks * 80 : 0, embedding: fast ? 'streaming' : 'whole', keywordInStep: fast?.scores === true, mel: fast?.mel ? 'javascript' : 'model', guardMode: this.#cfg.guardMode, noiseSuppression: noise !== null, licence: 'CC BY-NC-SA 4.0' });
      this.#setStatus(this.#make(true));
    } catch (err) {
      await fast?.release();
      await releaseAll(loaded);
      if (generation !== this.#generation) return;
      this.#fail(err);
    }
  }

  /**
   * The embedding model's streaming form (embedding-graphs.ts), with the mel model in
   * JavaScript (mel.ts) when that agrees with the model; or null when the runtime cannot build
   * the streaming form or it does not reproduce the model: then the models run whole (same
   * scores, about four times the CPU). Each fallback is said once at debug level.
   */
  async #loadFast(runtime: OwwRuntime, files: OwwModelFiles, embedding: OwwModel, mel: OwwModel, keyword: OwwModel, frames: number): Promise<FastEmbedding | null> {
    if (!runtime.loadGraph) return null;
    try {
      const [embBytes, melBytes, keywordBytes] = await Promise.all([readFile(files.embedding), readFile(files.mel), readFile(files.keyword)]);
      return await FastEmbedding.load(
        runtime,
        embBytes,
        embedding,
        { bytes: melBytes, model: mel, onModel: (reason) => this.#log.debug('wake-mel-model', { model: files.mel, reason }) },
        { bytes: keywordBytes, model: keyword, frames, onApart: (reason) => this.#log.debug('wake-keyword-apart', { model: files.keyword, reason }) },
      );
    } catch (err) {
      this.#log.debug('wake-embedding-whole', { model: files.embedding, reason: err instanceof Error ? err.message : String(err) });
      return null;
    }
  }

  /** Releases the models once the chunk in flight is done. Safe to call twice. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#generation++;
    this.#framer = null;
    this.#recycleQueue();
    await this.drain();
    await this.#release();
    this.#status = this.#make(false, 'wake word stopped');
  }

  status(): WakeStatus {
    return { ...this.#status, keywords: [...this.#status.keywords] };
  }

  setGuard(guarded: boolean): void {
    if (guarded === this.#guarded) return;
    this.#guarded = guarded;
    this.#log.debug('guard', { guarded, mode: this.#cfg.guardMode });
  }

  /** The built-in keywords whose models are installed, plus a custom model in use. */
  keywordChoices(): KeywordChoices {
    const ids = new Set<string>(OPENWAKEWORD_KEYWORDS.filter((k) => this.#installed(k)));
    ids.add(this.#keywordId);
    return { available: [...ids].map((id) => ({ id, label: keywordLabel(id) })), active: [this.#keywordId], maxActive: 1 };
  }

  /**
   * Listens for `keyword` (a built-in name or a `.onnx` path) from now on: the models are
   * reloaded, the runtime stays. Rejects, keeping the keyword it had, when the new one cannot load.
   */
  async setKeyword(keyword: string): Promise<void> {
    if (keyword === this.#keywordId) return;
    this.#resolveModels(keyword); // throws OwwUnavailableError, with the reason, for a missing model
    const before = this.#keywordId;
    const running = this.#running;
    this.#use(keyword);
    if (!running) return;
    await this.stop();
    await this.start();
    if (this.#status.available) {
      this.#log.info('wake-keyword-changed', { engine: 'openwakeword', from: keywordLabel(before), to: this.#label });
      return;
    }
    const reason = this.#status.reason;
    this.#use(before);
    await this.stop();
    await this.start();
    throw new Error(`cannot listen for "${keywordLabel(keyword)}": ${reason ?? 'the model did not load'}`);
  }

  #use(keyword: string): void {
    this.#keywordId = keyword;
    this.#label = keywordLabel(keyword);
    if (!this.#running) this.#status = this.#make(false, 'wake word not started yet');
  }

  #installed(keyword: string): boolean {
    try {
      this.#resolveModels(keyword);
      return true;
    } catch {
      return false;
    }
  }

  /** Feeds capture audio; `sampleIndex` is the index of `pcm[0]` in the capture stream. */
  feed(pcm: Int16Array, sampleIndex: number): void {
    if (!this.#framer) return;
    if (this.#expected >= 0 && sampleIndex !== this.#expected) {
      // A gap (or a jump back): the partial chunk and the history belong to other audio.
      this.#framer.reset();
      this.#gap = true;
      if (sampleIndex < this.#expected) this.#noise?.clear();
    }
    if (this.#noise && wasDenoised(pcm)) this.#noise.alreadyDenoised(sampleIndex, pcm.length);
    this.#expected = sampleIndex + pcm.length;
    this.#framer.push(pcm, sampleIndex, this.#onChunk);
  }

  /** Resolves when every chunk fed so far has been scored. */
  drain(): Promise<void> {
    if (!this.#busy && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  // Bound once, so feed() passes it without allocating a closure per call.
  readonly #onChunk = (frame: Int16Array, end: number): void => {
    if (this.#queue.length >= this.#maxBacklog) {
      // The models fell behind real time (a starved CPU): drop the oldest audio, once logged
      // (the queue holds 40 ms halves; the log counts 80 ms chunks as before).
      const old = this.#queue.shift()!;
      this.#pool.push(old.pcm);
      if (!this.#overrun) {
        this.#overrun = true;
        this.#log.warn('wake-overrun', { droppedAtSample: old.end, backlogChunks: Math.ceil(this.#maxBacklog / 2) });
      }
    }
    const buf = this.#pool.pop() ?? new Int16Array(HALF_SAMPLES);
    buf.set(frame);
    this.#queue.push({ pcm: buf, end, reset: this.#gap });
    this.#gap = false;
    if (!this.#busy) void this.#pump();
  };

  async #pump(): Promise<void> {
    this.#busy = true;
    const generation = this.#generation;
    try {
      while (this.#queue.length > 0 && generation === this.#generation) {
        const item = this.#queue.shift()!;
        try {
          await this.#score(item.pcm, item.end, item.reset);
        } finally {
          this.#pool.push(item.pcm);
        }
      }
      if (this.#queue.length === 0) this.#overrun = false;
    } catch (err) {
      if (generation === this.#generation) {
        this.#fail(err);
        await this.#release();
      }
    } finally {
      this.#busy = false;
      const waiting = this.#idle;
      this.#idle = [];
      for (const w of waiting) w();
    }
  }

  async #score(half: Int16Array, end: number, reset: boolean): Promise<void> {
    this.#noise?.process(half, end);
    await this.#scorer!.score(half, end, reset);
  }

  /** The self-trigger guard drops detections now (its `ignore` mode while a reply plays). */
  get #ignoring(): boolean {
    return this.#guarded && this.#cfg.guardMode === 'ignore';
  }

  /** A detection from the scorer; returns whether it was taken (not guarded, not refractory). */
  #detect(score: number, end: number, how: DetectionKind): boolean {
    const hit = { keyword: this.#label, sampleIndex: end, score: round(score) };
    if (this.#ignoring) {
      this.#log.debug('detection-guarded', hit);
      return false;
    }
    if (end - this.#lastDetectionEnd < this.#refractorySamples) {
      this.#log.debug('detection-refractory', hit);
      return false;
    }
    this.#lastDetectionEnd = end;
    this.#log.info('detected', { ...hit, guarded: this.#guarded, ...(how === 'second-look' && { secondLook: true }), ...(how === 'speech-end' && { secondLook: true, atSpeechEnd: true }), ...(how === 'look-ahead' && { lookAhead: true }) });
    this.emit('detected', hit);
    return true;
  }

  #fail(err: unknown): void {
    const reason = err instanceof OwwUnavailableError ? err.reason : `openWakeWord failed: ${err instanceof Error ? err.message : String(err)}`;
    this.#framer = null;
    this.#recycleQueue();
    this.#log.warn('wake-unavailable', { engine: 'openwakeword', reason });
    this.#setStatus(this.#make(false, reason));
  }

  async #release(): Promise<void> {
    const models = this.#models;
    this.#models = [];
    this.#scorer = null;
    const fast = this.#fast;
    this.#fast = null;
    await fast?.release();
    this.#noise?.destroy();
    this.#noise = null;
    await releaseAll(models);
  }

  #recycleQueue(): void {
    for (const q of this.#queue) this.#pool.push(q.pcm);
    this.#queue = [];
  }

  #make(available: boolean, reason?: string): WakeStatus {
    const s: WakeStatus = { available, keywords: [this.#label], engine: 'openwakeword', notice: OWW_LICENCE_NOTICE };
    if (reason) s.reason = reason;
    return s;
  }

  #setStatus(status: WakeStatus): void {
    const prev = this.#status;
    this.#status = status;
    if (prev.available !== status.available || prev.reason !== status.reason) this.emit('status', this.status());
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
