import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configFromFlags } from '../../src/cli/common.js';
import { defaultControlSocket, loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const run = promisify(execFile);
const CLI = path.resolve('dist/src/cli.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-config-'));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config schema', () => {
  it('has working defaults', () => {
    const c = parseConfig({});
    expect(c.gateway.url).toBe('ws://127.0.0.1:8080/');
    expect(c.conversation.noSpeechTimeoutMs).toBe(8000);
    expect(c.conversation.maxUtteranceMs).toBe(10_000);
    expect(c.conversation.thinkingTimeoutMs).toBe(15_000);
    expect(c.conversation.settleMs).toBe(500);
    expect(c.audio.preRollMs).toBe(500);
    expect(c.gateway.pingIntervalMs).toBe(3000);
    // 750 ms: above the longest inner pause (600 ms), measured in bench/eos-eval.ts (issue 4).
    expect(c.conversation.vad.hangoverMs).toBe(750);
    expect(c.conversation.vad.engine).toBe('band');
  });

  it('audio.echoBatchMs: 80 by default, a multiple of the wake word\'s 80 ms step up to 320, else a clear error', () => {
    expect(parseConfig({}).audio.echoBatchMs).toBe(80);
    expect(parseConfig({ audio: { echoBatchMs: 160 } }).audio.echoBatchMs).toBe(160);
    expect(issues(() => parseConfig({ audio: { echoBatchMs: 100 } }))).toEqual(['audio.echoBatchMs: must be 80, 160, 240 or 320 (a multiple of the wake word\'s 80 ms step)']);
    expect(issues(() => parseConfig({ audio: { echoBatchMs: 400 } }))[0]).toMatch(/^audio\.echoBatchMs: /);
  });

  it('audio.echoBand: low by default, or full; anything else a clear error', () => {
    expect(parseConfig({}).audio.echoBand).toBe('low');
    expect(parseConfig({ audio: { echoBand: 'full' } }).audio.echoBand).toBe('full');
    expect(issues(() => parseConfig({ audio: { echoBand: 'high' } }))).toEqual(['audio.echoBand: Invalid option: expected one of "low"|"full"']);
  });

  it('reports every problem as path: message', () => {
    const found = issues(() =>
      parseConfig({ gateway: { url: 'http://x', frameMs: 5, surprise: 1 }, conversation: { noSpeechTimeoutMs: 'soon' }, log: { level: 'chatty' } }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'gateway.url: must be a ws:// or wss:// URL',
        expect.stringMatching(/^gateway\.frameMs: /),
        expect.stringMatching(/^gateway: Unrecognized key.*surprise/),
        expect.stringMatching(/^conversation\.noSpeechTimeoutMs: /),
        expect.stringMatching(/^log\.level: /),
      ]),
    );
  });

  it('merges file < environment < flags', () => {
    const f = file('p.yaml', 'gateway:\n  url: ws://file:1/\naudio:\n  mic: wav:/file.wav\n  speaker: wav:/file-out.wav\n');
    const c = loadConfig({
      file: f,
      env: { SPEAKER_AGENT_GATEWAY_URL: 'ws://env:2/', SPEAKER_AGENT_MIC: 'wav:/env.wav' },
      flags: { 'gateway.url': 'ws://flag:3/' },
    });
    expect(c.gateway.url).toBe('ws://flag:3/');
    expect(c.audio.mic).toBe('wav:/env.wav');
    expect(c.audio.speaker).toBe('wav:/file-out.wav');
  });

  it('CLI flags map onto config paths', () => {
    const c = configFromFlags({ gateway: 'ws://h:1/', mic: 'wav:/a.wav', speaker: 'wav:/b.wav', wake: 'none', gpio: 'none', control: '/tmp/c.sock', tokenFile: '/t' }, {});
    expect(c.gateway.url).toBe('ws://h:1/');
    expect(c.gateway.tokenFile).toBe('/t');
    expect(c.audio.mic).toBe('wav:/a.wav');
    expect(c.control.socket).toBe('/tmp/c.sock');
  });

  it('names the file for unreadable or unparsable input', () => {
    expect(issues(() => loadConfig({ file: '/nonexistent.yaml' }))[0]).toMatch(/^\/nonexistent.yaml: cannot read config file \(ENOENT\)/);
    expect(issues(() => loadConfig({ file: file('bad.yaml', 'gateway: [unclosed\n') }))[0]).toMatch(/not valid YAML\/JSON/);
    expect(issues(() => loadConfig({ file: file('list.yaml', '- 1\n- 2\n') }))[0]).toMatch(/must be a mapping/);
  });

  it('the default control socket follows systemd, then XDG, then the temp dir', () => {
    expect(defaultControlSocket({ RUNTIME_DIRECTORY: '/run/speaker-agent' })).toBe('/run/speaker-agent/control.sock');
    expect(defaultControlSocket({ XDG_RUNTIME_DIR: '/run/user/1000' })).toBe('/run/user/1000/speaker-agent.sock');
    expect(defaultControlSocket({})).toMatch(/speaker-agent-\d+\/control\.sock$/);
  });
});

describe('speaker-agent config check', () => {
  it('passes a good file', async () => {
    const r = await run('node', [CLI, 'config', 'check', file('good.yaml', 'gateway:\n  url: wss://gw.example/ws\n')]);
    expect(r.stdout).toMatch(/OK/);
  });

  it('rejects an unknown hardware profile as run does', async () => {
    const f = file('badhw.yaml', 'hardware: respeaker-9mic\n');
    const r = await run('node', [CLI, 'config', 'check', f]).catch((e: { code: number; stderr: string; stdout: string }) => e);
    expect((r as { code?: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toMatch(/respeaker-9mic/);
    expect((r as { stdout: string }).stdout).not.toMatch(/OK/);
  });

  it('fails a bad one with path: message lines and exit code 2', async () => {
    const f = file('bad2.yaml', 'gateway:\n  url: ftp://x\nconversation:\n  settleMs: -1\n');
    const r = await run('node', [CLI, 'config', 'check', f]).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toMatch(/gateway\.url: must be a ws:\/\/ or wss:\/\/ URL/);
    expect((r as { stderr: string }).stderr).toMatch(/conversation\.settleMs: /);
  });

  it('run with a bad config exits non-zero before touching any device', async () => {
    const r = await run('node', [CLI, 'run', '--gateway', 'nope', '--mic', 'wav:/x.wav', '--speaker', 'wav:/y.wav']).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toMatch(/gateway\.url/);
  });
});
