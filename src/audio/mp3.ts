/**
 * MP3 detection and streaming decode. Decoding runs through node-lame's LameStream (the
 * `lame` binary in a child process, so a decoder crash never takes the agent down); PCM is
 * emitted as soon as lame produces it, so playback starts on the first chunk.
 *
 * node-lame has two emitters besides the stream that can raise `error`: its progress emitter
 * (`getEmitter()`), which gets every lame failure, and the child's stdio pipes, whose listeners
 * it removes whenever the stream ends or is destroyed, so audio still buffered for lame's stdin
 * fails with EPIPE on a pipe nobody listens to. Either, unhandled, would end the process; both
 * are guarded here (docs/reliability.md).
 */
import type { ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import type { LameStream } from 'node-lame';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { PcmFormat } from './format.js';
import { parseWav } from './wav.js';

/** True when `buf` starts like MP3: an ID3v2 tag or an MPEG audio frame sync (11 set bits). */
export function looksLikeMp3(buf: Buffer): boolean {
  if (buf.length >= 3 && buf.toString('latin1', 0, 3) === 'ID3') return true;
  if (buf.length >= 2 && buf[0] === 0xff && (buf[1]! & 0xe0) === 0xe0) {
    // Reject the reserved MPEG version (01) and layer (00) values a PCM sample pair could mimic.
    const version = (buf[1]! >> 3) & 0x03;
    const layer = (buf[1]! >> 1) & 0x03;
    return version !== 1 && layer !== 0;
  }
  return false;
}

export type Mp3DecoderEvents = {
  /** Decoded PCM16LE in `format`. */
  pcm: [Buffer, PcmFormat];
  /** All input decoded. */
  end: [];
  error: [Error];
};

export interface Mp3Decoder extends TypedEmitter<Mp3DecoderEvents> {
  write(chunk: Buffer): void;
  /** No more input: `end` follows when everything is decoded. */
  end(): void;
  /** Abandons decoding at once (barge-in); no further events. */
  destroy(): void;
}

type LameStreamCtor = typeof LameStream;
let lameStreamCtor: Promise<LameStreamCtor> | undefined;

/** Loads node-lame on first use, so the agent starts without it when replies are PCM. */
function loadLame(): Promise<LameStreamCtor> {
  lameStreamCtor ??= import('node-lame').then((m) => m.LameStream);
  return lameStreamCtor;
}

/** Streaming MP3 decoder over node-lame. Input written before lame loads is queued. */
export class LameMp3Decoder extends TypedEmitter<Mp3DecoderEvents> implements Mp3Decoder {
  #stream: Duplex | undefined;
  #pending: Buffer[] = [];
  #ended = false;
  #destroyed = false;
  #header: Buffer | undefined = Buffer.alloc(0);
  #format: PcmFormat | undefined;
  #odd: Buffer | undefined;

  constructor(private readonly binaryPath?: string) {
    super();
    loadLame().then(
      (Ctor) => this.#open(Ctor),
      (err: unknown) => this.#fail(new Error(`MP3 decoder unavailable (node-lame): ${String(err)}`)),
    );
  }

  #open(Ctor: LameStreamCtor): void {
    if (this.#destroyed) return;
    // node-lame's option types collapse to `never` under Omit<>; the fields are its documented ones.
    const options = { mode: 'decode', mp3Input: true, quiet: true, ...(this.binaryPath ? { binaryPath: this.binaryPath } : {}) };
    const stream = new Ctor(options as unknown as ConstructorParameters<LameStreamCtor>[0]);
    this.#stream = stream;
    // Its failures reach us as the stream's `error`; this copy must not throw for want of a listener.
    stream.getEmitter().on('error', () => undefined);
    this.#guardPipes();
    stream.on('close', () => this.#guardPipes());
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('end', () => {
      if (!this.#destroyed) this.emit('end');
    });
    stream.on('error', (err: Error) => this.#fail(err));
    for (const chunk of this.#pending) stream.write(chunk);
    this.#pending = [];
    if (this.#ended) stream.end();
  }

  #onData(chunk: Buffer): void {
    if (this.#destroyed) return;
    if (this.#header) {
      // lame --decode writes a WAV header first; collect it, then stream raw PCM.
      this.#header = Buffer.concat([this.#header, chunk]);
      let parsed;
      try {
        parsed = parseWav(this.#header);
      } catch (err) {
        if (this.#header.length < 4096) return; // header not complete yet
        this.#fail(err as Error);
        return;
      }
      this.#format = parsed.format;
      chunk = this.#header.subarray(parsed.dataOffset);
      this.#header = undefined;
    }
    if (this.#odd) {
      chunk = Buffer.concat([this.#odd, chunk]);
      this.#odd = undefined;
    }
    const frameBytes = this.#format!.channels * 2;
    const usable = chunk.length - (chunk.length % frameBytes);
    if (usable < chunk.length) this.#odd = Buffer.from(chunk.subarray(usable));
    if (usable > 0) this.emit('pcm', chunk.subarray(0, usable), this.#format!);
  }

  /** No-op error listeners on lame's pipes, (re-)added after node-lame removed its own. */
  #guardPipes(): void {
    const child = (this.#stream as unknown as { child?: ChildProcess } | undefined)?.child;
    if (!child) return;
    for (const pipe of [child.stdin, child.stdout, child.stderr]) {
      if (pipe && pipe.listenerCount('error') === 0) pipe.on('error', () => undefined);
    }
    if (child.listenerCount('error') === 0) child.on('error', () => undefined);
  }

  #fail(err: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#stream?.destroy();
    this.#guardPipes();
    this.emit('error', err);
  }

  write(chunk: Buffer): void {
    if (this.#destroyed || this.#ended) return;
    if (this.#stream) this.#stream.write(chunk);
    else this.#pending.push(chunk);
  }

  end(): void {
    if (this.#destroyed || this.#ended) return;
    this.#ended = true;
    this.#stream?.end();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#stream?.destroy();
    this.#guardPipes();
  }
}
