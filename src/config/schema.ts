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

/** An earcon: `builtin` (generated sound shipped with the agent), `off`, or a path to a PCM16 WAV. */
const earcon = z.string().min(1, 'use "builtin", "off" or a path to a 16-bit PCM WAV file').default('builtin');

export const EarconsSchema = z
  .object({
    /** Played when the wake word or button starts listening (the mic keeps capturing meanwhile). */
    wake: earcon,
    /** Played when listening ends and the request is sent. */
    done: earcon,
    /** Played when a turn fails. */
    error: earcon,
    /** Played when the gateway connection is lost. */
    disconnected: earcon,
    /** Earcon loudness relative to the speaker volume, 0-100. */
    volume: z.number().min(0).max(100).default(60),
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
    /** `alsa:` mic: channel to keep (0-based, e.g. one mic of the 4-mic HAT) or "mix" (average of all). */
    micChannel: z.union([z.number().int().min(0).max(15), z.literal('mix')]).default('mix'),
    /** `alsa:` mic: native capture rate in Hz; 0 tries 16000, 48000, the device default, 44100. */
    micRate: z.number().int().min(0).max(192_000).default(0),
    /** `alsa:` mic: native capture channel count; 0 uses the device's own count (hardware devices). */
    micChannels: z.number().int().min(0).max(16).default(0),
    /** MP3 reply decoder: `mpg123` (WebAssembly, in-process; default) or `lame` (node-lame, a lame child process per reply). */
    mp3Decoder: z.enum(['mpg123', 'lame']).default('mpg123'),
    /** Short sounds for wake, done, error and disconnected. */
    earcons: EarconsSchema.prefault({}),
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
    backend: z.enum(['gateway']).default('gateway'),
    gateway: GatewaySchema.prefault({}),
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
export type AudioConfig = Config['audio'];
export type EarconsConfig = Config['audio']['earcons'];
export type ConversationConfig = Config['conversation'];
export type VadConfig = Config['conversation']['vad'];
