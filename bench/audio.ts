/**
 * Audio benchmarks (a few seconds): MP3 reply latency and decode CPU for each decoder
 * considered, and capture conversion CPU. Runs the real native stack on the ALSA `file` plugin
 * (no sound card needed). Writes bench/results/audio.json and prints a short table.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/audio.js, or runAudioBench() from bench/run.ts
 *
 * Decoders compared in one run, through the product's own classes: mpg123-decoder (libmpg123
 * compiled to WebAssembly, in-process; the default) and node-lame (the `lame` binary in a child
 * process per reply). CPU of the lame child is read from this process's children times
 * (/proc/self/stat cutime+cstime, 10 ms ticks), so its decode runs over 2 minutes of audio.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CaptureConverter } from '../src/audio/channels.js';
import type { PcmFormat } from '../src/audio/format.js';
import { Mpg123Mp3Decoder, preloadMpg123 } from '../src/audio/mp3-mpg123.js';
import { LameMp3Decoder, type Mp3Decoder } from '../src/audio/mp3.js';
import { AlsaMic } from '../src/drivers/alsa/mic.js';
import { AlsaSpeaker } from '../src/drivers/alsa/speaker.js';
import type { SpeakerCtor } from '../src/drivers/alsa/speaker-module.js';
import { silentLogger } from '../src/log/logger.js';
import { resultsDir } from './paths.js';
import { percentile } from './stats.js';

/** A streaming decoder as the bench drives it: push MP3 bytes, get PCM16 via `onPcm`. */
interface BenchDecoder {
  write(chunk: Buffer): void;
  /** Resolves when all input is decoded. */
  finish(): Promise<void>;
  destroy(): void;
}
type DecoderFactory = (onPcm: (pcm: Buffer, format: PcmFormat) => void) => Promise<BenchDecoder>;

/** Wraps one of the agent's Mp3Decoder classes for the bench. */
function factoryOf(make: () => Mp3Decoder): DecoderFactory {
  return async (onPcm) => {
    const dec = make();
    dec.on('pcm', onPcm);
    const ended = dec.next('end');
    return {
      write: (c) => dec.write(c),
      finish: async () => {
        dec.end();
        await ended;
      },
      destroy: () => dec.destroy(),
    };
  };
}

const lameFactory = factoryOf(() => new LameMp3Decoder());
const mpg123Factory = factoryOf(() => new Mpg123Mp3Decoder());

/** CPU seconds used by reaped children of this process (Linux; 10 ms resolution). */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3; cutime and cstime are fields 16 and 17.
  const cutime = Number(fields[16 - 3]);
  const cstime = Number(fields[17 - 3]);
  return (cutime + cstime) / 100;
}

const selfCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function decodeCpu(factory: DecoderFactory, mp3: Buffer, chunk = 2048): Promise<{ audioSeconds: number; cpuSeconds: number; percentOfCore: number }> {
  let samples = 0;
  let rate = 0;
  const c0 = selfCpuSeconds() + childrenCpuSeconds();
  const dec = await factory((pcm, f) => {
    samples += pcm.length / 2 / f.channels;
    rate = f.sampleRate;
  });
  for (let i = 0; i < mp3.length; i += chunk) dec.write(mp3.subarray(i, i + chunk));
  await dec.finish();
  // Let the child be reaped so its CPU is counted.
  await new Promise((r) => setTimeout(r, 50));
  const cpuSeconds = selfCpuSeconds() + childrenCpuSeconds() - c0;
  const audioSeconds = samples / rate;
  return { audioSeconds, cpuSeconds, percentOfCore: (cpuSeconds / audioSeconds) * 100 };
}

/** Waits until `cond()` holds, polling every ms; throws after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 1));
  }
}

/** First MP3 chunk (`chunk` bytes) handed to a new decoder -> first PCM block accepted by ALSA, ms. */
async function firstSampleLatency(factory: DecoderFactory, mp3: Buffer, spk: AlsaSpeaker, writes: { t: number }[], runs: number, chunk: number): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    writes.length = 0;
    const t0 = performance.now();
    const dec = await factory((pcm, f) => spk.write(pcm, f));
    dec.write(mp3.subarray(0, chunk));
    await until(() => writes.length > 0, 5000, 'the first ALSA write');
    out.push(writes[0]!.t - t0);
    dec.destroy();
    spk.stop();
    await new Promise((res) => setTimeout(res, 20));
  }
  return out;
}

/** stop() -> snd_pcm_drop on the device (barge-in), ms, over `runs`, with 3 s of audio queued each time. */
async function stopLatency(runs: number): Promise<number[]> {
  const Base = (await import('speaker')).default as unknown as SpeakerCtor;
  let droppedAt = 0;
  class TimedSpeaker extends Base {
    override close(flush: boolean): void {
      if (flush) droppedAt = performance.now();
      super.close(flush);
    }
  }
  let writes = 0;
  const spk = new AlsaSpeaker({ device: 'bench', log: silentLogger(), speakerClass: TimedSpeaker, onAlsaWrite: () => writes++ });
  await spk.start();
  const audio = Buffer.alloc(16000 * 2 * 3, 1);
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    writes = 0;
    droppedAt = 0;
    spk.write(audio, { sampleRate: 16000, channels: 1 });
    await until(() => writes >= 3, 5000, 'playback to start');
    const t0 = performance.now();
    spk.stop();
    await until(() => droppedAt > 0, 5000, 'the drop');
    out.push(droppedAt - t0);
  }
  await spk.close();
  return out;
}

/** CPU of this process + the capture helper per second of 48 kHz stereo captured and converted, and the helper's memory. */
async function capturePath(dir: string): Promise<{ percentOfCore: number; helperRssMb: number; audioSeconds: number }> {
  const seconds = 20;
  const raw = Buffer.alloc(48000 * 2 * 2 * seconds);
  for (let i = 0; i < raw.length / 2; i++) raw.writeInt16LE(Math.round(8000 * Math.sin(i * 0.013)), i * 2);
  writeFileSync(join(dir, 'mic48.raw'), raw);
  const mic = new AlsaMic({ device: 'mic48', rate: 48000, channels: 2, log: silentLogger(), env: { ...process.env, HOME: dir } });
  let samples = 0;
  const want = 16000 * seconds;
  const done = new Promise<void>((resolve) => mic.on('frame', (f) => (samples += f.pcm.length) >= want && resolve()));
  await mic.start();
  const pid = mic.helperPid!;
  const helperCpu = () => {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[14 - 3]) + Number(f[15 - 3])) / 100; // utime + stime
  };
  const c0 = selfCpuSeconds() + helperCpu();
  await done;
  const cpu = selfCpuSeconds() + helperCpu() - c0;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  await mic.stop();
  return { percentOfCore: (cpu / (samples / 16000)) * 100, helperRssMb: rss, audioSeconds: samples / 16000 };
}

/** MP3 bytes a decoder needs before its first PCM, fed 128 bytes at a time (a slow network). */
async function bytesBeforeFirstPcm(factory: DecoderFactory, mp3: Buffer): Promise<number> {
  let got = false;
  const dec = await factory(() => (got = true));
  let fed = 0;
  while (!got && fed < 32768) {
    dec.write(mp3.subarray(fed, fed + 128));
    fed += 128;
    // Give a child process time to answer before feeding more.
    const deadline = performance.now() + 30;
    while (!got && performance.now() < deadline) await new Promise((res) => setTimeout(res, 2));
  }
  dec.destroy();
  return fed;
}

/** Median over 5 runs of `seconds` each: the machine is shared, single runs swing. */
function conversionCpu(format: PcmFormat, seconds: number): number {
  const frames = Math.round(format.sampleRate * 0.02);
  const chunk = new Int16Array(frames * format.channels);
  for (let i = 0; i < chunk.length; i++) chunk[i] = Math.round(8000 * Math.sin(i * 0.01));
  const conv = new CaptureConverter(format, 16000, 'mix');
  for (let i = 0; i < 100; i++) conv.process(chunk); // 2 s warm-up: measure the optimised code
  const n = Math.round(seconds / 0.02);
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const c0 = selfCpuSeconds();
    for (let i = 0; i < n; i++) conv.process(chunk);
    runs.push(((selfCpuSeconds() - c0) / seconds) * 100);
  }
  return percentile(runs, 50);
}

export async function runAudioBench(): Promise<object> {
  const dir = mkdtempSync(join(tmpdir(), 'sa-bench-audio-'));
  const oldHome = process.env.HOME;
  try {
    // Fixtures: 2 minutes of a speech-band sweep, as Soca (22.05 kHz mono 32 kbps) and SLNG-like (24 kHz mono 48 kbps).
    const mp3s: Record<string, Buffer> = {};
    for (const [name, rate, kbps] of [
      ['22.05 kHz mono 32 kbps', 22050, 32],
      ['24 kHz mono 48 kbps', 24000, 48],
    ] as const) {
      const wav = join(dir, `${rate}.wav`);
      execFileSync('sox', ['-n', '-r', String(rate), '-c', '1', '-b', '16', wav, 'synth', '120', 'sine', '150-3500', 'vol', '0.5']);
      execFileSync('lame', ['--quiet', '-b', String(kbps), wav, join(dir, `${rate}.mp3`)]);
      mp3s[name] = readFileSync(join(dir, `${rate}.mp3`));
    }
    writeFileSync(
      join(dir, '.asoundrc'),
      [
        'pcm.!default { type file; slave.pcm "null"; file "/dev/null"; format "raw" }',
        'pcm.bench { type file; slave.pcm "null"; file "/dev/null"; format "raw" }',
        `pcm.mic48 { type file; slave.pcm "null"; file "/dev/null"; infile "${join(dir, 'mic48.raw')}"; format "raw" }`,
      ].join('\n') + '\n',
    );
    process.env.HOME = dir; // libasound reads ~/.asoundrc on the first open in this process

    const decoders: Record<string, DecoderFactory> = {
      'mpg123-decoder (WASM, in-process)': mpg123Factory,
      'node-lame (lame child process)': lameFactory,
    };
    await preloadMpg123(); // as the agent does at start

    const decode: Record<string, Record<string, { audioSeconds: number; cpuSeconds: number; percentOfCore: number }>> = {};
    for (const [dname, f] of Object.entries(decoders)) {
      await decodeCpu(f, mp3s['22.05 kHz mono 32 kbps']!.subarray(0, 40_000)); // warm-up
      decode[dname] = {};
      for (const [fname, mp3] of Object.entries(mp3s)) decode[dname][fname] = await decodeCpu(f, mp3);
    }

    const writes: { t: number }[] = [];
    const spk = new AlsaSpeaker({ device: 'bench', log: silentLogger(), onAlsaWrite: () => writes.push({ t: performance.now() }) });
    await spk.start();
    // 4 KiB first chunk (about 1 s of 32 kbps audio): what a sentence-sized network message carries.
    const firstChunkBytes = 4096;
    const latency: Record<string, { p50: number; p95: number; runs: number; bytesBeforeFirstPcm: number }> = {};
    const reply = mp3s['22.05 kHz mono 32 kbps']!;
    for (const [dname, f] of Object.entries(decoders)) {
      await firstSampleLatency(f, reply, spk, writes, 3, firstChunkBytes); // warm-up
      const xs = await firstSampleLatency(f, reply, spk, writes, 30, firstChunkBytes);
      latency[dname] = { p50: percentile(xs, 50), p95: percentile(xs, 95), runs: xs.length, bytesBeforeFirstPcm: await bytesBeforeFirstPcm(f, reply) };
    }
    await spk.close();

    const conversion = {
      '48 kHz stereo -> 16 kHz mono': conversionCpu({ sampleRate: 48000, channels: 2 }, 12),
      '48 kHz 4 ch -> 16 kHz mono': conversionCpu({ sampleRate: 48000, channels: 4 }, 12),
      '44.1 kHz stereo -> 16 kHz mono': conversionCpu({ sampleRate: 44100, channels: 2 }, 12),
      '16 kHz stereo -> 16 kHz mono': conversionCpu({ sampleRate: 16000, channels: 2 }, 12),
    };

    const stops = await stopLatency(30);
    const stop = { p50: percentile(stops, 50), p95: percentile(stops, 95), runs: stops.length };
    const capture = await capturePath(dir);

    const result = {
      name: 'audio',
      machine: { node: process.version, arch: process.arch },
      targets: { firstSampleP95Ms: 30, decodePercentOfCore: 1, conversionPercentOfCore: 0.5 },
      firstChunkBytes,
      firstMp3ChunkToFirstAlsaWriteMs: latency,
      decodeCpu: decode,
      conversionCpuPercentOfCore: conversion,
      stopToAlsaDropMs: stop,
      capturePath48kStereo: capture,
    };
    // From the benches' build too, results go to the source tree's bench/results.
    const outDir = resultsDir();
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'audio.json'), JSON.stringify(result, null, 2) + '\n');
    printTable(result);
    return result;
  } finally {
    if (oldHome === undefined) delete process.env.HOME;
    else process.env.HOME = oldHome;
    rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(r: {
  firstMp3ChunkToFirstAlsaWriteMs: Record<string, { p50: number; p95: number; bytesBeforeFirstPcm: number }>;
  decodeCpu: Record<string, Record<string, { percentOfCore: number }>>;
  conversionCpuPercentOfCore: Record<string, number>;
  stopToAlsaDropMs: { p50: number; p95: number };
  capturePath48kStereo: { percentOfCore: number; helperRssMb: number };
}): void {
  const rows: string[] = [];
  rows.push('audio bench');
  rows.push('  first MP3 chunk (4 KiB) -> first PCM written to ALSA (target p95 <= 30 ms); MP3 bytes needed before any PCM');
  for (const [d, v] of Object.entries(r.firstMp3ChunkToFirstAlsaWriteMs)) {
    rows.push(`    ${d.padEnd(36)} p50 ${v.p50.toFixed(2).padStart(7)} ms   p95 ${v.p95.toFixed(2).padStart(7)} ms   needs ${v.bytesBeforeFirstPcm} B`);
  }
  rows.push('  MP3 decode CPU, % of one core per second of reply audio (target <= 1 %)');
  for (const [d, v] of Object.entries(r.decodeCpu)) {
    for (const [f, x] of Object.entries(v)) rows.push(`    ${d.padEnd(36)} ${f.padEnd(24)} ${x.percentOfCore.toFixed(3).padStart(7)} %`);
  }
  rows.push('  capture conversion CPU, % of one core (target <= 0.5 % for 48 kHz stereo)');
  for (const [k, v] of Object.entries(r.conversionCpuPercentOfCore)) rows.push(`    ${k.padEnd(36)} ${v.toFixed(3).padStart(7)} %`);
  const c = r.capturePath48kStereo;
  rows.push(`  whole capture path, 48 kHz stereo device -> 16 kHz frames (helper + agent): ${c.percentOfCore.toFixed(3)} % of one core; helper RSS ${c.helperRssMb.toFixed(1)} MB`);
  rows.push(`  stop() -> ALSA drop (barge-in, target < 50 ms): p50 ${r.stopToAlsaDropMs.p50.toFixed(2)} ms, p95 ${r.stopToAlsaDropMs.p95.toFixed(2)} ms`);
  process.stdout.write(rows.join('\n') + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runAudioBench().catch((err: unknown) => {
    process.stderr.write(`audio bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
