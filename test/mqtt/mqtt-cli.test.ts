/**
 * The contract from outside: `speaker-agent run --mqtt URL` (the built CLI, default device id),
 * `speaker-agent status` showing the link, the broker's last will when the process is killed,
 * and an agent without `mqtt.url` that never loads the `mqtt` package.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../../src/control/client.js';
import { LocalGateway } from '../../src/local-gateway/server.js';
import { silentLogger } from '../../src/log/logger.js';
import type { MqttStatus } from '../../src/mqtt/adapter.js';
import { silence } from '../support/harness.js';
import { startBroker, type Broker } from '../support/mosquitto.js';
import { Probe } from '../support/mqtt-probe.js';
import { writeWav } from '../support/wav.js';

const run = promisify(execFile);
const CLI = path.resolve('dist/src/cli.js');
let broker: Broker;
let gw: LocalGateway;
let dir: string;

beforeAll(async () => {
  statSync(CLI); // scripts/test.sh builds before testing
  broker = await startBroker();
  gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0, followUp: 'never' });
  await gw.start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'sa-mqtt-cli-'));
  writeWav(path.join(dir, 'quiet.wav'), silence(1000), 16000);
});
afterAll(async () => {
  await gw.stop();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

function daemon(name: string, extra: string[]): { child: ChildProcess; socket: string; out: () => string } {
  const socket = path.join(dir, `${name}.sock`);
  let out = '';
  const child = spawn('node', [CLI, 'run', '--gateway', gw.url, '--mic', `wav:${path.join(dir, 'quiet.wav')}`, '--speaker', `wav:${path.join(dir, `${name}.wav`)}`, '--wake', 'none', '--gpio', 'none', '--control', socket, ...extra], {
    env: { ...process.env, SPEAKER_AGENT_LOG_LEVEL: 'debug' },
  });
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (out += d.toString()));
  return { child, socket, out: () => out };
}

async function mqttStatusOf(socket: string): Promise<MqttStatus | undefined> {
  try {
    const r = await request(socket, { cmd: 'status' });
    return r.ok ? ((r.status as { mqtt?: MqttStatus }).mqtt ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}

describe('speaker-agent run --mqtt', () => {
  it('connects with a device id of its own, shows it in status, and the broker says offline when it is killed', async () => {
    const d = daemon('killed', ['--mqtt', broker.url]);
    let status: MqttStatus | undefined;
    const t0 = Date.now();
    while (!(status = await mqttStatusOf(d.socket))?.connects) {
      if (Date.now() - t0 > 15_000) throw new Error(`no MQTT connection within 15 s:\n${d.out()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status.deviceId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(status.topic).toBe(`speaker-agent/${status.deviceId}`);
    const { stdout } = await run('node', [CLI, 'status', '--control', d.socket]);
    expect(stdout).toContain(`mqtt:       connected to ${broker.url} as ${status.deviceId}, topics speaker-agent/${status.deviceId}/...`);

    const p = await Probe.connect(broker.url, [`${status.topic}/availability`]);
    try {
      await p.waitValue(`${status.topic}/availability`, 'online');
      d.child.kill('SIGKILL');
      await p.waitValue(`${status.topic}/availability`, 'offline', 10_000);
      // Retained: a client that connects later learns the speaker is gone.
      const late = await Probe.connect(broker.url, [`${status.topic}/availability`]);
      await late.waitValue(`${status.topic}/availability`, 'offline');
      expect(late.messages[0]!.retain).toBe(true);
      await late.close();
    } finally {
      await p.close();
      d.child.kill('SIGKILL');
    }
  });

  it('a stopped service says offline itself (a clean stop sends no last will) and exits 0', async () => {
    const d = daemon('stopped', ['--mqtt', broker.url]);
    let status: MqttStatus | undefined;
    const t0 = Date.now();
    while (!(status = await mqttStatusOf(d.socket))?.connects) {
      if (Date.now() - t0 > 15_000) throw new Error(`no MQTT connection within 15 s:\n${d.out()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const p = await Probe.connect(broker.url, [`${status.topic}/availability`]);
    try {
      await p.waitValue(`${status.topic}/availability`, 'online');
      d.child.kill('SIGTERM');
      const code = await new Promise((r) => d.child.on('exit', r));
      expect(code).toBe(0);
      await p.waitValue(`${status.topic}/availability`, 'offline');
    } finally {
      await p.close();
    }
  });

  it('a bad --mqtt URL is a configuration error, exit code 2', async () => {
    const err = await run('node', [CLI, 'run', '--mqtt', 'mqtt://user:pw@broker', '--mic', 'wav:x.wav', '--speaker', 'wav:y.wav']).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toContain('mqtt.url: must not contain a password');
    expect((err as { stderr: string }).stderr).not.toContain('pw@');
  });
});

describe('without mqtt.url', () => {
  it('never loads the mqtt package', async () => {
    // The real drivers on files (the test fakes are not in the published build).
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'sa-mqtt-lazy-'));
    const micFile = path.join(tmp, 'mic.wav');
    writeWav(micFile, new Int16Array(1600), 16000);
    const audio = { mic: `wav:${micFile}`, speaker: `wav:${path.join(tmp, 'out.wav')}` };
    const script = `
      import { createRequire } from 'node:module';
      const { createAgent } = await import(${JSON.stringify(path.resolve('dist/src/agent.js'))});
      const { parseConfig } = await import(${JSON.stringify(path.resolve('dist/src/config/load.js'))});
      const { silentLogger } = await import(${JSON.stringify(path.resolve('dist/src/log/logger.js'))});
      const config = parseConfig({ gateway: { url: ${JSON.stringify(gw.url)} }, audio: ${JSON.stringify(audio)}, wake: { engine: 'none' }, gpio: { driver: 'none' } });
      const agent = await createAgent(config, { log: silentLogger(), controlSocket: null });
      await agent.start();
      await agent.stop();
      await import('commander'); // a CommonJS package imported from ES modules, as mqtt would be
      const cache = Object.keys(createRequire(import.meta.url).cache);
      const count = (name) => cache.filter((k) => k.includes('/node_modules/' + name + '/')).length;
      console.log(JSON.stringify({ mqtt: count('mqtt'), ws: count('ws'), commander: count('commander'), adapter: agent.mqtt === undefined }));
    `;
    const { stdout } = await run('node', ['--input-type=module', '-e', script], { cwd: process.cwd() });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { mqtt: number; ws: number; commander: number; adapter: boolean };
    expect(r.commander).toBeGreaterThan(0); // the check sees CommonJS packages loaded through ESM
    expect(r.mqtt).toBe(0);
    expect(r.ws).toBe(0); // the gateway's socket is the agent's own client (src/net/ws-client.ts)
    expect(r.adapter).toBe(true);
  });
});
