/** Minimal RIFF/WAVE reading and writing for PCM16LE. */
import type { PcmFormat } from './format.js';

export const WAV_HEADER_BYTES = 44;

/** A 44-byte canonical WAV header for `dataBytes` of PCM16LE in `format`. */
export function wavHeader(format: PcmFormat, dataBytes: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  const blockAlign = format.channels * 2;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(format.channels, 22);
  h.writeUInt32LE(format.sampleRate, 24);
  h.writeUInt32LE(format.sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
  return h;
}

export interface ParsedWav {
  format: PcmFormat;
  /** Byte offset of the PCM data in the buffer. */
  dataOffset: number;
  /** Bytes of PCM data (clamped to what the buffer holds). */
  dataBytes: number;
}

/**
 * Parses a WAV header, walking chunks until `data`. Accepts streaming headers whose sizes are
 * 0 or 0xFFFFFFFF (as written by encoders that do not seek back). Throws a clear Error for
 * anything that is not 16-bit PCM.
 */
export function parseWav(buf: Buffer): ParsedWav {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  }
  let offset = 12;
  let format: PcmFormat | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const audioFormat = buf.readUInt16LE(body);
      const channels = buf.readUInt16LE(body + 2);
      const sampleRate = buf.readUInt32LE(body + 4);
      const bits = buf.readUInt16LE(body + 14);
      // 0xFFFE is WAVE_FORMAT_EXTENSIBLE; its subformat is PCM for what espeak/sox/lame write.
      if ((audioFormat !== 1 && audioFormat !== 0xfffe) || bits !== 16) {
        throw new Error(`unsupported WAV encoding (format ${audioFormat}, ${bits} bits): need 16-bit PCM`);
      }
      format = { sampleRate, channels };
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data chunk before fmt chunk');
      const available = buf.length - body;
      const dataBytes = size === 0 || size === 0xffffffff || size > available ? available : size;
      return { format, dataOffset: body, dataBytes: dataBytes - (dataBytes % (format.channels * 2)) };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV file has no data chunk');
}

/**
 * Parses a WAV header that may still be arriving (a streamed download): undefined while the
 * bytes so far end before the `data` chunk starts, else the format, where the PCM starts and how
 * many bytes the header declares (undefined for a streaming header that leaves the size open).
 * Throws like `parseWav` for anything that is not a 16-bit PCM WAV.
 */
export function parseWavPrefix(buf: Buffer): { format: PcmFormat; dataOffset: number; declaredBytes: number | undefined } | undefined {
  if (buf.length < 12) return undefined;
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file (no RIFF/WAVE header)');
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    if (id === 'data') {
      const { format, dataOffset } = parseWav(buf);
      return { format, dataOffset, declaredBytes: size === 0 || size === 0xffffffff ? undefined : size };
    }
    // A chunk before `data` (fmt, LIST, fact) must be whole before the walk can go on.
    if (offset + 8 + size > buf.length) return undefined;
    offset += 8 + size + (size % 2);
  }
  return undefined;
}

/** Interprets PCM16LE bytes as samples without copying when aligned. */
export function bytesToInt16(buf: Buffer): Int16Array {
  if (buf.byteOffset % 2 === 0) return new Int16Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 2));
  const copy = Buffer.from(buf);
  return new Int16Array(copy.buffer, copy.byteOffset, Math.floor(copy.length / 2));
}

/** PCM16 samples as their bytes, without copying: a view that shares the samples' memory (little-endian on every Pi). */
export function int16ToBytes(pcm: Int16Array): Buffer {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}
