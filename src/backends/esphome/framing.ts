/**
 * Framing of the ESPHome native API (docs/backends.md, "esphome"): how packets sit on the TCP
 * stream. Plaintext: `0x00`, varint payload length, varint message type, protobuf payload.
 * Encrypted (Noise): `0x01`, 16-bit big-endian frame length, frame; inside a data frame, once
 * decrypted, a 16-bit type and a 16-bit length precede the payload. Pure byte work, no I/O:
 * the decoders take whatever TCP delivered and return complete units, or throw FramingError
 * when the stream cannot be a valid API stream (the connection then closes: it cannot resync).
 */

export const PLAINTEXT_INDICATOR = 0x00;
export const NOISE_INDICATOR = 0x01;

/** Largest payload either framing carries: the Noise frame length is 16 bits. */
export const MAX_FRAME_BYTES = 0xffff;
/** Handshake frames are tiny (hello, 49-byte handshake): anything bigger is not a client. */
export const MAX_HANDSHAKE_FRAME_BYTES = 512;

export interface Packet {
  type: number;
  payload: Buffer;
}

/** The byte stream is not the API's; `indicator` is set when the first byte was the other framing's. */
export class FramingError extends Error {
  constructor(
    message: string,
    readonly indicator?: number,
  ) {
    super(message);
    this.name = 'FramingError';
  }
}

export function encodeVarint(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`varint out of range: ${value}`);
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A varint at `offset`: its value and the offset after it, or undefined while incomplete. */
export function readVarint(buf: Buffer, offset: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < buf.length; i++) {
    if (i - offset >= 5) throw new FramingError('varint longer than 5 bytes');
    const b = buf[i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (value > 0xffffffff) throw new FramingError('varint larger than 32 bits');
      return { value, next: i + 1 };
    }
    scale *= 128;
  }
  return undefined;
}

export function encodePlaintext(type: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.of(PLAINTEXT_INDICATOR), encodeVarint(payload.length), encodeVarint(type), payload]);
}

/** Accumulates bytes until a whole unit is there; `#buf` never holds more than one unit plus a header. */
abstract class StreamDecoder<T> {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): T[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: T[] = [];
    for (;;) {
      const r = this.take(this.#buf);
      if (!r) break;
      out.push(r.unit);
      this.#buf = this.#buf.subarray(r.used);
    }
    return out;
  }

  /** Bytes received but not yet part of a complete unit. */
  get buffered(): number {
    return this.#buf.length;
  }

  protected abstract take(buf: Buffer): { unit: T; used: number } | undefined;
}

export class PlaintextDecoder extends StreamDecoder<Packet> {
  constructor(private readonly maxPayload = MAX_FRAME_BYTES) {
    super();
  }

  protected take(buf: Buffer): { unit: Packet; used: number } | undefined {
    if (buf.length === 0) return undefined;
    if (buf[0] !== PLAINTEXT_INDICATOR) {
      throw new FramingError(`bad indicator byte 0x${buf[0]!.toString(16).padStart(2, '0')} (plaintext expects 0x00)`, buf[0]);
    }
    const len = readVarint(buf, 1);
    if (!len) return undefined;
    if (len.value > this.maxPayload) throw new FramingError(`message of ${len.value} bytes exceeds the limit of ${this.maxPayload}`);
    const type = readVarint(buf, len.next);
    if (!type) return undefined;
    if (type.value > 0xffff) throw new FramingError(`message type ${type.value} out of range`);
    const end = type.next + len.value;
    if (buf.length < end) return undefined;
    return { unit: { type: type.value, payload: Buffer.from(buf.subarray(type.next, end)) }, used: end };
  }
}

/** Splits a Noise stream into frames (still encrypted). The size limit can tighten during the handshake. */
export class NoiseFrameDecoder extends StreamDecoder<Buffer> {
  maxFrame = MAX_HANDSHAKE_FRAME_BYTES;

  protected take(buf: Buffer): { unit: Buffer; used: number } | undefined {
    if (buf.length === 0) return undefined;
    if (buf[0] !== NOISE_INDICATOR) {
      throw new FramingError(`bad indicator byte 0x${buf[0]!.toString(16).padStart(2, '0')} (encryption expects 0x01)`, buf[0]);
    }
    if (buf.length < 3) return undefined;
    const size = buf.readUInt16BE(1);
    if (size > this.maxFrame) throw new FramingError(`frame of ${size} bytes exceeds the limit of ${this.maxFrame}`);
    if (buf.length < 3 + size) return undefined;
    return { unit: Buffer.from(buf.subarray(3, 3 + size)), used: 3 + size };
  }
}

export function encodeNoiseFrame(body: Buffer): Buffer {
  if (body.length > MAX_FRAME_BYTES) throw new RangeError(`noise frame of ${body.length} bytes is too large`);
  const header = Buffer.alloc(3);
  header[0] = NOISE_INDICATOR;
  header.writeUInt16BE(body.length, 1);
  return Buffer.concat([header, body]);
}

/** The plaintext inside an encrypted data frame: type and length (16 bits each), then the payload. */
export function noiseInner(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(payload.length, 2);
  return Buffer.concat([head, payload]);
}

export function parseNoiseInner(plain: Buffer): Packet {
  if (plain.length < 4) throw new FramingError(`data frame of ${plain.length} bytes is too short`);
  const type = plain.readUInt16BE(0);
  const len = plain.readUInt16BE(2);
  if (len > plain.length - 4) throw new FramingError(`data frame says ${len} bytes but holds ${plain.length - 4}`);
  return { type, payload: Buffer.from(plain.subarray(4, 4 + len)) };
}
