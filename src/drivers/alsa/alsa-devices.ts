/**
 * `speaker-agent devices` for the backends that open ALSA PCMs by name (arecord/aplay, koffi):
 * the hardware devices the kernel lists (/proc/asound/pcm), ALSA's default and the PCMs defined
 * in asound.conf or ~/.asoundrc (`arecord -L` / `aplay -L`), each with the channel and rate
 * ranges ALSA reports for it (`--dump-hw-params`; a device that is busy reports nothing).
 */
import { readFileSync } from 'node:fs';
import { DeviceError } from '../../errors.js';
import { type ParamRange, parseHwParams, parsePcmList } from './alsa-names.js';
import { ALSA_UTILS_FIX, findTool, readHwParamsDump, spawnTool } from './alsa-tool.js';
import { readCards, type SoundCard } from './devices.js';

/** One line of /proc/asound/pcm: `01-00: USB Audio : USB Audio : capture 1`. */
export interface KernelPcm {
  card: number;
  device: number;
  name: string;
  playback: boolean;
  capture: boolean;
}

export function parseProcPcm(text: string): KernelPcm[] {
  const out: KernelPcm[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)-(\d+):\s*([^:]*?)\s*:/.exec(line);
    if (!m) continue;
    out.push({ card: Number(m[1]), device: Number(m[2]), name: m[3]!, playback: /playback \d+/.test(line), capture: /capture \d+/.test(line) });
  }
  return out;
}

export interface AlsaDevice {
  /** The ALSA PCM name to open (`hw:CARD=id,DEV=0`, `default`, a PCM from asound.conf). */
  name: string;
  /** What the kernel or the card calls it, when it is a hardware device. */
  description?: string;
  capture?: { channels?: ParamRange; rate?: ParamRange };
  playback?: { channels?: ParamRange; rate?: ParamRange };
}

export interface AlsaDevicesReport {
  cards: SoundCard[];
  devices: AlsaDevice[];
}

/** Runs `tool --dump-hw-params` on `pcm` and ends it once the dump is out. */
async function dumpRanges(tool: string, pcm: string, env?: NodeJS.ProcessEnv): Promise<{ channels?: ParamRange; rate?: ParamRange } | undefined> {
  const args = ['-D', pcm, '--dump-hw-params', '-t', 'raw', '-f', 'S16_LE', '-d', '1'];
  if (tool.endsWith('aplay')) args.push('/dev/zero');
  else args.push('/dev/null');
  const child = spawnTool(tool, args, ['ignore', 'ignore'], env);
  const text = await readHwParamsDump(child, 5000);
  const r = parseHwParams(text);
  return r.channels || r.rate ? r : undefined;
}

async function pcmList(tool: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  const child = spawnTool(tool, ['-L'], ['ignore', 'pipe'], env);
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  child.stderr!.resume();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    child.on('error', () => resolve());
  });
  return parsePcmList(out);
}

export async function listAlsaDevices(options: { probe: boolean; env?: NodeJS.ProcessEnv; cardsPath?: string; pcmPath?: string }): Promise<AlsaDevicesReport> {
  const env = options.env ?? process.env;
  const arecord = findTool('arecord', env);
  const aplay = findTool('aplay', env);
  if (!arecord || !aplay) throw new DeviceError(`listing devices needs arecord and aplay: ${ALSA_UTILS_FIX}`);
  const cards = readCards(options.cardsPath);
  let kernel: KernelPcm[] = [];
  try {
    kernel = parseProcPcm(readFileSync(options.pcmPath ?? '/proc/asound/pcm', 'utf8'));
  } catch {
    // no sound support: only ALSA plugins
  }
  const [inputs, outputs] = await Promise.all([pcmList(arecord, env), pcmList(aplay, env)]);
  // Plugins named on their own (default, asound.conf PCMs); the card-specific variants
  // (`sysdefault:CARD=x`, `front:...`) are left out: the hardware devices stand for them.
  const plain = (list: string[]) => list.filter((n) => !n.includes(':') && n !== 'null');
  const devices: AlsaDevice[] = [];
  for (const k of kernel) {
    const card = cards.find((c) => c.index === k.card);
    devices.push({
      name: card ? `hw:CARD=${card.id},DEV=${k.device}` : `hw:${k.card},${k.device}`,
      description: card ? `${card.name}: ${k.name}` : k.name,
      capture: k.capture ? {} : undefined,
      playback: k.playback ? {} : undefined,
    });
  }
  for (const name of [...new Set([...plain(inputs), ...plain(outputs)])]) {
    devices.push({ name, capture: inputs.includes(name) ? {} : undefined, playback: outputs.includes(name) ? {} : undefined });
  }
  if (options.probe) {
    for (const d of devices) {
      if (d.capture) d.capture = (await dumpRanges(arecord, d.name, env)) ?? {};
      if (d.playback) d.playback = (await dumpRanges(aplay, d.name, env)) ?? {};
    }
  }
  return { cards, devices };
}
