/**
 * API keys for the direct speech services. A key comes from (first match wins) an explicit
 * file, systemd's `$CREDENTIALS_DIRECTORY/<credential>` (LoadCredential=), or an environment
 * variable. The value is registered with the logger so it is masked if it ever reaches a line.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/** Where to look for one key. */
export interface KeySource {
  /** File whose first line is the key. */
  keyFile?: string | undefined;
  /** Environment variable holding the key. */
  keyEnv: string;
  /** Name of the systemd credential (file in `$CREDENTIALS_DIRECTORY`). */
  credential: string;
}

/** What `readKey` may touch; injectable so tests never read the real environment. */
export interface KeyDeps {
  env?: NodeJS.ProcessEnv;
  readFile?: (file: string) => string;
}

const readText = (file: string): string => readFileSync(file, 'utf8');

function firstLine(text: string): string {
  return (text.split(/\r?\n/)[0] ?? '').trim();
}

/**
 * Reads the key for `configPath` (e.g. `soca`). Throws ConfigError with every place it looked
 * when none holds a key; an explicit file that cannot be read is always an error (never a silent
 * fall-through to the environment).
 */
export function readKey(configPath: string, source: KeySource, log: Logger, deps: KeyDeps = {}): string {
  const env = deps.env ?? process.env;
  const read = deps.readFile ?? readText;
  let key = '';
  if (source.keyFile) {
    try {
      key = firstLine(read(source.keyFile));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new ConfigError([`${configPath}.keyFile: cannot read ${source.keyFile} (${code})`]);
    }
    if (!key) throw new ConfigError([`${configPath}.keyFile: ${source.keyFile} is empty; put the API key on its first line`]);
  } else {
    const dir = env.CREDENTIALS_DIRECTORY;
    if (dir) {
      try {
        key = firstLine(read(path.join(dir, source.credential)));
      } catch {
        // No such credential: the environment variable may still hold the key.
      }
    }
    if (!key) key = (env[source.keyEnv] ?? '').trim();
  }
  if (!key) {
    throw new ConfigError([
      `${configPath}: no API key found. Set ${configPath}.keyFile to a file holding it, ` +
        `or the environment variable ${source.keyEnv}, or (systemd) LoadCredential=${source.credential}:/path/to/key`,
    ]);
  }
  log.addSecret(key);
  return key;
}
