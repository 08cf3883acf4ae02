/**
 * `npm run fleet` (issue 17, item 7): N speakers (default 50, `npm run fleet -- 20` for fewer)
 * with scripted hardware in this process, one mosquitto broker, one gateway in a child process
 * (so its CPU is not counted as the agents'). Measures and checks:
 *   1. every speaker appears in discovery (11 config topics each) and comes online;
 *   2. a `say` to one room reaches only that room; then a `say` to every room at once, each
 *      reply in its own room only;
 *   3. a broker restart (no persistence: every retained message lost) brings every speaker
 *      back, discovery and states republished, within 30 s;
 *   4. the broker's inbound message rate (every PUBLISH of the speakers, counted by a monitor
 *      subscribed to all their topics) idle and during turns, the broker's CPU, and the CPU
 *      the MQTT adapter adds per agent (the same idle and turn windows with the adapters
 *      running, then stopped).
 * Writes bench/results/mqtt-fleet.json; exits 1 when a check fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAgent, type Agent } from '../src/agent.js';
import { parseConfig } from '../src/config/load.js';
import { FakeGpio, FakeMic, FakeSpeaker, FakeWake } from '../test/fakes/index.js';
import { memoryLogger } from '../src/log/logger.js';
import { startBroker, type Broker } from '../test/support/mosquitto.js';
import { Probe } from '../test/support/mqtt-probe.js';
import { summary } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = path.resolve(HERE, '..', '..', 'bench', 'results');
const N = Number(process.argv[2]) || 50;
const IDLE_WINDOW_MS = Number(process.env.FLEET_IDLE_MS) || 20_000;
const TURN_ROUNDS = 5;

interface Room {
  id: string;
  agent: Agent;
  replies: string[];
  log: ReturnType<typeof memoryLogger>;
}

async function until(pred: () => boolean, what: string, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`fleet: timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startGateway(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(HERE, '..', 'src', 'cli.js'), 'gateway', '--port', '0', '--speech', 'tone', '--follow-up', 'never', '--pace', '0', '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /GATEWAY_URL=(\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', () => reject(new Error('fleet: gateway exited')));
  });
}

/** CPU seconds (user + system) of a process, from /proc (the broker's). */
function procCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** A point in time and the speakers' PUBLISHes the broker had routed to the monitor by then. */
function snapshot(probe: Probe): Record<string, number> {
  return { agentPublishes: agentPublishes(probe), at: Date.now() };
}

/** PUBLISHes from the speakers the broker routed to the monitor (subscribed to all of them). */
function agentPublishes(probe: Probe): number {
  return probe.messages.filter((m) => !m.topic.startsWith('$SYS/') && !m.topic.endsWith('/set')).length;
}

function rate(a: Record<string, number>, b: Record<string, number>, key: string): number {
  return Math.round(((b[key]! - a[key]!) / ((b.at! - a.at!) / 1000)) * 100) / 100;
}

async function room(i: number, gatewayUrl: string, brokerUrl: string): Promise<Room> {
  const id = `room-${100 + i}`;
  const config = parseConfig({
    gateway: { url: gatewayUrl },
    audio: { mic: 'wav:x', speaker: 'wav:x', earcons: { wake: 'off', done: 'off', error: 'off', disconnected: 'off' } },
    conversation: { settleMs: 0 },
    // The product's defaults for everything else (backoff 0.5 s doubling to 15 s, keep-alive 30 s).
    mqtt: { url: brokerUrl, deviceId: id, name: `Room ${100 + i}` },
    log: { level: 'warn' },
  });
  const speaker = new FakeSpeaker();
  speaker.autoDrain = true;
  const log = memoryLogger('warn');
  const agent = await createAgent(config, { log: log.logger, controlSocket: null, overrides: { mic: new FakeMic(), speaker, wake: new FakeWake(), gpio: new FakeGpio() } });
  const replies: string[] = [];
  agent.session.on('replyText', (r) => replies.push(r.text));
  await agent.start();
  return { id, agent, replies, log };
}

/** One `say` to every room at once, over MQTT; resolves when every room is idle again. */
async function sayToAll(rooms: Room[], probe: Probe, round: number): Promise<number> {
  const t0 = performance.now();
  for (const r of rooms) r.replies.length = 0;
  await Promise.all(rooms.map((r) => probe.publish(`speaker-agent/${r.id}/say/set`, `round ${round} for ${r.id}`)));
  await until(() => rooms.every((r) => r.replies.length > 0 && r.agent.session.state.phase.kind === 'idle'), `every room answered round ${round}`, 30_000);
  for (const r of rooms) {
    if (r.replies.length !== 1 || !r.replies[0]!.includes(`round ${round} for ${r.id}`)) throw new Error(`fleet: ${r.id} got ${JSON.stringify(r.replies)} in round ${round}`);
  }
  return performance.now() - t0;
}

/** Same-load turns without MQTT: the session's own `say` (what the control socket does). */
async function sayToAllDirect(rooms: Room[], round: number): Promise<void> {
  for (const r of rooms) r.replies.length = 0;
  for (const r of rooms) r.agent.session.say(`round ${round} for ${r.id}`);
  await until(() => rooms.every((r) => r.replies.length > 0 && r.agent.session.state.phase.kind === 'idle'), `every room answered round ${round}`, 30_000);
}

function cpuMs(fn: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  return fn().then(() => {
    const d = process.cpuUsage(before);
    return (d.user + d.system) / 1000;
  });
}

export async function runFleet(): Promise<Record<string, unknown>> {
  const broker: Broker = await startBroker({ extra: ['max_connections -1'] });
  const gw = await startGateway();
  const checks: Record<string, boolean> = {};
  const monitor = await Probe.connect(broker.url, ['homeassistant/#', 'speaker-agent/#']);
  const rooms: Room[] = [];
  try {
    // 1. Start-up and discovery.
    const sys0 = snapshot(monitor);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) rooms.push(await room(i, gw.url, broker.url));
    const online = () => rooms.filter((r) => monitor.last.get(`speaker-agent/${r.id}/availability`) === 'online').length;
    await until(() => online() === N, `${N} rooms online`, 60_000);
    const startupMs = performance.now() - t0;
    const configs = (r: Room) => [...monitor.last.keys()].filter((t) => t.startsWith('homeassistant/') && t.includes(`/speaker-agent_${r.id}/`) && t.endsWith('/config'));
    checks.allInDiscovery = rooms.every((r) => configs(r).length === 11 && configs(r).filter((t) => monitor.last.get(t) !== '').length === 9);
    await until(() => rooms.every((r) => r.agent.session.state.connected), 'every room connected to the gateway', 30_000);
    await sleep(1500);
    const sys1 = snapshot(monitor);
    const startupPublishes = sys1.agentPublishes! - sys0.agentPublishes!;
    const startupAgentCount = rooms.reduce((n, r) => n + r.agent.mqtt!.status().published, 0);

    // 2. Isolation: one room, then every room at once.
    const target = rooms[17 % N]!;
    for (const r of rooms) r.replies.length = 0;
    await monitor.publish(`speaker-agent/${target.id}/say/set`, `only for ${target.id}`);
    await until(() => target.replies.length > 0, `reply in ${target.id}`, 10_000);
    await sleep(1000);
    const elsewhere = rooms.filter((r) => r !== target && r.replies.length > 0).map((r) => r.id);
    checks.sayReachesOnlyItsRoom = target.replies.length === 1 && target.replies[0]!.includes(`only for ${target.id}`) && elsewhere.length === 0;
    await until(() => target.agent.session.state.phase.kind === 'idle', 'target idle', 10_000);

    // 4a. Broker message rate and CPU while idle, then during turns (MQTT on).
    const idleA = snapshot(monitor);
    const brokerCpuIdle0 = procCpuS(broker.pid()!);
    const idleMqttMs = await cpuMs(() => sleep(IDLE_WINDOW_MS));
    const brokerCpuIdle = procCpuS(broker.pid()!) - brokerCpuIdle0;
    const idleB = snapshot(monitor);
    const turnA = snapshot(monitor);
    const brokerCpuTurns0 = procCpuS(broker.pid()!);
    const roundMs: number[] = [];
    const turnsMqttMs = await cpuMs(async () => {
      for (let k = 0; k < TURN_ROUNDS; k++) roundMs.push(await sayToAll(rooms, monitor, k));
    });
    const brokerCpuTurns = procCpuS(broker.pid()!) - brokerCpuTurns0;
    await sleep(1200);
    const turnB = snapshot(monitor);
    checks.everyRoundInItsOwnRoom = true; // sayToAll throws otherwise
    const says = N * TURN_ROUNDS;
    const publishesPerTurn = (turnB.agentPublishes! - turnA.agentPublishes!) / says;

    // 3. Broker restart: everything retained is lost; every room must be back within 30 s.
    const restartsBefore = rooms.map((r) => r.agent.mqtt!.status().connects);
    await broker.stop();
    await until(() => rooms.every((r) => r.agent.mqtt!.status().state !== 'connected'), 'every room saw the broker go', 30_000);
    const downMs = 2000;
    await sleep(downMs);
    const back0 = performance.now();
    await broker.start();
    const back: number[] = [];
    const seen = new Set<string>();
    await until(
      () => {
        for (const [i, r] of rooms.entries()) {
          if (!seen.has(r.id) && r.agent.mqtt!.status().connects > restartsBefore[i]!) {
            seen.add(r.id);
            back.push(performance.now() - back0);
          }
        }
        return seen.size === N;
      },
      'every room reconnected',
      60_000,
    );
    const allBackMs = performance.now() - back0;
    // The monitor reconnects too (it is a plain client) and checks what the broker now holds.
    const after = await Probe.connect(broker.url, ['homeassistant/#', 'speaker-agent/#']);
    await until(() => rooms.every((r) => after.last.get(`speaker-agent/${r.id}/availability`) === 'online'), 'every room online again (retained)', 30_000);
    checks.discoveryRepublished = rooms.every((r) => [...after.last.keys()].filter((t) => t.includes(`/speaker-agent_${r.id}/`) && after.last.get(t) !== '').length === 9);
    checks.backWithin30s = allBackMs <= 30_000;
    await after.close();
    await monitor.close();
    const monitor2 = await Probe.connect(broker.url, ['speaker-agent/+/availability']);
    // Obeys again after the restart.
    for (const r of rooms) r.replies.length = 0;
    await sayToAll(rooms, monitor2, 99);
    checks.obeysAfterRestart = true;

    // 4b. The same idle and turn windows with the adapters stopped: the difference is MQTT's.
    for (const r of rooms) await r.agent.mqtt!.stop();
    await until(() => rooms.every((r) => monitor2.last.get(`speaker-agent/${r.id}/availability`) === 'offline'), 'every room offline after stopping MQTT', 10_000);
    const idleNoMqttMs = await cpuMs(() => sleep(IDLE_WINDOW_MS));
    const turnsNoMqttMs = await cpuMs(async () => {
      for (let k = 0; k < TURN_ROUNDS; k++) await sayToAllDirect(rooms, 200 + k);
    });
    await monitor2.close();

    const warnings = rooms.flatMap((r) => r.log.lines().filter((l) => l.ns === 'agent.mqtt' || String(l.event).startsWith('mqtt'))).map((l) => String(l.event));
    const pct = (ms: number, windowMs: number) => Math.round((ms / windowMs) * 100 * 10000) / 10000;
    return {
      agents: N,
      host: { cpus: os.cpus().length, load1: os.loadavg()[0], node: process.versions.node },
      checks,
      startup: { allOnlineMs: Math.round(startupMs), agentPublishesRouted: startupPublishes, agentPublishesCounted: startupAgentCount, publishesPerAgent: Math.round((startupPublishes / N) * 10) / 10 },
      brokerRate: {
        idleAgentPublishesPerS: rate(idleA, idleB, 'agentPublishes'),
        // Besides publishes, each speaker sends one PINGREQ per keep-alive interval (30 s).
        idlePingsPerS: Math.round((N / 30) * 100) / 100,
        turnsAgentPublishesPerS: rate(turnA, turnB, 'agentPublishes'),
        agentPublishesPerTurn: Math.round(publishesPerTurn * 10) / 10,
      },
      brokerCpu: { idlePctOfOneCore: pct(brokerCpuIdle * 1000, IDLE_WINDOW_MS), duringTurnsCpuMs: Math.round(brokerCpuTurns * 1000) },
      restart: { brokerDownMs: downMs, allBackMs: Math.round(allBackMs), reconnect: summary(back) },
      turns: { rounds: TURN_ROUNDS, turnsPerRound: N, roundMs: summary(roundMs) },
      addedCpuPerAgent: {
        idlePctOfOneCore: pct((idleMqttMs - idleNoMqttMs) / N, IDLE_WINDOW_MS),
        idleWithMqttMs: Math.round(idleMqttMs),
        idleWithoutMqttMs: Math.round(idleNoMqttMs),
        perTurnMs: Math.round(((turnsMqttMs - turnsNoMqttMs) / (N * TURN_ROUNDS)) * 1000) / 1000,
        turnsWithMqttMs: Math.round(turnsMqttMs),
        turnsWithoutMqttMs: Math.round(turnsNoMqttMs),
      },
      agentWarnings: [...new Set(warnings)],
    };
  } finally {
    for (const r of rooms) await r.agent.stop().catch(() => undefined);
    gw.child.kill('SIGTERM');
    await broker.close();
  }
}

async function main(): Promise<void> {
  const figures = await runFleet();
  mkdirSync(RESULTS, { recursive: true });
  const result = { bench: 'mqtt-fleet', date: new Date().toISOString(), ...figures };
  writeFileSync(path.join(RESULTS, 'mqtt-fleet.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  const failed = Object.entries(figures.checks as Record<string, boolean>).filter(([, ok]) => !ok);
  if (failed.length) {
    process.stderr.write(`fleet: FAILED ${failed.map(([k]) => k).join(', ')}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((err: unknown) => {
    process.stderr.write(`fleet: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
