/**
 * What sd_notify through `systemd-notify` costs (see src/system/notify-transport.ts): wall time
 * and CPU (this process plus its children) per message, against a real AF_UNIX datagram socket
 * that answers the barrier as systemd does, compared in the same run with spawning `/bin/true`
 * (the floor for any fork+exec). Also what the watchdog costs per hour at WatchdogSec=30.
 *
 * Run: `npx tsc -p tsconfig.bench.json && node dist-bench/bench/sd-notify-cost.js` (needs python3 and systemd).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { execTransport, type NotifyTransport } from '../src/system/notify-transport.js';

const N = Number(process.env.BENCH_N ?? 100);
const REPO = process.cwd();
const RECEIVER = path.join(REPO, 'test', 'helpers', 'notify-receiver.py');
/** Clock ticks per second for /proc/self/stat (USER_HZ, 100 on Linux for every Pi kernel). */
const USER_HZ = 100;

/** CPU seconds of this process and of its waited-for children so far. */
function cpuSeconds(): { self: number; children: number } {
  const usage = process.cpuUsage();
  // Fields after the command name: cutime and cstime are the 14th and 15th.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const children = (Number(fields[13]) + Number(fields[14])) / USER_HZ;
  return { self: (usage.user + usage.system) / 1e6, children };
}

async function measure(name: string, send: () => Promise<void>) {
  await send(); // warm up
  const c0 = cpuSeconds();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await send();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c1 = cpuSeconds();
  const cpuMs = (c1.self - c0.self + c1.children - c0.children) * 1000;
  return { name, messages: N, wallMsPerMessage: wallMs / N, cpuMsPerMessage: cpuMs / N };
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sd-bench-'));
  const socket = path.join(dir, 'notify.sock');
  const receiver = spawn('python3', [RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  let received = 0;
  await new Promise<void>((resolve) => {
    createInterface({ input: receiver.stdout! }).on('line', (line) => {
      if (line.includes('"bound"')) resolve();
      else if (line.includes('WATCHDOG=1')) received++;
    });
  });
  try {
    const notify: NotifyTransport = execTransport({ env: { ...process.env, NOTIFY_SOCKET: socket } });
    const spawnTrue = () =>
      new Promise<void>((resolve, reject) => spawn('/bin/true').once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`)))));
    const rows = [await measure('spawn /bin/true (floor)', spawnTrue), await measure('systemd-notify WATCHDOG=1', () => notify.send(['WATCHDOG=1']))];
    const [floor, sd] = rows as [(typeof rows)[0], (typeof rows)[0]];
    const pingsPerHour = 3600 / 15; // WatchdogSec=30: one ping every 15 s
    const result = {
      node: process.version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      delivered: received,
      rows,
      ratioCpuToFloor: sd.cpuMsPerMessage / floor.cpuMsPerMessage,
      watchdogCpuSecondsPerHour: (sd.cpuMsPerMessage * pingsPerHour) / 1000,
      watchdogCpuShareOfOneCore: (sd.cpuMsPerMessage * pingsPerHour) / 1000 / 3600,
    };
    mkdirSync(path.join(REPO, 'bench', 'results'), { recursive: true });
    writeFileSync(path.join(REPO, 'bench', 'results', 'sd-notify-cost.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(`${'transport'.padEnd(28)} ${'wall ms/msg'.padStart(12)} ${'cpu ms/msg'.padStart(11)}`);
    for (const r of rows) console.log(`${r.name.padEnd(28)} ${r.wallMsPerMessage.toFixed(2).padStart(12)} ${r.cpuMsPerMessage.toFixed(2).padStart(11)}`);
    console.log(`delivered ${received}/${N + 1} WATCHDOG datagrams; CPU ratio to bare spawn ${result.ratioCpuToFloor.toFixed(2)}`);
    console.log(`watchdog at WatchdogSec=30: ${result.watchdogCpuSecondsPerHour.toFixed(2)} CPU s/hour (${(result.watchdogCpuShareOfOneCore * 100).toFixed(4)} % of one core)`);
  } finally {
    receiver.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
