/** Settings of the direct backends (`soca:`, `pipeline:`); see docs/backends.md. */
import { z } from 'zod';
import { ms, optionsObject } from './common.js';

/** Where a service API key comes from; see src/backends/secret.ts. The key is never logged. */
const keySource = (env: string, credential: string) => ({
  /** File whose first line is the key (takes precedence). */
  keyFile: z.string().optional(),
  /** Environment variable holding the key, used when no file and no systemd credential. */
  keyEnv: z.string().default(env),
  /** systemd credential name: `$CREDENTIALS_DIRECTORY/<credential>` (LoadCredential=). */
  credential: z.string().default(credential),
});

const wsUrlString = (example: string) =>
  z.string().refine((u) => /^wss?:\/\/[^/]+/.test(u), `must be a ws:// or wss:// URL, e.g. ${example}`);
/** A ws(s) URL with a default. */
const wsUrl = (def: string) => wsUrlString(def).default(def);

/** Reconnect and timeout settings shared by the direct backends. */
const connectionTimings = {
  /** Reconnect backoff: doubles from min to max, with +-50 % jitter. */
  reconnectMinMs: ms(250, 10, 60_000),
  reconnectMaxMs: ms(30_000, 100, 600_000),
  /** Delay before retrying after the service refused the key. */
  authRetryMs: ms(60_000, 1000, 3_600_000),
  /** How long connecting (and the service's ready handshake) may take. */
  connectTimeoutMs: ms(10_000, 500, 120_000),
};


export const SocaSchema = z
  .object({
    /** Soca voice stream endpoint (docs/protocol.md "Soca"). */
    url: wsUrl('wss://api.soca.ai/voice-ws'),
    ...keySource('SOCA_PRIVATE_KEY', 'soca-key'),
    /** The agent created in Soca Studio. Required when backend is soca. */
    agentId: z.string().default(''),
    /** Session id sent in `start`; default: a new random UUID per connection. */
    sessionId: z.string().optional(),
    /** Conversation language: `id` (Indonesian, Soca's default) or `en` (English). */
    lang: z.enum(['id', 'en']).default('id'),
    /**
     * Keep streaming the mic while an answer plays, as Soca's own client does, so Soca can detect
     * a barge-in by itself. Off by default: without echo cancellation on the mic, Soca hears the
     * agent's own voice. Turn it on when the microphone cancels the speaker's echo.
     */
    streamWhileSpeaking: z.boolean().default(false),
    /** Listen again without a wake word after each answer (Soca has no per-answer flag). */
    followUp: z.boolean().default(false),
    /**
     * Silence sent after local end of speech, so the service's own end-pointing fires at once
     * instead of waiting for audio that the agent no longer forwards. Milliseconds.
     */
    endSilenceMs: ms(600, 0, 3000),
    /** Audio held while the connection is not ready yet; older audio is dropped. Milliseconds. */
    maxBufferMs: ms(5000, 500, 30_000),
    /** WebSocket ping interval; the connection is dropped when no pong came for interval + timeout. */
    pingIntervalMs: ms(15_000, 500, 120_000),
    pongTimeoutMs: ms(10_000, 500, 120_000),
    ...connectionTimings,
  })
  .strict();

export const AssemblyAiSchema = z
  .object({
    /** Universal Streaming v3 endpoint (docs/protocol.md "AssemblyAI"). */
    url: wsUrl('wss://streaming.assemblyai.com/v3/ws'),
    ...keySource('ASSEMBLYAI_API_KEY', 'assemblyai-key'),
    /**
     * The `speech_model` connection parameter, which the current streaming API requires (it has
     * no default): `universal-streaming-english`, `universal-streaming-multilingual`, `u3-rt-pro`, ...
     */
    speechModel: z.string().min(1).default('universal-streaming-english'),
    /** Audio per binary message; the service takes 50-1000 ms. Milliseconds. */
    chunkMs: z.number().int().min(50).max(1000).default(100),
    /** Wait for the formatted (punctuated) final transcript; adds a little latency. */
    formatTurns: z.boolean().default(false),
    /** Extra query parameters, e.g. end_of_turn_confidence_threshold, max_turn_silence, keyterms_prompt. */
    query: z.record(z.string(), z.string()).default({}),
    /** How long to wait for `Termination` after sending `Terminate`. */
    closeTimeoutMs: ms(2000, 100, 30_000),
  })
  .strict();

export const SlngSttSchema = z
  .object({
    /**
     * The STT endpoint, required for provider slng: the unified bridge
     * `wss://api.slng.ai/v1/bridges/unmute/stt/{model}:{variant}`, or a per-model endpoint
     * `wss://api.slng.ai/v1/stt/{provider}/{model}:{variant}` (docs/protocol.md "SLNG").
     */
    url: wsUrlString('wss://api.slng.ai/v1/stt/deepgram/nova:3').optional(),
    ...keySource('SLNG_API_KEY', 'slng-key'),
    language: z.string().default('en'),
    /** Let the service detect end of speech too (its final transcript ends listening). */
    enableVad: z.boolean().default(true),
    /** Extra `init.config` fields for this model. */
    config: optionsObject.default({}),
    /** Send `keepalive` when nothing was sent for this long. Milliseconds. */
    keepaliveMs: ms(5000, 20, 60_000),
    /** How long to wait for the server to close after `close`. */
    closeTimeoutMs: ms(2000, 100, 30_000),
  })
  .strict();

export const SkillSchema = z
  .object({
    /** http(s) URL receiving POST {transcript, sessionId, turnId}; answers {text, followUp?}. */
    url: z
      .string()
      .default('http://127.0.0.1:8090/skill')
      .refine((u) => /^https?:\/\/[^/]+/.test(u), 'must be an http:// or https:// URL'),
    /** Give up on the skill after this long. Milliseconds. */
    timeoutMs: ms(10_000, 100, 120_000),
    /** Extra request headers. */
    headers: z.record(z.string(), z.string()).default({}),
    /** File holding a bearer token sent as `Authorization: Bearer` (optional). */
    tokenFile: z.string().optional(),
    /**
     * The sentences the skill understands, for `stt: pocketsphinx` (its grammar): phrase
     * templates such as "turn (on | off) the [kitchen] light" (docs/backends.md). When empty,
     * the skill declares them itself: GET <url> answers {"phrases": [...], "rules": {...}}.
     */
    phrases: z.array(z.string().min(1)).default([]),
    /** Named rules the phrases refer to as <name>: name -> alternatives (templates). */
    rules: z.record(z.string(), z.array(z.string().min(1))).default({}),
  })
  .strict();

export const PocketsphinxSchema = z
  .object({
    /** Model directory (Debian's pocketsphinx-en-us); holds the acoustic model `en-us/` and `cmudict-en-us.dict`. */
    modelDir: z.string().default('/usr/share/pocketsphinx/model/en-us'),
    /** Acoustic model directory; default `<modelDir>/en-us`. */
    hmm: z.string().optional(),
    /** Pronunciation dictionary; default `<modelDir>/cmudict-en-us.dict`. */
    dict: z.string().optional(),
    /**
     * How well the words must explain the audio (log-likelihood ratio per frame against a free
     * phone loop) to count as understood; higher rejects more. Measured in docs/benchmarks.md.
     */
    rejectThreshold: z.number().min(-50).max(50).default(0.5),
    /**
     * Silence after a complete sentence that ends the utterance, ms (50 ms more when the recogniser
     * estimates the room noisy; 0: wait for the general end of speech). Shorter answers sooner; a user who pauses this long after a sentence that is complete
     * by itself ("set a timer ... for five minutes") is answered for the first part.
     */
    completeSilenceMs: ms(150, 0, 3000),
    /** Spoken when speech matched none of the sentences. */
    notUnderstood: z.string().default('Sorry, I did not understand that.'),
  })
  .strict();

export const LocalTtsSchema = z
  .object({
    /** Voice of the local engine (flite: slt, kal16, awb, rms, kal; festival: cmu_us_slt_arctic_hts; espeak-ng: en-us). Default: the engine's best. */
    voice: z.string().optional(),
  })
  .strict();

export const SlngTtsSchema = z
  .object({
    /**
     * The TTS endpoint. The default is SLNG's unified bridge, which speaks the protocol of
     * docs/protocol.md "SLNG" (it answers `init` with `ready`). Per-model endpoints
     * (`wss://api.slng.ai/v1/tts/{provider}/{model}:{variant}`) may speak a provider-native
     * format: the client then sends the text right after `init` without waiting for `ready`.
     */
    url: wsUrl('wss://api.slng.ai/v1/bridges/unmute/tts/slng/deepgram/aura:2-en'),
    ...keySource('SLNG_API_KEY', 'slng-key'),
    model: z.string().default('aura:2'),
    voice: z.string().optional(),
    /** Output rate in Hz (linear16). */
    sampleRate: z.number().int().min(8000).max(48_000).default(16_000),
    /** `linear16` plays with no decoder; `mp3` is smaller on the wire. */
    encoding: z.enum(['linear16', 'mp3']).default('linear16'),
    language: z.string().optional(),
    speed: z.number().min(0.25).max(4).optional(),
    /** Retries after a `rate_limit` error, each after a backoff starting at rateLimitRetryMs. */
    rateLimitRetries: z.number().int().min(0).max(10).default(2),
    rateLimitRetryMs: ms(1000, 10, 60_000),
    /** The reply fails when the endpoint sends nothing for this long while synthesising it. Milliseconds. */
    idleTimeoutMs: ms(10_000, 500, 120_000),
  })
  .strict();

export const PipelineSchema = z
  .object({
    /** Which speech-to-text: a service, or `pocketsphinx` (offline, on the device; grammar from the skill's phrases). */
    stt: z.enum(['assemblyai', 'slng', 'pocketsphinx']).default('assemblyai'),
    /** Which text-to-speech: SLNG, or an offline engine on the device (`flite`, `festival`, `espeak-ng`). */
    tts: z.enum(['slng', 'flite', 'festival', 'espeak-ng']).default('slng'),
    assemblyai: AssemblyAiSchema.prefault({}),
    slngStt: SlngSttSchema.prefault({}),
    pocketsphinx: PocketsphinxSchema.prefault({}),
    skill: SkillSchema.prefault({}),
    slngTts: SlngTtsSchema.prefault({}),
    localTts: LocalTtsSchema.prefault({}),
    /** Header scheme for SLNG keys: `Authorization: <scheme> <key>`. */
    slngAuthScheme: z.string().default('Bearer'),
    ...connectionTimings,
  })
  .strict();
