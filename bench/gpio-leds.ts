/**
 * Cost of the LED and button machinery on the CPU, the thing that matters on a Pi Zero:
 * 1. render + APA102 encode of one animated frame, 3 and 12 LEDs (µs per frame, and the share of
 *    one core at the default 30 fps);
 * 2. CPU time of sampling the button every 10 ms (this driver) against a 1 ms interval timer
 *    (what rpio.poll runs), over the same wall time, in one run: the ratio is what counts.
 * Writes bench/results/gpio-leds.json and prints a short table. Takes about 3 seconds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeApa102 } from '../src/drivers/gpio/apa102.js';
import { DEFAULT_PATTERNS, renderFrame } from '../src/leds/patterns.js';
import { resultsDir } from './paths.js';

function frameCost(count: number, frames: number): number {
  const buf = Buffer.alloc(0);
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < frames; i++) {
    const t = i * 33;
    const frame = renderFrame(DEFAULT_PATTERNS.thinking, t, undefined, count);
    sink += encodeApa102(frame, 10, buf.length ? buf : undefined)[5]!;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink < 0) console.log(sink); // keep the work observable
  return ns / frames / 1000;
}

async function timerCpu(periodMs: number, wallMs: number): Promise<{ cpuMs: number; wakeups: number }> {
  let wakeups = 0;
  let x = 0;
  const before = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const end = performance.now() + wallMs;
    const tick = () => {
      wakeups++;
      x ^= wakeups; // stands in for one register read
      if (performance.now() >= end) resolve();
      else setTimeout(tick, periodMs);
    };
    setTimeout(tick, periodMs);
  });
  const used = process.cpuUsage(before);
  if (x === -1) console.log(x);
  return { cpuMs: (used.user + used.system) / 1000, wakeups };
}

export async function main(): Promise<void> {
  frameCost(12, 2000); // warm up
  const us3 = frameCost(3, 20_000);
  const us12 = frameCost(12, 20_000);
  const idle = await timerCpu(1000, 1000); // baseline: an almost idle second
  const fast = await timerCpu(1, 1000);
  const slow = await timerCpu(10, 1000);
  const result = {
    frameUs: { leds3: round(us3), leds12: round(us12) },
    coreShareAt30fpsPercent: { leds3: share(us3), leds12: share(us12) },
    buttonSampling: {
      every1ms: { cpuMsPerSecond: round(fast.cpuMs - idle.cpuMs), wakeups: fast.wakeups },
      every10ms: { cpuMsPerSecond: round(slow.cpuMs - idle.cpuMs), wakeups: slow.wakeups },
      ratio: round((fast.cpuMs - idle.cpuMs) / Math.max(0.001, slow.cpuMs - idle.cpuMs)),
    },
    node: process.version,
    arch: process.arch,
  };
  // Results go next to the sources (bench/results), whether run from bench/ or dist-bench/bench/.
  const out = resultsDir();
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'gpio-leds.json'), JSON.stringify(result, null, 2) + '\n');
  console.log('what                                  value');
  console.log(`frame render+encode, 3 LEDs           ${result.frameUs.leds3} µs (${result.coreShareAt30fpsPercent.leds3} % of a core at 30 fps)`);
  console.log(`frame render+encode, 12 LEDs          ${result.frameUs.leds12} µs (${result.coreShareAt30fpsPercent.leds12} % of a core at 30 fps)`);
  console.log(`button sampling every 1 ms            ${result.buttonSampling.every1ms.cpuMsPerSecond} ms CPU/s, ${fast.wakeups} wake-ups`);
  console.log(`button sampling every 10 ms           ${result.buttonSampling.every10ms.cpuMsPerSecond} ms CPU/s, ${slow.wakeups} wake-ups`);
  console.log(`1 ms / 10 ms CPU ratio                ${result.buttonSampling.ratio}x`);
}

/** Percent of one core spent on frames at 30 fps, to 4 decimals (it is tiny). */
function share(usPerFrame: number): number {
  return Math.round(((usPerFrame * 30) / 1e4) * 1e4) / 1e4;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
