/**
 * The real @picovoice/porcupine-node: with a bad or missing AccessKey, missing keyword or model
 * files, the adapter never throws, reports its own actionable reason, and never leaks the key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, PORCUPINE_BUILTIN_KEYWORDS, WakeSchema } from '../../../src/config/schema.js';
import { describePorcupineError } from '../../../src/drivers/porcupine/errors.js';
import { createWakeWord } from '../../../src/drivers/registry.js';
import { PorcupineWake } from '../../../src/drivers/porcupine/wake.js';
import { memoryLogger } from '../../../src/log/logger.js';

const BAD_KEY = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==';

function realWake(over: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  const mem = memoryLogger('debug');
  const delays: number[] = [];
  const wake = new PorcupineWake({
    config: WakeSchema.parse({ engine: 'porcupine', keywords: ['computer'], accessKeyEnv: 'TEST_PV_KEY', ...over }),
    log: mem.logger,
    env,
    schedule: (_fn, ms) => {
      delays.push(ms);
      return () => {};
    },
  });
  return { wake, mem, delays };
}

describe('real porcupine-node', () => {
  it('the built-in keyword list in the schema matches the installed package', async () => {
    const pv = await import('@picovoice/porcupine-node');
    const names = Object.values(pv.BuiltinKeyword).sort();
    expect([...PORCUPINE_BUILTIN_KEYWORDS].sort()).toEqual(names);
  });

  it('a well-formed but invalid key gives our message, available:false, a retry, and no key in logs', async () => {
    const t = realWake({}, { TEST_PV_KEY: BAD_KEY });
    const statuses: unknown[] = [];
    t.wake.on('status', (s) => statuses.push(s));
    await expect(t.wake.start()).resolves.toBeUndefined();
    const st = t.wake.status();
    expect(st.available).toBe(false);
    expect(st.reason).toBe(
      'Porcupine AccessKey (from environment variable TEST_PV_KEY) is invalid: copy it again from https://console.picovoice.ai/ (one line, no spaces)',
    );
    expect(statuses).toEqual([st]);
    expect(t.delays).toEqual([30_000]);
    const warns = t.mem.lines().filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    // porcupine-node puts the key in its own message; none of it reaches our log.
    expect(t.mem.text()).not.toContain(BAD_KEY);
    expect(t.mem.text()).toContain('[redacted]');
    await t.wake.stop();
  });

  it('a key from a file that porcupine cannot parse is reported with its source', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pv-'));
    const file = path.join(dir, 'key');
    writeFileSync(file, 'not-a-key\n', { mode: 0o600 });
    const t = realWake({ accessKeyFile: file }, {});
    await t.wake.start();
    expect(t.wake.status().reason).toContain(`(from file ${file}) is invalid`);
    expect(t.mem.text()).not.toContain('not-a-key');
  });

  it('the systemd credential directory is used when no file is configured', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cred-'));
    writeFileSync(path.join(dir, 'porcupine-access-key'), 'cred-key-value\n');
    const t = realWake({}, { CREDENTIALS_DIRECTORY: dir, TEST_PV_KEY: 'env-key-value' });
    await t.wake.start();
    expect(t.wake.status().reason).toContain('(from systemd credential porcupine-access-key)');
  });

  it('missing keyword and model files are named in the reason', async () => {
    const kw = realWake({ keywords: ['/nonexistent/hey-pi_en_raspberry-pi_v3_0_0.ppn'] }, { TEST_PV_KEY: BAD_KEY });
    await kw.wake.start();
    expect(kw.wake.status().reason).toBe(
      'Porcupine keyword file not found: /nonexistent/hey-pi_en_raspberry-pi_v3_0_0.ppn: fix wake.keywords or copy the .ppn file there',
    );
    const model = realWake({ modelPath: '/nonexistent/porcupine_params_de.pv' }, { TEST_PV_KEY: BAD_KEY });
    await model.wake.start();
    expect(model.wake.status().reason).toMatch(/^Porcupine model file not found: \/nonexistent\/porcupine_params_de.pv/);
  });

  it('a keyword file for another platform, or a file that is not a model, is named with the fix', async () => {
    const pvDir = path.dirname(createRequire(import.meta.url).resolve('@picovoice/porcupine-node/package.json'));
    const macPpn = path.join(pvDir, 'resources/keyword_files/mac/computer_mac.ppn');
    const kw = realWake({ keywords: [macPpn] }, { TEST_PV_KEY: BAD_KEY });
    await kw.wake.start();
    expect(kw.wake.status().reason).toBe(
      `Porcupine keyword file ${macPpn} is not a keyword for this platform (or not a .ppn at all): download the Raspberry Pi (or Linux) version from https://console.picovoice.ai/`,
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'pv-model-'));
    const notModel = path.join(dir, 'porcupine_params_de.pv');
    writeFileSync(notModel, 'not a model');
    const model = realWake({ modelPath: notModel }, { TEST_PV_KEY: BAD_KEY });
    await model.wake.start();
    expect(model.wake.status().reason).toMatch(new RegExp(`^Porcupine could not load its model file ${notModel} \\(not a Porcupine .pv file`));
  });

  it('the registry builds the porcupine adapter lazily and start() does not throw', async () => {
    const mem = memoryLogger('info');
    const cfg = ConfigSchema.parse({ wake: { engine: 'porcupine', accessKeyEnv: 'SPEAKER_AGENT_TEST_NO_SUCH_VAR' } });
    const wake = await createWakeWord(cfg, mem.logger);
    await wake.start();
    expect(wake.status()).toMatchObject({ available: false, keywords: ['porcupine'] });
    expect(wake.status().reason).toMatch(/^no Porcupine AccessKey/);
    expect(mem.lines()).toEqual([
      expect.objectContaining({ level: 'warn', ns: 'wake', event: 'wake-unavailable' }),
    ]);
    await wake.stop();
  });
});

describe('describePorcupineError', () => {
  it('maps each activation error class to its own advice', () => {
    const cases: [string, RegExp, boolean][] = [
      ['PorcupineActivationLimitReachedError', /activation limit: remove an old device/, true],
      ['PorcupineActivationThrottledError', /throttled/, true],
      ['PorcupineActivationRefusedError', /refused \(expired, revoked/, true],
      ['PorcupineActivationError', /no network/, true],
    ];
    for (const [name, re, retry] of cases) {
      const Cls = { [name]: class extends Error {} }[name]!;
      const d = describePorcupineError(new Cls('x'), { keySource: 'file /k' });
      expect(d.reason, name).toMatch(re);
      expect(d.retry, name).toBe(retry);
    }
  });

  it('treats the bare string porcupine-node throws for an unknown OS as not retryable', () => {
    const d = describePorcupineError('System freebsd/x64 is not supported by this library.');
    expect(d).toMatchObject({ retry: false, reason: expect.stringMatching(/^Porcupine does not support this CPU\/OS \(System freebsd/) });
  });

  it('marks an unsupported CPU as not retryable', () => {
    const Cls = { PorcupineRuntimeError: class extends Error {} }.PorcupineRuntimeError;
    const d = describePorcupineError(new Cls("Unsupported CPU: '0xc07'"));
    expect(d.retry).toBe(false);
    expect(d.reason).toMatch(/does not support this CPU/);
  });
});
