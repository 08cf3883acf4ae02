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
    /**
     * `band`: two-band detector with a per-band noise floor (default; measured in
     * bench/eos-eval.ts). `energy`: the simple full-band detector (uses thresholdDb, minLevelDb).
     */
    engine: z.enum(['band', 'energy']).default('band'),
    /** Frames louder than the noise floor by this many dB count as speech. */
    thresholdDb: z.number().min(3).max(40).default(12),
    /** Absolute floor: quieter frames are never speech (dBFS). */
    minLevelDb: z.number().min(-90).max(0).default(-50),
    /** Speech must last this long before it counts (rejects clicks). */
    speechStartMs: ms(100, 0, 2000),
    /**
     * Silence after speech that ends the utterance. Keep it above the longest pause users make
     * inside a sentence (600 ms) plus fading word endings; the band detector adds up to 300 ms
     * more in loud noise.
     */
    hangoverMs: ms(750, 100, 5000),
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

/**
 * Porcupine's built-in keywords (`BuiltinKeyword` in @picovoice/porcupine-node 4.x). Kept here so
 * config validation never loads the native package; test/wake-config.test.ts checks the list
 * against the installed package.
 */
export const PORCUPINE_BUILTIN_KEYWORDS = [
  'alexa',
  'americano',
  'blueberry',
  'bumblebee',
  'computer',
  'grapefruit',
  'grasshopper',
  'hey google',
  'hey siri',
  'jarvis',
  'ok google',
  'picovoice',
  'porcupine',
  'terminator',
] as const;

const sensitivity = z.number().min(0, 'must be 0-1').max(1, 'must be 0-1');

/** One keyword: a built-in name or a custom `.ppn` file from Picovoice Console. */
export const WakeKeywordSchema = z
  .object({
    /** Built-in keyword name (e.g. "computer") or absolute path of a custom `.ppn` file. */
    keyword: z
      .string()
      .min(1)
      .refine(
        (k) => (PORCUPINE_BUILTIN_KEYWORDS as readonly string[]).includes(k) || k.endsWith('.ppn'),
        `must be a built-in keyword (${PORCUPINE_BUILTIN_KEYWORDS.join(', ')}) or a path ending in .ppn`,
      ),
    /** 0-1; higher misses less but false-triggers more (default 0.5). */
    sensitivity: sensitivity.default(0.5),
    /** Name reported in `detected` and status (default: built-in name or the .ppn file's first word). */
    label: z.string().min(1).optional(),
  })
  .strict();

export const WakeSchema = z
  .object({
    /** `none`: button and control socket only. `porcupine`: Picovoice Porcupine (needs an AccessKey). */
    engine: z.enum(['none', 'porcupine']).default('none'),
    /** Keywords listened for; a bare string is a keyword with the default sensitivity. */
    keywords: z
      .array(z.union([z.string().transform((keyword) => ({ keyword })), z.object({}).passthrough()]).pipe(WakeKeywordSchema))
      .min(1, 'list at least one keyword')
      .default([{ keyword: 'porcupine', sensitivity: 0.5 }]),
    /** File whose first line is the Picovoice AccessKey (preferred; mode 0600). */
    accessKeyFile: z.string().optional(),
    /** Environment variable holding the AccessKey when no file is given. */
    accessKeyEnv: z.string().min(1).default('PORCUPINE_ACCESS_KEY'),
    /** Porcupine model file (`.pv`) for a language other than English; must match the keywords. */
    modelPath: z.string().optional(),
    /** Override of the Porcupine native library (`.node`); normally chosen by the package per CPU. */
    libraryPath: z.string().optional(),
    /** After a detection, further detections are ignored for this long (audio time). */
    refractoryMs: ms(2000, 0, 30_000),
    /**
     * While the device speaks (and for the settle delay after): `ignore` drops every detection;
     * `desensitise` runs a second Porcupine instance at `guardSensitivity` and passes only its
     * detections, which allows barge-in by wake word over the device's own voice.
     */
    guardMode: z.enum(['ignore', 'desensitise']).default('ignore'),
    /** Sensitivity of the guard instance in `desensitise` mode (lower = harder to trigger). */
    guardSensitivity: sensitivity.default(0.25),
    /** First retry after Porcupine failed to start; doubles up to `retryMaxMs`. */
    retryMinMs: ms(30_000, 1000, 3_600_000),
    retryMaxMs: ms(1_800_000, 1000, 86_400_000),
  })
  .strict();

/** `#rrggbb` colour used by LED patterns. */
const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like "#ff8000"');

/** LED colours per state; any state left out keeps the built-in colour (src/leds/patterns.ts). */
export const LedColorsSchema = z
  .object({
    idle: hexColor.optional(),
    listening: hexColor.optional(),
    'follow-up': hexColor.optional(),
    thinking: hexColor.optional(),
    speaking: hexColor.optional(),
    muted: hexColor.optional(),
    error: hexColor.optional(),
    disconnected: hexColor.optional(),
  })
  .strict();

export const LedsSchema = z
  .object({
    /**
     * `apa102`: RGB strip on SPI (ReSpeaker HATs); `gpio`: one single-colour LED on a pin;
     * `ktd2027`: the RGB button LED of the AIY Voice Bonnet, through a KTD2027 chip on I2C; `none`.
     */
    driver: z.enum(['none', 'apa102', 'gpio', 'ktd2027']).default('none'),
    /** Number of APA102 LEDs on the strip (3 on the 2-mic HAT, 12 on the 4-mic array). */
    count: z.number().int().min(1).max(256).default(3),
    /** SPI device node the APA102 strip is wired to. */
    spiDevice: z
      .string()
      .regex(/^\/dev\/spidev\d+\.\d+$/, 'must be a spidev node like "/dev/spidev0.1"')
      .default('/dev/spidev0.1'),
    /** SPI clock in Hz for the APA102 strip (the kernel default is far too fast for it). */
    spiSpeedHz: z.number().int().min(100_000).max(32_000_000).default(8_000_000),
    /** I2C bus number of the KTD2027 (`/dev/i2c-1` is the header's bus on every Pi). */
    i2cBus: z.number().int().min(0).max(255).default(1),
    /** 7-bit I2C address of the KTD2027 (0x31 on the AIY Voice Bonnet; chip variants on other boards may use 0x30). */
    i2cAddress: z.number().int().min(0x03).max(0x77).default(0x31),
    /** BCM pin driven high before the LEDs are used (GPIO5 powers the 4-mic array's LEDs). */
    powerPin: z.number().int().min(0).max(53).optional(),
    /** BCM pin of a single-colour LED (`driver: gpio`; GPIO25 on the AIY Voice HAT). */
    pin: z.number().int().min(0).max(53).optional(),
    /**
     * Overall brightness 0-31 (the APA102 global brightness field; scales single LEDs too; for
     * the KTD2027 the maximum current, 31 = 24 mA).
     */
    brightness: z.number().int().min(0).max(31).default(10),
    /** Animation frames per second (only while a state animates; static states write once). */
    fps: z.number().int().min(5).max(100).default(30),
    colors: LedColorsSchema.prefault({}),
  })
  .strict()
  .refine((l) => l.driver !== 'gpio' || l.pin !== undefined, {
    message: 'driver "gpio" needs "pin" (the BCM number of the LED pin, e.g. 25)',
    path: ['pin'],
  });

export const GpioSchema = z
  .object({
    /**
     * `rpio`: memory-mapped GPIO (Pi 1-4, Zero); `gpiod`: GPIO character device through the
     * libgpiod tools (Pi 5, any current kernel); `auto`: pick by board model; `none`.
     */
    driver: z.enum(['none', 'rpio', 'gpiod', 'auto']).default('none'),
    /** BCM pin of the button (17 on the ReSpeaker 2-mic HAT, 23 on the AIY kits); none: no button. */
    buttonPin: z.number().int().min(0).max(53).optional(),
    /** The button pulls the pin low when pressed (pull-up enabled). */
    activeLow: z.boolean().default(true),
    /** A level must hold this long to count (contact bounce is shorter). */
    debounceMs: ms(50, 0, 1000),
    /** Held at least this long: `long-press` (mute/unmute). */
    longPressMs: ms(1000, 200, 10_000),
    /** Second press within this window: `double-press`; 0 disables it (then `press` fires at once). */
    doublePressMs: ms(0, 0, 2000),
    /** rpio: how often the button pin is sampled (rpio's own edge polling runs every 1 ms). */
    pollMs: z.number().int().min(1).max(100).default(10),
    /** gpiod: GPIO chip label to look for (default: pinctrl-rp1, pinctrl-bcm2711, pinctrl-bcm2835). */
    chipLabel: z.string().optional(),
    leds: LedsSchema.prefault({}),
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
    /** Hardware profile applied under the config file: a name from hardware/ or a path to a YAML file. */
    hardware: z.string().optional(),
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
export type EarconsConfig = Config['audio']['earcons'];
export type ConversationConfig = Config['conversation'];
export type VadConfig = Config['conversation']['vad'];
export type GpioConfig = Config['gpio'];
export type LedsConfig = Config['gpio']['leds'];
export type WakeConfig = Config['wake'];
