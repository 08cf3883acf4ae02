/**
 * Does `bufferutil` (ws's optional native masking) pay for the agent's uplink? (issue 14 point 2)
 *
 * - Masking alone: bufferutil's native `mask` against its JavaScript fallback (the same loop ws
 *   uses without it), on a 900-byte message: what one 20 ms audio_data frame is on the wire.
 * - The whole send path: a ws client in a child process sends such messages to a loopback
 *   server, as text frames, with and without bufferutil (`WS_NO_BUFFER_UTIL=1`), runs
 *   interleaved; CPU per message from the child's own `process.cpuUsage()`.
 *
 * The agent sends 50 messages a second, so µs per message x 50 / 10,000 = % of one core.
 * `BENCH_MESSAGES` sets the messages per run (default 100,000).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { repoRoot } from './paths.js';

const MESSAGE_BYTES = 900;
type Mask = (source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number) => void;

function maskNsPerCall(mask: Mask, iterations: number): number {
  const source = Buffer.alloc(MESSAGE_BYTES, 0x61);
  const key = Buffer.from([1, 2, 3, 4]);
  const out = Buffer.alloc(MESSAGE_BYTES + 8);
  for (let i = 0; i < 10_000; i++) mask(source, key, out, 8, MESSAGE_BYTES); // warm up
  const t = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) mask(source, key, out, 8, MESSAGE_BYTES);
  return Number(process.hrtime.bigint() - t) / iterations;
}

// The client: sends `count` text messages of MESSAGE_BYTES in batches of 50, each batch after the
// previous one is written; prints its CPU time for the sends and whether bufferutil was in use.
const CLIENT = `
const { createRequire } = require('node:module');
const req = createRequire(process.argv[1]);
const WebSocket = req('ws');
const [, , url, count] = process.argv;
const msg = Buffer.alloc(${MESSAGE_BYTES}, 0x61);
const ws = new WebSocket(url, { perMessageDeflate: false });
ws.on('open', () => {
  let sent = 0;
  const c0 = process.cpuUsage();
  const batch = () => {
    for (let i = 0; i < 49; i++) ws.send(msg, { binary: false });
    ws.send(msg, { binary: false }, () => {
      sent += 50;
      if (sent < Number(count)) return setImmediate(batch);
      const c = process.cpuUsage(c0);
      let native = false;
      try { req('bufferutil'); native = !process.env.WS_NO_BUFFER_UTIL; } catch {}
      process.stdout.write(JSON.stringify({ cpuUs: c.user + c.system, sent, native }));
      ws.close();
    });
  };
  batch();
});
`;

async function clientRun(url: string, count: number, native: boolean): Promise<{ usPerMessage: number; native: boolean }> {
  const pkg = path.join(repoRoot(), 'package.json');
  const env = { ...process.env };
  if (native) delete env.WS_NO_BUFFER_UTIL;
  else env.WS_NO_BUFFER_UTIL = '1';
  const child = spawn(process.execPath, ['-e', CLIENT, pkg, url, String(count)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  const r = JSON.parse(out) as { cpuUs: number; sent: number; native: boolean };
  return { usPerMessage: r.cpuUs / r.sent, native: r.native };
}

export async function runWsMaskBench(): Promise<object> {
  const require = createRequire(path.join(repoRoot(), 'package.json'));
  try {
    require.resolve('bufferutil');
  } catch {
    // Measured once (docs/benchmarks.md): it saves 0.011 % of a core, so it is not a dependency.
    throw new Error('bufferutil is not installed (not a dependency: it did not measurably help); `npm install --no-save bufferutil` to measure again');
  }
  let nativeMask: Mask | undefined;
  let why = '';
  try {
    nativeMask = (require('bufferutil') as { mask: Mask }).mask;
  } catch (err) {
    why = (err as Error).message;
  }
  const fallbackMask = (require('bufferutil/fallback.js') as { mask: Mask }).mask;
  const iterations = 1_000_000;
  const maskJs = maskNsPerCall(fallbackMask, iterations);
  const maskNative = nativeMask ? maskNsPerCall(nativeMask, iterations) : undefined;

  const count = Number(process.env.BENCH_MESSAGES ?? 100_000);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => ws.on('message', () => undefined));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const js: number[] = [];
  const nat: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      js.push((await clientRun(url, count, false)).usPerMessage);
      if (nativeMask) {
        const r = await clientRun(url, count, true);
        if (!r.native) throw new Error('the client did not load bufferutil');
        nat.push(r.usPerMessage);
      }
    }
  } finally {
    wss.close();
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const perCore = (us: number) => r3((us * 50) / 10_000);
  const result = {
    messageBytes: MESSAGE_BYTES,
    bufferutil: nativeMask ? 'loaded' : `not loadable: ${why}`,
    maskNsPerMessage: { javascript: Math.round(maskJs), bufferutil: maskNative === undefined ? null : Math.round(maskNative) },
    sendPathUsPerMessage: { javascript: js.map(r3), bufferutil: nat.map(r3) },
    at50MessagesPerSecond: {
      javascriptPercentOfCore: perCore(median(js)),
      bufferutilPercentOfCore: nat.length ? perCore(median(nat)) : null,
      maskingAlonePercentOfCore: { javascript: r3((maskJs * 50) / 1e7), bufferutil: maskNative === undefined ? null : r3((maskNative * 50) / 1e7) },
    },
    machine: { arch: process.arch, node: process.version, loadAverage: (await import('node:os')).loadavg() },
  };
  process.stdout.write(
    `mask of ${MESSAGE_BYTES} B: js ${Math.round(maskJs)} ns, bufferutil ${maskNative === undefined ? '-' : Math.round(maskNative)} ns; ` +
      `send path: js ${r3(median(js))} us/msg, bufferutil ${nat.length ? r3(median(nat)) : '-'} us/msg\n`,
  );
  return result;
}
