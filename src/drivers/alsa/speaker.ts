/**
 * `alsa:NAME` speaker, through a playback backend (aplay, libasound in-process, or the
 * `speaker` module; see playback.ts and docs/audio.md "Backends"). Each reply plays at its own
 * rate and channel count (ALSA's plug layer converts if the card cannot); a new format queues
 * behind the stream that is playing.
 *
 * Why we pace writes ourselves: every backend has a device buffer of about 0.5 s, and audio
 * queued there can only be dropped, not taken back (the `speaker` module's writes even block
 * in a libuv worker while it is full, and closing the device under a blocked write is a
 * use-after-free). So at most `aheadMs` of audio is handed to ALSA ahead of the playhead:
 * writes then never block, `stop()` can drop the ring at once (silence within a period, well
 * under 50 ms), and chunks arriving from the network join without gaps as long as they come
 * less than `aheadMs` late. The playhead is counted in samples written, anchored to the clock
 * when playback (re)starts; `drained` waits for it and then for the backend to play out the
 * last few milliseconds (snd_pcm_drain), so it fires when the last sample has actually played.
 */
import { bytesFor, type PcmFormat, sameFormat } from '../../audio/format.js';
import { applyGain } from '../../audio/pcm.js';
import { bytesToInt16 } from '../../audio/wav.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { AudioOutput, AudioOutputEvents } from '../../ports/audio-output.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { DEVICE_HINT, describeCards, readCards, resolvePlaybackName } from './devices.js';
import type { PcmOutStream, PlaybackBackend } from './playback.js';
import { SpeakerModulePlayback, type SpeakerCtor } from './speaker-module.js';

export interface AlsaSpeakerOptions {
  /** What followed `alsa:`: ALSA PCM name, card name substring or card index; '' or `default`. */
  device: string;
  log: Logger;
  /** Initial software volume 0-100 (default 100). */
  volume?: number;
  /** Audio handed to ALSA ahead of the playhead, ms (default 200; < ALSA's 500 ms buffer). */
  aheadMs?: number;
  /** Size of each write to ALSA, ms (default 20). */
  chunkMs?: number;
  /** Where the kernel lists sound cards (default /proc/asound/cards). */
  cardsPath?: string;
  /** The playback backend (default: the `speaker` module, or `speakerClass`). */
  backend?: PlaybackBackend;
  /** The `speaker` module's class, for the default backend; default: imported on `start()`. */
  speakerClass?: SpeakerCtor;
  /** Called after each block is accepted by ALSA (for benchmarks and diagnostics). */
  onAlsaWrite?: (bytes: number, format: PcmFormat) => void;
  /** Clock in ms (default performance.now). */
  now?: () => number;
  /**
   * Check in a throw-away process that the `speaker` module loads before loading it here
   * (default true; see `probeSpeakerLoad`). Skipped when `speakerClass` is given.
   */
  probeLoad?: boolean;
  /** Environment of that check (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

interface Segment {
  format: PcmFormat;
  data: Buffer;
}

/** Closes an ALSA stream, ignoring errors from a device that is already gone. */
function safeClose(out: PcmOutStream, flush: boolean): void | Promise<void> {
  try {
    const done = out.close(flush);
    return done ? done.catch(() => undefined) : undefined;
  } catch {
    // The device failed already; its error was reported.
  }
}

export class AlsaSpeaker extends TypedEmitter<AudioOutputEvents> implements AudioOutput {
  readonly #o: Required<Pick<AlsaSpeakerOptions, 'volume' | 'aheadMs' | 'chunkMs' | 'now'>> & AlsaSpeakerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #backend: PlaybackBackend;
  #ready = false;
  #alsaName = '';
  #gain = 1;
  #queue: Segment[] = [];
  #out: PcmOutStream | undefined;
  /** A stream playing out its last block after the end of a reply (stop() cuts it too). */
  #draining: PcmOutStream | undefined;
  /** The device release started by the last stop(). */
  #released: Promise<unknown> = Promise.resolve();
  #outFormat: PcmFormat | undefined;
  /** Clock time at which everything handed to ALSA has played. */
  #endsAt = 0;
  #inFlight = false;
  #ending = false;
  #playing = false;
  /** Bumped by every write and stop(): a `drained` scheduled before either is not emitted. */
  #drainGen = 0;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by stop(): callbacks of an older generation do nothing. */
  #generation = 0;

  constructor(options: AlsaSpeakerOptions) {
    super();
    this.#o = { volume: 100, aheadMs: 200, chunkMs: 20, now: () => performance.now(), ...options };
    this.#log = options.log.child('alsa.speaker');
    this.#now = this.#o.now;
    this.#backend = options.backend ?? new SpeakerModulePlayback({ speakerClass: options.speakerClass, probeLoad: options.probeLoad, env: options.env });
    this.setVolume(this.#o.volume);
  }

  get playing(): boolean {
    return this.#playing;
  }

  /** The playback backend in use (`aplay`, `koffi`, `speaker`). */
  get backendName(): string {
    return this.#backend.name;
  }

  /** The ALSA PCM name opened for playback (after `start()`). */
  get alsaName(): string {
    return this.#alsaName;
  }

  async start(): Promise<void> {
    if (this.#ready) return;
    this.#alsaName = resolvePlaybackName(this.#o.device, readCards(this.#o.cardsPath));
    await this.#backend.prepare();
    this.#ready = true;
    this.#closed = false;
    this.#log.info('speaker-ready', { device: this.#alsaName, backend: this.#backend.name });
  }

  setVolume(percent: number): void {
    const p = Number.isFinite(percent) ? Math.max(0, Math.min(100, percent)) : 100;
    // Perceptual taper: 50 % sounds about half as loud (-10 dB per half), not -6 dB.
    this.#gain = p === 0 ? 0 : Math.pow(p / 100, 1.66);
  }

  write(pcm: Buffer, format: PcmFormat): void {
    if (!this.#ready || this.#closed) {
      this.emit('error', { message: 'speaker written before start()' });
      return;
    }
    if (!(format.channels >= 1 && format.channels <= 8 && format.sampleRate >= 4000 && format.sampleRate <= 192_000)) {
      this.emit('error', { message: `speaker: unsupported PCM format ${format.sampleRate} Hz x${format.channels}` });
      return;
    }
    const frame = format.channels * 2;
    const usable = pcm.length - (pcm.length % frame);
    if (usable === 0) return;
    this.#drainGen++; // a write continues the stream: a drained still pending is not told
    this.#playing = true;
    this.#ending = false;
    const last = this.#queue[this.#queue.length - 1];
    const data = Buffer.from(pcm.subarray(0, usable)); // the caller may reuse its buffer
    if (last && sameFormat(last.format, format)) last.data = last.data.length ? Buffer.concat([last.data, data]) : data;
    else this.#queue.push({ format: { ...format }, data });
    this.#pump();
  }

  end(): void {
    if (!this.#playing) {
      this.#drainedSoon();
      return;
    }
    this.#ending = true;
    this.#pump();
  }

  stop(): void {
    this.#drainGen++;
    // snd_pcm_drop: what ALSA still holds is not played.
    if (this.#playing) this.emit('cut', { at: this.#now() });
    this.#generation++;
    this.#queue = [];
    this.#ending = false;
    this.#playing = false;
    this.#clearTimer();
    this.#released = Promise.all([this.#closeOutput(true), this.#cutDraining()]);
  }

  async close(): Promise<void> {
    this.stop();
    this.#closed = true;
    this.#ready = false;
    // Until the backend let go of the device (each backend bounds its wait).
    await this.#released;
  }

  /** Hands the next block to ALSA when there is room ahead of the playhead; schedules itself. */
  #pump(): void {
    this.#clearTimer();
    if (this.#inFlight) return; // the write callback pumps again
    const now = this.#now();
    const seg = this.#queue[0];
    if (!seg) {
      if (this.#ending) {
        if (now >= this.#endsAt) this.#finish();
        else this.#arm(this.#endsAt - now);
      }
      return;
    }
    if (this.#out && this.#outFormat && !sameFormat(this.#outFormat, seg.format)) {
      // A new format: let the current stream play out first.
      if (now < this.#endsAt) {
        this.#arm(this.#endsAt - now);
        return;
      }
      this.#closeOutput(false);
    }
    const ahead = this.#endsAt - now;
    if (ahead > this.#o.aheadMs - this.#o.chunkMs) {
      this.#arm(ahead - this.#o.aheadMs + this.#o.chunkMs);
      return;
    }
    if (seg.data.length === 0) {
      this.#queue.shift();
      this.#pump();
      return;
    }
    if (!this.#out && !this.#open(seg.format)) return;
    const take = Math.min(seg.data.length, bytesFor(seg.format, this.#o.chunkMs));
    // Own, unpooled memory (offset 0): the gain is applied in place through an Int16Array view.
    const block = Buffer.alloc(take);
    seg.data.copy(block, 0, 0, take);
    seg.data = seg.data.subarray(take);
    if (seg.data.length === 0) this.#queue.shift();
    const samples = bytesToInt16(block);
    applyGain(samples, this.#gain);
    const ms = (take / (seg.format.channels * 2) / seg.format.sampleRate) * 1000;
    // Playback (re)starts now if ALSA had run dry.
    const startsAt = Math.max(this.#endsAt, now);
    this.#endsAt = startsAt + ms;
    if (this.listenerCount('output') > 0) this.emit('output', { pcm: samples, format: seg.format, at: startsAt });
    this.#inFlight = true;
    const gen = this.#generation;
    const out = this.#out!;
    out.write(block, (err) => {
      this.#inFlight = false;
      if (gen !== this.#generation || out !== this.#out) {
        // stop() or a device error ran while this write was inside ALSA; closing was deferred
        // to now, when it is safe. A stream written since then can start.
        if (out !== this.#out) void safeClose(out, true);
        this.#pump();
        return;
      }
      if (err) {
        this.#deviceError(err);
        return;
      }
      this.#o.onAlsaWrite?.(take, seg.format);
      this.#pump();
    });
  }

  #open(format: PcmFormat): boolean {
    try {
      const out = this.#backend.open(this.#alsaName, format);
      out.on('error', (err: Error) => {
        if (out !== this.#out) return;
        // A failed native write rejects without completing the write callback.
        this.#inFlight = false;
        this.#deviceError(err);
      });
      this.#out = out;
      this.#outFormat = { ...format };
      this.#log.debug('stream-open', () => ({ device: this.#alsaName, format }));
      return true;
    } catch (err) {
      this.#deviceError(err);
      return false;
    }
  }

  /**
   * Closes the ALSA stream: `flush` drops what it holds, else plays the rest out. Returns the
   * backend's promise of the device's release, when it gives one.
   */
  #closeOutput(flush: boolean): void | Promise<void> {
    const out = this.#out;
    this.#out = undefined;
    this.#outFormat = undefined;
    this.#endsAt = 0;
    if (!out) return;
    // Closing under a write still inside ALSA is unsafe: the write callback closes it instead.
    if (this.#inFlight) return;
    const done = safeClose(out, flush);
    if (!flush && done) {
      this.#draining = out;
      void done.then(() => {
        if (this.#draining === out) this.#draining = undefined;
      });
    }
    return done;
  }

  /** stop() during the play-out of a reply's last block: drop that too. */
  #cutDraining(): void | Promise<void> {
    const d = this.#draining;
    this.#draining = undefined;
    if (d) return safeClose(d, true);
  }

  #finish(): void {
    this.#ending = false;
    this.#playing = false;
    // The playhead says everything has played: the backend's drain waits out the last period.
    const played = this.#closeOutput(false);
    if (!played) return this.#drainedSoon();
    const gen = this.#drainGen;
    void played.then(() => {
      if (gen === this.#drainGen) this.#drainedSoon();
    });
  }

  #deviceError(err: unknown): void {
    const message =
      `speaker "alsa:${this.#o.device}" (ALSA "${this.#alsaName}"): ${errorMessage(err)}; ` +
      `sound cards: ${describeCards(readCards(this.#o.cardsPath))}; ${DEVICE_HINT}`;
    this.#log.warn('speaker-failed', { device: this.#alsaName, error: errorMessage(err) });
    this.#queue = [];
    this.#playing = false;
    this.#ending = false;
    this.#generation++;
    this.#clearTimer();
    const out = this.#out;
    this.#out = undefined;
    this.#outFormat = undefined;
    this.#endsAt = 0;
    if (out && !this.#inFlight) void safeClose(out, true);
    this.emit('error', { message });
  }

  #arm(ms: number): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, Math.max(1, Math.ceil(ms)));
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Emits `drained` on the next turn, unless a write or stop() comes first (see the port). */
  #drainedSoon(): void {
    const gen = this.#drainGen;
    setImmediate(() => {
      if (gen === this.#drainGen) this.emit('drained');
    });
  }
}
