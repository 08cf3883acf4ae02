/** The MQTT adapter's pure parts: topics, discovery payloads, command validation, identity, options, config. */
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { parseCommand } from '../../src/mqtt/commands.js';
import { resolveIdentity, topicSafe } from '../../src/mqtt/identity.js';
import { connectOptions, displayUrl, readPassword } from '../../src/mqtt/options.js';
import { commandOf, discoveryMessages, topicsFor, type DiscoveryOptions } from '../../src/mqtt/topics.js';

const topics = topicsFor('speaker-agent', 'kitchen', 'homeassistant');

function opts(over: Partial<DiscoveryOptions> = {}): DiscoveryOptions {
  return { topics, discoveryPrefix: 'homeassistant', deviceId: 'kitchen', name: 'Kitchen', swVersion: '1.2.3', qos: 1, maxSayChars: 500, publishTranscripts: false, ...over };
}

function mqttConfig(mqtt: Record<string, unknown>) {
  return parseConfig({ mqtt }).mqtt;
}

describe('topics', () => {
  it('puts every topic of a speaker under <prefix>/<deviceId>', () => {
    expect(topics.availability).toBe('speaker-agent/kitchen/availability');
    expect(topics.command('say')).toBe('speaker-agent/kitchen/say/set');
    expect(topics.commandFilter).toBe('speaker-agent/kitchen/+/set');
    expect(topics.haStatus).toBe('homeassistant/status');
    expect(topicsFor('home/speakers', 'x', 'ha').state).toBe('home/speakers/x/state');
  });

  it('tells its own command topics from anything else', () => {
    expect(commandOf(topics, 'speaker-agent/kitchen/volume/set')).toBe('volume');
    expect(commandOf(topics, 'speaker-agent/kitchen/reboot/set')).toBe('unknown');
    expect(commandOf(topics, 'speaker-agent/pantry/volume/set')).toBeUndefined();
    expect(commandOf(topics, 'speaker-agent/kitchen/volume')).toBeUndefined();
  });
});

describe('discovery', () => {
  it('describes every entity with a unique id, the device, availability and the origin', () => {
    const msgs = discoveryMessages(opts());
    expect(msgs.map((m) => m.topic)).toEqual([
      'homeassistant/sensor/speaker-agent_kitchen/state/config',
      'homeassistant/sensor/speaker-agent_kitchen/led/config',
      'homeassistant/binary_sensor/speaker-agent_kitchen/connected/config',
      'homeassistant/switch/speaker-agent_kitchen/mute/config',
      'homeassistant/number/speaker-agent_kitchen/volume/config',
      'homeassistant/button/speaker-agent_kitchen/listen/config',
      'homeassistant/button/speaker-agent_kitchen/stop/config',
      'homeassistant/text/speaker-agent_kitchen/say/config',
      'homeassistant/sensor/speaker-agent_kitchen/error/config',
      'homeassistant/sensor/speaker-agent_kitchen/transcript/config',
      'homeassistant/sensor/speaker-agent_kitchen/reply/config',
    ]);
    const published = msgs.filter((m) => m.payload);
    expect(published).toHaveLength(9);
    expect(new Set(published.map((m) => m.payload!.unique_id)).size).toBe(9);
    for (const m of published) {
      expect(m.payload).toMatchObject({
        availability_topic: 'speaker-agent/kitchen/availability',
        payload_available: 'online',
        payload_not_available: 'offline',
        qos: 1,
        device: { identifiers: ['speaker_agent_kitchen'], name: 'Kitchen', sw_version: '1.2.3' },
        origin: { name: 'speaker-agent', sw_version: '1.2.3' },
      });
      // Every topic in a config is one of this speaker's.
      for (const [k, v] of Object.entries(m.payload!)) if (k.endsWith('_topic')) expect(String(v).startsWith('speaker-agent/kitchen/')).toBe(true);
    }
    // Transcripts are opt-in: removed (an empty retained config) unless published.
    expect(msgs.find((m) => m.entity === 'transcript')!.payload).toBeUndefined();
    expect(discoveryMessages(opts({ publishTranscripts: true })).filter((m) => m.payload)).toHaveLength(11);
  });

  it('caps the say text entity at Home Assistant\'s 255 characters, or lower when the agent accepts less', () => {
    const say = (n: number) => discoveryMessages(opts({ maxSayChars: n })).find((m) => m.entity === 'say')!.payload!;
    expect(say(500).max).toBe(255);
    expect(say(40).max).toBe(40);
    expect(say(40).state_topic).toBeUndefined();
  });

  it('turns every config into a removal when discovery is off', () => {
    expect(discoveryMessages(opts({ publishTranscripts: true }), false).every((m) => m.payload === undefined)).toBe(true);
  });

  it('lists every phase and LED state the sensors can show', () => {
    const msgs = discoveryMessages(opts());
    expect(msgs.find((m) => m.entity === 'state')!.payload!.options).toEqual(['idle', 'listening', 'thinking', 'speaking', 'settling', 'ringing']);
    expect(msgs.find((m) => m.entity === 'led')!.payload!.options).toEqual(expect.arrayContaining(['follow-up', 'timer', 'ringing']));
  });
});

describe('command payloads', () => {
  const ok = (name: Parameters<typeof parseCommand>[0], p: string | Buffer, max = 500) => {
    const r = parseCommand(name, Buffer.isBuffer(p) ? p : Buffer.from(p), max);
    return r.ok ? r.command : r.error;
  };

  it('accepts what Home Assistant and people send', () => {
    expect(ok('listen', 'PRESS')).toEqual({ cmd: 'listen' });
    expect(ok('listen', '')).toEqual({ cmd: 'listen' });
    expect(ok('stop', 'press')).toEqual({ cmd: 'stop' });
    expect(ok('mute', 'ON')).toEqual({ cmd: 'mute', muted: true });
    expect(ok('mute', 'off')).toEqual({ cmd: 'mute', muted: false });
    expect(ok('mute', 'true')).toEqual({ cmd: 'mute', muted: true });
    expect(ok('mute', '0')).toEqual({ cmd: 'mute', muted: false });
    expect(ok('volume', '42')).toEqual({ cmd: 'volume', percent: 42 });
    expect(ok('volume', ' 42.6 ')).toEqual({ cmd: 'volume', percent: 43 });
    expect(ok('volume', '0')).toEqual({ cmd: 'volume', percent: 0 });
    expect(ok('volume', '100')).toEqual({ cmd: 'volume', percent: 100 });
    expect(ok('say', '  what time is it? ')).toEqual({ cmd: 'say', text: 'what time is it?' });
    expect(ok('say', 'Grüße, 東京')).toEqual({ cmd: 'say', text: 'Grüße, 東京' });
    expect(ok('say', 'a\u0000b\u001bc')).toEqual({ cmd: 'say', text: 'a b c' });
  });

  it('refuses anything else with a reason', () => {
    expect(ok('listen', 'GO')).toBe('listen takes PRESS or an empty payload, got "GO"');
    expect(ok('mute', 'yes')).toBe('mute takes ON or OFF, got "yes"');
    expect(ok('volume', '-1')).toMatch(/from 0 to 100/);
    expect(ok('volume', '101')).toMatch(/from 0 to 100/);
    expect(ok('volume', '1e2')).toMatch(/from 0 to 100/);
    expect(ok('volume', 'NaN')).toMatch(/from 0 to 100/);
    expect(ok('volume', 'x'.repeat(100))).toBe(`volume takes a number from 0 to 100, got "${'x'.repeat(40)}..."`);
    expect(ok('say', '')).toBe('say needs a non-empty text');
    expect(ok('say', '\u0007')).toBe('say needs a non-empty text');
    expect(ok('say', Buffer.from([0xff, 0xfe]))).toBe('say text is not valid UTF-8');
    expect(ok('say', 'é'.repeat(11), 10)).toBe('say text of 11 characters is over the limit of 10 (mqtt.maxSayChars)');
    expect(ok('say', 'x'.repeat(41), 10)).toBe('say text of 41 bytes is over the limit of 10 characters (mqtt.maxSayChars)');
    // The refused text itself is not repeated in the message (it may be private).
    expect(ok('say', 'secret plans'.repeat(100), 10)).not.toContain('secret');
  });
});

describe('device identity', () => {
  const MACHINE = '0123456789abcdef0123456789abcdef';

  it('hashes /etc/machine-id into a stable 12-digit id that does not reveal it', () => {
    const a = resolveIdentity({}, { readMachineId: () => `${MACHINE}\n`, hostname: () => 'Kitchen-Pi' });
    const b = resolveIdentity({}, { readMachineId: () => MACHINE, hostname: () => 'other' });
    expect(a.deviceId).toMatch(/^[0-9a-f]{12}$/);
    expect(a.deviceId).toBe(b.deviceId);
    expect(MACHINE).not.toContain(a.deviceId);
    expect(a).toMatchObject({ source: 'machine-id', name: 'Kitchen-Pi' });
    expect(resolveIdentity({}, { readMachineId: () => 'f'.repeat(32), hostname: () => 'x' }).deviceId).not.toBe(a.deviceId);
  });

  it('falls back to the host name, made topic-safe, without a usable machine id', () => {
    const missing = () => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    };
    expect(resolveIdentity({}, { readMachineId: missing, hostname: () => 'Living Room.local' })).toEqual({ deviceId: 'living-room-local', name: 'Living Room.local', source: 'hostname' });
    expect(resolveIdentity({}, { readMachineId: () => 'uninitialized\n', hostname: () => 'pi' }).source).toBe('hostname');
    expect(topicSafe('###')).toBe('speaker');
  });

  it('uses mqtt.deviceId and mqtt.name when given', () => {
    expect(resolveIdentity({ deviceId: 'room-101', name: 'Room 101' }, { readMachineId: () => MACHINE })).toEqual({ deviceId: 'room-101', name: 'Room 101', source: 'config' });
  });
});

describe('credentials and connection options', () => {
  const files: Record<string, string> = {
    '/etc/sa/mqtt-pass': 'file-pass\nsecond line\n',
    '/etc/sa/empty': '\n',
    '/run/creds/mqtt-password': 'cred-pass\n',
    '/run/empty-creds/mqtt-password': '',
    '/etc/sa/ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  };
  const readFile = (f: string): Buffer => {
    if (!(f in files)) throw Object.assign(new Error(`ENOENT: ${f}`), { code: 'ENOENT' });
    return Buffer.from(files[f]!);
  };
  const base = { passwordEnv: 'MQTT_PW' };

  it('reads the password from the file, else the credential, else the environment', () => {
    const env = { CREDENTIALS_DIRECTORY: '/run/creds', MQTT_PW: 'env-pass' };
    expect(readPassword({ ...base, passwordFile: '/etc/sa/mqtt-pass' }, { env, readFile })).toEqual({ password: 'file-pass', source: 'file /etc/sa/mqtt-pass' });
    expect(readPassword(base, { env, readFile })).toEqual({ password: 'cred-pass', source: 'credential mqtt-password' });
    expect(readPassword(base, { env: { CREDENTIALS_DIRECTORY: '/run/empty-creds', MQTT_PW: 'env-pass' }, readFile })).toEqual({ password: 'env-pass', source: 'environment MQTT_PW' });
    expect(readPassword(base, { env: {}, readFile })).toEqual({ password: undefined, source: 'none' });
  });

  it('a named password file that is missing or empty is an error naming the file', () => {
    for (const file of ['/etc/sa/nope', '/etc/sa/empty']) {
      try {
        readPassword({ ...base, passwordFile: file }, { env: { MQTT_PW: 'env-pass' }, readFile });
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).issues[0]).toBe(`mqtt.passwordFile: ${file} is missing or empty; put the password on its first line`);
      }
    }
  });

  it('takes the user from the URL, keeps credentials out of the URL it shows, and adds the system CAs to a private one', () => {
    const c = connectOptions(mqttConfig({ url: 'mqtts://speaker@broker.local:8883', caFile: '/etc/sa/ca.pem' }), { readFile });
    expect(c.username).toBe('speaker');
    expect(c.url).toBe('mqtts://broker.local:8883');
    expect(c.secure).toBe(true);
    expect(c.tls.ca!.length).toBeGreaterThan(100);
    expect(c.tls.ca!.at(-1)).toContain('BEGIN CERTIFICATE');
    expect(connectOptions(mqttConfig({ url: 'mqtt://u@b', username: 'other' }), { readFile }).username).toBe('other');
    expect(displayUrl('wss://user@broker:8443/mqtt')).toBe('wss://broker:8443/mqtt');
  });

  it('refuses TLS files on a plain URL and unreadable ones, naming the key', () => {
    expect(() => connectOptions(mqttConfig({ url: 'mqtt://b', caFile: '/etc/sa/ca.pem' }), { readFile })).toThrow(/caFile\/certFile need a TLS URL/);
    expect(() => connectOptions(mqttConfig({ url: 'mqtts://b', caFile: '/nope.pem' }), { readFile })).toThrow(/mqtt.caFile: cannot read \/nope.pem \(ENOENT\)/);
  });
});

describe('mqtt config', () => {
  const issues = (mqtt: Record<string, unknown>): string[] => {
    try {
      parseConfig({ mqtt });
      return [];
    } catch (err) {
      return (err as ConfigError).issues;
    }
  };

  it('is off unless a URL is given, with the documented defaults', () => {
    const m = parseConfig({}).mqtt;
    expect(m).toMatchObject({ prefix: 'speaker-agent', discoveryPrefix: 'homeassistant', discovery: true, publishTranscripts: false, maxSayChars: 500, protocolVersion: 5, qos: 1 });
    expect(m.url).toBeUndefined();
    expect(m.deviceId).toBeUndefined();
  });

  it('rejects a password in the URL, unknown schemes, bad ids and wildcard prefixes', () => {
    expect(issues({ url: 'mqtt://u:hunter2@broker' })).toEqual(['mqtt.url: must not contain a password: put it in mqtt.passwordFile or the systemd credential mqtt-password']);
    expect(issues({ url: 'http://broker' })[0]).toMatch(/^mqtt.url: scheme http is not supported/);
    expect(issues({ url: 'broker:1883' })[0]).toMatch(/^mqtt.url: scheme broker is not supported/);
    expect(issues({ url: 'not a url' })[0]).toMatch(/^mqtt.url: must be a URL/);
    expect(issues({ deviceId: 'kitchen/1' })[0]).toMatch(/^mqtt.deviceId: use 1-64 letters/);
    expect(issues({ prefix: 'home/#' })[0]).toMatch(/^mqtt.prefix: must be topic levels/);
    expect(issues({ prefix: '/abs' })[0]).toMatch(/^mqtt.prefix/);
    expect(issues({ certFile: '/c.pem' })[0]).toMatch(/^mqtt.certFile: certFile and keyFile go together/);
    expect(issues({ reconnectMinMs: 5000, reconnectMaxMs: 1000 })[0]).toMatch(/^mqtt.reconnectMinMs/);
    expect(issues({ colour: 'red' })[0]).toMatch(/^mqtt: Unrecognized key/);
  });

  it('--mqtt and SPEAKER_AGENT_MQTT_URL set mqtt.url', () => {
    expect(loadConfig({ env: {}, flags: { 'mqtt.url': 'mqtt://broker.local' } }).mqtt.url).toBe('mqtt://broker.local');
    expect(loadConfig({ env: { SPEAKER_AGENT_MQTT_URL: 'mqtts://b:8883' } }).mqtt.url).toBe('mqtts://b:8883');
  });
});
