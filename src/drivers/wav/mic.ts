/**
 * `wav:PATH` microphone: a WAV file stands in for the mic, for demos and tests on machines
 * without a sound card. Any PCM16 WAV works; it is converted to 16 kHz mono as it is read.
 *
 * A regular file is read a block at a time (file.ts), never whole. Its frames are paced in real
 * time by default, counted in samples so the pace never drifts. Before the file is cued, and
 * after it ends, the mic delivers silence (a real mic never stops), unless `padSilence` is false,
 * in which case `end` fires after the file. A file that is still growing (a streaming header's
 * open size, or less on disk than the header says) is followed: what is appended later is spoken
 * too. With several files (`paths`), each cue speaks the next one, in turn: a simulated conversation.
 *
 * A FIFO (fifo.ts) is live audio piped into the agent: read as it arrives, so the writer sets the
 * pace, and `cue()` does nothing (the writer decides when the user speaks). While no writer is
 * sending, the mic delivers silence in real time; when a writer closes its end, the FIFO waits for
 * the next one, or `end` fires when `padSilence` is false.
 */
import { statSync } from 'node:fs';
import { CORE_FORMAT, type PcmFormat } from '../../audio/format.js';
import { DeviceError } from '../../errors.js';
import type { AudioInput, AudioInputEvents } from '../../ports/audio-input.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { SampleQueue } from './convert.js';
import { WavFifoReader } from './fifo.js';
import { cannotRead, WavFileReader } from './file.js';

export { loadWavAsCore } from './file.js';

export interface WavMicOptions {
  path: string;
  /** Several files instead of `path`: each cue speaks the next, round robin. */
  paths?: string[];
  /** Milliseconds per frame (default 20). */
  frameMs?: number;
  /** Real-time pacing (default true). False: the file as fast as possible, silence in real time. */
  realtime?: boolean;
  /** Deliver silence after the file, or after a FIFO's writer closed (default true). */
  padSilence?: boolean;
  /** Start "speaking" the file as soon as the mic starts (default true); else wait for `cue()`. */
  cueAtStart?: boolean;
}

export class WavMic extends TypedEmitter<AudioInputEvents> implements AudioInput {
  readonly format: PcmFormat = CORE_FORMAT;
  /** A file never hears the speaker: no self-trigger guard is needed (see the port). */
  readonly hearsSpeaker = false;
  readonly #opts: Required<WavMicOptions>;
  readonly #frameSamples: number;
  readonly #queue = new SampleQueue();
  #files: WavFileReader[] = [];
  #fifo: WavFifoReader | undefined;
  #next = 0; // the file the next cue speaks
  /** The file being spoken; undefined between cues. */
  #current: WavFileReader | undefined;
  /** The current file's declared end was read (only the queue is left). */
  #atEnd = false;
  /** The current file ran out of data for now: it is followed in real time. */
  #following = false;
  /** A FIFO writer is sending: its data, not the timer, makes the frames. */
  #live = false;
  /** The FIFO reported a problem not yet followed by good audio. */
  #faulted = false;
  #emitted = 0;
  /** performance.now() at which sample 0 would have been spoken (the real-time pace). */
  #anchor = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: WavMicOptions) {
    super();
    this.#opts = { frameMs: 20, realtime: true, padSilence: true, cueAtStart: true, ...options, paths: options.paths?.length ? options.paths : [options.path] };
    this.#frameSamples = Math.round((CORE_FORMAT.sampleRate * this.#opts.frameMs) / 1000);
  }

  async start(): Promise<void> {
    if (this.#running) return;
    const paths = this.#opts.paths;
    let fifo = false;
    try {
      fifo = statSync(paths[0]!).isFIFO();
    } catch (err) {
      throw cannotRead(paths[0]!, err);
    }
    if (fifo) {
      if (paths.length > 1) throw new DeviceError(`microphone file ${paths[0]} is a FIFO: a FIFO cannot be part of a list of files`);
      this.#fifo = new WavFifoReader(paths[0]!, this.#queue, {
        header: () => this.#onWriterHeader(),
        samples: () => this.#emitQueued(),
        writerEnded: () => this.#onWriterEnded(),
        problem: (message) => this.#onFifoProblem(message),
      });
      this.#fifo.open();
    } else {
      const files: WavFileReader[] = [];
      try {
        for (const p of paths) files.push(new WavFileReader(p));
      } catch (err) {
        for (const f of files) f.close();
        throw err;
      }
      this.#files = files;
    }
    this.#running = true;
    this.#anchor = performance.now();
    this.#emitted = 0;
    this.#queue.clear();
    if (this.#opts.cueAtStart) this.cue();
    this.#schedule();
  }

  /** The simulated user starts speaking the (next) file now, from its beginning. Nothing for a FIFO. */
  cue(): void {
    if (!this.#files.length) return;
    const file = this.#files[this.#next % this.#files.length]!;
    this.#next++;
    file.rewind();
    this.#current = file;
    this.#queue.clear();
    this.#atEnd = false;
    this.#following = false;
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#fifo?.close();
    this.#fifo = undefined;
    this.#live = false;
    for (const f of this.#files) f.close();
    this.#files = [];
    this.#current = undefined;
  }

  #schedule(): void {
    if (!this.#running || this.#live) return;
    if (!this.#opts.realtime && this.#current && !this.#following) {
      this.#timer = setTimeout(() => this.#tick(), 0);
      return;
    }
    const due = this.#anchor + (this.#emitted / CORE_FORMAT.sampleRate) * 1000;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, due - performance.now()));
  }

  /** Re-anchors the real-time pace at now (after fast delivery, or when a writer stops). */
  #reanchor(): void {
    this.#anchor = performance.now() - (this.#emitted / CORE_FORMAT.sampleRate) * 1000;
  }

  #emit(pcm: Int16Array): void {
    this.emit('frame', { pcm, sampleIndex: this.#emitted });
    this.#emitted += pcm.length;
  }

  #tick(): void {
    if (!this.#running || this.#live) return;
    const n = this.#frameSamples;
    const file = this.#current;
    if (!file) {
      this.#emit(new Int16Array(n));
      this.#schedule();
      return;
    }
    // One sample more than the frame: a frame that ends the file is known to be the last.
    while (this.#queue.length <= n && !this.#atEnd) {
      const status = file.read(this.#queue);
      if (status === 'end') this.#atEnd = true;
      else if (status === 'eof') {
        if (!this.#opts.padSilence) {
          file.flush(this.#queue);
          this.#atEnd = true;
        } else {
          if (!this.#following && !this.#opts.realtime) this.#reanchor();
          this.#following = true;
          break;
        }
      }
    }
    if (this.#queue.length < n && !this.#atEnd) {
      this.#emit(new Int16Array(n)); // a growing file, not yet written this far
      this.#schedule();
      return;
    }
    const pcm = this.#queue.take(n);
    if (this.#atEnd && this.#queue.length === 0) {
      // The file is spoken: silence from here, or the end of the input.
      this.#current = undefined;
      if (!this.#opts.realtime && !this.#following) this.#anchor = performance.now() - ((this.#emitted + n) / CORE_FORMAT.sampleRate) * 1000;
      if (!this.#opts.padSilence) {
        this.#emit(pcm);
        this.#running = false;
        this.emit('end');
        return;
      }
    }
    this.#emit(pcm);
    this.#schedule();
  }

  #onWriterHeader(): void {
    if (!this.#running) return;
    this.#live = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#faulted) {
      this.#faulted = false;
      this.emit('recovered');
    }
  }

  #emitQueued(): void {
    const n = this.#frameSamples;
    while (this.#running && this.#queue.length >= n) this.#emit(this.#queue.take(n));
  }

  #onWriterEnded(): void {
    if (!this.#running) return;
    this.#emitQueued();
    if (this.#queue.length > 0) this.#emit(this.#queue.take(this.#frameSamples));
    this.#live = false;
    if (!this.#opts.padSilence) {
      this.#running = false;
      this.#fifo?.close();
      this.emit('end');
      return;
    }
    this.#reanchor();
    try {
      this.#fifo?.open();
    } catch (err) {
      this.#onFifoProblem((err as Error).message);
    }
    this.#schedule();
  }

  #onFifoProblem(message: string): void {
    if (!this.#running) return;
    if (this.#live) {
      // The writer's stream broke off: silence until the next writer.
      this.#queue.clear();
      this.#live = false;
      this.#reanchor();
      this.#schedule();
    }
    if (this.#faulted) return;
    this.#faulted = true;
    this.emit('error', { message, recoverable: true });
  }
}
