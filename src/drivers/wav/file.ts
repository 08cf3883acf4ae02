/**
 * A regular WAV file read a block at a time: the header once at open, then the PCM as the
 * microphone needs it, never the whole file at once. A file whose header leaves the size open
 * (0 or 0xFFFFFFFF, as streaming encoders write) or that is shorter than its header says may still
 * be growing: reaching its end now is `eof`, not `end`, and a later read may find more.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { PcmFormat } from '../../audio/format.js';
import { parseWav, parseWavPrefix } from '../../audio/wav.js';
import { DeviceError } from '../../errors.js';
import { CoreConverter, SampleQueue } from './convert.js';

/** Bytes read per block: 256 ms of 16 kHz mono, 43 ms of 48 kHz stereo. */
const BLOCK_BYTES = 8192;
/** Longest header (fmt plus LIST/fact chunks) looked through for the `data` chunk. */
const MAX_HEADER_BYTES = 1 << 20;

export type ReadStatus = 'data' | 'eof' | 'end';

export function cannotRead(path: string, err: unknown): DeviceError {
  return new DeviceError(`microphone file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
}

export class WavFileReader {
  readonly format: PcmFormat;
  readonly #fd: number;
  readonly #path: string;
  readonly #dataStart: number;
  /** Where the PCM ends as the header declares it; undefined when the header leaves it open. */
  readonly #dataEnd: number | undefined;
  readonly #block = Buffer.alloc(BLOCK_BYTES);
  #pos: number;
  #converter: CoreConverter;
  #closed = false;

  /** Opens `path` and reads its header. Throws DeviceError naming the file. */
  constructor(path: string) {
    this.#path = path;
    try {
      this.#fd = openSync(path, 'r');
    } catch (err) {
      throw cannotRead(path, err);
    }
    try {
      if (!fstatSync(this.#fd).isFile()) throw new DeviceError(`microphone file ${path} is not a regular file or a FIFO`);
      const header = this.#readHeader();
      this.format = header.format;
      this.#dataStart = header.dataOffset;
      this.#dataEnd = header.declaredBytes === undefined ? undefined : header.dataOffset + header.declaredBytes;
    } catch (err) {
      closeSync(this.#fd);
      throw err;
    }
    this.#pos = this.#dataStart;
    try {
      this.#converter = new CoreConverter(this.format);
    } catch (err) {
      closeSync(this.#fd);
      throw new DeviceError(`microphone file ${path}: ${(err as Error).message}`);
    }
  }

  #readHeader(): { format: PcmFormat; dataOffset: number; declaredBytes: number | undefined } {
    let buf = Buffer.alloc(0);
    for (;;) {
      const chunk = Buffer.alloc(Math.max(BLOCK_BYTES, buf.length));
      let n: number;
      try {
        n = readSync(this.#fd, chunk, 0, chunk.length, buf.length);
      } catch (err) {
        throw cannotRead(this.#path, err);
      }
      buf = Buffer.concat([buf, chunk.subarray(0, n)]);
      try {
        const h = n > 0 && buf.length < MAX_HEADER_BYTES ? parseWavPrefix(buf) : parseWav(buf);
        if (h) return 'declaredBytes' in h ? h : { format: h.format, dataOffset: h.dataOffset, declaredBytes: undefined };
      } catch (err) {
        throw new DeviceError(`microphone file ${this.#path}: ${(err as Error).message}`);
      }
    }
  }

  /** Back to the first sample, with a fresh converter. */
  rewind(): void {
    this.#pos = this.#dataStart;
    this.#converter = new CoreConverter(this.format);
  }

  /**
   * The next block, converted, pushed onto `into`. `end`: the declared end is reached (the
   * resampler's tail was pushed too). `eof`: nothing more in the file for now (it may grow).
   */
  read(into: SampleQueue): ReadStatus {
    if (this.#closed) return 'end';
    const left = this.#dataEnd === undefined ? BLOCK_BYTES : Math.min(BLOCK_BYTES, this.#dataEnd - this.#pos);
    if (left <= 0) {
      into.push(this.#converter.flush());
      return 'end';
    }
    let n: number;
    try {
      n = readSync(this.#fd, this.#block, 0, left, this.#pos);
    } catch {
      n = 0; // a read error on a file already open: treated as its end for now
    }
    if (n === 0) return 'eof';
    this.#pos += n;
    into.push(this.#converter.process(this.#block.subarray(0, n)));
    return 'data';
  }

  /** The resampler's tail, for a file that ended without reaching a declared size. */
  flush(into: SampleQueue): void {
    into.push(this.#converter.flush());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}

/** Reads a whole WAV file into 16 kHz mono samples (offline tools). Throws DeviceError naming the file. */
export function loadWavAsCore(path: string): Int16Array {
  const reader = new WavFileReader(path);
  const queue = new SampleQueue();
  try {
    let status: ReadStatus;
    do status = reader.read(queue);
    while (status === 'data');
    if (status === 'eof') reader.flush(queue);
  } finally {
    reader.close();
  }
  return queue.take(queue.length);
}
