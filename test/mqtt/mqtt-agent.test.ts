/**
 * The MQTT adapter in the real agent (session, gateway client, control socket) against the
 * bundled gateway and a real mosquitto broker on loopback; Home Assistant's side is a probe
 * client. Discovery, state publishes, commands, bad payloads, transcripts opt-in, clean stop,
 * broker restart, credentials and TLS.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatStatus, type AgentStatus } from '../../src/cli/control-cmd.js';
import { request } from '../../src/control/client.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/load.js';
import type { RequestResult, SessionEvents, SessionStatus } from '../../src/core/session.js';
import { memoryLogger } from '../../src/log/logger.js';
import { MqttAdapter } from '../../src/mqtt/adapter.js';
import { TypedEmitter } from '../../src/util/typed-emitter.js';
import { ManualScheduler } from '../fakes/clock.js';
import { connected, phase, startHarness, waitFor, waitPhase, type Harness } from '../support/harness.js';
import { startBroker, type Broker } from '../support/mosquitto.js';
import { Probe } from '../support/mqtt-probe.js';

/** Each test has its own device id, so retained messages of one test never meet another. */
let seq = 0;
let ID = 'kitchen';
let BASE = '';
let NODE = '';
function nextRoom(): void {
  ID = `kitchen${++seq}`;
  BASE = `speaker-agent/${ID}`;
  NODE = `speaker-agent_${ID}`;
}
/** Fast reconnects so the restart tests take a second, not fifteen. */
const FAST_MQTT = { reconnectMinMs: 50, reconnectMaxMs: 400, keepaliveS: 5 };

let broker: Broker;
let dir: string;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  broker = await startBroker();
  dir = mkdtempSync(path.join(os.tmpdir(), 'sa-mqtt-'));
});
afterAll(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => nextRoom());
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function agent(mqtt: Record<string, unknown>, url = broker.url, extra: ConfigInput = {}): Promise<Harness> {
  // Each agent has its own gateway (the harness stops it with the agent).
  const h = await startHarness({ gateway: { followUp: 'never', plan: (u) => ({ text: `You typed: ${u.transcript}.` }) }, config: { ...extra, mqtt: { url, deviceId: ID, name: 'Kitchen', ...FAST_MQTT, ...mqtt } } });
  h.speaker.autoDrain = true;
  open.push(h);
  return h;
}

async function probe(url = broker.url, filters?: string[]): Promise<Probe> {
  const p = await Probe.connect(url, filters);
  open.push(p);
  return p;
}

function mqttConfig(mqtt: Record<string, unknown>) {
  return parseConfig({ mqtt }).mqtt;
}

function mqttStatus(h: Harness) {
  return h.agent.mqtt!.status();
}

async function mqttConnected(h: Harness): Promise<void> {
  await waitFor(() => mqttStatus(h).state === 'connected', `mqtt connected (now ${mqttStatus(h).state}: ${mqttStatus(h).lastError ?? ''})`);
}

function logEvents(h: Harness, event: string) {
  return h.logLines().filter((l) => l.event === event);
}

describe('MQTT adapter', () => {
  it('publishes Home Assistant discovery for every entity, retained, then its states and online', async () => {
    const p = await probe();
    const h = await agent({});
    await connected(h);
    await p.waitValue(`${BASE}/availability`, 'online');
    await p.waitValue(`${BASE}/connected`, 'ON');

    const configs = p.messages.filter((m) => m.topic.startsWith('homeassistant/') && m.topic.endsWith('/config'));
    const byEntity = new Map(configs.map((m) => [m.topic.split('/')[3]!, m]));
    expect([...byEntity.keys()].sort()).toEqual(['connected', 'error', 'led', 'listen', 'mute', 'reply', 'say', 'state', 'stop', 'transcript', 'volume']);
    const mute = p.json(`homeassistant/switch/${NODE}/mute/config`);
    expect(mute).toMatchObject({
      name: 'Mute',
      unique_id: `speaker_agent_${ID}_mute`,
      state_topic: `${BASE}/mute`,
      command_topic: `${BASE}/mute/set`,
      payload_on: 'ON',
      payload_off: 'OFF',
      availability_topic: `${BASE}/availability`,
      payload_available: 'online',
      payload_not_available: 'offline',
      device: { identifiers: [`speaker_agent_${ID}`], name: 'Kitchen', manufacturer: 'speaker-agent' },
      origin: { name: 'speaker-agent' },
    });
    expect(p.json(`homeassistant/number/${NODE}/volume/config`)).toMatchObject({ min: 0, max: 100, step: 1, command_topic: `${BASE}/volume/set`, state_topic: `${BASE}/volume` });
    expect(p.json(`homeassistant/button/${NODE}/listen/config`)).toMatchObject({ command_topic: `${BASE}/listen/set`, payload_press: 'PRESS' });
    expect(p.json(`homeassistant/text/${NODE}/say/config`)).toMatchObject({ command_topic: `${BASE}/say/set`, max: 255, min: 1 });
    expect(p.json(`homeassistant/sensor/${NODE}/state/config`)).toMatchObject({ device_class: 'enum', state_topic: `${BASE}/state` });
    // Transcripts are off by default: their configs are removals, and nothing is published there.
    expect(p.last.get(`homeassistant/sensor/${NODE}/transcript/config`)).toBe('');
    expect(p.last.get(`homeassistant/sensor/${NODE}/reply/config`)).toBe('');
    // The configs come before `online`.
    const onlineAt = p.messages.findIndex((m) => m.topic === `${BASE}/availability` && m.payload === 'online');
    expect(p.messages.findIndex((m) => m.topic === `homeassistant/switch/${NODE}/mute/config`)).toBeLessThan(onlineAt);

    // A client that subscribes later gets everything from the broker's retained store.
    const late = await probe();
    await late.waitValue(`${BASE}/availability`, 'online');
    for (const t of ['state', 'led', 'connected', 'mute', 'volume', 'error']) {
      expect(late.on(`${BASE}/${t}`)[0]?.retain, t).toBe(true);
    }
    expect(late.last.get(`${BASE}/state`)).toBe('idle');
    expect(late.last.get(`${BASE}/led`)).toBe('idle');
    expect(late.last.get(`${BASE}/mute`)).toBe('OFF');
    expect(late.last.get(`${BASE}/volume`)).toBe('100');
    expect(late.json(`${BASE}/error`)).toEqual({ code: null, message: '', at: null });
    expect(late.on(`homeassistant/switch/${NODE}/mute/config`)[0]?.retain).toBe(true);
  });

  it('publishes state, LED and mute when they change, once per change', async () => {
    const p = await probe(broker.url, [`${BASE}/#`]);
    const h = await agent({});
    await connected(h);
    await p.waitValue(`${BASE}/connected`, 'ON');
    p.clear();
    expect(h.agent.session.trigger('control')).toEqual({ ok: true });
    await p.waitValue(`${BASE}/state`, 'listening');
    await p.waitValue(`${BASE}/led`, 'listening');
    h.agent.session.stopAll();
    await p.waitValue(`${BASE}/state`, 'idle');
    h.agent.session.setMuted(true);
    await p.waitValue(`${BASE}/mute`, 'ON');
    await p.waitValue(`${BASE}/led`, 'muted');
    expect(p.on(`${BASE}/state`).map((m) => m.payload)).toEqual(['listening', 'idle']);
    expect(p.on(`${BASE}/mute`).map((m) => m.payload)).toEqual(['ON']);
    // Unchanged values are not sent again (the session reports status far more often).
    expect(p.on(`${BASE}/connected`)).toHaveLength(0);
  });

  it('reports a ringing timer (state and LED), and the stop button stops the ring without a turn', async () => {
    const p = await probe(broker.url, [`${BASE}/#`]);
    const h = await agent({});
    await connected(h);
    await mqttConnected(h);
    h.speaker.autoDrain = true;
    // What a backend with timers (esphome) reports: timers running, then one finished.
    h.agent.session.dispatch({ type: 'timersRunning', count: 1 });
    await p.waitValue(`${BASE}/led`, 'timer');
    h.agent.session.dispatch({ type: 'timerFinished', name: 'pasta', maxRingMs: 60_000 });
    await p.waitValue(`${BASE}/state`, 'ringing');
    await p.waitValue(`${BASE}/led`, 'ringing');
    await p.publish(`${BASE}/stop/set`, 'PRESS');
    await waitPhase(h, 'idle');
    await p.waitValue(`${BASE}/state`, 'idle');
    expect(p.on(`${BASE}/state`).map((m) => m.payload).slice(-2)).toEqual(['ringing', 'idle']);
  });

  it('runs listen, stop, mute, volume and say from their command topics on this agent', async () => {
    const p = await probe();
    const h = await agent({});
    await connected(h);
    await mqttConnected(h);
    const replies: string[] = [];
    h.agent.session.on('replyText', (r) => replies.push(r.text));

    await p.publish(`${BASE}/listen/set`, 'PRESS');
    await waitPhase(h, 'listening');
    await p.publish(`${BASE}/stop/set`, 'PRESS');
    await waitPhase(h, 'idle');

    await p.publish(`${BASE}/mute/set`, 'ON');
    await p.waitValue(`${BASE}/mute`, 'ON');
    expect(h.agent.session.state.muted).toBe(true);
    // Refused while muted: logged, nothing breaks.
    await p.publish(`${BASE}/listen/set`, 'PRESS');
    await waitFor(() => logEvents(h, 'mqtt-command-refused').length === 1, 'refusal logged');
    expect(logEvents(h, 'mqtt-command-refused')[0]).toMatchObject({ command: 'listen', reason: 'muted' });
    await p.publish(`${BASE}/mute/set`, 'OFF');
    await p.waitValue(`${BASE}/mute`, 'OFF');

    await p.publish(`${BASE}/volume/set`, '35');
    await p.waitValue(`${BASE}/volume`, '35');
    expect(h.speaker.volume).toBe(35);
    // A volume set elsewhere (the control socket, Home Assistant) shows on the topic too.
    h.agent.session.setVolume(60);
    await p.waitValue(`${BASE}/volume`, '60');

    await p.publish(`${BASE}/say/set`, 'turn on the kitchen lights');
    await waitFor(() => replies.some((r) => r.includes('You typed: turn on the kitchen lights')), 'the reply to the typed request');
    await waitPhase(h, 'idle');
    // What was said is not echoed onto the broker (no state topic for `say`, transcripts off).
    expect(p.messages.some((m) => m.topic.startsWith(BASE) && !m.topic.endsWith('/set') && m.payload.includes('kitchen lights'))).toBe(false);
  });

  it('logs bad commands, at most five per ten seconds, and keeps working', async () => {
    const p = await probe();
    const h = await agent({ maxSayChars: 20 });
    await connected(h);
    await mqttConnected(h);
    const bad: [string, string | Buffer][] = [
      [`${BASE}/volume/set`, 'loud'],
      [`${BASE}/volume/set`, '150'],
      [`${BASE}/mute/set`, 'maybe'],
      [`${BASE}/listen/set`, 'now please'],
      [`${BASE}/say/set`, '   '],
    ];
    for (const [t, m] of bad) await p.publish(t, m);
    await waitFor(() => logEvents(h, 'mqtt-bad-command').length === 5, 'five warnings');
    // The sixth within ten seconds is counted, not logged, and reported with the next warning.
    await p.publish(`${BASE}/say/set`, 'x'.repeat(21));
    await p.publish(`${BASE}/say/set`, Buffer.from([0xc3, 0x28]));
    await p.publish(`${BASE}/reboot/set`, 'now');
    await new Promise((r) => setTimeout(r, 200));
    const warnings = logEvents(h, 'mqtt-bad-command');
    expect(warnings.map((w) => w.error)).toEqual([
      'volume takes a number from 0 to 100, got "loud"',
      'volume takes a number from 0 to 100, got "150"',
      'mute takes ON or OFF, got "maybe"',
      'listen takes PRESS or an empty payload, got "now please"',
      'say needs a non-empty text',
    ]);
    expect(h.speaker.volume).toBe(100);
    expect(phase(h)).toBe('idle');
    // Still alive and obeying.
    await p.publish(`${BASE}/listen/set`, '');
    await waitPhase(h, 'listening');
    await p.publish(`${BASE}/stop/set`, '');
    await waitPhase(h, 'idle');
    expect(logEvents(h, 'mqtt-bad-command')).toHaveLength(5);
    // The next warning after the window says how many were left out.
  });

  it('reports each kind of bad command (rate limit aside)', async () => {
    const p = await probe();
    const h = await agent({ maxSayChars: 20 });
    await mqttConnected(h);
    const cases: [string, string | Buffer, RegExp][] = [
      [`${BASE}/say/set`, 'x'.repeat(21), /say text of 21 characters is over the limit of 20 \(mqtt.maxSayChars\)/],
      [`${BASE}/say/set`, Buffer.alloc(200, 0x41), /say text of 200 bytes is over the limit of 20 characters/],
      [`${BASE}/say/set`, Buffer.from([0xc3, 0x28]), /not valid UTF-8/],
      [`${BASE}/reboot/set`, 'now', /unknown command: use listen, stop, say, mute or volume/],
    ];
    for (const [t, m, re] of cases) {
      const before = logEvents(h, 'mqtt-bad-command').length;
      await p.publish(t, m);
      await waitFor(() => logEvents(h, 'mqtt-bad-command').length > before, `warning for ${t}`);
      expect(String(logEvents(h, 'mqtt-bad-command').at(-1)!.error)).toMatch(re);
    }
  });

  it('ignores a retained command (it would run again at every reconnect), even a valid one', async () => {
    const p = await probe();
    await p.publish(`${BASE}/volume/set`, '10', true);
    const h = await agent({});
    await waitFor(() => logEvents(h, 'mqtt-bad-command').length === 1, 'retained command refused');
    expect(String(logEvents(h, 'mqtt-bad-command')[0]!.error)).toMatch(/retained volume command ignored: publish commands without the retain flag/);
    expect(h.speaker.volume).toBe(100);
    await p.publish(`${BASE}/volume/set`, '', true);
  });

  it('says so when a second speaker connects with the same device id', async () => {
    const a = await agent({ reconnectMinMs: 2000, reconnectMaxMs: 4000 });
    await mqttConnected(a);
    const b = await agent({ reconnectMinMs: 2000, reconnectMaxMs: 4000 });
    await mqttConnected(b);
    await waitFor(() => logEvents(a, 'mqtt-disconnected').length === 1, 'first speaker pushed off');
    // mosquitto closes the older connection without a reason code: the hint names the likely cause.
    expect(String(logEvents(a, 'mqtt-disconnected')[0]!.hint)).toBe(`the broker closed the connection soon after accepting it: does another speaker use client id speaker-agent-${ID} (mqtt.deviceId)?`);
  });

  it('publishes transcripts and replies only when opted in, never retained', async () => {
    const p = await probe();
    const h = await agent({ publishTranscripts: true });
    await connected(h);
    await mqttConnected(h);
    await p.waitValue(`${BASE}/availability`, 'online');
    expect(p.json(`homeassistant/sensor/${NODE}/transcript/config`)).toMatchObject({ state_topic: `${BASE}/transcript`, value_template: '{{ value_json.text[:255] }}' });
    h.agent.session.say('what time is it');
    await waitFor(() => p.last.has(`${BASE}/reply`), 'reply text published');
    const reply = p.json(`${BASE}/reply`);
    expect(reply.text).toContain('what time is it');
    expect(typeof reply.turnId).toBe('string');
    expect(p.on(`${BASE}/reply`)[0]!.retain).toBe(false);
    await waitPhase(h, 'idle');
    // Nothing of it stays on the broker.
    const late = await probe(broker.url, [`${BASE}/#`]);
    await late.waitValue(`${BASE}/availability`, 'online');
    expect(late.last.has(`${BASE}/reply`)).toBe(false);
    expect(late.last.has(`${BASE}/transcript`)).toBe(false);
  });

  it('publishes the last error as JSON', async () => {
    const p = await probe(broker.url, [`${BASE}/#`]);
    const h = await agent({});
    await connected(h);
    await mqttConnected(h);
    h.mic.fail('capture device went away');
    await waitFor(() => p.last.has(`${BASE}/error`) && p.json(`${BASE}/error`).code === 'mic', 'error published');
    expect(p.json(`${BASE}/error`)).toMatchObject({ code: 'mic', message: 'capture device went away' });
    expect(typeof p.json(`${BASE}/error`).at).toBe('string');
  });

  it('says offline when it stops, and shows the link in status', async () => {
    const p = await probe(broker.url, [`${BASE}/#`]);
    const h = await agent({});
    await mqttConnected(h);
    const reply = await request(h.socket, { cmd: 'status' });
    const status = (reply as unknown as { status: AgentStatus }).status;
    expect(status.mqtt).toMatchObject({ state: 'connected', url: broker.url, deviceId: ID, topic: BASE, clientId: `speaker-agent-${ID}`, connects: 1 });
    expect(formatStatus(status)).toContain(`mqtt:       connected to ${broker.url} as ${ID}, topics ${BASE}/...`);
    await p.waitValue(`${BASE}/availability`, 'online');
    open.splice(open.indexOf(h), 1);
    await h.close();
    await p.waitValue(`${BASE}/availability`, 'offline');
    const late = await probe(broker.url, [`${BASE}/availability`]);
    await late.waitValue(`${BASE}/availability`, 'offline');
    expect(late.messages[0]!.retain).toBe(true);
  });

  it('comes back after a broker restart and publishes everything again', async () => {
    const own = await startBroker();
    try {
      const h = await agent({}, own.url);
      await mqttConnected(h);
      h.agent.session.setMuted(true);
      await own.restart(); // no persistence: every retained message is gone
      // The reconnect can be quicker than a poll of the state on a loaded machine: wait for the
      // second connection itself.
      await waitFor(() => mqttStatus(h).connects === 2 && mqttStatus(h).state === 'connected', 'the link lost and made again', 15_000);
      const p = await Probe.connect(own.url);
      try {
        await p.waitValue(`${BASE}/availability`, 'online');
        expect(p.last.get(`${BASE}/mute`)).toBe('ON');
        expect(p.last.get(`homeassistant/switch/${NODE}/mute/config`)).toContain('"unique_id"');
        // And it obeys commands again.
        await p.publish(`${BASE}/mute/set`, 'OFF');
        await p.waitValue(`${BASE}/mute`, 'OFF');
      } finally {
        await p.close();
      }
      expect(logEvents(h, 'mqtt-disconnected')).toHaveLength(1);
      // A broker that stays down is retried with backoff, and said once, not at every attempt.
      await own.stop();
      // Three failed attempts (backoff 50-400 ms): waited for, not slept for, so a loaded machine
      // only makes it slower.
      await waitFor(() => mqttStatus(h).failures >= 3, 'three failed reconnects', 15_000);
      expect(logEvents(h, 'mqtt-connect-failed').filter((l) => l.level === 'warn')).toHaveLength(1);
      await own.start();
      await mqttConnected(h);
    } finally {
      for (const o of open.splice(0).reverse()) await o.close();
      await own.close();
    }
  });

  it('sends Home Assistant everything again when it announces itself on homeassistant/status', async () => {
    const p = await probe(broker.url, [`homeassistant/+/${NODE}/#`]);
    const h = await agent({});
    await mqttConnected(h);
    await waitFor(() => p.messages.length === 11, 'first discovery');
    await p.publish('homeassistant/status', 'online');
    await waitFor(() => p.messages.length === 22, 'discovery again');
    expect(logEvents(h, 'mqtt-home-assistant-online')).toHaveLength(1);
  });

  it('removes its discovery configs when discovery is off', async () => {
    const p = await probe(broker.url, [`homeassistant/+/${NODE}/#`, `${BASE}/state`]);
    const h = await agent({ discovery: false });
    await mqttConnected(h);
    await p.waitValue(`${BASE}/state`, 'idle');
    await waitFor(() => p.messages.filter((m) => m.topic.endsWith('/config')).length === 11, 'removals');
    expect(p.messages.filter((m) => m.topic.endsWith('/config')).every((m) => m.payload === '')).toBe(true);
    void h;
  });
});

describe('MQTT credentials and TLS', () => {
  let auth: Broker;
  beforeAll(async () => {
    auth = await startBroker({ users: [{ user: 'speaker', password: 's3cret-pass' }, { user: 'ha', password: 'ha-pass' }] });
  });
  afterAll(async () => {
    await auth.close();
  });

  it('logs in with the user and the password file; the password appears nowhere', async () => {
    const file = path.join(dir, 'mqtt-password');
    writeFileSync(file, 's3cret-pass\n', { mode: 0o600 });
    const h = await agent({ username: 'speaker', passwordFile: file }, auth.url);
    await mqttConnected(h);
    const p = await Probe.connect(auth.url, [`${BASE}/#`], { username: 'ha', password: 'ha-pass' });
    open.push(p);
    await p.waitValue(`${BASE}/availability`, 'online');
    const status = JSON.stringify(await request(h.socket, { cmd: 'status' }));
    expect(status).not.toContain('s3cret-pass');
    expect(h.logText()).not.toContain('s3cret-pass');
  });

  it('a refused login is reported once with the fix, retried slowly, and never crashes', async () => {
    const file = path.join(dir, 'wrong-password');
    writeFileSync(file, 'wrong-pass\n', { mode: 0o600 });
    const h = await agent({ username: 'speaker', passwordFile: file, reconnectMaxMs: 2000 }, auth.url);
    await waitFor(() => logEvents(h, 'mqtt-auth-rejected').length === 1, 'auth rejected');
    const line = logEvents(h, 'mqtt-auth-rejected')[0]!;
    expect(String(line.reason)).toMatch(/Not authorized|Bad User Name or Password/i);
    expect(String(line.fix)).toMatch(/mqtt.username and the password/);
    expect(line.retryInMs).toBe(2000);
    expect(mqttStatus(h).state).toBe('waiting');
    expect(h.logText()).not.toContain('wrong-pass');
    // The agent itself is fine.
    await connected(h);
    expect(h.agent.session.trigger('control')).toEqual({ ok: true });
    // A corrected password file is read at the next attempt.
    writeFileSync(file, 's3cret-pass\n');
    await waitFor(() => mqttStatus(h).state === 'connected', 'connected with the new password', 5000);
  });

  it('an anonymous agent on a broker that needs a login is refused, not crashed', async () => {
    const h = await agent({}, auth.url);
    await waitFor(() => logEvents(h, 'mqtt-auth-rejected').length === 1, 'auth rejected');
    expect(mqttStatus(h).state).toBe('waiting');
  });

  it('a missing password file stops the start with the path, not the agent later', async () => {
    await expect(agent({ username: 'speaker', passwordFile: path.join(dir, 'nope') }, auth.url)).rejects.toThrow(/mqtt.passwordFile: .*nope is missing or empty/);
  });

  it('mqtts with a private CA file connects; without it the certificate is refused', async () => {
    const tls = await startBroker({ tls: true });
    try {
      const h = await agent({ caFile: tls.ca }, tls.url);
      await mqttConnected(h);
      const p = await Probe.connect(tls.url, [`${BASE}/#`], { ca: [readFileSync(tls.ca!, 'utf8')] });
      open.push(p);
      await p.waitValue(`${BASE}/availability`, 'online');
      for (const o of open.splice(0).reverse()) await o.close();
      const untrusted = await agent({}, tls.url);
      await waitFor(() => logEvents(untrusted, 'mqtt-connect-failed').length > 0, 'TLS failure');
      expect(String(mqttStatus(untrusted).lastError)).toMatch(/certificate/i);
    } finally {
      for (const o of open.splice(0).reverse()) await o.close();
      await tls.close();
    }
  });
});

/** The adapter needs only the session's events and requests: any backend, or none, will do. */
class ScriptedSession extends TypedEmitter<SessionEvents> {
  readonly calls: string[] = [];
  current: SessionStatus = { phase: 'idle', turnId: null, followUp: false, connected: true, muted: false, led: 'idle', backend: 'scripted', wake: { available: true, keywords: [] } };
  status(): SessionStatus {
    return this.current;
  }
  trigger(source: string): RequestResult {
    this.calls.push(`trigger ${source}`);
    return { ok: true };
  }
  say(text: string): RequestResult {
    this.calls.push(`say ${text}`);
    return { ok: false, reason: 'disconnected', message: 'not connected' };
  }
  setMuted(m: boolean): RequestResult {
    this.calls.push(`mute ${m}`);
    return { ok: true };
  }
  setVolume(p: number): RequestResult {
    this.calls.push(`volume ${p}`);
    return { ok: true };
  }
  stopAll(): RequestResult {
    this.calls.push('stop');
    return { ok: true };
  }
  change(s: Partial<SessionStatus>): void {
    this.current = { ...this.current, ...s };
    this.emit('state', this.current);
  }
}

describe('MQTT adapter on a scripted session', () => {
  it('mirrors whatever session it is given, and counts the bad commands it did not log', async () => {
    const session = new ScriptedSession();
    const mem = memoryLogger('debug');
    const clock = new ManualScheduler();
    const adapter = new MqttAdapter({ config: mqttConfig({ url: broker.url, deviceId: ID, ...FAST_MQTT }), session, log: mem.logger, volume: 50, clock });
    const p = await probe(broker.url, [`${BASE}/#`]);
    await adapter.start();
    open.push({ close: () => adapter.stop() });
    await p.waitValue(`${BASE}/availability`, 'online');
    expect(p.last.get(`${BASE}/volume`)).toBe('50');
    expect(p.last.get(`${BASE}/connected`)).toBe('ON');

    session.change({ phase: 'speaking', led: 'speaking' });
    await p.waitValue(`${BASE}/state`, 'speaking');
    await p.waitValue(`${BASE}/led`, 'speaking');

    await p.publish(`${BASE}/say/set`, 'hello');
    await p.publish(`${BASE}/volume/set`, '20');
    await waitFor(() => session.calls.length === 2, 'two requests');
    expect(session.calls).toEqual(['say hello', 'volume 20']);
    await p.waitValue(`${BASE}/volume`, '20');
    const refused = mem.lines().find((l) => l.event === 'mqtt-command-refused');
    expect(refused).toMatchObject({ ns: 'mqtt', command: 'say', reason: 'disconnected' });
    // The refused text is not in the log.
    expect(mem.text()).not.toContain('hello');

    const warnings = () => mem.lines().filter((l) => l.event === 'mqtt-bad-command');
    for (let i = 0; i < 8; i++) await p.publish(`${BASE}/mute/set`, 'maybe');
    await waitFor(() => adapter.status().received >= 10, 'all received');
    expect(warnings()).toHaveLength(5);
    clock.advance(10_000);
    await p.publish(`${BASE}/mute/set`, 'perhaps');
    await waitFor(() => warnings().length === 6, 'the next window');
    expect(warnings()[5]).toMatchObject({ error: 'mute takes ON or OFF, got "perhaps"', suppressed: 3 });
    expect(session.calls).toHaveLength(2);
  });
});
