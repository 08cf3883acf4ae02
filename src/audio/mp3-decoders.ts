/** Picks the MP3 decoder named in the config and hands out one decoder per reply. */
import type { Mp3Decoder } from './mp3.js';
import { LameMp3Decoder } from './mp3.js';
import { Mpg123Mp3Decoder, preloadMpg123 } from './mp3-mpg123.js';

/** `mpg123`: WebAssembly libmpg123 in-process (default). `lame`: the lame binary via node-lame. */
export type Mp3DecoderKind = 'mpg123' | 'lame';

/**
 * Returns a factory of streaming decoders of `kind`. For `mpg123` the WASM module is compiled
 * now, in the background, so the first reply does not pay for it.
 */
export function createMp3DecoderFactory(kind: Mp3DecoderKind): () => Mp3Decoder {
  if (kind === 'lame') return () => new LameMp3Decoder();
  void preloadMpg123();
  return () => new Mpg123Mp3Decoder();
}
