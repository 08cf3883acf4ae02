/**
 * The wake word's CPU as a user's `top` sees it (issue 15): the real CLI listening (no turn),
 * its whole process tree from /proc, with the false-accept bench's speech (ordinary sentences,
 * "jarvis" alone and words that sound like it, in room noise; no keyword) paced in real time
 * through ALSA's file plugin, as process-tree.ts paces its sawtooth.
 *
 * Three processes per run, alternating so a change in the machine's load touches all alike, in
 * an order rotated by one place each run (`orders` in the results):
 * - the agent with `--wake openwakeword` (hey_jarvis, the default settings);
 * - the agent with `--wake none` (capture, VAD, the session: everything but the wake word);
 * - the floor: a bare Node relay of the same paced bytes (FIFO read as a pipe -> raw TCP).
 * The wake word's cost is the difference between the first two; each is also a ratio to the floor.
 *
 * Then the same while a reply plays: the gateway sends one long unsolicited PCM reply, the
 * speaker's ALSA device writes into a FIFO that a paced reader empties in real time (so playback
 * takes real time), and the agent runs with `--wake openwakeword` or `none`, and
 * `audio.echoCancel` `speex` or `off`. The wake word and the echo canceller while playing are
 * the differences to `none` + `off`: what the target "wake + cancellation <= 3 %" is about.
 *
 * Environment: `BENCH_SECONDS` measured per process (default 120; the speech is cut from the
 * start of the false-accept corpus, all speech, the worst case for the second looks);
 * `BENCH_RUNS` runs (default 3; medians reported); `BENCH_COMPARE_CLI` another build's
 * `dist/src/cli.js`, run with `--wake openwakeword` too in each run, listening and (with the
 * canceller) while a reply plays (before/after a change);
 * `BENCH_PLAYING_ONLY=1` measures only while a reply plays (with BENCH_COMPARE_CLI, that build
 * with wake word + canceller too; with `BENCH_ECHO_BATCH_MS` or `BENCH_ECHO_BAND`, this build
 * with that `audio.echoBatchMs` or `audio.echoBand` too), for a quick before/after of the
 * target's figure;
 * `BENCH_WARMUP_S` seconds each agent runs before its window (default 2);
 * `BENCH_PERF_DIR` records each agent's own process with `perf record -e cpu-clock -g` over the
 * window into that folder (`perf report -i F --sort dso` tells where its time goes).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { figures, runRelay, sleep, spawnAgent, ticksByPid, unitEnvironment, until, writeAsoundrc } from './process-tree.js';
import { percentile } from './stats.js';
import { negativeBlocks } from './wake-oww.js';

const RATE = 16000;
const FRAME = 320;

/** Writes `file` (raw PCM16) into `fifo` in 20 ms writes, paced, looping; reopens when its reader goes (device probing). */
const FILE_WRITER = `
const fs = require('fs');
const [fifo, file] = process.argv.slice(1);
const pcm = fs.readFileSync(file);
const FRAME = ${FRAME * 2}, RATE = ${RATE};
let fd = fs.openSync(fifo, 'w');
let i = 0;
let t0 = performance.now();
function tick() {
  const o = (i * FRAME) % (pcm.length - pcm.length % FRAME);
  try {
    fs.writeSync(fd, pcm.subarray(o, o + FRAME));
  } catch (e) {
    if (e.code !== 'EPIPE') throw e;
    fs.closeSync(fd);
    fd = fs.openSync(fifo, 'w');
    t0 = performance.now() - i * ${FRAME} * 1000 / RATE;
    setImmediate(tick);
    return;
  }
  i++;
  setTimeout(tick, Math.max(0, t0 + i * ${FRAME} * 1000 / RATE - performance.now()));
}
tick();
`;

/** Reads a FIFO in real time (640 bytes every 20 ms) and discards it: a speaker that takes real time. */
const PACED_READER = `
const fs = require('fs');
const fd = fs.openSync(process.argv[1], fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
const buf = Buffer.alloc(${FRAME * 2});
const t0 = performance.now();
let i = 0;
function tick() {
  try { fs.readSync(fd, buf, 0, buf.length, null); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
  i++;
  setTimeout(tick, Math.max(0, t0 + i * 20 - performance.now()));
}
tick();
`;


function startWriter(fifo: string, file: string): ChildProcess {
  return spawn(process.execPath, ['-e', FILE_WRITER, fifo, file], { stdio: 'ignore' });
}

/**
 * Seconds each agent runs (listening, or with the reply playing) before its window starts:
 * `BENCH_WARMUP_S`, default 2. Longer shows the agent as it runs for hours, once V8 has compiled
 * its per-frame code (docs/benchmarks.md).
 */
function warmupSeconds(): number {
  const s = Number(process.env.BENCH_WARMUP_S ?? 2);
  if (!Number.isFinite(s) || s < 0) throw new Error(`BENCH_WARMUP_S must be a number of seconds >= 0, got ${process.env.BENCH_WARMUP_S}`);
  return s;
}

/** The first `seconds` of the false-accept corpus (speech only), as raw PCM16. */
function speechFile(dir: string, seconds: number): { file: string; utterances: number } {
  const parts: Int16Array[] = [];
  let n = 0;
  let utterances = 0;
  for (const b of negativeBlocks()) {
    if (b.speechSamples === 0) continue;
    parts.push(b.pcm);
    n += b.pcm.length;
    utterances++;
    if (n >= seconds * RATE) break;
  }
  const all = new Int16Array(n);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const file = path.join(dir, 'speech.raw');
  writeFileSync(file, all);
  return { file, utterances };
}

function request(sock: string, cmd: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const c = connect(sock, () => c.write(`${JSON.stringify(cmd)}\n`));
    c.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      c.end();
      resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
    });
    c.once('error', reject);
  });
}

interface Measured {
  cpuPercent: number;
  byProcess: Record<string, number>;
  rssMiB: number;
}

interface Variant {
  wake: 'openwakeword' | 'none';
  /** audio.echoCancel. */
  echoCancel?: 'speex' | 'off';
  /** A long reply plays while measuring. */
  play?: boolean;
  cli?: string;
  /** audio.echoBatchMs (unset: the default). */
  echoBatchMs?: number;
  /** audio.echoBand (unset: the default). */
  echoBand?: 'low' | 'full';
}

/** A 16 kHz reply: a voice-like buzz whose level and pitch wander (what plays does not change the canceller's work). */
function replyPcm(seconds: number): Buffer {
  const n = seconds * RATE;
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const f = 120 + 40 * Math.sin(i / 9000);
    const v = 5000 * Math.sin((2 * Math.PI * f * i) / RATE) * (0.6 + 0.4 * Math.sin(i / 2300)) + 800 * Math.sin((2 * Math.PI * 3 * f * i) / RATE);
    out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v))), i * 2);
  }
  return out;
}

async function runListening(dir: string, audio: string, seconds: number, warmup: number, v: Variant, nodeOptions: string[], env: Record<string, string>): Promise<Measured & { turns: number; wakeStatus: unknown }> {
  const wake = v.wake;
  const cli = v.cli ?? path.resolve('dist/src/cli.js');
  const tag = `${wake}-${v.echoCancel ?? 'off'}-${v.play ? 'play' : 'idle'}${v.echoBatchMs ? `-batch${v.echoBatchMs}` : ''}${v.echoBand ? `-band${v.echoBand}` : ''}`;
  const fifo = path.join(dir, `mic-${tag}.fifo`);
  execFileSync('mkfifo', [fifo]);
  const played = path.join(dir, `played-${tag}.fifo`);
  let speaker: ChildProcess | undefined;
  if (v.play) {
    execFileSync('mkfifo', [played]);
    speaker = spawn(process.execPath, ['-e', PACED_READER, played], { stdio: 'ignore' });
  }
  writeAsoundrc(dir, fifo, v.play ? played : path.join(dir, 'played.raw'));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as AddressInfo).port;
  let client: WebSocket | undefined;
  let turns = 0;
  wss.on('connection', (ws) => {
    client = ws;
    ws.on('message', (data: Buffer, binary) => {
      if (!binary && (JSON.parse(data.toString('utf8')) as { action: string }).action === 'audio_start') turns++;
    });
  });
  const config = path.join(dir, `agent-${tag}.json`);
  writeFileSync(config, JSON.stringify({ audio: { alsaBackend: 'arecord', echoCancel: v.echoCancel ?? 'off', ...(v.echoBatchMs && { echoBatchMs: v.echoBatchMs }), ...(v.echoBand && { echoBand: v.echoBand }), earcons: { wake: 'off', done: 'off', error: 'off', disconnected: 'off' } } }));
  const sock = path.join(dir, `control-${tag}.sock`);
  const writer = startWriter(fifo, audio);
  const agent = spawnAgent({ cli, config, port, sock, dir, nodeOptions, env: { MALLOC_ARENA_MAX: undefined, ...env }, wake });
  try {
    await until(() => client !== undefined && existsSync(sock), 'the agent to connect');
    let wakeStatus: unknown;
    await until(() => {
      void request(sock, { cmd: 'status' }).then((r) => (wakeStatus = (r.status as Record<string, unknown> | undefined)?.wake));
      return wake === 'none' || (wakeStatus as { available?: boolean } | undefined)?.available === true;
    }, 'the wake word to load');
    if (v.play) {
      // One unsolicited reply, longer than the measurement, sent at once in 1 s messages.
      const id = 'bench-reply';
      client!.send(JSON.stringify({ id, action: 'audio_start', content_type: 'audio/l16;rate=16000;channels=1' }));
      const pcm = replyPcm(seconds + 30 + warmup);
      for (let o = 0; o < pcm.length; o += RATE * 2) client!.send(JSON.stringify({ id, action: 'audio_data', data: pcm.subarray(o, o + RATE * 2).toString('base64'), encoding: 'base64' }));
      client!.send(JSON.stringify({ id, action: 'audio_end' }));
      await sleep(3000);
      const state = (await request(sock, { cmd: 'status' })).status as { phase?: string } | undefined;
      if (state?.phase !== 'speaking') throw new Error(`the reply is not playing (phase ${state?.phase ?? 'unknown'})`);
    }
    await sleep(warmup * 1000);
    const ticks0 = ticksByPid(agent.child.pid!);
    const t = performance.now();
    // BENCH_PERF_DIR: the agent's own process sampled by perf over the window (where the time goes).
    const perfDir = process.env.BENCH_PERF_DIR;
    if (perfDir) {
      try {
        execFileSync('perf', ['--version'], { stdio: 'ignore' });
      } catch {
        throw new Error('BENCH_PERF_DIR is set but perf does not run here: apt-get install linux-perf (or unset BENCH_PERF_DIR)');
      }
    }
    const perf = perfDir
      ? spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '1000', '-g', '-p', String(agent.child.pid), '-o', path.join(perfDir, `${tag}${v.cli ? '-compared' : ''}-${Date.now()}.data`), '--', 'sleep', String(seconds)], { stdio: 'ignore' })
      : undefined;
    await sleep(seconds * 1000);
    if (perf && perf.exitCode === null && perf.signalCode === null) await new Promise((r) => (perf.once('exit', r), perf.once('error', r)));
    const f = figures(agent.child.pid!, ticks0, t);
    if (v.play) {
      const state = (await request(sock, { cmd: 'status' })).status as { phase?: string } | undefined;
      if (state?.phase !== 'speaking') throw new Error(`the reply ended before the measurement did (phase ${state?.phase ?? 'unknown'})`);
    }
    return { cpuPercent: f.cpuPercent, byProcess: Object.fromEntries(f.processes.map((p) => [p.comm, p.cpuPercent])), rssMiB: f.rssMiB, turns, wakeStatus };
  } catch (err) {
    throw agent.explain(err);
  } finally {
    writer.kill('SIGKILL');
    speaker?.kill('SIGKILL');
    await agent.stop();
    wss.close();
  }
}

/** The floor: process-tree.ts's relay (the FIFO read as a pipe) of the same paced speech. */
async function runFloor(dir: string, audio: string, seconds: number): Promise<Measured> {
  const f = await runRelay(dir, seconds, 'pipe', (fifo) => startWriter(fifo, audio));
  return { cpuPercent: f.cpuPercent, byProcess: Object.fromEntries(f.processes.map((p) => [p.comm, p.cpuPercent])), rssMiB: f.rssMiB };
}

const PLAYING_VARIANTS = {
  wakeAndCanceller: { wake: 'openwakeword', echoCancel: 'speex' },
  neither: { wake: 'none', echoCancel: 'off' },
  cancellerOnly: { wake: 'none', echoCancel: 'speex' },
  wakeOnly: { wake: 'openwakeword', echoCancel: 'off' },
} as const satisfies Record<string, Variant>;
type PlayingKey = keyof typeof PLAYING_VARIANTS;
const PLAYING = Object.keys(PLAYING_VARIANTS) as PlayingKey[];

export async function runWakeTreeBench(): Promise<object> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 120);
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
  const playingOnly = process.env.BENCH_PLAYING_ONLY === '1';
  const unit = unitEnvironment();
  // BENCH_AGENT_NODE_FLAGS: more Node flags for the agents (e.g. --perf-basic-prof with BENCH_PERF_DIR).
  const nodeOptions = [...(unit.NODE_OPTIONS ?? '').split(/\s+/), ...(process.env.BENCH_AGENT_NODE_FLAGS ?? '').split(/\s+/)].filter(Boolean);
  const env: Record<string, string> = unit.MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: unit.MALLOC_ARENA_MAX } : {};
  const dir = mkdtempSync(path.join(tmpdir(), 'sa-wake-tree-'));
  try {
    const warmup = warmupSeconds();
    const audio = speechFile(dir, seconds + 10 + warmup);
    // One agent measured in `folder` (the run's, or one of its own for another build).
    const listen = (folder: string, v: Variant) => runListening(folder, audio.file, seconds, warmup, v, nodeOptions, env);
    const oww: Awaited<ReturnType<typeof runListening>>[] = [];
    const none: Awaited<ReturnType<typeof runListening>>[] = [];
    const floors: Measured[] = [];
    const compareCli = process.env.BENCH_COMPARE_CLI ? path.resolve(process.env.BENCH_COMPARE_CLI) : undefined;
    const compared: Measured[] = [];
    const playing = Object.fromEntries(PLAYING.map((k) => [k, [] as Measured[]])) as Record<PlayingKey, Measured[]>;
    const comparedPlaying: Measured[] = [];
    // This build's wake word + canceller with another setting, measured in the same runs (playing only).
    const batchMs = process.env.BENCH_ECHO_BATCH_MS ? Number(process.env.BENCH_ECHO_BATCH_MS) : undefined;
    const band = process.env.BENCH_ECHO_BAND as Variant['echoBand'] | undefined;
    if (band !== undefined && band !== 'low' && band !== 'full') throw new Error(`BENCH_ECHO_BAND must be low or full, got ${band}`);
    const alternatives = [
      ...(batchMs ? [{ key: 'batched', label: `echoBatchMs ${batchMs}`, setting: { echoBatchMs: batchMs }, measured: [] as Measured[] }] : []),
      ...(band ? [{ key: 'band', label: `echoBand ${band}`, setting: { echoBand: band }, measured: [] as Measured[] }] : []),
    ];
    const orders: string[][] = [];
    for (let i = 0; i < runs; i++) {
      const run = mkdtempSync(path.join(dir, `run${i}-`));
      // This run's measurements, each pushing its figure; run in a rotated order (below).
      const tasks: [string, () => Promise<void>][] = [];
      const add = (name: string, fn: () => Promise<void>): void => void tasks.push([name, fn]);
      const playingTask = (key: PlayingKey) => add(`${key} playing`, async () => void playing[key].push(await listen(run, { ...PLAYING_VARIANTS[key], play: true })));
      const comparedPlayingTask = () => add('compared playing', async () => void comparedPlaying.push(await listen(mkdtempSync(path.join(run, 'compare-play-')), { ...PLAYING_VARIANTS.wakeAndCanceller, play: true, cli: compareCli })));
      if (playingOnly) {
        for (const key of ['neither', 'wakeAndCanceller'] as const) playingTask(key);
        if (compareCli) comparedPlayingTask();
        for (const a of alternatives) add(`${a.label} playing`, async () => void a.measured.push(await listen(run, { ...PLAYING_VARIANTS.wakeAndCanceller, play: true, ...a.setting })));
      } else {
        add('openwakeword', async () => void oww.push(await listen(run, { wake: 'openwakeword' })));
        if (compareCli) add('compared', async () => void compared.push(await listen(mkdtempSync(path.join(run, 'compare-')), { wake: 'openwakeword', cli: compareCli })));
        add('none', async () => void none.push(await listen(run, { wake: 'none' })));
        add('floor', async () => void floors.push(await runFloor(run, audio.file, seconds)));
        for (const key of PLAYING) playingTask(key);
        if (compareCli) comparedPlayingTask();
      }
      // Run i starts i places into the list: over as many runs as there are measurements, each
      // takes every place once. A fixed order gave the last place an edge (measured: the variant
      // run last in a playing-only run came out about 0.2 points cheaper, whichever it was).
      const order = tasks.map((_, j) => tasks[(j + i) % tasks.length]!);
      orders.push(order.map(([name]) => name));
      for (const [, fn] of order) await fn();
    }
    const med = (xs: number[]) => percentile(xs, 50);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const deltas = oww.map((o, i) => r2(o.cpuPercent - none[i]!.cpuPercent));
    // A variant against this build's wake word + canceller in the same runs: median and mean of the differences.
    const paired = (xs: Measured[]) => {
      const d = xs.map((m, i) => r2(m.cpuPercent - playing.wakeAndCanceller[i]!.cpuPercent));
      return { median: med(d), mean: r2(d.reduce((a, b) => a + b, 0) / d.length), everyRun: d };
    };
    // Measurements while playing over --wake none with no canceller in the same runs: the median difference.
    const overNeither = (xs: Measured[]) => med(xs.map((m, i) => r2(m.cpuPercent - playing.neither[i]!.cpuPercent)));
    const over = (key: PlayingKey) => (playing[key].length === 0 ? undefined : overNeither(playing[key]));
    const whilePlaying = {
      what: 'a long PCM reply playing (the speaker takes real time), the same speech in the microphone; differences to --wake none with echoCancel off in the same run',
      cpuPercent: Object.fromEntries(PLAYING.filter((k) => playing[k].length > 0).map((k) => [k, med(playing[k].map((m) => m.cpuPercent))])),
      wakePlusCancellerCpuPercent: over('wakeAndCanceller'),
      wakeCpuPercent: over('wakeOnly'),
      cancellerCpuPercent: over('cancellerOnly'),
      everyRun: playing.neither.map((_, i) => Object.fromEntries(PLAYING.filter((k) => playing[k].length > 0).map((k) => [k, playing[k][i]!.cpuPercent]))),
      ...(comparedPlaying.length > 0 && {
        compared: { cli: compareCli, wakePlusCancellerCpuPercent: overNeither(comparedPlaying), pairedDifference: paired(comparedPlaying), everyRun: comparedPlaying.map((m) => m.cpuPercent) },
      }),
      ...Object.fromEntries(
        alternatives
          .filter((a) => a.measured.length > 0)
          .map((a) => [a.key, { ...a.setting, wakePlusCancellerCpuPercent: overNeither(a.measured), pairedDifference: paired(a.measured), everyRun: a.measured.map((m) => m.cpuPercent) }]),
      ),
    };
    if (playingOnly) {
      process.stdout.write(`wake-tree (playing only): wake + canceller ${whilePlaying.wakePlusCancellerCpuPercent}%${whilePlaying.compared ? `; ${compareCli}: wake + canceller ${whilePlaying.compared.wakePlusCancellerCpuPercent}% (paired ${whilePlaying.compared.pairedDifference.median})` : ''}${alternatives.map((a) => `; ${a.label}: wake + canceller ${overNeither(a.measured)}% (paired ${paired(a.measured).median})`).join('')} (${JSON.stringify(whilePlaying.everyRun)}${whilePlaying.compared ? ` compared ${JSON.stringify(whilePlaying.compared.everyRun)}` : ''}${alternatives.map((a) => ` ${a.key} ${JSON.stringify(a.measured.map((m) => m.cpuPercent))}`).join('')})\n`);
      return { what: 'while a reply plays only (BENCH_PLAYING_ONLY)', secondsMeasured: seconds, warmupSeconds: warmup, runs, orders, whilePlaying };
    }
    const result = {
      what: 'the real CLI listening (no turn) to paced speech with no keyword, whole process tree from /proc; the wake word = (openwakeword - none)',
      audio: `the first ${seconds + 10 + warmup} s of the false-accept corpus: ${audio.utterances} utterances of ordinary speech, "jarvis" alone and words like it, in room noise (looped)`,
      secondsMeasured: seconds,
      warmupSeconds: warmup,
      runs,
      orders,
      agentNodeOptions: nodeOptions,
      machine: { arch: process.arch, node: process.version },
      openwakeword: { cpuPercent: med(oww.map((o) => o.cpuPercent)), rssMiB: med(oww.map((o) => o.rssMiB)), turnsOpened: oww.reduce((n, o) => n + o.turns, 0), wakeStatus: oww[0]?.wakeStatus },
      none: { cpuPercent: med(none.map((o) => o.cpuPercent)), rssMiB: med(none.map((o) => o.rssMiB)) },
      floor: { what: 'bare Node relay of the same paced bytes (FIFO as a pipe -> raw TCP)', cpuPercent: med(floors.map((f) => f.cpuPercent)) },
      wakeWordCpuPercent: med(deltas),
      ...(compareCli && { compared: { cli: compareCli, cpuPercent: med(compared.map((c) => c.cpuPercent)), wakeWordCpuPercent: med(compared.map((c, i) => r2(c.cpuPercent - none[i]!.cpuPercent))), rssMiB: med(compared.map((c) => c.rssMiB)) } }),
      whilePlaying,
      target: { wakePlusCancellerCpuPercent: '<= 3 % of one core' },
      everyRun: oww.map((o, i) => ({ ...(compareCli && { compared: compared[i]!.cpuPercent }), openwakeword: o.cpuPercent, openwakewordByProcess: o.byProcess, none: none[i]!.cpuPercent, noneByProcess: none[i]!.byProcess, floor: floors[i]!.cpuPercent, wakeWord: deltas[i] })),
    };
    process.stdout.write(`wake-tree: openwakeword ${result.openwakeword.cpuPercent}% / none ${result.none.cpuPercent}% / floor ${result.floor.cpuPercent}% CPU; wake word ${result.wakeWordCpuPercent}% (runs: ${deltas.join(', ')})${result.compared ? `; ${result.compared.cli}: ${result.compared.cpuPercent}%, wake word ${result.compared.wakeWordCpuPercent}%` : ''}; turns opened ${result.openwakeword.turnsOpened}; while a reply plays: wake + canceller ${whilePlaying.wakePlusCancellerCpuPercent}%, wake ${whilePlaying.wakeCpuPercent}%, canceller ${whilePlaying.cancellerCpuPercent}% (${JSON.stringify(whilePlaying.everyRun)})\n`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
