import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

});
