/**
 * The one configuration schema: types, defaults and validation all come from here.
 * A config file (YAML or JSON), environment variables and command-line flags are merged
 * (flags win) and then parsed by `ConfigSchema`; every problem is reported as `path: message`.
 */
import { z } from 'zod';

const ms = (def: number, min = 0, max = 600_000) => z.number().int().min(min).max(max).default(def);
const optionsObject = z.record(z.string(), z.unknown());

/** A driver spec: `wav:PATH`, `alsa:NAME`, `none`, ... The scheme picks the driver. */
const driverSpec = z.string().min(1, 'must name a driver, e.g. "wav:/path/file.wav" or "alsa:default"');

export const GatewaySchema = z
  .object({
    /** ws:// or wss:// URL of the audio gateway. */
    url: z
      .string()
      .default('ws://127.0.0.1:8080/')
      .refine((u) => /^wss?:\/\/[^/]+/.test(u), 'must be a ws:// or wss:// URL'),
    /** File holding the bearer token (first line). Preferred over the environment variable. */
    tokenFile: z.string().optional(),
    /** Environment variable holding the bearer token when no file is given. */
    tokenEnv: z.string().default('SPEAKER_AGENT_TOKEN'),
    /** Extra HTTP headers on the WebSocket upgrade (e.g. a tenant header). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Extra query parameters on the URL (e.g. skillset, userID, language). */
    query: z.record(z.string(), z.string()).default({}),
    /** PEM file of a private CA to trust in addition to the system's (wss only). */
    caFile: z.string().optional(),
    /** Sent as `stt_options` right after connecting, and as `audio_start.options.stt`. */
    sttOptions: optionsObject.optional(),
    /** Sent as `tts_options` right after connecting. */
    ttsOptions: optionsObject.optional(),
    /** Sent as a `location` message right after connecting. */
    location: z
      .object({ latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180) })
      .optional(),
    /** WebSocket ping interval; the connection is terminated when a pong is `pongTimeoutMs` late. */
    pingIntervalMs: ms(3000, 500, 60_000),
    pongTimeoutMs: ms(5000, 500, 60_000),
    /** Reconnect backoff: doubles from min to max, with +-50 % jitter. */
    reconnectMinMs: ms(250, 10, 60_000),
    reconnectMaxMs: ms(64_000, 100, 600_000),
    /** Delay before retrying after the gateway rejected the token (401/403). */
    authRetryMs: ms(60_000, 1000, 3_600_000),
    /** Milliseconds of audio per `audio_data` message (20-100). */
    frameMs: z.number().int().min(20).max(100).default(20),
    /** Incoming messages larger than this are dropped with a log line. */
    maxMessageBytes: z.number().int().min(1024).default(4 * 1024 * 1024),
    /** How long connecting may take before it counts as failed. */
    connectTimeoutMs: ms(10_000, 500, 120_000),
  })
  .strict();

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
    /** Soca voice stream endpoint (seed 004). */
    url: wsUrl('wss://api.soca.ai/voice-ws'),
    ...keySource('SOCA_PRIVATE_KEY', 'soca-key'),
    /** The agent created in Soca Studio. Required when backend is soca. */
    agentId: z.string().default(''),
    /** Session id sent in `start`; default: a new random UUID per connection. */
    sessionId: z.string().optional(),
    /** Conversation language: `id` (Indonesian) or `en` (English). */
    lang: z.enum(['id', 'en']).default('en'),
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
    /** Universal Streaming v3 endpoint (seed 002). */
    url: wsUrl('wss://streaming.assemblyai.com/v3/ws'),
    ...keySource('ASSEMBLYAI_API_KEY', 'assemblyai-key'),
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
    /** `wss://api.slng.ai/v1/stt/{provider}/{model}:{variant}` (seed 003). Required for provider slng. */
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
  })
  .strict();

export const SlngTtsSchema = z
  .object({
    /** `wss://api.slng.ai/v1/tts/{provider}/{model}:{variant}` (seed 003). */
    url: wsUrl('wss://api.slng.ai/v1/tts/deepgram/aura:2'),
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
  })
  .strict();

export const PipelineSchema = z
  .object({
    /** Which speech-to-text service. */
    stt: z.enum(['assemblyai', 'slng']).default('assemblyai'),
    assemblyai: AssemblyAiSchema.prefault({}),
    slngStt: SlngSttSchema.prefault({}),
    skill: SkillSchema.prefault({}),
    slngTts: SlngTtsSchema.prefault({}),
    /** Header scheme for SLNG keys: `Authorization: <scheme> <key>`. */
    slngAuthScheme: z.string().default('Bearer'),
    ...connectionTimings,
  })
  .strict();

export const AudioSchema = z
  .object({
    /** Microphone: `wav:PATH` (simulated), `alsa:NAME` (real device). */
    mic: driverSpec.default('alsa:default'),
    /** Speaker: `wav:PATH` (simulated), `alsa:NAME` (real device). */
    speaker: driverSpec.default('alsa:default'),
    /** `wav:` mic: deliver frames in real time (false: as fast as possible, for tests). */
    micRealtime: z.boolean().default(true),
    /**
     * `wav:` mic: when the simulated user speaks the file: at `start`, or each time the agent
     * starts `listen`ing (a demo user who answers every prompt).
     */
    micCue: z.enum(['start', 'listen']).default('start'),
    /** `wav:` mic: after the file ends, keep delivering silence (true) or end the input (false). */
    micPadSilence: z.boolean().default(true),
    /** Milliseconds per captured frame. */
    frameMs: z.number().int().min(10).max(100).default(20),
    /** Audio kept from before the trigger so the first word is never lost. */
    preRollMs: ms(500, 0, 2000),
    /** `wav:` speaker: sample rate of the file written. */
    speakerRate: z.number().int().min(8000).max(48_000).default(16_000),
    /** `wav:` speaker: play in real time (drained fires when the audio would have finished). */
    speakerRealtime: z.boolean().default(true),
    /** Software volume 0-100. */
    volume: z.number().min(0).max(100).default(100),
  })
  .strict();

export const VadSchema = z
  .object({
    /** Frames louder than the noise floor by this many dB count as speech. */
    thresholdDb: z.number().min(3).max(40).default(12),
    /** Absolute floor: quieter frames are never speech (dBFS). */
    minLevelDb: z.number().min(-90).max(0).default(-50),
    /** Speech must last this long before it counts (rejects clicks). */
    speechStartMs: ms(100, 0, 2000),
    /** Silence after speech that ends the utterance. */
    hangoverMs: ms(800, 100, 5000),
  })
  .strict();

export const ConversationSchema = z
  .object({
    /** Listening lasts while the button is held, and ends on release. */
    pushToTalk: z.boolean().default(false),
    /** End listening on local end of speech (VAD), not only on the gateway's transcript. */
    endOnSilence: z.boolean().default(true),
    noSpeechTimeoutMs: ms(8000, 500),
    maxUtteranceMs: ms(10_000, 1000),
    thinkingTimeoutMs: ms(15_000, 1000),
    /** Pause after a reply finished playing before the mic reopens for a follow-up. */
    settleMs: ms(500, 0, 5000),
    /** A follow-up with no speech for this long ends without a turn. */
    expectSpeechTimeoutMs: ms(6000, 500),
    vad: VadSchema.prefault({}),
  })
  .strict();

export const WakeSchema = z
  .object({
    engine: z.enum(['none']).default('none'),
  })
  .strict();

export const GpioSchema = z
  .object({
    driver: z.enum(['none']).default('none'),
  })
  .strict();

export const ControlSchema = z
  .object({
    /** Unix socket path for the control interface; empty disables it. Default: runtime dir. */
    socket: z.string().optional(),
  })
  .strict();

export const LogSchema = z
  .object({
    level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    format: z.enum(['json', 'pretty']).default('json'),
  })
  .strict();

export const ConfigSchema = z
  .object({
    backend: z.enum(['gateway', 'soca', 'pipeline']).default('gateway'),
    gateway: GatewaySchema.prefault({}),
    soca: SocaSchema.prefault({}),
    pipeline: PipelineSchema.prefault({}),
    audio: AudioSchema.prefault({}),
    conversation: ConversationSchema.prefault({}),
    wake: WakeSchema.prefault({}),
    gpio: GpioSchema.prefault({}),
    control: ControlSchema.prefault({}),
    log: LogSchema.prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type GatewayConfig = Config['gateway'];
export type SocaConfig = Config['soca'];
export type PipelineConfig = Config['pipeline'];
export type AssemblyAiConfig = PipelineConfig['assemblyai'];
export type SlngSttConfig = PipelineConfig['slngStt'];
export type SkillConfig = PipelineConfig['skill'];
export type SlngTtsConfig = PipelineConfig['slngTts'];
export type AudioConfig = Config['audio'];
export type ConversationConfig = Config['conversation'];
export type VadConfig = Config['conversation']['vad'];
