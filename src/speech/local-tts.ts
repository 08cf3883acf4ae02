/**
 * The offline voices (./voices.ts) behind the pipeline backend's text-to-speech contract, so
 * `pipeline.tts: flite | festival | espeak-ng` speaks with no service. A reply is synthesised
 * whole (flite takes about 0.01 s per second of speech here, festival about 0.1 s), then
 * delivered as 16 kHz mono PCM in 100 ms chunks.
 */
import { CORE_FORMAT } from '../audio/format.js';
import { int16ToBytes } from '../audio/wav.js';
import { ServiceError } from '../backends/service-error.js';
import type { TtsClient, TtsEvents, TtsSession } from '../backends/tts/slng.js';
import { CanceledError, ConfigError, errorMessage } from '../errors.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { checkVoice, DEFAULT_VOICES, hasVoiceEngine, speak, VOICE_PACKAGES, type VoiceEngine } from './voices.js';

const CHUNK_BYTES = (CORE_FORMAT.sampleRate / 10) * 2;

export class LocalTts implements TtsClient {
  readonly name: string;
  readonly voice: string;

  /** Checks that the engine is installed and knows the voice; throws ConfigError naming `configPath`. */
  constructor(
    readonly engine: VoiceEngine,
    voice: string | undefined,
    configPath = 'pipeline.tts',
  ) {
    this.voice = voice ?? DEFAULT_VOICES[engine];
    this.name = engine;
    if (!hasVoiceEngine(engine)) throw new ConfigError([`${configPath}: ${engine} is not installed (sudo apt-get install ${VOICE_PACKAGES[engine]})`]);
    const bad = checkVoice(engine, this.voice);
    if (bad) throw new ConfigError([`${configPath}: ${bad}`]);
  }

  open(): TtsSession {
    return new LocalTtsSession(this.engine, this.voice);
  }
}

class LocalTtsSession extends TypedEmitter<TtsEvents> implements TtsSession {
  readonly #abort = new AbortController();
  #spoken = false;

  constructor(
    private readonly engine: VoiceEngine,
    private readonly voice: string,
  ) {
    super();
  }

  speak(text: string): void {
    if (this.#spoken) return;
    this.#spoken = true;
    speak(text, this.engine, this.voice, this.#abort.signal).then(
      (pcm) => {
        if (this.#abort.signal.aborted) return;
        const bytes = int16ToBytes(pcm);
        this.emit('start', { codec: 'pcm', sampleRate: CORE_FORMAT.sampleRate, channels: 1 });
        for (let off = 0; off < bytes.length && !this.#abort.signal.aborted; off += CHUNK_BYTES) this.emit('audio', bytes.subarray(off, off + CHUNK_BYTES));
        if (!this.#abort.signal.aborted) this.emit('end');
      },
      (err: unknown) => {
        if (err instanceof CanceledError || this.#abort.signal.aborted) return;
        this.emit('error', new ServiceError(this.engine, 'provider', `${this.engine}: ${errorMessage(err)}`));
      },
    );
  }

  async cancel(): Promise<void> {
    this.#abort.abort();
  }
}
