import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDoctor } from '../../src/cli/doctor-cmd.js';
import { parseConfig } from '../../src/config/load.js';
import { loadAddonInChild, realContext } from '../../src/doctor/context.js';
import { formatResult, runDoctor, summary } from '../../src/doctor/doctor.js';
import type { CheckResult } from '../../src/doctor/types.js';

describe('loadAddonInChild', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'addons-'));
    writeFileSync(path.join(dir, 'package.json'), '{"name":"fixture"}');
    const mod = (name: string, body: string) => {
      mkdirSync(path.join(dir, 'node_modules', name), { recursive: true });
      writeFileSync(path.join(dir, 'node_modules', name, 'index.js'), body);
    };
    mod('fine', "process.stderr.write('ALSA lib noise that must not reach the doctor\\n'); module.exports = 1;");
    mod('throws', "throw Object.assign(new Error('libasound.so.2: cannot open shared object file\\nstack...'), { code: 'ERR_DLOPEN_FAILED' });");
    mod('aborts', 'process.abort();');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports ok, missing, a load error (first line, code) and a crash', async () => {
    expect(await loadAddonInChild('fine', dir)).toEqual({ status: 'ok' });
    expect(await loadAddonInChild('absent', dir)).toEqual({ status: 'missing' });
    expect(await loadAddonInChild('throws', dir)).toEqual({ status: 'error', message: 'libasound.so.2: cannot open shared object file', code: 'ERR_DLOPEN_FAILED' });
    expect(await loadAddonInChild('aborts', dir)).toEqual({ status: 'error', code: 'SIGNAL', message: 'the process loading it died of SIGABRT' });
  });
});

describe('doctor on this machine (no sound card, no GPIO, no systemd)', () => {
  const noSound = !existsSync('/proc/asound/cards');
  const noGpio = !existsSync('/dev/gpiochip0') && !existsSync('/dev/gpiomem');

  it.runIf(noSound && noGpio)('explains each missing piece and what to do', async () => {
    const ctx = { ...realContext({ serviceUser: 'no-such-user-xyz' }), loadAddon: async () => ({ status: 'ok' as const }) };
    const results = await runDoctor(ctx, { loadConfig: () => parseConfig({}), configSource: 'defaults', offline: true });
    const by = (id: string) => results.find((r) => r.id === id)!;
    expect(by('node').status).toBe('ok');
    expect(by('config')).toMatchObject({ status: 'ok', detail: 'valid (defaults)' });
    expect(by('audio')).toMatchObject({ status: 'fail', detail: 'no ALSA sound support (/proc/asound/cards missing)' });
    expect(by('audio').fix).toMatch(/aplay -l/);
    expect(by('groups')).toMatchObject({ status: 'fail', detail: 'user no-such-user-xyz does not exist' });
    expect(by('device access').status).toBe('skip');
    expect(by('gpio')).toMatchObject({ status: 'skip', detail: expect.stringMatching(/not needed \(gpio\.driver: none\)/) });
    expect(by('spi').status).toBe('skip');
    expect(by('gateway')).toMatchObject({ status: 'skip', detail: 'not checked (--offline)' });
    expect(by('porcupine').status).toBe('skip');
    expect(summary(results)).toMatch(/^\d+ problems?, \d+ warnings?\.\n$/);
  });

  it('with wav: audio and no hardware the same machine has no hardware failures', async () => {
    const ctx = { ...realContext({ serviceUser: 'root' }), loadAddon: async () => ({ status: 'missing' as const }) };
    const config = parseConfig({ audio: { mic: 'wav:/tmp/a.wav', speaker: 'wav:/tmp/b.wav' } });
    const results = await runDoctor(ctx, { loadConfig: () => config, configSource: 'test', offline: true });
    const failing = results.filter((r) => r.status === 'fail').map((r) => r.id);
    expect(failing).toEqual([]);
  });
});

describe('doctor output', () => {
  it('one line per check, a fix line under failures only', () => {
    expect(formatResult({ id: 'node', status: 'ok', detail: 'Node.js 20' })).toBe(`ok    ${'node'.padEnd(34)} Node.js 20\n`);
    const fail: CheckResult = { id: 'spi', status: 'fail', detail: 'no /dev/spidev*', fix: 'dtparam=spi=on' };
    expect(formatResult(fail).split('\n')).toEqual([`FAIL  ${'spi'.padEnd(34)} no /dev/spidev*`, `${' '.repeat(41)}fix: dtparam=spi=on`, '']);
    expect(summary([{ id: 'a', status: 'ok', detail: '' }])).toBe('All checks passed.\n');
  });

  it('`speaker-agent doctor --offline --json` prints JSON and exits non-zero on a failure', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'doctor-cli-'));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, 'gateway:\n  url: http://not-a-websocket\n');
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const saved = process.exitCode;
    try {
      const program = new Command().exitOverride();
      registerDoctor(program);
      await program.parseAsync(['node', 'speaker-agent', 'doctor', '--offline', '--json', '--config', file, '--user', 'root']);
      const results = JSON.parse(out.join('')) as CheckResult[];
      expect(results.find((r) => r.id === 'config')).toMatchObject({ status: 'fail', detail: `${file}: gateway.url: must be a ws:// or wss:// URL` });
      expect(results.find((r) => r.id === 'gateway')).toMatchObject({ status: 'skip', detail: 'configuration invalid (see the config line)' });
      expect(process.exitCode).toBe(1);
    } finally {
      spy.mockRestore();
      process.exitCode = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
