/**
 * Agent-added latency, CPU and memory of the core on loopback, against a gateway that replies
 * at once. The agent runs in this process with scripted hardware (no audio device cost);
 * the gateway runs in the same process for the latency phase (one clock for both ends) and in
 * a child process for the CPU phase (so its work is not counted as the agent's).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAgent, type Agent } from '../src/agent.js';
import { parseConfig } from '../src/config/load.js';
import { FakeGpio, FakeMic, FakeSpeaker, FakeWake } from '../test/fakes/index.js';
import { silentLogger } from '../src/log/logger.js';
import { LocalGateway } from '../src/local-gateway/server.js';
import { rssMb, summary } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function noise(ms: number, seed: number): Int16Array {
  const n = Math.round(ms * 16);
  const out = new Int16Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = (x % 6000) - 3000;
  }
  return out;
}
const SILENT_FRAME = new Int16Array(320);

/** Waits without spinning (a 1 ms poll), so the bench's own waiting costs next to no CPU. */
async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('bench: timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
}

interface Rig {
  agent: Agent;
  mic: FakeMic;
  speaker: FakeSpeaker;
}

async function rig(url: string): Promise<Rig> {
  const config = parseConfig({
    gateway: { url },
    audio: { mic: 'wav:x', speaker: 'wav:x', earcons: { wake: 'off', done: 'off', error: 'off', disconnected: 'off' } },
    // The agent ends the utterance on its own VAD, so (b) measures the agent, not the gateway's endpointing.
    conversation: { settleMs: 0, endOnSilence: true, vad: { hangoverMs: 300 } },
    log: { level: 'error' },
  });
  const mic = new FakeMic();
  const speaker = new FakeSpeaker();
  speaker.autoDrain = true;
  const agent = await createAgent(config, { log: silentLogger(), controlSocket: null, overrides: { mic, speaker, wake: new FakeWake(), gpio: new FakeGpio() } });
  await agent.start();
  await until(() => agent.session.state.connected);
  return { agent, mic, speaker };
}

/** One turn: trigger, speak, end of speech, reply played. Returns the three latencies in ms. */
async function turn(r: Rig, gw: LocalGateway | undefined, seed: number, speechMs: number) {
  const s = r.agent.session;
  const marks = new Map<string, number>();
  const onMark = (m: { mark: string; t: number }) => {
    if (!marks.has(m.mark)) marks.set(m.mark, m.t);
  };
  s.on('timeline', onMark);
  r.mic.push(noise(100, seed).map(() => 0)); // quiet room before the trigger
  s.trigger('control');
  const id = s.status().turnId!;
  r.mic.push(noise(speechMs, seed));
  // Silence frame by frame until the VAD ends the utterance: (b) is measured from the frame
  // that completed the end of speech to audio_end on the wire.
  // Between frames the event loop runs (as with a real microphone): the end of speech may be
  // decided on a later tick, and a loop that never yields would push frames without end.
  let lastFrameAt = 0;
  for (let frames = 0; !marks.has('audio_end'); frames++) {
    if (frames > 500) throw new Error('bench: no audio_end after 10 s of silence');
    lastFrameAt = performance.now();
    r.mic.push(SILENT_FRAME);
    if (!marks.has('audio_end')) await new Promise((res) => setImmediate(res));
  }
  await until(() => s.state.phase.kind === 'idle' && marks.has('first_sample'));
  s.off('timeline', onMark);
  const replyBytes = r.speaker.bytes;
  r.speaker.writes.length = 0;
  const sentAt = gw?.firstAudioSentAt.get(id);
  gw?.firstAudioSentAt.delete(id);
  return {
    a: marks.get('first_audio_data')! - marks.get('trigger')!,
    b: marks.get('audio_end')! - lastFrameAt,
    c: sentAt !== undefined ? marks.get('first_sample')! - sentAt : NaN,
    replyBytes,
  };
}

export async function runCoreBench(options: { turns?: number } = { turns: Number(process.env.BENCH_TURNS) || 1000 }): Promise<Record<string, unknown>> {
  const turns = options.turns ?? 1000;
  const latencyTurns = 300;
  // Phase 1: latency, gateway in-process (one clock for both ends).
  const gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0, followUp: 'never', endSilenceMs: 300, plan: () => ({ text: 'ok', prompt: false }) });
  await gw.start();
  const r = await rig(gw.url);
  const a: number[] = [];
  const b: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < latencyTurns; i++) {
    const t = await turn(r, gw, i + 1, 300);
    a.push(t.a);
    b.push(t.b);
    c.push(t.c);
    gw.received.length = 0;
    gw.audio.clear();
  }
  await r.agent.stop();
  await gw.stop();

  // Phase 2: CPU per second of streamed audio, then memory over many turns; the gateway runs
  // in a child process so neither its CPU nor its memory is counted as the agent's.
  const child = spawn(process.execPath, [path.join(HERE, '..', 'src', 'cli.js'), 'gateway', '--port', '0', '--speech', 'tone', '--follow-up', 'never', '--pace', '0', '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /GATEWAY_URL=(\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error('bench gateway exited')));
  });
  const r2 = await rig(url);
  const cpuTurns = 20;
  const upMs = 3000;
  let streamedSeconds = 0;
  const before = process.cpuUsage();
  for (let i = 0; i < cpuTurns; i++) {
    const t = await turn(r2, undefined, 1000 + i, upMs);
    // Uplink: quiet lead-in, speech, silence until end of speech; downlink: the reply played.
    streamedSeconds += (100 + upMs + 300) / 1000 + t.replyBytes / 32000;
  }
  const cpu = process.cpuUsage(before);
  let rss10 = { rss: 0, heap: 0, arrayBuffers: 0 };
  const rssCurve: number[] = [];
  for (let i = 0; i < turns; i++) {
    await turn(r2, undefined, 5000 + i, 300);
    if (i === 9) rss10 = rssMb();
    if ((i + 1) % 100 === 0) rssCurve.push(rssMb().rss);
  }
  const rssEnd = rssMb();
  await r2.agent.stop();
  child.kill();
  const cpuMs = (cpu.user + cpu.system) / 1000;

  return {
    latencyTurns,
    memoryTurns: turns,
    latencyMs: { triggerToFirstAudioData: summary(a), lastFrameToAudioEnd: summary(b), firstReplyByteToFirstSample: summary(c) },
    cpu: {
      turns: cpuTurns,
      cpuMs: Math.round(cpuMs),
      streamedAudioSeconds: Math.round(streamedSeconds * 10) / 10,
      percentOfOneCore: Math.round((cpuMs / 1000 / streamedSeconds) * 100 * 100) / 100,
    },
    rssMb: { after10: rss10.rss, [`after${turns}`]: rssEnd.rss, growth: Math.round((rssEnd.rss - rss10.rss) * 10) / 10 },
    rssCurveEvery100TurnsMb: rssCurve.join(' '),
    arrayBuffersMb: { after10: rss10.arrayBuffers, [`after${turns}`]: rssEnd.arrayBuffers },
    heapUsedMb: { after10: rss10.heap, [`after${turns}`]: rssEnd.heap, growth: Math.round((rssEnd.heap - rss10.heap) * 10) / 10 },
    node: process.version,
    // The service runs with NODE_OPTIONS=--max-semi-space-size=1 (systemd unit); so does npm run bench.
    nodeFlags: [...process.execArgv, process.env.NODE_OPTIONS ?? ''].filter(Boolean).join(' '),
  };
}
