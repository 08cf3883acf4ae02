import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSecretFile } from '../../src/system/credentials.js';

describe('readSecretFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'creds-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the first non-empty line, trimmed; missing or empty (the installer placeholder) is undefined', () => {
    writeFileSync(path.join(dir, 'gateway-token'), '\n  s3cret-token  \r\nsecond\n');
    writeFileSync(path.join(dir, 'porcupine-access-key'), '\n');
    expect(readSecretFile(path.join(dir, 'gateway-token'))).toBe('s3cret-token');
    expect(readSecretFile(path.join(dir, 'porcupine-access-key'))).toBeUndefined();
    expect(readSecretFile(path.join(dir, 'absent'))).toBeUndefined();
  });

  it('other read errors reach the caller (who explains them)', () => {
    mkdirSync(path.join(dir, 'gateway-token'));
    expect(() => readSecretFile(path.join(dir, 'gateway-token'))).toThrow(/EISDIR/);
  });
});
