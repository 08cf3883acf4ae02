/**
 * Playback through ALSA's `aplay` (alsa-utils), one process per stream (a reply, or a run of
 * replies in the same format): raw PCM16LE on its stdin. No native addon, so it works on every
 * architecture and Debian release Raspberry Pi OS is built on.
 *
 * aplay is told to use 20 ms periods, a 500 ms buffer and to start once 40 ms are queued, so it
 * writes each 20 ms block to the device as it arrives, and a reply starts playing at once.
 * Closing without flush ends its stdin: aplay plays out what it has (snd_pcm_drain) and exits,
 * so its exit is the moment the last sample has played. A flush is SIGTERM: aplay aborts the
 * PCM (dropping what the device holds) and exits.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { PcmFormat } from '../../audio/format.js';
import { DeviceError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { ALSA_UTILS_FIX, eachLine, endTool, findTool, isAlsaLibNoise, spawnTool, toolError } from './alsa-tool.js';
import { type PcmOutStream, type PlaybackBackend, ReleaseChain } from './playback.js';

/** Longest play-out after stdin ended before aplay is ended by force. */
const DRAIN_LIMIT_MS = 5000;

export class AplayPlayback implements PlaybackBackend {
  readonly name = 'aplay';
  readonly #tool: string | undefined;
  readonly #env: NodeJS.ProcessEnv | undefined;
  readonly #log: Logger;
  readonly #chain = new ReleaseChain();

  constructor(options: { log: Logger; env?: NodeJS.ProcessEnv; tool?: string }) {
    this.#env = options.env;
    this.#tool = options.tool ?? findTool('aplay', options.env);
    this.#log = options.log.child('aplay');
  }

  async prepare(): Promise<void> {
    if (!this.#tool) throw new DeviceError(`speaker: aplay is not installed; ${ALSA_UTILS_FIX}`);
  }

  open(device: string, format: PcmFormat): PcmOutStream {
    if (!this.#tool) throw new DeviceError(`aplay is not installed; ${ALSA_UTILS_FIX}`);
    return new AplayStream(this.#tool, device, format, this.#chain, this.#env, this.#log);
  }
}

class AplayStream extends EventEmitter implements PcmOutStream {
  #child: ChildProcess | undefined;
  /** A write waiting for the process to start. */
  #queued: { block: Buffer; done: (err?: Error | null) => void } | undefined;
  #closing = false;
  #lastError = '';
  readonly #released: Promise<void>;
  #release!: () => void;

  constructor(tool: string, device: string, format: PcmFormat, chain: ReleaseChain, env: NodeJS.ProcessEnv | undefined, log: Logger) {
    super();
    this.#released = new Promise<void>((r) => (this.#release = r));
    const args = ['-D', device, '-t', 'raw', '-f', 'S16_LE', '-r', String(format.sampleRate), '-c', String(format.channels), '-q', '--period-time=20000', '--buffer-time=500000', '--start-delay=40000'];
    void chain.next(this.#released).then(() => {
      if (this.#closing) {
        this.#release();
        return;
      }
      const child = spawnTool(tool, args, ['pipe', 'ignore'], env);
      this.#child = child;
      let noise = 0;
      let underruns = 0;
      eachLine(child.stderr!, (line) => {
        if (isAlsaLibNoise(line)) {
          noise++;
          return;
        }
        if (/underrun!!!|underrun !!!/.test(line)) {
          // The reply arrived slower than it plays; aplay restarts the device by itself.
          if (underruns++ % 50 === 0) log.debug('playback-underrun', { device, count: underruns });
          return;
        }
        const err = toolError(line, 'aplay');
        if (err) this.#lastError = err;
        log.debug('aplay-stderr', { line });
      });
      // EPIPE on a write after aplay died: its exit reports the reason.
      child.stdin!.on('error', () => undefined);
      child.on('error', (e) => this.#fail(`cannot run aplay (${e.message}); ${ALSA_UTILS_FIX}`));
      child.on('exit', (code, signal) => {
        if (noise) log.debug('dropped-alsa-messages', { lines: noise });
        this.#release();
        if (!this.#closing) this.#fail(this.#lastError || `aplay exited (${signal ?? `code ${code}`})`);
      });
      const q = this.#queued;
      this.#queued = undefined;
      if (q) this.write(q.block, q.done);
    });
  }

  write(block: Buffer, done: (err?: Error | null) => void): void {
    if (this.#closing) return done(new Error('stream closed'));
    if (!this.#child) {
      this.#queued = { block, done };
      return;
    }
    // A failed write means aplay is gone: its exit reports why (as 'error').
    this.#child.stdin!.write(block, (err) => {
      if (!err) done(null);
    });
  }

  close(flush: boolean): Promise<void> {
    const wasClosing = this.#closing;
    this.#closing = true;
    const child = this.#child;
    if (this.#queued) {
      this.#queued.done(new Error('stream closed'));
      this.#queued = undefined;
    }
    if (!child) return this.#released; // released as soon as its turn comes
    if (flush) return endTool(child).then(() => this.#released);
    if (!wasClosing) child.stdin!.end();
    const limit = setTimeout(() => void endTool(child), DRAIN_LIMIT_MS);
    return this.#released.then(() => clearTimeout(limit));
  }

  #fail(message: string): void {
    this.#closing = true;
    this.#release();
    this.emit('error', new Error(message));
  }
}
