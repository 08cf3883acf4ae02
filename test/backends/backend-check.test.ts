import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBackend, formatSteps } from '../../src/backends/check.js';
import { PipelineBackend } from '../../src/backends/pipeline.js';
import { HttpSkill } from '../../src/backends/skill.js';
import { SocaBackend } from '../../src/backends/soca.js';
import { AssemblyAiStt } from '../../src/backends/stt/assemblyai.js';
import { SlngTts } from '../../src/backends/tts/slng.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log/logger.js';
import { FakeAssemblyAi } from '../fakes/assemblyai.js';
import { FakeSkill, reply } from '../fakes/skill.js';
import { FakeSlngTts } from '../fakes/slng.js';
import { FakeSoca } from '../fakes/soca.js';

const KEY = 'check-key-123456';
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function pipelineFakes(skillHandler = reply('Hello from the skill.')) {
  const aai = await new FakeAssemblyAi({ key: KEY, transcript: '' }).start();
  const tts = await new FakeSlngTts({ key: KEY }).start();
  const skill = await new FakeSkill(skillHandler).start();
  cleanups.push(async () => {
    await Promise.all([aai.close(), tts.close(), skill.close()]);
  });
  return { aai, tts, skill };
}

function pipeline(f: Awaited<ReturnType<typeof pipelineFakes>>) {
  const p = ConfigSchema.parse({ pipeline: { assemblyai: { url: f.aai.url }, slngTts: { url: f.tts.url }, skill: { url: f.skill.url } } }).pipeline;
  const log = silentLogger();
  return new PipelineBackend({
    stt: new AssemblyAiStt({ config: p.assemblyai, key: KEY, log, connectTimeoutMs: 5000 }),
    skill: new HttpSkill({ config: p.skill, log }),
    tts: new SlngTts({ config: p.slngTts, key: KEY, authScheme: 'Bearer', log, connectTimeoutMs: 5000 }),
    log,
    authRetryMs: 1000,
  });
}

describe('check-backend', () => {
  it('pipeline: connect, speech-to-text on silence, and a spoken reply', async () => {
    const f = await pipelineFakes();
    const steps = await checkBackend(pipeline(f), { say: 'hello', timeoutMs: 5000 });
    expect(steps.map((s) => [s.name, s.ok])).toEqual([
      ['connect', true],
      ['speech-to-text', true],
      ['reply', true],
    ]);
    expect(steps[2]!.detail).toMatch(/^"Hello from the skill\.": 1920 bytes of PCM 16000 Hz, first after \d+ ms$/);
    expect(await f.aai.leaked()).toEqual([]);
    expect(formatSteps(steps).split('\n')[0]).toMatch(/^ok {4}connect {9}pipeline connected \(\d+ ms\)$/);
  });

  it('pipeline: a failing skill fails the reply step with its message', async () => {
    const f = await pipelineFakes((_b, _r, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const steps = await checkBackend(pipeline(f), { say: 'hello', timeoutMs: 5000 });
    expect(steps[2]).toMatchObject({ name: 'reply', ok: false });
    expect(steps[2]!.detail).toMatch(/answered HTTP 500: boom/);
  });

  it('soca: a refused key fails the connect step and says so', async () => {
    const fake = await new FakeSoca({ key: 'the-right-key' }).start();
    cleanups.push(() => fake.close());
    const config = ConfigSchema.parse({ soca: { url: fake.url, agentId: 'a' } }).soca;
    const steps = await checkBackend(new SocaBackend({ config, key: KEY, log: silentLogger() }), { timeoutMs: 5000 });
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ name: 'connect', ok: false });
    expect(steps[0]!.detail).toMatch(/rejected the private key.*\(key refused\)$/);
  });

  it('the CLI verb prints the steps and exits 1 on failure', async () => {
    const fake = await new FakeSoca({ key: 'the-right-key' }).start();
    cleanups.push(() => fake.close());
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-check-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const cfg = path.join(dir, 'c.yaml');
    writeFileSync(cfg, `backend: soca\nsoca:\n  agentId: a\n  url: ${fake.url}\n`);
    // The built CLI, as the daemon test uses (scripts/test.sh builds first).
    const cli = path.resolve('dist/src/cli.js');
    const run = promisify(execFile);
    const r = await run(process.execPath, [cli, 'check-backend', '-c', cfg], {
      env: { ...process.env, SOCA_PRIVATE_KEY: 'wrong-key-0000' },
    }).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}connect {9}soca: soca rejected the private key/);
    expect(r.stdout).not.toContain('wrong-key-0000');
  });
});
