import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addConfigFlags, configFromFlags } from '../../src/cli/common.js';
import { ConfigError } from '../../src/errors.js';
import { Logger } from '../../src/log/logger.js';

/** Parses argv the way a verb does and returns the resulting config. */
function configFor(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const cmd = addConfigFlags(new Command('run').exitOverride());
  cmd.parse(argv, { from: 'user' });
  return configFromFlags(cmd.opts(), env);
}

describe('log level and format: file < environment < flags', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'logcfg-'));
    file = path.join(dir, 'config.yaml');
    writeFileSync(file, 'log:\n  level: warn\n  format: json\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to info and json (for journald)', () => {
    expect(configFor([]).log).toEqual({ level: 'info', format: 'json' });
  });

  it('each layer overrides the one below', () => {
    expect(configFor(['--config', file]).log).toEqual({ level: 'warn', format: 'json' });
    expect(configFor(['--config', file], { SPEAKER_AGENT_LOG_LEVEL: 'error' }).log.level).toBe('error');
    const both = configFor(['--config', file, '--log-level', 'debug', '--log-format', 'pretty'], { SPEAKER_AGENT_LOG_LEVEL: 'error', SPEAKER_AGENT_LOG_FORMAT: 'json' });
    expect(both.log).toEqual({ level: 'debug', format: 'pretty' });
  });

  it('a bad value is a path: message error', () => {
    expect(() => configFor(['--log-format', 'xml'])).toThrow(ConfigError);
    try {
      configFor(['--log-format', 'xml']);
    } catch (err) {
      expect((err as ConfigError).issues[0]).toMatch(/^log\.format: /);
    }
  });
});

describe('Logger output as configured', () => {
  const clock = () => new Date('2026-11-21T14:05:06.789Z');

  it('json: one line per event, below-level events dropped, secrets redacted', () => {
    const lines: string[] = [];
    const log = new Logger({ level: 'info', format: 'json', sink: { write: (l) => lines.push(l) }, clock }).child('gateway');
    log.addSecret('tok-abcdef123');
    log.debug('dropped');
    log.info('connected', { url: 'wss://gw/?t=tok-abcdef123', token: 'tok-abcdef123' });
    expect(lines).toEqual([JSON.stringify({ level: 'info', ns: 'gateway', event: 'connected', url: 'wss://gw/?t=[redacted]', token: '[redacted]' }) + '\n']);
  });

  it('pretty: time, level, namespace, event and fields on one line for a terminal', () => {
    const lines: string[] = [];
    const log = new Logger({ level: 'debug', format: 'pretty', sink: { write: (l) => lines.push(l) }, clock }).child('session');
    log.debug('state', { from: 'idle', to: 'listening' });
    log.warn('no speech', { afterMs: 8000 });
    expect(lines).toEqual(['14:05:06.789 DEBUG session: state from=idle to=listening\n', '14:05:06.789 WARN  session: no speech afterMs=8000\n']);
  });
});
