/**
 * `wav:PATH` speaker: everything played goes into a WAV file (mono, `sampleRate`), for demos
 * and tests. The file is a valid WAV at every moment (the header is rewritten after each
 * write), so it can be read while the agent runs. In real-time mode audio is "played" at the
 * pace a speaker would play it: it reaches the file when its time comes, `stop()` drops what
 * has not played yet, and `drained` fires when the last sample would have left the speaker.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { PcmFormat } from '../../audio/format.js';
import { applyGain, toMono } from '../../audio/pcm.js';
import { Resampler } from '../../audio/resample.js';
import { bytesToInt16, int16ToBytes, wavHeader, WAV_HEADER_BYTES } from '../../audio/wav.js';
import { DeviceError } from '../../errors.js';
import type { AudioOutput, AudioOutputEvents } from '../../ports/audio-output.js';
import { TypedEmitter } from '../../util/typed-emitter.js';

export interface WavSpeakerOptions {
  path: string;
  /** Sample rate of the file (default 16000). */
  sampleRate?: number;
  /** Pace playback in real time (default true). */
  realtime?: boolean;
  /** Tick of the real-time player in ms (default 10). */
  tickMs?: number;
}

interface Queued {
  pcm: Int16Array;
  /** performance.now() at which this chunk finishes playing. */
  endsAt: number;
}

export class WavSpeaker extends TypedEmitter<AudioOutputEvents> implements AudioOutput {
  readonly #opts: Required<WavSpeakerOptions>;
  #fd: number | undefined;
  #dataBytes = 0;
  #queue: Queued[] = [];
  #playhead = 0; // performance.now() when everything queued has played
  #ending = false;
  #playing = false;
  /** The last write to the file failed (disk full); its error was told once. */
  #writeFailed = false;
  /** Bumped by every write and stop(): a `drained` scheduled before either is not emitted. */
  #drainGen = 0;
  #gain = 1;
  #resampler: Resampler | undefined;
  #inFormat: PcmFormat | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: WavSpeakerOptions) {
    super();
    this.#opts = { sampleRate: 16000, realtime: true, tickMs: 10, ...options };
  }

  get playing(): boolean {
    return this.#playing;
  }

  /** Bytes of PCM in the file so far. */
  get writtenBytes(): number {
    return this.#dataBytes;
  }

  async start(): Promise<void> {
    if (this.#fd !== undefined) return;
    try {
      this.#fd = openSync(this.#opts.path, 'w');
    } catch (err) {
      throw new DeviceError(`speaker file ${this.#opts.path} cannot be written (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    try {
      writeSync(this.#fd, wavHeader({ sampleRate: this.#opts.sampleRate, channels: 1 }, 0), 0, WAV_HEADER_BYTES, 0);
    } catch (err) {
      closeSync(this.#fd);
      this.#fd = undefined;
      throw new DeviceError(writeFailure(this.#opts.path, err));
    }
  }

  setVolume(percent: number): void {
    this.#gain = Math.max(0, Math.min(100, percent)) / 100;
  }

  write(pcm: Buffer, format: PcmFormat): void {
    if (this.#fd === undefined) {
      this.emit('error', { message: 'speaker written before start()' });
      return;
    }
    if (!this.#inFormat || this.#inFormat.sampleRate !== format.sampleRate || this.#inFormat.channels !== format.channels) {
      // The low-pass filter holds a few ms of the previous format: play them before switching.
      this.#flushResampler();
      this.#inFormat = { ...format };
      this.#resampler = new Resampler(format.sampleRate, this.#opts.sampleRate);
    }
    const mono = toMono(bytesToInt16(pcm), format.channels);
    this.#play(Int16Array.from(this.#resampler!.process(mono)));
  }

  /** Emits what the resampler still holds (the end of a stream or of a format). */
  #flushResampler(): void {
    const tail = this.#playing ? this.#resampler?.flush() : undefined;
    if (tail && tail.length > 0) this.#play(Int16Array.from(tail));
  }

  #play(out: Int16Array): void {
    applyGain(out, this.#gain);
    this.#drainGen++; // a write continues the stream: a drained still pending is not told
    this.#playing = true;
    this.#ending = false;
    const now = performance.now();
    if (!this.#opts.realtime) {
      this.#report(out, now);
      this.#append(out);
      return;
    }
    if (this.#playhead < now) this.#playhead = now;
    // This "device" is the queue itself: a chunk plays exactly when the playhead reaches it.
    this.#report(out, this.#playhead);
    this.#playhead += (out.length / this.#opts.sampleRate) * 1000;
    this.#queue.push({ pcm: out, endsAt: this.#playhead });
    this.#arm();
  }

  #report(pcm: Int16Array, at: number): void {
    if (this.listenerCount('output') > 0 && pcm.length > 0) this.emit('output', { pcm, format: { sampleRate: this.#opts.sampleRate, channels: 1 }, at });
  }

  end(): void {
    if (!this.#playing) {
      // Nothing was played: the stream is trivially drained.
      this.#drainedSoon();
      return;
    }
    this.#flushResampler();
    this.#ending = true;
    if (!this.#opts.realtime) {
      this.#finish();
      return;
    }
    this.#arm();
  }

  stop(): void {
    this.#drainGen++;
    // What was queued but has not started will never play.
    if (this.#playing && this.#opts.realtime) this.emit('cut', { at: performance.now() });
    this.#queue = [];
    this.#playhead = 0;
    this.#ending = false;
    this.#playing = false;
    // A resampler keeps a few ms of history; a new stream starts clean.
    this.#inFormat = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async close(): Promise<void> {
    if (this.#fd === undefined) return;
    // What was queued but not yet played is written, so the file holds the whole reply.
    for (const q of this.#queue) this.#append(q.pcm);
    this.stop();
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #arm(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#tick();
    }, this.#opts.tickMs);
  }

  #tick(): void {
    const now = performance.now();
    // A chunk reaches the file when it starts playing, so the file tracks the speaker cone.
    while (this.#queue.length > 0) {
      const q = this.#queue[0]!;
      const startsAt = q.endsAt - (q.pcm.length / this.#opts.sampleRate) * 1000;
      if (startsAt > now) break;
      this.#append(q.pcm);
      this.#queue.shift();
    }
    if (this.#queue.length === 0 && this.#ending && now >= this.#playhead) {
      this.#finish();
      return;
    }
    if (this.#queue.length > 0 || this.#ending) this.#arm();
  }

  #finish(): void {
    this.#ending = false;
    this.#playing = false;
    this.#inFormat = undefined;
    this.#drainedSoon();
  }

  #append(pcm: Int16Array): void {
    if (this.#fd === undefined || pcm.length === 0) return;
    const bytes = int16ToBytes(pcm);
    try {
      writeSync(this.#fd, bytes, 0, bytes.length, WAV_HEADER_BYTES + this.#dataBytes);
      this.#dataBytes += bytes.length;
      writeSync(this.#fd, wavHeader({ sampleRate: this.#opts.sampleRate, channels: 1 }, this.#dataBytes), 0, WAV_HEADER_BYTES, 0);
      this.#writeFailed = false;
    } catch (err) {
      // A full disk must not end the agent: an output error, told once until a write succeeds
      // again (later writes retry, as the port says).
      if (!this.#writeFailed) this.emit('error', { message: writeFailure(this.#opts.path, err) });
      this.#writeFailed = true;
    }
  }

  /** Emits `drained` on the next turn, unless a write or stop() comes first (see the port). */
  #drainedSoon(): void {
    const gen = this.#drainGen;
    setImmediate(() => {
      if (gen === this.#drainGen) this.emit('drained');
    });
  }
}

/** "speaker file PATH cannot be written (ENOSPC: no space left on the device)". */
function writeFailure(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' ? 'ENOSPC: no space left on the device' : code === 'EDQUOT' ? 'EDQUOT: disk quota exceeded' : (code ?? String(err));
  return `speaker file ${file} cannot be written (${why})`;
}
