/**
 * `speaker-agent devices` (capture and playback devices with their rates and channels) and
 * `speaker-agent test-audio` (record a few seconds, print levels with a hint, play them back;
 * `--echo` measures the echo delay instead, see echo-measure.ts).
 * Native modules load only inside the actions.
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { CORE_FORMAT } from '../audio/format.js';
import { peakDb, rmsDb } from '../audio/pcm.js';
import { int16ToBytes } from '../audio/wav.js';
import type { AlsaDevicesReport } from '../drivers/alsa/alsa-devices.js';
import type { AlsaBackendSetting } from '../drivers/alsa/backends.js';
import type { PaDevice, SoundCard } from '../drivers/alsa/devices.js';
import { Logger } from '../log/logger.js';
import { addConfigFlags, configFromFlags, reportError } from './common.js';

/** Rates probed by `devices`, Hz. */
export const PROBE_RATES = [8000, 16000, 22050, 24000, 32000, 44100, 48000];

export interface DevicesReport {
  cards: SoundCard[];
  devices: PaDevice[];
  defaultInput: number;
  defaultOutput: number;
  rates?: Record<string, { input: number[]; output: number[] }>;
}

/** The `alsa:` spec that selects `d` (card id for hardware, else its PCM name). */
export function specFor(d: { name: string }, cards: SoundCard[]): string {
  const byId = /^hw:CARD=([^,]+),DEV=(\d+)$/.exec(d.name);
  if (byId) return byId[2] === '0' ? `alsa:${byId[1]}` : `alsa:${d.name}`;
  const m = /\(hw:(\d+),(\d+)\)\s*$/.exec(d.name) ?? /^hw:(\d+),(\d+)$/.exec(d.name);
  if (!m) return `alsa:${d.name}`;
  const card = cards.find((c) => c.index === Number(m[1]));
  if (m[2] !== '0') return `alsa:hw:${m[1]},${m[2]}`;
  return card ? `alsa:${card.id}` : `alsa:${m[1]}`;
}

function formatCards(cards: SoundCard[], out: string[]): void {
  out.push('Sound cards (/proc/asound/cards):');
  if (cards.length === 0) out.push('  none found: is the HAT overlay in /boot/firmware/config.txt, is the USB device plugged in?');
  for (const c of cards) out.push(`  ${c.index} [${c.id}] ${c.name}`);
}

/** `[1 2]` -> `1-2`, `2` -> `2`; plugins (huge ranges) -> `any`. */
function rangeText(r: { min: number; max: number } | undefined, unit: string, plugin: number): string | undefined {
  if (!r) return undefined;
  if (r.max >= plugin) return `any ${unit}`;
  return r.min === r.max ? `${r.min} ${unit}` : `${r.min}-${r.max} ${unit}`;
}

/** The report of the ALSA-name backends (arecord/aplay, koffi). */
function formatAlsaDevices(r: AlsaDevicesReport): string {
  const out: string[] = [];
  formatCards(r.cards, out);
  const section = (title: string, dir: 'capture' | 'playback', flag: string) => {
    const list = r.devices.filter((d) => d[dir]);
    out.push('', `${title} (${flag}):`);
    if (list.length === 0) out.push('  none: check that the user is in group "audio"');
    for (const d of list) {
      const ranges = d[dir]!;
      const ch = rangeText(ranges.channels, 'ch', 1024);
      const rate = rangeText(ranges.rate, 'Hz', 1_000_000);
      const what = ch || rate ? [ch, rate].filter(Boolean).join('; ') : 'not opened (busy, or --no-probe)';
      out.push(`  ${d.name}${d.description ? ` (${d.description})` : ''}`, `      ${what}; use ${flag.split(' ')[0]} ${specFor(d, r.cards)}`);
    }
  };
  section('Capture devices', 'capture', '--mic alsa:NAME');
  section('Playback devices', 'playback', '--speaker alsa:NAME');
  return out.join('\n') + '\n';
}

/** Formats the device report for a person. */
export function formatDevices(r: DevicesReport | AlsaDevicesReport): string {
  if (!('defaultInput' in r)) return formatAlsaDevices(r);
  const out: string[] = [];
  formatCards(r.cards, out);
  const section = (title: string, dir: 'input' | 'output', flag: string) => {
    const list = r.devices.filter((d) => (dir === 'input' ? d.maxInputChannels : d.maxOutputChannels) > 0);
    out.push('', `${title} (${flag}):`);
    if (list.length === 0) out.push('  none: check that the user is in group "audio"');
    for (const d of list) {
      const max = dir === 'input' ? d.maxInputChannels : d.maxOutputChannels;
      const ch = max > 32 ? 'any channels (ALSA plugin)' : `${max} ch`;
      const probed = r.rates?.[String(d.id)]?.[dir];
      const rates = probed ? (probed.length ? probed.join(', ') + ' Hz' : 'no probed rate opened (busy?)') : `default ${d.defaultSampleRate} Hz`;
      const isDefault = d.id === (dir === 'input' ? r.defaultInput : r.defaultOutput) ? ' (default)' : '';
      out.push(`  ${d.name}${isDefault}`, `      ${ch}; ${rates}; use ${flag.split(' ')[0]} ${specFor(d, r.cards)}`);
    }
  };
  section('Capture devices', 'input', '--mic alsa:NAME');
  section('Playback devices', 'output', '--speaker alsa:NAME');
  return out.join('\n') + '\n';
}

/**
 * Lists devices as the backend `audio.alsaBackend` resolves to sees them: ALSA PCM names
 * through arecord/aplay (arecord and koffi backends), or PortAudio's list through its helper
 * (naudiodon). ALSA's probe noise stays out of the output either way.
 */
export async function collectDevices(opts: {
  probe: boolean;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  cardsPath?: string;
  pcmPath?: string;
  backend?: AlsaBackendSetting;
}): Promise<DevicesReport | AlsaDevicesReport> {
  const { resolveAlsaBackend, realProbe } = await import('../drivers/alsa/backends.js');
  const { name } = resolveAlsaBackend(opts.backend ?? 'auto', realProbe(opts.env));
  if (name !== 'naudiodon') {
    const { listAlsaDevices } = await import('../drivers/alsa/alsa-devices.js');
    return listAlsaDevices({ probe: opts.probe, env: opts.env, cardsPath: opts.cardsPath, pcmPath: opts.pcmPath });
  }
  const { listPaDevices } = await import('../drivers/alsa/portaudio-process.js');
  const { readCards } = await import('../drivers/alsa/devices.js');
  const list = await listPaDevices({ log: opts.log, env: opts.env, probeRates: opts.probe ? PROBE_RATES : undefined });
  return { cards: readCards(opts.cardsPath), ...list };
}

export interface LevelReport {
  /** dBFS. */
  peakDb: number;
  /** dBFS. */
  rmsDb: number;
  /** Fraction of samples at or next to full scale. */
  clipped: number;
  /** A hint when the level is wrong, else undefined. */
  hint?: string;
}

/** Judges a recording: silent, clipping, or fine. */
export function judgeLevels(pcm: Int16Array): LevelReport {
  let clipped = 0;
  for (let i = 0; i < pcm.length; i++) if (pcm[i]! >= 32700 || pcm[i]! <= -32700) clipped++;
  const r: LevelReport = { peakDb: peakDb(pcm), rmsDb: rmsDb(pcm), clipped: pcm.length ? clipped / pcm.length : 0 };
  if (r.peakDb < -50) {
    r.hint =
      'the microphone is silent: speak while recording; raise the capture level (alsamixer -c CARD, F4); check audio.micChannel (a 4-mic HAT has 4 channels) and that the HAT overlay is loaded';
  } else if (r.clipped > 0.001) {
    r.hint = 'the recording clips: lower the capture gain in alsamixer (F4) or move away from the microphone';
  } else if (r.rmsDb < -45) {
    r.hint = 'the level is low: speak closer or raise the capture gain in alsamixer (F4)';
  }
  return r;
}

export interface TestAudioIo {
  write: (s: string) => void;
  log: Logger;
}

/**
 * Records `seconds` from the configured mic (counted in samples, so a device without a clock
 * still gives exactly that much audio), reports levels, then plays it back unless `play` is false.
 * Returns the recording (16 kHz mono).
 */
export async function runTestAudio(config: Config, opts: { seconds: number; play: boolean }, io: TestAudioIo): Promise<{ pcm: Int16Array; levels: LevelReport }> {
  const { createAudio } = await import('../drivers/registry.js');
  // Both ends at once (a `room:` pair shares one room); levels are of the raw microphone.
  const { mic, speaker: out } = await createAudio({ ...config, audio: { ...config.audio, echoCancel: 'off' } }, io.log);
  const want = Math.round(opts.seconds * CORE_FORMAT.sampleRate);
  const pcm = new Int16Array(want);
  let got = 0;
  io.write(`Recording ${opts.seconds} s from ${config.audio.mic}: speak now...\n`);
  await new Promise<void>((resolve, reject) => {
    mic.on('frame', (f) => {
      if (got >= want) return;
      const n = Math.min(f.pcm.length, want - got);
      pcm.set(f.pcm.subarray(0, n), got);
      got += n;
      if (got >= want) resolve();
    });
    mic.on('error', (e) => io.write(`microphone: ${e.message}\n`));
    mic.on('end', () => resolve());
    mic.start().catch(reject);
  });
  await mic.stop();
  const rec = pcm.subarray(0, got);
  const levels = judgeLevels(rec);
  io.write(`Peak ${levels.peakDb.toFixed(1)} dBFS, RMS ${levels.rmsDb.toFixed(1)} dBFS${levels.hint ? '' : ': OK'}\n`);
  if (levels.hint) io.write(`Hint: ${levels.hint}\n`);
  if (opts.play && rec.length > 0) {
    await out.start();
    out.setVolume(config.audio.volume);
    io.write(`Playing it back on ${config.audio.speaker}...\n`);
    const drained = new Promise<void>((resolve, reject) => {
      out.once('drained', () => resolve());
      out.once('error', (e) => reject(new Error(e.message)));
    });
    out.write(int16ToBytes(rec), CORE_FORMAT);
    out.end();
    await drained;
    await out.close();
  }
  return { pcm: rec, levels };
}

export function registerAudioCommands(program: Command): void {
  program
    .command('devices')
    .description('list capture and playback devices with their channels and sample rates')
    .option('--no-probe', 'do not open each device to find its rates (faster; use when a device is busy)')
    .option('--backend <name>', 'list as this ALSA backend sees devices: auto, arecord, koffi or naudiodon (audio.alsaBackend)', 'auto')
    .option('--json', 'print JSON')
    .action(async (opts: { probe: boolean; json?: boolean; backend: string }) => {
      try {
        const { ALSA_BACKENDS } = await import('../drivers/alsa/backends.js');
        if (!(ALSA_BACKENDS as readonly string[]).includes(opts.backend)) throw new Error(`--backend must be one of ${ALSA_BACKENDS.join(', ')}, got "${opts.backend}"`);
        const log = new Logger({ level: 'warn', format: 'pretty', sink: { write: (l) => process.stderr.write(l) } });
        const report = await collectDevices({ probe: opts.probe, log, backend: opts.backend as AlsaBackendSetting });
        process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatDevices(report));
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });
  addConfigFlags(
    program
      .command('test-audio')
      .description('record a few seconds, print peak and RMS levels (with a hint when silent or clipping), play them back; --echo measures the echo delay')
      .option('--seconds <n>', 'seconds to record', '3')
      .option('--no-play', 'do not play the recording back')
      .option('--echo', 'instead: play a chirp, find its echo in the microphone and print the delay the echo canceller must cover'),
  ).action(async (opts: Record<string, unknown>) => {
    try {
      const config = configFromFlags(opts);
      if (opts.echo) {
        const log = new Logger({ level: 'warn', format: 'pretty', sink: { write: (l) => process.stderr.write(l) } });
        const { measureEcho } = await import('./echo-measure.js');
        const m = await measureEcho(config, { write: (s) => process.stdout.write(s), log });
        if (Number.isFinite(m.lagMs) && m.correlation >= 0.2) {
          process.stdout.write(`Echo ${m.lagMs.toFixed(1)} ms after its reference, ${m.echoDb.toFixed(1)} dB relative to what was played (correlation ${m.correlation.toFixed(2)})\n`);
        }
        process.stdout.write(`${m.advice}\n`);
        return;
      }
      const seconds = Number(opts.seconds);
      if (!(seconds > 0 && seconds <= 60)) throw new Error(`--seconds must be between 0 and 60, got "${String(opts.seconds)}"`);
      const log = new Logger({ level: 'warn', format: 'pretty', sink: { write: (l) => process.stderr.write(l) } });
      await runTestAudio(config, { seconds, play: opts.play !== false }, { write: (s) => process.stdout.write(s), log });
    } catch (err) {
      process.exitCode = reportError(err);
    }
  });
}
