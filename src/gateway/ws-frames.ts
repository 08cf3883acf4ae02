/**
 * The uplink's WebSocket frames, written by hand: each `audio_data` message becomes one masked
 * text frame (RFC 6455 section 5.2) built in a reused buffer and put on the upgraded TCP or TLS
 * stream with one write. ws's sender would allocate a new buffer per message, mask it in a
 * second pass and go through its own send path, 50 times a second (docs/benchmarks.md, the
 * process tree). Only for a connection without extensions (the gateway client turns
 * permessage-deflate off), whose frames the library then never queues: writes from both stay in
 * order on the stream.
 */
import { randomFillSync } from 'node:crypto';
import type { Writable } from 'node:stream';
import { frameHeaderLength, writeFrameHeader } from '../net/ws-client.js';

/** Payload offset: header and mask end here, and the payload starts 4-byte aligned. */
const PAYLOAD_AT = 16;
/** Masks are drawn from this much randomness at a time (1,024 frames). */
const POOL_BYTES = 4096;

export class MaskedTextFrames {
  #buf: Buffer;
  #words: Uint32Array;
  #pool = Buffer.alloc(POOL_BYTES);
  #poolAt = POOL_BYTES;

  constructor(initialBytes = 2048) {
    this.#buf = Buffer.alloc(0);
    this.#words = new Uint32Array(0);
    this.#alloc(initialBytes);
  }

  /**
   * Writes `payload` (UTF-8 text, e.g. JSON) as one final, masked text frame. Returns what the
   * stream's write returned (false: it is buffering past its high-water mark).
   */
  write(stream: Writable, payload: Uint8Array): boolean {
    const n = payload.length;
    const start = PAYLOAD_AT - 4 - frameHeaderLength(n);
    if (PAYLOAD_AT + n > this.#buf.length) this.#alloc(PAYLOAD_AT + n);
    const b = this.#buf;
    writeFrameHeader(b, start, 1, n); // text
    if (this.#poolAt === POOL_BYTES) {
      randomFillSync(this.#pool);
      this.#poolAt = 0;
    }
    this.#pool.copy(b, PAYLOAD_AT - 4, this.#poolAt, this.#poolAt + 4);
    this.#poolAt += 4;
    // Word by word where the payload is aligned (the views share the machine's byte order).
    const words = this.#words;
    const mask = words[PAYLOAD_AT / 4 - 1]!;
    let i = 0;
    if (payload.byteOffset % 4 === 0) {
      const src = new Uint32Array(payload.buffer, payload.byteOffset, n >>> 2);
      for (let w = 0, o = PAYLOAD_AT / 4; w < src.length; w++, o++) words[o] = src[w]! ^ mask;
      i = src.length * 4;
    }
    for (; i < n; i++) b[PAYLOAD_AT + i] = payload[i]! ^ b[PAYLOAD_AT - 4 + (i & 3)]!;
    const ok = stream.write(b.subarray(start, PAYLOAD_AT + n));
    // A write the stream could not finish at once keeps a reference to this buffer: use another.
    if (stream.writableLength > 0) this.#alloc(this.#buf.length);
    return ok;
  }

  #alloc(bytes: number): void {
    const size = (Math.max(bytes, this.#buf.length) + 3) & ~3;
    this.#buf = Buffer.alloc(size);
    this.#words = new Uint32Array(this.#buf.buffer, this.#buf.byteOffset, size >>> 2);
  }
}
