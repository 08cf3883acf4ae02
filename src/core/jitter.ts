/**
 * A small adaptive jitter buffer in front of the speaker, and the playhead of what it has handed
 * on. A reply that arrives slower than real time would run the output dry between chunks and
 * stutter; so a reply starts playing once `startMs` of audio is queued (or at its end, whichever
 * comes first), and after each underrun it buffers again, a step deeper, up to `maxMs`. The
 * playhead (the time at which everything handed on will have played) lets the reply timers
 * follow what is still queued, not when the audio arrived.
 */
import type { PcmFormat } from '../audio/format.js';
import type { Scheduler } from '../util/clock.js';
import type { PcmSink } from './playback.js';

export interface JitterOptions {
  /** Audio queued before a reply starts playing, ms; 0 plays each chunk at once. */
  startMs: number;
  /** Deepest the buffer grows after underruns, ms. */
  maxMs: number;
  /** How much deeper each underrun makes it, ms. */
  stepMs: number;
}

export interface JitterHooks {
  /** The first audio of a reply is handed on: it starts playing now. */
  started?: () => void;
  /** The output ran dry inside a reply; `count` so far, the buffer is now `targetMs` deep. */
  underrun?: (count: number, targetMs: number) => void;
}

function durationMs(pcm: Buffer, format: PcmFormat): number {
  return (pcm.length / (2 * format.channels) / format.sampleRate) * 1000;
}

export class JitterBuffer implements PcmSink {
  #held: { pcm: Buffer; format: PcmFormat }[] = [];
  #heldMs = 0;
  #buffering = true;
  #started = false;
  #targetMs: number;
  #playheadEnd = 0;
  #underruns = 0;

  constructor(
    private readonly out: PcmSink,
    private readonly clock: Scheduler,
    private readonly options: JitterOptions,
    private readonly hooks: JitterHooks = {},
  ) {
    this.#targetMs = options.startMs;
  }

  /** Underruns since the agent started. */
  get underruns(): number {
    return this.#underruns;
  }

  /**
   * Milliseconds of audio that will still play without more input: handed on and not yet
   * played, plus what is held once the buffer has started releasing it. Audio held while the
   * buffer waits to fill plays only when more arrives or the reply ends, so it is not counted:
   * a reply timer that waited for it would wait for ever when the reply stalls (found by
   * `npm run chaos`: a stray `audio_data` held 100 ms and kept the agent "speaking").
   */
  get queuedMs(): number {
    return (this.#buffering ? 0 : this.#heldMs) + Math.max(0, this.#playheadEnd - this.clock.now());
  }

  /** Milliseconds held while the buffer fills (they play when it is full or the reply ends). */
  get heldMs(): number {
    return this.#heldMs;
  }

  write(pcm: Buffer, format: PcmFormat): void {
    if (pcm.length === 0) return;
    const now = this.clock.now();
    if (this.#started && !this.#buffering && now > this.#playheadEnd) {
      // Everything handed on has played and the reply goes on: the output ran dry.
      this.#underruns++;
      this.#targetMs = Math.min(this.options.maxMs, this.#targetMs + this.options.stepMs);
      this.#buffering = this.#targetMs > 0;
      this.hooks.underrun?.(this.#underruns, this.#targetMs);
    }
    if (!this.#buffering) {
      this.#pass(pcm, format, now);
      return;
    }
    this.#held.push({ pcm: Buffer.from(pcm), format }); // the producer may reuse its buffer
    this.#heldMs += durationMs(pcm, format);
    if (this.#heldMs >= this.#targetMs) this.#flush();
  }

  /** The reply is complete: what is held plays now, and the next reply starts afresh. */
  end(): void {
    this.#flush();
    this.out.end();
    this.#reset();
  }

  stop(): void {
    this.#held = [];
    this.#heldMs = 0;
    this.#playheadEnd = 0;
    this.#reset();
    this.out.stop();
  }

  #reset(): void {
    this.#buffering = this.options.startMs > 0;
    this.#started = false;
    this.#targetMs = this.options.startMs;
  }

  #flush(): void {
    const now = this.clock.now();
    const held = this.#held;
    this.#held = [];
    this.#heldMs = 0;
    this.#buffering = false;
    for (const h of held) this.#pass(h.pcm, h.format, now);
  }

  #pass(pcm: Buffer, format: PcmFormat, now: number): void {
    if (!this.#started) {
      this.#started = true;
      this.hooks.started?.();
    }
    this.#playheadEnd = Math.max(this.#playheadEnd, now) + durationMs(pcm, format);
    this.out.write(pcm, format);
  }
}
