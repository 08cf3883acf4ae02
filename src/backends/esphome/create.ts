/**
 * Builds the esphome backend from the config: the device identity, the encryption key (a
 * secret: see identity.ts) and the server. Loaded lazily by the driver registry, so the other
 * backends never load the protobuf definitions.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { EsphomeBackend } from './backend.js';
import { identity, readEncryptionKey, type IdentityDeps } from './identity.js';
import { preferencesPath } from './preferences.js';

/** Reported to Home Assistant as the project version (kept with src/cli.ts's). */
export const AGENT_VERSION = '0.1.0';

export function createEsphomeBackend(config: Config, log: Logger, deps: IdentityDeps = {}): EsphomeBackend {
  const c = config.esphome;
  const psk = readEncryptionKey(c, log, deps);
  let ca: string | undefined;
  if (c.caFile) {
    try {
      ca = (deps.readFile ?? ((f: string) => readFileSync(f, 'utf8')))(c.caFile);
    } catch (err) {
      throw new ConfigError([`esphome.caFile: cannot read ${c.caFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
    }
  }
  const preferencesFile = preferencesPath(deps.env);
  return new EsphomeBackend({ config: c, psk, ...(ca ? { ca } : {}), identity: identity(c, deps), version: AGENT_VERSION, log, ...(preferencesFile ? { preferencesFile } : {}) });
}
