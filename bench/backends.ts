/**
 * Latency the agent adds with the direct backends: from the last user audio frame the service
 * needed (the frame that ended listening) to the first reply sample handed to the speaker,
 * through the real session, player and MP3 decoder, against fake services on loopback that
 * answer at once (their own delay is zero, so everything measured is agent + loopback + decoder).
 *
 *   soca:     last frame -> Soca answer -> MP3 sentence chunks -> lame decoder -> speaker
 *   pipeline: last frame (VAD end) -> ForceEndpoint -> AssemblyAI final -> HTTP skill ->
 *             SLNG TTS (session pre-opened during the skill call) -> PCM -> speaker
 *
 * Writes bench/results/backends.json and prints a short table. Target: p95 <= 30 ms.
 * Run: `npx tsc -p tsconfig.bench.json && node dist-bench/bench/backends.js`; `BENCH_TRACE=1` prints each turn's
 * session timeline relative to the last frame (transcript, reply_text, reply_audio, first write).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PipelineBackend } from '../src/backends/pipeline.js';
import { HttpSkill } from '../src/backends/skill.js';
import { SocaBackend } from '../src/backends/soca.js';
import { AssemblyAiStt } from '../src/backends/stt/assemblyai.js';
import { SlngTts } from '../src/backends/tts/slng.js';
import { createAgent, type Agent } from '../src/agent.js';
import { parseConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import type { PcmFormat } from '../src/audio/format.js';
import { FakeGpio, FakeMic, FakeSpeaker, FakeWake } from '../test/fakes/index.js';
import { silentLogger } from '../src/log/logger.js';
import type { Backend } from '../src/ports/backend.js';
import { FakeAssemblyAi } from '../test/fakes/assemblyai.js';
import { FakeSkill, reply } from '../test/fakes/skill.js';
import { FakeSlngTts } from '../test/fakes/slng.js';
import { FakeSoca } from '../test/fakes/soca.js';
import { makeMp3, split } from '../test/support/direct-agent.js';
import { percentile } from './stats.js';

const KEY = 'bench-key-0000';
const FRAME = 320;

/** Records when the first PCM of each reply reached the speaker. */
class TimedSpeaker extends FakeSpeaker {
  firstAt = 0;
  override write(pcm: Buffer, format: PcmFormat): void {
    if (this.firstAt === 0) this.firstAt = performance.now();
    super.write(pcm, format);
  }
}

interface Rig {
  agent: Agent;
  mic: FakeMic;
  speaker: TimedSpeaker;
  close(): Promise<void>;
}

async function rig(backend: Backend, closeFakes: () => Promise<void>): Promise<Rig> {
  const config = parseConfig({
    audio: { mic: 'wav:unused.wav', speaker: 'wav:unused.wav', earcons: { wake: 'off', done: 'off', error: 'off', disconnected: 'off' } },
    conversation: { settleMs: 0, noSpeechTimeoutMs: 5000, thinkingTimeoutMs: 5000 },
  });
  const mic = new FakeMic();
  const speaker = new TimedSpeaker();
  const agent = await createAgent(config, {
    log: silentLogger(),
    controlSocket: null,
    overrides: { backend, mic, speaker, wake: new FakeWake(), gpio: new FakeGpio() },
  });
  await agent.start();
  await until(() => agent.session.state.connected, 'connected');
  // The mic has been running before the first turn: the VAD knows the (quiet) room.
  mic.push(new Int16Array(FRAME * 25));
  return {
    agent,
    mic,
    speaker,
    close: async () => {
      await agent.stop();
      await closeFakes();
    },
  };
}

async function until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = performance.now();
  while (!pred()) {
    if (performance.now() - start > timeoutMs) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

function speechFrame(seed: number): Int16Array {
  const f = new Int16Array(FRAME);
  let x = seed;
  for (let i = 0; i < FRAME; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    f[i] = (x % 6000) - 3000;
  }
  return f;
}

/**
 * One turn: trigger, 600 ms of speech, then silence. With `ended`, silence goes in frame by frame
 * until `ended()` says (synchronously) that the frame just pushed ended listening; without it,
 * a single silent frame is the last frame (the fake answers when it sees it). Returns
 * last-frame -> first-sample in ms.
 */
interface TurnTimes {
  /** Last frame -> first sample at the speaker. */
  total: number;
  /** Last frame -> first reply audio handed to the session by the backend. */
  backend: number;
}

async function turn(r: Rig, ended?: () => boolean): Promise<TurnTimes> {
  r.speaker.firstAt = 0;
  let t0 = 0;
  let replyAudioAt = 0;
  const onMark = (m: { mark: string; t: number }): void => {
    if (m.mark === 'reply_audio' && !replyAudioAt) replyAudioAt = m.t;
    if (process.env.BENCH_TRACE) marks.push([m.mark, m.t]);
  };
  const marks: [string, number][] = [];
  r.agent.session.on('timeline', onMark);
  const res = r.agent.session.trigger('control');
  if (!res.ok) throw new Error(`bench: trigger refused: ${JSON.stringify(res)}`);
  for (let i = 0; i < 30; i++) r.mic.push(speechFrame(i + 1));
  const silent = new Int16Array(FRAME);
  if (ended) {
    for (let i = 0; i < 200 && !t0; i++) {
      r.mic.push(silent);
      if (ended()) t0 = performance.now();
    }
    if (!t0) throw new Error('bench: listening did not end');
  } else {
    t0 = performance.now();
    r.mic.push(silent);
  }
  await until(() => r.speaker.firstAt > 0, 'first reply sample');
  const times = { total: r.speaker.firstAt - t0, backend: replyAudioAt - t0 };
  if (process.env.BENCH_TRACE) console.log(marks.map(([m, t]) => `${m}@${(t - t0).toFixed(1)}`).join(' '), `first_write@${times.total.toFixed(1)}`);
  await until(() => r.speaker.ends > 0, 'reply end');
  r.agent.session.off('timeline', onMark);
  r.speaker.ends = 0;
  r.speaker.drain();
  await until(() => r.agent.session.state.phase.kind === 'idle', 'idle');
  return times;
}

function stats(xs: number[]): { n: number; p50: number; p95: number; max: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => percentile(s, p * 100);
  const round = (v: number) => Math.round(v * 100) / 100;
  return { n: s.length, p50: round(q(0.5)), p95: round(q(0.95)), max: round(s[s.length - 1]!), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

async function benchSoca(turns: number): Promise<TurnTimes[]> {
  const mp3 = makeMp3(400);
  const fake = await new FakeSoca({ key: KEY, auto: { transcript: 'halo', sentences: [split(mp3, 4)] } }).start();
  const config = ConfigSchema.parse({ soca: { url: fake.url, agentId: 'bench' } }).soca;
  const r = await rig(new SocaBackend({ config, key: KEY, log: silentLogger() }), () => fake.close());
  const out: TurnTimes[] = [];
  try {
    // The fake answers at the first silent frame after speech: that frame is the last one it needed.
    for (let i = 0; i < turns; i++) out.push(await turn(r));
  } finally {
    await r.close();
  }
  return out;
}

async function benchPipeline(turns: number): Promise<TurnTimes[]> {
  const aai = await new FakeAssemblyAi({ key: KEY, transcript: 'What time is it?' }).start();
  const tts = await new FakeSlngTts({ key: KEY, chunks: 10, chunkBytes: 640 }).start();
  const skill = await new FakeSkill(reply('It is noon.')).start();
  const p = ConfigSchema.parse({ pipeline: { assemblyai: { url: aai.url }, slngTts: { url: tts.url }, skill: { url: skill.url } } }).pipeline;
  const log = silentLogger();
  const backend = new PipelineBackend({
    stt: new AssemblyAiStt({ config: p.assemblyai, key: KEY, log, connectTimeoutMs: 5000 }),
    skill: new HttpSkill({ config: p.skill, log }),
    tts: new SlngTts({ config: p.slngTts, key: KEY, authScheme: 'Bearer', log, connectTimeoutMs: 5000 }),
    log,
    authRetryMs: 1000,
  });
  const r = await rig(backend, async () => {
    await Promise.all([aai.close(), tts.close(), skill.close()]);
  });
  const out: TurnTimes[] = [];
  try {
    // Listening ends on the session's own end of speech (VAD, counted in samples): the frame
    // after which the phase left `listening` is the last user audio frame.
    for (let i = 0; i < turns; i++) out.push(await turn(r, () => r.agent.session.state.phase.kind !== 'listening'));
  } finally {
    await r.close();
  }
  return out;
}

/** Runs both backends; returns (and writes) the summary. */
export async function runBackendBench(options: { turns?: number; warmup?: number; outDir?: string } = {}): Promise<object> {
  const turns = options.turns ?? 30;
  const warmup = options.warmup ?? 3;
  const soca = (await benchSoca(turns + warmup)).slice(warmup);
  const pipeline = (await benchPipeline(turns + warmup)).slice(warmup);
  const result = {
    name: 'backends',
    measured: 'last user audio frame -> first reply sample handed to the speaker (ms), fakes answer at once',
    targetP95Ms: 30,
    node: process.version,
    /** The fakes share the agent's event loop and this machine's cores: load skews the tail. */
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
    cpus: os.cpus().length,
    backends: { soca: stats(soca.map((t) => t.total)), pipeline: stats(pipeline.map((t) => t.total)) },
    /** The backend's share: last frame -> first reply audio at the session (before the player and decoder). */
    backendOnly: { soca: stats(soca.map((t) => t.backend)), pipeline: stats(pipeline.map((t) => t.backend)) },
  };
  const dir = options.outDir ?? path.join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'backends.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

type Stats = ReturnType<typeof stats>;

function printTable(result: { backends: Record<string, Stats>; backendOnly: Record<string, Stats>; targetP95Ms: number; loadAverage1m: number; cpus: number }): void {
  console.log(`load average ${result.loadAverage1m} on ${result.cpus} cores`);
  console.log('last user frame -> first sample   turns   p50 ms   p95 ms   max ms   target p95');
  const row = (label: string, s: Stats, target: boolean) => {
    const ok = !target ? '' : s.p95 <= result.targetP95Ms ? `<= ${result.targetP95Ms} ok` : `<= ${result.targetP95Ms} OVER`;
    console.log(`${label.padEnd(32)} ${String(s.n).padStart(5)} ${s.p50.toFixed(2).padStart(8)} ${s.p95.toFixed(2).padStart(8)} ${s.max.toFixed(2).padStart(8)}   ${ok}`);
  };
  for (const [name, s] of Object.entries(result.backends)) {
    row(`${name} (to speaker)`, s, true);
    row(`${name} (backend only)`, result.backendOnly[name]!, false);
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  runBackendBench()
    .then((r) => printTable(r as never))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
