/**
 * Start-up cost of `run`, the way the daemon starts: the real CLI as a process, a `wav:` mic and
 * speaker, a loopback gateway. For each start: utime+stime of the process when it connects to
 * the gateway (start to ready), and its RSS (VmRSS, RssAnon) idle 1.5 s later, before any turn.
 *
 * `BENCH_CLIS`: builds to compare, `label=path/to/cli.js,...` (default: this build), started in
 * turn, `BENCH_STARTS` times each (default 8), so load from elsewhere falls on all alike.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { wavHeader } from '../src/audio/wav.js';

function ticksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function memOf(pid: number): { rssMiB: number; anonMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, anonMiB: kib('RssAnon') / 1024 };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const r2 = (x: number) => Math.round(x * 100) / 100;

export async function runStartupBench(): Promise<object> {
  const clis = (process.env.BENCH_CLIS || `this=${path.resolve('dist/src/cli.js')}`).split(',').map((e) => {
    const i = e.indexOf('=');
    return { label: e.slice(0, i), cli: path.resolve(e.slice(i + 1)) };
  });
  const starts = Number(process.env.BENCH_STARTS ?? 8);
  const dir = mkdtempSync(path.join(tmpdir(), 'sa-startup-'));
  const mic = path.join(dir, 'mic.wav');
  writeFileSync(mic, Buffer.concat([wavHeader({ sampleRate: 16000, channels: 1 }, 32000), Buffer.alloc(32000)]));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  const hz = 100; // CLK_TCK on Linux
  const runs = new Map<string, { cpu: number[]; rss: number[]; anon: number[] }>(clis.map((c) => [c.label, { cpu: [], rss: [], anon: [] }]));
  try {
    for (let i = 0; i < starts; i++) {
      for (const { label, cli } of clis) {
        const connected = new Promise<void>((r) => wss.once('connection', () => r()));
        const child = spawn(
          process.execPath,
          ['--max-semi-space-size=1', cli, 'run', '--mic', `wav:${mic}`, '--speaker', `wav:${path.join(dir, 'out.wav')}`, '--gateway', `ws://127.0.0.1:${port}`, '--wake', 'none', '--gpio', 'none', '--control', path.join(dir, 'c.sock'), '--log-level', 'warn'],
          { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } },
        );
        try {
          await connected;
          const r = runs.get(label)!;
          r.cpu.push(ticksOf(child.pid!) / hz);
          await new Promise((res) => setTimeout(res, 1500));
          const m = memOf(child.pid!);
          r.rss.push(m.rssMiB);
          r.anon.push(m.anonMiB);
        } finally {
          child.kill('SIGTERM');
          await new Promise((res) => child.once('exit', res));
        }
      }
    }
  } finally {
    wss.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const result: Record<string, unknown> = { starts, loadAverage: (await import('node:os')).loadavg() };
  for (const [label, r] of runs) {
    result[label] = { startToReadyCpuSecondsMedian: r2(median(r.cpu)), idleRssMiBMedian: r2(median(r.rss)), idleAnonMiBMedian: r2(median(r.anon)), cpu: r.cpu.map(r2), rss: r.rss.map(r2) };
    process.stdout.write(`${label}: start ${r2(median(r.cpu))} s CPU, idle RSS ${r2(median(r.rss))} MiB (private ${r2(median(r.anon))}) [median of ${r.cpu.length}]\n`);
  }
  return result;
}
