/** Settings of the audio gateway connection (`gateway:`); see docs/backends.md. */
import { z } from 'zod';
import { ms, optionsObject } from './common.js';

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
    /**
     * A command that prints a bearer token on stdout (a token exchange), run before every
     * (re)connect; when set it is the only token source. An argv array, or a string split on
     * whitespace; never run through a shell. Its output is never logged.
     */
    tokenCommand: z
      .union([
        z.string().refine((c) => c.trim().length > 0, 'must name a program, e.g. "/usr/local/bin/get-gateway-token"'),
        z.array(z.string().min(1)).min(1, 'must hold the program and its arguments, e.g. ["/usr/local/bin/get-token", "--scope", "audio"]'),
      ])
      .optional(),
    /** The token command is killed, and the attempt retried later, after this long. */
    tokenCommandTimeoutMs: ms(10_000, 100, 120_000),
    /** Extra HTTP headers on the WebSocket upgrade (e.g. a tenant header). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Extra query parameters on the URL (e.g. skillset, userID, language). */
    query: z.record(z.string(), z.string()).default({}),
    /** PEM file of a private CA to trust in addition to the system's (wss only). */
    caFile: z.string().optional(),
    /**
     * Sent as `stt_options` once per connection, before its first turn, with that turn's
     * transaction id (docs/protocol.md "stt_options"). Per-turn overrides (a follow-up's prompt
     * options) go in `audio_start.options.stt`, never with `content_type`.
     */
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
    /** Incoming text messages larger than this are dropped with a log line. */
    maxMessageBytes: z.number().int().min(1024).default(4 * 1024 * 1024),
    /**
     * Incoming binary (reply audio) frames larger than this are dropped with a log line; the
     * WebSocket itself is closed (1009) for a frame over twice the larger of the two limits.
     */
    maxAudioFrameBytes: z.number().int().min(1024).default(1024 * 1024),
    /**
     * The most reply audio accepted for one reply (encoded bytes, about 8 minutes of 16 kHz PCM);
     * past it the rest of that reply is dropped with a log line.
     */
    maxReplyBytes: z.number().int().min(64 * 1024).default(16 * 1024 * 1024),
    /**
     * A token sent over ws:// to a host that is not loopback travels in clear text: `warn` logs
     * it at every connect, `refuse` does not connect (docs/reliability.md).
     */
    insecureTokens: z.enum(['warn', 'refuse']).default('warn'),
    /** How long connecting may take before it counts as failed. */
    connectTimeoutMs: ms(10_000, 500, 120_000),
    /**
     * A `text` reply that carries a `voice` URL and no streamed audio: fetch the URL (http/https,
     * the same CA rules as the connection) and play it (MP3 or WAV).
     */
    voiceUrl: z
      .object({
        enabled: z.boolean().default(true),
        /** The whole download must finish within this long. */
        timeoutMs: ms(20_000, 500, 300_000),
        /** Larger replies are cut off with an error. */
        maxBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(16 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
  })
  .strict();
