/**
 * Playback inside the agent's process through libasound (libasound.ts). The PCM is opened
 * non-blocking with a 500 ms buffer; speaker.ts keeps at most 200 ms queued ahead of the
 * playhead, so a write normally takes the whole block at once (a partial write retries the rest
 * a few milliseconds later, never blocking the event loop). An underrun between network chunks
 * is recovered before the next write. Closing with flush drops the device's buffer
 * (snd_pcm_drop); without, it drains it and polls the state until the last sample has played.
 */
import { EventEmitter } from 'node:events';
import type { PcmFormat } from '../../audio/format.js';
import { DeviceError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import {
  EAGAIN,
  EPIPE,
  ESTRPIPE,
  type LibAsound,
  loadLibAsound,
  type PcmHandle,
  SND_PCM_ACCESS_RW_INTERLEAVED,
  SND_PCM_FORMAT_S16_LE,
  SND_PCM_NONBLOCK,
  SND_PCM_STATE_DRAINING,
  SND_PCM_STREAM_PLAYBACK,
} from './libasound.js';
import { type PcmOutStream, type PlaybackBackend, ReleaseChain } from './playback.js';

/** Device buffer, µs (as the speaker module's). */
const BUFFER_US = 500_000;
/** How often a drain checks whether the device has played everything, ms. */
const DRAIN_POLL_MS = 5;
/** Longest drain before the rest is dropped, ms. */
const DRAIN_LIMIT_MS = 3000;

export class KoffiPlayback implements PlaybackBackend {
  readonly name = 'koffi';
  readonly #load: () => LibAsound;
  readonly #log: Logger;
  readonly #chain = new ReleaseChain();
  #alsa: LibAsound | undefined;

  constructor(options: { log: Logger; load?: () => LibAsound }) {
    this.#load = options.load ?? loadLibAsound;
    this.#log = options.log.child('libasound');
  }

  async prepare(): Promise<void> {
    try {
      this.#alsa = this.#load();
    } catch (err) {
      throw new DeviceError(`speaker: ${(err as Error).message}`);
    }
  }

  open(device: string, format: PcmFormat): PcmOutStream {
    if (!this.#alsa) this.#alsa = this.#load();
    return new KoffiOutStream(this.#alsa, device, format, this.#chain, this.#log);
  }
}

class KoffiOutStream extends EventEmitter implements PcmOutStream {
  readonly #alsa: LibAsound;
  readonly #device: string;
  readonly #format: PcmFormat;
  readonly #log: Logger;
  #handle: PcmHandle | undefined;
  #ready = false;
  #closing = false;
  #queued: { block: Buffer; done: (err?: Error | null) => void } | undefined;
  #retry: NodeJS.Timeout | undefined;
  #underruns = 0;
  readonly #released: Promise<void>;
  #release!: () => void;

  constructor(alsa: LibAsound, device: string, format: PcmFormat, chain: ReleaseChain, log: Logger) {
    super();
    this.#alsa = alsa;
    this.#device = device;
    this.#format = format;
    this.#log = log;
    this.#released = new Promise<void>((r) => (this.#release = r));
    void chain.next(this.#released).then(() => this.#openNow());
  }

  #openNow(): void {
    if (this.#closing) return this.#release();
    const alsa = this.#alsa;
    const { err, pcm } = alsa.open(this.#device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
    if (err < 0) return this.#fail(`cannot open it: ${alsa.strerror(err)}`);
    const r = alsa.setParams(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, this.#format.channels, this.#format.sampleRate, 1, BUFFER_US);
    if (r < 0) {
      alsa.close(pcm);
      return this.#fail(`${this.#format.sampleRate} Hz x${this.#format.channels}: ${alsa.strerror(r)}`);
    }
    this.#handle = pcm;
    this.#ready = true;
    const q = this.#queued;
    this.#queued = undefined;
    if (q) this.write(q.block, q.done);
  }

  write(block: Buffer, done: (err?: Error | null) => void): void {
    if (this.#closing) return done(new Error('stream closed'));
    if (!this.#ready) {
      this.#queued = { block, done };
      return;
    }
    this.#writeFrom(block, 0, done);
  }

  #writeFrom(block: Buffer, offset: number, done: (err?: Error | null) => void): void {
    if (this.#closing) return done(new Error('stream closed'));
    const frameBytes = this.#format.channels * 2;
    const frames = (block.length - offset) / frameBytes;
    const n = this.#alsa.writei(this.#handle, offset ? block.subarray(offset) : block, frames);
    if (n === frames) return void setImmediate(done);
    if (n >= 0 || n === -EAGAIN) {
      // The device is full: try the rest when it has played a little.
      const next = offset + Math.max(0, n) * frameBytes;
      this.#retry = setTimeout(() => this.#writeFrom(block, next, done), 5);
      return;
    }
    if (n === -EPIPE || n === -ESTRPIPE) {
      // Underrun: the reply arrived slower than it plays. Restart the device and write again.
      if (this.#underruns++ % 50 === 0) this.#log.debug('playback-underrun', { device: this.#device, count: this.#underruns });
      const r = this.#alsa.recover(this.#handle, n, 1);
      if (r >= 0) return this.#writeFrom(block, offset, done);
      return this.#fail(this.#alsa.strerror(r));
    }
    this.#fail(this.#alsa.strerror(n));
  }

  close(flush: boolean): Promise<void> {
    if (this.#closing) return this.#released;
    this.#closing = true;
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#queued) {
      this.#queued.done(new Error('stream closed'));
      this.#queued = undefined;
    }
    if (!this.#ready) return this.#released; // opening comes later: it sees #closing
    const alsa = this.#alsa;
    const pcm = this.#handle;
    const finish = () => {
      alsa.close(pcm);
      this.#handle = undefined;
      this.#drainNoise();
      this.#release();
    };
    if (flush) {
      alsa.drop(pcm);
      finish();
      return this.#released;
    }
    // Non-blocking drain: returns at once (EAGAIN) with the PCM draining; poll until done.
    alsa.drain(pcm);
    const started = Date.now();
    const poll = () => {
      if (alsa.state(pcm) !== SND_PCM_STATE_DRAINING || Date.now() - started > DRAIN_LIMIT_MS) {
        alsa.drop(pcm);
        finish();
      } else setTimeout(poll, DRAIN_POLL_MS);
    };
    poll();
    return this.#released;
  }

  #fail(reason: string): void {
    this.#closing = true;
    this.#ready = false;
    if (this.#handle) {
      this.#alsa.close(this.#handle);
      this.#handle = undefined;
    }
    this.#drainNoise();
    this.#release();
    this.emit('error', new Error(reason));
  }

  #drainNoise(): void {
    const noise = this.#alsa.takeNoise();
    if (noise.count) this.#log.debug('dropped-alsa-messages', { lines: noise.count, last: noise.last });
  }
}
