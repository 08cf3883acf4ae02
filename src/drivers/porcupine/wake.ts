/**
 * WakeWord port over Picovoice Porcupine.
 *
 * - Fed from the one shared 16 kHz capture stream; a Framer re-chunks it to the engine's own
 *   frameLength with no allocation on the hot path.
 * - `detected.sampleIndex` is the input index one past the last sample of the engine frame in which
 *   the keyword ended, so the session can cut its pre-roll relative to the keyword.
 * - Refractory period in audio samples (not wall clock) against double triggers.
 * - Self-trigger guard while the device speaks: `ignore` drops detections; `desensitise` passes only
 *   detections of a second engine built at a lower sensitivity. Porcupine fixes sensitivity at
 *   construction (there is no setter), so a second instance is the only way to desensitise; both
 *   are fed every frame so either is warm the moment the guard changes.
 * - When Porcupine cannot run, `start()` still resolves: status turns `{available:false, reason}`,
 *   a `status` event fires, one warn line is logged, and activation is retried with capped backoff.
 *   The AccessKey is re-read on every retry, so fixing the key file needs no restart.
 */
import path from 'node:path';
import { CORE_FORMAT } from '../../audio/format.js';
import { PORCUPINE_BUILTIN_KEYWORDS, type WakeConfig } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import type { WakeStatus, WakeWord, WakeWordEvents } from '../../ports/wake-word.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { readAccessKey } from './access-key.js';
import { realEngineFactory, type EngineFactory, type PorcupineEngine } from './engine.js';
import { describePorcupineError, type DescribedFailure } from './errors.js';
import { Framer } from './framer.js';

/** Schedules `fn` after `ms`; returns a cancel function. */
export type Scheduler = (fn: () => void, ms: number) => () => void;

const realScheduler: Scheduler = (fn, ms) => {
  const t = setTimeout(fn, ms);
  // A pending retry must not keep a stopping process alive.
  t.unref();
  return () => clearTimeout(t);
};

export interface PorcupineWakeOptions {
  /** The `wake` config section. */
  config: WakeConfig;
  log: Logger;
  /** Environment for the AccessKey variable and $CREDENTIALS_DIRECTORY (pass process.env). */
  env: NodeJS.ProcessEnv;
  /** Builds engines; default imports @picovoice/porcupine-node lazily. */
  factory?: EngineFactory;
  /** Reads key files; default fs.readFile. */
  readText?: (file: string) => Promise<string>;
  /** Retry timer; default setTimeout (unref'd). */
  schedule?: Scheduler;
  /** Sample rate of the shared capture stream, Hz (default 16000). */
  sampleRate?: number;
}

/** Display name of a keyword: its label, built-in name, or a `.ppn` file's first word. */
export function keywordLabel(k: { keyword: string; label?: string | undefined }): string {
  if (k.label) return k.label;
  if ((PORCUPINE_BUILTIN_KEYWORDS as readonly string[]).includes(k.keyword)) return k.keyword;
  // Console files are named like "hey-pi_en_raspberry-pi_v3_0_0.ppn".
  return path.basename(k.keyword, '.ppn').split('_')[0]!.replace(/-/g, ' ');
}

export class PorcupineWake extends TypedEmitter<WakeWordEvents> implements WakeWord {
  readonly #cfg: WakeConfig;
  readonly #log: Logger;
  readonly #env: NodeJS.ProcessEnv;
  readonly #factory: EngineFactory;
  readonly #readText: ((file: string) => Promise<string>) | undefined;
  readonly #schedule: Scheduler;
  readonly #sampleRate: number;
  readonly #labels: string[];
  readonly #refractorySamples: number;

  #running = false;
  /** Bumped by stop(): an attempt that finishes after it discards its engines. */
  #generation = 0;
  #engine: PorcupineEngine | null = null;
  #guardEngine: PorcupineEngine | null = null;
  #framer: Framer | null = null;
  #guarded = false;
  #lastDetectionEnd = Number.NEGATIVE_INFINITY;
  #status: WakeStatus;
  #cancelRetry: (() => void) | null = null;
  #retryDelay: number;
  #lastLoggedReason = '';
  /** The key the running engines were built with, to scrub it from run-time errors too. */
  #keyInUse: { key: string; source: string } | null = null;

  constructor(options: PorcupineWakeOptions) {
    super();
    this.#cfg = options.config;
    this.#log = options.log;
    this.#env = options.env;
    this.#factory = options.factory ?? realEngineFactory();
    this.#readText = options.readText;
    this.#schedule = options.schedule ?? realScheduler;
    this.#sampleRate = options.sampleRate ?? CORE_FORMAT.sampleRate;
    this.#labels = this.#cfg.keywords.map(keywordLabel);
    this.#refractorySamples = Math.round((this.#cfg.refractoryMs * this.#sampleRate) / 1000);
    this.#retryDelay = this.#cfg.retryMinMs;
    this.#status = { available: false, reason: 'wake word not started yet', keywords: this.#labels };
  }

  /** Builds the engine(s). Never throws: failures set the status and schedule a retry. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#attempt();
  }

  /** Releases the engine(s) and cancels any retry. Safe to call twice. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#generation++;
    this.#cancelRetry?.();
    this.#cancelRetry = null;
    this.#releaseEngines();
    this.#status = { available: false, reason: 'wake word stopped', keywords: this.#labels };
  }

  status(): WakeStatus {
    return { ...this.#status, keywords: [...this.#status.keywords] };
  }

  setGuard(guarded: boolean): void {
    if (guarded === this.#guarded) return;
    this.#guarded = guarded;
    this.#log.debug('guard', { guarded, mode: this.#cfg.guardMode });
  }

  /** Feeds capture audio; `sampleIndex` is the index of `pcm[0]` in the capture stream. */
  feed(pcm: Int16Array, sampleIndex: number): void {
    if (!this.#framer) return;
    this.#framer.push(pcm, sampleIndex, this.#onFrame);
  }

  // An arrow property, bound once, so feed() passes it without allocating a closure per call.
  readonly #onFrame = (frame: Int16Array, endSampleIndex: number): void => {
    const engine = this.#engine;
    if (!engine) return; // released by a failure earlier in the same feed() call
    let index: number;
    let guardIndex = -1;
    try {
      index = engine.process(frame);
      if (this.#guardEngine) guardIndex = this.#guardEngine.process(frame);
    } catch (err) {
      this.#fail(this.#describe(err, this.#keyInUse?.key, this.#keyInUse?.source));
      return;
    }
    const hit = this.#guarded ? (this.#cfg.guardMode === 'desensitise' ? guardIndex : -1) : index;
    if (hit < 0) {
      if (index >= 0) this.#log.debug('detection-guarded', { keyword: this.#labels[index], sampleIndex: endSampleIndex });
      return;
    }
    if (endSampleIndex - this.#lastDetectionEnd < this.#refractorySamples) {
      this.#log.debug('detection-refractory', { keyword: this.#labels[hit], sampleIndex: endSampleIndex });
      return;
    }
    this.#lastDetectionEnd = endSampleIndex;
    this.#log.info('detected', { keyword: this.#labels[hit], sampleIndex: endSampleIndex, guarded: this.#guarded });
    this.emit('detected', { keyword: this.#labels[hit]!, sampleIndex: endSampleIndex });
  };

  async #attempt(): Promise<void> {
    this.#cancelRetry = null;
    const generation = this.#generation;
    const key = await readAccessKey({
      file: this.#cfg.accessKeyFile,
      envName: this.#cfg.accessKeyEnv,
      env: this.#env,
      readText: this.#readText,
    });
    if (generation !== this.#generation) return;
    if (!key.ok) {
      this.#fail({ reason: key.reason, retry: true, detail: '' });
      return;
    }
    // Porcupine echoes the key in some messages: make sure the logger masks it everywhere.
    this.#log.addSecret(key.key);
    const built: PorcupineEngine[] = [];
    try {
      const request = {
        accessKey: key.key,
        keywords: this.#cfg.keywords.map((k) => k.keyword),
        sensitivities: this.#cfg.keywords.map((k) => k.sensitivity),
        modelPath: this.#cfg.modelPath,
        libraryPath: this.#cfg.libraryPath,
      };
      built.push(await this.#factory(request));
      if (this.#cfg.guardMode === 'desensitise') {
        const guardSensitivities = this.#cfg.keywords.map((k) => Math.min(k.sensitivity, this.#cfg.guardSensitivity));
        built.push(await this.#factory({ ...request, sensitivities: guardSensitivities }));
      }
    } catch (err) {
      built.forEach(release);
      if (generation === this.#generation) this.#fail(this.#describe(err, key.key, key.source));
      return;
    }
    if (generation !== this.#generation) {
      built.forEach(release);
      return;
    }
    const [engine, guardEngine] = built as [PorcupineEngine, PorcupineEngine | undefined];
    const mismatch =
      engine.sampleRate !== this.#sampleRate
        ? `Porcupine expects ${engine.sampleRate} Hz audio but the agent captures ${this.#sampleRate} Hz: update @picovoice/porcupine-node or report this`
        : guardEngine && guardEngine.frameLength !== engine.frameLength
          ? 'the two Porcupine instances disagree on frameLength: set wake.guardMode: ignore'
          : '';
    if (mismatch) {
      built.forEach(release);
      this.#fail({ reason: mismatch, retry: false, detail: '' });
      return;
    }
    this.#engine = engine;
    this.#guardEngine = guardEngine ?? null;
    this.#keyInUse = { key: key.key, source: key.source };
    this.#framer = new Framer(engine.frameLength);
    this.#retryDelay = this.#cfg.retryMinMs;
    this.#lastLoggedReason = '';
    this.#log.info('wake-ready', {
      keywords: this.#labels,
      frameLength: engine.frameLength,
      keySource: key.source,
      guardMode: this.#cfg.guardMode,
    });
    this.#setStatus({ available: true, keywords: this.#labels });
  }

  #describe(err: unknown, accessKey: string | undefined, keySource: string | undefined): DescribedFailure {
    return describePorcupineError(err, { accessKey, keySource, modelPath: this.#cfg.modelPath });
  }

  #fail(failure: DescribedFailure): void {
    this.#releaseEngines();
    const retryInMs = failure.retry && this.#running ? this.#retryDelay : undefined;
    // One line per distinct reason: a retry that fails the same way again only logs at debug.
    if (failure.reason !== this.#lastLoggedReason) {
      this.#lastLoggedReason = failure.reason;
      this.#log.warn('wake-unavailable', { reason: failure.reason, retryInMs: retryInMs ?? null });
    }
    if (failure.detail) this.#log.debug('wake-failure-detail', { detail: failure.detail });
    this.#setStatus({ available: false, reason: failure.reason, keywords: this.#labels });
    if (retryInMs !== undefined) {
      this.#retryDelay = Math.min(this.#cfg.retryMaxMs, this.#retryDelay * 2);
      this.#cancelRetry?.();
      this.#cancelRetry = this.#schedule(() => {
        if (this.#running) void this.#attempt();
      }, retryInMs);
    }
  }

  #setStatus(status: WakeStatus): void {
    const prev = this.#status;
    this.#status = status;
    if (prev.available !== status.available || prev.reason !== status.reason) this.emit('status', this.status());
  }

  #releaseEngines(): void {
    if (this.#engine) release(this.#engine);
    if (this.#guardEngine) release(this.#guardEngine);
    this.#engine = null;
    this.#guardEngine = null;
    this.#framer = null;
  }
}

function release(engine: PorcupineEngine): void {
  try {
    engine.release();
  } catch {
    // Releasing a broken engine may throw; there is nothing left to free.
  }
}
