/** Reply audio formats named by MIME content types, as the gateway and HTTP servers send them. */
import type { ReplyFormat } from '../ports/backend.js';

/**
 * Reads a content type such as `audio/l16; rate=16000; channels=1` or `audio/mpeg`.
 * Returns `unknown` when it says nothing we can use (the player sniffs then).
 */
export function formatFromContentType(ct: string): ReplyFormat {
  const lower = ct.toLowerCase();
  if (/audio\/(mpeg|mp3|mpeg3|x-mpeg)/.test(lower)) return { codec: 'mp3' };
  if (/audio\/(l16|pcm|raw|x-raw)|pcm_s16le|linear16/.test(lower)) {
    const rate = Number(/rate=(\d+)/.exec(lower)?.[1] ?? 16000);
    const channels = Number(/channels=(\d+)/.exec(lower)?.[1] ?? 1);
    if (rate >= 8000 && rate <= 96000 && channels >= 1 && channels <= 8) return { codec: 'pcm', sampleRate: rate, channels };
  }
  return { codec: 'unknown' };
}

/** True for the content types of a RIFF/WAVE file. */
export function isWavContentType(ct: string): boolean {
  return /audio\/(wav|x-wav|wave|vnd\.wave)/i.test(ct);
}
