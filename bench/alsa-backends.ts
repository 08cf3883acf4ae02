/**
 * The ALSA backends side by side (docs/audio.md "Backends"): each candidate runs in its own
 * process (bench/alsa-backend-runner.ts) and its whole process tree is measured from outside,
 * through /proc: CPU (utime+stime of every process in the tree over the steady window, % of one
 * core), resident memory (VmRSS summed over the tree), plus the runner's own timings (first
 * frame after start(), stop()). Capture reads ALSA's file plugin whose input is a FIFO fed in
 * real time (20 ms blocks of 16 kHz mono) by a separate writer process, like a sound card;
 * "floor" is plain Node reading the same FIFO. Playback writes 20 ms blocks in real time.
 * Rounds are interleaved, since the machine is shared.
 *
 *   npm run bench -- alsa          BENCH_ALSA_SECONDS=20 BENCH_ALSA_ROUNDS=2 by default;
 *                                  BENCH_ALSA_ONLY=capture (or playback) runs one half
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pacedFifo } from '../test/support/paced-fifo.js';

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'alsa-backend-runner.js');
const CLK_TCK = 100;

interface ProcSample {
  pid: number;
  comm: string;
  cpuTicks: number;
  rssKb: number;
}

/** Every process whose parent chain leads to `root`, root included. */
function tree(root: number): ProcSample[] {
  const all = new Map<number, { ppid: number; comm: string; ticks: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      all.set(Number(d), { ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, n = 0; p > 1 && n < 64; n++) {
      if (p === root) return true;
      p = all.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const out: ProcSample[] = [];
  for (const [pid, v] of all) {
    if (!inTree(pid)) continue;
    let rssKb = 0;
    try {
      rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
    out.push({ pid, comm: v.comm, cpuTicks: v.ticks, rssKb });
  }
  return out;
}

interface RunResult {
  cpuPercent: number;
  rssMb: number;
  processes: string[];
  figures: Record<string, unknown>;
}

async function runOne(home: string, fifo: string, mode: string, backend: string, seconds: number): Promise<RunResult> {
  const child = spawn(process.execPath, ['--max-semi-space-size=1', RUNNER, mode, backend, String(seconds), fifo], {
    env: { ...process.env, HOME: home },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buf = '';
  let steadyAt = 0;
  let before: ProcSample[] = [];
  let after: ProcSample[] = [];
  let afterAt = 0;
  let done: Record<string, unknown> | undefined;
  let sampleTimer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${mode} ${backend}: no result within ${seconds + 60} s`));
    }, (seconds + 60) * 1000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, i)) as { phase: string } & Record<string, unknown>;
        buf = buf.slice(i + 1);
        if (msg.phase === 'steady') {
          steadyAt = performance.now();
          before = tree(child.pid!);
          // Sample again just before the window ends (the runner then stops its stream).
          sampleTimer = setTimeout(() => {
            after = tree(child.pid!);
            afterAt = performance.now();
          }, seconds * 1000 - 200);
        } else if (msg.phase === 'done') done = msg;
        else if (msg.phase === 'error') reject(new Error(`${mode} ${backend}: ${String(msg.message)}`));
      }
    });
    child.on('exit', () => {
      clearTimeout(limit);
      if (sampleTimer) clearTimeout(sampleTimer);
      if (done && afterAt) resolve();
      else reject(new Error(`${mode} ${backend}: the runner ended without a result`));
    });
  });
  // Processes present at both samples (a helper that started later counts from zero).
  let ticks = 0;
  for (const a of after) ticks += a.cpuTicks - (before.find((b) => b.pid === a.pid)?.cpuTicks ?? 0);
  const wall = (afterAt - steadyAt) / 1000;
  return {
    cpuPercent: Math.round((ticks / CLK_TCK / wall) * 100 * 100) / 100,
    rssMb: Math.round((after.reduce((t, p) => t + p.rssKb, 0) / 1024) * 10) / 10,
    processes: after.map((p) => `${p.comm} ${Math.round(p.rssKb / 1024)} MB`),
    figures: done!,
  };
}

/** The middle value (the mean of the middle two for an even count), 2 decimals. */
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return Math.round(m * 100) / 100;
};

export async function runAlsaBackendsBench(): Promise<object> {
  const seconds = Number(process.env.BENCH_ALSA_SECONDS ?? 20);
  const rounds = Number(process.env.BENCH_ALSA_ROUNDS ?? 2);
  const dir = mkdtempSync(join(tmpdir(), 'sa-bench-alsa-'));
  const fifo = join(dir, 'mic.fifo');
  writeFileSync(
    join(dir, '.asoundrc'),
    [
      'pcm.!default { type file; slave.pcm "null"; file "/dev/null"; format "raw" }',
      `pcm.bench-in { type file; slave.pcm "null"; file "/dev/null"; infile "${fifo}"; format "raw" }`,
      'pcm.bench-out { type file; slave.pcm "null"; file "/dev/null"; format "raw" }',
    ].join('\n') + '\n',
  );
  const candidates: [string, string][] = [
    ['capture', 'floor'],
    ['capture', 'arecord'],
    ['capture', 'koffi'],
    ['capture', 'naudiodon'],
    ['playback', 'floor'],
    ['playback', 'arecord'],
    ['playback', 'koffi'],
    ['playback', 'naudiodon'],
  ];
  const only = process.env.BENCH_ALSA_ONLY;
  const results: Record<string, RunResult[]> = {};
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [mode, backend] of candidates.filter(([m]) => !only || m === only)) {
        const feed = await pacedFifo(fifo, 640, { silence: true });
        try {
          const key = `${mode} ${backend}`;
          (results[key] ??= []).push(await runOne(dir, fifo, mode, backend, seconds));
          process.stdout.write(`  ${key}: ${JSON.stringify(results[key]!.at(-1))}\n`);
        } finally {
          await feed.close();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const out: Record<string, object> = {};
  for (const [key, runs] of Object.entries(results)) {
    const fig = (name: string) => median(runs.map((x) => Number(x.figures[name])).filter((v) => Number.isFinite(v)));
    out[key] = {
      cpuPercentOfCore: median(runs.map((x) => x.cpuPercent)),
      cpuRuns: runs.map((x) => x.cpuPercent),
      rssMbTree: median(runs.map((x) => x.rssMb)),
      processes: runs.at(-1)!.processes,
      ...(key.startsWith('capture') ? { firstFrameMs: fig('firstFrameMs'), stopMs: fig('stopMs') } : { firstBlockMs: fig('firstBlockMs'), playOutMs: fig('playOutMs'), stopMs: fig('stopMs') }),
    };
  }
  return { seconds, rounds, node: process.versions.node, arch: process.arch, results: out };
}
