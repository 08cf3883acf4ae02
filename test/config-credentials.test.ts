import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { readCredential, readSecretFile } from '../src/system/credentials.js';

describe('secrets from $CREDENTIALS_DIRECTORY', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'creds-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the first non-empty line, trimmed; missing or empty is undefined', () => {
    writeFileSync(path.join(dir, 'gateway-token'), '\n  s3cret-token  \nsecond\n');
    writeFileSync(path.join(dir, 'porcupine-access-key'), '\n');
    const env = { CREDENTIALS_DIRECTORY: dir };
    expect(readCredential('gateway-token', env)).toBe('s3cret-token');
    expect(readCredential('porcupine-access-key', env)).toBeUndefined();
    expect(readCredential('nothing', env)).toBeUndefined();
    expect(readCredential('gateway-token', {})).toBeUndefined();
    expect(readSecretFile(path.join(dir, 'absent'))).toBeUndefined();
  });

  it('points gateway.tokenFile at the credential when nothing else sets it', () => {
    writeFileSync(path.join(dir, 'gateway-token'), 'tok\n');
    const cfg = loadConfig({ env: { CREDENTIALS_DIRECTORY: dir } });
    expect(cfg.gateway.tokenFile).toBe(path.join(dir, 'gateway-token'));
  });

  it('ranks below the file, the environment and flags', () => {
    writeFileSync(path.join(dir, 'gateway-token'), 'tok\n');
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, 'gateway:\n  tokenFile: /from/file\n');
    const env = { CREDENTIALS_DIRECTORY: dir };
    expect(loadConfig({ file, env }).gateway.tokenFile).toBe('/from/file');
    expect(loadConfig({ file, env: { ...env, SPEAKER_AGENT_TOKEN_FILE: '/from/env' } }).gateway.tokenFile).toBe('/from/env');
    expect(loadConfig({ file, env, flags: { 'gateway.tokenFile': '/from/flag' } }).gateway.tokenFile).toBe('/from/flag');
  });

  it('ignores the installer placeholder (an empty credential)', () => {
    writeFileSync(path.join(dir, 'gateway-token'), '');
    expect(loadConfig({ env: { CREDENTIALS_DIRECTORY: dir } }).gateway.tokenFile).toBeUndefined();
  });

  it('an unreadable credential is a ConfigError naming the file', () => {
    // A directory where the file should be gives EISDIR, even when the tests run as root.
    mkdirSync(path.join(dir, 'gateway-token'));
    let err: unknown;
    try {
      loadConfig({ env: { CREDENTIALS_DIRECTORY: dir } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([`${path.join(dir, 'gateway-token')}: cannot read credential (EISDIR)`]);
  });
});
