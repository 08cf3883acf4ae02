/**
 * Reads the bit rate of an MP3 stream from its first frame header, so the local gateway can pace
 * MP3 it did not encode itself (a text-to-speech service's reply) at about real time.
 */

/** kbit/s by bitrate index, Layer III: MPEG-1, then MPEG-2 and 2.5. Index 0 (free) and 15 (bad) are 0. */
const KBPS_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0];
const KBPS_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0];

/** Bytes after an ID3v2 tag at the start (0 when there is none). */
function id3v2Length(b: Buffer): number {
  if (b.length < 10 || b.toString('latin1', 0, 3) !== 'ID3') return 0;
  // Syncsafe size: 4 bytes of 7 bits; a footer (flag 0x10) adds another 10 bytes.
  const size = ((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f);
  return 10 + size + (b[5]! & 0x10 ? 10 : 0);
}

/**
 * Bytes per second of a constant-bit-rate MPEG Layer III stream, from the first valid frame header
 * within the first 64 KiB (after any ID3v2 tag). `undefined` when none is found (not Layer III,
 * free format, or not MP3 at all).
 */
export function mp3BytesPerSecond(b: Buffer): number | undefined {
  const end = Math.min(b.length - 3, 65_536);
  for (let i = id3v2Length(b); i < end; i++) {
    if (b[i] !== 0xff || (b[i + 1]! & 0xe0) !== 0xe0) continue;
    const version = (b[i + 1]! >> 3) & 3; // 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5, 1 reserved
    const layer = (b[i + 1]! >> 1) & 3; // 1 = Layer III
    const index = b[i + 2]! >> 4;
    const rateIndex = (b[i + 2]! >> 2) & 3;
    if (version === 1 || layer !== 1 || rateIndex === 3) continue;
    const kbps = (version === 3 ? KBPS_V1 : KBPS_V2)[index]!;
    if (kbps > 0) return (kbps * 1000) / 8;
  }
  return undefined;
}
