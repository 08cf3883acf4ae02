import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESPHOME_KEY_CREDENTIAL, GATEWAY_TOKEN_CREDENTIAL, MQTT_PASSWORD_CREDENTIAL, PORCUPINE_KEY_CREDENTIAL } from '../../src/system/credentials.js';

const UNIT = path.join(import.meta.dirname, '..', '..', 'systemd', 'speaker-agent.service');
const text = readFileSync(UNIT, 'utf8');

/** All values of `Key=` in the unit, in order. */
function values(key: string): string[] {
  return [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
}

describe('systemd/speaker-agent.service', () => {
  let root: string;
  beforeAll(() => {
    // A scratch root holding the unit, its ExecStart binary and Debian's stock units, so
    // `verify` checks the real file (not a copy with the path edited) without touching /opt.
    root = mkdtempSync(path.join(os.tmpdir(), 'unit-root-'));
    const bin = path.join(root, 'opt/speaker-agent/bin/speaker-agent');
    mkdirSync(path.dirname(bin), { recursive: true });
    writeFileSync(bin, '#!/bin/sh\n');
    chmodSync(bin, 0o755);
    cpSync('/usr/lib/systemd/system', path.join(root, 'usr/lib/systemd/system'), { recursive: true });
    mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
    cpSync(UNIT, path.join(root, 'etc/systemd/system/speaker-agent.service'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes no core dumps (they would hold the token and keys)', () => {
    expect(values('LimitCORE')).toEqual(['0']);
  });

  it('passes systemd-analyze verify with no warnings', () => {
    const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, 'speaker-agent.service'], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('scores an exposure of 2.5 or less in systemd-analyze security', () => {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
    const m = /Overall exposure level for speaker-agent\.service: ([\d.]+) (\w+)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.5);
    expect(m![2]).toBe('OK');
  });

  it('is Type=notify with a watchdog, restart burst limit and the notify helper allowed', () => {
    expect(values('Type')).toEqual(['notify']);
    expect(values('NotifyAccess')).toEqual(['all']);
    expect(Number(values('WatchdogSec')[0])).toBeGreaterThan(0);
    expect(values('Restart')).toEqual(['always']);
    expect(Number(values('StartLimitBurst')[0])).toBeGreaterThan(0);
    expect(Number(values('StartLimitIntervalSec')[0])).toBeGreaterThan(0);
  });

  it('runs as the dedicated user with device access limited to sound, GPIO, SPI and I2C', () => {
    expect(values('User')).toEqual(['speaker-agent']);
    expect(values('SupplementaryGroups')).toEqual(['audio gpio spi']);
    expect(values('DevicePolicy')).toEqual(['closed']);
    for (const d of values('DeviceAllow')) expect(d).toMatch(/^char-(alsa|gpiochip|bcm2835-gpiomem|rpi-gpiomem|spi|i2c) rw$/);
    expect(values('RuntimeDirectory')).toEqual(['speaker-agent']);
    expect(values('ExecStart')[0]).toMatch(/^\/opt\/speaker-agent\/bin\/speaker-agent run --config \/etc\/speaker-agent\/config\.yaml$/);
  });

  it('loads exactly the credentials the agent reads', () => {
    const ids = values('LoadCredential').map((v) => v.split(':')[0]);
    expect(ids.sort()).toEqual([GATEWAY_TOKEN_CREDENTIAL, PORCUPINE_KEY_CREDENTIAL, ESPHOME_KEY_CREDENTIAL, MQTT_PASSWORD_CREDENTIAL].sort());
    for (const v of values('LoadCredential')) expect(v).toMatch(/^[a-z-]+:\/etc\/speaker-agent\/credentials\/[a-z-]+$/);
  });
});
