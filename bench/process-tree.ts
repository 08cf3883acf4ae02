/**
 * Whole-process benchmark, measured the way a user's `top` sees it: the real CLI as a process,
 * its whole process tree read from /proc, audio paced in real time, and a floor in the same run.
 *
 * - A paced writer (a separate process) writes 16 kHz mono PCM in 20 ms writes into a FIFO that
 *   ALSA's file plugin reads as the capture device `in`.
 * - The agent (`node dist/src/cli.js run --mic alsa:in ...`) streams one long turn to a loopback
 *   WebSocket gateway in this process, which records when each frame arrives.
 * - The audio is a sawtooth of the sample index, so the gateway knows which write each frame came
 *   from: the delay from a paced write to its arrival is measured per frame.
 * - The floor: a bare Node relay of the same bytes (FIFO -> raw TCP), the same writer, the same run.
 *
 * CPU is utime+stime of every process in the tree (/proc/PID/stat), RSS is VmRSS/VmHWM of each
 * process (/proc/PID/status).
 *
 * Environment: `BENCH_SECONDS` the streaming time (default 60); `BENCH_BACKEND` the capture and
 * playback backend (`audio.alsaBackend`: arecord, the default, or koffi, naudiodon, auto);
 * `BENCH_NODE_OPTIONS` the agent's Node flags (default: the systemd unit's NODE_OPTIONS; `none` for
 * Node's defaults); `BENCH_MALLOC_ARENA_MAX` glibc's arena limit for the agent (default: the
 * unit's; `default` for glibc's own); `BENCH_RUNS` agent and floor runs, alternating (default 1;
 * the median is reported); `BENCH_SMAPS=FILE` saves the agent's /proc/PID/smaps at the end;
 * `BENCH_FLOOR=0` skips the floor (quick memory checks);
 * `BENCH_CLI` another build of the CLI to measure (default dist/src/cli.js).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { percentile, summary } from './stats.js';

const RATE = 16000;
const FRAME_SAMPLES = 320; // 20 ms writes
const PERIOD = 30000; // sawtooth period in samples (values stay positive int16)

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  ticks: number;
  rssKiB: number;
  hwmKiB: number;
  /** The private part of the RSS (heap, malloc); the rest is file pages such as the node binary's code, shared with every Node process. */
  anonKiB: number;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // Fields after the comm: state(0) ppid(1) ... utime(11) stime(12).
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { pid, ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]), rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), anonKiB: kib('RssAnon') };
  } catch {
    return undefined;
  }
}

/** Every live process in the tree under `root`, root first. */
export function processTree(root: number): ProcInfo[] {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => readProc(Number(d))).filter((p): p is ProcInfo => !!p);
  const out: ProcInfo[] = [];
  const want = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (want.has(p.pid) || !want.has(p.ppid)) continue;
      want.add(p.pid);
      grew = true;
    }
  }
  for (const p of all) if (want.has(p.pid)) out.push(p);
  return out.sort((a, b) => (a.pid === root ? -1 : b.pid === root ? 1 : a.pid - b.pid));
}

/** CPU ticks used so far by the tree's live processes (cutime is not read: helpers live on), in all and by pid. */
function treeTicks(root: number): number {
  return processTree(root).reduce((n, p) => n + p.ticks, 0);
}

export function ticksByPid(root: number): Map<number, number> {
  return new Map(processTree(root).map((p) => [p.pid, p.ticks]));
}

// The writer reopens the FIFO when its reader goes away (device probing opens and closes the PCM
// before capture starts), and restarts its pacing from there: a paced source, never a burst.
const WRITER = `
const fs = require('fs');
const [fifo, seconds, logFile] = process.argv.slice(1);
const FRAME = ${FRAME_SAMPLES}, PERIOD = ${PERIOD}, RATE = ${RATE};
const total = Math.round(Number(seconds) * RATE / FRAME);
let fd = fs.openSync(fifo, 'w');
const buf = Buffer.alloc(FRAME * 2);
const times = [];
let i = 0;
let t0 = performance.now();
const save = () => fs.writeFileSync(logFile, JSON.stringify(times));
process.on('SIGTERM', () => { save(); process.exit(0); });
function tick() {
  if (i >= total) { fs.closeSync(fd); save(); return; }
  for (let k = 0; k < FRAME; k++) buf.writeInt16LE((i * FRAME + k) % PERIOD, k * 2);
  const at = performance.timeOrigin + performance.now();
  try {
    fs.writeSync(fd, buf);
  } catch (e) {
    if (e.code !== 'EPIPE') throw e;
    fs.closeSync(fd);
    fd = fs.openSync(fifo, 'w');
    t0 = performance.now() - i * FRAME * 1000 / RATE;
    setImmediate(tick);
    return;
  }
  times[i] = at;
  i++;
  const next = t0 + i * FRAME * 1000 / RATE;
  setTimeout(tick, Math.max(0, next - performance.now()));
}
tick();
`;

/**
 * The floors. "stream": fs.createReadStream, whose reads run on libuv's thread pool (one hand-off
 * to a worker thread and back per read). "pipe": the FIFO opened non-blocking as a pipe handle,
 * read from the event loop's own epoll as the agent reads arecord's stdout: the cheapest relay.
 */
const RELAY = `
const fs = require('fs'); const net = require('net');
const [fifo, port, how] = process.argv.slice(1);
const sock = net.connect(Number(port), '127.0.0.1', () => {
  const src = how === 'pipe'
    ? new net.Socket({ fd: fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK), readable: true, writable: false })
    : fs.createReadStream(fifo, { highWaterMark: ${FRAME_SAMPLES * 2} });
  src.on('data', (d) => sock.write(d)).on('end', () => sock.end());
});
`;

export type RelayKind = 'stream' | 'pipe';

/** $dir/.asoundrc (the agent runs with HOME=dir): capture `in` reads `fifo`, playback `out` writes `played`. */
export function writeAsoundrc(dir: string, fifo: string, played: string): void {
  writeFileSync(
    path.join(dir, '.asoundrc'),
    [
      `pcm.!default { type asym; playback.pcm "out"; capture.pcm "in" }`,
      `pcm.out { type file; slave.pcm "null"; file "${played}"; format "raw" }`,
      `pcm.in { type file; slave.pcm "null"; file "/dev/null"; infile "${fifo}"; format "raw" }`,
    ].join('\n') + '\n',
  );
}

export function startWriter(fifo: string, seconds: number, logFile: string): ChildProcess {
  return spawn(process.execPath, ['-e', WRITER, fifo, String(seconds), logFile], { stdio: 'ignore' });
}

export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/** The agent under test: the CLI's `run` on the ALSA devices of `writeAsoundrc`, against a loopback gateway, with its stderr's tail kept for errors. */
export interface AgentUnderTest {
  child: ChildProcess;
  /** Rethrows `err` with the tail of the agent's stderr. */
  explain(err: unknown): Error;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
}

export function spawnAgent(o: { cli: string; config: string; port: number; sock: string; dir: string; nodeOptions: string[]; env: Record<string, string | undefined>; wake?: string }): AgentUnderTest {
  const child = spawn(process.execPath, [...o.nodeOptions, o.cli, 'run', '-c', o.config, '--mic', 'alsa:in', '--speaker', 'alsa:out', '--gateway', `ws://127.0.0.1:${o.port}`, '--wake', o.wake ?? 'none', '--gpio', 'none', '--control', o.sock, '--log-level', 'warn'], {
    env: { ...process.env, ...o.env, HOME: o.dir, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return {
    child,
    explain: (err) => new Error(`${(err as Error).message}; agent stderr: ${stderr.trim().slice(-1000)}`),
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The absolute sample index whose sawtooth value is `value`, nearest `expected`. */
function sampleIndexOf(value: number, expected: number): number {
  const base = expected - (expected % PERIOD);
  let best = base + value;
  for (const c of [base - PERIOD + value, base + PERIOD + value]) if (Math.abs(c - expected) < Math.abs(best - expected)) best = c;
  return best;
}

/** Delay of each frame from the paced write that carried its last sample to its arrival, ms. */
function delays(arrivals: { at: number; last: number }[], writes: number[]): number[] {
  const out: number[] = [];
  let wi = 0;
  for (const a of arrivals) {
    // The newest write before the arrival says roughly where the stream is; the sawtooth says exactly.
    while (wi + 1 < writes.length && writes[wi + 1]! <= a.at) wi++;
    const w = Math.floor(sampleIndexOf(a.last, (wi + 1) * FRAME_SAMPLES - 1) / FRAME_SAMPLES);
    if (w >= 0 && w < writes.length) out.push(a.at - writes[w]!);
  }
  return out;
}

interface RunFigures {
  cpuPercent: number;
  cpuSeconds: number;
  wallSeconds: number;
  processes: { comm: string; cpuPercent: number; rssMiB: number; hwmMiB: number; anonMiB: number }[];
  rssMiB: number;
  hwmMiB: number;
}

export function figures(root: number, at0: Map<number, number>, t0: number): RunFigures {
  const procs = processTree(root);
  const ticks0 = [...at0.values()].reduce((n, t) => n + t, 0);
  const cpuSeconds = (procs.reduce((n, p) => n + p.ticks, 0) - ticks0) / CLK_TCK;
  const wallSeconds = (performance.now() - t0) / 1000;
  const pct = (ticks: number) => Math.round((ticks / CLK_TCK / wallSeconds) * 10000) / 100;
  const mib = (k: number) => Math.round((k / 1024) * 10) / 10;
  return {
    cpuPercent: Math.round((cpuSeconds / wallSeconds) * 10000) / 100,
    cpuSeconds: Math.round(cpuSeconds * 100) / 100,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    processes: procs.map((p) => ({ comm: p.comm, cpuPercent: pct(p.ticks - (at0.get(p.pid) ?? 0)), rssMiB: mib(p.rssKiB), hwmMiB: mib(p.hwmKiB), anonMiB: mib(p.anonKiB) })),
    rssMiB: mib(procs.reduce((n, p) => n + p.rssKiB, 0)),
    hwmMiB: mib(procs.reduce((n, p) => n + p.hwmKiB, 0)),
  };
}

interface AgentOptions {
  backend: string;
  nodeOptions: string[];
  /** Set in the agent's environment (the unit's MALLOC_ARENA_MAX). */
  env: Record<string, string>;
}

async function runAgent(
  dir: string,
  seconds: number,
  cli: string,
  o: AgentOptions,
): Promise<{ tree: RunFigures; startCpuSeconds: number; delayMs: ReturnType<typeof summary>; frames: number; rssAtStartMiB: number; rssIdleMiB: number; rssStreamStartMiB: number }> {
  const fifo = path.join(dir, 'mic.fifo');
  execFileSync('mkfifo', [fifo]);
  writeAsoundrc(dir, fifo, path.join(dir, 'played.raw'));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as AddressInfo).port;
  const arrivals: { at: number; last: number }[] = [];
  let client: WebSocket | undefined;
  let started = false;
  wss.on('connection', (ws) => {
    client = ws;
    ws.on('message', (data: Buffer, binary) => {
      if (binary) return;
      const m = JSON.parse(data.toString('utf8')) as { action: string; data?: string };
      if (m.action === 'audio_start') started = true;
      if (m.action !== 'audio_data' || !m.data) return;
      const pcm = Buffer.from(m.data, 'base64');
      arrivals.push({ at: performance.timeOrigin + performance.now(), last: pcm.readInt16LE(pcm.length - 2) });
    });
  });
  const config = path.join(dir, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify({
      conversation: { endOnSilence: false, maxUtteranceMs: (seconds + 30) * 1000, noSpeechTimeoutMs: (seconds + 30) * 1000 },
      audio: { alsaBackend: o.backend, earcons: { wake: 'off', done: 'off', error: 'off', disconnected: 'off' } },
    }),
  );
  const sock = path.join(dir, 'control.sock');
  const writerLog = path.join(dir, 'writes.json');
  // The writer opens the FIFO first (it blocks until the agent's capture opens it for reading).
  const writer = startWriter(fifo, seconds + 8, writerLog);
  const agent = spawnAgent({ cli, config, port, sock, dir, nodeOptions: o.nodeOptions, env: { MALLOC_ARENA_MAX: undefined, ...o.env } });
  try {
    await until(() => client !== undefined, 'the agent to connect');
    const startCpuSeconds = treeTicks(agent.child.pid!) / CLK_TCK;
    const treeRssMiB = () => Math.round((processTree(agent.child.pid!).reduce((n, p) => n + p.rssKiB, 0) / 1024) * 10) / 10;
    const rssAtStartMiB = treeRssMiB();
    // Idle, before any turn: what start-up left resident (the MP3 decoder loads with the first turn).
    await sleep(1500);
    const rssIdleMiB = treeRssMiB();
    // Open the turn through the control socket, as `speaker-agent listen` does.
    await until(() => existsSync(sock), 'the control socket');
    const { connect } = await import('node:net');
    await new Promise<void>((resolve, reject) => {
      const c = connect(sock, () => c.write('{"cmd":"listen"}\n'));
      c.once('data', () => (c.end(), resolve()));
      c.once('error', reject);
    });
    await until(() => started && arrivals.length > 0, 'the first audio_data');
    await sleep(2000); // past the pre-roll and start-up
    const ticks0 = ticksByPid(agent.child.pid!);
    const rssStreamStartMiB = treeRssMiB();
    const from = arrivals.length;
    const tStream = performance.now();
    await sleep(seconds * 1000);
    const tree = figures(agent.child.pid!, ticks0, tStream);
    if (process.env.BENCH_SMAPS) writeFileSync(process.env.BENCH_SMAPS, readFileSync(`/proc/${agent.child.pid!}/smaps`));
    writer.kill('SIGTERM');
    await exited(writer);
    const writes = JSON.parse(readFileSync(writerLog, 'utf8')) as number[];
    return {
      tree,
      startCpuSeconds: Math.round(startCpuSeconds * 100) / 100,
      delayMs: summary(delays(arrivals.slice(from), writes)),
      frames: arrivals.length - from,
      rssAtStartMiB,
      rssIdleMiB,
      rssStreamStartMiB,
    };
  } catch (err) {
    throw agent.explain(err);
  } finally {
    writer.kill('SIGKILL');
    await agent.stop();
    wss.close();
  }
}

/**
 * The floor's run: the relay forwarding `seconds` of paced audio, its CPU and RSS. `writer`
 * starts what writes into the relay's FIFO (default: the sawtooth writer of this bench).
 */
export async function runRelay(dir: string, seconds: number, how: RelayKind, writer: (fifo: string) => ChildProcess = (fifo) => startWriter(fifo, seconds + 4, path.join(dir, `relay-${how}-writes.json`))): Promise<RunFigures> {
  const fifo = path.join(dir, `relay-${how}.fifo`);
  execFileSync('mkfifo', [fifo]);
  let received = 0;
  const server = createServer((s: Socket) => s.on('data', (d) => (received += d.length)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const relay = spawn(process.execPath, ['-e', RELAY, fifo, String(port), how], { stdio: 'ignore' });
  const writing = writer(fifo);
  try {
    await until(() => received > 0, 'the relay to forward');
    await sleep(2000);
    const ticks0 = ticksByPid(relay.pid!);
    const t = performance.now();
    await sleep(seconds * 1000);
    return figures(relay.pid!, ticks0, t);
  } finally {
    relay.kill('SIGKILL');
    writing.kill('SIGKILL');
    server.close();
  }
}

/**
 * The service's environment for the agent, read from the systemd unit (its `Environment=` lines):
 * NODE_OPTIONS and glibc's MALLOC_* settings, so the bench runs the agent as the service does.
 */
export function unitEnvironment(unit = path.resolve('systemd/speaker-agent.service')): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(unit, 'utf8').split('\n')) {
    const m = /^Environment=(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const pair of m[1]!.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0 && /^(NODE_OPTIONS|MALLOC_[A-Z_]+)$/.test(pair.slice(0, eq))) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The middle value (the lower of the two for an even count): always one of the runs. */
const median = (xs: number[]) => percentile(xs, 50);

export async function runProcessTreeBench(): Promise<object> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 60);
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 1));
  const backend = process.env.BENCH_BACKEND || 'arecord';
  const unit = unitEnvironment();
  const flags = process.env.BENCH_NODE_OPTIONS ?? unit.NODE_OPTIONS ?? '';
  const nodeOptions = flags === 'none' ? [] : flags.split(/\s+/).filter(Boolean);
  const arena = process.env.BENCH_MALLOC_ARENA_MAX ?? unit.MALLOC_ARENA_MAX;
  const env: Record<string, string> = arena && arena !== 'default' ? { MALLOC_ARENA_MAX: arena } : {};
  const withFloor = process.env.BENCH_FLOOR !== '0';
  const cli = path.resolve(process.env.BENCH_CLI || 'dist/src/cli.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'sa-tree-'));
  try {
    // Agent and floor alternate, so a change in the machine's load touches both alike.
    const agents: Awaited<ReturnType<typeof runAgent>>[] = [];
    const floors: RunFigures[] = [];
    const pipeFloors: RunFigures[] = [];
    for (let i = 0; i < runs; i++) {
      const run = mkdtempSync(path.join(dir, `run${i}-`));
      agents.push(await runAgent(run, seconds, cli, { backend, nodeOptions, env }));
      if (withFloor) floors.push(await runRelay(run, seconds, 'stream'));
      if (withFloor) pipeFloors.push(await runRelay(run, seconds, 'pipe'));
    }
    const ratiosTo = (fs: RunFigures[]) => fs.map((f, i) => Math.round((agents[i]!.tree.cpuPercent / Math.max(0.01, f.cpuPercent)) * 100) / 100);
    const ratios = ratiosTo(floors);
    const pipeRatios = ratiosTo(pipeFloors);
    // The run whose CPU is the median represents the agent; every run is listed.
    const agent = agents.find((a) => a.tree.cpuPercent === median(agents.map((x) => x.tree.cpuPercent)))!;
    const floor = floors.find((f) => f.cpuPercent === median(floors.map((x) => x.cpuPercent)));
    const pipeFloor = pipeFloors.find((f) => f.cpuPercent === median(pipeFloors.map((x) => x.cpuPercent)));
    const ratio = ratios.length ? median(ratios) : undefined;
    const pipeRatio = pipeRatios.length ? median(pipeRatios) : undefined;
    const os = await import('node:os');
    const result = {
      secondsStreamed: seconds,
      frameMs: 20,
      backend,
      agentNodeOptions: nodeOptions,
      agentEnvironment: env,
      runs,
      machine: { cores: os.cpus().length, arch: process.arch, node: process.version, loadAverage: os.loadavg() },
      agent: {
        ...agent.tree,
        startToReadyCpuSeconds: agent.startCpuSeconds,
        rssAtReadyMiB: agent.rssAtStartMiB,
        rssIdleBeforeFirstTurnMiB: agent.rssIdleMiB,
        rssGrowthWhileStreamingMiB: Math.round((agent.tree.rssMiB - agent.rssStreamStartMiB) * 10) / 10,
        framesMeasured: agent.frames,
        writeToGatewayDelayMs: agent.delayMs,
      },
      floor: floor ? { what: 'bare Node relay of the same paced bytes, FIFO (fs.createReadStream, thread-pool reads) -> raw TCP', ...floor } : 'skipped (BENCH_FLOOR=0)',
      cpuRatioToFloor: ratio ?? 'no floor',
      pipeFloor: pipeFloor ? { what: 'the same relay reading the FIFO as a pipe on the event loop (no thread pool), as the agent reads arecord', ...pipeFloor } : 'skipped (BENCH_FLOOR=0)',
      cpuRatioToPipeFloor: pipeRatio ?? 'no floor',
      everyRun: agents.map((a, i) => ({
        agentCpuPercent: a.tree.cpuPercent,
        byProcess: Object.fromEntries(a.tree.processes.map((p) => [p.comm, p.cpuPercent])),
        agentRssMiB: a.tree.rssMiB,
        floorCpuPercent: floors[i]?.cpuPercent,
        ratio: ratios[i],
        pipeFloorCpuPercent: pipeFloors[i]?.cpuPercent,
        pipeRatio: pipeRatios[i],
        startCpuSeconds: a.startCpuSeconds,
        delayP95Ms: a.delayMs.p95,
      })),
      targets: { cpuRatioToFloor: 1.3, rssMiB: 60, rssGrowthMiB: 3, delayP95Ms: 2, startCpuSeconds: 0.4 },
    };
    process.stdout.write(
      `${backend}: agent tree ${agent.tree.cpuPercent}% CPU (${agent.tree.processes.map((p) => `${p.comm} ${p.cpuPercent}`).join(', ')}), ${agent.tree.rssMiB} MiB (${agent.tree.processes.map((p) => `${p.comm} ${p.rssMiB} (anon ${p.anonMiB})`).join(', ')}; ` +
        `${agent.rssAtStartMiB} at ready, ${agent.rssIdleMiB} idle, ${result.agent.rssGrowthWhileStreamingMiB >= 0 ? '+' : ''}${result.agent.rssGrowthWhileStreamingMiB} while streaming); ` +
        (floor ? `floor ${floor.cpuPercent}% ${floor.rssMiB} MiB; ratio ${ratio}${runs > 1 ? ` (median of ${runs}: ${ratios.join(', ')})` : ''}; ` : 'no floor; ') +
        (pipeFloor ? `pipe floor ${pipeFloor.cpuPercent}%; ratio ${pipeRatio}${runs > 1 ? ` (${pipeRatios.join(', ')})` : ''}; ` : '') +
        `delay p50 ${agent.delayMs.p50} p95 ${agent.delayMs.p95} ms; start ${agent.startCpuSeconds} s CPU\n`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
