/**
 * Plays a reply as it arrives. A reply is one or more audio streams (PCM or MP3, e.g. one
 * per sentence); streams play in order, each starting with its first chunk. MP3 is decoded
 * as a stream. `finish()` says the reply is complete: once every stream is decoded the output
 * is ended, and the output's `drained` tells the session the last sample has played.
 */
import { CORE_FORMAT, type PcmFormat } from '../audio/format.js';
import { looksLikeMp3, type Mp3Decoder } from '../audio/mp3.js';
import type { Logger } from '../log/logger.js';
import type { ReplyFormat } from '../ports/backend.js';
import type { PcmSink } from './playback.js';

export type DecoderFactory = () => Mp3Decoder;

interface Stream {
  format: ReplyFormat;
  decoder?: Mp3Decoder;
  /** PCM decoded while an earlier stream still plays. */
  pending: { pcm: Buffer; format: PcmFormat }[];
  /** No more input for this stream. */
  inputEnded: boolean;
  /** All of its PCM has been produced. */
  done: boolean;
  /** Odd trailing byte of raw PCM input. */
  carry?: Buffer;
}

export interface PlayerHooks {
  /** The first PCM of a reply went to the output; `latencyMs` since its first encoded byte arrived. */
  onFirstSample?: (latencyMs: number) => void;
  /** Every chunk of PCM handed to the output (for the speaking LED's level). */
  onPcm?: (pcm: Buffer) => void;
}

/**
 * The most audio one reply may queue, ms of PCM (default 10 minutes): a gateway that streams
 * without end, or an MP3 that decodes to hours, cannot fill memory; past it the rest of the
 * reply is dropped with one `reply-audio-dropped` line and the reply ends as usual.
 */
export const DEFAULT_MAX_REPLY_MS = 10 * 60 * 1000;

export class ReplyPlayer {
  #streams: Stream[] = [];
  #finishing = false;
  #started = false; // output has had PCM for this reply
  #firstByteAt = 0;
  #firstSampleReported = false;
  /** PCM of this reply so far (played, queued or pending), ms. */
  #replyMs = 0;
  #dropped = false;

  constructor(
    private readonly output: PcmSink,
    private readonly decoderFactory: DecoderFactory,
    private readonly log: Logger,
    private readonly hooks: PlayerHooks = {},
    private readonly maxReplyMs: number = DEFAULT_MAX_REPLY_MS,
  ) {}

  /** True while a reply is in progress (streams open or audio queued). */
  get active(): boolean {
    return this.#streams.length > 0 || this.#started;
  }

  beginStream(format: ReplyFormat): void {
    // A stream whose end never came is closed by the next one's start.
    const last = this.#streams[this.#streams.length - 1];
    if (last && !last.inputEnded) this.#endInput(last);
    this.#streams.push({ format, pending: [], inputEnded: false, done: false });
  }

  write(data: Buffer): void {
    if (data.length === 0) return;
    if (this.#firstByteAt === 0) this.#firstByteAt = performance.now();
    let s = this.#streams[this.#streams.length - 1];
    if (!s || s.inputEnded) {
      // Audio with no announced stream (binary frames, unknown format): open one.
      this.beginStream({ codec: 'unknown' });
      s = this.#streams[this.#streams.length - 1]!;
    }
    if (s.format.codec === 'unknown') {
      s.format = looksLikeMp3(data) ? { codec: 'mp3' } : { codec: 'pcm', sampleRate: CORE_FORMAT.sampleRate, channels: 1 };
      this.log.debug('reply-format-sniffed', { codec: s.format.codec });
    }
    if (s.format.codec === 'mp3') {
      if (!s.decoder) this.#attachDecoder(s);
      s.decoder!.write(data);
      return;
    }
    const fmt = s.format;
    let pcm = s.carry ? Buffer.concat([s.carry, data]) : data;
    s.carry = undefined;
    const frame = fmt.channels * 2;
    const usable = pcm.length - (pcm.length % frame);
    if (usable < pcm.length) s.carry = Buffer.from(pcm.subarray(usable));
    pcm = pcm.subarray(0, usable);
    if (pcm.length > 0) this.#emitPcm(s, pcm, { sampleRate: fmt.sampleRate, channels: fmt.channels });
  }

  endStream(): void {
    const s = this.#streams[this.#streams.length - 1];
    if (s && !s.inputEnded) this.#endInput(s);
  }

  /** The reply is complete: end the output once everything is decoded and queued. */
  finish(): void {
    this.#finishing = true;
    for (const s of this.#streams) if (!s.inputEnded) this.#endInput(s);
    this.#advance();
  }

  /** Cuts playback at once and forgets the reply. */
  stop(): void {
    for (const s of this.#streams) s.decoder?.destroy();
    this.#streams = [];
    this.#finishing = false;
    this.#reset();
    this.output.stop();
  }

  #reset(): void {
    this.#replyMs = 0;
    this.#dropped = false;
    this.#started = false;
    this.#firstByteAt = 0;
    this.#firstSampleReported = false;
  }

  #attachDecoder(s: Stream): void {
    const d = this.decoderFactory();
    s.decoder = d;
    d.on('pcm', (pcm, format) => this.#emitPcm(s, pcm, format));
    d.on('end', () => {
      s.done = true;
      this.#advance();
    });
    d.on('error', (err) => {
      this.log.warn('reply-decode-failed', { error: err.message });
      s.done = true;
      s.pending = [];
      this.#advance();
    });
  }

  #endInput(s: Stream): void {
    s.inputEnded = true;
    if (s.decoder) s.decoder.end();
    else s.done = true; // PCM (or empty) streams are complete when their input is
    this.#advance();
  }

  #emitPcm(s: Stream, pcm: Buffer, format: PcmFormat): void {
    this.#replyMs += (pcm.length / (2 * format.channels) / format.sampleRate) * 1000;
    if (this.#replyMs > this.maxReplyMs) {
      if (!this.#dropped) this.log.warn('reply-audio-dropped', { reason: 'reply longer than the most one reply may queue', limitMs: this.maxReplyMs });
      this.#dropped = true;
      return;
    }
    if (this.#streams[0] !== s) {
      s.pending.push({ pcm: Buffer.from(pcm), format });
      return;
    }
    this.#toOutput(pcm, format);
  }

  #toOutput(pcm: Buffer, format: PcmFormat): void {
    this.output.write(pcm, format);
    this.hooks.onPcm?.(pcm);
    this.#started = true;
    if (!this.#firstSampleReported && this.#firstByteAt > 0) {
      this.#firstSampleReported = true;
      this.hooks.onFirstSample?.(performance.now() - this.#firstByteAt);
    }
  }

  /** Drops finished streams from the head, flushing the next one's queued PCM. */
  #advance(): void {
    while (this.#streams.length > 0 && this.#streams[0]!.done) {
      this.#streams.shift();
      const next = this.#streams[0];
      if (next) {
        for (const p of next.pending) this.#toOutput(p.pcm, p.format);
        next.pending = [];
      }
    }
    if (this.#finishing && this.#streams.length === 0) {
      this.#finishing = false;
      this.#reset();
      this.output.end();
    }
  }
}
