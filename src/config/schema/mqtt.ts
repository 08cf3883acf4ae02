/** Settings of the MQTT adapter (`mqtt:`): automations and Home Assistant discovery; see docs/mqtt.md. */
import { z } from 'zod';
import { ms } from './common.js';

/** One MQTT topic level: what Home Assistant allows in a discovery node or object id. */
const topicId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 letters, digits, "_" or "-"');

/** A topic prefix of one or more levels, without wildcards or a leading/trailing "/". */
const topicPrefix = z
  .string()
  .min(1)
  .max(128)
  .refine((p) => !/[#+\0]/.test(p) && !p.startsWith('/') && !p.endsWith('/') && !p.includes('//') && !p.startsWith('$'), 'must be topic levels separated by "/", without "+", "#", "$" at the start, or empty levels');

export const MqttSchema = z
  .object({
    /**
     * Broker URL: mqtt://host[:1883], mqtts://host[:8883] (TLS), ws:// or wss://. Unset: no MQTT
     * (the `mqtt` package is not even loaded). A user name may be in the URL, a password never
     * (it would sit in the config file and in `ps` output): use `passwordFile` or the credential.
     */
    url: z
      .string()
      .optional()
      .superRefine((u, ctx) => {
        if (u === undefined || u === '') return;
        let url: URL;
        try {
          url = new URL(u);
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be a URL such as mqtt://broker.local:1883 or mqtts://broker.local:8883' });
          return;
        }
        if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(url.protocol)) {
          ctx.addIssue({ code: 'custom', message: `scheme ${url.protocol.replace(':', '')} is not supported: use mqtt://, mqtts://, ws:// or wss://` });
        }
        if (!url.hostname) ctx.addIssue({ code: 'custom', message: 'names no host' });
        if (url.password) {
          ctx.addIssue({ code: 'custom', message: 'must not contain a password: put it in mqtt.passwordFile or the systemd credential mqtt-password' });
        }
      }),
    /** First topic levels of this agent's topics: `<prefix>/<deviceId>/...`. */
    prefix: topicPrefix.default('speaker-agent'),
    /** Home Assistant's discovery prefix (its MQTT integration's setting). */
    discoveryPrefix: topicPrefix.default('homeassistant'),
    /** Publish Home Assistant discovery configs. Off: the topics still work for other automations. */
    discovery: z.boolean().default(true),
    /**
     * Stable id of this speaker on the broker: topic level, discovery node id and client id.
     * Default: derived from /etc/machine-id (hashed, so the machine id itself is not published),
     * else the host name. Every speaker on one broker needs its own.
     */
    deviceId: topicId.optional(),
    /** Device name shown in Home Assistant (e.g. the room). Default: the host name. */
    name: z.string().min(1).max(64).optional(),
    /** User name for the broker (also accepted in the URL). */
    username: z.string().min(1).optional(),
    /** File holding the broker password (first line). Else the credential `mqtt-password`, else `passwordEnv`. */
    passwordFile: z.string().optional(),
    /** Environment variable holding the password when no file or credential gives one. */
    passwordEnv: z.string().default('SPEAKER_AGENT_MQTT_PASSWORD'),
    /** PEM file of a private CA to trust in addition to the system's (mqtts/wss only). */
    caFile: z.string().optional(),
    /** Client certificate and its key (PEM) for brokers that authenticate clients by certificate. */
    certFile: z.string().optional(),
    keyFile: z.string().optional(),
    /** Also publish the last final transcript and reply text. Off by default: what people say stays on the device. */
    publishTranscripts: z.boolean().default(false),
    /** Longest text a `say` command may carry, in characters; longer ones are refused with a log line. */
    maxSayChars: z.number().int().min(1).max(4000).default(500),
    /** MQTT protocol: 5 (default; the broker enforces the packet size limit) or 4 (3.1.1, for old brokers). */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
    /** QoS of state publishes and command subscriptions. */
    qos: z.union([z.literal(0), z.literal(1)]).default(1),
    /** Keep-alive interval in seconds: a speaker that vanishes without closing is reported offline after 1.5x this. */
    keepaliveS: z.number().int().min(5).max(600).default(30),
    /** How long connecting (TCP, TLS, CONNACK) may take before it counts as failed. */
    connectTimeoutMs: ms(10_000, 500, 120_000),
    /** Reconnect backoff: doubles from min to max, with +-50 % jitter (a fleet does not reconnect in lock-step). */
    reconnectMinMs: ms(500, 10, 60_000),
    reconnectMaxMs: ms(15_000, 100, 600_000),
  })
  .strict()
  .refine((m) => !m.certFile === !m.keyFile, { message: 'certFile and keyFile go together', path: ['certFile'] })
  .refine((m) => m.reconnectMinMs <= m.reconnectMaxMs, { message: 'must not be larger than reconnectMaxMs', path: ['reconnectMinMs'] });
