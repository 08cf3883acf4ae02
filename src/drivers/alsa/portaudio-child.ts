/**
 * The PortAudio (naudiodon) helper process. Capture runs in a child Node process because
 * PortAudio and ALSA write straight to the process's stdout/stderr from C: ~45 "ALSA lib ...
 * Unknown PCM" lines per device scan, plus naudiodon's own banner on stdout, which would land
 * in journald between the agent's JSON lines. In a child those streams are ours to filter. It
 * also means a crash in the native capture path ends the child, not the daemon, and the
 * microphone driver simply reopens it.
 *
 * The child is plain CommonJS fed to `node -` on stdin, so it works the same from the
 * TypeScript sources under test and from the compiled package. Protocol (IPC messages; PCM on fd 3):
 *   child -> parent  {type:'devices', devices, defaultInput, defaultOutput}   at start
 *   parent -> child  {type:'open', deviceId, candidates:[{sampleRate, channels}], chunkMs}
 *   child -> parent  {type:'opened', format} then raw PCM16LE on fd 3 | {type:'failed', tried}
 *   parent -> child  {type:'probe', ids, rates}  ->  {type:'probed', results: {id: {input, output}}}
 *   child -> parent  {type:'error', message}  (the child exits after it)
 */
import type { PaDevice } from './devices.js';

/** A capture format to try, native to the device when possible. */
export interface CaptureCandidate {
  /** Hz. */
  sampleRate: number;
  channels: number;
}

export type ChildMessage =
  | { type: 'devices'; devices: PaDevice[]; defaultInput: number; defaultOutput: number }
  | { type: 'opened'; format: CaptureCandidate }
  | { type: 'failed'; tried: string[] }
  | { type: 'probed'; results: Record<string, { input: number[]; output: number[] }> }
  | { type: 'error'; message: string };

export type ParentMessage =
  | { type: 'open'; deviceId: number; candidates: CaptureCandidate[]; chunkMs: number }
  | { type: 'probe'; ids: number[]; rates: number[] };

/** Source of the child. argv[2] is the resolved path of the naudiodon module (argv[1] is `-`). */
export const CHILD_SOURCE = String.raw`
'use strict';
process.title = 'speaker-agent-portaudio';
const net = require('node:net');
const send = (m) => { if (process.connected) process.send(m); };
process.on('disconnect', () => process.exit(0));
let pa;
try { pa = require(process.argv[2]); } catch (e) {
  send({ type: 'error', message: 'naudiodon cannot be loaded: ' + (e && e.message) });
  setTimeout(() => process.exit(2), 20);
}
if (pa) main();

function main() {
const apis = pa.getHostAPIs().HostAPIs;
const alsa = apis.find((h) => h.type === 'ALSA');
const devices = pa.getDevices().filter((d) => d.hostAPIName === 'ALSA').map((d) => ({
  id: d.id, name: d.name, maxInputChannels: d.maxInputChannels,
  maxOutputChannels: d.maxOutputChannels, defaultSampleRate: d.defaultSampleRate }));
send({ type: 'devices', devices, defaultInput: alsa ? alsa.defaultInput : -1, defaultOutput: alsa ? alsa.defaultOutput : -1 });
process.on('message', (msg) => {
  if (msg.type === 'open') open(msg);
  else if (msg.type === 'probe') probe(msg).catch((e) => send({ type: 'error', message: String(e) }));
});

function open(msg) {
  const out = new net.Socket({ fd: 3, readable: false, writable: true });
  const tried = [];
  for (const c of msg.candidates) {
    let io;
    // naudiodon reads highwaterMark bytes at a time (16 KiB by default, half a second of 16 kHz
    // mono): ask for chunkMs-sized blocks so audio reaches the agent with little delay.
    const frames = Math.max(64, Math.round((c.sampleRate * msg.chunkMs) / 1000));
    try {
      io = pa.AudioIO({ inOptions: { deviceId: msg.deviceId, sampleRate: c.sampleRate, channelCount: c.channels,
        sampleFormat: 16, closeOnError: true, framesPerBuffer: frames, highwaterMark: frames * c.channels * 2 } });
    } catch (e) {
      tried.push(c.sampleRate + ' Hz x' + c.channels + ': ' + (e && e.message));
      continue;
    }
    const fail = (message) => { send({ type: 'error', message }); setTimeout(() => process.exit(3), 20); };
    io.on('data', (b) => out.write(b));
    io.on('error', (e) => fail(String((e && e.message) || e)));
    io.on('end', () => fail('the capture stream ended'));
    io.start();
    send({ type: 'opened', format: c });
    return;
  }
  send({ type: 'failed', tried });
  setTimeout(() => process.exit(2), 20);
}

async function probeOne(dir, d, rate) {
  const max = dir === 'input' ? d.maxInputChannels : d.maxOutputChannels;
  const opts = { deviceId: d.id, sampleRate: rate, channelCount: max <= 8 ? max : 2, sampleFormat: 16 };
  let io;
  try { io = pa.AudioIO(dir === 'input' ? { inOptions: opts } : { outOptions: opts }); } catch { return false; }
  await new Promise((r) => io.quit(r));
  return true;
}

async function probe(msg) {
  const results = {};
  for (const id of msg.ids) {
    const d = devices.find((x) => x.id === id);
    if (!d) continue;
    const r = { input: [], output: [] };
    for (const dir of ['input', 'output']) {
      if ((dir === 'input' ? d.maxInputChannels : d.maxOutputChannels) <= 0) continue;
      for (const rate of msg.rates) if (await probeOne(dir, d, rate)) r[dir].push(rate);
    }
    results[id] = r;
  }
  send({ type: 'probed', results });
}
}
`;
