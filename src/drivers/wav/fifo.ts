/**
 * A FIFO as the microphone: `mkfifo /tmp/mic; sox speech.wav -t wav - > /tmp/mic` (or any writer
 * of a 16-bit PCM WAV stream). The audio is read as it arrives, so the writer sets the pace.
 * Each writer sends its own WAV header (a streaming header's open size is fine); when it closes
 * its end, the FIFO is opened again for the next one.
 *
 * The FIFO is opened non-blocking and read through the event loop (a pipe handle), not the
 * thread pool: waiting for a writer ties up no thread, and `close()` ends the wait at once.
 */
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { PcmFormat } from '../../audio/format.js';
import { parseWavPrefix } from '../../audio/wav.js';
import { errorMessage } from '../../errors.js';
import { CoreConverter, type SampleQueue } from './convert.js';
import { cannotRead } from './file.js';

/** A writer's header must arrive within this many bytes. */
const MAX_HEADER_BYTES = 64 * 1024;

export interface FifoEvents {
  /** A writer's header was read: its PCM follows. */
  header(format: PcmFormat): void;
  /** Converted samples were pushed onto the queue. */
  samples(): void;
  /** The writer closed its end (its last samples, with the resampler's tail, are queued). */
  writerEnded(): void;
  /** The writer sent something that is not a 16-bit PCM WAV stream, or reading failed. */
  problem(message: string): void;
}

export class WavFifoReader {
  readonly #path: string;
  readonly #queue: SampleQueue;
  readonly #on: FifoEvents;
  #socket: Socket | undefined;
  #header: Buffer | undefined;
  #converter: CoreConverter | undefined;
  /** PCM bytes this writer's header still allows (Infinity for an open size). */
  #left = Number.POSITIVE_INFINITY;

  constructor(path: string, queue: SampleQueue, on: FifoEvents) {
    this.#path = path;
    this.#queue = queue;
    this.#on = on;
  }

  /** Opens the FIFO for the next writer. Throws DeviceError naming the file. */
  open(): void {
    this.close();
    let fd: number;
    try {
      fd = openSync(this.#path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw cannotRead(this.#path, err);
    }
    this.#header = Buffer.alloc(0);
    this.#converter = undefined;
    this.#left = Number.POSITIVE_INFINITY;
    const socket = new Socket({ fd, readable: true, writable: false });
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (socket === this.#socket) this.#onData(chunk);
    });
    socket.on('end', () => {
      if (socket !== this.#socket) return;
      if (this.#converter) this.#queue.push(this.#converter.flush());
      const hadAudio = this.#converter !== undefined;
      this.close();
      if (hadAudio) this.#on.writerEnded();
      else this.#reopen(); // a writer that sent nothing (or only part of a header)
    });
    socket.on('error', (err) => {
      if (socket !== this.#socket) return;
      this.close();
      this.#on.problem(`microphone file ${this.#path}: ${errorMessage(err)}`);
      this.#reopen();
    });
  }

  /** Stops reading and closes the FIFO. Idempotent. */
  close(): void {
    const s = this.#socket;
    this.#socket = undefined;
    s?.destroy();
  }

  #reopen(): void {
    try {
      this.open();
    } catch (err) {
      this.#on.problem(errorMessage(err));
    }
  }

  #onData(chunk: Buffer): void {
    if (!this.#converter) {
      const buf = Buffer.concat([this.#header!, chunk]);
      let h: ReturnType<typeof parseWavPrefix>;
      let converter: CoreConverter | undefined;
      try {
        h = parseWavPrefix(buf);
        if (!h && buf.length > MAX_HEADER_BYTES) throw new Error(`no WAV data chunk in the first ${MAX_HEADER_BYTES} bytes`);
        if (h) converter = new CoreConverter(h.format);
      } catch (err) {
        // Not a WAV stream: drop this writer, wait for the next one.
        this.close();
        this.#on.problem(`microphone file ${this.#path}: ${(err as Error).message}`);
        this.#reopen();
        return;
      }
      if (!h) {
        this.#header = buf;
        return;
      }
      this.#header = undefined;
      this.#converter = converter!;
      this.#left = h.declaredBytes ?? Number.POSITIVE_INFINITY;
      this.#on.header(h.format);
      chunk = buf.subarray(h.dataOffset);
    }
    if (this.#left <= 0) return; // past the size the header declared: not audio
    const pcm = chunk.length > this.#left ? chunk.subarray(0, this.#left) : chunk;
    this.#left -= pcm.length;
    this.#queue.push(this.#converter.process(pcm));
    this.#on.samples();
  }
}
