/**
 * Builds the esphome backend from the config: the device identity, the encryption key (a
 * secret: see identity.ts) and the server. Loaded lazily by the driver registry, so the other
 * backends never load the protobuf definitions.
 */
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import { EsphomeBackend } from './backend.js';
import { identity, readEncryptionKey, type IdentityDeps } from './identity.js';

/** Reported to Home Assistant as the project version (kept with src/cli.ts's). */
export const AGENT_VERSION = '0.1.0';

export function createEsphomeBackend(config: Config, log: Logger, deps: IdentityDeps = {}): EsphomeBackend {
  const c = config.esphome;
  const psk = readEncryptionKey(c, log, deps);
  return new EsphomeBackend({ config: c, psk, identity: identity(c, deps), version: AGENT_VERSION, log });
}
