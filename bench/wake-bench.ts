/**
 * Wake word and listening front-end benches, for the bench runner (`runWakeBench`) or alone:
 * `npx tsc -p tsconfig.bench.json && node dist-bench/bench/wake-bench.js`. Writes bench/results/wake-frontend.json,
 * wake-latency.json and eos-eval.json, and prints short tables.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeSet, formatRows, runEosEval } from './eos-eval.js';
import { runFrontendBench } from './wake-frontend.js';
import { runWakeLatencyBench, type LatencyResult } from './wake-latency.js';

/** Runs both benches (about 10 s here); returns their results and writes them as JSON. */
export async function runWakeBench(resultsDir = path.resolve('bench/results')): Promise<object> {
  const frontend = await runFrontendBench();
  const latency = await runWakeLatencyBench();
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(path.join(resultsDir, 'wake-frontend.json'), JSON.stringify(frontend, null, 2) + '\n');
  writeFileSync(path.join(resultsDir, 'wake-latency.json'), JSON.stringify(latency, null, 2) + '\n');
  let eos: object;
  try {
    eos = await runEosEval(resultsDir);
  } catch (err) {
    // The evaluation needs espeak-ng and sox; the CPU bench does not.
    eos = { skipped: `end-of-speech evaluation needs espeak-ng and sox: ${(err as Error).message.split('\n')[0]}` };
  }
  return { frontend, latency, eos };
}

function printLatency(r: LatencyResult): string {
  return (
    `detection -> audio_start sent (real agent, ws on loopback, ${r.trials} turns): median ${r.wallMs.median} ms, p95 ${r.wallMs.p95} ms, max ${r.wallMs.max} ms; ` +
    `keyword end -> detection <= ${r.maxAudioLatencySamples} samples (engine frame ${r.engineFrameSamples})`
  );
}

function printFrontend(r: Awaited<ReturnType<typeof runFrontendBench>>): string {
  const c = r.cpuPercent;
  return [
    `front end, % of one core per second of audio (${r.audioSeconds} s, target <= ${r.targetPercent} %)`,
    `  pre-roll ring only             ${c.ringOnly.toFixed(3)}`,
    `  + wake re-chunking (no engine) ${c.ringFramer.toFixed(3)}`,
    `  + BandVad                      ${c.ringFramerBandVad.toFixed(3)}`,
    `  + EnergyVad (instead)          ${c.ringFramerEnergyVad.toFixed(3)}`,
    `detection: keyword end -> detected sampleIndex <= ${r.detection.maxLatencySamples} samples (${r.detection.maxLatencyMs} ms; engine frame ${r.detection.engineFrameSamples}); feed() -> event ${r.detection.feedToEventMicros} us`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = (await runWakeBench()) as {
    frontend: Awaited<ReturnType<typeof runFrontendBench>>;
    latency: LatencyResult;
    eos: Awaited<ReturnType<typeof runEosEval>> | { skipped: string };
  };
  process.stdout.write(printFrontend(out.frontend) + '\n' + printLatency(out.latency) + '\n\n');
  if ('rows' in out.eos) process.stdout.write(`end of speech, delay after the true end (ms): ${describeSet(out.eos)}\n${formatRows(out.eos.rows)}\n`);
  else process.stdout.write(out.eos.skipped + '\n');
}
