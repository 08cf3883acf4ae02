/**
 * `npm run bench`: runs the benchmarks, writes JSON to bench/results/ and prints a table.
 * `npm run bench -- core` runs only the named ones.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAlsaBackendsBench } from './alsa-backends.js';
import { runAudioBench } from './audio.js';
import { runBackendBench } from './backends.js';
import { runCoreBench } from './core.js';
import { runRecognitionBench } from './recognition.js';
import { main as runGpioBench } from './gpio-leds.js';
import { resultsDir } from './paths.js';
import { runProcessTreeBench } from './process-tree.js';
import { runStartupBench } from './startup.js';
import { runTurnsBench } from './turns.js';
import { runWakeBench } from './wake-bench.js';
import { runWsMaskBench } from './ws-mask.js';
import { runOwwBench } from './wake-oww.js';
import { runWakeTreeBench } from './wake-tree.js';

const RESULTS = resultsDir();

/** Each bench returns its figures; the runner writes them to bench/results/<name>.json. */
const BENCHES: Record<string, () => Promise<object>> = {
  core: () => runCoreBench(),
  audio: () => runAudioBench(),
  alsa: () => runAlsaBackendsBench(),
  backends: () => runBackendBench(),
  wake: () => runWakeBench(RESULTS),
  // The real CLI as a process, its whole tree from /proc, paced audio, a bare relay as the floor.
  tree: () => runProcessTreeBench(),
  // `run` started again and again: CPU to ready and idle RSS, for one build or several (BENCH_CLIS).
  startup: () => runStartupBench(),
  // The real CLI's tree over many turns (memory; about 6 minutes for 1,000).
  turns: () => runTurnsBench(),
  // bufferutil (ws's native masking) against ws's JavaScript masking, on the uplink's message size.
  'ws-mask': () => runWsMaskBench(),
  // openWakeWord and echo cancellation on generated speech (several minutes).
  oww: () => runOwwBench(),
  // The wake word's CPU in the real CLI listening to paced speech, its process tree against --wake none and a relay.
  'wake-tree': () => runWakeTreeBench(),
  recognition: () => runRecognitionBench(),
  // Writes bench/results/gpio-leds.json itself and prints its own table.
  gpio: async () => {
    await runGpioBench();
    return { written: 'bench/results/gpio-leds.json' };
  },
};

/** Run only when named: ws-mask needs bufferutil, which is not a dependency. */
const ON_REQUEST = new Set(['ws-mask']);

function flatten(obj: unknown, prefix = ''): [string, unknown][] {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return [[prefix, obj]];
  return Object.entries(obj as Record<string, unknown>).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  if (wanted.includes('--help') || wanted.includes('-h')) {
    process.stdout.write(`usage: npm run bench [-- NAME...]\nruns the named benchmarks (default: all but ${[...ON_REQUEST].join(', ')}): ${Object.keys(BENCHES).join(', ')}\nresults go to ${RESULTS}\n`);
    return;
  }
  const names = wanted.length ? wanted : Object.keys(BENCHES).filter((n) => !ON_REQUEST.has(n));
  mkdirSync(RESULTS, { recursive: true });
  for (const name of names) {
    const bench = BENCHES[name];
    if (!bench) {
      process.stderr.write(`unknown bench "${name}" (have: ${Object.keys(BENCHES).join(', ')})\n`);
      process.exitCode = 2;
      continue;
    }
    process.stdout.write(`\n## ${name}\n`);
    let figures: object;
    try {
      figures = await bench();
    } catch (err) {
      // One failing bench is reported and the others still run.
      process.stderr.write(`bench ${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
      continue;
    }
    const result = { bench: name, date: new Date().toISOString(), ...figures };
    writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
    for (const [k, v] of flatten(result)) process.stdout.write(`${k.padEnd(58)} ${String(v)}\n`);
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
