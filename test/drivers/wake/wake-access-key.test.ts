/** AccessKey sources: file, systemd credential, environment; failures are one actionable line. */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAccessKey } from '../../../src/drivers/porcupine/access-key.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pv-key-'));
const file = (name: string, text: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, text, { mode: 0o600 });
  return f;
};

describe('readAccessKey', () => {
  it('takes the first non-empty line of the file, trimmed, and names the source', async () => {
    const f = file('k1', '\n  abc123==  \nsecond line\n');
    expect(await readAccessKey({ file: f, envName: 'K', env: { K: 'from-env' } })).toEqual({ ok: true, key: 'abc123==', source: `file ${f}` });
  });

  it('a configured file that is missing or empty is an error, not a silent fall-back to the environment', async () => {
    const missing = await readAccessKey({ file: path.join(dir, 'nope'), envName: 'K', env: { K: 'from-env' } });
    expect(missing).toEqual({ ok: false, reason: expect.stringMatching(/^cannot read Porcupine AccessKey file .*nope \(ENOENT\): create it/) });
    const empty = await readAccessKey({ file: file('k2', '\n\n'), envName: 'K', env: { K: 'from-env' } });
    expect(empty).toEqual({ ok: false, reason: expect.stringMatching(/AccessKey file .*k2 is empty/) });
  });

  it('an unreadable file says how to fix permissions', async () => {
    if (process.getuid?.() === 0) {
      // root reads anything; simulate the error the service user would get.
      const r = await readAccessKey({ file: '/k', envName: 'K', env: {}, readText: () => Promise.reject(Object.assign(new Error('x'), { code: 'EACCES' })) });
      expect(r).toEqual({ ok: false, reason: expect.stringContaining('(EACCES): make it readable by the service user') });
      return;
    }
    const f = file('k3', 'key');
    chmodSync(f, 0o000);
    const r = await readAccessKey({ file: f, envName: 'K', env: {} });
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('(EACCES): make it readable by the service user') });
  });

  it('uses the systemd credential before the environment, and the environment last', async () => {
    const cred = mkdtempSync(path.join(tmpdir(), 'cred-'));
    writeFileSync(path.join(cred, 'porcupine-access-key'), 'cred-key\n');
    expect(await readAccessKey({ envName: 'K', env: { CREDENTIALS_DIRECTORY: cred, K: 'env-key' } })).toMatchObject({ key: 'cred-key', source: 'systemd credential porcupine-access-key' });
    const empty = mkdtempSync(path.join(tmpdir(), 'cred-'));
    expect(await readAccessKey({ envName: 'K', env: { CREDENTIALS_DIRECTORY: empty, K: ' env-key ' } })).toMatchObject({ key: 'env-key', source: 'environment variable K' });
    expect(await readAccessKey({ envName: 'K', env: {} })).toEqual({ ok: false, reason: expect.stringMatching(/^no Porcupine AccessKey/) });
  });
});
