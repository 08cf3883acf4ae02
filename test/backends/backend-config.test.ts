import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPipelineBackend, createSocaBackend } from '../../src/backends/factory.js';
import { readKey } from '../../src/backends/secret.js';
import { Backoff } from '../../src/util/backoff.js';
import { formatIssues } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createBackend } from '../../src/drivers/registry.js';
import { ConfigError } from '../../src/errors.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'sa-keys-'));
  dirs.push(d);
  return d;
}

const source = { keyEnv: 'SOCA_PRIVATE_KEY', credential: 'soca-key' };

describe('backend config and keys', () => {
  it('accepts gateway, soca and pipeline, and names the path on a bad backend', () => {
    expect(ConfigSchema.parse({ backend: 'soca' }).backend).toBe('soca');
    expect(ConfigSchema.parse({}).pipeline.stt).toBe('assemblyai');
    const r = ConfigSchema.safeParse({ backend: 'deepgram', soca: { lang: 'fr' }, pipeline: { assemblyai: { url: 'https://x' } } });
    expect(r.success).toBe(false);
    const issues = formatIssues(r.error!.issues);
    expect(issues.some((i) => i.startsWith('backend: '))).toBe(true);
    expect(issues.some((i) => i.startsWith('soca.lang: '))).toBe(true);
    expect(issues).toContain('pipeline.assemblyai.url: must be a ws:// or wss:// URL, e.g. wss://streaming.assemblyai.com/v3/ws');
  });

  it('rejects unknown keys in the new sections', () => {
    const r = ConfigSchema.safeParse({ pipeline: { slngTts: { voise: 'x' } } });
    expect(formatIssues(r.error!.issues)[0]).toMatch(/^pipeline\.slngTts: .*voise/);
  });

  it('reads a key from a file first, then the systemd credential, then the environment', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'file'), 'from-file-key\nsecond line\n');
    writeFileSync(path.join(dir, 'soca-key'), 'from-credential-key\n');
    const log = silentLogger();
    expect(readKey('soca', { ...source, keyFile: path.join(dir, 'file') }, log, { env: { CREDENTIALS_DIRECTORY: dir, SOCA_PRIVATE_KEY: 'env-key-1' } })).toBe('from-file-key');
    expect(readKey('soca', source, log, { env: { CREDENTIALS_DIRECTORY: dir, SOCA_PRIVATE_KEY: 'env-key-1' } })).toBe('from-credential-key');
    expect(readKey('soca', source, log, { env: { CREDENTIALS_DIRECTORY: tmp(), SOCA_PRIVATE_KEY: 'env-key-1' } })).toBe('env-key-1');
  });

  it('says where it looked when there is no key, and never falls through from a bad key file', () => {
    expect(() => readKey('soca', source, silentLogger(), { env: {} })).toThrow(
      'soca: no API key found. Set soca.keyFile to a file holding it, or the environment variable SOCA_PRIVATE_KEY, or (systemd) LoadCredential=soca-key:/path/to/key',
    );
    expect(() => readKey('soca', { ...source, keyFile: '/nonexistent/key' }, silentLogger(), { env: { SOCA_PRIVATE_KEY: 'env-key-1' } })).toThrow(
      'soca.keyFile: cannot read /nonexistent/key (ENOENT)',
    );
    const dir = tmp();
    writeFileSync(path.join(dir, 'empty'), '\n');
    expect(() => readKey('soca', { ...source, keyFile: path.join(dir, 'empty') }, silentLogger(), { env: {} })).toThrow(/is empty/);
  });

  it('masks a key that was read in every later log line', () => {
    const mem = memoryLogger();
    readKey('soca', source, mem.logger, { env: { SOCA_PRIVATE_KEY: 'sk-live-abcdef' } });
    mem.logger.child('x').warn('oops', { detail: 'sent sk-live-abcdef to the server' });
    expect(mem.text()).not.toContain('sk-live-abcdef');
  });

  it('soca needs an agent id', () => {
    const config = ConfigSchema.parse({ backend: 'soca' });
    expect(() => createSocaBackend(config, silentLogger(), { env: { SOCA_PRIVATE_KEY: 'k-123456' } })).toThrow(ConfigError);
    expect(() => createSocaBackend(config, silentLogger(), { env: { SOCA_PRIVATE_KEY: 'k-123456' } })).toThrow(/^soca\.agentId: required/);
    const ok = createSocaBackend(ConfigSchema.parse({ backend: 'soca', soca: { agentId: 'a1' } }), silentLogger(), { env: { SOCA_PRIVATE_KEY: 'k-123456' } });
    expect(ok.name).toBe('soca');
    expect(ok.connected).toBe(false);
  });

  it('pipeline with SLNG speech-to-text needs its URL; keys come per service', () => {
    const slng = ConfigSchema.parse({ backend: 'pipeline', pipeline: { stt: 'slng' } });
    expect(() => createPipelineBackend(slng, silentLogger(), { env: { SLNG_API_KEY: 'k-123456' } })).toThrow(/^pipeline\.slngStt\.url: required/);
    const aai = ConfigSchema.parse({ backend: 'pipeline' });
    expect(() => createPipelineBackend(aai, silentLogger(), { env: { SLNG_API_KEY: 'k-123456' } })).toThrow(/^pipeline\.assemblyai: no API key found/);
    const b = createPipelineBackend(aai, silentLogger(), { env: { SLNG_API_KEY: 'k-123456', ASSEMBLYAI_API_KEY: 'a-123456' } });
    expect(b.name).toBe('pipeline');
  });

  it('the registry builds each backend lazily by name', async () => {
    const saved = process.env.SOCA_PRIVATE_KEY;
    process.env.SOCA_PRIVATE_KEY = 'registry-key-1';
    try {
      const b = await createBackend(ConfigSchema.parse({ backend: 'soca', soca: { agentId: 'a' } }), silentLogger());
      expect(b.name).toBe('soca');
    } finally {
      if (saved === undefined) delete process.env.SOCA_PRIVATE_KEY;
      else process.env.SOCA_PRIVATE_KEY = saved;
    }
    const g = await createBackend(ConfigSchema.parse({}), silentLogger());
    expect(g.name).toBe('gateway');
  });

  it('backoff doubles from min to max with +-50 % jitter', () => {
    const lo = new Backoff(100, 1000, () => 0);
    expect([lo.next(), lo.next(), lo.next(), lo.next(), lo.next()]).toEqual([50, 100, 200, 400, 500]);
    const hi = new Backoff(100, 1000, () => 0.999);
    expect(hi.next()).toBe(150);
    hi.reset();
    expect(hi.next()).toBe(150);
  });
});
