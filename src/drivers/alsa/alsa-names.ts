/**
 * Device lookup for the backends that talk to ALSA by PCM name (arecord/aplay and the in-process
 * libasound binding; docs/audio.md "Backends"): turns what followed `alsa:` into the PCM to
 * open, with the same rules as the PortAudio lookup in devices.ts, and picks capture formats
 * from the ranges ALSA reports for that PCM.
 */
import type { ChannelSelect } from '../../audio/channels.js';
import { DeviceError } from '../../errors.js';
import { DEVICE_HINT, type SoundCard } from './devices.js';
import type { CaptureCandidate } from './portaudio-child.js';

/** A capture PCM to open: its ALSA name, and whether it is a bare hardware device. */
export interface CapturePcm {
  name: string;
  /** `hw:` devices take only their native formats: capture those and convert here. */
  hardware: boolean;
}

/** PCM names from `arecord -L` / `aplay -L` (or snd_device_name_hint): the unindented lines. */
export function parsePcmList(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0 && !/^\s/.test(l))
    .map((l) => l.trim());
}

const norm = (s: string) => s.toLowerCase();

function cardsMatching(cards: SoundCard[], text: string): SoundCard[] {
  const t = norm(text);
  const exact = cards.filter((c) => norm(c.id) === t);
  return exact.length ? exact : cards.filter((c) => norm(c.id).includes(t) || norm(c.name).includes(t));
}

/** Whether `spec` can be resolved without the list of PCM names (saves a device scan). */
export function resolvesWithoutList(spec: string): boolean {
  const s = spec.trim();
  return s === '' || s === 'default' || /^\d+$/.test(s) || s.includes(':');
}

/**
 * The capture PCM for `spec`: `''`/`default` -> `default`; a card index -> `hw:N,0`; a name
 * with a colon (`hw:1,0`, `plughw:CARD=x`, `dsnoop:...`) as given; a PCM name from the list
 * (asound.conf or ~/.asoundrc) as given; else a card whose id or name contains it ->
 * `hw:CARD=id,DEV=0`; else a PCM whose name contains it. Throws DeviceError with one line.
 */
export function resolveCapturePcm(spec: string, pcms: string[], cards: SoundCard[]): CapturePcm {
  const wanted = spec.trim();
  const hw = (name: string): CapturePcm => ({ name, hardware: /^hw:/.test(name) });
  if (wanted === '' || wanted === 'default') return hw('default');
  if (/^\d+$/.test(wanted)) {
    const index = Number(wanted);
    if (cards.length > 0 && !cards.some((c) => c.index === index)) throw notFound(wanted, pcms);
    return hw(`hw:${index},0`);
  }
  if (wanted.includes(':')) return hw(wanted);
  if (pcms.includes(wanted)) return hw(wanted);
  const card = cardsMatching(cards, wanted)[0];
  if (card) return hw(`hw:CARD=${card.id},DEV=0`);
  const t = norm(wanted);
  const byName = pcms.filter((p) => norm(p).includes(t));
  const plain = byName.find((p) => !p.includes(':'));
  if (plain ?? byName[0]) return hw((plain ?? byName[0])!);
  throw notFound(wanted, pcms);
}

function notFound(wanted: string, pcms: string[]): DeviceError {
  const list = pcms.filter((p) => p !== 'null');
  const names = list.length ? list.map((p) => `"${p}"`).join(', ') : 'none';
  return new DeviceError(`microphone "alsa:${wanted}" not found; capture devices: ${names}; ${DEVICE_HINT}, then run "speaker-agent devices"`);
}

/** An inclusive range from ALSA's hw_params dump (`RATE: [8000 48000]`, `CHANNELS: 2`). */
export interface ParamRange {
  min: number;
  max: number;
}

/** Parses `NAME: [a b]`, `NAME: (a b]`, `NAME: a` from a `snd_pcm_hw_params_dump` text. */
export function parseHwParams(text: string): { channels?: ParamRange; rate?: ParamRange } {
  const range = (name: string): ParamRange | undefined => {
    const m = new RegExp(`^${name}:\\s*(?:([[(])\\s*(\\d+)\\s+(\\d+)\\s*([\\])])|(\\d+))\\s*$`, 'm').exec(text);
    if (!m) return undefined;
    if (m[5] !== undefined) return { min: Number(m[5]), max: Number(m[5]) };
    const min = Number(m[2]) + (m[1] === '(' ? 1 : 0);
    const max = Number(m[3]) - (m[4] === ')' ? 1 : 0);
    return { min, max };
  };
  return { channels: range('CHANNELS'), rate: range('RATE') };
}

/**
 * Capture formats to try, best first, for a PCM with the given ranges (undefined: unknown).
 * Hardware devices are captured with all their channels (up to 8; the driver then picks or
 * mixes), plugins with just the channels used; 16 kHz first (no resampling), then 48 kHz, then
 * 44.1 kHz. An explicit rate or channel count is tried as given.
 */
export function pcmCandidates(
  pcm: CapturePcm,
  ranges: { channels?: ParamRange; rate?: ParamRange },
  opts: { rate?: number; channels?: number; channel?: ChannelSelect },
): CaptureCandidate[] {
  const needed = typeof opts.channel === 'number' ? opts.channel + 1 : 1;
  const ch = ranges.channels;
  let channelOptions: number[];
  if (opts.channels) channelOptions = [opts.channels];
  else if (pcm.hardware && ch) channelOptions = [Math.min(ch.max, 8), 2, 1].filter((c) => c >= ch.min && c <= ch.max && c >= needed);
  else if (ch && (needed < ch.min || needed > ch.max)) channelOptions = [Math.max(ch.min, Math.min(needed, ch.max))];
  else channelOptions = [needed];
  if (channelOptions.length === 0) channelOptions = [needed];
  const inRate = (r: number) => !ranges.rate || (r >= ranges.rate.min && r <= ranges.rate.max);
  let rates = opts.rate ? [opts.rate] : [16000, 48000, 44100].filter(inRate);
  if (rates.length === 0) rates = [ranges.rate!.max];
  const out: CaptureCandidate[] = [];
  for (const sampleRate of rates) {
    for (const channels of channelOptions) {
      if (!out.some((c) => c.sampleRate === sampleRate && c.channels === channels)) out.push({ sampleRate, channels });
    }
  }
  return out;
}

/** From an `snd_pcm_dump` setup text (`arecord -v`): the first `channels :` and `rate :` lines. */
export function parseSetup(text: string): CaptureCandidate | undefined {
  const ch = /^\s*channels\s*:\s*(\d+)\s*$/m.exec(text);
  const rate = /^\s*rate\s*:\s*(\d+)\s*$/m.exec(text);
  return ch && rate ? { sampleRate: Number(rate[1]), channels: Number(ch[1]) } : undefined;
}
