// Waits for the turn that the spoken wake word opens and prints it (scripts/demo.sh): the
// openWakeWord detection from the agent's log (keyword, score, where in the microphone audio),
// then the turn's timeline from the control socket's events, as `listen --timeline` prints it.
//   node scripts/lib/wake-turn.mjs EVENTS.jsonl AGENT.log TIMEOUT_SECONDS
// Exit code 0 when the turn ended, 1 when no wake-word turn ended within the timeout.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [eventsFile, logFile, timeoutArg] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { TimelinePrinter } = await import(pathToFileURL(path.join(root, 'dist/src/cli/timeline.js')).href);

const jsonLines = (file) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
};

const deadline = Date.now() + Number(timeoutArg || 60) * 1000;
for (;;) {
  const events = jsonLines(eventsFile);
  const start = events.findIndex((e) => e.event === 'timeline' && e.mark === 'trigger' && e.detail?.source === 'wake');
  const ended = start >= 0 && events.slice(start).some((e) => e.event === 'timeline' && e.mark === 'idle');
  const detected = jsonLines(logFile).some((l) => l.event === 'detected');
  if (start < 0 && detected && events.some((e) => e.event === 'timeline' && e.mark === 'idle')) {
    // The turn happened before the subscription was up (a very slow start): no timeline to show.
    const hit = jsonLines(logFile).find((l) => l.event === 'detected');
    console.log(`  wake word "${hit.keyword}" heard by openWakeWord, score ${hit.score} (the turn began before the demo could follow its timeline)`);
    process.exit(0);
  }
  if (ended) {
    const hit = jsonLines(logFile).find((l) => l.event === 'detected');
    if (hit) {
      const at = (hit.sampleIndex / 16000).toFixed(2);
      console.log(`  wake word "${hit.keyword}" heard by openWakeWord, score ${hit.score} (the scoring step, 80 ms or a 40 ms half step, ended ${at} s into the microphone audio)`);
    }
    const printer = new TimelinePrinter((line) => console.log(line));
    for (const e of events.slice(start)) if (printer.feed(e)) break;
    process.exit(0);
  }
  if (Date.now() > deadline) {
    console.error(`  no turn opened by the wake word within ${timeoutArg} s (see ${logFile})`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}
