import { describe, expect, it } from 'vitest';
import { Logger, memoryLogger } from '../../src/log/logger.js';

describe('logger', () => {
  it('writes one JSON object per line with level, namespace and event', () => {
    const m = memoryLogger('info');
    m.logger.child('gateway').info('connected', { url: 'ws://x/' });
    m.logger.debug('hidden');
    expect(m.lines()).toEqual([{ level: 'info', ns: 'gateway', event: 'connected', url: 'ws://x/' }]);
  });

  it('never prints secrets: credential-like fields and registered values are redacted', () => {
    const m = memoryLogger('debug');
    m.logger.addSecret('s3cr3t-value');
    m.logger.info('connecting', { token: 'abc', headers: { Authorization: 'Bearer s3cr3t-value' }, note: 'uses s3cr3t-value here', accessKey: 'k' });
    const text = m.text();
    expect(text).not.toContain('s3cr3t-value');
    expect(text).not.toContain('"abc"');
    expect(m.lines()[0]).toMatchObject({ token: '[redacted]', accessKey: '[redacted]', headers: { Authorization: '[redacted]' }, note: 'uses [redacted] here' });
  });

  it('pretty format is one readable line', () => {
    const lines: string[] = [];
    const log = new Logger({ format: 'pretty', sink: { write: (l) => lines.push(l) }, clock: () => new Date('2026-01-01T10:11:12.345Z') });
    log.child('session').warn('state', { phase: 'idle', n: 2 });
    expect(lines).toEqual(['10:11:12.345 WARN  session: state phase=idle n=2\n']);
  });

  it('debug fields given as a function are not computed when debug is off', () => {
    const m = memoryLogger('info');
    let called = false;
    m.logger.debug('x', () => {
      called = true;
      return {};
    });
    expect(called).toBe(false);
  });
});
