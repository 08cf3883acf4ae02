/**
 * The pipeline's STT and TTS clients for other users, such as the bundled local gateway (so a
 * demo can run with real recognition and voices when keys are configured): whole-utterance
 * helpers on top of the streaming clients, and a builder that returns only the services whose
 * keys are present.
 */
import type { PipelineConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { ReplyFormat } from '../ports/backend.js';
import { readKey, type KeyDeps } from './secret.js';
import { ServiceError } from './service-error.js';
import { AssemblyAiStt } from './stt/assemblyai.js';
import { SlngStt } from './stt/slng.js';
import type { SttClient } from './stt/types.js';
import { SlngTts, type TtsClient } from './tts/slng.js';

const FRAME_SAMPLES = 320;

/**
 * Transcribes a whole utterance (16 kHz mono): streams it in 20 ms frames, asks for the final
 * transcript, and always closes the session. Rejects with ServiceError on failure or after
 * `timeoutMs` milliseconds.
 */
export async function transcribe(stt: SttClient, pcm: Int16Array, timeoutMs = 10_000): Promise<string> {
  const session = stt.open();
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ServiceError(stt.name, 'timeout', `${stt.name}: no final transcript within ${timeoutMs} ms`)), timeoutMs);
      session.once('final', (r) => {
        clearTimeout(timer);
        resolve(r.text);
      });
      session.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      for (let i = 0; i < pcm.length; i += FRAME_SAMPLES) session.send(pcm.subarray(i, i + FRAME_SAMPLES));
      session.finalize();
    });
  } finally {
    await session.close();
  }
}

/** Synthesizes `text` completely. Rejects with ServiceError on failure or after `timeoutMs` ms. */
export async function synthesize(tts: TtsClient, text: string, timeoutMs = 20_000): Promise<{ format: ReplyFormat; audio: Buffer }> {
  const session = tts.open();
  const parts: Buffer[] = [];
  let format: ReplyFormat = { codec: 'unknown' };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ServiceError(tts.name, 'timeout', `${tts.name}: synthesis not complete within ${timeoutMs} ms`)), timeoutMs);
      session.on('start', (f) => (format = f));
      session.on('audio', (b) => parts.push(b));
      session.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
      session.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      session.speak(text);
    });
  } catch (err) {
    await session.cancel();
    throw err;
  }
  return { format, audio: Buffer.concat(parts) };
}

/**
 * The STT and TTS services configured in `pipeline` whose keys can be found; a service without a
 * key is left out (the caller falls back to its offline engines), and so is one the config does
 * not choose (`stt: pocketsphinx`, `tts: flite`...: the caller's own engines). Any other config
 * problem throws.
 */
export function speechServicesFromConfig(p: PipelineConfig, log: Logger, deps: KeyDeps = {}): { stt?: SttClient; tts?: TtsClient } {
  const optionalKey = (path: string, source: Parameters<typeof readKey>[1]): string | undefined => {
    if (source.keyFile) return readKey(path, source, log, deps); // an explicit file must work
    try {
      return readKey(path, source, log, deps);
    } catch (err) {
      if (err instanceof ConfigError) return undefined;
      throw err;
    }
  };
  const out: { stt?: SttClient; tts?: TtsClient } = {};
  if (p.stt === 'assemblyai') {
    const key = optionalKey('pipeline.assemblyai', p.assemblyai);
    if (key) out.stt = new AssemblyAiStt({ config: p.assemblyai, key, log, connectTimeoutMs: p.connectTimeoutMs });
  } else if (p.stt === 'slng' && p.slngStt.url) {
    const key = optionalKey('pipeline.slngStt', p.slngStt);
    if (key) out.stt = new SlngStt({ config: { ...p.slngStt, url: p.slngStt.url }, key, authScheme: p.slngAuthScheme, log, connectTimeoutMs: p.connectTimeoutMs });
  }
  const ttsKey = p.tts === 'slng' ? optionalKey('pipeline.slngTts', p.slngTts) : undefined;
  if (ttsKey) out.tts = new SlngTts({ config: p.slngTts, key: ttsKey, authScheme: p.slngAuthScheme, log, connectTimeoutMs: p.connectTimeoutMs });
  return out;
}
