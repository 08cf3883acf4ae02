/**
 * `alsa:NAME` microphone. One capture stream for the daemon's life, through a capture backend
 * (arecord, libasound in-process, or naudiodon; see capture.ts and docs/audio.md "Backends").
 * The device is captured in a format it supports natively (16 kHz when it can, else 48 kHz; its
 * own channel count for hardware devices) and converted here to 16 kHz mono: one channel picked
 * or all mixed, then a proper low-pass resampler. Device trouble (USB mic unplugged, helper
 * crash, capture stalls) is reported once per outage through `error` and repaired by reopening
 * with capped backoff; `recovered` follows when audio flows again.
 */
import { CaptureConverter, type ChannelSelect } from '../../audio/channels.js';
import { CORE_FORMAT, type PcmFormat } from '../../audio/format.js';
import { NO_SAMPLES } from '../../audio/pcm.js';
import { DeviceError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { AudioInput, AudioInputEvents } from '../../ports/audio-input.js';
import { Backoff } from '../../util/backoff.js';
import { systemScheduler, TimerSlot, type Scheduler } from '../../util/clock.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import type { CaptureBackend, CaptureStream } from './capture.js';
import { NaudiodonCapture } from './naudiodon-capture.js';
import type { CaptureCandidate } from './portaudio-child.js';

export { captureCandidates } from './naudiodon-capture.js';

export interface AlsaMicOptions {
  /** What followed `alsa:`: ALSA PCM name, card name substring or card index; '' or `default`. */
  device: string;
  log: Logger;
  /** The capture backend (default: naudiodon, with `modulePath`). */
  backend?: CaptureBackend;
  /** Channel to keep (0-based) or `'mix'` (default). */
  channel?: ChannelSelect;
  /** Native capture rate in Hz; 0 or absent: try 16000, 48000, the device's default, 44100. */
  rate?: number;
  /** Native capture channel count; 0 or absent: the device's own count for hardware devices. */
  channels?: number;
  /** Milliseconds per emitted frame (default 20). */
  frameMs?: number;
  /** No audio for this long while running counts as a device error (default 2000 ms). */
  stallMs?: number;
  /** Reopen delay after an error: doubles from `retryMinMs` (250) up to `retryMaxMs` (30000). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Helper environment (tests point ALSA at their own configuration). Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** naudiodon module path, for the default backend (default: resolved from this package). */
  modulePath?: string;
  /** Where the kernel lists sound cards (default /proc/asound/cards). */
  cardsPath?: string;
  /** Time source of the stall detection and the reopen delays (default: the system clock). */
  clock?: Scheduler;
}

export class AlsaMic extends TypedEmitter<AudioInputEvents> implements AudioInput {
  readonly format: PcmFormat = CORE_FORMAT;
  readonly #o: AlsaMicOptions & Required<Pick<AlsaMicOptions, 'frameMs' | 'stallMs' | 'retryMinMs' | 'retryMaxMs' | 'channel'>>;
  readonly #log: Logger;
  readonly #frameSamples: number;
  readonly #backend: CaptureBackend;
  #stream: CaptureStream | undefined;
  /** Bumped by every open and stop(): deliveries of an older stream are ignored. */
  #openGen = 0;
  #converter: CaptureConverter | undefined;
  #running = false;
  #faulted = false;
  readonly #backoff: Backoff;
  readonly #retryTimer: TimerSlot;
  readonly #stallTimer: TimerSlot;
  #pending: Int16Array = NO_SAMPLES;
  #oddByte: number | undefined;
  #emitted = 0;
  #native: CaptureCandidate | undefined;
  #deviceName = '';
  #early: Buffer[] = [];

  constructor(options: AlsaMicOptions) {
    super();
    this.#o = { frameMs: 20, stallMs: 2000, retryMinMs: 250, retryMaxMs: 30_000, channel: 'mix', ...options };
    this.#log = options.log.child('alsa.mic');
    this.#backend = options.backend ?? new NaudiodonCapture(options.modulePath);
    this.#frameSamples = Math.round((CORE_FORMAT.sampleRate * this.#o.frameMs) / 1000);
    // No jitter (random 0.5 gives the plain base): one local device has no herd to spread out.
    this.#backoff = new Backoff(this.#o.retryMinMs, this.#o.retryMaxMs, () => 0.5);
    const clock = options.clock ?? systemScheduler();
    this.#retryTimer = new TimerSlot(clock);
    this.#stallTimer = new TimerSlot(clock);
  }

  /** The format actually captured from the device, once open. */
  get nativeFormat(): PcmFormat | undefined {
    return this.#native ? { sampleRate: this.#native.sampleRate, channels: this.#native.channels } : undefined;
  }

  /** Process id of the capture helper while open (diagnostics: its memory and CPU). */
  get helperPid(): number | undefined {
    return this.#stream?.pid;
  }

  /** The capture backend in use (`arecord`, `koffi`, `naudiodon`). */
  get backendName(): string {
    return this.#backend.name;
  }

  /** The name of the device in use (ALSA PCM name, or PortAudio's), once open. */
  get deviceName(): string {
    return this.#deviceName;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#emitted = 0;
    try {
      await this.#open();
    } catch (err) {
      this.#running = false;
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#openGen++;
    this.#clearTimers();
    const stream = this.#stream;
    this.#stream = undefined;
    await stream?.close();
  }

  /** Opens the device through the backend; resolves when capture has started. */
  async #open(): Promise<void> {
    const gen = ++this.#openGen;
    this.#converter = undefined;
    this.#early = [];
    // PCM can arrive before open() resolves: keep it until the converter exists.
    const sink = {
      pcm: (b: Buffer) => {
        if (gen !== this.#openGen) return;
        if (this.#converter) this.#onPcm(b);
        else this.#early.push(Buffer.from(b)); // a backend may reuse its buffer
      },
      fault: (message: string) => {
        if (gen === this.#openGen && this.#converter) this.#fault(message);
      },
    };
    const stream = await this.#backend.open(
      { device: this.#o.device, channel: this.#o.channel, rate: this.#o.rate, channels: this.#o.channels, chunkMs: this.#o.frameMs, cardsPath: this.#o.cardsPath, env: this.#o.env, log: this.#log },
      sink,
    );
    if (gen !== this.#openGen || !this.#running) {
      // stop() ran while opening.
      await stream.close();
      return;
    }
    const format: CaptureCandidate = stream.format;
    try {
      this.#converter = new CaptureConverter(format, CORE_FORMAT.sampleRate, this.#o.channel);
    } catch (err) {
      this.#openGen++;
      await stream.close();
      throw new DeviceError(`microphone "alsa:${this.#o.device}": ${errorMessage(err)}`);
    }
    this.#stream = stream;
    this.#native = format;
    this.#deviceName = stream.deviceName;
    this.#pending = NO_SAMPLES;
    this.#oddByte = undefined;
    this.#log.info('capturing', { device: this.#deviceName, backend: this.#backend.name, native: this.#native, channel: this.#o.channel });
    this.#armStall();
    const early = this.#early;
    this.#early = [];
    for (const b of early) this.#onPcm(b);
  }

  #onPcm(chunk: Buffer): void {
    if (!this.#running || !this.#converter) return;
    this.#armStall();
    if (this.#faulted) {
      this.#faulted = false;
      this.#backoff.reset();
      this.#log.info('mic-device-recovered', { device: this.#deviceName });
      this.emit('recovered');
    }
    // A pipe may split a sample; keep the odd byte for the next chunk.
    let bytes = chunk;
    if (this.#oddByte !== undefined) {
      bytes = Buffer.concat([Buffer.of(this.#oddByte), chunk]);
      this.#oddByte = undefined;
    }
    if (bytes.length % 2) {
      this.#oddByte = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    // A view needs 2-byte alignment: a pipe's chunk has it (its own memory), a split one may not.
    // The view lives only for this call: frames and held samples below are copies.
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : Buffer.from(bytes);
    const converted = this.#converter.process(new Int16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2));
    let all = converted;
    if (this.#pending.length > 0) {
      all = new Int16Array(this.#pending.length + converted.length);
      all.set(this.#pending);
      all.set(converted, this.#pending.length);
    }
    const n = this.#frameSamples;
    let i = 0;
    for (; i + n <= all.length && this.#running; i += n) {
      this.emit('frame', { pcm: all.slice(i, i + n), sampleIndex: this.#emitted });
      this.#emitted += n;
    }
    this.#pending = i === all.length ? NO_SAMPLES : all.slice(i);
  }

  #armStall(): void {
    this.#stallTimer.set(this.#onStallCheck, this.#o.stallMs);
  }

  /**
   * No audio for stallMs. A check that runs far behind its time means this process was not
   * running (a loaded or emulated machine, a long GC): the audio of that time may be waiting in
   * the pipe, read only after timers. Not a stall of the device: look again after one more period.
   */
  readonly #onStallCheck = (lateMs: number): void => {
    if (lateMs > this.#o.stallMs / 2) {
      this.#log.debug('mic-check-late', { lateMs: Math.round(lateMs) });
      this.#armStall();
      return;
    }
    this.#fault(`no audio for ${this.#o.stallMs} ms`);
  };

  /** A running capture broke: report once per outage, then reopen with backoff. */
  #fault(message: string): void {
    if (!this.#running) return; // stopping: the helper's exit is expected
    this.#clearTimers();
    this.#openGen++;
    const stream = this.#stream;
    this.#stream = undefined;
    this.#converter = undefined;
    void stream?.close();
    const retryMs = this.#backoff.next();
    if (!this.#faulted) {
      this.#faulted = true;
      this.#log.warn('mic-reopening', { device: this.#deviceName || this.#o.device, reason: message, retryMs });
      const full = message.startsWith('microphone ') ? message : `microphone "alsa:${this.#o.device}": ${message}`;
      this.emit('error', { message: full, recoverable: true });
    } else {
      this.#log.debug('mic-still-failing', { reason: message, retryMs });
    }
    this.#retryTimer.set(() => this.#open().catch((err: unknown) => this.#fault(errorMessage(err))), retryMs);
  }

  #clearTimers(): void {
    this.#retryTimer.clear();
    this.#stallTimer.clear();
  }
}
