/** Where the gateway bearer token comes from: a file, a systemd credential, or the environment. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from '../config/schema.js';

export type TokenSource = { token: string; source: string } | { token: undefined; source: 'none' } | { error: string };

export const CREDENTIAL_NAME = 'gateway-token';

/**
 * Reads the token at connect time (so a rotated token is picked up on reconnect).
 * Order: `tokenFile`, `$CREDENTIALS_DIRECTORY/gateway-token`, the `tokenEnv` variable.
 * The token itself is never part of an error message.
 */
export function readToken(config: Pick<GatewayConfig, 'tokenFile' | 'tokenEnv'>, env: NodeJS.ProcessEnv = process.env): TokenSource {
  if (config.tokenFile) {
    try {
      const token = readFileSync(config.tokenFile, 'utf8').split(/\r?\n/)[0]!.trim();
      if (!token) return { error: `token file ${config.tokenFile} is empty` };
      return { token, source: `file ${config.tokenFile}` };
    } catch (err) {
      return { error: `cannot read token file ${config.tokenFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    }
  }
  if (env.CREDENTIALS_DIRECTORY) {
    const file = path.join(env.CREDENTIALS_DIRECTORY, CREDENTIAL_NAME);
    try {
      const token = readFileSync(file, 'utf8').split(/\r?\n/)[0]!.trim();
      if (token) return { token, source: `credential ${CREDENTIAL_NAME}` };
    } catch {
      // No such credential: fall through to the environment.
    }
  }
  const fromEnv = env[config.tokenEnv]?.trim();
  if (fromEnv) return { token: fromEnv, source: `environment ${config.tokenEnv}` };
  return { token: undefined, source: 'none' };
}
