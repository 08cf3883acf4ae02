/** Settings of the ESPHome native API backend (`esphome:`, Home Assistant's voice satellite); see docs/backends.md. */
import { z } from 'zod';
import { ms } from './common.js';

export const EsphomeSchema = z
  .object({
    /** TCP port Home Assistant connects to (ESPHome's default). */
    port: z.number().int().min(0).max(65_535).default(6053),
    /** Address to listen on; default every interface. */
    host: z.string().optional(),
    /**
     * File holding the encryption key (base64 of 32 bytes, as Home Assistant asks for it). When
     * unset, the systemd credential `esphome-key` is used; with neither, the API is plaintext.
     */
    keyFile: z.string().optional(),
    /**
     * Device name shown in Home Assistant and advertised over mDNS: lowercase letters, digits and
     * hyphens, at most 31 characters. Default: the host name, cleaned up.
     */
    name: z
      .string()
      .regex(/^[a-z0-9-]{1,31}$/, 'must be 1-31 lowercase letters, digits or hyphens (an ESPHome device name), e.g. "kitchen-speaker"')
      .optional(),
    /** Friendly name in Home Assistant; default the name. */
    friendlyName: z.string().min(1).max(120).optional(),
    /** MAC address reported as the device's identity (`AA:BB:CC:DD:EE:FF`); default the first network interface's. */
    mac: z
      .string()
      .regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, 'must be a MAC address like AA:BB:CC:DD:EE:FF')
      .optional(),
    /** Advertise `_esphomelib._tcp` over mDNS so Home Assistant discovers the speaker. */
    mdns: z.boolean().default(true),
    /** How long Home Assistant may take to accept a pipeline run. */
    startTimeoutMs: ms(5000, 500, 60_000),
    /** Reply and announcement audio: longest wait for the HTTP response and between chunks. */
    fetchTimeoutMs: ms(10_000, 500, 120_000),
    /** PEM file of a private CA, for Home Assistant URLs served over https with its own certificate. */
    caFile: z.string().optional(),
    /** Largest reply or announcement fetched, in bytes. */
    maxReplyBytes: z.number().int().min(64 * 1024).max(256 * 1024 * 1024).default(32 * 1024 * 1024),
    /** A finished timer rings this long unless stopped (linux-voice-assistant's default: 15 minutes). */
    timerMaxRingMs: ms(900_000, 1000, 3_600_000),
    /** The encryption handshake and the client's hello must complete within this. */
    handshakeTimeoutMs: ms(10_000, 500, 120_000),
    /** A client that sends nothing for this long is dropped (Home Assistant pings every 20 s). */
    idleTimeoutMs: ms(90_000, 1000, 3_600_000),
  })
  .strict();
