/** The esphome backend's settings, identity and key handling, and the flags of the contract. */
import { describe, expect, it } from 'vitest';
import { deviceName, identity, readEncryptionKey } from '../../src/backends/esphome/identity.js';
import { configFromFlags } from '../../src/cli/common.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { memoryLogger } from '../../src/log/logger.js';

const KEY = Buffer.alloc(32, 5).toString('base64');
const base = () => ConfigSchema.parse({ backend: 'esphome' }).esphome;
const enoent = () => {
  throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
};

describe('esphome settings', () => {
  it('defaults: port 6053, mDNS on, no key file', () => {
    expect(base()).toMatchObject({ port: 6053, mdns: true, timerMaxRingMs: 900_000 });
    expect(base().keyFile).toBeUndefined();
  });

  it('the CLI flags of the contract set the backend, the port and the key file', () => {
    const c = configFromFlags({ backend: 'esphome', esphomePort: '6060', esphomeKeyFile: '/etc/k' }, {});
    expect(c.backend).toBe('esphome');
    expect(c.esphome).toMatchObject({ port: 6060, keyFile: '/etc/k' });
  });

  it('rejects a bad name, port or MAC with the path and an example', () => {
    const issues = (input: unknown) => {
      const r = ConfigSchema.safeParse({ esphome: input });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ name: 'Kitchen Speaker' })[0]).toMatch(/^esphome\.name: .*kitchen-speaker/);
    expect(issues({ port: 70000 })[0]).toMatch(/^esphome\.port/);
    expect(issues({ mac: 'aa-bb' })[0]).toMatch(/^esphome\.mac: .*AA:BB:CC:DD:EE:FF/);
    expect(issues({ mdns: 'yes' })[0]).toMatch(/^esphome\.mdns/);
  });
});

describe('esphome identity', () => {
  it('derives an ESPHome device name from the host name', () => {
    expect(deviceName('Kitchen_Pi.local')).toBe('kitchen-pi');
    expect(deviceName('---')).toBe('speaker-agent');
    expect(deviceName('a'.repeat(40))).toHaveLength(31);
  });

  it('takes the wired interface MAC first, and derives a stable local one without any', () => {
    const interfaces = () => ({
      lo: [{ internal: true, mac: '00:00:00:00:00:00' }],
      wlan0: [{ internal: false, mac: 'dc:a6:32:00:00:02' }],
      eth0: [{ internal: false, mac: 'dc:a6:32:00:00:01' }],
    });
    const id = identity({ ...base(), name: 'kitchen' }, { interfaces: interfaces as never });
    expect(id).toEqual({ name: 'kitchen', friendlyName: 'kitchen', mac: 'DC:A6:32:00:00:01', compactMac: 'dca632000001' });
    const none = () => ({});
    const a = identity(base(), { interfaces: none, machineId: () => 'abc', hostname: () => 'pi' });
    const b = identity(base(), { interfaces: none, machineId: () => 'abc', hostname: () => 'pi' });
    expect(a.mac).toBe(b.mac);
    expect(a.name).toBe('pi');
    // Locally administered, unicast.
    expect(parseInt(a.mac.slice(0, 2), 16) & 0x03).toBe(0x02);
  });
});

describe('esphome encryption key', () => {
  it('reads esphome.keyFile, registers the key as a secret', () => {
    const log = memoryLogger();
    const key = readEncryptionKey({ ...base(), keyFile: '/k' }, log.logger, { readFile: () => `${KEY}\n`, env: {} });
    expect(key).toEqual(Buffer.alloc(32, 5));
    log.logger.info('x', { leaked: KEY });
    expect(log.text()).not.toContain(KEY);
  });

  it('falls back to the systemd credential, and to plaintext with a warning', () => {
    const log = memoryLogger();
    const key = readEncryptionKey(base(), log.logger, { env: { CREDENTIALS_DIRECTORY: '/run/creds' }, readFile: (f) => (f === '/run/creds/esphome-key' ? KEY : enoent()) });
    expect(key).toHaveLength(32);
    // The installer's empty credential file means "no key".
    expect(readEncryptionKey(base(), log.logger, { env: { CREDENTIALS_DIRECTORY: '/run/creds' }, readFile: () => '\n' })).toBeUndefined();
    expect(readEncryptionKey(base(), log.logger, { env: {} })).toBeUndefined();
    expect(log.lines().filter((l) => l.event === 'esphome-plaintext')).toHaveLength(2);
  });

  it('an explicit key file that is missing, empty or invalid is a configuration error, never plaintext', () => {
    const log = memoryLogger();
    const err = (readFile: (f: string) => string) => {
      try {
        readEncryptionKey({ ...base(), keyFile: '/k' }, log.logger, { readFile, env: {} });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).message;
      }
      throw new Error('no error');
    };
    expect(err(enoent)).toMatch(/esphome\.keyFile: .*missing or empty/);
    expect(err(() => '')).toMatch(/missing or empty/);
    expect(err(() => 'c2hvcnQ=')).toMatch(/base64 of 32 bytes/);
    expect(err(() => 'not base64 at all!')).toMatch(/base64 of 32 bytes/);
    expect(err(() => 'not base64 at all!')).not.toContain('not base64');
    expect(log.text()).not.toContain('esphome-plaintext');
  });
});
