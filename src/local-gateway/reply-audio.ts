/**
 * The local gateway's reply voice: a text-to-speech service (SLNG, the pipeline backend's client)
 * when one is configured, in the service's own format; otherwise, or when the service fails,
 * the local engine from ./speech.ts (flite, festival, espeak-ng or a tone) in the gateway's
 * reply format, with espeak-ng, then the tone, standing in when that engine fails. The whole
 * reply is synthesised before it is streamed, so a failure can still fall back cleanly:
 * nothing of the reply audio has been sent yet.
 */
import { CORE_FORMAT } from '../audio/format.js';
import { int16ToBytes } from '../audio/wav.js';
import { synthesize as synthesizeWithService } from '../backends/speech-services.js';
import type { TtsClient } from '../backends/tts/slng.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { mp3BytesPerSecond } from './mp3.js';
import { encodeMp3, synthesize as synthesizeLocally, type SpeechEngine } from './speech.js';

/** Pacing for MP3 whose bit rate cannot be read: 128 kbit/s, high, so it errs towards sending faster than it plays. */
const UNKNOWN_MP3_BYTES_PER_SECOND = 16_000;

export interface ReplyAudio {
  /** For `audio_start`: `audio/l16; rate=R; channels=C` or `audio/mpeg`. */
  contentType: string;
  bytes: Buffer;
  /** Bytes per second of playback, for pacing the stream. */
  bytesPerSecond: number;
  /** What made it: the service's name (`slng`), the local engine, or `tone`. */
  voice: string;
}

export interface ReplyVoiceOptions {
  tts?: TtsClient | undefined;
  engine: SpeechEngine;
  /** Voice of the local engine (its default when omitted). */
  voice?: string;
  /** Format of locally made audio (a service's audio keeps its own). */
  replyFormat: 'pcm' | 'mp3';
  /** Longest wait for the service's complete reply before falling back, ms. */
  ttsTimeoutMs: number;
  log: Logger;
}

/** Reply audio for `text`: from the TTS service if configured, else (or on its failure) locally. */
export async function replyAudio(text: string, o: ReplyVoiceOptions): Promise<ReplyAudio> {
  if (o.tts) {
    try {
      return await fromService(o.tts, text, o.ttsTimeoutMs);
    } catch (err) {
      o.log.warn('tts-failed', { service: o.tts.name, error: errorMessage(err), fallback: o.engine });
    }
  }
  // The chosen engine, then espeak-ng, then the tone (which cannot fail).
  const chain: SpeechEngine[] = [...new Set<SpeechEngine>([o.engine, ...(o.engine === 'tone' ? [] : (['espeak-ng', 'tone'] as const))])];
  for (const engine of chain) {
    try {
      return await local(text, engine, engine === o.engine ? o.voice : undefined, o.replyFormat);
    } catch (err) {
      o.log.warn('voice-failed', { engine, error: errorMessage(err), fallback: chain[chain.indexOf(engine) + 1] ?? 'none' });
      if (engine === chain.at(-1)) throw err;
    }
  }
  throw new Error('unreachable: the tone does not fail');
}

async function fromService(tts: TtsClient, text: string, timeoutMs: number): Promise<ReplyAudio> {
  const { format, audio } = await synthesizeWithService(tts, text, timeoutMs);
  if (!audio.length) throw new Error(`${tts.name} returned no audio for the reply`);
  if (format.codec === 'pcm') {
    return {
      contentType: `audio/l16; rate=${format.sampleRate}; channels=${format.channels}`,
      bytes: audio,
      bytesPerSecond: format.sampleRate * 2 * format.channels,
      voice: tts.name,
    };
  }
  if (format.codec === 'mp3') {
    return { contentType: 'audio/mpeg', bytes: audio, bytesPerSecond: mp3BytesPerSecond(audio) ?? UNKNOWN_MP3_BYTES_PER_SECOND, voice: tts.name };
  }
  throw new Error(`${tts.name} did not say what format its audio is in`);
}

async function local(text: string, engine: SpeechEngine, voice: string | undefined, replyFormat: 'pcm' | 'mp3'): Promise<ReplyAudio> {
  const pcm = await synthesizeLocally(text, engine, voice);
  if (replyFormat === 'mp3') {
    const mp3 = await encodeMp3(pcm);
    const seconds = pcm.length / CORE_FORMAT.sampleRate;
    return { contentType: 'audio/mpeg', bytes: mp3, bytesPerSecond: mp3.length / seconds, voice: engine };
  }
  return {
    contentType: `audio/l16; rate=${CORE_FORMAT.sampleRate}; channels=1`,
    bytes: int16ToBytes(pcm),
    bytesPerSecond: CORE_FORMAT.sampleRate * 2,
    voice: engine,
  };
}
