/**
 * `wav:PATH` microphone: a WAV file stands in for the mic, for demos and tests on machines
 * without a sound card. Any PCM16 WAV works; it is converted to 16 kHz mono once at start.
 * Frames are paced in real time by default, counted in samples so the pace never drifts.
 * Before the file is cued, and after it ends, the mic delivers silence (a real mic never
 * stops), unless `padSilence` is false, in which case `end` fires after the file. With several
 * files (`paths`), each cue speaks the next one, in turn: a simulated conversation.
 */
import { readFileSync } from 'node:fs';
import { CORE_FORMAT, type PcmFormat } from '../../audio/format.js';
import { toMono } from '../../audio/pcm.js';
import { Resampler } from '../../audio/resample.js';
import { bytesToInt16, parseWav } from '../../audio/wav.js';
import { DeviceError } from '../../errors.js';
import type { AudioInput, AudioInputEvents } from '../../ports/audio-input.js';
import { TypedEmitter } from '../../util/typed-emitter.js';

export interface WavMicOptions {
  path: string;
  /** Several files instead of `path`: each cue speaks the next, round robin. */
  paths?: string[];
  /** Milliseconds per frame (default 20). */
  frameMs?: number;
  /** Real-time pacing (default true). False: the file as fast as possible, silence in real time. */
  realtime?: boolean;
  /** Deliver silence after the file (default true). */
  padSilence?: boolean;
  /** Start "speaking" the file as soon as the mic starts (default true); else wait for `cue()`. */
  cueAtStart?: boolean;
}

/** Reads a WAV file into 16 kHz mono samples. Throws DeviceError naming the file. */
export function loadWavAsCore(path: string): Int16Array {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new DeviceError(`microphone file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let parsed;
  try {
    parsed = parseWav(buf);
  } catch (err) {
    throw new DeviceError(`microphone file ${path}: ${(err as Error).message}`);
  }
  const raw = bytesToInt16(Buffer.from(buf.subarray(parsed.dataOffset, parsed.dataOffset + parsed.dataBytes)));
  const mono = toMono(raw, parsed.format.channels);
  const resampler = new Resampler(parsed.format.sampleRate, CORE_FORMAT.sampleRate);
  const body = resampler.process(mono);
  const tail = resampler.flush(); // the filter's last few ms
  const all = new Int16Array(body.length + tail.length);
  all.set(body);
  all.set(tail, body.length);
  return all;
}

export class WavMic extends TypedEmitter<AudioInputEvents> implements AudioInput {
  readonly format: PcmFormat = CORE_FORMAT;
  /** A file never hears the speaker: no self-trigger guard is needed (see the port). */
  readonly hearsSpeaker = false;
  readonly #opts: Required<WavMicOptions>;
  readonly #frameSamples: number;
  #samples: Int16Array = new Int16Array(0);
  #files: Int16Array[] = [];
  #next = 0; // the file the next cue speaks
  #cursor = -1; // position in the file; -1 = not speaking
  #emitted = 0;
  #startedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: WavMicOptions) {
    super();
    this.#opts = { frameMs: 20, realtime: true, padSilence: true, cueAtStart: true, ...options, paths: options.paths?.length ? options.paths : [options.path] };
    this.#frameSamples = Math.round((CORE_FORMAT.sampleRate * this.#opts.frameMs) / 1000);
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#files = this.#opts.paths.map(loadWavAsCore);
    this.#samples = this.#files[0]!;
    this.#running = true;
    this.#startedAt = performance.now();
    this.#emitted = 0;
    if (this.#opts.cueAtStart) this.cue();
    this.#schedule();
  }

  /** The simulated user starts speaking the (next) file now, from its beginning. */
  cue(): void {
    if (this.#files.length) {
      this.#samples = this.#files[this.#next % this.#files.length]!;
      this.#next++;
    }
    this.#cursor = 0;
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (!this.#running) return;
    const speaking = this.#cursor >= 0;
    if (!this.#opts.realtime && speaking) {
      this.#timer = setTimeout(() => this.#tick(), 0);
      return;
    }
    const due = this.#startedAt + (this.#emitted / CORE_FORMAT.sampleRate) * 1000;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, due - performance.now()));
  }

  #tick(): void {
    if (!this.#running) return;
    const n = this.#frameSamples;
    let pcm: Int16Array;
    if (this.#cursor >= 0) {
      pcm = new Int16Array(n);
      pcm.set(this.#samples.subarray(this.#cursor, this.#cursor + n));
      this.#cursor += n;
      if (this.#cursor >= this.#samples.length) {
        this.#cursor = -1;
        if (!this.#opts.realtime) {
          // Re-anchor the real-time clock where fast delivery stopped.
          this.#startedAt = performance.now() - ((this.#emitted + n) / CORE_FORMAT.sampleRate) * 1000;
        }
        if (!this.#opts.padSilence) {
          this.emit('frame', { pcm, sampleIndex: this.#emitted });
          this.#emitted += n;
          this.#running = false;
          this.emit('end');
          return;
        }
      }
    } else {
      pcm = new Int16Array(n);
    }
    this.emit('frame', { pcm, sampleIndex: this.#emitted });
    this.#emitted += n;
    this.#schedule();
  }
}
