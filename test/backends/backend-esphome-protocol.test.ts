/**
 * The ESPHome native API server against an independent client (@2colors/esphome-native-api,
 * playing Home Assistant) over loopback: plaintext and Noise, device info and entities, the
 * wrong key, the other side's framing, malformed input, and Home Assistant reconnecting.
 */
import net from 'node:net';
import protobuf from 'protobufjs';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeNoiseFrame, encodePlaintext, PlaintextDecoder } from '../../src/backends/esphome/framing.js';
import { ApiMessages } from '../../src/backends/esphome/proto.js';
import { FakeHomeAssistant } from '../support/fake-home-assistant.js';
import { IDENTITY, KEY_B64, OTHER_KEY_B64, startEsphome, type EsphomeSetup } from '../support/esphome.js';
import { waitFor } from '../support/harness.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup(opts: Parameters<typeof startEsphome>[0] = {}): Promise<EsphomeSetup> {
  const s = await startEsphome(opts);
  cleanups.push(() => s.close());
  return s;
}

function ha(port: number, key?: string, expectedServerName?: string): FakeHomeAssistant {
  const h = new FakeHomeAssistant({ port, ...(key ? { key } : {}), ...(expectedServerName ? { expectedServerName } : {}) });
  cleanups.push(() => h.disconnect());
  return h;
}

/** A raw TCP client: what arrives, and whether the server closed. */
async function raw(port: number): Promise<{ socket: net.Socket; data: () => Buffer; closed: () => boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (c) => chunks.push(c));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  cleanups.push(() => void socket.destroy());
  return { socket, data: () => Buffer.concat(chunks), closed: () => closed };
}

function hello(m: ApiMessages): Buffer {
  const e = m.encode('HelloRequest', { client_info: 'raw test', api_version_major: 1, api_version_minor: 10 });
  return encodePlaintext(e.type, e.payload);
}

async function expectDeviceAndEntities(h: FakeHomeAssistant): Promise<void> {
  expect(h.deviceInfo).toMatchObject({
    name: 'test-speaker',
    friendlyName: 'Test Speaker',
    macAddress: 'AA:BB:CC:00:11:22',
    usesPassword: false,
    voiceAssistantFeatureFlags: 1 | 4 | 8 | 16 | 32,
    projectName: 'speaker-agent.speaker-agent',
  });
  const types = Object.values(h.entities).map((e) => e.type).sort();
  expect(types).toEqual(['MediaPlayer', 'Switch']);
  const player = Object.values(h.entities).find((e) => e.type === 'MediaPlayer')!;
  expect(player.config.supportedFormatsList).toEqual([
    { format: 'wav', sampleRate: 16000, numChannels: 1, purpose: 1, sampleBytes: 2 },
    { format: 'mp3', sampleRate: 0, numChannels: 0, purpose: 0, sampleBytes: 0 },
    { format: 'flac', sampleRate: 0, numChannels: 0, purpose: 0, sampleBytes: 0 },
  ]);
  // The state subscription answers with every entity's state.
  await h.next('MediaPlayerStateResponse');
  await h.next('SwitchStateResponse', (m) => m.state === false);
}

describe('esphome API server: connections', () => {
  it('plaintext: hello, device info, entities, states and ping', async () => {
    const s = await setup();
    const h = ha(s.backend.port);
    await h.connect();
    await expectDeviceAndEntities(h);
    const conn = h.connection as unknown as { pingService(): Promise<unknown> };
    await conn.pingService();
    expect(s.log.text()).toContain('"esphome-client-hello"');
    expect(s.log.text()).toContain('"encrypted":false');
  });

  it('encrypted: the Noise handshake interoperates with noise-c, and the server hello names the device', async () => {
    const s = await setup({ key: KEY_B64 });
    const h = ha(s.backend.port, KEY_B64, IDENTITY.name);
    await h.connect();
    await expectDeviceAndEntities(h);
    expect(s.log.text()).toContain('"encrypted":true');
  });

  it('a wrong key: the client is told "Handshake MAC failure", the server logs the fix, nothing crashes, the key is never logged', async () => {
    const s = await setup({ key: KEY_B64 });
    s.log.logger.addSecret(KEY_B64);
    const bad = ha(s.backend.port, OTHER_KEY_B64);
    bad.client.connect();
    const err = await bad.nextError();
    expect(err.message).toContain('Handshake MAC failure');
    await waitFor(() => s.log.text().includes('esphome-wrong-key'), 'the wrong-key log line');
    expect(s.log.text()).toMatch(/re-enter the key/);
    // A client with the right key still gets in.
    const good = ha(s.backend.port, KEY_B64);
    await good.connect();
    expect(good.deviceInfo).toMatchObject({ name: 'test-speaker' });
    for (const k of [KEY_B64, OTHER_KEY_B64, Buffer.from(KEY_B64, 'base64').toString('hex')]) expect(s.log.text()).not.toContain(k);
  });

  it('a plaintext client on an encrypted server is refused with a reason on both sides', async () => {
    const s = await setup({ key: KEY_B64 });
    const h = ha(s.backend.port);
    h.client.connect();
    expect((await h.nextError()).message).toMatch(/Encryption expected/);
    await waitFor(() => s.log.text().includes('esphome-client-unencrypted'), 'the server log line');
  });

  it('an encrypting client on a plaintext server gets the plaintext marker, and the server says how to fix it', async () => {
    const s = await setup();
    const h = ha(s.backend.port, KEY_B64);
    h.client.connect();
    expect((await h.nextError()).message).toMatch(/Expected 1/);
    await waitFor(() => s.log.text().includes('esphome-client-encrypted'), 'the server log line');
  });

  it('malformed frames close only that connection: bad indicator, oversized length, overlong varint, garbage after the Noise hello', async () => {
    const m = ApiMessages.load();
    const plain = await setup();
    for (const bytes of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0x00, 0xff, 0xff, 0xff, 0x7f, 0x01]), Buffer.from([0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])]) {
      const r = await raw(plain.backend.port);
      r.socket.write(bytes);
      await waitFor(r.closed, `the server to close after ${bytes.toString('hex')}`);
    }
    const secure = await setup({ key: KEY_B64 });
    const r = await raw(secure.backend.port);
    r.socket.write(encodeNoiseFrame(Buffer.alloc(0)));
    r.socket.write(encodeNoiseFrame(Buffer.from('not a handshake at all')));
    await waitFor(r.closed, 'the server to close after a bad handshake');
    // The server hello named the device; the rejection said why.
    expect(r.data().includes(Buffer.from('test-speaker\0aabbcc001122\0'))).toBe(true);
    expect(r.data().includes(Buffer.from('Bad handshake error byte'))).toBe(true);
    // Both servers still serve Home Assistant.
    await ha(plain.backend.port).connect();
    await ha(secure.backend.port, KEY_B64).connect();
    expect(m.size).toBeGreaterThan(100);
  });

  it('a payload that is not valid protobuf is dropped with a log line; the connection goes on', async () => {
    const m = ApiMessages.load();
    const s = await setup();
    const r = await raw(s.backend.port);
    r.socket.write(hello(m));
    // DeviceInfoRequest (9) with bytes that are no protobuf (field 0 is invalid), then a real one.
    r.socket.write(Buffer.concat([encodePlaintext(9, Buffer.from([0x00, 0xff, 0xff])), encodePlaintext(9, Buffer.alloc(0))]));
    const dec = new PlaintextDecoder();
    const got: number[] = [];
    await waitFor(() => {
      got.length = 0;
      for (const p of new PlaintextDecoder().push(r.data())) got.push(p.type);
      return got.includes(10);
    }, 'the device info answer');
    expect(got.filter((t) => t === 10)).toHaveLength(1);
    expect(r.closed()).toBe(false);
    expect(s.log.text()).toContain('esphome-bad-message');
    const info = dec.push(r.data()).find((p) => p.type === 10)!;
    expect(m.decode(10, info.payload)?.fields.name).toBe('test-speaker');
    expect(protobuf).toBeDefined();
  });

  it('a data frame that fails to decrypt closes the connection; a new one works', async () => {
    const s = await setup({ key: KEY_B64 });
    const h = ha(s.backend.port, KEY_B64);
    await h.connect();
    h.connection.frameHelper.socket.write(encodeNoiseFrame(Buffer.alloc(40, 3)));
    await waitFor(() => s.log.text().includes('failed to decrypt'), 'the decrypt failure');
    await waitFor(() => s.backend.connected === false && [...s.log.lines()].some((l) => l.event === 'esphome-client-closed'), 'the close');
    await ha(s.backend.port, KEY_B64).connect();
  });

  it('Home Assistant subscribing makes the backend connected; a dropped connection disconnects it; reconnecting restores it', async () => {
    const s = await setup({ key: KEY_B64 });
    const events: string[] = [];
    s.backend.on('connected', () => events.push('connected'));
    s.backend.on('disconnected', (e) => events.push(`disconnected: ${e.reason}`));
    const h1 = ha(s.backend.port, KEY_B64);
    await h1.connect();
    expect(s.backend.connected).toBe(false);
    h1.subscribeVoice();
    await waitFor(() => s.backend.connected, 'connected');
    h1.kill();
    await waitFor(() => !s.backend.connected, 'disconnected');
    const h2 = ha(s.backend.port, KEY_B64);
    await h2.connect();
    h2.subscribeVoice();
    await waitFor(() => s.backend.connected, 'connected again');
    expect(events[0]).toBe('connected');
    expect(events[1]).toMatch(/^disconnected: Home Assistant disconnected/);
    expect(events[2]).toBe('connected');
    // The configuration request lists the wake words (none without a host).
    h2.send('VoiceAssistantConfigurationRequest', {});
    expect(await h2.next('VoiceAssistantConfigurationResponse')).toMatchObject({ maxActiveWakeWords: 0 });
  });
});
