/**
 * One candidate of bench/alsa-backends.ts, in its own Node process so that its process tree
 * can be measured from outside: `node dist/bench/alsa-backend-runner.js MODE BACKEND SECONDS`
 * with HOME pointing at the bench's ALSA configuration. Reports JSON on stdout:
 *
 *   capture BACKEND: the `alsa:bench-in` mic for SECONDS (first frame after start(), stop()
 *     time, frames) through the product's AlsaMic.
 *   capture floor: the same FIFO read by plain Node (fs stream): the cost of moving the bytes.
 *   playback BACKEND: a 20 ms chunk every 20 ms, paced, for SECONDS to `alsa:bench-out`
 *     through AlsaSpeaker (first block accepted; play-out: from the driver's close without flush,
 *     when its playhead says everything was handed over, to the backend's report that the device
 *     played it, which on the null PCM is the backend's own overhead; stop() time).
 *   playback floor: the same pacing loop with no speaker.
 *
 * It prints `{"phase":"steady"}` when the steady part starts, so the parent knows when to
 * sample CPU, and `{"phase":"done", ...figures}` at the end.
 */
import { createReadStream } from 'node:fs';
import { CORE_FORMAT } from '../src/audio/format.js';
import { type AlsaBackendName, captureBackend, playbackBackend } from '../src/drivers/alsa/backends.js';
import { AlsaMic } from '../src/drivers/alsa/mic.js';
import type { PlaybackBackend } from '../src/drivers/alsa/playback.js';
import { AlsaSpeaker } from '../src/drivers/alsa/speaker.js';
import { silentLogger } from '../src/log/logger.js';

const [mode, backend, secondsArg, fifo] = process.argv.slice(2);
const seconds = Number(secondsArg);
const WARMUP_MS = 2000;
const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function captureFloor(): Promise<void> {
  let bytes = 0;
  const t0 = performance.now();
  let first = 0;
  const s = createReadStream(fifo!, { highWaterMark: 640 });
  s.on('data', (b) => {
    if (!first) first = performance.now() - t0;
    bytes += b.length;
  });
  await sleep(WARMUP_MS);
  say({ phase: 'steady' });
  await sleep(seconds * 1000);
  s.destroy();
  say({ phase: 'done', firstFrameMs: first, bytes });
}

async function capture(name: AlsaBackendName): Promise<void> {
  const mic = new AlsaMic({ device: 'bench-in', log: silentLogger(), backend: captureBackend(name), stallMs: 10_000 });
  let frames = 0;
  let first = 0;
  const t0 = performance.now();
  mic.on('frame', () => {
    if (!first) first = performance.now() - t0;
    frames++;
  });
  mic.on('error', (e) => say({ phase: 'error', message: e.message }));
  await mic.start();
  const helperPid = mic.helperPid;
  await sleep(WARMUP_MS);
  say({ phase: 'steady', helperPid });
  await sleep(seconds * 1000);
  const t = performance.now();
  await mic.stop();
  say({ phase: 'done', firstFrameMs: first, stopMs: performance.now() - t, frames, helperPid });
}

/** Times each stream's close without flush (the play-out the driver waits for before `drained`). */
function timedBackend(inner: PlaybackBackend, playOuts: number[]): PlaybackBackend {
  return {
    name: inner.name,
    prepare: () => inner.prepare(),
    open: (device, format) => {
      const s = inner.open(device, format);
      return {
        write: (b, done) => s.write(b, done),
        on: (e, l) => s.on(e, l),
        close: (flush) => {
          const t = performance.now();
          const r = s.close(flush);
          if (!flush) void Promise.resolve(r).then(() => playOuts.push(performance.now() - t));
          return r;
        },
      };
    },
  };
}

/** The bench's own pacing loop with no speaker behind it: the floor of the playback figures. */
const noSpeaker = { start: async () => undefined, write: () => undefined, end: () => undefined, stop: () => undefined, close: async () => undefined, next: async () => [] };

async function playback(name: AlsaBackendName | 'floor'): Promise<void> {
  const log = silentLogger();
  let accepted = 0;
  let firstAt = 0;
  const playOuts: number[] = [];
  const spk =
    name === 'floor'
      ? noSpeaker
      : new AlsaSpeaker({ device: 'bench-out', log, backend: timedBackend(playbackBackend(name, { log }), playOuts), onAlsaWrite: () => {
            if (accepted++ === 0) firstAt = performance.now();
          },
        });
  await spk.start();
  const chunk = Buffer.alloc((CORE_FORMAT.sampleRate / 50) * 2);
  for (let i = 0; i < chunk.length / 2; i++) chunk.writeInt16LE(Math.round(6000 * Math.sin(i * 0.05)), i * 2);
  const t0 = performance.now();
  let sent = 0;
  const total = Math.round((seconds * 1000 + WARMUP_MS) / 20);
  let steady = false;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / 20) + 1);
      for (; sent < due; sent++) spk.write(chunk, CORE_FORMAT);
      if (!steady && performance.now() - t0 >= WARMUP_MS) {
        steady = true;
        say({ phase: 'steady' });
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 5);
    };
    tick();
  });
  spk.end();
  await spk.next('drained');
  // Barge-in: 3 s queued, stop() after 200 ms.
  spk.write(Buffer.alloc(CORE_FORMAT.sampleRate * 2 * 3), CORE_FORMAT);
  await sleep(200);
  const t = performance.now();
  spk.stop();
  await spk.close();
  say({ phase: 'done', firstBlockMs: firstAt - t0, playOutMs: playOuts[0], stopMs: performance.now() - t, blocks: accepted });
}

const run = mode === 'capture' ? (backend === 'floor' ? captureFloor() : capture(backend as AlsaBackendName)) : playback(backend as AlsaBackendName | 'floor');
run.then(
  () => process.exit(0),
  (err: unknown) => {
    say({ phase: 'error', message: String(err) });
    process.exit(1);
  },
);
