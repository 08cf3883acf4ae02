/**
 * AudioInput decorator for `audio.echoCancel: speex`: the capture stream with the speaker's own
 * sound removed. It taps the speaker driver's `output`/`cut` reports (what was handed to the
 * device and when), places them on the capture clock, and runs each captured frame through an
 * EchoCanceller, which passes frames through untouched while nothing plays.
 *
 * When libspeexdsp or koffi is missing, capture goes on unchanged: one warn line says why, and
 * `echoStatus()` reports it (doctor and status show it).
 *
 * The canceller counts as available (and the session drops the self-trigger guard) only once it
 * has learnt the room's echo (EchoLearning): until then a reply that says the wake word in its
 * first second would wake the speaker itself.
 */
import { CaptureClock } from '../../audio/capture-clock.js';
import { EchoCanceller, engineFrameSize } from '../../audio/echo-cancel.js';
import { EchoReference } from '../../audio/echo-reference.js';
import type { PcmFormat } from '../../audio/format.js';
import { PlaybackTap } from '../../audio/playback-tap.js';
import type { Logger } from '../../log/logger.js';
import type { AudioFrame, AudioInput, AudioInputEvents } from '../../ports/audio-input.js';
import type { AudioOutput } from '../../ports/audio-output.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { loadSpeexDsp, SpeexUnavailableError, type SpeexDsp } from '../speex/speexdsp.js';
import { markDenoised } from './denoised.js';
import { cancelsLowBand, createEchoEngine, type EchoBand } from './engine.js';
import { EchoLearning } from './learning.js';

/**
 * The residual-echo suppressor's limit while the near end talks too, dB. libspeexdsp's default
 * is -15; -25 heard more keywords spoken over a reply 6 dB louder than the talker in the
 * simulated room (bench/wake-oww.ts, docs/benchmarks.md), with no more self-triggers.
 */
export const ECHO_SUPPRESS_ACTIVE_DB = -25;
/**
 * How much capture the canceller cleans in one go while a reply plays, ms: the wake word's 80 ms
 * step. Fed a 20 ms frame at a time, each first 10 ms block ran on cold caches (the process had
 * been idle, or the wake word's models had run since): in the real CLI while a reply played, the
 * canceller took 0.25 ms a frame, 1.24 % of a core; held and cleaned four frames at a time,
 * 0.17 ms, 0.83 % (docs/benchmarks.md). The batches end on the capture stream's 80 ms grid, where
 * the openWakeWord engine's chunks end too (its Framer starts on that grid), so the wake word
 * hears a keyword no later; the VAD and the uplink get frames up to 60 ms later while the
 * canceller works, and at once again when the echo has died away.
 */
export const ECHO_BATCH_MS = 80;
/** How much playback one verdict of the learning check covers, ms. */
const LEARNING_WINDOW_MS = 1000;

export interface EchoCancelStatus {
  mode: 'speex';
  /** True once the canceller is loaded and has learnt the room's echo. */
  available: boolean;
  /** Loaded, still learning the room's echo (the self-trigger guard stays on meanwhile). */
  learning?: boolean;
  /** Why cancellation is off, when it is. */
  reason?: string;
  /** Capture frames cleaned / passed through so far. */
  cancelledFrames: number;
  passedFrames: number;
}

export interface EchoCancelInputOptions {
  inner: AudioInput;
  /** The speaker whose sound is cancelled. */
  output: AudioOutput;
  log: Logger;
  /** Echo tail the filter models, ms. */
  tailMs: number;
  /** Extra delay of the reference, ms (see `test-audio --echo`). */
  delayMs: number;
  /** Capture frame length, ms (the engine block divides it). */
  frameMs: number;
  /**
   * While a reply plays, frames are held and cleaned together each time the capture index
   * reaches a multiple of this (default ECHO_BATCH_MS; at most the frame length: no holding).
   */
  batchMs?: number;
  /** What the filter works on (audio.echoBand; default 'low'). */
  band?: EchoBand;
  /** Loads libspeexdsp; default through koffi. */
  loadDsp?: () => Promise<SpeexDsp>;
  /** Clock in ms (default performance.now). */
  now?: () => number;
}

export class EchoCancelInput extends TypedEmitter<AudioInputEvents> implements AudioInput {
  readonly #o: EchoCancelInputOptions;
  readonly #now: () => number;
  readonly #clock: CaptureClock;
  readonly #reference = new EchoReference();
  readonly #tap: PlaybackTap;
  #canceller: EchoCanceller | null = null;
  #learning: EchoLearning | null = null;
  #refScratch = new Int16Array(0);
  /** Frames held while the canceller is active, cleaned together (ECHO_BATCH_MS). */
  readonly #held: AudioFrame[] = [];
  readonly #batchSamples: number;
  #reason: string | undefined = 'not started';
  #started = false;

  constructor(options: EchoCancelInputOptions) {
    super();
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.#clock = new CaptureClock(options.inner.format.sampleRate);
    const rate = options.inner.format.sampleRate;
    this.#batchSamples = Math.round(((options.batchMs ?? ECHO_BATCH_MS) * rate) / 1000);
    this.#tap = new PlaybackTap({ output: options.output, reference: this.#reference, clock: this.#clock, delaySamples: Math.round((options.delayMs * rate) / 1000) });
  }

  get hearsSpeaker(): boolean | undefined {
    return this.#o.inner.hearsSpeaker;
  }

  get format(): PcmFormat {
    return this.#o.inner.format;
  }

  /** The capture clock the reference is placed on (for `test-audio --echo`). */
  get clock(): CaptureClock {
    return this.#clock;
  }

  /** The played reference on the capture clock (for `test-audio --echo`). */
  get reference(): EchoReference {
    return this.#reference;
  }

  echoStatus(): EchoCancelStatus {
    const learning = this.#canceller !== null && this.#learning?.learnt !== true;
    const s: EchoCancelStatus = {
      mode: 'speex',
      available: this.#canceller !== null && !learning,
      cancelledFrames: this.#canceller?.stats.cancelledFrames ?? 0,
      passedFrames: this.#canceller?.stats.passedFrames ?? 0,
    };
    if (this.#reason) s.reason = this.#reason;
    if (learning) {
      s.learning = true;
      s.reason = `learning the room's echo (${this.#learning!.heardMs(this.#o.inner.format.sampleRate)} ms of playback so far): the self-trigger guard stays on until then`;
    }
    return s;
  }

  /** Forwards "the simulated user speaks now" to a `wav:`/`room:` mic. */
  cue(): void {
    (this.#o.inner as { cue?: () => void }).cue?.();
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { inner, log } = this.#o;
    const rate = inner.format.sampleRate;
    try {
      const dsp = await (this.#o.loadDsp ?? (() => loadSpeexDsp()))();
      const frameSize = engineFrameSize(Math.round((this.#o.frameMs * rate) / 1000));
      const tail = Math.round((this.#o.tailMs * rate) / 1000);
      const engineOptions = { frameSize, tailSamples: tail, sampleRate: rate, band: this.#o.band ?? 'low', echoSuppressActiveDb: ECHO_SUPPRESS_ACTIVE_DB } as const;
      const engine = createEchoEngine(dsp, engineOptions);
      this.#canceller = new EchoCanceller(engine, this.#reference, tail);
      this.#learning = new EchoLearning({ windowSamples: Math.round((LEARNING_WINDOW_MS * rate) / 1000) });
      this.#reason = undefined;
      this.#tap.attach();
      log.info('echo-cancel-ready', { engine: 'speex', band: cancelsLowBand(engineOptions) ? 'low' : 'full', frameSize, tailMs: this.#o.tailMs, delayMs: this.#o.delayMs, batchMs: (this.#batchSamples * 1000) / rate, echoSuppressActiveDb: ECHO_SUPPRESS_ACTIVE_DB });
    } catch (err) {
      this.#reason = err instanceof SpeexUnavailableError ? err.reason : `echo canceller failed: ${err instanceof Error ? err.message : String(err)}`;
      log.warn('echo-cancel-unavailable', { reason: this.#reason });
    }
    inner.on('frame', this.#onFrame);
    inner.on('error', this.#onError);
    inner.on('recovered', this.#onRecovered);
    inner.on('end', this.#onEnd);
    try {
      await inner.start();
    } catch (err) {
      this.#detach();
      this.#canceller?.destroy();
      this.#canceller = null;
      this.#started = false;
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.#o.inner.stop();
    this.#detach();
    this.#held.length = 0;
    this.#canceller?.destroy();
    this.#canceller = null;
    this.#reason = 'stopped';
  }

  #detach(): void {
    const { inner } = this.#o;
    inner.off('frame', this.#onFrame);
    inner.off('error', this.#onError);
    inner.off('recovered', this.#onRecovered);
    inner.off('end', this.#onEnd);
    this.#tap.detach();
  }

  readonly #onFrame = (f: AudioFrame): void => {
    // The frame's last sample had been captured by now.
    this.#clock.observe(f.sampleIndex + f.pcm.length, this.#now());
    const c = this.#canceller;
    if (!c) {
      this.emit('frame', f);
      return;
    }
    const b = this.#batchSamples;
    if (b > f.pcm.length && c.active(f.sampleIndex, f.pcm.length)) {
      this.#held.push(f);
      // Handed over when the frame reaches or crosses the grid (a multiple of the batch on the
      // capture stream's index), where the wake word's chunks end too.
      const end = f.sampleIndex + f.pcm.length;
      if (Math.floor(end / b) > Math.floor(f.sampleIndex / b)) this.#flush();
      return;
    }
    this.#flush();
    this.#clean(c, f);
  };

  /** Cleans and emits the held frames, in order. */
  #flush(): void {
    const c = this.#canceller;
    if (this.#held.length === 0 || !c) return;
    const held = this.#held.splice(0);
    for (const f of held) this.#clean(c, f);
  }

  #clean(c: EchoCanceller, f: AudioFrame): void {
    const pcm = c.process(f.pcm, f.sampleIndex);
    const cleaned = c.lastCancelled;
    const learning = this.#learning;
    if (cleaned && learning && !learning.learnt) {
      if (this.#refScratch.length !== f.pcm.length) this.#refScratch = new Int16Array(f.pcm.length);
      // Read ahead of the canceller's own read: nothing it still needs is dropped.
      this.#reference.read(this.#refScratch, f.sampleIndex, Math.round((this.#o.tailMs * this.#o.inner.format.sampleRate) / 1000));
      learning.observe(f.pcm, pcm, this.#refScratch);
      if (learning.learnt) this.#o.log.info('echo-cancel-learnt', { afterMs: learning.heardMs(this.#o.inner.format.sampleRate) });
    }
    if (!cleaned) {
      // Passed through (a delaying engine's first frame handed back is a new, faded array).
      this.emit('frame', pcm === f.pcm ? f : { pcm, sampleIndex: f.sampleIndex });
      return;
    }
    // The preprocessor (residual-echo suppressor, denoiser on) ran on it: the wake word's own
    // noise suppressor leaves it alone.
    markDenoised(pcm);
    this.emit('frame', { pcm, sampleIndex: f.sampleIndex });
  }

  readonly #onError = (e: AudioInputEvents['error'][0]): void => {
    // What was captured before the failure is still audio, and comes first.
    this.#flush();
    this.emit('error', e);
  };

  readonly #onRecovered = (): void => {
    this.#flush();
    this.emit('recovered');
  };

  readonly #onEnd = (): void => {
    this.#flush();
    this.emit('end');
  };
}
