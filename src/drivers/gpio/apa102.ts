/**
 * APA102 ("DotStar") frame encoding. One frame is: 4 zero bytes (start), then per LED
 * `0xE0 | brightness(0-31)`, blue, green, red, then end bytes. The end frame has to supply at
 * least count/2 extra clock edges so the last LEDs latch their data: ceil(count/16) bytes,
 * at least 4 for compatibility with the original datasheet.
 */
import type { Rgb } from '../../leds/patterns.js';

/** Bytes an APA102 frame for `count` LEDs takes. */
export function apa102FrameLength(count: number): number {
  return 4 + 4 * count + apa102EndLength(count);
}

function apa102EndLength(count: number): number {
  return Math.max(4, Math.ceil(count / 16));
}

/**
 * Encodes one frame. `brightness` is the 5-bit global brightness (0-31) applied to every LED;
 * colours are 0-255 per channel. Writes into `out` when given (no allocation per frame).
 */
export function encodeApa102(colors: readonly Rgb[], brightness: number, out?: Buffer): Buffer {
  const len = apa102FrameLength(colors.length);
  const buf = out && out.length === len ? out : Buffer.alloc(len);
  const b = 0xe0 | (Math.max(0, Math.min(31, Math.round(brightness))) & 0x1f);
  buf.fill(0, 0, 4);
  let o = 4;
  for (const [r, g, bl] of colors) {
    buf[o++] = b;
    buf[o++] = clampByte(bl);
    buf[o++] = clampByte(g);
    buf[o++] = clampByte(r);
  }
  // End frame: ones, as in the datasheet; only the clock edges matter, the data is never latched.
  buf.fill(0xff, o);
  return buf;
}

function clampByte(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}
