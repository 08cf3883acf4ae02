/** Picks the MP3 decoder named in the config and hands out one decoder per reply. */
import type { Mp3Decoder } from './mp3.js';
import { LameMp3Decoder } from './mp3.js';
import { Mpg123Mp3Decoder, preloadMpg123 } from './mp3-mpg123.js';

/** `mpg123`: WebAssembly libmpg123 in-process (default). `lame`: the lame binary via node-lame. */
export type Mp3DecoderKind = 'mpg123' | 'lame';

/**
 * Returns a factory of streaming decoders of `kind`. Nothing is loaded yet: the WASM module
 * (about 3 MiB of memory and 40 ms of CPU) waits for `warmMp3Decoder`, or the first reply.
 */
export function createMp3DecoderFactory(kind: Mp3DecoderKind): () => Mp3Decoder {
  if (kind === 'lame') return () => new LameMp3Decoder();
  return () => new Mpg123Mp3Decoder();
}

/**
 * Compiles the decoder of `kind` in the background, so the first reply does not pay for it (the
 * agent calls it when the first utterance ends: the reply is then still the recogniser's and the
 * skill's time away; a reply that comes sooner waits only for the rest of the compile).
 * Never rejects.
 */
export function warmMp3Decoder(kind: Mp3DecoderKind): Promise<void> {
  return kind === 'mpg123' ? preloadMpg123() : Promise.resolve();
}
